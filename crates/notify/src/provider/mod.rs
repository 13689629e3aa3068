//! Providers: where notifications go. [`ProviderSettings`] is a Provider with its Secrets
//! resolved; a [`Notifier`] formats an [`Event`] the way each service expects and sends it.

mod commit_status;
pub mod payload;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use flotilla_api::Provider;
use http::header::{HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use http::Method;
use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;
use kube::ResourceExt;

use crate::crypto::{hmac_hex, HmacAlgorithm};
use crate::event::Event;
use crate::transport::{HttpClient, HttpError, Response, TlsMaterial};

pub use commit_status::{parse_git_address, revision_sha, split_camel_case};

/// Header naming the controller that emitted the event (Flux's `gotk-component`).
pub const COMPONENT_HEADER: &str = "gotk-component";
/// Header carrying the body's HMAC for `generic-hmac` providers.
pub const SIGNATURE_HEADER: &str = "x-signature";
/// Slack's Web API endpoint, whose answers carry `ok`/`error` in a 200 response.
const SLACK_POST_MESSAGE: &str = "https://slack.com/api/chat.postMessage";

/// Provider types Flotilla sends to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProviderKind {
    /// JSON event body, `gotk-component` header, custom headers.
    Generic,
    /// [`ProviderKind::Generic`] plus `X-Signature: sha256=<hex HMAC of the body>`.
    GenericHmac,
    /// Slack Web API or incoming webhook (attachment with fields).
    Slack,
    /// Microsoft Teams: Adaptive Card, or the legacy connector card for `*.webhook.office.com`.
    MsTeams,
    /// Discord through its Slack-compatible endpoint (`<webhook>/slack`).
    Discord,
    /// GitHub commit status on the event's revision.
    GitHub,
    /// GitLab commit status on the event's revision.
    GitLab,
}

impl ProviderKind {
    /// Every supported type, as spelled in `spec.type`.
    pub const SUPPORTED: [&'static str; 7] = [
        "generic",
        "generic-hmac",
        "slack",
        "msteams",
        "discord",
        "github",
        "gitlab",
    ];

    /// The kind for a `spec.type` value.
    pub fn parse(type_: &str) -> Option<ProviderKind> {
        Some(match type_ {
            "generic" => ProviderKind::Generic,
            "generic-hmac" => ProviderKind::GenericHmac,
            "slack" => ProviderKind::Slack,
            "msteams" => ProviderKind::MsTeams,
            "discord" => ProviderKind::Discord,
            "github" => ProviderKind::GitHub,
            "gitlab" => ProviderKind::GitLab,
            _ => return None,
        })
    }

    /// The `spec.type` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Generic => "generic",
            ProviderKind::GenericHmac => "generic-hmac",
            ProviderKind::Slack => "slack",
            ProviderKind::MsTeams => "msteams",
            ProviderKind::Discord => "discord",
            ProviderKind::GitHub => "github",
            ProviderKind::GitLab => "gitlab",
        }
    }

    /// Whether the provider sets Git commit statuses (and so needs a revision).
    pub fn is_commit_status(self) -> bool {
        matches!(self, ProviderKind::GitHub | ProviderKind::GitLab)
    }
}

/// Why a Provider cannot be turned into a [`Notifier`].
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// `spec.type` names a service Flotilla does not send to.
    #[error("Provider {provider}: type {type_:?} is not supported by Flotilla; use one of: {}", ProviderKind::SUPPORTED.join(", "))]
    UnsupportedType {
        /// `namespace/name`.
        provider: String,
        /// The type given.
        type_: String,
    },
    /// Neither `spec.address` nor the Secret's `address` is set.
    #[error("Provider {provider}: no address; set spec.address or the `address` key of the Secret in spec.secretRef")]
    MissingAddress {
        /// `namespace/name`.
        provider: String,
    },
    /// The type needs a token and the Secret has none.
    #[error("Provider {provider}: type {type_} needs a token; set the `token` key of the Secret in spec.secretRef")]
    MissingToken {
        /// `namespace/name`.
        provider: String,
        /// The provider type.
        type_: &'static str,
    },
    /// A referenced Secret does not exist.
    #[error(
        "Provider {provider}: Secret {secret:?} ({field}) not found in namespace {namespace:?}"
    )]
    SecretNotFound {
        /// `namespace/name`.
        provider: String,
        /// The spec field referring to it.
        field: &'static str,
        /// Secret name.
        secret: String,
        /// Namespace searched.
        namespace: String,
    },
    /// A Secret value is unusable (never includes the value).
    #[error("Provider {provider}: key {key:?} of Secret {secret:?}: {reason}")]
    InvalidSecretValue {
        /// `namespace/name`.
        provider: String,
        /// Secret name.
        secret: String,
        /// The key.
        key: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// `spec.timeout` does not parse.
    #[error("Provider {provider}: spec.timeout: {reason}")]
    InvalidTimeout {
        /// `namespace/name`.
        provider: String,
        /// The parse error.
        reason: String,
    },
    /// The address of a commit status provider is not a repository URL.
    #[error("Provider {provider}: address is not a {type_} repository URL ({reason}); use e.g. https://{example}/<owner>/<repository>")]
    InvalidRepository {
        /// `namespace/name`.
        provider: String,
        /// The provider type.
        type_: &'static str,
        /// Example host.
        example: &'static str,
        /// What is wrong (without the address, which may hold credentials).
        reason: String,
    },
    /// The address, proxy or TLS material is unusable.
    #[error("Provider {provider}: {source}")]
    Http {
        /// `namespace/name`.
        provider: String,
        /// The client error.
        source: HttpError,
    },
    /// Reading a Secret from the cluster failed.
    #[error("Provider {provider}: reading Secret {secret:?}: {source}")]
    Kube {
        /// `namespace/name`.
        provider: String,
        /// Secret name.
        secret: String,
        /// The API error.
        source: kube::Error,
    },
}

/// Why sending one event failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// The request could not be made or completed.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The service answered with an error status.
    #[error("{host} answered {status}: {excerpt}")]
    Status {
        /// Server name.
        host: String,
        /// HTTP status code.
        status: u16,
        /// The start of the answer, secrets redacted.
        excerpt: String,
    },
    /// Slack's Web API answered `ok: false`.
    #[error("Slack refused the message: {0}")]
    Slack(String),
    /// The event cannot be sent by this provider (e.g. no revision for a commit status).
    #[error("cannot send event: {0}")]
    Event(String),
}

impl SendError {
    /// Whether trying again later may succeed (network trouble, 5xx, 429).
    pub fn is_retryable(&self) -> bool {
        match self {
            SendError::Http(HttpError::InvalidUrl { .. })
            | SendError::Http(HttpError::InvalidProxy { .. })
            | SendError::Http(HttpError::TlsMaterial { .. }) => false,
            SendError::Http(_) => true,
            SendError::Status { status, .. } => *status == 429 || *status >= 500,
            SendError::Slack(_) | SendError::Event(_) => false,
        }
    }
}

/// What [`Notifier::send`] did with an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Sent {
    /// The service accepted it.
    Delivered,
    /// Nothing to send, with why (e.g. a progressing event for a commit status).
    Skipped(&'static str),
}

/// A Provider with its Secrets resolved: everything needed to send.
#[derive(Clone)]
pub struct ProviderSettings {
    /// Provider namespace.
    pub namespace: String,
    /// Provider name.
    pub name: String,
    /// Provider UID (part of commit status contexts).
    pub uid: String,
    /// Where to send.
    pub kind: ProviderKind,
    /// Endpoint or repository URL (a secret: webhook URLs carry credentials).
    pub address: String,
    /// `spec.channel`.
    pub channel: Option<String>,
    /// `spec.username`.
    pub username: Option<String>,
    /// The Secret's `token`.
    pub token: Option<String>,
    /// The Secret's `headers` (generic providers).
    pub headers: BTreeMap<String, String>,
    /// HTTP proxy URL (may carry credentials).
    pub proxy: Option<String>,
    /// `spec.timeout` (15s by default).
    pub timeout: Duration,
    pub(crate) tls: TlsMaterial,
}

impl fmt::Debug for ProviderSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderSettings")
            .field("namespace", &self.namespace)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("address", &"<redacted>")
            .field("channel", &self.channel)
            .field("username", &self.username)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("proxy", &self.proxy.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The data of a Secret, as bytes per key.
pub type SecretData = BTreeMap<String, Vec<u8>>;

/// The Secrets a Provider refers to, already read.
#[derive(Clone, Debug, Default)]
pub struct ProviderSecrets {
    /// `spec.secretRef`.
    pub secret: Option<SecretData>,
    /// `spec.certSecretRef`.
    pub cert_secret: Option<SecretData>,
    /// `spec.proxySecretRef`.
    pub proxy_secret: Option<SecretData>,
}

impl ProviderSettings {
    /// `namespace/name`, for logs and metrics.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Resolves a Provider with the data of the Secrets it refers to.
    pub fn from_parts(
        provider: &Provider,
        secrets: &ProviderSecrets,
    ) -> Result<ProviderSettings, ProviderError> {
        let namespace = provider.namespace().unwrap_or_default();
        let name = provider.name_any();
        let id = format!("{namespace}/{name}");
        let spec = &provider.spec;
        let kind =
            ProviderKind::parse(&spec.type_).ok_or_else(|| ProviderError::UnsupportedType {
                provider: id.clone(),
                type_: spec.type_.clone(),
            })?;
        let secret_name = spec
            .secret_ref
            .as_ref()
            .map(|r| r.name.clone())
            .unwrap_or_default();
        let text = |data: &SecretData, secret: &str, key: &'static str| {
            data.get(key)
                .map(|v| {
                    String::from_utf8(v.clone()).map_err(|_| ProviderError::InvalidSecretValue {
                        provider: id.clone(),
                        secret: secret.to_string(),
                        key,
                        reason: "not UTF-8 text".into(),
                    })
                })
                .transpose()
                .map(|v| v.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()))
        };
        let mut address = spec.address.clone().filter(|a| !a.is_empty());
        let mut token = None;
        let mut headers = BTreeMap::new();
        let mut proxy = spec.proxy.clone().filter(|p| !p.is_empty());
        if let Some(data) = &secrets.secret {
            if let Some(a) = text(data, &secret_name, "address")? {
                address = Some(a);
            }
            token = text(data, &secret_name, "token")?;
            if let Some(p) = text(data, &secret_name, "proxy")? {
                proxy = Some(p);
            }
            if let Some(h) = text(data, &secret_name, "headers")? {
                headers =
                    parse_headers(&h).map_err(|reason| ProviderError::InvalidSecretValue {
                        provider: id.clone(),
                        secret: secret_name.clone(),
                        key: "headers",
                        reason,
                    })?;
            }
        }
        if let Some(data) = &secrets.proxy_secret {
            let proxy_name = spec
                .proxy_secret_ref
                .as_ref()
                .map(|r| r.name.clone())
                .unwrap_or_default();
            if let Some(a) = text(data, &proxy_name, "address")? {
                let user = text(data, &proxy_name, "username")?;
                let password = text(data, &proxy_name, "password")?;
                proxy = Some(match user {
                    Some(user) => with_userinfo(&a, &user, password.as_deref().unwrap_or("")),
                    None => a,
                });
            }
        }
        let mut tls = TlsMaterial::default();
        if let Some(data) = &secrets.cert_secret {
            tls.ca_pem = data.get("ca.crt").or_else(|| data.get("caFile")).cloned();
            if let (Some(cert), Some(key)) = (data.get("tls.crt"), data.get("tls.key")) {
                tls.client_pem = Some((cert.clone(), key.clone()));
            }
        }
        let timeout = spec.timeout().map_err(|e| ProviderError::InvalidTimeout {
            provider: id.clone(),
            reason: e.to_string(),
        })?;
        let address = address.ok_or_else(|| ProviderError::MissingAddress {
            provider: id.clone(),
        })?;
        if matches!(
            kind,
            ProviderKind::GitHub | ProviderKind::GitLab | ProviderKind::GenericHmac
        ) && token.is_none()
        {
            return Err(ProviderError::MissingToken {
                provider: id,
                type_: kind.as_str(),
            });
        }
        Ok(ProviderSettings {
            namespace,
            name,
            uid: provider.uid().unwrap_or_default(),
            kind,
            address,
            channel: spec.channel.clone().filter(|c| !c.is_empty()),
            username: spec.username.clone().filter(|u| !u.is_empty()),
            token,
            headers,
            proxy,
            timeout,
            tls,
        })
    }

    /// Resolves a Provider, reading its Secrets from its namespace.
    pub async fn load(
        client: &kube::Client,
        provider: &Provider,
    ) -> Result<ProviderSettings, ProviderError> {
        let namespace = provider.namespace().unwrap_or_default();
        let id = format!("{namespace}/{}", provider.name_any());
        let api: Api<Secret> = Api::namespaced(client.clone(), &namespace);
        let read = |field: &'static str, name: Option<String>| {
            let api = api.clone();
            let id = id.clone();
            let namespace = namespace.clone();
            async move {
                let Some(name) = name else { return Ok(None) };
                match api.get_opt(&name).await {
                    Ok(Some(secret)) => Ok(Some(secret_data(&secret))),
                    Ok(None) => Err(ProviderError::SecretNotFound {
                        provider: id,
                        field,
                        secret: name,
                        namespace,
                    }),
                    Err(source) => Err(ProviderError::Kube {
                        provider: id,
                        secret: name,
                        source,
                    }),
                }
            }
        };
        let spec = &provider.spec;
        let secrets = ProviderSecrets {
            secret: read(
                "spec.secretRef",
                spec.secret_ref.as_ref().map(|r| r.name.clone()),
            )
            .await?,
            cert_secret: read(
                "spec.certSecretRef",
                spec.cert_secret_ref.as_ref().map(|r| r.name.clone()),
            )
            .await?,
            proxy_secret: read(
                "spec.proxySecretRef",
                spec.proxy_secret_ref.as_ref().map(|r| r.name.clone()),
            )
            .await?,
        };
        ProviderSettings::from_parts(provider, &secrets)
    }
}

/// A Secret's `data` plus `stringData` (the dev cluster and old clients may keep either).
pub(crate) fn secret_data(secret: &Secret) -> SecretData {
    let mut out: SecretData = secret
        .data
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.0.clone()))
        .collect();
    for (k, v) in secret.string_data.iter().flatten() {
        out.entry(k.clone())
            .or_insert_with(|| v.clone().into_bytes());
    }
    out
}

fn with_userinfo(address: &str, user: &str, password: &str) -> String {
    match address.split_once("://") {
        Some((scheme, rest)) => format!("{scheme}://{user}:{password}@{rest}"),
        None => format!("{user}:{password}@{address}"),
    }
}

/// The `headers` Secret value: a YAML map of header names to values.
fn parse_headers(text: &str) -> Result<BTreeMap<String, String>, String> {
    let value = flotilla_yaml::from_str(text).map_err(|e| format!("not YAML: {e}"))?;
    let map = match value {
        serde_json::Value::Object(map) => map,
        serde_json::Value::Null => return Ok(BTreeMap::new()),
        _ => return Err("must be a map of header names to values".into()),
    };
    let mut out = BTreeMap::new();
    for (name, value) in map {
        let value = match value {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::Bool(b) => b.to_string(),
            _ => return Err(format!("header {name:?} must have a scalar value")),
        };
        HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("{name:?} is not a valid header name"))?;
        HeaderValue::from_str(&value)
            .map_err(|_| format!("header {name:?} has an invalid value"))?;
        out.insert(name, value);
    }
    Ok(out)
}

/// Sends events to one Provider.
#[derive(Clone)]
pub struct Notifier {
    settings: ProviderSettings,
    http: HttpClient,
    commit: Option<commit_status::CommitTarget>,
}

impl fmt::Debug for Notifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Notifier")
            .field("settings", &self.settings)
            .finish()
    }
}

impl Notifier {
    /// A notifier for resolved settings (checks the address, proxy and TLS material).
    pub fn new(settings: ProviderSettings) -> Result<Notifier, ProviderError> {
        let http = HttpClient::new(&settings.tls, settings.proxy.as_deref(), settings.timeout)
            .map_err(|source| ProviderError::Http {
                provider: settings.id(),
                source,
            })?;
        let commit = if settings.kind.is_commit_status() {
            Some(commit_status::CommitTarget::new(&settings)?)
        } else {
            None
        };
        Ok(Notifier {
            settings,
            http,
            commit,
        })
    }

    /// The settings this notifier sends with.
    pub fn settings(&self) -> &ProviderSettings {
        &self.settings
    }

    /// Formats and sends one event (already enriched by its Alert).
    pub async fn send(&self, event: &Event) -> Result<Sent, SendError> {
        let s = &self.settings;
        if let Some(target) = &self.commit {
            return target.post(&self.http, s, event).await;
        }
        match s.kind {
            ProviderKind::Generic | ProviderKind::GenericHmac => {
                let body = serde_json::to_vec(event)
                    .map_err(|e| SendError::Event(format!("cannot encode event: {e}")))?;
                let mut headers = vec![(
                    HeaderName::from_static(COMPONENT_HEADER),
                    header_value(&event.reporting_controller),
                )];
                if s.kind == ProviderKind::GenericHmac {
                    let key = s.token.as_deref().unwrap_or("").as_bytes();
                    let signature =
                        format!("sha256={}", hmac_hex(HmacAlgorithm::Sha256, key, &body));
                    headers.push((
                        HeaderName::from_static(SIGNATURE_HEADER),
                        header_value(&signature),
                    ));
                }
                for (name, value) in &s.headers {
                    if let Ok(name) = HeaderName::from_bytes(name.as_bytes()) {
                        headers.push((name, header_value(value)));
                    }
                }
                self.post_json(&s.address, headers, body).await
            }
            ProviderKind::Slack | ProviderKind::Discord | ProviderKind::MsTeams => {
                if event.is_commit_status_update() {
                    return Ok(Sent::Skipped(
                        "commit status update events go to Git providers only",
                    ));
                }
                let (url, payload) = match s.kind {
                    ProviderKind::Slack => (
                        s.address.clone(),
                        payload::slack(event, s.channel.as_deref(), s.username.as_deref()),
                    ),
                    ProviderKind::Discord => (
                        payload::discord_url(&s.address),
                        payload::discord(event, s.username.as_deref()),
                    ),
                    _ => (s.address.clone(), payload::msteams(event, &s.address)),
                };
                let body = serde_json::to_vec(&payload)
                    .map_err(|e| SendError::Event(format!("cannot encode payload: {e}")))?;
                let mut headers = Vec::new();
                if let (ProviderKind::Slack, Some(token)) = (s.kind, &s.token) {
                    headers.push((AUTHORIZATION, header_value(&format!("Bearer {token}"))));
                }
                self.post_json(&url, headers, body).await
            }
            ProviderKind::GitHub | ProviderKind::GitLab => {
                Err(SendError::Event("commit status target missing".into()))
            }
        }
    }

    async fn post_json(
        &self,
        url: &str,
        mut headers: Vec<(HeaderName, HeaderValue)>,
        body: Vec<u8>,
    ) -> Result<Sent, SendError> {
        headers.push((CONTENT_TYPE, HeaderValue::from_static("application/json")));
        let response = self.http.send(Method::POST, url, &headers, body).await?;
        check_status(&self.settings, url, &response)?;
        if self.settings.kind == ProviderKind::Slack && url == SLACK_POST_MESSAGE {
            check_slack_answer(&response.body)?;
        }
        Ok(Sent::Delivered)
    }
}

fn header_value(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Fails on non-2xx answers, with an excerpt of the body that never repeats the token.
pub(crate) fn check_status(
    settings: &ProviderSettings,
    url: &str,
    response: &Response,
) -> Result<(), SendError> {
    if response.status.is_success() {
        return Ok(());
    }
    let mut excerpt: String = String::from_utf8_lossy(&response.body)
        .chars()
        .take(200)
        .collect();
    for secret in settings
        .token
        .iter()
        .chain(std::iter::once(&settings.address))
    {
        if !secret.is_empty() {
            excerpt = excerpt.replace(secret.as_str(), "*****");
        }
    }
    let host = url
        .parse::<http::Uri>()
        .ok()
        .and_then(|u| u.host().map(str::to_string))
        .unwrap_or_default();
    Err(SendError::Status {
        host,
        status: response.status.as_u16(),
        excerpt,
    })
}

fn check_slack_answer(body: &[u8]) -> Result<(), SendError> {
    let answer: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| SendError::Slack("unreadable answer".into()))?;
    if answer.get("ok").and_then(serde_json::Value::as_bool) == Some(true) {
        Ok(())
    } else {
        let error = answer
            .get("error")
            .and_then(serde_json::Value::as_str)
            .unwrap_or("unknown error");
        Err(SendError::Slack(error.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flotilla_api::notification::ProviderSpec;

    fn provider(type_: &str) -> Provider {
        let mut p = Provider::new(
            "slack",
            ProviderSpec {
                type_: type_.into(),
                channel: None,
                username: None,
                address: Some("https://example.com/hook".into()),
                interval: None,
                timeout: None,
                proxy: None,
                proxy_secret_ref: None,
                secret_ref: Some(flotilla_api::refs::LocalObjectReference::new("s")),
                service_account_name: None,
                cert_secret_ref: None,
                commit_status_expr: None,
                suspend: None,
            },
        );
        p.metadata.namespace = Some("ns".into());
        p
    }

    fn data(pairs: &[(&str, &str)]) -> Option<SecretData> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
                .collect(),
        )
    }

    #[test]
    fn secret_overrides_address_and_supplies_headers() {
        let secrets = ProviderSecrets {
            secret: data(&[
                ("address", "https://hooks.example.com/T/B/SECRET"),
                ("token", "tok"),
                ("headers", "X-Api-Key: abc\nX-Count: 3\n"),
            ]),
            ..Default::default()
        };
        let s = ProviderSettings::from_parts(&provider("generic"), &secrets).expect("settings");
        assert_eq!(s.address, "https://hooks.example.com/T/B/SECRET");
        assert_eq!(s.token.as_deref(), Some("tok"));
        assert_eq!(s.headers.get("X-Count").map(String::as_str), Some("3"));
        assert_eq!(s.timeout, Duration::from_secs(15));
        let debug = format!("{s:?}");
        assert!(
            !debug.contains("SECRET") && !debug.contains("tok\""),
            "{debug}"
        );
    }

    #[test]
    fn bad_providers_are_explained() {
        let err = ProviderSettings::from_parts(&provider("telegram"), &Default::default())
            .expect_err("unsupported");
        assert!(
            err.to_string().contains("\"telegram\" is not supported"),
            "{err}"
        );
        let err = ProviderSettings::from_parts(&provider("github"), &Default::default())
            .expect_err("no token");
        assert!(matches!(err, ProviderError::MissingToken { .. }), "{err}");
        let secrets = ProviderSecrets {
            secret: data(&[("headers", "- a\n- b\n")]),
            ..Default::default()
        };
        let err =
            ProviderSettings::from_parts(&provider("generic"), &secrets).expect_err("bad headers");
        assert!(err.to_string().contains("\"headers\""), "{err}");
    }

    #[test]
    fn retryable_errors() {
        let status = |status| SendError::Status {
            host: "h".into(),
            status,
            excerpt: String::new(),
        };
        assert!(status(503).is_retryable());
        assert!(status(429).is_retryable());
        assert!(!status(400).is_retryable());
        assert!(!SendError::Event("x".into()).is_retryable());
    }
}
