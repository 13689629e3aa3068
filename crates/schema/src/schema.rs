//! `Schema`: a set of type definitions, either the embedded Kubernetes v1.21.2 ones or one
//! CRD version's `openAPIV3Schema`.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::OnceLock;

use serde_json::Value;

use crate::check::{deeper_than, MAX_DEPTH};
use crate::error::SchemaError;
use crate::gvk::Scope;
use crate::lazy::{self, LazyDefinitions, RawIndex};
use crate::node::{NodeId, NodeStore, Nodes};
use crate::parse::{Dialect, Parser};
use crate::typeref::TypeRef;

/// The Kubernetes v1.21.2 OpenAPI definitions kustomize v5.5.0 uses (descriptions removed),
/// with each kind's apiVersion and scope.
pub(crate) const KUBERNETES_V1_21_2: &str = include_str!("../data/kubernetes-v1.21.2-schema.json");

/// Definition name of `ObjectMeta`, implied under every resource root.
const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

/// One `resources` entry of the embedded schema.
#[derive(Debug)]
pub(crate) struct Resource {
    pub api_version: String,
    pub kind: String,
    pub definition: Option<NodeId>,
}

/// A set of type definitions: the built-in Kubernetes ones, or one CRD version's schema.
#[derive(Debug)]
pub struct Schema {
    nodes: NodeStore,
    /// Root type of a schema built from an `openAPIV3Schema`.
    root: Option<NodeId>,
    /// Sorted by `(apiVersion, kind)`; empty for CRD schemas.
    resources: Vec<Resource>,
    /// Kind → indices into `resources`: a hash lookup by borrowed `&str`, then a short scan.
    by_kind: HashMap<Box<str>, Vec<usize>>,
    /// `ObjectMeta` and a plain string (only in the built-in schema).
    object_meta: NodeId,
    plain_string: NodeId,
    builtin: bool,
}

/// The embedded schema's top-level index (definitions and kind list), made by `build.rs`:
/// the kind index (gvk.rs) and the definitions share it.
pub(crate) fn kubernetes_index() -> &'static RawIndex {
    mod generated {
        include!(concat!(env!("OUT_DIR"), "/kubernetes_index.rs"));
    }
    static INDEX: OnceLock<RawIndex> = OnceLock::new();
    INDEX.get_or_init(|| RawIndex {
        definitions: generated::DEFINITIONS
            .iter()
            .map(|&[a, b, c, d]| (a..b, c..d))
            .collect(),
        resources: generated::RESOURCES.map(|[a, b]| a..b),
    })
}

impl Schema {
    /// The embedded Kubernetes v1.21.2 definitions, indexed once on first use; each
    /// definition is built the first time a type in it is navigated.
    pub fn kubernetes() -> &'static Schema {
        static KUBERNETES: OnceLock<Schema> = OnceLock::new();
        KUBERNETES.get_or_init(|| {
            Schema::parse_kubernetes(KUBERNETES_V1_21_2, kubernetes_index())
                .expect("the embedded Kubernetes schema parses (checked by unit tests)")
        })
    }

    /// Builds a schema from a CRD version's `openAPIV3Schema` (a structural schema).
    ///
    /// Keywords used for validation (`required`, `enum`, `pattern`, bounds, `default`,
    /// `nullable`) and the `x-kubernetes-*` extensions are kept; descriptions, examples,
    /// CEL rules (`x-kubernetes-validations`) and `allOf`/`anyOf`/`oneOf`/`not` are ignored.
    pub fn from_openapi_v3(schema: &Value) -> Result<Schema, SchemaError> {
        if deeper_than(schema, MAX_DEPTH) {
            return Err(SchemaError::Invalid {
                path: "openAPIV3Schema".to_string(),
                message: format!("nested deeper than {MAX_DEPTH} levels"),
            });
        }
        let no_refs = |_: &str| None;
        let mut parser = Parser::new(Dialect::V3, Nodes::default(), &no_refs);
        let root = parser.build(schema, "openAPIV3Schema")?;
        parser.nodes.get_mut(root).resource_root = true;
        Ok(Schema {
            nodes: NodeStore::Arena(parser.nodes),
            root: Some(root),
            resources: Vec::new(),
            by_kind: HashMap::new(),
            object_meta: root,
            plain_string: root,
            builtin: false,
        })
    }

    /// Builds a schema from an OpenAPI v2 (Swagger) document such as `kustomize openapi
    /// fetch` writes: `definitions` whose kinds are named by `x-kubernetes-group-version-kind`,
    /// `$ref`s to `#/definitions/<name>`, merge keys in `x-kubernetes-patch-merge-key` and
    /// `x-kubernetes-patch-strategy`. Kinds the document does not define have no type here
    /// (the built-in Kubernetes definitions are not consulted). Every definition is built up
    /// front, so an unusable one is reported now rather than on first navigation.
    pub fn from_openapi_v2(document: &Value) -> Result<Schema, SchemaError> {
        let invalid = |path: &str, message: &str| SchemaError::Invalid {
            path: path.to_string(),
            message: message.to_string(),
        };
        let definitions = match document.get("definitions") {
            None | Some(Value::Null) => &serde_json::Map::new(),
            Some(Value::Object(m)) => m,
            Some(_) => return Err(invalid("definitions", "must be an object of named schemas")),
        };
        if deeper_than(document, MAX_DEPTH) {
            return Err(invalid(
                "definitions",
                &format!("nested deeper than {MAX_DEPTH} levels"),
            ));
        }
        let mut resources = Vec::new();
        for (name, def) in definitions {
            if !def.is_object() {
                return Err(invalid(&format!("definitions.{name}"), "must be an object"));
            }
            let gvks = match def.get("x-kubernetes-group-version-kind") {
                None | Some(Value::Null) => continue,
                Some(Value::Array(gvks)) => gvks,
                Some(_) => {
                    return Err(invalid(
                        &format!("definitions.{name}.x-kubernetes-group-version-kind"),
                        "must be a list of {group, version, kind}",
                    ))
                }
            };
            for gvk in gvks {
                let part = |k: &str| gvk.get(k).and_then(Value::as_str).unwrap_or("");
                let (group, version, kind) = (part("group"), part("version"), part("kind"));
                if kind.is_empty() || version.is_empty() {
                    continue;
                }
                let api_version = if group.is_empty() {
                    version.to_string()
                } else {
                    format!("{group}/{version}")
                };
                resources.push(serde_json::json!({
                    "apiVersion": api_version, "kind": kind, "definition": name
                }));
            }
        }
        let text =
            serde_json::json!({"definitions": definitions, "resources": resources}).to_string();
        let index = lazy::scan::scan(&text).map_err(|e| {
            invalid(
                "definitions",
                &format!("unreadable at byte {}: {}", e.at, e.message),
            )
        })?;
        let schema = Schema::parse_definitions(Cow::Owned(text), &index, false)?;
        if let NodeStore::Lazy(defs) = &schema.nodes {
            defs.build_all()?;
        }
        Ok(schema)
    }

    fn parse_kubernetes(text: &'static str, index: &RawIndex) -> Result<Schema, SchemaError> {
        Schema::parse_definitions(Cow::Borrowed(text), index, true)
    }

    fn parse_definitions(
        text: Cow<'static, str>,
        index: &RawIndex,
        builtin: bool,
    ) -> Result<Schema, SchemaError> {
        let listed: Value = match &index.resources {
            Some(r) => {
                serde_json::from_str(&text[r.clone()]).map_err(|source| SchemaError::Json {
                    what: if builtin {
                        "embedded Kubernetes v1.21.2 schema resources".to_string()
                    } else {
                        "custom schema resources".to_string()
                    },
                    source,
                })?
            }
            None => Value::Null,
        };
        let definitions = LazyDefinitions::new(text, index, vec![lazy::plain_string()])?;
        let plain_string = definitions.extra(0);
        // Only the built-in schema must have ObjectMeta: resource roots of other schemas
        // borrow the built-in one (see `TypeRef::field`).
        let object_meta = match definitions.find(OBJECT_META) {
            Some(id) => id,
            None if !builtin => plain_string,
            None => {
                return Err(SchemaError::UnresolvedRef {
                    path: "definitions".to_string(),
                    reference: OBJECT_META.to_string(),
                })
            }
        };

        let mut resources = Vec::new();
        for (i, r) in listed
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let field = |name: &str| r.get(name).and_then(Value::as_str);
            let path = || format!("resources[{i}]");
            let (Some(api_version), Some(kind)) = (field("apiVersion"), field("kind")) else {
                return Err(SchemaError::Invalid {
                    path: path(),
                    message: "apiVersion and kind must be strings".to_string(),
                });
            };
            // Scopes are served from the lighter kind index (gvk.rs); still refuse bad data here.
            if let Some(s) = field("scope") {
                Scope::parse(s).ok_or_else(|| SchemaError::Invalid {
                    path: path(),
                    message: format!("unknown scope {s:?}"),
                })?;
            }
            let definition = match field("definition") {
                None => None,
                Some(d) => Some(
                    definitions
                        .find(d)
                        .ok_or_else(|| SchemaError::UnresolvedRef {
                            path: path(),
                            reference: d.to_string(),
                        })?,
                ),
            };
            resources.push(Resource {
                api_version: api_version.to_string(),
                kind: kind.to_string(),
                definition,
            });
        }
        resources.sort_by(|a, b| (&a.api_version, &a.kind).cmp(&(&b.api_version, &b.kind)));
        resources.dedup_by(|a, b| a.api_version == b.api_version && a.kind == b.kind);
        let mut by_kind: HashMap<Box<str>, Vec<usize>> = HashMap::new();
        for (i, r) in resources.iter().enumerate() {
            by_kind.entry(r.kind.as_str().into()).or_default().push(i);
        }
        Ok(Schema {
            nodes: NodeStore::Lazy(definitions),
            root: None,
            resources,
            by_kind,
            object_meta,
            plain_string,
            builtin,
        })
    }

    /// Root type of a built-in kind (on [`Schema::kubernetes`]), `None` for kinds this
    /// schema does not define.
    pub fn for_kind(&self, api_version: &str, kind: &str) -> Option<TypeRef<'_>> {
        self.resource(api_version, kind)?
            .definition
            .map(|id| TypeRef::new(self, id))
    }

    pub(crate) fn resource(&self, api_version: &str, kind: &str) -> Option<&Resource> {
        self.by_kind
            .get(kind)?
            .iter()
            .map(|&i| &self.resources[i])
            .find(|r| r.api_version == api_version)
    }

    /// Root type of a schema built with [`Schema::from_openapi_v3`].
    pub fn root(&self) -> Option<TypeRef<'_>> {
        self.root.map(|id| TypeRef::new(self, id))
    }

    /// A named definition of the built-in schema, e.g.
    /// `io.k8s.api.core.v1.Container`.
    pub fn definition(&self, name: &str) -> Option<TypeRef<'_>> {
        match &self.nodes {
            NodeStore::Lazy(defs) => defs.find(name).map(|id| TypeRef::new(self, id)),
            NodeStore::Arena(_) => None,
        }
    }

    /// The name of definition node `id`.
    pub(crate) fn definition_name(&self, id: NodeId) -> Option<&str> {
        match &self.nodes {
            NodeStore::Lazy(defs) => defs.name_of(id),
            NodeStore::Arena(_) => None,
        }
    }

    /// Whether this is the built-in Kubernetes schema (typed decoding: nulls are zero
    /// values, no defaults).
    pub fn is_builtin(&self) -> bool {
        self.builtin
    }

    pub(crate) fn nodes(&self) -> &NodeStore {
        &self.nodes
    }

    pub(crate) fn object_meta(&'static self) -> TypeRef<'static> {
        TypeRef::new(self, self.object_meta)
    }

    pub(crate) fn plain_string(&'static self) -> TypeRef<'static> {
        TypeRef::new(self, self.plain_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::typeref::{ListType, MapType, Shape};

    fn path<'s>(root: TypeRef<'s>, steps: &[&str]) -> TypeRef<'s> {
        let mut t = root;
        for step in steps {
            t = if *step == "[]" {
                t.items().unwrap_or_else(|| panic!("no items at {step}"))
            } else if *step == "{}" {
                t.values().unwrap_or_else(|| panic!("no values at {step}"))
            } else {
                t.field(step).unwrap_or_else(|| panic!("no field {step}"))
            };
        }
        t
    }

    fn deployment() -> TypeRef<'static> {
        Schema::kubernetes()
            .for_kind("apps/v1", "Deployment")
            .expect("Deployment is built in")
    }

    #[test]
    fn compile_time_index_matches_a_scan() {
        let scanned = lazy::scan::scan(KUBERNETES_V1_21_2).expect("scans");
        assert_eq!(&scanned, kubernetes_index());
    }

    #[test]
    fn every_definition_builds() {
        let NodeStore::Lazy(defs) = &Schema::kubernetes().nodes else {
            panic!("the built-in schema builds definitions on first use")
        };
        defs.build_all().expect("every embedded definition builds");
    }

    #[test]
    fn embedded_schema_parses() {
        let k = Schema::kubernetes();
        let NodeStore::Lazy(defs) = &k.nodes else {
            panic!("the built-in schema builds definitions on first use")
        };
        assert_eq!(defs.len(), 618);
        assert!(k.is_builtin());
        assert!(k.root().is_none());
        assert!(k.definition("io.k8s.api.core.v1.Container").is_some());
        assert!(k.definition("io.k8s.api.core.v1.Nope").is_none());
        let spec = deployment().field("spec").expect("spec");
        assert_eq!(
            spec.definition_name(),
            Some("io.k8s.api.apps.v1.DeploymentSpec")
        );
        let replicas = spec.field("replicas").expect("replicas");
        assert_eq!(replicas.definition_name(), None);
    }

    #[test]
    fn containers_merge_by_name() {
        let containers = path(deployment(), &["spec", "template", "spec", "containers"]);
        assert_eq!(containers.shape(), Shape::Array);
        assert_eq!(containers.patch_merge_key(), Some("name"));
        let s = containers.patch_strategy();
        assert!(s.merge && !s.retain_keys && !s.replace);
        assert_eq!(containers.list_type(), ListType::Map(&["name".to_string()]));
        let container = containers.items().expect("items");
        assert_eq!(container.shape(), Shape::Object);
        assert_eq!(path(container, &["image"]).shape(), Shape::Scalar);
        assert_eq!(path(container, &["env"]).patch_merge_key(), Some("name"));
        assert!(container.field("nope").is_none());
    }

    #[test]
    fn container_ports_keyed_by_port_and_protocol() {
        let ports = path(
            deployment(),
            &["spec", "template", "spec", "containers", "[]", "ports"],
        );
        assert_eq!(ports.patch_merge_key(), Some("containerPort"));
        // The declared list-map keys win over the merge key for server-side apply.
        assert_eq!(
            ports.list_type(),
            ListType::Map(&["containerPort".to_string(), "protocol".to_string()])
        );
        let port = path(ports, &["[]", "containerPort"]);
        assert_eq!(port.json_type(), Some("integer"));
        assert_eq!(port.format(), Some("int32"));
    }

    #[test]
    fn volumes_merge_and_retain_keys() {
        let volumes = path(deployment(), &["spec", "template", "spec", "volumes"]);
        assert_eq!(volumes.patch_merge_key(), Some("name"));
        let s = volumes.patch_strategy();
        assert!(s.merge && s.retain_keys && !s.replace);
        assert_eq!(volumes.list_type(), ListType::Map(&["name".to_string()]));
    }

    #[test]
    fn extensions_on_a_ref_property() {
        let strategy = path(deployment(), &["spec", "strategy"]);
        assert!(strategy.patch_strategy().retain_keys);
        assert_eq!(strategy.shape(), Shape::Object);
        assert!(strategy.field("rollingUpdate").is_some());
        let selector = path(deployment(), &["spec", "selector"]);
        assert_eq!(selector.map_type(), MapType::Atomic);
        assert_eq!(path(selector, &["matchLabels"]).shape(), Shape::Map);
        let pdb = Schema::kubernetes()
            .for_kind("policy/v1", "PodDisruptionBudget")
            .expect("built in");
        assert!(path(pdb, &["spec", "selector"]).patch_strategy().replace);
    }

    #[test]
    fn object_meta_navigable() {
        let meta = path(deployment(), &["metadata"]);
        let labels = path(meta, &["labels"]);
        assert_eq!(labels.shape(), Shape::Map);
        assert_eq!(path(labels, &["{}"]).shape(), Shape::Scalar);
        assert_eq!(path(meta, &["annotations"]).shape(), Shape::Map);
        let finalizers = path(meta, &["finalizers"]);
        assert!(finalizers.patch_strategy().merge);
        assert_eq!(finalizers.list_type(), ListType::Set);
        let owners = path(meta, &["ownerReferences"]);
        assert_eq!(owners.patch_merge_key(), Some("uid"));
        assert_eq!(owners.list_type(), ListType::Map(&["uid".to_string()]));
        assert_eq!(path(meta, &["creationTimestamp"]).shape(), Shape::Scalar);
    }

    #[test]
    fn special_types() {
        let k = Schema::kubernetes();
        let svc = k.for_kind("v1", "Service").expect("built in");
        let target = path(svc, &["spec", "ports", "[]", "targetPort"]);
        assert_eq!(target.shape(), Shape::Scalar);
        assert!(target.is_int_or_string());
        assert_eq!(
            path(svc, &["spec", "ports"]).list_type(),
            ListType::Map(&["port".to_string(), "protocol".to_string()])
        );
        let limits = path(
            deployment(),
            &[
                "spec",
                "template",
                "spec",
                "containers",
                "[]",
                "resources",
                "limits",
            ],
        );
        assert_eq!(limits.shape(), Shape::Map);
        assert_eq!(path(limits, &["{}"]).shape(), Shape::Scalar);
        let revision = k
            .for_kind("apps/v1", "ControllerRevision")
            .expect("built in");
        assert_eq!(path(revision, &["data"]).shape(), Shape::Unknown);
        let crd = k
            .for_kind("apiextensions.k8s.io/v1", "CustomResourceDefinition")
            .expect("built in");
        let props = path(
            crd,
            &[
                "spec",
                "versions",
                "[]",
                "schema",
                "openAPIV3Schema",
                "properties",
            ],
        );
        assert_eq!(props.shape(), Shape::Map);
        assert_eq!(path(props, &["{}", "default"]).shape(), Shape::Unknown);
        let tolerations = path(deployment(), &["spec", "template", "spec", "tolerations"]);
        assert_eq!(tolerations.list_type(), ListType::Atomic);
        let conditions = k
            .for_kind("batch/v1", "Job")
            .map(|j| path(j, &["status", "conditions"]))
            .expect("built in");
        // An explicit list type wins over the patch strategy.
        assert_eq!(conditions.list_type(), ListType::Atomic);
        assert_eq!(conditions.patch_merge_key(), Some("type"));
    }

    #[test]
    fn unknown_kinds() {
        let k = Schema::kubernetes();
        assert!(k.for_kind("apps/v1", "Nope").is_none());
        assert!(k
            .for_kind("source.toolkit.fluxcd.io/v1", "GitRepository")
            .is_none());
        assert!(k.for_kind("v1", "ConfigMap").is_some());
        assert!(k.for_kind("v1", "ConfigMapList").is_some());
    }

    #[test]
    fn crd_schema_navigation() {
        let s = Schema::from_openapi_v3(&serde_json::json!({
            "type": "object",
            "properties": {
                "spec": {
                    "type": "object",
                    "properties": {
                        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                        "values": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                        "port": {"x-kubernetes-int-or-string": true},
                        "ports": {
                            "type": "array",
                            "x-kubernetes-list-type": "map",
                            "x-kubernetes-list-map-keys": ["port", "protocol"],
                            "items": {"type": "object", "properties": {"port": {"type": "integer"}}}
                        },
                        "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                        "selector": {"type": "object", "x-kubernetes-map-type": "atomic",
                            "properties": {"app": {"type": "string"}}},
                        "template": {"type": "object", "x-kubernetes-embedded-resource": true,
                            "x-kubernetes-preserve-unknown-fields": true},
                        "plain": {"type": "array", "items": {"type": "string"}}
                    }
                }
            }
        }))
        .expect("structural");
        let root = s.root().expect("root");
        assert!(!s.is_builtin());
        assert!(s.for_kind("v1", "ConfigMap").is_none());
        let spec = path(root, &["spec"]);
        assert_eq!(path(spec, &["labels"]).shape(), Shape::Map);
        assert_eq!(path(spec, &["labels", "{}"]).shape(), Shape::Scalar);
        assert_eq!(path(spec, &["values"]).shape(), Shape::Unknown);
        assert!(path(spec, &["values"]).preserves_unknown_fields());
        assert_eq!(path(spec, &["port"]).shape(), Shape::Scalar);
        assert!(path(spec, &["port"]).is_int_or_string());
        let keys = ["port".to_string(), "protocol".to_string()];
        assert_eq!(path(spec, &["ports"]).list_type(), ListType::Map(&keys));
        assert_eq!(path(spec, &["tags"]).list_type(), ListType::Set);
        assert_eq!(path(spec, &["plain"]).list_type(), ListType::Atomic);
        assert_eq!(path(spec, &["selector"]).map_type(), MapType::Atomic);
        assert_eq!(path(spec, &["selector"]).shape(), Shape::Object);
        let template = path(spec, &["template"]);
        assert!(template.is_embedded_resource());
        assert_eq!(template.shape(), Shape::Unknown);
        // Resource roots imply ObjectMeta, apiVersion and kind.
        assert_eq!(path(template, &["metadata", "labels"]).shape(), Shape::Map);
        assert_eq!(path(root, &["metadata", "annotations"]).shape(), Shape::Map);
        assert_eq!(path(root, &["kind"]).shape(), Shape::Scalar);
        assert!(spec.field("metadata").is_none());
    }

    #[test]
    fn crd_schema_errors_name_the_place() {
        let cases = [
            (
                serde_json::json!({"type": "object", "properties": {"a": {"type": "strin"}}}),
                "openAPIV3Schema.properties.a.type",
            ),
            (
                serde_json::json!({"properties": {"a": {"$ref": "#/definitions/x"}}}),
                "openAPIV3Schema.properties.a.$ref",
            ),
            (
                serde_json::json!({"properties": {"a": {"type": "string", "pattern": "("}}}),
                "openAPIV3Schema.properties.a.pattern",
            ),
            (
                serde_json::json!({"properties": {"a": {"type": "array", "items": [{}]}}}),
                "openAPIV3Schema.properties.a.items",
            ),
            (
                serde_json::json!({"properties": {"a": {"type": "string", "maxLength": -1}}}),
                "openAPIV3Schema.properties.a.maxLength",
            ),
            (
                serde_json::json!({"properties": {"a": "string"}}),
                "openAPIV3Schema.properties.a",
            ),
        ];
        for (schema, at) in cases {
            let err = Schema::from_openapi_v3(&schema).expect_err("invalid schema");
            assert!(err.to_string().contains(&format!("at {at}:")), "{err}");
        }
    }

    #[test]
    fn custom_v2_schema_gives_kinds_their_merge_keys() {
        let doc = serde_json::json!({"definitions": {
            "x.Foo": {"type": "object",
                "x-kubernetes-group-version-kind": [{"group": "example.com", "version": "v1", "kind": "Foo"}],
                "properties": {"spec": {"$ref": "#/definitions/x.Spec"}}},
            "x.Spec": {"type": "object", "properties": {"items": {"type": "array",
                "items": {"type": "object"},
                "x-kubernetes-patch-merge-key": "id", "x-kubernetes-patch-strategy": "merge"}}}
        }});
        let s = Schema::from_openapi_v2(&doc).expect("valid");
        assert!(!s.is_builtin());
        let items = s
            .for_kind("example.com/v1", "Foo")
            .and_then(|t| t.field("spec"))
            .and_then(|t| t.field("items"))
            .expect("navigable");
        assert_eq!(items.patch_merge_key(), Some("id"));
        assert!(items.patch_strategy().merge);
        // The built-in kinds are not part of a custom schema.
        assert!(s.for_kind("apps/v1", "Deployment").is_none());
    }

    #[test]
    fn custom_v2_schema_errors() {
        for doc in [
            serde_json::json!({"definitions": [1]}),
            serde_json::json!({"definitions": {"a": 1}}),
            serde_json::json!({"definitions": {"a": {"properties": {"b": {"$ref": "#/definitions/none"}}}}}),
        ] {
            assert!(Schema::from_openapi_v2(&doc).is_err(), "{doc}");
        }
    }
}
