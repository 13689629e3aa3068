//! Image reconcilers' failure paths against Debian's docker-registry and the dev cluster: a missing repository, a registry that is down then back, wrong credentials, a policy matching nothing, and the stored tags of a deleted ImageRepository.
#![allow(clippy::unwrap_used)]

mod common;
#[path = "../../image/tests/support/mod.rs"]
mod support;

use std::time::Duration;

use common::*;
use flotilla_api::image::{ImagePolicy, ImageRepository};
use flotilla_testkit::DevCluster;
use kube::api::{Api, DeleteParams};
use serde_json::Value;
use support::{b64, basic, Registry, RegistryAuth};

/// Polls the object `name` until `ok` holds for it (as JSON); returns it.
async fn until<K>(api: &Api<K>, name: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value
where
    K: kube::Resource + serde::Serialize + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    K::DynamicType: Default,
{
    eventually(Duration::from_secs(30), what, || async {
        let o = serde_json::to_value(api.get(name).await.ok()?).unwrap();
        ok(&o).then_some(o)
    })
    .await
}

fn ready_is(obj: &Value, status: &str) -> bool {
    condition(obj, "Ready").is_some_and(|r| r["status"] == status)
}

fn ready_message(obj: &Value) -> String {
    condition(obj, "Ready").unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string()
}

/// An ImageRepository over plain HTTP scanning `image` every `interval`.
fn image_repository(name: &str, image: &str, interval: &str, secret: Option<&str>) -> String {
    let secret = secret.map_or(String::new(), |s| format!(", secretRef: {{name: {s}}}"));
    format!(
        "apiVersion: image.toolkit.fluxcd.io/v1\nkind: ImageRepository\nmetadata: {{name: {name}, namespace: flux-system}}\nspec: {{image: \"{image}\", interval: {interval}, insecure: true{secret}}}\n"
    )
}

/// Warning events about the object `kind/name`, as JSON.
async fn warnings(client: &kube::Client, kind: &str, name: &str) -> Vec<Value> {
    events(client)
        .await
        .into_iter()
        .filter(|e| {
            e["type"] == "Warning"
                && e["regarding"]["kind"] == kind
                && e["regarding"]["name"] == name
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_repository_is_not_ready_names_the_image_and_warns() {
    let cluster = DevCluster::start();
    let reg = Registry::start(RegistryAuth::None);
    reg.push("present", "1.0.0", None);
    let image = format!("{}/team/absent", reg.host());
    cluster.kubectl_ok(
        &["apply", "-f", "-"],
        &image_repository("absent", &image, "1h", None),
    );
    let controller = Controller::start(&cluster, |_| {});
    let client = cluster.new_client();
    let repos: Api<ImageRepository> = Api::namespaced(client.clone(), NS);

    let failed = until(&repos, "absent", "Ready=False", |o| ready_is(o, "False")).await;
    let msg = ready_message(&failed);
    assert!(msg.contains(&image) && msg.contains("not found"), "{msg}");
    assert!(failed["status"]["lastScanResult"].is_null(), "{failed}");
    let warned = eventually(Duration::from_secs(10), "a Warning event", || async {
        let w = warnings(&client, "ImageRepository", "absent").await;
        (!w.is_empty()).then_some(w)
    })
    .await;
    assert!(
        warned[0]["note"].as_str().unwrap().contains(&image),
        "{warned:?}"
    );
    controller.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_that_is_down_is_retried_and_the_scan_recovers() {
    let cluster = DevCluster::start();
    let mut reg = Registry::start(RegistryAuth::None);
    reg.push("app", "1.0.0", None);
    reg.stop();
    let image = format!("{}/app", reg.host());
    // An interval of an hour: only the retry after a failure can bring the scan back.
    cluster.kubectl_ok(
        &["apply", "-f", "-"],
        &image_repository("app", &image, "1h", None),
    );
    let controller = Controller::start(&cluster, |_| {});
    let client = cluster.new_client();
    let repos: Api<ImageRepository> = Api::namespaced(client.clone(), NS);

    let failed = until(&repos, "app", "Ready=False", |o| ready_is(o, "False")).await;
    let msg = ready_message(&failed);
    assert!(msg.contains(&reg.host()), "{msg}");
    assert!(
        condition(&failed, "Stalled").is_none(),
        "a refused connection is retried, not stalled: {failed}"
    );
    assert_eq!(
        condition(&failed, "Reconciling").unwrap()["reason"],
        "ProgressingWithRetry"
    );

    reg.restart();
    let back = until(&repos, "app", "Ready=True after restart", |o| {
        ready_is(o, "True")
    })
    .await;
    assert_eq!(back["status"]["lastScanResult"]["tagCount"], 1, "{back}");
    controller.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_say_authentication_failed_and_leak_nothing() {
    let cluster = DevCluster::start();
    let reg = Registry::start(RegistryAuth::Htpasswd);
    reg.push("app", "1.0.0", Some(&basic(&reg.user, &reg.password)));
    let image = format!("{}/app", reg.host());
    let client = cluster.new_client();
    let wrong = "wr0ng-pa55word";
    let auth = b64(format!("{}:{wrong}", reg.user).as_bytes());
    let json = format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.host());
    put_secret(
        &client,
        "regcred",
        &[(".dockerconfigjson", json.as_bytes())],
    )
    .await;
    cluster.kubectl_ok(
        &["apply", "-f", "-"],
        &image_repository("app", &image, "1h", Some("regcred")),
    );
    let controller = Controller::start(&cluster, |_| {});
    let repos: Api<ImageRepository> = Api::namespaced(client.clone(), NS);

    let failed = until(&repos, "app", "Ready=False", |o| ready_is(o, "False")).await;
    let ready = condition(&failed, "Ready").unwrap();
    assert_eq!(ready["reason"], "AuthenticationFailed", "{ready}");
    let msg = ready_message(&failed);
    assert!(msg.contains("authentication failed"), "{msg}");
    let warned = eventually(Duration::from_secs(10), "a Warning event", || async {
        let w = warnings(&client, "ImageRepository", "app").await;
        (!w.is_empty()).then_some(w)
    })
    .await;
    let everything = format!("{failed}\n{}", serde_json::to_string(&warned).unwrap());
    for secret in [wrong, auth.as_str(), reg.password.as_str()] {
        assert!(
            !everything.contains(secret),
            "{secret} leaked: {everything}"
        );
    }
    controller.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_matching_no_tag_names_itself_and_its_pattern() {
    let cluster = DevCluster::start();
    let reg = Registry::start(RegistryAuth::None);
    reg.push("app", "1.0.0", None);
    reg.push("app", "1.1.0", None);
    let image = format!("{}/app", reg.host());
    cluster.kubectl_ok(
        &["apply", "-f", "-"],
        &format!(
            "{}---\napiVersion: image.toolkit.fluxcd.io/v1\nkind: ImagePolicy\nmetadata: {{name: builds, namespace: flux-system}}\nspec:\n  imageRepositoryRef: {{name: app}}\n  filterTags: {{pattern: '^main-[a-f0-9]+-(?P<build>[0-9]+)', extract: '$build'}}\n  policy: {{numerical: {{order: asc}}}}\n",
            image_repository("app", &image, "1h", None)
        ),
    );
    let controller = Controller::start(&cluster, |_| {});
    let client = cluster.new_client();
    let policies: Api<ImagePolicy> = Api::namespaced(client.clone(), NS);

    let failed = until(&policies, "builds", "policy Ready=False", |o| {
        ready_is(o, "False") && condition(o, "Ready").unwrap()["reason"] != "DependencyNotReady"
    })
    .await;
    let msg = ready_message(&failed);
    assert!(msg.contains("flux-system/builds"), "{msg}");
    assert!(
        msg.contains("'^main-[a-f0-9]+-(?P<build>[0-9]+)'") && msg.contains("none of the 2 tags"),
        "{msg}"
    );
    assert!(failed["status"]["latestRef"].is_null(), "{failed}");
    controller.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_repository_takes_its_stored_tags_along() {
    let cluster = DevCluster::start();
    let reg = Registry::start(RegistryAuth::None);
    reg.push("app", "1.0.0", None);
    reg.push("other", "2.0.0", None);
    let app = format!("{}/app", reg.host());
    let other = format!("{}/other", reg.host());
    // `app` and `app-again` scan the same image: its tags stay until both are gone.
    cluster.kubectl_ok(
        &["apply", "-f", "-"],
        &format!(
            "{}---\n{}---\n{}",
            image_repository("app", &app, "1h", None),
            image_repository("app-again", &app, "1h", None),
            image_repository("other", &other, "1h", None)
        ),
    );
    let controller = Controller::start(&cluster, |_| {});
    let client = cluster.new_client();
    let repos: Api<ImageRepository> = Api::namespaced(client.clone(), NS);
    for name in ["app", "app-again", "other"] {
        until(&repos, name, "scanned", |o| ready_is(o, "True")).await;
    }
    let store = flotilla_image::TagStore::new(flotilla_controller::image::tag_store_dir(
        controller.storage.path(),
    ));
    let app_tags = store.path_for(&app);
    let other_tags = store.path_for(&other);
    assert_eq!(store.tags(&app).unwrap(), ["1.0.0"]);
    assert!(other_tags.exists());

    let gone = |name: &'static str| {
        let repos = repos.clone();
        async move {
            repos.delete(name, &DeleteParams::default()).await.unwrap();
            eventually(Duration::from_secs(20), name, || async {
                repos.get_opt(name).await.unwrap().is_none().then_some(())
            })
            .await;
        }
    };
    gone("app").await;
    assert!(app_tags.exists(), "app-again still scans {app}");
    gone("app-again").await;
    assert!(!app_tags.exists(), "{} still there", app_tags.display());
    assert!(other_tags.exists(), "the other image's tags are untouched");
    controller.stop().await.unwrap();
}
