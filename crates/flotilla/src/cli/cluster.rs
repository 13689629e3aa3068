//! Flags of the verbs that talk to a cluster (get, reconcile, suspend, resume, create, export,
//! tree, events, version, install, check, uninstall) and of completion and migrate.

use std::path::PathBuf;

use clap::{ArgAction, Args, Subcommand, ValueEnum};

/// How to reach the cluster, as kubectl: these go before or after the verb.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, else ~/.kube/config).
    #[arg(long, global = true, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: its current-context).
    #[arg(long, global = true, value_name = "NAME")]
    pub context: Option<String>,
    /// Namespace of the objects (default: the context's namespace, else flux-system).
    #[arg(short = 'n', long, global = true, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// How long to wait for the cluster and for reconciles, e.g. 30s, 5m.
    #[arg(long, global = true, default_value = "5m0s", value_name = "DURATION")]
    pub timeout: String,
    /// No colour in output (also when NO_COLOR is set or output is not a terminal).
    #[arg(long, global = true)]
    pub no_color: bool,
}

/// Table, JSON or YAML output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Flux's table.
    Table,
    /// A JSON List of the objects.
    Json,
    /// YAML documents.
    Yaml,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    #[command(subcommand)]
    pub what: GetWhat,
    /// List the objects across all namespaces.
    #[arg(short = 'A', long, global = true)]
    pub all_namespaces: bool,
    /// After listing, keep printing objects as they change (Ctrl-C stops).
    #[arg(short = 'w', long, global = true)]
    pub watch: bool,
    /// Only objects whose condition has this status, e.g. ready=false.
    #[arg(long, global = true, value_name = "CONDITION=STATUS")]
    pub status_selector: Option<String>,
    /// Do not print the header line.
    #[arg(long, global = true)]
    pub no_header: bool,
    /// Output format.
    #[arg(short = 'o', long, global = true, value_enum, default_value_t = OutputFormat::Table)]
    pub output: OutputFormat,
}

#[derive(Debug, Subcommand)]
pub enum GetWhat {
    /// Sources: `get sources git`.
    #[command(after_help = "Examples:\n  flotilla get sources git\n  \
                            flotilla get sources git flux-system -o yaml")]
    Sources {
        #[command(subcommand)]
        kind: SourceKind,
    },
    /// Kustomizations and their status.
    #[command(
        visible_aliases = ["ks", "kustomization"],
        after_help = "Examples:\n  flotilla get kustomizations -A\n  \
                      flotilla get ks apps --watch\n  \
                      flotilla get ks --status-selector ready=false"
    )]
    Kustomizations(OptName),
    /// Image automation objects: `get images repository|policy|update|all`.
    #[command(
        alias = "image",
        after_help = "Examples:\n  flotilla get images all -A\n  \
                      flotilla get images policy front-end"
    )]
    Images {
        #[command(subcommand)]
        kind: ImagesKind,
    },
    /// Every kind with a status, one table each.
    All,
    #[command(flatten)]
    Notify(super::GetNotify),
}

#[derive(Debug, Subcommand)]
pub enum SourceKind {
    /// GitRepository sources.
    #[command(after_help = "Examples:\n  flotilla get sources git\n  \
                            flotilla get sources git -A --status-selector ready=false\n  \
                            flotilla get sources git flux-system -o yaml")]
    Git(OptName),
}

#[derive(Debug, Subcommand)]
pub enum ImagesKind {
    /// ImageRepository objects.
    #[command(after_help = "Examples:\n  flotilla get images repository -A\n  \
                            flotilla get images repository front-end -o yaml")]
    Repository(OptName),
    /// ImagePolicy objects.
    #[command(after_help = "Examples:\n  flotilla get images policy\n  \
                            flotilla get images policy front-end --watch")]
    Policy(OptName),
    /// ImageUpdateAutomation objects.
    #[command(after_help = "Examples:\n  flotilla get images update -A")]
    Update(OptName),
    /// All three image kinds.
    All,
}

#[derive(Debug, Clone, Args)]
pub struct OptName {
    /// Only the object with this name.
    pub name: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct Name {
    /// The object's name.
    pub name: String,
}

/// An object named on the command line, for reconcile/suspend/resume/export.
#[derive(Debug, Subcommand)]
pub enum Target {
    /// A source: `source git NAME`.
    #[command(
        after_help = "Examples:\n  flotilla reconcile source git flux-system\n  \
                            flotilla suspend source git podinfo"
    )]
    Source {
        #[command(subcommand)]
        kind: SourceTarget,
    },
    /// A Kustomization.
    #[command(
        visible_alias = "ks",
        after_help = "Examples:\n  flotilla reconcile kustomization apps --with-source\n  \
                      flotilla suspend ks apps\n  \
                      flotilla resume ks apps"
    )]
    Kustomization(KustomizationTarget),
    /// An image object: `image repository|policy|update NAME`.
    #[command(
        after_help = "Examples:\n  flotilla reconcile image repository front-end\n  \
                            flotilla reconcile image update flux-system\n  \
                            flotilla suspend image update flux-system"
    )]
    Image {
        #[command(subcommand)]
        kind: ImageTarget,
    },
}

#[derive(Debug, Subcommand)]
pub enum SourceTarget {
    /// A GitRepository.
    #[command(
        after_help = "Examples:\n  flotilla reconcile source git flux-system\n  \
                            flotilla suspend source git podinfo\n  \
                            flotilla resume source git podinfo"
    )]
    Git(Name),
}

#[derive(Debug, Subcommand)]
pub enum ImageTarget {
    /// An ImageRepository.
    #[command(
        after_help = "Examples:\n  flotilla reconcile image repository front-end\n  \
                            flotilla suspend image repository front-end"
    )]
    Repository(Name),
    /// An ImagePolicy.
    #[command(after_help = "Examples:\n  flotilla reconcile image policy front-end")]
    Policy(Name),
    /// An ImageUpdateAutomation.
    #[command(
        after_help = "Examples:\n  flotilla reconcile image update flux-system\n  \
                            flotilla resume image update flux-system"
    )]
    Update(Name),
}

#[derive(Debug, Clone, Args)]
pub struct KustomizationTarget {
    /// The Kustomization's name.
    pub name: String,
    /// Reconcile the source first (reconcile only).
    #[arg(long)]
    pub with_source: bool,
}

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    #[command(subcommand)]
    pub target: Target,
}

#[derive(Debug, Args)]
pub struct SuspendArgs {
    #[command(subcommand)]
    pub target: Target,
}

#[derive(Debug, Args)]
pub struct ResumeArgs {
    #[command(subcommand)]
    pub target: Target,
    /// Do not wait for the reconcile the resume triggers.
    #[arg(long, global = true)]
    pub no_wait: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(subcommand)]
    pub target: ExportTarget,
    /// Every object of the kind in the namespace (or with -A, everywhere).
    #[arg(long, global = true)]
    pub all: bool,
    /// With --all: across all namespaces.
    #[arg(short = 'A', long, global = true)]
    pub all_namespaces: bool,
}

#[derive(Debug, Subcommand)]
pub enum ExportTarget {
    /// A source: `source git [NAME]`.
    Source {
        #[command(subcommand)]
        kind: ExportSourceKind,
    },
    /// Kustomizations.
    #[command(visible_alias = "ks")]
    Kustomization(OptName),
    /// Image objects: `image repository|policy|update [NAME]`.
    Image {
        #[command(subcommand)]
        kind: ExportImageKind,
    },
}

#[derive(Debug, Subcommand)]
pub enum ExportSourceKind {
    /// GitRepository sources.
    Git(OptName),
}

#[derive(Debug, Subcommand)]
pub enum ExportImageKind {
    /// ImageRepository objects.
    Repository(OptName),
    /// ImagePolicy objects.
    Policy(OptName),
    /// ImageUpdateAutomation objects.
    Update(OptName),
}

/// Flags every `create` verb takes.
#[derive(Debug, Clone, Args)]
pub struct CreateCommon {
    /// Print the YAML instead of applying it.
    #[arg(long, global = true)]
    pub export: bool,
    /// How often the object is reconciled.
    #[arg(long, global = true, default_value = "1m0s", value_name = "DURATION")]
    pub interval: String,
    /// Labels, as key=value (repeatable or comma-separated).
    #[arg(long, global = true, value_delimiter = ',', value_name = "KEY=VALUE")]
    pub label: Vec<String>,
    /// Apply without waiting for the controller to report the object ready.
    #[arg(long, global = true)]
    pub no_wait: bool,
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[command(subcommand)]
    pub what: CreateWhat,
    #[command(flatten)]
    pub common: CreateCommon,
}

#[derive(Debug, Subcommand)]
pub enum CreateWhat {
    /// A source: `create source git NAME --url … --branch …`.
    #[command(
        after_help = "Examples:\n  flotilla create source git podinfo --url=https://github.com/stefanprodan/podinfo --branch=master --export"
    )]
    Source {
        #[command(subcommand)]
        kind: CreateSource,
    },
    /// A Kustomization applying a path of a source.
    #[command(
        visible_alias = "ks",
        after_help = "Examples:\n  flotilla create kustomization podinfo --source=podinfo --path=./kustomize --prune --interval=10m --export"
    )]
    Kustomization(CreateKustomization),
    /// Image automation: `create image repository|policy|update NAME …`.
    #[command(
        after_help = "Examples:\n  flotilla create image repository front-end --image=public.ecr.aws/org/front-end --export\n  \
                      flotilla create image policy front-end --image-ref=front-end --select-numeric=asc --export"
    )]
    Image {
        #[command(subcommand)]
        kind: CreateImage,
    },
    /// A Secret: `create secret git NAME …`.
    #[command(
        after_help = "Examples:\n  flotilla create secret git fleet-auth --url=https://git.example.com/fleet -u $GIT_USER -p $GIT_PASSWORD"
    )]
    Secret {
        #[command(subcommand)]
        kind: CreateSecret,
    },
    #[command(flatten)]
    Notify(super::CreateNotify),
}

#[derive(Debug, Subcommand)]
pub enum CreateSource {
    /// A GitRepository.
    #[command(
        after_help = "Examples:\n  flotilla create source git podinfo --url=https://github.com/stefanprodan/podinfo --branch=master --export\n  \
        flotilla create source git fleet --url=ssh://git@host/org/fleet --branch=main --secret-ref=fleet-auth"
    )]
    Git(CreateGitSource),
}

#[derive(Debug, Args)]
pub struct CreateGitSource {
    /// The object's name.
    pub name: String,
    /// Repository URL: ssh://, http://, https:// or file://.
    #[arg(long)]
    pub url: String,
    /// Branch to follow.
    #[arg(long)]
    pub branch: Option<String>,
    /// Tag to check out.
    #[arg(long)]
    pub tag: Option<String>,
    /// Semver range of tags.
    #[arg(long)]
    pub tag_semver: Option<String>,
    /// Git reference name (refs/…).
    #[arg(long)]
    pub ref_name: Option<String>,
    /// Commit SHA.
    #[arg(long)]
    pub commit: Option<String>,
    /// Existing Secret with the credentials (see `create secret git`).
    #[arg(long)]
    pub secret_ref: Option<String>,
    /// Timeout of Git operations, e.g. 60s.
    #[arg(long)]
    pub fetch_timeout: Option<String>,
    /// Include submodules.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_value_t = false, default_missing_value = "true")]
    pub recurse_submodules: bool,
    /// Paths to leave out of the artifact (comma-separated, .gitignore syntax).
    #[arg(long, value_delimiter = ',')]
    pub ignore_paths: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CreateKustomization {
    /// The object's name.
    pub name: String,
    /// Source: [Kind/]name[.namespace], e.g. GitRepository/fleet.
    #[arg(long)]
    pub source: String,
    /// Path inside the source, starting with ./
    #[arg(long, default_value = "./")]
    pub path: String,
    /// Delete objects removed from the source (`--prune` or `--prune=true`, as Flux's scripts write it).
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_value_t = false, default_missing_value = "true")]
    pub prune: bool,
    /// Kustomizations that must be ready first: [namespace/]name (repeatable).
    #[arg(long, value_delimiter = ',')]
    pub depends_on: Vec<String>,
    /// Retry period after a failure.
    #[arg(long)]
    pub retry_interval: Option<String>,
    /// Timeout of health checks and apply.
    #[arg(long)]
    pub health_check_timeout: Option<String>,
    /// Namespace set on every applied object.
    #[arg(long)]
    pub target_namespace: Option<String>,
    /// Service account to impersonate when applying.
    #[arg(long)]
    pub service_account: Option<String>,
    /// Wait for every applied object to be ready.
    #[arg(long, action = ArgAction::Set, num_args = 0..=1, require_equals = true, default_value_t = false, default_missing_value = "true")]
    pub wait: bool,
}

#[derive(Debug, Subcommand)]
pub enum CreateImage {
    /// An ImageRepository scanning a registry.
    #[command(
        after_help = "Examples:\n  flotilla create image repository front-end --image=public.ecr.aws/org/front-end --interval=1m --export"
    )]
    Repository(CreateImageRepository),
    /// An ImagePolicy selecting the latest tag.
    #[command(
        after_help = "Examples:\n  flotilla create image policy front-end --image-ref=front-end \\\n    --select-numeric=asc --filter-regex='^main-[a-f0-9]+-(?P<build>[0-9]+)' --filter-extract='$build' --export"
    )]
    Policy(CreateImagePolicy),
    /// An ImageUpdateAutomation writing selected tags back to Git.
    #[command(
        after_help = "Examples:\n  flotilla create image update apps --git-repo-ref=apps --git-repo-path=./deploy \\\n    --checkout-branch=main --push-branch=main --author-name=flotilla --author-email=flotilla@example.com --export"
    )]
    Update(CreateImageUpdate),
}

#[derive(Debug, Args)]
pub struct CreateImageRepository {
    /// The object's name.
    pub name: String,
    /// Image repository, without tag.
    #[arg(long)]
    pub image: String,
    /// Secret with registry credentials (docker config JSON).
    #[arg(long)]
    pub secret_ref: Option<String>,
    /// Secret with a CA certificate.
    #[arg(long)]
    pub cert_ref: Option<String>,
    /// Timeout of a scan.
    #[arg(long)]
    pub scan_timeout: Option<String>,
    /// Cloud provider for registry auth: generic, aws, azure, gcp.
    #[arg(long)]
    pub provider: Option<String>,
}

#[derive(Debug, Args)]
pub struct CreateImagePolicy {
    /// The object's name.
    pub name: String,
    /// The ImageRepository to select from.
    #[arg(long)]
    pub image_ref: String,
    /// Semver range.
    #[arg(long)]
    pub select_semver: Option<String>,
    /// Numerical order: asc or desc.
    #[arg(long)]
    pub select_numeric: Option<String>,
    /// Alphabetical order: asc or desc.
    #[arg(long)]
    pub select_alpha: Option<String>,
    /// Regular expression tags must match.
    #[arg(long)]
    pub filter_regex: Option<String>,
    /// What to compare, from the regex's groups, e.g. $build.
    #[arg(long)]
    pub filter_extract: Option<String>,
}

#[derive(Debug, Args)]
pub struct CreateImageUpdate {
    /// The object's name.
    pub name: String,
    /// The GitRepository to commit to.
    #[arg(long)]
    pub git_repo_ref: String,
    /// Its namespace (default: the object's).
    #[arg(long)]
    pub git_repo_namespace: Option<String>,
    /// Path with the marked manifests.
    #[arg(long)]
    pub git_repo_path: Option<String>,
    /// Branch to check out.
    #[arg(long)]
    pub checkout_branch: Option<String>,
    /// Branch to push to.
    #[arg(long)]
    pub push_branch: Option<String>,
    /// Commit author name.
    #[arg(long, default_value = "")]
    pub author_name: String,
    /// Commit author email.
    #[arg(long)]
    pub author_email: String,
    /// Commit message template.
    #[arg(long)]
    pub commit_template: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum CreateSecret {
    /// Git credentials: username/password for HTTPS (e.g. AWS CodeCommit Git credentials), or an SSH key with known_hosts.
    #[command(
        after_help = "Examples:\n  flotilla create secret git fleet-auth --url=https://git-codecommit.eu-west-1.amazonaws.com/v1/repos/fleet \\\n    --username=$GIT_USER --password=$GIT_PASSWORD --export\n  \
        flotilla create secret git fleet-auth --url=ssh://git@github.com/org/fleet --private-key-file=./id_ed25519 --known-hosts-file=./known_hosts"
    )]
    Git(CreateGitSecret),
}

#[derive(Debug, Args)]
pub struct CreateGitSecret {
    /// The Secret's name.
    pub name: String,
    /// Repository URL (decides between HTTPS and SSH credentials).
    #[arg(long)]
    pub url: String,
    /// HTTPS username.
    #[arg(short = 'u', long)]
    pub username: Option<String>,
    /// HTTPS password, or the SSH key's passphrase.
    #[arg(short = 'p', long)]
    pub password: Option<String>,
    /// SSH private key file.
    #[arg(long, value_name = "FILE")]
    pub private_key_file: Option<PathBuf>,
    /// known_hosts file for the SSH host (e.g. from `ssh-keyscan HOST`).
    #[arg(long, value_name = "FILE")]
    pub known_hosts_file: Option<PathBuf>,
    /// CA certificate file for HTTPS.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TreeArgs {
    #[command(subcommand)]
    pub what: TreeWhat,
}

#[derive(Debug, Subcommand)]
pub enum TreeWhat {
    /// What a Kustomization applied, nested Kustomizations expanded.
    #[command(
        visible_alias = "ks",
        after_help = "Examples:\n  flotilla tree kustomization flux-system"
    )]
    Kustomization(Name),
}

#[derive(Debug, Args)]
pub struct EventsArgs {
    /// Only events about this object: Kind/name, e.g. Kustomization/apps.
    #[arg(long = "for", value_name = "KIND/NAME")]
    pub for_object: Option<String>,
    /// Keep printing new events (Ctrl-C stops).
    #[arg(short = 'w', long)]
    pub watch: bool,
    /// Events of all namespaces.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
}

#[derive(Debug, Args)]
pub struct VersionArgs {
    /// Only the client version (no cluster needed).
    #[arg(long)]
    pub client: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Shell {
    /// Bash.
    Bash,
    /// Zsh.
    Zsh,
    /// Fish.
    Fish,
}

#[derive(Debug, Args)]
pub struct CompletionArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// Print the manifests instead of applying them.
    #[arg(long)]
    pub export: bool,
    /// Container image running `flotilla controller`.
    #[arg(long)]
    pub image: Option<String>,
    /// Controller log level.
    #[arg(long, default_value = "info")]
    pub log_level: String,
    /// Do not wait for the controller to become ready.
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Only the prerequisites: API server reachable and its version supported.
    #[arg(long)]
    pub pre: bool,
}

#[derive(Debug, Args)]
pub struct UninstallArgs {
    /// Do not ask for confirmation.
    #[arg(short = 's', long)]
    pub silent: bool,
    /// Also delete the CRDs, and with them every Flux object (the workloads they applied stay).
    #[arg(long)]
    pub crds: bool,
    /// Also delete the namespace.
    #[arg(long)]
    pub namespace_too: bool,
    /// Show what would be deleted, delete nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct MigrateArgs {
    /// File or directory of manifests to rewrite in place.
    #[arg(short = 'f', long = "path", value_name = "PATH")]
    pub path: PathBuf,
    /// List what would change, write nothing.
    #[arg(long)]
    pub dry_run: bool,
}
