//! `flux::build` checked against kubectl on the kustomization.yaml Flux would write (same object set), FIFO order, root fencing, and a read-only source tree.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use flotilla_kustomize::flux::{
    self, CommonMetadata, FluxBuildError, FluxBuildOptions, FluxImage, FluxPatch, PatchSelector,
};
use serde_json::Value;

fn write(root: &Path, files: &[(&str, &str)]) {
    for (p, body) in files {
        let p = root.join(p);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), &t).unwrap();
        }
    }
}

fn kubectl(dir: &Path) -> Vec<Value> {
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
    flotilla_yaml::from_str_multi(&String::from_utf8(out.stdout).unwrap()).unwrap()
}

/// Objects as their printed YAML, sorted: kubectl orders by kind, Flux keeps input order.
fn set(objs: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = objs.iter().map(flotilla_yaml::to_string).collect();
    v.sort();
    v
}

fn ids(objs: &[Value]) -> Vec<String> {
    objs.iter()
        .map(|o| {
            format!(
                "{}/{}",
                o["kind"].as_str().unwrap(),
                o["metadata"]["name"].as_str().unwrap()
            )
        })
        .collect()
}

/// The resources list Flux generates, per its documented rule: a depth-first lexical walk;
/// `.yaml`/`.yml` files, and sub-directories with a kustomization file as one entry.
fn flux_resources(dir: &Path, base: &Path, out: &mut Vec<String>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        let rel = p.strip_prefix(base).unwrap().to_string_lossy().to_string();
        if p.is_dir() {
            if ["kustomization.yaml", "kustomization.yml", "Kustomization"]
                .iter()
                .any(|k| p.join(k).is_file())
            {
                out.push(format!("./{rel}"));
            } else {
                flux_resources(&p, base, out);
            }
        } else if rel.ends_with(".yaml") || rel.ends_with(".yml") {
            out.push(format!("./{rel}"));
        }
    }
}

/// A copy of `dir` with the kustomization.yaml Flux would write into it, for kubectl.
fn with_generated(dir: &Path, t: &Path) -> (PathBuf, Vec<String>) {
    let copy = t.join("flux-written");
    copy_dir(dir, &copy);
    let mut res = Vec::new();
    flux_resources(&copy, &copy, &mut res);
    let body = format!(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n{}",
        res.iter().map(|r| format!("- {r}\n")).collect::<String>()
    );
    std::fs::write(copy.join("kustomization.yaml"), body).unwrap();
    (copy, res)
}

const CORPUS: &str = "../../../shared/corpus";

fn corpus(p: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(CORPUS).join(p)
}

#[test]
fn corpus_directories_without_kustomization_match_kubectl() {
    for (root, path) in [
        ("flux2-kustomize-helm-example", "clusters/staging"),
        ("flux2-kustomize-helm-example", "clusters/production"),
        ("tyyzqmf-flux-repo", "clusters/dev-cluster"),
        ("tyyzqmf-flux-repo", "apps/overlays/development"),
        (
            "zxkane-microservices-demo-gitops",
            "deploy/kubernetes/overlays/development",
        ),
    ] {
        let root = corpus(root);
        let dir = root.join(path);
        if !dir.is_dir() {
            panic!("corpus directory {} is missing", dir.display());
        }
        let got = flux::build(&root, Path::new(path), &FluxBuildOptions::default())
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let t = tempfile::tempdir().unwrap();
        let want = if dir.join("kustomization.yaml").is_file() {
            kubectl(&dir)
        } else {
            kubectl(&with_generated(&dir, t.path()).0)
        };
        assert!(!got.objects.is_empty(), "{path}");
        assert_eq!(set(&got.objects), set(&want), "{path}");
    }
}

#[test]
fn generated_kustomization_and_fifo_order() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("src");
    write(
        &src,
        &[
            // Two objects in one file keep their order; a Namespace is not hoisted first.
            ("a.yaml", "apiVersion: v1\nkind: Service\nmetadata:\n  name: svc\nspec:\n  ports:\n  - port: 80\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: first-cm\n"),
            ("b/deeper/ns.yml", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n"),
            ("b/notes.txt", "not yaml at all: {"),
            ("c/kustomization.yaml", "resources: [cm.yaml]\nnamePrefix: c-\n"),
            ("c/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n"),
            ("c/stray.yaml", "this file is c's business, not the generator's: ["),
            ("d.yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: role\n"),
        ],
    );
    let got = flux::build(&src, Path::new("."), &FluxBuildOptions::default()).unwrap();
    assert_eq!(
        ids(&got.objects),
        [
            "Service/svc",
            "ConfigMap/first-cm",
            "Namespace/apps",
            "ConfigMap/c-cm",
            "ClusterRole/role"
        ]
    );
    let (copy, res) = with_generated(&src, t.path());
    assert_eq!(res, ["./a.yaml", "./b/deeper/ns.yml", "./c", "./d.yaml"]);
    let want = kubectl(&copy);
    assert_eq!(set(&got.objects), set(&want));
    // kubectl's legacy order differs (Namespace first): the FIFO order above is not an accident.
    assert_ne!(ids(&got.objects), ids(&want));
}

#[test]
fn a_file_that_is_not_kubernetes_yaml_fails_the_generated_build() {
    let t = tempfile::tempdir().unwrap();
    write(
        t.path(),
        &[
            (
                "ok.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
            ),
            (
                "broken.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata: [\n",
            ),
        ],
    );
    let err = flux::build(t.path(), Path::new(""), &FluxBuildOptions::default()).unwrap_err();
    assert!(matches!(err, FluxBuildError::Build(_)), "{err}");
    assert!(err.to_string().contains("broken.yaml"), "{err}");
}

const DEP: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels:\n      app: web\n  template:\n    metadata:\n      labels:\n        app: web\n    spec:\n      containers:\n      - name: app\n        image: nginx:1.0\n      - name: side\n        image: busybox:1\n";
const SVC: &str =
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  ports:\n  - port: 80\n";
const COMP: &str = "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\ncommonAnnotations:\n  comp: \"on\"\n";

#[test]
fn spec_fields_merge_as_flux_writes_them() {
    let t = tempfile::tempdir().unwrap();
    let src = t.path().join("src");
    write(
        &src,
        &[
            ("base/dep.yaml", DEP),
            ("base/svc.yaml", SVC),
            ("base/kustomization.yaml", "resources: [dep.yaml, svc.yaml]\n"),
            ("components/annotate/kustomization.yaml", COMP),
            (
                "app/kustomization.yaml",
                "resources: [../base]\nimages:\n- name: nginx\n  newName: ghcr.io/x/nginx\n- name: busybox\n  newTag: \"2\"\n",
            ),
        ],
    );
    let opts = FluxBuildOptions {
        target_namespace: Some("apps".into()),
        name_prefix: Some("p-".into()),
        name_suffix: Some("-s".into()),
        patches: vec![
            FluxPatch {
                patch: "- op: add\n  path: /spec/type\n  value: NodePort\n".into(),
                target: Some(PatchSelector {
                    kind: Some("Service".into()),
                    ..PatchSelector::default()
                }),
            },
            FluxPatch {
                patch: "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n".into(),
                target: None,
            },
        ],
        // Replaces the kustomization's own nginx entry: the image keeps its name, gets a tag.
        images: vec![
            FluxImage {
                name: "nginx".into(),
                new_tag: Some("2.0".into()),
                ..FluxImage::default()
            },
            FluxImage {
                name: "redis".into(),
                digest: Some("sha256:24a0c4b4a4c0eb97a1aabb8e29f18e917d05abfe1b7a7c07857230879ce7d3d3".into()),
                ..FluxImage::default()
            },
        ],
        components: vec!["../components/annotate".into(), "../components/missing".into()],
        ignore_missing_components: true,
        common_metadata: Some(CommonMetadata {
            labels: BTreeMap::from([("team".to_string(), "a".to_string())]),
            annotations: BTreeMap::from([("owner".to_string(), "me".to_string())]),
        }),
    };
    let got = flux::build(&src, Path::new("app"), &opts).unwrap();

    // What Flux writes into app/kustomization.yaml, built by kubectl; commonMetadata as a
    // metadata-only label/annotation transformer.
    let copy = t.path().join("copy");
    copy_dir(&src, &copy);
    write(
        &copy,
        &[
            (
                "app/meta.yaml",
                "apiVersion: builtin\nkind: LabelTransformer\nmetadata:\n  name: l\nlabels:\n  team: a\n\
                 fieldSpecs:\n- path: metadata/labels\n  create: true\n---\napiVersion: builtin\n\
                 kind: AnnotationsTransformer\nmetadata:\n  name: a\nannotations:\n  owner: me\n\
                 fieldSpecs:\n- path: metadata/annotations\n  create: true\n",
            ),
            (
                "app/kustomization.yaml",
                "resources: [../base]\nnamespace: apps\nnamePrefix: p-\nnameSuffix: -s\n\
                 images:\n- name: nginx\n  newTag: \"2.0\"\n- name: busybox\n  newTag: \"2\"\n\
                 - name: redis\n  digest: sha256:24a0c4b4a4c0eb97a1aabb8e29f18e917d05abfe1b7a7c07857230879ce7d3d3\n\
                 patches:\n- patch: |\n    - op: add\n      path: /spec/type\n      value: NodePort\n  target:\n    kind: Service\n\
                 - patch: |\n    apiVersion: apps/v1\n    kind: Deployment\n    metadata:\n      name: web\n    spec:\n      replicas: 3\n\
                 components: [../components/annotate]\ntransformers: [meta.yaml]\n",
            ),
        ],
    );
    let want = kubectl(&copy.join("app"));
    assert_eq!(set(&got.objects), set(&want));
    let dep = got
        .objects
        .iter()
        .find(|o| o["kind"] == "Deployment")
        .unwrap();
    assert_eq!(dep["metadata"]["name"], "p-web-s");
    assert_eq!(
        dep["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:2.0"
    );
    // commonMetadata stays off selectors and templates.
    assert!(dep["spec"]["selector"]["matchLabels"].get("team").is_none());
}

#[test]
fn a_missing_component_fails_unless_ignored() {
    let t = tempfile::tempdir().unwrap();
    write(t.path(), &[("svc.yaml", SVC)]);
    let opts = FluxBuildOptions {
        components: vec!["nope".into()],
        ..FluxBuildOptions::default()
    };
    let err = flux::build(t.path(), Path::new("."), &opts).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
    let opts = FluxBuildOptions {
        ignore_missing_components: true,
        ..opts
    };
    assert_eq!(
        flux::build(t.path(), Path::new("."), &opts)
            .unwrap()
            .objects
            .len(),
        1
    );
}

#[test]
fn nothing_outside_the_root_is_read() {
    let t = tempfile::tempdir().unwrap();
    write(
        t.path(),
        &[
            ("outside/kustomization.yaml", "resources: [svc.yaml]\n"),
            ("outside/svc.yaml", SVC),
            (
                "src/base/kustomization.yaml",
                "resources: [../../outside]\n",
            ),
            (
                "src/files/kustomization.yaml",
                "resources: [../../outside/svc.yaml]\n",
            ),
            (
                "src/shared/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n",
            ),
            // Files elsewhere under the root are fine (load restrictor none inside the root).
            (
                "src/app/kustomization.yaml",
                "resources: [../shared/cm.yaml]\n",
            ),
        ],
    );
    let root = t.path().join("src");
    for path in ["base", "files"] {
        let err = flux::build(&root, Path::new(path), &FluxBuildOptions::default()).unwrap_err();
        assert!(err.to_string().contains("outside"), "{path}: {err}");
    }
    let ok = flux::build(&root, Path::new("app"), &FluxBuildOptions::default()).unwrap();
    assert_eq!(ids(&ok.objects), ["ConfigMap/shared"]);

    // A symlinked directory in a plain directory is not walked into (it leads outside).
    let plain = root.join("plain");
    write(
        &plain,
        &[(
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: p\n",
        )],
    );
    std::os::unix::fs::symlink(t.path().join("outside"), plain.join("link")).unwrap();
    let got = flux::build(&root, Path::new("plain"), &FluxBuildOptions::default()).unwrap();
    assert_eq!(ids(&got.objects), ["ConfigMap/p"]);
    // `..` in spec.path stops at the root.
    let got = flux::build(&root, Path::new("../../app"), &FluxBuildOptions::default()).unwrap();
    assert_eq!(ids(&got.objects), ["ConfigMap/shared"]);
}

fn snapshot(dir: &Path, out: &mut Vec<(PathBuf, Vec<u8>, std::time::SystemTime)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        let md = std::fs::metadata(&p).unwrap();
        if md.is_dir() {
            snapshot(&p, out);
        }
        let content = if md.is_file() {
            std::fs::read(&p).unwrap()
        } else {
            Vec::new()
        };
        out.push((p, content, md.modified().unwrap()));
    }
}

#[test]
fn the_source_tree_is_never_written() {
    let t = tempfile::tempdir().unwrap();
    write(
        t.path(),
        &[
            ("plain/dep.yaml", DEP),
            ("plain/sub/svc.yaml", SVC),
            (
                "overlay/kustomization.yaml",
                "resources: [../plain/dep.yaml]\n",
            ),
        ],
    );
    let mut before = Vec::new();
    snapshot(t.path(), &mut before);
    let opts = FluxBuildOptions {
        target_namespace: Some("x".into()),
        images: vec![FluxImage {
            name: "nginx".into(),
            new_tag: Some("9".into()),
            ..FluxImage::default()
        }],
        ..FluxBuildOptions::default()
    };
    flux::build(t.path(), Path::new("plain"), &opts).unwrap();
    flux::build(t.path(), Path::new("overlay"), &opts).unwrap();
    let mut after = Vec::new();
    snapshot(t.path(), &mut after);
    assert_eq!(before, after);
}
