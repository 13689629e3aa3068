//! The schema strategic merges use: the built-in Kubernetes v1.21.2 one, or the custom one an `openapi:` field names (one per build, as kustomize keeps it).

use std::sync::Arc;

use flotilla_schema::Schema;
use serde_json::Value;

use crate::loader::{LoadError, Loader};
use crate::resource::Resource;

/// The only Kubernetes schema version built in (kustomize v5.5.0's).
pub const BUILTIN_VERSION: &str = "v1.21.2";

/// Why the `openapi:` field could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenApiError {
    /// `version:` names a schema that is not built in.
    #[error("{file}: the specified OpenAPI version is not built in ('{version}'; only {BUILTIN_VERSION} is): remove 'openapi.version' or give the schema with 'openapi.path'")]
    UnknownVersion {
        /// The kustomization file.
        file: String,
        /// The version asked for.
        version: String,
    },
    /// Both `version:` and `path:` are set.
    #[error("{file}: builtin version and custom schema provided, cannot use both: keep either 'openapi.version' or 'openapi.path'")]
    Both {
        /// The kustomization file.
        file: String,
    },
    /// The schema file could not be read.
    #[error("reading the openapi schema: {0}")]
    Load(#[from] LoadError),
    /// The schema file is not a usable OpenAPI v2 document (reported when the build needs it,
    /// as kustomize parses it only then).
    #[error("invalid schema file '{file}': {message}: write a Swagger 2.0 document with 'definitions' (as 'kustomize openapi fetch' does)")]
    Invalid {
        /// The schema file.
        file: String,
        /// What is wrong.
        message: String,
    },
}

/// The build's current schema choice. kustomize keeps one global setting: the top
/// kustomization's `openapi:` always applies; a base's or component's only while nothing has
/// been set yet, and from the moment its directory is entered.
#[derive(Debug, Clone, Default)]
pub struct OpenApi {
    custom: Option<Arc<Result<Schema, OpenApiError>>>,
    set: bool,
}

impl OpenApi {
    /// Takes a kustomization's `openapi:` field into account; `top` for the root one.
    pub fn enter(
        &mut self,
        loader: &Loader,
        file: &str,
        field: &Value,
        top: bool,
    ) -> Result<(), OpenApiError> {
        if self.set && !top {
            return Ok(());
        }
        let Some(m) = field.as_object() else {
            return Ok(());
        };
        let text = |k: &str| m.get(k).map(|v| v.as_str().unwrap_or_default().to_string());
        match (text("version"), text("path")) {
            (Some(version), None) => {
                if !version.is_empty() && version != BUILTIN_VERSION {
                    return Err(OpenApiError::UnknownVersion {
                        file: file.to_string(),
                        version,
                    });
                }
                self.custom = None;
                self.set = !version.is_empty();
            }
            (None, Some(path)) => {
                let bytes = loader.read_string(&path)?;
                let shown = loader.root().join(&path).display().to_string();
                self.custom = Some(Arc::new(parse(&bytes, &shown)));
                self.set = true;
            }
            (Some(_), Some(_)) => {
                return Err(OpenApiError::Both {
                    file: file.to_string(),
                })
            }
            (None, None) => {}
        }
        Ok(())
    }

    /// The schema in force; an unusable custom schema fails here, when a merge needs it.
    pub fn schema(&self) -> Result<&Schema, OpenApiError> {
        match self.custom.as_deref() {
            None => Ok(Schema::kubernetes()),
            Some(Ok(s)) => Ok(s),
            Some(Err(e)) => Err(e.clone()),
        }
    }

    /// kustomize also reads the schema to learn the scope of kinds that are not built in, so
    /// an unusable custom schema fails any build that holds such a kind.
    pub fn check_kinds(&self, list: &[Resource]) -> Result<(), OpenApiError> {
        if let Some(Err(e)) = self.custom.as_deref() {
            if list
                .iter()
                .any(|r| flotilla_schema::builtin_scope(r.api_version(), r.kind()).is_none())
            {
                return Err(e.clone());
            }
        }
        Ok(())
    }
}

/// Reads a JSON or YAML OpenAPI v2 document.
fn parse(text: &str, file: &str) -> Result<Schema, OpenApiError> {
    let invalid = |message: String| OpenApiError::Invalid {
        file: file.to_string(),
        message,
    };
    let doc: Value = flotilla_yaml::from_str(text).map_err(|e| invalid(e.to_string()))?;
    if !doc.is_object() {
        return Err(invalid("the document is not a mapping".to_string()));
    }
    Schema::from_openapi_v2(&doc).map_err(|e| invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_schemas_name_the_file() {
        for text in ["{\"definitions\": [1]}", "definitions: {x: [", "- a\n"] {
            let e = parse(text, "dir/s.json").expect_err(text);
            assert!(e.to_string().contains("'dir/s.json'"), "{e}");
        }
    }

    #[test]
    fn yaml_and_json_schemas_are_read() {
        let yaml = "definitions:\n  a.Foo:\n    type: object\n    x-kubernetes-group-version-kind:\n    - {group: g, version: v1, kind: Foo}\n";
        let s = parse(yaml, "s.yaml").expect("valid");
        assert!(s.for_kind("g/v1", "Foo").is_some());
        assert!(s.for_kind("apps/v1", "Deployment").is_none());
    }
}
