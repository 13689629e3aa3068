//! Benchmark (not a test): scan a real local registry repository with many tags (wall time, peak RSS), evaluate a policy over 100,000 tags, run setters over 2,000 YAML files with 20 marked.
//!
//! `cargo run --release -p flotilla-image --example image_bench -- [TAGS]` (default 10000);
//! needs /usr/bin/docker-registry.
#![allow(clippy::unwrap_used)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use flotilla_image::{
    apply_setters, scan, Credentials, FilterSpec, ImageName, Order, Policy, PolicyImage,
    RegistryClient, RegistryOptions, Rule, ScanOptions, SetterOptions, TagStore,
};

fn rss_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);

    // 1. Scan: a real registry, N tags (one pushed through the API, the rest linked on disk).
    let reg = support::Registry::start(support::RegistryAuth::None);
    reg.push("bench/app", "main-0000000-0", None);
    let tags: Vec<String> = (1..n)
        .map(|i| format!("main-{:07x}-{i}", i * 7919))
        .collect();
    reg.add_tags_on_disk(
        "bench/app",
        "main-0000000-0",
        tags.iter().map(String::as_str),
    );
    drop(tags);
    let image = ImageName::parse(&format!("{}/bench/app", reg.host())).unwrap();
    let client = RegistryClient::new(
        image,
        RegistryOptions {
            credentials: Credentials::Anonymous,
            insecure: true,
            timeout: Duration::from_secs(120),
            page_size: 1000,
            ..RegistryOptions::default()
        },
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = TagStore::new(dir.path());
    let rss_before = rss_kib("VmRSS:");
    let t = Instant::now();
    let summary = scan(
        &client,
        &store,
        &ScanOptions {
            timeout: Duration::from_secs(300),
            ..ScanOptions::default()
        },
    )
    .await
    .unwrap();
    let scan_time = t.elapsed();
    println!(
        "scan: {} tags in {:.3}s; RSS before {} KiB, peak (VmHWM) {} KiB; store file {} bytes",
        summary.tag_count,
        scan_time.as_secs_f64(),
        rss_before,
        rss_kib("VmHWM:"),
        std::fs::metadata(store.path_for(&client.image().canonical()))
            .unwrap()
            .len()
    );

    // 2. Policy over 100,000 tags (the reference scenario's filter, extract and numerical order).
    let many: Vec<String> = (0..100_000u64)
        .map(|i| {
            if i % 10 == 0 {
                format!("feature-x-{i}")
            } else {
                format!("main-{:07x}-{i}", (i * 104_729) % 0xfff_ffff)
            }
        })
        .collect();
    let policy = Policy::new(
        &Rule::Numerical(Order::Asc),
        Some(&FilterSpec {
            pattern: Some("^main-[a-f0-9]+-(?P<build>[0-9]+)".into()),
            extract: Some("$build".into()),
        }),
    )
    .unwrap();
    let t = Instant::now();
    let pick = policy.latest(many.iter().map(String::as_str)).unwrap();
    println!(
        "policy (numerical, regex + extract): 100000 tags in {:.1} ms -> {}",
        t.elapsed().as_secs_f64() * 1e3,
        pick.tag
    );
    let semver: Vec<String> = (0..100_000)
        .map(|i| format!("{}.{}.{}", i / 10_000, (i / 100) % 100, i % 100))
        .collect();
    let policy = Policy::new(&Rule::SemVer(">=1.0.0 <9.0.0".into()), None).unwrap();
    let t = Instant::now();
    let pick = policy.latest(semver.iter().map(String::as_str)).unwrap();
    println!(
        "policy (semver range): 100000 tags in {:.1} ms -> {}",
        t.elapsed().as_secs_f64() * 1e3,
        pick.tag
    );

    // 3. Setters over 2,000 YAML files, 20 of them marked.
    let repo = tempfile::tempdir().unwrap();
    for i in 0..2000 {
        let sub = repo.path().join(format!("apps/app{:03}", i / 10));
        std::fs::create_dir_all(&sub).unwrap();
        let marked = i % 100 == 0;
        let comment = if marked {
            " # {\"$imagepolicy\": \"flux-system:app\"}"
        } else {
            ""
        };
        let text = format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app-{i}\n  namespace: default\nspec:\n  replicas: 2\n  template:\n    metadata:\n      labels: {{app: app-{i}}}\n    spec:\n      containers:\n      - name: app\n        image: ghcr.io/org/app:main-abc-9{comment}\n        ports:\n        - containerPort: 8080\n        env:\n        - {{name: A, value: \"1\"}}\n"
        );
        std::fs::write(sub.join(format!("deploy-{i}.yaml")), text).unwrap();
    }
    let mut policies = BTreeMap::new();
    policies.insert(
        "flux-system:app".to_string(),
        PolicyImage {
            name: "ghcr.io/org/app".into(),
            tag: "main-def-10".into(),
            digest: None,
        },
    );
    let t = Instant::now();
    let r = apply_setters(repo.path(), &policies, &SetterOptions::default()).unwrap();
    println!(
        "setters: 2000 files, {} changed in {:.1} ms",
        r.file_changes.len(),
        t.elapsed().as_secs_f64() * 1e3
    );
}
