//! Reading identity and metadata from JSON objects, and naming objects as Flux does (`Kind/namespace/name`).

use std::fmt;

use flotilla_api::ObjMetadata;
use serde_json::Value;

/// Field manager Flux's kustomize-controller applies with.
pub const FIELD_MANAGER: &str = "kustomize-controller";
/// Per-object server-side apply policy: `Override` (default), `Merge`, `IfNotPresent`, `Ignore`.
pub const SSA_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/ssa";
/// `enabled`: recreate the object when an immutable field changed.
pub const FORCE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/force";
/// `disabled`: never delete the object when pruning.
pub const PRUNE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/prune";
/// `disabled`: leave the object alone (same as `ssa: Ignore`).
pub const RECONCILE_ANNOTATION: &str = "kustomize.toolkit.fluxcd.io/reconcile";
/// Owner label: name of the Kustomization that applied the object.
pub const OWNER_NAME_LABEL: &str = "kustomize.toolkit.fluxcd.io/name";
/// Owner label: namespace of the Kustomization that applied the object.
pub const OWNER_NAMESPACE_LABEL: &str = "kustomize.toolkit.fluxcd.io/namespace";
/// Client-side apply's copy of the object, stripped before applying.
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// An object's name as Flux writes it in events and errors: `Kind/namespace/name`, or
/// `Kind/name` for cluster-scoped objects.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a>(pub &'a ObjMetadata);

impl fmt::Display for Subject<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let o = self.0;
        if o.namespace.is_empty() {
            write!(f, "{}/{}", o.kind, o.name)
        } else {
            write!(f, "{}/{}/{}", o.kind, o.namespace, o.name)
        }
    }
}

/// `Kind/namespace/name` of `object` (see [`Subject`]).
pub fn subject(object: &ObjMetadata) -> String {
    Subject(object).to_string()
}

pub(crate) fn str_at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter().try_fold(v, |v, k| v.get(k))?.as_str()
}

pub(crate) fn api_version(v: &Value) -> &str {
    str_at(v, &["apiVersion"]).unwrap_or_default()
}

pub(crate) fn kind(v: &Value) -> &str {
    str_at(v, &["kind"]).unwrap_or_default()
}

pub(crate) fn name(v: &Value) -> &str {
    str_at(v, &["metadata", "name"]).unwrap_or_default()
}

pub(crate) fn namespace(v: &Value) -> &str {
    str_at(v, &["metadata", "namespace"]).unwrap_or_default()
}

pub(crate) fn resource_version(v: &Value) -> &str {
    str_at(v, &["metadata", "resourceVersion"]).unwrap_or_default()
}

/// The identity of an object as it is written (namespace as given).
pub(crate) fn meta_of(v: &Value) -> ObjMetadata {
    ObjMetadata::from_api_version(namespace(v), name(v), api_version(v), kind(v))
}

/// Whether a label or an annotation of `v` is `key: value` (Flux's selectors match either).
pub(crate) fn has_metadata(v: &Value, key: &str, value: &str) -> bool {
    ["labels", "annotations"]
        .iter()
        .any(|m| str_at(v, &["metadata", m, key]) == Some(value))
}

/// Whether the object is a Kubernetes Secret (diff callers mask its data).
pub fn is_secret(v: &Value) -> bool {
    kind(v) == "Secret" && api_version(v) == "v1"
}

/// The group of an `apiVersion` (`apps/v1` → `apps`, `v1` → empty).
pub(crate) fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(g, _)| g)
}

/// The version of an `apiVersion` (`apps/v1` → `v1`).
pub(crate) fn version_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or(api_version, |(_, v)| v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subjects_read_like_flux() {
        let o = ObjMetadata::new("apps", "web", "apps", "Deployment");
        assert_eq!(subject(&o), "Deployment/apps/web");
        let o = ObjMetadata::new("", "apps", "", "Namespace");
        assert_eq!(subject(&o), "Namespace/apps");
    }

    #[test]
    fn metadata_selectors_match_labels_or_annotations() {
        let v = json!({"metadata": {"labels": {"a": "1"}, "annotations": {"b": "2"}}});
        assert!(has_metadata(&v, "a", "1"));
        assert!(has_metadata(&v, "b", "2"));
        assert!(!has_metadata(&v, "b", "3"));
        assert!(!has_metadata(&json!({}), "a", "1"));
    }

    #[test]
    fn api_version_parts() {
        assert_eq!(group_of("apps/v1"), "apps");
        assert_eq!(group_of("v1"), "");
        assert_eq!(version_of("apps/v1"), "v1");
        assert_eq!(version_of("v1"), "v1");
    }
}
