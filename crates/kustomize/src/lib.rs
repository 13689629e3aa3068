//! Kustomize v5.5.0 builds: loader with root restriction, generators, transformers, patches, name references, ordering.

mod build;
pub mod crds;
pub mod error;
pub mod fieldspec;
pub mod flux;
pub mod generators;
pub mod hash;
pub mod http;
pub mod kustomization;
mod level;
pub mod loader;
pub mod nameref;
pub mod openapi;
pub mod options;
pub mod order;
pub mod patch;
pub mod read;
pub mod remote;
pub mod resmap;
pub mod resource;
mod scope;
pub mod selector;
pub mod transform;
mod vars;

pub use build::build;
pub use error::BuildError;
pub use flux::{FluxBuildError, FluxBuildOptions, SubstituteError, SubstituteOptions};
pub use loader::LoadRestrictor;
pub use options::{BuildOptions, BuildOutput, Order, Overrides};
