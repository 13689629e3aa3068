//! get and list (label/field selectors, limit/continue, Table output).

use serde_json::{json, Value};

use super::{object_not_found, Req};
use crate::errors::ApiError;
use crate::resources::Resource;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::server::Ctx;

/// The autoscaling/v1 Scale view of a scalable object.
pub(crate) fn scale_of(res: &Resource, obj: &Value) -> Value {
    let meta = &obj["metadata"];
    let selector = obj["spec"]["selector"]["matchLabels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let _ = res;
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"],
        },
        "spec": {"replicas": obj["spec"]["replicas"].as_i64().unwrap_or(1)},
        "status": {"replicas": obj["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector},
    })
}

pub(crate) fn get(ctx: &Ctx, req: &Req) -> Result<(u16, Value), ApiError> {
    let obj = ctx
        .store
        .get(&req.res.key(), req.ns(), req.name())
        .ok_or_else(|| object_not_found(req))?;
    if req.path.subresource.as_deref() == Some("scale") {
        return Ok((200, scale_of(&req.res, &obj)));
    }
    let out = super::output(&req.res, &req.path.version, &obj);
    if req.wants_table() {
        let rv = out["metadata"]["resourceVersion"]
            .as_str()
            .unwrap_or("")
            .to_string();
        return Ok((
            200,
            crate::table::table(&req.res, &req.path.version, &[out], &rv, None, req),
        ));
    }
    Ok((200, out))
}

/// Parsed `labelSelector` and `fieldSelector` of a request.
pub(crate) fn selectors(req: &Req) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = LabelSelector::parse(req.q("labelSelector").unwrap_or_default())?;
    let fields = FieldSelector::parse(req.q("fieldSelector").unwrap_or_default())?;
    Ok((labels, fields))
}

fn encode_continue(ns: &str, name: &str) -> String {
    format!("{ns}/{name}")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn decode_continue(token: &str) -> Result<(String, String), ApiError> {
    let bad = || {
        ApiError::BadRequest(format!(
            "invalid continue token {token:?}; start the list again without it"
        ))
    };
    if token.len() % 2 != 0 {
        return Err(bad());
    }
    let bytes: Result<Vec<u8>, _> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&token[i..i + 2], 16))
        .collect();
    let text = String::from_utf8(bytes.map_err(|_| bad())?).map_err(|_| bad())?;
    let (ns, name) = text.split_once('/').ok_or_else(bad)?;
    Ok((ns.to_string(), name.to_string()))
}

pub(crate) fn list(ctx: &Ctx, req: &Req) -> Result<(u16, Value), ApiError> {
    let (labels, fields) = selectors(req)?;
    let limit: usize = match req.q("limit") {
        Some(l) => l
            .parse()
            .map_err(|_| ApiError::BadRequest(format!("invalid limit {l:?}")))?,
        None => 0,
    };
    let after = req.q("continue").map(decode_continue).transpose()?;
    let (objs, rv) = ctx.store.list(
        &req.res.key(),
        req.path.namespace.as_deref(),
        after.as_ref(),
    );
    let mut items = Vec::new();
    let mut cont = None;
    let mut remaining = 0usize;
    for o in objs {
        if !labels.matches(&o) || !fields.matches(&o) {
            continue;
        }
        if limit > 0 && items.len() == limit {
            if cont.is_none() {
                let last: &Value = items.last().unwrap_or(&Value::Null);
                cont = Some(encode_continue(
                    last["metadata"]["namespace"].as_str().unwrap_or_default(),
                    last["metadata"]["name"].as_str().unwrap_or_default(),
                ));
            }
            remaining += 1;
            continue;
        }
        items.push(super::output(&req.res, &req.path.version, &o));
    }
    let rv = rv.to_string();
    if req.wants_table() {
        return Ok((
            200,
            crate::table::table(
                &req.res,
                &req.path.version,
                &items,
                &rv,
                cont.as_deref(),
                req,
            ),
        ));
    }
    let mut meta = json!({"resourceVersion": rv});
    if let Some(c) = cont {
        meta["continue"] = json!(c);
        meta["remainingItemCount"] = json!(remaining);
    }
    Ok((
        200,
        json!({
            "kind": format!("{}List", req.res.kind),
            "apiVersion": req.api_version(),
            "metadata": meta,
            "items": items,
        }),
    ))
}
