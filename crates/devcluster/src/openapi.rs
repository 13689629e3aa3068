//! OpenAPI v3 documents, as far as kubectl uses them: per group-version, the PATCH operation
//! of each kind with its query parameters, which is how kubectl learns that the server does
//! field validation (`fieldValidation`) and dry runs itself.

use serde_json::{json, Map, Value};

use crate::server::Ctx;

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// A stable hash of a document, for the `hash` query kubectl caches by.
fn hash(v: &Value) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in v.to_string().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016X}")
}

/// Every group-version served, core first.
fn group_versions(ctx: &Ctx) -> Vec<(String, String)> {
    let mut out = vec![(String::new(), "v1".to_string())];
    for (g, vs) in ctx.registry.groups() {
        for v in vs {
            out.push((g.clone(), v));
        }
    }
    out
}

/// `/openapi/v3`: where each group-version's document is.
pub(crate) fn root(ctx: &Ctx) -> Value {
    let mut paths = Map::new();
    for (g, v) in group_versions(ctx) {
        if let Some(doc) = document(ctx, &g, &v) {
            let p = gv_path(&g, &v);
            paths.insert(
                p.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={}", hash(&doc))}),
            );
        }
    }
    json!({"paths": paths})
}

/// The document at `/openapi/v3/<path>` (`api/v1`, `apis/<g>/<v>`).
pub(crate) fn at(ctx: &Ctx, path: &str) -> Option<Value> {
    let segs: Vec<&str> = path.split('/').collect();
    match segs.as_slice() {
        ["api", v] => document(ctx, "", v),
        ["apis", g, v] => document(ctx, g, v),
        _ => None,
    }
}

fn param(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

fn document(ctx: &Ctx, group: &str, version: &str) -> Option<Value> {
    let mut paths = Map::new();
    for r in ctx.registry.all() {
        if r.group != group || !r.versions.iter().any(|v| v == version) {
            continue;
        }
        let prefix = format!("/{}", gv_path(group, version));
        let item = if r.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", r.plural)
        } else {
            format!("{prefix}/{}/{{name}}", r.plural)
        };
        let gvk = json!({"group": group, "version": version, "kind": r.kind});
        let op = |action: &str, params: Vec<Value>| {
            json!({
                "operationId": format!("{action}{}", r.kind),
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk,
                "parameters": params,
                "responses": {"200": {"description": "OK"}},
            })
        };
        let write_params = || {
            vec![
                param("dryRun"),
                param("fieldManager"),
                param("fieldValidation"),
            ]
        };
        let mut patch_params = write_params();
        patch_params.push(param("force"));
        paths.insert(
            item,
            json!({
                "get": op("get", vec![]),
                "put": op("put", write_params()),
                "patch": op("patch", patch_params),
                "delete": op("delete", vec![param("dryRun"), param("propagationPolicy")]),
            }),
        );
    }
    if paths.is_empty() {
        return None;
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}
