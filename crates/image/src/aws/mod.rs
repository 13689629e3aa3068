//! `provider: aws`: AWS credentials from the default chain (environment, web identity for IRSA, shared files with profile), `ecr:GetAuthorizationToken` signed with SigV4, tokens cached until shortly before they expire.
//!
//! Not covered: the EC2 instance metadata and ECS container credential endpoints, SSO
//! profiles, `credential_process`, and `role_arn` chains in shared config.

pub mod sigv4;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use http::Request;
use http_body_util::Full;

pub use sigv4::AwsCredentials;

use crate::http::{HttpClient, HttpError, HttpOptions};
use crate::reference::ImageName;

/// A token is renewed this long before it expires.
const RENEW_BEFORE: u64 = 5 * 60;

/// Settings of the ECR login; the defaults read the process environment and talk to AWS.
#[derive(Debug, Clone, Default)]
pub struct AwsOptions {
    /// Environment to read instead of the process's (tests).
    pub env: Option<BTreeMap<String, String>>,
    /// ECR API endpoint (`http://127.0.0.1:port` in tests); `https://api.ecr.<region>.amazonaws.com`
    /// (or `AWS_ENDPOINT_URL_ECR`) when unset.
    pub ecr_endpoint: Option<String>,
    /// STS endpoint; `AWS_ENDPOINT_URL_STS` or `https://sts.<region>.amazonaws.com` when unset.
    pub sts_endpoint: Option<String>,
    /// TLS and deadline for AWS calls.
    pub http: HttpOptions,
}

/// An ECR registry host, `<account>.dkr.ecr.<region>.amazonaws.com[.cn]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcrHost {
    /// 12-digit account id.
    pub account: String,
    /// Region, e.g. `eu-west-1`.
    pub region: String,
    /// DNS suffix of the partition (`amazonaws.com` or `amazonaws.com.cn`).
    pub suffix: String,
}

/// Why the ECR login failed. Messages never contain secret values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsError {
    /// The image is not in an ECR registry.
    #[error("registry '{0}' is not an ECR registry (<account>.dkr.ecr.<region>.amazonaws.com); use provider 'generic'")]
    NotEcr(String),
    /// No credentials anywhere in the chain.
    #[error("no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, configure IRSA (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE), or a shared credentials profile")]
    NoCredentials,
    /// A credentials source exists but is unusable.
    #[error("AWS credentials from {source_name}: {reason}")]
    BadCredentials {
        /// Where they came from.
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    /// STS or ECR answered with an error.
    #[error("{service} {action} failed ({status}): {message}")]
    Api {
        /// `sts` or `ecr`.
        service: &'static str,
        /// The API action.
        action: &'static str,
        /// HTTP status.
        status: u16,
        /// AWS's error code and message.
        message: String,
    },
    /// The call did not complete.
    #[error(transparent)]
    Http(#[from] HttpError),
}

/// Registry basic credentials obtained from ECR.
#[derive(Clone, PartialEq, Eq)]
pub struct EcrLogin {
    /// Always `AWS`.
    pub username: String,
    /// The token's password part.
    pub password: String,
    /// Unix seconds when it stops working.
    pub expires_at: u64,
}

impl std::fmt::Debug for EcrLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcrLogin")
            .field("username", &self.username)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// Reads an ECR host name.
pub fn parse_ecr_host(host: &str) -> Option<EcrHost> {
    let host = host.split(':').next().unwrap_or(host);
    let (account, rest) = host.split_once(".dkr.ecr")?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let rest = rest
        .strip_prefix("-fips")
        .unwrap_or(rest)
        .strip_prefix('.')?;
    let (region, suffix) = rest.split_once('.')?;
    if !matches!(suffix, "amazonaws.com" | "amazonaws.com.cn")
        || region.is_empty()
        || !region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return None;
    }
    Some(EcrHost {
        account: account.to_string(),
        region: region.to_string(),
        suffix: suffix.to_string(),
    })
}

/// Logs in to ECR registries and keeps each token until shortly before it expires.
pub struct EcrTokenCache {
    opts: AwsOptions,
    http: HttpClient,
    tokens: tokio::sync::Mutex<HashMap<String, EcrLogin>>,
}

impl EcrTokenCache {
    /// A cache with its own HTTP client.
    pub fn new(opts: AwsOptions) -> Result<EcrTokenCache, AwsError> {
        let http = HttpClient::new(&opts.http)?;
        Ok(EcrTokenCache {
            opts,
            http,
            tokens: tokio::sync::Mutex::new(HashMap::new()),
        })
    }

    /// Basic credentials for the image's ECR registry (cached).
    pub async fn login(&self, image: &ImageName) -> Result<EcrLogin, AwsError> {
        let ecr =
            parse_ecr_host(image.host()).ok_or_else(|| AwsError::NotEcr(image.registry.clone()))?;
        let key = image.registry.clone();
        let mut tokens = self.tokens.lock().await;
        if let Some(t) = tokens.get(&key) {
            if now() + RENEW_BEFORE < t.expires_at {
                return Ok(t.clone());
            }
        }
        let creds = self.credentials(&ecr.region).await?;
        let login = self.get_authorization_token(&ecr, &creds).await?;
        tokens.insert(key, login.clone());
        Ok(login)
    }

    fn env(&self, key: &str) -> Option<String> {
        match &self.opts.env {
            Some(map) => map.get(key).cloned(),
            None => std::env::var(key).ok(),
        }
        .filter(|v| !v.is_empty())
    }

    /// The default credential chain: environment, web identity, shared files.
    pub async fn credentials(&self, region: &str) -> Result<AwsCredentials, AwsError> {
        if let (Some(id), Some(secret)) = (
            self.env("AWS_ACCESS_KEY_ID"),
            self.env("AWS_SECRET_ACCESS_KEY"),
        ) {
            return Ok(AwsCredentials {
                access_key_id: id,
                secret_access_key: secret,
                session_token: self.env("AWS_SESSION_TOKEN"),
                expires_at: None,
            });
        }
        if let (Some(file), Some(role)) = (
            self.env("AWS_WEB_IDENTITY_TOKEN_FILE"),
            self.env("AWS_ROLE_ARN"),
        ) {
            return self
                .assume_role_with_web_identity(&file, &role, region)
                .await;
        }
        if let Some(c) = self.shared_files()? {
            return Ok(c);
        }
        Err(AwsError::NoCredentials)
    }

    fn shared_files(&self) -> Result<Option<AwsCredentials>, AwsError> {
        let profile = self.env("AWS_PROFILE").unwrap_or_else(|| "default".into());
        let home = self.env("HOME").map(PathBuf::from);
        let creds_path = self
            .env("AWS_SHARED_CREDENTIALS_FILE")
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws/credentials")));
        let config_path = self
            .env("AWS_CONFIG_FILE")
            .map(PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws/config")));
        let sections = [
            (creds_path, profile.clone()),
            (
                config_path,
                if profile == "default" {
                    "default".to_string()
                } else {
                    format!("profile {profile}")
                },
            ),
        ];
        for (path, section) in sections {
            let Some(path) = path else { continue };
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            let ini = parse_ini(&text);
            let Some(keys) = ini.get(&section) else {
                continue;
            };
            match (
                keys.get("aws_access_key_id"),
                keys.get("aws_secret_access_key"),
            ) {
                (Some(id), Some(secret)) => {
                    return Ok(Some(AwsCredentials {
                        access_key_id: id.clone(),
                        secret_access_key: secret.clone(),
                        session_token: keys.get("aws_session_token").cloned(),
                        expires_at: None,
                    }))
                }
                (Some(_), None) | (None, Some(_)) => {
                    return Err(AwsError::BadCredentials {
                        source_name: format!("{} [{section}]", path.display()),
                        reason: "needs both aws_access_key_id and aws_secret_access_key".into(),
                    })
                }
                _ => {}
            }
        }
        Ok(None)
    }

    async fn assume_role_with_web_identity(
        &self,
        token_file: &str,
        role: &str,
        region: &str,
    ) -> Result<AwsCredentials, AwsError> {
        let token = std::fs::read_to_string(token_file).map_err(|e| AwsError::BadCredentials {
            source_name: "AWS_WEB_IDENTITY_TOKEN_FILE".into(),
            reason: format!("cannot read {token_file}: {e}"),
        })?;
        let session = self
            .env("AWS_ROLE_SESSION_NAME")
            .unwrap_or_else(|| format!("flotilla-{}", now()));
        let sts_region = self
            .env("AWS_REGION")
            .or_else(|| self.env("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| region.to_string());
        let endpoint = self
            .opts
            .sts_endpoint
            .clone()
            .or_else(|| self.env("AWS_ENDPOINT_URL_STS"))
            .unwrap_or_else(|| format!("https://sts.{sts_region}.amazonaws.com"));
        let form = [
            ("Action", "AssumeRoleWithWebIdentity"),
            ("Version", "2011-06-15"),
            ("RoleArn", role),
            ("RoleSessionName", session.as_str()),
            ("WebIdentityToken", token.trim()),
        ]
        .iter()
        .map(|(k, v)| format!("{}={}", sigv4::uri_encode(k), sigv4::uri_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
        let req = Request::post(format!("{}/", endpoint.trim_end_matches('/')))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/xml")
            .body(Full::new(Bytes::from(form)))
            .map_err(|e| AwsError::BadCredentials {
                source_name: "STS endpoint".into(),
                reason: e.to_string(),
            })?;
        let resp = self.http.send(req, 1 << 20).await?;
        let body = String::from_utf8_lossy(resp.body()).into_owned();
        if !resp.status().is_success() {
            return Err(AwsError::Api {
                service: "sts",
                action: "AssumeRoleWithWebIdentity",
                status: resp.status().as_u16(),
                message: xml_error(&body),
            });
        }
        let get = |tag: &str| xml_text(&body, tag);
        match (get("AccessKeyId"), get("SecretAccessKey")) {
            (Some(id), Some(secret)) => Ok(AwsCredentials {
                access_key_id: id,
                secret_access_key: secret,
                session_token: get("SessionToken"),
                expires_at: get("Expiration").and_then(|e| sigv4::parse_rfc3339_utc(&e)),
            }),
            _ => Err(AwsError::Api {
                service: "sts",
                action: "AssumeRoleWithWebIdentity",
                status: resp.status().as_u16(),
                message: "the answer has no Credentials".into(),
            }),
        }
    }

    async fn get_authorization_token(
        &self,
        ecr: &EcrHost,
        creds: &AwsCredentials,
    ) -> Result<EcrLogin, AwsError> {
        let endpoint = self
            .opts
            .ecr_endpoint
            .clone()
            .or_else(|| self.env("AWS_ENDPOINT_URL_ECR"))
            .unwrap_or_else(|| format!("https://api.ecr.{}.{}", ecr.region, ecr.suffix));
        let uri: http::Uri = format!("{}/", endpoint.trim_end_matches('/'))
            .parse()
            .map_err(|e: http::uri::InvalidUri| AwsError::BadCredentials {
                source_name: "ECR endpoint".into(),
                reason: e.to_string(),
            })?;
        let host = uri.authority().map(|a| a.to_string()).unwrap_or_default();
        let body = b"{}";
        let date = sigv4::amz_date(now());
        let target = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken";
        let content_type = "application/x-amz-json-1.1";
        let mut headers: Vec<(&str, &str)> = vec![
            ("host", host.as_str()),
            ("content-type", content_type),
            ("x-amz-date", date.as_str()),
            ("x-amz-target", target),
        ];
        if let Some(t) = &creds.session_token {
            headers.push(("x-amz-security-token", t.as_str()));
        }
        let auth = sigv4::authorization(
            &sigv4::SignableRequest {
                method: "POST",
                path: uri.path(),
                query: &[],
                headers: &headers,
                payload: body,
            },
            creds,
            &ecr.region,
            "ecr",
            &date,
        );
        let mut builder = Request::post(uri);
        for (k, v) in &headers {
            builder = builder.header(*k, *v);
        }
        let req = builder
            .header("authorization", auth)
            .body(Full::new(Bytes::from_static(body)))
            .map_err(|e| AwsError::BadCredentials {
                source_name: "ECR request".into(),
                reason: e.to_string(),
            })?;
        let resp = self.http.send(req, 1 << 20).await?;
        let status = resp.status().as_u16();
        let json: serde_json::Value = serde_json::from_slice(resp.body()).unwrap_or_default();
        if !resp.status().is_success() {
            let code = json
                .get("__type")
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .rsplit('#')
                .next()
                .unwrap_or_default()
                .to_string();
            let msg = json
                .get("message")
                .or_else(|| json.get("Message"))
                .and_then(|v| v.as_str())
                .unwrap_or_default();
            return Err(AwsError::Api {
                service: "ecr",
                action: "GetAuthorizationToken",
                status,
                message: format!("{code}: {msg}"),
            });
        }
        let data = json
            .get("authorizationData")
            .and_then(|d| d.get(0))
            .ok_or_else(|| AwsError::Api {
                service: "ecr",
                action: "GetAuthorizationToken",
                status,
                message: "the answer has no authorizationData".into(),
            })?;
        let token = data
            .get("authorizationToken")
            .and_then(|t| t.as_str())
            .unwrap_or_default();
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(token)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default();
        let (user, pass) = decoded.split_once(':').ok_or_else(|| AwsError::Api {
            service: "ecr",
            action: "GetAuthorizationToken",
            status,
            message: "authorizationToken is not base64 of 'user:password'".into(),
        })?;
        let expires_at = data
            .get("expiresAt")
            .and_then(|e| e.as_f64())
            .map(|f| f as u64)
            .unwrap_or_else(|| now() + 3600);
        Ok(EcrLogin {
            username: user.to_string(),
            password: pass.to_string(),
            expires_at,
        })
    }
}

pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
}

fn parse_ini(text: &str) -> HashMap<String, HashMap<String, String>> {
    let mut out: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut section = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = s.split_whitespace().collect::<Vec<_>>().join(" ");
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            out.entry(section.clone())
                .or_default()
                .insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    out
}

fn xml_text(body: &str, tag: &str) -> Option<String> {
    let open = format!("<{tag}>");
    let close = format!("</{tag}>");
    let start = body.find(&open)? + open.len();
    let end = body[start..].find(&close)? + start;
    Some(
        body[start..end]
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&amp;", "&"),
    )
}

fn xml_error(body: &str) -> String {
    match (xml_text(body, "Code"), xml_text(body, "Message")) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c,
        _ => "no error details".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecr_hosts() {
        let h = parse_ecr_host("123456789012.dkr.ecr.eu-west-1.amazonaws.com").expect("ecr");
        assert_eq!(
            (h.account.as_str(), h.region.as_str()),
            ("123456789012", "eu-west-1")
        );
        let h =
            parse_ecr_host("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com").expect("ecr");
        assert_eq!(h.region, "us-gov-west-1");
        let h = parse_ecr_host("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn").expect("ecr");
        assert_eq!(h.suffix, "amazonaws.com.cn");
        for bad in [
            "ghcr.io",
            "12345.dkr.ecr.eu-west-1.amazonaws.com",
            "123456789012.dkr.ecr.eu-west-1.example.com",
        ] {
            assert!(parse_ecr_host(bad).is_none(), "{bad}");
        }
    }

    #[tokio::test]
    async fn shared_files_with_profile() {
        let dir = tempfile::tempdir().expect("tempdir");
        let creds = dir.path().join("credentials");
        std::fs::write(
            &creds,
            "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = s1\n\n[ci]\naws_access_key_id=AKIDCI\naws_secret_access_key=s2\naws_session_token=t2\n",
        )
        .expect("writes");
        let config = dir.path().join("config");
        std::fs::write(
            &config,
            "[profile other]\naws_access_key_id = AKIDOTHER\naws_secret_access_key = s3\n",
        )
        .expect("writes");
        let cache = |profile: Option<&str>| {
            let mut env = BTreeMap::new();
            env.insert(
                "AWS_SHARED_CREDENTIALS_FILE".to_string(),
                creds.display().to_string(),
            );
            env.insert("AWS_CONFIG_FILE".to_string(), config.display().to_string());
            if let Some(p) = profile {
                env.insert("AWS_PROFILE".to_string(), p.to_string());
            }
            EcrTokenCache::new(AwsOptions {
                env: Some(env),
                ..AwsOptions::default()
            })
            .expect("client")
        };
        let c = cache(None).credentials("eu-west-1").await.expect("creds");
        assert_eq!(c.access_key_id, "AKIDDEFAULT");
        let c = cache(Some("ci"))
            .credentials("eu-west-1")
            .await
            .expect("creds");
        assert_eq!(
            (c.access_key_id.as_str(), c.session_token.as_deref()),
            ("AKIDCI", Some("t2"))
        );
        let c = cache(Some("other"))
            .credentials("eu-west-1")
            .await
            .expect("creds");
        assert_eq!(c.access_key_id, "AKIDOTHER");
        assert_eq!(
            cache(Some("none")).credentials("eu-west-1").await,
            Err(AwsError::NoCredentials)
        );
    }
}
