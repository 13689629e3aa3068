//! create and update (PUT), including the status and scale subresources, and the shared
//! write path every verb ends in.

use std::sync::Arc;

use serde_json::{json, Value};

use super::{check_namespace, object_not_found, Req};
use crate::errors::{ApiError, Cause};
use crate::objects::{self, meta_mut};
use crate::resources::Resource;
use crate::server::Ctx;
use crate::store::{object_rv, Precondition, StoreError};

/// The object as the client sees it at the requested version.
pub(crate) fn output(res: &Resource, version: &str, obj: &Value) -> Value {
    let mut out = obj.clone();
    if let Some(m) = out.as_object_mut() {
        m.insert("apiVersion".into(), json!(res.api_version(version)));
        m.insert("kind".into(), json!(res.kind));
    }
    out
}

/// Fills what the server owns on a new object.
pub(crate) fn prepare_new(res: &Resource, obj: &mut Value, ns: &str) {
    let meta = meta_mut(obj);
    meta.insert("uid".into(), json!(objects::new_uid()));
    meta.insert("creationTimestamp".into(), json!(objects::now_rfc3339()));
    for k in [
        "resourceVersion",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "selfLink",
    ] {
        meta.remove(k);
    }
    if res.namespaced {
        meta.insert("namespace".into(), json!(ns));
    } else {
        meta.remove("namespace");
    }
    if res.has_spec {
        meta.insert("generation".into(), json!(1));
    } else {
        meta.remove("generation");
    }
    if res.status {
        if let Some(m) = obj.as_object_mut() {
            m.remove("status");
        }
    }
    objects::apply_defaults(res, obj);
    if res.group.is_empty() && res.kind == "Service" {
        objects::allocate_cluster_ip(obj);
    }
}

/// Checks the body names this resource's kind and version.
pub(crate) fn check_type(req: &Req, obj: &mut Value) -> Result<(), ApiError> {
    if !obj.is_object() {
        return Err(ApiError::BadRequest(
            "the request body must be a JSON object".into(),
        ));
    }
    let want_av = req.api_version();
    if let Some(kind) = obj["kind"].as_str() {
        if kind != req.res.kind {
            return Err(ApiError::BadRequest(format!(
                "the kind of the object ({kind}) does not match the resource {} (kind {})",
                req.res.plural, req.res.kind
            )));
        }
    }
    if let Some(av) = obj["apiVersion"].as_str() {
        let (g, _) = crate::resources::split_api_version(av);
        if g != req.res.group {
            return Err(ApiError::BadRequest(format!(
                "the API version in the data ({av}) does not match the expected API version ({want_av})"
            )));
        }
    }
    obj["apiVersion"] = json!(want_av);
    obj["kind"] = json!(req.res.kind);
    if obj["metadata"].is_null() {
        obj["metadata"] = json!({});
    }
    if !obj["metadata"].is_object() {
        return Err(ApiError::BadRequest("metadata must be an object".into()));
    }
    if req.res.namespaced {
        let body_ns = obj["metadata"]["namespace"].as_str().unwrap_or_default();
        if !body_ns.is_empty() && body_ns != req.ns() {
            return Err(ApiError::BadRequest(
                "the namespace of the provided object does not match the namespace sent on the request".into(),
            ));
        }
    }
    Ok(())
}

pub(crate) fn field_manager(req: &Req, default: &str) -> String {
    req.q("fieldManager").unwrap_or(default).to_string()
}

/// Default manager name for clients that do not send one, from their User-Agent as the
/// real server does; kubectl always sends one.
fn default_manager(req: &Req) -> &'static str {
    match req.method {
        http::Method::POST => "unknown-create",
        _ => "unknown-update",
    }
}

pub(crate) fn create(ctx: &Ctx, req: &Req) -> Result<(u16, Value), ApiError> {
    let mut obj = req.body_json()?;
    check_type(req, &mut obj)?;
    let name = match obj["metadata"]["name"].as_str().filter(|n| !n.is_empty()) {
        Some(n) => n.to_string(),
        None => match obj["metadata"]["generateName"].as_str() {
            Some(prefix) if !prefix.is_empty() => {
                let n = format!("{prefix}{}", objects::random_suffix());
                obj["metadata"]["name"] = json!(n);
                n
            }
            _ => {
                return Err(ApiError::invalid(
                    &req.res.group,
                    &req.res.kind,
                    "",
                    vec![Cause {
                        reason: "FieldValueRequired".into(),
                        field: "metadata.name".into(),
                        message: "Required value: name or generateName is required".into(),
                    }],
                ))
            }
        },
    };
    objects::validate_name(&req.res, &name)
        .map_err(|m| objects::invalid_name(&req.res, &name, m))?;
    check_namespace(ctx, req, true)?;
    prepare_new(&req.res, &mut obj, req.ns());
    let manager = field_manager(req, default_manager(req));
    let stored = finish(ctx, req, None, obj, Some(&manager), None)?;
    Ok((201, output(&req.res, &req.path.version, &stored)))
}

pub(crate) fn update(ctx: &Ctx, req: &Req) -> Result<(u16, Value), ApiError> {
    let mut body = req.body_json()?;
    let sub = req.path.subresource.as_deref();
    if sub == Some("scale") {
        return scale_update(ctx, req, &body);
    }
    check_type(req, &mut body)?;
    let body_name = body["metadata"]["name"].as_str().unwrap_or_default();
    if !body_name.is_empty() && body_name != req.name() {
        return Err(ApiError::BadRequest(format!(
            "the name of the object ({body_name}) does not match the name on the URL ({})",
            req.name()
        )));
    }
    let want_rv: Option<u64> = body["metadata"]["resourceVersion"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse()
                .map_err(|_| ApiError::BadRequest(format!("invalid resourceVersion {s:?}")))
        })
        .transpose()?;
    let current = ctx
        .store
        .get(&req.res.key(), req.ns(), req.name())
        .ok_or_else(|| object_not_found(req))?;
    if let Some(rv) = want_rv {
        if rv != object_rv(&current) {
            return Err(ApiError::conflict(
                &req.res.group,
                &req.res.plural,
                req.name(),
                "the object has been modified; please apply your changes to the latest version and try again",
            ));
        }
    }
    let manager = field_manager(req, default_manager(req));
    let stored = finish(ctx, req, Some(&current), body, Some(&manager), sub)?;
    Ok((200, output(&req.res, &req.path.version, &stored)))
}

/// PUT .../scale: a Scale object in, the scaled object's Scale out.
fn scale_update(ctx: &Ctx, req: &Req, body: &Value) -> Result<(u16, Value), ApiError> {
    let current = ctx
        .store
        .get(&req.res.key(), req.ns(), req.name())
        .ok_or_else(|| object_not_found(req))?;
    let replicas = body["spec"]["replicas"].as_i64().ok_or_else(|| {
        ApiError::invalid_field(
            "autoscaling",
            "Scale",
            req.name(),
            "spec.replicas",
            "Required value",
        )
    })?;
    let mut new = (*current).clone();
    new["spec"]["replicas"] = json!(replicas);
    let manager = field_manager(req, default_manager(req));
    let stored = finish(ctx, req, Some(&current), new, Some(&manager), Some("scale"))?;
    Ok((200, crate::handlers::read::scale_of(&req.res, &stored)))
}

/// The common end of every write: server-owned fields carried over, generation, managed
/// fields, storage (or not, for dry runs), and the reactions other parts need.
pub(crate) fn finish(
    ctx: &Ctx,
    req: &Req,
    old: Option<&Arc<Value>>,
    mut new: Value,
    manager: Option<&str>,
    sub: Option<&str>,
) -> Result<Arc<Value>, ApiError> {
    let res = &req.res;
    let name = req.name().to_string();
    let name = if name.is_empty() {
        objects::name_of(&new).to_string()
    } else {
        name
    };
    if let Some(old) = old {
        new = carry_over(res, old, new, sub);
    }
    crate::validate::check(ctx, req, &mut new, old.map(|o| &**o))?;
    if let Some(old) = old {
        bump_generation(res, old, &mut new);
    }
    // Apply requests come with their managedFields already worked out.
    if let Some(manager) = manager {
        crate::managed::record(req, old.map(|o| &**o), &mut new, manager, sub)?;
    }
    let pre = match old {
        None => Precondition::NotExists,
        Some(o) => {
            if same_object(o, &new) {
                return Ok(o.clone());
            }
            Precondition::Rv(object_rv(o))
        }
    };
    // An object being deleted goes once its last finalizer is removed.
    let terminating = !new["metadata"]["deletionTimestamp"].is_null();
    let no_finalizers = new["metadata"]["finalizers"]
        .as_array()
        .is_none_or(|f| f.is_empty());
    if terminating && no_finalizers && old.is_some() {
        if req.dry_run() {
            return Ok(Arc::new(new));
        }
        return ctx
            .store
            .delete(&res.key(), req.ns(), &name, pre)
            .map_err(|e| store_error(res, &name, e))
            .inspect(|o| after_write(ctx, res, o, true));
    }
    commit(ctx, res, req.ns(), &name, pre, new, req.dry_run())
}

/// Stores the object (or, on a dry run, only returns what would be stored).
pub(crate) fn commit(
    ctx: &Ctx,
    res: &Resource,
    ns: &str,
    name: &str,
    pre: Precondition,
    obj: Value,
    dry_run: bool,
) -> Result<Arc<Value>, ApiError> {
    if dry_run {
        return Ok(Arc::new(obj));
    }
    let stored = ctx
        .store
        .put(&res.key(), ns, name, pre, obj)
        .map_err(|e| store_error(res, name, e))?;
    after_write(ctx, res, &stored, false);
    Ok(stored)
}

pub(crate) fn store_error(res: &Resource, name: &str, e: StoreError) -> ApiError {
    match e {
        StoreError::NotFound => ApiError::not_found(&res.group, &res.plural, name),
        StoreError::AlreadyExists => ApiError::already_exists(&res.group, &res.plural, name),
        StoreError::Conflict => ApiError::conflict(&res.group, &res.plural, name, &e.to_string()),
        StoreError::Wal(w) => ApiError::Internal(w.to_string()),
    }
}

/// Reactions to a stored change: CRDs (re)register, the garbage collector looks again.
pub(crate) fn after_write(ctx: &Ctx, res: &Resource, obj: &Value, deleted: bool) {
    if res.group == "apiextensions.k8s.io" && res.kind == "CustomResourceDefinition" {
        crate::crd::on_change(ctx, obj, deleted);
    }
    ctx.gc.notify_one();
}

/// Server-owned metadata and, depending on the subresource, status or everything but status
/// come from the stored object.
fn carry_over(res: &Resource, old: &Value, mut new: Value, sub: Option<&str>) -> Value {
    if sub == Some("status") {
        let mut merged = old.clone();
        merged["status"] = new["status"].take();
        return merged;
    }
    let old_meta = &old["metadata"];
    let meta = meta_mut(&mut new);
    for k in [
        "uid",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "namespace",
        "name",
        "generation",
    ] {
        match old_meta.get(k) {
            Some(v) => meta.insert(k.into(), v.clone()),
            None => meta.remove(k),
        };
    }
    meta.remove("resourceVersion");
    if let Some(rv) = old_meta.get("resourceVersion") {
        meta.insert("resourceVersion".into(), rv.clone());
    }
    if meta.get("managedFields").is_none() {
        if let Some(mf) = old_meta.get("managedFields") {
            meta.insert("managedFields".into(), mf.clone());
        }
    }
    if res.status && sub.is_none() {
        if let Some(m) = new.as_object_mut() {
            match old.get("status") {
                Some(s) => m.insert("status".into(), s.clone()),
                None => m.remove("status"),
            };
        }
    }
    objects::apply_defaults(res, &mut new);
    if res.group.is_empty() && res.kind == "Service" {
        if let (Some(ip), true) = (
            old["spec"]["clusterIP"].as_str(),
            new["spec"]["clusterIP"].is_null(),
        ) {
            new["spec"]["clusterIP"] = json!(ip);
            new["spec"]["clusterIPs"] = old["spec"]["clusterIPs"].clone();
        }
        objects::allocate_cluster_ip(&mut new);
    }
    new
}

/// A spec change bumps `metadata.generation`; decided after validation, which drops
/// unknown fields (a write that only carried those changes nothing).
fn bump_generation(res: &Resource, old: &Value, new: &mut Value) {
    if res.has_spec && objects::spec_changed(old, new) {
        let g = old["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
        new["metadata"]["generation"] = json!(g);
    }
}

/// Whether a write would change nothing (the real server then skips it: same resourceVersion).
fn same_object(old: &Value, new: &Value) -> bool {
    old == new
}
