//! The resource registry: which kinds are served under which group/version/plural, built-in or from CRDs.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use serde_json::Value;

/// One served resource (all its versions share one storage).
#[derive(Debug, Clone)]
pub struct Resource {
    pub group: String,
    /// Served versions, preferred first.
    pub versions: Vec<String>,
    pub kind: String,
    pub plural: String,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    pub categories: Vec<String>,
    pub status: bool,
    pub scale: bool,
    /// Built-in kinds are never removed; CRD-backed ones carry their CRD's name.
    pub crd: Option<String>,
    /// Per served version: the CRD's openAPIV3Schema, parsed, when it has one.
    pub schemas: HashMap<String, Arc<flotilla_schema::Schema>>,
    /// Per served version: additionalPrinterColumns.
    pub printer_columns: HashMap<String, Vec<Value>>,
    /// Whether objects carry a spec whose changes bump `metadata.generation` (ConfigMaps,
    /// Secrets, RBAC objects and the like have none).
    pub has_spec: bool,
}

impl Resource {
    /// Storage key shared by all versions: `group/plural`.
    pub fn key(&self) -> String {
        format!("{}/{}", self.group, self.plural)
    }

    pub fn api_version(&self, version: &str) -> String {
        if self.group.is_empty() {
            version.to_string()
        } else {
            format!("{}/{version}", self.group)
        }
    }
}

/// The built-in kinds this server serves, one per line: apiVersion, kind, plural, scope
/// (`ns` namespaced / `cluster`), short names (comma-separated or `-`), subresources
/// (`status`, `scale`, comma-separated or `-`), categories (`all` or `-`). Plural and short
/// names are kube-apiserver's.
const BUILTINS: &str = "
v1 Namespace namespaces cluster ns status -
v1 ConfigMap configmaps ns cm - -
v1 Secret secrets ns - - -
v1 Service services ns svc status all
v1 ServiceAccount serviceaccounts ns sa - -
v1 Endpoints endpoints ns ep - -
v1 Pod pods ns po status all
v1 PersistentVolumeClaim persistentvolumeclaims ns pvc status -
v1 PersistentVolume persistentvolumes cluster pv status -
v1 Event events ns ev - -
v1 LimitRange limitranges ns limits - -
v1 ResourceQuota resourcequotas ns quota status -
v1 ReplicationController replicationcontrollers ns rc status,scale all
v1 Node nodes cluster no status -
apps/v1 Deployment deployments ns deploy status,scale all
apps/v1 StatefulSet statefulsets ns sts status,scale all
apps/v1 DaemonSet daemonsets ns ds status all
apps/v1 ReplicaSet replicasets ns rs status,scale all
apps/v1 ControllerRevision controllerrevisions ns - - -
batch/v1 Job jobs ns - status all
batch/v1 CronJob cronjobs ns cj status all
networking.k8s.io/v1 Ingress ingresses ns ing status -
networking.k8s.io/v1 IngressClass ingressclasses cluster - - -
networking.k8s.io/v1 NetworkPolicy networkpolicies ns netpol - -
rbac.authorization.k8s.io/v1 Role roles ns - - -
rbac.authorization.k8s.io/v1 RoleBinding rolebindings ns - - -
rbac.authorization.k8s.io/v1 ClusterRole clusterroles cluster - - -
rbac.authorization.k8s.io/v1 ClusterRoleBinding clusterrolebindings cluster - - -
policy/v1 PodDisruptionBudget poddisruptionbudgets ns pdb status -
autoscaling/v2 HorizontalPodAutoscaler horizontalpodautoscalers ns hpa status all
storage.k8s.io/v1 StorageClass storageclasses cluster sc - -
scheduling.k8s.io/v1 PriorityClass priorityclasses cluster pc - -
coordination.k8s.io/v1 Lease leases ns - - -
events.k8s.io/v1 Event events ns ev - -
apiextensions.k8s.io/v1 CustomResourceDefinition customresourcedefinitions cluster crd,crds status -
admissionregistration.k8s.io/v1 MutatingWebhookConfiguration mutatingwebhookconfigurations cluster - - -
admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration validatingwebhookconfigurations cluster - - -
";

/// Extra served versions of a built-in (same storage, no conversion needed): HPA v2 is also
/// served as v2beta2, the version the v1.21.2 schema knows.
fn extra_versions(group: &str, plural: &str) -> &'static [&'static str] {
    match (group, plural) {
        ("autoscaling", "horizontalpodautoscalers") => &["v2beta2"],
        _ => &[],
    }
}

/// Kinds whose objects carry no `spec`-like payload: changes to them never bump generation
/// (the real server leaves generation unset on these).
fn spec_less(group: &str, kind: &str) -> bool {
    matches!(
        (group, kind),
        ("", "ConfigMap")
            | ("", "Secret")
            | ("", "ServiceAccount")
            | ("", "Endpoints")
            | ("", "Event")
            | ("events.k8s.io", "Event")
            | ("rbac.authorization.k8s.io", _)
            | ("storage.k8s.io", "StorageClass")
            | ("scheduling.k8s.io", "PriorityClass")
            | ("admissionregistration.k8s.io", _)
    )
}

pub fn split_api_version(api_version: &str) -> (&str, &str) {
    match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    }
}

/// All served resources; CRDs add and remove entries while the server runs.
#[derive(Default)]
pub struct Registry {
    inner: RwLock<Vec<Arc<Resource>>>,
}

impl Registry {
    pub fn with_builtins() -> Registry {
        let list_of = |f: &str| -> Vec<String> {
            if f == "-" {
                Vec::new()
            } else {
                f.split(',').map(String::from).collect()
            }
        };
        let mut list = Vec::new();
        for line in BUILTINS.lines().filter(|l| !l.trim().is_empty()) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let [api_version, kind, plural, scope, short, subs, categories] = f[..] else {
                continue;
            };
            let (group, version) = split_api_version(api_version);
            let mut versions = vec![version.to_string()];
            versions.extend(extra_versions(group, plural).iter().map(|v| v.to_string()));
            let subs = list_of(subs);
            list.push(Arc::new(Resource {
                group: group.into(),
                versions,
                kind: kind.into(),
                plural: plural.into(),
                singular: kind.to_lowercase(),
                namespaced: scope == "ns",
                short_names: list_of(short),
                categories: list_of(categories),
                status: subs.iter().any(|s| s == "status"),
                scale: subs.iter().any(|s| s == "scale"),
                crd: None,
                schemas: HashMap::new(),
                printer_columns: HashMap::new(),
                has_spec: !spec_less(group, kind),
            }));
        }
        Registry {
            inner: RwLock::new(list),
        }
    }

    pub fn all(&self) -> Vec<Arc<Resource>> {
        self.inner.read().map(|l| l.clone()).unwrap_or_default()
    }

    /// The resource served at `group/version/plural`.
    pub fn lookup(&self, group: &str, version: &str, plural: &str) -> Option<Arc<Resource>> {
        let list = self.inner.read().ok()?;
        list.iter()
            .find(|r| {
                r.group == group && r.plural == plural && r.versions.iter().any(|v| v == version)
            })
            .cloned()
    }

    /// Every resource with this storage key (group/plural).
    pub fn by_key(&self, key: &str) -> Option<Arc<Resource>> {
        let list = self.inner.read().ok()?;
        list.iter().find(|r| r.key() == key).cloned()
    }

    /// Adds or replaces the CRD-backed resource named `crd`.
    pub fn put_crd(&self, res: Resource) {
        if let Ok(mut list) = self.inner.write() {
            list.retain(|r| r.crd.as_deref() != res.crd.as_deref());
            list.push(Arc::new(res));
        }
    }

    pub fn remove_crd(&self, crd: &str) -> Option<Arc<Resource>> {
        let mut list = self.inner.write().ok()?;
        let pos = list.iter().position(|r| r.crd.as_deref() == Some(crd))?;
        Some(list.remove(pos))
    }

    /// Groups in discovery order (core excluded), each with its versions, preferred first.
    pub fn groups(&self) -> Vec<(String, Vec<String>)> {
        let mut out: Vec<(String, Vec<String>)> = Vec::new();
        for r in self.all() {
            if r.group.is_empty() {
                continue;
            }
            let entry = match out.iter_mut().position(|(g, _)| *g == r.group) {
                Some(i) => &mut out[i].1,
                None => {
                    out.push((r.group.clone(), Vec::new()));
                    let last = out.len() - 1;
                    &mut out[last].1
                }
            };
            for v in &r.versions {
                if !entry.contains(v) {
                    entry.push(v.clone());
                }
            }
        }
        for (_, versions) in &mut out {
            versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
        }
        out
    }
}

/// Kubernetes version ordering: GA > beta > alpha, higher numbers first.
pub fn version_priority(v: &str) -> (u8, u32, u32) {
    let Some(rest) = v.strip_prefix('v') else {
        return (0, 0, 0);
    };
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let major: u32 = digits.parse().unwrap_or(0);
    let tail = &rest[digits.len()..];
    if tail.is_empty() {
        return (3, major, 0);
    }
    let (class, num) = if let Some(n) = tail.strip_prefix("beta") {
        (2, n)
    } else if let Some(n) = tail.strip_prefix("alpha") {
        (1, n)
    } else {
        return (0, 0, 0);
    };
    (class, major, num.parse().unwrap_or(0))
}
