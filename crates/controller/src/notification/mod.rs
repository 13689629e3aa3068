//! notification-controller: events to Alerts and Providers in process, and the Receiver reconciler.
//!
//! Every reconciler's events reach [`DispatchSink`] through the event recorder (see
//! [`crate::runtime::events::register_sink`]); the sink hands each one to a
//! [`flotilla_notify::Dispatcher`] that reads Alerts and Providers (v1beta3, static objects
//! without status, as Flux's notification-controller since v2.2) from the cluster at event
//! time. A Provider that cannot be used (unknown type, bad address, missing Secret) has no
//! status to carry the error (v1beta3 Providers have no status subresource): the dispatcher
//! logs it with the Alert and Provider named and counts the event as failed in its metrics.

use std::sync::Arc;
use std::time::Duration;

use flotilla_api::Receiver;
use flotilla_notify::{DispatchOptions, Dispatcher, Event, KubeResolver, ReceiverError, Severity};
use k8s_openapi::api::core::v1::ObjectReference;
use kube::api::{Api, ListParams};
use kube::ResourceExt;
use tokio::sync::watch;

use crate::runtime::events::{EventNote, EventSink, EventType};
use crate::runtime::{Failure, HarnessOptions, Reconciler, Shared, Success};

/// The provider and receiver types Flotilla handles (for the CLI's checks).
pub use flotilla_notify::{ProviderKind, ReceiverType};

/// The controller name notification objects report as.
pub const CONTROLLER_NAME: &str = "notification-controller";

/// Hands every published event to the Alert dispatcher on its own task.
pub struct DispatchSink {
    dispatcher: Dispatcher<KubeResolver>,
    runtime: tokio::runtime::Handle,
}

impl DispatchSink {
    /// A sink dispatching through Alerts and Providers read with `client`. Must be made on
    /// the Tokio runtime the deliveries run on.
    pub fn new(client: kube::Client, options: DispatchOptions) -> DispatchSink {
        DispatchSink {
            dispatcher: Dispatcher::new(KubeResolver::new(client), options),
            runtime: tokio::runtime::Handle::current(),
        }
    }

    /// The dispatcher (metrics, waiting for deliveries).
    pub fn dispatcher(&self) -> &Dispatcher<KubeResolver> {
        &self.dispatcher
    }
}

/// The notify crate's event for a published event note.
pub fn to_event(controller: &str, regarding: &ObjectReference, note: &EventNote) -> Event {
    let severity = match note.type_ {
        EventType::Normal => Severity::Info,
        EventType::Warning => Severity::Error,
    };
    let mut event = Event::new(
        regarding.clone(),
        severity,
        note.reason.clone(),
        note.note.clone(),
        controller,
    );
    // Keys arrive as the controllers annotate them (`<group>/revision`), which is the shape
    // Flux's controllers post; the dispatcher strips the group.
    event.metadata.extend(note.metadata.iter().cloned());
    event
}

impl EventSink for DispatchSink {
    fn accept(&self, controller: &'static str, regarding: &ObjectReference, note: &EventNote) {
        let event = to_event(controller, regarding, note);
        let dispatcher = self.dispatcher.clone();
        self.runtime.spawn(async move {
            if let Err(e) = dispatcher.submit(event).await {
                tracing::error!(error = %e, "event not dispatched to Alerts");
            }
        });
    }
}

/// Sets a Receiver's `status.webhookPath` from its token and marks it Ready.
pub struct ReceiverReconciler {
    client: kube::Client,
}

impl ReceiverReconciler {
    /// A reconciler reading Secrets with `client`.
    pub fn new(client: kube::Client) -> ReceiverReconciler {
        ReceiverReconciler { client }
    }
}

fn receiver_id(r: &Receiver) -> String {
    format!("{}/{}", r.namespace().unwrap_or_default(), r.name_any())
}

/// Spec errors that no retry can fix.
fn check_spec(r: &Receiver) -> Result<(), ReceiverError> {
    if ReceiverType::parse(&r.spec.type_).is_none() {
        return Err(ReceiverError::UnsupportedType {
            receiver: receiver_id(r),
            type_: r.spec.type_.clone(),
        });
    }
    for res in &r.spec.resources {
        let labels = res.match_labels.as_ref().is_some_and(|l| !l.is_empty());
        if res.name == "*" && !labels {
            return Err(ReceiverError::WildcardWithoutLabels {
                receiver: receiver_id(r),
                kind: res.kind.clone(),
            });
        }
    }
    Ok(())
}

impl Reconciler for ReceiverReconciler {
    type Object = Receiver;

    fn controller_name(&self) -> &'static str {
        CONTROLLER_NAME
    }

    fn uses_finalizer(&self) -> bool {
        false
    }

    async fn reconcile(&self, r: &mut Receiver) -> Result<Success, Failure> {
        if let Err(e) = check_spec(r) {
            return Err(Failure::stalled("InvalidReceiver", e.to_string()));
        }
        let path = match flotilla_notify::receiver_webhook_path(&self.client, r).await {
            Ok(path) => path,
            Err(e @ ReceiverError::NoSecretRef { .. }) => {
                return Err(Failure::stalled("InvalidReceiver", e.to_string()))
            }
            Err(e) => return Err(Failure::retry("TokenNotFound", e.to_string())),
        };
        let message = format!("Receiver initialized for path: {path}");
        r.status.get_or_insert_with(Default::default).webhook_path = Some(path);
        Ok(Success::new("Succeeded", message))
    }
}

/// First wait before looking again for a missing Receiver CRD; doubles up to
/// [`CRD_RECHECK_MAX`].
pub const CRD_RECHECK_MIN: Duration = Duration::from_secs(10);
/// Longest wait between two looks for a missing Receiver CRD.
pub const CRD_RECHECK_MAX: Duration = Duration::from_secs(300);

/// Whether the cluster serves Receivers (`Ok(false)`: the CRD is not installed).
async fn receivers_served(client: &kube::Client) -> Result<bool, kube::Error> {
    let api: Api<Receiver> = Api::all(client.clone());
    match api.list_metadata(&ListParams::default().limit(1)).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
        Err(e) => Err(e),
    }
}

/// Runs the Receiver reconciler once the cluster serves Receivers, until `stop` is set.
///
/// Clusters without Flux's notification CRDs are common (Flux installed without its
/// notification-controller). Rather than watch a resource that is not there, this says so
/// once, looks again with backoff ([`CRD_RECHECK_MIN`] doubling to [`CRD_RECHECK_MAX`]), and
/// returns as soon as `stop` is set.
pub async fn run_receivers(shared: Shared, options: HarnessOptions, stop: watch::Receiver<bool>) {
    let mut wait = CRD_RECHECK_MIN;
    let mut told = false;
    loop {
        match receivers_served(&shared.client).await {
            Ok(true) => break,
            Ok(false) if !told => tracing::warn!(
                recheck = ?wait,
                "the Receiver CRD (receivers.notification.toolkit.fluxcd.io/v1) is not installed: \
                 Receivers are not reconciled until it is (run `flotilla install`); not logged again"
            ),
            Err(e) if !told => {
                tracing::warn!(error = %e, recheck = ?wait, "cannot tell whether the cluster serves Receivers; looking again later")
            }
            _ => {}
        }
        told = true;
        let mut stopped = stop.clone();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stopped.wait_for(|s| *s) => return,
        }
        wait = (wait * 2).min(CRD_RECHECK_MAX);
    }
    if told {
        tracing::info!("the cluster serves Receivers: starting the Receiver reconciler");
    }
    let reconciler = ReceiverReconciler::new(shared.client.clone());
    crate::runtime::spawn(reconciler, shared, options, stop).await
}

/// Keeps the sink alive for as long as the controller runs.
pub type SharedSink = Arc<DispatchSink>;
