//! `spec.provider` and where an ImageRepository's registry credentials come from: the `secretRef` first, else the cloud provider's login.

use std::fmt;

use crate::aws::{AwsError, EcrLogin, EcrTokenCache};
use crate::reference::ImageName;
use crate::registry::{Credentials, DockerConfig};

/// Authentication provider of an ImageRepository.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Provider {
    /// Secret or anonymous (the default).
    #[default]
    Generic,
    /// Amazon ECR through the AWS credential chain.
    Aws,
    /// Azure Container Registry (workload identity): not implemented yet.
    Azure,
    /// Google Artifact/Container Registry (workload identity): not implemented yet.
    Gcp,
}

impl Provider {
    /// Reads `spec.provider` (`generic` when unset).
    pub fn parse(text: Option<&str>) -> Result<Provider, CredentialsError> {
        match text.unwrap_or("generic") {
            "" | "generic" => Ok(Provider::Generic),
            "aws" => Ok(Provider::Aws),
            "azure" => Ok(Provider::Azure),
            "gcp" => Ok(Provider::Gcp),
            other => Err(CredentialsError::UnknownProvider(other.to_string())),
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Provider::Generic => "generic",
            Provider::Aws => "aws",
            Provider::Azure => "azure",
            Provider::Gcp => "gcp",
        })
    }
}

/// Why no credentials could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// `spec.provider` names no known provider (stalls).
    #[error("spec.provider '{0}' is not one of generic, aws, azure, gcp")]
    UnknownProvider(String),
    /// The provider is accepted by the API but not implemented here (stalls).
    #[error("spec.provider '{0}' is not supported yet; use a secretRef with registry credentials")]
    Unsupported(Provider),
    /// The ECR login failed.
    #[error(transparent)]
    Aws(#[from] AwsError),
}

impl From<EcrLogin> for Credentials {
    fn from(l: EcrLogin) -> Credentials {
        Credentials::Basic {
            username: l.username,
            password: l.password,
        }
    }
}

/// The credentials to scan `image` with: the secret's entry for its registry when a secret is
/// given (as Flux, the secret wins over the provider), else the provider's login, else none.
pub async fn resolve_credentials(
    provider: Provider,
    image: &ImageName,
    secret: Option<&DockerConfig>,
    ecr: &EcrTokenCache,
) -> Result<Credentials, CredentialsError> {
    if let Some(cfg) = secret {
        return Ok(cfg.credentials_for(image));
    }
    match provider {
        Provider::Generic => Ok(Credentials::Anonymous),
        Provider::Aws => Ok(ecr.login(image).await?.into()),
        p @ (Provider::Azure | Provider::Gcp) => Err(CredentialsError::Unsupported(p)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_names() {
        assert_eq!(Provider::parse(None), Ok(Provider::Generic));
        assert_eq!(Provider::parse(Some("aws")), Ok(Provider::Aws));
        assert!(Provider::parse(Some("AWS")).is_err());
    }

    #[tokio::test]
    async fn secret_wins_then_provider() {
        let ecr = EcrTokenCache::new(crate::aws::AwsOptions {
            env: Some(Default::default()),
            ..Default::default()
        })
        .expect("client");
        let image = ImageName::parse("ghcr.io/org/app").expect("image");
        let cfg = DockerConfig::parse(
            "ns/s",
            br#"{"auths":{"ghcr.io":{"username":"u","password":"p"}}}"#,
        )
        .expect("parses");
        let c = resolve_credentials(Provider::Aws, &image, Some(&cfg), &ecr)
            .await
            .expect("from secret");
        assert!(matches!(c, Credentials::Basic { .. }));
        let c = resolve_credentials(Provider::Generic, &image, None, &ecr)
            .await
            .expect("anonymous");
        assert_eq!(c, Credentials::Anonymous);
        // Not an ECR host: the AWS provider says so.
        let e = resolve_credentials(Provider::Aws, &image, None, &ecr)
            .await
            .expect_err("not ecr");
        assert!(matches!(e, CredentialsError::Aws(AwsError::NotEcr(_))));
        assert!(matches!(
            resolve_credentials(Provider::Gcp, &image, None, &ecr).await,
            Err(CredentialsError::Unsupported(Provider::Gcp))
        ));
    }
}
