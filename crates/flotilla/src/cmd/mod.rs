//! One module per verb: flags in, library call, output and exit code out.

pub mod bootstrap;
pub mod build;
pub mod controller;
pub mod create;
pub mod ctx;
pub mod dev;
pub mod dev_cluster;
pub mod diff;
pub mod events;
pub mod example;
pub mod export;
pub mod get;
pub mod install;
pub mod kustomize;
pub mod migrate;
pub mod notify;
pub mod reconcile;
pub mod tree;
pub mod version;
