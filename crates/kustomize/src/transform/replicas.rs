//! The replicas field: `spec/replicas` of the named workloads.

use serde_json::Value;

use super::{apply_specs, TransformError};
use crate::fieldspec::{CreateKind, FieldSpec};
use crate::resource::Resource;

/// Sets `count` on resources named `name` (current or any earlier name) of the specs' kinds.
/// No match at all is an error, as in kustomize.
pub fn run(
    resources: &mut [Resource],
    name: &str,
    count: i64,
    specs: &[FieldSpec],
) -> Result<(), TransformError> {
    let mut found = false;
    for fs in specs {
        for r in resources.iter_mut() {
            let hit = r
                .all_ids()
                .iter()
                .any(|id| id.name == name && id.gvk.is_selected(&fs.gvk));
            if !hit {
                continue;
            }
            found = true;
            apply_specs(
                r,
                std::slice::from_ref(fs),
                CreateKind::Scalar,
                &mut |v: &mut Value| {
                    *v = Value::from(count);
                    Ok(())
                },
            )?;
        }
    }
    if !found {
        let gvks: Vec<String> = specs.iter().map(|s| s.gvk.to_string()).collect();
        return Err(TransformError::Invalid(format!(
            "resource with name {name} does not match a config with the following GVK [{}]",
            gvks.join(" ")
        )));
    }
    Ok(())
}
