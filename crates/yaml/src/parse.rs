//! YAML reader with go-yaml v3's semantics as kustomize (kyaml) applies them: streams, anchors,
//! merge keys, tags and the v3 scalar resolution, into `serde_json::Value`.

use std::collections::HashMap;

use base64::Engine as _;
use saphyr_parser::{Event, Marker, Parser, ScalarStyle, ScanError, Span, Tag};
use serde_json::{Map, Number, Value};

use crate::error::{Error, Location};
use crate::resolve::{resolve_plain, Dialect, Resolved};

/// Limits that keep hostile input from exhausting time or memory.
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// Most nodes that aliases may expand to in one stream (a "billion laughs" guard).
    pub max_alias_expansion: usize,
    /// Deepest nesting of collections allowed.
    pub max_depth: usize,
    /// Apply the changes kustomize's kyaml encode-and-decode round trip makes to a resource
    /// before printing it (folded `>` scalars gain or lose line breaks). Right for resources;
    /// turn off for files kustomize reads without kyaml (kustomization.yaml).
    pub kyaml_round_trip: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            max_alias_expansion: 1_000_000,
            max_depth: 1_000,
            kyaml_round_trip: true,
        }
    }
}

/// Parses exactly one document; an empty text is `null`.
pub fn from_str(src: &str) -> Result<Value, Error> {
    from_str_with(src, &ParseOptions::default())
}

/// [`from_str`] with explicit limits.
pub fn from_str_with(src: &str, opts: &ParseOptions) -> Result<Value, Error> {
    let mut docs = parse_stream(src, opts, false)?;
    if docs.len() > 1 {
        let (_, at) = docs.swap_remove(1);
        return Err(Error::MultipleDocuments { at });
    }
    Ok(docs.pop().map(|(v, _)| v).unwrap_or(Value::Null))
}

/// Parses a stream of documents, skipping empty ones (`null` documents) as kustomize does.
pub fn from_str_multi(src: &str) -> Result<Vec<Value>, Error> {
    from_str_multi_with(src, &ParseOptions::default())
}

/// [`from_str_multi`] with explicit limits.
pub fn from_str_multi_with(src: &str, opts: &ParseOptions) -> Result<Vec<Value>, Error> {
    Ok(parse_stream(src, opts, true)?
        .into_iter()
        .map(|(v, _)| v)
        .filter(|v| !v.is_null())
        .collect())
}

fn loc(m: &Marker) -> Location {
    Location {
        file: None,
        line: m.line(),
        column: m.col() + 1,
    }
}

fn syntax(e: &ScanError) -> Error {
    Error::Syntax {
        at: loc(e.marker()),
        message: e.info().to_string(),
    }
}

fn unsupported(m: &Marker, message: impl Into<String>) -> Error {
    Error::Unsupported {
        at: loc(m),
        message: message.into(),
    }
}

/// A finished node: its JSON value, how many nodes it holds (for the alias budget), and
/// whether it is a plain string usable as a key in a nested map (v3's `isStringMap`).
#[derive(Clone)]
struct Node {
    value: Value,
    count: usize,
    key: KeyKind,
}

#[derive(Clone, PartialEq)]
enum KeyKind {
    /// A `!!str` scalar: its text.
    Str(String),
    /// Another scalar: its source text (used as-is in the top-level map).
    Other(String),
    /// The merge key `<<`.
    Merge,
    Collection,
}

enum Frame {
    Seq {
        anchor: usize,
        items: Vec<Value>,
        count: usize,
    },
    Map {
        anchor: usize,
        start: Marker,
        top: bool,
        map: Map<String, Value>,
        lines: HashMap<String, usize>,
        merges: Vec<(Value, Marker)>,
        key: Option<(KeyKind, Marker)>,
        count: usize,
    },
}

struct Composer<'o> {
    opts: &'o ParseOptions,
    anchors: HashMap<usize, Node>,
    expanded: usize,
    stack: Vec<Frame>,
}

fn parse_stream(
    src: &str,
    opts: &ParseOptions,
    _multi: bool,
) -> Result<Vec<(Value, Location)>, Error> {
    let mut parser = Parser::new_from_str(src);
    let mut docs = Vec::new();
    let mut c = Composer {
        opts,
        anchors: HashMap::new(),
        expanded: 0,
        stack: Vec::new(),
    };
    let mut doc_start = Location::default();
    let mut root: Option<Value> = None;
    while let Some(ev) = parser.next_event() {
        let (ev, span) = ev.map_err(|e| syntax(&e))?;
        match ev {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => {}
            Event::DocumentStart(_) => {
                doc_start = loc(&span.start);
                root = None;
                c.anchors.clear();
            }
            Event::DocumentEnd => {
                docs.push((root.take().unwrap_or(Value::Null), doc_start.clone()));
            }
            other => {
                if let Some(node) = c.event(other, span)? {
                    root = Some(node.value);
                }
            }
        }
    }
    Ok(docs)
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

impl Composer<'_> {
    /// Feeds one event; returns the root node when a document's top node completes.
    fn event(&mut self, ev: Event<'_>, span: Span) -> Result<Option<Node>, Error> {
        let node = match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let tag = tag.as_deref().and_then(tag_name);
                let text = if style == ScalarStyle::Folded && self.opts.kyaml_round_trip {
                    std::borrow::Cow::Owned(
                        crate::folded::kyaml_roundtrip(&text)
                            .map_err(|m| unsupported(&span.start, m))?,
                    )
                } else {
                    text
                };
                let node = scalar(&text, style, tag.as_deref(), &span.start)?;
                if anchor != 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                node
            }
            Event::Alias(id) => {
                let Some(node) = self.anchors.get(&id) else {
                    return Err(unsupported(&span.start, "unknown anchor referenced"));
                };
                self.expanded = self.expanded.saturating_add(node.count);
                if self.expanded > self.opts.max_alias_expansion {
                    return Err(Error::AliasLimit {
                        at: loc(&span.start),
                        limit: self.opts.max_alias_expansion,
                    });
                }
                node.clone()
            }
            Event::SequenceStart(anchor, _) => {
                self.check_depth(&span.start)?;
                self.stack.push(Frame::Seq {
                    anchor,
                    items: Vec::new(),
                    count: 1,
                });
                return Ok(None);
            }
            Event::MappingStart(anchor, _) => {
                self.check_depth(&span.start)?;
                let top = self.stack.is_empty();
                self.stack.push(Frame::Map {
                    anchor,
                    start: span.start,
                    top,
                    map: Map::new(),
                    lines: HashMap::new(),
                    merges: Vec::new(),
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
                }) => {
                    let node = Node {
                        value: Value::Array(items),
                        count,
                        key: KeyKind::Collection,
                    };
                    if anchor != 0 {
                        self.anchors.insert(anchor, node.clone());
                    }
                    node
                }
                _ => return Err(unsupported(&span.start, "unbalanced sequence end")),
            },
            Event::MappingEnd => match self.stack.pop() {
                Some(Frame::Map {
                    anchor,
                    mut map,
                    merges,
                    count,
                    ..
                }) => {
                    // Explicit keys win over merged ones; among merged maps the first listed wins.
                    for (merged, at) in merges {
                        let sources = match merged {
                            Value::Object(m) => vec![m],
                            Value::Array(items) => {
                                let mut maps = Vec::new();
                                for item in items {
                                    match item {
                                        Value::Object(m) => maps.push(m),
                                        _ => return Err(bad_merge(&at)),
                                    }
                                }
                                maps
                            }
                            _ => return Err(bad_merge(&at)),
                        };
                        for m in sources {
                            for (k, v) in m {
                                map.entry(k).or_insert(v);
                            }
                        }
                    }
                    let node = Node {
                        value: Value::Object(map),
                        count,
                        key: KeyKind::Collection,
                    };
                    if anchor != 0 {
                        self.anchors.insert(anchor, node.clone());
                    }
                    node
                }
                _ => return Err(unsupported(&span.start, "unbalanced mapping end")),
            },
            _ => return Ok(None),
        };
        self.attach(node, &span.start)
    }

    fn check_depth(&self, at: &Marker) -> Result<(), Error> {
        if self.stack.len() >= self.opts.max_depth {
            return Err(Error::TooDeep {
                at: loc(at),
                limit: self.opts.max_depth,
            });
        }
        Ok(())
    }

    /// Adds a finished node to its parent, or returns it when it is the document root.
    fn attach(&mut self, node: Node, at: &Marker) -> Result<Option<Node>, Error> {
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
                merges,
                key,
                count,
                start,
                ..
            } => {
                *count = count.saturating_add(node.count);
                match key.take() {
                    None => {
                        if node.key == KeyKind::Collection {
                            return Err(unsupported(
                                at,
                                "invalid map key: a collection cannot be a key",
                            ));
                        }
                        *key = Some((node.key, *at));
                    }
                    Some((KeyKind::Merge, kat)) => merges.push((node.value, kat)),
                    Some((k, kat)) => {
                        let name = match k {
                            KeyKind::Str(s) => s,
                            KeyKind::Other(s) if *top => s,
                            KeyKind::Other(s) => {
                                return Err(unsupported(
                                    &kat,
                                    format!(
                                        "map key {s:?} is not a string (it reads as a number, \
                                         boolean, null or timestamp); quote it"
                                    ),
                                ))
                            }
                            KeyKind::Merge | KeyKind::Collection => String::new(),
                        };
                        if let Some(first) = lines.get(&name) {
                            return Err(Error::DuplicateKey {
                                at: loc(&kat),
                                key: name,
                                first_line: *first,
                            });
                        }
                        lines.insert(name.clone(), kat.line());
                        map.insert(name, node.value);
                        let _ = start;
                    }
                }
            }
        }
        Ok(None)
    }
}

fn bad_merge(at: &Marker) -> Error {
    unsupported(
        at,
        "map merge requires map or sequence of maps as the value",
    )
}

fn number_value(r: &Resolved, at: &Marker) -> Result<Value, Error> {
    Ok(match r {
        Resolved::Int(i) => Value::Number(Number::from(*i)),
        Resolved::Uint(u) => Value::Number(Number::from(*u)),
        Resolved::Float(f) => match Number::from_f64(*f) {
            Some(n) => Value::Number(n),
            None => {
                return Err(unsupported(
                    at,
                    format!(
                        "json: unsupported value: {}; quote it to keep it a string",
                        if f.is_nan() {
                            "NaN"
                        } else if *f > 0.0 {
                            "+Inf"
                        } else {
                            "-Inf"
                        }
                    ),
                ))
            }
        },
        _ => Value::Null,
    })
}

fn resolved_value(r: Resolved, text: &str, at: &Marker) -> Result<Value, Error> {
    Ok(match r {
        Resolved::Null => Value::Null,
        Resolved::Bool(b) => Value::Bool(b),
        Resolved::Int(_) | Resolved::Uint(_) | Resolved::Float(_) => number_value(&r, at)?,
        Resolved::Timestamp(t) => Value::String(t),
        Resolved::Merge | Resolved::Str => Value::String(text.to_string()),
    })
}

fn cannot_decode(text: &str, tag: &str, at: &Marker) -> Error {
    unsupported(at, format!("cannot decode !!str `{text}` as a {tag}"))
}

/// Resolves one scalar event to a node, honouring explicit tags as go-yaml v3 does.
fn scalar(text: &str, style: ScalarStyle, tag: Option<&str>, at: &Marker) -> Result<Node, Error> {
    let plain = style == ScalarStyle::Plain;
    let (value, key) = match tag {
        None if plain => {
            let r = resolve_plain(text, Dialect::V3);
            let key = match r {
                Resolved::Str => KeyKind::Str(text.to_string()),
                Resolved::Merge => KeyKind::Merge,
                _ => KeyKind::Other(text.to_string()),
            };
            (resolved_value(r, text, at)?, key)
        }
        None | Some("!!str") => (
            Value::String(text.to_string()),
            KeyKind::Str(text.to_string()),
        ),
        Some("!!binary") => {
            let clean: String = text.chars().filter(|c| !matches!(c, '\n' | '\r')).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(clean.as_bytes())
                .map_err(|_| unsupported(at, "!!binary value contains invalid base64 data"))?;
            let s = String::from_utf8_lossy(&bytes).into_owned();
            (Value::String(s.clone()), KeyKind::Other(s))
        }
        Some(t @ ("!!int" | "!!float" | "!!bool" | "!!null" | "!!timestamp")) => {
            let r = resolve_plain(text, Dialect::V3);
            let ok = matches!(
                (t, &r),
                ("!!int", Resolved::Int(_) | Resolved::Uint(_))
                    | (
                        "!!float",
                        Resolved::Int(_) | Resolved::Uint(_) | Resolved::Float(_)
                    )
                    | ("!!bool", Resolved::Bool(_))
                    | ("!!null", Resolved::Null)
                    | ("!!timestamp", Resolved::Timestamp(_))
            );
            if !ok {
                return Err(cannot_decode(text, t, at));
            }
            let r = match (t, r) {
                ("!!float", Resolved::Int(i)) => Resolved::Float(i as f64),
                ("!!float", Resolved::Uint(u)) => Resolved::Float(u as f64),
                (_, r) => r,
            };
            (
                resolved_value(r, text, at)?,
                KeyKind::Other(text.to_string()),
            )
        }
        Some("!!map" | "!!seq") => {
            return Err(unsupported(
                at,
                format!(
                    "cannot decode scalar `{text}` as a {}",
                    tag.unwrap_or_default()
                ),
            ))
        }
        // Any other tag (local `!foo`, unknown `!!x`): the text stays a string.
        Some(_) => (
            Value::String(text.to_string()),
            KeyKind::Str(text.to_string()),
        ),
    };
    Ok(Node {
        value,
        count: 1,
        key,
    })
}
