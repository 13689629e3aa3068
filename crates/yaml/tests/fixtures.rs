//! Checked-in cases: each `fixtures/NAME.in.yaml` parsed and printed must equal
//! `fixtures/NAME.kubectl.yaml`, which `fixtures/regenerate.sh` produced with `kubectl kustomize`
//! (kustomize v5.5.0). Runs without kubectl; `kubectl_oracle.rs` covers the live comparison.
#![allow(clippy::unwrap_used)]

use std::path::Path;

#[test]
fn fixtures_match_recorded_kubectl_output() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".in.yaml") else {
            continue;
        };
        let input = std::fs::read_to_string(&path).unwrap();
        let want = std::fs::read_to_string(dir.join(format!("{stem}.kubectl.yaml"))).unwrap();
        let docs = flotilla_yaml::from_str_multi(&input)
            .unwrap_or_else(|e| panic!("{name}: {}", e.with_file(name.clone())));
        let got = flotilla_yaml::to_string_multi(&docs);
        assert_eq!(
            got, want,
            "{stem}: output differs from the recorded kubectl output"
        );
        checked += 1;
    }
    assert!(checked >= 4, "fixtures missing: found {checked}");
}

/// kubectl's own output, read and printed again, must come back byte for byte: the corpus
/// outputs in shared/ hold real-world manifests (CRDs, long strings, block scalars).
#[test]
fn kubectl_outputs_in_the_corpus_round_trip() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpus/_expected-kubectl-kustomize-v5.5.0");
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("corpus expected outputs at {}: {e}", dir.display()));
    let mut checked = 0;
    for entry in entries {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let docs = flotilla_yaml::from_str_multi(&text).unwrap();
        let got = flotilla_yaml::to_string_multi(&docs);
        if got != text {
            let line = got.lines().zip(text.lines()).position(|(a, b)| a != b);
            panic!("{}: differs at line {line:?}", path.display());
        }
        checked += 1;
    }
    assert!(checked >= 20, "corpus outputs missing: found {checked}");
}
