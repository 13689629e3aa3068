//! Patches: `patchesStrategicMerge`, `patches` (strategic merge or JSON 6902, with targets and options) and `patchesJson6902`.

use serde_json::Value;

use super::{describe, TransformError};
use crate::loader::Loader;
use crate::openapi::OpenApi;
use crate::patch::smp;
use crate::read;
use crate::resource::Resource;
use crate::selector::Selector;

/// A loaded patch: strategic-merge objects or a list of JSON 6902 operations.
#[derive(Debug, Clone)]
pub enum Patch {
    /// Strategic merge patch objects.
    Strategic(Vec<Resource>),
    /// JSON 6902 operations.
    Json(Value),
}

/// Reads a patch's text: a sequence is JSON 6902, mappings are strategic merge.
pub fn parse_patch(text: &str, origin: &str) -> Result<Patch, TransformError> {
    let docs = read::parse_docs(text, origin).map_err(|e| TransformError::Patch(e.to_string()))?;
    let non_null: Vec<Value> = docs.into_iter().filter(|d| !d.is_null()).collect();
    if non_null.len() == 1 && non_null[0].is_array() {
        let ops = non_null.into_iter().next().unwrap_or(Value::Null);
        if ops.as_array().is_some_and(Vec::is_empty) {
            return Err(TransformError::Patch(format!(
                "patch appears to be empty; {origin}"
            )));
        }
        return Ok(Patch::Json(ops));
    }
    if non_null.is_empty() {
        return Err(TransformError::Patch(format!(
            "unable to parse SM or JSON patch from {origin}"
        )));
    }
    let rs = read::resources_from_values(non_null, origin).map_err(|e| {
        TransformError::Patch(format!(
            "unable to parse SM or JSON patch from {origin}: {e}"
        ))
    })?;
    Ok(Patch::Strategic(rs))
}

/// Applies one strategic-merge patch to the resources at `targets` (indices), removing any the
/// patch deletes.
pub fn apply_smp(
    resources: &mut Vec<Resource>,
    targets: &[usize],
    patch: &Resource,
    allow_name_change: bool,
    allow_kind_change: bool,
    openapi: &OpenApi,
) -> Result<(), TransformError> {
    let types = openapi
        .schema()
        .map_err(|e| TransformError::Patch(e.to_string()))?;
    let mut deleted = Vec::new();
    for &i in targets {
        let r = &mut resources[i];
        let mut p = patch.obj.clone();
        if let Some(m) = p.as_object_mut() {
            m.insert(
                "apiVersion".into(),
                Value::String(r.api_version().to_string()),
            );
            m.insert("kind".into(), Value::String(patch.kind().to_string()));
        }
        let (name, ns, kind) = (
            r.name().to_string(),
            r.namespace().to_string(),
            r.kind().to_string(),
        );
        if allow_name_change || allow_kind_change {
            r.store_previous_id();
        }
        let obj = std::mem::take(&mut r.obj);
        let merged = smp::merge_object(obj, &p, types)
            .map_err(|e| TransformError::Patch(format!("{}: {e}", describe(patch))))?;
        match merged {
            None => deleted.push(i),
            Some(Value::Object(m)) if m.is_empty() => deleted.push(i),
            Some(v) => {
                r.obj = v;
                if !allow_kind_change {
                    r.set_kind(&kind);
                }
                if !allow_name_change {
                    r.set_name(&name);
                }
                r.set_namespace(&ns);
            }
        }
    }
    for i in deleted.into_iter().rev() {
        resources.remove(i);
    }
    Ok(())
}

/// The one resource a target-less strategic merge patch applies to (matched by any id).
fn unique_target(resources: &[Resource], patch: &Resource) -> Result<usize, TransformError> {
    let id = patch.org_id();
    let hits: Vec<usize> = resources
        .iter()
        .enumerate()
        .filter(|(_, r)| r.all_ids().iter().any(|x| x.equals(&id)))
        .map(|(i, _)| i)
        .collect();
    match hits.len() {
        1 => Ok(hits[0]),
        0 => Err(TransformError::Patch(format!(
            "no resource matches strategic merge patch \"{id}\": no matches for Id {id}; failed to find unique target for patch {id}"
        ))),
        _ => Err(TransformError::Patch(format!(
            "multiple matches for Id {id}; failed to find unique target for patch {id}"
        ))),
    }
}

fn apply_json(
    resources: &mut [Resource],
    targets: &[usize],
    ops: &Value,
) -> Result<(), TransformError> {
    let opts = flotilla_merge::JsonPatchOptions {
        lenient_replace: true,
    };
    for &i in targets {
        let r = &mut resources[i];
        r.store_previous_id();
        // kustomize's objects always carry its internal annotations while building, so a patch
        // may add under /metadata/annotations even where the file has none; emulate that map.
        let added = ensure_annotations(&mut r.obj);
        let res = flotilla_merge::json_patch(&mut r.obj, ops, &opts);
        if added {
            drop_empty_annotations(&mut r.obj);
        }
        res.map_err(|e| TransformError::Patch(format!("{}: {e}", describe(r))))?;
    }
    Ok(())
}

fn ensure_annotations(obj: &mut Value) -> bool {
    let Some(md) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return false;
    };
    match md.get("annotations") {
        Some(Value::Object(_)) => false,
        _ => {
            md.insert("annotations".into(), Value::Object(Default::default()));
            true
        }
    }
}

fn drop_empty_annotations(obj: &mut Value) {
    if let Some(md) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if md
            .get("annotations")
            .is_some_and(|a| a.as_object().is_some_and(|m| m.is_empty()) || a.is_null())
        {
            md.remove("annotations");
        }
    }
}

/// Indices of the resources a `target:` selects.
pub fn select(resources: &[Resource], target: &Value) -> Result<Vec<usize>, TransformError> {
    let sel = Selector::from_value(target)?;
    Ok(resources
        .iter()
        .enumerate()
        .filter(|(_, r)| sel.matches(r))
        .map(|(i, _)| i)
        .collect())
}

fn load_text(loader: &Loader, path: &str) -> Result<String, TransformError> {
    loader
        .read_string(path)
        .map_err(|e| TransformError::Patch(e.to_string()))
}

/// `patchesStrategicMerge`: each entry a file or inline YAML; each object patches the one
/// resource with its id.
pub fn patches_strategic_merge(
    resources: &mut Vec<Resource>,
    loader: &Loader,
    entries: &[Value],
    openapi: &OpenApi,
) -> Result<(), TransformError> {
    let mut patches = Vec::new();
    for e in entries {
        let s = match e {
            Value::String(s) => s.clone(),
            other => crate::read::yaml_text(other),
        };
        let text = if !s.contains('\n') && loader.resolve_file(&s).is_ok() {
            load_text(loader, &s)?
        } else if s.contains('\n') || s.contains(':') {
            s.clone()
        } else {
            load_text(loader, &s)?
        };
        let rs = read::resources_from_text(&text, &s)
            .map_err(|e| TransformError::Patch(e.to_string()))?;
        patches.extend(rs);
    }
    for p in patches {
        let i = unique_target(resources, &p)?;
        apply_smp(resources, &[i], &p, false, false, openapi)?;
    }
    Ok(())
}

/// One `patches:` entry.
pub fn patch_entry(
    resources: &mut Vec<Resource>,
    loader: &Loader,
    entry: &Value,
    openapi: &OpenApi,
) -> Result<(), TransformError> {
    let inline = entry
        .get("patch")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim();
    let path = entry.get("path").and_then(Value::as_str).unwrap_or("");
    let text = match (inline.is_empty(), path.is_empty()) {
        (true, true) => {
            return Err(TransformError::Patch(format!(
                "must specify one of patch and path in\n{}",
                crate::read::yaml_text(entry)
            )))
        }
        (false, false) => {
            return Err(TransformError::Patch(format!(
                "patch and path can't be set at the same time\n{}",
                crate::read::yaml_text(entry)
            )))
        }
        (false, true) => inline.to_string(),
        (true, false) => load_text(loader, path)?,
    };
    let origin = if path.is_empty() {
        "inline patch"
    } else {
        path
    };
    let opt = |k: &str| {
        entry
            .get("options")
            .and_then(|o| o.get(k))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    };
    let target = entry.get("target").filter(|t| !t.is_null());
    match parse_patch(&text, origin)? {
        Patch::Strategic(ps) => match target {
            None => {
                for p in ps {
                    let i = unique_target(resources, &p)?;
                    apply_smp(
                        resources,
                        &[i],
                        &p,
                        opt("allowNameChange"),
                        opt("allowKindChange"),
                        openapi,
                    )?;
                }
                Ok(())
            }
            Some(t) => {
                let sel = Selector::from_value(t)?;
                for p in ps {
                    let idx: Vec<usize> = resources
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| sel.matches(r))
                        .map(|(i, _)| i)
                        .collect();
                    apply_smp(
                        resources,
                        &idx,
                        &p,
                        opt("allowNameChange"),
                        opt("allowKindChange"),
                        openapi,
                    )?;
                }
                Ok(())
            }
        },
        Patch::Json(ops) => {
            let Some(t) = target else {
                return Err(TransformError::Patch(format!(
                    "must specify a target for JSON patch {}",
                    text
                )));
            };
            let idx = select(resources, t)?;
            apply_json(resources, &idx, &ops)
        }
    }
}

/// One `patchesJson6902:` entry.
pub fn json6902_entry(
    resources: &mut [Resource],
    loader: &Loader,
    entry: &Value,
) -> Result<(), TransformError> {
    let Some(target) = entry.get("target").filter(|t| !t.is_null()) else {
        return Err(TransformError::Patch(
            "must specify a target for patch".into(),
        ));
    };
    let inline = entry.get("patch").and_then(Value::as_str).unwrap_or("");
    let path = entry.get("path").and_then(Value::as_str).unwrap_or("");
    let text = match (inline.is_empty(), path.is_empty()) {
        (true, true) => {
            return Err(TransformError::Patch(
                "empty file path and empty jsonOp".into(),
            ))
        }
        (false, false) => {
            return Err(TransformError::Patch(
                "must specify a file path or jsonOp, not both".into(),
            ))
        }
        (false, true) => inline.to_string(),
        (true, false) => load_text(loader, path)?,
    };
    let origin = if path.is_empty() {
        "inline patch"
    } else {
        path
    };
    let ops = match parse_patch(&text, origin)? {
        Patch::Json(ops) => ops,
        Patch::Strategic(_) => {
            return Err(TransformError::Patch(format!(
                "{origin}: a JSON 6902 patch must be a list of operations"
            )))
        }
    };
    let idx = select(resources, target)?;
    apply_json(resources, &idx, &ops)
}
