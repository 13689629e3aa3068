//! Test support: a dev cluster with a controller running against it, polling and HTTP helpers.
#![allow(dead_code, clippy::unwrap_used)]

use std::future::Future;
use std::time::{Duration, Instant};

use flotilla_api::GitRepository;
use flotilla_controller::ControllerOptions;
use flotilla_testkit::{free_port, DevCluster};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const NS: &str = "flux-system";

/// A controller running in this process until [`Controller::stop`] or drop.
pub struct Controller {
    stop: Option<oneshot::Sender<()>>,
    pub task: Option<JoinHandle<Result<(), flotilla_controller::ControllerError>>>,
    pub metrics_port: u16,
    pub storage_port: u16,
    pub storage: tempfile::TempDir,
}

impl Controller {
    /// Starts `flotilla_controller::run` with free ports, a temp storage dir, short retries.
    pub fn start(cluster: &DevCluster, tweak: impl FnOnce(&mut ControllerOptions)) -> Controller {
        let storage = tempfile::tempdir().unwrap();
        let (metrics_port, storage_port) = (free_port(), free_port());
        let mut opts = ControllerOptions {
            storage_path: storage.path().to_path_buf(),
            storage_addr: format!("127.0.0.1:{storage_port}"),
            metrics_addr: Some(format!("127.0.0.1:{metrics_port}")),
            min_retry_delay: Duration::from_millis(200),
            max_retry_delay: Duration::from_secs(2),
            ..ControllerOptions::default()
        };
        tweak(&mut opts);
        let (tx, rx) = oneshot::channel();
        let client = cluster.new_client();
        let task = tokio::spawn(flotilla_controller::run(client, opts, async {
            let _ = rx.await;
        }));
        Controller {
            stop: Some(tx),
            task: Some(task),
            metrics_port,
            storage_port,
            storage,
        }
    }

    /// Graceful shutdown; returns run's result.
    pub async fn stop(mut self) -> Result<(), flotilla_controller::ControllerError> {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap()
    }

    /// Kills the controller without any cleanup (a crashed replica).
    pub fn kill(mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

impl Drop for Controller {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// Polls `check` every 100 ms until it returns Some, or panics after `timeout` with `what`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The object as JSON.
pub async fn get_json(api: &Api<GitRepository>, name: &str) -> Value {
    serde_json::to_value(api.get(name).await.unwrap()).unwrap()
}

/// The condition of `type_` on a GitRepository (as JSON), if present.
pub fn condition(obj: &Value, type_: &str) -> Option<Value> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == type_)
        .cloned()
}

/// Waits until Ready has `status` (and, for True, the object's generation is observed).
pub async fn wait_ready(api: &Api<GitRepository>, name: &str, status: &str) -> Value {
    eventually(
        Duration::from_secs(20),
        &format!("{name} Ready={status}"),
        || async {
            let obj = get_json(api, name).await;
            let ready = condition(&obj, "Ready")?;
            (ready["status"] == status
                && (status != "True"
                    || obj["status"]["observedGeneration"] == obj["metadata"]["generation"]))
                .then_some(obj)
        },
    )
    .await
}

/// Creates a GitRepository from JSON.
pub async fn create_repo(api: &Api<GitRepository>, manifest: Value) {
    let obj: GitRepository = serde_json::from_value(manifest).unwrap();
    api.create(&PostParams::default(), &obj).await.unwrap();
}

/// Creates or replaces a Secret with string data.
pub async fn put_secret(client: &kube::Client, name: &str, data: &[(&str, &[u8])]) {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
    let mut map = serde_json::Map::new();
    for (k, v) in data {
        map.insert(k.to_string(), json!(flotilla_testkit::base64(v)));
    }
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": NS}, "data": map});
    secrets
        .patch(
            name,
            &PatchParams::apply("test").force(),
            &Patch::Apply(&secret),
        )
        .await
        .unwrap();
}

/// Sets `reconcile.fluxcd.io/requestedAt` to a fresh value; returns it.
pub async fn request_reconcile(api: &Api<GitRepository>, name: &str) -> String {
    let value = format!("{:?}", Instant::now());
    let patch = json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": value}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(patch))
        .await
        .unwrap();
    value
}

/// A plain HTTP/1.1 GET on 127.0.0.1: (status code, body).
pub async fn http_get(port: u16, path: &str) -> (u16, Vec<u8>) {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    stream.read_to_end(&mut out).await.unwrap();
    let split = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    let head = String::from_utf8_lossy(&out[..split]).to_string();
    let code = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    (code, out[split + 4..].to_vec())
}

/// All events.k8s.io/v1 Events in the namespace, as JSON.
pub async fn events(client: &kube::Client) -> Vec<Value> {
    let api: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client.clone(), NS);
    api.list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect()
}
