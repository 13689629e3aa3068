//! Fields Kubernetes added to built-in types after v1.21.2 (the embedded schema) up to the
//! version this server reports, by definition: accepted and stored without type checks, so
//! current manifests are not refused as having unknown fields.
//!
//! Derived by comparing each definition's fields in k8s-openapi's v1.33 types with the
//! embedded v1.21.2 definitions (renamed definitions under their old name: `Handler` for
//! `LifecycleHandler`).

/// Definition name → fields added since v1.21.2, sorted by definition name.
const ADDED: &[(&str, &[&str])] = &[
    (
        "io.k8s.api.admissionregistration.v1.MutatingWebhook",
        &["matchConditions"],
    ),
    (
        "io.k8s.api.admissionregistration.v1.ValidatingWebhook",
        &["matchConditions"],
    ),
    (
        "io.k8s.api.apps.v1.DeploymentStatus",
        &["terminatingReplicas"],
    ),
    (
        "io.k8s.api.apps.v1.ReplicaSetStatus",
        &["terminatingReplicas"],
    ),
    (
        "io.k8s.api.apps.v1.RollingUpdateStatefulSetStrategy",
        &["maxUnavailable"],
    ),
    (
        "io.k8s.api.apps.v1.StatefulSetSpec",
        &[
            "minReadySeconds",
            "ordinals",
            "persistentVolumeClaimRetentionPolicy",
        ],
    ),
    (
        "io.k8s.api.apps.v1.StatefulSetStatus",
        &["availableReplicas"],
    ),
    (
        "io.k8s.api.authorization.v1.ResourceAttributes",
        &["fieldSelector", "labelSelector"],
    ),
    ("io.k8s.api.batch.v1.CronJobSpec", &["timeZone"]),
    (
        "io.k8s.api.batch.v1.JobSpec",
        &[
            "backoffLimitPerIndex",
            "managedBy",
            "maxFailedIndexes",
            "podFailurePolicy",
            "podReplacementPolicy",
            "successPolicy",
        ],
    ),
    (
        "io.k8s.api.batch.v1.JobStatus",
        &[
            "failedIndexes",
            "ready",
            "terminating",
            "uncountedTerminatedPods",
        ],
    ),
    (
        "io.k8s.api.certificates.v1.CertificateSigningRequestSpec",
        &["expirationSeconds"],
    ),
    (
        "io.k8s.api.coordination.v1.LeaseSpec",
        &["preferredHolder", "strategy"],
    ),
    (
        "io.k8s.api.core.v1.CSIPersistentVolumeSource",
        &["nodeExpandSecretRef"],
    ),
    (
        "io.k8s.api.core.v1.Container",
        &["resizePolicy", "restartPolicy"],
    ),
    (
        "io.k8s.api.core.v1.ContainerStatus",
        &[
            "allocatedResources",
            "allocatedResourcesStatus",
            "resources",
            "stopSignal",
            "user",
            "volumeMounts",
        ],
    ),
    (
        "io.k8s.api.core.v1.EphemeralContainer",
        &["resizePolicy", "restartPolicy"],
    ),
    ("io.k8s.api.core.v1.Handler", &["sleep"]),
    ("io.k8s.api.core.v1.Lifecycle", &["stopSignal"]),
    ("io.k8s.api.core.v1.LoadBalancerIngress", &["ipMode"]),
    (
        "io.k8s.api.core.v1.NodeStatus",
        &["features", "runtimeHandlers"],
    ),
    ("io.k8s.api.core.v1.NodeSystemInfo", &["swap"]),
    (
        "io.k8s.api.core.v1.PersistentVolumeClaimSpec",
        &["dataSourceRef", "volumeAttributesClassName"],
    ),
    (
        "io.k8s.api.core.v1.PersistentVolumeClaimStatus",
        &[
            "allocatedResourceStatuses",
            "allocatedResources",
            "currentVolumeAttributesClassName",
            "modifyVolumeStatus",
        ],
    ),
    (
        "io.k8s.api.core.v1.PersistentVolumeSpec",
        &["volumeAttributesClassName"],
    ),
    (
        "io.k8s.api.core.v1.PersistentVolumeStatus",
        &["lastPhaseTransitionTime"],
    ),
    (
        "io.k8s.api.core.v1.PodAffinityTerm",
        &["matchLabelKeys", "mismatchLabelKeys"],
    ),
    ("io.k8s.api.core.v1.PodCondition", &["observedGeneration"]),
    (
        "io.k8s.api.core.v1.PodSecurityContext",
        &[
            "appArmorProfile",
            "seLinuxChangePolicy",
            "supplementalGroupsPolicy",
        ],
    ),
    (
        "io.k8s.api.core.v1.PodSpec",
        &[
            "hostUsers",
            "os",
            "resourceClaims",
            "resources",
            "schedulingGates",
        ],
    ),
    (
        "io.k8s.api.core.v1.PodStatus",
        &[
            "hostIPs",
            "observedGeneration",
            "resize",
            "resourceClaimStatuses",
        ],
    ),
    ("io.k8s.api.core.v1.Probe", &["grpc"]),
    ("io.k8s.api.core.v1.ResourceRequirements", &["claims"]),
    ("io.k8s.api.core.v1.SecurityContext", &["appArmorProfile"]),
    ("io.k8s.api.core.v1.ServiceSpec", &["trafficDistribution"]),
    (
        "io.k8s.api.core.v1.TopologySpreadConstraint",
        &[
            "matchLabelKeys",
            "minDomains",
            "nodeAffinityPolicy",
            "nodeTaintsPolicy",
        ],
    ),
    ("io.k8s.api.core.v1.Volume", &["image"]),
    ("io.k8s.api.core.v1.VolumeMount", &["recursiveReadOnly"]),
    (
        "io.k8s.api.core.v1.VolumeProjection",
        &["clusterTrustBundle"],
    ),
    (
        "io.k8s.api.core.v1.WindowsSecurityContextOptions",
        &["hostProcess"],
    ),
    ("io.k8s.api.discovery.v1.EndpointHints", &["forNodes"]),
    (
        "io.k8s.api.policy.v1.PodDisruptionBudgetSpec",
        &["unhealthyPodEvictionPolicy"],
    ),
    (
        "io.k8s.api.storage.v1.CSIDriverSpec",
        &["nodeAllocatableUpdatePeriodSeconds", "seLinuxMount"],
    ),
    ("io.k8s.api.storage.v1.VolumeError", &["errorCode"]),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.CustomResourceDefinitionVersion",
        &["selectableFields"],
    ),
    (
        "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
        &["x-kubernetes-validations"],
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions",
        &["ignoreStoreReadErrorWithClusterBreakingPotential"],
    ),
    (
        "io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry",
        &["subresource"],
    ),
    (
        "io.k8s.apimachinery.pkg.version.Info",
        &[
            "emulationMajor",
            "emulationMinor",
            "minCompatibilityMajor",
            "minCompatibilityMinor",
        ],
    ),
];

/// Whether `field` of definition `definition` exists in current Kubernetes though not in
/// the embedded v1.21.2 schema.
pub(crate) fn is_added(definition: &str, field: &str) -> bool {
    ADDED
        .binary_search_by(|(d, _)| (*d).cmp(definition))
        .is_ok_and(|i| ADDED[i].1.contains(&field))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_and_found() {
        assert!(ADDED.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(is_added("io.k8s.api.core.v1.PodSpec", "os"));
        assert!(is_added("io.k8s.api.batch.v1.CronJobSpec", "timeZone"));
        assert!(!is_added("io.k8s.api.core.v1.PodSpec", "nope"));
        assert!(!is_added("io.k8s.api.core.v1.Nope", "os"));
        assert!(is_added(
            "io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1.JSONSchemaProps",
            "x-kubernetes-validations"
        ));
    }
}
