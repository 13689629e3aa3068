//! The reference loop without a cluster: CI pushes `main-<sha>-9` then `-10` to a real registry, the scan sees them, the policy picks build 10, the automation commits exactly the marked `newTag` line to the microservices repository — once.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use flotilla_image::{
    resolve_credentials, run_automation, scan, AutomationOptions, AwsOptions, DockerConfig,
    EcrTokenCache, FilterSpec, ImageName, Order, Policy, PolicyImage, Provider, RegistryClient,
    RegistryOptions, Rule, ScanOptions, TagStore,
};
use support::{b64, basic, git, Registry, RegistryAuth};

#[tokio::test]
async fn push_build_10_after_9_gives_one_commit_on_the_marked_line() {
    let reg = Registry::start(RegistryAuth::Htpasswd);
    let push_auth = basic(&reg.user, &reg.password);
    let image_name = format!("{}/sock-shop/front-end", reg.host());

    // microservices-repo with the dev overlay marked as in the walkthrough.
    let dir = tempfile::tempdir().unwrap();
    let bare = dir.path().join("microservices.git");
    std::fs::create_dir_all(&bare).unwrap();
    git(&bare, &["init", "-q", "--bare", "-b", "main"]);
    let seed = dir.path().join("seed");
    let overlay = seed.join("deploy/kubernetes/overlays/development");
    std::fs::create_dir_all(&overlay).unwrap();
    git(&seed, &["init", "-q", "-b", "main"]);
    let before = format!(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ../../base\nimages:\n- name: weaveworksdemos/front-end\n  newName: {image_name} # {{\"$imagepolicy\": \"sock-shop:front-end:name\"}}\n  newTag: main-d480788-8 # {{\"$imagepolicy\": \"sock-shop:front-end:tag\"}}\n"
    );
    std::fs::write(overlay.join("kustomization.yaml"), &before).unwrap();
    git(&seed, &["add", "-A"]);
    git(&seed, &["commit", "-q", "-m", "seed"]);
    let url = format!("file://{}", bare.display());
    git(&seed, &["push", "-q", &url, "main"]);

    // Registry credentials as a dockerconfigjson secret; the secret wins over the provider.
    let json = format!(
        r#"{{"auths":{{"{}":{{"auth":"{}"}}}}}}"#,
        reg.host(),
        b64(format!("{}:{}", reg.user, reg.password).as_bytes())
    );
    let secret = DockerConfig::parse("sock-shop/regcred", json.as_bytes()).unwrap();
    let image = ImageName::parse(&image_name).unwrap();
    let ecr = EcrTokenCache::new(AwsOptions::default()).unwrap();
    let creds = resolve_credentials(Provider::Generic, &image, Some(&secret), &ecr)
        .await
        .unwrap();
    let client = RegistryClient::new(
        image.clone(),
        RegistryOptions {
            credentials: creds,
            insecure: true,
            timeout: Duration::from_secs(10),
            ..RegistryOptions::default()
        },
    )
    .unwrap();
    let store_dir = tempfile::tempdir().unwrap();
    let store = TagStore::new(store_dir.path());
    let policy = Policy::new(
        &Rule::Numerical(Order::Asc),
        Some(&FilterSpec {
            pattern: Some("^main-[a-f0-9]+-(?P<build>[0-9]+)".into()),
            extract: Some("$build".into()),
        }),
    )
    .unwrap();

    let mut head = git(&bare, &["rev-parse", "main"]);
    let mut commits = 0;
    for tag in ["main-d480788-9", "main-9f8e7d6-10"] {
        reg.push("sock-shop/front-end", tag, Some(&push_auth));
        // One interval: scan, evaluate, automate; then a second interval with no news.
        for _ in 0..2 {
            scan(&client, &store, &ScanOptions::default())
                .await
                .unwrap();
            let tags = store.tags(&image.canonical()).unwrap();
            let latest = policy.latest(tags.iter().map(String::as_str)).unwrap();
            let mut policies = BTreeMap::new();
            policies.insert(
                "sock-shop:front-end".to_string(),
                PolicyImage {
                    name: image_name.clone(),
                    tag: latest.tag.clone(),
                    digest: None,
                },
            );
            let out = run_automation(&AutomationOptions {
                url: url.clone(),
                checkout_branch: "main".into(),
                update_path: Some("./deploy/kubernetes/overlays/development".into()),
                author_name: "fluxcdbot".into(),
                author_email: "fluxcdbot@users.noreply.github.com".into(),
                message_template: Some("{{range .Changed.Changes}}{{.NewValue}}{{end}}".into()),
                namespace: "flux-system".into(),
                name: "sock-shop".into(),
                policies,
                ..AutomationOptions::default()
            })
            .await
            .unwrap();
            if let Some(c) = out.commit {
                commits += 1;
                assert_eq!(c.message, tag);
                head = c.sha;
            }
        }
        assert_eq!(git(&bare, &["rev-parse", "main"]), head);
    }
    assert_eq!(
        commits, 2,
        "one commit per new build, none when nothing changed"
    );
    let after = git(
        &bare,
        &[
            "show",
            "main:deploy/kubernetes/overlays/development/kustomization.yaml",
        ],
    );
    assert_eq!(
        format!("{after}\n"),
        before.replace("newTag: main-d480788-8 #", "newTag: main-9f8e7d6-10 #")
    );
    let diff = git(&bare, &["diff", "--numstat", "main~1", "main"]);
    assert_eq!(
        diff,
        "1\t1\tdeploy/kubernetes/overlays/development/kustomization.yaml"
    );
}
