//! Message bodies for chat providers, in the shapes Flux sends (Slack attachment, Discord's
//! Slack-compatible endpoint, Microsoft Teams Adaptive Card or legacy connector card).

use serde_json::{json, Value};

use crate::event::{Event, Severity, META_SUMMARY};

/// Slack `chat.postMessage` / incoming-webhook payload: one attachment, coloured by severity,
/// authored by the object, with the metadata as fields (sorted by key).
pub fn slack(event: &Event, channel: Option<&str>, username: Option<&str>) -> Value {
    let username = username.unwrap_or(&event.reporting_controller);
    json!({
        "channel": channel.unwrap_or(""),
        "username": username,
        "icon_url": "",
        "icon_emoji": "",
        "attachments": [attachment(event)],
    })
}

/// Discord's Slack-compatible payload (no channel: the webhook decides).
pub fn discord(event: &Event, username: Option<&str>) -> Value {
    slack(event, None, username)
}

/// Discord webhooks take Slack payloads at `<webhook>/slack`.
pub fn discord_url(address: &str) -> String {
    let (base, query) = match address.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (address, None),
    };
    let base = if base.ends_with("/slack") {
        base.to_string()
    } else {
        format!("{}/slack", base.trim_end_matches('/'))
    };
    match query {
        Some(q) => format!("{base}?{q}"),
        None => base,
    }
}

fn attachment(event: &Event) -> Value {
    let color = if event.severity == Severity::Error {
        "danger"
    } else {
        "good"
    };
    let fields: Vec<Value> = event
        .metadata
        .iter()
        .map(|(k, v)| json!({"title": k, "value": v, "short": false}))
        .collect();
    json!({
        "color": color,
        "author_name": event.object_title(),
        "text": event.message,
        "mrkdwn_in": ["text"],
        "fields": fields,
    })
}

/// Microsoft Teams: the legacy connector `MessageCard` when the address is an Office 365
/// connector (`*.webhook.office.com`), an Adaptive Card (Teams workflows) otherwise.
pub fn msteams(event: &Event, address: &str) -> Value {
    if is_office_connector(address) {
        msteams_connector(event)
    } else {
        msteams_adaptive_card(event)
    }
}

fn is_office_connector(address: &str) -> bool {
    address
        .parse::<http::Uri>()
        .ok()
        .and_then(|u| u.host().map(str::to_lowercase))
        .is_some_and(|host| host.ends_with(".webhook.office.com"))
}

fn msteams_connector(event: &Event) -> Value {
    let title = event.object_title();
    let facts: Vec<Value> = event
        .metadata
        .iter()
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
    let color = if event.severity == Severity::Error {
        "FF0000"
    } else {
        "0076D7"
    };
    json!({
        "@type": "MessageCard",
        "@context": "http://schema.org/extensions",
        "themeColor": color,
        "summary": title,
        "sections": [{
            "activityTitle": event.message,
            "activitySubtitle": title,
            "facts": facts,
        }],
    })
}

fn msteams_adaptive_card(event: &Event) -> Value {
    // The summary first, then the other metadata by key.
    let facts: Vec<Value> = event
        .metadata
        .get(META_SUMMARY)
        .map(|v| (META_SUMMARY, v))
        .into_iter()
        .chain(
            event
                .metadata
                .iter()
                .filter(|(k, _)| k.as_str() != META_SUMMARY)
                .map(|(k, v)| (k.as_str(), v)),
        )
        .map(|(k, v)| json!({"title": k, "value": v}))
        .collect();
    let mut message = json!({"type": "TextBlock", "text": event.message, "wrap": true});
    if event.severity == Severity::Error {
        message["color"] = json!("attention");
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [{
                    "type": "Container",
                    "items": [
                        {"type": "TextBlock", "text": event.object_title(), "size": "large", "weight": "bolder", "wrap": true},
                        message,
                        {"type": "FactSet", "facts": facts},
                    ],
                }],
                "msteams": {"width": "Full"},
            },
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discord_address_gets_the_slack_suffix_once() {
        assert_eq!(
            discord_url("https://discord.com/api/webhooks/1/tok"),
            "https://discord.com/api/webhooks/1/tok/slack"
        );
        assert_eq!(
            discord_url("https://discord.com/api/webhooks/1/tok/slack?wait=true"),
            "https://discord.com/api/webhooks/1/tok/slack?wait=true"
        );
    }

    #[test]
    fn teams_connector_is_chosen_by_host() {
        assert!(is_office_connector(
            "https://acme.webhook.office.com/webhookb2/x"
        ));
        assert!(!is_office_connector(
            "https://prod-1.westus.logic.azure.com/workflows/x"
        ));
    }
}
