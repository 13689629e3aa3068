//! Built-in kinds decoded as the API server's typed decoding does: unknown fields found
//! (and dropped), wrong JSON types refused in the words of Go's JSON decoder.

use base64::Engine;
use serde_json::Value;

use flotilla_schema::TypeRef;

use super::additions::is_added;

const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";
/// The message resource.Quantity's decoder gives for a malformed quantity.
const QUANTITY_ERROR: &str =
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

/// What decoding one object found.
#[derive(Debug, Default)]
pub(crate) struct Decoded {
    /// Paths of unknown fields (`spec.template.spec.containers[0].foo`), already removed.
    pub unknown: Vec<String>,
    /// The first type error, as the decoder words it (`json: cannot unmarshal ...`).
    pub error: Option<String>,
}

/// Where the walk is: the full path for unknown-field reports, the Go decoder's path
/// (no indices or map keys) and the innermost struct's name for type errors.
struct Walk {
    path: String,
    go_path: String,
    out: Decoded,
}

/// Walks `obj` against a built-in kind's root type.
pub(crate) fn decode(root: TypeRef<'_>, obj: &mut Value) -> Decoded {
    let mut w = Walk {
        path: String::new(),
        go_path: String::new(),
        out: Decoded::default(),
    };
    let name = struct_name(root);
    walk(root, obj, name, &mut w);
    w.out
}

/// `io.k8s.api.apps.v1.DeploymentSpec` → `DeploymentSpec`.
fn struct_name(t: TypeRef<'_>) -> &str {
    t.definition_name()
        .and_then(|d| d.rsplit('.').next())
        .unwrap_or("")
}

/// The Go type of a schema type, as the decoder names it (`int32`, `[]v1.Container`).
fn go_type(t: TypeRef<'_>) -> String {
    if let Some(d) = t.definition_name() {
        let mut parts = d.rsplit('.');
        let name = parts.next().unwrap_or(d);
        let pkg = parts.next().unwrap_or("");
        return match d {
            QUANTITY => "resource.Quantity".into(),
            "io.k8s.apimachinery.pkg.util.intstr.IntOrString" => "intstr.IntOrString".into(),
            _ => format!("{pkg}.{name}"),
        };
    }
    if t.is_int_or_string() {
        return "intstr.IntOrString".into();
    }
    match (t.json_type(), t.format()) {
        (Some("integer"), Some("int32")) => "int32".into(),
        (Some("integer"), _) => "int64".into(),
        (Some("number"), _) => "float64".into(),
        (Some("boolean"), _) => "bool".into(),
        (Some("string"), Some("byte")) => "[]uint8".into(),
        (Some("string"), _) => "string".into(),
        (Some("array"), _) => format!("[]{}", t.items().map(go_type).unwrap_or_default()),
        _ => match t.values() {
            Some(v) => format!("map[string]{}", go_type(v)),
            None => "map[string]interface {}".into(),
        },
    }
}

fn json_kind(v: &Value) -> String {
    match v {
        Value::String(_) => "string".into(),
        Value::Number(n) if n.is_f64() => format!("number {n}"),
        Value::Number(_) => "number".into(),
        Value::Bool(_) => "bool".into(),
        Value::Array(_) => "array".into(),
        Value::Object(_) => "object".into(),
        Value::Null => "null".into(),
    }
}

fn type_error(t: TypeRef<'_>, v: &Value, owner: &str, w: &mut Walk) {
    if w.out.error.is_some() {
        return;
    }
    let field = if owner.is_empty() {
        format!("Go value of type {}", go_type(t))
    } else {
        format!(
            "Go struct field {owner}.{} of type {}",
            w.go_path,
            go_type(t)
        )
    };
    w.out.error = Some(format!(
        "json: cannot unmarshal {} into {field}",
        json_kind(v)
    ));
}

fn fail(message: String, w: &mut Walk) {
    if w.out.error.is_none() {
        w.out.error = Some(message);
    }
}

/// Whether a string is a Kubernetes quantity (`500m`, `1Gi`, `1e3`).
fn is_quantity(s: &str) -> bool {
    let s = s.strip_prefix(['+', '-']).unwrap_or(s);
    let digits = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(digits);
    if number.is_empty() || number == "." || number.matches('.').count() > 1 {
        return false;
    }
    matches!(
        suffix,
        "" | "m" | "k" | "M" | "G" | "T" | "P" | "E" | "Ki" | "Mi" | "Gi" | "Ti" | "Pi" | "Ei"
    ) || suffix
        .strip_prefix(['e', 'E'])
        .map(|e| e.strip_prefix(['+', '-']).unwrap_or(e))
        .is_some_and(|e| !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit()))
}

/// Go's base64 error: the offset of the first byte that cannot be part of valid input.
fn base64_error(s: &str) -> Option<String> {
    let engine = &base64::engine::general_purpose::STANDARD;
    if engine.decode(s).is_ok() {
        return None;
    }
    let at = s
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='))
        .unwrap_or(s.len() / 4 * 4);
    Some(format!("illegal base64 data at input byte {at}"))
}

fn walk(t: TypeRef<'_>, v: &mut Value, owner: &str, w: &mut Walk) {
    if v.is_null() {
        // Typed decoding turns null into the zero value.
        return;
    }
    if t.definition_name() == Some(QUANTITY) {
        match v {
            Value::String(s) if !is_quantity(s) => fail(QUANTITY_ERROR.into(), w),
            Value::String(_) | Value::Number(_) => {}
            _ => type_error(t, v, owner, w),
        }
        return;
    }
    if t.is_int_or_string() {
        if !(v.is_string() || v.is_i64() || v.is_u64()) {
            type_error(t, v, owner, w);
        }
        return;
    }
    let ok = match t.json_type() {
        Some("string") => v.is_string(),
        Some("integer") => v.is_i64() || v.is_u64(),
        Some("number") => v.is_number(),
        Some("boolean") => v.is_boolean(),
        Some("array") => v.is_array(),
        Some("object") => v.is_object(),
        _ => true,
    };
    if !ok {
        type_error(t, v, owner, w);
        return;
    }
    match v {
        Value::String(s) if t.format() == Some("byte") => {
            if let Some(e) = base64_error(s) {
                fail(e, w);
            }
        }
        Value::Array(items) => {
            let Some(item) = t.items() else { return };
            for (i, x) in items.iter_mut().enumerate() {
                let len = w.path.len();
                w.path.push_str(&format!("[{i}]"));
                walk(item, x, owner, w);
                w.path.truncate(len);
            }
        }
        Value::Object(map) => walk_object(t, map, owner, w),
        _ => {}
    }
}

fn walk_object(
    t: TypeRef<'_>,
    map: &mut serde_json::Map<String, Value>,
    owner: &str,
    w: &mut Walk,
) {
    let definition = t.definition_name();
    let values = t.values();
    // Free-form (RawExtension, FieldsV1, JSON): anything goes. The subresource-status
    // marker is the one empty struct.
    if t.field_names().next().is_none()
        && values.is_none()
        && !definition.is_some_and(|d| d.ends_with(".CustomResourceSubresourceStatus"))
    {
        return;
    }
    let inner = if definition.is_some() {
        struct_name(t)
    } else {
        owner
    };
    let mut unknown = Vec::new();
    for (key, child) in map.iter_mut() {
        let (len, go_len) = (w.path.len(), w.go_path.len());
        if !w.path.is_empty() {
            w.path.push('.');
        }
        w.path.push_str(key);
        if let Some(field) = t.field(key) {
            if !w.go_path.is_empty() {
                w.go_path.push('.');
            }
            w.go_path.push_str(key);
            walk(field, child, inner, w);
        } else if let Some(values) = values {
            walk(values, child, owner, w);
        } else if !definition.is_some_and(|d| is_added(d, key)) {
            w.out.unknown.push(w.path.clone());
            unknown.push(key.clone());
        }
        w.path.truncate(len);
        w.go_path.truncate(go_len);
    }
    for key in unknown {
        map.remove(&key);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use flotilla_schema::Schema;
    use serde_json::json;

    fn deployment() -> TypeRef<'static> {
        Schema::kubernetes()
            .for_kind("apps/v1", "Deployment")
            .unwrap()
    }

    #[test]
    fn unknown_fields_dropped_newer_fields_kept() {
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x", "labels": {"a.b/c": "d"}, "bogus": 1},
            "spec": {"foo": 1, "selector": {"matchLabels": {"app": "x"}},
                "template": {"metadata": {"labels": {"app": "x"}}, "spec": {"os": {"name": "linux"},
                    "containers": [{"name": "c", "image": "i", "restartPolicy": "Always", "bar": true,
                        "resources": {"limits": {"cpu": "500m", "memory": 1024}}}]}}}});
        let out = decode(deployment(), &mut d);
        assert_eq!(out.error, None);
        assert_eq!(
            out.unknown,
            [
                "metadata.bogus",
                "spec.foo",
                "spec.template.spec.containers[0].bar"
            ]
        );
        assert!(d["spec"].get("foo").is_none());
        assert_eq!(d["spec"]["template"]["spec"]["os"]["name"], "linux");
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["restartPolicy"],
            "Always"
        );
    }

    #[test]
    fn type_errors_in_go_words() {
        let cases = [
            (
                json!({"spec": {"replicas": "2"}}),
                "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32",
            ),
            (
                json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "env": [{"name": "a", "value": 1}]}]}}}}),
                "json: cannot unmarshal number into Go struct field EnvVar.spec.template.spec.containers.env.value of type string",
            ),
            (
                json!({"spec": {"template": {"spec": {"containers": {"name": "c"}}}}}),
                "json: cannot unmarshal object into Go struct field PodSpec.spec.template.spec.containers of type []v1.Container",
            ),
            (
                json!({"spec": "x"}),
                "json: cannot unmarshal string into Go struct field Deployment.spec of type v1.DeploymentSpec",
            ),
            (
                json!({"spec": {"replicas": 1.5}}),
                "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32",
            ),
            (
                json!({"spec": {"template": {"spec": {"containers": [{"resources": {"limits": {"memory": "1 GB"}}}]}}}}),
                QUANTITY_ERROR,
            ),
        ];
        for (mut obj, want) in cases {
            let out = decode(deployment(), &mut obj);
            assert_eq!(out.error.as_deref(), Some(want), "{obj}");
        }
        let secret = Schema::kubernetes().for_kind("v1", "Secret").unwrap();
        let out = decode(secret, &mut json!({"data": {"k": "ab$c"}}));
        assert_eq!(
            out.error.as_deref(),
            Some("illegal base64 data at input byte 2")
        );
    }

    #[test]
    fn quantities() {
        for ok in ["1", "500m", "1Gi", "1.5", "1e3", "+2", "0.1Ki"] {
            assert!(is_quantity(ok), "{ok}");
        }
        for bad in ["", "1 GB", "abc", "1GB", "1..2", "Mi"] {
            assert!(!is_quantity(bad), "{bad}");
        }
    }
}
