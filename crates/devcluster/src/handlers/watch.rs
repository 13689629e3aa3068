//! watch: a stream of JSON events per collection or object, from a resourceVersion, with
//! bookmarks, timeouts and selector-aware ADDED/DELETED transitions.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Response;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use serde_json::{json, Value};
use tokio::sync::{broadcast, mpsc};

use super::read::selectors;
use super::Req;
use crate::errors::ApiError;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::server::{Body, Ctx};
use crate::store::{Event, EventType, WatchStart};

struct Filter {
    ns: Option<String>,
    name: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
}

impl Filter {
    fn matches(&self, obj: &Value) -> bool {
        let meta = &obj["metadata"];
        self.ns
            .as_deref()
            .is_none_or(|ns| meta["namespace"].as_str().unwrap_or_default() == ns)
            && self
                .name
                .as_deref()
                .is_none_or(|n| meta["name"].as_str() == Some(n))
            && self.labels.matches(obj)
            && self.fields.matches(obj)
    }

    /// The event type this watcher sees, if any: objects moving into or out of the
    /// selection appear as ADDED or DELETED.
    fn view(&self, ev: &Event) -> Option<EventType> {
        let now = self.matches(&ev.object);
        let before = ev.prev.as_deref().is_some_and(|p| self.matches(p));
        match ev.kind {
            EventType::Deleted => before.then_some(EventType::Deleted),
            EventType::Added => now.then_some(EventType::Added),
            EventType::Modified => match (before, now) {
                (true, true) => Some(EventType::Modified),
                (false, true) => Some(EventType::Added),
                (true, false) => Some(EventType::Deleted),
                (false, false) => None,
            },
        }
    }
}

fn line(v: &Value) -> Bytes {
    let mut b = serde_json::to_vec(v).unwrap_or_default();
    b.push(b'\n');
    Bytes::from(b)
}

pub(crate) async fn watch(ctx: &Arc<Ctx>, req: Req) -> Result<Response<Body>, ApiError> {
    let (labels, fields) = selectors(&req)?;
    let name = req
        .path
        .name
        .clone()
        .or_else(|| fields.pinned_name().map(String::from));
    let filter = Filter {
        ns: req.path.namespace.clone(),
        name,
        labels,
        fields,
    };
    let key = req.res.key();
    let rv_param = req.q("resourceVersion").map(String::from);
    let initial_events = req.q("sendInitialEvents") == Some("true");
    let bookmarks = req.q("allowWatchBookmarks") == Some("true");
    let timeout = req
        .q("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs);
    let (initial, rx, start_rv) = match rv_param.as_deref() {
        Some(rv) if rv != "0" && !initial_events => {
            let rv: u64 = rv.parse().map_err(|_| {
                ApiError::BadRequest(format!("invalid resourceVersion {rv:?} for watch"))
            })?;
            match ctx.store.watch_from(&key, rv) {
                WatchStart::Events(events, rx) => {
                    let initial: Vec<(EventType, Arc<Value>)> = events
                        .iter()
                        .filter_map(|e| filter.view(e).map(|t| (t, e.object.clone())))
                        .collect();
                    (initial, rx, rv)
                }
                WatchStart::Expired(oldest) => {
                    let err = ApiError::Gone(format!("too old resource version: {rv} ({oldest})"));
                    let (tx, body_rx) = mpsc::channel(1);
                    let _ = tx.try_send(line(&json!({"type": "ERROR", "object": err.status()})));
                    drop(tx);
                    return Ok(stream_response(body_rx));
                }
            }
        }
        _ => {
            let (items, rv, rx) = ctx
                .store
                .snapshot_and_subscribe(&key, req.path.namespace.as_deref());
            let initial = items
                .into_iter()
                .filter(|o| filter.matches(o))
                .map(|o| (EventType::Added, o))
                .collect();
            (initial, rx, rv)
        }
    };
    let (tx, body_rx) = mpsc::channel::<Bytes>(256);
    let job = Job {
        ctx: ctx.clone(),
        req,
        filter,
        key,
        bookmarks,
        initial_events,
        timeout,
    };
    tokio::spawn(job.run(initial, rx, start_rv, tx));
    Ok(stream_response(body_rx))
}

fn stream_response(rx: mpsc::Receiver<Bytes>) -> Response<Body> {
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, std::convert::Infallible>(Frame::data(b)), rx))
    });
    Response::builder()
        .header("content-type", "application/json")
        .header("transfer-encoding", "chunked")
        .body(StreamBody::new(stream).boxed())
        .unwrap_or_else(|_| Response::new(http_body_util::Full::new(Bytes::new()).boxed()))
}

struct Job {
    ctx: Arc<Ctx>,
    req: Req,
    filter: Filter,
    key: String,
    bookmarks: bool,
    initial_events: bool,
    timeout: Option<Duration>,
}

impl Job {
    fn event(&self, t: EventType, obj: &Value) -> Bytes {
        let out = super::output(&self.req.res, &self.req.path.version, obj);
        let out = if self.req.wants_table() {
            let rv = out["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or("")
                .to_string();
            crate::table::table(
                &self.req.res,
                &self.req.path.version,
                &[out],
                &rv,
                None,
                &self.req,
            )
        } else {
            out
        };
        line(&json!({"type": t.as_str(), "object": out}))
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Bytes {
        let mut meta = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        line(&json!({"type": "BOOKMARK", "object": {
            "kind": self.req.res.kind, "apiVersion": self.req.api_version(), "metadata": meta,
        }}))
    }

    async fn run(
        self,
        initial: Vec<(EventType, Arc<Value>)>,
        mut rx: broadcast::Receiver<Arc<Event>>,
        start_rv: u64,
        tx: mpsc::Sender<Bytes>,
    ) {
        let mut last_rv = start_rv;
        for (t, o) in &initial {
            last_rv = last_rv.max(crate::store::object_rv(o));
            if tx.send(self.event(*t, o)).await.is_err() {
                return;
            }
        }
        if self.initial_events && tx.send(self.bookmark(last_rv, true)).await.is_err() {
            return;
        }
        let mut stop = self.ctx.shutdown.clone();
        let deadline =
            tokio::time::sleep(self.timeout.unwrap_or(Duration::from_secs(3600 * 24 * 365)));
        tokio::pin!(deadline);
        let mut ticker = tokio::time::interval(self.ctx.options.bookmark_interval);
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                _ = stop.changed() => return,
                _ = tx.closed() => return,
                _ = ticker.tick(), if self.bookmarks => {
                    let rv = self.ctx.store.rv();
                    if tx.send(self.bookmark(rv.max(last_rv), false)).await.is_err() { return }
                }
                ev = rx.recv() => match ev {
                    Ok(ev) => {
                        if ev.rv <= last_rv || *ev.key != *self.key {
                            continue;
                        }
                        last_rv = ev.rv;
                        if let Some(t) = self.filter.view(&ev) {
                            if tx.send(self.event(t, &ev.object)).await.is_err() { return }
                        }
                    }
                    // Too slow a reader or the store is gone: end the stream; the client
                    // resumes from its last resourceVersion (or relists on 410).
                    Err(_) => return,
                },
            }
        }
    }
}
