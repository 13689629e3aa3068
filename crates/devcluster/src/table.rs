//! meta.k8s.io/v1 Table output for `kubectl get`: the columns kube-apiserver prints for the
//! common kinds, and additionalPrinterColumns for custom resources.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::handlers::Req;
use crate::objects::parse_rfc3339;
use crate::resources::Resource;

/// Human age as kubectl prints it (`5s`, `3m20s`, `4h`, `2d5h`).
pub fn age(ts: &str) -> String {
    let Some(then) = parse_rfc3339(ts) else {
        return "<unknown>".into();
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(then);
    let s = now.saturating_sub(then);
    match s {
        0..120 => format!("{s}s"),
        120..600 => format!("{}m{}s", s / 60, s % 60),
        600..10800 => format!("{}m", s / 60),
        10800..172_800 => {
            let h = s / 3600;
            if s < 8 * 3600 && (s % 3600) / 60 > 0 {
                format!("{h}h{}m", (s % 3600) / 60)
            } else {
                format!("{h}h")
            }
        }
        _ if s < 8 * 86400 => {
            let d = s / 86400;
            let h = (s % 86400) / 3600;
            if h > 0 {
                format!("{d}d{h}h")
            } else {
                format!("{d}d")
            }
        }
        _ => format!("{}d", s / 86400),
    }
}

/// Evaluates the JSONPath subset printer columns use: `.a.b`, `[N]`, `[?(@.k=="v")]`.
pub fn json_path<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = obj;
    let mut rest = path.trim().trim_start_matches('{').trim_end_matches('}');
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let key = &r[..end];
            if !key.is_empty() {
                cur = cur.get(key)?;
            }
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = &r[..end];
            rest = &r[end + 1..];
            if let Some(filter) = inner.strip_prefix("?(@.").and_then(|f| f.strip_suffix(')')) {
                let (k, v) = filter.split_once("==")?;
                let v = v.trim().trim_matches(|c| c == '"' || c == '\'');
                cur = cur
                    .as_array()?
                    .iter()
                    .find(|e| e.get(k.trim()).and_then(Value::as_str) == Some(v))?;
            } else {
                cur = cur.get(inner.trim().parse::<usize>().ok()?)?;
            }
        } else {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            cur = cur.get(&rest[..end])?;
            rest = &rest[end..];
        }
    }
    Some(cur)
}

fn col(name: &str, ty: &str, priority: u8) -> Value {
    let format = if name == "Name" { "name" } else { "" };
    json!({"name": name, "type": ty, "format": format, "description": "", "priority": priority})
}

fn i(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn ports(svc: &Value) -> String {
    let list: Vec<String> = svc["spec"]["ports"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| {
                    let node = p["nodePort"]
                        .as_i64()
                        .map(|n| format!(":{n}"))
                        .unwrap_or_default();
                    format!(
                        "{}{node}/{}",
                        i(&p["port"]),
                        p["protocol"].as_str().unwrap_or("TCP")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if list.is_empty() {
        "<none>".into()
    } else {
        list.join(",")
    }
}

/// The NAME cell every table starts with.
fn name_cell(o: &Value) -> Value {
    o["metadata"]["name"].clone()
}

/// The AGE cell every table ends with.
fn age_cell(o: &Value) -> Value {
    json!(age(&s(&o["metadata"]["creationTimestamp"])))
}

/// A `done/wanted` cell such as READY `1/3`; `wanted` defaults to 1 as the API does.
fn ratio_cell(o: &Value, done: &str, wanted: &str) -> Value {
    json!(format!(
        "{}/{}",
        i(&o["status"][done]),
        o["spec"][wanted].as_i64().unwrap_or(1)
    ))
}

fn count(v: &Value) -> usize {
    v.as_object().map(|m| m.len()).unwrap_or(0)
}

/// Columns and per-object cells for a kind.
type Cells = fn(&Value) -> Vec<Value>;

fn columns(res: &Resource, version: &str) -> (Vec<Value>, Cells) {
    match (res.group.as_str(), res.kind.as_str()) {
        ("", "Namespace") => (
            vec![
                col("Name", "string", 0),
                col("Status", "string", 0),
                col("Age", "string", 0),
            ],
            |o| vec![name_cell(o), o["status"]["phase"].clone(), age_cell(o)],
        ),
        ("apps", "Deployment") => (
            vec![
                col("Name", "string", 0),
                col("Ready", "string", 0),
                col("Up-to-date", "integer", 0),
                col("Available", "integer", 0),
                col("Age", "string", 0),
            ],
            |o| {
                vec![
                    name_cell(o),
                    ratio_cell(o, "readyReplicas", "replicas"),
                    json!(i(&o["status"]["updatedReplicas"])),
                    json!(i(&o["status"]["availableReplicas"])),
                    age_cell(o),
                ]
            },
        ),
        ("apps", "StatefulSet") => (
            vec![
                col("Name", "string", 0),
                col("Ready", "string", 0),
                col("Age", "string", 0),
            ],
            |o| {
                vec![
                    name_cell(o),
                    ratio_cell(o, "readyReplicas", "replicas"),
                    age_cell(o),
                ]
            },
        ),
        ("apps", "ReplicaSet") => (
            vec![
                col("Name", "string", 0),
                col("Desired", "integer", 0),
                col("Current", "integer", 0),
                col("Ready", "integer", 0),
                col("Age", "string", 0),
            ],
            |o| {
                vec![
                    name_cell(o),
                    json!(o["spec"]["replicas"].as_i64().unwrap_or(1)),
                    json!(i(&o["status"]["replicas"])),
                    json!(i(&o["status"]["readyReplicas"])),
                    age_cell(o),
                ]
            },
        ),
        ("apps", "DaemonSet") => (
            vec![
                col("Name", "string", 0),
                col("Desired", "integer", 0),
                col("Current", "integer", 0),
                col("Ready", "integer", 0),
                col("Up-to-date", "integer", 0),
                col("Available", "integer", 0),
                col("Age", "string", 0),
            ],
            |o| {
                vec![
                    name_cell(o),
                    json!(i(&o["status"]["desiredNumberScheduled"])),
                    json!(i(&o["status"]["currentNumberScheduled"])),
                    json!(i(&o["status"]["numberReady"])),
                    json!(i(&o["status"]["updatedNumberScheduled"])),
                    json!(i(&o["status"]["numberAvailable"])),
                    age_cell(o),
                ]
            },
        ),
        ("", "Pod") => (
            vec![
                col("Name", "string", 0),
                col("Ready", "string", 0),
                col("Status", "string", 0),
                col("Restarts", "string", 0),
                col("Age", "string", 0),
            ],
            |o| {
                let total = o["spec"]["containers"]
                    .as_array()
                    .map(Vec::len)
                    .unwrap_or(0);
                let ready = o["status"]["containerStatuses"]
                    .as_array()
                    .map(|a| a.iter().filter(|c| c["ready"] == json!(true)).count())
                    .unwrap_or(0);
                vec![
                    name_cell(o),
                    json!(format!("{ready}/{total}")),
                    json!(o["status"]["phase"].as_str().unwrap_or("Pending")),
                    json!("0"),
                    age_cell(o),
                ]
            },
        ),
        ("", "Service") => (
            vec![
                col("Name", "string", 0),
                col("Type", "string", 0),
                col("Cluster-IP", "string", 0),
                col("External-IP", "string", 0),
                col("Port(s)", "string", 0),
                col("Age", "string", 0),
            ],
            |o| {
                let ext = o["status"]["loadBalancer"]["ingress"]
                    .as_array()
                    .and_then(|a| a.first())
                    .map(|x| s(&x["ip"]))
                    .unwrap_or_else(|| {
                        if o["spec"]["type"] == json!("LoadBalancer") {
                            "<pending>".into()
                        } else {
                            "<none>".into()
                        }
                    });
                vec![
                    name_cell(o),
                    o["spec"]["type"].clone(),
                    json!(o["spec"]["clusterIP"].as_str().unwrap_or("<none>")),
                    json!(ext),
                    json!(ports(o)),
                    age_cell(o),
                ]
            },
        ),
        ("", "ConfigMap") => (
            vec![
                col("Name", "string", 0),
                col("Data", "integer", 0),
                col("Age", "string", 0),
            ],
            |o| {
                vec![
                    name_cell(o),
                    json!(count(&o["data"]) + count(&o["binaryData"])),
                    age_cell(o),
                ]
            },
        ),
        ("", "Secret") => (
            vec![
                col("Name", "string", 0),
                col("Type", "string", 0),
                col("Data", "integer", 0),
                col("Age", "string", 0),
            ],
            |o| {
                vec![
                    name_cell(o),
                    json!(o["type"].as_str().unwrap_or("Opaque")),
                    json!(count(&o["data"])),
                    age_cell(o),
                ]
            },
        ),
        ("batch", "Job") => (
            vec![
                col("Name", "string", 0),
                col("Status", "string", 0),
                col("Completions", "string", 0),
                col("Age", "string", 0),
            ],
            |o| {
                let conds = o["status"]["conditions"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let status = if conds
                    .iter()
                    .any(|c| c["type"] == "Complete" && c["status"] == "True")
                {
                    "Complete"
                } else if conds
                    .iter()
                    .any(|c| c["type"] == "Failed" && c["status"] == "True")
                {
                    "Failed"
                } else {
                    "Running"
                };
                vec![
                    name_cell(o),
                    json!(status),
                    ratio_cell(o, "succeeded", "completions"),
                    age_cell(o),
                ]
            },
        ),
        ("", "PersistentVolumeClaim") => (
            vec![
                col("Name", "string", 0),
                col("Status", "string", 0),
                col("Volume", "string", 0),
                col("Capacity", "string", 0),
                col("Access Modes", "string", 0),
                col("StorageClass", "string", 0),
                col("Age", "string", 0),
            ],
            |o| {
                vec![
                    name_cell(o),
                    json!(o["status"]["phase"].as_str().unwrap_or("Pending")),
                    json!(s(&o["spec"]["volumeName"])),
                    json!(s(&o["status"]["capacity"]["storage"])),
                    json!(o["status"]["accessModes"]
                        .as_array()
                        .map(|a| a
                            .iter()
                            .map(s)
                            .map(|m| match m.as_str() {
                                "ReadWriteOnce" => "RWO".to_string(),
                                "ReadOnlyMany" => "ROX".into(),
                                "ReadWriteMany" => "RWX".into(),
                                x => x.into(),
                            })
                            .collect::<Vec<_>>()
                            .join(","))
                        .unwrap_or_default()),
                    json!(s(&o["spec"]["storageClassName"])),
                    age_cell(o),
                ]
            },
        ),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => (
            vec![col("Name", "string", 0), col("Created At", "date", 0)],
            |o| vec![name_cell(o), o["metadata"]["creationTimestamp"].clone()],
        ),
        _ if res.crd.is_some()
            && res
                .printer_columns
                .get(version)
                .is_some_and(|c| !c.is_empty()) =>
        {
            (vec![col("Name", "string", 0)], |o| vec![name_cell(o)])
        }
        _ => (
            vec![col("Name", "string", 0), col("Age", "string", 0)],
            |o| vec![name_cell(o), age_cell(o)],
        ),
    }
}

/// A Table of `items` (already in the requested version).
pub(crate) fn table(
    res: &Resource,
    version: &str,
    items: &[Value],
    rv: &str,
    cont: Option<&str>,
    req: &Req,
) -> Value {
    let (mut defs, cells) = columns(res, version);
    let printer: Vec<Value> = res
        .printer_columns
        .get(version)
        .cloned()
        .unwrap_or_default();
    for pc in &printer {
        let mut c = col(
            pc["name"].as_str().unwrap_or_default(),
            pc["type"].as_str().unwrap_or("string"),
            pc["priority"].as_u64().unwrap_or(0) as u8,
        );
        c["description"] = pc["description"].clone();
        if let Some(f) = pc["format"].as_str() {
            c["format"] = json!(f);
        }
        defs.push(c);
    }
    let include = req.q("includeObject").unwrap_or("PartialObjectMetadata");
    let rows: Vec<Value> = items
        .iter()
        .map(|o| {
            let mut row = cells(o);
            for pc in &printer {
                let v = json_path(o, pc["jsonPath"].as_str().unwrap_or_default()).cloned();
                row.push(v.unwrap_or(Value::Null));
            }
            let object = match include {
                "None" => Value::Null,
                "Object" => o.clone(),
                _ => json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}),
            };
            json!({"cells": row, "object": object})
        })
        .collect();
    let mut meta = json!({"resourceVersion": rv});
    if let Some(c) = cont {
        meta["continue"] = json!(c);
    }
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": meta,
        "columnDefinitions": defs,
        "rows": rows,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_column_paths() {
        let o = json!({"status": {"conditions": [{"type": "Other", "status": "False"}, {"type": "Ready", "status": "True"}]}, "spec": {"a": [1, 2]}});
        assert_eq!(
            json_path(&o, r#".status.conditions[?(@.type=="Ready")].status"#),
            Some(&json!("True"))
        );
        assert_eq!(json_path(&o, ".spec.a[1]"), Some(&json!(2)));
        assert_eq!(json_path(&o, ".spec.b"), None);
    }
}
