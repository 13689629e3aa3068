//! Target selection for patches and replacements: anchored regexes on GVK/name/namespace, label and annotation selectors.

use regex::Regex;
use serde_json::{Map, Value};

use crate::resource::Resource;

/// Why a selector could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// A field is not a valid regular expression.
    #[error("invalid regular expression {pattern:?} in target {field}: {message}")]
    Regex {
        /// Which target field.
        field: &'static str,
        /// The pattern.
        pattern: String,
        /// The regex error.
        message: String,
    },
    /// A label or annotation selector does not parse.
    #[error("unable to parse requirement: {0}")]
    LabelSelector(String),
}

/// A compiled `target:` (kustomize's `types.Selector`).
#[derive(Debug, Clone)]
pub struct Selector {
    group: Option<Regex>,
    version: Option<Regex>,
    kind: Option<Regex>,
    name: Option<Regex>,
    namespace: Option<Regex>,
    labels: Vec<Requirement>,
    annotations: Vec<Requirement>,
}

fn compile(field: &'static str, v: &Value) -> Result<Option<Regex>, SelectorError> {
    let s = match v.get(field) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Ok(None),
    };
    Regex::new(&format!("^(?:{s})$"))
        .map(Some)
        .map_err(|e| SelectorError::Regex {
            field,
            pattern: s,
            message: e.to_string(),
        })
}

impl Selector {
    /// Compiles a target mapping.
    pub fn from_value(v: &Value) -> Result<Selector, SelectorError> {
        let sel = |k: &str| -> Result<Vec<Requirement>, SelectorError> {
            match v.get(k).and_then(Value::as_str) {
                Some(s) => parse_label_selector(s),
                None => Ok(Vec::new()),
            }
        };
        Ok(Selector {
            group: compile("group", v)?,
            version: compile("version", v)?,
            kind: compile("kind", v)?,
            name: compile("name", v)?,
            namespace: compile("namespace", v)?,
            labels: sel("labelSelector")?,
            annotations: sel("annotationSelector")?,
        })
    }

    /// Whether a resource is selected (names and namespaces match original or current).
    pub fn matches(&self, r: &Resource) -> bool {
        let cur = r.cur_id();
        let org = r.org_id();
        if let Some(ns) = &self.namespace {
            if !ns.is_match(org.effective_namespace()) && !ns.is_match(cur.effective_namespace()) {
                return false;
            }
        }
        if let Some(n) = &self.name {
            if !n.is_match(&org.name) && !n.is_match(&cur.name) {
                return false;
            }
        }
        let gvk = &cur.gvk;
        if self.group.as_ref().is_some_and(|g| !g.is_match(&gvk.group))
            || self
                .version
                .as_ref()
                .is_some_and(|g| !g.is_match(&gvk.version))
            || self.kind.as_ref().is_some_and(|g| !g.is_match(&gvk.kind))
        {
            return false;
        }
        matches_all(&self.labels, &r.string_map("labels"))
            && matches_all(&self.annotations, &r.string_map("annotations"))
    }
}

/// One requirement of a Kubernetes label selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Requirement {
    /// `key`.
    Exists(String),
    /// `!key`.
    NotExists(String),
    /// `key=v`, `key==v`, `key in (a,b)`.
    In(String, Vec<String>),
    /// `key!=v`, `key notin (a,b)`.
    NotIn(String, Vec<String>),
}

fn matches_all(reqs: &[Requirement], m: &Map<String, Value>) -> bool {
    let get = |k: &str| {
        m.get(k).map(|v| {
            v.as_str()
                .map(str::to_string)
                .unwrap_or_else(|| v.to_string())
        })
    };
    reqs.iter().all(|r| match r {
        Requirement::Exists(k) => m.contains_key(k),
        Requirement::NotExists(k) => !m.contains_key(k),
        Requirement::In(k, vs) => get(k).is_some_and(|v| vs.contains(&v)),
        Requirement::NotIn(k, vs) => get(k).is_none_or(|v| !vs.contains(&v)),
    })
}

fn split_top(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut cur = String::new();
    for c in s.chars() {
        match c {
            '(' => {
                depth += 1;
                cur.push(c)
            }
            ')' => {
                depth -= 1;
                cur.push(c)
            }
            ',' if depth == 0 => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

fn set_values(s: &str) -> Result<Vec<String>, SelectorError> {
    let s = s.trim();
    let inner = s
        .strip_prefix('(')
        .and_then(|x| x.strip_suffix(')'))
        .ok_or_else(|| {
            SelectorError::LabelSelector(format!("expected a set in parentheses, got {s:?}"))
        })?;
    Ok(inner.split(',').map(|v| v.trim().to_string()).collect())
}

/// Parses `a=b,c!=d,e in (f,g),!h,i`.
pub fn parse_label_selector(s: &str) -> Result<Vec<Requirement>, SelectorError> {
    let mut out = Vec::new();
    if s.trim().is_empty() {
        return Ok(out);
    }
    for part in split_top(s) {
        let p = part.trim();
        if p.is_empty() {
            return Err(SelectorError::LabelSelector(s.into()));
        }
        if let Some(k) = p.strip_prefix('!') {
            out.push(Requirement::NotExists(k.trim().into()));
        } else if let Some((k, v)) = p.split_once("!=") {
            out.push(Requirement::NotIn(k.trim().into(), vec![v.trim().into()]));
        } else if let Some((k, v)) = p.split_once("==") {
            out.push(Requirement::In(k.trim().into(), vec![v.trim().into()]));
        } else if let Some((k, v)) = p.split_once('=') {
            out.push(Requirement::In(k.trim().into(), vec![v.trim().into()]));
        } else if let Some((k, v)) = p.split_once(" notin ") {
            out.push(Requirement::NotIn(k.trim().into(), set_values(v)?));
        } else if let Some((k, v)) = p.split_once(" in ") {
            out.push(Requirement::In(k.trim().into(), set_values(v)?));
        } else if p.contains(' ') || p.contains('(') {
            return Err(SelectorError::LabelSelector(s.into()));
        } else {
            out.push(Requirement::Exists(p.into()));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selects_by_regex_and_labels() {
        let r = Resource::new(json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "helm-controller", "labels": {"app": "x", "tier": "a"}}}));
        let s = Selector::from_value(&json!({"kind": "Deployment",
            "name": "(kustomize-controller|helm-controller)", "labelSelector": "app=x,tier in (a,b),!gone"}))
        .expect("selector");
        assert!(s.matches(&r));
        let s = Selector::from_value(&json!({"name": "helm"})).expect("selector");
        assert!(!s.matches(&r));
        let s = Selector::from_value(&json!({"namespace": "default"})).expect("selector");
        assert!(s.matches(&r));
    }
}
