//! Source repairs for the places where go-yaml (YAML 1.1, libyaml) is more lenient than the
//! YAML 1.2 tokenizer used here. Each repair is value-neutral: it only changes whitespace the
//! reader discards, or an escape into the character it stands for, so the text can be
//! tokenized again and yields what go-yaml reads.

use crate::error::{Error, Location};

/// Most repairs tried on one text before giving up with the tokenizer's error.
pub(super) const MAX_REPAIRS: usize = 200;

/// Byte offset of a 1-based line and 0-based character column, if inside the text.
fn offset(src: &str, line: usize, col: usize) -> Option<usize> {
    let mut start = 0;
    for _ in 1..line {
        start += src[start..].find('\n')? + 1;
    }
    let mut chars = src[start..].char_indices();
    for _ in 0..col {
        chars.next()?;
    }
    Some(start + chars.next().map_or(src.len() - start, |(i, _)| i))
}

/// A repaired copy of `src` for the tokenizer error at `at` (lines relative to `src` after
/// removing `line_offset`), or `None` when the error is a real one.
pub(super) fn repair(src: &str, err: &Error, line_offset: usize) -> Option<String> {
    let Error::Syntax { at, message } = err else {
        return None;
    };
    let Location { line, column, .. } = at;
    let pos = offset(src, line.checked_sub(line_offset)?, column.checked_sub(1)?)?;
    if message.contains("must be followed by a valid YAML whitespace") {
        // go-yaml accepts tabs after ':' and '-': make them spaces.
        let mut start = pos;
        while start > 0 && matches!(src.as_bytes()[start - 1], b' ' | b'\t') {
            start -= 1;
        }
        if !src[start..pos].contains('\t') {
            return None;
        }
        return Some(format!(
            "{}{}{}",
            &src[..start],
            " ".repeat(pos - start),
            &src[pos..]
        ));
    }
    if message.contains("invalid indentation in quoted scalar") {
        return indent_quoted(src, pos);
    }
    if message.contains("unknown escape character") {
        return unescape_apostrophes(src, pos);
    }
    None
}

/// Walks the quoted scalar starting at `pos`, calling `f` with the byte offset of each
/// character inside; returns the offset just past the closing quote.
fn scan_quoted(src: &str, pos: usize, mut f: impl FnMut(usize, char)) -> Option<usize> {
    let quote = src[pos..].chars().next()?;
    if quote != '"' && quote != '\'' {
        return None;
    }
    let mut it = src[pos + 1..].char_indices().peekable();
    while let Some((i, c)) = it.next() {
        let at = pos + 1 + i;
        if quote == '"' && c == '\\' {
            f(at, c);
            if let Some((j, e)) = it.next() {
                f(pos + 1 + j, e);
            }
            continue;
        }
        if c == quote {
            if quote == '\'' && it.peek().map(|&(_, n)| n) == Some('\'') {
                it.next();
                continue;
            }
            return Some(at + 1);
        }
        f(at, c);
    }
    None
}

/// go-yaml accepts continuation lines of quoted scalars at any indentation; their leading
/// blanks are discarded, so indenting them changes nothing but satisfies the tokenizer.
fn indent_quoted(src: &str, pos: usize) -> Option<String> {
    let line_start = src[..pos].rfind('\n').map_or(0, |i| i + 1);
    let width = src[line_start..pos].chars().count() + 1;
    let mut starts = Vec::new();
    scan_quoted(src, pos, |at, c| {
        if c == '\n' {
            starts.push(at + 1);
        }
    })?;
    if starts.is_empty() {
        return None;
    }
    let pad = " ".repeat(width);
    let mut out = String::with_capacity(src.len() + starts.len() * width);
    let mut last = 0;
    for s in starts {
        out.push_str(&src[last..s]);
        out.push_str(&pad);
        last = s;
    }
    out.push_str(&src[last..]);
    Some(out)
}

/// go-yaml reads `\'` in a double-quoted scalar as an apostrophe.
fn unescape_apostrophes(src: &str, pos: usize) -> Option<String> {
    let mut cuts = Vec::new();
    let mut prev_backslash = None;
    scan_quoted(src, pos, |at, c| match (prev_backslash.take(), c) {
        (Some(b), '\'') => cuts.push(b),
        (None, '\\') => prev_backslash = Some(at),
        _ => {}
    })?;
    if cuts.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(src.len());
    let mut last = 0;
    for c in cuts {
        out.push_str(&src[last..c]);
        last = c + 1;
    }
    out.push_str(&src[last..]);
    Some(out)
}

/// Whether the double-quoted scalar at `pos` uses the `\/` escape, which YAML 1.2 has and
/// go-yaml rejects ("found unknown escape character").
pub(super) fn has_slash_escape(src: &str, pos: usize) -> bool {
    let mut found = false;
    let mut prev_backslash = false;
    let _ = scan_quoted(src, pos, |_, c| {
        if prev_backslash && c == '/' {
            found = true;
        }
        prev_backslash = !prev_backslash && c == '\\';
    });
    found
}
