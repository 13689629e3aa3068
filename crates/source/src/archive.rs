//! Deterministic tar.gz of a checked-out tree: sorted entries, fixed owners and times, ignore rules, safety checks.

use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use flate2::write::GzEncoder;
use flate2::Compression;
use sha2::{Digest, Sha256};

use crate::ignore::{parse_lines, IgnoreRules, Pattern, SOURCEIGNORE_FILE};

/// What goes into the artifact and the limits that keep it sane.
#[derive(Debug, Clone)]
pub struct ArchiveOptions {
    /// `spec.ignore`: gitignore lines that replace Flux's default exclusions (`.git/` stays excluded).
    pub ignore: Option<String>,
    /// Largest single file accepted, in bytes.
    pub max_file_size: u64,
    /// Largest total of file sizes accepted, in bytes (before compression).
    pub max_total_size: u64,
    /// gzip level 0-9.
    pub compression_level: u32,
}

impl Default for ArchiveOptions {
    fn default() -> Self {
        ArchiveOptions {
            ignore: None,
            max_file_size: 64 << 20,
            max_total_size: 1 << 30,
            compression_level: 6,
        }
    }
}

/// Why a tree could not be archived.
#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    /// A symlink points outside the tree (absolute, or `..` past the root).
    #[error("symlink '{path}' points outside the repository (to '{target}'); make it relative and inside the tree, or add it to .sourceignore")]
    SymlinkOutside {
        /// Path in the tree.
        path: String,
        /// Its target.
        target: String,
    },
    /// One file exceeds [`ArchiveOptions::max_file_size`].
    #[error("file '{path}' is {size} bytes, over the {limit}-byte limit; exclude it with .sourceignore or spec.ignore")]
    FileTooLarge {
        /// Path in the tree.
        path: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The files together exceed [`ArchiveOptions::max_total_size`].
    #[error("the files to archive exceed the {limit}-byte total limit; exclude large content with .sourceignore or spec.ignore")]
    TotalTooLarge {
        /// The limit.
        limit: u64,
    },
    /// A device, FIFO or socket in the tree.
    #[error("'{path}' is not a regular file, directory or symlink")]
    Unsupported {
        /// Path in the tree.
        path: String,
    },
    /// Reading the tree or writing the archive failed.
    #[error("{action} '{}': {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file at fault.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
}

/// Digest and size of a written archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveSummary {
    /// `sha256:<hex>` of the compressed bytes.
    pub digest: String,
    /// Compressed size in bytes.
    pub size: u64,
    /// Regular files included.
    pub files: u64,
}

/// Counts and hashes the bytes passing through to the underlying writer.
struct HashingWriter<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Writes the tree at `root` (minus `.git` and ignored paths) as tar.gz into `out`.
pub fn write_archive<W: Write>(
    root: &Path,
    out: W,
    options: &ArchiveOptions,
) -> Result<ArchiveSummary, ArchiveError> {
    let io_err = |action: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| ArchiveError::Io {
            action,
            path,
            source,
        }
    };
    let canonical_root = fs::canonicalize(root).map_err(io_err("cannot resolve", root))?;
    let hashing = HashingWriter {
        inner: out,
        hasher: Sha256::new(),
        count: 0,
    };
    let gz = GzEncoder::new(hashing, Compression::new(options.compression_level.min(9)));
    let mut walker = Walker {
        root: canonical_root,
        rules: IgnoreRules::new(options.ignore.as_deref()),
        local: Vec::new(),
        tar: tar::Builder::new(gz),
        options,
        total: 0,
        files: 0,
    };
    walker.tar.mode(tar::HeaderMode::Deterministic);
    walker.walk_dir(&mut Vec::new())?;
    let gz = walker
        .tar
        .into_inner()
        .map_err(io_err("cannot finish the tar stream for", root))?;
    let hashing = gz
        .finish()
        .map_err(io_err("cannot finish gzip for", root))?;
    let mut hashing = hashing;
    hashing
        .flush()
        .map_err(io_err("cannot flush archive for", root))?;
    Ok(ArchiveSummary {
        digest: format!("sha256:{}", hex(&hashing.hasher.finalize())),
        size: hashing.count,
        files: walker.files,
    })
}

struct Walker<'a, W: Write> {
    root: PathBuf,
    rules: IgnoreRules,
    local: Vec<Pattern>,
    tar: tar::Builder<GzEncoder<HashingWriter<W>>>,
    options: &'a ArchiveOptions,
    total: u64,
    files: u64,
}

impl<W: Write> Walker<'_, W> {
    fn walk_dir(&mut self, rel: &mut Vec<String>) -> Result<(), ArchiveError> {
        let dir = rel.iter().fold(self.root.clone(), |p, c| p.join(c));
        let scope = self.local.len();
        let ignore_file = dir.join(SOURCEIGNORE_FILE);
        if ignore_file.is_file() && !ignore_file.is_symlink() {
            let text = fs::read_to_string(&ignore_file).map_err(|source| ArchiveError::Io {
                action: "cannot read",
                path: ignore_file.clone(),
                source,
            })?;
            self.local.extend(parse_lines(&text, rel));
        }
        let mut entries: Vec<(Vec<u8>, fs::DirEntry)> = fs::read_dir(&dir)
            .map_err(|source| ArchiveError::Io {
                action: "cannot list",
                path: dir.clone(),
                source,
            })?
            .filter_map(Result::ok)
            .map(|e| (e.file_name().as_bytes().to_vec(), e))
            .collect();
        // Byte order of names, the same on every machine and filesystem.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, entry) in entries {
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = entry.path();
            let meta = fs::symlink_metadata(&path).map_err(|source| ArchiveError::Io {
                action: "cannot stat",
                path: path.clone(),
                source,
            })?;
            rel.push(name);
            let result = self.entry(rel, &path, &meta);
            rel.pop();
            result?;
        }
        self.local.truncate(scope);
        Ok(())
    }

    fn entry(
        &mut self,
        rel: &mut Vec<String>,
        path: &Path,
        meta: &fs::Metadata,
    ) -> Result<(), ArchiveError> {
        let ft = meta.file_type();
        let parts: Vec<&str> = rel.iter().map(String::as_str).collect();
        if self.rules.is_excluded(&self.local, &parts, ft.is_dir()) {
            return Ok(());
        }
        let name = rel.join("/");
        let io_err = |action: &'static str| {
            let path = path.to_path_buf();
            move |source| ArchiveError::Io {
                action,
                path,
                source,
            }
        };
        let mut header = tar::Header::new_gnu();
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        if ft.is_dir() {
            header.set_entry_type(tar::EntryType::Directory);
            header.set_mode(0o755);
            header.set_size(0);
            self.tar
                .append_data(&mut header, format!("{name}/"), io::empty())
                .map_err(io_err("cannot archive"))?;
            return self.walk_dir(rel);
        }
        if ft.is_symlink() {
            let target = fs::read_link(path).map_err(io_err("cannot read symlink"))?;
            self.check_symlink(rel, path, &target)?;
            header.set_entry_type(tar::EntryType::Symlink);
            header.set_mode(0o777);
            header.set_size(0);
            return self
                .tar
                .append_link(&mut header, &name, &target)
                .map_err(io_err("cannot archive"));
        }
        if !ft.is_file() {
            return Err(ArchiveError::Unsupported { path: name });
        }
        let size = meta.len();
        if size > self.options.max_file_size {
            return Err(ArchiveError::FileTooLarge {
                path: name,
                size,
                limit: self.options.max_file_size,
            });
        }
        self.total = self.total.saturating_add(size);
        if self.total > self.options.max_total_size {
            return Err(ArchiveError::TotalTooLarge {
                limit: self.options.max_total_size,
            });
        }
        let exec = meta.permissions().mode() & 0o111 != 0;
        header.set_entry_type(tar::EntryType::Regular);
        header.set_mode(if exec { 0o755 } else { 0o644 });
        header.set_size(size);
        let file = File::open(path).map_err(io_err("cannot open"))?;
        self.tar
            .append_data(&mut header, &name, file.take(size))
            .map_err(io_err("cannot archive"))?;
        self.files += 1;
        Ok(())
    }

    fn check_symlink(
        &self,
        rel: &[String],
        path: &Path,
        target: &Path,
    ) -> Result<(), ArchiveError> {
        let outside = || ArchiveError::SymlinkOutside {
            path: rel.join("/"),
            target: target.to_string_lossy().into_owned(),
        };
        if !stays_inside(&rel[..rel.len() - 1], target) {
            return Err(outside());
        }
        // Lexically inside, but a chain through other symlinks may still leave the tree.
        if let Ok(real) = fs::canonicalize(path) {
            if !real.starts_with(&self.root) {
                return Err(outside());
            }
        }
        Ok(())
    }
}

/// Whether `target`, taken relative to directory `parent` (components from the root), stays
/// inside the root when resolved lexically.
pub(crate) fn stays_inside(parent: &[String], target: &Path) -> bool {
    let mut depth = parent.len() as i64;
    for c in target.components() {
        match c {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

/// Lower-case hex of bytes.
pub(crate) fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// `sha256:<hex>` of a file's bytes.
pub fn file_digest(path: &Path) -> io::Result<String> {
    let mut f = File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("sha256:{}", hex(&hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lexical_escape() {
        let parent = vec!["a".to_string(), "b".to_string()];
        assert!(stays_inside(&parent, Path::new("../c")));
        assert!(stays_inside(&parent, Path::new("../../c")));
        assert!(!stays_inside(&parent, Path::new("../../../c")));
        assert!(!stays_inside(&parent, Path::new("/etc/passwd")));
    }

    #[test]
    fn hex_digits() {
        assert_eq!(hex(&[0x00, 0xab, 0x10]), "00ab10");
    }
}
