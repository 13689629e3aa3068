//! The story: publish the repositories, bootstrap, wait for each outcome the walkthrough promises, then break things on purpose and watch them reported and repaired.
//!
//! This file holds the public types, the step order and the plumbing; the steps themselves are
//! in [`rollout`] (1-8) and [`failures`] (9-13), what they look at in [`observe`].

use std::path::PathBuf;
use std::time::{Duration, Instant};

use flotilla_controller::ControllerOptions;
use flotilla_gitserver::{HttpAuth, HttpGitServer, ServeError};
use flotilla_image::push::PushError;

use crate::files::FILES;
use crate::git::{GitError, WorkTree};
use crate::registry::{LocalRegistry, RegistryError, REGISTRY_BIN};

/// The CodeCommit-style HTTPS Git credentials the local Git host demands.
const GIT_USER: &str = "sock-shop-dev-at-000000000000";
const GIT_PASSWORD: &str = "local-example-password";
const NS: &str = "sock-shop";
const FLUX_NS: &str = "flux-system";
const TENANT: &str = "sock-shop-tenant";
const POLICY: &str = "sock-shop-front-end";
const OVERLAY: &str = "deploy/kubernetes/overlays/development/kustomization.yaml";
const DEPLOYMENTS: usize = 14;
const POLL: Duration = Duration::from_millis(200);
/// Field manager of the hand edit, as `kubectl patch` records itself.
const HAND_EDIT_MANAGER: &str = "kubectl-patch";
const BOOTSTRAP_MANAGER: &str = "flotilla-bootstrap";

/// Settings of a run.
#[derive(Debug, Clone)]
pub struct StoryOptions {
    /// Where the served repositories, work trees and registry storage go (emptied first).
    pub work_dir: PathBuf,
    /// Written into every `interval`/`retryInterval` of the repositories and the sync objects.
    pub interval: Duration,
    /// How long any one step may take before the story fails.
    pub step_timeout: Duration,
    /// The Distribution registry binary.
    pub registry_bin: PathBuf,
}

impl Default for StoryOptions {
    fn default() -> Self {
        StoryOptions {
            work_dir: std::env::temp_dir().join("flotilla-example-eks-gitops"),
            interval: Duration::from_secs(2),
            step_timeout: Duration::from_secs(90),
            registry_bin: PathBuf::from(REGISTRY_BIN),
        }
    }
}

/// The steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// Git host, registry, the three repositories, the release running today (build 9).
    Publish,
    /// Sync manifests committed to the fleet repository and applied, with the Git secret.
    Bootstrap,
    /// The `infrastructure` and `apps` Kustomizations Ready at the fleet's revision.
    LayersReady,
    /// The tenant Kustomization Ready; all 14 Sock Shop Deployments available.
    SockShopUp,
    /// The app's CI builds a new commit and pushes build 10.
    CiPush,
    /// The ImagePolicy selects build 10.
    PolicySelects,
    /// One automation commit in the microservices repository, changing only the marked line.
    AutomationCommit,
    /// The front-end Deployment runs the build-10 image.
    RolledOut,
    /// A hand edit of a Deployment is reverted.
    DriftReverted,
    /// A broken overlay commit: reported, nothing running harmed, then reverted.
    BrokenCommit,
    /// Wrong Git credentials committed to the fleet: reported, nothing harmed, then reverted.
    WrongCredentials,
    /// The registry down: reported, nothing harmed, then back.
    RegistryDown,
    /// A policy matching no tag: reported, nothing harmed, then reverted.
    PolicyMatchesNothing,
}

impl Step {
    /// Every step, in the order they run.
    pub const ALL: [Step; 13] = [
        Step::Publish,
        Step::Bootstrap,
        Step::LayersReady,
        Step::SockShopUp,
        Step::CiPush,
        Step::PolicySelects,
        Step::AutomationCommit,
        Step::RolledOut,
        Step::DriftReverted,
        Step::BrokenCommit,
        Step::WrongCredentials,
        Step::RegistryDown,
        Step::PolicyMatchesNothing,
    ];

    /// One line saying what the step shows.
    pub fn title(self) -> &'static str {
        match self {
            Step::Publish => "publish fleet, microservices and app on the local Git host (basic auth); start the registry; CI pushes build 9",
            Step::Bootstrap => "bootstrap: commit gotk-components.yaml and gotk-sync.yaml to the fleet, create the Git secret, apply the sync",
            Step::LayersReady => "infrastructure and apps Kustomizations Ready",
            Step::SockShopUp => "Sock Shop up: tenant Kustomization Ready, 14 Deployments available",
            Step::CiPush => "the app's CI pushes build 10 (after build 9)",
            Step::PolicySelects => "ImagePolicy sock-shop-front-end selects build 10",
            Step::AutomationCommit => "ImageUpdateAutomation commits once to microservices, changing only the marked line",
            Step::RolledOut => "the front-end Deployment runs the build-10 image",
            Step::DriftReverted => "a hand edit (kubectl patch of a Deployment's replicas) is reverted",
            Step::BrokenCommit => "a broken overlay commit: reported, the running Sock Shop untouched, then reverted",
            Step::WrongCredentials => "wrong Git credentials: reported, nothing running harmed, then fixed",
            Step::RegistryDown => "the registry down: reported, nothing running harmed, then back",
            Step::PolicyMatchesNothing => "a policy matching no tag: reported, nothing running harmed, then reverted",
        }
    }
}

/// What the story reports as it goes.
#[derive(Debug, Clone)]
pub enum Progress {
    /// A step begins.
    Started(Step),
    /// A line worth showing while a step runs (commands, `flotilla get` tables, messages).
    Note(Step, String),
    /// A step's outcome was observed; `detail` is the evidence.
    Passed {
        /// The step.
        step: Step,
        /// What was observed.
        detail: String,
        /// How long the step took.
        elapsed: Duration,
    },
}

/// What a finished story leaves behind.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Wall time of the whole story.
    pub elapsed: Duration,
    /// The served bare repositories (`fleet.git`, `microservices.git`, `app.git`).
    pub served: PathBuf,
    /// The automation's commit in microservices.
    pub automation_commit: String,
    /// The image the front-end runs at the end.
    pub front_end_image: String,
}

/// Why the story stopped.
#[derive(Debug, thiserror::Error)]
pub enum StoryError {
    /// A git command failed.
    #[error(transparent)]
    Git(#[from] GitError),
    /// The registry could not run.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// The Git host could not start.
    #[error(transparent)]
    GitServer(#[from] ServeError),
    /// Pushing an image failed.
    #[error("CI push: {0}")]
    Push(#[from] PushError),
    /// A request to the cluster failed.
    #[error("{what}: {source}")]
    Kube {
        /// What was being done.
        what: String,
        /// The client error.
        #[source]
        source: kube::Error,
    },
    /// The work directory could not be prepared.
    #[error("work directory {dir}: {source}")]
    Io {
        /// The directory.
        dir: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A step's outcome did not come within the step timeout; `last` is what was seen last.
    #[error("step '{}': timed out waiting for {waiting_for}; last seen: {last}", step.title())]
    Timeout {
        /// The step.
        step: Step,
        /// The outcome awaited.
        waiting_for: String,
        /// The last observation.
        last: String,
    },
    /// A step's outcome was wrong (not merely late).
    #[error("step '{}': {detail}", step.title())]
    Check {
        /// The step.
        step: Step,
        /// What was wrong.
        detail: String,
    },
}

/// Controller settings the story needs on top of the caller's: dependencies and failures retried
/// within a second or two instead of Flux's 30 s, so each step shows within seconds.
pub fn tune_controller(opts: &mut ControllerOptions) {
    opts.requeue_dependency = Duration::from_secs(1);
    opts.min_retry_delay = Duration::from_millis(500);
    opts.max_retry_delay = Duration::from_secs(4);
}

/// Runs the whole story against a cluster whose controllers are running, reporting each step.
pub async fn run(
    client: kube::Client,
    opts: &StoryOptions,
    progress: &mut (dyn FnMut(&Progress) + Send),
) -> Result<Summary, StoryError> {
    let started = Instant::now();
    let mut story = Story::setup(client, opts, progress)?;
    let result = story.play().await;
    // The registry child process goes with the story, whatever happened.
    story.registry.stop();
    let (automation_commit, front_end_image) = result?;
    Ok(Summary {
        elapsed: started.elapsed(),
        served: story.served.clone(),
        automation_commit,
        front_end_image,
    })
}

/// Evidence of a step, or what was seen instead (for the timeout message).
type Seen<T> = Result<T, String>;

macro_rules! wait_until {
    ($story:ident, $step:expr, $what:expr, $check:expr) => {{
        let deadline = Instant::now() + $story.opts.step_timeout;
        loop {
            match $check {
                Ok(v) => break v,
                Err(last) => {
                    if Instant::now() > deadline {
                        return Err(StoryError::Timeout {
                            step: $step,
                            waiting_for: $what.to_string(),
                            last,
                        });
                    }
                }
            }
            tokio::time::sleep(POLL).await;
        }
    }};
}

// After the macro, so that the step modules see it.
mod failures;
mod observe;
mod rollout;
mod text;

struct Story<'a> {
    client: kube::Client,
    opts: &'a StoryOptions,
    progress: &'a mut (dyn FnMut(&Progress) + Send),
    served: PathBuf,
    server: HttpGitServer,
    registry: LocalRegistry,
    fleet: WorkTree,
    micro: WorkTree,
    app: WorkTree,
    step_started: Instant,
}

impl<'a> Story<'a> {
    fn setup(
        client: kube::Client,
        opts: &'a StoryOptions,
        progress: &'a mut (dyn FnMut(&Progress) + Send),
    ) -> Result<Story<'a>, StoryError> {
        progress(&Progress::Started(Step::Publish));
        let step_started = Instant::now();
        let served = opts.work_dir.join("served");
        let work = opts.work_dir.join("work");
        for dir in [&served, &work, &opts.work_dir.join("registry")] {
            if dir.exists() {
                std::fs::remove_dir_all(dir).map_err(|source| StoryError::Io {
                    dir: dir.clone(),
                    source,
                })?;
            }
        }
        let fleet = WorkTree::create(&served, &work, "fleet")?;
        let micro = WorkTree::create(&served, &work, "microservices")?;
        let app = WorkTree::create(&served, &work, "app")?;
        let server = HttpGitServer::start(
            &served,
            HttpAuth::Basic {
                user: GIT_USER.into(),
                password: GIT_PASSWORD.into(),
            },
        )?;
        let registry = LocalRegistry::start(&opts.registry_bin, &opts.work_dir.join("registry"))?;
        Ok(Story {
            client,
            opts,
            progress,
            served,
            server,
            registry,
            fleet,
            micro,
            app,
            step_started,
        })
    }

    async fn play(&mut self) -> Result<(String, String), StoryError> {
        self.publish().await?;
        self.bootstrap().await?;
        self.layers_ready().await?;
        self.sock_shop_up().await?;
        let tag10 = self.ci_push().await?;
        self.policy_selects(&tag10).await?;
        let commit = self.automation_commit(&tag10).await?;
        let image = self.rolled_out(&commit, &tag10).await?;
        self.drift_reverted().await?;
        self.broken_commit(&image).await?;
        self.wrong_credentials(&image).await?;
        self.registry_down(&image).await?;
        self.policy_matches_nothing(&image, &tag10).await?;
        Ok((commit, image))
    }

    fn start(&mut self, step: Step) {
        self.step_started = Instant::now();
        (self.progress)(&Progress::Started(step));
    }

    fn note(&mut self, step: Step, text: impl Into<String>) {
        (self.progress)(&Progress::Note(step, text.into()));
    }

    fn pass(&mut self, step: Step, detail: impl Into<String>) {
        (self.progress)(&Progress::Passed {
            step,
            detail: detail.into(),
            elapsed: self.step_started.elapsed(),
        });
    }

    fn image_name(&self) -> String {
        format!("{}/sock-shop/front-end", self.registry.host())
    }
}

fn kube_err(what: &str) -> impl FnOnce(kube::Error) -> StoryError + '_ {
    move |source| StoryError::Kube {
        what: what.to_string(),
        source,
    }
}
