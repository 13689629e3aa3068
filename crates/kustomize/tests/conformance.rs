//! Differential conformance: every corpus kustomization and every own case, built by us and by `kubectl kustomize` (v5.5.0), must agree byte for byte.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use flotilla_kustomize::{build, BuildOptions, LoadRestrictor};

/// One directory to build, with the flags both sides get.
struct Fixture {
    label: String,
    dir: PathBuf,
    restrictor: LoadRestrictor,
    /// Keeps a case's temporary directory alive.
    _tmp: Option<tempfile::TempDir>,
}

enum Outcome {
    Ok(String, Vec<String>),
    Err(String),
}

fn ours(f: &Fixture) -> Outcome {
    let opts = BuildOptions {
        load_restrictor: f.restrictor,
        ..BuildOptions::default()
    };
    match build(&f.dir, &opts) {
        Ok(out) => Outcome::Ok(flotilla_yaml::to_string_multi(&out.objects), out.warnings),
        Err(e) => Outcome::Err(e.to_string()),
    }
}

fn kubectl(f: &Fixture) -> Outcome {
    let mut cmd = Command::new("kubectl");
    cmd.arg("kustomize").arg(&f.dir);
    if f.restrictor == LoadRestrictor::None {
        cmd.arg("--load-restrictor=LoadRestrictionsNone");
    }
    let out = cmd
        .output()
        .expect("kubectl must be installed (it is the oracle)");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    if out.status.success() {
        let warnings = stderr
            .lines()
            .filter(|l| l.starts_with("# Warning"))
            .map(str::to_string)
            .collect();
        Outcome::Ok(String::from_utf8_lossy(&out.stdout).to_string(), warnings)
    } else {
        Outcome::Err(stderr)
    }
}

fn corpus_root() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus");
    assert!(
        p.is_dir(),
        "the shared corpus is missing at {}; it holds the reference repositories",
        p.display()
    );
    p
}

fn has_kustomization(d: &Path) -> bool {
    ["kustomization.yaml", "kustomization.yml", "Kustomization"]
        .iter()
        .any(|f| d.join(f).is_file())
}

fn corpus_fixtures() -> Vec<Fixture> {
    let root = corpus_root();
    let mut out = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&d)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        entries.sort();
        for e in entries {
            if e.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('_'))
            {
                continue;
            }
            stack.push(e);
        }
        if has_kustomization(&d) {
            let rel = d.strip_prefix(&root).unwrap().display().to_string();
            out.push(Fixture {
                label: format!("corpus:{rel}"),
                dir: d,
                restrictor: LoadRestrictor::RootOnly,
                _tmp: None,
            });
        }
    }
    out.sort_by(|a, b| a.label.cmp(&b.label));
    out
}

/// A case file: optional header lines (`# dir: path`, `# restrictor: none`), then files
/// introduced by `-- path --` lines.
fn case_fixtures() -> Vec<Fixture> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        // FLOTILLA_CASES=word runs only the cases whose file name contains it.
        .filter(|p| {
            std::env::var("FLOTILLA_CASES").map_or(true, |w| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().contains(w.as_str()))
            })
        })
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let mut build_dir = ".".to_string();
        let mut restrictor = LoadRestrictor::RootOnly;
        let mut current: Option<(String, String)> = None;
        let write = |cur: Option<(String, String)>| {
            if let Some((path, body)) = cur {
                let p = tmp.path().join(&path);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                std::fs::write(&p, body).unwrap();
            }
        };
        for line in text.split_inclusive('\n') {
            let trimmed = line.trim_end_matches('\n');
            if let Some(path) = trimmed
                .strip_prefix("-- ")
                .and_then(|x| x.strip_suffix(" --"))
            {
                write(current.take());
                current = Some((path.to_string(), String::new()));
                continue;
            }
            match &mut current {
                Some((_, body)) => body.push_str(line),
                None => {
                    if let Some(d) = trimmed.strip_prefix("# dir: ") {
                        build_dir = d.trim().to_string();
                    }
                    if trimmed.trim() == "# restrictor: none" {
                        restrictor = LoadRestrictor::None;
                    }
                }
            }
        }
        write(current.take());
        let label = format!("case:{}", f.file_name().unwrap().to_string_lossy());
        out.push(Fixture {
            label,
            dir: tmp.path().join(build_dir),
            restrictor,
            _tmp: Some(tmp),
        });
    }
    out
}

fn compare(f: &Fixture) -> Result<(), String> {
    let (a, b) = (ours(f), kubectl(f));
    match (a, b) {
        (Outcome::Ok(x, wx), Outcome::Ok(y, wy)) => {
            if x != y {
                return Err(format!(
                    "{}: output differs\n--- ours\n{x}\n--- kubectl\n{y}",
                    f.label
                ));
            }
            if wx != wy {
                return Err(format!(
                    "{}: warnings differ\n--- ours\n{wx:?}\n--- kubectl\n{wy:?}",
                    f.label
                ));
            }
            Ok(())
        }
        (Outcome::Err(_), Outcome::Err(_)) => Ok(()),
        (Outcome::Ok(x, _), Outcome::Err(e)) => Err(format!(
            "{}: kubectl failed but we succeeded\n--- kubectl error\n{e}\n--- our output\n{x}",
            f.label
        )),
        (Outcome::Err(e), Outcome::Ok(y, _)) => Err(format!(
            "{}: we failed but kubectl succeeded\n--- our error\n{e}\n--- kubectl output\n{y}",
            f.label
        )),
    }
}

fn run_all(fixtures: Vec<Fixture>) {
    let next = AtomicUsize::new(0);
    let failures = Mutex::new(Vec::new());
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
        * 2;
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(f) = fixtures.get(i) else { break };
                if let Err(e) = compare(f) {
                    failures.lock().unwrap().push(e);
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    let total = fixtures.len();
    eprintln!(
        "conformance: {}/{} agree with kubectl kustomize",
        total - failures.len(),
        total
    );
    if !failures.is_empty() {
        panic!(
            "{} of {total} fixtures differ from kubectl kustomize:\n\n{}",
            failures.len(),
            failures.join("\n\n")
        );
    }
}

#[test]
fn corpus_matches_kubectl() {
    let fixtures = corpus_fixtures();
    assert!(
        fixtures.len() >= 20,
        "expected the corpus kustomizations, found {}",
        fixtures.len()
    );
    run_all(fixtures);
}

#[test]
fn corpus_matches_stored_expectations() {
    // The stored outputs were produced by kubectl kustomize v5.5.0; they pin the corpus even
    // where kubectl is absent.
    let root = corpus_root();
    let expected = root.join("_expected-kubectl-kustomize-v5.5.0");
    let mut n = 0;
    for e in std::fs::read_dir(&expected).unwrap().filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(stem) = name.strip_suffix(".yaml") else {
            continue;
        };
        let dir = root.join(stem.replace('~', "/"));
        let out = build(&dir, &BuildOptions::default())
            .unwrap_or_else(|err| panic!("{}: {err}", dir.display()));
        let text = flotilla_yaml::to_string_multi(&out.objects);
        assert_eq!(
            text,
            std::fs::read_to_string(e.path()).unwrap(),
            "{}",
            dir.display()
        );
        n += 1;
    }
    assert!(n > 0);
}

#[test]
fn cases_match_kubectl() {
    run_all(case_fixtures());
}
