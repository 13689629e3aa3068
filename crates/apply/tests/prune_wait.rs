//! Prune, deletion and health against the embedded dev cluster: owner labels, the prune
//! annotation, missing objects, kstatus on objects the simulated node makes ready or not,
//! wait timeouts, and the dry-run diff.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use flotilla_apply::kstatus::State;
use flotilla_apply::{Action, Applier, PruneOptions, WaitError, WaitOptions};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::json;
use support::*;

#[tokio::test]
async fn prune_deletes_only_owned_unprotected_existing_objects() {
    let cluster = cluster();
    let applier = Applier::new(cluster.client.clone());
    let mut protected = config_map("prune", "protected", json!({"a": "1"}));
    protected["metadata"]["annotations"] = json!({"kustomize.toolkit.fluxcd.io/prune": "disabled"});
    applier
        .apply(
            vec![
                namespace("prune"),
                config_map("prune", "stale", json!({"a": "1"})),
                config_map("prune", "kept", json!({"a": "1"})),
                config_map("prune", "adopted", json!({"a": "1"})),
                protected,
            ],
            &opts(),
        )
        .await
        .unwrap();
    // Another Kustomization took "adopted" over: its owner labels differ now.
    let cms: Api<DynamicObject> = Api::namespaced_with(
        cluster.client.clone(),
        "prune",
        &kube::api::ApiResource::erase::<k8s_openapi::api::core::v1::ConfigMap>(&()),
    );
    cms.patch(
        "adopted",
        &PatchParams::default(),
        &Patch::Merge(
            json!({"metadata": {"labels": {"kustomize.toolkit.fluxcd.io/name": "other"}}}),
        ),
    )
    .await
    .unwrap();

    let m = |n: &str| meta("prune", n, "", "ConfigMap");
    let stale = [m("stale"), m("protected"), m("adopted"), m("gone")];
    let prune = PruneOptions {
        owner_labels: owner_labels(),
        ..Default::default()
    };
    let cs = applier.prune(&stale, &prune).await.unwrap();
    assert_eq!(cs.action_of(&m("stale")), Some(Action::Deleted));
    assert_eq!(cs.action_of(&m("protected")), Some(Action::Skipped));
    assert_eq!(cs.action_of(&m("adopted")), Some(Action::Skipped));
    assert_eq!(cs.action_of(&m("gone")), Some(Action::Skipped));
    assert_eq!(cs.to_string(), "ConfigMap/prune/stale deleted");

    applier
        .wait_for_termination(&[m("stale")], &WaitOptions::default())
        .await
        .unwrap();
    assert!(live_cm(&cluster.client, "prune", "stale").await.is_none());
    for kept in ["kept", "protected", "adopted"] {
        assert!(
            live_cm(&cluster.client, "prune", kept).await.is_some(),
            "{kept}"
        );
    }

    // Deleting a whole inventory (deletionPolicy Delete) with a kind that no longer exists.
    let all = [m("kept"), meta("prune", "x", "example.com", "Gone")];
    let cs = applier.prune(&all, &prune).await.unwrap();
    assert_eq!(cs.action_of(&m("kept")), Some(Action::Deleted));
    assert_eq!(cs.count(Action::Skipped), 1);
}

#[tokio::test]
async fn health_follows_the_simulated_node() {
    let cluster = cluster();
    let applier = Applier::new(cluster.client.clone());
    let simulate = |mut o: serde_json::Value, mode: &str| {
        o["metadata"]["annotations"] = json!({"dev.flotilla.io/simulate": mode});
        o
    };
    let mut lb = service("health", "lb");
    lb["spec"]["type"] = json!("LoadBalancer");
    let job = json!({
        "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "broken", "namespace": "health"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}
    });
    applier
        .apply(
            vec![
                namespace("health"),
                deployment("health", "ok", "nginx:1.25"),
                simulate(deployment("health", "stuck", "nginx:1.25"), "unready"),
                simulate(deployment("health", "dead", "nginx:1.25"), "failed"),
                simulate(job, "failed"),
                lb,
                config_map("health", "plain", json!({"a": "1"})),
            ],
            &opts(),
        )
        .await
        .unwrap();
    let d = |n: &str| meta("health", n, "apps", "Deployment");
    let wait = WaitOptions {
        timeout: Duration::from_secs(15),
        interval: Duration::from_millis(100),
        ..Default::default()
    };
    applier
        .wait(
            &[
                d("ok"),
                meta("health", "lb", "", "Service"),
                meta("health", "plain", "", "ConfigMap"),
                meta("", "health", "", "Namespace"),
            ],
            &wait,
        )
        .await
        .unwrap();

    let dead = applier.status(&d("dead")).await.unwrap();
    assert_eq!(dead.state, State::Failed, "{dead}");
    assert_eq!(dead.message, "Progress deadline exceeded");
    let job = applier
        .status(&meta("health", "broken", "batch", "Job"))
        .await
        .unwrap();
    assert_eq!(job.state, State::Failed, "{job}");
    let missing = applier.status(&d("nope")).await.unwrap();
    assert_eq!(missing.state, State::NotFound);

    let short = WaitOptions {
        timeout: Duration::from_secs(2),
        interval: Duration::from_millis(100),
        ..Default::default()
    };
    let err = applier
        .wait(&[d("ok"), d("stuck")], &short)
        .await
        .unwrap_err();
    let WaitError::Timeout { pending, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].object, d("stuck"));
    assert_eq!(pending[0].status.state, State::InProgress);
    let text = err.to_string();
    assert!(
        text.starts_with("timeout waiting for: [Deployment/health/stuck status: 'InProgress': "),
        "{text}"
    );

    let fail_fast = WaitOptions {
        fail_fast: true,
        ..short
    };
    let err = applier.wait(&[d("dead")], &fail_fast).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("Deployment/health/dead status: 'Failed': Progress deadline exceeded"),
        "{err}"
    );
}

#[tokio::test]
async fn diff_shows_live_and_would_be_objects_without_writing() {
    let cluster = cluster();
    let applier = Applier::new(cluster.client.clone());
    let secret = |v: &str| {
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "diff"},
               "stringData": {"password": v}})
    };
    applier
        .apply(
            vec![
                namespace("diff"),
                config_map("diff", "same", json!({"a": "1"})),
                config_map("diff", "changed", json!({"a": "1"})),
                secret("old"),
            ],
            &opts(),
        )
        .await
        .unwrap();
    let before = live_cm(&cluster.client, "diff", "changed").await.unwrap();
    let diffs = applier
        .diff(
            vec![
                namespace("diff"),
                config_map("diff", "same", json!({"a": "1"})),
                config_map("diff", "changed", json!({"a": "2"})),
                config_map("diff", "new", json!({"a": "1"})),
                secret("new"),
                namespace("fresh"),
                config_map("fresh", "inside", json!({"a": "1"})),
            ],
            &opts(),
        )
        .await
        .unwrap();
    let find = |ns: &str, name: &str, kind: &str| {
        diffs
            .iter()
            .find(|d| d.object.name == name && d.object.namespace == ns && d.object.kind == kind)
            .unwrap()
    };
    assert_eq!(find("diff", "same", "ConfigMap").action, Action::Unchanged);
    let changed = find("diff", "changed", "ConfigMap");
    assert_eq!(changed.action, Action::Configured);
    assert_eq!(changed.live.as_ref().unwrap()["data"]["a"], "1");
    assert_eq!(changed.merged.as_ref().unwrap()["data"]["a"], "2");
    assert!(changed.merged.as_ref().unwrap()["metadata"]
        .get("managedFields")
        .is_none());
    assert_eq!(find("diff", "new", "ConfigMap").action, Action::Created);
    let s = find("diff", "s", "Secret");
    assert!(s.secret);
    assert_eq!(s.action, Action::Configured);
    assert_eq!(find("", "fresh", "Namespace").action, Action::Created);
    assert_eq!(find("fresh", "inside", "ConfigMap").action, Action::Created);

    let after = live_cm(&cluster.client, "diff", "changed").await.unwrap();
    assert_eq!(rv(&before), rv(&after), "diff writes nothing");
    assert!(live_cm(&cluster.client, "diff", "new").await.is_none());
}
