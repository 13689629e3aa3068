//! Patch engines over JSON values: RFC 6902 JSON patch, RFC 7386 merge patch, strategic merge patch, and server-side apply field ownership.
//!
//! Everything works on `serde_json::Value` objects and never touches storage; the embedded API
//! server (`flotilla-devcluster`) calls these from its handlers:
//!
//! | request | call |
//! |---|---|
//! | `PATCH` `application/json-patch+json` | [`json_patch`]; the API server and kubectl run evanphx/json-patch v4, whose `replace` adds a missing object member: pass `lenient_replace: true` to answer as they do (kustomize does too); the default follows RFC 6902 strictly |
//! | `PATCH` `application/merge-patch+json` | [`merge_patch`] |
//! | `PATCH` `application/strategic-merge-patch+json` | [`builtin_type`] → `None`: answer 415 as Kubernetes does for custom resources; else [`strategic_merge_patch`] |
//! | `PATCH` `application/apply-patch+yaml` | [`ssa::apply`] (returns the new object with managedFields, or a 409 [`ssa::ApplyConflict`]) |
//! | `POST`, `PUT`, other `PATCH`es | compute the new object, then [`ssa::record_update`] to credit the changed fields to the manager |
//!
//! Types come from `flotilla-schema`: `Schema::kubernetes().for_kind(..)` for built-in kinds
//! (also via [`builtin_type`]), `Schema::from_openapi_v3(..).root()` for a CRD version. Server-side
//! apply works without a type too (maps merge key by key, lists are atomic), as Kubernetes
//! treats schemaless fields.
//!
//! Server-side apply in short ([`ssa`]): each `metadata.managedFields` entry is a manager
//! (`manager`, `operation` `Apply`|`Update`, `apiVersion`, `subresource`) and the set of fields it
//! owns (`fieldsV1`: `f:<field>`, `k:{<list-map keys>}`, `v:<set item>`, `.` for the node itself).
//! An apply merges the configuration (associative lists by their keys, sets by value, atomic
//! lists and maps replaced), fails on fields other managers own whose value would change
//! (unless forced, which moves them), removes fields the manager applied before and dropped
//! (unless another manager owns them), and records exactly the applied fields. Applying the
//! same configuration again changes nothing, not even the entry's time.

mod json_patch;
mod merge_patch;
pub mod ssa;
mod strategic;

pub use json_patch::{json_patch, JsonPatchError, JsonPatchOptions};
pub use merge_patch::merge_patch;
pub use strategic::{builtin_type, strategic_merge_patch, SmpError};
