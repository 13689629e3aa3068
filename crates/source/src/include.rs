//! `spec.include`: a staging tree made of the checkout plus other artifacts' trees at their `toPath`.

use std::fs;
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Component, Path, PathBuf};

/// One included tree: an extracted artifact directory (already narrowed to `fromPath`) and
/// where it goes in the result. Whatever the checkout had at `to_path` is replaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Include {
    /// Directory holding the included files.
    pub tree: PathBuf,
    /// Relative destination (`toPath`), e.g. `vendor/common`.
    pub to_path: String,
}

/// Why staging failed.
#[derive(Debug, thiserror::Error)]
pub enum IncludeError {
    /// `toPath` is empty, absolute, or climbs out with `..`.
    #[error(
        "include toPath '{to_path}' must be a relative path inside the repository without '..'"
    )]
    InvalidToPath {
        /// The path at fault.
        to_path: String,
    },
    /// `fromPath` is absolute or climbs out with `..`.
    #[error(
        "include fromPath '{from_path}' must be a relative path inside the artifact without '..'"
    )]
    InvalidFromPath {
        /// The path at fault.
        from_path: String,
    },
    /// Copying or linking failed.
    #[error("include: cannot {action} '{}': {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file at fault.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
}

/// Resolves `fromPath` inside an extracted artifact directory, refusing escapes.
pub fn from_path(extracted: &Path, from_path: &str) -> Result<PathBuf, IncludeError> {
    let parts = relative_parts(from_path).ok_or_else(|| IncludeError::InvalidFromPath {
        from_path: from_path.to_string(),
    })?;
    Ok(parts.iter().fold(extracted.to_path_buf(), |p, c| p.join(c)))
}

/// Builds `staging` (absent or empty) from `checkout` (without `.git`) with each include placed
/// at its `to_path`, later includes winning. Files are hard-linked where possible (no copy of
/// the repository's content), copied otherwise; the result is then archived like a checkout.
pub fn stage_includes(
    checkout: &Path,
    includes: &[Include],
    staging: &Path,
) -> Result<(), IncludeError> {
    let mut targets = Vec::new();
    for inc in includes {
        let parts = relative_parts(&inc.to_path)
            .filter(|p| !p.is_empty())
            .ok_or_else(|| IncludeError::InvalidToPath {
                to_path: inc.to_path.clone(),
            })?;
        targets.push(parts.iter().fold(staging.to_path_buf(), |p, c| p.join(c)));
    }
    fs::create_dir_all(staging).map_err(io_err("create", staging))?;
    copy_tree(checkout, staging, true)?;
    for (inc, target) in includes.iter().zip(targets) {
        match fs::symlink_metadata(&target) {
            Ok(m) if m.is_dir() => {
                fs::remove_dir_all(&target).map_err(io_err("replace", &target))?
            }
            Ok(_) => fs::remove_file(&target).map_err(io_err("replace", &target))?,
            Err(_) => {}
        }
        // Parents that are symlinks in the checkout would redirect the include elsewhere.
        let mut p = staging.to_path_buf();
        for c in target.strip_prefix(staging).unwrap_or(&target).components() {
            if let Ok(m) = fs::symlink_metadata(&p) {
                if m.file_type().is_symlink() {
                    fs::remove_file(&p).map_err(io_err("replace", &p))?;
                }
            }
            p.push(c);
        }
        fs::create_dir_all(&target).map_err(io_err("create", &target))?;
        copy_tree(&inc.tree, &target, false)?;
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path, skip_git: bool) -> Result<(), IncludeError> {
    let entries = fs::read_dir(from).map_err(io_err("list", from))?;
    for entry in entries {
        let entry = entry.map_err(io_err("list", from))?;
        let name = entry.file_name();
        if skip_git && name == ".git" {
            continue;
        }
        let src = entry.path();
        let dst = to.join(&name);
        let ft = entry.file_type().map_err(io_err("stat", &src))?;
        if ft.is_dir() {
            fs::create_dir_all(&dst).map_err(io_err("create", &dst))?;
            copy_tree(&src, &dst, false)?;
        } else if ft.is_symlink() {
            let target = fs::read_link(&src).map_err(io_err("read symlink", &src))?;
            symlink(&target, &dst).map_err(io_err("create symlink", &dst))?;
        } else if ft.is_file() && fs::hard_link(&src, &dst).is_err() {
            // Across filesystems a link is impossible: copy instead.
            fs::copy(&src, &dst).map_err(io_err("copy", &src))?;
        }
    }
    Ok(())
}

fn relative_parts(path: &str) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    for c in Path::new(path).components() {
        match c {
            Component::Normal(p) => parts.push(p.to_string_lossy().into_owned()),
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(parts)
}

fn io_err(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> IncludeError {
    let path = path.to_path_buf();
    move |source| IncludeError::Io {
        action,
        path,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_confined() {
        assert_eq!(
            relative_parts("./a/b"),
            Some(vec!["a".to_string(), "b".to_string()])
        );
        assert_eq!(relative_parts("../a"), None);
        assert_eq!(relative_parts("/a"), None);
        let dir = tempfile::tempdir().expect("temp dir");
        let err = stage_includes(
            dir.path(),
            &[Include {
                tree: dir.path().to_path_buf(),
                to_path: "../x".into(),
            }],
            &dir.path().join("stage"),
        )
        .expect_err("escape refused");
        assert!(matches!(err, IncludeError::InvalidToPath { .. }));
        assert!(from_path(dir.path(), "a/../../b").is_err());
    }
}
