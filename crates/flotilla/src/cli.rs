//! Command-line flags: every verb and option `flotilla` accepts, and nothing else.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

mod bootstrap;
mod cluster;
mod notify;
pub use bootstrap::*;
pub use cluster::*;
pub use notify::*;

/// GitOps continuous delivery for Kubernetes, compatible with Flux's APIs.
#[derive(Debug, Parser)]
#[command(
    name = "flotilla",
    version,
    about,
    propagate_version = true,
    after_help = "Exit status: 0 success; 1 failure (object not found, reconcile failed, API error); \
                  2 bad usage; 3 no cluster (kubeconfig missing or wrong, server unreachable); \
                  4 timed out waiting."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    #[command(flatten)]
    pub global: GlobalArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run Flotilla on this machine with nothing else installed: an embedded API server and
    /// every controller in one process.
    #[command(after_help = "Examples:\n  flotilla dev --data-dir /tmp/dev\n  \
                            flotilla dev --bootstrap ./fleet --path clusters/dev\n  \
                            flotilla dev --example eks-gitops   # the EKS GitOps story, then exit\n  \
                            flotilla dev cluster --data-dir /tmp/dev   # the API server alone")]
    Dev(DevArgs),
    /// Build a kustomization directory and print the result, as `kubectl kustomize` does.
    #[command(after_help = "Examples:\n  flotilla kustomize deploy/overlays/dev\n  \
                            flotilla kustomize . -o out.yaml")]
    Kustomize(KustomizeArgs),
    /// Show objects and their status, as `flux get` lays them out.
    #[command(after_help = "Examples:\n  flotilla get kustomizations -A\n  \
                            flotilla get ks --watch\n  \
                            flotilla get sources git --status-selector ready=false\n  \
                            flotilla get all -n flux-system -o yaml")]
    Get(GetArgs),
    /// Ask for a reconcile now and wait until it is done.
    #[command(
        after_help = "Examples:\n  flotilla reconcile source git flux-system\n  \
                            flotilla reconcile kustomization apps --with-source\n  \
                            flotilla reconcile image repository front-end\n  \
                            flotilla reconcile image update flux-system"
    )]
    Reconcile(ReconcileArgs),
    /// Stop reconciling an object (spec.suspend: true).
    #[command(after_help = "Examples:\n  flotilla suspend kustomization apps\n  \
                            flotilla suspend image update flux-system")]
    Suspend(SuspendArgs),
    /// Reconcile a suspended object again, and wait for that reconcile.
    #[command(after_help = "Examples:\n  flotilla resume kustomization apps\n  \
                            flotilla resume source git flux-system --no-wait")]
    Resume(ResumeArgs),
    /// Create or update objects; --export prints them as YAML instead.
    #[command(
        after_help = "Examples:\n  flotilla create source git podinfo --url=https://github.com/stefanprodan/podinfo --branch=master --export\n  \
                            flotilla create kustomization podinfo --source=podinfo --path=./kustomize --prune"
    )]
    Create(Box<CreateArgs>),
    /// Print live objects as clean YAML (no status or server fields), for backup.
    #[command(after_help = "Examples:\n  flotilla export source git flux-system\n  \
                            flotilla export kustomization --all > kustomizations.yaml")]
    Export(ExportArgs),
    /// Build a local directory as a Kustomization would, and print the YAML.
    #[command(
        after_help = "Examples:\n  flotilla build kustomization apps --path ./apps/overlays/dev"
    )]
    Build(BuildArgs),
    /// Show what applying a local directory as a Kustomization would change in the cluster.
    #[command(
        after_help = "Examples:\n  flotilla diff kustomization apps --path ./apps/overlays/dev"
    )]
    Diff(DiffArgs),
    /// Put the sync files in a Git repository, install, and sync the cluster from it.
    #[command(
        after_help = "Examples:\n  flotilla bootstrap git --url=https://git.example.com/fleet.git --path=clusters/dev -u me -p $TOKEN"
    )]
    Bootstrap(BootstrapArgs),
    /// Show what a Kustomization applied, as a tree.
    #[command(after_help = "Examples:\n  flotilla tree kustomization flux-system")]
    Tree(TreeArgs),
    /// Show the events of Flux objects.
    #[command(after_help = "Examples:\n  flotilla events\n  \
                            flotilla events --for Kustomization/apps --watch")]
    Events(EventsArgs),
    /// Print the client and server versions.
    #[command(after_help = "Examples:\n  flotilla version\n  flotilla version --client")]
    Version(VersionArgs),
    /// Print a shell completion script.
    #[command(after_help = "Examples:\n  source <(flotilla completion bash)\n  \
                            flotilla completion zsh > \"${fpath[1]}/_flotilla\"\n  \
                            flotilla completion fish > ~/.config/fish/completions/flotilla.fish")]
    Completion(CompletionArgs),
    /// Install the CRDs and the controller in a cluster; --export prints the manifests.
    #[command(
        after_help = "Examples:\n  flotilla install --export > flotilla.yaml\n  \
                            flotilla install --image=registry.example.com/flotilla:v0.1.0"
    )]
    Install(InstallArgs),
    /// Check that the cluster can run Flotilla (--pre) and that it is installed and ready.
    #[command(after_help = "Examples:\n  flotilla check --pre\n  flotilla check")]
    Check(CheckArgs),
    /// Remove the controller; keeps the CRDs, Flux objects and workloads unless told otherwise.
    #[command(
        after_help = "Examples:\n  flotilla uninstall\n  flotilla uninstall --crds --silent"
    )]
    Uninstall(UninstallArgs),
    /// Rewrite Flux manifests from removed API versions to current ones, in place.
    #[command(
        after_help = "Examples:\n  flotilla migrate -f ./clusters --dry-run\n  flotilla migrate -f ."
    )]
    Migrate(MigrateArgs),
    /// Run every reconciler (sources, kustomizations) against the cluster until SIGINT/SIGTERM.
    #[command(
        after_help = "Examples:\n  flotilla controller --storage-path /tmp/flotilla --storage-adv-addr 127.0.0.1:9090\n  \
                            flotilla controller --leader-elect --log-format json"
    )]
    Controller(crate::cmd::controller::ControllerArgs),
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DevArgs {
    #[command(subcommand)]
    pub command: Option<DevCommand>,
    #[command(flatten)]
    pub run: DevRunArgs,
}

/// `flotilla dev` without a subcommand: the dev cluster plus every controller.
#[derive(Debug, Args)]
pub struct DevRunArgs {
    #[command(flatten)]
    pub cluster: DevClusterArgs,
    /// Sync this local Git repository (its committed state) or Git URL, as `flux bootstrap`
    /// would: GitRepository and Kustomization `flux-system` in namespace flux-system.
    #[arg(long, value_name = "PATH_OR_URL")]
    pub bootstrap: Option<String>,
    /// Directory in the repository the sync Kustomization applies, e.g. clusters/dev.
    #[arg(
        long,
        default_value = "./",
        value_name = "PATH",
        requires = "bootstrap"
    )]
    pub path: String,
    /// Branch to sync (default: the local repository's current branch, else main).
    #[arg(long, value_name = "BRANCH", requires = "bootstrap")]
    pub branch: Option<String>,
    /// How often the GitRepository is fetched.
    #[arg(long, default_value = "1m0s", value_name = "DURATION")]
    pub interval: String,
    /// Directory for artifacts (default: DATA_DIR/storage, else a temp directory).
    #[arg(long, value_name = "DIR")]
    pub storage_path: Option<PathBuf>,
    /// Address the artifact HTTP server listens on (port 0: a free one).
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub storage_addr: String,
    /// Address serving /metrics, /healthz and /readyz (not served unless given).
    #[arg(long, value_name = "ADDR")]
    pub metrics_addr: Option<String>,
    /// Address the webhook Receiver server listens on (`/hook/<sha256>`; port 0: a free one).
    #[arg(long, default_value = "127.0.0.1:0", value_name = "ADDR")]
    pub receiver_addr: String,
    /// Reconciles running at once, per kind.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub concurrent: u16,
    /// Log level of the controllers: error, warn, info, debug, trace (or a tracing filter).
    #[arg(long, default_value = "info", value_name = "LEVEL")]
    pub log_level: String,
    /// Run a packaged example story on the dev cluster, printing each step, then exit:
    /// `eks-gitops` (the EKS GitOps walkthrough with a local Git host and registry).
    #[arg(long, value_name = "NAME", value_parser = ["eks-gitops"], conflicts_with = "bootstrap")]
    pub example: Option<String>,
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
