//! Image automation end to end: Debian's docker-registry (htpasswd), git http-backend behind basic auth, the dev cluster, the whole controller.
//! The reference loop (build 10 after 9 → one commit changing only the marked newTag line → the Deployment runs it), an invalid policy regex, a registry 401, and the automation following its policies and its GitRepository (not its interval).
#![allow(clippy::unwrap_used)]

mod common;
#[path = "../../image/tests/support/mod.rs"]
mod support;

use std::time::Duration;

use common::*;
use flotilla_api::image::{ImagePolicy, ImageRepository, ImageUpdateAutomation};
use flotilla_testkit::{git, DevCluster, HttpAuth, HttpGitServer};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::Api;
use serde_json::Value;
use support::{b64, basic, Registry, RegistryAuth};

const SHA: &str = "d480788";

fn tag(build: u32) -> String {
    format!("main-{SHA}-{build}")
}

/// A bare `microservices.git` (branch main) holding `files`, served over HTTP with basic auth.
struct GitRemote {
    dir: tempfile::TempDir,
    server: HttpGitServer,
}

impl GitRemote {
    fn start(files: &[(&str, String)]) -> GitRemote {
        let dir = tempfile::tempdir().unwrap();
        let bare = dir.path().join("microservices.git");
        std::fs::create_dir_all(&bare).unwrap();
        git(&bare, &["init", "-q", "--bare", "-b", "main"]);
        let seed = dir.path().join("seed");
        std::fs::create_dir_all(&seed).unwrap();
        git(&seed, &["init", "-q", "-b", "main"]);
        for (p, c) in files {
            let path = seed.join(p);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, c).unwrap();
        }
        git(&seed, &["add", "-A"]);
        git(
            &seed,
            &[
                "-c",
                "user.name=ci",
                "-c",
                "user.email=ci@example.com",
                "commit",
                "-q",
                "-m",
                "seed",
            ],
        );
        git(&seed, &["push", "-q", bare.to_str().unwrap(), "main"]);
        let server = HttpGitServer::start(
            dir.path(),
            HttpAuth::Basic {
                user: "git".into(),
                password: "s3cret-git".into(),
            },
        );
        GitRemote { dir, server }
    }

    fn bare(&self) -> std::path::PathBuf {
        self.dir.path().join("microservices.git")
    }

    fn git(&self, args: &[&str]) -> String {
        git(&self.bare(), args)
    }
}

/// Creates or replaces the dockerconfigjson secret `regcred` for `reg` with `password`.
async fn put_regcred(client: &kube::Client, reg: &Registry, password: &str) {
    let json = format!(
        r#"{{"auths":{{"{}":{{"auth":"{}"}}}}}}"#,
        reg.host(),
        b64(format!("{}:{password}", reg.user).as_bytes())
    );
    put_secret(client, "regcred", &[(".dockerconfigjson", json.as_bytes())]).await;
}

fn ready(obj: &Value) -> Option<Value> {
    condition(obj, "Ready")
}

/// Ready's status is `status`.
fn ready_is(obj: &Value, status: &str) -> bool {
    ready(obj).is_some_and(|r| r["status"] == status)
}

/// Polls the object `name` until `ok` holds for it (as JSON); returns it.
async fn until<K>(api: &Api<K>, name: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value
where
    K: kube::Resource + serde::Serialize + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    K::DynamicType: Default,
{
    eventually(Duration::from_secs(30), what, || async {
        let o = serde_json::to_value(api.get(name).await.unwrap()).unwrap();
        ok(&o).then_some(o)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_10_after_9_gives_one_commit_on_the_marked_line_and_rolls_out() {
    let cluster = DevCluster::start();
    let reg = Registry::start(RegistryAuth::Htpasswd);
    let push_auth = basic(&reg.user, &reg.password);
    let image = format!("{}/sock-shop/front-end", reg.host());
    reg.push("sock-shop/front-end", &tag(9), Some(&push_auth));
    reg.push("sock-shop/front-end", "latest.sig", Some(&push_auth));

    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: front-end\n  namespace: default\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      name: front-end\n  template:\n    metadata:\n      labels:\n        name: front-end\n    spec:\n      containers:\n      - name: front-end\n        image: weaveworksdemos/front-end:0.3.12\n".to_string();
    let overlay = format!(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- deployment.yaml\nimages:\n- name: weaveworksdemos/front-end\n  newName: {image} # {{\"$imagepolicy\": \"flux-system:front-end:name\"}}\n  newTag: {} # {{\"$imagepolicy\": \"flux-system:front-end:tag\"}}\n",
        tag(9)
    );
    let remote = GitRemote::start(&[
        ("deploy/dev/deployment.yaml", deployment),
        ("deploy/dev/kustomization.yaml", overlay.clone()),
    ]);
    let seed = remote.git(&["rev-parse", "main"]).trim().to_string();

    let client = cluster.new_client();
    put_secret(
        &client,
        "git-auth",
        &[("username", b"git"), ("password", b"s3cret-git")],
    )
    .await;
    put_regcred(&client, &reg, &reg.password).await;
    let url = remote.server.url("microservices.git");
    cluster.kubectl_ok(
        &["apply", "-f", "-"],
        &format!(
            r#"apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: microservices, namespace: flux-system}}
spec: {{interval: 1s, url: "{url}", ref: {{branch: main}}, secretRef: {{name: git-auth}}}}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: apps, namespace: flux-system}}
spec:
  interval: 1m
  path: ./deploy/dev
  prune: true
  sourceRef: {{kind: GitRepository, name: microservices}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {{name: front-end, namespace: flux-system}}
spec: {{image: "{image}", interval: 1s, insecure: true, secretRef: {{name: regcred}}}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {{name: front-end, namespace: flux-system}}
spec:
  imageRepositoryRef: {{name: front-end}}
  filterTags: {{pattern: '^main-[a-f0-9]+-(?P<build>[0-9]+)', extract: '$build'}}
  policy: {{numerical: {{order: asc}}}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: {{name: microservices, namespace: flux-system}}
spec:
  interval: 1m
  sourceRef: {{kind: GitRepository, name: microservices}}
  git:
    checkout: {{ref: {{branch: main}}}}
    commit:
      author: {{name: fluxcdbot, email: fluxcdbot@users.noreply.github.com}}
      messageTemplate: '{{{{range .Changed.Changes}}}}{{{{print .OldValue}}}} -> {{{{println .NewValue}}}}{{{{end}}}}'
    push: {{branch: main}}
  update: {{path: ./deploy, strategy: Setters}}
"#
        ),
    );
    let controller = Controller::start(&cluster, |_| {});

    let repos: Api<ImageRepository> = Api::namespaced(client.clone(), NS);
    let policies: Api<ImagePolicy> = Api::namespaced(client.clone(), NS);
    let autos: Api<ImageUpdateAutomation> = Api::namespaced(client.clone(), NS);
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");

    // The scan: `latest.sig` excluded by the default exclusion list.
    let scanned = until(&repos, "front-end", "ImageRepository scanned", |o| {
        ready_is(o, "True")
    })
    .await;
    assert_eq!(
        scanned["status"]["lastScanResult"]["tagCount"], 1,
        "{scanned}"
    );
    assert_eq!(scanned["status"]["canonicalImageName"], image.as_str());
    until(&policies, "front-end", "policy at build 9", |o| {
        o["status"]["latestRef"]["tag"] == tag(9).as_str()
    })
    .await;
    // Nothing to change yet: the automation runs and pushes nothing.
    until(&autos, "microservices", "automation ran", |o| {
        ready_is(o, "True")
    })
    .await;
    let at_build = |b: u32| {
        let want = format!("{image}:{}", tag(b));
        move |d: &Value| d["spec"]["template"]["spec"]["containers"][0]["image"] == want.as_str()
    };
    eventually(Duration::from_secs(30), "Deployment exists", || async {
        deployments.get_opt("front-end").await.ok()?
    })
    .await;
    until(
        &deployments,
        "front-end",
        "Deployment at build 9",
        at_build(9),
    )
    .await;
    assert_eq!(remote.git(&["rev-parse", "main"]).trim(), seed);

    // CI pushes build 10.
    reg.push("sock-shop/front-end", &tag(10), Some(&push_auth));
    let auto = until(&autos, "microservices", "automation pushed", |o| {
        o["status"]["lastPushCommit"].is_string()
    })
    .await;
    let pushed = auto["status"]["lastPushCommit"].as_str().unwrap();
    assert_eq!(remote.git(&["rev-parse", "main"]).trim(), pushed);
    let log = remote.git(&["rev-list", &format!("{seed}..main")]);
    assert_eq!(log.lines().count(), 1, "exactly one commit: {log}");
    let changed = support::changed_lines(&remote.bare(), &seed, "main");
    assert_eq!(
        changed,
        vec![
            format!(
                "-  newTag: {} # {{\"$imagepolicy\": \"flux-system:front-end:tag\"}}",
                tag(9)
            ),
            format!(
                "+  newTag: {} # {{\"$imagepolicy\": \"flux-system:front-end:tag\"}}",
                tag(10)
            ),
        ],
        "{changed:?}"
    );
    let message = remote.git(&["log", "-1", "--format=%an <%ae>%n%B", "main"]);
    assert!(
        message.starts_with("fluxcdbot <fluxcdbot@users.noreply.github.com>\n"),
        "{message}"
    );
    assert!(
        message.contains(&format!("{} -> {}", tag(9), tag(10))),
        "{message}"
    );

    // The source fetches the commit and the Kustomization applies it.
    until(
        &deployments,
        "front-end",
        "Deployment at build 10",
        at_build(10),
    )
    .await;
    let policy = until(&policies, "front-end", "policy", |_| true).await;
    assert_eq!(
        policy["status"]["observedPreviousRef"]["tag"],
        tag(9).as_str()
    );
    let auto = until(&autos, "microservices", "automation", |_| true).await;
    assert_eq!(
        auto["status"]["observedPolicies"]["flux-system:front-end"]["tag"],
        tag(10).as_str(),
        "{auto}"
    );
    // `flotilla reconcile image repository|update` request and wait on lastHandledReconcileAt.
    use flotilla_ops::reconcile::{request, wait_handled, WaitOptions};
    use flotilla_ops::FluxKind;
    let wait = WaitOptions {
        timeout: Duration::from_secs(20),
        ..WaitOptions::default()
    };
    for (kind, name, revision) in [
        (FluxKind::ImageRepository, "front-end", "2 tags".to_string()),
        (
            FluxKind::ImagePolicy,
            "front-end",
            format!("{image}:{}", tag(10)),
        ),
        (
            FluxKind::ImageUpdateAutomation,
            "microservices",
            pushed.to_string(),
        ),
    ] {
        let token = request(&client, kind, NS, name).await.unwrap();
        let outcome = wait_handled(&client, kind, NS, name, &token, &wait)
            .await
            .unwrap();
        assert_eq!(
            outcome.revision.as_deref(),
            Some(revision.as_str()),
            "{kind:?}"
        );
    }
    // Later runs find nothing to change: still one commit.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        remote
            .git(&["rev-list", &format!("{seed}..main")])
            .lines()
            .count(),
        1
    );
    controller.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_regex_stalls_and_a_registry_401_keeps_the_previous_scan() {
    let cluster = DevCluster::start();
    let reg = Registry::start(RegistryAuth::Htpasswd);
    let push_auth = basic(&reg.user, &reg.password);
    let image = format!("{}/app", reg.host());
    reg.push("app", "1.0.0", Some(&push_auth));
    reg.push("app", "1.1.0", Some(&push_auth));
    let client = cluster.new_client();
    put_regcred(&client, &reg, &reg.password).await;
    cluster.kubectl_ok(
        &["apply", "-f", "-"],
        &format!(
            r#"apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {{name: app, namespace: flux-system}}
spec: {{image: "{image}", interval: 1s, insecure: true, secretRef: {{name: regcred}}}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {{name: broken, namespace: flux-system}}
spec:
  imageRepositoryRef: {{name: app}}
  filterTags: {{pattern: '^main-(?P<build[0-9]+'}}
  policy: {{numerical: {{order: asc}}}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {{name: none, namespace: flux-system}}
spec:
  imageRepositoryRef: {{name: app}}
  policy: {{semver: {{range: '>=2.0.0'}}}}
"#
        ),
    );
    let controller = Controller::start(&cluster, |_| {});
    let repos: Api<ImageRepository> = Api::namespaced(client.clone(), NS);
    let policies: Api<ImagePolicy> = Api::namespaced(client.clone(), NS);

    let stalled = until(&policies, "broken", "broken policy stalled", |o| {
        condition(o, "Stalled").is_some_and(|c| c["status"] == "True")
    })
    .await;
    let msg = ready(&stalled).unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("spec.filterTags.pattern"), "{msg}");
    assert_eq!(ready(&stalled).unwrap()["status"], "False");
    let none = until(&policies, "none", "policy matching nothing", |o| {
        ready_is(o, "False") && ready(o).unwrap()["reason"] != "DependencyNotReady"
    })
    .await;
    let none = ready(&none).unwrap();
    assert!(
        none["message"].as_str().unwrap().contains("'>=2.0.0'"),
        "{none}"
    );

    let good = until(&repos, "app", "scanned", |o| ready_is(o, "True")).await;
    assert_eq!(good["status"]["lastScanResult"]["tagCount"], 2);

    // Wrong password: 401, Ready=False, the previous scan kept, no credential anywhere.
    put_regcred(&client, &reg, "wr0ng-pa55word").await;
    let failed = until(&repos, "app", "scan refused", |o| ready_is(o, "False")).await;
    let text = failed.to_string();
    assert!(
        !text.contains("wr0ng-pa55word") && !text.contains(&reg.password),
        "{text}"
    );
    assert_eq!(
        failed["status"]["lastScanResult"], good["status"]["lastScanResult"],
        "previous scan kept"
    );
    let msg = ready(&failed).unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("401")
            || msg.to_lowercase().contains("unauthorized")
            || msg.contains("authentication"),
        "{msg}"
    );
    let evs = serde_json::to_string(&events(&client).await).unwrap();
    assert!(!evs.contains("wr0ng-pa55word"), "{evs}");
    controller.stop().await.unwrap();
}

/// The automation's interval is an hour: each commit below can only come from a watch.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn automation_follows_its_policies_and_its_git_repository() {
    let cluster = DevCluster::start();
    let reg = Registry::start(RegistryAuth::None);
    let image = format!("{}/front-end", reg.host());
    reg.push("front-end", &tag(9), None);
    let overlay = |note: &str| {
        format!(
            "# {note}\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nimages:\n- name: front-end\n  newTag: {} # {{\"$imagepolicy\": \"flux-system:front-end:tag\"}}\n",
            tag(9)
        )
    };
    let first = GitRemote::start(&[("deploy/kustomization.yaml", overlay("first"))]);
    let first_seed = first.git(&["rev-parse", "main"]).trim().to_string();
    let client = cluster.new_client();
    put_secret(
        &client,
        "git-auth",
        &[("username", b"git"), ("password", b"s3cret-git")],
    )
    .await;
    let git_repository = |url: &str| {
        format!(
            r#"apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {{name: microservices, namespace: flux-system}}
spec: {{interval: 1h, url: "{url}", ref: {{branch: main}}, secretRef: {{name: git-auth}}}}
"#
        )
    };
    cluster.kubectl_ok(
        &["apply", "-f", "-"],
        &format!(
            r#"{}---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageRepository
metadata: {{name: front-end, namespace: flux-system}}
spec: {{image: "{image}", interval: 1h, insecure: true}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImagePolicy
metadata: {{name: front-end, namespace: flux-system}}
spec:
  imageRepositoryRef: {{name: front-end}}
  filterTags: {{pattern: '^main-[a-f0-9]+-(?P<build>[0-9]+)', extract: '$build'}}
  policy: {{numerical: {{order: asc}}}}
---
apiVersion: image.toolkit.fluxcd.io/v1
kind: ImageUpdateAutomation
metadata: {{name: microservices, namespace: flux-system}}
spec:
  interval: 1h
  sourceRef: {{kind: GitRepository, name: microservices}}
  git:
    commit:
      author: {{name: fluxcdbot, email: fluxcdbot@users.noreply.github.com}}
  update: {{path: ./deploy, strategy: Setters}}
"#,
            git_repository(&first.server.url("microservices.git"))
        ),
    );
    let controller = Controller::start(&cluster, |_| {});
    let policies: Api<ImagePolicy> = Api::namespaced(client.clone(), NS);
    let autos: Api<ImageUpdateAutomation> = Api::namespaced(client.clone(), NS);
    until(&policies, "front-end", "policy at build 9", |o| {
        o["status"]["latestRef"]["tag"] == tag(9).as_str()
    })
    .await;
    until(&autos, "microservices", "automation ran", |o| {
        ready_is(o, "True")
    })
    .await;
    assert_eq!(first.git(&["rev-parse", "main"]).trim(), first_seed);

    // A new tag, a rescan on request: the policy's new latestRef alone starts the automation.
    reg.push("front-end", &tag(10), None);
    use flotilla_ops::reconcile::request;
    use flotilla_ops::FluxKind;
    request(&client, FluxKind::ImageRepository, NS, "front-end")
        .await
        .unwrap();
    until(&policies, "front-end", "policy at build 10", |o| {
        o["status"]["latestRef"]["tag"] == tag(10).as_str()
    })
    .await;
    let pushed = eventually(
        Duration::from_secs(30),
        "commit on the first remote",
        || {
            let head = first.git(&["rev-parse", "main"]).trim().to_string();
            let seed = first_seed.clone();
            async move { (head != seed).then_some(head) }
        },
    )
    .await;
    assert_eq!(
        first
            .git(&["rev-list", &format!("{first_seed}..main")])
            .lines()
            .count(),
        1
    );
    until(&autos, "microservices", "lastPushCommit", |o| {
        o["status"]["lastPushCommit"] == pushed.as_str()
    })
    .await;

    // The GitRepository now points at another repository: its new artifact starts the
    // automation, which pushes there.
    let second = GitRemote::start(&[("deploy/kustomization.yaml", overlay("second"))]);
    let second_seed = second.git(&["rev-parse", "main"]).trim().to_string();
    cluster.kubectl_ok(
        &["apply", "-f", "-"],
        &git_repository(&second.server.url("microservices.git")),
    );
    eventually(
        Duration::from_secs(30),
        "commit on the second remote",
        || {
            let head = second.git(&["rev-parse", "main"]).trim().to_string();
            let seed = second_seed.clone();
            async move { (head != seed).then_some(()) }
        },
    )
    .await;
    let changed = support::changed_lines(&second.bare(), &second_seed, "main");
    assert_eq!(
        changed,
        vec![
            format!(
                "-  newTag: {} # {{\"$imagepolicy\": \"flux-system:front-end:tag\"}}",
                tag(9)
            ),
            format!(
                "+  newTag: {} # {{\"$imagepolicy\": \"flux-system:front-end:tag\"}}",
                tag(10)
            ),
        ]
    );
    assert_eq!(first.git(&["rev-parse", "main"]).trim(), pushed);
    controller.stop().await.unwrap();
}
