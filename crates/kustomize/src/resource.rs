//! One object in a build, its identity (group/version/kind, name, namespace) and the history kustomize tracks beside it.
//!
//! kustomize keeps this history in internal annotations; here it lives in struct fields, so
//! nothing has to be stripped from the output and nothing is re-parsed from strings.

use std::fmt;

use serde_json::{Map, Value};

/// Group, version and kind of an object (or a selector over them, where empty means any).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gvk {
    /// API group; empty for the core group.
    pub group: String,
    /// API version.
    pub version: String,
    /// Kind.
    pub kind: String,
}

impl Gvk {
    /// Splits `apiVersion` into group and version (`v1` has no group).
    pub fn from_api_version(api_version: &str, kind: &str) -> Gvk {
        let (group, version) = match api_version.rsplit_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        Gvk {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
        }
    }

    /// `group/version`, or `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Whether this GVK matches a selector whose empty parts match anything.
    pub fn is_selected(&self, selector: &Gvk) -> bool {
        (selector.group.is_empty() || selector.group == self.group)
            && (selector.version.is_empty() || selector.version == self.version)
            && (selector.kind.is_empty() || selector.kind == self.kind)
    }

    /// Cluster-scoped by the embedded schema; unknown kinds (CRDs) count as namespaced, as
    /// kustomize's `IsCertainlyClusterScoped` does.
    pub fn is_cluster_scoped(&self) -> bool {
        crate::scope::is_cluster_scoped(&self.api_version(), &self.kind)
    }
}

impl fmt::Display for Gvk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let group = if self.group.is_empty() {
            "[noGrp]"
        } else {
            &self.group
        };
        write!(f, "{}.{}.{}", self.kind, self.version, group)
    }
}

/// The namespace kustomize reports for cluster-scoped objects.
pub const NOT_A_NAMESPACE: &str = "_non_namespaceable_";

/// Identity of an object: GVK, name and namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ResId {
    /// Group, version, kind.
    pub gvk: Gvk,
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` as written (may be empty).
    pub namespace: String,
}

impl ResId {
    /// `default` for namespaced objects without a namespace, a marker for cluster-scoped ones.
    pub fn effective_namespace(&self) -> &str {
        if self.gvk.is_cluster_scoped() {
            NOT_A_NAMESPACE
        } else if self.namespace.is_empty() {
            "default"
        } else {
            &self.namespace
        }
    }

    /// Same effective namespace.
    pub fn is_ns_equals(&self, other: &ResId) -> bool {
        self.effective_namespace() == other.effective_namespace()
    }

    /// Same GVK, name and effective namespace (kustomize's `ResId.Equals`).
    pub fn equals(&self, other: &ResId) -> bool {
        self.gvk == other.gvk && self.name == other.name && self.is_ns_equals(other)
    }
}

impl fmt::Display for ResId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ns = if self.namespace.is_empty() {
            "[noNs]"
        } else {
            &self.namespace
        };
        write!(f, "{}|{}|{}", self.gvk, ns, self.name)
    }
}

/// How a generated object combines with one of the same id from a base.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Behavior {
    /// A new object; an existing one with the same id is an error.
    #[default]
    Create,
    /// Replace the existing object's data, keeping its name and metadata.
    Replace,
    /// Merge data into the existing object.
    Merge,
}

impl Behavior {
    /// Parses kustomize's behavior names (empty means create).
    pub fn parse(s: &str) -> Option<Behavior> {
        match s {
            "" | "create" => Some(Behavior::Create),
            "replace" => Some(Behavior::Replace),
            "merge" => Some(Behavior::Merge),
            _ => None,
        }
    }
}

/// One object of a build plus what kustomize remembers about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Resource {
    /// The object itself (always a JSON object).
    pub obj: Value,
    /// Earlier (namespace, name, kind) triples, oldest first; namespaces are effective ones.
    pub prev: Vec<(String, String, String)>,
    /// Name prefixes applied, innermost first.
    pub prefixes: Vec<String>,
    /// Name suffixes applied, innermost first.
    pub suffixes: Vec<String>,
    /// Generator behavior (generated objects only).
    pub behavior: Behavior,
    /// A content hash is appended to the name at the end of the build.
    pub needs_hash: bool,
    /// Objects this one is referred to by (filled by name-reference fixing).
    pub ref_by: Vec<ResId>,
    /// Names of vars that read from this object.
    pub ref_var_names: Vec<String>,
    /// Where the object came from, as kustomize's `config.kubernetes.io/origin` text.
    pub origin: Option<String>,
    /// Transformers that ran over it, as entries of kustomize's transformations annotation.
    pub transformations: Vec<String>,
}

fn str_at<'a>(v: &'a Value, a: &str, b: Option<&str>) -> &'a str {
    let x = v.get(a);
    let x = match b {
        Some(b) => x.and_then(|x| x.get(b)),
        None => x,
    };
    x.and_then(Value::as_str).unwrap_or("")
}

impl Resource {
    /// Wraps an object.
    pub fn new(obj: Value) -> Resource {
        Resource {
            obj,
            prev: Vec::new(),
            prefixes: Vec::new(),
            suffixes: Vec::new(),
            behavior: Behavior::Create,
            needs_hash: false,
            ref_by: Vec::new(),
            ref_var_names: Vec::new(),
            origin: None,
            transformations: Vec::new(),
        }
    }

    /// `kind`.
    pub fn kind(&self) -> &str {
        str_at(&self.obj, "kind", None)
    }
    /// `apiVersion`.
    pub fn api_version(&self) -> &str {
        str_at(&self.obj, "apiVersion", None)
    }
    /// `metadata.name`.
    pub fn name(&self) -> &str {
        str_at(&self.obj, "metadata", Some("name"))
    }
    /// `metadata.namespace`.
    pub fn namespace(&self) -> &str {
        str_at(&self.obj, "metadata", Some("namespace"))
    }
    /// Group/version/kind.
    pub fn gvk(&self) -> Gvk {
        Gvk::from_api_version(self.api_version(), self.kind())
    }
    /// The current id.
    pub fn cur_id(&self) -> ResId {
        ResId {
            gvk: self.gvk(),
            name: self.name().to_string(),
            namespace: self.namespace().to_string(),
        }
    }

    /// Earlier ids, oldest first (apiVersion is always the current one, as in kustomize).
    pub fn prev_ids(&self) -> Vec<ResId> {
        let gvk = self.gvk();
        self.prev
            .iter()
            .map(|(ns, name, kind)| ResId {
                gvk: Gvk {
                    kind: kind.clone(),
                    ..gvk.clone()
                },
                name: name.clone(),
                namespace: if ns == NOT_A_NAMESPACE {
                    String::new()
                } else {
                    ns.clone()
                },
            })
            .collect()
    }

    /// The id the object had when it was read or generated.
    pub fn org_id(&self) -> ResId {
        self.prev_ids()
            .into_iter()
            .next()
            .unwrap_or_else(|| self.cur_id())
    }

    /// Previous ids followed by the current one (kustomize's `GetMatchingResourcesByAnyId`).
    pub fn all_ids(&self) -> Vec<ResId> {
        let mut ids = self.prev_ids();
        ids.push(self.cur_id());
        ids
    }

    /// Remembers the current id before a rename, namespace or kind change.
    pub fn store_previous_id(&mut self) {
        let id = self.cur_id();
        self.prev.push((
            id.effective_namespace().to_string(),
            id.name.clone(),
            id.gvk.kind.clone(),
        ));
    }

    fn metadata_mut(&mut self) -> &mut Map<String, Value> {
        let obj = object_mut(&mut self.obj);
        let md = obj
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if !md.is_object() {
            *md = Value::Object(Map::new());
        }
        md.as_object_mut()
            .expect("metadata was just made an object")
    }

    /// Sets `metadata.name`.
    pub fn set_name(&mut self, name: &str) {
        self.metadata_mut()
            .insert("name".into(), Value::String(name.into()));
    }

    /// Sets `metadata.namespace`; empty removes it.
    pub fn set_namespace(&mut self, ns: &str) {
        let md = self.metadata_mut();
        if ns.is_empty() {
            md.remove("namespace");
        } else {
            md.insert("namespace".into(), Value::String(ns.into()));
        }
    }

    /// Sets `kind`.
    pub fn set_kind(&mut self, kind: &str) {
        object_mut(&mut self.obj).insert("kind".into(), Value::String(kind.into()));
    }

    /// A string map under `metadata` (labels or annotations); empty when absent.
    pub fn string_map(&self, field: &str) -> Map<String, Value> {
        self.obj
            .get("metadata")
            .and_then(|m| m.get(field))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default()
    }

    /// Replaces a string map under `metadata`; empty removes it.
    pub fn set_string_map(&mut self, field: &str, map: Map<String, Value>) {
        let md = self.metadata_mut();
        if map.is_empty() {
            md.remove(field);
        } else {
            md.insert(field.into(), Value::Object(map));
        }
    }

    /// Whether both were given the same trailing prefixes and suffixes (kustomize's
    /// `PrefixesSuffixesEquals`, used to pick one of several same-named referral targets).
    pub fn prefixes_suffixes_equal(&self, other: &Resource) -> bool {
        same_ending(&self.prefixes, &other.prefixes) && same_ending(&self.suffixes, &other.suffixes)
    }

    /// A `null` or empty object (what a `$patch: delete` leaves).
    pub fn is_nil_or_empty(&self) -> bool {
        match &self.obj {
            Value::Null => true,
            Value::Object(m) => m.is_empty(),
            _ => false,
        }
    }
}

/// Whether the shorter slice is the tail of the longer one; an empty slice only matches another.
pub fn same_ending(a: &[String], b: &[String]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if short.is_empty() {
        return long.is_empty();
    }
    long[long.len() - short.len()..] == *short
}

/// The object map of a value, turning a non-object into an empty object first.
pub fn object_mut(v: &mut Value) -> &mut Map<String, Value> {
    if !v.is_object() {
        *v = Value::Object(Map::new());
    }
    v.as_object_mut().expect("value was just made an object")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_and_history() {
        let mut r = Resource::new(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "a"}}));
        assert_eq!(r.cur_id().effective_namespace(), "default");
        r.store_previous_id();
        r.set_name("p-a");
        r.set_namespace("x");
        assert_eq!(r.org_id().name, "a");
        assert_eq!(r.cur_id().name, "p-a");
        assert_eq!(r.org_id().namespace, "default");
        assert!(r.gvk().is_selected(&Gvk {
            group: "apps".into(),
            ..Gvk::default()
        }));
    }

    #[test]
    fn ending_slices() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert!(same_ending(&s(&["a", "b"]), &s(&["b"])));
        assert!(!same_ending(&s(&["a", "b"]), &s(&["a"])));
        assert!(!same_ending(&s(&[]), &s(&["a"])));
        assert!(same_ending(&s(&[]), &s(&[])));
    }
}
