//! A small HTTP/1.1 client (hyper + rustls with ring) shared by the registry and AWS clients: system roots plus an optional CA, a deadline per request, bounded bodies.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

/// Why an HTTP exchange failed (before any status code was looked at).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// No complete answer within the deadline.
    #[error("{url}: no answer within {timeout:?}")]
    Timeout {
        /// The URL.
        url: String,
        /// The deadline.
        timeout: Duration,
    },
    /// Connection, TLS or protocol failure.
    #[error("{url}: {detail}")]
    Transport {
        /// The URL.
        url: String,
        /// What failed.
        detail: String,
    },
    /// The answer was larger than this client accepts.
    #[error("{url}: response body larger than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit.
        limit: usize,
    },
    /// The CA certificate given could not be used.
    #[error("CA certificate (ca.crt): {0}")]
    BadCa(String),
}

/// TLS and deadline settings.
#[derive(Debug, Clone, Default)]
pub struct HttpOptions {
    /// Extra CA certificates to trust (PEM), e.g. `certSecretRef`'s `ca.crt`.
    pub ca_pem: Option<Vec<u8>>,
    /// Deadline of each request; 60 s when zero.
    pub timeout: Duration,
}

/// The client.
#[derive(Clone)]
pub struct HttpClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    timeout: Duration,
}

impl HttpClient {
    /// Builds a client trusting the system roots and `ca_pem`.
    pub fn new(opts: &HttpOptions) -> Result<HttpClient, HttpError> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
        if let Some(pem) = &opts.ca_pem {
            let mut n = 0;
            for cert in CertificateDer::pem_slice_iter(pem) {
                let cert = cert.map_err(|e| HttpError::BadCa(e.to_string()))?;
                roots
                    .add(cert)
                    .map_err(|e| HttpError::BadCa(e.to_string()))?;
                n += 1;
            }
            if n == 0 {
                return Err(HttpError::BadCa(
                    "no PEM certificate found; give the CA in PEM form".to_string(),
                ));
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| HttpError::BadCa(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .build();
        let client = Client::builder(TokioExecutor::new()).build(connector);
        let timeout = if opts.timeout.is_zero() {
            Duration::from_secs(60)
        } else {
            opts.timeout
        };
        Ok(HttpClient { client, timeout })
    }

    /// Sends `req` and reads at most `limit` bytes of body, all within the deadline.
    pub async fn send(
        &self,
        req: Request<Full<Bytes>>,
        limit: usize,
    ) -> Result<Response<Bytes>, HttpError> {
        let url = redact_query(&req.uri().to_string());
        let timeout = self.timeout;
        let exchange = async {
            let resp = self
                .client
                .request(req)
                .await
                .map_err(|e| HttpError::Transport {
                    url: url.clone(),
                    detail: error_chain(&e),
                })?;
            let (parts, body) = resp.into_parts();
            let body = Limited::new(body, limit)
                .collect()
                .await
                .map_err(|e| {
                    if e.is::<http_body_util::LengthLimitError>() {
                        HttpError::TooLarge {
                            url: url.clone(),
                            limit,
                        }
                    } else {
                        HttpError::Transport {
                            url: url.clone(),
                            detail: e.to_string(),
                        }
                    }
                })?
                .to_bytes();
            Ok(Response::from_parts(parts, body))
        };
        match tokio::time::timeout(timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err(HttpError::Timeout { url, timeout }),
        }
    }
}

/// Query strings may carry tokens (STS web identity); keep them out of messages.
fn redact_query(url: &str) -> String {
    match url.split_once('?') {
        Some((base, _)) => format!("{base}?..."),
        None => url.to_string(),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let t = s.to_string();
        if !out.contains(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        cur = s.source();
    }
    out
}
