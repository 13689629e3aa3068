//! Artifact storage: `<kind>/<namespace>/<name>/<digest>.tar.gz` under a root, atomic writes, garbage collection.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::archive::{write_archive, ArchiveError, ArchiveOptions};

/// The object an artifact belongs to (`gitrepository`, namespace, name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactOwner {
    /// Lower-case kind, as Flux lays out storage (`gitrepository`).
    pub kind: String,
    /// Object namespace.
    pub namespace: String,
    /// Object name.
    pub name: String,
}

impl ArtifactOwner {
    /// An owner of kind `gitrepository`.
    pub fn git_repository(namespace: &str, name: &str) -> ArtifactOwner {
        ArtifactOwner {
            kind: "gitrepository".to_string(),
            namespace: namespace.to_string(),
            name: name.to_string(),
        }
    }
}

/// A stored artifact: what `status.artifact` reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Path relative to the storage root (`gitrepository/ns/name/<hex>.tar.gz`).
    pub path: String,
    /// Source revision (`main@sha1:<sha>`).
    pub revision: String,
    /// `sha256:<hex>` of the file.
    pub digest: String,
    /// File size in bytes.
    pub size: u64,
    /// When the file was written.
    pub last_update_time: SystemTime,
}

impl Artifact {
    /// The URL a server at `base` (`http://host:port`) serves this artifact under.
    pub fn url(&self, base: &str) -> String {
        format!("{}/{}", base.trim_end_matches('/'), self.path)
    }
}

/// Why storage failed. Reason: StorageOperationFailed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A kind, namespace or name that cannot be a path component.
    #[error(
        "{what} '{value}' cannot be used in a storage path (empty, '.', '..' or contains '/')"
    )]
    InvalidName {
        /// `kind`, `namespace`, `name` or `artifact path`.
        what: &'static str,
        /// The value at fault.
        value: String,
    },
    /// The tree could not be archived.
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    /// Reading or writing the storage directory failed.
    #[error("storage: cannot {action} '{}': {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory at fault.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
}

impl StorageError {
    /// Flux's condition reason.
    pub fn reason(&self) -> &'static str {
        crate::fetch::reason::STORAGE_OPERATION_FAILED
    }
}

/// The artifact store rooted at `--storage-path`.
#[derive(Debug, Clone)]
pub struct Storage {
    root: PathBuf,
}

impl Storage {
    /// A store at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Storage {
        Storage { root: root.into() }
    }

    /// The storage root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Archives `tree` for `owner` at `revision`. The file appears atomically (temp file in the
    /// same directory, fsync, rename), named by its digest, so readers never see a partial file.
    pub fn archive(
        &self,
        owner: &ArtifactOwner,
        revision: &str,
        tree: &Path,
        options: &ArchiveOptions,
    ) -> Result<Artifact, StorageError> {
        let dir = self.owner_dir(owner)?;
        fs::create_dir_all(&dir).map_err(io_err("create", &dir))?;
        let tmp = tempfile::Builder::new()
            .prefix(".tmp-")
            .suffix(".tar.gz")
            .tempfile_in(&dir)
            .map_err(io_err("create a temp file in", &dir))?;
        let mut out = BufWriter::with_capacity(256 * 1024, tmp.as_file());
        let summary = write_archive(tree, &mut out, options)?;
        out.flush().map_err(io_err("write", tmp.path()))?;
        drop(out);
        tmp.as_file()
            .sync_all()
            .map_err(io_err("sync", tmp.path()))?;
        let hex = summary.digest.trim_start_matches("sha256:");
        let file_name = format!("{hex}.tar.gz");
        let final_path = dir.join(&file_name);
        tmp.persist(&final_path).map_err(|e| StorageError::Io {
            action: "rename into place",
            path: final_path.clone(),
            source: e.error,
        })?;
        // Renaming over an identical older file keeps its old mtime; GC orders by mtime.
        let now = SystemTime::now();
        if let Ok(f) = fs::File::options().write(true).open(&final_path) {
            let _ = f.set_modified(now);
        }
        if let Ok(d) = fs::File::open(&dir) {
            let _ = d.sync_all();
        }
        Ok(Artifact {
            path: format!(
                "{}/{}/{}/{file_name}",
                owner.kind, owner.namespace, owner.name
            ),
            revision: revision.to_string(),
            digest: summary.digest,
            size: summary.size,
            last_update_time: now,
        })
    }

    /// The file behind an artifact path, refusing paths that would leave the root.
    pub fn local_path(&self, artifact_path: &str) -> Result<PathBuf, StorageError> {
        let bad = || StorageError::InvalidName {
            what: "artifact path",
            value: artifact_path.to_string(),
        };
        let mut p = self.root.clone();
        let mut n = 0;
        for part in artifact_path.split('/') {
            check_component(part).map_err(|_| bad())?;
            p.push(part);
            n += 1;
        }
        if n == 0 {
            return Err(bad());
        }
        Ok(p)
    }

    /// Whether the artifact's file is present with the recorded size.
    pub fn exists(&self, artifact: &Artifact) -> bool {
        self.local_path(&artifact.path)
            .ok()
            .and_then(|p| fs::metadata(p).ok())
            .is_some_and(|m| m.is_file() && m.len() == artifact.size)
    }

    /// Deletes all but the `keep` newest artifacts of `owner` (never `current`), plus temp
    /// files abandoned by interrupted writes. Returns what was removed.
    pub fn garbage_collect(
        &self,
        owner: &ArtifactOwner,
        keep: usize,
        current: Option<&Artifact>,
    ) -> Result<Vec<PathBuf>, StorageError> {
        let dir = self.owner_dir(owner)?;
        let current = current.and_then(|a| self.local_path(&a.path).ok());
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_err("list", &dir)(e)),
        };
        let now = SystemTime::now();
        let mut artifacts = Vec::new();
        let mut removed = Vec::new();
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let Ok(meta) = entry.metadata() else { continue };
            let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            if name.starts_with(".tmp-") {
                // A writer still busy has touched its file recently; older ones were abandoned.
                if now.duration_since(mtime).unwrap_or_default() > Duration::from_secs(3600) {
                    fs::remove_file(&path).map_err(io_err("remove", &path))?;
                    removed.push(path);
                }
                continue;
            }
            if meta.is_file() && name.ends_with(".tar.gz") {
                artifacts.push((mtime, path));
            }
        }
        artifacts.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        let mut kept = 0;
        for (_, path) in artifacts {
            if current.as_ref() == Some(&path) {
                continue;
            }
            // The current artifact counts towards `keep`.
            let budget = keep.saturating_sub(usize::from(current.is_some()));
            if kept < budget {
                kept += 1;
                continue;
            }
            fs::remove_file(&path).map_err(io_err("remove", &path))?;
            removed.push(path);
        }
        Ok(removed)
    }

    /// Removes every artifact of `owner` (when the object is deleted).
    pub fn remove_all(&self, owner: &ArtifactOwner) -> Result<(), StorageError> {
        let dir = self.owner_dir(owner)?;
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err("remove", &dir)(e)),
            _ => Ok(()),
        }
    }

    fn owner_dir(&self, owner: &ArtifactOwner) -> Result<PathBuf, StorageError> {
        for (what, value) in [
            ("kind", &owner.kind),
            ("namespace", &owner.namespace),
            ("name", &owner.name),
        ] {
            check_component(value).map_err(|_| StorageError::InvalidName {
                what,
                value: value.clone(),
            })?;
        }
        Ok(self
            .root
            .join(&owner.kind)
            .join(&owner.namespace)
            .join(&owner.name))
    }
}

fn check_component(s: &str) -> Result<(), ()> {
    if s.is_empty() || s == "." || s == ".." || s.contains(['/', '\\', '\0']) {
        return Err(());
    }
    Ok(())
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> StorageError {
    let path = path.to_path_buf();
    move |source| StorageError::Io {
        action,
        path,
        source,
    }
}
