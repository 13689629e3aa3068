//! `flotilla build kustomization NAME --path DIR`: the YAML the controller would apply.

use std::io::Write;
use std::process::ExitCode;

use flotilla_api::Kustomization;
use flotilla_ops::build::{self, BuildOptions};
use serde_json::Value;

use super::ctx::{block_on, connect};
use crate::cli::{BuildArgs, BuildWhat, GlobalArgs, LocalBuildArgs};
use crate::ui::{fail, EXIT_FAILURE};

pub fn run(global: GlobalArgs, args: BuildArgs) -> anyhow::Result<ExitCode> {
    let BuildWhat::Kustomization(a) = args.what;
    let objects = local_build(&global, &a, true)?.1;
    let mut out = std::io::stdout().lock();
    out.write_all(build::to_yaml(&objects).as_bytes())?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// The Kustomization (from the file or the cluster) and the build of `--path` with it.
/// `mask`: Secret values replaced (for printing); diff masks after the dry run instead.
pub fn local_build(
    global: &GlobalArgs,
    a: &LocalBuildArgs,
    mask: bool,
) -> anyhow::Result<(Kustomization, Vec<Value>)> {
    if a.dry_run && a.kustomization_file.is_none() {
        return Err(fail(
            2,
            "--dry-run needs --kustomization-file: without a cluster the spec must come from a file",
        ));
    }
    let opts = BuildOptions {
        strict_substitution: a.strict_substitute,
        mask_secrets: mask,
    };
    let err = |e: build::BuildError| fail(EXIT_FAILURE, e.to_string());
    let from_file = match &a.kustomization_file {
        Some(f) => Some(build::read_kustomization_file(f, &a.name).map_err(err)?),
        None => None,
    };
    if a.dry_run {
        let k = from_file.expect("checked above: --dry-run has a file");
        let objects = build::build(&k, &a.path, &[], &opts).map_err(err)?;
        return Ok((k, objects));
    }
    block_on(async move {
        let ctx = connect(global).await?;
        let ns = ctx.cluster.namespace.clone();
        let mut k = match from_file {
            Some(k) => k,
            None => build::get_kustomization(&ctx.cluster.client, &ns, &a.name)
                .await
                .map_err(err)?,
        };
        let k_ns = k.metadata.namespace.get_or_insert(ns).clone();
        let sources = build::var_sources(&ctx.cluster.client, &k_ns, &k.spec)
            .await
            .map_err(err)?;
        let path = a.path.clone();
        let k2 = k.clone();
        let objects =
            tokio::task::spawn_blocking(move || build::build(&k2, &path, &sources, &opts))
                .await?
                .map_err(err)?;
        Ok((k, objects))
    })?
}
