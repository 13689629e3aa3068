//! Parsing OpenAPI v2 definitions and v3 structural schemas into the node arena.

use regex::Regex;
use serde_json::Value;

use crate::error::SchemaError;
use crate::node::{
    derive_list_keys, parse_patch_strategy, JsonType, ListTag, Node, NodeId, Nodes, Rules,
};
use crate::typeref::MapType;

/// Which OpenAPI flavour is being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    /// Kubernetes' built-in definitions: `$ref` to `#/definitions/...`; an object with
    /// neither properties nor additionalProperties is free-form (`RawExtension`).
    V2,
    /// A CRD `openAPIV3Schema`: inline, no `$ref`, value validations and defaults.
    V3,
}

/// Resolves a `$ref` definition name to its node.
pub(crate) type Resolve<'r> = &'r dyn Fn(&str) -> Option<NodeId>;

pub(crate) struct Parser<'r> {
    dialect: Dialect,
    pub nodes: Nodes,
    resolve: Resolve<'r>,
}

impl<'r> Parser<'r> {
    /// A parser building into `nodes`, resolving `$ref`s (V2 only) with `resolve`.
    pub(crate) fn new(dialect: Dialect, nodes: Nodes, resolve: Resolve<'r>) -> Parser<'r> {
        Parser {
            dialect,
            nodes,
            resolve,
        }
    }

    /// Builds the node for one schema object and its children.
    pub(crate) fn build(&mut self, v: &Value, path: &str) -> Result<NodeId, SchemaError> {
        let node = self.node(v, path)?;
        Ok(self.nodes.push(node))
    }

    pub(crate) fn node(&mut self, v: &Value, path: &str) -> Result<Node, SchemaError> {
        let obj = v
            .as_object()
            .ok_or_else(|| invalid(path, "a schema must be an object"))?;
        let mut node = Node::default();
        let mut rules = Rules::default();
        let mut has_rules = false;
        for (key, value) in obj {
            let at = || format!("{path}.{key}");
            match key.as_str() {
                "$ref" => {
                    if self.dialect == Dialect::V3 {
                        return Err(SchemaError::NotStructural {
                            path: at(),
                            keyword: "$ref".to_string(),
                        });
                    }
                    let r = as_str(value, &at())?;
                    let name = r.strip_prefix("#/definitions/").unwrap_or(r);
                    let target =
                        (self.resolve)(name).ok_or_else(|| SchemaError::UnresolvedRef {
                            path: at(),
                            reference: r.to_string(),
                        })?;
                    node.reference = Some(target);
                }
                "type" => {
                    let t = as_str(value, &at())?;
                    node.ty = JsonType::parse(t).ok_or_else(|| {
                        invalid(
                            &at(),
                            &format!(
                                "unknown type {t:?}; expected object, array, string, \
                                 integer, number or boolean"
                            ),
                        )
                    })?;
                }
                "format" => {
                    let f = as_str(value, &at())?;
                    if f == "int-or-string" {
                        node.int_or_string = true;
                    }
                    node.format = Some(f.into());
                }
                "properties" => {
                    let props = value
                        .as_object()
                        .ok_or_else(|| invalid(&at(), "properties must be an object"))?;
                    let mut list = Vec::with_capacity(props.len());
                    for (name, sub) in props {
                        let id = self.build(sub, &format!("{path}.properties.{name}"))?;
                        list.push((Box::<str>::from(name.as_str()), id));
                    }
                    list.sort_by(|a, b| a.0.cmp(&b.0));
                    node.properties = list;
                }
                "items" => {
                    if value.is_array() {
                        return Err(SchemaError::NotStructural {
                            path: at(),
                            keyword: "items as a list of schemas".to_string(),
                        });
                    }
                    node.items = Some(self.build(value, &at())?);
                }
                "additionalProperties" => match value {
                    Value::Bool(false) => {}
                    Value::Bool(true) => {
                        node.additional = Some(self.nodes.push(Node {
                            preserve_unknown: true,
                            ..Node::default()
                        }));
                    }
                    _ => node.additional = Some(self.build(value, &at())?),
                },
                "x-kubernetes-patch-strategy" => {
                    node.patch_strategy = Some(parse_patch_strategy(as_str(value, &at())?));
                }
                "x-kubernetes-patch-merge-key" => {
                    node.merge_key = Some(as_str(value, &at())?.into());
                }
                "x-kubernetes-list-type" => {
                    node.list_type = Some(match as_str(value, &at())? {
                        "atomic" => ListTag::Atomic,
                        "set" => ListTag::Set,
                        "map" => ListTag::Map,
                        other => {
                            return Err(invalid(
                                &at(),
                                &format!(
                                    "unknown list type {other:?}; expected atomic, set or map"
                                ),
                            ))
                        }
                    });
                }
                "x-kubernetes-list-map-keys" => {
                    node.list_map_keys = string_list(value, &at())?;
                }
                "x-kubernetes-map-type" => {
                    node.map_type = Some(match as_str(value, &at())? {
                        "atomic" => MapType::Atomic,
                        "granular" => MapType::Granular,
                        other => {
                            return Err(invalid(
                                &at(),
                                &format!("unknown map type {other:?}; expected atomic or granular"),
                            ))
                        }
                    });
                }
                "x-kubernetes-preserve-unknown-fields" => {
                    node.preserve_unknown = as_bool(value, &at())?
                }
                "x-kubernetes-int-or-string" => node.int_or_string = as_bool(value, &at())?,
                "x-kubernetes-embedded-resource" => {
                    node.embedded_resource = as_bool(value, &at())?;
                    node.resource_root = node.embedded_resource;
                }
                "nullable" => node.nullable = as_bool(value, &at())?,
                "default" => {
                    rules.default = Some(value.clone());
                    has_rules = true;
                }
                "required" => {
                    rules.required = string_list(value, &at())?;
                    has_rules = true;
                }
                "enum" => {
                    rules.enumeration = value
                        .as_array()
                        .ok_or_else(|| invalid(&at(), "enum must be a list"))?
                        .clone();
                    has_rules = true;
                }
                "minimum" => {
                    rules.minimum = Some(as_f64(value, &at())?);
                    has_rules = true;
                }
                "maximum" => {
                    rules.maximum = Some(as_f64(value, &at())?);
                    has_rules = true;
                }
                "exclusiveMinimum" => rules.exclusive_minimum = as_bool(value, &at())?,
                "exclusiveMaximum" => rules.exclusive_maximum = as_bool(value, &at())?,
                "multipleOf" => {
                    rules.multiple_of = Some(as_f64(value, &at())?);
                    has_rules = true;
                }
                "minLength" => {
                    rules.min_length = Some(as_u64(value, &at())?);
                    has_rules = true;
                }
                "maxLength" => {
                    rules.max_length = Some(as_u64(value, &at())?);
                    has_rules = true;
                }
                "minItems" => {
                    rules.min_items = Some(as_u64(value, &at())?);
                    has_rules = true;
                }
                "maxItems" => {
                    rules.max_items = Some(as_u64(value, &at())?);
                    has_rules = true;
                }
                "minProperties" => {
                    rules.min_properties = Some(as_u64(value, &at())?);
                    has_rules = true;
                }
                "maxProperties" => {
                    rules.max_properties = Some(as_u64(value, &at())?);
                    has_rules = true;
                }
                "uniqueItems" => {
                    rules.unique_items = as_bool(value, &at())?;
                    has_rules |= rules.unique_items;
                }
                "pattern" => {
                    let p = as_str(value, &at())?;
                    let re = Regex::new(p).map_err(|source| SchemaError::Pattern {
                        path: at(),
                        pattern: p.to_string(),
                        source: Box::new(source),
                    })?;
                    rules.pattern = Some((p.to_string(), re));
                    has_rules = true;
                }
                // Documentation, CEL rules and combinators are not needed for structure,
                // pruning or defaulting.
                _ => {}
            }
        }
        if self.dialect == Dialect::V2
            && node.reference.is_none()
            && node.properties.is_empty()
            && node.additional.is_none()
            && matches!(node.ty, JsonType::Object | JsonType::Any)
        {
            // Free-form built-in types (RawExtension, FieldsV1, JSON) keep whatever they hold.
            node.preserve_unknown = true;
        }
        derive_list_keys(&mut node);
        if has_rules {
            node.rules = Some(Box::new(rules));
        }
        Ok(node)
    }
}

fn invalid(path: &str, message: &str) -> SchemaError {
    SchemaError::Invalid {
        path: path.to_string(),
        message: message.to_string(),
    }
}

fn as_str<'v>(v: &'v Value, path: &str) -> Result<&'v str, SchemaError> {
    v.as_str().ok_or_else(|| invalid(path, "must be a string"))
}

fn as_bool(v: &Value, path: &str) -> Result<bool, SchemaError> {
    v.as_bool()
        .ok_or_else(|| invalid(path, "must be true or false"))
}

fn as_f64(v: &Value, path: &str) -> Result<f64, SchemaError> {
    v.as_f64().ok_or_else(|| invalid(path, "must be a number"))
}

fn as_u64(v: &Value, path: &str) -> Result<u64, SchemaError> {
    v.as_u64()
        .ok_or_else(|| invalid(path, "must be a non-negative integer"))
}

fn string_list(v: &Value, path: &str) -> Result<Vec<String>, SchemaError> {
    v.as_array()
        .and_then(|a| {
            a.iter()
                .map(|s| s.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
        })
        .ok_or_else(|| invalid(path, "must be a list of strings"))
}
