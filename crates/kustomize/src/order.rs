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
    struct Key {
        rank: i64,
        gvk: String,
        id: String,
        is_namespace: bool,
        core_group: bool,
    }
    let keys: Vec<Key> = resources
        .iter()
        .map(|r| {
            let g = r.gvk();
            let gvk = gvk_key(&g);
            let ns = if r.namespace().is_empty() {
                "~X"
            } else {
                r.namespace()
            };
            let nm = if r.name().is_empty() { "~N" } else { r.name() };
            Key {
                rank: *rank.get(g.kind.as_str()).unwrap_or(&0),
                id: format!("{gvk}|{ns}|{nm}"),
                gvk,
                is_namespace: g.kind == "Namespace",
                core_group: g.group.is_empty(),
            }
        })
        .collect();
    let mut idx: Vec<usize> = (0..resources.len()).collect();
    idx.sort_by(|&i, &j| {
        let (a, b) = (&keys[i], &keys[j]);
        if a.gvk != b.gvk {
            if a.rank != b.rank {
                return a.rank.cmp(&b.rank);
            }
            // kustomize puts core Namespaces after other groups' Namespace kinds.
            if a.is_namespace && b.is_namespace && (a.core_group || b.core_group) {
                return b.gvk.cmp(&a.gvk);
            }
            return a.gvk.cmp(&b.gvk);
        }
        a.id.cmp(&b.id)
    });
    let mut taken: Vec<Option<Resource>> = resources
        .iter_mut()
        .map(|r| Some(std::mem::replace(r, Resource::new(serde_json::Value::Null))))
        .collect();
    for (slot, i) in resources.iter_mut().zip(idx) {
        *slot = taken[i].take().expect("each index is used once");
    }
}
