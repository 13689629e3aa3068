//! kubectl against the in-process dev cluster: the verbs people and Flotilla use.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use common::{corpus, eventually, Cluster};

/// A ConfigMap manifest (sent as JSON, unlike `kubectl create configmap`'s protobuf).
fn cm(name: &str) -> String {
    format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  a: \"1\"\n")
}

#[test]
fn sock_shop_server_side_apply_becomes_available() {
    let c = Cluster::start();
    let demo = corpus("microservices-demo/deploy/kubernetes/complete-demo.yaml");
    let out = c.ok(&["apply", "--server-side", "-f", demo.to_str().unwrap()]);
    assert_eq!(
        out.lines()
            .filter(|l| l.ends_with("serverside-applied"))
            .count(),
        29,
        "{out}"
    );
    c.ok(&[
        "wait",
        "--for=condition=Available",
        "deployment",
        "--all",
        "-n",
        "sock-shop",
        "--timeout=30s",
    ]);
    let deploys = c.json(&["get", "deploy", "-n", "sock-shop"]);
    let items = deploys["items"].as_array().unwrap();
    assert_eq!(items.len(), 14);
    for d in items {
        assert_eq!(
            d["status"]["availableReplicas"], d["spec"]["replicas"],
            "{}",
            d["metadata"]["name"]
        );
        assert_eq!(
            d["status"]["observedGeneration"],
            d["metadata"]["generation"]
        );
    }
    let table = c.ok(&["get", "deploy", "-n", "sock-shop"]);
    assert!(table.starts_with("NAME"), "{table}");
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("carts ") && l.contains("1/1")),
        "{table}"
    );
    c.ok(&[
        "rollout",
        "status",
        "deployment/front-end",
        "-n",
        "sock-shop",
        "--timeout=20s",
    ]);
    // Applying the same configuration again changes nothing.
    let before = c.json(&["get", "deploy", "carts", "-n", "sock-shop"]);
    let again = c.ok(&["apply", "--server-side", "-f", demo.to_str().unwrap()]);
    assert_eq!(
        again
            .lines()
            .filter(|l| l.ends_with("serverside-applied"))
            .count(),
        29
    );
    let after = c.json(&[
        "get",
        "deploy",
        "carts",
        "-n",
        "sock-shop",
        "--show-managed-fields",
    ]);
    assert_eq!(
        before["metadata"]["resourceVersion"],
        after["metadata"]["resourceVersion"]
    );
    let mf = after["metadata"]["managedFields"].as_array().unwrap();
    assert!(
        mf.iter()
            .any(|m| m["manager"] == "kubectl" && m["operation"] == "Apply"),
        "{mf:?}"
    );
    assert!(
        mf.iter()
            .any(|m| m["manager"] == "kube-controller-manager" && m["subresource"] == "status"),
        "{mf:?}"
    );
}

const APP: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  mode: fast
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.25
      - name: sidecar
        image: busybox:1
"#;

#[test]
fn client_side_apply_label_annotate_and_patches() {
    let c = Cluster::start();
    let out = c.ok_stdin(&["apply", "-f", "-"], APP);
    assert!(
        out.contains("configmap/settings created") && out.contains("deployment.apps/web created"),
        "{out}"
    );
    let yaml = c.ok(&["get", "deploy", "web", "-o", "yaml"]);
    assert!(
        yaml.contains("kubectl.kubernetes.io/last-applied-configuration"),
        "{yaml}"
    );
    assert!(yaml.contains("generation: 1"), "{yaml}");
    // Client-side apply of a change: a strategic merge patch computed by kubectl.
    let changed = APP
        .replace("image: nginx:1.25", "image: nginx:1.26")
        .replace("mode: fast", "mode: slow");
    let out = c.ok_stdin(&["apply", "-f", "-"], &changed);
    assert!(out.contains("deployment.apps/web configured"), "{out}");
    let d = c.json(&["get", "deploy", "web"]);
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.26"
    );
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][1]["name"],
        "sidecar"
    );
    assert_eq!(d["metadata"]["generation"], 2);

    c.ok(&["label", "deploy", "web", "tier=front"]);
    c.ok(&["annotate", "deploy", "web", "note=hello"]);
    let d = c.json(&["get", "deploy", "web"]);
    assert_eq!(d["metadata"]["labels"]["tier"], "front");
    assert_eq!(d["metadata"]["annotations"]["note"], "hello");
    // Metadata changes do not bump generation.
    assert_eq!(d["metadata"]["generation"], 2);

    // Strategic: containers merge by name, so the sidecar stays.
    c.ok(&[
        "patch",
        "deploy",
        "web",
        "--type",
        "strategic",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"web","image":"nginx:1.27"}]}}}}"#,
    ]);
    let d = c.json(&["get", "deploy", "web"]);
    let containers = d["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(containers.len(), 2);
    assert_eq!(containers[0]["image"], "nginx:1.27");
    // Merge patch: lists are replaced.
    c.ok(&[
        "patch",
        "cm",
        "settings",
        "--type",
        "merge",
        "-p",
        r#"{"data":{"extra":"1"}}"#,
    ]);
    // JSON patch.
    c.ok(&[
        "patch",
        "deploy",
        "web",
        "--type",
        "json",
        "-p",
        r#"[{"op":"replace","path":"/spec/replicas","value":3}]"#,
    ]);
    let d = c.json(&["get", "deploy", "web"]);
    assert_eq!(d["spec"]["replicas"], 3);
    let cm = c.json(&["get", "cm", "settings"]);
    assert_eq!(cm["data"]["extra"], "1");
    assert_eq!(cm["data"]["mode"], "slow");
    // A failing JSON patch test op changes nothing and reports the failure.
    let err = c.fails(&[
        "patch",
        "deploy",
        "web",
        "--type",
        "json",
        "-p",
        r#"[{"op":"test","path":"/spec/replicas","value":9}]"#,
    ]);
    assert!(!err.is_empty());

    // diff --server-side on a server-side applied object: exit 1 with a difference, 0 without.
    let ssa = APP
        .replace("name: web", "name: api")
        .replace("name: settings", "name: api-settings");
    c.ok_stdin(&["apply", "--server-side", "-f", "-"], &ssa);
    let scaled = ssa.replace("replicas: 2", "replicas: 5");
    let out = c.kubectl_stdin(&["diff", "--server-side", "-f", "-"], &scaled);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let diff = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        diff.contains("+  replicas: 5") && diff.contains("-  replicas: 2"),
        "{diff}"
    );
    c.ok_stdin(&["apply", "--server-side", "-f", "-"], &scaled);
    // The simulated node rewrites status after the scale-up; a diff taken while it does so
    // would (rightly) show the status change, so let the rollout settle first.
    c.ok(&["rollout", "status", "deployment/api", "--timeout=20s"]);
    let out = c.kubectl_stdin(&["diff", "--server-side", "-f", "-"], &scaled);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn server_side_apply_conflicts_name_the_manager() {
    let c = Cluster::start();
    c.ok_stdin(
        &[
            "apply",
            "--server-side",
            "--field-manager",
            "alice",
            "-f",
            "-",
        ],
        APP,
    );
    let bob = APP.replace("replicas: 2", "replicas: 4");
    let out = c.kubectl_stdin(
        &[
            "apply",
            "--server-side",
            "--field-manager",
            "bob",
            "-f",
            "-",
        ],
        &bob,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("conflict") && err.contains("alice") && err.contains(".spec.replicas"),
        "{err}"
    );
    c.ok_stdin(
        &[
            "apply",
            "--server-side",
            "--field-manager",
            "bob",
            "--force-conflicts",
            "-f",
            "-",
        ],
        &bob,
    );
    assert_eq!(c.json(&["get", "deploy", "web"])["spec"]["replicas"], 4);
}

#[test]
fn get_watch_streams_changes() {
    let c = Cluster::start();
    c.ok_stdin(&["apply", "-f", "-"], &cm("one"));
    let mut child = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&c.kubeconfig)
        .args([
            "get",
            "configmaps",
            "--watch",
            "--output-watch-events",
            "--no-headers",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let first = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let event = |line: String| {
        line.split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(event(first), "ADDED one");
    c.ok_stdin(&["apply", "-f", "-"], &cm("two"));
    c.ok(&["label", "configmap", "one", "x=y"]);
    c.ok(&["delete", "configmap", "two"]);
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(event(rx.recv_timeout(Duration::from_secs(10)).unwrap()));
    }
    child.kill().unwrap();
    let _ = child.wait();
    assert_eq!(seen, ["ADDED two", "MODIFIED one", "DELETED two"]);
}

#[test]
fn foreground_deletion_waits_for_dependents() {
    let c = Cluster::start();
    c.ok_stdin(&["apply", "-f", "-"], APP);
    let d = c.json(&["get", "deploy", "web"]);
    let uid = d["metadata"]["uid"].as_str().unwrap();
    let dependent = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: owned\n  ownerReferences:\n  - apiVersion: apps/v1\n    kind: Deployment\n    name: web\n    uid: {uid}\n    blockOwnerDeletion: true\n"
    );
    c.ok_stdin(&["create", "-f", "-"], &dependent);
    c.ok(&[
        "delete",
        "deploy",
        "web",
        "--cascade=foreground",
        "--timeout=20s",
    ]);
    assert!(c.fails(&["get", "cm", "owned"]).contains("NotFound"));
    assert!(c.fails(&["get", "deploy", "web"]).contains("NotFound"));
    // Background: the owner goes at once, the garbage collector takes the dependent.
    c.ok_stdin(&["apply", "-f", "-"], APP);
    let uid = c.json(&["get", "deploy", "web"])["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    c.ok_stdin(
        &["create", "-f", "-"],
        &dependent.replace(&d["metadata"]["uid"].as_str().unwrap().to_string(), &uid),
    );
    c.ok(&["delete", "deploy", "web"]);
    assert!(eventually(Duration::from_secs(10), || !c
        .kubectl(&["get", "cm", "owned"])
        .status
        .success()));
    // Orphan: the dependent stays, without its owner reference.
    c.ok_stdin(&["apply", "-f", "-"], APP);
    let uid2 = c.json(&["get", "deploy", "web"])["metadata"]["uid"]
        .as_str()
        .unwrap()
        .to_string();
    c.ok_stdin(
        &["create", "-f", "-"],
        &dependent.replace(&d["metadata"]["uid"].as_str().unwrap().to_string(), &uid2),
    );
    c.ok(&["delete", "deploy", "web", "--cascade=orphan"]);
    assert!(eventually(Duration::from_secs(10), || {
        c.json(&["get", "cm", "owned"])["metadata"]["ownerReferences"].is_null()
    }));
}

#[test]
fn namespace_deletion_removes_its_contents() {
    let c = Cluster::start();
    c.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: scratch}\n",
    );
    c.ok_stdin(&["apply", "-n", "scratch", "-f", "-"], &cm("x"));
    c.ok_stdin(
        &["apply", "-n", "scratch", "-f", "-"],
        "apiVersion: v1\nkind: Secret\nmetadata: {name: \"y\"}\nstringData: {k: v}\n",
    );
    c.ok(&["delete", "namespace", "scratch", "--timeout=20s"]);
    assert!(c.fails(&["get", "ns", "scratch"]).contains("NotFound"));
    assert!(c
        .ok(&["get", "cm", "-A", "-o", "name"])
        .lines()
        .all(|l| l != "configmap/x"));
    // Creating in a missing namespace fails.
    let out = c.kubectl_stdin(&["create", "-n", "missing", "-f", "-"], &cm("z"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("namespaces \"missing\" not found"), "{err}");
}

#[test]
fn api_resources_and_discovery() {
    let c = Cluster::start();
    let out = c.ok(&["api-resources"]);
    for want in [
        "deployments",
        "customresourcedefinitions",
        "horizontalpodautoscalers",
        "leases",
        "priorityclasses",
        "validatingwebhookconfigurations",
    ] {
        assert!(
            out.lines().any(|l| l.starts_with(want)),
            "{want} missing from\n{out}"
        );
    }
    let ns = c.ok(&["get", "namespaces", "-o", "name"]);
    for want in ["default", "kube-system", "kube-public", "kube-node-lease"] {
        assert!(ns.lines().any(|l| l == format!("namespace/{want}")), "{ns}");
    }
    let versions = c.ok(&["api-versions"]);
    assert!(
        versions.contains("autoscaling/v2") && versions.contains("apps/v1"),
        "{versions}"
    );
}

const CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd], categories: [all]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer, minimum: 1}
              color: {type: string, default: blue}
          status:
            type: object
            properties:
              ready: {type: boolean}
"#;

#[test]
fn custom_resources() {
    let c = Cluster::start();
    c.ok_stdin(&["apply", "-f", "-"], CRD);
    c.ok(&[
        "wait",
        "--for",
        "condition=Established",
        "crd/widgets.example.com",
        "--timeout=10s",
    ]);
    c.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 3}\n",
    );
    let w = c.json(&["get", "wd", "w1"]);
    assert_eq!(w["spec"]["color"], "blue", "defaults applied: {w}");
    let table = c.ok(&["get", "widgets"]);
    assert!(
        table.contains("SIZE")
            && table
                .lines()
                .any(|l| l.starts_with("w1") && l.contains('3')),
        "{table}"
    );
    // Validation: 422 naming the field.
    let err = String::from_utf8_lossy(
        &c.kubectl_stdin(
            &["apply", "-f", "-"],
            "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w2}\nspec: {size: 0}\n",
        )
        .stderr,
    )
    .to_string();
    assert!(
        err.contains("spec.size") && err.contains("Invalid"),
        "{err}"
    );
    // Unknown fields: rejected under kubectl's default strict validation.
    let out = c.kubectl_stdin(&["apply", "-f", "-"], "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w3}\nspec: {size: 1, shape: round}\n");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown field \"spec.shape\""));
    // ...and pruned when validation is off.
    c.ok_stdin(&["apply", "--validate=false", "-f", "-"], "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w3}\nspec: {size: 1, shape: round}\n");
    assert!(c.json(&["get", "widget", "w3"])["spec"]["shape"].is_null());
    // Status subresource: spec writes leave status alone and status writes leave generation.
    c.ok(&[
        "patch",
        "widget",
        "w1",
        "--subresource=status",
        "--type=merge",
        "-p",
        r#"{"status":{"ready":true}}"#,
    ]);
    let w = c.json(&["get", "widget", "w1"]);
    assert_eq!(w["status"]["ready"], true);
    assert_eq!(w["metadata"]["generation"], 1);
    // An object read back with its managedFields (the status entry carries `subresource`,
    // newer than the embedded schema) replaces cleanly under strict validation.
    let live = c.ok(&["get", "widget", "w1", "-o", "json", "--show-managed-fields"]);
    assert!(live.contains("\"subresource\": \"status\""), "{live}");
    c.ok_stdin(&["replace", "--validate=strict", "-f", "-"], &live);
    c.ok(&[
        "patch",
        "widget",
        "w1",
        "--type=merge",
        "-p",
        r#"{"spec":{"size":4},"status":{"ready":false}}"#,
    ]);
    let w = c.json(&["get", "widget", "w1"]);
    assert_eq!(
        (
            w["status"]["ready"].clone(),
            w["metadata"]["generation"].clone()
        ),
        (serde_json::json!(true), serde_json::json!(2))
    );
    // Category "all" includes the kind.
    assert!(c
        .ok(&["get", "all", "-o", "name"])
        .contains("widget.example.com/w1"));
    // Deleting the CRD deletes its objects and stops serving the kind.
    c.ok(&["delete", "crd", "widgets.example.com"]);
    assert!(eventually(Duration::from_secs(5), || !c
        .kubectl(&["get", "widgets"])
        .status
        .success()));
}

#[test]
fn bad_input_gets_status_errors() {
    let c = Cluster::start();
    let out = c.kubectl_stdin(&["create", "-f", "-"], &cm("Bad_Name"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Invalid value: \"Bad_Name\"") && err.contains("RFC 1123"),
        "{err}"
    );
    c.ok_stdin(&["create", "-f", "-"], &cm("once"));
    let out = c.kubectl_stdin(&["create", "-f", "-"], &cm("once"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("AlreadyExists") && err.contains("configmaps \"once\" already exists"),
        "{err}"
    );
    let err = c.fails(&["get", "configmap", "nope"]);
    assert!(
        err.contains("NotFound") && err.contains("configmaps \"nope\" not found"),
        "{err}"
    );
    let err = c.fails(&["get", "frobnicators"]);
    assert!(err.contains("doesn't have a resource type"), "{err}");
    // A wrong token is refused.
    let bad = std::fs::read_to_string(&c.kubeconfig)
        .unwrap()
        .replace(&c.handle().token, "wrong");
    let path = c.dir.path().join("bad-kubeconfig");
    std::fs::write(&path, bad).unwrap();
    let out = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&path)
        .args(["get", "ns"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Unauthorized")
            || String::from_utf8_lossy(&out.stderr).contains("logged in")
    );
    // The server keeps serving.
    c.ok(&["get", "ns"]);
}

#[test]
fn kubectl_create_generators() {
    let c = Cluster::start();
    c.ok(&["create", "namespace", "made"]);
    c.ok(&[
        "create",
        "configmap",
        "gen",
        "-n",
        "made",
        "--from-literal=a=1",
        "--from-literal=b=two",
    ]);
    c.ok(&[
        "create",
        "secret",
        "generic",
        "sec",
        "-n",
        "made",
        "--from-literal=k=v",
    ]);
    c.ok(&["create", "serviceaccount", "robot", "-n", "made"]);
    let cm = c.json(&["get", "cm", "gen", "-n", "made"]);
    assert_eq!(cm["data"], serde_json::json!({"a": "1", "b": "two"}));
    let sec = c.json(&["get", "secret", "sec", "-n", "made"]);
    assert_eq!(sec["data"]["k"], "dg==");
    assert_eq!(c.json(&["get", "ns", "made"])["status"]["phase"], "Active");
}

const HELD_BACK: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: stuck
  annotations: {dev.flotilla.io/simulate: unready}
spec:
  selector: {matchLabels: {app: stuck}}
  template:
    metadata: {labels: {app: stuck}}
    spec: {containers: [{name: c, image: busybox:1}]}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken
  annotations: {dev.flotilla.io/simulate: failed}
spec:
  selector: {matchLabels: {app: broken}}
  template:
    metadata: {labels: {app: broken}}
    spec: {containers: [{name: c, image: busybox:1}]}
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox:1}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
---
apiVersion: v1
kind: Service
metadata: {name: lb}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{port: 80}]
"#;

#[test]
fn simulated_node_fills_status_and_annotations_hold_objects_back() {
    let c = Cluster::start();
    c.ok_stdin(&["apply", "-f", "-"], HELD_BACK);
    c.ok(&[
        "wait",
        "--for=condition=Complete",
        "job/once",
        "--timeout=20s",
    ]);
    c.ok(&[
        "wait",
        "--for=jsonpath={.status.phase}=Bound",
        "pvc/data",
        "--timeout=20s",
    ]);
    c.ok(&[
        "wait",
        "--for=jsonpath={.status.loadBalancer.ingress[0].ip}=127.0.0.1",
        "svc/lb",
        "--timeout=20s",
    ]);
    // Unready: observed, but never Available.
    assert!(eventually(Duration::from_secs(10), || {
        c.json(&["get", "deploy", "stuck"])["status"]["observedGeneration"] == 1
    }));
    c.fails(&[
        "wait",
        "--for=condition=Available",
        "deploy/stuck",
        "--timeout=1s",
    ]);
    // Failed: Progressing=False with the real controller's reason; rollout status gives up.
    assert!(eventually(Duration::from_secs(10), || {
        let d = c.json(&["get", "deploy", "broken"]);
        d["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|x| x["type"] == "Progressing" && x["reason"] == "ProgressDeadlineExceeded")
        })
    }));
    let err = c.fails(&["rollout", "status", "deploy/broken", "--timeout=5s"]);
    assert!(err.contains("exceeded its progress deadline"), "{err}");
    // Removing the annotation lets the simulated node make it ready.
    c.ok(&["annotate", "deploy", "stuck", "dev.flotilla.io/simulate-"]);
    c.ok(&[
        "wait",
        "--for=condition=Available",
        "deploy/stuck",
        "--timeout=20s",
    ]);
}

/// Moving an object from client-side to server-side apply (what `kubectl apply --server-side`
/// does after years of `kubectl apply`, and what Flux's first reconcile does to hand-applied
/// objects) keeps every field still applied and the last-applied annotation's co-owner.
#[test]
fn client_side_then_server_side_apply_keeps_the_data() {
    let c = Cluster::start();
    c.ok_stdin(&["apply", "-f", "-"], APP);
    let out = c.ok_stdin(&["apply", "--server-side", "-f", "-"], APP);
    assert!(
        out.contains("configmap/settings serverside-applied"),
        "{out}"
    );
    let cm = c.json(&["get", "configmap", "settings"]);
    assert_eq!(cm["data"]["mode"], "fast", "{cm}");
    let web = c.json(&["get", "deploy", "web"]);
    let containers = web["spec"]["template"]["spec"]["containers"]
        .as_array()
        .unwrap();
    assert_eq!(containers.len(), 2, "{web}");
    assert_eq!(web["spec"]["replicas"], 2, "{web}");
}

/// `kubectl get` prints the server's Table: kube-apiserver's column names for the built-in
/// kinds, and cells computed from each object.
#[test]
fn get_tables_have_the_api_servers_columns() {
    let c = Cluster::start_with(flotilla_devcluster::Options {
        simulate: None,
        ..flotilla_devcluster::Options::default()
    });
    c.ok_stdin(
        &["apply", "-f", "-"],
        r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: default}
data: {a: "1", b: "2"}
binaryData: {c: AA==}
---
apiVersion: v1
kind: Secret
metadata: {name: token, namespace: default}
type: kubernetes.io/basic-auth
stringData: {username: u, password: p}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  type: ClusterIP
  clusterIP: 10.96.0.20
  ports: [{name: http, port: 80, protocol: TCP}, {name: dns, port: 53, protocol: UDP}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: default}
spec:
  accessModes: [ReadWriteOnce, ReadOnlyMany]
  storageClassName: fast
  resources: {requests: {storage: 1Gi}}
"#,
    );
    let rows = |what: &str| -> Vec<Vec<String>> {
        c.ok(&["get", what, "-n", "default"])
            .lines()
            .map(|l| {
                // Columns are separated by runs of 3+ spaces; "ACCESS MODES" keeps its space.
                l.split("   ")
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .collect()
    };
    let cm = rows("configmap/settings");
    assert_eq!(cm[0], ["NAME", "DATA", "AGE"]);
    assert_eq!(cm[1][..2], ["settings", "3"]);
    let secret = rows("secret/token");
    assert_eq!(secret[0], ["NAME", "TYPE", "DATA", "AGE"]);
    assert_eq!(secret[1][..3], ["token", "kubernetes.io/basic-auth", "2"]);
    let svc = rows("service/web");
    assert_eq!(
        svc[0],
        [
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE"
        ]
    );
    assert_eq!(
        svc[1][..5],
        ["web", "ClusterIP", "10.96.0.20", "<none>", "80/TCP,53/UDP"]
    );
    let deploy = rows("deployment/web");
    assert_eq!(
        deploy[0],
        ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    );
    assert_eq!(deploy[1][..4], ["web", "0/3", "0", "0"]);
    let pvc = rows("pvc/data");
    assert_eq!(
        pvc[0],
        [
            "NAME",
            "STATUS",
            "VOLUME",
            "CAPACITY",
            "ACCESS MODES",
            "STORAGECLASS",
            "AGE"
        ]
    );
    assert_eq!(pvc[1][..2], ["data", "Pending"]);
    let ns = c.ok(&["get", "namespace", "default"]);
    assert!(
        ns.starts_with("NAME ") && ns.contains("STATUS") && ns.contains("AGE"),
        "{ns}"
    );
    let crd_less = c.ok(&["get", "crd"]);
    assert!(
        crd_less.is_empty() || crd_less.starts_with("NAME"),
        "{crd_less}"
    );
}
