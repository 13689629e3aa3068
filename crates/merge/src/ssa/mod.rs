//! Server-side apply field ownership (`managedFields`) with Kubernetes' structured-merge-diff semantics.
//!
//! Two entry points, both pure functions over JSON objects:
//!
//! - [`apply`] serves `PATCH` with `application/apply-patch+yaml`: merges the applied
//!   configuration into the live object, detects conflicts with other managers, removes what
//!   the manager applied before and no longer applies (unless another manager owns it), and
//!   records the manager's `Apply` entry.
//! - [`record_update`] serves create, update and the other patch types: attributes every changed
//!   field to the manager's `Update` entry and takes it away from the others.
//!
//! The object's `metadata.managedFields` is both input (on the live object) and output (on the
//! returned object), encoded exactly as Kubernetes does (`FieldsV1`).
//!
//! ```
//! use flotilla_merge::{builtin_type, ssa};
//! use serde_json::json;
//!
//! let cm = |v: &str| json!({"apiVersion": "v1", "kind": "ConfigMap",
//!                          "metadata": {"name": "c"}, "data": {"key": v}});
//! let ty = builtin_type("v1", "ConfigMap");
//! let opts = |m: &str| ssa::ApplyOptions {
//!     manager: m.into(),
//!     time: "2026-11-26T10:00:00Z".into(),
//!     ..Default::default()
//! };
//! let live = ssa::apply(None, &cm("a"), ty, &opts("flux")).unwrap();
//! assert_eq!(live["metadata"]["managedFields"][0]["fieldsV1"], json!({"f:data": {"f:key": {}}}));
//! // Another manager changing the field conflicts (409) unless it forces.
//! let err = ssa::apply(Some(&live), &cm("b"), ty, &opts("other")).unwrap_err();
//! assert_eq!(err.to_string(), "Apply failed with 1 conflict: conflict with \"flux\": .data.key");
//! ```

mod fieldset;
mod managed;
mod typed;

use flotilla_schema::TypeRef;
use serde_json::{Map, Value};

use self::fieldset::path_string;
use self::managed::{Entry, APPLY, UPDATE};

pub use self::managed::{ANCIENT_CHANGES, APPLY as OPERATION_APPLY, UPDATE as OPERATION_UPDATE};

/// The manager Kubernetes credits with an object's existing fields when the first apply meets
/// an object that has no managed fields.
pub const BEFORE_FIRST_APPLY: &str = "before-first-apply";

/// Options of [`apply`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyOptions {
    /// The field manager (`?fieldManager=`). Required.
    pub manager: String,
    /// `?force=true`: take fields over from other managers instead of failing on conflicts.
    pub force: bool,
    /// The API version of the request; empty means the applied object's `apiVersion`.
    pub api_version: String,
    /// Timestamp to record (RFC 3339, `2026-11-26T13:00:00Z`).
    pub time: String,
    /// `Some("status")` when the request went through the status subresource.
    pub subresource: Option<String>,
    /// The kind has a status subresource: an apply to the main resource leaves `.status` alone,
    /// and an apply to `status` changes nothing but `.status`.
    pub status_subresource: bool,
}

/// Options of [`record_update`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateOptions {
    /// The field manager (`?fieldManager=`, or one derived from the user agent). Required.
    pub manager: String,
    /// The API version of the request; empty means the new object's `apiVersion`.
    pub api_version: String,
    /// Timestamp to record (RFC 3339).
    pub time: String,
    /// `Some("status")` when the request went through the status subresource.
    pub subresource: Option<String>,
}

/// One field an apply would take from another manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// The other manager's name.
    pub manager: String,
    /// The manager as Kubernetes prints it: `"kubectl"`, `"kube-controller-manager" using apps/v1`.
    pub described: String,
    /// The field, as Kubernetes prints it: `.spec.containers[name="app"].image`.
    pub field: String,
}

impl Conflict {
    /// The message of the matching `Status` cause (type `FieldManagerConflict`).
    pub fn cause_message(&self) -> String {
        format!("conflict with {}", self.described)
    }
}

/// An apply that would change fields other managers own. The API server answers 409 Conflict
/// with [`ApplyConflict::message`] and one cause per conflict.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ApplyConflict {
    /// Each conflicting field and its manager, grouped by manager.
    pub conflicts: Vec<Conflict>,
    /// Kubernetes' message: `Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas`.
    pub message: String,
}

impl ApplyConflict {
    /// The `Status` body the API server answers with (409, reason `Conflict`, one
    /// `FieldManagerConflict` cause per field).
    pub fn to_status(&self) -> Value {
        let causes: Vec<Value> = self
            .conflicts
            .iter()
            .map(|c| {
                serde_json::json!({
                    "reason": "FieldManagerConflict",
                    "message": c.cause_message(),
                    "field": c.field,
                })
            })
            .collect();
        serde_json::json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": "Conflict",
            "details": {"causes": causes},
            "code": 409,
        })
    }
}

/// Why server-side apply or update tracking failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsaError {
    /// Fields another manager owns would change (409); re-apply with `force` to take them.
    #[error(transparent)]
    Conflict(ApplyConflict),
    /// An input is not a JSON object.
    #[error("server-side apply: the {what} must be a JSON object")]
    NotAnObject {
        /// `"applied configuration"`, `"live object"` or `"new object"`.
        what: &'static str,
    },
    /// No field manager was given; the API server requires one for apply (`?fieldManager=`).
    #[error("server-side apply: a field manager is required; pass fieldManager")]
    MissingManager,
    /// The applied configuration carries `metadata.managedFields`, which Kubernetes refuses (400).
    #[error("server-side apply: metadata.managedFields must be nil in an applied configuration; remove it")]
    ManagedFieldsInApply,
}

fn api_version_of(explicit: &str, obj: &Value) -> String {
    if explicit.is_empty() {
        obj.get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    } else {
        explicit.to_string()
    }
}

/// Keeps from an applied configuration only what the request may change: everything but
/// `.status` through the main resource, only `.status` through the status subresource.
fn scope_config(config: &mut Value, opts: &ApplyOptions) {
    let Some(obj) = config.as_object_mut() else {
        return;
    };
    match opts.subresource.as_deref() {
        Some("status") => {
            let identity = |meta: &Value| {
                let mut m = Map::new();
                for k in ["name", "namespace"] {
                    if let Some(v) = meta.get(k) {
                        m.insert(k.to_string(), v.clone());
                    }
                }
                Value::Object(m)
            };
            obj.retain(|k, _| matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "status"));
            if let Some(meta) = obj.get_mut("metadata") {
                *meta = identity(meta);
            }
        }
        _ if opts.status_subresource => {
            obj.remove("status");
        }
        _ => {}
    }
}

/// Server-side apply: merges `applied` into `live` (`None` when creating) and returns the new
/// object with its `metadata.managedFields` updated for `opts.manager`.
///
/// `ty` is the object's root type (built-in kind or CRD schema); without one, objects merge
/// key by key and lists are replaced. Fields another manager owns and the apply would change
/// fail with [`SsaError::Conflict`] unless `opts.force`. When nothing changes, the result
/// equals `live` apart from managedFields changes a new co-owner brings (compare without
/// `metadata.managedFields` to decide whether to bump `resourceVersion`; Kubernetes still
/// persists managedFields changes).
pub fn apply(
    live: Option<&Value>,
    applied: &Value,
    ty: Option<TypeRef<'_>>,
    opts: &ApplyOptions,
) -> Result<Value, SsaError> {
    if !applied.is_object() {
        return Err(SsaError::NotAnObject {
            what: "applied configuration",
        });
    }
    if live.is_some_and(|l| !l.is_object()) {
        return Err(SsaError::NotAnObject {
            what: "live object",
        });
    }
    if opts.manager.is_empty() {
        return Err(SsaError::MissingManager);
    }
    if applied
        .pointer("/metadata/managedFields")
        .is_some_and(|v| !v.is_null())
    {
        return Err(SsaError::ManagedFieldsInApply);
    }
    let live_obj = live
        .map(managed::without_managed_fields)
        .unwrap_or_else(|| Value::Object(Map::new()));
    let mut managers = live.map(managed::decode).unwrap_or_default();
    if let Some(l) = live {
        if managers.is_empty() {
            managers.push(before_first_apply(l, &live_obj, ty, &opts.time));
        }
    }
    let mut config = managed::without_managed_fields(applied);
    scope_config(&mut config, opts);

    let mut me = Entry {
        manager: opts.manager.clone(),
        operation: APPLY.into(),
        api_version: api_version_of(&opts.api_version, applied),
        time: Some(opts.time.clone()),
        subresource: opts.subresource.clone().unwrap_or_default(),
        fields: typed::field_set(&config, ty),
    };
    managed::strip(&mut me.fields);
    let previous = managers.iter().position(|e| e.same_manager(&me));
    let previous = previous.map(|i| managers.remove(i));
    let last_set = previous
        .as_ref()
        .map(|e| e.fields.clone())
        .unwrap_or_default();

    let mut merged = typed::merge(&live_obj, &config, ty);
    take_changed_fields(&live_obj, &merged, ty, &mut managers, opts.force)?;

    // Prune what this manager applied last time, no longer applies, and nobody else owns.
    let mut owned = me.fields.clone();
    for e in &managers {
        owned.union_with(&e.fields);
    }
    for path in last_set.difference(&owned).paths() {
        typed::remove_path(&mut merged, &path, ty, &owned);
    }
    // Pruning removed fields: nobody owns them any more.
    take_changed_fields(&live_obj, &merged, ty, &mut managers, true)?;

    // Kubernetes stamps the applier's entry only when the object changed; otherwise the entry
    // keeps its time (a new entry then has none).
    if crate::json_patch::json_equal(&merged, &live_obj) {
        me.time = previous.as_ref().and_then(|p| p.time.clone());
    }
    managers.push(me);
    managed::encode(&mut merged, managers);
    Ok(merged)
}

/// Gives the fields an operation changes to nobody: other managers lose every field the change
/// adds, modifies or removes. Without `force`, losing a field that was added or modified is a
/// conflict instead.
fn take_changed_fields(
    before: &Value,
    after: &Value,
    ty: Option<TypeRef<'_>>,
    managers: &mut [Entry],
    force: bool,
) -> Result<(), SsaError> {
    let cmp = typed::compare(before, after, ty);
    let mut changed = cmp.added;
    changed.union_with(&cmp.modified);
    managed::strip(&mut changed);
    let mut removed = cmp.removed;
    managed::strip(&mut removed);
    if !force {
        let conflicts: Vec<(String, String, String)> = managers
            .iter()
            .flat_map(|e| {
                e.fields
                    .intersection(&changed)
                    .paths()
                    .into_iter()
                    .map(|p| (e.describe(), e.manager.clone(), path_string(&p)))
                    .collect::<Vec<_>>()
            })
            .collect();
        if !conflicts.is_empty() {
            return Err(SsaError::Conflict(conflict_error(conflicts)));
        }
    }
    for e in managers.iter_mut() {
        e.fields = e.fields.difference(&changed).difference(&removed);
    }
    Ok(())
}

fn conflict_error(mut conflicts: Vec<(String, String, String)>) -> ApplyConflict {
    conflicts.sort();
    let message = if let [(described, _, field)] = conflicts.as_slice() {
        format!("Apply failed with 1 conflict: conflict with {described}: {field}")
    } else {
        let mut lines: Vec<String> = Vec::new();
        let mut current: Option<&str> = None;
        for (described, _, field) in &conflicts {
            if current != Some(described.as_str()) {
                lines.push(format!("conflicts with {described}:"));
                current = Some(described);
            }
            lines.push(format!("- {field}"));
        }
        format!(
            "Apply failed with {} conflicts: {}",
            conflicts.len(),
            lines.join("\n")
        )
    };
    ApplyConflict {
        conflicts: conflicts
            .into_iter()
            .map(|(described, manager, field)| Conflict {
                manager,
                described,
                field,
            })
            .collect(),
        message,
    }
}

fn before_first_apply(
    live: &Value,
    live_obj: &Value,
    ty: Option<TypeRef<'_>>,
    time: &str,
) -> Entry {
    let mut fields = typed::compare(&Value::Object(Map::new()), live_obj, ty).added;
    managed::strip(&mut fields);
    Entry {
        manager: BEFORE_FIRST_APPLY.into(),
        operation: UPDATE.into(),
        api_version: api_version_of("", live),
        time: Some(time.to_string()),
        subresource: String::new(),
        fields,
    }
}

/// Records a create (`old` is `None`), update or non-apply patch in `new`'s managedFields:
/// every field added or changed is credited to `opts.manager`'s `Update` entry and taken from
/// other managers; removed fields are taken from everyone. Entries left empty disappear.
///
/// As in Kubernetes, managedFields sent by the client (main resource only) replace the stored
/// ones, an empty list leaves them alone, and `managedFields: [{}]` wipes them.
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    ty: Option<TypeRef<'_>>,
    opts: &UpdateOptions,
) -> Result<(), SsaError> {
    if !new.is_object() {
        return Err(SsaError::NotAnObject { what: "new object" });
    }
    if old.is_some_and(|o| !o.is_object()) {
        return Err(SsaError::NotAnObject {
            what: "live object",
        });
    }
    if opts.manager.is_empty() {
        return Err(SsaError::MissingManager);
    }
    // The client's managedFields win when it sent some (that is how they are edited), except
    // through a subresource; `[{}]` starts from none at all.
    let sent = new
        .pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .is_some_and(|l| !l.is_empty());
    let mut managers = if managed::requests_reset(new) {
        Vec::new()
    } else if sent && opts.subresource.is_none() {
        managed::decode(new)
    } else {
        old.map(managed::decode).unwrap_or_default()
    };
    let old_obj = old
        .map(managed::without_managed_fields)
        .unwrap_or_else(|| Value::Object(Map::new()));
    let new_obj = managed::without_managed_fields(new);

    let cmp = typed::compare(&old_obj, &new_obj, ty);
    let mut changed = cmp.added;
    changed.union_with(&cmp.modified);
    managed::strip(&mut changed);
    let mut removed = cmp.removed;
    managed::strip(&mut removed);

    let me = Entry {
        manager: opts.manager.clone(),
        operation: UPDATE.into(),
        api_version: api_version_of(&opts.api_version, new),
        time: Some(opts.time.clone()),
        subresource: opts.subresource.clone().unwrap_or_default(),
        fields: changed.clone(),
    };
    let mut found = false;
    for e in managers.iter_mut() {
        if e.same_manager(&me) {
            found = true;
            e.fields = e.fields.difference(&removed);
            if !changed.is_empty() {
                e.fields.union_with(&changed);
                e.time = me.time.clone();
            }
        } else {
            e.fields = e.fields.difference(&changed).difference(&removed);
        }
    }
    if !found && !changed.is_empty() {
        managers.push(me);
    }
    *new = new_obj;
    managed::cap_update_managers(&mut managers);
    managed::encode(new, managers);
    Ok(())
}

/// The fields an entry of `managedFields` owns, as paths printed the Kubernetes way
/// (`.spec.replicas`); `None` when the object has no entry for that manager and operation.
pub fn owned_fields(obj: &Value, manager: &str, operation: &str) -> Option<Vec<String>> {
    let entries = managed::decode(obj);
    let e = entries
        .iter()
        .find(|e| e.manager == manager && e.operation == operation)?;
    Some(e.fields.paths().iter().map(|p| path_string(p)).collect())
}

#[cfg(test)]
mod tests;
