#![allow(clippy::unwrap_used)]
//! The built-in kinds of the corpus (kubectl kustomize v5.5.0 output of real repositories)
//! check against the embedded Kubernetes v1.21.2 schema with no findings but two real ones:
//! `StatefulSet.spec.minReadySeconds` came in Kubernetes 1.22 (the v1.21.2 schema has no such
//! field), and the tyyzqmf Secret holds `__BASE64_...__` placeholders, which are not base64.

use std::path::{Path, PathBuf};

use flotilla_schema::{builtin_scope, check, CheckOptions, Schema};
use serde::Deserialize;
use serde_json::Value;

fn shared() -> PathBuf {
    if let Ok(dir) = std::env::var("FLOTILLA_SHARED") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

#[test]
fn kustomize_output_of_the_corpus_checks_clean() {
    let dir = shared().join("corpus/_expected-kubectl-kustomize-v5.5.0");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut checked = 0;
    let mut findings = Vec::new();
    let mut kinds = std::collections::BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for doc in serde_yaml::Deserializer::from_str(&text) {
            let original = Value::deserialize(doc).unwrap();
            let (Some(api_version), Some(kind)) =
                (original["apiVersion"].as_str(), original["kind"].as_str())
            else {
                continue;
            };
            let Some(root) = Schema::kubernetes().for_kind(api_version, kind) else {
                assert!(
                    builtin_scope(api_version, kind).is_none(),
                    "{api_version}/{kind} has a scope but no schema"
                );
                continue;
            };
            let mut object = original.clone();
            let options = CheckOptions {
                prune_unknown: true,
                apply_defaults: false,
            };
            let report = check(root, &mut object, &options);
            let at = format!("{} {kind}", file.display());
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            for path in &report.unknown_fields {
                findings.push(format!("{name} {kind}: unknown field {path:?}"));
            }
            for error in &report.errors {
                findings.push(format!("{name} {kind}: {error}"));
            }
            if report.unknown_fields.is_empty() {
                assert_eq!(object, original, "{at}: changed without unknown fields");
            } else {
                assert_ne!(object, original, "{at}: unknown fields pruned");
            }
            kinds.insert(format!("{api_version}/{kind}"));
            checked += 1;
        }
    }
    assert!(checked >= 50, "checked {checked} objects");
    let mut expected = Vec::new();
    for overlay in [
        "bases~database",
        "overlays~dev",
        "overlays~production",
        "overlays~staging",
    ] {
        expected.push(format!(
            "podinfo~deploy~{overlay}.yaml StatefulSet: unknown field \"spec.minReadySeconds\""
        ));
    }
    for dir in [
        "apps~base",
        "apps~base~sock-shop",
        "apps~overlays~development",
        "apps~overlays~development~sock-shop",
    ] {
        for key in ["password", "username"] {
            let value = format!("__BASE64_{}__", key.to_uppercase());
            expected.push(format!(
                "tyyzqmf-flux-repo~{dir}.yaml Secret: data.{key}: Invalid value: {value:?}: \
                 data.{key} in body must be of type byte: {value:?}"
            ));
        }
    }
    assert_eq!(findings, expected);
    assert!(
        kinds.contains("apps/v1/Deployment") && kinds.contains("v1/Service"),
        "{kinds:?}"
    );
}
