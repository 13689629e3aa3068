//! The GitRepository reconciler (source-controller's job): fetch, archive, publish `status.artifact`, serve it.

mod server;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use flotilla_api::condition::{reasons, types};
use flotilla_api::source::{GitCheckout, GitRepositoryInclude};
use flotilla_api::{Artifact, ConditionsExt, GitRepository};
use flotilla_source::{
    redact, ArchiveOptions, ArtifactOwner, Credentials, ExtractOptions, FetchError, FetchOptions,
    FetchOutcome, GitRef, GitSource, GitUrl, Include, Storage,
};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::api::Api;
use kube::ResourceExt;

use crate::runtime::{EventNote, Failure, Reconciler, Success};

pub use server::serve_artifact;

/// Flux's event metadata key carrying the artifact revision.
const REVISION_ANNOTATION: &str = "source.toolkit.fluxcd.io/revision";

/// Reconciles GitRepositories into artifacts under a [`Storage`].
pub struct GitRepositoryReconciler {
    client: kube::Client,
    storage: Storage,
    cache_root: PathBuf,
    base_url: String,
    retention: usize,
}

impl GitRepositoryReconciler {
    /// A reconciler storing artifacts in `storage`, Git caches under `cache_root`, and
    /// advertising artifact URLs under `base_url` (`http://host:port`).
    pub fn new(
        client: kube::Client,
        storage: Storage,
        cache_root: PathBuf,
        base_url: String,
        retention: usize,
    ) -> GitRepositoryReconciler {
        GitRepositoryReconciler {
            client,
            storage,
            cache_root,
            base_url,
            retention: retention.max(1),
        }
    }

    fn cache_dir(&self, ns: &str, name: &str) -> PathBuf {
        self.cache_root.join("gitrepository").join(ns).join(name)
    }
}

impl Reconciler for GitRepositoryReconciler {
    type Object = GitRepository;

    fn controller_name(&self) -> &'static str {
        "source-controller"
    }

    fn uses_finalizer(&self) -> bool {
        true
    }

    fn reconcile<'a>(
        &'a self,
        obj: &'a mut GitRepository,
    ) -> impl Future<Output = Result<Success, Failure>> + Send + 'a {
        self.reconcile_git(obj)
    }

    async fn finalize<'a>(&'a self, obj: &'a GitRepository) -> Result<(), Failure> {
        self.remove_artifacts(obj)
    }
}

impl GitRepositoryReconciler {
    fn remove_artifacts(&self, obj: &GitRepository) -> Result<(), Failure> {
        let ns = obj.namespace().unwrap_or_default();
        let name = obj.name_any();
        let owner = ArtifactOwner::git_repository(&ns, &name);
        self.storage
            .remove_all(&owner)
            .map_err(|e| Failure::retry(e.reason(), e.to_string()))?;
        let cache = self.cache_dir(&ns, &name);
        if let Err(e) = std::fs::remove_dir_all(&cache) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(cache = %cache.display(), error = %e, "could not remove the Git cache");
            }
        }
        Ok(())
    }
}

impl GitRepositoryReconciler {
    async fn reconcile_git(&self, obj: &mut GitRepository) -> Result<Success, Failure> {
        let ns = obj.namespace().unwrap_or_default();
        let name = obj.name_any();
        let url = match GitUrl::parse(&obj.spec.url) {
            Ok(u) => u,
            Err(e) => {
                let msg = redact(&e.to_string());
                obj.mark_true(types::FETCH_FAILED, reasons::URL_INVALID, &msg);
                return Err(Failure::stalled(reasons::URL_INVALID, msg));
            }
        };
        if obj.spec.provider() != "generic" {
            let msg = format!(
                "spec.provider '{}' is not supported by Flotilla: use 'generic' with a secretRef",
                obj.spec.provider()
            );
            obj.mark_true(types::FETCH_FAILED, reasons::AUTHENTICATION_FAILED, &msg);
            return Err(Failure::stalled(reasons::AUTHENTICATION_FAILED, msg));
        }
        let timeout = obj
            .spec
            .timeout()
            .map_err(|e| Failure::stalled(reasons::FAILED, format!("spec.timeout: {e}")))?;
        let credentials = match self.credentials(obj, &ns, &url).await {
            Ok(c) => c,
            Err(msg) => {
                obj.mark_true(types::FETCH_FAILED, reasons::AUTHENTICATION_FAILED, &msg);
                return Err(Failure::retry(reasons::AUTHENTICATION_FAILED, msg));
            }
        };
        let includes = match self.includes(obj, &ns).await {
            Ok(i) => {
                obj.remove_condition(types::INCLUDE_UNAVAILABLE);
                i
            }
            Err((reason, msg)) => {
                obj.mark_true(types::INCLUDE_UNAVAILABLE, reason, &msg);
                return Err(Failure::retry(reason, msg));
            }
        };
        let included: Vec<Artifact> = includes.iter().map(|(_, a)| a.clone()).collect();
        let current = obj.status.as_ref().and_then(|s| s.artifact.clone());
        let status = obj.status.clone().unwrap_or_default();
        let spec_include = obj.spec.include.clone().filter(|i| !i.is_empty());
        let artifact_ok = current
            .as_ref()
            .is_some_and(|a| self.storage.exists(&to_source_artifact(a)))
            && status.observed_ignore == obj.spec.ignore
            && status.observed_include.clone().filter(|i| !i.is_empty()) == spec_include
            && digests(status.included_artifacts.as_deref().unwrap_or_default())
                == digests(&included);

        let source = GitSource {
            url: obj.spec.url.clone(),
            reference: git_ref(obj.spec.checkout()),
            credentials,
        };
        let options = FetchOptions {
            cache_dir: Some(self.cache_dir(&ns, &name)),
            last_revision: artifact_ok
                .then(|| current.as_ref().map(|a| a.revision.clone()))
                .flatten(),
            timeout,
        };
        let fetched = tokio::task::spawn_blocking(move || source.fetch(&options))
            .await
            .map_err(|e| {
                Failure::retry(reasons::GIT_OPERATION_FAILED, format!("fetch task: {e}"))
            })?;
        let checkout = match fetched {
            Err(e) => return Err(fetch_failed(obj, &e)),
            Ok(FetchOutcome::Unchanged(revision)) => {
                obj.remove_condition(types::FETCH_FAILED);
                obj.remove_condition(types::ARTIFACT_OUTDATED);
                obj.remove_condition(types::STORAGE_OPERATION_FAILED);
                let msg = format!("stored artifact for revision '{revision}'");
                obj.mark_true(types::ARTIFACT_IN_STORAGE, reasons::SUCCEEDED, &msg);
                return Ok(Success::new(reasons::SUCCEEDED, msg));
            }
            Ok(FetchOutcome::Fetched(checkout)) => checkout,
        };
        obj.remove_condition(types::FETCH_FAILED);
        let revision = checkout.revision.to_string();
        if current.as_ref().is_some_and(|a| !a.has_revision(&revision)) {
            obj.mark_true(
                types::ARTIFACT_OUTDATED,
                reasons::NEW_REVISION,
                &format!("new upstream revision '{revision}'"),
            );
        }

        let storage = self.storage.clone();
        let owner = ArtifactOwner::git_repository(&ns, &name);
        let archive_options = ArchiveOptions {
            ignore: obj.spec.ignore.clone(),
            ..ArchiveOptions::default()
        };
        let include_specs = includes.clone();
        let rev = revision.clone();
        let archived = tokio::task::spawn_blocking(move || {
            archive(
                &storage,
                &owner,
                &rev,
                checkout.dir(),
                &archive_options,
                &include_specs,
            )
        })
        .await
        .map_err(|e| {
            Failure::retry(
                reasons::ARCHIVE_OPERATION_FAILED,
                format!("archive task: {e}"),
            )
        })?;
        let stored = match archived {
            Ok(a) => a,
            Err(msg) => {
                obj.mark_true(
                    types::STORAGE_OPERATION_FAILED,
                    reasons::ARCHIVE_OPERATION_FAILED,
                    &msg,
                );
                return Err(Failure::retry(reasons::ARCHIVE_OPERATION_FAILED, msg));
            }
        };
        let owner = ArtifactOwner::git_repository(&ns, &name);
        if let Err(e) = self
            .storage
            .garbage_collect(&owner, self.retention, Some(&stored))
        {
            tracing::warn!(error = %e, "garbage collection of old artifacts failed");
        }
        let unchanged_file = current
            .as_ref()
            .is_some_and(|a| a.digest == stored.digest && a.revision == stored.revision);
        let artifact = Artifact {
            path: stored.path.clone(),
            url: stored.url(&self.base_url),
            revision: stored.revision.clone(),
            digest: stored.digest.clone(),
            // Same bytes as before (ignore rules or includes changed nothing): keep the old time.
            last_update_time: match (&current, unchanged_file) {
                (Some(a), true) => a.last_update_time.clone(),
                _ => time(stored.last_update_time),
            },
            size: i64::try_from(stored.size).ok(),
            metadata: None,
        };
        let status = obj.status.get_or_insert_with(Default::default);
        status.artifact = Some(artifact);
        status.observed_ignore = obj.spec.ignore.clone();
        status.observed_include = obj.spec.include.clone();
        status.included_artifacts = (!included.is_empty()).then_some(included);
        obj.remove_condition(types::ARTIFACT_OUTDATED);
        obj.remove_condition(types::STORAGE_OPERATION_FAILED);
        let msg = format!("stored artifact for revision '{revision}'");
        obj.mark_true(types::ARTIFACT_IN_STORAGE, reasons::SUCCEEDED, &msg);
        let mut success = Success::new(reasons::SUCCEEDED, msg);
        if !unchanged_file {
            success = success.with_event(
                EventNote::normal(
                    "NewArtifact",
                    format!("stored artifact for commit '{revision}'"),
                )
                .with_metadata(REVISION_ANNOTATION, &revision),
            );
        }
        Ok(success)
    }

    /// Reads `spec.secretRef`; the error message names the secret and key, never a value.
    async fn credentials(
        &self,
        obj: &GitRepository,
        ns: &str,
        url: &GitUrl,
    ) -> Result<Credentials, String> {
        let Some(secret_ref) = &obj.spec.secret_ref else {
            return Ok(Credentials::none());
        };
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), ns);
        let secret = match secrets.get_opt(&secret_ref.name).await {
            Ok(Some(s)) => s,
            Ok(None) => {
                return Err(format!(
                    "failed to get secret '{ns}/{}': secrets \"{}\" not found",
                    secret_ref.name, secret_ref.name
                ))
            }
            Err(e) => {
                return Err(format!(
                    "failed to get secret '{ns}/{}': {e}",
                    secret_ref.name
                ))
            }
        };
        let data = crate::runtime::secret_bytes(secret);
        Credentials::from_secret(&format!("{ns}/{}", secret_ref.name), &data, url)
            .map_err(|e| e.to_string())
    }

    /// The artifacts of `spec.include`, with where they go. Error: (reason, message).
    async fn includes(
        &self,
        obj: &GitRepository,
        ns: &str,
    ) -> Result<Vec<(GitRepositoryInclude, Artifact)>, (&'static str, String)> {
        let Some(includes) = obj.spec.include.as_ref().filter(|i| !i.is_empty()) else {
            return Ok(Vec::new());
        };
        let api: Api<GitRepository> = Api::namespaced(self.client.clone(), ns);
        let mut out = Vec::new();
        for include in includes {
            let other = &include.repository.name;
            let repo = api.get_opt(other).await.map_err(|e| {
                (
                    "NotFound",
                    format!("could not get resource for include '{other}': {e}"),
                )
            })?;
            let Some(repo) = repo else {
                return Err((
                    "NotFound",
                    format!("could not get resource for include '{other}': GitRepository {ns}/{other} not found"),
                ));
            };
            let Some(artifact) = repo.status.and_then(|s| s.artifact) else {
                return Err((
                    "NoArtifact",
                    format!("no artifact available for include '{other}'"),
                ));
            };
            out.push((include.clone(), artifact));
        }
        Ok(out)
    }
}

/// FetchFailed=True with the error's reason; the message is scrubbed once more of URL credentials.
fn fetch_failed(obj: &mut GitRepository, e: &FetchError) -> Failure {
    let msg = redact(&e.to_string());
    obj.mark_true(types::FETCH_FAILED, e.reason(), &msg);
    if matches!(e, FetchError::InvalidUrl(_)) {
        Failure::stalled(e.reason(), msg)
    } else {
        Failure::retry(e.reason(), msg)
    }
}

/// Archives the checkout, with included artifacts staged at their `toPath` first.
fn archive(
    storage: &Storage,
    owner: &ArtifactOwner,
    revision: &str,
    checkout: &Path,
    options: &ArchiveOptions,
    includes: &[(GitRepositoryInclude, Artifact)],
) -> Result<flotilla_source::Artifact, String> {
    if includes.is_empty() {
        return storage
            .archive(owner, revision, checkout, options)
            .map_err(|e| e.to_string());
    }
    let scratch = tempfile::tempdir().map_err(|e| format!("include: temp dir: {e}"))?;
    let mut staged = Vec::new();
    for (i, (include, artifact)) in includes.iter().enumerate() {
        let file = storage
            .local_path(&artifact.path)
            .map_err(|e| e.to_string())?;
        let dest = scratch.path().join(format!("include-{i}"));
        let extract = ExtractOptions {
            expected_digest: Some(artifact.digest.clone()),
            ..ExtractOptions::default()
        };
        flotilla_source::extract(&file, &dest, &extract)
            .map_err(|e| format!("include '{}': {e}", include.repository.name))?;
        let tree = flotilla_source::from_path(&dest, include.from_path.as_deref().unwrap_or(""))
            .map_err(|e| e.to_string())?;
        staged.push(Include {
            tree,
            to_path: include.to_path().to_string(),
        });
    }
    let staging = scratch.path().join("staging");
    flotilla_source::stage_includes(checkout, &staged, &staging).map_err(|e| e.to_string())?;
    storage
        .archive(owner, revision, &staging, options)
        .map_err(|e| e.to_string())
}

fn git_ref(checkout: GitCheckout<'_>) -> GitRef {
    match checkout {
        GitCheckout::Commit { sha, branch } => GitRef::Commit {
            sha: sha.to_string(),
            branch: branch.map(str::to_string),
        },
        GitCheckout::Name(n) => GitRef::Name(n.to_string()),
        GitCheckout::SemVer(r) => GitRef::Semver(r.to_string()),
        GitCheckout::Tag(t) => GitRef::Tag(t.to_string()),
        GitCheckout::Branch(b) => GitRef::Branch(b.to_string()),
    }
}

fn digests(artifacts: &[Artifact]) -> Vec<&str> {
    artifacts.iter().map(|a| a.digest.as_str()).collect()
}

fn to_source_artifact(a: &Artifact) -> flotilla_source::Artifact {
    flotilla_source::Artifact {
        path: a.path.clone(),
        revision: a.revision.clone(),
        digest: a.digest.clone(),
        size: a.size.and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
        last_update_time: SystemTime::UNIX_EPOCH,
    }
}

/// A storage time as the API writes it (whole seconds).
fn time(t: SystemTime) -> Time {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let ts =
        Timestamp::from_second(i64::try_from(secs).unwrap_or(0)).unwrap_or(Timestamp::UNIX_EPOCH);
    Time(ts)
}
