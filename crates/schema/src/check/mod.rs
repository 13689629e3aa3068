//! Structural-schema checking of one object, as the Kubernetes API server does for custom
//! resources: prune unknown fields, apply defaults, then validate types and value rules.
//!
//! The three passes run in the API server's order (decode-time pruning, defaulting, then
//! validation), so defaults are validated like any other value. Built-in kinds use the same
//! walk for unknown fields and type errors; their schema has no defaults, and a `null` is a
//! zero value there as in typed decoding.

mod default;
mod format;
mod prune;
mod validate;

use std::fmt;

use serde_json::Value;

use crate::typeref::TypeRef;

/// What [`check`] does besides validating.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckOptions {
    /// Remove unknown fields from the object (they are reported either way).
    pub prune_unknown: bool,
    /// Apply CRD `default:` values where a field is absent, or `null` and not nullable;
    /// drop non-nullable `null`s that have no default.
    pub apply_defaults: bool,
}

impl Default for CheckOptions {
    /// What the API server does on create/update: prune and default.
    fn default() -> Self {
        CheckOptions {
            prune_unknown: true,
            apply_defaults: true,
        }
    }
}

/// The kind of a [`FieldError`], as the API server's `StatusCause.reason`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldErrorKind {
    /// Wrong type, pattern, format or bound (`FieldValueInvalid`).
    Invalid,
    /// A required field is missing (`FieldValueRequired`).
    Required,
    /// A value outside an `enum` (`FieldValueNotSupported`).
    NotSupported,
    /// A string over `maxLength` (`FieldValueTooLong`).
    TooLong,
    /// A list or object over `maxItems` / `maxProperties` (`FieldValueTooMany`).
    TooMany,
    /// A repeated set element or list-map key (`FieldValueDuplicate`).
    Duplicate,
    /// Something that must not be there (`FieldValueForbidden`; structural-schema rules).
    Forbidden,
}

impl FieldErrorKind {
    /// The `StatusCause.reason` the API server uses for this kind.
    pub fn reason(self) -> &'static str {
        match self {
            FieldErrorKind::Invalid => "FieldValueInvalid",
            FieldErrorKind::Required => "FieldValueRequired",
            FieldErrorKind::NotSupported => "FieldValueNotSupported",
            FieldErrorKind::TooLong => "FieldValueTooLong",
            FieldErrorKind::TooMany => "FieldValueTooMany",
            FieldErrorKind::Duplicate => "FieldValueDuplicate",
            FieldErrorKind::Forbidden => "FieldValueForbidden",
        }
    }
}

/// One validation failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Where: `spec.template.spec.containers[0].image` (list index in brackets, object and
    /// map keys after dots).
    pub path: String,
    /// What kind of failure.
    pub kind: FieldErrorKind,
    /// The cause as the API server words it, without the path, e.g.
    /// `Invalid value: "string": spec.replicas in body must be of type integer: "string"`
    /// or `Required value`.
    pub message: String,
}

impl fmt::Display for FieldError {
    /// `path: message`, as in the API server's 422 `Invalid` message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// The outcome of [`check`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Paths of fields the schema does not know, e.g. `spec.foo` (pruned when asked).
    pub unknown_fields: Vec<String>,
    /// Validation failures, in document order.
    pub errors: Vec<FieldError>,
}

impl CheckReport {
    /// No validation errors (unknown fields do not count: they are pruned or warned about).
    pub fn is_valid(&self) -> bool {
        self.errors.is_empty()
    }

    /// `unknown field "spec.foo"` for each unknown field: the words of the API server's
    /// `fieldValidation=Warn` warnings and `Strict` errors.
    pub fn unknown_field_messages(&self) -> Vec<String> {
        self.unknown_fields
            .iter()
            .map(|p| format!("unknown field {p:?}"))
            .collect()
    }
}

/// Checks `object` against `root` (a kind's or CRD version's root type): reports unknown
/// fields (removing them when `prune_unknown`), applies defaults when `apply_defaults`,
/// and validates types, required fields and value rules.
///
/// At a resource root (a CRD schema root, an embedded resource) `apiVersion`, `kind` and
/// `metadata` are always allowed; `metadata` is checked and pruned as `ObjectMeta`.
///
/// Objects nested deeper than [`MAX_DEPTH`] levels are not walked (the passes recurse);
/// the report then holds one error at the root.
pub fn check(root: TypeRef<'_>, object: &mut Value, options: &CheckOptions) -> CheckReport {
    let mut report = CheckReport::default();
    if deeper_than(object, MAX_DEPTH) {
        report.errors.push(FieldError {
            path: String::new(),
            kind: FieldErrorKind::Invalid,
            message: format!("Invalid value: nesting deeper than {MAX_DEPTH} levels"),
        });
        return report;
    }
    let mut path = String::new();
    prune::prune(root, object, &mut path, options, &mut report);
    if options.apply_defaults {
        default::default(root, object);
    }
    validate::validate(root, object, &mut path, &mut report);
    report
}

/// Deepest nesting [`check`] walks; real objects stay far below it.
pub const MAX_DEPTH: usize = 512;

/// Whether `v` nests deeper than `max` levels, measured without recursion.
pub(crate) fn deeper_than(v: &Value, max: usize) -> bool {
    let mut stack: Vec<(&Value, usize)> = vec![(v, 1)];
    while let Some((v, depth)) = stack.pop() {
        if depth > max {
            return true;
        }
        match v {
            Value::Object(map) => stack.extend(map.values().map(|c| (c, depth + 1))),
            Value::Array(items) => stack.extend(items.iter().map(|c| (c, depth + 1))),
            _ => {}
        }
    }
    false
}

/// Appends an object key to a path: `spec` + `replicas` → `spec.replicas`.
pub(crate) fn push_key(path: &mut String, key: &str) -> usize {
    let len = path.len();
    if !path.is_empty() {
        path.push('.');
    }
    path.push_str(key);
    len
}

/// Appends a list index to a path: `containers` + 0 → `containers[0]`.
pub(crate) fn push_index(path: &mut String, i: usize) -> usize {
    use std::fmt::Write;
    let len = path.len();
    let _ = write!(path, "[{i}]");
    len
}

#[cfg(test)]
mod tests;
