//! Garbage collection and namespace finalization: dependents of deleted owners, foreground
//! and orphan finalizers, and the contents of terminating namespaces.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::handlers::delete_object;
use crate::handlers::Propagation;
use crate::objects;
use crate::server::Ctx;
use crate::store::{object_rv, Precondition};

pub(crate) async fn run(ctx: Arc<Ctx>) {
    let mut stop = ctx.shutdown.clone();
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = ctx.gc.notified() => {}
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
        // Coalesce bursts of writes into one pass; one pass's changes (dependents deleted,
        // references dropped) often let the next pass finish an owner, so go on while
        // passes change something.
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            if !pass(&ctx) {
                break;
            }
        }
    }
}

fn owner_uids(obj: &Value) -> Vec<&str> {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .map(|a| a.iter().filter_map(|r| r["uid"].as_str()).collect())
        .unwrap_or_default()
}

fn has_finalizer(obj: &Value, f: &str) -> bool {
    obj["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|a| a.iter().any(|x| x == f))
}

/// One sweep over all objects; every change it makes goes through the store like any write.
/// Returns whether it changed anything.
pub(crate) fn pass(ctx: &Ctx) -> bool {
    let rv_before = ctx.store.rv();
    let all = ctx.store.all_objects();
    let uids: HashSet<&str> = all
        .iter()
        .filter_map(|(_, o)| o["metadata"]["uid"].as_str())
        .collect();
    let mut dependents: HashMap<&str, Vec<(&String, &Arc<Value>)>> = HashMap::new();
    let mut namespaced_in: HashMap<&str, usize> = HashMap::new();
    for (key, o) in &all {
        for uid in owner_uids(o) {
            dependents.entry(uid).or_default().push((key, o));
        }
        let ns = objects::ns_of(o);
        if !ns.is_empty() {
            *namespaced_in.entry(ns).or_default() += 1;
        }
    }
    for (key, o) in &all {
        let Some(res) = ctx.registry.by_key(key) else {
            continue;
        };
        let deleting = !o["metadata"]["deletionTimestamp"].is_null();
        let uid = o["metadata"]["uid"].as_str().unwrap_or_default();
        if deleting {
            let deps = dependents.get(uid).map(Vec::as_slice).unwrap_or_default();
            if has_finalizer(o, "foregroundDeletion") {
                if deps.is_empty() {
                    remove_finalizer(ctx, &res, o, "foregroundDeletion");
                } else {
                    for (dkey, d) in deps {
                        if d["metadata"]["deletionTimestamp"].is_null() {
                            if let Some(dres) = ctx.registry.by_key(dkey) {
                                let _ =
                                    delete_object(ctx, &dres, d, Propagation::Foreground, false);
                            }
                        }
                    }
                }
            } else if has_finalizer(o, "orphan") {
                for (dkey, d) in deps {
                    if let Some(dres) = ctx.registry.by_key(dkey) {
                        let mut nd = (***d).clone();
                        if let Some(refs) = nd["metadata"]["ownerReferences"].as_array_mut() {
                            refs.retain(|r| r["uid"].as_str() != Some(uid));
                        }
                        if nd["metadata"]["ownerReferences"]
                            .as_array()
                            .is_some_and(|r| r.is_empty())
                        {
                            objects::meta_mut(&mut nd).remove("ownerReferences");
                        }
                        let _ = ctx.store.put(
                            &dres.key(),
                            objects::ns_of(d),
                            objects::name_of(d),
                            Precondition::Rv(object_rv(d)),
                            nd,
                        );
                    }
                }
                if deps.is_empty() {
                    remove_finalizer(ctx, &res, o, "orphan");
                }
            } else if res.group.is_empty() && res.kind == "Namespace" {
                finalize_namespace(
                    ctx,
                    o,
                    namespaced_in.get(objects::name_of(o)).copied().unwrap_or(0),
                );
            }
            continue;
        }
        let owners = owner_uids(o);
        if !owners.is_empty() && owners.iter().all(|u| !uids.contains(u)) {
            let _ = delete_object(ctx, &res, o, Propagation::Background, false);
        }
    }
    ctx.store.rv() != rv_before
}

fn remove_finalizer(ctx: &Ctx, res: &crate::resources::Resource, o: &Arc<Value>, f: &str) {
    let mut n = (**o).clone();
    if let Some(a) = n["metadata"]["finalizers"].as_array_mut() {
        a.retain(|x| x != f);
    }
    let ns = objects::ns_of(o);
    let name = objects::name_of(o);
    let pre = Precondition::Rv(object_rv(o));
    let empty = n["metadata"]["finalizers"]
        .as_array()
        .is_none_or(|a| a.is_empty());
    let result = if empty {
        ctx.store.delete(&res.key(), ns, name, pre)
    } else {
        ctx.store.put(&res.key(), ns, name, pre, n)
    };
    if let Ok(obj) = result {
        crate::handlers::after_write(ctx, res, &obj, empty);
    }
}

fn finalize_namespace(ctx: &Ctx, ns_obj: &Arc<Value>, remaining: usize) {
    let ns = objects::name_of(ns_obj).to_string();
    if remaining > 0 {
        for key in ctx.store.keys() {
            let Some(res) = ctx.registry.by_key(&key) else {
                continue;
            };
            if !res.namespaced {
                continue;
            }
            let (objs, _) = ctx.store.list(&key, Some(&ns), None);
            for o in objs {
                if o["metadata"]["deletionTimestamp"].is_null() {
                    let _ = delete_object(ctx, &res, &o, Propagation::Background, false);
                }
            }
        }
        return;
    }
    let Some(res) = ctx.registry.by_key("/namespaces") else {
        return;
    };
    let mut n = (**ns_obj).clone();
    n["spec"] = json!({});
    let pre = Precondition::Rv(object_rv(ns_obj));
    let empty = n["metadata"]["finalizers"]
        .as_array()
        .is_none_or(|a| a.is_empty());
    let _ = if empty {
        ctx.store.delete(&res.key(), "", &ns, pre)
    } else {
        ctx.store.put(&res.key(), "", &ns, pre, n)
    };
}
