//! Remote files (`--enable-remote`): an HTTP(S) URL in `resources:` is fetched as one file, as
//! kustomize's file loader does (GET, redirects followed, any non-2xx status is an error).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

/// How long connecting and each read may take.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Redirects followed before giving up (Go's http.Client stops after 10).
const MAX_REDIRECTS: usize = 10;
/// Largest response body read; a resource file larger than this is refused, not buffered.
const MAX_BODY: u64 = 256 << 20;

/// Why a remote file could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The URL is not `http://host/…` or `https://host/…`.
    #[error("'{0}' is not an http(s) URL with a host")]
    BadUrl(String),
    /// The server answered with a status outside 2xx (kustomize stops the build on these).
    #[error("HTTP Error: status code {code} ({text})")]
    Status {
        /// The status code.
        code: u16,
        /// The reason phrase the server sent.
        text: String,
    },
    /// Connecting, TLS or reading failed, or the answer is not HTTP/1.x.
    #[error("fetching '{url}': {message}")]
    Transport {
        /// The URL being fetched.
        url: String,
        /// What went wrong.
        message: String,
    },
}

impl HttpError {
    /// Whether the server answered with an error status (kustomize then does not try the URL
    /// as a git base).
    pub fn is_status(&self) -> bool {
        matches!(self, HttpError::Status { .. })
    }
}

/// Whether `path` is fetched over HTTP as a file first (kustomize's `IsRemoteFile`).
pub fn is_remote_file(path: &str) -> bool {
    split_url(path).is_some()
}

struct Url<'a> {
    tls: bool,
    host: &'a str,
    port: u16,
    target: String,
}

fn split_url(raw: &str) -> Option<Url<'_>> {
    let (tls, rest) = if let Some(r) = raw.strip_prefix("https://") {
        (true, r)
    } else {
        (false, raw.strip_prefix("http://")?)
    };
    let rest = rest.split('#').next().unwrap_or("");
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let default_port = if tls { 443 } else { 80 };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        match after.strip_prefix(':') {
            Some(p) => (h, p.parse().ok()?),
            None => (h, default_port),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse().ok()?),
            None => (authority, default_port),
        }
    };
    if host.is_empty() {
        return None;
    }
    let target = if tail.starts_with('/') {
        tail.to_string()
    } else {
        format!("/{tail}")
    };
    Some(Url {
        tls,
        host,
        port,
        target,
    })
}

/// GETs `url` and returns the body.
pub fn get(url: &str) -> Result<Vec<u8>, HttpError> {
    let mut current = url.to_string();
    for _ in 0..=MAX_REDIRECTS {
        match get_once(&current)? {
            Answer::Body(b) => return Ok(b),
            Answer::Redirect(loc) => current = resolve(&current, &loc),
        }
    }
    Err(HttpError::Transport {
        url: url.into(),
        message: format!("stopped after {MAX_REDIRECTS} redirects"),
    })
}

enum Answer {
    Body(Vec<u8>),
    Redirect(String),
}

/// Resolves a `Location` header against the URL that sent it.
fn resolve(base: &str, loc: &str) -> String {
    if loc.starts_with("http://") || loc.starts_with("https://") {
        return loc.to_string();
    }
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find(['/', '?', '#'])
        .map_or(base.len(), |i| scheme_end + i);
    if let Some(rest) = loc.strip_prefix("//") {
        return format!("{}{rest}", &base[..scheme_end]);
    }
    if loc.starts_with('/') {
        return format!("{}{loc}", &base[..host_end]);
    }
    let path = &base[host_end..];
    let path = path.split(['?', '#']).next().unwrap_or("");
    let dir = path.rfind('/').map_or("/", |i| &path[..=i]);
    format!("{}{dir}{loc}", &base[..host_end])
}

fn get_once(url: &str) -> Result<Answer, HttpError> {
    let u = split_url(url).ok_or_else(|| HttpError::BadUrl(url.into()))?;
    let transport = |message: String| HttpError::Transport {
        url: url.into(),
        message,
    };
    let addr = (u.host, u.port)
        .to_socket_addrs()
        .map_err(|e| transport(e.to_string()))?
        .next()
        .ok_or_else(|| transport(format!("no address for host '{}'", u.host)))?;
    let tcp = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| transport(e.to_string()))?;
    tcp.set_read_timeout(Some(TIMEOUT))
        .and_then(|()| tcp.set_write_timeout(Some(TIMEOUT)))
        .map_err(|e| transport(e.to_string()))?;
    let host_header = if (u.tls && u.port == 443) || (!u.tls && u.port == 80) {
        u.host.to_string()
    } else {
        format!("{}:{}", u.host, u.port)
    };
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: flotilla-kustomize\r\nAccept-Encoding: identity\r\nConnection: close\r\n\r\n",
        u.target
    );
    let mut raw = Vec::new();
    if u.tls {
        let mut stream = tls_stream(u.host, tcp).map_err(transport)?;
        exchange(&mut stream, &request, &mut raw).map_err(transport)?;
    } else {
        let mut stream = tcp;
        exchange(&mut stream, &request, &mut raw).map_err(transport)?;
    }
    parse_response(&raw).map_err(|e| match e {
        Parsed::Status(code, text) => HttpError::Status { code, text },
        Parsed::Bad(m) => transport(m),
    })
}

/// Why an answer gave no body.
enum Parsed {
    Status(u16, String),
    Bad(String),
}

impl From<&str> for Parsed {
    fn from(s: &str) -> Parsed {
        Parsed::Bad(s.to_string())
    }
}

impl From<String> for Parsed {
    fn from(s: String) -> Parsed {
        Parsed::Bad(s)
    }
}

fn exchange<S: Read + Write>(s: &mut S, request: &str, raw: &mut Vec<u8>) -> Result<(), String> {
    s.write_all(request.as_bytes())
        .and_then(|()| s.flush())
        .map_err(|e| e.to_string())?;
    let read = s
        .take(MAX_BODY + 1)
        .read_to_end(raw)
        .map_err(|e| e.to_string());
    // A TLS server that closes without close_notify still sent a whole answer when the
    // framing (Content-Length or the last chunk) says so; parse_response checks that.
    if let Err(e) = read {
        if raw.is_empty() {
            return Err(e);
        }
    }
    if raw.len() as u64 > MAX_BODY {
        return Err(format!("the answer is larger than {} MiB", MAX_BODY >> 20));
    }
    Ok(())
}

fn tls_stream(
    host: &str,
    tcp: TcpStream,
) -> Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>, String> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        // A system certificate rustls cannot use is skipped, as Go skips it.
        let _ = roots.add(cert);
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| format!("server name '{host}': {e}"))?;
    let conn = rustls::ClientConnection::new(Arc::new(config), name).map_err(|e| e.to_string())?;
    Ok(rustls::StreamOwned::new(conn, tcp))
}

fn parse_response(raw: &[u8]) -> Result<Answer, Parsed> {
    let head_end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the server closed the connection before a complete HTTP header")?;
    let head = String::from_utf8_lossy(&raw[..head_end]);
    let body = &raw[head_end + 4..];
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or("");
    let mut parts = status.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(format!("not an HTTP/1.x answer: '{status}'").into());
    }
    let code: u16 = parts
        .next()
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("bad status line '{status}'"))?;
    let text = parts.next().unwrap_or("").to_string();
    let mut length = None;
    let mut chunked = false;
    let mut location = None;
    for line in lines {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = v.parse::<usize>().ok(),
            "transfer-encoding" => chunked = v.to_ascii_lowercase().contains("chunked"),
            "location" => location = Some(v.to_string()),
            _ => {}
        }
    }
    if (300..400).contains(&code) {
        if let Some(loc) = location {
            return Ok(Answer::Redirect(loc));
        }
    }
    if !(200..300).contains(&code) {
        return Err(Parsed::Status(code, text));
    }
    let body = if chunked {
        dechunk(body)?
    } else if let Some(n) = length {
        body.get(..n)
            .ok_or("the connection closed before the whole body arrived")?
            .to_vec()
    } else {
        body.to_vec()
    };
    Ok(Answer::Body(body))
}

/// Decodes a chunked body (extensions and trailers ignored).
fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, Parsed> {
    let mut out = Vec::new();
    loop {
        let eol = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk size line is cut off")?;
        let line = String::from_utf8_lossy(&rest[..eol]);
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size '{size_text}'"))?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = rest
            .get(..size)
            .ok_or("the connection closed inside a chunk")?;
        out.extend_from_slice(chunk);
        rest = rest.get(size + 2..).ok_or("a chunk is not terminated")?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_port_and_target() {
        let u = split_url("http://127.0.0.1:8080/a/b.yaml?x=1#frag").expect("valid");
        assert_eq!((u.tls, u.host, u.port), (false, "127.0.0.1", 8080));
        assert_eq!(u.target, "/a/b.yaml?x=1");
        let u = split_url("https://[::1]/x").expect("valid");
        assert_eq!(
            (u.tls, u.host, u.port, u.target.as_str()),
            (true, "::1", 443, "/x")
        );
        let u = split_url("https://example.com").expect("valid");
        assert_eq!(u.target, "/");
        assert!(split_url("http:///x").is_none());
        assert!(split_url("ftp://h/x").is_none());
    }

    #[test]
    fn redirects_resolve_against_the_sender() {
        assert_eq!(resolve("http://h:1/a/b?q", "/c"), "http://h:1/c");
        assert_eq!(resolve("http://h:1/a/b?q", "c"), "http://h:1/a/c");
        assert_eq!(resolve("http://h:1/a/", "https://o/x"), "https://o/x");
        assert_eq!(resolve("https://h/a", "//o/y"), "https://o/y");
    }

    #[test]
    fn answers_parse_with_length_chunks_and_errors() {
        let ok = b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef";
        assert!(matches!(parse_response(ok), Ok(Answer::Body(b)) if b == b"abc"));
        let ch = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x\r\nde\r\n0\r\n\r\n";
        assert!(matches!(parse_response(ch), Ok(Answer::Body(b)) if b == b"abcde"));
        let nf = b"HTTP/1.0 404 Not Found\r\n\r\n";
        assert!(matches!(parse_response(nf), Err(Parsed::Status(404, t)) if t == "Not Found"));
        let mv = b"HTTP/1.0 301 Moved\r\nLocation: /a/\r\n\r\n";
        assert!(matches!(parse_response(mv), Ok(Answer::Redirect(l)) if l == "/a/"));
        assert!(matches!(parse_response(b"garbage"), Err(Parsed::Bad(_))));
        let cut = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nff\r\nab";
        assert!(matches!(parse_response(cut), Err(Parsed::Bad(_))));
    }
}
