//! Small HTTP/1 servers on hyper: /metrics, /healthz and /readyz, and the helper the artifact server shares.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;

use super::metrics::Metrics;

/// A response body: whole or streamed.
pub type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// A whole response with a plain-text body.
pub fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut resp = Response::new(
        Full::new(body.into())
            .map_err(|e| match e {})
            .boxed_unsync(),
    );
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

/// Binds `addr`; the listener is returned so callers learn the port before serving.
pub async fn bind(addr: &str) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves `handler` on `listener` until `stop` fires; connections in flight are dropped then.
pub async fn serve<H, F>(listener: TcpListener, handler: H, mut stop: watch::Receiver<bool>)
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = stop.changed() => break,
        };
        let Ok((stream, _)) = accepted else { continue };
        let handler = handler.clone();
        connections.spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let handler = handler.clone();
                async move { Ok::<_, Infallible>(handler(req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        // Reap finished connections so the set stays small.
        while connections.try_join_next().is_some() {}
    }
    connections.abort_all();
}

/// State behind /metrics and the probes.
#[derive(Clone)]
pub struct Probes {
    /// The metrics to render.
    pub metrics: Arc<Metrics>,
    /// Set once the controller has started (leading or standing by).
    pub ready: Arc<AtomicBool>,
}

/// Answers /metrics, /healthz and /readyz.
pub async fn probes(probes: Probes, req: Request<Incoming>) -> Response<Body> {
    match req.uri().path() {
        "/metrics" => {
            let mut resp = text(StatusCode::OK, probes.metrics.render());
            resp.headers_mut().insert(
                http::header::CONTENT_TYPE,
                http::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
            );
            resp
        }
        "/healthz" => text(StatusCode::OK, "ok"),
        "/readyz" if probes.ready.load(Ordering::SeqCst) => text(StatusCode::OK, "ok"),
        "/readyz" => text(StatusCode::SERVICE_UNAVAILABLE, "starting"),
        _ => text(StatusCode::NOT_FOUND, "not found"),
    }
}

/// The address a listener is bound to.
pub fn local_addr(listener: &TcpListener) -> Option<SocketAddr> {
    listener.local_addr().ok()
}
