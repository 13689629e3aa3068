//! Lossless edits checked on real before/after files: Flux image-automation's own test data
//! and the fluxcdbot commits of the reference scenario's repository (both in shared/corpus).
//! For each pair, the scalars whose values differ are replaced in the "before" text, which
//! must then equal the "after" text byte for byte.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use flotilla_yaml::edit::{apply, scalars, Edit};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
}

/// Replaces, in `before`, every scalar whose value differs in `after` (same document and path).
fn replay(before: &str, after: &str) -> String {
    let old = scalars(before).unwrap();
    let new = scalars(after).unwrap();
    assert_eq!(
        old.len(),
        new.len(),
        "the two files must have the same shape"
    );
    let edits: Vec<Edit> = old
        .iter()
        .zip(&new)
        .filter(|(o, n)| o.value != n.value)
        .map(|(o, n)| {
            assert_eq!((o.document, &o.path), (n.document, &n.path));
            Edit {
                site: o.clone(),
                value: n.value.clone(),
            }
        })
        .collect();
    assert!(!edits.is_empty(), "no value changed");
    apply(before, &edits).unwrap()
}

#[test]
fn flux_setter_fixtures_are_reproduced_byte_for_byte() {
    let base = corpus().join("image-automation-controller-testdata/internal");
    let pairs = [
        (
            "update/testdata/setters/original/marked.yaml",
            "update/testdata/setters/expected/marked.yaml",
        ),
        (
            "update/testdata/setters/original/kustomization.yml",
            "update/testdata/setters/expected/kustomization.yml",
        ),
        (
            "update/testdata/setters/original/Kustomization",
            "update/testdata/setters/expected/Kustomization",
        ),
        (
            "update/testdata/replace/original/cronjob.yaml",
            "update/testdata/replace/expected/cronjob.yaml",
        ),
        (
            "update/testdata/replace/original/deployment.yaml",
            "update/testdata/replace/expected/deployment.yaml",
        ),
        (
            "policy/testdata/pathconfig/yes/deploy.yaml",
            "policy/testdata/pathconfig-expected/yes/deploy.yaml",
        ),
        (
            "policy/testdata/appconfig/deploy.yaml",
            "policy/testdata/appconfig-setters-expected/deploy.yaml",
        ),
    ];
    for (before, after) in pairs {
        let b = std::fs::read_to_string(base.join(before)).unwrap();
        let a = std::fs::read_to_string(base.join(after)).unwrap();
        assert_eq!(replay(&b, &a), a, "{before}");
    }
}

#[test]
fn fluxcdbot_commits_are_reproduced_byte_for_byte() {
    let dir = corpus().join("zxkane-microservices-demo-gitops/_history");
    // The bot's consecutive tag bumps (the first bot commit also re-indented the file).
    let order = ["16a8338", "adc652e", "9b498c3"];
    for w in order.windows(2) {
        let read = |c: &str| {
            std::fs::read_to_string(dir.join(format!("overlay-kustomization.{c}.yaml"))).unwrap()
        };
        let (b, a) = (read(w[0]), read(w[1]));
        let out = replay(&b, &a);
        assert_eq!(out, a, "{} -> {}", w[0], w[1]);
        let marked: Vec<_> = scalars(&b)
            .unwrap()
            .into_iter()
            .filter(|s| {
                s.line_comment
                    .as_deref()
                    .is_some_and(|c| c.contains("$imagepolicy"))
            })
            .collect();
        assert_eq!(marked.len(), 2, "newName and newTag carry markers");
    }
}
