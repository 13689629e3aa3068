//! Kubernetes schema facts: kinds and scope, strategic-merge keys and list types (from the v1.21.2 OpenAPI kustomize uses).
//!
//! - [`builtin_kinds`], [`builtin_scope`], [`builtin_group_kind_scope`], [`Gvk`]: which kinds
//!   are built in and their scope.
//! - [`Schema::kubernetes`] (the embedded v1.21.2 definitions, parsed once) and
//!   [`Schema::from_openapi_v3`] (a CRD version's `openAPIV3Schema`) give [`TypeRef`]s
//!   through [`Schema::for_kind`] / [`Schema::root`]; a `TypeRef` navigates
//!   ([`TypeRef::field`], [`TypeRef::items`], [`TypeRef::values`]) and tells how to merge
//!   ([`TypeRef::shape`], [`TypeRef::patch_strategy`], [`TypeRef::patch_merge_key`],
//!   [`TypeRef::list_type`], [`TypeRef::map_type`]).
//! - [`check`]: structural-schema pruning, defaulting and validation of one object, as the
//!   API server does for custom resources, with errors worded like its 422 causes
//!   (`spec.url: Required value`); for built-in kinds, unknown fields and type errors.

mod check;
mod error;
mod gvk;
mod node;
mod parse;
mod schema;
mod typeref;

pub use check::{check, CheckOptions, CheckReport, FieldError, FieldErrorKind};
pub use error::SchemaError;
pub use gvk::{
    builtin_group_kind_scope, builtin_kinds, builtin_scope, split_api_version, BuiltinKind, Gvk,
    Scope,
};
pub use schema::Schema;
pub use typeref::{ListType, MapType, PatchStrategy, Shape, TypeRef};
