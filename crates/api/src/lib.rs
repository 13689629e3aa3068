//! Flux-compatible API types for Flotilla's controllers, and the CRDs generated from them.
//!
//! One `kube::CustomResource` per kind, at the version Flux serves: [`GitRepository`]
//! (`source.toolkit.fluxcd.io/v1`), [`Kustomization`] (`kustomize.toolkit.fluxcd.io/v1`),
//! [`ImageRepository`], [`ImagePolicy`], [`ImageUpdateAutomation`] (`image.toolkit.fluxcd.io/v1`),
//! [`Provider`], [`Alert`] (`notification.toolkit.fluxcd.io/v1beta3`, no status) and [`Receiver`]
//! (`notification.toolkit.fluxcd.io/v1`). Objects round-trip: optional fields stay absent,
//! durations keep their text ([`GoDuration`]). [`crds()`] / [`crds_json()`] / [`crds_yaml()`] give
//! the CRDs to install (use them rather than `Kind::crd()`: they carry Flux's listKind, status
//! default and non-nullable fields). [`ConditionsExt`] marks conditions as Flux's controllers do;
//! [`FluxStatus`] covers observedGeneration and `reconcile.fluxcd.io/requestedAt` handling.

// kube's repeated `printcolumn(type_ = "string", …)` attributes are distinct columns, not duplicates.
#![allow(clippy::duplicated_attributes)]

pub mod condition;
pub mod crds;
pub mod duration;
pub mod image;
pub mod inventory;
pub mod kustomize;
pub mod notification;
pub mod object;
pub mod reconcile;
pub mod refs;
pub mod revision;
mod schema;
pub mod source;

pub use condition::{Condition, ConditionStatus, ConditionsExt, HasConditions};
pub use crds::{crds, crds_json, crds_yaml, CrdError};
pub use duration::{format_go_duration, parse_go_duration, DurationError, GoDuration};
pub use image::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
pub use inventory::{InventoryError, ObjMetadata, ResourceInventory, ResourceRef};
pub use kustomize::Kustomization;
pub use notification::{Alert, Provider, Receiver};
pub use object::{FluxObject, FluxStatus};
pub use source::{Artifact, GitRepository};
