//! Apply order and stages: the kind order Flux sorts by, and which objects go in which stage.

use std::cmp::Ordering;

use flotilla_api::ObjMetadata;
use serde_json::Value;

use crate::object::{api_version, kind};

/// Kinds applied first, in this order (kinds not listed come after them, by group then kind).
const ORDER_FIRST: &[&str] = &[
    "CustomResourceDefinition",
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Service",
    "LimitRange",
    "PriorityClass",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// Kinds applied last: webhooks could reject the objects applied with them.
const ORDER_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

fn kind_index(kind: &str) -> i64 {
    if let Some(i) = ORDER_FIRST.iter().position(|k| *k == kind) {
        return i as i64 - ORDER_FIRST.len() as i64;
    }
    ORDER_LAST
        .iter()
        .position(|k| *k == kind)
        .map_or(0, |i| i as i64 + 1)
}

/// Apply order: by kind ([`ORDER_FIRST`], others, [`ORDER_LAST`]), then group, kind,
/// namespace, name, so the order never depends on the input order.
pub(crate) fn compare(a: &ObjMetadata, b: &ObjMetadata) -> Ordering {
    kind_index(&a.kind)
        .cmp(&kind_index(&b.kind))
        .then_with(|| a.group.cmp(&b.group))
        .then_with(|| a.kind.cmp(&b.kind))
        .then_with(|| a.namespace.cmp(&b.namespace))
        .then_with(|| a.name.cmp(&b.name))
}

/// The three stages of a staged apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Stage {
    /// CustomResourceDefinitions, Namespaces and ClusterRoles: the cluster definitions
    /// everything else may need; waited on until ready.
    Definitions,
    /// `*Class` kinds (StorageClass, IngressClass, PriorityClass, GatewayClass, …) that
    /// other objects name.
    Classes,
    /// Everything else.
    Resources,
}

pub(crate) fn stage_of(obj: &Value) -> Stage {
    let (k, v) = (kind(obj), api_version(obj));
    let definition = (k == "CustomResourceDefinition" && v.starts_with("apiextensions.k8s.io/"))
        || (k == "Namespace" && v == "v1")
        || (k == "ClusterRole" && v.starts_with("rbac.authorization.k8s.io/"));
    if definition {
        Stage::Definitions
    } else if k.ends_with("Class") {
        Stage::Classes
    } else {
        Stage::Resources
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_sort_in_flux_order() {
        let mut objs = [
            ObjMetadata::new(
                "a",
                "w",
                "admissionregistration.k8s.io",
                "ValidatingWebhookConfiguration",
            ),
            ObjMetadata::new("a", "x", "example.com", "Widget"),
            ObjMetadata::new("a", "web", "apps", "Deployment"),
            ObjMetadata::new("a", "b", "", "ConfigMap"),
            ObjMetadata::new("a", "a", "", "ConfigMap"),
            ObjMetadata::new("", "a", "", "Namespace"),
            ObjMetadata::new("", "w", "apiextensions.k8s.io", "CustomResourceDefinition"),
        ];
        objs.sort_by(compare);
        let kinds: Vec<String> = objs
            .iter()
            .map(|o| format!("{}/{}", o.kind, o.name))
            .collect();
        assert_eq!(
            kinds,
            [
                "CustomResourceDefinition/w",
                "Namespace/a",
                "ConfigMap/a",
                "ConfigMap/b",
                "Deployment/web",
                "Widget/x",
                "ValidatingWebhookConfiguration/w"
            ]
        );
    }

    #[test]
    fn stages() {
        let o = |v: &str, k: &str| json!({"apiVersion": v, "kind": k});
        assert_eq!(
            stage_of(&o("apiextensions.k8s.io/v1", "CustomResourceDefinition")),
            Stage::Definitions
        );
        assert_eq!(stage_of(&o("v1", "Namespace")), Stage::Definitions);
        assert_eq!(
            stage_of(&o("rbac.authorization.k8s.io/v1", "ClusterRole")),
            Stage::Definitions
        );
        assert_eq!(
            stage_of(&o("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")),
            Stage::Resources
        );
        assert_eq!(
            stage_of(&o("storage.k8s.io/v1", "StorageClass")),
            Stage::Classes
        );
        assert_eq!(
            stage_of(&o("networking.k8s.io/v1", "IngressClass")),
            Stage::Classes
        );
        assert_eq!(
            stage_of(&o("example.com/v1", "Namespace")),
            Stage::Resources
        );
        assert_eq!(stage_of(&o("apps/v1", "Deployment")), Stage::Resources);
    }
}
