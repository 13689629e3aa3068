//! The steps run at every kustomization level (kustomize's `accumulateTarget`): resources, configurations, generators, components, transformers.
//!
//! Each base is built to completion by these steps before its parent sees it, so a base's own
//! prefix, namespace and patches apply only to what it contains. Hashes, name references,
//! vars and ordering must wait for the whole tree, so they live in `build.rs` instead.

use std::sync::OnceLock;

use serde_json::Value;

use crate::crds::{self, CrdError};
use crate::error::BuildError;
use crate::fieldspec::{FieldSpec, TransformerConfig};
use crate::generators::{self, GeneratorOptions};
use crate::kustomization::Kustomization;
use crate::loader::{find_kustomization_file, Loader};
use crate::openapi::OpenApi;
use crate::options::BuildOptions;
use crate::read;
use crate::resmap::ResMap;
use crate::resource::Resource;
use crate::transform::{
    images, metadata, names, namespace, patches, replacements, replicas, TransformError,
};

/// What one level hands to its parent.
#[derive(Debug, Clone, Default)]
pub struct Acc {
    /// The resources so far.
    pub resmap: ResMap,
    /// Field specs (defaults, `configurations:`, children's).
    pub config: TransformerConfig,
    /// `vars:` declared so far (each bound to its object through `Resource::ref_var_names`).
    pub vars: Vec<Value>,
    /// Whether `config` already holds every default field spec: merging them again would
    /// add nothing and, repeated at each level of a deep tree, dominates small builds.
    pub has_defaults: bool,
}

/// Shared state of one build.
pub struct Ctx<'a> {
    /// The options.
    pub opts: &'a BuildOptions,
    /// Warnings, in the order kustomize prints them.
    pub warnings: Vec<String>,
    /// Record which transformers ran over each object (buildMetadata transformerAnnotations).
    pub track_transformations: bool,
    /// The schema strategic merges use (`openapi:`), one setting for the whole build.
    pub openapi: OpenApi,
}

/// Takes a kustomization's `openapi:` into account (`top` for the root kustomization).
pub fn enter_openapi(
    ctx: &mut Ctx<'_>,
    loader: &Loader,
    k: &Kustomization,
    top: bool,
) -> Result<(), BuildError> {
    let file = loader.root().join(&k.file_name).display().to_string();
    ctx.openapi
        .enter(loader, &file, k.field("openapi"), top)
        .map_err(|source| BuildError::OpenApi {
            dir: dir_of(loader),
            source,
        })
}

fn defaults() -> Result<&'static TransformerConfig, BuildError> {
    static DEFAULTS: OnceLock<Result<TransformerConfig, crate::fieldspec::FieldSpecError>> =
        OnceLock::new();
    DEFAULTS
        .get_or_init(TransformerConfig::defaults)
        .as_ref()
        .map_err(|e| BuildError::Config {
            dir: "(built-in field specs)".into(),
            source: e.clone(),
        })
}

fn dir_of(loader: &Loader) -> String {
    loader.root().display().to_string()
}

/// Reads the kustomization file of a loader's root.
pub fn load_kustomization(ctx: &mut Ctx<'_>, loader: &Loader) -> Result<Kustomization, BuildError> {
    let file = find_kustomization_file(loader.root())
        .map_err(BuildError::MultipleKustomizations)?
        .ok_or_else(|| BuildError::NoKustomization(dir_of(loader)))?;
    let text = loader.read_string(file)?;
    let path = loader.root().join(file).display().to_string();
    let parse = flotilla_yaml::ParseOptions {
        duplicate_keys_last_wins: true,
        ..flotilla_yaml::ParseOptions::default()
    };
    let mut v = flotilla_yaml::from_str_with(&text, &parse).map_err(|e| read::ReadError::Yaml {
        file: path.clone(),
        message: e.to_string(),
    })?;
    crate::kustomization::apply_yaml11_booleans(&text, &mut v).map_err(|source| {
        BuildError::Kustomization {
            file: path.clone(),
            source,
        }
    })?;
    let mut k = kustomization_from_value(ctx, &v, &path)?;
    k.file_name = file.to_string();
    Ok(k)
}

/// Parses a kustomization document, collecting its warnings.
pub fn kustomization_from_value(
    ctx: &mut Ctx<'_>,
    v: &Value,
    path: &str,
) -> Result<Kustomization, BuildError> {
    let (k, w) = Kustomization::from_value(v).map_err(|source| BuildError::Kustomization {
        file: path.to_string(),
        source,
    })?;
    ctx.warnings.extend(w);
    Ok(k)
}

fn looks_remote(path: &str) -> bool {
    path.starts_with("http://")
        || path.starts_with("https://")
        || path.starts_with("git@")
        || path.starts_with("ssh://")
        || path.starts_with("file://")
        || path.starts_with("git::")
        || path.starts_with("github.com/")
        || path.starts_with("gitlab.com/")
        || path.starts_with("bitbucket.org/")
        || path.contains("?ref=")
        || path.contains(".git//")
}

fn unsupported(loader: &Loader, field: &str, reason: &str) -> BuildError {
    BuildError::Unsupported {
        dir: dir_of(loader),
        field: field.into(),
        reason: reason.into(),
    }
}

fn tr(loader: &Loader) -> impl Fn(TransformError) -> BuildError + '_ {
    move |source| BuildError::Transform {
        dir: dir_of(loader),
        source,
    }
}

fn rm(loader: &Loader) -> impl Fn(crate::resmap::ResMapError) -> BuildError + '_ {
    move |source| BuildError::ResMap {
        dir: dir_of(loader),
        source,
    }
}

/// Builds one level into `acc` (kustomize's `accumulateTarget`).
pub fn accumulate(
    ctx: &mut Ctx<'_>,
    loader: &Loader,
    k: &Kustomization,
    mut acc: Acc,
) -> Result<Acc, BuildError> {
    for field in ["helmCharts", "helmChartInflationGenerator", "helmGlobals"] {
        if !k.field(field).is_null() && !is_emptyish(k.field(field)) {
            return Err(unsupported(
                loader,
                field,
                "Helm chart inflation is not available; render the chart first or use a HelmRelease",
            ));
        }
    }
    if !k.list("validators").is_empty() {
        return Err(unsupported(
            loader,
            "validators",
            "validator plugins are not available",
        ));
    }

    // Step 1: resources (files and bases), each base built to completion first.
    for path in &k.resources {
        accumulate_resource(ctx, loader, path, &mut acc)?;
    }

    // Step 2: field specs: defaults plus `configurations:` (children's were merged above).
    let mut own = std::borrow::Cow::Borrowed(defaults()?);
    for c in &k.configurations {
        let text = loader.read_string(c)?;
        for doc in read::parse_docs(&text, c)? {
            let tc = TransformerConfig::from_value(&doc).map_err(|source| BuildError::Config {
                dir: dir_of(loader),
                source,
            })?;
            own.to_mut()
                .merge(&tc)
                .map_err(|source| BuildError::Config {
                    dir: dir_of(loader),
                    source,
                })?;
        }
    }
    if !(acc.has_defaults && matches!(own, std::borrow::Cow::Borrowed(_))) {
        acc.config
            .merge(&own)
            .map_err(|source| BuildError::Config {
                dir: dir_of(loader),
                source,
            })?;
        acc.has_defaults = true;
    }
    for c in &k.crds {
        let crd_err = |source| BuildError::Crds {
            dir: dir_of(loader),
            source,
        };
        let text = loader
            .read_string(c)
            .map_err(|e| crd_err(CrdError::Load(e)))?;
        let tc = crds::config_from_text(&text, c).map_err(crd_err)?;
        acc.config.merge(&tc).map_err(|source| {
            crd_err(CrdError::Config {
                file: c.clone(),
                source,
            })
        })?;
    }

    // Step 3: generators.
    let global = GeneratorOptions::from_value(k.field("generatorOptions"));
    for (field, secret) in [("configMapGenerator", false), ("secretGenerator", true)] {
        for entry in k.list(field) {
            let mut r = generators::generate(loader, entry, secret, &global)?;
            r.origin = Some(format!(
                "configuredIn: {}\nconfiguredBy:\n  apiVersion: builtin\n  kind: {}\n",
                loader.rel_path(&k.file_name),
                if secret {
                    "SecretGenerator"
                } else {
                    "ConfigMapGenerator"
                }
            ));
            acc.resmap.absorb(r).map_err(rm(loader))?;
        }
    }
    for entry in k.list("generators") {
        for doc in plugin_configs(loader, entry, "generators")? {
            let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
            let secret = match kind {
                "ConfigMapGenerator" => false,
                "SecretGenerator" => true,
                _ => {
                    return Err(unsupported(
                        loader,
                        "generators",
                        &format!("generator plugin kind '{kind}' is not available (only builtin ConfigMapGenerator and SecretGenerator)"),
                    ))
                }
            };
            let mut entry = doc.clone();
            if let Some(m) = entry.as_object_mut() {
                let md = m.get("metadata").cloned().unwrap_or(Value::Null);
                m.insert(
                    "name".into(),
                    md.get("name").cloned().unwrap_or(Value::Null),
                );
                if let Some(ns) = md.get("namespace") {
                    m.insert("namespace".into(), ns.clone());
                }
            }
            let r = generators::generate(loader, &entry, secret, &global)?;
            acc.resmap.absorb(r).map_err(rm(loader))?;
        }
    }

    // Step 4: components, applied to what has been accumulated so far.
    for path in &k.components {
        let sub = loader.sub(path)?;
        let ck = load_kustomization(ctx, &sub)?;
        enter_openapi(ctx, &sub, &ck, false)?;
        if ck.kind != "Component" {
            return Err(BuildError::Resource {
                dir: dir_of(loader),
                path: path.clone(),
                message: format!(
                    "expected kind 'Component' for path '{}' but got '{}'",
                    sub.root().display(),
                    ck.kind
                ),
            });
        }
        acc = accumulate(ctx, &sub, &ck, acc)?;
    }

    // Step 5: this level's transformers, in kustomize's order.
    run_transformers(loader, k, &mut acc, ctx.track_transformations, &ctx.openapi)?;
    acc.resmap.reindex();

    // Step 6: vars are bound to the objects they read now; they are expanded at the top.
    for v in k.list("vars") {
        if let Some(i) = bind_var(&acc.resmap.list, v).map_err(tr(loader))? {
            let name = v
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            acc.resmap.list[i].ref_var_names.push(name);
        }
        acc.vars.push(v.clone());
    }
    Ok(acc)
}

fn is_emptyish(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        _ => false,
    }
}

fn accumulate_resource(
    ctx: &mut Ctx<'_>,
    loader: &Loader,
    path: &str,
    acc: &mut Acc,
) -> Result<(), BuildError> {
    let full = loader.root().join(path);
    if full.is_file() {
        let text = loader.read_string(path)?;
        let mut rs = read::resources_from_text(&text, &full.display().to_string())?;
        let origin = format!("path: {}\n", loader.rel_path(path));
        for r in rs.iter_mut() {
            r.origin = Some(origin.clone());
        }
        return acc.resmap.append_all(rs).map_err(rm(loader));
    }
    if full.is_dir() {
        let sub = loader.sub(path)?;
        let sk = load_kustomization(ctx, &sub)?;
        enter_openapi(ctx, &sub, &sk, false)?;
        if sk.kind == "Component" {
            return Err(BuildError::Resource {
                dir: dir_of(loader),
                path: path.into(),
                message: format!(
                    "expected kind 'Kustomization' for path '{}' but got 'Component'",
                    sub.root().display()
                ),
            });
        }
        let child = accumulate(ctx, &sub, &sk, Acc::default())?;
        acc.resmap
            .append_all(child.resmap.list)
            .map_err(rm(loader))?;
        acc.config
            .merge(&child.config)
            .map_err(|source| BuildError::Config {
                dir: dir_of(loader),
                source,
            })?;
        acc.vars.extend(child.vars);
        acc.has_defaults |= child.has_defaults;
        return Ok(());
    }
    if looks_remote(path) && ctx.opts.enable_remote {
        // kustomize tries an http(s) URL as a file first; an error status ends there, an
        // answer that is not resources (a repository's web page) falls through to git.
        let mut file_err = None;
        if crate::http::is_remote_file(path) {
            match accumulate_http_file(loader, path, acc) {
                Ok(()) => return Ok(()),
                Err(e) if e.0 => return Err(e.1),
                Err(e) => file_err = Some(e.1),
            }
        }
        return accumulate_remote(ctx, loader, path, acc).map_err(|git_err| match file_err {
            Some(f) => BuildError::Resource {
                dir: dir_of(loader),
                path: path.into(),
                message: format!("as a file: {f}; as a git base: {git_err}"),
            },
            None => git_err,
        });
    }
    if looks_remote(path) {
        return Err(unsupported(
            loader,
            "resources",
            &format!(
                "remote resource '{path}' cannot be fetched{}; vendor it into the repository",
                " (remote resources are disabled; --enable-remote fetches git and http(s) URLs)"
            ),
        ));
    }
    Err(BuildError::Resource {
        dir: dir_of(loader),
        path: path.into(),
        message: format!(
            "evalsymlink failure on '{}' : lstat {}: no such file or directory",
            full.display(),
            full.display()
        ),
    })
}

/// A remote file: fetched over HTTP(S) and read as resources. The error says whether the
/// build must stop there (an error status, as kustomize's `ErrHTTP`) or may try git.
fn accumulate_http_file(
    loader: &Loader,
    url: &str,
    acc: &mut Acc,
) -> Result<(), (bool, BuildError)> {
    let failed = |message: String| BuildError::Resource {
        dir: dir_of(loader),
        path: url.into(),
        message,
    };
    let body = crate::http::get(url).map_err(|e| (e.is_status(), failed(e.to_string())))?;
    let text = String::from_utf8(body)
        .map_err(|_| (false, failed("the answer is not UTF-8 text".into())))?;
    let mut rs = read::resources_from_text(&text, url).map_err(|e| (false, e.into()))?;
    let origin = format!("path: {url}\n");
    for r in rs.iter_mut() {
        r.origin = Some(origin.clone());
    }
    acc.resmap.append_all(rs).map_err(|e| (true, rm(loader)(e)))
}

/// A remote base: fetched with git into a temporary directory that lives until the base's
/// objects are in memory.
fn accumulate_remote(
    ctx: &mut Ctx<'_>,
    loader: &Loader,
    path: &str,
    acc: &mut Acc,
) -> Result<(), BuildError> {
    let failed = |message: String| BuildError::Resource {
        dir: dir_of(loader),
        path: path.into(),
        message,
    };
    let spec = crate::remote::RepoSpec::parse(path).map_err(|e| failed(e.to_string()))?;
    let clone = crate::remote::fetch(&spec).map_err(|e| failed(e.to_string()))?;
    let sub = loader.fetched(clone.path(), &spec.kust_root, path)?;
    let sk = load_kustomization(ctx, &sub)?;
    let child = accumulate(ctx, &sub, &sk, Acc::default())?;
    acc.resmap
        .append_all(child.resmap.list)
        .map_err(rm(loader))?;
    acc.config
        .merge(&child.config)
        .map_err(|source| BuildError::Config {
            dir: dir_of(loader),
            source,
        })?;
    acc.vars.extend(child.vars);
    acc.has_defaults |= child.has_defaults;
    Ok(())
}

/// Reads the plugin configurations of a `generators:`/`transformers:` entry (a file, or inline YAML).
fn plugin_configs(loader: &Loader, entry: &Value, field: &str) -> Result<Vec<Value>, BuildError> {
    let s = match entry {
        Value::String(s) => s.clone(),
        other => crate::read::yaml_text(other),
    };
    let text = if s.contains('\n') {
        s.clone()
    } else if loader.root().join(&s).is_dir() {
        return Err(unsupported(
            loader,
            field,
            &format!("'{s}' is a directory; kustomizations producing plugin configurations are not available"),
        ));
    } else {
        loader.read_string(&s)?
    };
    let docs: Vec<Value> = read::parse_docs(&text, &s)?
        .into_iter()
        .filter(|d| !d.is_null())
        .collect();
    for d in &docs {
        let av = d.get("apiVersion").and_then(Value::as_str).unwrap_or("");
        if av != "builtin" {
            let kind = d.get("kind").and_then(Value::as_str).unwrap_or("");
            return Err(unsupported(
                loader,
                field,
                &format!("plugin '{av}/{kind}' is not builtin; external plugins are not available"),
            ));
        }
    }
    Ok(docs)
}

fn specs_of(v: &Value) -> Result<Vec<FieldSpec>, TransformError> {
    specs_at(v, "fieldSpecs")
}

fn specs_at(v: &Value, key: &str) -> Result<Vec<FieldSpec>, TransformError> {
    v.get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(FieldSpec::from_value)
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()
        .map_err(|e| TransformError::Invalid(e.to_string()))
        .map(Option::unwrap_or_default)
}

/// Notes a transformer run on every object (kustomize annotates all objects of the level,
/// whether or not the transformer changed them).
fn record(list: &mut [Resource], track: bool, configured_in: &str, kind: &str, name: Option<&str>) {
    if !track {
        return;
    }
    let mut entry = format!(
        "- configuredIn: {configured_in}\n  configuredBy:\n    apiVersion: builtin\n    kind: {kind}\n"
    );
    if let Some(n) = name.filter(|n| !n.is_empty()) {
        entry.push_str(&format!("    name: {n}\n"));
    }
    for r in list.iter_mut() {
        r.transformations.push(entry.clone());
    }
}

fn run_transformers(
    loader: &Loader,
    k: &Kustomization,
    acc: &mut Acc,
    track: bool,
    openapi: &OpenApi,
) -> Result<(), BuildError> {
    let e = tr(loader);
    let tc = &acc.config;
    let list = &mut acc.resmap.list;
    let here = loader.rel_path(&k.file_name);
    let rec = |list: &mut Vec<Resource>, kind: &str| record(list, track, &here, kind, None);
    // 1. patchesStrategicMerge
    if !k.list("patchesStrategicMerge").is_empty() {
        patches::patches_strategic_merge(list, loader, k.list("patchesStrategicMerge"), openapi)
            .map_err(&e)?;
        rec(list, "PatchStrategicMergeTransformer");
    }
    // 2. patches
    for p in k.list("patches") {
        patches::patch_entry(list, loader, p, openapi).map_err(&e)?;
        rec(list, "PatchTransformer");
    }
    // 3. namespace
    namespace::run(list, &k.namespace, &tc.namespace, &Default::default()).map_err(&e)?;
    if !k.namespace.is_empty() {
        rec(list, "NamespaceTransformer");
    }
    // 4-5. prefix, suffix
    names::run(list, &k.name_prefix, false, &tc.name_prefix).map_err(&e)?;
    if !k.name_prefix.is_empty() {
        rec(list, "PrefixTransformer");
    }
    names::run(list, &k.name_suffix, true, &tc.name_suffix).map_err(&e)?;
    if !k.name_suffix.is_empty() {
        rec(list, "SuffixTransformer");
    }
    // 6. labels entries, then commonLabels
    for l in k.list("labels") {
        let pairs = l
            .get("pairs")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let mut fss = specs_at(l, "fields").map_err(&e)?;
        let flag = |f: &str| l.get(f).and_then(Value::as_bool).unwrap_or(false);
        if flag("includeSelectors") {
            crate::fieldspec::merge_all(&mut fss, &tc.common_labels)
                .map_err(|x| e(TransformError::Invalid(x.to_string())))?;
        } else {
            crate::fieldspec::merge_one(&mut fss, FieldSpec::any("metadata/labels", true))
                .map_err(|x| e(TransformError::Invalid(x.to_string())))?;
            if flag("includeTemplates") {
                crate::fieldspec::merge_all(&mut fss, &tc.template_labels)
                    .map_err(|x| e(TransformError::Invalid(x.to_string())))?;
            }
        }
        metadata::run(list, &pairs, &fss).map_err(&e)?;
        rec(list, "LabelTransformer");
    }
    if let Some(cl) = k.field("commonLabels").as_object() {
        metadata::run(list, cl, &tc.common_labels).map_err(&e)?;
        if !cl.is_empty() {
            rec(list, "LabelTransformer");
        }
    }
    // 7. commonAnnotations
    if let Some(ca) = k.field("commonAnnotations").as_object() {
        metadata::run(list, ca, &tc.common_annotations).map_err(&e)?;
        if !ca.is_empty() {
            rec(list, "AnnotationsTransformer");
        }
    }
    // 8. patchesJson6902
    for p in k.list("patchesJson6902") {
        patches::json6902_entry(list, loader, p).map_err(&e)?;
        rec(list, "PatchJson6902Transformer");
    }
    // 9. replicas
    for r in k.list("replicas") {
        let name = r.get("name").and_then(Value::as_str).unwrap_or("");
        let count = r.get("count").and_then(Value::as_i64).unwrap_or(0);
        replicas::run(list, name, count, &tc.replicas).map_err(&e)?;
        rec(list, "ReplicaCountTransformer");
    }
    // 10. images
    for i in k.list("images") {
        let o = images::ImageOverride::from_value(i).map_err(&e)?;
        images::run(list, &o, &tc.images).map_err(&e)?;
        rec(list, "ImageTagTransformer");
    }
    // 11. replacements
    for r in k.list("replacements") {
        for rep in load_replacements(loader, r)? {
            replacements::run(list, &rep).map_err(&e)?;
        }
    }
    if !k.list("replacements").is_empty() {
        rec(list, "ReplacementTransformer");
    }
    // Then the `transformers:` field, in order.
    for entry in k.list("transformers") {
        for doc in plugin_configs(loader, entry, "transformers")? {
            run_builtin_transformer(loader, &doc, tc, list, openapi).map_err(&e)?;
            let file = match entry {
                Value::String(f) if !f.contains('\n') => loader.rel_path(f),
                _ => here.clone(),
            };
            let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
            let name = doc
                .get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(Value::as_str);
            record(list, track, &file, kind, name);
        }
    }
    Ok(())
}

fn load_replacements(loader: &Loader, r: &Value) -> Result<Vec<Value>, BuildError> {
    match r.get("path").and_then(Value::as_str) {
        Some(p) => {
            let text = loader.read_string(p)?;
            let mut out = Vec::new();
            for d in read::parse_docs(&text, p)? {
                match d {
                    Value::Array(a) => out.extend(a),
                    Value::Null => {}
                    other => out.push(other),
                }
            }
            Ok(out)
        }
        None => Ok(vec![r.clone()]),
    }
}

fn run_builtin_transformer(
    loader: &Loader,
    doc: &Value,
    tc: &TransformerConfig,
    list: &mut Vec<Resource>,
    openapi: &OpenApi,
) -> Result<(), TransformError> {
    let kind = doc.get("kind").and_then(Value::as_str).unwrap_or("");
    let specs = specs_of(doc)?;
    let s = |k: &str| doc.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    match kind {
        "LabelTransformer" => {
            let m = doc
                .get("labels")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            metadata::run(list, &m, &specs)
        }
        "AnnotationsTransformer" => {
            let m = doc
                .get("annotations")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default();
            metadata::run(list, &m, &specs)
        }
        "NamespaceTransformer" => {
            let ns = doc
                .get("metadata")
                .and_then(|m| m.get("namespace"))
                .and_then(Value::as_str)
                .unwrap_or("");
            let subjects = match s("setRoleBindingSubjects").as_str() {
                "allServiceAccounts" => namespace::SubjectMode::AllServiceAccounts,
                "none" => namespace::SubjectMode::None,
                _ => namespace::SubjectMode::DefaultOnly,
            };
            let opts = namespace::NamespaceOptions {
                unset_only: doc
                    .get("unsetOnly")
                    .and_then(Value::as_bool)
                    .unwrap_or(false),
                subjects,
            };
            namespace::run(list, ns, &specs, &opts)
        }
        "PrefixSuffixTransformer" | "PrefixTransformer" | "SuffixTransformer" => {
            names::run(list, &s("prefix"), false, &specs)?;
            names::run(list, &s("suffix"), true, &specs)
        }
        "ImageTagTransformer" => {
            let o = images::ImageOverride::from_value(doc.get("imageTag").unwrap_or(&Value::Null))?;
            images::run(list, &o, &specs)
        }
        "ReplicaCountTransformer" => {
            let r = doc.get("replica").cloned().unwrap_or(Value::Null);
            let name = r.get("name").and_then(Value::as_str).unwrap_or("");
            let count = r.get("count").and_then(Value::as_i64).unwrap_or(0);
            replicas::run(list, name, count, &specs)
        }
        "PatchTransformer" => patches::patch_entry(list, loader, doc, openapi),
        "PatchStrategicMergeTransformer" => {
            let mut entries: Vec<Value> = doc
                .get("paths")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            if let Some(p) = doc.get("patches").and_then(Value::as_str) {
                entries.push(Value::String(p.to_string()));
            }
            patches::patches_strategic_merge(list, loader, &entries, openapi)
        }
        "PatchJson6902Transformer" => {
            let mut e = doc.clone();
            if let Some(m) = e.as_object_mut() {
                if let Some(op) = m.remove("jsonOp") {
                    m.insert("patch".into(), op);
                }
            }
            patches::json6902_entry(list, loader, &e)
        }
        "ReplacementTransformer" => {
            for r in doc
                .get("replacements")
                .and_then(Value::as_array)
                .map(Vec::as_slice)
                .unwrap_or(&[])
            {
                replacements::run(list, r)?;
            }
            Ok(())
        }
        "HashTransformer" => {
            for r in list.iter_mut() {
                if r.kind() == "ConfigMap" || r.kind() == "Secret" {
                    r.needs_hash = true;
                }
            }
            Ok(())
        }
        other => {
            let _ = tc;
            Err(TransformError::Invalid(format!(
                "unable to load builtin {other}: transformers: unknown builtin plugin kind"
            )))
        }
    }
}

/// Finds the one object a var reads from (by kind, name and, if given, apiVersion, among any
/// of its ids).
fn bind_var(list: &[Resource], v: &Value) -> Result<Option<usize>, TransformError> {
    let name = v.get("name").and_then(Value::as_str).unwrap_or("");
    let objref = v.get("objref").cloned().unwrap_or(Value::Null);
    let kind = objref.get("kind").and_then(Value::as_str).unwrap_or("");
    let oname = objref.get("name").and_then(Value::as_str).unwrap_or("");
    let av = objref
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or("");
    let want = crate::resource::Gvk::from_api_version(av, kind);
    let hits: Vec<usize> = list
        .iter()
        .enumerate()
        .filter(|(_, r)| {
            r.all_ids()
                .iter()
                .any(|id| id.name == oname && id.gvk.is_selected(&want))
        })
        .map(|(i, _)| i)
        .collect();
    match hits.len() {
        0 => Ok(None),
        1 => Ok(Some(hits[0])),
        n => Err(TransformError::Invalid(format!(
            "found {n} resId matches for var {name} (unable to disambiguate)"
        ))),
    }
}
