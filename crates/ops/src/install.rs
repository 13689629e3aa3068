//! Every manifest `flotilla install` applies: the toolkit CRDs, the namespace, RBAC, the
//! controller Deployment (probes, resources, non-root read-only container) and its Service.

use serde_json::{json, Value};

/// Label put on everything `install` creates, so `uninstall` and `check` find it.
pub const PART_OF_LABEL: &str = "app.kubernetes.io/part-of";
/// Its value.
pub const PART_OF: &str = "flotilla";
/// Name of the Deployment, ServiceAccount and Service.
pub const NAME: &str = "flotilla-controller";
/// ServiceAccount Flux's install creates and repositories name in a Kustomization's
/// `spec.serviceAccountName` (e.g. the EKS walkthrough's); the controller impersonates it.
pub const KUSTOMIZE_SA: &str = "kustomize-controller";

/// What to install.
#[derive(Debug, Clone)]
pub struct InstallOptions {
    /// Namespace for the controller (`flux-system` by default).
    pub namespace: String,
    /// Container image running `flotilla controller`.
    pub image: String,
    /// Log level passed to the controller (`--log-level`).
    pub log_level: String,
    /// Whether the controller Service also exposes the webhook receiver port.
    pub receivers: bool,
}

impl Default for InstallOptions {
    fn default() -> Self {
        InstallOptions {
            namespace: crate::DEFAULT_NAMESPACE.to_string(),
            image: format!("ghcr.io/flotilla/flotilla:v{}", env!("CARGO_PKG_VERSION")),
            log_level: "info".to_string(),
            receivers: true,
        }
    }
}

/// A CRD could not be generated.
#[derive(Debug, thiserror::Error)]
#[error("generating the CRDs: {0}")]
pub struct InstallError(#[from] flotilla_api::CrdError);

fn labels() -> Value {
    json!({
        PART_OF_LABEL: PART_OF,
        "app.kubernetes.io/instance": "flotilla",
        "app.kubernetes.io/version": env!("CARGO_PKG_VERSION"),
    })
}

/// The manifests in apply order: CRDs, Namespace, RBAC, Service, Deployment.
pub fn manifests(opts: &InstallOptions) -> Result<Vec<Value>, InstallError> {
    let ns = opts.namespace.as_str();
    let mut out = flotilla_api::crds_json()?;
    for crd in &mut out {
        if let Some(meta) = crd["metadata"].as_object_mut() {
            let l = meta.entry("labels").or_insert_with(|| json!({}));
            if let Some(l) = l.as_object_mut() {
                l.insert(PART_OF_LABEL.into(), json!(PART_OF));
            }
        }
    }
    out.push(json!({
        "apiVersion": "v1", "kind": "Namespace",
        "metadata": {"name": ns, "labels": labels()},
    }));
    out.push(json!({
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": NAME, "namespace": ns, "labels": labels()},
    }));
    out.push(json!({
        "apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": KUSTOMIZE_SA, "namespace": ns, "labels": labels()},
    }));
    out.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": {"name": format!("{NAME}-{ns}"), "labels": labels()},
        "rules": [
            {"apiGroups": ["source.toolkit.fluxcd.io", "kustomize.toolkit.fluxcd.io",
                           "image.toolkit.fluxcd.io", "notification.toolkit.fluxcd.io"],
             "resources": ["*"], "verbs": ["*"]},
            {"apiGroups": [""], "resources": ["secrets", "configmaps", "serviceaccounts", "namespaces"],
             "verbs": ["get", "list", "watch"]},
            {"apiGroups": ["", "events.k8s.io"], "resources": ["events"],
             "verbs": ["create", "patch", "update"]},
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
             "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"]},
        ],
    }));
    out.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": format!("{NAME}-{ns}"), "labels": labels()},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": format!("{NAME}-{ns}")},
        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": ns}],
    }));
    // Kustomizations apply arbitrary objects, as Flux's cluster-reconciler binding allows;
    // tenants are narrowed with spec.serviceAccountName. Flux binds its kustomize-controller
    // account too, so Kustomizations impersonating it keep working after a move to Flotilla.
    out.push(json!({
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
        "metadata": {"name": format!("flotilla-cluster-reconciler-{ns}"), "labels": labels()},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [
            {"kind": "ServiceAccount", "name": NAME, "namespace": ns},
            {"kind": "ServiceAccount", "name": KUSTOMIZE_SA, "namespace": ns},
        ],
    }));
    let mut ports = vec![
        json!({"name": "http", "port": 80, "protocol": "TCP", "targetPort": "http"}),
        json!({"name": "http-metrics", "port": 8080, "protocol": "TCP", "targetPort": "http-metrics"}),
    ];
    if opts.receivers {
        ports.push(json!({"name": "http-webhook", "port": 9292, "protocol": "TCP", "targetPort": "http-webhook"}));
    }
    out.push(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": NAME, "namespace": ns, "labels": labels()},
        "spec": {"type": "ClusterIP", "selector": {"app": NAME}, "ports": ports},
    }));
    out.push(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": NAME, "namespace": ns, "labels": labels()},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": NAME}},
            "template": {
                "metadata": {"labels": {"app": NAME}, "annotations": {"prometheus.io/port": "8080", "prometheus.io/scrape": "true"}},
                "spec": {
                    "serviceAccountName": NAME,
                    "terminationGracePeriodSeconds": 60,
                    "securityContext": {"fsGroup": 1337, "runAsNonRoot": true, "runAsUser": 65534, "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "controller",
                        "image": opts.image,
                        "imagePullPolicy": "IfNotPresent",
                        "args": [
                            "controller",
                            "--storage-path=/data",
                            "--storage-addr=:9090",
                            format!("--storage-adv-addr={NAME}.$(RUNTIME_NAMESPACE).svc.cluster.local."),
                            "--metrics-addr=:8080",
                            "--receiver-addr=:9292",
                            "--leader-elect",
                            format!("--log-level={}", opts.log_level),
                        ],
                        "env": [
                            {"name": "RUNTIME_NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                        ],
                        "ports": [
                            {"containerPort": 9090, "name": "http", "protocol": "TCP"},
                            {"containerPort": 8080, "name": "http-metrics", "protocol": "TCP"},
                            {"containerPort": 9292, "name": "http-webhook", "protocol": "TCP"},
                        ],
                        "livenessProbe": {"httpGet": {"path": "/healthz", "port": "http-metrics"}},
                        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "http-metrics"}},
                        "resources": {"limits": {"cpu": "1000m", "memory": "1Gi"}, "requests": {"cpu": "100m", "memory": "64Mi"}},
                        "securityContext": {"allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true,
                                            "runAsNonRoot": true, "capabilities": {"drop": ["ALL"]}},
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}, {"name": "tmp", "mountPath": "/tmp"}],
                    }],
                    "volumes": [{"name": "data", "emptyDir": {}}, {"name": "tmp", "emptyDir": {}}],
                },
            },
        },
    }));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_toolkit_crd_then_workload() {
        let m = manifests(&InstallOptions::default()).expect("manifests");
        let kinds: Vec<&str> = m.iter().filter_map(|o| o["kind"].as_str()).collect();
        let crds = kinds
            .iter()
            .filter(|k| **k == "CustomResourceDefinition")
            .count();
        assert_eq!(crds, flotilla_api::crds_json().expect("crds").len());
        assert_eq!(kinds.last(), Some(&"Deployment"));
        let deploy = m.last().expect("deployment");
        let c = &deploy["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], json!(true));
        assert_eq!(c["readinessProbe"]["httpGet"]["path"], json!("/readyz"));
    }

    #[test]
    fn kustomize_controller_account_is_cluster_admin_as_in_flux() {
        let opts = InstallOptions {
            namespace: "gitops".into(),
            ..InstallOptions::default()
        };
        let m = manifests(&opts).expect("manifests");
        let sa = m
            .iter()
            .find(|o| o["kind"] == "ServiceAccount" && o["metadata"]["name"] == KUSTOMIZE_SA)
            .expect("kustomize-controller ServiceAccount");
        assert_eq!(sa["metadata"]["namespace"], "gitops");
        let bound = m.iter().any(|o| {
            o["kind"] == "ClusterRoleBinding"
                && o["roleRef"]["name"] == "cluster-admin"
                && o["subjects"].as_array().is_some_and(|s| {
                    s.contains(&json!({"kind": "ServiceAccount", "name": KUSTOMIZE_SA, "namespace": "gitops"}))
                })
        });
        assert!(bound, "kustomize-controller not bound to cluster-admin");
        // The AWS CDK app annotates the first ServiceAccount for IRSA: the controller's.
        let first = m
            .iter()
            .find(|o| o["kind"] == "ServiceAccount")
            .expect("sa");
        assert_eq!(first["metadata"]["name"], NAME);
    }
}
