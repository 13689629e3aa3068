//! Receiver: a webhook endpoint that asks for immediate reconciles.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::condition::Condition;
use crate::duration::GoDuration;
use crate::notification::SOURCE_KINDS;
use crate::refs::LocalObjectReference;

/// Receiver types, as accepted by the CRD.
pub const RECEIVER_TYPES: [&str; 13] = [
    "generic",
    "generic-hmac",
    "generic-oidc",
    "github",
    "gitlab",
    "bitbucket",
    "harbor",
    "dockerhub",
    "quay",
    "gcr",
    "nexus",
    "acr",
    "cdevents",
];

/// A webhook endpoint that triggers reconciles of selected objects.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "notification.toolkit.fluxcd.io",
    version = "v1",
    kind = "Receiver",
    plural = "receivers",
    namespaced,
    status = "ReceiverStatus",
    derive = "PartialEq",
    doc = "Receiver exposes a webhook that requests a reconcile of selected toolkit objects.",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-notifications",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].status"#
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].message"#
    )
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"message": "generic-oidc receivers must define at least one oidcProvider",
     "rule": "self.type != 'generic-oidc' || (has(self.oidcProviders) && size(self.oidcProviders) > 0)"},
    {"message": "oidcProviders can only be set when type is generic-oidc",
     "rule": "self.type == 'generic-oidc' || !has(self.oidcProviders) || size(self.oidcProviders) == 0"},
    {"message": "secretRef cannot be set when type is generic-oidc",
     "rule": "self.type != 'generic-oidc' || !has(self.secretRef)"},
    {"message": "secretRef is required when type is not generic-oidc",
     "rule": "self.type == 'generic-oidc' || has(self.secretRef)"}
]))]
pub struct ReceiverSpec {
    /// Webhook flavour (see [`RECEIVER_TYPES`]).
    #[serde(rename = "type")]
    #[schemars(extend("enum" = RECEIVER_TYPES))]
    pub type_: String,
    /// How often to reconcile the Receiver itself; 10m when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(crate::duration::INTERVAL_PATTERN), extend("default" = "10m"))]
    pub interval: Option<GoDuration>,
    /// Event types to act on (e.g. `push`); all when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub events: Option<Vec<String>>,
    /// Objects to reconcile.
    pub resources: Vec<ReceiverResource>,
    /// CEL expression over `res` and `req` deciding, per resource, whether to reconcile it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_filter: Option<String>,
    /// Secret with the `token` used for the webhook path and payload verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// OIDC issuers for `generic-oidc` receivers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("x-kubernetes-list-map-keys" = ["issuerURL"], "x-kubernetes-list-type" = "map"))]
    pub oidc_providers: Option<Vec<OidcProvider>>,
    /// Stop handling requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

/// Objects a Receiver reconciles.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReceiverResource {
    /// API version of the referent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the referent.
    #[schemars(extend("enum" = SOURCE_KINDS))]
    pub kind: String,
    /// Name of the referent; `*` matches all (then `matchLabels` narrow it).
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Namespace of the referent; the Receiver's when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub namespace: Option<String>,
    /// Labels the referents must carry (with name `*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
    /// CEL expression, ANDed with `resourceFilter`, for the objects matched here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
}

/// An OIDC issuer trusted by a `generic-oidc` Receiver.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OidcProvider {
    /// Issuer URL (matched against the token's `iss`).
    #[serde(rename = "issuerURL")]
    #[schemars(pattern(r"^https?://"))]
    pub issuer_url: String,
    /// Expected audience; the issuer's default when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// CEL variables computed from the claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<Vec<OidcVariable>>,
    /// CEL rules the claims must satisfy (at least one).
    #[schemars(length(min = 1))]
    pub validations: Vec<OidcValidation>,
}

/// A named CEL expression over the token claims.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OidcVariable {
    /// Variable name.
    pub name: String,
    /// CEL expression.
    pub expression: String,
}

/// A CEL rule over the token claims, with the message given when it fails.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct OidcValidation {
    /// CEL expression that must be true.
    pub expression: String,
    /// Message when it is not.
    pub message: String,
}

/// Observed state of a Receiver.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReceiverStatus {
    /// Last generation reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Current conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The webhook path: `/hook/sha256sum(token+name+namespace)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_path: Option<String>,
    /// The last `reconcile.fluxcd.io/requestedAt` value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}
