//! `flotilla dev cluster`: run the embedded Kubernetes-compatible API server until SIGINT/SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use flotilla_devcluster::{Options, Server, ServerHandle, SimulateOptions};

use crate::cli::DevClusterArgs;

pub fn run(args: DevClusterArgs) -> anyhow::Result<ExitCode> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args))
}

async fn serve(args: DevClusterArgs) -> anyhow::Result<ExitCode> {
    let (handle, kubeconfig) = start(&args).await?;
    let storage = match &args.data_dir {
        Some(dir) => format!("objects kept in {}", dir.display()),
        None => "objects kept in memory only (use --data-dir to keep them)".to_string(),
    };
    println!(
        "Flotilla dev cluster listening on {} ({storage}).\n\
         Use it with kubectl:\n  \
         kubectl --kubeconfig {path} get namespaces\n\
         or for this shell:\n  \
         export KUBECONFIG={path}\n\
         Press Ctrl-C to stop.",
        handle.url(),
        path = kubeconfig.display(),
    );
    wait_for_signal().await?;
    eprintln!("stopping the dev cluster");
    handle.shutdown().await;
    Ok(ExitCode::SUCCESS)
}

/// Starts the server as the flags say and writes its kubeconfig (into the data directory, or a
/// per-port temp directory without one). Returns the handle and the kubeconfig path.
pub async fn start(args: &DevClusterArgs) -> anyhow::Result<(ServerHandle, PathBuf)> {
    let options = Options {
        data_dir: args.data_dir.clone(),
        address: args.address.clone(),
        port: args.port,
        simulate: (!args.no_simulate).then(|| SimulateOptions {
            delay: Duration::from_millis(args.simulate_delay_ms),
        }),
        ..Options::default()
    };
    let handle = Server::start(options)
        .await
        .context("starting the dev cluster")?;
    let kubeconfig: PathBuf = match &args.data_dir {
        Some(dir) => dir.join("kubeconfig"),
        None => std::env::temp_dir()
            .join(format!("flotilla-dev-{}", handle.addr.port()))
            .join("kubeconfig"),
    };
    handle
        .write_kubeconfig(&kubeconfig)
        .with_context(|| format!("writing the kubeconfig {}", kubeconfig.display()))?;
    Ok((handle, kubeconfig))
}

/// Completes on SIGINT or SIGTERM.
pub async fn wait_for_signal() -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.context("listening for SIGINT")?,
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    tokio::signal::ctrl_c()
        .await
        .context("listening for Ctrl-C")?;
    Ok(())
}
