//! Getting a source artifact onto local disk: straight from this controller's own storage when the URL points at it, else an HTTP download; then a digest-checked extraction, shared by every reconcile of the same artifact.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;

/// Why an artifact could not be had. Reported with reason ArtifactFailed.
#[derive(Debug, thiserror::Error)]
pub enum ArtifactError {
    /// The URL is not `http://host[:port]/path`.
    #[error("artifact URL '{0}' is not a plain http:// URL")]
    Url(String),
    /// Connecting or reading failed.
    #[error("failed to download artifact from {url}: {message}")]
    Download {
        /// The URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The server answered with an error status.
    #[error("failed to download artifact from {url}, status: {status}")]
    Status {
        /// The URL.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The path in our own storage is invalid.
    #[error("artifact path in storage is invalid: {0}")]
    Storage(String),
    /// Digest mismatch, path escapes, limits, I/O.
    #[error("failed to extract artifact: {0}")]
    Extract(#[from] flotilla_source::ExtractError),
    /// No temporary directory to extract into.
    #[error("cannot create a temporary directory for the artifact: {0}")]
    Scratch(String),
}

/// Where an artifact's archive is read from.
#[derive(Debug, Clone)]
pub struct Fetcher {
    /// This process's storage and the base URL it serves it under (`http://host:port`).
    pub own: Option<(flotilla_source::Storage, String)>,
}

impl Fetcher {
    /// Extracts the artifact at `url` (digest `digest`) into `dest` (a new directory).
    /// `tmp` holds a downloaded archive while it is extracted.
    pub async fn fetch(
        &self,
        url: &str,
        digest: &str,
        tmp: &Path,
        dest: &Path,
    ) -> Result<(), ArtifactError> {
        let archive = match self.local(url)? {
            Some(p) => p,
            None => {
                let p = tmp.join("artifact.tar.gz");
                download(url, &p).await?;
                p
            }
        };
        let dest = dest.to_path_buf();
        let opts = flotilla_source::ExtractOptions {
            expected_digest: Some(digest.to_string()).filter(|d| !d.is_empty()),
            ..Default::default()
        };
        tokio::task::spawn_blocking(move || flotilla_source::extract(&archive, &dest, &opts))
            .await
            .map_err(|e| ArtifactError::Download {
                url: url.to_string(),
                message: e.to_string(),
            })??;
        Ok(())
    }

    fn local(&self, url: &str) -> Result<Option<PathBuf>, ArtifactError> {
        let Some((storage, base)) = &self.own else {
            return Ok(None);
        };
        let base = base.trim_end_matches('/');
        let Some(path) = url.strip_prefix(base).and_then(|p| p.strip_prefix('/')) else {
            return Ok(None);
        };
        storage
            .local_path(path)
            .map(Some)
            .map_err(|e| ArtifactError::Storage(e.to_string()))
    }
}

/// An extracted artifact; its directory goes away with the last holder.
#[derive(Debug)]
pub(crate) struct Checkout {
    dir: tempfile::TempDir,
}

impl Checkout {
    /// The artifact's root directory.
    pub(crate) fn root(&self) -> PathBuf {
        self.dir.path().join("src")
    }
}

/// Extracted artifacts by digest, shared by the reconciles that build from them. Many
/// Kustomizations build paths of one GitRepository: extracting the whole artifact for each
/// made a fleet of N apps cost N whole-artifact extractions per revision (file creation and
/// deletion dominated the controller's CPU). Builds only read the tree, so one read-only
/// copy per digest serves them all; the digest is still checked by the one extraction.
#[derive(Debug, Default)]
pub(crate) struct Checkouts {
    entries: Mutex<VecDeque<(String, Slot)>>,
}

/// One digest's extraction, done once by whichever reconcile gets there first.
type Slot = Arc<tokio::sync::OnceCell<Arc<Checkout>>>;

/// Digests kept extracted (reconciles in flight keep theirs alive past eviction).
const KEEP: usize = 16;

impl Checkouts {
    /// The artifact at `url` with `digest`, extracted once per digest.
    pub(crate) async fn get(
        &self,
        fetcher: &Fetcher,
        url: &str,
        digest: &str,
    ) -> Result<Arc<Checkout>, ArtifactError> {
        if digest.is_empty() {
            // Nothing to key a shared copy by.
            return extract_fresh(fetcher, url, digest).await.map(Arc::new);
        }
        let cell = {
            let mut entries = self
                .entries
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match entries.iter().find(|(d, _)| d == digest) {
                Some((_, cell)) => cell.clone(),
                None => {
                    let cell: Slot = Arc::default();
                    entries.push_back((digest.to_string(), cell.clone()));
                    while entries.len() > KEEP {
                        entries.pop_front();
                    }
                    cell
                }
            }
        };
        cell.get_or_try_init(|| async { extract_fresh(fetcher, url, digest).await.map(Arc::new) })
            .await
            .cloned()
    }
}

async fn extract_fresh(
    fetcher: &Fetcher,
    url: &str,
    digest: &str,
) -> Result<Checkout, ArtifactError> {
    let dir = tempfile::tempdir().map_err(|e| ArtifactError::Scratch(e.to_string()))?;
    let root = dir.path().join("src");
    fetcher.fetch(url, digest, dir.path(), &root).await?;
    Ok(Checkout { dir })
}

/// Streams `url` into `to` with one HTTP/1.1 GET.
async fn download(url: &str, to: &Path) -> Result<(), ArtifactError> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| ArtifactError::Url(url.to_string()))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    if authority.is_empty() {
        return Err(ArtifactError::Url(url.to_string()));
    }
    let addr = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let fail = |message: String| ArtifactError::Download {
        url: url.to_string(),
        message,
    };
    let stream = tokio::net::TcpStream::connect(&addr)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| fail(e.to_string()))?;
    let driver = tokio::spawn(conn);
    let req = http::Request::get(path)
        .header(http::header::HOST, authority)
        .body(Empty::<Bytes>::new())
        .map_err(|e| fail(e.to_string()))?;
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| fail(e.to_string()))?;
    if !resp.status().is_success() {
        driver.abort();
        return Err(ArtifactError::Status {
            url: url.to_string(),
            status: resp.status().as_u16(),
        });
    }
    let mut file = tokio::fs::File::create(to)
        .await
        .map_err(|e| fail(format!("cannot write {}: {e}", to.display())))?;
    let mut body = resp.into_body();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| fail(e.to_string()))?;
        if let Some(data) = frame.data_ref() {
            file.write_all(data)
                .await
                .map_err(|e| fail(format!("cannot write {}: {e}", to.display())))?;
        }
    }
    file.flush().await.map_err(|e| fail(e.to_string()))?;
    driver.abort();
    Ok(())
}
