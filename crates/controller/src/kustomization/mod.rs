//! The Kustomization reconciler (kustomize.toolkit.fluxcd.io/v1): dependsOn → source artifact → Flux build → postBuild → staged apply → inventory → prune → health.
//!
//! Each step's failure has Flux's reason on Ready: DependencyNotReady, ArtifactFailed,
//! BuildFailed, ReconciliationFailed (apply), PruneFailed, HealthCheckFailed. Nothing is
//! pruned unless the whole apply succeeded, and the inventory only ever names objects this
//! Kustomization applied. The harness (see `RUNTIME.md`) handles interval, retryInterval,
//! suspend, the finalizer, Ready/Reconciling/Stalled and events.

mod artifact;
mod impersonate;
pub mod plan;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use flotilla_api::kustomize::{DeletionPolicy, SubstituteKind};
use flotilla_api::{
    ConditionsExt, GitRepository, Kustomization, ObjMetadata, ResourceInventory, ResourceRef,
};
use flotilla_apply::{Applier, ApplyOptions, ChangeSet, PruneOptions, WaitOptions};
use flotilla_kustomize::flux;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::Api;
use kube::ResourceExt;

use crate::runtime::{EventNote, Failure, Reconciler, Success};

pub use artifact::{ArtifactError, Fetcher};
pub use impersonate::{client_as, service_account_user};

/// Flux's condition reasons used here.
mod reason {
    pub use flotilla_api::condition::reasons::{
        ARTIFACT_FAILED, BUILD_FAILED, DEPENDENCY_NOT_READY, HEALTH_CHECK_FAILED, PRUNE_FAILED,
        RECONCILIATION_FAILED, RECONCILIATION_SUCCEEDED, SUCCEEDED,
    };
    pub const ACCESS_DENIED: &str = "AccessDenied";
}

/// Settings of the Kustomization reconciler (kustomize-controller's flags).
#[derive(Debug, Clone)]
pub struct KustomizationOptions {
    /// `--requeue-dependency`: retry delay while a dependency is not ready.
    pub requeue_dependency: Duration,
    /// `--default-service-account`: impersonated when a Kustomization names none.
    pub default_service_account: Option<String>,
    /// `--no-cross-namespace-refs`: refuse sources and dependencies in other namespaces.
    pub no_cross_namespace_refs: bool,
    /// `--feature-gates=StrictPostBuildSubstitutions=true`.
    pub strict_substitution: bool,
    /// Requests in flight at once for apply, prune and health checks.
    pub concurrency: usize,
}

impl Default for KustomizationOptions {
    fn default() -> Self {
        KustomizationOptions {
            requeue_dependency: Duration::from_secs(30),
            default_service_account: None,
            no_cross_namespace_refs: false,
            strict_substitution: false,
            concurrency: 8,
        }
    }
}

/// Reconciles Kustomizations on the runtime harness.
pub struct KustomizationReconciler {
    client: kube::Client,
    applier: Applier,
    fetcher: Fetcher,
    checkouts: artifact::Checkouts,
    opts: KustomizationOptions,
}

impl KustomizationReconciler {
    /// A reconciler using `client` for its own reads and (without impersonation) for applying;
    /// `fetcher` says where artifacts come from.
    pub fn new(client: kube::Client, fetcher: Fetcher, opts: KustomizationOptions) -> Self {
        KustomizationReconciler {
            applier: Applier::new(client.clone()),
            client,
            fetcher,
            checkouts: artifact::Checkouts::default(),
            opts,
        }
    }

    /// The applier acting for `k`: remote cluster (`kubeConfig`), impersonated ServiceAccount,
    /// or the controller's own identity.
    async fn applier_for(&self, k: &Kustomization) -> Result<Applier, Failure> {
        let ns = k.namespace().unwrap_or_default();
        let base = match &k.spec.kube_config {
            Some(kc) => self.remote_client(&ns, kc).await?,
            None => self.client.clone(),
        };
        let sa = k
            .spec
            .service_account_name
            .clone()
            .filter(|s| !s.is_empty())
            .or_else(|| self.opts.default_service_account.clone());
        match sa {
            Some(sa) => {
                let user = service_account_user(&ns, &sa);
                let client = client_as(&base, &user).ok_or_else(|| {
                    Failure::stalled(
                        reason::RECONCILIATION_FAILED,
                        format!("serviceAccountName '{sa}' cannot be used as a user name"),
                    )
                })?;
                Ok(Applier::new(client))
            }
            None if k.spec.kube_config.is_some() => Ok(Applier::new(base)),
            None => Ok(self.applier.clone()),
        }
    }

    async fn remote_client(
        &self,
        ns: &str,
        kc: &flotilla_api::kustomize::KubeConfigReference,
    ) -> Result<kube::Client, Failure> {
        let fail = |m: String| Failure::retry(reason::RECONCILIATION_FAILED, m);
        let Some(sref) = &kc.secret_ref else {
            return Err(Failure::stalled(
                reason::RECONCILIATION_FAILED,
                "spec.kubeConfig needs a secretRef (configMapRef is not supported)",
            ));
        };
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), ns);
        let secret = secrets
            .get_opt(&sref.name)
            .await
            .map_err(|e| {
                fail(format!(
                    "cannot read kubeconfig Secret '{ns}/{}': {e}",
                    sref.name
                ))
            })?
            .ok_or_else(|| fail(format!("kubeconfig Secret '{ns}/{}' not found", sref.name)))?;
        let data = secret.data.unwrap_or_default();
        let keys: Vec<String> = match &sref.key {
            Some(k) if !k.is_empty() => vec![k.clone()],
            _ => vec!["value".into(), "value.yaml".into()],
        };
        let raw = keys.iter().find_map(|k| data.get(k)).ok_or_else(|| {
            fail(format!(
                "kubeconfig Secret '{ns}/{}' has no key {}",
                sref.name,
                keys.join(" or ")
            ))
        })?;
        let text = String::from_utf8_lossy(&raw.0);
        let kubeconfig = kube::config::Kubeconfig::from_yaml(&text).map_err(|e| {
            fail(format!(
                "kubeconfig in Secret '{ns}/{}' is invalid: {e}",
                sref.name
            ))
        })?;
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .map_err(|e| {
                fail(format!(
                    "kubeconfig in Secret '{ns}/{}' is unusable: {e}",
                    sref.name
                ))
            })?;
        kube::Client::try_from(config).map_err(|e| {
            fail(format!(
                "cannot connect with kubeconfig '{ns}/{}': {e}",
                sref.name
            ))
        })
    }

    /// Every dependency Ready at its current generation; a cycle is reported as such.
    async fn check_dependencies(&self, k: &Kustomization) -> Result<(), Failure> {
        let Some(deps) = k.spec.depends_on.as_ref().filter(|d| !d.is_empty()) else {
            return Ok(());
        };
        let own_ns = k.namespace().unwrap_or_default();
        for d in deps {
            let ns = d.namespace_or(&own_ns).to_string();
            if self.opts.no_cross_namespace_refs && ns != own_ns {
                return Err(Failure::stalled(
                    reason::ACCESS_DENIED,
                    format!("can't access 'Kustomization/{ns}/{}', cross-namespace references have been blocked", d.name),
                ));
            }
            let api: Api<Kustomization> = Api::namespaced(self.client.clone(), &ns);
            let dep = api.get_opt(&d.name).await.map_err(|e| {
                Failure::retry(
                    reason::DEPENDENCY_NOT_READY,
                    format!("cannot read dependency '{ns}/{}': {e}", d.name),
                )
            })?;
            let ready = dep.as_ref().is_some_and(|dep| {
                dep.condition("Ready")
                    .is_some_and(|c| c.status == flotilla_api::ConditionStatus::True)
                    && dep.status.as_ref().and_then(|s| s.observed_generation)
                        == dep.metadata.generation
            });
            if !ready {
                let waiting = match dep {
                    None => format!("dependency '{ns}/{}' not found", d.name),
                    Some(_) => format!("dependency '{ns}/{}' is not ready", d.name),
                };
                // A cycle never resolves by waiting (an error); an unready dependency
                // usually does (an expected wait, logged at info).
                let failure = match self.cycle(k).await {
                    Some(cycle) => Failure::retry(
                        reason::DEPENDENCY_NOT_READY,
                        format!(
                            "circular dependency: {cycle}; remove one of these dependsOn entries"
                        ),
                    ),
                    None => Failure::retry(reason::DEPENDENCY_NOT_READY, waiting).waiting(),
                };
                return Err(failure.retry_after(self.opts.requeue_dependency));
            }
        }
        Ok(())
    }

    /// The dependsOn cycle through `k`, if any (`ns/a -> ns/b -> ns/a`).
    async fn cycle(&self, k: &Kustomization) -> Option<String> {
        let key = |ns: &str, n: &str| (ns.to_string(), n.to_string());
        let start = key(&k.namespace().unwrap_or_default(), &k.name_any());
        let mut edges = BTreeMap::new();
        let mut todo = vec![(start.clone(), k.spec.depends_on.clone().unwrap_or_default())];
        while let Some((node, deps)) = todo.pop() {
            if edges.contains_key(&node) || edges.len() > 1000 {
                continue;
            }
            let next: Vec<_> = deps
                .iter()
                .map(|d| key(d.namespace_or(&node.0), &d.name))
                .collect();
            edges.insert(node, next.clone());
            for n in next {
                if edges.contains_key(&n) {
                    continue;
                }
                let api: Api<Kustomization> = Api::namespaced(self.client.clone(), &n.0);
                if let Ok(Some(o)) = api.get_opt(&n.1).await {
                    todo.push((n, o.spec.depends_on.unwrap_or_default()));
                }
            }
        }
        plan::find_cycle(&start, &edges).map(|c| {
            c.iter()
                .map(|(ns, n)| format!("{ns}/{n}"))
                .collect::<Vec<_>>()
                .join(" -> ")
        })
    }

    /// The source's artifact URL, digest and revision.
    async fn source(&self, k: &Kustomization) -> Result<(String, String, String), Failure> {
        let own_ns = k.namespace().unwrap_or_default();
        let r = &k.spec.source_ref;
        let ns = r.namespace_or(&own_ns).to_string();
        if r.kind != "GitRepository" {
            return Err(Failure::stalled(
                reason::ARTIFACT_FAILED,
                format!(
                    "source kind '{}' is not supported (GitRepository is)",
                    r.kind
                ),
            ));
        }
        if self.opts.no_cross_namespace_refs && ns != own_ns {
            return Err(Failure::stalled(
                reason::ACCESS_DENIED,
                format!("can't access 'GitRepository/{ns}/{}', cross-namespace references have been blocked", r.name),
            ));
        }
        let api: Api<GitRepository> = Api::namespaced(self.client.clone(), &ns);
        let repo = api
            .get_opt(&r.name)
            .await
            .map_err(|e| {
                Failure::retry(
                    reason::ARTIFACT_FAILED,
                    format!("cannot read source 'GitRepository/{ns}/{}': {e}", r.name),
                )
            })?
            .ok_or_else(|| {
                Failure::retry(
                    reason::ARTIFACT_FAILED,
                    format!("Source 'GitRepository/{ns}/{}' not found", r.name),
                )
            })?;
        let a = repo
            .status
            .as_ref()
            .and_then(|s| s.artifact.as_ref())
            .ok_or_else(|| {
                Failure::retry(
                    reason::ARTIFACT_FAILED,
                    format!(
                        "Source 'GitRepository/{ns}/{}' is not ready, artifact not found",
                        r.name
                    ),
                )
                .waiting()
            })?;
        Ok((a.url.clone(), a.digest.clone(), a.revision.clone()))
    }

    /// `substituteFrom` sources read from the Kustomization's namespace.
    async fn var_sources(&self, k: &Kustomization) -> Result<Vec<plan::VarSource>, Failure> {
        let ns = k.namespace().unwrap_or_default();
        let Some(refs) = k
            .spec
            .post_build
            .as_ref()
            .and_then(|p| p.substitute_from.as_ref())
        else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        for r in refs {
            let optional = r.optional.unwrap_or(false);
            let kind = match r.kind {
                SubstituteKind::ConfigMap => "ConfigMap",
                SubstituteKind::Secret => "Secret",
            };
            let fail = |m: String| {
                Failure::retry(
                    reason::BUILD_FAILED,
                    format!("substitute from '{kind}/{}' error: {m}", r.name),
                )
            };
            let data = match r.kind {
                SubstituteKind::ConfigMap => Api::<ConfigMap>::namespaced(self.client.clone(), &ns)
                    .get_opt(&r.name)
                    .await
                    .map_err(|e| fail(e.to_string()))?
                    .map(|cm| cm.data.unwrap_or_default()),
                SubstituteKind::Secret => Api::<Secret>::namespaced(self.client.clone(), &ns)
                    .get_opt(&r.name)
                    .await
                    .map_err(|e| fail(e.to_string()))?
                    .map(|s| {
                        s.data
                            .unwrap_or_default()
                            .into_iter()
                            .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()))
                            .collect()
                    }),
            };
            if data.is_none() && !optional {
                return Err(fail(format!(
                    "{kind} '{ns}/{}' not found; create it or mark the reference optional",
                    r.name
                )));
            }
            out.push(plan::VarSource {
                kind: r.kind,
                name: r.name.clone(),
                data,
            });
        }
        Ok(out)
    }

    async fn run(&self, k: &mut Kustomization) -> Result<Success, Failure> {
        self.check_dependencies(k).await?;
        let (url, digest, revision) = self.source(k).await?;
        k.status
            .get_or_insert_with(Default::default)
            .last_attempted_revision = Some(revision.clone());

        let checkout = self
            .checkouts
            .get(&self.fetcher, &url, &digest)
            .await
            .map_err(|e| {
                Failure::retry(
                    reason::ARTIFACT_FAILED,
                    flotilla_source::redact(&e.to_string()),
                )
            })?;
        let sources = self.var_sources(k).await?;
        let vars = plan::variables(&k.spec, &sources);
        let build_opts = plan::build_options(&k.spec);
        let common = plan::common_metadata(&k.spec);
        let path = PathBuf::from(k.spec.path.clone().unwrap_or_default());
        let strict = self.opts.strict_substitution;
        let objects =
            tokio::task::spawn_blocking(move || -> Result<Vec<serde_json::Value>, String> {
                let root = checkout.root();
                // Errors name files as paths in the repository, not in our extraction dir.
                let relative = |e: String| {
                    let dir = root.display().to_string();
                    e.replace(&format!("{dir}/"), "").replace(&dir, ".")
                };
                let mut out = flux::build(&root, &path, &build_opts)
                    .map_err(|e| relative(e.to_string()))?
                    .objects;
                if let Some(vars) = vars {
                    flux::substitute(&mut out, &vars, &flux::SubstituteOptions { strict })
                        .map_err(|e| relative(e.to_string()))?;
                }
                if let Some(cm) = common {
                    flux::apply_common_metadata(&mut out, &cm);
                }
                Ok(out)
            })
            .await
            .map_err(|e| Failure::retry(reason::BUILD_FAILED, e.to_string()))?
            .map_err(|e| Failure::retry(reason::BUILD_FAILED, e))?;

        let name = k.name_any();
        let ns = k.namespace().unwrap_or_default();
        let owner = plan::owner_labels(&name, &ns);
        let timeout = k.spec.timeout().unwrap_or(Duration::from_secs(300));
        let applier = self.applier_for(k).await?;
        let apply_opts = ApplyOptions {
            owner_labels: owner.clone(),
            force: k.spec.force.unwrap_or(false),
            concurrency: self.opts.concurrency,
            wait_timeout: timeout,
            ..ApplyOptions::default()
        };
        let a = applier.clone();
        let mut changes = detached(move || async move { a.apply(objects, &apply_opts).await })
            .await
            .map_err(|e| Failure::retry(reason::RECONCILIATION_FAILED, e))?
            .map_err(|e| Failure::retry(reason::RECONCILIATION_FAILED, e.to_string()))?;

        // The apply succeeded as a whole: record it, then remove what Git no longer has.
        let new_inventory: Vec<ResourceRef> = changes.to_inventory();
        let old_inventory = k
            .status
            .as_ref()
            .and_then(|s| s.inventory.as_ref())
            .map(|i| i.entries.clone())
            .unwrap_or_default();
        k.status.get_or_insert_with(Default::default).inventory = Some(ResourceInventory {
            entries: new_inventory.clone(),
        });
        if k.spec.prune {
            let stale = plan::stale(&old_inventory, &new_inventory);
            if !stale.is_empty() {
                let a = applier.clone();
                let prune = PruneOptions {
                    owner_labels: owner.clone(),
                    concurrency: self.opts.concurrency,
                };
                let pruned = detached(move || async move { a.prune(&stale, &prune).await })
                    .await
                    .map_err(|e| Failure::retry(reason::PRUNE_FAILED, e))?
                    .map_err(|e| Failure::retry(reason::PRUNE_FAILED, e.to_string()))?;
                changes.append(pruned);
            }
        }

        self.check_health(k, &applier, &new_inventory, timeout)
            .await?;

        let status = k.status.get_or_insert_with(Default::default);
        status.last_applied_revision = Some(revision.clone());
        let mut success = Success::new(
            reason::RECONCILIATION_SUCCEEDED,
            format!("Applied revision: {revision}"),
        );
        if changes.has_changes() {
            let mut note =
                EventNote::normal(reason::RECONCILIATION_SUCCEEDED, change_text(&changes));
            note.metadata
                .push(("kustomize.toolkit.fluxcd.io/revision".into(), revision));
            success = success.with_event(note);
        }
        Ok(success)
    }

    /// `wait: true` checks every applied object, else `healthChecks`; sets Healthy.
    async fn check_health(
        &self,
        k: &mut Kustomization,
        applier: &Applier,
        inventory: &[ResourceRef],
        timeout: Duration,
    ) -> Result<(), Failure> {
        let own_ns = k.namespace().unwrap_or_default();
        let refs: Vec<ObjMetadata> = if k.spec.wait.unwrap_or(false) {
            inventory.iter().filter_map(|r| r.object().ok()).collect()
        } else {
            k.spec
                .health_checks
                .iter()
                .flatten()
                .map(|h| {
                    ObjMetadata::from_api_version(
                        h.namespace
                            .as_deref()
                            .filter(|n| !n.is_empty())
                            .unwrap_or(&own_ns),
                        &h.name,
                        h.api_version.as_deref().unwrap_or(""),
                        &h.kind,
                    )
                })
                .collect()
        };
        if refs.is_empty() {
            k.status
                .get_or_insert_with(Default::default)
                .conditions
                .retain(|c| c.type_ != "Healthy");
            return Ok(());
        }
        let wait = WaitOptions {
            timeout,
            concurrency: self.opts.concurrency,
            fail_fast: true,
            ..WaitOptions::default()
        };
        let a = applier.clone();
        let waited = detached(move || async move { a.wait(&refs, &wait).await })
            .await
            .map_err(|e| Failure::retry(reason::HEALTH_CHECK_FAILED, e))?;
        match waited {
            Ok(()) => {
                k.mark_true("Healthy", reason::SUCCEEDED, "Health check passed");
                Ok(())
            }
            Err(e) => {
                let message = e.to_string();
                k.mark_false("Healthy", reason::HEALTH_CHECK_FAILED, &message);
                Err(Failure::retry(reason::HEALTH_CHECK_FAILED, message))
            }
        }
    }

    async fn garbage_collect(&self, k: &Kustomization) -> Result<(), Failure> {
        if k.spec.suspend.unwrap_or(false) {
            return Ok(());
        }
        let delete = match k.spec.deletion_policy() {
            DeletionPolicy::MirrorPrune => k.spec.prune,
            DeletionPolicy::Delete | DeletionPolicy::WaitForTermination => true,
            DeletionPolicy::Orphan => false,
        };
        let objects: Vec<ObjMetadata> = k
            .status
            .as_ref()
            .and_then(|s| s.inventory.as_ref())
            .map(|i| i.entries.iter().filter_map(|r| r.object().ok()).collect())
            .unwrap_or_default();
        if !delete || objects.is_empty() {
            return Ok(());
        }
        let applier = self.applier_for(k).await?;
        let owner = plan::owner_labels(&k.name_any(), &k.namespace().unwrap_or_default());
        let prune = PruneOptions {
            owner_labels: owner,
            concurrency: self.opts.concurrency,
        };
        let wait =
            (k.spec.deletion_policy() == DeletionPolicy::WaitForTermination).then(|| WaitOptions {
                timeout: k.spec.timeout().unwrap_or(Duration::from_secs(300)),
                concurrency: self.opts.concurrency,
                ..WaitOptions::default()
            });
        detached(move || async move {
            applier
                .prune(&objects, &prune)
                .await
                .map_err(|e| e.to_string())?;
            if let Some(wait) = wait {
                applier
                    .wait_for_termination(&objects, &wait)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok::<(), String>(())
        })
        .await
        .map_err(|e| Failure::retry(reason::PRUNE_FAILED, e))?
        .map_err(|e| Failure::retry(reason::PRUNE_FAILED, e))
    }
}

/// Runs an applier operation on a blocking-pool thread of its own. The apply crate's futures
/// borrow through stream closures whose `Send` proof rustc cannot make generically (the
/// "FnOnce is not general enough" limitation), and the harness needs `Send` reconcile futures;
/// `block_on` on a pool thread needs neither.
async fn detached<T, F, Fut>(f: F) -> Result<T, String>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = T>,
    T: Send + 'static,
{
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || handle.block_on(f()))
        .await
        .map_err(|e| format!("the apply task stopped: {e}"))
}

/// The change set as Flux's event text (only what changed).
fn change_text(changes: &ChangeSet) -> String {
    changes.to_string()
}

impl Reconciler for KustomizationReconciler {
    type Object = Kustomization;

    fn controller_name(&self) -> &'static str {
        "kustomize-controller"
    }

    fn reconcile<'a>(
        &'a self,
        obj: &'a mut Kustomization,
    ) -> impl std::future::Future<Output = Result<Success, Failure>> + Send + 'a {
        self.run(obj)
    }

    fn uses_finalizer(&self) -> bool {
        true
    }

    fn finalize<'a>(
        &'a self,
        obj: &'a Kustomization,
    ) -> impl std::future::Future<Output = Result<(), Failure>> + Send + 'a {
        self.garbage_collect(obj)
    }

    fn retry_interval(&self, obj: &Kustomization) -> Option<Duration> {
        obj.spec
            .retry_interval
            .as_ref()
            .and_then(|d| d.to_std().ok())
    }

    fn git_source(&self, obj: &Kustomization) -> Option<(String, String)> {
        let r = &obj.spec.source_ref;
        (r.kind == "GitRepository").then(|| {
            let own = obj.namespace().unwrap_or_default();
            (r.namespace_or(&own).to_string(), r.name.clone())
        })
    }

    fn watches_git_sources(&self) -> bool {
        true
    }
}
