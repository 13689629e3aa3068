//! Rough timings of the schema crate: embedded schema parse, TypeRef navigation, check().
//! Run with `cargo run --release -p flotilla-schema --example schema_bench`.

use std::hint::black_box;
use std::time::Instant;

use flotilla_schema::{check, CheckOptions, Schema};
use serde_json::json;

fn main() {
    let start = Instant::now();
    let k = Schema::kubernetes();
    println!(
        "Schema::kubernetes() first call (parse): {:?}",
        start.elapsed()
    );

    let start = Instant::now();
    let n = 1_000_000;
    for _ in 0..n {
        let d = k.for_kind(black_box("apps/v1"), black_box("Deployment"));
        let c = d
            .and_then(|d| d.field("spec"))
            .and_then(|t| t.field("template"))
            .and_then(|t| t.field("spec"))
            .and_then(|t| t.field("containers"));
        black_box(c.map(|c| (c.patch_merge_key(), c.list_type())));
    }
    println!(
        "for_kind + 4 field lookups + merge key + list type: {:?} per walk",
        start.elapsed() / n
    );

    let root = k.for_kind("apps/v1", "Deployment").expect("built in");
    let start = Instant::now();
    for _ in 0..n {
        let c = black_box(root)
            .field(black_box("spec"))
            .and_then(|t| t.field("template"))
            .and_then(|t| t.field("spec"))
            .and_then(|t| t.field("containers"));
        black_box(c.map(|c| (c.patch_merge_key(), c.list_type())));
    }
    println!(
        "4 field lookups + merge key + list type: {:?} per walk",
        start.elapsed() / n
    );

    let start = Instant::now();
    for _ in 0..n {
        black_box(k.for_kind(black_box("apps/v1"), black_box("Deployment")));
    }
    println!("for_kind: {:?} per lookup", start.elapsed() / n);

    let deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.25",
                    "ports": [{"containerPort": 80, "protocol": "TCP"}],
                    "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                    "resources": {"limits": {"cpu": "1", "memory": "128Mi"}}}]}}}
    });
    let root = k.for_kind("apps/v1", "Deployment").expect("built in");
    let options = CheckOptions::default();
    let n = 100_000;
    let start = Instant::now();
    for _ in 0..n {
        let mut obj = deployment.clone();
        black_box(check(root, &mut obj, &options));
    }
    println!(
        "check(Deployment) incl. clone: {:?} per object",
        start.elapsed() / n
    );
}
