//! YAML emitter byte-compatible with kubectl's output path (JSON → sigs.k8s.io/yaml → go-yaml v2).
//!
//! The state machine mirrors go-yaml v2's port of libyaml's emitter (column, indent stack,
//! `whitespace`/`indention` flags) because line folding and block-scalar indentation depend on
//! those exact positions. The rules it reproduces, each checked against `kubectl kustomize`:
//!
//! - Keys: go-yaml v2's order (letters by code point; runs of digits compared as numbers, a
//!   shorter run first on ties; a letter sorts after a non-letter). Keys over 128 bytes or
//!   holding line breaks are written as `? key` / `: value`.
//! - Layout: 2-space indent; a sequence under a key is not indented (`key:\n- a`); empty
//!   collections are `{}` / `[]`; null is `null`.
//! - Strings that would read back as another type under YAML 1.1 (`yes`, `on`, `y`, `~`,
//!   `1e3`, `0x1F`, `012`, `1_000`, `.inf`, timestamps, base-60 `1:20`, the empty string) are
//!   double-quoted. Other strings are plain when libyaml allows it, else single-quoted, else
//!   (non-printable characters, tabs, a space next to a line break) double-quoted with escapes
//!   (`\t`, `\xNN`, `\uNNNN`, `\UNNNNNNNN`; characters outside the BMP are escaped too; a
//!   string starting with a BOM has every character escaped, a go-yaml quirk).
//! - Strings holding `\n` are literal block scalars, `|`, `|-` (no final break) or `|+` (more
//!   than one), with `|2` when the text starts with a space or a break; in keys, or when a line
//!   ends with a space or a character is non-printable, double-quoted instead.
//! - Plain, single- and double-quoted scalars fold at the first single space past column 80
//!   (continuation indented two spaces deeper than the key); double-quoted continuations escape
//!   a following space with `\`.
//! - Numbers as Go prints them after a JSON round trip: integers as such, floats that are whole
//!   and fit int64/uint64 as integers, others with `strconv.FormatFloat(f, 'g', -1, 64)`
//!   (shortest digits; exponent form `1.2345675e+06` when the decimal exponent is below -4 or
//!   at least 6).

mod keys;
pub(crate) mod scalar;

use serde_json::Value;

use crate::number::format_number;
use scalar::{analyze, Analysis};

const BEST_INDENT: isize = 2;
/// go-yaml v2.4's default line width: plain and quoted scalars fold at a space past column 80.
const BEST_WIDTH: usize = 80;
/// Keys longer than this (bytes) are written as complex keys (`? key`).
const MAX_SIMPLE_KEY: usize = 128;

/// Serialises one document as kubectl kustomize prints it (ends with a newline, no `---`).
pub fn to_string(v: &Value) -> String {
    let mut e = Emitter::new();
    e.node(v, Ctx::ROOT);
    e.write_indent();
    e.out
}

/// Serialises documents joined by `---` lines, as kubectl kustomize prints a stream.
pub fn to_string_multi(docs: &[Value]) -> String {
    let mut out = String::new();
    for (i, d) in docs.iter().enumerate() {
        if i > 0 {
            out.push_str("---\n");
        }
        out.push_str(&to_string(d));
    }
    out
}

#[derive(Clone, Copy)]
struct Ctx {
    mapping: bool,
    simple_key: bool,
}

impl Ctx {
    const ROOT: Ctx = Ctx {
        mapping: false,
        simple_key: false,
    };
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Style {
    Plain,
    Single,
    Double,
    Literal,
}

struct Emitter {
    out: String,
    column: usize,
    indent: isize,
    indents: Vec<isize>,
    whitespace: bool,
    indention: bool,
    flow_level: usize,
}

impl Emitter {
    fn new() -> Self {
        Emitter {
            out: String::new(),
            column: 0,
            indent: -1,
            indents: Vec::new(),
            whitespace: true,
            indention: true,
            flow_level: 0,
        }
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { BEST_INDENT } else { 0 };
        } else if !indentless {
            self.indent += BEST_INDENT;
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn put(&mut self, c: char) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0) as usize;
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(&mut self, ind: &str, need_ws: bool, is_ws: bool, is_indention: bool) {
        if need_ws && !self.whitespace {
            self.put(' ');
        }
        for c in ind.chars() {
            self.put(c);
        }
        self.whitespace = is_ws;
        self.indention = self.indention && is_indention;
    }

    fn node(&mut self, v: &Value, ctx: Ctx) {
        match v {
            Value::Object(m) if m.is_empty() => self.empty_flow("{", "}"),
            Value::Array(a) if a.is_empty() => self.empty_flow("[", "]"),
            Value::Object(m) => {
                let mut entries: Vec<(&str, &Value)> =
                    m.iter().map(|(k, v)| (k.as_str(), v)).collect();
                keys::sort_keys(&mut entries);
                self.block_mapping(&entries);
            }
            Value::Array(a) => self.block_sequence(a, ctx),
            Value::Null => self.scalar_plain("null", ctx),
            Value::Bool(b) => self.scalar_plain(if *b { "true" } else { "false" }, ctx),
            Value::Number(n) => self.scalar_plain(&format_number(n), ctx),
            Value::String(s) => self.string(s, ctx),
        }
    }

    fn empty_flow(&mut self, open: &str, close: &str) {
        self.write_indicator(open, true, true, false);
        self.increase_indent(true, false);
        self.flow_level += 1;
        self.flow_level -= 1;
        self.pop_indent();
        self.write_indicator(close, false, false, false);
    }

    fn block_sequence(&mut self, items: &[Value], ctx: Ctx) {
        self.increase_indent(false, ctx.mapping && !self.indention);
        for item in items {
            self.write_indent();
            self.write_indicator("-", true, false, true);
            self.node(
                item,
                Ctx {
                    mapping: false,
                    simple_key: false,
                },
            );
        }
        self.pop_indent();
    }

    fn block_mapping(&mut self, entries: &[(&str, &Value)]) {
        self.increase_indent(false, false);
        for (k, v) in entries {
            self.write_indent();
            let a = analyze(k);
            if !a.multiline && k.len() <= MAX_SIMPLE_KEY {
                self.string_analyzed(
                    k,
                    &a,
                    Ctx {
                        mapping: true,
                        simple_key: true,
                    },
                );
                self.write_indicator(":", false, false, false);
            } else {
                self.write_indicator("?", true, false, true);
                self.string_analyzed(
                    k,
                    &a,
                    Ctx {
                        mapping: true,
                        simple_key: false,
                    },
                );
                self.write_indent();
                self.write_indicator(":", true, false, true);
            }
            self.node(
                v,
                Ctx {
                    mapping: true,
                    simple_key: false,
                },
            );
        }
        self.pop_indent();
    }

    /// Numbers, booleans and null: always plain, never folded (they hold no spaces).
    fn scalar_plain(&mut self, text: &str, ctx: Ctx) {
        let a = analyze(text);
        self.increase_indent(true, false);
        self.write_plain(text, !ctx.simple_key, &a);
        self.pop_indent();
    }

    fn string(&mut self, s: &str, ctx: Ctx) {
        let a = analyze(s);
        self.string_analyzed(s, &a, ctx);
    }

    fn string_analyzed(&mut self, s: &str, a: &Analysis, ctx: Ctx) {
        let style = self.select_style(s, a, ctx);
        self.increase_indent(true, false);
        let allow_breaks = !ctx.simple_key;
        match style {
            Style::Plain => self.write_plain(s, allow_breaks, a),
            Style::Single => self.write_single(s, allow_breaks),
            Style::Double => self.write_double(s, allow_breaks),
            Style::Literal => self.write_literal(s),
        }
        self.pop_indent();
    }

    /// go-yaml v2's `stringv` request followed by libyaml's `select_scalar_style`.
    fn select_style(&self, s: &str, a: &Analysis, ctx: Ctx) -> Style {
        let mut style = if s.contains('\n') {
            Style::Literal
        } else if crate::resolve::v2_needs_quotes(s) {
            Style::Double
        } else {
            Style::Plain
        };
        if ctx.simple_key && a.multiline {
            style = Style::Double;
        }
        if style == Style::Plain {
            let allowed = if self.flow_level > 0 {
                a.flow_plain_allowed
            } else {
                a.block_plain_allowed
            };
            if !allowed || (s.is_empty() && (self.flow_level > 0 || ctx.simple_key)) {
                style = Style::Single;
            }
        }
        if style == Style::Single && !a.single_quoted_allowed {
            style = Style::Double;
        }
        if style == Style::Literal && (!a.block_allowed || self.flow_level > 0 || ctx.simple_key) {
            style = Style::Double;
        }
        style
    }

    fn write_plain(&mut self, s: &str, allow_breaks: bool, _a: &Analysis) {
        if !self.whitespace {
            self.put(' ');
        }
        let mut chars = s.chars().peekable();
        let mut spaces = false;
        let mut breaks = false;
        while let Some(c) = chars.next() {
            if c == ' ' {
                let next_space = chars.peek() == Some(&' ');
                if allow_breaks && !spaces && self.column > BEST_WIDTH && !next_space {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if scalar::is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_break(&mut self, c: char) {
        if c == '\n' {
            self.put_break();
        } else {
            self.out.push(c);
            self.column = 0;
        }
    }

    fn write_single(&mut self, s: &str, allow_breaks: bool) {
        self.write_indicator("'", true, false, false);
        let mut chars = s.chars().peekable();
        let mut spaces = false;
        let mut breaks = false;
        let mut first = true;
        while let Some(c) = chars.next() {
            let at_start = std::mem::replace(&mut first, false);
            if c == ' ' {
                let next = chars.peek().copied();
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && !at_start
                    && next.is_some()
                    && next != Some(' ')
                {
                    self.write_indent();
                } else {
                    self.put(c);
                }
                spaces = true;
            } else if scalar::is_break(c) {
                if !breaks && c == '\n' {
                    self.put_break();
                }
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if c == '\'' {
                    self.put('\'');
                }
                self.put(c);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator("'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double(&mut self, s: &str, allow_breaks: bool) {
        self.write_indicator("\"", true, false, false);
        // go-yaml's is_bom looks at the start of the string, not at the current character:
        // a string that starts with a BOM gets every character escaped.
        let starts_with_bom = s.starts_with('\u{FEFF}');
        let bytes_len = s.len();
        let mut spaces = false;
        let mut iter = s.char_indices().peekable();
        while let Some((i, c)) = iter.next() {
            if !scalar::is_printable(c)
                || starts_with_bom
                || scalar::is_break(c)
                || c == '"'
                || c == '\\'
            {
                self.put('\\');
                match c {
                    '\0' => self.put('0'),
                    '\u{7}' => self.put('a'),
                    '\u{8}' => self.put('b'),
                    '\t' => self.put('t'),
                    '\n' => self.put('n'),
                    '\u{b}' => self.put('v'),
                    '\u{c}' => self.put('f'),
                    '\r' => self.put('r'),
                    '\u{1b}' => self.put('e'),
                    '"' => self.put('"'),
                    '\\' => self.put('\\'),
                    '\u{85}' => self.put('N'),
                    '\u{a0}' => self.put('_'),
                    '\u{2028}' => self.put('L'),
                    '\u{2029}' => self.put('P'),
                    _ => {
                        let v = c as u32;
                        let (ind, width) = if v <= 0xFF {
                            ('x', 2)
                        } else if v <= 0xFFFF {
                            ('u', 4)
                        } else {
                            ('U', 8)
                        };
                        self.put(ind);
                        for k in (0..width).rev() {
                            let d = (v >> (k * 4)) & 0xF;
                            self.put(char::from_digit(d, 16).unwrap_or('0').to_ascii_uppercase());
                        }
                    }
                }
                spaces = false;
            } else if c == ' ' {
                if allow_breaks
                    && !spaces
                    && self.column > BEST_WIDTH
                    && i != 0
                    && i != bytes_len - 1
                {
                    self.write_indent();
                    if iter.peek().map(|&(_, n)| n) == Some(' ') {
                        self.put('\\');
                    }
                } else {
                    self.put(c);
                }
                spaces = true;
            } else {
                self.put(c);
                spaces = false;
            }
        }
        self.write_indicator("\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_literal(&mut self, s: &str) {
        self.write_indicator("|", true, false, false);
        // Block scalar hints: an explicit indentation when the text starts with a space or break,
        // then chomping: '-' without a final break, '+' with more than one (or only a break).
        if s.starts_with(' ') || s.starts_with(scalar::is_break) {
            self.write_indicator(&BEST_INDENT.to_string(), false, false, false);
        }
        let mut tail = s.chars().rev();
        let chomp = match (tail.next(), tail.next()) {
            (None, _) => Some("-"),
            (Some(last), _) if !scalar::is_break(last) => Some("-"),
            (Some(_), None) => Some("+"),
            (Some(_), Some(prev)) if scalar::is_break(prev) => Some("+"),
            _ => None,
        };
        if let Some(ch) = chomp {
            self.write_indicator(ch, false, false, false);
        }
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        for c in s.chars() {
            if scalar::is_break(c) {
                self.write_break(c);
                self.indention = true;
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.put(c);
                self.indention = false;
                breaks = false;
            }
        }
    }
}
