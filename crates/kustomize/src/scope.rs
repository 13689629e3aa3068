//! Object scope from the embedded Kubernetes v1.21.2 schema kustomize uses.

use flotilla_schema::Scope;

/// Whether the built-in kind is cluster-scoped; unknown kinds (CRDs) are not.
pub fn is_cluster_scoped(api_version: &str, kind: &str) -> bool {
    matches!(
        flotilla_schema::builtin_scope(api_version, kind),
        Some(Scope::Cluster)
    )
}
