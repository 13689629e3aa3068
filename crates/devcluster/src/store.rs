//! The object store: every object in memory under one global resourceVersion counter, an event
//! history for watches, and (with a data directory) the write-ahead log behind every write.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::broadcast;

use crate::wal::{Record, Wal, WalError};

/// What happened to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, as kept in the history and sent to watchers.
#[derive(Debug)]
pub struct Event {
    pub rv: u64,
    /// Storage key (`group/plural`).
    pub key: Arc<str>,
    pub kind: EventType,
    /// The object after the change (for deletes: its last state, with the delete's rv).
    pub object: Arc<Value>,
    /// The object before the change, so selector watches can turn moves into ADDED/DELETED.
    pub prev: Option<Arc<Value>>,
}

/// Conditions a write must meet.
#[derive(Debug, Clone, Copy)]
pub enum Precondition {
    /// Whatever is there.
    Any,
    /// Create: nothing may be stored under the name.
    NotExists,
    /// The stored object must be at this resourceVersion.
    Rv(u64),
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No object under that name.
    #[error("not found")]
    NotFound,
    /// An object with that name already exists.
    #[error("already exists")]
    AlreadyExists,
    /// The stored object changed since the caller read it.
    #[error("the object has been modified; please apply your changes to the latest version and try again")]
    Conflict,
    /// The write could not be made durable; nothing was changed.
    #[error(transparent)]
    Wal(#[from] WalError),
}

/// Answer to a watch request from a resourceVersion.
pub enum WatchStart {
    /// Events after the requested version, then live ones from the receiver.
    Events(Vec<Arc<Event>>, broadcast::Receiver<Arc<Event>>),
    /// The requested version is older than the kept history.
    Expired(u64),
}

type Objects = BTreeMap<(String, String), Arc<Value>>;
type ObjEntry<'a> = (&'a (String, String), &'a Arc<Value>);

struct Inner {
    rv: u64,
    objects: HashMap<String, Objects>,
    history: VecDeque<Arc<Event>>,
    /// Events after this version are all in `history`.
    history_start: u64,
    history_cap: usize,
    wal: Option<Wal>,
    /// Where the log lives, and how many records it has had since it was last compacted.
    data_dir: Option<std::path::PathBuf>,
    appended: usize,
    /// Compact after at least this many appends (and 4× the live objects).
    compact_after: usize,
    /// Changes written to the log but not yet known to be on disk: watchers see them only
    /// once they are durable, in resourceVersion order.
    pending: VecDeque<Arc<Event>>,
}

/// The store. Cheap to share behind an `Arc`.
pub struct Store {
    inner: Mutex<Inner>,
    tx: broadcast::Sender<Arc<Event>>,
}

/// Sets `metadata.resourceVersion`.
fn stamp(obj: &mut Value, rv: u64) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
    }
}

pub fn object_rv(obj: &Value) -> u64 {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

impl Store {
    /// Opens a memory-only store, or replays and compacts the log in `data_dir`.
    pub fn open(data_dir: Option<&Path>, history_cap: usize) -> Result<Store, WalError> {
        let mut objects: HashMap<String, Objects> = HashMap::new();
        let mut rv = 0;
        let mut wal = None;
        if let Some(dir) = data_dir {
            let (max_rv, records) = Wal::replay(dir)?;
            rv = max_rv;
            for (_, rec) in records {
                match rec {
                    Record::Put {
                        key,
                        ns,
                        name,
                        object,
                    } => {
                        objects
                            .entry(key)
                            .or_default()
                            .insert((ns, name), Arc::new(object));
                    }
                    Record::Delete { key, ns, name } => {
                        if let Some(m) = objects.get_mut(&key) {
                            m.remove(&(ns, name));
                        }
                    }
                }
            }
            let iter = objects.iter().flat_map(|(key, m)| {
                m.iter()
                    .map(move |((ns, name), o)| (key.as_str(), ns.as_str(), name.as_str(), &**o))
            });
            wal = Some(Wal::compact(dir, rv, iter)?);
        }
        let (tx, _) = broadcast::channel(65536);
        Ok(Store {
            inner: Mutex::new(Inner {
                rv,
                objects,
                history: VecDeque::new(),
                history_start: rv,
                history_cap: history_cap.max(1),
                wal,
                data_dir: data_dir.map(Path::to_path_buf),
                appended: 0,
                compact_after: 10_000,
                pending: VecDeque::new(),
            }),
            tx,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock cannot leave a half-applied write (writes are
        // applied after the log append in one step), so the data stays usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The current (latest) resourceVersion.
    pub fn rv(&self) -> u64 {
        self.lock().rv
    }

    pub fn get(&self, key: &str, ns: &str, name: &str) -> Option<Arc<Value>> {
        let inner = self.lock();
        inner
            .objects
            .get(key)?
            .get(&(ns.to_string(), name.to_string()))
            .cloned()
    }

    /// Objects of `key` in `ns` (all namespaces when None) after `after`, sorted by
    /// namespace/name, at most `limit` (0 = all); and the list's resourceVersion.
    pub fn list(
        &self,
        key: &str,
        ns: Option<&str>,
        after: Option<&(String, String)>,
    ) -> (Vec<Arc<Value>>, u64) {
        let inner = self.lock();
        let Some(map) = inner.objects.get(key) else {
            return (Vec::new(), inner.rv);
        };
        let iter: Box<dyn Iterator<Item = ObjEntry<'_>>> = match after {
            Some(a) => Box::new(map.range::<(String, String), _>((
                std::ops::Bound::Excluded(a.clone()),
                std::ops::Bound::Unbounded,
            ))),
            None => Box::new(map.iter()),
        };
        let items = iter
            .filter(|((n, _), _)| ns.is_none_or(|want| want == n))
            .map(|(_, o)| o.clone())
            .collect();
        (items, inner.rv)
    }

    /// Every storage key that has objects.
    pub fn keys(&self) -> Vec<String> {
        let inner = self.lock();
        inner
            .objects
            .iter()
            .filter(|(_, m)| !m.is_empty())
            .map(|(k, _)| k.clone())
            .collect()
    }

    /// Number of stored objects.
    pub fn len(&self) -> usize {
        self.lock().objects.values().map(BTreeMap::len).sum()
    }

    /// Stores `obj` under the name, stamping a new resourceVersion.
    pub fn put(
        &self,
        key: &str,
        ns: &str,
        name: &str,
        pre: Precondition,
        mut obj: Value,
    ) -> Result<Arc<Value>, StoreError> {
        let mut inner = self.lock();
        let id = (ns.to_string(), name.to_string());
        let prev = inner.objects.get(key).and_then(|m| m.get(&id)).cloned();
        match (pre, &prev) {
            (Precondition::NotExists, Some(_)) => return Err(StoreError::AlreadyExists),
            (Precondition::Rv(_), None) => return Err(StoreError::NotFound),
            (Precondition::Rv(rv), Some(p)) if object_rv(p) != rv => {
                return Err(StoreError::Conflict)
            }
            _ => {}
        }
        let rv = inner.rv + 1;
        stamp(&mut obj, rv);
        if let Some(wal) = inner.wal.as_mut() {
            wal.append(
                rv,
                &Record::Put {
                    key: key.to_string(),
                    ns: ns.to_string(),
                    name: name.to_string(),
                    object: obj.clone(),
                },
            )?;
        }
        inner.rv = rv;
        let obj = Arc::new(obj);
        inner
            .objects
            .entry(key.to_string())
            .or_default()
            .insert(id, obj.clone());
        self.maybe_compact(&mut inner);
        let kind = if prev.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.emit(&mut inner, key, kind, obj.clone(), prev);
        self.make_durable(inner, rv)?;
        Ok(obj)
    }

    /// Removes the object; returns its last state (with the delete's resourceVersion).
    pub fn delete(
        &self,
        key: &str,
        ns: &str,
        name: &str,
        pre: Precondition,
    ) -> Result<Arc<Value>, StoreError> {
        let mut inner = self.lock();
        let id = (ns.to_string(), name.to_string());
        let Some(prev) = inner.objects.get(key).and_then(|m| m.get(&id)).cloned() else {
            return Err(StoreError::NotFound);
        };
        if let Precondition::Rv(rv) = pre {
            if object_rv(&prev) != rv {
                return Err(StoreError::Conflict);
            }
        }
        let rv = inner.rv + 1;
        if let Some(wal) = inner.wal.as_mut() {
            wal.append(
                rv,
                &Record::Delete {
                    key: key.to_string(),
                    ns: ns.to_string(),
                    name: name.to_string(),
                },
            )?;
        }
        inner.rv = rv;
        if let Some(m) = inner.objects.get_mut(key) {
            m.remove(&id);
        }
        self.maybe_compact(&mut inner);
        let mut last = (*prev).clone();
        stamp(&mut last, rv);
        let last = Arc::new(last);
        self.emit(
            &mut inner,
            key,
            EventType::Deleted,
            last.clone(),
            Some(prev),
        );
        self.make_durable(inner, rv)?;
        Ok(last)
    }

    /// Rewrites the log once it holds far more records than live objects, so it (and the
    /// replay at start) stays proportional to what is stored.
    /// A failed compaction leaves the old log in use.
    fn maybe_compact(&self, inner: &mut Inner) {
        inner.appended += 1;
        let live: usize = inner.objects.values().map(BTreeMap::len).sum();
        if inner.appended < inner.compact_after.max(4 * live) {
            return;
        }
        let Some(dir) = inner.data_dir.clone() else {
            return;
        };
        let iter = inner.objects.iter().flat_map(|(key, m)| {
            m.iter()
                .map(move |((ns, name), o)| (key.as_str(), ns.as_str(), name.as_str(), &**o))
        });
        match Wal::compact(&dir, inner.rv, iter) {
            Ok(wal) => {
                inner.wal = Some(wal);
                inner.appended = 0;
                while let Some(ev) = inner.pending.pop_front() {
                    self.publish(inner, ev);
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "compacting the write-ahead log failed; keeping the old one")
            }
        }
    }

    /// Waits (without the lock) until the write at `rv` is on disk, then publishes every
    /// change up to it. Concurrent writers share fsyncs: one covers all earlier appends.
    fn make_durable(&self, inner: MutexGuard<'_, Inner>, rv: u64) -> Result<(), StoreError> {
        let Some(syncer) = inner.wal.as_ref().map(Wal::syncer) else {
            return Ok(());
        };
        drop(inner);
        let synced = syncer.sync();
        let mut inner = self.lock();
        while inner.pending.front().is_some_and(|e| e.rv <= rv) {
            if let Some(ev) = inner.pending.pop_front() {
                self.publish(&mut inner, ev);
            }
        }
        synced.map_err(StoreError::from)
    }

    /// Makes an event visible to watchers.
    fn publish(&self, inner: &mut Inner, ev: Arc<Event>) {
        if inner.history.len() >= inner.history_cap {
            if let Some(old) = inner.history.pop_front() {
                inner.history_start = old.rv;
            }
        }
        inner.history.push_back(ev.clone());
        // No receivers is fine: nobody watches.
        let _ = self.tx.send(ev);
    }

    fn emit(
        &self,
        inner: &mut Inner,
        key: &str,
        kind: EventType,
        object: Arc<Value>,
        prev: Option<Arc<Value>>,
    ) {
        let ev = Arc::new(Event {
            rv: inner.rv,
            key: Arc::from(key),
            kind,
            object,
            prev,
        });
        if inner.wal.is_some() {
            inner.pending.push_back(ev);
        } else {
            self.publish(inner, ev);
        }
    }

    /// All live events from now on (for in-process controllers).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }

    /// Current objects of `key` (in `ns`) plus a receiver for everything after them, taken
    /// atomically.
    pub fn snapshot_and_subscribe(
        &self,
        key: &str,
        ns: Option<&str>,
    ) -> (Vec<Arc<Value>>, u64, broadcast::Receiver<Arc<Event>>) {
        let inner = self.lock();
        let rx = self.tx.subscribe();
        let items = inner
            .objects
            .get(key)
            .map(|m| {
                m.iter()
                    .filter(|((n, _), _)| ns.is_none_or(|want| want == n))
                    .map(|(_, o)| o.clone())
                    .collect()
            })
            .unwrap_or_default();
        (items, inner.rv, rx)
    }

    /// Events of `key` after `rv`, plus a receiver for later ones; Expired when the history
    /// no longer reaches back to `rv`.
    pub fn watch_from(&self, key: &str, rv: u64) -> WatchStart {
        let inner = self.lock();
        if rv < inner.history_start {
            return WatchStart::Expired(inner.history_start);
        }
        let rx = self.tx.subscribe();
        let events = inner
            .history
            .iter()
            .filter(|e| e.rv > rv && &*e.key == key)
            .cloned()
            .collect();
        WatchStart::Events(events, rx)
    }

    /// Every object of every kind (for controllers that scan: garbage collection).
    pub fn all_objects(&self) -> Vec<(String, Arc<Value>)> {
        let inner = self.lock();
        inner
            .objects
            .iter()
            .flat_map(|(k, m)| m.values().map(move |o| (k.clone(), o.clone())))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn writes_survive_reopen_and_versions_keep_increasing() {
        let dir = tempfile::tempdir().unwrap();
        let rv_before;
        {
            let s = Store::open(Some(dir.path()), 100).unwrap();
            s.put(
                "/configmaps",
                "default",
                "a",
                Precondition::NotExists,
                json!({"metadata": {"name": "a"}}),
            )
            .unwrap();
            s.put(
                "/configmaps",
                "default",
                "b",
                Precondition::NotExists,
                json!({"metadata": {"name": "b"}}),
            )
            .unwrap();
            s.delete("/configmaps", "default", "a", Precondition::Any)
                .unwrap();
            rv_before = s.rv();
        }
        let s = Store::open(Some(dir.path()), 100).unwrap();
        assert!(s.get("/configmaps", "default", "a").is_none());
        let b = s.get("/configmaps", "default", "b").unwrap();
        assert_eq!(b["metadata"]["resourceVersion"], "2");
        assert_eq!(s.rv(), rv_before);
        let c = s
            .put(
                "/configmaps",
                "default",
                "c",
                Precondition::NotExists,
                json!({"metadata": {"name": "c"}}),
            )
            .unwrap();
        assert!(object_rv(&c) > rv_before);
        // Old versions are not in the history of a reopened store.
        assert!(matches!(
            s.watch_from("/configmaps", 1),
            WatchStart::Expired(_)
        ));
    }

    #[test]
    fn the_log_is_compacted_while_running() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(Some(dir.path()), 10).unwrap();
        s.lock().compact_after = 100;
        for i in 0..1_050 {
            s.put(
                "/configmaps",
                "ns",
                "same",
                Precondition::Any,
                json!({"metadata": {"n": i}}),
            )
            .unwrap();
        }
        let size = std::fs::metadata(dir.path().join("objects.wal"))
            .unwrap()
            .len();
        assert!(size < 100 * 100, "log not compacted: {size} bytes");
        drop(s);
        let s = Store::open(Some(dir.path()), 10).unwrap();
        assert_eq!(
            s.get("/configmaps", "ns", "same").unwrap()["metadata"]["n"],
            1_049
        );
        assert_eq!(s.rv(), 1_050);
    }

    #[test]
    fn stale_resource_version_conflicts() {
        let s = Store::open(None, 100).unwrap();
        let a = s
            .put(
                "/configmaps",
                "ns",
                "a",
                Precondition::NotExists,
                json!({"metadata": {}}),
            )
            .unwrap();
        let rv = object_rv(&a);
        s.put(
            "/configmaps",
            "ns",
            "a",
            Precondition::Rv(rv),
            json!({"metadata": {}}),
        )
        .unwrap();
        assert!(matches!(
            s.put(
                "/configmaps",
                "ns",
                "a",
                Precondition::Rv(rv),
                json!({"metadata": {}})
            ),
            Err(StoreError::Conflict)
        ));
        assert!(matches!(
            s.put(
                "/configmaps",
                "ns",
                "a",
                Precondition::NotExists,
                json!({"metadata": {}})
            ),
            Err(StoreError::AlreadyExists)
        ));
    }
}
