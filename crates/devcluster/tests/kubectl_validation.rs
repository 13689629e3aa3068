//! kubectl against the dev cluster: built-in objects validated as kube-apiserver does
//! (unknown fields per --validate, type errors, required fields, immutable fields),
//! `kubectl create <kind>` (protobuf bodies) and `kubectl explain` (OpenAPI v3 schemas).
#![allow(clippy::unwrap_used)]

mod common;

use common::Cluster;

/// A Deployment manifest with `extra` spliced into its pod template's only container.
fn deployment(name: &str, app: &str, container_extra: &str, spec_extra: &str) -> String {
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  selector:
    matchLabels: {{app: {app}}}
  template:
    metadata:
      labels: {{app: {app}}}
    spec:
      containers:
      - name: web
        {container_extra}
{spec_extra}"
    )
}

fn stderr(c: &Cluster, args: &[&str], input: &str) -> (bool, String) {
    let out = c.kubectl_stdin(args, input);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn unknown_fields_follow_validate_mode() {
    let c = Cluster::start();
    let bad = deployment("d", "d", "image: nginx:1\n        bogus: 1", "  foo: 1\n");
    for verb in [&["apply", "-f", "-"][..], &["create", "-f", "-"][..]] {
        let (ok, err) = stderr(&c, verb, &bad);
        assert!(!ok, "{verb:?} should fail");
        assert!(
            err.contains(
                "Deployment in version \"v1\" cannot be handled as a Deployment: strict decoding error: unknown field \"spec.foo\", unknown field \"spec.template.spec.containers[0].bogus\""
            ),
            "{err}"
        );
    }
    let (ok, err) = stderr(&c, &["apply", "--validate=warn", "-f", "-"], &bad);
    assert!(ok, "{err}");
    assert!(
        err.contains("unknown field \"spec.foo\""),
        "warning expected: {err}"
    );
    let stored = c.json(&["get", "deploy", "d"]);
    assert!(stored["spec"].get("foo").is_none(), "{stored}");
    assert!(stored["spec"]["template"]["spec"]["containers"][0]
        .get("bogus")
        .is_none());
    let (ok, err) = stderr(&c, &["apply", "--validate=false", "-f", "-"], &bad);
    assert!(ok && !err.contains("unknown field"), "{err}");
    // Server-side apply refuses unknown fields too.
    let (ok, err) = stderr(&c, &["apply", "--server-side", "-f", "-"], &bad);
    assert!(!ok && err.contains("spec.foo"), "{err}");
    // Fields added to Kubernetes after the embedded v1.21 schema are accepted and kept.
    let newer = "apiVersion: apps/v1
kind: Deployment
metadata: {name: newer}
spec:
  selector: {matchLabels: {app: newer}}
  template:
    metadata: {labels: {app: newer}}
    spec:
      os: {name: linux}
      hostUsers: false
      containers:
      - name: web
        image: nginx:1
        resizePolicy: [{resourceName: cpu, restartPolicy: NotRequired}]
";
    c.ok_stdin(&["apply", "--server-side", "-f", "-"], newer);
    let stored = c.json(&["get", "deploy", "newer"]);
    assert_eq!(stored["spec"]["template"]["spec"]["os"]["name"], "linux");
}

#[test]
fn type_errors_and_required_fields() {
    let c = Cluster::start();
    let wrong_type = deployment("t", "t", "image: nginx:1", "  replicas: two\n");
    let (ok, err) = stderr(&c, &["apply", "-f", "-"], &wrong_type);
    assert!(!ok);
    assert!(
        err.contains("cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32"),
        "{err}"
    );
    let env = deployment(
        "e",
        "e",
        "image: nginx:1\n        env: [{name: A, value: 1}]",
        "",
    );
    let (ok, err) = stderr(&c, &["create", "-f", "-"], &env);
    assert!(!ok);
    assert!(
        err.contains(
            "Go struct field EnvVar.spec.template.spec.containers.env.value of type string"
        ),
        "{err}"
    );
    let no_image = deployment("noimage", "noimage", "ports: [{containerPort: 80}]", "");
    let (ok, err) = stderr(&c, &["apply", "-f", "-"], &no_image);
    assert!(!ok);
    assert!(
        err.contains(
            "The Deployment \"noimage\" is invalid: spec.template.spec.containers[0].image: Required value"
        ),
        "{err}"
    );
    let mismatch = deployment("m", "m", "image: nginx:1", "").replacen(
        "labels: {app: m}",
        "labels: {app: other}",
        1,
    );
    let (ok, err) = stderr(&c, &["apply", "--server-side", "-f", "-"], &mismatch);
    assert!(!ok);
    assert!(
        err.contains("`selector` does not match template `labels`"),
        "{err}"
    );
    let job = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: busybox:1}]\n";
    let (ok, err) = stderr(&c, &["create", "-f", "-"], job);
    assert!(!ok);
    assert!(
        err.contains("spec.template.spec.restartPolicy: Unsupported value: \"Always\": supported values: \"OnFailure\", \"Never\""),
        "{err}"
    );
    // Nothing half-stored.
    let all = c.ok(&["get", "deploy,job", "-o", "name"]);
    assert!(all.trim().is_empty(), "{all}");
    // stringData is folded into data, as the real server stores Secrets.
    c.ok_stdin(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\nstringData: {k: v}\n",
    );
    let s = c.json(&["get", "secret", "s"]);
    assert_eq!(s["data"]["k"], "dg==");
    assert!(s.get("stringData").is_none());
}

#[test]
fn immutable_fields_and_force_recreate() {
    let c = Cluster::start();
    c.ok_stdin(
        &["apply", "-f", "-"],
        &deployment("d", "a", "image: nginx:1", ""),
    );
    let uid = c.json(&["get", "deploy", "d"])["metadata"]["uid"].clone();
    let moved = deployment("d", "b", "image: nginx:1", "");
    let (ok, err) = stderr(&c, &["apply", "-f", "-"], &moved);
    assert!(!ok);
    assert!(
        err.contains("spec.selector: Invalid value: v1.LabelSelector{MatchLabels:map[string]string{\"app\":\"b\"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable"),
        "{err}"
    );
    let (ok, err) = stderr(
        &c,
        &["apply", "--server-side", "--force-conflicts", "-f", "-"],
        &moved,
    );
    assert!(!ok && err.contains("field is immutable"), "{err}");
    // kubectl apply --force deletes and recreates on an Invalid answer.
    c.ok_stdin(&["apply", "--force", "-f", "-"], &moved);
    let now = c.json(&["get", "deploy", "d"]);
    assert_ne!(now["metadata"]["uid"], uid);
    assert_eq!(now["spec"]["selector"]["matchLabels"]["app"], "b");

    let cm = |v: &str| {
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: frozen}}\nimmutable: true\ndata: {{k: {v}}}\n")
    };
    c.ok_stdin(&["apply", "-f", "-"], &cm("a"));
    let (ok, err) = stderr(&c, &["apply", "-f", "-"], &cm("b"));
    assert!(!ok);
    assert!(
        err.contains("data: Forbidden: field is immutable when `immutable` is set"),
        "{err}"
    );

    let job = |image: &str| {
        format!("apiVersion: batch/v1\nkind: Job\nmetadata: {{name: j}}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{{name: c, image: {image}}}]\n")
    };
    c.ok_stdin(&["apply", "--server-side", "-f", "-"], &job("busybox:1"));
    let (ok, err) = stderr(
        &c,
        &["apply", "--server-side", "-f", "-"],
        &job("busybox:2"),
    );
    assert!(!ok);
    assert!(
        err.contains("The Job \"j\" is invalid: spec.template: Invalid value:")
            && err.contains("field is immutable"),
        "{err}"
    );

    let svc = |ip: &str| {
        format!("apiVersion: v1\nkind: Service\nmetadata: {{name: s}}\nspec:\n  clusterIP: {ip}\n  ports: [{{port: 80}}]\n")
    };
    c.ok_stdin(&["apply", "-f", "-"], &svc("10.96.7.7"));
    let (ok, err) = stderr(&c, &["apply", "-f", "-"], &svc("10.96.7.8"));
    assert!(!ok);
    assert!(
        err.contains("spec.clusterIP: Invalid value: \"10.96.7.8\": field is immutable"),
        "{err}"
    );
    // Leaving clusterIP out keeps the allocated one.
    c.ok_stdin(
        &["replace", "-f", "-"],
        "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec:\n  ports: [{port: 81}]\n",
    );
    assert_eq!(
        c.json(&["get", "svc", "s"])["spec"]["clusterIP"],
        "10.96.7.7"
    );
}

/// Every leaf of `want` is in `got` (nulls and empty objects in `want` stand for fields
/// the server fills or drops); `at` names the place for the failure message.
fn assert_subset(want: &serde_json::Value, got: &serde_json::Value, at: &str) {
    use serde_json::Value;
    match (want, got) {
        (Value::Null, _) => {}
        (Value::Object(w), _) if w.is_empty() => {}
        (Value::Object(w), Value::Object(g)) => {
            for (k, v) in w {
                assert_subset(v, g.get(k).unwrap_or(&Value::Null), &format!("{at}.{k}"));
            }
        }
        (Value::Array(w), Value::Array(g)) => {
            assert_eq!(w.len(), g.len(), "{at}: {want} vs {got}");
            for (i, (a, b)) in w.iter().zip(g).enumerate() {
                assert_subset(a, b, &format!("{at}[{i}]"));
            }
        }
        _ => assert_eq!(want, got, "{at}"),
    }
}

#[test]
fn kubectl_create_subcommands_sent_as_protobuf() {
    let c = Cluster::start();
    let cases: &[&[&str]] = &[
        &[
            "deployment",
            "d1",
            "--image=nginx:1",
            "--replicas=0",
            "--port=8080",
            "--",
            "sleep",
            "10",
        ],
        &[
            "deployment",
            "d2",
            "--image=nginx:1",
            "--image=busybox:1",
            "--replicas=3",
        ],
        &["job", "j1", "--image=busybox:1", "--", "echo", "hi"],
        &[
            "cronjob",
            "c1",
            "--image=busybox:1",
            "--schedule=*/5 * * * *",
            "--",
            "echo",
            "hi",
        ],
        &[
            "service",
            "clusterip",
            "s1",
            "--tcp=80:8080",
            "--tcp=443:https",
        ],
        &["service", "clusterip", "headless", "--clusterip=None"],
        &[
            "service",
            "nodeport",
            "s2",
            "--tcp=80:8080",
            "--node-port=30080",
        ],
        &["service", "loadbalancer", "s3", "--tcp=80"],
        &[
            "service",
            "externalname",
            "s4",
            "--external-name=example.com",
        ],
        &[
            "role",
            "r1",
            "--verb=get,list",
            "--resource=pods,deployments.apps",
            "--resource-name=x",
        ],
        &[
            "clusterrole",
            "cr1",
            "--verb=get",
            "--non-resource-url=/logs",
        ],
        &["clusterrole", "cr2", "--aggregation-rule=a=b"],
        &[
            "rolebinding",
            "rb1",
            "--role=r1",
            "--user=u",
            "--group=g",
            "--serviceaccount=default:sa",
        ],
        &[
            "clusterrolebinding",
            "crb1",
            "--clusterrole=cr1",
            "--user=u",
        ],
        &["priorityclass", "pc0", "--value=0", "--description=zero"],
        &[
            "priorityclass",
            "pc1",
            "--value=-5",
            "--global-default=true",
            "--preemption-policy=Never",
        ],
        &[
            "quota",
            "q1",
            "--hard=cpu=1,memory=1Gi,pods=2",
            "--scopes=BestEffort",
        ],
        &["pdb", "p1", "--selector=app=x", "--min-available=50%"],
        &["pdb", "p2", "--selector=app=y", "--max-unavailable=1"],
        &[
            "ingress",
            "i1",
            "--class=nginx",
            "--rule=foo.com/bar*=svc1:8080,tls=sec",
            "--default-backend=svc2:http",
            "--annotation=a=b",
        ],
        &[
            "secret",
            "docker-registry",
            "dr1",
            "--docker-server=r",
            "--docker-username=u",
            "--docker-password=p",
        ],
    ];
    for args in cases {
        let mut create = vec!["create"];
        create.extend_from_slice(args);
        // Flags go before a `--` that starts the container command.
        let split = create
            .iter()
            .position(|a| *a == "--")
            .unwrap_or(create.len());
        let mut dry = create[..split].to_vec();
        dry.extend(["--dry-run=client", "-o", "json"]);
        dry.extend_from_slice(&create[split..]);
        let mut want: serde_json::Value = serde_json::from_str(&c.ok(&dry)).unwrap();
        want["status"] = serde_json::Value::Null;
        c.ok(&create);
        let kind = want["kind"].as_str().unwrap().to_lowercase();
        let name = want["metadata"]["name"].as_str().unwrap().to_string();
        let got = c.json(&["get", &kind, &name]);
        assert_subset(&want, &got, &format!("{kind}/{name}"));
    }
}

const GADGET_CRD: &str = r#"
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [size]
            properties:
              size: {type: integer}
              tags: {type: array, items: {type: string}}
"#;

#[test]
fn kubectl_explain_built_in_and_custom_kinds() {
    let c = Cluster::start();
    let out = c.ok(&["explain", "deployment.spec.template.spec.containers"]);
    assert!(out.contains("KIND:       Deployment"), "{out}");
    assert!(out.contains("FIELD: containers <[]Container>"), "{out}");
    for field in [
        "image\t<string>",
        "ports\t<[]ContainerPort>",
        "resources\t<ResourceRequirements>",
    ] {
        assert!(out.contains(field), "{field}: {out}");
    }
    let out = c.ok(&["explain", "svc.spec.ports.targetPort"]);
    assert!(out.contains("FIELD: targetPort <IntOrString>"), "{out}");
    let out = c.ok(&["explain", "cronjobs", "--recursive"]);
    assert!(out.contains("jobTemplate\t<JobTemplateSpec>"), "{out}");
    c.ok_stdin(&["apply", "-f", "-"], GADGET_CRD);
    c.ok(&[
        "wait",
        "--for",
        "condition=Established",
        "crd/gadgets.example.com",
        "--timeout=10s",
    ]);
    let out = c.ok(&["explain", "gadget.spec"]);
    assert!(out.contains("KIND:       Gadget"), "{out}");
    assert!(out.contains("size\t<integer> -required-"), "{out}");
    assert!(out.contains("tags\t<[]string>"), "{out}");
    let out = c.ok(&["explain", "gadget.metadata"]);
    assert!(out.contains("labels\t<map[string]string>"), "{out}");
}
