//! The git command-line client for automation runs, in an isolated environment: private HOME, no user config, askpass for passwords, no secret on a command line, a deadline per command.

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

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

const ASKPASS: &str = "#!/bin/sh\ncase \"$1\" in\n  Username*|username*) printf '%s\\n' \"$FLOTILLA_GIT_USERNAME\" ;;\n  *) printf '%s\\n' \"$FLOTILLA_GIT_PASSWORD\" ;;\nesac\n";

/// A git driver bound to one set of credentials; its private directory goes when it is dropped.
pub(crate) struct Git {
    home: tempfile::TempDir,
    env: Vec<(String, OsString)>,
    secrets: Vec<String>,
    timeout: Duration,
}

impl Git {
    pub(crate) fn new(auth: &GitAuth, timeout: Duration) -> io::Result<Git> {
        let home = tempfile::Builder::new()
            .prefix("flotilla-image-git-")
            .tempdir()?;
        let dir = home.path().to_path_buf();
        let mut env: Vec<(String, OsString)> = [
            "PATH",
            "http_proxy",
            "https_proxy",
            "no_proxy",
            "HTTPS_PROXY",
            "NO_PROXY",
            "SSL_CERT_FILE",
            "SSL_CERT_DIR",
        ]
        .iter()
        .filter_map(|k| std::env::var_os(k).map(|v| (k.to_string(), v)))
        .collect();
        if !env.iter().any(|(k, _)| k == "PATH") {
            env.push(("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()));
        }
        let mut set = |k: &str, v: OsString| env.push((k.to_string(), v));
        set("HOME", dir.clone().into());
        set("XDG_CONFIG_HOME", dir.join(".config").into());
        set("GIT_CONFIG_NOSYSTEM", "1".into());
        set("GIT_CONFIG_GLOBAL", "/dev/null".into());
        set("GIT_TERMINAL_PROMPT", "0".into());
        set("LC_ALL", "C".into());
        let mut config: Vec<(String, String)> = vec![
            ("credential.helper".into(), String::new()),
            ("core.hooksPath".into(), "/dev/null".into()),
            ("advice.detachedHead".into(), "false".into()),
            ("gc.auto".into(), "0".into()),
            ("commit.gpgSign".into(), "false".into()),
        ];
        let mut secrets = Vec::new();
        if let Some((user, pass)) = &auth.basic {
            let askpass = write_private(&dir, "askpass.sh", ASKPASS.as_bytes(), 0o700)?;
            set("GIT_ASKPASS", askpass.into());
            set("FLOTILLA_GIT_USERNAME", user.into());
            set("FLOTILLA_GIT_PASSWORD", pass.into());
            secrets.push(pass.clone());
        }
        if let Some(token) = &auth.bearer {
            config.push((
                "http.extraHeader".into(),
                format!("Authorization: Bearer {token}"),
            ));
            secrets.push(token.clone());
        }
        if let Some(ca) = &auth.ca_pem {
            let path = write_private(&dir, "ca.crt", ca, 0o600)?;
            config.push(("http.sslCAInfo".into(), path.to_string_lossy().into_owned()));
        }
        if let Some(ssh) = &auth.ssh {
            let mut identity = ssh.identity.clone();
            if !identity.ends_with(b"\n") {
                identity.push(b'\n');
            }
            let key = write_private(&dir, "identity", &identity, 0o600)?;
            let hosts = write_private(&dir, "known_hosts", &ssh.known_hosts, 0o600)?;
            let batch = match &ssh.passphrase {
                None => "yes",
                Some(p) => {
                    let askpass = dir.join("askpass.sh");
                    if !askpass.exists() {
                        write_private(&dir, "askpass.sh", ASKPASS.as_bytes(), 0o700)?;
                    }
                    set("SSH_ASKPASS", askpass.into());
                    set("SSH_ASKPASS_REQUIRE", "force".into());
                    set("FLOTILLA_GIT_PASSWORD", p.into());
                    secrets.push(p.clone());
                    "no"
                }
            };
            let q = |p: &Path| format!("'{}'", p.to_string_lossy().replace('\'', "'\\''"));
            set(
                "GIT_SSH_COMMAND",
                format!(
                    "ssh -F /dev/null -i {} -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes \
                     -o UserKnownHostsFile={} -o GlobalKnownHostsFile=/dev/null -o BatchMode={batch} \
                     -o PasswordAuthentication=no -o LogLevel=ERROR",
                    q(&key),
                    q(&hosts)
                )
                .into(),
            );
            set("GIT_SSH_VARIANT", "ssh".into());
        }
        set("GIT_CONFIG_COUNT", config.len().to_string().into());
        for (i, (k, v)) in config.into_iter().enumerate() {
            set(&format!("GIT_CONFIG_KEY_{i}"), k.into());
            set(&format!("GIT_CONFIG_VALUE_{i}"), v.into());
        }
        secrets.retain(|s| !s.is_empty());
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Ok(Git {
            home,
            env,
            secrets,
            timeout,
        })
    }

    /// A directory private to this driver (for the working tree).
    pub(crate) fn scratch(&self) -> PathBuf {
        self.home.path().join("work")
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
            .envs(self.env.iter().map(|(k, v)| (k, v)))
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
        let out = match tokio::time::timeout(self.timeout, child.wait_with_output()).await {
            Err(_) => {
                return Err(GitError {
                    operation,
                    detail: format!("no answer within {:?}", self.timeout),
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
        let stderr = self.scrub(&String::from_utf8_lossy(&out.stderr));
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

    fn scrub(&self, text: &str) -> String {
        let mut out = flotilla_source::redact(text);
        for s in &self.secrets {
            out = out.replace(s.as_str(), "***");
        }
        out
    }
}

fn write_private(dir: &Path, name: &str, data: &[u8], mode: u32) -> io::Result<PathBuf> {
    let path = dir.join(name);
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&path)?;
    f.write_all(data)?;
    f.sync_all()?;
    fs::set_permissions(&path, fs::Permissions::from_mode(mode))?;
    Ok(path)
}
