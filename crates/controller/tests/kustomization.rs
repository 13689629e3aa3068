//! Kustomization end to end: a real Git server (git http-backend), the GitRepository source, the dev cluster as API server.
//! Ready, dependsOn order and cycles, updates, prune, broken YAML, drift, health-check timeout, deletion.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use flotilla_api::{GitRepository, Kustomization};
use flotilla_testkit::{DevCluster, HttpAuth, HttpGitServer, Repo};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use serde_json::{json, Value};

const CM_A: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: one\n";
const CM_B: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\ndata:\n  x: \"1\"\n";
const DEPLOY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: web\n        image: nginx:${tag}\n";
const NS_TEAM: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: team\n";
const SLOW: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: slow\n  namespace: team\n  annotations:\n    dev.flotilla.io/simulate: unready\nspec:\n  selector:\n    matchLabels:\n      app: slow\n  template:\n    metadata:\n      labels:\n        app: slow\n    spec:\n      containers:\n      - name: slow\n        image: busybox:1\n";

struct Git {
    work: Repo,
    root: tempfile::TempDir,
    server: HttpGitServer,
}

impl Git {
    fn start(files: &[(&str, &str)]) -> Git {
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
        let server = HttpGitServer::start(root.path(), HttpAuth::None);
        Git { work, root, server }
    }

    /// Commits the work tree and pushes it to the served repository.
    fn push(&self, msg: &str) -> String {
        let sha = self.work.commit(msg);
        let bare = self.root.path().join("fleet.git");
        flotilla_testkit::git(
            self.work.path(),
            &["push", "-q", bare.to_str().unwrap(), "main:main"],
        );
        sha
    }
}

fn ks(name: &str, spec: Value) -> Kustomization {
    let mut s = json!({"interval": "2s", "prune": true, "timeout": "20s",
        "sourceRef": {"kind": "GitRepository", "name": "fleet"}});
    for (k, v) in spec.as_object().unwrap() {
        s[k] = v.clone();
    }
    serde_json::from_value(json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization", "metadata": {"name": name, "namespace": NS}, "spec": s}))
    .unwrap()
}

async fn ks_json(api: &Api<Kustomization>, name: &str) -> Value {
    serde_json::to_value(api.get(name).await.unwrap()).unwrap()
}

/// Waits until Ready has `status` and `reason` (and, for True, this generation is observed).
async fn wait_ks(api: &Api<Kustomization>, name: &str, status: &str, reason: &str) -> Value {
    eventually(
        Duration::from_secs(40),
        &format!("Kustomization {name} Ready={status} {reason}"),
        || async {
            let obj = ks_json(api, name).await;
            let ready = condition(&obj, "Ready")?;
            (ready["status"] == status
                && ready["reason"] == reason
                && (status != "True"
                    || obj["status"]["observedGeneration"] == obj["metadata"]["generation"]))
                .then_some(obj)
        },
    )
    .await
}

async fn request(api: &Api<GitRepository>) {
    let patch = json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": format!("{:?}", std::time::Instant::now())}}});
    api.patch("fleet", &PatchParams::default(), &Patch::Merge(patch))
        .await
        .unwrap();
}

async fn wait_revision(api: &Api<Kustomization>, name: &str, sha: &str) -> Value {
    eventually(
        Duration::from_secs(40),
        &format!("{name} at {sha}"),
        || async {
            let obj = ks_json(api, name).await;
            (obj["status"]["lastAppliedRevision"] == format!("main@sha1:{sha}")).then_some(obj)
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_reconciles_updates_prunes_keeps_last_good_and_reverts_drift() {
    let cluster = DevCluster::start();
    let git = Git::start(&[
        ("infra/ns.yaml", NS_TEAM),
        ("apps/settings.yaml", CM_A),
        ("apps/extra.yaml", CM_B),
        ("apps/deploy.yaml", DEPLOY),
        ("slow/slow.yaml", SLOW),
    ]);
    let client = cluster.new_client();
    let _controller = Controller::start(&cluster, |o| {
        o.requeue_dependency = Duration::from_millis(500);
    });
    let repos: Api<GitRepository> = Api::namespaced(client.clone(), NS);
    create_repo_any(
        &repos,
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "fleet", "namespace": NS},
            "spec": {"url": git.server.url("fleet.git"), "interval": "1h", "ref": {"branch": "main"}}}),
    )
    .await;
    let kss: Api<Kustomization> = Api::namespaced(client.clone(), NS);

    // apps depends on infra, which does not exist yet.
    let apps = ks(
        "apps",
        json!({"path": "./apps", "targetNamespace": "team", "wait": true,
            "dependsOn": [{"name": "infra"}],
            "postBuild": {"substitute": {"tag": "1.25"}}}),
    );
    kss.create(&PostParams::default(), &apps).await.unwrap();
    let obj = wait_ks(&kss, "apps", "False", "DependencyNotReady").await;
    let msg = condition(&obj, "Ready").unwrap()["message"].to_string();
    assert!(msg.contains("infra"), "{msg}");
    kss.create(
        &PostParams::default(),
        &ks("infra", json!({"path": "./infra"})),
    )
    .await
    .unwrap();
    let infra = wait_ks(&kss, "infra", "True", "ReconciliationSucceeded").await;
    let obj = wait_ks(&kss, "apps", "True", "ReconciliationSucceeded").await;
    let first = git.work.head();
    assert_eq!(
        obj["status"]["lastAppliedRevision"],
        format!("main@sha1:{first}")
    );
    assert_eq!(
        obj["status"]["lastAttemptedRevision"],
        format!("main@sha1:{first}")
    );
    assert_eq!(
        infra["status"]["inventory"]["entries"][0]["id"],
        "_team__Namespace"
    );
    let mut ids: Vec<String> = obj["status"]["inventory"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "team_extra__ConfigMap",
            "team_settings__ConfigMap",
            "team_web_apps_Deployment"
        ]
    );
    assert_eq!(condition(&obj, "Healthy").unwrap()["status"], "True");

    let deploys: Api<Deployment> = Api::namespaced(client.clone(), "team");
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "team");
    let web = serde_json::to_value(deploys.get("web").await.unwrap()).unwrap();
    assert_eq!(
        web["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.25"
    );
    assert_eq!(
        web["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/name"],
        "apps"
    );
    assert_eq!(
        web["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/namespace"],
        NS
    );
    assert!(web["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["manager"] == "kustomize-controller"));

    // Drift: a hand edit is reverted at the next interval.
    deploys
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:hacked"}]}}}})),
        )
        .await
        .unwrap();
    eventually(Duration::from_secs(20), "hand edit reverted", || async {
        let d = serde_json::to_value(deploys.get("web").await.unwrap()).unwrap();
        (d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25").then_some(())
    })
    .await;

    // A commit changing the overlay and removing a file: updated and pruned.
    git.work.write(
        "apps/settings.yaml",
        &CM_A.replace("mode: one", "mode: two"),
    );
    std::fs::remove_file(git.work.path().join("apps/extra.yaml")).unwrap();
    let second = git.push("update settings, drop extra");
    request(&repos).await;
    wait_revision(&kss, "apps", &second).await;
    let settings = cms.get("settings").await.unwrap();
    assert_eq!(settings.data.unwrap()["mode"], "two");
    assert!(
        cms.get_opt("extra").await.unwrap().is_none(),
        "extra pruned"
    );

    // Broken YAML: BuildFailed, the last good objects stay, nothing is pruned.
    git.work.write(
        "apps/broken.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: [\n",
    );
    git.work.write(
        "apps/settings.yaml",
        &CM_A.replace("mode: one", "mode: three"),
    );
    let third = git.push("broken");
    request(&repos).await;
    let obj = wait_ks(&kss, "apps", "False", "BuildFailed").await;
    let msg = condition(&obj, "Ready").unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    // Named as a path in the repository, not in the controller's extraction directory.
    assert!(msg.contains("apps/broken.yaml"), "{msg}");
    assert!(!msg.contains("/tmp") && !msg.contains("/src/"), "{msg}");
    assert_eq!(
        obj["status"]["lastAppliedRevision"],
        format!("main@sha1:{second}")
    );
    assert_eq!(
        obj["status"]["lastAttemptedRevision"],
        format!("main@sha1:{third}")
    );
    assert_eq!(
        cms.get("settings").await.unwrap().data.unwrap()["mode"],
        "two"
    );
    assert!(deploys.get_opt("web").await.unwrap().is_some());
    assert_eq!(
        obj["status"]["inventory"]["entries"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    // Health-check timeout on a workload the simulated node keeps unready.
    kss.create(
        &PostParams::default(),
        &ks("slow", json!({"path": "./slow", "wait": true, "timeout": "2s", "dependsOn": [{"name": "infra"}]})),
    )
    .await
    .unwrap();
    let obj = wait_ks(&kss, "slow", "False", "HealthCheckFailed").await;
    let msg = condition(&obj, "Ready").unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("Deployment/team/slow"), "{msg}");
    assert_eq!(condition(&obj, "Healthy").unwrap()["status"], "False");

    // Deleting a pruning Kustomization deletes what it applied.
    std::fs::remove_file(git.work.path().join("apps/broken.yaml")).unwrap();
    let fourth = git.push("fixed");
    request(&repos).await;
    wait_revision(&kss, "apps", &fourth).await;
    kss.delete("apps", &DeleteParams::default()).await.unwrap();
    eventually(Duration::from_secs(20), "apps objects deleted", || async {
        (cms.get_opt("settings").await.unwrap().is_none()
            && kss.get_opt("apps").await.unwrap().is_none())
        .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dependency_cycles_are_reported() {
    let cluster = DevCluster::start();
    let git = Git::start(&[("a/cm.yaml", CM_A)]);
    let client = cluster.new_client();
    let _controller = Controller::start(&cluster, |o| {
        o.requeue_dependency = Duration::from_millis(500);
    });
    let repos: Api<GitRepository> = Api::namespaced(client.clone(), NS);
    create_repo_any(
        &repos,
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "fleet", "namespace": NS},
            "spec": {"url": git.server.url("fleet.git"), "interval": "1h", "ref": {"branch": "main"}}}),
    )
    .await;
    let kss: Api<Kustomization> = Api::namespaced(client.clone(), NS);
    for (n, dep) in [("x", "y"), ("y", "x")] {
        kss.create(
            &PostParams::default(),
            &ks(
                n,
                json!({"path": "./a", "targetNamespace": "default", "dependsOn": [{"name": dep}]}),
            ),
        )
        .await
        .unwrap();
    }
    let obj = eventually(Duration::from_secs(20), "cycle reported", || async {
        let obj = ks_json(&kss, "x").await;
        let ready = condition(&obj, "Ready")?;
        ready["message"]
            .as_str()?
            .contains("circular dependency")
            .then_some(obj)
    })
    .await;
    let ready = condition(&obj, "Ready").unwrap();
    assert_eq!(ready["reason"], "DependencyNotReady");
    assert!(
        ready["message"]
            .as_str()
            .unwrap()
            .contains("flux-system/x -> flux-system/y -> flux-system/x"),
        "{ready}"
    );
}

async fn create_repo_any(api: &Api<GitRepository>, manifest: Value) {
    create_repo(api, manifest).await;
}
