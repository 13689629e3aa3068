//! Merging resources into a level's list: unique ids for plain resources, create/merge/replace for generated ones.

use serde_json::{Map, Value};

use crate::resource::{Behavior, Resource};

/// Why resources could not be merged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResMapError {
    /// Two objects with the same id.
    #[error("may not add resource with an already registered id: {0}")]
    Duplicate(String),
    /// A generator's `behavior: merge|replace` found nothing to act on.
    #[error("id {0} does not exist; cannot merge or replace")]
    NothingToMerge(String),
    /// A generator without merge/replace collided with an existing object.
    #[error("id {0} exists; behavior must be merge or replace")]
    Exists(String),
    /// More than one object could take the merge.
    #[error("found multiple objects that could accept merge of {0}")]
    Ambiguous(String),
}

/// The list of a level's resources.
#[derive(Debug, Clone, Default)]
pub struct ResMap {
    /// Resources in order.
    pub list: Vec<Resource>,
    ids: std::collections::HashSet<(crate::resource::Gvk, String, String)>,
}

fn key(r: &Resource) -> (crate::resource::Gvk, String, String) {
    let id = r.cur_id();
    let ns = id.effective_namespace().to_string();
    (id.gvk, id.name, ns)
}

impl ResMap {
    /// Appends, refusing an id already present.
    pub fn append(&mut self, r: Resource) -> Result<(), ResMapError> {
        if !self.ids.insert(key(&r)) {
            return Err(ResMapError::Duplicate(r.cur_id().to_string()));
        }
        self.list.push(r);
        Ok(())
    }

    /// Appends all.
    pub fn append_all(&mut self, rs: Vec<Resource>) -> Result<(), ResMapError> {
        for r in rs {
            self.append(r)?;
        }
        Ok(())
    }

    /// Re-derives the id index after the list was changed in place (transformers).
    pub fn reindex(&mut self) {
        self.ids = self.list.iter().map(key).collect();
    }

    /// Adds a generated resource by its behavior (kustomize's `appendReplaceOrMerge`).
    pub fn absorb(&mut self, mut r: Resource) -> Result<(), ResMapError> {
        let id = r.cur_id();
        let hits: Vec<usize> = self
            .list
            .iter()
            .enumerate()
            .filter(|(_, o)| o.all_ids().iter().any(|x| x.equals(&id)))
            .map(|(i, _)| i)
            .collect();
        match hits.len() {
            0 => match r.behavior {
                Behavior::Merge | Behavior::Replace => {
                    Err(ResMapError::NothingToMerge(id.to_string()))
                }
                Behavior::Create => self.append(r),
            },
            1 => {
                let i = hits[0];
                let old = &self.list[i];
                match r.behavior {
                    Behavior::Create => return Err(ResMapError::Exists(id.to_string())),
                    Behavior::Replace => copy_meta(&mut r, old),
                    Behavior::Merge => {
                        copy_meta(&mut r, old);
                        // A merge keeps where the object was first defined.
                        r.origin = old.origin.clone();
                        for field in ["data", "binaryData"] {
                            let merged = merge_maps(old.obj.get(field), r.obj.get(field));
                            let obj = crate::resource::object_mut(&mut r.obj);
                            if merged.is_empty() {
                                obj.remove(field);
                            } else {
                                obj.insert(field.into(), Value::Object(merged));
                            }
                        }
                    }
                }
                self.list[i] = r;
                self.reindex();
                Ok(())
            }
            _ => Err(ResMapError::Ambiguous(id.to_string())),
        }
    }
}

fn merge_maps(a: Option<&Value>, b: Option<&Value>) -> Map<String, Value> {
    let mut m = a.and_then(Value::as_object).cloned().unwrap_or_default();
    if let Some(b) = b.and_then(Value::as_object) {
        for (k, v) in b {
            m.insert(k.clone(), v.clone());
        }
    }
    m
}

/// kustomize's `CopyMergeMetaDataFieldsFrom`: labels and annotations merged (new wins), name,
/// namespace and name history taken from the existing object.
fn copy_meta(r: &mut Resource, old: &Resource) {
    let labels = merge_maps(
        Some(&Value::Object(old.string_map("labels"))),
        Some(&Value::Object(r.string_map("labels"))),
    );
    r.set_string_map("labels", labels);
    let ann = merge_maps(
        Some(&Value::Object(old.string_map("annotations"))),
        Some(&Value::Object(r.string_map("annotations"))),
    );
    r.set_string_map("annotations", ann);
    r.set_name(old.name());
    r.set_namespace(old.namespace());
    // The hash marker is one of kustomize's build annotations, which come from the existing
    // object: a new generator can switch the hash off but not back on.
    r.needs_hash = r.needs_hash && old.needs_hash;
    r.prev = old.prev.clone();
    r.prefixes = old.prefixes.clone();
    r.suffixes = old.suffixes.clone();
}
