//! kstatus rules on literal status fixtures.

use serde_json::{json, Value};

use super::{compute, State};

fn deployment(spec_replicas: i64, status: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "apps", "generation": 2},
        "spec": {"replicas": spec_replicas},
        "status": status,
    })
}

fn cond(ty: &str, status: &str, reason: &str) -> Value {
    json!({"type": ty, "status": status, "reason": reason, "message": format!("{ty} {reason}")})
}

#[test]
fn deployment_rollout() {
    let ready = deployment(
        2,
        json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "readyReplicas": 2,
               "availableReplicas": 2,
               "conditions": [cond("Available", "True", "MinimumReplicasAvailable"),
                              cond("Progressing", "True", "NewReplicaSetAvailable")]}),
    );
    assert_eq!(compute(&ready).state, State::Current);

    let mut old_gen = ready.clone();
    old_gen["status"]["observedGeneration"] = json!(1);
    let s = compute(&old_gen);
    assert_eq!(s.state, State::InProgress);
    assert!(s.message.contains("generation is 2"), "{s}");

    let mut unready = ready.clone();
    unready["status"]["readyReplicas"] = json!(1);
    let s = compute(&unready);
    assert_eq!(
        (s.state, s.message.as_str()),
        (State::InProgress, "Ready: 1/2")
    );

    let mut scaling = ready.clone();
    scaling["spec"]["replicas"] = json!(3);
    assert_eq!(compute(&scaling).message, "Replicas: 2/3");

    let mut deadline = ready.clone();
    deadline["status"]["conditions"][1] = cond("Progressing", "False", "ProgressDeadlineExceeded");
    assert_eq!(compute(&deadline).state, State::Failed);

    let no_status = deployment(1, json!({}));
    assert_eq!(compute(&no_status).state, State::InProgress);
}

#[test]
fn terminating_wins() {
    let mut o = deployment(1, json!({}));
    o["metadata"]["deletionTimestamp"] = json!("2024-01-01T00:00:00Z");
    assert_eq!(compute(&o).state, State::Terminating);
}

#[test]
fn stalled_and_reconciling_conditions() {
    let o = |c: Value| {
        json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w", "generation": 1}, "status": {"observedGeneration": 1, "conditions": [c]}})
    };
    for (c, want) in [
        (
            cond("Reconciling", "True", "Progressing"),
            State::InProgress,
        ),
        (cond("Stalled", "True", "Broken"), State::Failed),
        (cond("Ready", "True", "Ok"), State::Current),
        (cond("Ready", "False", "Bad"), State::Failed),
        (cond("Ready", "Unknown", "Wait"), State::InProgress),
    ] {
        assert_eq!(compute(&o(c.clone())).state, want, "{c}");
    }
}

#[test]
fn objects_without_status_are_current() {
    let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}});
    assert_eq!(compute(&cm).state, State::Current);
    let role = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}});
    assert_eq!(compute(&role).state, State::Current);
}

#[test]
fn flux_kinds_need_ready_at_current_generation() {
    let ks = |gen: i64, observed: Option<i64>, ready: &str| {
        let mut o = json!({"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "apps", "namespace": "flux-system", "generation": gen},
            "status": {"conditions": [cond("Ready", ready, "ReconciliationSucceeded")]}});
        if let Some(g) = observed {
            o["status"]["observedGeneration"] = json!(g);
        }
        o
    };
    assert_eq!(compute(&ks(2, Some(2), "True")).state, State::Current);
    assert_eq!(compute(&ks(3, Some(2), "True")).state, State::InProgress);
    assert_eq!(compute(&ks(2, None, "True")).state, State::InProgress);
    assert_eq!(compute(&ks(2, Some(2), "False")).state, State::Failed);
    assert_eq!(compute(&ks(2, Some(2), "Unknown")).state, State::InProgress);
}

#[test]
fn jobs_pods_pvcs_services_crds() {
    let job = |status: Value| json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": {}, "status": status});
    assert_eq!(compute(&job(json!({}))).message, "Job not started");
    assert_eq!(
        compute(&job(json!({"startTime": "t", "active": 1}))).state,
        State::InProgress
    );
    assert_eq!(
        compute(&job(
            json!({"succeeded": 1, "conditions": [cond("Complete", "True", "CompletionsReached")]})
        ))
        .state,
        State::Current
    );
    assert_eq!(
        compute(&job(
            json!({"failed": 1, "conditions": [cond("Failed", "True", "BackoffLimitExceeded")]})
        ))
        .state,
        State::Failed
    );

    let pod = |status: Value| json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "status": status});
    assert_eq!(
        compute(&pod(
            json!({"phase": "Running", "conditions": [cond("Ready", "True", "")]})
        ))
        .state,
        State::Current
    );
    assert_eq!(compute(&pod(json!({"phase": "Running", "conditions": [cond("Ready", "False", "ContainersNotReady")]}))).state, State::InProgress);
    assert_eq!(
        compute(&pod(json!({"phase": "Failed"}))).state,
        State::Failed
    );
    assert_eq!(
        compute(&pod(json!({"phase": "Succeeded"}))).state,
        State::Current
    );
    assert_eq!(compute(&pod(json!({"phase": "Running", "containerStatuses": [{"name": "c", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}))).state, State::Failed);

    let pvc = |phase: &str| json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "d"}, "status": {"phase": phase}});
    assert_eq!(compute(&pvc("Bound")).state, State::Current);
    assert_eq!(compute(&pvc("Pending")).state, State::InProgress);

    let svc = |ty: &str, status: Value| json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"type": ty}, "status": status});
    assert_eq!(compute(&svc("ClusterIP", json!({}))).state, State::Current);
    assert_eq!(
        compute(&svc("LoadBalancer", json!({"loadBalancer": {}}))).state,
        State::InProgress
    );
    assert_eq!(
        compute(&svc(
            "LoadBalancer",
            json!({"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}]}})
        ))
        .state,
        State::Current
    );

    let crd = |conds: Value| json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "w.example.com"}, "status": {"conditions": conds}});
    assert_eq!(
        compute(&crd(json!([cond(
            "Established",
            "True",
            "InitialNamesAccepted"
        )])))
        .state,
        State::Current
    );
    assert_eq!(compute(&crd(json!([]))).state, State::InProgress);
    assert_eq!(
        compute(&crd(json!([cond(
            "NamesAccepted",
            "False",
            "MultipleNamesConflict"
        )])))
        .state,
        State::Failed
    );
}

#[test]
fn stateful_and_daemon_sets() {
    let sts = json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "generation": 1},
        "spec": {"replicas": 2},
        "status": {"observedGeneration": 1, "replicas": 2, "readyReplicas": 1, "currentReplicas": 2,
                   "updatedReplicas": 2, "currentRevision": "a", "updateRevision": "a"}});
    assert_eq!(compute(&sts).message, "Ready: 1/2");
    let mut done = sts.clone();
    done["status"]["readyReplicas"] = json!(2);
    assert_eq!(compute(&done).state, State::Current);
    let mut rolling = done.clone();
    rolling["status"]["updateRevision"] = json!("b");
    assert_eq!(compute(&rolling).state, State::InProgress);

    let ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent", "generation": 1},
        "status": {"observedGeneration": 1, "desiredNumberScheduled": 3, "currentNumberScheduled": 3,
                   "updatedNumberScheduled": 3, "numberAvailable": 3, "numberReady": 2}});
    assert_eq!(compute(&ds).message, "Ready: 2/3");
}

#[test]
fn replica_sets_and_scale_down() {
    let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-1", "generation": 1},
        "spec": {"replicas": 2},
        "status": {"observedGeneration": 1, "replicas": 2, "fullyLabeledReplicas": 1,
                   "availableReplicas": 2, "readyReplicas": 2}});
    assert_eq!(compute(&rs).message, "Labelled: 1/2");
    let mut shrinking = rs.clone();
    shrinking["status"]["fullyLabeledReplicas"] = json!(2);
    shrinking["status"]["replicas"] = json!(3);
    assert_eq!(compute(&shrinking).message, "Pending termination: 1");
    let mut done = shrinking.clone();
    done["status"]["replicas"] = json!(2);
    assert_eq!(
        (compute(&done).state, compute(&done).message),
        (
            State::Current,
            "ReplicaSet is available. Replicas: 2".to_string()
        )
    );

    // A Deployment scaling down reports the surplus before availability.
    let d = deployment(
        1,
        json!({"observedGeneration": 2, "replicas": 2, "updatedReplicas": 1, "readyReplicas": 0,
               "availableReplicas": 0}),
    );
    assert_eq!(compute(&d).message, "Pending termination: 1");
}
