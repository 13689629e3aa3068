//! Benchmark: events dispatched per second through one Alert to a generic provider on a
//! loopback sink, and the rate-limit path alone. `cargo run --release -p flotilla-notify
//! --example dispatch_rate [events]`.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use flotilla_api::notification::{AlertSpec, CrossNamespaceObjectReference, ProviderSpec};
use flotilla_api::refs::LocalObjectReference;
use flotilla_api::{Alert, Provider};
use flotilla_notify::provider::ProviderSecrets;
use flotilla_notify::{DispatchOptions, Dispatcher, Event, Severity, StaticResolver};
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::ObjectReference;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let events: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(2000);
    let received = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let counter = received.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let counter = counter.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let counter = counter.clone();
                    async move {
                        let _ = req.into_body().collect().await;
                        counter.fetch_add(1, Ordering::SeqCst);
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                            b"ok",
                        ))))
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let mut provider = Provider::new(
        "sink",
        ProviderSpec {
            type_: "generic".into(),
            channel: None,
            username: None,
            address: Some(format!("http://{addr}/")),
            interval: None,
            timeout: None,
            proxy: None,
            proxy_secret_ref: None,
            secret_ref: None,
            service_account_name: None,
            cert_secret_ref: None,
            commit_status_expr: None,
            suspend: None,
        },
    );
    provider.metadata.namespace = Some("flux-system".into());
    let mut alert = Alert::new(
        "all",
        AlertSpec {
            provider_ref: LocalObjectReference::new("sink"),
            event_severity: None,
            event_sources: vec![CrossNamespaceObjectReference {
                kind: "Kustomization".into(),
                name: "*".into(),
                ..Default::default()
            }],
            inclusion_list: None,
            event_metadata: None,
            exclusion_list: None,
            summary: None,
            suspend: None,
        },
    );
    alert.metadata.namespace = Some("flux-system".into());
    let resolver = StaticResolver::new()
        .with_provider(provider, ProviderSecrets::default())
        .with_alert(alert);
    let dispatcher = Dispatcher::new(
        resolver,
        DispatchOptions {
            provider_concurrency: 8,
            max_pending: events + 1,
            ..DispatchOptions::default()
        },
    );
    let event = |i: usize| {
        Event::new(
            ObjectReference {
                api_version: Some("kustomize.toolkit.fluxcd.io/v1".into()),
                kind: Some("Kustomization".into()),
                name: Some("apps".into()),
                namespace: Some("flux-system".into()),
                ..Default::default()
            },
            Severity::Info,
            "ReconciliationSucceeded",
            format!("applied revision {i}"),
            "kustomize-controller",
        )
    };
    let started = Instant::now();
    for i in 0..events {
        dispatcher.submit(event(i)).await?;
    }
    dispatcher.wait_idle().await;
    let elapsed = started.elapsed();
    println!(
        "delivered {} of {events} events in {elapsed:?}: {:.0} events/s",
        received.load(Ordering::SeqCst),
        events as f64 / elapsed.as_secs_f64()
    );
    let started = Instant::now();
    for _ in 0..events {
        dispatcher.submit(event(0)).await?;
    }
    let elapsed = started.elapsed().max(Duration::from_nanos(1));
    println!(
        "rate-limited {events} duplicates in {elapsed:?}: {:.0} events/s",
        events as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}
