//! `flotilla create`: build an object from flags; print it (`--export`) or apply it server-side
//! and wait until the controller reports it ready.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use flotilla_ops::create::{self, Meta};
use flotilla_ops::reconcile::{self, WaitOptions};
use flotilla_ops::FluxKind;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::ApiResource;
use serde_json::Value;

use super::ctx::{block_on, connect, parse_duration};
use crate::cli::{CreateArgs, CreateImage, CreateSecret, CreateSource, CreateWhat, GlobalArgs};
use crate::ui::{fail, Ui};

/// Field manager for objects the CLI applies.
pub const FIELD_MANAGER: &str = "flotilla";

fn opt_duration(flag: &str, v: &Option<String>) -> anyhow::Result<Option<std::time::Duration>> {
    v.as_deref().map(|t| parse_duration(flag, t)).transpose()
}

fn read(flag: &str, path: &Option<std::path::PathBuf>) -> anyhow::Result<Option<String>> {
    path.as_deref()
        .map(|p: &Path| {
            std::fs::read_to_string(p)
                .map_err(|e| fail(2, format!("cannot read {flag} {}: {e}", p.display())))
        })
        .transpose()
}

/// Names objects in the `-n` namespace (else flux-system) with the `--label` flags: export
/// needs no cluster, so the namespace is never looked up.
pub(crate) fn meta_builder(
    global: &GlobalArgs,
    label_flags: &[String],
) -> anyhow::Result<impl Fn(&str) -> Meta> {
    let labels = create::parse_labels(label_flags).map_err(|e| fail(2, e.to_string()))?;
    let namespace = global
        .namespace
        .clone()
        .unwrap_or_else(|| flotilla_ops::DEFAULT_NAMESPACE.to_string());
    Ok(move |name: &str| Meta {
        name: name.to_string(),
        namespace: namespace.clone(),
        labels: labels.clone(),
    })
}

pub fn run(global: GlobalArgs, args: CreateArgs) -> anyhow::Result<ExitCode> {
    let interval = parse_duration("--interval", &args.common.interval)?;
    let namespace = meta_builder(&global, &args.common.label)?;
    let (kind, object) = match &args.what {
        CreateWhat::Source {
            kind: CreateSource::Git(a),
        } => {
            let o = create::GitSourceOptions {
                url: a.url.clone(),
                branch: a.branch.clone(),
                tag: a.tag.clone(),
                semver: a.tag_semver.clone(),
                ref_name: a.ref_name.clone(),
                commit: a.commit.clone(),
                secret_ref: a.secret_ref.clone(),
                interval,
                timeout: opt_duration("--fetch-timeout", &a.fetch_timeout)?,
                recurse_submodules: a.recurse_submodules,
                ignore_paths: a.ignore_paths.clone(),
            };
            (
                Some(FluxKind::GitRepository),
                create::git_repository(&namespace(&a.name), &o),
            )
        }
        CreateWhat::Kustomization(a) => {
            let o = create::KustomizationOptions {
                source: a.source.clone(),
                path: a.path.clone(),
                prune: a.prune,
                interval,
                retry_interval: opt_duration("--retry-interval", &a.retry_interval)?,
                timeout: opt_duration("--health-check-timeout", &a.health_check_timeout)?,
                depends_on: a.depends_on.clone(),
                target_namespace: a.target_namespace.clone(),
                service_account: a.service_account.clone(),
                wait: a.wait,
            };
            (
                Some(FluxKind::Kustomization),
                create::kustomization(&namespace(&a.name), &o),
            )
        }
        CreateWhat::Image { kind } => match kind {
            CreateImage::Repository(a) => {
                let o = create::ImageRepositoryOptions {
                    image: a.image.clone(),
                    interval,
                    secret_ref: a.secret_ref.clone(),
                    cert_secret_ref: a.cert_ref.clone(),
                    timeout: opt_duration("--scan-timeout", &a.scan_timeout)?,
                    provider: a.provider.clone(),
                };
                (
                    Some(FluxKind::ImageRepository),
                    create::image_repository(&namespace(&a.name), &o),
                )
            }
            CreateImage::Policy(a) => {
                let o = create::ImagePolicyOptions {
                    image_ref: a.image_ref.clone(),
                    semver: a.select_semver.clone(),
                    numeric: a.select_numeric.clone(),
                    alpha: a.select_alpha.clone(),
                    filter_regex: a.filter_regex.clone(),
                    filter_extract: a.filter_extract.clone(),
                };
                (
                    Some(FluxKind::ImagePolicy),
                    create::image_policy(&namespace(&a.name), &o),
                )
            }
            CreateImage::Update(a) => {
                let o = create::ImageUpdateOptions {
                    git_repo_ref: a.git_repo_ref.clone(),
                    git_repo_namespace: a.git_repo_namespace.clone(),
                    git_repo_path: a.git_repo_path.clone(),
                    checkout_branch: a.checkout_branch.clone(),
                    push_branch: a.push_branch.clone(),
                    author_name: a.author_name.clone(),
                    author_email: a.author_email.clone(),
                    commit_template: a.commit_template.clone(),
                    interval,
                };
                (
                    Some(FluxKind::ImageUpdateAutomation),
                    create::image_update(&namespace(&a.name), &o),
                )
            }
        },
        CreateWhat::Notify(n) => return super::notify::create(&global, &args.common, n),
        CreateWhat::Secret {
            kind: CreateSecret::Git(a),
        } => {
            let private_key = read("--private-key-file", &a.private_key_file)?;
            // The public key, when it sits beside the private one as ssh-keygen leaves it.
            let public_key = a
                .private_key_file
                .as_ref()
                .and_then(|p| std::fs::read_to_string(format!("{}.pub", p.display())).ok());
            let o = create::GitSecretOptions {
                url: a.url.clone(),
                username: a.username.clone(),
                password: a.password.clone(),
                private_key,
                public_key,
                known_hosts: read("--known-hosts-file", &a.known_hosts_file)?,
                ca: read("--ca-file", &a.ca_file)?,
            };
            (None, create::git_secret(&namespace(&a.name), &o))
        }
    };
    let object = object.map_err(|e| fail(2, e.to_string()))?;
    if args.common.export {
        let mut out = std::io::stdout().lock();
        out.write_all(create::export_stream(std::slice::from_ref(&object)).as_bytes())?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    block_on(apply(global, kind, object, args.common.no_wait))?
}

pub(crate) async fn apply(
    global: GlobalArgs,
    kind: Option<FluxKind>,
    mut object: Value,
    no_wait: bool,
) -> anyhow::Result<ExitCode> {
    let ctx = connect(&global).await?;
    // The namespace from the context applies when -n was not given.
    object["metadata"]["namespace"] = Value::String(ctx.cluster.namespace.clone());
    let name = object["metadata"]["name"]
        .as_str()
        .unwrap_or("")
        .to_string();
    let ns = ctx.cluster.namespace.clone();
    let ar = match kind {
        Some(k) => k.api_resource(),
        None => ApiResource {
            group: String::new(),
            version: "v1".into(),
            api_version: "v1".into(),
            kind: "Secret".into(),
            plural: "secrets".into(),
        },
    };
    let label = kind.map_or("Secret".to_string(), |k| k.to_string());
    ctx.ui
        .action(&format!("applying {label} {name} in {ns} namespace"));
    let api: Api<DynamicObject> = Api::namespaced_with(ctx.cluster.client.clone(), &ns, &ar);
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch(&name, &params, &Patch::Apply(&object))
        .await
        .map_err(|e| match kind {
            Some(k) => super::get::not_installed(&ctx, k, e),
            None => ctx.api_error(e),
        })?;
    ctx.ui.success(&format!("{label} applied"));
    let Some(kind) = kind.filter(|_| !no_wait) else {
        return Ok(ExitCode::SUCCESS);
    };
    let opts = WaitOptions {
        timeout: ctx.timeout,
        ..WaitOptions::default()
    };
    let ui: Ui = ctx.ui;
    let outcome = ui
        .spin(
            &format!("waiting for {kind} reconciliation"),
            reconcile::wait_ready(&ctx.cluster.client, kind, &ns, &name, &opts),
        )
        .await
        .map_err(|e| ctx.reconcile_error(e))?;
    ui.success(&format!("{kind} reconciliation completed"));
    match outcome.revision {
        Some(r) => ui.success(&format!("revision {r}")),
        None => ui.success(&outcome.message),
    }
    Ok(ExitCode::SUCCESS)
}
