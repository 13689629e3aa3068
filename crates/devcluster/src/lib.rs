//! An embedded Kubernetes-API-compatible server for `flotilla dev` and for tests.
//!
//! [`Server::start`] opens the store (replaying [`Options::data_dir`]), binds (port 0 picks a
//! free one) and serves the Kubernetes REST API over TLS with a self-signed certificate and
//! bearer-token auth (client-go sends tokens only over https). The returned [`ServerHandle`]
//! has the address, token and certificate, renders or writes a kubeconfig, and shuts down.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let server = flotilla_devcluster::Server::start(Default::default()).await?;
//! server.write_kubeconfig(std::path::Path::new("/tmp/kubeconfig"))?;
//! // kubectl --kubeconfig /tmp/kubeconfig get ns
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Served: discovery (`/api`, `/apis`, group and resource lists), `/version`, health,
//! `/openapi/v3` (operations and schemas, for kubectl's server-side validation check and
//! `kubectl explain`); the built-in kinds people deploy and CRD-defined kinds, validated as
//! kube-apiserver does (unknown fields per fieldValidation, types, required and immutable
//! fields); protobuf bodies of the kinds `kubectl create` makes; get, list (label/field selectors, limit/continue,
//! Table output), watch (resourceVersion, bookmarks, 410 Expired), create, update, the four
//! patch types and server-side apply with managedFields (via `flotilla-merge`), delete with
//! finalizers, propagation and garbage collection, deletecollection, dryRun, status and scale
//! subresources. With a data directory every write is in an fsynced write-ahead log before
//! it is acknowledged. A simulated node fills workload status after [`SimulateOptions::delay`];
//! the annotation [`SIMULATE_ANNOTATION`] (`unready` or `failed`) holds an object back.

mod crd;
mod discovery;
mod errors;
mod gc;
mod handlers;
mod kubeconfig;
mod managed;
mod objects;
mod openapi;
mod protobuf;
mod resources;
mod routing;
mod selectors;
mod server;
mod simulate;
mod store;
mod table;
mod tls;
mod validate;
mod wal;
mod yaml_body;

pub use errors::{ApiError, Cause};
pub use server::{Options, Server, ServerError, ServerHandle, SimulateOptions};
pub use simulate::ANNOTATION as SIMULATE_ANNOTATION;
pub use tls::TlsError;
pub use wal::WalError;
