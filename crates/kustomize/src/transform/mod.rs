//! The transformers a kustomization runs at its own level, in kustomize's order (see `ORDER`).

pub mod images;
pub mod metadata;
pub mod names;
pub mod namespace;
pub mod patches;
pub mod replacements;
pub mod replicas;

use crate::fieldspec::{CreateKind, FieldSpec, FieldSpecError};
use crate::resource::Resource;
use crate::selector::SelectorError;

/// Why a transformer failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransformError {
    /// A field path could not be walked.
    #[error("{object}: {source}")]
    Field {
        /// The object (`Kind/name`).
        object: String,
        /// The walk error.
        source: FieldSpecError,
    },
    /// A selector or target could not be compiled.
    #[error(transparent)]
    Selector(#[from] SelectorError),
    /// A patch could not be applied or parsed.
    #[error("{0}")]
    Patch(String),
    /// Two objects ended with the same id.
    #[error("{0}")]
    Conflict(String),
    /// An entry of the kustomization is malformed or matches nothing it must match.
    #[error("{0}")]
    Invalid(String),
}

impl From<FieldSpecError> for TransformError {
    fn from(source: FieldSpecError) -> Self {
        TransformError::Field {
            object: String::new(),
            source,
        }
    }
}

/// `Kind/name` of a resource, for messages.
pub fn describe(r: &Resource) -> String {
    let ns = r.namespace();
    if ns.is_empty() {
        format!("{}/{}", r.kind(), r.name())
    } else {
        format!("{}/{}.{}", r.kind(), ns, r.name())
    }
}

/// Applies `set` to every field of `r` that the specs select by the current GVK.
pub fn apply_specs(
    r: &mut Resource,
    specs: &[FieldSpec],
    create: CreateKind,
    set: &mut dyn FnMut(&mut serde_json::Value) -> Result<(), TransformError>,
) -> Result<(), TransformError> {
    let gvk = r.gvk();
    for fs in specs {
        if !gvk.is_selected(&fs.gvk) {
            continue;
        }
        let object = describe(r);
        crate::fieldspec::walk(&mut r.obj, fs, create, set).map_err(|e| match e {
            TransformError::Field { source, .. } => TransformError::Field { object, source },
            other => other,
        })?;
    }
    Ok(())
}

/// Errors when two resources share an id after a transformation.
pub fn check_unique_ids(resources: &[Resource], what: &str) -> Result<(), TransformError> {
    let mut seen = std::collections::HashSet::new();
    for r in resources {
        let id = r.cur_id();
        let key = (
            id.gvk.clone(),
            id.name.clone(),
            id.effective_namespace().to_string(),
        );
        if !seen.insert(key) {
            return Err(TransformError::Conflict(format!(
                "{what} produces ID conflict: {id}"
            )));
        }
    }
    Ok(())
}
