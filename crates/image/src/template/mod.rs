//! Commit message templates: the part of Go's text/template (and Sprig's string functions) that Flux users write, over Flux's documented template data.
//!
//! Supported: `{{ pipeline }}` with field chains on `.`/`$`/`$var`, string/number/bool
//! literals, parentheses and `|`; `if`/`else if`/`else`/`end`, `range` (with `$v :=` or
//! `$k, $v :=`, and `else`), `with`, `$x := ...`, `{{- -}}` trimming, `{{/* comments */}}`.
//! Functions: Go's `and or not eq ne lt le gt ge len index print printf println` and Sprig's
//! `lower upper title trim trimPrefix trimSuffix trimAll replace contains hasPrefix hasSuffix
//! join split quote squote default trunc first last nospace repeat cat toString`.
//! Maps range in sorted key order, as Go does.

mod exec;
mod parse;

use std::collections::BTreeMap;

use crate::setters::{Change, ObjectId, UpdateResult};

/// Flux's default commit message when `messageTemplate` is empty.
pub const DEFAULT_MESSAGE: &str = "Update from image update automation";

/// A template value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Missing (Go prints `<no value>`).
    Nil,
    /// A string.
    Str(String),
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A list.
    List(Vec<Value>),
    /// A map, keys in sorted order.
    Map(Vec<(Value, Value)>),
    /// A struct: named fields, and how it prints (Go's `String()` or `{f1 f2}`).
    Struct(Vec<(&'static str, Value)>, String),
}

/// Why a template cannot be parsed or run (a spec error: the automation stalls).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The template text is malformed.
    #[error("spec.git.commit.messageTemplate: {0}")]
    Parse(String),
    /// Evaluation failed (missing field, bad function arguments).
    #[error("spec.git.commit.messageTemplate: {0}")]
    Exec(String),
}

/// The data Flux gives the template: `.AutomationObject`, `.Changed`, `.Values`.
pub fn template_data(
    namespace: &str,
    name: &str,
    changed: &UpdateResult,
    values: &BTreeMap<String, String>,
) -> Value {
    let automation = Value::Struct(
        vec![("Name", s(name)), ("Namespace", s(namespace))],
        format!("{namespace}/{name}"),
    );
    let objects_map = |m: &BTreeMap<ObjectId, Vec<Change>>| {
        Value::Map(
            m.iter()
                .map(|(id, ch)| {
                    (
                        object_value(id),
                        Value::List(ch.iter().map(change_value).collect()),
                    )
                })
                .collect(),
        )
    };
    let file_changes = Value::Map(
        changed
            .file_changes
            .iter()
            .map(|(f, objs)| (s(f), objects_map(objs)))
            .collect(),
    );
    let changed_v = Value::Struct(
        vec![
            ("FileChanges", file_changes),
            (
                "Changes",
                Value::List(changed.changes().iter().map(change_value).collect()),
            ),
            ("Objects", objects_map(&changed.objects())),
        ],
        "{map[...]}".to_string(),
    );
    let values = Value::Map(values.iter().map(|(k, v)| (s(k), s(v))).collect());
    Value::Struct(
        vec![
            ("AutomationObject", automation),
            ("Changed", changed_v),
            ("Values", values),
        ],
        String::new(),
    )
}

fn s(v: &str) -> Value {
    Value::Str(v.to_string())
}

fn object_value(id: &ObjectId) -> Value {
    Value::Struct(
        vec![
            ("Name", s(&id.name)),
            ("Namespace", s(&id.namespace)),
            ("APIVersion", s(&id.api_version)),
            ("Kind", s(&id.kind)),
        ],
        format!(
            "{{{{{} {}}} {{{} {}}}}}",
            id.api_version, id.kind, id.name, id.namespace
        ),
    )
}

fn change_value(c: &Change) -> Value {
    Value::Struct(
        vec![
            ("OldValue", s(&c.old_value)),
            ("NewValue", s(&c.new_value)),
            ("Setter", s(&c.setter)),
        ],
        format!("{{{} {} {}}}", c.old_value, c.new_value, c.setter),
    )
}

/// Renders `template` over `data`; an empty template gives [`DEFAULT_MESSAGE`].
pub fn render(template: &str, data: &Value) -> Result<String, TemplateError> {
    if template.trim().is_empty() {
        return Ok(DEFAULT_MESSAGE.to_string());
    }
    let nodes = parse::parse(template)?;
    let mut out = String::new();
    let mut vars = vec![("$".to_string(), data.clone())];
    exec::exec(&nodes, data, &mut vars, &mut out)?;
    Ok(out)
}

/// How Go's fmt prints a value with `%v`.
pub fn display(v: &Value) -> String {
    match v {
        Value::Nil => "<no value>".to_string(),
        Value::Str(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i) => i.to_string(),
        Value::List(l) => format!("[{}]", l.iter().map(display).collect::<Vec<_>>().join(" ")),
        Value::Map(m) => format!(
            "map[{}]",
            m.iter()
                .map(|(k, v)| format!("{}:{}", display(k), display(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Value::Struct(_, shown) => shown.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data() -> Value {
        let mut r = UpdateResult::default();
        let id = ObjectId {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            name: "front-end".into(),
            namespace: "sock-shop".into(),
        };
        r.file_changes
            .entry("deploy/a.yaml".into())
            .or_default()
            .insert(
                id,
                vec![Change {
                    old_value: "0.3.13-rc1".into(),
                    new_value: "0.3.13-rc3".into(),
                    setter: "sock-shop:front-end:tag".into(),
                }],
            );
        let mut values = BTreeMap::new();
        values.insert("cluster".to_string(), "prod".to_string());
        template_data("flux-system", "auto", &r, &values)
    }

    #[test]
    fn flux_documented_templates() {
        // Go's trim markers: `{{ end -}}` also eats the blank line before "Objects:".
        let t = "Automated image update\n\nAutomation name: {{ .AutomationObject }}\n\nFiles:\n{{ range $filename, $_ := .Changed.FileChanges -}}\n- {{ $filename }}\n{{ end -}}\n\nObjects:\n{{ range $resource, $changes := .Changed.Objects -}}\n- {{ $resource.Kind }} {{ $resource.Name }}\n  Changes:\n{{- range $_, $change := $changes }}\n    - {{ $change.OldValue }} -> {{ $change.NewValue }}\n{{ end -}}\n{{ end -}}\n";
        let got = render(t, &data()).expect("renders");
        assert_eq!(
            got,
            "Automated image update\n\nAutomation name: flux-system/auto\n\nFiles:\n- deploy/a.yaml\nObjects:\n- Deployment front-end\n  Changes:\n    - 0.3.13-rc1 -> 0.3.13-rc3\n"
        );
        let t = "{{range .Changed.Changes}}{{print .NewValue}} {{end}}for {{ .Values.cluster | upper }}{{ if contains \"rc3\" (index .Changed.Changes 0).NewValue }} [rc]{{ else }} [final]{{ end }}";
        assert_eq!(
            render(t, &data()).expect("renders"),
            "0.3.13-rc3 for PROD [rc]"
        );
        assert_eq!(render("", &data()).expect("renders"), DEFAULT_MESSAGE);
        assert_eq!(
            render(
                "{{ printf \"%s/%s\" .AutomationObject.Namespace .AutomationObject.Name | lower }}",
                &data()
            )
            .expect("renders"),
            "flux-system/auto"
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let e = render("{{ range .Updated.Images }}{{.}}{{end}}", &data()).expect_err("fails");
        assert!(e.to_string().contains(".Changed"), "{e}");
        assert!(matches!(
            render("{{ if .X }}", &data()),
            Err(TemplateError::Parse(_))
        ));
        assert!(matches!(
            render("{{ nosuchfn . }}", &data()),
            Err(TemplateError::Parse(_))
        ));
        assert!(matches!(
            render("{{ .Nope }}", &data()),
            Err(TemplateError::Exec(_))
        ));
        assert_eq!(
            render("{{ .Values.missing }}", &data()).expect("renders"),
            "<no value>"
        );
        assert_eq!(render("a {{/* c */}} b", &data()).expect("renders"), "a  b");
    }
}
