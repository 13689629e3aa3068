//! Condition helpers on real objects: transition times, ordering, Reconciling/Stalled exclusivity,
//! observedGeneration and status bookkeeping.
#![allow(clippy::unwrap_used)]

use flotilla_api::condition::{self, reasons, types, Condition, ConditionStatus};
use flotilla_api::{
    ConditionsExt, FluxObject, FluxStatus, GitRepository, HasConditions, Kustomization,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::json;

fn time(secs: i64) -> Time {
    Time(Timestamp::from_second(secs).unwrap())
}

fn repo(generation: i64) -> GitRepository {
    serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": "app", "namespace": "default", "generation": generation,
                     "annotations": {"reconcile.fluxcd.io/requestedAt": "now-1"}},
        "spec": {"url": "https://example.com/app.git", "interval": "1m"}
    }))
    .unwrap()
}

#[test]
fn transition_time_kept_while_status_unchanged() {
    let mut obj = repo(1);
    let old = Condition::new(
        types::READY,
        ConditionStatus::False,
        reasons::PROGRESSING,
        "fetching",
    )
    .at(time(1_000));
    assert!(condition::set(obj.conditions_mut(), old));

    // Same status, new reason and message: the time of the last transition stays.
    assert!(obj.mark_false(
        types::READY,
        reasons::GIT_OPERATION_FAILED,
        "connection refused"
    ));
    let ready = obj.condition(types::READY).unwrap();
    assert_eq!(ready.last_transition_time, time(1_000));
    assert_eq!(ready.reason, reasons::GIT_OPERATION_FAILED);
    assert_eq!(ready.message, "connection refused");
    assert_eq!(ready.observed_generation, Some(1));

    // Setting exactly the same again changes nothing.
    assert!(!obj.mark_false(
        types::READY,
        reasons::GIT_OPERATION_FAILED,
        "connection refused"
    ));

    // A status change is a transition: a new time.
    assert!(obj.mark_true(types::READY, reasons::SUCCEEDED, "stored artifact"));
    let ready = obj.condition(types::READY).unwrap();
    assert_ne!(ready.last_transition_time, time(1_000));
    assert!(ready.last_transition_time.0 > Timestamp::from_second(1_700_000_000).unwrap());
    assert!(obj.is_ready());
}

#[test]
fn observed_generation_follows_the_object() {
    let mut obj = repo(1);
    obj.mark_true(types::READY, reasons::SUCCEEDED, "ok");
    obj.metadata.generation = Some(2);
    // Same state, newer generation: the condition records the generation it was computed from.
    assert!(obj.mark_true(types::READY, reasons::SUCCEEDED, "ok"));
    assert_eq!(
        obj.condition(types::READY).unwrap().observed_generation,
        Some(2)
    );
}

#[test]
fn reconciling_and_stalled_exclude_each_other() {
    let mut obj = repo(3);
    obj.mark_stalled(reasons::INVALID_URL, "bad URL");
    assert!(obj.is_stalled());
    obj.mark_reconciling(reasons::PROGRESSING, "reconciliation in progress");
    assert!(obj.is_reconciling());
    assert!(!obj.is_stalled(), "Reconciling removes Stalled");
    obj.mark_stalled(
        reasons::AUTHENTICATION_FAILED,
        "secret 'auth' lacks 'password'",
    );
    assert!(obj.is_stalled());
    assert!(!obj.is_reconciling(), "Stalled removes Reconciling");
    assert!(obj.remove_condition(types::STALLED));
    assert!(!obj.remove_condition(types::STALLED));
    assert!(obj.conditions().is_empty());
}

#[test]
fn conditions_in_flux_order() {
    let mut obj = repo(1);
    for t in [
        types::SOURCE_VERIFIED,
        types::READY,
        types::ARTIFACT_IN_STORAGE,
        types::RECONCILING,
        types::FETCH_FAILED,
        types::STALLED,
    ] {
        obj.mark_true(t, reasons::SUCCEEDED, "");
    }
    let order: Vec<&str> = obj.conditions().iter().map(|c| c.type_.as_str()).collect();
    assert_eq!(
        order,
        [
            "Stalled",
            "Reconciling",
            "Ready",
            "ArtifactInStorage",
            "FetchFailed",
            "SourceVerified"
        ]
    );
}

#[test]
fn status_bookkeeping_serialises_as_flux() {
    let mut obj = repo(4);
    assert_eq!(obj.pending_reconcile_request(), Some("now-1"));
    obj.set_last_handled_reconcile_at(Some("now-1".into()));
    assert_eq!(obj.pending_reconcile_request(), None);
    obj.set_observed_generation(Some(4));
    let cond = Condition::new(
        types::READY,
        ConditionStatus::True,
        reasons::SUCCEEDED,
        "ok",
    )
    .at(time(0))
    .with_observed_generation(Some(4));
    condition::set(obj.conditions_mut(), cond);
    let status = serde_json::to_value(obj.status.as_ref().unwrap()).unwrap();
    assert_eq!(
        status,
        json!({
            "observedGeneration": 4,
            "conditions": [{"type": "Ready", "status": "True", "observedGeneration": 4,
                            "lastTransitionTime": "1970-01-01T00:00:00Z", "reason": "Succeeded", "message": "ok"}],
            "lastHandledReconcileAt": "now-1"
        })
    );
    assert!(!obj.suspended());
    assert_eq!(obj.interval().unwrap().as_str(), "1m");
}

#[test]
fn objects_without_status_have_no_conditions() {
    let ks: Kustomization = serde_json::from_value(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "apps"},
        "spec": {"interval": "5m", "prune": true, "suspend": true,
                 "sourceRef": {"kind": "GitRepository", "name": "flux-system"}}
    }))
    .unwrap();
    assert!(ks.conditions().is_empty());
    assert!(!ks.is_ready());
    assert!(ks.suspended());
    assert!(condition::is_unknown(ks.conditions(), types::READY));
}
