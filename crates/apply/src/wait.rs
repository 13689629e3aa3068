//! Waiting on objects: until all are Current by kstatus' rules (health checks), or until all
//! are gone (deletion with WaitForTermination), polling live objects.

use std::fmt;
use std::time::Duration;

use flotilla_api::ObjMetadata;
use futures::StreamExt;
use tokio::time::Instant;

use crate::applier::Applier;
use crate::kstatus::{self, State, Status};
use crate::object::subject;

/// How [`Applier::wait`] and [`Applier::wait_for_termination`] poll.
#[derive(Debug, Clone)]
pub struct WaitOptions {
    /// Give up after this long.
    pub timeout: Duration,
    /// Pause between polls.
    pub interval: Duration,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Stop as soon as an object is Failed instead of waiting for the timeout.
    pub fail_fast: bool,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            timeout: Duration::from_secs(300),
            interval: Duration::from_millis(500),
            concurrency: 8,
            fail_fast: false,
        }
    }
}

/// One object that is not where it should be, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// The object.
    pub object: ObjMetadata,
    /// Its last computed status.
    pub status: Status,
}

impl fmt::Display for Pending {
    /// `Deployment/apps/web status: 'InProgress': Ready: 0/1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} status: '{}'",
            subject(&self.object),
            self.status.state
        )?;
        if !self.status.message.is_empty() {
            write!(f, ": {}", self.status.message)?;
        }
        Ok(())
    }
}

fn list(p: &[Pending]) -> String {
    p.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a wait ended without success.
#[derive(Debug, Clone, thiserror::Error)]
pub enum WaitError {
    /// The timeout passed with objects not ready (or, for termination, not gone).
    #[error("timeout waiting for: [{}] after {timeout:?}", list(.pending))]
    Timeout {
        /// Every object still waited on, with its status.
        pending: Vec<Pending>,
        /// The timeout.
        timeout: Duration,
    },
    /// With `fail_fast`: objects reached Failed.
    #[error("health check failed for: [{}]", list(.failed))]
    Failed {
        /// The failed objects.
        failed: Vec<Pending>,
    },
    /// An object could not be read (not a NotFound: that is a status).
    #[error("{object} status query failed: {message}")]
    Query {
        /// `Kind/namespace/name`.
        object: String,
        /// What the API server or client said.
        message: String,
    },
}

impl Applier {
    /// The kstatus status of one object (NotFound when absent or its kind is not served).
    pub async fn status(&self, object: &ObjMetadata) -> Result<Status, WaitError> {
        let query = |message: String| WaitError::Query {
            object: subject(object),
            message,
        };
        let resolved =
            self.discovery
                .resolve_group_kind(&object.group, &object.kind)
                .await
                .map_err(|e| match e {
                    crate::discovery::Lookup::NotServed(m)
                    | crate::discovery::Lookup::Failed(m) => query(m),
                })?;
        let Some(resolved) = resolved else {
            return Ok(Status::not_found());
        };
        match self.get(&resolved, object).await {
            Ok(Some(live)) => Ok(kstatus::compute(&live)),
            Ok(None) => Ok(Status::not_found()),
            Err(e) => Err(query(e.to_string())),
        }
    }

    /// Polls `objects` until every one is Current; on timeout the error names each object
    /// not ready and why.
    pub async fn wait(&self, objects: &[ObjMetadata], opts: &WaitOptions) -> Result<(), WaitError> {
        self.poll(objects, opts, |s| s.state == State::Current, true)
            .await
    }

    /// Polls `objects` until every one is gone (NotFound).
    pub async fn wait_for_termination(
        &self,
        objects: &[ObjMetadata],
        opts: &WaitOptions,
    ) -> Result<(), WaitError> {
        self.poll(objects, opts, |s| s.state == State::NotFound, false)
            .await
    }

    async fn poll(
        &self,
        objects: &[ObjMetadata],
        opts: &WaitOptions,
        done: impl Fn(&Status) -> bool,
        may_fail: bool,
    ) -> Result<(), WaitError> {
        let deadline = Instant::now() + opts.timeout;
        let mut pending: Vec<ObjMetadata> = objects.to_vec();
        pending.sort();
        pending.dedup();
        loop {
            let statuses: Vec<Result<Status, WaitError>> = futures::stream::iter(&pending)
                .map(|o| self.status(o))
                .buffered(opts.concurrency.max(1))
                .collect()
                .await;
            let mut still = Vec::new();
            for (o, s) in pending.iter().zip(statuses) {
                let s = s?;
                if !done(&s) {
                    still.push(Pending {
                        object: o.clone(),
                        status: s,
                    });
                }
            }
            if still.is_empty() {
                return Ok(());
            }
            if may_fail && opts.fail_fast {
                let failed: Vec<Pending> = still
                    .iter()
                    .filter(|p| p.status.state == State::Failed)
                    .cloned()
                    .collect();
                if !failed.is_empty() {
                    return Err(WaitError::Failed { failed });
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(WaitError::Timeout {
                    pending: still,
                    timeout: opts.timeout,
                });
            }
            pending = still.into_iter().map(|p| p.object).collect();
            tokio::time::sleep(opts.interval.min(deadline - now)).await;
        }
    }
}
