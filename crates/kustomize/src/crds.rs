//! `crds:`: field specs read from Go OpenAPI definitions (kustomize's legacy CRD support): name references, prefixes, labels and annotations of custom kinds.
//!
//! kustomize reads each file as a map of Go type name → `{Schema, Dependencies}` (what
//! kube-openapi generates), not as a `CustomResourceDefinition`. A definition whose
//! properties include `apiVersion`, `kind` and `metadata` is a kind (named by the type name's
//! last dotted part; any group and version). Its properties, and those of definitions reached
//! through `$ref` (the type name itself), may carry:
//! `x-kubernetes-object-ref-api-version` + `x-kubernetes-object-ref-kind` (+ optional
//! `x-kubernetes-object-ref-name-key`, default `name`): the property holds a reference to
//! an object of that kind, followed when it is renamed; `x-kubernetes-annotation`,
//! `x-kubernetes-label-selector`, `x-kubernetes-identity`: the property gets common
//! annotations, common labels, the name prefix. Merge keys in these files are not used by
//! strategic merges (kustomize ignores them too).

use serde_json::{Map, Value};

use crate::fieldspec::{FieldSpec, FieldSpecError, NameBackRef, TransformerConfig};
use crate::resource::Gvk;

/// Deeper `$ref` chains are refused (kustomize recurses without limit).
const MAX_REF_DEPTH: usize = 64;

/// Why a `crds:` file could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CrdError {
    /// The file could not be read.
    #[error("{0}")]
    Load(#[from] crate::loader::LoadError),
    /// The file is not a map of OpenAPI definitions.
    #[error("unable to parse open API definition from '{file}': {message} (expected a map of Go type name to {{Schema, Dependencies}} as kube-openapi generates, not a CustomResourceDefinition)")]
    Parse {
        /// The file as listed.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// Field specs derived from the file conflict with others.
    #[error("'{file}': {source}")]
    Config {
        /// The file as listed.
        file: String,
        /// The conflict.
        source: FieldSpecError,
    },
}

/// Field specs described by one `crds:` file's text.
pub fn config_from_text(text: &str, file: &str) -> Result<TransformerConfig, CrdError> {
    let parse = |message: String| CrdError::Parse {
        file: file.to_string(),
        message,
    };
    if text.trim().is_empty() {
        return Err(parse("the file is empty".to_string()));
    }
    let doc: Value = flotilla_yaml::from_str(text).map_err(|e| parse(e.to_string()))?;
    let Some(defs) = doc.as_object() else {
        return Err(parse("the document is not a mapping".to_string()));
    };
    // Shape errors fail the whole file, as Go's typed decoding does.
    let mut schemas: Map<String, Value> = Map::new();
    for (name, def) in defs {
        let Some(d) = def.as_object() else {
            return Err(parse(format!("'{name}' is not a mapping")));
        };
        let schema = d
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("schema"))
            .map(|(_, v)| v.clone())
            .unwrap_or(Value::Null);
        if !schema.is_object() && !schema.is_null() {
            return Err(parse(format!("'{name}.Schema' is not a mapping")));
        }
        if let Some(props) = schema.get("properties") {
            let ok = props.is_null()
                || props
                    .as_object()
                    .is_some_and(|m| m.values().all(Value::is_object));
            if !ok {
                return Err(parse(format!(
                    "'{name}.Schema.properties' is not a mapping of schemas"
                )));
            }
        }
        schemas.insert(name.clone(), schema);
    }
    let config = |source| CrdError::Config {
        file: file.to_string(),
        source,
    };
    let mut tc = TransformerConfig::default();
    for (name, schema) in &schemas {
        let props = properties(schema);
        if !["kind", "apiVersion", "metadata"]
            .iter()
            .all(|k| props.is_some_and(|p| p.contains_key(*k)))
        {
            continue;
        }
        let gvk = Gvk {
            kind: name.rsplit('.').next().unwrap_or(name).to_string(),
            ..Gvk::default()
        };
        let mut one = TransformerConfig::default();
        collect(&mut one, &gvk, &schemas, name, &mut Vec::new(), 0).map_err(config)?;
        tc.merge(&one).map_err(config)?;
    }
    Ok(tc)
}

fn properties(schema: &Value) -> Option<&Map<String, Value>> {
    schema.get("properties").and_then(Value::as_object)
}

/// A string-valued extension (go-openapi lower-cases extension names).
fn extension<'v>(property: &'v Value, name: &str) -> Option<&'v str> {
    property
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .and_then(|(_, v)| v.as_str())
}

fn spec(gvk: &Gvk, path: &[String]) -> FieldSpec {
    FieldSpec {
        gvk: gvk.clone(),
        path: path.join("/"),
        create: false,
    }
}

fn collect(
    tc: &mut TransformerConfig,
    gvk: &Gvk,
    schemas: &Map<String, Value>,
    type_name: &str,
    path: &mut Vec<String>,
    depth: usize,
) -> Result<(), FieldSpecError> {
    if depth > MAX_REF_DEPTH {
        return Err(FieldSpecError::Invalid(format!(
            "$ref chain through '{type_name}' is deeper than {MAX_REF_DEPTH} (a cycle?)"
        )));
    }
    let Some(props) = schemas.get(type_name).and_then(properties) else {
        return Ok(());
    };
    for (prop, property) in props {
        path.push(prop.clone());
        let mut one = TransformerConfig::default();
        if extension(property, "x-kubernetes-annotation").is_some() {
            one.common_annotations.push(spec(gvk, path));
        }
        if extension(property, "x-kubernetes-label-selector").is_some() {
            one.common_labels.push(spec(gvk, path));
        }
        if extension(property, "x-kubernetes-identity").is_some() {
            one.name_prefix.push(spec(gvk, path));
        }
        if let (Some(version), Some(kind)) = (
            extension(property, "x-kubernetes-object-ref-api-version"),
            extension(property, "x-kubernetes-object-ref-kind"),
        ) {
            let key = extension(property, "x-kubernetes-object-ref-name-key").unwrap_or("name");
            let mut p = path.clone();
            p.push(key.to_string());
            one.name_reference.push(NameBackRef {
                gvk: Gvk {
                    version: version.to_string(),
                    kind: kind.to_string(),
                    ..Gvk::default()
                },
                referrers: vec![spec(gvk, &p)],
            });
        }
        tc.merge(&one)?;
        if let Some(r) = property.get("$ref").and_then(Value::as_str) {
            if !r.is_empty() {
                collect(tc, gvk, schemas, r, path, depth + 1)?;
            }
        }
        path.pop();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_object_refs_through_refs() {
        let text = r#"{
          "a.v1.Foo": {"Schema": {"properties": {"apiVersion": {}, "kind": {}, "metadata": {},
            "spec": {"$ref": "a.v1.FooSpec"}}}},
          "a.v1.FooSpec": {"Schema": {"properties": {"secret": {"$ref": "a.v1.Ref",
            "x-kubernetes-object-ref-api-version": "v1", "x-kubernetes-object-ref-kind": "Secret"}}}}
        }"#;
        let tc = config_from_text(text, "c.json").expect("parses");
        let br = &tc.name_reference[0];
        assert_eq!(
            (br.gvk.version.as_str(), br.gvk.kind.as_str()),
            ("v1", "Secret")
        );
        assert_eq!(br.referrers[0].path, "spec/secret/name");
        assert_eq!(br.referrers[0].gvk.kind, "Foo");
    }

    #[test]
    fn a_custom_resource_definition_is_refused() {
        let text = "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n";
        let e = config_from_text(text, "crd.yaml").expect_err("not definitions");
        assert!(e.to_string().contains("'crd.yaml'"), "{e}");
    }

    #[test]
    fn ref_cycles_end_in_an_error() {
        let text = r#"{"a.Foo": {"Schema": {"properties": {"apiVersion": {}, "kind": {}, "metadata": {},
            "spec": {"$ref": "a.Foo"}}}}}"#;
        assert!(config_from_text(text, "c.json").is_err());
    }
}
