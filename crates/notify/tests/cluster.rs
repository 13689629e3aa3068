//! Receivers and the cluster-backed resolver against the embedded dev cluster (the API server)
//! with the Flux CRDs installed: the hook path as Flux documents it (checked with sha256sum),
//! each receiver type's signature or token check, and `reconcile.fluxcd.io/requestedAt` set on
//! the matching resources only.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use flotilla_api::{GitRepository, Kustomization, Receiver};
use flotilla_devcluster::Options;
use flotilla_notify::receiver::REQUESTED_AT_ANNOTATION;
use flotilla_notify::{
    receiver_webhook_path, webhook_path, DispatchOptions, Dispatcher, Event, KubeResolver,
    ReceiverServer, ReceiverServerOptions, Severity, Submitted,
};
use flotilla_testkit::DevCluster;
use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, ResourceExt};
use serde_json::json;
use support::*;

const TOKEN: &str = "tok-9f8e7d6c5b4a";

/// The dev cluster with the Flux CRDs and `flux-system` (testkit), plus namespace `apps`;
/// no simulated node: nothing here needs workloads to become ready.
async fn cluster() -> (DevCluster, Client) {
    let cluster = DevCluster::start_with(Options {
        simulate: None,
        ..Options::default()
    });
    let client = cluster.new_client();
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let n: Namespace = serde_json::from_value(json!({"metadata": {"name": "apps"}})).unwrap();
    namespaces.create(&PostParams::default(), &n).await.unwrap();
    (cluster, client)
}

async fn create<K>(client: &Client, namespace: &str, value: serde_json::Value) -> K
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let object: K = serde_json::from_value(value).unwrap();
    let api: Api<K> = Api::namespaced(client.clone(), namespace);
    api.create(&PostParams::default(), &object).await.unwrap()
}

async fn git_repository(client: &Client, name: &str, labels: serde_json::Value) {
    create::<GitRepository>(
        client,
        "flux-system",
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": name, "namespace": "flux-system", "labels": labels},
            "spec": {"url": "https://example.com/repo.git", "interval": "10m"}
        }),
    )
    .await;
}

async fn receiver(client: &Client, name: &str, type_: &str, extra: serde_json::Value) -> Receiver {
    let mut spec = json!({"type": type_, "secretRef": {"name": "webhook-token"}});
    for (k, v) in extra.as_object().unwrap() {
        spec[k] = v.clone();
    }
    create::<Receiver>(
        client,
        "flux-system",
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver",
            "metadata": {"name": name, "namespace": "flux-system"},
            "spec": spec
        }),
    )
    .await
}

fn repo(name: &str) -> serde_json::Value {
    json!([{"kind": "GitRepository", "name": name}])
}

async fn requested_at(client: &Client, name: &str) -> Option<String> {
    let api: Api<GitRepository> = Api::namespaced(client.clone(), "flux-system");
    api.get(name)
        .await
        .unwrap()
        .annotations()
        .get(REQUESTED_AT_ANNOTATION)
        .cloned()
}

fn path(name: &str) -> String {
    webhook_path(TOKEN, name, "flux-system")
}

/// `/hook/` + `printf %s "<token><name><namespace>" | sha256sum`, Flux's documented formula.
fn sha256sum_path(token: &str, name: &str, namespace: &str) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum (coreutils) must be installed");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{token}{name}{namespace}").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let hex = String::from_utf8(out.stdout).unwrap();
    format!("/hook/{}", hex.split_whitespace().next().unwrap())
}

#[test]
fn webhook_path_is_fluxs_formula() {
    for (token, name, ns) in [
        (TOKEN, "github-receiver", "flux-system"),
        ("x", "r", "default"),
        ("", "a", "b"),
    ] {
        assert_eq!(
            webhook_path(token, name, ns),
            sha256sum_path(token, name, ns)
        );
    }
    // The concatenation has no separators: moving a character between parts keeps the path.
    assert_eq!(webhook_path("ab", "c", "d"), webhook_path("a", "bc", "d"));
}

async fn post(addr: SocketAddr, path: &str, headers: &[(&str, &str)], body: &[u8]) -> u16 {
    http_request(addr, "POST", path, headers, body.to_vec())
        .await
        .0
}

/// Declares a body of `length` bytes and sends none: the server must refuse it from the headers.
async fn oversized_post(addr: SocketAddr, path: &str, length: usize) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {length}\r\n\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0; 64];
    let n = stream.read(&mut answer).await.unwrap();
    let text = String::from_utf8_lossy(&answer[..n]).into_owned();
    text.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receivers_validate_requests_and_annotate_matching_resources() {
    let (handle, client) = cluster().await;
    create::<Secret>(
        &client,
        "flux-system",
        json!({"metadata": {"name": "webhook-token"}, "stringData": {"token": TOKEN}}),
    )
    .await;
    for name in [
        "gh", "gl-a", "gl-b", "data", "bb", "harbor", "quay", "generic", "hmac", "off",
    ] {
        let labels = match name {
            "gl-a" | "gl-b" => json!({"team": "web"}),
            "data" => json!({"team": "data"}),
            _ => json!({}),
        };
        git_repository(&client, name, labels).await;
    }
    create::<Kustomization>(
        &client,
        "apps",
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
            "metadata": {"name": "web", "namespace": "apps"},
            "spec": {"interval": "10m", "path": "./", "prune": true,
                     "sourceRef": {"kind": "GitRepository", "name": "gh", "namespace": "flux-system"}}
        }),
    )
    .await;
    let gh = receiver(
        &client,
        "gh",
        "github",
        json!({"events": ["push"], "resources": repo("gh")}),
    )
    .await;
    receiver(
        &client,
        "gl",
        "gitlab",
        json!({"events": ["Push Hook"], "resources": [{"kind": "GitRepository", "name": "*", "matchLabels": {"team": "web"}}]}),
    )
    .await;
    receiver(&client, "bb", "bitbucket", json!({"resources": repo("bb")})).await;
    receiver(
        &client,
        "harbor",
        "harbor",
        json!({"resources": repo("harbor")}),
    )
    .await;
    receiver(&client, "quay", "quay", json!({"resources": repo("quay")})).await;
    receiver(
        &client,
        "generic",
        "generic",
        json!({"resources": repo("generic")}),
    )
    .await;
    receiver(
        &client,
        "hmac",
        "generic-hmac",
        json!({"resources": [
            {"kind": "GitRepository", "name": "hmac"},
            {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "name": "web", "namespace": "apps"}
        ]}),
    )
    .await;
    receiver(
        &client,
        "off",
        "generic",
        json!({"resources": repo("off"), "suspend": true}),
    )
    .await;

    assert_eq!(
        receiver_webhook_path(&client, &gh).await.unwrap(),
        sha256sum_path(TOKEN, "gh", "flux-system")
    );

    let options = ReceiverServerOptions {
        coalesce_window: Duration::ZERO,
        ..ReceiverServerOptions::default()
    };
    let server = ReceiverServer::bind("127.0.0.1:0".parse().unwrap(), client.clone(), options)
        .await
        .unwrap();
    let addr = server.local_addr();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));

    // GitHub: X-Hub-Signature-256 over the body with the token; X-GitHub-Event filtered.
    let push = br#"{"ref":"refs/heads/main","after":"731f7ead"}"#;
    let good = format!("sha256={}", openssl_hmac("sha256", TOKEN, push));
    let bad = format!("sha256={}", openssl_hmac("sha256", "not-the-token", push));
    let json_type = ("content-type", "application/json");
    assert_eq!(
        post(
            addr,
            &path("gh"),
            &[
                ("x-github-event", "push"),
                ("x-hub-signature-256", &bad),
                json_type
            ],
            push
        )
        .await,
        401
    );
    assert_eq!(
        post(
            addr,
            &path("gh"),
            &[("x-github-event", "push"), json_type],
            push
        )
        .await,
        401
    );
    assert_eq!(requested_at(&client, "gh").await, None);
    let ping = br#"{"zen":"Keep it logically awesome."}"#;
    let ping_sig = format!("sha256={}", openssl_hmac("sha256", TOKEN, ping));
    assert_eq!(
        post(
            addr,
            &path("gh"),
            &[
                ("x-github-event", "ping"),
                ("x-hub-signature-256", &ping_sig),
                json_type
            ],
            ping
        )
        .await,
        200
    );
    assert_eq!(
        requested_at(&client, "gh").await,
        None,
        "a ping reconciles nothing"
    );
    let issue_sig = format!("sha256={}", openssl_hmac("sha256", TOKEN, b"{}"));
    assert_eq!(
        post(
            addr,
            &path("gh"),
            &[
                ("x-github-event", "issues"),
                ("x-hub-signature-256", &issue_sig),
                json_type
            ],
            b"{}"
        )
        .await,
        400
    );
    let junk = b"{not json";
    let junk_sig = format!("sha256={}", openssl_hmac("sha256", TOKEN, junk));
    assert_eq!(
        post(
            addr,
            &path("gh"),
            &[
                ("x-github-event", "push"),
                ("x-hub-signature-256", &junk_sig),
                json_type
            ],
            junk
        )
        .await,
        400
    );
    assert_eq!(requested_at(&client, "gh").await, None);
    assert_eq!(
        post(
            addr,
            &path("gh"),
            &[
                ("x-github-event", "push"),
                ("x-hub-signature-256", &good),
                json_type
            ],
            push
        )
        .await,
        200
    );
    let stamp = requested_at(&client, "gh")
        .await
        .expect("annotated after a signed push");
    assert!(
        stamp.parse::<k8s_openapi::jiff::Timestamp>().is_ok(),
        "{stamp}"
    );

    // GitLab: X-Gitlab-Token; name '*' with matchLabels picks the labelled repositories only.
    let gl = [("x-gitlab-event", "Push Hook")];
    assert_eq!(
        post(
            addr,
            &path("gl"),
            &[gl[0], ("x-gitlab-token", "wrong")],
            b"{}"
        )
        .await,
        401
    );
    assert_eq!(requested_at(&client, "gl-a").await, None);
    assert_eq!(
        post(
            addr,
            &path("gl"),
            &[gl[0], ("x-gitlab-token", TOKEN)],
            b"{}"
        )
        .await,
        200
    );
    assert!(requested_at(&client, "gl-a").await.is_some());
    assert!(requested_at(&client, "gl-b").await.is_some());
    assert_eq!(requested_at(&client, "data").await, None);

    // Bitbucket Server: X-Hub-Signature (sha256=…).
    let bb_body = br#"{"eventKey":"repo:refs_changed"}"#;
    let bb_sig = format!("sha256={}", openssl_hmac("sha256", TOKEN, bb_body));
    let bb_bad = format!("sha256={}", openssl_hmac("sha256", "x", bb_body));
    assert_eq!(
        post(
            addr,
            &path("bb"),
            &[
                ("x-event-key", "repo:refs_changed"),
                ("x-hub-signature", &bb_bad)
            ],
            bb_body
        )
        .await,
        401
    );
    assert_eq!(requested_at(&client, "bb").await, None);
    assert_eq!(
        post(
            addr,
            &path("bb"),
            &[
                ("x-event-key", "repo:refs_changed"),
                ("x-hub-signature", &bb_sig)
            ],
            bb_body
        )
        .await,
        200
    );
    assert!(requested_at(&client, "bb").await.is_some());

    // Harbor: the Authorization header is the token.
    assert_eq!(
        post(addr, &path("harbor"), &[("authorization", "nope")], b"{}").await,
        401
    );
    assert_eq!(post(addr, &path("harbor"), &[], b"{}").await, 401);
    assert_eq!(requested_at(&client, "harbor").await, None);
    assert_eq!(
        post(addr, &path("harbor"), &[("authorization", TOKEN)], b"{}").await,
        200
    );
    assert!(requested_at(&client, "harbor").await.is_some());

    // Quay: the push payload must decode.
    assert_eq!(
        post(addr, &path("quay"), &[], br#"{"updated_tags": "latest"}"#).await,
        400
    );
    assert_eq!(requested_at(&client, "quay").await, None);
    let quay = br#"{"docker_url":"quay.io/acme/app","updated_tags":["v1.2.3"]}"#;
    assert_eq!(post(addr, &path("quay"), &[], quay).await, 200);
    assert!(requested_at(&client, "quay").await.is_some());

    // Generic HMAC: X-Signature with sha1, sha256 or sha512; annotates across namespaces.
    let body = b"anything";
    for (alg, ok) in [("sha512", true), ("sha1", true), ("md5", false)] {
        let sig = if alg == "md5" {
            "md5=00".to_string()
        } else {
            format!("{alg}={}", openssl_hmac(alg, TOKEN, body))
        };
        let status = post(addr, &path("hmac"), &[("x-signature", &sig)], body).await;
        assert_eq!(status, if ok { 200 } else { 401 }, "{alg}");
    }
    assert!(requested_at(&client, "hmac").await.is_some());
    let ks: Api<Kustomization> = Api::namespaced(client.clone(), "apps");
    assert!(ks
        .get("web")
        .await
        .unwrap()
        .annotations()
        .contains_key(REQUESTED_AT_ANNOTATION));

    // Generic: any call to the path.
    assert_eq!(
        http_request(addr, "GET", &path("generic"), &[], Vec::new())
            .await
            .0,
        200
    );
    assert!(requested_at(&client, "generic").await.is_some());

    // Unknown path, suspended receiver, oversized payload.
    assert_eq!(
        post(
            addr,
            &webhook_path("other-token", "gh", "flux-system"),
            &[],
            b"{}"
        )
        .await,
        404
    );
    assert_eq!(post(addr, "/metrics", &[], b"").await, 404);
    assert_eq!(post(addr, &path("off"), &[], b"{}").await, 503);
    assert_eq!(requested_at(&client, "off").await, None);
    assert_eq!(oversized_post(addr, &path("generic"), 5 << 20).await, 400);

    // Untouched: nothing outside the receivers' resources was annotated.
    assert_eq!(requested_at(&client, "data").await, None);

    // A Receiver whose status carries the webhook path is found by it (as after its reconcile).
    let receivers: Api<Receiver> = Api::namespaced(client.clone(), "flux-system");
    let custom = "/hook/from-status";
    receivers
        .patch_status(
            "generic",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"webhookPath": custom}})),
        )
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let status = post(addr, custom, &[], b"{}").await;
        if status == 200 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "status path never served (last {status})"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    let _ = stop.send(());
    serving.await.unwrap().unwrap();
    drop(handle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coalesced_calls_still_end_in_a_fresh_request() {
    let (handle, client) = cluster().await;
    create::<Secret>(
        &client,
        "flux-system",
        json!({"metadata": {"name": "webhook-token"}, "stringData": {"token": TOKEN}}),
    )
    .await;
    git_repository(&client, "flood", json!({})).await;
    receiver(
        &client,
        "flood",
        "generic",
        json!({"resources": repo("flood")}),
    )
    .await;
    let options = ReceiverServerOptions {
        coalesce_window: Duration::from_millis(400),
        ..ReceiverServerOptions::default()
    };
    let server = ReceiverServer::bind("127.0.0.1:0".parse().unwrap(), client.clone(), options)
        .await
        .unwrap();
    let addr = server.local_addr();
    let serving = tokio::spawn(server.run(std::future::pending()));
    assert_eq!(post(addr, &path("flood"), &[], b"{}").await, 200);
    let first = requested_at(&client, "flood").await.unwrap();
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(post(addr, &path("flood"), &[], b"{}").await);
    }
    assert!(statuses.iter().all(|s| *s == 202), "{statuses:?}");
    // The burst is folded into one trailing request after the window.
    assert_eq!(requested_at(&client, "flood").await.unwrap(), first);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let last = requested_at(&client, "flood").await.unwrap();
    assert_ne!(last, first);
    serving.abort();
    drop(handle);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kube_resolver_sends_cluster_alerts_through_cluster_providers() {
    let (handle, client) = cluster().await;
    let slack = Sink::ok().await;
    create::<Secret>(
        &client,
        "flux-system",
        json!({"metadata": {"name": "slack-url"}, "stringData": {"address": slack.url("/services/T/B/X")}}),
    )
    .await;
    create::<flotilla_api::Provider>(
        &client,
        "flux-system",
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Provider",
            "metadata": {"name": "slack", "namespace": "flux-system"},
            "spec": {"type": "slack", "channel": "alerts", "secretRef": {"name": "slack-url"}}
        }),
    )
    .await;
    create::<flotilla_api::Alert>(
        &client,
        "flux-system",
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Alert",
            "metadata": {"name": "on-call", "namespace": "flux-system"},
            "spec": {"providerRef": {"name": "slack"}, "eventSeverity": "error",
                     "eventSources": [{"kind": "GitRepository", "name": "*", "matchLabels": {"tier": "prod"}}]}
        }),
    )
    .await;
    git_repository(&client, "prod", json!({"tier": "prod"})).await;
    git_repository(&client, "test", json!({"tier": "test"})).await;
    let dispatcher = Dispatcher::new(
        KubeResolver::new(client.clone()),
        DispatchOptions::default(),
    );
    let event = |name: &str| {
        Event::new(
            k8s_openapi::api::core::v1::ObjectReference {
                api_version: Some("source.toolkit.fluxcd.io/v1".into()),
                kind: Some("GitRepository".into()),
                name: Some(name.into()),
                namespace: Some("flux-system".into()),
                ..Default::default()
            },
            Severity::Error,
            "GitOperationFailed",
            "failed to checkout and determine revision",
            "source-controller",
        )
    };
    assert_eq!(
        dispatcher.submit(event("prod")).await.unwrap(),
        Submitted::Dispatched(1)
    );
    assert_eq!(
        dispatcher.submit(event("test")).await.unwrap(),
        Submitted::NoMatchingAlert
    );
    dispatcher.wait_idle().await;
    let got = slack.requests();
    assert_eq!(got.len(), 1);
    let body = got[0].json();
    assert_eq!(body["channel"], "alerts");
    assert_eq!(
        body["attachments"][0]["author_name"],
        "gitrepository/prod.flux-system"
    );
    drop(handle);
}
