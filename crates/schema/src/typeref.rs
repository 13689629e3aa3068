//! `TypeRef`: a cheap handle on one type of a [`Schema`], navigated field by field.

use std::fmt;

use serde_json::Value;

use crate::node::{JsonType, ListTag, Node, NodeId};
use crate::schema::Schema;

/// `$ref` chains longer than this are treated as broken (a cycle of bare references).
const MAX_REF_DEPTH: usize = 32;

/// How values of a type are structured, as merge and apply code needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Shape {
    /// Fixed named fields (`properties`).
    Object,
    /// A list (`items`).
    Array,
    /// String keys to values of one type (`additionalProperties`).
    Map,
    /// A string, number, boolean, or int-or-string / Quantity (which accept both).
    Scalar,
    /// No structure known: no schema, free-form objects (`RawExtension`, `JSON`) and
    /// `x-kubernetes-preserve-unknown-fields` without properties. Deduce from the value.
    Unknown,
}

/// How a list is merged (server-side apply's element relationship).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListType<'s> {
    /// Replaced as a whole.
    Atomic,
    /// Scalars merged as a set.
    Set,
    /// Objects matched by these key fields.
    Map(&'s [String]),
}

/// How an object-valued map is merged (`x-kubernetes-map-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MapType {
    /// Keys merged one by one (the default).
    #[default]
    Granular,
    /// Replaced as a whole (e.g. `LabelSelector`).
    Atomic,
}

/// `x-kubernetes-patch-strategy` of a field: a comma-separated set such as `merge,retainKeys`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PatchStrategy {
    /// `merge`: lists are merged (by merge key for objects, as a set for scalars).
    pub merge: bool,
    /// `replace`: the field is replaced as a whole.
    pub replace: bool,
    /// `retainKeys`: keys absent from the patch are cleared (union types like `volumes`).
    pub retain_keys: bool,
}

/// A cheap, copyable handle on one type, or on one field's type together with the
/// field's own extensions (merge key, patch strategy, list type sit on the property).
///
/// Navigation never allocates: field lookup is a binary search over borrowed names.
#[derive(Clone, Copy)]
pub struct TypeRef<'s> {
    schema: &'s Schema,
    id: NodeId,
}

impl<'s> TypeRef<'s> {
    pub(crate) fn new(schema: &'s Schema, id: NodeId) -> TypeRef<'s> {
        TypeRef { schema, id }
    }

    /// The node that defines the structure: the end of the `$ref` chain.
    pub(crate) fn target(&self) -> &'s Node {
        let nodes = self.schema.nodes();
        let mut node = nodes.get(self.id);
        for _ in 0..MAX_REF_DEPTH {
            match node.reference {
                Some(next) => node = nodes.get(next),
                None => return node,
            }
        }
        node
    }

    /// The first value of an extension along the chain, the property's own first.
    fn find<T>(&self, f: impl Fn(&'s Node) -> Option<T>) -> Option<T> {
        let nodes = self.schema.nodes();
        let mut node = nodes.get(self.id);
        for _ in 0..MAX_REF_DEPTH {
            if let Some(v) = f(node) {
                return Some(v);
            }
            match node.reference {
                Some(next) => node = nodes.get(next),
                None => return None,
            }
        }
        None
    }

    /// The name of the built-in definition this type is (the end of its `$ref` chain), e.g.
    /// `io.k8s.api.apps.v1.DeploymentSpec`; `None` for inline types and CRD schemas.
    pub fn definition_name(&self) -> Option<&'s str> {
        let nodes = self.schema.nodes();
        let mut id = self.id;
        for _ in 0..MAX_REF_DEPTH {
            match nodes.get(id).reference {
                Some(next) => id = next,
                None => break,
            }
        }
        self.schema.definition_name(id)
    }

    /// How values of this type are structured.
    pub fn shape(&self) -> Shape {
        let t = self.target();
        if t.int_or_string || t.number_or_string {
            return Shape::Scalar;
        }
        match t.ty {
            JsonType::Array => Shape::Array,
            JsonType::String | JsonType::Integer | JsonType::Number | JsonType::Boolean => {
                Shape::Scalar
            }
            JsonType::Object | JsonType::Any => {
                if !t.properties.is_empty() {
                    Shape::Object
                } else if t.additional.is_some() && !t.preserve_unknown {
                    Shape::Map
                } else if t.ty == JsonType::Object && !t.preserve_unknown {
                    // A closed object with no fields: everything in it is unknown.
                    Shape::Object
                } else {
                    Shape::Unknown
                }
            }
        }
    }

    /// The type of a named property of an object, with that property's extensions.
    ///
    /// On a resource root (a CRD's schema root, an embedded resource) `metadata` is always
    /// `ObjectMeta` of the built-in schema (a CRD may only restrict `name` there, which
    /// [`check`](crate::check) still applies), so labels, annotations, finalizers and owner
    /// references are navigable everywhere; `apiVersion` and `kind` are strings.
    pub fn field(&self, name: &str) -> Option<TypeRef<'s>> {
        let t = self.target();
        if t.resource_root {
            let k = Schema::kubernetes();
            match name {
                "metadata" => return Some(k.object_meta()),
                "apiVersion" | "kind" if t.property(name).is_none() => {
                    return Some(k.plain_string())
                }
                _ => {}
            }
        }
        t.property(name).map(|id| TypeRef::new(self.schema, id))
    }

    /// The element type of an array.
    pub fn items(&self) -> Option<TypeRef<'s>> {
        self.target().items.map(|id| TypeRef::new(self.schema, id))
    }

    /// The value type of a map (`additionalProperties`).
    pub fn values(&self) -> Option<TypeRef<'s>> {
        self.target()
            .additional
            .map(|id| TypeRef::new(self.schema, id))
    }

    /// `x-kubernetes-patch-strategy` of this field (all false when absent).
    pub fn patch_strategy(&self) -> PatchStrategy {
        self.find(|n| n.patch_strategy).unwrap_or_default()
    }

    /// `x-kubernetes-patch-merge-key` of this field.
    pub fn patch_merge_key(&self) -> Option<&'s str> {
        self.find(|n| n.merge_key.as_deref())
    }

    /// How the list is merged by server-side apply: `x-kubernetes-list-type` (with
    /// `x-kubernetes-list-map-keys`); when absent, patch strategy `merge` makes it a map
    /// keyed by the merge key, or a set when there is no merge key (as Kubernetes converts
    /// its OpenAPI for server-side apply); otherwise atomic.
    pub fn list_type(&self) -> ListType<'s> {
        self.find(|n| {
            if let Some(tag) = n.list_type {
                return Some(match tag {
                    ListTag::Atomic => ListType::Atomic,
                    ListTag::Set => ListType::Set,
                    ListTag::Map => ListType::Map(&n.list_map_keys),
                });
            }
            let strategy = n.patch_strategy?;
            Some(if !strategy.merge {
                ListType::Atomic
            } else if n.list_map_keys.is_empty() {
                ListType::Set
            } else {
                ListType::Map(&n.list_map_keys)
            })
        })
        .unwrap_or(ListType::Atomic)
    }

    /// `x-kubernetes-map-type` (granular when absent).
    pub fn map_type(&self) -> MapType {
        self.find(|n| n.map_type).unwrap_or_default()
    }

    /// The declared JSON type (`object`, `array`, `string`, `integer`, `number`,
    /// `boolean`), `None` when the schema declares none.
    pub fn json_type(&self) -> Option<&'static str> {
        match self.target().ty {
            JsonType::Any => None,
            t => Some(t.as_str()),
        }
    }

    /// The declared `format` (e.g. `int32`, `date-time`, `int-or-string`, `byte`).
    pub fn format(&self) -> Option<&'s str> {
        self.find(|n| n.format.as_deref())
    }

    /// The names of the declared properties, sorted.
    pub fn field_names(&self) -> impl Iterator<Item = &'s str> + 's {
        self.target().properties.iter().map(|(n, _)| n.as_ref())
    }

    /// `default:` of this field (CRD schemas).
    pub fn default_value(&self) -> Option<&'s Value> {
        self.find(|n| n.rules.as_ref().and_then(|r| r.default.as_ref()))
    }

    /// Names of the required properties (CRD schemas).
    pub fn required(&self) -> &'s [String] {
        self.find(|n| {
            n.rules
                .as_ref()
                .filter(|r| !r.required.is_empty())
                .map(|r| r.required.as_slice())
        })
        .unwrap_or(&[])
    }

    /// `nullable: true`.
    pub fn is_nullable(&self) -> bool {
        self.find(|n| n.nullable.then_some(())).is_some()
    }

    /// `x-kubernetes-preserve-unknown-fields: true` (or a free-form built-in type).
    pub fn preserves_unknown_fields(&self) -> bool {
        self.target().preserve_unknown
    }

    /// `x-kubernetes-int-or-string: true` or `format: int-or-string`.
    pub fn is_int_or_string(&self) -> bool {
        self.target().int_or_string
    }

    /// `x-kubernetes-embedded-resource: true`.
    pub fn is_embedded_resource(&self) -> bool {
        self.target().embedded_resource
    }

    /// The schema this type belongs to.
    pub fn schema(&self) -> &'s Schema {
        self.schema
    }
}

impl fmt::Debug for TypeRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypeRef")
            .field("node", &self.id)
            .field("shape", &self.shape())
            .finish()
    }
}

impl PartialEq for TypeRef<'_> {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.schema, other.schema) && self.id == other.id
    }
}

impl Eq for TypeRef<'_> {}
