//! Alert: which events go to which Provider.

use std::collections::BTreeMap;

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::notification::SOURCE_KINDS;
use crate::refs::LocalObjectReference;

/// Routes events of selected objects to a Provider.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "notification.toolkit.fluxcd.io",
    version = "v1beta3",
    kind = "Alert",
    plural = "alerts",
    namespaced,
    derive = "PartialEq",
    doc = "Alert routes the events of selected toolkit objects to a Provider.",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-notifications",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct AlertSpec {
    /// The Provider to send to.
    pub provider_ref: LocalObjectReference,
    /// Lowest severity sent: `info` (all) or `error`; `info` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "info"))]
    pub event_severity: Option<EventSeverity>,
    /// Objects whose events are sent.
    pub event_sources: Vec<CrossNamespaceObjectReference>,
    /// Regular expressions; only matching messages are sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion_list: Option<Vec<String>>,
    /// Metadata added to every event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_metadata: Option<BTreeMap<String, String>>,
    /// Regular expressions; matching messages are dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclusion_list: Option<Vec<String>>,
    /// Deprecated: use `eventMetadata.summary`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub summary: Option<String>,
    /// Stop sending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

/// Event severities.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum EventSeverity {
    /// Informational (and errors).
    Info,
    /// Errors only.
    Error,
}

/// Objects of a kind, by name (`*` for all) or labels, in a namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CrossNamespaceObjectReference {
    /// API version of the referent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Kind of the referent.
    #[schemars(extend("enum" = SOURCE_KINDS))]
    pub kind: String,
    /// Name of the referent; `*` matches all (then `matchLabels` narrow it).
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Namespace of the referent; the Alert's when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub namespace: Option<String>,
    /// Labels the referents must carry (with name `*`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub match_labels: Option<BTreeMap<String, String>>,
}
