//! Server-side apply checked against the multiple-appliers cases of structured-merge-diff (Kubernetes' implementation), on a CRD schema of the same shape.
//!
//! Each case is a sequence of applies and updates with the final object and every manager's
//! field set as structured-merge-diff's own tests (`merge/multiple_appliers_test.go`) expect
//! them; the schema mirrors the one those tests use (an associative list keyed by `name`,
//! a nested set list, a struct).
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};

use flotilla_merge::ssa::{self, ApplyOptions, SsaError, UpdateOptions};
use flotilla_schema::Schema;
use serde_json::{json, Map, Value};

fn schema() -> Schema {
    let assoc = |items: Value| {
        json!({"type": "array", "x-kubernetes-list-type": "map",
               "x-kubernetes-list-map-keys": ["name"], "items": items})
    };
    Schema::from_openapi_v3(&json!({
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"},
            "kind": {"type": "string"},
            "metadata": {"type": "object"},
            "list": assoc(json!({"type": "object", "properties": {
                "name": {"type": "string"}, "value": {"type": "integer"}}})),
            "listOfLists": assoc(json!({"type": "object", "properties": {
                "name": {"type": "string"},
                "value": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}}}})),
            "struct": {"type": "object", "properties": {
                "name": {"type": "string"},
                "scalarField": {"type": "string"},
                "complexField": {"type": "object", "properties": {"name": {"type": "string"}}}}}
        }
    }))
    .unwrap()
}

enum Op {
    Apply(&'static str, Value),
    Update(&'static str, Value),
}

fn object(fields: Value) -> Value {
    let mut obj =
        json!({"apiVersion": "example.com/v1", "kind": "Fixture", "metadata": {"name": "x"}});
    for (k, v) in fields.as_object().unwrap() {
        obj[k] = v.clone();
    }
    obj
}

/// Runs the operations; returns the final object and the conflicts each apply met.
fn run(ops: Vec<Op>) -> (Value, Vec<Vec<(String, String)>>) {
    let schema = schema();
    let ty = schema.root();
    let mut live: Option<Value> = None;
    let mut conflicts = Vec::new();
    for (i, op) in ops.into_iter().enumerate() {
        let time = format!("2026-11-26T10:00:{i:02}Z");
        match op {
            Op::Apply(manager, fields) => {
                let opts = ApplyOptions {
                    manager: manager.into(),
                    time,
                    ..ApplyOptions::default()
                };
                match ssa::apply(live.as_ref(), &object(fields), ty, &opts) {
                    Ok(v) => {
                        live = Some(v);
                        conflicts.push(Vec::new());
                    }
                    Err(SsaError::Conflict(c)) => conflicts.push(
                        c.conflicts
                            .into_iter()
                            .map(|c| (c.manager, c.field))
                            .collect(),
                    ),
                    Err(e) => panic!("apply failed: {e}"),
                }
            }
            Op::Update(manager, fields) => {
                let mut new = object(fields);
                let opts = UpdateOptions {
                    manager: manager.into(),
                    time,
                    ..UpdateOptions::default()
                };
                ssa::record_update(live.as_ref(), &mut new, ty, &opts).unwrap();
                live = Some(new);
                conflicts.push(Vec::new());
            }
        }
    }
    (live.unwrap(), conflicts)
}

/// Every manager's owned paths.
fn managers(obj: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut out = BTreeMap::new();
    for e in obj["metadata"]["managedFields"].as_array().unwrap() {
        let manager = e["manager"].as_str().unwrap();
        let operation = e["operation"].as_str().unwrap();
        let paths = ssa::owned_fields(obj, manager, operation).unwrap();
        out.insert(manager.to_string(), paths.into_iter().collect());
    }
    out
}

fn expect_managers(obj: &Value, expected: &[(&str, &[&str])]) {
    let want: BTreeMap<String, BTreeSet<String>> = expected
        .iter()
        .map(|(m, paths)| (m.to_string(), paths.iter().map(|p| p.to_string()).collect()))
        .collect();
    assert_eq!(managers(obj), want, "in {obj}");
}

fn content(obj: &Value) -> Value {
    let mut m: Map<String, Value> = obj.as_object().unwrap().clone();
    for k in ["apiVersion", "kind", "metadata"] {
        m.remove(k);
    }
    Value::Object(m)
}

#[test]
fn remove_one() {
    let (obj, _) = run(vec![
        Op::Apply("apply-one", json!({"list": [{"name": "a"}, {"name": "b"}]})),
        Op::Apply("apply-two", json!({"list": [{"name": "c"}]})),
        Op::Apply("apply-one", json!({"list": [{"name": "a"}]})),
    ]);
    assert_eq!(
        content(&obj),
        json!({"list": [{"name": "a"}, {"name": "c"}]})
    );
    expect_managers(
        &obj,
        &[
            (
                "apply-one",
                &[".list[name=\"a\"]", ".list[name=\"a\"].name"],
            ),
            (
                "apply-two",
                &[".list[name=\"c\"]", ".list[name=\"c\"].name"],
            ),
        ],
    );
}

#[test]
fn same_value_no_conflict() {
    let (obj, conflicts) = run(vec![
        Op::Apply("apply-one", json!({"list": [{"name": "a", "value": 0}]})),
        Op::Apply("apply-two", json!({"list": [{"name": "a", "value": 0}]})),
    ]);
    assert!(conflicts.iter().all(Vec::is_empty));
    assert_eq!(content(&obj), json!({"list": [{"name": "a", "value": 0}]}));
    let both: &[&str] = &[
        ".list[name=\"a\"]",
        ".list[name=\"a\"].name",
        ".list[name=\"a\"].value",
    ];
    expect_managers(&obj, &[("apply-one", both), ("apply-two", both)]);
}

#[test]
fn change_value_yes_conflict() {
    let (obj, conflicts) = run(vec![
        Op::Apply("apply-one", json!({"list": [{"name": "a", "value": 0}]})),
        Op::Apply("apply-two", json!({"list": [{"name": "a", "value": 1}]})),
    ]);
    assert_eq!(
        conflicts[1],
        vec![(
            "apply-one".to_string(),
            ".list[name=\"a\"].value".to_string()
        )]
    );
    assert_eq!(content(&obj), json!({"list": [{"name": "a", "value": 0}]}));
    expect_managers(
        &obj,
        &[(
            "apply-one",
            &[
                ".list[name=\"a\"]",
                ".list[name=\"a\"].name",
                ".list[name=\"a\"].value",
            ],
        )],
    );
}

#[test]
fn remove_one_keep_one() {
    let (obj, _) = run(vec![
        Op::Apply(
            "apply-one",
            json!({"list": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}),
        ),
        Op::Apply("apply-two", json!({"list": [{"name": "c"}, {"name": "d"}]})),
        Op::Apply("apply-one", json!({"list": [{"name": "a"}]})),
    ]);
    assert_eq!(
        content(&obj),
        json!({"list": [{"name": "a"}, {"name": "c"}, {"name": "d"}]})
    );
    expect_managers(
        &obj,
        &[
            (
                "apply-one",
                &[".list[name=\"a\"]", ".list[name=\"a\"].name"],
            ),
            (
                "apply-two",
                &[
                    ".list[name=\"c\"]",
                    ".list[name=\"c\"].name",
                    ".list[name=\"d\"]",
                    ".list[name=\"d\"].name",
                ],
            ),
        ],
    );
}

const ONE_A: &[&str] = &[".listOfLists[name=\"a\"]", ".listOfLists[name=\"a\"].name"];

#[test]
fn remove_one_keep_one_with_two_sub_items() {
    let (obj, _) = run(vec![
        Op::Apply(
            "apply-one",
            json!({"listOfLists": [{"name": "a"}, {"name": "b", "value": ["c"]}]}),
        ),
        Op::Apply(
            "apply-two",
            json!({"listOfLists": [{"name": "b", "value": ["d"]}]}),
        ),
        Op::Apply("apply-one", json!({"listOfLists": [{"name": "a"}]})),
    ]);
    assert_eq!(
        content(&obj),
        json!({"listOfLists": [{"name": "a"}, {"name": "b", "value": ["d"]}]})
    );
    expect_managers(
        &obj,
        &[
            ("apply-one", ONE_A),
            (
                "apply-two",
                &[
                    ".listOfLists[name=\"b\"]",
                    ".listOfLists[name=\"b\"].name",
                    ".listOfLists[name=\"b\"].value[=\"d\"]",
                ],
            ),
        ],
    );
}

#[test]
fn remove_one_keep_one_with_dangling_subitem() {
    let (obj, _) = run(vec![
        Op::Apply(
            "apply-one",
            json!({"listOfLists": [{"name": "a"}, {"name": "b", "value": ["c"]}]}),
        ),
        Op::Apply(
            "apply-two",
            json!({"listOfLists": [{"name": "b", "value": ["d"]}]}),
        ),
        Op::Update(
            "controller",
            json!({"listOfLists": [{"name": "a"}, {"name": "b", "value": ["c", "d", "e"]}]}),
        ),
        Op::Apply("apply-one", json!({"listOfLists": [{"name": "a"}]})),
    ]);
    assert_eq!(
        content(&obj),
        json!({"listOfLists": [{"name": "a"}, {"name": "b", "value": ["d", "e"]}]})
    );
    expect_managers(
        &obj,
        &[
            ("apply-one", ONE_A),
            (
                "apply-two",
                &[
                    ".listOfLists[name=\"b\"]",
                    ".listOfLists[name=\"b\"].name",
                    ".listOfLists[name=\"b\"].value[=\"d\"]",
                ],
            ),
            ("controller", &[".listOfLists[name=\"b\"].value[=\"e\"]"]),
        ],
    );
}

#[test]
fn remove_one_with_dangling_subitem_keep_one() {
    let (obj, _) = run(vec![
        Op::Apply(
            "apply-one",
            json!({"listOfLists": [{"name": "a"}, {"name": "b", "value": ["c"]}]}),
        ),
        Op::Apply(
            "apply-two",
            json!({"listOfLists": [{"name": "a", "value": ["b"]}]}),
        ),
        Op::Update(
            "controller",
            json!({"listOfLists": [{"name": "a", "value": ["b"]}, {"name": "b", "value": ["c", "d"]}]}),
        ),
        Op::Apply("apply-one", json!({"listOfLists": [{"name": "a"}]})),
    ]);
    assert_eq!(
        content(&obj),
        json!({"listOfLists": [{"name": "a", "value": ["b"]}]})
    );
    expect_managers(
        &obj,
        &[
            ("apply-one", ONE_A),
            (
                "apply-two",
                &[
                    ".listOfLists[name=\"a\"]",
                    ".listOfLists[name=\"a\"].name",
                    ".listOfLists[name=\"a\"].value[=\"b\"]",
                ],
            ),
        ],
    );
}

#[test]
fn unset_scalar_sole_owner() {
    let (obj, _) = run(vec![
        Op::Apply(
            "apply-one",
            json!({"struct": {"name": "a", "scalarField": "a"}}),
        ),
        Op::Apply("apply-one", json!({"struct": {"name": "a"}})),
    ]);
    assert_eq!(content(&obj), json!({"struct": {"name": "a"}}));
    expect_managers(&obj, &[("apply-one", &[".struct.name"])]);
}

#[test]
fn unset_scalar_shared_with_applier() {
    let (obj, _) = run(vec![
        Op::Apply(
            "apply-one",
            json!({"struct": {"name": "a", "scalarField": "a"}}),
        ),
        Op::Apply("apply-two", json!({"struct": {"scalarField": "a"}})),
        Op::Apply("apply-one", json!({"struct": {"name": "a"}})),
    ]);
    assert_eq!(
        content(&obj),
        json!({"struct": {"name": "a", "scalarField": "a"}})
    );
    expect_managers(
        &obj,
        &[
            ("apply-one", &[".struct.name"]),
            ("apply-two", &[".struct.scalarField"]),
        ],
    );
}

#[test]
fn unset_scalar_shared_with_updater() {
    let (obj, _) = run(vec![
        Op::Update(
            "updater",
            json!({"struct": {"name": "a", "scalarField": "a"}}),
        ),
        Op::Apply(
            "applier",
            json!({"struct": {"name": "a", "scalarField": "a"}}),
        ),
        Op::Apply("applier", json!({"struct": {"name": "a"}})),
    ]);
    assert_eq!(
        content(&obj),
        json!({"struct": {"name": "a", "scalarField": "a"}})
    );
    expect_managers(
        &obj,
        &[
            (
                "updater",
                &[".struct", ".struct.name", ".struct.scalarField"],
            ),
            ("applier", &[".struct.name"]),
        ],
    );
}

#[test]
fn updater_claims_field() {
    let (obj, _) = run(vec![
        Op::Apply(
            "applier",
            json!({"struct": {"name": "a", "scalarField": "a"}}),
        ),
        Op::Update(
            "updater",
            json!({"struct": {"name": "a", "scalarField": "b"}}),
        ),
    ]);
    assert_eq!(
        content(&obj),
        json!({"struct": {"name": "a", "scalarField": "b"}})
    );
    expect_managers(
        &obj,
        &[
            ("updater", &[".struct.scalarField"]),
            ("applier", &[".struct.name"]),
        ],
    );
}

#[test]
fn unset_complex_sole_owner() {
    let (obj, _) = run(vec![
        Op::Apply(
            "apply-one",
            json!({"struct": {"name": "a", "complexField": {"name": "b"}}}),
        ),
        Op::Apply("apply-one", json!({"struct": {"name": "a"}})),
    ]);
    assert_eq!(content(&obj), json!({"struct": {"name": "a"}}));
    expect_managers(&obj, &[("apply-one", &[".struct.name"])]);
}

#[test]
fn unset_complex_shared_with_applier() {
    let (obj, _) = run(vec![
        Op::Apply(
            "apply-one",
            json!({"struct": {"name": "a", "complexField": {"name": "b"}}}),
        ),
        Op::Apply(
            "apply-two",
            json!({"struct": {"complexField": {"name": "b"}}}),
        ),
        Op::Apply("apply-one", json!({"struct": {"name": "a"}})),
    ]);
    assert_eq!(
        content(&obj),
        json!({"struct": {"name": "a", "complexField": {"name": "b"}}})
    );
    expect_managers(
        &obj,
        &[
            ("apply-one", &[".struct.name"]),
            ("apply-two", &[".struct.complexField.name"]),
        ],
    );
}

/// structured-merge-diff's merge table (`typed/merge_test.go`, lists compared in order), on a
/// CRD schema with the same list types. Merged through a forced apply onto an object with
/// no managed fields, so nothing is pruned and the result is the plain merge. The cases with
/// explicit `null`s are left out: Kubernetes objects drop nulls, the table keeps them.
#[test]
fn merge_table() {
    let schema = Schema::from_openapi_v3(&json!({
        "type": "object",
        "properties": {
            "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "metadata": {"type": "object"},
            "setStr": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
            "setBool": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "boolean"}},
            "setNumeric": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "number"}},
            "atomicList": {"type": "array", "x-kubernetes-list-type": "atomic", "items": {"type": "string"}},
            "list": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["key", "id"],
                     "items": {"type": "object", "properties": {
                         "key": {"type": "string"}, "id": {"type": "number"},
                         "value": {"type": "object", "additionalProperties": {"type": "string"}},
                         "bv": {"type": "boolean"}, "nv": {"type": "number"}}}}
        }
    }))
    .unwrap();
    let table: &[(&str, &str, &str)] = &[
        (
            r#"{"setStr":["a","b","c"]}"#,
            r#"{"setStr":["a","b"]}"#,
            r#"{"setStr":["a","b","c"]}"#,
        ),
        (
            r#"{"setStr":["a","b"]}"#,
            r#"{"setStr":["a","b","c"]}"#,
            r#"{"setStr":["a","b","c"]}"#,
        ),
        (
            r#"{"setStr":["a","b","c"]}"#,
            r#"{"setStr":[]}"#,
            r#"{"setStr":["a","b","c"]}"#,
        ),
        (
            r#"{"setStr":[]}"#,
            r#"{"setStr":["a","b","c"]}"#,
            r#"{"setStr":["a","b","c"]}"#,
        ),
        (
            r#"{"setStr":["a","b"]}"#,
            r#"{"setStr":["b","a"]}"#,
            r#"{"setStr":["b","a"]}"#,
        ),
        (
            r#"{"setStr":["a","b","c"]}"#,
            r#"{"setStr":["d","e","f"]}"#,
            r#"{"setStr":["a","b","c","d","e","f"]}"#,
        ),
        (
            r#"{"setStr":["a","b","c"]}"#,
            r#"{"setStr":["c","d","e","f"]}"#,
            r#"{"setStr":["a","b","c","d","e","f"]}"#,
        ),
        (
            r#"{"setStr":["a","b","c","g","f"]}"#,
            r#"{"setStr":["c","d","e","f"]}"#,
            r#"{"setStr":["a","b","c","g","d","e","f"]}"#,
        ),
        (
            r#"{"setStr":["a","b","c"]}"#,
            r#"{"setStr":["d","e","f","x","y","z"]}"#,
            r#"{"setStr":["a","b","c","d","e","f","x","y","z"]}"#,
        ),
        (
            r#"{"setStr":["c","d","e","f"]}"#,
            r#"{"setStr":["a","c","e"]}"#,
            r#"{"setStr":["a","c","d","e","f"]}"#,
        ),
        (
            r#"{"setStr":["a","b","c","x","y","z"]}"#,
            r#"{"setStr":["d","e","f"]}"#,
            r#"{"setStr":["a","b","c","x","y","z","d","e","f"]}"#,
        ),
        (
            r#"{"setStr":["a","b","c","x","y","z"]}"#,
            r#"{"setStr":["d","e","f","x","y","z"]}"#,
            r#"{"setStr":["a","b","c","d","e","f","x","y","z"]}"#,
        ),
        (
            r#"{"setStr":["c","a","g","f"]}"#,
            r#"{"setStr":["c","f","a","g"]}"#,
            r#"{"setStr":["c","f","a","g"]}"#,
        ),
        (
            r#"{"setStr":["a","b","c","d"]}"#,
            r#"{"setStr":["d","e","f","a"]}"#,
            r#"{"setStr":["b","c","d","e","f","a"]}"#,
        ),
        (
            r#"{"setStr":["c","d","e","f","g","h","i","j"]}"#,
            r#"{"setStr":["2","h","3","e","4","k","l"]}"#,
            r#"{"setStr":["c","d","f","g","2","h","i","j","3","e","4","k","l"]}"#,
        ),
        (
            r#"{"setStr":["a","b","c","d","e","f","g","h","i","j"]}"#,
            r#"{"setStr":["1","b","2","h","3","e","4","k","l"]}"#,
            r#"{"setStr":["a","1","b","c","d","f","g","2","h","i","j","3","e","4","k","l"]}"#,
        ),
        (
            r#"{"setStr":["a","b","b"]}"#,
            r#"{"setStr":["c"]}"#,
            r#"{"setStr":["a","b","b","c"]}"#,
        ),
        (
            r#"{"setStr":["a","b","b"]}"#,
            r#"{"setStr":["b"]}"#,
            r#"{"setStr":["a","b"]}"#,
        ),
        (
            r#"{"setStr":["a","b","b"]}"#,
            r#"{"setStr":["a"]}"#,
            r#"{"setStr":["a","b","b"]}"#,
        ),
        (
            r#"{"setStr":["a","b","c","d","e","c"]}"#,
            r#"{"setStr":["1","b","2","e","d"]}"#,
            r#"{"setStr":["a","1","b","c","2","e","c","d"]}"#,
        ),
        (
            r#"{"setStr":["a","b","c","d","e","c"]}"#,
            r#"{"setStr":["1","b","2","c","e","d"]}"#,
            r#"{"setStr":["a","1","b","2","c","e","d"]}"#,
        ),
        (
            r#"{"setStr":["a","a","b","b"]}"#,
            r#"{"setStr":["b","c","d"]}"#,
            r#"{"setStr":["a","a","b","c","d"]}"#,
        ),
        (
            r#"{"setStr":["a","a","b","b"]}"#,
            r#"{"setStr":[]}"#,
            r#"{"setStr":["a","a","b","b"]}"#,
        ),
        (
            r#"{"setBool":[true]}"#,
            r#"{"setBool":[false]}"#,
            r#"{"setBool":[true,false]}"#,
        ),
        (
            r#"{"setNumeric":[1,2,3.14159]}"#,
            r#"{"setNumeric":[1,2,3]}"#,
            r#"{"setNumeric":[1,2,3.14159,3]}"#,
        ),
        (
            r#"{"setStr":["c","a","g","f","c","a"]}"#,
            r#"{"setStr":["c","f","a","g"]}"#,
            r#"{"setStr":["c","f","a","g"]}"#,
        ),
        (
            r#"{"setNumeric":[1,2,3.14159,1,2]}"#,
            r#"{"setNumeric":[1,2,3]}"#,
            r#"{"setNumeric":[1,2,3.14159,3]}"#,
        ),
        (
            r#"{"setBool":[true,false,true]}"#,
            r#"{"setBool":[false]}"#,
            r#"{"setBool":[true,false,true]}"#,
        ),
        (
            r#"{"setBool":[true,false,true]}"#,
            r#"{"setBool":[true]}"#,
            r#"{"setBool":[true,false]}"#,
        ),
        (
            r#"{"list":[{"key":"a","id":1,"value":{"a":"a"}}]}"#,
            r#"{"list":[{"key":"a","id":1,"value":{"a":"a"}}]}"#,
            r#"{"list":[{"key":"a","id":1,"value":{"a":"a"}}]}"#,
        ),
        (
            r#"{"list":[{"key":"a","id":1,"value":{"a":"a"}}]}"#,
            r#"{"list":[{"key":"a","id":2,"value":{"a":"a"}}]}"#,
            r#"{"list":[{"key":"a","id":1,"value":{"a":"a"}},{"key":"a","id":2,"value":{"a":"a"}}]}"#,
        ),
        (
            r#"{"list":[{"key":"a","id":1},{"key":"b","id":1}]}"#,
            r#"{"list":[{"key":"a","id":1},{"key":"a","id":2}]}"#,
            r#"{"list":[{"key":"a","id":1},{"key":"b","id":1},{"key":"a","id":2}]}"#,
        ),
        (
            r#"{"list":[{"key":"b","id":2}]}"#,
            r#"{"list":[{"key":"a","id":1},{"key":"b","id":2},{"key":"c","id":3}]}"#,
            r#"{"list":[{"key":"a","id":1},{"key":"b","id":2},{"key":"c","id":3}]}"#,
        ),
        (
            r#"{"list":[{"key":"a","id":1},{"key":"b","id":2},{"key":"c","id":3}]}"#,
            r#"{"list":[{"key":"c","id":3},{"key":"b","id":2}]}"#,
            r#"{"list":[{"key":"a","id":1},{"key":"c","id":3},{"key":"b","id":2}]}"#,
        ),
        (
            r#"{"list":[{"key":"a","id":1},{"key":"b","id":2},{"key":"c","id":3}]}"#,
            r#"{"list":[{"key":"c","id":3},{"key":"a","id":1}]}"#,
            r#"{"list":[{"key":"b","id":2},{"key":"c","id":3},{"key":"a","id":1}]}"#,
        ),
        (
            r#"{"atomicList":["a","b","c"]}"#,
            r#"{"atomicList":[]}"#,
            r#"{"atomicList":[]}"#,
        ),
        (
            r#"{"atomicList":["a","a","a"]}"#,
            r#"{"atomicList":["a","a"]}"#,
            r#"{"atomicList":["a","a"]}"#,
        ),
        (
            r#"{"list":[{"key":"a","id":1,"bv":true},{"key":"b","id":2},{"key":"a","id":1,"bv":false,"nv":2}]}"#,
            r#"{"list":[{"key":"a","id":1,"nv":3},{"key":"c","id":3},{"key":"b","id":2}]}"#,
            r#"{"list":[{"key":"a","id":1,"nv":3},{"key":"c","id":3},{"key":"b","id":2}]}"#,
        ),
        (
            r#"{"list":[{"key":"a","id":1,"nv":1},{"key":"a","id":1,"nv":2}]}"#,
            r#"{"list":[]}"#,
            r#"{"list":[{"key":"a","id":1,"nv":1},{"key":"a","id":1,"nv":2}]}"#,
        ),
        (
            r#"{"list":[{"key":"a","id":1,"nv":1},{"key":"a","id":1,"nv":2}]}"#,
            r#"{}"#,
            r#"{"list":[{"key":"a","id":1,"nv":1},{"key":"a","id":1,"nv":2}]}"#,
        ),
    ];
    let parse = |s: &str| -> Value { serde_json::from_str(s).unwrap() };
    for (lhs, rhs, out) in table {
        let live = object(parse(lhs));
        let opts = ApplyOptions {
            manager: "m".into(),
            force: true,
            time: "2026-11-26T10:00:00Z".into(),
            ..ApplyOptions::default()
        };
        let merged = ssa::apply(Some(&live), &object(parse(rhs)), schema.root(), &opts).unwrap();
        assert_eq!(content(&merged), parse(out), "{lhs} + {rhs}");
    }
}
