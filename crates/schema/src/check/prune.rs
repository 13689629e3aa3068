//! Pruning pass: report (and optionally remove) fields the schema does not know.

use serde_json::Value;

use super::{push_index, push_key, CheckOptions, CheckReport};
use crate::typeref::TypeRef;

pub(super) fn prune(
    t: TypeRef<'_>,
    v: &mut Value,
    path: &mut String,
    options: &CheckOptions,
    report: &mut CheckReport,
) {
    let node = t.target();
    match v {
        Value::Object(map) => {
            let mut unknown: Vec<String> = Vec::new();
            for (key, child) in map.iter_mut() {
                let len = push_key(path, key);
                // At a resource root `field` gives ObjectMeta for metadata whatever the CRD
                // says: ObjectMeta decoding keeps only ObjectMeta's fields.
                if let Some(field) = t.field(key) {
                    prune(field, child, path, options, report);
                } else if let Some(values) = t.values() {
                    prune(values, child, path, options, report);
                } else if !node.preserve_unknown {
                    report.unknown_fields.push(path.clone());
                    if options.prune_unknown {
                        unknown.push(key.clone());
                    }
                }
                path.truncate(len);
            }
            for key in unknown {
                map.remove(&key);
            }
        }
        Value::Array(items) => {
            if let Some(item_type) = t.items() {
                for (i, item) in items.iter_mut().enumerate() {
                    let len = push_index(path, i);
                    prune(item_type, item, path, options, report);
                    path.truncate(len);
                }
            }
        }
        _ => {}
    }
}
