//! `flotilla bootstrap git`: sync files into the repository, install, sync, wait for Ready.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use flotilla_ops::bootstrap::{self, BootstrapOptions, SshAuth, SYNC_NAME};
use flotilla_ops::install::{self, InstallOptions};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::discovery::ApiResource;
use serde_json::Value;

use super::ctx::{block_on, connect, parse_duration, Ctx};
use crate::cli::{BootstrapArgs, BootstrapGitArgs, BootstrapWhat, GlobalArgs, InstallArgs};
use crate::ui::{fail, Ui, EXIT_FAILURE, EXIT_TIMEOUT};

/// Components Flux's bootstrap knows; Flotilla runs them all in one controller.
const DEFAULT_COMPONENTS: &[&str] = &[
    "source-controller",
    "kustomize-controller",
    "helm-controller",
    "notification-controller",
];
const EXTRA_COMPONENTS: &[&str] = &["image-reflector-controller", "image-automation-controller"];

pub fn run(global: GlobalArgs, args: BootstrapArgs) -> anyhow::Result<ExitCode> {
    let BootstrapWhat::Git(a) = args.what;
    let ui = Ui::new(global.no_color);
    let opts = options(&global, &a)?;
    for c in &a.components_extra {
        if !EXTRA_COMPONENTS.contains(&c.as_str()) {
            return Err(fail(
                2,
                format!(
                    "--components-extra {c:?} is not a component; choose from {}",
                    EXTRA_COMPONENTS.join(", ")
                ),
            ));
        }
    }
    let mut components: Vec<String> = DEFAULT_COMPONENTS.iter().map(|s| s.to_string()).collect();
    components.extend(a.components_extra.iter().cloned());

    // Reach the cluster before touching the repository: a bootstrap that cannot install must
    // not leave a commit behind.
    block_on(async { connect(&global).await.map(|_| ()) })??;

    let mut install_opts = InstallOptions {
        namespace: opts.namespace.clone(),
        ..InstallOptions::default()
    };
    if let Some(image) = &a.image {
        install_opts.image = image.clone();
    }
    let manifests =
        install::manifests(&install_opts).map_err(|e| fail(EXIT_FAILURE, e.to_string()))?;
    let files =
        bootstrap::files(&opts, &manifests, &components).map_err(|e| fail(2, e.to_string()))?;
    let secret = bootstrap::credentials_secret(&opts).map_err(|e| fail(2, e.to_string()))?;
    let sync = bootstrap::sync_objects(&opts).map_err(|e| fail(2, e.to_string()))?;

    ui.action(&format!(
        "cloning branch {:?} from {}",
        opts.branch,
        bootstrap::redact(&opts.url)
    ));
    let silent = a.silent;
    let mut confirm = |foreign: &[String]| {
        silent || {
            ui.warning(&format!(
                "{} exist and were not written by flotilla (a Flux bootstrap?)",
                foreign.join(", ")
            ));
            ask("Replace them with Flotilla's? [y/N] ")
        }
    };
    let outcome =
        bootstrap::commit_and_push(&opts, &files, "Add Flotilla sync manifests", &mut confirm)
            .map_err(|e| {
                fail(
                    EXIT_FAILURE,
                    format!("{e}; nothing was written to the repository or the cluster"),
                )
            })?;
    if outcome.pushed {
        ui.success(&format!(
            "committed and pushed {} ({})",
            outcome.files.join(", "),
            short(&outcome.head)
        ));
    } else {
        ui.success(&format!(
            "sync manifests are up to date at {}",
            short(&outcome.head)
        ));
    }

    super::install::install(
        global.clone(),
        InstallArgs {
            export: false,
            image: a.image.clone(),
            log_level: "info".into(),
            no_wait: !a.wait,
        },
    )?;

    block_on(async move {
        let ctx = connect(&global).await?;
        let params = PatchParams::apply(super::create::FIELD_MANAGER).force();
        if let Some(secret) = &secret {
            apply(&ctx, secret, &params).await?;
            ctx.ui
                .success(&format!("Secret/{}/{SYNC_NAME} applied", opts.namespace));
        }
        for obj in &sync {
            apply(&ctx, obj, &params).await?;
            ctx.ui.success(&format!(
                "{}/{}/{SYNC_NAME} applied",
                obj["kind"].as_str().unwrap_or(""),
                opts.namespace
            ));
        }
        if !a.wait {
            ctx.ui
                .success("bootstrap finished (not waiting: --wait=false)");
            return Ok(ExitCode::SUCCESS);
        }
        let deadline = Instant::now() + ctx.timeout;
        for kind in ["GitRepository", "Kustomization"] {
            let msg = format!(
                "waiting for {kind}/{}/{SYNC_NAME} to be Ready",
                opts.namespace
            );
            let obj = sync
                .iter()
                .find(|o| o["kind"] == kind)
                .expect("sync has both kinds");
            ctx.ui.spin(&msg, wait_ready(&ctx, obj, deadline)).await?;
            ctx.ui.success(&format!("{kind} reconciled"));
        }
        ctx.ui.success("bootstrap finished");
        Ok(ExitCode::SUCCESS)
    })?
}

fn short(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

fn options(global: &GlobalArgs, a: &BootstrapGitArgs) -> anyhow::Result<BootstrapOptions> {
    let mut o = BootstrapOptions {
        url: a.url.clone(),
        branch: a.branch.clone(),
        path: a.path.clone(),
        interval: parse_duration("--interval", &a.interval)?,
        author_name: a.author_name.clone(),
        author_email: a.author_email.clone(),
        ..Default::default()
    };
    if let Some(ns) = &global.namespace {
        o.namespace = ns.clone();
    }
    let scheme = a.url.split_once("://").map(|(s, _)| s).unwrap_or("");
    match (scheme, &a.username, &a.private_key_file) {
        ("http" | "https" | "file", _, None) => {
            let password = match (&a.password, a.token_auth) {
                (Some(p), _) => Some(p.clone()),
                (None, true) => Some(read_password(a.silent)?),
                (None, false) => None,
            };
            match (password, &a.username) {
                // Flux's bootstrap authenticates as `git` when only a password or token is given.
                (Some(p), u) => {
                    let user = u.clone().unwrap_or_else(|| bootstrap::DEFAULT_USERNAME.into());
                    o.basic = Some((user, p));
                }
                (None, Some(_)) => {
                    return Err(fail(
                        2,
                        "--username needs --password (or $GIT_PASSWORD, or --token-auth to be asked for it)",
                    ))
                }
                (None, None) => {}
            }
        }
        ("ssh", _, _) if a.token_auth => {
            return Err(fail(
                2,
                "--token-auth is HTTPS basic auth: give the repository's https:// URL, or use --private-key-file with ssh://",
            ))
        }
        ("ssh", None, Some(key)) => {
            let read = |p: &std::path::Path| {
                std::fs::read_to_string(p)
                    .map_err(|e| fail(2, format!("reading {}: {e}", p.display())))
            };
            let known_hosts = match &a.known_hosts_file {
                Some(f) => read(f)?,
                None => return Err(fail(
                    2,
                    "--private-key-file needs --known-hosts-file (e.g. from `ssh-keyscan HOST`)",
                )),
            };
            o.ssh = Some(SshAuth {
                identity: read(key)?,
                public_key: bootstrap::public_key_beside(key),
                known_hosts,
                passphrase: a.key_password.clone(),
            });
        }
        ("ssh", None, None) => {
            return Err(fail(
                2,
                "ssh:// URLs need --private-key-file and --known-hosts-file",
            ))
        }
        ("ssh", Some(_), _) | ("http" | "https" | "file", _, Some(_)) => {
            return Err(fail(
                2,
                "--username/--password are for http(s):// URLs, --private-key-file for ssh:// URLs",
            ))
        }
        _ => {
            return Err(fail(
                2,
                format!(
                    "--url {:?}: the scheme must be ssh, http, https or file",
                    bootstrap::redact(&a.url)
                ),
            ))
        }
    }
    Ok(o)
}

/// One answer line from stdin; yes only for `y`/`yes`.
fn ask(question: &str) -> bool {
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if std::io::stdin().lock().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim(), "y" | "Y" | "yes")
}

/// `--token-auth` without a password: one line from stdin, as Flux does (echo off on a
/// terminal; a pipe works for scripts). With `--silent` a terminal is not asked.
fn read_password(silent: bool) -> anyhow::Result<String> {
    let tty = std::io::stdin().is_terminal();
    if tty && silent {
        return Err(fail(
            2,
            "--token-auth needs --password or $GIT_PASSWORD with --silent (it asks for nothing)",
        ));
    }
    let stty = |arg: &str| {
        let _ = std::process::Command::new("stty")
            .arg(arg)
            .stdin(std::process::Stdio::inherit())
            .status();
    };
    if tty {
        eprint!("Please enter your Git repository password: ");
        let _ = std::io::stderr().flush();
        stty("-echo");
    }
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if tty {
        stty("echo");
        eprintln!();
    }
    read.map_err(|e| fail(2, format!("reading the password from stdin: {e}")))?;
    let password = line.trim_end_matches(['\r', '\n']).to_string();
    if password.is_empty() {
        return Err(fail(
            2,
            "--token-auth: no password on stdin; give --password or set $GIT_PASSWORD",
        ));
    }
    Ok(password)
}

fn resource(obj: &Value) -> ApiResource {
    let api_version = obj["apiVersion"].as_str().unwrap_or("");
    let kind = obj["kind"].as_str().unwrap_or("");
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let plural = match kind {
        "GitRepository" => "gitrepositories".to_string(),
        other => format!("{}s", other.to_lowercase()),
    };
    ApiResource {
        group: group.into(),
        version: version.into(),
        api_version: api_version.into(),
        kind: kind.into(),
        plural,
    }
}

async fn apply(ctx: &Ctx, obj: &Value, params: &PatchParams) -> anyhow::Result<()> {
    let ns = obj["metadata"]["namespace"]
        .as_str()
        .unwrap_or("flux-system");
    let name = obj["metadata"]["name"].as_str().unwrap_or("");
    let api: Api<DynamicObject> =
        Api::namespaced_with(ctx.cluster.client.clone(), ns, &resource(obj));
    api.patch(name, params, &Patch::Apply(obj))
        .await
        .map_err(|e| ctx.api_error(e))?;
    Ok(())
}

async fn wait_ready(ctx: &Ctx, obj: &Value, deadline: Instant) -> anyhow::Result<()> {
    let ns = obj["metadata"]["namespace"]
        .as_str()
        .unwrap_or("flux-system");
    let name = obj["metadata"]["name"].as_str().unwrap_or("");
    let kind = obj["kind"].as_str().unwrap_or("");
    let api: Api<DynamicObject> =
        Api::namespaced_with(ctx.cluster.client.clone(), ns, &resource(obj));
    let mut last = String::from("no status yet (is the controller running?)");
    loop {
        if let Some(live) = api.get_opt(name).await.map_err(|e| ctx.api_error(e))? {
            let v = serde_json::to_value(&live).unwrap_or(Value::Null);
            let ready = v["status"]["conditions"]
                .as_array()
                .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"));
            if let Some(c) = ready {
                let message = c["message"].as_str().unwrap_or("").to_string();
                if c["status"] == "True" {
                    return Ok(());
                }
                last = message;
            }
        }
        if Instant::now() >= deadline {
            return Err(fail(
                EXIT_TIMEOUT,
                format!(
                    "{kind}/{ns}/{name} not Ready within {:?}: {last}; the repository and cluster are bootstrapped, \
                     see `flotilla get all -n {ns}` (on `flotilla dev cluster` no controller runs: use `flotilla dev` or --wait=false)",
                    ctx.timeout
                ),
            ));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}
