//! Benchmark: controller RSS idle and during the fetch of a generated 20,000-file repository,
//! and fetch wall time against `git clone --depth 1` + `tar czf` of the same tree.
//!
//! Run: `cargo run --release -p flotilla-controller --example controller_rss [FILES] [COMMITS]`.
//! The dev cluster runs in a child process (this binary re-executed), so the RSS measured is
//! the controller's alone. Git itself runs as child processes; their memory is not included.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use flotilla_api::GitRepository;
use flotilla_controller::runtime::metrics::resident_bytes;
use flotilla_controller::ControllerOptions;
use kube::api::{Api, Patch, PatchParams, PostParams};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--serve-cluster") {
        serve_cluster(Path::new(&args[2]));
        return;
    }
    let files: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let commits: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(50);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(bench(files, commits));
}

/// Child mode: run a dev cluster with the CRDs until stdin closes.
fn serve_cluster(kubeconfig: &Path) {
    let cluster = flotilla_testkit::DevCluster::start();
    std::fs::copy(&cluster.kubeconfig, kubeconfig).unwrap();
    println!("ready");
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
}

fn git(dir: &Path, args: &[&str]) {
    flotilla_testkit::git(dir, args);
}

/// A repository with `files` files spread over directories, and `commits` commits of history.
fn generate(dir: &Path, files: usize, commits: usize) {
    git(dir, &["init", "-q", "-b", "main", "."]);
    for c in 0..commits {
        let (start, end) = if c == 0 { (0, files) } else { (0, files / 100) };
        for i in start..end {
            let sub = dir.join(format!(
                "apps/team-{:03}/svc-{:03}",
                i / 1000,
                (i / 20) % 50
            ));
            std::fs::create_dir_all(&sub).unwrap();
            std::fs::write(
                sub.join(format!("obj-{i:05}.yaml")),
                format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: obj-{i}\ndata:\n  rev: \"{c}\"\n  payload: \"{}\"\n", "x".repeat(200)),
            )
            .unwrap();
        }
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-q", "-m", &format!("commit {c}")]);
    }
}

async fn bench(files: usize, commits: usize) {
    let scratch = tempfile::tempdir().unwrap();
    let repo = scratch.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let t = Instant::now();
    generate(&repo, files, commits);
    println!(
        "generated {files} files, {commits} commits in {:?}",
        t.elapsed()
    );
    let url = format!("file://{}", repo.display());

    // Reference: git clone --depth 1 + tar czf.
    let t = Instant::now();
    let clone = scratch.path().join("clone");
    let status = Command::new("git")
        .args(["clone", "-q", "--depth", "1", "--branch", "main", &url])
        .arg(&clone)
        .status()
        .unwrap();
    assert!(status.success());
    let status = Command::new("tar")
        .args(["--exclude=.git", "-czf"])
        .arg(scratch.path().join("ref.tar.gz"))
        .arg("-C")
        .arg(&clone)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    let reference = t.elapsed();
    println!("git clone --depth 1 + tar czf: {reference:?}");

    // The dev cluster in a child process.
    let kubeconfig = scratch.path().join("kubeconfig");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .arg("--serve-cluster")
        .arg(&kubeconfig)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    let kc = kube::config::Kubeconfig::read_from(&kubeconfig).unwrap();
    let config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await
            .unwrap();
    let client = kube::Client::try_from(config).unwrap();

    let before = resident_bytes().unwrap_or(0);
    let storage = scratch.path().join("storage");
    let opts = ControllerOptions {
        storage_path: storage.clone(),
        storage_addr: "127.0.0.1:0".to_string(),
        metrics_addr: None,
        ..ControllerOptions::default()
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let controller = tokio::spawn(flotilla_controller::run(client.clone(), opts, async {
        let _ = stop_rx.await;
    }));
    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle = resident_bytes().unwrap_or(0);

    // Peak RSS sampled every 5 ms from here on.
    let peak = Arc::new(AtomicU64::new(idle));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        std::thread::spawn(move || {
            while sampling.load(Ordering::SeqCst) {
                if let Some(r) = resident_bytes() {
                    peak.fetch_max(r, Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };

    let api: Api<GitRepository> = Api::namespaced(client.clone(), "flux-system");
    let obj: GitRepository = serde_json::from_value(serde_json::json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "big", "namespace": "flux-system"},
        "spec": {"url": url, "interval": "1h", "ref": {"branch": "main"}}
    }))
    .unwrap();
    let t = Instant::now();
    api.create(&PostParams::default(), &obj).await.unwrap();
    let first = wait_handled(&api, None).await;
    let first_time = t.elapsed();
    let size = first
        .status
        .as_ref()
        .and_then(|s| s.artifact.as_ref())
        .and_then(|a| a.size)
        .unwrap_or(0);

    let t = Instant::now();
    let patch = serde_json::json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": "bench-1"}}});
    api.patch("big", &PatchParams::default(), &Patch::Merge(patch))
        .await
        .unwrap();
    wait_handled(&api, Some("bench-1")).await;
    let refetch = t.elapsed();
    sampling.store(false, Ordering::SeqCst);
    sampler.join().unwrap();

    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    println!("controller: first fetch + archive: {first_time:?} (artifact {size} bytes)");
    println!("controller: no-change refetch: {refetch:?}");
    println!(
        "ratio first fetch / (git clone --depth 1 + tar czf): {:.2}",
        first_time.as_secs_f64() / reference.as_secs_f64()
    );
    println!(
        "RSS: before controller {:.1} MiB, idle {:.1} MiB, peak during fetch {:.1} MiB",
        mib(before),
        mib(idle),
        mib(peak.load(Ordering::SeqCst))
    );
    let _ = stop_tx.send(());
    controller.await.unwrap().unwrap();
    drop(child.stdin.take());
    let _ = child.wait();
}

/// Waits until Ready=True for the current generation (and the given request handled).
async fn wait_handled(api: &Api<GitRepository>, request: Option<&str>) -> GitRepository {
    loop {
        let obj = api.get("big").await.unwrap();
        if let Some(status) = &obj.status {
            let ready = status
                .conditions
                .iter()
                .any(|c| c.type_ == "Ready" && c.status == flotilla_api::ConditionStatus::True);
            let handled =
                request.is_none() || status.last_handled_reconcile_at.as_deref() == request;
            if ready && handled {
                return obj;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
