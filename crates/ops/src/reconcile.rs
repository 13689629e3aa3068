//! Reconcile on demand, suspend and resume: set `reconcile.fluxcd.io/requestedAt` or
//! `spec.suspend`, then wait until the controller reports having handled the request.

use std::time::{Duration, Instant};

use flotilla_api::reconcile::REQUESTED_AT_ANNOTATION;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::{json, Value};

use crate::get::{conditions, str_at};
use crate::kinds::FluxKind;

/// Why a reconcile request or wait failed.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// No such object.
    #[error("{kind} object '{name}' not found in \"{namespace}\" namespace; list them with `flotilla get {hint}`")]
    NotFound {
        /// Kind.
        kind: FluxKind,
        /// Name.
        name: String,
        /// Namespace.
        namespace: String,
        /// The `get` arguments listing that kind.
        hint: &'static str,
    },
    /// The object is suspended: a reconcile request would not be handled.
    #[error("{kind} {namespace}/{name} is suspended; run `flotilla resume {verb} {name}` first")]
    Suspended {
        /// Kind.
        kind: FluxKind,
        /// Name.
        name: String,
        /// Namespace.
        namespace: String,
        /// CLI words naming the kind.
        verb: &'static str,
    },
    /// The kind has no reconcile loop.
    #[error("{0} objects are not reconciled")]
    NotReconciled(FluxKind),
    /// The request was not handled in time.
    #[error("timed out after {timeout:?} waiting for {kind} {namespace}/{name} to {what}; is a controller running (`flotilla controller`)? last status: {last}")]
    Timeout {
        /// Kind.
        kind: FluxKind,
        /// Name.
        name: String,
        /// Namespace.
        namespace: String,
        /// What was awaited.
        what: &'static str,
        /// The timeout.
        timeout: Duration,
        /// The Ready message seen last.
        last: String,
    },
    /// The controller handled the request and reports failure.
    #[error("{kind} {namespace}/{name} reconciliation failed: {message}")]
    Failed {
        /// Kind.
        kind: FluxKind,
        /// Name.
        name: String,
        /// Namespace.
        namespace: String,
        /// The Ready condition's message.
        message: String,
    },
    /// The API server refused a request or could not be reached.
    #[error(transparent)]
    Api(#[from] kube::Error),
}

/// How long and how often to wait.
#[derive(Debug, Clone)]
pub struct WaitOptions {
    /// Give up after this long.
    pub timeout: Duration,
    /// Poll period.
    pub poll: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            timeout: Duration::from_secs(300),
            poll: Duration::from_millis(250),
        }
    }
}

/// The words the CLI uses for a kind (`source git`, `kustomization`, `image repository`…).
pub fn cli_words(kind: FluxKind) -> &'static str {
    match kind {
        FluxKind::GitRepository => "source git",
        FluxKind::Kustomization => "kustomization",
        FluxKind::ImageRepository => "image repository",
        FluxKind::ImagePolicy => "image policy",
        FluxKind::ImageUpdateAutomation => "image update",
        FluxKind::Provider => "alert-provider",
        FluxKind::Alert => "alert",
        FluxKind::Receiver => "receiver",
    }
}

fn get_words(kind: FluxKind) -> &'static str {
    match kind {
        FluxKind::GitRepository => "sources git",
        FluxKind::Kustomization => "kustomizations",
        FluxKind::ImageRepository => "images repository",
        FluxKind::ImagePolicy => "images policy",
        FluxKind::ImageUpdateAutomation => "images update",
        _ => "all",
    }
}

fn api(client: &kube::Client, kind: FluxKind, namespace: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), namespace, &kind.api_resource())
}

/// Reads one object as JSON, with a clear not-found error.
pub async fn fetch(
    client: &kube::Client,
    kind: FluxKind,
    namespace: &str,
    name: &str,
) -> Result<Value, ReconcileError> {
    match api(client, kind, namespace).get_opt(name).await? {
        Some(obj) => Ok(serde_json::to_value(obj).unwrap_or(Value::Null)),
        None => Err(ReconcileError::NotFound {
            kind,
            name: name.to_string(),
            namespace: namespace.to_string(),
            hint: get_words(kind),
        }),
    }
}

/// A fresh `requestedAt` value (RFC 3339 with nanoseconds, as Flux's CLI writes).
pub fn request_token() -> String {
    k8s_openapi::jiff::Timestamp::now().to_string()
}

/// Sets `reconcile.fluxcd.io/requestedAt` and returns the value written. Refuses suspended
/// objects, whose requests would never be handled.
pub async fn request(
    client: &kube::Client,
    kind: FluxKind,
    namespace: &str,
    name: &str,
) -> Result<String, ReconcileError> {
    if !kind.reconciles() {
        return Err(ReconcileError::NotReconciled(kind));
    }
    let obj = fetch(client, kind, namespace, name).await?;
    if obj["spec"]["suspend"].as_bool().unwrap_or(false) {
        return Err(ReconcileError::Suspended {
            kind,
            name: name.to_string(),
            namespace: namespace.to_string(),
            verb: cli_words(kind),
        });
    }
    let token = request_token();
    let patch = json!({"metadata": {"annotations": {REQUESTED_AT_ANNOTATION: token}}});
    api(client, kind, namespace)
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(token)
}

/// Sets `spec.suspend` (true: suspend; false: resume and request a reconcile, whose token is
/// returned).
pub async fn set_suspend(
    client: &kube::Client,
    kind: FluxKind,
    namespace: &str,
    name: &str,
    suspend: bool,
) -> Result<Option<String>, ReconcileError> {
    if !kind.reconciles() && kind != FluxKind::Alert && kind != FluxKind::Provider {
        return Err(ReconcileError::NotReconciled(kind));
    }
    fetch(client, kind, namespace, name).await?;
    let (patch, token) = if suspend {
        (json!({"spec": {"suspend": true}}), None)
    } else {
        let token = request_token();
        (
            json!({"metadata": {"annotations": {REQUESTED_AT_ANNOTATION: token}},
                   "spec": {"suspend": false}}),
            Some(token),
        )
    };
    api(client, kind, namespace)
        .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(token)
}

/// The outcome of a handled reconcile.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The object as last read.
    pub object: Value,
    /// The revision it reports (artifact, last applied, latest image…), if any.
    pub revision: Option<String>,
    /// The Ready message.
    pub message: String,
}

/// Waits until `status.lastHandledReconcileAt` equals `token` and the Ready condition is
/// settled for the current generation; then returns the outcome, or the failure message.
pub async fn wait_handled(
    client: &kube::Client,
    kind: FluxKind,
    namespace: &str,
    name: &str,
    token: &str,
    opts: &WaitOptions,
) -> Result<Outcome, ReconcileError> {
    let target = Target {
        kind,
        namespace,
        name,
    };
    poll_until(
        client,
        target,
        opts,
        "handle the reconcile request",
        |obj| str_at(&obj["status"], "lastHandledReconcileAt") == token,
    )
    .await
}

/// Waits until the object's Ready condition is settled for its current generation (after a
/// create or update), then returns the outcome or the failure message.
pub async fn wait_ready(
    client: &kube::Client,
    kind: FluxKind,
    namespace: &str,
    name: &str,
    opts: &WaitOptions,
) -> Result<Outcome, ReconcileError> {
    let target = Target {
        kind,
        namespace,
        name,
    };
    poll_until(client, target, opts, "become ready", |obj| {
        obj["status"]["observedGeneration"].is_i64()
    })
    .await
}

/// The object a wait is about.
#[derive(Clone, Copy)]
struct Target<'a> {
    kind: FluxKind,
    namespace: &'a str,
    name: &'a str,
}

/// Reads the object every `opts.poll` until `seen` holds and its Ready condition is settled,
/// or `opts.timeout` passes (the error then says what it was waiting to `what` and the last
/// Ready condition seen).
async fn poll_until(
    client: &kube::Client,
    t: Target<'_>,
    opts: &WaitOptions,
    what: &'static str,
    seen: impl Fn(&Value) -> bool,
) -> Result<Outcome, ReconcileError> {
    let start = Instant::now();
    let mut last = String::from("no status yet");
    loop {
        let obj = fetch(client, t.kind, t.namespace, t.name).await?;
        if let Some(c) = conditions(&obj)
            .iter()
            .find(|c| str_at(c, "type") == "Ready")
        {
            last = format!("Ready={} {}", str_at(c, "status"), str_at(c, "message"));
        }
        if seen(&obj) {
            if let Some(result) = settled(t.kind, t.namespace, t.name, &obj) {
                return result;
            }
        }
        if start.elapsed() >= opts.timeout {
            return Err(ReconcileError::Timeout {
                kind: t.kind,
                name: t.name.to_string(),
                namespace: t.namespace.to_string(),
                what,
                timeout: opts.timeout,
                last,
            });
        }
        tokio::time::sleep(opts.poll).await;
    }
}

/// `Some` once Ready is True or False for the current generation (not Unknown, not
/// Reconciling).
fn settled(
    kind: FluxKind,
    namespace: &str,
    name: &str,
    obj: &Value,
) -> Option<Result<Outcome, ReconcileError>> {
    let generation = obj["metadata"]["generation"].as_i64();
    let observed = obj["status"]["observedGeneration"].as_i64();
    if generation.is_some() && observed.is_some() && generation != observed {
        return None;
    }
    let ready = conditions(obj)
        .iter()
        .find(|c| str_at(c, "type") == "Ready")?;
    let message = str_at(ready, "message").to_string();
    match str_at(ready, "status") {
        "True" => Some(Ok(Outcome {
            revision: revision(kind, obj),
            message,
            object: obj.clone(),
        })),
        "False" => Some(Err(ReconcileError::Failed {
            kind,
            name: name.to_string(),
            namespace: namespace.to_string(),
            message,
        })),
        _ => None,
    }
}

/// The revision an object reports, by kind.
pub fn revision(kind: FluxKind, obj: &Value) -> Option<String> {
    let status = &obj["status"];
    let text = match kind {
        FluxKind::GitRepository => str_at(&status["artifact"], "revision").to_string(),
        FluxKind::Kustomization => str_at(status, "lastAppliedRevision").to_string(),
        FluxKind::ImageRepository => {
            let n = status["lastScanResult"]["tagCount"].as_i64().unwrap_or(0);
            format!("{n} tags")
        }
        FluxKind::ImagePolicy => {
            let r = &status["latestRef"];
            let tag = str_at(r, "tag");
            if tag.is_empty() {
                String::new()
            } else {
                format!("{}:{tag}", str_at(r, "name"))
            }
        }
        FluxKind::ImageUpdateAutomation => str_at(status, "lastPushCommit").to_string(),
        _ => String::new(),
    };
    (!text.is_empty()).then_some(text)
}

/// The source a Kustomization reads (`spec.sourceRef`), as kind, namespace and name.
pub fn source_of(kustomization: &Value) -> Option<(FluxKind, String, String)> {
    let r = &kustomization["spec"]["sourceRef"];
    let kind = FluxKind::parse(str_at(r, "kind")).ok()?;
    let ns = match str_at(r, "namespace") {
        "" => str_at(&kustomization["metadata"], "namespace"),
        ns => ns,
    };
    Some((kind, ns.to_string(), str_at(r, "name").to_string()))
}
