//! The harness against the dev cluster: leader election and takeover, metrics and probes,
//! label-selector sharding, graceful shutdown.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use flotilla_api::GitRepository;
use flotilla_controller::LeaderElection;
use flotilla_testkit::{DevCluster, Repo};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::Api;
use serde_json::json;

fn file_repo() -> Repo {
    let work = Repo::new();
    work.write("a.yaml", "a: 1\n");
    work.commit("one");
    work
}

fn manifest(name: &str, url: &str, labels: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": name, "namespace": NS, "labels": labels},
        "spec": {"url": url, "interval": "10m", "ref": {"branch": "main"}}})
}

fn election(identity: &str) -> impl FnOnce(&mut flotilla_controller::ControllerOptions) {
    let identity = identity.to_string();
    move |o| {
        o.identity = Some(identity);
        o.leader_election = Some(LeaderElection {
            lease_duration: Duration::from_secs(3),
            renew_deadline: Duration::from_secs(2),
            retry_period: Duration::from_millis(300),
            ..LeaderElection::default()
        });
    }
}

async fn holder(leases: &Api<Lease>) -> Option<String> {
    leases
        .get_opt("flotilla-controller-leader-election")
        .await
        .unwrap()
        .and_then(|l| l.spec)
        .and_then(|s| s.holder_identity)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standby_takes_over_when_the_leader_dies_and_at_once_on_release() {
    let cluster = DevCluster::start();
    let client = cluster.new_client();
    let leases: Api<Lease> = Api::namespaced(client.clone(), NS);
    let api: Api<GitRepository> = Api::namespaced(client.clone(), NS);
    let work = file_repo();

    let a = Controller::start(&cluster, election("replica-a"));
    eventually(Duration::from_secs(10), "a leads", || async {
        (holder(&leases).await.as_deref() == Some("replica-a")).then_some(())
    })
    .await;
    let b = Controller::start(&cluster, election("replica-b"));
    create_repo(&api, manifest("one", &work.file_url(), json!({}))).await;
    wait_ready(&api, "one", "True").await;
    // B stands by while A renews.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(holder(&leases).await.as_deref(), Some("replica-a"));

    // A dies without releasing: B takes over once the lease has expired (3s) and reconciles.
    let died = Instant::now();
    a.kill();
    eventually(Duration::from_secs(10), "b leads", || async {
        (holder(&leases).await.as_deref() == Some("replica-b")).then_some(())
    })
    .await;
    let took = died.elapsed();
    assert!(
        took >= Duration::from_secs(2),
        "took over too early: {took:?}"
    );
    assert!(
        took < Duration::from_secs(6),
        "took over too late: {took:?}"
    );
    create_repo(&api, manifest("two", &work.file_url(), json!({}))).await;
    wait_ready(&api, "two", "True").await;
    let lease = leases
        .get("flotilla-controller-leader-election")
        .await
        .unwrap();
    assert_eq!(lease.spec.unwrap().lease_transitions, Some(1));

    // Graceful shutdown releases the lease; a new replica gets it at once.
    b.stop().await.unwrap();
    assert_eq!(holder(&leases).await, None);
    let started = Instant::now();
    let c = Controller::start(&cluster, election("replica-c"));
    eventually(Duration::from_secs(5), "c leads", || async {
        (holder(&leases).await.as_deref() == Some("replica-c")).then_some(())
    })
    .await;
    assert!(started.elapsed() < Duration::from_secs(2));
    c.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_probes_and_label_selector_sharding() {
    let cluster = DevCluster::start();
    let client = cluster.new_client();
    let api: Api<GitRepository> = Api::namespaced(client.clone(), NS);
    let work = file_repo();
    let controller = Controller::start(&cluster, |o| {
        o.watch_label_selector = Some("sharding.fluxcd.io/key=shard1".to_string());
    });
    create_repo(
        &api,
        manifest(
            "mine",
            &work.file_url(),
            json!({"sharding.fluxcd.io/key": "shard1"}),
        ),
    )
    .await;
    create_repo(
        &api,
        manifest(
            "theirs",
            &work.file_url(),
            json!({"sharding.fluxcd.io/key": "shard2"}),
        ),
    )
    .await;
    wait_ready(&api, "mine", "True").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let theirs = get_json(&api, "theirs").await;
    assert!(condition(&theirs, "Ready").is_none(), "{theirs}");
    assert!(theirs["metadata"]["finalizers"].is_null());

    let port = controller.metrics_port;
    let (code, body) = http_get(port, "/healthz").await;
    assert_eq!((code, body.as_slice()), (200, &b"ok"[..]));
    let (code, _) = http_get(port, "/readyz").await;
    assert_eq!(code, 200);
    let (code, body) = http_get(port, "/metrics").await;
    assert_eq!(code, 200);
    let text = String::from_utf8(body).unwrap();
    assert!(text.contains("# TYPE gotk_reconcile_duration_seconds histogram"));
    assert!(text.contains(
        "gotk_reconcile_duration_seconds_count{kind=\"GitRepository\",name=\"mine\",namespace=\"flux-system\"} 1"
    ), "{text}");
    assert!(text.contains(
        "gotk_reconcile_condition{kind=\"GitRepository\",name=\"mine\",namespace=\"flux-system\",status=\"True\",type=\"Ready\"} 1"
    ), "{text}");
    assert!(!text.contains("name=\"theirs\""));
    assert!(text.contains("process_resident_memory_bytes "));
    let (code, _) = http_get(port, "/nope").await;
    assert_eq!(code, 404);
    controller.stop().await.unwrap();
    // Servers are gone after shutdown.
    assert!(tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err());
}
