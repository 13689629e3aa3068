//! Patch engines checked against kubectl: `kubectl patch --local` runs apimachinery's strategic merge patch and evanphx/json-patch, the code the API server runs.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Stdio};

use flotilla_merge::{
    builtin_type, json_patch, merge_patch, strategic_merge_patch, JsonPatchOptions,
};
use serde_json::{json, Value};

/// `kubectl patch --local -f - --type <kind> -p <patch> -o json`: the patched object, or
/// kubectl's error message.
fn kubectl_patch(obj: &Value, patch: &Value, kind: &str) -> Result<Value, String> {
    let mut child = Command::new("kubectl")
        .args([
            "patch", "--local", "-f", "-", "--type", kind, "-o", "json", "-p",
        ])
        .arg(patch.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl is installed on every machine here and is the oracle");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(obj.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

fn deployment() -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web", "tier": "front"},
                     "finalizers": ["a", "b"],
                     "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": "u1"}]},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {"name": "app", "image": "app:1", "args": ["--a", "--b"],
                         "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "C", "value": "3"}],
                         "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 443, "name": "https"}],
                         "volumeMounts": [{"name": "cfg", "mountPath": "/etc/cfg"}]},
                        {"name": "sidecar", "image": "side:1"}
                    ],
                    "volumes": [{"name": "cfg", "emptyDir": {}}],
                    "tolerations": [{"key": "dedicated", "effect": "NoSchedule", "value": "x"}],
                    "imagePullSecrets": [{"name": "reg"}],
                    "securityContext": {"runAsUser": 1000}
                }
            }
        }
    })
}

/// Checks one patch; returns whether it failed (on both sides).
fn check_smp(original: &Value, patch: &Value) -> bool {
    let kind = original["kind"].as_str().unwrap();
    let api_version = original["apiVersion"].as_str().unwrap();
    let ours = strategic_merge_patch(original, patch, builtin_type(api_version, kind));
    let theirs = kubectl_patch(original, patch, "strategic");
    match (ours, theirs) {
        (Ok(o), Ok(t)) => {
            assert_eq!(o, t, "patch {patch}");
            false
        }
        (Err(e), Err(k)) => {
            eprintln!("both failed: {patch}\n  ours: {e}\n  kubectl: {k}");
            true
        }
        (o, t) => panic!("patch {patch}: ours {o:?}, kubectl {t:?}"),
    }
}

#[test]
fn strategic_merge_patch_matches_kubectl() {
    let d = deployment();
    let tpl = |spec: Value| json!({"spec": {"template": {"spec": spec}}});
    let cases = [
        // merge key lists: new items, changed items, order
        tpl(json!({"containers": [{"name": "new", "image": "n"}]})),
        tpl(
            json!({"containers": [{"name": "sidecar", "image": "side:2"}, {"name": "new", "image": "n"}]}),
        ),
        tpl(
            json!({"containers": [{"name": "app", "env": [{"name": "C", "value": "x"}, {"name": "D", "value": "4"}]}]}),
        ),
        tpl(json!({"containers": [{"name": "app", "env": [{"name": "A", "value": null}]}]})),
        tpl(
            json!({"containers": [{"name": "app", "ports": [{"containerPort": 8080}, {"containerPort": 80, "name": "web"}]}]}),
        ),
        tpl(
            json!({"containers": [{"name": "app", "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}),
        ),
        tpl(json!({"imagePullSecrets": [{"name": "other"}]})),
        // lists without strategy are replaced; so are scalars lists like args
        tpl(json!({"tolerations": [{"key": "gpu", "effect": "NoSchedule"}]})),
        tpl(json!({"containers": [{"name": "app", "args": ["--c"]}]})),
        // $patch in lists and maps
        tpl(json!({"containers": [{"name": "sidecar", "$patch": "delete"}]})),
        tpl(json!({"containers": [{"$patch": "replace"}, {"name": "only", "image": "o"}]})),
        tpl(json!({"containers": [{"name": "app", "$patch": "merge"}]})),
        tpl(json!({"securityContext": {"$patch": "delete"}})),
        json!({"metadata": {"labels": {"$patch": "replace", "new": "label"}}}),
        json!({"metadata": {"labels": {"$patch": "bogus"}}}),
        // $retainKeys
        json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
        tpl(
            json!({"volumes": [{"name": "cfg", "$retainKeys": ["name", "configMap"], "configMap": {"name": "c"}}]}),
        ),
        // primitive merge lists (finalizers) and parallel deletion lists
        json!({"metadata": {"finalizers": ["b", "c"]}}),
        json!({"metadata": {"finalizers": ["z"]}}),
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
        json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"], "finalizers": ["c"]}}),
        // $setElementOrder
        tpl(
            json!({"$setElementOrder/containers": [{"name": "new"}, {"name": "sidecar"}, {"name": "app"}],
                   "containers": [{"name": "new", "image": "n"}]}),
        ),
        tpl(json!({"$setElementOrder/containers": [{"name": "sidecar"}, {"name": "app"}]})),
        tpl(json!({"$setElementOrder/containers": [{"name": "app"}],
                   "containers": [{"name": "sidecar", "$patch": "delete"}]})),
        json!({"metadata": {"$setElementOrder/finalizers": ["b", "a", "c"], "finalizers": ["c"]}}),
        tpl(
            json!({"$setElementOrder/containers": [{"name": "app"}], "containers": [{"name": "x", "image": "x"}]}),
        ),
        // nulls, new subtrees, unknown fields
        json!({"spec": {"replicas": null, "paused": null}}),
        json!({"spec": {"minReadySeconds": 5, "template": {"spec": {"nodeSelector": {"a": "b", "c": null}}}}}),
        json!({"spec": {"unknownField": {"a": [1, 2], "b": {"c": null}}}}),
        json!({"metadata": {"ownerReferences": [{"apiVersion": "v1", "kind": "Secret", "name": "s", "uid": "u2"}]}}),
        // nested directives inside merged items
        tpl(json!({"containers": [{"name": "app",
            "$setElementOrder/env": [{"name": "C"}, {"name": "A"}, {"name": "B"}],
            "env": [{"name": "C", "value": "y"}]}]})),
        tpl(json!({"containers": [{"name": "app", "$deleteFromPrimitiveList/args": ["--a"]}]})),
        // (A new item appended to an existing merge list keeps nulls and `$patch` keys raw in
        // kubectl's local output; the API server's typed decoding then drops them, which is
        // what strategic_merge_patch returns, so that case is not compared here.)
        tpl(
            json!({"volumes": [{"name": "cfg", "$retainKeys": ["name", "secret"], "secret": {"secretName": "s"}, "emptyDir": null}]}),
        ),
        json!({"spec": {"template": {"spec": {"containers": [{"name": "app", "ports": [{"containerPort": 443, "$patch": "delete"}]}]}}}}),
        json!({"metadata": {"labels": ["not", "a", "map"]}}),
        json!({"spec": {"strategy": {"rollingUpdate": {"$patch": "replace", "maxSurge": 2}}}}),
        // errors
        tpl(json!({"containers": [{"image": "no-name"}]})),
        tpl(
            json!({"$setElementOrder/containers": [{"name": "app"}], "containers": [{"name": "other", "image": "o"}]}),
        ),
    ];
    let failed = cases.iter().filter(|p| check_smp(&d, p)).count();
    // $patch: merge in a list, $patch: bogus, a missing merge key, two order lists missing an item.
    assert_eq!(failed, 5);
    // Lists that do not exist yet, with directives inside.
    let bare = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {}});
    assert!(!check_smp(
        &bare,
        &json!({"spec": {"containers": [{"name": "n", "image": "y"}, {"name": "m", "$patch": "delete"}]}}),
    ));
    assert!(!check_smp(
        &bare,
        &json!({"metadata": {"finalizers": ["x", "y"]}})
    ));
    // Service ports merge by port.
    let svc = json!({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                     "spec": {"ports": [{"port": 80, "targetPort": 8080}], "selector": {"app": "a"}}});
    assert!(!check_smp(
        &svc,
        &json!({"spec": {"ports": [{"port": 443, "targetPort": 8443}, {"port": 80, "name": "http"}]}})
    ));
    assert!(!check_smp(
        &svc,
        &json!({"spec": {"selector": {"$patch": "replace", "app": "b"}}})
    ));
}

#[test]
fn json_patch_matches_kubectl() {
    let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
                     "data": {"a": "1", "b": "2"}, "list": [1, 2, 3]});
    let cases = [
        json!([{"op": "add", "path": "/data/c", "value": "3"}]),
        json!([{"op": "add", "path": "/list/1", "value": 9}, {"op": "add", "path": "/list/-", "value": 10}]),
        json!([{"op": "remove", "path": "/list/0"}, {"op": "remove", "path": "/data/a"}]),
        json!([{"op": "replace", "path": "/data/a", "value": {"x": 1}}]),
        json!([{"op": "replace", "path": "/data/missing", "value": "lenient"}]),
        json!([{"op": "replace", "path": "/nope/missing", "value": 1}]),
        json!([{"op": "replace", "path": "/list/3", "value": 1}]),
        json!([{"op": "move", "from": "/data/a", "path": "/moved"}]),
        json!([{"op": "move", "from": "/list/0", "path": "/list/2"}]),
        json!([{"op": "copy", "from": "/data", "path": "/copy"}]),
        json!([{"op": "test", "path": "/data/a", "value": "1"}, {"op": "add", "path": "/ok", "value": true}]),
        json!([{"op": "test", "path": "/data/a", "value": "2"}]),
        json!([{"op": "remove", "path": "/data/zz"}]),
        json!([{"op": "add", "path": "/list/4", "value": 1}]),
        json!([{"op": "add", "path": "/data/x~1y", "value": "slash"}, {"op": "add", "path": "/data/t~0", "value": "tilde"}]),
        json!([{"op": "add", "path": "/data/c", "value": "3"}, {"op": "remove", "path": "/nope"}]),
    ];
    let mut failed = 0;
    for patch in &cases {
        let mut ours = obj.clone();
        let r = json_patch(
            &mut ours,
            patch,
            &JsonPatchOptions {
                lenient_replace: true,
            },
        );
        match (r, kubectl_patch(&obj, patch, "json")) {
            (Ok(()), Ok(t)) => assert_eq!(ours, t, "patch {patch}"),
            (Err(_), Err(_)) => {
                assert_eq!(ours, obj, "failed patch {patch} changed the object");
                failed += 1;
            }
            (o, t) => panic!("patch {patch}: ours {o:?}, kubectl {t:?}"),
        }
    }
    // Missing parent, index past the end (replace and add), failed test, missing key, last op.
    assert_eq!(failed, 6);
}

#[test]
fn merge_patch_matches_kubectl() {
    let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"a": "1"}},
                     "data": {"a": "1", "b": "2"}, "list": [1, 2, 3], "nested": {"x": {"y": 1}}});
    let cases = [
        json!({"data": {"a": null, "c": "3"}}),
        json!({"list": [4]}),
        json!({"nested": {"x": {"y": null, "z": [1]}}}),
        json!({"nested": "scalar"}),
        json!({"metadata": {"labels": null}}),
        json!({"new": {"deep": {"k": null, "v": 1}}}),
    ];
    for patch in &cases {
        let mut ours = obj.clone();
        merge_patch(&mut ours, patch);
        assert_eq!(
            Ok(ours),
            kubectl_patch(&obj, patch, "merge"),
            "patch {patch}"
        );
    }
}
