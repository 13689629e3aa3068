//! Dry-run diff: for each object, the live object and what it would become after a
//! server-side apply, so a caller can print a unified diff. Nothing is written.

use flotilla_api::ObjMetadata;
use futures::StreamExt;
use serde_json::Value;

use crate::applier::{check, Applier, Prepared};
use crate::apply::{ApplyOptions, Planned};
use crate::changeset::Action;
use crate::error::ApplyError;
use crate::object::{self, is_secret};
use crate::sort::compare;

/// One object of a diff.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectDiff {
    /// The object.
    pub object: ObjMetadata,
    /// Its apiVersion.
    pub api_version: String,
    /// What an apply would do: Created, Configured, Unchanged or Skipped.
    pub action: Action,
    /// The live object (managedFields removed); `None` when it does not exist or is unchanged.
    pub live: Option<Value>,
    /// The object after the apply, as the server's dry run returned it (managedFields
    /// removed); for kinds or namespaces the set itself creates, the object as given.
    /// `None` when unchanged or skipped.
    pub merged: Option<Value>,
    /// A Secret: mask `data`/`stringData` before showing either side.
    pub secret: bool,
}

fn without_managed_fields(mut v: Value) -> Value {
    if let Some(m) = v["metadata"].as_object_mut() {
        m.remove("managedFields");
    }
    v
}

impl Applier {
    /// What [`Applier::apply`] would do to each object, without changing the cluster (the
    /// takeover of kubectl's fields is not done either). Objects whose CRD or namespace is in
    /// the set but not yet in the cluster are reported Created with the object as given.
    pub async fn diff(
        &self,
        objects: Vec<Value>,
        opts: &ApplyOptions,
    ) -> Result<Vec<ObjectDiff>, ApplyError> {
        check(&objects)?;
        let crd_kinds: Vec<(String, String)> = objects
            .iter()
            .filter(|o| object::kind(o) == "CustomResourceDefinition")
            .filter_map(|c| {
                Some((
                    c["spec"]["group"].as_str()?.to_string(),
                    c["spec"]["names"]["kind"].as_str()?.to_string(),
                ))
            })
            .collect();
        let namespaces: Vec<String> = objects
            .iter()
            .filter(|o| object::kind(o) == "Namespace" && object::api_version(o) == "v1")
            .map(|o| object::name(o).to_string())
            .collect();
        let mut prepared: Vec<Prepared> = Vec::new();
        let mut out = Vec::new();
        for o in objects {
            let meta = object::meta_of(&o);
            let api_version = object::api_version(&o).to_string();
            match self.prepare(o.clone(), &opts.owner_labels).await {
                Ok(p) => prepared.push(p),
                Err(ApplyError::UnknownKind { .. })
                    if crd_kinds.contains(&(meta.group.clone(), meta.kind.clone())) =>
                {
                    out.push(ObjectDiff {
                        object: meta,
                        api_version,
                        action: Action::Created,
                        live: None,
                        merged: Some(o),
                        secret: false,
                    });
                }
                Err(e) => return Err(e),
            }
        }
        prepared.sort_by(|a, b| compare(&a.meta, &b.meta));
        let live = self.fetch_live(&prepared, opts.concurrency).await?;
        let results: Vec<Result<ObjectDiff, ApplyError>> =
            futures::stream::iter(prepared.iter().zip(live))
                .map(|(p, live)| self.diff_one(p, live, opts, &namespaces))
                .buffered(opts.concurrency.max(1))
                .collect()
                .await;
        let mut diffs = Vec::with_capacity(results.len() + out.len());
        for r in results {
            diffs.push(r?);
        }
        diffs.extend(out);
        Ok(diffs)
    }

    async fn diff_one(
        &self,
        p: &Prepared,
        live: Option<Value>,
        opts: &ApplyOptions,
        namespaces: &[String],
    ) -> Result<ObjectDiff, ApplyError> {
        let secret = is_secret(&p.object);
        let result = |action, live: Option<Value>, merged: Option<Value>| ObjectDiff {
            object: p.meta.clone(),
            api_version: p.api_version.clone(),
            action,
            live: live.map(without_managed_fields),
            merged: merged.map(without_managed_fields),
            secret,
        };
        let new_namespace = p.resolved.namespaced && namespaces.contains(&p.meta.namespace);
        let absent = live.is_none();
        let dry = match self.plan(p, live, opts, false).await {
            Ok(d) => d,
            // The namespace is created by the same set: the server cannot dry-run into it yet.
            Err(ApplyError::Request { code: 404, .. }) if new_namespace && absent => {
                return Ok(result(Action::Created, None, Some(p.object.clone())));
            }
            Err(e) => return Err(e),
        };
        Ok(match dry.planned {
            Planned::Skip => result(Action::Skipped, None, None),
            Planned::Unchanged => result(Action::Unchanged, None, None),
            Planned::Apply { created: true } => result(Action::Created, None, dry.merged),
            Planned::Apply { created: false } => result(Action::Configured, dry.live, dry.merged),
        })
    }
}
