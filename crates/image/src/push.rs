//! Pushing a small image (one config blob, one layer, an OCI manifest) through the distribution API, as a CI job does after a build: what `flotilla dev --example` uses as its CI.

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Full;
use sha2::{Digest, Sha256};

use crate::http::{HttpClient, HttpError, HttpOptions};
use crate::reference::ImageName;
use crate::registry::RegistryOptions;

/// Answers are small (errors, empty bodies); anything larger is refused.
const ANSWER_LIMIT: usize = 1 << 20;

/// What to push under a tag.
#[derive(Debug, Clone)]
pub struct PushImage {
    /// The image config (JSON), stored as the config blob.
    pub config: Vec<u8>,
    /// The layers' bytes, in order.
    pub layers: Vec<Vec<u8>>,
}

/// Why a push failed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The registry refused a step; `step` names it (blob upload, manifest PUT).
    #[error("{image}: {step} answered {status}: {detail}")]
    Refused {
        /// The canonical image name.
        image: String,
        /// What was being done.
        step: &'static str,
        /// HTTP status.
        status: u16,
        /// The body (the registry's error text).
        detail: String,
    },
    /// The upload session had no usable `Location`.
    #[error("{image}: blob upload session without a Location header")]
    NoLocation {
        /// The canonical image name.
        image: String,
    },
    /// A request could not be built (a tag or name with characters a URL cannot hold).
    #[error("{image}: cannot build the request for {url}: {detail}")]
    BadRequest {
        /// The canonical image name.
        image: String,
        /// The URL.
        url: String,
        /// Why.
        detail: String,
    },
    /// Transport failure, deadline, or an unusable CA (the registry is down or unreachable).
    #[error(transparent)]
    Http(#[from] HttpError),
}

/// Pushes `image` as `name:tag` (credentials sent as basic auth up front when given; plain HTTP
/// when `opts.insecure`). Returns the manifest digest, `sha256:<hex>`.
pub async fn push_image(
    name: &ImageName,
    tag: &str,
    image: &PushImage,
    opts: &RegistryOptions,
) -> Result<String, PushError> {
    let http = HttpClient::new(&HttpOptions {
        ca_pem: opts.ca_pem.clone(),
        timeout: opts.timeout,
    })?;
    let scheme = if opts.insecure { "http" } else { "https" };
    let pusher = Pusher {
        http,
        base: format!("{scheme}://{}", name.registry),
        name,
        auth: opts.credentials.basic_header(),
    };
    let config = pusher.blob(&image.config).await?;
    let mut layers = Vec::new();
    for layer in &image.layers {
        layers.push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": pusher.blob(layer).await?,
            "size": layer.len(),
        }));
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config,
            "size": image.config.len(),
        },
        "layers": layers,
    })
    .to_string()
    .into_bytes();
    let url = format!("{}/v2/{}/manifests/{tag}", pusher.base, name.repository);
    pusher
        .send(
            "PUT",
            &url,
            Some("application/vnd.oci.image.manifest.v1+json"),
            manifest.clone(),
            "manifest PUT",
            StatusCode::CREATED,
        )
        .await?;
    Ok(digest(&manifest))
}

struct Pusher<'a> {
    http: HttpClient,
    base: String,
    name: &'a ImageName,
    auth: Option<String>,
}

impl Pusher<'_> {
    /// Distribution 2.8 has no single-request upload: open a session, then PUT the bytes.
    async fn blob(&self, data: &[u8]) -> Result<String, PushError> {
        let digest = digest(data);
        let url = format!("{}/v2/{}/blobs/uploads/", self.base, self.name.repository);
        let opened = self
            .send(
                "POST",
                &url,
                None,
                Vec::new(),
                "blob upload POST",
                StatusCode::ACCEPTED,
            )
            .await?;
        let location = opened
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| PushError::NoLocation {
                image: self.name.canonical(),
            })?;
        let location = if location.starts_with('/') {
            format!("{}{location}", self.base)
        } else {
            location.to_string()
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        self.send(
            "PUT",
            &format!("{location}{sep}digest={digest}"),
            Some("application/octet-stream"),
            data.to_vec(),
            "blob PUT",
            StatusCode::CREATED,
        )
        .await?;
        Ok(digest)
    }

    async fn send(
        &self,
        method: &str,
        url: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
        step: &'static str,
        want: StatusCode,
    ) -> Result<http::Response<Bytes>, PushError> {
        let mut req = Request::builder().method(method).uri(url);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        if let Some(a) = &self.auth {
            req = req.header("authorization", a.as_str());
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| PushError::BadRequest {
                image: self.name.canonical(),
                url: url.to_string(),
                detail: e.to_string(),
            })?;
        let resp = self.http.send(req, ANSWER_LIMIT).await?;
        if resp.status() != want {
            return Err(PushError::Refused {
                image: self.name.canonical(),
                step,
                status: resp.status().as_u16(),
                detail: String::from_utf8_lossy(resp.body()).trim().to_string(),
            });
        }
        Ok(resp)
    }
}

fn digest(data: &[u8]) -> String {
    let hex: String = Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}
