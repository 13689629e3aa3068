//! patch: JSON patch, merge patch, strategic merge patch and server-side apply.

use std::sync::Arc;

use serde_json::Value;

use super::write::{check_type, field_manager, finish, output, prepare_new};
use super::{check_namespace, object_not_found, Req};
use crate::errors::ApiError;
use crate::objects;
use crate::server::Ctx;
use crate::store::object_rv;

#[derive(Clone, Copy, PartialEq)]
enum PatchType {
    Json,
    Merge,
    Strategic,
    Apply,
}

fn patch_type(ct: &str) -> Result<PatchType, ApiError> {
    let base = ct.split(';').next().unwrap_or_default().trim();
    Ok(match base {
        "application/json-patch+json" => PatchType::Json,
        "application/merge-patch+json" => PatchType::Merge,
        "application/strategic-merge-patch+json" => PatchType::Strategic,
        "application/apply-patch+yaml" | "application/apply-patch+cbor" => PatchType::Apply,
        other => {
            return Err(ApiError::UnsupportedMediaType(format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {other:?})"
            )))
        }
    })
}

fn apply_patch(
    req: &Req,
    pt: PatchType,
    current: &Value,
    patch: &Value,
) -> Result<Value, ApiError> {
    let bad = |e: String| ApiError::BadRequest(e);
    match pt {
        PatchType::Json => {
            let mut doc = current.clone();
            // The API server's JSON-patch library adds on `replace` of a missing object member
            // (checked with `kubectl patch --local`, which runs the same code), so match it.
            let options = flotilla_merge::JsonPatchOptions {
                lenient_replace: true,
            };
            flotilla_merge::json_patch(&mut doc, patch, &options)
                .map_err(|e| bad(format!("json patch: {e}")))?;
            Ok(doc)
        }
        PatchType::Merge => {
            if !patch.is_object() {
                return Err(bad("a merge patch must be a JSON object".into()));
            }
            let mut doc = current.clone();
            flotilla_merge::merge_patch(&mut doc, patch);
            Ok(doc)
        }
        PatchType::Strategic => {
            let ty = flotilla_merge::builtin_type(&req.api_version(), &req.res.kind).ok_or_else(|| {
                ApiError::UnsupportedMediaType(format!(
                    "strategic merge patch is not supported for {} ({}): use a merge patch or a JSON patch",
                    req.res.kind,
                    req.api_version()
                ))
            })?;
            flotilla_merge::strategic_merge_patch(current, patch, Some(ty))
                .map_err(|e| bad(format!("strategic merge patch: {e}")))
        }
        PatchType::Apply => unreachable!("apply patches take their own path"),
    }
}

pub(crate) fn patch(ctx: &Ctx, req: &Req) -> Result<(u16, Value), ApiError> {
    let pt = patch_type(&req.content_type)?;
    let body = if pt == PatchType::Json {
        serde_json::from_slice::<Value>(&req.body)
            .map_err(|e| ApiError::BadRequest(format!("the JSON patch is not valid JSON: {e}")))?
    } else {
        req.body_json()?
    };
    if pt == PatchType::Apply {
        return apply(ctx, req, body);
    }
    let sub = req.path.subresource.as_deref();
    let manager = field_manager(req, "unknown-patch");
    // Retry when the object changes between our read and our write (the real server's
    // GuaranteedUpdate loop); a resourceVersion in the patch itself is a real precondition.
    for _ in 0..8 {
        let current = ctx
            .store
            .get(&req.res.key(), req.ns(), req.name())
            .ok_or_else(|| object_not_found(req))?;
        if sub == Some("scale") {
            let scale = super::read::scale_of(&req.res, &current);
            let patched = apply_patch(req, PatchType::Merge, &scale, &body)?;
            let mut new = (*current).clone();
            new["spec"]["replicas"] = patched["spec"]["replicas"].clone();
            match finish(ctx, req, Some(&current), new, Some(&manager), sub) {
                Err(ApiError::Conflict { .. }) if changed(ctx, req, &current) => continue,
                r => return r.map(|o| (200, super::read::scale_of(&req.res, &o))),
            }
        }
        let view = output(&req.res, &req.path.version, &current);
        let mut patched = apply_patch(req, pt, &view, &body)?;
        if !patched.is_object() {
            return Err(ApiError::BadRequest(
                "the patched object is not a JSON object".into(),
            ));
        }
        if let Some(rv) = patched["metadata"]["resourceVersion"].as_str() {
            if rv
                != current["metadata"]["resourceVersion"]
                    .as_str()
                    .unwrap_or_default()
            {
                return Err(ApiError::conflict(
                    &req.res.group,
                    &req.res.plural,
                    req.name(),
                    "the object has been modified; please apply your changes to the latest version and try again",
                ));
            }
        }
        check_type(req, &mut patched)?;
        match finish(ctx, req, Some(&current), patched, Some(&manager), sub) {
            Err(ApiError::Conflict { .. }) if changed(ctx, req, &current) => continue,
            r => return r.map(|o| (200, output(&req.res, &req.path.version, &o))),
        }
    }
    Err(ApiError::conflict(
        &req.res.group,
        &req.res.plural,
        req.name(),
        "the object keeps changing; try again",
    ))
}

fn changed(ctx: &Ctx, req: &Req, seen: &Arc<Value>) -> bool {
    ctx.store
        .get(&req.res.key(), req.ns(), req.name())
        .is_none_or(|now| object_rv(&now) != object_rv(seen))
}

/// Server-side apply: creates the object when missing, otherwise merges the applied
/// configuration under field ownership rules.
fn apply(ctx: &Ctx, req: &Req, mut applied: Value) -> Result<(u16, Value), ApiError> {
    let manager = req.q("fieldManager").ok_or_else(|| {
        ApiError::BadRequest(
            "PATCH requests with apply content type (application/apply-patch+yaml) must set the fieldManager query parameter".into(),
        )
    })?;
    let force = req.q("force") == Some("true");
    check_type(req, &mut applied)?;
    let body_name = objects::name_of(&applied);
    if body_name != req.name() {
        return Err(ApiError::BadRequest(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({})",
            req.name()
        )));
    }
    let sub = req.path.subresource.as_deref();
    for _ in 0..8 {
        let current = ctx.store.get(&req.res.key(), req.ns(), req.name());
        let Some(current) = current else {
            if sub.is_some() {
                return Err(object_not_found(req));
            }
            check_namespace(ctx, req, true)?;
            objects::validate_name(&req.res, req.name())
                .map_err(|m| objects::invalid_name(&req.res, req.name(), m))?;
            let mut obj = crate::managed::apply(req, None, &applied, manager, force)?;
            prepare_new(&req.res, &mut obj, req.ns());
            match finish(ctx, req, None, obj, None, None) {
                Err(ApiError::AlreadyExists { .. }) => continue,
                r => return r.map(|o| (201, output(&req.res, &req.path.version, &o))),
            }
        };
        let view = output(&req.res, &req.path.version, &current);
        let mut merged = crate::managed::apply(req, Some(&view), &applied, manager, force)?;
        check_type(req, &mut merged)?;
        match finish(ctx, req, Some(&current), merged, None, sub) {
            Err(ApiError::Conflict { .. }) if changed(ctx, req, &current) => continue,
            r => return r.map(|o| (200, output(&req.res, &req.path.version, &o))),
        }
    }
    Err(ApiError::conflict(
        &req.res.group,
        &req.res.plural,
        req.name(),
        "the object keeps changing; try again",
    ))
}
