//! Turning YAML text into resources: documents, `*List` expansion, kustomize's validation of each object.

use serde_json::Value;

use crate::resource::Resource;

/// Why a resource file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// Not valid YAML (the message names line and column).
    #[error("MalformedYAMLError: {message} in File: {file}")]
    Yaml {
        /// The file.
        file: String,
        /// Parser message.
        message: String,
    },
    /// A document is not a Kubernetes object.
    #[error("{file}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
}

/// A value as YAML text, for error messages.
pub(crate) fn yaml_text(v: &Value) -> String {
    flotilla_yaml::to_string(v)
}

/// Parses YAML documents (any text) into values, naming `file` in errors.
pub fn parse_docs(text: &str, file: &str) -> Result<Vec<Value>, ReadError> {
    flotilla_yaml::from_str_multi(text).map_err(|e| ReadError::Yaml {
        file: file.to_string(),
        message: e.to_string(),
    })
}

/// Reads the objects of a resource file (kustomize's `RNodesFromBytes`).
pub fn resources_from_text(text: &str, file: &str) -> Result<Vec<Resource>, ReadError> {
    let docs = parse_docs(text, file)?;
    resources_from_values(docs, file)
}

/// Validates and expands already parsed documents.
pub fn resources_from_values(docs: Vec<Value>, file: &str) -> Result<Vec<Resource>, ReadError> {
    let invalid = |message: String| ReadError::Invalid {
        file: file.to_string(),
        message,
    };
    let mut nodes: std::collections::VecDeque<Value> = std::collections::VecDeque::new();
    for d in docs {
        match &d {
            Value::Null => continue,
            Value::Object(m) if m.is_empty() => continue,
            Value::Object(_) => {}
            _ => return Err(invalid("wrong node kind: expected MappingNode".into())),
        }
        let kind = d.get("kind").and_then(Value::as_str).unwrap_or("");
        if kind.is_empty() {
            return Err(invalid(format!("missing kind in object {}", short(&d))));
        }
        if !kind.ends_with("List") {
            let name = d
                .get("metadata")
                .and_then(|m| m.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("");
            if name.is_empty() {
                return Err(invalid(format!(
                    "missing metadata.name in object {}",
                    short(&d)
                )));
            }
        }
        nodes.push_back(d);
    }
    let mut out = Vec::new();
    while let Some(n) = nodes.pop_front() {
        let kind = n.get("kind").and_then(Value::as_str).unwrap_or("");
        if !kind.ends_with("List") {
            out.push(Resource::new(n));
            continue;
        }
        match n.get("items") {
            None => out.push(Resource::new(n)),
            Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for i in items {
                    if !i.is_object() {
                        return Err(invalid(format!("expected object items in {kind}")));
                    }
                    nodes.push_back(i.clone());
                }
            }
            Some(_) => return Err(invalid(format!("expected array in {kind}/items"))),
        }
    }
    Ok(out)
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 200 {
        format!(
            "{}...",
            &s[..s
                .char_indices()
                .take(200)
                .last()
                .map(|(i, _)| i)
                .unwrap_or(0)]
        )
    } else {
        s
    }
}
