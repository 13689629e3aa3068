//! Annotations and labels Flux gives meaning to: reconcile requests, per-object apply behaviour and
//! ownership labels.

use std::collections::BTreeMap;

/// Setting or changing this annotation asks for an immediate reconcile; the value handled is
/// copied to `status.lastHandledReconcileAt`.
pub const REQUESTED_AT_ANNOTATION: &str = "reconcile.fluxcd.io/requestedAt";

/// `kustomize.toolkit.fluxcd.io/reconcile: disabled` on an object stops Flux from applying it.
pub const KUSTOMIZE_RECONCILE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/reconcile";
/// Server-side apply policy of an object: `Override` (the default), `Merge`, `IfNotPresent` or `Ignore`.
pub const SSA_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/ssa";
/// `disabled` keeps an object out of garbage collection.
pub const PRUNE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/prune";
/// `enabled` recreates an object when an immutable field changes.
pub const FORCE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/force";
/// `disabled` skips post-build variable substitution for an object.
pub const SUBSTITUTE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/substitute";
/// Value turning the annotations above off.
pub const DISABLED_VALUE: &str = "disabled";
/// Value turning the annotations above on.
pub const ENABLED_VALUE: &str = "enabled";

/// Label with the name of the Kustomization that applied an object.
pub const KUSTOMIZE_NAME_LABEL: &str = "kustomize.toolkit.fluxcd.io/name";
/// Label with the namespace of the Kustomization that applied an object.
pub const KUSTOMIZE_NAMESPACE_LABEL: &str = "kustomize.toolkit.fluxcd.io/namespace";
/// Server-side apply field manager of kustomize-controller, kept so ownership carries over.
pub const KUSTOMIZE_FIELD_MANAGER: &str = "kustomize-controller";

/// The `reconcile.fluxcd.io/requestedAt` value, if set.
pub fn requested_at(annotations: Option<&BTreeMap<String, String>>) -> Option<&str> {
    annotations?
        .get(REQUESTED_AT_ANNOTATION)
        .map(String::as_str)
}

/// The reconcile request not handled yet: the annotation value when it differs from
/// `status.lastHandledReconcileAt`.
pub fn pending_request<'a>(
    annotations: Option<&'a BTreeMap<String, String>>,
    last_handled: Option<&str>,
) -> Option<&'a str> {
    requested_at(annotations).filter(|value| Some(*value) != last_handled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_only_when_changed() {
        let annotations: BTreeMap<String, String> = [(
            REQUESTED_AT_ANNOTATION.to_string(),
            "2024-01-01T00:00:00Z".to_string(),
        )]
        .into_iter()
        .collect();
        assert_eq!(
            pending_request(Some(&annotations), None),
            Some("2024-01-01T00:00:00Z")
        );
        assert_eq!(
            pending_request(Some(&annotations), Some("2023-12-31T00:00:00Z")),
            Some("2024-01-01T00:00:00Z")
        );
        assert_eq!(
            pending_request(Some(&annotations), Some("2024-01-01T00:00:00Z")),
            None
        );
        assert_eq!(pending_request(None, None), None);
    }
}
