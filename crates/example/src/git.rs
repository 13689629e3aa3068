//! git for the story's own commits: bare repositories the Git host serves, and work trees that commit and push as the people in the story do.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A git command failed; `stderr` is its message.
#[derive(Debug, thiserror::Error)]
#[error("git {args} in {dir}: {stderr}")]
pub struct GitError {
    /// The arguments.
    pub args: String,
    /// Where it ran.
    pub dir: PathBuf,
    /// What git said.
    pub stderr: String,
}

/// Runs git in `dir` with a fixed identity and no user or system config; returns stdout.
pub fn git(dir: &Path, args: &[&str]) -> Result<String, GitError> {
    let err = |stderr: String| GitError {
        args: args.join(" "),
        dir: dir.to_path_buf(),
        stderr,
    };
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "Dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "Dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .output()
        .map_err(|e| err(format!("cannot run git ({e}); is it installed?")))?;
    if !out.status.success() {
        return Err(err(String::from_utf8_lossy(&out.stderr).trim().to_string()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A work tree whose `origin` is a bare repository on the Git host's disk.
pub struct WorkTree {
    /// The work tree.
    pub dir: PathBuf,
}

impl WorkTree {
    /// Makes `<served>/<name>.git` (bare, branch main) and a work tree `<work>/<name>` pushing to it.
    pub fn create(served: &Path, work: &Path, name: &str) -> Result<WorkTree, GitError> {
        let bare = served.join(format!("{name}.git"));
        let dir = work.join(name);
        for d in [&bare, &dir] {
            std::fs::create_dir_all(d).map_err(|e| GitError {
                args: "init".into(),
                dir: d.to_path_buf(),
                stderr: e.to_string(),
            })?;
        }
        git(&bare, &["init", "-q", "--bare", "-b", "main"])?;
        git(&dir, &["init", "-q", "-b", "main"])?;
        git(&dir, &["remote", "add", "origin", &bare.to_string_lossy()])?;
        Ok(WorkTree { dir })
    }

    /// Writes a file (parents created).
    pub fn write(&self, path: &str, contents: &str) -> Result<(), GitError> {
        let file = self.dir.join(path);
        let io = |e: std::io::Error| GitError {
            args: format!("(write {path})"),
            dir: self.dir.clone(),
            stderr: e.to_string(),
        };
        if let Some(parent) = file.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::write(file, contents).map_err(io)
    }

    /// Reads a file.
    pub fn read(&self, path: &str) -> Result<String, GitError> {
        std::fs::read_to_string(self.dir.join(path)).map_err(|e| GitError {
            args: format!("(read {path})"),
            dir: self.dir.clone(),
            stderr: e.to_string(),
        })
    }

    /// Commits everything and pushes main (callers [`WorkTree::pull`] before editing); returns the sha.
    pub fn commit_and_push(&self, message: &str) -> Result<String, GitError> {
        git(&self.dir, &["add", "-A"])?;
        git(&self.dir, &["commit", "-q", "-m", message])?;
        git(&self.dir, &["push", "-q", "origin", "main"])?;
        git(&self.dir, &["rev-parse", "HEAD"])
    }

    /// Takes in what others pushed (the automation's commits).
    pub fn pull(&self) -> Result<(), GitError> {
        git(&self.dir, &["pull", "-q", "--ff-only", "origin", "main"]).map(|_| ())
    }

    /// Reverts the last commit and pushes; returns the new sha.
    pub fn revert_last(&self) -> Result<String, GitError> {
        self.pull()?;
        git(&self.dir, &["revert", "--no-edit", "HEAD"])?;
        git(&self.dir, &["push", "-q", "origin", "main"])?;
        git(&self.dir, &["rev-parse", "HEAD"])
    }
}
