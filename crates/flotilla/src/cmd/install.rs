//! `flotilla install`, `check` and `uninstall`.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use flotilla_ops::install::{self, InstallOptions};
use flotilla_ops::FluxKind;
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams};
use kube::discovery::ApiResource;
use serde_json::{json, Value};

use super::ctx::{block_on, connect, Ctx};
use crate::cli::{CheckArgs, GlobalArgs, InstallArgs, UninstallArgs};
use crate::ui::{fail, EXIT_FAILURE, EXIT_TIMEOUT};

/// The oldest Kubernetes minor version checked for (as Flux v2.4 requires).
const MIN_MINOR: u32 = 30;

/// Resource and scope of the kinds `install` writes.
fn resource(obj: &Value) -> anyhow::Result<(ApiResource, bool)> {
    let api_version = obj["apiVersion"].as_str().unwrap_or("");
    let kind = obj["kind"].as_str().unwrap_or("");
    let (plural, namespaced) = match kind {
        "CustomResourceDefinition" => ("customresourcedefinitions", false),
        "Namespace" => ("namespaces", false),
        "ServiceAccount" => ("serviceaccounts", true),
        "ClusterRole" => ("clusterroles", false),
        "ClusterRoleBinding" => ("clusterrolebindings", false),
        "Service" => ("services", true),
        "Deployment" => ("deployments", true),
        other => {
            return Err(fail(
                EXIT_FAILURE,
                format!("install has no resource for kind {other}"),
            ))
        }
    };
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    Ok((
        ApiResource {
            group: group.to_string(),
            version: version.to_string(),
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            plural: plural.to_string(),
        },
        namespaced,
    ))
}

fn api_for(ctx: &Ctx, obj: &Value) -> anyhow::Result<Api<DynamicObject>> {
    let (ar, namespaced) = resource(obj)?;
    Ok(if namespaced {
        let ns = obj["metadata"]["namespace"].as_str().unwrap_or("default");
        Api::namespaced_with(ctx.cluster.client.clone(), ns, &ar)
    } else {
        Api::all_with(ctx.cluster.client.clone(), &ar)
    })
}

fn options(global: &GlobalArgs, args: &InstallArgs) -> InstallOptions {
    let mut o = InstallOptions {
        log_level: args.log_level.clone(),
        ..InstallOptions::default()
    };
    if let Some(ns) = &global.namespace {
        o.namespace = ns.clone();
    }
    if let Some(image) = &args.image {
        o.image = image.clone();
    }
    o
}

pub fn install(global: GlobalArgs, args: InstallArgs) -> anyhow::Result<ExitCode> {
    let opts = options(&global, &args);
    let manifests = install::manifests(&opts).map_err(|e| fail(EXIT_FAILURE, e.to_string()))?;
    if args.export {
        let mut out = std::io::stdout().lock();
        out.write_all(flotilla_ops::create::export_stream(&manifests).as_bytes())?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    block_on(async move {
        let ctx = connect(&global).await?;
        ctx.ui.action(&format!(
            "installing the CRDs and the controller in {} namespace",
            opts.namespace
        ));
        let params = PatchParams::apply(super::create::FIELD_MANAGER).force();
        for obj in &manifests {
            let name = obj["metadata"]["name"].as_str().unwrap_or("");
            api_for(&ctx, obj)?
                .patch(name, &params, &Patch::Apply(obj))
                .await
                .map_err(|e| ctx.api_error(e))?;
            ctx.ui.success(&format!(
                "{}/{name} applied",
                obj["kind"].as_str().unwrap_or("")
            ));
        }
        let crds: Vec<&Value> = manifests
            .iter()
            .filter(|o| o["kind"] == "CustomResourceDefinition")
            .collect();
        let deadline = Instant::now() + ctx.timeout;
        ctx.ui
            .spin("waiting for the CRDs to be established", async {
                for crd in &crds {
                    wait_established(&ctx, crd, deadline).await?;
                }
                Ok::<(), anyhow::Error>(())
            })
            .await?;
        ctx.ui.success("CRDs established");
        if args.no_wait {
            return Ok(ExitCode::SUCCESS);
        }
        let ready = ctx
            .ui
            .spin(
                "waiting for the controller to become ready",
                deployment_ready(&ctx, &opts.namespace, Some(deadline)),
            )
            .await?;
        match ready {
            Ok(()) => {
                ctx.ui.success("install finished");
                Ok(ExitCode::SUCCESS)
            }
            Err(why) => Err(fail(
                EXIT_TIMEOUT,
                format!("the controller did not become ready within {:?}: {why}; see `kubectl -n {} describe deployment {}`",
                    ctx.timeout, opts.namespace, install::NAME),
            )),
        }
    })?
}

async fn wait_established(ctx: &Ctx, crd: &Value, deadline: Instant) -> anyhow::Result<()> {
    let api = api_for(ctx, crd)?;
    let name = crd["metadata"]["name"].as_str().unwrap_or("");
    loop {
        let live = api.get(name).await.map_err(|e| ctx.api_error(e))?;
        let v = serde_json::to_value(&live).unwrap_or(Value::Null);
        let established = v["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Established" && c["status"] == "True")
        });
        if established {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(fail(
                EXIT_TIMEOUT,
                format!("CRD {name} not established in time"),
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `Ok(Ok(()))` when the controller Deployment is available; `Ok(Err(why))` when not (by the
/// deadline, if one is given).
async fn deployment_ready(
    ctx: &Ctx,
    namespace: &str,
    deadline: Option<Instant>,
) -> anyhow::Result<Result<(), String>> {
    let ar = resource(&json!({"apiVersion": "apps/v1", "kind": "Deployment"}))?.0;
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.cluster.client.clone(), namespace, &ar);
    loop {
        let why = match api
            .get_opt(install::NAME)
            .await
            .map_err(|e| ctx.api_error(e))?
        {
            None => format!("deployment {} not found in {namespace}", install::NAME),
            Some(d) => {
                let v = serde_json::to_value(&d).unwrap_or(Value::Null);
                let wanted = v["spec"]["replicas"].as_i64().unwrap_or(1);
                let ready = v["status"]["readyReplicas"].as_i64().unwrap_or(0);
                if ready >= wanted {
                    return Ok(Ok(()));
                }
                format!("{ready}/{wanted} replicas ready")
            }
        };
        match deadline {
            Some(d) if Instant::now() < d => tokio::time::sleep(Duration::from_millis(250)).await,
            _ => return Ok(Err(why)),
        }
    }
}

/// How the embedded dev cluster's version ends (`v1.32.0+flotilla`).
const DEV_CLUSTER_SUFFIX: &str = "+flotilla";

pub fn check(global: GlobalArgs, args: CheckArgs) -> anyhow::Result<ExitCode> {
    block_on(async move {
        let ctx = connect(&global).await?;
        ctx.ui.action("checking prerequisites");
        let info = ctx
            .cluster
            .client
            .apiserver_version()
            .await
            .map_err(|e| ctx.api_error(e))?;
        let minor: u32 = info.minor.trim_end_matches('+').parse().unwrap_or(0);
        if info.major != "1" || minor < MIN_MINOR {
            ctx.ui.failure(&format!(
                "Kubernetes {} is older than the 1.{MIN_MINOR} Flotilla supports",
                info.git_version
            ));
            return Err(fail(
                EXIT_FAILURE,
                "prerequisites not met: upgrade the cluster",
            ));
        }
        ctx.ui.success(&format!(
            "Kubernetes {} >=1.{MIN_MINOR}.0-0 at {}",
            info.git_version, ctx.cluster.server
        ));
        if args.pre {
            ctx.ui.success("prerequisites checks passed");
            return Ok(ExitCode::SUCCESS);
        }
        let mut ok = true;
        ctx.ui.action("checking CRDs");
        let crd_ar = resource(
            &json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition"}),
        )?
        .0;
        let crds: Api<DynamicObject> = Api::all_with(ctx.cluster.client.clone(), &crd_ar);
        for kind in FluxKind::ALL {
            let name = format!("{}.{}", kind.plural(), kind.group());
            match crds.get_opt(&name).await.map_err(|e| ctx.api_error(e))? {
                Some(c) => {
                    let v = serde_json::to_value(&c).unwrap_or(Value::Null);
                    let served = v["spec"]["versions"].as_array().is_some_and(|vs| {
                        vs.iter()
                            .any(|x| x["name"] == kind.version() && x["served"] == true)
                    });
                    if served {
                        ctx.ui.success(&format!("{name}/{}", kind.version()));
                    } else {
                        ok = false;
                        ctx.ui.failure(&format!(
                            "{name} does not serve {}; run `flotilla install` to upgrade",
                            kind.version()
                        ));
                    }
                }
                None => {
                    ok = false;
                    ctx.ui
                        .failure(&format!("{name} not installed; run `flotilla install`"));
                }
            }
        }
        ctx.ui.action("checking the controller");
        let ns = ctx.cluster.namespace.clone();
        let deployments: Api<DynamicObject> = Api::namespaced_with(
            ctx.cluster.client.clone(),
            &ns,
            &resource(&json!({"apiVersion": "apps/v1", "kind": "Deployment"}))?.0,
        );
        let installed = deployments
            .get_opt(install::NAME)
            .await
            .map_err(|e| ctx.api_error(e))?
            .is_some();
        match deployment_ready(&ctx, &ns, None).await? {
            Ok(()) => ctx.ui.success(&format!("{} ready", install::NAME)),
            // The embedded dev cluster without an install: `flotilla dev` runs the controllers
            // in its own process, so the missing Deployment is no failure there.
            Err(_) if !installed && info.git_version.ends_with(DEV_CLUSTER_SUFFIX) => {
                ctx.ui.warning(&format!(
                    "no {} Deployment in {ns}: on Flotilla's dev cluster `flotilla dev` runs the \
                     controllers in process (`flotilla dev cluster` runs none)",
                    install::NAME
                ))
            }
            Err(why) => {
                ok = false;
                ctx.ui.failure(&format!(
                    "{why} (run `flotilla install`; with `flotilla dev` controllers run in process instead)"
                ));
            }
        }
        if ok {
            ctx.ui.success("all checks passed");
            Ok(ExitCode::SUCCESS)
        } else {
            Err(fail(EXIT_FAILURE, "some checks failed (see above)"))
        }
    })?
}

pub fn uninstall(global: GlobalArgs, args: UninstallArgs) -> anyhow::Result<ExitCode> {
    let opts = InstallOptions {
        namespace: global
            .namespace
            .clone()
            .unwrap_or_else(|| flotilla_ops::DEFAULT_NAMESPACE.to_string()),
        ..InstallOptions::default()
    };
    let manifests = install::manifests(&opts).map_err(|e| fail(EXIT_FAILURE, e.to_string()))?;
    let doomed: Vec<&Value> = manifests
        .iter()
        .rev()
        .filter(|o| match o["kind"].as_str().unwrap_or("") {
            "CustomResourceDefinition" => args.crds,
            "Namespace" => args.namespace_too,
            _ => true,
        })
        .collect();
    if !args.silent && !args.dry_run {
        let what = match (args.crds, args.namespace_too) {
            (false, false) => "the Flotilla controller (CRDs, Flux objects and workloads are kept)",
            (true, false) => "the Flotilla controller and CRDs, with every Flux object (workloads are kept)",
            (_, true) => "the Flotilla controller, CRDs and namespace, with every Flux object (workloads elsewhere are kept)",
        };
        eprint!("Are you sure you want to delete {what}? [y/N] ");
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            return Err(fail(EXIT_FAILURE, "uninstall cancelled"));
        }
    }
    block_on(async move {
        let ctx = connect(&global).await?;
        if args.crds && !args.dry_run {
            // Flux objects keep finalizers only their controller removes: with it gone,
            // deleting the CRDs would hang, so the finalizers go first.
            for kind in FluxKind::ALL {
                let api: Api<DynamicObject> =
                    Api::all_with(ctx.cluster.client.clone(), &kind.api_resource());
                let Ok(list) = api.list(&ListParams::default()).await else {
                    continue;
                };
                for o in list.items {
                    if o.metadata
                        .finalizers
                        .as_ref()
                        .is_some_and(|f| !f.is_empty())
                    {
                        let ns = o.metadata.namespace.clone().unwrap_or_default();
                        let name = o.metadata.name.clone().unwrap_or_default();
                        let nsapi: Api<DynamicObject> = Api::namespaced_with(
                            ctx.cluster.client.clone(),
                            &ns,
                            &kind.api_resource(),
                        );
                        nsapi
                            .patch(
                                &name,
                                &PatchParams::default(),
                                &Patch::Merge(json!({"metadata": {"finalizers": null}})),
                            )
                            .await
                            .map_err(|e| ctx.api_error(e))?;
                    }
                }
            }
        }
        for obj in doomed {
            let name = obj["metadata"]["name"].as_str().unwrap_or("");
            let kind = obj["kind"].as_str().unwrap_or("");
            if args.dry_run {
                ctx.ui.action(&format!("would delete {kind}/{name}"));
                continue;
            }
            match api_for(&ctx, obj)?
                .delete(name, &DeleteParams::background())
                .await
            {
                Ok(_) => ctx.ui.success(&format!("{kind}/{name} deleted")),
                Err(kube::Error::Api(s)) if s.code == 404 => {}
                Err(e) => return Err(ctx.api_error(e)),
            }
        }
        ctx.ui.success(if args.dry_run {
            "uninstall dry-run finished"
        } else {
            "uninstall finished"
        });
        Ok(ExitCode::SUCCESS)
    })?
}
