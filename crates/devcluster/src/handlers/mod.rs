//! Request dispatch: discovery and health paths, then one handler per verb on resources.

mod delete;
mod patch;
mod read;
mod watch;
mod write;

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use http::request::Parts;
use http::{Method, Response};
use serde_json::{json, Value};

pub(crate) use delete::{delete_object, Propagation};
pub(crate) use write::{after_write, output};

use crate::errors::ApiError;
use crate::objects;
use crate::resources::Resource;
use crate::routing::{parse_query, route, ResourcePath, Route};
use crate::server::{error_response, json_response, Body, Ctx};
use crate::store::Precondition;

/// One resource request, parsed.
pub(crate) struct Req {
    pub method: Method,
    pub path: ResourcePath,
    pub query: HashMap<String, String>,
    pub content_type: String,
    pub accept: String,
    pub body: Bytes,
    pub res: Arc<Resource>,
    /// `Warning` headers to send with the answer (fieldValidation=Warn and the like).
    pub warnings: std::sync::Mutex<Vec<String>>,
}

impl Req {
    pub fn dry_run(&self) -> bool {
        self.query.get("dryRun").is_some_and(|v| v == "All")
    }

    pub fn warn(&self, message: String) {
        if let Ok(mut w) = self.warnings.lock() {
            w.push(message);
        }
    }

    pub fn q(&self, key: &str) -> Option<&str> {
        self.query
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Namespace used for storage ("" for cluster-scoped).
    pub fn ns(&self) -> &str {
        self.path.namespace.as_deref().unwrap_or_default()
    }

    pub fn name(&self) -> &str {
        self.path.name.as_deref().unwrap_or_default()
    }

    pub fn api_version(&self) -> String {
        self.res.api_version(&self.path.version)
    }

    /// Whether the client asked for a meta.k8s.io Table.
    pub fn wants_table(&self) -> bool {
        self.accept.contains("as=Table")
    }

    /// Parses the body as JSON (or YAML, which apply patches may be).
    pub fn body_json(&self) -> Result<Value, ApiError> {
        if self.content_type.contains("protobuf") {
            return crate::protobuf::decode(&self.body);
        }
        crate::yaml_body::parse(&self.body, &self.content_type)
    }
}

/// Objects created at start, as a fresh cluster has them.
pub(crate) fn bootstrap(ctx: &Ctx) {
    let Some(res) = ctx.registry.lookup("", "v1", "namespaces") else {
        return;
    };
    for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        if ctx.store.get(&res.key(), "", ns).is_some() {
            continue;
        }
        let mut obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}});
        write::prepare_new(&res, &mut obj, "");
        if let Err(e) = ctx
            .store
            .put(&res.key(), "", ns, Precondition::NotExists, obj)
        {
            tracing::warn!(namespace = ns, error = %e, "creating a built-in namespace failed");
        }
    }
}

pub(crate) async fn dispatch(ctx: &Arc<Ctx>, parts: Parts, body: Bytes) -> Response<Body> {
    match dispatch_inner(ctx, parts, body).await {
        Ok(r) => r,
        Err(e) => error_response(&e),
    }
}

async fn dispatch_inner(
    ctx: &Arc<Ctx>,
    parts: Parts,
    body: Bytes,
) -> Result<Response<Body>, ApiError> {
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|h| h.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let get_only = |r: Value| -> Result<Response<Body>, ApiError> {
        if parts.method != Method::GET {
            return Err(ApiError::MethodNotAllowed(format!(
                "{} is not supported on {}",
                parts.method,
                parts.uri.path()
            )));
        }
        Ok(json_response(200, &r))
    };
    match route(parts.uri.path()) {
        Route::Version => get_only(crate::discovery::version()),
        Route::Health => Ok(Response::builder()
            .header("content-type", "text/plain; charset=utf-8")
            .body(http_body_util::BodyExt::boxed(http_body_util::Full::new(
                Bytes::from_static(b"ok"),
            )))
            .map_err(|e| ApiError::Internal(e.to_string()))?),
        Route::CoreVersions => get_only(crate::discovery::core_versions(ctx)),
        Route::Groups => get_only(crate::discovery::groups(ctx)),
        Route::Group(g) => {
            get_only(crate::discovery::group(ctx, &g).ok_or_else(|| not_found_path(&parts))?)
        }
        Route::ResourceList { group, version } => get_only(
            crate::discovery::resource_list(ctx, &group, &version)
                .ok_or_else(|| not_found_path(&parts))?,
        ),
        Route::OpenApiV2 => Err(not_found_path(&parts)),
        Route::OpenApiV3(None) => get_only(crate::openapi::root(ctx)),
        Route::OpenApiV3(Some(p)) => {
            get_only(crate::openapi::at(ctx, &p).ok_or_else(|| not_found_path(&parts))?)
        }
        Route::NotFound => Err(not_found_path(&parts)),
        Route::Resource(path) => {
            let res = ctx
                .registry
                .lookup(&path.group, &path.version, &path.plural)
                .ok_or_else(|| not_found_path(&parts))?;
            if path.namespace.is_some() && !res.namespaced {
                return Err(not_found_path(&parts));
            }
            if path.namespace.is_none() && res.namespaced && path.name.is_some() {
                return Err(not_found_path(&parts));
            }
            let req = Req {
                method: parts.method.clone(),
                query: parse_query(parts.uri.query()),
                content_type: header("content-type"),
                accept: header("accept"),
                body,
                res,
                path,
                warnings: Default::default(),
            };
            resource(ctx, req).await
        }
    }
}

fn not_found_path(parts: &Parts) -> ApiError {
    ApiError::NotFound {
        group: String::new(),
        kind: String::new(),
        name: String::new(),
        message: format!(
            "the server could not find the requested resource ({})",
            parts.uri.path()
        ),
    }
}

async fn resource(ctx: &Arc<Ctx>, req: Req) -> Result<Response<Body>, ApiError> {
    let sub = req.path.subresource.clone();
    if let Some(s) = &sub {
        let ok = match s.as_str() {
            "status" => req.res.status,
            "scale" => req.res.scale,
            "finalize" => req.res.group.is_empty() && req.res.kind == "Namespace",
            _ => false,
        };
        if !ok {
            return Err(ApiError::NotFound {
                group: req.res.group.clone(),
                kind: req.res.plural.clone(),
                name: req.name().to_string(),
                message: format!(
                    "the server could not find the requested resource ({} subresource {s})",
                    req.res.plural
                ),
            });
        }
    }
    let has_name = req.path.name.is_some();
    let watching = req.q("watch").is_some_and(|w| w == "true" || w == "1");
    let method = req.method.clone();
    let (code, body) = match (method, has_name) {
        (Method::GET, _) if watching => return watch::watch(ctx, req).await,
        (Method::GET, true) => read::get(ctx, &req)?,
        (Method::GET, false) => read::list(ctx, &req)?,
        (Method::POST, false) => write::create(ctx, &req)?,
        (Method::PUT, true) => write::update(ctx, &req)?,
        (Method::PATCH, true) => patch::patch(ctx, &req)?,
        (Method::DELETE, true) => delete::delete(ctx, &req)?,
        (Method::DELETE, false) => delete::delete_collection(ctx, &req)?,
        (m, _) => {
            return Err(ApiError::MethodNotAllowed(format!(
                "{m} is not supported on {}{}",
                req.res.plural,
                if has_name { "/NAME" } else { "" }
            )))
        }
    };
    let mut resp = json_response(code, &body);
    let warnings = req.warnings.lock().map(|w| w.clone()).unwrap_or_default();
    for w in warnings {
        // RFC 7234 warning: code 299, agent "-", quoted text.
        let text = format!("299 - \"{}\"", w.replace('"', "\\\""));
        if let Ok(v) = http::HeaderValue::from_str(&text) {
            resp.headers_mut().append("warning", v);
        }
    }
    Ok(resp)
}

/// A 404 for the object named in the request.
pub(crate) fn object_not_found(req: &Req) -> ApiError {
    ApiError::not_found(&req.res.group, &req.res.plural, req.name())
}

/// A namespaced write needs its namespace to exist and not be terminating.
pub(crate) fn check_namespace(ctx: &Ctx, req: &Req, creating: bool) -> Result<(), ApiError> {
    if !req.res.namespaced {
        return Ok(());
    }
    let ns = req.ns();
    let Some(nsobj) = ctx.store.get("/namespaces", "", ns) else {
        return Err(ApiError::not_found("", "namespaces", ns));
    };
    if creating && !objects::meta(&nsobj)["deletionTimestamp"].is_null() {
        return Err(ApiError::Forbidden {
            kind: req.res.plural.clone(),
            name: String::new(),
            message: format!(
                "{} is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                req.res.plural
            ),
        });
    }
    Ok(())
}
