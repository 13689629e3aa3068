//! Runs the built `flotilla` binary from integration tests in a clean environment: no colour,
//! no user HOME or inherited Git password, the kubeconfig given explicitly.
// Each test binary uses only part of this module.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

/// `flotilla ARGS` against the cluster of `kubeconfig`.
pub fn flotilla(kubeconfig: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flotilla"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("HOME", "/nonexistent-home")
        .env_remove("GIT_PASSWORD")
        .env("KUBECONFIG", kubeconfig)
        .output()
        .unwrap()
}

/// Standard output of a run that must have succeeded (else both streams in the panic).
pub fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "flotilla failed: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}
