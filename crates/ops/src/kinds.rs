//! The toolkit kinds the CLI works with, how they are named on the command line and how they are
//! addressed on the API server.

use kube::discovery::ApiResource;

/// A Flux kind the CLI knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FluxKind {
    /// `source.toolkit.fluxcd.io/v1` GitRepository.
    GitRepository,
    /// `kustomize.toolkit.fluxcd.io/v1` Kustomization.
    Kustomization,
    /// `image.toolkit.fluxcd.io/v1` ImageRepository.
    ImageRepository,
    /// `image.toolkit.fluxcd.io/v1` ImagePolicy.
    ImagePolicy,
    /// `image.toolkit.fluxcd.io/v1` ImageUpdateAutomation.
    ImageUpdateAutomation,
    /// `notification.toolkit.fluxcd.io/v1beta3` Provider.
    Provider,
    /// `notification.toolkit.fluxcd.io/v1beta3` Alert.
    Alert,
    /// `notification.toolkit.fluxcd.io/v1` Receiver.
    Receiver,
}

/// A kind name the CLI does not know.
#[derive(Debug, thiserror::Error)]
#[error("unknown kind {name:?}; known kinds: GitRepository, Kustomization, ImageRepository, ImagePolicy, ImageUpdateAutomation, Provider, Alert, Receiver")]
pub struct UnknownKind {
    /// What was given.
    pub name: String,
}

impl FluxKind {
    /// Every kind, in the order `get all` lists them.
    pub const ALL: [FluxKind; 8] = [
        FluxKind::GitRepository,
        FluxKind::Kustomization,
        FluxKind::ImageRepository,
        FluxKind::ImagePolicy,
        FluxKind::ImageUpdateAutomation,
        FluxKind::Provider,
        FluxKind::Alert,
        FluxKind::Receiver,
    ];

    /// The kinds with a Ready condition, as `get all` shows them.
    pub const WITH_STATUS: [FluxKind; 5] = [
        FluxKind::GitRepository,
        FluxKind::Kustomization,
        FluxKind::ImageRepository,
        FluxKind::ImagePolicy,
        FluxKind::ImageUpdateAutomation,
    ];

    /// The `kind` field.
    pub fn kind(self) -> &'static str {
        match self {
            FluxKind::GitRepository => "GitRepository",
            FluxKind::Kustomization => "Kustomization",
            FluxKind::ImageRepository => "ImageRepository",
            FluxKind::ImagePolicy => "ImagePolicy",
            FluxKind::ImageUpdateAutomation => "ImageUpdateAutomation",
            FluxKind::Provider => "Provider",
            FluxKind::Alert => "Alert",
            FluxKind::Receiver => "Receiver",
        }
    }

    /// API group.
    pub fn group(self) -> &'static str {
        match self {
            FluxKind::GitRepository => "source.toolkit.fluxcd.io",
            FluxKind::Kustomization => "kustomize.toolkit.fluxcd.io",
            FluxKind::ImageRepository | FluxKind::ImagePolicy | FluxKind::ImageUpdateAutomation => {
                "image.toolkit.fluxcd.io"
            }
            FluxKind::Provider | FluxKind::Alert | FluxKind::Receiver => {
                "notification.toolkit.fluxcd.io"
            }
        }
    }

    /// The version served and written.
    pub fn version(self) -> &'static str {
        match self {
            FluxKind::Provider | FluxKind::Alert => "v1beta3",
            _ => "v1",
        }
    }

    /// `group/version`.
    pub fn api_version(self) -> String {
        format!("{}/{}", self.group(), self.version())
    }

    /// Plural resource name.
    pub fn plural(self) -> &'static str {
        match self {
            FluxKind::GitRepository => "gitrepositories",
            FluxKind::Kustomization => "kustomizations",
            FluxKind::ImageRepository => "imagerepositories",
            FluxKind::ImagePolicy => "imagepolicies",
            FluxKind::ImageUpdateAutomation => "imageupdateautomations",
            FluxKind::Provider => "providers",
            FluxKind::Alert => "alerts",
            FluxKind::Receiver => "receivers",
        }
    }

    /// What kube needs to address the kind dynamically.
    pub fn api_resource(self) -> ApiResource {
        ApiResource {
            group: self.group().to_string(),
            version: self.version().to_string(),
            api_version: self.api_version(),
            kind: self.kind().to_string(),
            plural: self.plural().to_string(),
        }
    }

    /// Whether the kind has `spec.suspend` and a reconcile loop.
    pub fn reconciles(self) -> bool {
        !matches!(self, FluxKind::Alert | FluxKind::Provider)
    }

    /// Parses a kind as `Kind`, `kind`, plural, or `--for Kind/name` prefix would give it.
    pub fn parse(name: &str) -> Result<FluxKind, UnknownKind> {
        let lower = name.to_ascii_lowercase();
        FluxKind::ALL
            .into_iter()
            .find(|k| {
                lower == k.kind().to_ascii_lowercase()
                    || lower == k.plural()
                    || (lower == "ks" && *k == FluxKind::Kustomization)
            })
            .ok_or_else(|| UnknownKind {
                name: name.to_string(),
            })
    }
}

impl std::fmt::Display for FluxKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_plurals_and_short_names() {
        assert_eq!(FluxKind::parse("ks").ok(), Some(FluxKind::Kustomization));
        assert_eq!(
            FluxKind::parse("GitRepository").ok(),
            Some(FluxKind::GitRepository)
        );
        assert_eq!(
            FluxKind::parse("imagepolicies").ok(),
            Some(FluxKind::ImagePolicy)
        );
        assert!(FluxKind::parse("helmrelease").is_err());
    }

    #[test]
    fn resources_match_the_generated_crds() {
        let crds = flotilla_api::crds().expect("crds");
        for kind in FluxKind::ALL {
            let crd = crds
                .iter()
                .find(|c| c.spec.names.kind == kind.kind())
                .expect("a CRD per kind");
            assert_eq!(crd.spec.group, kind.group());
            assert_eq!(crd.spec.names.plural, kind.plural());
            assert!(crd
                .spec
                .versions
                .iter()
                .any(|v| v.name == kind.version() && v.storage));
        }
    }
}
