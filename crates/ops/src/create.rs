//! Objects built from `create` flags, as `flux create` builds them, and the `--export` stream
//! (`---` before each object, keys sorted, a blank line after each: what `flux create --export`
//! prints).

use std::collections::BTreeMap;
use std::time::Duration;

use flotilla_api::format_go_duration;
use serde_json::{json, Map, Value};

/// A flag value or combination that cannot make an object.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// A required flag is missing.
    #[error("{0} is required")]
    Missing(&'static str),
    /// A flag has a value that cannot be used.
    #[error("invalid {flag} {value:?}: {reason}")]
    Invalid {
        /// The flag.
        flag: &'static str,
        /// Its value.
        value: String,
        /// Why, and what to use instead.
        reason: String,
    },
    /// Flags that do not go together.
    #[error("{0}")]
    Conflict(String),
}

/// Name, namespace and labels of the object to create.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    pub namespace: String,
    /// `--label key=value` pairs.
    pub labels: BTreeMap<String, String>,
}

/// Parses `--label key=value` flags.
pub fn parse_labels(flags: &[String]) -> Result<BTreeMap<String, String>, CreateError> {
    let mut labels = BTreeMap::new();
    for f in flags {
        match f.split_once('=') {
            Some((k, v)) if !k.is_empty() => {
                labels.insert(k.to_string(), v.to_string());
            }
            _ => {
                return Err(CreateError::Invalid {
                    flag: "--label",
                    value: f.clone(),
                    reason: "expected key=value".to_string(),
                })
            }
        }
    }
    Ok(labels)
}

fn metadata(meta: &Meta) -> Value {
    let mut m = Map::new();
    if !meta.labels.is_empty() {
        m.insert("labels".into(), json!(meta.labels));
    }
    m.insert("name".into(), json!(meta.name));
    m.insert("namespace".into(), json!(meta.namespace));
    Value::Object(m)
}

pub(crate) fn object(api_version: &str, kind: &str, meta: &Meta, spec: Value) -> Value {
    json!({"apiVersion": api_version, "kind": kind, "metadata": metadata(meta), "spec": spec})
}

/// `create source git` flags.
#[derive(Debug, Clone, Default)]
pub struct GitSourceOptions {
    /// `--url` (ssh, http, https or file).
    pub url: String,
    /// `--branch`.
    pub branch: Option<String>,
    /// `--tag`.
    pub tag: Option<String>,
    /// `--tag-semver`.
    pub semver: Option<String>,
    /// `--ref-name`.
    pub ref_name: Option<String>,
    /// `--commit`.
    pub commit: Option<String>,
    /// `--secret-ref`.
    pub secret_ref: Option<String>,
    /// `--interval`.
    pub interval: Duration,
    /// `--fetch-timeout`.
    pub timeout: Option<Duration>,
    /// `--recurse-submodules`.
    pub recurse_submodules: bool,
    /// `--ignore-paths` (joined with newlines into `spec.ignore`).
    pub ignore_paths: Vec<String>,
}

/// A GitRepository as `flux create source git` makes it.
pub fn git_repository(meta: &Meta, o: &GitSourceOptions) -> Result<Value, CreateError> {
    if o.url.is_empty() {
        return Err(CreateError::Missing("--url"));
    }
    let scheme = o.url.split_once("://").map(|(s, _)| s).unwrap_or("");
    // file:// is not in Flux's CLI, but Flotilla's controller fetches local repositories
    // (dev clusters, tests), and the CRD accepts the scheme.
    if !matches!(scheme, "ssh" | "http" | "https" | "file") {
        return Err(CreateError::Invalid {
            flag: "--url",
            value: o.url.clone(),
            reason: "the scheme must be ssh, http, https or file (e.g. ssh://git@host/org/repo)"
                .to_string(),
        });
    }
    let mut reference = Map::new();
    if let Some(commit) = &o.commit {
        reference.insert("commit".into(), json!(commit));
        if let Some(b) = &o.branch {
            reference.insert("branch".into(), json!(b));
        }
    } else if let Some(name) = &o.ref_name {
        reference.insert("name".into(), json!(name));
    } else if let Some(semver) = &o.semver {
        reference.insert("semver".into(), json!(semver));
    } else if let Some(tag) = &o.tag {
        reference.insert("tag".into(), json!(tag));
    } else if let Some(b) = &o.branch {
        reference.insert("branch".into(), json!(b));
    } else {
        return Err(CreateError::Missing(
            "a Git ref (--branch, --tag, --commit, --ref-name or --tag-semver)",
        ));
    }
    let mut spec = Map::new();
    spec.insert("interval".into(), json!(format_go_duration(o.interval)));
    spec.insert("ref".into(), Value::Object(reference));
    spec.insert("url".into(), json!(o.url));
    if o.recurse_submodules {
        spec.insert("recurseSubmodules".into(), json!(true));
    }
    if !o.ignore_paths.is_empty() {
        spec.insert("ignore".into(), json!(o.ignore_paths.join("\n")));
    }
    if let Some(t) = o.timeout.filter(|t| !t.is_zero()) {
        spec.insert("timeout".into(), json!(format_go_duration(t)));
    }
    if let Some(s) = &o.secret_ref {
        spec.insert("secretRef".into(), json!({"name": s}));
    }
    Ok(object(
        "source.toolkit.fluxcd.io/v1",
        "GitRepository",
        meta,
        Value::Object(spec),
    ))
}

/// `create kustomization` flags.
#[derive(Debug, Clone, Default)]
pub struct KustomizationOptions {
    /// `--source [Kind/]name[.namespace]` (kind defaults to GitRepository).
    pub source: String,
    /// `--path`, must start with `./`.
    pub path: String,
    /// `--prune`.
    pub prune: bool,
    /// `--interval`.
    pub interval: Duration,
    /// `--retry-interval`.
    pub retry_interval: Option<Duration>,
    /// `--health-check-timeout`.
    pub timeout: Option<Duration>,
    /// `--depends-on [namespace/]name`.
    pub depends_on: Vec<String>,
    /// `--target-namespace`.
    pub target_namespace: Option<String>,
    /// `--service-account`.
    pub service_account: Option<String>,
    /// `--wait`.
    pub wait: bool,
}

/// A Kustomization as `flux create kustomization` makes it.
pub fn kustomization(meta: &Meta, o: &KustomizationOptions) -> Result<Value, CreateError> {
    if o.source.is_empty() {
        return Err(CreateError::Missing("--source"));
    }
    let (kind, rest) = match o.source.split_once('/') {
        Some((k, r)) => (k.to_string(), r),
        None => ("GitRepository".to_string(), o.source.as_str()),
    };
    if !matches!(kind.as_str(), "GitRepository" | "OCIRepository" | "Bucket") {
        return Err(CreateError::Invalid {
            flag: "--source",
            value: o.source.clone(),
            reason: "the kind must be GitRepository, OCIRepository or Bucket".to_string(),
        });
    }
    let (name, namespace) = match rest.split_once('.') {
        Some((n, ns)) => (n, Some(ns)),
        None => (rest, None),
    };
    if name.is_empty() {
        return Err(CreateError::Invalid {
            flag: "--source",
            value: o.source.clone(),
            reason: "expected [Kind/]name[.namespace]".to_string(),
        });
    }
    let path = if o.path.is_empty() {
        "./"
    } else {
        o.path.as_str()
    };
    if !path.starts_with("./") {
        return Err(CreateError::Invalid {
            flag: "--path",
            value: path.to_string(),
            reason: "the path must begin with ./ (relative to the source root)".to_string(),
        });
    }
    let mut source_ref = Map::new();
    source_ref.insert("kind".into(), json!(kind));
    source_ref.insert("name".into(), json!(name));
    if let Some(ns) = namespace {
        source_ref.insert("namespace".into(), json!(ns));
    }
    let mut spec = Map::new();
    spec.insert("interval".into(), json!(format_go_duration(o.interval)));
    spec.insert("path".into(), json!(path));
    spec.insert("prune".into(), json!(o.prune));
    spec.insert("sourceRef".into(), Value::Object(source_ref));
    if !o.depends_on.is_empty() {
        let deps: Vec<Value> = o
            .depends_on
            .iter()
            .map(|d| match d.split_once('/') {
                Some((ns, n)) => json!({"name": n, "namespace": ns}),
                None => json!({"name": d}),
            })
            .collect();
        spec.insert("dependsOn".into(), Value::Array(deps));
    }
    if let Some(t) = o.retry_interval.filter(|t| !t.is_zero()) {
        spec.insert("retryInterval".into(), json!(format_go_duration(t)));
    }
    if let Some(t) = o.timeout.filter(|t| !t.is_zero()) {
        spec.insert("timeout".into(), json!(format_go_duration(t)));
    }
    if let Some(ns) = &o.target_namespace {
        spec.insert("targetNamespace".into(), json!(ns));
    }
    if let Some(sa) = &o.service_account {
        spec.insert("serviceAccountName".into(), json!(sa));
    }
    if o.wait {
        spec.insert("wait".into(), json!(true));
    }
    Ok(object(
        "kustomize.toolkit.fluxcd.io/v1",
        "Kustomization",
        meta,
        Value::Object(spec),
    ))
}

/// `create image repository` flags.
#[derive(Debug, Clone, Default)]
pub struct ImageRepositoryOptions {
    /// `--image`.
    pub image: String,
    /// `--interval`.
    pub interval: Duration,
    /// `--secret-ref`.
    pub secret_ref: Option<String>,
    /// `--cert-ref`.
    pub cert_secret_ref: Option<String>,
    /// `--scan-timeout`.
    pub timeout: Option<Duration>,
    /// `--provider` (generic, aws, azure, gcp).
    pub provider: Option<String>,
}

/// An ImageRepository as `flux create image repository` makes it.
pub fn image_repository(meta: &Meta, o: &ImageRepositoryOptions) -> Result<Value, CreateError> {
    if o.image.is_empty() {
        return Err(CreateError::Missing("--image"));
    }
    if o.image.contains(':') && !o.image.rsplit('/').next().unwrap_or("").is_empty() {
        let last = o.image.rsplit('/').next().unwrap_or("");
        if last.contains(':') || last.contains('@') {
            return Err(CreateError::Invalid {
                flag: "--image",
                value: o.image.clone(),
                reason: "give the repository without a tag or digest (e.g. ghcr.io/org/app)"
                    .to_string(),
            });
        }
    }
    let mut spec = Map::new();
    spec.insert("image".into(), json!(o.image));
    spec.insert("interval".into(), json!(format_go_duration(o.interval)));
    if let Some(t) = o.timeout.filter(|t| !t.is_zero()) {
        spec.insert("timeout".into(), json!(format_go_duration(t)));
    }
    if let Some(s) = &o.secret_ref {
        spec.insert("secretRef".into(), json!({"name": s}));
    }
    if let Some(s) = &o.cert_secret_ref {
        spec.insert("certSecretRef".into(), json!({"name": s}));
    }
    if let Some(p) = &o.provider {
        if !matches!(p.as_str(), "generic" | "aws" | "azure" | "gcp") {
            return Err(CreateError::Invalid {
                flag: "--provider",
                value: p.clone(),
                reason: "use generic, aws, azure or gcp".to_string(),
            });
        }
        spec.insert("provider".into(), json!(p));
    }
    Ok(object(
        "image.toolkit.fluxcd.io/v1",
        "ImageRepository",
        meta,
        Value::Object(spec),
    ))
}

/// `create image policy` flags.
#[derive(Debug, Clone, Default)]
pub struct ImagePolicyOptions {
    /// `--image-ref`: the ImageRepository.
    pub image_ref: String,
    /// `--select-semver RANGE`.
    pub semver: Option<String>,
    /// `--select-numeric asc|desc`.
    pub numeric: Option<String>,
    /// `--select-alpha asc|desc`.
    pub alpha: Option<String>,
    /// `--filter-regex`.
    pub filter_regex: Option<String>,
    /// `--filter-extract`.
    pub filter_extract: Option<String>,
}

/// An ImagePolicy as `flux create image policy` makes it.
pub fn image_policy(meta: &Meta, o: &ImagePolicyOptions) -> Result<Value, CreateError> {
    if o.image_ref.is_empty() {
        return Err(CreateError::Missing("--image-ref"));
    }
    let order = |flag: &'static str, v: &String| -> Result<Value, CreateError> {
        if v == "asc" || v == "desc" {
            Ok(json!({"order": v}))
        } else {
            Err(CreateError::Invalid {
                flag,
                value: v.clone(),
                reason: "use asc or desc".to_string(),
            })
        }
    };
    let chosen = [o.semver.is_some(), o.numeric.is_some(), o.alpha.is_some()]
        .iter()
        .filter(|b| **b)
        .count();
    if chosen > 1 {
        return Err(CreateError::Conflict(
            "give only one of --select-semver, --select-numeric and --select-alpha".to_string(),
        ));
    }
    let policy = if let Some(range) = &o.semver {
        json!({"semver": {"range": range}})
    } else if let Some(v) = &o.numeric {
        json!({"numerical": order("--select-numeric", v)?})
    } else if let Some(v) = &o.alpha {
        json!({"alphabetical": order("--select-alpha", v)?})
    } else {
        return Err(CreateError::Missing(
            "a policy (--select-semver, --select-numeric or --select-alpha)",
        ));
    };
    let mut spec = Map::new();
    spec.insert("imageRepositoryRef".into(), json!({"name": o.image_ref}));
    spec.insert("policy".into(), policy);
    match (&o.filter_regex, &o.filter_extract) {
        (Some(pattern), extract) => {
            if let Err(e) = regex::Regex::new(pattern) {
                return Err(CreateError::Invalid {
                    flag: "--filter-regex",
                    value: pattern.clone(),
                    reason: e
                        .to_string()
                        .lines()
                        .last()
                        .unwrap_or("")
                        .trim()
                        .to_string(),
                });
            }
            // Flux's TagFilter fields are not omitempty: an absent extract is written as "".
            spec.insert(
                "filterTags".into(),
                json!({"pattern": pattern, "extract": extract.clone().unwrap_or_default()}),
            );
        }
        (None, Some(_)) => {
            return Err(CreateError::Conflict(
                "--filter-extract needs --filter-regex".to_string(),
            ))
        }
        (None, None) => {}
    }
    Ok(object(
        "image.toolkit.fluxcd.io/v1",
        "ImagePolicy",
        meta,
        Value::Object(spec),
    ))
}

/// `create image update` flags.
#[derive(Debug, Clone, Default)]
pub struct ImageUpdateOptions {
    /// `--git-repo-ref`: the GitRepository to update.
    pub git_repo_ref: String,
    /// `--git-repo-namespace`.
    pub git_repo_namespace: Option<String>,
    /// `--git-repo-path`: where the marked files are.
    pub git_repo_path: Option<String>,
    /// `--checkout-branch`.
    pub checkout_branch: Option<String>,
    /// `--push-branch`.
    pub push_branch: Option<String>,
    /// `--author-name`.
    pub author_name: String,
    /// `--author-email`.
    pub author_email: String,
    /// `--commit-template`.
    pub commit_template: Option<String>,
    /// `--interval`.
    pub interval: Duration,
}

/// An ImageUpdateAutomation as `flux create image update` makes it.
pub fn image_update(meta: &Meta, o: &ImageUpdateOptions) -> Result<Value, CreateError> {
    if o.git_repo_ref.is_empty() {
        return Err(CreateError::Missing("--git-repo-ref"));
    }
    if o.author_email.is_empty() {
        return Err(CreateError::Missing("--author-email"));
    }
    let mut author = Map::new();
    author.insert("email".into(), json!(o.author_email));
    if !o.author_name.is_empty() {
        author.insert("name".into(), json!(o.author_name));
    }
    let mut commit = Map::new();
    commit.insert("author".into(), Value::Object(author));
    if let Some(t) = &o.commit_template {
        commit.insert("messageTemplate".into(), json!(t));
    }
    let mut git = Map::new();
    git.insert("commit".into(), Value::Object(commit));
    if let Some(b) = &o.checkout_branch {
        git.insert("checkout".into(), json!({"ref": {"branch": b}}));
    }
    if let Some(b) = &o.push_branch {
        git.insert("push".into(), json!({"branch": b}));
    }
    let mut source_ref = Map::new();
    source_ref.insert("kind".into(), json!("GitRepository"));
    source_ref.insert("name".into(), json!(o.git_repo_ref));
    if let Some(ns) = &o.git_repo_namespace {
        source_ref.insert("namespace".into(), json!(ns));
    }
    let mut update = Map::new();
    update.insert("strategy".into(), json!("Setters"));
    if let Some(p) = &o.git_repo_path {
        update.insert("path".into(), json!(p));
    }
    let spec = json!({
        "git": git,
        "interval": format_go_duration(o.interval),
        "sourceRef": source_ref,
        "update": update,
    });
    Ok(object(
        "image.toolkit.fluxcd.io/v1",
        "ImageUpdateAutomation",
        meta,
        spec,
    ))
}

/// `create secret git` inputs (file contents already read by the caller).
#[derive(Debug, Clone, Default)]
pub struct GitSecretOptions {
    /// `--url`: decides between SSH and HTTP(S) credentials.
    pub url: String,
    /// `--username` (HTTPS; CodeCommit's Git credentials user).
    pub username: Option<String>,
    /// `--password` (HTTPS password, or the SSH key's passphrase).
    pub password: Option<String>,
    /// The private key (`--private-key-file`) for SSH.
    pub private_key: Option<String>,
    /// The matching public key, when found beside the private key.
    pub public_key: Option<String>,
    /// known_hosts lines for the SSH host (`--known-hosts-file`).
    pub known_hosts: Option<String>,
    /// CA bundle (`--ca-file`) for HTTPS.
    pub ca: Option<String>,
}

/// A Secret with Git credentials in the keys Flux's source-controller reads.
pub fn git_secret(meta: &Meta, o: &GitSecretOptions) -> Result<Value, CreateError> {
    if o.url.is_empty() {
        return Err(CreateError::Missing("--url"));
    }
    let scheme = o.url.split_once("://").map(|(s, _)| s).unwrap_or("");
    let mut data = BTreeMap::new();
    match scheme {
        "ssh" => {
            let key = o.private_key.as_ref().ok_or(CreateError::Missing(
                "--private-key-file (Git over SSH needs a private key)",
            ))?;
            let hosts = o.known_hosts.as_ref().ok_or(CreateError::Missing(
                "--known-hosts-file (collect it with `ssh-keyscan HOST > known_hosts`)",
            ))?;
            if o.ca.is_some() {
                return Err(CreateError::Conflict(
                    "--ca-file is for HTTPS; Git over SSH checks the host with known_hosts"
                        .to_string(),
                ));
            }
            data.insert("identity", key.clone());
            if let Some(p) = &o.public_key {
                data.insert("identity.pub", p.clone());
            }
            data.insert("known_hosts", hosts.clone());
            if let Some(p) = &o.password {
                data.insert("password", p.clone());
            }
        }
        "http" | "https" => {
            let (Some(u), Some(p)) = (&o.username, &o.password) else {
                return Err(CreateError::Missing(
                    "--username and --password (Git over HTTP/S)",
                ));
            };
            if o.private_key.is_some() {
                return Err(CreateError::Conflict(
                    "--private-key-file is for ssh:// URLs; use --username/--password for HTTPS"
                        .to_string(),
                ));
            }
            data.insert("username", u.clone());
            data.insert("password", p.clone());
            if let Some(ca) = &o.ca {
                data.insert("ca.crt", ca.clone());
            }
        }
        _ => {
            return Err(CreateError::Invalid {
                flag: "--url",
                value: o.url.clone(),
                reason: "the scheme must be ssh, http or https".to_string(),
            })
        }
    }
    Ok(json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata(meta),
        "stringData": data,
    }))
}

/// The `--export` text: each object after a `---` line, followed by an empty line.
pub fn export_stream(objects: &[Value]) -> String {
    let mut out = String::new();
    for o in objects {
        out.push_str("---\n");
        out.push_str(&flotilla_yaml::to_string(o));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(name: &str) -> Meta {
        Meta {
            name: name.into(),
            namespace: "flux-system".into(),
            labels: BTreeMap::new(),
        }
    }

    #[test]
    fn git_source_export_matches_flux_docs_example() {
        // The example printed in Flux's `flux create source git` documentation.
        let o = GitSourceOptions {
            url: "https://github.com/stefanprodan/podinfo".into(),
            branch: Some("master".into()),
            interval: Duration::from_secs(60),
            ..Default::default()
        };
        let obj = git_repository(&meta("podinfo"), &o).expect("valid");
        assert_eq!(
            export_stream(&[obj]),
            "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  \
             name: podinfo\n  namespace: flux-system\nspec:\n  interval: 1m0s\n  ref:\n    \
             branch: master\n  url: https://github.com/stefanprodan/podinfo\n\n"
        );
    }

    #[test]
    fn file_urls_are_accepted_for_local_repositories() {
        let o = GitSourceOptions {
            url: "file:///srv/git/fleet.git".into(),
            branch: Some("main".into()),
            interval: Duration::from_secs(60),
            ..Default::default()
        };
        let obj = git_repository(&meta("fleet"), &o).expect("file:// is accepted");
        assert_eq!(obj["spec"]["url"], "file:///srv/git/fleet.git");
    }

    #[test]
    fn bad_flags_are_refused() {
        let o = GitSourceOptions {
            url: "ftp://x".into(),
            branch: Some("main".into()),
            ..Default::default()
        };
        assert!(git_repository(&meta("x"), &o).is_err());
        let k = KustomizationOptions {
            source: "podinfo".into(),
            path: "kustomize".into(),
            ..Default::default()
        };
        let err = kustomization(&meta("x"), &k).expect_err("path without ./");
        assert!(err.to_string().contains("must begin with ./"), "{err}");
        let p = ImagePolicyOptions {
            image_ref: "app".into(),
            filter_extract: Some("$b".into()),
            semver: Some("1.x".into()),
            ..Default::default()
        };
        assert!(image_policy(&meta("x"), &p).is_err());
        let s = GitSecretOptions {
            url: "https://git-codecommit.eu-west-1.amazonaws.com/v1/repos/r".into(),
            username: Some("u".into()),
            ..Default::default()
        };
        assert!(git_secret(&meta("x"), &s).is_err());
    }
}
