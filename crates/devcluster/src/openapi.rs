//! OpenAPI v3 documents, as far as kubectl uses them: per group-version, the operations of
//! each kind with their query parameters (how kubectl learns that the server does field
//! validation and dry runs itself) and the kinds' schemas (`kubectl explain`): built-in
//! kinds from the embedded v1.21.2 definitions, custom resources from their CRD.
//!
//! Schemas are built only when a group-version document is asked for, and cached by the
//! document's hash (which covers the served kinds and each CRD's resourceVersion).

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::{json, Map, Value};

use flotilla_schema::TypeRef;

use crate::resources::Resource;
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
        if let Some((_, key)) = operations(ctx, &g, &v) {
            let p = gv_path(&g, &v);
            paths.insert(
                p.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={key}")}),
            );
        }
    }
    json!({"paths": paths})
}

/// The document at `/openapi/v3/<path>` (`api/v1`, `apis/<g>/<v>`).
pub(crate) fn at(ctx: &Ctx, path: &str) -> Option<Value> {
    let segs: Vec<&str> = path.split('/').collect();
    let (group, version) = match segs.as_slice() {
        ["api", v] => ("", *v),
        ["apis", g, v] => (*g, *v),
        _ => return None,
    };
    let (mut doc, key) = operations(ctx, group, version)?;
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Value>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let cached = cache.lock().ok().and_then(|c| c.get(&key).cloned());
    let schemas = match cached {
        Some(s) => s,
        None => {
            let s = Arc::new(schemas(ctx, group, version));
            if let Ok(mut c) = cache.lock() {
                // Documents change only with CRDs; a bound keeps a long-lived server small.
                if c.len() > 256 {
                    c.clear();
                }
                c.insert(key, s.clone());
            }
            s
        }
    };
    doc["components"]["schemas"] = (*schemas).clone();
    Some(doc)
}

fn param(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

/// The resources served at a group-version.
fn served(ctx: &Ctx, group: &str, version: &str) -> Vec<Arc<Resource>> {
    ctx.registry
        .all()
        .into_iter()
        .filter(|r| r.group == group && r.versions.iter().any(|v| v == version))
        .collect()
}

/// A group-version document without schemas, and the hash naming the full document.
fn operations(ctx: &Ctx, group: &str, version: &str) -> Option<(Value, String)> {
    let mut paths = Map::new();
    let mut crds = Vec::new();
    for r in served(ctx, group, version) {
        if let Some(crd) = &r.crd {
            let obj = ctx
                .store
                .get("apiextensions.k8s.io/customresourcedefinitions", "", crd);
            crds.push(obj.map(|o| o["metadata"]["resourceVersion"].clone()));
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
    let doc = json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": {}},
    });
    let key = hash(&json!([doc, crds]));
    Some((doc, key))
}

/// `components.schemas` of a group-version: each kind's root schema (tagged with
/// `x-kubernetes-group-version-kind`, as kubectl explain looks kinds up) and every
/// definition they reference.
fn schemas(ctx: &Ctx, group: &str, version: &str) -> Value {
    let mut out = Map::new();
    let mut wanted = BTreeSet::new();
    for r in served(ctx, group, version) {
        let gvk = json!([{"group": group, "version": version, "kind": r.kind}]);
        let (name, mut schema) = if r.crd.is_some() {
            let Some(root) = r.schemas.get(version).and_then(|s| s.root()) else {
                continue;
            };
            let reversed: Vec<&str> = group.split('.').rev().collect();
            let name = format!("{}.{version}.{}", reversed.join("."), r.kind);
            let mut schema = inline(root, &mut wanted);
            // As the API server publishes CRD schemas: type and object metadata implied.
            schema["type"] = json!("object");
            let meta = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
            wanted.insert(meta.to_string());
            let props = &mut schema["properties"];
            for (field, value) in [
                ("apiVersion", json!({"type": "string"})),
                ("kind", json!({"type": "string"})),
                (
                    "metadata",
                    json!({"$ref": format!("#/components/schemas/{meta}")}),
                ),
            ] {
                if props.get(field).is_none() {
                    props[field] = value;
                }
            }
            (name, schema)
        } else {
            let Some(root) = crate::validate::builtin_root(&r.api_version(version), &r.kind) else {
                continue;
            };
            let Some(name) = root.definition_name() else {
                continue;
            };
            (name.to_string(), inline(root, &mut wanted))
        };
        schema["x-kubernetes-group-version-kind"] = gvk;
        out.insert(name, schema);
    }
    let kubernetes = flotilla_schema::Schema::kubernetes();
    let mut done = BTreeSet::new();
    while let Some(name) = wanted.pop_first() {
        if !done.insert(name.clone()) {
            continue;
        }
        if out.contains_key(&name) {
            continue;
        }
        if let Some(t) = kubernetes.definition(&name) {
            let schema = inline(t, &mut wanted);
            out.insert(name, schema);
        }
    }
    Value::Object(out)
}

/// A field's schema: a `$ref` to a named definition (noted in `wanted`), else inline.
fn field_schema(t: TypeRef<'_>, wanted: &mut BTreeSet<String>) -> Value {
    match t.definition_name() {
        Some(d) => {
            wanted.insert(d.to_string());
            json!({"$ref": format!("#/components/schemas/{d}")})
        }
        None => inline(t, wanted),
    }
}

/// A type's own schema: type, format, properties, items, additionalProperties.
fn inline(t: TypeRef<'_>, wanted: &mut BTreeSet<String>) -> Value {
    let mut s = Map::new();
    if t.is_int_or_string() {
        s.insert("x-kubernetes-int-or-string".into(), json!(true));
    } else if let Some(ty) = t.json_type() {
        s.insert("type".into(), json!(ty));
    }
    if let Some(f) = t.format() {
        s.insert("format".into(), json!(f));
    }
    let names: Vec<&str> = t.field_names().collect();
    if !names.is_empty() {
        let mut props = Map::new();
        for n in names {
            if let Some(f) = t.field(n) {
                props.insert(n.to_string(), field_schema(f, wanted));
            }
        }
        s.insert("type".into(), json!("object"));
        s.insert("properties".into(), Value::Object(props));
    }
    if let Some(v) = t.values() {
        s.insert("additionalProperties".into(), field_schema(v, wanted));
    }
    if let Some(i) = t.items() {
        s.insert("items".into(), field_schema(i, wanted));
    }
    let required = t.required();
    if !required.is_empty() {
        s.insert("required".into(), json!(required));
    }
    Value::Object(s)
}
