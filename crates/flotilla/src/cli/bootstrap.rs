//! Flags of `build kustomization`, `diff kustomization` and `bootstrap git`.

use std::path::PathBuf;

use clap::{ArgAction, Args, Subcommand};

#[derive(Debug, Args)]
pub struct BuildArgs {
    #[command(subcommand)]
    pub what: BuildWhat,
}

#[derive(Debug, Subcommand)]
pub enum BuildWhat {
    /// Build a local directory with a Kustomization's spec and print the YAML.
    #[command(
        visible_alias = "ks",
        after_help = "Examples:\n  flotilla build kustomization apps --path ./apps/overlays/dev\n  \
                      flotilla build ks apps --path ./apps --kustomization-file ./clusters/dev/apps.yaml --dry-run"
    )]
    Kustomization(LocalBuildArgs),
}

#[derive(Debug, Args)]
pub struct DiffArgs {
    #[command(subcommand)]
    pub what: DiffWhat,
}

#[derive(Debug, Subcommand)]
pub enum DiffWhat {
    /// Dry-run a local build against the cluster; exit status 1 when something differs.
    #[command(
        visible_alias = "ks",
        after_help = "Examples:\n  flotilla diff kustomization apps --path ./apps/overlays/dev\n  \
                      flotilla diff ks flux-system --path ./clusters/dev && echo in sync\n\n\
                      Exit status: 0 no differences; 1 differences; other: failure (see flotilla --help)."
    )]
    Kustomization(LocalBuildArgs),
}

/// A Kustomization and the local directory standing for its spec.path.
#[derive(Debug, Args)]
pub struct LocalBuildArgs {
    /// The Kustomization's name.
    pub name: String,
    /// Local directory to build in place of the Kustomization's spec.path.
    #[arg(long, value_name = "DIR")]
    pub path: PathBuf,
    /// Read the Kustomization from this file instead of the cluster.
    #[arg(long, value_name = "FILE")]
    pub kustomization_file: Option<PathBuf>,
    /// No cluster: needs --kustomization-file; substituteFrom variables are not read (build only).
    #[arg(long)]
    pub dry_run: bool,
    /// Fail when a ${var} has no value and no default.
    #[arg(long)]
    pub strict_substitute: bool,
}

#[derive(Debug, Args)]
pub struct BootstrapArgs {
    #[command(subcommand)]
    pub what: BootstrapWhat,
}

#[derive(Debug, Subcommand)]
pub enum BootstrapWhat {
    /// Bootstrap from any Git server: write the sync files, commit, push, install, wait.
    #[command(
        after_help = "Examples:\n  flotilla bootstrap git --url=https://git.example.com/fleet.git --branch=main --path=clusters/dev \\\n    \
                      --username=$GIT_USER --password=$GIT_PASSWORD --token-auth\n  \
                      flotilla bootstrap git --url=ssh://git@host/org/fleet --private-key-file=./id_ed25519 --path=clusters/prod\n  \
                      flotilla bootstrap git --url=file:///srv/git/fleet.git --path=clusters/dev --wait=false"
    )]
    Git(BootstrapGitArgs),
}

#[derive(Debug, Args)]
pub struct BootstrapGitArgs {
    /// Repository URL: ssh://, http(s):// or file://.
    #[arg(long)]
    pub url: String,
    /// Branch to commit to and sync.
    #[arg(long, default_value = "main")]
    pub branch: String,
    /// The cluster's directory in the repository, e.g. clusters/dev.
    #[arg(long, default_value = "./")]
    pub path: String,
    /// HTTPS username (default with a password: git, as Flux).
    #[arg(short = 'u', long)]
    pub username: Option<String>,
    /// HTTPS password or token (also read from $GIT_PASSWORD).
    #[arg(short = 'p', long, env = "GIT_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// SSH private key file.
    #[arg(long, value_name = "FILE")]
    pub private_key_file: Option<PathBuf>,
    /// known_hosts for the SSH host (default: ~/.ssh/known_hosts lines for it).
    #[arg(long, value_name = "FILE")]
    pub known_hosts_file: Option<PathBuf>,
    /// Passphrase of the private key.
    #[arg(long)]
    pub key_password: Option<String>,
    /// HTTPS basic auth with the password or token (username git unless given); without
    /// --password or $GIT_PASSWORD, the password is read from stdin. Refused for ssh:// URLs.
    #[arg(long)]
    pub token_auth: bool,
    /// How often the GitRepository is fetched.
    #[arg(long, default_value = "1m0s", value_name = "DURATION")]
    pub interval: String,
    /// Extra components: image-reflector-controller, image-automation-controller (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub components_extra: Vec<String>,
    /// Container image running `flotilla controller`.
    #[arg(long)]
    pub image: Option<String>,
    /// Commit author name.
    #[arg(long, default_value = "Flotilla")]
    pub author_name: String,
    /// Commit author email.
    #[arg(long, default_value = "flotilla@users.noreply.local")]
    pub author_email: String,
    /// Do not ask for confirmation (replacing bootstrap files another tool wrote, e.g. Flux's).
    #[arg(short = 's', long)]
    pub silent: bool,
    /// Wait until the sync Kustomization is Ready (--wait=false: stop after applying it).
    #[arg(long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub wait: bool,
}
