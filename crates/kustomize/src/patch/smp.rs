//! kustomize's strategic merge (kyaml `merge2`), over JSON values.
//!
//! This is deliberately not flotilla-merge's strategic merge: that one follows the API server,
//! and kustomize's kyaml walker differs in ways that change bytes of the output:
//! - items a patch adds to a merged list come *before* the existing ones (ListPrepend), and the
//!   patch's items keep the patch's order;
//! - lists are merged by key only when the schema says `patchStrategy: merge`; for unknown
//!   kinds and fields (CRDs) every list is replaced, never inferred; the schema is the
//!   built-in one or, with `openapi: path:`, the custom one alone;
//! - `null` in the patch removes the field; a `null` in the target the patch does not mention stays;
//! - `$patch: replace|delete|merge` are the only directives (no `$setElementOrder`, no
//!   `$deleteFromPrimitiveList`), and a `$patch` element is elided from lists;
//! - a map in the patch where the target has a scalar (or the reverse) is an error.

use flotilla_schema::{ListType, Schema, TypeRef};
use serde_json::Value;

/// Why a strategic merge failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmpError {
    /// The patch and the target disagree on the shape of a field.
    #[error("wrong node kind at {path}: expected {expected} but got {found}")]
    WrongKind {
        /// Dotted field path.
        path: String,
        /// The shape of the first non-null side.
        expected: &'static str,
        /// The other shape.
        found: &'static str,
    },
    /// A `$patch` directive with an unknown value.
    #[error("unknown patch strategy '{0}'")]
    UnknownDirective(String),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Directive {
    Merge,
    Replace,
    Delete,
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "MappingNode",
        Value::Array(_) => "SequenceNode",
        _ => "ScalarNode",
    }
}

fn same_kind(a: &Value, b: &Value) -> bool {
    kind_name(a) == kind_name(b)
}

/// Applies `patch` to `target` (kustomize's `patchstrategicmerge.Filter`) with the merge keys
/// of `types` (the built-in Kubernetes schema, or the custom one of `openapi: path:`). `None`
/// means the patch deleted the whole object.
pub fn merge_object(
    target: Value,
    patch: &Value,
    types: &Schema,
) -> Result<Option<Value>, SmpError> {
    let schema = root_schema(types, &target).or_else(|| root_schema(types, patch));
    let mut path = Vec::new();
    walk(types, Some(target), Some(patch.clone()), schema, &mut path)
}

fn root_schema<'s>(types: &'s Schema, v: &Value) -> Option<TypeRef<'s>> {
    let kind = v.get("kind")?.as_str()?;
    let av = v.get("apiVersion")?.as_str()?;
    if kind.is_empty() || av.is_empty() {
        return None;
    }
    types.for_kind(av, kind)
}

fn field_schema<'s>(s: Option<TypeRef<'s>>, name: &str) -> Option<TypeRef<'s>> {
    let s = s?;
    s.field(name).or_else(|| s.values())
}

fn missing_or_null(v: &Option<Value>) -> bool {
    matches!(v, None | Some(Value::Null))
}

/// The walk of kyaml: `dest` is the target side, `origin` the patch side.
fn walk<'s>(
    types: &'s Schema,
    dest: Option<Value>,
    origin: Option<Value>,
    schema: Option<TypeRef<'s>>,
    path: &mut Vec<String>,
) -> Result<Option<Value>, SmpError> {
    // A field without a schema may still be an embedded object with its own kind.
    let schema = schema.or_else(|| {
        dest.as_ref()
            .filter(|d| !d.is_null())
            .and_then(|d| root_schema(types, d))
            .or_else(|| {
                origin
                    .as_ref()
                    .filter(|o| !o.is_null())
                    .and_then(|o| root_schema(types, o))
            })
    });
    let first = [&dest, &origin]
        .into_iter()
        .find_map(|s| s.as_ref().filter(|v| !v.is_null()));
    let Some(first) = first else {
        return walk_map(types, dest, origin, schema, path);
    };
    for other in [&dest, &origin].into_iter().flatten() {
        if !other.is_null() && !same_kind(first, other) {
            return Err(SmpError::WrongKind {
                path: path.join("."),
                expected: kind_name(first),
                found: kind_name(other),
            });
        }
    }
    match first {
        Value::Object(_) => walk_map(types, dest, origin, schema, path),
        Value::Array(_) => {
            let associative = schema.is_some_and(|s| s.patch_strategy().merge);
            if associative {
                walk_assoc(types, dest, origin, schema, path)
            } else {
                // Non-associative lists: the patch's list wins as a whole.
                Ok(if origin.is_some() { origin } else { dest })
            }
        }
        _ => Ok(if origin.is_some() { origin } else { dest }),
    }
}

fn map_directive(origin: &mut Value) -> Result<Directive, SmpError> {
    let Some(m) = origin.as_object_mut() else {
        return Ok(Directive::Merge);
    };
    let Some(v) = m.remove("$patch") else {
        return Ok(Directive::Merge);
    };
    match v.as_str().unwrap_or("") {
        "delete" => Ok(Directive::Delete),
        "replace" => Ok(Directive::Replace),
        "merge" => Ok(Directive::Merge),
        other => Err(SmpError::UnknownDirective(other.to_string())),
    }
}

fn seq_directive(origin: &mut Value) -> Result<Directive, SmpError> {
    let Some(items) = origin.as_array_mut() else {
        return Ok(Directive::Merge);
    };
    let pos = items.iter().position(|i| {
        i.as_object()
            .is_some_and(|m| m.contains_key("$patch") && m.len() == 1)
    });
    let Some(pos) = pos else {
        return Ok(Directive::Merge);
    };
    let v = items[pos]
        .get("$patch")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let d = match v.as_str() {
        "delete" => Directive::Delete,
        "replace" => Directive::Replace,
        "merge" => Directive::Merge,
        other => return Err(SmpError::UnknownDirective(other.to_string())),
    };
    items.retain(|i| {
        !i.as_object()
            .is_some_and(|m| m.len() == 1 && m.get("$patch").and_then(Value::as_str) == Some(&v))
    });
    Ok(d)
}

fn walk_map<'s>(
    types: &'s Schema,
    dest: Option<Value>,
    origin: Option<Value>,
    schema: Option<TypeRef<'s>>,
    path: &mut Vec<String>,
) -> Result<Option<Value>, SmpError> {
    let mut origin = origin;
    // VisitMap: decide the node the fields are merged into.
    let mut dest = if missing_or_null(&dest) {
        if origin.is_none() {
            // Nothing to merge: a null the patch does not mention stays as it is.
            return Ok(dest);
        }
        let d = match origin.as_mut() {
            Some(o) => map_directive(o).unwrap_or(Directive::Merge),
            None => Directive::Merge,
        };
        if d == Directive::Delete {
            return Ok(None);
        }
        match origin.clone() {
            None => return Ok(None),
            Some(o) => o,
        }
    } else if matches!(origin, Some(Value::Null)) {
        return Ok(None);
    } else {
        let d = match origin.as_mut() {
            Some(o) => map_directive(o)?,
            None => Directive::Merge,
        };
        match d {
            Directive::Delete => return Ok(None),
            Directive::Replace => origin.clone().unwrap_or(Value::Null),
            Directive::Merge => dest.unwrap_or(Value::Null),
        }
    };
    let origin_map = match &origin {
        Some(Value::Object(m)) => Some(m),
        _ => None,
    };
    let Some(dest_map) = dest.as_object_mut() else {
        return Ok(Some(dest));
    };
    let mut keys: Vec<String> = dest_map.keys().cloned().collect();
    if let Some(o) = origin_map {
        keys.extend(o.keys().cloned());
    }
    keys.sort();
    keys.dedup();
    for key in keys {
        let d = dest_map.remove(&key);
        let o = origin_map.and_then(|m| m.get(&key)).cloned();
        path.push(key.clone());
        let res = walk(types, d, o.clone(), field_schema(schema, &key), path)?;
        path.pop();
        match res {
            Some(Value::Null) if o.is_none() => {
                dest_map.insert(key, Value::Null);
            }
            Some(v) if !v.is_null() => {
                dest_map.insert(key, v);
            }
            _ => {}
        }
    }
    Ok(Some(dest))
}

fn scalar_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// The values of `keys` in one element; a missing key gives "" (kyaml's `ElementValuesList`).
fn element_values(elem: &Value, keys: &[String]) -> Vec<String> {
    keys.iter()
        .map(|k| match elem.get(k) {
            None | Some(Value::Null) => String::new(),
            Some(v) => scalar_string(v),
        })
        .collect()
}

/// Index of the first element matching keys/values ("" matches any value of a present key;
/// an empty first key matches scalar elements by value).
fn find_element(items: &[Value], keys: &[String], values: &[String]) -> Option<usize> {
    if keys.is_empty() || keys[0].is_empty() {
        let want = values.first().map(String::as_str).unwrap_or("");
        return items
            .iter()
            .position(|i| !i.is_object() && !i.is_array() && scalar_string(i) == want);
    }
    items.iter().position(|elem| {
        keys.iter().zip(values).all(|(k, v)| match elem.get(k) {
            None => false,
            Some(f) => v.is_empty() || scalar_string(f) == *v,
        })
    })
}

/// kyaml's `ElementSetter`: replace the matching element, remove it (`None`), or append.
fn set_element(items: &mut Vec<Value>, keys: &[String], values: &[String], elem: Option<Value>) {
    match (find_element(items, keys, values), elem) {
        (Some(i), Some(e)) => items[i] = e,
        (Some(i), None) => {
            items.remove(i);
        }
        (None, Some(e)) => items.push(e),
        (None, None) => {}
    }
}

fn validate_keys(
    values_list: &[Vec<String>],
    values: &[String],
    keys: &[String],
) -> (Vec<String>, Vec<String>) {
    let mut valid: Vec<&String> = Vec::new();
    for vals in values_list {
        for (i, v) in vals.iter().enumerate() {
            if !v.is_empty() && !valid.contains(&&keys[i]) {
                valid.push(&keys[i]);
            }
        }
    }
    if valid.is_empty() {
        return (keys.to_vec(), values.to_vec());
    }
    let vk: Vec<String> = keys.iter().filter(|k| valid.contains(k)).cloned().collect();
    let vv: Vec<String> = values
        .iter()
        .enumerate()
        .filter(|(i, v)| !v.is_empty() || valid.contains(&&keys[*i]))
        .map(|(_, v)| v.clone())
        .collect();
    (vk, vv)
}

fn match_values(a: &[String], b: &[String]) -> Option<Vec<String>> {
    if a.len() != b.len() {
        return None;
    }
    let mut common = false;
    let mut res = Vec::new();
    for (x, y) in a.iter().zip(b) {
        if x == y {
            common = true;
            res.push(x.clone());
        } else if !x.is_empty() && !y.is_empty() {
            return None;
        } else if !x.is_empty() {
            res.push(x.clone());
        } else {
            res.push(y.clone());
        }
    }
    common.then_some(res)
}

fn walk_assoc<'s>(
    types: &'s Schema,
    dest: Option<Value>,
    origin: Option<Value>,
    schema: Option<TypeRef<'s>>,
    path: &mut Vec<String>,
) -> Result<Option<Value>, SmpError> {
    let mut origin = origin;
    // VisitList for an associative list.
    let mut dest = if missing_or_null(&dest) {
        match origin.clone() {
            Some(o) => o,
            None => return Ok(dest),
        }
    } else if matches!(origin, Some(Value::Null)) {
        return Ok(None);
    } else {
        let d = match origin.as_mut() {
            Some(o) => seq_directive(o)?,
            None => Directive::Merge,
        };
        match d {
            Directive::Delete => return Ok(None),
            Directive::Replace => origin.clone().unwrap_or(Value::Null),
            Directive::Merge => dest.unwrap_or(Value::Null),
        }
    };
    // After VisitList the sources are [new dest, origin].
    let keys: Vec<String> = match schema.map(|s| s.list_type()) {
        Some(ListType::Map(keys)) => keys.to_vec(),
        _ => schema
            .and_then(|s| s.patch_merge_key())
            .map(|k| vec![k.to_string()])
            .unwrap_or_default(),
    };
    let empty = Vec::new();
    let dest_items = dest.as_array().unwrap_or(&empty).clone();
    let origin_items = origin
        .as_ref()
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    // Patch first, then target (ListPrepend).
    let mut values_list: Vec<Vec<String>> = Vec::new();
    let primitive;
    if !keys.is_empty() {
        primitive = false;
        for src in [&origin_items, &dest_items] {
            for e in src {
                let v = element_values(e, &keys);
                if !v.is_empty() && !values_list.contains(&v) {
                    values_list.push(v);
                }
            }
        }
    } else {
        primitive = true;
        for src in [&origin_items, &dest_items] {
            for e in src {
                let v = vec![scalar_string(e)];
                if !values_list.contains(&v) {
                    values_list.push(v);
                }
            }
        }
    }
    let keys = if primitive { vec![String::new()] } else { keys };
    if keys.len() > 1 {
        let n = values_list.len();
        for i in 0..n {
            for j in 0..n {
                if let Some(m) = match_values(&values_list[i], &values_list[j]) {
                    values_list[i] = m.clone();
                    values_list[j] = m;
                }
            }
        }
    }
    let elem_schema = schema.and_then(|s| s.items());
    let mut dest_list: Vec<Value> = dest.as_array_mut().map(std::mem::take).unwrap_or_default();
    let mut to_add: Vec<Value> = Vec::new();
    let mut valid_keys = keys.clone();
    for values in &values_list {
        if values.is_empty() {
            continue;
        }
        let (vk, vv) = validate_keys(&values_list, values, &keys);
        let (vk2, vv2) = validate_keys(std::slice::from_ref(&vv), &vv, &vk);
        valid_keys = vk.clone();
        let d = find_element(&dest_list, &vk2, &vv2).map(|i| dest_list[i].clone());
        let o = find_element(&origin_items, &vk2, &vv2).map(|i| origin_items[i].clone());
        let val = walk(types, d, o, elem_schema, path)?;
        let val = match val {
            None | Some(Value::Null) => None,
            Some(Value::Object(m)) if m.is_empty() => None,
            Some(v) => Some(v),
        };
        let Some(mut val) = val else {
            if let Some(i) = find_element(&dest_list, &vk, &vv) {
                dest_list.remove(i);
            }
            continue;
        };
        if !primitive {
            if let Some(m) = val.as_object_mut() {
                for (k, v) in vk.iter().zip(&vv) {
                    if !m.contains_key(k) && !v.is_empty() {
                        m.insert(k.clone(), Value::String(v.clone()));
                    }
                }
            }
        }
        // The merged element replaces the target's copy too (kyaml merges in place, into the
        // element it found with the reduced keys).
        if let Some(i) = find_element(&dest_list, &vk2, &vv2) {
            dest_list[i] = val.clone();
        }
        set_element(&mut to_add, &vk, &vv, Some(val));
    }
    if values_list.is_empty() {
        return Ok(Some(Value::Array(dest_list)));
    }
    // ListPrepend: the added items come first, then target items not among them (matched on
    // the keys they have).
    let mut result = to_add;
    for elem in dest_list {
        if primitive || valid_keys[0].is_empty() {
            let v = vec![scalar_string(&elem)];
            set_element(&mut result, &[String::new()], &v, Some(elem));
            continue;
        }
        let present: Vec<String> = valid_keys
            .iter()
            .filter(|k| elem.get(k.as_str()).is_some())
            .cloned()
            .collect();
        let v = element_values(&elem, &present);
        if valid_keys.len() > 1 {
            // With several keys kyaml appends an element lacking a key as is, then drops the
            // first match (its setter would add a duplicate) and sets the element, matching
            // the values it found against the leading keys. So target elements move to the
            // end, in the target's order.
            let mut found = Vec::new();
            for k in &valid_keys {
                match elem.get(k.as_str()) {
                    None => result.push(elem.clone()),
                    Some(x) => found.push(scalar_string(x)),
                }
            }
            if !found.is_empty() {
                let keys = &valid_keys[..found.len()];
                if let Some(i) = find_element(&result, keys, &found) {
                    result.remove(i);
                }
                set_element(&mut result, keys, &found, Some(elem));
            }
            continue;
        }
        if present.is_empty() || find_element(&result, &present, &v).is_none() {
            result.push(elem);
        }
    }
    Ok(Some(Value::Array(result)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn dep(containers: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
            "spec": {"template": {"spec": {"containers": containers}}}})
    }

    #[test]
    fn merges_containers_by_name_patch_first() {
        let t = dep(json!([{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]));
        let p = dep(json!([{"name": "b", "image": "z"}, {"name": "c", "image": "w"}]));
        let r = merge_object(t, &p, Schema::kubernetes())
            .expect("merge")
            .expect("kept");
        assert_eq!(
            r["spec"]["template"]["spec"]["containers"],
            json!([{"name": "b", "image": "z"}, {"name": "c", "image": "w"}, {"name": "a", "image": "x"}])
        );
    }

    #[test]
    fn deletes_and_replaces() {
        let t = dep(json!([{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]));
        let p = dep(json!([{"name": "a", "$patch": "delete"}]));
        let r = merge_object(t.clone(), &p, Schema::kubernetes())
            .expect("merge")
            .expect("kept");
        assert_eq!(
            r["spec"]["template"]["spec"]["containers"],
            json!([{"name": "b", "image": "y"}])
        );
        let p = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "$patch": "delete"});
        assert_eq!(
            merge_object(t, &p, Schema::kubernetes()).expect("merge"),
            None
        );
    }

    #[test]
    fn null_removes_and_unknown_lists_replace() {
        let t = json!({"apiVersion": "x/v1", "kind": "Foo", "spec": {"a": 1, "l": [1, 2]}});
        let p = json!({"apiVersion": "x/v1", "kind": "Foo", "spec": {"a": null, "l": [3]}});
        let r = merge_object(t, &p, Schema::kubernetes())
            .expect("merge")
            .expect("kept");
        assert_eq!(r["spec"], json!({"l": [3]}));
    }
}
