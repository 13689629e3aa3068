//! Flux manifests through the types: the corpus' real manifests and samples setting every field
//! round-trip to equal JSON and are accepted by both Flux's CRDs and the generated ones.
#![allow(clippy::unwrap_used)]

mod util;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use util::*;

fn fixture_docs() -> Vec<Value> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    yaml_docs_under(&dir).into_iter().map(|(_, d)| d).collect()
}

/// Validation errors of `doc` against the CRD of its kind in `crds`.
fn errors_against(crds: &[Value], doc: &Value) -> Vec<String> {
    let mut errors = Vec::new();
    validate(schema_of(crd_for(crds, doc)), doc, "", &mut errors);
    errors
}

#[test]
fn samples_set_every_field_and_round_trip() {
    let ours = flotilla_api::crds_json().unwrap();
    let flux = flux_crds();
    let docs = fixture_docs();
    let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for doc in &docs {
        let name = format!(
            "{}/{}",
            doc["kind"].as_str().unwrap(),
            doc["metadata"]["name"].as_str().unwrap()
        );
        assert_eq!(
            current_version_of(doc),
            doc["apiVersion"].as_str(),
            "{name}: not a current version"
        );
        assert_eq!(
            round_trip(doc).as_ref(),
            Ok(doc),
            "{name} does not round-trip"
        );
        let flux_errors = errors_against(&flux, doc);
        assert!(
            flux_errors.is_empty(),
            "{name} is not a valid Flux manifest: {flux_errors:?}"
        );
        let our_errors = errors_against(&ours, doc);
        assert!(
            our_errors.is_empty(),
            "{name} refused by the generated CRD: {our_errors:?}"
        );
        let kind = doc["kind"].as_str().unwrap().to_string();
        seen.entry(kind)
            .or_default()
            .extend(doc_paths(doc, schema_of(crd_for(&ours, doc))));
    }
    // Every field of every kind is set by some sample, so the round-trip covers the whole API.
    let mut uncovered = Vec::new();
    for (_, kind) in KINDS {
        let crd = ours
            .iter()
            .find(|c| c["spec"]["names"]["kind"] == *kind)
            .unwrap();
        let covered = seen.get(*kind).cloned().unwrap_or_default();
        for path in schema_paths(schema_of(crd)).difference(&covered) {
            uncovered.push(format!("{kind} {path}"));
        }
    }
    assert!(
        uncovered.is_empty(),
        "fields no sample sets:\n{}",
        uncovered.join("\n")
    );
}

#[test]
fn corpus_manifests_round_trip() {
    let ours = flotilla_api::crds_json().unwrap();
    let flux = flux_crds();
    let mut current = 0;
    let mut migrated = 0;
    let mut incompatible = Vec::new();
    for (file, doc) in yaml_docs_under(&shared_dir().join("corpus")) {
        let Some(version) = current_version_of(&doc) else {
            continue;
        };
        let name = format!(
            "{} {}/{}",
            file.display(),
            doc["kind"].as_str().unwrap(),
            doc["metadata"]["name"].as_str().unwrap_or("?")
        );
        let mut doc = doc.clone();
        // The walkthrough's fleet repo leaves its Git URL as a placeholder for the reader to fill in.
        if doc["spec"]["url"] == "__MICRO_SERVICES_REPO__" {
            doc["spec"]["url"] =
                "https://git-codecommit.us-west-2.amazonaws.com/v1/repos/microservices-repo".into();
        }
        if doc["apiVersion"] == version {
            current += 1;
        } else {
            // An older version is used at the current one only when Flux's own CRD accepts it.
            let old = doc["apiVersion"].as_str().unwrap().to_string();
            doc["apiVersion"] = Value::from(version);
            let flux_errors = errors_against(&flux, &doc);
            if !flux_errors.is_empty() {
                incompatible.push(format!("{name} ({old}): {flux_errors:?}"));
                continue;
            }
            migrated += 1;
        }
        assert_eq!(
            round_trip(&doc).as_ref(),
            Ok(&doc),
            "{name} does not round-trip"
        );
        let flux_errors = errors_against(&flux, &doc);
        assert!(
            flux_errors.is_empty(),
            "{name} refused by Flux's CRD: {flux_errors:?}"
        );
        let our_errors = errors_against(&ours, &doc);
        assert!(
            our_errors.is_empty(),
            "{name} refused by the generated CRD: {our_errors:?}"
        );
    }
    eprintln!(
        "corpus: {current} current-version manifests, {migrated} older ones compatible with the \
         current version, {} not:\n{}",
        incompatible.len(),
        incompatible.join("\n")
    );
    assert!(
        current >= 6,
        "expected the corpus' v1 Kustomizations, found {current}"
    );
    assert!(
        migrated >= 10,
        "expected the corpus' v1beta1/v1beta2 manifests, found {migrated}"
    );
    assert!(
        incompatible.is_empty(),
        "older manifests Flux's current CRDs refuse:\n{}",
        incompatible.join("\n")
    );
}

#[test]
fn validation_refuses_what_flux_refuses() {
    let ours = flotilla_api::crds_json().unwrap();
    let flux = flux_crds();
    let base = fixture_docs()
        .into_iter()
        .find(|d| d["kind"] == "Kustomization")
        .unwrap();
    type Breakage = Box<dyn Fn(&mut Value)>;
    let broken: Vec<(&str, Breakage)> = vec![
        (
            "interval in words",
            Box::new(|d| d["spec"]["interval"] = "10 minutes".into()),
        ),
        (
            "unknown deletion policy",
            Box::new(|d| d["spec"]["deletionPolicy"] = "Keep".into()),
        ),
        (
            "missing prune",
            Box::new(|d| {
                d["spec"].as_object_mut().unwrap().remove("prune");
            }),
        ),
        (
            "unknown source kind",
            Box::new(|d| d["spec"]["sourceRef"]["kind"] = "HelmRepository".into()),
        ),
        (
            "empty name prefix",
            Box::new(|d| d["spec"]["namePrefix"] = "".into()),
        ),
        (
            "condition without reason",
            Box::new(|d| {
                d["status"]["conditions"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("reason");
            }),
        ),
        (
            "bad condition status",
            Box::new(|d| d["status"]["conditions"][0]["status"] = "Yes".into()),
        ),
        (
            "prune as string",
            Box::new(|d| d["spec"]["prune"] = "true".into()),
        ),
    ];
    for (what, breaks) in broken {
        let mut doc = base.clone();
        breaks(&mut doc);
        assert!(
            !errors_against(&flux, &doc).is_empty(),
            "Flux's CRD accepts {what}?"
        );
        assert!(
            !errors_against(&ours, &doc).is_empty(),
            "the generated CRD accepts {what}"
        );
    }
}

#[test]
fn typed_access_reads_the_fields() {
    let docs = fixture_docs();
    let ks: flotilla_api::Kustomization = serde_json::from_value(
        docs.iter()
            .find(|d| d["kind"] == "Kustomization")
            .unwrap()
            .clone(),
    )
    .unwrap();
    assert_eq!(ks.spec.interval.to_std().unwrap().as_secs(), 600);
    assert_eq!(ks.spec.retry_interval().unwrap().as_secs(), 120);
    assert_eq!(ks.spec.timeout().unwrap().as_secs(), 300);
    let inventory = ks.status.as_ref().unwrap().inventory.as_ref().unwrap();
    let objects: Vec<_> = inventory
        .entries
        .iter()
        .map(|e| e.object().unwrap())
        .collect();
    assert_eq!(
        objects[1],
        flotilla_api::ObjMetadata::new("sock-shop", "front-end", "apps", "Deployment")
    );
    assert_eq!(objects[2].name, "system:sock-shop");
    let gr: flotilla_api::GitRepository = serde_json::from_value(
        docs.iter()
            .find(|d| d["kind"] == "GitRepository")
            .unwrap()
            .clone(),
    )
    .unwrap();
    use flotilla_api::FluxStatus;
    assert_eq!(
        gr.pending_reconcile_request(),
        None,
        "requestedAt equals lastHandledReconcileAt"
    );
    assert_eq!(gr.spec.timeout().unwrap().as_secs(), 90);
}
