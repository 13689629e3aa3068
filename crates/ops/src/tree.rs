//! A Kustomization's inventory as a tree: each applied object under the Kustomization, nested
//! Kustomizations expanded with their own inventory.

use std::collections::HashSet;

use flotilla_api::ObjMetadata;
use serde_json::Value;

use crate::kinds::FluxKind;
use crate::reconcile::{fetch, ReconcileError};

/// One node: an object and what it applied (for Kustomizations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// `Kind/namespace/name` (`Kind/name` for cluster-scoped objects).
    pub label: String,
    /// Children.
    pub children: Vec<Node>,
}

/// Builds the tree from the cluster, reading nested Kustomizations (cycles are cut).
pub async fn build(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Node, ReconcileError> {
    let mut seen = HashSet::new();
    let root = fetch(client, FluxKind::Kustomization, namespace, name).await?;
    Ok(expand(client, &root, &mut seen).await)
}

fn expand<'a>(
    client: &'a kube::Client,
    ks: &'a Value,
    seen: &'a mut HashSet<(String, String)>,
) -> futures::future::BoxFuture<'a, Node> {
    Box::pin(async move {
        let ns = ks["metadata"]["namespace"]
            .as_str()
            .unwrap_or("")
            .to_string();
        let name = ks["metadata"]["name"].as_str().unwrap_or("").to_string();
        seen.insert((ns.clone(), name.clone()));
        let mut children = Vec::new();
        for entry in inventory(ks) {
            let mut node = Node {
                label: label(&entry),
                children: Vec::new(),
            };
            let key = (entry.namespace.clone(), entry.name.clone());
            if entry.group == "kustomize.toolkit.fluxcd.io"
                && entry.kind == "Kustomization"
                && !seen.contains(&key)
            {
                if let Ok(child) = fetch(
                    client,
                    FluxKind::Kustomization,
                    &entry.namespace,
                    &entry.name,
                )
                .await
                {
                    node.children = expand(client, &child, seen).await.children;
                }
            }
            children.push(node);
        }
        Node {
            label: format!("Kustomization/{ns}/{name}"),
            children,
        }
    })
}

/// The parsed `status.inventory.entries` (entries that do not parse are skipped).
pub fn inventory(ks: &Value) -> Vec<ObjMetadata> {
    ks["status"]["inventory"]["entries"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| e["id"].as_str())
                .filter_map(|id| ObjMetadata::parse(id).ok())
                .collect()
        })
        .unwrap_or_default()
}

fn label(o: &ObjMetadata) -> String {
    if o.namespace.is_empty() {
        format!("{}/{}", o.kind, o.name)
    } else {
        format!("{}/{}/{}", o.kind, o.namespace, o.name)
    }
}

/// Draws the tree with box-drawing branches, as `flux tree` does.
pub fn render(root: &Node) -> String {
    let mut out = format!("{}\n", root.label);
    draw(&root.children, "", &mut out);
    out
}

fn draw(children: &[Node], prefix: &str, out: &mut String) {
    for (i, child) in children.iter().enumerate() {
        let last = i + 1 == children.len();
        out.push_str(prefix);
        out.push_str(if last { "└── " } else { "├── " });
        out.push_str(&child.label);
        out.push('\n');
        let next = format!("{prefix}{}", if last { "    " } else { "│   " });
        draw(&child.children, &next, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_nested_branches() {
        let leaf = |l: &str| Node {
            label: l.into(),
            children: vec![],
        };
        let tree = Node {
            label: "Kustomization/flux-system/flux-system".into(),
            children: vec![
                Node {
                    label: "Kustomization/flux-system/apps".into(),
                    children: vec![leaf("Deployment/default/web")],
                },
                leaf("Namespace/apps"),
            ],
        };
        assert_eq!(
            render(&tree),
            "Kustomization/flux-system/flux-system\n\
             ├── Kustomization/flux-system/apps\n\
             │   └── Deployment/default/web\n\
             └── Namespace/apps\n"
        );
    }
}
