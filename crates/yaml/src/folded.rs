//! What a folded block scalar (`>`) becomes after kyaml's encode-and-decode round trip.
//!
//! kustomize serialises every resource with go-yaml v3 (keeping each scalar's source style) and
//! reads it back before printing. go-yaml v3's folded-scalar writer decides whether a line
//! break needs an extra empty line by looking at the first character of the whole value instead
//! of the character after the break, so folded values change on the way: a value that starts
//! with a non-blank gains a line break before more-indented lines and at the end, one that
//! starts with a blank loses breaks between ordinary lines. This module reproduces both halves
//! (the buggy writer and libyaml's folded reader) so the result matches kubectl.

use crate::emit::scalar::{is_break, is_printable};

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// go-yaml v3's `block_allowed`: unlike v2 it accepts tabs in block scalars.
fn v3_block_allowed(chars: &[char]) -> bool {
    let trailing_space = chars.last() == Some(&' ');
    let space_break = chars.windows(2).any(|w| w[0] == ' ' && is_break(w[1]));
    let special = chars.iter().any(|&c| c != '\t' && !is_printable(c));
    !chars.is_empty() && !trailing_space && !space_break && !special
}

/// The value a folded scalar holds after kyaml's round trip, or the error go-yaml v3 reports
/// when reading back what it wrote.
pub(crate) fn kyaml_roundtrip(value: &str) -> Result<String, &'static str> {
    let chars: Vec<char> = value.chars().collect();
    if !v3_block_allowed(&chars) {
        // go-yaml writes such values double-quoted, which reads back unchanged.
        return Ok(value.to_string());
    }
    if chars[0] == '\t' {
        // Written without an indentation indicator, the first line's tab reads as indentation.
        return Err(
            "found a tab character where an indentation space is expected \
                    (kustomize fails on this folded scalar: start it with a non-tab character)",
        );
    }
    let chomp = chomping(&chars);
    // The writer's misplaced look-ahead: the first character after any leading breaks.
    let first_content_blank = chars
        .iter()
        .find(|c| !is_break(**c))
        .is_none_or(|&c| is_blank(c) || c == '\0');
    let mut body = String::new();
    let mut breaks = true;
    let mut leading_spaces = true;
    for &c in &chars {
        if is_break(c) {
            if !breaks && !leading_spaces && c == '\n' && !first_content_blank {
                body.push('\n');
            }
            body.push(c);
            breaks = true;
        } else {
            if breaks {
                leading_spaces = is_blank(c);
            }
            body.push(c);
            breaks = false;
        }
    }
    Ok(read_folded(&body, chomp))
}

#[derive(Clone, Copy, PartialEq)]
enum Chomp {
    Strip,
    Clip,
    Keep,
}

/// The chomping indicator go-yaml writes for a value (same rule as for literal scalars).
fn chomping(chars: &[char]) -> Chomp {
    match chars {
        [] => Chomp::Strip,
        [.., last] if !is_break(*last) => Chomp::Strip,
        [_] => Chomp::Keep,
        [.., prev, _] if is_break(*prev) => Chomp::Keep,
        _ => Chomp::Clip,
    }
}

/// libyaml's folded block scalar reader applied to body lines (indentation already removed).
fn read_folded(body: &str, chomp: Chomp) -> String {
    let mut lines: Vec<&str> = body.split('\n').collect();
    // The body ends with the writer's final break; the text after it is not a line.
    if body.ends_with('\n') {
        lines.pop();
    }
    let mut s = String::new();
    let mut leading_break = String::new();
    let mut trailing_breaks = String::new();
    let mut leading_blank = false;
    for line in lines {
        if line.is_empty() {
            trailing_breaks.push('\n');
            continue;
        }
        let first = line.chars().next().unwrap_or(' ');
        let trailing_blank = is_blank(first);
        if !leading_blank && !trailing_blank && leading_break.starts_with('\n') {
            if trailing_breaks.is_empty() {
                s.push(' ');
            }
        } else {
            s.push_str(&leading_break);
        }
        leading_break.clear();
        s.push_str(&trailing_breaks);
        trailing_breaks.clear();
        leading_blank = is_blank(first);
        s.push_str(line);
        leading_break.push('\n');
    }
    if chomp != Chomp::Strip {
        s.push_str(&leading_break);
    }
    if chomp == Chomp::Keep {
        s.push_str(&trailing_breaks);
    }
    s
}

/// What a value holding NEL (U+0085) becomes after kyaml's round trip: go-yaml writes the NEL
/// raw inside double quotes and reads it back as a line break, folding it with the spaces
/// around it like any line break in a quoted scalar (one break reads as a space, further
/// breaks as newlines). Escaped characters (tabs, newlines) are content and stay.
pub(crate) fn nel_roundtrip(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let mut out = String::with_capacity(value.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != ' ' && c != '\u{85}' {
            out.push(c);
            i += 1;
            continue;
        }
        let mut spaces = String::new();
        let mut breaks = 0;
        while i < chars.len() && (chars[i] == ' ' || chars[i] == '\u{85}') {
            if chars[i] == '\u{85}' {
                breaks += 1;
            } else if breaks == 0 {
                spaces.push(' ');
            }
            i += 1;
        }
        match breaks {
            0 => out.push_str(&spaces),
            1 => out.push(' '),
            n => (1..n).for_each(|_| out.push('\n')),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Observed with `kubectl kustomize` (kustomize v5.5.0): the source scalars below, read by
    // go-yaml as the left-hand values, are printed as the right-hand values.
    #[test]
    fn folded_values_change_as_kubectl_shows() {
        assert_eq!(
            kyaml_roundtrip("line one line two\npara\n").as_deref(),
            Ok("line one line two\npara\n")
        );
        assert_eq!(
            kyaml_roundtrip("a\n  indented\nb").as_deref(),
            Ok("a\n\n  indented\nb")
        );
    }

    // Observed with `kubectl kustomize`: double-quoted values with \N escapes print as these.
    #[test]
    fn nel_values_fold_as_kubectl_shows() {
        let cases = [
            ("x\u{85}\u{85}y", "x\ny"),
            ("\u{85}x", " x"),
            ("x\u{85}", "x "),
            ("x \u{85} y", "x y"),
            ("x\u{85}\u{85}", "x\n"),
            ("a\nb\u{85}c\n", "a\nb c\n"),
            ("a\tb\u{85}c", "a\tb c"),
            ("x\u{85}\u{85}\u{85}y", "x\n\ny"),
            ("x\u{85}\ny", "x \ny"),
        ];
        for (value, want) in cases {
            assert_eq!(nel_roundtrip(value), want, "{value:?}");
        }
    }
}
