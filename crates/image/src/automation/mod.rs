//! One ImageUpdateAutomation run: clone the branch, apply the setters, commit with the message template, push (never forced; a rejected push is refetched, reapplied and retried).

mod git;

use std::collections::BTreeMap;
use std::path::{Component, Path};
use std::time::Duration;

pub use git::{GitAuth, GitError, SshAuth};

use crate::setters::{apply_setters, PolicyImage, SetterError, SetterOptions, UpdateResult};
use crate::template::{render, template_data, TemplateError};

/// What to update and where to push (from the automation's spec and its GitRepository).
#[derive(Debug, Clone)]
pub struct AutomationOptions {
    /// The GitRepository's URL.
    pub url: String,
    /// Credentials from the GitRepository's secret.
    pub auth: GitAuth,
    /// Branch to check out (`spec.git.checkout.ref.branch`, else the GitRepository's branch).
    pub checkout_branch: String,
    /// `spec.git.push.branch`; the checkout branch when unset.
    pub push_branch: Option<String>,
    /// `spec.git.push.refspec`, pushed in addition to the branch.
    pub push_refspec: Option<String>,
    /// `spec.git.push.options` (`git push -o key=value`).
    pub push_options: BTreeMap<String, String>,
    /// `spec.update.path`, relative to the repository root; the root when unset.
    pub update_path: Option<String>,
    /// `spec.git.commit.author.name` (the email is used when empty: git needs a name).
    pub author_name: String,
    /// `spec.git.commit.author.email`.
    pub author_email: String,
    /// `spec.git.commit.messageTemplate`.
    pub message_template: Option<String>,
    /// `spec.git.commit.messageTemplateValues`.
    pub message_template_values: BTreeMap<String, String>,
    /// The automation's namespace (template data `.AutomationObject`).
    pub namespace: String,
    /// The automation's name.
    pub name: String,
    /// The selected policies' images by `namespace:name`.
    pub policies: BTreeMap<String, PolicyImage>,
    /// Deadline of each git command.
    pub timeout: Duration,
    /// How many times a rejected push is retried after refetching.
    pub push_retries: usize,
}

impl Default for AutomationOptions {
    fn default() -> Self {
        AutomationOptions {
            url: String::new(),
            auth: GitAuth::default(),
            checkout_branch: "main".to_string(),
            push_branch: None,
            push_refspec: None,
            push_options: BTreeMap::new(),
            update_path: None,
            author_name: String::new(),
            author_email: String::new(),
            message_template: None,
            message_template_values: BTreeMap::new(),
            namespace: String::new(),
            name: String::new(),
            policies: BTreeMap::new(),
            timeout: Duration::from_secs(60),
            push_retries: 3,
        }
    }
}

/// The commit a run pushed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedCommit {
    /// Commit SHA (`status.lastPushCommit`).
    pub sha: String,
    /// The rendered message.
    pub message: String,
    /// The branch pushed to.
    pub branch: String,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct AutomationOutcome {
    /// The commit the update started from (`status.observedSourceRevision` is `<branch>@sha1:<sha>`).
    pub base_revision: String,
    /// The setters' result (empty when nothing changed).
    pub result: UpdateResult,
    /// The pushed commit; `None` when nothing changed.
    pub commit: Option<PushedCommit>,
}

/// Why a run failed. [`AutomationError::is_stalling`] says when retrying cannot help.
#[derive(Debug, thiserror::Error)]
pub enum AutomationError {
    /// A spec field is unusable (bad path, refspec, branch).
    #[error("{field}: {reason}")]
    Spec {
        /// The field at fault.
        field: &'static str,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The message template does not parse or run.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// Clone, fetch, commit or push failed.
    #[error(transparent)]
    Git(#[from] GitError),
    /// Reading or writing the working tree failed.
    #[error(transparent)]
    Setters(#[from] SetterError),
    /// The push was rejected every time (the branch keeps moving, or is protected).
    #[error("push to '{branch}' was rejected {attempts} times; the branch keeps changing or refuses pushes (it is never force-pushed): {last}")]
    PushRejected {
        /// The branch.
        branch: String,
        /// Attempts made.
        attempts: usize,
        /// git's last message.
        last: String,
    },
    /// The private working directory could not be made.
    #[error("cannot prepare a working directory: {0}")]
    Io(#[from] std::io::Error),
}

impl AutomationError {
    /// True for spec errors: the object is stalled until its spec changes.
    pub fn is_stalling(&self) -> bool {
        matches!(
            self,
            AutomationError::Spec { .. } | AutomationError::Template(_)
        )
    }
}

/// Runs the automation once.
pub async fn run(opts: &AutomationOptions) -> Result<AutomationOutcome, AutomationError> {
    let update_rel = check_update_path(opts.update_path.as_deref())?;
    let push_branch = opts
        .push_branch
        .clone()
        .filter(|b| !b.is_empty())
        .unwrap_or_else(|| opts.checkout_branch.clone());
    check_branch("spec.git.checkout.ref.branch", &opts.checkout_branch)?;
    check_branch("spec.git.push.branch", &push_branch)?;
    if let Some(r) = &opts.push_refspec {
        check_refspec(r)?;
    }
    // Render once up front so a bad template stalls before any network work.
    let template = opts.message_template.clone().unwrap_or_default();
    render(
        &template,
        &template_data(
            &opts.namespace,
            &opts.name,
            &UpdateResult::default(),
            &opts.message_template_values,
        ),
    )?;

    let git = git::Git::new(&opts.auth, opts.timeout)?;
    let work = git.scratch();
    let work_s = work.to_string_lossy().into_owned();
    git.run(None, &["init", "-q", &work_s]).await?;
    git.run(Some(&work), &["remote", "add", "origin", &opts.url])
        .await?;

    let mut attempts = 0;
    loop {
        attempts += 1;
        // Without force pushes, an existing push branch is where new commits must go on top of.
        let base = if push_branch != opts.checkout_branch
            && !git
                .run(
                    Some(&work),
                    &[
                        "ls-remote",
                        "--heads",
                        "origin",
                        &format!("refs/heads/{push_branch}"),
                    ],
                )
                .await?
                .is_empty()
        {
            push_branch.clone()
        } else {
            opts.checkout_branch.clone()
        };
        git.run(
            Some(&work),
            &[
                "fetch",
                "-q",
                "--depth=1",
                "origin",
                &format!("+refs/heads/{base}:refs/remotes/origin/{base}"),
            ],
        )
        .await?;
        git.run(
            Some(&work),
            &[
                "checkout",
                "-q",
                "-B",
                &opts.checkout_branch,
                &format!("refs/remotes/origin/{base}"),
            ],
        )
        .await?;
        git.run(Some(&work), &["clean", "-q", "-fdx"]).await?;
        let base_sha = git.run(Some(&work), &["rev-parse", "HEAD"]).await?;
        let base_revision = format!("{base}@sha1:{base_sha}");

        let dir = work.join(&update_rel);
        let result = apply_setters(&dir, &opts.policies, &SetterOptions::default())?;
        if result.is_empty() {
            return Ok(AutomationOutcome {
                base_revision,
                result,
                commit: None,
            });
        }
        let message = render(
            &template,
            &template_data(
                &opts.namespace,
                &opts.name,
                &result,
                &opts.message_template_values,
            ),
        )?;
        let mut add: Vec<String> = vec!["add".into(), "--".into()];
        for f in result.file_changes.keys() {
            add.push(join_rel(&update_rel, f));
        }
        let add_ref: Vec<&str> = add.iter().map(String::as_str).collect();
        git.run(Some(&work), &add_ref).await?;
        let name = if opts.author_name.is_empty() {
            opts.author_email.as_str()
        } else {
            opts.author_name.as_str()
        };
        let ident = [
            ("GIT_AUTHOR_NAME", name),
            ("GIT_AUTHOR_EMAIL", opts.author_email.as_str()),
            ("GIT_COMMITTER_NAME", name),
            ("GIT_COMMITTER_EMAIL", opts.author_email.as_str()),
        ];
        git.run_env(
            Some(&work),
            &[
                "commit",
                "-q",
                "--no-verify",
                "--allow-empty-message",
                "--cleanup=verbatim",
                "-m",
                &message,
            ],
            &ident,
        )
        .await?;
        let sha = git.run(Some(&work), &["rev-parse", "HEAD"]).await?;

        let mut push: Vec<String> = vec!["push".into(), "--porcelain".into()];
        for (k, v) in &opts.push_options {
            push.push("-o".into());
            push.push(if v.is_empty() {
                k.clone()
            } else {
                format!("{k}={v}")
            });
        }
        push.push("origin".into());
        push.push(format!("HEAD:refs/heads/{push_branch}"));
        if let Some(r) = &opts.push_refspec {
            push.push(r.clone());
        }
        let push_ref: Vec<&str> = push.iter().map(String::as_str).collect();
        match git.run(Some(&work), &push_ref).await {
            Ok(_) => {
                return Ok(AutomationOutcome {
                    base_revision,
                    result,
                    commit: Some(PushedCommit {
                        sha,
                        message,
                        branch: push_branch,
                    }),
                })
            }
            Err(e) if e.rejected && attempts <= opts.push_retries => {
                tracing::info!(branch = %push_branch, attempt = attempts, "push rejected; refetching and reapplying");
                continue;
            }
            Err(e) if e.rejected => {
                return Err(AutomationError::PushRejected {
                    branch: push_branch,
                    attempts,
                    last: e.detail,
                })
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn join_rel(base: &str, file: &str) -> String {
    if base.is_empty() {
        file.to_string()
    } else {
        format!("{base}/{file}")
    }
}

/// `spec.update.path` must stay inside the repository.
fn check_update_path(p: Option<&str>) -> Result<String, AutomationError> {
    let Some(p) = p.filter(|p| !p.is_empty()) else {
        return Ok(String::new());
    };
    let mut parts = Vec::new();
    for c in Path::new(p).components() {
        match c {
            Component::Normal(s) => parts.push(s.to_string_lossy().into_owned()),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir | Component::Prefix(_) => {
                return Err(AutomationError::Spec {
                    field: "spec.update.path",
                    reason: format!("'{p}' leaves the repository; give a path inside it"),
                })
            }
        }
    }
    Ok(parts.join("/"))
}

fn check_branch(field: &'static str, b: &str) -> Result<(), AutomationError> {
    let bad = b.is_empty()
        || b.starts_with('-')
        || b.starts_with('/')
        || b.ends_with('/')
        || b.ends_with(".lock")
        || b.contains("..")
        || b.contains("@{")
        || b.chars().any(|c| c.is_control() || " ~^:?*[\\".contains(c));
    if bad {
        return Err(AutomationError::Spec {
            field,
            reason: format!("'{b}' is not a valid branch name"),
        });
    }
    Ok(())
}

fn check_refspec(r: &str) -> Result<(), AutomationError> {
    let err = |reason: &str| AutomationError::Spec {
        field: "spec.git.push.refspec",
        reason: format!("'{r}': {reason}"),
    };
    if r.starts_with('+') {
        return Err(err(
            "force refspecs ('+') are not supported; pushes are never forced",
        ));
    }
    match r.split_once(':') {
        Some(("", _)) => Err(err("deletion refspecs (empty source) are not supported")),
        Some((_, "")) | None => Err(err(
            "write it as <src>:<dst>, e.g. refs/heads/main:refs/heads/auto",
        )),
        Some((s, d)) if s.starts_with('-') || d.starts_with('-') => {
            Err(err("a ref cannot start with '-'"))
        }
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_checks() {
        assert_eq!(
            check_update_path(Some("./deploy/dev/")).expect("ok"),
            "deploy/dev"
        );
        assert_eq!(check_update_path(None).expect("ok"), "");
        assert!(check_update_path(Some("../x")).is_err());
        assert!(check_refspec("refs/heads/main:refs/heads/auto").is_ok());
        for bad in ["+a:b", ":refs/heads/x", "main", "a:"] {
            assert!(check_refspec(bad).is_err(), "{bad}");
        }
        for bad in ["", "-x", "a..b", "a b", "x.lock"] {
            assert!(check_branch("f", bad).is_err(), "{bad}");
        }
    }
}
