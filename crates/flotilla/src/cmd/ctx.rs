//! What every cluster verb starts from: the parsed global flags, a client, the namespace, the UI.

use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use flotilla_ops::connect::{describe_request_error, is_unreachable};
use flotilla_ops::reconcile::ReconcileError;
use flotilla_ops::{Cluster, ClusterOptions};

use crate::cli::GlobalArgs;
use crate::ui::{fail, Ui, EXIT_FAILURE, EXIT_NO_CLUSTER, EXIT_TIMEOUT};

/// A connected command context.
pub struct Ctx {
    /// Client and default namespace.
    pub cluster: Cluster,
    /// Status lines.
    pub ui: Ui,
    /// `--timeout`.
    pub timeout: Duration,
}

/// Runs an async command on a fresh runtime.
pub fn block_on<F: Future>(fut: F) -> anyhow::Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    Ok(runtime.block_on(fut))
}

/// `--timeout` as a duration.
pub fn timeout(global: &GlobalArgs) -> anyhow::Result<Duration> {
    parse_duration("--timeout", &global.timeout)
}

/// A Go duration flag (`30s`, `5m`, `1h30m`).
pub fn parse_duration(flag: &str, text: &str) -> anyhow::Result<Duration> {
    flotilla_api::parse_go_duration(text).map_err(|e| {
        fail(
            2,
            format!("invalid {flag} {text:?}: {e}; use a duration such as 30s, 5m or 1h"),
        )
    })
}

/// Connects as the global flags say.
pub async fn connect(global: &GlobalArgs) -> anyhow::Result<Ctx> {
    let opts = ClusterOptions {
        kubeconfig: global.kubeconfig.clone(),
        context: global.context.clone(),
        namespace: global.namespace.clone(),
    };
    let cluster = flotilla_ops::connect(&opts)
        .await
        .map_err(|e| fail(EXIT_NO_CLUSTER, e.to_string()))?;
    Ok(Ctx {
        cluster,
        ui: Ui::new(global.no_color),
        timeout: timeout(global)?,
    })
}

impl Ctx {
    /// A failed API request as a one-line failure with the right exit status.
    pub fn api_error(&self, err: kube::Error) -> anyhow::Error {
        let code = if is_unreachable(&err) {
            EXIT_NO_CLUSTER
        } else {
            EXIT_FAILURE
        };
        fail(code, describe_request_error(&self.cluster, &err))
    }

    /// A reconcile error as a failure with the right exit status.
    pub fn reconcile_error(&self, err: ReconcileError) -> anyhow::Error {
        match err {
            ReconcileError::Api(e) => self.api_error(e),
            e @ ReconcileError::Timeout { .. } => fail(EXIT_TIMEOUT, e.to_string()),
            e => fail(EXIT_FAILURE, e.to_string()),
        }
    }
}
