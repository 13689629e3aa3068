//! Test helpers: typed round-trips by kind, a validator for the CRD schema subset Flux uses, and
//! the paths a document or schema covers.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use flotilla_api::{
    Alert, GitRepository, ImagePolicy, ImageRepository, ImageUpdateAutomation, Kustomization,
    Provider, Receiver,
};

/// `shared/` beside the repository (CI lays it out the same way).
pub fn shared_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// Every document of every `.yaml`/`.yml` file under `dir`, with its file.
pub fn yaml_docs_under(dir: &Path) -> Vec<(PathBuf, Value)> {
    let mut files = Vec::new();
    collect_files(dir, &mut files);
    files.sort();
    let mut docs = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        // Some corpus files are templates or not YAML at all; only parseable ones matter here.
        let Ok(parsed) = flotilla_yaml::from_str_multi(&text) else {
            continue;
        };
        docs.extend(
            parsed
                .into_iter()
                .filter(Value::is_object)
                .map(|d| (file.clone(), d)),
        );
    }
    docs
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_files(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        ) {
            out.push(path);
        }
    }
}

/// The kinds this crate types, with the apiVersion each is served at.
pub const KINDS: &[(&str, &str)] = &[
    ("source.toolkit.fluxcd.io/v1", "GitRepository"),
    ("kustomize.toolkit.fluxcd.io/v1", "Kustomization"),
    ("image.toolkit.fluxcd.io/v1", "ImageRepository"),
    ("image.toolkit.fluxcd.io/v1", "ImagePolicy"),
    ("image.toolkit.fluxcd.io/v1", "ImageUpdateAutomation"),
    ("notification.toolkit.fluxcd.io/v1beta3", "Provider"),
    ("notification.toolkit.fluxcd.io/v1beta3", "Alert"),
    ("notification.toolkit.fluxcd.io/v1", "Receiver"),
];

/// The current apiVersion of a typed kind in the document's group, if it is one.
pub fn current_version_of(doc: &Value) -> Option<&'static str> {
    let api_version = doc["apiVersion"].as_str()?;
    let group = api_version.split_once('/')?.0;
    let kind = doc["kind"].as_str()?;
    KINDS
        .iter()
        .find(|(v, k)| *k == kind && v.split_once('/').map(|p| p.0) == Some(group))
        .map(|(v, _)| *v)
}

fn through<T: DeserializeOwned + Serialize>(doc: &Value) -> Result<Value, String> {
    let typed: T = serde_json::from_value(doc.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(&typed).map_err(|e| e.to_string())
}

/// Deserialises into the typed kind and serialises back.
pub fn round_trip(doc: &Value) -> Result<Value, String> {
    match doc["kind"].as_str().unwrap_or_default() {
        "GitRepository" => through::<GitRepository>(doc),
        "Kustomization" => through::<Kustomization>(doc),
        "ImageRepository" => through::<ImageRepository>(doc),
        "ImagePolicy" => through::<ImagePolicy>(doc),
        "ImageUpdateAutomation" => through::<ImageUpdateAutomation>(doc),
        "Provider" => through::<Provider>(doc),
        "Alert" => through::<Alert>(doc),
        "Receiver" => through::<Receiver>(doc),
        other => Err(format!("not a typed kind: {other}")),
    }
}

/// The served version's openAPIV3Schema of a CRD.
pub fn schema_of(crd: &Value) -> &Value {
    &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
}

/// The CRD (ours or Flux's) for a document's kind.
pub fn crd_for<'a>(crds: &'a [Value], doc: &Value) -> &'a Value {
    let kind = doc["kind"].as_str().unwrap();
    crds.iter()
        .find(|c| c["spec"]["names"]["kind"] == kind)
        .unwrap()
}

/// Flux's CRDs for our kinds.
pub fn flux_crds() -> Vec<Value> {
    let dir = shared_dir().join("reference/flux-crds");
    KINDS
        .iter()
        .map(|(api_version, kind)| {
            let group = api_version.split_once('/').unwrap().0;
            let entry = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| {
                    let text = std::fs::read_to_string(p).unwrap();
                    p.file_name().unwrap().to_str().unwrap().starts_with(group)
                        && text.contains(&format!("kind: {kind}\n"))
                })
                .unwrap();
            flotilla_yaml::from_str_multi(&std::fs::read_to_string(entry).unwrap())
                .unwrap()
                .remove(0)
        })
        .collect()
}

/// Checks `value` against a structural schema: types, required fields, enums, patterns, lengths,
/// item counts, minimums and unknown fields (which the API server would prune). CEL rules are not
/// evaluated.
pub fn validate(schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    let at = if path.is_empty() { "(root)" } else { path };
    let type_ok = match schema["type"].as_str() {
        Some("string") => value.is_string(),
        Some("boolean") => value.is_boolean(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        _ => true,
    };
    if !type_ok {
        errors.push(format!("{at}: {value} is not of type {}", schema["type"]));
        return;
    }
    if let Some(allowed) = schema["enum"].as_array() {
        if !allowed.contains(value) {
            errors.push(format!("{at}: {value} not in enum {allowed:?}"));
        }
    }
    if let (Some(pattern), Some(s)) = (schema["pattern"].as_str(), value.as_str()) {
        if !regex::Regex::new(pattern).unwrap().is_match(s) {
            errors.push(format!("{at}: {s:?} does not match {pattern}"));
        }
    }
    let bound = |key: &str| schema[key].as_u64().map(|n| n as usize);
    if let Some(s) = value.as_str() {
        let n = s.chars().count();
        if bound("minLength").is_some_and(|m| n < m) || bound("maxLength").is_some_and(|m| n > m) {
            errors.push(format!("{at}: length {n} out of bounds"));
        }
    }
    if let Some(items) = value.as_array() {
        let n = items.len();
        if bound("minItems").is_some_and(|m| n < m) || bound("maxItems").is_some_and(|m| n > m) {
            errors.push(format!("{at}: {n} items out of bounds"));
        }
        for (i, item) in items.iter().enumerate() {
            validate(&schema["items"], item, &format!("{path}[{i}]"), errors);
        }
    }
    if let (Some(min), Some(n)) = (schema["minimum"].as_i64(), value.as_i64()) {
        if n < min {
            errors.push(format!("{at}: {n} below minimum {min}"));
        }
    }
    if let Some(map) = value.as_object() {
        for required in schema["required"].as_array().into_iter().flatten() {
            if !map.contains_key(required.as_str().unwrap()) {
                errors.push(format!("{at}: missing required field {required}"));
            }
        }
        let properties = schema["properties"].as_object();
        let preserve = schema["x-kubernetes-preserve-unknown-fields"] == Value::Bool(true);
        for (key, child) in map {
            let child_path = if path.is_empty() {
                key.clone()
            } else {
                format!("{path}.{key}")
            };
            if let Some(child_schema) = properties.and_then(|p| p.get(key)) {
                // metadata is checked by the API server itself, not by the CRD schema.
                if !(path.is_empty() && key == "metadata") {
                    validate(child_schema, child, &child_path, errors);
                }
            } else if schema["additionalProperties"].is_object() {
                validate(&schema["additionalProperties"], child, &child_path, errors);
            } else if !preserve {
                errors.push(format!("{child_path}: unknown field"));
            }
        }
    }
}

/// Every field path a document sets (`spec.include[].repository.name`, maps as `{}`), below
/// `spec` and `status`.
pub fn doc_paths(doc: &Value, schema: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for top in ["spec", "status"] {
        if let Some(v) = doc.get(top) {
            walk_doc(v, &schema["properties"][top], top, &mut out);
        }
    }
    out
}

fn walk_doc(value: &Value, schema: &Value, path: &str, out: &mut BTreeSet<String>) {
    out.insert(path.to_string());
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                if let Some(child) = schema["properties"].get(k) {
                    walk_doc(v, child, &format!("{path}.{k}"), out);
                } else if schema["additionalProperties"].is_object() {
                    walk_doc(
                        v,
                        &schema["additionalProperties"],
                        &format!("{path}{{}}"),
                        out,
                    );
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                walk_doc(item, &schema["items"], &format!("{path}[]"), out);
            }
        }
        _ => {}
    }
}

/// Every path a schema defines below `spec` and `status`.
pub fn schema_paths(schema: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for top in ["spec", "status"] {
        if let Some(s) = schema["properties"].get(top) {
            walk_schema(s, top, &mut out);
        }
    }
    out
}

fn walk_schema(schema: &Value, path: &str, out: &mut BTreeSet<String>) {
    out.insert(path.to_string());
    if let Some(props) = schema["properties"].as_object() {
        for (k, v) in props {
            walk_schema(v, &format!("{path}.{k}"), out);
        }
    }
    if schema["items"].is_object() {
        walk_schema(&schema["items"], &format!("{path}[]"), out);
    }
    if schema["additionalProperties"].is_object() {
        walk_schema(&schema["additionalProperties"], &format!("{path}{{}}"), out);
    }
}
