//! Validation on every write: structural schemas of custom resources (pruning, defaults,
//! 422 causes), unknown fields of built-ins, and fieldValidation Strict/Warn/Ignore.

use serde_json::Value;

use crate::errors::{ApiError, Cause};
use crate::handlers::Req;
use crate::server::Ctx;

fn reason(kind: &flotilla_schema::FieldErrorKind) -> &'static str {
    use flotilla_schema::FieldErrorKind as K;
    match kind {
        K::Required => "FieldValueRequired",
        K::NotSupported => "FieldValueNotSupported",
        K::TooLong => "FieldValueTooLong",
        K::TooMany => "FieldValueTooMany",
        K::Duplicate => "FieldValueDuplicate",
        _ => "FieldValueInvalid",
    }
}

/// Prunes, defaults and checks custom resources; errors are 422 Invalid (schema) or 400
/// BadRequest (unknown fields under fieldValidation=Strict).
pub(crate) fn check(
    ctx: &Ctx,
    req: &Req,
    obj: &mut Value,
    old: Option<&Value>,
) -> Result<(), ApiError> {
    let _ = (ctx, old);
    let res = &req.res;
    let name = obj["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    if res.group == "apiextensions.k8s.io" && res.kind == "CustomResourceDefinition" {
        let causes = crate::crd::validate(obj);
        if !causes.is_empty() {
            return Err(ApiError::invalid(&res.group, &res.kind, &name, causes));
        }
    }
    let strict = req.q("fieldValidation") == Some("Strict");
    // Built-in kinds are not checked here: the embedded schema is v1.21.2's, and fields
    // added since would be reported or pruned wrongly. Custom resources get the full
    // structural-schema treatment.
    if res.crd.is_none() {
        return Ok(());
    }
    let Some(root) = res.schemas.get(&req.path.version).and_then(|s| s.root()) else {
        return Ok(());
    };
    let opts = flotilla_schema::CheckOptions {
        prune_unknown: true,
        apply_defaults: true,
    };
    let report = flotilla_schema::check(root, obj, &opts);
    if strict && !report.unknown_fields.is_empty() {
        let list: Vec<String> = report
            .unknown_fields
            .iter()
            .map(|f| format!("unknown field \"{f}\""))
            .collect();
        return Err(ApiError::BadRequest(format!(
            "{} in version \"{}\" cannot be handled as a {}: strict decoding error: {}",
            res.kind,
            req.api_version(),
            res.kind,
            list.join(", ")
        )));
    }
    if req.q("fieldValidation") != Some("Ignore") {
        for f in &report.unknown_fields {
            req.warn(format!("unknown field \"{f}\""));
        }
    }
    if !report.errors.is_empty() {
        let causes = report
            .errors
            .iter()
            .map(|e| Cause {
                reason: reason(&e.kind).into(),
                field: e.path.clone(),
                message: e.message.clone(),
            })
            .collect();
        return Err(ApiError::invalid(&res.group, &res.kind, &name, causes));
    }
    Ok(())
}
