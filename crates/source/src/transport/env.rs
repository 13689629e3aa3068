//! The isolated environment each git command runs in: private HOME, askpass helper, SSH command, config.

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tempfile::TempDir;

use crate::auth::Credentials;
use crate::url::redact;

/// Environment variables passed through to git: proxies and TLS trust roots.
const PASS_THROUGH: &[&str] = &[
    "PATH",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "all_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "ALL_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

/// Reads the answer from the environment so the secret is never a command-line argument.
const ASKPASS_SCRIPT: &str = "#!/bin/sh\ncase \"$1\" in\n  Username*|username*) printf '%s\\n' \"$FLOTILLA_GIT_USERNAME\" ;;\n  *) printf '%s\\n' \"$FLOTILLA_GIT_PASSWORD\" ;;\nesac\n";

/// The isolated environment for git commands bound to one set of credentials: a private HOME
/// (askpass helper, SSH key, known_hosts, CA bundle; removed when this is dropped), no user or
/// system configuration, no prompts, secrets only in the environment. Anything that runs the
/// git client with credentials (the source fetch, image automation's commit and push) uses it:
/// `Command::new("git").env_clear().envs(env.vars())`, stderr through [`GitEnv::scrub`].
pub struct GitEnv {
    home: TempDir,
    pub(super) env: Vec<(String, OsString)>,
    scrub: Vec<String>,
    pub(super) timeout: Duration,
}

impl GitEnv {
    /// Prepares the environment for `creds`; `timeout` bounds each git command.
    pub fn new(creds: &Credentials, timeout: Duration) -> io::Result<GitEnv> {
        let home = tempfile::Builder::new().prefix("flotilla-git-").tempdir()?;
        let dir = home.path().to_path_buf();
        let mut env: Vec<(String, OsString)> = PASS_THROUGH
            .iter()
            .filter_map(|k| std::env::var_os(k).map(|v| (k.to_string(), v)))
            .collect();
        if !env.iter().any(|(k, _)| k == "PATH") {
            env.push(("PATH".into(), "/usr/local/bin:/usr/bin:/bin".into()));
        }
        let set =
            |env: &mut Vec<(String, OsString)>, k: &str, v: OsString| env.push((k.to_string(), v));
        set(&mut env, "HOME", dir.clone().into());
        set(&mut env, "XDG_CONFIG_HOME", dir.join(".config").into());
        set(&mut env, "GIT_CONFIG_NOSYSTEM", "1".into());
        set(&mut env, "GIT_CONFIG_GLOBAL", "/dev/null".into());
        set(&mut env, "GIT_TERMINAL_PROMPT", "0".into());
        set(&mut env, "GCM_INTERACTIVE", "never".into());
        set(&mut env, "LC_ALL", "C".into());
        set(&mut env, "LANGUAGE", "C".into());

        let mut config: Vec<(String, String)> = vec![
            // No credential helper may store or supply anything.
            ("credential.helper".into(), String::new()),
            ("core.hooksPath".into(), "/dev/null".into()),
            ("advice.detachedHead".into(), "false".into()),
            ("init.defaultBranch".into(), "main".into()),
            // Background gc would outlive the command and its deadline.
            ("gc.autoDetach".into(), "false".into()),
            ("maintenance.auto".into(), "false".into()),
            ("gc.auto".into(), "0".into()),
            // Commits are made by automation, never signed with a user's key by accident.
            ("commit.gpgSign".into(), "false".into()),
            ("submodule.recurse".into(), "false".into()),
        ];

        if let Some((user, pass)) = &creds.basic {
            let askpass = write_private(&dir, "askpass.sh", ASKPASS_SCRIPT.as_bytes(), 0o700)?;
            set(&mut env, "GIT_ASKPASS", askpass.into());
            set(&mut env, "FLOTILLA_GIT_USERNAME", user.into());
            set(&mut env, "FLOTILLA_GIT_PASSWORD", pass.into());
        }
        if let Some(token) = &creds.bearer {
            config.push((
                "http.extraHeader".into(),
                format!("Authorization: Bearer {token}"),
            ));
        }
        if let Some(ca) = &creds.ca {
            let path = write_private(&dir, "ca.crt", ca, 0o600)?;
            config.push(("http.sslCAInfo".into(), path.to_string_lossy().into_owned()));
        }
        if let Some(ssh) = &creds.ssh {
            let mut identity = ssh.identity.clone();
            // OpenSSH refuses a private key without a final newline.
            if !identity.ends_with(b"\n") {
                identity.push(b'\n');
            }
            let key = write_private(&dir, "identity", &identity, 0o600)?;
            let hosts = write_private(&dir, "known_hosts", &ssh.known_hosts, 0o600)?;
            let connect = timeout.as_secs().clamp(1, 60);
            // BatchMode also stops ssh from asking for a key's passphrase; with a passphrase the
            // only prompt left (password and keyboard-interactive auth are off, unknown host keys
            // are refused) is answered by the askpass helper from the environment.
            let batch = match &ssh.passphrase {
                None => "yes",
                Some(pass) => {
                    let askpass = dir.join("askpass.sh");
                    if !askpass.exists() {
                        write_private(&dir, "askpass.sh", ASKPASS_SCRIPT.as_bytes(), 0o700)?;
                    }
                    set(&mut env, "SSH_ASKPASS", askpass.into());
                    set(&mut env, "SSH_ASKPASS_REQUIRE", "force".into());
                    set(&mut env, "FLOTILLA_GIT_PASSWORD", pass.into());
                    "no"
                }
            };
            let command = format!(
                "ssh -F /dev/null -i {} -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes \
                 -o UserKnownHostsFile={} -o GlobalKnownHostsFile=/dev/null -o BatchMode={batch} \
                 -o PasswordAuthentication=no -o KbdInteractiveAuthentication=no \
                 -o NumberOfPasswordPrompts=1 -o ConnectTimeout={connect} -o LogLevel=ERROR",
                shell_quote(&key),
                shell_quote(&hosts),
            );
            set(&mut env, "GIT_SSH_COMMAND", command.into());
            set(&mut env, "GIT_SSH_VARIANT", "ssh".into());
        }
        set(
            &mut env,
            "GIT_CONFIG_COUNT",
            config.len().to_string().into(),
        );
        for (i, (k, v)) in config.into_iter().enumerate() {
            set(&mut env, &format!("GIT_CONFIG_KEY_{i}"), k.into());
            set(&mut env, &format!("GIT_CONFIG_VALUE_{i}"), v.into());
        }

        let mut scrub = Vec::new();
        for s in creds.secret_values() {
            scrub.push(percent_encode(&s));
            scrub.push(s);
        }
        // Longest first, so a secret containing another is replaced whole.
        scrub.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Ok(GitEnv {
            home,
            env,
            scrub,
            timeout,
        })
    }

    /// The variables to run git with (after `env_clear()`).
    pub fn vars(&self) -> &[(String, OsString)] {
        &self.env
    }

    /// The private directory (a working tree may go below it; it goes when this is dropped).
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// The deadline of each git command.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Removes credentials from text that may echo them (URLs with user:pass@, secret values).
    pub fn scrub(&self, text: &str) -> String {
        let mut out = redact(text);
        for s in &self.scrub {
            if !s.is_empty() {
                out = out.replace(s.as_str(), "***");
            }
        }
        out
    }
}

impl Credentials {
    /// Adds an HTTP bearer token (`bearerToken`).
    pub fn with_bearer(mut self, token: impl Into<String>) -> Credentials {
        self.bearer = Some(token.into());
        self
    }

    /// Adds CA certificates (PEM) to trust for HTTPS (`ca.crt`).
    pub fn with_ca(mut self, ca_pem: Vec<u8>) -> Credentials {
        self.ca = Some(ca_pem);
        self
    }

    /// Adds an SSH identity, the host keys to trust, and the identity's passphrase if any.
    pub fn with_ssh(
        mut self,
        identity: Vec<u8>,
        known_hosts: Vec<u8>,
        passphrase: Option<String>,
    ) -> Credentials {
        self.ssh = Some(crate::auth::SshKeys {
            identity,
            known_hosts,
            passphrase,
        });
        self
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
    // The mode given to open() is filtered by the umask; make it exact.
    fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(mode))?;
    Ok(path)
}

/// Single-quotes a path for the shell that runs GIT_SSH_COMMAND.
fn shell_quote(p: &Path) -> String {
    format!("'{}'", p.to_string_lossy().replace('\'', "'\\''"))
}

fn percent_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
