//! Name references, fixed once at the top: fields that name another object follow its final name (prefixes, suffixes, hashes, namespaces).

use std::collections::HashMap;

use serde_json::Value;

use crate::fieldspec::{CreateKind, FieldSpecError, NameBackRef};
use crate::resource::{Gvk, ResId, Resource};
use crate::transform::TransformError;

/// What the fixer needs to know of a possible referral target, frozen before any change.
struct Target {
    cur: ResId,
    prev: Vec<ResId>,
    prefixes: Vec<String>,
    suffixes: Vec<String>,
    kind: String,
    name: String,
    namespace: String,
    cluster_scoped: bool,
    org_ns: String,
}

/// Rewrites every name reference (kustomize's `nameReferenceTransformer`).
pub fn run(resources: &mut [Resource], backrefs: &[NameBackRef]) -> Result<(), TransformError> {
    let targets: Vec<Target> = resources
        .iter()
        .map(|r| {
            let cur = r.cur_id();
            Target {
                prev: r.prev_ids(),
                prefixes: r.prefixes.clone(),
                suffixes: r.suffixes.clone(),
                kind: r.kind().to_string(),
                name: r.name().to_string(),
                namespace: r.namespace().to_string(),
                cluster_scoped: cur.gvk.is_cluster_scoped(),
                org_ns: r.org_id().effective_namespace().to_string(),
                cur,
            }
        })
        .collect();
    // Only renamed objects can be referral targets; index them by every earlier name.
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, t) in targets.iter().enumerate() {
        let mut names: Vec<&str> = t.prev.iter().map(|p| p.name.as_str()).collect();
        names.sort();
        names.dedup();
        for n in names {
            by_name.entry(n).or_default().push(i);
        }
    }
    if by_name.is_empty() {
        return Ok(());
    }
    for (ri, r) in resources.iter_mut().enumerate() {
        let org = r.org_id();
        let referrer = &targets[ri];
        let rb_namespaces: Vec<String> = if r.kind() == "RoleBinding" {
            r.obj
                .get("subjects")
                .and_then(Value::as_array)
                .map(|subs| {
                    subs.iter()
                        .filter(|s| s.get("kind").and_then(Value::as_str) == Some("ServiceAccount"))
                        .filter_map(|s| s.get("namespace").and_then(Value::as_str))
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        // kustomize's SubsetThatCouldBeReferencedByResource.
        let reachable = |t: &Target| -> bool {
            referrer.cluster_scoped
                || t.cluster_scoped
                || t.cur.is_ns_equals(&referrer.cur)
                || rb_namespaces.contains(&t.namespace)
        };
        for br in backrefs {
            for spec in &br.referrers {
                if !org.gvk.is_selected(&spec.gvk) {
                    continue;
                }
                let role_ref_gvk = if spec.path.ends_with("roleRef/name") {
                    let rr = r.obj.get("roleRef");
                    let g = rr.and_then(|x| x.get("apiGroup")).and_then(Value::as_str);
                    let k = rr.and_then(|x| x.get("kind")).and_then(Value::as_str);
                    match (g, k) {
                        (Some(g), Some(k)) => Some(Gvk {
                            group: g.into(),
                            version: String::new(),
                            kind: k.into(),
                        }),
                        _ => None,
                    }
                } else {
                    None
                };
                let ctx = Ctx {
                    targets: &targets,
                    by_name: &by_name,
                    referrer,
                    target_gvk: &br.gvk,
                    role_ref: role_ref_gvk.as_ref(),
                    reachable: &reachable,
                };
                let object = referrer.cur.to_string();
                let res = crate::fieldspec::walk(
                    &mut r.obj,
                    spec,
                    CreateKind::None,
                    &mut |v: &mut Value| ctx.set(v),
                );
                match res {
                    Ok(()) => {}
                    // kustomize skips referrers whose path does not resolve.
                    Err(TransformError::Field {
                        source: FieldSpecError::NotTraversable { .. },
                        ..
                    }) => {}
                    Err(e) => {
                        return Err(TransformError::Invalid(format!(
                            "updating name reference in '{}' field of '{object}': {e}",
                            spec.path
                        )))
                    }
                }
            }
        }
    }
    Ok(())
}

struct Ctx<'a> {
    targets: &'a [Target],
    by_name: &'a HashMap<&'a str, Vec<usize>>,
    referrer: &'a Target,
    target_gvk: &'a Gvk,
    role_ref: Option<&'a Gvk>,
    reachable: &'a dyn Fn(&Target) -> bool,
}

impl Ctx<'_> {
    fn set(&self, v: &mut Value) -> Result<(), TransformError> {
        match v {
            Value::Null => Ok(()),
            Value::Object(_) => self.set_mapping(v),
            Value::Array(items) => {
                for item in items.iter_mut() {
                    match item {
                        Value::Object(_) => self.set_mapping(item)?,
                        Value::Array(_) => {
                            return Err(TransformError::Invalid(
                                "node must be a scalar, sequence or map".into(),
                            ))
                        }
                        _ => self.set_scalar(item)?,
                    }
                }
                Ok(())
            }
            _ => self.set_scalar(v),
        }
    }

    fn candidates(&self, old: &str, pool: Option<&[usize]>) -> Vec<usize> {
        let Some(by) = self.by_name.get(old) else {
            return Vec::new();
        };
        by.iter()
            .copied()
            .filter(|i| pool.is_none_or(|p| p.contains(i)))
            .filter(|&i| {
                let t = &self.targets[i];
                (self.reachable)(t)
                    && t.prev.iter().any(|p| p.gvk.is_selected(self.target_gvk))
                    && self
                        .role_ref
                        .is_none_or(|g| t.prev.iter().any(|p| p.gvk.is_selected(g)))
                    && (self.referrer.cluster_scoped
                        || t.cluster_scoped
                        || t.kind == "ServiceAccount"
                        || self.referrer.cur.is_ns_equals(&t.cur))
            })
            .collect()
    }

    fn select(&self, mut c: Vec<usize>, with_ns: bool) -> Result<Option<usize>, TransformError> {
        if c.len() == 1 {
            return Ok(Some(c[0]));
        }
        c.retain(|&i| {
            let t = &self.targets[i];
            crate::resource::same_ending(&t.prefixes, &self.referrer.prefixes)
                && crate::resource::same_ending(&t.suffixes, &self.referrer.suffixes)
        });
        match c.len() {
            0 => Ok(None),
            1 => Ok(Some(c[0])),
            _ => {
                let first = &self.targets[c[0]];
                let same = c.iter().all(|&i| {
                    let t = &self.targets[i];
                    t.name == first.name && (!with_ns || t.namespace == first.namespace)
                });
                if same {
                    Ok(Some(c[0]))
                } else {
                    let ids: Vec<String> =
                        c.iter().map(|&i| self.targets[i].cur.to_string()).collect();
                    Err(TransformError::Invalid(format!(
                        " found multiple possible referrals: {}",
                        ids.join(", ")
                    )))
                }
            }
        }
    }

    fn set_scalar(&self, v: &mut Value) -> Result<(), TransformError> {
        let Value::String(old) = v else {
            return Ok(());
        };
        let c = self.candidates(old, None);
        if let Some(i) = self.select(c, false)? {
            let t = &self.targets[i];
            if t.name != *old {
                *v = Value::String(t.name.clone());
            }
        }
        Ok(())
    }

    fn set_mapping(&self, v: &mut Value) -> Result<(), TransformError> {
        let Some(m) = v.as_object_mut() else {
            return Ok(());
        };
        let Some(name) = m.get("name") else {
            return Err(TransformError::Invalid(
                "path config error; no 'name' field in node".into(),
            ));
        };
        let old = match name {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        let pool: Option<Vec<usize>> = match m.get("namespace") {
            None => None,
            Some(nsv) => {
                let ns = nsv.as_str().unwrap_or("").to_string();
                let by_org: Vec<usize> = (0..self.targets.len())
                    .filter(|&i| self.targets[i].org_ns == ns)
                    .collect();
                if !by_org.is_empty() {
                    Some(by_org)
                } else {
                    Some(
                        (0..self.targets.len())
                            .filter(|&i| self.targets[i].cur.effective_namespace() == ns)
                            .collect(),
                    )
                }
            }
        };
        let c = self.candidates(&old, pool.as_deref());
        let Some(i) = self.select(c, true)? else {
            return Ok(());
        };
        let t = &self.targets[i];
        if t.name == old && t.namespace.is_empty() {
            return Ok(());
        }
        m.insert("name".into(), Value::String(t.name.clone()));
        if !t.namespace.is_empty() {
            m.insert("namespace".into(), Value::String(t.namespace.clone()));
        }
        Ok(())
    }
}
