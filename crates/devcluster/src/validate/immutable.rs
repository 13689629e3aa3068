//! Fields of built-in kinds an update may not change, with kube-apiserver's causes
//! (`field is immutable`, `may not change once set`, ...), so clients that must delete and
//! recreate (force apply) can be tested against this server.

use serde_json::Value;

use super::rules::{cause, go_selector};
use crate::errors::Cause;

/// StatefulSet spec fields an update may change.
const STATEFULSET_MUTABLE: [&str; 7] = [
    "replicas",
    "ordinals",
    "template",
    "updateStrategy",
    "revisionHistoryLimit",
    "persistentVolumeClaimRetentionPolicy",
    "minReadySeconds",
];

/// Compact JSON of a value, for causes where the real server prints a Go struct dump.
fn compact(v: &Value) -> String {
    if v.is_null() {
        "null".into()
    } else {
        v.to_string()
    }
}

fn immutable(field: &str, value: String) -> Cause {
    cause(
        "FieldValueInvalid",
        field.into(),
        format!("Invalid value: {value}: field is immutable"),
    )
}

fn forbidden(field: &str, message: &str) -> Cause {
    cause(
        "FieldValueForbidden",
        field.into(),
        format!("Forbidden: {message}"),
    )
}

/// The causes refusing the update of `old` to `new` (empty when allowed).
pub(super) fn check(group: &str, kind: &str, old: &Value, new: &Value) -> Vec<Cause> {
    let mut out = Vec::new();
    let (os, ns) = (&old["spec"], &new["spec"]);
    match (group, kind) {
        ("apps", "Deployment" | "ReplicaSet" | "DaemonSet" | "StatefulSet") => {
            if os["selector"] != ns["selector"] {
                out.push(immutable("spec.selector", go_selector(&ns["selector"])));
            }
            if kind == "StatefulSet" {
                let others = |s: &Value| -> Vec<(String, Value)> {
                    s.as_object()
                        .into_iter()
                        .flatten()
                        .filter(|(k, _)| {
                            !STATEFULSET_MUTABLE.contains(&k.as_str()) && k.as_str() != "selector"
                        })
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                };
                if others(os) != others(ns) {
                    out.push(forbidden(
                        "spec",
                        "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
                    ));
                }
            }
        }
        ("batch", "Job") => {
            if os["selector"] != ns["selector"] {
                out.push(immutable("spec.selector", go_selector(&ns["selector"])));
            }
            if os["template"] != ns["template"] {
                out.push(immutable("spec.template", compact(&ns["template"])));
            }
            if os["completionMode"] != ns["completionMode"] {
                out.push(immutable(
                    "spec.completionMode",
                    compact(&ns["completionMode"]),
                ));
            }
        }
        ("", "Service") => {
            let (was, now) = (os["clusterIP"].as_str(), ns["clusterIP"].as_str());
            if let (Some(was), Some(now)) = (was, now) {
                if !was.is_empty() && was != now {
                    out.push(immutable("spec.clusterIP", format!("{now:?}")));
                }
            }
        }
        ("", "PersistentVolumeClaim") => {
            let strip = |s: &Value| {
                let mut s = s.clone();
                if let Some(m) = s.as_object_mut() {
                    m.remove("volumeAttributesClassName");
                    if let Some(r) = m.get_mut("resources").and_then(Value::as_object_mut) {
                        r.remove("requests");
                    }
                }
                s
            };
            let mut old_spec = strip(os);
            // The binder fills the volume name; manifests leave it out.
            if ns.get("volumeName").is_none() {
                if let Some(m) = old_spec.as_object_mut() {
                    m.remove("volumeName");
                }
            }
            if old_spec != strip(ns) {
                out.push(forbidden(
                    "spec",
                    "spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims",
                ));
            }
        }
        ("", "ConfigMap" | "Secret") => {
            if old["immutable"].as_bool() == Some(true) {
                let fields: &[&str] = if kind == "Secret" {
                    &["data"]
                } else {
                    &["data", "binaryData"]
                };
                for f in fields {
                    if old[*f] != new[*f] {
                        out.push(forbidden(f, "field is immutable when `immutable` is set"));
                    }
                }
                if new["immutable"].as_bool() != Some(true) {
                    out.push(forbidden(
                        "immutable",
                        "field is immutable when `immutable` is set",
                    ));
                }
            }
            if kind == "Secret" && old["type"] != new["type"] {
                out.push(immutable(
                    "type",
                    format!("{:?}", new["type"].as_str().unwrap_or_default()),
                ));
            }
        }
        ("rbac.authorization.k8s.io", "RoleBinding" | "ClusterRoleBinding")
            if old["roleRef"] != new["roleRef"] =>
        {
            let r = &new["roleRef"];
            let s = |k: &str| r[k].as_str().unwrap_or_default().to_string();
            out.push(cause(
                    "FieldValueInvalid",
                    "roleRef".into(),
                    format!(
                        "Invalid value: rbac.RoleRef{{APIGroup:{:?}, Kind:{:?}, Name:{:?}}}: cannot change roleRef",
                        s("apiGroup"),
                        s("kind"),
                        s("name")
                    ),
                ));
        }
        ("storage.k8s.io", "StorageClass") => {
            for f in ["parameters", "provisioner", "reclaimPolicy"] {
                if old[f] != new[f] {
                    out.push(forbidden(f, &format!("updates to {f} are forbidden.")));
                }
            }
            if old["volumeBindingMode"] != new["volumeBindingMode"] {
                out.push(forbidden("volumeBindingMode", "field is immutable"));
            }
        }
        ("scheduling.k8s.io", "PriorityClass") if old["value"] != new["value"] => {
            out.push(forbidden("value", "may not be changed in an update."));
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn messages(group: &str, kind: &str, old: Value, new: Value) -> Vec<String> {
        check(group, kind, &old, &new)
            .into_iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    }

    #[test]
    fn workload_selectors_and_statefulset_spec() {
        let d = |app: &str, image: &str| {
            json!({"spec": {"selector": {"matchLabels": {"app": app}}, "replicas": 1,
                "template": {"spec": {"containers": [{"name": "c", "image": image}]}}}})
        };
        assert!(messages("apps", "Deployment", d("a", "x"), d("a", "y")).is_empty());
        assert_eq!(
            messages("apps", "Deployment", d("a", "x"), d("b", "x")),
            ["spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"b\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"]
        );
        let mut s2 = d("a", "x");
        s2["spec"]["serviceName"] = json!("other");
        assert_eq!(messages("apps", "StatefulSet", d("a", "x"), s2).len(), 1);
        let mut s3 = d("a", "y");
        s3["spec"]["replicas"] = json!(3);
        assert!(messages("apps", "StatefulSet", d("a", "x"), s3).is_empty());
        assert_eq!(messages("batch", "Job", d("a", "x"), d("a", "y")).len(), 1);
    }

    #[test]
    fn other_kinds() {
        let svc = |ip: &str| json!({"spec": {"clusterIP": ip}});
        assert_eq!(
            messages("", "Service", svc("10.96.0.1"), svc("")),
            ["spec.clusterIP: Invalid value: \"\": field is immutable"]
        );
        assert!(messages("", "Service", svc("10.96.0.1"), svc("10.96.0.1")).is_empty());
        let pvc = |size: &str, mode: &str| json!({"spec": {"accessModes": [mode], "resources": {"requests": {"storage": size}}}});
        assert!(messages(
            "",
            "PersistentVolumeClaim",
            pvc("1Gi", "ReadWriteOnce"),
            pvc("2Gi", "ReadWriteOnce")
        )
        .is_empty());
        assert_eq!(
            messages(
                "",
                "PersistentVolumeClaim",
                pvc("1Gi", "ReadWriteOnce"),
                pvc("1Gi", "ReadWriteMany")
            )
            .len(),
            1
        );
        let cm = |v: &str, imm: bool| json!({"data": {"k": v}, "immutable": imm});
        assert!(messages("", "ConfigMap", cm("a", false), cm("b", false)).is_empty());
        assert_eq!(
            messages("", "ConfigMap", cm("a", true), cm("b", true)),
            ["data: Forbidden: field is immutable when `immutable` is set"]
        );
        let rb = |name: &str| json!({"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": name}});
        assert_eq!(
            messages("rbac.authorization.k8s.io", "RoleBinding", rb("a"), rb("b")),
            ["roleRef: Invalid value: rbac.RoleRef{APIGroup:\"rbac.authorization.k8s.io\", Kind:\"Role\", Name:\"b\"}: cannot change roleRef"]
        );
    }
}
