//! The arena both schema sources are parsed into: one node per schema object, linked by index.
//!
//! OpenAPI v2 definitions (`$ref` chains) and CRD OpenAPI v3 schemas (inline) become the
//! same nodes, so one `TypeRef` API serves both. A `$ref` property is its own node holding
//! the property's extensions and the index of the referenced definition.

use regex::Regex;
use serde_json::Value;

use crate::lazy::LazyDefinitions;
use crate::typeref::{MapType, PatchStrategy};

/// Index of a node in [`Nodes`].
pub(crate) type NodeId = u32;

/// The JSON type a schema node declares (`type:`), `Any` when it declares none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum JsonType {
    #[default]
    Any,
    Object,
    Array,
    String,
    Integer,
    Number,
    Boolean,
}

impl JsonType {
    pub(crate) fn parse(s: &str) -> Option<JsonType> {
        Some(match s {
            "object" => JsonType::Object,
            "array" => JsonType::Array,
            "string" => JsonType::String,
            "integer" => JsonType::Integer,
            "number" => JsonType::Number,
            "boolean" => JsonType::Boolean,
            _ => return None,
        })
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            JsonType::Any => "",
            JsonType::Object => "object",
            JsonType::Array => "array",
            JsonType::String => "string",
            JsonType::Integer => "integer",
            JsonType::Number => "number",
            JsonType::Boolean => "boolean",
        }
    }
}

/// `x-kubernetes-list-type` as declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ListTag {
    Atomic,
    Set,
    Map,
}

/// One schema object.
#[derive(Debug, Default)]
pub(crate) struct Node {
    pub ty: JsonType,
    pub format: Option<Box<str>>,
    /// `$ref` target: structure comes from there, extensions are looked up here first.
    pub reference: Option<NodeId>,
    /// Sorted by name so lookups are a binary search without allocation.
    pub properties: Vec<(Box<str>, NodeId)>,
    pub items: Option<NodeId>,
    /// `additionalProperties` schema; `true` is stored as a node of no type that keeps
    /// everything.
    pub additional: Option<NodeId>,
    pub patch_strategy: Option<PatchStrategy>,
    pub merge_key: Option<Box<str>>,
    pub list_type: Option<ListTag>,
    /// `x-kubernetes-list-map-keys`, or `[merge key]` when the list is keyed by its
    /// strategic-merge key (so `ListType::Map` can borrow it).
    pub list_map_keys: Vec<String>,
    pub map_type: Option<MapType>,
    pub preserve_unknown: bool,
    pub int_or_string: bool,
    /// `resource.Quantity`: a string that clients may also send as a number.
    pub number_or_string: bool,
    pub embedded_resource: bool,
    /// A resource's top level (CRD schema root, embedded resource): `apiVersion`, `kind`
    /// and `metadata` are implied even when not declared.
    pub resource_root: bool,
    pub nullable: bool,
    /// Value validations and defaults, rare enough to keep out of line.
    pub rules: Option<Box<Rules>>,
}

impl Node {
    /// The node of a declared property (binary search: properties are sorted).
    pub(crate) fn property(&self, name: &str) -> Option<NodeId> {
        self.properties
            .binary_search_by(|(n, _)| n.as_ref().cmp(name))
            .ok()
            .map(|i| self.properties[i].1)
    }
}

/// Value validations and the default of one node (CRD schemas).
#[derive(Debug, Default)]
pub(crate) struct Rules {
    pub default: Option<Value>,
    pub required: Vec<String>,
    pub enumeration: Vec<Value>,
    pub minimum: Option<f64>,
    pub exclusive_minimum: bool,
    pub maximum: Option<f64>,
    pub exclusive_maximum: bool,
    pub multiple_of: Option<f64>,
    pub min_length: Option<u64>,
    pub max_length: Option<u64>,
    pub pattern: Option<(String, Regex)>,
    pub min_items: Option<u64>,
    pub max_items: Option<u64>,
    pub unique_items: bool,
    pub min_properties: Option<u64>,
    pub max_properties: Option<u64>,
}

/// An arena of nodes whose ids start at `base` (so one definition's nodes can be built
/// apart from the others).
#[derive(Debug, Default)]
pub(crate) struct Nodes {
    base: NodeId,
    nodes: Vec<Node>,
}

impl Nodes {
    /// An empty arena whose first node gets id `base`.
    pub(crate) fn starting_at(base: NodeId) -> Nodes {
        Nodes {
            base,
            nodes: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, node: Node) -> NodeId {
        let id = u32::try_from(self.nodes.len())
            .ok()
            .and_then(|n| self.base.checked_add(n))
            .expect("fewer than 2^32 schema nodes");
        self.nodes.push(node);
        id
    }

    pub(crate) fn get(&self, id: NodeId) -> &Node {
        &self.nodes[(id - self.base) as usize]
    }

    pub(crate) fn get_mut(&mut self, id: NodeId) -> &mut Node {
        &mut self.nodes[(id - self.base) as usize]
    }

    pub(crate) fn len(&self) -> usize {
        self.nodes.len()
    }

    pub(crate) fn into_boxed_slice(self) -> Box<[Node]> {
        self.nodes.into_boxed_slice()
    }
}

/// Where a schema's nodes live: one arena (a CRD schema), or definitions built on first
/// use (OpenAPI v2 documents such as the embedded Kubernetes schema).
#[derive(Debug)]
pub(crate) enum NodeStore {
    Arena(Nodes),
    Lazy(LazyDefinitions),
}

impl NodeStore {
    pub(crate) fn get(&self, id: NodeId) -> &Node {
        match self {
            NodeStore::Arena(nodes) => nodes.get(id),
            NodeStore::Lazy(defs) => defs.get(id),
        }
    }
}

/// Parses `x-kubernetes-patch-strategy`: a comma-separated list such as `merge,retainKeys`.
pub(crate) fn parse_patch_strategy(s: &str) -> PatchStrategy {
    let mut p = PatchStrategy::default();
    for part in s.split(',') {
        match part.trim() {
            "merge" => p.merge = true,
            "replace" => p.replace = true,
            "retainKeys" => p.retain_keys = true,
            _ => {}
        }
    }
    p
}

/// Fills `list_map_keys` from the merge key when the list declares no keys of its own.
pub(crate) fn derive_list_keys(node: &mut Node) {
    if node.list_map_keys.is_empty() && node.list_type.is_none() {
        if let (Some(strategy), Some(key)) = (node.patch_strategy, node.merge_key.as_deref()) {
            if strategy.merge {
                node.list_map_keys.push(key.to_string());
            }
        }
    }
}
