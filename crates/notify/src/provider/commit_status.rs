//! GitHub and GitLab commit statuses, keyed on the revision in the event, as Flux sets them:
//! context `<kind>/<name>/<first part of the Provider UID>` (lowercase), state from the
//! severity, description from the reason, and no new status when the latest one with the same
//! context already says the same.

use http::header::{HeaderName, HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::Method;
use serde_json::{json, Value};

use super::{check_status, ProviderError, ProviderKind, ProviderSettings, SendError, Sent};
use crate::event::{Event, Severity};
use crate::transport::HttpClient;

/// Reason of in-progress events, which set no commit status.
const PROGRESSING: &str = "Progressing";

/// `(scheme://host[:port], path-without-.git)` of a repository URL: `https://host/owner/repo`,
/// `ssh://git@host/owner/repo.git` or `git@host:owner/repo.git` (SSH becomes https).
pub fn parse_git_address(address: &str) -> Option<(String, String)> {
    let address = address.trim();
    let (scheme, rest) = match address.split_once("://") {
        Some((scheme, rest)) => (scheme.to_lowercase(), rest.to_string()),
        None => {
            // scp-like: [user@]host:path
            let (host, path) = address.split_once(':')?;
            if host.contains('/') || path.starts_with("//") {
                return None;
            }
            ("ssh".to_string(), format!("{host}/{path}"))
        }
    };
    let scheme = match scheme.as_str() {
        "ssh" | "git+ssh" => "https",
        "http" => "http",
        "https" => "https",
        _ => return None,
    };
    let (authority, path) = rest.split_once('/')?;
    let host = authority.rsplit('@').next()?;
    if host.is_empty() {
        return None;
    }
    // An SSH port says nothing about the web host's port.
    let host = if scheme == "https" && address.starts_with("ssh") {
        host.split(':').next().unwrap_or(host)
    } else {
        host
    };
    let path = path.trim_matches('/');
    let path = path.strip_suffix(".git").unwrap_or(path);
    if path.is_empty() {
        return None;
    }
    Some((format!("{scheme}://{host}"), path.to_string()))
}

/// The commit SHA in a revision: `main@sha1:<sha>`, `sha1:<sha>`, legacy `main/<sha>` or a bare SHA.
pub fn revision_sha(revision: &str) -> Option<&str> {
    let sha = match revision.split_once(':') {
        Some((_, sha)) => sha,
        None => revision.rsplit('/').next().unwrap_or(revision),
    };
    (!sha.is_empty()).then_some(sha)
}

/// Splits a CamelCase word into its parts (`ReconciliationSucceeded` → `Reconciliation`,
/// `Succeeded`; `HTTPError` → `HTTP`, `Error`), as Flux does for status descriptions.
pub fn split_camel_case(text: &str) -> Vec<String> {
    fn class(c: char) -> u8 {
        if c.is_lowercase() {
            1
        } else if c.is_uppercase() {
            2
        } else if c.is_numeric() {
            3
        } else {
            4
        }
    }
    let mut runs: Vec<Vec<char>> = Vec::new();
    let mut last = 0;
    for c in text.chars() {
        let cls = class(c);
        match runs.last_mut() {
            Some(run) if cls == last => run.push(c),
            _ => runs.push(vec![c]),
        }
        last = cls;
    }
    // An upper-case run followed by a lower-case one gives its last letter to the next word.
    for i in 0..runs.len().saturating_sub(1) {
        let upper_then_lower = runs[i].first().is_some_and(|c| c.is_uppercase())
            && runs[i + 1].first().is_some_and(|c| c.is_lowercase());
        if upper_then_lower {
            if let Some(c) = runs[i].pop() {
                runs[i + 1].insert(0, c);
            }
        }
    }
    runs.into_iter()
        .filter(|r| !r.is_empty())
        .map(|r| r.into_iter().collect())
        .collect()
}

fn description(event: &Event) -> String {
    split_camel_case(&event.reason).join(" ").to_lowercase()
}

fn context(settings: &ProviderSettings, event: &Event) -> String {
    let uid = settings.uid.split('-').next().unwrap_or("");
    format!(
        "{}/{}/{}",
        event.involved_object.kind.as_deref().unwrap_or(""),
        event.involved_object.name.as_deref().unwrap_or(""),
        uid
    )
    .to_lowercase()
}

/// Where statuses go.
#[derive(Clone, Debug)]
pub(crate) enum CommitTarget {
    GitHub {
        api: String,
        owner: String,
        repo: String,
    },
    GitLab {
        api: String,
        project: String,
    },
}

impl CommitTarget {
    pub(crate) fn new(settings: &ProviderSettings) -> Result<CommitTarget, ProviderError> {
        let invalid = |reason: &str| ProviderError::InvalidRepository {
            provider: settings.id(),
            type_: settings.kind.as_str(),
            example: if settings.kind == ProviderKind::GitHub {
                "github.com"
            } else {
                "gitlab.com"
            },
            reason: reason.to_string(),
        };
        let (base, path) = parse_git_address(&settings.address)
            .ok_or_else(|| invalid("not an http(s) or ssh URL with a repository path"))?;
        match settings.kind {
            ProviderKind::GitHub => {
                let parts: Vec<&str> = path.split('/').collect();
                let [owner, repo] = parts.as_slice() else {
                    return Err(invalid("the path must be <owner>/<repository>"));
                };
                let api = if base == "https://github.com" {
                    "https://api.github.com".to_string()
                } else {
                    format!("{base}/api/v3")
                };
                Ok(CommitTarget::GitHub {
                    api,
                    owner: owner.to_string(),
                    repo: repo.to_string(),
                })
            }
            _ => Ok(CommitTarget::GitLab {
                api: format!("{base}/api/v4"),
                project: path,
            }),
        }
    }

    pub(crate) async fn post(
        &self,
        http: &HttpClient,
        settings: &ProviderSettings,
        event: &Event,
    ) -> Result<Sent, SendError> {
        if event.reason == PROGRESSING {
            return Ok(Sent::Skipped("progressing events set no commit status"));
        }
        let revision = event
            .revision()
            .ok_or_else(|| SendError::Event("the event has no revision metadata".into()))?;
        let sha = revision_sha(revision).ok_or_else(|| {
            SendError::Event("the event's revision metadata holds no commit SHA".into())
        })?;
        let token = settings.token.as_deref().unwrap_or("");
        let context = context(settings, event);
        let description = description(event);
        match self {
            CommitTarget::GitHub { api, owner, repo } => {
                let state = match event.severity {
                    Severity::Error => "failure",
                    _ => "success",
                };
                let headers = [
                    (AUTHORIZATION, value(&format!("Bearer {token}"))),
                    (
                        ACCEPT,
                        HeaderValue::from_static("application/vnd.github+json"),
                    ),
                    (
                        HeaderName::from_static("x-github-api-version"),
                        HeaderValue::from_static("2022-11-28"),
                    ),
                ];
                let list = format!(
                    "{api}/repos/{owner}/{repo}/commits/{}/statuses?per_page=50",
                    encode(sha)
                );
                let response = http.send(Method::GET, &list, &headers, Vec::new()).await?;
                check_status(settings, &list, &response)?;
                let statuses: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
                // GitHub lists the newest first: only the latest status per context counts.
                let latest = statuses
                    .as_array()
                    .into_iter()
                    .flatten()
                    .find(|s| s["context"] == context.as_str());
                if latest.is_some_and(|s| {
                    s["state"] == state && s["description"] == description.as_str()
                }) {
                    return Ok(Sent::Skipped("the commit already has this status"));
                }
                let url = format!("{api}/repos/{owner}/{repo}/statuses/{}", encode(sha));
                let body = json!({"state": state, "context": context, "description": description});
                let mut headers = headers.to_vec();
                headers.push((CONTENT_TYPE, HeaderValue::from_static("application/json")));
                let response = http
                    .send(Method::POST, &url, &headers, body.to_string().into_bytes())
                    .await?;
                check_status(settings, &url, &response)?;
                Ok(Sent::Delivered)
            }
            CommitTarget::GitLab { api, project } => {
                let state = match event.severity {
                    Severity::Error => "failed",
                    _ => "success",
                };
                let headers = [(HeaderName::from_static("private-token"), value(token))];
                let project = encode(project);
                let list = format!(
                    "{api}/projects/{project}/repository/commits/{}/statuses?name={}",
                    encode(sha),
                    encode(&context)
                );
                let response = http.send(Method::GET, &list, &headers, Vec::new()).await?;
                check_status(settings, &list, &response)?;
                let statuses: Value = serde_json::from_slice(&response.body).unwrap_or(Value::Null);
                let duplicate = statuses.as_array().into_iter().flatten().any(|s| {
                    s["sha"] == sha
                        && s["status"] == state
                        && s["description"] == description.as_str()
                        && s["name"] == context.as_str()
                });
                if duplicate {
                    return Ok(Sent::Skipped("the commit already has this status"));
                }
                let url = format!("{api}/projects/{project}/statuses/{}", encode(sha));
                let body = json!({"state": state, "name": context, "description": description});
                let mut headers = headers.to_vec();
                headers.push((CONTENT_TYPE, HeaderValue::from_static("application/json")));
                let response = http
                    .send(Method::POST, &url, &headers, body.to_string().into_bytes())
                    .await?;
                check_status(settings, &url, &response)?;
                Ok(Sent::Delivered)
            }
        }
    }
}

fn value(text: &str) -> HeaderValue {
    HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Percent-encodes everything but unreserved characters (GitLab project paths become
/// `group%2Fproject`).
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn git_addresses() {
        let p = |a| parse_git_address(a);
        assert_eq!(
            p("https://github.com/fluxcd/flux2"),
            Some(("https://github.com".into(), "fluxcd/flux2".into()))
        );
        assert_eq!(
            p("ssh://git@github.com:22/fluxcd/flux2.git"),
            Some(("https://github.com".into(), "fluxcd/flux2".into()))
        );
        assert_eq!(
            p("git@gitlab.com:group/sub/project.git"),
            Some(("https://gitlab.com".into(), "group/sub/project".into()))
        );
        assert_eq!(
            p("http://127.0.0.1:8080/o/r"),
            Some(("http://127.0.0.1:8080".into(), "o/r".into()))
        );
        assert_eq!(p("https://github.com/"), None);
        assert_eq!(p("ftp://x/y"), None);
    }

    #[test]
    fn revisions() {
        assert_eq!(revision_sha("main@sha1:abc123"), Some("abc123"));
        assert_eq!(revision_sha("main/abc123"), Some("abc123"));
        assert_eq!(revision_sha("abc123"), Some("abc123"));
        assert_eq!(revision_sha("main@sha1:"), None);
    }

    #[test]
    fn camel_case_descriptions() {
        assert_eq!(
            split_camel_case("ReconciliationSucceeded"),
            vec!["Reconciliation", "Succeeded"]
        );
        assert_eq!(
            split_camel_case("HTTPServerError"),
            vec!["HTTP", "Server", "Error"]
        );
        assert_eq!(
            split_camel_case("Build2Failed"),
            vec!["Build", "2", "Failed"]
        );
        assert_eq!(encode("group/sub project"), "group%2Fsub%20project");
    }
}
