//! Shared helpers for the apply integration tests: a dev cluster per test (testkit's), objects,
//! options, reads.
#![allow(clippy::unwrap_used, dead_code)]

use std::collections::BTreeMap;
use std::time::Duration;

use flotilla_api::ObjMetadata;
use flotilla_apply::{ApplyOptions, OWNER_NAMESPACE_LABEL, OWNER_NAME_LABEL};
pub use flotilla_testkit::DevCluster;
use kube::api::{Api, ApiResource, DynamicObject};
use kube::core::GroupVersionKind;
use serde_json::{json, Value};

pub fn owner_labels() -> BTreeMap<String, String> {
    BTreeMap::from([
        (OWNER_NAME_LABEL.to_string(), "apps".to_string()),
        (OWNER_NAMESPACE_LABEL.to_string(), "flux-system".to_string()),
    ])
}

pub fn opts() -> ApplyOptions {
    ApplyOptions {
        owner_labels: owner_labels(),
        wait_timeout: Duration::from_secs(20),
        ..Default::default()
    }
}

pub fn namespace(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
}

pub fn config_map(ns: &str, name: &str, data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns}, "data": data})
}

pub fn deployment(ns: &str, name: &str, image: &str) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "app", "image": image, "ports": [{"containerPort": 8080}]}]}
            }
        }
    })
}

pub fn service(ns: &str, name: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"selector": {"app": name}, "ports": [{"port": 80, "targetPort": 8080}]}
    })
}

/// A namespaced CRD `widgets.example.com` (kind Widget) whose spec.size must be an integer.
pub fn widget_crd() -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {
            "group": "example.com",
            "names": {"kind": "Widget", "listKind": "WidgetList", "plural": "widgets", "singular": "widget"},
            "scope": "Namespaced",
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "properties": {
                        "size": {"type": "integer"}, "color": {"type": "string"}}}
                }}}
            }]
        }
    })
}

pub fn widget(ns: &str, name: &str, spec: Value) -> Value {
    json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name, "namespace": ns}, "spec": spec})
}

pub fn meta(ns: &str, name: &str, group: &str, kind: &str) -> ObjMetadata {
    ObjMetadata::new(ns, name, group, kind)
}

/// The live object (any kind) or None.
pub async fn live(
    client: &kube::Client,
    api_version: &str,
    kind: &str,
    plural: &str,
    ns: &str,
    name: &str,
) -> Option<Value> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    let ar =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural);
    let api: Api<DynamicObject> = if ns.is_empty() {
        Api::all_with(client.clone(), &ar)
    } else {
        Api::namespaced_with(client.clone(), ns, &ar)
    };
    api.get_opt(name)
        .await
        .unwrap()
        .map(|o| serde_json::to_value(o).unwrap())
}

pub async fn live_cm(client: &kube::Client, ns: &str, name: &str) -> Option<Value> {
    live(client, "v1", "ConfigMap", "configmaps", ns, name).await
}

pub fn rv(v: &Value) -> String {
    v["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A dev cluster without Flux's CRDs: the applier needs nothing installed.
pub fn cluster() -> DevCluster {
    DevCluster::start_bare(Default::default())
}
