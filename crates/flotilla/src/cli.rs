//! Command-line flags: every verb and option `flotilla` accepts, and nothing else.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// GitOps continuous delivery for Kubernetes, compatible with Flux's APIs.
#[derive(Debug, Parser)]
#[command(name = "flotilla", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run Flotilla on this machine with nothing else installed.
    Dev(DevArgs),
    /// Build a kustomization directory and print the result, as `kubectl kustomize` does.
    #[command(after_help = "Examples:\n  flotilla kustomize deploy/overlays/dev\n  \
                            flotilla kustomize . -o out.yaml")]
    Kustomize(KustomizeArgs),
}

#[derive(Debug, Args)]
pub struct DevArgs {
    #[command(subcommand)]
    pub command: DevCommand,
}

#[derive(Debug, Subcommand)]
pub enum DevCommand {
    /// Start the embedded Kubernetes-compatible API server and write a kubeconfig for kubectl.
    #[command(
        after_help = "Examples:\n  flotilla dev cluster --data-dir /tmp/dev\n  \
                            kubectl --kubeconfig /tmp/dev/kubeconfig get ns"
    )]
    Cluster(DevClusterArgs),
}

#[derive(Debug, Args)]
pub struct DevClusterArgs {
    /// Keep objects in this directory (survives restarts); without it, memory only.
    /// The kubeconfig is written here too.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Port to listen on at 127.0.0.1; 0 picks a free one.
    #[arg(long, default_value_t = 6443)]
    pub port: u16,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub address: String,
    /// Do not simulate a node: workloads stay as created, never become ready.
    #[arg(long)]
    pub no_simulate: bool,
    /// Delay before the simulated node marks workloads ready, in milliseconds.
    #[arg(long, default_value_t = 500, value_name = "MS")]
    pub simulate_delay_ms: u64,
}

#[derive(Debug, Args)]
pub struct KustomizeArgs {
    /// The kustomization directory to build.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Write the output to this file instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Which files a kustomization may read: LoadRestrictionsRootOnly (the default) or
    /// LoadRestrictionsNone.
    #[arg(
        long,
        default_value = "LoadRestrictionsRootOnly",
        value_name = "RESTRICTOR"
    )]
    pub load_restrictor: String,
    /// Allow remote (git/http) resources.
    #[arg(long)]
    pub enable_remote: bool,
}
