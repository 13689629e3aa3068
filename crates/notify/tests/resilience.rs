//! What the notification parts do under bad conditions, against the dev cluster: the
//! notification CRDs missing (noticed once, backed off, picked up when installed) and a flood
//! of webhook calls (refused beyond the rate, folded into one reconcile request).
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use flotilla_api::{Alert, GitRepository, Receiver};
use flotilla_devcluster::Options;
use flotilla_notify::dispatch::ProviderLookup;
use flotilla_notify::receiver::REQUESTED_AT_ANNOTATION;
use flotilla_notify::{
    webhook_path, DispatchOptions, Dispatcher, Event, KubeResolver, ReceiverServer,
    ReceiverServerOptions, ResolveError, Resolver, Severity, Submitted,
};
use flotilla_testkit::DevCluster;
use k8s_openapi::api::core::v1::{ObjectReference, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use kube::ResourceExt;
use serde_json::json;
use support::http_request;

/// The cluster resolver, counting how often the Alerts are listed.
struct Counting {
    inner: KubeResolver,
    alert_lists: Arc<AtomicUsize>,
}

impl Resolver for Counting {
    async fn alerts(&self) -> Result<Vec<Alert>, ResolveError> {
        self.alert_lists.fetch_add(1, Ordering::SeqCst);
        self.inner.alerts().await
    }

    async fn provider(&self, namespace: &str, name: &str) -> Result<ProviderLookup, ResolveError> {
        self.inner.provider(namespace, name).await
    }

    async fn labels(
        &self,
        object: &ObjectReference,
    ) -> Result<Option<BTreeMap<String, String>>, ResolveError> {
        self.inner.labels(object).await
    }
}

fn event(name: &str) -> Event {
    Event::new(
        ObjectReference {
            api_version: Some("kustomize.toolkit.fluxcd.io/v1".into()),
            kind: Some("Kustomization".into()),
            name: Some(name.into()),
            namespace: Some("flux-system".into()),
            ..Default::default()
        },
        Severity::Error,
        "HealthCheckFailed",
        format!("{name} failed"),
        "kustomize-controller",
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_alert_crd_is_noticed_once_and_rechecked() {
    let cluster = DevCluster::start_bare(Options {
        simulate: None,
        ..Options::default()
    });
    let client = cluster.new_client();
    let lists = Arc::new(AtomicUsize::new(0));
    let resolver = Counting {
        inner: KubeResolver::new(client.clone()),
        alert_lists: lists.clone(),
    };
    let err = resolver.inner.alerts().await.unwrap_err();
    assert!(matches!(err, ResolveError::NotInstalled { .. }), "{err}");
    assert!(err.to_string().contains("flotilla install"), "{err}");

    let recheck = Duration::from_millis(500);
    let dispatcher = Dispatcher::new(
        resolver,
        DispatchOptions {
            not_installed_recheck: recheck,
            ..DispatchOptions::default()
        },
    );
    // Distinct events (no rate limiting between them): one API call, then none until the
    // recheck time.
    let started = Instant::now();
    for name in ["a", "b", "c"] {
        assert_eq!(
            dispatcher.submit(event(name)).await.unwrap(),
            Submitted::AlertsNotInstalled
        );
    }
    assert_eq!(lists.load(Ordering::SeqCst), 1);
    assert_eq!(dispatcher.metrics().events_not_installed, 3);
    assert_eq!(dispatcher.metrics().resolve_errors, 0);

    // Installed later: picked up at the next recheck.
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let alert_crd = flotilla_api::crds()
        .unwrap()
        .into_iter()
        .find(|c| c.spec.names.kind == "Alert")
        .unwrap();
    crds.create(&PostParams::default(), &alert_crd)
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut n = 0;
    loop {
        n += 1;
        let outcome = dispatcher.submit(event(&format!("d{n}"))).await.unwrap();
        if outcome == Submitted::NoMatchingAlert {
            break;
        }
        assert_eq!(outcome, Submitted::AlertsNotInstalled);
        assert!(
            Instant::now() < deadline,
            "the Alert CRD was never picked up"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Listed at most once per recheck period, not per event.
    let calls = lists.load(Ordering::SeqCst);
    let periods = (started.elapsed().as_millis() / recheck.as_millis()) as usize;
    assert!(calls <= 2 + periods, "{calls} lists for {} events", n + 3);
    drop(cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_calls_without_the_receiver_crd_get_404() {
    let cluster = DevCluster::start_bare(Options {
        simulate: None,
        ..Options::default()
    });
    let server = ReceiverServer::bind(
        "127.0.0.1:0".parse().unwrap(),
        cluster.new_client(),
        ReceiverServerOptions::default(),
    )
    .await
    .unwrap();
    let addr = server.local_addr();
    let serving = tokio::spawn(server.run(std::future::pending()));
    for _ in 0..20 {
        let (status, _) = http_request(addr, "POST", "/hook/0123abcd", &[], b"{}".to_vec()).await;
        assert_eq!(status, 404);
    }
    serving.abort();
    drop(cluster);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_calls_is_rate_limited_and_still_requests_one_reconcile() {
    let cluster = DevCluster::start_with(Options {
        simulate: None,
        ..Options::default()
    });
    let client = cluster.new_client();
    let token = "flood-token";
    let secrets: Api<Secret> = Api::namespaced(client.clone(), "flux-system");
    let secret: Secret = serde_json::from_value(
        json!({"metadata": {"name": "hook"}, "stringData": {"token": token}}),
    )
    .unwrap();
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let repos: Api<GitRepository> = Api::namespaced(client.clone(), "flux-system");
    let repo: GitRepository = serde_json::from_value(json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "fleet", "namespace": "flux-system"},
        "spec": {"url": "https://example.invalid/fleet.git", "interval": "10m",
                 "ref": {"branch": "main"}}}))
    .unwrap();
    repos.create(&PostParams::default(), &repo).await.unwrap();
    let receivers: Api<Receiver> = Api::namespaced(client.clone(), "flux-system");
    let receiver: Receiver = serde_json::from_value(json!({
        "apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver",
        "metadata": {"name": "push", "namespace": "flux-system"},
        "spec": {"type": "generic", "secretRef": {"name": "hook"},
                 "resources": [{"kind": "GitRepository", "name": "fleet"}]}}))
    .unwrap();
    receivers
        .create(&PostParams::default(), &receiver)
        .await
        .unwrap();
    let options = ReceiverServerOptions {
        requests_per_second: 10,
        burst: 10,
        coalesce_window: Duration::from_millis(300),
        ..ReceiverServerOptions::default()
    };
    let server = ReceiverServer::bind("127.0.0.1:0".parse().unwrap(), client.clone(), options)
        .await
        .unwrap();
    let addr = server.local_addr();
    let serving = tokio::spawn(server.run(std::future::pending()));
    let path = webhook_path(token, "push", "flux-system");

    // 60 concurrent calls: the bucket lets about 10 through, the rest get 429 at once.
    let calls: Vec<_> = (0..60)
        .map(|_| {
            let path = path.clone();
            tokio::spawn(
                async move { http_request(addr, "POST", &path, &[], b"{}".to_vec()).await },
            )
        })
        .collect();
    let mut statuses = Vec::new();
    for call in calls {
        statuses.push(call.await.unwrap().0);
    }
    let refused = statuses.iter().filter(|s| **s == 429).count();
    let accepted = statuses.iter().filter(|s| **s == 200 || **s == 202).count();
    assert_eq!(refused + accepted, 60, "{statuses:?}");
    assert!((1..=15).contains(&accepted), "{statuses:?}");

    // The accepted calls ask for a reconcile; the burst ends in one more request, not one
    // per call, so the source is not kept restarting.
    let requested = || async {
        repos
            .get("fleet")
            .await
            .unwrap()
            .annotations()
            .get(REQUESTED_AT_ANNOTATION)
            .cloned()
    };
    let first = requested().await;
    assert!(first.is_some());
    tokio::time::sleep(Duration::from_millis(800)).await;
    let settled = requested().await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        requested().await,
        settled,
        "requests kept coming after the burst"
    );
    serving.abort();
    drop(cluster);
}
