//! Which Alerts an event goes to, and what each adds to it, as Flux's event server decides:
//! suspended Alerts never match; the message must match an `inclusionList` expression (when
//! there is one) and no `exclusionList` expression; an event source matches on kind, namespace
//! (the Alert's when unset) and name (`*` for every name, then `matchLabels` narrow it);
//! `eventSeverity: info` (the default) takes every event, `error` only errors.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use flotilla_api::notification::EventSeverity;
use flotilla_api::Alert;
use kube::ResourceExt;
use regex::Regex;

use crate::event::{Event, Severity, META_SUMMARY};

/// The outcome of matching one event against one Alert.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The Alert does not take the event.
    Skip,
    /// The Alert takes the event.
    Match,
    /// The Alert takes the event if the involved object carries all labels of any one map.
    MatchIfLabels(Vec<BTreeMap<String, String>>),
}

/// Compiled `inclusionList`/`exclusionList` expressions, shared across events.
#[derive(Debug, Default)]
pub struct RegexCache {
    compiled: Mutex<HashMap<String, Option<Regex>>>,
}

impl RegexCache {
    /// Whether `pattern` matches `text`; `None` when the pattern does not compile (reported
    /// once, then ignored as Flux ignores it).
    pub fn is_match(&self, pattern: &str, text: &str) -> Option<bool> {
        let mut compiled = match self.compiled.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let regex = compiled.entry(pattern.to_string()).or_insert_with(|| {
            Regex::new(pattern)
                .map_err(|e| {
                    tracing::error!(pattern, error = %e, "Alert expression does not compile; it is ignored");
                })
                .ok()
        });
        regex.as_ref().map(|r| r.is_match(text))
    }
}

/// Matches `event` (metadata already stripped of its group prefix) against `alert`.
pub fn evaluate(alert: &Alert, event: &Event, regexes: &RegexCache) -> Verdict {
    let spec = &alert.spec;
    if spec.suspend == Some(true) || event.severity == Severity::Trace {
        return Verdict::Skip;
    }
    if let Some(inclusions) = spec.inclusion_list.as_ref().filter(|l| !l.is_empty()) {
        let included = inclusions
            .iter()
            .any(|p| regexes.is_match(p, &event.message) == Some(true));
        if !included {
            return Verdict::Skip;
        }
    }
    let excluded = spec
        .exclusion_list
        .iter()
        .flatten()
        .any(|p| regexes.is_match(p, &event.message) == Some(true));
    if excluded {
        return Verdict::Skip;
    }
    let severity_ok = match spec.event_severity.unwrap_or(EventSeverity::Info) {
        EventSeverity::Info => true,
        EventSeverity::Error => event.severity == Severity::Error,
    };
    if !severity_ok {
        return Verdict::Skip;
    }
    let alert_namespace = alert.namespace().unwrap_or_default();
    let object = &event.involved_object;
    let mut selectors = Vec::new();
    for source in &spec.event_sources {
        let namespace = source.namespace.as_deref().unwrap_or(&alert_namespace);
        if object.namespace.as_deref() != Some(namespace)
            || object.kind.as_deref() != Some(source.kind.as_str())
        {
            continue;
        }
        if source.name == "*" {
            match source.match_labels.as_ref().filter(|l| !l.is_empty()) {
                None => return Verdict::Match,
                Some(labels) => selectors.push(labels.clone()),
            }
        } else if object.name.as_deref() == Some(source.name.as_str()) {
            return Verdict::Match;
        }
    }
    if selectors.is_empty() {
        Verdict::Skip
    } else {
        Verdict::MatchIfLabels(selectors)
    }
}

/// Whether `labels` carry every pair of any selector.
pub fn labels_match(
    selectors: &[BTreeMap<String, String>],
    labels: &BTreeMap<String, String>,
) -> bool {
    selectors
        .iter()
        .any(|sel| sel.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

/// The event as the Alert sends it: `eventMetadata` and `summary` added where the event does
/// not already carry the key (the emitter's values win, as in Flux).
pub fn enrich(event: &Event, alert: &Alert) -> Event {
    let mut out = event.clone();
    for (key, value) in alert.spec.event_metadata.iter().flatten() {
        if out.metadata.contains_key(key) {
            tracing::debug!(key, alert = %alert.name_any(), "event metadata kept over Alert eventMetadata");
        } else {
            out.metadata.insert(key.clone(), value.clone());
        }
    }
    if let Some(summary) = alert.spec.summary.as_ref().filter(|s| !s.is_empty()) {
        out.metadata
            .entry(META_SUMMARY.to_string())
            .or_insert_with(|| summary.clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use flotilla_api::notification::{AlertSpec, CrossNamespaceObjectReference};
    use flotilla_api::refs::LocalObjectReference;
    use k8s_openapi::api::core::v1::ObjectReference;

    fn alert(sources: Vec<CrossNamespaceObjectReference>) -> Alert {
        let mut a = Alert::new(
            "a",
            AlertSpec {
                provider_ref: LocalObjectReference::new("p"),
                event_severity: None,
                event_sources: sources,
                inclusion_list: None,
                event_metadata: None,
                exclusion_list: None,
                summary: None,
                suspend: None,
            },
        );
        a.metadata.namespace = Some("flux-system".into());
        a
    }

    fn source(kind: &str, name: &str) -> CrossNamespaceObjectReference {
        CrossNamespaceObjectReference {
            kind: kind.into(),
            name: name.into(),
            ..Default::default()
        }
    }

    fn event(kind: &str, name: &str, ns: &str, severity: Severity, message: &str) -> Event {
        Event::new(
            ObjectReference {
                kind: Some(kind.into()),
                name: Some(name.into()),
                namespace: Some(ns.into()),
                ..Default::default()
            },
            severity,
            "Reason",
            message,
            "kustomize-controller",
        )
    }

    #[test]
    fn sources_match_on_kind_namespace_and_name() {
        let cache = RegexCache::default();
        let a = alert(vec![source("Kustomization", "apps")]);
        let e = |k, n, ns| event(k, n, ns, Severity::Info, "m");
        assert_eq!(
            evaluate(&a, &e("Kustomization", "apps", "flux-system"), &cache),
            Verdict::Match
        );
        assert_eq!(
            evaluate(&a, &e("Kustomization", "infra", "flux-system"), &cache),
            Verdict::Skip
        );
        assert_eq!(
            evaluate(&a, &e("GitRepository", "apps", "flux-system"), &cache),
            Verdict::Skip
        );
        assert_eq!(
            evaluate(&a, &e("Kustomization", "apps", "other"), &cache),
            Verdict::Skip
        );
        let all = alert(vec![source("Kustomization", "*")]);
        assert_eq!(
            evaluate(&all, &e("Kustomization", "x", "flux-system"), &cache),
            Verdict::Match
        );
        // `*` is the whole name, not a glob.
        let glob = alert(vec![source("Kustomization", "app*")]);
        assert_eq!(
            evaluate(&glob, &e("Kustomization", "apps", "flux-system"), &cache),
            Verdict::Skip
        );
        let mut other_ns = source("Kustomization", "*");
        other_ns.namespace = Some("team".into());
        let a = alert(vec![other_ns]);
        assert_eq!(
            evaluate(&a, &e("Kustomization", "x", "team"), &cache),
            Verdict::Match
        );
    }

    #[test]
    fn labels_severity_and_lists() {
        let cache = RegexCache::default();
        let mut labelled = source("Kustomization", "*");
        labelled.match_labels = Some([("team".to_string(), "web".to_string())].into());
        let a = alert(vec![labelled]);
        let verdict = evaluate(
            &a,
            &event("Kustomization", "x", "flux-system", Severity::Info, "m"),
            &cache,
        );
        let Verdict::MatchIfLabels(selectors) = verdict else {
            panic!("expected a label condition, got {verdict:?}");
        };
        assert!(labels_match(
            &selectors,
            &[("team".into(), "web".into()), ("x".into(), "y".into())].into()
        ));
        assert!(!labels_match(
            &selectors,
            &[("team".into(), "db".into())].into()
        ));

        let mut a = alert(vec![source("Kustomization", "*")]);
        a.spec.event_severity = Some(EventSeverity::Error);
        let ev = |sev, msg| event("Kustomization", "x", "flux-system", sev, msg);
        assert_eq!(
            evaluate(&a, &ev(Severity::Info, "m"), &cache),
            Verdict::Skip
        );
        assert_eq!(
            evaluate(&a, &ev(Severity::Error, "m"), &cache),
            Verdict::Match
        );
        a.spec.event_severity = None;
        assert_eq!(
            evaluate(&a, &ev(Severity::Error, "m"), &cache),
            Verdict::Match
        );
        assert_eq!(
            evaluate(&a, &ev(Severity::Trace, "m"), &cache),
            Verdict::Skip
        );

        a.spec.inclusion_list = Some(vec![".*succeeded.*".into(), "(".into()]);
        a.spec.exclusion_list = Some(vec!["uninstall".into()]);
        assert_eq!(
            evaluate(&a, &ev(Severity::Info, "upgrade succeeded"), &cache),
            Verdict::Match
        );
        assert_eq!(
            evaluate(&a, &ev(Severity::Info, "upgrade failed"), &cache),
            Verdict::Skip
        );
        assert_eq!(
            evaluate(&a, &ev(Severity::Info, "uninstall succeeded"), &cache),
            Verdict::Skip
        );
        a.spec.suspend = Some(true);
        assert_eq!(
            evaluate(&a, &ev(Severity::Info, "upgrade succeeded"), &cache),
            Verdict::Skip
        );
    }

    #[test]
    fn enrich_keeps_event_values() {
        let mut a = alert(vec![]);
        a.spec.event_metadata = Some(
            [
                ("env".to_string(), "prod".to_string()),
                ("revision".to_string(), "x".to_string()),
            ]
            .into(),
        );
        a.spec.summary = Some("cluster impacted".into());
        let mut e = event("Kustomization", "x", "flux-system", Severity::Info, "m");
        e.metadata.insert("revision".into(), "main@sha1:abc".into());
        let out = enrich(&e, &a);
        assert_eq!(out.metadata["env"], "prod");
        assert_eq!(out.metadata["revision"], "main@sha1:abc");
        assert_eq!(out.metadata["summary"], "cluster impacted");
    }
}
