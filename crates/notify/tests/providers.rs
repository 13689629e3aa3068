//! Each provider against a loopback HTTP server standing in for the real service (Slack,
//! Teams, Discord, GitHub and GitLab cannot run here): the payload and headers each service
//! documents, HMAC signatures checked with openssl, commit statuses keyed on the revision,
//! custom CAs, proxies.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use flotilla_notify::provider::{payload, ProviderSecrets, ProviderSettings, Sent};
use flotilla_notify::{Event, Notifier, SendError, Severity};
use k8s_openapi::api::core::v1::ObjectReference;
use serde_json::json;
use support::*;

fn event(severity: Severity, reason: &str, message: &str) -> Event {
    let mut e = Event::new(
        ObjectReference {
            api_version: Some("kustomize.toolkit.fluxcd.io/v1".into()),
            kind: Some("Kustomization".into()),
            name: Some("apps".into()),
            namespace: Some("flux-system".into()),
            uid: Some("7d0cdc51-ddcf-4743-b223-83ca5c699632".into()),
            ..Default::default()
        },
        severity,
        reason,
        message,
        "kustomize-controller",
    )
    .with_revision("main@sha1:731f7eaddfb6af01cb2173e18f0f75b0ba780ef1");
    // The dispatcher strips the group prefix before providers see the event.
    e.strip_group_metadata();
    e.metadata
        .insert("summary".into(), "cluster impacted".into());
    e
}

fn notifier(p: &flotilla_api::Provider, secrets: &ProviderSecrets) -> Notifier {
    Notifier::new(ProviderSettings::from_parts(p, secrets).unwrap()).unwrap()
}

#[tokio::test]
async fn generic_posts_the_event_json_with_component_and_secret_headers() {
    let sink = Sink::ok().await;
    let p = provider("hook", "generic", Some(sink.url("/events")));
    let secrets = secrets(&[("headers", "Authorization: Token abc\nX-Team: web\n")]);
    let e = event(
        Severity::Error,
        "HealthCheckFailed",
        "Deployment/apps/web not ready",
    );
    assert_eq!(
        notifier(&p, &secrets).send(&e).await.unwrap(),
        Sent::Delivered
    );
    let got = sink.requests();
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!((r.method.as_str(), r.target.as_str()), ("POST", "/events"));
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(
        r.header("gotk-component").as_deref(),
        Some("kustomize-controller")
    );
    assert_eq!(r.header("authorization").as_deref(), Some("Token abc"));
    assert_eq!(r.header("x-team").as_deref(), Some("web"));
    let body = r.json();
    assert_eq!(body["involvedObject"]["kind"], "Kustomization");
    assert_eq!(body["involvedObject"]["name"], "apps");
    assert_eq!(body["involvedObject"]["namespace"], "flux-system");
    assert_eq!(body["severity"], "error");
    assert_eq!(body["reason"], "HealthCheckFailed");
    assert_eq!(body["message"], "Deployment/apps/web not ready");
    assert_eq!(body["reportingController"], "kustomize-controller");
    assert_eq!(
        body["metadata"]["revision"],
        "main@sha1:731f7eaddfb6af01cb2173e18f0f75b0ba780ef1"
    );
    assert!(body["timestamp"].as_str().unwrap().ends_with('Z'));
    // What arrived reads back as the same event.
    let back: Event = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(back.message, e.message);
}

#[tokio::test]
async fn generic_hmac_signature_verifies_with_openssl() {
    let sink = Sink::ok().await;
    let p = provider("signed", "generic-hmac", Some(sink.url("/")));
    let token = "s3cr3t-t0ken";
    notifier(&p, &secrets(&[("token", token)]))
        .send(&event(Severity::Info, "ReconciliationSucceeded", "applied"))
        .await
        .unwrap();
    let r = &sink.requests()[0];
    let expected = format!("sha256={}", openssl_hmac("sha256", token, &r.body));
    assert_eq!(r.header("x-signature"), Some(expected));
    let wrong = format!("sha256={}", openssl_hmac("sha256", "other", &r.body));
    assert_ne!(r.header("x-signature"), Some(wrong));
}

#[tokio::test]
async fn slack_message_is_an_attachment_with_fields() {
    let sink = Sink::ok().await;
    let mut p = provider("slack", "slack", None);
    p.spec.channel = Some("general".into());
    let secrets = secrets(&[
        ("address", &sink.url("/services/T000/B000/XXXX")),
        ("token", "xoxb-1"),
    ]);
    let e = event(Severity::Error, "HealthCheckFailed", "health check failed");
    notifier(&p, &secrets).send(&e).await.unwrap();
    let r = &sink.requests()[0];
    assert_eq!(r.target, "/services/T000/B000/XXXX");
    assert_eq!(r.header("authorization").as_deref(), Some("Bearer xoxb-1"));
    let body = r.json();
    assert_eq!(body["channel"], "general");
    assert_eq!(body["username"], "kustomize-controller");
    let a = &body["attachments"][0];
    assert_eq!(a["color"], "danger");
    assert_eq!(a["author_name"], "kustomization/apps.flux-system");
    assert_eq!(a["text"], "health check failed");
    assert_eq!(a["mrkdwn_in"], json!(["text"]));
    assert_eq!(
        a["fields"],
        json!([
            {"title": "revision", "value": "main@sha1:731f7eaddfb6af01cb2173e18f0f75b0ba780ef1", "short": false},
            {"title": "summary", "value": "cluster impacted", "short": false},
        ])
    );
    // Info events are green; commit-status-only events are not posted to chat.
    let mut info = event(Severity::Info, "ReconciliationSucceeded", "ok");
    notifier(&p, &secrets).send(&info).await.unwrap();
    assert_eq!(sink.requests()[1].json()["attachments"][0]["color"], "good");
    info.metadata
        .insert("commit_status".into(), "update".into());
    assert!(matches!(
        notifier(&p, &secrets).send(&info).await.unwrap(),
        Sent::Skipped(_)
    ));
    assert_eq!(sink.requests().len(), 2);
}

#[tokio::test]
async fn discord_uses_the_slack_compatible_endpoint() {
    let sink = Sink::ok().await;
    let mut p = provider(
        "discord",
        "discord",
        Some(sink.url("/api/webhooks/123/tok")),
    );
    p.spec.username = Some("flux".into());
    notifier(&p, &ProviderSecrets::default())
        .send(&event(Severity::Info, "ReconciliationSucceeded", "applied"))
        .await
        .unwrap();
    let r = &sink.requests()[0];
    assert_eq!(r.target, "/api/webhooks/123/tok/slack");
    let body = r.json();
    assert_eq!(body["username"], "flux");
    assert_eq!(
        body["attachments"][0]["author_name"],
        "kustomization/apps.flux-system"
    );
}

#[tokio::test]
async fn msteams_workflow_gets_an_adaptive_card() {
    let sink = Sink::ok().await;
    let p = provider(
        "teams",
        "msteams",
        Some(sink.url("/workflows/abc/triggers/manual/paths/invoke")),
    );
    notifier(&p, &ProviderSecrets::default())
        .send(&event(
            Severity::Error,
            "HealthCheckFailed",
            "health check failed",
        ))
        .await
        .unwrap();
    let body = sink.requests()[0].json();
    assert_eq!(body["type"], "message");
    let att = &body["attachments"][0];
    assert_eq!(
        att["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    let card = &att["content"];
    assert_eq!(card["type"], "AdaptiveCard");
    assert_eq!(card["version"], "1.4");
    let items = &card["body"][0]["items"];
    assert_eq!(items[0]["text"], "kustomization/apps.flux-system");
    assert_eq!(items[1]["text"], "health check failed");
    assert_eq!(items[1]["color"], "attention");
    assert_eq!(items[2]["type"], "FactSet");
    assert_eq!(
        items[2]["facts"][0],
        json!({"title": "summary", "value": "cluster impacted"})
    );
    assert_eq!(items[2]["facts"][1]["title"], "revision");
}

#[tokio::test]
async fn msteams_office_connector_through_an_http_proxy() {
    // The sink plays the proxy: through a proxy, plain-http requests carry the absolute URL.
    let proxy = Sink::ok().await;
    let mut p = provider(
        "teams",
        "msteams",
        Some("http://acme.webhook.office.com/webhookb2/xyz".into()),
    );
    p.spec.proxy = Some(format!("http://{}", proxy.addr));
    notifier(&p, &ProviderSecrets::default())
        .send(&event(Severity::Info, "ReconciliationSucceeded", "applied"))
        .await
        .unwrap();
    let r = &proxy.requests()[0];
    assert_eq!(r.target, "http://acme.webhook.office.com/webhookb2/xyz");
    assert_eq!(r.header("host").as_deref(), Some("acme.webhook.office.com"));
    let body = r.json();
    assert_eq!(body["@type"], "MessageCard");
    assert_eq!(body["themeColor"], "0076D7");
    assert_eq!(body["summary"], "kustomization/apps.flux-system");
    assert_eq!(body["sections"][0]["activityTitle"], "applied");
    assert_eq!(
        payload::msteams(
            &event(Severity::Error, "X", "y"),
            "https://a.webhook.office.com/x"
        )["themeColor"],
        "FF0000"
    );
}

#[tokio::test]
async fn github_commit_status_on_the_event_revision() {
    // Stand-in for the GitHub Enterprise API (github.com itself cannot be reached here).
    let sink = Sink::start(|r| match r.method.as_str() {
        "GET" => (200, "[]".into()),
        _ => (201, "{}".into()),
    })
    .await;
    let p = provider("gh", "github", Some(sink.url("/fluxcd/podinfo")));
    let n = notifier(&p, &secrets(&[("token", "ghp_token")]));
    let sha = "731f7eaddfb6af01cb2173e18f0f75b0ba780ef1";
    assert_eq!(
        n.send(&event(Severity::Info, "ReconciliationSucceeded", "ok"))
            .await
            .unwrap(),
        Sent::Delivered
    );
    let got = sink.requests();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].method, "GET");
    assert_eq!(
        got[0].target,
        format!("/api/v3/repos/fluxcd/podinfo/commits/{sha}/statuses?per_page=50")
    );
    let post = &got[1];
    assert_eq!(post.method, "POST");
    assert_eq!(
        post.target,
        format!("/api/v3/repos/fluxcd/podinfo/statuses/{sha}")
    );
    assert_eq!(
        post.header("authorization").as_deref(),
        Some("Bearer ghp_token")
    );
    assert_eq!(
        post.json(),
        json!({"state": "success", "context": "kustomization/apps/2a3c4e5f", "description": "reconciliation succeeded"})
    );
    // Errors fail the status; progressing events set none.
    n.send(&event(Severity::Error, "HealthCheckFailed", "x"))
        .await
        .unwrap();
    assert_eq!(sink.requests()[3].json()["state"], "failure");
    assert_eq!(
        sink.requests()[3].json()["description"],
        "health check failed"
    );
    assert!(matches!(
        n.send(&event(Severity::Info, "Progressing", "x"))
            .await
            .unwrap(),
        Sent::Skipped(_)
    ));
    assert_eq!(sink.requests().len(), 4);
    // No revision, no status.
    let mut bare = event(Severity::Info, "ReconciliationSucceeded", "ok");
    bare.metadata.clear();
    assert!(matches!(n.send(&bare).await, Err(SendError::Event(_))));
}

#[tokio::test]
async fn github_skips_a_status_it_already_set() {
    let sink = Sink::start(|r| match r.method.as_str() {
        "GET" => (
            200,
            json!([
                {"context": "kustomization/apps/2a3c4e5f", "state": "success", "description": "reconciliation succeeded"},
                {"context": "kustomization/apps/2a3c4e5f", "state": "failure", "description": "health check failed"},
            ])
            .to_string(),
        ),
        _ => (201, "{}".into()),
    })
    .await;
    let p = provider(
        "gh",
        "github",
        Some(format!("ssh://git@{}/fluxcd/podinfo.git", sink.addr)),
    );
    // An ssh address maps to https on the web host: use the http form for the stand-in.
    let p = {
        let mut p = p;
        p.spec.address = Some(sink.url("/fluxcd/podinfo.git"));
        p
    };
    let n = notifier(&p, &secrets(&[("token", "t")]));
    assert!(matches!(
        n.send(&event(Severity::Info, "ReconciliationSucceeded", "ok"))
            .await
            .unwrap(),
        Sent::Skipped(_)
    ));
    assert_eq!(sink.requests().len(), 1);
}

#[tokio::test]
async fn gitlab_commit_status_uses_the_project_path() {
    let sink = Sink::start(|r| match r.method.as_str() {
        "GET" => (200, "[]".into()),
        _ => (201, "{}".into()),
    })
    .await;
    let p = provider("gl", "gitlab", Some(sink.url("/group/sub/podinfo.git")));
    let n = notifier(&p, &secrets(&[("token", "glpat-x")]));
    n.send(&event(Severity::Error, "ReconciliationFailed", "boom"))
        .await
        .unwrap();
    let got = sink.requests();
    let sha = "731f7eaddfb6af01cb2173e18f0f75b0ba780ef1";
    assert_eq!(
        got[0].target,
        format!("/api/v4/projects/group%2Fsub%2Fpodinfo/repository/commits/{sha}/statuses?name=kustomization%2Fapps%2F2a3c4e5f")
    );
    assert_eq!(
        got[1].target,
        format!("/api/v4/projects/group%2Fsub%2Fpodinfo/statuses/{sha}")
    );
    assert_eq!(got[1].header("private-token").as_deref(), Some("glpat-x"));
    assert_eq!(
        got[1].json(),
        json!({"state": "failed", "name": "kustomization/apps/2a3c4e5f", "description": "reconciliation failed"})
    );
}

#[tokio::test]
async fn error_answers_are_reported_without_secrets() {
    let sink = Sink::start(|r| (500, format!("echo: {}", String::from_utf8_lossy(&r.body)))).await;
    let p = provider("signed", "generic-hmac", Some(sink.url("/SECRETPATH")));
    let err = notifier(&p, &secrets(&[("token", "tok-123")]))
        .send(&event(Severity::Info, "R", "m"))
        .await
        .unwrap_err();
    assert!(err.is_retryable());
    let text = err.to_string();
    assert!(text.contains("500"), "{text}");
    assert!(
        !text.contains("SECRETPATH") && !text.contains("tok-123"),
        "{text}"
    );
    // Nothing listening: a connection error naming the host only.
    let p = provider(
        "down",
        "generic",
        Some("http://127.0.0.1:1/SECRETPATH".into()),
    );
    let err = notifier(&p, &ProviderSecrets::default())
        .send(&event(Severity::Info, "R", "m"))
        .await
        .unwrap_err();
    assert!(
        err.is_retryable() && !err.to_string().contains("SECRETPATH"),
        "{err}"
    );
}

#[tokio::test]
async fn provider_timeout_is_honoured() {
    let (addr, _hole) = black_hole().await;
    let mut p = provider("slow", "generic", Some(format!("http://{addr}/")));
    p.spec.timeout = Some("300ms".parse().unwrap());
    let started = std::time::Instant::now();
    let err = notifier(&p, &ProviderSecrets::default())
        .send(&event(Severity::Info, "R", "m"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("timed out"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn https_endpoint_trusted_through_cert_secret_and_reached_through_a_tunnel() {
    let (sink, ca_pem) = Sink::start_tls(|_| (200, "ok".into())).await;
    let p = {
        let mut p = provider(
            "tls",
            "generic",
            Some(format!("https://127.0.0.1:{}/hook", sink.addr.port())),
        );
        p.spec.cert_secret_ref = Some(flotilla_api::refs::LocalObjectReference::new("ca"));
        p
    };
    let e = event(Severity::Info, "ReconciliationSucceeded", "applied");
    // Without the CA the server is not trusted, and the error says how to fix it.
    let err = notifier(&p, &ProviderSecrets::default())
        .send(&e)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("certSecretRef"), "{err}");
    assert!(sink.requests().is_empty());
    let with_ca = ProviderSecrets {
        cert_secret: Some(secret_data(&[("ca.crt", &ca_pem)])),
        ..Default::default()
    };
    assert_eq!(
        notifier(&p, &with_ca).send(&e).await.unwrap(),
        Sent::Delivered
    );
    assert_eq!(sink.requests()[0].target, "/hook");
    // Through an HTTP proxy, https targets are tunnelled with CONNECT.
    let (proxy, tunnels, _task) = connect_proxy().await;
    let mut proxied = p.clone();
    proxied.spec.proxy = Some(format!("http://{proxy}"));
    assert_eq!(
        notifier(&proxied, &with_ca).send(&e).await.unwrap(),
        Sent::Delivered
    );
    assert_eq!(
        tunnels.lock().unwrap().clone(),
        vec![format!("CONNECT 127.0.0.1:{} HTTP/1.1", sink.addr.port())]
    );
    assert_eq!(sink.requests().len(), 2);
}
