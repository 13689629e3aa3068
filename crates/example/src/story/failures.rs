//! Steps 9-13, things broken on purpose: a hand edit, a broken commit, wrong credentials, the registry down, a policy matching nothing; each reported while the running Sock Shop stays as it was, then repaired.

use flotilla_gitserver::base64;
use flotilla_ops::FluxKind;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;

use super::text::{short, short_rev};
use super::*;
use crate::git::git;

impl Story<'_> {
    pub(super) async fn drift_reverted(&mut self) -> Result<(), StoryError> {
        self.start(Step::DriftReverted);
        let deployments: Api<Deployment> = Api::namespaced(self.client.clone(), NS);
        let patched = deployments
            .patch(
                "catalogue",
                &PatchParams {
                    field_manager: Some(HAND_EDIT_MANAGER.into()),
                    ..PatchParams::default()
                },
                &Patch::Merge(json!({"spec": {"replicas": 3}})),
            )
            .await
            .map_err(kube_err("patching Deployment sock-shop/catalogue"))?;
        let edited = patched.spec.replicas.unwrap_or(1);
        self.note(
            Step::DriftReverted,
            format!("kubectl -n sock-shop patch deployment catalogue -p '{{\"spec\":{{\"replicas\":3}}}}' → replicas {edited}"),
        );
        let edited_at = Instant::now();
        wait_until!(
            self,
            Step::DriftReverted,
            "Deployment sock-shop/catalogue back to 1 replica",
            {
                let d = deployments
                    .get("catalogue")
                    .await
                    .map_err(kube_err("reading Deployment sock-shop/catalogue"))?;
                match d.spec.replicas {
                    Some(1) => Ok(()),
                    r => Err(format!("replicas {r:?}")),
                }
            }
        );
        self.pass(
            Step::DriftReverted,
            format!(
                "replicas {edited} → 1 after {:.1}s, by {TENANT}'s next apply",
                edited_at.elapsed().as_secs_f64()
            ),
        );
        Ok(())
    }

    pub(super) async fn broken_commit(&mut self, image: &str) -> Result<(), StoryError> {
        self.start(Step::BrokenCommit);
        let good = self.status_of(FluxKind::Kustomization, NS, TENANT).await?;
        let good_rev = good["status"]["lastAppliedRevision"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        self.micro.pull()?;
        let overlay = self.micro.read(OVERLAY)?;
        self.micro.write(
            OVERLAY,
            &overlay.replace(
                "  - ../../base\n",
                "  - ../../base\n  - front-end-canary.yaml\n",
            ),
        )?;
        let broken = self
            .micro
            .commit_and_push("development: add the front-end canary (file forgotten)")?;
        let broken_rev = format!("main@sha1:{broken}");
        self.note(
            Step::BrokenCommit,
            format!(
                "microservices {}: overlay lists front-end-canary.yaml, which is not committed",
                short(&broken)
            ),
        );
        let message = wait_until!(
            self,
            Step::BrokenCommit,
            format!("Kustomization sock-shop/{TENANT} failing at {broken_rev}"),
            self.failing(FluxKind::Kustomization, NS, TENANT, Some(&broken_rev))
                .await?
        );
        self.check_untouched(Step::BrokenCommit, image).await?;
        let now = self.status_of(FluxKind::Kustomization, NS, TENANT).await?;
        if now["status"]["lastAppliedRevision"].as_str() != Some(good_rev.as_str()) {
            return Err(StoryError::Check {
                step: Step::BrokenCommit,
                detail: format!(
                    "lastAppliedRevision moved from {good_rev}: {}",
                    now["status"]["lastAppliedRevision"]
                ),
            });
        }
        let table = self.table(FluxKind::Kustomization, NS).await?;
        self.note(Step::BrokenCommit, table);
        let fixed = self.micro.revert_last()?;
        let fixed_rev = format!("main@sha1:{fixed}");
        wait_until!(
            self,
            Step::BrokenCommit,
            format!("Kustomization sock-shop/{TENANT} Ready at the revert {fixed_rev}"),
            self.applied(FluxKind::Kustomization, NS, TENANT, &fixed_rev)
                .await?
        );
        self.pass(
            Step::BrokenCommit,
            format!("reported \"{message}\"; {DEPLOYMENTS} Deployments still available, front-end still {image}, last applied stayed {}; Ready again at the revert {}", short_rev(&good_rev), short(&fixed)),
        );
        Ok(())
    }

    pub(super) async fn wrong_credentials(&mut self, image: &str) -> Result<(), StoryError> {
        self.start(Step::WrongCredentials);
        let file = "apps/base/sock-shop/basic-access-auth.yaml";
        self.fleet.pull()?;
        let secret = self.fleet.read(file)?;
        self.fleet.write(
            file,
            &secret.replace(
                &base64(GIT_PASSWORD.as_bytes()),
                &base64(b"pasted-the-wrong-password"),
            ),
        )?;
        let sha = self
            .fleet
            .commit_and_push("sock-shop: new CodeCommit credentials")?;
        self.note(
            Step::WrongCredentials,
            format!("fleet {}: {file} now holds a wrong password", short(&sha)),
        );
        let message = wait_until!(
            self,
            Step::WrongCredentials,
            format!("GitRepository sock-shop/{TENANT} failing"),
            self.failing(FluxKind::GitRepository, NS, TENANT, None)
                .await?
        );
        self.check_untouched(Step::WrongCredentials, image).await?;
        let table = self.table(FluxKind::GitRepository, NS).await?;
        self.note(Step::WrongCredentials, table);
        let fixed = self.fleet.revert_last()?;
        wait_until!(
            self,
            Step::WrongCredentials,
            format!("GitRepository sock-shop/{TENANT} Ready again"),
            self.ready(FluxKind::GitRepository, NS, TENANT).await?
        );
        self.pass(
            Step::WrongCredentials,
            format!("reported \"{message}\"; Sock Shop untouched; Ready again after the fleet revert {}", short(&fixed)),
        );
        Ok(())
    }

    pub(super) async fn registry_down(&mut self, image: &str) -> Result<(), StoryError> {
        self.start(Step::RegistryDown);
        self.registry.stop();
        self.note(
            Step::RegistryDown,
            format!("registry {} stopped", self.registry.host()),
        );
        let message = wait_until!(
            self,
            Step::RegistryDown,
            format!("ImageRepository sock-shop/{POLICY} failing"),
            self.failing(FluxKind::ImageRepository, NS, POLICY, None)
                .await?
        );
        self.check_untouched(Step::RegistryDown, image).await?;
        let table = self.table(FluxKind::ImageRepository, NS).await?;
        self.note(Step::RegistryDown, table);
        self.registry.restart()?;
        wait_until!(
            self,
            Step::RegistryDown,
            format!("ImageRepository sock-shop/{POLICY} Ready again"),
            self.ready(FluxKind::ImageRepository, NS, POLICY).await?
        );
        self.pass(
            Step::RegistryDown,
            format!("reported \"{message}\"; Sock Shop untouched; Ready again once the registry was back"),
        );
        Ok(())
    }

    pub(super) async fn policy_matches_nothing(
        &mut self,
        image: &str,
        tag10: &str,
    ) -> Result<(), StoryError> {
        self.start(Step::PolicyMatchesNothing);
        let file = "apps/overlays/development/sock-shop/policy.yaml";
        let bare = self.served.join("microservices.git");
        let micro_head = git(&bare, &["rev-parse", "main"])?;
        self.fleet.pull()?;
        let policy = self.fleet.read(file)?;
        self.fleet
            .write(file, &policy.replace("'^main-", "'^release-"))?;
        let sha = self
            .fleet
            .commit_and_push("sock-shop: follow release builds")?;
        self.note(
            Step::PolicyMatchesNothing,
            format!("fleet {}: the policy pattern is now '^release-[a-f0-9]+-(?P<build>[0-9]+)'; the registry has only main-* tags", short(&sha)),
        );
        let message = wait_until!(
            self,
            Step::PolicyMatchesNothing,
            format!("ImagePolicy sock-shop/{POLICY} failing"),
            self.failing(FluxKind::ImagePolicy, NS, POLICY, None)
                .await?
        );
        self.check_untouched(Step::PolicyMatchesNothing, image)
            .await?;
        if self.latest_tag().await?.as_deref() != Some(tag10) {
            return Err(StoryError::Check {
                step: Step::PolicyMatchesNothing,
                detail: format!("the policy's latestRef changed from {tag10}"),
            });
        }
        if git(&bare, &["rev-parse", "main"])? != micro_head {
            return Err(StoryError::Check {
                step: Step::PolicyMatchesNothing,
                detail: "the automation committed while the policy matched nothing".into(),
            });
        }
        let table = self.table(FluxKind::ImagePolicy, NS).await?;
        self.note(Step::PolicyMatchesNothing, table);
        let fixed = self.fleet.revert_last()?;
        wait_until!(
            self,
            Step::PolicyMatchesNothing,
            format!("ImagePolicy sock-shop/{POLICY} Ready again"),
            self.ready(FluxKind::ImagePolicy, NS, POLICY).await?
        );
        self.pass(
            Step::PolicyMatchesNothing,
            format!("reported \"{message}\"; latestRef kept {tag10}, no commit, Sock Shop untouched; Ready again after the fleet revert {}", short(&fixed)),
        );
        Ok(())
    }
}
