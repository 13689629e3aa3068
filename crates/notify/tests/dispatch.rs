//! The dispatcher end to end with loopback servers standing in for the notification services:
//! Alerts select events, duplicates are rate-limited, a provider that is down or hangs is
//! retried without holding up another, and every outcome is counted.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use flotilla_notify::provider::ProviderSecrets;
use flotilla_notify::{
    DispatchOptions, Dispatcher, Event, RetryPolicy, Severity, StaticResolver, Submitted,
};
use k8s_openapi::api::core::v1::ObjectReference;
use support::*;

fn kustomization_event(name: &str, message: &str, revision: &str) -> Event {
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
        message,
        "kustomize-controller",
    )
    .with_revision(revision)
}

fn fast_retries() -> DispatchOptions {
    DispatchOptions {
        retry: RetryPolicy {
            max_retries: 2,
            min_backoff: Duration::from_millis(20),
            max_backoff: Duration::from_millis(50),
        },
        ..DispatchOptions::default()
    }
}

#[tokio::test]
async fn failing_health_check_yields_one_slack_message() {
    let slack = Sink::ok().await;
    let resolver = StaticResolver::new()
        .with_provider(
            provider("slack", "slack", None),
            secrets(&[("address", &slack.url("/services/T/B/X"))]),
        )
        .with_alert(alert(
            "on-call",
            "slack",
            vec![source("Kustomization", "*")],
        ));
    let dispatcher = Dispatcher::new(resolver, fast_retries());
    let event = kustomization_event("apps", "health check failed after 30s", "main@sha1:abc");
    // The same failure reported three times in a row is one message.
    for _ in 0..3 {
        dispatcher.submit(event.clone()).await.unwrap();
    }
    dispatcher.wait_idle().await;
    let got = slack.requests();
    assert_eq!(got.len(), 1);
    let body = got[0].json();
    assert_eq!(
        body["attachments"][0]["text"],
        "health check failed after 30s"
    );
    assert_eq!(body["attachments"][0]["color"], "danger");
    let m = dispatcher.metrics();
    assert_eq!((m.events_received, m.events_rate_limited), (3, 2));
    let slack = m.providers["flux-system/slack"];
    assert_eq!(
        (slack.dispatched, slack.rate_limited, slack.succeeded),
        (1, 2, 1)
    );
    let text = m.to_prometheus();
    assert!(
        text.contains(r#"flotilla_notification_deliveries_total{provider="flux-system/slack",result="rate_limited"} 2"#),
        "{text}"
    );
}

#[tokio::test]
async fn rate_limit_key_and_window() {
    let sink = Sink::ok().await;
    let resolver = StaticResolver::new()
        .with_provider(
            provider("hook", "generic", Some(sink.url("/"))),
            ProviderSecrets::default(),
        )
        .with_alert(alert("all", "hook", vec![source("Kustomization", "*")]));
    let options = DispatchOptions {
        rate_limit_window: Duration::from_millis(300),
        ..fast_retries()
    };
    let dispatcher = Dispatcher::new(resolver, options);
    let submit = |e: Event| {
        let d = dispatcher.clone();
        async move { d.submit(e).await.unwrap() }
    };
    assert_eq!(
        submit(kustomization_event("apps", "m", "r1")).await,
        Submitted::Dispatched(1)
    );
    assert_eq!(
        submit(kustomization_event("apps", "m", "r1")).await,
        Submitted::RateLimited
    );
    // A new revision, message or object is a different event.
    assert_eq!(
        submit(kustomization_event("apps", "m", "r2")).await,
        Submitted::Dispatched(1)
    );
    assert_eq!(
        submit(kustomization_event("apps", "other", "r1")).await,
        Submitted::Dispatched(1)
    );
    assert_eq!(
        submit(kustomization_event("infra", "m", "r1")).await,
        Submitted::Dispatched(1)
    );
    // After the window the same event goes out again.
    tokio::time::sleep(Duration::from_millis(350)).await;
    assert_eq!(
        submit(kustomization_event("apps", "m", "r1")).await,
        Submitted::Dispatched(1)
    );
    dispatcher.wait_idle().await;
    assert_eq!(sink.requests().len(), 5);
}

#[tokio::test]
async fn a_provider_that_is_down_does_not_hold_up_another() {
    let (hole, _task) = black_hole().await;
    let failing = Sink::start(|_| (503, "unavailable".into())).await;
    let healthy = Sink::ok().await;
    let mut hanging = provider("hanging", "generic", Some(format!("http://{hole}/")));
    hanging.spec.timeout = Some("500ms".parse().unwrap());
    let resolver = StaticResolver::new()
        .with_provider(hanging, ProviderSecrets::default())
        .with_provider(
            provider("failing", "generic", Some(failing.url("/"))),
            ProviderSecrets::default(),
        )
        .with_provider(
            provider("healthy", "generic", Some(healthy.url("/"))),
            ProviderSecrets::default(),
        )
        .with_alert(alert(
            "a-hanging",
            "hanging",
            vec![source("Kustomization", "*")],
        ))
        .with_alert(alert(
            "b-failing",
            "failing",
            vec![source("Kustomization", "*")],
        ))
        .with_alert(alert(
            "c-healthy",
            "healthy",
            vec![source("Kustomization", "*")],
        ));
    let dispatcher = Dispatcher::new(resolver, fast_retries());
    let started = Instant::now();
    for i in 0..5 {
        let e = kustomization_event("apps", &format!("failure {i}"), "r");
        assert_eq!(
            dispatcher.submit(e).await.unwrap(),
            Submitted::Dispatched(3)
        );
    }
    // The healthy provider gets all five while the others are still hanging or retrying.
    let got = healthy.wait_for(5, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 5);
    let healthy_done = started.elapsed();
    assert!(
        healthy_done < Duration::from_millis(500),
        "healthy provider waited {healthy_done:?}"
    );
    dispatcher.wait_idle().await;
    // 1 attempt + 2 retries each, then given up and counted.
    assert_eq!(failing.requests().len(), 15);
    let m = dispatcher.metrics();
    let f = m.providers["flux-system/failing"];
    assert_eq!((f.failed, f.retries, f.succeeded), (5, 10, 0));
    let h = m.providers["flux-system/hanging"];
    assert_eq!((h.failed, h.retries), (5, 10));
    assert_eq!(m.providers["flux-system/healthy"].succeeded, 5);
    assert_eq!(m.failed(), 10);
    let text = m.to_prometheus();
    assert!(text.contains(r#"flotilla_notification_deliveries_total{provider="flux-system/failing",result="failed"} 5"#), "{text}");
    assert!(
        text.contains(r#"flotilla_notification_retries_total{provider="flux-system/hanging"} 10"#),
        "{text}"
    );
}

#[tokio::test]
async fn recovering_provider_is_retried_until_it_accepts() {
    let attempts = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = attempts.clone();
    let flaky = Sink::start(move |_| {
        if seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < 2 {
            (502, "bad gateway".into())
        } else {
            (200, "ok".into())
        }
    })
    .await;
    let resolver = StaticResolver::new()
        .with_provider(
            provider("flaky", "generic", Some(flaky.url("/"))),
            ProviderSecrets::default(),
        )
        .with_alert(alert("a", "flaky", vec![source("Kustomization", "apps")]));
    let dispatcher = Dispatcher::new(resolver, fast_retries());
    dispatcher
        .submit(kustomization_event("apps", "m", "r"))
        .await
        .unwrap();
    dispatcher.wait_idle().await;
    let m = dispatcher.metrics().providers["flux-system/flaky"];
    assert_eq!((m.succeeded, m.retries, m.failed), (1, 2, 0));
    assert_eq!(flaky.requests().len(), 3);
}

#[tokio::test]
async fn alerts_select_by_labels_severity_and_metadata() {
    let sink = Sink::ok().await;
    let mut labelled = source("Kustomization", "*");
    labelled.match_labels = Some(labels(&[("team", "web")]));
    let mut web = alert("web", "hook", vec![labelled]);
    web.spec.event_metadata = Some(labels(&[("cluster", "dev"), ("revision", "ignored")]));
    web.spec.summary = Some("web apps".into());
    let mut errors_only = alert("errors", "hook", vec![source("GitRepository", "*")]);
    errors_only.spec.event_severity = Some(flotilla_api::notification::EventSeverity::Error);
    let mut suspended = alert("off", "hook", vec![source("Kustomization", "*")]);
    suspended.spec.suspend = Some(true);
    let mut suspended_provider = provider("muted", "generic", Some(sink.url("/muted")));
    suspended_provider.spec.suspend = Some(true);
    let resolver = StaticResolver::new()
        .with_provider(
            provider("hook", "generic", Some(sink.url("/"))),
            ProviderSecrets::default(),
        )
        .with_provider(suspended_provider, ProviderSecrets::default())
        .with_alert(web)
        .with_alert(errors_only)
        .with_alert(suspended)
        .with_alert(alert(
            "muted",
            "muted",
            vec![source("Kustomization", "frontend")],
        ))
        .with_labels(
            "Kustomization",
            "flux-system",
            "frontend",
            labels(&[("team", "web")]),
        )
        .with_labels(
            "Kustomization",
            "flux-system",
            "db",
            labels(&[("team", "data")]),
        );
    let dispatcher = Dispatcher::new(resolver, fast_retries());
    let frontend = kustomization_event("frontend", "m", "main@sha1:1");
    assert_eq!(
        dispatcher.submit(frontend).await.unwrap(),
        Submitted::Dispatched(1)
    );
    let db = kustomization_event("db", "m", "main@sha1:1");
    assert_eq!(
        dispatcher.submit(db).await.unwrap(),
        Submitted::NoMatchingAlert
    );
    let mut git_info = kustomization_event("repo", "fetched", "main@sha1:2");
    git_info.involved_object.kind = Some("GitRepository".into());
    git_info.involved_object.api_version = Some("source.toolkit.fluxcd.io/v1".into());
    git_info.severity = Severity::Info;
    assert_eq!(
        dispatcher.submit(git_info.clone()).await.unwrap(),
        Submitted::NoMatchingAlert
    );
    git_info.severity = Severity::Error;
    git_info.message = "fetch failed".into();
    assert_eq!(
        dispatcher.submit(git_info).await.unwrap(),
        Submitted::Dispatched(1)
    );
    let mut trace = kustomization_event("frontend", "t", "r");
    trace.severity = Severity::Trace;
    assert_eq!(dispatcher.submit(trace).await.unwrap(), Submitted::Ignored);
    dispatcher.wait_idle().await;
    let got = sink.requests();
    assert_eq!(got.len(), 2);
    let first = got
        .iter()
        .find(|r| r.json()["involvedObject"]["name"] == "frontend")
        .unwrap()
        .json();
    assert_eq!(first["metadata"]["cluster"], "dev");
    assert_eq!(first["metadata"]["summary"], "web apps");
    // The emitter's revision wins over the Alert's eventMetadata.
    assert_eq!(first["metadata"]["revision"], "main@sha1:1");
}

#[tokio::test]
async fn unusable_providers_are_counted_not_silent() {
    let resolver = StaticResolver::new()
        .with_provider(
            provider("tg", "telegram", Some("http://127.0.0.1:1/".into())),
            ProviderSecrets::default(),
        )
        .with_alert(alert("a", "tg", vec![source("Kustomization", "*")]))
        .with_alert(alert("b", "missing", vec![source("Kustomization", "*")]));
    let dispatcher = Dispatcher::new(resolver, fast_retries());
    let outcome = dispatcher
        .submit(kustomization_event("apps", "m", "r"))
        .await
        .unwrap();
    assert_eq!(outcome, Submitted::Dispatched(0));
    let m = dispatcher.metrics();
    assert_eq!(m.resolve_errors, 2);
    assert_eq!(m.events_without_alert, 0);
    // Each counts as a failure of its Provider, as a delivery that could not be made.
    assert_eq!(m.providers["flux-system/tg"].failed, 1);
    assert_eq!(m.providers["flux-system/missing"].failed, 1);
    assert_eq!(m.failed(), 2);
}
