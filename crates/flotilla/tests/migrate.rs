//! `flotilla migrate` on copies of the corpus repositories from the 2023 walkthrough: the
//! Flux objects move to current API versions, comments and layout stay, every kustomization
//! still builds (`flotilla kustomize` compared with `kubectl kustomize`, the oracle), and the
//! migrated toolkit objects are accepted by the CRDs of a dev cluster.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus")
        .join(name)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn flotilla(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flotilla"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Every directory with a kustomization.yaml builds the same with flotilla and kubectl.
fn builds_like_kubectl(root: &Path) -> usize {
    let mut all = Vec::new();
    files(root, &mut all);
    let mut n = 0;
    for k in all
        .iter()
        .filter(|p| p.file_name().unwrap() == "kustomization.yaml")
    {
        let dir = k.parent().unwrap();
        let want = Command::new("kubectl")
            .arg("kustomize")
            .arg(dir)
            .output()
            .unwrap();
        if !want.status.success() {
            continue;
        }
        let got = flotilla(&["kustomize", dir.to_str().unwrap()]);
        assert!(
            got.status.success(),
            "{}: {}",
            dir.display(),
            String::from_utf8_lossy(&got.stderr)
        );
        assert_eq!(
            String::from_utf8(got.stdout).unwrap(),
            String::from_utf8(want.stdout).unwrap(),
            "{}",
            dir.display()
        );
        n += 1;
    }
    n
}

#[test]
fn fleet_repo_moves_to_current_versions() {
    let src = corpus("tyyzqmf-flux-repo");
    if !src.exists() {
        panic!("corpus missing: {}", src.display());
    }
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    copy_dir(&src, &repo);

    let dry = flotilla(&["migrate", "-f", repo.to_str().unwrap(), "--dry-run"]);
    assert!(
        dry.status.success(),
        "{}",
        String::from_utf8_lossy(&dry.stderr)
    );
    let plan = String::from_utf8(dry.stdout).unwrap();
    assert!(
        plan.contains("kustomize.toolkit.fluxcd.io/v1beta2 → kustomize.toolkit.fluxcd.io/v1"),
        "{plan}"
    );
    // A dry run writes nothing.
    let mut before = Vec::new();
    files(&repo, &mut before);
    for f in &before {
        let rel = f.strip_prefix(&repo).unwrap();
        assert_eq!(
            std::fs::read(f).unwrap(),
            std::fs::read(src.join(rel)).unwrap()
        );
    }

    let o = flotilla(&["migrate", "-f", repo.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut after = Vec::new();
    files(&repo, &mut after);
    let mut toolkit_docs = String::new();
    for f in &after {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        for old in ["toolkit.fluxcd.io/v1beta1", "toolkit.fluxcd.io/v1beta2"] {
            assert!(!text.contains(old), "{} still has {old}", f.display());
        }
        // Patch targets follow the migrated versions.
        assert!(
            !text.contains("version: v1beta2\n      kind: Kustomization"),
            "{}",
            f.display()
        );
        for doc in text.split("\n---") {
            let flux_kustomization = doc.contains("kind: Kustomization\nmetadata")
                && doc.contains("kustomize.toolkit.fluxcd.io/v1");
            if doc.contains("kind: GitRepository\n") || flux_kustomization {
                toolkit_docs.push_str("---\n");
                toolkit_docs.push_str(doc.trim_start_matches('\n'));
                toolkit_docs.push('\n');
            }
        }
    }
    // Only the lines that named removed versions changed.
    let tenant = std::fs::read_to_string(repo.join("apps/base/sock-shop/tenant.yaml")).unwrap();
    let orig = std::fs::read_to_string(src.join("apps/base/sock-shop/tenant.yaml")).unwrap();
    let changed: Vec<(&str, &str)> = orig
        .lines()
        .zip(tenant.lines())
        .filter(|(a, b)| a != b)
        .collect();
    assert_eq!(orig.lines().count(), tenant.lines().count());
    assert_eq!(
        changed,
        [
            (
                "apiVersion: source.toolkit.fluxcd.io/v1beta1",
                "apiVersion: source.toolkit.fluxcd.io/v1"
            ),
            (
                "apiVersion: kustomize.toolkit.fluxcd.io/v1beta2",
                "apiVersion: kustomize.toolkit.fluxcd.io/v1"
            ),
            ("        version: v2beta1", "        version: v2"),
            ("        version: v1beta2", "        version: v1"),
        ]
    );
    assert!(builds_like_kubectl(&repo) >= 3);

    // The migrated GitRepository and Kustomization objects are accepted by the CRDs
    // (HelmRepository/HelmRelease have no CRD in Flotilla and are left out).
    let cluster = flotilla_testkit::DevCluster::start_with(flotilla_devcluster::Options {
        simulate: None,
        ..Default::default()
    });
    let kubectl = |args: &[&str], input: &str| {
        cluster.kubectl_ok(args, input);
    };
    kubectl(&["create", "namespace", "sock-shop"], "");
    assert!(toolkit_docs.matches("---\n").count() >= 3, "{toolkit_docs}");
    // The walkthrough leaves the microservices repository URL as a placeholder for sed.
    let toolkit_docs = toolkit_docs.replace(
        "__MICRO_SERVICES_REPO__",
        "https://example.com/microservices-demo",
    );
    kubectl(&["apply", "--server-side", "-f", "-"], &toolkit_docs);
}

#[test]
fn microservices_repo_has_nothing_to_migrate() {
    let src = corpus("zxkane-microservices-demo-gitops");
    let tmp = tempfile::tempdir().unwrap();
    let repo = tmp.path().join("repo");
    copy_dir(&src, &repo);
    let o = flotilla(&["migrate", "-f", repo.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nothing to migrate"));
    let mut all = Vec::new();
    files(&repo, &mut all);
    for f in &all {
        let rel = f.strip_prefix(&repo).unwrap();
        assert_eq!(
            std::fs::read(f).unwrap(),
            std::fs::read(src.join(rel)).unwrap(),
            "{}",
            rel.display()
        );
    }
    assert!(builds_like_kubectl(&repo.join("deploy/kubernetes")) >= 1);
}
