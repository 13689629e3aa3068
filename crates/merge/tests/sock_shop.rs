//! Server-side apply over the Sock Shop manifests (29 real objects): idempotence, conflicts with a controller, pruning.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use flotilla_merge::builtin_type;
use flotilla_merge::ssa::{self, ApplyOptions, SsaError, UpdateOptions};
use serde_json::{json, Value};

const DEMO: &str = "../../../shared/corpus/microservices-demo/deploy/kubernetes/complete-demo.yaml";

/// The manifests as JSON, converted by kubectl (the YAML reader of record here).
fn objects() -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(DEMO);
    let out = Command::new("kubectl")
        .args([
            "patch", "--local", "--type", "merge", "-p", "{}", "-o", "json", "-f",
        ])
        .arg(&path)
        .output()
        .expect("kubectl is installed on every machine here");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter::<Value>()
        .map(Result::unwrap)
        .collect()
}

fn apply_opts(manager: &str, time: &str) -> ApplyOptions {
    ApplyOptions {
        manager: manager.into(),
        time: time.into(),
        ..ApplyOptions::default()
    }
}

#[test]
fn sock_shop_applies_idempotently_and_tracks_ownership() {
    let objects = objects();
    assert_eq!(objects.len(), 29);
    for obj in &objects {
        let ty = builtin_type(
            obj["apiVersion"].as_str().unwrap(),
            obj["kind"].as_str().unwrap(),
        );
        assert!(ty.is_some(), "{} is a built-in kind", obj["kind"]);
        let name = format!("{}/{}", obj["kind"], obj["metadata"]["name"]);
        let live = ssa::apply(
            None,
            obj,
            ty,
            &apply_opts("kustomize-controller", "2026-11-26T10:00:00Z"),
        )
        .unwrap();
        // Everything applied is there, nothing else but managedFields.
        let mut without = live.clone();
        without["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("managedFields");
        assert_eq!(&without, obj, "{name}");
        // A second apply of the same manifest changes nothing at all.
        let again = ssa::apply(
            Some(&live),
            obj,
            ty,
            &apply_opts("kustomize-controller", "2026-11-26T11:00:00Z"),
        )
        .unwrap();
        assert_eq!(again, live, "{name}");
        // The manager owns something unless the manifest holds identity only (a bare
        // Namespace), where Kubernetes records no entry either.
        let owned = ssa::owned_fields(&live, "kustomize-controller", ssa::OPERATION_APPLY);
        let identity_only = obj.as_object().unwrap().len() == 3
            && obj["metadata"]
                .as_object()
                .unwrap()
                .keys()
                .all(|k| k == "name" || k == "namespace");
        assert_eq!(owned.is_none(), identity_only, "{name}");
    }
}

#[test]
fn controller_scaling_conflicts_and_dropped_env_is_pruned() {
    let objects = objects();
    let carts = objects
        .iter()
        .find(|o| o["kind"] == "Deployment" && o["metadata"]["name"] == "carts")
        .unwrap()
        .clone();
    let ty = builtin_type("apps/v1", "Deployment");
    let live = ssa::apply(
        None,
        &carts,
        ty,
        &apply_opts("kustomize-controller", "2026-11-26T10:00:00Z"),
    )
    .unwrap();

    // An autoscaler-like controller scales through an update.
    let mut scaled = live.clone();
    scaled["spec"]["replicas"] = json!(3);
    let opts = UpdateOptions {
        manager: "kube-controller-manager".into(),
        time: "2026-11-26T10:05:00Z".into(),
        ..UpdateOptions::default()
    };
    ssa::record_update(Some(&live), &mut scaled, ty, &opts).unwrap();

    // Re-applying the manifest (replicas: 1) conflicts with it.
    let err = ssa::apply(
        Some(&scaled),
        &carts,
        ty,
        &apply_opts("kustomize-controller", "2026-11-26T10:10:00Z"),
    );
    match err {
        Err(SsaError::Conflict(c)) => assert_eq!(
            c.message,
            "Apply failed with 1 conflict: conflict with \"kube-controller-manager\" using apps/v1: .spec.replicas"
        ),
        other => panic!("expected a conflict, got {other:?}"),
    }

    // A manifest without replicas and without one env var: no conflict, the env var goes,
    // the controller's replicas stay.
    let mut trimmed = carts.clone();
    trimmed["spec"].as_object_mut().unwrap().remove("replicas");
    let env = trimmed["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array_mut()
        .unwrap();
    let dropped = env.remove(0);
    let out = ssa::apply(
        Some(&scaled),
        &trimmed,
        ty,
        &apply_opts("kustomize-controller", "2026-11-26T10:15:00Z"),
    )
    .unwrap();
    assert_eq!(out["spec"]["replicas"], 3);
    // carts has a single env var: dropping it leaves no env at all, as a typed object would.
    assert_eq!(
        carts["spec"]["template"]["spec"]["containers"][0]["env"],
        json!([dropped])
    );
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"][0].get("env"),
        None
    );
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"][0]["image"],
        carts["spec"]["template"]["spec"]["containers"][0]["image"]
    );
}
