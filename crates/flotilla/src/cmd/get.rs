//! `flotilla get`: tables of toolkit objects as `flux get` prints them, JSON/YAML, --watch.

use std::io::Write;
use std::process::ExitCode;

use flotilla_ops::get::{headers, row, StatusSelector};
use flotilla_ops::table::render;
use flotilla_ops::FluxKind;
use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, DynamicObject, ListParams, WatchEvent, WatchParams};
use serde_json::Value;

use super::ctx::{block_on, connect, Ctx};
use crate::cli::{GetArgs, GetWhat, GlobalArgs, ImagesKind, OutputFormat, SourceKind};
use crate::ui::fail;

pub fn run(global: GlobalArgs, args: GetArgs) -> anyhow::Result<ExitCode> {
    block_on(async move {
        let ctx = connect(&global).await?;
        let (kinds, name, all) = match &args.what {
            GetWhat::Sources {
                kind: SourceKind::Git(n),
            } => (vec![FluxKind::GitRepository], n.name.clone(), false),
            GetWhat::Kustomizations(n) => (vec![FluxKind::Kustomization], n.name.clone(), false),
            GetWhat::Images { kind } => match kind {
                ImagesKind::Repository(n) => {
                    (vec![FluxKind::ImageRepository], n.name.clone(), false)
                }
                ImagesKind::Policy(n) => (vec![FluxKind::ImagePolicy], n.name.clone(), false),
                ImagesKind::Update(n) => {
                    (vec![FluxKind::ImageUpdateAutomation], n.name.clone(), false)
                }
                ImagesKind::All => (
                    vec![
                        FluxKind::ImageRepository,
                        FluxKind::ImagePolicy,
                        FluxKind::ImageUpdateAutomation,
                    ],
                    None,
                    true,
                ),
            },
            GetWhat::All => (FluxKind::WITH_STATUS.to_vec(), None, true),
            GetWhat::Notify(n) => return super::notify::get(&ctx, &args, n).await,
        };
        let selector = status_selector(&args)?;
        if args.watch && all {
            return Err(fail(
                2,
                "--watch needs a single kind, e.g. `flotilla get ks --watch`",
            ));
        }
        let mut out = std::io::stdout().lock();
        let mut listed: Vec<Value> = Vec::new();
        for &kind in &kinds {
            let items = list(&ctx, kind, args.all_namespaces, name.as_deref()).await?;
            let items: Vec<Value> = items
                .into_iter()
                .filter(|o| selector.as_ref().is_none_or(|s| s.matches(o)))
                .collect();
            if args.output != OutputFormat::Table {
                listed.extend(items.into_iter().map(without_managed_fields));
                continue;
            }
            if items.is_empty() {
                if !all {
                    let where_ = if args.all_namespaces {
                        "any namespace".to_string()
                    } else {
                        format!("\"{}\" namespace", ctx.cluster.namespace)
                    };
                    match &name {
                        Some(n) => ctx
                            .ui
                            .failure(&format!("{kind} object '{n}' not found in {where_}")),
                        None => ctx
                            .ui
                            .failure(&format!("no {kind} objects found in {where_}")),
                    }
                }
                continue;
            }
            let h = if args.no_header {
                Vec::new()
            } else {
                headers(kind, args.all_namespaces)
            };
            let rows: Vec<Vec<String>> = items
                .iter()
                .map(|o| row(kind, o, args.all_namespaces, all))
                .collect();
            out.write_all(render(&h, &rows).as_bytes())?;
            if all {
                out.write_all(b"\n")?;
            }
        }
        match args.output {
            OutputFormat::Table => {}
            OutputFormat::Json => {
                let list = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": listed});
                writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
            }
            OutputFormat::Yaml => {
                out.write_all(flotilla_yaml::to_string_multi(&listed).as_bytes())?;
            }
        }
        out.flush()?;
        drop(out);
        if args.watch {
            watch(&ctx, kinds[0], &args, name.as_deref(), selector.as_ref()).await?;
        }
        Ok(ExitCode::SUCCESS)
    })?
}

fn api(ctx: &Ctx, kind: FluxKind, all_namespaces: bool) -> Api<DynamicObject> {
    let ar = kind.api_resource();
    if all_namespaces {
        Api::all_with(ctx.cluster.client.clone(), &ar)
    } else {
        Api::namespaced_with(ctx.cluster.client.clone(), &ctx.cluster.namespace, &ar)
    }
}

/// The objects of a kind, sorted by namespace and name.
pub async fn list(
    ctx: &Ctx,
    kind: FluxKind,
    all_namespaces: bool,
    name: Option<&str>,
) -> anyhow::Result<Vec<Value>> {
    let mut lp = ListParams::default();
    if let Some(n) = name {
        lp = lp.fields(&format!("metadata.name={n}"));
    }
    let list = api(ctx, kind, all_namespaces)
        .list(&lp)
        .await
        .map_err(|e| not_installed(ctx, kind, e))?;
    let mut items: Vec<Value> = list
        .items
        .into_iter()
        .map(|o| serde_json::to_value(o).unwrap_or(Value::Null))
        .collect();
    items.sort_by(|a, b| {
        let key = |o: &Value| {
            (
                o["metadata"]["namespace"]
                    .as_str()
                    .unwrap_or("")
                    .to_string(),
                o["metadata"]["name"].as_str().unwrap_or("").to_string(),
            )
        };
        key(a).cmp(&key(b))
    });
    Ok(items)
}

/// A 404 on a list means the CRD is missing: say so.
pub fn not_installed(ctx: &Ctx, kind: FluxKind, e: kube::Error) -> anyhow::Error {
    if let kube::Error::Api(s) = &e {
        if s.code == 404 {
            return fail(
                1,
                format!(
                    "the cluster does not serve {} ({}): the CRDs are not installed; run `flotilla install`",
                    kind.plural(),
                    kind.api_version()
                ),
            );
        }
    }
    ctx.api_error(e)
}

async fn watch(
    ctx: &Ctx,
    kind: FluxKind,
    args: &GetArgs,
    name: Option<&str>,
    selector: Option<&StatusSelector>,
) -> anyhow::Result<()> {
    let api = api(ctx, kind, args.all_namespaces);
    let mut wp = WatchParams::default();
    if let Some(n) = name {
        wp = wp.fields(&format!("metadata.name={n}"));
    }
    let mut version = api
        .list_metadata(&ListParams::default().limit(1))
        .await
        .map_err(|e| ctx.api_error(e))?
        .metadata
        .resource_version
        .unwrap_or_else(|| "0".to_string());
    loop {
        let mut stream = api
            .watch(&wp, &version)
            .await
            .map_err(|e| ctx.api_error(e))?
            .boxed();
        loop {
            let event = tokio::select! {
                e = stream.try_next() => e.map_err(|e| ctx.api_error(e))?,
                _ = tokio::signal::ctrl_c() => return Ok(()),
            };
            let Some(event) = event else { break };
            let obj = match event {
                WatchEvent::Added(o) | WatchEvent::Modified(o) => o,
                WatchEvent::Bookmark(b) => {
                    version = b.metadata.resource_version;
                    continue;
                }
                WatchEvent::Deleted(o) => {
                    version = o.metadata.resource_version.clone().unwrap_or(version);
                    continue;
                }
                WatchEvent::Error(e) if e.code == 410 => {
                    version = "0".to_string();
                    break;
                }
                WatchEvent::Error(e) => {
                    return Err(fail(1, format!("watch failed: {}", e.message)))
                }
            };
            version = obj.metadata.resource_version.clone().unwrap_or(version);
            let value = serde_json::to_value(&obj).unwrap_or(Value::Null);
            if selector.is_some_and(|s| !s.matches(&value)) {
                continue;
            }
            let value = without_managed_fields(value);
            let text = match args.output {
                OutputFormat::Table => {
                    render(&[], &[row(kind, &value, args.all_namespaces, false)])
                }
                OutputFormat::Json => format!("{}\n", serde_json::to_string_pretty(&value)?),
                OutputFormat::Yaml => format!("---\n{}", flotilla_yaml::to_string(&value)),
            };
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
}

/// `-o json|yaml` leave out `metadata.managedFields`, as kubectl does unless asked: they are
/// apply bookkeeping, longer than the object.
fn without_managed_fields(mut o: Value) -> Value {
    if let Some(meta) = o.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("managedFields");
    }
    o
}

/// `--status-selector`, parsed (a usage error, exit 2, when malformed).
pub(crate) fn status_selector(args: &GetArgs) -> anyhow::Result<Option<StatusSelector>> {
    args.status_selector
        .as_deref()
        .map(StatusSelector::parse)
        .transpose()
        .map_err(|e| fail(2, e.to_string()))
}
