//! The tag store: one file per image repository under a storage directory, replaced atomically, written while a scan streams in.
//!
//! File format: a first line `flotilla-tags v1`, then one tag per line in registry order.
//! Tags cannot contain newlines (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`), so no escaping is needed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

const HEADER: &str = "flotilla-tags v1";

/// How many tags `latestTags` shows, as Flux.
pub const LATEST_TAGS: usize = 10;

/// Why the store could not read or write.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A filesystem operation failed.
    #[error("tag store {path}: {source}; check the storage directory is writable and has space")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The file is not a tag store file (damaged or foreign).
    #[error("tag store {path}: not a tag file ({reason}); it is rewritten by the next scan")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A tag contains a character that cannot be stored.
    #[error("tag {tag:?} contains a newline or NUL; registries do not produce such tags")]
    BadTag {
        /// The tag (debug-quoted).
        tag: String,
    },
}

/// Tag files under one directory.
#[derive(Debug, Clone)]
pub struct TagStore {
    dir: PathBuf,
}

/// What a completed write recorded: the data of `status.lastScanResult`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanSummary {
    /// Number of tags stored.
    pub tag_count: usize,
    /// The 10 greatest tags in descending byte order (Flux's `latestTags`).
    pub latest_tags: Vec<String>,
    /// `sha256:<hex>` over the set of tags, independent of registry order (some registries,
    /// ECR among them, list tags in no fixed order).
    pub revision: String,
}

/// A tag file being written; nothing is visible until [`TagWriter::commit`].
pub struct TagWriter {
    tmp: tempfile::NamedTempFile,
    out: Option<BufWriter<File>>,
    target: PathBuf,
    count: usize,
    top: BinaryHeap<Reverse<String>>,
    sum: [u64; 4],
}

impl TagStore {
    /// A store rooted at `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> TagStore {
        TagStore { dir: dir.into() }
    }

    /// The file holding `key`'s tags (the key is hashed: canonical image names contain `/` and `:`).
    pub fn path_for(&self, key: &str) -> PathBuf {
        let digest = Sha256::digest(key.as_bytes());
        self.dir.join(format!("{}.tags", hex(&digest[..16])))
    }

    /// Starts replacing `key`'s tags.
    pub fn writer(&self, key: &str) -> Result<TagWriter, StoreError> {
        let io_err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Io { path, source }
        };
        fs::create_dir_all(&self.dir).map_err(io_err(&self.dir))?;
        let tmp = tempfile::Builder::new()
            .prefix(".tags-")
            .tempfile_in(&self.dir)
            .map_err(io_err(&self.dir))?;
        let file = tmp.reopen().map_err(io_err(tmp.path()))?;
        let mut out = BufWriter::new(file);
        writeln!(out, "{HEADER}").map_err(io_err(tmp.path()))?;
        Ok(TagWriter {
            tmp,
            out: Some(out),
            target: self.path_for(key),
            count: 0,
            top: BinaryHeap::new(),
            sum: [0; 4],
        })
    }

    /// Replaces `key`'s tags with `tags` at once.
    pub fn set<'a>(
        &self,
        key: &str,
        tags: impl IntoIterator<Item = &'a str>,
    ) -> Result<ScanSummary, StoreError> {
        let mut w = self.writer(key)?;
        for t in tags {
            w.push(t)?;
        }
        w.commit()
    }

    /// `key`'s tags in stored order; empty when never scanned.
    pub fn tags(&self, key: &str) -> Result<Vec<String>, StoreError> {
        let mut out = Vec::new();
        self.for_each(key, |t| out.push(t.to_string()))?;
        Ok(out)
    }

    /// Calls `f` with each stored tag without holding them all in memory.
    pub fn for_each(&self, key: &str, mut f: impl FnMut(&str)) -> Result<(), StoreError> {
        let path = self.path_for(key);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(StoreError::Io { path, source }),
        };
        let mut lines = BufReader::new(file).lines();
        match lines.next() {
            Some(Ok(h)) if h == HEADER => {}
            _ => {
                return Err(StoreError::Corrupt {
                    path,
                    reason: format!("first line is not '{HEADER}'"),
                })
            }
        }
        for line in lines {
            let line = line.map_err(|source| StoreError::Io {
                path: path.clone(),
                source,
            })?;
            f(&line);
        }
        Ok(())
    }

    /// Forgets `key` (the ImageRepository was deleted).
    pub fn remove(&self, key: &str) -> Result<(), StoreError> {
        let path = self.path_for(key);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                Err(StoreError::Io { path, source: e })
            }
            _ => Ok(()),
        }
    }
}

impl TagWriter {
    /// Appends one tag.
    pub fn push(&mut self, tag: &str) -> Result<(), StoreError> {
        if tag.contains(['\n', '\r', '\0']) {
            return Err(StoreError::BadTag {
                tag: format!("{tag:?}"),
            });
        }
        let out = self.out.as_mut().expect("writer is open until commit");
        writeln!(out, "{tag}").map_err(|source| StoreError::Io {
            path: self.tmp.path().to_path_buf(),
            source,
        })?;
        self.count += 1;
        let d = Sha256::digest(tag.as_bytes());
        for (i, lane) in self.sum.iter_mut().enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(&d[i * 8..i * 8 + 8]);
            *lane = lane.wrapping_add(u64::from_be_bytes(b));
        }
        // A min-heap of the 10 greatest: the smallest of them is dropped when an 11th arrives.
        if self.top.len() < LATEST_TAGS {
            self.top.push(Reverse(tag.to_string()));
        } else if let Some(Reverse(min)) = self.top.peek() {
            if tag.as_bytes() > min.as_bytes() {
                self.top.pop();
                self.top.push(Reverse(tag.to_string()));
            }
        }
        Ok(())
    }

    /// Tags written so far.
    pub fn count(&self) -> usize {
        self.count
    }

    /// Flushes, syncs and renames the file into place; returns the scan summary.
    pub fn commit(mut self) -> Result<ScanSummary, StoreError> {
        let tmp_path = self.tmp.path().to_path_buf();
        let io_err = |source| StoreError::Io {
            path: tmp_path.clone(),
            source,
        };
        let out = self.out.take().expect("writer is open until commit");
        let file = out.into_inner().map_err(|e| io_err(e.into_error()))?;
        file.sync_all().map_err(io_err)?;
        drop(file);
        self.tmp.persist(&self.target).map_err(|e| StoreError::Io {
            path: self.target.clone(),
            source: e.error,
        })?;
        let mut latest: Vec<String> = self.top.into_iter().map(|Reverse(t)| t).collect();
        latest.sort_by(|a, b| b.as_bytes().cmp(a.as_bytes()));
        let mut bytes = Vec::with_capacity(32);
        for lane in self.sum {
            bytes.extend_from_slice(&lane.to_be_bytes());
        }
        Ok(ScanSummary {
            tag_count: self.count,
            latest_tags: latest,
            revision: format!("sha256:{}", hex(&Sha256::digest(&bytes))),
        })
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_latest_and_revision() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = TagStore::new(dir.path().join("tags"));
        let tags: Vec<String> = (0..25).map(|i| format!("v{i}")).collect();
        let s = store
            .set("localhost:5000/app", tags.iter().map(String::as_str))
            .expect("writes");
        assert_eq!(s.tag_count, 25);
        // Descending byte order, as Flux's sortTagsAndGetLatestTags.
        let mut expect = tags.clone();
        expect.sort_by(|a, b| b.cmp(a));
        expect.truncate(10);
        assert_eq!(s.latest_tags, expect);
        assert_eq!(store.tags("localhost:5000/app").expect("reads"), tags);
        // Same set in another order: same revision; another set: another revision.
        let mut rev = tags.clone();
        rev.reverse();
        let s2 = store
            .set("localhost:5000/app", rev.iter().map(String::as_str))
            .expect("writes");
        assert_eq!(s.revision, s2.revision);
        let s3 = store.set("localhost:5000/app", ["v1"]).expect("writes");
        assert_ne!(s.revision, s3.revision);
        assert!(store.tags("other").expect("reads").is_empty());
        store.remove("localhost:5000/app").expect("removes");
        assert!(store.tags("localhost:5000/app").expect("reads").is_empty());
    }

    #[test]
    fn an_abandoned_write_leaves_the_old_tags() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = TagStore::new(dir.path());
        store.set("k", ["a", "b"]).expect("writes");
        let mut w = store.writer("k").expect("opens");
        w.push("c").expect("pushes");
        drop(w);
        assert_eq!(store.tags("k").expect("reads"), vec!["a", "b"]);
        assert!(matches!(
            store.set("k", ["x\ny"]),
            Err(StoreError::BadTag { .. })
        ));
        fs::write(store.path_for("k"), "junk\n").expect("writes");
        assert!(matches!(store.tags("k"), Err(StoreError::Corrupt { .. })));
    }
}
