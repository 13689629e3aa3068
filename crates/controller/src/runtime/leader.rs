//! Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules (expiry judged by local observation, not the holder's clock).

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use tokio::sync::watch;

/// Lease timings; the defaults are controller-runtime's (15s / 10s / 2s).
#[derive(Debug, Clone)]
pub struct LeaderElection {
    /// Lease name.
    pub lease_name: String,
    /// Lease namespace.
    pub lease_namespace: String,
    /// How long a lease is valid without renewal; others wait this long before taking over.
    pub lease_duration: Duration,
    /// The leader gives up when it could not renew for this long.
    pub renew_deadline: Duration,
    /// Time between attempts to acquire or renew.
    pub retry_period: Duration,
}

impl Default for LeaderElection {
    fn default() -> Self {
        LeaderElection {
            lease_name: "flotilla-controller-leader-election".to_string(),
            lease_namespace: "flux-system".to_string(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// Why leadership could not be held.
#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    /// The lease could not be renewed within the renew deadline; another replica may lead now.
    #[error("lost the leader election lease {namespace}/{name}: not renewed within {deadline:?}")]
    Lost {
        /// Lease namespace.
        namespace: String,
        /// Lease name.
        name: String,
        /// The renew deadline that passed.
        deadline: Duration,
    },
}

/// One replica's side of the election.
pub struct Elector {
    api: Api<Lease>,
    config: LeaderElection,
    identity: String,
    /// The last lease record seen (holder, renew time) and when it was first seen locally.
    observed: Option<(String, Option<String>, Instant)>,
}

impl Elector {
    /// An elector for `identity` (unique per replica).
    pub fn new(client: kube::Client, config: LeaderElection, identity: String) -> Elector {
        let api = Api::namespaced(client, &config.lease_namespace);
        Elector {
            api,
            config,
            identity,
            observed: None,
        }
    }

    /// Waits until this replica holds the lease (or `stop` fires: returns false).
    pub async fn acquire(&mut self, stop: &mut watch::Receiver<bool>) -> bool {
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    tracing::info!(identity = %self.identity, lease = %self.config.lease_name, "acquired leader lease");
                    return true;
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "leader election: lease access failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.retry_period) => {}
                _ = stop.changed() => return false,
            }
        }
    }

    /// Renews the lease every retry period until `stop` fires (returns Ok) or a renewal fails
    /// for longer than the renew deadline (returns the loss).
    pub async fn hold(&mut self, stop: &mut watch::Receiver<bool>) -> Result<(), LeaderError> {
        let mut last_renew = Instant::now();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.config.retry_period) => {}
                _ = stop.changed() => return Ok(()),
            }
            match self.try_acquire_or_renew().await {
                Ok(true) => last_renew = Instant::now(),
                Ok(false) => return Err(self.lost()),
                Err(e) => tracing::warn!(error = %e, "leader election: renewing the lease failed"),
            }
            if last_renew.elapsed() > self.config.renew_deadline {
                return Err(self.lost());
            }
        }
    }

    /// Gives the lease up so another replica takes over at once (controller-runtime's
    /// release-on-cancel: no holder, a one-second duration).
    pub async fn release(&self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.config.lease_name).await else {
            return;
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        if spec.holder_identity.as_deref() != Some(self.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        spec.lease_duration_seconds = Some(1);
        let now = MicroTime(Timestamp::now());
        spec.renew_time = Some(now.clone());
        spec.acquire_time = Some(now);
        match self
            .api
            .replace(&self.config.lease_name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => tracing::info!(identity = %self.identity, "released leader lease"),
            Err(e) => tracing::warn!(error = %e, "could not release the leader lease"),
        }
    }

    fn lost(&self) -> LeaderError {
        LeaderError::Lost {
            namespace: self.config.lease_namespace.clone(),
            name: self.config.lease_name.clone(),
            deadline: self.config.renew_deadline,
        }
    }

    /// One attempt: create the lease, renew ours, or take over an expired one. Returns whether
    /// this replica holds it afterwards.
    async fn try_acquire_or_renew(&mut self) -> Result<bool, kube::Error> {
        let now = MicroTime(Timestamp::now());
        let duration_secs = i32::try_from(self.config.lease_duration.as_secs()).unwrap_or(15);
        let Some(mut lease) = self.api.get_opt(&self.config.lease_name).await? else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.lease_name.clone()),
                    namespace: Some(self.config.lease_namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(LeaseSpec {
                    holder_identity: Some(self.identity.clone()),
                    lease_duration_seconds: Some(duration_secs),
                    acquire_time: Some(now.clone()),
                    renew_time: Some(now),
                    lease_transitions: Some(0),
                    ..LeaseSpec::default()
                }),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(e),
            };
        };
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let renew = spec.renew_time.as_ref().map(|t| t.0.to_string());
        let record_duration = Duration::from_secs(
            u64::try_from(spec.lease_duration_seconds.unwrap_or(duration_secs)).unwrap_or(15),
        );
        // A record that changed is fresh from now on; an unchanged one ages from when first seen.
        let seen_at = match &self.observed {
            Some((h, r, at)) if *h == holder && *r == renew => *at,
            _ => Instant::now(),
        };
        self.observed = Some((holder.clone(), renew, seen_at));
        let ours = holder == self.identity;
        let free = holder.is_empty() || seen_at.elapsed() > record_duration;
        if !ours && !free {
            return Ok(false);
        }
        if !ours {
            spec.acquire_time = Some(now.clone());
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0) + 1);
        }
        spec.holder_identity = Some(self.identity.clone());
        spec.lease_duration_seconds = Some(duration_secs);
        spec.renew_time = Some(now);
        // The resourceVersion in `lease` makes this a compare-and-swap.
        match self
            .api
            .replace(&self.config.lease_name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => {
                self.observed = None;
                Ok(true)
            }
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(e),
        }
    }
}
