//! The EKS GitOps walkthrough as one story on one machine, for `flotilla dev --example eks-gitops`
//! and its test.
//!
//! [`run`] publishes the three repositories of `examples/eks-gitops` ([`files::FILES`]) on a
//! local Git host with basic auth, starts Debian's `docker-registry` ([`LocalRegistry`]), plays
//! the app's CI and a user at the keyboard, and checks every step against the cluster,
//! reporting each through a callback ([`Progress`]). The dev cluster and the controllers are the
//! caller's (tuned with [`tune_controller`]).

pub mod files;
mod git;
mod registry;
mod story;

pub use registry::{LocalRegistry, RegistryError, REGISTRY_BIN};
pub use story::{run, tune_controller, Progress, Step, StoryError, StoryOptions, Summary};
