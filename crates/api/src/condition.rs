//! Status conditions as Flux writes them: the `metav1.Condition` shape, Flux's condition types and
//! reasons, and helpers that set, read and order them.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Condition types used across the toolkit kinds.
pub mod types {
    /// The object is fully reconciled (`True`), failing (`False`), or in progress (`Unknown`).
    pub const READY: &str = "Ready";
    /// Reconciliation cannot make progress without a change (abnormal-true; present only when `True`).
    pub const STALLED: &str = "Stalled";
    /// The controller is working on the latest changes (abnormal-true; present only when `True`).
    pub const RECONCILING: &str = "Reconciling";
    /// Last health assessment result (Kustomization).
    pub const HEALTHY: &str = "Healthy";
    /// The artifact is stored and served (sources).
    pub const ARTIFACT_IN_STORAGE: &str = "ArtifactInStorage";
    /// The stored artifact is older than the desired state (sources; abnormal-true).
    pub const ARTIFACT_OUTDATED: &str = "ArtifactOutdated";
    /// Commit/tag signature verification result (sources).
    pub const SOURCE_VERIFIED: &str = "SourceVerified";
    /// Fetching from upstream failed (sources; abnormal-true).
    pub const FETCH_FAILED: &str = "FetchFailed";
    /// Building the artifact failed (sources; abnormal-true).
    pub const BUILD_FAILED: &str = "BuildFailed";
    /// A storage operation failed (sources; abnormal-true).
    pub const STORAGE_OPERATION_FAILED: &str = "StorageOperationFailed";
    /// An included GitRepository has no artifact (GitRepository; abnormal-true).
    pub const INCLUDE_UNAVAILABLE: &str = "IncludeUnavailable";
}

/// Condition reasons Flux's controllers use (CamelCase identifiers, part of what users see).
pub mod reasons {
    /// Generic success.
    pub const SUCCEEDED: &str = "Succeeded";
    /// Generic failure.
    pub const FAILED: &str = "Failed";
    /// Reconciliation started or is underway.
    pub const PROGRESSING: &str = "Progressing";
    /// Reconciliation failed and will be retried.
    pub const PROGRESSING_WITH_RETRY: &str = "ProgressingWithRetry";
    /// The object (or one it depends on) is suspended.
    pub const SUSPENDED: &str = "Suspended";
    /// A dependency is not ready yet.
    pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";
    /// A path is invalid (e.g. escapes the artifact root).
    pub const INVALID_PATH: &str = "InvalidPath";
    /// A URL is invalid.
    pub const INVALID_URL: &str = "InvalidURL";
    /// Plain HTTP refused.
    pub const INSECURE_CONNECTIONS_DISALLOWED: &str = "InsecureConnectionsDisallowed";
    /// The URL scheme is not supported.
    pub const UNSUPPORTED_CONNECTION_TYPE: &str = "UnsupportedConnectionType";
    /// Garbage collection of removed objects failed (Kustomization).
    pub const PRUNE_FAILED: &str = "PruneFailed";
    /// Downloading the source artifact failed (Kustomization).
    pub const ARTIFACT_FAILED: &str = "ArtifactFailed";
    /// The kustomize build (or a source artifact build) failed.
    pub const BUILD_FAILED: &str = "BuildFailed";
    /// A health check failed (Kustomization).
    pub const HEALTH_CHECK_FAILED: &str = "HealthCheckFailed";
    /// Reconciliation succeeded.
    pub const RECONCILIATION_SUCCEEDED: &str = "ReconciliationSucceeded";
    /// Reconciliation failed.
    pub const RECONCILIATION_FAILED: &str = "ReconciliationFailed";
    /// A CEL expression in the spec does not compile.
    pub const INVALID_CEL_EXPRESSION: &str = "InvalidCELExpression";
    /// Server-side validation (dry-run apply) of the built objects failed.
    pub const VALIDATION_FAILED: &str = "ValidationFailed";

    /// The source URL is malformed.
    pub const URL_INVALID: &str = "URLInvalid";
    /// Credentials are missing keys or were refused.
    pub const AUTHENTICATION_FAILED: &str = "AuthenticationFailed";
    /// Signature verification failed.
    pub const VERIFICATION_ERROR: &str = "VerificationError";
    /// Creating a storage directory failed.
    pub const DIR_CREATION_FAILED: &str = "DirectoryCreationFailed";
    /// Stat of a storage path failed.
    pub const STAT_OPERATION_FAILED: &str = "StatOperationFailed";
    /// A read failed.
    pub const READ_OPERATION_FAILED: &str = "ReadOperationFailed";
    /// Taking the storage lock failed.
    pub const ACQUIRE_LOCK_FAILED: &str = "AcquireLockFailed";
    /// Writing the artifact archive failed.
    pub const ARCHIVE_OPERATION_FAILED: &str = "ArchiveOperationFailed";
    /// Updating the `latest` symlink failed.
    pub const SYMLINK_UPDATE_FAILED: &str = "SymlinkUpdateFailed";
    /// The stored artifact already matches upstream.
    pub const ARTIFACT_UP_TO_DATE: &str = "ArtifactUpToDate";
    /// A cache operation failed.
    pub const CACHE_OPERATION_FAILED: &str = "CacheOperationFailed";
    /// A Git operation (clone, fetch, checkout) succeeded. Flux spells it this way.
    pub const GIT_OPERATION_SUCCEEDED: &str = "GitOperationSucceeded";
    /// A Git operation (clone, fetch, checkout, push) failed.
    pub const GIT_OPERATION_FAILED: &str = "GitOperationFailed";
    /// A new artifact replaces the stored one (sources, on `ArtifactOutdated`).
    pub const NEW_REVISION: &str = "NewRevision";

    /// The ImageRepository's image reference is malformed.
    pub const IMAGE_URL_INVALID: &str = "ImageURLInvalid";
    /// `spec.interval` is required by the chosen settings but missing.
    pub const INTERVAL_NOT_CONFIGURED: &str = "IntervalNotConfigured";
    /// The ImageUpdateAutomation update strategy is invalid.
    pub const INVALID_UPDATE_STRATEGY: &str = "InvalidUpdateStrategy";
    /// The ImageUpdateAutomation source configuration is invalid. Flux spells it this way.
    pub const INVALID_SOURCE_CONFIG: &str = "InvalidSourceConfiguration";
    /// Preparing the Git source for an update failed.
    pub const SOURCE_MANAGER_FAILED: &str = "SourceManagerFailed";
    /// Rewriting the files failed.
    pub const UPDATE_FAILED: &str = "UpdateFailed";
    /// `spec.policySelector` is invalid.
    pub const INVALID_POLICY_SELECTOR: &str = "InvalidPolicySelector";
    /// The commit template uses a field Flux removed.
    pub const REMOVED_TEMPLATE_FIELD: &str = "RemovedTemplateField";

    /// A notification object was initialised.
    pub const INITIALIZED: &str = "Initialized";
    /// The Receiver token Secret is missing.
    pub const TOKEN_NOT_FOUND: &str = "TokenNotFound";
    /// Part of a notification object's configuration cannot be used.
    pub const INVALID_CONFIG: &str = "InvalidConfig";
}

/// The finalizer every Flux controller puts on the objects it reconciles.
pub const FINALIZER: &str = "finalizers.fluxcd.io";

/// `True`, `False` or `Unknown`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ConditionStatus {
    /// The condition holds.
    True,
    /// The condition does not hold.
    False,
    /// Not known yet.
    Unknown,
}

/// One aspect of an object's current state (`metav1.Condition`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Type of the condition, CamelCase (or `foo.example.com/CamelCase`).
    #[serde(rename = "type")]
    #[schemars(length(max = 316))]
    #[schemars(pattern(
        r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
    ))]
    pub type_: String,
    /// Whether the condition holds.
    pub status: ConditionStatus,
    /// The `metadata.generation` the condition was computed from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0))]
    pub observed_generation: Option<i64>,
    /// When the status last changed.
    #[schemars(schema_with = "crate::schema::date_time")]
    pub last_transition_time: Time,
    /// Programmatic CamelCase reason for the last transition.
    #[schemars(length(min = 1, max = 1024))]
    #[schemars(pattern(r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"))]
    pub reason: String,
    /// Human-readable detail; may be empty.
    #[schemars(length(max = 32768))]
    pub message: String,
}

impl Condition {
    /// A condition with the given type, status, reason and message, stamped now.
    pub fn new(
        type_: impl Into<String>,
        status: ConditionStatus,
        reason: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Condition {
            type_: type_.into(),
            status,
            observed_generation: None,
            last_transition_time: now(),
            reason: reason.into(),
            message: message.into(),
        }
    }

    /// Sets the generation the condition was computed from.
    pub fn with_observed_generation(mut self, generation: Option<i64>) -> Self {
        self.observed_generation = generation;
        self
    }

    /// Sets the transition time (tests, replays).
    pub fn at(mut self, time: Time) -> Self {
        self.last_transition_time = time;
        self
    }
}

/// The current time, truncated to the second as the API server stores it.
pub fn now() -> Time {
    let secs = Timestamp::now().as_second();
    Time(Timestamp::from_second(secs).expect("a whole second of the current time is in range"))
}

/// The condition of the given type, if present.
pub fn find<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// Whether the condition of the given type is present with status `True`.
pub fn is_true(conditions: &[Condition], type_: &str) -> bool {
    find(conditions, type_).is_some_and(|c| c.status == ConditionStatus::True)
}

/// Whether the condition of the given type is present with status `False`.
pub fn is_false(conditions: &[Condition], type_: &str) -> bool {
    find(conditions, type_).is_some_and(|c| c.status == ConditionStatus::False)
}

/// Whether the condition of the given type is absent or `Unknown`.
pub fn is_unknown(conditions: &[Condition], type_: &str) -> bool {
    find(conditions, type_).is_none_or(|c| c.status == ConditionStatus::Unknown)
}

/// Sets a condition, replacing any of the same type.
///
/// The existing `lastTransitionTime` is kept when the status does not change (reason, message
/// and observedGeneration are still updated); on a status change, or for a new condition, the
/// time given on `condition` is used. Conditions are kept in Flux's order: `Stalled`,
/// `Reconciling`, `Ready`, then the rest by type. Returns whether anything changed.
pub fn set(conditions: &mut Vec<Condition>, mut condition: Condition) -> bool {
    let changed = match conditions.iter_mut().find(|c| c.type_ == condition.type_) {
        Some(existing) => {
            if existing.status == condition.status {
                condition.last_transition_time = existing.last_transition_time.clone();
            }
            let changed = *existing != condition;
            *existing = condition;
            changed
        }
        None => {
            conditions.push(condition);
            true
        }
    };
    conditions.sort_by(|a, b| order_key(&a.type_).cmp(&order_key(&b.type_)));
    changed
}

/// Removes the condition of the given type; returns whether one was there.
pub fn remove(conditions: &mut Vec<Condition>, type_: &str) -> bool {
    let before = conditions.len();
    conditions.retain(|c| c.type_ != type_);
    conditions.len() != before
}

/// Flux lists Stalled, Reconciling and Ready first (kubectl shows the first), then the rest sorted.
fn order_key(type_: &str) -> (u8, &str) {
    match type_ {
        types::STALLED => (0, ""),
        types::RECONCILING => (1, ""),
        types::READY => (2, ""),
        other => (3, other),
    }
}

/// Access to an object's status conditions, for the Flux-style marking helpers.
///
/// Implemented by every kind that has a status; [`ConditionsExt`] adds the helpers.
pub trait HasConditions {
    /// The conditions (empty when there is no status yet).
    fn conditions(&self) -> &[Condition];
    /// The conditions, creating an empty status first if needed.
    fn conditions_mut(&mut self) -> &mut Vec<Condition>;
    /// `metadata.generation`, recorded on every condition set through [`ConditionsExt`].
    fn generation(&self) -> Option<i64>;
}

/// Flux's condition helpers (`MarkTrue`, `MarkFalse`, `MarkReconciling`, `MarkStalled`, …) for any
/// object with conditions.
pub trait ConditionsExt: HasConditions {
    /// The condition of the given type.
    fn condition(&self, type_: &str) -> Option<&Condition> {
        find(self.conditions(), type_)
    }

    /// Sets a condition stamped with the object's generation (see [`set`]).
    fn set_condition(
        &mut self,
        type_: &str,
        status: ConditionStatus,
        reason: &str,
        message: &str,
    ) -> bool {
        let condition = Condition::new(type_, status, reason, message)
            .with_observed_generation(self.generation());
        set(self.conditions_mut(), condition)
    }

    /// Sets the condition to `True`.
    fn mark_true(&mut self, type_: &str, reason: &str, message: &str) -> bool {
        self.set_condition(type_, ConditionStatus::True, reason, message)
    }

    /// Sets the condition to `False`.
    fn mark_false(&mut self, type_: &str, reason: &str, message: &str) -> bool {
        self.set_condition(type_, ConditionStatus::False, reason, message)
    }

    /// Sets the condition to `Unknown`.
    fn mark_unknown(&mut self, type_: &str, reason: &str, message: &str) -> bool {
        self.set_condition(type_, ConditionStatus::Unknown, reason, message)
    }

    /// Sets `Reconciling=True` and removes `Stalled`, as at the start of a reconcile.
    fn mark_reconciling(&mut self, reason: &str, message: &str) -> bool {
        let removed = remove(self.conditions_mut(), types::STALLED);
        self.mark_true(types::RECONCILING, reason, message) || removed
    }

    /// Sets `Stalled=True` and removes `Reconciling`, for failures that need a spec change.
    fn mark_stalled(&mut self, reason: &str, message: &str) -> bool {
        let removed = remove(self.conditions_mut(), types::RECONCILING);
        self.mark_true(types::STALLED, reason, message) || removed
    }

    /// Removes the condition of the given type.
    fn remove_condition(&mut self, type_: &str) -> bool {
        remove(self.conditions_mut(), type_)
    }

    /// `Ready=True`.
    fn is_ready(&self) -> bool {
        is_true(self.conditions(), types::READY)
    }

    /// `Stalled=True`.
    fn is_stalled(&self) -> bool {
        is_true(self.conditions(), types::STALLED)
    }

    /// `Reconciling=True`.
    fn is_reconciling(&self) -> bool {
        is_true(self.conditions(), types::RECONCILING)
    }
}

impl<T: HasConditions + ?Sized> ConditionsExt for T {}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Time {
        Time(Timestamp::from_second(secs).expect("valid"))
    }

    #[test]
    fn serialises_like_metav1() {
        let c = Condition::new(types::READY, ConditionStatus::True, "Succeeded", "")
            .at(at(0))
            .with_observed_generation(Some(2));
        assert_eq!(
            serde_json::to_value(&c).expect("serialise"),
            serde_json::json!({"type": "Ready", "status": "True", "observedGeneration": 2,
                "lastTransitionTime": "1970-01-01T00:00:00Z", "reason": "Succeeded", "message": ""})
        );
    }
}
