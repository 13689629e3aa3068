//! A small HTTP(S) client for providers: one connection per request (notifications are rare
//! and go to many hosts), an optional HTTP proxy (`CONNECT` for https targets, absolute-form
//! requests for http ones), extra CA certificates or a client certificate, and a timeout.
//!
//! Errors name the host only: provider URLs often carry credentials in their path (Slack and
//! Teams webhook URLs) and must not reach logs.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, CONTENT_LENGTH, HOST, USER_AGENT};
use http::{Method, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest response body read (commit status lists, error texts).
const MAX_RESPONSE_BYTES: usize = 1 << 20;
/// The `User-Agent` sent with every request.
const AGENT: &str = concat!("flotilla-notification/", env!("CARGO_PKG_VERSION"));

/// Why a request could not be made or completed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The address is not an absolute `http://` or `https://` URL.
    #[error("invalid address: {reason}; use an absolute http:// or https:// URL")]
    InvalidUrl {
        /// What is wrong with it (without the URL itself).
        reason: String,
    },
    /// The proxy address is not usable.
    #[error("invalid proxy address: {reason}; use http://[user:password@]host:port")]
    InvalidProxy {
        /// What is wrong with it.
        reason: String,
    },
    /// A CA bundle or client certificate from the cert Secret could not be used.
    #[error("invalid TLS material: {reason}")]
    TlsMaterial {
        /// What is wrong with it.
        reason: String,
    },
    /// The TCP connection failed.
    #[error("cannot connect to {host}: {source}")]
    Connect {
        /// `host:port` dialled (the proxy's when one is set).
        host: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The proxy refused the `CONNECT` tunnel.
    #[error("proxy refused the tunnel to {host}: {status}")]
    ProxyRefused {
        /// Target `host:port`.
        host: String,
        /// The proxy's status line.
        status: String,
    },
    /// The TLS handshake failed (untrusted certificate, wrong name, …).
    #[error("TLS handshake with {host} failed: {reason}; set certSecretRef with the CA (ca.crt) if the server uses a private CA")]
    Tls {
        /// Server name.
        host: String,
        /// The handshake error.
        reason: String,
    },
    /// The HTTP exchange failed (connection reset, malformed response, …).
    #[error("HTTP request to {host} failed: {reason}")]
    Exchange {
        /// Server name.
        host: String,
        /// The protocol error.
        reason: String,
    },
    /// No complete response within the Provider's timeout.
    #[error("request to {host} timed out after {after:?}")]
    Timeout {
        /// Server name.
        host: String,
        /// The timeout.
        after: Duration,
    },
}

/// TLS material from a Provider's `certSecretRef`.
#[derive(Clone, Default)]
pub(crate) struct TlsMaterial {
    /// PEM CA certificates trusted in addition to the system roots.
    pub ca_pem: Option<Vec<u8>>,
    /// PEM client certificate chain and key (mutual TLS).
    pub client_pem: Option<(Vec<u8>, Vec<u8>)>,
}

/// An HTTP response with its (bounded) body.
#[derive(Debug)]
pub(crate) struct Response {
    pub status: StatusCode,
    pub body: Bytes,
}

#[derive(Clone)]
struct Proxy {
    host: String,
    port: u16,
    authorization: Option<String>,
}

/// A configured client (TLS roots, proxy, timeout).
#[derive(Clone)]
pub(crate) struct HttpClient {
    tls: Arc<ClientConfig>,
    proxy: Option<Proxy>,
    timeout: Duration,
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

struct Target {
    https: bool,
    host: String,
    port: u16,
    authority: String,
    path: String,
}

fn parse_target(url: &str) -> Result<Target, HttpError> {
    let uri: Uri = url.parse().map_err(|_| HttpError::InvalidUrl {
        reason: "not a URL".into(),
    })?;
    let https = match uri.scheme_str() {
        Some("https") => true,
        Some("http") => false,
        Some(other) => {
            return Err(HttpError::InvalidUrl {
                reason: format!("unsupported scheme {other:?}"),
            })
        }
        None => {
            return Err(HttpError::InvalidUrl {
                reason: "no scheme".into(),
            })
        }
    };
    let authority = uri.authority().ok_or_else(|| HttpError::InvalidUrl {
        reason: "no host".into(),
    })?;
    let host = authority
        .host()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    if host.is_empty() {
        return Err(HttpError::InvalidUrl {
            reason: "no host".into(),
        });
    }
    let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
    let path = uri
        .path_and_query()
        .map_or_else(|| "/".to_string(), |p| p.as_str().to_string());
    let authority = match authority.port_u16() {
        Some(_) => authority
            .as_str()
            .rsplit('@')
            .next()
            .unwrap_or("")
            .to_string(),
        None => authority.host().to_string(),
    };
    Ok(Target {
        https,
        host,
        port,
        authority,
        path,
    })
}

fn parse_proxy(proxy: &str) -> Result<Proxy, HttpError> {
    let uri: Uri = proxy.parse().map_err(|_| HttpError::InvalidProxy {
        reason: "not a URL".into(),
    })?;
    if uri.scheme_str() != Some("http") {
        return Err(HttpError::InvalidProxy {
            reason: "only http:// proxies are supported".into(),
        });
    }
    let authority = uri.authority().ok_or_else(|| HttpError::InvalidProxy {
        reason: "no host".into(),
    })?;
    let authorization = authority.as_str().rsplit_once('@').map(|(userinfo, _)| {
        let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
        let credentials = format!("{}:{}", percent_decode(user), percent_decode(password));
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(credentials)
        )
    });
    Ok(Proxy {
        host: authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string(),
        port: authority.port_u16().unwrap_or(80),
        authorization,
    })
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Some(b) = crate::crypto::unhex(&text[i + 1..i + 3]) {
                out.extend(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// System roots, loaded once (reading the system bundle takes a while).
fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| rustls_native_certs::load_native_certs().certs)
}

fn tls_config(material: &TlsMaterial) -> Result<Arc<ClientConfig>, HttpError> {
    static DEFAULT: OnceLock<Arc<ClientConfig>> = OnceLock::new();
    let plain = material.ca_pem.is_none() && material.client_pem.is_none();
    if plain {
        if let Some(config) = DEFAULT.get() {
            return Ok(config.clone());
        }
    }
    let bad = |reason: String| HttpError::TlsMaterial { reason };
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(system_roots().iter().cloned());
    if let Some(pem) = &material.ca_pem {
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| bad(format!("ca.crt: {e}")))?;
            roots.add(cert).map_err(|e| bad(format!("ca.crt: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(bad("ca.crt holds no PEM certificate".into()));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(e.to_string()))?
        .with_root_certificates(roots);
    let mut config = match &material.client_pem {
        Some((cert_pem, key_pem)) => {
            let chain = CertificateDer::pem_slice_iter(cert_pem)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad(format!("tls.crt: {e}")))?;
            let key =
                PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| bad(format!("tls.key: {e}")))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| bad(format!("tls.crt/tls.key: {e}")))?
        }
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let config = Arc::new(config);
    if plain {
        let _ = DEFAULT.set(config.clone());
    }
    Ok(config)
}

impl HttpClient {
    /// A client trusting the system roots plus `tls.ca_pem`, going through `proxy` when set.
    pub(crate) fn new(
        tls: &TlsMaterial,
        proxy: Option<&str>,
        timeout: Duration,
    ) -> Result<HttpClient, HttpError> {
        Ok(HttpClient {
            tls: tls_config(tls)?,
            proxy: proxy
                .filter(|p| !p.is_empty())
                .map(parse_proxy)
                .transpose()?,
            timeout,
        })
    }

    /// Sends one request and reads the response, within the timeout.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(HeaderName, HeaderValue)],
        body: Vec<u8>,
    ) -> Result<Response, HttpError> {
        let target = parse_target(url)?;
        let host = target.host.clone();
        match tokio::time::timeout(self.timeout, self.exchange(method, target, headers, body)).await
        {
            Ok(result) => result,
            Err(_) => Err(HttpError::Timeout {
                host,
                after: self.timeout,
            }),
        }
    }

    async fn exchange(
        &self,
        method: Method,
        target: Target,
        headers: &[(HeaderName, HeaderValue)],
        body: Vec<u8>,
    ) -> Result<Response, HttpError> {
        let (dial_host, dial_port) = match &self.proxy {
            Some(p) => (p.host.clone(), p.port),
            None => (target.host.clone(), target.port),
        };
        let mut tcp = TcpStream::connect((dial_host.as_str(), dial_port))
            .await
            .map_err(|source| HttpError::Connect {
                host: format!("{dial_host}:{dial_port}"),
                source,
            })?;
        let _ = tcp.set_nodelay(true);
        if let (Some(proxy), true) = (&self.proxy, target.https) {
            tunnel(&mut tcp, proxy, &target).await?;
        }
        let stream: Box<dyn Io> = if target.https {
            let name = ServerName::try_from(target.host.clone()).map_err(|_| HttpError::Tls {
                host: target.host.clone(),
                reason: "invalid server name".into(),
            })?;
            let tls = tokio_rustls::TlsConnector::from(self.tls.clone())
                .connect(name, tcp)
                .await
                .map_err(|e| HttpError::Tls {
                    host: target.host.clone(),
                    reason: e.to_string(),
                })?;
            Box::new(tls)
        } else {
            Box::new(tcp)
        };
        let exchange_error = |e: &dyn std::fmt::Display| HttpError::Exchange {
            host: target.host.clone(),
            reason: e.to_string(),
        };
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| exchange_error(&e))?;
        tokio::spawn(async move {
            // The connection ends with the exchange; its errors surface through the sender.
            let _ = connection.await;
        });
        // Through a proxy, plain-http requests carry the absolute URL (the proxy forwards them).
        let request_target = if self.proxy.is_some() && !target.https {
            format!("http://{}{}", target.authority, target.path)
        } else {
            target.path.clone()
        };
        let mut builder = Request::builder()
            .method(method)
            .uri(request_target)
            .header(HOST, target.authority.as_str())
            .header(USER_AGENT, AGENT)
            .header(CONTENT_LENGTH, body.len());
        if let (Some(proxy), false) = (&self.proxy, target.https) {
            if let Some(auth) = &proxy.authorization {
                builder = builder.header("proxy-authorization", auth.as_str());
            }
        }
        let mut request = builder
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| exchange_error(&e))?;
        for (name, value) in headers {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| exchange_error(&e))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|e| exchange_error(&e))?
            .to_bytes();
        Ok(Response { status, body })
    }
}

/// Opens a `CONNECT` tunnel to the target through the proxy.
async fn tunnel(tcp: &mut TcpStream, proxy: &Proxy, target: &Target) -> Result<(), HttpError> {
    let dest = format!("{}:{}", bracket(&target.host), target.port);
    let mut request = format!("CONNECT {dest} HTTP/1.1\r\nHost: {dest}\r\n");
    if let Some(auth) = &proxy.authorization {
        request.push_str(&format!("Proxy-Authorization: {auth}\r\n"));
    }
    request.push_str("\r\n");
    let io_error = |source| HttpError::Connect {
        host: format!("{}:{}", proxy.host, proxy.port),
        source,
    };
    tcp.write_all(request.as_bytes()).await.map_err(io_error)?;
    // Read the proxy's response head byte by byte: nothing of the tunnelled stream may be
    // consumed here.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 16 * 1024 {
            return Err(HttpError::ProxyRefused {
                host: dest,
                status: "response head too large".into(),
            });
        }
        let byte = tcp.read_u8().await.map_err(io_error)?;
        head.push(byte);
    }
    let head = String::from_utf8_lossy(&head);
    let status_line = head.lines().next().unwrap_or("").to_string();
    let ok = status_line
        .split_whitespace()
        .nth(1)
        .is_some_and(|code| code.starts_with('2'));
    if ok {
        Ok(())
    } else {
        Err(HttpError::ProxyRefused {
            host: dest,
            status: status_line,
        })
    }
}

fn bracket(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_without_leaking_credentials() {
        let t = parse_target("https://hooks.slack.com/services/T/B/SECRET").expect("url");
        assert!(t.https);
        assert_eq!((t.host.as_str(), t.port), ("hooks.slack.com", 443));
        assert_eq!(t.authority, "hooks.slack.com");
        assert_eq!(t.path, "/services/T/B/SECRET");
        let t = parse_target("http://127.0.0.1:8080").expect("url");
        assert_eq!(
            (t.authority.as_str(), t.path.as_str()),
            ("127.0.0.1:8080", "/")
        );
        let err = parse_target("ftp://x/SECRET").err().expect("error");
        assert!(!err.to_string().contains("SECRET"));
        assert!(parse_target("not a url").is_err());
    }

    #[test]
    fn proxy_credentials_become_basic_auth() {
        let p = parse_proxy("http://user:p%40ss@proxy:3128").expect("proxy");
        assert_eq!((p.host.as_str(), p.port), ("proxy", 3128));
        let expected = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("user:p@ss")
        );
        assert_eq!(p.authorization.as_deref(), Some(expected.as_str()));
        assert!(parse_proxy("socks5://proxy:1080").is_err());
    }
}
