//! The built binary against the embedded dev cluster, with kubectl as a second client: cluster
//! access errors and exit codes, `get` tables, reconcile/suspend/resume, create, export, tree,
//! install, version and completion.
//!
//! The controllers are being written concurrently with the CLI, so these tests write object
//! status themselves through the status subresource (with kubectl), and where a reconcile must
//! be handled a small loop in the test plays the controller's part (copying
//! `reconcile.fluxcd.io/requestedAt` to `status.lastHandledReconcileAt`).
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output, Stdio};

use flotilla_devcluster::Options;
use flotilla_testkit::DevCluster;

/// The dev cluster with the CRDs and `flux-system`; no simulated node, so only the tests write
/// status.
struct Cluster(DevCluster);

impl std::ops::Deref for Cluster {
    type Target = DevCluster;
    fn deref(&self) -> &DevCluster {
        &self.0
    }
}

impl Cluster {
    fn start() -> Cluster {
        Cluster(DevCluster::start_with(Options {
            simulate: None,
            ..Options::default()
        }))
    }

    fn ok(&self, args: &[&str], input: &str) -> String {
        self.0.kubectl_ok(args, input)
    }

    fn flotilla(&self, args: &[&str]) -> Output {
        flotilla_with(args, Some(&self.kubeconfig))
    }

    /// Writes status through the status subresource.
    fn set_status(&self, resource: &str, name: &str, ns: &str, status: &str) {
        let patch = format!("{{\"status\": {status}}}");
        self.ok(
            &[
                "patch",
                resource,
                name,
                "-n",
                ns,
                "--subresource=status",
                "--type=merge",
                "-p",
                &patch,
            ],
            "",
        );
    }
}

fn flotilla_with(args: &[&str], kubeconfig: Option<&std::path::Path>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_flotilla"));
    cmd.args(args)
        .env("NO_COLOR", "1")
        .env("HOME", "/nonexistent-home")
        .env_remove("KUBECONFIG");
    if let Some(k) = kubeconfig {
        cmd.env("KUBECONFIG", k);
    }
    cmd.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

const SHA: &str = "16cfcc0b9066b3234dda29927ac1c19860d9663f";

fn ready(status: &str, message: &str) -> String {
    format!(
        "{{\"type\": \"Ready\", \"status\": \"{status}\", \"reason\": \"Test\", \"message\": \"{message}\", \
         \"lastTransitionTime\": \"2024-01-01T00:00:00Z\", \"observedGeneration\": 1}}"
    )
}

fn seed(c: &Cluster) {
    c.ok(
        &["apply", "-f", "-"],
        "apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: podinfo, namespace: flux-system}
spec: {url: 'https://example.com/podinfo', interval: 1m, ref: {branch: main}}
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: broken, namespace: flux-system}
spec: {url: 'https://example.com/broken', interval: 1m, suspend: true}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec: {interval: 10m, path: ./apps, prune: true, sourceRef: {kind: GitRepository, name: podinfo}}
---
apiVersion: v1
kind: Namespace
metadata: {name: team}
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: tenant, namespace: team}
spec: {interval: 5m, path: ./tenant, prune: false, sourceRef: {kind: GitRepository, name: podinfo, namespace: flux-system}}
",
    );
    c.set_status(
        "gitrepository",
        "podinfo",
        "flux-system",
        &format!(
            "{{\"observedGeneration\": 1, \"artifact\": {{\"revision\": \"main@sha1:{SHA}\", \"path\": \"p\", \
             \"url\": \"http://x/p\", \"digest\": \"sha256:{SHA}{}\", \"lastUpdateTime\": \"2024-01-01T00:00:00Z\"}}, \
             \"conditions\": [{}]}}",
            &SHA[..24],
            ready("True", &format!("stored artifact for revision 'main@sha1:{SHA}'"))
        ),
    );
    c.set_status(
        "gitrepository",
        "broken",
        "flux-system",
        &format!(
            "{{\"conditions\": [{}]}}",
            ready(
                "False",
                "failed to checkout and determine revision: authentication required"
            )
        ),
    );
    c.set_status(
        "kustomization",
        "apps",
        "flux-system",
        &format!(
            "{{\"observedGeneration\": 1, \"lastAppliedRevision\": \"main@sha1:{SHA}\", \"conditions\": [{}], \
             \"inventory\": {{\"entries\": [{{\"id\": \"_team__Namespace\", \"v\": \"v1\"}}, \
             {{\"id\": \"team_tenant_kustomize.toolkit.fluxcd.io_Kustomization\", \"v\": \"v1\"}}]}}}}",
            ready("True", &format!("Applied revision: main@sha1:{SHA}"))
        ),
    );
    c.set_status(
        "kustomization",
        "tenant",
        "team",
        "{\"inventory\": {\"entries\": [{\"id\": \"team_web_apps_Deployment\", \"v\": \"v1\"}]}}",
    );
}

#[test]
fn get_tables_are_laid_out_as_flux_get() {
    let c = Cluster::start();
    seed(&c);
    // Expected layout: Flux's tablewriter settings (see flotilla_ops::table), revisions and
    // hashes in messages shortened to 8 hex digits, objects without Ready shown as Flux does.
    let o = c.flotilla(&["get", "sources", "git"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        concat!(
            "NAME   \tREVISION          \tSUSPENDED\tREADY\tMESSAGE                                                            \n",
            "broken \t                  \tTrue     \tFalse\tfailed to checkout and determine revision: authentication required\t\n",
            "podinfo\tmain@sha1:16cfcc0b\tFalse    \tTrue \tstored artifact for revision 'main@sha1:16cfcc0b'                 \t\n",
        )
    );
    let o = c.flotilla(&["get", "ks", "-A"]);
    assert_eq!(
        stdout(&o),
        concat!(
            "NAMESPACE  \tNAME  \tREVISION          \tSUSPENDED\tREADY\tMESSAGE                              \n",
            "flux-system\tapps  \tmain@sha1:16cfcc0b\tFalse    \tTrue \tApplied revision: main@sha1:16cfcc0b\t\n",
            "team       \ttenant\t                  \tFalse    \tFalse\twaiting to be reconciled            \t\n",
        )
    );
    let o = c.flotilla(&[
        "get",
        "sources",
        "git",
        "--status-selector",
        "ready=false",
        "--no-header",
    ]);
    assert_eq!(
        stdout(&o),
        "broken\t\tTrue\tFalse\tfailed to checkout and determine revision: authentication required\t\n"
    );
    let o = c.flotilla(&["get", "all"]);
    let out = stdout(&o);
    assert!(
        out.contains("gitrepository/podinfo\tmain@sha1:16cfcc0b"),
        "{out}"
    );
    assert!(out.contains("kustomization/apps"), "{out}");
    let o = c.flotilla(&["get", "ks", "-o", "json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["items"][0]["metadata"]["name"], "apps");
    let o = c.flotilla(&["get", "ks", "nothere"]);
    assert!(o.status.success());
    assert_eq!(
        stderr(&o),
        "✗ Kustomization object 'nothere' not found in \"flux-system\" namespace\n"
    );
    let o = c.flotilla(&["get", "ks", "--status-selector", "ready"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn cluster_access_errors_are_one_line_with_exit_code_3() {
    let o = flotilla_with(&["get", "ks"], None);
    assert_eq!(o.status.code(), Some(3));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.starts_with("error: no kubeconfig found"), "{e}");

    let o = flotilla_with(&["get", "ks", "--kubeconfig", "/nonexistent/kc"], None);
    assert_eq!(o.status.code(), Some(3));
    assert!(stderr(&o).contains("cannot read kubeconfig /nonexistent/kc: no such file"));

    let c = Cluster::start();
    let o = c.flotilla(&["get", "ks", "--context", "nope"]);
    assert_eq!(o.status.code(), Some(3));
    assert!(
        stderr(&o).contains("context \"nope\" not found"),
        "{}",
        stderr(&o)
    );

    // A kubeconfig whose server is gone.
    let kc = std::fs::read_to_string(&c.kubeconfig).unwrap();
    drop(c);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kc");
    std::fs::write(&path, kc).unwrap();
    let o = flotilla_with(&["get", "ks", "--timeout", "5s"], Some(&path));
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.contains("cannot reach the cluster at https://127.0.0.1:"),
        "{e}"
    );
}

/// Plays the controller: once `requestedAt` is set, marks it handled and Ready.
fn fake_controller(c: &Cluster, resource: &str, name: &str, revision: &str) {
    for _ in 0..200 {
        let at = c.ok(
            &[
                "get",
                resource,
                name,
                "-n",
                "flux-system",
                "-o",
                "jsonpath={.metadata.annotations.reconcile\\.fluxcd\\.io/requestedAt}",
            ],
            "",
        );
        if !at.is_empty() {
            c.set_status(
                resource,
                name,
                "flux-system",
                &format!(
                    "{{\"observedGeneration\": 1, \"lastHandledReconcileAt\": \"{at}\", \"lastAppliedRevision\": \"{revision}\", \
                     \"artifact\": {{\"revision\": \"{revision}\", \"path\": \"p\", \"url\": \"http://x/p\", \
                     \"digest\": \"sha256:{SHA}{}\", \"lastUpdateTime\": \"2024-01-01T00:00:00Z\"}}, \
                     \"conditions\": [{}]}}",
                    &SHA[..24],
                    ready("True", "ok")
                ),
            );
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("no reconcile request on {resource}/{name}");
}

#[test]
fn reconcile_waits_for_the_request_to_be_handled() {
    let c = Cluster::start();
    seed(&c);
    let revision = format!("main@sha1:{}", "a".repeat(40));
    std::thread::scope(|s| {
        s.spawn(|| fake_controller(&c, "gitrepository", "podinfo", &revision));
        let o = c.flotilla(&["reconcile", "source", "git", "podinfo", "--timeout", "30s"]);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(
            stderr(&o).contains(&format!("✔ fetched revision {revision}")),
            "{}",
            stderr(&o)
        );
    });
    // Nobody handles this one: the wait times out with exit status 4.
    let o = c.flotilla(&["reconcile", "ks", "apps", "--timeout", "1s"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("timed out after 1s waiting for Kustomization flux-system/apps"));
    // Suspended objects are refused with the way out.
    let o = c.flotilla(&["reconcile", "source", "git", "broken"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("run `flotilla resume source git broken` first"));
    let o = c.flotilla(&["reconcile", "ks", "missing"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o)
        .contains("Kustomization object 'missing' not found in \"flux-system\" namespace"));
}

#[test]
fn suspend_and_resume_flip_spec_suspend() {
    let c = Cluster::start();
    seed(&c);
    let suspended = || {
        c.ok(
            &[
                "get",
                "ks",
                "apps",
                "-n",
                "flux-system",
                "-o",
                "jsonpath={.spec.suspend}",
            ],
            "",
        )
    };
    let o = c.flotilla(&["suspend", "kustomization", "apps"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(suspended(), "true");
    let o = c.flotilla(&["resume", "kustomization", "apps", "--no-wait"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(suspended(), "false");
    let at = c.ok(
        &[
            "get",
            "ks",
            "apps",
            "-n",
            "flux-system",
            "-o",
            "jsonpath={.metadata.annotations.reconcile\\.fluxcd\\.io/requestedAt}",
        ],
        "",
    );
    assert!(!at.is_empty());
}

#[test]
fn create_applies_and_exports_what_the_api_accepts() {
    let c = Cluster::start();
    let o = c.flotilla(&[
        "create",
        "source",
        "git",
        "fleet",
        "--url=https://example.com/fleet",
        "--branch=main",
        "--interval=5m",
        "--no-wait",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        c.ok(
            &[
                "get",
                "gitrepository",
                "fleet",
                "-n",
                "flux-system",
                "-o",
                "jsonpath={.spec.interval} {.spec.ref.branch}"
            ],
            ""
        ),
        "5m0s main"
    );
    // Every --export output is accepted by the CRDs (server-side dry run).
    for args in [
        vec![
            "create",
            "kustomization",
            "apps",
            "--source=GitRepository/fleet",
            "--path=./apps",
            "--prune",
            "--depends-on=infra",
            "--export",
        ],
        vec![
            "create",
            "image",
            "repository",
            "front-end",
            "--image=public.ecr.aws/org/front-end",
            "--export",
        ],
        vec![
            "create",
            "image",
            "policy",
            "front-end",
            "--image-ref=front-end",
            "--select-numeric=asc",
            "--filter-regex=^main-[a-f0-9]+-(?P<build>[0-9]+)",
            "--filter-extract=$build",
            "--export",
        ],
        vec![
            "create",
            "image",
            "update",
            "apps",
            "--git-repo-ref=fleet",
            "--git-repo-path=./deploy",
            "--checkout-branch=main",
            "--push-branch=main",
            "--author-name=flotilla",
            "--author-email=f@example.com",
            "--export",
        ],
        vec![
            "create",
            "secret",
            "git",
            "codecommit",
            "--url=https://git-codecommit.eu-west-1.amazonaws.com/v1/repos/fleet",
            "--username=u",
            "--password=p",
            "--export",
        ],
    ] {
        let o = c.flotilla(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let text = stdout(&o);
        assert!(
            text.starts_with("---\napiVersion: ") && text.ends_with("\n\n"),
            "{text}"
        );
        c.ok(&["apply", "--dry-run=server", "-f", "-"], &text);
    }
    let o = c.flotilla(&[
        "create",
        "kustomization",
        "x",
        "--source=fleet",
        "--path=apps",
        "--export",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o), "error: invalid --path \"apps\": the path must begin with ./ (relative to the source root)\n");
}

#[test]
fn export_tree_version_and_install() {
    let c = Cluster::start();
    seed(&c);
    let o = c.flotilla(&["export", "source", "git", "--all"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    for gone in [
        "status:",
        "uid:",
        "resourceVersion:",
        "managedFields:",
        "creationTimestamp:",
        "generation:",
    ] {
        assert!(!text.contains(gone), "{gone} in {text}");
    }
    assert_eq!(text.matches("---\n").count(), 2);
    // The export is a backup: delete the objects, restore them from it.
    c.ok(
        &["delete", "gitrepository", "--all", "-n", "flux-system"],
        "",
    );
    c.ok(&["create", "-f", "-"], &text);
    c.ok(
        &[
            "get",
            "gitrepository",
            "podinfo",
            "broken",
            "-n",
            "flux-system",
        ],
        "",
    );

    let o = c.flotilla(&["tree", "ks", "apps"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "Kustomization/flux-system/apps\n\
         ├── Namespace/team\n\
         └── Kustomization/team/tenant\n    \
             └── Deployment/team/web\n"
    );

    let o = c.flotilla(&["version"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("\nkubernetes: v1."), "{}", stdout(&o));

    let o = c.flotilla(&["install", "--no-wait"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("✔ CRDs established"), "{}", stderr(&o));
    c.ok(
        &[
            "get",
            "deployment",
            "flotilla-controller",
            "-n",
            "flux-system",
        ],
        "",
    );
    // What --export prints is what install applied: a server-side apply of it changes nothing.
    let o = c.flotilla(&["install", "--export"]);
    c.ok(
        &[
            "apply",
            "--server-side",
            "--field-manager=flotilla",
            "--dry-run=server",
            "-f",
            "-",
        ],
        &stdout(&o),
    );
    let o = c.flotilla(&["check", "--pre"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // No simulated node here: the Deployment never becomes ready and check says so.
    let o = c.flotilla(&["check"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("0/1 replicas ready"), "{}", stderr(&o));
    let o = c.flotilla(&["uninstall", "--silent"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        c.kubectl(
            &[
                "get",
                "deployment",
                "flotilla-controller",
                "-n",
                "flux-system"
            ],
            ""
        )
        .status
        .code()
            != Some(0)
    );
    // CRDs and Flux objects stay.
    c.ok(
        &["get", "gitrepository", "podinfo", "-n", "flux-system"],
        "",
    );
}

#[test]
fn get_watch_prints_rows_as_objects_change() {
    use std::io::BufRead;
    let c = Cluster::start();
    seed(&c);
    let mut child = Command::new(env!("CARGO_BIN_EXE_flotilla"))
        .args(["get", "ks", "--watch"])
        .env("KUBECONFIG", &c.kubeconfig)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let out = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines() {
            if tx.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let next = || rx.recv_timeout(std::time::Duration::from_secs(20)).unwrap();
    assert!(next().starts_with("NAME\tREVISION"));
    assert!(next().starts_with("apps\tmain@sha1:16cfcc0b\tFalse"));
    c.set_status(
        "kustomization",
        "apps",
        "flux-system",
        &format!(
            "{{\"conditions\": [{}]}}",
            ready("False", "kustomize build failed")
        ),
    );
    let changed = next();
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        changed,
        "apps\tmain@sha1:16cfcc0b\tFalse\tFalse\tkustomize build failed\t"
    );
}

#[test]
fn events_about_flux_objects() {
    let c = Cluster::start();
    seed(&c);
    c.ok(
        &["create", "-f", "-"],
        "apiVersion: events.k8s.io/v1
kind: Event
metadata: {name: apps.1, namespace: flux-system}
eventTime: 2024-01-01T00:00:00.000000Z
reportingController: kustomize-controller
reportingInstance: kustomize-controller-1
action: Reconcile
reason: ReconciliationSucceeded
type: Normal
note: 'Reconciliation finished in 1s, next run in 10m0s'
regarding: {apiVersion: kustomize.toolkit.fluxcd.io/v1, kind: Kustomization, name: apps, namespace: flux-system}
---
apiVersion: events.k8s.io/v1
kind: Event
metadata: {name: web.1, namespace: flux-system}
eventTime: 2024-01-01T00:00:01.000000Z
reportingController: kubelet
reportingInstance: node-1
action: Pull
reason: Pulled
type: Normal
note: pulled
regarding: {apiVersion: v1, kind: Pod, name: web, namespace: flux-system}
",
    );
    let o = c.flotilla(&["events", "--for", "Kustomization/apps"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(lines[0].starts_with("LAST SEEN\tTYPE  \tREASON"), "{out}");
    assert!(
        lines[1].contains(
            "\tNormal\tReconciliationSucceeded\tKustomization/apps\tReconciliation finished in 1s"
        ),
        "{out}"
    );
    // Without --for: Flux objects only, not the Pod.
    let o = c.flotilla(&["events"]);
    assert!(!stdout(&o).contains("Pod/web"), "{}", stdout(&o));
    let o = c.flotilla(&["events", "--for", "apps"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn completion_and_client_version_need_no_cluster() {
    for shell in ["bash", "zsh", "fish"] {
        let o = flotilla_with(&["completion", shell], None);
        assert!(o.status.success());
        assert!(stdout(&o).contains("reconcile"), "{shell}");
    }
    let o = flotilla_with(&["version", "--client"], None);
    assert_eq!(
        stdout(&o),
        format!("flotilla: v{}\n", env!("CARGO_PKG_VERSION"))
    );
}
