//! Flags of `create alert-provider|alert|receiver` and `get alert-providers|alerts|receivers`.

use clap::{Args, Subcommand};

use super::OptName;

/// The notification kinds under `create` (flattened into its verbs).
#[derive(Debug, Subcommand)]
pub enum CreateNotify {
    /// A Provider: where Alerts send events (Slack, Teams, Discord, a webhook, a commit status).
    #[command(
        name = "alert-provider",
        after_help = "Examples:\n  flotilla create alert-provider slack --type=slack --channel=general --secret-ref=slack-url\n  \
                      flotilla create alert-provider github-podinfo --type=github --address=https://github.com/stefanprodan/podinfo --secret-ref=github-token\n  \
                      flotilla create alert-provider hook --type=generic --address=https://hooks.example.com/flux --export"
    )]
    AlertProvider(CreateAlertProvider),
    /// An Alert: which events (by source and severity) go to a Provider.
    #[command(
        after_help = "Examples:\n  flotilla create alert on-call --provider-ref=slack --event-severity=error --event-source=Kustomization/*,GitRepository/*\n  \
                      flotilla create alert apps --provider-ref=slack --event-source=Kustomization/apps --export"
    )]
    Alert(CreateAlert),
    /// A Receiver: a webhook that reconciles the listed objects when called; prints its path.
    #[command(
        after_help = "Examples:\n  kubectl -n flux-system create secret generic webhook-token --from-literal=token=$TOKEN\n  \
                      flotilla create receiver github --type=github --event=ping,push --secret-ref=webhook-token --resource=GitRepository/flux-system\n  \
                      flotilla create receiver push --type=generic --secret-ref=webhook-token --resource=GitRepository/webapp --export"
    )]
    Receiver(CreateReceiver),
}

#[derive(Debug, Args)]
pub struct CreateAlertProvider {
    /// The object's name.
    pub name: String,
    /// Provider type: generic, generic-hmac, slack, msteams, discord, github, gitlab (others
    /// Flux knows are accepted but not sent to).
    #[arg(long = "type", value_name = "TYPE")]
    pub type_: String,
    /// Chat channel, webhook URL or repository URL (for github/gitlab commit statuses).
    #[arg(long, value_name = "URL")]
    pub address: Option<String>,
    /// Channel to post to (chat providers).
    #[arg(long, value_name = "CHANNEL")]
    pub channel: Option<String>,
    /// Bot user name (chat providers).
    #[arg(long, value_name = "NAME")]
    pub username: Option<String>,
    /// Secret with the token, address or headers.
    #[arg(long, value_name = "SECRET")]
    pub secret_ref: Option<String>,
}

#[derive(Debug, Args)]
pub struct CreateAlert {
    /// The object's name.
    pub name: String,
    /// The Provider events go to.
    #[arg(long, value_name = "PROVIDER")]
    pub provider_ref: String,
    /// Lowest severity sent: info (everything) or error.
    #[arg(long, value_name = "SEVERITY")]
    pub event_severity: Option<String>,
    /// Objects whose events are sent, as Kind/name or Kind/name.namespace (`*` for all names;
    /// repeatable or comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "KIND/NAME")]
    pub event_source: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CreateReceiver {
    /// The object's name.
    pub name: String,
    /// Webhook sender: generic, generic-hmac, github, gitlab, bitbucket, harbor, quay,
    /// dockerhub, nexus, acr.
    #[arg(long = "type", value_name = "TYPE")]
    pub type_: String,
    /// Event types handled, e.g. push (repeatable or comma-separated; default: all).
    #[arg(long, value_delimiter = ',', value_name = "EVENT")]
    pub event: Vec<String>,
    /// Secret whose `token` key signs or authenticates calls and makes the webhook path.
    #[arg(long, value_name = "SECRET")]
    pub secret_ref: String,
    /// Objects to reconcile on a valid call, as Kind/name or Kind/name.namespace (repeatable
    /// or comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "KIND/NAME")]
    pub resource: Vec<String>,
}

/// The notification kinds under `get` (flattened into its verbs).
#[derive(Debug, Subcommand)]
pub enum GetNotify {
    /// Providers.
    #[command(
        name = "alert-providers",
        visible_alias = "alert-provider",
        after_help = "Examples:\n  flotilla get alert-providers\n  flotilla get alert-providers -A -o yaml"
    )]
    AlertProviders(OptName),
    /// Alerts.
    #[command(
        name = "alerts",
        visible_alias = "alert",
        after_help = "Examples:\n  flotilla get alerts\n  flotilla get alerts on-call -o json"
    )]
    Alerts(OptName),
    /// Receivers and their webhook paths.
    #[command(
        name = "receivers",
        visible_alias = "receiver",
        after_help = "Examples:\n  flotilla get receivers -A\n  flotilla get receivers --status-selector ready=false"
    )]
    Receivers(OptName),
}
