//! Flotilla's controllers: one process runs every reconciler on a shared kube-runtime harness.
//!
//! [`run`] starts the metrics/health server, the artifact server, optional leader election
//! and one reconcile loop per kind, until the `shutdown` future completes (in-flight
//! reconciles finish, the lease is released). [`runtime`] is the harness a kind plugs into by
//! implementing [`Reconciler`] (see `RUNTIME.md`); [`gitrepository`] is the GitRepository
//! source reconciler and the HTTP server for its artifacts.

pub mod gitrepository;
pub mod image;
pub mod kustomization;
pub mod notification;
mod options;
mod run;
pub mod runtime;

pub use options::{ControllerOptions, Kind};
pub use run::{run, ControllerError};
pub use runtime::leader::LeaderElection;
pub use runtime::{Failure, Reconciler, Success};
