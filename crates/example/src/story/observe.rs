//! What the story looks at: objects' Ready conditions and revisions, the Sock Shop's Deployments, `flotilla get` tables; and CI's image push.

use flotilla_image::push::{push_image, PushImage};
use flotilla_image::{Credentials, ImageName, RegistryOptions};
use flotilla_ops::get::{headers, ready_and_message, row};
use flotilla_ops::FluxKind;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, DynamicObject, ListParams};
use serde_json::{json, Value};

use super::*;

impl Story<'_> {
    pub(super) async fn push_build(&self, tag: &str) -> Result<String, StoryError> {
        let name = ImageName::parse(&self.image_name()).map_err(|e| StoryError::Check {
            step: Step::CiPush,
            detail: e.to_string(),
        })?;
        let image = PushImage {
            config: json!({"architecture": "amd64", "os": "linux",
                "config": {"Labels": {"org.opencontainers.image.version": tag}}})
            .to_string()
            .into_bytes(),
            layers: vec![format!("front-end {tag}\n").into_bytes()],
        };
        let opts = RegistryOptions {
            credentials: Credentials::Anonymous,
            insecure: true,
            ..RegistryOptions::default()
        };
        Ok(push_image(&name, tag, &image, &opts).await?)
    }

    pub(super) async fn status_of(
        &self,
        kind: FluxKind,
        ns: &str,
        name: &str,
    ) -> Result<Value, StoryError> {
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), ns, &kind.api_resource());
        let obj = api
            .get_opt(name)
            .await
            .map_err(kube_err(&format!("reading {} {ns}/{name}", kind.kind())))?;
        Ok(obj
            .and_then(|o| serde_json::to_value(o).ok())
            .unwrap_or(Value::Null))
    }

    /// Ready=True for the current generation.
    pub(super) async fn ready(
        &self,
        kind: FluxKind,
        ns: &str,
        name: &str,
    ) -> Result<Seen<()>, StoryError> {
        let obj = self.status_of(kind, ns, name).await?;
        if obj.is_null() {
            return Ok(Err("not created yet".into()));
        }
        let (status, message) = ready_and_message(&obj);
        let current = obj["status"]["observedGeneration"] == obj["metadata"]["generation"];
        Ok(if status == "True" && current {
            Ok(())
        } else {
            Err(format!("Ready={status}: {message}"))
        })
    }

    /// Ready=True with `revision` applied (Kustomization) or fetched (GitRepository).
    pub(super) async fn applied(
        &self,
        kind: FluxKind,
        ns: &str,
        name: &str,
        revision: &str,
    ) -> Result<Seen<()>, StoryError> {
        if let Err(last) = self.ready(kind, ns, name).await? {
            return Ok(Err(last));
        }
        let obj = self.status_of(kind, ns, name).await?;
        let got = match kind {
            FluxKind::GitRepository => obj["status"]["artifact"]["revision"].as_str(),
            _ => obj["status"]["lastAppliedRevision"].as_str(),
        };
        Ok(if got == Some(revision) {
            Ok(())
        } else {
            Err(format!("Ready at {}", got.unwrap_or("nothing")))
        })
    }

    /// Ready=False (at `revision`, when given); returns the condition's message.
    pub(super) async fn failing(
        &self,
        kind: FluxKind,
        ns: &str,
        name: &str,
        revision: Option<&str>,
    ) -> Result<Seen<String>, StoryError> {
        let obj = self.status_of(kind, ns, name).await?;
        let (status, message) = ready_and_message(&obj);
        let at = obj["status"]["lastAttemptedRevision"].as_str();
        Ok(
            if status == "False" && revision.is_none_or(|r| at == Some(r)) {
                Ok(message)
            } else {
                Err(format!("Ready={status}: {message}"))
            },
        )
    }

    pub(super) async fn latest_tag(&self) -> Result<Option<String>, StoryError> {
        let obj = self.status_of(FluxKind::ImagePolicy, NS, POLICY).await?;
        Ok(obj["status"]["latestRef"]["tag"]
            .as_str()
            .map(str::to_string))
    }

    /// All 14 Deployments with every replica available.
    pub(super) async fn deployments_available(&self) -> Result<Seen<usize>, StoryError> {
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), NS);
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(kube_err("listing Deployments in sock-shop"))?;
        let total = list.items.len();
        let available = list
            .items
            .iter()
            .filter(|d| {
                let want = d.spec.replicas.unwrap_or(1);
                let status = d.status.as_ref();
                status.and_then(|s| s.available_replicas).unwrap_or(0) >= want
                    && status.and_then(|s| s.updated_replicas).unwrap_or(0) >= want
                    && status.and_then(|s| s.observed_generation) == d.metadata.generation
            })
            .count();
        Ok(if total == DEPLOYMENTS && available == DEPLOYMENTS {
            Ok(available)
        } else {
            Err(format!("{available} of {total} Deployments available"))
        })
    }

    pub(super) async fn front_end_image(&self) -> Result<String, StoryError> {
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), NS);
        let d = api
            .get("front-end")
            .await
            .map_err(kube_err("reading Deployment sock-shop/front-end"))?;
        Ok(d.spec
            .template
            .spec
            .and_then(|s| s.containers.first().and_then(|c| c.image.clone()))
            .unwrap_or_default())
    }

    /// The running Sock Shop is as the last good revision left it.
    pub(super) async fn check_untouched(&self, step: Step, image: &str) -> Result<(), StoryError> {
        if let Err(seen) = self.deployments_available().await? {
            return Err(StoryError::Check {
                step,
                detail: format!("the running Sock Shop was harmed: {seen}"),
            });
        }
        let now = self.front_end_image().await?;
        if now != image {
            return Err(StoryError::Check {
                step,
                detail: format!("the front-end image changed from {image} to {now}"),
            });
        }
        Ok(())
    }

    /// `flotilla get <kind> -n <ns>` as the CLI prints it.
    pub(super) async fn table(&self, kind: FluxKind, ns: &str) -> Result<String, StoryError> {
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), ns, &kind.api_resource());
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(kube_err(&format!("listing {} in {ns}", kind.plural())))?;
        let rows: Vec<Vec<String>> = list
            .items
            .iter()
            .filter_map(|o| serde_json::to_value(o).ok())
            .map(|o| row(kind, &o, false, false))
            .collect();
        Ok(format!(
            "$ flotilla get {} -n {ns}\n{}",
            flotilla_ops::reconcile::cli_words(kind),
            flotilla_ops::table::render(&headers(kind, false), &rows).trim_end()
        ))
    }
}
