//! Safe extraction of an artifact for consumers: digest verified first, no path may leave the destination.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, Read};
use std::os::unix::fs::{symlink, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

use flate2::read::GzDecoder;

use crate::archive::{file_digest, stays_inside};

/// Limits and checks for [`extract`].
#[derive(Debug, Clone)]
pub struct ExtractOptions {
    /// `sha256:<hex>` the archive must have (from `status.artifact.digest`); `None` skips the check.
    pub expected_digest: Option<String>,
    /// Largest single file, in bytes.
    pub max_file_size: u64,
    /// Largest total of file sizes, in bytes.
    pub max_total_size: u64,
    /// Most entries accepted.
    pub max_entries: u64,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        ExtractOptions {
            expected_digest: None,
            max_file_size: 64 << 20,
            max_total_size: 1 << 30,
            max_entries: 1_000_000,
        }
    }
}

/// What was extracted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractSummary {
    /// Regular files written.
    pub files: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// Why extraction stopped. On error the destination may hold a partial tree; discard it.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The archive's digest differs from the expected one (corrupt or replaced file).
    #[error("artifact '{}' has digest {actual}, expected {expected}", archive.display())]
    DigestMismatch {
        /// The archive file.
        archive: PathBuf,
        /// What the status recorded.
        expected: String,
        /// What the file has.
        actual: String,
    },
    /// An entry would land outside the destination (absolute, `..`, via a symlink).
    #[error("artifact entry '{entry}' escapes the destination: {problem}")]
    PathEscape {
        /// The entry name.
        entry: String,
        /// How it escapes.
        problem: &'static str,
    },
    /// Limits exceeded.
    #[error("artifact entry '{entry}': {problem}")]
    TooLarge {
        /// The entry name.
        entry: String,
        /// Which limit.
        problem: String,
    },
    /// Hard links, devices and the like.
    #[error("artifact entry '{entry}' has unsupported type {kind:?}")]
    Unsupported {
        /// The entry name.
        entry: String,
        /// Its tar type.
        kind: tar::EntryType,
    },
    /// The destination exists and is not empty.
    #[error("destination '{}' is not empty; extract into a new directory", path.display())]
    DestinationNotEmpty {
        /// The destination.
        path: PathBuf,
    },
    /// Reading the archive or writing files failed (includes malformed archives).
    #[error("cannot {action} '{}': {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// File at fault.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
}

/// Extracts the tar.gz `archive` into `dest` (absent or empty), after checking its digest.
pub fn extract(
    archive: &Path,
    dest: &Path,
    options: &ExtractOptions,
) -> Result<ExtractSummary, ExtractError> {
    let io_err = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| ExtractError::Io {
            action,
            path,
            source,
        }
    };
    if let Some(expected) = &options.expected_digest {
        let actual = file_digest(archive).map_err(io_err("read", archive))?;
        if &actual != expected {
            return Err(ExtractError::DigestMismatch {
                archive: archive.to_path_buf(),
                expected: expected.clone(),
                actual,
            });
        }
    }
    if dest.exists() {
        let mut entries = fs::read_dir(dest).map_err(io_err("list", dest))?;
        if entries.next().is_some() {
            return Err(ExtractError::DestinationNotEmpty {
                path: dest.to_path_buf(),
            });
        }
    } else {
        fs::create_dir_all(dest).map_err(io_err("create", dest))?;
    }
    let root = fs::canonicalize(dest).map_err(io_err("resolve", dest))?;
    let file = File::open(archive).map_err(io_err("open", archive))?;
    let mut tar = tar::Archive::new(GzDecoder::new(BufReader::with_capacity(256 * 1024, file)));
    let mut summary = ExtractSummary { files: 0, bytes: 0 };
    let mut count = 0u64;
    let mut links = Vec::new();
    for entry in tar.entries().map_err(io_err("read", archive))? {
        let mut entry = entry.map_err(io_err("read", archive))?;
        count += 1;
        let raw = entry.path_bytes().into_owned();
        let name = String::from_utf8_lossy(&raw).into_owned();
        if count > options.max_entries {
            return Err(ExtractError::TooLarge {
                entry: name,
                problem: format!("more than {} entries", options.max_entries),
            });
        }
        let parts = clean_parts(&name)?;
        if parts.is_empty() {
            continue;
        }
        let target = parts.iter().fold(root.clone(), |p, c| p.join(c));
        refuse_symlinked_parents(&root, &parts, &name)?;
        let kind = entry.header().entry_type();
        match kind {
            tar::EntryType::Directory => {
                fs::create_dir_all(&target).map_err(io_err("create", &target))?;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {
                let size = entry.header().size().map_err(io_err("read", archive))?;
                if size > options.max_file_size {
                    return Err(ExtractError::TooLarge {
                        entry: name,
                        problem: format!(
                            "{size} bytes, over the {}-byte file limit",
                            options.max_file_size
                        ),
                    });
                }
                summary.bytes += size;
                if summary.bytes > options.max_total_size {
                    return Err(ExtractError::TooLarge {
                        entry: name,
                        problem: format!("total over the {}-byte limit", options.max_total_size),
                    });
                }
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent).map_err(io_err("create", parent))?;
                }
                let mode = entry.header().mode().unwrap_or(0o644);
                // create_new: never write through something already there (e.g. a symlink).
                let mut out = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(if mode & 0o111 != 0 { 0o755 } else { 0o644 })
                    .open(&target)
                    .map_err(io_err("create", &target))?;
                let copied = io::copy(&mut (&mut entry).take(size), &mut out)
                    .map_err(io_err("write", &target))?;
                if copied != size {
                    return Err(ExtractError::Io {
                        action: "read (truncated archive)",
                        path: archive.to_path_buf(),
                        source: io::Error::from(io::ErrorKind::UnexpectedEof),
                    });
                }
                summary.files += 1;
            }
            tar::EntryType::Symlink => {
                let link = entry
                    .link_name()
                    .map_err(io_err("read", archive))?
                    .map(|l| l.into_owned())
                    .unwrap_or_default();
                let parent: Vec<String> = parts[..parts.len() - 1].to_vec();
                if link.as_os_str().is_empty() || !stays_inside(&parent, &link) {
                    return Err(ExtractError::PathEscape {
                        entry: name,
                        problem: "symlink target is absolute or climbs above the root",
                    });
                }
                if let Some(p) = target.parent() {
                    fs::create_dir_all(p).map_err(io_err("create", p))?;
                }
                symlink(&link, &target).map_err(io_err("create symlink", &target))?;
                links.push((name, target));
            }
            // PAX and GNU extension headers are consumed by the tar reader itself.
            tar::EntryType::XHeader | tar::EntryType::XGlobalHeader => {}
            other => {
                return Err(ExtractError::Unsupported {
                    entry: name,
                    kind: other,
                })
            }
        }
    }
    // A symlink that is lexically inside may still resolve outside through another symlink.
    for (name, link) in links {
        if let Ok(real) = fs::canonicalize(&link) {
            if !real.starts_with(&root) {
                let _ = fs::remove_file(&link);
                return Err(ExtractError::PathEscape {
                    entry: name,
                    problem: "symlink resolves outside the destination",
                });
            }
        }
    }
    Ok(summary)
}

/// Splits an entry name into normal components; refuses absolute paths and `..`.
fn clean_parts(name: &str) -> Result<Vec<String>, ExtractError> {
    let mut parts = Vec::new();
    for c in Path::new(name).components() {
        match c {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(ExtractError::PathEscape {
                    entry: name.to_string(),
                    problem: "contains '..'",
                })
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(ExtractError::PathEscape {
                    entry: name.to_string(),
                    problem: "is an absolute path",
                })
            }
        }
    }
    Ok(parts)
}

/// Refuses to create anything below a path component that is a symlink.
fn refuse_symlinked_parents(root: &Path, parts: &[String], name: &str) -> Result<(), ExtractError> {
    let mut p = root.to_path_buf();
    for part in parts {
        p.push(part);
        if let Ok(m) = fs::symlink_metadata(&p) {
            if m.file_type().is_symlink() {
                return Err(ExtractError::PathEscape {
                    entry: name.to_string(),
                    problem: "goes through a symlink",
                });
            }
        }
    }
    Ok(())
}
