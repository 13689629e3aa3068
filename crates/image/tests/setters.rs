//! Setters against Flux's own fixtures (image-automation-controller's setters testdata, original → expected) and a real before/after commit from the reference microservices repository.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use flotilla_image::{apply_setters, PolicyImage, SetterOptions};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            fs::copy(e.path(), dest).unwrap();
        }
    }
}

fn image(name: &str, tag: &str, digest: Option<&str>) -> PolicyImage {
    PolicyImage {
        name: name.into(),
        tag: tag.into(),
        digest: digest.map(str::to_string),
    }
}

#[test]
fn flux_setters_testdata() {
    let base =
        corpus().join("image-automation-controller-testdata/internal/update/testdata/setters");
    if !base.exists() {
        panic!("corpus missing at {}", base.display());
    }
    let work = tempfile::tempdir().unwrap();
    copy_dir(&base.join("original"), work.path());
    // The policies of Flux's setters test.
    let mut policies = BTreeMap::new();
    policies.insert(
        "automation-ns:policy".to_string(),
        image("index.repo.fake/updated", "v1.0.1", None),
    );
    policies.insert(
        "automation-ns:unchanged".to_string(),
        image("image", "v1.0.0", None),
    );
    policies.insert(
        "automation-ns:policy-with-digest".to_string(),
        image(
            "image",
            "v1.0.0",
            Some("sha256:6745aaad46d795c9836632e1fb62f24b7e7f4c843144da8e47a5465c411a14be"),
        ),
    );
    let result = apply_setters(work.path(), &policies, &SetterOptions::default()).unwrap();
    let changed: Vec<&String> = result.file_changes.keys().collect();
    assert_eq!(
        changed,
        ["Kustomization", "kustomization.yml", "marked.yaml"]
    );
    // Files Flux rewrites equal its expected output byte for byte; the others are untouched.
    for e in fs::read_dir(base.join("original")).unwrap() {
        let name = e.unwrap().file_name();
        let expected = base.join("expected").join(&name);
        let want = if expected.exists() {
            fs::read(expected).unwrap()
        } else {
            fs::read(base.join("original").join(&name)).unwrap()
        };
        assert_eq!(
            String::from_utf8_lossy(&fs::read(work.path().join(&name)).unwrap()),
            String::from_utf8_lossy(&want),
            "{}",
            name.to_string_lossy()
        );
    }
    // The marker for a policy in another namespace is reported, not applied.
    assert_eq!(result.unknown_markers.len(), 1);
    assert_eq!(result.unknown_markers[0].setter, "other-namespace:policy");
    // Flux's result shape: the CronJob's change, with its setter.
    let marked = &result.file_changes["marked.yaml"];
    let (id, changes) = marked.iter().next().unwrap();
    assert_eq!(
        (id.kind.as_str(), id.name.as_str(), id.namespace.as_str()),
        ("CronJob", "foo", "bar")
    );
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].old_value, "image:v1.0.0");
    assert_eq!(changes[0].new_value, "index.repo.fake/updated:v1.0.1");
    assert_eq!(changes[0].setter, "automation-ns:policy");
}

#[test]
fn reference_repository_history_commit() {
    let hist = corpus().join("zxkane-microservices-demo-gitops/_history");
    let before = fs::read_to_string(hist.join("overlay-kustomization.16a8338.yaml")).unwrap();
    let after = fs::read_to_string(hist.join("overlay-kustomization.9b498c3.yaml")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("deploy/kubernetes/overlays/development");
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("kustomization.yaml"), &before).unwrap();
    // Unmarked files are never rewritten, even with the same image in them.
    let other = "apiVersion: v1\nkind: ConfigMap\nmetadata:  {name: x}\ndata: {image: ghcr.io/zxkane/weaveworksdemos/front-end:0.3.13-rc1}\n";
    fs::write(work.path().join("other.yaml"), other).unwrap();
    let mut policies = BTreeMap::new();
    policies.insert(
        "sock-shop:sock-shop-front-end".to_string(),
        image(
            "ghcr.io/zxkane/weaveworksdemos/front-end",
            "0.3.13-rc3",
            None,
        ),
    );
    let result = apply_setters(work.path(), &policies, &SetterOptions::default()).unwrap();
    assert_eq!(
        fs::read_to_string(dir.join("kustomization.yaml")).unwrap(),
        after
    );
    assert_eq!(
        fs::read_to_string(work.path().join("other.yaml")).unwrap(),
        other
    );
    let changes = result.changes();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].old_value, "0.3.13-rc1");
    assert_eq!(changes[0].setter, "sock-shop:sock-shop-front-end:tag");
    assert_eq!(
        result.file_changes.keys().collect::<Vec<_>>(),
        ["deploy/kubernetes/overlays/development/kustomization.yaml"]
    );
}

#[test]
fn formatting_survives_byte_for_byte() {
    // Indented and unindented sequences, quotes, CRLF, multi-document, comments, blank lines.
    let src = "# leading comment\r\n\r\napiVersion: apps/v1\r\nkind: Deployment\r\nmetadata: {name: a, namespace: n}\r\nspec:\r\n  template:\r\n    spec:\r\n      containers:\r\n        - name: c   # keep\r\n          image: \"ghcr.io/org/app:main-abc-9\"   # {\"$imagepolicy\": \"n:app\"}\r\n\r\n---\r\n# second\r\nimages:\r\n- name: app\r\n  newTag: 'main-abc-9' # {\"$imagepolicy\": \"n:app:tag\"}\r\n...\r\n";
    let work = tempfile::tempdir().unwrap();
    fs::write(work.path().join("a.yaml"), src).unwrap();
    let mut policies = BTreeMap::new();
    policies.insert(
        "n:app".to_string(),
        image("ghcr.io/org/app", "main-def-10", None),
    );
    let r = apply_setters(work.path(), &policies, &SetterOptions::default()).unwrap();
    let out = fs::read_to_string(work.path().join("a.yaml")).unwrap();
    let want = src
        .replace(
            "\"ghcr.io/org/app:main-abc-9\"",
            "\"ghcr.io/org/app:main-def-10\"",
        )
        .replace("'main-abc-9'", "'main-def-10'");
    assert_eq!(out, want);
    assert_eq!(r.changes().len(), 2);
    let ids: Vec<String> = r.file_changes["a.yaml"]
        .keys()
        .map(|i| i.kind.clone())
        .collect();
    assert_eq!(ids, ["", "Deployment"]);
}
