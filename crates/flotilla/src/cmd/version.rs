//! `flotilla version` and `flotilla completion`.

use std::process::ExitCode;

use clap::CommandFactory;
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::Api;

use super::ctx::{block_on, connect};
use crate::cli::{Cli, CompletionArgs, GlobalArgs, Shell, VersionArgs};

pub fn version(global: GlobalArgs, args: VersionArgs) -> anyhow::Result<ExitCode> {
    println!("flotilla: v{}", env!("CARGO_PKG_VERSION"));
    if args.client {
        return Ok(ExitCode::SUCCESS);
    }
    block_on(async move {
        let ctx = connect(&global).await?;
        let info = ctx
            .cluster
            .client
            .apiserver_version()
            .await
            .map_err(|e| ctx.api_error(e))?;
        println!("kubernetes: {}", info.git_version);
        let deployments: Api<Deployment> =
            Api::namespaced(ctx.cluster.client.clone(), &ctx.cluster.namespace);
        let controller = deployments
            .get_opt(flotilla_ops::install::NAME)
            .await
            .ok()
            .flatten()
            .and_then(|d| {
                let v = serde_json::to_value(d).ok()?;
                v["spec"]["template"]["spec"]["containers"][0]["image"]
                    .as_str()
                    .map(str::to_string)
            });
        match controller {
            Some(image) => println!("controller: {image}"),
            None => println!(
                "controller: not installed in {} (`flotilla install`, or controllers run in process with `flotilla dev`)",
                ctx.cluster.namespace
            ),
        }
        Ok(ExitCode::SUCCESS)
    })?
}

pub fn completion(args: CompletionArgs) -> anyhow::Result<ExitCode> {
    let shell = match args.shell {
        Shell::Bash => clap_complete::Shell::Bash,
        Shell::Zsh => clap_complete::Shell::Zsh,
        Shell::Fish => clap_complete::Shell::Fish,
    };
    let mut cmd = Cli::command();
    // Into a buffer first: clap_complete panics when a direct write fails (`| head`).
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "flotilla", &mut script);
    match std::io::Write::write_all(&mut std::io::stdout().lock(), &script) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::anyhow!("writing the completion script: {e}"))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}
