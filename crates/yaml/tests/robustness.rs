//! Hostile and malformed input: errors with positions, never a panic, a hang or a blow-up;
//! and a deterministic mutation fuzz of the parse → print → parse round trip (the cargo-fuzz
//! targets under `fuzz/` run the same property open-ended).
#![allow(clippy::unwrap_used)]

mod common;

use common::Rng;
use flotilla_yaml::{
    from_str, from_str_multi, from_str_multi_with, to_string_multi, Error, ParseOptions,
};

#[test]
fn alias_bomb_is_refused() {
    let mut doc = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        doc.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let start = std::time::Instant::now();
    let err = from_str_multi(&doc).unwrap_err();
    assert!(matches!(err, Error::AliasLimit { .. }), "{err}");
    assert!(err.line() >= 2, "{err}");
    // Not a timing assertion on speed, only a guard against expanding the bomb.
    assert!(start.elapsed().as_secs() < 20);
}

#[test]
fn alias_limit_is_configurable() {
    let doc = "a: &a [1, 2, 3]\nb: [*a, *a, *a]\n";
    let opts = ParseOptions {
        max_alias_expansion: 8,
        ..Default::default()
    };
    assert!(matches!(
        from_str_multi_with(doc, &opts),
        Err(Error::AliasLimit { limit: 8, .. })
    ));
    assert!(from_str_multi(doc).is_ok());
}

#[test]
fn deep_nesting_is_refused_without_overflowing_the_stack() {
    for doc in [
        "[".repeat(200_000),
        "- ".repeat(50_000) + "x",
        "{a: ".repeat(100_000),
    ] {
        let err = from_str_multi(&doc).unwrap_err();
        assert!(
            matches!(err, Error::TooDeep { .. } | Error::Syntax { .. }),
            "{err}"
        );
    }
}

#[test]
fn syntax_errors_name_line_and_column() {
    let cases: &[(&str, usize)] = &[
        ("a: 1\nb: [1, 2\n", 3),
        ("a: 1\n  b: 2\n", 2),
        ("a:\n\t- 1\n", 2),
        ("a: \"unterminated\n", 1),
        ("a: 1\na: 2\n", 2),
        ("a: *nope\n", 1),
        ("x: 1\n---\ny: !!int abc\n", 3),
        ("x: 1\n--- y\n", 2),
        ("x: \u{1}\n", 1),
    ];
    for (doc, line) in cases {
        let err = from_str_multi(doc).unwrap_err();
        assert_eq!(err.line(), *line, "{doc:?}: {err}");
        assert!(err.column() >= 1);
        let shown = err.clone().with_file("dir/r.yaml").to_string();
        assert!(shown.starts_with(&format!("dir/r.yaml:{line}:")), "{shown}");
    }
}

#[test]
fn single_document_api() {
    assert_eq!(from_str("").unwrap(), serde_json::Value::Null);
    assert_eq!(
        from_str("# just a comment\n").unwrap(),
        serde_json::Value::Null
    );
    assert_eq!(from_str("a: 1").unwrap(), serde_json::json!({"a": 1}));
    assert!(matches!(
        from_str("a: 1\n---\nb: 2\n"),
        Err(Error::MultipleDocuments { .. })
    ));
    assert_eq!(
        from_str("---\na: 1\n---\n").unwrap(),
        serde_json::json!({"a": 1})
    );
    assert_eq!(
        from_str("a: 1\n--- # end\n...\n").unwrap(),
        serde_json::json!({"a": 1})
    );
}

const TOKENS: &[&str] = &[
    ":",
    ": ",
    "- ",
    "-",
    "{",
    "}",
    "[",
    "]",
    ",",
    "&a ",
    "*a",
    "<<: ",
    "!!str ",
    "!!int ",
    "!!binary ",
    "!x ",
    "|",
    "|-",
    ">",
    ">+",
    "\"",
    "'",
    "#",
    "\n",
    "  ",
    "\t",
    "---\n",
    "...\n",
    "? ",
    "%YAML 1.2\n",
    "\u{feff}",
    "\\",
    "~",
    "null",
    "0x1F",
    "1e3",
    "yes",
    "é",
    "😀",
    "\r\n",
    "a: b\n",
    "  - c\n",
];
// Raw U+0085/U+2028/U+2029 are left out: go-yaml reads them as line breaks (YAML 1.1), the
// tokenizer used here as ordinary characters (YAML 1.2), so texts holding them raw are a known
// divergence and do not round-trip stably.

/// Deterministic mutations of the fixtures: never a panic; whatever parses prints to text that
/// parses back to the same printed form.
#[test]
fn mutated_inputs_never_panic_and_round_trip() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut seeds = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with(".yaml") {
            seeds.push(std::fs::read_to_string(path).unwrap());
        }
    }
    let reparse = ParseOptions {
        kyaml_round_trip: false,
        ..Default::default()
    };
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut parsed = 0;
    for _ in 0..1500 {
        let mut text = rng.pick(&seeds).clone();
        for _ in 0..1 + rng.below(4) {
            let mut at = rng.below(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            if rng.below(3) == 0 {
                let mut end = (at + rng.below(8)).min(text.len());
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                text.replace_range(at..end, "");
            } else {
                let token: &str = TOKENS[rng.below(TOKENS.len())];
                text.insert_str(at, token);
            }
        }
        let _ = from_str(&text);
        // Rewriting every value with itself must keep what the text means.
        if let Ok(sites) = flotilla_yaml::edit::scalars(&text) {
            let edits: Vec<flotilla_yaml::edit::Edit> = sites
                .into_iter()
                .filter(|s| {
                    matches!(
                        s.style,
                        flotilla_yaml::edit::Style::Plain
                            | flotilla_yaml::edit::Style::SingleQuoted
                            | flotilla_yaml::edit::Style::DoubleQuoted
                    )
                })
                .map(|site| flotilla_yaml::edit::Edit {
                    value: site.value.clone(),
                    site,
                })
                .collect();
            if let (Ok(edited), Ok(before)) = (
                flotilla_yaml::edit::apply(&text, &edits),
                from_str_multi_with(&text, &reparse),
            ) {
                let after = from_str_multi_with(&edited, &reparse).unwrap_or_else(|e| {
                    panic!("edited text does not parse: {e}\n{edited}\nfrom:\n{text}")
                });
                assert_eq!(
                    after, before,
                    "edit changed the meaning of:\n{text}\ninto:\n{edited}"
                );
            }
        }
        if let Ok(docs) = from_str_multi(&text) {
            parsed += 1;
            let printed = to_string_multi(&docs);
            let again = from_str_multi_with(&printed, &reparse).unwrap_or_else(|e| {
                panic!("printed output does not parse: {e}\n{printed}\nfrom:\n{text}")
            });
            assert_eq!(to_string_multi(&again), printed, "from:\n{text}");
        }
    }
    assert!(
        parsed > 300,
        "too few mutations parsed ({parsed}) to exercise the printer"
    );
}

/// The options for files sigs.k8s.io/yaml reads (kustomization.yaml).
#[test]
fn yaml11_and_text_modes() {
    let doc = "a: yes\nb: off\nc: 1.0\nd: 2001-12-14\ne: ~\nf: 0x10\ng: \"q\"\n";
    let v11 = from_str_multi_with(
        doc,
        &ParseOptions {
            yaml11: true,
            kyaml_round_trip: false,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        v11[0],
        serde_json::json!({"a": true, "b": false, "c": 1.0, "d": "2001-12-14", "e": null, "f": 16, "g": "q"})
    );
    let text = from_str_multi_with(
        doc,
        &ParseOptions {
            scalars_as_text: true,
            kyaml_round_trip: false,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(
        text[0],
        serde_json::json!({"a": "yes", "b": "off", "c": "1.0", "d": "2001-12-14", "e": null, "f": "0x10", "g": "q"})
    );
}

/// Inputs the `parse_emit` fuzz target found taking seconds: an unterminated quoted scalar
/// whose "invalid indentation" repair never helped was re-padded and re-parsed 200 times.
/// Each must fail with the tokenizer's first error (kubectl refuses them too).
#[test]
fn fuzz_found_repair_loops_fail_at_once() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz_regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let start = std::time::Instant::now();
        let err = from_str_multi(&text).unwrap_err();
        assert!(
            err.to_string()
                .contains("invalid indentation in quoted scalar"),
            "{}: {err}",
            path.display()
        );
        // Generous bound (debug build, loaded machine): the loop took seconds per input.
        assert!(
            start.elapsed() < std::time::Duration::from_secs(2),
            "{}: {:?}",
            path.display(),
            start.elapsed()
        );
        n += 1;
    }
    assert!(n >= 5);
}
