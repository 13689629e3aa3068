//! Durability: acknowledged writes survive a server dropped without shutdown and a server
//! process killed with SIGKILL; resourceVersions keep increasing across restarts.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{corpus, eventually, options, Cluster};
use flotilla_devcluster::{Options, Server};

const CHILD_ENV: &str = "FLOTILLA_DEVCLUSTER_CHILD_DIR";

fn with_dir(dir: &Path) -> Options {
    Options {
        data_dir: Some(dir.to_path_buf()),
        ..options()
    }
}

fn max_rv(c: &Cluster, ns: &str) -> u64 {
    let list = c.json(&["get", "deploy,svc", "-n", ns]);
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            o["metadata"]["resourceVersion"]
                .as_str()
                .unwrap()
                .parse::<u64>()
                .unwrap()
        })
        .max()
        .unwrap()
}

/// Not a test of its own: the server process the SIGKILL test starts (this test binary
/// re-run with `CHILD_ENV` set). Without the variable it returns at once.
#[test]
fn child_server_process() {
    let Ok(dir) = std::env::var(CHILD_ENV) else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let handle = Server::start(with_dir(Path::new(&dir))).await.unwrap();
        handle
            .write_kubeconfig(&Path::new(&dir).join("kubeconfig"))
            .unwrap();
        loop {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    });
}

#[test]
fn writes_survive_sigkill_of_the_server_process() {
    let data = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_server_process",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, data.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let kubeconfig = data.path().join("kubeconfig");
    assert!(
        eventually(Duration::from_secs(20), || kubeconfig.exists()),
        "the child server did not start"
    );
    let demo = corpus("microservices-demo/deploy/kubernetes/complete-demo.yaml");
    let run = |args: &[&str]| {
        let out = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&kubeconfig)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let out = run(&["apply", "--server-side", "-f", demo.to_str().unwrap()]);
    assert_eq!(out.lines().count(), 29, "{out}");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let c = Cluster::start_with(with_dir(data.path()));
    let deploys = c.json(&["get", "deploy", "-n", "sock-shop"]);
    assert_eq!(deploys["items"].as_array().unwrap().len(), 14);
    let services = c.json(&["get", "svc", "-n", "sock-shop"]);
    assert_eq!(services["items"].as_array().unwrap().len(), 14);
    let before = max_rv(&c, "sock-shop");
    c.ok(&[
        "label",
        "deploy",
        "carts",
        "-n",
        "sock-shop",
        "after=restart",
    ]);
    assert!(max_rv(&c, "sock-shop") > before);
    c.ok(&[
        "wait",
        "--for=condition=Available",
        "deploy",
        "--all",
        "-n",
        "sock-shop",
        "--timeout=30s",
    ]);
}

#[test]
fn writes_survive_a_server_dropped_without_shutdown() {
    let data = tempfile::tempdir().unwrap();
    let uid;
    let rv;
    {
        let c = Cluster::start_with(with_dir(data.path()));
        c.ok_stdin(
            &["apply", "-f", "-"],
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: keep}\ndata: {a: \"1\"}\n",
        );
        c.ok_stdin(
            &["apply", "-f", "-"],
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: gone}\n",
        );
        c.ok(&["delete", "cm", "gone"]);
        let cm = c.json(&["get", "cm", "keep"]);
        uid = cm["metadata"]["uid"].clone();
        rv = cm["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .unwrap();
        let mut c = c;
        // Dropped without shutdown: the handle's Drop stops serving at once.
        drop(c.handle.take());
    }
    let c = Cluster::start_with(with_dir(data.path()));
    let cm = c.json(&["get", "cm", "keep"]);
    assert_eq!(cm["metadata"]["uid"], uid);
    assert_eq!(cm["data"]["a"], "1");
    assert!(c.fails(&["get", "cm", "gone"]).contains("NotFound"));
    c.ok(&["annotate", "cm", "keep", "x=y"]);
    let after = c.json(&["get", "cm", "keep"])["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse::<u64>()
        .unwrap();
    assert!(
        after > rv + 1,
        "resourceVersion {after} should be past {rv} and the delete"
    );
    // The namespaces made at first start are not made twice.
    assert_eq!(c.json(&["get", "ns"])["items"].as_array().unwrap().len(), 4);
}
