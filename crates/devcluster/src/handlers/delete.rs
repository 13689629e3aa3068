//! delete and deletecollection: finalizers, deletionTimestamp, propagation policies.

use std::sync::Arc;

use serde_json::{json, Value};

use super::read::selectors;
use super::write::{after_write, commit, output, store_error};
use super::{object_not_found, Req};
use crate::errors::ApiError;
use crate::objects;
use crate::resources::Resource;
use crate::server::Ctx;
use crate::store::{object_rv, Precondition};

/// How dependents are treated when their owner goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Propagation {
    Background,
    Foreground,
    Orphan,
}

fn options(req: &Req) -> Result<(Value, Propagation), ApiError> {
    let body: Value = if req.body.is_empty() {
        json!({})
    } else {
        serde_json::from_slice(&req.body).map_err(|e| {
            ApiError::BadRequest(format!("the DeleteOptions body is not valid JSON: {e}"))
        })?
    };
    let policy = body["propagationPolicy"]
        .as_str()
        .or_else(|| req.q("propagationPolicy"))
        .map(String::from);
    let policy = match policy.as_deref() {
        Some("Foreground") => Propagation::Foreground,
        Some("Orphan") => Propagation::Orphan,
        Some("Background") | None => {
            if body["orphanDependents"] == json!(true) || req.q("orphanDependents") == Some("true")
            {
                Propagation::Orphan
            } else {
                Propagation::Background
            }
        }
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "invalid propagationPolicy {other:?}: use Foreground, Background or Orphan"
            )))
        }
    };
    Ok((body, policy))
}

fn dry_run(req: &Req, body: &Value) -> bool {
    req.dry_run()
        || body["dryRun"]
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v == "All"))
}

pub(crate) fn delete(ctx: &Ctx, req: &Req) -> Result<(u16, Value), ApiError> {
    let (body, policy) = options(req)?;
    let current = ctx
        .store
        .get(&req.res.key(), req.ns(), req.name())
        .ok_or_else(|| object_not_found(req))?;
    let pre = &body["preconditions"];
    if let Some(uid) = pre["uid"].as_str() {
        if current["metadata"]["uid"].as_str() != Some(uid) {
            return Err(ApiError::conflict(
                &req.res.group,
                &req.res.plural,
                req.name(),
                &format!(
                    "Precondition failed: UID in precondition: {uid}, UID in object meta: {}",
                    current["metadata"]["uid"].as_str().unwrap_or_default()
                ),
            ));
        }
    }
    if let Some(rv) = pre["resourceVersion"].as_str() {
        if current["metadata"]["resourceVersion"].as_str() != Some(rv) {
            return Err(ApiError::conflict(&req.res.group, &req.res.plural, req.name(), &format!(
                "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {}",
                current["metadata"]["resourceVersion"].as_str().unwrap_or_default()
            )));
        }
    }
    let (code, obj) = delete_object(ctx, &req.res, &current, policy, dry_run(req, &body))?;
    Ok((code, output(&req.res, &req.path.version, &obj)))
}

/// Deletes one stored object: at once when nothing holds it, otherwise marks it with a
/// deletionTimestamp and the finalizers its policy needs. 200 when gone, 202 when pending.
pub(crate) fn delete_object(
    ctx: &Ctx,
    res: &Resource,
    current: &Arc<Value>,
    policy: Propagation,
    dry_run: bool,
) -> Result<(u16, Arc<Value>), ApiError> {
    let ns = objects::ns_of(current).to_string();
    let name = objects::name_of(current).to_string();
    let mut obj = (**current).clone();
    let mut finalizers: Vec<Value> = obj["metadata"]["finalizers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let want = match policy {
        Propagation::Foreground => Some("foregroundDeletion"),
        Propagation::Orphan => Some("orphan"),
        Propagation::Background => None,
    };
    let already = !obj["metadata"]["deletionTimestamp"].is_null();
    let mut changed = false;
    if let Some(f) = want {
        if !finalizers.iter().any(|x| x == f) {
            finalizers.push(json!(f));
            changed = true;
        }
    }
    let is_namespace = res.group.is_empty() && res.kind == "Namespace";
    if finalizers.is_empty() && !is_namespace {
        if dry_run {
            return Ok((200, current.clone()));
        }
        let gone = ctx
            .store
            .delete(&res.key(), &ns, &name, Precondition::Rv(object_rv(current)))
            .map_err(|e| store_error(res, &name, e))?;
        after_write(ctx, res, &gone, true);
        return Ok((200, gone));
    }
    if already && !changed {
        return Ok((202, current.clone()));
    }
    let meta = objects::meta_mut(&mut obj);
    if !already {
        meta.insert("deletionTimestamp".into(), json!(objects::now_rfc3339()));
        meta.insert("deletionGracePeriodSeconds".into(), json!(0));
    }
    meta.insert("finalizers".into(), Value::Array(finalizers));
    if is_namespace {
        obj["status"]["phase"] = json!("Terminating");
    }
    let stored = commit(
        ctx,
        res,
        &ns,
        &name,
        Precondition::Rv(object_rv(current)),
        obj,
        dry_run,
    )?;
    Ok((202, stored))
}

pub(crate) fn delete_collection(ctx: &Ctx, req: &Req) -> Result<(u16, Value), ApiError> {
    let (body, policy) = options(req)?;
    let (labels, fields) = selectors(req)?;
    let (objs, _) = ctx
        .store
        .list(&req.res.key(), req.path.namespace.as_deref(), None);
    let mut items = Vec::new();
    for o in objs {
        if !labels.matches(&o) || !fields.matches(&o) {
            continue;
        }
        match delete_object(ctx, &req.res, &o, policy, dry_run(req, &body)) {
            Ok((_, d)) => items.push(output(&req.res, &req.path.version, &d)),
            // Gone or changed in between: another deleter got there first.
            Err(ApiError::NotFound { .. } | ApiError::Conflict { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok((
        200,
        json!({
            "kind": format!("{}List", req.res.kind),
            "apiVersion": req.api_version(),
            "metadata": {"resourceVersion": ctx.store.rv().to_string()},
            "items": items,
        }),
    ))
}
