//! Differential tests: flotilla-yaml against `kubectl kustomize` (kustomize v5.5.0) at test time.
//!
//! Each test writes generated resources into a temporary kustomization, runs kubectl, and
//! requires flotilla-yaml's parse-then-print to give the same bytes (or both to fail).
#![allow(clippy::unwrap_used)]

mod common;

use common::{assert_same_as_kubectl, tricky_strings, Rng, HEADER};

/// A YAML double-quoted literal of `s` with everything outside printable ASCII escaped, so the
/// value reaches both readers unchanged.
fn dq(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c if (c as u32) <= 0xFFFF => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

#[test]
fn tricky_strings_print_like_kubectl() {
    let strings = tricky_strings();
    assert!(strings.len() > 300, "generator shrank: {}", strings.len());
    let mut doc = String::from(HEADER);
    doc.push_str("data:\n");
    for (i, s) in strings.iter().enumerate() {
        doc.push_str(&format!("  s{i:04}: {}\n", dq(s)));
    }
    doc.push_str("deep:\n  l1:\n    l2:\n");
    for s in &strings {
        doc.push_str(&format!("    - v: {}\n", dq(s)));
    }
    doc.push_str("seq:\n");
    for s in &strings {
        doc.push_str(&format!("- {}\n", dq(s)));
    }
    // One key per map: go-yaml's key order is not total, so no two tricky keys share a map.
    doc.push_str("keys:\n");
    for s in &strings {
        doc.push_str(&format!("- {}: 1\n", dq(s)));
    }
    assert!(
        assert_same_as_kubectl("tricky strings", &doc),
        "kubectl rejected the tricky strings"
    );
}

/// Plain (unquoted) scalars: what go-yaml v3 resolves them to, as kubectl prints it.
#[test]
fn plain_scalars_resolve_like_kubectl() {
    let tokens = [
        "yes",
        "no",
        "on",
        "off",
        "y",
        "n",
        "true",
        "True",
        "TRUE",
        "tRue",
        "false",
        "null",
        "Null",
        "NULL",
        "nULL",
        "~",
        "0",
        "-0",
        "+0",
        "00",
        "012",
        "08",
        "09",
        "0x1F",
        "0X1f",
        "-0x1F",
        "0o17",
        "0O17",
        "0b101",
        "-0b101",
        "0x",
        "0b",
        "0o",
        "1_000",
        "1__0",
        "_1",
        "1_",
        "0x_1F",
        "1e3",
        "1E3",
        "1e+3",
        "1e-3",
        "-1e-3",
        "1.5",
        ".5",
        "5.",
        "-.5",
        "+.5",
        "1.5e",
        "1e",
        "e3",
        "1:20",
        "1:2:3",
        "-1:20",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "1e400",
        "-1e400",
        "1e-400",
        "0.0",
        "-0.0",
        "1.0",
        "100.0",
        "1e21",
        "1e20",
        "1e19",
        "1e6",
        "1234567.5",
        "123456.5",
        "0.0001",
        "0.00001",
        "1e-7",
        "0.1",
        "0.3",
        "3.14159265358979323846",
        "1.7976931348623157e308",
        "5e-324",
        "2001-12-14",
        "2001-12-14t21:59:43.10-05:00",
        "2001-12-14T21:59:43Z",
        "2001-12-14 21:59:43.10",
        "2001-02-29",
        "2000-02-29",
        "2001-1-1",
        "20011-1-1",
        "2001-12-14T25:00:00Z",
        "2001-12-14T21:59:43.1234567891Z",
        "2001-12-14T21:59:43,5Z",
        "2001-12-14T21:59:43+05:00",
        "2001-12-14T21:59:43+0500",
        "1999-12-31T23:59:60Z",
        "0000-01-01",
        "a",
        "abc def",
        "1.2.3",
        "inf",
        "nan",
        "Infinity",
        "x:y",
        "-x",
        "é",
        "日本",
        "a'b",
        "a\"b",
        "a!",
        "a&b",
        "a*b",
        "a|b",
        "a>b",
        "a%b",
        "a@b",
        "a`b",
        "a=b",
        "=",
        "--",
        "?x",
        ":x",
        "<<x",
        "0x1F_FF",
        "+1_0",
        "1_0.5",
        ".5_0",
        "1e1_0",
    ];
    let mut doc = String::from(HEADER);
    doc.push_str("data:\n");
    for (i, t) in tokens.iter().enumerate() {
        doc.push_str(&format!("  p{i:03}: {t}\n"));
    }
    doc.push_str("flow: [");
    for (i, t) in tokens.iter().enumerate() {
        if i > 0 {
            doc.push_str(", ");
        }
        // Plain scalars in flow context cannot hold flow indicators.
        if t.contains([',', '[', ']', '{', '}']) || t.starts_with(['?', ':']) {
            doc.push('x');
        } else {
            doc.push_str(t);
        }
    }
    doc.push_str("]\n");
    assert!(
        assert_same_as_kubectl("plain scalars", &doc),
        "kubectl rejected the plain scalars"
    );
}

/// Values kubectl refuses (no JSON form) must be refused too.
#[test]
fn unrepresentable_values_fail_like_kubectl() {
    for t in [
        ".inf",
        "-.inf",
        "+.Inf",
        ".nan",
        ".NaN",
        "!!float .inf",
        "-",
        // Characters go-yaml v3 writes raw and then refuses to read back.
        "\"\\x7F\"",
        "\"a\\u0080b\"",
        "\"\\u009F\"",
        "\"\\uFFFE\"",
        "\"\\uFFFF\"",
        "{\"a\\u0085b\": 1}",
    ] {
        let doc = format!("{HEADER}data:\n  x: {t}\n");
        assert!(!assert_same_as_kubectl(t, &doc), "kubectl accepted {t}");
        assert!(common::flotilla_build(&doc).is_err(), "{t} should fail");
    }
}

fn random_words(rng: &mut Rng, n: usize) -> String {
    let mut words = Vec::new();
    for _ in 0..n {
        let len = 1 + rng.below(12);
        let w: String = (0..len)
            .map(|_| (b'a' + rng.below(26) as u8) as char)
            .collect();
        words.push(w);
    }
    let mut s = String::new();
    for (i, w) in words.iter().enumerate() {
        if i > 0 {
            // Mostly single spaces, sometimes runs, so folding meets both.
            let spaces = [1, 1, 1, 1, 1, 2, 3];
            s.push_str(&" ".repeat(*rng.pick(&spaces)));
        }
        s.push_str(w);
    }
    s
}

/// Long strings in every quoting style, at several depths: go-yaml folds them at column 80.
#[test]
fn long_strings_fold_like_kubectl() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut doc = String::from(HEADER);
    doc.push_str("data:\n");
    let mut deep = String::from("deep:\n  a:\n    b:\n      c:\n");
    let mut seq = String::from("seq:\n- - - x\n");
    for i in 0..150 {
        let n = 8 + rng.below(30);
        let mut s = random_words(&mut rng, n);
        match i % 6 {
            0 => {}
            1 => s.insert_str(rng.below(s.len()), ": "),
            2 => s.push('\t'),
            3 => s.insert(0, ' '),
            4 => s = format!("{s}\n{}\n", random_words(&mut rng, 20)),
            _ => s.insert_str(rng.below(s.len()), " #"),
        }
        doc.push_str(&format!("  k{i:03}: {}\n", dq(&s)));
        deep.push_str(&format!("        k{i:03}: {}\n", dq(&s)));
        seq.push_str(&format!("- {}\n", dq(&s)));
    }
    // A key longer than 128 bytes is written as a complex key.
    doc.push_str(&format!("  {}: long key\n", dq(&"k".repeat(130))));
    doc.push_str(&format!(
        "  {}: long key with spaces\n",
        dq(&random_words(&mut rng, 40))
    ));
    doc.push_str(&deep);
    doc.push_str(&seq);
    assert!(
        assert_same_as_kubectl("long strings", &doc),
        "kubectl rejected the long strings"
    );
}

/// Block scalars from the source: literal ones print as they read, folded ones go through
/// kyaml's lossy round trip.
#[test]
fn block_scalars_match_kubectl() {
    let bodies = [
        "a\nb\n",
        "a\n\nb\n",
        "a\n  b\nc\n",
        " a\nb\n",
        "  a\n  b\n",
        "a\n\n\nb",
        "a\nb\n\n\n",
        "a\n  b\n\nc\n",
        "a\n\n  b\n\n  c\nd\n",
        "  lead\nnext\nmore\n",
        "x\n",
        "x",
        "a\n b\n c\n",
        "para one\nstill one\n\npara two\n\n\n",
        "a\n\tb\nc\n",
        "a b  c\nd\n",
        "a\n\n",
        "\n\na\nb\n",
        " a\n\n b\nc\n",
        "a\n b\n\nc\n d\n",
        "x\n\n\n",
        "a \nb\n",
        "tab\there\n",
        "a\nb   \n",
        "# not a comment\nx\n",
        "- item\n- item\n",
        "k: v\n",
    ];
    let mut doc = String::from(HEADER);
    doc.push_str("data:\n");
    for (i, body) in bodies.iter().enumerate() {
        for (style, name) in [('|', "lit"), ('>', "fold")] {
            for (chomp, cname) in [("", "clip"), ("-", "strip"), ("+", "keep")] {
                let ind = if body.starts_with([' ', '\t', '\n']) {
                    "2"
                } else {
                    ""
                };
                doc.push_str(&format!("  b{i:02}{name}{cname}: {style}{ind}{chomp}\n"));
                let lines: Vec<&str> = body
                    .strip_suffix('\n')
                    .unwrap_or(body)
                    .split('\n')
                    .collect();
                for line in lines {
                    if line.is_empty() {
                        doc.push('\n');
                    } else {
                        doc.push_str(&format!("    {line}\n"));
                    }
                }
            }
        }
    }
    assert!(
        assert_same_as_kubectl("block scalars", &doc),
        "kubectl rejected the block scalars"
    );
}

/// Stream handling: separators, empty documents, document end markers, anchors, merges.
#[test]
fn streams_and_structure_match_kubectl() {
    let cases: &[(&str, &str)] = &[
        ("empty docs", "---\n---\n# only a comment\n---\n~\n---\nnull\n--- # c\n"),
        ("doc end", "data:\n  a: 1\n...\nb: 2\n"),
        ("leading separator", "--- # first\n"),
        ("crlf", "data:\r\n  a: |\r\n    x\r\n    y\r\n"),
        ("anchors", "data:\n  a: &x {b: 1, c: [1, 2]}\n  d: *x\n  e: &s str\n  f: *s\n"),
        ("merge", "base: &b {a: 1, b: 2}\ndata:\n  <<: *b\n  b: 3\n"),
        ("merge list", "data:\n  <<: [{a: 1}, {a: 2, b: 3}]\n"),
        ("quoted merge key", "data:\n  \"<<\": {a: 1}\n  b: 2\n"),
        ("top-level merge", "x: &x {b: 1}\n<<: *x\n"),
        ("timestamps in flow", "data:\n  a: &t 2001-12-14T1:2:3Z\n  b: [*t, {c: *t}, !!timestamp 2001-12-14T1:2:3Z, 2001-12-14 1:2:3, [2001-12-14], {d: 2001-12-14t1:2:3Z}]\n  c:\n  - 2001-12-14t21:59:43.10-05:00\n  - d: 2001-12-14\n"),
        ("tabs after colon", "data:\n  a:\t\tb\n  c:\t[1]\n"),
        ("under-indented quoted", "data:\n  a: 'x\n  y'\n  b: \"p\n  q  \n r\"\n  c: \"x\\\n  b\"\n"),
        ("escaped apostrophe", "data:\n  a: \"x\\'y\"\n"),
        ("slash escape", "data:\n  a: \"x\\/y\"\n"),
        ("nel value", "data:\n  a: \"x\\Ny\"\n  b: [\"p\\Nq\"]\n"),
        ("flow indicator", "data: [a, :x, b]\n"),
        ("empty key", "data:\n  ?\n  : x\n  b: 1\n"),
        ("flow empties", "data: {a: , b: [c: ], d: {? e}, f: !!set {g, h}}\n"),
        ("tags", "data:\n  a: !!str 12\n  b: !!int \"12\"\n  c: !!float 1\n  d: !custom x\n  e: ! 12\n  f: !!binary aGVsbG8=\n  g: !!timestamp 2001-12-14\n  h: !!null \"\"\n"),
        ("top-level non-string keys", "1: a\ntrue: b\n2001-12-14: d\n"),
        ("nested int key", "data:\n  1: a\n"),
        ("collection key", "data:\n  ? [a]\n  : 1\n"),
        ("duplicate key", "data:\n  a: 1\n  \"a\": 2\n"),
        ("duplicate merge", "data:\n  <<: {a: 1}\n  <<: {b: 1}\n"),
        ("bad merge", "data:\n  <<: x\n"),
        ("bad tag", "data:\n  a: !!int abc\n"),
        ("unknown alias", "data:\n  a: *nope\n"),
        ("bad separator", "data:\n  a: 1\n--- b: 2\n"),
        ("syntax error", "data:\n  a: [1, 2\n"),
        ("tab indent", "data:\n\ta: 1\n"),
        ("comments", "# head\ndata: # line\n  # inner\n  a: 1 # trailing\n# foot\n"),
        ("flow styles", "data: {a: [1, {b: c}], 'd': \"e\", f: [], g: {}}\n"),
        ("multi-line plain", "data:\n  a: one\n    two\n\n    three\n"),
        ("multi-line quoted", "data:\n  a: \"one\n    two \\\n    three\"\n  b: 'x\n\n    y'\n"),
        ("indentless seq", "data:\n  a:\n  - 1\n  - - 2\n    - 3\n  - k: v\n    l: w\n"),
        ("explicit keys", "data:\n  ? a\n  : 1\n  ? |\n    b\n  : 2\n"),
    ];
    for (name, body) in cases {
        let doc = format!("{HEADER}{body}");
        assert_same_as_kubectl(name, &doc);
    }
    assert!(assert_same_as_kubectl(
        "bom",
        &format!("\u{feff}{HEADER}data:\n  a: 1\n")
    ));
    // Files often end without a line break; a block scalar ending there has no final break.
    for (style, body) in [
        ("|", "    x\n    y"),
        ("|+", "    x\n\n    y"),
        (">", "    x\n    y"),
        ("|-", "    x"),
    ] {
        let doc = format!("{HEADER}data:\n  a: {style}\n{body}");
        assert!(assert_same_as_kubectl(
            &format!("{style} at end of file"),
            &doc
        ));
        let second = HEADER.replace("name: probe", "name: probe2");
        let two = format!("{doc}\n---\n{second}data:\n  a: {style}\n{body}");
        assert!(assert_same_as_kubectl(
            &format!("{style} at end of stream"),
            &two
        ));
    }
}

/// Random nesting of block and flow collections, indented and indentless sequences, comments
/// and scalars of every style: the structure must read as go-yaml reads it.
#[test]
fn random_documents_match_kubectl() {
    const TOKENS: &[&str] = &[
        "a",
        "b c",
        "\"x: y\"",
        "1",
        "0x1F",
        "yes",
        "~",
        "null",
        "true",
        "1.5",
        "-1",
        "2001-12-14",
        "é",
        "' q'",
        "\"dq\\t\"",
        "'it''s'",
        "\"a\\nb\"",
        "-x",
        "?x",
        "a#b",
        "[]",
        "{}",
        "''",
        "\"\"",
        "1e3",
        "012",
        "+1",
        "abc def ghi jkl mno pqr stu vwx yz0 123 456 789 abc def ghi jkl mno pqr stu vwx yz0 123",
        "!!str 5",
        "!custom z",
        "!!binary aGk=",
        "1:20",
        ".5",
        "2001-12-14T1:2:3Z",
        "\"a long quoted string that goes on and on and on and on and on past eighty columns\"",
    ];
    const KEYS: &[&str] = &[
        "k", "key", "a b", "\"q k\"", "'s k'", "x-y", "with.dot", "KEY", "k1", "k2", "k10",
    ];
    fn scalar(rng: &mut Rng, ind: usize, flow: bool) -> String {
        if !flow && rng.below(10) == 0 {
            let mut s = String::from("|");
            for _ in 0..1 + rng.below(3) {
                let line = *rng.pick(&["line", "more text", "  indented", ""]);
                s.push('\n');
                if !line.is_empty() {
                    s.push_str(&" ".repeat(ind + 2));
                    s.push_str(line);
                }
            }
            return s.trim_end().to_string();
        }
        let t = *rng.pick(TOKENS);
        if flow && matches!(t, "-x" | "?x" | "a#b" | "[]" | "{}") {
            format!("\"{t}\"")
        } else {
            t.to_string()
        }
    }
    fn flow(rng: &mut Rng, depth: usize) -> String {
        match rng.below(4) {
            _ if depth > 2 => scalar(rng, 0, true),
            0 | 1 => scalar(rng, 0, true),
            2 => {
                let items: Vec<String> = (0..rng.below(4)).map(|_| flow(rng, depth + 1)).collect();
                format!("[{}]", items.join(", "))
            }
            _ => {
                let mut used = Vec::new();
                let mut items = Vec::new();
                for _ in 0..rng.below(4) {
                    let k = *rng.pick(KEYS);
                    if !used.contains(&k) {
                        used.push(k);
                        items.push(format!("{k}: {}", flow(rng, depth + 1)));
                    }
                }
                format!("{{{}}}", items.join(", "))
            }
        }
    }
    fn block(
        rng: &mut Rng,
        ind: usize,
        depth: usize,
        first: Option<String>,
        out: &mut Vec<String>,
    ) {
        let mut used = Vec::new();
        let mut first = first;
        for _ in 0..1 + rng.below(4) {
            let k = *rng.pick(KEYS);
            if used.contains(&k) {
                continue;
            }
            used.push(k);
            let pre = first.take().unwrap_or_else(|| " ".repeat(ind));
            match rng.below(10) {
                _ if depth > 3 => out.push(format!("{pre}{k}: {}", scalar(rng, ind, false))),
                0..=3 => {
                    let comment = if rng.below(3) == 0 { " # c" } else { "" };
                    out.push(format!("{pre}{k}: {}{comment}", scalar(rng, ind, false)));
                }
                4 => out.push(format!("{pre}{k}: {}", flow(rng, 0))),
                5..=7 => {
                    out.push(format!("{pre}{k}:"));
                    let si = ind + 2 * rng.below(2);
                    for _ in 0..1 + rng.below(3) {
                        if rng.below(2) == 0 {
                            out.push(format!(
                                "{}- {}",
                                " ".repeat(si),
                                scalar(rng, si + 2, false)
                            ));
                        } else {
                            block(
                                rng,
                                si + 2,
                                depth + 1,
                                Some(format!("{}- ", " ".repeat(si))),
                                out,
                            );
                        }
                    }
                }
                _ => {
                    out.push(format!(
                        "{pre}{k}:{}",
                        if rng.below(2) == 0 { " # note" } else { "" }
                    ));
                    let step = 2 + 2 * rng.below(2);
                    block(rng, ind + step, depth + 1, None, out);
                }
            }
        }
    }
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let mut accepted = 0;
    for i in 0..30 {
        let mut lines = vec![HEADER.trim_end().to_string(), "data:".to_string()];
        block(&mut rng, 2, 0, None, &mut lines);
        let doc = lines.join("\n") + "\n";
        if assert_same_as_kubectl(&format!("random document {i}"), &doc) {
            accepted += 1;
        }
    }
    assert!(
        accepted >= 20,
        "only {accepted} of 30 generated documents were valid"
    );
}
