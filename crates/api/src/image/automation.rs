//! ImageUpdateAutomation: rewrite marked fields in a Git repository to the policies' latest images
//! and push a commit.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::condition::Condition;
use crate::duration::GoDuration;
use crate::image::ImageRef;
use crate::refs::{LabelSelector, LocalObjectReference};
use crate::source::GitRepositoryRef;

/// Updates image references in a Git repository and commits the change.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "image.toolkit.fluxcd.io",
    version = "v1",
    kind = "ImageUpdateAutomation",
    plural = "imageupdateautomations",
    namespaced,
    status = "ImageUpdateAutomationStatus",
    derive = "PartialEq",
    doc = "ImageUpdateAutomation rewrites marked image fields in a Git repository to the latest images its policies select, and pushes a commit.",
    shortname = "iua",
    shortname = "imgupd",
    shortname = "imgauto",
    category = "all",
    category = "fluxcd",
    category = "fluxcd-images",
    annotation("kustomize.toolkit.fluxcd.io/substitute", "disabled"),
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
        name = "Last run",
        type_ = "string",
        json_path = ".status.lastAutomationRunTime",
        priority = "1"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct ImageUpdateAutomationSpec {
    /// The GitRepository to update.
    pub source_ref: CrossNamespaceSourceReference,
    /// Checkout, commit and push settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git: Option<GitSpec>,
    /// How often to run.
    #[schemars(pattern(crate::duration::INTERVAL_PATTERN))]
    pub interval: GoDuration,
    /// ImagePolicies to use (in this namespace); all when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_selector: Option<LabelSelector>,
    /// How to update files; setters over the whole repository when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = {"strategy": "Setters"}))]
    pub update: Option<UpdateStrategy>,
    /// Stop running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

/// Reference to the Git source of an automation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CrossNamespaceSourceReference {
    /// API version of the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Only `GitRepository`.
    #[schemars(extend("enum" = ["GitRepository"], "default" = "GitRepository"))]
    pub kind: String,
    /// Name of the source.
    pub name: String,
    /// Its namespace; the automation's namespace when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
}

/// Git settings of an automation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GitSpec {
    /// What to check out; the GitRepository's reference when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkout: Option<GitCheckoutSpec>,
    /// Commit author, message and signing.
    pub commit: CommitSpec,
    /// Where to push; the checked-out branch when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub push: Option<PushSpec>,
}

/// The reference to check out.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct GitCheckoutSpec {
    /// The Git reference.
    #[serde(rename = "ref")]
    pub reference: GitRepositoryRef,
}

/// How commits are made.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CommitSpec {
    /// Commit author.
    pub author: CommitUser,
    /// Key to sign commits with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<SigningKey>,
    /// Go template of the commit message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_template: Option<String>,
    /// Extra values for the template (`.Values`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_template_values: Option<BTreeMap<String, String>>,
}

/// A commit author or committer.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CommitUser {
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Email.
    pub email: String,
}

/// A commit signing key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SigningKey {
    /// Secret holding the key (`git.asc` for GPG, `identity` for SSH).
    pub secret_ref: LocalObjectReference,
    /// `gpg` or `ssh`.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub type_: Option<SigningKeyType>,
}

/// Kind of commit signing key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SigningKeyType {
    /// OpenPGP.
    Gpg,
    /// SSH.
    Ssh,
}

/// Where and how to push.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PushSpec {
    /// Branch to push to (created from the checkout when missing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    /// Refspec to push, e.g. `refs/heads/main:refs/heads/auto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refspec: Option<String>,
    /// Git push options (`-o key=value`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
}

/// Which files to update and how.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UpdateStrategy {
    /// Update strategy; only `Setters`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "Setters"))]
    pub strategy: Option<UpdateStrategyName>,
    /// Directory to update, relative to the repository root; the root when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// Update strategy names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum UpdateStrategyName {
    /// Rewrite fields marked with `# {"$imagepolicy": "ns:name[:tag|:name|:digest]"}`.
    Setters,
}

/// Observed state of an ImageUpdateAutomation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImageUpdateAutomationStatus {
    /// Last generation reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Current conditions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// When the automation last ran.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::date_time")]
    pub last_automation_run_time: Option<Time>,
    /// SHA of the last commit pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_push_commit: Option<String>,
    /// When the last commit was pushed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(schema_with = "crate::schema::date_time")]
    pub last_push_time: Option<Time>,
    /// The policies' images used by the last run, by policy name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_policies: Option<BTreeMap<String, ImageRef>>,
    /// Source revision seen by the last run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_source_revision: Option<String>,
    /// The last `reconcile.fluxcd.io/requestedAt` value handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
}
