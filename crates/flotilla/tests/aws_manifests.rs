//! The manifests the AWS CDK app installs (`deploy/aws/manifests/flotilla.yaml`) are exactly what
//! this binary's `install --export` prints, so the committed copy cannot go stale.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

#[test]
fn committed_manifests_match_install_export() {
    let out = Command::new(env!("CARGO_BIN_EXE_flotilla"))
        .args(["install", "--export"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "flotilla install --export failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exported = String::from_utf8(out.stdout).unwrap();
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/aws/manifests/flotilla.yaml");
    let committed = std::fs::read_to_string(&file).unwrap();
    assert!(
        committed == exported,
        "{} differs from `flotilla install --export`; run deploy/aws/scripts/regenerate-manifests.sh and commit the result",
        file.display()
    );
    // The CDK app annotates this ServiceAccount for IRSA and finds the CRDs by kind.
    assert!(exported.contains("kind: ServiceAccount\nmetadata:"));
    assert!(exported.contains("name: flotilla-controller\n  namespace: flux-system"));
    assert!(exported.contains("kind: CustomResourceDefinition"));
}
