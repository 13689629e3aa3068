//! The generated CRDs against Flux's own (shared/reference/flux-crds): names, scope, versions,
//! printer columns, and every schema path with its type and validations.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

fn reference_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/flux-crds")
}

/// Flux's CRD for `<plural>.<group>`.
fn flux_crd(name: &str) -> Value {
    let path = reference_dir().join(format!("{}_{}.yaml", group_of(name), plural_of(name)));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut docs = flotilla_yaml::from_str_multi(&text).unwrap();
    docs.remove(0)
}

fn plural_of(name: &str) -> &str {
    name.split_once('.').unwrap().0
}

fn group_of(name: &str) -> &str {
    name.split_once('.').unwrap().1
}

/// Keywords compared at every schema node (descriptions are ours to write).
const KEYWORDS: &[&str] = &[
    "type",
    "format",
    "enum",
    "pattern",
    "default",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "x-kubernetes-validations",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-int-or-string",
];

/// Deliberate differences from Flux, each with its reason.
const ALLOWED: &[(&str, &str, &str)] = &[
    (
        "gitrepositories.source.toolkit.fluxcd.io",
        "spec.url pattern",
        "Flotilla also fetches file:// repositories (local mirrors, tests); Flux's pattern refuses them",
    ),
    (
        "*",
        "(root) required",
        "an object without spec cannot be read by the typed API, and one such object would stall a \
         controller's whole watch; Flux's specs have required fields anyway",
    ),
];

fn is_allowed(crd: &str, finding: &str) -> bool {
    ALLOWED
        .iter()
        .any(|(c, prefix, _)| (*c == crd || *c == "*") && finding.starts_with(prefix))
}

/// Walks both schemas from `path`, recording paths missing on either side and keyword mismatches.
fn compare(path: &str, theirs: &Value, ours: &Value, findings: &mut Vec<String>) {
    for key in KEYWORDS {
        let (t, o) = (theirs.get(*key), ours.get(*key));
        if t != o {
            findings.push(format!(
                "{path} {key}: flux {} ours {}",
                t.map_or("-".into(), Value::to_string),
                o.map_or("-".into(), Value::to_string)
            ));
        }
    }
    let required = |v: &Value| -> BTreeSet<String> {
        v.get("required")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    if required(theirs) != required(ours) {
        findings.push(format!(
            "{path} required: flux {:?} ours {:?}",
            required(theirs),
            required(ours)
        ));
    }
    let empty = serde_json::Map::new();
    let props = |v: &Value| {
        v.get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_else(|| empty.clone())
    };
    let (tp, op) = (props(theirs), props(ours));
    for (name, t) in &tp {
        let child = format!("{path}.{name}");
        match op.get(name) {
            Some(o) => compare(&child, t, o, findings),
            None => findings.push(format!("{child} missing in ours")),
        }
    }
    for name in op.keys().filter(|n| !tp.contains_key(*n)) {
        findings.push(format!("{path}.{name} not in flux"));
    }
    match (theirs.get("items"), ours.get("items")) {
        (Some(t), Some(o)) => compare(&format!("{path}[]"), t, o, findings),
        (None, None) => {}
        (t, o) => findings.push(format!(
            "{path}[] items: flux {} ours {}",
            t.is_some(),
            o.is_some()
        )),
    }
    match (
        theirs.get("additionalProperties"),
        ours.get("additionalProperties"),
    ) {
        (Some(t), Some(o)) => compare(&format!("{path}{{}}"), t, o, findings),
        (None, None) => {}
        (t, o) => findings.push(format!(
            "{path}{{}} additionalProperties: flux {} ours {}",
            t.is_some(),
            o.is_some()
        )),
    }
}

fn findings_for(ours: &Value) -> Vec<String> {
    let name = ours["metadata"]["name"].as_str().unwrap();
    let theirs = flux_crd(name);
    let mut findings = Vec::new();
    for key in ["group", "scope"] {
        if theirs["spec"][key] != ours["spec"][key] {
            findings.push(format!(
                "spec.{key}: flux {} ours {}",
                theirs["spec"][key], ours["spec"][key]
            ));
        }
    }
    let names = [
        "kind",
        "listKind",
        "plural",
        "singular",
        "shortNames",
        "categories",
    ];
    for key in names {
        if theirs["spec"]["names"][key] != ours["spec"]["names"][key] {
            findings.push(format!(
                "names.{key}: flux {} ours {}",
                theirs["spec"]["names"][key], ours["spec"]["names"][key]
            ));
        }
    }
    if theirs["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/substitute"]
        != ours["metadata"]["annotations"]["kustomize.toolkit.fluxcd.io/substitute"]
    {
        findings.push("substitute annotation differs".into());
    }
    let served = |crd: &Value| -> Vec<Value> {
        crd["spec"]["versions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["served"] == Value::Bool(true))
            .cloned()
            .collect()
    };
    let (tv, ov) = (served(&theirs), served(ours));
    assert_eq!(tv.len(), 1, "{name}: Flux serves one version");
    assert_eq!(ov.len(), 1, "{name}: we serve one version");
    let (tv, ov) = (&tv[0], &ov[0]);
    for key in ["name", "storage", "additionalPrinterColumns"] {
        if tv[key] != ov[key] {
            findings.push(format!("version {key}: flux {} ours {}", tv[key], ov[key]));
        }
    }
    let has_status = |v: &Value| v["subresources"]["status"].is_object();
    if has_status(tv) != has_status(ov) {
        findings.push(format!(
            "status subresource: flux {} ours {}",
            has_status(tv),
            has_status(ov)
        ));
    }
    compare(
        "",
        &tv["schema"]["openAPIV3Schema"],
        &ov["schema"]["openAPIV3Schema"],
        &mut findings,
    );
    findings
        .into_iter()
        .map(|f| match f.strip_prefix(' ') {
            Some(root) => format!("(root) {root}"),
            None => f.trim_start_matches('.').to_string(),
        })
        .filter(|f| !is_allowed(name, f))
        .collect()
}

#[test]
fn every_crd_matches_flux() {
    let crds = flotilla_api::crds_json().unwrap();
    let names: Vec<&str> = crds
        .iter()
        .map(|c| c["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "gitrepositories.source.toolkit.fluxcd.io",
            "kustomizations.kustomize.toolkit.fluxcd.io",
            "imagerepositories.image.toolkit.fluxcd.io",
            "imagepolicies.image.toolkit.fluxcd.io",
            "imageupdateautomations.image.toolkit.fluxcd.io",
            "providers.notification.toolkit.fluxcd.io",
            "alerts.notification.toolkit.fluxcd.io",
            "receivers.notification.toolkit.fluxcd.io",
        ]
    );
    let mut report = String::new();
    for crd in &crds {
        let findings = findings_for(crd);
        if !findings.is_empty() {
            report.push_str(&format!(
                "{}:\n  {}\n",
                crd["metadata"]["name"],
                findings.join("\n  ")
            ));
        }
    }
    assert!(report.is_empty(), "differences from Flux's CRDs:\n{report}");
}

#[test]
fn comparison_notices_a_missing_path() {
    // Guards the comparison itself: removing a field from ours must be reported.
    let mut crd = flotilla_api::crds_json().unwrap().remove(1);
    let spec = crd
        .pointer_mut("/spec/versions/0/schema/openAPIV3Schema/properties/spec/properties")
        .and_then(Value::as_object_mut)
        .unwrap();
    spec.remove("prune");
    let findings = findings_for(&crd);
    assert!(
        findings.iter().any(|f| f == "spec.prune missing in ours"),
        "{findings:?}"
    );
}

#[test]
fn crds_are_structural_and_yaml_round_trips() {
    let yaml = flotilla_api::crds_yaml().unwrap();
    let docs = flotilla_yaml::from_str_multi(&yaml).unwrap();
    assert_eq!(docs, flotilla_api::crds_json().unwrap());
    for crd in &docs {
        let typed: k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition =
            serde_json::from_value(crd.clone()).unwrap();
        assert_eq!(typed.spec.versions.len(), 1);
        // Structural: every node says its type, and nothing uses the constructs structural schemas forbid.
        fn check(path: &str, v: &Value) {
            if let Some(map) = v.as_object() {
                for forbidden in ["$ref", "anyOf", "oneOf", "allOf", "not", "nullable"] {
                    assert!(!map.contains_key(forbidden), "{path} has {forbidden}");
                }
                assert!(
                    map.contains_key("type")
                        || map.contains_key("x-kubernetes-preserve-unknown-fields"),
                    "{path} has no type"
                );
                if let Some(p) = map.get("properties").and_then(Value::as_object) {
                    p.iter().for_each(|(k, c)| check(&format!("{path}.{k}"), c));
                }
                if let Some(i) = map.get("items") {
                    check(&format!("{path}[]"), i);
                }
                if let Some(a) = map.get("additionalProperties").filter(|a| a.is_object()) {
                    check(&format!("{path}{{}}"), a);
                }
            }
        }
        check(
            crd["metadata"]["name"].as_str().unwrap(),
            &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"],
        );
    }
}
