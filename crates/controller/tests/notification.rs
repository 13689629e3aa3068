//! Notifications end to end on the dev cluster: a failing health check reaches a Slack-shaped
//! sink through an Alert and a Provider; a signed GitHub webhook on a Receiver makes a pushed
//! commit apply at once; a bad signature is refused and triggers nothing.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use flotilla_api::{GitRepository, Kustomization, Receiver};
use flotilla_testkit::{free_port, DevCluster, HttpAuth, HttpGitServer, Repo};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const UNREADY: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: slow\n  namespace: flux-system\n  annotations:\n    dev.flotilla.io/simulate: unready\nspec:\n  selector:\n    matchLabels:\n      app: slow\n  template:\n    metadata:\n      labels:\n        app: slow\n    spec:\n      containers:\n      - name: slow\n        image: busybox:1\n";

fn config_map(mode: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: flux-system\ndata:\n  mode: {mode}\n")
}

/// A Git work tree and the bare repository served by git's http-backend; pushes go over HTTP.
struct Git {
    work: Repo,
    _root: tempfile::TempDir,
    server: HttpGitServer,
}

impl Git {
    fn start(files: &[(&str, &str)]) -> Git {
        let work = Repo::new();
        for (p, c) in files {
            work.write(p, c);
        }
        work.commit("first");
        let root = tempfile::tempdir().unwrap();
        let src = work.path().to_str().unwrap().to_string();
        flotilla_testkit::git(root.path(), &["clone", "-q", "--bare", &src, "fleet.git"]);
        let server = HttpGitServer::start(root.path(), HttpAuth::None);
        Git {
            work,
            _root: root,
            server,
        }
    }

    fn url(&self) -> String {
        self.server.url("fleet.git")
    }

    /// Commits the work tree and `git push`es it to the server.
    fn push(&self, msg: &str) -> String {
        let sha = self.work.commit(msg);
        flotilla_testkit::git(self.work.path(), &["push", "-q", &self.url(), "main:main"]);
        sha
    }
}

/// A local HTTP server standing in for a Slack incoming webhook: records each POSTed body and
/// answers with `status` (a status line such as `200 OK`).
struct Sink {
    port: u16,
    bodies: Arc<Mutex<Vec<Value>>>,
}

impl Sink {
    async fn start(status: &'static str) -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let seen = bodies.clone();
        tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = listener.accept().await else {
                    return;
                };
                let seen = seen.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        let n = stream.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                            continue;
                        };
                        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map(|v| v.trim().parse().unwrap())
                            .unwrap_or(0);
                        if buf.len() < end + 4 + len {
                            continue;
                        }
                        let body = &buf[end + 4..end + 4 + len];
                        seen.lock()
                            .unwrap()
                            .push(serde_json::from_slice(body).unwrap_or(Value::Null));
                        let resp = format!(
                            "HTTP/1.1 {status}\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                        );
                        let _ = stream.write_all(resp.as_bytes()).await;
                        return;
                    }
                });
            }
        });
        Sink { port, bodies }
    }

    fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }
}

fn dynamic(client: &kube::Client, group: &str, version: &str, kind: &str) -> Api<DynamicObject> {
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
    Api::namespaced_with(client.clone(), NS, &ar)
}

async fn create(api: &Api<DynamicObject>, manifest: Value) {
    let obj: DynamicObject = serde_json::from_value(manifest).unwrap();
    api.create(&PostParams::default(), &obj).await.unwrap();
}

async fn create_source(client: &kube::Client, url: &str) -> Api<GitRepository> {
    let repos: Api<GitRepository> = Api::namespaced(client.clone(), NS);
    create_repo(
        &repos,
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "fleet", "namespace": NS},
            "spec": {"url": url, "interval": "10m", "ref": {"branch": "main"}}}),
    )
    .await;
    wait_ready(&repos, "fleet", "True").await;
    repos
}

async fn create_ks(client: &kube::Client, name: &str, spec: Value) -> Api<Kustomization> {
    let api: Api<Kustomization> = Api::namespaced(client.clone(), NS);
    let mut s = json!({"interval": "10m", "prune": true, "path": "./",
        "sourceRef": {"kind": "GitRepository", "name": "fleet"}});
    for (k, v) in spec.as_object().unwrap() {
        s[k] = v.clone();
    }
    let ks: Kustomization = serde_json::from_value(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": name, "namespace": NS}, "spec": s}))
    .unwrap();
    api.create(&PostParams::default(), &ks).await.unwrap();
    api
}

async fn ready_reason(api: &Api<Kustomization>, name: &str) -> Option<(String, String)> {
    let obj = serde_json::to_value(api.get(name).await.ok()?).unwrap();
    let ready = condition(&obj, "Ready")?;
    Some((
        ready["status"].as_str()?.to_string(),
        ready["reason"].as_str()?.to_string(),
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_health_check_sends_one_slack_message() {
    let cluster = DevCluster::start();
    let client = cluster.new_client();
    let controller = Controller::start(&cluster, |_| {});
    let git = Git::start(&[("slow/deploy.yaml", UNREADY)]);
    create_source(&client, &git.url()).await;

    let sink = Sink::start("200 OK").await;
    // A webhook that refuses every call (400: not retried), behind its own Alert.
    let refusing = Sink::start("400 Bad Request").await;
    let providers = dynamic(
        &client,
        "notification.toolkit.fluxcd.io",
        "v1beta3",
        "Provider",
    );
    create(
        &providers,
        json!({"apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Provider",
            "metadata": {"name": "slack", "namespace": NS},
            "spec": {"type": "slack", "channel": "general",
                     "address": format!("http://127.0.0.1:{}/services/T0/B0/x", sink.port)}}),
    )
    .await;
    create(
        &providers,
        json!({"apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Provider",
            "metadata": {"name": "audit", "namespace": NS},
            "spec": {"type": "generic", "address": format!("http://127.0.0.1:{}/", refusing.port)}}),
    )
    .await;
    let alerts = dynamic(
        &client,
        "notification.toolkit.fluxcd.io",
        "v1beta3",
        "Alert",
    );
    create(
        &alerts,
        json!({"apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Alert",
            "metadata": {"name": "on-call", "namespace": NS},
            "spec": {"providerRef": {"name": "slack"}, "eventSeverity": "error",
                     "eventSources": [{"kind": "Kustomization", "name": "*"}],
                     "summary": "dev cluster"}}),
    )
    .await;
    create(
        &alerts,
        json!({"apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Alert",
            "metadata": {"name": "audit", "namespace": NS},
            "spec": {"providerRef": {"name": "audit"}, "eventSeverity": "error",
                     "eventSources": [{"kind": "Kustomization", "name": "slow"}]}}),
    )
    .await;
    // Another Alert, suspended: it must send nothing.
    create(
        &alerts,
        json!({"apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Alert",
            "metadata": {"name": "paused", "namespace": NS},
            "spec": {"providerRef": {"name": "slack"}, "suspend": true,
                     "eventSources": [{"kind": "Kustomization", "name": "*"}]}}),
    )
    .await;

    let kss = create_ks(
        &client,
        "slow",
        json!({"path": "./slow", "wait": true, "timeout": "2s"}),
    )
    .await;
    eventually(
        Duration::from_secs(40),
        "Ready=False HealthCheckFailed",
        || async {
            (ready_reason(&kss, "slow").await? == ("False".into(), "HealthCheckFailed".into()))
                .then_some(())
        },
    )
    .await;
    eventually(Duration::from_secs(10), "a message at the sink", || async {
        (!sink.bodies().is_empty()).then_some(())
    })
    .await;
    // Retries keep failing the same way; Flux sends (and the dispatcher rate-limits) once.
    tokio::time::sleep(Duration::from_secs(4)).await;
    let bodies = sink.bodies();
    assert_eq!(bodies.len(), 1, "{bodies:#?}");

    // Slack's incoming-webhook shape: channel, username, one legacy attachment.
    let msg = &bodies[0];
    assert_eq!(msg["channel"], "general");
    assert_eq!(msg["username"], "kustomize-controller");
    let attachments = msg["attachments"].as_array().unwrap();
    assert_eq!(attachments.len(), 1);
    let a = &attachments[0];
    assert_eq!(a["color"], "danger");
    assert_eq!(a["author_name"], "kustomization/slow.flux-system");
    let text = a["text"].as_str().unwrap();
    assert!(text.contains("Deployment/flux-system/slow"), "{text}");
    assert_eq!(a["mrkdwn_in"], json!(["text"]));
    let fields = a["fields"].as_array().unwrap();
    let field = |title: &str| {
        fields
            .iter()
            .find(|f| f["title"] == title)
            .map(|f| f["value"].clone())
    };
    assert_eq!(field("summary"), Some(json!("dev cluster")), "{fields:?}");
    let revision = field("revision").unwrap();
    assert!(
        revision.as_str().unwrap().starts_with("main@sha1:"),
        "{revision}"
    );

    // The refused delivery is counted as failed for its Provider on the controller's /metrics.
    assert_eq!(refusing.bodies().len(), 1);
    let (code, body) = http_get(controller.metrics_port, "/metrics").await;
    assert_eq!(code, 200);
    let text = String::from_utf8(body).unwrap();
    for line in [
        r#"flotilla_notification_deliveries_total{provider="flux-system/audit",result="failed"} 1"#,
        r#"flotilla_notification_deliveries_total{provider="flux-system/slack",result="succeeded"} 1"#,
        r#"flotilla_notification_deliveries_total{provider="flux-system/slack",result="failed"} 0"#,
    ] {
        assert!(text.lines().any(|l| l == line), "{line} not in:\n{text}");
    }
}

fn hub_signature(token: &str, body: &[u8]) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, token.as_bytes());
    let tag = ring::hmac::sign(&key, body);
    let hex: String = tag.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

/// POSTs `body` to the receiver server; returns the status code.
async fn post(port: u16, path: &str, headers: &[(&str, String)], body: &[u8]) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    stream.write_all(req.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut resp = Vec::new();
    stream.read_to_end(&mut resp).await.unwrap();
    let text = String::from_utf8_lossy(&resp);
    text.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_github_push_applies_the_new_commit() {
    let cluster = DevCluster::start();
    let client = cluster.new_client();
    let receiver_port = free_port();
    let _controller = Controller::start(&cluster, |o| {
        o.receiver_addr = Some(format!("127.0.0.1:{receiver_port}"));
    });
    let git = Git::start(&[("settings.yaml", &config_map("one"))]);
    let repos = create_source(&client, &git.url()).await;
    let kss = create_ks(&client, "apps", json!({})).await;
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), NS);
    eventually(Duration::from_secs(30), "first commit applied", || async {
        let cm = cms.get_opt("settings").await.unwrap()?;
        (cm.data?.get("mode")? == "one").then_some(())
    })
    .await;

    let token = "s3cr3t-webhook-token";
    put_secret(&client, "webhook-token", &[("token", token.as_bytes())]).await;
    let receivers: Api<Receiver> = Api::namespaced(client.clone(), NS);
    let receiver: Receiver = serde_json::from_value(json!({
        "apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver",
        "metadata": {"name": "github", "namespace": NS},
        "spec": {"type": "github", "events": ["ping", "push"],
                 "secretRef": {"name": "webhook-token"},
                 "resources": [{"kind": "GitRepository", "name": "fleet"}]}}))
    .unwrap();
    receivers
        .create(&PostParams::default(), &receiver)
        .await
        .unwrap();
    let path = eventually(Duration::from_secs(20), "Receiver Ready", || async {
        let obj = serde_json::to_value(receivers.get("github").await.ok()?).unwrap();
        let ready = condition(&obj, "Ready")?;
        (ready["status"] == "True").then_some(())?;
        obj["status"]["webhookPath"].as_str().map(str::to_string)
    })
    .await;
    let expected = flotilla_notify::webhook_path(token, "github", NS);
    assert_eq!(path, expected);
    assert!(path.starts_with("/hook/") && path.len() == "/hook/".len() + 64);

    git.work.write("settings.yaml", &config_map("two"));
    let sha = git.push("two");
    let body = json!({"ref": "refs/heads/main", "after": sha,
        "repository": {"full_name": "org/fleet"}})
    .to_string();

    // Wrong signature, then none: 401, and the GitRepository is not asked to reconcile.
    let push = ("x-github-event", "push".to_string());
    let wrong = hub_signature("not-the-token", body.as_bytes());
    let status = post(
        receiver_port,
        &path,
        &[push.clone(), ("x-hub-signature-256", wrong)],
        body.as_bytes(),
    )
    .await;
    assert_eq!(status, 401);
    let status = post(
        receiver_port,
        &path,
        std::slice::from_ref(&push),
        body.as_bytes(),
    )
    .await;
    assert_eq!(status, 401);
    // Malformed JSON correctly signed: 400.
    let junk = b"{not json";
    let status = post(
        receiver_port,
        &path,
        &[
            push.clone(),
            ("x-hub-signature-256", hub_signature(token, junk)),
        ],
        junk,
    )
    .await;
    assert_eq!(status, 400);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let repo = repos.get("fleet").await.unwrap();
    let annotations = repo.metadata.annotations.unwrap_or_default();
    assert!(
        !annotations.contains_key("reconcile.fluxcd.io/requestedAt"),
        "{annotations:?}"
    );
    assert_eq!(
        cms.get("settings").await.unwrap().data.unwrap()["mode"],
        "one"
    );

    // The signed call: the pushed commit is applied within seconds (intervals are 10m).
    let started = Instant::now();
    let status = post(
        receiver_port,
        &path,
        &[
            push,
            ("x-hub-signature-256", hub_signature(token, body.as_bytes())),
        ],
        body.as_bytes(),
    )
    .await;
    assert_eq!(status, 200);
    eventually(Duration::from_secs(10), "second commit applied", || async {
        let cm = cms.get_opt("settings").await.unwrap()?;
        (cm.data?.get("mode")? == "two").then_some(())
    })
    .await;
    let obj = serde_json::to_value(kss.get("apps").await.unwrap()).unwrap();
    assert_eq!(
        obj["status"]["lastAppliedRevision"],
        format!("main@sha1:{sha}")
    );
    eprintln!("push-to-applied after the webhook: {:?}", started.elapsed());
}
