//! The generic reconcile loop on kube-runtime: triggers, suspend, finalizer, conditions, status, events, metrics, scheduling.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use flotilla_api::condition::{reasons, types, FINALIZER};
use flotilla_api::GitRepository;
use flotilla_api::{
    Condition, ConditionStatus, ConditionsExt, FluxObject, FluxStatus, HasConditions,
};
use futures::{FutureExt, StreamExt};
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::runtime::{reflector, watcher, Controller, PredicateConfig, WatchStreamExt};
use kube::{Resource, ResourceExt};
use tokio::sync::watch;
use tracing::Instrument;

use super::events::{EventNote, EventRecorder};
use super::metrics::Metrics;
use super::schedule::{backoff, jittered, FailureCounts, MAX_RETRY_DELAY, MIN_RETRY_DELAY};
use super::status::{patch_status, set_finalizer, status_of, StatusError};
use super::{Failure, Object, Reconciler, Upstream};

/// What every kind's loop shares: the client, the metrics, the replica identity.
#[derive(Clone)]
pub struct Shared {
    /// Client for the watched cluster.
    pub client: kube::Client,
    /// Metrics served on /metrics.
    pub metrics: Arc<Metrics>,
    /// This replica's identity (events' reportingInstance, the lease holder).
    pub identity: String,
}

/// Per-kind loop settings.
#[derive(Debug, Clone)]
pub struct HarnessOptions {
    /// Watch one namespace; `None`: all.
    pub namespace: Option<String>,
    /// Only objects matching this label selector (Flux's sharding, `--watch-label-selector`).
    pub label_selector: Option<String>,
    /// Reconciles running at once for this kind (`--concurrent`).
    pub concurrent: u16,
    /// First retry delay after a failure (doubling up to `max_retry_delay`).
    pub min_retry_delay: Duration,
    /// Longest retry delay.
    pub max_retry_delay: Duration,
}

impl Default for HarnessOptions {
    fn default() -> Self {
        HarnessOptions {
            namespace: None,
            label_selector: None,
            concurrent: 4,
            min_retry_delay: MIN_RETRY_DELAY,
            max_retry_delay: MAX_RETRY_DELAY,
        }
    }
}

struct Ctx<R: Reconciler> {
    reconciler: R,
    client: kube::Client,
    events: EventRecorder,
    metrics: Arc<Metrics>,
    failures: FailureCounts,
    options: HarnessOptions,
    kind: &'static str,
    /// Field manager of status and finalizer writes: `gotk-<controller>`, as Flux names it.
    status_manager: String,
}

/// Why one pass of the harness itself failed (not the kind's work: that is a [`Failure`] on
/// the object's conditions). Retried with backoff.
#[derive(Debug, thiserror::Error)]
pub enum HarnessError {
    /// Writing status or the finalizer failed.
    #[error(transparent)]
    Status(#[from] StatusError),
    /// Cleaning up a deleted object failed.
    #[error("finalize: {0}")]
    Finalize(Failure),
}

/// Runs `reconciler` over its kind until `stop` fires, then lets in-flight reconciles finish.
pub fn spawn<R: Reconciler>(
    reconciler: R,
    shared: Shared,
    options: HarnessOptions,
    stop: watch::Receiver<bool>,
) -> impl Future<Output = ()> + Send {
    spawn_with(reconciler, shared, options, stop, |controller, _, _, _| {
        controller
    })
}

/// As [`spawn`], and also watches the upstream kind `S`: when an `S` object's
/// [`Upstream::upstream_revision`] changes, every object that [`Upstream::follows`] it is
/// reconciled at once (ImagePolicies follow ImageRepository scans, automations follow policies).
pub fn spawn_following<R, S>(
    reconciler: R,
    shared: Shared,
    options: HarnessOptions,
    stop: watch::Receiver<bool>,
) -> impl Future<Output = ()> + Send
where
    R: Upstream<S>,
    S: Object,
{
    spawn_with(
        reconciler,
        shared,
        options,
        stop,
        |controller, ctx, reader, client| {
            let upstream: Api<S> = match &ctx.options.namespace {
                Some(ns) => Api::namespaced(client, ns),
                None => Api::all(client),
            };
            let seen = std::sync::Mutex::new(HashMap::new());
            controller.watches(upstream, watcher::Config::default(), move |src| {
                let revision = ctx.reconciler.upstream_revision(&src);
                if !revision_changed(&src, revision, &seen) {
                    return Vec::new();
                }
                reader
                    .state()
                    .iter()
                    .filter(|obj| ctx.reconciler.follows(obj, &src))
                    .map(|obj| ObjectRef::from_obj(obj.as_ref()))
                    .collect()
            })
        },
    )
}

/// Records `src`'s revision; true when a known object's revision moved to a new value (the
/// first sighting only records: every object is reconciled at start anyway).
fn revision_changed<S: Object>(
    src: &S,
    revision: Option<String>,
    seen: &std::sync::Mutex<HashMap<(String, String), Option<String>>>,
) -> bool {
    let key = (src.namespace().unwrap_or_default(), src.name_any());
    let Ok(mut seen) = seen.lock() else {
        return false;
    };
    match seen.insert(key, revision.clone()) {
        Some(previous) => previous != revision && revision.is_some(),
        None => false,
    }
}

fn spawn_with<R: Reconciler>(
    reconciler: R,
    shared: Shared,
    options: HarnessOptions,
    stop: watch::Receiver<bool>,
    extend: impl FnOnce(
            Controller<R::Object>,
            Arc<Ctx<R>>,
            reflector::Store<R::Object>,
            kube::Client,
        ) -> Controller<R::Object>
        + 'static,
) -> impl Future<Output = ()> + Send {
    let kind: &'static str = Box::leak(
        <R::Object as Resource>::kind(&())
            .into_owned()
            .into_boxed_str(),
    );
    let api: Api<R::Object> = match &options.namespace {
        Some(ns) => Api::namespaced(shared.client.clone(), ns),
        None => Api::all(shared.client.clone()),
    };
    let mut wc = watcher::Config::default();
    if let Some(selector) = &options.label_selector {
        wc = wc.labels(selector);
    }
    let concurrent = options.concurrent.max(1);
    let events = EventRecorder::new(
        shared.client.clone(),
        reconciler.controller_name(),
        shared.identity.clone(),
    );
    let status_manager = format!("gotk-{}", reconciler.controller_name());
    let ctx = Arc::new(Ctx {
        status_manager,
        reconciler,
        client: shared.client.clone(),
        events,
        metrics: shared.metrics.clone(),
        failures: FailureCounts::default(),
        options,
        kind,
    });
    let (reader, writer) = reflector::store();
    let stream = watcher(api, wc)
        .default_backoff()
        // Keep only what reconciling needs: managed fields and the last-applied copy can be
        // larger than the rest of the object.
        .modify(|o: &mut R::Object| {
            o.managed_fields_mut().clear();
            o.annotations_mut()
                .remove("kubectl.kubernetes.io/last-applied-configuration");
        })
        .reflect(writer)
        .applied_objects()
        .predicate_filter(trigger_hash::<R::Object>, PredicateConfig::default());
    let stopped = |mut stop: watch::Receiver<bool>| async move {
        while !*stop.borrow() {
            if stop.changed().await.is_err() {
                break;
            }
        }
    };
    let shutdown = stopped(stop.clone());
    // kube-runtime holds the reconcile runner until the first list succeeds and only ends
    // once the runner does: with the kind's CRD missing the list never succeeds, so a
    // graceful shutdown would wait forever. Nothing can be in flight then: stop at once.
    let unsynced_stop = {
        let reader = reader.clone();
        async move {
            stopped(stop).await;
            if reader.wait_until_ready().now_or_never().is_none() {
                return;
            }
            std::future::pending::<()>().await
        }
    };
    let mut controller = Controller::for_stream(stream, reader.clone())
        .with_config(kube::runtime::Config::default().concurrency(concurrent));
    if ctx.reconciler.watches_git_sources() {
        let sources: Api<GitRepository> = match &ctx.options.namespace {
            Some(ns) => Api::namespaced(shared.client.clone(), ns),
            None => Api::all(shared.client.clone()),
        };
        let ctx = ctx.clone();
        let reader = reader.clone();
        let seen = std::sync::Mutex::new(HashMap::new());
        controller = controller.watches(sources, watcher::Config::default(), move |repo| {
            dependents_on_new_revision(&repo, &seen, &reader, &ctx.reconciler)
        });
    }
    controller = extend(controller, ctx.clone(), reader, shared.client.clone());
    async move {
        tracing::info!(kind, concurrent, "starting reconciler");
        let run = controller
            .graceful_shutdown_on(shutdown)
            .run(reconcile::<R>, error_policy::<R>, ctx)
            .for_each(|result| {
                if let Err(e) = result {
                    tracing::debug!(kind, error = %e, "controller");
                }
                futures::future::ready(())
            });
        tokio::select! {
            _ = run => tracing::info!(kind, "reconciler stopped"),
            _ = unsynced_stop => tracing::info!(kind, "reconciler stopped before its first list (is the CRD installed?)"),
        }
    }
}

/// The objects to reconcile because `repo` has a new artifact revision: those whose
/// [`Reconciler::git_source`] names it. The first sighting of a source only records its
/// revision (every object is reconciled at start anyway); a later change triggers.
fn dependents_on_new_revision<R: Reconciler>(
    repo: &GitRepository,
    seen: &std::sync::Mutex<HashMap<(String, String), Option<String>>>,
    store: &reflector::Store<R::Object>,
    reconciler: &R,
) -> Vec<ObjectRef<R::Object>> {
    let key = (repo.namespace().unwrap_or_default(), repo.name_any());
    let revision = repo
        .status
        .as_ref()
        .and_then(|s| s.artifact.as_ref())
        .map(|a| a.revision.clone());
    let changed = revision_changed(repo, revision, seen);
    if !changed {
        return Vec::new();
    }
    store
        .state()
        .iter()
        .filter(|obj| reconciler.git_source(obj).as_ref() == Some(&key))
        .map(|obj| ObjectRef::from_obj(obj.as_ref()))
        .collect()
}

/// What makes a watch event worth a reconcile, as Flux's predicates: a new generation, a new
/// `reconcile.fluxcd.io/requestedAt`, deletion. Status and metadata-only writes (including our
/// own) do not trigger.
fn trigger_hash<K: Object>(obj: &K) -> Option<u64> {
    let mut h = DefaultHasher::new();
    obj.meta().generation.hash(&mut h);
    flotilla_api::reconcile::requested_at(obj.meta().annotations.as_ref()).hash(&mut h);
    obj.meta().deletion_timestamp.is_some().hash(&mut h);
    Some(h.finish())
}

fn error_policy<R: Reconciler>(
    obj: Arc<R::Object>,
    err: &HarnessError,
    ctx: Arc<Ctx<R>>,
) -> Action {
    let ns = obj.namespace().unwrap_or_default();
    let name = obj.name_any();
    let n = ctx.failures.fail(&ns, &name);
    let delay = backoff(n, ctx.options.min_retry_delay, ctx.options.max_retry_delay);
    tracing::warn!(kind = ctx.kind, namespace = %ns, name = %name, error = %err, retry_in = ?delay, "reconcile error");
    ctx.metrics.count_result(ctx.kind, "error");
    Action::requeue(delay)
}

async fn reconcile<R: Reconciler>(
    obj: Arc<R::Object>,
    ctx: Arc<Ctx<R>>,
) -> Result<Action, HarnessError> {
    let ns = obj.namespace().unwrap_or_default();
    let name = obj.name_any();
    let span = tracing::info_span!("reconcile", kind = ctx.kind, namespace = %ns, name = %name);
    reconcile_inner(obj, ctx, ns, name).instrument(span).await
}

async fn reconcile_inner<R: Reconciler>(
    obj: Arc<R::Object>,
    ctx: Arc<Ctx<R>>,
    ns: String,
    name: String,
) -> Result<Action, HarnessError> {
    let api: Api<R::Object> = Api::namespaced(ctx.client.clone(), &ns);
    let has_finalizer = obj.finalizers().iter().any(|f| f == FINALIZER);

    if obj.meta().deletion_timestamp.is_some() {
        if has_finalizer {
            ctx.reconciler
                .finalize(&obj)
                .await
                .map_err(HarnessError::Finalize)?;
            set_finalizer(&api, obj.as_ref(), &ctx.status_manager, FINALIZER, false).await?;
            tracing::info!("finalized");
        }
        ctx.metrics.forget(ctx.kind, &ns, &name);
        ctx.failures.clear(&ns, &name);
        return Ok(Action::await_change());
    }
    if obj.suspended() {
        tracing::info!("suspended: not reconciling");
        ctx.metrics.record_suspend(ctx.kind, &ns, &name, true);
        return Ok(Action::await_change());
    }
    if ctx.reconciler.uses_finalizer() && !has_finalizer {
        set_finalizer(&api, obj.as_ref(), &ctx.status_manager, FINALIZER, true).await?;
    }

    let mut obj = (*obj).clone();
    let mut written = status_of(&obj)?;
    let old_ready = obj.condition(types::READY).cloned();
    if let Some(requested) = obj.pending_reconcile_request().map(str::to_string) {
        obj.set_last_handled_reconcile_at(Some(requested));
    }
    let generation = obj.meta().generation;
    if obj.observed_generation() != generation || old_ready.is_none() {
        let message = match (obj.observed_generation(), generation) {
            (Some(o), Some(g)) if o > 0 => format!("processing object: new generation {o} -> {g}"),
            _ => "reconciliation in progress".to_string(),
        };
        obj.mark_reconciling(reasons::PROGRESSING, &message);
        obj.mark_unknown(types::READY, reasons::PROGRESSING, &message);
        let now = status_of(&obj)?;
        patch_status(&api, &obj, &ctx.status_manager, &written, &now).await?;
        written = now;
    }

    let started = Instant::now();
    let result = ctx.reconciler.reconcile(&mut obj).await;
    let elapsed = started.elapsed();

    let (action, event) = match result {
        Ok(success) => {
            obj.remove_condition(types::RECONCILING);
            obj.remove_condition(types::STALLED);
            obj.mark_true(types::READY, &success.reason, &success.message);
            obj.set_observed_generation(generation);
            ctx.failures.clear(&ns, &name);
            let next = success
                .requeue_after
                .or_else(|| obj.interval().and_then(|i| i.to_std().ok()).map(jittered));
            tracing::info!(elapsed = ?elapsed, next = ?next, "{}", success.message);
            ctx.metrics.count_result(ctx.kind, "success");
            let event = success.event.or_else(|| {
                ready_changed(old_ready.as_ref(), &obj)
                    .then(|| EventNote::normal(&success.reason, &success.message))
            });
            (
                next.map_or_else(Action::await_change, Action::requeue),
                event,
            )
        }
        Err(failure) if failure.stalled => {
            obj.mark_false(types::READY, &failure.reason, &failure.message);
            obj.mark_stalled(&failure.reason, &failure.message);
            obj.set_observed_generation(generation);
            tracing::error!(reason = %failure.reason, "stalled: {}", failure.message);
            ctx.metrics.count_result(ctx.kind, "error");
            let event = ready_changed(old_ready.as_ref(), &obj)
                .then(|| EventNote::warning(&failure.reason, &failure.message));
            (Action::await_change(), event)
        }
        Err(failure) => {
            obj.remove_condition(types::STALLED);
            obj.mark_false(types::READY, &failure.reason, &failure.message);
            obj.mark_true(
                types::RECONCILING,
                reasons::PROGRESSING_WITH_RETRY,
                &failure.message,
            );
            let n = ctx.failures.fail(&ns, &name);
            let delay = failure
                .retry_after
                .or_else(|| ctx.reconciler.retry_interval(&obj))
                .unwrap_or_else(|| {
                    backoff(n, ctx.options.min_retry_delay, ctx.options.max_retry_delay)
                });
            if failure.waiting {
                tracing::info!(reason = %failure.reason, retry_in = ?delay, "{}", failure.message);
            } else {
                tracing::error!(reason = %failure.reason, retry_in = ?delay, "{}", failure.message);
            }
            ctx.metrics.count_result(ctx.kind, "error");
            let event = ready_changed(old_ready.as_ref(), &obj)
                .then(|| EventNote::warning(&failure.reason, &failure.message));
            (Action::requeue(delay), event)
        }
    };
    let now = status_of(&obj)?;
    patch_status(&api, &obj, &ctx.status_manager, &written, &now).await?;
    if let Some(event) = event {
        ctx.events.publish(&obj, &event).await;
    }
    ctx.metrics
        .record_reconcile(ctx.kind, &ns, &name, elapsed, obj.conditions());
    Ok(action)
}

/// Whether Ready's status, reason or message differ from before the reconcile.
fn ready_changed<K: FluxStatus>(before: Option<&Condition>, obj: &K) -> bool {
    let after = obj.condition(types::READY);
    match (before, after) {
        (Some(b), Some(a)) => {
            b.status != a.status || b.reason != a.reason || b.message != a.message
        }
        (None, Some(a)) => a.status != ConditionStatus::Unknown,
        _ => false,
    }
}
