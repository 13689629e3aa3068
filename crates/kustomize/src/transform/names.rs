//! namePrefix and nameSuffix: the name field specs, recorded so name references can follow.

use serde_json::Value;

use super::{apply_specs, TransformError};
use crate::fieldspec::{CreateKind, FieldSpec};
use crate::resource::{Gvk, Resource};

/// Kinds whose names must not change (kustomize hard-codes them).
fn skipped(gvk: &Gvk) -> bool {
    gvk.kind == "CustomResourceDefinition"
        || (gvk.group == "apiregistration.k8s.io" && gvk.kind == "APIService")
        || gvk.kind == "Namespace"
}

/// Adds `prefix` (or `suffix` when `is_suffix`) to the names the specs select.
pub fn run(
    resources: &mut [Resource],
    affix: &str,
    is_suffix: bool,
    specs: &[FieldSpec],
) -> Result<(), TransformError> {
    if affix.is_empty() {
        return Ok(());
    }
    for r in resources.iter_mut() {
        let org = r.org_id();
        if skipped(&org.gvk) {
            continue;
        }
        for fs in specs {
            if !org.gvk.is_selected(&fs.gvk) {
                continue;
            }
            if fs.path == "metadata/name" {
                if is_suffix {
                    r.suffixes.push(affix.to_string());
                } else {
                    r.prefixes.push(affix.to_string());
                }
                r.store_previous_id();
            }
            apply_specs(
                r,
                std::slice::from_ref(fs),
                CreateKind::Scalar,
                &mut |v: &mut Value| {
                    let cur = match &*v {
                        Value::String(s) => s.clone(),
                        Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    *v = Value::String(if is_suffix {
                        format!("{cur}{affix}")
                    } else {
                        format!("{affix}{cur}")
                    });
                    Ok(())
                },
            )?;
        }
    }
    Ok(())
}
