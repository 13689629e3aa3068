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

/// The AGE cell of the built-in tables.
fn age_cell(o: &Value) -> Value {
    json!(age(&s(&o["metadata"]["creationTimestamp"])))
}

/// An integer cell at a JSON pointer; absent counts as 0, as kubectl shows it.
fn int(o: &Value, pointer: &str) -> Value {
    json!(o.pointer(pointer).and_then(Value::as_i64).unwrap_or(0))
}

/// A string cell at a JSON pointer, or `default` when absent.
fn text(o: &Value, pointer: &str, default: &str) -> Value {
    json!(o
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or(default))
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

/// The cells between NAME and AGE for one object.
type Cells = fn(&Value) -> Vec<Value>;

/// A kind's table: NAME, the kind's own columns, then AGE unless `age` is off.
struct Columns {
    own: &'static [(&'static str, &'static str)],
    cells: Cells,
    age: bool,
}

impl Columns {
    fn definitions(&self) -> Vec<Value> {
        let mut defs = vec![col("Name", "string", 0)];
        defs.extend(self.own.iter().map(|(name, ty)| col(name, ty, 0)));
        if self.age {
            defs.push(col("Age", "string", 0));
        }
        defs
    }

    fn row(&self, o: &Value) -> Vec<Value> {
        let mut row = vec![o["metadata"]["name"].clone()];
        row.extend((self.cells)(o));
        if self.age {
            row.push(age_cell(o));
        }
        row
    }
}

/// The columns kube-apiserver prints for a kind.
fn columns(res: &Resource, version: &str) -> Columns {
    let (own, cells, age): (&'static [(&'static str, &'static str)], Cells, bool) =
        match (res.group.as_str(), res.kind.as_str()) {
            ("", "Namespace") => (
                &[("Status", "string")],
                |o| vec![o["status"]["phase"].clone()],
                true,
            ),
            ("apps", "Deployment") => (
                &[
                    ("Ready", "string"),
                    ("Up-to-date", "integer"),
                    ("Available", "integer"),
                ],
                |o| {
                    vec![
                        ratio_cell(o, "readyReplicas", "replicas"),
                        int(o, "/status/updatedReplicas"),
                        int(o, "/status/availableReplicas"),
                    ]
                },
                true,
            ),
            ("apps", "StatefulSet") => (
                &[("Ready", "string")],
                |o| vec![ratio_cell(o, "readyReplicas", "replicas")],
                true,
            ),
            ("apps", "ReplicaSet") => (
                &[
                    ("Desired", "integer"),
                    ("Current", "integer"),
                    ("Ready", "integer"),
                ],
                |o| {
                    vec![
                        json!(o["spec"]["replicas"].as_i64().unwrap_or(1)),
                        int(o, "/status/replicas"),
                        int(o, "/status/readyReplicas"),
                    ]
                },
                true,
            ),
            ("apps", "DaemonSet") => (
                &[
                    ("Desired", "integer"),
                    ("Current", "integer"),
                    ("Ready", "integer"),
                    ("Up-to-date", "integer"),
                    ("Available", "integer"),
                ],
                |o| {
                    [
                        "desiredNumberScheduled",
                        "currentNumberScheduled",
                        "numberReady",
                        "updatedNumberScheduled",
                        "numberAvailable",
                    ]
                    .iter()
                    .map(|f| json!(i(&o["status"][*f])))
                    .collect()
                },
                true,
            ),
            ("", "Pod") => (
                &[
                    ("Ready", "string"),
                    ("Status", "string"),
                    ("Restarts", "string"),
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
                        json!(format!("{ready}/{total}")),
                        text(o, "/status/phase", "Pending"),
                        json!("0"),
                    ]
                },
                true,
            ),
            ("", "Service") => (
                &[
                    ("Type", "string"),
                    ("Cluster-IP", "string"),
                    ("External-IP", "string"),
                    ("Port(s)", "string"),
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
                        o["spec"]["type"].clone(),
                        text(o, "/spec/clusterIP", "<none>"),
                        json!(ext),
                        json!(ports(o)),
                    ]
                },
                true,
            ),
            ("", "ConfigMap") => (
                &[("Data", "integer")],
                |o| vec![json!(count(&o["data"]) + count(&o["binaryData"]))],
                true,
            ),
            ("", "Secret") => (
                &[("Type", "string"), ("Data", "integer")],
                |o| vec![text(o, "/type", "Opaque"), json!(count(&o["data"]))],
                true,
            ),
            ("batch", "Job") => (
                &[("Status", "string"), ("Completions", "string")],
                |o| {
                    let holds = |t: &str| {
                        o["status"]["conditions"].as_array().is_some_and(|cs| {
                            cs.iter().any(|c| c["type"] == t && c["status"] == "True")
                        })
                    };
                    let status = if holds("Complete") {
                        "Complete"
                    } else if holds("Failed") {
                        "Failed"
                    } else {
                        "Running"
                    };
                    vec![json!(status), ratio_cell(o, "succeeded", "completions")]
                },
                true,
            ),
            ("", "PersistentVolumeClaim") => (
                &[
                    ("Status", "string"),
                    ("Volume", "string"),
                    ("Capacity", "string"),
                    ("Access Modes", "string"),
                    ("StorageClass", "string"),
                ],
                |o| {
                    let modes = o["status"]["accessModes"]
                        .as_array()
                        .map(|a| {
                            a.iter()
                                .map(|m| match s(m).as_str() {
                                    "ReadWriteOnce" => "RWO".to_string(),
                                    "ReadOnlyMany" => "ROX".into(),
                                    "ReadWriteMany" => "RWX".into(),
                                    x => x.into(),
                                })
                                .collect::<Vec<_>>()
                                .join(",")
                        })
                        .unwrap_or_default();
                    vec![
                        text(o, "/status/phase", "Pending"),
                        json!(s(&o["spec"]["volumeName"])),
                        json!(s(&o["status"]["capacity"]["storage"])),
                        json!(modes),
                        json!(s(&o["spec"]["storageClassName"])),
                    ]
                },
                true,
            ),
            ("apiextensions.k8s.io", "CustomResourceDefinition") => (
                &[("Created At", "date")],
                |o| vec![o["metadata"]["creationTimestamp"].clone()],
                false,
            ),
            // A custom resource with printer columns shows NAME and those columns only.
            _ if res.crd.is_some()
                && res
                    .printer_columns
                    .get(version)
                    .is_some_and(|c| !c.is_empty()) =>
            {
                (&[], |_| Vec::new(), false)
            }
            _ => (&[], |_| Vec::new(), true),
        };
    Columns { own, cells, age }
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
    let columns = columns(res, version);
    let mut defs = columns.definitions();
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
            let mut row = columns.row(o);
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
