//! Staged server-side apply against the embedded dev cluster: staging, no-op re-applies,
//! drift correction, kubectl takeover, ssa annotations, rejected objects, force.
#![allow(clippy::unwrap_used)]

mod support;

use flotilla_apply::{Action, Applier, ApplyError, LAST_APPLIED_ANNOTATION};
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde_json::json;
use support::*;

#[tokio::test]
async fn crd_and_custom_resources_apply_in_stages_then_reapply_unchanged() {
    let cluster = cluster();
    let applier = Applier::new(cluster.client.clone());
    let objects = vec![
        // Deliberately out of order: the custom resource and the namespaced objects first.
        widget("shop", "w1", json!({"size": 3, "color": "red"})),
        config_map("shop", "settings", json!({"a": "1"})),
        deployment("shop", "web", "nginx:1.25"),
        service("shop", "web"),
        widget_crd(),
        namespace("shop"),
    ];
    let cs = applier.apply(objects.clone(), &opts()).await.unwrap();
    assert_eq!(cs.count(Action::Created), 6, "{cs:?}");
    assert_eq!(
        cs.to_string().lines().collect::<Vec<_>>(),
        [
            "CustomResourceDefinition/widgets.example.com created",
            "Namespace/shop created",
            "ConfigMap/shop/settings created",
            "Service/shop/web created",
            "Deployment/shop/web created",
            "Widget/shop/w1 created",
        ]
    );
    let w = live(
        &cluster.client,
        "example.com/v1",
        "Widget",
        "widgets",
        "shop",
        "w1",
    )
    .await
    .unwrap();
    assert_eq!(w["spec"]["size"], 3);
    assert_eq!(
        w["metadata"]["labels"]["kustomize.toolkit.fluxcd.io/name"],
        "apps"
    );
    let managers: Vec<&str> = w["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["manager"].as_str().unwrap())
        .collect();
    assert_eq!(managers, ["kustomize-controller"]);

    let before = live_cm(&cluster.client, "shop", "settings").await.unwrap();
    let dep_before = live(
        &cluster.client,
        "apps/v1",
        "Deployment",
        "deployments",
        "shop",
        "web",
    )
    .await
    .unwrap();
    let cs = applier.apply(objects, &opts()).await.unwrap();
    assert_eq!(cs.count(Action::Unchanged), 6, "{cs:?}");
    assert!(!cs.has_changes());
    assert_eq!(cs.to_string(), "");
    let after = live_cm(&cluster.client, "shop", "settings").await.unwrap();
    assert_eq!(rv(&before), rv(&after));
    let dep_after = live(
        &cluster.client,
        "apps/v1",
        "Deployment",
        "deployments",
        "shop",
        "web",
    )
    .await
    .unwrap();
    // Only the simulated node's status writes may move the Deployment; its spec is untouched.
    assert_eq!(
        dep_before["metadata"]["generation"],
        dep_after["metadata"]["generation"]
    );
}

#[tokio::test]
async fn hand_edits_are_reverted_and_foreign_fields_left_alone() {
    let cluster = cluster();
    let applier = Applier::new(cluster.client.clone());
    let objects = vec![
        namespace("edit"),
        config_map("edit", "cfg", json!({"a": "1", "b": "2"})),
    ];
    applier.apply(objects.clone(), &opts()).await.unwrap();

    // Someone edits a field Flotilla owns, and adds a label Flotilla does not manage.
    let cms: Api<DynamicObject> = Api::namespaced_with(
        cluster.client.clone(),
        "edit",
        &kube::api::ApiResource::erase::<k8s_openapi::api::core::v1::ConfigMap>(&()),
    );
    let edit = PatchParams {
        field_manager: Some("kubectl-edit".into()),
        ..Default::default()
    };
    cms.patch(
        "cfg",
        &edit,
        &Patch::Merge(json!({"data": {"a": "hacked"}})),
    )
    .await
    .unwrap();
    let other = PatchParams {
        field_manager: Some("someone-else".into()),
        ..Default::default()
    };
    cms.patch(
        "cfg",
        &other,
        &Patch::Merge(json!({"metadata": {"labels": {"team": "x"}}})),
    )
    .await
    .unwrap();

    let cs = applier.apply(objects.clone(), &opts()).await.unwrap();
    assert_eq!(cs.to_string(), "ConfigMap/edit/cfg configured");
    let cm = live_cm(&cluster.client, "edit", "cfg").await.unwrap();
    assert_eq!(cm["data"], json!({"a": "1", "b": "2"}));
    assert_eq!(
        cm["metadata"]["labels"]["team"], "x",
        "a foreign label stays"
    );

    let cs = applier.apply(objects, &opts()).await.unwrap();
    assert!(!cs.has_changes(), "{cs}");
}

#[tokio::test]
async fn kubectl_client_side_apply_is_taken_over() {
    let cluster = cluster();
    let applier = Applier::new(cluster.client.clone());
    applier
        .apply(vec![namespace("takeover")], &opts())
        .await
        .unwrap();
    cluster.kubectl_ok(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cfg\n  namespace: takeover\ndata:\n  a: \"1\"\n  extra: \"x\"\n",
    );
    let cm = live_cm(&cluster.client, "takeover", "cfg").await.unwrap();
    assert!(cm["metadata"]["annotations"][LAST_APPLIED_ANNOTATION].is_string());

    let cs = applier
        .apply(
            vec![config_map("takeover", "cfg", json!({"a": "1"}))],
            &opts(),
        )
        .await
        .unwrap();
    assert_eq!(cs.to_string(), "ConfigMap/takeover/cfg configured");
    let cm = live_cm(&cluster.client, "takeover", "cfg").await.unwrap();
    assert_eq!(
        cm["data"],
        json!({"a": "1"}),
        "kubectl's extra key is dropped"
    );
    assert!(cm["metadata"]["annotations"]
        .get(LAST_APPLIED_ANNOTATION)
        .is_none());
    let managers: Vec<&str> = cm["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["manager"].as_str().unwrap())
        .collect();
    assert_eq!(managers, ["kustomize-controller"]);
}

#[tokio::test]
async fn ssa_annotations_behave_as_flux() {
    let cluster = cluster();
    let applier = Applier::new(cluster.client.clone());
    let annotated = |name: &str, policy: &str, data: serde_json::Value| {
        let mut o = config_map("ssa", name, data);
        o["metadata"]["annotations"] = json!({"kustomize.toolkit.fluxcd.io/ssa": policy});
        o
    };
    let first = vec![
        namespace("ssa"),
        annotated("once", "IfNotPresent", json!({"a": "1"})),
        annotated("ignored", "Ignore", json!({"a": "1"})),
    ];
    let cs = applier.apply(first, &opts()).await.unwrap();
    let m = |n: &str| meta("ssa", n, "", "ConfigMap");
    assert_eq!(cs.action_of(&m("once")), Some(Action::Created));
    assert_eq!(cs.action_of(&m("ignored")), Some(Action::Skipped));
    assert!(live_cm(&cluster.client, "ssa", "ignored").await.is_none());

    // IfNotPresent: later changes in Git are not applied to the existing object.
    let cs = applier
        .apply(
            vec![annotated("once", "IfNotPresent", json!({"a": "2"}))],
            &opts(),
        )
        .await
        .unwrap();
    assert_eq!(cs.action_of(&m("once")), Some(Action::Skipped));
    assert_eq!(
        live_cm(&cluster.client, "ssa", "once").await.unwrap()["data"]["a"],
        "1"
    );

    // A live object annotated Ignore by hand is left alone even if Git differs.
    let cms: Api<DynamicObject> = Api::namespaced_with(
        cluster.client.clone(),
        "ssa",
        &kube::api::ApiResource::erase::<k8s_openapi::api::core::v1::ConfigMap>(&()),
    );
    applier
        .apply(vec![config_map("ssa", "plain", json!({"a": "1"}))], &opts())
        .await
        .unwrap();
    cms.patch(
        "plain",
        &PatchParams::default(),
        &Patch::Merge(json!({"metadata": {"annotations": {"kustomize.toolkit.fluxcd.io/ssa": "Ignore"}}, "data": {"a": "mine"}})),
    )
    .await
    .unwrap();
    let cs = applier
        .apply(vec![config_map("ssa", "plain", json!({"a": "1"}))], &opts())
        .await
        .unwrap();
    assert_eq!(cs.action_of(&m("plain")), Some(Action::Skipped));
    assert_eq!(
        live_cm(&cluster.client, "ssa", "plain").await.unwrap()["data"]["a"],
        "mine"
    );

    // Merge: fields kubectl applied stay (no takeover of its fields, no annotation removal).
    cluster.kubectl_ok(
        &["apply", "-f", "-"],
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: merged\n  namespace: ssa\ndata:\n  extra: \"x\"\n",
    );
    let cs = applier
        .apply(
            vec![annotated("merged", "Merge", json!({"a": "1"}))],
            &opts(),
        )
        .await
        .unwrap();
    assert_eq!(cs.action_of(&m("merged")), Some(Action::Configured));
    let cm = live_cm(&cluster.client, "ssa", "merged").await.unwrap();
    assert_eq!(cm["data"], json!({"a": "1", "extra": "x"}));
    assert!(cm["metadata"]["annotations"][LAST_APPLIED_ANNOTATION].is_string());
}

#[tokio::test]
async fn rejected_objects_name_the_object_and_stop_the_stage() {
    let cluster = cluster();
    let applier = Applier::new(cluster.client.clone());
    applier
        .apply(vec![namespace("bad"), widget_crd()], &opts())
        .await
        .unwrap();

    // Schema violation: the whole stage is dry-run first, so the valid ConfigMap is not created.
    let err = applier
        .apply(
            vec![
                config_map("bad", "fine", json!({"a": "1"})),
                widget("bad", "broken", json!({"size": "huge"})),
            ],
            &opts(),
        )
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("Widget/bad/broken dry-run failed"),
        "{text}"
    );
    assert!(text.contains("spec.size"), "{text}");
    assert_eq!(err.reason(), Some("Invalid"));
    assert!(live_cm(&cluster.client, "bad", "fine").await.is_none());

    // Unknown kind: nothing at all is applied, not even stage one.
    let err = applier
        .apply(
            vec![
                namespace("never"),
                json!({"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g", "namespace": "never"}}),
            ],
            &opts(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ApplyError::UnknownKind { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("Gadget/never/g: the cluster serves no kind Gadget at example.com/v1"),
        "{err}"
    );
    let ns = live(
        &cluster.client,
        "v1",
        "Namespace",
        "namespaces",
        "",
        "never",
    )
    .await;
    assert!(ns.is_none());

    // Namespaced object without namespace.
    let err = applier
        .apply(
            vec![json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "loose"}})],
            &opts(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ApplyError::NamespaceRequired { .. }), "{err}");
    assert!(
        err.to_string()
            .starts_with("ConfigMap/loose: ConfigMap is a namespaced kind"),
        "{err}"
    );

    // Missing name.
    let err = applier
        .apply(
            vec![json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})],
            &opts(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, ApplyError::Malformed { index: 0, .. }),
        "{err}"
    );
}

#[tokio::test]
async fn immutable_field_changes_need_force() {
    let cluster = cluster();
    let applier = Applier::new(cluster.client.clone());
    let dep = deployment("imm", "web", "nginx:1.25");
    applier
        .apply(vec![namespace("imm"), dep.clone()], &opts())
        .await
        .unwrap();
    let uid = |v: &serde_json::Value| v["metadata"]["uid"].as_str().unwrap().to_string();
    let before = live(
        &cluster.client,
        "apps/v1",
        "Deployment",
        "deployments",
        "imm",
        "web",
    )
    .await
    .unwrap();

    // apps/v1 Deployment spec.selector is immutable.
    let mut changed = dep.clone();
    changed["spec"]["selector"]["matchLabels"]["tier"] = json!("front");
    changed["spec"]["template"]["metadata"]["labels"]["tier"] = json!("front");
    let err = applier
        .apply(vec![changed.clone()], &opts())
        .await
        .unwrap_err();
    assert!(matches!(err, ApplyError::Immutable { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with(
            "Deployment/imm/web dry-run failed: immutable field(s) changed (spec.selector"
        ),
        "{text}"
    );

    changed["metadata"]["annotations"] = json!({"kustomize.toolkit.fluxcd.io/force": "enabled"});
    let cs = applier.apply(vec![changed], &opts()).await.unwrap();
    assert_eq!(cs.to_string(), "Deployment/imm/web created");
    let after = live(
        &cluster.client,
        "apps/v1",
        "Deployment",
        "deployments",
        "imm",
        "web",
    )
    .await
    .unwrap();
    assert_ne!(uid(&before), uid(&after));
    assert_eq!(after["spec"]["selector"]["matchLabels"]["tier"], "front");
}

#[tokio::test]
async fn large_groups_are_read_with_one_list() {
    // Enough ConfigMaps in one namespace that live objects are read with a paged LIST.
    let cluster = cluster();
    let applier = Applier::new(cluster.client.clone());
    let mut objects = vec![namespace("many")];
    for i in 0..40 {
        objects.push(config_map(
            "many",
            &format!("cm-{i:02}"),
            json!({"i": i.to_string()}),
        ));
    }
    let cs = applier.apply(objects.clone(), &opts()).await.unwrap();
    assert_eq!(cs.count(Action::Created), 41);
    let cms: Api<DynamicObject> = Api::namespaced_with(
        cluster.client.clone(),
        "many",
        &kube::api::ApiResource::erase::<k8s_openapi::api::core::v1::ConfigMap>(&()),
    );
    cms.patch(
        "cm-07",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"i": "x"}})),
    )
    .await
    .unwrap();
    let cs = applier.apply(objects, &opts()).await.unwrap();
    assert_eq!(cs.to_string(), "ConfigMap/many/cm-07 configured");
    assert_eq!(cs.count(Action::Unchanged), 40);
    assert_eq!(
        live_cm(&cluster.client, "many", "cm-07").await.unwrap()["data"]["i"],
        "7"
    );
}
