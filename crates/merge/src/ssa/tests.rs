//! Tests of server-side apply ownership: conflicts, force, pruning, sharing, list types, subresources.

use serde_json::{json, Value};

use super::*;
use crate::strategic::builtin_type;

const T0: &str = "2026-11-26T10:00:00Z";
const T1: &str = "2026-11-26T11:00:00Z";
const T2: &str = "2026-11-26T12:00:00Z";

fn opts(manager: &str, time: &str) -> ApplyOptions {
    ApplyOptions {
        manager: manager.into(),
        time: time.into(),
        ..ApplyOptions::default()
    }
}

fn update_opts(manager: &str, time: &str) -> UpdateOptions {
    UpdateOptions {
        manager: manager.into(),
        time: time.into(),
        ..UpdateOptions::default()
    }
}

fn cm() -> Option<TypeRef<'static>> {
    builtin_type("v1", "ConfigMap")
}

fn deploy() -> Option<TypeRef<'static>> {
    builtin_type("apps/v1", "Deployment")
}

fn ok(r: Result<Value, SsaError>) -> Value {
    match r {
        Ok(v) => v,
        Err(e) => panic!("apply failed: {e}"),
    }
}

fn conflict(r: Result<Value, SsaError>) -> ApplyConflict {
    match r {
        Err(SsaError::Conflict(c)) => c,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

fn managed(obj: &Value) -> Value {
    obj.pointer("/metadata/managedFields")
        .cloned()
        .unwrap_or(Value::Null)
}

fn entry<'v>(obj: &'v Value, manager: &str) -> &'v Value {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .and_then(|l| l.iter().find(|e| e["manager"] == manager))
        .unwrap_or_else(|| panic!("no managedFields entry for {manager} in {obj}"))
}

/// The ConfigMap of the Kubernetes documentation's Server-Side Apply page.
fn test_cm(value: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "test-cm", "namespace": "default", "labels": {"test-label": "test"}},
        "data": {"key": value}
    })
}

#[test]
fn docs_example_managed_fields_of_an_apply() {
    let out = ok(apply(
        None,
        &test_cm("some value"),
        cm(),
        &opts("kubectl", T0),
    ));
    // As shown in the Kubernetes documentation's Server-Side Apply page.
    assert_eq!(
        managed(&out),
        json!([{
            "manager": "kubectl",
            "operation": "Apply",
            "apiVersion": "v1",
            "time": T0,
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {"f:test-label": {}}},
                "f:data": {"f:key": {}}
            }
        }])
    );
    assert_eq!(out["data"], json!({"key": "some value"}));
    assert_eq!(out["metadata"]["labels"], json!({"test-label": "test"}));
}

#[test]
fn update_takes_ownership_and_apply_then_conflicts() {
    let live = ok(apply(
        None,
        &test_cm("some value"),
        cm(),
        &opts("kubectl", T0),
    ));
    // A controller changes data.key with an update: the field moves to it (documentation example).
    let mut new = live.clone();
    new["data"]["key"] = json!("new value");
    record_update(
        Some(&live),
        &mut new,
        cm(),
        &update_opts("kube-controller-manager", T1),
    )
    .expect("update");
    assert_eq!(
        entry(&new, "kube-controller-manager"),
        &json!({
            "manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
            "time": T1, "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:key": {}}}
        })
    );
    assert_eq!(
        entry(&new, "kubectl")["fieldsV1"],
        json!({"f:metadata": {"f:labels": {"f:test-label": {}}}})
    );
    // Apply entries sort before Update entries.
    assert_eq!(managed(&new)[0]["operation"], "Apply");

    // kubectl applies its old value again: conflict with the controller.
    let err = conflict(apply(
        Some(&new),
        &test_cm("some value"),
        cm(),
        &opts("kubectl", T2),
    ));
    assert_eq!(
        err.message,
        "Apply failed with 1 conflict: conflict with \"kube-controller-manager\" using v1: .data.key"
    );
    assert_eq!(
        err.conflicts,
        vec![Conflict {
            manager: "kube-controller-manager".into(),
            described: "\"kube-controller-manager\" using v1".into(),
            field: ".data.key".into()
        }]
    );
    assert_eq!(
        err.to_status(),
        json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": err.message, "reason": "Conflict", "code": 409,
            "details": {"causes": [{
                "reason": "FieldManagerConflict",
                "message": "conflict with \"kube-controller-manager\" using v1",
                "field": ".data.key"
            }]}
        })
    );

    // Forced, the value and the field move back; the controller's empty entry disappears.
    let forced = ok(apply(
        Some(&new),
        &test_cm("some value"),
        cm(),
        &ApplyOptions {
            force: true,
            ..opts("kubectl", T2)
        },
    ));
    assert_eq!(forced["data"]["key"], "some value");
    let entries = managed(&forced);
    assert_eq!(entries.as_array().map(Vec::len), Some(1));
    assert_eq!(
        entries[0]["fieldsV1"],
        json!({"f:metadata": {"f:labels": {"f:test-label": {}}}, "f:data": {"f:key": {}}})
    );
    assert_eq!(entries[0]["time"], T2);
}

#[test]
fn applying_the_same_configuration_twice_changes_nothing() {
    let first = ok(apply(None, &test_cm("v"), cm(), &opts("kubectl", T0)));
    let second = ok(apply(
        Some(&first),
        &test_cm("v"),
        cm(),
        &opts("kubectl", T1),
    ));
    assert_eq!(second, first);
    // A changed value updates the time.
    let third = ok(apply(
        Some(&first),
        &test_cm("w"),
        cm(),
        &opts("kubectl", T2),
    ));
    assert_eq!(entry(&third, "kubectl")["time"], T2);
}

#[test]
fn fields_a_manager_stops_applying_are_removed() {
    let mut cfg = test_cm("v");
    cfg["data"]["other"] = json!("x");
    cfg["metadata"]["labels"]["gone"] = json!("soon");
    let live = ok(apply(None, &cfg, cm(), &opts("kubectl", T0)));
    let out = ok(apply(
        Some(&live),
        &test_cm("v"),
        cm(),
        &opts("kubectl", T1),
    ));
    assert_eq!(out["data"], json!({"key": "v"}));
    assert_eq!(out["metadata"]["labels"], json!({"test-label": "test"}));
    // Fields nobody applied (set by an update) are never pruned by an applier.
    let mut edited = out.clone();
    edited["data"]["edited"] = json!("by hand");
    record_update(
        Some(&out),
        &mut edited,
        cm(),
        &update_opts("kubectl-edit", T1),
    )
    .expect("update");
    let again = ok(apply(
        Some(&edited),
        &test_cm("v"),
        cm(),
        &opts("kubectl", T2),
    ));
    assert_eq!(again["data"], json!({"key": "v", "edited": "by hand"}));
}

#[test]
fn dropping_the_last_label_removes_the_emptied_map() {
    let live = ok(apply(None, &test_cm("v"), cm(), &opts("kubectl", T0)));
    let mut cfg = test_cm("v");
    cfg["metadata"].as_object_mut().map(|m| m.remove("labels"));
    let out = ok(apply(Some(&live), &cfg, cm(), &opts("kubectl", T1)));
    assert_eq!(out["metadata"].get("labels"), None);
}

#[test]
fn two_managers_share_a_field_until_both_drop_it() {
    let a = ok(apply(None, &test_cm("same"), cm(), &opts("a", T0)));
    // b applies the same value: no conflict, both own it. The object did not change, so
    // (as in Kubernetes) b's new entry carries no time.
    let ab = ok(apply(Some(&a), &test_cm("same"), cm(), &opts("b", T1)));
    assert_eq!(entry(&ab, "b").get("time"), None);
    assert_eq!(entry(&ab, "a")["time"], T0);
    assert_eq!(entry(&ab, "a")["fieldsV1"]["f:data"], json!({"f:key": {}}));
    assert_eq!(entry(&ab, "b")["fieldsV1"]["f:data"], json!({"f:key": {}}));
    // Either changing it conflicts with the other.
    let err = conflict(apply(Some(&ab), &test_cm("changed"), cm(), &opts("a", T2)));
    assert_eq!(
        err.message,
        "Apply failed with 1 conflict: conflict with \"b\": .data.key"
    );
    // a stops applying it: b still owns it, so it stays.
    let bare = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"test-cm","namespace":"default"}});
    let only_b = ok(apply(Some(&ab), &bare, cm(), &opts("a", T2)));
    assert_eq!(only_b["data"]["key"], "same");
    // b stops too: it goes.
    let none = ok(apply(Some(&only_b), &bare, cm(), &opts("b", T2)));
    assert_eq!(none.get("data").and_then(|d| d.get("key")), None);
}

#[test]
fn conflicts_with_several_managers_are_listed_per_manager() {
    let base = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"x":"1","y":"1","z":"1"}});
    let live = ok(apply(
        None,
        &json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"x":"1","y":"1"}}),
        cm(),
        &opts("alpha", T0),
    ));
    let live = ok(apply(
        Some(&live),
        &json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"z":"1"}}),
        cm(),
        &opts("beta", T0),
    ));
    assert_eq!(live["data"], base["data"]);
    let err = conflict(apply(
        Some(&live),
        &json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"x":"2","y":"2","z":"2"}}),
        cm(),
        &opts("gamma", T1),
    ));
    assert_eq!(
        err.message,
        "Apply failed with 3 conflicts: conflicts with \"alpha\":\n- .data.x\n- .data.y\nconflicts with \"beta\":\n- .data.z"
    );
}

fn deployment(containers: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": containers}
            }
        }
    })
}

#[test]
fn associative_list_with_two_keys() {
    let cfg = deployment(json!([{
        "name": "app", "image": "app:1",
        "ports": [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 80, "protocol": "UDP"}]
    }]));
    let live = ok(apply(None, &cfg, deploy(), &opts("flux", T0)));
    let fields = &entry(&live, "flux")["fieldsV1"];
    let app = &fields["f:spec"]["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"app\"}"];
    assert_eq!(
        app["f:ports"],
        json!({
            "k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}, "f:protocol": {}},
            "k:{\"containerPort\":80,\"protocol\":\"UDP\"}": {".": {}, "f:containerPort": {}, "f:protocol": {}}
        })
    );
    assert_eq!(app["."], json!({}));
    // The selector is an atomic map: one leaf.
    assert_eq!(fields["f:spec"]["f:selector"], json!({}));

    // Another manager adds a port to the same container: merged by key, no conflict.
    let extra =
        deployment(json!([{"name": "app", "ports": [{"containerPort": 9090, "protocol": "TCP"}]}]));
    let both = ok(apply(Some(&live), &extra, deploy(), &opts("metrics", T1)));
    let ports = &both["spec"]["template"]["spec"]["containers"][0]["ports"];
    assert_eq!(ports.as_array().map(Vec::len), Some(3));

    // flux drops the UDP port: only that item goes; the other manager's port stays.
    let cfg2 = deployment(json!([{
        "name": "app", "image": "app:1",
        "ports": [{"containerPort": 80, "protocol": "TCP"}]
    }]));
    let out = ok(apply(Some(&both), &cfg2, deploy(), &opts("flux", T2)));
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"][0]["ports"],
        json!([{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 9090, "protocol": "TCP"}])
    );
    // flux changing the image conflicts with nobody; the other manager changing it does.
    let err = conflict(apply(
        Some(&out),
        &deployment(json!([{"name": "app", "image": "app:2"}])),
        deploy(),
        &opts("metrics", T2),
    ));
    assert_eq!(
        err.message,
        "Apply failed with 1 conflict: conflict with \"flux\": .spec.template.spec.containers[name=\"app\"].image"
    );
}

#[test]
fn dropped_list_item_is_removed_whole() {
    let live = ok(apply(
        None,
        &deployment(json!([{"name": "a", "image": "a"}, {"name": "b", "image": "b"}])),
        deploy(),
        &opts("flux", T0),
    ));
    let out = ok(apply(
        Some(&live),
        &deployment(json!([{"name": "a", "image": "a"}])),
        deploy(),
        &opts("flux", T1),
    ));
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"],
        json!([{"name": "a", "image": "a"}])
    );
}

#[test]
fn set_list_finalizers() {
    let obj = |f: Value| json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c","finalizers":f}});
    let live = ok(apply(
        None,
        &obj(json!(["example.com/a"])),
        cm(),
        &opts("a", T0),
    ));
    assert_eq!(
        entry(&live, "a")["fieldsV1"],
        json!({"f:metadata": {"f:finalizers": {"v:\"example.com/a\"": {}}}})
    );
    let both = ok(apply(
        Some(&live),
        &obj(json!(["example.com/b"])),
        cm(),
        &opts("b", T1),
    ));
    assert_eq!(
        both["metadata"]["finalizers"],
        json!(["example.com/a", "example.com/b"])
    );
    let bare = json!({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}});
    let out = ok(apply(Some(&both), &bare, cm(), &opts("a", T2)));
    assert_eq!(out["metadata"]["finalizers"], json!(["example.com/b"]));
}

#[test]
fn atomic_list_is_owned_whole() {
    let with_args = |args: Value| deployment(json!([{"name": "app", "image": "i", "args": args}]));
    let live = ok(apply(
        None,
        &with_args(json!(["--a"])),
        deploy(),
        &opts("flux", T0),
    ));
    let app = &entry(&live, "flux")["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
        ["k:{\"name\":\"app\"}"];
    assert_eq!(app["f:args"], json!({}));
    let err = conflict(apply(
        Some(&live),
        &deployment(json!([{"name": "app", "args": ["--b"]}])),
        deploy(),
        &opts("other", T1),
    ));
    assert_eq!(err.conflicts.len(), 1);
    assert_eq!(
        err.conflicts[0].field,
        ".spec.template.spec.containers[name=\"app\"].args"
    );
    let forced = ok(apply(
        Some(&live),
        &deployment(json!([{"name": "app", "args": ["--b"]}])),
        deploy(),
        &ApplyOptions {
            force: true,
            ..opts("other", T1)
        },
    ));
    assert_eq!(
        forced["spec"]["template"]["spec"]["containers"][0]["args"],
        json!(["--b"])
    );
    let flux_app = &entry(&forced, "flux")["fieldsV1"]["f:spec"]["f:template"]["f:spec"]
        ["f:containers"]["k:{\"name\":\"app\"}"];
    assert_eq!(flux_app.get("f:args"), None);
}

#[test]
fn create_records_nodes_the_way_kubernetes_does() {
    let mut obj = deployment(json!([{"name": "app", "image": "app:1"}]));
    record_update(None, &mut obj, deploy(), &update_opts("kubectl-create", T0)).expect("create");
    let e = entry(&obj, "kubectl-create");
    assert_eq!(e["operation"], "Update");
    assert_eq!(e["apiVersion"], "apps/v1");
    let spec = &e["fieldsV1"]["f:spec"];
    // Struct fields of built-in kinds exist in Kubernetes' typed objects before the create,
    // so they are not recorded as nodes; maps and list items are.
    assert_eq!(spec.get("."), None);
    assert_eq!(spec["f:template"].get("."), None);
    assert_eq!(spec["f:selector"], json!({}));
    assert_eq!(
        spec["f:template"]["f:metadata"]["f:labels"],
        json!({".": {}, "f:app": {}})
    );
    assert_eq!(
        spec["f:template"]["f:spec"]["f:containers"]["k:{\"name\":\"app\"}"],
        json!({".": {}, "f:image": {}, "f:name": {}})
    );
    // An update that changes nothing leaves the entry (and its time) alone.
    let before = obj.clone();
    let mut same = obj.clone();
    record_update(
        Some(&before),
        &mut same,
        deploy(),
        &update_opts("kubectl-create", T1),
    )
    .expect("update");
    assert_eq!(same, before);
}

#[test]
fn custom_resources_without_schema_record_every_node() {
    let cr = json!({"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"size":1,"parts":["x"]}});
    let out = ok(apply(None, &cr, None, &opts("flux", T0)));
    assert_eq!(
        entry(&out, "flux")["fieldsV1"],
        json!({"f:spec": {".": {}, "f:parts": {}, "f:size": {}}})
    );
    let mut new = out.clone();
    new["spec"]["color"] = json!("red");
    record_update(Some(&out), &mut new, None, &update_opts("editor", T1)).expect("update");
    assert_eq!(
        entry(&new, "editor")["fieldsV1"],
        json!({"f:spec": {"f:color": {}}})
    );
}

#[test]
fn status_subresource_keeps_managers_apart() {
    let obj = json!({
        "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
        "spec": {"size": 1}, "status": {"ready": false}
    });
    let with_status_sub = ApplyOptions {
        status_subresource: true,
        ..opts("flux", T0)
    };
    // Through the main resource, .status is ignored.
    let live = ok(apply(None, &obj, None, &with_status_sub));
    assert_eq!(live.get("status"), None);
    // Through /status, only .status counts, recorded with subresource: status.
    let status = ok(apply(
        Some(&live),
        &json!({"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},
                "spec":{"size":99},"status":{"ready":true}}),
        None,
        &ApplyOptions {
            subresource: Some("status".into()),
            status_subresource: true,
            ..opts("controller", T1)
        },
    ));
    assert_eq!(status["spec"]["size"], 1);
    assert_eq!(status["status"]["ready"], true);
    let e = entry(&status, "controller");
    assert_eq!(e["subresource"], "status");
    assert_eq!(e["fieldsV1"], json!({"f:status": {".": {}, "f:ready": {}}}));
    // The same manager name applying the main resource is a different manager.
    let main = ok(apply(
        Some(&status),
        &obj,
        None,
        &ApplyOptions {
            status_subresource: true,
            ..opts("controller", T2)
        },
    ));
    assert_eq!(
        main.pointer("/metadata/managedFields")
            .and_then(Value::as_array)
            .map(|l| l.iter().filter(|e| e["manager"] == "controller").count()),
        Some(2)
    );
}

#[test]
fn first_apply_to_an_untracked_object_credits_before_first_apply() {
    let live = test_cm("existing");
    let err = conflict(apply(
        Some(&live),
        &test_cm("mine"),
        cm(),
        &opts("kubectl", T1),
    ));
    assert_eq!(
        err.message,
        "Apply failed with 1 conflict: conflict with \"before-first-apply\" using v1: .data.key"
    );
    let out = ok(apply(
        Some(&live),
        &test_cm("existing"),
        cm(),
        &opts("kubectl", T1),
    ));
    assert!(out.pointer("/metadata/managedFields").is_some());
}

#[test]
fn managed_fields_reset_and_replacement() {
    let live = ok(apply(None, &test_cm("v"), cm(), &opts("kubectl", T0)));
    let mut wiped = live.clone();
    wiped["metadata"]["managedFields"] = json!([{}]);
    record_update(Some(&live), &mut wiped, cm(), &update_opts("x", T1)).expect("reset");
    assert_eq!(wiped["metadata"].get("managedFields"), None);
    // An empty list leaves them alone.
    let mut kept = live.clone();
    kept["metadata"]["managedFields"] = json!([]);
    record_update(Some(&live), &mut kept, cm(), &update_opts("x", T1)).expect("keep");
    assert_eq!(managed(&kept), managed(&live));
}

#[test]
fn invalid_input() {
    assert_eq!(
        apply(None, &json!([]), None, &opts("m", T0)),
        Err(SsaError::NotAnObject {
            what: "applied configuration"
        })
    );
    assert_eq!(
        apply(None, &json!({}), None, &opts("", T0)),
        Err(SsaError::MissingManager)
    );
    let mut v = json!(1);
    assert!(record_update(None, &mut v, None, &update_opts("m", T0)).is_err());
}

#[test]
fn owned_fields_lists_paths() {
    let live = ok(apply(None, &test_cm("v"), cm(), &opts("kubectl", T0)));
    assert_eq!(
        owned_fields(&live, "kubectl", OPERATION_APPLY),
        Some(vec![
            ".data.key".to_string(),
            ".metadata.labels.test-label".to_string()
        ])
    );
    assert_eq!(owned_fields(&live, "nobody", OPERATION_APPLY), None);
}

#[test]
fn applied_configuration_must_not_carry_managed_fields() {
    let mut cfg = test_cm("v");
    cfg["metadata"]["managedFields"] = json!([{"manager": "x"}]);
    assert_eq!(
        apply(None, &cfg, cm(), &opts("kubectl", T0)),
        Err(SsaError::ManagedFieldsInApply)
    );
}

#[test]
fn update_managers_are_capped_at_ten() {
    let mut live = ok(apply(None, &test_cm("v"), cm(), &opts("kubectl", T0)));
    for i in 0..12 {
        let mut new = live.clone();
        new["data"][format!("k{i}")] = json!("x");
        let time = format!("2026-11-26T11:00:{i:02}Z");
        record_update(
            Some(&live),
            &mut new,
            cm(),
            &update_opts(&format!("editor-{i:02}"), &time),
        )
        .expect("update");
        live = new;
    }
    let entries = managed(&live);
    let updates: Vec<&Value> = entries
        .as_array()
        .map(|l| l.iter().filter(|e| e["operation"] == "Update").collect())
        .unwrap_or_default();
    assert_eq!(updates.len(), 10);
    // The three oldest (00, 01, 02) went into one bucket with the newest of their times.
    let bucket = entry(&live, managed::ANCIENT_CHANGES);
    assert_eq!(bucket["time"], "2026-11-26T11:00:02Z");
    assert_eq!(
        bucket["fieldsV1"],
        json!({"f:data": {"f:k0": {}, "f:k1": {}, "f:k2": {}}})
    );
    assert!(live.pointer("/metadata/managedFields").is_some());
    assert_eq!(
        entry(&live, "editor-03")["fieldsV1"],
        json!({"f:data": {"f:k3": {}}})
    );
}

#[test]
fn ports_without_protocol_match_their_defaulted_live_items() {
    // The live object went through defaulting (protocol: TCP); the configuration omits it.
    let cfg = deployment(json!([{"name": "app", "image": "i", "ports": [{"containerPort": 80}]}]));
    let live = ok(apply(None, &cfg, deploy(), &opts("flux", T0)));
    let app = &entry(&live, "flux")["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
        ["k:{\"name\":\"app\"}"];
    assert_eq!(
        app["f:ports"],
        json!({"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}})
    );
    let mut defaulted = live.clone();
    defaulted["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"] = json!("TCP");
    let again = ok(apply(Some(&defaulted), &cfg, deploy(), &opts("flux", T1)));
    assert_eq!(
        again["spec"]["template"]["spec"]["containers"][0]["ports"],
        json!([{"containerPort": 80, "protocol": "TCP"}])
    );
    // Dropping the port removes the defaulted live item.
    let none = ok(apply(
        Some(&defaulted),
        &deployment(json!([{"name": "app", "image": "i"}])),
        deploy(),
        &opts("flux", T1),
    ));
    assert_eq!(
        none["spec"]["template"]["spec"]["containers"][0].get("ports"),
        None
    );
}

#[test]
fn large_keyed_lists_reapply_without_change() {
    // 2,000 env vars in one container: a re-apply must find every item by key and change
    // nothing. (Speed is a benchmark's business, not a test's: nothing is timed here.)
    let env: Vec<Value> = (0..2000)
        .map(|i| json!({"name": format!("VAR_{i}"), "value": format!("{i}")}))
        .collect();
    let cfg = deployment(json!([{"name": "app", "image": "i", "env": env}]));
    let live = ok(apply(None, &cfg, deploy(), &opts("flux", T0)));
    assert_eq!(
        live["spec"]["template"]["spec"]["containers"][0]["env"]
            .as_array()
            .map(Vec::len),
        Some(2000)
    );
    let again = ok(apply(Some(&live), &cfg, deploy(), &opts("flux", T1)));
    assert_eq!(again, live);
}

#[test]
fn client_sent_managed_fields_replace_stored_ones_on_the_main_resource_only() {
    let live = ok(apply(None, &test_cm("v"), cm(), &opts("kubectl", T0)));
    let edited_fields = json!([{
        "manager": "someone", "operation": "Update", "apiVersion": "v1", "time": T0,
        "fieldsType": "FieldsV1", "fieldsV1": {"f:data": {"f:key": {}}}
    }]);
    let mut new = live.clone();
    new["metadata"]["managedFields"] = edited_fields.clone();
    record_update(Some(&live), &mut new, cm(), &update_opts("editor", T1)).expect("update");
    assert_eq!(managed(&new), edited_fields);
    // Through a subresource the stored ones stay.
    let mut status = live.clone();
    status["metadata"]["managedFields"] = edited_fields;
    let sub = UpdateOptions {
        subresource: Some("status".into()),
        ..update_opts("editor", T1)
    };
    record_update(Some(&live), &mut status, cm(), &sub).expect("update");
    assert_eq!(managed(&status), managed(&live));
}

/// `obj` with `metadata.managedFields` set to `(manager, operation, fieldsV1)` entries.
fn with_managers(mut obj: Value, entries: &[(&str, &str, Value)]) -> Value {
    let list: Vec<Value> = entries
        .iter()
        .map(|(manager, operation, fields)| {
            json!({"manager": manager, "operation": operation, "apiVersion": obj["apiVersion"],
                   "fieldsType": "FieldsV1", "fieldsV1": fields})
        })
        .collect();
    obj["metadata"]["managedFields"] = Value::Array(list);
    obj
}

/// `kubectl apply` (client-side) then `kubectl apply --server-side`: kubectl's old entry owns
/// the parents `data` and `metadata.annotations` themselves (`.`), the new applied set only
/// `data.mode`, and the last-applied annotation belongs to `kubectl-last-applied` too. The
/// dropped parents must not take the fields below them along.
#[test]
fn dropped_parent_nodes_keep_fields_still_applied_or_owned_by_others() {
    let live = with_managers(
        json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"mode": "fast"},
               "metadata": {"name": "settings", "namespace": "default",
                            "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "x"}}}),
        &[
            (
                "kubectl",
                APPLY,
                json!({
                    "f:data": {".": {}, "f:mode": {}},
                    "f:metadata": {"f:annotations": {".": {}, "f:kubectl.kubernetes.io/last-applied-configuration": {}}}
                }),
            ),
            (
                "kubectl-last-applied",
                APPLY,
                json!({
                    "f:metadata": {"f:annotations": {"f:kubectl.kubernetes.io/last-applied-configuration": {}}}
                }),
            ),
        ],
    );
    let cfg = json!({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "settings", "namespace": "default"},
                     "data": {"mode": "fast"}});
    let o = ApplyOptions {
        manager: "kubectl".into(),
        api_version: "v1".into(),
        time: T0.into(),
        ..ApplyOptions::default()
    };
    let out = ok(apply(
        Some(&live),
        &cfg,
        builtin_type("v1", "ConfigMap"),
        &o,
    ));
    assert_eq!(out["data"], json!({"mode": "fast"}));
    assert_eq!(
        out["metadata"]["annotations"],
        json!({"kubectl.kubernetes.io/last-applied-configuration": "x"})
    );
    // kubectl now owns exactly what it applied; the annotation is kubectl-last-applied's alone.
    assert_eq!(
        entry(&out, "kubectl")["fieldsV1"],
        json!({"f:data": {"f:mode": {}}})
    );
    assert_eq!(
        entry(&out, "kubectl-last-applied")["fieldsV1"],
        json!({"f:metadata": {"f:annotations": {"f:kubectl.kubernetes.io/last-applied-configuration": {}}}})
    );
    assert_eq!(managed(&out).as_array().map(Vec::len), Some(2));
}

/// A map parent (`labels`, `.` owned) the applier drops keeps the keys it still applies and the
/// keys an updater owns, and loses only the key nobody owns any more.
#[test]
fn dropped_map_parent_keeps_co_owned_keys_and_removes_the_rest() {
    let mut obj = test_cm("v");
    obj["metadata"]["labels"] = json!({"app": "web", "team": "a", "old": "x"});
    let live = with_managers(
        obj,
        &[
            (
                "flux",
                APPLY,
                json!({
                    "f:data": {".": {}, "f:key": {}},
                    "f:metadata": {"f:labels": {".": {}, "f:app": {}, "f:old": {}}}
                }),
            ),
            (
                "kubectl-label",
                UPDATE,
                json!({"f:metadata": {"f:labels": {"f:team": {}}}}),
            ),
        ],
    );
    let mut cfg = test_cm("v");
    cfg["metadata"]["labels"] = json!({"app": "web"});
    let out = ok(apply(Some(&live), &cfg, cm(), &opts("flux", T1)));
    assert_eq!(
        out["metadata"]["labels"],
        json!({"app": "web", "team": "a"})
    );
    assert_eq!(out["data"], json!({"key": "v"}));
    assert_eq!(
        entry(&out, "flux")["fieldsV1"],
        json!({"f:data": {"f:key": {}}, "f:metadata": {"f:labels": {"f:app": {}}}})
    );
    // The updater's key outlives the applier's interest in the whole map.
    let bare = json!({"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": "test-cm", "namespace": "default"}});
    let gone = ok(apply(Some(&out), &bare, cm(), &opts("flux", T2)));
    assert_eq!(gone["metadata"]["labels"], json!({"team": "a"}));
    assert_eq!(gone.get("data"), None);
}

/// Nested struct parents (`spec`, `template.spec`, `containers`) carrying `.` in the old entry:
/// re-applying the same container keeps the pod spec; the dropped container still goes.
#[test]
fn dropped_struct_parents_keep_the_associative_item_still_applied() {
    let live = with_managers(
        deployment(json!([{"name": "app", "image": "app:1"}, {"name": "side", "image": "side:1"}])),
        &[(
            "flux",
            APPLY,
            json!({"f:spec": {".": {}, "f:selector": {}, "f:template": {".": {},
                "f:metadata": {".": {}, "f:labels": {".": {}, "f:app": {}}},
                "f:spec": {".": {}, "f:containers": {".": {},
                    "k:{\"name\":\"app\"}": {".": {}, "f:image": {}, "f:name": {}},
                    "k:{\"name\":\"side\"}": {".": {}, "f:image": {}, "f:name": {}}}}}}}),
        )],
    );
    let cfg = deployment(json!([{"name": "app", "image": "app:1"}]));
    let out = ok(apply(Some(&live), &cfg, deploy(), &opts("flux", T1)));
    assert_eq!(
        out["spec"]["template"]["spec"]["containers"],
        json!([{"name": "app", "image": "app:1"}])
    );
    assert_eq!(
        out["spec"]["selector"],
        json!({"matchLabels": {"app": "web"}})
    );
    assert_eq!(
        out["spec"]["template"]["metadata"],
        json!({"labels": {"app": "web"}})
    );
    let again = ok(apply(Some(&out), &cfg, deploy(), &opts("flux", T2)));
    assert_eq!(again, out);
}
