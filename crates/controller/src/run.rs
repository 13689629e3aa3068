//! `run`: servers, leader election and every kind's reconcile loop, until shutdown.

use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::gitrepository::{self, GitRepositoryReconciler};
use crate::kustomization::{Fetcher, KustomizationOptions, KustomizationReconciler};
use crate::options::{ControllerOptions, Kind};
use crate::runtime::http::{self, Probes};
use crate::runtime::leader::{Elector, LeaderError};
use crate::runtime::metrics::Metrics;
use crate::runtime::{HarnessOptions, Shared};

/// Why the controller stopped other than by shutdown.
#[derive(Debug, thiserror::Error)]
pub enum ControllerError {
    /// An address could not be bound.
    #[error("cannot listen on {addr} ({what}): {source}; pick another address or free the port")]
    Bind {
        /// `--metrics-addr` or `--storage-addr`.
        what: &'static str,
        /// The address.
        addr: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The storage directory could not be created.
    #[error("cannot create storage directory {}: {source}", path.display())]
    Storage {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Leadership was lost; the process should exit so a fresh start competes again.
    #[error(transparent)]
    LeaderLost(#[from] LeaderError),
}

/// Runs every reconciler in `opts.kinds` until `shutdown` completes: in-flight reconciles
/// finish, the lease (if any) is released, the servers stop. Returns an error only when the
/// process cannot start or leadership was lost.
pub async fn run(
    client: kube::Client,
    opts: ControllerOptions,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), ControllerError> {
    let identity = opts.identity.clone().unwrap_or_else(default_identity);
    let metrics = Arc::new(Metrics::default());
    let ready = Arc::new(AtomicBool::new(false));
    let (servers_stop, servers_rx) = watch::channel(false);
    let mut servers = JoinSet::new();

    if let Some(addr) = &opts.metrics_addr {
        let listener = http::bind(addr)
            .await
            .map_err(|source| ControllerError::Bind {
                what: "--metrics-addr",
                addr: addr.clone(),
                source,
            })?;
        let probes = Probes {
            metrics: metrics.clone(),
            ready: ready.clone(),
        };
        tracing::info!(addr = ?http::local_addr(&listener), "serving /metrics, /healthz, /readyz");
        servers.spawn(http::serve(
            listener,
            move |req| http::probes(probes.clone(), req),
            servers_rx.clone(),
        ));
    }

    let mut git = None;
    if opts.kinds.contains(&Kind::GitRepository) {
        std::fs::create_dir_all(&opts.storage_path).map_err(|source| ControllerError::Storage {
            path: opts.storage_path.clone(),
            source,
        })?;
        let listener =
            http::bind(&opts.storage_addr)
                .await
                .map_err(|source| ControllerError::Bind {
                    what: "--storage-addr",
                    addr: opts.storage_addr.clone(),
                    source,
                })?;
        let bound = http::local_addr(&listener)
            .map(|a| a.to_string())
            .unwrap_or_else(|| opts.storage_addr.clone());
        let adv = opts.storage_adv_addr.clone().unwrap_or(bound);
        tracing::info!(addr = %opts.storage_addr, advertised = %adv, path = %opts.storage_path.display(), "serving artifacts");
        let storage = flotilla_source::Storage::new(&opts.storage_path);
        let served = storage.clone();
        servers.spawn(http::serve(
            listener,
            move |req| gitrepository::serve_artifact(served.clone(), req),
            servers_rx.clone(),
        ));
        git = Some((storage, adv));
    }

    if let Some(addr) = &opts.receiver_addr {
        let bind_err = |source| ControllerError::Bind {
            what: "--receiver-addr",
            addr: addr.clone(),
            source,
        };
        let parsed: std::net::SocketAddr = addr
            .parse()
            .map_err(|e| bind_err(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))?;
        let server = flotilla_notify::ReceiverServer::bind(
            parsed,
            client.clone(),
            flotilla_notify::ReceiverServerOptions::default(),
        )
        .await
        .map_err(|e| bind_err(std::io::Error::other(e.to_string())))?;
        tracing::info!(addr = %server.local_addr(), "serving webhook receivers at /hook/");
        let mut stop = servers_rx.clone();
        servers.spawn(async move {
            let stopped = async move {
                let _ = stop.wait_for(|s| *s).await;
            };
            if let Err(e) = server.run(stopped).await {
                tracing::error!(error = %e, "webhook receiver server stopped");
            }
        });
    }

    let mut shutdown = std::pin::pin!(shutdown);
    let mut elector = opts
        .leader_election
        .clone()
        .map(|le| Elector::new(client.clone(), le, identity.clone()));
    // Standing by counts as ready: the probe is about the process, not leadership.
    ready.store(true, Ordering::SeqCst);
    if let Some(elector) = elector.as_mut() {
        let (_never, mut never_rx) = watch::channel(false);
        let acquired = tokio::select! {
            acquired = elector.acquire(&mut never_rx) => acquired,
            _ = &mut shutdown => false,
        };
        if !acquired {
            stop_servers(servers_stop, servers).await;
            return Ok(());
        }
    }

    let shared = Shared {
        client: client.clone(),
        metrics: metrics.clone(),
        identity: identity.clone(),
    };
    let harness = HarnessOptions {
        namespace: opts.namespace.clone(),
        label_selector: opts.watch_label_selector.clone(),
        concurrent: opts.concurrent,
        min_retry_delay: opts.min_retry_delay,
        max_retry_delay: opts.max_retry_delay,
    };
    // Events reach Alerts only from the leader, as only the leader reconciles.
    let _sink = opts.alerts.then(|| {
        let sink = Arc::new(crate::notification::DispatchSink::new(
            client.clone(),
            flotilla_notify::DispatchOptions::default(),
        ));
        let dispatcher = sink.dispatcher().clone();
        metrics.add_family(move || dispatcher.metrics().to_prometheus());
        crate::runtime::events::register_sink(&identity, sink)
    });
    let (loops_stop, loops_rx) = watch::channel(false);
    let mut loops = JoinSet::new();
    if opts.kinds.contains(&Kind::Kustomization) {
        let own = git
            .as_ref()
            .map(|(storage, adv)| (storage.clone(), format!("http://{adv}")));
        let reconciler = KustomizationReconciler::new(
            client.clone(),
            Fetcher { own },
            KustomizationOptions {
                requeue_dependency: opts.requeue_dependency,
                default_service_account: opts.default_service_account.clone(),
                no_cross_namespace_refs: opts.no_cross_namespace_refs,
                strict_substitution: opts.strict_substitution,
                ..KustomizationOptions::default()
            },
        );
        loops.spawn(crate::runtime::spawn(
            reconciler,
            shared.clone(),
            harness.clone(),
            loops_rx.clone(),
        ));
    }
    if let Some((storage, adv)) = git {
        let reconciler = GitRepositoryReconciler::new(
            client.clone(),
            storage,
            opts.cache_path(),
            format!("http://{adv}"),
            opts.artifact_retention,
        );
        loops.spawn(crate::runtime::spawn(
            reconciler,
            shared.clone(),
            harness.clone(),
            loops_rx.clone(),
        ));
    }

    let image_kinds = [Kind::ImageRepository, Kind::ImagePolicy];
    if image_kinds.iter().any(|k| opts.kinds.contains(k)) {
        let store = flotilla_image::TagStore::new(crate::image::tag_store_dir(&opts.storage_path));
        if opts.kinds.contains(&Kind::ImageRepository) {
            let ecr = flotilla_image::EcrTokenCache::new(Default::default())
                .map_err(|e| tracing::warn!(error = %e, "ECR logins unavailable"))
                .ok();
            let reconciler =
                crate::image::ImageRepositoryReconciler::new(client.clone(), store.clone(), ecr);
            loops.spawn(crate::runtime::spawn(
                reconciler,
                shared.clone(),
                harness.clone(),
                loops_rx.clone(),
            ));
        }
        if opts.kinds.contains(&Kind::ImagePolicy) {
            let reconciler = crate::image::ImagePolicyReconciler::new(client.clone(), store);
            loops.spawn(crate::runtime::spawn_following::<
                _,
                flotilla_api::image::ImageRepository,
            >(
                reconciler,
                shared.clone(),
                harness.clone(),
                loops_rx.clone(),
            ));
        }
    }
    if opts.kinds.contains(&Kind::ImageUpdateAutomation) {
        let reconciler =
            crate::image::ImageUpdateAutomationReconciler::new(client.clone(), identity.clone());
        loops.spawn(crate::runtime::spawn_following::<
            _,
            flotilla_api::image::ImagePolicy,
        >(
            reconciler,
            shared.clone(),
            harness.clone(),
            loops_rx.clone(),
        ));
    }

    if opts.kinds.contains(&Kind::Receiver) {
        loops.spawn(crate::notification::run_receivers(
            shared.clone(),
            harness.clone(),
            loops_rx.clone(),
        ));
    }

    let outcome = match elector.as_mut() {
        Some(elector) => {
            let (_never, mut never_rx) = watch::channel(false);
            tokio::select! {
                held = elector.hold(&mut never_rx) => held,
                _ = &mut shutdown => Ok(()),
            }
        }
        None => {
            shutdown.await;
            Ok(())
        }
    };
    tracing::info!("stopping: letting in-flight reconciles finish");
    let _ = loops_stop.send(true);
    while loops.join_next().await.is_some() {}
    if let (Some(elector), Ok(())) = (elector.as_ref(), &outcome) {
        elector.release().await;
    }
    stop_servers(servers_stop, servers).await;
    outcome.map_err(ControllerError::from)
}

async fn stop_servers(stop: watch::Sender<bool>, mut servers: JoinSet<()>) {
    let _ = stop.send(true);
    while servers.join_next().await.is_some() {}
}

/// `<hostname>_<random>`, as controller-runtime makes lease identities unique per process.
fn default_identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "flotilla".to_string());
    format!("{host}_{:08x}", rand::random::<u32>())
}
