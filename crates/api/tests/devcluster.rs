//! The generated CRDs served by a real API server (the embedded dev cluster), driven by kubectl:
//! the CRDs install, every sample is accepted (spec, then status through the status
//! subresource), Flux's defaults are applied, bad objects are refused, and what the server
//! returns reads back into the types.
#![allow(clippy::unwrap_used)]

mod util;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use flotilla_devcluster::{Options, Server, ServerHandle};
use serde_json::Value;
use util::*;

struct Cluster {
    handle: Option<ServerHandle>,
    rt: tokio::runtime::Runtime,
    dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl Cluster {
    fn start() -> Cluster {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let options = Options {
            simulate: None,
            ..Options::default()
        };
        let handle = rt.block_on(Server::start(options)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = dir.path().join("kubeconfig");
        handle.write_kubeconfig(&kubeconfig).unwrap();
        Cluster {
            handle: Some(handle),
            rt,
            dir,
            kubeconfig,
        }
    }

    fn kubectl(&self, args: &[&str], input: &str) -> Output {
        let mut child = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join("cache"))
            .args(args)
            .env_remove("KUBECONFIG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kubectl must be installed");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// kubectl that must succeed; returns stdout.
    fn ok(&self, args: &[&str], input: &str) -> String {
        let out = self.kubectl(args, input);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            self.rt.block_on(handle.shutdown());
        }
    }
}

fn fixture_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
}

const NAMESPACE: &str = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: flux-system\n";

#[test]
fn dev_cluster_serves_the_crds() {
    let cluster = Cluster::start();
    cluster.ok(
        &["apply", "--server-side", "-f", "-"],
        &flotilla_api::crds_yaml().unwrap(),
    );
    cluster.ok(&["apply", "-f", "-"], NAMESPACE);

    // Every sample: spec first, then status through the status subresource where the kind has one.
    for file in fixture_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        cluster.ok(&["apply", "--server-side", "-f", "-"], &text);
        for doc in flotilla_yaml::from_str_multi(&text).unwrap() {
            if doc.get("status").is_some() {
                cluster.ok(
                    &["apply", "--server-side", "--subresource=status", "-f", "-"],
                    &serde_json::to_string(&doc).unwrap(),
                );
            }
        }
    }

    // What the server stores equals the sample plus Flux's defaults, and reads into the types.
    for file in fixture_files() {
        let text = std::fs::read_to_string(&file).unwrap();
        for doc in flotilla_yaml::from_str_multi(&text).unwrap() {
            let kind = doc["kind"].as_str().unwrap();
            let name = doc["metadata"]["name"].as_str().unwrap();
            let resource = format!(
                "{}.{}",
                kind.to_lowercase(),
                doc["apiVersion"]
                    .as_str()
                    .unwrap()
                    .split('/')
                    .next()
                    .unwrap()
            );
            let stored: Value = serde_json::from_str(&cluster.ok(
                &["get", &resource, name, "-n", "flux-system", "-o", "json"],
                "",
            ))
            .unwrap();
            for key in ["spec", "status"] {
                if let Some(expected) = doc.get(key) {
                    let mut got = stored[key].clone();
                    strip_defaults(&mut got, expected);
                    assert_eq!(&got, expected, "{kind}/{name} {key} as stored");
                }
            }
            let back = round_trip(&stored).unwrap_or_else(|e| panic!("{kind}/{name}: {e}"));
            assert_eq!(back["spec"], stored["spec"], "{kind}/{name} read back");
        }
    }

    // Defaults Flux's CRDs apply, on the Kustomization that sets few fields.
    let stored: Value = serde_json::from_str(&cluster.ok(
        &[
            "get",
            "kustomizations.kustomize.toolkit.fluxcd.io",
            "remote-apps",
            "-n",
            "flux-system",
            "-o",
            "json",
        ],
        "",
    ))
    .unwrap();
    assert_eq!(stored["spec"]["force"], Value::Bool(false));
    assert_eq!(stored["status"]["observedGeneration"], -1);
    let typed: flotilla_api::Kustomization = serde_json::from_value(stored).unwrap();
    assert_eq!(typed.status.unwrap().observed_generation, Some(-1));

    // Printer columns: the Ready column shows the Ready condition.
    let table = cluster.ok(&["get", "gitrepositories", "-n", "flux-system"], "");
    assert!(table.contains("READY") && table.contains("True"), "{table}");

    // Objects Flux refuses are refused, naming the field.
    let bad = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: bad\n  namespace: flux-system\nspec:\n  interval: 10 minutes\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: x\n";
    let out = cluster.kubectl(&["apply", "-f", "-"], bad);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("spec.interval"));
}

/// Removes from `got` the fields the server defaulted that `expected` does not set.
fn strip_defaults(got: &mut Value, expected: &Value) {
    if let (Some(g), Some(e)) = (got.as_object_mut(), expected.as_object()) {
        g.retain(|k, _| e.contains_key(k));
        for (k, v) in g.iter_mut() {
            strip_defaults(v, &e[k]);
        }
    } else if let (Some(g), Some(e)) = (got.as_array_mut(), expected.as_array()) {
        for (gv, ev) in g.iter_mut().zip(e) {
            strip_defaults(gv, ev);
        }
    }
}
