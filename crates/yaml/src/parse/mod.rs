//! YAML reader with the semantics kustomize applies (go-yaml v3 through kyaml), into `serde_json::Value`.
//!
//! Besides go-yaml v3's composition and scalar resolution this reproduces what kyaml does
//! around it: splitting streams on `---` lines itself, reading one document per piece, dropping
//! empty documents, and the value changes of its encode-and-decode round trip.

mod compose;
mod repair;
mod scalar;

use serde_json::Value;

use crate::error::{Error, Location};
use compose::Composer;

/// Limits and behaviour switches for reading YAML.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// Most nodes that aliases may expand to in one document (a "billion laughs" guard).
    pub max_alias_expansion: usize,
    /// Deepest nesting of collections allowed.
    pub max_depth: usize,
    /// Apply the changes kustomize's kyaml encode-and-decode round trip makes to a resource
    /// before printing it: folded `>` scalars gain or lose line breaks, empty values inside flow
    /// collections become empty strings. Right for resources; turn off for files kustomize
    /// reads without kyaml (kustomization.yaml).
    pub kyaml_round_trip: bool,
    /// Resolve plain scalars as go-yaml v2 does (YAML 1.1: `yes`/`no`/`on`/`off`/`y`/`n` are
    /// booleans, timestamps stay text): what sigs.k8s.io/yaml applies to kustomization.yaml.
    pub yaml11: bool,
    /// Give every non-null scalar as the string it is written as (`1.0` stays "1.0", `yes`
    /// stays "yes"): sigs.k8s.io/yaml keeps a scalar's text when the target field is a string,
    /// so read kustomization.yaml once with this for string fields and once without for typed
    /// ones.
    pub scalars_as_text: bool,
    /// Let a repeated mapping key replace the earlier value instead of failing: go-yaml v2
    /// decoding into a generic map (sigs.k8s.io/yaml, what kustomize reads
    /// kustomization.yaml with) keeps the last, while kyaml refuses duplicates in resources.
    pub duplicate_keys_last_wins: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            max_alias_expansion: 1_000_000,
            max_depth: 1_000,
            kyaml_round_trip: true,
            yaml11: false,
            scalars_as_text: false,
            duplicate_keys_last_wins: false,
        }
    }
}

/// Parses exactly one document; an empty text (or one holding only comments) is `null`.
/// Further documents are an error unless empty (a trailing `---` is fine).
pub fn from_str(src: &str) -> Result<Value, Error> {
    from_str_with(src, &ParseOptions::default())
}

/// [`from_str`] with explicit options.
pub fn from_str_with(src: &str, opts: &ParseOptions) -> Result<Value, Error> {
    compose::check_source(src, 0)?;
    with_repairs(src, 0, |text| {
        let mut c = Composer::new(text, opts, 0);
        let first = c.next_document()?;
        if let Some(at) = c.next_nonempty_document()? {
            return Err(Error::MultipleDocuments { at });
        }
        Ok(first.unwrap_or(Value::Null))
    })
}

/// Runs `read` on the text, repairing and retrying where go-yaml would have read the text
/// and the tokenizer refused it (see `repair`).
fn with_repairs<T>(
    src: &str,
    line_offset: usize,
    read: impl Fn(&str) -> Result<T, Error>,
) -> Result<T, Error> {
    let mut text = std::borrow::Cow::Borrowed(src);
    let mut first_err = None;
    let mut last_repaired: Option<Error> = None;
    for _ in 0..repair::MAX_REPAIRS {
        match read(&text) {
            // A repair that left the same error in place did not help: repeating it would
            // only grow the text (found by fuzzing: 200 ever-wider reparses took seconds).
            Err(e) if last_repaired.as_ref() == Some(&e) => {
                return Err(first_err.unwrap_or(e));
            }
            Err(e) => match repair::repair(&text, &e, line_offset) {
                Some(fixed) => {
                    first_err.get_or_insert(e.clone());
                    last_repaired = Some(e);
                    text = std::borrow::Cow::Owned(fixed);
                }
                None => return Err(e),
            },
            ok => return ok,
        }
    }
    Err(first_err.unwrap_or_else(|| Error::Syntax {
        at: Location::default(),
        message: "too many repairs".to_string(),
    }))
}

/// Parses a stream of resources as kustomize reads a file: documents split on `---` lines,
/// `null` and empty documents skipped.
pub fn from_str_multi(src: &str) -> Result<Vec<Value>, Error> {
    from_str_multi_with(src, &ParseOptions::default())
}

/// [`from_str_multi`] with explicit options.
pub fn from_str_multi_with(src: &str, opts: &ParseOptions) -> Result<Vec<Value>, Error> {
    let normalized;
    let src = if src.contains("\r\n") {
        normalized = src.replace("\r\n", "\n");
        normalized.as_str()
    } else {
        src
    };
    compose::check_source(src, 0)?;
    let mut out = Vec::new();
    let pieces = split_documents(src)?;
    let last = pieces.len().saturating_sub(1);
    for (i, (piece, line_offset)) in pieces.into_iter().enumerate() {
        // kyaml reads each piece with one Decode call: only its first document counts.
        let owned;
        let text = if i == last {
            piece
        } else {
            owned = format!("{piece}\n");
            owned.as_str()
        };
        let doc = with_repairs(text, line_offset, |t| {
            Composer::new(t, opts, line_offset).next_document()
        })?;
        if let Some(v) = doc.filter(|v| !v.is_null()) {
            out.push(v);
        }
    }
    Ok(out)
}

/// kyaml's `splitDocuments`: a line starting with `---` (not the very first line) ends a
/// document; only blanks or a comment may follow the dashes. Returns each piece with the
/// number of lines before it.
fn split_documents(s: &str) -> Result<Vec<(&str, usize)>, Error> {
    let mut pieces = Vec::new();
    if s.is_empty() {
        return Ok(pieces);
    }
    let newlines = |from: usize, to: usize| {
        s.as_bytes()[from..to]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
    };
    let (mut prev, mut prev_line) = (0, 0);
    while let Some(rel) = s[prev..].find("\n---") {
        let p = prev + rel;
        let Some(nl) = s[p + 4..].find('\n') else {
            break;
        };
        let q = p + 4 + nl;
        let rest = s[p + 4..q].trim();
        if !rest.is_empty() && !rest.starts_with('#') {
            return Err(Error::Syntax {
                at: Location {
                    file: None,
                    line: prev_line + newlines(prev, p) + 2,
                    column: 1,
                },
                message: format!(
                    "invalid document separator: {}; put the document on the next line",
                    s[p..q].trim()
                ),
            });
        }
        pieces.push((&s[prev..p], prev_line));
        prev_line += newlines(prev, q + 1);
        prev = q + 1;
    }
    pieces.push((&s[prev..], prev_line));
    Ok(pieces)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_kyaml() {
        let pieces = split_documents("a: 1\n---\nb: 2\n--- # c\nc: 3").unwrap_or_default();
        assert_eq!(pieces, vec![("a: 1", 0), ("b: 2", 2), ("c: 3", 4)]);
        // A leading separator has no newline before it: the YAML parser sees it.
        let pieces = split_documents("---\na: 1\n").unwrap_or_default();
        assert_eq!(pieces, vec![("---\na: 1\n", 0)]);
        assert!(split_documents("a: 1\n--- !!map\nb: 2\n").is_err());
    }
}
