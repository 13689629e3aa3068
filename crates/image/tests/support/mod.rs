//! Test fixtures: Debian's `docker-registry` (the Distribution registry) on a loopback port, with
//! no auth, htpasswd basic auth, or token auth; images pushed through the registry API.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use std::time::{Duration, Instant};

use base64::Engine as _;
use sha2::{Digest, Sha256};

pub const REGISTRY_BIN: &str = "/usr/bin/docker-registry";

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

pub fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How the registry authenticates clients.
pub enum RegistryAuth {
    None,
    /// htpasswd; the registry provisions user `docker` with a random password on first start.
    Htpasswd,
    /// Token auth: the registry trusts tokens signed by the key behind `cert_pem`.
    Token {
        realm: String,
        service: String,
        issuer: String,
        cert_pem: String,
    },
}

/// A running `docker-registry serve`, stopped on drop.
pub struct Registry {
    pub port: u16,
    pub dir: tempfile::TempDir,
    child: Child,
    /// Credentials for pushes (and basic auth).
    pub user: String,
    pub password: String,
}

impl Registry {
    pub fn start(auth: RegistryAuth) -> Registry {
        Self::start_with(auth, None)
    }

    /// Serves HTTPS with a certificate for 127.0.0.1 from a fresh test CA; returns the CA (PEM).
    pub fn start_tls(auth: RegistryAuth) -> (Registry, String) {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair, KeyUsagePurpose};
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_key = KeyPair::generate().unwrap();
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let leaf_params = CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
        let reg = Self::start_with(auth, Some((leaf.pem(), leaf_key.serialize_pem())));
        (reg, ca_cert.pem())
    }

    fn start_with(auth: RegistryAuth, tls: Option<(String, String)>) -> Registry {
        assert!(
            Path::new(REGISTRY_BIN).exists(),
            "{REGISTRY_BIN} is missing: apt-get install docker-registry"
        );
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let auth_yaml = match &auth {
            RegistryAuth::None => String::new(),
            RegistryAuth::Htpasswd => format!(
                "auth:\n  htpasswd:\n    realm: basic-realm\n    path: {}\n",
                dir.path().join("htpasswd").display()
            ),
            RegistryAuth::Token {
                realm,
                service,
                issuer,
                cert_pem,
            } => {
                let bundle = dir.path().join("token-ca.pem");
                std::fs::write(&bundle, cert_pem).unwrap();
                format!(
                    "auth:\n  token:\n    realm: {realm}\n    service: {service}\n    issuer: {issuer}\n    rootcertbundle: {}\n",
                    bundle.display()
                )
            }
        };
        let tls_yaml = match tls {
            None => String::new(),
            Some((cert, key)) => {
                std::fs::write(dir.path().join("tls.crt"), cert).unwrap();
                std::fs::write(dir.path().join("tls.key"), key).unwrap();
                format!(
                    "  tls:\n    certificate: {}\n    key: {}\n",
                    dir.path().join("tls.crt").display(),
                    dir.path().join("tls.key").display()
                )
            }
        };
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: test-secret\n{tls_yaml}{auth_yaml}",
            dir.path().join("data").display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let log = std::fs::File::create(dir.path().join("registry.log")).unwrap();
        let child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut reg = Registry {
            port,
            dir,
            child,
            user: String::new(),
            password: String::new(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "registry did not start: {}",
                reg.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        if let RegistryAuth::Htpasswd = auth {
            // The registry provisions the missing htpasswd file and logs the password it chose.
            loop {
                let log = reg.log();
                if let Some(p) = log.split("password=").nth(1) {
                    reg.password = p.split_whitespace().next().unwrap().to_string();
                    reg.user = "docker".to_string();
                    break;
                }
                assert!(Instant::now() < deadline, "no provisioned password: {log}");
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        reg
    }

    /// Stops the registry process (its port then refuses connections); data stays on disk.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the registry again with the same configuration, port, data and password.
    pub fn restart(&mut self) {
        self.stop();
        let log = std::fs::OpenOptions::new()
            .append(true)
            .open(self.dir.path().join("registry.log"))
            .unwrap();
        self.child = Command::new(REGISTRY_BIN)
            .arg("serve")
            .arg(self.dir.path().join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "registry did not restart: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("registry.log")).unwrap_or_default()
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Pushes a tiny image (one config blob, one layer) under `tag` through the registry API,
    /// with `auth` as the Authorization header value (if any).
    pub fn push(&self, repo: &str, tag: &str, auth: Option<&str>) -> String {
        let config = format!("{{\"architecture\":\"amd64\",\"os\":\"linux\",\"tag\":\"{tag}\"}}");
        let layer = b"layer".to_vec();
        let c = self.upload_blob(repo, config.as_bytes(), auth);
        let l = self.upload_blob(repo, &layer, auth);
        let manifest = format!(
            "{{\"schemaVersion\":2,\"mediaType\":\"application/vnd.oci.image.manifest.v1+json\",\"config\":{{\"mediaType\":\"application/vnd.oci.image.config.v1+json\",\"digest\":\"{c}\",\"size\":{}}},\"layers\":[{{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"{l}\",\"size\":{}}}]}}",
            config.len(),
            layer.len()
        );
        let (status, head, body) = http(
            self.port,
            "PUT",
            &format!("/v2/{repo}/manifests/{tag}"),
            &[("Content-Type", "application/vnd.oci.image.manifest.v1+json")],
            auth,
            manifest.as_bytes(),
        );
        assert_eq!(status, 201, "manifest PUT: {head}\n{body}");
        format!("sha256:{}", sha256_hex(manifest.as_bytes()))
    }

    fn upload_blob(&self, repo: &str, data: &[u8], auth: Option<&str>) -> String {
        let digest = format!("sha256:{}", sha256_hex(data));
        // Distribution 2.8 has no single-POST upload: open a session, then PUT the bytes.
        let (status, head, body) = http(
            self.port,
            "POST",
            &format!("/v2/{repo}/blobs/uploads/"),
            &[],
            auth,
            b"",
        );
        assert_eq!(status, 202, "blob POST: {head}\n{body}");
        let location = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("location")
                    .then(|| v.trim().to_string())
            })
            .unwrap();
        let path = location
            .strip_prefix(&format!("http://127.0.0.1:{}", self.port))
            .unwrap_or(&location)
            .to_string();
        let sep = if path.contains('?') { '&' } else { '?' };
        let (status, head, body) = http(
            self.port,
            "PUT",
            &format!("{path}{sep}digest={digest}"),
            &[("Content-Type", "application/octet-stream")],
            auth,
            data,
        );
        assert_eq!(status, 201, "blob PUT: {head}\n{body}");
        digest
    }

    /// Creates tags in the storage layout with a placeholder manifest link (enough for listing).
    pub fn add_listing_only_tags(&self, repo: &str, tags: &[&str]) {
        let base = self
            .data()
            .join("docker/registry/v2/repositories")
            .join(repo)
            .join("_manifests/tags");
        for t in tags {
            let d = base.join(t).join("current");
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("link"), format!("sha256:{}", "0".repeat(64))).unwrap();
        }
    }

    /// Adds many tags pointing at `from_tag`'s manifest straight into the storage layout (the
    /// registry lists tags by reading these directories); much faster than pushing each.
    pub fn add_tags_on_disk<'a>(
        &self,
        repo: &str,
        from_tag: &str,
        tags: impl IntoIterator<Item = &'a str>,
    ) {
        let base = self
            .data()
            .join("docker/registry/v2/repositories")
            .join(repo)
            .join("_manifests/tags");
        let link = std::fs::read(base.join(from_tag).join("current/link")).unwrap();
        for t in tags {
            let d = base.join(t).join("current");
            std::fs::create_dir_all(&d).unwrap();
            std::fs::write(d.join("link"), &link).unwrap();
        }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A minimal HTTP/1.1 exchange (Connection: close); returns (status, head, body).
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    auth: Option<&str>,
    body: &[u8],
) -> (u16, String, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(a) = auth {
        req.push_str(&format!("Authorization: {a}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

pub fn basic(user: &str, pass: &str) -> String {
    format!("Basic {}", b64(format!("{user}:{pass}").as_bytes()))
}

/// A request as the stub server saw it.
#[derive(Debug, Clone)]
pub struct StubRequest {
    pub method: String,
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl StubRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub type Handler = dyn Fn(&StubRequest) -> (u16, Vec<(String, String)>, Vec<u8>) + Send + Sync;

/// A tiny HTTP/1.1 server on loopback for services that have no real local counterpart here
/// (a registry token service, AWS endpoints); every request is recorded.
pub struct Stub {
    pub port: u16,
    pub requests: std::sync::Arc<std::sync::Mutex<Vec<StubRequest>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Stub {
    pub fn start(handler: Box<Handler>) -> Stub {
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::{Arc, Mutex};
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        listener.set_nonblocking(true).unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let handler: Arc<Handler> = Arc::from(handler);
        let (reqs, st) = (requests.clone(), stop.clone());
        std::thread::spawn(move || {
            while !st.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (h, r) = (handler.clone(), reqs.clone());
                        std::thread::spawn(move || serve_one(stream, &*h, &r));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Stub {
            port,
            requests,
            stop,
        }
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

fn serve_one(mut stream: TcpStream, handler: &Handler, reqs: &std::sync::Mutex<Vec<StubRequest>>) {
    use std::io::BufRead;
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let target = parts.next().unwrap_or_default().to_string();
        let mut headers = Vec::new();
        let mut len = 0usize;
        loop {
            let mut h = String::new();
            reader.read_line(&mut h).unwrap();
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    len = v.trim().parse().unwrap();
                }
                headers.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        let mut body = vec![0; len];
        reader.read_exact(&mut body).unwrap();
        let req = StubRequest {
            method,
            target,
            headers,
            body,
        };
        let (status, hdrs, out) = handler(&req);
        reqs.lock().unwrap().push(req);
        let mut resp = format!("HTTP/1.1 {status} X\r\nContent-Length: {}\r\n", out.len());
        for (k, v) in hdrs {
            resp.push_str(&format!("{k}: {v}\r\n"));
        }
        resp.push_str("\r\n");
        if stream.write_all(resp.as_bytes()).is_err() || stream.write_all(&out).is_err() {
            return;
        }
    }
}

/// Signs registry tokens as a Docker token service would (ES256 JWT with the certificate in `x5c`).
pub struct TokenIssuer {
    key: ring::signature::EcdsaKeyPair,
    cert_der: Vec<u8>,
    pub cert_pem: String,
}

impl TokenIssuer {
    pub fn new() -> TokenIssuer {
        use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .unwrap();
        let der = rustls::pki_types::PrivatePkcs8KeyDer::from(pkcs8.as_ref().to_vec());
        let kp = rcgen::KeyPair::try_from(&der).unwrap();
        let mut params = rcgen::CertificateParams::new(vec!["token-issuer".to_string()]).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let cert = params.self_signed(&kp).unwrap();
        TokenIssuer {
            key,
            cert_der: cert.der().to_vec(),
            cert_pem: cert.pem(),
        }
    }

    pub fn token(&self, issuer: &str, service: &str, scope: &str) -> String {
        let url = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let header =
            serde_json::json!({"alg": "ES256", "typ": "JWT", "x5c": [b64(&self.cert_der)]});
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        // scope = repository:<name>:<actions>
        let mut access = Vec::new();
        let parts: Vec<&str> = scope.splitn(3, ':').collect();
        if parts.len() == 3 {
            access.push(serde_json::json!({"type": parts[0], "name": parts[1],
                "actions": parts[2].split(',').collect::<Vec<_>>()}));
        }
        let claims = serde_json::json!({"iss": issuer, "sub": "tester", "aud": service,
            "exp": now + 300, "nbf": now - 10, "iat": now, "jti": format!("{now}-{}", rand_suffix()),
            "access": access});
        let signing_input = format!(
            "{}.{}",
            url(header.to_string().as_bytes()),
            url(claims.to_string().as_bytes())
        );
        let rng = ring::rand::SystemRandom::new();
        let sig = self.key.sign(&rng, signing_input.as_bytes()).unwrap();
        format!("{signing_input}.{}", url(sig.as_ref()))
    }
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

/// Query parameter `key` of a request target (percent-decoding `%XX` and `+`).
pub fn query_param(target: &str, key: &str) -> Option<String> {
    let q = target.split_once('?')?.1;
    for pair in q.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        if k == key {
            let mut out = Vec::new();
            let b = v.as_bytes();
            let mut i = 0;
            while i < b.len() {
                match b[i] {
                    b'%' if i + 2 < b.len() => {
                        let h = std::str::from_utf8(&b[i + 1..i + 3]).unwrap();
                        out.push(u8::from_str_radix(h, 16).unwrap());
                        i += 3;
                    }
                    b'+' => {
                        out.push(b' ');
                        i += 1;
                    }
                    c => {
                        out.push(c);
                        i += 1;
                    }
                }
            }
            return Some(String::from_utf8(out).unwrap());
        }
    }
    None
}

/// Runs git for fixtures with a fixed identity and no user config; returns trimmed stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "Dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The `+`/`-` lines of `git diff --unified=0 from to` in the repository at `dir` (file headers left out).
pub fn changed_lines(dir: &Path, from: &str, to: &str) -> Vec<String> {
    git(dir, &["diff", "--unified=0", from, to])
        .lines()
        .filter(|l| {
            (l.starts_with('+') || l.starts_with('-'))
                && !l.starts_with("+++")
                && !l.starts_with("---")
        })
        .map(str::to_string)
        .collect()
}
