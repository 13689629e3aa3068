//! Image automation end to end: Debian's docker-registry (htpasswd), git http-backend behind basic auth, the dev cluster, the whole controller.
//! The reference loop (build 10 after 9 → one commit changing only the marked newTag line → the Deployment runs it), an invalid policy regex, a registry 401.
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

fn dockerconfig(host: &str, user: &str, password: &str) -> String {
    format!(
        r#"{{"auths":{{"{host}":{{"auth":"{}"}}}}}}"#,
        b64(format!("{user}:{password}").as_bytes())
    )
}

fn ready(obj: &Value) -> Option<Value> {
    condition(obj, "Ready")
}

async fn json_of<
    K: kube::Resource + serde::Serialize + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
>(
    api: &Api<K>,
    name: &str,
) -> Value
where
    K::DynamicType: Default,
{
    serde_json::to_value(api.get(name).await.unwrap()).unwrap()
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
    put_secret(
        &client,
        "regcred",
        &[(
            ".dockerconfigjson",
            dockerconfig(&reg.host(), &reg.user, &reg.password).as_bytes(),
        )],
    )
    .await;
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
    let image_of = |d: Deployment| {
        d.spec
            .template
            .spec
            .and_then(|s| s.containers.first().and_then(|c| c.image.clone()))
    };

    // The scan: `latest.sig` excluded by the default exclusion list.
    let scanned = eventually(
        Duration::from_secs(20),
        "ImageRepository scanned",
        || async {
            let o = json_of(&repos, "front-end").await;
            (ready(&o)?["status"] == "True").then_some(o)
        },
    )
    .await;
    assert_eq!(
        scanned["status"]["lastScanResult"]["tagCount"], 1,
        "{scanned}"
    );
    assert_eq!(scanned["status"]["canonicalImageName"], image.as_str());
    eventually(Duration::from_secs(20), "policy at build 9", || async {
        let o = json_of(&policies, "front-end").await;
        (o["status"]["latestRef"]["tag"] == tag(9).as_str()).then_some(())
    })
    .await;
    // Nothing to change yet: the automation runs and pushes nothing.
    eventually(Duration::from_secs(20), "automation ran", || async {
        let o = json_of(&autos, "microservices").await;
        (ready(&o)?["status"] == "True").then_some(())
    })
    .await;
    eventually(Duration::from_secs(30), "Deployment at build 9", || async {
        let d = deployments.get_opt("front-end").await.ok()??;
        (image_of(d)? == format!("{image}:{}", tag(9))).then_some(())
    })
    .await;
    assert_eq!(remote.git(&["rev-parse", "main"]).trim(), seed);

    // CI pushes build 10.
    reg.push("sock-shop/front-end", &tag(10), Some(&push_auth));
    let pushed = eventually(Duration::from_secs(20), "automation pushed", || async {
        let o = json_of(&autos, "microservices").await;
        o["status"]["lastPushCommit"].as_str().map(str::to_string)
    })
    .await;
    assert_eq!(remote.git(&["rev-parse", "main"]).trim(), pushed);
    let log = remote.git(&["rev-list", &format!("{seed}..main")]);
    assert_eq!(log.lines().count(), 1, "exactly one commit: {log}");
    let diff = remote.git(&["diff", "--unified=0", &seed, "main"]);
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .collect();
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
        "{diff}"
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
    eventually(
        Duration::from_secs(30),
        "Deployment at build 10",
        || async {
            let d = deployments.get_opt("front-end").await.ok()??;
            (image_of(d)? == format!("{image}:{}", tag(10))).then_some(())
        },
    )
    .await;
    let policy = json_of(&policies, "front-end").await;
    assert_eq!(
        policy["status"]["observedPreviousRef"]["tag"],
        tag(9).as_str()
    );
    let auto = json_of(&autos, "microservices").await;
    assert_eq!(
        auto["status"]["observedPolicies"]["flux-system:front-end"]["tag"],
        tag(10).as_str(),
        "{auto}"
    );
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
    put_secret(
        &client,
        "regcred",
        &[(
            ".dockerconfigjson",
            dockerconfig(&reg.host(), &reg.user, &reg.password).as_bytes(),
        )],
    )
    .await;
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

    let stalled = eventually(Duration::from_secs(20), "broken policy stalled", || async {
        let o = json_of(&policies, "broken").await;
        (condition(&o, "Stalled")?["status"] == "True").then_some(o)
    })
    .await;
    let msg = ready(&stalled).unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(msg.contains("spec.filterTags.pattern"), "{msg}");
    assert_eq!(ready(&stalled).unwrap()["status"], "False");
    let none = eventually(
        Duration::from_secs(20),
        "policy matching nothing",
        || async {
            let o = json_of(&policies, "none").await;
            let r = ready(&o)?;
            (r["status"] == "False" && r["reason"] != "DependencyNotReady").then_some(r)
        },
    )
    .await;
    assert!(
        none["message"].as_str().unwrap().contains("'>=2.0.0'"),
        "{none}"
    );

    let good = eventually(Duration::from_secs(20), "scanned", || async {
        let o = json_of(&repos, "app").await;
        (ready(&o)?["status"] == "True").then_some(o)
    })
    .await;
    assert_eq!(good["status"]["lastScanResult"]["tagCount"], 2);

    // Wrong password: 401, Ready=False, the previous scan kept, no credential anywhere.
    put_secret(
        &client,
        "regcred",
        &[(
            ".dockerconfigjson",
            dockerconfig(&reg.host(), &reg.user, "wr0ng-pa55word").as_bytes(),
        )],
    )
    .await;
    let failed = eventually(Duration::from_secs(20), "scan refused", || async {
        let o = json_of(&repos, "app").await;
        (ready(&o)?["status"] == "False").then_some(o)
    })
    .await;
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
