//! Every resource file of the shared corpus read as kubectl reads it: each file is built alone
//! with `kubectl kustomize` and the documents it prints must equal, as JSON values, the
//! documents flotilla-yaml reads from the file (kustomize reorders documents, so they are
//! compared as sorted lists). Files kustomize rejects for non-YAML reasons are skipped.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if !name.starts_with('_') && !name.starts_with('.') {
                yaml_files(&path, out);
            }
        } else if (name.ends_with(".yaml") || name.ends_with(".yml"))
            && !name.starts_with("kustomization")
        {
            out.push(path);
        }
    }
}

fn sorted_json(docs: &[serde_json::Value]) -> Vec<String> {
    let mut v: Vec<String> = docs.iter().map(|d| d.to_string()).collect();
    v.sort();
    v
}

#[test]
fn corpus_resource_files_read_as_kubectl_reads_them() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    let mut files = Vec::new();
    yaml_files(&root, &mut files);
    files.sort();
    let files: Vec<(PathBuf, String)> = files
        .into_iter()
        .map(|f| {
            let text = std::fs::read_to_string(&f).unwrap();
            (f, text)
        })
        // Only resource files: kustomize rejects Helm values and workflow files anyway.
        .filter(|(_, t)| {
            t.contains("kind:") && t.contains("metadata:") && !t.contains("kind: List")
        })
        .collect();
    // kubectl takes most of the time: run a few at once.
    let compared = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for chunk in files.chunks(files.len().div_ceil(3).max(1)) {
            let compared = &compared;
            scope.spawn(move || {
                for (file, text) in chunk {
                    let Ok(printed) = common::kubectl_build(&[("r.yaml", text)]) else {
                        continue;
                    };
                    let want = flotilla_yaml::from_str_multi(&printed).unwrap();
                    let got = flotilla_yaml::from_str_multi(text).unwrap_or_else(|e| {
                        panic!("{}: kubectl reads it, flotilla fails: {e}", file.display())
                    });
                    assert_eq!(sorted_json(&got), sorted_json(&want), "{}", file.display());
                    compared.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
    });
    let compared = compared.into_inner();
    assert!(compared >= 100, "only {compared} corpus files compared");
}
