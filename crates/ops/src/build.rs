//! `flotilla build kustomization`: a local directory built with a Kustomization's spec, as the
//! controller would build it (Flux mode, spec patches/images/components, postBuild substitution).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use flotilla_api::kustomize::{KustomizationSpec, SubstituteKind};
use flotilla_api::Kustomization;
use flotilla_controller::kustomization::plan;
use flotilla_kustomize::flux;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::Api;
use kube::ResourceExt;
use serde_json::Value;

/// What a local build can fail on.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The Kustomization could not be read from the cluster.
    #[error("reading Kustomization '{namespace}/{name}': {message}")]
    Get {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
        /// Why.
        message: String,
    },
    /// The Kustomization does not exist.
    #[error("Kustomization '{namespace}/{name}' not found; check the name and -n, or pass --kustomization-file")]
    NotFound {
        /// Its namespace.
        namespace: String,
        /// Its name.
        name: String,
    },
    /// `--kustomization-file` could not be read or is not a Kustomization.
    #[error("{file}: {message}")]
    File {
        /// The file.
        file: String,
        /// Why.
        message: String,
    },
    /// A `substituteFrom` ConfigMap or Secret is missing or unreadable.
    #[error("substitute from '{kind}/{name}': {message}")]
    SubstituteFrom {
        /// ConfigMap or Secret.
        kind: &'static str,
        /// Its name.
        name: String,
        /// Why.
        message: String,
    },
    /// `--path` is not a directory.
    #[error(
        "--path {0}: not a directory; give the local checkout of the Kustomization's spec.path"
    )]
    Path(String),
    /// The kustomize build failed.
    #[error("building {path}: {source}")]
    Build {
        /// The directory.
        path: String,
        /// The error.
        #[source]
        source: Box<flotilla_kustomize::FluxBuildError>,
    },
    /// postBuild substitution failed.
    #[error("postBuild substitution: {0}")]
    Substitute(#[from] flotilla_kustomize::SubstituteError),
}

/// Options of a local build.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Fail on variables without a value and no default (`--strict-substitute`).
    pub strict_substitution: bool,
    /// Replace Secret values with `***` (what is printed must not leak credentials).
    pub mask_secrets: bool,
}

/// Reads a Kustomization from a YAML file (the first document of kind Kustomization).
pub fn read_kustomization_file(file: &Path, name: &str) -> Result<Kustomization, BuildError> {
    let err = |message: String| BuildError::File {
        file: file.display().to_string(),
        message,
    };
    let text = std::fs::read_to_string(file).map_err(|e| err(e.to_string()))?;
    let docs: Vec<Value> = flotilla_yaml::from_str_multi(&text).map_err(|e| err(e.to_string()))?;
    let doc = docs
        .into_iter()
        .filter(|d| {
            d["kind"] == "Kustomization"
                && d["apiVersion"]
                    .as_str()
                    .is_some_and(|v| v.starts_with("kustomize.toolkit.fluxcd.io/"))
        })
        .find(|d| d["metadata"]["name"] == name)
        .ok_or_else(|| {
            err(format!(
                "no Kustomization named '{name}' (apiVersion kustomize.toolkit.fluxcd.io/v1)"
            ))
        })?;
    serde_json::from_value(doc).map_err(|e| err(format!("not a valid Kustomization: {e}")))
}

/// Reads the live Kustomization.
pub async fn get_kustomization(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> Result<Kustomization, BuildError> {
    Api::<Kustomization>::namespaced(client.clone(), namespace)
        .get_opt(name)
        .await
        .map_err(|e| BuildError::Get {
            namespace: namespace.to_string(),
            name: name.to_string(),
            message: e.to_string(),
        })?
        .ok_or_else(|| BuildError::NotFound {
            namespace: namespace.to_string(),
            name: name.to_string(),
        })
}

/// The `substituteFrom` ConfigMaps and Secrets of the spec, read from `namespace`.
pub async fn var_sources(
    client: &kube::Client,
    namespace: &str,
    spec: &KustomizationSpec,
) -> Result<Vec<plan::VarSource>, BuildError> {
    let Some(refs) = spec
        .post_build
        .as_ref()
        .and_then(|p| p.substitute_from.as_ref())
    else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for r in refs {
        let kind = match r.kind {
            SubstituteKind::ConfigMap => "ConfigMap",
            SubstituteKind::Secret => "Secret",
        };
        let fail = |message: String| BuildError::SubstituteFrom {
            kind,
            name: r.name.clone(),
            message,
        };
        let data: Option<BTreeMap<String, String>> = match r.kind {
            SubstituteKind::ConfigMap => Api::<ConfigMap>::namespaced(client.clone(), namespace)
                .get_opt(&r.name)
                .await
                .map_err(|e| fail(e.to_string()))?
                .map(|cm| cm.data.unwrap_or_default()),
            SubstituteKind::Secret => Api::<Secret>::namespaced(client.clone(), namespace)
                .get_opt(&r.name)
                .await
                .map_err(|e| fail(e.to_string()))?
                .map(|s| {
                    s.data
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(k, v)| (k, String::from_utf8_lossy(&v.0).into_owned()))
                        .collect()
                }),
        };
        if data.is_none() && !r.optional.unwrap_or(false) {
            return Err(fail(format!(
                "not found in namespace {namespace}; create it or mark the reference optional"
            )));
        }
        out.push(plan::VarSource {
            kind: r.kind,
            name: r.name.clone(),
            data,
        });
    }
    Ok(out)
}

/// The directory the build may read from: the Git work tree holding `dir` (so `../base`
/// references resolve as they do in the controller's checkout), else `dir` itself.
fn fence_root(dir: &Path) -> PathBuf {
    dir.ancestors()
        .find(|a| a.join(".git").exists())
        .unwrap_or(dir)
        .to_path_buf()
}

/// Builds `dir` with the Kustomization's spec, as the controller does: Flux-mode build,
/// substitution (`sources` from [`var_sources`], empty for a dry run), commonMetadata, owner
/// labels. Objects in build order.
pub fn build(
    k: &Kustomization,
    dir: &Path,
    sources: &[plan::VarSource],
    opts: &BuildOptions,
) -> Result<Vec<Value>, BuildError> {
    let dir = dir
        .canonicalize()
        .ok()
        .filter(|d| d.is_dir())
        .ok_or_else(|| BuildError::Path(dir.display().to_string()))?;
    let root = fence_root(&dir);
    let rel = dir
        .strip_prefix(&root)
        .unwrap_or(Path::new(""))
        .to_path_buf();
    let mut objects = flux::build(&root, &rel, &plan::build_options(&k.spec))
        .map_err(|source| BuildError::Build {
            path: dir.display().to_string(),
            source: Box::new(source),
        })?
        .objects;
    if let Some(vars) = plan::variables(&k.spec, sources) {
        flux::substitute(
            &mut objects,
            &vars,
            &flux::SubstituteOptions {
                strict: opts.strict_substitution,
            },
        )?;
    }
    if let Some(cm) = plan::common_metadata(&k.spec) {
        flux::apply_common_metadata(&mut objects, &cm);
    }
    let owner = plan::owner_labels(&k.name_any(), &k.namespace().unwrap_or_default());
    for o in &mut objects {
        if let Some(meta) = o.get_mut("metadata").and_then(Value::as_object_mut) {
            let labels = meta
                .entry("labels")
                .or_insert_with(|| Value::Object(Default::default()));
            if let Some(l) = labels.as_object_mut() {
                for (k, v) in &owner {
                    l.insert(k.clone(), Value::String(v.clone()));
                }
            }
        }
        if opts.mask_secrets {
            mask_secret(o);
        }
    }
    Ok(objects)
}

/// The mask printed in place of a Secret's values.
pub const MASK: &str = "***";

/// Replaces every value of a Secret's `data` and `stringData` with [`MASK`]; other objects
/// are left alone.
pub fn mask_secret(o: &mut Value) {
    if !flotilla_apply::is_secret(o) {
        return;
    }
    for field in ["data", "stringData"] {
        if let Some(m) = o.get_mut(field).and_then(Value::as_object_mut) {
            for v in m.values_mut() {
                *v = Value::String(MASK.to_string());
            }
        }
    }
}

/// The objects as a YAML stream (`---` between documents), as `flux build` prints them.
pub fn to_yaml(objects: &[Value]) -> String {
    let mut out = String::new();
    for (i, o) in objects.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&flotilla_yaml::to_string(o));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_masked_and_other_kinds_kept() {
        let mut s = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "a"},
            "data": {"password": "c2VjcmV0"}, "stringData": {"token": "t"}});
        mask_secret(&mut s);
        assert_eq!(s["data"]["password"], MASK);
        assert_eq!(s["stringData"]["token"], MASK);
        let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"},
            "data": {"password": "plain"}});
        mask_secret(&mut cm);
        assert_eq!(cm["data"]["password"], "plain");
    }
}
