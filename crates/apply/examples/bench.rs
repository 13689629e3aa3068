//! Benchmark (not a test): apply 5,000 objects (ConfigMaps, Services, Deployments) to the dev
//! cluster, then re-apply them unchanged; wall time and peak RSS, side by side with
//! `kubectl apply --server-side` of the same objects.
//!
//! `cargo run --release -p flotilla-apply --example bench [-- COUNT]`. The dev cluster runs in a
//! child process (this binary re-executed with `--serve`) so the RSS figures are the applier's
//! alone; the simulated node is off so status writes do not compete for the CPU.
//!
//! Measured 2026-11-26 on the 2-core machine, release build of client and dev cluster, load
//! average about 2 from other work: first apply 2.26 s (kubectl --server-side 6.81 s);
//! no-change re-apply 0.53 s with no per-object request (kubectl 5.00 s), against 0.65 s for
//! the three plain LISTs alone, so reading the live objects is the whole cost; applier peak
//! RSS 121 MiB (kubectl 138-143 MiB). The same run in a debug build: 27.6 s first, 3.9 s
//! re-apply (the debug dev cluster's LIST).
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use flotilla_apply::{Action, Applier, ApplyOptions, OWNER_NAMESPACE_LABEL, OWNER_NAME_LABEL};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::{json, Value};

fn objects(ns: &str, count: usize) -> Vec<Value> {
    let mut out = vec![json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})];
    for i in 0..count.saturating_sub(1) {
        let name = format!("obj-{i:05}");
        out.push(match i % 3 {
            0 => json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
                "data": {"index": i.to_string(), "config.yaml": format!("key: value-{i}\nother: {}\n", i * 7)}}),
            1 => json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
                "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}}),
            _ => json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
                "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}},
                        "spec": {"containers": [{"name": "app", "image": format!("registry.example.com/app:{i}"),
                            "ports": [{"containerPort": 8080}],
                            "env": [{"name": "INDEX", "value": i.to_string()}],
                            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}}}),
        });
    }
    out
}

fn rss_peak_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|n| n.parse().ok()))
        })
        .unwrap_or(0)
}

fn serve(kubeconfig: &Path) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let handle = flotilla_devcluster::Server::start(flotilla_devcluster::Options {
            simulate: None,
            max_body_bytes: 64 * 1024 * 1024,
            ..Default::default()
        })
        .await
        .unwrap();
        handle.write_kubeconfig(kubeconfig).unwrap();
        println!("ready");
        std::io::stdout().flush().unwrap();
        // Serve until the parent closes our stdin.
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
        handle.shutdown().await;
    });
}

/// Runs kubectl under /usr/bin/time: (wall, peak RSS KiB).
fn kubectl(kubeconfig: &Path, file: &Path) -> (Duration, u64) {
    let start = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args([
            "apply",
            "--server-side",
            "--field-manager",
            "kustomize-controller",
            "--force-conflicts",
            "--validate=false",
            "-f",
        ])
        .arg(file)
        .output()
        .unwrap();
    let wall = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "kubectl failed: {stderr}");
    let rss = stderr
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    (wall, rss)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve") {
        serve(Path::new(&args[2]));
        return;
    }
    let count: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(5000);
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig: PathBuf = dir.path().join("kubeconfig");
    let mut server = Command::new(std::env::current_exe().unwrap())
        .arg("--serve")
        .arg(&kubeconfig)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::BufRead;
        let mut line = String::new();
        std::io::BufReader::new(server.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line.trim(), "ready");
    }

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let rss_start = rss_peak_kib();
    rt.block_on(async {
        let kc = Kubeconfig::read_from(&kubeconfig).unwrap();
        let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
            .await
            .unwrap();
        let client = kube::Client::try_from(config).unwrap();
        let applier = Applier::new(client);
        let opts = ApplyOptions {
            owner_labels: BTreeMap::from([
                (OWNER_NAME_LABEL.to_string(), "bench".to_string()),
                (OWNER_NAMESPACE_LABEL.to_string(), "flux-system".to_string()),
            ]),
            concurrency: 16,
            ..Default::default()
        };
        let set = objects("bench-flotilla", count);
        let start = Instant::now();
        let cs = applier.apply(set.clone(), &opts).await.unwrap();
        let first = start.elapsed();
        assert_eq!(cs.count(Action::Created), count);
        // The floor of a no-change re-apply: reading the live objects once.
        let start = Instant::now();
        let mut listed = 0;
        for (group, version, kind, plural) in [
            ("", "v1", "ConfigMap", "configmaps"),
            ("", "v1", "Service", "services"),
            ("apps", "v1", "Deployment", "deployments"),
        ] {
            let gvk = kube::core::GroupVersionKind::gvk(group, version, kind);
            let ar = kube::api::ApiResource::from_gvk_with_plural(&gvk, plural);
            let url =
                <kube::api::DynamicObject as kube::Resource>::url_path(&ar, Some("bench-flotilla"));
            let req = kube::core::Request::new(url)
                .list(&kube::api::ListParams::default())
                .unwrap();
            let page: Value = applier.client().request(req).await.unwrap();
            listed += page["items"].as_array().map_or(0, Vec::len);
        }
        let list_time = start.elapsed();
        let start = Instant::now();
        let cs = applier.apply(set, &opts).await.unwrap();
        let again = start.elapsed();
        assert_eq!(cs.count(Action::Unchanged), count, "{cs}");
        println!("objects: {count}");
        println!("flotilla-apply first apply:    {:>8.2?}", first);
        println!("flotilla-apply no-change apply:{:>8.2?}", again);
        println!(
            "plain LIST of the {listed} live objects: {:>8.2?}",
            list_time
        );
        println!(
            "flotilla-apply peak RSS:       {:>6} MiB (process, {} MiB before the applies)",
            rss_peak_kib() / 1024,
            rss_start / 1024
        );
    });

    let file = dir.path().join("objects.yaml");
    // One JSON document: a v1 List of every object.
    let list =
        json!({"apiVersion": "v1", "kind": "List", "items": objects("bench-kubectl", count)});
    std::fs::write(&file, serde_json::to_vec(&list).unwrap()).unwrap();
    let (first, rss1) = kubectl(&kubeconfig, &file);
    let (again, rss2) = kubectl(&kubeconfig, &file);
    println!(
        "kubectl --server-side first:   {:>8.2?} ({} MiB peak RSS)",
        first,
        rss1 / 1024
    );
    println!(
        "kubectl --server-side again:   {:>8.2?} ({} MiB peak RSS)",
        again,
        rss2 / 1024
    );

    drop(server.stdin.take());
    let _ = server.wait();
}
