//! Provider, Alert and Receiver objects as `flux create alert-provider|alert|receiver` makes
//! them, and their `get alert-providers|alerts|receivers` tables.

use flotilla_api::notification::{PROVIDER_TYPES, RECEIVER_TYPES, SOURCE_KINDS};
use flotilla_controller::notification::{ProviderKind, ReceiverType};
use serde_json::{json, Map, Value};

use crate::create::{object, CreateError, Meta};
use crate::get::{ready_and_message, str_at};
use crate::kinds::FluxKind;

/// Flux's notification API versions.
pub const PROVIDER_API_VERSION: &str = "notification.toolkit.fluxcd.io/v1beta3";
/// Receivers are served at v1.
pub const RECEIVER_API_VERSION: &str = "notification.toolkit.fluxcd.io/v1";

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

fn non_empty(v: &Option<String>) -> Option<&String> {
    v.as_ref().filter(|s| !s.is_empty())
}

/// A Provider (v1beta3). The type must be one the Provider CRD accepts.
pub fn provider(meta: &Meta, o: &ProviderOptions) -> Result<Value, CreateError> {
    if o.type_.is_empty() {
        return Err(CreateError::Missing("--type"));
    }
    if !PROVIDER_TYPES.contains(&o.type_.as_str()) {
        return Err(CreateError::Invalid {
            flag: "--type",
            value: o.type_.clone(),
            reason: format!(
                "not a Flux provider type; Flotilla sends to {}",
                ProviderKind::SUPPORTED.join(", ")
            ),
        });
    }
    let mut spec = Map::new();
    if let Some(a) = non_empty(&o.address) {
        spec.insert("address".into(), json!(a));
    }
    if let Some(c) = non_empty(&o.channel) {
        spec.insert("channel".into(), json!(c));
    }
    if let Some(s) = non_empty(&o.secret_ref) {
        spec.insert("secretRef".into(), json!({"name": s}));
    }
    spec.insert("type".into(), json!(o.type_));
    if let Some(u) = non_empty(&o.username) {
        spec.insert("username".into(), json!(u));
    }
    Ok(object(
        PROVIDER_API_VERSION,
        "Provider",
        meta,
        Value::Object(spec),
    ))
}

/// Why a Provider type the CRD accepts will still deliver nothing with Flotilla, if it will not.
pub fn provider_type_warning(type_: &str) -> Option<String> {
    ProviderKind::parse(type_).is_none().then(|| {
        format!(
            "provider type {type_:?} is valid for Flux but Flotilla does not send to it (events \
             for its Alerts are counted as failed); Flotilla sends to {}",
            ProviderKind::SUPPORTED.join(", ")
        )
    })
}

/// Why a Receiver type the CRD accepts will still be refused by Flotilla, if it will be.
pub fn receiver_type_warning(type_: &str) -> Option<String> {
    ReceiverType::parse(type_).is_none().then(|| {
        format!(
            "receiver type {type_:?} is valid for Flux but Flotilla does not serve it (the \
             Receiver will be Stalled); Flotilla serves {}",
            ReceiverType::SUPPORTED.join(", ")
        )
    })
}

/// `Kind/name` or `Kind/name.namespace` (Flux's `--event-source` / `--resource` syntax), with
/// the kind one of those the CRDs accept.
fn parse_ref(flag: &'static str, text: &str) -> Result<Value, CreateError> {
    let invalid = |reason: String| CreateError::Invalid {
        flag,
        value: text.to_string(),
        reason,
    };
    let (kind, rest) = text
        .split_once('/')
        .filter(|(k, r)| !k.is_empty() && !r.is_empty())
        .ok_or_else(|| invalid("use Kind/name or Kind/name.namespace".to_string()))?;
    if !SOURCE_KINDS.contains(&kind) {
        return Err(invalid(format!(
            "unknown kind {kind:?}; use one of {}",
            SOURCE_KINDS.join(", ")
        )));
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
pub fn alert(meta: &Meta, o: &AlertOptions) -> Result<Value, CreateError> {
    if o.provider_ref.is_empty() {
        return Err(CreateError::Missing("--provider-ref"));
    }
    if o.event_sources.is_empty() {
        return Err(CreateError::Missing("--event-source"));
    }
    let mut spec = Map::new();
    if let Some(sev) = non_empty(&o.event_severity) {
        if sev != "info" && sev != "error" {
            return Err(CreateError::Invalid {
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
    Ok(object(
        PROVIDER_API_VERSION,
        "Alert",
        meta,
        Value::Object(spec),
    ))
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

/// A Receiver (v1). The type must be one the Receiver CRD accepts.
pub fn receiver(meta: &Meta, o: &ReceiverOptions) -> Result<Value, CreateError> {
    if o.type_.is_empty() {
        return Err(CreateError::Missing("--type"));
    }
    if !RECEIVER_TYPES.contains(&o.type_.as_str()) {
        return Err(CreateError::Invalid {
            flag: "--type",
            value: o.type_.clone(),
            reason: format!(
                "not a Flux receiver type; Flotilla serves {}",
                ReceiverType::SUPPORTED.join(", ")
            ),
        });
    }
    if o.secret_ref.is_empty() {
        return Err(CreateError::Missing("--secret-ref"));
    }
    if o.resources.is_empty() {
        return Err(CreateError::Missing("--resource"));
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
    Ok(object(
        RECEIVER_API_VERSION,
        "Receiver",
        meta,
        Value::Object(spec),
    ))
}

/// The URL a created Receiver is called at: `base` (scheme and host of the receiver server)
/// joined with `status.webhookPath`.
pub fn webhook_url(base: &str, webhook_path: &str) -> String {
    format!("{}{}", base.trim_end_matches('/'), webhook_path)
}

/// Column headers of `get alert-providers|alerts|receivers`, as `flux get` prints them.
pub fn headers(kind: FluxKind, include_namespace: bool) -> Vec<&'static str> {
    let mut h = match kind {
        FluxKind::Provider => vec!["Name", "Ready", "Message"],
        _ => vec!["Name", "Suspended", "Ready", "Message"],
    };
    if include_namespace {
        h.insert(0, "Namespace");
    }
    h
}

/// One row matching [`headers`]. v1beta3 Providers and Alerts have no status: Flux shows them
/// ready; a Provider whose type Flotilla cannot send to is shown not ready, with the reason.
pub fn row(kind: FluxKind, obj: &Value, include_namespace: bool) -> Vec<String> {
    let mut row = Vec::new();
    if include_namespace {
        row.push(str_at(&obj["metadata"], "namespace").to_string());
    }
    row.push(str_at(&obj["metadata"], "name").to_string());
    let suspended = if obj["spec"]["suspend"].as_bool().unwrap_or(false) {
        "True"
    } else {
        "False"
    };
    match kind {
        FluxKind::Provider => {
            let type_ = str_at(&obj["spec"], "type");
            match provider_type_warning(type_) {
                Some(_) => row.extend([
                    "False".to_string(),
                    format!(
                        "type {type_:?} is not supported by Flotilla; use one of {}",
                        ProviderKind::SUPPORTED.join(", ")
                    ),
                ]),
                None => row.extend(["True".to_string(), "Provider is Ready".to_string()]),
            }
        }
        FluxKind::Alert => row.extend([
            suspended.to_string(),
            "True".to_string(),
            "Alert is Ready".to_string(),
        ]),
        _ => {
            let (ready, message) = ready_and_message(obj);
            row.extend([suspended.to_string(), ready, message]);
        }
    }
    row
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
        assert!(matches!(
            provider(&meta("x"), &ProviderOptions::default()),
            Err(CreateError::Missing("--type"))
        ));
        let bad = ProviderOptions {
            type_: "pigeon".into(),
            ..ProviderOptions::default()
        };
        let err = provider(&meta("x"), &bad).unwrap_err().to_string();
        assert!(err.starts_with("invalid --type \"pigeon\""), "{err}");
        assert!(!err.contains('\n'), "{err}");
        assert!(provider_type_warning("telegram").is_some());
        assert!(provider_type_warning("slack").is_none());
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
        for source in ["fleet", "Deployment/web"] {
            let bad = AlertOptions {
                event_sources: vec![source.into()],
                ..o.clone()
            };
            assert!(matches!(
                alert(&meta("a"), &bad),
                Err(CreateError::Invalid {
                    flag: "--event-source",
                    ..
                })
            ));
        }
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
        assert!(receiver_type_warning("gcr").is_some());
    }

    #[test]
    fn rows_follow_flux_columns() {
        let p =
            json!({"metadata": {"name": "chat", "namespace": "ops"}, "spec": {"type": "slack"}});
        assert_eq!(
            row(FluxKind::Provider, &p, true),
            ["ops", "chat", "True", "Provider is Ready"]
        );
        let t = json!({"metadata": {"name": "tg"}, "spec": {"type": "telegram"}});
        assert_eq!(row(FluxKind::Provider, &t, false)[1], "False");
        let r = json!({"metadata": {"name": "gh"}, "spec": {"suspend": true}, "status": {
            "conditions": [{"type": "Ready", "status": "True", "message": "Receiver initialized for path: /hook/x"}]}});
        assert_eq!(
            row(FluxKind::Receiver, &r, false),
            [
                "gh",
                "True",
                "True",
                "Receiver initialized for path: /hook/x"
            ]
        );
        assert_eq!(
            headers(FluxKind::Alert, false).len(),
            row(FluxKind::Alert, &r, false).len()
        );
    }
}
