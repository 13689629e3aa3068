//! The artifact file server, as source-controller serves its storage: GET `/<kind>/<ns>/<name>/<file>`.

use bytes::Bytes;
use flotilla_source::Storage;
use futures::StreamExt;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use tokio::io::AsyncReadExt;

use crate::runtime::http::{text, Body};

/// Serves one request for an artifact. Paths that leave the storage root, or reach hidden
/// entries (the Git caches, temp files), are refused.
pub async fn serve_artifact(storage: Storage, req: Request<Incoming>) -> Response<Body> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    }
    let path = req.uri().path().trim_start_matches('/');
    if path.is_empty()
        || path.contains('%')
        || path.contains('\\')
        || path.split('/').any(|c| c.starts_with('.'))
    {
        return text(StatusCode::NOT_FOUND, "404 page not found\n");
    }
    let Ok(local) = storage.local_path(path) else {
        return text(StatusCode::NOT_FOUND, "404 page not found\n");
    };
    let file = match tokio::fs::File::open(&local).await {
        Ok(f) => f,
        Err(_) => return text(StatusCode::NOT_FOUND, "404 page not found\n"),
    };
    let len = match file.metadata().await {
        Ok(m) if m.is_file() => m.len(),
        _ => return text(StatusCode::NOT_FOUND, "404 page not found\n"),
    };
    let body: Body = if req.method() == Method::HEAD {
        http_body_util::Empty::<Bytes>::new()
            .map_err(|e| match e {})
            .boxed_unsync()
    } else {
        // Streamed in 64 KiB chunks: serving never holds a whole artifact in memory.
        let chunks = futures::stream::unfold(Some(file), |file| async move {
            let mut file = file?;
            let mut buf = vec![0u8; 64 * 1024];
            match file.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(Frame::data(Bytes::from(buf))), Some(file)))
                }
                Err(e) => Some((Err(e), None)),
            }
        });
        StreamBody::new(chunks.boxed()).boxed_unsync()
    };
    let mut resp = Response::new(body);
    let headers = resp.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/x-gzip"),
    );
    headers.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(len));
    resp
}
