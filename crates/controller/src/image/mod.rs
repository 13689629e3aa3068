//! The image automation reconcilers (image-reflector-controller and image-automation-controller's jobs): registry scans, tag policies, commits of updated tags.
//!
//! - [`ImageRepositoryReconciler`] scans a registry repository on its interval into a
//!   [`flotilla_image::TagStore`] under `<storage_path>/image/tags` (tags never go to etcd)
//!   and publishes `status.lastScanResult`; its finalizer removes the stored tags when the
//!   last ImageRepository scanning that image is deleted.
//! - [`ImagePolicyReconciler`] picks the latest tag from the stored scan; it follows its
//!   ImageRepository (run with [`crate::runtime::spawn_following`]) so every new scan
//!   re-evaluates it at once.
//! - [`ImageUpdateAutomationReconciler`] rewrites `$imagepolicy`-marked values in the
//!   GitRepository's branch, commits and pushes; it follows the ImagePolicies it selects
//!   (their `latestRef`) and its GitRepository (its artifact revision), and after a push asks
//!   the GitRepository to fetch at once (`reconcile.fluxcd.io/requestedAt`).
//!
//! Flux v1beta2's `status.latestImage` is not written: Flux's v1 CRD (and ours, kept equal to
//! it) has no such field, so the API server would prune it, or refuse the status write under
//! strict field validation. `latestRef` carries the same data.

mod automation;
mod policy;
mod repository;

use std::collections::BTreeMap;
use std::path::Path;

use k8s_openapi::api::core::v1::Secret;
use kube::api::Api;

pub use automation::ImageUpdateAutomationReconciler;
pub use policy::ImagePolicyReconciler;
pub use repository::ImageRepositoryReconciler;

/// Where the tag store lives under the storage path.
pub fn tag_store_dir(storage_path: &Path) -> std::path::PathBuf {
    storage_path.join("image").join("tags")
}

/// A Secret's data (`data` and `stringData` merged). The error names the secret, never a value.
async fn secret_data(
    client: &kube::Client,
    ns: &str,
    name: &str,
    field: &str,
) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    let secret = match secrets.get_opt(name).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(format!("{field}: secret '{ns}/{name}' not found")),
        Err(e) => {
            return Err(format!(
                "{field}: cannot read secret '{ns}/{name}': {}",
                flotilla_source::redact(&e.to_string())
            ))
        }
    };
    Ok(crate::runtime::secret_bytes(secret))
}

/// Now as a Kubernetes timestamp.
fn now() -> k8s_openapi::apimachinery::pkg::apis::meta::v1::Time {
    k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::now())
}
