//! The controller's options (Flux's generated kustomization, spec overrides, fence, fifo order) checked against kubectl on the equivalent kustomization, and bad input that must fail cleanly.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use flotilla_kustomize::{build, BuildError, BuildOptions, Order, Overrides};
use serde_json::json;

fn write(root: &Path, files: &[(&str, &str)]) {
    for (p, body) in files {
        let p = root.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
}

fn kubectl(dir: &Path) -> String {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("kubectl must be installed (it is the oracle)");
    assert!(
        out.status.success(),
        "kubectl failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn ours(dir: &Path, opts: &BuildOptions) -> String {
    flotilla_yaml::to_string_multi(&build(dir, opts).unwrap().objects)
}

const SVC: &str =
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n";
const DEP: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: app\n        image: nginx:1.0\n";

#[test]
fn generated_kustomization_follows_flux_rules() {
    let t = tempfile::tempdir().unwrap();
    let plain = t.path().join("plain");
    write(
        &plain,
        &[
            ("b.yaml", SVC),
            ("a/dep.yml", DEP),
            ("a/notes.txt", "not yaml"),
            (
                "ignored/x.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ignored\n",
            ),
            (".sourceignore", "ignored/\n"),
            (
                "sub/kustomization.yaml",
                "resources: [cm.yaml]\nnamePrefix: sub-\n",
            ),
            (
                "sub/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
            ),
            (
                "sub/deeper.yaml",
                "this file belongs to sub's kustomization: {",
            ),
        ],
    );
    let opts = BuildOptions {
        generate_missing_kustomization: true,
        order: Order::Fifo,
        ..BuildOptions::default()
    };
    let got = build(&plain, &opts).unwrap();
    let names: Vec<&str> = got
        .objects
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap())
        .collect();
    // Lexical walk order: a/dep.yml, b.yaml, then sub/ as a kustomization.
    assert_eq!(names, vec!["web", "web", "sub-cm"]);

    // The same directory with the kustomization.yaml Flux would write, built by kubectl.
    let with = t.path().join("with");
    write(
        &with,
        &[
            ("b.yaml", SVC),
            ("a/dep.yml", DEP),
            (
                "sub/kustomization.yaml",
                "resources: [cm.yaml]\nnamePrefix: sub-\n",
            ),
            (
                "sub/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n",
            ),
            (
                "kustomization.yaml",
                "resources:\n- a/dep.yml\n- b.yaml\n- sub\n",
            ),
        ],
    );
    let legacy = BuildOptions {
        generate_missing_kustomization: true,
        ..BuildOptions::default()
    };
    assert_eq!(ours(&plain, &legacy), kubectl(&with));
}

#[test]
fn overrides_match_the_kustomization_flux_writes() {
    let t = tempfile::tempdir().unwrap();
    let base = t.path().join("base");
    write(
        &base,
        &[
            ("svc.yaml", SVC),
            ("dep.yaml", DEP),
            ("kustomization.yaml", "resources: [svc.yaml, dep.yaml]\n"),
            (
                "comp/kustomization.yaml",
                "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonAnnotations:\n  comp: \"on\"\n",
            ),
        ],
    );
    let mut labels = serde_json::Map::new();
    labels.insert("team".into(), json!("a"));
    let mut annotations = serde_json::Map::new();
    annotations.insert("owner".into(), json!("me"));
    let opts = BuildOptions {
        overrides: Overrides {
            target_namespace: Some("apps".into()),
            name_prefix: Some("p-".into()),
            name_suffix: Some("-s".into()),
            patches: vec![
                json!({"patch": "- op: add\n  path: /spec/type\n  value: NodePort\n", "target": {"kind": "Service"}}),
            ],
            images: vec![json!({"name": "nginx", "newTag": "2.0"})],
            components: vec!["comp".into(), "missing".into()],
            ignore_missing_components: true,
            common_labels: labels,
            common_annotations: annotations,
        },
        ..BuildOptions::default()
    };
    let got = ours(&base, &opts);
    let flux = t.path().join("flux");
    write(
        &flux,
        &[
            ("svc.yaml", SVC),
            ("dep.yaml", DEP),
            (
                "comp/kustomization.yaml",
                "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonAnnotations:\n  comp: \"on\"\n",
            ),
            (
                "meta.yaml",
                "apiVersion: builtin\nkind: LabelTransformer\nmetadata:\n  name: l\nlabels:\n  team: a\n\
                 fieldSpecs:\n- path: metadata/labels\n  create: true\n---\napiVersion: builtin\n\
                 kind: AnnotationsTransformer\nmetadata:\n  name: a\nannotations:\n  owner: me\n\
                 fieldSpecs:\n- path: metadata/annotations\n  create: true\n",
            ),
            (
                "kustomization.yaml",
                "resources: [svc.yaml, dep.yaml]\nnamespace: apps\nnamePrefix: p-\nnameSuffix: -s\n\
                 patches:\n- patch: |\n    - op: add\n      path: /spec/type\n      value: NodePort\n  target:\n    kind: Service\n\
                 images:\n- name: nginx\n  newTag: \"2.0\"\ncomponents: [comp]\ntransformers: [meta.yaml]\n",
            ),
        ],
    );
    assert_eq!(got, kubectl(&flux));
}

#[test]
fn fence_refuses_bases_outside() {
    let t = tempfile::tempdir().unwrap();
    write(
        t.path(),
        &[
            ("outside/kustomization.yaml", "resources: [svc.yaml]\n"),
            ("outside/svc.yaml", SVC),
            ("src/app/kustomization.yaml", "resources: [../../outside]\n"),
        ],
    );
    let opts = BuildOptions {
        fence_root: Some(t.path().join("src")),
        ..BuildOptions::default()
    };
    let err = build(&t.path().join("src/app"), &opts).unwrap_err();
    assert!(matches!(err, BuildError::Load(_)), "{err}");
    assert!(
        err.to_string().contains("outside the allowed root"),
        "{err}"
    );
    // Without the fence kustomize allows it (bases are not file loads).
    assert!(build(&t.path().join("src/app"), &BuildOptions::default()).is_ok());
}

fn fails_fast(files: &[(&str, &str)], what: &str) -> String {
    let t = tempfile::tempdir().unwrap();
    write(t.path(), files);
    let start = Instant::now();
    let err = build(t.path(), &BuildOptions::default()).unwrap_err();
    assert!(
        start.elapsed() < Duration::from_secs(20),
        "{what} took {:?}",
        start.elapsed()
    );
    err.to_string()
}

#[test]
fn yaml_bomb_is_refused() {
    let mut bomb = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\na: &a [x, x, x, x, x, x, x, x, x, x]\n");
    let mut prev = 'a';
    for c in "bcdefghij".chars() {
        bomb.push_str(&format!(
            "{c}: &{c} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
        ));
        prev = c;
    }
    let msg = fails_fast(
        &[
            ("kustomization.yaml", "resources: [bomb.yaml]\n"),
            ("bomb.yaml", &bomb),
        ],
        "alias bomb",
    );
    assert!(msg.contains("bomb.yaml"), "{msg}");
}

#[test]
fn malformed_yaml_names_file_and_line() {
    let msg = fails_fast(
        &[
            ("kustomization.yaml", "resources: [bad.yaml]\n"),
            (
                "bad.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n data: [\n",
            ),
        ],
        "malformed yaml",
    );
    assert!(msg.contains("bad.yaml") && msg.contains("line"), "{msg}");
}

#[test]
fn deep_nesting_and_huge_values_do_not_panic() {
    let deep = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: deep\ndata:\n  x: {}{}\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let msg = fails_fast(
        &[
            ("kustomization.yaml", "resources: [deep.yaml]\n"),
            ("deep.yaml", &deep),
        ],
        "deep nesting",
    );
    assert!(msg.contains("deep.yaml"), "{msg}");
    // A large but legitimate file builds.
    let t = tempfile::tempdir().unwrap();
    let big = "x".repeat(8 * 1024 * 1024);
    write(
        t.path(),
        &[
            ("kustomization.yaml", "resources: [big.yaml]\n"),
            (
                "big.yaml",
                &format!(
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  v: {big}\n"
                ),
            ),
        ],
    );
    let out = build(t.path(), &BuildOptions::default()).unwrap();
    assert_eq!(
        out.objects[0]["data"]["v"].as_str().unwrap().len(),
        big.len()
    );
}

#[test]
fn cycles_and_missing_files_are_errors() {
    let msg = fails_fast(&[("kustomization.yaml", "resources: [.]\n")], "self cycle");
    assert!(msg.contains("cycle"), "{msg}");
    let msg = fails_fast(
        &[("kustomization.yaml", "resources: [nothere.yaml]\n")],
        "missing file",
    );
    assert!(msg.contains("nothere.yaml"), "{msg}");
    let msg = fails_fast(
        &[("kustomization.yaml", "resources: []\nbogus: 1\n")],
        "unknown field",
    );
    assert!(msg.contains("bogus"), "{msg}");
}
