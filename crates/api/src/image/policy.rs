//! ImagePolicy: which tag of an ImageRepository is the latest by a rule.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::condition::Condition;
use crate::duration::GoDuration;
use crate::refs::NamespacedObjectReference;

/// Selects the latest image of an ImageRepository by a policy.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "image.toolkit.fluxcd.io",
    version = "v1",
    kind = "ImagePolicy",
    plural = "imagepolicies",
    namespaced,
    status = "ImagePolicyStatus",
    derive = "PartialEq",
    doc = "ImagePolicy picks the latest tag of a scanned image repository by semver, numerical or alphabetical order.",
    shortname = "imgpol",
    shortname = "imagepol",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-images",
    printcolumn(name = "Image", type_ = "string", json_path = ".status.latestRef.name"),
    printcolumn(name = "Tag", type_ = "string", json_path = ".status.latestRef.tag"),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].status"#
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = r#".status.conditions[?(@.type=="Ready")].message"#
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("x-kubernetes-validations" = [
    {"message": "spec.interval is only accepted when spec.digestReflectionPolicy is set to 'Always'",
     "rule": "!has(self.interval) || (has(self.digestReflectionPolicy) && self.digestReflectionPolicy == 'Always')"},
    {"message": "spec.interval must be set when spec.digestReflectionPolicy is set to 'Always'",
     "rule": "has(self.interval) || !has(self.digestReflectionPolicy) || self.digestReflectionPolicy != 'Always'"}
]))]
pub struct ImagePolicySpec {
    /// The ImageRepository whose tags are considered.
    pub image_repository_ref: NamespacedObjectReference,
    /// The ordering rule.
    pub policy: ImagePolicyChoice,
    /// Tag filter applied before ordering.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter_tags: Option<TagFilter>,
    /// When `status.latestRef.digest` is filled in; `Never` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Never"))]
    pub digest_reflection_policy: Option<ReflectionPolicy>,
    /// How often to refresh the digest (only with `digestReflectionPolicy: Always`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(crate::duration::INTERVAL_PATTERN))]
    pub interval: Option<GoDuration>,
    /// Stop reconciling this object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

/// Exactly one ordering rule.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ImagePolicyChoice {
    /// Highest tag within a semver range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semver: Option<SemVerPolicy>,
    /// Tags ordered as strings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alphabetical: Option<AlphabeticalPolicy>,
    /// Tags (or extracted parts) ordered as numbers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerical: Option<NumericalPolicy>,
}

/// Semver ordering.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SemVerPolicy {
    /// Range (Masterminds syntax); the highest version in it wins.
    pub range: String,
}

/// Alphabetical ordering.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AlphabeticalPolicy {
    /// `asc` picks the last (Z), `desc` the first (A); `asc` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "asc"))]
    pub order: Option<SortOrder>,
}

/// Numerical ordering.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NumericalPolicy {
    /// `asc` picks the highest, `desc` the lowest; `asc` when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "asc"))]
    pub order: Option<SortOrder>,
}

/// Sort direction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SortOrder {
    /// Ascending: the last one wins.
    #[default]
    Asc,
    /// Descending: the first one wins.
    Desc,
}

/// Tag filter: keep tags matching `pattern`, compare `extract` (e.g. `$build`) instead of the tag.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TagFilter {
    /// Regular expression tags must match (named groups allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Replacement template selecting what is compared, e.g. `$ts`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extract: Option<String>,
}

/// When the latest image's digest is looked up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ReflectionPolicy {
    /// At every reconcile.
    Always,
    /// When empty and the image did not change.
    IfNotPresent,
    /// Never (the default): the digest stays empty.
    Never,
}

/// Observed state of an ImagePolicy.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImagePolicyStatus {
    /// Last generation reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Current conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The selected image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_ref: Option<ImageRef>,
    /// The previously selected image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_previous_ref: Option<ImageRef>,
    /// The last `reconcile.fluxcd.io/requestedAt` value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}

/// An image: name, tag and optionally digest.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ImageRef {
    /// Image name without tag.
    pub name: String,
    /// Tag.
    pub tag: String,
    /// Digest, when reflected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

impl ImageRef {
    /// `name:tag`, or `name:tag@digest` when the digest is known.
    pub fn reference(&self) -> String {
        match self.digest.as_deref() {
            Some(d) if !d.is_empty() => format!("{}:{}@{}", self.name, self.tag, d),
            _ => format!("{}:{}", self.name, self.tag),
        }
    }
}
