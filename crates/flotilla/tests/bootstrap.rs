//! `flotilla bootstrap git` end to end: the built binary bootstraps the dev cluster from a bare
//! repository served by git's http-backend with basic auth; kubectl and git are the oracles.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

use flotilla_testkit::{git, DevCluster, HttpAuth, HttpGitServer};

mod common;
use common::flotilla;

const USER: &str = "fleet-user";
const PASSWORD: &str = "s3cret-pa55word";

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A bare repository with one commit on main, served over HTTP with basic auth.
fn served_repo(root: &Path) -> HttpGitServer {
    let seed = tempfile::tempdir().unwrap();
    git(seed.path(), &["init", "-q", "-b", "main"]);
    std::fs::write(seed.path().join("README.md"), "fleet\n").unwrap();
    git(seed.path(), &["add", "README.md"]);
    git(
        seed.path(),
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "commit",
            "-q",
            "-m",
            "init",
        ],
    );
    let bare = root.join("fleet.git");
    git(
        root,
        &[
            "clone",
            "-q",
            "--bare",
            seed.path().to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    git(&bare, &["config", "http.receivepack", "true"]);
    HttpGitServer::start(
        root,
        HttpAuth::Basic {
            user: USER.into(),
            password: PASSWORD.into(),
        },
    )
}

fn bootstrap_args<'a>(url: &'a str, password: &'a str) -> Vec<&'a str> {
    vec![
        "bootstrap",
        "git",
        "--url",
        url,
        "--branch",
        "main",
        "--path",
        "clusters/dev",
        "--username",
        USER,
        "--password",
        password,
        "--interval",
        "2m",
        "--components-extra",
        "image-reflector-controller,image-automation-controller",
        "--silent",
        "--wait=false",
        "--timeout",
        "60s",
    ]
}

#[test]
fn bootstraps_over_http_with_basic_auth_and_reruns_idempotently() {
    let cluster = DevCluster::start();
    let root = tempfile::tempdir().unwrap();
    let server = served_repo(root.path());
    let url = server.url("fleet.git");
    let bare = root.path().join("fleet.git");

    let out = flotilla(&cluster.kubeconfig, &bootstrap_args(&url, PASSWORD));
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        !text(&out).contains(PASSWORD),
        "password printed: {}",
        text(&out)
    );

    // The repository: one new commit on main with Flux's three files.
    let log = git(&bare, &["log", "--format=%s", "main"]);
    assert_eq!(
        log.lines().collect::<Vec<_>>(),
        ["Add Flotilla sync manifests", "init"]
    );
    let files = git(&bare, &["ls-tree", "-r", "--name-only", "main"]);
    for f in [
        "clusters/dev/flux-system/gotk-components.yaml",
        "clusters/dev/flux-system/gotk-sync.yaml",
        "clusters/dev/flux-system/kustomization.yaml",
    ] {
        assert!(files.lines().any(|l| l == f), "{f} missing: {files}");
    }
    let sync = git(
        &bare,
        &["show", "main:clusters/dev/flux-system/gotk-sync.yaml"],
    );
    assert!(sync.contains(&format!("url: {url}")), "{sync}");
    assert!(sync.contains("path: ./clusters/dev"), "{sync}");
    assert!(sync.contains("interval: 2m0s"), "{sync}");
    assert!(!sync.contains(PASSWORD));
    let components = git(
        &bare,
        &["show", "main:clusters/dev/flux-system/gotk-components.yaml"],
    );
    assert!(
        components.contains("image-automation-controller"),
        "header names the extras"
    );
    assert!(components.contains("kind: CustomResourceDefinition"));
    assert!(components.contains("kind: Deployment"));

    // The committed directory builds with kubectl kustomize (the oracle) into the same sync objects.
    let checkout = tempfile::tempdir().unwrap();
    git(
        checkout.path(),
        &["clone", "-q", bare.to_str().unwrap(), "c"],
    );
    let built = Command::new("kubectl")
        .args(["kustomize", "c/clusters/dev/flux-system"])
        .current_dir(checkout.path())
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", text(&built));
    let built = String::from_utf8_lossy(&built.stdout);
    assert!(built.contains("kind: GitRepository") && built.contains("kind: Kustomization"));

    // The cluster: sync objects, controller Deployment, credentials Secret.
    let gr = cluster.kubectl_ok(
        &[
            "get",
            "gitrepository",
            "flux-system",
            "-n",
            "flux-system",
            "-o",
            "jsonpath={.spec.url} {.spec.secretRef.name} {.spec.ref.branch}",
        ],
        "",
    );
    assert_eq!(gr, format!("{url} flux-system main"));
    let ks = cluster.kubectl_ok(
        &[
            "get",
            "kustomization",
            "flux-system",
            "-n",
            "flux-system",
            "-o",
            "jsonpath={.spec.path} {.spec.prune}",
        ],
        "",
    );
    assert_eq!(ks, "./clusters/dev true");
    cluster.kubectl_ok(
        &[
            "get",
            "deployment",
            "flotilla-controller",
            "-n",
            "flux-system",
        ],
        "",
    );
    let user = cluster.kubectl_ok(
        &[
            "get",
            "secret",
            "flux-system",
            "-n",
            "flux-system",
            "-o",
            "jsonpath={.data.username}",
        ],
        "",
    );
    assert_eq!(user, flotilla_testkit::base64(USER.as_bytes()));
    let pass = cluster.kubectl_ok(
        &[
            "get",
            "secret",
            "flux-system",
            "-n",
            "flux-system",
            "-o",
            "jsonpath={.data.password}",
        ],
        "",
    );
    assert_eq!(pass, flotilla_testkit::base64(PASSWORD.as_bytes()));

    // Re-run: nothing changed, so no second commit.
    let head = git(&bare, &["rev-parse", "main"]);
    let out = flotilla(&cluster.kubeconfig, &bootstrap_args(&url, PASSWORD));
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("up to date"), "{}", text(&out));
    assert_eq!(git(&bare, &["rev-parse", "main"]), head);
}

#[test]
fn wrong_password_is_a_clear_error_and_installs_nothing() {
    let cluster = DevCluster::start();
    let root = tempfile::tempdir().unwrap();
    let server = served_repo(root.path());
    let url = server.url("fleet.git");
    let bare = root.path().join("fleet.git");
    let head = git(&bare, &["rev-parse", "main"]);

    let out = flotilla(&cluster.kubeconfig, &bootstrap_args(&url, "wrong-password"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let msg = text(&out);
    assert!(msg.contains("git clone failed"), "{msg}");
    assert!(msg.contains("nothing was written"), "{msg}");
    assert!(!msg.contains("wrong-password"), "{msg}");
    assert_eq!(git(&bare, &["rev-parse", "main"]), head);
    let got = cluster.kubectl(
        &[
            "get",
            "deployment",
            "flotilla-controller",
            "-n",
            "flux-system",
        ],
        "",
    );
    assert!(
        !got.status.success(),
        "controller installed despite the failure"
    );
    let got = cluster.kubectl(&["get", "secret", "flux-system", "-n", "flux-system"], "");
    assert!(!got.status.success(), "secret created despite the failure");
}

/// Runs flotilla with `stdin` piped in (a pipe, never a terminal).
fn flotilla_stdin(kubeconfig: &Path, args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_flotilla"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("HOME", "/nonexistent-home")
        .env_remove("GIT_PASSWORD")
        .env("KUBECONFIG", kubeconfig)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// A repository bootstrapped by Flux (its header, a patched kustomization.yaml), served with
/// basic auth for user `git`: --token-auth reads the token from stdin and authenticates as
/// `git`; replacing Flux's files needs a yes or --silent; the user's kustomization.yaml stays.
#[test]
fn token_auth_reads_stdin_as_git_and_silent_confirms_replacing_fluxs_files() {
    const TOKEN: &str = "glpat-t0ken";
    let cluster = DevCluster::start();
    let root = tempfile::tempdir().unwrap();
    let seed = tempfile::tempdir().unwrap();
    let s = seed.path();
    git(s, &["init", "-q", "-b", "main"]);
    std::fs::create_dir_all(s.join("clusters/dev/flux-system")).unwrap();
    let flux_components =
        "# This manifest was generated by flux. DO NOT EDIT.\n# Flux Version: v2.1.2\n---\n";
    let patched = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n\
                   - gotk-components.yaml\n- gotk-sync.yaml\npatches:\n- patch: |\n    - op: add\n      \
                   path: /metadata/annotations\n      value: {team: platform}\n  target:\n    kind: Deployment\n";
    std::fs::write(
        s.join("clusters/dev/flux-system/gotk-components.yaml"),
        flux_components,
    )
    .unwrap();
    std::fs::write(
        s.join("clusters/dev/flux-system/kustomization.yaml"),
        patched,
    )
    .unwrap();
    git(s, &["add", "."]);
    git(
        s,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "commit",
            "-q",
            "-m",
            "flux bootstrap",
        ],
    );
    let bare = root.path().join("fleet.git");
    git(
        root.path(),
        &[
            "clone",
            "-q",
            "--bare",
            s.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    git(&bare, &["config", "http.receivepack", "true"]);
    let server = HttpGitServer::start(
        root.path(),
        HttpAuth::Basic {
            user: "git".into(),
            password: TOKEN.into(),
        },
    );
    let url = server.url("fleet.git");
    let head = git(&bare, &["rev-parse", "main"]);
    let args = |extra: &[&'static str]| {
        let mut v = vec![
            "bootstrap",
            "git",
            "--url",
            url.as_str(),
            "--path",
            "clusters/dev",
            "--wait=false",
            "--timeout",
            "60s",
        ];
        v.extend_from_slice(extra);
        v
    };

    // Without --token-auth nothing asks for the token: the server refuses the clone.
    let out = flotilla_stdin(&cluster.kubeconfig, &args(&[]), &format!("{TOKEN}\n"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("git clone failed"), "{}", text(&out));

    // --token-auth reads the token; Flux's files are found and the (empty) answer declines.
    let out = flotilla_stdin(
        &cluster.kubeconfig,
        &args(&["--token-auth"]),
        &format!("{TOKEN}\n"),
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let msg = text(&out);
    assert!(
        msg.contains("clusters/dev/flux-system/gotk-components.yaml would be replaced"),
        "{msg}"
    );
    assert!(msg.contains("--silent"), "{msg}");
    assert!(!msg.contains(TOKEN), "{msg}");
    assert_eq!(
        git(&bare, &["rev-parse", "main"]),
        head,
        "declined yet pushed"
    );
    let got = cluster.kubectl(&["get", "secret", "flux-system", "-n", "flux-system"], "");
    assert!(!got.status.success(), "declined yet the Secret was created");

    // --silent: replaced without asking; the patched kustomization.yaml is the user's and stays.
    let out = flotilla_stdin(
        &cluster.kubeconfig,
        &args(&["--token-auth", "--silent"]),
        &format!("{TOKEN}\n"),
    );
    assert!(out.status.success(), "{}", text(&out));
    let components = git(
        &bare,
        &["show", "main:clusters/dev/flux-system/gotk-components.yaml"],
    );
    assert!(
        components.starts_with("# This manifest was generated by flotilla."),
        "{components}"
    );
    let kustomization = git(
        &bare,
        &["show", "main:clusters/dev/flux-system/kustomization.yaml"],
    );
    assert_eq!(format!("{kustomization}\n"), patched);
    let sync = git(
        &bare,
        &["show", "main:clusters/dev/flux-system/gotk-sync.yaml"],
    );
    assert!(
        sync.contains(&format!("url: {url}")) && !sync.contains(TOKEN),
        "{sync}"
    );
    let secret = |key: &str| {
        cluster.kubectl_ok(
            &[
                "get",
                "secret",
                "flux-system",
                "-n",
                "flux-system",
                "-o",
                &format!("jsonpath={{.data.{key}}}"),
            ],
            "",
        )
    };
    assert_eq!(secret("username"), flotilla_testkit::base64(b"git"));
    assert_eq!(
        secret("password"),
        flotilla_testkit::base64(TOKEN.as_bytes())
    );
    // Install created Flux's kustomize-controller account (Kustomizations impersonate it).
    cluster.kubectl_ok(
        &[
            "get",
            "serviceaccount",
            "kustomize-controller",
            "-n",
            "flux-system",
        ],
        "",
    );
}
