//! The result of an apply or prune as data: one entry per object with what was done to it.

use std::fmt;

use flotilla_api::{ObjMetadata, ResourceRef};

use crate::object::Subject;

/// What happened to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The object did not exist and was created.
    Created,
    /// The object existed and differed; it was patched.
    Configured,
    /// The object existed and matched; nothing was sent.
    Unchanged,
    /// The object was deleted.
    Deleted,
    /// The object was left alone (`ssa: Ignore`/`IfNotPresent`, `reconcile: disabled`,
    /// `prune: disabled`, foreign owner labels, or already gone).
    Skipped,
}

impl Action {
    /// The word Flux uses in events (`created`, `configured`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Created => "created",
            Action::Configured => "configured",
            Action::Unchanged => "unchanged",
            Action::Deleted => "deleted",
            Action::Skipped => "skipped",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One object and what was done to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeSetEntry {
    /// The object (namespace empty for cluster-scoped kinds).
    pub object: ObjMetadata,
    /// The apiVersion it was applied at.
    pub api_version: String,
    /// What was done.
    pub action: Action,
}

impl ChangeSetEntry {
    /// `Kind/namespace/name` (or `Kind/name`).
    pub fn subject(&self) -> String {
        Subject(&self.object).to_string()
    }

    /// The inventory entry for this object.
    pub fn to_ref(&self) -> ResourceRef {
        ResourceRef::new(&self.object, self.api_version.clone())
    }
}

impl fmt::Display for ChangeSetEntry {
    /// `Deployment/apps/web configured`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", Subject(&self.object), self.action)
    }
}

/// Entries in apply order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// One per object.
    pub entries: Vec<ChangeSetEntry>,
}

impl ChangeSet {
    /// Appends `other`'s entries.
    pub fn append(&mut self, other: ChangeSet) {
        self.entries.extend(other.entries);
    }

    /// Entries that changed the cluster (created, configured, deleted).
    pub fn changes(&self) -> impl Iterator<Item = &ChangeSetEntry> {
        self.entries.iter().filter(|e| {
            matches!(
                e.action,
                Action::Created | Action::Configured | Action::Deleted
            )
        })
    }

    /// Whether anything in the cluster changed.
    pub fn has_changes(&self) -> bool {
        self.changes().next().is_some()
    }

    /// How many entries have `action`.
    pub fn count(&self, action: Action) -> usize {
        self.entries.iter().filter(|e| e.action == action).count()
    }

    /// The action recorded for `object`, if it is in the set.
    pub fn action_of(&self, object: &ObjMetadata) -> Option<Action> {
        self.entries
            .iter()
            .find(|e| &e.object == object)
            .map(|e| e.action)
    }

    /// Inventory entries for every object in the set except those deleted.
    pub fn to_inventory(&self) -> Vec<ResourceRef> {
        self.entries
            .iter()
            .filter(|e| e.action != Action::Deleted)
            .map(ChangeSetEntry::to_ref)
            .collect()
    }
}

impl fmt::Display for ChangeSet {
    /// Flux's event text: one `Kind/namespace/name action` line per object that changed
    /// (unchanged and skipped objects are left out, as Flux's events leave them out).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for e in self.changes() {
            if !first {
                f.write_str("\n")?;
            }
            first = false;
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(ns: &str, name: &str, group: &str, kind: &str, action: Action) -> ChangeSetEntry {
        ChangeSetEntry {
            object: ObjMetadata::new(ns, name, group, kind),
            api_version: if group.is_empty() {
                "v1".into()
            } else {
                format!("{group}/v1")
            },
            action,
        }
    }

    #[test]
    fn display_lists_changes_one_per_line() {
        let cs = ChangeSet {
            entries: vec![
                entry("", "apps", "", "Namespace", Action::Created),
                entry("apps", "cfg", "", "ConfigMap", Action::Unchanged),
                entry("apps", "web", "apps", "Deployment", Action::Configured),
                entry("apps", "old", "", "Service", Action::Deleted),
                entry("apps", "keep", "", "Secret", Action::Skipped),
            ],
        };
        assert_eq!(
            cs.to_string(),
            "Namespace/apps created\nDeployment/apps/web configured\nService/apps/old deleted"
        );
        assert_eq!(cs.count(Action::Unchanged), 1);
        assert!(cs.has_changes());
        assert_eq!(cs.to_inventory().len(), 4);
        assert_eq!(cs.to_inventory()[2].id, "apps_web_apps_Deployment");
    }
}
