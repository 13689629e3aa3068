//! `flotilla dev`: the dev cluster and every controller in one process, optionally bootstrapped
//! from a local Git repository or a Git URL, until SIGINT/SIGTERM.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use anyhow::Context;
use flotilla_controller::ControllerOptions;
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::discovery::ApiResource;
use serde_json::{json, Value};
use tokio::sync::watch;

use crate::cli::DevRunArgs;
use crate::cmd::dev_cluster;
use crate::ui::fail;

/// Field manager for the objects `flotilla dev` creates itself (CRDs, namespace, bootstrap).
const MANAGER: &str = "flotilla-dev";
const NAMESPACE: &str = "flux-system";

pub fn run(args: DevRunArgs) -> anyhow::Result<ExitCode> {
    // The example prints its story on stdout; only the controllers' warnings belong beside it.
    let level = match (&args.example, args.log_level.as_str()) {
        (Some(_), "info") => "warn",
        (_, level) => level,
    };
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .map_err(|e| fail(2, format!("invalid --log-level {:?}: {e}", args.log_level)))?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    // Validate the bootstrap source before anything starts: a bad path should not leave a
    // half-started cluster behind.
    let bootstrap = args
        .bootstrap
        .as_deref()
        .map(|b| resolve_source(b, &args))
        .transpose()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(serve(args, bootstrap))
}

/// Where the sync GitRepository points.
#[derive(Debug)]
struct Source {
    url: String,
    branch: String,
    path: String,
}

async fn serve(args: DevRunArgs, bootstrap: Option<Source>) -> anyhow::Result<ExitCode> {
    let (handle, kubeconfig) = dev_cluster::start(&args.cluster).await?;
    let client = client_for(&kubeconfig).await?;
    install_crds(&client).await?;
    if let Some(source) = &bootstrap {
        apply_sync(&client, source, &args.interval).await?;
    }

    let storage_path = match (&args.storage_path, &args.cluster.data_dir) {
        (Some(p), _) => p.clone(),
        (None, Some(dir)) => dir.join("storage"),
        (None, None) => std::env::temp_dir()
            .join(format!("flotilla-dev-{}", handle.addr.port()))
            .join("storage"),
    };
    let receiver_addr = concrete_addr(&args.receiver_addr)?;
    let options = ControllerOptions {
        storage_path: storage_path.clone(),
        storage_addr: args.storage_addr.clone(),
        metrics_addr: args.metrics_addr.clone(),
        receiver_addr: Some(receiver_addr.clone()),
        concurrent: args.concurrent,
        ..ControllerOptions::default()
    };
    if args.example.is_some() {
        let outcome = crate::cmd::example::run(client, options, &args, &kubeconfig).await;
        handle.shutdown().await;
        return outcome;
    }

    println!(
        "Flotilla dev: API server at {}, controllers running.",
        handle.url()
    );
    println!("  kubeconfig: {}", kubeconfig.display());
    println!("  artifacts:  {}", storage_path.display());
    println!(
        "  receivers:  http://{receiver_addr}/hook/<sha256> (see a Receiver's status.webhookPath)"
    );
    match &bootstrap {
        Some(s) => println!(
            "  syncing {} (branch {}, path {}) as Kustomization flux-system/flux-system",
            s.url, s.branch, s.path
        ),
        None => {
            println!("  no --bootstrap given: create a GitRepository and Kustomization to sync")
        }
    }
    println!(
        "Try:\n  export KUBECONFIG={}\n  flotilla get kustomizations -A --watch\n  kubectl get all -A\n\
         Press Ctrl-C to stop.",
        kubeconfig.display()
    );

    let (stop_tx, mut stop_rx) = watch::channel(false);
    let controller = tokio::spawn(flotilla_controller::run(client, options, async move {
        let _ = stop_rx.wait_for(|stopped| *stopped).await;
    }));
    let result = tokio::select! {
        signal = dev_cluster::wait_for_signal() => { signal?; None }
        done = &mut Box::pin(async { controller_done(&controller).await }) => Some(done),
    };
    let _ = stop_tx.send(true);
    eprintln!("stopping the controllers and the dev cluster");
    let outcome = match result {
        Some(outcome) => outcome,
        None => match tokio::time::timeout(Duration::from_secs(30), controller).await {
            Ok(Ok(r)) => r.map_err(anyhow::Error::from),
            Ok(Err(join)) => Err(anyhow::anyhow!("controller task failed: {join}")),
            Err(_) => Err(anyhow::anyhow!("controllers did not stop within 30s")),
        },
    };
    handle.shutdown().await;
    outcome.context("controllers")?;
    Ok(ExitCode::SUCCESS)
}

/// Waits until the controller task ends by itself (an error: it runs until told to stop).
async fn controller_done(
    task: &tokio::task::JoinHandle<Result<(), flotilla_controller::ControllerError>>,
) -> anyhow::Result<()> {
    while !task.is_finished() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(anyhow::anyhow!("the controllers stopped unexpectedly"))
}

/// `addr` with port 0 replaced by a free port, so the receiver URL can be printed.
fn concrete_addr(addr: &str) -> anyhow::Result<String> {
    let listener = std::net::TcpListener::bind(addr)
        .map_err(|e| fail(2, format!("cannot listen on --receiver-addr {addr}: {e}")))?;
    let bound = listener
        .local_addr()
        .with_context(|| format!("address of --receiver-addr {addr}"))?;
    Ok(bound.to_string())
}

async fn client_for(kubeconfig: &Path) -> anyhow::Result<kube::Client> {
    let kc = Kubeconfig::read_from(kubeconfig)
        .with_context(|| format!("reading {}", kubeconfig.display()))?;
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .context("client configuration for the dev cluster")?;
    kube::Client::try_from(config).context("client for the dev cluster")
}

/// Installs Flux's CRDs and the flux-system namespace, and waits until the CRDs are served.
async fn install_crds(client: &kube::Client) -> anyhow::Result<()> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let params = PatchParams::apply(MANAGER).force();
    let mut names = Vec::new();
    for crd in flotilla_api::crds().context("generating the CRDs")? {
        let name = crd.metadata.name.clone().unwrap_or_default();
        crds.patch(&name, &params, &Patch::Apply(&crd))
            .await
            .with_context(|| format!("installing CRD {name}"))?;
        names.push(name);
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}
    }))
    .context("namespace object")?;
    namespaces
        .patch(NAMESPACE, &params, &Patch::Apply(&ns))
        .await
        .context("creating namespace flux-system")?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    for name in names {
        loop {
            let crd = crds
                .get(&name)
                .await
                .with_context(|| format!("reading CRD {name}"))?;
            let established = crd
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            if established {
                break;
            }
            if tokio::time::Instant::now() > deadline {
                anyhow::bail!("CRD {name} was not established within 10s");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Ok(())
}

/// The GitRepository and Kustomization `flux-system` that Flux's bootstrap creates.
async fn apply_sync(client: &kube::Client, source: &Source, interval: &str) -> anyhow::Result<()> {
    let git_repository = json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": NAMESPACE, "namespace": NAMESPACE},
        "spec": {"interval": interval, "ref": {"branch": source.branch}, "url": source.url},
    });
    let kustomization = json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": NAMESPACE, "namespace": NAMESPACE},
        "spec": {
            "interval": "10m0s",
            "path": source.path,
            "prune": true,
            "sourceRef": {"kind": "GitRepository", "name": NAMESPACE},
        },
    });
    apply(client, git_repository, "gitrepositories").await?;
    apply(client, kustomization, "kustomizations").await?;
    Ok(())
}

async fn apply(client: &kube::Client, object: Value, plural: &str) -> anyhow::Result<()> {
    let api_version = object["apiVersion"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let kind = object["kind"].as_str().unwrap_or_default().to_string();
    let (group, version) = api_version.split_once('/').unwrap_or(("", &api_version));
    let resource = ApiResource {
        group: group.to_string(),
        version: version.to_string(),
        api_version: api_version.clone(),
        kind: kind.clone(),
        plural: plural.to_string(),
    };
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), NAMESPACE, &resource);
    api.patch(
        NAMESPACE,
        &PatchParams::apply(MANAGER).force(),
        &Patch::Apply(&object),
    )
    .await
    .with_context(|| format!("creating {kind} {NAMESPACE}/{NAMESPACE}"))?;
    Ok(())
}

/// A Git URL is used as it is; a local directory must be (inside) a Git repository, whose
/// committed state is synced through a file:// URL.
fn resolve_source(bootstrap: &str, args: &DevRunArgs) -> anyhow::Result<Source> {
    let path = normalise_path(&args.path);
    let is_url = bootstrap.contains("://") || bootstrap.starts_with("git@");
    if is_url {
        return Ok(Source {
            url: bootstrap.to_string(),
            branch: args.branch.clone().unwrap_or_else(|| "main".to_string()),
            path,
        });
    }
    let dir = PathBuf::from(bootstrap);
    if !dir.is_dir() {
        return Err(fail(
            2,
            format!("--bootstrap {bootstrap}: no such directory; give a local Git repository or a Git URL"),
        ));
    }
    let top = git(&dir, &["rev-parse", "--show-toplevel"]).map_err(|_| {
        fail(
            2,
            format!(
                "--bootstrap {bootstrap} is not a Git repository; Flotilla deploys commits: \
                 run `git init && git add -A && git commit -m init` there first"
            ),
        )
    })?;
    let top = PathBuf::from(top);
    let branch = match &args.branch {
        Some(b) => b.clone(),
        None => git(&top, &["symbolic-ref", "--short", "HEAD"]).map_err(|_| {
            fail(
                2,
                format!("--bootstrap {bootstrap}: HEAD is detached; pass --branch"),
            )
        })?,
    };
    let committed = git(
        &top,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{branch}^{{commit}}"),
        ],
    );
    if committed.is_err() {
        return Err(fail(
            2,
            format!("--bootstrap {bootstrap}: branch {branch:?} has no commit; commit the manifests first"),
        ));
    }
    let tree_path = format!("{branch}:{}", path.trim_start_matches("./"));
    if path != "./" && git(&top, &["cat-file", "-e", &tree_path]).is_err() {
        return Err(fail(
            2,
            format!(
                "--path {}: not in the last commit of branch {branch} in {}; check the path or commit it",
                args.path,
                top.display()
            ),
        ));
    }
    Ok(Source {
        url: format!("file://{}", top.display()),
        branch,
        path,
    })
}

/// `clusters/dev` → `./clusters/dev`, as Flux writes Kustomization paths.
fn normalise_path(path: &str) -> String {
    let trimmed = path.trim_start_matches("./").trim_end_matches('/');
    if trimmed.is_empty() || trimmed == "." {
        "./".to_string()
    } else {
        format!("./{trimmed}")
    }
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .context("running git (is it installed?)")?;
    if !out.status.success() {
        anyhow::bail!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::normalise_path;

    #[test]
    fn paths_are_written_as_flux_writes_them() {
        assert_eq!(normalise_path("clusters/dev"), "./clusters/dev");
        assert_eq!(normalise_path("./clusters/dev/"), "./clusters/dev");
        assert_eq!(normalise_path("."), "./");
        assert_eq!(normalise_path(""), "./");
    }
}
