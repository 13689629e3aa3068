//! `flotilla tree kustomization NAME`: the inventory as a tree.

use std::io::Write;
use std::process::ExitCode;

use super::ctx::{block_on, connect};
use crate::cli::{GlobalArgs, TreeArgs, TreeWhat};

pub fn run(global: GlobalArgs, args: TreeArgs) -> anyhow::Result<ExitCode> {
    let TreeWhat::Kustomization(n) = args.what;
    block_on(async move {
        let ctx = connect(&global).await?;
        let tree = flotilla_ops::tree::build(&ctx.cluster.client, &ctx.cluster.namespace, &n.name)
            .await
            .map_err(|e| ctx.reconcile_error(e))?;
        let mut out = std::io::stdout().lock();
        out.write_all(flotilla_ops::tree::render(&tree).as_bytes())?;
        out.flush()?;
        Ok(ExitCode::SUCCESS)
    })?
}
