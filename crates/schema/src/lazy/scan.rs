//! A byte scan of a JSON document's top level: where each `definitions` member and the
//! `resources` list are, without building any value.
//!
//! Plain `std` only: `build.rs` includes this file to index the embedded schema at compile
//! time; the library's tests check that index against a run-time scan.

// Only `RawIndex` is used by the library outside tests; the scanner serves `build.rs`.
#![cfg_attr(not(test), allow(dead_code))]

use std::ops::Range;

/// Where and why a document is not JSON as expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ScanError {
    /// Byte offset.
    pub at: usize,
    /// What was expected.
    pub message: String,
}

/// Byte ranges of a document's `definitions` entries and of its `resources` list.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct RawIndex {
    /// `(name, value)` ranges, sorted by name.
    pub definitions: Vec<(Range<usize>, Range<usize>)>,
    /// The `resources` array (the embedded schema's kind index), if present.
    pub resources: Option<Range<usize>>,
}

/// Indexes the top level of a JSON document: the members of `definitions` and the
/// `resources` value, without building any value.
pub(crate) fn scan(text: &str) -> Result<RawIndex, ScanError> {
    let mut s = Scanner {
        b: text.as_bytes(),
        at: 0,
    };
    let mut index = RawIndex::default();
    s.object(|s, key| {
        match &text[key] {
            "definitions" => s.object(|s, name| {
                let value = s.value()?;
                index.definitions.push((name, value));
                Ok(())
            })?,
            "resources" => index.resources = Some(s.value()?),
            _ => {
                s.value()?;
            }
        }
        Ok(())
    })?;
    let names = |r: &Range<usize>| &text[r.clone()];
    index
        .definitions
        .sort_by(|a, b| names(&a.0).cmp(names(&b.0)));
    Ok(index)
}

struct Scanner<'t> {
    b: &'t [u8],
    at: usize,
}

impl Scanner<'_> {
    fn error(&self, message: &str) -> ScanError {
        ScanError {
            at: self.at,
            message: message.to_string(),
        }
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.b.get(self.at) {
            self.at += 1;
        }
    }

    fn expect(&mut self, c: u8) -> Result<(), ScanError> {
        self.skip_ws();
        if self.b.get(self.at) == Some(&c) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.error(&format!("expected {:?}", c as char)))
        }
    }

    /// A string's contents (between the quotes, escapes left as written).
    fn string(&mut self) -> Result<Range<usize>, ScanError> {
        self.expect(b'"')?;
        let start = self.at;
        loop {
            let rest = self.b.get(self.at..).unwrap_or_default();
            match rest.iter().position(|&c| c == b'"' || c == b'\\') {
                None => {
                    self.at = self.b.len();
                    return Err(self.error("unterminated string"));
                }
                Some(n) if rest[n] == b'"' => {
                    self.at += n;
                    break;
                }
                Some(n) => self.at += n + 2,
            }
        }
        let end = self.at;
        self.at += 1;
        Ok(start..end)
    }

    /// Skips one value; its byte range.
    fn value(&mut self) -> Result<Range<usize>, ScanError> {
        self.skip_ws();
        let start = self.at;
        let mut depth = 0usize;
        loop {
            // Only quotes, brackets and commas matter; skip everything else in one go.
            let rest = self.b.get(self.at..).unwrap_or_default();
            let Some(n) = rest
                .iter()
                .position(|&c| matches!(c, b'"' | b'{' | b'}' | b'[' | b']' | b','))
            else {
                self.at = self.b.len();
                return Err(self.error("unexpected end of document"));
            };
            self.at += n;
            match self.b[self.at] {
                b'"' => {
                    self.string()?;
                    if depth == 0 {
                        break;
                    }
                    continue;
                }
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    if depth == 0 {
                        // A scalar ended by its container's close.
                        break;
                    }
                    depth -= 1;
                    if depth == 0 {
                        self.at += 1;
                        break;
                    }
                }
                _ if depth == 0 => break,
                _ => {}
            }
            self.at += 1;
        }
        let mut end = self.at;
        while end > start && self.b[end - 1].is_ascii_whitespace() {
            end -= 1;
        }
        if end == start {
            return Err(self.error("expected a value"));
        }
        Ok(start..end)
    }

    /// Walks an object's members, calling `member` with each key's range, positioned
    /// before the value, which `member` must consume.
    fn object(
        &mut self,
        mut member: impl FnMut(&mut Self, Range<usize>) -> Result<(), ScanError>,
    ) -> Result<(), ScanError> {
        self.expect(b'{')?;
        self.skip_ws();
        if self.b.get(self.at) == Some(&b'}') {
            self.at += 1;
            return Ok(());
        }
        loop {
            let key = self.string()?;
            self.expect(b':')?;
            member(self, key)?;
            self.skip_ws();
            match self.b.get(self.at) {
                Some(b',') => self.at += 1,
                Some(b'}') => {
                    self.at += 1;
                    return Ok(());
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_finds_members_and_skips_the_rest() {
        let text = r#" {"source": "x\"}", "definitions": {"b": {"type": "string"}, "a": {"items": [1, {"c": "]"}]}, "e": 5},
            "resources": [ {"kind": "K"} ] , "tail": null }"#;
        let index = scan(text).expect("scans");
        let defs: Vec<(&str, &str)> = index
            .definitions
            .iter()
            .map(|(n, v)| (&text[n.clone()], &text[v.clone()]))
            .collect();
        assert_eq!(
            defs,
            [
                ("a", r#"{"items": [1, {"c": "]"}]}"#),
                ("b", r#"{"type": "string"}"#),
                ("e", "5")
            ]
        );
        let resources = index.resources.expect("resources");
        assert_eq!(&text[resources], r#"[ {"kind": "K"} ]"#);
    }

    #[test]
    fn scan_refuses_broken_documents() {
        for text in [
            "",
            "[]",
            r#"{"definitions": {"a": "#,
            r#"{"definitions": {"a" {}}}"#,
            r#"{"a": "unterminated"#,
            r#"{"a": }"#,
        ] {
            assert!(scan(text).is_err(), "{text:?}");
        }
    }
}
