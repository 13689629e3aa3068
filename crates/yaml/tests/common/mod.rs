//! Shared helpers for the YAML integration tests: the kubectl oracle and generated inputs.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

/// Runs `kubectl kustomize` on a directory holding `files` listed as resources.
/// Returns stdout on success, stderr on failure.
pub fn kubectl_build(files: &[(&str, &str)]) -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let mut k = String::from("resources:\n");
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text).unwrap();
        k.push_str(&format!("- {name}\n"));
    }
    std::fs::write(dir.path().join("kustomization.yaml"), k).unwrap();
    kubectl_kustomize(dir.path())
}

/// `kubectl kustomize DIR`; the oracle is required: a missing kubectl fails the test.
pub fn kubectl_kustomize(dir: &Path) -> Result<String, String> {
    let out = Command::new("kubectl")
        .arg("kustomize")
        .arg(dir)
        .output()
        .expect("kubectl must be installed: it is the oracle for these tests");
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// What flotilla-yaml prints for a resource file (parse as kustomize reads, emit as it prints).
pub fn flotilla_build(text: &str) -> Result<String, String> {
    flotilla_yaml::from_str_multi(text)
        .map(|docs| flotilla_yaml::to_string_multi(&docs))
        .map_err(|e| e.to_string())
}

/// Asserts kubectl and flotilla agree on a single-resource file, showing the first difference.
/// Returns whether kubectl accepted the file.
pub fn assert_same_as_kubectl(name: &str, text: &str) -> bool {
    let want = kubectl_build(&[("r.yaml", text)]);
    let got = flotilla_build(text);
    match (&want, &got) {
        (Ok(w), Ok(g)) => {
            if w != g {
                let (wl, gl): (Vec<&str>, Vec<&str>) = (w.lines().collect(), g.lines().collect());
                let i = wl
                    .iter()
                    .zip(&gl)
                    .position(|(a, b)| a != b)
                    .unwrap_or(wl.len().min(gl.len()));
                panic!(
                    "{name}: output differs from kubectl at line {}:\n kubectl:  {:?}\n flotilla: {:?}\n(input was:\n{text})",
                    i + 1,
                    wl.get(i),
                    gl.get(i)
                );
            }
        }
        (Err(e), Err(_)) => {
            // Shown when a test expected kubectl to accept the input.
            let tail: String = e
                .chars()
                .rev()
                .take(300)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            eprintln!("{name}: kubectl and flotilla both reject it: ...{tail}");
            return false;
        }
        (Ok(_), Err(e)) => panic!("{name}: kubectl accepts it but flotilla fails: {e}"),
        (Err(e), Ok(_)) => {
            // kubectl quotes the whole object in some errors: keep the message readable.
            let tail: String = e
                .chars()
                .rev()
                .take(300)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            panic!("{name}: flotilla accepts it but kubectl fails: ...{tail}")
        }
    }
    true
}

/// A resource header of a kind kustomize has no special rules for.
pub const HEADER: &str =
    "apiVersion: test.flotilla.dev/v1\nkind: Probe\nmetadata:\n  name: probe\n";

/// A small deterministic generator (xorshift) so generated cases are the same on every run.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Strings whose quoting and style go-yaml v2 decides in interesting ways.
pub fn tricky_strings() -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    let words = [
        "y",
        "Y",
        "yes",
        "Yes",
        "YES",
        "yEs",
        "n",
        "N",
        "no",
        "No",
        "NO",
        "nO",
        "on",
        "On",
        "ON",
        "oN",
        "off",
        "Off",
        "OFF",
        "true",
        "True",
        "TRUE",
        "tRUE",
        "false",
        "False",
        "FALSE",
        "null",
        "Null",
        "NULL",
        "nULL",
        "~",
        ".nan",
        ".NaN",
        ".NAN",
        ".inf",
        ".Inf",
        ".INF",
        "+.inf",
        "-.inf",
        "-.Inf",
        "<<",
        "=",
        "0",
        "00",
        "012",
        "08",
        "09",
        "0x",
        "0x1F",
        "0X1f",
        "0o7",
        "0O7",
        "0o8",
        "0b1",
        "0B1",
        "-0b1",
        "+0b1",
        "0b2",
        "1_000",
        "_1",
        "1_",
        "1__0",
        "0x_1F",
        "1e3",
        "1E3",
        "1e+3",
        "1e-3",
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
        "1:60",
        "1:20.5",
        "190:20:30",
        "+1:20",
        "1:2_0",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "1e400",
        "-1e400",
        "0.0",
        "-0",
        "+0",
        "0_x1",
        "1.2.3",
        "1,000",
        "inf",
        "nan",
        "Infinity",
        "-",
        "--",
        "---",
        "----",
        "...",
        "....",
        "- ",
        "-a",
        "- a",
        "-\ta",
        "?",
        "?a",
        "? a",
        ":",
        ":a",
        ": a",
        "a:",
        "a:b",
        "a: b",
        "a :b",
        "#",
        "#a",
        "a#b",
        "a #b",
        "a# b",
        ",",
        ",a",
        "a,b",
        "[",
        "]",
        "{",
        "}",
        "[a]",
        "{a}",
        "a[b",
        "a]b",
        "a{b",
        "a}b",
        "&",
        "&a",
        "*",
        "*a",
        "!",
        "!a",
        "a!",
        "|",
        "|a",
        "a|",
        ">",
        ">a",
        "a>",
        "'",
        "'a",
        "a'",
        "it's",
        "\"",
        "\"a",
        "a\"",
        "%",
        "%a",
        "a%",
        "@",
        "@a",
        "a@",
        "`",
        "`a",
        "a`",
        "\\",
        "a\\b",
        "a\\nb",
        "2001-12-14",
        "2001-12-14t21:59:43.10-05:00",
        "2001-12-14T21:59:43Z",
        "2001-12-14 21:59:43.10",
        "2001-12-14  21:59:43",
        "2001-02-29",
        "2000-02-29",
        "2001-1-1",
        "20011-1-1",
        "2001-12-14T25:00:00Z",
        "2001-12-14T21:59:43.1234567891Z",
        "2001-12-14T21:59:43,5Z",
        "2001-12-14T21:59:43+05:00",
        "2001-12-14T21:59:43+0500",
        "2001-12-14T21:59:43 +05:00",
        "2001-12-14T1:2:3Z",
        "1999-12-31T23:59:60Z",
        "0000-01-01",
        "9999-12-31T23:59:59.999999999-23:59",
    ];
    v.extend(words.iter().map(|s| s.to_string()));
    let spaces = [
        "",
        " ",
        "  ",
        " a",
        "a ",
        " a ",
        "a  b",
        "a\tb",
        "\ta",
        "a\t",
        "a\n",
        "a\n\n",
        "\n",
        "\n\n",
        "\na",
        "\n\na",
        " \n",
        "a \nb",
        "a\n b",
        "a\n\nb",
        "a\n \nb",
        "a\r\nb",
        "a\rb",
        "a\u{2028}b",
        "a\u{2029}b",
        "\u{a0}",
        "a\u{a0}",
        "a\u{a0}b",
        "\u{feff}",
        "\u{feff}ab c",
        "a\u{feff}b",
        "é",
        "日本語",
        "😀",
        "a😀b",
        "\u{0}",
        "\u{7}",
        "\u{1b}",
        "\u{fffd}",
        "\u{e000}",
        "\u{10ffff}",
        "line1\nline2\n",
        "line1\nline2",
        "line1\nline2\n\n",
        " lead\nx\n",
        "  two\n",
        "\ttab\n",
        "x\n\ty\n",
        "trail \nx\n",
        "x\ny \n",
        "a\n\n\n",
        "#x\ny\n",
        "- x\n",
        "x\n- y\n",
        "---\nx\n",
        "x\n---\n",
        "x\n...\n",
        "key: v\n",
        "\"q\"\n",
        "'q'\n",
    ];
    v.extend(spaces.iter().map(|s| s.to_string()));
    // Each indicator character at the start, in the middle and at the end.
    for c in "-?:,[]{}#&*!|>'\"%@` \t~=+.".chars() {
        for s in [
            format!("{c}"),
            format!("{c}x"),
            format!("x{c}"),
            format!("x{c}y"),
            format!("x {c}"),
            format!("{c} x"),
            format!("x {c} y"),
        ] {
            if !v.contains(&s) {
                v.push(s);
            }
        }
    }
    v
}
