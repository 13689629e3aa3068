//! Errors of apply, diff and delete: each names the object (`Kind/namespace/name`) and says
//! what the API server answered.

use crate::wait::WaitError;

/// Why an apply, diff, prune or delete failed. Apply stops at the first stage with an error:
/// objects of later stages are not sent.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// An input object lacks `apiVersion`, `kind` or `metadata.name`.
    #[error("object #{index} ({what}): {problem}; every object needs apiVersion, kind and metadata.name")]
    Malformed {
        /// Position in the input.
        index: usize,
        /// What is known of the object.
        what: String,
        /// What is missing.
        problem: String,
    },
    /// The API server serves no such kind at that apiVersion.
    #[error("{object}: the cluster serves no kind {kind} at {api_version} ({message}); install its CustomResourceDefinition first or fix apiVersion/kind")]
    UnknownKind {
        /// `Kind/namespace/name`.
        object: String,
        /// The object's apiVersion.
        api_version: String,
        /// The object's kind.
        kind: String,
        /// What discovery answered.
        message: String,
    },
    /// A namespaced object without `metadata.namespace`.
    #[error("{object}: {kind} is a namespaced kind but the object has no metadata.namespace; set one (or a target namespace)")]
    NamespaceRequired {
        /// `Kind/name`.
        object: String,
        /// The kind.
        kind: String,
    },
    /// Discovery itself failed (API server unreachable, 5xx, …).
    #[error("discovery of {api_version} failed: {message}")]
    Discovery {
        /// The apiVersion (or group) looked up.
        api_version: String,
        /// The client's error.
        message: String,
    },
    /// A request about one object failed.
    #[error("{object} {verb} failed: {message}")]
    Request {
        /// `Kind/namespace/name`.
        object: String,
        /// `dry-run`, `apply`, `get`, `delete`, `metadata cleanup`.
        verb: &'static str,
        /// The API server's reason (`Invalid`, `NotFound`, `Conflict`, …); empty if none.
        reason: String,
        /// HTTP status code; 0 if the request did not get an answer.
        code: u16,
        /// The API server's message (or the client's error).
        message: String,
    },
    /// An immutable field would change and neither the `force` option nor the object's
    /// `kustomize.toolkit.fluxcd.io/force: enabled` annotation allows recreating it.
    #[error("{object} dry-run failed: immutable field(s) changed ({fields}): {message}; annotate the object with kustomize.toolkit.fluxcd.io/force: enabled or set force to recreate it")]
    Immutable {
        /// `Kind/namespace/name`.
        object: String,
        /// The fields the API server named, comma separated.
        fields: String,
        /// The API server's message.
        message: String,
    },
    /// Stage one (CRDs, Namespaces, ClusterRoles) did not become ready; nothing else was applied.
    #[error("cluster definitions not ready, later stages not applied: {0}")]
    DefinitionsNotReady(#[source] WaitError),
    /// Several objects failed (delete continues past failures and reports them all).
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Several(Vec<ApplyError>),
}

impl ApplyError {
    pub(crate) fn request(object: &str, verb: &'static str, err: kube::Error) -> Self {
        match err {
            kube::Error::Api(status) => ApplyError::Request {
                object: object.to_string(),
                verb,
                reason: status.reason.clone(),
                code: status.code,
                message: status.message.clone(),
            },
            other => ApplyError::Request {
                object: object.to_string(),
                verb,
                reason: String::new(),
                code: 0,
                message: other.to_string(),
            },
        }
    }

    /// The API server's reason when a request was answered with an error status.
    pub fn reason(&self) -> Option<&str> {
        match self {
            ApplyError::Request { reason, .. } if !reason.is_empty() => Some(reason),
            _ => None,
        }
    }
}

/// Whether an API error says a field cannot change. Kubernetes answers 422 Invalid with
/// "field is immutable"; CEL rules and webhooks say "is immutable"/"immutable field".
pub(crate) fn immutable_fields(err: &kube::Error) -> Option<Vec<String>> {
    let kube::Error::Api(status) = err else {
        return None;
    };
    let says = |m: &str| m.contains("is immutable") || m.contains("immutable field");
    let mut fields: Vec<String> = status
        .details
        .iter()
        .flat_map(|d| d.causes.iter())
        .filter(|c| says(&c.message))
        .map(|c| c.field.clone())
        .filter(|f| !f.is_empty())
        .collect();
    if fields.is_empty() && !says(&status.message) {
        return None;
    }
    if !(status.is_invalid() || status.is_conflict() || says(&status.message)) {
        return None;
    }
    fields.dedup();
    Some(fields)
}

pub(crate) fn is_not_found(err: &kube::Error) -> bool {
    matches!(err, kube::Error::Api(s) if s.is_not_found())
}
