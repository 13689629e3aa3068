//! The build's error type: every failure names the kustomization directory (and file or field) at fault.

use crate::crds::CrdError;
use crate::fieldspec::FieldSpecError;
use crate::generators::GeneratorError;
use crate::kustomization::KustomizationError;
use crate::loader::LoadError;
use crate::openapi::OpenApiError;
use crate::read::ReadError;
use crate::resmap::ResMapError;
use crate::transform::TransformError;

/// Why a build failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// A file or directory could not be read (missing, outside the root, too large, a cycle).
    #[error(transparent)]
    Load(#[from] LoadError),
    /// No kustomization file in a directory that must have one.
    #[error("unable to find one of 'kustomization.yaml', 'kustomization.yml' or 'Kustomization' in directory '{0}'")]
    NoKustomization(String),
    /// Several kustomization files in one directory.
    #[error("{0}")]
    MultipleKustomizations(String),
    /// The kustomization file is invalid.
    #[error("{file}: {source}")]
    Kustomization {
        /// The file.
        file: String,
        /// What is wrong.
        source: KustomizationError,
    },
    /// A resource file is not valid YAML or not Kubernetes objects.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// A generator failed.
    #[error(transparent)]
    Generator(#[from] GeneratorError),
    /// Resources could not be merged (duplicate ids, generator behaviors).
    #[error("{dir}: {source}")]
    ResMap {
        /// The kustomization directory.
        dir: String,
        /// What collided.
        source: ResMapError,
    },
    /// A transformer failed.
    #[error("{dir}: {source}")]
    Transform {
        /// The kustomization directory.
        dir: String,
        /// What failed.
        source: TransformError,
    },
    /// A `configurations:` file or CRD is invalid.
    #[error("{dir}: {source}")]
    Config {
        /// The kustomization directory.
        dir: String,
        /// What is wrong.
        source: FieldSpecError,
    },
    /// A field needing something this build does not do (plugins, Helm, remote resources).
    #[error("{dir}: field '{field}' is not supported: {reason}")]
    Unsupported {
        /// The kustomization directory.
        dir: String,
        /// The field.
        field: String,
        /// Why, and what to do.
        reason: String,
    },
    /// A resource entry is neither a readable file nor a kustomization directory.
    #[error("{dir}: accumulating resources from '{path}': {message}")]
    Resource {
        /// The kustomization directory.
        dir: String,
        /// The entry.
        path: String,
        /// Both failures.
        message: String,
    },
    /// The `openapi:` field could not be used.
    #[error("{dir}: {source}")]
    OpenApi {
        /// The kustomization directory.
        dir: String,
        /// What is wrong.
        source: OpenApiError,
    },
    /// A `crds:` file could not be used.
    #[error("{dir}: loading CRDs: {source}")]
    Crds {
        /// The kustomization directory.
        dir: String,
        /// What is wrong.
        source: CrdError,
    },
}
