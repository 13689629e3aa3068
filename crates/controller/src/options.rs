//! `ControllerOptions`: what `flotilla controller` (and `flotilla dev`) configure.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use crate::runtime::leader::LeaderElection;
use crate::runtime::schedule::{MAX_RETRY_DELAY, MIN_RETRY_DELAY};

/// The kinds a controller process can reconcile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// `source.toolkit.fluxcd.io/v1` GitRepository (source-controller).
    GitRepository,
    /// `kustomize.toolkit.fluxcd.io/v1` Kustomization (kustomize-controller).
    Kustomization,
    /// `image.toolkit.fluxcd.io/v1` ImageRepository (image-reflector-controller).
    ImageRepository,
    /// `image.toolkit.fluxcd.io/v1` ImagePolicy (image-reflector-controller).
    ImagePolicy,
    /// `image.toolkit.fluxcd.io/v1` ImageUpdateAutomation (image-automation-controller).
    ImageUpdateAutomation,
    /// `notification.toolkit.fluxcd.io/v1` Receiver (notification-controller).
    Receiver,
}

impl Kind {
    /// Every kind this build reconciles.
    pub const ALL: &'static [Kind] = &[
        Kind::GitRepository,
        Kind::Kustomization,
        Kind::ImageRepository,
        Kind::ImagePolicy,
        Kind::ImageUpdateAutomation,
        Kind::Receiver,
    ];
}

/// Settings of a controller process. `Default` suits a local run (`flotilla dev`).
#[derive(Debug, Clone)]
pub struct ControllerOptions {
    /// Where artifacts are stored (`--storage-path`).
    pub storage_path: PathBuf,
    /// Where Git caches live; `None`: `<storage_path>/.cache` (never served).
    pub cache_path: Option<PathBuf>,
    /// Address the artifact HTTP server binds (`--storage-addr`); port 0 picks a free one.
    pub storage_addr: String,
    /// `host:port` written into artifact URLs (`--storage-adv-addr`); `None`: the bound address.
    pub storage_adv_addr: Option<String>,
    /// Address serving /metrics, /healthz, /readyz (`--metrics-addr`); `None`: not served.
    pub metrics_addr: Option<String>,
    /// Address the webhook Receiver server binds (`--receiver-addr`); `None`: not served.
    pub receiver_addr: Option<String>,
    /// Send every reconciler's events to matching Alerts' Providers (in-process dispatch).
    pub alerts: bool,
    /// Reconciles at once, per kind (`--concurrent`).
    pub concurrent: u16,
    /// Delay before retrying an object whose dependency is not ready (`--requeue-dependency`).
    pub requeue_dependency: Duration,
    /// Leader election (`--leader-elect`); `None`: run without a lease.
    pub leader_election: Option<LeaderElection>,
    /// Reconcile only objects matching this label selector (`--watch-label-selector`).
    pub watch_label_selector: Option<String>,
    /// Watch one namespace; `None`: all namespaces.
    pub namespace: Option<String>,
    /// ServiceAccount to impersonate when an object names none (`--default-service-account`).
    pub default_service_account: Option<String>,
    /// Refuse Kustomization sources and dependencies in other namespaces (`--no-cross-namespace-refs`).
    pub no_cross_namespace_refs: bool,
    /// Undefined postBuild variables without a default are errors (`--feature-gates=StrictPostBuildSubstitutions=true`).
    pub strict_substitution: bool,
    /// Which kinds to run.
    pub kinds: BTreeSet<Kind>,
    /// This replica's identity (lease holder, events' reportingInstance); `None`: hostname + random suffix.
    pub identity: Option<String>,
    /// First retry delay after a failure (Flux's `--min-retry-delay`).
    pub min_retry_delay: Duration,
    /// Longest retry delay (Flux's `--max-retry-delay`).
    pub max_retry_delay: Duration,
    /// Artifacts kept per object, the current one included (Flux's `--artifact-retention-records`).
    pub artifact_retention: usize,
}

impl Default for ControllerOptions {
    fn default() -> Self {
        ControllerOptions {
            storage_path: std::env::temp_dir().join("flotilla-storage"),
            cache_path: None,
            storage_addr: "127.0.0.1:9090".to_string(),
            storage_adv_addr: None,
            metrics_addr: Some("127.0.0.1:8080".to_string()),
            receiver_addr: None,
            alerts: true,
            concurrent: 4,
            requeue_dependency: Duration::from_secs(30),
            leader_election: None,
            watch_label_selector: None,
            namespace: None,
            default_service_account: None,
            no_cross_namespace_refs: false,
            strict_substitution: false,
            kinds: Kind::ALL.iter().copied().collect(),
            identity: None,
            min_retry_delay: MIN_RETRY_DELAY,
            max_retry_delay: MAX_RETRY_DELAY,
            artifact_retention: 2,
        }
    }
}

impl ControllerOptions {
    /// The Git cache directory.
    pub fn cache_path(&self) -> PathBuf {
        self.cache_path
            .clone()
            .unwrap_or_else(|| self.storage_path.join(".cache"))
    }
}
