//! `create alert-provider|alert|receiver` and `get alert-providers|alerts|receivers`.

use std::io::Write;
use std::process::ExitCode;

use flotilla_ops::create;
use flotilla_ops::notify;
use flotilla_ops::table::render;
use flotilla_ops::FluxKind;
use kube::api::{Api, DynamicObject};
use serde_json::Value;

use super::ctx::{block_on, connect, Ctx};
use crate::cli::{
    CreateCommon, CreateNotify, GetArgs, GetNotify, GlobalArgs, OptName, OutputFormat,
};
use crate::ui::{fail, Ui};

/// Builds the object; prints it (`--export`) or applies it. A Receiver is then waited for
/// (unless `--no-wait`) and its webhook path printed.
pub fn create(
    global: &GlobalArgs,
    common: &CreateCommon,
    what: &CreateNotify,
) -> anyhow::Result<ExitCode> {
    let meta = super::create::meta_builder(global, &common.label)?;
    let (kind, object, warning) = match what {
        CreateNotify::AlertProvider(a) => {
            let o = notify::ProviderOptions {
                type_: a.type_.clone(),
                channel: a.channel.clone(),
                username: a.username.clone(),
                address: a.address.clone(),
                secret_ref: a.secret_ref.clone(),
            };
            (
                FluxKind::Provider,
                notify::provider(&meta(&a.name), &o),
                notify::provider_type_warning(&a.type_),
            )
        }
        CreateNotify::Alert(a) => {
            let o = notify::AlertOptions {
                provider_ref: a.provider_ref.clone(),
                event_severity: a.event_severity.clone(),
                event_sources: a.event_source.clone(),
            };
            (FluxKind::Alert, notify::alert(&meta(&a.name), &o), None)
        }
        CreateNotify::Receiver(a) => {
            let o = notify::ReceiverOptions {
                type_: a.type_.clone(),
                events: a.event.clone(),
                resources: a.resource.clone(),
                secret_ref: a.secret_ref.clone(),
            };
            (
                FluxKind::Receiver,
                notify::receiver(&meta(&a.name), &o),
                notify::receiver_type_warning(&a.type_),
            )
        }
    };
    let object = object.map_err(|e| fail(2, e.to_string()))?;
    let ui = Ui::new(global.no_color);
    if let Some(w) = &warning {
        ui.warning(w);
    }
    if common.export {
        let mut out = std::io::stdout().lock();
        out.write_all(create::export_stream(std::slice::from_ref(&object)).as_bytes())?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    // Providers and Alerts (v1beta3) have no status to wait for.
    let no_wait = common.no_wait || !kind.reconciles();
    block_on(async move {
        let code = super::create::apply(global.clone(), Some(kind), object, no_wait).await?;
        if kind == FluxKind::Receiver && !no_wait {
            let ctx = connect(global).await?;
            let ns = ctx.cluster.namespace.clone();
            let api: Api<DynamicObject> =
                Api::namespaced_with(ctx.cluster.client.clone(), &ns, &kind.api_resource());
            let live = api.get(&name).await.map_err(|e| ctx.api_error(e))?;
            let path = live.data["status"]["webhookPath"]
                .as_str()
                .unwrap_or_default()
                .to_string();
            if path.is_empty() {
                return Err(fail(
                    1,
                    format!("Receiver {ns}/{name} is ready but has no status.webhookPath"),
                ));
            }
            ctx.ui.success(&format!("generated webhook URL {path}"));
            // Stdout carries the path alone, for scripts.
            println!("{path}");
        }
        Ok(code)
    })?
}

/// Lists Providers, Alerts or Receivers as `flux get` does.
pub async fn get(ctx: &Ctx, args: &GetArgs, what: &GetNotify) -> anyhow::Result<ExitCode> {
    let (kind, OptName { name }) = match what {
        GetNotify::AlertProviders(n) => (FluxKind::Provider, n),
        GetNotify::Alerts(n) => (FluxKind::Alert, n),
        GetNotify::Receivers(n) => (FluxKind::Receiver, n),
    };
    if args.watch {
        return Err(fail(
            2,
            format!(
                "--watch is not available for {}; use `kubectl get {} -w`",
                kind.plural(),
                kind.plural()
            ),
        ));
    }
    let selector = super::get::status_selector(args)?;
    let items: Vec<Value> = super::get::list(ctx, kind, args.all_namespaces, name.as_deref())
        .await?
        .into_iter()
        .filter(|o| selector.as_ref().is_none_or(|s| s.matches(o)))
        .collect();
    let mut out = std::io::stdout().lock();
    match args.output {
        OutputFormat::Json => {
            let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": items});
            writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
        }
        OutputFormat::Yaml => out.write_all(flotilla_yaml::to_string_multi(&items).as_bytes())?,
        OutputFormat::Table if items.is_empty() => {
            let where_ = if args.all_namespaces {
                "any namespace".to_string()
            } else {
                format!("\"{}\" namespace", ctx.cluster.namespace)
            };
            match name {
                Some(n) => ctx
                    .ui
                    .failure(&format!("{kind} object '{n}' not found in {where_}")),
                None => ctx
                    .ui
                    .failure(&format!("no {kind} objects found in {where_}")),
            }
        }
        OutputFormat::Table => {
            let h = if args.no_header {
                Vec::new()
            } else {
                notify::headers(kind, args.all_namespaces)
            };
            let rows: Vec<Vec<String>> = items
                .iter()
                .map(|o| notify::row(kind, o, args.all_namespaces))
                .collect();
            out.write_all(render(&h, &rows).as_bytes())?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
