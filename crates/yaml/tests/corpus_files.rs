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
    let mut compared = 0;
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        // Only resource files: kustomize rejects Helm values and workflow files anyway.
        if !text.contains("kind:") || !text.contains("metadata:") || text.contains("kind: List") {
            continue;
        }
        let Ok(printed) = common::kubectl_build(&[("r.yaml", &text)]) else {
            continue;
        };
        let want = flotilla_yaml::from_str_multi(&printed).unwrap();
        let got = flotilla_yaml::from_str_multi(&text).unwrap_or_else(|e| {
            panic!("{}: kubectl reads it, flotilla fails: {e}", file.display())
        });
        assert_eq!(sorted_json(&got), sorted_json(&want), "{}", file.display());
        compared += 1;
    }
    assert!(compared >= 100, "only {compared} corpus files compared");
}
