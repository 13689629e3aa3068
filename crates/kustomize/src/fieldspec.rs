//! Field specs (which fields of which kinds a transformer touches), kustomize's default sets, and the walk that visits them.
//!
//! The defaults are kustomize v5.5.0's own files, embedded from `data/` so they stay data.

use serde_json::{Map, Value};

use crate::resource::Gvk;

/// Why a field spec or configuration could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldSpecError {
    /// A configuration document is not shaped as kustomize expects.
    #[error("invalid transformer configuration: {0}")]
    Invalid(String),
    /// Two field specs name the same field with different `create` settings.
    #[error("conflicting fieldspecs: path {path:?} for {gvk} is given both create: true and create: false")]
    Conflict {
        /// The field path.
        path: String,
        /// The GVK selector.
        gvk: String,
    },
    /// The path runs into a scalar where a mapping or sequence is needed.
    #[error("in field {path:?}: expected sequence or mapping node at {at:?}")]
    NotTraversable {
        /// The whole path.
        path: String,
        /// The segment that hit a scalar.
        at: String,
    },
    /// The YAML of an embedded default or a configuration file did not parse.
    #[error("{0}")]
    Yaml(String),
}

/// One field of one kind (selector; empty parts match anything).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldSpec {
    /// Which objects.
    pub gvk: Gvk,
    /// Slash-separated path; `[]` marks a sequence; sequences are walked implicitly.
    pub path: String,
    /// Create the field when missing.
    pub create: bool,
}

impl FieldSpec {
    /// A spec for every kind.
    pub fn any(path: &str, create: bool) -> FieldSpec {
        FieldSpec {
            gvk: Gvk::default(),
            path: path.into(),
            create,
        }
    }

    /// Reads `{group, version, kind, path, create}`.
    pub fn from_value(v: &Value) -> Result<FieldSpec, FieldSpecError> {
        let m = v
            .as_object()
            .ok_or_else(|| FieldSpecError::Invalid(format!("field spec must be a mapping: {v}")))?;
        let s = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        Ok(FieldSpec {
            gvk: Gvk {
                group: s("group"),
                version: s("version"),
                kind: s("kind"),
            },
            path: s("path"),
            create: m.get("create").and_then(Value::as_bool).unwrap_or(false),
        })
    }

    /// Path split into segments (slashes inside `[...]` do not split).
    pub fn segments(&self) -> Vec<String> {
        split_path(&self.path)
    }
}

/// Splits a field path on `/`, keeping bracketed parts whole.
pub fn split_path(path: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0usize;
    for c in path.chars() {
        match c {
            '[' => {
                depth += 1;
                cur.push(c);
            }
            ']' => {
                depth = depth.saturating_sub(1);
                cur.push(c);
            }
            '/' if depth == 0 => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// Adds `fs` unless an equal one is present; the same field with another `create` is an error.
pub fn merge_one(list: &mut Vec<FieldSpec>, fs: FieldSpec) -> Result<(), FieldSpecError> {
    for existing in list.iter() {
        if existing.gvk == fs.gvk && existing.path == fs.path {
            if existing.create != fs.create {
                return Err(FieldSpecError::Conflict {
                    path: fs.path,
                    gvk: fs.gvk.to_string(),
                });
            }
            return Ok(());
        }
    }
    list.push(fs);
    Ok(())
}

/// Adds every spec of `more` as [`merge_one`] does.
pub fn merge_all(list: &mut Vec<FieldSpec>, more: &[FieldSpec]) -> Result<(), FieldSpecError> {
    // A scan per addition is quadratic once `more` is long, even into an empty list (the
    // list grows as it is filled): only short additions take the simple path.
    if more.len() <= 8 {
        for fs in more {
            merge_one(list, fs.clone())?;
        }
        return Ok(());
    }
    // Every level merges the defaults (hundreds of specs) into its accumulated set: index
    // the present ones instead of scanning the list for each addition.
    let mut present: std::collections::HashMap<(&Gvk, &str), bool> = list
        .iter()
        .map(|fs| ((&fs.gvk, fs.path.as_str()), fs.create))
        .collect();
    let mut added = Vec::new();
    for fs in more {
        match present.get(&(&fs.gvk, fs.path.as_str())) {
            Some(&create) if create != fs.create => {
                return Err(FieldSpecError::Conflict {
                    path: fs.path.clone(),
                    gvk: fs.gvk.to_string(),
                })
            }
            Some(_) => {}
            None => {
                present.insert((&fs.gvk, fs.path.as_str()), fs.create);
                added.push(fs.clone());
            }
        }
    }
    list.extend(added);
    Ok(())
}

/// Which fields may hold the name of an object of kind `gvk`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NameBackRef {
    /// The referred-to kind.
    pub gvk: Gvk,
    /// Fields of referrers.
    pub referrers: Vec<FieldSpec>,
}

/// kustomize's transformer configuration: every field-spec group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TransformerConfig {
    /// `namePrefix`.
    pub name_prefix: Vec<FieldSpec>,
    /// `nameSuffix`.
    pub name_suffix: Vec<FieldSpec>,
    /// `namespace`.
    pub namespace: Vec<FieldSpec>,
    /// `commonLabels` (selectors included).
    pub common_labels: Vec<FieldSpec>,
    /// `templateLabels`.
    pub template_labels: Vec<FieldSpec>,
    /// `commonAnnotations`.
    pub common_annotations: Vec<FieldSpec>,
    /// `nameReference`.
    pub name_reference: Vec<NameBackRef>,
    /// `varReference`.
    pub var_reference: Vec<FieldSpec>,
    /// `images`.
    pub images: Vec<FieldSpec>,
    /// `replicas`.
    pub replicas: Vec<FieldSpec>,
}

const DEFAULT_FILES: &[&str] = &[
    include_str!("../data/nameprefix.yaml"),
    include_str!("../data/namesuffix.yaml"),
    include_str!("../data/namespace.yaml"),
    include_str!("../data/commonlabels.yaml"),
    include_str!("../data/templatelabels.yaml"),
    include_str!("../data/commonannotations.yaml"),
    include_str!("../data/namereference.yaml"),
    include_str!("../data/varreference.yaml"),
    include_str!("../data/images.yaml"),
    include_str!("../data/replicas.yaml"),
];

fn spec_list(v: &Value, what: &str) -> Result<Vec<FieldSpec>, FieldSpecError> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => items.iter().map(FieldSpec::from_value).collect(),
        _ => Err(FieldSpecError::Invalid(format!(
            "{what} must be a list of field specs"
        ))),
    }
}

impl TransformerConfig {
    /// kustomize v5.5.0's defaults, parsed on each call (callers keep the result).
    pub fn defaults() -> Result<TransformerConfig, FieldSpecError> {
        let mut tc = TransformerConfig::default();
        for text in DEFAULT_FILES {
            // The files use a small block-YAML subset that a line reader handles in a
            // fraction of a general parse, which every process start would pay.
            let v = match read_plain_blocks(text) {
                Some(v) => v,
                None => flotilla_yaml::from_str(text)
                    .map_err(|e| FieldSpecError::Yaml(e.to_string()))?,
            };
            tc.merge(&TransformerConfig::from_value(&v)?)?;
        }
        Ok(tc)
    }

    /// Reads a `configurations:` document.
    pub fn from_value(v: &Value) -> Result<TransformerConfig, FieldSpecError> {
        let mut tc = TransformerConfig::default();
        let m = match v {
            Value::Object(m) => m,
            Value::Null => return Ok(tc),
            _ => {
                return Err(FieldSpecError::Invalid(
                    "a configuration must be a mapping".into(),
                ))
            }
        };
        for (k, val) in m {
            match k.as_str() {
                "namePrefix" => tc.name_prefix = spec_list(val, k)?,
                "nameSuffix" => tc.name_suffix = spec_list(val, k)?,
                "namespace" => tc.namespace = spec_list(val, k)?,
                "commonLabels" => tc.common_labels = spec_list(val, k)?,
                "templateLabels" => tc.template_labels = spec_list(val, k)?,
                "commonAnnotations" => tc.common_annotations = spec_list(val, k)?,
                "varReference" => tc.var_reference = spec_list(val, k)?,
                "images" => tc.images = spec_list(val, k)?,
                "replicas" => tc.replicas = spec_list(val, k)?,
                "nameReference" => {
                    for item in val.as_array().map(Vec::as_slice).unwrap_or(&[]) {
                        let s = |key: &str| {
                            item.get(key)
                                .and_then(Value::as_str)
                                .unwrap_or("")
                                .to_string()
                        };
                        let referrers = spec_list(
                            item.get("fieldSpecs").unwrap_or(&Value::Null),
                            "nameReference fieldSpecs",
                        )?;
                        tc.name_reference.push(NameBackRef {
                            gvk: Gvk {
                                group: s("group"),
                                version: s("version"),
                                kind: s("kind"),
                            },
                            referrers,
                        });
                    }
                }
                _ => {}
            }
        }
        Ok(tc)
    }

    /// Adds another configuration's specs (kustomize's `TransformerConfig.Merge`).
    pub fn merge(&mut self, o: &TransformerConfig) -> Result<(), FieldSpecError> {
        merge_all(&mut self.name_prefix, &o.name_prefix)?;
        merge_all(&mut self.name_suffix, &o.name_suffix)?;
        merge_all(&mut self.namespace, &o.namespace)?;
        merge_all(&mut self.common_labels, &o.common_labels)?;
        merge_all(&mut self.template_labels, &o.template_labels)?;
        merge_all(&mut self.common_annotations, &o.common_annotations)?;
        merge_all(&mut self.var_reference, &o.var_reference)?;
        merge_all(&mut self.images, &o.images)?;
        merge_all(&mut self.replicas, &o.replicas)?;
        for br in &o.name_reference {
            match self.name_reference.iter_mut().find(|x| x.gvk == br.gvk) {
                Some(existing) => merge_all(&mut existing.referrers, &br.referrers)?,
                None => self.name_reference.push(br.clone()),
            }
        }
        Ok(())
    }
}

/// One significant line of a [`read_plain_blocks`] document.
#[derive(Debug, Clone, Copy)]
enum Token<'t> {
    /// `- ` at this column.
    Item(usize),
    /// `key:` or `key: value` at this column.
    Key(usize, &'t str, &'t str),
}

impl Token<'_> {
    fn column(self) -> usize {
        match self {
            Token::Item(c) | Token::Key(c, ..) => c,
        }
    }
}

/// Reads block mappings and sequences of plain words and `true`/`false` (the subset the
/// embedded default files use); `None` when the text uses anything else, so the caller
/// falls back to the general parser.
fn read_plain_blocks(text: &str) -> Option<Value> {
    let word = |s: &str| {
        s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && s.chars().all(|c| {
                c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '.' | '-' | '[' | ']' | '\\')
            })
    };
    let mut tokens = Vec::new();
    for line in text.lines() {
        let content = line.trim();
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let mut column = line.len() - line.trim_start().len();
        if line[..column].contains('\t') {
            return None;
        }
        let mut rest = content;
        if let Some(after) = rest.strip_prefix("- ") {
            tokens.push(Token::Item(column));
            column += 2;
            rest = after.trim_start();
        }
        let (key, value) = rest.split_once(':')?;
        let value = value.trim();
        if !word(key) || !(value.is_empty() || word(value)) {
            return None;
        }
        tokens.push(Token::Key(column, key, value));
    }
    let mut at = 0;
    let v = plain_block(&tokens, &mut at, 0)?;
    (at == tokens.len()).then_some(v)
}

/// The block starting at `tokens[*at]`, if it sits at `min_column` or deeper.
fn plain_block(tokens: &[Token<'_>], at: &mut usize, min_column: usize) -> Option<Value> {
    let first = *tokens.get(*at)?;
    let column = first.column();
    if column < min_column {
        return None;
    }
    match first {
        Token::Item(_) => {
            let mut items = Vec::new();
            while let Some(Token::Item(c)) = tokens.get(*at) {
                if *c != column {
                    break;
                }
                *at += 1;
                items.push(plain_block(tokens, at, column + 1)?);
            }
            Some(Value::Array(items))
        }
        Token::Key(..) => {
            let mut map = Map::new();
            while let Some(Token::Key(c, key, value)) = tokens.get(*at) {
                if *c != column {
                    break;
                }
                *at += 1;
                let v = match *value {
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    "" => match tokens.get(*at) {
                        // A sequence may sit at its key's column.
                        Some(Token::Item(n)) if *n >= column => plain_block(tokens, at, column)?,
                        Some(t) if t.column() > column => plain_block(tokens, at, column + 1)?,
                        _ => Value::Null,
                    },
                    // Words that YAML resolves to other types are not plain words here.
                    w if matches!(
                        w.to_ascii_lowercase().as_str(),
                        "null" | "yes" | "no" | "on" | "off" | "y" | "n"
                    ) =>
                    {
                        return None
                    }
                    w => Value::String(w.to_string()),
                };
                if map.insert((*key).to_string(), v).is_some() {
                    return None;
                }
            }
            Some(Value::Object(map))
        }
    }
}

/// What to create when a spec with `create: true` finds its last field missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreateKind {
    /// Nothing: only existing fields are visited.
    None,
    /// An empty string (the setter fills it).
    Scalar,
    /// An empty mapping.
    Map,
}

/// Visits every field `spec.path` reaches in `obj` (not checking the GVK), creating the path
/// when `spec.create` and `create` allow, and calls `set` on each.
pub fn walk<E: From<FieldSpecError>>(
    obj: &mut Value,
    spec: &FieldSpec,
    create: CreateKind,
    set: &mut dyn FnMut(&mut Value) -> Result<(), E>,
) -> Result<(), E> {
    let segs = spec.segments();
    walk_segs(obj, &segs, spec, create, set)
}

fn walk_segs<E: From<FieldSpecError>>(
    node: &mut Value,
    segs: &[String],
    spec: &FieldSpec,
    create: CreateKind,
    set: &mut dyn FnMut(&mut Value) -> Result<(), E>,
) -> Result<(), E> {
    if segs.is_empty() {
        return set(node);
    }
    match node {
        Value::Null => Ok(()),
        Value::Array(items) => {
            for item in items {
                walk_segs(item, segs, spec, create, set)?;
            }
            Ok(())
        }
        Value::Object(map) => {
            let (field, is_seq) = match segs[0].strip_suffix("[]") {
                Some(f) => (f, true),
                None => (segs[0].as_str(), false),
            };
            let creating = spec.create && create != CreateKind::None && !is_seq;
            let last = segs.len() == 1;
            if !map.contains_key(field) {
                if !creating {
                    return Ok(());
                }
                let fresh = if last && create == CreateKind::Scalar {
                    Value::String(String::new())
                } else {
                    Value::Object(Map::new())
                };
                map.insert(field.to_string(), fresh);
            }
            let child = map.get_mut(field).expect("field present or just inserted");
            if child.is_null() {
                // kyaml turns a null it meets into the kind it expected.
                if is_seq {
                    *child = Value::Array(Vec::new());
                } else if creating {
                    *child = if last && create == CreateKind::Scalar {
                        Value::String(String::new())
                    } else {
                        Value::Object(Map::new())
                    };
                }
            }
            walk_segs(child, &segs[1..], spec, create, set)
        }
        _ => Err(FieldSpecError::NotTraversable {
            path: spec.path.clone(),
            at: segs[0].clone(),
        }
        .into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn splits_paths() {
        assert_eq!(split_path("a/b[]/c"), vec!["a", "b[]", "c"]);
        assert_eq!(split_path("a/[x/y]/c"), vec!["a", "[x/y]", "c"]);
    }

    #[test]
    fn walks_sequences_and_creates() {
        let mut v = json!({"spec": {"containers": [{"image": "a"}, {"image": "b"}, {}]}});
        let spec = FieldSpec::any("spec/containers[]/image", true);
        let mut seen = Vec::new();
        walk::<FieldSpecError>(&mut v, &spec, CreateKind::Scalar, &mut |n| {
            seen.push(n.clone());
            Ok(())
        })
        .expect("walk");
        assert_eq!(seen.len(), 3);
        let mut v = json!({"metadata": {}});
        walk::<FieldSpecError>(
            &mut v,
            &FieldSpec::any("metadata/labels", true),
            CreateKind::Map,
            &mut |n| {
                n.as_object_mut()
                    .expect("map")
                    .insert("a".into(), json!("b"));
                Ok(())
            },
        )
        .expect("walk");
        assert_eq!(v, json!({"metadata": {"labels": {"a": "b"}}}));
    }

    #[test]
    fn plain_block_reader_matches_the_yaml_parser() {
        for text in DEFAULT_FILES {
            let fast = read_plain_blocks(text).expect("default files use the plain subset");
            assert_eq!(fast, flotilla_yaml::from_str(text).expect("parses"));
        }
        for text in [
            "a:\n- b: c\n  d: true\n- e: f\ng:\n  h: i\n",
            "a:\n  - b: c\n    l:\n    - m: p\nz: q\n",
            "a:\nb: c\n",
        ] {
            let fast = read_plain_blocks(text).expect("plain subset");
            assert_eq!(
                fast,
                flotilla_yaml::from_str(text).expect("parses"),
                "{text}"
            );
        }
        for text in [
            "a: 'quoted'",
            "a: 1",
            "a: yes",
            "a: b # comment",
            "a: {b: c}",
            "a:\n  b: c\n d: e\n",
            "a: b\na: c\n",
            "- a\n",
        ] {
            assert_eq!(read_plain_blocks(text), None, "{text}");
        }
    }

    #[test]
    fn conflicting_create_is_an_error() {
        let mut l = vec![FieldSpec::any("a", true)];
        assert!(merge_one(&mut l, FieldSpec::any("a", false)).is_err());
        merge_one(&mut l, FieldSpec::any("a", true)).expect("same spec merges");
        assert_eq!(l.len(), 1);
    }
}
