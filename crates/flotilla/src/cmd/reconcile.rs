//! `flotilla reconcile`, `suspend` and `resume`: set the request, wait for the controller to
//! handle it, print the outcome.

use std::process::ExitCode;

use flotilla_ops::reconcile::{self, cli_words, WaitOptions};
use flotilla_ops::FluxKind;

use super::ctx::{block_on, connect, Ctx};
use crate::cli::{GlobalArgs, ImageTarget, SourceTarget, Target};

/// The kind and name a target names, and `--with-source`.
fn target(t: &Target) -> (FluxKind, String, bool) {
    match t {
        Target::Source {
            kind: SourceTarget::Git(n),
        } => (FluxKind::GitRepository, n.name.clone(), false),
        Target::Kustomization(k) => (FluxKind::Kustomization, k.name.clone(), k.with_source),
        Target::Image { kind } => match kind {
            ImageTarget::Repository(n) => (FluxKind::ImageRepository, n.name.clone(), false),
            ImageTarget::Policy(n) => (FluxKind::ImagePolicy, n.name.clone(), false),
            ImageTarget::Update(n) => (FluxKind::ImageUpdateAutomation, n.name.clone(), false),
        },
    }
}

pub fn reconcile(global: GlobalArgs, t: Target) -> anyhow::Result<ExitCode> {
    block_on(async move {
        let ctx = connect(&global).await?;
        let (kind, name, with_source) = target(&t);
        let ns = ctx.cluster.namespace.clone();
        if with_source {
            let ks = reconcile::fetch(&ctx.cluster.client, kind, &ns, &name)
                .await
                .map_err(|e| ctx.reconcile_error(e))?;
            if let Some((skind, sns, sname)) = reconcile::source_of(&ks) {
                one(&ctx, skind, &sns, &sname).await?;
            }
        }
        one(&ctx, kind, &ns, &name).await?;
        Ok(ExitCode::SUCCESS)
    })?
}

/// Requests one reconcile, waits, prints the outcome.
async fn one(ctx: &Ctx, kind: FluxKind, ns: &str, name: &str) -> anyhow::Result<()> {
    let client = &ctx.cluster.client;
    ctx.ui
        .action(&format!("annotating {kind} {name} in {ns} namespace"));
    let token = reconcile::request(client, kind, ns, name)
        .await
        .map_err(|e| ctx.reconcile_error(e))?;
    ctx.ui.success(&format!("{kind} annotated"));
    wait(ctx, kind, ns, name, &token).await
}

async fn wait(ctx: &Ctx, kind: FluxKind, ns: &str, name: &str, token: &str) -> anyhow::Result<()> {
    let opts = WaitOptions {
        timeout: ctx.timeout,
        ..WaitOptions::default()
    };
    let outcome = ctx
        .ui
        .spin(
            &format!("waiting for {kind} reconciliation"),
            reconcile::wait_handled(&ctx.cluster.client, kind, ns, name, token, &opts),
        )
        .await
        .map_err(|e| ctx.reconcile_error(e))?;
    ctx.ui.success(&format!("{kind} reconciliation completed"));
    let what = match kind {
        FluxKind::GitRepository => "fetched revision",
        FluxKind::Kustomization => "applied revision",
        FluxKind::ImageRepository => "scan fetched",
        FluxKind::ImagePolicy => "latest image",
        FluxKind::ImageUpdateAutomation => "last pushed commit",
        _ => "revision",
    };
    match outcome.revision {
        Some(r) => ctx.ui.success(&format!("{what} {r}")),
        None => ctx.ui.success(&outcome.message),
    }
    Ok(())
}

pub fn suspend(global: GlobalArgs, t: Target) -> anyhow::Result<ExitCode> {
    block_on(async move {
        let ctx = connect(&global).await?;
        let (kind, name, _) = target(&t);
        let ns = ctx.cluster.namespace.clone();
        ctx.ui.action(&format!(
            "suspending {} {name} in {ns} namespace",
            cli_words(kind)
        ));
        reconcile::set_suspend(&ctx.cluster.client, kind, &ns, &name, true)
            .await
            .map_err(|e| ctx.reconcile_error(e))?;
        ctx.ui.success(&format!("{kind} suspended"));
        Ok(ExitCode::SUCCESS)
    })?
}

pub fn resume(global: GlobalArgs, t: Target, no_wait: bool) -> anyhow::Result<ExitCode> {
    block_on(async move {
        let ctx = connect(&global).await?;
        let (kind, name, _) = target(&t);
        let ns = ctx.cluster.namespace.clone();
        ctx.ui.action(&format!(
            "resuming {} {name} in {ns} namespace",
            cli_words(kind)
        ));
        let token = reconcile::set_suspend(&ctx.cluster.client, kind, &ns, &name, false)
            .await
            .map_err(|e| ctx.reconcile_error(e))?;
        ctx.ui.success(&format!("{kind} resumed"));
        if let (Some(token), false) = (token, no_wait) {
            wait(&ctx, kind, &ns, &name, &token).await?;
        }
        Ok(ExitCode::SUCCESS)
    })?
}
