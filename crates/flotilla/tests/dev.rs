//! `flotilla dev --bootstrap`: the built binary runs the dev cluster and the controllers in one
//! process and syncs a local Git repository; kubectl (a separate client) sees the result, and
//! a new commit reaches the cluster as soon as the source has fetched it.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_flotilla");

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn config_map(name: &str, value: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: demo\ndata:\n  greeting: {value}\n"
    )
}

fn fleet(dir: &Path) {
    let app = dir.join("clusters/dev");
    std::fs::create_dir_all(&app).unwrap();
    std::fs::write(
        app.join("ns.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: demo\n",
    )
    .unwrap();
    std::fs::write(app.join("hello.yaml"), config_map("hello", "hi")).unwrap();
    git(dir, &["init", "-q", "-b", "main"]);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-qm", "fleet"]);
}

/// Kills the process on drop, so a failing assertion leaves nothing running.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn kubectl(kubeconfig: &Path, args: &[&str]) -> Output {
    Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .unwrap()
}

fn wait_for(what: &str, timeout: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn greeting(kubeconfig: &Path, name: &str) -> Option<String> {
    let out = kubectl(
        kubeconfig,
        &[
            "get",
            "configmap",
            name,
            "-n",
            "demo",
            "-o",
            "jsonpath={.data.greeting}",
        ],
    );
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn bootstraps_a_local_repository_and_follows_its_commits() {
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("fleet");
    fleet(&repo);
    let data = tmp.path().join("data");
    let child = Command::new(BIN)
        .args(["dev", "--port", "0", "--log-level", "warn", "--data-dir"])
        .arg(&data)
        .arg("--bootstrap")
        .arg(&repo)
        .args(["--path", "clusters/dev"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _running = Running(child);
    let kubeconfig = data.join("kubeconfig");
    wait_for("the kubeconfig", Duration::from_secs(30), || {
        kubeconfig.exists()
    });
    wait_for("ConfigMap demo/hello", Duration::from_secs(60), || {
        greeting(&kubeconfig, "hello").as_deref() == Some("hi")
    });
    // Flux's owner labels mark what the sync Kustomization applied.
    let labels = kubectl(
        &kubeconfig,
        &[
            "get",
            "configmap",
            "hello",
            "-n",
            "demo",
            "-o",
            "jsonpath={.metadata.labels}",
        ],
    );
    let labels = String::from_utf8_lossy(&labels.stdout);
    assert!(
        labels.contains("kustomize.toolkit.fluxcd.io/name"),
        "{labels}"
    );

    // A new commit: a changed value and a new file.
    std::fs::write(
        repo.join("clusters/dev/hello.yaml"),
        config_map("hello", "hello again"),
    )
    .unwrap();
    std::fs::write(
        repo.join("clusters/dev/extra.yaml"),
        config_map("extra", "new"),
    )
    .unwrap();
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "change"]);
    // Only the source is asked to reconcile: the sync Kustomization (interval 10m) follows its
    // source's new revision at once, as Flux's kustomize-controller does.
    let reconcile = Command::new(BIN)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .args([
            "reconcile",
            "source",
            "git",
            "flux-system",
            "-n",
            "flux-system",
            "--timeout",
            "60s",
        ])
        .output()
        .unwrap();
    assert!(
        reconcile.status.success(),
        "reconcile: {}",
        String::from_utf8_lossy(&reconcile.stderr)
    );
    wait_for("the new commit applied", Duration::from_secs(30), || {
        greeting(&kubeconfig, "hello").as_deref() == Some("hello again")
            && greeting(&kubeconfig, "extra").as_deref() == Some("new")
    });
}

#[test]
fn refuses_a_bootstrap_directory_that_is_not_a_git_repository() {
    let tmp = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["dev", "--port", "0", "--bootstrap"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not a Git repository"), "{stderr}");
    assert!(stderr.contains("git init"), "{stderr}");
}

#[test]
fn refuses_a_path_missing_from_the_last_commit() {
    let tmp = tempfile::tempdir().unwrap();
    fleet(tmp.path());
    let out = Command::new(BIN)
        .args([
            "dev",
            "--port",
            "0",
            "--path",
            "clusters/prod",
            "--bootstrap",
        ])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--path clusters/prod"), "{stderr}");
}
