//! Writing status through the status subresource, and Flux's finalizer on metadata.

use kube::api::{Api, Patch, PatchParams};
use kube::ResourceExt;
use serde_json::{json, Map, Value};

use super::Object;

/// Why a status or metadata write failed.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// The object could not be serialised (a bug in the types).
    #[error("{kind} {namespace}/{name}: cannot serialise: {source}")]
    Serialise {
        /// Kind of the object.
        kind: String,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// The serde error.
        source: serde_json::Error,
    },
    /// The API server refused the write (conflict, gone, forbidden…); retried with backoff.
    #[error("{kind} {namespace}/{name}: cannot {action}: {source}")]
    Api {
        /// Kind of the object.
        kind: String,
        /// Namespace.
        namespace: String,
        /// Name.
        name: String,
        /// `patch status`, `add finalizer`, `remove finalizer`.
        action: &'static str,
        /// The client error (boxed: it is large and this path is rare).
        source: Box<kube::Error>,
    },
}

/// `obj.status` as JSON (`{}` when absent).
pub(crate) fn status_of<K: Object>(obj: &K) -> Result<Value, StatusError> {
    let v = serde_json::to_value(obj).map_err(|source| StatusError::Serialise {
        kind: K::kind(&()).into_owned(),
        namespace: obj.namespace().unwrap_or_default(),
        name: obj.name_any(),
        source,
    })?;
    Ok(match v.get("status") {
        Some(s @ Value::Object(_)) => s.clone(),
        _ => Value::Object(Map::new()),
    })
}

/// Writes `new` over `old` with a merge patch on the status subresource; fields present in
/// `old` and gone from `new` are removed (nulls). Does nothing when they are equal.
/// `manager` names the writer in managedFields (Flux: `gotk-<controller>`).
pub async fn patch_status<K: Object>(
    api: &Api<K>,
    obj: &K,
    manager: &str,
    old: &Value,
    new: &Value,
) -> Result<bool, StatusError> {
    if old == new {
        return Ok(false);
    }
    let mut patch = new.as_object().cloned().unwrap_or_default();
    if let Some(old) = old.as_object() {
        for key in old.keys() {
            if !patch.contains_key(key) {
                patch.insert(key.clone(), Value::Null);
            }
        }
    }
    api.patch_status(
        &obj.name_any(),
        &PatchParams {
            field_manager: Some(manager.to_string()),
            ..PatchParams::default()
        },
        &Patch::Merge(json!({ "status": patch })),
    )
    .await
    .map_err(|source| api_error(obj, "patch status", source))?;
    Ok(true)
}

/// Adds or removes `finalizer` with a JSON merge patch of the whole list, guarded by the
/// resourceVersion so a concurrent change is not overwritten.
pub(crate) async fn set_finalizer<K: Object>(
    api: &Api<K>,
    obj: &K,
    manager: &str,
    finalizer: &str,
    present: bool,
) -> Result<(), StatusError> {
    let mut list: Vec<String> = obj.finalizers().to_vec();
    list.retain(|f| f != finalizer);
    if present {
        list.push(finalizer.to_string());
    }
    let patch = json!({"metadata": {
        "finalizers": list,
        "resourceVersion": obj.resource_version(),
    }});
    let action = if present {
        "add finalizer"
    } else {
        "remove finalizer"
    };
    match api
        .patch(
            &obj.name_any(),
            &PatchParams {
                field_manager: Some(manager.to_string()),
                ..PatchParams::default()
            },
            &Patch::Merge(patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        // Already gone: nothing left to finalize.
        Err(kube::Error::Api(s)) if s.code == 404 && !present => Ok(()),
        Err(source) => Err(api_error(obj, action, source)),
    }
}

fn api_error<K: Object>(obj: &K, action: &'static str, source: kube::Error) -> StatusError {
    StatusError::Api {
        kind: K::kind(&()).into_owned(),
        namespace: obj.namespace().unwrap_or_default(),
        name: obj.name_any(),
        action,
        source: Box::new(source),
    }
}
