//! What `get` shows per kind: Flux's headers, one row per object, `--status-selector` matching.

use serde_json::Value;

use crate::kinds::FluxKind;
use crate::table::truncate_hex;

/// A `--status-selector` value was not `type=status`.
#[derive(Debug, thiserror::Error)]
#[error("invalid --status-selector {0:?}: expected CONDITION=STATUS, e.g. ready=false")]
pub struct SelectorError(pub String);

/// A parsed `--status-selector type=status` (compared case-insensitively, as Flux does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusSelector {
    /// Condition type.
    pub condition: String,
    /// Wanted status.
    pub status: String,
}

impl StatusSelector {
    /// Parses `type=status`.
    pub fn parse(text: &str) -> Result<StatusSelector, SelectorError> {
        match text.split_once('=') {
            Some((c, s)) if !c.is_empty() => Ok(StatusSelector {
                condition: c.to_string(),
                status: s.to_string(),
            }),
            _ => Err(SelectorError(text.to_string())),
        }
    }

    /// Whether the object has the condition with that status (no such condition: no match).
    pub fn matches(&self, obj: &Value) -> bool {
        conditions(obj)
            .iter()
            .rev()
            .find(|c| str_at(c, "type").eq_ignore_ascii_case(&self.condition))
            .is_some_and(|c| str_at(c, "status").eq_ignore_ascii_case(&self.status))
    }
}

/// The column headers of a kind's table (as given to the table printer, before upper-casing).
pub fn headers(kind: FluxKind, include_namespace: bool) -> Vec<&'static str> {
    let mut h: Vec<&'static str> = match kind {
        FluxKind::GitRepository | FluxKind::Kustomization => {
            vec!["Name", "Revision", "Suspended", "Ready", "Message"]
        }
        FluxKind::ImageRepository => vec!["Name", "Last scan", "Suspended", "Ready", "Message"],
        FluxKind::ImagePolicy => vec!["Name", "Latest image", "Ready", "Message"],
        FluxKind::ImageUpdateAutomation => {
            vec!["Name", "Last run", "Suspended", "Ready", "Message"]
        }
        FluxKind::Receiver => vec!["Name", "Suspended", "Ready", "Message"],
        FluxKind::Provider | FluxKind::Alert => vec!["Name", "Suspended"],
    };
    if include_namespace {
        h.insert(0, "Namespace");
    }
    h
}

/// One object's row, matching [`headers`]. `include_kind` prefixes names with `kind/` (as `get all`).
pub fn row(
    kind: FluxKind,
    obj: &Value,
    include_namespace: bool,
    include_kind: bool,
) -> Vec<String> {
    let meta = &obj["metadata"];
    let name = str_at(meta, "name");
    let mut row = Vec::new();
    if include_namespace {
        row.push(str_at(meta, "namespace").to_string());
    }
    row.push(if include_kind {
        format!("{}/{name}", kind.kind().to_ascii_lowercase())
    } else {
        name.to_string()
    });
    let (ready, message) = ready_and_message(obj);
    let suspended = if obj["spec"]["suspend"].as_bool().unwrap_or(false) {
        "True"
    } else {
        "False"
    }
    .to_string();
    let status = &obj["status"];
    match kind {
        FluxKind::GitRepository => row.extend([
            truncate_hex(str_at(&status["artifact"], "revision")),
            suspended,
            ready,
            truncate_hex(&message),
        ]),
        FluxKind::Kustomization => row.extend([
            truncate_hex(str_at(status, "lastAppliedRevision")),
            suspended,
            ready,
            truncate_hex(&message),
        ]),
        FluxKind::ImageRepository => row.extend([
            str_at(&status["lastScanResult"], "scanTime").to_string(),
            suspended,
            ready,
            message,
        ]),
        FluxKind::ImagePolicy => row.extend([image_ref(&status["latestRef"]), ready, message]),
        FluxKind::ImageUpdateAutomation => row.extend([
            str_at(status, "lastAutomationRunTime").to_string(),
            suspended,
            ready,
            message,
        ]),
        FluxKind::Receiver => row.extend([suspended, ready, message]),
        FluxKind::Provider | FluxKind::Alert => row.push(suspended),
    }
    row
}

/// `name:tag@digest` of an image reference in status.
fn image_ref(r: &Value) -> String {
    let mut s = str_at(r, "name").to_string();
    let tag = str_at(r, "tag");
    if !tag.is_empty() {
        s.push(':');
        s.push_str(tag);
    }
    let digest = str_at(r, "digest");
    if !digest.is_empty() {
        s.push('@');
        s.push_str(digest);
    }
    s
}

/// The Ready condition's status and message, or `False` / `waiting to be reconciled` as Flux
/// shows objects no controller has looked at yet.
pub fn ready_and_message(obj: &Value) -> (String, String) {
    match conditions(obj)
        .iter()
        .find(|c| str_at(c, "type") == "Ready")
    {
        Some(c) => (
            str_at(c, "status").to_string(),
            str_at(c, "message").to_string(),
        ),
        None => ("False".to_string(), "waiting to be reconciled".to_string()),
    }
}

/// `status.conditions`, empty when absent.
pub fn conditions(obj: &Value) -> &[Value] {
    obj["status"]["conditions"]
        .as_array()
        .map_or(&[], Vec::as_slice)
}

/// A string field, `""` when absent.
pub fn str_at<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_follow_flux_columns() {
        let obj = json!({
            "metadata": {"name": "apps", "namespace": "flux-system"},
            "spec": {"suspend": true},
            "status": {
                "lastAppliedRevision": "main@sha1:16cfcc0b9066b3234dda29927ac1c19860d9663f",
                "conditions": [{"type": "Ready", "status": "True",
                    "message": "Applied revision: main@sha1:16cfcc0b9066b3234dda29927ac1c19860d9663f"}]
            }
        });
        assert_eq!(
            row(FluxKind::Kustomization, &obj, true, true),
            [
                "flux-system",
                "kustomization/apps",
                "main@sha1:16cfcc0b",
                "True",
                "True",
                "Applied revision: main@sha1:16cfcc0b"
            ]
        );
        let fresh = json!({"metadata": {"name": "x"}, "spec": {}});
        assert_eq!(
            row(FluxKind::GitRepository, &fresh, false, false),
            ["x", "", "False", "False", "waiting to be reconciled"]
        );
    }

    #[test]
    fn status_selector_is_case_insensitive_and_needs_the_condition() {
        let sel = StatusSelector::parse("ready=false").expect("valid");
        let obj = json!({"status": {"conditions": [{"type": "Ready", "status": "False"}]}});
        assert!(sel.matches(&obj));
        assert!(!sel.matches(&json!({})));
        assert!(StatusSelector::parse("ready").is_err());
    }
}
