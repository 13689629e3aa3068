//! Live objects cleaned for backup, as `flux export` prints them: apiVersion, kind, name,
//! namespace, labels, annotations and spec; no status, uid, resourceVersion, managedFields…

use serde_json::{Map, Value};

/// Annotations the CLI and API server add that a backup should not carry.
const DROPPED_ANNOTATIONS: [&str; 2] = [
    "kubectl.kubernetes.io/last-applied-configuration",
    flotilla_api::reconcile::REQUESTED_AT_ANNOTATION,
];

/// The object with only what recreates it.
pub fn clean(obj: &Value) -> Value {
    let mut out = Map::new();
    for key in ["apiVersion", "kind"] {
        if let Some(v) = obj.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    let meta = &obj["metadata"];
    let mut m = Map::new();
    if let Some(a) = meta.get("annotations").and_then(Value::as_object) {
        let kept: Map<String, Value> = a
            .iter()
            .filter(|(k, _)| !DROPPED_ANNOTATIONS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !kept.is_empty() {
            m.insert("annotations".into(), Value::Object(kept));
        }
    }
    for key in ["labels", "name", "namespace"] {
        if let Some(v) = meta.get(key).filter(|v| !v.is_null()) {
            m.insert(key.into(), v.clone());
        }
    }
    out.insert("metadata".into(), Value::Object(m));
    for key in ["spec", "data", "stringData", "type"] {
        if let Some(v) = obj.get(key) {
            out.insert(key.into(), v.clone());
        }
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn drops_server_fields_and_status() {
        let live = json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "a", "namespace": "flux-system", "uid": "u", "resourceVersion": "7",
                "generation": 2, "creationTimestamp": "2024-01-01T00:00:00Z", "managedFields": [],
                "finalizers": ["finalizers.fluxcd.io"],
                "annotations": {"reconcile.fluxcd.io/requestedAt": "x", "keep": "y"}},
            "spec": {"url": "https://e/x", "interval": "1m"},
            "status": {"conditions": []}
        });
        assert_eq!(
            clean(&live),
            json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                "metadata": {"name": "a", "namespace": "flux-system", "annotations": {"keep": "y"}},
                "spec": {"url": "https://e/x", "interval": "1m"}})
        );
    }
}
