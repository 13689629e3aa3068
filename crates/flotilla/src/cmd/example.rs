//! `flotilla dev --example eks-gitops`: the walkthrough story on the dev cluster, each step printed as it happens.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use flotilla_controller::ControllerOptions;
use flotilla_example::{Progress, Step, StoryOptions};
use tokio::sync::watch;

use crate::cli::DevRunArgs;
use crate::cmd::dev_cluster;
use crate::ui::fail;

/// Starts the controllers (tuned for the story), runs it, stops them; exit 0 when every step passed.
pub async fn run(
    client: kube::Client,
    mut options: ControllerOptions,
    args: &DevRunArgs,
    kubeconfig: &Path,
) -> anyhow::Result<ExitCode> {
    flotilla_example::tune_controller(&mut options);
    let work_dir = match &args.cluster.data_dir {
        Some(dir) => dir.join("example"),
        None => std::env::temp_dir().join(format!("flotilla-example-{}", std::process::id())),
    };
    let story = StoryOptions {
        work_dir: work_dir.clone(),
        ..StoryOptions::default()
    };
    let kc = kubeconfig.display();
    println!("Flotilla dev: the EKS GitOps walkthrough (examples/eks-gitops), on one machine.");
    println!("Each step below waits for its outcome in the cluster, then prints it with ✔.");
    println!("  kubeconfig: {kc}");
    println!("  repositories and registry: {}", work_dir.display());
    println!("  watch along from another terminal while it runs (the cluster stops at the end):");
    println!("    KUBECONFIG={kc} flotilla get ks -A --watch");
    println!("    KUBECONFIG={kc} flotilla get images all -A");
    println!("    KUBECONFIG={kc} kubectl -n sock-shop get deployments");
    println!(
        "  controllers' warnings and errors go to stderr: steps 10-13 break things on purpose, \
         so errors there are expected (hide them with 2>/dev/null or --log-level off)"
    );

    let (stop_tx, mut stop_rx) = watch::channel(false);
    let controller = tokio::spawn(flotilla_controller::run(
        client.clone(),
        options,
        async move {
            let _ = stop_rx.wait_for(|stopped| *stopped).await;
        },
    ));
    let total = Step::ALL.len();
    let mut print = |p: &Progress| match p {
        Progress::Started(step) => {
            let n = Step::ALL
                .iter()
                .position(|s| s == step)
                .map_or(0, |i| i + 1);
            println!("\n[{n:>2}/{total}] {}", step.title());
        }
        Progress::Note(_, text) => {
            for line in text.lines() {
                println!("        │ {line}");
            }
        }
        Progress::Passed {
            detail, elapsed, ..
        } => println!("        ✔ {detail} ({:.1}s)", elapsed.as_secs_f64()),
    };
    let outcome = tokio::select! {
        r = flotilla_example::run(client, &story, &mut print) => Some(r),
        s = dev_cluster::wait_for_signal() => { s?; None }
    };
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(Duration::from_secs(20), controller).await;
    match outcome {
        Some(Ok(summary)) => {
            let served = summary.served.display();
            println!(
                "\nEvery step passed in {:.1}s; the dev cluster and controllers are stopped.",
                summary.elapsed.as_secs_f64()
            );
            println!("What to try next:");
            println!(
                "  git -C {served}/microservices.git show {}   # the automation's one-line commit",
                summary
                    .automation_commit
                    .get(..7)
                    .unwrap_or(&summary.automation_commit)
            );
            println!("  git -C {served}/fleet.git log --oneline      # bootstrap, the broken commits and their reverts");
            println!("  examples/eks-gitops/README.md                  # the three repositories the story published");
            println!(
                "  docs/eks-gitops.md                             # the same story on Amazon EKS"
            );
            println!("  flotilla dev --bootstrap ./my-fleet --path clusters/dev   # your own fleet repository");
            Ok(ExitCode::SUCCESS)
        }
        Some(Err(e)) => {
            println!("        ✗ {e}");
            Err(fail(1, format!("the example stopped: {e}")))
        }
        None => {
            eprintln!("interrupted");
            Ok(ExitCode::from(130))
        }
    }
}
