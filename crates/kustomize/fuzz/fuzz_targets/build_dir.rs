//! Fuzz target: arbitrary kustomization and resource files through the whole build; any input must give objects or an error, never a panic or a hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // The input is split into files at NUL bytes: kustomization.yaml, then resources.
    let mut parts = text.split('\0');
    let Ok(dir) = tempfile::tempdir() else { return };
    let kust = parts.next().unwrap_or("");
    if std::fs::write(dir.path().join("kustomization.yaml"), kust).is_err() {
        return;
    }
    for (i, body) in parts.take(4).enumerate() {
        let _ = std::fs::write(dir.path().join(format!("r{i}.yaml")), body);
    }
    let _ = flotilla_kustomize::build(dir.path(), &flotilla_kustomize::BuildOptions::default());
});
