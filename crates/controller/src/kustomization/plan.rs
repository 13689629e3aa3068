//! The pure parts of a Kustomization reconcile: spec → build options, owner labels, postBuild variables, inventory diff, dependsOn cycles.

use std::collections::{BTreeMap, BTreeSet};

use flotilla_api::kustomize::{KustomizationSpec, SubstituteKind};
use flotilla_api::{ObjMetadata, ResourceRef};
use flotilla_kustomize::flux::{
    CommonMetadata, FluxBuildOptions, FluxImage, FluxPatch, PatchSelector,
};

/// The spec fields kustomize-controller merges into the build. `commonMetadata` is left out:
/// Flux sets it after postBuild substitution (see [`common_metadata`]).
pub fn build_options(spec: &KustomizationSpec) -> FluxBuildOptions {
    FluxBuildOptions {
        target_namespace: spec.target_namespace.clone(),
        name_prefix: spec.name_prefix.clone(),
        name_suffix: spec.name_suffix.clone(),
        patches: spec
            .patches
            .iter()
            .flatten()
            .map(|p| FluxPatch {
                patch: p.patch.clone(),
                target: p.target.as_ref().map(|t| PatchSelector {
                    group: t.group.clone(),
                    version: t.version.clone(),
                    kind: t.kind.clone(),
                    name: t.name.clone(),
                    namespace: t.namespace.clone(),
                    label_selector: t.label_selector.clone(),
                    annotation_selector: t.annotation_selector.clone(),
                }),
            })
            .collect(),
        images: spec
            .images
            .iter()
            .flatten()
            .map(|i| FluxImage {
                name: i.name.clone(),
                new_name: i.new_name.clone(),
                new_tag: i.new_tag.clone(),
                digest: i.digest.clone(),
            })
            .collect(),
        components: spec.components.clone().unwrap_or_default(),
        ignore_missing_components: spec.ignore_missing_components.unwrap_or(false),
        common_metadata: None,
    }
}

/// `spec.commonMetadata`, when it sets anything.
pub fn common_metadata(spec: &KustomizationSpec) -> Option<CommonMetadata> {
    let cm = spec.common_metadata.as_ref()?;
    let out = CommonMetadata {
        labels: cm.labels.clone().unwrap_or_default(),
        annotations: cm.annotations.clone().unwrap_or_default(),
    };
    (!out.labels.is_empty() || !out.annotations.is_empty()).then_some(out)
}

/// Flux's owner labels: prune and deletion only touch objects carrying both.
pub fn owner_labels(name: &str, namespace: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (
            flotilla_apply::OWNER_NAME_LABEL.to_string(),
            name.to_string(),
        ),
        (
            flotilla_apply::OWNER_NAMESPACE_LABEL.to_string(),
            namespace.to_string(),
        ),
    ])
}

/// One loaded `substituteFrom` source: its data (Secret data already decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarSource {
    /// ConfigMap or Secret.
    pub kind: SubstituteKind,
    /// Its name.
    pub name: String,
    /// `None`: not found (only reaches here when `optional`).
    pub data: Option<BTreeMap<String, String>>,
}

/// The variables as Flux merges them: `substituteFrom` sources in order (later keys win),
/// then `substitute` on top. `None` when the spec has no postBuild (no substitution at all).
pub fn variables(
    spec: &KustomizationSpec,
    sources: &[VarSource],
) -> Option<BTreeMap<String, String>> {
    let pb = spec.post_build.as_ref()?;
    let mut vars = BTreeMap::new();
    for s in sources {
        if let Some(d) = &s.data {
            vars.extend(d.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
    }
    if let Some(sub) = &pb.substitute {
        vars.extend(sub.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
    Some(vars)
}

/// Entries of the previous inventory that the new one no longer holds (compared by
/// namespace, name, group and kind: a version change is not a removal).
pub fn stale(old: &[ResourceRef], new: &[ResourceRef]) -> Vec<ObjMetadata> {
    let keep: BTreeSet<ObjMetadata> = new.iter().filter_map(|r| r.object().ok()).collect();
    old.iter()
        .filter_map(|r| r.object().ok())
        .filter(|o| !keep.contains(o))
        .collect()
}

/// Follows `dependsOn` edges from `start`; returns the cycle through `start` if there is one
/// (`[start, a, b, start]`). `edges` gives an object's direct dependencies.
pub fn find_cycle(
    start: &(String, String),
    edges: &BTreeMap<(String, String), Vec<(String, String)>>,
) -> Option<Vec<(String, String)>> {
    fn dfs(
        node: &(String, String),
        start: &(String, String),
        edges: &BTreeMap<(String, String), Vec<(String, String)>>,
        path: &mut Vec<(String, String)>,
        seen: &mut BTreeSet<(String, String)>,
    ) -> bool {
        for next in edges.get(node).into_iter().flatten() {
            if next == start {
                path.push(next.clone());
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if dfs(next, start, edges, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.clone()];
    let mut seen = BTreeSet::from([start.clone()]);
    dfs(start, start, edges, &mut path, &mut seen).then_some(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flotilla_api::Kustomization;

    fn spec(v: serde_json::Value) -> KustomizationSpec {
        let k: Kustomization = serde_json::from_value(serde_json::json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "a", "namespace": "ns"}, "spec": v}))
        .expect("valid Kustomization");
        k.spec
    }

    #[test]
    fn spec_fields_become_build_options() {
        let s = spec(serde_json::json!({"interval": "1m", "prune": true,
            "sourceRef": {"kind": "GitRepository", "name": "repo"},
            "targetNamespace": "apps", "namePrefix": "p-",
            "patches": [{"patch": "x", "target": {"kind": "Deployment", "labelSelector": "a=b"}}],
            "images": [{"name": "nginx", "newTag": "2"}],
            "components": ["../c"], "ignoreMissingComponents": true,
            "commonMetadata": {"labels": {"team": "a"}}}));
        let o = build_options(&s);
        assert_eq!(o.target_namespace.as_deref(), Some("apps"));
        assert_eq!(o.name_prefix.as_deref(), Some("p-"));
        assert_eq!(
            o.patches[0]
                .target
                .as_ref()
                .and_then(|t| t.label_selector.as_deref()),
            Some("a=b")
        );
        assert_eq!(o.images[0].new_tag.as_deref(), Some("2"));
        assert_eq!(o.components, ["../c"]);
        assert!(o.ignore_missing_components);
        assert!(o.common_metadata.is_none());
        assert_eq!(common_metadata(&s).map(|c| c.labels.len()), Some(1));
    }

    #[test]
    fn inline_substitute_wins_over_sources_in_order() {
        let s = spec(serde_json::json!({"interval": "1m", "prune": false,
            "sourceRef": {"kind": "GitRepository", "name": "repo"},
            "postBuild": {"substitute": {"a": "inline"}}}));
        let src = |name: &str, kv: &[(&str, &str)]| VarSource {
            kind: SubstituteKind::ConfigMap,
            name: name.into(),
            data: Some(
                kv.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
        };
        let vars = variables(
            &s,
            &[
                src("one", &[("a", "1"), ("b", "1")]),
                src("two", &[("b", "2")]),
            ],
        )
        .expect("postBuild set");
        assert_eq!(vars["a"], "inline");
        assert_eq!(vars["b"], "2");
        let none = spec(serde_json::json!({"interval": "1m", "prune": false,
            "sourceRef": {"kind": "GitRepository", "name": "repo"}}));
        assert!(variables(&none, &[]).is_none());
    }

    #[test]
    fn stale_entries_ignore_version_changes() {
        let r = |id: &str, v: &str| ResourceRef {
            id: id.into(),
            v: v.into(),
        };
        let old = [
            r("apps_web_apps_Deployment", "v1"),
            r("apps_cm__ConfigMap", "v1"),
            r("_apps__Namespace", "v1"),
        ];
        let new = [
            r("apps_web_apps_Deployment", "v2"),
            r("_apps__Namespace", "v1"),
        ];
        let got = stale(&old, &new);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].name, "cm");
    }

    #[test]
    fn cycles_are_found() {
        let n = |s: &str| ("ns".to_string(), s.to_string());
        let mut edges = BTreeMap::new();
        edges.insert(n("a"), vec![n("b")]);
        edges.insert(n("b"), vec![n("c"), n("d")]);
        edges.insert(n("d"), vec![n("a")]);
        assert_eq!(
            find_cycle(&n("a"), &edges),
            Some(vec![n("a"), n("b"), n("d"), n("a")])
        );
        assert_eq!(find_cycle(&n("c"), &edges), None);
        edges.remove(&n("d"));
        assert_eq!(find_cycle(&n("a"), &edges), None);
    }
}
