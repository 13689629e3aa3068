//! Deleting objects a set no longer holds (prune) or all of them (Kustomization deletion), as
//! Flux does: only objects carrying the owner labels, never `prune: disabled` ones, skipping
//! objects already gone; background propagation.

use std::collections::BTreeMap;

use flotilla_api::ObjMetadata;
use futures::StreamExt;
use kube::api::DeleteParams;

use crate::applier::Applier;
use crate::changeset::{Action, ChangeSet, ChangeSetEntry};
use crate::discovery::Lookup;
use crate::error::{is_not_found, ApplyError};
use crate::object::{str_at, subject, PRUNE_ANNOTATION};
use crate::sort::compare;

/// How [`Applier::prune`] deletes.
#[derive(Debug, Clone)]
pub struct PruneOptions {
    /// Only objects whose labels include all of these are deleted (Flux: the owner labels of
    /// the Kustomization); empty deletes regardless of labels.
    pub owner_labels: BTreeMap<String, String>,
    /// Requests in flight at once.
    pub concurrency: usize,
}

impl Default for PruneOptions {
    fn default() -> Self {
        PruneOptions {
            owner_labels: BTreeMap::new(),
            concurrency: 8,
        }
    }
}

impl Applier {
    /// Deletes `objects` (for prune: the previous inventory minus the new one; for a
    /// Kustomization's deletion: its whole inventory) in reverse apply order. Objects already
    /// gone, without the owner labels, or annotated (or labelled)
    /// `kustomize.toolkit.fluxcd.io/prune: disabled` are Skipped. Deletion propagates in the
    /// background; pair with [`Applier::wait_for_termination`] to wait for it. Failures do not
    /// stop the others; they are all reported together.
    pub async fn prune(
        &self,
        objects: &[ObjMetadata],
        opts: &PruneOptions,
    ) -> Result<ChangeSet, ApplyError> {
        let mut sorted = objects.to_vec();
        sorted.sort_by(|a, b| compare(b, a));
        sorted.dedup();
        let results: Vec<Result<ChangeSetEntry, ApplyError>> = futures::stream::iter(&sorted)
            .map(|o| self.delete_one(o, opts))
            .buffered(opts.concurrency.max(1))
            .collect()
            .await;
        let mut changes = ChangeSet::default();
        let mut errors = Vec::new();
        for r in results {
            match r {
                Ok(e) => changes.entries.push(e),
                Err(e) => errors.push(e),
            }
        }
        match errors.len() {
            0 => Ok(changes),
            1 => Err(errors.remove(0)),
            _ => Err(ApplyError::Several(errors)),
        }
    }

    async fn delete_one(
        &self,
        object: &ObjMetadata,
        opts: &PruneOptions,
    ) -> Result<ChangeSetEntry, ApplyError> {
        let entry = |api_version: String, action| ChangeSetEntry {
            object: object.clone(),
            api_version,
            action,
        };
        let resolved = match self
            .discovery
            .resolve_group_kind(&object.group, &object.kind)
            .await
        {
            Ok(Some(r)) => r,
            // The kind is gone (its CRD deleted): so is the object.
            Ok(None) => return Ok(entry(String::new(), Action::Skipped)),
            Err(Lookup::NotServed(m) | Lookup::Failed(m)) => {
                return Err(ApplyError::Discovery {
                    api_version: object.group.clone(),
                    message: m,
                })
            }
        };
        let api_version = resolved.resource.api_version.clone();
        let Some(live) = self.get(&resolved, object).await? else {
            return Ok(entry(api_version, Action::Skipped));
        };
        let owned = opts
            .owner_labels
            .iter()
            .all(|(k, v)| str_at(&live, &["metadata", "labels", k]) == Some(v));
        let disabled = crate::object::has_metadata(&live, PRUNE_ANNOTATION, "disabled");
        if !owned || disabled {
            return Ok(entry(api_version, Action::Skipped));
        }
        let api = self.api(&resolved, &object.namespace);
        match api.delete(&object.name, &DeleteParams::background()).await {
            Ok(_) => Ok(entry(api_version, Action::Deleted)),
            Err(e) if is_not_found(&e) => Ok(entry(api_version, Action::Skipped)),
            Err(e) => Err(ApplyError::request(&subject(object), "delete", e)),
        }
    }
}
