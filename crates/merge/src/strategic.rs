//! Strategic merge patch (`application/strategic-merge-patch+json`) as the API server applies it
//! to built-in kinds: merge keys, `$patch`, `$retainKeys`, `$setElementOrder/`,
//! `$deleteFromPrimitiveList/`, and the list order rules of Kubernetes.

use std::collections::{HashMap, HashSet};

use flotilla_schema::{Schema, Shape, TypeRef};
use serde_json::{Map, Value};

use crate::json_patch::{json_equal, type_name};
use crate::merge_patch::merge_patch;

const DIRECTIVE: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ELEMENT_ORDER: &str = "$setElementOrder/";
const DELETE_FROM_PRIMITIVE_LIST: &str = "$deleteFromPrimitiveList/";

/// Why a strategic merge patch could not be applied. The API server answers these with
/// 422/400; `path` is the dotted field path in the object (`spec.template.spec.containers`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmpError {
    /// The original object or the patch is not a JSON object.
    #[error("strategic merge patch: the {what} must be a JSON object, got {found}")]
    NotAnObject {
        /// `"original"` or `"patch"`.
        what: &'static str,
        /// The JSON type found instead.
        found: &'static str,
    },
    /// A `$patch` directive with an unknown or misplaced value (`merge` on a map, `merge` in a list).
    #[error("strategic merge patch at {path}: bad $patch directive {directive:?}: {reason}")]
    BadDirective {
        /// Field path holding the directive.
        path: String,
        /// The directive's value.
        directive: String,
        /// Why it cannot be applied.
        reason: String,
    },
    /// An item of a list merged by key lacks the merge key.
    #[error("strategic merge patch at {path}: list item has no merge key {key:?}; every item of this list must set it")]
    MissingMergeKey {
        /// Field path of the list.
        path: String,
        /// The merge key the schema names.
        key: String,
    },
    /// A `$retainKeys` directive is not a list of strings, or the patch sets a field it does not retain.
    #[error("strategic merge patch at {path}: invalid $retainKeys: {reason}")]
    RetainKeys {
        /// Field path of the map holding the directive.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A `$setElementOrder/` or `$deleteFromPrimitiveList/` list is malformed or disagrees with the patch list.
    #[error("strategic merge patch at {path}: {reason}")]
    BadListDirective {
        /// Field path of the list the directive applies to.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// A list mixes objects with scalars, holds lists, or the patch and original disagree in kind.
    #[error("strategic merge patch at {path}: {reason}")]
    BadList {
        /// Field path of the list.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// The schema type of a built-in kind, for [`strategic_merge_patch`]; `None` for any kind the
/// embedded Kubernetes schema does not know (custom resources). The API server answers a strategic
/// merge patch to such kinds with 415 Unsupported Media Type: callers emulating it check this first.
pub fn builtin_type(api_version: &str, kind: &str) -> Option<TypeRef<'static>> {
    Schema::kubernetes().for_kind(api_version, kind)
}

/// Applies a strategic merge patch to `original` and returns the result. `ty` is the root type
/// of the object (see [`builtin_type`]); with `None` the patch is applied as an RFC 7386 merge
/// patch, which is what a strategic merge patch degenerates to without schema information.
pub fn strategic_merge_patch(
    original: &Value,
    patch: &Value,
    ty: Option<TypeRef<'_>>,
) -> Result<Value, SmpError> {
    let Value::Object(orig) = original else {
        return Err(SmpError::NotAnObject {
            what: "original",
            found: type_name(original),
        });
    };
    let Value::Object(patch_map) = patch else {
        return Err(SmpError::NotAnObject {
            what: "patch",
            found: type_name(patch),
        });
    };
    let Some(ty) = ty else {
        let mut doc = original.clone();
        merge_patch(&mut doc, patch);
        return Ok(doc);
    };
    merge_map(orig.clone(), patch_map.clone(), Some(ty), "").map(Value::Object)
}

/// Type of member `key` of a value of type `ty`: a named property or a map's value type.
fn child<'s>(ty: Option<TypeRef<'s>>, key: &str) -> Option<TypeRef<'s>> {
    let ty = ty?;
    match ty.shape() {
        Shape::Object => ty.field(key),
        Shape::Map => ty.values(),
        _ => None,
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

/// How one list field merges, from its schema.
#[derive(Clone, Copy)]
struct ListMeta<'s> {
    merge: bool,
    key: Option<&'s str>,
    items: Option<TypeRef<'s>>,
}

fn list_meta<'s>(field: Option<TypeRef<'s>>) -> ListMeta<'s> {
    match field {
        Some(f) => ListMeta {
            merge: f.patch_strategy().merge,
            key: f.patch_merge_key(),
            items: f.items(),
        },
        None => ListMeta {
            merge: false,
            key: None,
            items: None,
        },
    }
}

fn merge_map(
    mut orig: Map<String, Value>,
    mut patch: Map<String, Value>,
    ty: Option<TypeRef<'_>>,
    path: &str,
) -> Result<Map<String, Value>, SmpError> {
    if let Some(directive) = patch.remove(DIRECTIVE) {
        return match directive.as_str() {
            // The map becomes exactly the patch's content (its own directives still apply).
            Some("replace") => merge_map(Map::new(), patch, ty, path),
            Some("delete") => Ok(Map::new()),
            _ => Err(SmpError::BadDirective {
                path: path.to_string(),
                directive: directive
                    .as_str()
                    .map_or_else(|| directive.to_string(), str::to_string),
                reason: "a map accepts only $patch: replace or $patch: delete".into(),
            }),
        };
    }
    if let Some(retain) = patch.remove(RETAIN_KEYS) {
        apply_retain_keys(&mut orig, &patch, &retain, path)?;
    }
    let order_keys: Vec<String> = patch
        .keys()
        .filter(|k| k.starts_with(SET_ELEMENT_ORDER))
        .cloned()
        .collect();
    for key in order_keys {
        let order = patch.remove(&key).unwrap_or(Value::Null);
        let field = &key[SET_ELEMENT_ORDER.len()..];
        set_element_order(&mut orig, &mut patch, field, order, ty, path)?;
    }
    // Deletion lists run after the ordinary keys so that one patch can both add to and delete
    // from the same primitive list regardless of key order.
    let (deletions, ordinary): (Vec<_>, Vec<_>) = patch
        .into_iter()
        .partition(|(k, _)| k.starts_with(DELETE_FROM_PRIMITIVE_LIST));
    for (key, patch_value) in ordinary {
        let field_path = join(path, &key);
        let field_ty = child(ty, &key);
        if patch_value.is_null() {
            orig.remove(&key);
            continue;
        }
        let merged = match (orig.remove(&key), patch_value) {
            (Some(Value::Object(o)), Value::Object(p)) => {
                if field_ty.is_some_and(|f| f.patch_strategy().replace) {
                    Value::Object(merge_map(Map::new(), p, field_ty, &field_path)?)
                } else {
                    Value::Object(merge_map(o, p, field_ty, &field_path)?)
                }
            }
            (Some(Value::Array(o)), Value::Array(p)) => {
                let meta = list_meta(field_ty);
                if meta.merge {
                    Value::Array(merge_list(o, p, meta, &field_path)?)
                } else {
                    Value::Array(p)
                }
            }
            // Absent in the original, or of another JSON type: the patch value is taken whole,
            // with its nulls dropped and its directives resolved against nothing.
            (_, p) => fresh(p, field_ty, &field_path)?,
        };
        orig.insert(key, merged);
    }
    for (key, patch_value) in deletions {
        let field = &key[DELETE_FROM_PRIMITIVE_LIST.len()..];
        let field_path = join(path, field);
        let Value::Array(to_delete) = patch_value else {
            return Err(SmpError::BadListDirective {
                path: field_path,
                reason: format!("{key} must be a list of values to delete"),
            });
        };
        // Deletion applies whatever the list's strategy (as kubectl patch shows for `args`).
        if let Some(Value::Array(items)) = orig.get_mut(field) {
            items.retain(|item| !to_delete.iter().any(|d| json_equal(d, item)));
        }
    }
    Ok(orig)
}

/// A patch value that meets nothing in the original.
fn fresh(value: Value, ty: Option<TypeRef<'_>>, path: &str) -> Result<Value, SmpError> {
    Ok(match value {
        Value::Object(p) => Value::Object(merge_map(Map::new(), p, ty, path)?),
        Value::Array(p) => {
            let meta = list_meta(ty);
            if meta.merge {
                Value::Array(merge_list(Vec::new(), p, meta, path)?)
            } else {
                let mut v = Value::Array(p);
                discard_nulls(&mut v);
                v
            }
        }
        other => other,
    })
}

fn discard_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, v| !v.is_null());
            m.values_mut().for_each(discard_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(discard_nulls),
        _ => {}
    }
}

fn apply_retain_keys(
    orig: &mut Map<String, Value>,
    patch: &Map<String, Value>,
    retain: &Value,
    path: &str,
) -> Result<(), SmpError> {
    let err = |reason: String| SmpError::RetainKeys {
        path: path.to_string(),
        reason,
    };
    let Value::Array(list) = retain else {
        return Err(err("$retainKeys must be a list of field names".into()));
    };
    let keep: Vec<&str> = list
        .iter()
        .map(|v| {
            v.as_str()
                .ok_or_else(|| err("$retainKeys must list strings".into()))
        })
        .collect::<Result<_, _>>()?;
    for (k, v) in patch {
        let directive =
            k.starts_with(SET_ELEMENT_ORDER) || k.starts_with(DELETE_FROM_PRIMITIVE_LIST);
        if !v.is_null() && !directive && !keep.contains(&k.as_str()) {
            return Err(err(format!(
                "the patch sets {k:?} but $retainKeys does not list it"
            )));
        }
    }
    orig.retain(|k, _| keep.contains(&k.as_str()));
    Ok(())
}

/// Kind of the elements of the lists being merged.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Elements {
    Empty,
    Maps,
    Scalars,
}

fn element_kind(lists: &[&[Value]], path: &str) -> Result<Elements, SmpError> {
    let mut kind = Elements::Empty;
    for item in lists.iter().flat_map(|l| l.iter()) {
        let this = match item {
            Value::Object(_) => Elements::Maps,
            Value::Array(_) => {
                return Err(SmpError::BadList {
                    path: path.to_string(),
                    reason: "lists of lists cannot be merged".into(),
                })
            }
            _ => Elements::Scalars,
        };
        if kind != Elements::Empty && kind != this {
            return Err(SmpError::BadList {
                path: path.to_string(),
                reason: "list mixes objects and scalars".into(),
            });
        }
        kind = this;
    }
    Ok(kind)
}

/// The identity of a list item for ordering and matching: its merge key value, or the item.
fn identity<'v>(item: &'v Value, key: Option<&str>) -> Option<&'v Value> {
    match key {
        Some(k) => item.get(k),
        None => Some(item),
    }
}

/// A string equal for JSON-equal values (numbers by value, object members in any order), so
/// identities can be hashed.
fn canonical(v: &Value) -> String {
    match v {
        Value::Number(n) => match n.as_f64() {
            Some(f) => format!("{f:?}"),
            None => n.to_string(),
        },
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(canonical).collect();
            format!("[{}]", parts.join(","))
        }
        Value::Object(m) => {
            let mut parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{}:{}", Value::String(k.clone()), canonical(v)))
                .collect();
            parts.sort();
            format!("{{{}}}", parts.join(","))
        }
        other => other.to_string(),
    }
}

/// First position of each identity in a list, for constant-time lookups.
struct Positions(HashMap<String, usize>);

impl Positions {
    fn of(list: &[Value], key: Option<&str>) -> Positions {
        let mut map = HashMap::with_capacity(list.len());
        for (i, item) in list.iter().enumerate() {
            if let Some(id) = identity(item, key) {
                map.entry(canonical(id)).or_insert(i);
            }
        }
        Positions(map)
    }

    fn get(&self, item: &Value, key: Option<&str>) -> Option<usize> {
        identity(item, key).and_then(|id| self.0.get(&canonical(id)).copied())
    }
}

fn require_key(items: &[Value], key: &str, path: &str) -> Result<(), SmpError> {
    if items.iter().all(|i| i.get(key).is_some()) {
        Ok(())
    } else {
        Err(SmpError::MissingMergeKey {
            path: path.to_string(),
            key: key.to_string(),
        })
    }
}

/// Merges two lists whose field has patch strategy `merge`.
fn merge_list(
    orig: Vec<Value>,
    patch: Vec<Value>,
    meta: ListMeta<'_>,
    path: &str,
) -> Result<Vec<Value>, SmpError> {
    if orig.is_empty() && patch.is_empty() {
        return Ok(orig);
    }
    match element_kind(&[&orig, &patch], path)? {
        Elements::Empty => Ok(orig),
        Elements::Scalars => {
            let mut merged: Vec<Value> = Vec::with_capacity(orig.len() + patch.len());
            let mut seen = HashSet::with_capacity(orig.len() + patch.len());
            for v in orig.iter().chain(patch.iter()) {
                if seen.insert(canonical(v)) {
                    merged.push(v.clone());
                }
            }
            Ok(order(merged, &patch, &orig, None))
        }
        Elements::Maps => {
            let Some(key) = meta.key else {
                return Err(SmpError::BadList {
                    path: path.to_string(),
                    reason: "cannot merge a list of objects without a merge key".into(),
                });
            };
            let (orig, patch) = list_directives(orig, patch, key, path)?;
            require_key(&patch, key, path)?;
            require_key(&orig, key, path)?;
            let mut merged = orig.clone();
            let mut positions = Positions::of(&merged, Some(key));
            for item in &patch {
                let Value::Object(p) = item else { continue };
                match positions.get(item, Some(key)) {
                    Some(i) => {
                        let Value::Object(o) = std::mem::take(&mut merged[i]) else {
                            continue;
                        };
                        merged[i] = Value::Object(merge_map(o, p.clone(), meta.items, path)?);
                    }
                    None => {
                        if let Some(id) = item.get(key) {
                            positions.0.insert(canonical(id), merged.len());
                        }
                        merged.push(fresh(item.clone(), meta.items, path)?);
                    }
                }
            }
            Ok(order(merged, &patch, &orig, Some(key)))
        }
    }
}

/// Resolves `$patch` items of a list of maps: `delete` removes matching items from the
/// original, `replace` makes the patch's other items the whole list.
fn list_directives(
    mut orig: Vec<Value>,
    patch: Vec<Value>,
    key: &str,
    path: &str,
) -> Result<(Vec<Value>, Vec<Value>), SmpError> {
    let mut rest = Vec::with_capacity(patch.len());
    let mut replace = false;
    for item in patch {
        let Some(directive) = item.get(DIRECTIVE) else {
            rest.push(item);
            continue;
        };
        match directive.as_str() {
            Some("delete") => {
                let Some(id) = item.get(key) else {
                    return Err(SmpError::MissingMergeKey {
                        path: path.to_string(),
                        key: key.to_string(),
                    });
                };
                orig.retain(|o| !o.get(key).is_some_and(|v| json_equal(v, id)));
            }
            Some("replace") => replace = true,
            Some("merge") => {
                return Err(SmpError::BadDirective {
                    path: path.to_string(),
                    directive: "merge".into(),
                    reason: "merging lists cannot be requested in the patch".into(),
                })
            }
            _ => {
                return Err(SmpError::BadDirective {
                    path: path.to_string(),
                    directive: directive
                        .as_str()
                        .map_or_else(|| directive.to_string(), str::to_string),
                    reason: "a list item accepts only $patch: delete or $patch: replace".into(),
                })
            }
        }
    }
    if replace {
        Ok((rest, Vec::new()))
    } else {
        Ok((orig, rest))
    }
}

/// Orders a merged list as the API server does: items named in `wanted` (the patch list, or a
/// `$setElementOrder` list) keep that order, the others keep their order in `live`, and the two
/// runs interleave by `live` order where both items are live, patch items first otherwise.
fn order(merged: Vec<Value>, wanted: &[Value], live: &[Value], key: Option<&str>) -> Vec<Value> {
    let wanted_at = Positions::of(wanted, key);
    let live_at = Positions::of(live, key);
    let (mut ours, mut theirs): (Vec<Value>, Vec<Value>) = merged
        .into_iter()
        .partition(|item| wanted_at.get(item, key).is_some());
    ours.sort_by_cached_key(|item| wanted_at.get(item, key));
    theirs.sort_by_cached_key(|item| live_at.get(item, key));
    let mut out = Vec::with_capacity(ours.len() + theirs.len());
    let (mut ours, mut theirs) = (ours.into_iter().peekable(), theirs.into_iter().peekable());
    loop {
        let take_theirs = match (theirs.peek(), ours.peek()) {
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
            (Some(t), Some(o)) => match (live_at.get(t, key), live_at.get(o, key)) {
                (Some(ti), Some(oi)) => ti < oi,
                _ => false,
            },
        };
        let next = if take_theirs {
            theirs.next()
        } else {
            ours.next()
        };
        out.extend(next);
    }
    out
}

/// Handles `$setElementOrder/<field>`: merges the field's patch list (if any) and orders the
/// result by the directive's list.
fn set_element_order(
    orig: &mut Map<String, Value>,
    patch: &mut Map<String, Value>,
    field: &str,
    order_list: Value,
    ty: Option<TypeRef<'_>>,
    path: &str,
) -> Result<(), SmpError> {
    let field_path = join(path, field);
    let bad = |reason: String| SmpError::BadListDirective {
        path: field_path.clone(),
        reason,
    };
    let Value::Array(wanted) = order_list else {
        return Err(bad(format!("$setElementOrder/{field} must be a list")));
    };
    let as_list = |v: Option<Value>, what: &str| -> Result<Option<Vec<Value>>, SmpError> {
        match v {
            None => Ok(None),
            Some(Value::Array(l)) => Ok(Some(l)),
            Some(other) => Err(bad(format!(
                "{what} {field} must be a list to be ordered, got {}",
                type_name(&other)
            ))),
        }
    };
    let live = as_list(orig.get(field).cloned(), "original")?;
    let patch_list = as_list(patch.remove(field), "patch")?;
    let meta = list_meta(child(ty, field));
    let key = if meta.merge { meta.key } else { None };
    if let Some(p) = &patch_list {
        check_order_consistent(p, &wanted, key).map_err(bad)?;
    }
    let has_live = live.is_some();
    let live = live.unwrap_or_default();
    let merged = match patch_list {
        None if !has_live => return Ok(()),
        None => live.clone(),
        Some(p) if !has_live => match fresh(Value::Array(p), child(ty, field), &field_path)? {
            Value::Array(l) => l,
            _ => Vec::new(),
        },
        Some(p) if meta.merge => merge_list(live.clone(), p, meta, &field_path)?,
        Some(p) => p,
    };
    if let Some(k) = key {
        if element_kind(&[&merged], &field_path)? == Elements::Maps {
            require_key(&merged, k, &field_path)?;
            require_key(&wanted, k, &field_path)?;
        }
    }
    orig.insert(
        field.to_string(),
        Value::Array(order(merged, &wanted, &live, key)),
    );
    Ok(())
}

/// The patch list's items (deletions aside) must appear in the `$setElementOrder` list, in the
/// same relative order.
fn check_order_consistent(
    patch: &[Value],
    wanted: &[Value],
    key: Option<&str>,
) -> Result<(), String> {
    let mut w = 0;
    for item in patch {
        if item.get(DIRECTIVE).is_some() {
            continue;
        }
        let Some(id) = identity(item, key) else {
            continue;
        };
        loop {
            match wanted.get(w) {
                None => {
                    return Err(format!(
                        "the order of the patch list does not match its $setElementOrder list (item {id} is missing or out of order)"
                    ))
                }
                Some(candidate) => {
                    w += 1;
                    if identity(candidate, key).is_some_and(|c| json_equal(c, id)) {
                        break;
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> TypeRef<'static> {
        builtin_type("apps/v1", "Deployment").expect("Deployment is a built-in kind")
    }

    fn pod() -> TypeRef<'static> {
        builtin_type("v1", "Pod").expect("Pod is a built-in kind")
    }

    fn smp(ty: TypeRef<'static>, original: Value, patch: Value) -> Value {
        match strategic_merge_patch(&original, &patch, Some(ty)) {
            Ok(v) => v,
            Err(e) => panic!("patch {patch} failed: {e}"),
        }
    }

    /// The Deployment of the Kubernetes task "Update API Objects in Place Using kubectl patch".
    fn patch_demo() -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "patch-demo"},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "nginx"}},
                "template": {
                    "metadata": {"labels": {"app": "nginx"}},
                    "spec": {
                        "containers": [{"name": "patch-demo-ctr", "image": "nginx"}],
                        "tolerations": [{"effect": "NoSchedule", "key": "dedicated", "value": "test-team"}]
                    }
                }
            }
        })
    }

    // Expected lists below are the outputs the Kubernetes documentation shows for the same patches.
    #[test]
    fn docs_merge_list_by_key_puts_new_items_first() {
        let out = smp(
            deployment(),
            patch_demo(),
            json!({"spec":{"template":{"spec":{"containers":[{"name":"patch-demo-ctr-2","image":"redis"}]}}}}),
        );
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name":"patch-demo-ctr-2","image":"redis"},{"name":"patch-demo-ctr","image":"nginx"}])
        );
    }

    #[test]
    fn docs_list_without_strategy_is_replaced() {
        let out = smp(
            deployment(),
            patch_demo(),
            json!({"spec":{"template":{"spec":{"tolerations":[{"effect":"NoSchedule","key":"disktype","value":"ssd"}]}}}}),
        );
        assert_eq!(
            out["spec"]["template"]["spec"]["tolerations"],
            json!([{"effect":"NoSchedule","key":"disktype","value":"ssd"}])
        );
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"]
                .as_array()
                .map(Vec::len),
            Some(1)
        );
    }

    #[test]
    fn docs_retain_keys_clears_other_fields() {
        let mut original = patch_demo();
        original["spec"]["strategy"] = json!({"type":"RollingUpdate","rollingUpdate":{"maxSurge":"25%","maxUnavailable":"25%"}});
        let out = smp(
            deployment(),
            original,
            json!({"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate"}}}),
        );
        assert_eq!(out["spec"]["strategy"], json!({"type":"Recreate"}));
        // A patch setting a field $retainKeys does not list is rejected.
        assert!(matches!(
            strategic_merge_patch(
                &patch_demo(),
                &json!({"spec":{"strategy":{"$retainKeys":["type"],"type":"Recreate","rollingUpdate":{}}}}),
                Some(deployment())
            ),
            Err(SmpError::RetainKeys { .. })
        ));
    }

    #[test]
    fn merge_into_matching_item_and_null_deletes() {
        let out = smp(
            deployment(),
            patch_demo(),
            json!({"spec":{"replicas":null,"template":{"spec":{"containers":[{"name":"patch-demo-ctr","image":"nginx:1.21","args":["-v"]}]}}}}),
        );
        assert_eq!(out["spec"].get("replicas"), None);
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name":"patch-demo-ctr","image":"nginx:1.21","args":["-v"]}])
        );
    }

    #[test]
    fn patch_directives_on_maps() {
        let out = smp(
            deployment(),
            patch_demo(),
            json!({"spec":{"template":{"metadata":{"labels":{"$patch":"replace","tier":"web"}}}}}),
        );
        assert_eq!(
            out["spec"]["template"]["metadata"]["labels"],
            json!({"tier":"web"})
        );
        let out = smp(
            deployment(),
            patch_demo(),
            json!({"spec":{"selector":{"$patch":"delete"}}}),
        );
        assert_eq!(out["spec"]["selector"], json!({}));
        assert!(matches!(
            strategic_merge_patch(
                &patch_demo(),
                &json!({"spec":{"selector":{"$patch":"merge"}}}),
                Some(deployment())
            ),
            Err(SmpError::BadDirective { .. })
        ));
    }

    #[test]
    fn patch_directives_in_lists() {
        let mut original = patch_demo();
        original["spec"]["template"]["spec"]["containers"] =
            json!([{"name":"a","image":"a"},{"name":"b","image":"b"}]);
        let out = smp(
            deployment(),
            original.clone(),
            json!({"spec":{"template":{"spec":{"containers":[{"name":"a","$patch":"delete"}]}}}}),
        );
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name":"b","image":"b"}])
        );
        let out = smp(
            deployment(),
            original.clone(),
            json!({"spec":{"template":{"spec":{"containers":[{"$patch":"replace"},{"name":"c","image":"c"}]}}}}),
        );
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name":"c","image":"c"}])
        );
        for bad in ["merge", "frob"] {
            assert!(matches!(
                strategic_merge_patch(
                    &original,
                    &json!({"spec":{"template":{"spec":{"containers":[{"name":"a","$patch":bad}]}}}}),
                    Some(deployment())
                ),
                Err(SmpError::BadDirective { .. })
            ));
        }
    }

    #[test]
    fn primitive_merge_list_is_a_set_and_delete_from_primitive_list() {
        let original = json!({"metadata":{"name":"p","finalizers":["a","b"]}});
        let out = smp(
            pod(),
            original.clone(),
            json!({"metadata":{"finalizers":["b","c"]}}),
        );
        assert_eq!(out["metadata"]["finalizers"], json!(["a", "b", "c"]));
        let out = smp(
            pod(),
            original,
            json!({"metadata":{"$deleteFromPrimitiveList/finalizers":["a"],"finalizers":["z"]}}),
        );
        assert_eq!(out["metadata"]["finalizers"], json!(["z", "b"]));
    }

    #[test]
    fn set_element_order_orders_the_merged_list() {
        // From apimachinery's "add an item in a list and preserve order" case, on containers.
        let original = json!({"spec":{"containers":[
            {"name":"1","image":"a"},
            {"name":"2","image":"b","args":["x"]}
        ]}});
        let out = smp(
            pod(),
            original,
            json!({"spec":{
                "$setElementOrder/containers":[{"name":"3"},{"name":"1"},{"name":"2"}],
                "containers":[{"name":"3","image":"c"}]
            }}),
        );
        assert_eq!(
            out["spec"]["containers"],
            json!([{"name":"3","image":"c"},{"name":"1","image":"a"},{"name":"2","image":"b","args":["x"]}])
        );
        // A patch list out of step with its order list is rejected.
        assert!(matches!(
            strategic_merge_patch(
                &json!({"spec":{"containers":[]}}),
                &json!({"spec":{"$setElementOrder/containers":[{"name":"1"}],"containers":[{"name":"2"}]}}),
                Some(pod())
            ),
            Err(SmpError::BadListDirective { .. })
        ));
    }

    #[test]
    fn set_element_order_with_delete_and_primitive_lists() {
        // apimachinery "delete items in lists of scalars" on finalizers.
        let out = smp(
            pod(),
            json!({"metadata":{"finalizers":["1","2","3"]}}),
            json!({"metadata":{"$setElementOrder/finalizers":["1","2"],"$deleteFromPrimitiveList/finalizers":["3"]}}),
        );
        assert_eq!(out["metadata"]["finalizers"], json!(["1", "2"]));
        // Reordering only.
        let out = smp(
            pod(),
            json!({"metadata":{"finalizers":["1","2"]}}),
            json!({"metadata":{"$setElementOrder/finalizers":["2","1"]}}),
        );
        assert_eq!(out["metadata"]["finalizers"], json!(["2", "1"]));
    }

    #[test]
    fn new_values_drop_nulls_and_resolve_directives() {
        let out = smp(
            pod(),
            json!({"spec":{}}),
            json!({"spec":{"nodeSelector":{"a":"b","c":null},"containers":[{"name":"x","$patch":"delete"},{"name":"y","image":"y"}]}}),
        );
        assert_eq!(out["spec"]["nodeSelector"], json!({"a":"b"}));
        assert_eq!(out["spec"]["containers"], json!([{"name":"y","image":"y"}]));
    }

    #[test]
    fn missing_merge_key_is_an_error() {
        let err = strategic_merge_patch(
            &json!({"spec":{"containers":[{"name":"a"}]}}),
            &json!({"spec":{"containers":[{"image":"b"}]}}),
            Some(pod()),
        );
        assert_eq!(
            err,
            Err(SmpError::MissingMergeKey {
                path: "spec.containers".into(),
                key: "name".into()
            })
        );
    }

    #[test]
    fn unknown_type_behaves_as_merge_patch() {
        let out = strategic_merge_patch(
            &json!({"spec":{"list":[{"name":"a"}],"keep":1,"drop":2}}),
            &json!({"spec":{"list":[{"name":"b"}],"drop":null}}),
            None,
        );
        assert_eq!(out, Ok(json!({"spec":{"list":[{"name":"b"}],"keep":1}})));
        assert!(builtin_type("example.com/v1", "Widget").is_none());
    }

    #[test]
    fn large_merge_lists_keep_their_order() {
        let env = |range: std::ops::Range<usize>| -> Vec<Value> {
            range
                .map(|i| json!({"name": format!("V{i}"), "value": "x"}))
                .collect()
        };
        let original = json!({"spec":{"containers":[{"name":"c","env":env(0..3000)}]}});
        let patch = json!({"spec":{"containers":[{"name":"c","env":env(2990..3010)}]}});
        let out = smp(pod(), original, patch);
        let names: Vec<&str> = out["spec"]["containers"][0]["env"]
            .as_array()
            .map(|l| l.iter().filter_map(|e| e["name"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(names.len(), 3010);
        assert_eq!(names[0], "V0");
        // Live items before the patched ones, then the patch's items in its order.
        assert_eq!(&names[2989..2992], &["V2989", "V2990", "V2991"]);
        assert_eq!(names[3009], "V3009");
    }

    #[test]
    fn non_object_inputs_are_rejected() {
        assert!(matches!(
            strategic_merge_patch(&json!([]), &json!({}), Some(pod())),
            Err(SmpError::NotAnObject {
                what: "original",
                ..
            })
        ));
        assert!(matches!(
            strategic_merge_patch(&json!({}), &json!("x"), Some(pod())),
            Err(SmpError::NotAnObject { what: "patch", .. })
        ));
    }
}
