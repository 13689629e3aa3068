//! Deciding without a dry run that an apply would change nothing, so a no-change re-apply
//! costs no request per object.
//!
//! Server-side apply of a configuration by a manager sets the configuration's values and makes
//! the manager own exactly the configuration's fields (removing fields it owned before and no
//! longer applies). So when the manager's Apply entry (at the same apiVersion) already owns
//! exactly the desired fields and every desired value is already live, the apply is a no-op.
//! The check reads the field set itself (`f:` members, `k:` list keys, `v:` set values) and
//! answers `false` on anything it does not fully understand; `false` only means "ask the
//! server with a dry run", so it can never turn a change into Unchanged.

use serde_json::{Map, Value};

/// Top-level and metadata fields that are not part of field sets.
const TOP_SKIP: &[&str] = &["apiVersion", "kind"];
const META_SKIP: &[&str] = &["name", "namespace"];

/// Whether applying `desired` as `manager` to `live` would change nothing.
pub(crate) fn unchanged(desired: &Value, live: &Value, manager: &str) -> bool {
    let Some(entries) = live["metadata"]["managedFields"].as_array() else {
        return false;
    };
    let mut ours = entries.iter().filter(|e| {
        e["manager"].as_str() == Some(manager)
            && e["operation"].as_str() == Some("Apply")
            && e["subresource"].as_str().unwrap_or_default().is_empty()
    });
    let (Some(entry), None) = (ours.next(), ours.next()) else {
        return false;
    };
    if entry["apiVersion"] != desired["apiVersion"] {
        return false;
    }
    let (Some(d), Some(l)) = (desired.as_object(), live.as_object()) else {
        return false;
    };
    let fields = &entry["fieldsV1"];
    let mut top: Map<String, Value> = d
        .iter()
        .filter(|(k, _)| !TOP_SKIP.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if let Some(Value::Object(meta)) = top.get_mut("metadata") {
        meta.retain(|k, _| !META_SKIP.contains(&k.as_str()));
        if meta.is_empty() {
            top.remove("metadata");
        }
    }
    map_matches(&top, l, fields)
}

/// The member names of a field-set node, without the `.` (the node itself) marker.
fn children(f: &Value) -> Option<Vec<(&String, &Value)>> {
    Some(
        f.as_object()?
            .iter()
            .filter(|(k, _)| k.as_str() != ".")
            .collect(),
    )
}

fn map_matches(d: &Map<String, Value>, l: &Map<String, Value>, f: &Value) -> bool {
    let Some(owned) = children(f) else {
        return false;
    };
    if owned.len() != d.len() {
        return false;
    }
    owned.into_iter().all(|(key, sub)| {
        let Some(name) = key.strip_prefix("f:") else {
            return false;
        };
        match (d.get(name), l.get(name)) {
            (Some(dv), Some(lv)) => value_matches(dv, lv, sub),
            _ => false,
        }
    })
}

fn value_matches(d: &Value, l: &Value, f: &Value) -> bool {
    match d {
        Value::Object(dm) if !dm.is_empty() => match (l.as_object(), children(f)) {
            // An atomic map (a label selector): owned and applied whole.
            (Some(_), Some(c)) if c.is_empty() => d == l,
            (Some(lm), Some(_)) => map_matches(dm, lm, f),
            _ => false,
        },
        Value::Array(items) => match l.as_array() {
            Some(live) => list_matches(items, live, f),
            None => false,
        },
        // Scalars and empty maps are leaves: owned as a whole, equal as a whole.
        _ => children(f).is_some_and(|c| c.is_empty()) && d == l,
    }
}

/// A list item matches a `k:` key when every key field is equal; a protocol left out of the
/// configuration matches the server's default `TCP` (ports are keyed by port and protocol).
fn key_matches(item: &Value, key: &Map<String, Value>, lax_default: bool) -> bool {
    key.iter().all(|(k, v)| match item.get(k) {
        Some(x) => x == v,
        None => lax_default && k == "protocol" && v == "TCP",
    })
}

fn list_matches(items: &[Value], live: &[Value], f: &Value) -> bool {
    let Some(owned) = children(f) else {
        return false;
    };
    if owned.is_empty() {
        // An atomic list: applied whole.
        return items == live;
    }
    if owned.len() != items.len() {
        return false;
    }
    owned.into_iter().all(|(key, sub)| {
        if let Some(json) = key.strip_prefix("k:") {
            let Ok(Value::Object(key)) = serde_json::from_str::<Value>(json) else {
                return false;
            };
            let mut d = items.iter().filter(|i| key_matches(i, &key, true));
            let mut l = live.iter().filter(|i| key_matches(i, &key, false));
            match (d.next(), d.next(), l.next(), l.next()) {
                (Some(di), None, Some(li), None) => match (di.as_object(), li.as_object()) {
                    (Some(dm), Some(lm)) => map_matches(dm, lm, sub),
                    _ => false,
                },
                _ => false,
            }
        } else if let Some(json) = key.strip_prefix("v:") {
            let Ok(v) = serde_json::from_str::<Value>(json) else {
                return false;
            };
            items.iter().filter(|i| **i == v).count() == 1
                && live.contains(&v)
                && children(sub).is_some_and(|c| c.is_empty())
        } else {
            false
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn live_service(fields: Value, port_protocol: &str) -> Value {
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "a", "labels": {"app": "web", "extra": "x"},
                "managedFields": [
                    {"manager": "kustomize-controller", "operation": "Apply", "apiVersion": "v1", "fieldsV1": fields},
                    {"manager": "someone", "operation": "Update", "apiVersion": "v1", "fieldsV1": {"f:metadata": {"f:labels": {"f:extra": {}}}}}
                ]},
            "spec": {"type": "ClusterIP", "clusterIP": "10.0.0.1", "selector": {"app": "web"},
                     "ports": [{"port": 80, "protocol": port_protocol, "targetPort": 8080}]}
        })
    }

    fn service_fields() -> Value {
        json!({
            "f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:selector": {}, "f:ports": {"k:{\"port\":80,\"protocol\":\"TCP\"}": {".": {}, "f:port": {}, "f:targetPort": {}}}}
        })
    }

    fn desired() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "web", "namespace": "a", "labels": {"app": "web"}},
            "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}
        })
    }

    #[test]
    fn owned_and_equal_is_unchanged() {
        let mut fields = service_fields();
        fields["f:spec"]["f:selector"] = json!({"f:app": {}});
        assert!(unchanged(
            &desired(),
            &live_service(fields, "TCP"),
            "kustomize-controller"
        ));
    }

    #[test]
    fn anything_else_asks_the_server() {
        let mut fields = service_fields();
        fields["f:spec"]["f:selector"] = json!({"f:app": {}});
        let live = live_service(fields.clone(), "TCP");
        // A changed value.
        let mut d = desired();
        d["spec"]["ports"][0]["targetPort"] = json!(9090);
        assert!(!unchanged(&d, &live, "kustomize-controller"));
        // A field dropped from the configuration (the apply would remove it).
        let mut d = desired();
        d["metadata"]["labels"] = json!({});
        assert!(!unchanged(&d, &live, "kustomize-controller"));
        // A field added.
        let mut d = desired();
        d["spec"]["type"] = json!("ClusterIP");
        assert!(!unchanged(&d, &live, "kustomize-controller"));
        // Another manager, another apiVersion.
        assert!(!unchanged(&desired(), &live, "other"));
        let mut d = desired();
        d["apiVersion"] = json!("v2");
        assert!(!unchanged(&d, &live, "kustomize-controller"));
        // A UDP port is not the defaulted TCP one.
        assert!(!unchanged(
            &desired(),
            &live_service(fields, "UDP"),
            "kustomize-controller"
        ));
    }
}
