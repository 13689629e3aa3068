//! The generated CRDs served by a real API server (the embedded dev cluster), driven by kubectl:
//! the CRDs install, every sample is accepted (spec, then status through the status
//! subresource), Flux's defaults are applied, bad objects are refused, and what the server
//! returns reads back into the types.
#![allow(clippy::unwrap_used)]

mod util;

use std::path::{Path, PathBuf};

use flotilla_devcluster::Options;
use flotilla_testkit::DevCluster;
use serde_json::Value;
use util::*;

fn fixture_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

const NAMESPACE: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: flux-system\n";

#[test]
fn dev_cluster_serves_the_crds() {
    let cluster = DevCluster::start_bare(Options {
        simulate: None,
        ..Options::default()
    });
    cluster.kubectl_ok(
        &["apply", "--server-side", "-f", "-"],
        &flotilla_api::crds_yaml().unwrap(),
    );
    cluster.kubectl_ok(&["apply", "-f", "-"], NAMESPACE);

    // Every sample: spec first, then status through the status subresource where the kind has one.
    for file in fixture_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        cluster.kubectl_ok(&["apply", "--server-side", "-f", "-"], &text);
        for doc in flotilla_yaml::from_str_multi(&text).unwrap() {
            if doc.get("status").is_some() {
                cluster.kubectl_ok(
                    &["apply", "--server-side", "--subresource=status", "-f", "-"],
                    &serde_json::to_string(&doc).unwrap(),
                );
            }
        }
    }

    // What the server stores equals the sample plus Flux's defaults, and reads into the types.
    for file in fixture_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        for doc in flotilla_yaml::from_str_multi(&text).unwrap() {
            let kind = doc["kind"].as_str().unwrap();
            let name = doc["metadata"]["name"].as_str().unwrap();
            let resource = format!(
                "{}.{}",
                kind.to_lowercase(),
                doc["apiVersion"]
                    .as_str()
                    .unwrap()
                    .split('/')
                    .next()
                    .unwrap()
            );
            let stored: Value = serde_json::from_str(&cluster.kubectl_ok(
                &["get", &resource, name, "-n", "flux-system", "-o", "json"],
                "",
            ))
            .unwrap();
            for key in ["spec", "status"] {
                if let Some(expected) = doc.get(key) {
                    let mut got = stored[key].clone();
                    strip_defaults(&mut got, expected);
                    assert_eq!(&got, expected, "{kind}/{name} {key} as stored");
                }
            }
            let back = round_trip(&stored).unwrap_or_else(|e| panic!("{kind}/{name}: {e}"));
            assert_eq!(back["spec"], stored["spec"], "{kind}/{name} read back");
        }
    }

    // Defaults Flux's CRDs apply, on the Kustomization that sets few fields.
    let stored: Value = serde_json::from_str(&cluster.kubectl_ok(
        &[
            "get",
            "kustomizations.kustomize.toolkit.fluxcd.io",
            "remote-apps",
            "-n",
            "flux-system",
            "-o",
            "json",
        ],
        "",
    ))
    .unwrap();
    assert_eq!(stored["spec"]["force"], Value::Bool(false));
    assert_eq!(stored["status"]["observedGeneration"], -1);
    let typed: flotilla_api::Kustomization = serde_json::from_value(stored).unwrap();
    assert_eq!(typed.status.unwrap().observed_generation, Some(-1));

    // Printer columns: the Ready column shows the Ready condition.
    let table = cluster.kubectl_ok(&["get", "gitrepositories", "-n", "flux-system"], "");
    assert!(table.contains("READY") && table.contains("True"), "{table}");

    // Objects Flux refuses are refused, naming the field.
    let bad = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: bad\n  namespace: flux-system\nspec:\n  interval: 10 minutes\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: x\n";
    let out = cluster.kubectl(&["apply", "-f", "-"], bad);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("spec.interval"));
}

/// Removes from `got` the fields the server defaulted that `expected` does not set.
fn strip_defaults(got: &mut Value, expected: &Value) {
    if let (Some(g), Some(e)) = (got.as_object_mut(), expected.as_object()) {
        g.retain(|k, _| e.contains_key(k));
        for (k, v) in g.iter_mut() {
            strip_defaults(v, &e[k]);
        }
    } else if let (Some(g), Some(e)) = (got.as_array_mut(), expected.as_array()) {
        for (gv, ev) in g.iter_mut().zip(e) {
            strip_defaults(gv, ev);
        }
    }
}
