//! postBuild variable substitution as kustomize-controller runs it: per object, on its YAML text, re-parsed afterwards.

use std::collections::BTreeMap;

use serde_json::Value;

use super::envsubst::{self, EnvsubstError};

/// The label or annotation that turns substitution off for one object.
pub const SUBSTITUTE_KEY: &str = "kustomize.toolkit.fluxcd.io/substitute";

/// Options of [`substitute`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubstituteOptions {
    /// `--feature-gates=StrictPostBuildSubstitutions=true`: a variable used without a default
    /// and missing from the vars is an error instead of expanding to "".
    pub strict: bool,
}

/// Why substitution failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubstituteError {
    /// A variable name (from postBuild.substitute or a substituteFrom source) is not a valid name.
    #[error("'{name}' var name is invalid, must match '^[_[:alpha:]][_[:alpha:][:digit:]]*$'; rename the key in postBuild.substitute or in the ConfigMap/Secret it comes from")]
    InvalidName {
        /// The name.
        name: String,
    },
    /// An object's text holds a malformed `${...}` expression.
    #[error("{object}: variable substitution failed: {message}; fix the expression, write '$${{' for a literal '${{', or annotate the object with {SUBSTITUTE_KEY}: disabled")]
    Syntax {
        /// `Kind/namespace/name` of the object.
        object: String,
        /// What the parser found.
        message: String,
    },
    /// Strict mode: a variable used without a default is not defined.
    #[error("{object}: variable '{var}' is not set and has no default (strict substitution); define it in postBuild.substitute or substituteFrom, or write ${{{var}:=default}}")]
    Undefined {
        /// `Kind/namespace/name` of the object.
        object: String,
        /// The variable.
        var: String,
    },
    /// The object's text no longer parses as YAML after substitution (a value broke its structure).
    #[error("{object}: the object is not valid YAML after variable substitution: {message}; check the values substituted into it (quote them in the manifest if they hold ':' or '#')")]
    Reparse {
        /// `Kind/namespace/name` of the object.
        object: String,
        /// The parser's message.
        message: String,
    },
}

/// Substitutes `vars` into each object as Flux's postBuild does: the object is printed as YAML,
/// `${var}` expressions are expanded in the text (see the envsubst rules), and the text is
/// parsed again, so a value like `8080` or `true` becomes a number or a boolean where it stands
/// unquoted. Newlines are removed from values (as Flux does when it loads them). Objects
/// labelled or annotated `kustomize.toolkit.fluxcd.io/substitute: disabled` are left alone.
/// With no vars at all nothing is touched (Flux skips substitution then, even in strict mode).
pub fn substitute(
    objects: &mut [Value],
    vars: &BTreeMap<String, String>,
    opts: &SubstituteOptions,
) -> Result<(), SubstituteError> {
    if vars.is_empty() {
        return Ok(());
    }
    let vars: BTreeMap<&str, String> = vars
        .iter()
        .map(|(k, v)| (k.as_str(), v.replace('\n', "")))
        .collect();
    let mut names_checked = false;
    for obj in objects.iter_mut() {
        if disabled(obj) {
            continue;
        }
        // Flux checks the names for each object it substitutes, so only when there is one.
        if !names_checked {
            if let Some(bad) = vars.keys().find(|k| !valid_name(k)) {
                return Err(SubstituteError::InvalidName {
                    name: bad.to_string(),
                });
            }
            names_checked = true;
        }
        let text = flotilla_yaml::to_string(obj);
        if !text.contains('$') {
            continue;
        }
        let out =
            envsubst::eval(&text, &|k| vars.get(k).cloned(), opts.strict).map_err(|e| match e {
                EnvsubstError::NotSet(var) => SubstituteError::Undefined {
                    object: describe(obj),
                    var,
                },
                EnvsubstError::Syntax(m) => SubstituteError::Syntax {
                    object: describe(obj),
                    message: m.to_string(),
                },
            })?;
        if out == text {
            continue;
        }
        // sigs.k8s.io/yaml (go-yaml v2) reads the result: YAML 1.1 booleans, timestamps as text.
        let parse = flotilla_yaml::ParseOptions {
            yaml11: true,
            kyaml_round_trip: false,
            ..flotilla_yaml::ParseOptions::default()
        };
        let parsed =
            flotilla_yaml::from_str_with(&out, &parse).map_err(|e| SubstituteError::Reparse {
                object: describe(obj),
                message: e.to_string(),
            })?;
        if !parsed.is_object() {
            return Err(SubstituteError::Reparse {
                object: describe(obj),
                message: "the result is not a mapping".into(),
            });
        }
        *obj = parsed;
    }
    Ok(())
}

fn disabled(obj: &Value) -> bool {
    ["labels", "annotations"].iter().any(|f| {
        obj.get("metadata")
            .and_then(|m| m.get(f))
            .and_then(|m| m.get(SUBSTITUTE_KEY))
            .and_then(Value::as_str)
            == Some("disabled")
    })
}

/// `^[_[:alpha:]][_[:alpha:][:digit:]]*$` (POSIX classes: ASCII only).
fn valid_name(name: &str) -> bool {
    let mut cs = name.chars();
    cs.next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && cs.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// `Kind/namespace/name` (or `Kind/name` for cluster-scoped objects).
fn describe(obj: &Value) -> String {
    let s = |p: &str| obj.pointer(p).and_then(Value::as_str).unwrap_or("");
    let kind = s("/kind");
    let ns = s("/metadata/namespace");
    let name = s("/metadata/name");
    if ns.is_empty() {
        format!("{kind}/{name}")
    } else {
        format!("{kind}/{ns}/{name}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn vars(v: &[(&str, &str)]) -> BTreeMap<String, String> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn names_are_checked() {
        assert!(valid_name("_a1"));
        assert!(valid_name("cluster_env"));
        assert!(!valid_name("1a"));
        assert!(!valid_name("a-b"));
        assert!(!valid_name(""));
        assert!(!valid_name("é"));
    }

    #[test]
    fn invalid_name_only_matters_when_something_is_substituted() {
        let mut objs = vec![json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "a", "annotations": {SUBSTITUTE_KEY: "disabled"}}})];
        let v = vars(&[("bad-name", "x")]);
        substitute(&mut objs, &v, &SubstituteOptions::default()).expect("skipped object");
        objs.push(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}));
        let err = substitute(&mut objs, &v, &SubstituteOptions::default()).expect_err("bad name");
        assert_eq!(
            err,
            SubstituteError::InvalidName {
                name: "bad-name".into()
            }
        );
    }

    #[test]
    fn errors_name_the_object() {
        let mut objs = vec![json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "apps"}, "spec": {"replicas": "${count}"}})];
        let err = substitute(
            &mut objs,
            &vars(&[("other", "1")]),
            &SubstituteOptions { strict: true },
        )
        .expect_err("strict");
        assert_eq!(
            err,
            SubstituteError::Undefined {
                object: "Deployment/apps/web".into(),
                var: "count".into()
            }
        );
        assert!(err.to_string().contains("Deployment/apps/web"), "{err}");
    }
}
