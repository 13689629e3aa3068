//! Counters of what the dispatcher did, for the controller's `/metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// Counters per Provider (`namespace/name`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProviderMetrics {
    /// Deliveries started (one per event and matching Alert).
    pub dispatched: u64,
    /// Duplicates of an event sent to this Provider within the rate-limit window, not sent.
    pub rate_limited: u64,
    /// Deliveries the service accepted.
    pub succeeded: u64,
    /// Deliveries given up on (after retries, or not retryable), and events for this
    /// Provider's Alerts that could not be sent because it is unusable (unsupported type,
    /// missing Secret or address) or does not exist.
    pub failed: u64,
    /// Retried attempts.
    pub retries: u64,
    /// Deliveries with nothing to send (e.g. progressing events for commit statuses).
    pub skipped: u64,
    /// Deliveries dropped because too many were pending.
    pub dropped: u64,
}

/// A copy of the dispatcher's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MetricsSnapshot {
    /// Events submitted.
    pub events_received: u64,
    /// Events dropped as duplicates within the rate-limit window.
    pub events_rate_limited: u64,
    /// Events no Alert took.
    pub events_without_alert: u64,
    /// Events never forwarded (trace severity).
    pub events_ignored: u64,
    /// Events dropped because the Alert CRD is not installed.
    pub events_not_installed: u64,
    /// Lookups that failed (Alerts, Providers, Secrets, labels); each is logged.
    pub resolve_errors: u64,
    /// Deliveries started (one per matching Alert).
    pub deliveries: u64,
    /// Per Provider.
    pub providers: BTreeMap<String, ProviderMetrics>,
}

impl MetricsSnapshot {
    /// Deliveries accepted by all providers.
    pub fn succeeded(&self) -> u64 {
        self.providers.values().map(|p| p.succeeded).sum()
    }

    /// Deliveries given up on by all providers.
    pub fn failed(&self) -> u64 {
        self.providers.values().map(|p| p.failed).sum()
    }

    /// The counters in the Prometheus text format.
    pub fn to_prometheus(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP flotilla_notification_events_total Events submitted for notification, by outcome.\n");
        out.push_str("# TYPE flotilla_notification_events_total counter\n");
        for (outcome, value) in [
            ("received", self.events_received),
            ("rate_limited", self.events_rate_limited),
            ("no_alert", self.events_without_alert),
            ("ignored", self.events_ignored),
            ("not_installed", self.events_not_installed),
        ] {
            let _ = writeln!(
                out,
                "flotilla_notification_events_total{{outcome=\"{outcome}\"}} {value}"
            );
        }
        out.push_str("# HELP flotilla_notification_resolve_errors_total Failed lookups of Alerts, Providers, Secrets or labels.\n");
        out.push_str("# TYPE flotilla_notification_resolve_errors_total counter\n");
        let _ = writeln!(
            out,
            "flotilla_notification_resolve_errors_total {}",
            self.resolve_errors
        );
        out.push_str("# HELP flotilla_notification_deliveries_total Notifications per provider: dispatched (started), rate_limited (duplicates not sent), and how started ones ended (succeeded, failed, skipped, dropped).\n");
        out.push_str("# TYPE flotilla_notification_deliveries_total counter\n");
        for (provider, m) in &self.providers {
            let provider = provider.replace('\\', "\\\\").replace('"', "\\\"");
            for (result, value) in [
                ("dispatched", m.dispatched),
                ("rate_limited", m.rate_limited),
                ("succeeded", m.succeeded),
                ("failed", m.failed),
                ("skipped", m.skipped),
                ("dropped", m.dropped),
            ] {
                let _ = writeln!(
                    out,
                    "flotilla_notification_deliveries_total{{provider=\"{provider}\",result=\"{result}\"}} {value}"
                );
            }
        }
        out.push_str("# HELP flotilla_notification_retries_total Retried notification attempts per provider.\n");
        out.push_str("# TYPE flotilla_notification_retries_total counter\n");
        for (provider, m) in &self.providers {
            let provider = provider.replace('\\', "\\\\").replace('"', "\\\"");
            let _ = writeln!(
                out,
                "flotilla_notification_retries_total{{provider=\"{provider}\"}} {}",
                m.retries
            );
        }
        out
    }
}

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    pub events_received: AtomicU64,
    pub events_rate_limited: AtomicU64,
    pub events_without_alert: AtomicU64,
    pub events_ignored: AtomicU64,
    pub events_not_installed: AtomicU64,
    pub resolve_errors: AtomicU64,
    pub deliveries: AtomicU64,
    providers: Mutex<BTreeMap<String, ProviderMetrics>>,
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

impl Metrics {
    pub(crate) fn provider(&self, id: &str, update: impl FnOnce(&mut ProviderMetrics)) {
        let mut providers = match self.providers.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        update(providers.entry(id.to_string()).or_default());
    }

    pub(crate) fn snapshot(&self) -> MetricsSnapshot {
        let providers = match self.providers.lock() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        MetricsSnapshot {
            events_received: self.events_received.load(Ordering::Relaxed),
            events_rate_limited: self.events_rate_limited.load(Ordering::Relaxed),
            events_without_alert: self.events_without_alert.load(Ordering::Relaxed),
            events_ignored: self.events_ignored.load(Ordering::Relaxed),
            events_not_installed: self.events_not_installed.load(Ordering::Relaxed),
            resolve_errors: self.resolve_errors.load(Ordering::Relaxed),
            deliveries: self.deliveries.load(Ordering::Relaxed),
            providers,
        }
    }
}
