//! The ImagePolicy reconciler: the latest tag of the ImageRepository's stored scan by semver, numerical or alphabetical order, re-evaluated on every new scan.

use std::future::Future;

use flotilla_api::condition::reasons;
use flotilla_api::image::{ImagePolicy, ImageRef, ImageRepository, SortOrder};
use flotilla_image::{FilterSpec, Order, Policy, PolicyError, Rule, TagStore};
use kube::api::Api;
use kube::ResourceExt;

use crate::runtime::{EventNote, Failure, Reconciler, Success, Upstream};

/// Condition reason of a policy whose spec cannot be compiled.
const INVALID_POLICY: &str = "InvalidPolicy";

/// Selects the latest image of each ImagePolicy from the [`TagStore`].
pub struct ImagePolicyReconciler {
    client: kube::Client,
    store: TagStore,
}

impl ImagePolicyReconciler {
    /// A reconciler reading scans from `store` (the one the ImageRepository reconciler writes).
    pub fn new(client: kube::Client, store: TagStore) -> ImagePolicyReconciler {
        ImagePolicyReconciler { client, store }
    }
}

impl Reconciler for ImagePolicyReconciler {
    type Object = ImagePolicy;

    fn controller_name(&self) -> &'static str {
        "image-reflector-controller"
    }

    fn reconcile<'a>(
        &'a self,
        obj: &'a mut ImagePolicy,
    ) -> impl Future<Output = Result<Success, Failure>> + Send + 'a {
        self.select(obj)
    }
}

impl Upstream<ImageRepository> for ImagePolicyReconciler {
    fn upstream_revision(&self, src: &ImageRepository) -> Option<String> {
        let scan = src.status.as_ref()?.last_scan_result.as_ref()?;
        Some(format!(
            "{}@{:?}",
            scan.revision.as_deref().unwrap_or_default(),
            scan.scan_time.as_ref().map(|t| t.0)
        ))
    }

    fn follows(&self, obj: &ImagePolicy, src: &ImageRepository) -> bool {
        let r = &obj.spec.image_repository_ref;
        let ns = r.namespace.clone().or_else(|| obj.namespace());
        r.name == src.name_any() && ns == src.namespace()
    }
}

/// `spec.policy` and `spec.filterTags` as a compiled [`Policy`]; errors stall.
pub(crate) fn compile(obj: &ImagePolicy) -> Result<Policy, Failure> {
    let order = |o: Option<SortOrder>| match o {
        Some(SortOrder::Desc) => Order::Desc,
        _ => Order::Asc,
    };
    let p = &obj.spec.policy;
    let rule = match (&p.semver, &p.alphabetical, &p.numerical) {
        (Some(s), None, None) => Rule::SemVer(s.range.clone()),
        (None, Some(a), None) => Rule::Alphabetical(order(a.order)),
        (None, None, Some(n)) => Rule::Numerical(order(n.order)),
        _ => {
            return Err(Failure::stalled(
                INVALID_POLICY,
                "spec.policy: set exactly one of semver, alphabetical, numerical",
            ))
        }
    };
    let filter = obj.spec.filter_tags.as_ref().map(|f| FilterSpec {
        pattern: f.pattern.clone(),
        extract: f.extract.clone(),
    });
    Policy::new(&rule, filter.as_ref()).map_err(|e| Failure::stalled(INVALID_POLICY, e.to_string()))
}

impl ImagePolicyReconciler {
    async fn select(&self, obj: &mut ImagePolicy) -> Result<Success, Failure> {
        let policy = compile(obj)?;
        let r = &obj.spec.image_repository_ref;
        let repo_ns = r
            .namespace
            .clone()
            .or_else(|| obj.namespace())
            .unwrap_or_default();
        let repos: Api<ImageRepository> = Api::namespaced(self.client.clone(), &repo_ns);
        let repo = repos.get_opt(&r.name).await.map_err(|e| {
            Failure::retry(
                reasons::DEPENDENCY_NOT_READY,
                format!("cannot read ImageRepository '{repo_ns}/{}': {e}", r.name),
            )
        })?;
        let Some(repo) = repo else {
            return Err(Failure::retry(
                reasons::DEPENDENCY_NOT_READY,
                format!(
                    "referenced ImageRepository '{repo_ns}/{}' not found",
                    r.name
                ),
            ));
        };
        let scanned = repo.status.as_ref().and_then(|s| {
            s.last_scan_result
                .as_ref()
                .and(s.canonical_image_name.clone())
        });
        let Some(canonical) = scanned else {
            return Err(Failure::retry(
                reasons::DEPENDENCY_NOT_READY,
                format!(
                    "ImageRepository '{repo_ns}/{}' has not been scanned yet",
                    r.name
                ),
            ));
        };
        let tags = self
            .store
            .tags(&canonical)
            .map_err(|e| Failure::retry(reasons::READ_OPERATION_FAILED, e.to_string()))?;
        let selection = policy
            .latest(tags.iter().map(String::as_str))
            .map_err(|e| match e {
                PolicyError::InvalidRange(_) | PolicyError::InvalidPattern { .. } => {
                    Failure::stalled(INVALID_POLICY, e.to_string())
                }
                _ => Failure::retry(
                    reasons::RECONCILIATION_FAILED,
                    format!(
                        "ImagePolicy '{}/{}' cannot determine the latest tag of '{}': {e}",
                        obj.namespace().unwrap_or_default(),
                        obj.name_any(),
                        repo.spec.image
                    ),
                ),
            })?;

        let status = obj.status.get_or_insert_with(Default::default);
        let old = status.latest_ref.clone();
        let previous = selection.previous(
            old.as_ref().map(|r| r.tag.as_str()),
            status
                .observed_previous_ref
                .as_ref()
                .map(|r| r.tag.as_str()),
        );
        let name = repo.spec.image.clone();
        // The old latestRef when the choice changed now, else whatever was recorded before.
        status.observed_previous_ref = match previous {
            None => None,
            Some(tag) if old.as_ref().is_some_and(|o| o.tag == tag) => old.clone(),
            Some(_) => status.observed_previous_ref.clone(),
        };
        status.latest_ref = Some(ImageRef {
            name: name.clone(),
            tag: selection.tag.clone(),
            digest: None,
        });
        let message = format!("Latest image tag for {name} resolved to {}", selection.tag);
        let success = Success::new(reasons::SUCCEEDED, &message);
        Ok(match old {
            Some(o) if o.tag == selection.tag => success,
            Some(o) => success.with_event(EventNote::normal(
                reasons::SUCCEEDED,
                format!(
                    "Latest image tag for {name} updated from {} to {}",
                    o.tag, selection.tag
                ),
            )),
            None => success.with_event(EventNote::normal(reasons::SUCCEEDED, &message)),
        })
    }
}
