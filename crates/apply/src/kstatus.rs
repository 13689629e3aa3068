//! Health of a live object by kstatus' rules: Current, InProgress, Failed, Terminating,
//! NotFound or Unknown, with a message saying why.
//!
//! Every object first goes through the generic checks (being deleted → Terminating; a status
//! that has not observed the latest generation → InProgress; `Reconciling=True` → InProgress;
//! `Stalled=True` → Failed), then the rules of its kind: workload rollouts (Deployment,
//! StatefulSet, DaemonSet, ReplicaSet), Job completion, Pod readiness, PVC binding, Service
//! load balancers, CRD establishment, Namespace phase. Other kinds with a `Ready` condition
//! are Current when it is True (Flux's own kinds also need `status.observedGeneration` to
//! equal `metadata.generation`); kinds without status are Current.

use std::fmt;

use serde_json::Value;

use crate::object::{api_version, group_of, kind, str_at};

/// How far an object is from its desired state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Reconciled: the object is what its spec asks for.
    Current,
    /// Still converging.
    InProgress,
    /// Will not converge without a change (deadline exceeded, job failed, …).
    Failed,
    /// Being deleted.
    Terminating,
    /// Not in the cluster.
    NotFound,
    /// The status could not be read.
    Unknown,
}

impl State {
    /// kstatus' name (`Current`, `InProgress`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            State::Current => "Current",
            State::InProgress => "InProgress",
            State::Failed => "Failed",
            State::Terminating => "Terminating",
            State::NotFound => "NotFound",
            State::Unknown => "Unknown",
        }
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A computed status and the reason for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The state.
    pub state: State,
    /// Why, in kstatus' words (`Ready: 1/3`, `Job Completed. succeeded: 1/1`, …).
    pub message: String,
}

impl Status {
    fn new(state: State, message: impl Into<String>) -> Self {
        Status {
            state,
            message: message.into(),
        }
    }

    /// The status of an object that is not in the cluster.
    pub fn not_found() -> Self {
        Status::new(State::NotFound, "Resource not found")
    }

    /// Whether the object is Current.
    pub fn is_current(&self) -> bool {
        self.state == State::Current
    }
}

impl fmt::Display for Status {
    /// `InProgress: Ready: 0/1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            write!(f, "{}", self.state)
        } else {
            write!(f, "{}: {}", self.state, self.message)
        }
    }
}

fn int_at(v: &Value, path: &[&str]) -> Option<i64> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_i64()
}

fn conditions(obj: &Value) -> &[Value] {
    obj["status"]["conditions"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// The condition of type `ty`: (status, reason, message).
fn condition<'a>(obj: &'a Value, ty: &str) -> Option<(&'a str, &'a str, &'a str)> {
    conditions(obj)
        .iter()
        .find(|c| c["type"].as_str() == Some(ty))
        .map(|c| {
            (
                c["status"].as_str().unwrap_or_default(),
                c["reason"].as_str().unwrap_or_default(),
                c["message"].as_str().unwrap_or_default(),
            )
        })
}

fn cond_text(reason: &str, message: &str) -> String {
    match (reason.is_empty(), message.is_empty()) {
        (_, false) => message.to_string(),
        (false, true) => reason.to_string(),
        (true, true) => String::new(),
    }
}

/// The kstatus status of a live object.
pub fn compute(obj: &Value) -> Status {
    if !obj.is_object() {
        return Status::new(State::Unknown, "not an object");
    }
    if let Some(s) = generic(obj) {
        return s;
    }
    let group = group_of(api_version(obj));
    match (group, kind(obj)) {
        ("apps", "Deployment") => deployment(obj),
        ("apps", "StatefulSet") => stateful_set(obj),
        ("apps", "DaemonSet") => daemon_set(obj),
        ("apps", "ReplicaSet") => replica_set(obj),
        ("batch", "Job") => job(obj),
        ("", "Pod") => pod(obj),
        ("", "PersistentVolumeClaim") => pvc(obj),
        ("", "Service") => service(obj),
        ("", "Namespace") => namespace(obj),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => crd(obj),
        (g, _) if g.ends_with(".toolkit.fluxcd.io") => flux(obj),
        _ => ready_condition(obj),
    }
}

/// Checks that apply to every kind; `None` when they say nothing.
fn generic(obj: &Value) -> Option<Status> {
    if str_at(obj, &["metadata", "deletionTimestamp"]).is_some() {
        return Some(Status::new(
            State::Terminating,
            "Resource scheduled for deletion",
        ));
    }
    if let (Some(gen), Some(observed)) = (
        int_at(obj, &["metadata", "generation"]),
        int_at(obj, &["status", "observedGeneration"]),
    ) {
        if gen != observed {
            return Some(Status::new(
                State::InProgress,
                format!(
                    "{} generation is {gen}, but latest observed generation is {observed}",
                    kind(obj)
                ),
            ));
        }
    }
    if let Some(("True", reason, message)) = condition(obj, "Reconciling") {
        return Some(Status::new(State::InProgress, cond_text(reason, message)));
    }
    if let Some(("True", reason, message)) = condition(obj, "Stalled") {
        return Some(Status::new(State::Failed, cond_text(reason, message)));
    }
    None
}

fn spec_replicas(obj: &Value) -> i64 {
    int_at(obj, &["spec", "replicas"]).unwrap_or(1)
}

fn status_int(obj: &Value, field: &str) -> i64 {
    int_at(obj, &["status", field]).unwrap_or(0)
}

/// kstatus' rollout checks in its order: the first count short of `want` keeps the object
/// InProgress (`Ready: 1/3`).
fn short_of(want: i64, counts: &[(&str, i64)]) -> Option<Status> {
    counts
        .iter()
        .find(|(_, n)| *n < want)
        .map(|(what, n)| Status::new(State::InProgress, format!("{what}: {n}/{want}")))
}

/// More replicas than the spec asks for: old ones still going away.
fn pending_termination(replicas: i64, spec: i64) -> Option<Status> {
    (replicas > spec).then(|| {
        Status::new(
            State::InProgress,
            format!("Pending termination: {}", replicas - spec),
        )
    })
}

fn needs_observed_generation(obj: &Value) -> Option<Status> {
    if int_at(obj, &["status", "observedGeneration"]).is_none() {
        return Some(Status::new(
            State::InProgress,
            "Waiting for status to be observed",
        ));
    }
    None
}

fn deployment(obj: &Value) -> Status {
    if let Some(s) = needs_observed_generation(obj) {
        return s;
    }
    let mut progressing = false;
    let mut available = false;
    for c in conditions(obj) {
        let (status, reason) = (c["status"].as_str(), c["reason"].as_str());
        match c["type"].as_str() {
            Some("Progressing") => {
                if reason == Some("ProgressDeadlineExceeded") {
                    return Status::new(State::Failed, "Progress deadline exceeded");
                }
                if status == Some("True") && reason == Some("NewReplicaSetAvailable") {
                    progressing = true;
                }
            }
            Some("Available") if status == Some("True") => available = true,
            _ => {}
        }
    }
    let spec = spec_replicas(obj);
    let replicas = status_int(obj, "replicas");
    let updated = status_int(obj, "updatedReplicas");
    let ready = status_int(obj, "readyReplicas");
    let avail = status_int(obj, "availableReplicas");
    let rollout = short_of(spec, &[("Replicas", replicas), ("Updated", updated)])
        .or_else(|| pending_termination(replicas, spec))
        .or_else(|| short_of(spec, &[("Available", avail), ("Ready", ready)]));
    if let Some(s) = rollout {
        return s;
    }
    if !progressing {
        return Status::new(State::InProgress, "ReplicaSet not Available");
    }
    if !available {
        return Status::new(State::InProgress, "Deployment not Available");
    }
    Status::new(
        State::Current,
        format!("Deployment is available. Replicas: {replicas}"),
    )
}

fn stateful_set(obj: &Value) -> Status {
    if let Some(s) = needs_observed_generation(obj) {
        return s;
    }
    if str_at(obj, &["spec", "updateStrategy", "type"]) == Some("OnDelete") {
        return Status::new(
            State::Current,
            "StatefulSet is using the OnDelete update strategy",
        );
    }
    let spec = spec_replicas(obj);
    let replicas = status_int(obj, "replicas");
    let ready = status_int(obj, "readyReplicas");
    let current = status_int(obj, "currentReplicas");
    let rollout = short_of(spec, &[("Replicas", replicas), ("Ready", ready)])
        .or_else(|| pending_termination(replicas, spec));
    if let Some(s) = rollout {
        return s;
    }
    let partition = int_at(
        obj,
        &["spec", "updateStrategy", "rollingUpdate", "partition"],
    );
    if let Some(partition) = partition {
        let updated = status_int(obj, "updatedReplicas");
        if updated < spec - partition {
            return Status::new(
                State::InProgress,
                format!("updated: {updated}/{}", spec - partition),
            );
        }
        return Status::new(
            State::Current,
            format!("Partitioned roll out complete. updated: {updated}"),
        );
    }
    let current_rev = str_at(obj, &["status", "currentRevision"]).unwrap_or_default();
    let update_rev = str_at(obj, &["status", "updateRevision"]).unwrap_or_default();
    if current_rev != update_rev {
        return Status::new(
            State::InProgress,
            format!("waiting for statefulset rolling update to complete {current} pods at revision {update_rev}"),
        );
    }
    short_of(spec, &[("Current", current)]).unwrap_or_else(|| {
        Status::new(
            State::Current,
            format!("All replicas scheduled as expected. Replicas: {replicas}"),
        )
    })
}

fn daemon_set(obj: &Value) -> Status {
    if let Some(s) = needs_observed_generation(obj) {
        return s;
    }
    let desired = status_int(obj, "desiredNumberScheduled");
    let current = status_int(obj, "currentNumberScheduled");
    let updated = status_int(obj, "updatedNumberScheduled");
    let available = status_int(obj, "numberAvailable");
    let ready = status_int(obj, "numberReady");
    if desired == 0 && obj["status"].get("desiredNumberScheduled").is_none() {
        return Status::new(State::InProgress, "Missing .status.desiredNumberScheduled");
    }
    let counts = [
        ("Current", current),
        ("Updated", updated),
        ("Available", available),
        ("Ready", ready),
    ];
    short_of(desired, &counts).unwrap_or_else(|| {
        Status::new(
            State::Current,
            format!("All replicas scheduled as expected. Replicas: {desired}"),
        )
    })
}

fn replica_set(obj: &Value) -> Status {
    if let Some(s) = needs_observed_generation(obj) {
        return s;
    }
    if let Some(("True", reason, message)) = condition(obj, "ReplicaFailure") {
        return Status::new(
            State::InProgress,
            format!("Replica Failure condition. {}", cond_text(reason, message)),
        );
    }
    let spec = spec_replicas(obj);
    let labelled = status_int(obj, "fullyLabeledReplicas");
    let available = status_int(obj, "availableReplicas");
    let ready = status_int(obj, "readyReplicas");
    let replicas = status_int(obj, "replicas");
    let counts = [
        ("Labelled", labelled),
        ("Available", available),
        ("Ready", ready),
    ];
    short_of(spec, &counts)
        .or_else(|| pending_termination(replicas, spec))
        .unwrap_or_else(|| {
            Status::new(
                State::Current,
                format!("ReplicaSet is available. Replicas: {replicas}"),
            )
        })
}

fn job(obj: &Value) -> Status {
    let completions = int_at(obj, &["spec", "completions"]).unwrap_or(1);
    let succeeded = status_int(obj, "succeeded");
    let failed = status_int(obj, "failed");
    let active = status_int(obj, "active");
    if let Some(("True", ..)) = condition(obj, "Failed") {
        return Status::new(
            State::Failed,
            format!("Job Failed. failed: {failed}/{completions}"),
        );
    }
    if let Some(("True", ..)) = condition(obj, "Complete") {
        return Status::new(
            State::Current,
            format!("Job Completed. succeeded: {succeeded}/{completions}"),
        );
    }
    if obj["status"].get("startTime").is_none() {
        return Status::new(State::InProgress, "Job not started");
    }
    Status::new(
        State::InProgress,
        format!("Job in progress. success:{succeeded}, active: {active}, failed: {failed}"),
    )
}

fn pod(obj: &Value) -> Status {
    let phase = str_at(obj, &["status", "phase"]).unwrap_or_default();
    match phase {
        "Succeeded" => return Status::new(State::Current, "Pod has completed successfully"),
        "Failed" => return Status::new(State::Failed, "Pod has completed, but not successfully"),
        _ => {}
    }
    if let Some(("True", ..)) = condition(obj, "Ready") {
        return Status::new(State::Current, "Pod is Ready");
    }
    let statuses = obj["status"]["containerStatuses"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    for c in statuses {
        if str_at(c, &["state", "waiting", "reason"]) == Some("CrashLoopBackOff") {
            return Status::new(
                State::Failed,
                format!(
                    "Pod has crashed: container {} is in CrashLoopBackOff",
                    c["name"].as_str().unwrap_or_default()
                ),
            );
        }
    }
    match phase {
        "Running" => Status::new(State::InProgress, "Pod is running but is not Ready"),
        "Pending" => {
            if let Some(("False", "Unschedulable", message)) = condition(obj, "PodScheduled") {
                return Status::new(
                    State::InProgress,
                    format!("Pod could not be scheduled: {message}"),
                );
            }
            Status::new(State::InProgress, "Pod is in the Pending phase")
        }
        "" => Status::new(State::InProgress, "Pod phase not available"),
        other => Status::new(State::InProgress, format!("Pod phase is {other}")),
    }
}

fn pvc(obj: &Value) -> Status {
    match str_at(obj, &["status", "phase"]) {
        Some("Bound") => Status::new(State::Current, "PVC is Bound"),
        Some("Lost") => Status::new(State::Failed, "PVC is Lost: its volume is gone"),
        phase => Status::new(
            State::InProgress,
            format!("PVC is not Bound. phase: {}", phase.unwrap_or("Pending")),
        ),
    }
}

fn service(obj: &Value) -> Status {
    if str_at(obj, &["spec", "type"]) == Some("LoadBalancer") {
        let ingress = obj["status"]["loadBalancer"]["ingress"]
            .as_array()
            .is_some_and(|a| !a.is_empty());
        if !ingress {
            return Status::new(State::InProgress, "Load balancer ingress not assigned");
        }
    }
    Status::new(State::Current, "Service is ready")
}

fn namespace(obj: &Value) -> Status {
    match str_at(obj, &["status", "phase"]) {
        Some("Terminating") => Status::new(State::Terminating, "Namespace is terminating"),
        _ => Status::new(State::Current, "Namespace is active"),
    }
}

fn crd(obj: &Value) -> Status {
    if let Some(("False", reason, message)) = condition(obj, "NamesAccepted") {
        return Status::new(
            State::Failed,
            format!("CRD names not accepted: {}", cond_text(reason, message)),
        );
    }
    match condition(obj, "Established") {
        Some(("True", ..)) => Status::new(State::Current, "CRD is established"),
        _ => Status::new(State::InProgress, "Install in progress"),
    }
}

/// Flux's kinds: Ready=True at the current generation.
fn flux(obj: &Value) -> Status {
    let gen = int_at(obj, &["metadata", "generation"]);
    let observed = int_at(obj, &["status", "observedGeneration"]);
    if observed.is_none() || (gen.is_some() && gen != observed) {
        return Status::new(
            State::InProgress,
            format!("{} is waiting to be reconciled", kind(obj)),
        );
    }
    // Kinds Flux gives no status conditions (Alert, Provider) are current once observed.
    ready_condition(obj)
}

/// Any other kind: a Ready condition decides; no Ready condition means Current.
fn ready_condition(obj: &Value) -> Status {
    match condition(obj, "Ready") {
        Some(("True", reason, message)) => Status::new(State::Current, cond_text(reason, message)),
        Some(("False", reason, message)) => Status::new(State::Failed, cond_text(reason, message)),
        Some((_, reason, message)) => Status::new(State::InProgress, cond_text(reason, message)),
        None => Status::new(State::Current, "Resource is current"),
    }
}

#[cfg(test)]
mod tests;
