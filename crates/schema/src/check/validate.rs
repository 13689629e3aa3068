//! Validation pass: types, required fields and value rules, worded like the API server.

use serde_json::{Map, Value};

use super::format::{base64_error, is_date_time};
use super::{push_index, push_key, CheckReport, FieldError, FieldErrorKind};
use crate::node::{JsonType, ListTag, Node, Rules};
use crate::schema::Schema;
use crate::typeref::TypeRef;

pub(super) fn validate(t: TypeRef<'_>, v: &Value, path: &mut String, report: &mut CheckReport) {
    let node = t.target();
    let builtin = t.schema().is_builtin();
    if v.is_null() {
        // Typed decoding turns null into the zero value; CRDs need `nullable: true`.
        if builtin || t.is_nullable() || (node.ty == JsonType::Any && !node.int_or_string) {
            return;
        }
        type_error(path, node, v, report);
        return;
    }
    if !type_matches(node, v) {
        type_error(path, node, v, report);
        return;
    }
    if let Some(rules) = node.rules.as_deref() {
        check_rules(rules, v, path, report);
    }
    if let (Value::String(s), Some(format)) = (v, node.format.as_deref()) {
        check_format(format, s, path, report);
    }
    match v {
        Value::Object(map) => validate_object(t, node, map, path, report),
        Value::Array(items) => {
            let Some(item_type) = t.items() else { return };
            for (i, item) in items.iter().enumerate() {
                let len = push_index(path, i);
                validate(item_type, item, path, report);
                path.truncate(len);
            }
            if !builtin {
                check_list_uniqueness(node, items, path, report);
            }
        }
        _ => {}
    }
}

fn validate_object(
    t: TypeRef<'_>,
    node: &Node,
    map: &Map<String, Value>,
    path: &mut String,
    report: &mut CheckReport,
) {
    for name in t.required() {
        if !map.contains_key(name) {
            let len = push_key(path, name);
            push(
                report,
                path,
                FieldErrorKind::Required,
                "Required value".to_string(),
            );
            path.truncate(len);
        }
    }
    if node.embedded_resource {
        check_type_meta(map, path, report);
    }
    for (key, child) in map {
        let len = push_key(path, key);
        if node.resource_root && key == "metadata" {
            validate(Schema::kubernetes().object_meta(), child, path, report);
            // Restrictions a CRD spells out for metadata (e.g. name length) apply as well.
            if let Some(declared) = node.property(key) {
                let declared = TypeRef::new(t.schema(), declared);
                if !declared.target().properties.is_empty() {
                    validate(declared, child, path, report);
                }
            }
        } else if node.resource_root
            && matches!(key.as_str(), "apiVersion" | "kind")
            && node.property(key).is_none()
        {
            // Implied, not declared: checked as type metadata above (embedded resources)
            // or by request decoding (the root).
        } else if let Some(field) = t.field(key) {
            validate(field, child, path, report);
        } else if let Some(values) = t.values() {
            validate(values, child, path, report);
        }
        path.truncate(len);
    }
}

/// `apiVersion` and `kind` of an embedded resource, as the API server checks them.
fn check_type_meta(map: &Map<String, Value>, path: &mut String, report: &mut CheckReport) {
    for name in ["apiVersion", "kind"] {
        let len = push_key(path, name);
        let problem = match map.get(name) {
            None => {
                let message = "Required value".to_string();
                push(report, path, FieldErrorKind::Required, message);
                None
            }
            Some(Value::String(s)) if s.is_empty() => {
                Some((go_value(&Value::from("")), "must not be empty".to_string()))
            }
            Some(Value::String(s)) if name == "apiVersion" => {
                (s.matches('/').count() > 1).then(|| {
                    (
                        format!("{s:?}"),
                        format!("unexpected GroupVersion string: {s}"),
                    )
                })
            }
            Some(Value::String(s)) => dns1035_label_errors(&s.to_lowercase()).map(|e| {
                (
                    format!("{s:?}"),
                    format!("may have mixed case, but should otherwise match: {e}"),
                )
            }),
            Some(other) => Some((go_value(other), "must be a string".to_string())),
        };
        if let Some((value, detail)) = problem {
            let message = format!("Invalid value: {value}: {detail}");
            push(report, path, FieldErrorKind::Invalid, message);
        }
        path.truncate(len);
    }
}

/// Kubernetes' `IsDNS1035Label` messages, joined with `,` as the API server joins them.
fn dns1035_label_errors(s: &str) -> Option<String> {
    let mut errors = Vec::new();
    if s.len() > 63 {
        errors.push("must be no more than 63 characters".to_string());
    }
    let b = s.as_bytes();
    let valid = !b.is_empty()
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[b.len() - 1] != b'-';
    if !valid {
        errors.push(
            "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start \
             with an alphabetic character, and end with an alphanumeric character (e.g. \
             'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"
                .to_string(),
        );
    }
    (!errors.is_empty()).then(|| errors.join(","))
}

fn type_matches(node: &Node, v: &Value) -> bool {
    if node.int_or_string {
        return v.is_string() || is_integer(v);
    }
    if node.number_or_string {
        return v.is_string() || v.is_number();
    }
    match node.ty {
        JsonType::Any => true,
        JsonType::Object => v.is_object(),
        JsonType::Array => v.is_array(),
        JsonType::String => v.is_string(),
        JsonType::Integer => is_integer(v),
        JsonType::Number => v.is_number(),
        JsonType::Boolean => v.is_boolean(),
    }
}

/// Integral numbers count as integers even when written `2.0`, as in Kubernetes.
fn is_integer(v: &Value) -> bool {
    match v {
        Value::Number(n) => {
            n.is_i64() || n.is_u64() || n.as_f64().is_some_and(|f| f.fract() == 0.0)
        }
        _ => false,
    }
}

/// The JSON type name the API server reports for a value.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn expected_type(node: &Node) -> &'static str {
    // Several allowed types are listed comma-separated, as kube-openapi joins them.
    if node.int_or_string {
        "integer,string"
    } else if node.number_or_string {
        "number,string"
    } else {
        node.ty.as_str()
    }
}

fn type_error(path: &str, node: &Node, v: &Value, report: &mut CheckReport) {
    let actual = type_name(v);
    let message = format!(
        "Invalid value: {actual:?}: {path} in body must be of type {}: {actual:?}",
        expected_type(node)
    );
    push(report, path, FieldErrorKind::Invalid, message);
}

fn push(report: &mut CheckReport, path: &str, kind: FieldErrorKind, message: String) {
    report.errors.push(FieldError {
        path: path.to_string(),
        kind,
        message,
    });
}

/// A value as the API server prints it in a cause: strings quoted, others as JSON.
fn show(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

/// A bound as Go prints a float64: no trailing `.0` for whole numbers.
fn num(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

fn invalid(report: &mut CheckReport, path: &str, v: &Value, detail: &str) {
    let message = format!("Invalid value: {}: {path} in body {detail}", show(v));
    push(report, path, FieldErrorKind::Invalid, message);
}

fn check_rules(rules: &Rules, v: &Value, path: &str, report: &mut CheckReport) {
    if !rules.enumeration.is_empty() && !rules.enumeration.iter().any(|e| json_eq(e, v)) {
        // Each supported value is quoted; non-strings as quoted JSON.
        let supported: Vec<String> = rules
            .enumeration
            .iter()
            .map(|e| match e {
                Value::String(s) => format!("{s:?}"),
                other => format!("{:?}", other.to_string()),
            })
            .collect();
        let message = format!(
            "Unsupported value: {}: supported values: {}",
            show(v),
            supported.join(", ")
        );
        push(report, path, FieldErrorKind::NotSupported, message);
    }
    match v {
        Value::String(s) => {
            let chars = s.chars().count() as u64;
            if let Some(max) = rules.max_length.filter(|m| chars > *m) {
                let message = format!("Too long: may not be longer than {max}");
                push(report, path, FieldErrorKind::TooLong, message);
            }
            if let Some(min) = rules.min_length.filter(|m| chars < *m) {
                invalid(
                    report,
                    path,
                    v,
                    &format!("should be at least {min} chars long"),
                );
            }
            if let Some((pattern, re)) = &rules.pattern {
                if !re.is_match(s) {
                    invalid(report, path, v, &format!("should match '{pattern}'"));
                }
            }
        }
        Value::Number(n) => {
            let Some(x) = n.as_f64() else { return };
            if let Some(max) = rules.maximum {
                if rules.exclusive_maximum && x >= max {
                    invalid(
                        report,
                        path,
                        v,
                        &format!("should be less than {}", num(max)),
                    );
                } else if x > max {
                    let detail = format!("should be less than or equal to {}", num(max));
                    invalid(report, path, v, &detail);
                }
            }
            if let Some(min) = rules.minimum {
                if rules.exclusive_minimum && x <= min {
                    invalid(
                        report,
                        path,
                        v,
                        &format!("should be greater than {}", num(min)),
                    );
                } else if x < min {
                    let detail = format!("should be greater than or equal to {}", num(min));
                    invalid(report, path, v, &detail);
                }
            }
            if let Some(m) = rules.multiple_of.filter(|m| *m > 0.0) {
                let q = x / m;
                if (q - q.round()).abs() > 1e-9 {
                    invalid(
                        report,
                        path,
                        v,
                        &format!("should be a multiple of {}", num(m)),
                    );
                }
            }
        }
        Value::Array(items) => {
            let n = items.len() as u64;
            if let Some(max) = rules.max_items.filter(|m| n > *m) {
                let message = format!("Too many: {n}: must have at most {max} items");
                push(report, path, FieldErrorKind::TooMany, message);
            }
            if let Some(min) = rules.min_items.filter(|m| n < *m) {
                let message =
                    format!("Invalid value: {n}: {path} in body should have at least {min} items");
                push(report, path, FieldErrorKind::Invalid, message);
            }
            // CRDs may not set uniqueItems (quadratic); kept for completeness.
            let duplicated = |i: usize| items[..i].iter().any(|e| json_eq(e, &items[i]));
            if rules.unique_items && (0..items.len()).any(duplicated) {
                let detail = "shouldn't contain duplicates";
                invalid(report, path, &Value::String(String::new()), detail);
            }
        }
        Value::Object(map) => {
            let n = map.len() as u64;
            if let Some(max) = rules.max_properties.filter(|m| n > *m) {
                let message = format!("Too many: {n}: must have at most {max} items");
                push(report, path, FieldErrorKind::TooMany, message);
            }
            if let Some(min) = rules.min_properties.filter(|m| n < *m) {
                let message = format!(
                    "Invalid value: {n}: {path} in body should have at least {min} properties"
                );
                push(report, path, FieldErrorKind::Invalid, message);
            }
        }
        _ => {}
    }
}

fn check_format(format: &str, s: &str, path: &str, report: &mut CheckReport) {
    let ok = match format {
        "date-time" => is_date_time(s),
        "byte" => base64_error(s).is_none(),
        // Other formats (int32, int64, uri, ...) are not checked for strings here.
        _ => true,
    };
    if !ok {
        let v = Value::String(s.to_string());
        invalid(
            report,
            path,
            &v,
            &format!("must be of type {format}: {}", show(&v)),
        );
    }
}

/// A value as Go's `%#v` prints what JSON decoding produced (duplicate-value causes).
fn go_value(v: &Value) -> String {
    match v {
        Value::Null => "interface {}(nil)".to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let inner: Vec<String> = entries
                .iter()
                .map(|(k, v)| format!("{k:?}:{}", go_value(v)))
                .collect();
            format!("map[string]interface {{}}{{{}}}", inner.join(", "))
        }
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(go_value).collect();
            format!("[]interface {{}}{{{}}}", inner.join(", "))
        }
        other => other.to_string(),
    }
}

/// JSON equality where `1` and `1.0` are the same number.
fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x == y || x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// `x-kubernetes-list-type: set` elements and `map` keys must be unique.
fn check_list_uniqueness(node: &Node, items: &[Value], path: &str, report: &mut CheckReport) {
    let key_of = |item: &Value| -> Value {
        let mut key = Map::new();
        for k in &node.list_map_keys {
            if let Some(v) = item.get(k) {
                key.insert(k.clone(), v.clone());
            }
        }
        Value::Object(key)
    };
    match node.list_type {
        Some(ListTag::Set) => {
            for (i, item) in items.iter().enumerate() {
                if items[..i].iter().any(|e| json_eq(e, item)) {
                    let mut p = path.to_string();
                    push_index(&mut p, i);
                    let message = format!("Duplicate value: {}", go_value(item));
                    push(report, &p, FieldErrorKind::Duplicate, message);
                }
            }
        }
        Some(ListTag::Map) if !node.list_map_keys.is_empty() => {
            let keys: Vec<Value> = items.iter().map(key_of).collect();
            for (i, key) in keys.iter().enumerate() {
                if keys[..i].iter().any(|e| json_eq(e, key)) {
                    let mut p = path.to_string();
                    push_index(&mut p, i);
                    let message = format!("Duplicate value: {}", go_value(key));
                    push(report, &p, FieldErrorKind::Duplicate, message);
                }
            }
        }
        _ => {}
    }
}
