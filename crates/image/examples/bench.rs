//! Image automation benchmark (run by hand, release build): `bench policy|scan|setters`; run each under `/usr/bin/time -v` for peak RSS.
//!
//! - `policy`: the reference numerical policy and a semver range over 100,000 tags.
//! - `scan`: a scan of a Debian docker-registry repository holding 10,000 tags into the tag store.
//! - `setters`: `$imagepolicy` setters over 2,000 YAML files of which 20 are marked.
#![allow(clippy::unwrap_used, clippy::print_stdout)]

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use flotilla_image::{
    apply_setters, scan, FilterSpec, ImageName, Order, Policy, PolicyImage, RegistryClient,
    RegistryOptions, Rule, ScanOptions, SetterOptions, TagStore,
};

fn main() {
    let what = std::env::args().nth(1).unwrap_or_default();
    match what.as_str() {
        "policy" => policy(),
        "scan" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(scan_tags()),
        "setters" => setters(),
        _ => eprintln!("usage: bench policy|scan|setters"),
    }
}

fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut best = Duration::MAX;
    let mut out = None;
    for _ in 0..runs {
        let t = Instant::now();
        let r = f();
        best = best.min(t.elapsed());
        out = Some(r);
    }
    (best, out.unwrap())
}

fn policy() {
    let tags: Vec<String> = (0..100_000u32)
        .map(|i| match i % 4 {
            0 => format!("main-{:07x}-{i}", i.wrapping_mul(2_654_435_761)),
            1 => format!("{}.{}.{}", i % 7, i % 100, i % 1000),
            2 => format!("feature-x-{:07x}-{i}", i),
            _ => format!("v{}.{}.{}-rc.{}", i % 5, i % 50, i % 300, i % 9),
        })
        .collect();
    let numerical = Policy::new(
        &Rule::Numerical(Order::Asc),
        Some(&FilterSpec {
            pattern: Some("^main-[a-f0-9]+-(?P<build>[0-9]+)".into()),
            extract: Some("$build".into()),
        }),
    )
    .unwrap();
    let (t, sel) = best_of(5, || {
        numerical.latest(tags.iter().map(String::as_str)).unwrap()
    });
    println!(
        "policy numerical+filter+extract over {} tags: {:.1} ms (picked {})",
        tags.len(),
        t.as_secs_f64() * 1e3,
        sel.tag
    );
    let semver = Policy::new(&Rule::SemVer(">=1.0.0 <6.0.0".into()), None).unwrap();
    let (t, sel) = best_of(5, || {
        semver.latest(tags.iter().map(String::as_str)).unwrap()
    });
    println!(
        "policy semver '>=1.0.0 <6.0.0' over {} tags: {:.1} ms (picked {})",
        tags.len(),
        t.as_secs_f64() * 1e3,
        sel.tag
    );
    let alpha = Policy::new(&Rule::Alphabetical(Order::Asc), None).unwrap();
    let (t, _) = best_of(5, || alpha.latest(tags.iter().map(String::as_str)).unwrap());
    println!(
        "policy alphabetical over {} tags: {:.1} ms",
        tags.len(),
        t.as_secs_f64() * 1e3
    );
}

async fn scan_tags() {
    let reg = support::Registry::start(support::RegistryAuth::None);
    reg.push("bench/app", "seed", None);
    let names: Vec<String> = (0..10_000u32)
        .map(|i| format!("main-{:07x}-{i}", i.wrapping_mul(2_654_435_761)))
        .collect();
    reg.add_tags_on_disk("bench/app", "seed", names.iter().map(String::as_str));
    let store_dir = tempfile::tempdir().unwrap();
    let store = TagStore::new(store_dir.path());
    let image = ImageName::parse(&format!("{}/bench/app", reg.host())).unwrap();
    let client = RegistryClient::new(
        image,
        RegistryOptions {
            insecure: true,
            timeout: Duration::from_secs(120),
            ..RegistryOptions::default()
        },
    )
    .unwrap();
    let opts = ScanOptions {
        timeout: Duration::from_secs(120),
        ..ScanOptions::default()
    };
    for round in 0..3 {
        let t = Instant::now();
        let summary = scan(&client, &store, &opts).await.unwrap();
        println!(
            "scan #{round}: {} tags in {:.1} ms (page size 1000)",
            summary.tag_count,
            t.elapsed().as_secs_f64() * 1e3
        );
    }
}

fn setters() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..2_000 {
        let sub = dir.path().join(format!("apps/app{:03}", i / 20));
        std::fs::create_dir_all(&sub).unwrap();
        let marked = i % 100 == 0;
        let image_line = if marked {
            format!("        image: registry.example.com/team/app{i}:1.0.0 # {{\"$imagepolicy\": \"flux-system:app{i}\"}}\n")
        } else {
            format!("        image: registry.example.com/team/app{i}:1.0.0\n")
        };
        let body = format!(
            "# Deployment {i}\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: app{i}\n  namespace: apps\n  labels:\n    app: app{i}\nspec:\n  replicas: 2\n  selector:\n    matchLabels:\n      app: app{i}\n  template:\n    metadata:\n      labels:\n        app: app{i}\n    spec:\n      containers:\n      - name: app\n{image_line}        ports:\n        - containerPort: 8080\n        resources:\n          limits:\n            memory: 128Mi\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: app{i}\nspec:\n  ports:\n  - port: 80\n    targetPort: 8080\n"
        );
        std::fs::write(sub.join(format!("app{i}.yaml")), body).unwrap();
    }
    let policies: BTreeMap<String, PolicyImage> = (0..2_000)
        .filter(|i| i % 100 == 0)
        .map(|i| {
            (
                format!("flux-system:app{i}"),
                PolicyImage {
                    name: format!("registry.example.com/team/app{i}"),
                    tag: "1.1.0".into(),
                    digest: None,
                },
            )
        })
        .collect();
    let (t, result) = best_of(1, || {
        apply_setters(dir.path(), &policies, &SetterOptions::default()).unwrap()
    });
    println!(
        "setters over 2000 files (20 marked): {:.1} ms, {} files changed",
        t.as_secs_f64() * 1e3,
        result.file_changes.len()
    );
    let (t, result) = best_of(5, || {
        apply_setters(dir.path(), &policies, &SetterOptions::default()).unwrap()
    });
    println!(
        "setters again (nothing to change): {:.1} ms, {} files changed",
        t.as_secs_f64() * 1e3,
        result.file_changes.len()
    );
}
