//! Patch engines over JSON values: RFC 6902 JSON patch, RFC 7386 merge patch, strategic merge patch, and server-side apply field ownership.

mod json_patch;
mod merge_patch;
mod strategic;

pub use json_patch::{json_patch, JsonPatchError, JsonPatchOptions};
pub use merge_patch::merge_patch;
pub use strategic::{builtin_type, strategic_merge_patch, SmpError};
