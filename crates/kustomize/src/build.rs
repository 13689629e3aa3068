//! The build pipeline: load → per-level accumulation (level.rs) → hashes → name references → vars → local-config removal → ordering.

use std::path::Path;

use serde_json::Value;

use crate::error::BuildError;
use crate::hash::name_hash;
use crate::level::{self, Acc, Ctx};
use crate::loader::{find_kustomization_file, Loader};
use crate::options::{BuildOptions, BuildOutput, Order};
use crate::resource::Resource;
use crate::{flux, nameref, order, vars};

/// Builds the kustomization in `dir`.
pub fn build(dir: &Path, opts: &BuildOptions) -> Result<BuildOutput, BuildError> {
    let loader = Loader::new(dir, opts.load_restrictor, opts.fence_root.as_deref())?;
    let mut ctx = Ctx {
        opts,
        warnings: Vec::new(),
        track_transformations: false,
        openapi: Default::default(),
    };

    // Load the root kustomization (or generate Flux's), with the controller's overrides.
    let has_file = find_kustomization_file(loader.root())
        .map_err(BuildError::MultipleKustomizations)?
        .is_some();
    let mut k = if !has_file && opts.generate_missing_kustomization {
        let v = flux::generate_kustomization(&loader)?;
        level::kustomization_from_value(&mut ctx, &v, "(generated kustomization.yaml)")?
    } else {
        level::load_kustomization(&mut ctx, &loader)?
    };
    if !opts.overrides.is_empty() {
        let v = flux::apply_overrides(&loader, &k, &opts.overrides);
        k = level::kustomization_from_value(
            &mut Ctx {
                opts,
                warnings: Vec::new(),
                track_transformations: false,
                openapi: Default::default(),
            },
            &v,
            "kustomization.yaml",
        )?;
    }

    ctx.track_transformations = k
        .build_metadata
        .iter()
        .any(|m| m == "transformerAnnotations");
    level::enter_openapi(&mut ctx, &loader, &k, true)?;
    // Every level: resources, generators, components, transformers.
    let Acc {
        resmap,
        config,
        vars: var_list,
        ..
    } = level::accumulate(&mut ctx, &loader, &k, Acc::default())?;
    let mut list = resmap.list;
    ctx.openapi
        .check_kinds(&list)
        .map_err(|source| BuildError::OpenApi {
            dir: loader.root().display().to_string(),
            source,
        })?;

    // Once, at the top: these need every object's final name, so no level can do them.
    add_hashes(&mut list);
    nameref::run(&mut list, &config.name_reference).map_err(|source| BuildError::Transform {
        dir: loader.root().display().to_string(),
        source,
    })?;
    vars::resolve(&mut list, &var_list, &config.var_reference).map_err(|source| {
        BuildError::Transform {
            dir: loader.root().display().to_string(),
            source,
        }
    })?;
    list.retain(|r| !is_local_config(r));
    // kustomize tracks objects with annotations while building and rewrites the map at the
    // end, so an empty or null `metadata.annotations` never survives.
    for r in list.iter_mut() {
        if let Some(md) = r.obj.get_mut("metadata").and_then(Value::as_object_mut) {
            if md
                .get("annotations")
                .is_some_and(|a| a.is_null() || a.as_object().is_some_and(|m| m.is_empty()))
            {
                md.remove("annotations");
            }
        }
    }

    match sort_options(&k) {
        Some((Order::Fifo, _, _)) => {}
        Some((Order::Legacy, first, last)) => order::legacy_sort(&mut list, &first, &last),
        None => match opts.order {
            Order::Fifo => {}
            Order::Legacy => {
                let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
                order::legacy_sort(
                    &mut list,
                    &s(order::DEFAULT_ORDER_FIRST),
                    &s(order::DEFAULT_ORDER_LAST),
                )
            }
        },
    }

    for m in &k.build_metadata {
        match m.as_str() {
            "transformerAnnotations" => {
                for r in list.iter_mut() {
                    if !r.transformations.is_empty() {
                        let text = r.transformations.concat();
                        let mut ann = r.string_map("annotations");
                        ann.insert(
                            "alpha.config.kubernetes.io/transformations".into(),
                            Value::String(text),
                        );
                        r.set_string_map("annotations", ann);
                    }
                }
            }
            "originAnnotations" => {
                for r in list.iter_mut() {
                    if let Some(o) = r.origin.clone() {
                        let mut ann = r.string_map("annotations");
                        ann.insert("config.kubernetes.io/origin".into(), Value::String(o));
                        r.set_string_map("annotations", ann);
                    }
                }
            }
            "managedByLabel" => {
                let mut labels = serde_json::Map::new();
                labels.insert(
                    "app.kubernetes.io/managed-by".into(),
                    Value::String("kustomize-(devel)".into()),
                );
                crate::transform::metadata::run(
                    &mut list,
                    &labels,
                    &[crate::fieldspec::FieldSpec::any("metadata/labels", true)],
                )
                .map_err(|source| BuildError::Transform {
                    dir: loader.root().display().to_string(),
                    source,
                })?;
            }
            other => {
                return Err(BuildError::Unsupported {
                    dir: loader.root().display().to_string(),
                    field: "buildMetadata".into(),
                    reason: format!(
                    "option '{other}' is not available (managedByLabel, originAnnotations and transformerAnnotations are)"
                ),
                })
            }
        }
    }

    flux::set_common_metadata(&mut list, &opts.overrides);

    Ok(BuildOutput {
        objects: list.into_iter().map(|r| r.obj).collect(),
        warnings: ctx.warnings,
    })
}

/// Appends the content hash to generated names (kustomize's `addHashesToNames`).
fn add_hashes(list: &mut [Resource]) {
    for r in list.iter_mut().filter(|r| r.needs_hash) {
        let h = name_hash(&r.obj);
        r.store_previous_id();
        let n = format!("{}-{}", r.name(), h);
        r.set_name(&n);
    }
}

fn is_local_config(r: &Resource) -> bool {
    r.obj
        .get("metadata")
        .and_then(|m| m.get("annotations"))
        .and_then(|a| a.get("config.kubernetes.io/local-config"))
        .and_then(Value::as_str)
        == Some("true")
}

fn sort_options(
    k: &crate::kustomization::Kustomization,
) -> Option<(Order, Vec<String>, Vec<String>)> {
    let so = k.field("sortOptions");
    if so.is_null() {
        return None;
    }
    let order = so.get("order").and_then(Value::as_str).unwrap_or("");
    if order == "fifo" {
        return Some((Order::Fifo, Vec::new(), Vec::new()));
    }
    let lso = so.get("legacySortOptions");
    let list = |k: &str, d: &[&str]| -> Vec<String> {
        match lso {
            Some(l) if !l.is_null() => l
                .get(k)
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            _ => d.iter().map(|x| x.to_string()).collect(),
        }
    };
    Some((
        Order::Legacy,
        list("orderFirst", order::DEFAULT_ORDER_FIRST),
        list("orderLast", order::DEFAULT_ORDER_LAST),
    ))
}
