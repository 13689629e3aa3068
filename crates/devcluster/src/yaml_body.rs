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
    flotilla_yaml::from_str(text)
        .map_err(|e| ApiError::BadRequest(format!("the YAML request body is not valid: {e}")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn yaml_apply_bodies() {
        let v = parse(
            b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: 'yes'\n",
            "application/apply-patch+yaml",
        )
        .unwrap();
        assert_eq!(v["data"]["a"], "yes");
        assert!(matches!(
            parse(b"a: [", "application/apply-patch+yaml"),
            Err(ApiError::BadRequest(_))
        ));
        assert!(matches!(
            parse(b"a: 1", "application/json"),
            Err(ApiError::BadRequest(_))
        ));
    }
}
