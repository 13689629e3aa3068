//! `image.toolkit.fluxcd.io/v1`: ImageRepository (scan), ImagePolicy (select), ImageUpdateAutomation (commit).

mod automation;
mod policy;
mod repository;

pub use automation::*;
pub use policy::*;
pub use repository::*;

/// API group of the image kinds.
pub const GROUP: &str = "image.toolkit.fluxcd.io";
/// Served version.
pub const VERSION: &str = "v1";
