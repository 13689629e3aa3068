//! `create alert-provider|alert|receiver` and `get alert-providers|alerts|receivers` through the
//! built binary against the dev cluster; kubectl's server-side dry run is the oracle for
//! `--export`, a `flotilla controller` process reconciles the Receiver.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Child, Command, Stdio};

use flotilla_testkit::DevCluster;
use serde_json::Value;

mod common;
use common::{flotilla, stdout};

/// Stops the controller process this test started when the test ends, pass or fail.
struct Controller(Child);

impl Drop for Controller {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn controller(cluster: &DevCluster) -> Controller {
    let storage = cluster.dir().join("storage");
    Controller(
        Command::new(env!("CARGO_BIN_EXE_flotilla"))
            .args(["controller", "--storage-path"])
            .arg(&storage)
            .args([
                "--storage-addr=127.0.0.1:0",
                "--storage-adv-addr=127.0.0.1:1",
                "--metrics-addr=127.0.0.1:0",
                "--receiver-addr=127.0.0.1:0",
                "--log-level=warn",
            ])
            .env("KUBECONFIG", &cluster.kubeconfig)
            .env("HOME", "/nonexistent-home")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

const EXPORTS: [&[&str]; 3] = [
    &[
        "create",
        "alert-provider",
        "slack",
        "--type=slack",
        "--channel=general",
        "--address=https://hooks.slack.com/services/T/B/X",
        "--secret-ref=slack-url",
        "--export",
    ],
    &[
        "create",
        "alert",
        "on-call",
        "--provider-ref=slack",
        "--event-severity=error",
        "--event-source=Kustomization/*,GitRepository/flux-system.flux-system",
        "--label=team=ops",
        "--export",
    ],
    &[
        "create",
        "receiver",
        "github",
        "--type=github",
        "--event=ping,push",
        "--secret-ref=webhook-token",
        "--resource=GitRepository/flux-system",
        "--export",
    ],
];

#[test]
fn exports_are_accepted_by_the_api_server_unchanged() {
    let cluster = DevCluster::start();
    for args in EXPORTS {
        let yaml = stdout(&flotilla(Path::new("/nonexistent"), args));
        assert!(yaml.starts_with("---\napiVersion: notification.toolkit.fluxcd.io/"));
        let served: Value = serde_json::from_str(&cluster.kubectl_ok(
            &["apply", "--dry-run=server", "-o", "json", "-f", "-"],
            &yaml,
        ))
        .unwrap();
        // Parse our YAML with kubectl too, so both sides go through the same reader.
        let ours: Value = serde_json::from_str(&cluster.kubectl_ok(
            &["create", "--dry-run=client", "-o", "json", "-f", "-"],
            &yaml,
        ))
        .unwrap();
        for field in ["apiVersion", "kind"] {
            assert_eq!(served[field], ours[field], "{args:?}");
        }
        for field in ["name", "namespace", "labels"] {
            assert_eq!(
                served["metadata"][field], ours["metadata"][field],
                "{args:?}"
            );
        }
        // The server adds defaults (none today); every field we wrote comes back as written.
        for (k, v) in ours["spec"].as_object().unwrap() {
            assert_eq!(&served["spec"][k], v, "{args:?} spec.{k}");
        }
    }
    // A type outside Flux's list is refused by the API server too (the CRD's enum), naming
    // the field.
    let out = cluster.kubectl(
        &["apply", "--dry-run=server", "-f", "-"],
        "apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Provider\nmetadata:\n  \
         name: x\n  namespace: flux-system\nspec:\n  type: pigeon\n",
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("spec.type"), "{err}");
}

#[test]
fn create_then_get_and_the_receiver_prints_its_webhook_path() {
    let cluster = DevCluster::start();
    let kc = cluster.kubeconfig.as_path();
    let _controller = controller(&cluster);
    cluster.kubectl_ok(
        &[
            "-n",
            "flux-system",
            "create",
            "secret",
            "generic",
            "webhook-token",
            "--from-literal=token=s3cr3t",
        ],
        "",
    );
    for args in EXPORTS {
        let args: Vec<&str> = args.iter().copied().filter(|a| *a != "--export").collect();
        let out = flotilla(kc, &[&args[..], &["--timeout=30s"]].concat());
        let printed = stdout(&out);
        if args[1] == "receiver" {
            let path = printed.lines().last().unwrap();
            let hash = path.strip_prefix("/hook/").unwrap();
            assert_eq!(hash.len(), 64, "{printed}");
            assert!(hash.chars().all(|c| c.is_ascii_hexdigit()), "{printed}");
        }
    }
    // A type Flux knows but Flotilla does not send to: accepted with a warning, and shown
    // not ready with the reason.
    let out = flotilla(
        kc,
        &[
            "create",
            "alert-provider",
            "chat",
            "--type=telegram",
            "--channel=ops",
        ],
    );
    let warned = String::from_utf8_lossy(&out.stderr).to_string();
    stdout(&out);
    assert!(warned.contains("does not send to it"), "{warned}");
    let providers = stdout(&flotilla(kc, &["get", "alert-providers"]));
    let lines: Vec<&str> = providers.lines().collect();
    assert_eq!(lines.len(), 3, "{providers}");
    assert!(lines[0].starts_with("NAME "), "{providers}");
    let cells: Vec<&str> = lines[1].split('\t').map(str::trim).collect();
    assert_eq!(cells[..2], ["chat", "False"]);
    assert!(
        cells[2].contains("\"telegram\" is not supported"),
        "{providers}"
    );
    let cells: Vec<&str> = lines[2].split('\t').map(str::trim).collect();
    assert_eq!(cells[..3], ["slack", "True", "Provider is Ready"]);

    let alerts = stdout(&flotilla(kc, &["get", "alerts", "-A"]));
    let row = alerts.lines().nth(1).unwrap_or_default();
    let cells: Vec<&str> = row.split('\t').map(str::trim).collect();
    assert_eq!(
        cells[..5],
        ["flux-system", "on-call", "False", "True", "Alert is Ready"]
    );

    let receivers = stdout(&flotilla(kc, &["get", "receivers"]));
    let row = receivers.lines().nth(1).unwrap_or_default();
    let cells: Vec<&str> = row.split('\t').map(str::trim).collect();
    assert_eq!(cells[..3], ["github", "False", "True"], "{receivers}");
    assert!(cells[3].contains("/hook/"), "{receivers}");

    let json: Value =
        serde_json::from_str(&stdout(&flotilla(kc, &["get", "receivers", "-o", "json"]))).unwrap();
    assert_eq!(json["items"][0]["metadata"]["name"], "github");
    assert!(json["items"][0]["status"]["webhookPath"]
        .as_str()
        .unwrap()
        .starts_with("/hook/"));
}

#[test]
fn an_unknown_provider_type_is_refused_with_one_line() {
    let out = flotilla(
        Path::new("/nonexistent"),
        &["create", "alert-provider", "x", "--type=pigeon", "--export"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("invalid --type \"pigeon\""), "{err}");
    assert!(err.contains("slack"), "{err}");
}

/// Every CRD `flotilla install` applies except the notification and image ones, and
/// flux-system: a cluster where Flux runs without its notification and image controllers.
fn without_notification_crds(cluster: &DevCluster) {
    let all = stdout(&flotilla(
        Path::new("/nonexistent"),
        &["install", "--export"],
    ));
    let crds: Vec<&str> = all
        .split("\n---\n")
        .filter(|d| d.contains("kind: CustomResourceDefinition"))
        .filter(|d| !d.contains("notification.toolkit.fluxcd.io"))
        .filter(|d| !d.contains("image.toolkit.fluxcd.io"))
        .collect();
    assert!(crds.len() >= 2, "{} CRDs", crds.len());
    cluster.kubectl_ok(
        &["apply", "--server-side", "-f", "-"],
        &crds.join("\n---\n"),
    );
    cluster.kubectl_ok(&["wait", "--for=condition=Established", "crd", "--all"], "");
    cluster.kubectl_ok(&["create", "namespace", "flux-system"], "");
}

#[test]
fn without_the_notification_crds_the_controller_says_so_once_and_stops_cleanly() {
    let cluster = DevCluster::start_bare(Default::default());
    without_notification_crds(&cluster);
    // Two sources that fail on every attempt: a stream of distinct Warning events.
    for name in ["one", "two"] {
        cluster.kubectl_ok(
            &["apply", "-f", "-"],
            &format!(
                "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  \
                 name: {name}\n  namespace: flux-system\nspec:\n  interval: 1m\n  \
                 url: file:///nonexistent/{name}.git\n  ref:\n    branch: main\n"
            ),
        );
    }
    let log = cluster.dir().join("controller.log");
    let child = Command::new(env!("CARGO_BIN_EXE_flotilla"))
        .args(["controller", "--storage-path"])
        .arg(cluster.dir().join("storage"))
        .args([
            "--storage-addr=127.0.0.1:0",
            "--metrics-addr=127.0.0.1:0",
            "--receiver-addr=127.0.0.1:0",
            "--log-level=info",
        ])
        .env("KUBECONFIG", &cluster.kubeconfig)
        .env("HOME", "/nonexistent-home")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut controller = Controller(child);
    std::thread::sleep(std::time::Duration::from_secs(3));
    // SIGTERM, as Kubernetes stops a pod: the controller must exit, not hang on the missing
    // kinds.
    let pid = controller.0.id().to_string();
    assert!(Command::new("kill").arg(&pid).status().unwrap().success());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(s) = controller.0.try_wait().unwrap() {
            break s;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the controller did not stop on SIGTERM:\n{}",
            std::fs::read_to_string(&log).unwrap()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "{status:?}\n{text}");
    let count = |needle: &str| text.lines().filter(|l| l.contains(needle)).count();
    assert_eq!(count("Receiver CRD"), 1, "{text}");
    assert_eq!(count("not sent to Alerts"), 1, "{text}");
    assert_eq!(count("not dispatched"), 0, "{text}");
    // The image kinds never listed: their reconcilers end at once instead of waiting for a
    // first list that cannot come.
    assert_eq!(count("stopped before its first list"), 3, "{text}");
    assert!(
        count("reconcile error") + count("GitOperationFailed") + count("ERROR") >= 1,
        "the sources never failed: {text}"
    );
}
