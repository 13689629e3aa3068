//! `flotilla check` and the flags Flux users type, against the embedded dev cluster with the
//! built binary: no Deployment on the dev cluster is a warning (its controllers run in
//! `flotilla dev`'s process), while a real install that is not ready still fails;
//! `create kustomization --prune=true` (Flux's spelling) is accepted and server-side
//! dry-run clean; `completion` survives a closed pipe.
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output, Stdio};

use flotilla_testkit::DevCluster;

mod common;
use common::flotilla;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn check_on_the_dev_cluster_warns_without_an_install_and_fails_on_an_unready_one() {
    let c = DevCluster::start_with(flotilla_devcluster::Options {
        simulate: None,
        ..Default::default()
    });
    let o = flotilla(&c.kubeconfig, &["check"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("⚠ no flotilla-controller Deployment in flux-system"),
        "{}",
        stderr(&o)
    );
    // Installed but never ready (no simulated node): a failure, dev cluster or not.
    let o = flotilla(&c.kubeconfig, &["install", "--no-wait"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = flotilla(&c.kubeconfig, &["check"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("0/1 replicas ready"), "{}", stderr(&o));
}

#[test]
fn create_kustomization_takes_fluxs_bool_flag_values() {
    let c = DevCluster::start();
    let args = |prune: &'static str| {
        vec![
            "create",
            "kustomization",
            "apps",
            "--source=GitRepository/fleet",
            "--path=./apps",
            prune,
            "--wait=false",
            "--interval=10m",
            "--export",
        ]
    };
    let on = flotilla(&c.kubeconfig, &args("--prune=true"));
    assert!(on.status.success(), "{}", stderr(&on));
    let yaml = String::from_utf8(on.stdout).unwrap();
    assert!(yaml.contains("  prune: true\n"), "{yaml}");
    assert!(
        !yaml.contains("wait:"),
        "--wait=false leaves wait unset: {yaml}"
    );
    // The API server (with the CRD's schema) takes the export as it is.
    c.kubectl_ok(&["apply", "--dry-run=server", "-f", "-"], &yaml);
    let bare = flotilla(&c.kubeconfig, &args("--prune"));
    assert_eq!(bare.stdout, yaml.as_bytes(), "--prune alone means true");
    let off = flotilla(&c.kubeconfig, &args("--prune=false"));
    assert!(off.status.success(), "{}", stderr(&off));
    assert!(!String::from_utf8_lossy(&off.stdout).contains("prune: true"));
}

#[test]
fn completion_into_a_closed_pipe_is_no_panic() {
    for shell in ["bash", "zsh", "fish"] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_flotilla"))
            .args(["completion", shell])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // The reader goes away at once, as `| head -1` does after a line.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{shell}: {err}");
        assert!(out.status.success(), "{shell}: {err}");
    }
}

#[test]
fn get_output_yaml_leaves_out_managed_fields_as_kubectl() {
    let c = DevCluster::start();
    let gr = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: fleet\n  \
              namespace: flux-system\nspec:\n  interval: 1m\n  url: https://example.com/fleet.git\n";
    c.kubectl_ok(&["apply", "--server-side", "-f", "-"], gr);
    // The oracle: the object has managedFields, and kubectl hides them by default.
    let shown = c.kubectl_ok(
        &[
            "get",
            "gitrepository",
            "fleet",
            "-n",
            "flux-system",
            "-o",
            "yaml",
            "--show-managed-fields",
        ],
        "",
    );
    assert!(shown.contains("managedFields:"), "{shown}");
    let hidden = c.kubectl_ok(
        &[
            "get",
            "gitrepository",
            "fleet",
            "-n",
            "flux-system",
            "-o",
            "yaml",
        ],
        "",
    );
    assert!(!hidden.contains("managedFields:"), "{hidden}");
    for format in ["yaml", "json"] {
        let o = flotilla(
            &c.kubeconfig,
            &["get", "sources", "git", "fleet", "-o", format],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(!text.contains("managedFields"), "{format}: {text}");
        assert!(
            text.contains("https://example.com/fleet.git"),
            "{format}: {text}"
        );
    }
}
