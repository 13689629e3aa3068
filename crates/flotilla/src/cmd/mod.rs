//! One module per verb: flags in, library call, output and exit code out.

pub mod dev_cluster;
pub mod kustomize;
