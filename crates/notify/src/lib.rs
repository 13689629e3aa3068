//! Flux-compatible notifications: events matched by Alerts and sent through Providers, and
//! webhook Receivers that request reconciles.
//!
//! Outbound, events flow [`Event`] → [`Dispatcher::submit`] → Alerts selected by
//! [`alert::evaluate`] → one delivery per matching Alert through a [`Notifier`] built from the
//! Alert's Provider ([`ProviderSettings`]). The [`Dispatcher`] drops duplicates within the
//! rate-limit window (Flux's key and 5 minute window), retries failing providers with backoff
//! on their own tasks so one provider that is down never holds up another, and counts every
//! outcome in [`MetricsSnapshot`] (also rendered as Prometheus text). Where Alerts, Providers,
//! Secrets and labels come from is a [`Resolver`]: [`KubeResolver`] reads them from the
//! cluster, [`StaticResolver`] holds them in memory.
//!
//! Inbound, [`serve_receivers`] (or [`ReceiverServer`]) serves `/hook/<sha256(token+name+namespace)>`
//! ([`webhook_path`]); a request is validated as its Receiver's type requires
//! ([`receiver::validate`]) and each listed resource is annotated with
//! `reconcile.fluxcd.io/requestedAt` ([`request_reconcile`]). The Receiver reconciler sets
//! `status.webhookPath` from [`receiver_webhook_path`].
//!
//! Secrets (tokens, addresses carrying credentials, header values) never appear in `Debug`
//! output, logs or error messages.
//!
//! Wiring into the controller:
//! - one `Dispatcher::new(KubeResolver::new(client), DispatchOptions::default())`, cloned into
//!   the event recorder; for each published event, `Event::new(regarding, severity, reason,
//!   note, controller)` with the note's metadata keys as they are (`<group>/revision`, …), then
//!   `dispatcher.submit(event).await` (errors are worth a log line; the dispatcher counts them);
//! - `dispatcher.metrics().to_prometheus()` appended to `/metrics`;
//! - `serve_receivers(receiver_addr, client, shutdown)` spawned next to the other servers;
//! - a Receiver reconciler that sets `status.webhookPath` from [`receiver_webhook_path`] and
//!   `Ready` ("Receiver initialised for path: …"), or `Ready=False` with the
//!   [`ReceiverError`] text. The server also finds Receivers whose status has no path yet.

mod crypto;
pub mod dispatch;
pub mod event;
pub mod provider;
pub mod receiver;
mod transport;

pub use dispatch::alert;
pub use dispatch::{
    DispatchError, DispatchOptions, Dispatcher, KubeResolver, MetricsSnapshot, ProviderMetrics,
    ResolveError, Resolver, RetryPolicy, StaticResolver, Submitted,
};
pub use event::{Event, Severity};
pub use provider::{Notifier, ProviderError, ProviderKind, ProviderSettings, SendError};
pub use receiver::{
    receiver_webhook_path, request_reconcile, serve_receivers, webhook_path, ReceiverError,
    ReceiverServer, ReceiverServerOptions, ReceiverType, Rejection,
};
pub use transport::HttpError;
