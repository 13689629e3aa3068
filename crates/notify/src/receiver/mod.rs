//! Webhook receivers: the hook path Flux computes, request validation per Receiver type, the
//! reconcile request (annotating the listed resources) and the HTTP server that ties them up.

mod reconcile;
mod server;

use http::{HeaderMap, StatusCode};
use serde::Deserialize;

use crate::crypto::{
    constant_time_eq, sha256_hex, verify_hex_signature, verify_prefixed_signature, HmacAlgorithm,
};

pub use reconcile::{
    default_api_version, receiver_token, receiver_webhook_path, request_reconcile, ReconcileReport,
    REQUESTED_AT_ANNOTATION,
};
pub use server::{serve_receivers, ReceiverServer, ReceiverServerOptions};

/// Prefix of every webhook path.
pub const WEBHOOK_PATH_PREFIX: &str = "/hook/";

/// `/hook/` + hex SHA-256 of `token + name + namespace`, as Flux computes a Receiver's path.
pub fn webhook_path(token: &str, name: &str, namespace: &str) -> String {
    format!(
        "{WEBHOOK_PATH_PREFIX}{}",
        sha256_hex(format!("{token}{name}{namespace}").as_bytes())
    )
}

/// Why a Receiver cannot be served or its resources not annotated.
#[derive(Debug, thiserror::Error)]
pub enum ReceiverError {
    /// The Receiver has no `spec.secretRef`.
    #[error(
        "Receiver {receiver}: spec.secretRef is not set; it must name a Secret with a `token` key"
    )]
    NoSecretRef {
        /// `namespace/name`.
        receiver: String,
    },
    /// The referenced Secret does not exist.
    #[error("Receiver {receiver}: Secret {secret:?} not found")]
    SecretNotFound {
        /// `namespace/name`.
        receiver: String,
        /// Secret name.
        secret: String,
    },
    /// The Secret has no usable `token`.
    #[error("Receiver {receiver}: Secret {secret:?} has no `token` key (or it is empty)")]
    NoToken {
        /// `namespace/name`.
        receiver: String,
        /// Secret name.
        secret: String,
    },
    /// `spec.type` is not one Flotilla serves.
    #[error("Receiver {receiver}: type {type_:?} is not supported by Flotilla; use one of: {}", ReceiverType::SUPPORTED.join(", "))]
    UnsupportedType {
        /// `namespace/name`.
        receiver: String,
        /// The type given.
        type_: String,
    },
    /// A resource with name `*` lacks `matchLabels`.
    #[error("Receiver {receiver}: resource {kind} with name '*' needs matchLabels")]
    WildcardWithoutLabels {
        /// `namespace/name`.
        receiver: String,
        /// Resource kind.
        kind: String,
    },
    /// A resource kind without `apiVersion` is not a known toolkit kind.
    #[error("Receiver {receiver}: resource kind {kind:?} needs an apiVersion")]
    UnknownKind {
        /// `namespace/name`.
        receiver: String,
        /// Resource kind.
        kind: String,
    },
    /// The API server refused or failed.
    #[error("{what}: {source}")]
    Kube {
        /// What was being done.
        what: String,
        /// The API error.
        source: kube::Error,
    },
    /// The listening socket could not be opened.
    #[error("cannot listen on {addr} for webhook receivers: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Receiver types Flotilla validates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReceiverType {
    /// Any request to the path.
    Generic,
    /// `X-Signature: <sha1|sha256|sha512>=<hex HMAC of the body>`.
    GenericHmac,
    /// GitHub (and Gitea): `X-Hub-Signature-256` / `X-Hub-Signature`, `X-GitHub-Event`.
    GitHub,
    /// GitLab: `X-Gitlab-Token`, `X-Gitlab-Event`.
    GitLab,
    /// Bitbucket Server: `X-Hub-Signature`, `X-Event-Key`.
    Bitbucket,
    /// Harbor: `Authorization` equal to the token.
    Harbor,
    /// Quay repository push notification (JSON shape checked).
    Quay,
    /// Docker Hub push (JSON shape checked).
    DockerHub,
    /// Nexus: `X-Nexus-Webhook-Signature` (hex HMAC-SHA1).
    Nexus,
    /// Azure Container Registry push (JSON shape checked).
    Acr,
}

impl ReceiverType {
    /// Every supported type, as spelled in `spec.type`.
    pub const SUPPORTED: [&'static str; 10] = [
        "generic",
        "generic-hmac",
        "github",
        "gitlab",
        "bitbucket",
        "harbor",
        "quay",
        "dockerhub",
        "nexus",
        "acr",
    ];

    /// The type for a `spec.type` value.
    pub fn parse(type_: &str) -> Option<ReceiverType> {
        Some(match type_ {
            "generic" => ReceiverType::Generic,
            "generic-hmac" => ReceiverType::GenericHmac,
            "github" => ReceiverType::GitHub,
            "gitlab" => ReceiverType::GitLab,
            "bitbucket" => ReceiverType::Bitbucket,
            "harbor" => ReceiverType::Harbor,
            "quay" => ReceiverType::Quay,
            "dockerhub" => ReceiverType::DockerHub,
            "nexus" => ReceiverType::Nexus,
            "acr" => ReceiverType::Acr,
            _ => return None,
        })
    }
}

/// A request that passed validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The event type the sender named (GitHub, GitLab, Bitbucket).
    pub event: Option<String>,
    /// Whether to request reconciles (false for a GitHub `ping` not listed in `spec.events`).
    pub reconcile: bool,
}

/// Why a request was refused. The text is for logs; callers answer with [`Rejection::status`]
/// and a generic message, so nothing about the token leaks.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// Missing or wrong signature or token.
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    /// Malformed request or payload.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// The event type is not in `spec.events`.
    #[error("event {0:?} is not accepted by this receiver")]
    EventNotAccepted(String),
}

impl Rejection {
    /// The HTTP status to answer with.
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Rejection::BadRequest(_) | Rejection::EventNotAccepted(_) => StatusCode::BAD_REQUEST,
        }
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn filter_event(events: &[String], event: &str) -> Result<(), Rejection> {
    if events.is_empty() || events.iter().any(|e| e.eq_ignore_ascii_case(event)) {
        Ok(())
    } else {
        Err(Rejection::EventNotAccepted(event.to_string()))
    }
}

fn decode<'a, T: Deserialize<'a>>(body: &'a [u8], what: &str) -> Result<T, Rejection> {
    serde_json::from_slice(body)
        .map_err(|_| Rejection::BadRequest(format!("cannot decode {what} payload")))
}

/// Checks a signed body against `X-Hub-Signature-256`, falling back to `X-Hub-Signature`.
fn check_hub_signature(headers: &HeaderMap, token: &str, body: &[u8]) -> Result<(), Rejection> {
    let signature = header(headers, "x-hub-signature-256")
        .or_else(|| header(headers, "x-hub-signature"))
        .ok_or(Rejection::Unauthorized("missing signature header"))?;
    if verify_prefixed_signature(signature, token.as_bytes(), body) {
        Ok(())
    } else {
        Err(Rejection::Unauthorized("signature does not match"))
    }
}

/// The JSON payload of a GitHub delivery (`application/json`, or the `payload` field of a
/// form).
fn github_payload(headers: &HeaderMap, body: &[u8]) -> Result<Vec<u8>, Rejection> {
    let content_type = header(headers, "content-type").unwrap_or("application/json");
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match media.as_str() {
        "application/json" => Ok(body.to_vec()),
        "application/x-www-form-urlencoded" => {
            let text = std::str::from_utf8(body)
                .map_err(|_| Rejection::BadRequest("form payload is not UTF-8".into()))?;
            text.split('&')
                .filter_map(|pair| pair.split_once('='))
                .find(|(k, _)| *k == "payload")
                .map(|(_, v)| form_decode(v))
                .ok_or_else(|| Rejection::BadRequest("form has no payload field".into()))
        }
        other => Err(Rejection::BadRequest(format!(
            "unsupported content type {other:?}"
        ))),
    }
}

fn form_decode(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match crate::crypto::unhex(&text[i + 1..i + 3]) {
                Some(b) => {
                    out.extend(b);
                    i += 2;
                }
                None => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    out
}

/// Validates one webhook request for a Receiver of type `kind` with `token` and `spec.events`.
pub fn validate(
    kind: ReceiverType,
    token: &str,
    events: &[String],
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Accepted, Rejection> {
    let accepted = |event: Option<&str>| Accepted {
        event: event.map(str::to_string),
        reconcile: true,
    };
    match kind {
        ReceiverType::Generic => Ok(accepted(None)),
        ReceiverType::GenericHmac => {
            let signature = header(headers, "x-signature")
                .ok_or(Rejection::Unauthorized("missing X-Signature header"))?;
            if verify_prefixed_signature(signature, token.as_bytes(), body) {
                Ok(accepted(None))
            } else {
                Err(Rejection::Unauthorized("signature does not match"))
            }
        }
        ReceiverType::GitHub => {
            let event = header(headers, "x-github-event")
                .ok_or_else(|| Rejection::BadRequest("missing X-GitHub-Event header".into()))?;
            check_hub_signature(headers, token, body)?;
            let payload = github_payload(headers, body)?;
            decode::<serde_json::Map<String, serde_json::Value>>(&payload, "GitHub")?;
            // GitHub pings a new webhook; answer it even when pings are not listed, without
            // reconciling anything.
            if event == "ping" && filter_event(events, event).is_err() {
                return Ok(Accepted {
                    event: Some(event.to_string()),
                    reconcile: false,
                });
            }
            filter_event(events, event)?;
            Ok(accepted(Some(event)))
        }
        ReceiverType::GitLab => {
            let given = header(headers, "x-gitlab-token")
                .ok_or(Rejection::Unauthorized("missing X-Gitlab-Token header"))?;
            if !constant_time_eq(given.as_bytes(), token.as_bytes()) {
                return Err(Rejection::Unauthorized("X-Gitlab-Token does not match"));
            }
            let event = header(headers, "x-gitlab-event").unwrap_or("");
            filter_event(events, event)?;
            Ok(accepted(Some(event)))
        }
        ReceiverType::Bitbucket => {
            check_hub_signature(headers, token, body)?;
            let event = header(headers, "x-event-key").unwrap_or("");
            filter_event(events, event)?;
            Ok(accepted(Some(event)))
        }
        ReceiverType::Harbor => {
            let given = header(headers, "authorization")
                .ok_or(Rejection::Unauthorized("missing Authorization header"))?;
            if constant_time_eq(given.as_bytes(), token.as_bytes()) {
                Ok(accepted(None))
            } else {
                Err(Rejection::Unauthorized("Authorization does not match"))
            }
        }
        ReceiverType::Quay => {
            #[derive(Deserialize)]
            #[allow(dead_code)]
            struct Quay {
                #[serde(default)]
                docker_url: String,
                #[serde(default)]
                updated_tags: Vec<String>,
            }
            decode::<Quay>(body, "Quay")?;
            Ok(accepted(None))
        }
        ReceiverType::DockerHub => {
            #[derive(Deserialize, Default)]
            #[allow(dead_code)]
            struct PushData {
                #[serde(default)]
                tag: String,
            }
            #[derive(Deserialize, Default)]
            #[allow(dead_code)]
            struct Repository {
                #[serde(default)]
                repo_url: String,
            }
            #[derive(Deserialize)]
            #[allow(dead_code)]
            struct DockerHub {
                #[serde(default)]
                push_data: PushData,
                #[serde(default)]
                repository: Repository,
            }
            decode::<DockerHub>(body, "DockerHub")?;
            Ok(accepted(None))
        }
        ReceiverType::Nexus => {
            let signature = header(headers, "x-nexus-webhook-signature").ok_or(
                Rejection::Unauthorized("missing X-Nexus-Webhook-Signature header"),
            )?;
            if !verify_hex_signature(HmacAlgorithm::Sha1, signature, token.as_bytes(), body) {
                return Err(Rejection::Unauthorized("signature does not match"));
            }
            #[derive(Deserialize)]
            #[allow(dead_code)]
            struct Nexus {
                #[serde(default)]
                action: String,
                #[serde(default, rename = "repositoryName")]
                repository_name: String,
            }
            decode::<Nexus>(body, "Nexus")?;
            Ok(accepted(None))
        }
        ReceiverType::Acr => {
            #[derive(Deserialize, Default)]
            #[allow(dead_code)]
            struct Target {
                #[serde(default)]
                repository: String,
                #[serde(default)]
                tag: String,
            }
            #[derive(Deserialize)]
            #[allow(dead_code)]
            struct Acr {
                #[serde(default)]
                action: String,
                #[serde(default)]
                target: Target,
            }
            decode::<Acr>(body, "ACR")?;
            Ok(accepted(None))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::hmac_hex;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().expect("header value"));
        }
        h
    }

    #[test]
    fn github_ping_and_event_filter() {
        let body = br#"{"zen":"hi"}"#;
        let sig = format!("sha256={}", hmac_hex(HmacAlgorithm::Sha256, b"tok", body));
        let events = vec!["push".to_string()];
        let h = headers(&[("x-github-event", "ping"), ("x-hub-signature-256", &sig)]);
        assert_eq!(
            validate(ReceiverType::GitHub, "tok", &events, &h, body),
            Ok(Accepted {
                event: Some("ping".into()),
                reconcile: false
            })
        );
        let h = headers(&[("x-github-event", "issues"), ("x-hub-signature-256", &sig)]);
        assert_eq!(
            validate(ReceiverType::GitHub, "tok", &events, &h, body),
            Err(Rejection::EventNotAccepted("issues".into()))
        );
        let h = headers(&[("x-github-event", "PUSH"), ("x-hub-signature-256", &sig)]);
        assert!(validate(ReceiverType::GitHub, "tok", &events, &h, body).is_ok_and(|a| a.reconcile));
        let h = headers(&[("x-github-event", "push"), ("x-hub-signature-256", &sig)]);
        assert_eq!(
            validate(ReceiverType::GitHub, "wrong", &events, &h, body),
            Err(Rejection::Unauthorized("signature does not match"))
        );
        let h = headers(&[("x-github-event", "push")]);
        assert_eq!(
            validate(ReceiverType::GitHub, "tok", &events, &h, body).map_err(|r| r.status()),
            Err(StatusCode::UNAUTHORIZED)
        );
    }

    #[test]
    fn github_form_payloads_are_decoded() {
        let body = b"payload=%7B%22ref%22%3A%22refs%2Fheads%2Fmain%22%7D";
        let sig = format!("sha1={}", hmac_hex(HmacAlgorithm::Sha1, b"tok", body));
        let h = headers(&[
            ("x-github-event", "push"),
            ("x-hub-signature", &sig),
            ("content-type", "application/x-www-form-urlencoded"),
        ]);
        assert!(validate(ReceiverType::GitHub, "tok", &[], &h, body).is_ok());
        let bad = b"{not json";
        let sig = format!("sha1={}", hmac_hex(HmacAlgorithm::Sha1, b"tok", bad));
        let h = headers(&[("x-github-event", "push"), ("x-hub-signature", &sig)]);
        assert_eq!(
            validate(ReceiverType::GitHub, "tok", &[], &h, bad).map_err(|r| r.status()),
            Err(StatusCode::BAD_REQUEST)
        );
    }

    #[test]
    fn registry_payload_shapes() {
        let h = HeaderMap::new();
        assert!(validate(
            ReceiverType::Quay,
            "t",
            &[],
            &h,
            br#"{"docker_url":"quay.io/x","updated_tags":["v1"]}"#
        )
        .is_ok());
        assert!(validate(
            ReceiverType::Quay,
            "t",
            &[],
            &h,
            br#"{"updated_tags":"v1"}"#
        )
        .is_err());
        assert!(validate(ReceiverType::Quay, "t", &[], &h, b"nope").is_err());
        assert!(validate(
            ReceiverType::DockerHub,
            "t",
            &[],
            &h,
            br#"{"push_data":{"tag":"v1"}}"#
        )
        .is_ok());
        assert!(validate(
            ReceiverType::Acr,
            "t",
            &[],
            &h,
            br#"{"action":"push","target":{"tag":"v1"}}"#
        )
        .is_ok());
        let body = br#"{"action":"CREATED","repositoryName":"r"}"#;
        let sig = hmac_hex(HmacAlgorithm::Sha1, b"t", body);
        let h = headers(&[("x-nexus-webhook-signature", &sig)]);
        assert!(validate(ReceiverType::Nexus, "t", &[], &h, body).is_ok());
        assert!(validate(ReceiverType::Nexus, "other", &[], &h, body).is_err());
    }
}
