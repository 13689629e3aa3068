//! The embedded dev cluster with the Flux CRDs installed, a `kube::Client` and a kubeconfig file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use flotilla_devcluster::{Options, Server, ServerHandle};
use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, Patch, PatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};

/// A running dev cluster with Flux's CRDs and the `flux-system` namespace.
///
/// The server runs on a runtime of its own, so a `DevCluster` works from plain `#[test]`s
/// (for example next to blocking kubectl calls) and from `#[tokio::test]`s alike. Dropping it
/// shuts the server down.
pub struct DevCluster {
    runtime: Option<tokio::runtime::Runtime>,
    handle: Option<ServerHandle>,
    config: kube::Config,
    /// A client for the cluster (rustls with ring, trusting the server's CA, bearer token).
    /// Its background worker lives on the cluster's runtime, so it works from any runtime.
    pub client: kube::Client,
    /// A kubeconfig file for kubectl or a controller under test.
    pub kubeconfig: PathBuf,
    dir: tempfile::TempDir,
}

impl DevCluster {
    /// Starts a server on a free port (simulated node on) and installs the CRDs from
    /// [`flotilla_api::crds`]. Blocks until they are served.
    pub fn start() -> DevCluster {
        DevCluster::start_with(Options::default())
    }

    /// As [`DevCluster::start`], with server options (the port is forced to 0: a free one).
    pub fn start_with(options: Options) -> DevCluster {
        DevCluster::launch(options, true)
    }

    /// A server with nothing installed: no CRDs, no `flux-system` (for tests of the CRDs
    /// themselves).
    pub fn start_bare(options: Options) -> DevCluster {
        DevCluster::launch(options, false)
    }

    fn launch(options: Options, flux: bool) -> DevCluster {
        // A thread of its own: `block_on` may not run inside the caller's runtime.
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("devcluster")
                .enable_all()
                .build()
                .expect("a tokio runtime for the dev cluster");
            let dir = tempfile::tempdir().expect("a temp dir for the kubeconfig");
            let kubeconfig = dir.path().join("kubeconfig");
            let (handle, config, client) = runtime.block_on(async {
                let handle = Server::start(Options { port: 0, ..options })
                    .await
                    .expect("the dev cluster starts");
                handle
                    .write_kubeconfig(&kubeconfig)
                    .expect("kubeconfig written");
                let config = config_from(&kubeconfig).await;
                let client = kube::Client::try_from(config.clone()).expect("a kube client");
                if flux {
                    install_crds(&client).await;
                }
                (handle, config, client)
            });
            DevCluster {
                runtime: Some(runtime),
                handle: Some(handle),
                config,
                client,
                kubeconfig,
                dir,
            }
        })
        .join()
        .expect("dev cluster start-up thread")
    }

    /// The server's handle (URL, token, CA).
    pub fn handle(&self) -> &ServerHandle {
        self.handle.as_ref().expect("the server runs until drop")
    }

    /// The client configuration (for clients built in the caller's runtime).
    pub fn config(&self) -> kube::Config {
        self.config.clone()
    }

    /// A new client whose worker runs on the caller's runtime (call inside one).
    pub fn new_client(&self) -> kube::Client {
        kube::Client::try_from(self.config()).expect("a kube client")
    }

    /// A scratch directory living as long as the cluster.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs kubectl against this cluster (its own cache dir, `KUBECONFIG` ignored) with
    /// `stdin` as input.
    pub fn kubectl(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg("--cache-dir")
            .arg(self.dir.path().join("kubectl-cache"))
            .args(args)
            .env_remove("KUBECONFIG")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kubectl must be installed");
        child
            .stdin
            .take()
            .expect("piped stdin")
            .write_all(stdin.as_bytes())
            .expect("write kubectl's stdin");
        child.wait_with_output().expect("kubectl runs")
    }

    /// [`DevCluster::kubectl`] that must succeed (the test fails with kubectl's stderr
    /// otherwise); returns its stdout.
    pub fn kubectl_ok(&self, args: &[&str], stdin: &str) -> String {
        let out = self.kubectl(args, stdin);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("kubectl prints UTF-8")
    }
}

impl Drop for DevCluster {
    fn drop(&mut self) {
        let (Some(runtime), Some(handle)) = (self.runtime.take(), self.handle.take()) else {
            return;
        };
        // Off the caller's runtime, for the same reason as in `start_with`.
        let _ = std::thread::spawn(move || {
            runtime.block_on(handle.shutdown());
            runtime.shutdown_timeout(Duration::from_secs(2));
        })
        .join();
    }
}

async fn config_from(path: &Path) -> kube::Config {
    let kc = Kubeconfig::read_from(path).expect("the kubeconfig just written reads back");
    kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("a client config from the dev cluster's kubeconfig")
}

async fn install_crds(client: &kube::Client) {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let params = PatchParams::apply("flotilla-testkit").force();
    let mut names = Vec::new();
    for crd in flotilla_api::crds().expect("flotilla-api generates its CRDs") {
        let name = crd.metadata.name.clone().expect("CRDs are named");
        crds.patch(&name, &params, &Patch::Apply(&crd))
            .await
            .unwrap_or_else(|e| panic!("install CRD {name}: {e}"));
        names.push(name);
    }
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(serde_json::json!({
        "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flux-system"}
    }))
    .expect("a Namespace");
    namespaces
        .patch("flux-system", &params, &Patch::Apply(&ns))
        .await
        .expect("create namespace flux-system");
    let deadline = Instant::now() + Duration::from_secs(10);
    for name in names {
        loop {
            let crd = crds.get(&name).await.expect("read back the CRD");
            let established = crd
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True");
            if established {
                break;
            }
            assert!(Instant::now() < deadline, "CRD {name} not Established");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}
