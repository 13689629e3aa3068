//! Makes a cluster match a set of objects as Flux's kustomize-controller does.
//!
//! [`Applier::apply`] applies in three stages (CustomResourceDefinitions, Namespaces and
//! ClusterRoles, waited on until ready; then `*Class` kinds; then everything else). Each
//! object is dry-run applied with server-side apply (field manager `kustomize-controller`,
//! conflicts forced) and compared with the live object; only drifted objects are applied, so
//! a no-change re-apply writes nothing. The [`ChangeSet`] says per object Created, Configured,
//! Unchanged or Skipped, and prints like Flux's events. Per-object annotations behave as in
//! Flux: `kustomize.toolkit.fluxcd.io/ssa: Override|Merge|IfNotPresent|Ignore`, `/force:
//! enabled` (recreate on immutable field changes; also [`ApplyOptions::force`]),
//! `/reconcile: disabled`, `/prune: disabled`.
//!
//! [`Applier::diff`] is the dry run alone ([`ObjectDiff`]: live and would-be objects).
//! [`Applier::prune`] deletes stale inventory entries that carry the owner labels;
//! [`Applier::wait`] polls until objects are Current by the [`kstatus`] rules and
//! [`Applier::wait_for_termination`] until they are gone (Kustomization `deletionPolicy`).
//!
//! A re-apply costs one paged LIST per large group of live objects and no request per
//! object when the `kustomize-controller` Apply entry of `managedFields` already owns exactly
//! the desired fields with the desired values (see `fastpath`); otherwise the dry run decides.
//! Differences from Flux: `force` recreates only on errors that name an immutable field (Flux
//! also recreates on any Invalid/Conflict); prune reports objects already gone as Skipped.
//!
//! Objects are `serde_json::Value`s; identities are `flotilla_api::ObjMetadata` (inventory
//! ids). Kinds are resolved through discovery, cached per [`Applier`] and looked up again when
//! unknown or after CRDs are applied.

mod applier;
mod apply;
mod changeset;
mod diff;
mod discovery;
mod error;
mod fastpath;
pub mod kstatus;
mod object;
mod prune;
mod sort;
mod wait;

pub use applier::Applier;
pub use apply::ApplyOptions;
pub use changeset::{Action, ChangeSet, ChangeSetEntry};
pub use diff::ObjectDiff;
pub use error::ApplyError;
pub use object::{
    is_secret, subject, Subject, FIELD_MANAGER, FORCE_ANNOTATION, LAST_APPLIED_ANNOTATION,
    OWNER_NAMESPACE_LABEL, OWNER_NAME_LABEL, PRUNE_ANNOTATION, RECONCILE_ANNOTATION,
    SSA_ANNOTATION,
};
pub use prune::PruneOptions;
pub use wait::{Pending, WaitError, WaitOptions};
