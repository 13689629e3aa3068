//! Lossless edits of YAML text: locate scalars by path (with their line comments) and replace
//! their values, keeping comments, order, quoting style and every other byte as they were.
//!
//! Used by image automation (values marked `# {"$imagepolicy": "ns:name:tag"}`) and
//! migrations. Block scalars (`|`, `>`) are reported but cannot be replaced; empty values
//! (`key:`) and aliases are not reported.

use std::fmt;
use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use crate::emit::scalar::{analyze, is_printable};
use crate::error::{Error, Location};
use crate::resolve::{resolve_plain, Dialect, Resolved};

/// One step of a path from a document's root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathSegment {
    /// A mapping key.
    Key(String),
    /// A sequence index (0-based).
    Index(usize),
}

impl fmt::Display for PathSegment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathSegment::Key(k) => write!(f, ".{k}"),
            PathSegment::Index(i) => write!(f, "[{i}]"),
        }
    }
}

/// Shows a path as `.spec.containers[0].image`.
pub fn path_to_string(path: &[PathSegment]) -> String {
    path.iter().map(ToString::to_string).collect()
}

/// How a scalar is written in the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Unquoted.
    Plain,
    /// `'single quoted'`.
    SingleQuoted,
    /// `"double quoted"`.
    DoubleQuoted,
    /// `|` block.
    Literal,
    /// `>` block.
    Folded,
}

/// A scalar value found in a YAML text.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalarSite {
    /// 0-based index of the document in the stream.
    pub document: usize,
    /// Path from the document root to the scalar.
    pub path: Vec<PathSegment>,
    /// The value as YAML reads it (escapes and folding applied).
    pub value: String,
    /// How the value is written.
    pub style: Style,
    /// Byte range of the value's source text, quotes included (for block scalars: the content
    /// lines, without the `|`/`>` header).
    pub range: Range<usize>,
    /// 1-based line and column where the value starts.
    pub line: usize,
    /// See `line`.
    pub column: usize,
    /// The comment on the same line after the value (text after `#`, trimmed), if any.
    pub line_comment: Option<String>,
    /// Whether the value sits inside a flow collection (`[...]`, `{...}`).
    pub in_flow: bool,
}

impl ScalarSite {
    /// The path as `.a.b[0]`.
    pub fn path_string(&self) -> String {
        path_to_string(&self.path)
    }
}

/// Why an edit could not be made.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    /// The text is not valid YAML.
    #[error(transparent)]
    Parse(#[from] Error),
    /// No scalar value at that path.
    #[error("document {document}: no scalar value at {path}")]
    NotFound {
        /// Document index.
        document: usize,
        /// The path, as `.a.b[0]`.
        path: String,
    },
    /// The value is a block scalar, which cannot be replaced in place.
    #[error("line {line}: the value is a block scalar (| or >); edit it by hand")]
    BlockScalar {
        /// 1-based line of the value.
        line: usize,
    },
    /// Two edits touch the same text.
    #[error("edits overlap at byte {at}; give each value once")]
    Overlap {
        /// Byte offset where they overlap.
        at: usize,
    },
}

/// One replacement: the site (as found by [`scalars`]) and its new value.
#[derive(Debug, Clone)]
pub struct Edit {
    /// Where.
    pub site: ScalarSite,
    /// The new value (unquoted; it is quoted as the site's style requires).
    pub value: String,
}

enum Frame {
    Map {
        seg: Option<PathSegment>,
        flow: bool,
        key: Option<PathSegment>,
        want_key: bool,
    },
    Seq {
        seg: Option<PathSegment>,
        flow: bool,
        next: usize,
    },
    /// A collection used as a mapping key: nothing inside has a path.
    Skip,
}

struct Walker<'a> {
    src: &'a str,
    cursor: (usize, usize),
    stack: Vec<Frame>,
    sites: Vec<ScalarSite>,
    document: usize,
}

/// The role of a node about to start, and the path segment it takes if it is a value.
enum Role {
    Key,
    Value(Option<PathSegment>),
    Skipped,
}

impl Walker<'_> {
    fn byte(&mut self, char_index: usize) -> usize {
        let (mut ci, mut bi) = self.cursor;
        if char_index < ci {
            (ci, bi) = (0, 0);
        }
        let mut chars = self.src[bi..].chars();
        while ci < char_index {
            match chars.next() {
                Some(c) => bi += c.len_utf8(),
                None => break,
            }
            ci += 1;
        }
        self.cursor = (ci, bi);
        bi
    }

    fn role(&self) -> Role {
        match self.stack.last() {
            None => Role::Value(None),
            Some(Frame::Skip) => Role::Skipped,
            Some(Frame::Map { want_key: true, .. }) => Role::Key,
            Some(Frame::Map { key, .. }) => Role::Value(key.clone()),
            Some(Frame::Seq { next, .. }) => Role::Value(Some(PathSegment::Index(*next))),
        }
    }

    fn in_flow(&self) -> bool {
        self.stack.iter().any(|f| match f {
            Frame::Map { flow, .. } | Frame::Seq { flow, .. } => *flow,
            Frame::Skip => false,
        })
    }

    fn path(&self, last: Option<PathSegment>) -> Vec<PathSegment> {
        let mut p: Vec<PathSegment> = self
            .stack
            .iter()
            .filter_map(|f| match f {
                Frame::Map { seg, .. } | Frame::Seq { seg, .. } => seg.clone(),
                Frame::Skip => None,
            })
            .collect();
        p.extend(last);
        p
    }

    /// After a value (or key) node completes, moves its parent on.
    fn advance(&mut self, was_key: Option<PathSegment>) {
        match self.stack.last_mut() {
            Some(Frame::Map { key, want_key, .. }) => {
                if *want_key {
                    *key = was_key;
                    *want_key = false;
                } else {
                    *key = None;
                    *want_key = true;
                }
            }
            Some(Frame::Seq { next, .. }) => *next += 1,
            _ => {}
        }
    }

    fn collection_start(&mut self, span: &Span, map: bool) {
        let flow = self.in_flow() || {
            let (s, e) = (span.start.index(), span.end.index());
            e > s && {
                let b = self.byte(e - 1);
                matches!(self.src[b..].chars().next(), Some('[' | '{'))
            }
        };
        let frame = match self.role() {
            Role::Key | Role::Skipped => Frame::Skip,
            Role::Value(seg) if map => Frame::Map {
                seg,
                flow,
                key: None,
                want_key: true,
            },
            Role::Value(seg) => Frame::Seq { seg, flow, next: 0 },
        };
        self.stack.push(frame);
    }

    fn collection_end(&mut self) {
        let was_skip = matches!(self.stack.pop(), Some(Frame::Skip));
        let parent_is_skip = matches!(self.stack.last(), Some(Frame::Skip));
        if !parent_is_skip {
            // A collection key has no usable name.
            let key = was_skip.then(|| PathSegment::Key(String::new()));
            self.advance(key);
        }
    }

    fn scalar(&mut self, value: &str, style: ScalarStyle, span: &Span) {
        let role = self.role();
        match role {
            Role::Skipped => {}
            Role::Key => self.advance(Some(PathSegment::Key(value.to_string()))),
            Role::Value(_) if value.is_empty() && style == ScalarStyle::Plain => {
                // An empty value (`key:`) has no text to replace.
                self.advance(None);
            }
            Role::Value(seg) => {
                let path = self.path(seg);
                let in_flow = self.in_flow();
                let start = self.byte(span.start.index());
                let end = self.byte(span.end.index());
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted => Style::SingleQuoted,
                    ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                    ScalarStyle::Literal => Style::Literal,
                    ScalarStyle::Folded => Style::Folded,
                };
                let range = source_range(self.src, start, end, style);
                let line_comment = line_comment(self.src, range.end);
                self.sites.push(ScalarSite {
                    document: self.document,
                    path,
                    value: value.to_string(),
                    style,
                    line: span.start.line(),
                    column: span.start.col() + 1,
                    range,
                    line_comment,
                    in_flow,
                });
                self.advance(None);
            }
        }
    }
}

/// Skips anchors (`&a`) and tags (`!t`) written before a value.
fn skip_properties(src: &str, mut at: usize) -> usize {
    let b = src.as_bytes();
    while at < b.len() && (b[at] == b'&' || b[at] == b'!') {
        while at < b.len() && !matches!(b[at], b' ' | b'\t' | b'\n' | b'\r') {
            at += 1;
        }
        while at < b.len() && matches!(b[at], b' ' | b'\t') {
            at += 1;
        }
    }
    at
}

/// The exact byte range of a scalar's text: the parser's spans run past closing quotes when a
/// comment follows, so quoted scalars are re-scanned to their closing quote.
fn source_range(src: &str, start: usize, end: usize, style: Style) -> Range<usize> {
    let b = src.as_bytes();
    match style {
        Style::Plain => {
            let s = skip_properties(src, start);
            // A plain scalar never ends in white space; the parser's span sometimes does.
            let mut e = end.max(s).min(src.len());
            while e > s && matches!(b[e - 1], b' ' | b'\t' | b'\n' | b'\r') {
                e -= 1;
            }
            s..e
        }
        Style::Literal | Style::Folded => start..end.max(start),
        Style::SingleQuoted | Style::DoubleQuoted => {
            let quote = if style == Style::SingleQuoted {
                b'\''
            } else {
                b'"'
            };
            let s = match src[start..].find(quote as char) {
                Some(off) => start + off,
                None => return start..end,
            };
            let mut i = s + 1;
            while i < b.len() {
                if quote == b'"' && b[i] == b'\\' {
                    i += 2;
                    continue;
                }
                if b[i] == quote {
                    if quote == b'\'' && b.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    return s..i + 1;
                }
                i += 1;
            }
            s..end
        }
    }
}

/// The comment after `end` on the same line, if only blanks separate them.
fn line_comment(src: &str, end: usize) -> Option<String> {
    let rest = &src[end.min(src.len())..];
    let line = rest.split('\n').next().unwrap_or("");
    let trimmed = line.trim_start_matches([' ', '\t']);
    let body = trimmed.strip_prefix('#')?;
    if trimmed.len() == line.len() && !line.is_empty() && end > 0 {
        // A '#' glued to the value is part of it, not a comment.
        return None;
    }
    Some(body.trim().to_string())
}

/// Every scalar value (not keys) of every document, in source order.
pub fn scalars(src: &str) -> Result<Vec<ScalarSite>, Error> {
    let mut w = Walker {
        src,
        cursor: (0, 0),
        stack: Vec::new(),
        sites: Vec::new(),
        document: 0,
    };
    let mut started = false;
    for ev in Parser::new_from_str(src) {
        let (ev, span) = ev.map_err(|e| Error::Syntax {
            at: Location {
                file: None,
                line: e.marker().line(),
                column: e.marker().col() + 1,
            },
            message: e.info().to_string(),
        })?;
        match ev {
            Event::DocumentStart(_) => {
                if started {
                    w.document += 1;
                }
                started = true;
                w.stack.clear();
            }
            Event::Scalar(value, style, _, _) => w.scalar(&value, style, &span),
            Event::Alias(_) => {
                if matches!(w.role(), Role::Key) {
                    w.advance(Some(PathSegment::Key(String::new())));
                } else if !matches!(w.role(), Role::Skipped) {
                    w.advance(None);
                }
            }
            Event::SequenceStart(..) => w.collection_start(&span, false),
            Event::MappingStart(..) => w.collection_start(&span, true),
            Event::SequenceEnd | Event::MappingEnd => w.collection_end(),
            _ => {}
        }
    }
    Ok(w.sites)
}

fn double_quoted(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if is_printable(c) && c != '\u{feff}' => out.push(c),
            c if (c as u32) <= 0xFF => out.push_str(&format!("\\x{:02X}", c as u32)),
            c if (c as u32) <= 0xFFFF => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// The source text for `value` written in the site's style where the style can hold it
/// (and, for plain values, where it keeps a string a string); double quotes otherwise.
pub fn render(site: &ScalarSite, value: &str) -> String {
    let a = analyze(value);
    let plain_ok = !value.is_empty()
        && !a.multiline
        && if site.in_flow {
            a.flow_plain_allowed
        } else {
            a.block_plain_allowed
        }
        && !value.contains('\t');
    match site.style {
        Style::Plain if plain_ok => {
            // A string that would read back as another type (1.0, true, null) needs quotes,
            // unless the old value was not a string either (a number replaced by a number).
            let was_string = resolve_plain(&site.value, Dialect::V3) == Resolved::Str;
            let is_string = resolve_plain(value, Dialect::V3) == Resolved::Str;
            if is_string || !was_string {
                value.to_string()
            } else {
                double_quoted(value)
            }
        }
        Style::SingleQuoted if a.single_quoted_allowed && !a.multiline && !value.contains('\t') => {
            format!("'{}'", value.replace('\'', "''"))
        }
        _ => double_quoted(value),
    }
}

/// Applies several replacements at once; sites come from [`scalars`] on the same text.
pub fn apply(src: &str, edits: &[Edit]) -> Result<String, EditError> {
    let mut order: Vec<&Edit> = edits.iter().collect();
    order.sort_by_key(|e| e.site.range.start);
    let mut out = String::with_capacity(src.len());
    let mut at = 0;
    for e in order {
        if matches!(e.site.style, Style::Literal | Style::Folded) {
            return Err(EditError::BlockScalar { line: e.site.line });
        }
        let r = &e.site.range;
        if r.start < at || r.end > src.len() {
            return Err(EditError::Overlap { at: r.start });
        }
        out.push_str(&src[at..r.start]);
        out.push_str(&render(&e.site, &e.value));
        at = r.end;
    }
    out.push_str(&src[at..]);
    Ok(out)
}

/// Replaces the scalar at `path` in document `document` with `value`.
pub fn set_scalar(
    src: &str,
    document: usize,
    path: &[PathSegment],
    value: &str,
) -> Result<String, EditError> {
    let site = scalars(src)?
        .into_iter()
        .find(|s| s.document == document && s.path == path)
        .ok_or_else(|| EditError::NotFound {
            document,
            path: path_to_string(path),
        })?;
    apply(
        src,
        &[Edit {
            site,
            value: value.to_string(),
        }],
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn key(k: &str) -> PathSegment {
        PathSegment::Key(k.to_string())
    }

    const DOC: &str = "\
# head comment
apiVersion: apps/v1
kind: Deployment
spec:
  template:
    spec:
      containers:
      - name: app   # the app
        image: ghcr.io/org/app:1.0.0 # {\"$imagepolicy\": \"flux-system:app\"}
      - name: 'side'
        image: \"docker.io/side:v2\"  # {\"$imagepolicy\": \"flux-system:side\"}
        args: [--a, \"--b\", {k: v}]
---
images:
- name: app
  newTag: v1 # {\"$imagepolicy\": \"flux-system:app:tag\"}
";

    #[test]
    fn finds_values_paths_and_comments() {
        let sites = scalars(DOC).unwrap();
        let image = sites
            .iter()
            .find(|s| s.path_string() == ".spec.template.spec.containers[0].image")
            .unwrap();
        assert_eq!(image.value, "ghcr.io/org/app:1.0.0");
        assert_eq!(
            image.line_comment.as_deref(),
            Some("{\"$imagepolicy\": \"flux-system:app\"}")
        );
        assert_eq!(&DOC[image.range.clone()], "ghcr.io/org/app:1.0.0");
        let side = sites
            .iter()
            .find(|s| s.value == "docker.io/side:v2")
            .unwrap();
        assert_eq!(&DOC[side.range.clone()], "\"docker.io/side:v2\"");
        assert!(side
            .line_comment
            .as_deref()
            .unwrap()
            .contains("flux-system:side"));
        let b = sites.iter().find(|s| s.value == "--b").unwrap();
        assert!(b.in_flow);
        assert_eq!(
            path_to_string(&b.path),
            ".spec.template.spec.containers[1].args[1]"
        );
        let tag = sites
            .iter()
            .find(|s| s.document == 1 && s.value == "v1")
            .unwrap();
        assert_eq!(path_to_string(&tag.path), ".images[0].newTag");
    }

    #[test]
    fn edits_keep_every_other_byte() {
        let path = [key("images"), PathSegment::Index(0), key("newTag")];
        let out = set_scalar(DOC, 1, &path, "v2").unwrap();
        assert_eq!(out, DOC.replace("newTag: v1 #", "newTag: v2 #"));
        // A string that would read as a number gets quotes, as kyaml writes it.
        let out = set_scalar(DOC, 1, &path, "1.10").unwrap();
        assert_eq!(out, DOC.replace("newTag: v1 #", "newTag: \"1.10\" #"));
        let sites = scalars(DOC).unwrap();
        let edits: Vec<Edit> = sites
            .iter()
            .filter(|s| {
                s.line_comment
                    .as_deref()
                    .is_some_and(|c| c.contains("$imagepolicy"))
            })
            .map(|s| Edit {
                site: s.clone(),
                value: format!("{}-new", s.value),
            })
            .collect();
        let out = apply(DOC, &edits).unwrap();
        assert!(out.contains("image: ghcr.io/org/app:1.0.0-new # {"));
        assert!(out.contains("image: \"docker.io/side:v2-new\"  # {"));
        assert!(out.contains("newTag: v1-new # {"));
        assert_eq!(out.lines().count(), DOC.lines().count());
        // The edited text still parses to the same structure with the new values.
        let before = crate::from_str_multi(DOC).unwrap();
        let after = crate::from_str_multi(&out).unwrap();
        assert_eq!(before.len(), after.len());
    }

    #[test]
    fn quoting_follows_the_original_style() {
        let doc = "a: 'x'\nb: \"y\"\nc: z\nd: [p, q]\n";
        let out = set_scalar(doc, 0, &[key("a")], "it's").unwrap();
        assert_eq!(out, "a: 'it''s'\nb: \"y\"\nc: z\nd: [p, q]\n");
        let out = set_scalar(doc, 0, &[key("b")], "tab\there").unwrap();
        assert_eq!(out, "a: 'x'\nb: \"tab\\there\"\nc: z\nd: [p, q]\n");
        let out = set_scalar(doc, 0, &[key("c")], "a: b").unwrap();
        assert_eq!(out, "a: 'x'\nb: \"y\"\nc: \"a: b\"\nd: [p, q]\n");
        let out = set_scalar(doc, 0, &[key("d"), PathSegment::Index(1)], "r,s").unwrap();
        assert_eq!(out, "a: 'x'\nb: \"y\"\nc: z\nd: [p, \"r,s\"]\n");
        assert!(matches!(
            set_scalar(doc, 0, &[key("nope")], "x"),
            Err(EditError::NotFound { .. })
        ));
        assert!(matches!(
            set_scalar("a: |\n  x\n", 0, &[key("a")], "y"),
            Err(EditError::BlockScalar { .. })
        ));
    }
}
