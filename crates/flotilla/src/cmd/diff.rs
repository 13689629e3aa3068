//! `flotilla diff kustomization NAME --path DIR`: what applying the local build would change.

use std::io::Write;
use std::process::ExitCode;

use super::build::local_build;
use super::ctx::{block_on, connect};
use crate::cli::{DiffArgs, DiffWhat, GlobalArgs};
use crate::ui::{fail, EXIT_FAILURE};

pub fn run(global: GlobalArgs, args: DiffArgs) -> anyhow::Result<ExitCode> {
    let DiffWhat::Kustomization(a) = args.what;
    if a.dry_run {
        return Err(fail(
            2,
            "diff compares with the cluster: --dry-run makes no sense here; use `flotilla build kustomization --dry-run`",
        ));
    }
    let (k, objects) = local_build(&global, &a, false)?;
    block_on(async move {
        let ctx = connect(&global).await?;
        let changes = flotilla_ops::diff::diff(&ctx.cluster.client, &k, objects)
            .await
            .map_err(|e| fail(EXIT_FAILURE, e.to_string()))?;
        let mut out = std::io::stdout().lock();
        for c in &changes {
            writeln!(out, "► {} {}", c.subject, c.change.as_str())?;
            out.write_all(c.diff.as_bytes())?;
        }
        out.flush()?;
        if changes.is_empty() {
            ctx.ui.success("no changes");
            Ok(ExitCode::SUCCESS)
        } else {
            Ok(ExitCode::from(1))
        }
    })?
}
