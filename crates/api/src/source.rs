//! `source.toolkit.fluxcd.io/v1`: GitRepository and the Artifact every source publishes.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::condition::Condition;
use crate::duration::GoDuration;
use crate::refs::LocalObjectReference;

/// API group of the source kinds.
pub const GROUP: &str = "source.toolkit.fluxcd.io";
/// Served version.
pub const VERSION: &str = "v1";

/// Fetches a Git repository and publishes the checked-out tree as an artifact.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "source.toolkit.fluxcd.io",
    version = "v1",
    kind = "GitRepository",
    plural = "gitrepositories",
    namespaced,
    status = "GitRepositoryStatus",
    derive = "PartialEq",
    doc = "GitRepository is a Git source: a repository, a reference to follow and the credentials to fetch it.",
    shortname = "gitrepo",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-sources",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    printcolumn(name = "URL", type_ = "string", json_path = ".spec.url"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].status"#
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].message"#
    )
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [{
    "message": "serviceAccountName can only be set when provider is 'azure' or 'aws'",
    "rule": "!has(self.serviceAccountName) || (has(self.provider) && (self.provider == 'azure' || self.provider == 'aws'))"
}]))]
pub struct GitRepositorySpec {
    /// Repository URL: `http(s)://`, `ssh://` or (Flotilla) `file://`.
    #[schemars(pattern(r"^(http|https|ssh|file)://.*$"))]
    pub url: String,
    /// Secret with credentials: `username`/`password` or `bearerToken` for HTTPS,
    /// `identity` and `known_hosts` for SSH, optionally `ca.crt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// Authentication provider: `generic` (default), `aws`, `azure` or `github`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("enum" = ["generic", "aws", "azure", "github"]))]
    pub provider: Option<String>,
    /// ServiceAccount used to authenticate (only with the `azure` and `aws` providers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// How often to check the repository for changes (approximate; jittered).
    #[schemars(pattern(crate::duration::INTERVAL_PATTERN))]
    pub interval: GoDuration,
    /// Timeout for Git operations; 60s when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(crate::duration::TIMEOUT_PATTERN), extend("default" = "60s"))]
    pub timeout: Option<GoDuration>,
    /// The Git reference to follow; branch `master` when unset.
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub reference: Option<GitRepositoryRef>,
    /// Commit signature verification.
    #[serde(default, rename = "verify", skip_serializing_if = "Option::is_none")]
    pub verify: Option<GitRepositoryVerification>,
    /// Secret with proxy settings (`address`, `username`, `password`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,
    /// Exclusion patterns in `.sourceignore` (gitignore) syntax, replacing the defaults.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<String>,
    /// Stop reconciling this object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
    /// Initialise submodules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurse_submodules: Option<bool>,
    /// Other GitRepositories whose artifacts are copied into this one's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<GitRepositoryInclude>>,
    /// Directories to check out; only these end up in the artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sparse_checkout: Option<Vec<String>>,
}

/// Copies (part of) another GitRepository's artifact into this one.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryInclude {
    /// The GitRepository to include.
    pub repository: LocalObjectReference,
    /// Path in the included artifact to copy from; its root when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_path: Option<String>,
    /// Path to copy to; the included repository's name when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_path: Option<String>,
}

impl GitRepositoryInclude {
    /// Where the included files go: `toPath`, or the included repository's name.
    pub fn to_path(&self) -> &str {
        match self.to_path.as_deref() {
            Some(p) if !p.is_empty() => p,
            _ => &self.repository.name,
        }
    }
}

/// The Git reference to check out. Precedence: commit, name, semver, tag, branch.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GitRepositoryRef {
    /// Branch; `master` when nothing else is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Tag; takes precedence over branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
    /// SemVer range over tags; takes precedence over tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semver: Option<String>,
    /// Full reference name (`refs/heads/main`, `refs/pull/420/head`); takes precedence over
    /// branch, tag and semver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Commit SHA; takes precedence over everything (with a branch: the branch is fetched and the
    /// commit must be on it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

/// The reference to check out, after Flux's precedence rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GitCheckout<'a> {
    /// A commit; with a branch, that branch is fetched and must contain it.
    Commit {
        /// The commit SHA.
        sha: &'a str,
        /// The branch to fetch, if given.
        branch: Option<&'a str>,
    },
    /// A full reference name (`refs/heads/main`, `refs/pull/420/head`).
    Name(&'a str),
    /// The highest tag within a semver range.
    SemVer(&'a str),
    /// A tag.
    Tag(&'a str),
    /// A branch.
    Branch(&'a str),
}

/// The branch Flux checks out when no reference is given.
pub const DEFAULT_BRANCH: &str = "master";

impl GitRepositoryRef {
    /// The reference to check out: commit, then name, semver, tag, branch (empty values count
    /// as unset, as in Flux).
    pub fn checkout(&self) -> GitCheckout<'_> {
        let (branch, tag, semver, name, commit) = (
            non_empty(&self.branch),
            non_empty(&self.tag),
            non_empty(&self.semver),
            non_empty(&self.name),
            non_empty(&self.commit),
        );
        if let Some(sha) = commit {
            return GitCheckout::Commit { sha, branch };
        }
        if let Some(name) = name {
            return GitCheckout::Name(name);
        }
        if let Some(range) = semver {
            return GitCheckout::SemVer(range);
        }
        if let Some(tag) = tag {
            return GitCheckout::Tag(tag);
        }
        GitCheckout::Branch(branch.unwrap_or(DEFAULT_BRANCH))
    }
}

fn non_empty(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|s| !s.is_empty())
}

/// Which Git objects must carry a trusted signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum GitVerificationMode {
    /// The checked-out commit (legacy spelling of `HEAD`).
    #[serde(rename = "head")]
    LegacyHead,
    /// The checked-out commit.
    #[serde(rename = "HEAD")]
    Head,
    /// The tag object.
    Tag,
    /// Both the tag object and the commit it points to.
    TagAndHEAD,
}

/// Commit signature verification settings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryVerification {
    /// What to verify; `HEAD` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "HEAD"))]
    pub mode: Option<GitVerificationMode>,
    /// Secret with trusted public keys (`*.asc` PGP, `*.sshpub` SSH).
    pub secret_ref: LocalObjectReference,
}

/// Observed state of a GitRepository.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GitRepositoryStatus {
    /// Last generation reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Current conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The artifact of the last successful reconcile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact: Option<Artifact>,
    /// Artifacts of the included repositories used for the current artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub included_artifacts: Option<Vec<Artifact>>,
    /// The ignore patterns used for the current artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_ignore: Option<String>,
    /// The submodule setting used for the current artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_recurse_submodules: Option<bool>,
    /// The includes used for the current artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_include: Option<Vec<GitRepositoryInclude>>,
    /// The sparse checkout directories used for the current artifact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_sparse_checkout: Option<Vec<String>>,
    /// The verification mode last used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_verification_mode: Option<String>,
    /// The last `reconcile.fluxcd.io/requestedAt` value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// The output of a source reconcile: a tarball in the controller's storage, served over HTTP.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// Path of the file relative to the storage root.
    pub path: String,
    /// HTTP address the artifact is served at.
    pub url: String,
    /// Upstream revision: `main@sha1:<sha>`, `v1.2.3@sha1:<sha>`, `sha1:<sha>`.
    pub revision: String,
    /// Digest of the file, `<algorithm>:<checksum>` (e.g. `sha256:…`).
    #[schemars(pattern(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$"))]
    pub digest: String,
    /// When the artifact last changed.
    #[schemars(schema_with = "crate::schema::date_time")]
    pub last_update_time: Time,
    /// Size of the file in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// Upstream metadata, e.g. OCI annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
}

impl Artifact {
    /// Whether the artifact holds `revision` (same digest, whatever the revision format).
    pub fn has_revision(&self, revision: &str) -> bool {
        crate::revision::same_revision(&self.revision, revision)
    }
}

impl GitRepositorySpec {
    /// The Git operation timeout (`spec.timeout`, else 60s).
    pub fn timeout(&self) -> Result<std::time::Duration, crate::duration::DurationError> {
        match &self.timeout {
            Some(t) => t.to_std(),
            None => Ok(std::time::Duration::from_secs(60)),
        }
    }

    /// The reference to check out (branch `master` when `ref` is unset).
    pub fn checkout(&self) -> GitCheckout<'_> {
        match &self.reference {
            Some(r) => r.checkout(),
            None => GitCheckout::Branch(DEFAULT_BRANCH),
        }
    }

    /// The authentication provider (`generic` when unset).
    pub fn provider(&self) -> &str {
        self.provider.as_deref().unwrap_or("generic")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(json: serde_json::Value) -> GitRepositoryRef {
        serde_json::from_value(json).expect("a GitRepositoryRef")
    }

    #[test]
    fn checkout_follows_flux_precedence() {
        let all = reference(serde_json::json!({
            "branch": "main", "tag": "v1", "semver": ">=1", "name": "refs/heads/x", "commit": "abc"
        }));
        assert_eq!(
            all.checkout(),
            GitCheckout::Commit {
                sha: "abc",
                branch: Some("main")
            }
        );
        let no_commit = reference(
            serde_json::json!({"branch": "main", "tag": "v1", "semver": ">=1", "name": "refs/heads/x"}),
        );
        assert_eq!(no_commit.checkout(), GitCheckout::Name("refs/heads/x"));
        let semver = reference(serde_json::json!({"branch": "main", "tag": "v1", "semver": ">=1"}));
        assert_eq!(semver.checkout(), GitCheckout::SemVer(">=1"));
        let tag = reference(serde_json::json!({"branch": "main", "tag": "v1", "commit": ""}));
        assert_eq!(tag.checkout(), GitCheckout::Tag("v1"));
        assert_eq!(
            reference(serde_json::json!({})).checkout(),
            GitCheckout::Branch("master")
        );
    }
}
