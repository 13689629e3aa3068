//! Image automation for Flotilla: what the ImageRepository, ImagePolicy and ImageUpdateAutomation
//! reconcilers call.
//!
//! - ImageRepository: [`ImageName::parse`] (`status.canonicalImageName` = [`ImageName::canonical`]),
//!   credentials from [`resolve_credentials`] ([`DockerConfig::from_secret`] when `secretRef` is
//!   set, else [`Provider`]: [`EcrTokenCache::login`] for `aws`; keep one cache per process),
//!   [`RegistryClient::new`] then [`scan`] into a [`TagStore`]; the returned [`ScanSummary`] is
//!   `status.lastScanResult`. A failed scan keeps the previous tags.
//! - ImagePolicy: [`Policy::new`] (spec errors stall) then [`Policy::latest`] over
//!   [`TagStore::tags`] of the repository's canonical name; [`Selection::previous`] gives
//!   `status.observedPreviousRef` from the old `latestRef`.
//! - ImageUpdateAutomation: [`automation::run`] with the policies' images keyed `namespace:name`;
//!   it clones, applies [`apply_setters`], commits with [`template::render`] and pushes.

pub mod automation;
pub mod aws;
mod http;
mod policy;
mod provider;
pub mod push;
mod reference;
pub mod registry;
mod setters;
mod store;
pub mod template;

pub use automation::{
    run as run_automation, AutomationError, AutomationOptions, AutomationOutcome, GitAuth,
    PushedCommit, SshAuth,
};
pub use aws::{parse_ecr_host, AwsError, AwsOptions, EcrLogin, EcrTokenCache};
pub use http::{HttpError, HttpOptions};
pub use policy::{parse_strict, FilterSpec, Order, Policy, PolicyError, Rule, Selection};
pub use provider::{resolve_credentials, CredentialsError, Provider};
pub use reference::{ImageName, ReferenceError, DOCKER_HUB};
pub use registry::{
    scan, Credentials, DockerConfig, DockerConfigError, RegistryClient, RegistryError,
    RegistryOptions, ScanError, ScanOptions, DEFAULT_EXCLUSION,
};
pub use setters::{
    apply_setters, Change, ObjectId, PolicyImage, SetterError, SetterOptions, Skipped,
    UnknownMarker, UpdateResult, MARKER,
};
pub use store::{ScanSummary, StoreError, TagStore, TagWriter, LATEST_TAGS};
