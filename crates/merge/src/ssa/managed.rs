//! `metadata.managedFields` entries: decoding, manager identity, and encoding in Kubernetes' order.

use serde_json::{Map, Value};

use super::fieldset::{FieldSet, PathElement};

/// `Apply` or `Update`, as `managedFields[].operation` spells it.
pub const APPLY: &str = "Apply";
/// See [`APPLY`].
pub const UPDATE: &str = "Update";

/// One `managedFields` entry, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub manager: String,
    pub operation: String,
    pub api_version: String,
    pub time: Option<String>,
    pub subresource: String,
    pub fields: FieldSet,
}

impl Entry {
    /// Whether two entries are the same manager: Kubernetes keys appliers by name, operation
    /// and subresource, and updaters by API version as well.
    pub fn same_manager(&self, other: &Entry) -> bool {
        self.manager == other.manager
            && self.operation == other.operation
            && self.subresource == other.subresource
            && (self.operation == APPLY || self.api_version == other.api_version)
    }

    /// The manager as Kubernetes names it in conflict messages.
    pub fn describe(&self) -> String {
        let mut s = format!("{:?}", self.manager);
        if !self.subresource.is_empty() {
            s.push_str(&format!(" with subresource {:?}", self.subresource));
        }
        if self.operation == UPDATE {
            s.push_str(&format!(" using {}", self.api_version));
        }
        s
    }

    fn decode(v: &Value) -> Option<Entry> {
        let s = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let operation = s("operation");
        if operation != APPLY && operation != UPDATE {
            return None;
        }
        let fields = match v.get("fieldsV1") {
            Some(f) => FieldSet::from_fields_v1(f).ok()?,
            None => FieldSet::new(),
        };
        Some(Entry {
            manager: s("manager"),
            operation,
            api_version: s("apiVersion"),
            time: v.get("time").and_then(Value::as_str).map(str::to_string),
            subresource: s("subresource"),
            fields,
        })
    }

    fn encode(&self) -> Value {
        let mut m = Map::new();
        m.insert("manager".into(), Value::String(self.manager.clone()));
        m.insert("operation".into(), Value::String(self.operation.clone()));
        m.insert("apiVersion".into(), Value::String(self.api_version.clone()));
        if let Some(t) = &self.time {
            m.insert("time".into(), Value::String(t.clone()));
        }
        m.insert("fieldsType".into(), Value::String("FieldsV1".into()));
        m.insert("fieldsV1".into(), self.fields.to_fields_v1());
        if !self.subresource.is_empty() {
            m.insert(
                "subresource".into(),
                Value::String(self.subresource.clone()),
            );
        }
        Value::Object(m)
    }
}

/// The entries of an object's `metadata.managedFields`. Entries Kubernetes would reject (unknown
/// operation, unreadable `fieldsV1`) are dropped, as the API server resets unreadable
/// managed fields rather than failing the write. Repeated managers are merged.
pub(crate) fn decode(obj: &Value) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    let list = obj
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array);
    for e in list.into_iter().flatten().filter_map(Entry::decode) {
        match out.iter_mut().find(|o| o.same_manager(&e)) {
            Some(o) => o.fields.union_with(&e.fields),
            None => out.push(e),
        }
    }
    out
}

/// Writes `entries` (empty ones dropped) into `obj.metadata.managedFields`, in the order
/// Kubernetes keeps: operation, time, manager, API version, subresource. With no entry left the
/// field is removed.
pub(crate) fn encode(obj: &mut Value, mut entries: Vec<Entry>) {
    entries.retain(|e| !e.fields.is_empty());
    entries.sort_by(|a, b| {
        (
            &a.operation,
            &a.time,
            &a.manager,
            &a.api_version,
            &a.subresource,
        )
            .cmp(&(
                &b.operation,
                &b.time,
                &b.manager,
                &b.api_version,
                &b.subresource,
            ))
    });
    let Some(obj) = obj.as_object_mut() else {
        return;
    };
    if entries.is_empty() {
        if let Some(Value::Object(meta)) = obj.get_mut("metadata") {
            meta.remove("managedFields");
        }
        return;
    }
    let meta = obj
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(meta) = meta {
        meta.insert(
            "managedFields".into(),
            Value::Array(entries.iter().map(Entry::encode).collect()),
        );
    }
}

/// How many `Update` entries Kubernetes keeps before folding the oldest into
/// [`ANCIENT_CHANGES`].
pub(crate) const MAX_UPDATE_MANAGERS: usize = 10;

/// The manager that collects the fields of the oldest `Update` entries past the cap.
pub const ANCIENT_CHANGES: &str = "ancient-changes";

/// Keeps at most [`MAX_UPDATE_MANAGERS`] `Update` entries, as Kubernetes does: oldest first,
/// each entry past the cap is folded, per API version, into an `ancient-changes` entry that
/// takes the time of the newest entry folded into it.
pub(crate) fn cap_update_managers(entries: &mut Vec<Entry>) {
    let mut updaters: Vec<usize> = (0..entries.len())
        .filter(|&i| entries[i].operation == UPDATE)
        .collect();
    if updaters.len() <= MAX_UPDATE_MANAGERS {
        return;
    }
    updaters.sort_by(|&a, &b| {
        (&entries[a].time, &entries[a].manager).cmp(&(&entries[b].time, &entries[b].manager))
    });
    let mut remaining = updaters.len();
    let mut first_of_version: Vec<(String, usize)> = Vec::new();
    let mut folded: Vec<usize> = Vec::new();
    for &i in &updaters {
        if remaining <= MAX_UPDATE_MANAGERS {
            break;
        }
        let version = entries[i].api_version.clone();
        match first_of_version.iter().find(|(v, _)| *v == version) {
            None => first_of_version.push((version, i)),
            Some(&(_, first)) => {
                let (moved, time) = (entries[i].fields.clone(), entries[i].time.clone());
                let bucket = &mut entries[first];
                bucket.manager = ANCIENT_CHANGES.to_string();
                bucket.subresource = String::new();
                bucket.fields.union_with(&moved);
                bucket.time = time;
                folded.push(i);
                remaining -= 1;
            }
        }
    }
    folded.sort_unstable();
    for i in folded.into_iter().rev() {
        entries.remove(i);
    }
    // A bucket from an earlier cap and a new one of the same version become one entry.
    let mut merged: Vec<Entry> = Vec::with_capacity(entries.len());
    for e in entries.drain(..) {
        match merged.iter_mut().find(|m| m.same_manager(&e)) {
            Some(m) => {
                m.fields.union_with(&e.fields);
                if e.time > m.time {
                    m.time = e.time;
                }
            }
            None => merged.push(e),
        }
    }
    *entries = merged;
}

/// Fields Kubernetes never records in managedFields: identity and server-owned metadata.
pub(crate) fn strip(set: &mut FieldSet) {
    let f = |s: &str| PathElement::Field(s.to_string());
    set.remove_subtree(&[f("apiVersion")]);
    set.remove_subtree(&[f("kind")]);
    for name in [
        "name",
        "namespace",
        "creationTimestamp",
        "selfLink",
        "uid",
        "clusterName",
        "generation",
        "managedFields",
        "resourceVersion",
    ] {
        set.remove_subtree(&[f("metadata"), f(name)]);
    }
    // The metadata node itself (only its content is ever owned).
    let mut meta_node = FieldSet::new();
    meta_node.insert(&[f("metadata")]);
    *set = set.difference(&meta_node);
}

/// `obj` without `metadata.managedFields`.
pub(crate) fn without_managed_fields(obj: &Value) -> Value {
    let mut out = obj.clone();
    if let Some(Value::Object(meta)) = out.get_mut("metadata") {
        meta.remove("managedFields");
    }
    out
}

/// Whether the object asks to have its managed fields wiped: a list holding only empty
/// entries (`managedFields: [{}]`), as the Kubernetes documentation describes.
pub(crate) fn requests_reset(obj: &Value) -> bool {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .is_some_and(|l| {
            !l.is_empty() && l.iter().all(|e| e.as_object().is_some_and(Map::is_empty))
        })
}
