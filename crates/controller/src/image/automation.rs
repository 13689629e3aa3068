//! The ImageUpdateAutomation reconciler: the selected policies' images written into the GitRepository's branch (Setters), committed and pushed, never forced.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use flotilla_api::condition::reasons;
use flotilla_api::image::{ImagePolicy, ImageRef, ImageUpdateAutomation, UpdateStrategyName};
use flotilla_api::source::GitCheckout;
use flotilla_api::GitRepository;
use flotilla_image::{run_automation, AutomationOptions, GitAuth, PolicyImage, SshAuth};
use flotilla_source::redact;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::ResourceExt;

use super::{now, secret_data};
use crate::runtime::{EventNote, EventRecorder, Failure, Reconciler, Success, Upstream};

/// Pushes updated image references for ImageUpdateAutomations.
pub struct ImageUpdateAutomationReconciler {
    client: kube::Client,
    events: EventRecorder,
}

impl ImageUpdateAutomationReconciler {
    /// A reconciler publishing its warnings (skipped files, markers naming missing policies)
    /// as `instance` (the replica identity).
    pub fn new(client: kube::Client, instance: String) -> ImageUpdateAutomationReconciler {
        let events = EventRecorder::new(client.clone(), "image-automation-controller", instance);
        ImageUpdateAutomationReconciler { client, events }
    }
}

impl Reconciler for ImageUpdateAutomationReconciler {
    type Object = ImageUpdateAutomation;

    fn controller_name(&self) -> &'static str {
        "image-automation-controller"
    }

    fn reconcile<'a>(
        &'a self,
        obj: &'a mut ImageUpdateAutomation,
    ) -> impl Future<Output = Result<Success, Failure>> + Send + 'a {
        self.update(obj)
    }

    // A new artifact revision of the GitRepository (a commit by someone else, or its URL now
    // pointing at another repository) re-runs the automation at once, not at its interval.
    fn git_source(&self, obj: &ImageUpdateAutomation) -> Option<(String, String)> {
        let r = &obj.spec.source_ref;
        (r.kind == "GitRepository").then(|| {
            (
                r.namespace
                    .clone()
                    .or_else(|| obj.namespace())
                    .unwrap_or_default(),
                r.name.clone(),
            )
        })
    }

    fn watches_git_sources(&self) -> bool {
        true
    }
}

impl Upstream<ImagePolicy> for ImageUpdateAutomationReconciler {
    fn upstream_revision(&self, src: &ImagePolicy) -> Option<String> {
        let r = src.status.as_ref()?.latest_ref.as_ref()?;
        Some(r.reference())
    }

    fn follows(&self, obj: &ImageUpdateAutomation, src: &ImagePolicy) -> bool {
        obj.namespace() == src.namespace()
            && obj
                .spec
                .policy_selector
                .as_ref()
                .is_none_or(|s| s.matches(src.labels()))
    }
}

impl ImageUpdateAutomationReconciler {
    async fn update(&self, obj: &mut ImageUpdateAutomation) -> Result<Success, Failure> {
        let ns = obj.namespace().unwrap_or_default();
        let name = obj.name_any();
        let spec = obj.spec.clone();
        if let Some(u) = &spec.update {
            if !matches!(u.strategy, None | Some(UpdateStrategyName::Setters)) {
                return Err(Failure::stalled(
                    reasons::INVALID_UPDATE_STRATEGY,
                    "spec.update.strategy: only 'Setters' is supported",
                ));
            }
        }
        let Some(git) = &spec.git else {
            return Err(Failure::stalled(
                reasons::INVALID_SOURCE_CONFIG,
                "spec.git is required: set spec.git.commit.author",
            ));
        };
        if spec.source_ref.kind != "GitRepository" {
            return Err(Failure::stalled(
                reasons::INVALID_SOURCE_CONFIG,
                format!(
                    "spec.sourceRef.kind '{}' is not supported: use GitRepository",
                    spec.source_ref.kind
                ),
            ));
        }
        let src_ns = spec.source_ref.namespace.clone().unwrap_or(ns.clone());
        let repos: Api<GitRepository> = Api::namespaced(self.client.clone(), &src_ns);
        let repo = repos
            .get_opt(&spec.source_ref.name)
            .await
            .map_err(|e| {
                Failure::retry(
                    reasons::DEPENDENCY_NOT_READY,
                    format!(
                        "cannot read GitRepository '{src_ns}/{}': {e}",
                        spec.source_ref.name
                    ),
                )
            })?
            .ok_or_else(|| {
                Failure::retry(
                    reasons::DEPENDENCY_NOT_READY,
                    format!(
                        "referenced GitRepository '{src_ns}/{}' not found",
                        spec.source_ref.name
                    ),
                )
            })?;
        let checkout_branch = match git
            .checkout
            .as_ref()
            .and_then(|c| c.reference.branch.clone())
            .filter(|b| !b.is_empty())
        {
            Some(b) => b,
            None => match repo.spec.checkout() {
                GitCheckout::Branch(b) => b.to_string(),
                GitCheckout::Commit {
                    branch: Some(b), ..
                } => b.to_string(),
                _ => {
                    return Err(Failure::stalled(
                        reasons::INVALID_SOURCE_CONFIG,
                        "spec.git.checkout.ref.branch must be set: the GitRepository does not track a branch",
                    ))
                }
            },
        };
        let auth = match &repo.spec.secret_ref {
            None => GitAuth::default(),
            Some(r) => git_auth(
                &secret_data(
                    &self.client,
                    &src_ns,
                    &r.name,
                    "GitRepository spec.secretRef",
                )
                .await
                .map_err(|m| Failure::retry(reasons::AUTHENTICATION_FAILED, m))?,
            ),
        };

        let policies = self.policies(obj, &ns).await?;
        let push = git.push.clone().unwrap_or_default();
        let options = AutomationOptions {
            url: repo.spec.url.clone(),
            auth,
            checkout_branch,
            push_branch: push.branch.clone(),
            push_refspec: push.refspec.clone(),
            push_options: push.options.clone().unwrap_or_default(),
            update_path: spec.update.as_ref().and_then(|u| u.path.clone()),
            author_name: git.commit.author.name.clone().unwrap_or_default(),
            author_email: git.commit.author.email.clone(),
            message_template: git.commit.message_template.clone(),
            message_template_values: git
                .commit
                .message_template_values
                .clone()
                .unwrap_or_default(),
            namespace: ns.clone(),
            name: name.clone(),
            policies: policies
                .iter()
                .map(|(k, r)| {
                    (
                        k.clone(),
                        PolicyImage {
                            name: r.name.clone(),
                            tag: r.tag.clone(),
                            digest: r.digest.clone(),
                        },
                    )
                })
                .collect(),
            timeout: repo
                .spec
                .timeout()
                .unwrap_or(Duration::from_secs(60))
                .max(Duration::from_secs(5)),
            ..AutomationOptions::default()
        };
        let outcome = run_automation(&options).await.map_err(|e| {
            let msg = redact(&e.to_string());
            if e.is_stalling() {
                Failure::stalled(reasons::INVALID_SOURCE_CONFIG, msg)
            } else {
                Failure::retry(reasons::GIT_OPERATION_FAILED, msg)
            }
        })?;

        for skipped in &outcome.result.skipped {
            let note = format!(
                "skipped '{}': {} (the file is left as it is)",
                skipped.file, skipped.reason
            );
            tracing::warn!("{note}");
            self.events
                .publish(obj, &EventNote::warning(reasons::UPDATE_FAILED, note))
                .await;
        }
        for marker in &outcome.result.unknown_markers {
            let note = format!(
                "{}:{}: marker names ImagePolicy '{}', which does not exist or is not selected by spec.policySelector",
                marker.file, marker.line, marker.setter
            );
            tracing::warn!("{note}");
            self.events
                .publish(obj, &EventNote::warning(reasons::UPDATE_FAILED, note))
                .await;
        }

        let status = obj.status.get_or_insert_with(Default::default);
        status.last_automation_run_time = Some(now());
        status.observed_policies = Some(policies);
        status.observed_source_revision = Some(outcome.base_revision.clone());
        let Some(commit) = outcome.commit else {
            return Ok(Success::new(reasons::SUCCEEDED, "repository up-to-date"));
        };
        status.last_push_commit = Some(commit.sha.clone());
        status.last_push_time = Some(now());
        let message = format!(
            "pushed commit '{}' to branch '{}'\n{}",
            short(&commit.sha),
            commit.branch,
            commit.message
        );
        // Let the source fetch the new commit now rather than at its next interval (the
        // `flux reconcile source git` request); best effort.
        let requested = serde_json::json!({"metadata": {"annotations": {
            flotilla_api::reconcile::REQUESTED_AT_ANNOTATION: now().0.to_string()
        }}});
        if let Err(e) = repos
            .patch(
                &spec.source_ref.name,
                &PatchParams::default(),
                &Patch::Merge(&requested),
            )
            .await
        {
            tracing::debug!(error = %e, "could not request a reconcile of the GitRepository");
        }
        Ok(Success::new(reasons::SUCCEEDED, &message)
            .with_event(EventNote::normal(reasons::SUCCEEDED, &message)))
    }

    /// The policies in `ns` selected by `spec.policySelector` that have a latest image, keyed
    /// `namespace:name` as markers name them.
    async fn policies(
        &self,
        obj: &ImageUpdateAutomation,
        ns: &str,
    ) -> Result<BTreeMap<String, ImageRef>, Failure> {
        let api: Api<ImagePolicy> = Api::namespaced(self.client.clone(), ns);
        let list = api.list(&ListParams::default()).await.map_err(|e| {
            Failure::retry(
                reasons::RECONCILIATION_FAILED,
                format!("cannot list ImagePolicies in '{ns}': {e}"),
            )
        })?;
        Ok(list
            .items
            .into_iter()
            .filter(|p| {
                obj.spec
                    .policy_selector
                    .as_ref()
                    .is_none_or(|s| s.matches(p.labels()))
            })
            .filter_map(|p| {
                let latest = p.status.as_ref()?.latest_ref.clone()?;
                Some((format!("{ns}:{}", p.name_any()), latest))
            })
            .collect())
    }
}

/// Git credentials from the GitRepository's secret, with Flux's keys.
fn git_auth(data: &BTreeMap<String, Vec<u8>>) -> GitAuth {
    let text = |k: &str| {
        data.get(k)
            .map(|v| {
                String::from_utf8_lossy(v)
                    .trim_end_matches(['\n', '\r'])
                    .to_string()
            })
            .filter(|s| !s.is_empty())
    };
    let ssh = data.get("identity").map(|identity| SshAuth {
        identity: identity.clone(),
        known_hosts: data.get("known_hosts").cloned().unwrap_or_default(),
        passphrase: text("password"),
    });
    GitAuth {
        basic: match (text("username"), text("password")) {
            (Some(u), Some(p)) if ssh.is_none() => Some((u, p)),
            _ => None,
        },
        bearer: text("bearerToken"),
        ca_pem: data.get("ca.crt").or_else(|| data.get("caFile")).cloned(),
        ssh,
    }
}

fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}
