//! Remote bases (`--enable-remote`): kustomize's git URL forms, fetched with `git` into a
//! temporary directory as kustomize does (init, shallow fetch of the ref, checkout).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// kustomize's default clone timeout.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(27);

/// Why a remote base could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The URL is not one of kustomize's git URL forms.
    #[error("'{url}' is not a git repository URL: {reason}")]
    NotARepo {
        /// The URL as written.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// A git command failed or timed out.
    #[error("failed to run 'git {args}': {message}")]
    Git {
        /// The git arguments.
        args: String,
        /// git's error output, or the timeout.
        message: String,
    },
    /// The temporary directory could not be made.
    #[error("creating a directory for the clone: {0}")]
    TempDir(#[source] std::io::Error),
}

/// A git URL split as kustomize splits it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoSpec {
    /// What `git fetch` is given: scheme/host and repository path.
    pub clone_url: String,
    /// The kustomization directory inside the repository (`""` for its root).
    pub kust_root: String,
    /// `?ref=` (or `?version=`); `None` fetches `HEAD`.
    pub git_ref: Option<String>,
    /// `?timeout=` (seconds, or a Go duration such as `1m`); 27 s by default.
    pub timeout: Duration,
    /// `?submodules=` (true by default).
    pub submodules: bool,
}

impl RepoSpec {
    /// Parses `https://host/org/repo//path?ref=v1`, `git@host:org/repo/path`,
    /// `github.com/org/repo/path`, `ssh://…`, `file:///abs/repo//path`, with `git::` allowed
    /// in front. Without `//`, a `.git` suffix ends the repository path; otherwise it is the
    /// first two segments (all of it for `file://`).
    pub fn parse(raw: &str) -> Result<RepoSpec, RemoteError> {
        let bad = |reason: &str| RemoteError::NotARepo {
            url: raw.to_string(),
            reason: reason.to_string(),
        };
        if raw.starts_with('/') {
            return Err(bad("an absolute path"));
        }
        let (n, query) = raw.split_once('?').unwrap_or((raw, ""));
        let mut spec = RepoSpec {
            clone_url: String::new(),
            kust_root: String::new(),
            git_ref: None,
            timeout: DEFAULT_TIMEOUT,
            submodules: true,
        };
        let mut version = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "ref" if !v.is_empty() => spec.git_ref = Some(v.to_string()),
                "version" if !v.is_empty() => version = Some(v.to_string()),
                "timeout" => {
                    if let Some(t) = parse_timeout(v) {
                        spec.timeout = t;
                    }
                }
                "submodules" => {
                    if let Ok(b) = v.parse() {
                        spec.submodules = b;
                    }
                }
                _ => {}
            }
        }
        if spec.git_ref.is_none() {
            spec.git_ref = version;
        }
        let n = n.strip_prefix("git::").unwrap_or(n);
        let (host, path, whole) = if let Some(rest) = n.strip_prefix("file://") {
            ("file://".to_string(), rest, true)
        } else if let Some((scheme, rest)) = ["https://", "http://", "ssh://"]
            .iter()
            .find_map(|s| n.strip_prefix(s).map(|r| (*s, r)))
        {
            let (authority, path) = rest
                .split_once('/')
                .ok_or_else(|| bad("no repository path after the host"))?;
            (format!("{scheme}{authority}/"), path, false)
        } else if let Some(rest) = n.strip_prefix("git@") {
            let (host, path) = rest
                .split_once(':')
                .ok_or_else(|| bad("expected git@host:org/repo"))?;
            (format!("git@{host}:"), path, false)
        } else if let Some(path) = n.strip_prefix("github.com/") {
            ("https://github.com/".to_string(), path, false)
        } else {
            return Err(bad(
                "no scheme (https://, ssh://, git@, file://) or github.com/",
            ));
        };
        let (repo, root) = if let Some((repo, root)) = path.split_once("//") {
            (repo.to_string(), root.to_string())
        } else if let Some(i) = path.find(".git/") {
            (path[..i + 4].to_string(), path[i + 5..].to_string())
        } else if whole || path.ends_with(".git") {
            (path.to_string(), String::new())
        } else {
            let mut parts = path.splitn(3, '/');
            match (parts.next(), parts.next()) {
                (Some(org), Some(name)) if !org.is_empty() && !name.is_empty() => (
                    format!("{org}/{name}"),
                    parts.next().unwrap_or("").to_string(),
                ),
                _ => return Err(bad("the path needs an organisation and a repository")),
            }
        };
        if repo.is_empty() {
            return Err(bad("no repository path"));
        }
        spec.clone_url = format!("{host}{repo}");
        spec.kust_root = root.trim_matches('/').to_string();
        Ok(spec)
    }
}

/// `?timeout=`: whole seconds, or a Go duration of `h`/`m`/`s`/`ms` parts.
fn parse_timeout(v: &str) -> Option<Duration> {
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = v;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .filter(|&i| i > 0)?;
        let n: f64 = rest[..digits].parse().ok()?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            _ => return None,
        };
        total += Duration::from_secs_f64(n * scale);
        rest = &rest[unit_len..];
    }
    Some(total)
}

/// Fetches the repository at the spec's ref into a new temporary directory (removed when
/// the returned value is dropped).
pub fn fetch(spec: &RepoSpec) -> Result<tempfile::TempDir, RemoteError> {
    let dir = tempfile::Builder::new()
        .prefix("kustomize-")
        .tempdir()
        .map_err(RemoteError::TempDir)?;
    let deadline = Instant::now() + spec.timeout;
    let git_ref = spec.git_ref.as_deref().unwrap_or("HEAD");
    run(dir.path(), &["init", "--quiet"], deadline)?;
    run(
        dir.path(),
        &["fetch", "--depth=1", &spec.clone_url, git_ref],
        deadline,
    )?;
    run(dir.path(), &["checkout", "--quiet", "FETCH_HEAD"], deadline)?;
    if spec.submodules {
        run(
            dir.path(),
            &["submodule", "update", "--init", "--recursive"],
            deadline,
        )?;
    }
    Ok(dir)
}

fn run(dir: &Path, args: &[&str], deadline: Instant) -> Result<(), RemoteError> {
    let fail = |message: String| RemoteError::Git {
        args: args.join(" "),
        message,
    };
    let mut child = Command::new("git")
        .args(args)
        .current_dir(dir)
        // Never wait for a password on a terminal: fail instead.
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| fail(format!("{e} (is git installed?)")))?;
    let status = loop {
        match child.try_wait().map_err(|e| fail(e.to_string()))? {
            Some(status) => break status,
            None if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(
                    "timed out (raise it with ?timeout= on the URL)".to_string(),
                ));
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    if status.success() {
        return Ok(());
    }
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        let _ = e.read_to_string(&mut stderr);
    }
    Err(fail(format!("{}: {status}", stderr.trim())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(url: &str) -> (String, String, Option<String>) {
        let s = RepoSpec::parse(url).expect("parses");
        (s.clone_url, s.kust_root, s.git_ref)
    }

    #[test]
    fn url_forms() {
        let s = |x: &str| x.to_string();
        assert_eq!(
            parsed("https://host.example/org/repo//deploy/base?ref=v1"),
            (
                s("https://host.example/org/repo"),
                s("deploy/base"),
                Some(s("v1"))
            )
        );
        assert_eq!(
            parsed("github.com/org/repo/deploy?ref=main&timeout=90s"),
            (
                s("https://github.com/org/repo"),
                s("deploy"),
                Some(s("main"))
            )
        );
        assert_eq!(
            parsed("git@github.com:org/repo.git/deploy?version=v2"),
            (s("git@github.com:org/repo.git"), s("deploy"), Some(s("v2")))
        );
        assert_eq!(
            parsed("git::https://h/org/repo"),
            (s("https://h/org/repo"), s(""), None)
        );
        assert_eq!(
            parsed("file:///srv/git/repo//base?ref=v1"),
            (s("file:///srv/git/repo"), s("base"), Some(s("v1")))
        );
        assert_eq!(
            RepoSpec::parse("https://h/r?timeout=1m30s")
                .map(|s| s.timeout)
                .ok(),
            None,
            "one segment is not org/repo"
        );
        assert_eq!(
            RepoSpec::parse("https://h/o/r?timeout=1m30s&submodules=false")
                .map(|s| (s.timeout, s.submodules))
                .ok(),
            Some((Duration::from_secs(90), false))
        );
        for bad in ["/abs/path", "relative/dir", "https://host", "git@host"] {
            assert!(RepoSpec::parse(bad).is_err(), "{bad}");
        }
    }
}
