//! Image repository names as Docker and go-containerregistry read them: registry host, repository path, canonical name.

use std::fmt;

/// Docker Hub's registry as go-containerregistry names it in canonical names.
pub const DOCKER_HUB: &str = "index.docker.io";

/// A registry repository (no tag, no digest), e.g. `ghcr.io/org/app`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageName {
    /// Registry host, with port when given (`localhost:5000`); `index.docker.io` for Docker Hub.
    pub registry: String,
    /// Repository path inside the registry (`library/nginx`, `org/app`).
    pub repository: String,
}

/// Why `spec.image` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("image '{image}': {reason}")]
pub struct ReferenceError {
    /// The image text as given.
    pub image: String,
    /// What is wrong and what to write instead.
    pub reason: String,
}

impl ImageName {
    /// Reads `spec.image`: `nginx`, `org/app`, `ghcr.io/org/app`, `localhost:5000/app`.
    /// A tag or digest is refused (an ImageRepository scans all tags of a repository).
    pub fn parse(image: &str) -> Result<ImageName, ReferenceError> {
        let err = |reason: &str| ReferenceError {
            image: image.to_string(),
            reason: reason.to_string(),
        };
        if image.contains("://") {
            return Err(err(
                "must not start with a URL scheme; write the image name only, e.g. 'ghcr.io/org/app'",
            ));
        }
        if image.trim().is_empty() {
            return Err(err(
                "is empty; write an image name such as 'ghcr.io/org/app'",
            ));
        }
        if image.contains('@') {
            return Err(err("must not contain a digest; remove '@sha256:...'"));
        }
        let (first, rest) = match image.split_once('/') {
            Some((f, r)) => (f, Some(r)),
            None => (image, None),
        };
        let is_host = |s: &str| s.contains('.') || s.contains(':') || s == "localhost";
        let (registry, repository) = match rest {
            Some(r) if is_host(first) => (first.to_string(), r.to_string()),
            _ => (DOCKER_HUB.to_string(), image.to_string()),
        };
        let registry = if registry == "docker.io" {
            DOCKER_HUB.to_string()
        } else {
            registry
        };
        let repository = if registry == DOCKER_HUB && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        if repository
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains(':'))
        {
            return Err(err(
                "must not contain a tag; remove ':<tag>' (the scan lists every tag)",
            ));
        }
        let component = regex_lite_component;
        if let Some(bad) = repository.split('/').find(|c| !component(c)) {
            return Err(err(&format!(
                "path component '{bad}' is not valid: use lowercase letters, digits and '.', '_', '-' separators"
            )));
        }
        Ok(ImageName {
            registry,
            repository,
        })
    }

    /// `registry/repository`, as Flux shows in `status.canonicalImageName`.
    pub fn canonical(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The registry host without the port, for credential and ECR matching.
    pub fn host(&self) -> &str {
        match self.registry.rsplit_once(':') {
            Some((h, p)) if p.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => &self.registry,
        }
    }
}

impl fmt::Display for ImageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)
    }
}

/// Distribution's path component grammar: `[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*`.
fn regex_lite_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() {
        return false;
    }
    let alnum = |x: u8| x.is_ascii_lowercase() || x.is_ascii_digit();
    if !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-');
        if !ok {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_defaults() {
        let n = ImageName::parse("nginx").expect("parses");
        assert_eq!(n.canonical(), "index.docker.io/library/nginx");
        let n = ImageName::parse("docker.io/org/app").expect("parses");
        assert_eq!(n.canonical(), "index.docker.io/org/app");
        let n = ImageName::parse("localhost:5000/app").expect("parses");
        assert_eq!(
            (n.registry.as_str(), n.host()),
            ("localhost:5000", "localhost")
        );
        let n = ImageName::parse("123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/app")
            .expect("parses");
        assert_eq!(n.repository, "team/app");
    }

    #[test]
    fn refuses_tags_digests_schemes() {
        for bad in [
            "nginx:1.0",
            "ghcr.io/org/app:v1",
            "app@sha256:abc",
            "https://ghcr.io/org/app",
            "",
            "Org/App",
            "org//app",
        ] {
            assert!(ImageName::parse(bad).is_err(), "{bad:?} must be refused");
        }
    }
}
