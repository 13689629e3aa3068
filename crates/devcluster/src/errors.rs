//! API errors rendered as metav1.Status objects with the HTTP code and reason kubectl expects.

use serde_json::{json, Value};

/// One field-level cause of an Invalid error (metav1.StatusCause).
#[derive(Debug, Clone)]
pub struct Cause {
    /// `FieldValueInvalid`, `FieldValueRequired`, `FieldValueNotSupported`, `FieldValueDuplicate`...
    pub reason: String,
    /// Dotted path of the field at fault, e.g. `metadata.name`.
    pub field: String,
    pub message: String,
}

/// Every failure a request can end in. Each variant maps to one Kubernetes `Status.reason`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request itself is malformed (body, query, path/body mismatch).
    #[error("{0}")]
    BadRequest(String),
    /// 401: no or a wrong bearer token.
    #[error("Unauthorized")]
    Unauthorized,
    /// 403: refused for a reason other than authorization (e.g. namespace terminating).
    #[error("{message}")]
    Forbidden {
        kind: String,
        name: String,
        message: String,
    },
    /// 404: the object, resource or path does not exist.
    #[error("{message}")]
    NotFound {
        group: String,
        kind: String,
        name: String,
        message: String,
    },
    /// 405: the verb is not supported on this resource.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 406: nothing we can answer with the requested Accept types.
    #[error("{0}")]
    NotAcceptable(String),
    /// 409: the object already exists.
    #[error("{message}")]
    AlreadyExists {
        group: String,
        kind: String,
        name: String,
        message: String,
    },
    /// 409: optimistic-concurrency or field-ownership conflict.
    #[error("{message}")]
    Conflict {
        group: String,
        kind: String,
        name: String,
        message: String,
        causes: Vec<Cause>,
    },
    /// 410: the requested resourceVersion is older than the kept event history.
    #[error("{0}")]
    Gone(String),
    /// 413: the request body is larger than the server accepts.
    #[error("{0}")]
    TooLarge(String),
    /// 415: a body content type the server cannot decode.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// 422: the object fails validation; causes name the fields.
    #[error("{message}")]
    Invalid {
        group: String,
        kind: String,
        name: String,
        message: String,
        causes: Vec<Cause>,
    },
    /// 500: a storage failure (disk full, I/O error).
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    pub fn not_found(group: &str, resource: &str, name: &str) -> ApiError {
        let what = if group.is_empty() {
            resource.to_string()
        } else {
            format!("{resource}.{group}")
        };
        ApiError::NotFound {
            group: group.into(),
            kind: resource.into(),
            name: name.into(),
            message: format!("{what} \"{name}\" not found"),
        }
    }

    pub fn already_exists(group: &str, resource: &str, name: &str) -> ApiError {
        let what = qualified(group, resource);
        ApiError::AlreadyExists {
            group: group.into(),
            kind: resource.into(),
            name: name.into(),
            message: format!("{what} \"{name}\" already exists"),
        }
    }

    pub fn conflict(group: &str, resource: &str, name: &str, why: &str) -> ApiError {
        let what = qualified(group, resource);
        ApiError::Conflict {
            group: group.into(),
            kind: resource.into(),
            name: name.into(),
            message: format!("Operation cannot be fulfilled on {what} \"{name}\": {why}"),
            causes: Vec::new(),
        }
    }

    /// 422 with causes; the message lists them as the real server does.
    pub fn invalid(group: &str, kind: &str, name: &str, causes: Vec<Cause>) -> ApiError {
        let list: Vec<String> = causes
            .iter()
            .map(|c| {
                if c.field.is_empty() {
                    c.message.clone()
                } else {
                    format!("{}: {}", c.field, c.message)
                }
            })
            .collect();
        let joined = if list.len() == 1 {
            list[0].clone()
        } else {
            format!("[{}]", list.join(", "))
        };
        ApiError::Invalid {
            group: group.into(),
            kind: kind.into(),
            name: name.into(),
            message: format!(
                "{kind}.{} \"{name}\" is invalid: {joined}",
                dot_group(group)
            )
            .replace(". \"", " \""),
            causes,
        }
    }

    pub fn invalid_field(group: &str, kind: &str, name: &str, field: &str, msg: &str) -> ApiError {
        ApiError::invalid(
            group,
            kind,
            name,
            vec![Cause {
                reason: "FieldValueInvalid".into(),
                field: field.into(),
                message: msg.into(),
            }],
        )
    }

    pub fn code(&self) -> u16 {
        match self {
            ApiError::BadRequest(_) => 400,
            ApiError::Unauthorized => 401,
            ApiError::Forbidden { .. } => 403,
            ApiError::NotFound { .. } => 404,
            ApiError::MethodNotAllowed(_) => 405,
            ApiError::NotAcceptable(_) => 406,
            ApiError::AlreadyExists { .. } | ApiError::Conflict { .. } => 409,
            ApiError::Gone(_) => 410,
            ApiError::TooLarge(_) => 413,
            ApiError::UnsupportedMediaType(_) => 415,
            ApiError::Invalid { .. } => 422,
            ApiError::Internal(_) => 500,
        }
    }

    pub fn reason(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "BadRequest",
            ApiError::Unauthorized => "Unauthorized",
            ApiError::Forbidden { .. } => "Forbidden",
            ApiError::NotFound { .. } => "NotFound",
            ApiError::MethodNotAllowed(_) => "MethodNotAllowed",
            ApiError::NotAcceptable(_) => "NotAcceptable",
            ApiError::AlreadyExists { .. } => "AlreadyExists",
            ApiError::Conflict { .. } => "Conflict",
            ApiError::Gone(_) => "Expired",
            ApiError::TooLarge(_) => "RequestEntityTooLarge",
            ApiError::UnsupportedMediaType(_) => "UnsupportedMediaType",
            ApiError::Invalid { .. } => "Invalid",
            ApiError::Internal(_) => "InternalError",
        }
    }

    /// The metav1.Status body.
    pub fn status(&self) -> Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.to_string(),
            "reason": self.reason(),
            "code": self.code(),
        });
        let details = match self {
            ApiError::NotFound {
                group, kind, name, ..
            }
            | ApiError::AlreadyExists {
                group, kind, name, ..
            } => Some(json!({"name": name, "group": group, "kind": kind})),
            ApiError::Forbidden { kind, name, .. } => Some(json!({"name": name, "kind": kind})),
            ApiError::Conflict {
                group,
                kind,
                name,
                causes,
                ..
            }
            | ApiError::Invalid {
                group,
                kind,
                name,
                causes,
                ..
            } => {
                let mut d = json!({"name": name, "group": group, "kind": kind});
                if !causes.is_empty() {
                    d["causes"] = causes
                        .iter()
                        .map(
                            |c| json!({"reason": c.reason, "message": c.message, "field": c.field}),
                        )
                        .collect();
                }
                Some(d)
            }
            _ => None,
        };
        if let Some(d) = details {
            status["details"] = d;
        }
        status
    }
}

fn qualified(group: &str, resource: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

fn dot_group(group: &str) -> &str {
    group
}
