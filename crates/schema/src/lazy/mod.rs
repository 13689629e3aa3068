//! OpenAPI v2 definitions built on first use: a byte scan indexes each definition, and a
//! definition's nodes are built the first time a type in it is navigated.
//!
//! The embedded Kubernetes schema has ~600 definitions; a build touches a few dozen
//! (a Deployment patch reaches the pod spec and its parts). Parsing them all cost more
//! than a whole small `flotilla kustomize` run, so only the index is made up front (at
//! compile time for the embedded schema: see `build.rs`).

pub(crate) mod scan;

use std::borrow::Cow;
use std::ops::Range;
use std::sync::OnceLock;

use serde_json::Value;

use crate::error::SchemaError;
use crate::node::{JsonType, Node, NodeId, Nodes};
use crate::parse::{Dialect, Parser};
pub(crate) use scan::RawIndex;

/// Low bits of a [`NodeId`] number a node within its definition; high bits the definition.
const LOCAL_BITS: u32 = 20;
/// Definition name of `Quantity`: declared a string, but clients send numbers too.
pub(crate) const QUANTITY: &str = "io.k8s.apimachinery.pkg.api.resource.Quantity";

/// OpenAPI v2 definitions, each built on first use.
#[derive(Debug)]
pub(crate) struct LazyDefinitions {
    text: Cow<'static, str>,
    /// Name range of definition `i`, sorted by name.
    names: Vec<Range<usize>>,
    values: Vec<Range<usize>>,
    /// Built nodes of definition `i`; the last slot holds extra nodes made at load time.
    slots: Vec<OnceLock<Box<[Node]>>>,
}

impl LazyDefinitions {
    /// Indexes `text`'s definitions; `extra` nodes get ids from [`LazyDefinitions::extra`].
    pub(crate) fn new(
        text: Cow<'static, str>,
        index: &RawIndex,
        extra: Vec<Node>,
    ) -> Result<LazyDefinitions, SchemaError> {
        if index.definitions.len() >= 1 << (32 - LOCAL_BITS) {
            return Err(SchemaError::Invalid {
                path: "definitions".to_string(),
                message: format!("more than {} definitions", 1 << (32 - LOCAL_BITS)),
            });
        }
        let (names, values) = index.definitions.iter().cloned().unzip();
        let mut slots: Vec<OnceLock<Box<[Node]>>> = (0..=index.definitions.len())
            .map(|_| OnceLock::new())
            .collect();
        if let Some(last) = slots.last_mut() {
            *last = OnceLock::from(extra.into_boxed_slice());
        }
        Ok(LazyDefinitions {
            text,
            names,
            values,
            slots,
        })
    }

    fn name(&self, i: usize) -> &str {
        &self.text[self.names[i].clone()]
    }

    /// The number of definitions.
    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    /// Id of extra node `i` given to [`LazyDefinitions::new`].
    pub(crate) fn extra(&self, i: usize) -> NodeId {
        id(self.names.len(), i)
    }

    /// Id of the named definition's node.
    pub(crate) fn find(&self, name: &str) -> Option<NodeId> {
        self.names
            .binary_search_by(|r| self.text[r.clone()].cmp(name))
            .ok()
            .map(|i| id(i, 0))
    }

    /// Name of a definition's node (`None` for nodes inside or outside definitions).
    pub(crate) fn name_of(&self, node: NodeId) -> Option<&str> {
        let (def, local) = split(node);
        (local == 0 && def < self.len()).then(|| self.name(def))
    }

    /// A node, building its definition first when needed.
    pub(crate) fn get(&self, node: NodeId) -> &Node {
        let (def, local) = split(node);
        let nodes = self.slots[def].get_or_init(|| {
            self.build(def)
                .expect("embedded schema definitions build (unit test every_definition_builds)")
        });
        &nodes[local]
    }

    /// Builds every definition now, reporting the first error.
    pub(crate) fn build_all(&self) -> Result<(), SchemaError> {
        for def in 0..self.len() {
            if self.slots[def].get().is_none() {
                let nodes = self.build(def)?;
                let _ = self.slots[def].set(nodes);
            }
        }
        Ok(())
    }

    fn build(&self, def: usize) -> Result<Box<[Node]>, SchemaError> {
        let name = self.name(def);
        let path = format!("definitions.{name}");
        let value: Value =
            serde_json::from_str(&self.text[self.values[def].clone()]).map_err(|source| {
                SchemaError::Json {
                    what: path.clone(),
                    source,
                }
            })?;
        let resolve = |reference: &str| self.find(reference);
        let mut parser = Parser::new(Dialect::V2, Nodes::starting_at(id(def, 0)), &resolve);
        // The definition itself is its first node, whatever it holds.
        let root = parser.nodes.push(Node::default());
        let mut node = parser.node(&value, &path)?;
        if name == QUANTITY {
            node.number_or_string = true;
        }
        *parser.nodes.get_mut(root) = node;
        if parser.nodes.len() >= 1 << LOCAL_BITS {
            return Err(SchemaError::Invalid {
                path,
                message: format!("more than {} schema nodes", 1 << LOCAL_BITS),
            });
        }
        Ok(parser.nodes.into_boxed_slice())
    }
}

fn id(def: usize, local: usize) -> NodeId {
    // Both parts are range-checked when the definitions are indexed and built.
    ((def as NodeId) << LOCAL_BITS) | local as NodeId
}

fn split(node: NodeId) -> (usize, usize) {
    (
        (node >> LOCAL_BITS) as usize,
        (node & ((1 << LOCAL_BITS) - 1)) as usize,
    )
}

/// A plain string type, for `apiVersion` and `kind` implied at resource roots.
pub(crate) fn plain_string() -> Node {
    Node {
        ty: JsonType::String,
        ..Node::default()
    }
}
