#![allow(clippy::unwrap_used)]
//! Flux's CRDs (shared/reference/flux-crds) as schemas: every served version builds, and the
//! Flux objects of the corpus check clean, get the CRD's defaults and keep their data.

use std::path::{Path, PathBuf};

use flotilla_schema::{check, structural_errors, CheckOptions, Schema, Shape};
use serde::Deserialize;
use serde_json::Value;

/// `shared/` beside the repository (as in CI), or `FLOTILLA_SHARED`.
fn shared() -> PathBuf {
    if let Ok(dir) = std::env::var("FLOTILLA_SHARED") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

fn yaml_docs(path: &Path) -> Result<Vec<Value>, serde_yaml::Error> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(Value::deserialize)
        .filter(|d| !matches!(d, Ok(Value::Null)))
        .collect()
}

struct Served {
    api_version: String,
    kind: String,
    /// The version's `openAPIV3Schema` as written in the CRD.
    raw: Value,
    schema: Schema,
}

fn flux_crds() -> Vec<Served> {
    let dir = shared().join("reference/flux-crds");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for file in files {
        for crd in yaml_docs(&file).unwrap() {
            let group = crd["spec"]["group"].as_str().unwrap();
            let kind = crd["spec"]["names"]["kind"].as_str().unwrap();
            for version in crd["spec"]["versions"].as_array().unwrap() {
                if version["served"] != Value::Bool(true) {
                    continue;
                }
                let raw = version["schema"]["openAPIV3Schema"].clone();
                let schema = Schema::from_openapi_v3(&raw)
                    .unwrap_or_else(|e| panic!("{}: {kind}: {e}", file.display()));
                out.push(Served {
                    api_version: format!("{group}/{}", version["name"].as_str().unwrap()),
                    kind: kind.to_string(),
                    raw,
                    schema,
                });
            }
        }
    }
    out
}

fn served<'c>(crds: &'c [Served], object: &Value) -> Option<&'c Served> {
    crds.iter().find(|c| {
        object["apiVersion"] == c.api_version.as_str() && object["kind"] == c.kind.as_str()
    })
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
}

/// Complete Flux objects: kubectl kustomize output and the clusters/ bootstrap files.
fn corpus_objects() -> Vec<(PathBuf, Value)> {
    let corpus = shared().join("corpus");
    let mut files = Vec::new();
    yaml_files(
        &corpus.join("_expected-kubectl-kustomize-v5.5.0"),
        &mut files,
    );
    for repo in std::fs::read_dir(&corpus).unwrap() {
        yaml_files(&repo.unwrap().path().join("clusters"), &mut files);
    }
    files.sort();
    let mut out = Vec::new();
    for file in files {
        // Helm templates and other non-YAML files are not objects.
        let Ok(docs) = yaml_docs(&file) else { continue };
        out.extend(docs.into_iter().map(|d| (file.clone(), d)));
    }
    out
}

#[test]
fn every_served_flux_crd_version_builds() {
    let crds = flux_crds();
    assert!(
        crds.len() >= 14,
        "one served version per Flux CRD, got {}",
        crds.len()
    );
    for crd in &crds {
        // The API server admits these CRDs, so they are structural.
        let problems = structural_errors(&crd.raw, "openAPIV3Schema");
        assert!(problems.is_empty(), "{}: {problems:?}", crd.kind);
        let root = crd.schema.root().unwrap();
        assert_eq!(root.shape(), Shape::Object, "{}", crd.kind);
        assert!(root.field("spec").is_some(), "{} has spec", crd.kind);
        // metadata is ObjectMeta even though the CRD only says `type: object`.
        let labels = root
            .field("metadata")
            .and_then(|m| m.field("labels"))
            .unwrap();
        assert_eq!(labels.shape(), Shape::Map, "{}", crd.kind);
        let finalizers = root
            .field("metadata")
            .and_then(|m| m.field("finalizers"))
            .unwrap();
        assert!(finalizers.patch_strategy().merge);
    }
}

#[test]
fn corpus_flux_objects_check_clean_and_get_defaults() {
    let crds = flux_crds();
    let mut checked = 0;
    let mut defaulted = 0;
    for (file, original) in corpus_objects() {
        let Some(crd) = served(&crds, &original) else {
            continue;
        };
        let root = crd.schema.root().unwrap();
        let mut object = original.clone();
        let report = check(root, &mut object, &CheckOptions::default());
        let at = format!(
            "{} {} {}",
            file.display(),
            crd.kind,
            original["metadata"]["name"]
        );
        assert!(report.is_valid(), "{at}: {:?}", report.errors);
        assert!(
            report.unknown_fields.is_empty(),
            "{at}: {:?}",
            report.unknown_fields
        );
        // Every top-level spec default the CRD declares is filled in when absent.
        let spec_props = crd.raw["properties"]["spec"]["properties"]
            .as_object()
            .unwrap();
        for (name, prop) in spec_props {
            let Some(default) = prop.get("default") else {
                continue;
            };
            match original["spec"].get(name) {
                None => {
                    assert_eq!(&object["spec"][name], default, "{at}: spec.{name}");
                    defaulted += 1;
                }
                Some(given) => assert_eq!(&object["spec"][name], given, "{at}: spec.{name}"),
            }
        }
        // Nothing the user wrote is lost: the checked object contains the original.
        assert!(contains(&object, &original), "{at}: data lost");
        // A second check changes nothing.
        let again = object.clone();
        let report = check(root, &mut object, &CheckOptions::default());
        assert!(report.is_valid() && report.unknown_fields.is_empty());
        assert_eq!(object, again, "{at}: check is idempotent");
        checked += 1;
    }
    assert!(
        checked >= 15,
        "corpus has Flux v1/v2 objects, checked {checked}"
    );
    assert!(defaulted > 0, "some CRD default applied");
}

fn contains(big: &Value, small: &Value) -> bool {
    match (big, small) {
        (Value::Object(b), Value::Object(s)) => s
            .iter()
            .all(|(k, v)| b.get(k).is_some_and(|bv| contains(bv, v))),
        (Value::Array(b), Value::Array(s)) => {
            b.len() == s.len() && b.iter().zip(s).all(|(x, y)| contains(x, y))
        }
        _ => big == small,
    }
}

fn git_repository(crds: &[Served]) -> &Served {
    crds.iter()
        .find(|c| c.api_version == "source.toolkit.fluxcd.io/v1" && c.kind == "GitRepository")
        .unwrap()
}

/// The walkthrough's tenant GitRepository (v1beta1) moved to v1, as `flotilla migrate` does.
fn tenant_git_repository() -> Value {
    let file = shared().join("corpus/tyyzqmf-flux-repo/apps/base/sock-shop/tenant.yaml");
    let mut repo = yaml_docs(&file)
        .unwrap()
        .into_iter()
        .find(|d| d["kind"] == "GitRepository")
        .unwrap();
    repo["apiVersion"] = Value::from("source.toolkit.fluxcd.io/v1");
    repo
}

#[test]
fn git_repository_placeholder_url_fails_the_crd_pattern() {
    let crds = flux_crds();
    let crd = git_repository(&crds);
    let url_schema = &crd.raw["properties"]["spec"]["properties"]["url"];
    let pattern = url_schema["pattern"].as_str().unwrap();
    let mut repo = tenant_git_repository();
    let report = check(
        crd.schema.root().unwrap(),
        &mut repo,
        &CheckOptions::default(),
    );
    let got: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [format!(
            "spec.url: Invalid value: \"__MICRO_SERVICES_REPO__\": spec.url in body should match '{pattern}'"
        )]
    );
    assert_eq!(report.errors[0].kind.reason(), "FieldValueInvalid");

    let mut repo = tenant_git_repository();
    repo["spec"]["url"] =
        Value::from("https://git-codecommit.us-east-1.amazonaws.com/v1/repos/microservices");
    let report = check(
        crd.schema.root().unwrap(),
        &mut repo,
        &CheckOptions::default(),
    );
    assert!(report.is_valid(), "{:?}", report.errors);
    let timeout = &crd.raw["properties"]["spec"]["properties"]["timeout"]["default"];
    assert_eq!(&repo["spec"]["timeout"], timeout);
    assert_eq!(repo["spec"]["ref"]["branch"], "main");
    assert_eq!(
        repo["spec"]["secretRef"]["name"],
        "microservices-basic-access-auth"
    );
}

#[test]
fn git_repository_required_types_and_unknown_fields() {
    let crds = flux_crds();
    let crd = git_repository(&crds);
    let root = crd.schema.root().unwrap();
    let valid = {
        let mut r = tenant_git_repository();
        r["spec"]["url"] = Value::from("ssh://git@example.com/repo.git");
        r
    };
    let required = crd.raw["properties"]["spec"]["required"]
        .as_array()
        .unwrap();
    assert!(!required.is_empty());
    for name in required {
        let name = name.as_str().unwrap();
        let mut r = valid.clone();
        r["spec"].as_object_mut().unwrap().remove(name);
        let report = check(root, &mut r, &CheckOptions::default());
        let got: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
        assert_eq!(got, [format!("spec.{name}: Required value")]);
    }

    let mut r = valid.clone();
    r["spec"]["interval"] = Value::from(5);
    r["spec"]["suspend"] = Value::from("yes");
    r["spec"]["foo"] = Value::from("bar");
    r["spec"]["ref"]["bogus"] = Value::from(1);
    r["metadata"]["nonsense"] = Value::from(true);
    let report = check(root, &mut r, &CheckOptions::default());
    let mut got: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
    got.sort();
    assert_eq!(
        got,
        [
            r#"spec.interval: Invalid value: "integer": spec.interval in body must be of type string: "integer""#,
            r#"spec.suspend: Invalid value: "string": spec.suspend in body must be of type boolean: "string""#,
        ]
    );
    let mut unknown = report.unknown_fields.clone();
    unknown.sort();
    assert_eq!(unknown, ["metadata.nonsense", "spec.foo", "spec.ref.bogus"]);
    assert!(r["spec"].get("foo").is_none());
    assert!(r["spec"]["ref"].get("bogus").is_none());
    assert!(r["metadata"].get("nonsense").is_none());
    assert_eq!(r["spec"]["ref"]["branch"], "main");
}

fn crd<'c>(crds: &'c [Served], api_version: &str, kind: &str) -> &'c Served {
    crds.iter()
        .find(|c| c.api_version == api_version && c.kind == kind)
        .unwrap()
}

/// The walkthrough's image automation objects (DESIGN.md), as users write them: defaults
/// come before validation, so a defaulted required field (`sourceRef.kind`) is satisfied.
#[test]
fn image_automation_defaults_satisfy_required_fields() {
    let crds = flux_crds();
    let automation = crd(&crds, "image.toolkit.fluxcd.io/v1", "ImageUpdateAutomation");
    let spec = &automation.raw["properties"]["spec"]["properties"];
    let object: Value = serde_json::json!({
        "apiVersion": "image.toolkit.fluxcd.io/v1",
        "kind": "ImageUpdateAutomation",
        "metadata": {"name": "sock-shop", "namespace": "flux-system"},
        "spec": {
            "interval": "1m",
            "sourceRef": {"name": "microservices-repo"},
            "git": {
                "checkout": {"ref": {"branch": "main"}},
                "commit": {"author": {"email": "fluxcdbot@users.noreply.github.com", "name": "fluxcdbot"}},
                "push": {"branch": "main"}
            }
        }
    });
    let root = automation.schema.root().unwrap();
    let mut defaulted = object.clone();
    let report = check(root, &mut defaulted, &CheckOptions::default());
    assert!(report.is_valid(), "{:?}", report.errors);
    assert_eq!(
        defaulted["spec"]["sourceRef"]["kind"],
        spec["sourceRef"]["properties"]["kind"]["default"]
    );
    assert_eq!(defaulted["spec"]["update"], spec["update"]["default"]);

    let mut plain = object.clone();
    let options = CheckOptions {
        prune_unknown: true,
        apply_defaults: false,
    };
    let report = check(root, &mut plain, &options);
    let got: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
    assert_eq!(got, ["spec.sourceRef.kind: Required value"]);

    let policy = crd(&crds, "image.toolkit.fluxcd.io/v1", "ImagePolicy");
    let numerical = &policy.raw["properties"]["spec"]["properties"]["policy"]["properties"]
        ["numerical"]["properties"]["order"];
    let mut object: Value = serde_json::json!({
        "apiVersion": "image.toolkit.fluxcd.io/v1",
        "kind": "ImagePolicy",
        "metadata": {"name": "front-end", "namespace": "flux-system"},
        "spec": {
            "imageRepositoryRef": {"name": "front-end"},
            "filterTags": {"pattern": "^main-[a-f0-9]+-(?P<build>[0-9]+)", "extract": "$build"},
            "policy": {"numerical": {}}
        }
    });
    let root = policy.schema.root().unwrap();
    let report = check(root, &mut object, &CheckOptions::default());
    assert!(report.is_valid(), "{:?}", report.errors);
    assert_eq!(
        object["spec"]["policy"]["numerical"]["order"],
        numerical["default"]
    );
    object["spec"]["policy"]["numerical"]["order"] = Value::from("up");
    let report = check(root, &mut object, &CheckOptions::default());
    let supported: Vec<String> = numerical["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| format!("{:?}", v.as_str().unwrap()))
        .collect();
    let got: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        got,
        [format!(
            "spec.policy.numerical.order: Unsupported value: \"up\": supported values: {}",
            supported.join(", ")
        )]
    );
}
