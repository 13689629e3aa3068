//! git's `http-backend` run as CGI behind a minimal HTTP/1.1 server (plain or TLS with a fresh CA), with basic or bearer auth that can change while it runs.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::thread;
use std::time::Duration;

/// Standard base64 with padding (Basic auth headers, Secret data).
pub fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// What the HTTP server demands.
#[derive(Clone)]
pub enum HttpAuth {
    /// Anonymous access.
    None,
    /// HTTP basic auth with this user and password (CodeCommit's HTTPS Git credentials).
    Basic {
        /// User name.
        user: String,
        /// Password.
        password: String,
    },
    /// `Authorization: Bearer <token>`.
    Bearer(String),
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// No loopback port could be bound.
    #[error("binding a port on 127.0.0.1 for the Git server: {0}")]
    Bind(#[source] std::io::Error),
    /// The TLS certificate or configuration could not be made.
    #[error("making the Git server's TLS certificate: {0}")]
    Tls(String),
}

/// `git http-backend` run as CGI behind a minimal HTTP/1.1 server on 127.0.0.1; stops on drop.
pub struct HttpGitServer {
    /// The port it listens on.
    pub port: u16,
    stop: Arc<AtomicBool>,
    /// Bytes of pack data served by git-upload-pack POSTs.
    pub upload_bytes: Arc<AtomicU64>,
    /// Requests answered (401s included).
    pub requests: Arc<AtomicU64>,
    auth: Arc<RwLock<HttpAuth>>,
    handle: Option<thread::JoinHandle<()>>,
}

impl HttpGitServer {
    /// Serves the repositories under `root` (URL path = path below root) over plain HTTP.
    pub fn start(root: &Path, auth: HttpAuth) -> Result<HttpGitServer, ServeError> {
        Self::start_with(root, auth, None)
    }

    /// Serves over HTTPS with a certificate for 127.0.0.1 issued by a fresh CA;
    /// returns the server and the CA certificate (PEM) clients must trust.
    pub fn start_tls(root: &Path, auth: HttpAuth) -> Result<(HttpGitServer, String), ServeError> {
        let (config, ca_pem) = tls_config().map_err(ServeError::Tls)?;
        Ok((Self::start_with(root, auth, Some(config))?, ca_pem))
    }

    /// Demands other credentials from now on (as when a Git host's credentials are rotated).
    pub fn set_auth(&self, auth: HttpAuth) {
        // A poisoned lock only means a connection thread panicked; the value is still whole.
        match self.auth.write() {
            Ok(mut a) => *a = auth,
            Err(poisoned) => *poisoned.into_inner() = auth,
        }
    }

    fn start_with(
        root: &Path,
        auth: HttpAuth,
        tls: Option<Arc<rustls::ServerConfig>>,
    ) -> Result<HttpGitServer, ServeError> {
        let listener = TcpListener::bind("127.0.0.1:0").map_err(ServeError::Bind)?;
        let port = listener.local_addr().map_err(ServeError::Bind)?.port();
        listener.set_nonblocking(true).map_err(ServeError::Bind)?;
        let stop = Arc::new(AtomicBool::new(false));
        let upload_bytes = Arc::new(AtomicU64::new(0));
        let requests = Arc::new(AtomicU64::new(0));
        let auth = Arc::new(RwLock::new(auth));
        let (s, u, r) = (stop.clone(), upload_bytes.clone(), requests.clone());
        let shared_auth = auth.clone();
        let root = root.to_path_buf();
        let handle = thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (root, auth, u, r, tls) = (
                            root.clone(),
                            shared_auth.clone(),
                            u.clone(),
                            r.clone(),
                            tls.clone(),
                        );
                        thread::spawn(move || {
                            if stream.set_nonblocking(false).is_err()
                                || stream
                                    .set_read_timeout(Some(Duration::from_secs(30)))
                                    .is_err()
                            {
                                return;
                            }
                            let _ = match tls {
                                None => serve(stream, &root, &auth, &u, &r),
                                Some(config) => match rustls::ServerConnection::new(config) {
                                    Ok(conn) => serve(
                                        rustls::StreamOwned::new(conn, stream),
                                        &root,
                                        &auth,
                                        &u,
                                        &r,
                                    ),
                                    Err(_) => return,
                                },
                            };
                        });
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Ok(HttpGitServer {
            port,
            stop,
            upload_bytes,
            requests,
            auth,
            handle: Some(handle),
        })
    }

    /// `http://127.0.0.1:<port>/<repo>`.
    pub fn url(&self, repo: &str) -> String {
        format!("http://127.0.0.1:{}/{repo}", self.port)
    }

    /// `https://127.0.0.1:<port>/<repo>` (for [`HttpGitServer::start_tls`]).
    pub fn https_url(&self, repo: &str) -> String {
        format!("https://127.0.0.1:{}/{repo}", self.port)
    }
}

/// A fresh CA and a server certificate for 127.0.0.1 signed by it.
fn tls_config() -> Result<(Arc<rustls::ServerConfig>, String), String> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    let e = |e: rcgen::Error| e.to_string();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "flotilla local CA");
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_key = KeyPair::generate().map_err(e)?;
    let ca_cert = ca_params.self_signed(&ca_key).map_err(e)?;
    let issuer = Issuer::new(ca_params, ca_key);
    let mut leaf_params = CertificateParams::new(vec!["127.0.0.1".to_string()]).map_err(e)?;
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    let leaf_key = KeyPair::generate().map_err(e)?;
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).map_err(e)?;
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .map_err(|e| e.to_string())?;
    Ok((Arc::new(config), ca_cert.pem()))
}

impl Drop for HttpGitServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn serve<S: Read + Write>(
    stream: S,
    root: &Path,
    auth: &RwLock<HttpAuth>,
    upload: &AtomicU64,
    requests: &AtomicU64,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let target = parts.next().unwrap_or_default().to_string();
        let mut headers = BTreeMap::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h)?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
        let mut body = Vec::new();
        if let Some(len) = headers.get("content-length") {
            let n: usize = len.parse().unwrap_or(0);
            body.resize(n, 0);
            reader.read_exact(&mut body)?;
        } else if headers
            .get("transfer-encoding")
            .is_some_and(|t| t.contains("chunked"))
        {
            loop {
                let mut size = String::new();
                reader.read_line(&mut size)?;
                let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
                let mut chunk = vec![0; n + 2];
                reader.read_exact(&mut chunk)?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        }
        requests.fetch_add(1, Ordering::SeqCst);
        let given = headers.get("authorization").cloned().unwrap_or_default();
        let current = match auth.read() {
            Ok(a) => a.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        let allowed = match &current {
            HttpAuth::None => true,
            HttpAuth::Basic { user, password } => {
                given == format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
            }
            HttpAuth::Bearer(t) => given == format!("Bearer {t}"),
        };
        if !allowed {
            let writer = reader.get_mut();
            let msg = b"authentication required\n";
            write!(
                writer,
                "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"git\"\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n\r\n",
                msg.len()
            )?;
            writer.write_all(msg)?;
            writer.flush()?;
            continue;
        }
        let (path, query) = target.split_once('?').unwrap_or((&target, ""));
        let mut cgi = Command::new("git");
        cgi.arg("http-backend")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GIT_PROJECT_ROOT", root)
            .env("GIT_HTTP_EXPORT_ALL", "1")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("REQUEST_METHOD", &method)
            .env("PATH_INFO", path)
            .env("QUERY_STRING", query)
            .env("REMOTE_ADDR", "127.0.0.1")
            .env("REMOTE_USER", "test")
            .env("CONTENT_LENGTH", body.len().to_string())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(ct) = headers.get("content-type") {
            cgi.env("CONTENT_TYPE", ct);
        }
        if let Some(p) = headers.get("git-protocol") {
            cgi.env("GIT_PROTOCOL", p);
        }
        if let Some(e) = headers.get("content-encoding") {
            cgi.env("HTTP_CONTENT_ENCODING", e);
        }
        let mut child = cgi.spawn()?;
        let missing = || std::io::Error::other("git http-backend without piped stdio");
        let mut stdin = child.stdin.take().ok_or_else(missing)?;
        let writer_thread = thread::spawn(move || {
            let _ = stdin.write_all(&body);
        });
        let mut out = Vec::new();
        child
            .stdout
            .take()
            .ok_or_else(missing)?
            .read_to_end(&mut out)?;
        let _ = writer_thread.join();
        child.wait()?;
        // CGI output: headers, blank line, body.
        let split = out
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|i| (i, 4))
            .or_else(|| out.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
        let (head, payload) = match split {
            Some((i, n)) => (
                String::from_utf8_lossy(&out[..i]).into_owned(),
                out[i + n..].to_vec(),
            ),
            None => (String::new(), out.clone()),
        };
        let mut status = "200 OK".to_string();
        let mut hdrs = String::new();
        for h in head.lines() {
            if let Some(s) = h.strip_prefix("Status:") {
                status = s.trim().to_string();
            } else if !h.trim().is_empty() {
                hdrs.push_str(h.trim_end());
                hdrs.push_str("\r\n");
            }
        }
        if method == "POST" && path.ends_with("git-upload-pack") {
            upload.fetch_add(payload.len() as u64, Ordering::SeqCst);
        }
        let writer = reader.get_mut();
        write!(
            writer,
            "HTTP/1.1 {status}\r\n{hdrs}Content-Length: {}\r\n\r\n",
            payload.len()
        )?;
        writer.write_all(&payload)?;
        writer.flush()?;
    }
}
