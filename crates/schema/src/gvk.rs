//! Group/version/kind names and the scope of each built-in kind.

use std::collections::HashMap;
use std::fmt;
use std::sync::OnceLock;

use crate::schema::{kubernetes_index, KUBERNETES_V1_21_2};

/// An object's `apiVersion` and `kind` split into group, version and kind.
///
/// The core group is the empty string: `v1` has group `""` and version `"v1"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Gvk {
    /// API group, `""` for the core group (`v1`).
    pub group: String,
    /// API version within the group, e.g. `v1`, `v1beta2`.
    pub version: String,
    /// Kind, e.g. `Deployment`.
    pub kind: String,
}

impl Gvk {
    /// Splits `apiVersion` at its first `/`: `apps/v1` is group `apps`, version `v1`;
    /// `v1` (no slash) is the core group.
    pub fn from_api_version(api_version: &str, kind: &str) -> Gvk {
        let (group, version) = split_api_version(api_version);
        Gvk {
            group: group.to_string(),
            version: version.to_string(),
            kind: kind.to_string(),
        }
    }

    /// The `apiVersion` string: `group/version`, or just `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

impl fmt::Display for Gvk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.group.is_empty() {
            write!(f, "{}/{}", self.version, self.kind)
        } else {
            write!(f, "{}/{}/{}", self.group, self.version, self.kind)
        }
    }
}

/// Splits an `apiVersion` into `(group, version)` without allocating.
pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    }
}

/// Whether objects of a kind live in a namespace or at cluster level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Objects live in a namespace (`metadata.namespace`).
    Namespaced,
    /// Objects are cluster-wide; `metadata.namespace` is not used.
    Cluster,
}

impl Scope {
    /// The spelling used by CRDs and API discovery: `Namespaced` or `Cluster`.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Namespaced => "Namespaced",
            Scope::Cluster => "Cluster",
        }
    }

    /// Parses `Namespaced` / `Cluster` (CRD `spec.scope` spelling).
    pub fn parse(s: &str) -> Option<Scope> {
        match s {
            "Namespaced" => Some(Scope::Namespaced),
            "Cluster" => Some(Scope::Cluster),
            _ => None,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One built-in kind of the embedded Kubernetes v1.21.2 schema that has a scope
/// (a storable object, not an options or list type).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinKind {
    /// `apiVersion`, e.g. `apps/v1` or `v1`.
    pub api_version: &'static str,
    /// Kind, e.g. `Deployment`.
    pub kind: &'static str,
    /// Namespaced or cluster-scoped.
    pub scope: Scope,
}

/// The `resources` index of the embedded schema, read on its own.
///
/// Scope lookups are on every build's hot path (kustomize asks for each object), while the
/// type definitions are needed only for patches and validation; reading just the index
/// skips building ~600 definitions, which dominated a small `flotilla kustomize` run.
struct KindIndex {
    kinds: Vec<BuiltinKind>,
    scopes: HashMap<(&'static str, &'static str), Scope>,
}

fn kind_index() -> &'static KindIndex {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Entry {
        api_version: String,
        kind: String,
        #[serde(default)]
        scope: Option<String>,
    }
    static INDEX: OnceLock<KindIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let listed = kubernetes_index()
            .resources
            .clone()
            .map(|r| &KUBERNETES_V1_21_2[r]);
        let index: Vec<Entry> = serde_json::from_str(listed.unwrap_or("[]"))
            .expect("the embedded Kubernetes schema parses (checked by unit tests)");
        let mut kinds: Vec<BuiltinKind> = index
            .into_iter()
            .filter_map(|e| {
                let scope = Scope::parse(e.scope.as_deref()?)?;
                // Leaked once per process: the table lives as long as the program.
                Some(BuiltinKind {
                    api_version: Box::leak(e.api_version.into_boxed_str()),
                    kind: Box::leak(e.kind.into_boxed_str()),
                    scope,
                })
            })
            .collect();
        kinds.sort_by_key(|k| (k.api_version, k.kind));
        kinds.dedup_by_key(|k| (k.api_version, k.kind));
        let scopes = kinds
            .iter()
            .map(|k| ((k.api_version, k.kind), k.scope))
            .collect();
        KindIndex { kinds, scopes }
    })
}

/// Every scoped kind of the embedded Kubernetes v1.21.2 schema, sorted by
/// `(apiVersion, kind)`.
pub fn builtin_kinds() -> &'static [BuiltinKind] {
    &kind_index().kinds
}

/// Scope of a built-in kind, or `None` when the kind is not built in (a custom resource,
/// or an `apiVersion` Kubernetes v1.21 does not serve).
pub fn builtin_scope(api_version: &str, kind: &str) -> Option<Scope> {
    kind_index().scopes.get(&(api_version, kind)).copied()
}

/// Scope of a built-in group and kind in any version (`""` is the core group): answers for
/// versions newer than v1.21 too (`autoscaling/v2` HorizontalPodAutoscaler), since a kind
/// keeps its scope across versions.
pub fn builtin_group_kind_scope(group: &str, kind: &str) -> Option<Scope> {
    builtin_kinds()
        .iter()
        .find(|k| k.kind == kind && split_api_version(k.api_version).0 == group)
        .map(|k| k.scope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_version_round_trip() {
        let g = Gvk::from_api_version("apps/v1", "Deployment");
        assert_eq!((g.group.as_str(), g.version.as_str()), ("apps", "v1"));
        assert_eq!(g.api_version(), "apps/v1");
        let core = Gvk::from_api_version("v1", "ConfigMap");
        assert_eq!(core.group, "");
        assert_eq!(core.api_version(), "v1");
        assert_eq!(core.to_string(), "v1/ConfigMap");
    }

    #[test]
    fn scopes_of_builtin_kinds() {
        assert_eq!(builtin_scope("v1", "Namespace"), Some(Scope::Cluster));
        assert_eq!(
            builtin_scope("apps/v1", "Deployment"),
            Some(Scope::Namespaced)
        );
        assert_eq!(
            builtin_scope("rbac.authorization.k8s.io/v1", "ClusterRole"),
            Some(Scope::Cluster)
        );
        assert_eq!(
            builtin_scope("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
            Some(Scope::Cluster)
        );
        assert_eq!(builtin_scope("v1", "Service"), Some(Scope::Namespaced));
        assert_eq!(builtin_scope("apps/v1beta1", "Deployment"), None);
        assert_eq!(
            builtin_scope("source.toolkit.fluxcd.io/v1", "GitRepository"),
            None
        );
        // Options and list types have no scope: they are not stored objects.
        assert_eq!(builtin_scope("v1", "DeleteOptions"), None);
        assert_eq!(builtin_scope("apps/v1", "DeploymentList"), None);
    }

    #[test]
    fn scopes_by_group_kind() {
        assert_eq!(
            builtin_group_kind_scope("autoscaling", "HorizontalPodAutoscaler"),
            Some(Scope::Namespaced)
        );
        assert_eq!(
            builtin_group_kind_scope("", "Namespace"),
            Some(Scope::Cluster)
        );
        assert_eq!(
            builtin_group_kind_scope("rbac.authorization.k8s.io", "ClusterRoleBinding"),
            Some(Scope::Cluster)
        );
        assert_eq!(builtin_group_kind_scope("apps", "Namespace"), None);
        assert_eq!(
            builtin_group_kind_scope("source.toolkit.fluxcd.io", "GitRepository"),
            None
        );
    }

    #[test]
    fn builtin_kinds_sorted_and_complete() {
        let kinds = builtin_kinds();
        assert_eq!(kinds.len(), 82, "scoped resources in the reference data");
        assert!(kinds
            .windows(2)
            .all(|w| (w[0].api_version, w[0].kind) < (w[1].api_version, w[1].kind)));
    }
}
