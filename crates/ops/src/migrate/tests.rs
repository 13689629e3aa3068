//! Migration cases: each input is a manifest as Flux's older APIs accepted it.

use super::*;

#[test]
fn versions_change_in_place_and_comments_stay() {
    let src = "\
# fleet sync
---
apiVersion: kustomize.toolkit.fluxcd.io/v1beta2 # old
kind: Kustomization
metadata:
  name: infrastructure
  namespace: flux-system
spec:
  interval: 10m0s   # every ten minutes
  validation: client
  path: ./infrastructure
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
---
apiVersion: source.toolkit.fluxcd.io/v1beta1
kind: GitRepository
metadata:
  name: podinfo
spec:
  gitImplementation: go-git
  accessFrom:
    namespaceSelectors:
      - matchLabels:
          a: b
  url: https://example.com/podinfo
";
    let m = migrate_text(src).expect("migrates");
    assert_eq!(
        m.text,
        "\
# fleet sync
---
apiVersion: kustomize.toolkit.fluxcd.io/v1 # old
kind: Kustomization
metadata:
  name: infrastructure
  namespace: flux-system
spec:
  interval: 10m0s   # every ten minutes
  path: ./infrastructure
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
---
apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata:
  name: podinfo
spec:
  url: https://example.com/podinfo
"
    );
    assert_eq!(m.changes.len(), 5, "{:#?}", m.changes);
}

#[test]
fn patch_targets_follow_the_versions() {
    let src = "\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
patches:
  - patch: |-
      - op: replace
        path: /spec/path
        value: ./deploy
    target:
      group: kustomize.toolkit.fluxcd.io
      version: v1beta2
      kind: Kustomization
      name: tenant
  - patch: x
    target:
      group: apps
      version: v1
      kind: Deployment
";
    let m = migrate_text(src).expect("migrates");
    assert!(m
        .text
        .contains("      version: v1\n      kind: Kustomization"));
    assert_eq!(m.changes.len(), 1);
    assert_eq!(m.text.lines().count(), src.lines().count());
}

#[test]
fn old_patch_fields_become_patches() {
    let src = "\
apiVersion: kustomize.toolkit.fluxcd.io/v1beta1
kind: Kustomization
metadata:
  name: apps
spec:
  interval: 5m
  patchesStrategicMerge:
  - apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web
    spec:
      replicas: 2
  patchesJson6902:
  - target:
      group: apps
      version: v1
      kind: Deployment
      name: web
    patch:
    - op: add
      path: /metadata/labels/x
      value: y
  prune: true
";
    let m = migrate_text(src).expect("migrates");
    let parsed = flotilla_yaml::from_str(&m.text).expect("valid YAML");
    let patches = parsed["spec"]["patches"].as_array().expect("patches");
    assert_eq!(patches.len(), 2);
    let smp = flotilla_yaml::from_str(patches[0]["patch"].as_str().expect("text")).expect("yaml");
    assert_eq!(smp["spec"]["replicas"], 2);
    let ops = flotilla_yaml::from_str(patches[1]["patch"].as_str().expect("text")).expect("yaml");
    assert_eq!(ops[0]["op"], "add");
    assert_eq!(patches[1]["target"]["name"], "web");
    assert!(parsed["spec"].get("patchesStrategicMerge").is_none());
    assert!(parsed["spec"].get("patchesJson6902").is_none());
    assert_eq!(parsed["spec"]["prune"], true);
    assert_eq!(parsed["apiVersion"], "kustomize.toolkit.fluxcd.io/v1");
}

#[test]
fn helm_and_notification_versions() {
    let src = "\
apiVersion: helm.toolkit.fluxcd.io/v2beta1
kind: HelmRelease
metadata:
  name: redis
spec:
  chart:
    spec:
      chart: redis
      valuesFile: values-prod.yaml
---
apiVersion: notification.toolkit.fluxcd.io/v1beta2
kind: Alert
metadata:
  name: a
---
apiVersion: notification.toolkit.fluxcd.io/v1beta2
kind: Receiver
metadata:
  name: r
";
    let m = migrate_text(src).expect("migrates");
    assert!(m.text.contains("apiVersion: helm.toolkit.fluxcd.io/v2\n"));
    assert!(m
        .text
        .contains("      valuesFiles:\n      - values-prod.yaml\n"));
    assert!(m
        .text
        .contains("notification.toolkit.fluxcd.io/v1beta3\nkind: Alert"));
    assert!(m
        .text
        .contains("notification.toolkit.fluxcd.io/v1\nkind: Receiver"));
}

#[test]
fn current_manifests_are_untouched() {
    let src =
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: a\n";
    let m = migrate_text(src).expect("migrates");
    assert_eq!(m.text, src);
    assert!(m.changes.is_empty());
}
