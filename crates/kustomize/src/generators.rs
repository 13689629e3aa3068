//! configMapGenerator and secretGenerator: key/value sources (literals, files, env files) into objects.

use base64::Engine;
use serde_json::{Map, Value};

use crate::loader::{LoadError, Loader};
use crate::resource::{Behavior, Resource};

/// Why a generator could not produce its object.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GeneratorError {
    /// A malformed generator entry.
    #[error("{kind} generator {name:?}: {message}")]
    Invalid {
        /// ConfigMap or Secret.
        kind: &'static str,
        /// Generator name.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A source file could not be read.
    #[error("{kind} generator {name:?}: {source}")]
    Load {
        /// ConfigMap or Secret.
        kind: &'static str,
        /// Generator name.
        name: String,
        /// The load error.
        source: LoadError,
    },
}

/// `generatorOptions` and per-generator `options`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GeneratorOptions {
    /// Labels to add.
    pub labels: Map<String, Value>,
    /// Annotations to add.
    pub annotations: Map<String, Value>,
    /// No hash suffix.
    pub disable_name_suffix_hash: bool,
    /// `immutable: true`.
    pub immutable: bool,
}

impl GeneratorOptions {
    /// Reads an options mapping.
    pub fn from_value(v: &Value) -> GeneratorOptions {
        let map = |k: &str| {
            v.get(k)
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default()
        };
        GeneratorOptions {
            labels: map("labels"),
            annotations: map("annotations"),
            disable_name_suffix_hash: v
                .get("disableNameSuffixHash")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            immutable: v.get("immutable").and_then(Value::as_bool).unwrap_or(false),
        }
    }

    /// Local options win over the kustomization-wide ones; booleans are or-ed.
    pub fn merged_with_global(mut self, global: &GeneratorOptions) -> GeneratorOptions {
        for (k, v) in &global.labels {
            self.labels.entry(k.clone()).or_insert_with(|| v.clone());
        }
        for (k, v) in &global.annotations {
            self.annotations
                .entry(k.clone())
                .or_insert_with(|| v.clone());
        }
        self.disable_name_suffix_hash |= global.disable_name_suffix_hash;
        self.immutable |= global.immutable;
        self
    }
}

fn str_list(v: &Value, k: &str) -> Vec<String> {
    v.get(k)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|x| match x {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn remove_quotes(s: &str) -> &str {
    let b = s.as_bytes();
    if b.len() >= 2 && b[0] == b[b.len() - 1] && (b[0] == b'"' || b[0] == b'\'') {
        &s[1..s.len() - 1]
    } else {
        s
    }
}

/// Generates one ConfigMap (`is_secret == false`) or Secret from a generator entry.
pub fn generate(
    loader: &Loader,
    entry: &Value,
    is_secret: bool,
    global: &GeneratorOptions,
) -> Result<Resource, GeneratorError> {
    let kind: &'static str = if is_secret { "Secret" } else { "ConfigMap" };
    let name = entry
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let invalid = |message: String| GeneratorError::Invalid {
        kind,
        name: name.clone(),
        message,
    };
    if name.is_empty() {
        return Err(invalid("a generator needs a name".into()));
    }
    let behavior_s = entry.get("behavior").and_then(Value::as_str).unwrap_or("");
    let behavior = Behavior::parse(behavior_s)
        .ok_or_else(|| invalid(format!("unknown behavior {behavior_s:?}")))?;
    let mut pairs: Vec<(String, Vec<u8>)> = Vec::new();
    for env in str_list(entry, "envs") {
        let text = loader.read(&env).map_err(|source| GeneratorError::Load {
            kind,
            name: name.clone(),
            source,
        })?;
        let text = String::from_utf8(text)
            .map_err(|_| invalid(format!("env file {env} has invalid utf8 bytes")))?;
        for (i, line) in text.split('\n').enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let line = if i == 0 {
                line.strip_prefix('\u{feff}').unwrap_or(line)
            } else {
                line
            };
            let line = line.trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (k, v) = match line.split_once('=') {
                Some((k, v)) => (k.to_string(), v.to_string()),
                None => (line.to_string(), std::env::var(line).unwrap_or_default()),
            };
            pairs.push((k, v.into_bytes()));
        }
    }
    for lit in str_list(entry, "literals") {
        if lit.starts_with('=') {
            return Err(invalid(format!(
                "invalid literal source {lit}, expected key=value"
            )));
        }
        let Some((k, v)) = lit.split_once('=') else {
            return Err(invalid(format!(
                "invalid literal source {lit}, expected key=value"
            )));
        };
        pairs.push((k.to_string(), remove_quotes(v).as_bytes().to_vec()));
    }
    for f in str_list(entry, "files") {
        let (key, path) = match f.split_once('=') {
            Some((k, p)) => {
                if k.is_empty() || p.is_empty() {
                    return Err(invalid(format!(
                        "key or file path is missing from file source {f:?}"
                    )));
                }
                (k.to_string(), p.to_string())
            }
            None => {
                let base = f.rsplit('/').next().unwrap_or(&f).to_string();
                (base, f.clone())
            }
        };
        if loader.is_dir(&path) {
            return Err(invalid(format!(
                "file sources: [{f}]: directories are not supported"
            )));
        }
        let content = loader.read(&path).map_err(|source| GeneratorError::Load {
            kind,
            name: name.clone(),
            source,
        })?;
        pairs.push((key, content));
    }
    let mut data = Map::new();
    let mut binary = Map::new();
    let b64 = base64::engine::general_purpose::STANDARD;
    for (k, v) in pairs {
        if k.is_empty()
            || !k
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' || c == ' ')
        {
            return Err(invalid(format!("{k:?} is not a valid key name")));
        }
        if data.contains_key(&k) || binary.contains_key(&k) {
            return Err(invalid(format!(
                "{} {name} illegally repeats the key `{k}`",
                kind.to_lowercase()
            )));
        }
        if is_secret {
            data.insert(k, Value::String(b64.encode(&v)));
        } else {
            match String::from_utf8(v) {
                Ok(s) => {
                    data.insert(k, Value::String(s));
                }
                Err(e) => {
                    binary.insert(k, Value::String(b64.encode(e.as_bytes())));
                }
            }
        }
    }
    let opts = GeneratorOptions::from_value(entry.get("options").unwrap_or(&Value::Null))
        .merged_with_global(global);
    let mut md = Map::new();
    md.insert("name".into(), Value::String(name.clone()));
    if let Some(ns) = entry.get("namespace").and_then(Value::as_str) {
        if !ns.is_empty() {
            md.insert("namespace".into(), Value::String(ns.into()));
        }
    }
    if !opts.labels.is_empty() {
        md.insert("labels".into(), Value::Object(opts.labels.clone()));
    }
    if !opts.annotations.is_empty() {
        md.insert(
            "annotations".into(),
            Value::Object(opts.annotations.clone()),
        );
    }
    let mut obj = Map::new();
    obj.insert("apiVersion".into(), Value::String("v1".into()));
    obj.insert("kind".into(), Value::String(kind.into()));
    obj.insert("metadata".into(), Value::Object(md));
    if !data.is_empty() {
        obj.insert("data".into(), Value::Object(data));
    }
    if !binary.is_empty() {
        obj.insert("binaryData".into(), Value::Object(binary));
    }
    if is_secret {
        let t = entry.get("type").and_then(Value::as_str).unwrap_or("");
        let t = if t.is_empty() { "Opaque" } else { t };
        obj.insert("type".into(), Value::String(t.into()));
    }
    if opts.immutable {
        obj.insert("immutable".into(), Value::Bool(true));
    }
    let mut r = Resource::new(Value::Object(obj));
    r.behavior = behavior;
    r.needs_hash = !opts.disable_name_suffix_hash;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn literals_envs_files() {
        let t = tempfile::tempdir().expect("tempdir");
        std::fs::write(t.path().join("e.env"), "A=1\n# c\n\n  B = x \n").expect("write");
        let l = Loader::new(t.path(), Default::default(), None).expect("loader");
        let r = generate(
            &l,
            &json!({"name": "c", "envs": ["e.env"], "literals": ["x='q'"], "files": ["k=e.env"]}),
            false,
            &GeneratorOptions::default(),
        )
        .expect("generate");
        assert_eq!(
            r.obj["data"],
            json!({"A": "1", "B ": " x ", "x": "q", "k": "A=1\n# c\n\n  B = x \n"})
        );
        assert!(r.needs_hash);
        let dup = generate(
            &l,
            &json!({"name": "c", "literals": ["a=1", "a=2"]}),
            true,
            &GeneratorOptions::default(),
        );
        assert!(dup.is_err());
    }
}
