//! SSH through a real OpenSSH server on loopback: key auth, known_hosts verification, refusals.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use flotilla_source::{
    Credentials, FetchError, FetchOptions, FetchOutcome, GitRef, GitSource, GitUrl,
};
use flotilla_testkit::{keygen, Repo, SshServer};

fn secret(identity: &[u8], known_hosts: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut m = BTreeMap::new();
    m.insert("identity".to_string(), identity.to_vec());
    m.insert("known_hosts".to_string(), known_hosts.to_vec());
    m
}

fn source(url: &str, data: &BTreeMap<String, Vec<u8>>) -> GitSource {
    GitSource {
        url: url.to_string(),
        reference: GitRef::Branch("main".into()),
        credentials: Credentials::from_secret(
            "flux-system/ssh",
            data,
            &GitUrl::parse(url).unwrap(),
        )
        .unwrap(),
    }
}

#[test]
fn ssh_key_auth_and_host_key_checks() {
    let server = SshServer::start();
    let repo = Repo::new();
    repo.write("clusters/dev/flux.yaml", "kind: Kustomization\n");
    let head = repo.commit("initial");
    let url = server.url(repo.path());

    // Right key, right host key.
    let src = source(&url, &secret(&server.client_key, &server.known_hosts));
    let cache = tempfile::tempdir().unwrap();
    let opts = FetchOptions {
        cache_dir: Some(cache.path().join("c")),
        ..FetchOptions::default()
    };
    let FetchOutcome::Fetched(c) = src.fetch(&opts).unwrap() else {
        panic!("expected a fetch")
    };
    assert_eq!(c.revision.to_string(), format!("main@sha1:{head}"));
    assert!(c.dir().join("clusters/dev/flux.yaml").is_file());

    // Incremental over ssh too: the next commit arrives into the same cache.
    repo.write("clusters/dev/flux.yaml", "kind: Kustomization\nspec: {}\n");
    let next = repo.commit("next");
    let FetchOutcome::Fetched(c) = src.fetch(&opts).unwrap() else {
        panic!("expected a fetch")
    };
    assert_eq!(c.revision.sha, next);

    // A different host key in known_hosts: refused before any authentication.
    let other = tempfile::tempdir().unwrap();
    keygen(&other.path().join("k"));
    let pubkey = std::fs::read_to_string(other.path().join("k.pub")).unwrap();
    let mut f = pubkey.split_whitespace();
    let wrong_hosts = format!(
        "[127.0.0.1]:{} {} {}\n",
        server.port,
        f.next().unwrap(),
        f.next().unwrap()
    );
    let err = source(&url, &secret(&server.client_key, wrong_hosts.as_bytes()))
        .fetch(&FetchOptions::default())
        .unwrap_err();
    assert!(matches!(err, FetchError::HostKeyMismatch { .. }), "{err}");
    assert_eq!(err.reason(), "AuthenticationFailed");

    // known_hosts for another host/port only: also refused (no trust on first use).
    let err = source(&url, &secret(&server.client_key, b"[127.0.0.1]:1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeFakeFakeFakeFakeFakeFakeFakeFakeFakeFake\n"))
        .fetch(&FetchOptions::default())
        .unwrap_err();
    assert!(matches!(err, FetchError::HostKeyMismatch { .. }), "{err}");

    // A key the server does not know: AuthenticationFailed, and no key material in the message.
    let stranger = std::fs::read(other.path().join("k")).unwrap();
    let err = source(&url, &secret(&stranger, &server.known_hosts))
        .fetch(&FetchOptions::default())
        .unwrap_err();
    assert!(
        matches!(err, FetchError::AuthenticationFailed { .. }),
        "{err}"
    );
    let key_body: String = String::from_utf8_lossy(&stranger)
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    assert!(!format!("{err} {err:?}").contains(&key_body));

    // An ssh URL without a secret names what is missing.
    let err = GitSource {
        url: url.clone(),
        reference: GitRef::Branch("main".into()),
        credentials: Credentials::none(),
    }
    .fetch(&FetchOptions::default())
    .unwrap_err();
    assert!(err.to_string().contains("'identity'"), "{err}");
}

#[test]
fn encrypted_identity_with_passphrase() {
    let server = SshServer::start();
    let repo = Repo::new();
    repo.write("a.yaml", "a\n");
    let head = repo.commit("initial");
    let url = server.url(repo.path());
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("enc");
    let passphrase = "k3y-passphrase-42";
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", passphrase, "-C", "enc", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(out.status.success());
    let mut authorized = std::fs::read(server.dir.path().join("authorized_keys")).unwrap();
    authorized.extend(std::fs::read(keys.path().join("enc.pub")).unwrap());
    std::fs::write(server.dir.path().join("authorized_keys"), authorized).unwrap();
    let identity = std::fs::read(&key).unwrap();

    let mut data = secret(&identity, &server.known_hosts);
    data.insert("password".into(), passphrase.as_bytes().to_vec());
    let FetchOutcome::Fetched(c) = source(&url, &data).fetch(&FetchOptions::default()).unwrap()
    else {
        panic!("expected a fetch")
    };
    assert_eq!(c.revision.sha, head);

    // Without the passphrase, or with a wrong one: AuthenticationFailed, nothing leaked.
    let err = source(&url, &secret(&identity, &server.known_hosts))
        .fetch(&FetchOptions::default())
        .unwrap_err();
    assert!(
        matches!(err, FetchError::AuthenticationFailed { .. }),
        "{err}"
    );
    data.insert("password".into(), b"wrong-passphrase-7".to_vec());
    let err = source(&url, &data)
        .fetch(&FetchOptions::default())
        .unwrap_err();
    assert!(
        matches!(err, FetchError::AuthenticationFailed { .. }),
        "{err}"
    );
    let text = format!("{err} {err:?}");
    assert!(
        !text.contains("wrong-passphrase-7") && !text.contains(passphrase),
        "{text}"
    );
}
