//! Fetching a GitRepository's reference into a persistent cache: ls-remote first, shallow and incremental fetch, checkout.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tempfile::TempDir;

use crate::auth::{Credentials, SecretError};
use crate::reference::{is_full_sha, GitRef, Revision};
use crate::semver::{Constraints, Version};
use crate::transport::{Failure, Git, GitFailure, RemoteRef};
use crate::url::{GitUrl, Scheme, UrlError};

/// Flux's condition reasons, for [`FetchError::reason`] and friends.
pub mod reason {
    /// Credentials missing, malformed or refused; SSH host key not trusted.
    pub const AUTHENTICATION_FAILED: &str = "AuthenticationFailed";
    /// Any other Git failure: unreachable, missing ref, no matching tag.
    pub const GIT_OPERATION_FAILED: &str = "GitOperationFailed";
    /// Local storage or cache could not be written or read.
    pub const STORAGE_OPERATION_FAILED: &str = "StorageOperationFailed";
}

/// Marker inside the cache's `.git` recording which URL the cache holds.
const CACHE_MARKER: &str = "flotilla-url";
/// Local ref the fetched commit is stored under.
const FETCHED_REF: &str = "refs/flotilla/fetched";

/// A repository and the reference to check out, with its credentials.
/// `Debug` redacts a password written in the URL; use [`crate::redact`] when showing `url`.
#[derive(Clone)]
pub struct GitSource {
    /// Repository URL (`https://`, `http://`, `ssh://`, `user@host:path`, `file://`).
    pub url: String,
    /// What to check out.
    pub reference: GitRef,
    /// Credentials, usually from [`Credentials::from_secret`].
    pub credentials: Credentials,
}

impl std::fmt::Debug for GitSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GitSource")
            .field("url", &crate::url::redact(&self.url))
            .field("reference", &self.reference)
            .field("credentials", &self.credentials)
            .finish()
    }
}

/// How to fetch.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Persistent directory for this repository's clone and worktree; later fetches are
    /// incremental. One fetch at a time per directory (the caller serialises, e.g. one
    /// directory per GitRepository object). `None`: a temporary clone dropped with the result.
    pub cache_dir: Option<PathBuf>,
    /// The revision of the current artifact (`main@sha1:...`): when the remote still points
    /// there, nothing is fetched and [`FetchOutcome::Unchanged`] is returned.
    pub last_revision: Option<String>,
    /// Deadline for each git command (Flux's `spec.timeout`, 60s by default).
    pub timeout: Duration,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            cache_dir: None,
            last_revision: None,
            timeout: Duration::from_secs(60),
        }
    }
}

/// Result of a fetch.
#[derive(Debug)]
pub enum FetchOutcome {
    /// The remote reference still resolves to `last_revision`: no new artifact needed.
    Unchanged(Revision),
    /// A new revision is checked out.
    Fetched(Checkout),
}

/// A checked-out tree (the worktree of the cache; `.git` inside is excluded from artifacts).
#[derive(Debug)]
pub struct Checkout {
    /// What was checked out.
    pub revision: Revision,
    dir: PathBuf,
    _temp: Option<TempDir>,
}

impl Checkout {
    /// The directory holding the checked-out files.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Why a fetch failed. No variant's message contains a secret.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL is malformed or uses an unsupported scheme.
    #[error(transparent)]
    InvalidUrl(#[from] UrlError),
    /// The secret lacks a key or has an unusable value.
    #[error(transparent)]
    InvalidSecret(#[from] SecretError),
    /// The reference itself is malformed (bad semver range, `name` not under `refs/`, short commit).
    #[error("invalid {reference}: {problem}")]
    InvalidReference {
        /// The reference as configured.
        reference: String,
        /// What to fix.
        problem: String,
    },
    /// The server refused the credentials, or needed some and got none.
    #[error("authentication to {url} failed: check the secret's credentials ({detail})")]
    AuthenticationFailed {
        /// Repository URL without credentials.
        url: String,
        /// git's scrubbed diagnostics.
        detail: String,
    },
    /// The SSH server's host key is not in the secret's known_hosts (or differs from it).
    #[error("host key verification for {url} failed: the server's key does not match the secret's known_hosts ({detail})")]
    HostKeyMismatch {
        /// Repository URL.
        url: String,
        /// ssh's scrubbed diagnostics.
        detail: String,
    },
    /// The branch, tag, reference or commit does not exist (or the repository does not).
    #[error("{what} not found in {url}{}", if detail.is_empty() { String::new() } else { format!(" ({detail})") })]
    NotFound {
        /// Repository URL.
        url: String,
        /// `branch 'x'`, `tag 'v1'`, `commit '...'`, `repository`.
        what: String,
        /// git's scrubbed diagnostics, when it said something.
        detail: String,
    },
    /// No tag satisfies the semver range.
    #[error("no tag in {url} matches semver range '{range}' ({seen})")]
    NoMatchingTag {
        /// Repository URL.
        url: String,
        /// The constraint.
        range: String,
        /// Which semver tags exist, to help fix the range.
        seen: String,
    },
    /// DNS, refused connection, TLS failure and the like; worth retrying.
    #[error("cannot reach {url}: {detail}")]
    Unreachable {
        /// Repository URL.
        url: String,
        /// git's scrubbed diagnostics.
        detail: String,
    },
    /// A git command ran past the deadline and was stopped.
    #[error("{operation} on {url} timed out: {detail}")]
    Timeout {
        /// Repository URL.
        url: String,
        /// The git command.
        operation: String,
        /// What git had said so far.
        detail: String,
    },
    /// Any other git failure.
    #[error("{operation} on {url} failed: {detail}")]
    Git {
        /// Repository URL.
        url: String,
        /// The git command.
        operation: String,
        /// git's scrubbed diagnostics.
        detail: String,
    },
    /// The cache directory could not be prepared or used.
    #[error("git cache {}: {problem}", path.display())]
    Cache {
        /// The cache directory.
        path: PathBuf,
        /// What went wrong and what to do.
        problem: String,
    },
}

impl FetchError {
    /// Flux's condition reason for this error.
    pub fn reason(&self) -> &'static str {
        match self {
            FetchError::InvalidSecret(_)
            | FetchError::AuthenticationFailed { .. }
            | FetchError::HostKeyMismatch { .. } => reason::AUTHENTICATION_FAILED,
            FetchError::Cache { .. } => reason::STORAGE_OPERATION_FAILED,
            _ => reason::GIT_OPERATION_FAILED,
        }
    }

    /// Whether retrying later may help (network trouble, timeouts) as opposed to a config fix.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            FetchError::Unreachable { .. } | FetchError::Timeout { .. } | FetchError::Git { .. }
        )
    }
}

/// What the remote reference resolved to, and which remote ref to fetch it by.
struct Target {
    revision: Revision,
    /// Remote ref name to fetch; `None` for a commit fetched by id.
    remote_ref: Option<String>,
}

impl GitSource {
    /// Resolves the reference on the remote and, unless it still matches
    /// `options.last_revision`, fetches it (shallow) and checks it out.
    pub fn fetch(&self, options: &FetchOptions) -> Result<FetchOutcome, FetchError> {
        let url = GitUrl::parse(&self.url)?;
        let mut creds = self.credentials.clone();
        if creds.basic.is_none() && creds.bearer.is_none() && url.scheme() != Scheme::Ssh {
            if let Some(pass) = url.password() {
                creds.basic = Some((url.user().unwrap_or("git").to_string(), pass.to_string()));
            }
        }
        if url.scheme() == Scheme::Ssh && creds.ssh.is_none() {
            return Err(SecretError::MissingKey {
                secret: "(none)".to_string(),
                key: "identity",
                hint: "ssh URLs need a secretRef with 'identity' and 'known_hosts'",
            }
            .into());
        }
        let cache_err = |path: &Path, what: &str, e: io::Error| FetchError::Cache {
            path: path.to_path_buf(),
            problem: format!("{what}: {e}"),
        };
        let git = Git::new(&creds, options.timeout)
            .map_err(|e| cache_err(&std::env::temp_dir(), "cannot create a private temp dir", e))?;
        let target = self.resolve(&git, &url)?;
        if options.last_revision.as_deref() == Some(target.revision.to_string().as_str()) {
            return Ok(FetchOutcome::Unchanged(target.revision));
        }
        let (dir, temp) = match &options.cache_dir {
            Some(d) => (d.clone(), None),
            None => {
                let t = tempfile::Builder::new()
                    .prefix("flotilla-checkout-")
                    .tempdir()
                    .map_err(|e| cache_err(&std::env::temp_dir(), "cannot create a temp dir", e))?;
                (t.path().to_path_buf(), Some(t))
            }
        };
        // A cache left broken (interrupted fetch, disk trouble) is rebuilt once from scratch.
        let mut attempt = 0;
        let revision = loop {
            attempt += 1;
            let fresh = prepare_cache(&git, &dir, &url, attempt > 1)?;
            match self.fetch_into(&git, &dir, &url, &target, fresh) {
                Ok(r) => break r,
                Err(Retry::Cache(_)) if attempt == 1 => continue,
                Err(Retry::Cache(detail)) => {
                    return Err(FetchError::Cache {
                        path: dir,
                        problem: detail,
                    })
                }
                Err(Retry::Fatal(e)) => return Err(e),
            }
        };
        Ok(FetchOutcome::Fetched(Checkout {
            revision,
            dir,
            _temp: temp,
        }))
    }

    fn resolve(&self, git: &Git, url: &GitUrl) -> Result<Target, FetchError> {
        let found = |what: String| FetchError::NotFound {
            url: url.to_string(),
            what,
            detail: String::new(),
        };
        let remote = url.for_git();
        match &self.reference {
            GitRef::Branch(b) => {
                let name = format!("refs/heads/{b}");
                let refs = git
                    .ls_remote(remote, &[&name])
                    .map_err(|f| map_failure(f, url, None))?;
                let sha = exact(&refs, &name).ok_or_else(|| found(format!("branch '{b}'")))?;
                Ok(Target {
                    revision: Revision {
                        name: Some(b.clone()),
                        sha,
                    },
                    remote_ref: Some(name),
                })
            }
            GitRef::Tag(t) => {
                let name = format!("refs/tags/{t}");
                let sha = peeled(git, url, &name)?.ok_or_else(|| found(format!("tag '{t}'")))?;
                Ok(Target {
                    revision: Revision {
                        name: Some(t.clone()),
                        sha,
                    },
                    remote_ref: Some(name),
                })
            }
            GitRef::Name(n) => {
                if !n.starts_with("refs/") {
                    return Err(FetchError::InvalidReference {
                        reference: self.reference.to_string(),
                        problem: "a reference name starts with 'refs/' (refs/heads/main, refs/tags/v1.0.0, refs/pull/1/head)".into(),
                    });
                }
                let sha = peeled(git, url, n)?.ok_or_else(|| found(format!("reference '{n}'")))?;
                Ok(Target {
                    revision: Revision {
                        name: Some(n.clone()),
                        sha,
                    },
                    remote_ref: Some(n.clone()),
                })
            }
            GitRef::Semver(range) => {
                let constraints =
                    Constraints::parse(range).map_err(|e| FetchError::InvalidReference {
                        reference: self.reference.to_string(),
                        problem: e.reason,
                    })?;
                let refs = git
                    .ls_remote(remote, &["refs/tags/*"])
                    .map_err(|f| map_failure(f, url, None))?;
                let (tag, sha, seen) = pick_semver(&refs, &constraints);
                match (tag, sha) {
                    (Some(tag), Some(sha)) => Ok(Target {
                        remote_ref: Some(format!("refs/tags/{tag}")),
                        revision: Revision {
                            name: Some(tag),
                            sha,
                        },
                    }),
                    _ => Err(FetchError::NoMatchingTag {
                        url: url.to_string(),
                        range: range.clone(),
                        seen,
                    }),
                }
            }
            GitRef::Commit { sha, branch } => {
                if !is_full_sha(sha) {
                    return Err(FetchError::InvalidReference {
                        reference: self.reference.to_string(),
                        problem: "give the full commit id (40 hex digits)".into(),
                    });
                }
                if let Some(b) = branch {
                    let name = format!("refs/heads/{b}");
                    let refs = git
                        .ls_remote(remote, &[&name])
                        .map_err(|f| map_failure(f, url, None))?;
                    exact(&refs, &name).ok_or_else(|| found(format!("branch '{b}'")))?;
                }
                Ok(Target {
                    revision: Revision {
                        name: branch.clone(),
                        sha: sha.to_ascii_lowercase(),
                    },
                    remote_ref: None,
                })
            }
        }
    }

    fn fetch_into(
        &self,
        git: &Git,
        dir: &Path,
        url: &GitUrl,
        target: &Target,
        fresh: bool,
    ) -> Result<Revision, Retry> {
        let remote = url.for_git();
        let run = |args: &[&str]| git.run(Some(dir), args);
        let mut revision = target.revision.clone();
        match &target.remote_ref {
            Some(remote_ref) => {
                let refspec = format!("+{remote_ref}:{FETCHED_REF}");
                run(&[
                    "fetch",
                    "--quiet",
                    "--no-tags",
                    "--no-write-fetch-head",
                    "--no-recurse-submodules",
                    "--depth=1",
                    "--",
                    remote,
                    &refspec,
                ])
                .map_err(|f| classify_retry(f, url, Some(&self.reference)))?;
                let peel = format!("{FETCHED_REF}^{{commit}}");
                let out = run(&["rev-parse", "--verify", "--quiet", &peel])
                    .map_err(|f| local_failure(f, url))?;
                // The remote may have moved between ls-remote and fetch: report what we got.
                revision.sha = String::from_utf8_lossy(&out).trim().to_string();
            }
            None => {
                let sha = &target.revision.sha;
                let want = format!("{sha}^{{commit}}");
                let have = |g: &Git| g.run(Some(dir), &["cat-file", "-e", &want]).is_ok();
                if !have(git) {
                    // Servers speaking protocol v2 hand out any reachable commit by id.
                    let direct = run(&[
                        "fetch",
                        "--quiet",
                        "--no-tags",
                        "--no-write-fetch-head",
                        "--no-recurse-submodules",
                        "--depth=1",
                        "--",
                        remote,
                        sha,
                    ]);
                    if let Err(f) = direct {
                        if matches!(
                            f.kind,
                            Failure::Auth
                                | Failure::HostKey
                                | Failure::Unreachable
                                | Failure::Timeout
                        ) {
                            return Err(classify_retry(f, url, Some(&self.reference)));
                        }
                        // Otherwise fetch the branch (or all branches) with history and look there.
                        let refspec = match &target.revision.name {
                            Some(b) => format!("+refs/heads/{b}:{FETCHED_REF}"),
                            None => "+refs/heads/*:refs/flotilla/heads/*".to_string(),
                        };
                        let mut args = vec![
                            "fetch",
                            "--quiet",
                            "--no-tags",
                            "--no-write-fetch-head",
                            "--no-recurse-submodules",
                        ];
                        if dir.join(".git/shallow").exists() {
                            args.push("--unshallow");
                        }
                        args.extend(["--", remote, &refspec]);
                        run(&args).map_err(|f| classify_retry(f, url, Some(&self.reference)))?;
                        if !have(git) {
                            return Err(Retry::Fatal(FetchError::NotFound {
                                url: url.to_string(),
                                what: self.reference.to_string(),
                                detail: String::new(),
                            }));
                        }
                    }
                }
            }
        }
        run(&["checkout", "--quiet", "--force", "--detach", &revision.sha])
            .map_err(|f| local_failure(f, url))?;
        // A reused worktree may hold leftovers of an interrupted run; a new one cannot.
        if !fresh {
            run(&["clean", "-ffdxq"]).map_err(|f| local_failure(f, url))?;
        }
        Ok(revision)
    }
}

/// A local git command failed: a timeout is reported as such, anything else means the cache
/// is damaged and is worth one rebuild.
fn local_failure(f: GitFailure, url: &GitUrl) -> Retry {
    match f.kind {
        Failure::Timeout | Failure::Spawn => Retry::Fatal(map_failure(f, url, None)),
        _ => Retry::Cache(f.detail),
    }
}

/// A failure inside the cache (worth one rebuild) or one to report as is.
enum Retry {
    Cache(String),
    Fatal(FetchError),
}

fn classify_retry(f: GitFailure, url: &GitUrl, reference: Option<&GitRef>) -> Retry {
    match f.kind {
        Failure::Other => Retry::Cache(f.detail),
        _ => Retry::Fatal(map_failure(f, url, reference)),
    }
}

fn map_failure(f: GitFailure, url: &GitUrl, reference: Option<&GitRef>) -> FetchError {
    let url = url.to_string();
    let detail = f.detail;
    match f.kind {
        Failure::Auth => FetchError::AuthenticationFailed { url, detail },
        Failure::HostKey => FetchError::HostKeyMismatch { url, detail },
        Failure::NotFound => FetchError::NotFound {
            url,
            what: reference.map_or_else(|| "repository".to_string(), |r| r.to_string()),
            detail,
        },
        Failure::Unreachable => FetchError::Unreachable { url, detail },
        Failure::Timeout => FetchError::Timeout {
            url,
            operation: f.operation,
            detail,
        },
        Failure::Spawn | Failure::Other => FetchError::Git {
            url,
            operation: f.operation,
            detail,
        },
    }
}

fn exact(refs: &[RemoteRef], name: &str) -> Option<String> {
    refs.iter().find(|r| r.name == name).map(|r| r.sha.clone())
}

/// Resolves a ref, preferring the commit an annotated tag points to.
fn peeled(git: &Git, url: &GitUrl, name: &str) -> Result<Option<String>, FetchError> {
    let peeled_name = format!("{name}^{{}}");
    let refs = git
        .ls_remote(url.for_git(), &[name, &peeled_name])
        .map_err(|f| map_failure(f, url, None))?;
    Ok(exact(&refs, &peeled_name).or_else(|| exact(&refs, name)))
}

/// Picks the highest tag satisfying the range; also describes the semver tags seen.
fn pick_semver(
    refs: &[RemoteRef],
    constraints: &Constraints,
) -> (Option<String>, Option<String>, String) {
    let mut best: Option<(Version, String)> = None;
    let mut count = 0;
    let mut highest: Option<(Version, String)> = None;
    for r in refs {
        let Some(tag) = r.name.strip_prefix("refs/tags/") else {
            continue;
        };
        if tag.ends_with("^{}") {
            continue;
        }
        let Some(v) = Version::parse(tag) else {
            continue;
        };
        count += 1;
        let better = |cur: &Option<(Version, String)>| match cur {
            None => true,
            Some((bv, bt)) => v.precedence(bv).then_with(|| tag.cmp(bt.as_str())).is_gt(),
        };
        if better(&highest) {
            highest = Some((v.clone(), tag.to_string()));
        }
        if constraints.matches(&v) && better(&best) {
            best = Some((v, tag.to_string()));
        }
    }
    let seen = match &highest {
        None => "the repository has no semver tags".to_string(),
        Some((_, t)) => format!("{count} semver tags, highest '{t}'"),
    };
    match best {
        None => (None, None, seen),
        Some((_, tag)) => {
            let name = format!("refs/tags/{tag}");
            let sha = exact(refs, &format!("{name}^{{}}")).or_else(|| exact(refs, &name));
            (Some(tag), sha, seen)
        }
    }
}

/// Makes `dir` a git repository for `url`: reuses it when it already is, rebuilds it when it holds
/// another URL or `fresh` is asked, and refuses to touch a directory that is not a Flotilla cache.
/// Returns whether the repository was newly created.
fn prepare_cache(git: &Git, dir: &Path, url: &GitUrl, fresh: bool) -> Result<bool, FetchError> {
    let err = |problem: String| FetchError::Cache {
        path: dir.to_path_buf(),
        problem,
    };
    let marker = dir.join(".git").join(CACHE_MARKER);
    let ours = fs::read_to_string(&marker).ok();
    if ours.as_deref() == Some(url.for_git()) && !fresh && dir.join(".git/HEAD").is_file() {
        return Ok(false);
    }
    if dir.exists() {
        let empty = fs::read_dir(dir)
            .map_err(|e| err(format!("cannot read it: {e}")))?
            .next()
            .is_none();
        if ours.is_none() && !empty {
            return Err(err(
                "exists and is not a Flotilla git cache; remove it or choose another directory"
                    .into(),
            ));
        }
        if !empty {
            fs::remove_dir_all(dir).map_err(|e| err(format!("cannot clear it: {e}")))?;
        }
    }
    fs::create_dir_all(dir).map_err(|e| err(format!("cannot create it: {e}")))?;
    let path = dir.to_string_lossy();
    git.run(None, &["init", "--quiet", &path])
        .map_err(|f| err(format!("git init failed: {}", f.detail)))?;
    fs::write(&marker, url.for_git())
        .map_err(|e| err(format!("cannot write {CACHE_MARKER}: {e}")))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_url_passwords() {
        let s = GitSource {
            url: "https://bob:hunter22@host/repo".into(),
            reference: GitRef::Branch("main".into()),
            credentials: Credentials::basic("bob", "other-secret"),
        };
        let text = format!("{s:?}");
        assert!(
            !text.contains("hunter22") && !text.contains("other-secret"),
            "{text}"
        );
        assert!(text.contains("https://***@host/repo"), "{text}");
    }
}
