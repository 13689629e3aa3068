//! Mutation smoke test: every case file, truncated and corrupted at many points, must build or fail with an error — never panic or hang.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use flotilla_kustomize::{build, BuildOptions};

/// Splits a case file into (path, body) pairs.
fn files(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.split_inclusive('\n') {
        let t = line.trim_end_matches('\n');
        if let Some(p) = t.strip_prefix("-- ").and_then(|x| x.strip_suffix(" --")) {
            out.push((p.to_string(), String::new()));
        } else if let Some(last) = out.last_mut() {
            last.1.push_str(line);
        }
    }
    out
}

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as usize
    }
}

const NOISE: &[&str] = &[
    "",
    ":",
    "- ",
    "\n",
    "  ",
    "{",
    "[",
    "]",
    "*a",
    "&a ",
    "null",
    "'",
    "\"",
    "$patch: delete",
    "\t",
    "~",
    "0x",
    "- op: add\n",
];

#[test]
fn mutated_cases_never_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    names.sort();
    let mut rng = Lcg(0x5eed);
    let start = Instant::now();
    let mut runs = 0;
    for case in names.iter().step_by(3) {
        let fs = files(&std::fs::read_to_string(case).unwrap());
        let first_line = std::fs::read_to_string(case).unwrap();
        let root = first_line
            .lines()
            .find_map(|l| l.strip_prefix("# dir: "))
            .unwrap_or(".")
            .to_string();
        for _ in 0..4 {
            let t = tempfile::tempdir().unwrap();
            let victim = rng.next() % fs.len().max(1);
            for (i, (p, body)) in fs.iter().enumerate() {
                let mut body = body.clone();
                if i == victim && !body.is_empty() {
                    let mut at = rng.next() % body.len();
                    while !body.is_char_boundary(at) {
                        at -= 1;
                    }
                    if rng.next() % 2 == 0 {
                        body.truncate(at);
                    } else {
                        body.insert_str(at, NOISE[rng.next() % NOISE.len()]);
                    }
                }
                let p = t.path().join(p);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(p, body).unwrap();
            }
            let one = Instant::now();
            let _ = build(&t.path().join(&root), &BuildOptions::default());
            assert!(
                one.elapsed() < Duration::from_secs(10),
                "{} hung",
                case.display()
            );
            runs += 1;
        }
    }
    assert!(runs > 100, "only {runs} mutations ran");
    eprintln!("{runs} mutated builds in {:?}", start.elapsed());
}
