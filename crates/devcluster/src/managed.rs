//! managedFields: field ownership recorded on every write, and server-side apply, both
//! through flotilla-merge's `ssa`.

use flotilla_merge::ssa;
use serde_json::Value;

use crate::errors::{ApiError, Cause};
use crate::handlers::Req;
use crate::objects::now_rfc3339;
use crate::resources::Resource;

/// The schema type of the resource at `version` (built-in or the CRD's), if known.
fn type_of<'r>(res: &'r Resource, version: &str) -> Option<flotilla_schema::TypeRef<'r>> {
    match &res.crd {
        Some(_) => res.schemas.get(version).and_then(|s| s.root()),
        None => {
            flotilla_schema::Schema::kubernetes().for_kind(&res.api_version(version), &res.kind)
        }
    }
}

fn ssa_error(req: &Req, e: ssa::SsaError) -> ApiError {
    match e {
        ssa::SsaError::Conflict(c) => ApiError::Conflict {
            group: req.res.group.clone(),
            kind: req.res.plural.clone(),
            name: req.name().to_string(),
            message: c.message.clone(),
            causes: c
                .conflicts
                .iter()
                .map(|x| Cause {
                    reason: "FieldManagerConflict".into(),
                    field: x.field.clone(),
                    message: x.cause_message(),
                })
                .collect(),
        },
        ssa::SsaError::MissingManager => ApiError::BadRequest(e.to_string()),
        other => ApiError::BadRequest(other.to_string()),
    }
}

/// Records `manager`'s ownership of the fields this (non-apply) write changed.
pub(crate) fn record(
    req: &Req,
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    sub: Option<&str>,
) -> Result<(), ApiError> {
    let opts = ssa::UpdateOptions {
        manager: manager.to_string(),
        api_version: req.api_version(),
        time: now_rfc3339(),
        subresource: sub.map(String::from),
    };
    ssa::record_update(old, new, type_of(&req.res, &req.path.version), &opts)
        .map_err(|e| ssa_error(req, e))
}

/// The object after `manager` applies `applied` to `live` (None: the object is new), with
/// its managedFields; 409 with one cause per conflicting field unless `force`.
pub(crate) fn apply(
    req: &Req,
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    force: bool,
) -> Result<Value, ApiError> {
    let opts = ssa::ApplyOptions {
        manager: manager.to_string(),
        force,
        api_version: req.api_version(),
        time: now_rfc3339(),
        subresource: req.path.subresource.clone(),
        status_subresource: req.res.status,
    };
    ssa::apply(live, applied, type_of(&req.res, &req.path.version), &opts)
        .map_err(|e| ssa_error(req, e))
}

/// Records a controller's status write (manager `manager`, subresource status).
pub(crate) fn record_controller(res: &Resource, new: &mut Value, old: &Value, manager: &str) {
    let version = old["apiVersion"]
        .as_str()
        .map(|av| crate::resources::split_api_version(av).1.to_string())
        .unwrap_or_else(|| res.versions[0].clone());
    let opts = ssa::UpdateOptions {
        manager: manager.to_string(),
        api_version: res.api_version(&version),
        time: now_rfc3339(),
        subresource: Some("status".into()),
    };
    // Ownership bookkeeping must not stop the status write: on failure the entry is
    // simply not updated.
    let _ = ssa::record_update(Some(old), new, type_of(res, &version), &opts);
}
