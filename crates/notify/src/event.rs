//! The event model Flux controllers post to notification-controller (`fluxcd/pkg/apis/event`),
//! so Flux controllers and Flotilla's reconcilers feed the same pipeline.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::crypto::sha256_hex;

/// Metadata key of the source revision (`<group>/revision` as sent, `revision` after
/// [`Event::strip_group_metadata`]).
pub const META_REVISION: &str = "revision";
/// Metadata key of the token that keeps otherwise equal events apart in rate limiting.
pub const META_TOKEN: &str = "token";
/// Metadata key marking commit-status-only events.
pub const META_COMMIT_STATUS: &str = "commit_status";
/// [`META_COMMIT_STATUS`] value of events that only update a commit status (chat providers skip them).
pub const META_COMMIT_STATUS_UPDATE: &str = "update";
/// Metadata key added from `Alert.spec.summary`.
pub const META_SUMMARY: &str = "summary";
/// Metadata keys dropped before alerting (noise in messages), as Flux drops them.
const DROPPED_KEYS: [&str; 2] = ["checksum", "digest"];

/// How serious an event is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Fine-grained progress; never forwarded to providers.
    Trace,
    /// Something happened (a reconcile succeeded, a revision was applied).
    Info,
    /// Something failed.
    Error,
}

impl Severity {
    /// `info`, `error` or `trace`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Trace => "trace",
            Severity::Info => "info",
            Severity::Error => "error",
        }
    }
}

/// A report about an object, in the JSON shape of Flux's `Event` (the body of Flux's
/// `generic` provider and of the notification-controller's event endpoint).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    /// The object the event is about (kind, namespace, name, uid, apiVersion).
    pub involved_object: ObjectReference,
    /// `info` or `error` (or `trace`).
    pub severity: Severity,
    /// When it happened (RFC 3339, seconds).
    pub timestamp: Time,
    /// Human-readable description.
    #[serde(default)]
    pub message: String,
    /// Machine-readable reason, e.g. `ReconciliationSucceeded`.
    #[serde(default)]
    pub reason: String,
    /// Extra facts, e.g. the revision. Flux controllers send keys prefixed with the involved
    /// object's API group; [`Event::strip_group_metadata`] turns them into plain keys.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
    /// The controller that emitted the event, e.g. `kustomize-controller`.
    #[serde(default)]
    pub reporting_controller: String,
    /// The controller instance (pod name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reporting_instance: Option<String>,
}

impl Event {
    /// An event about `involved_object`, timestamped now.
    pub fn new(
        involved_object: ObjectReference,
        severity: Severity,
        reason: impl Into<String>,
        message: impl Into<String>,
        reporting_controller: impl Into<String>,
    ) -> Event {
        Event {
            involved_object,
            severity,
            timestamp: Time(Timestamp::now()),
            message: message.into(),
            reason: reason.into(),
            metadata: BTreeMap::new(),
            reporting_controller: reporting_controller.into(),
            reporting_instance: None,
        }
    }

    /// Adds metadata the way Flux controllers send it: the key prefixed with the involved
    /// object's API group (`kustomize.toolkit.fluxcd.io/revision`).
    pub fn with_metadata(mut self, key: &str, value: impl Into<String>) -> Event {
        let group = self.group().to_string();
        let key = if group.is_empty() {
            key.to_string()
        } else {
            format!("{group}/{key}")
        };
        self.metadata.insert(key, value.into());
        self
    }

    /// [`Event::with_metadata`] for the source revision (`main@sha1:<sha>`).
    pub fn with_revision(self, revision: impl Into<String>) -> Event {
        self.with_metadata(META_REVISION, revision)
    }

    /// The API group of the involved object (`""` for the core group).
    pub fn group(&self) -> &str {
        let api_version = self.involved_object.api_version.as_deref().unwrap_or("");
        match api_version.split_once('/') {
            Some((group, _)) => group,
            None => "",
        }
    }

    /// Keeps only the metadata keys prefixed with the involved object's API group, without the
    /// prefix, and drops checksums and digests, as Flux's event server does before alerting.
    pub fn strip_group_metadata(&mut self) {
        let group = self.group().to_string();
        let prefix = format!("{group}/");
        let dropped: Vec<String> = DROPPED_KEYS
            .iter()
            .map(|k| format!("{group}/{k}").to_lowercase())
            .collect();
        let metadata = std::mem::take(&mut self.metadata);
        self.metadata = metadata
            .into_iter()
            .filter(|(key, _)| key.starts_with(&group) && !dropped.contains(&key.to_lowercase()))
            .map(|(key, value)| {
                let key = key.strip_prefix(&prefix).map(str::to_string).unwrap_or(key);
                (key, value)
            })
            .collect();
    }

    /// The revision in the (stripped) metadata.
    pub fn revision(&self) -> Option<&str> {
        self.metadata.get(META_REVISION).map(String::as_str)
    }

    /// Whether the event only updates a commit status (chat providers skip those).
    pub fn is_commit_status_update(&self) -> bool {
        self.metadata.get(META_COMMIT_STATUS).map(String::as_str) == Some(META_COMMIT_STATUS_UPDATE)
    }

    /// `kind/name.namespace` with the kind in lowercase, as chat providers title the object.
    pub fn object_title(&self) -> String {
        let o = &self.involved_object;
        format!(
            "{}/{}.{}",
            o.kind.as_deref().unwrap_or("").to_lowercase(),
            o.name.as_deref().unwrap_or(""),
            o.namespace.as_deref().unwrap_or("")
        )
    }

    /// The duplicate-suppression key: SHA-256 over object, message, revision and token, as
    /// Flux's event server computes it (call after [`Event::strip_group_metadata`]).
    pub fn rate_limit_key(&self) -> String {
        let o = &self.involved_object;
        let mut parts = vec![
            "event".to_string(),
            format!("name={}", o.name.as_deref().unwrap_or("")),
            format!("namespace={}", o.namespace.as_deref().unwrap_or("")),
            format!("kind={}", o.kind.as_deref().unwrap_or("")),
            format!("message={}", self.message),
        ];
        if let Some(revision) = self.metadata.get(META_REVISION) {
            parts.push(format!("revision={revision}"));
        }
        if let Some(token) = self.metadata.get(META_TOKEN) {
            parts.push(format!("token={token}"));
        }
        sha256_hex(parts.join("/").as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> Event {
        Event::new(
            ObjectReference {
                api_version: Some("kustomize.toolkit.fluxcd.io/v1".into()),
                kind: Some("Kustomization".into()),
                name: Some("apps".into()),
                namespace: Some("flux-system".into()),
                ..Default::default()
            },
            Severity::Info,
            "ReconciliationSucceeded",
            "applied",
            "kustomize-controller",
        )
    }

    #[test]
    fn group_metadata_is_stripped_and_noise_dropped() {
        let mut e = event()
            .with_revision("main@sha1:abc")
            .with_metadata("checksum", "x")
            .with_metadata("Digest", "y");
        e.metadata.insert("other.io/key".into(), "z".into());
        e.strip_group_metadata();
        assert_eq!(
            e.metadata.into_iter().collect::<Vec<_>>(),
            vec![("revision".to_string(), "main@sha1:abc".to_string())]
        );
    }

    #[test]
    fn rate_limit_key_depends_on_object_message_and_revision() {
        let a = event().with_revision("r1");
        let mut b = a.clone();
        b.timestamp = Time(Timestamp::UNIX_EPOCH);
        b.reason = "Other".into();
        let key = |mut e: Event| {
            e.strip_group_metadata();
            e.rate_limit_key()
        };
        assert_eq!(key(a.clone()), key(b));
        assert_ne!(key(a.clone()), key(a.clone().with_revision("r2")));
        let mut c = a.clone();
        c.message = "other".into();
        assert_ne!(key(a), key(c));
    }

    #[test]
    fn json_shape_matches_flux() {
        let mut e = event().with_revision("main@sha1:abc");
        e.timestamp = Time(Timestamp::from_second(1_700_000_000).expect("valid time"));
        let v = serde_json::to_value(&e).expect("serialize");
        for field in [
            "involvedObject",
            "severity",
            "timestamp",
            "message",
            "reason",
            "metadata",
            "reportingController",
        ] {
            assert!(v.get(field).is_some(), "{field} missing in {v}");
        }
        assert_eq!(v["severity"], "info");
        assert_eq!(
            v["metadata"]["kustomize.toolkit.fluxcd.io/revision"],
            "main@sha1:abc"
        );
        let back: Event = serde_json::from_value(v).expect("deserialize");
        assert_eq!(back, e);
    }
}
