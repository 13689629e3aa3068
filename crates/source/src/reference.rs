//! What to check out (Flux's `spec.ref`) and how the fetched revision is written (`main@sha1:<sha>`).

use std::fmt;

/// The reference kinds of a GitRepository's `spec.ref`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitRef {
    /// A branch name (`main`).
    Branch(String),
    /// A tag name (`v1.2.3`); annotated tags resolve to their commit.
    Tag(String),
    /// A Masterminds semver constraint over tag names (`>=1.0.0 <2.0.0`).
    Semver(String),
    /// A full reference name (`refs/heads/main`, `refs/pull/7/head`).
    Name(String),
    /// A commit, optionally looked up on a branch (which also names the revision).
    Commit {
        /// Full hex object id.
        sha: String,
        /// Branch to fetch it from.
        branch: Option<String>,
    },
}

impl GitRef {
    /// Builds the reference from `spec.ref` fields with Flux's precedence:
    /// name, then commit (with branch), then semver, then tag, then branch; `master` when empty.
    pub fn from_spec(
        branch: Option<&str>,
        tag: Option<&str>,
        semver: Option<&str>,
        name: Option<&str>,
        commit: Option<&str>,
    ) -> GitRef {
        let set = |v: Option<&str>| v.filter(|s| !s.is_empty()).map(str::to_string);
        if let Some(n) = set(name) {
            return GitRef::Name(n);
        }
        if let Some(sha) = set(commit) {
            return GitRef::Commit {
                sha,
                branch: set(branch),
            };
        }
        if let Some(s) = set(semver) {
            return GitRef::Semver(s);
        }
        if let Some(t) = set(tag) {
            return GitRef::Tag(t);
        }
        GitRef::Branch(set(branch).unwrap_or_else(|| "master".to_string()))
    }
}

impl fmt::Display for GitRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GitRef::Branch(b) => write!(f, "branch '{b}'"),
            GitRef::Tag(t) => write!(f, "tag '{t}'"),
            GitRef::Semver(s) => write!(f, "semver range '{s}'"),
            GitRef::Name(n) => write!(f, "reference '{n}'"),
            GitRef::Commit { sha, branch: None } => write!(f, "commit '{sha}'"),
            GitRef::Commit {
                sha,
                branch: Some(b),
            } => write!(f, "commit '{sha}' on branch '{b}'"),
        }
    }
}

/// A fetched revision: the symbolic name (branch, tag or full ref) and the commit id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    /// `main`, `v1.2.3`, `refs/heads/main`; `None` for a bare commit.
    pub name: Option<String>,
    /// The commit's hex object id.
    pub sha: String,
}

impl Revision {
    /// Hash algorithm prefix as Flux writes it (`sha1`, or `sha256` for SHA-256 repositories).
    fn algo(&self) -> &'static str {
        if self.sha.len() == 64 {
            "sha256"
        } else {
            "sha1"
        }
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "{n}@{}:{}", self.algo(), self.sha),
            None => write!(f, "{}:{}", self.algo(), self.sha),
        }
    }
}

/// True for a full hex object id (40 for SHA-1, 64 for SHA-256).
pub(crate) fn is_full_sha(s: &str) -> bool {
    (s.len() == 40 || s.len() == 64) && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_and_default() {
        assert_eq!(
            GitRef::from_spec(None, None, None, None, None),
            GitRef::Branch("master".into())
        );
        assert_eq!(
            GitRef::from_spec(Some("main"), Some("v1"), None, None, None),
            GitRef::Tag("v1".into())
        );
        assert_eq!(
            GitRef::from_spec(Some("main"), Some("v1"), Some("1.x"), None, None),
            GitRef::Semver("1.x".into())
        );
        assert!(matches!(
            GitRef::from_spec(Some("main"), None, Some("1.x"), None, Some("abc")),
            GitRef::Commit {
                branch: Some(_),
                ..
            }
        ));
        assert_eq!(
            GitRef::from_spec(Some("main"), None, None, Some("refs/heads/x"), Some("abc")),
            GitRef::Name("refs/heads/x".into())
        );
    }

    #[test]
    fn revision_formats() {
        let sha = "a".repeat(40);
        let r = Revision {
            name: Some("main".into()),
            sha: sha.clone(),
        };
        assert_eq!(r.to_string(), format!("main@sha1:{sha}"));
        let r = Revision { name: None, sha };
        assert!(r.to_string().starts_with("sha1:"));
    }
}
