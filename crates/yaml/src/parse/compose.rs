//! Builds JSON values from saphyr-parser events: anchors and aliases (with an expansion budget),
//! merge keys, duplicate keys, depth limit; iterative, so deep input cannot overflow the stack.

use std::collections::HashMap;

use saphyr_parser::{Event, Marker, Parser, ScalarStyle, ScanError, Span, StrInput, Tag};
use serde_json::{Map, Value};

use super::scalar::{scalar, KeyKind};
use super::ParseOptions;
use crate::error::{Error, Location};

/// A finished node: its value, how many nodes it holds (for the alias budget) and its key kind.
#[derive(Clone)]
struct Node {
    value: Value,
    count: usize,
    key: KeyKind,
    /// Source text of an untagged plain scalar that is not a string: kyaml's round trip
    /// quotes it wherever it lands inside a flow collection, aliases included.
    plain_text: Option<String>,
}

/// The string an untagged plain non-string scalar becomes inside a flow collection, if go-yaml
/// v3 cannot write it plain there (it holds a ':' like a timestamp's time, or an indicator).
fn quoted_in_flow(text: &str) -> Option<Value> {
    (!crate::emit::scalar::analyze(text).flow_plain_allowed)
        .then(|| Value::String(text.to_string()))
}

enum Frame {
    Seq {
        anchor: usize,
        flow: bool,
        items: Vec<Value>,
        count: usize,
    },
    Map {
        anchor: usize,
        flow: bool,
        top: bool,
        map: Map<String, Value>,
        lines: HashMap<String, usize>,
        merge: Option<(Value, Marker)>,
        key: Option<(KeyKind, Marker)>,
        count: usize,
    },
}

impl Frame {
    fn flow(&self) -> bool {
        match self {
            Frame::Seq { flow, .. } | Frame::Map { flow, .. } => *flow,
        }
    }
}

/// Reads documents one at a time from a text.
pub(super) struct Composer<'a> {
    src: &'a str,
    parser: Parser<'a, StrInput<'a>>,
    opts: &'a ParseOptions,
    line_offset: usize,
    anchors: HashMap<usize, Node>,
    expanded: usize,
    stack: Vec<Frame>,
    /// Cursor turning saphyr's character indices into byte offsets (events move forward).
    cursor: (usize, usize),
}

fn tag_name(tag: &Tag) -> Option<String> {
    let full = format!("{}{}", tag.handle, tag.suffix);
    if full == "!" {
        // The non-specific tag: resolve as if untagged.
        return None;
    }
    Some(match full.strip_prefix("tag:yaml.org,2002:") {
        Some(short) => format!("!!{short}"),
        None => full,
    })
}

/// Characters go-yaml v3 writes but then refuses to read back (C1 controls, DEL, U+FFFE/F):
/// kustomize fails on resources whose values hold them.
fn breaks_kyaml_round_trip(c: char) -> bool {
    matches!(c as u32, 0x7F..=0x84 | 0x86..=0x9F | 0xFFFE | 0xFFFF)
}

/// Characters the go-yaml reader accepts in a YAML text.
fn allowed_in_source(c: char) -> bool {
    matches!(c as u32, 0x9 | 0xA | 0xD | 0x20..=0x7E | 0x85 | 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x10000..)
}

/// Rejects characters go-yaml's reader refuses, naming the first one's position.
pub(super) fn check_source(src: &str, line_offset: usize) -> Result<(), Error> {
    // Fast path: printable ASCII with tabs and line breaks is always allowed.
    if src
        .bytes()
        .all(|b| (0x20..0x7F).contains(&b) || matches!(b, b'\n' | b'\t' | b'\r'))
    {
        return Ok(());
    }
    let Some(pos) = src.find(|c: char| !allowed_in_source(c)) else {
        return Ok(());
    };
    let before = &src[..pos];
    let line = before.matches('\n').count() + 1 + line_offset;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let c = src[pos..].chars().next().unwrap_or('\0');
    Err(Error::Syntax {
        at: Location {
            file: None,
            line,
            column,
        },
        message: format!(
            "control characters are not allowed (U+{:04X}); write it as an escape in a double-quoted string",
            c as u32
        ),
    })
}

impl<'a> Composer<'a> {
    pub(super) fn new(src: &'a str, opts: &'a ParseOptions, line_offset: usize) -> Self {
        Composer {
            src,
            parser: Parser::new_from_str(src),
            opts,
            line_offset,
            anchors: HashMap::new(),
            expanded: 0,
            stack: Vec::new(),
            cursor: (0, 0),
        }
    }

    fn loc(&self, m: &Marker) -> Location {
        Location {
            file: None,
            line: m.line() + self.line_offset,
            column: m.col() + 1,
        }
    }

    fn syntax(&self, e: &ScanError) -> Error {
        Error::Syntax {
            at: self.loc(e.marker()),
            message: e.info().to_string(),
        }
    }

    fn unsupported(&self, m: &Marker, message: impl Into<String>) -> Error {
        Error::Unsupported {
            at: self.loc(m),
            message: message.into(),
        }
    }

    /// The character at a character index of the source.
    fn char_at(&mut self, index: usize) -> Option<char> {
        let b = self.byte_at(index);
        self.src[b..].chars().next()
    }

    /// The byte offset of a character index of the source (its end if past it).
    fn byte_at(&mut self, index: usize) -> usize {
        let (mut ci, mut bi) = self.cursor;
        if index < ci {
            (ci, bi) = (0, 0);
        }
        let mut chars = self.src[bi..].chars();
        while ci < index {
            match chars.next() {
                Some(c) => bi += c.len_utf8(),
                None => break,
            }
            ci += 1;
        }
        self.cursor = (ci, bi);
        bi
    }

    /// Whether a collection starting at `span` is written in flow style (`{`/`[`).
    fn starts_flow(&mut self, span: &Span) -> bool {
        if span.end.index() <= span.start.index() {
            return false;
        }
        matches!(self.char_at(span.end.index() - 1), Some('{' | '['))
    }

    /// Reads the next document; `None` at the end of the stream.
    pub(super) fn next_document(&mut self) -> Result<Option<Value>, Error> {
        let mut root: Option<Value> = None;
        let mut in_doc = false;
        while let Some(ev) = self.parser.next_event() {
            let (ev, span) = ev.map_err(|e| self.syntax(&e))?;
            match ev {
                Event::StreamStart | Event::Nothing => {}
                Event::StreamEnd => break,
                Event::DocumentStart(_) => {
                    in_doc = true;
                    self.anchors.clear();
                    self.expanded = 0;
                }
                Event::DocumentEnd => return Ok(Some(root.unwrap_or(Value::Null))),
                other => {
                    if let Some(node) = self.event(other, span)? {
                        root = Some(node.value);
                    }
                }
            }
        }
        Ok(if in_doc {
            Some(root.unwrap_or(Value::Null))
        } else {
            None
        })
    }

    /// The start of the next document that holds something (empty and `null` documents, such
    /// as the one a trailing `---` opens, do not count).
    pub(super) fn next_nonempty_document(&mut self) -> Result<Option<Location>, Error> {
        loop {
            let mut start = None;
            while let Some(ev) = self.parser.next_event() {
                let (ev, span) = ev.map_err(|e| self.syntax(&e))?;
                if let Event::DocumentStart(_) = ev {
                    start = Some(self.loc(&span.start));
                    break;
                }
            }
            let Some(at) = start else {
                return Ok(None);
            };
            // Re-enter the document just started: read its content.
            let mut root: Option<Value> = None;
            while let Some(ev) = self.parser.next_event() {
                let (ev, span) = ev.map_err(|e| self.syntax(&e))?;
                match ev {
                    Event::DocumentEnd | Event::StreamEnd => break,
                    Event::StreamStart | Event::Nothing | Event::DocumentStart(_) => {}
                    other => {
                        if let Some(node) = self.event(other, span)? {
                            root = Some(node.value);
                        }
                    }
                }
            }
            if root.is_some_and(|v| !v.is_null()) {
                return Ok(Some(at));
            }
        }
    }

    /// Whether the next node is a mapping key.
    fn expects_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { key: None, .. }))
    }

    fn in_flow(&self) -> bool {
        self.stack.last().is_some_and(Frame::flow)
    }

    /// Feeds one event; returns the root node when a document's top node completes.
    fn event(&mut self, ev: Event<'_>, span: Span) -> Result<Option<Node>, Error> {
        let at = span.start;
        let node = match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.as_deref().and_then(tag_name);
                let roundtrip = self.opts.kyaml_round_trip;
                let text = if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
                    && text.ends_with('\n')
                    && !self.src.ends_with('\n')
                    && self.byte_at(span.end.index()) >= self.src.len()
                {
                    // A block scalar ending the text without a final line break has none in
                    // go-yaml (the tokenizer here adds one).
                    let mut t = text.into_owned();
                    t.pop();
                    std::borrow::Cow::Owned(t)
                } else {
                    text
                };
                let text = if roundtrip && text.contains('\u{85}') && !self.expects_key() {
                    std::borrow::Cow::Owned(crate::folded::nel_roundtrip(&text))
                } else {
                    text
                };
                let text = if style == ScalarStyle::Folded && roundtrip {
                    std::borrow::Cow::Owned(
                        crate::folded::kyaml_roundtrip(&text)
                            .map_err(|m| self.unsupported(&at, m))?,
                    )
                } else {
                    text
                };
                if roundtrip && tag.as_deref() != Some("!!binary") {
                    let is_key = self.expects_key();
                    if let Some(c) = text
                        .chars()
                        .find(|&c| breaks_kyaml_round_trip(c) || (is_key && c == '\u{85}'))
                    {
                        return Err(self.unsupported(
                            &at,
                            format!(
                                "control characters are not allowed: U+{:04X} in this value makes \
                                 kustomize fail when it re-reads the resource; remove it",
                                c as u32
                            ),
                        ));
                    }
                }
                if style == ScalarStyle::DoubleQuoted {
                    let start = self.byte_at(span.start.index());
                    let quote = self.src[start..].find('"').map(|i| start + i);
                    if quote.is_some_and(|q| super::repair::has_slash_escape(self.src, q)) {
                        return Err(self.unsupported(
                            &at,
                            "found unknown escape character `\\/` (go-yaml does not know it); write `/`",
                        ));
                    }
                }
                if style == ScalarStyle::Plain
                    && self.in_flow()
                    && (text.starts_with('?') || text.starts_with(':'))
                {
                    // go-yaml takes '?' and ':' as indicators anywhere in flow context.
                    return Err(self.unsupported(
                        &at,
                        format!("go-yaml reads the leading '{}' of `{text}` inside [...] or {{...}} as an indicator; quote the value", &text[..1]),
                    ));
                }
                let mut s = scalar(&text, style, tag.as_deref(), self.opts.yaml11)
                    .map_err(|m| self.unsupported(&at, m))?;
                if self.opts.scalars_as_text
                    && !s.value.is_null()
                    && matches!(s.key, KeyKind::Other(_))
                    && tag.as_deref() != Some("!!binary")
                {
                    s.value = Value::String(text.to_string());
                }
                if roundtrip
                    && text.is_empty()
                    && style == ScalarStyle::Plain
                    && tag.is_none()
                    && (self.in_flow() || self.expects_key())
                {
                    // go-yaml v3 writes an empty plain scalar inside a flow collection or as a
                    // key as '', which kyaml then reads back as an empty string.
                    s.value = Value::String(String::new());
                    s.key = KeyKind::Str(String::new());
                }
                let plain_text = (roundtrip
                    && style == ScalarStyle::Plain
                    && tag.is_none()
                    && matches!(s.key, KeyKind::Other(_)))
                .then(|| text.to_string());
                if let Some(v) = plain_text
                    .as_deref()
                    .filter(|_| self.in_flow())
                    .and_then(quoted_in_flow)
                {
                    s.key = KeyKind::Str(text.to_string());
                    s.value = v;
                }
                let node = Node {
                    value: s.value,
                    count: 1,
                    key: s.key,
                    plain_text,
                };
                if anchor != 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                node
            }
            Event::Alias(id) => {
                let Some(node) = self.anchors.get(&id) else {
                    return Err(self.unsupported(&at, "unknown anchor referenced"));
                };
                self.expanded = self.expanded.saturating_add(node.count);
                if self.expanded > self.opts.max_alias_expansion {
                    return Err(Error::AliasLimit {
                        at: self.loc(&at),
                        limit: self.opts.max_alias_expansion,
                    });
                }
                let mut node = node.clone();
                if let Some(v) = node
                    .plain_text
                    .as_deref()
                    .filter(|_| self.in_flow())
                    .and_then(quoted_in_flow)
                {
                    node.key = KeyKind::Str(node.plain_text.clone().unwrap_or_default());
                    node.value = v;
                }
                node
            }
            Event::SequenceStart(anchor, _) => {
                self.check_depth(&at)?;
                let flow = self.in_flow() || self.starts_flow(&span);
                self.stack.push(Frame::Seq {
                    anchor,
                    flow,
                    items: Vec::new(),
                    count: 1,
                });
                return Ok(None);
            }
            Event::MappingStart(anchor, _) => {
                self.check_depth(&at)?;
                let flow = self.in_flow() || self.starts_flow(&span);
                let top = self.stack.is_empty();
                self.stack.push(Frame::Map {
                    anchor,
                    flow,
                    top,
                    map: Map::new(),
                    lines: HashMap::new(),
                    merge: None,
                    key: None,
                    count: 1,
                });
                return Ok(None);
            }
            Event::SequenceEnd => match self.stack.pop() {
                Some(Frame::Seq {
                    anchor,
                    items,
                    count,
                    ..
                }) => self.finish(anchor, Value::Array(items), count),
                _ => return Err(self.unsupported(&at, "unbalanced sequence end")),
            },
            Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Map {
                    anchor,
                    mut map,
                    merge,
                    count,
                    ..
                }) => {
                    if let Some((merged, mat)) = merge {
                        self.apply_merge(&mut map, merged, &mat)?;
                    }
                    self.finish(anchor, Value::Object(map), count)
                }
                _ => return Err(self.unsupported(&at, "unbalanced mapping end")),
            },
            _ => return Ok(None),
        };
        self.attach(node, &at)
    }

    fn finish(&mut self, anchor: usize, value: Value, count: usize) -> Node {
        let node = Node {
            value,
            count,
            key: KeyKind::Collection,
            plain_text: None,
        };
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        node
    }

    /// Merges `<<` values: explicit keys win, then the first listed map.
    fn apply_merge(
        &self,
        map: &mut Map<String, Value>,
        merged: Value,
        at: &Marker,
    ) -> Result<(), Error> {
        let bad = || {
            self.unsupported(
                at,
                "map merge requires map or sequence of maps as the value",
            )
        };
        let sources = match merged {
            Value::Object(m) => vec![m],
            Value::Array(items) => {
                let mut maps = Vec::with_capacity(items.len());
                for item in items {
                    match item {
                        Value::Object(m) => maps.push(m),
                        _ => return Err(bad()),
                    }
                }
                maps
            }
            _ => return Err(bad()),
        };
        for m in sources {
            for (k, v) in m {
                map.entry(k).or_insert(v);
            }
        }
        Ok(())
    }

    fn check_depth(&self, at: &Marker) -> Result<(), Error> {
        if self.stack.len() >= self.opts.max_depth {
            return Err(Error::TooDeep {
                at: self.loc(at),
                limit: self.opts.max_depth,
            });
        }
        Ok(())
    }

    /// Adds a finished node to its parent, or returns it when it is the document root.
    fn attach(&mut self, node: Node, at: &Marker) -> Result<Option<Node>, Error> {
        let line_offset = self.line_offset;
        let loc = |m: &Marker| Location {
            file: None,
            line: m.line() + line_offset,
            column: m.col() + 1,
        };
        let Some(parent) = self.stack.last_mut() else {
            return Ok(Some(node));
        };
        match parent {
            Frame::Seq { items, count, .. } => {
                *count = count.saturating_add(node.count);
                items.push(node.value);
            }
            Frame::Map {
                top,
                map,
                lines,
                merge,
                key,
                count,
                ..
            } => {
                *count = count.saturating_add(node.count);
                let Some((k, kat)) = key.take() else {
                    if node.key == KeyKind::Collection {
                        return Err(Error::Unsupported {
                            at: loc(at),
                            message: "invalid map key: a sequence or mapping cannot be a key"
                                .to_string(),
                        });
                    }
                    *key = Some((node.key, *at));
                    return Ok(None);
                };
                let name = match k {
                    KeyKind::Merge => {
                        if merge.is_some() {
                            return Err(Error::Unsupported {
                                at: loc(&kat),
                                message: "duplicate merge key".to_string(),
                            });
                        }
                        *merge = Some((node.value, kat));
                        return Ok(None);
                    }
                    KeyKind::DroppedMerge => return Ok(None),
                    KeyKind::Str(s) => s,
                    KeyKind::Other(s) if *top => s,
                    KeyKind::Other(s) => {
                        return Err(Error::Unsupported {
                            at: loc(&kat),
                            message: format!(
                                "map key {s:?} is not a string (it reads as a number, boolean, \
                                 null or timestamp) and kustomize cannot convert such a map to \
                                 JSON; quote the key"
                            ),
                        })
                    }
                    KeyKind::Collection => String::new(),
                };
                if let Some(first) = lines
                    .get(&name)
                    .filter(|_| !self.opts.duplicate_keys_last_wins)
                {
                    return Err(Error::DuplicateKey {
                        at: loc(&kat),
                        key: name,
                        first_line: *first,
                    });
                }
                lines.insert(name.clone(), kat.line() + line_offset);
                map.insert(name, node.value);
            }
        }
        Ok(None)
    }
}
