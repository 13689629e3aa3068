//! Field tables of the messages `kubectl create <kind>` sends as protobuf: field number →
//! JSON name and how to decode it. Numbers are k8s.io/api's `generated.proto` ones (stable
//! across releases: fields are only ever added); each table lists the fields kubectl's
//! generators fill plus close relatives. Fields not listed decode only when they carry a
//! zero value (Go's encoder writes every non-pointer field); anything else is refused.

use super::F;

/// A message: field numbers and how each becomes JSON.
pub(super) type Fields = &'static [(u64, F)];

const OWNER_REF: Fields = &[
    (1, F::Str("kind")),
    (3, F::Str("name")),
    (4, F::Str("uid")),
    (5, F::Str("apiVersion")),
    (6, F::Bool("controller")),
    (7, F::Bool("blockOwnerDeletion")),
];

pub(super) const OBJECT_META: Fields = &[
    (1, F::Str("name")),
    (2, F::Str("generateName")),
    (3, F::Str("namespace")),
    (5, F::Str("uid")),
    (6, F::Str("resourceVersion")),
    (8, F::Skip),
    (11, F::MapStr("labels")),
    (12, F::MapStr("annotations")),
    (13, F::RepMsg("ownerReferences", OWNER_REF)),
    (14, F::RepStr("finalizers")),
];

const LOCAL_REF: Fields = &[(1, F::Str("name"))];

const SELECTOR_REQUIREMENT: Fields = &[
    (1, F::Str("key")),
    (2, F::Str("operator")),
    (3, F::RepStr("values")),
];

const LABEL_SELECTOR: Fields = &[
    (1, F::MapStr("matchLabels")),
    (2, F::RepMsg("matchExpressions", SELECTOR_REQUIREMENT)),
];

const CONTAINER_PORT: Fields = &[
    (1, F::Str("name")),
    (2, F::Int("hostPort")),
    (3, F::Int("containerPort")),
    (4, F::Str("protocol")),
    (5, F::Str("hostIP")),
];

const ENV_VAR: Fields = &[(1, F::Str("name")), (2, F::Str("value"))];

const CONTAINER: Fields = &[
    (1, F::Str("name")),
    (2, F::Str("image")),
    (3, F::RepStr("command")),
    (4, F::RepStr("args")),
    (5, F::Str("workingDir")),
    (6, F::RepMsg("ports", CONTAINER_PORT)),
    (7, F::RepMsg("env", ENV_VAR)),
    (13, F::Str("terminationMessagePath")),
    (14, F::Str("imagePullPolicy")),
    (20, F::Str("terminationMessagePolicy")),
];

const POD_SPEC: Fields = &[
    (2, F::RepMsg("containers", CONTAINER)),
    (3, F::Str("restartPolicy")),
];

const POD_TEMPLATE_SPEC: Fields = &[
    (1, F::Msg("metadata", OBJECT_META)),
    (2, F::Msg("spec", POD_SPEC)),
];

const ROLLING_UPDATE: Fields = &[
    (1, F::IntOrString("maxUnavailable")),
    (2, F::IntOrString("maxSurge")),
];

const DEPLOYMENT_STRATEGY: Fields = &[
    (1, F::Str("type")),
    (2, F::Msg("rollingUpdate", ROLLING_UPDATE)),
];

const DEPLOYMENT_SPEC: Fields = &[
    (1, F::IntKeep("replicas")),
    (2, F::Msg("selector", LABEL_SELECTOR)),
    (3, F::Msg("template", POD_TEMPLATE_SPEC)),
    (4, F::Msg("strategy", DEPLOYMENT_STRATEGY)),
    (5, F::Int("minReadySeconds")),
    (6, F::IntKeep("revisionHistoryLimit")),
    (7, F::Flag("paused")),
    (9, F::IntKeep("progressDeadlineSeconds")),
];

const JOB_SPEC: Fields = &[
    (1, F::IntKeep("parallelism")),
    (2, F::IntKeep("completions")),
    (6, F::Msg("template", POD_TEMPLATE_SPEC)),
    (7, F::IntKeep("backoffLimit")),
];

const JOB_TEMPLATE_SPEC: Fields = &[
    (1, F::Msg("metadata", OBJECT_META)),
    (2, F::Msg("spec", JOB_SPEC)),
];

const CRON_JOB_SPEC: Fields = &[
    (1, F::Str("schedule")),
    (5, F::Msg("jobTemplate", JOB_TEMPLATE_SPEC)),
];

const SERVICE_PORT: Fields = &[
    (1, F::Str("name")),
    (2, F::Str("protocol")),
    (3, F::Int("port")),
    (4, F::IntOrString("targetPort")),
    (5, F::Int("nodePort")),
];

const SERVICE_SPEC: Fields = &[
    (1, F::RepMsg("ports", SERVICE_PORT)),
    (2, F::MapStr("selector")),
    (3, F::Str("clusterIP")),
    (4, F::Str("type")),
    (10, F::Str("externalName")),
];

const POLICY_RULE: Fields = &[
    (1, F::RepStr("verbs")),
    (2, F::RepStr("apiGroups")),
    (3, F::RepStr("resources")),
    (4, F::RepStr("resourceNames")),
    (5, F::RepStr("nonResourceURLs")),
];

const AGGREGATION_RULE: Fields = &[(1, F::RepMsg("clusterRoleSelectors", LABEL_SELECTOR))];

const SUBJECT: Fields = &[
    (1, F::Str("kind")),
    (2, F::Str("apiGroup")),
    (3, F::Str("name")),
    (4, F::Str("namespace")),
];

const ROLE_REF: Fields = &[
    (1, F::Str("apiGroup")),
    (2, F::Str("kind")),
    (3, F::Str("name")),
];

const QUOTA_SPEC: Fields = &[(1, F::MapQuantity("hard")), (2, F::RepStr("scopes"))];

const PDB_SPEC: Fields = &[
    (1, F::IntOrString("minAvailable")),
    (2, F::Msg("selector", LABEL_SELECTOR)),
    (3, F::IntOrString("maxUnavailable")),
];

const SERVICE_BACKEND_PORT: Fields = &[(1, F::Str("name")), (2, F::Int("number"))];

const SERVICE_BACKEND: Fields = &[
    (1, F::Str("name")),
    (2, F::Msg("port", SERVICE_BACKEND_PORT)),
];

const INGRESS_BACKEND: Fields = &[(4, F::Msg("service", SERVICE_BACKEND))];

const INGRESS_PATH: Fields = &[
    (1, F::Str("path")),
    (2, F::Msg("backend", INGRESS_BACKEND)),
    (3, F::Str("pathType")),
];

const HTTP_RULE: Fields = &[(1, F::RepMsg("paths", INGRESS_PATH))];

/// `IngressRuleValue` is inlined into the rule in JSON.
const INGRESS_RULE_VALUE: Fields = &[(1, F::Msg("http", HTTP_RULE))];

const INGRESS_RULE: Fields = &[(1, F::Str("host")), (2, F::Inline(INGRESS_RULE_VALUE))];

const INGRESS_TLS: Fields = &[(1, F::RepStr("hosts")), (2, F::Str("secretName"))];

const INGRESS_SPEC: Fields = &[
    (1, F::Msg("defaultBackend", INGRESS_BACKEND)),
    (2, F::RepMsg("tls", INGRESS_TLS)),
    (3, F::RepMsg("rules", INGRESS_RULE)),
    (4, F::Str("ingressClassName")),
];

/// Top-level messages: apiVersion, kind, fields. `status` (3 almost everywhere) is skipped:
/// clients cannot set it on create.
pub(super) const KINDS: &[(&str, &str, Fields)] = &[
    (
        "v1",
        "ConfigMap",
        &[
            (1, F::Msg("metadata", OBJECT_META)),
            (2, F::MapStr("data")),
            (3, F::MapBytes("binaryData")),
            (4, F::Bool("immutable")),
        ],
    ),
    (
        "v1",
        "Secret",
        &[
            (1, F::Msg("metadata", OBJECT_META)),
            (2, F::MapBytes("data")),
            (3, F::Str("type")),
            (4, F::MapStr("stringData")),
            (5, F::Bool("immutable")),
        ],
    ),
    (
        "v1",
        "Namespace",
        &[
            (1, F::Msg("metadata", OBJECT_META)),
            (2, F::Msg("spec", &[(1, F::RepStr("finalizers"))])),
            (3, F::Skip),
        ],
    ),
    (
        "v1",
        "ServiceAccount",
        &[
            (1, F::Msg("metadata", OBJECT_META)),
            (3, F::Bool("automountServiceAccountToken")),
            (4, F::RepMsg("imagePullSecrets", LOCAL_REF)),
        ],
    ),
    (
        "v1",
        "Service",
        &[
            (1, F::Msg("metadata", OBJECT_META)),
            (2, F::Msg("spec", SERVICE_SPEC)),
            (3, F::Skip),
        ],
    ),
    (
        "v1",
        "ResourceQuota",
        &[
            (1, F::Msg("metadata", OBJECT_META)),
            (2, F::Msg("spec", QUOTA_SPEC)),
            (3, F::Skip),
        ],
    ),
    (
        "apps/v1",
        "Deployment",
        &[
            (1, F::Msg("metadata", OBJECT_META)),
            (2, F::Msg("spec", DEPLOYMENT_SPEC)),
            (3, F::Skip),
        ],
    ),
    (
        "batch/v1",
        "Job",
        &[
            (1, F::Msg("metadata", OBJECT_META)),
            (2, F::Msg("spec", JOB_SPEC)),
            (3, F::Skip),
        ],
    ),
    (
        "batch/v1",
        "CronJob",
        &[
            (1, F::Msg("metadata", OBJECT_META)),
            (2, F::Msg("spec", CRON_JOB_SPEC)),
            (3, F::Skip),
        ],
    ),
    (
        "rbac.authorization.k8s.io/v1",
        "Role",
        &[
            (1, F::Msg("metadata", OBJECT_META)),
            (2, F::RepMsg("rules", POLICY_RULE)),
        ],
    ),
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        &[
            (1, F::Msg("metadata", OBJECT_META)),
            (2, F::RepMsg("rules", POLICY_RULE)),
            (3, F::Msg("aggregationRule", AGGREGATION_RULE)),
        ],
    ),
    (
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        &[
            (1, F::Msg("metadata", OBJECT_META)),
            (2, F::RepMsg("subjects", SUBJECT)),
            (3, F::Msg("roleRef", ROLE_REF)),
        ],
    ),
    (
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        &[
            (1, F::Msg("metadata", OBJECT_META)),
            (2, F::RepMsg("subjects", SUBJECT)),
            (3, F::Msg("roleRef", ROLE_REF)),
        ],
    ),
    (
        "scheduling.k8s.io/v1",
        "PriorityClass",
        &[
            (1, F::Msg("metadata", OBJECT_META)),
            (2, F::IntKeep("value")),
            (3, F::Flag("globalDefault")),
            (4, F::Str("description")),
            (5, F::Str("preemptionPolicy")),
        ],
    ),
    (
        "policy/v1",
        "PodDisruptionBudget",
        &[
            (1, F::Msg("metadata", OBJECT_META)),
            (2, F::Msg("spec", PDB_SPEC)),
            (3, F::Skip),
        ],
    ),
    (
        "networking.k8s.io/v1",
        "Ingress",
        &[
            (1, F::Msg("metadata", OBJECT_META)),
            (2, F::Msg("spec", INGRESS_SPEC)),
            (3, F::Skip),
        ],
    ),
];
