//! Benchmark (run by hand): fetch + artifact of a 20,000-file, 500-commit repository vs `git clone --depth 1` + `tar czf`.
//!
//! `cargo run --release -p flotilla-source --example bench_fetch [FILES] [COMMITS] [RUNS]`
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use flotilla_source::{
    ArchiveOptions, ArtifactOwner, Credentials, FetchOptions, FetchOutcome, GitRef, GitSource,
    Storage,
};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let files = args.first().copied().unwrap_or(20_000);
    let commits = args.get(1).copied().unwrap_or(500);
    let runs = args.get(2).copied().unwrap_or(3);
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("repo.git");
    let t = Instant::now();
    generate(&repo, files, commits);
    println!(
        "generated {files} files, {commits} commits in {:.1?}",
        t.elapsed()
    );
    let url = format!("file://{}", repo.display());

    let source = GitSource {
        url: url.clone(),
        reference: GitRef::Branch("main".into()),
        credentials: Credentials::none(),
    };
    let owner = ArtifactOwner::git_repository("bench", "repo");
    let mut ours_first = Vec::new();
    let mut archive_only = Vec::new();
    let mut tar_only = Vec::new();
    let mut ours_same = Vec::new();
    let mut ours_next = Vec::new();
    let mut git_first = Vec::new();
    let mut git_lsremote = Vec::new();
    let mut sizes = (0, 0);
    for run in 0..runs {
        let dir = work.path().join(format!("run{run}"));
        let storage = Storage::new(dir.join("storage"));
        let mut opts = FetchOptions {
            cache_dir: Some(dir.join("cache")),
            ..FetchOptions::default()
        };

        // Flotilla: first fetch into an empty cache, then the artifact.
        let t = Instant::now();
        let FetchOutcome::Fetched(c) = source.fetch(&opts).unwrap() else {
            panic!("first fetch must fetch")
        };
        let fetched_at = t.elapsed();
        let a = storage
            .archive(
                &owner,
                &c.revision.to_string(),
                c.dir(),
                &ArchiveOptions::default(),
            )
            .unwrap();
        ours_first.push(t.elapsed());
        archive_only.push(t.elapsed() - fetched_at);
        sizes.0 = a.size;

        // Flotilla: no new commit (ls-remote, compare, done).
        opts.last_revision = Some(c.revision.to_string());
        let t = Instant::now();
        let outcome = source.fetch(&opts).unwrap();
        ours_same.push(t.elapsed());
        assert!(matches!(outcome, FetchOutcome::Unchanged(_)));

        // Flotilla: one new commit touching one file: incremental fetch + new artifact.
        commit_one(&repo, run);
        let t = Instant::now();
        let FetchOutcome::Fetched(c) = source.fetch(&opts).unwrap() else {
            panic!("new commit must fetch")
        };
        storage
            .archive(
                &owner,
                &c.revision.to_string(),
                c.dir(),
                &ArchiveOptions::default(),
            )
            .unwrap();
        ours_next.push(t.elapsed());

        // git: shallow clone + tar czf of the tree without .git.
        let clone = dir.join("clone");
        let t = Instant::now();
        sh(Command::new("git")
            .args(["clone", "-q", "--depth", "1", "--branch", "main", &url])
            .arg(&clone));
        let cloned_at = t.elapsed();
        let tarball = dir.join("git.tar.gz");
        sh(Command::new("tar")
            .arg("czf")
            .arg(&tarball)
            .arg("--exclude=.git")
            .arg("-C")
            .arg(&clone)
            .arg("."));
        git_first.push(t.elapsed());
        tar_only.push(t.elapsed() - cloned_at);
        sizes.1 = std::fs::metadata(&tarball).unwrap().len();

        let t = Instant::now();
        sh(Command::new("git").args(["ls-remote", &url, "refs/heads/main"]));
        git_lsremote.push(t.elapsed());
        std::fs::remove_dir_all(&dir).unwrap();
    }
    let m = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let ao = m(&mut archive_only);
    let to = m(&mut tar_only);
    let (of, os, on, gf, gl) = (
        m(&mut ours_first),
        m(&mut ours_same),
        m(&mut ours_next),
        m(&mut git_first),
        m(&mut git_lsremote),
    );
    println!("median of {runs} runs               flotilla      git           ratio");
    println!(
        "first fetch + artifact            {:>9.1?}  {:>9.1?}  {:.2}x  (git clone --depth 1 + tar czf)",
        of,
        gf,
        of.as_secs_f64() / gf.as_secs_f64()
    );
    println!(
        "no-change refetch                 {:>9.1?}  {:>9.1?}  {:.3}x  (vs clone + tar again; git ls-remote alone {:.1?})",
        os,
        gf,
        os.as_secs_f64() / gf.as_secs_f64(),
        gl
    );
    println!(
        "one-commit refetch + artifact     {:>9.1?}  {:>9.1?}  {:.2}x  (vs clone + tar again)",
        on,
        gf,
        on.as_secs_f64() / gf.as_secs_f64()
    );
    println!("of which the archive step: flotilla (walk + tar + gzip + sha256) {ao:.1?}, tar czf {to:.1?}");
    println!(
        "peak RSS of this process (fetch, archive, repository generation): {}",
        peak_rss()
    );
    println!(
        "artifact size: flotilla {} bytes, tar czf {} bytes",
        sizes.0, sizes.1
    );
}

fn sh(cmd: &mut Command) {
    let out = cmd
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{:?}: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds the history with `git fast-import`: one commit adding all files, then commits each
/// changing a handful of them.
fn generate(repo: &Path, files: usize, commits: usize) {
    sh(Command::new("git")
        .args(["init", "-q", "--bare", "-b", "main"])
        .arg(repo));
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(repo)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut w = std::io::BufWriter::new(child.stdin.take().unwrap());
    let path = |i: usize| {
        format!(
            "apps/team-{:03}/svc-{:02}/resource-{i:05}.yaml",
            i % 200,
            (i / 200) % 10
        )
    };
    let content = |i: usize, rev: usize| {
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: resource-{i}\n  namespace: team-{}\ndata:\n  revision: \"{rev}\"\n  payload: \"{}\"\n",
            i % 200,
            "abcdefghij".repeat(30 + i % 20)
        )
    };
    for c in 0..commits {
        writeln!(w, "commit refs/heads/main").unwrap();
        writeln!(
            w,
            "committer Bench <bench@example.com> {} +0000",
            1_700_000_000 + c * 60
        )
        .unwrap();
        let msg = format!("commit {c}");
        writeln!(w, "data {}\n{msg}", msg.len()).unwrap();
        let changed: Vec<usize> = if c == 0 {
            (0..files).collect()
        } else {
            (0..8).map(|k| (c * 7919 + k * 104_729) % files).collect()
        };
        for i in changed {
            let body = content(i, c);
            writeln!(w, "M 100644 inline {}", path(i)).unwrap();
            writeln!(w, "data {}", body.len()).unwrap();
            w.write_all(body.as_bytes()).unwrap();
            writeln!(w).unwrap();
        }
        writeln!(w).unwrap();
    }
    drop(w);
    assert!(child.wait().unwrap().success());
    sh(Command::new("git")
        .args(["-C"])
        .arg(repo)
        .args(["gc", "-q"]));
}

/// Adds one commit changing one file, through a throwaway worktree-less fast-import.
fn commit_one(repo: &Path, n: usize) {
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(repo)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let mut w = child.stdin.take().unwrap();
    let body = format!("changed: {n}\n");
    write!(
        w,
        "commit refs/heads/main\ncommitter Bench <bench@example.com> {} +0000\ndata 6\nchange\nfrom refs/heads/main^0\nM 100644 inline extra/changed.yaml\ndata {}\n{body}\n",
        1_800_000_000 + n,
        body.len()
    )
    .unwrap();
    drop(w);
    assert!(child.wait().unwrap().success());
}

/// VmHWM from /proc: the most resident memory this process has used (git runs as children).
fn peak_rss() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(|l| l[6..].trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}
