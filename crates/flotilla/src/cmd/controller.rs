//! `flotilla controller`: run every reconciler against a cluster until SIGINT/SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, ValueEnum};
use flotilla_controller::{ControllerOptions, LeaderElection};

use crate::cli::GlobalArgs;
use crate::cmd::ctx;
use crate::ui::{fail, EXIT_NO_CLUSTER};

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One JSON object per line (for log collectors).
    Json,
    /// Human-readable lines.
    Text,
}

/// Flags of `flotilla controller` (the cluster comes from the global --kubeconfig/--context;
/// -n watches one namespace, otherwise all).
#[derive(Debug, Args)]
pub struct ControllerArgs {
    /// Reconciles running at once, per kind.
    #[arg(long, default_value_t = 4, value_name = "N")]
    pub concurrent: u16,
    /// Directory for artifacts.
    #[arg(long, default_value = "/data", value_name = "DIR")]
    pub storage_path: PathBuf,
    /// Address the artifact HTTP server listens on.
    #[arg(long, default_value = ":9090", value_name = "ADDR")]
    pub storage_addr: String,
    /// host:port written into artifact URLs (default: the listen address).
    #[arg(long, value_name = "HOST:PORT")]
    pub storage_adv_addr: Option<String>,
    /// Address serving /metrics, /healthz and /readyz.
    #[arg(long, default_value = ":8080", value_name = "ADDR")]
    pub metrics_addr: String,
    /// Address the webhook Receiver server listens on (not served unless given).
    #[arg(long, value_name = "ADDR")]
    pub receiver_addr: Option<String>,
    /// Run only while holding the leader-election Lease (for several replicas).
    #[arg(long)]
    pub leader_elect: bool,
    /// Namespace of the leader-election Lease.
    #[arg(long, default_value = "flux-system", value_name = "NAMESPACE")]
    pub leader_election_namespace: String,
    /// Reconcile only objects matching this label selector (sharding).
    #[arg(long, value_name = "SELECTOR")]
    pub watch_label_selector: Option<String>,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Log level: error, warn, info, debug, trace (or a tracing filter).
    #[arg(long, default_value = "info", value_name = "LEVEL")]
    pub log_level: String,
}

/// Runs the controller until SIGINT or SIGTERM.
pub fn run(global: GlobalArgs, args: ControllerArgs) -> anyhow::Result<ExitCode> {
    init_logs(&args)?;
    ctx::block_on(serve(global, args))?
}

fn init_logs(args: &ControllerArgs) -> anyhow::Result<()> {
    let filter = tracing_subscriber::EnvFilter::try_new(&args.log_level)
        .map_err(|e| fail(2, format!("invalid --log-level {:?}: {e}", args.log_level)))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match args.log_format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
    Ok(())
}

/// `:8080` (Go's listen syntax, as Flux's flags) becomes `0.0.0.0:8080`.
fn listen_addr(addr: &str) -> String {
    match addr.strip_prefix(':') {
        Some(port) => format!("0.0.0.0:{port}"),
        None => addr.to_string(),
    }
}

async fn client(global: &GlobalArgs) -> anyhow::Result<kube::Client> {
    let in_cluster = global.kubeconfig.is_none()
        && std::env::var_os("KUBECONFIG").is_none()
        && std::env::var_os("KUBERNETES_SERVICE_HOST").is_some();
    if in_cluster {
        let config = kube::Config::incluster()
            .map_err(|e| fail(EXIT_NO_CLUSTER, format!("in-cluster config: {e}")))?;
        return kube::Client::try_from(config)
            .map_err(|e| fail(EXIT_NO_CLUSTER, format!("in-cluster client: {e}")));
    }
    let opts = flotilla_ops::ClusterOptions {
        kubeconfig: global.kubeconfig.clone(),
        context: global.context.clone(),
        namespace: None,
    };
    let cluster = flotilla_ops::connect(&opts)
        .await
        .map_err(|e| fail(EXIT_NO_CLUSTER, e.to_string()))?;
    Ok(cluster.client)
}

async fn serve(global: GlobalArgs, args: ControllerArgs) -> anyhow::Result<ExitCode> {
    let client = client(&global).await?;
    let options = ControllerOptions {
        storage_path: args.storage_path.clone(),
        storage_addr: listen_addr(&args.storage_addr),
        storage_adv_addr: args.storage_adv_addr.clone(),
        metrics_addr: Some(listen_addr(&args.metrics_addr)),
        receiver_addr: args.receiver_addr.as_deref().map(listen_addr),
        concurrent: args.concurrent,
        leader_election: args.leader_elect.then(|| LeaderElection {
            lease_namespace: args.leader_election_namespace.clone(),
            ..LeaderElection::default()
        }),
        watch_label_selector: args.watch_label_selector.clone(),
        namespace: global.namespace.clone(),
        ..ControllerOptions::default()
    };
    flotilla_controller::run(client, options, shutdown_signal())
        .await
        .context("controller")?;
    Ok(ExitCode::SUCCESS)
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    tracing::info!("shutdown signal received");
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    /// `flotilla install` writes a Deployment running this binary: every flag it passes must
    /// be one `flotilla controller` accepts, or the installed pod would crash-loop.
    #[test]
    fn the_installed_deployment_passes_flags_the_controller_accepts() {
        let manifests =
            flotilla_ops::install::manifests(&flotilla_ops::install::InstallOptions::default())
                .unwrap();
        let deployment = manifests
            .iter()
            .find(|m| m["kind"] == "Deployment")
            .expect("a Deployment");
        let args: Vec<String> = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
            .as_array()
            .expect("container args")
            .iter()
            .map(|a| a.as_str().expect("string args").to_string())
            .collect();
        assert_eq!(args.first().map(String::as_str), Some("controller"));
        let parsed =
            crate::cli::Cli::try_parse_from(std::iter::once("flotilla".to_string()).chain(args));
        if let Err(e) = parsed {
            panic!("install's controller args are refused: {e}");
        }
    }
}
