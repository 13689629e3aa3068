//! Kustomization inventory: entries `{id, v}` with ids `<namespace>_<name>_<group>_<kind>` encoded
//! and parsed as Flux (cli-utils `ObjMetadata`) does.

use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The objects a Kustomization applied.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ResourceInventory {
    /// One entry per object.
    pub entries: Vec<ResourceRef>,
}

/// One applied object: its id and API version.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ResourceRef {
    /// `<namespace>_<name>_<group>_<kind>` (see [`ObjMetadata`]).
    pub id: String,
    /// API version of the object's kind (`v1`, `apps/v1`, …).
    pub v: String,
}

impl ResourceRef {
    /// An entry for `object` at `api_version`.
    pub fn new(object: &ObjMetadata, api_version: impl Into<String>) -> Self {
        ResourceRef {
            id: object.to_string(),
            v: api_version.into(),
        }
    }

    /// The object identity in [`ResourceRef::id`].
    pub fn object(&self) -> Result<ObjMetadata, InventoryError> {
        ObjMetadata::parse(&self.id)
    }
}

/// Why an inventory id could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InventoryError {
    /// Fewer than four `_`-separated fields.
    #[error("inventory id {0:?} is not <namespace>_<name>_<group>_<kind>")]
    Fields(String),
    /// An `_` left in the name after decoding `__`: more than four fields.
    #[error("inventory id {0:?} has too many fields; names cannot contain '_'")]
    TooManyFields(String),
    /// Empty name or kind.
    #[error("inventory id {0:?} has an empty name or kind")]
    Empty(String),
}

/// The RBAC kinds whose names may contain `:`, which ids write as `__`.
const RBAC_GROUP: &str = "rbac.authorization.k8s.io";
const RBAC_KINDS: [&str; 4] = ["Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"];

/// The identity of an object in an inventory: namespace, name, group and kind (no version: the
/// API server treats versions of a kind as one resource).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjMetadata {
    /// Namespace; empty for cluster-scoped objects.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// API group; empty for the core group.
    pub group: String,
    /// Kind.
    pub kind: String,
}

impl ObjMetadata {
    /// An identity; `group` is the group part of an apiVersion (`apps`, or empty for `v1`).
    pub fn new(
        namespace: impl Into<String>,
        name: impl Into<String>,
        group: impl Into<String>,
        kind: impl Into<String>,
    ) -> Self {
        ObjMetadata {
            namespace: namespace.into(),
            name: name.into(),
            group: group.into(),
            kind: kind.into(),
        }
    }

    /// The identity of an object given its `apiVersion` (`apps/v1` or `v1`).
    pub fn from_api_version(namespace: &str, name: &str, api_version: &str, kind: &str) -> Self {
        let group = api_version.rsplit_once('/').map_or("", |(g, _)| g);
        ObjMetadata::new(namespace, name, group, kind)
    }

    /// Parses an id: namespace up to the first `_`, kind after the last, group before that, and
    /// the rest the name with `__` decoded to `:`.
    pub fn parse(id: &str) -> Result<Self, InventoryError> {
        let fields = || InventoryError::Fields(id.to_string());
        let (namespace, rest) = id.split_once('_').ok_or_else(fields)?;
        let (rest, kind) = rest.rsplit_once('_').ok_or_else(fields)?;
        let (name, group) = rest.rsplit_once('_').ok_or_else(fields)?;
        let name = name.replace("__", ":");
        if name.contains('_') {
            return Err(InventoryError::TooManyFields(id.to_string()));
        }
        let (name, kind) = (name.trim(), kind.trim());
        if name.is_empty() || kind.is_empty() {
            return Err(InventoryError::Empty(id.to_string()));
        }
        Ok(ObjMetadata::new(namespace.trim(), name, group.trim(), kind))
    }

    fn is_rbac(&self) -> bool {
        self.group == RBAC_GROUP && RBAC_KINDS.contains(&self.kind.as_str())
    }
}

impl fmt::Display for ObjMetadata {
    /// The inventory id; `:` in RBAC names is written `__`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = if self.is_rbac() {
            self.name.replace(':', "__")
        } else {
            self.name.clone()
        };
        write!(
            f,
            "{}_{}_{}_{}",
            self.namespace, name, self.group, self.kind
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_flux() {
        let cases = [
            (
                ObjMetadata::new("default", "web", "apps", "Deployment"),
                "default_web_apps_Deployment",
            ),
            (
                ObjMetadata::new("", "sock-shop", "", "Namespace"),
                "_sock-shop__Namespace",
            ),
            (
                ObjMetadata::new(
                    "",
                    "system:auth-delegator",
                    RBAC_GROUP,
                    "ClusterRoleBinding",
                ),
                "_system__auth-delegator_rbac.authorization.k8s.io_ClusterRoleBinding",
            ),
            (
                ObjMetadata::new(
                    "kube-system",
                    "kubeadm:nodes-kubeadm-config",
                    RBAC_GROUP,
                    "Role",
                ),
                "kube-system_kubeadm__nodes-kubeadm-config_rbac.authorization.k8s.io_Role",
            ),
        ];
        for (obj, id) in cases {
            assert_eq!(obj.to_string(), id);
            assert_eq!(ObjMetadata::parse(id), Ok(obj));
        }
    }

    #[test]
    fn group_from_api_version() {
        assert_eq!(
            ObjMetadata::from_api_version("ns", "a", "apps/v1", "Deployment").to_string(),
            "ns_a_apps_Deployment"
        );
        assert_eq!(
            ObjMetadata::from_api_version("ns", "a", "v1", "ConfigMap").to_string(),
            "ns_a__ConfigMap"
        );
    }

    #[test]
    fn refuses_malformed_ids() {
        assert!(matches!(
            ObjMetadata::parse("nounderscore"),
            Err(InventoryError::Fields(_))
        ));
        assert!(matches!(
            ObjMetadata::parse("a_b"),
            Err(InventoryError::Fields(_))
        ));
        assert!(matches!(
            ObjMetadata::parse("ns_my_name_apps_Deployment"),
            Err(InventoryError::TooManyFields(_))
        ));
        assert!(matches!(
            ObjMetadata::parse("ns__apps_Deployment"),
            Err(InventoryError::Empty(_))
        ));
    }
}
