//! Credentials read from a Flux-style secret (`username`/`password`, `bearerToken`, `identity`, `known_hosts`, `ca.crt`).

use std::collections::BTreeMap;
use std::fmt;

use crate::url::{GitUrl, Scheme};

/// What git may authenticate with. `Debug` never shows secret values.
#[derive(Clone, Default)]
pub struct Credentials {
    pub(crate) basic: Option<(String, String)>,
    pub(crate) bearer: Option<String>,
    pub(crate) ssh: Option<SshKeys>,
    pub(crate) ca: Option<Vec<u8>>,
}

/// Key material for SSH: a private key and the host keys to trust.
#[derive(Clone)]
pub(crate) struct SshKeys {
    pub(crate) identity: Vec<u8>,
    pub(crate) known_hosts: Vec<u8>,
    /// Passphrase of an encrypted identity (Flux's `password` key for SSH).
    pub(crate) passphrase: Option<String>,
}

/// A secret that cannot be used for this URL. Messages name the secret and key, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    /// A key the URL's scheme needs is absent.
    #[error("secret '{secret}' has no '{key}' key: {hint}")]
    MissingKey {
        /// The secret (`namespace/name`).
        secret: String,
        /// The missing data key.
        key: &'static str,
        /// What to add.
        hint: &'static str,
    },
    /// A value that must be text is not UTF-8, or is empty.
    #[error("secret '{secret}' key '{key}' {problem}")]
    BadValue {
        /// The secret (`namespace/name`).
        secret: String,
        /// The data key at fault.
        key: &'static str,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// Two auth methods that exclude each other are both present.
    #[error("secret '{secret}' sets both 'bearerToken' and 'username'/'password': keep only one")]
    Conflict {
        /// The secret (`namespace/name`).
        secret: String,
    },
}

impl Credentials {
    /// No credentials (public repositories, file:// URLs).
    pub fn none() -> Credentials {
        Credentials::default()
    }

    /// HTTP basic auth (for example CodeCommit's HTTPS Git credentials).
    pub fn basic(username: impl Into<String>, password: impl Into<String>) -> Credentials {
        Credentials {
            basic: Some((username.into(), password.into())),
            ..Credentials::default()
        }
    }

    /// Reads the keys Flux documents for a GitRepository `secretRef`, as the URL's scheme needs:
    /// http(s): `username`+`password` or `bearerToken`, optional `ca.crt`;
    /// ssh: `identity` and `known_hosts` (both required), `password` for an encrypted identity
    /// (`identity.pub` is not needed).
    /// `secret` names the secret in messages (`namespace/name`).
    pub fn from_secret(
        secret: &str,
        data: &BTreeMap<String, Vec<u8>>,
        url: &GitUrl,
    ) -> Result<Credentials, SecretError> {
        let text = |key: &'static str| -> Result<Option<String>, SecretError> {
            match data.get(key) {
                None => Ok(None),
                Some(v) => {
                    let s = String::from_utf8(v.clone()).map_err(|_| SecretError::BadValue {
                        secret: secret.to_string(),
                        key,
                        problem: "is not UTF-8 text",
                    })?;
                    let s = s.trim_end_matches(['\n', '\r']).to_string();
                    if s.is_empty() {
                        return Err(SecretError::BadValue {
                            secret: secret.to_string(),
                            key,
                            problem: "is empty",
                        });
                    }
                    Ok(Some(s))
                }
            }
        };
        let missing = |key: &'static str, hint: &'static str| SecretError::MissingKey {
            secret: secret.to_string(),
            key,
            hint,
        };
        let mut creds = Credentials::default();
        match url.scheme() {
            Scheme::Https | Scheme::Http => {
                let user = text("username")?;
                let pass = text("password")?;
                creds.bearer = text("bearerToken")?;
                creds.basic = match (user, pass) {
                    (Some(u), Some(p)) => Some((u, p)),
                    (Some(_), None) => {
                        return Err(missing(
                            "password",
                            "basic auth needs both username and password",
                        ))
                    }
                    (None, Some(_)) => {
                        return Err(missing(
                            "username",
                            "basic auth needs both username and password",
                        ))
                    }
                    (None, None) => None,
                };
                if creds.bearer.is_some() && creds.basic.is_some() {
                    return Err(SecretError::Conflict {
                        secret: secret.to_string(),
                    });
                }
                creds.ca = data
                    .get("ca.crt")
                    .or_else(|| data.get("caFile"))
                    .cloned()
                    .filter(|v| !v.is_empty());
            }
            Scheme::Ssh => {
                let identity = data
                    .get("identity")
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| {
                        missing(
                            "identity",
                            "add the SSH private key (PEM or OpenSSH format)",
                        )
                    })?;
                let known_hosts = data
                    .get("known_hosts")
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| {
                        missing(
                            "known_hosts",
                            "add the server's host keys (ssh-keyscan -p PORT HOST)",
                        )
                    })?;
                creds.ssh = Some(SshKeys {
                    identity: identity.clone(),
                    known_hosts: known_hosts.clone(),
                    passphrase: text("password")?,
                });
            }
            Scheme::File => {}
        }
        Ok(creds)
    }

    /// Every secret string, so messages can be scrubbed of them.
    pub(crate) fn secret_values(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some((_, p)) = &self.basic {
            out.push(p.clone());
        }
        if let Some(t) = &self.bearer {
            out.push(t.clone());
        }
        if let Some(p) = self.ssh.as_ref().and_then(|s| s.passphrase.as_ref()) {
            out.push(p.clone());
        }
        out.retain(|s| s.len() >= 3);
        out
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("basic_user", &self.basic.as_ref().map(|(u, _)| u))
            .field("bearer", &self.bearer.is_some())
            .field("ssh", &self.ssh.is_some())
            .field("ca", &self.ca.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
            .collect()
    }

    #[test]
    fn https_keys() {
        let url = GitUrl::parse("https://h/r").expect("parses");
        let c = Credentials::from_secret(
            "ns/s",
            &data(&[("username", "u"), ("password", "pw1")]),
            &url,
        )
        .expect("basic auth");
        assert_eq!(c.basic, Some(("u".to_string(), "pw1".to_string())));
        assert!(!format!("{c:?}").contains("pw1"));
        let e = Credentials::from_secret("ns/s", &data(&[("username", "u")]), &url)
            .expect_err("no password");
        assert_eq!(
            e.to_string(),
            "secret 'ns/s' has no 'password' key: basic auth needs both username and password"
        );
        let e = Credentials::from_secret(
            "ns/s",
            &data(&[("username", "u"), ("password", "p"), ("bearerToken", "t")]),
            &url,
        )
        .expect_err("conflict");
        assert!(matches!(e, SecretError::Conflict { .. }));
    }

    #[test]
    fn ssh_keys_are_required() {
        let url = GitUrl::parse("ssh://git@h/r").expect("parses");
        let e = Credentials::from_secret("ns/s", &data(&[("identity", "k")]), &url)
            .expect_err("known_hosts");
        assert!(e.to_string().contains("'known_hosts'"), "{e}");
        let e = Credentials::from_secret("ns/s", &data(&[]), &url).expect_err("identity");
        assert!(e.to_string().contains("'identity'"), "{e}");
    }
}
