//! The write-ahead log: one JSON line per write, fsynced before the write is acknowledged,
//! replayed and compacted at start.

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

/// Failures of the data directory.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// The data directory or log file could not be created, read or written.
    #[error("data directory {path}: {source}; check that it exists and is writable")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One record of the log.
#[derive(Debug)]
pub enum Record {
    /// The object stored under `key` (storage key, namespace, name) as of `rv`.
    Put {
        key: String,
        ns: String,
        name: String,
        object: Value,
    },
    /// The object removed at `rv`.
    Delete {
        key: String,
        ns: String,
        name: String,
    },
}

/// An open log file.
pub struct Wal {
    path: PathBuf,
    file: File,
    /// A second handle on the same file, so writers can wait for the disk without holding
    /// the store's lock (one fsync then covers every record written before it).
    sync: std::sync::Arc<File>,
}

/// Waits until everything written to the log so far is on disk.
#[derive(Clone)]
pub struct Syncer {
    path: PathBuf,
    file: std::sync::Arc<File>,
}

impl Syncer {
    pub fn sync(&self) -> Result<(), WalError> {
        self.file.sync_data().map_err(io(&self.path))
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WalError + '_ {
    move |source| WalError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Wal {
    /// Reads every complete record of `dir/objects.wal`; a torn last line (a crash in the
    /// middle of an append) is ignored, since its write was never acknowledged.
    pub fn replay(dir: &Path) -> Result<(u64, Vec<(u64, Record)>), WalError> {
        fs::create_dir_all(dir).map_err(io(dir))?;
        let path = dir.join("objects.wal");
        let mut records = Vec::new();
        let mut max_rv = 0;
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((0, records)),
            Err(e) => return Err(io(&path)(e)),
        };
        for line in BufReader::new(file).split(b'\n') {
            let line = line.map_err(io(&path))?;
            let Ok(v) = serde_json::from_slice::<Value>(&line) else {
                continue;
            };
            let rv = v["rv"].as_u64().unwrap_or(0);
            max_rv = max_rv.max(rv);
            let key = v["key"].as_str().unwrap_or_default().to_string();
            let ns = v["ns"].as_str().unwrap_or_default().to_string();
            let name = v["name"].as_str().unwrap_or_default().to_string();
            match v["op"].as_str() {
                Some("put") => records.push((
                    rv,
                    Record::Put {
                        key,
                        ns,
                        name,
                        object: v["obj"].clone(),
                    },
                )),
                Some("del") => records.push((rv, Record::Delete { key, ns, name })),
                _ => {}
            }
        }
        Ok((max_rv, records))
    }

    /// Writes a fresh log holding `rv` and the given live objects, atomically replacing the
    /// old one, and opens it for appending.
    pub fn compact<'a>(
        dir: &Path,
        rv: u64,
        objects: impl Iterator<Item = (&'a str, &'a str, &'a str, &'a Value)>,
    ) -> Result<Wal, WalError> {
        let path = dir.join("objects.wal");
        let tmp = dir.join("objects.wal.tmp");
        {
            let mut out = std::io::BufWriter::new(File::create(&tmp).map_err(io(&tmp))?);
            writeln!(out, "{}", json!({"op": "rv", "rv": rv})).map_err(io(&tmp))?;
            for (key, ns, name, obj) in objects {
                let rec =
                    json!({"op": "put", "rv": rv, "key": key, "ns": ns, "name": name, "obj": obj});
                writeln!(out, "{rec}").map_err(io(&tmp))?;
            }
            let file = out.into_inner().map_err(|e| io(&tmp)(e.into_error()))?;
            file.sync_all().map_err(io(&tmp))?;
        }
        fs::rename(&tmp, &path).map_err(io(&path))?;
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        let file = OpenOptions::new()
            .append(true)
            .open(&path)
            .map_err(io(&path))?;
        let sync = std::sync::Arc::new(file.try_clone().map_err(io(&path))?);
        Ok(Wal { path, file, sync })
    }

    /// The handle that waits for the disk.
    pub fn syncer(&self) -> Syncer {
        Syncer {
            path: self.path.clone(),
            file: self.sync.clone(),
        }
    }

    /// Appends one record (durable once a [`Syncer::sync`] started after it returns).
    pub fn append(&mut self, rv: u64, record: &Record) -> Result<(), WalError> {
        let line = match record {
            Record::Put {
                key,
                ns,
                name,
                object,
            } => json!({"op": "put", "rv": rv, "key": key, "ns": ns, "name": name, "obj": object}),
            Record::Delete { key, ns, name } => {
                json!({"op": "del", "rv": rv, "key": key, "ns": ns, "name": name})
            }
        };
        let mut bytes = serde_json::to_vec(&line).map_err(|e| io(&self.path)(e.into()))?;
        bytes.push(b'\n');
        self.file.write_all(&bytes).map_err(io(&self.path))
    }
}
