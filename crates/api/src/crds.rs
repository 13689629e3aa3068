//! Every CRD, generated from the types, with the touches controller-gen gives Flux's CRDs.

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use serde_json::{json, Value};

use crate::image::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use crate::kustomize::Kustomization;
use crate::notification::{Alert, Provider, Receiver};
use crate::source::GitRepository;

/// Why the CRDs could not be produced (only a bug in this crate can cause it).
#[derive(Debug, thiserror::Error)]
pub enum CrdError {
    /// A generated CRD did not survive conversion to or from JSON.
    #[error("generated CRD {name} is not valid: {source}")]
    Json {
        /// The CRD's name.
        name: String,
        /// The serde error.
        source: serde_json::Error,
    },
}

/// All CRDs Flotilla serves, in install order (sources, appliers, images, notifications).
pub fn crds() -> Result<Vec<CustomResourceDefinition>, CrdError> {
    crds_json()?
        .into_iter()
        .map(|value| {
            let name = value["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            serde_json::from_value(value).map_err(|source| CrdError::Json { name, source })
        })
        .collect()
}

/// All CRDs as JSON objects, ready to apply.
pub fn crds_json() -> Result<Vec<Value>, CrdError> {
    let generated = [
        (GitRepository::crd(), true),
        (Kustomization::crd(), true),
        (ImageRepository::crd(), true),
        (ImagePolicy::crd(), true),
        (ImageUpdateAutomation::crd(), true),
        (Provider::crd(), false),
        (Alert::crd(), false),
        (Receiver::crd(), true),
    ];
    generated
        .into_iter()
        .map(|(crd, has_status)| {
            let name = crd.metadata.name.clone().unwrap_or_default();
            let mut value =
                serde_json::to_value(&crd).map_err(|source| CrdError::Json { name, source })?;
            finish(&mut value, has_status);
            Ok(value)
        })
        .collect()
}

/// All CRDs as one multi-document YAML stream, ready for `kubectl apply -f -`.
pub fn crds_yaml() -> Result<String, CrdError> {
    Ok(flotilla_yaml::to_string_multi(&crds_json()?))
}

/// Brings a kube-derived CRD in line with Flux's: names carry `listKind`, the root schema lists
/// apiVersion, kind and
/// metadata, statuses default to `observedGeneration: -1`, and optional fields are not
/// `nullable` (Flux never writes null; without `nullable` the API server prunes nulls instead of
/// storing them).
fn finish(crd: &mut Value, has_status: bool) {
    if let Some(names) = crd
        .pointer_mut("/spec/names")
        .and_then(Value::as_object_mut)
    {
        if let Some(kind) = names.get("kind").and_then(Value::as_str) {
            let list_kind = format!("{kind}List");
            names.insert("listKind".into(), json!(list_kind));
        }
    }
    let Some(versions) = crd
        .pointer_mut("/spec/versions")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for version in versions {
        let Some(root) = version
            .pointer_mut("/schema/openAPIV3Schema")
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        root.remove("title");
        if let Some(properties) = root.get_mut("properties").and_then(Value::as_object_mut) {
            properties.insert(
                "apiVersion".into(),
                json!({"description": "APIVersion of this object's schema.", "type": "string"}),
            );
            properties.insert(
                "kind".into(),
                json!({"description": "Kind of the REST resource this object represents.", "type": "string"}),
            );
            properties.insert("metadata".into(), json!({"type": "object"}));
            if has_status {
                if let Some(status) = properties.get_mut("status").and_then(Value::as_object_mut) {
                    status.insert("default".into(), json!({"observedGeneration": -1}));
                }
            }
        }
        root.remove("nullable");
        root.values_mut().for_each(normalise);
    }
}

/// Drops `nullable` and writes integral bounds as integers (`minimum: 0`, not `0.0`).
fn normalise(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            map.remove("nullable");
            for key in ["minimum", "maximum"] {
                if let Some(Value::Number(n)) = map.get(key) {
                    if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && n.is_f64()) {
                        map.insert(key.into(), json!(f as i64));
                    }
                }
            }
            for (key, value) in map.iter_mut() {
                // Defaults and enums are data, not schemas.
                if key != "default" && key != "enum" {
                    normalise(value);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalise),
        _ => {}
    }
}
