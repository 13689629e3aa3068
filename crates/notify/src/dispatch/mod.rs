//! The dispatcher: events in, notifications out. Duplicates within the rate-limit window are
//! dropped (Flux's key: object, message, revision, token; Flux's window: 5 minutes); each
//! matching Alert yields one delivery on its own task, retried with exponential backoff,
//! limited per Provider so a slow or dead Provider only holds up its own deliveries.

pub mod alert;
mod metrics;
mod resolver;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kube::ResourceExt;
use tokio::sync::{Notify, Semaphore};

use crate::event::{Event, Severity};
use crate::provider::{Notifier, Sent};
use alert::{RegexCache, Verdict};
use metrics::{bump, Metrics};

pub use metrics::{MetricsSnapshot, ProviderMetrics};
pub use resolver::{KubeResolver, ProviderLookup, ResolveError, Resolver, StaticResolver};

/// How failed deliveries are retried.
#[derive(Clone, Debug)]
pub struct RetryPolicy {
    /// Retries after the first attempt (Flux's HTTP client: 4).
    pub max_retries: u32,
    /// Wait before the first retry; doubles each time (Flux: 2s).
    pub min_backoff: Duration,
    /// Longest wait between attempts (Flux: 30s).
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            min_backoff: Duration::from_secs(2),
            max_backoff: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.min(16));
        self.min_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// Dispatcher settings.
#[derive(Clone, Debug)]
pub struct DispatchOptions {
    /// Equal events within this window are sent once (Flux's `--rate-limit-interval`, 5m).
    pub rate_limit_window: Duration,
    /// Retries of failed deliveries.
    pub retry: RetryPolicy,
    /// Deliveries in flight per Provider.
    pub provider_concurrency: usize,
    /// Deliveries pending or in flight overall; beyond it new ones are dropped and counted.
    pub max_pending: usize,
    /// When the Alert CRD is not installed, how long events are counted and dropped before
    /// the Alerts are listed again (the absence is logged once, not per event).
    pub not_installed_recheck: Duration,
}

impl Default for DispatchOptions {
    fn default() -> Self {
        DispatchOptions {
            rate_limit_window: Duration::from_secs(5 * 60),
            retry: RetryPolicy::default(),
            provider_concurrency: 4,
            max_pending: 1024,
            not_installed_recheck: Duration::from_secs(60),
        }
    }
}

/// What became of a submitted event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Submitted {
    /// Deliveries started, one per matching Alert whose Provider is usable (unusable ones
    /// are logged and counted in [`MetricsSnapshot::resolve_errors`] and as failed for
    /// their Provider).
    Dispatched(usize),
    /// An equal event was sent within the rate-limit window.
    RateLimited,
    /// No Alert takes it.
    NoMatchingAlert,
    /// Trace events are never forwarded.
    Ignored,
    /// The Alert CRD is not installed: no Alert can take it.
    AlertsNotInstalled,
}

/// Why an event could not be dispatched at all.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    /// The Alerts could not be listed; the event was not sent anywhere.
    #[error("event for {object} not dispatched: {source}")]
    Alerts {
        /// `Kind namespace/name` of the involved object.
        object: String,
        /// The lookup error.
        source: ResolveError,
    },
}

struct Inner<R> {
    resolver: R,
    options: DispatchOptions,
    seen: Mutex<Seen>,
    semaphores: Mutex<HashMap<String, Arc<Semaphore>>>,
    regexes: RegexCache,
    metrics: Metrics,
    pending: AtomicUsize,
    idle: Notify,
    /// Set while the Alert CRD is missing: when to list Alerts again.
    not_installed_until: Mutex<Option<Instant>>,
}

/// Rate-limit keys seen are pruned of expired ones once there are more than this.
const PRUNE_AT: usize = 4096;

/// Rate-limit keys: when the event was first seen and the Providers it went to.
struct Seen {
    entries: HashMap<String, (Instant, Vec<String>)>,
    /// Size beyond which expired keys are dropped.
    prune_at: usize,
}

impl Default for Seen {
    fn default() -> Self {
        Seen {
            entries: HashMap::new(),
            prune_at: PRUNE_AT,
        }
    }
}

/// Where an event stands in the rate-limit window.
enum Window {
    /// Not seen within the window: its key (none when rate limiting is off).
    First(Option<String>),
    /// Seen: the Providers the first one went to.
    Duplicate(Vec<String>),
}

/// Matches events to Alerts and delivers them through Providers.
pub struct Dispatcher<R> {
    inner: Arc<Inner<R>>,
}

impl<R> Clone for Dispatcher<R> {
    fn clone(&self) -> Self {
        Dispatcher {
            inner: self.inner.clone(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn describe(event: &Event) -> String {
    let o = &event.involved_object;
    format!(
        "{} {}/{}",
        o.kind.as_deref().unwrap_or(""),
        o.namespace.as_deref().unwrap_or(""),
        o.name.as_deref().unwrap_or("")
    )
}

impl<R: Resolver> Dispatcher<R> {
    /// A dispatcher reading Alerts and Providers from `resolver`. Deliveries run on the
    /// current Tokio runtime.
    pub fn new(resolver: R, options: DispatchOptions) -> Dispatcher<R> {
        Dispatcher {
            inner: Arc::new(Inner {
                resolver,
                options,
                seen: Mutex::new(Seen::default()),
                semaphores: Mutex::new(HashMap::new()),
                regexes: RegexCache::default(),
                metrics: Metrics::default(),
                pending: AtomicUsize::new(0),
                idle: Notify::new(),
                not_installed_until: Mutex::new(None),
            }),
        }
    }

    /// The counters so far.
    pub fn metrics(&self) -> MetricsSnapshot {
        self.inner.metrics.snapshot()
    }

    /// Deliveries not finished yet.
    pub fn pending(&self) -> usize {
        self.inner.pending.load(Ordering::SeqCst)
    }

    /// Waits until every started delivery has finished (succeeded or given up).
    pub async fn wait_idle(&self) {
        loop {
            let notified = self.inner.idle.notified();
            if self.pending() == 0 {
                return;
            }
            notified.await;
        }
    }

    /// Takes an event as a Flux controller posts it (metadata keys prefixed with the involved
    /// object's group) and starts one delivery per matching Alert. Returns once the
    /// deliveries are started, not sent.
    pub async fn submit(&self, mut event: Event) -> Result<Submitted, DispatchError> {
        let inner = &self.inner;
        bump(&inner.metrics.events_received);
        event.strip_group_metadata();
        if event.severity == Severity::Trace {
            bump(&inner.metrics.events_ignored);
            return Ok(Submitted::Ignored);
        }
        let key = match self.rate_limit(&event) {
            Window::Duplicate(providers) => {
                bump(&inner.metrics.events_rate_limited);
                for p in &providers {
                    inner.metrics.provider(p, |m| m.rate_limited += 1);
                }
                tracing::debug!(object = %describe(&event), "discarding event, rate limiting duplicate events");
                return Ok(Submitted::RateLimited);
            }
            Window::First(key) => key,
        };
        if lock(&inner.not_installed_until).is_some_and(|until| Instant::now() < until) {
            bump(&inner.metrics.events_not_installed);
            return Ok(Submitted::AlertsNotInstalled);
        }
        let alerts = match inner.resolver.alerts().await {
            Ok(alerts) => {
                if lock(&inner.not_installed_until).take().is_some() {
                    tracing::info!("the Alert CRD is served again: events are sent to Alerts");
                }
                alerts
            }
            Err(e @ ResolveError::NotInstalled { .. }) => {
                bump(&inner.metrics.events_not_installed);
                let recheck = inner.options.not_installed_recheck;
                let was = lock(&inner.not_installed_until).replace(Instant::now() + recheck);
                if was.is_none() {
                    tracing::warn!(error = %e, ?recheck, "events are not sent to Alerts until the CRD is installed (checked again every {recheck:?}, not logged again)");
                }
                return Ok(Submitted::AlertsNotInstalled);
            }
            Err(source) => {
                bump(&inner.metrics.resolve_errors);
                return Err(DispatchError::Alerts {
                    object: describe(&event),
                    source,
                });
            }
        };
        let mut labels: Option<Option<BTreeMap<String, String>>> = None;
        let mut matched = 0;
        let mut started = 0;
        let mut providers = Vec::new();
        for alert in &alerts {
            match alert::evaluate(alert, &event, &inner.regexes) {
                Verdict::Skip => continue,
                Verdict::Match => {}
                Verdict::MatchIfLabels(selectors) => {
                    if labels.is_none() {
                        labels = Some(match inner.resolver.labels(&event.involved_object).await {
                            Ok(found) => found,
                            Err(e) => {
                                bump(&inner.metrics.resolve_errors);
                                tracing::error!(object = %describe(&event), error = %e, "cannot read labels for Alert matchLabels");
                                None
                            }
                        });
                    }
                    let matched = labels
                        .as_ref()
                        .and_then(Option::as_ref)
                        .is_some_and(|l| alert::labels_match(&selectors, l));
                    if !matched {
                        continue;
                    }
                }
            }
            matched += 1;
            if let Some(provider) = self.deliver(alert, &event).await {
                started += 1;
                providers.push(provider);
            }
        }
        if let Some(key) = key {
            if let Some(entry) = lock(&inner.seen).entries.get_mut(&key) {
                entry.1 = providers;
            }
        }
        if matched == 0 {
            bump(&inner.metrics.events_without_alert);
            tracing::debug!(object = %describe(&event), "discarding event, no alerts found for the involved object");
            return Ok(Submitted::NoMatchingAlert);
        }
        Ok(Submitted::Dispatched(started))
    }

    fn rate_limit(&self, event: &Event) -> Window {
        let window = self.inner.options.rate_limit_window;
        if window.is_zero() {
            return Window::First(None);
        }
        let key = event.rate_limit_key();
        let now = Instant::now();
        let mut seen = lock(&self.inner.seen);
        if seen.entries.len() > seen.prune_at {
            seen.entries
                .retain(|_, (at, _)| now.duration_since(*at) < window);
            // Prune again only when the map has doubled: pruning on every event once it is
            // large made each event cost a walk over every key in the window.
            seen.prune_at = (seen.entries.len() * 2).max(PRUNE_AT);
        }
        match seen.entries.get(&key) {
            Some((at, providers)) if now.duration_since(*at) < window => {
                Window::Duplicate(providers.clone())
            }
            _ => {
                seen.entries.insert(key.clone(), (now, Vec::new()));
                Window::First(Some(key))
            }
        }
    }

    /// Resolves the Alert's Provider and starts a delivery; the Provider's id when one was
    /// started.
    async fn deliver(&self, alert: &flotilla_api::Alert, event: &Event) -> Option<String> {
        let inner = &self.inner;
        let namespace = alert.namespace().unwrap_or_default();
        let provider_name = &alert.spec.provider_ref.name;
        let provider_id = format!("{namespace}/{provider_name}");
        let settings = match inner.resolver.provider(&namespace, provider_name).await {
            Ok(ProviderLookup::Found(settings)) => settings,
            Ok(ProviderLookup::Suspended) => return None,
            Ok(ProviderLookup::NotFound) => {
                bump(&inner.metrics.resolve_errors);
                inner.metrics.provider(&provider_id, |m| m.failed += 1);
                tracing::error!(alert = %format!("{namespace}/{}", alert.name_any()), provider = %provider_id, "Alert refers to a Provider that does not exist");
                return None;
            }
            Err(e) => {
                bump(&inner.metrics.resolve_errors);
                inner.metrics.provider(&provider_id, |m| m.failed += 1);
                tracing::error!(alert = %format!("{namespace}/{}", alert.name_any()), error = %e, "cannot use the Alert's Provider");
                return None;
            }
        };
        let notifier = match Notifier::new(*settings) {
            Ok(n) => n,
            Err(e) => {
                bump(&inner.metrics.resolve_errors);
                inner.metrics.provider(&provider_id, |m| m.failed += 1);
                tracing::error!(error = %e, "cannot use the Alert's Provider");
                return None;
            }
        };
        let pending = inner.pending.fetch_add(1, Ordering::SeqCst);
        if pending >= inner.options.max_pending {
            self.finish();
            inner.metrics.provider(&provider_id, |m| m.dropped += 1);
            tracing::error!(provider = %provider_id, object = %describe(event), pending, "notification dropped: too many deliveries pending");
            return None;
        }
        bump(&inner.metrics.deliveries);
        inner.metrics.provider(&provider_id, |m| m.dispatched += 1);
        let semaphore = lock(&inner.semaphores)
            .entry(provider_id.clone())
            .or_insert_with(|| Arc::new(Semaphore::new(inner.options.provider_concurrency.max(1))))
            .clone();
        let event = alert::enrich(event, alert);
        let this = self.clone();
        let id = provider_id.clone();
        tokio::spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            this.run_delivery(&id, &notifier, &event).await;
            this.finish();
        });
        Some(provider_id)
    }

    async fn run_delivery(&self, provider_id: &str, notifier: &Notifier, event: &Event) {
        let inner = &self.inner;
        let policy = &inner.options.retry;
        let mut retry = 0;
        loop {
            match notifier.send(event).await {
                Ok(Sent::Delivered) => {
                    inner.metrics.provider(provider_id, |m| m.succeeded += 1);
                    return;
                }
                Ok(Sent::Skipped(why)) => {
                    inner.metrics.provider(provider_id, |m| m.skipped += 1);
                    tracing::debug!(provider = %provider_id, why, "nothing to send");
                    return;
                }
                Err(e) if e.is_retryable() && retry < policy.max_retries => {
                    let wait = policy.backoff(retry);
                    retry += 1;
                    inner.metrics.provider(provider_id, |m| m.retries += 1);
                    tracing::warn!(provider = %provider_id, error = %e, retry, ?wait, "sending notification failed, retrying");
                    tokio::time::sleep(wait).await;
                }
                Err(e) => {
                    inner.metrics.provider(provider_id, |m| m.failed += 1);
                    tracing::error!(provider = %provider_id, object = %describe(event), error = %e, attempts = retry + 1, "failed to send notification");
                    return;
                }
            }
        }
    }

    fn finish(&self) {
        if self.inner.pending.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.inner.idle.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::default();
        let waits: Vec<u64> = (0..6).map(|r| p.backoff(r).as_secs()).collect();
        assert_eq!(waits, vec![2, 4, 8, 16, 30, 30]);
    }
}
