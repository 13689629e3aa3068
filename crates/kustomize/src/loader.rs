//! Reading files for a build: kustomize's root restriction, the controller's fence, base cycle detection.

use std::path::{Path, PathBuf};

/// Files larger than this are refused (a kustomization input is never this big; a mistake or an
/// attack could be).
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// Which files a kustomization may read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LoadRestrictor {
    /// Only files in or below the kustomization's own directory (kubectl's default).
    #[default]
    RootOnly,
    /// Any file.
    None,
}

impl LoadRestrictor {
    /// Parses kubectl's flag values.
    pub fn parse(s: &str) -> Option<LoadRestrictor> {
        match s {
            "LoadRestrictionsRootOnly" | "rootOnly" => Some(LoadRestrictor::RootOnly),
            "LoadRestrictionsNone" | "none" => Some(LoadRestrictor::None),
            _ => None,
        }
    }
}

/// Why a file or directory could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The path does not exist or cannot be read.
    #[error("{path}: {message}")]
    Io {
        /// The path.
        path: String,
        /// The OS error.
        message: String,
    },
    /// Outside the kustomization root (or a symlink leading out of it).
    #[error("security; file '{path}' is not in or below '{root}'")]
    OutsideRoot {
        /// The path asked for.
        path: String,
        /// The root.
        root: String,
    },
    /// Outside the fence set by the caller (the controller's source root).
    #[error("security; '{path}' is outside the allowed root '{fence}'")]
    OutsideFence {
        /// The path asked for.
        path: String,
        /// The fence.
        fence: String,
    },
    /// A base that contains a kustomization already being built.
    #[error("cycle detected: candidate root '{candidate}' contains visited root '{visited}'")]
    Cycle {
        /// The new root.
        candidate: String,
        /// The root it contains.
        visited: String,
    },
    /// Absolute paths are not allowed as resource directories.
    #[error("new root '{0}' cannot be absolute")]
    Absolute(String),
    /// Not a directory.
    #[error("must build at directory: not a valid directory: '{0}'")]
    NotDir(String),
    /// Too large to load.
    #[error("{path}: file of {size} bytes is larger than the {max}-byte limit")]
    TooLarge {
        /// The path.
        path: String,
        /// Its size.
        size: u64,
        /// The limit.
        max: u64,
    },
}

/// Reads files relative to one kustomization root, under a restrictor and an optional fence.
#[derive(Debug, Clone)]
pub struct Loader {
    root: PathBuf,
    restrictor: LoadRestrictor,
    fence: Option<PathBuf>,
    /// Roots of the kustomizations that led here (for cycle detection).
    visited: Vec<PathBuf>,
    /// This root as written relative to the top kustomization (for origin annotations).
    rel: String,
}

fn io_err(path: &Path, e: std::io::Error) -> LoadError {
    LoadError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

impl Loader {
    /// A loader at a directory (canonicalized).
    pub fn new(
        dir: &Path,
        restrictor: LoadRestrictor,
        fence: Option<&Path>,
    ) -> Result<Loader, LoadError> {
        let root = dir.canonicalize().map_err(|e| io_err(dir, e))?;
        if !root.is_dir() {
            return Err(LoadError::NotDir(dir.display().to_string()));
        }
        let fence = match fence {
            Some(f) => Some(f.canonicalize().map_err(|e| io_err(f, e))?),
            None => None,
        };
        if let Some(f) = &fence {
            if !root.starts_with(f) {
                return Err(LoadError::OutsideFence {
                    path: root.display().to_string(),
                    fence: f.display().to_string(),
                });
            }
        }
        Ok(Loader {
            root,
            restrictor,
            fence,
            visited: Vec::new(),
            rel: String::new(),
        })
    }

    /// `rel` (a path below this root) as written relative to the top kustomization, cleaned
    /// lexically as Go's `path.Join` does.
    pub fn rel_path(&self, rel: &str) -> String {
        clean_join(&self.rel, rel)
    }

    /// The kustomization directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn check_fence(&self, p: &Path) -> Result<(), LoadError> {
        if let Some(f) = &self.fence {
            if !p.starts_with(f) {
                return Err(LoadError::OutsideFence {
                    path: p.display().to_string(),
                    fence: f.display().to_string(),
                });
            }
        }
        Ok(())
    }

    /// Resolves a file path (relative to the root) through symlinks and checks restrictions.
    pub fn resolve_file(&self, rel: &str) -> Result<PathBuf, LoadError> {
        let joined = self.root.join(rel);
        let real = joined.canonicalize().map_err(|e| io_err(&joined, e))?;
        if self.restrictor == LoadRestrictor::RootOnly && !real.starts_with(&self.root) {
            return Err(LoadError::OutsideRoot {
                path: joined.display().to_string(),
                root: self.root.display().to_string(),
            });
        }
        self.check_fence(&real)?;
        Ok(real)
    }

    /// Whether `rel` names an existing directory (no restriction check).
    pub fn is_dir(&self, rel: &str) -> bool {
        self.root.join(rel).is_dir()
    }

    /// Reads a file as bytes.
    pub fn read(&self, rel: &str) -> Result<Vec<u8>, LoadError> {
        let p = self.resolve_file(rel)?;
        let md = std::fs::metadata(&p).map_err(|e| io_err(&p, e))?;
        if md.is_dir() {
            return Err(LoadError::Io {
                path: p.display().to_string(),
                message: "is a directory".into(),
            });
        }
        if md.len() > MAX_FILE_BYTES {
            return Err(LoadError::TooLarge {
                path: p.display().to_string(),
                size: md.len(),
                max: MAX_FILE_BYTES,
            });
        }
        std::fs::read(&p).map_err(|e| io_err(&p, e))
    }

    /// Reads a file as UTF-8 text (invalid bytes are replaced, as Go strings tolerate them).
    pub fn read_string(&self, rel: &str) -> Result<String, LoadError> {
        let b = self.read(rel)?;
        Ok(match String::from_utf8(b) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    /// A loader for a sub-directory (a base or component). Bases may sit outside the root
    /// (kustomize restricts files, not bases) but not outside the fence, and may not contain a
    /// kustomization already being built.
    pub fn sub(&self, rel: &str) -> Result<Loader, LoadError> {
        if Path::new(rel).is_absolute() {
            return Err(LoadError::Absolute(rel.into()));
        }
        let joined = self.root.join(rel);
        let real = joined.canonicalize().map_err(|e| io_err(&joined, e))?;
        if !real.is_dir() {
            return Err(LoadError::NotDir(joined.display().to_string()));
        }
        self.check_fence(&real)?;
        for v in self.visited.iter().chain(std::iter::once(&self.root)) {
            if v.starts_with(&real) {
                return Err(LoadError::Cycle {
                    candidate: real.display().to_string(),
                    visited: v.display().to_string(),
                });
            }
        }
        let mut visited = self.visited.clone();
        visited.push(self.root.clone());
        Ok(Loader {
            root: real,
            restrictor: self.restrictor,
            fence: self.fence.clone(),
            visited,
            rel: clean_join(&self.rel, rel),
        })
    }
}

impl Loader {
    /// A loader for a kustomization fetched from elsewhere (a remote base): rooted at `dir`
    /// inside the fetched tree `fetched`, which fences every read; cycles are still checked
    /// against this loader's ancestry.
    pub fn fetched(&self, fetched: &Path, dir: &str, rel: &str) -> Result<Loader, LoadError> {
        let top = fetched.canonicalize().map_err(|e| io_err(fetched, e))?;
        let joined = top.join(dir);
        let real = joined.canonicalize().map_err(|e| io_err(&joined, e))?;
        if !real.starts_with(&top) {
            return Err(LoadError::OutsideFence {
                path: real.display().to_string(),
                fence: top.display().to_string(),
            });
        }
        if !real.is_dir() {
            return Err(LoadError::NotDir(joined.display().to_string()));
        }
        let mut visited = self.visited.clone();
        visited.push(self.root.clone());
        Ok(Loader {
            root: real,
            restrictor: self.restrictor,
            fence: Some(top),
            visited,
            rel: rel.to_string(),
        })
    }
}

/// Joins and cleans slash paths lexically (`a/../b` → `b`, leading `..` kept).
pub fn clean_join(base: &str, rel: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for seg in base.split('/').chain(rel.split('/')) {
        match seg {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            s => out.push(s),
        }
    }
    if out.is_empty() {
        ".".to_string()
    } else {
        out.join("/")
    }
}

/// The kustomization file names kustomize recognizes, in its order.
pub const KUSTOMIZATION_FILES: &[&str] =
    &["kustomization.yaml", "kustomization.yml", "Kustomization"];

/// Finds the kustomization file in a directory: `Ok(None)` when there is none.
pub fn find_kustomization_file(dir: &Path) -> Result<Option<&'static str>, String> {
    let found: Vec<&'static str> = KUSTOMIZATION_FILES
        .iter()
        .copied()
        .filter(|f| dir.join(f).is_file())
        .collect();
    match found.len() {
        0 => Ok(None),
        1 => Ok(Some(found[0])),
        _ => Err(format!(
            "Found multiple kustomization files under: {}",
            dir.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_only_refuses_outside_and_symlinks() {
        let t = tempfile::tempdir().expect("tempdir");
        let root = t.path().join("root");
        std::fs::create_dir_all(&root).expect("mkdir");
        std::fs::write(t.path().join("secret"), "x").expect("write");
        std::fs::write(root.join("in"), "y").expect("write");
        #[cfg(unix)]
        std::os::unix::fs::symlink(t.path().join("secret"), root.join("link")).expect("symlink");
        let l = Loader::new(&root, LoadRestrictor::RootOnly, None).expect("loader");
        assert!(l.read("in").is_ok());
        assert!(matches!(
            l.read("../secret"),
            Err(LoadError::OutsideRoot { .. })
        ));
        #[cfg(unix)]
        assert!(matches!(l.read("link"), Err(LoadError::OutsideRoot { .. })));
        let l = Loader::new(&root, LoadRestrictor::None, None).expect("loader");
        assert!(l.read("../secret").is_ok());
        let l = Loader::new(&root, LoadRestrictor::None, Some(&root)).expect("loader");
        assert!(matches!(
            l.read("../secret"),
            Err(LoadError::OutsideFence { .. })
        ));
        assert!(matches!(l.sub(".."), Err(LoadError::OutsideFence { .. })));
        let l = Loader::new(&root, LoadRestrictor::None, None).expect("loader");
        assert!(matches!(l.sub(".."), Err(LoadError::Cycle { .. })));
    }
}
