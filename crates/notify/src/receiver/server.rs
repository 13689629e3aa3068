//! The webhook HTTP server: finds the Receiver by path, validates the request, and requests
//! reconciles, coalescing bursts so a flood of calls never turns into a flood of reconciles.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use flotilla_api::Receiver;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, ListParams};
use kube::ResourceExt;
use tokio::net::TcpListener;
use tokio::sync::Mutex;

use super::{
    receiver_token, request_reconcile, validate, webhook_path, ReceiverError, ReceiverType,
    WEBHOOK_PATH_PREFIX,
};

/// Webhook server settings.
#[derive(Clone, Debug)]
pub struct ReceiverServerOptions {
    /// Largest request body accepted; larger ones get 400.
    pub max_body_bytes: usize,
    /// Requests per second accepted overall (token bucket); beyond it, 429.
    pub requests_per_second: u32,
    /// Requests accepted in a burst above the rate.
    pub burst: u32,
    /// How long the list of Receivers (and their tokens) is reused before it is read again.
    pub cache_ttl: Duration,
    /// Shortest time between two reads of the Receivers on unknown paths.
    pub miss_refresh_interval: Duration,
    /// Valid calls for a Receiver within this window after it annotated its resources are
    /// folded into one more annotation at the end of the window.
    pub coalesce_window: Duration,
}

impl Default for ReceiverServerOptions {
    fn default() -> Self {
        ReceiverServerOptions {
            max_body_bytes: 4 << 20,
            requests_per_second: 50,
            burst: 100,
            cache_ttl: Duration::from_secs(5),
            miss_refresh_interval: Duration::from_millis(250),
            coalesce_window: Duration::from_secs(1),
        }
    }
}

struct Entry {
    path: String,
    receiver: Receiver,
    token: Option<String>,
}

#[derive(Default)]
struct Cache {
    entries: Vec<Arc<Entry>>,
    /// When the Receivers were last read, or last failed to be read.
    fetched: Option<Instant>,
    /// The last read failed: the failure was logged once; reads wait for the cache TTL
    /// instead of following every unknown path, so a flood of calls never floods the API
    /// server or the log.
    failing: bool,
}

#[derive(Default)]
struct Burst {
    last: Option<Instant>,
    trailing: bool,
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

struct State {
    client: kube::Client,
    options: ReceiverServerOptions,
    cache: Mutex<Cache>,
    bursts: Mutex<HashMap<String, Burst>>,
    bucket: std::sync::Mutex<Bucket>,
}

/// The webhook receiver server, bound and ready to run.
pub struct ReceiverServer {
    listener: TcpListener,
    state: Arc<State>,
}

/// Serves Receivers on `addr` until `shutdown` completes.
pub async fn serve_receivers(
    addr: SocketAddr,
    client: kube::Client,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ReceiverError> {
    ReceiverServer::bind(addr, client, ReceiverServerOptions::default())
        .await?
        .run(shutdown)
        .await
}

impl ReceiverServer {
    /// Binds `addr` (port 0 picks a free port).
    pub async fn bind(
        addr: SocketAddr,
        client: kube::Client,
        options: ReceiverServerOptions,
    ) -> Result<ReceiverServer, ReceiverError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| ReceiverError::Bind { addr, source })?;
        let burst = f64::from(options.burst.max(1));
        Ok(ReceiverServer {
            listener,
            state: Arc::new(State {
                client,
                options,
                cache: Mutex::new(Cache::default()),
                bursts: Mutex::new(HashMap::new()),
                bucket: std::sync::Mutex::new(Bucket {
                    tokens: burst,
                    at: Instant::now(),
                }),
            }),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound TCP listener has a local address")
    }

    /// Accepts connections until `shutdown` completes; requests in progress finish on their own.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) -> Result<(), ReceiverError> {
        tokio::pin!(shutdown);
        loop {
            let (stream, _) = tokio::select! {
                _ = &mut shutdown => return Ok(()),
                accepted = self.listener.accept() => match accepted {
                    Ok(pair) => pair,
                    Err(e) => {
                        tracing::warn!(error = %e, "accepting a webhook connection failed");
                        continue;
                    }
                },
            };
            let state = self.state.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let state = state.clone();
                    async move { Ok::<_, Infallible>(handle(&state, req).await) }
                });
                if let Err(e) = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::debug!(error = %e, "webhook connection ended with an error");
                }
            });
        }
    }
}

fn reply(status: StatusCode, text: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(format!("{text}\n"))));
    *response.status_mut() = status;
    response
}

fn take_token(state: &State) -> bool {
    let mut bucket = match state.bucket.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    };
    let now = Instant::now();
    let rate = f64::from(state.options.requests_per_second.max(1));
    let burst = f64::from(state.options.burst.max(1));
    bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * rate).min(burst);
    bucket.at = now;
    if bucket.tokens >= 1.0 {
        bucket.tokens -= 1.0;
        true
    } else {
        false
    }
}

async fn handle(state: &Arc<State>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    if !take_token(state) {
        return reply(StatusCode::TOO_MANY_REQUESTS, "too many requests");
    }
    let path = req.uri().path().to_string();
    if !path.starts_with(WEBHOOK_PATH_PREFIX) {
        return reply(StatusCode::NOT_FOUND, "not found");
    }
    let limit = state.options.max_body_bytes;
    let declared = req
        .headers()
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return reply(StatusCode::BAD_REQUEST, "payload too large");
    }
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => return reply(StatusCode::BAD_REQUEST, "payload too large or unreadable"),
    };
    let Some(entry) = lookup(state, &path).await else {
        return reply(StatusCode::NOT_FOUND, "not found");
    };
    let receiver = &entry.receiver;
    let rid = format!(
        "{}/{}",
        receiver.namespace().unwrap_or_default(),
        receiver.name_any()
    );
    if receiver.spec.suspend == Some(true) {
        tracing::info!(receiver = %rid, "webhook call for a suspended Receiver ignored");
        return reply(StatusCode::SERVICE_UNAVAILABLE, "receiver is suspended");
    }
    let Some(kind) = ReceiverType::parse(&receiver.spec.type_) else {
        tracing::error!(receiver = %rid, type_ = %receiver.spec.type_, "Receiver type not supported by Flotilla");
        return reply(StatusCode::NOT_IMPLEMENTED, "receiver type not supported");
    };
    let Some(token) = entry.token.as_deref() else {
        tracing::error!(receiver = %rid, "Receiver token unavailable");
        return reply(StatusCode::SERVICE_UNAVAILABLE, "receiver is not ready");
    };
    let events = receiver.spec.events.clone().unwrap_or_default();
    let accepted = match validate(kind, token, &events, &parts.headers, &body) {
        Ok(a) => a,
        Err(rejection) => {
            tracing::warn!(receiver = %rid, reason = %rejection, "webhook request rejected");
            let text = match rejection.status() {
                StatusCode::UNAUTHORIZED => "unauthorized",
                _ => "bad request",
            };
            return reply(rejection.status(), text);
        }
    };
    if !accepted.reconcile {
        return reply(StatusCode::OK, "accepted");
    }
    tracing::info!(receiver = %rid, event = ?accepted.event, "webhook accepted, requesting reconciliation");
    if coalesce(state, &entry).await {
        return reply(StatusCode::ACCEPTED, "accepted");
    }
    let report = request_reconcile(&state.client, receiver, &requested_at_now()).await;
    for error in &report.errors {
        tracing::error!(receiver = %rid, error = %error, "reconcile request failed");
    }
    if report.errors.is_empty() {
        reply(StatusCode::OK, "ok")
    } else {
        reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            "reconcile request failed",
        )
    }
}

fn requested_at_now() -> String {
    Timestamp::now().to_string()
}

/// True when the call is folded into a trailing annotation (scheduled here if none is yet);
/// false when the caller annotates now.
async fn coalesce(state: &Arc<State>, entry: &Arc<Entry>) -> bool {
    let window = state.options.coalesce_window;
    if window.is_zero() {
        return false;
    }
    let key = entry.path.clone();
    let mut bursts = state.bursts.lock().await;
    let burst = bursts.entry(key.clone()).or_default();
    let now = Instant::now();
    match burst.last {
        Some(last) if now.duration_since(last) < window => {
            if !burst.trailing {
                burst.trailing = true;
                let wait = window - now.duration_since(last);
                let state = state.clone();
                let entry = entry.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(wait).await;
                    {
                        let mut bursts = state.bursts.lock().await;
                        let b = bursts.entry(key).or_default();
                        b.trailing = false;
                        b.last = Some(Instant::now());
                    }
                    let report =
                        request_reconcile(&state.client, &entry.receiver, &requested_at_now())
                            .await;
                    for error in &report.errors {
                        tracing::error!(error = %error, "reconcile request failed");
                    }
                });
            }
            true
        }
        _ => {
            burst.last = Some(now);
            false
        }
    }
}

async fn lookup(state: &State, path: &str) -> Option<Arc<Entry>> {
    let mut cache = state.cache.lock().await;
    let age = cache.fetched.map(|t| t.elapsed());
    if age.is_none_or(|a| a >= state.options.cache_ttl) {
        refresh(state, &mut cache).await;
    } else if let Some(found) = find(&cache, path) {
        return Some(found);
    } else if !cache.failing && age.is_some_and(|a| a >= state.options.miss_refresh_interval) {
        refresh(state, &mut cache).await;
    }
    find(&cache, path)
}

fn find(cache: &Cache, path: &str) -> Option<Arc<Entry>> {
    cache.entries.iter().find(|e| e.path == path).cloned()
}

/// Reads every Receiver and its token; a Receiver's path is its `status.webhookPath`, or the
/// one computed from its token while the status has none yet.
async fn refresh(state: &State, cache: &mut Cache) {
    let api: Api<Receiver> = Api::all(state.client.clone());
    let receivers = match api.list(&ListParams::default()).await {
        Ok(list) => list.items,
        Err(e) => {
            if !cache.failing {
                match &e {
                    kube::Error::Api(s) if s.code == 404 => tracing::warn!(
                        "the Receiver CRD (receivers.notification.toolkit.fluxcd.io/v1) is not \
                         installed: webhook calls get 404 until it is (run `flotilla install`)"
                    ),
                    _ => {
                        tracing::error!(error = %e, retry_in = ?state.options.cache_ttl, "cannot list Receivers; serving the last list read")
                    }
                }
            }
            cache.failing = true;
            cache.fetched = Some(Instant::now());
            return;
        }
    };
    if std::mem::take(&mut cache.failing) {
        tracing::info!("Receivers listed again");
    }
    let mut entries = Vec::with_capacity(receivers.len());
    for receiver in receivers {
        let token = match receiver_token(&state.client, &receiver).await {
            Ok(t) => Some(t),
            Err(e) => {
                tracing::warn!(error = %e, "Receiver not served");
                None
            }
        };
        let status_path = receiver
            .status
            .as_ref()
            .and_then(|s| s.webhook_path.clone())
            .filter(|p| !p.is_empty());
        let path = match (status_path, &token) {
            (Some(p), _) => p,
            (None, Some(t)) => webhook_path(
                t,
                &receiver.name_any(),
                &receiver.namespace().unwrap_or_default(),
            ),
            (None, None) => continue,
        };
        entries.push(Arc::new(Entry {
            path,
            receiver,
            token,
        }));
    }
    cache.entries = entries;
    cache.fetched = Some(Instant::now());
}
