//! kube-rs against the dev cluster: typed CRUD, discovery, a watcher across a server restart,
//! and server-side apply conflicts.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use flotilla_devcluster::{Options, Server, ServerHandle};
use futures::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::{reflector, watcher, WatchStreamExt};
use kube::{Client, Discovery, ResourceExt};

async fn client(handle: &ServerHandle, dir: &Path) -> Client {
    let path = dir.join("kubeconfig");
    handle.write_kubeconfig(&path).unwrap();
    let kc = Kubeconfig::read_from(&path).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .unwrap();
    Client::try_from(config).unwrap()
}

fn cm(name: &str, labels: &[(&str, &str)]) -> ConfigMap {
    let mut c = ConfigMap::default();
    c.metadata.name = Some(name.into());
    c.metadata.labels = Some(
        labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    );
    c.data = Some(BTreeMap::from([("k".to_string(), "v".to_string())]));
    c
}

#[tokio::test]
async fn typed_crud_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(Options::default()).await.unwrap();
    let client = client(&server, dir.path()).await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let created = api
        .create(&PostParams::default(), &cm("a", &[("app", "x")]))
        .await
        .unwrap();
    assert!(created.metadata.uid.is_some() && created.metadata.creation_timestamp.is_some());
    api.create(&PostParams::default(), &cm("b", &[("app", "y")]))
        .await
        .unwrap();
    let err = api
        .create(&PostParams::default(), &cm("a", &[]))
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(s) => assert_eq!((s.code, s.reason.as_str()), (409, "AlreadyExists")),
        other => panic!("{other:?}"),
    }
    let listed = api
        .list(&ListParams::default().labels("app in (x)"))
        .await
        .unwrap();
    assert_eq!(
        listed
            .items
            .iter()
            .map(|c| c.name_any())
            .collect::<Vec<_>>(),
        ["a"]
    );
    // limit/continue pages through the list.
    let page = api.list(&ListParams::default().limit(1)).await.unwrap();
    assert_eq!(page.items.len(), 1);
    let next = api
        .list(
            &ListParams::default()
                .limit(1)
                .continue_token(page.metadata.continue_.as_deref().unwrap()),
        )
        .await
        .unwrap();
    assert_eq!(next.items.len(), 1);
    assert_ne!(page.items[0].name_any(), next.items[0].name_any());
    // Optimistic concurrency: a stale resourceVersion conflicts.
    let mut stale = created.clone();
    let mut fresh = api.get("a").await.unwrap();
    fresh.data.as_mut().unwrap().insert("k".into(), "w".into());
    api.replace("a", &PostParams::default(), &fresh)
        .await
        .unwrap();
    stale.data.as_mut().unwrap().insert("k".into(), "z".into());
    match api
        .replace("a", &PostParams::default(), &stale)
        .await
        .unwrap_err()
    {
        kube::Error::Api(s) => assert_eq!((s.code, s.reason.as_str()), (409, "Conflict")),
        other => panic!("{other:?}"),
    }
    let patched = api
        .patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"data": {"n": "1"}})),
        )
        .await
        .unwrap();
    assert_eq!(patched.data.unwrap()["n"], "1");
    // dryRun stores nothing.
    api.delete(
        "a",
        &DeleteParams {
            dry_run: true,
            ..DeleteParams::default()
        },
    )
    .await
    .unwrap();
    api.get("a").await.unwrap();
    api.delete("a", &DeleteParams::default()).await.unwrap();
    // dryRun create answers with the object but stores nothing.
    let dry = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    let shown = api.create(&dry, &cm("ghost", &[])).await.unwrap();
    assert_eq!(shown.name_any(), "ghost");
    assert!(api.get_opt("ghost").await.unwrap().is_none());
    // deletecollection with a label selector.
    api.create(&PostParams::default(), &cm("c1", &[("batch", "1")]))
        .await
        .unwrap();
    api.create(&PostParams::default(), &cm("c2", &[("batch", "1")]))
        .await
        .unwrap();
    api.delete_collection(
        &DeleteParams::default(),
        &ListParams::default().labels("batch=1"),
    )
    .await
    .unwrap();
    let left: Vec<String> = api
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|c| c.name_any())
        .collect();
    assert_eq!(left, ["b"]);
    match api.get("a").await.unwrap_err() {
        kube::Error::Api(s) => assert_eq!((s.code, s.reason.as_str()), (404, "NotFound")),
        other => panic!("{other:?}"),
    }
    server.shutdown().await;
}

#[tokio::test]
async fn discovery_finds_builtins() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(Options::default()).await.unwrap();
    let client = client(&server, dir.path()).await;
    let discovery = Discovery::new(client).run().await.unwrap();
    let apps = discovery.get("apps").unwrap();
    let (ar, caps) = apps.recommended_kind("Deployment").unwrap();
    assert_eq!(
        (ar.plural.as_str(), ar.version.as_str()),
        ("deployments", "v1")
    );
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
    assert!(caps
        .subresources
        .iter()
        .any(|(r, _)| r.plural == "deployments/status" || r.plural == "status"));
    assert!(discovery.get("apiextensions.k8s.io").is_some());
    assert!(discovery.get("").is_some());
    server.shutdown().await;
}

#[tokio::test]
async fn server_side_apply_conflicts() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(Options::default()).await.unwrap();
    let client = client(&server, dir.path()).await;
    let api: Api<Deployment> = Api::namespaced(client, "default");
    let deploy = |replicas: i32| {
        serde_json::json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx"}]}},
            }
        })
    };
    api.patch(
        "web",
        &PatchParams::apply("alice"),
        &Patch::Apply(deploy(2)),
    )
    .await
    .unwrap();
    match api
        .patch("web", &PatchParams::apply("bob"), &Patch::Apply(deploy(3)))
        .await
        .unwrap_err()
    {
        kube::Error::Api(s) => {
            assert_eq!((s.code, s.reason.as_str()), (409, "Conflict"));
            assert!(
                s.message.contains("alice") && s.message.contains(".spec.replicas"),
                "{}",
                s.message
            );
        }
        other => panic!("{other:?}"),
    }
    let forced = api
        .patch(
            "web",
            &PatchParams::apply("bob").force(),
            &Patch::Apply(deploy(3)),
        )
        .await
        .unwrap();
    assert_eq!(forced.spec.replicas, Some(3));
    let managers: Vec<String> = forced
        .metadata
        .managed_fields
        .unwrap()
        .iter()
        .filter_map(|m| m.manager.clone())
        .collect();
    assert!(
        managers.contains(&"alice".to_string()) && managers.contains(&"bob".to_string()),
        "{managers:?}"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn watcher_survives_a_server_restart() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let opts = |port: u16| Options {
        data_dir: Some(data.clone()),
        port,
        ..Options::default()
    };
    let server = Server::start(opts(0)).await.unwrap();
    let port = server.addr.port();
    let client = client(&server, dir.path()).await;
    let api: Api<ConfigMap> = Api::namespaced(client, "default");
    api.create(&PostParams::default(), &cm("before", &[]))
        .await
        .unwrap();
    let (reader, writer) = reflector::store();
    let stream = reflector(writer, watcher(api.clone(), watcher::Config::default()))
        .default_backoff()
        .applied_objects();
    let task = tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        while let Some(_ev) = stream.next().await {}
    });
    let names = |r: &reflector::Store<ConfigMap>| {
        let mut n: Vec<String> = r.state().iter().map(|c| c.name_any()).collect();
        n.sort();
        n
    };
    let wait_for = |want: Vec<&'static str>| {
        let reader = reader.clone();
        async move {
            for _ in 0..200 {
                if names(&reader) == want {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            panic!("reflector has {:?}, want {want:?}", names(&reader));
        }
    };
    wait_for(vec!["before"]).await;
    server.shutdown().await;
    let server = Server::start(opts(port)).await.unwrap();
    api.create(&PostParams::default(), &cm("after", &[]))
        .await
        .unwrap();
    wait_for(vec!["after", "before"]).await;
    api.delete("before", &DeleteParams::default())
        .await
        .unwrap();
    wait_for(vec!["after"]).await;
    task.abort();
    server.shutdown().await;
}

#[tokio::test]
async fn bad_requests_get_status_errors_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(Options {
        max_body_bytes: 64 * 1024,
        watch_history: 5,
        ..Options::default()
    })
    .await
    .unwrap();
    let client = client(&server, dir.path()).await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let code = |e: kube::Error| match e {
        kube::Error::Api(s) => (s.code, s.reason),
        other => panic!("{other:?}"),
    };
    // Too large a body: 413, nothing stored.
    let mut big = cm("big", &[]);
    big.data = Some(BTreeMap::from([("k".to_string(), "x".repeat(100 * 1024))]));
    let e = api.create(&PostParams::default(), &big).await.unwrap_err();
    assert_eq!(code(e), (413, "RequestEntityTooLarge".to_string()));
    assert_eq!(code(api.get("big").await.unwrap_err()).0, 404);
    // Malformed JSON: 400.
    let req = http::Request::post("/api/v1/namespaces/default/configmaps")
        .header("content-type", "application/json")
        .body(b"{\"metadata\": ".to_vec())
        .unwrap();
    let e = client.request_text(req).await.unwrap_err();
    assert_eq!(code(e).0, 400);
    // Unknown version of a known group: 404.
    let req = http::Request::get("/apis/apps/v9/deployments")
        .body(Vec::new())
        .unwrap();
    assert_eq!(code(client.request_text(req).await.unwrap_err()).0, 404);
    // A watch from a version older than the kept history: 410 Expired.
    for i in 0..10 {
        api.create(&PostParams::default(), &cm(&format!("c{i}"), &[]))
            .await
            .unwrap();
    }
    let mut stream = api
        .watch(&kube::api::WatchParams::default(), "1")
        .await
        .unwrap()
        .boxed();
    match stream.next().await {
        Some(Ok(kube::api::WatchEvent::Error(s))) => {
            assert_eq!((s.code, s.reason.as_str()), (410, "Expired"))
        }
        other => panic!("expected 410 Expired, got {other:?}"),
    }
    // A wrong token: 401.
    let path = dir.path().join("bad");
    std::fs::write(
        &path,
        server.kubeconfig_yaml().replace(&server.token, "nope"),
    )
    .unwrap();
    let config = kube::Config::from_custom_kubeconfig(
        Kubeconfig::read_from(&path).unwrap(),
        &KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    let bad: Api<ConfigMap> = Api::namespaced(Client::try_from(config).unwrap(), "default");
    assert_eq!(
        code(bad.list(&ListParams::default()).await.unwrap_err()).0,
        401
    );
    // Still serving.
    assert_eq!(
        api.list(&ListParams::default()).await.unwrap().items.len(),
        10
    );
    server.shutdown().await;
}

#[tokio::test]
async fn built_in_validation_errors_are_statuses() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(Options::default()).await.unwrap();
    let client = client(&server, dir.path()).await;
    let api: Api<Deployment> = Api::namespaced(client, "default");
    let d: Deployment = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "d"},
        "spec": {"selector": {"matchLabels": {"app": "d"}},
            "template": {"metadata": {"labels": {"app": "d"}},
                "spec": {"containers": [{"name": "c"}]}}}
    }))
    .unwrap();
    let err = api.create(&PostParams::default(), &d).await.unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!((s.code, s.reason.as_str()), (422, "Invalid"));
            assert!(
                s.message
                    .contains("spec.template.spec.containers[0].image: Required value"),
                "{}",
                s.message
            );
        }
        other => panic!("{other:?}"),
    }
    let d: Deployment = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "d"},
        "spec": {"selector": {"matchLabels": {"app": "d"}},
            "template": {"metadata": {"labels": {"app": "d"}},
                "spec": {"containers": [{"name": "c", "image": "nginx:1"}]}}}
    }))
    .unwrap();
    api.create(&PostParams::default(), &d).await.unwrap();
    let strict = PatchParams::default().validation(kube::api::ValidationDirective::Strict);
    let unknown = serde_json::json!({"spec": {"foo": 1}});
    let err = api
        .patch("d", &strict, &Patch::Merge(&unknown))
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!((s.code, s.reason.as_str()), (400, "BadRequest"));
            assert!(
                s.message
                    .ends_with("strict decoding error: unknown field \"spec.foo\""),
                "{}",
                s.message
            );
        }
        other => panic!("{other:?}"),
    }
    // Without Strict the field is dropped, as typed decoding drops it.
    let patched = api
        .patch("d", &PatchParams::default(), &Patch::Merge(&unknown))
        .await
        .unwrap();
    assert_eq!(patched.metadata.generation, Some(1));
    let moved = serde_json::json!({"spec": {"selector": {"matchLabels": {"app": "e"}},
        "template": {"metadata": {"labels": {"app": "e"}}}}});
    let err = api
        .patch("d", &PatchParams::default(), &Patch::Merge(&moved))
        .await
        .unwrap_err();
    match err {
        kube::Error::Api(s) => {
            assert_eq!((s.code, s.reason.as_str()), (422, "Invalid"));
            assert!(s.message.contains("field is immutable"), "{}", s.message);
        }
        other => panic!("{other:?}"),
    }
    server.shutdown().await;
}
