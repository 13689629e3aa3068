//! Provider, Alert and Receiver objects as `flux create alert-provider|alert|receiver` makes them.

use serde_json::{json, Map, Value};

use crate::create::Meta;

/// Flux's notification API versions.
pub const PROVIDER_API_VERSION: &str = "notification.toolkit.fluxcd.io/v1beta3";
/// Receivers are served at v1.
pub const RECEIVER_API_VERSION: &str = "notification.toolkit.fluxcd.io/v1";

/// Why flags do not make an object.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NotifyError {
    /// A required flag is missing.
    #[error("{0} is required")]
    Missing(&'static str),
    /// A flag has a value Flux refuses.
    #[error("invalid {flag} {value:?}: {reason}")]
    Invalid {
        /// The flag.
        flag: &'static str,
        /// The value given.
        value: String,
        /// What is accepted.
        reason: String,
    },
}

fn metadata(meta: &Meta) -> Value {
    let mut m = Map::new();
    if !meta.labels.is_empty() {
        m.insert("labels".into(), json!(meta.labels));
    }
    m.insert("name".into(), json!(meta.name));
    m.insert("namespace".into(), json!(meta.namespace));
    Value::Object(m)
}

fn object(api_version: &str, kind: &str, meta: &Meta, spec: Map<String, Value>) -> Value {
    json!({"apiVersion": api_version, "kind": kind, "metadata": metadata(meta), "spec": spec})
}

/// `create alert-provider` flags.
#[derive(Debug, Clone, Default)]
pub struct ProviderOptions {
    /// `--type` (slack, msteams, generic, github, …).
    pub type_: String,
    /// `--channel`.
    pub channel: Option<String>,
    /// `--username`.
    pub username: Option<String>,
    /// `--address`.
    pub address: Option<String>,
    /// `--secret-ref`.
    pub secret_ref: Option<String>,
}

/// A Provider (v1beta3).
pub fn provider(meta: &Meta, o: &ProviderOptions) -> Result<Value, NotifyError> {
    if o.type_.is_empty() {
        return Err(NotifyError::Missing("--type"));
    }
    let mut spec = Map::new();
    if let Some(a) = o.address.as_ref().filter(|a| !a.is_empty()) {
        spec.insert("address".into(), json!(a));
    }
    if let Some(c) = o.channel.as_ref().filter(|c| !c.is_empty()) {
        spec.insert("channel".into(), json!(c));
    }
    if let Some(s) = o.secret_ref.as_ref().filter(|s| !s.is_empty()) {
        spec.insert("secretRef".into(), json!({"name": s}));
    }
    spec.insert("type".into(), json!(o.type_));
    if let Some(u) = o.username.as_ref().filter(|u| !u.is_empty()) {
        spec.insert("username".into(), json!(u));
    }
    Ok(object(PROVIDER_API_VERSION, "Provider", meta, spec))
}

/// `Kind/name` or `Kind/name.namespace` (Flux's `--event-source` / `--resource` syntax).
fn parse_ref(flag: &'static str, text: &str) -> Result<Value, NotifyError> {
    let invalid = |reason: &str| NotifyError::Invalid {
        flag,
        value: text.to_string(),
        reason: reason.to_string(),
    };
    let (kind, rest) = text
        .split_once('/')
        .ok_or_else(|| invalid("use Kind/name or Kind/name.namespace"))?;
    if kind.is_empty() || rest.is_empty() {
        return Err(invalid("use Kind/name or Kind/name.namespace"));
    }
    let mut r = Map::new();
    r.insert("kind".into(), json!(kind));
    match rest.split_once('.') {
        Some((name, ns)) if !name.is_empty() && !ns.is_empty() => {
            r.insert("name".into(), json!(name));
            r.insert("namespace".into(), json!(ns));
        }
        _ => {
            r.insert("name".into(), json!(rest));
        }
    }
    Ok(Value::Object(r))
}

/// `create alert` flags.
#[derive(Debug, Clone, Default)]
pub struct AlertOptions {
    /// `--provider-ref`.
    pub provider_ref: String,
    /// `--event-severity` (info or error).
    pub event_severity: Option<String>,
    /// `--event-source Kind/name` (repeatable).
    pub event_sources: Vec<String>,
}

/// An Alert (v1beta3).
pub fn alert(meta: &Meta, o: &AlertOptions) -> Result<Value, NotifyError> {
    if o.provider_ref.is_empty() {
        return Err(NotifyError::Missing("--provider-ref"));
    }
    if o.event_sources.is_empty() {
        return Err(NotifyError::Missing("--event-source"));
    }
    let mut spec = Map::new();
    if let Some(sev) = o.event_severity.as_ref().filter(|s| !s.is_empty()) {
        if sev != "info" && sev != "error" {
            return Err(NotifyError::Invalid {
                flag: "--event-severity",
                value: sev.clone(),
                reason: "use info or error".to_string(),
            });
        }
        spec.insert("eventSeverity".into(), json!(sev));
    }
    let sources = o
        .event_sources
        .iter()
        .map(|s| parse_ref("--event-source", s))
        .collect::<Result<Vec<_>, _>>()?;
    spec.insert("eventSources".into(), Value::Array(sources));
    spec.insert("providerRef".into(), json!({"name": o.provider_ref}));
    Ok(object(PROVIDER_API_VERSION, "Alert", meta, spec))
}

/// `create receiver` flags.
#[derive(Debug, Clone, Default)]
pub struct ReceiverOptions {
    /// `--type` (github, gitlab, generic, …).
    pub type_: String,
    /// `--event` (repeatable).
    pub events: Vec<String>,
    /// `--resource Kind/name` (repeatable).
    pub resources: Vec<String>,
    /// `--secret-ref`.
    pub secret_ref: String,
}

/// A Receiver (v1).
pub fn receiver(meta: &Meta, o: &ReceiverOptions) -> Result<Value, NotifyError> {
    if o.type_.is_empty() {
        return Err(NotifyError::Missing("--type"));
    }
    if o.secret_ref.is_empty() {
        return Err(NotifyError::Missing("--secret-ref"));
    }
    if o.resources.is_empty() {
        return Err(NotifyError::Missing("--resource"));
    }
    let mut spec = Map::new();
    if !o.events.is_empty() {
        spec.insert("events".into(), json!(o.events));
    }
    let resources = o
        .resources
        .iter()
        .map(|s| parse_ref("--resource", s))
        .collect::<Result<Vec<_>, _>>()?;
    spec.insert("resources".into(), Value::Array(resources));
    spec.insert("secretRef".into(), json!({"name": o.secret_ref}));
    spec.insert("type".into(), json!(o.type_));
    Ok(object(RECEIVER_API_VERSION, "Receiver", meta, spec))
}

/// The URL a created Receiver is called at: `base` (scheme and host of the receiver server)
/// joined with `status.webhookPath`.
pub fn webhook_url(base: &str, webhook_path: &str) -> String {
    format!("{}{}", base.trim_end_matches('/'), webhook_path)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn meta(name: &str) -> Meta {
        Meta {
            name: name.into(),
            namespace: "flux-system".into(),
            labels: BTreeMap::new(),
        }
    }

    #[test]
    fn provider_fields_in_flux_order() {
        let o = ProviderOptions {
            type_: "slack".into(),
            channel: Some("general".into()),
            address: Some("https://hooks.slack.com/services/x".into()),
            secret_ref: Some("webhook-url".into()),
            ..ProviderOptions::default()
        };
        let v = provider(&meta("slack"), &o).unwrap();
        let keys: Vec<&String> = v["spec"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["address", "channel", "secretRef", "type"]);
        assert_eq!(v["apiVersion"], PROVIDER_API_VERSION);
        assert_eq!(v["spec"]["secretRef"]["name"], "webhook-url");
        assert_eq!(
            provider(&meta("x"), &ProviderOptions::default()),
            Err(NotifyError::Missing("--type"))
        );
    }

    #[test]
    fn alert_sources_parse_kind_name_namespace() {
        let o = AlertOptions {
            provider_ref: "slack".into(),
            event_severity: Some("error".into()),
            event_sources: vec!["Kustomization/*".into(), "GitRepository/fleet.team".into()],
        };
        let v = alert(&meta("on-call"), &o).unwrap();
        assert_eq!(
            v["spec"]["eventSources"],
            json!([{"kind": "Kustomization", "name": "*"},
                   {"kind": "GitRepository", "name": "fleet", "namespace": "team"}])
        );
        let bad = AlertOptions {
            event_sources: vec!["fleet".into()],
            ..o.clone()
        };
        assert!(matches!(
            alert(&meta("a"), &bad),
            Err(NotifyError::Invalid {
                flag: "--event-source",
                ..
            })
        ));
        let sev = AlertOptions {
            event_severity: Some("warning".into()),
            ..o
        };
        assert!(alert(&meta("a"), &sev).is_err());
    }

    #[test]
    fn receiver_spec() {
        let o = ReceiverOptions {
            type_: "github".into(),
            events: vec!["ping".into(), "push".into()],
            resources: vec!["GitRepository/webapp".into()],
            secret_ref: "webhook-token".into(),
        };
        let v = receiver(&meta("gh"), &o).unwrap();
        assert_eq!(v["apiVersion"], RECEIVER_API_VERSION);
        let keys: Vec<&String> = v["spec"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["events", "resources", "secretRef", "type"]);
        assert_eq!(
            webhook_url("http://127.0.0.1:9292/", "/hook/ab"),
            "http://127.0.0.1:9292/hook/ab"
        );
    }
}
