//! The git command-line client for automation runs, in flotilla-source's isolated environment ([`GitEnv`]: private HOME, no user config, askpass for passwords, no secret on a command line), with a deadline per command.

use std::io;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use flotilla_source::{Credentials, GitEnv};
use tokio::process::Command;

/// Credentials for the Git remote, read by the caller from the GitRepository's secret.
/// `Debug` never shows values.
#[derive(Clone, Default)]
pub struct GitAuth {
    /// HTTP basic auth (`username`, `password`).
    pub basic: Option<(String, String)>,
    /// HTTP bearer token (`bearerToken`).
    pub bearer: Option<String>,
    /// CA certificate(s) to trust for HTTPS (`ca.crt`, PEM).
    pub ca_pem: Option<Vec<u8>>,
    /// SSH private key (`identity`), host keys (`known_hosts`) and key passphrase (`password`).
    pub ssh: Option<SshAuth>,
}

/// SSH key material.
#[derive(Clone, Default)]
pub struct SshAuth {
    /// Private key (OpenSSH or PEM).
    pub identity: Vec<u8>,
    /// known_hosts lines for the server.
    pub known_hosts: Vec<u8>,
    /// Passphrase of the identity, if encrypted.
    pub passphrase: Option<String>,
}

impl std::fmt::Debug for GitAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitAuth")
            .field("basic", &self.basic.as_ref().map(|(u, _)| (u, "***")))
            .field("bearer", &self.bearer.as_ref().map(|_| "***"))
            .field("ca_pem", &self.ca_pem.is_some())
            .field("ssh", &self.ssh.is_some())
            .finish()
    }
}

/// A git command that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("git {operation}: {detail}")]
pub struct GitError {
    /// The git subcommand.
    pub operation: String,
    /// git's last stderr lines with credentials removed, or the reason it did not run.
    pub detail: String,
    /// The push was refused because the remote moved on (fetch, reapply, retry).
    pub rejected: bool,
}

/// A git driver bound to one set of credentials, in flotilla-source's isolated environment;
/// its private directory goes when it is dropped.
pub(crate) struct Git {
    env: GitEnv,
}

impl Git {
    pub(crate) fn new(auth: &GitAuth, timeout: Duration) -> io::Result<Git> {
        let mut creds = match &auth.basic {
            Some((user, pass)) => Credentials::basic(user, pass),
            None => Credentials::none(),
        };
        if let Some(token) = &auth.bearer {
            creds = creds.with_bearer(token);
        }
        if let Some(ca) = &auth.ca_pem {
            creds = creds.with_ca(ca.clone());
        }
        if let Some(ssh) = &auth.ssh {
            creds = creds.with_ssh(
                ssh.identity.clone(),
                ssh.known_hosts.clone(),
                ssh.passphrase.clone(),
            );
        }
        Ok(Git {
            env: GitEnv::new(&creds, timeout)?,
        })
    }

    /// A directory private to this driver (for the working tree).
    pub(crate) fn scratch(&self) -> PathBuf {
        self.env.home().join("work")
    }

    /// Runs `git <args>` in `dir` with extra environment; returns trimmed stdout.
    pub(crate) async fn run_env(
        &self,
        dir: Option<&Path>,
        args: &[&str],
        extra: &[(&str, &str)],
    ) -> Result<String, GitError> {
        let operation = args.first().copied().unwrap_or_default().to_string();
        let mut cmd = Command::new("git");
        cmd.args(args)
            .env_clear()
            .envs(self.env.vars().iter().map(|(k, v)| (k, v)))
            .envs(extra.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(d) = dir {
            cmd.current_dir(d);
        }
        let child = cmd.spawn().map_err(|e| GitError {
            operation: operation.clone(),
            detail: format!("cannot start git ({e}); is git installed and on PATH?"),
            rejected: false,
        })?;
        let out = match tokio::time::timeout(self.env.timeout(), child.wait_with_output()).await {
            Err(_) => {
                return Err(GitError {
                    operation,
                    detail: format!("no answer within {:?}", self.env.timeout()),
                    rejected: false,
                })
            }
            Ok(Err(e)) => {
                return Err(GitError {
                    operation,
                    detail: format!("waiting for git failed: {e}"),
                    rejected: false,
                })
            }
            Ok(Ok(o)) => o,
        };
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).trim().to_string());
        }
        let stderr = self.env.scrub(&String::from_utf8_lossy(&out.stderr));
        let rejected = stderr.contains("[rejected]")
            || stderr.contains("non-fast-forward")
            || stderr.contains("fetch first")
            || stderr.contains("cannot lock ref");
        let lines: Vec<&str> = stderr
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with("hint:"))
            .collect();
        let tail = lines[lines.len().saturating_sub(5)..].join("; ");
        Err(GitError {
            operation,
            detail: if tail.is_empty() {
                format!("exited with {}", out.status)
            } else {
                tail
            },
            rejected,
        })
    }

    pub(crate) async fn run(&self, dir: Option<&Path>, args: &[&str]) -> Result<String, GitError> {
        self.run_env(dir, args, &[]).await
    }
}
