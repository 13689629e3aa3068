//! Test helpers: loopback HTTP servers that stand in for Slack, Teams, Discord, GitHub and
//! GitLab (which cannot run here) and record what they receive; Provider and Alert builders;
//! openssl as the independent HMAC oracle; a small HTTP client.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use flotilla_api::notification::{AlertSpec, CrossNamespaceObjectReference, ProviderSpec};
use flotilla_api::refs::LocalObjectReference;
use flotilla_api::{Alert, Provider};
use flotilla_notify::provider::{ProviderSecrets, SecretData};
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// One request as the stand-in server saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub method: String,
    /// Request target as sent (origin-form path, or absolute URL through a proxy).
    pub target: String,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ASCII header").to_string())
    }
}

type Responder = dyn Fn(&Recorded) -> (u16, String) + Send + Sync;

/// A loopback HTTP server standing in for a notification service: records every request and
/// answers with `respond`.
pub struct Sink {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Sink {
    /// Answers 200 `{"ok":true}` to everything.
    pub async fn ok() -> Sink {
        Sink::start(|_| (200, r#"{"ok":true}"#.into())).await
    }

    pub async fn start(
        respond: impl Fn(&Recorded) -> (u16, String) + Send + Sync + 'static,
    ) -> Sink {
        Sink::start_with(None, respond).await
    }

    /// Serves HTTPS with a fresh self-signed certificate for 127.0.0.1; returns the sink and
    /// the certificate (PEM) to trust.
    pub async fn start_tls(
        respond: impl Fn(&Recorded) -> (u16, String) + Send + Sync + 'static,
    ) -> (Sink, String) {
        let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()]).unwrap();
        let cert_pem = ck.cert.pem();
        let certs = vec![ck.cert.der().clone()];
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(ck.signing_key.serialize_der().into());
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        (Sink::start_with(Some(acceptor), respond).await, cert_pem)
    }

    async fn start_with(
        tls: Option<tokio_rustls::TlsAcceptor>,
        respond: impl Fn(&Recorded) -> (u16, String) + Send + Sync + 'static,
    ) -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let respond: Arc<Responder> = Arc::new(respond);
        let recorded = requests.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let recorded = recorded.clone();
                let respond = respond.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let recorded = recorded.clone();
                        let respond = respond.clone();
                        async move {
                            let method = req.method().to_string();
                            let target = req.uri().to_string();
                            let headers = req.headers().clone();
                            let body = req.into_body().collect().await.unwrap().to_bytes().to_vec();
                            let r = Recorded {
                                method,
                                target,
                                headers,
                                body,
                            };
                            let (status, text) = respond(&r);
                            recorded.lock().unwrap().push(r);
                            let mut resp = Response::new(Full::new(Bytes::from(text)));
                            *resp.status_mut() = StatusCode::from_u16(status).unwrap();
                            Ok::<_, Infallible>(resp)
                        }
                    });
                    let builder = hyper::server::conn::http1::Builder::new();
                    match tls {
                        Some(acceptor) => {
                            let Ok(stream) = acceptor.accept(stream).await else {
                                return;
                            };
                            let _ = builder
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                        None => {
                            let _ = builder
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        }
                    }
                });
            }
        });
        Sink {
            addr,
            requests,
            task,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits until `n` requests arrived (at most `within`).
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<Recorded> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let got = self.requests();
            if got.len() >= n || tokio::time::Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// An HTTP proxy that only tunnels (`CONNECT`), recording each tunnel's target.
pub async fn connect_proxy() -> (
    SocketAddr,
    Arc<Mutex<Vec<String>>>,
    tokio::task::JoinHandle<()>,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let targets = Arc::new(Mutex::new(Vec::new()));
    let seen = targets.clone();
    let task = tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                while !head.ends_with(b"\r\n\r\n") {
                    head.push(client.read_u8().await.unwrap());
                }
                let head = String::from_utf8(head).unwrap();
                let line = head.lines().next().unwrap().to_string();
                seen.lock().unwrap().push(line.clone());
                let target = line.split_whitespace().nth(1).unwrap().to_string();
                let mut upstream = tokio::net::TcpStream::connect(target).await.unwrap();
                client
                    .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                    .await
                    .unwrap();
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
            });
        }
    });
    (addr, targets, task)
}

/// A server that accepts connections and never answers (a provider that hangs).
pub async fn black_hole() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
        }
    });
    (addr, task)
}

pub fn provider(name: &str, type_: &str, address: Option<String>) -> Provider {
    let mut p = Provider::new(
        name,
        ProviderSpec {
            type_: type_.into(),
            channel: None,
            username: None,
            address,
            interval: None,
            timeout: None,
            proxy: None,
            proxy_secret_ref: None,
            secret_ref: None,
            service_account_name: None,
            cert_secret_ref: None,
            commit_status_expr: None,
            suspend: None,
        },
    );
    p.metadata.namespace = Some("flux-system".into());
    p.metadata.uid = Some("2a3c4e5f-1111-2222-3333-444455556666".into());
    p
}

pub fn alert(name: &str, provider: &str, sources: Vec<CrossNamespaceObjectReference>) -> Alert {
    let mut a = Alert::new(
        name,
        AlertSpec {
            provider_ref: LocalObjectReference::new(provider),
            event_severity: None,
            event_sources: sources,
            inclusion_list: None,
            event_metadata: None,
            exclusion_list: None,
            summary: None,
            suspend: None,
        },
    );
    a.metadata.namespace = Some("flux-system".into());
    a
}

pub fn source(kind: &str, name: &str) -> CrossNamespaceObjectReference {
    CrossNamespaceObjectReference {
        kind: kind.into(),
        name: name.into(),
        ..Default::default()
    }
}

pub fn secret_data(pairs: &[(&str, &str)]) -> SecretData {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect()
}

pub fn secrets(pairs: &[(&str, &str)]) -> ProviderSecrets {
    ProviderSecrets {
        secret: Some(secret_data(pairs)),
        ..Default::default()
    }
}

/// HMAC computed by openssl (`openssl dgst -<alg> -hmac <key>`), independent of the crate.
pub fn openssl_hmac(alg: &str, key: &str, data: &[u8]) -> String {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(["dgst", &format!("-{alg}"), "-hmac", key, "-r"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("openssl must be installed");
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// A plain HTTP/1.1 request; returns status and body.
pub async fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> (u16, String) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let mut builder = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string());
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let resp = sender
        .send_request(builder.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let text = resp.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&text).into_owned())
}

pub fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}
