//! The kustomization.yaml model: the fields kustomize v5.5.0 accepts, its deprecation warnings and its legacy-field fixups.

use serde_json::{Map, Value};

/// Why a kustomization file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KustomizationError {
    /// A field kustomize v5.5.0 does not know.
    #[error("invalid Kustomization: json: unknown field {0:?}")]
    UnknownField(String),
    /// A field has the wrong type.
    #[error("invalid Kustomization: field {field:?} must be {expected}")]
    WrongType {
        /// The field.
        field: String,
        /// What it must be.
        expected: &'static str,
    },
    /// Nothing in it.
    #[error("kustomization.yaml is empty")]
    Empty,
    /// `kind`/`apiVersion` do not fit together.
    #[error("{0}")]
    Enforce(String),
}

const KNOWN: &[&str] = &[
    "apiVersion",
    "kind",
    "metadata",
    "openapi",
    "namePrefix",
    "nameSuffix",
    "namespace",
    "commonLabels",
    "labels",
    "commonAnnotations",
    "patchesStrategicMerge",
    "patchesJson6902",
    "patches",
    "images",
    "imageTags",
    "replacements",
    "replicas",
    "vars",
    "sortOptions",
    "resources",
    "components",
    "crds",
    "bases",
    "configMapGenerator",
    "secretGenerator",
    "helmGlobals",
    "helmCharts",
    "helmChartInflationGenerator",
    "generatorOptions",
    "configurations",
    "generators",
    "transformers",
    "validators",
    "buildMetadata",
];

/// Deprecated field → (replacement, extra words), in kustomize's warning order.
const DEPRECATED: &[(&str, &str, &str)] = &[
    ("bases", "resources", ""),
    ("commonLabels", "labels", ""),
    ("imageTags", "images", ""),
    ("patchesJson6902", "patches", ""),
    ("patchesStrategicMerge", "patches", ""),
    ("vars", "replacements", " [EXPERIMENTAL]"),
];

/// A parsed kustomization (or component). Fields keep their raw JSON where the consumer
/// interprets them, so the model stays a thin, faithful layer over the file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Kustomization {
    /// `Kustomization` or `Component`.
    pub kind: String,
    /// The whole document, after legacy fixups.
    pub raw: Map<String, Value>,
    /// `resources` followed by `bases`.
    pub resources: Vec<String>,
    /// `components`.
    pub components: Vec<String>,
    /// `crds`.
    pub crds: Vec<String>,
    /// `configurations`.
    pub configurations: Vec<String>,
    /// `namespace`.
    pub namespace: String,
    /// `namePrefix`.
    pub name_prefix: String,
    /// `nameSuffix`.
    pub name_suffix: String,
    /// `buildMetadata`.
    pub build_metadata: Vec<String>,
    /// The file it was read from (`kustomization.yaml`, `kustomization.yml`, `Kustomization`).
    pub file_name: String,
}

fn strings(m: &Map<String, Value>, k: &str) -> Result<Vec<String>, KustomizationError> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| match i {
                Value::String(s) => Ok(s.clone()),
                _ => Err(KustomizationError::WrongType {
                    field: k.into(),
                    expected: "a list of strings",
                }),
            })
            .collect(),
        Some(_) => Err(KustomizationError::WrongType {
            field: k.into(),
            expected: "a list of strings",
        }),
    }
}

fn string(m: &Map<String, Value>, k: &str) -> Result<String, KustomizationError> {
    match m.get(k) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(KustomizationError::WrongType {
            field: k.into(),
            expected: "a string",
        }),
    }
}

impl Kustomization {
    /// Reads a kustomization document; returns it with the deprecation warnings kustomize prints.
    pub fn from_value(v: &Value) -> Result<(Kustomization, Vec<String>), KustomizationError> {
        let mut raw = match v {
            Value::Object(m) => m.clone(),
            Value::Null => Map::new(),
            _ => {
                return Err(KustomizationError::WrongType {
                    field: "(document)".into(),
                    expected: "a mapping",
                })
            }
        };
        for k in raw.keys() {
            if !KNOWN.contains(&k.as_str()) {
                return Err(KustomizationError::UnknownField(k.clone()));
            }
        }
        for k in [
            "commonLabels",
            "commonAnnotations",
            "openapi",
            "generatorOptions",
            "sortOptions",
            "metadata",
        ] {
            if let Some(x) = raw.get(k) {
                if !x.is_object() && !x.is_null() {
                    return Err(KustomizationError::WrongType {
                        field: k.into(),
                        expected: "a mapping",
                    });
                }
            }
        }
        check_string_maps(&raw)?;
        let mut warnings = Vec::new();
        for (field, instead, extra) in DEPRECATED {
            if raw.get(*field).is_some_and(|v| !is_empty_value(v)) {
                warnings.push(format!(
                    "# Warning: '{field}' is deprecated. Please use '{instead}' instead.{extra} Run 'kustomize edit fix' to update your Kustomization automatically."
                ));
            }
        }
        let non_empty = raw
            .iter()
            .any(|(k, v)| k != "apiVersion" && k != "kind" && !is_empty_value(v));
        if !non_empty {
            return Err(KustomizationError::Empty);
        }
        let kind = string(&raw, "kind")?;
        let api_version = string(&raw, "apiVersion")?;
        let kind = if kind.is_empty() {
            "Kustomization".to_string()
        } else {
            kind
        };
        match kind.as_str() {
            "Kustomization" => {
                if !api_version.is_empty() && api_version != "kustomize.config.k8s.io/v1beta1" {
                    return Err(KustomizationError::Enforce(format!(
                        "apiVersion for {kind} should be kustomize.config.k8s.io/v1beta1"
                    )));
                }
            }
            "Component" => {
                if !api_version.is_empty() && api_version != "kustomize.config.k8s.io/v1alpha1" {
                    return Err(KustomizationError::Enforce(format!(
                        "apiVersion for {kind} should be kustomize.config.k8s.io/v1alpha1"
                    )));
                }
            }
            _ => {
                return Err(KustomizationError::Enforce(format!(
                    "kind should be Kustomization or Component, not {kind}"
                )))
            }
        }
        let mut resources = strings(&raw, "resources")?;
        resources.extend(strings(&raw, "bases")?);
        // Legacy `imageTags` join `images`.
        if let Some(Value::Array(tags)) = raw.get("imageTags").cloned() {
            let images = raw
                .entry("images")
                .or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(list) = images {
                list.extend(tags);
            }
        }
        // Legacy singular `env` of generators joins `envs`.
        for g in ["configMapGenerator", "secretGenerator"] {
            if let Some(Value::Array(list)) = raw.get_mut(g) {
                for item in list.iter_mut() {
                    if let Some(obj) = item.as_object_mut() {
                        if let Some(Value::String(env)) = obj.remove("env") {
                            if !env.is_empty() {
                                let envs = obj
                                    .entry("envs")
                                    .or_insert_with(|| Value::Array(Vec::new()));
                                if let Value::Array(e) = envs {
                                    e.push(Value::String(env));
                                }
                            }
                        }
                    }
                }
            }
        }
        let k = Kustomization {
            kind,
            components: strings(&raw, "components")?,
            crds: strings(&raw, "crds")?,
            configurations: strings(&raw, "configurations")?,
            namespace: string(&raw, "namespace")?,
            name_prefix: string(&raw, "namePrefix")?,
            name_suffix: string(&raw, "nameSuffix")?,
            build_metadata: strings(&raw, "buildMetadata")?,
            file_name: "kustomization.yaml".into(),
            resources,
            raw,
        };
        Ok((k, warnings))
    }

    /// A raw field, `Null` when absent.
    pub fn field(&self, name: &str) -> &Value {
        self.raw.get(name).unwrap_or(&Value::Null)
    }

    /// A raw list field (empty when absent).
    pub fn list(&self, name: &str) -> &[Value] {
        self.raw
            .get(name)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// Label and annotation maps are `map[string]string` in kustomize: other scalar types fail.
fn check_string_maps(raw: &Map<String, Value>) -> Result<(), KustomizationError> {
    fn check(v: Option<&Value>, field: &str) -> Result<(), KustomizationError> {
        if let Some(Value::Object(m)) = v {
            for (k, val) in m {
                if !matches!(val, Value::String(_) | Value::Null) {
                    return Err(KustomizationError::WrongType {
                        field: format!("{field}.{k}"),
                        expected: "a string (quote it)",
                    });
                }
            }
        }
        Ok(())
    }
    check(raw.get("commonLabels"), "commonLabels")?;
    check(raw.get("commonAnnotations"), "commonAnnotations")?;
    for l in raw
        .get("labels")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
    {
        check(l.get("pairs"), "labels.pairs")?;
    }
    let go = raw.get("generatorOptions");
    check(go.and_then(|g| g.get("labels")), "generatorOptions.labels")?;
    check(
        go.and_then(|g| g.get("annotations")),
        "generatorOptions.annotations",
    )?;
    for g in ["configMapGenerator", "secretGenerator"] {
        for e in raw
            .get(g)
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            let o = e.get("options");
            check(
                o.and_then(|x| x.get("labels")),
                &format!("{g}.options.labels"),
            )?;
            check(
                o.and_then(|x| x.get("annotations")),
                &format!("{g}.options.annotations"),
            )?;
        }
    }
    Ok(())
}

fn is_empty_value(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        Value::Bool(b) => !b,
        Value::Number(_) => false,
    }
}

/// Plain scalars YAML 1.1 reads as booleans (kustomization.yaml is decoded that way, unlike
/// resources).
const YAML11_BOOLS: &[&str] = &[
    "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
    "OFF",
];

/// Fields of a kustomization that are booleans.
const BOOL_FIELDS: &[&str] = &[
    "disableNameSuffixHash",
    "immutable",
    "includeSelectors",
    "includeTemplates",
    "allowNameChange",
    "allowKindChange",
    "create",
    "unsetOnly",
];

/// kustomization.yaml is decoded with YAML 1.1 rules, where a plain `yes`, `on`, `n`… is a
/// boolean: true/false for boolean fields, an error anywhere a string is expected. Finds such
/// plain scalars in `text` (outside block scalars) and applies that to the parsed value.
pub fn apply_yaml11_booleans(text: &str, v: &mut Value) -> Result<(), KustomizationError> {
    let mut block_indent: Option<usize> = None;
    let mut hits: Vec<(Option<String>, String)> = Vec::new();
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let t = line.trim();
        if let Some(bi) = block_indent {
            if t.is_empty() || indent > bi {
                continue;
            }
            block_indent = None;
        }
        let body = match t.find(" #") {
            Some(i) => t[..i].trim_end(),
            None => t,
        };
        if body.ends_with('|')
            || body.ends_with('>')
            || body.ends_with("|-")
            || body.ends_with(">-")
            || body.ends_with("|+")
            || body.ends_with(">+")
        {
            block_indent = Some(indent);
            continue;
        }
        let item = body.strip_prefix("- ").map(str::trim).unwrap_or(body);
        let (key, value) = match item.split_once(": ") {
            Some((k, val)) => (Some(k.trim().to_string()), val.trim()),
            None => (None, item),
        };
        if YAML11_BOOLS.contains(&value) {
            hits.push((key, value.to_string()));
        }
    }
    if hits.is_empty() {
        return Ok(());
    }
    fn fix(
        v: &mut Value,
        parent_key: Option<&str>,
        hits: &[(Option<String>, String)],
    ) -> Result<(), KustomizationError> {
        match v {
            Value::Object(m) => {
                for (k, child) in m.iter_mut() {
                    if let Value::String(s) = child {
                        if hits
                            .iter()
                            .any(|(hk, hv)| hk.as_deref() == Some(k.as_str()) && hv == s)
                        {
                            if BOOL_FIELDS.contains(&k.as_str()) {
                                let b = matches!(
                                    s.as_str(),
                                    "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON"
                                );
                                *child = Value::Bool(b);
                                continue;
                            }
                            return Err(KustomizationError::WrongType {
                                field: k.clone(),
                                expected: "a string (a plain yes/no/on/off/y/n is a boolean in kustomization.yaml; quote it)",
                            });
                        }
                    }
                    fix(child, Some(k), hits)?;
                }
                Ok(())
            }
            Value::Array(items) => {
                for item in items.iter_mut() {
                    if let Value::String(s) = item {
                        if hits.iter().any(|(hk, hv)| hk.is_none() && hv == s) {
                            return Err(KustomizationError::WrongType {
                                field: parent_key.unwrap_or("(list)").to_string(),
                                expected: "a list of strings (a plain yes/no/on/off/y/n is a boolean in kustomization.yaml; quote it)",
                            });
                        }
                    }
                    fix(item, parent_key, hits)?;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
    fix(v, None, &hits)
}

#[cfg(test)]
mod tests {
    #[test]
    fn yaml11_booleans() {
        let text = "namespace: n\n";
        let mut v = json!({"namespace": "n"});
        assert!(apply_yaml11_booleans(text, &mut v).is_err());
        let text = "configMapGenerator:\n- name: a\n  options:\n    disableNameSuffixHash: yes\n  literals:\n  - |\n    y\n";
        let mut v = json!({"configMapGenerator": [{"name": "a", "options": {"disableNameSuffixHash": "yes"}, "literals": ["y\n"]}]});
        apply_yaml11_booleans(text, &mut v).expect("bool field");
        assert_eq!(
            v["configMapGenerator"][0]["options"]["disableNameSuffixHash"],
            json!(true)
        );
        let mut v = json!({"namespace": "n"});
        apply_yaml11_booleans("namespace: \"n\"\n", &mut v).expect("quoted is a string");
    }

    use super::*;
    use serde_json::json;

    #[test]
    fn legacy_fields_and_warnings() {
        let (k, w) =
            Kustomization::from_value(&json!({"bases": ["b"], "resources": ["a"]})).expect("valid");
        assert_eq!(k.resources, vec!["a", "b"]);
        assert_eq!(w.len(), 1);
        assert!(w[0].contains("'bases' is deprecated"));
    }

    #[test]
    fn rejects_unknown_and_empty() {
        assert!(matches!(
            Kustomization::from_value(&json!({"foo": 1})),
            Err(KustomizationError::UnknownField(_))
        ));
        assert_eq!(
            Kustomization::from_value(&json!({})),
            Err(KustomizationError::Empty)
        );
    }
}
