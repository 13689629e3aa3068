//! `flotilla bootstrap git`: the files Flux's bootstrap keeps in the repository
//! (`<path>/flux-system/{gotk-components,gotk-sync,kustomization}.yaml`), written in a fresh
//! clone, committed and pushed only when they changed; plus the sync objects and credentials
//! Secret the cluster gets.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

pub use flotilla_source::redact;
use flotilla_source::{Credentials, GitEnv};
use serde_json::{json, Value};

use crate::create::{self, GitSecretOptions, Meta};

/// Where bootstrap writes, relative to `--path`.
pub const SYSTEM_DIR: &str = "flux-system";
/// Name of the GitRepository, Kustomization and Secret bootstrap creates (as Flux names them).
pub const SYNC_NAME: &str = "flux-system";

/// What bootstrap can fail on. Messages never include credentials.
#[derive(Debug, thiserror::Error)]
pub enum BootstrapError {
    /// A flag value is unusable.
    #[error("{0}")]
    Invalid(String),
    /// A git command failed (clone refused the credentials, push rejected, …).
    #[error("git {step} failed: {message}")]
    Git {
        /// clone, commit, push, …
        step: &'static str,
        /// git's own message, credentials removed.
        message: String,
    },
    /// Local I/O (temp dir, writing files).
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The credentials Secret could not be built.
    #[error("credentials: {0}")]
    Secret(#[from] create::CreateError),
}

/// Options of `bootstrap git`.
#[derive(Debug, Clone)]
pub struct BootstrapOptions {
    /// `--url`: file://, http(s):// or ssh://.
    pub url: String,
    /// `--branch`.
    pub branch: String,
    /// `--path`: the cluster's directory in the repository, e.g. `clusters/dev`.
    pub path: String,
    /// `--interval` of the GitRepository.
    pub interval: Duration,
    /// Namespace of the sync objects and Secret.
    pub namespace: String,
    /// HTTPS username and password.
    pub basic: Option<(String, String)>,
    /// SSH private key, public key (if found), known_hosts, passphrase.
    pub ssh: Option<SshAuth>,
    /// Commit author name.
    pub author_name: String,
    /// Commit author email.
    pub author_email: String,
    /// Bound on each git command.
    pub git_timeout: Duration,
}

impl Default for BootstrapOptions {
    fn default() -> Self {
        BootstrapOptions {
            url: String::new(),
            branch: "main".into(),
            path: String::new(),
            interval: Duration::from_secs(60),
            namespace: crate::DEFAULT_NAMESPACE.into(),
            basic: None,
            ssh: None,
            author_name: "Flotilla".into(),
            author_email: "flotilla@users.noreply.local".into(),
            git_timeout: Duration::from_secs(120),
        }
    }
}

/// SSH credentials.
#[derive(Debug, Clone)]
pub struct SshAuth {
    /// The private key.
    pub identity: String,
    /// The public key, when found beside the private key.
    pub public_key: Option<String>,
    /// known_hosts lines for the host.
    pub known_hosts: String,
    /// The key's passphrase.
    pub passphrase: Option<String>,
}

/// What the repository step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoOutcome {
    /// The commit the branch points at after the step.
    pub head: String,
    /// Whether a commit was made and pushed (false: the files were already up to date).
    pub pushed: bool,
    /// The files, relative to the repository root.
    pub files: Vec<String>,
}

/// `--path` normalised: no leading `./` or `/`, no trailing `/`; `..` refused.
pub fn clean_path(path: &str) -> Result<String, BootstrapError> {
    let p = path.trim_start_matches("./").trim_matches('/');
    if p.split('/').any(|s| s == "..") {
        return Err(BootstrapError::Invalid(format!(
            "--path {path:?} leaves the repository; give a directory inside it, e.g. clusters/dev"
        )));
    }
    Ok(p.to_string())
}

/// The GitRepository and Kustomization of `gotk-sync.yaml`, as Flux's bootstrap writes them.
pub fn sync_objects(o: &BootstrapOptions) -> Result<Vec<Value>, BootstrapError> {
    let path = clean_path(&o.path)?;
    let mut spec = json!({
        "interval": flotilla_api::format_go_duration(o.interval),
        "ref": {"branch": o.branch},
        "url": o.url,
    });
    if o.basic.is_some() || o.ssh.is_some() {
        spec["secretRef"] = json!({"name": SYNC_NAME});
    }
    let meta = json!({"name": SYNC_NAME, "namespace": o.namespace});
    Ok(vec![
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": meta,
            "spec": spec,
        }),
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": meta,
            "spec": {
                "interval": "10m0s",
                "path": format!("./{path}"),
                "prune": true,
                "sourceRef": {"kind": "GitRepository", "name": SYNC_NAME},
            },
        }),
    ])
}

/// The `flux-system` Secret with the Git credentials, `None` when the URL needs none.
pub fn credentials_secret(o: &BootstrapOptions) -> Result<Option<Value>, BootstrapError> {
    let secret_opts = match (&o.basic, &o.ssh) {
        (None, None) => return Ok(None),
        (Some((u, p)), None) => GitSecretOptions {
            url: o.url.clone(),
            username: Some(u.clone()),
            password: Some(p.clone()),
            ..Default::default()
        },
        (None, Some(s)) => GitSecretOptions {
            url: o.url.clone(),
            password: s.passphrase.clone(),
            private_key: Some(s.identity.clone()),
            public_key: s.public_key.clone(),
            known_hosts: Some(s.known_hosts.clone()),
            ..Default::default()
        },
        (Some(_), Some(_)) => {
            return Err(BootstrapError::Invalid(
                "give either --username/--password or --private-key-file, not both".into(),
            ))
        }
    };
    let meta = Meta {
        name: SYNC_NAME.into(),
        namespace: o.namespace.clone(),
        labels: Default::default(),
    };
    Ok(Some(create::git_secret(&meta, &secret_opts)?))
}

/// The three files and their content, paths relative to the repository root.
pub fn files(
    o: &BootstrapOptions,
    components: &[Value],
    component_names: &[String],
) -> Result<Vec<(String, String)>, BootstrapError> {
    let dir = match clean_path(&o.path)? {
        p if p.is_empty() => SYSTEM_DIR.to_string(),
        p => format!("{p}/{SYSTEM_DIR}"),
    };
    let header = "# This manifest was generated by flotilla. DO NOT EDIT.\n";
    let components_yaml = format!(
        "{header}# Flotilla Version: v{}\n# Components: {}\n{}",
        env!("CARGO_PKG_VERSION"),
        component_names.join(","),
        create::export_stream(components)
    );
    let sync_yaml = format!("{header}{}", create::export_stream(&sync_objects(o)?));
    let kustomization = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n\
                         resources:\n- gotk-components.yaml\n- gotk-sync.yaml\n"
        .to_string();
    Ok(vec![
        (format!("{dir}/gotk-components.yaml"), components_yaml),
        (format!("{dir}/gotk-sync.yaml"), sync_yaml),
        (format!("{dir}/kustomization.yaml"), kustomization),
    ])
}

struct Git {
    env: GitEnv,
    dir: PathBuf,
}

impl Git {
    fn run(&self, step: &'static str, args: &[&str]) -> Result<String, BootstrapError> {
        let out = Command::new("git")
            .env_clear()
            .envs(self.env.vars().iter().map(|(k, v)| (k, v)))
            .current_dir(&self.dir)
            .args(args)
            .output()
            .map_err(|source| BootstrapError::Io {
                what: "running git (is it installed?)".into(),
                source,
            })?;
        if !out.status.success() {
            let msg = String::from_utf8_lossy(&out.stderr);
            let msg = msg
                .lines()
                .filter(|l| !l.trim().is_empty())
                .collect::<Vec<_>>()
                .join("; ");
            return Err(BootstrapError::Git {
                step,
                message: self.env.scrub(&msg),
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

/// Clones `o.url`, writes `files` on `o.branch` and pushes a commit when any differ. Writes
/// all files or none: the clone is private and the push is a single ref update. Blocking.
pub fn commit_and_push(
    o: &BootstrapOptions,
    files: &[(String, String)],
    message: &str,
) -> Result<RepoOutcome, BootstrapError> {
    let mut creds = match &o.basic {
        Some((u, p)) => Credentials::basic(u.clone(), p.clone()),
        None => Credentials::none(),
    };
    if let Some(s) = &o.ssh {
        creds = creds.with_ssh(
            s.identity.clone().into_bytes(),
            s.known_hosts.clone().into_bytes(),
            s.passphrase.clone(),
        );
    }
    let io = |what: &str| {
        let what = what.to_string();
        move |source| BootstrapError::Io { what, source }
    };
    let env = GitEnv::new(&creds, o.git_timeout).map_err(io("preparing the git environment"))?;
    let work = tempfile::Builder::new()
        .prefix("flotilla-bootstrap-")
        .tempdir()
        .map_err(io("creating a temp directory"))?;
    let dir = work.path().join("repo");
    let git = Git {
        env,
        dir: work.path().to_path_buf(),
    };
    git.run("clone", &["clone", "--no-checkout", &o.url, "repo"])?;
    let git = Git { dir, ..git };
    let remote_ref = format!("refs/remotes/origin/{}", o.branch);
    let exists = git
        .run(
            "rev-parse",
            &["rev-parse", "--verify", "--quiet", &remote_ref],
        )
        .is_ok();
    if exists {
        git.run("checkout", &["checkout", "-B", &o.branch, &remote_ref])?;
    } else {
        git.run("checkout", &["checkout", "--orphan", &o.branch])?;
    }
    let mut changed = false;
    for (rel, content) in files {
        let path = git.dir.join(rel);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(content.as_str()) {
            continue;
        }
        changed = true;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(io(&format!("creating {}", parent.display())))?;
        }
        std::fs::write(&path, content).map_err(io(&format!("writing {rel}")))?;
    }
    let names: Vec<String> = files.iter().map(|(r, _)| r.clone()).collect();
    if !changed {
        let head = git.run("rev-parse", &["rev-parse", "HEAD"])?;
        return Ok(RepoOutcome {
            head,
            pushed: false,
            files: names,
        });
    }
    let mut add = vec!["add", "--"];
    add.extend(names.iter().map(String::as_str));
    git.run("add", &add)?;
    let name = format!("user.name={}", o.author_name);
    let email = format!("user.email={}", o.author_email);
    git.run(
        "commit",
        &[
            "-c",
            &name,
            "-c",
            &email,
            "commit",
            "--no-verify",
            "-q",
            "-m",
            message,
        ],
    )?;
    let refspec = format!("HEAD:refs/heads/{}", o.branch);
    git.run("push", &["push", "-q", "origin", &refspec])?;
    let head = git.run("rev-parse", &["rev-parse", "HEAD"])?;
    Ok(RepoOutcome {
        head,
        pushed: true,
        files: names,
    })
}

/// The public key beside a private key file (`KEY.pub`), if there is one.
pub fn public_key_beside(private_key: &Path) -> Option<String> {
    let mut p = private_key.as_os_str().to_owned();
    p.push(".pub");
    std::fs::read_to_string(PathBuf::from(p)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_fluxs() {
        let o = BootstrapOptions {
            url: "https://git.example.com/fleet".into(),
            path: "./clusters/dev/".into(),
            basic: Some(("u".into(), "p".into())),
            ..Default::default()
        };
        let f = files(&o, &[], &["source-controller".into()]).expect("files");
        let names: Vec<&str> = f.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "clusters/dev/flux-system/gotk-components.yaml",
                "clusters/dev/flux-system/gotk-sync.yaml",
                "clusters/dev/flux-system/kustomization.yaml"
            ]
        );
        let sync = sync_objects(&o).expect("sync");
        assert_eq!(sync[0]["spec"]["secretRef"]["name"], "flux-system");
        assert_eq!(sync[1]["spec"]["path"], "./clusters/dev");
        assert!(!f[1].1.contains("\"p\""));
        assert!(clean_path("../x").is_err());
    }
}
