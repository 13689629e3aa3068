//! Kubernetes schema facts: kinds and scope, strategic-merge keys and list types (from the v1.21.2 OpenAPI kustomize uses).
//!
//! - [`builtin_kinds`], [`builtin_scope`], [`builtin_group_kind_scope`], [`Gvk`]: which kinds
//!   are built in and their scope.
//! - [`Schema::kubernetes`] (the embedded v1.21.2 definitions, parsed once) and
//!   [`Schema::from_openapi_v3`] (a CRD version's `openAPIV3Schema`) and
//!   [`Schema::from_openapi_v2`] (a Swagger document's kinds, e.g. kustomize's `openapi: path:`) give [`TypeRef`]s
//!   through [`Schema::for_kind`] / [`Schema::root`]; a `TypeRef` navigates
//!   ([`TypeRef::field`], [`TypeRef::items`], [`TypeRef::values`]) without allocating and
//!   tells how to merge ([`TypeRef::shape`], [`TypeRef::patch_strategy`],
//!   [`TypeRef::patch_merge_key`], [`TypeRef::list_type`], [`TypeRef::map_type`]).
//! - [`check`]: structural-schema pruning, defaulting and validation of one object, as the
//!   API server does for custom resources, with errors worded like its 422 causes
//!   (`spec.url: Required value`); for built-in kinds, unknown fields and type errors.
//! - [`structural_errors`]: the structural-schema rules a CRD schema must meet to be admitted.
//!
//! Both sources share one representation: a v2 `$ref` property is a node carrying the
//! property's own extensions (merge key, patch strategy) and pointing at the definition, so
//! extensions are read from the property first and structure from the definition.
//! int-or-string and `Quantity` are [`Shape::Scalar`] (accepting numbers and strings);
//! free-form types (`RawExtension`, `JSON`, preserve-unknown-fields without properties) are
//! [`Shape::Unknown`]. At a resource root (CRD root, embedded resource) `metadata` is always
//! the built-in `ObjectMeta` (a CRD's own `name` restrictions are still checked), and
//! `apiVersion`/`kind` are strings. Objects nested deeper than [`MAX_DEPTH`] are refused.
//!
//! ```
//! use flotilla_schema::{check, CheckOptions, ListType, Schema};
//!
//! let deployment = Schema::kubernetes().for_kind("apps/v1", "Deployment").unwrap();
//! let containers = ["spec", "template", "spec", "containers"]
//!     .iter()
//!     .try_fold(deployment, |t, f| t.field(f))
//!     .unwrap();
//! assert_eq!(containers.patch_merge_key(), Some("name"));
//! assert_eq!(containers.list_type(), ListType::Map(&["name".to_string()]));
//!
//! let crd = Schema::from_openapi_v3(&serde_json::json!({
//!     "type": "object",
//!     "properties": {"spec": {"type": "object", "required": ["url"], "properties": {
//!         "url": {"type": "string"},
//!         "interval": {"type": "string", "default": "1m"}}}}
//! }))
//! .unwrap();
//! let mut object = serde_json::json!({"spec": {"foo": 1}});
//! let report = check(crd.root().unwrap(), &mut object, &CheckOptions::default());
//! assert_eq!(report.unknown_fields, ["spec.foo"]);
//! assert_eq!(report.errors[0].to_string(), "spec.url: Required value");
//! assert_eq!(object, serde_json::json!({"spec": {"interval": "1m"}}));
//! ```

mod check;
mod error;
mod gvk;
mod lazy;
mod node;
mod parse;
mod schema;
mod structural;
mod typeref;

pub use check::{check, CheckOptions, CheckReport, FieldError, FieldErrorKind, MAX_DEPTH};
pub use error::SchemaError;
pub use gvk::{
    builtin_group_kind_scope, builtin_kinds, builtin_scope, split_api_version, BuiltinKind, Gvk,
    Scope,
};
pub use schema::Schema;
pub use structural::structural_errors;
pub use typeref::{ListType, MapType, PatchStrategy, Shape, TypeRef};
