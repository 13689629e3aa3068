//! Defaulting pass: CRD `default:` values for absent fields and non-nullable `null`s.

use serde_json::Value;

use crate::typeref::TypeRef;

/// A `null` the schema does not allow: defaulted when there is a default, dropped otherwise
/// (as the API server prunes non-nullable nulls before defaulting).
fn non_nullable_null(v: &Value, t: TypeRef<'_>) -> bool {
    // Built-in types decode `null` as the zero value; only CRD schemas drop it.
    v.is_null() && !t.is_nullable() && !t.schema().is_builtin()
}

pub(super) fn default(t: TypeRef<'_>, v: &mut Value) {
    if t.schema().is_builtin() {
        return;
    }
    let node = t.target();
    match v {
        Value::Object(map) => {
            for (name, _) in &node.properties {
                let Some(field) = t.field(name) else { continue };
                let Some(default) = field.default_value() else {
                    continue;
                };
                match map.get_mut(name.as_ref()) {
                    None => {
                        map.insert(name.to_string(), default.clone());
                    }
                    Some(existing) if non_nullable_null(existing, field) => {
                        *existing = default.clone();
                    }
                    Some(_) => {}
                }
            }
            let mut drop: Vec<String> = Vec::new();
            for (key, child) in map.iter_mut() {
                let Some(child_type) = t.field(key).or_else(|| t.values()) else {
                    continue;
                };
                if non_nullable_null(child, child_type) {
                    match child_type.default_value() {
                        Some(d) => *child = d.clone(),
                        None => {
                            drop.push(key.clone());
                            continue;
                        }
                    }
                }
                default(child_type, child);
            }
            for key in drop {
                map.remove(&key);
            }
        }
        Value::Array(items) => {
            let Some(item_type) = t.items() else { return };
            for item in items.iter_mut() {
                if non_nullable_null(item, item_type) {
                    if let Some(d) = item_type.default_value() {
                        *item = d.clone();
                    }
                }
                default(item_type, item);
            }
        }
        _ => {}
    }
}
