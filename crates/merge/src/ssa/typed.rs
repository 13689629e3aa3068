//! Schema-aware walks server-side apply needs: field sets of values, comparison, merge, removal.

use std::collections::{HashMap, HashSet};

use flotilla_schema::{ListType, MapType, Shape, TypeRef};
use serde_json::{Map, Value};

use super::fieldset::{FieldSet, Path, PathElement};
use crate::json_patch::json_equal;

/// Type of a node, `None` when the schema says nothing (the value's own shape then decides).
pub(crate) type Ty<'s> = Option<TypeRef<'s>>;

/// How server-side apply treats one node.
#[derive(Clone, Copy)]
enum Kind<'s> {
    /// Scalars, atomic lists and maps, and values whose JSON type disagrees with the schema.
    Leaf,
    /// A map merged key by key: a struct with declared fields, or (`None`) an object the schema
    /// does not describe, all of whose keys count as undeclared.
    Struct(Ty<'s>),
    /// A map merged key by key whose keys are not declared fields (`labels`), with its value type.
    Map(Ty<'s>),
    /// A list whose items are identified by key fields, with the item type.
    Assoc(&'s [String], Ty<'s>),
    /// A list whose scalar items are identified by value.
    Set(Ty<'s>),
}

fn kind<'s>(ty: Ty<'s>, v: &Value) -> Kind<'s> {
    let Some(t) = ty else {
        return if v.is_object() {
            Kind::Struct(None)
        } else {
            Kind::Leaf
        };
    };
    match t.shape() {
        Shape::Unknown => {
            if v.is_object() {
                Kind::Struct(None)
            } else {
                Kind::Leaf
            }
        }
        Shape::Object if v.is_object() && t.map_type() == MapType::Granular => Kind::Struct(ty),
        Shape::Map if v.is_object() && t.map_type() == MapType::Granular => Kind::Map(t.values()),
        Shape::Array if v.is_array() => match t.list_type() {
            ListType::Atomic => Kind::Leaf,
            ListType::Set => Kind::Set(t.items()),
            ListType::Map(keys) => Kind::Assoc(keys, t.items()),
        },
        _ => Kind::Leaf,
    }
}

/// Type of member `name` of a map node, and whether the schema declares it as a field.
fn member<'s>(k: Kind<'s>, name: &str) -> (Ty<'s>, bool) {
    match k {
        Kind::Struct(Some(t)) => match t.field(name) {
            Some(f) => (Some(f), true),
            None => (None, false),
        },
        Kind::Map(values) => (values, false),
        _ => (None, false),
    }
}

/// A list's items with their path elements, first occurrence of each identity only.
fn list_items<'v>(k: Kind<'_>, v: &'v Value) -> Vec<(PathElement, &'v Value)> {
    let Value::Array(items) = v else {
        return Vec::new();
    };
    let mut seen: HashSet<PathElement> = HashSet::with_capacity(items.len());
    let mut out: Vec<(PathElement, &Value)> = Vec::with_capacity(items.len());
    for item in items {
        let pe = identity(k, item);
        if seen.insert(pe.clone()) {
            out.push((pe, item));
        }
    }
    out
}

/// The path element naming a list item: its key fields, or its value.
fn identity(k: Kind<'_>, item: &Value) -> PathElement {
    match k {
        Kind::Assoc(keys, item_ty) => {
            PathElement::key_with_defaults(item, keys, |key| key_default(item_ty, key))
        }
        _ => PathElement::value_of(item),
    }
}

/// The value a list-map key field takes when an item omits it: the schema's `default`, or
/// for built-in kinds `protocol: TCP`, the one defaulted key of Kubernetes' list-map keys
/// (container and service ports; the embedded v1.21 schema predates the published default).
fn key_default(item_ty: Ty<'_>, key: &str) -> Option<Value> {
    let t = item_ty?;
    if let Some(d) = t.field(key).and_then(|f| f.default_value()) {
        return Some(d.clone());
    }
    (t.schema().is_builtin() && key == "protocol").then(|| Value::String("TCP".into()))
}

fn item_type(k: Kind<'_>) -> Ty<'_> {
    match k {
        Kind::Assoc(_, t) | Kind::Set(t) => t,
        _ => None,
    }
}

/// The set of fields a value sets, as server-side apply records it for an applier: every leaf,
/// every list item, and every map key that is not a declared struct field.
pub(crate) fn field_set(v: &Value, ty: Ty<'_>) -> FieldSet {
    let mut set = FieldSet::new();
    walk_field_set(v, ty, &mut Vec::new(), &mut set);
    set
}

fn walk_field_set(v: &Value, ty: Ty<'_>, path: &mut Path, set: &mut FieldSet) {
    let k = kind(ty, v);
    match k {
        Kind::Leaf => set.insert(path),
        Kind::Struct(_) | Kind::Map(_) => {
            for (name, child) in v.as_object().into_iter().flatten() {
                let (cty, declared) = member(k, name);
                path.push(PathElement::Field(name.clone()));
                walk_field_set(child, cty, path, set);
                if !declared {
                    set.insert(path);
                }
                path.pop();
            }
        }
        Kind::Assoc(..) | Kind::Set(_) => {
            for (pe, item) in list_items(k, v) {
                path.push(pe);
                walk_field_set(item, item_type(k), path, set);
                set.insert(path);
                path.pop();
            }
        }
    }
}

/// What changed between two versions of an object.
#[derive(Debug, Default)]
pub(crate) struct Comparison {
    pub added: FieldSet,
    pub modified: FieldSet,
    pub removed: FieldSet,
}

/// Compares two versions of an object, field by field.
pub(crate) fn compare(lhs: &Value, rhs: &Value, ty: Ty<'_>) -> Comparison {
    let mut c = Comparison::default();
    compare_node(Some(lhs), Some(rhs), ty, false, &mut Vec::new(), &mut c);
    c
}

fn is_empty_container(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Null => true,
        _ => false,
    }
}

fn compare_node(
    lhs: Option<&Value>,
    rhs: Option<&Value>,
    ty: Ty<'_>,
    value_struct: bool,
    path: &mut Path,
    c: &mut Comparison,
) {
    match (lhs, rhs) {
        (None, None) => {}
        (Some(l), Some(r)) => {
            let (kl, kr) = (kind(ty, l), kind(ty, r));
            let both_empty = is_empty_container(l) && is_empty_container(r);
            match (kl, kr) {
                _ if both_empty => {
                    if !json_equal(l, r) {
                        c.modified.insert(path);
                    }
                }
                (Kind::Struct(_) | Kind::Map(_), Kind::Struct(_) | Kind::Map(_)) => {
                    compare_maps(l, r, kr, path, c)
                }
                (Kind::Assoc(..), Kind::Assoc(..)) | (Kind::Set(_), Kind::Set(_)) => {
                    compare_lists(l, r, kr, path, c)
                }
                (Kind::Leaf, Kind::Leaf) => {
                    if !json_equal(l, r) {
                        c.modified.insert(path);
                    }
                }
                _ => {
                    // The value changed shape. A null next to a map counts as an empty map;
                    // otherwise the node changed (unless both sides are containers) and the
                    // contents of each container side went or came.
                    let is_map = |k: Kind<'_>| matches!(k, Kind::Struct(_) | Kind::Map(_));
                    let is_container = |k: Kind<'_>| !matches!(k, Kind::Leaf);
                    if l.is_null() && is_map(kr) {
                        side_children(r, ty, path, &mut c.added);
                    } else if r.is_null() && is_map(kl) {
                        side_children(l, ty, path, &mut c.removed);
                    } else {
                        if !(is_container(kl) && is_container(kr)) {
                            c.modified.insert(path);
                        }
                        side_children(l, ty, path, &mut c.removed);
                        side_children(r, ty, path, &mut c.added);
                    }
                }
            }
        }
        (None, Some(r)) => side_only(r, ty, value_struct, path, &mut c.added),
        (Some(l), None) => side_only(l, ty, false, path, &mut c.removed),
    }
}

/// Records every path of a subtree present on one side only: the node itself and all below.
///
/// A built-in kind's struct-typed field is left out as a node (its children still count):
/// Kubernetes compares typed Go objects in which such fields always exist, so it never sees
/// them appear. Custom resources are untyped there and do record the node.
fn side_only(v: &Value, ty: Ty<'_>, value_struct: bool, path: &mut Path, set: &mut FieldSet) {
    side_children(v, ty, path, set);
    let k = kind(ty, v);
    let is_map = matches!(k, Kind::Struct(_) | Kind::Map(_));
    if !(is_map && value_struct && !is_empty_container(v)) {
        set.insert(path);
    }
}

/// Records the paths below a one-sided node (not the node itself).
fn side_children(v: &Value, ty: Ty<'_>, path: &mut Path, set: &mut FieldSet) {
    let k = kind(ty, v);
    match k {
        Kind::Leaf => {}
        Kind::Struct(_) | Kind::Map(_) => {
            for (name, child) in v.as_object().into_iter().flatten() {
                let (cty, declared) = member(k, name);
                path.push(PathElement::Field(name.clone()));
                side_only(
                    child,
                    cty,
                    declared && always_present(k, name, cty),
                    path,
                    set,
                );
                path.pop();
            }
        }
        Kind::Assoc(..) | Kind::Set(_) => {
            for (pe, item) in list_items(k, v) {
                path.push(pe);
                side_only(item, item_type(k), false, path, set);
                path.pop();
            }
        }
    }
}

/// Whether a built-in kind's field always exists in Kubernetes' typed objects, so that it never
/// shows up as added: struct-valued fields (Go value structs) and required fields (serialized
/// without `omitempty`, as `null` when unset). The schema cannot tell pointer structs apart,
/// so optional pointer structs are treated as value structs too.
fn always_present(parent: Kind<'_>, name: &str, field: Ty<'_>) -> bool {
    let Kind::Struct(Some(p)) = parent else {
        return false;
    };
    let Some(f) = field else {
        return false;
    };
    p.schema().is_builtin()
        && (f.shape() == Shape::Object || p.required().iter().any(|r| r == name))
}

fn compare_maps(l: &Value, r: &Value, k: Kind<'_>, path: &mut Path, c: &mut Comparison) {
    let (Some(lm), Some(rm)) = (l.as_object(), r.as_object()) else {
        return;
    };
    for (name, rv) in rm {
        let (cty, declared) = member(k, name);
        path.push(PathElement::Field(name.clone()));
        compare_node(
            lm.get(name),
            Some(rv),
            cty,
            declared && always_present(k, name, cty),
            path,
            c,
        );
        path.pop();
    }
    for (name, lv) in lm {
        if !rm.contains_key(name) {
            let (cty, _) = member(k, name);
            path.push(PathElement::Field(name.clone()));
            compare_node(Some(lv), None, cty, false, path, c);
            path.pop();
        }
    }
}

fn compare_lists(l: &Value, r: &Value, k: Kind<'_>, path: &mut Path, c: &mut Comparison) {
    let litems = list_items(k, l);
    let ritems = list_items(k, r);
    let lmap: HashMap<&PathElement, &Value> = litems.iter().map(|(p, v)| (p, *v)).collect();
    let rmap: HashMap<&PathElement, &Value> = ritems.iter().map(|(p, v)| (p, *v)).collect();
    for (pe, rv) in &ritems {
        path.push(pe.clone());
        compare_node(
            lmap.get(pe).copied(),
            Some(rv),
            item_type(k),
            false,
            path,
            c,
        );
        path.pop();
    }
    for (pe, lv) in &litems {
        if !rmap.contains_key(pe) {
            path.push(pe.clone());
            compare_node(Some(lv), None, item_type(k), false, path, c);
            path.pop();
        }
    }
}

/// Merges an applied configuration into a live object: granular maps key by key, associative
/// and set lists item by item, everything else replaced. A `null` in the configuration removes
/// the field.
pub(crate) fn merge(lhs: &Value, rhs: &Value, ty: Ty<'_>) -> Value {
    let (kl, kr) = (kind(ty, lhs), kind(ty, rhs));
    match (kl, kr) {
        (Kind::Struct(_) | Kind::Map(_), Kind::Struct(_) | Kind::Map(_)) => {
            let (Some(lm), Some(rm)) = (lhs.as_object(), rhs.as_object()) else {
                return rhs.clone();
            };
            let mut out = lm.clone();
            for (name, rv) in rm {
                if rv.is_null() {
                    out.remove(name);
                    continue;
                }
                let (cty, _) = member(kr, name);
                let merged = match lm.get(name) {
                    Some(lv) => merge(lv, rv, cty),
                    None => without_nulls(rv),
                };
                out.insert(name.clone(), merged);
            }
            Value::Object(out)
        }
        (Kind::Assoc(..), Kind::Assoc(..)) | (Kind::Set(_), Kind::Set(_)) => {
            Value::Array(merge_lists(lhs, rhs, kr))
        }
        _ => without_nulls(rhs),
    }
}

fn without_nulls(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect::<Map<String, Value>>(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// Merges two keyed lists as structured-merge-diff does: the configuration's items keep its
/// order, live-only items stay where they were relative to the items around them, and shared
/// items are emitted when the configuration reaches them. A live item whose identity appears
/// more than once is replaced by the configuration's item rather than merged; live duplicates
/// the configuration does not name are kept.
fn merge_lists(lhs: &Value, rhs: &Value, k: Kind<'_>) -> Vec<Value> {
    let l: Vec<(PathElement, &Value)> = lhs
        .as_array()
        .into_iter()
        .flatten()
        .map(|item| (identity(k, item), item))
        .collect();
    let r = list_items(k, rhs);
    let r_index: HashSet<&PathElement> = r.iter().map(|(p, _)| p).collect();
    let in_r = |pe: &PathElement| r_index.contains(pe);
    // Each live identity with its item when it occurs once (None for duplicates).
    let mut l_index: HashMap<&PathElement, Option<&Value>> = HashMap::with_capacity(l.len());
    for (pe, v) in &l {
        l_index
            .entry(pe)
            .and_modify(|slot| *slot = None)
            .or_insert(Some(*v));
    }
    let single_l = |pe: &PathElement| l_index.get(pe).copied().flatten();
    let merge_item = |pe: &PathElement, rv: &Value| match single_l(pe) {
        Some(lv) => merge(lv, rv, item_type(k)),
        None => without_nulls(rv),
    };
    // Items both lists hold, in configuration order: the next one due decides whether a
    // shared live item is emitted now or when the configuration reaches it.
    let mut shared = r
        .iter()
        .filter(|(p, _)| l_index.contains_key(p))
        .map(|(p, _)| p.clone())
        .collect::<Vec<_>>()
        .into_iter();
    let mut next_shared = shared.next();
    let mut out = Vec::with_capacity(l.len().max(r.len()));
    let (mut i, mut j) = (0, 0);
    while i < l.len() || j < r.len() {
        if i < l.len() && j < r.len() {
            let pe = &l[i].0;
            if *pe == r[j].0 {
                out.push(merge_item(pe, r[j].1));
                i += 1;
                j += 1;
                next_shared = shared.next();
                continue;
            }
            if in_r(pe) && next_shared.as_ref().is_some_and(|n| n != pe) {
                i += 1;
                continue;
            }
        }
        if i < l.len() {
            if !in_r(&l[i].0) {
                out.push(l[i].1.clone());
                i += 1;
                continue;
            }
            if j >= r.len() {
                // Already emitted with the configuration's item.
                i += 1;
                continue;
            }
        }
        if j < r.len() {
            out.push(merge_item(&r[j].0, r[j].1));
            if next_shared.as_ref() == Some(&r[j].0) {
                next_shared = shared.next();
            }
            j += 1;
        }
    }
    out
}

/// Removes the node at `path` from `obj` (of type `ty`), then any map or list left empty
/// above it that no manager owns (as typed Kubernetes objects drop empty optional fields).
/// Returns whether something was removed.
pub(crate) fn remove_path(
    obj: &mut Value,
    path: &[PathElement],
    ty: Ty<'_>,
    owned: &FieldSet,
) -> bool {
    remove_at(obj, path, ty, owned, &mut Vec::new())
}

/// Whether the list item at `index` is the one `pe` names, in a list of kind `k`.
fn names_item(k: Kind<'_>, pe: &PathElement, index: usize, item: &Value) -> bool {
    match (pe, k) {
        (PathElement::Key(_) | PathElement::Value(_), Kind::Assoc(..) | Kind::Set(_)) => {
            identity(k, item) == *pe
        }
        _ => pe.matches_item(index, item),
    }
}

fn remove_child(node: &mut Value, pe: &PathElement, k: Kind<'_>) -> bool {
    match (node, pe) {
        (Value::Object(m), PathElement::Field(name)) => m.remove(name).is_some(),
        (Value::Array(items), pe) => {
            let before = items.len();
            let mut index = 0;
            items.retain(|item| {
                let keep = !names_item(k, pe, index, item);
                index += 1;
                keep
            });
            items.len() != before
        }
        _ => false,
    }
}

fn remove_at(
    node: &mut Value,
    path: &[PathElement],
    ty: Ty<'_>,
    owned: &FieldSet,
    at: &mut Path,
) -> bool {
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let k = kind(ty, node);
    if rest.is_empty() {
        // A declared field counts as owned by whoever owns a field below it (as
        // structured-merge-diff ensures named fields are members before pruning): dropping a
        // manager's `.` on `data` must not take `data.mode` that is still applied or owned
        // elsewhere. Unowned fields below it are removed by their own paths.
        if let PathElement::Field(name) = first {
            at.push(first.clone());
            let owned_below = member(k, name).1 && owned.has_below(at);
            at.pop();
            if owned_below {
                return false;
            }
        }
        return remove_child(node, first, k);
    }
    let child_ty = match first {
        PathElement::Field(name) => member(k, name).0,
        _ => item_type(k),
    };
    let child = match (&mut *node, first) {
        (Value::Object(m), PathElement::Field(name)) => m.get_mut(name),
        (Value::Array(items), pe) => items
            .iter_mut()
            .enumerate()
            .find(|(i, item)| names_item(k, pe, *i, item))
            .map(|(_, item)| item),
        _ => None,
    };
    let Some(child) = child else {
        return false;
    };
    at.push(first.clone());
    let removed = remove_at(child, rest, child_ty, owned, at);
    let now_empty = matches!(child, Value::Object(m) if m.is_empty())
        || matches!(child, Value::Array(a) if a.is_empty());
    let keep_empty = owned.contains(at);
    at.pop();
    if removed && now_empty && !keep_empty {
        remove_child(node, first, k);
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::strategic::builtin_type;
    use serde_json::json;

    fn deployment() -> Ty<'static> {
        builtin_type("apps/v1", "Deployment")
    }

    #[test]
    fn field_set_of_an_applied_deployment() {
        let v = json!({
            "metadata": {"labels": {"app": "x"}},
            "spec": {
                "replicas": 2,
                "selector": {"matchLabels": {"app": "x"}},
                "template": {"spec": {
                    "containers": [{"name": "c", "image": "i", "args": ["a"],
                        "ports": [{"containerPort": 80, "protocol": "TCP"}]}]
                }}
            }
        });
        let set = field_set(&v, deployment());
        assert_eq!(
            set.to_fields_v1(),
            json!({
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:replicas": {},
                    "f:selector": {},
                    "f:template": {"f:spec": {"f:containers": {
                        "k:{\"name\":\"c\"}": {
                            ".": {}, "f:args": {}, "f:image": {}, "f:name": {},
                            "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {
                                ".": {}, "f:containerPort": {}, "f:protocol": {}
                            }}
                        }
                    }}}
                }
            })
        );
    }

    #[test]
    fn merge_keeps_live_only_items_in_place_and_follows_the_configuration() {
        let pod = builtin_type("v1", "Pod");
        let fin = |l: Value| json!({"metadata":{"finalizers":l}});
        // From structured-merge-diff's merge tests; the full table is in tests/smd_cases.rs.
        assert_eq!(
            merge(
                &fin(json!(["a", "b", "c", "d"])),
                &fin(json!(["d", "e", "f", "a"])),
                pod
            ),
            fin(json!(["b", "c", "d", "e", "f", "a"]))
        );
        let args = |l: Value| json!({"spec":{"containers":[{"name":"c","args":l}]}});
        assert_eq!(
            merge(&args(json!(["a", "b", "c"])), &args(json!([])), pod),
            args(json!([]))
        );
    }

    #[test]
    fn compare_marks_new_nodes_except_builtin_structs() {
        let old = json!({"spec":{"replicas":1}});
        let new = json!({"spec":{"replicas":2,"strategy":{"type":"Recreate"},"template":{"metadata":{"labels":{"a":"b"}}}}});
        let c = compare(&old, &new, deployment());
        assert_eq!(
            c.modified.to_fields_v1(),
            json!({"f:spec":{"f:replicas":{}}})
        );
        assert_eq!(
            c.added.to_fields_v1(),
            json!({"f:spec":{"f:strategy":{"f:type":{}},"f:template":{"f:metadata":{"f:labels":{".":{},"f:a":{}}}}}})
        );
        // Without schema every new map is a node of its own.
        let c = compare(&json!({}), &json!({"spec":{"a":1}}), None);
        assert_eq!(c.added.to_fields_v1(), json!({"f:spec":{".":{},"f:a":{}}}));
    }

    /// Cases of structured-merge-diff's comparison tests (`typed/symdiff_test.go`): added,
    /// modified and removed sets, checked both ways.
    #[test]
    fn compare_matches_structured_merge_diff_cases() {
        let schema = flotilla_schema::Schema::from_openapi_v3(&json!({
            "type": "object",
            "properties": {
                "numeric": {"type": "number"}, "string": {"type": "string"}, "bool": {"type": "boolean"},
                "setStr": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                "setBool": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "boolean"}},
                "atomicList": {"type": "array", "items": {"type": "string"}},
                "list": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["key", "id"],
                         "items": {"type": "object", "properties": {
                             "key": {"type": "string"}, "id": {"type": "number"},
                             "value": {"type": "object", "additionalProperties": {"type": "string"}}}}}
            }
        }))
        .expect("test schema parses");
        let typed = schema.root();
        let item = |key: &str, id: u32| format!("k:{{\"id\":{id},\"key\":\"{key}\"}}");
        let mut new_item = serde_json::Map::new();
        new_item.insert(
            item("a", 1),
            json!({".": {}, "f:id": {}, "f:key": {}, "f:value": {".": {}, "f:a": {}}}),
        );
        let cases: Vec<(Ty<'_>, Value, Value, Value, Value, Value)> = vec![
            // (type, lhs, rhs, removed, modified, added)
            (
                None,
                json!({"a":{}}),
                json!({"a":{"b":{}}}),
                json!({}),
                json!({}),
                json!({"f:a":{"f:b":{}}}),
            ),
            (
                None,
                json!({"a":null}),
                json!({"a":{"b":{}}}),
                json!({}),
                json!({}),
                json!({"f:a":{"f:b":{}}}),
            ),
            (
                None,
                json!({"a":[]}),
                json!({"a":["b"]}),
                json!({}),
                json!({"f:a":{}}),
                json!({}),
            ),
            (
                None,
                json!({"a":null}),
                json!({"a":"b"}),
                json!({}),
                json!({"f:a":{}}),
                json!({}),
            ),
            (
                None,
                json!({"a":{"b":{}}}),
                json!({"a":["b"]}),
                json!({"f:a":{"f:b":{}}}),
                json!({"f:a":{}}),
                json!({}),
            ),
            (
                None,
                json!({"a":{"b":{}}}),
                json!({"a":"b"}),
                json!({"f:a":{"f:b":{}}}),
                json!({"f:a":{}}),
                json!({}),
            ),
            (
                None,
                json!({"a":{"b":{"c":{}}}}),
                json!({"a":{"b":{}}}),
                json!({"f:a":{"f:b":{"f:c":{}}}}),
                json!({}),
                json!({}),
            ),
            (
                None,
                json!({"key":"foot"}),
                json!({"key":"foo","value":true}),
                json!({}),
                json!({"f:key":{}}),
                json!({"f:value":{}}),
            ),
            (
                typed,
                json!({"numeric":1}),
                json!({"numeric":2.5}),
                json!({}),
                json!({"f:numeric":{}}),
                json!({}),
            ),
            (
                typed,
                json!({"string":"aoeu"}),
                json!({"bool":true}),
                json!({"f:string":{}}),
                json!({}),
                json!({"f:bool":{}}),
            ),
            (
                typed,
                json!({"setStr":["a","b"]}),
                json!({"setStr":["a","b","c"]}),
                json!({}),
                json!({}),
                json!({"f:setStr":{"v:\"c\"":{}}}),
            ),
            (
                typed,
                json!({"setStr":["a","b","c"]}),
                json!({"setStr":[]}),
                json!({"f:setStr":{"v:\"a\"":{},"v:\"b\"":{},"v:\"c\"":{}}}),
                json!({}),
                json!({}),
            ),
            (
                typed,
                json!({"setBool":[true]}),
                json!({"setBool":[false]}),
                json!({"f:setBool":{"v:true":{}}}),
                json!({}),
                json!({"f:setBool":{"v:false":{}}}),
            ),
            (
                typed,
                json!({}),
                json!({"list":[{"key":"a","id":1,"value":{"a":"a"}}]}),
                json!({}),
                json!({}),
                json!({"f:list": {".": {}, item("a", 1): new_item[&item("a", 1)].clone()}}),
            ),
            (
                typed,
                json!({"list":[{"key":"a","id":1,"value":{"a":"a"}}]}),
                json!({"list":[{"key":"a","id":1,"value":{"a":"b"}}]}),
                json!({}),
                json!({"f:list":{item("a", 1): {"f:value":{"f:a":{}}}}}),
                json!({}),
            ),
            (
                typed,
                json!({"list":[{"key":"a","id":1},{"key":"b","id":1}]}),
                json!({"list":[{"key":"a","id":1},{"key":"a","id":2}]}),
                json!({"f:list":{item("b", 1): {".":{},"f:id":{},"f:key":{}}}}),
                json!({}),
                json!({"f:list":{item("a", 2): {".":{},"f:id":{},"f:key":{}}}}),
            ),
            (
                typed,
                json!({"atomicList":["a","b","c"]}),
                json!({"atomicList":[]}),
                json!({}),
                json!({"f:atomicList":{}}),
                json!({}),
            ),
            (
                typed,
                json!({"atomicList":["a","a","a"]}),
                json!({"atomicList":["a","a"]}),
                json!({}),
                json!({"f:atomicList":{}}),
                json!({}),
            ),
        ];
        for (ty, lhs, rhs, removed, modified, added) in cases {
            let c = compare(&lhs, &rhs, ty);
            let got = (
                c.removed.to_fields_v1(),
                c.modified.to_fields_v1(),
                c.added.to_fields_v1(),
            );
            assert_eq!(
                got,
                (removed.clone(), modified.clone(), added.clone()),
                "{lhs} -> {rhs}"
            );
            let r = compare(&rhs, &lhs, ty);
            let got = (
                r.removed.to_fields_v1(),
                r.modified.to_fields_v1(),
                r.added.to_fields_v1(),
            );
            assert_eq!(got, (added, modified, removed), "reverse of {lhs} -> {rhs}");
        }
    }

    #[test]
    fn remove_path_drops_emptied_unowned_parents() {
        let mut v = json!({"metadata":{"labels":{"a":"1"},"name":"x"}});
        let path = vec![
            PathElement::Field("metadata".into()),
            PathElement::Field("labels".into()),
            PathElement::Field("a".into()),
        ];
        assert!(remove_path(&mut v, &path, None, &FieldSet::new()));
        assert_eq!(v, json!({"metadata":{"name":"x"}}));
    }
}
