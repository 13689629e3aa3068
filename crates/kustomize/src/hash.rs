//! kustomize's content hash for generated ConfigMaps and Secrets (the `-xxxxxxxxxx` name suffix).
//!
//! Facts checked against kubectl: the hash is sha256 over Go's `json.Marshal` of a small map
//! (`kind`, `name`, `data`, plus `binaryData` / `type` / `stringData`), keys sorted, `<`, `>`, `&`
//! escaped as `\u003c` etc.; `name` is always empty (kustomize looks the name up under a field
//! literally called `metadata/name`); the first ten hex digits are kept with 0,1,3,a,e mapped to
//! g,h,k,m,t so the suffix never looks like a number or a word.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Writes `v` as Go's `encoding/json` would (sorted keys, HTML-safe escapes).
pub fn go_json(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => go_json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json(item, out);
            }
            out.push(']');
        }
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_json_string(k, out);
                out.push(':');
                go_json(&m[k.as_str()], out);
            }
            out.push('}');
        }
    }
}

fn go_json_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn encode(hex: &str) -> String {
    hex.chars()
        .take(10)
        .map(|c| match c {
            '0' => 'g',
            '1' => 'h',
            '3' => 'k',
            'a' => 'm',
            'e' => 't',
            c => c,
        })
        .collect()
}

fn field_or_empty(obj: &Value, k: &str) -> Value {
    match obj.get(k) {
        None => Value::String(String::new()),
        Some(v) => v.clone(),
    }
}

/// The suffix kustomize appends to a generated object's name.
pub fn name_hash(obj: &Value) -> String {
    let kind = obj.get("kind").and_then(Value::as_str).unwrap_or("");
    let mut m = Map::new();
    let encoded = match kind {
        "ConfigMap" => {
            m.insert("kind".into(), Value::String("ConfigMap".into()));
            m.insert("name".into(), Value::String(String::new()));
            m.insert("data".into(), field_or_empty(obj, "data"));
            if let Some(bd @ Value::Object(_)) = obj.get("binaryData") {
                m.insert("binaryData".into(), bd.clone());
            }
            Value::Object(m)
        }
        "Secret" => {
            m.insert("kind".into(), Value::String("Secret".into()));
            m.insert("name".into(), Value::String(String::new()));
            m.insert("type".into(), field_or_empty(obj, "type"));
            m.insert("data".into(), field_or_empty(obj, "data"));
            if let Some(sd @ Value::Object(_)) = obj.get("stringData") {
                m.insert("stringData".into(), sd.clone());
            }
            Value::Object(m)
        }
        _ => obj.clone(),
    };
    let mut s = String::new();
    go_json(&encoded, &mut s);
    let digest = Sha256::digest(s.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    encode(&hex)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Expected suffixes produced by `kubectl kustomize` (kustomize v5.5.0).
    #[test]
    fn matches_kubectl() {
        let s = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
            "type": "Opaque", "data": {"a": "MQ=="}});
        assert_eq!(name_hash(&s), "25khgmg44c");
        let c = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"a": "1", "b": "<&>", "x": "y"}});
        assert_eq!(name_hash(&c), "bd47btfkkb");
    }
}
