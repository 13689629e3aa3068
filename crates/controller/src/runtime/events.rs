//! Kubernetes Events (events.k8s.io/v1) about the objects reconciled, reported as Flux's controllers do.

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

/// Publishes events for one controller (`source-controller`, `kustomize-controller`, …).
#[derive(Clone)]
pub struct EventRecorder {
    client: kube::Client,
    controller: &'static str,
    instance: String,
}

impl EventRecorder {
    /// A recorder reporting as `controller` from `instance` (the replica's identity).
    pub fn new(client: kube::Client, controller: &'static str, instance: String) -> EventRecorder {
        EventRecorder {
            client,
            controller,
            instance,
        }
    }

    /// The reporting controller name.
    pub fn controller(&self) -> &'static str {
        self.controller
    }

    /// Publishes `event` about `obj`. Failures are logged, never fatal: events are best effort.
    pub async fn publish<K: Resource<DynamicType = ()>>(&self, obj: &K, event: &EventNote) {
        let regarding = ObjectReference {
            api_version: Some(K::api_version(&()).into_owned()),
            kind: Some(K::kind(&()).into_owned()),
            name: Some(obj.name_any()),
            namespace: obj.namespace(),
            uid: obj.meta().uid.clone(),
            resource_version: obj.meta().resource_version.clone(),
            field_path: None,
        };
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
