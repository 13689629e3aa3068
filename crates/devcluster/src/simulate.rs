//! The simulated node: after a delay, fills workload status as the real controllers and
//! kubelet would (replica counts, observedGeneration, conditions with their real reasons).
//! The annotation `dev.flotilla.io/simulate: unready|failed` holds an object back.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;
use tokio::time::Instant;

use crate::objects::{self, now_rfc3339};
use crate::server::{Ctx, SimulateOptions};
use crate::store::{object_rv, EventType, Precondition};

/// Annotation that keeps an object unready (`unready`) or failed (`failed`).
pub const ANNOTATION: &str = "dev.flotilla.io/simulate";

const WATCHED: &[&str] = &[
    "apps/deployments",
    "apps/statefulsets",
    "apps/daemonsets",
    "apps/replicasets",
    "batch/jobs",
    "/pods",
    "/persistentvolumeclaims",
    "/services",
];

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Ready,
    Unready,
    Failed,
}

fn mode(obj: &Value) -> Mode {
    match obj["metadata"]["annotations"][ANNOTATION].as_str() {
        Some("unready") => Mode::Unready,
        Some("failed") => Mode::Failed,
        _ => Mode::Ready,
    }
}

type Id = (String, String, String);

pub(crate) async fn run(ctx: Arc<Ctx>, opts: SimulateOptions) {
    let mut rx = ctx.store.subscribe();
    let mut pending: HashMap<Id, Instant> = HashMap::new();
    let scan = |pending: &mut HashMap<Id, Instant>| {
        let due = Instant::now() + opts.delay;
        for key in WATCHED {
            let (objs, _) = ctx.store.list(key, None, None);
            for o in objs {
                pending.insert(
                    (
                        key.to_string(),
                        objects::ns_of(&o).into(),
                        objects::name_of(&o).into(),
                    ),
                    due,
                );
            }
        }
    };
    scan(&mut pending);
    let mut stop = ctx.shutdown.clone();
    loop {
        let wait = pending
            .values()
            .min()
            .map(|d| d.saturating_duration_since(Instant::now()))
            .unwrap_or(Duration::from_secs(3600));
        tokio::select! {
            _ = stop.changed() => return,
            ev = rx.recv() => match ev {
                Ok(ev) => {
                    if ev.kind != EventType::Deleted && WATCHED.contains(&&*ev.key) {
                        let id = (ev.key.to_string(), objects::ns_of(&ev.object).into(), objects::name_of(&ev.object).into());
                        pending.entry(id).or_insert(Instant::now() + opts.delay);
                    }
                }
                Err(RecvError::Lagged(_)) => scan(&mut pending),
                Err(RecvError::Closed) => return,
            },
            _ = tokio::time::sleep(wait) => {
                let now = Instant::now();
                let due: Vec<Id> = pending.iter().filter(|(_, d)| **d <= now).map(|(k, _)| k.clone()).collect();
                for id in due {
                    pending.remove(&id);
                    if !step(&ctx, &id) {
                        // Lost a race with another writer: look again shortly.
                        pending.insert(id, Instant::now() + Duration::from_millis(50));
                    }
                }
            }
        }
    }
}

/// Writes the object's simulated status if it differs; false when the write conflicted.
fn step(ctx: &Ctx, (key, ns, name): &Id) -> bool {
    let Some(obj) = ctx.store.get(key, ns, name) else {
        return true;
    };
    if !obj["metadata"]["deletionTimestamp"].is_null() {
        return true;
    }
    let Some(mut status) = desired(key, &obj) else {
        return true;
    };
    condition_time_fields(key, &mut status);
    keep_times(&mut status, &obj["status"]);
    if obj["status"] == status {
        return true;
    }
    let mut new = (*obj).clone();
    new["status"] = status;
    if let Some(res) = ctx.registry.by_key(key) {
        crate::managed::record_controller(&res, &mut new, &obj, "kube-controller-manager");
    }
    match ctx
        .store
        .put(key, ns, name, Precondition::Rv(object_rv(&obj)), new)
    {
        Ok(_) => true,
        Err(crate::store::StoreError::Conflict) => false,
        Err(e) => {
            tracing::warn!(%key, %ns, %name, error = %e, "simulated status write failed");
            true
        }
    }
}

/// Condition timestamps and start times survive recomputation, so an unchanged status
/// compares equal and is not rewritten.
fn keep_times(status: &mut Value, old: &Value) {
    let now = now_rfc3339();
    if let Some(conds) = status.get_mut("conditions").and_then(Value::as_array_mut) {
        for c in conds {
            let prev = old["conditions"].as_array().and_then(|a| {
                a.iter()
                    .find(|p| p["type"] == c["type"] && p["status"] == c["status"])
            });
            for field in ["lastTransitionTime", "lastUpdateTime", "lastProbeTime"] {
                if c.get(field).is_some() {
                    c[field] = prev
                        .map(|p| p[field].clone())
                        .filter(|v| !v.is_null())
                        .unwrap_or(json!(now));
                }
            }
        }
    }
    for field in ["startTime", "completionTime"] {
        if status.get(field).is_some() {
            if let Some(v) = old.get(field).filter(|v| !v.is_null()) {
                status[field] = v.clone();
            } else {
                status[field] = json!(now);
            }
        }
    }
    if let Some(cs) = status
        .get_mut("containerStatuses")
        .and_then(Value::as_array_mut)
    {
        for c in cs {
            if c["state"]["running"].is_object() {
                let prev = old["containerStatuses"]
                    .as_array()
                    .and_then(|a| a.iter().find(|p| p["name"] == c["name"]))
                    .map(|p| p["state"]["running"]["startedAt"].clone())
                    .filter(|v| !v.is_null());
                c["state"]["running"]["startedAt"] = prev.unwrap_or(json!(now));
            }
        }
    }
}

fn cond(ty: &str, status: bool, reason: &str, message: &str) -> Value {
    json!({
        "type": ty, "status": if status { "True" } else { "False" },
        "reason": reason, "message": message,
        "lastTransitionTime": "", "lastUpdateTime": "",
    })
}

/// Only Deployment conditions have `lastUpdateTime`; Job conditions have `lastProbeTime`
/// (the status must decode as the kind's real type).
fn condition_time_fields(key: &str, status: &mut Value) {
    if key == "apps/deployments" {
        return;
    }
    let Some(conds) = status.get_mut("conditions").and_then(Value::as_array_mut) else {
        return;
    };
    for c in conds.iter_mut().filter_map(Value::as_object_mut) {
        if c.remove("lastUpdateTime").is_some() && key == "batch/jobs" {
            c.insert("lastProbeTime".into(), json!(""));
        }
    }
}

fn pod_cond(ty: &str, status: bool, reason: Option<&str>) -> Value {
    let mut c = json!({"type": ty, "status": if status { "True" } else { "False" }, "lastProbeTime": null, "lastTransitionTime": ""});
    if let Some(r) = reason {
        c["reason"] = json!(r);
    }
    c
}

/// A short stable hash, as pod-template-hash / controller-revision-hash look.
fn short_hash(v: &Value) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in v.to_string().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..10)
        .map(|i| ALPHABET[((h >> (i * 6)) % ALPHABET.len() as u64) as usize] as char)
        .collect()
}

fn desired(key: &str, o: &Value) -> Option<Value> {
    let m = mode(o);
    let gen = o["metadata"]["generation"].as_i64().unwrap_or(1);
    let replicas = o["spec"]["replicas"].as_i64().unwrap_or(1);
    let name = objects::name_of(o);
    let ready = m == Mode::Ready;
    Some(match key {
        "apps/deployments" => {
            let rs = format!("{name}-{}", short_hash(&o["spec"]["template"]));
            let progressing = match m {
                Mode::Ready => cond(
                    "Progressing",
                    true,
                    "NewReplicaSetAvailable",
                    &format!("ReplicaSet \"{rs}\" has successfully progressed."),
                ),
                Mode::Unready => cond(
                    "Progressing",
                    true,
                    "ReplicaSetUpdated",
                    &format!("ReplicaSet \"{rs}\" is progressing."),
                ),
                Mode::Failed => cond(
                    "Progressing",
                    false,
                    "ProgressDeadlineExceeded",
                    &format!("ReplicaSet \"{rs}\" has timed out progressing."),
                ),
            };
            let available = if ready || replicas == 0 {
                cond(
                    "Available",
                    true,
                    "MinimumReplicasAvailable",
                    "Deployment has minimum availability.",
                )
            } else {
                cond(
                    "Available",
                    false,
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.",
                )
            };
            let mut s = json!({
                "observedGeneration": gen,
                "replicas": replicas,
                "updatedReplicas": replicas,
                "conditions": [available, progressing],
            });
            if ready && replicas > 0 {
                s["readyReplicas"] = json!(replicas);
                s["availableReplicas"] = json!(replicas);
            } else if replicas > 0 {
                s["unavailableReplicas"] = json!(replicas);
            }
            s
        }
        "apps/replicasets" => {
            let n = if ready { replicas } else { 0 };
            json!({"observedGeneration": gen, "replicas": replicas, "fullyLabeledReplicas": replicas, "readyReplicas": n, "availableReplicas": n})
        }
        "apps/statefulsets" => {
            let rev = format!("{name}-{}", short_hash(&o["spec"]["template"]));
            let n = if ready { replicas } else { 0 };
            json!({
                "observedGeneration": gen, "replicas": replicas, "readyReplicas": n, "currentReplicas": replicas,
                "updatedReplicas": replicas, "availableReplicas": n, "currentRevision": rev, "updateRevision": rev,
                "collisionCount": 0,
            })
        }
        "apps/daemonsets" => {
            let n = if ready { 1 } else { 0 };
            let mut s = json!({
                "observedGeneration": gen, "desiredNumberScheduled": 1, "currentNumberScheduled": 1,
                "numberReady": n, "numberAvailable": n, "updatedNumberScheduled": 1, "numberMisscheduled": 0,
            });
            if !ready {
                s["numberUnavailable"] = json!(1);
            }
            s
        }
        "batch/jobs" => {
            let completions = o["spec"]["completions"].as_i64().unwrap_or(1);
            match m {
                Mode::Ready => json!({
                    "startTime": "", "completionTime": "", "succeeded": completions, "ready": 0,
                    "conditions": [cond("Complete", true, "CompletionsReached", "Reached expected number of succeeded pods")],
                }),
                Mode::Unready => json!({"startTime": "", "active": 1, "ready": 0}),
                Mode::Failed => json!({
                    "startTime": "", "failed": 1, "ready": 0,
                    "conditions": [cond("Failed", true, "BackoffLimitExceeded", "Job has reached the specified backoff limit")],
                }),
            }
        }
        "/pods" => {
            let containers: Vec<Value> = o["spec"]["containers"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|c| {
                            let mut s = json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": ready, "restartCount": 0, "started": ready});
                            s["state"] = if m == Mode::Failed {
                                json!({"terminated": {"exitCode": 1, "reason": "Error"}})
                            } else {
                                json!({"running": {"startedAt": ""}})
                            };
                            s
                        })
                        .collect()
                })
                .unwrap_or_default();
            let reason = (!ready).then_some("ContainersNotReady");
            json!({
                "phase": if m == Mode::Failed { "Failed" } else { "Running" },
                "conditions": [
                    pod_cond("Initialized", true, None),
                    pod_cond("Ready", ready, reason),
                    pod_cond("ContainersReady", ready, reason),
                    pod_cond("PodScheduled", true, None),
                ],
                "hostIP": "127.0.0.1", "podIP": "10.244.0.10", "podIPs": [{"ip": "10.244.0.10"}],
                "startTime": "", "qosClass": "BestEffort", "containerStatuses": containers,
            })
        }
        "/persistentvolumeclaims" => match m {
            Mode::Ready => json!({
                "phase": "Bound",
                "accessModes": o["spec"]["accessModes"],
                "capacity": {"storage": o["spec"]["resources"]["requests"]["storage"]},
            }),
            Mode::Unready => json!({"phase": "Pending"}),
            Mode::Failed => json!({"phase": "Lost"}),
        },
        "/services" => {
            if o["spec"]["type"] != json!("LoadBalancer") {
                return None;
            }
            if ready {
                json!({"loadBalancer": {"ingress": [{"ip": "127.0.0.1", "ipMode": "VIP"}]}})
            } else {
                json!({"loadBalancer": {}})
            }
        }
        _ => return None,
    })
}
