//! Smart HTTP through git's own http-backend with basic auth (CodeCommit-style) and bearer tokens.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use flotilla_source::{
    Credentials, FetchError, FetchOptions, FetchOutcome, GitRef, GitSource, GitUrl,
};
use flotilla_testkit::{free_port, HttpAuth, HttpGitServer, Repo};

const USER: &str = "codecommit-user-at-123456789012";
const PASSWORD: &str = "s3cr3t+PASS/word=";

fn secret(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect()
}

fn main_branch() -> GitRef {
    GitRef::Branch("main".into())
}

/// Fetches branch main of `url` with default options.
fn fetch_main(url: String, credentials: Credentials) -> Result<FetchOutcome, FetchError> {
    GitSource {
        url,
        reference: main_branch(),
        credentials,
    }
    .fetch(&FetchOptions::default())
}

/// A repository served at `/<dirname>` and a server demanding `auth`.
fn serve(auth: HttpAuth) -> (Repo, HttpGitServer, String) {
    let repo = Repo::new();
    repo.write("deploy/app.yaml", "kind: ConfigMap\n");
    repo.commit("initial");
    let root = repo.path().parent().unwrap();
    let name = repo
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let server = HttpGitServer::start(root, auth);
    let url = server.url(&name);
    (repo, server, url)
}

fn assert_clean(err: &FetchError, secrets: &[&str]) {
    let text = format!("{err} {err:?}");
    for s in secrets {
        assert!(!text.contains(s), "secret leaked into the error: {text}");
    }
}

#[test]
fn basic_auth_right_and_wrong_credentials() {
    let (repo, server, url) = serve(HttpAuth::Basic {
        user: USER.into(),
        password: PASSWORD.into(),
    });
    let parsed = GitUrl::parse(&url).unwrap();
    let good = Credentials::from_secret(
        "flux-system/https-credentials",
        &secret(&[("username", USER), ("password", PASSWORD)]),
        &parsed,
    )
    .unwrap();
    let src = GitSource {
        url: url.clone(),
        reference: main_branch(),
        credentials: good,
    };
    let cache = tempfile::tempdir().unwrap();
    let opts = FetchOptions {
        cache_dir: Some(cache.path().join("c")),
        ..FetchOptions::default()
    };
    let FetchOutcome::Fetched(c) = src.fetch(&opts).unwrap() else {
        panic!("expected a fetch")
    };
    assert_eq!(c.revision.to_string(), format!("main@sha1:{}", repo.head()));
    assert!(c.dir().join("deploy/app.yaml").is_file());

    // Incremental: a one-file change transfers a small pack, not the repository again.
    let first_bytes = server.upload_bytes.load(Ordering::SeqCst);
    for i in 0..50 {
        repo.write(
            &format!("bulk/file-{i}.yaml"),
            &format!("n: {i}\n{}", "padding ".repeat(200)),
        );
    }
    repo.commit("bulk");
    let FetchOutcome::Fetched(_) = src.fetch(&opts).unwrap() else {
        panic!("expected a fetch")
    };
    let bulk_bytes = server.upload_bytes.load(Ordering::SeqCst) - first_bytes;
    repo.write("deploy/app.yaml", "kind: ConfigMap\nchanged: true\n");
    let head = repo.commit("small change");
    let FetchOutcome::Fetched(c) = src.fetch(&opts).unwrap() else {
        panic!("expected a fetch")
    };
    assert_eq!(c.revision.sha, head);
    let small_bytes = server.upload_bytes.load(Ordering::SeqCst) - first_bytes - bulk_bytes;
    assert!(
        small_bytes * 4 < bulk_bytes,
        "incremental fetch moved {small_bytes} bytes; the 50-file commit took {bulk_bytes}"
    );

    // Wrong password: AuthenticationFailed, and the password is nowhere in the error.
    let wrong_pw = "wrong-Pa55word-xyz";
    let bad = GitSource {
        url: url.clone(),
        reference: main_branch(),
        credentials: Credentials::from_secret(
            "flux-system/https-credentials",
            &secret(&[("username", USER), ("password", wrong_pw)]),
            &parsed,
        )
        .unwrap(),
    };
    let err = bad.fetch(&FetchOptions::default()).unwrap_err();
    assert!(
        matches!(err, FetchError::AuthenticationFailed { .. }),
        "{err}"
    );
    assert_eq!(err.reason(), "AuthenticationFailed");
    assert_clean(&err, &[wrong_pw, PASSWORD]);

    // No credentials at all.
    let err = fetch_main(url.clone(), Credentials::none()).unwrap_err();
    assert!(
        matches!(err, FetchError::AuthenticationFailed { .. }),
        "{err}"
    );

    // Credentials embedded in the URL work, and are redacted when they fail.
    let embedded = url.replace(
        "http://",
        &format!(
            "http://{USER}:{}@",
            PASSWORD.replace('/', "%2F").replace('+', "%2B")
        ),
    );
    assert!(matches!(
        fetch_main(embedded, Credentials::none()).unwrap(),
        FetchOutcome::Fetched(_)
    ));
    let leaked = "leaky-pass-123";
    let err = fetch_main(
        url.replace("http://", &format!("http://{USER}:{leaked}@")),
        Credentials::none(),
    )
    .unwrap_err();
    assert!(
        matches!(err, FetchError::AuthenticationFailed { .. }),
        "{err}"
    );
    assert_clean(&err, &[leaked]);

    // A malformed secret names the missing key.
    let err =
        Credentials::from_secret("flux-system/creds", &secret(&[("username", USER)]), &parsed)
            .unwrap_err();
    assert_eq!(
        err.to_string(),
        "secret 'flux-system/creds' has no 'password' key: basic auth needs both username and password"
    );
}

#[test]
fn bearer_token() {
    let token = "ghp_t0ken-value";
    let (repo, _server, url) = serve(HttpAuth::Bearer(token.into()));
    let parsed = GitUrl::parse(&url).unwrap();
    let creds =
        Credentials::from_secret("ns/token", &secret(&[("bearerToken", token)]), &parsed).unwrap();
    let src = GitSource {
        url: url.clone(),
        reference: main_branch(),
        credentials: creds,
    };
    // Watch every command line while git runs: the token must never be an argument.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let stop = stop.clone();
        let url = url.clone();
        std::thread::spawn(move || {
            let (mut seen, mut hits) = (0usize, Vec::new());
            while !stop.load(Ordering::SeqCst) {
                for e in std::fs::read_dir("/proc").unwrap().flatten() {
                    if let Ok(c) = std::fs::read(e.path().join("cmdline")) {
                        let c = String::from_utf8_lossy(&c).replace('\0', " ");
                        // git's own processes for this fetch carry the URL as an argument.
                        if c.contains(&url) {
                            seen += 1;
                        }
                        if c.contains(token) {
                            hits.push(c);
                        }
                    }
                }
            }
            (seen, hits)
        })
    };
    let FetchOutcome::Fetched(c) = src.fetch(&FetchOptions::default()).unwrap() else {
        panic!("expected a fetch")
    };
    stop.store(true, Ordering::SeqCst);
    let (seen, hits) = watcher.join().unwrap();
    assert!(hits.is_empty(), "token on a command line: {hits:?}");
    assert!(seen > 0, "the watcher saw no git process for {url}");
    assert_eq!(c.revision.sha, repo.head());

    let wrong = Credentials::from_secret(
        "ns/token",
        &secret(&[("bearerToken", "nope-token")]),
        &parsed,
    )
    .unwrap();
    let err = fetch_main(url, wrong).unwrap_err();
    assert!(
        matches!(err, FetchError::AuthenticationFailed { .. }),
        "{err}"
    );
    assert_clean(&err, &["nope-token", token]);
}

#[test]
fn unreachable_and_missing() {
    let (_repo, _server, url) = serve(HttpAuth::None);
    // Nothing listens on a freshly freed port.
    let port = free_port();
    let err = fetch_main(
        format!("http://127.0.0.1:{port}/repo.git"),
        Credentials::none(),
    )
    .unwrap_err();
    assert!(matches!(err, FetchError::Unreachable { .. }), "{err}");
    assert!(err.is_transient());
    assert_eq!(err.reason(), "GitOperationFailed");

    let err = fetch_main(format!("{url}-absent"), Credentials::none()).unwrap_err();
    assert!(matches!(err, FetchError::NotFound { .. }), "{err}");

    let src = GitSource {
        url,
        reference: GitRef::Branch("nope".into()),
        credentials: Credentials::none(),
    };
    let err = src.fetch(&FetchOptions::default()).unwrap_err();
    assert!(err.to_string().contains("branch 'nope' not found"), "{err}");
}

#[test]
fn https_with_custom_ca() {
    let repo = Repo::new();
    repo.write("a.yaml", "a: 1\n");
    let head = repo.commit("initial");
    let root = repo.path().parent().unwrap();
    let name = repo
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let (server, ca_pem) = HttpGitServer::start_tls(
        root,
        HttpAuth::Basic {
            user: USER.into(),
            password: PASSWORD.into(),
        },
    );
    let url = server.https_url(&name);
    let parsed = GitUrl::parse(&url).unwrap();

    let with_ca = Credentials::from_secret(
        "ns/https",
        &secret(&[
            ("username", USER),
            ("password", PASSWORD),
            ("ca.crt", &ca_pem),
        ]),
        &parsed,
    )
    .unwrap();
    let src = GitSource {
        url: url.clone(),
        reference: main_branch(),
        credentials: with_ca,
    };
    let FetchOutcome::Fetched(c) = src.fetch(&FetchOptions::default()).unwrap() else {
        panic!("expected a fetch")
    };
    assert_eq!(c.revision.sha, head);

    // Without the CA the server's certificate is not trusted.
    let without_ca = Credentials::from_secret(
        "ns/https",
        &secret(&[("username", USER), ("password", PASSWORD)]),
        &parsed,
    )
    .unwrap();
    let err = fetch_main(url, without_ca).unwrap_err();
    assert!(matches!(err, FetchError::Unreachable { .. }), "{err}");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
    assert_clean(&err, &[PASSWORD]);
}

#[test]
fn a_silent_server_times_out_and_git_is_stopped() {
    // Accepts connections and never answers.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let held = std::thread::spawn(move || {
        let mut conns = Vec::new();
        listener.set_nonblocking(true).unwrap();
        let until = std::time::Instant::now() + std::time::Duration::from_secs(4);
        while std::time::Instant::now() < until {
            if let Ok((c, _)) = listener.accept() {
                conns.push(c);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    });
    let url = format!("http://127.0.0.1:{port}/silent.git");
    let started = std::time::Instant::now();
    let err = GitSource {
        url: url.clone(),
        reference: main_branch(),
        credentials: Credentials::none(),
    }
    .fetch(&FetchOptions {
        timeout: std::time::Duration::from_secs(2),
        ..FetchOptions::default()
    })
    .unwrap_err();
    assert!(matches!(err, FetchError::Timeout { .. }), "{err}");
    assert!(err.is_transient());
    assert!(
        started.elapsed() < std::time::Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    // No git helper is left running against the silent server.
    std::thread::sleep(std::time::Duration::from_millis(200));
    let leftovers: Vec<String> = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| std::fs::read(e.ok()?.path().join("cmdline")).ok())
        .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
        .filter(|c| c.contains(&url))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    held.join().unwrap();
}
