//! GitRepository against the dev cluster with real Git servers: HTTPS with basic auth and a
//! custom CA, SSH with host-key checking, file://; artifacts served over HTTP.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::*;
use flotilla_api::GitRepository;
use flotilla_testkit::{DevCluster, HttpAuth, HttpGitServer, Repo, SshServer};
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use serde_json::json;

const USER: &str = "codecommit-user-at-123456789012";
const PASSWORD: &str = "s3cr3t-Pa55w0rd-for-tests";

/// A bare repository `app.git` under a temp root, cloned from a work repo with one commit.
fn served_repo() -> (Repo, tempfile::TempDir) {
    let work = Repo::new();
    work.write("deploy/app.yaml", "kind: ConfigMap\n");
    work.write("README.md", "hello\n");
    work.commit("first");
    let root = tempfile::tempdir().unwrap();
    flotilla_testkit::git(
        root.path(),
        &[
            "clone",
            "-q",
            "--bare",
            work.path().to_str().unwrap(),
            "app.git",
        ],
    );
    (work, root)
}

fn push(work: &Repo, root: &tempfile::TempDir) {
    let bare = root.path().join("app.git");
    flotilla_testkit::git(
        work.path(),
        &["push", "-q", bare.to_str().unwrap(), "main:main"],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_basic_auth_ready_new_commit_on_request_and_artifact_served() {
    let cluster = DevCluster::start();
    let (work, root) = served_repo();
    let (server, ca) = HttpGitServer::start_tls(
        root.path(),
        HttpAuth::Basic {
            user: USER.into(),
            password: PASSWORD.into(),
        },
    );
    let client = cluster.new_client();
    put_secret(
        &client,
        "https-credentials",
        &[
            ("username", USER.as_bytes()),
            ("password", PASSWORD.as_bytes()),
            ("ca.crt", ca.as_bytes()),
        ],
    )
    .await;
    let controller = Controller::start(&cluster, |_| {});
    let api: Api<GitRepository> = Api::namespaced(client.clone(), NS);
    create_repo(
        &api,
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "app", "namespace": NS},
            "spec": {"url": server.https_url("app.git"), "interval": "10m",
                "ref": {"branch": "main"}, "secretRef": {"name": "https-credentials"}}}),
    )
    .await;

    let obj = wait_ready(&api, "app", "True").await;
    let first = work.head();
    let artifact = &obj["status"]["artifact"];
    assert_eq!(artifact["revision"], format!("main@sha1:{first}"));
    assert_eq!(
        condition(&obj, "ArtifactInStorage").unwrap()["status"],
        "True"
    );
    assert_eq!(
        condition(&obj, "Ready").unwrap()["message"],
        format!("stored artifact for revision 'main@sha1:{first}'")
    );
    assert_eq!(
        obj["metadata"]["finalizers"],
        json!(["finalizers.fluxcd.io"])
    );
    // Status and finalizer writes are owned by Flux's manager name, so tools reading
    // managedFields (and Flux itself, after a migration) see the same owners.
    let managers: Vec<(&str, Option<&str>)> = obj["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["manager"].as_str().unwrap(), e["subresource"].as_str()))
        .collect();
    assert!(
        managers.contains(&("gotk-source-controller", Some("status")))
            && managers.contains(&("gotk-source-controller", None)),
        "{managers:?}"
    );
    let path = artifact["path"].as_str().unwrap();
    assert!(path.starts_with("gitrepository/flux-system/app/") && path.ends_with(".tar.gz"));
    assert_eq!(
        artifact["url"],
        format!("http://127.0.0.1:{}/{path}", controller.storage_port)
    );

    // The artifact is served, and its bytes have the digest the status reports.
    let (code, body) = http_get(controller.storage_port, &format!("/{path}")).await;
    assert_eq!(code, 200);
    assert_eq!(artifact["size"], body.len());
    let file = controller.storage.path().join("downloaded.tar.gz");
    std::fs::write(&file, &body).unwrap();
    assert_eq!(
        artifact["digest"],
        flotilla_source::file_digest(&file).unwrap()
    );
    assert_eq!(
        flotilla_testkit::tar_list(&file),
        vec!["README.md", "deploy", "deploy/app.yaml"]
    );

    // A requestedAt with no new commit: handled, same artifact, no new event.
    let value = request_reconcile(&api, "app").await;
    let again = eventually(
        Duration::from_secs(10),
        "lastHandledReconcileAt",
        || async {
            let o = get_json(&api, "app").await;
            (o["status"]["lastHandledReconcileAt"] == value.as_str()).then_some(o)
        },
    )
    .await;
    assert_eq!(again["status"]["artifact"], obj["status"]["artifact"]);

    // A new commit shows up right after a requestedAt annotation.
    work.write(
        "deploy/app.yaml",
        "kind: ConfigMap\nmetadata:\n  name: v2\n",
    );
    let second = work.commit("second");
    push(&work, &root);
    let value = request_reconcile(&api, "app").await;
    let updated = eventually(Duration::from_secs(10), "new revision", || async {
        let o = get_json(&api, "app").await;
        (o["status"]["artifact"]["revision"] == format!("main@sha1:{second}")).then_some(o)
    })
    .await;
    assert_eq!(updated["status"]["lastHandledReconcileAt"], value.as_str());
    assert_eq!(condition(&updated, "Ready").unwrap()["status"], "True");

    // Events: one NewArtifact per new commit, from source-controller.
    let evs = events(&client).await;
    let new_artifacts: Vec<_> = evs
        .iter()
        .filter(|e| e["reason"] == "NewArtifact" && e["regarding"]["name"] == "app")
        .collect();
    assert_eq!(new_artifacts.len(), 2, "{evs:#?}");
    assert!(new_artifacts
        .iter()
        .all(|e| e["reportingController"] == "source-controller" && e["type"] == "Normal"));

    // Old artifacts are garbage-collected beyond the retention (2).
    let dir = controller
        .storage
        .path()
        .join("gitrepository/flux-system/app");
    let kept = std::fs::read_dir(&dir).unwrap().count();
    assert!(kept <= 2, "{kept} artifacts kept");

    // Unreachable host: Ready=False with a Git error, retried, the last artifact still served.
    let new_path = updated["status"]["artifact"]["path"]
        .as_str()
        .unwrap()
        .to_string();
    drop(server);
    request_reconcile(&api, "app").await;
    let failed = wait_ready(&api, "app", "False").await;
    assert_eq!(
        condition(&failed, "Ready").unwrap()["reason"],
        "GitOperationFailed"
    );
    assert_eq!(
        condition(&failed, "Reconciling").unwrap()["reason"],
        "ProgressingWithRetry"
    );
    assert_eq!(failed["status"]["artifact"]["path"], new_path.as_str());
    let (code, _) = http_get(controller.storage_port, &format!("/{new_path}")).await;
    assert_eq!(code, 200);

    // Deletion removes the artifacts (finalizer).
    api.delete("app", &DeleteParams::default()).await.unwrap();
    eventually(Duration::from_secs(10), "object gone", || async {
        api.get_opt("app").await.unwrap().is_none().then_some(())
    })
    .await;
    assert!(!dir.exists(), "artifacts left after deletion");
    controller.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_authentication_failed_and_never_shown() {
    let cluster = DevCluster::start();
    let (_work, root) = served_repo();
    let server = HttpGitServer::start(
        root.path(),
        HttpAuth::Basic {
            user: USER.into(),
            password: PASSWORD.into(),
        },
    );
    let client = cluster.new_client();
    let wrong = "Wr0ng-Pa55word-xyz";
    put_secret(
        &client,
        "bad-credentials",
        &[
            ("username", USER.as_bytes()),
            ("password", wrong.as_bytes()),
        ],
    )
    .await;
    let _controller = Controller::start(&cluster, |_| {});
    let api: Api<GitRepository> = Api::namespaced(client.clone(), NS);
    create_repo(
        &api,
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "app", "namespace": NS},
            "spec": {"url": server.url("app.git"), "interval": "10m",
                "ref": {"branch": "main"}, "secretRef": {"name": "bad-credentials"}}}),
    )
    .await;
    let obj = wait_ready(&api, "app", "False").await;
    let ready = condition(&obj, "Ready").unwrap();
    assert_eq!(ready["reason"], "AuthenticationFailed", "{ready}");
    assert_eq!(
        condition(&obj, "FetchFailed").unwrap()["reason"],
        "AuthenticationFailed"
    );
    assert!(obj["status"]["artifact"].is_null());
    let evs = events(&client).await;
    assert!(evs
        .iter()
        .any(|e| e["reason"] == "AuthenticationFailed" && e["type"] == "Warning"));
    let everything = format!("{obj} {}", serde_json::to_string(&evs).unwrap());
    assert!(!everything.contains(wrong), "password leaked: {everything}");

    // A missing secret key is named.
    put_secret(&client, "bad-credentials", &[("username", USER.as_bytes())]).await;
    request_reconcile(&api, "app").await;
    eventually(Duration::from_secs(10), "missing key message", || async {
        let o = get_json(&api, "app").await;
        let msg = condition(&o, "Ready")?["message"].as_str()?.to_string();
        msg.contains("'password'").then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_host_key_checked() {
    let cluster = DevCluster::start();
    let sshd = SshServer::start();
    let work = Repo::new();
    work.write("a.txt", "a\n");
    let head = work.commit("one");
    let client = cluster.new_client();
    // known_hosts naming the right host with another key.
    let other = tempfile::tempdir().unwrap();
    flotilla_testkit::keygen(&other.path().join("k"));
    let other_pub = std::fs::read_to_string(other.path().join("k.pub")).unwrap();
    let mut fields = other_pub.split_whitespace();
    let wrong_known = format!(
        "[127.0.0.1]:{} {} {}\n",
        sshd.port,
        fields.next().unwrap(),
        fields.next().unwrap()
    );
    put_secret(
        &client,
        "ssh-wrong",
        &[
            ("identity", &sshd.client_key),
            ("known_hosts", wrong_known.as_bytes()),
        ],
    )
    .await;
    put_secret(
        &client,
        "ssh-right",
        &[
            ("identity", &sshd.client_key),
            ("known_hosts", &sshd.known_hosts),
        ],
    )
    .await;
    let _controller = Controller::start(&cluster, |_| {});
    let api: Api<GitRepository> = Api::namespaced(client.clone(), NS);
    for (name, secret) in [("wrong", "ssh-wrong"), ("right", "ssh-right")] {
        create_repo(
            &api,
            json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
                "metadata": {"name": name, "namespace": NS},
                "spec": {"url": sshd.url(work.path()), "interval": "10m",
                    "ref": {"branch": "main"}, "secretRef": {"name": secret}}}),
        )
        .await;
    }
    let refused = wait_ready(&api, "wrong", "False").await;
    let ready = condition(&refused, "Ready").unwrap();
    assert_eq!(ready["reason"], "AuthenticationFailed", "{ready}");
    assert!(
        ready["message"].as_str().unwrap().contains("host key"),
        "{ready}"
    );
    let ok = wait_ready(&api, "right", "True").await;
    assert_eq!(
        ok["status"]["artifact"]["revision"],
        format!("main@sha1:{head}")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn suspend_tag_ignore_and_invalid_spec() {
    let cluster = DevCluster::start();
    let work = Repo::new();
    work.write("keep/a.yaml", "a: 1\n");
    work.write("drop/b.yaml", "b: 1\n");
    work.commit("one");
    flotilla_testkit::git(work.path(), &["tag", "v1.0.0"]);
    work.write("keep/a.yaml", "a: 2\n");
    work.commit("two");
    let v1 = flotilla_testkit::git(work.path(), &["rev-parse", "v1.0.0"]);
    let client = cluster.new_client();
    let controller = Controller::start(&cluster, |_| {});
    let api: Api<GitRepository> = Api::namespaced(client.clone(), NS);
    create_repo(
        &api,
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "paused", "namespace": NS},
            "spec": {"url": work.file_url(), "interval": "10m", "suspend": true,
                "ref": {"semver": ">=1.0.0"}, "ignore": "/drop/\n"}}),
    )
    .await;
    create_repo(
        &api,
        json!({"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "bad-url", "namespace": NS},
            "spec": {"url": "https://", "interval": "10m"}}),
    )
    .await;

    // Invalid URL: stalled, not retried.
    let bad = wait_ready(&api, "bad-url", "False").await;
    assert_eq!(condition(&bad, "Stalled").unwrap()["status"], "True");
    assert!(condition(&bad, "Reconciling").is_none());

    // Suspended: nothing written.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let paused = get_json(&api, "paused").await;
    assert!(condition(&paused, "Ready").is_none(), "{paused}");

    // Resumed: semver picks the tag, ignore drops the directory.
    api.patch(
        "paused",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"suspend": false}})),
    )
    .await
    .unwrap();
    let obj = wait_ready(&api, "paused", "True").await;
    assert_eq!(
        obj["status"]["artifact"]["revision"],
        format!("v1.0.0@sha1:{v1}")
    );
    assert_eq!(obj["status"]["observedIgnore"], "/drop/\n");
    let path = obj["status"]["artifact"]["path"].as_str().unwrap();
    let file = controller.storage.path().join(path);
    assert_eq!(
        flotilla_testkit::tar_list(&file),
        vec!["keep", "keep/a.yaml"]
    );

    // Storage server: path traversal and hidden paths are refused.
    for bad_path in [
        "/../../etc/passwd",
        "/gitrepository/../../x",
        "/.cache/x",
        "/%2e%2e/x",
    ] {
        let (code, _) = http_get(controller.storage_port, bad_path).await;
        assert_eq!(code, 404, "{bad_path}");
    }
}
