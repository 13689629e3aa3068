//! `flotilla kustomize`.

use std::process::ExitCode;

use crate::cli::KustomizeArgs;

pub fn run(_args: KustomizeArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not available yet")
}
