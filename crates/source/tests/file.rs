//! file:// repositories: every ref kind, ignore rules, incremental fetches, artifacts, GC and safety checks.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use flotilla_source::{
    extract, ArchiveError, ArchiveOptions, ArtifactOwner, Credentials, ExtractError,
    ExtractOptions, FetchError, FetchOptions, FetchOutcome, GitRef, GitSource, Storage,
    StorageError,
};
use flotilla_testkit::{git, tar_list, Repo};

fn source(repo: &Repo, reference: GitRef) -> GitSource {
    GitSource {
        url: repo.file_url(),
        reference,
        credentials: Credentials::none(),
    }
}

fn fetched(outcome: FetchOutcome) -> flotilla_source::Checkout {
    match outcome {
        FetchOutcome::Fetched(c) => c,
        FetchOutcome::Unchanged(r) => panic!("expected a fetch, got unchanged at {r}"),
    }
}

fn fetch(src: &GitSource) -> flotilla_source::Checkout {
    fetched(src.fetch(&FetchOptions::default()).unwrap())
}

fn branch(name: &str) -> GitRef {
    GitRef::Branch(name.to_string())
}

#[test]
fn branch_tag_semver_name_and_commit() {
    let repo = Repo::new();
    repo.write("app.yaml", "v: 1\n");
    let c1 = repo.commit("one");
    git(repo.path(), &["tag", "v1.0.0"]);
    repo.write("app.yaml", "v: 2\n");
    let c2 = repo.commit("two");
    git(repo.path(), &["tag", "-a", "v1.1.0", "-m", "annotated"]);
    git(repo.path(), &["tag", "v2.0.0-rc.1"]);
    git(repo.path(), &["tag", "not-a-version"]);
    git(repo.path(), &["checkout", "-q", "-b", "feature"]);
    repo.write("app.yaml", "v: feature\n");
    let c3 = repo.commit("feature");
    git(repo.path(), &["checkout", "-q", "main"]);

    let c = fetch(&source(&repo, branch("main")));
    assert_eq!(c.revision.to_string(), format!("main@sha1:{c2}"));
    assert_eq!(
        std::fs::read_to_string(c.dir().join("app.yaml")).unwrap(),
        "v: 2\n"
    );

    let c = fetch(&source(&repo, branch("feature")));
    assert_eq!(c.revision.to_string(), format!("feature@sha1:{c3}"));

    let c = fetch(&source(&repo, GitRef::Tag("v1.0.0".into())));
    assert_eq!(c.revision.to_string(), format!("v1.0.0@sha1:{c1}"));
    assert_eq!(
        std::fs::read_to_string(c.dir().join("app.yaml")).unwrap(),
        "v: 1\n"
    );

    // An annotated tag reports the commit it points to, not the tag object.
    let c = fetch(&source(&repo, GitRef::Tag("v1.1.0".into())));
    assert_eq!(c.revision.to_string(), format!("v1.1.0@sha1:{c2}"));

    let c = fetch(&source(&repo, GitRef::Semver(">=1.0.0 <2.0.0".into())));
    assert_eq!(c.revision.to_string(), format!("v1.1.0@sha1:{c2}"));
    let c = fetch(&source(&repo, GitRef::Semver("~1.0".into())));
    assert_eq!(c.revision.to_string(), format!("v1.0.0@sha1:{c1}"));
    // Pre-releases only when the range asks for them.
    let c = fetch(&source(&repo, GitRef::Semver(">=2.0.0-0".into())));
    assert_eq!(c.revision.name.as_deref(), Some("v2.0.0-rc.1"));

    let c = fetch(&source(&repo, GitRef::Name("refs/heads/feature".into())));
    assert_eq!(
        c.revision.to_string(),
        format!("refs/heads/feature@sha1:{c3}")
    );
    let c = fetch(&source(&repo, GitRef::Name("refs/tags/v1.1.0".into())));
    assert_eq!(
        c.revision.to_string(),
        format!("refs/tags/v1.1.0@sha1:{c2}")
    );

    // A commit that is not any branch tip, alone and with its branch.
    let c = fetch(&source(
        &repo,
        GitRef::Commit {
            sha: c1.clone(),
            branch: None,
        },
    ));
    assert_eq!(c.revision.to_string(), format!("sha1:{c1}"));
    assert_eq!(
        std::fs::read_to_string(c.dir().join("app.yaml")).unwrap(),
        "v: 1\n"
    );
    let c = fetch(&source(
        &repo,
        GitRef::Commit {
            sha: c1.clone(),
            branch: Some("main".into()),
        },
    ));
    assert_eq!(c.revision.to_string(), format!("main@sha1:{c1}"));
}

#[test]
fn missing_refs_give_clear_errors() {
    let repo = Repo::new();
    repo.write("a", "a");
    repo.commit("one");
    git(repo.path(), &["tag", "v0.1.0"]);
    let opts = FetchOptions::default();
    let cases = [
        (branch("nope"), "branch 'nope' not found"),
        (GitRef::Tag("v9".into()), "tag 'v9' not found"),
        (
            GitRef::Name("refs/heads/nope".into()),
            "reference 'refs/heads/nope' not found",
        ),
        (GitRef::Semver(">=1.0.0".into()), "no tag in"),
        (
            GitRef::Commit {
                sha: "0123456789abcdef0123456789abcdef01234567".into(),
                branch: None,
            },
            "commit '0123456789abcdef0123456789abcdef01234567'",
        ),
        (
            GitRef::Semver("bogus range!".into()),
            "invalid semver range",
        ),
        (GitRef::Name("main".into()), "starts with 'refs/'"),
        (
            GitRef::Commit {
                sha: "abc123".into(),
                branch: None,
            },
            "full commit id",
        ),
    ];
    for (reference, expected) in cases {
        let err = source(&repo, reference.clone()).fetch(&opts).unwrap_err();
        assert!(err.to_string().contains(expected), "{reference}: {err}");
        assert_eq!(err.reason(), "GitOperationFailed", "{reference}: {err}");
    }
    let err = source(&repo, GitRef::Semver(">=1.0.0".into()))
        .fetch(&opts)
        .unwrap_err();
    assert!(matches!(err, FetchError::NoMatchingTag { .. }), "{err}");
    assert!(err.to_string().contains("highest 'v0.1.0'"), "{err}");

    let missing = GitSource {
        url: format!("file://{}/absent", repo.path().display()),
        reference: branch("main"),
        credentials: Credentials::none(),
    };
    let err = missing.fetch(&opts).unwrap_err();
    assert_eq!(err.reason(), "GitOperationFailed", "{err}");
}

#[test]
fn incremental_fetches_and_unchanged_detection() {
    let repo = Repo::new();
    repo.write("a.yaml", "a: 1\n");
    let c1 = repo.commit("one");
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().join("ns-name");
    let src = source(&repo, branch("main"));
    let mut opts = FetchOptions {
        cache_dir: Some(cache_dir.clone()),
        ..FetchOptions::default()
    };
    let first = fetched(src.fetch(&opts).unwrap());
    assert_eq!(first.revision.sha, c1);
    assert_eq!(first.dir(), cache_dir);
    assert!(
        cache_dir.join(".git/shallow").exists(),
        "the first fetch is shallow"
    );

    opts.last_revision = Some(first.revision.to_string());
    match src.fetch(&opts).unwrap() {
        FetchOutcome::Unchanged(r) => assert_eq!(r, first.revision),
        FetchOutcome::Fetched(c) => panic!("no new commit must not fetch, got {}", c.revision),
    }

    repo.write("b.yaml", "b: 2\n");
    std::fs::remove_file(repo.path().join("a.yaml")).unwrap();
    let c2 = repo.commit("two");
    let second = fetched(src.fetch(&opts).unwrap());
    assert_eq!(second.revision.sha, c2);
    // The worktree follows: new file present, deleted file gone.
    assert!(cache_dir.join("b.yaml").exists());
    assert!(!cache_dir.join("a.yaml").exists());
    // Still one shallow repository, updated in place rather than re-cloned.
    let shallow = std::fs::read_to_string(cache_dir.join(".git/shallow")).unwrap();
    assert!(shallow.contains(&c2), "{shallow}");

    // A directory that is not a cache is never wiped.
    let foreign = cache.path().join("foreign");
    std::fs::create_dir_all(&foreign).unwrap();
    std::fs::write(foreign.join("keep.txt"), "mine").unwrap();
    let err = src
        .fetch(&FetchOptions {
            cache_dir: Some(foreign.clone()),
            ..FetchOptions::default()
        })
        .unwrap_err();
    assert!(
        err.to_string().contains("not a Flotilla git cache"),
        "{err}"
    );
    assert_eq!(err.reason(), "StorageOperationFailed");
    assert!(foreign.join("keep.txt").exists());
}

fn artifact_files(storage: &Storage, path: &str) -> Vec<String> {
    tar_list(&storage.local_path(path).unwrap())
}

#[test]
fn ignore_rules_in_artifacts() {
    let repo = Repo::new();
    repo.write("deploy/app.yaml", "kind: A\n");
    repo.write("deploy/logo.png", "png");
    repo.write(".github/workflows/ci.yaml", "ci");
    repo.write("deploy/.sops.yaml", "sops");
    repo.write("docs/readme.md", "docs");
    repo.write(
        "apps/.sourceignore",
        "# local rules\nsecret.yaml\n!keep.md\n",
    );
    repo.write("apps/secret.yaml", "s");
    repo.write("apps/sub/secret.yaml", "s");
    repo.write("apps/keep.md", "k");
    repo.write(
        "secret.yaml",
        "top-level: outside the .sourceignore's directory",
    );
    repo.write(".gitignore", "ignored-by-git\n");
    repo.commit("tree");
    let checkout = fetch(&source(&repo, branch("main")));
    let store = tempfile::tempdir().unwrap();
    let storage = Storage::new(store.path());
    let owner = ArtifactOwner::git_repository("flux-system", "repo");

    let a = storage
        .archive(
            &owner,
            &checkout.revision.to_string(),
            checkout.dir(),
            &ArchiveOptions::default(),
        )
        .unwrap();
    let files = artifact_files(&storage, &a.path);
    assert_eq!(
        files,
        [
            "apps",
            "apps/.sourceignore",
            "apps/keep.md",
            "apps/sub",
            "deploy",
            "deploy/app.yaml",
            "docs",
            "docs/readme.md",
            "secret.yaml"
        ]
    );

    // spec.ignore replaces the defaults (png, .github, .sops.yaml come back) and adds its own.
    let opts = ArchiveOptions {
        ignore: Some("/docs/\n*.md\n".into()),
        ..ArchiveOptions::default()
    };
    let b = storage
        .archive(
            &owner,
            &checkout.revision.to_string(),
            checkout.dir(),
            &opts,
        )
        .unwrap();
    let files = artifact_files(&storage, &b.path);
    assert!(files.contains(&"deploy/logo.png".to_string()), "{files:?}");
    assert!(
        files.contains(&".github/workflows/ci.yaml".to_string()),
        "{files:?}"
    );
    assert!(
        files.contains(&"deploy/.sops.yaml".to_string()),
        "{files:?}"
    );
    assert!(!files.iter().any(|f| f.starts_with("docs")), "{files:?}");
    assert!(
        !files.contains(&"apps/keep.md".to_string()),
        "spec.ignore wins over .sourceignore: {files:?}"
    );
    assert!(
        !files
            .iter()
            .any(|f| f.starts_with(".git/") || f == ".gitignore"),
        "{files:?}"
    );
    assert_ne!(a.digest, b.digest);
}

#[test]
fn artifacts_are_deterministic_stored_atomically_and_collected() {
    let repo = Repo::new();
    repo.write("a/b/c.yaml", "c: 1\n");
    repo.write("run.sh", "#!/bin/sh\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        repo.path().join("run.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let c1 = repo.commit("one");
    let store = tempfile::tempdir().unwrap();
    let storage = Storage::new(store.path());
    let owner = ArtifactOwner::git_repository("ns", "name");
    let opts = ArchiveOptions::default();

    // Two independent checkouts of the same commit give byte-identical artifacts.
    let x = fetch(&source(&repo, branch("main")));
    let y = fetch(&source(&repo, branch("main")));
    let a1 = storage
        .archive(&owner, &x.revision.to_string(), x.dir(), &opts)
        .unwrap();
    let other = tempfile::tempdir().unwrap();
    let a2 = Storage::new(other.path())
        .archive(&owner, &y.revision.to_string(), y.dir(), &opts)
        .unwrap();
    assert_eq!(a1.digest, a2.digest);
    assert_eq!(a1.revision, format!("main@sha1:{c1}"));
    let hex = a1.digest.strip_prefix("sha256:").unwrap();
    assert_eq!(a1.path, format!("gitrepository/ns/name/{hex}.tar.gz"));
    let file = storage.local_path(&a1.path).unwrap();
    assert_eq!(std::fs::metadata(&file).unwrap().len(), a1.size);
    // The digest is the sha256 of the file as sha256sum computes it.
    let sum = std::process::Command::new("sha256sum")
        .arg(&file)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&sum.stdout).starts_with(hex));
    assert!(storage.exists(&a1));

    // Extraction round trip keeps content and the executable bit.
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("tree");
    let summary = extract(
        &file,
        &dest,
        &ExtractOptions {
            expected_digest: Some(a1.digest.clone()),
            ..ExtractOptions::default()
        },
    )
    .unwrap();
    assert_eq!(summary.files, 2);
    assert_eq!(
        std::fs::read_to_string(dest.join("a/b/c.yaml")).unwrap(),
        "c: 1\n"
    );
    assert_eq!(
        std::fs::metadata(dest.join("run.sh"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o755
    );

    // New commits make new artifacts; GC keeps the newest N, always including the current one.
    let mut artifacts = vec![a1.clone()];
    for i in 2..=5 {
        repo.write("a/b/c.yaml", &format!("c: {i}\n"));
        repo.commit(&format!("commit {i}"));
        let c = fetch(&source(&repo, branch("main")));
        std::thread::sleep(std::time::Duration::from_millis(20));
        artifacts.push(
            storage
                .archive(&owner, &c.revision.to_string(), c.dir(), &opts)
                .unwrap(),
        );
    }
    let current = artifacts.last().unwrap();
    let removed = storage.garbage_collect(&owner, 2, Some(current)).unwrap();
    assert_eq!(removed.len(), 3, "{removed:?}");
    assert!(storage.exists(current));
    assert!(storage.exists(&artifacts[3]));
    assert!(!storage.exists(&artifacts[0]));
    let left: Vec<_> = std::fs::read_dir(store.path().join("gitrepository/ns/name"))
        .unwrap()
        .collect();
    assert_eq!(left.len(), 2);
}

#[test]
fn unsafe_trees_are_refused_and_nothing_is_left_behind() {
    let store = tempfile::tempdir().unwrap();
    let storage = Storage::new(store.path().join("storage"));
    let owner = ArtifactOwner::git_repository("ns", "evil");

    for (target, name) in [("/etc/passwd", "abs"), ("../../outside", "dotdot")] {
        let repo = Repo::new();
        repo.write("ok.yaml", "ok");
        std::os::unix::fs::symlink(target, repo.path().join(name)).unwrap();
        repo.commit("symlink out");
        let c = fetch(&source(&repo, branch("main")));
        let err = storage
            .archive(&owner, "r", c.dir(), &ArchiveOptions::default())
            .unwrap_err();
        assert!(
            matches!(&err, StorageError::Archive(ArchiveError::SymlinkOutside { path, .. }) if path == name),
            "{err}"
        );
        assert_eq!(err.reason(), "StorageOperationFailed");
    }
    // Symlinks within the tree are kept.
    let repo = Repo::new();
    repo.write("base/app.yaml", "a");
    std::os::unix::fs::symlink("../base/app.yaml", {
        std::fs::create_dir_all(repo.path().join("overlay")).unwrap();
        repo.path().join("overlay/link.yaml")
    })
    .unwrap();
    repo.commit("inner link");
    let c = fetch(&source(&repo, branch("main")));
    let a = storage
        .archive(&owner, "r", c.dir(), &ArchiveOptions::default())
        .unwrap();
    assert!(artifact_files(&storage, &a.path).contains(&"overlay/link.yaml".to_string()));

    let repo = Repo::new();
    repo.write("big.bin", &"x".repeat(4096));
    repo.commit("big");
    let c = fetch(&source(&repo, branch("main")));
    let err = storage
        .archive(
            &owner,
            "r",
            c.dir(),
            &ArchiveOptions {
                max_file_size: 1024,
                ..ArchiveOptions::default()
            },
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("'big.bin' is 4096 bytes, over the 1024-byte limit"),
        "{err}"
    );

    // Only the one good artifact is in storage: no temp files, nothing elsewhere.
    let mut all = Vec::new();
    walk(store.path(), &mut all);
    assert_eq!(all.len(), 1, "{all:?}");
    assert!(
        all[0].ends_with(".tar.gz") && all[0].contains("gitrepository/ns/evil/"),
        "{all:?}"
    );
}

fn walk(dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p.display().to_string());
        }
    }
}

#[test]
fn extraction_refuses_escapes_and_wrong_digests() {
    let dir = tempfile::tempdir().unwrap();
    let make = |name: &str, entries: &[(&[u8], tar::EntryType, &[u8])]| {
        let path = dir.path().join(name);
        let f = std::fs::File::create(&path).unwrap();
        let gz = flate2::write::GzEncoder::new(f, flate2::Compression::default());
        let mut b = tar::Builder::new(gz);
        for (entry, kind, data) in entries {
            let mut h = tar::Header::new_gnu();
            // Raw name bytes: the tar crate's own setters refuse '..', an attacker's tool would not.
            h.as_old_mut().name[..entry.len()].copy_from_slice(entry);
            h.set_entry_type(*kind);
            h.set_mode(0o644);
            if *kind == tar::EntryType::Symlink {
                h.set_link_name(std::str::from_utf8(data).unwrap()).unwrap();
                h.set_size(0);
                h.set_cksum();
                b.append(&h, std::io::empty()).unwrap();
            } else {
                h.set_size(data.len() as u64);
                h.set_cksum();
                b.append(&h, *data).unwrap();
            }
        }
        b.into_inner().unwrap().finish().unwrap();
        path
    };
    let reg = tar::EntryType::Regular;
    let sym = tar::EntryType::Symlink;
    let cases = [
        (
            "dotdot.tgz",
            vec![(&b"../evil"[..], reg, &b"x"[..])],
            "contains '..'",
        ),
        (
            "abs.tgz",
            vec![(&b"/tmp/evil"[..], reg, &b"x"[..])],
            "absolute",
        ),
        (
            "link.tgz",
            vec![(&b"l"[..], sym, &b"../../etc"[..])],
            "symlink target",
        ),
        (
            "through.tgz",
            vec![(&b"d"[..], sym, &b"."[..]), (&b"d/f"[..], reg, &b"x"[..])],
            "goes through a symlink",
        ),
    ];
    for (name, entries, expected) in cases {
        let archive = make(name, &entries);
        let dest = dir.path().join(format!("out-{name}"));
        let err = extract(&archive, &dest, &ExtractOptions::default()).unwrap_err();
        assert!(
            matches!(err, ExtractError::PathEscape { .. }),
            "{name}: {err}"
        );
        assert!(err.to_string().contains(expected), "{name}: {err}");
    }
    assert!(!dir.path().parent().unwrap().join("evil").exists());

    let good = make("good.tgz", &[(&b"f"[..], reg, &b"data"[..])]);
    let err = extract(
        &good,
        &dir.path().join("out-digest"),
        &ExtractOptions {
            expected_digest: Some(format!("sha256:{}", "0".repeat(64))),
            ..ExtractOptions::default()
        },
    )
    .unwrap_err();
    assert!(matches!(err, ExtractError::DigestMismatch { .. }), "{err}");
    assert!(
        !dir.path().join("out-digest").exists(),
        "nothing extracted before the digest check"
    );
}

#[test]
fn includes_are_staged_into_the_artifact() {
    let app = Repo::new();
    app.write("deploy/app.yaml", "app\n");
    app.write("vendor/common/stale.yaml", "replaced by the include\n");
    app.commit("app");
    let common = Repo::new();
    common.write("base/cm.yaml", "common\n");
    common.write("README.md", "docs\n");
    common.commit("common");

    let store = tempfile::tempdir().unwrap();
    let storage = Storage::new(store.path().join("storage"));
    // The included repository's artifact, extracted as a consumer would.
    let c = fetch(&source(&common, branch("main")));
    let inc_artifact = storage
        .archive(
            &ArtifactOwner::git_repository("ns", "common"),
            "r",
            c.dir(),
            &ArchiveOptions::default(),
        )
        .unwrap();
    let extracted = store.path().join("extracted");
    extract(
        &storage.local_path(&inc_artifact.path).unwrap(),
        &extracted,
        &ExtractOptions {
            expected_digest: Some(inc_artifact.digest.clone()),
            ..ExtractOptions::default()
        },
    )
    .unwrap();

    let checkout = fetch(&source(&app, branch("main")));
    let staging = store.path().join("staging");
    flotilla_source::stage_includes(
        checkout.dir(),
        &[flotilla_source::Include {
            tree: flotilla_source::from_path(&extracted, "./base").unwrap(),
            to_path: "vendor/common".into(),
        }],
        &staging,
    )
    .unwrap();
    let a = storage
        .archive(
            &ArtifactOwner::git_repository("ns", "app"),
            "r",
            &staging,
            &ArchiveOptions::default(),
        )
        .unwrap();
    assert_eq!(
        artifact_files(&storage, &a.path),
        [
            "deploy",
            "deploy/app.yaml",
            "vendor",
            "vendor/common",
            "vendor/common/cm.yaml"
        ]
    );
    // The checkout itself is untouched.
    assert!(checkout.dir().join("vendor/common/stale.yaml").exists());
}
