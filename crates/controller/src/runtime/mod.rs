//! The reconcile harness every kind plugs into: a [`Reconciler`] does the kind's work, the harness does the rest.
//!
//! See `crates/controller/RUNTIME.md` for how a reconciler plugs in.

pub mod events;
mod harness;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod schedule;
mod status;

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

use flotilla_api::FluxStatus;
use kube::core::NamespaceResourceScope;
use kube::Resource;
use serde::de::DeserializeOwned;
use serde::Serialize;

pub use events::{EventNote, EventRecorder, EventType};
pub use harness::{spawn, spawn_following, HarnessOptions, Shared};
pub use status::{patch_status, StatusError};

/// What a successful reconcile reports: `Ready=True` with this reason and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Success {
    /// Ready's reason (usually `Succeeded` / `ReconciliationSucceeded`).
    pub reason: String,
    /// Ready's message (for example `stored artifact for revision 'main@sha1:…'`).
    pub message: String,
    /// Next reconcile; `None`: `spec.interval` with jitter.
    pub requeue_after: Option<Duration>,
    /// An event to publish even when Ready did not change (for example `NewArtifact`).
    pub event: Option<EventNote>,
}

impl Success {
    /// Success with the given reason and message, requeued at the interval.
    pub fn new(reason: impl Into<String>, message: impl Into<String>) -> Success {
        Success {
            reason: reason.into(),
            message: message.into(),
            requeue_after: None,
            event: None,
        }
    }

    /// Publishes `event` with this result.
    pub fn with_event(mut self, event: EventNote) -> Success {
        self.event = Some(event);
        self
    }
}

/// What a failed reconcile reports: `Ready=False` with this reason and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// Ready's reason (`GitOperationFailed`, `AuthenticationFailed`, …).
    pub reason: String,
    /// Ready's message; never contains a secret.
    pub message: String,
    /// The spec itself is wrong: `Stalled=True`, no retry until the object changes.
    pub stalled: bool,
    /// Retry after this long instead of the backoff / `retryInterval`.
    pub retry_after: Option<Duration>,
    /// An expected wait (a dependency or source not ready yet), not an error: logged at
    /// info as Flux does, so start-up and dependency ordering don't fill logs with errors.
    pub waiting: bool,
}

impl Failure {
    /// A failure retried with backoff (or `retryInterval`).
    pub fn retry(reason: impl Into<String>, message: impl Into<String>) -> Failure {
        Failure {
            reason: reason.into(),
            message: message.into(),
            stalled: false,
            retry_after: None,
            waiting: false,
        }
    }

    /// A failure that needs a spec change: `Stalled=True`, not retried.
    pub fn stalled(reason: impl Into<String>, message: impl Into<String>) -> Failure {
        Failure {
            stalled: true,
            ..Failure::retry(reason, message)
        }
    }

    /// Marks the failure as an expected wait (see [`Failure::waiting`]).
    pub fn waiting(mut self) -> Failure {
        self.waiting = true;
        self
    }

    /// Retries after `after` (for example `requeueDependency` while a dependency is not ready).
    pub fn retry_after(mut self, after: Duration) -> Failure {
        self.retry_after = Some(after);
        self
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.reason, self.message)
    }
}

/// Trait bounds of the objects the harness reconciles (every namespaced toolkit kind with a status).
pub trait Object:
    FluxStatus
    + Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
}

impl<K> Object for K where
    K: FluxStatus
        + Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + Debug
        + Serialize
        + DeserializeOwned
        + Send
        + Sync
        + 'static
{
}

/// One kind's reconcile logic. The harness calls it for objects that are not suspended and not
/// being deleted, with `status.lastHandledReconcileAt` and the in-progress conditions already
/// set; it sets its own kind-specific conditions and status fields on `obj` and returns the
/// outcome. The harness then sets Ready/Reconciling/Stalled and observedGeneration, patches the
/// status if it changed, publishes events, records metrics and schedules the next run.
pub trait Reconciler: Send + Sync + 'static {
    /// The kind reconciled.
    type Object: Object;

    /// Flux's controller name, reported on events (`source-controller`, `kustomize-controller`).
    fn controller_name(&self) -> &'static str;

    /// Brings the world in line with `obj` and records what happened in `obj.status`.
    fn reconcile<'a>(
        &'a self,
        obj: &'a mut Self::Object,
    ) -> impl Future<Output = Result<Success, Failure>> + Send + 'a;

    /// Whether the harness keeps Flux's finalizer on the objects (so [`Reconciler::finalize`]
    /// runs before they go).
    fn uses_finalizer(&self) -> bool {
        false
    }

    /// Cleans up after a deleted object (artifacts, caches). Runs once, before the finalizer
    /// is removed; an error retries with backoff.
    fn finalize<'a>(
        &'a self,
        obj: &'a Self::Object,
    ) -> impl Future<Output = Result<(), Failure>> + Send + 'a {
        let _ = obj;
        async { Ok(()) }
    }

    /// `spec.retryInterval` for kinds that have one (the delay after a failure).
    fn retry_interval(&self, obj: &Self::Object) -> Option<Duration> {
        let _ = obj;
        None
    }

    /// The GitRepository (namespace, name) whose artifact `obj` consumes. When a kind names
    /// one, the harness watches GitRepositories and reconciles `obj` as soon as that source's
    /// artifact revision changes, as Flux's controllers do, instead of at `obj`'s own interval.
    fn git_source(&self, obj: &Self::Object) -> Option<(String, String)> {
        let _ = obj;
        None
    }

    /// Whether [`Reconciler::git_source`] is implemented (the harness then watches sources).
    fn watches_git_sources(&self) -> bool {
        false
    }
}

/// An upstream kind `S` a reconciler follows (run with [`spawn_following`]): when an `S`
/// object's revision changes, the objects that follow it are reconciled at once instead of at
/// their own interval (ImagePolicy follows ImageRepository scans, ImageUpdateAutomation
/// follows ImagePolicies).
pub trait Upstream<S: Object>: Reconciler {
    /// What about `src` counts as new (a scan time, a selected tag); `None`: nothing yet.
    fn upstream_revision(&self, src: &S) -> Option<String>;

    /// Whether `obj` consumes `src`.
    fn follows(&self, obj: &Self::Object, src: &S) -> bool;
}

/// A Secret's data with `stringData` merged over `data`, as reconcilers read credentials.
pub(crate) fn secret_bytes(
    secret: k8s_openapi::api::core::v1::Secret,
) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut data: std::collections::BTreeMap<String, Vec<u8>> = secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.0))
        .collect();
    for (k, v) in secret.string_data.unwrap_or_default() {
        data.insert(k, v.into_bytes());
    }
    data
}
