//! Kinds to resources through API discovery, cached; looked up again when a kind is unknown
//! (a CRD may have been installed since) and forgotten after CRDs are applied.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use kube::api::ApiResource;
use kube::core::GroupVersionKind;
use kube::discovery::Scope;
use kube::Client;

use crate::object::{group_of, version_of};

/// A served kind: its resource (plural, version) and scope.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub resource: ApiResource,
    pub namespaced: bool,
}

/// Why a kind could not be resolved.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// The group/version is not served, or serves no such kind.
    NotServed(String),
    /// Discovery failed (network, server error).
    Failed(String),
}

type Key = (String, String);

/// Cache of discovery answers; only positive answers are kept, so an unknown kind is looked up
/// again next time.
pub(crate) struct DiscoveryCache {
    client: Client,
    by_version: RwLock<HashMap<Key, Arc<Resolved>>>,
    by_group: RwLock<HashMap<Key, Arc<Resolved>>>,
}

fn classify(err: kube::Error) -> Lookup {
    match err {
        kube::Error::Api(s) if s.is_not_found() => Lookup::NotServed(s.message.clone()),
        kube::Error::Discovery(e) => Lookup::NotServed(e.to_string()),
        other => Lookup::Failed(other.to_string()),
    }
}

impl DiscoveryCache {
    pub fn new(client: Client) -> Self {
        DiscoveryCache {
            client,
            by_version: RwLock::default(),
            by_group: RwLock::default(),
        }
    }

    /// The resource serving `kind` at `api_version`.
    pub async fn resolve(&self, api_version: &str, kind: &str) -> Result<Arc<Resolved>, Lookup> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(r) = self
            .by_version
            .read()
            .ok()
            .and_then(|m| m.get(&key).cloned())
        {
            return Ok(r);
        }
        let gvk = GroupVersionKind::gvk(group_of(api_version), version_of(api_version), kind);
        let (resource, caps) = kube::discovery::pinned_kind(&self.client, &gvk)
            .await
            .map_err(classify)?;
        let resolved = Arc::new(Resolved {
            resource,
            namespaced: caps.scope == Scope::Namespaced,
        });
        if let Ok(mut m) = self.by_version.write() {
            m.insert(key, resolved.clone());
        }
        Ok(resolved)
    }

    /// The resource serving `kind` of `group` at the group's preferred version; `None` when
    /// the group or kind is not served (anymore).
    pub async fn resolve_group_kind(
        &self,
        group: &str,
        kind: &str,
    ) -> Result<Option<Arc<Resolved>>, Lookup> {
        let key = (group.to_string(), kind.to_string());
        if let Some(r) = self.by_group.read().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(Some(r));
        }
        let api_group = match kube::discovery::group(&self.client, group).await {
            Ok(g) => g,
            Err(e) => {
                return match classify(e) {
                    Lookup::NotServed(_) => Ok(None),
                    failed => Err(failed),
                }
            }
        };
        let Some((resource, caps)) = api_group.recommended_kind(kind) else {
            return Ok(None);
        };
        let resolved = Arc::new(Resolved {
            resource,
            namespaced: caps.scope == Scope::Namespaced,
        });
        if let Ok(mut m) = self.by_group.write() {
            m.insert(key, resolved.clone());
        }
        Ok(Some(resolved))
    }

    /// Forgets every answer for `groups` (after their CRDs changed: versions may differ).
    pub fn forget_groups(&self, groups: &[String]) {
        if let Ok(mut m) = self.by_version.write() {
            m.retain(|(v, _), _| !groups.iter().any(|g| g == group_of(v)));
        }
        if let Ok(mut m) = self.by_group.write() {
            m.retain(|(g, _), _| !groups.contains(g));
        }
    }
}
