//! The namespace transformer: `metadata.namespace` of namespaced objects, the namespace field specs, RoleBinding subjects named `default`.

use serde_json::Value;

use super::{apply_specs, check_unique_ids, TransformError};
use crate::fieldspec::{CreateKind, FieldSpec};
use crate::resource::Resource;

/// How RoleBinding subjects are updated (kustomize's `setRoleBindingSubjects`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SubjectMode {
    /// Only subjects named `default`.
    #[default]
    DefaultOnly,
    /// Every ServiceAccount subject.
    AllServiceAccounts,
    /// None.
    None,
}

/// Options of one namespace transformation.
#[derive(Debug, Clone, Default)]
pub struct NamespaceOptions {
    /// Only set where no namespace is set.
    pub unset_only: bool,
    /// RoleBinding subject handling.
    pub subjects: SubjectMode,
}

fn setter<'a>(
    ns: &'a str,
    unset_only: bool,
) -> impl FnMut(&mut Value) -> Result<(), TransformError> + 'a {
    move |v: &mut Value| {
        if unset_only && !matches!(v, Value::Null) && v.as_str() != Some("") {
            return Ok(());
        }
        *v = Value::String(ns.to_string());
        Ok(())
    }
}

/// Moves every object into `ns`.
pub fn run(
    resources: &mut [Resource],
    ns: &str,
    specs: &[FieldSpec],
    opts: &NamespaceOptions,
) -> Result<(), TransformError> {
    if ns.is_empty() {
        return Ok(());
    }
    // metadata/namespace is handled by scope below; a spec for it would also hit cluster kinds.
    let specs: Vec<FieldSpec> = specs
        .iter()
        .filter(|s| s.path != "metadata/namespace")
        .cloned()
        .collect();
    let meta_ns = [FieldSpec::any("metadata/namespace", true)];
    for r in resources.iter_mut() {
        if r.is_nil_or_empty() {
            continue;
        }
        r.store_previous_id();
        apply_specs(
            r,
            &specs,
            CreateKind::Scalar,
            &mut setter(ns, opts.unset_only),
        )?;
        if !r.gvk().is_cluster_scoped() {
            apply_specs(
                r,
                &meta_ns,
                CreateKind::Scalar,
                &mut setter(ns, opts.unset_only),
            )?;
        }
        let kind = r.kind().to_string();
        if (kind == "RoleBinding" || kind == "ClusterRoleBinding")
            && opts.subjects != SubjectMode::None
        {
            if let Some(Value::Array(subjects)) = r.obj.get_mut("subjects") {
                for s in subjects.iter_mut() {
                    let Some(m) = s.as_object_mut() else { continue };
                    let pick = match opts.subjects {
                        SubjectMode::DefaultOnly => {
                            m.get("name").and_then(Value::as_str) == Some("default")
                        }
                        SubjectMode::AllServiceAccounts => {
                            m.get("kind").and_then(Value::as_str) == Some("ServiceAccount")
                        }
                        SubjectMode::None => false,
                    };
                    if pick {
                        let cur = m.entry("namespace").or_insert(Value::String(String::new()));
                        setter(ns, opts.unset_only)(cur)?;
                    }
                }
            }
        }
    }
    check_unique_ids(resources, "namespace transformation")
}
