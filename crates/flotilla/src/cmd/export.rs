//! `flotilla export`: live objects as clean YAML, in the `---` stream `flux export` prints.

use std::io::Write;
use std::process::ExitCode;

use flotilla_ops::create::export_stream;
use flotilla_ops::export::clean;
use flotilla_ops::reconcile;
use flotilla_ops::FluxKind;

use super::ctx::{block_on, connect};
use crate::cli::{ExportArgs, ExportImageKind, ExportSourceKind, ExportTarget, GlobalArgs};
use crate::ui::fail;

pub fn run(global: GlobalArgs, args: ExportArgs) -> anyhow::Result<ExitCode> {
    let (kind, name) = match &args.target {
        ExportTarget::Source {
            kind: ExportSourceKind::Git(n),
        } => (FluxKind::GitRepository, n.name.clone()),
        ExportTarget::Kustomization(n) => (FluxKind::Kustomization, n.name.clone()),
        ExportTarget::Image { kind } => match kind {
            ExportImageKind::Repository(n) => (FluxKind::ImageRepository, n.name.clone()),
            ExportImageKind::Policy(n) => (FluxKind::ImagePolicy, n.name.clone()),
            ExportImageKind::Update(n) => (FluxKind::ImageUpdateAutomation, n.name.clone()),
        },
    };
    if name.is_none() && !args.all {
        return Err(fail(
            2,
            "give a NAME, or --all for every object of the kind",
        ));
    }
    if name.is_some() && args.all {
        return Err(fail(2, "give either a NAME or --all, not both"));
    }
    block_on(async move {
        let ctx = connect(&global).await?;
        let objects = match &name {
            Some(n) => vec![
                reconcile::fetch(&ctx.cluster.client, kind, &ctx.cluster.namespace, n)
                    .await
                    .map_err(|e| ctx.reconcile_error(e))?,
            ],
            None => super::get::list(&ctx, kind, args.all_namespaces, None).await?,
        };
        if objects.is_empty() {
            ctx.ui.failure(&format!(
                "no {kind} objects found in \"{}\" namespace",
                ctx.cluster.namespace
            ));
            return Ok(ExitCode::SUCCESS);
        }
        let cleaned: Vec<_> = objects.iter().map(clean).collect();
        let mut out = std::io::stdout().lock();
        out.write_all(export_stream(&cleaned).as_bytes())?;
        out.flush()?;
        Ok(ExitCode::SUCCESS)
    })?
}
