//! CustomResourceDefinitions: serving their kinds, their status conditions, and removing
//! their objects when they go.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{json, Value};

use crate::errors::Cause;
use crate::objects;
use crate::resources::{version_priority, Resource};
use crate::server::Ctx;
use crate::store::{object_rv, Precondition};

const CRD_KEY: &str = "apiextensions.k8s.io/customresourcedefinitions";

fn cause(field: &str, reason: &str, message: &str) -> Cause {
    Cause {
        reason: reason.into(),
        field: field.into(),
        message: message.into(),
    }
}

/// Checks a CRD the way the real server does for the fields that decide how it is served.
pub(crate) fn validate(crd: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let spec = &crd["spec"];
    let group = spec["group"].as_str().unwrap_or_default();
    let plural = spec["names"]["plural"].as_str().unwrap_or_default();
    if group.is_empty() {
        causes.push(cause("spec.group", "FieldValueRequired", "Required value"));
    } else if !group.contains('.') {
        causes.push(cause(
            "spec.group",
            "FieldValueInvalid",
            &format!("Invalid value: {group:?}: should be a domain with at least one dot"),
        ));
    }
    if plural.is_empty() {
        causes.push(cause(
            "spec.names.plural",
            "FieldValueRequired",
            "Required value",
        ));
    }
    if spec["names"]["kind"]
        .as_str()
        .unwrap_or_default()
        .is_empty()
    {
        causes.push(cause(
            "spec.names.kind",
            "FieldValueRequired",
            "Required value",
        ));
    }
    let name = objects::name_of(crd);
    if !plural.is_empty() && !group.is_empty() && name != format!("{plural}.{group}") {
        causes.push(cause(
            "metadata.name",
            "FieldValueInvalid",
            &format!("Invalid value: {name:?}: must be spec.names.plural+\".\"+spec.group"),
        ));
    }
    match spec["scope"].as_str() {
        Some("Namespaced" | "Cluster") => {}
        other => causes.push(cause(
            "spec.scope",
            "FieldValueNotSupported",
            &format!(
                "Unsupported value: {:?}: supported values: \"Cluster\", \"Namespaced\"",
                other.unwrap_or_default()
            ),
        )),
    }
    let versions = spec["versions"].as_array().cloned().unwrap_or_default();
    if versions.is_empty() {
        causes.push(cause(
            "spec.versions",
            "FieldValueInvalid",
            "Invalid value: null: must have exactly one version marked as storage version",
        ));
    } else {
        let storage = versions
            .iter()
            .filter(|v| v["storage"] == json!(true))
            .count();
        if storage != 1 {
            causes.push(cause(
                "spec.versions",
                "FieldValueInvalid",
                "Invalid value: must have exactly one version marked as storage version",
            ));
        }
        for (i, v) in versions.iter().enumerate() {
            if let Some(schema) = v["schema"]["openAPIV3Schema"].as_object() {
                if let Err(e) =
                    flotilla_schema::Schema::from_openapi_v3(&Value::Object(schema.clone()))
                {
                    causes.push(cause(
                        &format!("spec.versions[{i}].schema.openAPIV3Schema"),
                        "FieldValueInvalid",
                        &e.to_string(),
                    ));
                }
            }
        }
    }
    causes
}

/// The served resource a CRD describes (None when it serves no version).
pub(crate) fn resource_of(crd: &Value) -> Option<Resource> {
    let spec = &crd["spec"];
    let names = &spec["names"];
    let strs = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut versions = Vec::new();
    let mut schemas = HashMap::new();
    let mut printer_columns = HashMap::new();
    let mut status = false;
    let mut scale = false;
    for v in spec["versions"].as_array()? {
        if v["served"] != json!(true) {
            continue;
        }
        let name = v["name"].as_str()?.to_string();
        if let Some(s) = v["schema"]["openAPIV3Schema"].as_object() {
            if let Ok(schema) = flotilla_schema::Schema::from_openapi_v3(&Value::Object(s.clone()))
            {
                schemas.insert(name.clone(), Arc::new(schema));
            }
        }
        if let Some(cols) = v["additionalPrinterColumns"].as_array() {
            printer_columns.insert(name.clone(), cols.clone());
        }
        status |= v["subresources"]["status"].is_object();
        scale |= v["subresources"]["scale"].is_object();
        versions.push(name);
    }
    if versions.is_empty() {
        return None;
    }
    versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
    let kind = names["kind"].as_str()?.to_string();
    Some(Resource {
        group: spec["group"].as_str()?.to_string(),
        versions,
        singular: names["singular"]
            .as_str()
            .map(String::from)
            .unwrap_or_else(|| kind.to_lowercase()),
        kind,
        plural: names["plural"].as_str()?.to_string(),
        namespaced: spec["scope"] != json!("Cluster"),
        short_names: strs(&names["shortNames"]),
        categories: strs(&names["categories"]),
        status,
        scale,
        crd: Some(objects::name_of(crd).to_string()),
        schemas,
        printer_columns,
        has_spec: true,
    })
}

/// Serves every stored CRD (at start, after replaying the data directory).
pub(crate) fn register_stored(ctx: &Ctx) {
    let (crds, _) = ctx.store.list(CRD_KEY, None, None);
    for crd in crds {
        if let Some(res) = resource_of(&crd) {
            ctx.registry.put_crd(res);
        }
    }
}

fn condition(ty: &str, reason: &str, message: &str, now: &str) -> Value {
    json!({"type": ty, "status": "True", "reason": reason, "message": message, "lastTransitionTime": now})
}

/// After a CRD is written: serve it and mark it Established; after it is deleted: stop
/// serving it and delete its objects.
pub(crate) fn on_change(ctx: &Ctx, crd: &Value, deleted: bool) {
    let name = objects::name_of(crd).to_string();
    if deleted {
        if let Some(res) = ctx.registry.remove_crd(&name) {
            let (objs, _) = ctx.store.list(&res.key(), None, None);
            for o in objs {
                let _ = ctx.store.delete(
                    &res.key(),
                    objects::ns_of(&o),
                    objects::name_of(&o),
                    Precondition::Any,
                );
            }
        }
        return;
    }
    let Some(res) = resource_of(crd) else {
        ctx.registry.remove_crd(&name);
        return;
    };
    ctx.registry.put_crd(res);
    let storage: Vec<Value> = crd["spec"]["versions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|v| v["storage"] == json!(true))
                .map(|v| v["name"].clone())
                .collect()
        })
        .unwrap_or_default();
    let mut stored_versions = crd["status"]["storedVersions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for v in storage {
        if !stored_versions.contains(&v) {
            stored_versions.push(v);
        }
    }
    let accepted = crd["spec"]["names"].clone();
    let established = crd["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|x| x["type"] == "Established" && x["status"] == "True")
    });
    if established
        && crd["status"]["acceptedNames"] == accepted
        && crd["status"]["storedVersions"] == json!(stored_versions)
    {
        return;
    }
    let now = objects::now_rfc3339();
    let mut new = crd.clone();
    new["status"] = json!({
        "conditions": [
            condition("NamesAccepted", "NoConflicts", "no conflicts found", &now),
            condition("Established", "InitialNamesAccepted", "the initial names have been accepted", &now),
        ],
        "acceptedNames": accepted,
        "storedVersions": stored_versions,
    });
    let _ = ctx
        .store
        .put(CRD_KEY, "", &name, Precondition::Rv(object_rv(crd)), new);
}
