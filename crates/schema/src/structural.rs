//! Structural-schema rules a CRD's `openAPIV3Schema` must meet before the API server accepts
//! it (types everywhere, metadata restricted to name/generateName, no generics inside
//! `anyOf`/`allOf`/`oneOf`/`not`, embedded-resource invariants), worded as its causes.

use serde_json::{Map, Value};

use crate::check::{deeper_than, FieldError, FieldErrorKind, MAX_DEPTH};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Root,
    Item,
    Field,
}

/// Every structural-schema violation of `schema`, with paths under `base` (e.g.
/// `spec.versions[0].schema.openAPIV3Schema`) written as the API server writes them
/// (`properties[spec].type`), sorted like its error list. Empty when the schema is structural.
///
/// [`Schema::from_openapi_v3`](crate::Schema::from_openapi_v3) is lenient and does not
/// require this; call it where a CRD is admitted.
pub fn structural_errors(schema: &Value, base: &str) -> Vec<FieldError> {
    let mut errors = Vec::new();
    if deeper_than(schema, MAX_DEPTH) {
        let detail = format!("must not nest deeper than {MAX_DEPTH} levels");
        forbidden(&mut errors, base.to_string(), &detail);
        return errors;
    }
    invariants(schema, Level::Root, base, &mut errors);
    errors.sort_by_key(ToString::to_string);
    errors
}

fn child(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn key(path: &str, name: &str, key: &str) -> String {
    format!("{}[{key}]", child(path, name))
}

fn push(errors: &mut Vec<FieldError>, path: String, kind: FieldErrorKind, message: String) {
    errors.push(FieldError {
        path,
        kind,
        message,
    });
}

fn required(errors: &mut Vec<FieldError>, path: String, detail: &str) {
    push(
        errors,
        path,
        FieldErrorKind::Required,
        format!("Required value: {detail}"),
    );
}

fn forbidden(errors: &mut Vec<FieldError>, path: String, detail: &str) {
    push(
        errors,
        path,
        FieldErrorKind::Forbidden,
        format!("Forbidden: {detail}"),
    );
}

fn invalid(errors: &mut Vec<FieldError>, path: String, value: &str, detail: &str) {
    push(
        errors,
        path,
        FieldErrorKind::Invalid,
        format!("Invalid value: {value}: {detail}"),
    );
}

fn flag(s: &Map<String, Value>, name: &str) -> bool {
    s.get(name).and_then(Value::as_bool).unwrap_or(false)
}

fn type_of(s: &Map<String, Value>) -> &str {
    s.get("type").and_then(Value::as_str).unwrap_or("")
}

fn invariants(schema: &Value, level: Level, path: &str, errors: &mut Vec<FieldError>) {
    let Some(s) = schema.as_object() else { return };
    let ty = type_of(s);
    let int_or_string = flag(s, "x-kubernetes-int-or-string");
    let preserve = flag(s, "x-kubernetes-preserve-unknown-fields");
    let embedded = flag(s, "x-kubernetes-embedded-resource");
    let properties = s.get("properties").and_then(Value::as_object);

    if ty == "array" && !s.contains_key("items") {
        required(errors, child(path, "items"), "must be specified");
    }
    if let Some(items) = s.get("items") {
        invariants(items, Level::Item, &child(path, "items"), errors);
    }
    for (name, prop) in properties.into_iter().flatten() {
        invariants(prop, Level::Field, &key(path, "properties", name), errors);
    }
    if let Some(additional) = s.get("additionalProperties") {
        if level == Level::Root {
            forbidden(
                errors,
                child(path, "additionalProperties"),
                "must not be used at the root",
            );
        }
        if additional.is_object() {
            invariants(
                additional,
                Level::Field,
                &child(path, "additionalProperties"),
                errors,
            );
        }
    }
    if int_or_string && preserve {
        let at = child(path, "x-kubernetes-preserve-unknown-fields");
        invalid(
            errors,
            at,
            "true",
            "must be false if x-kubernetes-int-or-string is true",
        );
    }
    if int_or_string && embedded {
        let at = child(path, "x-kubernetes-embedded-resource");
        invalid(
            errors,
            at,
            "true",
            "must be false if x-kubernetes-int-or-string is true",
        );
    }
    value_validation(
        s,
        is_int_or_string_any_of(s),
        is_int_or_string_all_of(s),
        path,
        errors,
    );

    let detail = "must be object if x-kubernetes-embedded-resource is true";
    if embedded && ty != "object" {
        if ty.is_empty() {
            required(errors, child(path, "type"), detail);
        } else {
            invalid(errors, child(path, "type"), &format!("{ty:?}"), detail);
        }
    } else if ty.is_empty() && !int_or_string && !preserve {
        let detail = match level {
            Level::Root => "must not be empty at the root",
            Level::Item => "must not be empty for specified array items",
            Level::Field => "must not be empty for specified object fields",
        };
        required(errors, child(path, "type"), detail);
    }
    if embedded && s.contains_key("additionalProperties") {
        let detail = "must not be used if x-kubernetes-embedded-resource is set";
        forbidden(errors, child(path, "additionalProperties"), detail);
    }
    if level == Level::Root && !ty.is_empty() && ty != "object" {
        invalid(
            errors,
            child(path, "type"),
            &format!("{ty:?}"),
            "must be object at the root",
        );
    }
    if level == Level::Root || embedded {
        let props = properties.cloned().unwrap_or_default();
        for (name, want) in [
            ("kind", "string"),
            ("apiVersion", "string"),
            ("metadata", "object"),
        ] {
            let Some(prop) = props.get(name).and_then(Value::as_object) else {
                continue;
            };
            let got = type_of(prop);
            if got != want {
                let at = format!("{}.type", key(path, "properties", name));
                invalid(errors, at, &format!("{got:?}"), &format!("must be {want}"));
            }
        }
    }
    if level == Level::Root {
        if let Some(metadata) = properties.and_then(|p| p.get("metadata")) {
            if !metadata_only_names(metadata) {
                forbidden(
                    errors,
                    key(path, "properties", "metadata"),
                    "must not specify anything other than name and generateName, but metadata \
                     is implicitly specified",
                );
            }
        }
    }
    if embedded && !preserve && properties.is_none_or(Map::is_empty) {
        required(
            errors,
            child(path, "properties"),
            "must not be empty if x-kubernetes-embedded-resource is true without \
             x-kubernetes-preserve-unknown-fields",
        );
    }
}

/// Root `metadata` may only be `type: object` (and a default) restricting `name` and
/// `generateName`.
fn metadata_only_names(metadata: &Value) -> bool {
    let Some(m) = metadata.as_object() else {
        return false;
    };
    m.iter().all(|(k, v)| match k.as_str() {
        "type" | "default" => true,
        "properties" => v
            .as_object()
            .is_some_and(|p| p.keys().all(|n| n == "name" || n == "generateName")),
        _ => false,
    })
}

fn int_or_string_pair(any_of: Option<&Value>) -> bool {
    let Some(list) = any_of.and_then(Value::as_array) else {
        return false;
    };
    let only_type = |v: &Value, t: &str| {
        v.as_object()
            .is_some_and(|o| o.len() == 1 && o.get("type").and_then(Value::as_str) == Some(t))
    };
    list.len() == 2 && only_type(&list[0], "integer") && only_type(&list[1], "string")
}

fn is_int_or_string_any_of(s: &Map<String, Value>) -> bool {
    int_or_string_pair(s.get("anyOf"))
}

fn is_int_or_string_all_of(s: &Map<String, Value>) -> bool {
    s.get("allOf")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .is_some_and(|first| int_or_string_pair(first.get("anyOf")))
}

/// `anyOf`/`allOf`/`oneOf`/`not` and `pattern` of one schema node.
fn value_validation(
    s: &Map<String, Value>,
    skip_any_of: bool,
    skip_first_all_of_any_of: bool,
    path: &str,
    errors: &mut Vec<FieldError>,
) {
    let list = |name: &str| {
        s.get(name)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    if !skip_any_of {
        for (i, v) in list("anyOf").iter().enumerate() {
            nested(v, false, &format!("{}[{i}]", child(path, "anyOf")), errors);
        }
    }
    for (i, v) in list("allOf").iter().enumerate() {
        let skip = skip_first_all_of_any_of && i == 0;
        nested(v, skip, &format!("{}[{i}]", child(path, "allOf")), errors);
    }
    for (i, v) in list("oneOf").iter().enumerate() {
        nested(v, false, &format!("{}[{i}]", child(path, "oneOf")), errors);
    }
    if let Some(not) = s.get("not") {
        nested(not, false, &child(path, "not"), errors);
    }
    if let Some(pattern) = s.get("pattern").and_then(Value::as_str) {
        if let Err(e) = regex::Regex::new(pattern) {
            let detail = format!("must be a valid regular expression, but isn't: {e}");
            invalid(
                errors,
                child(path, "pattern"),
                &format!("{pattern:?}"),
                &detail,
            );
        }
    }
}

/// A schema under a logic junctor: value validations only, no structure or generics.
fn nested(v: &Value, skip_any_of: bool, path: &str, errors: &mut Vec<FieldError>) {
    let Some(s) = v.as_object() else { return };
    value_validation(s, skip_any_of, false, path, errors);
    if let Some(items) = s.get("items") {
        nested(items, false, &child(path, "items"), errors);
    }
    let properties = s.get("properties").and_then(Value::as_object);
    for (name, prop) in properties.into_iter().flatten() {
        nested(prop, false, &key(path, "properties", name), errors);
    }
    let forbidden_if = |errors: &mut Vec<FieldError>, name: &str, present: bool, detail: &str| {
        if present {
            forbidden(errors, child(path, name), detail);
        }
    };
    let non_empty = |name: &str| {
        s.get(name)
            .is_some_and(|v| !(v.is_null() || v.as_str() == Some("") || v == &Value::Array(vec![])))
    };
    let empty = "must be empty to be structural";
    let undefined = "must be undefined to be structural";
    let falsy = "must be false to be structural";
    forbidden_if(errors, "type", non_empty("type"), empty);
    forbidden_if(
        errors,
        "additionalProperties",
        s.contains_key("additionalProperties"),
        undefined,
    );
    forbidden_if(errors, "default", s.contains_key("default"), undefined);
    forbidden_if(errors, "title", non_empty("title"), empty);
    forbidden_if(errors, "description", non_empty("description"), empty);
    forbidden_if(errors, "nullable", flag(s, "nullable"), falsy);
    let preserve = flag(s, "x-kubernetes-preserve-unknown-fields");
    forbidden_if(
        errors,
        "x-kubernetes-preserve-unknown-fields",
        preserve,
        falsy,
    );
    let embedded = flag(s, "x-kubernetes-embedded-resource");
    forbidden_if(errors, "x-kubernetes-embedded-resource", embedded, falsy);
    let int_or_string = flag(s, "x-kubernetes-int-or-string");
    forbidden_if(errors, "x-kubernetes-int-or-string", int_or_string, falsy);
    let keys = non_empty("x-kubernetes-list-map-keys");
    forbidden_if(errors, "x-kubernetes-list-map-keys", keys, empty);
    let list_type = s.contains_key("x-kubernetes-list-type");
    forbidden_if(errors, "x-kubernetes-list-type", list_type, undefined);
    if properties.is_some_and(|p| p.contains_key("metadata")) {
        let at = key(path, "properties", "metadata");
        forbidden(errors, at, "must not be specified in a nested context");
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn messages(schema: Value) -> Vec<String> {
        structural_errors(&schema, "spec.versions[0].schema.openAPIV3Schema")
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn structural_schema_passes() {
        let schema = json!({
            "type": "object",
            "properties": {
                "apiVersion": {"type": "string"},
                "metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 63}}},
                "spec": {
                    "type": "object",
                    "properties": {
                        "port": {"x-kubernetes-int-or-string": true,
                            "anyOf": [{"type": "integer"}, {"type": "string"}]},
                        "values": {"x-kubernetes-preserve-unknown-fields": true},
                        "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                            "x-kubernetes-preserve-unknown-fields": true},
                        "either": {"type": "object", "properties": {"a": {"type": "string"}},
                            "oneOf": [{"required": ["a"]}]}
                    }
                }
            }
        });
        assert_eq!(messages(schema), Vec::<String>::new());
    }

    #[test]
    fn violations_worded_like_the_api_server() {
        let schema = json!({
            "type": "object",
            "properties": {
                "metadata": {"type": "object", "properties": {"labels": {"type": "object"}}},
                "spec": {
                    "properties": {
                        "list": {"type": "array"},
                        "items": {"type": "array", "items": {}},
                        "template": {"type": "object", "x-kubernetes-embedded-resource": true},
                        "choice": {"type": "string", "anyOf": [{"type": "string", "description": "x"}]},
                        "re": {"type": "string", "pattern": "("}
                    }
                }
            }
        });
        let base = "spec.versions[0].schema.openAPIV3Schema";
        let mut want = vec![
            format!("{base}.properties[metadata]: Forbidden: must not specify anything other than name and generateName, but metadata is implicitly specified"),
            format!("{base}.properties[spec].type: Required value: must not be empty for specified object fields"),
            format!("{base}.properties[spec].properties[list].items: Required value: must be specified"),
            format!("{base}.properties[spec].properties[items].items.type: Required value: must not be empty for specified array items"),
            format!("{base}.properties[spec].properties[template].properties: Required value: must not be empty if x-kubernetes-embedded-resource is true without x-kubernetes-preserve-unknown-fields"),
            format!("{base}.properties[spec].properties[choice].anyOf[0].type: Forbidden: must be empty to be structural"),
            format!("{base}.properties[spec].properties[choice].anyOf[0].description: Forbidden: must be empty to be structural"),
        ];
        want.sort();
        let got = messages(schema);
        let (re, rest): (Vec<String>, Vec<String>) =
            got.into_iter().partition(|m| m.contains("[re].pattern"));
        assert_eq!(rest, want);
        assert_eq!(re.len(), 1);
        assert!(
            re[0].contains("Invalid value: \"(\": must be a valid regular expression, but isn't:")
        );
    }

    #[test]
    fn root_rules() {
        let got = messages(
            json!({"type": "array", "items": {"type": "string"}, "additionalProperties": {"type": "string"}}),
        );
        let base = "spec.versions[0].schema.openAPIV3Schema";
        assert_eq!(
            got,
            [
                format!("{base}.additionalProperties: Forbidden: must not be used at the root"),
                format!("{base}.type: Invalid value: \"array\": must be object at the root"),
            ]
        );
        let got = messages(json!({"properties": {"kind": {"type": "integer"}}}));
        assert_eq!(
            got,
            [
                format!("{base}.properties[kind].type: Invalid value: \"integer\": must be string"),
                format!("{base}.type: Required value: must not be empty at the root"),
            ]
        );
    }
}
