//! Kubernetes Events (events.k8s.io/v1) about the objects reconciled, reported as Flux's controllers do.

use std::sync::{Arc, Mutex, Weak};

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use kube::{Resource, ResourceExt};

/// `Normal` or `Warning`, as Kubernetes spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Progress or success.
    Normal,
    /// A failure.
    Warning,
}

/// One event to publish: reason (CamelCase) and note (human text, never a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventNote {
    /// Normal or Warning.
    pub type_: EventType,
    /// CamelCase reason (`NewArtifact`, `GitOperationFailed`, …).
    pub reason: String,
    /// Human-readable message.
    pub note: String,
    /// Flux's event metadata (for example `source.toolkit.fluxcd.io/revision`), as annotations.
    pub metadata: Vec<(String, String)>,
}

impl EventNote {
    /// A Normal event.
    pub fn normal(reason: impl Into<String>, note: impl Into<String>) -> EventNote {
        EventNote {
            type_: EventType::Normal,
            reason: reason.into(),
            note: note.into(),
            metadata: Vec::new(),
        }
    }

    /// A Warning event.
    pub fn warning(reason: impl Into<String>, note: impl Into<String>) -> EventNote {
        EventNote {
            type_: EventType::Warning,
            ..EventNote::normal(reason, note)
        }
    }

    /// Adds an annotation to the event (Flux's event metadata).
    pub fn with_metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> EventNote {
        self.metadata.push((key.into(), value.into()));
        self
    }
}

/// Receives every event a recorder publishes, in process (the notification dispatcher, which
/// matches it against Alerts). Called on the reconcile task: implementations hand the event
/// off and return at once.
pub trait EventSink: Send + Sync + 'static {
    /// `event` about `regarding`, reported by `controller`.
    fn accept(&self, controller: &'static str, regarding: &ObjectReference, event: &EventNote);
}

type SinkEntry = (String, Weak<dyn EventSink>);

/// Sinks by replica identity: recorders are made inside the harness, which knows the identity
/// but not the sink, and several controllers (tests) may share one process.
static SINKS: Mutex<Vec<SinkEntry>> = Mutex::new(Vec::new());

fn sinks() -> std::sync::MutexGuard<'static, Vec<SinkEntry>> {
    match SINKS.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

/// Keeps a sink registered; dropping it unregisters the sink.
pub struct SinkRegistration {
    sink: Arc<dyn EventSink>,
}

impl Drop for SinkRegistration {
    fn drop(&mut self) {
        let mine = Arc::downgrade(&self.sink);
        sinks().retain(|(_, w)| !Weak::ptr_eq(w, &mine) && w.strong_count() > 0);
    }
}

/// Sends every event of recorders made for `instance` from now on to `sink` too, while the
/// returned registration lives.
pub fn register_sink(instance: &str, sink: Arc<dyn EventSink>) -> SinkRegistration {
    let mut all = sinks();
    all.retain(|(_, w)| w.strong_count() > 0);
    all.push((instance.to_string(), Arc::downgrade(&sink)));
    SinkRegistration { sink }
}

/// Publishes events for one controller (`source-controller`, `kustomize-controller`, …).
#[derive(Clone)]
pub struct EventRecorder {
    client: kube::Client,
    controller: &'static str,
    instance: String,
    sink: Option<Weak<dyn EventSink>>,
}

impl EventRecorder {
    /// A recorder reporting as `controller` from `instance` (the replica's identity).
    pub fn new(client: kube::Client, controller: &'static str, instance: String) -> EventRecorder {
        let sink = sinks()
            .iter()
            .rev()
            .find(|(i, w)| *i == instance && w.strong_count() > 0)
            .map(|(_, w)| w.clone());
        EventRecorder {
            client,
            controller,
            instance,
            sink,
        }
    }

    /// The reporting controller name.
    pub fn controller(&self) -> &'static str {
        self.controller
    }

    /// Publishes `event` about `obj`. Failures are logged, never fatal: events are best effort.
    pub async fn publish<K: Resource<DynamicType = ()> + serde::Serialize>(
        &self,
        obj: &K,
        event: &EventNote,
    ) {
        let regarding = ObjectReference {
            api_version: Some(K::api_version(&()).into_owned()),
            kind: Some(K::kind(&()).into_owned()),
            name: Some(obj.name_any()),
            namespace: obj.namespace(),
            uid: obj.meta().uid.clone(),
            resource_version: obj.meta().resource_version.clone(),
            field_path: None,
        };
        if let Some(sink) = self.sink.as_ref().and_then(Weak::upgrade) {
            let with_revision = with_status_revision(obj, event);
            sink.accept(
                self.controller,
                &regarding,
                with_revision.as_ref().unwrap_or(event),
            );
        }
        let namespace = obj.namespace().unwrap_or_else(|| "default".to_string());
        let now = Timestamp::now();
        let annotations =
            (!event.metadata.is_empty()).then(|| event.metadata.iter().cloned().collect());
        let ev = Event {
            metadata: ObjectMeta {
                name: Some(format!("{}.{:x}", obj.name_any(), now.as_nanosecond())),
                namespace: Some(namespace.clone()),
                annotations,
                ..ObjectMeta::default()
            },
            event_time: Some(MicroTime(now)),
            action: Some("reconcile".to_string()),
            reason: Some(event.reason.clone()),
            note: Some(truncate(&event.note, 1024)),
            type_: Some(
                match event.type_ {
                    EventType::Normal => "Normal",
                    EventType::Warning => "Warning",
                }
                .to_string(),
            ),
            regarding: Some(regarding),
            reporting_controller: Some(self.controller.to_string()),
            reporting_instance: Some(self.instance.clone()),
            ..Event::default()
        };
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        if let Err(e) = api.create(&PostParams::default(), &ev).await {
            tracing::warn!(error = %e, reason = %event.reason, "could not publish event");
        }
    }
}

/// Flux's controllers tag every event with the revision the object last worked on
/// (`<group>/revision`), failures included, so Alerts can show it and commit-status providers
/// can key on it. When the note has none, take it from the object's status: a Kustomization's
/// `lastAttemptedRevision`, a source's `artifact.revision`.
fn with_status_revision<K: Resource<DynamicType = ()> + serde::Serialize>(
    obj: &K,
    event: &EventNote,
) -> Option<EventNote> {
    if event.metadata.iter().any(|(k, _)| k.ends_with("/revision")) {
        return None;
    }
    let group = K::group(&());
    if group.is_empty() {
        return None;
    }
    let value = serde_json::to_value(obj).ok()?;
    let status = value.get("status")?;
    let revision = status
        .get("lastAttemptedRevision")
        .or_else(|| status.get("artifact").and_then(|a| a.get("revision")))
        .and_then(|r| r.as_str())
        .filter(|r| !r.is_empty())?;
    Some(
        event
            .clone()
            .with_metadata(format!("{group}/revision"), revision),
    )
}

/// Events are limited to 1 KiB notes by the API server; keep whole characters.
fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_string()
}
