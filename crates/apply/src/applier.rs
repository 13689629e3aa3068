//! The [`Applier`]: a client plus cached discovery, and what every verb shares (resolving
//! objects to resources, reading live objects in bulk).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use flotilla_api::ObjMetadata;
use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, DynamicObject, ListParams};
use kube::Client;
use serde_json::Value;

use crate::discovery::{DiscoveryCache, Lookup, Resolved};
use crate::error::ApplyError;
use crate::object::{self, subject};

/// Groups of at least this many objects of one resource and namespace are read with one
/// paged LIST instead of one GET each.
const LIST_THRESHOLD: usize = 16;
/// Page size of those LISTs.
const LIST_PAGE: u32 = 1000;

/// Makes the cluster match sets of objects; cheap to clone (clones share the discovery cache).
#[derive(Clone)]
pub struct Applier {
    pub(crate) client: Client,
    pub(crate) discovery: Arc<DiscoveryCache>,
}

/// An input object checked and resolved to its resource.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    /// Identity; namespace empty for cluster-scoped kinds.
    pub meta: ObjMetadata,
    pub api_version: String,
    pub resolved: Arc<Resolved>,
    /// What is sent: owner labels set, last-applied annotation removed.
    pub object: Value,
}

impl Prepared {
    pub fn subject(&self) -> String {
        subject(&self.meta)
    }
}

impl Applier {
    /// An applier talking to the cluster `client` points at (impersonation and remote
    /// clusters are the client's business).
    pub fn new(client: Client) -> Self {
        Applier {
            discovery: Arc::new(DiscoveryCache::new(client.clone())),
            client,
        }
    }

    /// The client this applier uses.
    pub fn client(&self) -> &Client {
        &self.client
    }

    pub(crate) fn api(&self, resolved: &Resolved, namespace: &str) -> Api<DynamicObject> {
        if resolved.namespaced {
            Api::namespaced_with(self.client.clone(), namespace, &resolved.resource)
        } else {
            Api::all_with(self.client.clone(), &resolved.resource)
        }
    }

    /// Resolves `object` (already checked by [`check`]) to its resource, fixes its namespace
    /// for the kind's scope, and sets the owner labels.
    pub(crate) async fn prepare(
        &self,
        mut object: Value,
        owner_labels: &BTreeMap<String, String>,
    ) -> Result<Prepared, ApplyError> {
        let api_version = object::api_version(&object).to_string();
        let kind = object::kind(&object).to_string();
        let mut meta = object::meta_of(&object);
        let resolved = self
            .discovery
            .resolve(&api_version, &kind)
            .await
            .map_err(|e| lookup_error(e, &meta, &api_version))?;
        if resolved.namespaced {
            if meta.namespace.is_empty() {
                return Err(ApplyError::NamespaceRequired {
                    object: subject(&meta),
                    kind,
                });
            }
        } else if !meta.namespace.is_empty() {
            // The API server ignores a namespace on cluster-scoped objects; so does the inventory.
            meta.namespace.clear();
            if let Some(m) = object["metadata"].as_object_mut() {
                m.remove("namespace");
            }
        }
        let metadata = &mut object["metadata"];
        if let Some(a) = metadata
            .get_mut("annotations")
            .and_then(Value::as_object_mut)
        {
            a.remove(object::LAST_APPLIED_ANNOTATION);
        }
        if !owner_labels.is_empty() {
            if !metadata["labels"].is_object() {
                metadata["labels"] = Value::Object(Default::default());
            }
            if let Some(labels) = metadata["labels"].as_object_mut() {
                for (k, v) in owner_labels {
                    labels.insert(k.clone(), Value::String(v.clone()));
                }
            }
        }
        Ok(Prepared {
            meta,
            api_version,
            resolved,
            object,
        })
    }

    /// The live objects for `items`, in order (`None` where absent): one paged LIST for large
    /// groups of one resource and namespace, GETs for the rest.
    pub(crate) async fn fetch_live(
        &self,
        items: &[Prepared],
        concurrency: usize,
    ) -> Result<Vec<Option<Value>>, ApplyError> {
        let mut groups: HashMap<(String, String), Vec<usize>> = HashMap::new();
        for (i, p) in items.iter().enumerate() {
            let r = &p.resolved.resource;
            let key = (
                format!("{}/{}/{}", r.group, r.version, r.plural),
                p.meta.namespace.clone(),
            );
            groups.entry(key).or_default().push(i);
        }
        let mut live: Vec<Option<Value>> = vec![None; items.len()];
        let mut singles = Vec::new();
        for indexes in groups.into_values() {
            if indexes.len() < LIST_THRESHOLD {
                singles.extend(indexes);
                continue;
            }
            let first = &items[indexes[0]];
            let mut listed = self
                .list_all(&first.resolved, &first.meta.namespace)
                .await
                .map_err(|e| ApplyError::request(&first.subject(), "list", e))?;
            for i in indexes {
                live[i] = listed.remove(items[i].meta.name.as_str());
            }
        }
        let fetched: Vec<(usize, Option<Value>)> = futures::stream::iter(singles)
            .map(|i| async move {
                let p = &items[i];
                self.get(&p.resolved, &p.meta).await.map(|v| (i, v))
            })
            .buffer_unordered(concurrency.max(1))
            .try_collect()
            .await?;
        for (i, v) in fetched {
            live[i] = v;
        }
        Ok(live)
    }

    /// Every object of a resource in a namespace, read as raw JSON (no typed round trip:
    /// this is the whole cost of a no-change re-apply).
    async fn list_all(
        &self,
        resolved: &Resolved,
        namespace: &str,
    ) -> Result<HashMap<String, Value>, kube::Error> {
        let ns = resolved.namespaced.then_some(namespace);
        let url = <DynamicObject as kube::Resource>::url_path(&resolved.resource, ns);
        let request = kube::core::Request::new(url);
        let mut out = HashMap::new();
        let mut params = ListParams::default().limit(LIST_PAGE);
        loop {
            let req = request.list(&params).map_err(kube::Error::BuildRequest)?;
            let mut page: Value = self.client.request(req).await?;
            let next = page["metadata"]["continue"]
                .as_str()
                .filter(|c| !c.is_empty())
                .map(String::from);
            if let Value::Array(items) = page["items"].take() {
                for mut item in items {
                    let name = object::name(&item).to_string();
                    if let Some(m) = item.as_object_mut() {
                        let r = &resolved.resource;
                        m.insert("apiVersion".into(), Value::String(r.api_version.clone()));
                        m.insert("kind".into(), Value::String(r.kind.clone()));
                    }
                    out.insert(name, item);
                }
            }
            match next {
                Some(token) => params = params.continue_token(&token),
                None => return Ok(out),
            }
        }
    }

    /// The live object, or `None` if it does not exist.
    pub(crate) async fn get(
        &self,
        resolved: &Resolved,
        meta: &ObjMetadata,
    ) -> Result<Option<Value>, ApplyError> {
        self.api(resolved, &meta.namespace)
            .get_opt(&meta.name)
            .await
            .map(|o| o.map(|o| to_value(o, resolved)))
            .map_err(|e| ApplyError::request(&subject(meta), "get", e))
    }
}

/// A dynamic object as JSON, with apiVersion and kind filled in (lists leave them out of items).
pub(crate) fn to_value(obj: DynamicObject, resolved: &Resolved) -> Value {
    let mut v = serde_json::to_value(obj).unwrap_or(Value::Null);
    if let Some(m) = v.as_object_mut() {
        let r = &resolved.resource;
        m.entry("apiVersion")
            .or_insert_with(|| Value::String(r.api_version.clone()));
        m.entry("kind")
            .or_insert_with(|| Value::String(r.kind.clone()));
    }
    v
}

pub(crate) fn lookup_error(e: Lookup, meta: &ObjMetadata, api_version: &str) -> ApplyError {
    match e {
        Lookup::NotServed(message) => ApplyError::UnknownKind {
            object: subject(meta),
            api_version: api_version.to_string(),
            kind: meta.kind.clone(),
            message,
        },
        Lookup::Failed(message) => ApplyError::Discovery {
            api_version: api_version.to_string(),
            message,
        },
    }
}

/// Checks that every object has apiVersion, kind and metadata.name.
pub(crate) fn check(objects: &[Value]) -> Result<(), ApplyError> {
    for (index, o) in objects.iter().enumerate() {
        let what = || {
            format!(
                "{}/{}",
                object::kind(o).if_empty("<no kind>"),
                object::name(o).if_empty("<no name>")
            )
        };
        let problem = if !o.is_object() {
            Some("not a JSON object")
        } else if object::api_version(o).is_empty() {
            Some("apiVersion is missing")
        } else if object::kind(o).is_empty() {
            Some("kind is missing")
        } else if object::name(o).is_empty() {
            Some("metadata.name is missing")
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(ApplyError::Malformed {
                index,
                what: what(),
                problem: problem.to_string(),
            });
        }
    }
    Ok(())
}

trait IfEmpty {
    fn if_empty<'a>(&'a self, other: &'a str) -> &'a str;
}

impl IfEmpty for str {
    fn if_empty<'a>(&'a self, other: &'a str) -> &'a str {
        if self.is_empty() {
            other
        } else {
            self
        }
    }
}
