//! OCI distribution v2 client: tag listing page by page (`n` and `Link: <...>; rel="next"`), with anonymous, basic and bearer-token auth; and the ImageRepository scan into the tag store.

pub mod auth;

use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use regex::Regex;

pub use auth::{parse_challenge, Challenge, Credentials, DockerConfig, DockerConfigError};

use crate::http::{HttpClient, HttpError, HttpOptions};
use crate::reference::ImageName;
use crate::store::{ScanSummary, StoreError, TagStore};

/// Flux's default `exclusionList`: cosign signature tags.
pub const DEFAULT_EXCLUSION: &str = r"^.*\.sig$";

/// A page of tags is at most this large on the wire.
const PAGE_LIMIT: usize = 16 << 20;

/// Connection settings of a registry client.
#[derive(Debug, Clone)]
pub struct RegistryOptions {
    /// What to authenticate with (from the secret or the cloud provider).
    pub credentials: Credentials,
    /// `spec.insecure`: talk plain HTTP.
    pub insecure: bool,
    /// `certSecretRef`'s `ca.crt` (PEM).
    pub ca_pem: Option<Vec<u8>>,
    /// Deadline of each request (the scan as a whole is bounded by [`ScanOptions::timeout`]).
    pub timeout: Duration,
    /// Tags asked for per page (`n`).
    pub page_size: usize,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        RegistryOptions {
            credentials: Credentials::Anonymous,
            insecure: false,
            ca_pem: None,
            timeout: Duration::from_secs(60),
            page_size: 1000,
        }
    }
}

/// Why the registry could not be read. `reason()` gives Flux's condition reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// The registry refused the credentials (or demanded some and none were given).
    #[error(
        "{registry}: authentication failed ({detail}); check the secretRef / provider credentials"
    )]
    Unauthorized {
        /// Registry host.
        registry: String,
        /// Status and the registry's error text.
        detail: String,
    },
    /// The repository does not exist (or is hidden from these credentials).
    #[error("{image}: repository not found (404); check spec.image")]
    NotFound {
        /// The canonical image name.
        image: String,
    },
    /// The registry answered with an unexpected status.
    #[error("{image}: registry answered {status}: {detail}")]
    Status {
        /// The canonical image name.
        image: String,
        /// HTTP status.
        status: u16,
        /// The registry's error text.
        detail: String,
    },
    /// An answer that does not follow the distribution API.
    #[error("{image}: unexpected answer from the registry: {detail}")]
    BadResponse {
        /// The canonical image name.
        image: String,
        /// What is wrong.
        detail: String,
    },
    /// Transport failure, deadline, or an unusable CA.
    #[error(transparent)]
    Http(#[from] HttpError),
}

impl RegistryError {
    /// Flux's condition reason for this failure.
    pub fn reason(&self) -> &'static str {
        match self {
            RegistryError::Unauthorized { .. } => "AuthenticationFailed",
            _ => "ReadOperationFailed",
        }
    }
}

/// A client for one repository.
pub struct RegistryClient {
    image: ImageName,
    base: String,
    http: HttpClient,
    opts: RegistryOptions,
    auth: tokio::sync::Mutex<Option<String>>,
}

impl RegistryClient {
    /// A client for `image` (builds the TLS configuration; no request is made).
    pub fn new(image: ImageName, opts: RegistryOptions) -> Result<RegistryClient, RegistryError> {
        let http = HttpClient::new(&HttpOptions {
            ca_pem: opts.ca_pem.clone(),
            timeout: opts.timeout,
        })?;
        let scheme = if opts.insecure { "http" } else { "https" };
        let base = format!("{scheme}://{}", image.registry);
        Ok(RegistryClient {
            image,
            base,
            http,
            opts,
            auth: tokio::sync::Mutex::new(None),
        })
    }

    /// The repository this client reads.
    pub fn image(&self) -> &ImageName {
        &self.image
    }

    /// Lists every tag, calling `on_page` with each page as it arrives; returns the count.
    /// Only one page is held in memory at a time.
    pub async fn list_tags<E>(
        &self,
        mut on_page: impl FnMut(Vec<String>) -> Result<(), E>,
    ) -> Result<Result<usize, E>, RegistryError> {
        #[derive(serde::Deserialize)]
        struct Page {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let mut url = format!(
            "{}/v2/{}/tags/list?n={}",
            self.base,
            self.image.repository,
            self.opts.page_size.max(1)
        );
        let mut total = 0;
        let mut pages = 0usize;
        loop {
            pages += 1;
            let resp = self.get(&url).await?;
            let page: Page =
                serde_json::from_slice(resp.body()).map_err(|e| RegistryError::BadResponse {
                    image: self.image.canonical(),
                    detail: format!("tag list is not JSON ({e})"),
                })?;
            let tags = page.tags.unwrap_or_default();
            total += tags.len();
            let next = next_link(resp.headers());
            if let Err(e) = on_page(tags) {
                return Ok(Err(e));
            }
            match next {
                None => return Ok(Ok(total)),
                Some(link) => {
                    let next_url = if link.starts_with('/') {
                        format!("{}{link}", self.base)
                    } else if link.starts_with(&format!("{}/", self.base)) {
                        link
                    } else {
                        return Err(RegistryError::BadResponse {
                            image: self.image.canonical(),
                            detail: format!("next page link '{link}' points to another host"),
                        });
                    };
                    if next_url == url || pages > 1_000_000 {
                        return Err(RegistryError::BadResponse {
                            image: self.image.canonical(),
                            detail: "the next page link does not advance".into(),
                        });
                    }
                    url = next_url;
                }
            }
        }
    }

    /// GET with the current authorization, answering one challenge if the registry sends it.
    async fn get(&self, url: &str) -> Result<http::Response<Bytes>, RegistryError> {
        let mut challenged = false;
        loop {
            let header = self.auth.lock().await.clone();
            let mut req = Request::get(url).header("accept", "application/json");
            if let Some(h) = &header {
                req = req.header("authorization", h.as_str());
            }
            let req =
                req.body(Full::new(Bytes::new()))
                    .map_err(|e| RegistryError::BadResponse {
                        image: self.image.canonical(),
                        detail: format!("cannot build request for {url}: {e}"),
                    })?;
            let resp = self.http.send(req, PAGE_LIMIT).await?;
            let status = resp.status();
            if status == StatusCode::UNAUTHORIZED && !challenged {
                challenged = true;
                let challenge = resp
                    .headers()
                    .get("www-authenticate")
                    .and_then(|v| v.to_str().ok())
                    .and_then(parse_challenge);
                let new = match challenge {
                    Some(Challenge::Basic) => self.opts.credentials.basic_header(),
                    Some(Challenge::Bearer {
                        realm,
                        service,
                        scope,
                    }) => Some(format!(
                        "Bearer {}",
                        self.token(&realm, service.as_deref(), scope.as_deref())
                            .await?
                    )),
                    None => None,
                };
                match new {
                    Some(h) if Some(&h) != header.as_ref() => {
                        *self.auth.lock().await = Some(h);
                        continue;
                    }
                    _ => {}
                }
            }
            if status.is_success() {
                return Ok(resp);
            }
            let detail = error_detail(status, resp.body());
            return Err(match status {
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => RegistryError::Unauthorized {
                    registry: self.image.registry.clone(),
                    detail,
                },
                StatusCode::NOT_FOUND => RegistryError::NotFound {
                    image: self.image.canonical(),
                },
                _ => RegistryError::Status {
                    image: self.image.canonical(),
                    status: status.as_u16(),
                    detail,
                },
            });
        }
    }

    /// Docker's token protocol: GET realm?service=&scope= with basic credentials if any.
    async fn token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: Option<&str>,
    ) -> Result<String, RegistryError> {
        let default_scope = format!("repository:{}:pull", self.image.repository);
        let enc = crate::aws::sigv4::uri_encode;
        let mut url = format!(
            "{realm}{}scope={}",
            if realm.contains('?') { "&" } else { "?" },
            enc(scope.unwrap_or(&default_scope))
        );
        if let Some(s) = service {
            url.push_str(&format!("&service={}", enc(s)));
        }
        let mut req = Request::get(&url).header("accept", "application/json");
        if let Some(h) = self.opts.credentials.basic_header() {
            req = req.header("authorization", h);
        }
        let req = req
            .body(Full::new(Bytes::new()))
            .map_err(|e| RegistryError::BadResponse {
                image: self.image.canonical(),
                detail: format!("bad token realm '{realm}': {e}"),
            })?;
        let resp = self.http.send(req, 1 << 20).await?;
        let status = resp.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(RegistryError::Unauthorized {
                registry: self.image.registry.clone(),
                detail: format!(
                    "token service {realm}: {}",
                    error_detail(status, resp.body())
                ),
            });
        }
        if !status.is_success() {
            return Err(RegistryError::Status {
                image: self.image.canonical(),
                status: status.as_u16(),
                detail: format!(
                    "token service {realm}: {}",
                    error_detail(status, resp.body())
                ),
            });
        }
        let v: serde_json::Value = serde_json::from_slice(resp.body()).unwrap_or_default();
        v.get("token")
            .or_else(|| v.get("access_token"))
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or_else(|| RegistryError::BadResponse {
                image: self.image.canonical(),
                detail: format!("token service {realm} answered without a token"),
            })
    }
}

/// The target of `Link: <...>; rel="next"`.
fn next_link(headers: &http::HeaderMap) -> Option<String> {
    for v in headers.get_all("link") {
        let Ok(v) = v.to_str() else { continue };
        for part in v.split(',') {
            let (target, params) = part.split_once(';').unwrap_or((part, ""));
            let target = target.trim();
            let is_next = params.split(';').any(|p| {
                matches!(
                    p.trim().replace(' ', "").as_str(),
                    "rel=\"next\"" | "rel=next"
                )
            });
            if is_next {
                if let Some(t) = target.strip_prefix('<').and_then(|t| t.strip_suffix('>')) {
                    return Some(t.to_string());
                }
            }
        }
    }
    None
}

/// The registry's `{"errors":[{"code","message"}]}`, or the status alone.
fn error_detail(status: StatusCode, body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let errors: Vec<String> = v
        .get("errors")
        .and_then(|e| e.as_array())
        .map(|a| {
            a.iter()
                .map(|e| {
                    format!(
                        "{}: {}",
                        e.get("code").and_then(|c| c.as_str()).unwrap_or("?"),
                        e.get("message").and_then(|c| c.as_str()).unwrap_or("")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    if errors.is_empty() {
        status.to_string()
    } else {
        format!("{status}: {}", errors.join("; "))
    }
}

/// Scan settings from the ImageRepository spec.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// `spec.exclusionList`; `[^.*\.sig$]` by default.
    pub exclusion_list: Vec<String>,
    /// `spec.timeout` (the interval when unset): the whole listing must finish within it.
    pub timeout: Duration,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            exclusion_list: vec![DEFAULT_EXCLUSION.to_string()],
            timeout: Duration::from_secs(60),
        }
    }
}

/// Why a scan failed; the previous tags stay in the store.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// An `exclusionList` entry is not a valid regular expression (stalls until fixed).
    #[error("spec.exclusionList: '{pattern}' is not a valid regular expression: {reason}")]
    InvalidExclusion {
        /// The entry.
        pattern: String,
        /// The parser's message.
        reason: String,
    },
    /// The registry could not be read.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The whole scan took longer than the timeout.
    #[error(
        "{image}: scan did not finish within {timeout:?} ({tags} tags read); raise spec.timeout"
    )]
    Timeout {
        /// The canonical image name.
        image: String,
        /// The deadline.
        timeout: Duration,
        /// Tags read before it.
        tags: usize,
    },
    /// The tag store could not be written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ScanError {
    /// Flux's condition reason for this failure.
    pub fn reason(&self) -> &'static str {
        match self {
            ScanError::InvalidExclusion { .. } => "InvalidExclusionList",
            ScanError::Registry(e) => e.reason(),
            ScanError::Timeout { .. } => "ReadOperationFailed",
            ScanError::Store(_) => "StorageOperationFailed",
        }
    }

    /// True when only a spec change can fix it (the object is stalled).
    pub fn is_stalling(&self) -> bool {
        matches!(self, ScanError::InvalidExclusion { .. })
    }
}

/// Compiles `exclusionList`.
pub fn compile_exclusions(list: &[String]) -> Result<Vec<Regex>, ScanError> {
    list.iter()
        .map(|p| {
            Regex::new(p).map_err(|e| ScanError::InvalidExclusion {
                pattern: p.clone(),
                reason: e.to_string(),
            })
        })
        .collect()
}

/// Lists the repository's tags, drops excluded ones, and replaces the stored tags (under the
/// canonical image name) as the pages stream in. On any error the previous tags are kept.
pub async fn scan(
    client: &RegistryClient,
    store: &TagStore,
    opts: &ScanOptions,
) -> Result<ScanSummary, ScanError> {
    let exclusions = compile_exclusions(&opts.exclusion_list)?;
    let key = client.image().canonical();
    let mut writer = store.writer(&key)?;
    let listing = client.list_tags(|tags| {
        for t in tags {
            if !exclusions.iter().any(|r| r.is_match(&t)) {
                writer.push(&t)?;
            }
        }
        Ok::<(), StoreError>(())
    });
    let outcome = tokio::time::timeout(opts.timeout, listing).await;
    let count = match outcome {
        Err(_) => {
            return Err(ScanError::Timeout {
                image: key,
                timeout: opts.timeout,
                tags: writer.count(),
            })
        }
        Ok(r) => r??,
    };
    tracing::debug!(image = %key, listed = count, kept = writer.count(), "scan complete");
    Ok(writer.commit()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers() {
        let mut h = http::HeaderMap::new();
        h.insert(
            "link",
            http::HeaderValue::from_static("</v2/app/tags/list?last=b&n=2>; rel=\"next\""),
        );
        assert_eq!(
            next_link(&h).as_deref(),
            Some("/v2/app/tags/list?last=b&n=2")
        );
        let h = http::HeaderMap::new();
        assert_eq!(next_link(&h), None);
    }
}
