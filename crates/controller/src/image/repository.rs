//! The ImageRepository reconciler: credentials (secretRef, provider), TLS (certSecretRef, insecure), one tag scan into the tag store per interval, `status.lastScanResult`.

use std::future::Future;
use std::time::Duration;

use flotilla_api::condition::{reasons, types};
use flotilla_api::image::{ImageRepository, ScanResult};
use flotilla_image::{
    resolve_credentials, scan, Credentials, CredentialsError, DockerConfig, EcrTokenCache,
    ImageName, Provider, RegistryClient, RegistryOptions, ScanOptions, TagStore, DEFAULT_EXCLUSION,
};
use flotilla_source::redact;
use kube::api::{Api, ListParams};
use kube::ResourceExt;

use super::{now, secret_data};
use crate::runtime::{EventNote, Failure, Reconciler, Success};

/// Scans ImageRepositories into a [`TagStore`].
pub struct ImageRepositoryReconciler {
    client: kube::Client,
    store: TagStore,
    ecr: Option<EcrTokenCache>,
}

impl ImageRepositoryReconciler {
    /// A reconciler keeping tags in `store`; ECR logins (`provider: aws`) use `ecr`, one token
    /// cache per process (`None` when the AWS client could not be built: such objects fail
    /// with that message).
    pub fn new(
        client: kube::Client,
        store: TagStore,
        ecr: Option<EcrTokenCache>,
    ) -> ImageRepositoryReconciler {
        ImageRepositoryReconciler { client, store, ecr }
    }
}

impl Reconciler for ImageRepositoryReconciler {
    type Object = ImageRepository;

    fn controller_name(&self) -> &'static str {
        "image-reflector-controller"
    }

    fn reconcile<'a>(
        &'a self,
        obj: &'a mut ImageRepository,
    ) -> impl Future<Output = Result<Success, Failure>> + Send + 'a {
        self.scan(obj)
    }

    // The finalizer lets a deleted repository's stored tags go with it.
    fn uses_finalizer(&self) -> bool {
        true
    }

    fn finalize<'a>(
        &'a self,
        obj: &'a ImageRepository,
    ) -> impl Future<Output = Result<(), Failure>> + Send + 'a {
        self.forget(obj)
    }
}

impl ImageRepositoryReconciler {
    /// Removes the deleted repository's tags from the store, unless another ImageRepository
    /// that is not being deleted scans the same image (tags are stored per canonical name).
    async fn forget(&self, obj: &ImageRepository) -> Result<(), Failure> {
        let Ok(image) = ImageName::parse(&obj.spec.image) else {
            // Never scanned: nothing was stored.
            return Ok(());
        };
        let canonical = image.canonical();
        let all: Api<ImageRepository> = Api::all(self.client.clone());
        // Without the list (a namespace-scoped install may not be allowed it) the tags stay: a
        // stray file is cheaper than a deletion blocked on the finalizer.
        let others = match all.list(&ListParams::default()).await {
            Ok(list) => list,
            Err(e) => {
                tracing::warn!(
                    image = %canonical,
                    error = %redact(&e.to_string()),
                    "stored tags kept: cannot list ImageRepositories to see whether the image is still scanned"
                );
                return Ok(());
            }
        };
        let shared = others.items.iter().any(|o| {
            o.metadata.deletion_timestamp.is_none()
                && o.uid() != obj.uid()
                && ImageName::parse(&o.spec.image).is_ok_and(|i| i.canonical() == canonical)
        });
        if shared {
            tracing::debug!(image = %canonical, "tags kept: another ImageRepository scans this image");
            return Ok(());
        }
        self.store
            .remove(&canonical)
            .map_err(|e| Failure::retry(types::STORAGE_OPERATION_FAILED, e.to_string()))?;
        tracing::info!(image = %canonical, "stored tags removed");
        Ok(())
    }

    async fn scan(&self, obj: &mut ImageRepository) -> Result<Success, Failure> {
        let ns = obj.namespace().unwrap_or_default();
        let image = ImageName::parse(&obj.spec.image).map_err(|e| {
            Failure::stalled(reasons::IMAGE_URL_INVALID, format!("spec.image: {e}"))
        })?;
        let canonical = image.canonical();
        let status = obj.status.get_or_insert_with(Default::default);
        status.canonical_image_name = Some(canonical.clone());
        let provider = Provider::parse(obj.spec.provider.as_deref())
            .map_err(|e| Failure::stalled(reasons::AUTHENTICATION_FAILED, e.to_string()))?;
        let interval = obj
            .spec
            .interval
            .to_std()
            .map_err(|e| Failure::stalled(reasons::FAILED, format!("spec.interval: {e}")))?;
        let timeout = match &obj.spec.timeout {
            Some(t) => t
                .to_std()
                .map_err(|e| Failure::stalled(reasons::FAILED, format!("spec.timeout: {e}")))?,
            None => interval,
        }
        .max(Duration::from_secs(1));

        let docker = match &obj.spec.secret_ref {
            None => None,
            Some(r) => {
                let data = secret_data(&self.client, &ns, &r.name, "spec.secretRef")
                    .await
                    .map_err(|m| Failure::retry(reasons::AUTHENTICATION_FAILED, m))?;
                Some(
                    DockerConfig::from_secret(&format!("{ns}/{}", r.name), &data).map_err(|e| {
                        Failure::retry(reasons::AUTHENTICATION_FAILED, e.to_string())
                    })?,
                )
            }
        };
        let ca_pem = match &obj.spec.cert_secret_ref {
            None => None,
            Some(r) => {
                let data = secret_data(&self.client, &ns, &r.name, "spec.certSecretRef")
                    .await
                    .map_err(|m| Failure::retry(reasons::AUTHENTICATION_FAILED, m))?;
                let ca = data.get("ca.crt").or_else(|| data.get("caFile")).cloned();
                Some(ca.ok_or_else(|| {
                    Failure::retry(
                        reasons::AUTHENTICATION_FAILED,
                        format!(
                            "spec.certSecretRef: secret '{ns}/{}' has no 'ca.crt' key",
                            r.name
                        ),
                    )
                })?)
            }
        };
        // As Flux, the secret wins over the provider.
        let credentials = match (&docker, provider, &self.ecr) {
            (Some(cfg), _, _) => cfg.credentials_for(&image),
            (None, Provider::Generic, _) => Credentials::Anonymous,
            (None, Provider::Aws, None) => {
                return Err(Failure::retry(
                    reasons::AUTHENTICATION_FAILED,
                    "provider 'aws': the AWS client could not be set up in this process",
                ))
            }
            (None, _, Some(ecr)) => resolve_credentials(provider, &image, None, ecr)
                .await
                .map_err(|e| {
                    let msg = redact(&e.to_string());
                    match e {
                        CredentialsError::Aws(_) => {
                            Failure::retry(reasons::AUTHENTICATION_FAILED, msg)
                        }
                        _ => Failure::stalled(reasons::AUTHENTICATION_FAILED, msg),
                    }
                })?,
            (None, p, None) => {
                return Err(Failure::stalled(
                    reasons::AUTHENTICATION_FAILED,
                    format!("spec.provider '{p}' is not supported yet; use a secretRef with registry credentials"),
                ))
            }
        };

        let registry = RegistryClient::new(
            image,
            RegistryOptions {
                credentials,
                insecure: obj.spec.insecure.unwrap_or(false),
                ca_pem,
                timeout,
                ..RegistryOptions::default()
            },
        )
        .map_err(|e| Failure::retry(e.reason(), redact(&e.to_string())))?;
        let exclusion_list = obj
            .spec
            .exclusion_list
            .clone()
            .unwrap_or_else(|| vec![DEFAULT_EXCLUSION.to_string()]);
        let options = ScanOptions {
            exclusion_list: exclusion_list.clone(),
            timeout,
        };
        // A failed scan leaves the store and `lastScanResult` as they were.
        let summary = scan(&registry, &self.store, &options).await.map_err(|e| {
            let msg = redact(&e.to_string());
            if e.is_stalling() {
                Failure::stalled(e.reason(), msg)
            } else {
                Failure::retry(e.reason(), msg)
            }
        })?;

        let status = obj.status.get_or_insert_with(Default::default);
        let changed = status
            .last_scan_result
            .as_ref()
            .and_then(|r| r.revision.as_deref())
            != Some(summary.revision.as_str());
        status.last_scan_result = Some(ScanResult {
            revision: Some(summary.revision.clone()),
            tag_count: summary.tag_count as i64,
            scan_time: Some(now()),
            latest_tags: Some(summary.latest_tags.clone()),
        });
        status.observed_exclusion_list = Some(exclusion_list);
        let message = format!("successful scan: found {} tags", summary.tag_count);
        let success = Success::new(reasons::SUCCEEDED, &message);
        Ok(if changed {
            success.with_event(EventNote::normal(reasons::SUCCEEDED, &message))
        } else {
            success
        })
    }
}
