//! Indexes the embedded Kubernetes schema at compile time, so a process finds each
//! definition's bytes without scanning the document (see `src/lazy/mod.rs`).

#[path = "src/lazy/scan.rs"]
mod scan;

use std::fmt::Write;

fn main() {
    let path = "data/kubernetes-v1.21.2-schema.json";
    println!("cargo::rerun-if-changed={path}");
    println!("cargo::rerun-if-changed=src/lazy/scan.rs");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let index =
        scan::scan(&text).unwrap_or_else(|e| panic!("{path}: at byte {}: {}", e.at, e.message));
    let mut out = String::from(
        "/// `[name start, name end, value start, value end]` of each definition, sorted by name.\n\
         pub(crate) const DEFINITIONS: &[[usize; 4]] = &[\n",
    );
    for (name, value) in &index.definitions {
        let _ = writeln!(
            out,
            "    [{}, {}, {}, {}],",
            name.start, name.end, value.start, value.end
        );
    }
    out.push_str("];\n/// Byte range of the `resources` list.\npub(crate) const RESOURCES: Option<[usize; 2]> = ");
    let _ = match &index.resources {
        Some(r) => writeln!(out, "Some([{}, {}]);", r.start, r.end),
        None => writeln!(out, "None;"),
    };
    let dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    let file = std::path::Path::new(&dir).join("kubernetes_index.rs");
    std::fs::write(&file, out).unwrap_or_else(|e| panic!("writing {}: {e}", file.display()));
}
