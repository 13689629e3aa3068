//! postBuild substitution on built objects: the cases of Flux's documentation, typing after re-parse, escapes, opt-out, strict mode and clear errors.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;

use flotilla_kustomize::flux::{self, FluxBuildOptions, SubstituteError, SubstituteOptions};
use serde_json::{json, Value};

fn vars(v: &[(&str, &str)]) -> BTreeMap<String, String> {
    v.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn objs(yaml: &str) -> Vec<Value> {
    flotilla_yaml::from_str_multi(yaml).unwrap()
}

fn run(yaml: &str, v: &[(&str, &str)], strict: bool) -> Result<Vec<Value>, SubstituteError> {
    let mut o = objs(yaml);
    flux::substitute(&mut o, &vars(v), &SubstituteOptions { strict })?;
    Ok(o)
}

#[test]
fn documented_example_with_default_and_quoted_variable() {
    let got = run(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n  labels:\n    environment: ${cluster_env:=dev}\n    region: \"${cluster_region}\"\n",
        &[("cluster_region", "eu-central-1")],
        false,
    )
    .unwrap();
    assert_eq!(
        got[0]["metadata"]["labels"],
        json!({"environment": "dev", "region": "eu-central-1"})
    );
    let got = run(
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: apps\n  labels:\n    environment: ${cluster_env:=dev}\n",
        &[("cluster_env", "prod")],
        false,
    )
    .unwrap();
    assert_eq!(got[0]["metadata"]["labels"]["environment"], "prod");
}

#[test]
fn values_are_typed_by_the_reparse() {
    let got = run(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: ${replicas}\n  paused: ${paused}\n  template:\n    metadata:\n      annotations:\n        note: ${note}\n",
        &[("replicas", "3"), ("paused", "off"), ("note", "plain text")],
        false,
    )
    .unwrap();
    assert_eq!(got[0]["spec"]["replicas"], json!(3));
    // go-yaml v2 (sigs.k8s.io/yaml) reads YAML 1.1: `off` is a boolean.
    assert_eq!(got[0]["spec"]["paused"], json!(false));
    assert_eq!(
        got[0]["spec"]["template"]["metadata"]["annotations"]["note"],
        "plain text"
    );
}

#[test]
fn escapes_and_unbraced_references_stay_literal() {
    let got = run(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: script\ndata:\n  run.sh: |\n    echo $${HOME} and $HOME costs $$5\n    echo ${greeting}\n",
        &[("greeting", "hi")],
        false,
    )
    .unwrap();
    assert_eq!(
        got[0]["data"]["run.sh"],
        "echo ${HOME} and $HOME costs $5\necho hi\n"
    );
}

#[test]
fn disabled_objects_are_left_alone() {
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  annotations:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\ndata:\n  x: ${missing} $${kept}\n---\n\
                apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  labels:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\ndata:\n  x: ${missing}\n---\n\
                apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  x: ${v}\n";
    let got = run(yaml, &[("v", "set")], true).unwrap();
    let before = objs(yaml);
    assert_eq!(got[0], before[0]);
    assert_eq!(got[1], before[1]);
    assert_eq!(got[2]["data"]["x"], "set");
}

#[test]
fn strict_mode_names_object_and_variable() {
    let yaml = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: apps\nspec:\n  replicas: ${replicas}\n  minReadySeconds: ${ready:=5}\n";
    let err = run(yaml, &[("other", "x")], true).unwrap_err();
    assert_eq!(
        err,
        SubstituteError::Undefined {
            object: "Deployment/apps/web".into(),
            var: "replicas".into()
        }
    );
    // Not strict: undefined expands to empty (a null replicas), the default applies.
    let got = run(yaml, &[("other", "x")], false).unwrap();
    assert_eq!(got[0]["spec"]["replicas"], Value::Null);
    assert_eq!(got[0]["spec"]["minReadySeconds"], json!(5));
}

#[test]
fn without_vars_nothing_is_substituted_even_in_strict_mode() {
    let yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: ${missing}\n";
    assert_eq!(run(yaml, &[], true).unwrap(), objs(yaml));
}

#[test]
fn bad_input_gives_errors_naming_the_object() {
    let cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: ns\ndata:\n";
    let err = run(&format!("{cm}  x: ${{unclosed\n"), &[("v", "1")], false).unwrap_err();
    assert!(
        matches!(err, SubstituteError::Syntax { ref object, .. } if object == "ConfigMap/ns/cfg"),
        "{err}"
    );
    let err = run(&format!("{cm}  x: ${{v}}\n"), &[("v", "a: b")], false).unwrap_err();
    assert!(
        matches!(err, SubstituteError::Reparse { ref object, .. } if object == "ConfigMap/ns/cfg"),
        "{err}"
    );
    let err = run(&format!("{cm}  x: ${{v}}\n"), &[("bad-name", "1")], false).unwrap_err();
    assert_eq!(
        err,
        SubstituteError::InvalidName {
            name: "bad-name".into()
        }
    );
}

#[test]
fn newlines_are_removed_from_values() {
    let got = run(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  x: ${v}\n",
        &[("v", "line1\nline2\n")],
        false,
    )
    .unwrap();
    assert_eq!(got[0]["data"]["x"], "line1line2");
}

#[test]
fn build_then_substitute() {
    let t = tempfile::tempdir().unwrap();
    std::fs::write(
        t.path().join("ns.yaml"),
        "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${ns:=default-ns}\n",
    )
    .unwrap();
    let mut out = flux::build(t.path(), Path::new("."), &FluxBuildOptions::default())
        .unwrap()
        .objects;
    flux::substitute(
        &mut out,
        &vars(&[("ns", "team-a")]),
        &SubstituteOptions::default(),
    )
    .unwrap();
    assert_eq!(out[0]["metadata"]["name"], "team-a");
}
