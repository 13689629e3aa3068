//! The HTTP server: options, start/shutdown, authentication, body limits, and dispatch.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{combinators::BoxBody, BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinSet;

use crate::errors::ApiError;
use crate::resources::Registry;
use crate::store::Store;
use crate::wal::WalError;

/// The response body type: whole JSON documents, or a watch stream.
pub type Body = BoxBody<Bytes, Infallible>;

/// How the simulated node behaves.
#[derive(Debug, Clone)]
pub struct SimulateOptions {
    /// How long after a workload changes before it is marked ready.
    pub delay: Duration,
}

impl Default for SimulateOptions {
    fn default() -> Self {
        SimulateOptions {
            delay: Duration::from_millis(500),
        }
    }
}

/// Server configuration.
#[derive(Debug, Clone)]
pub struct Options {
    /// Keep objects here (write-ahead log); None keeps them in memory only.
    pub data_dir: Option<PathBuf>,
    /// Address to listen on.
    pub address: String,
    /// Port to listen on; 0 picks a free one.
    pub port: u16,
    /// The simulated node; None leaves workloads as created.
    pub simulate: Option<SimulateOptions>,
    /// Largest request body accepted (413 above it).
    pub max_body_bytes: usize,
    /// How many past events a watch can resume from (410 Gone beyond).
    pub watch_history: usize,
    /// Bearer token clients must send; None generates one (or reuses the one in data_dir).
    pub token: Option<String>,
    /// Interval between BOOKMARK events on watches that allow them.
    pub bookmark_interval: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            data_dir: None,
            address: "127.0.0.1".into(),
            port: 0,
            simulate: Some(SimulateOptions::default()),
            max_body_bytes: 3 * 1024 * 1024,
            watch_history: 10_000,
            token: None,
            bookmark_interval: Duration::from_secs(5),
        }
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The address/port could not be bound (in use, or not a local address).
    #[error("cannot listen on {addr}: {source}; pick another --port or stop what uses it")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    /// The data directory could not be read or replayed.
    #[error(transparent)]
    Store(#[from] WalError),
    /// The TLS certificate could not be made or loaded.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// The token file in the data directory could not be read or written.
    #[error("token file {path}: {source}")]
    Token {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Shared state of a running server.
pub(crate) struct Ctx {
    pub store: Arc<Store>,
    pub registry: Registry,
    pub token: String,
    pub options: Options,
    /// Wakes the garbage collector after deletes and owner changes.
    pub gc: Notify,
    pub shutdown: watch::Receiver<bool>,
}

/// Entry point.
pub struct Server;

/// A running server. Dropping it stops serving (without waiting); `shutdown` waits.
pub struct ServerHandle {
    pub addr: SocketAddr,
    pub token: String,
    /// The server's self-signed certificate (PEM): what clients trust.
    pub ca_pem: String,
    stop: watch::Sender<bool>,
    tasks: Option<JoinSet<()>>,
    ctx: Arc<Ctx>,
}

fn load_token(options: &Options) -> Result<String, ServerError> {
    if let Some(t) = &options.token {
        return Ok(t.clone());
    }
    let fresh = || -> String {
        let b: [u8; 24] = rand::random();
        b.iter().map(|x| format!("{x:02x}")).collect()
    };
    let Some(dir) = &options.data_dir else {
        return Ok(fresh());
    };
    let path = dir.join("token");
    let err = |source| ServerError::Token {
        path: path.clone(),
        source,
    };
    match std::fs::read_to_string(&path) {
        Ok(t) if !t.trim().is_empty() => Ok(t.trim().to_string()),
        _ => {
            std::fs::create_dir_all(dir).map_err(err)?;
            let t = fresh();
            std::fs::write(&path, &t).map_err(err)?;
            Ok(t)
        }
    }
}

impl Server {
    /// Opens the store (replaying the data directory), binds, and starts serving.
    pub async fn start(options: Options) -> Result<ServerHandle, ServerError> {
        let store = Arc::new(Store::open(
            options.data_dir.as_deref(),
            options.watch_history,
        )?);
        let token = load_token(&options)?;
        let tls = crate::tls::load_or_create(options.data_dir.as_deref())?;
        let addr_text = format!("{}:{}", options.address, options.port);
        let listener = TcpListener::bind(&addr_text)
            .await
            .map_err(|source| ServerError::Bind {
                addr: addr_text.clone(),
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: addr_text,
            source,
        })?;
        let (stop, shutdown) = watch::channel(false);
        let ctx = Arc::new(Ctx {
            store,
            registry: Registry::with_builtins(),
            token: token.clone(),
            options,
            gc: Notify::new(),
            shutdown,
        });
        crate::crd::register_stored(&ctx);
        crate::handlers::bootstrap(&ctx);
        let mut tasks = JoinSet::new();
        tasks.spawn(accept_loop(ctx.clone(), listener, tls.acceptor));
        tasks.spawn(crate::gc::run(ctx.clone()));
        if let Some(sim) = ctx.options.simulate.clone() {
            tasks.spawn(crate::simulate::run(ctx.clone(), sim));
        }
        Ok(ServerHandle {
            addr,
            token,
            ca_pem: tls.cert_pem,
            stop,
            tasks: Some(tasks),
            ctx,
        })
    }
}

impl ServerHandle {
    /// `https://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// A kubeconfig (YAML) with one cluster, user and context named `flotilla-dev`.
    pub fn kubeconfig_yaml(&self) -> String {
        crate::kubeconfig::render(&self.url(), &self.token, &self.ca_pem)
    }

    /// Writes the kubeconfig (mode 0600: it holds the token).
    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        crate::kubeconfig::write(path, &self.kubeconfig_yaml())
    }

    /// Number of stored objects.
    pub fn object_count(&self) -> usize {
        self.ctx.store.len()
    }

    /// Stops accepting, ends open watches, and waits for the server's tasks.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(mut tasks) = self.tasks.take() {
            let deadline = tokio::time::sleep(Duration::from_secs(2));
            tokio::pin!(deadline);
            loop {
                tokio::select! {
                    next = tasks.join_next() => if next.is_none() { break },
                    _ = &mut deadline => { tasks.abort_all(); break }
                }
            }
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        if let Some(mut tasks) = self.tasks.take() {
            tasks.abort_all();
            tasks.detach_all();
        }
    }
}

async fn accept_loop(ctx: Arc<Ctx>, listener: TcpListener, tls: tokio_rustls::TlsAcceptor) {
    let mut stop = ctx.shutdown.clone();
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let ctx = ctx.clone();
                let tls = tls.clone();
                conns.spawn(async move {
                    // A client that fails the handshake (plain http, wrong CA) just goes away.
                    let Ok(stream) = tls.accept(stream).await else { return };
                    let svc = hyper::service::service_fn(move |req| handle(ctx.clone(), req));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
    conns.abort_all();
}

pub(crate) fn json_response(code: u16, body: &Value) -> Response<Body> {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::OK))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(bytes)).boxed())
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new()).boxed()))
}

pub(crate) fn error_response(err: &ApiError) -> Response<Body> {
    json_response(err.code(), &err.status())
}

fn public_path(path: &str) -> bool {
    matches!(path, "/version" | "/healthz" | "/livez" | "/readyz")
        || path.starts_with("/healthz/")
        || path.starts_with("/livez/")
        || path.starts_with("/readyz/")
}

async fn handle(ctx: Arc<Ctx>, req: Request<Incoming>) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path().to_string();
    if !public_path(&path) {
        let ok = req
            .headers()
            .get("authorization")
            .and_then(|h| h.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .is_some_and(|t| t.trim() == ctx.token);
        if !ok {
            return Ok(error_response(&ApiError::Unauthorized));
        }
    }
    let limit = ctx.options.max_body_bytes;
    let too_large = || {
        ApiError::TooLarge(format!(
            "the request body is larger than the server's limit of {limit} bytes"
        ))
    };
    let declared = req
        .headers()
        .get("content-length")
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Ok(error_response(&too_large()));
    }
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, limit).collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                return Ok(error_response(&too_large()));
            }
            return Ok(error_response(&ApiError::BadRequest(format!(
                "reading the request body: {e}"
            ))));
        }
    };
    let started = Instant::now();
    let method = parts.method.clone();
    let resp = crate::handlers::dispatch(&ctx, parts, body).await;
    tracing::debug!(%method, %path, status = resp.status().as_u16(), elapsed_ms = started.elapsed().as_millis() as u64, "request");
    Ok(resp)
}
