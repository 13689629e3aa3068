//! Who a Kustomization applies as and where: `spec.serviceAccountName` and
//! `--default-service-account` (impersonation), `spec.kubeConfig.secretRef` (a second cluster).
//!
//! The dev cluster authenticates one bearer token and does no impersonation or RBAC, so the
//! impersonation test records the requests the controller sends to the real dev cluster and
//! checks their `Impersonate-User` header, which is what a real API server authorizes by.
#![allow(clippy::unwrap_used)]

mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use common::*;
use flotilla_api::{GitRepository, Kustomization};
use flotilla_controller::ControllerOptions;
use flotilla_testkit::{free_port, DevCluster, HttpAuth, HttpGitServer, Repo};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, PostParams};
use kube::client::Body;
use serde_json::{json, Value};
use tokio::sync::oneshot;

/// One request as the API server received it: method, path, `Impersonate-User`.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    user: Option<String>,
}

/// Passes every request to the dev cluster's client and notes it.
#[derive(Clone)]
struct Recorder {
    inner: kube::Client,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl tower_service::Service<http::Request<Body>> for Recorder {
    type Response = http::Response<Body>;
    type Error = kube::Error;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, kube::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        self.seen.lock().unwrap().push(Seen {
            method: req.method().to_string(),
            path: req.uri().path().to_string(),
            user: req
                .headers()
                .get("Impersonate-User")
                .map(|v| v.to_str().unwrap().to_string()),
        });
        let client = self.inner.clone();
        Box::pin(async move { client.send(req).await })
    }
}

/// A controller on `client`; it stops when [`Running::stop`] is awaited or the handle dropped.
struct Running {
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), flotilla_controller::ControllerError>>,
    _storage: tempfile::TempDir,
}

impl Running {
    async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap().unwrap();
    }
}

fn run_controller(client: kube::Client, tweak: impl FnOnce(&mut ControllerOptions)) -> Running {
    let storage = tempfile::tempdir().unwrap();
    let mut opts = ControllerOptions {
        storage_path: storage.path().to_path_buf(),
        storage_addr: format!("127.0.0.1:{}", free_port()),
        metrics_addr: None,
        min_retry_delay: Duration::from_millis(200),
        max_retry_delay: Duration::from_secs(2),
        ..ControllerOptions::default()
    };
    tweak(&mut opts);
    let (stop, rx) = oneshot::channel();
    let task = tokio::spawn(flotilla_controller::run(client, opts, async {
        let _ = rx.await;
    }));
    Running {
        stop,
        task,
        _storage: storage,
    }
}

/// A Git server with one repository `fleet.git` holding `files`.
fn serve(files: &[(String, String)]) -> (HttpGitServer, tempfile::TempDir) {
    let work = Repo::new();
    for (p, c) in files {
        work.write(p, c);
    }
    work.commit("first");
    let root = tempfile::tempdir().unwrap();
    flotilla_testkit::git(
        root.path(),
        &[
            "clone",
            "-q",
            "--bare",
            work.path().to_str().unwrap(),
            "fleet.git",
        ],
    );
    (HttpGitServer::start(root.path(), HttpAuth::None), root)
}

/// A namespace and a ConfigMap in it, as one directory of the fleet.
fn team(ns: &str) -> [(String, String); 2] {
    [
        (
            format!("{ns}/ns.yaml"),
            format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n"),
        ),
        (
            format!("{ns}/cm.yaml"),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: {ns}\ndata:\n  team: {ns}\n"),
        ),
    ]
}

async fn create_source(client: &kube::Client, url: &str) {
    let repos: Api<GitRepository> = Api::namespaced(client.clone(), NS);
    create_repo(
        &repos,
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "fleet", "namespace": NS},
            "spec": {"url": url, "interval": "1h", "ref": {"branch": "main"}}}),
    )
    .await;
}

async fn create_ks(client: &kube::Client, name: &str, spec: Value) {
    let mut s = json!({"interval": "1h", "prune": true, "timeout": "20s",
        "sourceRef": {"kind": "GitRepository", "name": "fleet"}});
    for (k, v) in spec.as_object().unwrap() {
        s[k] = v.clone();
    }
    let k: Kustomization = serde_json::from_value(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": name, "namespace": NS}, "spec": s}))
    .unwrap();
    let api: Api<Kustomization> = Api::namespaced(client.clone(), NS);
    api.create(&PostParams::default(), &k).await.unwrap();
}

async fn wait_ready(client: &kube::Client, name: &str) -> Value {
    let api: Api<Kustomization> = Api::namespaced(client.clone(), NS);
    eventually(
        Duration::from_secs(30),
        &format!("Kustomization {name} Ready"),
        || async {
            let k = serde_json::to_value(api.get(name).await.unwrap()).unwrap();
            let ready = condition(&k, "Ready")?;
            (ready["status"] == "True"
                && k["status"]["observedGeneration"] == k["metadata"]["generation"])
                .then_some(k)
        },
    )
    .await
}

/// The distinct `Impersonate-User` values on requests that touch namespace `ns` (its own
/// path included) and the write methods among them.
fn identities(seen: &Mutex<Vec<Seen>>, ns: &str) -> (Vec<Option<String>>, Vec<String>) {
    let seen = seen.lock().unwrap();
    let touching: Vec<&Seen> = seen
        .iter()
        .filter(|s| {
            s.path.contains(&format!("/namespaces/{ns}/"))
                || s.path.ends_with(&format!("/namespaces/{ns}"))
        })
        .collect();
    let mut users: Vec<Option<String>> = touching.iter().map(|s| s.user.clone()).collect();
    users.sort();
    users.dedup();
    let mut writes: Vec<String> = touching
        .iter()
        .filter(|s| s.method != "GET")
        .map(|s| s.method.clone())
        .collect();
    writes.sort();
    writes.dedup();
    (users, writes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_account_and_default_service_account_are_impersonated() {
    let cluster = DevCluster::start();
    let files: Vec<(String, String)> = ["team-a", "team-b", "team-c"]
        .iter()
        .flat_map(|ns| team(ns))
        .collect();
    let (server, _root) = serve(&files);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let recording = kube::Client::new(
        Recorder {
            inner: cluster.new_client(),
            seen: seen.clone(),
        },
        "default",
    );
    let client = cluster.new_client();
    create_source(&client, &server.url("fleet.git")).await;

    let first = run_controller(recording.clone(), |_| {});
    create_ks(
        &client,
        "a",
        json!({"path": "./team-a", "serviceAccountName": "deployer"}),
    )
    .await;
    create_ks(&client, "b", json!({"path": "./team-b"})).await;
    wait_ready(&client, "a").await;
    wait_ready(&client, "b").await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "team-a");
    assert!(cms.get_opt("settings").await.unwrap().is_some());

    let (users, writes) = identities(&seen, "team-a");
    assert_eq!(
        users,
        [Some(
            "system:serviceaccount:flux-system:deployer".to_string()
        )]
    );
    assert!(writes.contains(&"PATCH".to_string()), "{writes:?}");
    let (users, writes) = identities(&seen, "team-b");
    assert_eq!(
        users,
        [None],
        "no serviceAccountName: the controller's own identity"
    );
    assert!(writes.contains(&"PATCH".to_string()), "{writes:?}");
    // The controller's own reads and status writes are never impersonated.
    assert!(seen
        .lock()
        .unwrap()
        .iter()
        .filter(|s| s.path.contains("/kustomizations"))
        .all(|s| s.user.is_none()));

    // --default-service-account: used where a Kustomization names none, not over one it names.
    first.stop().await;
    seen.lock().unwrap().clear();
    let _second = run_controller(recording, |o| {
        o.default_service_account = Some("fallback".into());
    });
    create_ks(&client, "c", json!({"path": "./team-c"})).await;
    wait_ready(&client, "c").await;
    let (users, _) = identities(&seen, "team-c");
    assert_eq!(
        users,
        [Some(
            "system:serviceaccount:flux-system:fallback".to_string()
        )]
    );
    // The restarted controller reconciles a again: still as its own service account.
    eventually(Duration::from_secs(20), "a reconciled again", || async {
        (!identities(&seen, "team-a").0.is_empty()).then_some(())
    })
    .await;
    assert_eq!(
        identities(&seen, "team-a").0,
        [Some(
            "system:serviceaccount:flux-system:deployer".to_string()
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubeconfig_secret_applies_to_the_remote_cluster() {
    let cluster = DevCluster::start();
    let remote = DevCluster::start_bare(Default::default());
    let (server, _root) = serve(&team("team-r"));
    let client = cluster.new_client();
    let remote_client = remote.new_client();
    create_source(&client, &server.url("fleet.git")).await;
    let kubeconfig = std::fs::read(&remote.kubeconfig).unwrap();
    put_secret(&client, "remote-kubeconfig", &[("value", &kubeconfig)]).await;
    let _controller = Controller::start(&cluster, |_| {});

    create_ks(
        &client,
        "remote",
        json!({"path": "./team-r", "kubeConfig": {"secretRef": {"name": "remote-kubeconfig"}}}),
    )
    .await;
    let k = wait_ready(&client, "remote").await;
    let mut ids: Vec<&str> = k["status"]["inventory"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["_team-r__Namespace", "team-r_settings__ConfigMap"]);
    let remote_cms: Api<ConfigMap> = Api::namespaced(remote_client.clone(), "team-r");
    let cm = remote_cms.get("settings").await.unwrap();
    assert_eq!(
        cm.metadata.labels.unwrap()["kustomize.toolkit.fluxcd.io/name"],
        "remote"
    );
    let local_cms: Api<ConfigMap> = Api::namespaced(client.clone(), "team-r");
    assert!(local_cms.get_opt("settings").await.unwrap().is_none());
    let local_ns: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(client.clone());
    assert!(local_ns.get_opt("team-r").await.unwrap().is_none());

    // Deleting the Kustomization prunes in the remote cluster too.
    let kss: Api<Kustomization> = Api::namespaced(client.clone(), NS);
    kss.delete("remote", &DeleteParams::default())
        .await
        .unwrap();
    eventually(Duration::from_secs(20), "remote objects pruned", || async {
        remote_cms
            .get_opt("settings")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;

    // A kubeconfig Secret that is missing: a clear failure naming it, nothing applied.
    create_ks(
        &client,
        "nowhere",
        json!({"path": "./team-r", "kubeConfig": {"secretRef": {"name": "absent"}}}),
    )
    .await;
    let obj = eventually(Duration::from_secs(20), "nowhere fails", || async {
        let k = serde_json::to_value(kss.get("nowhere").await.unwrap()).unwrap();
        let ready = condition(&k, "Ready")?;
        (ready["status"] == "False").then_some(ready)
    })
    .await;
    assert!(
        obj["message"]
            .as_str()
            .unwrap()
            .contains("flux-system/absent"),
        "{obj}"
    );
}
