//! The fleet of the 2023 EKS walkthrough end to end: the corpus fleet repository (migrated to
//! current API versions) and the Sock Shop repository served by git's http-backend, synced from
//! the bootstrap GitRepository and root Kustomization; every Kustomization of the tree becomes
//! Ready and every object it declares (per `kubectl kustomize` of the same directory) is live
//! with Flux's owner labels, in its namespace, and named in the inventory.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::*;
use flotilla_api::Kustomization;
use flotilla_testkit::{base64, git, DevCluster, HttpAuth, HttpGitServer, Repo};
use kube::api::{Api, DynamicObject};
use kube::core::GroupVersionKind;
use serde::Deserialize;
use serde_json::Value;

const CLUSTER_DIR: &str = "clusters/dev-cluster";
const TENANT_PATH: &str = "deploy/kubernetes/overlays/development";
const GIT_USER: &str = "codecommit-user";
const GIT_PASSWORD: &str = "s3cret-pass";

fn shared(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(rel)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        if e.file_name() == ".git" || e.file_name() == "_history" {
            continue;
        }
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn replace_in(file: &Path, pairs: &[(&str, &str)]) {
    let mut text = std::fs::read_to_string(file).unwrap();
    for (from, to) in pairs {
        assert!(text.contains(from), "{} lacks {from}", file.display());
        text = text.replace(from, to);
    }
    std::fs::write(file, text).unwrap();
}

/// Serves `work`'s branch main as `<root>/<name>.git`.
fn publish(work: &Repo, root: &Path, name: &str) {
    work.commit("import");
    git(
        root,
        &[
            "clone",
            "-q",
            "--bare",
            work.path().to_str().unwrap(),
            &format!("{name}.git"),
        ],
    );
}

/// `kubectl kustomize DIR` (the oracle), as JSON objects.
fn kubectl_kustomize(dir: &Path) -> Vec<Value> {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "kubectl kustomize {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| {
            serde_yaml::from_value::<Value>(serde_yaml::Value::deserialize(d).unwrap()).unwrap()
        })
        .filter(|v| !v.is_null())
        .collect()
}

/// The inventory id Flux records for an object: `<ns>_<name>_<group>_<kind>`.
fn inventory_id(o: &Value) -> String {
    let api_version = o["apiVersion"].as_str().unwrap();
    let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
    format!(
        "{}_{}_{}_{}",
        o["metadata"]["namespace"].as_str().unwrap_or(""),
        o["metadata"]["name"].as_str().unwrap(),
        group,
        o["kind"].as_str().unwrap()
    )
}

fn inventory(k: &Value) -> BTreeSet<String> {
    k["status"]["inventory"]["entries"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| e["id"].as_str().unwrap().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The fleet repository as the walkthrough leaves it: the corpus copy migrated to current API
/// versions, its placeholders filled in, the apps layer added to the cluster directory, and
/// the bootstrap files Flux commits under `clusters/dev-cluster/flux-system`.
fn fleet_repo(fleet_url: &str, tenant_url: &str) -> Repo {
    let work = Repo::new();
    copy_dir(&shared("corpus/tyyzqmf-flux-repo"), work.path());
    let reports = flotilla_ops::migrate::migrate_path(work.path(), &Default::default()).unwrap();
    assert!(!reports.is_empty(), "the corpus has beta API versions");
    replace_in(
        &work.path().join("apps/base/sock-shop/tenant.yaml"),
        &[("__MICRO_SERVICES_REPO__", tenant_url)],
    );
    replace_in(
        &work
            .path()
            .join("apps/base/sock-shop/basic-access-auth.yaml"),
        &[
            ("__BASE64_USERNAME__", &base64(GIT_USER.as_bytes())),
            ("__BASE64_PASSWORD__", &base64(GIT_PASSWORD.as_bytes())),
        ],
    );
    // The walkthrough's apps layer (not in the corpus copy), shaped like the corpus's
    // flux2-kustomize-helm-example apps.yaml: after the infrastructure, waited on.
    work.write(
        &format!("{CLUSTER_DIR}/apps.yaml"),
        "---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: apps\n  namespace: flux-system\nspec:\n  interval: 10m0s\n  dependsOn:\n    - name: infrastructure\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n  path: ./apps/overlays/development\n  prune: true\n  wait: true\n  timeout: 5m0s\n",
    );
    // What `flux bootstrap` commits: the components (here: the CRDs, Flotilla's own plus the
    // HelmRepository one Flux ships, which the infrastructure layer uses) and the sync objects.
    let mut components = flotilla_api::crds_yaml().unwrap();
    components.push_str("---\n");
    components.push_str(
        &std::fs::read_to_string(shared(
            "reference/flux-crds/source.toolkit.fluxcd.io_helmrepositories.yaml",
        ))
        .unwrap(),
    );
    work.write(
        &format!("{CLUSTER_DIR}/flux-system/gotk-components.yaml"),
        &components,
    );
    work.write(
        &format!("{CLUSTER_DIR}/flux-system/gotk-sync.yaml"),
        &format!("# This manifest was generated by flux. DO NOT EDIT.\n---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  ref:\n    branch: main\n  url: {fleet_url}\n---\napiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: flux-system\n  namespace: flux-system\nspec:\n  interval: 10m0s\n  path: ./{CLUSTER_DIR}\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: flux-system\n"),
    );
    work.write(
        &format!("{CLUSTER_DIR}/flux-system/kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- gotk-components.yaml\n- gotk-sync.yaml\n",
    );
    work
}

/// What each Kustomization of the tree declares, by `kubectl kustomize`. The cluster
/// directory has no kustomization.yaml: Flux generates one listing its manifests and the
/// subdirectories that have one, which the oracle gets written out by hand.
fn expected(fleet: &Path, tenant: &Path) -> Vec<(&'static str, &'static str, Vec<Value>)> {
    let generated = tempfile::tempdir().unwrap();
    copy_dir(&fleet.join(CLUSTER_DIR), generated.path());
    std::fs::write(
        generated.path().join("kustomization.yaml"),
        "resources:\n- apps.yaml\n- flux-system\n- infrastructure.yaml\n",
    )
    .unwrap();
    vec![
        (
            "flux-system",
            "flux-system",
            kubectl_kustomize(generated.path()),
        ),
        (
            "flux-system",
            "infrastructure",
            kubectl_kustomize(&fleet.join("infrastructure/overlays/development")),
        ),
        (
            "flux-system",
            "apps",
            kubectl_kustomize(&fleet.join("apps/overlays/development")),
        ),
        (
            "sock-shop",
            "sock-shop-tenant",
            kubectl_kustomize(&tenant.join(TENANT_PATH)),
        ),
    ]
}

/// The live object, looked up through discovery.
async fn live(client: &kube::Client, o: &Value) -> Option<Value> {
    let api_version = o["apiVersion"].as_str().unwrap();
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let gvk = GroupVersionKind::gvk(group, version, o["kind"].as_str().unwrap());
    let (ar, caps) = kube::discovery::pinned_kind(client, &gvk).await.unwrap();
    let api: Api<DynamicObject> = match o["metadata"]["namespace"].as_str() {
        Some(ns) if caps.scope == kube::discovery::Scope::Namespaced => {
            Api::namespaced_with(client.clone(), ns, &ar)
        }
        _ => Api::all_with(client.clone(), &ar),
    };
    api.get_opt(o["metadata"]["name"].as_str().unwrap())
        .await
        .unwrap()
        .map(|d| serde_json::to_value(d).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn walkthrough_fleet_syncs_from_the_bootstrap_kustomization() {
    let cluster = DevCluster::start();
    let client = cluster.new_client();
    let served = tempfile::tempdir().unwrap();
    let fleet_server = HttpGitServer::start(served.path(), HttpAuth::None);
    let tenant_root = tempfile::tempdir().unwrap();
    // The Sock Shop repository sits behind basic auth, as CodeCommit's HTTPS credentials.
    let tenant_server = HttpGitServer::start(
        tenant_root.path(),
        HttpAuth::Basic {
            user: GIT_USER.into(),
            password: GIT_PASSWORD.into(),
        },
    );
    let tenant = Repo::new();
    copy_dir(
        &shared("corpus/zxkane-microservices-demo-gitops"),
        tenant.path(),
    );
    publish(&tenant, tenant_root.path(), "microservices");
    let fleet = fleet_repo(
        &fleet_server.url("fleet.git"),
        &tenant_server.url("microservices.git"),
    );
    publish(&fleet, served.path(), "fleet");
    let want = expected(fleet.path(), tenant.path());

    let _controller = Controller::start(&cluster, |o| {
        o.requeue_dependency = Duration::from_millis(500);
    });
    // `flux bootstrap`: build the flux-system directory and apply it.
    let sync = Command::new("kubectl")
        .arg("kustomize")
        .arg(fleet.path().join(CLUSTER_DIR).join("flux-system"))
        .output()
        .unwrap();
    assert!(sync.status.success());
    cluster.kubectl_ok(
        &["apply", "--server-side", "--force-conflicts", "-f", "-"],
        &String::from_utf8(sync.stdout).unwrap(),
    );

    for (ns, name, objects) in &want {
        assert!(!objects.is_empty(), "{ns}/{name} declares objects");
        let api: Api<Kustomization> = Api::namespaced(client.clone(), ns);
        let k = eventually(
            Duration::from_secs(60),
            &format!("Kustomization {ns}/{name} Ready"),
            || async {
                let k = serde_json::to_value(api.get_opt(name).await.unwrap()?).unwrap();
                let ready = condition(&k, "Ready")?;
                (ready["status"] == "True"
                    && k["status"]["observedGeneration"] == k["metadata"]["generation"])
                    .then_some(k)
            },
        )
        .await;
        let ids: BTreeSet<String> = objects.iter().map(inventory_id).collect();
        assert_eq!(inventory(&k), ids, "inventory of {ns}/{name}");
        for o in objects {
            let id = inventory_id(o);
            let got = live(&client, o)
                .await
                .unwrap_or_else(|| panic!("{id} declared by {ns}/{name} is not in the cluster"));
            let labels = &got["metadata"]["labels"];
            assert_eq!(labels["kustomize.toolkit.fluxcd.io/name"], *name, "{id}");
            assert_eq!(labels["kustomize.toolkit.fluxcd.io/namespace"], *ns, "{id}");
            assert_eq!(
                got["metadata"]["namespace"], o["metadata"]["namespace"],
                "namespace of {id}"
            );
        }
    }
    // The Sock Shop overlay's image setting reached the front-end.
    let front_end = want[3]
        .2
        .iter()
        .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "front-end")
        .unwrap();
    let live_fe = live(&client, front_end).await.unwrap();
    assert_eq!(
        live_fe["spec"]["template"]["spec"]["containers"][0]["image"],
        front_end["spec"]["template"]["spec"]["containers"][0]["image"]
    );
}
