//! Reading a Receiver's token and asking for reconciles of its resources by setting
//! `reconcile.fluxcd.io/requestedAt` on each.

use flotilla_api::Receiver;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ApiResource, DynamicObject, ListParams, Patch, PatchParams};
use kube::core::GroupVersionKind;
use kube::ResourceExt;
use serde_json::json;

use super::{webhook_path, ReceiverError};
use crate::provider::secret_data;

/// The annotation that asks a toolkit controller to reconcile now.
pub const REQUESTED_AT_ANNOTATION: &str = "reconcile.fluxcd.io/requestedAt";

/// The API version used for a resource kind given without `apiVersion`.
pub fn default_api_version(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "GitRepository" | "Bucket" | "HelmRepository" | "HelmChart" | "OCIRepository" => {
            "source.toolkit.fluxcd.io/v1"
        }
        "ExternalArtifact" => "source.toolkit.fluxcd.io/v1",
        "ArtifactGenerator" => "source.extensions.fluxcd.io/v1beta1",
        "Kustomization" => "kustomize.toolkit.fluxcd.io/v1",
        "HelmRelease" => "helm.toolkit.fluxcd.io/v2",
        "ImageRepository" | "ImagePolicy" | "ImageUpdateAutomation" => "image.toolkit.fluxcd.io/v1",
        _ => return None,
    })
}

fn id(receiver: &Receiver) -> String {
    format!(
        "{}/{}",
        receiver.namespace().unwrap_or_default(),
        receiver.name_any()
    )
}

/// The `token` of the Receiver's Secret.
pub async fn receiver_token(
    client: &kube::Client,
    receiver: &Receiver,
) -> Result<String, ReceiverError> {
    let namespace = receiver.namespace().unwrap_or_default();
    let secret_name = receiver
        .spec
        .secret_ref
        .as_ref()
        .map(|r| r.name.clone())
        .ok_or_else(|| ReceiverError::NoSecretRef {
            receiver: id(receiver),
        })?;
    let api: Api<Secret> = Api::namespaced(client.clone(), &namespace);
    let secret = api
        .get_opt(&secret_name)
        .await
        .map_err(|source| ReceiverError::Kube {
            what: format!("reading Secret {namespace}/{secret_name}"),
            source,
        })?
        .ok_or_else(|| ReceiverError::SecretNotFound {
            receiver: id(receiver),
            secret: secret_name.clone(),
        })?;
    secret_data(&secret)
        .get("token")
        .and_then(|t| String::from_utf8(t.clone()).ok())
        .filter(|t| !t.is_empty())
        .ok_or(ReceiverError::NoToken {
            receiver: id(receiver),
            secret: secret_name,
        })
}

/// The Receiver's webhook path (for `status.webhookPath`), from its current token.
pub async fn receiver_webhook_path(
    client: &kube::Client,
    receiver: &Receiver,
) -> Result<String, ReceiverError> {
    let token = receiver_token(client, receiver).await?;
    Ok(webhook_path(
        &token,
        &receiver.name_any(),
        &receiver.namespace().unwrap_or_default(),
    ))
}

/// Which resources were annotated.
#[derive(Debug, Default)]
pub struct ReconcileReport {
    /// `Kind namespace/name` of each annotated object.
    pub annotated: Vec<String>,
    /// One error per resource entry that could not be handled (the others still are).
    pub errors: Vec<ReceiverError>,
}

/// Sets `reconcile.fluxcd.io/requestedAt = requested_at` on every object listed in
/// `spec.resources` (by name, or `*` with `matchLabels`; in the Receiver's namespace when the
/// entry names none).
pub async fn request_reconcile(
    client: &kube::Client,
    receiver: &Receiver,
    requested_at: &str,
) -> ReconcileReport {
    let mut report = ReconcileReport::default();
    let default_namespace = receiver.namespace().unwrap_or_default();
    let patch = json!({"metadata": {"annotations": {REQUESTED_AT_ANNOTATION: requested_at}}});
    for resource in &receiver.spec.resources {
        let namespace = resource
            .namespace
            .clone()
            .unwrap_or_else(|| default_namespace.clone());
        let Some(api_version) = resource
            .api_version
            .clone()
            .or_else(|| default_api_version(&resource.kind).map(str::to_string))
        else {
            report.errors.push(ReceiverError::UnknownKind {
                receiver: id(receiver),
                kind: resource.kind.clone(),
            });
            continue;
        };
        let (group, version) = api_version
            .split_once('/')
            .unwrap_or(("", api_version.as_str()));
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, &resource.kind));
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &ar);
        let names = if resource.name == "*" {
            let Some(labels) = resource.match_labels.as_ref() else {
                report.errors.push(ReceiverError::WildcardWithoutLabels {
                    receiver: id(receiver),
                    kind: resource.kind.clone(),
                });
                continue;
            };
            let selector = labels
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",");
            match api.list(&ListParams::default().labels(&selector)).await {
                Ok(list) => list.items.iter().map(ResourceExt::name_any).collect(),
                Err(source) => {
                    report.errors.push(ReceiverError::Kube {
                        what: format!(
                            "listing {} in {namespace} with labels {selector}",
                            resource.kind
                        ),
                        source,
                    });
                    continue;
                }
            }
        } else {
            vec![resource.name.clone()]
        };
        for name in names {
            match api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => report
                    .annotated
                    .push(format!("{} {namespace}/{name}", resource.kind)),
                Err(source) => report.errors.push(ReceiverError::Kube {
                    what: format!("annotating {} {namespace}/{name}", resource.kind),
                    source,
                }),
            }
        }
    }
    report
}
