//! An embedded Kubernetes-API-compatible server for `flotilla dev` and for tests.
//!
//! [`Server::start`] opens the store (replaying `Options::data_dir`), binds, and serves the
//! Kubernetes REST API over plain HTTP with bearer-token auth; the returned [`ServerHandle`]
//! gives the address, token and a kubeconfig, and shuts the server down.

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
