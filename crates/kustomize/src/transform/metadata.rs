//! Labels and annotations: string entries set into every map the field specs reach.

use serde_json::{Map, Value};

use super::{apply_specs, TransformError};
use crate::fieldspec::{CreateKind, FieldSpec};
use crate::resource::Resource;

/// Sets every entry of `entries` in the maps `specs` select (creating them where allowed).
pub fn run(
    resources: &mut [Resource],
    entries: &Map<String, Value>,
    specs: &[FieldSpec],
) -> Result<(), TransformError> {
    if entries.is_empty() {
        return Ok(());
    }
    let mut keys: Vec<&String> = entries.keys().collect();
    keys.sort();
    for r in resources.iter_mut() {
        let object = super::describe(r);
        for k in &keys {
            let val = match &entries[k.as_str()] {
                Value::String(s) => Value::String(s.clone()),
                Value::Null => Value::String(String::new()),
                other => Value::String(other.to_string()),
            };
            apply_specs(
                r,
                specs,
                CreateKind::Map,
                &mut |node: &mut Value| match node {
                    Value::Object(m) => {
                        m.insert((*k).clone(), val.clone());
                        Ok(())
                    }
                    Value::Null => {
                        let mut m = Map::new();
                        m.insert((*k).clone(), val.clone());
                        *node = Value::Object(m);
                        Ok(())
                    }
                    _ => Err(TransformError::Invalid(format!(
                        "{object}: wrong node kind: expected MappingNode to set {k}"
                    ))),
                },
            )?;
        }
    }
    Ok(())
}
