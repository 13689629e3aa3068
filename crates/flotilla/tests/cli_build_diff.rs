//! `build kustomization` and `diff kustomization` through the built binary against the dev
//! cluster; kubectl (kustomize v5.5.0 and server-side apply) is the oracle.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Output;

use flotilla_testkit::DevCluster;

mod common;
use common::flotilla;

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

const KS: &str = "apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: apps
  namespace: flux-system
spec:
  interval: 10m
  path: ./apps
  prune: true
  targetNamespace: default
  sourceRef:
    kind: GitRepository
    name: flux-system
  postBuild:
    substitute:
      greeting: hello
";

fn write_app(dir: &Path, greeting_key: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("kustomization.yaml"),
        "resources:\n- cm.yaml\n- secret.yaml\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("cm.yaml"),
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  {greeting_key}: ${{greeting}}\n"),
    )
    .unwrap();
    std::fs::write(
        dir.join("secret.yaml"),
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\nstringData:\n  token: very-secret-token\n",
    )
    .unwrap();
}

#[test]
fn build_dry_run_substitutes_and_masks_and_diff_reports_drift_with_exit_codes() {
    let cluster = DevCluster::start();
    let tmp = tempfile::tempdir().unwrap();
    let app = tmp.path().join("apps");
    write_app(&app, "message");
    let ks_file = tmp.path().join("ks.yaml");
    std::fs::write(&ks_file, KS).unwrap();
    let (app_s, ks_s) = (app.to_str().unwrap(), ks_file.to_str().unwrap());

    // build --dry-run: no cluster needed; substituted, namespaced, owner-labelled, masked.
    let out = flotilla(
        Path::new("/nonexistent"),
        &[
            "build",
            "kustomization",
            "apps",
            "--path",
            app_s,
            "--kustomization-file",
            ks_s,
            "--dry-run",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let yaml = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(yaml.contains("message: hello"), "{yaml}");
    assert!(yaml.contains("namespace: default"), "{yaml}");
    assert!(
        yaml.contains("kustomize.toolkit.fluxcd.io/name: apps"),
        "{yaml}"
    );
    assert!(!yaml.contains("very-secret-token"), "secret leaked: {yaml}");

    // The Kustomization in the cluster; nothing applied yet: everything is created, exit 1.
    cluster.kubectl_ok(&["apply", "-f", "-"], KS);
    let out = flotilla(
        &cluster.kubeconfig,
        &["diff", "kustomization", "apps", "--path", app_s],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "nothing applied yet: {}",
        text(&out)
    );
    let t = text(&out);
    assert!(t.contains("► ConfigMap/default/app created"), "{t}");
    assert!(t.contains("► Secret/default/creds created"), "{t}");
    assert!(!t.contains("very-secret-token"), "{t}");

    // Apply what flotilla builds (server-side, Flux's field manager is not needed for a diff).
    let built = flotilla(
        &cluster.kubeconfig,
        &["build", "kustomization", "apps", "--path", app_s],
    );
    assert!(built.status.success(), "{}", text(&built));
    let unmasked_yaml = String::from_utf8_lossy(&built.stdout)
        .replace("token: '***'", "token: very-secret-token")
        .replace("token: \"***\"", "token: very-secret-token");
    cluster.kubectl_ok(
        &[
            "apply",
            "--server-side",
            "--field-manager=kustomize-controller",
            "-f",
            "-",
        ],
        &unmasked_yaml,
    );
    let out = flotilla(
        &cluster.kubeconfig,
        &["diff", "kustomization", "apps", "--path", app_s],
    );
    assert_eq!(out.status.code(), Some(0), "in sync: {}", text(&out));

    // Drift: the cluster's ConfigMap edited by hand shows as drifted with a unified diff.
    cluster.kubectl_ok(
        &[
            "patch",
            "configmap",
            "app",
            "-n",
            "default",
            "--type=merge",
            "-p",
            "{\"data\":{\"message\":\"changed\"}}",
        ],
        "",
    );
    let out = flotilla(
        &cluster.kubeconfig,
        &["diff", "kustomization", "apps", "--path", app_s],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(t.contains("► ConfigMap/default/app drifted"), "{t}");
    assert!(
        t.contains("-  message: changed") && t.contains("+  message: hello"),
        "{t}"
    );
}
