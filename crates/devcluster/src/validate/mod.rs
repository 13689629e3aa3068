//! Validation on every write, in kube-apiserver's order: decoding (unknown fields per
//! fieldValidation Strict/Warn/Ignore, type errors: 400), then the kind's own rules and,
//! on updates, immutable fields (422 Invalid with causes).
//!
//! Custom resources get their structural schema (pruning, defaults); built-in kinds the
//! embedded v1.21.2 schema plus the fields added since ([`additions`]), the validation
//! rules manifests most often meet ([`rules`]) and immutable fields ([`immutable`]).

mod additions;
mod decode;
mod immutable;
mod rules;

use base64::Engine;
use serde_json::Value;

use crate::errors::{ApiError, Cause};
use crate::handlers::Req;
use crate::server::Ctx;

fn reason(kind: &flotilla_schema::FieldErrorKind) -> &'static str {
    use flotilla_schema::FieldErrorKind as K;
    match kind {
        K::Required => "FieldValueRequired",
        K::NotSupported => "FieldValueNotSupported",
        K::TooLong => "FieldValueTooLong",
        K::TooMany => "FieldValueTooMany",
        K::Duplicate => "FieldValueDuplicate",
        _ => "FieldValueInvalid",
    }
}

/// `Deployment in version "v1" cannot be handled as a Deployment: <why>` (400).
fn undecodable(req: &Req, why: &str) -> ApiError {
    let kind = &req.res.kind;
    ApiError::BadRequest(format!(
        "{kind} in version \"{}\" cannot be handled as a {kind}: {why}",
        req.path.version
    ))
}

/// Unknown fields: an error under fieldValidation=Strict, warnings unless Ignore.
fn unknown_fields(req: &Req, unknown: &[String]) -> Result<(), ApiError> {
    if unknown.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = unknown
        .iter()
        .map(|f| format!("unknown field \"{f}\""))
        .collect();
    match req.q("fieldValidation") {
        Some("Strict") => Err(undecodable(
            req,
            &format!("strict decoding error: {}", list.join(", ")),
        )),
        Some("Ignore") => Ok(()),
        _ => {
            for w in list {
                req.warn(w);
            }
            Ok(())
        }
    }
}

/// The embedded schema's root type for a built-in kind; `autoscaling/v2` (newer than the
/// schema) is checked as `v2beta2`, its identical predecessor.
pub(crate) fn builtin_root(
    api_version: &str,
    kind: &str,
) -> Option<flotilla_schema::TypeRef<'static>> {
    let av = match api_version {
        "autoscaling/v2" => "autoscaling/v2beta2",
        other => other,
    };
    flotilla_schema::Schema::kubernetes().for_kind(av, kind)
}

/// A Secret's `stringData` merged into `data` (base64), as the API server stores it.
fn fold_string_data(obj: &mut Value) {
    let Some(m) = obj.as_object_mut() else { return };
    let Some(Value::Object(strings)) = m.remove("stringData") else {
        return;
    };
    let data = m
        .entry("data")
        .or_insert_with(|| Value::Object(Default::default()));
    if !data.is_object() {
        *data = Value::Object(Default::default());
    }
    if let Some(d) = data.as_object_mut() {
        for (k, v) in strings {
            let text = v.as_str().unwrap_or_default();
            let encoded = base64::engine::general_purpose::STANDARD.encode(text);
            d.insert(k, Value::String(encoded));
        }
    }
}

/// Decodes and validates a built-in kind's object; `old` is the stored object on updates.
fn check_builtin(req: &Req, obj: &mut Value, old: Option<&Value>) -> Result<(), ApiError> {
    let res = &req.res;
    if let Some(root) = builtin_root(&req.api_version(), &res.kind) {
        let mut decoded = decode::decode(root, obj);
        if let Some(e) = decoded.error {
            return Err(undecodable(req, &e));
        }
        // Outside status writes the status is the stored one, not the client's.
        if res.status && req.path.subresource.is_none() && old.is_some() {
            decoded.unknown.retain(|p| !p.starts_with("status."));
        }
        unknown_fields(req, &decoded.unknown)?;
    }
    if res.group.is_empty() && res.kind == "Secret" {
        fold_string_data(obj);
    }
    if req.path.subresource.as_deref() == Some("status") {
        return Ok(());
    }
    let mut causes = rules::check(&res.group, &res.kind, obj);
    if let Some(old) = old {
        causes.extend(immutable::check(&res.group, &res.kind, old, obj));
    }
    if causes.is_empty() {
        return Ok(());
    }
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    Err(ApiError::invalid(&res.group, &res.kind, name, causes))
}

/// Checks an object about to be stored (after merging, defaults and carried-over fields).
pub(crate) fn check(
    ctx: &Ctx,
    req: &Req,
    obj: &mut Value,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    let _ = ctx;
    let res = &req.res;
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if res.group == "apiextensions.k8s.io" && res.kind == "CustomResourceDefinition" {
        let causes = crate::crd::validate(obj);
        if !causes.is_empty() {
            return Err(ApiError::invalid(&res.group, &res.kind, &name, causes));
        }
    }
    if res.crd.is_none() {
        return check_builtin(req, obj, old);
    }
    let Some(root) = res.schemas.get(&req.path.version).and_then(|s| s.root()) else {
        return Ok(());
    };
    let opts = flotilla_schema::CheckOptions {
        prune_unknown: true,
        apply_defaults: true,
    };
    // The embedded v1.21.2 ObjectMeta predates managedFields[].subresource (v1.22), which
    // this server writes itself: a client sending an object back must not have it refused
    // or pruned, so it stays out of the schema check.
    let subresources = take_managed_subresources(obj);
    let report = flotilla_schema::check(root, obj, &opts);
    restore_managed_subresources(obj, subresources);
    unknown_fields(req, &report.unknown_fields)?;
    if !report.errors.is_empty() {
        let causes = report
            .errors
            .iter()
            .map(|e| Cause {
                reason: reason(&e.kind).into(),
                field: e.path.clone(),
                message: e.message.clone(),
            })
            .collect();
        return Err(ApiError::invalid(&res.group, &res.kind, &name, causes));
    }
    Ok(())
}

/// Removes `metadata.managedFields[i].subresource`, returning each entry's value by index.
fn take_managed_subresources(obj: &mut Value) -> Vec<Option<Value>> {
    let Some(entries) = obj
        .pointer_mut("/metadata/managedFields")
        .and_then(Value::as_array_mut)
    else {
        return Vec::new();
    };
    entries
        .iter_mut()
        .map(|e| e.as_object_mut().and_then(|m| m.remove("subresource")))
        .collect()
}

/// Puts back what [`take_managed_subresources`] removed.
fn restore_managed_subresources(obj: &mut Value, taken: Vec<Option<Value>>) {
    let Some(entries) = obj
        .pointer_mut("/metadata/managedFields")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    for (entry, value) in entries.iter_mut().zip(taken) {
        if let (Some(m), Some(v)) = (entry.as_object_mut(), value) {
            m.insert("subresource".into(), v);
        }
    }
}
