//! The Git transport: drives the `git` command-line client in an isolated, credential-safe environment.
//!
//! Everything that talks to a remote goes through [`Git`]; a native implementation can replace this
//! module without changing the crate's API. Rules kept here: no secret on a command line or in a
//! URL git sees, no user or system configuration, no prompts, a deadline on every command, and
//! git's stderr scrubbed of credentials before it reaches an error.

mod classify;
mod env;

use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;

pub(crate) use classify::{Failure, GitFailure};
pub(crate) use env::GitEnv as Git;
pub use env::GitEnv;

/// One advertised reference from `git ls-remote`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RemoteRef {
    pub(crate) sha: String,
    pub(crate) name: String,
}

impl Git {
    /// Runs `git <args>` (in `dir` when given) and returns its stdout.
    pub(crate) fn run(&self, dir: Option<&Path>, args: &[&str]) -> Result<Vec<u8>, GitFailure> {
        let op = format!("git {}", args.first().copied().unwrap_or_default());
        let mut cmd = Command::new("git");
        cmd.args(args)
            .env_clear()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Own process group, so a timeout can stop git's helpers (remote-https, ssh) too.
            .process_group(0);
        if let Some(d) = dir {
            cmd.current_dir(d);
        }
        let mut child = cmd.spawn().map_err(|e| GitFailure {
            kind: Failure::Spawn,
            operation: op.clone(),
            detail: format!("cannot start git ({e}); is git installed and on PATH?"),
        })?;
        let mut out = child.stdout.take().expect("stdout was piped");
        let mut err = child.stderr.take().expect("stderr was piped");
        let out_reader = thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = out.read_to_end(&mut buf);
            buf
        });
        let err_reader = thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = err.read_to_end(&mut buf);
            buf
        });
        // A waiter thread reports the exit at once (no polling delay); the deadline is a
        // channel timeout, after which git's process group is killed and the waiter returns.
        let pid = child.id();
        let (tx, rx) = mpsc::channel();
        let waiter = thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        let status = match rx.recv_timeout(self.timeout) {
            Ok(Ok(status)) => Ok(status),
            Ok(Err(e)) => {
                return Err(GitFailure {
                    kind: Failure::Spawn,
                    operation: op,
                    detail: format!("waiting for git failed: {e}"),
                })
            }
            Err(_) => {
                kill_group(pid);
                let _ = rx.recv();
                Err(())
            }
        };
        let _ = waiter.join();
        let stdout = out_reader.join().unwrap_or_default();
        let stderr = err_reader.join().unwrap_or_default();
        let stderr = self.scrub(&String::from_utf8_lossy(&stderr));
        match status {
            Err(()) => Err(GitFailure {
                kind: Failure::Timeout,
                operation: op,
                detail: format!(
                    "no answer within {:?}; {}",
                    self.timeout,
                    last_lines(&stderr)
                ),
            }),
            Ok(s) if s.success() => Ok(stdout),
            Ok(s) => Err(GitFailure {
                kind: classify::classify(&stderr),
                operation: op,
                detail: if stderr.trim().is_empty() {
                    format!("exited with {s}")
                } else {
                    last_lines(&stderr)
                },
            }),
        }
    }

    /// Lists the remote's references matching `patterns` (all when empty).
    pub(crate) fn ls_remote(
        &self,
        url: &str,
        patterns: &[&str],
    ) -> Result<Vec<RemoteRef>, GitFailure> {
        let mut args = vec!["ls-remote", "--", url];
        args.extend_from_slice(patterns);
        let out = self.run(None, &args)?;
        Ok(String::from_utf8_lossy(&out)
            .lines()
            .filter_map(|l| {
                let (sha, name) = l.split_once('\t')?;
                Some(RemoteRef {
                    sha: sha.trim().to_string(),
                    name: name.trim().to_string(),
                })
            })
            .collect())
    }
}

/// Keeps the tail of git's stderr: the last lines carry the reason, earlier ones progress noise.
fn last_lines(stderr: &str) -> String {
    // Generic advice and ssh's banner lines say nothing about this failure.
    const NOISE: &[&str] = &[
        "Please make sure you have the correct access rights",
        "and the repository exists.",
        "ssh-keygen -f",
        "@@@",
        "IT IS POSSIBLE",
        "Someone could be",
        "It is also possible",
        "The fingerprint for",
        "Please contact your system administrator",
        "Add correct host key",
        "Offending",
    ];
    let lines: Vec<&str> = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !NOISE.iter().any(|n| l.starts_with(n)))
        .collect();
    let start = lines.len().saturating_sub(6);
    lines[start..].join("; ")
}

/// Kills git's whole process group through the shell's `kill` builtin (present wherever
/// /bin/sh is, unlike procps), which keeps this crate free of unsafe FFI.
fn kill_group(pid: u32) {
    let _ = Command::new("/bin/sh")
        .args(["-c", "kill -9 -\"$1\"", "sh", &pid.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}
