//! Provider: where notifications go (chat, webhooks, Git commit statuses, …).

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::GoDuration;
use crate::refs::LocalObjectReference;

/// Provider types Flux knows, as accepted by the CRD.
pub const PROVIDER_TYPES: [&str; 34] = [
    "slack",
    "discord",
    "msteams",
    "rocket",
    "generic",
    "generic-hmac",
    "github",
    "gitlab",
    "gitea",
    "giteapullrequestcomment",
    "bitbucketserver",
    "bitbucket",
    "azuredevops",
    "googlechat",
    "googlepubsub",
    "webex",
    "sentry",
    "azureeventhub",
    "telegram",
    "lark",
    "matrix",
    "opsgenie",
    "alertmanager",
    "grafana",
    "githubdispatch",
    "githubpullrequestcomment",
    "gitlabmergerequestcomment",
    "pagerduty",
    "datadog",
    "nats",
    "zulip",
    "otel",
    "zoom",
    "incident.io",
];

/// A notification target.
#[derive(CustomResource, Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[kube(
    group = "notification.toolkit.fluxcd.io",
    version = "v1beta3",
    kind = "Provider",
    plural = "providers",
    namespaced,
    derive = "PartialEq",
    doc = "Provider is a notification target: a chat service, a webhook, or a Git host's commit status API.",
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
#[schemars(extend("x-kubernetes-validations" = [{
    "message": "spec.commitStatusExpr is only supported for the 'github', 'gitlab', 'gitea', 'bitbucketserver', 'bitbucket', 'azuredevops' provider types",
    "rule": "self.type == 'github' || self.type == 'gitlab' || self.type == 'gitea' || self.type == 'bitbucketserver' || self.type == 'bitbucket' || self.type == 'azuredevops' || !has(self.commitStatusExpr)"
}]))]
pub struct ProviderSpec {
    /// Provider type (see [`PROVIDER_TYPES`]).
    #[serde(rename = "type")]
    #[schemars(extend("enum" = PROVIDER_TYPES.as_slice()))]
    pub type_: String,
    /// Channel, room or topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub channel: Option<String>,
    /// Bot user name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub username: Option<String>,
    /// Endpoint URL (or repository URL for commit status providers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048))]
    pub address: Option<String>,
    /// Deprecated and ignored by Flux.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(crate::duration::INTERVAL_PATTERN))]
    pub interval: Option<GoDuration>,
    /// Timeout for sending; 15s when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(crate::duration::TIMEOUT_PATTERN))]
    pub timeout: Option<GoDuration>,
    /// HTTP(S) proxy address (deprecated in favour of `proxySecretRef`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048), pattern(r"^(http|https)://.*$"))]
    pub proxy: Option<String>,
    /// Secret with proxy settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_secret_ref: Option<LocalObjectReference>,
    /// Secret with `token`, `address`, `username`, `password`, `headers`, … as the type needs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_ref: Option<LocalObjectReference>,
    /// ServiceAccount for workload identity with cloud providers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account_name: Option<String>,
    /// Secret with `ca.crt` (and `tls.crt`/`tls.key` for mTLS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_secret_ref: Option<LocalObjectReference>,
    /// CEL expression computing the commit status key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_status_expr: Option<String>,
    /// Stop sending notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

impl ProviderSpec {
    /// The send timeout (`timeout`, else 15s as Flux).
    pub fn timeout(&self) -> Result<std::time::Duration, crate::duration::DurationError> {
        match &self.timeout {
            Some(t) => t.to_std(),
            None => Ok(std::time::Duration::from_secs(15)),
        }
    }
}
