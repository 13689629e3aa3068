//! `provider: aws`: ECR GetAuthorizationToken and STS AssumeRoleWithWebIdentity against local stand-ins for the AWS endpoints that check every SigV4 signature they receive.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;

use flotilla_image::aws::sigv4::{authorization, AwsCredentials, SignableRequest};
use flotilla_image::{AwsError, AwsOptions, EcrTokenCache, ImageName};
use support::{b64, Stub, StubRequest};

const ECR_IMAGE: &str = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Recomputes the request's signature with `secret` from what arrived on the wire.
fn signature_ok(
    req: &StubRequest,
    key_id: &str,
    secret: &str,
    token: Option<&str>,
) -> Result<(), String> {
    let auth = req
        .header("authorization")
        .ok_or("no Authorization header")?;
    let signed = auth
        .split("SignedHeaders=")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .ok_or("no SignedHeaders")?;
    let date = req.header("x-amz-date").ok_or("no x-amz-date")?;
    let mut headers = Vec::new();
    for name in signed.split(';') {
        headers.push((
            name,
            req.header(name)
                .ok_or(format!("signed header {name} missing"))?,
        ));
    }
    if !signed.split(';').any(|h| h == "host") || !signed.split(';').any(|h| h == "x-amz-target") {
        return Err(format!("host and x-amz-target must be signed: {signed}"));
    }
    let creds = AwsCredentials {
        access_key_id: key_id.into(),
        secret_access_key: secret.into(),
        session_token: token.map(str::to_string),
        expires_at: None,
    };
    let want = authorization(
        &SignableRequest {
            method: &req.method,
            path: &req.target,
            query: &[],
            headers: &headers,
            payload: &req.body,
        },
        &creds,
        "eu-west-1",
        "ecr",
        date,
    );
    if want != auth {
        return Err(format!("signature mismatch:\n got {auth}\nwant {want}"));
    }
    Ok(())
}

/// A stand-in for the ECR API: checks the signature and hands out `user:password`.
fn ecr_stub(
    key_id: &'static str,
    secret: &'static str,
    token: Option<&'static str>,
    ttl: u64,
) -> Stub {
    Stub::start(Box::new(move |req: &support::StubRequest| {
        assert_eq!(
            req.header("x-amz-target"),
            Some("AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken")
        );
        assert_eq!(req.header("x-amz-security-token"), token);
        if let Err(e) = signature_ok(req, key_id, secret, token) {
            let body = serde_json::json!({"__type": "InvalidSignatureException", "message": e});
            return (403, vec![], body.to_string().into_bytes());
        }
        let body = serde_json::json!({"authorizationData": [{
            "authorizationToken": b64(b"AWS:ecr-password"),
            "expiresAt": (now() + ttl) as f64,
            "proxyEndpoint": "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"}]});
        (
            200,
            vec![("Content-Type".into(), "application/x-amz-json-1.1".into())],
            body.to_string().into_bytes(),
        )
    }))
}

fn cache(env: &[(&str, &str)], ecr: &Stub, sts: Option<&Stub>) -> EcrTokenCache {
    let env: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    EcrTokenCache::new(AwsOptions {
        env: Some(env),
        ecr_endpoint: Some(ecr.url()),
        sts_endpoint: sts.map(Stub::url),
        ..AwsOptions::default()
    })
    .unwrap()
}

#[tokio::test]
async fn environment_credentials_signed_request_and_cache() {
    let ecr = ecr_stub("AKIDENV", "env-secret", Some("env-session"), 12 * 3600);
    let c = cache(
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDENV"),
            ("AWS_SECRET_ACCESS_KEY", "env-secret"),
            ("AWS_SESSION_TOKEN", "env-session"),
        ],
        &ecr,
        None,
    );
    let image = ImageName::parse(ECR_IMAGE).unwrap();
    let login = c.login(&image).await.unwrap();
    assert_eq!(
        (login.username.as_str(), login.password.as_str()),
        ("AWS", "ecr-password")
    );
    assert!(!format!("{login:?}").contains("ecr-password"));
    // The credential scope names the region taken from the registry host.
    let auth = ecr.requests.lock().unwrap()[0]
        .header("authorization")
        .unwrap()
        .to_string();
    assert!(auth.contains("/eu-west-1/ecr/aws4_request"), "{auth}");
    // Cached until shortly before expiry.
    c.login(&image).await.unwrap();
    assert_eq!(ecr.count(), 1);

    let wrong = cache(
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDENV"),
            ("AWS_SECRET_ACCESS_KEY", "other-secret"),
            ("AWS_SESSION_TOKEN", "env-session"),
        ],
        &ecr,
        None,
    );
    let err = wrong.login(&image).await.unwrap_err();
    assert!(matches!(err, AwsError::Api { status: 403, .. }), "{err}");
    assert!(!err.to_string().contains("other-secret"));

    assert!(matches!(
        c.login(&ImageName::parse("ghcr.io/org/app").unwrap()).await,
        Err(AwsError::NotEcr(_))
    ));
}

#[tokio::test]
async fn tokens_close_to_expiry_are_renewed() {
    let ecr = ecr_stub("AKIDENV", "env-secret", None, 60);
    let c = cache(
        &[
            ("AWS_ACCESS_KEY_ID", "AKIDENV"),
            ("AWS_SECRET_ACCESS_KEY", "env-secret"),
        ],
        &ecr,
        None,
    );
    let image = ImageName::parse(ECR_IMAGE).unwrap();
    c.login(&image).await.unwrap();
    c.login(&image).await.unwrap();
    assert_eq!(ecr.count(), 2);
}

#[tokio::test]
async fn web_identity_irsa_then_ecr() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "eyJhbGciOi.projected.sa-token\n").unwrap();
    let seen = Arc::new(std::sync::Mutex::new(String::new()));
    let seen2 = seen.clone();
    // A stand-in for STS: AssumeRoleWithWebIdentity is unsigned; it returns temporary keys.
    let sts = Stub::start(Box::new(move |req: &support::StubRequest| {
        *seen2.lock().unwrap() = String::from_utf8_lossy(&req.body).into_owned();
        let xml = "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIASTS</AccessKeyId><SecretAccessKey>sts-secret</SecretAccessKey><SessionToken>sts-session</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>";
        (
            200,
            vec![("Content-Type".into(), "text/xml".into())],
            xml.as_bytes().to_vec(),
        )
    }));
    let ecr = ecr_stub("ASIASTS", "sts-secret", Some("sts-session"), 12 * 3600);
    let file = token_file.display().to_string();
    let c = cache(
        &[
            ("AWS_WEB_IDENTITY_TOKEN_FILE", file.as_str()),
            ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/flux-image"),
            ("AWS_ROLE_SESSION_NAME", "flotilla-test"),
        ],
        &ecr,
        Some(&sts),
    );
    let login = c
        .login(&ImageName::parse(ECR_IMAGE).unwrap())
        .await
        .unwrap();
    assert_eq!(login.password, "ecr-password");
    let body = seen.lock().unwrap().clone();
    assert!(body.contains("Action=AssumeRoleWithWebIdentity"), "{body}");
    assert!(
        body.contains("RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fflux-image"),
        "{body}"
    );
    assert!(
        body.contains("WebIdentityToken=eyJhbGciOi.projected.sa-token&")
            || body.ends_with("WebIdentityToken=eyJhbGciOi.projected.sa-token"),
        "{body}"
    );
}
