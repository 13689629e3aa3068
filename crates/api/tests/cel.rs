//! The CEL rules (`x-kubernetes-validations`) of the generated CRDs, evaluated client-side with
//! kube-cel: the samples pass, and each rule refuses what Flux's refuses.
//!
//! Run with `cargo test -p flotilla-api --features cel-tests` (the CEL engine is slow to compile).
#![cfg(feature = "cel-tests")]
#![allow(clippy::unwrap_used)]

mod util;

use kube_cel::Validator;
use serde_json::{json, Value};
use util::*;

fn cel_errors(crds: &[Value], doc: &Value) -> Vec<String> {
    match Validator::new().validate(schema_of(crd_for(crds, doc)), doc, None) {
        Ok(()) => Vec::new(),
        Err(errors) => errors.iter().map(|e| format!("{e:?}")).collect(),
    }
}

fn fixtures() -> Vec<Value> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    yaml_docs_under(&dir).into_iter().map(|(_, d)| d).collect()
}

fn fixture(kind: &str) -> Value {
    fixtures().into_iter().find(|d| d["kind"] == kind).unwrap()
}

#[test]
fn samples_satisfy_every_rule() {
    let ours = flotilla_api::crds_json().unwrap();
    let flux = flux_crds();
    for doc in fixtures() {
        let name = format!("{}/{}", doc["kind"], doc["metadata"]["name"]);
        assert_eq!(
            cel_errors(&flux, &doc),
            Vec::<String>::new(),
            "{name} against Flux's rules"
        );
        assert_eq!(
            cel_errors(&ours, &doc),
            Vec::<String>::new(),
            "{name} against ours"
        );
    }
}

#[test]
fn each_rule_refuses_what_it_should() {
    let ours = flotilla_api::crds_json().unwrap();
    let flux = flux_crds();
    let mut cases: Vec<(&str, Value)> = Vec::new();

    let mut git = fixture("GitRepository");
    git["spec"]["provider"] = json!("generic");
    cases.push(("serviceAccountName with the generic provider", git));

    let mut ks = fixture("Kustomization");
    ks["spec"]["kubeConfig"]["configMapRef"] = json!({"name": "also"});
    cases.push(("kubeConfig with both references", ks));
    let mut ks = fixture("Kustomization");
    ks["spec"]["kubeConfig"] = json!({});
    cases.push(("kubeConfig with neither reference", ks));

    let mut policy = fixture("ImagePolicy");
    policy["spec"]["digestReflectionPolicy"] = json!("Never");
    cases.push(("interval without digestReflectionPolicy Always", policy));
    let mut policy = fixture("ImagePolicy");
    policy["spec"].as_object_mut().unwrap().remove("interval");
    cases.push(("digestReflectionPolicy Always without interval", policy));

    let mut provider = fixture("Provider");
    provider["spec"]["type"] = json!("slack");
    cases.push(("commitStatusExpr on a slack provider", provider));

    let mut receiver = fixture("Receiver");
    receiver["spec"]
        .as_object_mut()
        .unwrap()
        .remove("secretRef");
    cases.push(("generic-hmac receiver without secretRef", receiver));
    let mut receiver = fixture("Receiver");
    receiver["spec"]["type"] = json!("generic-oidc");
    cases.push((
        "generic-oidc receiver with secretRef and no oidcProviders",
        receiver,
    ));

    for (what, doc) in cases {
        assert!(
            !cel_errors(&flux, &doc).is_empty(),
            "Flux's rules accept {what}?"
        );
        assert!(
            !cel_errors(&ours, &doc).is_empty(),
            "our rules accept {what}"
        );
    }
}
