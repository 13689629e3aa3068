//! What Flux's kustomize-controller adds: a kustomization.yaml generated for plain directories, and spec overrides merged into the root.

mod envsubst;
mod spec;
mod substitute;

pub use spec::{
    apply_common_metadata, build, CommonMetadata, FluxBuildError, FluxBuildOptions, FluxImage,
    FluxPatch, PatchSelector,
};
pub use substitute::{substitute, SubstituteError, SubstituteOptions};

use std::path::Path;

use serde_json::{Map, Value};

use crate::error::BuildError;
use crate::kustomization::Kustomization;
use crate::loader::{find_kustomization_file, Loader};
use crate::options::Overrides;
use crate::read;

/// Simple `.sourceignore` patterns (gitignore subset: `#` comments, `*` globs, a leading `/`
/// anchors, a trailing `/` matches directories).
struct Ignore {
    patterns: Vec<(String, bool, bool)>,
}

fn glob(p: &str, s: &str) -> bool {
    let (pb, sb) = (p.as_bytes(), s.as_bytes());
    let (mut pi, mut si, mut star, mut mark) = (0usize, 0usize, None::<usize>, 0usize);
    while si < sb.len() {
        if pi < pb.len() && (pb[pi] == b'?' || pb[pi] == sb[si]) {
            pi += 1;
            si += 1;
        } else if pi < pb.len() && pb[pi] == b'*' {
            star = Some(pi);
            mark = si;
            pi += 1;
        } else if let Some(st) = star {
            pi = st + 1;
            mark += 1;
            si = mark;
        } else {
            return false;
        }
    }
    while pi < pb.len() && pb[pi] == b'*' {
        pi += 1;
    }
    pi == pb.len()
}

impl Ignore {
    fn load(root: &Path) -> Ignore {
        let text = std::fs::read_to_string(root.join(".sourceignore")).unwrap_or_default();
        let patterns = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| {
                let dir_only = l.ends_with('/');
                let l = l.trim_end_matches('/');
                let anchored = l.starts_with('/') || l.contains('/');
                (l.trim_start_matches('/').to_string(), anchored, dir_only)
            })
            .collect();
        Ignore { patterns }
    }

    fn ignored(&self, rel: &str, is_dir: bool) -> bool {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        self.patterns.iter().any(|(p, anchored, dir_only)| {
            (!dir_only || is_dir)
                && if *anchored {
                    glob(p, rel)
                } else {
                    glob(p, name)
                }
        })
    }
}

/// Flux's rules: every `.yaml`/`.yml` file below the root (each must hold Kubernetes objects),
/// and every sub-directory with its own kustomization as one resource, not descended into.
pub fn generate_kustomization(loader: &Loader) -> Result<Value, BuildError> {
    let root = loader.root().to_path_buf();
    let ignore = Ignore::load(&root);
    let mut resources = Vec::new();
    let mut stack = vec![root.clone()];
    // Depth-first in lexical order, as filepath.Walk visits.
    fn walk(
        dir: &Path,
        root: &Path,
        ignore: &Ignore,
        out: &mut Vec<String>,
    ) -> Result<(), BuildError> {
        // Symlinked directories are not descended into (filepath.Walk uses Lstat), so a link
        // cannot lead the walk out of the source root.
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| crate::loader::LoadError::Io {
                path: dir.display().to_string(),
                message: e.to_string(),
            })?
            .filter_map(Result::ok)
            .map(|e| (e.path(), e.file_type().is_ok_and(|t| t.is_dir())))
            .collect();
        entries.sort();
        for (p, is_dir) in entries {
            let rel = p
                .strip_prefix(root)
                .unwrap_or(&p)
                .to_string_lossy()
                .replace('\\', "/");
            if is_dir {
                if ignore.ignored(&rel, true) {
                    continue;
                }
                if matches!(find_kustomization_file(&p), Ok(Some(_))) {
                    out.push(rel);
                    continue;
                }
                walk(&p, root, ignore, out)?;
            } else {
                let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
                if (ext != "yaml" && ext != "yml") || ignore.ignored(&rel, false) {
                    continue;
                }
                let text =
                    std::fs::read_to_string(&p).map_err(|e| crate::loader::LoadError::Io {
                        path: p.display().to_string(),
                        message: e.to_string(),
                    })?;
                read::resources_from_text(&text, &p.display().to_string())?;
                out.push(rel);
            }
        }
        Ok(())
    }
    if let Some(dir) = stack.pop() {
        walk(&dir, &root, &ignore, &mut resources)?;
    }
    let mut m = Map::new();
    m.insert(
        "apiVersion".into(),
        Value::String("kustomize.config.k8s.io/v1beta1".into()),
    );
    m.insert("kind".into(), Value::String("Kustomization".into()));
    m.insert(
        "resources".into(),
        Value::Array(resources.into_iter().map(Value::String).collect()),
    );
    Ok(Value::Object(m))
}

/// The root kustomization with Flux's spec fields merged in, as kustomize-controller does
/// (common metadata is not among them: see [`set_common_metadata`]).
pub fn apply_overrides(loader: &Loader, k: &Kustomization, o: &Overrides) -> Value {
    let mut raw = k.raw.clone();
    // `bases` were folded into resources when reading; keep them there.
    raw.remove("bases");
    raw.insert(
        "resources".into(),
        Value::Array(k.resources.iter().cloned().map(Value::String).collect()),
    );
    let mut push = |field: &str, items: Vec<Value>| {
        if items.is_empty() {
            return;
        }
        let e = raw.entry(field).or_insert_with(|| Value::Array(Vec::new()));
        if !e.is_array() {
            *e = Value::Array(Vec::new());
        }
        if let Value::Array(a) = e {
            a.extend(items);
        }
    };
    push("patches", o.patches.clone());
    // Flux replaces an existing `images` entry of the same name instead of adding a second one
    // (a second entry would no longer match once the first has renamed the image).
    let mut new_images = Vec::new();
    for img in &o.images {
        let name = img.get("name");
        let existing = raw
            .get_mut("images")
            .and_then(Value::as_array_mut)
            .and_then(|a| a.iter_mut().find(|e| e.get("name") == name));
        match existing {
            Some(e) => *e = img.clone(),
            None => new_images.push(img.clone()),
        }
    }
    let mut push = |field: &str, items: Vec<Value>| {
        if items.is_empty() {
            return;
        }
        let e = raw.entry(field).or_insert_with(|| Value::Array(Vec::new()));
        if !e.is_array() {
            *e = Value::Array(Vec::new());
        }
        if let Value::Array(a) = e {
            a.extend(items);
        }
    };
    push("images", new_images);
    let comps: Vec<Value> = o
        .components
        .iter()
        .filter(|c| !o.ignore_missing_components || loader.root().join(c).exists())
        .cloned()
        .map(Value::String)
        .collect();
    push("components", comps);
    if let Some(ns) = &o.target_namespace {
        raw.insert("namespace".into(), Value::String(ns.clone()));
    }
    if let Some(p) = &o.name_prefix {
        raw.insert("namePrefix".into(), Value::String(p.clone()));
    }
    if let Some(s) = &o.name_suffix {
        raw.insert("nameSuffix".into(), Value::String(s.clone()));
    }
    Value::Object(raw)
}

/// Flux's `commonMetadata`: labels and annotations set on every object's own metadata after the
/// build (kustomize-controller does this outside kustomize, so selectors and pod templates
/// are left alone).
pub fn set_common_metadata(objects: &mut [crate::resource::Resource], o: &Overrides) {
    for r in objects.iter_mut() {
        for (field, extra) in [
            ("labels", &o.common_labels),
            ("annotations", &o.common_annotations),
        ] {
            if extra.is_empty() {
                continue;
            }
            let mut m = r.string_map(field);
            for (k, v) in extra {
                m.insert(k.clone(), v.clone());
            }
            r.set_string_map(field, m);
        }
    }
}
