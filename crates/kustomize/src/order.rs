//! Output order: kustomize's legacy kind order (with orderFirst/orderLast) or input order (fifo).

use std::collections::HashMap;

use crate::resource::{Gvk, Resource};

/// The legacy order's default first kinds.
pub const DEFAULT_ORDER_FIRST: &[&str] = &[
    "Namespace",
    "ResourceQuota",
    "StorageClass",
    "CustomResourceDefinition",
    "ServiceAccount",
    "PodSecurityPolicy",
    "Role",
    "ClusterRole",
    "RoleBinding",
    "ClusterRoleBinding",
    "ConfigMap",
    "Secret",
    "Endpoints",
    "Service",
    "LimitRange",
    "PriorityClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "Deployment",
    "StatefulSet",
    "CronJob",
    "PodDisruptionBudget",
];

/// The legacy order's default last kinds.
pub const DEFAULT_ORDER_LAST: &[&str] = &[
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

fn gvk_key(g: &Gvk) -> String {
    let or = |s: &str, d: &str| {
        if s.is_empty() {
            d.to_string()
        } else {
            s.to_string()
        }
    };
    format!(
        "{}_{}_{}",
        or(&g.group, "~G"),
        or(&g.version, "~V"),
        or(&g.kind, "~K")
    )
}

/// Sorts in kustomize's legacy order.
pub fn legacy_sort(resources: &mut [Resource], first: &[String], last: &[String]) {
    let mut rank: HashMap<&str, i64> = HashMap::new();
    for (i, k) in first.iter().enumerate() {
        rank.insert(k, i as i64 - first.len() as i64);
    }
    for (i, k) in last.iter().enumerate() {
        rank.insert(k, 1 + i as i64);
    }
    let mut keyed: Vec<(i64, String, String, bool, Resource)> = resources
        .iter()
        .map(|r| {
            let g = r.gvk();
            let gk = gvk_key(&g);
            let ns = if r.namespace().is_empty() {
                "~X"
            } else {
                r.namespace()
            };
            let nm = if r.name().is_empty() { "~N" } else { r.name() };
            let id = format!("{gk}|{ns}|{nm}");
            let is_core_ns = g.kind == "Namespace";
            (
                *rank.get(g.kind.as_str()).unwrap_or(&0),
                gk,
                id,
                is_core_ns && g.group.is_empty(),
                r.clone(),
            )
        })
        .collect();
    keyed.sort_by(|a, b| {
        if a.1 != b.1 {
            if a.0 != b.0 {
                return a.0.cmp(&b.0);
            }
            let both_ns = a.4.kind() == "Namespace" && b.4.kind() == "Namespace";
            if both_ns && (a.3 || b.3) {
                return b.1.cmp(&a.1);
            }
            return a.1.cmp(&b.1);
        }
        a.2.cmp(&b.2)
    });
    for (slot, k) in resources.iter_mut().zip(keyed) {
        *slot = k.4;
    }
}
