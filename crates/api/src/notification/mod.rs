//! `notification.toolkit.fluxcd.io`: Provider and Alert (`v1beta3`, static objects without status)
//! and Receiver (`v1`).

mod alert;
mod provider;
mod receiver;

pub use alert::*;
pub use provider::*;
pub use receiver::*;

/// API group of the notification kinds.
pub const GROUP: &str = "notification.toolkit.fluxcd.io";
/// Version of Provider and Alert.
pub const VERSION_V1BETA3: &str = "v1beta3";
/// Version of Receiver.
pub const VERSION_V1: &str = "v1";

/// Kinds that emit events or can be asked to reconcile (Alert event sources, Receiver resources).
pub const SOURCE_KINDS: [&str; 12] = [
    "Bucket",
    "GitRepository",
    "Kustomization",
    "HelmRelease",
    "HelmChart",
    "HelmRepository",
    "ImageRepository",
    "ImagePolicy",
    "ImageUpdateAutomation",
    "OCIRepository",
    "ArtifactGenerator",
    "ExternalArtifact",
];
