//! Sets of field paths and their `FieldsV1` encoding (`f:`, `k:`, `v:`, `i:`, `.`), as managedFields stores them.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

/// One step of a path into an object.
///
/// The derived order (field names, then keys, then values, then indexes) is the order
/// Kubernetes writes `FieldsV1` in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PathElement {
    /// A struct field or map key: `f:<name>`.
    Field(String),
    /// An item of an associative list, by its key fields: `k:{"name":"x"}`. Holds the
    /// compact JSON object of the key fields with names sorted.
    Key(String),
    /// An item of a set list, by its value: `v:"x"`. Holds the compact JSON value.
    Value(String),
    /// An item of a list by position: `i:<n>`.
    Index(usize),
}

impl PathElement {
    /// The key element of an associative-list item: its `keys` fields, sorted by name.
    /// Key fields the item lacks are left out.
    pub fn key_of(item: &Value, keys: &[String]) -> PathElement {
        PathElement::key_with_defaults(item, keys, |_| None)
    }

    /// [`PathElement::key_of`], with `default` supplying key fields the item lacks (as
    /// Kubernetes uses schema defaults of list-map keys, e.g. a port's `protocol: TCP`).
    pub fn key_with_defaults(
        item: &Value,
        keys: &[String],
        default: impl Fn(&str) -> Option<Value>,
    ) -> PathElement {
        let defaults: Vec<(&str, Value)> = keys
            .iter()
            .filter(|k| item.get(k.as_str()).is_none())
            .filter_map(|k| default(k).map(|v| (k.as_str(), v)))
            .collect();
        let mut sorted: BTreeMap<&str, &Value> = keys
            .iter()
            .filter_map(|k| item.get(k).map(|v| (k.as_str(), v)))
            .collect();
        for (k, v) in &defaults {
            sorted.insert(k, v);
        }
        PathElement::Key(compact_sorted(sorted))
    }

    /// The value element of a set-list item.
    pub fn value_of(item: &Value) -> PathElement {
        PathElement::Value(compact(item))
    }

    /// The `FieldsV1` key for this element.
    fn encode(&self) -> String {
        match self {
            PathElement::Field(name) => format!("f:{name}"),
            PathElement::Key(json) => format!("k:{json}"),
            PathElement::Value(json) => format!("v:{json}"),
            PathElement::Index(i) => format!("i:{i}"),
        }
    }

    fn decode(s: &str) -> Result<PathElement, String> {
        let (prefix, rest) = s
            .split_once(':')
            .ok_or_else(|| format!("{s:?} is not a FieldsV1 path element"))?;
        match prefix {
            "f" => Ok(PathElement::Field(rest.to_string())),
            "k" => {
                let v: Value = serde_json::from_str(rest)
                    .map_err(|e| format!("{s:?}: key is not JSON: {e}"))?;
                let Value::Object(m) = v else {
                    return Err(format!("{s:?}: key must be a JSON object"));
                };
                let sorted: BTreeMap<&str, &Value> =
                    m.iter().map(|(k, v)| (k.as_str(), v)).collect();
                Ok(PathElement::Key(compact_sorted(sorted)))
            }
            "v" => {
                let v: Value = serde_json::from_str(rest)
                    .map_err(|e| format!("{s:?}: value is not JSON: {e}"))?;
                Ok(PathElement::Value(compact(&v)))
            }
            "i" => rest
                .parse()
                .map(PathElement::Index)
                .map_err(|_| format!("{s:?}: index is not a number")),
            _ => Err(format!("{s:?}: unknown path element prefix {prefix:?}")),
        }
    }

    /// Whether a list item is the one this element names.
    pub fn matches_item(&self, index: usize, item: &Value) -> bool {
        match self {
            PathElement::Field(_) => false,
            PathElement::Key(json) => {
                let Ok(Value::Object(key)) = serde_json::from_str::<Value>(json) else {
                    return false;
                };
                let names: Vec<String> = key.keys().cloned().collect();
                key.iter().all(|(k, v)| item.get(k) == Some(v))
                    && PathElement::key_of(item, &names) == *self
            }
            PathElement::Value(json) => compact(item) == *json,
            PathElement::Index(i) => *i == index,
        }
    }
}

/// Compact JSON, with object members sorted by name at every level (as Go's encoder writes maps).
fn compact(v: &Value) -> String {
    match v {
        Value::Object(m) => compact_sorted(m.iter().map(|(k, v)| (k.as_str(), v)).collect()),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(compact).collect();
            format!("[{}]", parts.join(","))
        }
        scalar => scalar.to_string(),
    }
}

fn compact_sorted(members: BTreeMap<&str, &Value>) -> String {
    let parts: Vec<String> = members
        .into_iter()
        .map(|(k, v)| format!("{}:{}", Value::String(k.to_string()), compact(v)))
        .collect();
    format!("{{{}}}", parts.join(","))
}

/// Paths print as Kubernetes prints them in conflict messages: `.spec.containers[name="app"].image`.
impl fmt::Display for PathElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathElement::Field(name) => write!(f, ".{name}"),
            PathElement::Key(json) => {
                let parsed: Map<String, Value> = serde_json::from_str(json).unwrap_or_default();
                let parts: Vec<String> = parsed
                    .iter()
                    .map(|(k, v)| format!("{k}={}", compact(v)))
                    .collect();
                write!(f, "[{}]", parts.join(","))
            }
            PathElement::Value(json) => write!(f, "[={json}]"),
            PathElement::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// A path from the object root.
pub type Path = Vec<PathElement>;

/// Formats a path for messages.
pub fn path_string(path: &[PathElement]) -> String {
    path.iter().map(ToString::to_string).collect()
}

/// A set of paths, stored as a tree: a node is a member of the set when `member` is true;
/// its children hold longer paths.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    member: bool,
    children: BTreeMap<PathElement, FieldSet>,
}

impl FieldSet {
    /// The empty set.
    pub fn new() -> FieldSet {
        FieldSet::default()
    }

    /// Whether the set holds no path.
    pub fn is_empty(&self) -> bool {
        !self.member && self.children.values().all(FieldSet::is_empty)
    }

    /// Adds a path.
    pub fn insert(&mut self, path: &[PathElement]) {
        match path.split_first() {
            None => self.member = true,
            Some((first, rest)) => self.children.entry(first.clone()).or_default().insert(rest),
        }
    }

    /// Whether the set holds exactly this path.
    pub fn contains(&self, path: &[PathElement]) -> bool {
        match path.split_first() {
            None => self.member,
            Some((first, rest)) => self.children.get(first).is_some_and(|c| c.contains(rest)),
        }
    }

    /// Whether the set holds some path strictly longer than `path` that starts with it.
    pub fn has_below(&self, path: &[PathElement]) -> bool {
        match path.split_first() {
            None => self.children.values().any(|c| !c.is_empty()),
            Some((first, rest)) => self.children.get(first).is_some_and(|c| c.has_below(rest)),
        }
    }

    /// Adds every path of `other`.
    pub fn union_with(&mut self, other: &FieldSet) {
        self.member |= other.member;
        for (k, v) in &other.children {
            self.children.entry(k.clone()).or_default().union_with(v);
        }
    }

    /// Paths of `self` not in `other`.
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            member: self.member && !other.member,
            children: BTreeMap::new(),
        };
        for (k, v) in &self.children {
            let d = match other.children.get(k) {
                Some(o) => v.difference(o),
                None => v.clone(),
            };
            if !d.is_empty() {
                out.children.insert(k.clone(), d);
            }
        }
        out
    }

    /// Paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        let mut out = FieldSet {
            member: self.member && other.member,
            children: BTreeMap::new(),
        };
        for (k, v) in &self.children {
            if let Some(o) = other.children.get(k) {
                let i = v.intersection(o);
                if !i.is_empty() {
                    out.children.insert(k.clone(), i);
                }
            }
        }
        out
    }

    /// Every path of the set, in `FieldsV1` order.
    pub fn paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        self.collect_paths(&mut Vec::new(), &mut out);
        out
    }

    fn collect_paths(&self, prefix: &mut Path, out: &mut Vec<Path>) {
        if self.member {
            out.push(prefix.clone());
        }
        for (k, v) in &self.children {
            prefix.push(k.clone());
            v.collect_paths(prefix, out);
            prefix.pop();
        }
    }

    /// Removes `path` and everything below it.
    pub fn remove_subtree(&mut self, path: &[PathElement]) {
        match path.split_first() {
            None => *self = FieldSet::default(),
            Some((first, rest)) => {
                if let Some(c) = self.children.get_mut(first) {
                    c.remove_subtree(rest);
                    if c.is_empty() {
                        self.children.remove(first);
                    }
                }
            }
        }
    }

    /// The `FieldsV1` JSON of the set: `{"f:spec":{"f:replicas":{}}}`, with `".": {}` on a
    /// node that is itself a member and also has members below it.
    pub fn to_fields_v1(&self) -> Value {
        let mut m = Map::new();
        if self.member && self.children.values().any(|c| !c.is_empty()) {
            m.insert(".".into(), Value::Object(Map::new()));
        }
        for (k, v) in &self.children {
            if !v.is_empty() {
                m.insert(k.encode(), v.to_fields_v1());
            }
        }
        Value::Object(m)
    }

    /// Parses `FieldsV1` JSON.
    pub fn from_fields_v1(v: &Value) -> Result<FieldSet, String> {
        let mut set = FieldSet::default();
        set.read_children(v)?;
        Ok(set)
    }

    fn read_children(&mut self, v: &Value) -> Result<(), String> {
        let Value::Object(m) = v else {
            return Err("FieldsV1 nodes must be JSON objects".into());
        };
        for (k, child) in m {
            if k == "." {
                self.member = true;
                continue;
            }
            let pe = PathElement::decode(k)?;
            let node = self.children.entry(pe).or_default();
            let is_leaf = child.as_object().is_some_and(Map::is_empty);
            if is_leaf {
                node.member = true;
            } else {
                node.read_children(child)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(name: &str) -> PathElement {
        PathElement::Field(name.into())
    }

    #[test]
    fn fields_v1_round_trip_with_dot_keys_values_and_indexes() {
        let v = json!({
            "f:metadata": {"f:labels": {".": {}, "f:app": {}}},
            "f:spec": {
                "f:containers": {
                    "k:{\"name\":\"nginx\"}": {".": {}, "f:image": {}, "f:name": {},
                        "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}}
                },
                "f:args": {"i:0": {}}
            },
            "f:metadata2": {"f:finalizers": {"v:\"a/b\"": {}}}
        });
        let set = FieldSet::from_fields_v1(&v).expect("valid FieldsV1");
        assert!(set.contains(&[f("metadata"), f("labels")]));
        assert!(set.contains(&[f("metadata"), f("labels"), f("app")]));
        assert!(!set.contains(&[f("metadata")]));
        let item = PathElement::key_of(&json!({"name":"nginx","image":"x"}), &["name".into()]);
        assert!(set.contains(&[f("spec"), f("containers"), item.clone()]));
        assert_eq!(set.to_fields_v1(), v);
        assert_eq!(
            path_string(&[f("spec"), f("containers"), item, f("image")]),
            ".spec.containers[name=\"nginx\"].image"
        );
    }

    #[test]
    fn key_json_is_sorted_and_compact() {
        let pe = PathElement::key_of(
            &json!({"protocol":"TCP","containerPort":80,"name":"http"}),
            &["protocol".into(), "containerPort".into()],
        );
        assert_eq!(
            pe,
            PathElement::Key("{\"containerPort\":80,\"protocol\":\"TCP\"}".into())
        );
        assert_eq!(pe.encode(), "k:{\"containerPort\":80,\"protocol\":\"TCP\"}");
        assert_eq!(
            PathElement::decode("k:{\"protocol\": \"TCP\", \"containerPort\": 80}"),
            Ok(pe)
        );
    }

    #[test]
    fn set_algebra() {
        let mut a = FieldSet::new();
        a.insert(&[f("a"), f("b")]);
        a.insert(&[f("a"), f("c")]);
        a.insert(&[f("a")]);
        let mut b = FieldSet::new();
        b.insert(&[f("a"), f("c")]);
        let d = a.difference(&b);
        assert_eq!(d.paths(), vec![vec![f("a")], vec![f("a"), f("b")]]);
        assert_eq!(a.intersection(&b), b);
        let mut u = d.clone();
        u.union_with(&b);
        assert_eq!(u, a);
        assert!(a.difference(&a).is_empty());
        assert!(a.has_below(&[f("a")]));
        assert!(!a.has_below(&[f("a"), f("c")]));
        assert!(!b.has_below(&[f("b")]));
    }
}
