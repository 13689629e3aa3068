//! `vars:` expansion at the top: `$(NAME)` in the var-reference fields becomes the value read from the bound object.

use std::collections::HashMap;

use serde_json::Value;

use crate::fieldspec::{CreateKind, FieldSpec};
use crate::resource::Resource;
use crate::transform::{apply_specs, replacements, TransformError};

/// Expands every var in every var-reference field.
pub fn resolve(
    list: &mut [Resource],
    vars: &[Value],
    specs: &[FieldSpec],
) -> Result<(), TransformError> {
    if vars.is_empty() {
        return Ok(());
    }
    let mut values: HashMap<String, Value> = HashMap::new();
    for v in vars {
        let name = v
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let fp = v
            .get("fieldref")
            .and_then(|f| f.get("fieldpath"))
            .and_then(Value::as_str)
            .unwrap_or("metadata.name");
        let Some(r) = list.iter().find(|r| r.ref_var_names.contains(&name)) else {
            return Err(TransformError::Invalid(format!(
                "var '{name}' cannot be mapped to a field in the set of known resources"
            )));
        };
        let mut cur = &r.obj;
        for seg in replacements::dotted(fp) {
            cur = match cur {
                Value::Object(m) => m.get(&seg).unwrap_or(&Value::Null),
                Value::Array(a) => seg
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| a.get(i))
                    .unwrap_or(&Value::Null),
                _ => &Value::Null,
            };
        }
        if cur.is_null() {
            return Err(TransformError::Invalid(format!(
                "field specified in var '{name}' not found in corresponding resource"
            )));
        }
        values.insert(name, cur.clone());
    }
    for r in list.iter_mut() {
        apply_specs(r, specs, CreateKind::None, &mut |v: &mut Value| {
            expand(v, &values);
            Ok(())
        })?;
    }
    Ok(())
}

fn expand(v: &mut Value, values: &HashMap<String, Value>) {
    match v {
        Value::String(s) => {
            if let Some(name) = s.strip_prefix("$(").and_then(|x| x.strip_suffix(')')) {
                if let Some(val) = values.get(name) {
                    if !val.is_string() && !name.contains("$(") {
                        *v = val.clone();
                        return;
                    }
                }
            }
            *s = expand_str(s, values);
        }
        Value::Array(a) => a.iter_mut().for_each(|x| expand(x, values)),
        Value::Object(m) => m.values_mut().for_each(|x| expand(x, values)),
        _ => {}
    }
}

fn expand_str(s: &str, values: &HashMap<String, Value>) -> String {
    let mut out = String::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'$' && i + 1 < b.len() {
            if b[i + 1] == b'$' {
                out.push('$');
                i += 2;
                continue;
            }
            if b[i + 1] == b'(' {
                if let Some(end) = s[i + 2..].find(')') {
                    let name = &s[i + 2..i + 2 + end];
                    if let Some(val) = values.get(name) {
                        match val {
                            Value::String(x) => out.push_str(x),
                            other => out.push_str(&other.to_string()),
                        }
                        i += 3 + end;
                        continue;
                    }
                }
            }
        }
        let ch = s[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}
