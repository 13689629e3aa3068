//! Flux-mode build: a Kustomization's spec fields as typed options, the path resolved inside the source root, the objects checked.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::BuildError;
use crate::loader::LoadRestrictor;
use crate::options::{BuildOptions, BuildOutput, Order, Overrides};

/// A `spec.patches` target selector (kustomize's selector fields).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatchSelector {
    /// API group.
    pub group: Option<String>,
    /// API version.
    pub version: Option<String>,
    /// Kind.
    pub kind: Option<String>,
    /// Name (a regular expression, as in kustomize).
    pub name: Option<String>,
    /// Namespace (a regular expression, as in kustomize).
    pub namespace: Option<String>,
    /// Label selector.
    pub label_selector: Option<String>,
    /// Annotation selector.
    pub annotation_selector: Option<String>,
}

/// A `spec.patches` entry: an inline strategic-merge or JSON6902 patch and its optional target.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FluxPatch {
    /// The patch text (YAML or JSON).
    pub patch: String,
    /// Which objects it applies to; without one the patch names its target itself.
    pub target: Option<PatchSelector>,
}

/// A `spec.images` entry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FluxImage {
    /// The image name to match.
    pub name: String,
    /// Replacement name.
    pub new_name: Option<String>,
    /// Replacement tag.
    pub new_tag: Option<String>,
    /// Replacement digest.
    pub digest: Option<String>,
}

/// `spec.commonMetadata`: labels and annotations set on every object's own metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommonMetadata {
    /// Labels (override existing keys).
    pub labels: BTreeMap<String, String>,
    /// Annotations (override existing keys).
    pub annotations: BTreeMap<String, String>,
}

/// The Kustomization spec fields kustomize-controller merges into the build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FluxBuildOptions {
    /// `targetNamespace`.
    pub target_namespace: Option<String>,
    /// `namePrefix`.
    pub name_prefix: Option<String>,
    /// `nameSuffix`.
    pub name_suffix: Option<String>,
    /// `patches`.
    pub patches: Vec<FluxPatch>,
    /// `images` (an entry replaces the kustomization's own entry of the same name).
    pub images: Vec<FluxImage>,
    /// `components`, relative to the built directory.
    pub components: Vec<String>,
    /// `ignoreMissingComponents`: components that do not exist are left out instead of failing.
    pub ignore_missing_components: bool,
    /// `commonMetadata`, set after the build. kustomize-controller sets it after postBuild
    /// substitution, so a caller that substitutes leaves this `None` and calls
    /// [`apply_common_metadata`] itself after [`crate::flux::substitute`].
    pub common_metadata: Option<CommonMetadata>,
}

/// Why a Flux-mode build failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FluxBuildError {
    /// The source root does not exist or cannot be read.
    #[error("source root '{root}' cannot be read: {message}")]
    Root {
        /// The root.
        root: String,
        /// The OS error.
        message: String,
    },
    /// `spec.path` does not exist in the source.
    #[error(
        "kustomization path not found: '{path}' does not exist in the source; check spec.path"
    )]
    PathNotFound {
        /// The path as given.
        path: String,
    },
    /// `spec.path` is not a directory.
    #[error("kustomization path '{path}' is not a directory; spec.path must name a directory")]
    NotADirectory {
        /// The path as given.
        path: String,
    },
    /// `spec.path` leads out of the source root through a symlink.
    #[error("kustomization path '{path}' leads outside the source root through a symlink")]
    PathEscapesRoot {
        /// The path as given.
        path: String,
    },
    /// kustomize failed.
    #[error("kustomize build failed: {0}")]
    Build(#[from] BuildError),
    /// An object lacks apiVersion, kind or metadata.name.
    #[error("object {index} of the build lacks {missing}: every object needs apiVersion, kind and metadata.name ({object})")]
    InvalidObject {
        /// Its position in the output.
        index: usize,
        /// Which field is missing.
        missing: &'static str,
        /// The object's start, for finding it.
        object: String,
    },
}

/// Builds `root/path` as kustomize-controller does: kustomization.yaml generated when the
/// directory has none, the spec fields merged into the root kustomization, input (FIFO) order,
/// files anywhere under `root` allowed but nothing outside it. Reads only; never writes into
/// `root`.
pub fn build(
    root: &Path,
    path: &Path,
    opts: &FluxBuildOptions,
) -> Result<BuildOutput, FluxBuildError> {
    let root = root.canonicalize().map_err(|e| FluxBuildError::Root {
        root: root.display().to_string(),
        message: e.to_string(),
    })?;
    let dir = resolve_in_root(&root, path)?;
    let options = BuildOptions {
        order: Order::Fifo,
        load_restrictor: LoadRestrictor::None,
        fence_root: Some(root),
        generate_missing_kustomization: true,
        enable_remote: false,
        overrides: overrides(opts),
    };
    let mut out = crate::build(&dir, &options)?;
    check_objects(&out.objects)?;
    if let Some(cm) = &opts.common_metadata {
        apply_common_metadata(&mut out.objects, cm);
    }
    Ok(out)
}

/// Sets `commonMetadata` labels and annotations on each object's own metadata (not on
/// selectors or templates), overriding existing keys, as kustomize-controller does.
pub fn apply_common_metadata(objects: &mut [Value], cm: &CommonMetadata) {
    for obj in objects.iter_mut() {
        let Some(o) = obj.as_object_mut() else {
            continue;
        };
        let md = o
            .entry("metadata")
            .or_insert_with(|| Value::Object(Map::new()));
        if !md.is_object() {
            *md = Value::Object(Map::new());
        }
        let Some(md) = md.as_object_mut() else {
            continue;
        };
        for (field, extra) in [("labels", &cm.labels), ("annotations", &cm.annotations)] {
            if extra.is_empty() {
                continue;
            }
            let m = md.entry(field).or_insert_with(|| Value::Object(Map::new()));
            if !m.is_object() {
                *m = Value::Object(Map::new());
            }
            if let Some(m) = m.as_object_mut() {
                for (k, v) in extra {
                    m.insert(k.clone(), Value::String(v.clone()));
                }
            }
        }
    }
}

/// Joins `path` to `root` as Flux's secure join does: `..` never climbs above the root (it is
/// clamped there), and the result, with symlinks resolved, must still be inside the root.
fn resolve_in_root(root: &Path, path: &Path) -> Result<PathBuf, FluxBuildError> {
    let shown = path.display().to_string();
    let mut rel = PathBuf::new();
    for c in path.components() {
        match c {
            Component::Normal(p) => rel.push(p),
            Component::ParentDir => {
                rel.pop();
            }
            Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
        }
    }
    let joined = root.join(&rel);
    let real = joined
        .canonicalize()
        .map_err(|_| FluxBuildError::PathNotFound {
            path: shown.clone(),
        })?;
    if !real.starts_with(root) {
        return Err(FluxBuildError::PathEscapesRoot { path: shown });
    }
    if !real.is_dir() {
        return Err(FluxBuildError::NotADirectory { path: shown });
    }
    Ok(real)
}

fn overrides(opts: &FluxBuildOptions) -> Overrides {
    let str_field = |m: &mut Map<String, Value>, k: &str, v: &Option<String>| {
        if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
            m.insert(k.into(), Value::String(v.clone()));
        }
    };
    let patches = opts
        .patches
        .iter()
        .map(|p| {
            let mut m = Map::new();
            m.insert("patch".into(), Value::String(p.patch.clone()));
            if let Some(t) = &p.target {
                let mut sel = Map::new();
                str_field(&mut sel, "group", &t.group);
                str_field(&mut sel, "version", &t.version);
                str_field(&mut sel, "kind", &t.kind);
                str_field(&mut sel, "name", &t.name);
                str_field(&mut sel, "namespace", &t.namespace);
                str_field(&mut sel, "labelSelector", &t.label_selector);
                str_field(&mut sel, "annotationSelector", &t.annotation_selector);
                m.insert("target".into(), Value::Object(sel));
            }
            Value::Object(m)
        })
        .collect();
    let images = opts
        .images
        .iter()
        .map(|i| {
            let mut m = Map::new();
            m.insert("name".into(), Value::String(i.name.clone()));
            str_field(&mut m, "newName", &i.new_name);
            str_field(&mut m, "newTag", &i.new_tag);
            str_field(&mut m, "digest", &i.digest);
            Value::Object(m)
        })
        .collect();
    let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
    Overrides {
        target_namespace: non_empty(&opts.target_namespace),
        name_prefix: non_empty(&opts.name_prefix),
        name_suffix: non_empty(&opts.name_suffix),
        patches,
        images,
        components: opts.components.clone(),
        ignore_missing_components: opts.ignore_missing_components,
        // Set by `build` itself after the kustomize pipeline, on plain values.
        common_labels: Map::new(),
        common_annotations: Map::new(),
    }
}

/// kustomize-controller refuses objects without apiVersion, kind or name before applying.
fn check_objects(objects: &[Value]) -> Result<(), FluxBuildError> {
    for (index, o) in objects.iter().enumerate() {
        let missing = if o
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty()
        {
            "apiVersion"
        } else if o
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty()
        {
            "kind"
        } else if o
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty()
        {
            "metadata.name"
        } else {
            continue;
        };
        let mut object = flotilla_yaml::to_string(o);
        if object.len() > 200 {
            let mut cut = 200;
            while !object.is_char_boundary(cut) {
                cut -= 1;
            }
            object.truncate(cut);
            object.push('…');
        }
        return Err(FluxBuildError::InvalidObject {
            index,
            missing,
            object: object.trim_end().replace('\n', " "),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_dot_is_clamped_at_the_root() {
        let t = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(t.path().join("apps")).expect("mkdir");
        let root = t.path().canonicalize().expect("canon");
        let got = resolve_in_root(&root, Path::new("../../apps")).expect("resolves");
        assert_eq!(got, root.join("apps"));
        let got = resolve_in_root(&root, Path::new("./")).expect("resolves");
        assert_eq!(got, root);
    }

    #[test]
    fn symlink_out_of_the_root_is_refused() {
        let t = tempfile::tempdir().expect("tempdir");
        let root = t.path().join("src");
        std::fs::create_dir_all(&root).expect("mkdir");
        std::fs::create_dir_all(t.path().join("outside")).expect("mkdir");
        std::os::unix::fs::symlink(t.path().join("outside"), root.join("link")).expect("link");
        let root = root.canonicalize().expect("canon");
        let err = resolve_in_root(&root, Path::new("link")).expect_err("refused");
        assert!(
            matches!(err, FluxBuildError::PathEscapesRoot { .. }),
            "{err}"
        );
        let err = resolve_in_root(&root, Path::new("nope")).expect_err("missing");
        assert!(
            err.to_string().contains("kustomization path not found"),
            "{err}"
        );
    }

    #[test]
    fn common_metadata_overrides_and_creates() {
        let mut objs = vec![
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "labels": {"team": "old"}}}),
            serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}),
        ];
        let cm = CommonMetadata {
            labels: [("team".to_string(), "new".to_string())].into(),
            annotations: [("owner".to_string(), "me".to_string())].into(),
        };
        apply_common_metadata(&mut objs, &cm);
        for o in &objs {
            assert_eq!(o["metadata"]["labels"]["team"], "new");
            assert_eq!(o["metadata"]["annotations"]["owner"], "me");
        }
    }

    #[test]
    fn objects_without_a_name_are_refused() {
        let objs =
            vec![serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})];
        let err = check_objects(&objs).expect_err("refused");
        assert!(err.to_string().contains("metadata.name"), "{err}");
    }
}
