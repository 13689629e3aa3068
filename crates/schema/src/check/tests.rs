//! Unit tests of pruning, defaulting and validation on small schemas and built-in kinds.

use serde_json::{json, Value};

use super::*;
use crate::schema::Schema;

fn crd_schema() -> Schema {
    Schema::from_openapi_v3(&json!({
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "spec": {
                "type": "object",
                "required": ["url"],
                "properties": {
                    "url": {"type": "string", "pattern": "^(http|https|ssh)://.*$"},
                    "interval": {"type": "string", "default": "1m"},
                    "replicas": {"type": "integer", "minimum": 0, "maximum": 10},
                    "mode": {"type": "string", "enum": ["a", "b"], "default": "a"},
                    "name": {"type": "string", "maxLength": 5, "minLength": 1},
                    "ref": {
                        "type": "object",
                        "properties": {
                            "branch": {"type": "string", "default": "main"},
                            "tag": {"type": "string"}
                        }
                    },
                    "nullableThing": {"type": "string", "nullable": true},
                    "port": {"x-kubernetes-int-or-string": true},
                    "values": {"x-kubernetes-preserve-unknown-fields": true},
                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                    "items": {
                        "type": "array",
                        "maxItems": 3,
                        "x-kubernetes-list-type": "map",
                        "x-kubernetes-list-map-keys": ["name"],
                        "items": {
                            "type": "object",
                            "required": ["name"],
                            "properties": {
                                "name": {"type": "string"},
                                "weight": {"type": "integer", "default": 1}
                            }
                        }
                    },
                    "when": {"type": "string", "format": "date-time"},
                    "template": {
                        "type": "object",
                        "x-kubernetes-embedded-resource": true,
                        "x-kubernetes-preserve-unknown-fields": true
                    }
                }
            },
            "status": {"type": "object", "properties": {"ok": {"type": "boolean"}}}
        }
    }))
    .expect("test schema is structural")
}

fn run(schema: &Schema, object: &mut Value) -> CheckReport {
    let root = schema.root().expect("v3 schema has a root");
    check(root, object, &CheckOptions::default())
}

fn messages(report: &CheckReport) -> Vec<String> {
    report.errors.iter().map(ToString::to_string).collect()
}

#[test]
fn valid_object_gets_defaults() {
    let s = crd_schema();
    let mut obj = json!({
        "apiVersion": "example.com/v1", "kind": "Thing",
        "metadata": {"name": "x", "labels": {"a": "b"}},
        "spec": {"url": "https://example.com", "ref": {}, "items": [{"name": "a"}]}
    });
    let report = run(&s, &mut obj);
    assert!(report.is_valid(), "{:?}", messages(&report));
    assert!(report.unknown_fields.is_empty());
    assert_eq!(obj["spec"]["interval"], "1m");
    assert_eq!(obj["spec"]["mode"], "a");
    assert_eq!(obj["spec"]["ref"]["branch"], "main");
    assert_eq!(obj["spec"]["items"][0]["weight"], 1);
    assert!(obj["spec"].get("tag").is_none());
    assert_eq!(obj["metadata"]["labels"]["a"], "b");
}

#[test]
fn no_defaults_when_not_asked() {
    let s = crd_schema();
    let mut obj = json!({"spec": {"url": "https://x"}});
    let options = CheckOptions {
        prune_unknown: true,
        apply_defaults: false,
    };
    let report = check(s.root().expect("root"), &mut obj, &options);
    assert!(report.is_valid());
    assert!(obj["spec"].get("interval").is_none());
}

#[test]
fn unknown_fields_reported_and_pruned() {
    let s = crd_schema();
    let mut obj = json!({
        "apiVersion": "example.com/v1", "kind": "Thing",
        "metadata": {"name": "x", "bogus": 1},
        "spec": {
            "url": "https://x", "foo": 1,
            "ref": {"commit": "abc"},
            "items": [{"name": "a", "extra": true}],
            "values": {"anything": {"goes": [1, 2]}},
            "template": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "junk": 1}, "spec": {"x": 1}}
        },
        "top": 1
    });
    let report = run(&s, &mut obj);
    let mut unknown = report.unknown_fields.clone();
    unknown.sort();
    assert_eq!(
        unknown,
        [
            "metadata.bogus",
            "spec.foo",
            "spec.items[0].extra",
            "spec.ref.commit",
            "spec.template.metadata.junk",
            "top"
        ]
    );
    assert_eq!(
        report.unknown_field_messages()[0],
        format!("unknown field {:?}", report.unknown_fields[0])
    );
    assert!(obj.get("top").is_none());
    assert!(obj["metadata"].get("bogus").is_none());
    assert!(obj["spec"].get("foo").is_none());
    assert!(obj["spec"]["ref"].get("commit").is_none());
    assert!(obj["spec"]["items"][0].get("extra").is_none());
    assert_eq!(obj["spec"]["values"]["anything"]["goes"][1], 2);
    assert_eq!(obj["spec"]["template"]["spec"]["x"], 1);
    assert!(obj["spec"]["template"]["metadata"].get("junk").is_none());
    assert_eq!(obj["spec"]["template"]["metadata"]["name"], "p");
}

#[test]
fn unknown_fields_kept_without_pruning() {
    let s = crd_schema();
    let mut obj = json!({"spec": {"url": "https://x", "foo": 1}});
    let options = CheckOptions {
        prune_unknown: false,
        apply_defaults: true,
    };
    let report = check(s.root().expect("root"), &mut obj, &options);
    assert_eq!(report.unknown_fields, ["spec.foo"]);
    assert_eq!(obj["spec"]["foo"], 1);
}

#[test]
fn type_and_value_errors_worded_like_the_api_server() {
    let s = crd_schema();
    let mut obj = json!({
        "spec": {
            "replicas": "string",
            "mode": "c",
            "name": "toolongname",
            "ref": "main",
            "port": true,
            "when": "yesterday",
            "labels": {"a": 1},
            "items": [{"name": "a"}, {"name": "a"}, {}, {"name": "d"}],
            "template": {"spec": {}}
        },
        "status": {"ok": "yes"}
    });
    let report = run(&s, &mut obj);
    let mut got = messages(&report);
    got.sort();
    let mut want = vec![
        r#"spec.url: Required value"#,
        r#"spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string""#,
        r#"spec.mode: Unsupported value: "c": supported values: "a", "b""#,
        r#"spec.name: Too long: may not be longer than 5"#,
        r#"spec.ref: Invalid value: "string": spec.ref in body must be of type object: "string""#,
        r#"spec.port: Invalid value: "boolean": spec.port in body must be of type integer,string: "boolean""#,
        r#"spec.when: Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday""#,
        r#"spec.labels.a: Invalid value: "integer": spec.labels.a in body must be of type string: "integer""#,
        r#"spec.items: Too many: 4: must have at most 3 items"#,
        r#"spec.items[1]: Duplicate value: map[string]interface {}{"name":"a"}"#,
        r#"spec.items[2].name: Required value"#,
        r#"spec.template.apiVersion: Required value"#,
        r#"spec.template.kind: Required value"#,
        r#"status.ok: Invalid value: "string": status.ok in body must be of type boolean: "string""#,
    ];
    want.sort();
    assert_eq!(got, want);
    assert_eq!(report.errors[0].kind.reason(), "FieldValueRequired");
}

#[test]
fn bounds_and_patterns() {
    let s = crd_schema();
    let mut obj = json!({"spec": {"url": "ftp://x", "replicas": 11, "name": ""}});
    let mut got = messages(&run(&s, &mut obj));
    got.sort();
    assert_eq!(
        got,
        [
            r#"spec.name: Invalid value: "": spec.name in body should be at least 1 chars long"#,
            r#"spec.replicas: Invalid value: 11: spec.replicas in body should be less than or equal to 10"#,
            r#"spec.url: Invalid value: "ftp://x": spec.url in body should match '^(http|https|ssh)://.*$'"#,
        ]
    );
    let mut obj = json!({"spec": {"url": "ssh://x", "replicas": -1}});
    let got = messages(&run(&s, &mut obj));
    assert_eq!(
        got,
        [
            r#"spec.replicas: Invalid value: -1: spec.replicas in body should be greater than or equal to 0"#
        ]
    );
}

#[test]
fn nulls() {
    let s = crd_schema();
    // Non-nullable null with a default is defaulted; without one it is dropped;
    // nullable null is kept.
    let mut obj = json!({"spec": {"url": "https://x", "interval": null, "tag": null, "nullableThing": null, "replicas": null}});
    let report = run(&s, &mut obj);
    assert!(report.is_valid(), "{:?}", messages(&report));
    assert_eq!(obj["spec"]["interval"], "1m");
    assert!(obj["spec"].get("replicas").is_none());
    assert!(obj["spec"]["nullableThing"].is_null());
    // Without defaulting a non-nullable null is a type error.
    let mut obj = json!({"spec": {"url": "https://x", "replicas": null}});
    let options = CheckOptions {
        prune_unknown: true,
        apply_defaults: false,
    };
    let got = messages(&check(s.root().expect("root"), &mut obj, &options));
    assert_eq!(
        got,
        [
            r#"spec.replicas: Invalid value: "null": spec.replicas in body must be of type integer: "null""#
        ]
    );
}

#[test]
fn integral_floats_are_integers() {
    let s = crd_schema();
    let mut obj = json!({"spec": {"url": "https://x", "replicas": 2.0, "port": 8080}});
    assert!(run(&s, &mut obj).is_valid());
    let mut obj = json!({"spec": {"url": "https://x", "replicas": 2.5}});
    assert_eq!(
        messages(&run(&s, &mut obj)),
        [
            r#"spec.replicas: Invalid value: "number": spec.replicas in body must be of type integer: "number""#
        ]
    );
}

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}, "creationTimestamp": null},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{
                        "name": "web",
                        "image": "nginx:1.25",
                        "ports": [{"containerPort": 80}],
                        "resources": {"limits": {"cpu": 1, "memory": "128Mi"}}
                    }]
                }
            }
        }
    })
}

#[test]
fn builtin_deployment_valid() {
    let root = Schema::kubernetes()
        .for_kind("apps/v1", "Deployment")
        .expect("built in");
    let mut obj = deployment();
    let before = obj.clone();
    let report = check(root, &mut obj, &CheckOptions::default());
    assert!(report.is_valid(), "{:?}", messages(&report));
    assert!(
        report.unknown_fields.is_empty(),
        "{:?}",
        report.unknown_fields
    );
    assert_eq!(obj, before, "built-in kinds get no defaults");
}

#[test]
fn builtin_deployment_unknown_fields_and_type_errors() {
    let root = Schema::kubernetes()
        .for_kind("apps/v1", "Deployment")
        .expect("built in");
    let mut obj = deployment();
    obj["spec"]["replicas"] = json!("two");
    obj["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"] = json!(1);
    obj["spec"]["template"]["spec"]["containers"][0]["imag"] = json!("typo");
    obj["spec"]["foo"] = json!(true);
    let options = CheckOptions {
        prune_unknown: false,
        apply_defaults: false,
    };
    let report = check(root, &mut obj, &options);
    assert_eq!(
        report.unknown_fields,
        ["spec.foo", "spec.template.spec.containers[0].imag"]
    );
    assert_eq!(
        messages(&report),
        [
            r#"spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string""#,
            r#"spec.template.spec.containers[0].imagePullPolicy: Invalid value: "integer": spec.template.spec.containers[0].imagePullPolicy in body must be of type string: "integer""#,
        ]
    );
    assert_eq!(obj["spec"]["foo"], true, "not pruned when not asked");
}

#[test]
fn builtin_secret_data_is_base64() {
    let root = Schema::kubernetes()
        .for_kind("v1", "Secret")
        .expect("built in");
    let mut obj = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"},
        "data": {"ok": "aGVsbG8=", "bad": "not base64!"}, "stringData": {"x": "plain"}});
    let got = messages(&check(root, &mut obj, &CheckOptions::default()));
    assert_eq!(
        got,
        [
            r#"data.bad: Invalid value: "not base64!": data.bad in body must be of type byte: "not base64!""#
        ]
    );
}

#[test]
fn crd_metadata_restrictions_apply_on_top_of_object_meta() {
    let s = Schema::from_openapi_v3(&json!({
        "type": "object",
        "properties": {
            "metadata": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 3}}},
            "spec": {"type": "object"}
        }
    }))
    .expect("structural");
    let root = s.root().expect("root");
    let labels = root.field("metadata").and_then(|m| m.field("labels"));
    assert_eq!(labels.map(|l| l.shape()), Some(crate::Shape::Map));
    let mut obj =
        json!({"metadata": {"name": "toolong", "labels": {"a": "b"}, "x": 1}, "spec": {}});
    let report = run(&s, &mut obj);
    assert_eq!(
        messages(&report),
        ["metadata.name: Too long: may not be longer than 3"]
    );
    assert_eq!(report.unknown_fields, ["metadata.x"]);
    assert_eq!(obj["metadata"]["labels"]["a"], "b");
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    let root = Schema::kubernetes()
        .for_kind("apiextensions.k8s.io/v1", "CustomResourceDefinition")
        .expect("built in");
    // JSONSchemaProps refers to itself, so the schema follows the object all the way down.
    let mut props = json!({"type": "string"});
    for _ in 0..MAX_DEPTH {
        let mut properties = serde_json::Map::new();
        properties.insert("x".to_string(), props);
        let mut wrapper = serde_json::Map::new();
        wrapper.insert("type".to_string(), Value::from("object"));
        wrapper.insert("properties".to_string(), Value::Object(properties));
        props = Value::Object(wrapper);
    }
    let mut schema = serde_json::Map::new();
    schema.insert("openAPIV3Schema".to_string(), props);
    let mut obj = json!({"spec": {"versions": [{"schema": {}}]}});
    obj["spec"]["versions"][0]["schema"] = Value::Object(schema);
    let report = check(root, &mut obj, &CheckOptions::default());
    assert_eq!(report.errors.len(), 1);
    assert!(report.errors[0].message.contains("nesting deeper than"));
    let mut shallow = json!({"spec": {"versions": [{"schema": {"openAPIV3Schema":
        {"type": "object", "properties": {"x": {"type": "string"}}}}}]}});
    assert!(check(root, &mut shallow, &CheckOptions::default()).is_valid());
}

#[test]
fn embedded_type_meta() {
    let s = crd_schema();
    let mut obj = json!({"spec": {"url": "https://x", "template": {"apiVersion": "a/b/c", "kind": "Not_A_Kind"}}});
    let mut got = messages(&run(&s, &mut obj));
    got.sort();
    assert_eq!(
        got,
        [
            r#"spec.template.apiVersion: Invalid value: "a/b/c": unexpected GroupVersion string: a/b/c"#,
            r#"spec.template.kind: Invalid value: "Not_A_Kind": may have mixed case, but should otherwise match: a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')"#,
        ]
    );
    let mut obj = json!({"spec": {"url": "https://x", "template": {"apiVersion": "", "kind": 3}}});
    let mut got = messages(&run(&s, &mut obj));
    got.sort();
    assert_eq!(
        got,
        [
            r#"spec.template.apiVersion: Invalid value: "": must not be empty"#,
            r#"spec.template.kind: Invalid value: 3: must be a string"#,
        ]
    );
    let mut obj = json!({"spec": {"url": "https://x", "template": {"apiVersion": "apps/v1", "kind": "Deployment"}}});
    assert!(run(&s, &mut obj).is_valid());
}
