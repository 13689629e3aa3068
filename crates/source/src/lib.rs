//! Git sources for Flotilla: fetch a GitRepository's reference, package it as a Flux-style artifact, extract it safely.
//!
//! A reconciler calls [`GitSource::fetch`] (ls-remote first; nothing fetched when the revision is
//! unchanged), then [`Storage::archive`] on the checkout, then [`Storage::garbage_collect`].
//! For `spec.include`, [`extract`] the other artifacts and [`stage_includes`] them with the
//! checkout before archiving. Consumers call [`extract`] with the digest from `status.artifact`.
//! Errors carry Flux's condition reasons via `reason()`.

mod archive;
mod auth;
mod extract;
mod fetch;
mod ignore;
mod include;
mod reference;
pub mod semver;
mod storage;
mod transport;
mod url;

pub use archive::{file_digest, write_archive, ArchiveError, ArchiveOptions, ArchiveSummary};
pub use auth::{Credentials, SecretError};
pub use extract::{extract, ExtractError, ExtractOptions, ExtractSummary};
pub use fetch::{reason, Checkout, FetchError, FetchOptions, FetchOutcome, GitSource};
pub use ignore::{IgnoreRules, SOURCEIGNORE_FILE};
pub use include::{from_path, stage_includes, Include, IncludeError};
pub use reference::{GitRef, Revision};
pub use storage::{Artifact, ArtifactOwner, Storage, StorageError};
pub use transport::GitEnv;
pub use url::{redact, GitUrl, Scheme, UrlError};
