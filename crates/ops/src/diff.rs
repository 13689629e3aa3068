//! `flotilla diff kustomization`: a server-side dry-run of a local build against the cluster,
//! reported per object (created, drifted, deleted) with a unified diff of what drifted.

use std::collections::BTreeSet;

use flotilla_api::{Kustomization, ObjMetadata};
use flotilla_apply::{Action, Applier, ApplyError, ApplyOptions, Subject};
use kube::ResourceExt;
use serde_json::Value;

use crate::build::MASK;

/// What happens to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Not in the cluster: an apply creates it.
    Created,
    /// In the cluster and different: an apply changes it.
    Drifted,
    /// In the inventory, gone from the build, and prune is on: the controller deletes it.
    Deleted,
}

impl Change {
    /// The word Flux's `diff` prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Created => "created",
            Change::Drifted => "drifted",
            Change::Deleted => "deleted",
        }
    }
}

/// One object that differs.
#[derive(Debug, Clone)]
pub struct ObjectChange {
    /// `Kind/namespace/name`.
    pub subject: String,
    /// What happens.
    pub change: Change,
    /// For drifted objects: the unified diff of live vs. applied YAML (Secret values masked).
    pub diff: String,
}

/// Dry-runs `objects` as the Kustomization `k` would apply them and returns what differs.
pub async fn diff(
    client: &kube::Client,
    k: &Kustomization,
    objects: Vec<Value>,
) -> Result<Vec<ObjectChange>, ApplyError> {
    let applier = Applier::new(client.clone());
    let owner = flotilla_controller::kustomization::plan::owner_labels(
        &k.name_any(),
        &k.namespace().unwrap_or_default(),
    );
    let opts = ApplyOptions {
        owner_labels: owner,
        force: k.spec.force.unwrap_or(false),
        ..ApplyOptions::default()
    };
    let diffs = applier.diff(objects, &opts).await?;
    let built: BTreeSet<(String, String, String, String)> =
        diffs.iter().map(|d| key(&d.object)).collect();
    let mut out = Vec::new();
    for d in diffs {
        let subject = Subject(&d.object).to_string();
        match d.action {
            Action::Created => out.push(ObjectChange {
                subject,
                change: Change::Created,
                diff: String::new(),
            }),
            Action::Configured => {
                let (mut live, mut merged) = (
                    d.live.unwrap_or(Value::Null),
                    d.merged.unwrap_or(Value::Null),
                );
                if d.secret {
                    mask_pair(&mut live, &mut merged);
                }
                let text = unified(
                    &flotilla_yaml::to_string(&live),
                    &flotilla_yaml::to_string(&merged),
                    3,
                );
                // The server's answer can differ only in fields the dry run fills in the same
                // way (e.g. a masked Secret whose values are equal): nothing to report then.
                if !text.is_empty() {
                    out.push(ObjectChange {
                        subject,
                        change: Change::Drifted,
                        diff: text,
                    });
                }
            }
            _ => {}
        }
    }
    if k.spec.prune {
        let inventory = k
            .status
            .as_ref()
            .and_then(|s| s.inventory.as_ref())
            .map(|i| i.entries.clone())
            .unwrap_or_default();
        for r in inventory {
            let Ok(m) = r.object() else { continue };
            if !built.contains(&key(&m)) {
                out.push(ObjectChange {
                    subject: Subject(&m).to_string(),
                    change: Change::Deleted,
                    diff: String::new(),
                });
            }
        }
    }
    Ok(out)
}

fn key(m: &ObjMetadata) -> (String, String, String, String) {
    (
        m.namespace.clone(),
        m.name.clone(),
        m.group.clone(),
        m.kind.clone(),
    )
}

/// Masks a Secret's values on both sides as Flux's diff does: equal values become `***`,
/// changed ones `*** (before)` / `*** (after)`.
pub fn mask_pair(live: &mut Value, merged: &mut Value) {
    for field in ["data", "stringData"] {
        let before = live.get(field).cloned().unwrap_or(Value::Null);
        let after = merged.get(field).cloned().unwrap_or(Value::Null);
        if let Some(m) = live.get_mut(field).and_then(Value::as_object_mut) {
            for (k, v) in m.iter_mut() {
                let same = after.get(k) == Some(v);
                *v = Value::String(if same {
                    MASK.into()
                } else {
                    format!("{MASK} (before)")
                });
            }
        }
        if let Some(m) = merged.get_mut(field).and_then(Value::as_object_mut) {
            for (k, v) in m.iter_mut() {
                let same = before.get(k) == Some(v);
                *v = Value::String(if same {
                    MASK.into()
                } else {
                    format!("{MASK} (after)")
                });
            }
        }
    }
}

/// A unified diff of two texts by lines (`-` old, `+` new), `context` lines around each
/// change; empty when they are equal.
pub fn unified(old: &str, new: &str, context: usize) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // Longest common subsequence table, from the end: objects are small, O(n·m) is fine.
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    // Edit script: (tag, old index, new index, line).
    let mut ops: Vec<(char, usize, usize, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', i, j, a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            // Removals before additions, as diff(1) prints them.
            ops.push(('-', i, j, a[i]));
            i += 1;
        } else {
            ops.push(('+', i, j, b[j]));
            j += 1;
        }
    }
    let changed: Vec<usize> = ops
        .iter()
        .enumerate()
        .filter(|(_, o)| o.0 != ' ')
        .map(|(n, _)| n)
        .collect();
    if changed.is_empty() {
        return String::new();
    }
    // Group changes whose context overlaps into hunks.
    let mut hunks: Vec<(usize, usize)> = Vec::new();
    for &c in &changed {
        let start = c.saturating_sub(context);
        let end = (c + context + 1).min(ops.len());
        match hunks.last_mut() {
            Some(h) if start <= h.1 => h.1 = end,
            _ => hunks.push((start, end)),
        }
    }
    let mut out = String::new();
    for (start, end) in hunks {
        let slice = &ops[start..end];
        let old_len = slice.iter().filter(|o| o.0 != '+').count();
        let new_len = slice.iter().filter(|o| o.0 != '-').count();
        let (old_start, new_start) = (slice[0].1 + 1, slice[0].2 + 1);
        out.push_str(&format!(
            "@@ -{old_start},{old_len} +{new_start},{new_len} @@\n"
        ));
        for (tag, _, _, line) in slice {
            out.push(*tag);
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unified_diff_matches_gnu_diff() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n";
        let new = "a\nb\nc\nD\ne\nf\ng\nh\ni\nj\nk\n";
        let got = unified(old, new, 3);
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("old"), old).expect("write");
        std::fs::write(dir.path().join("new"), new).expect("write");
        let gnu = std::process::Command::new("diff")
            .args(["-U3", "old", "new"])
            .current_dir(dir.path())
            .output()
            .expect("diff runs");
        let gnu = String::from_utf8_lossy(&gnu.stdout);
        let body: String = gnu.lines().skip(2).map(|l| format!("{l}\n")).collect();
        assert_eq!(got, body);
        assert_eq!(unified(old, old, 3), "");
    }

    #[test]
    fn secret_values_never_show() {
        let mut live = json!({"data": {"a": "MQ==", "b": "Mg=="}});
        let mut merged = json!({"data": {"a": "MQ==", "b": "Mw==", "c": "NA=="}});
        mask_pair(&mut live, &mut merged);
        assert_eq!(live["data"]["a"], "***");
        assert_eq!(live["data"]["b"], "*** (before)");
        assert_eq!(merged["data"]["b"], "*** (after)");
        assert_eq!(merged["data"]["c"], "*** (after)");
        assert!(!merged.to_string().contains("Mw=="));
    }
}
