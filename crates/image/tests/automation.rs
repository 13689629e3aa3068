//! ImageUpdateAutomation runs against real Git repositories: one commit touching only the marked line, no commit when nothing changes, push branches, a rejected push refetched and retried (never forced).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::Duration;

use flotilla_image::{run_automation, AutomationError, AutomationOptions, PolicyImage};
use support::git;

mod support;

const OVERLAY: &str = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n- ../../base\nimages:\n- name: weaveworksdemos/front-end\n  newName: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/front-end # {\"$imagepolicy\": \"sock-shop:front-end:name\"}\n  newTag: main-d480788-9 # {\"$imagepolicy\": \"sock-shop:front-end:tag\"}\n";

/// A bare "remote" on main with the microservices overlay, and a scratch clone.
fn remote() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let bare = dir.path().join("micro.git");
    std::fs::create_dir_all(&bare).unwrap();
    git(&bare, &["init", "-q", "--bare", "-b", "main"]);
    let seed = dir.path().join("seed");
    std::fs::create_dir_all(seed.join("deploy/overlays/dev")).unwrap();
    git(&seed, &["init", "-q", "-b", "main"]);
    std::fs::write(seed.join("deploy/overlays/dev/kustomization.yaml"), OVERLAY).unwrap();
    std::fs::write(
        seed.join("README.md"),
        "image: main-d480788-9 # {\"$imagepolicy\": \"sock-shop:front-end:tag\"}\n",
    )
    .unwrap();
    git(&seed, &["add", "-A"]);
    git(&seed, &["commit", "-q", "-m", "seed"]);
    let url = format!("file://{}", bare.display());
    git(&seed, &["push", "-q", &url, "main"]);
    (dir, url)
}

fn options(url: &str, tag: &str) -> AutomationOptions {
    let mut policies = BTreeMap::new();
    policies.insert(
        "sock-shop:front-end".to_string(),
        PolicyImage {
            name: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/front-end".into(),
            tag: tag.into(),
            digest: None,
        },
    );
    AutomationOptions {
        url: url.to_string(),
        checkout_branch: "main".into(),
        update_path: Some("./deploy".into()),
        author_name: "fluxcdbot".into(),
        author_email: "fluxcdbot@users.noreply.github.com".into(),
        message_template: Some(
            "Update images in {{ .AutomationObject }}\n\n{{ range .Changed.Changes }}- {{ .OldValue }} -> {{ .NewValue }}\n{{ end }}".into(),
        ),
        namespace: "flux-system".into(),
        name: "sock-shop".into(),
        policies,
        timeout: Duration::from_secs(30),
        ..AutomationOptions::default()
    }
}

#[tokio::test]
async fn one_commit_changing_only_the_marked_line_then_nothing() {
    let (dir, url) = remote();
    let bare = dir.path().join("micro.git");
    let before = git(&bare, &["rev-parse", "main"]);
    let out = run_automation(&options(&url, "main-1a2b3c4-10"))
        .await
        .unwrap();
    let commit = out.commit.expect("a commit");
    assert_eq!(out.base_revision, format!("main@sha1:{before}"));
    assert_eq!(git(&bare, &["rev-parse", "main"]), commit.sha);
    assert_eq!(git(&bare, &["rev-parse", "main~1"]), before);
    // Exactly the newTag line changed.
    let changed = support::changed_lines(&bare, "main~1", "main");
    assert_eq!(
        changed,
        [
            "-  newTag: main-d480788-9 # {\"$imagepolicy\": \"sock-shop:front-end:tag\"}",
            "+  newTag: main-1a2b3c4-10 # {\"$imagepolicy\": \"sock-shop:front-end:tag\"}"
        ]
    );
    // README.md is outside update.path (and not YAML): untouched.
    assert_eq!(
        git(
            &bare,
            &["diff", "--stat", "main~1", "main", "--", "README.md"]
        ),
        ""
    );
    let meta = git(&bare, &["log", "-1", "--format=%an <%ae>|%cn|%B", "main"]);
    assert_eq!(
        meta,
        "fluxcdbot <fluxcdbot@users.noreply.github.com>|fluxcdbot|Update images in flux-system/sock-shop\n\n- main-d480788-9 -> main-1a2b3c4-10"
    );
    assert_eq!(
        commit.message,
        "Update images in flux-system/sock-shop\n\n- main-d480788-9 -> main-1a2b3c4-10\n"
    );

    // Nothing to change: no commit, the branch stays.
    let again = run_automation(&options(&url, "main-1a2b3c4-10"))
        .await
        .unwrap();
    assert!(again.commit.is_none());
    assert!(again.result.is_empty());
    assert_eq!(git(&bare, &["rev-parse", "main"]), commit.sha);
}

#[tokio::test]
async fn push_branch_is_created_then_built_upon() {
    let (dir, url) = remote();
    let bare = dir.path().join("micro.git");
    let main = git(&bare, &["rev-parse", "main"]);
    let mut o = options(&url, "main-1a2b3c4-10");
    o.push_branch = Some("image-updates".into());
    let first = run_automation(&o).await.unwrap().commit.unwrap();
    assert_eq!(first.branch, "image-updates");
    assert_eq!(
        git(&bare, &["rev-parse", "main"]),
        main,
        "main is left alone"
    );
    assert_eq!(git(&bare, &["rev-parse", "image-updates~1"]), main);
    // The next update goes on top of the existing push branch, not over it.
    let mut o2 = options(&url, "main-5e6f7a8-11");
    o2.push_branch = Some("image-updates".into());
    let second = run_automation(&o2).await.unwrap().commit.unwrap();
    assert_eq!(git(&bare, &["rev-parse", "image-updates~1"]), first.sha);
    assert_eq!(git(&bare, &["rev-parse", "image-updates"]), second.sha);
}

#[tokio::test]
async fn a_rejected_push_is_refetched_and_retried_never_forced() {
    let (dir, url) = remote();
    let bare = dir.path().join("micro.git");
    // The first push finds that someone else moved main meanwhile: the hook commits to main
    // before the pushed update lands, so the update's expected old value is stale.
    let marker = dir.path().join("raced");
    let hook = format!(
        "#!/bin/sh\nif [ ! -e '{m}' ]; then\n  touch '{m}'\n  unset GIT_QUARANTINE_PATH GIT_OBJECT_DIRECTORY GIT_ALTERNATE_OBJECT_DIRECTORIES\n  export GIT_AUTHOR_NAME=Other GIT_AUTHOR_EMAIL=o@example.com GIT_COMMITTER_NAME=Other GIT_COMMITTER_EMAIL=o@example.com\n  c=$(git commit-tree 'refs/heads/main^{{tree}}' -p refs/heads/main -m concurrent)\n  git update-ref refs/heads/main \"$c\"\nfi\nexit 0\n",
        m = marker.display()
    );
    let hook_path = bare.join("hooks/pre-receive");
    std::fs::write(&hook_path, hook).unwrap();
    std::fs::set_permissions(
        &hook_path,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let out = run_automation(&options(&url, "main-1a2b3c4-10"))
        .await
        .unwrap();
    assert!(marker.exists(), "the racing hook ran");
    let commit = out.commit.unwrap();
    assert_eq!(git(&bare, &["rev-parse", "main"]), commit.sha);
    // The concurrent commit is kept: the automation's commit sits on top of it.
    assert_eq!(
        git(&bare, &["log", "-1", "--format=%s", "main~1"]),
        "concurrent"
    );
    assert_eq!(git(&bare, &["log", "-1", "--format=%s", "main~2"]), "seed");
}

#[tokio::test]
async fn spec_errors_stall() {
    let (_dir, url) = remote();
    let mut o = options(&url, "x");
    o.message_template = Some("{{ range .Updated.Images }}{{ . }}{{ end }}".into());
    let err = run_automation(&o).await.unwrap_err();
    assert!(err.is_stalling(), "{err}");
    assert!(err.to_string().contains(".Changed"), "{err}");
    let mut o = options(&url, "x");
    o.push_refspec = Some("+refs/heads/main:refs/heads/x".into());
    assert!(matches!(
        run_automation(&o).await,
        Err(AutomationError::Spec { .. })
    ));
    let mut o = options(&url, "x");
    o.update_path = Some("../outside".into());
    assert!(matches!(
        run_automation(&o).await,
        Err(AutomationError::Spec { .. })
    ));
    // A wrong URL is a git error naming the operation, not a stall.
    let mut o = options("file:///nonexistent/repo.git", "x");
    o.timeout = Duration::from_secs(10);
    let err = run_automation(&o).await.unwrap_err();
    assert!(!err.is_stalling());
    assert!(err.to_string().starts_with("git "), "{err}");
}

#[tokio::test]
async fn push_options_reach_the_server() {
    let (dir, url) = remote();
    let bare = dir.path().join("micro.git");
    git(&bare, &["config", "receive.advertisePushOptions", "true"]);
    let seen = dir.path().join("options");
    let hook = format!(
        "#!/bin/sh\ni=0\nwhile [ $i -lt \"${{GIT_PUSH_OPTION_COUNT:-0}}\" ]; do\n  eval \"echo \\$GIT_PUSH_OPTION_$i\" >> '{}'\n  i=$((i+1))\ndone\n",
        seen.display()
    );
    let hook_path = bare.join("hooks/pre-receive");
    std::fs::write(&hook_path, hook).unwrap();
    std::fs::set_permissions(
        &hook_path,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let mut o = options(&url, "main-1a2b3c4-10");
    o.push_options
        .insert("merge_request.create".into(), String::new());
    o.push_options
        .insert("merge_request.target".into(), "release".into());
    // A template that renders nothing still commits (git refuses empty messages by default).
    o.message_template = Some("{{ if false }}x{{ end }}".into());
    let out = run_automation(&o).await.unwrap();
    assert_eq!(out.commit.unwrap().message, "");
    assert_eq!(
        std::fs::read_to_string(&seen).unwrap(),
        "merge_request.create\nmerge_request.target=release\n"
    );
}
