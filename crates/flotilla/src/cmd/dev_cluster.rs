//! `flotilla dev cluster`.

use std::process::ExitCode;

use crate::cli::DevClusterArgs;

pub fn run(_args: DevClusterArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not available yet")
}
