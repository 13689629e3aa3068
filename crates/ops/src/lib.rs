//! Operations the `flotilla` CLI performs, as a library: the binary parses flags, calls these and
//! prints what they return.
//!
//! - [`connect`]: cluster access like kubectl (`KUBECONFIG`, `--kubeconfig`, `--context`,
//!   namespace from the flag, else the context, else `flux-system`), with one-line errors.
//! - [`kinds`]: the toolkit kinds the CLI names (`source git`, `kustomization`, `image …`).
//! - [`table`]: Flux's table layout (`flux get`), hex truncation.
//! - [`get`]: rows, headers and `--status-selector` matching per kind.
//! - [`reconcile`]: request a reconcile, wait for it to be handled, suspend and resume.
//! - [`create`]: objects built from `create` flags, and the `--export` YAML stream.
//! - [`export`]: live objects cleaned for backup.
//! - [`tree`]: a Kustomization's inventory as a tree.
//! - [`install`]: every manifest `flotilla install` applies.
//! - [`build`]: a local directory built with a Kustomization's spec (`build kustomization`).
//! - [`diff`]: that build dry-run against the cluster (`diff kustomization`).
//! - [`bootstrap`]: `bootstrap git` (files in the repository, commit, push, install).
//! - [`migrate`]: rewrites manifests from removed Flux API versions.
//! - [`notify`]: Provider, Alert and Receiver objects from `create` flags.

pub mod bootstrap;
pub mod build;
pub mod connect;
pub mod create;
pub mod diff;
pub mod export;
pub mod get;
pub mod install;
pub mod kinds;
pub mod migrate;
pub mod notify;
pub mod reconcile;
pub mod table;
pub mod tree;

pub use connect::{connect, Cluster, ClusterOptions, ConnectError, DEFAULT_NAMESPACE};
pub use kinds::{FluxKind, UnknownKind};
