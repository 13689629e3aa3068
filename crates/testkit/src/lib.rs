//! Test fixtures shared by Flotilla's integration tests; only ever a dev-dependency.
//!
//! Real parts, started per test and stopped on drop: repositories made with git ([`Repo`],
//! [`git`]), git's `http-backend` behind a small HTTP/HTTPS server with basic or bearer auth
//! ([`HttpGitServer`]), OpenSSH's sshd with generated keys ([`SshServer`]), and the embedded dev
//! cluster with the Flux CRDs installed and a ready `kube::Client` ([`DevCluster`]).
//!
//! Fixture failures panic with a message saying what to install or fix: that is the useful
//! behaviour in a test, so this crate allows `unwrap` where its callers would.
#![allow(clippy::unwrap_used)]

mod cluster;
mod git;
mod http;
mod ssh;
mod util;

pub use cluster::DevCluster;
pub use git::{git, Repo};
pub use http::{base64, HttpAuth, HttpGitServer};
pub use ssh::{keygen, SshServer};
pub use util::{free_port, tar_list};
