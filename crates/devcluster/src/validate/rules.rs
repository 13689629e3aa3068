//! The API server's own validation of built-in kinds that manifests most often trip over:
//! required fields of pod templates, workload selectors, service ports, configuration keys.
//! Causes are worded as kube-apiserver words them.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::errors::Cause;

pub(super) fn cause(reason: &str, field: String, message: String) -> Cause {
    Cause {
        reason: reason.into(),
        field,
        message,
    }
}

fn required(field: String) -> Cause {
    cause("FieldValueRequired", field, "Required value".into())
}

fn empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

/// A Go `%#v` rendering of a string map, keys sorted: `map[string]string{"app":"web"}`.
pub(super) fn go_string_map(v: &Value) -> String {
    let Some(m) = v.as_object() else {
        return "map[string]string(nil)".into();
    };
    let sorted: BTreeMap<&String, &Value> = m.iter().collect();
    let inner: Vec<String> = sorted
        .iter()
        .map(|(k, v)| format!("{k:?}:{:?}", v.as_str().unwrap_or_default()))
        .collect();
    format!("map[string]string{{{}}}", inner.join(", "))
}

/// A Go `%#v` rendering of a LabelSelector, as validation messages show it.
pub(super) fn go_selector(v: &Value) -> String {
    let exprs = match v["matchExpressions"].as_array() {
        None => "[]v1.LabelSelectorRequirement(nil)".to_string(),
        Some(list) => {
            let items: Vec<String> = list
                .iter()
                .map(|e| {
                    let values = match e["values"].as_array() {
                        None => "[]string(nil)".to_string(),
                        Some(vs) => {
                            let vs: Vec<String> = vs
                                .iter()
                                .map(|x| format!("{:?}", x.as_str().unwrap_or_default()))
                                .collect();
                            format!("[]string{{{}}}", vs.join(", "))
                        }
                    };
                    format!(
                        "v1.LabelSelectorRequirement{{Key:{:?}, Operator:{:?}, Values:{values}}}",
                        e["key"].as_str().unwrap_or_default(),
                        e["operator"].as_str().unwrap_or_default()
                    )
                })
                .collect();
            format!("[]v1.LabelSelectorRequirement{{{}}}", items.join(", "))
        }
    };
    format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:{exprs}}}",
        go_string_map(&v["matchLabels"])
    )
}

/// Checks one object of a built-in kind (`group`, `kind`); empty when it is valid.
pub(super) fn check(group: &str, kind: &str, obj: &Value) -> Vec<Cause> {
    let mut out = Vec::new();
    let spec = &obj["spec"];
    match (group, kind) {
        ("", "Pod") => pod_spec(spec, "spec", None, &mut out),
        ("", "PodTemplate") => pod_spec(&obj["template"]["spec"], "template.spec", None, &mut out),
        ("apps", "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet")
        | ("", "ReplicationController") => {
            workload(kind, spec, &mut out);
            pod_spec(
                &spec["template"]["spec"],
                "spec.template.spec",
                None,
                &mut out,
            );
        }
        ("batch", "Job") => job(spec, "spec", &mut out),
        ("batch", "CronJob") => {
            if empty(&spec["schedule"]) {
                out.push(required("spec.schedule".into()));
            }
            job(
                &spec["jobTemplate"]["spec"],
                "spec.jobTemplate.spec",
                &mut out,
            );
        }
        ("", "Service") => service(spec, &mut out),
        ("", "ConfigMap") => {
            config_keys(obj, "data", &mut out);
            config_keys(obj, "binaryData", &mut out);
        }
        ("", "Secret") => config_keys(obj, "data", &mut out),
        _ => {}
    }
    out
}

fn workload(kind: &str, spec: &Value, out: &mut Vec<Cause>) {
    if let Some(r) = spec["replicas"].as_i64().filter(|r| *r < 0) {
        out.push(cause(
            "FieldValueInvalid",
            "spec.replicas".into(),
            format!("Invalid value: {r}: must be greater than or equal to 0"),
        ));
    }
    let selector = &spec["selector"];
    let labels = &spec["template"]["metadata"]["labels"];
    if kind == "ReplicationController" {
        return;
    }
    if empty(selector) {
        out.push(required("spec.selector".into()));
        return;
    }
    if empty(&selector["matchLabels"]) && empty(&selector["matchExpressions"]) {
        out.push(cause(
            "FieldValueInvalid",
            "spec.selector".into(),
            format!(
                "Invalid value: {}: empty selector is invalid for {}",
                go_selector(selector),
                kind.to_lowercase()
            ),
        ));
    } else if !selector_matches(selector, labels) {
        out.push(cause(
            "FieldValueInvalid",
            "spec.template.metadata.labels".into(),
            format!(
                "Invalid value: {}: `selector` does not match template `labels`",
                go_string_map(labels)
            ),
        ));
    }
}

/// Whether a LabelSelector selects the given labels.
fn selector_matches(selector: &Value, labels: &Value) -> bool {
    let label = |k: &str| labels.get(k).and_then(Value::as_str);
    let by_labels = selector["matchLabels"]
        .as_object()
        .is_none_or(|m| m.iter().all(|(k, v)| label(k) == v.as_str()));
    let by_expressions = selector["matchExpressions"].as_array().is_none_or(|exprs| {
        exprs.iter().all(|e| {
            let key = e["key"].as_str().unwrap_or_default();
            let values: Vec<&str> = e["values"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            match e["operator"].as_str() {
                Some("In") => label(key).is_some_and(|l| values.contains(&l)),
                Some("NotIn") => label(key).is_none_or(|l| !values.contains(&l)),
                Some("Exists") => label(key).is_some(),
                Some("DoesNotExist") => label(key).is_none(),
                _ => false,
            }
        })
    });
    by_labels && by_expressions
}

fn job(spec: &Value, at: &str, out: &mut Vec<Cause>) {
    let pod = &spec["template"]["spec"];
    let at = format!("{at}.template.spec");
    pod_spec(pod, &at, Some(&["OnFailure", "Never"]), out);
}

/// Containers, their names, images and ports; `restart` limits `restartPolicy` (Jobs).
fn pod_spec(pod: &Value, at: &str, restart: Option<&[&str]>, out: &mut Vec<Cause>) {
    if empty(&pod["containers"]) {
        out.push(required(format!("{at}.containers")));
    }
    let mut names: Vec<&str> = Vec::new();
    for list in ["initContainers", "containers"] {
        let Some(containers) = pod[list].as_array() else {
            continue;
        };
        for (i, c) in containers.iter().enumerate() {
            let here = format!("{at}.{list}[{i}]");
            match c["name"].as_str().filter(|n| !n.is_empty()) {
                None => out.push(required(format!("{here}.name"))),
                Some(n) if names.contains(&n) => out.push(cause(
                    "FieldValueDuplicate",
                    format!("{here}.name"),
                    format!("Duplicate value: {n:?}"),
                )),
                Some(n) => names.push(n),
            }
            if empty(&c["image"]) {
                out.push(required(format!("{here}.image")));
            }
            for (j, p) in c["ports"].as_array().into_iter().flatten().enumerate() {
                let field = format!("{here}.ports[{j}].containerPort");
                match p["containerPort"].as_i64().unwrap_or(0) {
                    0 => out.push(required(field)),
                    n if !(1..=65535).contains(&n) => out.push(port_range(field, n)),
                    _ => {}
                }
            }
        }
    }
    if let Some(allowed) = restart {
        let policy = pod["restartPolicy"].as_str().unwrap_or("Always");
        if !allowed.contains(&policy) {
            let list: Vec<String> = allowed.iter().map(|a| format!("{a:?}")).collect();
            out.push(cause(
                "FieldValueNotSupported",
                format!("{at}.restartPolicy"),
                format!(
                    "Unsupported value: {policy:?}: supported values: {}",
                    list.join(", ")
                ),
            ));
        }
    }
}

fn port_range(field: String, n: i64) -> Cause {
    cause(
        "FieldValueInvalid",
        field,
        format!("Invalid value: {n}: must be between 1 and 65535, inclusive"),
    )
}

fn service(spec: &Value, out: &mut Vec<Cause>) {
    let ty = spec["type"].as_str().unwrap_or("ClusterIP");
    const TYPES: [&str; 4] = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
    if !TYPES.contains(&ty) {
        out.push(cause(
            "FieldValueNotSupported",
            "spec.type".into(),
            format!(
                "Unsupported value: {ty:?}: supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\""
            ),
        ));
    }
    if ty == "ExternalName" && empty(&spec["externalName"]) {
        out.push(required("spec.externalName".into()));
    }
    let headless = spec["clusterIP"].as_str() == Some("None");
    let ports = spec["ports"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    if ports.is_empty() && !headless && ty != "ExternalName" {
        out.push(required("spec.ports".into()));
    }
    for (i, p) in ports.iter().enumerate() {
        if ports.len() > 1 && empty(&p["name"]) {
            out.push(required(format!("spec.ports[{i}].name")));
        }
        let port = p["port"].as_i64().unwrap_or(0);
        if !(1..=65535).contains(&port) {
            out.push(port_range(format!("spec.ports[{i}].port"), port));
        }
    }
}

/// ConfigMap and Secret keys: `[-._a-zA-Z0-9]+`, at most 253 characters, not `.` or `..`.
fn config_keys(obj: &Value, field: &str, out: &mut Vec<Cause>) {
    let Some(m) = obj[field].as_object() else {
        return;
    };
    for k in m.keys() {
        let valid = !k.is_empty()
            && k.len() <= 253
            && k != "."
            && k != ".."
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !valid {
            out.push(cause(
                "FieldValueInvalid",
                format!("{field}[{k}]"),
                format!(
                    "Invalid value: {k:?}: a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"
                ),
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn messages(group: &str, kind: &str, obj: Value) -> Vec<String> {
        check(group, kind, &obj)
            .into_iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect()
    }

    #[test]
    fn deployment_rules() {
        let ok = json!({"spec": {"selector": {"matchLabels": {"app": "a"}},
            "template": {"metadata": {"labels": {"app": "a", "x": "y"}},
                "spec": {"containers": [{"name": "c", "image": "i", "ports": [{"containerPort": 80}]}]}}}});
        assert!(messages("apps", "Deployment", ok).is_empty());
        let bad = json!({"spec": {"replicas": -1, "selector": {"matchLabels": {"app": "b"}},
            "template": {"metadata": {"labels": {"app": "a"}},
                "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 70000}]}, {"name": "c", "image": "i"}]}}}});
        assert_eq!(
            messages("apps", "Deployment", bad),
            [
                "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
                "spec.template.metadata.labels: Invalid value: map[string]string{\"app\":\"a\"}: `selector` does not match template `labels`",
                "spec.template.spec.containers[0].image: Required value",
                "spec.template.spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive",
                "spec.template.spec.containers[1].name: Duplicate value: \"c\"",
            ]
        );
        assert_eq!(
            messages(
                "apps",
                "Deployment",
                json!({"spec": {"template": {"spec": {}}}})
            ),
            [
                "spec.selector: Required value",
                "spec.template.spec.containers: Required value"
            ]
        );
    }

    #[test]
    fn selector_expressions() {
        let labels = json!({"app": "a", "tier": "web"});
        let sel = |e: Value| json!({"matchExpressions": [e]});
        let yes = [
            json!({"key": "app", "operator": "In", "values": ["a", "b"]}),
            json!({"key": "tier", "operator": "Exists"}),
            json!({"key": "x", "operator": "DoesNotExist"}),
            json!({"key": "app", "operator": "NotIn", "values": ["b"]}),
        ];
        for e in yes {
            assert!(selector_matches(&sel(e.clone()), &labels), "{e}");
        }
        let no = json!({"key": "app", "operator": "In", "values": ["b"]});
        assert!(!selector_matches(&sel(no), &labels));
    }

    #[test]
    fn job_service_config() {
        let job = json!({"spec": {"template": {"spec": {"restartPolicy": "Always", "containers": [{"name": "c", "image": "i"}]}}}});
        assert_eq!(
            messages("batch", "Job", job),
            ["spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\""]
        );
        let svc = json!({"spec": {"ports": [{"port": 80}, {"name": "b", "port": 0}]}});
        assert_eq!(
            messages("", "Service", svc),
            [
                "spec.ports[0].name: Required value",
                "spec.ports[1].port: Invalid value: 0: must be between 1 and 65535, inclusive"
            ]
        );
        assert!(messages("", "Service", json!({"spec": {"clusterIP": "None"}})).is_empty());
        let cm = json!({"data": {"ok.key": "", "bad key": ""}});
        assert_eq!(messages("", "ConfigMap", cm).len(), 1);
    }
}
