//! Staged server-side apply: dry-run every object of a stage, compare with the live object,
//! then apply only those that drifted; a stage that fails stops the apply.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::StreamExt;
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::{json, Map, Value};

use crate::applier::{check, Applier, Prepared};
use crate::changeset::{Action, ChangeSet, ChangeSetEntry};
use crate::error::{immutable_fields, is_not_found, ApplyError};
use crate::object::{
    self, has_metadata, FIELD_MANAGER, FORCE_ANNOTATION, LAST_APPLIED_ANNOTATION,
    RECONCILE_ANNOTATION, SSA_ANNOTATION,
};
use crate::sort::{compare, stage_of, Stage};
use crate::wait::WaitOptions;

/// How [`Applier::apply`] and [`Applier::diff`] work.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Server-side apply field manager (Flux: `kustomize-controller`).
    pub field_manager: String,
    /// Labels set on every object (Flux: `kustomize.toolkit.fluxcd.io/name` and `/namespace`);
    /// prune only deletes objects that carry them.
    pub owner_labels: BTreeMap<String, String>,
    /// Recreate any object whose immutable fields changed (Flux's `spec.force`); without it
    /// only objects annotated `kustomize.toolkit.fluxcd.io/force: enabled` are.
    pub force: bool,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// How long to wait for stage one (CRDs established, namespaces active) and for objects
    /// deleted to be recreated.
    pub wait_timeout: Duration,
    /// Poll interval of those waits.
    pub wait_interval: Duration,
    /// Hand fields owned by `kubectl` (client-side or server-side apply, edits),
    /// `before-first-apply` and this manager's own updates over to this manager, and remove
    /// `kubectl.kubernetes.io/last-applied-configuration`, as Flux does (skipped for objects
    /// annotated `kustomize.toolkit.fluxcd.io/ssa: Merge`).
    pub take_ownership: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            field_manager: FIELD_MANAGER.to_string(),
            owner_labels: BTreeMap::new(),
            force: false,
            concurrency: 8,
            wait_timeout: Duration::from_secs(60),
            wait_interval: Duration::from_millis(500),
            take_ownership: true,
        }
    }
}

/// Managers whose fields are handed over (name prefix, operation), as Flux's cleanup does.
fn takeover_managers(field_manager: &str) -> [(&str, &'static str); 4] {
    [
        ("kubectl", "Apply"),
        ("kubectl", "Update"),
        ("before-first-apply", "Update"),
        (field_manager, "Update"),
    ]
}

/// What the dry run decided for one object.
pub(crate) enum Planned {
    Skip,
    Unchanged,
    /// Apply it; `created` when it did not exist.
    Apply {
        created: bool,
    },
}

pub(crate) struct DryRun {
    pub planned: Planned,
    pub live: Option<Value>,
    pub merged: Option<Value>,
}

impl Applier {
    /// Makes the cluster match `objects`: stage one (CustomResourceDefinitions, Namespaces,
    /// ClusterRoles) is applied and waited on, then `*Class` kinds, then the rest. In each stage
    /// every object is dry-run applied first; only objects whose dry-run result differs from
    /// the live object are then applied. An error in a stage's dry runs sends nothing of that
    /// stage; later stages are never sent after an error.
    pub async fn apply(
        &self,
        objects: Vec<Value>,
        opts: &ApplyOptions,
    ) -> Result<ChangeSet, ApplyError> {
        check(&objects)?;
        self.check_kinds(&objects).await?;
        let mut stages: BTreeMap<Stage, Vec<Value>> = BTreeMap::new();
        for o in objects {
            stages.entry(stage_of(&o)).or_default().push(o);
        }
        let mut changes = ChangeSet::default();
        for (stage, objects) in stages {
            let mut prepared = Vec::with_capacity(objects.len());
            for o in objects {
                prepared.push(self.prepare(o, &opts.owner_labels).await?);
            }
            prepared.sort_by(|a, b| compare(&a.meta, &b.meta));
            let applied = self.apply_stage(&prepared, opts).await?;
            if stage == Stage::Definitions {
                let refs: Vec<_> = prepared.iter().map(|p| p.meta.clone()).collect();
                let wait = WaitOptions {
                    timeout: opts.wait_timeout,
                    interval: opts.wait_interval,
                    concurrency: opts.concurrency,
                    fail_fast: false,
                };
                self.wait(&refs, &wait)
                    .await
                    .map_err(ApplyError::DefinitionsNotReady)?;
                let crd_groups: Vec<String> = prepared
                    .iter()
                    .filter(|p| p.meta.kind == "CustomResourceDefinition")
                    .filter_map(|p| p.object["spec"]["group"].as_str().map(String::from))
                    .collect();
                self.discovery.forget_groups(&crd_groups);
            }
            changes.append(applied);
        }
        Ok(changes)
    }

    /// Fails before anything is sent when a kind is neither served nor defined by a CRD in
    /// the set (those are resolved after stage one).
    async fn check_kinds(&self, objects: &[Value]) -> Result<(), ApplyError> {
        let defined: BTreeSet<(String, String)> = objects
            .iter()
            .filter(|o| object::kind(o) == "CustomResourceDefinition")
            .filter_map(|crd| {
                let spec = &crd["spec"];
                let group = spec["group"].as_str()?;
                let kind = spec["names"]["kind"].as_str()?;
                Some((group.to_string(), kind.to_string()))
            })
            .collect();
        let mut seen = BTreeSet::new();
        for o in objects {
            let (v, k) = (object::api_version(o), object::kind(o));
            if !seen.insert((v.to_string(), k.to_string())) {
                continue;
            }
            if defined.contains(&(object::group_of(v).to_string(), k.to_string())) {
                continue;
            }
            match self.discovery.resolve(v, k).await {
                Ok(_) => {}
                Err(e) => return Err(crate::applier::lookup_error(e, &object::meta_of(o), v)),
            }
        }
        Ok(())
    }

    /// Dry-runs every object of one stage, then applies those that drifted.
    async fn apply_stage(
        &self,
        items: &[Prepared],
        opts: &ApplyOptions,
    ) -> Result<ChangeSet, ApplyError> {
        let live = self.fetch_live(items, opts.concurrency).await?;
        // Only the decision is kept: live and dry-run objects are dropped as each plan is made.
        let results: Vec<Result<Planned, ApplyError>> = futures::stream::iter(
            items.iter().zip(live),
        )
        .map(|(p, live)| async move { self.plan(p, live, opts, true).await.map(|d| d.planned) })
        .buffered(opts.concurrency.max(1))
        .collect()
        .await;
        let mut plans = Vec::with_capacity(items.len());
        let mut errors = Vec::new();
        for r in results {
            match r {
                Ok(planned) => plans.push(planned),
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(several(errors));
        }
        let applied: Vec<Result<ChangeSetEntry, ApplyError>> =
            futures::stream::iter(items.iter().zip(plans))
                .map(|(p, plan)| async move {
                    let action = match plan {
                        Planned::Skip => Action::Skipped,
                        Planned::Unchanged => Action::Unchanged,
                        Planned::Apply { created } => {
                            self.server_apply(p, opts, false)
                                .await
                                .map_err(|e| ApplyError::request(&p.subject(), "apply", e))?;
                            if created {
                                Action::Created
                            } else {
                                Action::Configured
                            }
                        }
                    };
                    Ok(ChangeSetEntry {
                        object: p.meta.clone(),
                        api_version: p.api_version.clone(),
                        action,
                    })
                })
                .buffered(opts.concurrency.max(1))
                .collect()
                .await;
        let mut changes = ChangeSet::default();
        for r in applied {
            match r {
                Ok(e) => changes.entries.push(e),
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            return Err(several(errors));
        }
        Ok(changes)
    }

    pub(crate) async fn server_apply(
        &self,
        p: &Prepared,
        opts: &ApplyOptions,
        dry_run: bool,
    ) -> Result<Value, kube::Error> {
        let mut params = PatchParams::apply(&opts.field_manager).force();
        params.dry_run = dry_run;
        let api = self.api(&p.resolved, &p.meta.namespace);
        let out = api
            .patch(&p.meta.name, &params, &Patch::Apply(&p.object))
            .await?;
        Ok(crate::applier::to_value(out, &p.resolved))
    }

    /// The dry run of one object and what to do with it. With `cleanup`, fields of other
    /// managers are handed over first (that write alone makes the object Configured).
    pub(crate) async fn plan(
        &self,
        p: &Prepared,
        mut live: Option<Value>,
        opts: &ApplyOptions,
        cleanup: bool,
    ) -> Result<DryRun, ApplyError> {
        let ignore = |o: &Value| {
            has_metadata(o, SSA_ANNOTATION, "Ignore")
                || has_metadata(o, RECONCILE_ANNOTATION, "disabled")
        };
        let skip = ignore(&p.object)
            || live.as_ref().is_some_and(ignore)
            || (live.is_some() && has_metadata(&p.object, SSA_ANNOTATION, "IfNotPresent"));
        if skip {
            return Ok(DryRun {
                planned: Planned::Skip,
                live,
                merged: None,
            });
        }
        if let Some(l) = &live {
            let takeover_pending = cleanup
                && opts.take_ownership
                && !has_metadata(&p.object, SSA_ANNOTATION, "Merge")
                && !has_metadata(l, SSA_ANNOTATION, "Merge")
                && ownership_patch(l, &opts.field_manager).is_some();
            if !takeover_pending && crate::fastpath::unchanged(&p.object, l, &opts.field_manager) {
                return Ok(DryRun {
                    planned: Planned::Unchanged,
                    live,
                    merged: None,
                });
            }
        }
        let merged = match self.server_apply(p, opts, true).await {
            Ok(m) => m,
            Err(err) => {
                let Some(fields) = live.as_ref().and_then(|_| immutable_fields(&err)) else {
                    return Err(ApplyError::request(&p.subject(), "dry-run", err));
                };
                let forced = opts.force
                    || has_metadata(&p.object, FORCE_ANNOTATION, "enabled")
                    || live
                        .as_ref()
                        .is_some_and(|l| has_metadata(l, FORCE_ANNOTATION, "enabled"));
                if !forced || !cleanup {
                    let message = match &err {
                        kube::Error::Api(s) => s.message.clone(),
                        other => other.to_string(),
                    };
                    return Err(ApplyError::Immutable {
                        object: p.subject(),
                        fields: fields.join(", "),
                        message,
                    });
                }
                self.recreate_prepare(p, opts).await?;
                live = None;
                self.server_apply(p, opts, true)
                    .await
                    .map_err(|e| ApplyError::request(&p.subject(), "dry-run", e))?
            }
        };
        let mut cleaned = false;
        if cleanup && opts.take_ownership {
            if let Some(l) = &live {
                cleaned = self.take_ownership(p, l, opts).await?;
            }
        }
        let planned = if live.is_none() {
            Planned::Apply { created: true }
        } else if cleaned || drifted(live.as_ref(), &merged) {
            Planned::Apply { created: false }
        } else {
            Planned::Unchanged
        };
        Ok(DryRun {
            planned,
            live,
            merged: Some(merged),
        })
    }

    /// Deletes the live object (its immutable fields changed and force is on) and waits until
    /// it is gone, so the apply that follows creates it.
    async fn recreate_prepare(&self, p: &Prepared, opts: &ApplyOptions) -> Result<(), ApplyError> {
        let api = self.api(&p.resolved, &p.meta.namespace);
        match api.delete(&p.meta.name, &DeleteParams::background()).await {
            Ok(_) => {}
            Err(e) if is_not_found(&e) => {}
            Err(e) => return Err(ApplyError::request(&p.subject(), "delete (to recreate)", e)),
        }
        let deadline = tokio::time::Instant::now() + opts.wait_timeout;
        loop {
            if self.get(&p.resolved, &p.meta).await?.is_none() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ApplyError::Request {
                    object: p.subject(),
                    verb: "delete (to recreate)",
                    reason: "Timeout".into(),
                    code: 0,
                    message: format!(
                        "still present {:?} after deletion (finalizers?)",
                        opts.wait_timeout
                    ),
                });
            }
            tokio::time::sleep(opts.wait_interval.min(Duration::from_millis(200))).await;
        }
    }

    /// Removes the client-side apply annotation and hands fields of kubectl & co. to this
    /// manager with a JSON patch; `true` if a patch was sent.
    async fn take_ownership(
        &self,
        p: &Prepared,
        live: &Value,
        opts: &ApplyOptions,
    ) -> Result<bool, ApplyError> {
        if has_metadata(&p.object, SSA_ANNOTATION, "Merge")
            || has_metadata(live, SSA_ANNOTATION, "Merge")
        {
            return Ok(false);
        }
        let Some(patch) = ownership_patch(live, &opts.field_manager) else {
            return Ok(false);
        };
        let api = self.api(&p.resolved, &p.meta.namespace);
        let params = PatchParams {
            field_manager: Some(opts.field_manager.clone()),
            ..Default::default()
        };
        api.patch(&p.meta.name, &params, &Patch::Merge(&patch))
            .await
            .map_err(|e| ApplyError::request(&p.subject(), "metadata cleanup", e))?;
        Ok(true)
    }
}

/// The merge patch that removes the last-applied annotation and renames the managedFields
/// entries of [`takeover_managers`] to `field_manager` (Apply), merging their field sets (a
/// merge patch replaces the managedFields list whole).
pub(crate) fn ownership_patch(live: &Value, field_manager: &str) -> Option<Value> {
    let mut metadata = Map::new();
    if live["metadata"]["annotations"]
        .get(LAST_APPLIED_ANNOTATION)
        .is_some()
    {
        metadata.insert(
            "annotations".into(),
            json!({ LAST_APPLIED_ANNOTATION: null }),
        );
    }
    let entries = live["metadata"]["managedFields"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let managers = takeover_managers(field_manager);
    let matches = |e: &Value| {
        let m = e["manager"].as_str().unwrap_or_default();
        let op = e["operation"].as_str().unwrap_or_default();
        let sub = e["subresource"].as_str().unwrap_or_default();
        sub.is_empty()
            && managers
                .iter()
                .any(|(prefix, o)| m.starts_with(prefix) && op == *o)
            && !(m == field_manager && op == "Apply")
    };
    if entries.iter().any(matches) {
        let mut kept: Vec<Value> = Vec::new();
        let mut ours: Option<Value> = None;
        for e in entries {
            let is_ours = e["manager"] == field_manager
                && e["operation"] == "Apply"
                && e["subresource"].as_str().unwrap_or_default().is_empty();
            if matches(e) || is_ours {
                match &mut ours {
                    None => {
                        let mut e = e.clone();
                        e["manager"] = json!(field_manager);
                        e["operation"] = json!("Apply");
                        ours = Some(e);
                    }
                    Some(o) => union(&mut o["fieldsV1"], &e["fieldsV1"]),
                }
            } else {
                kept.push(e.clone());
            }
        }
        kept.extend(ours);
        metadata.insert("managedFields".into(), Value::Array(kept));
    }
    (!metadata.is_empty()).then(|| json!({ "metadata": metadata }))
}

/// Union of two fieldsV1 sets (tries of `f:`/`k:`/`v:`/`i:` keys).
fn union(into: &mut Value, other: &Value) {
    match (into, other) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(k) {
                    Some(existing) => union(existing, v),
                    None => {
                        a.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (into @ Value::Null, other) => *into = other.clone(),
        _ => {}
    }
}

/// Whether the dry-run result differs from the live object in labels, annotations or
/// anything outside metadata and status (server-managed metadata and status are noise).
pub(crate) fn drifted(live: Option<&Value>, merged: &Value) -> bool {
    let Some(live) = live else { return true };
    if object::resource_version(merged).is_empty() {
        return true;
    }
    let meta = |v: &Value, k: &str| v["metadata"].get(k).cloned().unwrap_or(Value::Null);
    let empty_as_null = |v: Value| match v {
        Value::Object(m) if m.is_empty() => Value::Null,
        other => other,
    };
    for k in ["labels", "annotations"] {
        if empty_as_null(meta(live, k)) != empty_as_null(meta(merged, k)) {
            return true;
        }
    }
    let (Some(a), Some(b)) = (live.as_object(), merged.as_object()) else {
        return true;
    };
    !eq_except(a, b, &["metadata", "status"])
}

fn eq_except(a: &Map<String, Value>, b: &Map<String, Value>, skip: &[&str]) -> bool {
    let keys = |m: &Map<String, Value>| -> BTreeSet<String> {
        m.keys()
            .filter(|k| !skip.contains(&k.as_str()))
            .cloned()
            .collect()
    };
    keys(a) == keys(b)
        && a.iter()
            .filter(|(k, _)| !skip.contains(&k.as_str()))
            .all(|(k, v)| b.get(k) == Some(v))
}

fn several(mut errors: Vec<ApplyError>) -> ApplyError {
    if errors.len() == 1 {
        errors.remove(0)
    } else {
        ApplyError::Several(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_ignores_server_noise() {
        let live = json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "resourceVersion": "5", "managedFields": [{"manager": "x"}],
                         "labels": {"l": "1"}, "creationTimestamp": "2024-01-01T00:00:00Z"},
            "data": {"k": "v"}
        });
        let mut merged = live.clone();
        merged["metadata"]["managedFields"] = json!([{"manager": "y"}]);
        merged["metadata"]["generation"] = json!(3);
        merged["status"] = json!({"phase": "x"});
        assert!(!drifted(Some(&live), &merged));
        merged["data"]["k"] = json!("w");
        assert!(drifted(Some(&live), &merged));
        let mut relabelled = live.clone();
        relabelled["metadata"]["labels"]["l"] = json!("2");
        assert!(drifted(Some(&live), &relabelled));
        assert!(drifted(None, &live));
    }

    #[test]
    fn ownership_patch_hands_kubectl_fields_over() {
        let live = json!({"metadata": {
            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}", "keep": "1"},
            "managedFields": [
                {"manager": "kubectl-client-side-apply", "operation": "Update", "apiVersion": "v1",
                 "fieldsV1": {"f:data": {"f:a": {}}}},
                {"manager": "kustomize-controller", "operation": "Apply", "apiVersion": "v1",
                 "fieldsV1": {"f:data": {"f:b": {}}}},
                {"manager": "other", "operation": "Update", "apiVersion": "v1",
                 "fieldsV1": {"f:data": {"f:c": {}}}},
            ]
        }});
        let patch = ownership_patch(&live, FIELD_MANAGER).unwrap();
        assert_eq!(
            patch["metadata"]["annotations"],
            json!({"kubectl.kubernetes.io/last-applied-configuration": null})
        );
        let entries = patch["metadata"]["managedFields"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0]["manager"], "other");
        assert_eq!(entries[1]["manager"], FIELD_MANAGER);
        assert_eq!(entries[1]["operation"], "Apply");
        assert_eq!(
            entries[1]["fieldsV1"],
            json!({"f:data": {"f:a": {}, "f:b": {}}})
        );
        let clean = json!({"metadata": {"managedFields": [
            {"manager": "kustomize-controller", "operation": "Apply", "fieldsV1": {}}]}});
        assert!(ownership_patch(&clean, FIELD_MANAGER).is_none());
    }
}
