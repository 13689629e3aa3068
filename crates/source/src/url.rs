//! Repository URLs: scheme detection, credentials split out of the URL, and redaction for messages.

use std::fmt;
use std::sync::OnceLock;

use regex::Regex;

/// How the repository is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `https://`.
    Https,
    /// `http://` (plain text; credentials still allowed, as Flux does).
    Http,
    /// `ssh://user@host:port/path` or scp-like `user@host:path`.
    Ssh,
    /// `file://` (local repositories, mostly for tests).
    File,
}

/// A parsed repository URL. `for_git` never carries a password; `Display` shows the redacted form.
#[derive(Clone, PartialEq, Eq)]
pub struct GitUrl {
    scheme: Scheme,
    for_git: String,
    user: Option<String>,
    password: Option<String>,
}

/// Why a URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid repository URL '{url}': {reason}")]
pub struct UrlError {
    /// The URL with any credentials redacted.
    pub url: String,
    /// What is wrong and what to write instead.
    pub reason: String,
}

impl GitUrl {
    /// Parses `https://`, `http://`, `ssh://`, `file://` or scp-like `user@host:path`.
    pub fn parse(raw: &str) -> Result<GitUrl, UrlError> {
        let err = |reason: &str| UrlError {
            url: redact(raw),
            reason: reason.to_string(),
        };
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(err("it is empty"));
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err("it contains whitespace or control characters"));
        }
        if let Some((scheme, rest)) = raw.split_once("://") {
            let scheme = match scheme.to_ascii_lowercase().as_str() {
                "https" => Scheme::Https,
                "http" => Scheme::Http,
                "ssh" => Scheme::Ssh,
                "file" => Scheme::File,
                other => {
                    return Err(err(&format!(
                    "scheme '{other}' is not supported; use https://, http://, ssh:// or file://"
                )))
                }
            };
            if scheme == Scheme::File {
                if !rest.starts_with('/') {
                    return Err(err(
                        "a file:// URL needs an absolute path (file:///path/to/repo)",
                    ));
                }
                return Ok(GitUrl {
                    scheme,
                    for_git: raw.to_string(),
                    user: None,
                    password: None,
                });
            }
            let (authority, path) = match rest.find('/') {
                Some(i) => (&rest[..i], &rest[i..]),
                None => (rest, ""),
            };
            let (userinfo, host) = match authority.rfind('@') {
                Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
                None => (None, authority),
            };
            if host.is_empty() || host.starts_with(':') {
                return Err(err("it has no host"));
            }
            if path.len() <= 1 {
                return Err(err("it has no repository path"));
            }
            let (user, password) = match userinfo {
                None => (None, None),
                Some(info) => match info.split_once(':') {
                    Some((u, p)) => (Some(percent_decode(u)), Some(percent_decode(p))),
                    None => (Some(percent_decode(info)), None),
                },
            };
            let user = user.filter(|u| !u.is_empty());
            let password = password.filter(|p| !p.is_empty());
            let for_git = match (scheme, &userinfo) {
                // The user name stays in ssh URLs (it is the login); passwords never reach git.
                (Scheme::Ssh, Some(info)) => {
                    let login = info.split(':').next().unwrap_or_default();
                    format!("ssh://{login}@{host}{path}")
                }
                (Scheme::Ssh, None) => format!("ssh://{host}{path}"),
                (Scheme::Https, _) => format!("https://{host}{path}"),
                _ => format!("http://{host}{path}"),
            };
            return Ok(GitUrl {
                scheme,
                for_git,
                user,
                password,
            });
        }
        // scp-like syntax: [user@]host:path, with no slash before the colon.
        if let Some(colon) = raw.find(':') {
            let before = &raw[..colon];
            let path = &raw[colon + 1..];
            if !before.contains('/') && !before.is_empty() && !path.is_empty() {
                let host = before.rsplit('@').next().unwrap_or_default();
                if host.is_empty() {
                    return Err(err("it has no host"));
                }
                if before.matches('@').count() > 1 || before.contains(':') {
                    return Err(err("scp-like ssh URLs take the form user@host:path"));
                }
                return Ok(GitUrl {
                    scheme: Scheme::Ssh,
                    for_git: raw.to_string(),
                    user: before.split_once('@').map(|(u, _)| u.to_string()),
                    password: None,
                });
            }
        }
        Err(err(
            "use https://host/path, http://host/path, ssh://user@host[:port]/path, user@host:path or file:///path",
        ))
    }

    /// The transport this URL uses.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The URL as handed to git: without any password.
    pub fn for_git(&self) -> &str {
        &self.for_git
    }

    /// A user name written in the URL (`https://user@host/...`), if any.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// A password written in the URL (`https://user:pass@host/...`): moved into the credentials.
    pub fn password(&self) -> Option<&str> {
        self.password.as_deref()
    }
}

impl fmt::Display for GitUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.for_git)
    }
}

impl fmt::Debug for GitUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GitUrl")
            .field("scheme", &self.scheme)
            .field("url", &self.for_git)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Replaces `user:password@` inside any URL in `text` with `***@`.
pub fn redact(text: &str) -> String {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"([A-Za-z][A-Za-z0-9+.\-]*://)[^/@\s]*:[^/\s]*@")
            .expect("the redaction pattern is a valid regex")
    });
    re.replace_all(text, "${1}***@").into_owned()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes() {
        let u = GitUrl::parse("https://git.example.com/org/repo.git").expect("https parses");
        assert_eq!(u.scheme(), Scheme::Https);
        let u = GitUrl::parse("ssh://git@host:2222/org/repo").expect("ssh parses");
        assert_eq!(
            (u.scheme(), u.for_git()),
            (Scheme::Ssh, "ssh://git@host:2222/org/repo")
        );
        let u = GitUrl::parse("git@github.com:org/repo.git").expect("scp-like parses");
        assert_eq!((u.scheme(), u.user()), (Scheme::Ssh, Some("git")));
        let u = GitUrl::parse("file:///tmp/repo").expect("file parses");
        assert_eq!(u.scheme(), Scheme::File);
        for bad in [
            "",
            "ftp://x/y",
            "https://",
            "https://host",
            "/just/a/path",
            "file://rel",
        ] {
            assert!(GitUrl::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }

    #[test]
    fn credentials_leave_the_url() {
        let u = GitUrl::parse("https://bob:s%40cret@host/repo").expect("parses");
        assert_eq!(u.for_git(), "https://host/repo");
        assert_eq!((u.user(), u.password()), (Some("bob"), Some("s@cret")));
        assert!(!format!("{u} {u:?}").contains("cret"));
        let e = GitUrl::parse("ftp://bob:hunter2@host/x").expect_err("ftp refused");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn redaction() {
        assert_eq!(
            redact("fatal: unable to access 'https://u:p4ss@h/r/': 401"),
            "fatal: unable to access 'https://***@h/r/': 401"
        );
        assert_eq!(redact("ssh://git@host/repo"), "ssh://git@host/repo");
    }
}
