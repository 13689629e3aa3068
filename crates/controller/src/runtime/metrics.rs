//! Prometheus metrics with Flux's `gotk_*` names, kept per object and rendered by hand in the text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::Duration;

use flotilla_api::condition::types;
use flotilla_api::{Condition, ConditionStatus};

/// Flux's reconcile-duration buckets (`ExponentialBuckets(0.01, 10, 5)`), in seconds.
const BUCKETS: [f64; 5] = [0.01, 0.1, 1.0, 10.0, 100.0];
/// The condition types Flux records in `gotk_reconcile_condition`.
const RECORDED: [&str; 3] = [types::READY, types::RECONCILING, types::STALLED];

#[derive(Debug, Default)]
struct ObjectMetrics {
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
    /// Status of Ready, Reconciling, Stalled (`None`: absent).
    conditions: [Option<ConditionStatus>; RECORDED.len()],
    suspended: bool,
}

/// Key: kind, namespace, name.
type Key = (&'static str, String, String);

/// Every metric the controller exports. Cheap to update: one small entry per object.
#[derive(Debug, Default)]
pub struct Metrics {
    objects: Mutex<BTreeMap<Key, ObjectMetrics>>,
    /// Reconcile results per controller: success, error.
    totals: Mutex<BTreeMap<(&'static str, &'static str), u64>>,
    /// Families kept elsewhere (the notification dispatcher's), rendered after these.
    families: Families,
}

/// Renders a metric family in the text format, at scrape time.
type Family = Box<dyn Fn() -> String + Send + Sync>;

#[derive(Default)]
struct Families(Mutex<Vec<Family>>);

impl std::fmt::Debug for Families {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.0.lock().map_or(0, |v| v.len());
        write!(f, "Families({n})")
    }
}

impl Metrics {
    fn with<F: FnOnce(&mut ObjectMetrics)>(&self, kind: &'static str, ns: &str, name: &str, f: F) {
        let mut objects = self.objects.lock().unwrap_or_else(|p| p.into_inner());
        f(objects
            .entry((kind, ns.to_string(), name.to_string()))
            .or_default());
    }

    /// Records one reconcile: its duration and the conditions it left.
    pub fn record_reconcile(
        &self,
        kind: &'static str,
        ns: &str,
        name: &str,
        elapsed: Duration,
        conditions: &[Condition],
    ) {
        let secs = elapsed.as_secs_f64();
        self.with(kind, ns, name, |m| {
            for (i, le) in BUCKETS.iter().enumerate() {
                if secs <= *le {
                    m.buckets[i] += 1;
                }
            }
            m.count += 1;
            m.sum += secs;
            m.suspended = false;
            for (i, t) in RECORDED.iter().enumerate() {
                m.conditions[i] = flotilla_api::condition::find(conditions, t).map(|c| c.status);
            }
        });
    }

    /// Records `spec.suspend`.
    pub fn record_suspend(&self, kind: &'static str, ns: &str, name: &str, suspended: bool) {
        self.with(kind, ns, name, |m| m.suspended = suspended);
    }

    /// Counts a reconcile result for `controller` (`success` or `error`).
    pub fn count_result(&self, controller: &'static str, result: &'static str) {
        let mut totals = self.totals.lock().unwrap_or_else(|p| p.into_inner());
        *totals.entry((controller, result)).or_insert(0) += 1;
    }

    /// Adds metric families rendered by `render` (complete `# HELP`/`# TYPE` text) to every
    /// scrape.
    pub fn add_family(&self, render: impl Fn() -> String + Send + Sync + 'static) {
        let mut families = self.families.0.lock().unwrap_or_else(|p| p.into_inner());
        families.push(Box::new(render));
    }

    /// Drops a deleted object's series.
    pub fn forget(&self, kind: &'static str, ns: &str, name: &str) {
        let mut objects = self.objects.lock().unwrap_or_else(|p| p.into_inner());
        objects.remove(&(kind, ns.to_string(), name.to_string()));
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        let objects = self.objects.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        out.push_str("# HELP gotk_reconcile_duration_seconds The duration in seconds of a GitOps Toolkit resource reconciliation.\n");
        out.push_str("# TYPE gotk_reconcile_duration_seconds histogram\n");
        for ((kind, ns, name), m) in objects.iter().filter(|(_, m)| m.count > 0) {
            let labels = labels(&[("kind", kind), ("name", name), ("namespace", ns)]);
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "gotk_reconcile_duration_seconds_bucket{{{labels},le=\"{le}\"}} {}",
                    m.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "gotk_reconcile_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}",
                m.count
            );
            let _ = writeln!(
                out,
                "gotk_reconcile_duration_seconds_sum{{{labels}}} {}",
                m.sum
            );
            let _ = writeln!(
                out,
                "gotk_reconcile_duration_seconds_count{{{labels}}} {}",
                m.count
            );
        }
        out.push_str("# HELP gotk_reconcile_condition The current condition status of a GitOps Toolkit resource reconciliation.\n");
        out.push_str("# TYPE gotk_reconcile_condition gauge\n");
        for ((kind, ns, name), m) in objects.iter() {
            for (i, t) in RECORDED.iter().enumerate() {
                let Some(current) = m.conditions[i] else {
                    continue;
                };
                for (status, s) in [
                    (ConditionStatus::True, "True"),
                    (ConditionStatus::False, "False"),
                    (ConditionStatus::Unknown, "Unknown"),
                ] {
                    let labels = labels(&[
                        ("kind", kind),
                        ("name", name),
                        ("namespace", ns),
                        ("status", s),
                        ("type", t),
                    ]);
                    let _ = writeln!(
                        out,
                        "gotk_reconcile_condition{{{labels}}} {}",
                        u8::from(current == status)
                    );
                }
            }
        }
        out.push_str(
            "# HELP gotk_suspend_status The current suspend status of a GitOps Toolkit resource.\n",
        );
        out.push_str("# TYPE gotk_suspend_status gauge\n");
        for ((kind, ns, name), m) in objects.iter() {
            let labels = labels(&[("kind", kind), ("name", name), ("namespace", ns)]);
            let _ = writeln!(
                out,
                "gotk_suspend_status{{{labels}}} {}",
                u8::from(m.suspended)
            );
        }
        drop(objects);
        out.push_str("# HELP controller_runtime_reconcile_total Total number of reconciliations per controller.\n");
        out.push_str("# TYPE controller_runtime_reconcile_total counter\n");
        let totals = self.totals.lock().unwrap_or_else(|p| p.into_inner());
        for ((controller, result), n) in totals.iter() {
            let labels = labels(&[("controller", controller), ("result", result)]);
            let _ = writeln!(out, "controller_runtime_reconcile_total{{{labels}}} {n}");
        }
        drop(totals);
        let families = self.families.0.lock().unwrap_or_else(|p| p.into_inner());
        for render in families.iter() {
            out.push_str(&render());
        }
        drop(families);
        if let Some(rss) = resident_bytes() {
            out.push_str("# HELP process_resident_memory_bytes Resident memory size in bytes.\n");
            out.push_str("# TYPE process_resident_memory_bytes gauge\n");
            let _ = writeln!(out, "process_resident_memory_bytes {rss}");
        }
        out
    }
}

/// `k="v",…` with the text format's escapes.
fn labels(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        for c in v.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out
}

/// Resident set size from /proc (Linux); `None` elsewhere.
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_histogram_and_conditions() {
        let m = Metrics::default();
        let ready = Condition::new(types::READY, ConditionStatus::False, "Failed", "x");
        m.record_reconcile(
            "GitRepository",
            "ns",
            "a\"b",
            Duration::from_millis(50),
            &[ready],
        );
        let text = m.render();
        assert!(text.contains(
            "gotk_reconcile_duration_seconds_bucket{kind=\"GitRepository\",name=\"a\\\"b\",namespace=\"ns\",le=\"0.01\"} 0"
        ));
        assert!(text.contains(
            "gotk_reconcile_duration_seconds_bucket{kind=\"GitRepository\",name=\"a\\\"b\",namespace=\"ns\",le=\"0.1\"} 1"
        ));
        assert!(text.contains("gotk_reconcile_condition{kind=\"GitRepository\",name=\"a\\\"b\",namespace=\"ns\",status=\"False\",type=\"Ready\"} 1"));
        assert!(text.contains("gotk_reconcile_condition{kind=\"GitRepository\",name=\"a\\\"b\",namespace=\"ns\",status=\"True\",type=\"Ready\"} 0"));
        assert!(!text.contains("type=\"Stalled\""));
        m.forget("GitRepository", "ns", "a\"b");
        assert!(!m.render().contains("a\\\"b"));
    }
}
