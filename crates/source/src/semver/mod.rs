//! Semantic versions and Masterminds-style constraints, used to pick a tag for `ref.semver`.

mod constraint;
mod version;

pub use constraint::{ConstraintError, Constraints};
pub use version::Version;
