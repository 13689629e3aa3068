//! The server against git itself: a clone with the right credentials works, wrong ones get a 401, and rotated credentials apply to the next request.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use flotilla_gitserver::{base64, HttpAuth, HttpGitServer};

fn git(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0")
        .output()
        .unwrap()
}

fn basic(user: &str, password: &str) -> HttpAuth {
    HttpAuth::Basic {
        user: user.into(),
        password: password.into(),
    }
}

#[test]
fn basic_auth_is_checked_on_every_request_and_can_be_rotated() {
    let root = tempfile::tempdir().unwrap();
    let bare = root.path().join("repo.git");
    std::fs::create_dir_all(&bare).unwrap();
    assert!(git(&bare, &["init", "-q", "--bare", "-b", "main"])
        .status
        .success());
    let server = HttpGitServer::start(root.path(), basic("alice", "one")).unwrap();
    let with = |user: &str, password: &str| {
        let url = server
            .url("repo.git")
            .replace("http://", &format!("http://{user}:{password}@"));
        git(root.path(), &["ls-remote", &url])
    };
    assert!(with("alice", "one").status.success());
    let refused = with("alice", "two");
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("Authentication failed"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    server.set_auth(basic("alice", "two"));
    assert!(with("alice", "two").status.success());
    assert!(!with("alice", "one").status.success());
    assert!(server.requests.load(std::sync::atomic::Ordering::SeqCst) >= 4);
}

#[test]
fn base64_matches_the_standard_alphabet_with_padding() {
    assert_eq!(base64(b"alice:one"), "YWxpY2U6b25l");
    assert_eq!(base64(b"ab"), "YWI=");
    assert_eq!(base64(b"a"), "YQ==");
    assert_eq!(base64(b""), "");
}
