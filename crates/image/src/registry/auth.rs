//! Registry credentials: `kubernetes.io/dockerconfigjson` secrets (host matching as Docker and Flux do) and `WWW-Authenticate` challenges.

use std::collections::BTreeMap;

use base64::Engine as _;

use crate::reference::{ImageName, DOCKER_HUB};

/// What the client authenticates with before any challenge.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Credentials {
    /// No credentials.
    #[default]
    Anonymous,
    /// Username and password (basic auth, or exchanged for a bearer token).
    Basic {
        /// Username.
        username: String,
        /// Password or token.
        password: String,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Basic { username, .. } => {
                write!(f, "Basic {{ username: {username:?}, password: *** }}")
            }
        }
    }
}

impl Credentials {
    pub(crate) fn basic_header(&self) -> Option<String> {
        match self {
            Credentials::Anonymous => None,
            Credentials::Basic { username, password } => Some(format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"))
            )),
        }
    }
}

/// Why a dockerconfigjson secret cannot be used. Messages never contain secret values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DockerConfigError {
    /// The secret has no `.dockerconfigjson` key.
    #[error("secret '{secret}' has no '.dockerconfigjson' key; create it with 'kubectl create secret docker-registry'")]
    MissingKey {
        /// `namespace/name`.
        secret: String,
    },
    /// The JSON does not parse or has no `auths`.
    #[error("secret '{secret}': .dockerconfigjson is not a Docker config ({reason})")]
    Malformed {
        /// `namespace/name`.
        secret: String,
        /// What is wrong.
        reason: String,
    },
    /// An entry's `auth` is not base64 of `user:password`.
    #[error("secret '{secret}': auths entry '{host}' has an 'auth' that is not base64 of 'username:password'")]
    BadAuth {
        /// `namespace/name`.
        secret: String,
        /// The entry's key.
        host: String,
    },
}

/// The `auths` of a Docker config.
#[derive(Clone, Default)]
pub struct DockerConfig {
    entries: Vec<(String, Credentials)>,
}

impl DockerConfig {
    /// Reads a secret's data (`.dockerconfigjson`); `secret` names it in messages.
    pub fn from_secret(
        secret: &str,
        data: &BTreeMap<String, Vec<u8>>,
    ) -> Result<DockerConfig, DockerConfigError> {
        let raw = data
            .get(".dockerconfigjson")
            .ok_or_else(|| DockerConfigError::MissingKey {
                secret: secret.to_string(),
            })?;
        DockerConfig::parse(secret, raw)
    }

    /// Reads Docker config JSON: `{"auths": {"<host>": {"auth": "..."} | {"username", "password"}}}`.
    pub fn parse(secret: &str, json: &[u8]) -> Result<DockerConfig, DockerConfigError> {
        let malformed = |reason: &str| DockerConfigError::Malformed {
            secret: secret.to_string(),
            reason: reason.to_string(),
        };
        let v: serde_json::Value = serde_json::from_slice(json)
            .map_err(|e| malformed(&format!("invalid JSON at line {}", e.line())))?;
        let auths = v
            .get("auths")
            .and_then(|a| a.as_object())
            .ok_or_else(|| malformed("no 'auths' object"))?;
        let mut entries = Vec::new();
        for (host, entry) in auths {
            let field = |k: &str| entry.get(k).and_then(|x| x.as_str()).unwrap_or_default();
            let creds = if !field("auth").is_empty() {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(field("auth").trim())
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .and_then(|s| {
                        s.split_once(':')
                            .map(|(u, p)| (u.to_string(), p.to_string()))
                    })
                    .ok_or_else(|| DockerConfigError::BadAuth {
                        secret: secret.to_string(),
                        host: host.clone(),
                    })?;
                Credentials::Basic {
                    username: decoded.0,
                    password: decoded.1,
                }
            } else if !field("username").is_empty() || !field("password").is_empty() {
                Credentials::Basic {
                    username: field("username").to_string(),
                    password: field("password").to_string(),
                }
            } else {
                Credentials::Anonymous
            };
            entries.push((host.clone(), creds));
        }
        Ok(DockerConfig { entries })
    }

    /// The credentials for the image's registry: an entry whose key, stripped of scheme and
    /// path, names the same registry (`https://index.docker.io/v1/`, `docker.io` and
    /// `registry-1.docker.io` all name Docker Hub). Anonymous when none matches.
    pub fn credentials_for(&self, image: &ImageName) -> Credentials {
        let want = normalise_registry(&image.registry);
        self.entries
            .iter()
            .find(|(k, _)| normalise_registry(k) == want)
            .map(|(_, c)| c.clone())
            .unwrap_or_default()
    }
}

fn normalise_registry(key: &str) -> String {
    let k = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = k.split('/').next().unwrap_or(k).to_ascii_lowercase();
    match host.as_str() {
        "docker.io" | "registry-1.docker.io" | "registry.hub.docker.com" => DOCKER_HUB.to_string(),
        _ => host,
    }
}

/// A parsed `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// `Basic realm="..."`.
    Basic,
    /// `Bearer realm="...",service="...",scope="..."`.
    Bearer {
        /// Token endpoint.
        realm: String,
        /// `service` parameter, if given.
        service: Option<String>,
        /// `scope` parameter, if given.
        scope: Option<String>,
    },
}

/// Reads a `WWW-Authenticate` value; `None` for schemes other than Basic and Bearer.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let params = parse_params(rest);
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Some(Challenge::Basic),
        "bearer" => Some(Challenge::Bearer {
            realm: params.get("realm")?.clone(),
            service: params.get("service").cloned(),
            scope: params.get("scope").cloned(),
        }),
        _ => None,
    }
}

fn parse_params(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i] == b',' || b[i].is_ascii_whitespace()) {
            i += 1;
        }
        let ks = i;
        while i < b.len() && b[i] != b'=' {
            i += 1;
        }
        let key = s[ks..i].trim().to_ascii_lowercase();
        i += 1;
        let mut val = String::new();
        if i < b.len() && b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' && i + 1 < b.len() {
                    i += 1;
                }
                let ch_end = s[i..].chars().next().map_or(1, char::len_utf8);
                val.push_str(&s[i..i + ch_end]);
                i += ch_end;
            }
            i += 1;
        } else {
            let vs = i.min(b.len());
            while i < b.len() && b[i] != b',' {
                i += 1;
            }
            val = s[vs..i.min(b.len())].trim().to_string();
        }
        if !key.is_empty() {
            out.insert(key, val);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn docker_config_hosts() {
        let json = format!(
            r#"{{"auths": {{
                "https://index.docker.io/v1/": {{"auth": "{}"}},
                "localhost:5000": {{"username": "u", "password": "p"}},
                "https://ghcr.io": {{"auth": "{}"}}
            }}}}"#,
            b64("hub:hubpass"),
            b64("gh:ghp:with:colons")
        );
        let cfg = DockerConfig::parse("ns/s", json.as_bytes()).expect("parses");
        let img = |s: &str| ImageName::parse(s).expect("image");
        assert_eq!(
            cfg.credentials_for(&img("nginx")),
            Credentials::Basic {
                username: "hub".into(),
                password: "hubpass".into()
            }
        );
        assert_eq!(
            cfg.credentials_for(&img("ghcr.io/org/app")),
            Credentials::Basic {
                username: "gh".into(),
                password: "ghp:with:colons".into()
            }
        );
        assert!(matches!(
            cfg.credentials_for(&img("localhost:5000/app")),
            Credentials::Basic { .. }
        ));
        assert_eq!(
            cfg.credentials_for(&img("localhost:5001/app")),
            Credentials::Anonymous
        );
        assert!(matches!(
            DockerConfig::parse("ns/s", br#"{"auths": {"x": {"auth": "!!"}}}"#),
            Err(DockerConfigError::BadAuth { .. })
        ));
        assert!(matches!(
            DockerConfig::parse("ns/s", b"{}"),
            Err(DockerConfigError::Malformed { .. })
        ));
        let e = DockerConfig::parse("ns/s", br#"{"auths": {"x": {"auth": "!!"}}}"#)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(!e.contains("!!"));
    }

    #[test]
    fn challenges() {
        assert_eq!(
            parse_challenge(
                r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:org/app:pull""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into()),
                scope: Some("repository:org/app:pull".into())
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Negotiate abc"), None);
    }
}
