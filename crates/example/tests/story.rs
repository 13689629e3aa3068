//! The EKS GitOps story end to end on the dev cluster with the whole controller, Debian's docker-registry and git http-backend: every step passes in order, and the outcomes are checked again with kubectl and git (not only through the story's own eyes).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use flotilla_controller::ControllerOptions;
use flotilla_example::{run, tune_controller, Progress, Step, StoryOptions, REGISTRY_BIN};
use flotilla_testkit::{free_port, DevCluster};
use serde_json::Value;

fn kubectl_json(kubeconfig: &Path, args: &[&str]) -> Value {
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .args(["-o", "json"])
        .env_remove("KUBECONFIG")
        .output()
        .expect("kubectl must be installed");
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}");
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// What kubectl sees of the Sock Shop: (Deployments, available ones, front-end image).
fn sock_shop(kubeconfig: &Path) -> (usize, usize, String) {
    let list = kubectl_json(kubeconfig, &["-n", "sock-shop", "get", "deployments"]);
    let items = list["items"].as_array().unwrap();
    let available = items
        .iter()
        .filter(|d| {
            d["status"]["conditions"].as_array().is_some_and(|c| {
                c.iter()
                    .any(|c| c["type"] == "Available" && c["status"] == "True")
            })
        })
        .count();
    let front_end = items
        .iter()
        .find(|d| d["metadata"]["name"] == "front-end")
        .map(|d| {
            d["spec"]["template"]["spec"]["containers"][0]["image"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .unwrap_or_default();
    (items.len(), available, front_end)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_walkthrough_runs_end_to_end_with_every_failure_path_reported() {
    assert!(
        Path::new(REGISTRY_BIN).exists(),
        "{REGISTRY_BIN} is missing: apt-get install docker-registry"
    );
    let cluster = DevCluster::start();
    let storage = tempfile::tempdir().unwrap();
    let mut controller = ControllerOptions {
        storage_path: storage.path().to_path_buf(),
        storage_addr: format!("127.0.0.1:{}", free_port()),
        metrics_addr: None,
        ..ControllerOptions::default()
    };
    tune_controller(&mut controller);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(flotilla_controller::run(
        cluster.new_client(),
        controller,
        async {
            let _ = stopped.await;
        },
    ));

    let work = tempfile::tempdir().unwrap();
    let opts = StoryOptions {
        work_dir: work.path().to_path_buf(),
        interval: Duration::from_secs(1),
        // Steps take 1-6 s here; a loaded 2-core CI machine gets ten times that, still bounded.
        step_timeout: Duration::from_secs(60),
        ..StoryOptions::default()
    };
    let kubeconfig = cluster.kubeconfig.clone();
    let mut passed = Vec::new();
    let mut notes = Vec::new();
    let mut independent = Vec::new();
    let summary = run(cluster.new_client(), &opts, &mut |p| match p {
        Progress::Started(_) => {}
        Progress::Note(step, text) => notes.push((*step, text.clone())),
        Progress::Passed { step, detail, .. } => {
            passed.push(*step);
            // kubectl's view at the steps where the running Sock Shop must be whole.
            if matches!(
                step,
                Step::SockShopUp | Step::RolledOut | Step::BrokenCommit | Step::RegistryDown
            ) {
                independent.push((*step, sock_shop(&kubeconfig), detail.clone()));
            }
        }
    })
    .await
    .unwrap_or_else(|e| panic!("the story failed: {e}\nnotes so far: {notes:#?}"));

    assert_eq!(passed, Step::ALL, "every step passed, in order");
    for (step, (total, available, image), detail) in &independent {
        assert_eq!((*total, *available), (14, 14), "at {step:?}: {detail}");
        if *step != Step::SockShopUp {
            assert_eq!(image, &summary.front_end_image, "at {step:?}");
        }
    }
    // Build 10 runs, by kubectl.
    let (_, _, image) = sock_shop(&kubeconfig);
    assert_eq!(image, summary.front_end_image);
    assert!(image.ends_with("-10"), "front-end runs build 10: {image}");
    assert!(
        image.starts_with("127.0.0.1:"),
        "from the local registry: {image}"
    );

    // Exactly one commit by the automation in microservices, changing one line.
    let bare = summary.served.join("microservices.git");
    let bot_commits = git(&bare, &["log", "--format=%H", "--author=fluxcdbot", "main"]);
    assert_eq!(
        bot_commits.lines().collect::<Vec<_>>(),
        [summary.automation_commit.as_str()]
    );
    let stat = git(
        &bare,
        &["show", "--numstat", "--format=", &summary.automation_commit],
    );
    assert_eq!(
        stat,
        "1\t1\tdeploy/kubernetes/overlays/development/kustomization.yaml"
    );
    let line = git(
        &bare,
        &[
            "show",
            &format!(
                "{}:deploy/kubernetes/overlays/development/kustomization.yaml",
                summary.automation_commit
            ),
        ],
    );
    let tag = image.rsplit_once(':').unwrap().1;
    assert!(
        line.contains(&format!(
            "newTag: {tag} # {{\"$imagepolicy\": \"sock-shop:sock-shop-front-end:tag\"}}"
        )),
        "{line}"
    );
    // The failure paths were shown as `flotilla get` tables with Ready False.
    for step in [
        Step::BrokenCommit,
        Step::WrongCredentials,
        Step::RegistryDown,
        Step::PolicyMatchesNothing,
    ] {
        assert!(
            notes
                .iter()
                .any(|(s, t)| *s == step && t.starts_with("$ flotilla get") && t.contains("False")),
            "{step:?} shows a failing table: {notes:#?}"
        );
    }
    eprintln!("story wall time: {:.1}s", summary.elapsed.as_secs_f64());

    let _ = stop.send(());
    let _ = tokio::time::timeout(Duration::from_secs(20), task).await;
}
