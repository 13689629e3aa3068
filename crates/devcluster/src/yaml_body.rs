//! Request bodies: JSON, and the YAML that `application/apply-patch+yaml` and
//! `application/yaml` bodies may carry.

use serde_json::Value;

use crate::errors::ApiError;

/// Parses a body; JSON is tried first since every JSON document is also YAML and nearly all
/// clients (kubectl, kube-rs, client-go) send JSON even for apply patches.
pub fn parse(body: &[u8], content_type: &str) -> Result<Value, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest("the request body is empty".into()));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v) => Ok(v),
        Err(json_err) => {
            if content_type.contains("yaml") {
                let text = std::str::from_utf8(body).map_err(|_| {
                    ApiError::BadRequest("the YAML request body is not valid UTF-8".into())
                })?;
                return from_yaml(text);
            }
            Err(ApiError::BadRequest(format!(
                "the request body is not valid JSON: {json_err}"
            )))
        }
    }
}

fn from_yaml(text: &str) -> Result<Value, ApiError> {
    let _ = text;
    Err(ApiError::UnsupportedMediaType(
        "YAML request bodies are not supported yet; send the same document as JSON".into(),
    ))
}
