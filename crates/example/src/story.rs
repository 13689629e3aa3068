//! The story: publish the repositories, bootstrap, wait for each outcome the walkthrough promises, then break things on purpose and watch them reported and repaired.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use flotilla_controller::ControllerOptions;
use flotilla_gitserver::{base64, HttpAuth, HttpGitServer, ServeError};
use flotilla_image::push::{push_image, PushError, PushImage};
use flotilla_image::{Credentials, ImageName, RegistryOptions};
use flotilla_ops::get::{headers, ready_and_message, row};
use flotilla_ops::FluxKind;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DynamicObject, ListParams, Patch, PatchParams};
use serde_json::{json, Value};

use crate::files::FILES;
use crate::git::{git, GitError, WorkTree};
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

    // ---- steps -------------------------------------------------------------------------

    async fn publish(&mut self) -> Result<(), StoryError> {
        let interval = go_duration(self.opts.interval);
        for (path, contents) in FILES {
            if let Some(p) = path.strip_prefix("app/") {
                self.app.write(p, contents)?;
            }
        }
        let app_sha = self.app.commit_and_push("front-end: import")?;
        let tag9 = ci_tag(&app_sha, 9);
        let registry = self.registry.host();
        let micro_url = self.server.url("microservices.git");
        let fill = |text: &str| {
            shorten_intervals(
                &text
                    .replace("__REGISTRY__", &registry)
                    .replace("__FRONT_END_TAG__", &tag9)
                    .replace("__MICROSERVICES_REPO_URL__", &micro_url)
                    .replace("__BASE64_USERNAME__", &base64(GIT_USER.as_bytes()))
                    .replace("__BASE64_PASSWORD__", &base64(GIT_PASSWORD.as_bytes())),
                &interval,
            )
        };
        for (path, contents) in FILES {
            if let Some(p) = path.strip_prefix("microservices/") {
                self.micro.write(p, &fill(contents))?;
            } else if let Some(p) = path.strip_prefix("fleet/") {
                self.fleet.write(p, &fill(contents))?;
            }
        }
        let micro_sha = self
            .micro
            .commit_and_push("Sock Shop with a development overlay")?;
        let fleet_sha = self
            .fleet
            .commit_and_push("fleet: infrastructure and apps layers")?;
        self.push_build(&tag9).await?;
        self.pass(
            Step::Publish,
            format!(
                "git host http://127.0.0.1:{} (basic auth as {GIT_USER}): fleet.git {}, microservices.git {}, app.git {}; registry {registry}; CI build 9 pushed as {}:{tag9} (the release the overlay starts on); intervals {interval}",
                self.server.port,
                short(&fleet_sha),
                short(&micro_sha),
                short(&app_sha),
                self.image_name(),
            ),
        );
        Ok(())
    }

    async fn bootstrap(&mut self) -> Result<(), StoryError> {
        self.start(Step::Bootstrap);
        let interval = go_duration(self.opts.interval);
        let fleet_url = self.server.url("fleet.git");
        let components = flotilla_api::crds_yaml().map_err(|e| StoryError::Check {
            step: Step::Bootstrap,
            detail: format!("generating the CRDs: {e}"),
        })?;
        let sync = sync_objects(&fleet_url, &interval);
        let sync_yaml = format!(
            "# This manifest was generated by flotilla bootstrap. DO NOT EDIT.\n---\n{}---\n{}",
            to_yaml(&sync[0]),
            to_yaml(&sync[1])
        );
        self.fleet.write(
            "clusters/dev-cluster/flux-system/gotk-components.yaml",
            &format!(
                "# Flotilla's CRDs (the controllers run in flotilla dev itself).\n{components}"
            ),
        )?;
        self.fleet.write(
            "clusters/dev-cluster/flux-system/gotk-sync.yaml",
            &sync_yaml,
        )?;
        let sha = self.fleet.commit_and_push("Add Flotilla sync manifests")?;
        // As `flux bootstrap git --username --password`: the Git secret lives only in the cluster.
        let secret = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": FLUX_NS, "namespace": FLUX_NS},
            "type": "Opaque",
            "data": {"username": base64(GIT_USER.as_bytes()), "password": base64(GIT_PASSWORD.as_bytes())},
        });
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), FLUX_NS);
        secrets
            .patch(
                FLUX_NS,
                &PatchParams::apply(BOOTSTRAP_MANAGER).force(),
                &Patch::Apply(&secret),
            )
            .await
            .map_err(kube_err("creating Secret flux-system/flux-system"))?;
        for (obj, kind) in sync
            .iter()
            .zip([FluxKind::GitRepository, FluxKind::Kustomization])
        {
            let api: Api<DynamicObject> =
                Api::namespaced_with(self.client.clone(), FLUX_NS, &kind.api_resource());
            api.patch(
                FLUX_NS,
                &PatchParams::apply(BOOTSTRAP_MANAGER).force(),
                &Patch::Apply(obj),
            )
            .await
            .map_err(kube_err(&format!("applying {} flux-system", kind.kind())))?;
        }
        let revision = format!("main@sha1:{sha}");
        wait_until!(
            self,
            Step::Bootstrap,
            format!("Kustomization flux-system/flux-system Ready at {revision}"),
            self.applied(FluxKind::Kustomization, FLUX_NS, FLUX_NS, &revision)
                .await?
        );
        self.pass(
            Step::Bootstrap,
            format!("GitRepository flux-system → {fleet_url} (secret flux-system); Kustomization flux-system Ready at {}", short_rev(&revision)),
        );
        Ok(())
    }

    async fn layers_ready(&mut self) -> Result<(), StoryError> {
        self.start(Step::LayersReady);
        let sha = git(&self.fleet.dir, &["rev-parse", "HEAD"])?;
        let revision = format!("main@sha1:{sha}");
        for name in ["infrastructure", "apps"] {
            wait_until!(
                self,
                Step::LayersReady,
                format!("Kustomization flux-system/{name} Ready at {revision}"),
                self.applied(FluxKind::Kustomization, FLUX_NS, name, &revision)
                    .await?
            );
        }
        let table = self.table(FluxKind::Kustomization, FLUX_NS).await?;
        self.note(Step::LayersReady, table);
        self.pass(
            Step::LayersReady,
            format!("infrastructure and apps Ready at {}", short_rev(&revision)),
        );
        Ok(())
    }

    async fn sock_shop_up(&mut self) -> Result<(), StoryError> {
        self.start(Step::SockShopUp);
        let sha = git(&self.micro.dir, &["rev-parse", "HEAD"])?;
        let revision = format!("main@sha1:{sha}");
        wait_until!(
            self,
            Step::SockShopUp,
            format!("Kustomization sock-shop/{TENANT} Ready at {revision}"),
            self.applied(FluxKind::Kustomization, NS, TENANT, &revision)
                .await?
        );
        let available = wait_until!(
            self,
            Step::SockShopUp,
            format!("{DEPLOYMENTS} Deployments available in sock-shop"),
            self.deployments_available().await?
        );
        self.pass(
            Step::SockShopUp,
            format!(
                "{available}/{DEPLOYMENTS} Deployments available in sock-shop; front-end runs {}",
                self.front_end_image().await?
            ),
        );
        Ok(())
    }

    async fn ci_push(&mut self) -> Result<String, StoryError> {
        self.start(Step::CiPush);
        let page = self.app.read("src/index.html")?;
        self.app.write(
            "src/index.html",
            &page.replace("</body>", "<p>New arrivals.</p></body>"),
        )?;
        let sha = self.app.commit_and_push("front-end: new arrivals")?;
        let tag10 = ci_tag(&sha, 10);
        self.note(
            Step::CiPush,
            format!(
                "app commit {}: build 10 → {}:{tag10}",
                short(&sha),
                self.image_name()
            ),
        );
        let digest = self.push_build(&tag10).await?;
        self.pass(
            Step::CiPush,
            format!("{}:{tag10} pushed ({digest})", self.image_name()),
        );
        Ok(tag10)
    }

    async fn policy_selects(&mut self, tag10: &str) -> Result<(), StoryError> {
        self.start(Step::PolicySelects);
        wait_until!(
            self,
            Step::PolicySelects,
            format!("ImagePolicy sock-shop/{POLICY} latest tag {tag10}"),
            self.latest_tag()
                .await?
                .filter(|t| t == tag10)
                .ok_or_else(|| "another tag".to_string())
        );
        let table = self.table(FluxKind::ImagePolicy, NS).await?;
        self.note(Step::PolicySelects, table);
        self.pass(
            Step::PolicySelects,
            format!("latestRef {}:{tag10}", self.image_name()),
        );
        Ok(())
    }

    async fn automation_commit(&mut self, tag10: &str) -> Result<String, StoryError> {
        self.start(Step::AutomationCommit);
        let bare = self.served.join("microservices.git");
        let seed = git(&self.micro.dir, &["rev-parse", "HEAD"])?;
        let head = wait_until!(
            self,
            Step::AutomationCommit,
            "a new commit on microservices main",
            {
                let head = git(&bare, &["rev-parse", "main"])?;
                if head == seed {
                    Err("no new commit".to_string())
                } else {
                    Ok(head)
                }
            }
        );
        let commits = git(&bare, &["rev-list", &format!("{seed}..{head}")])?;
        let count = commits.lines().count();
        if count != 1 {
            return Err(StoryError::Check {
                step: Step::AutomationCommit,
                detail: format!("expected one automation commit, found {count}: {commits}"),
            });
        }
        let author = git(&bare, &["log", "-1", "--format=%an <%ae>", &head])?;
        let files = git(&bare, &["diff", "--name-only", &seed, &head])?;
        let diff = git(&bare, &["diff", "--unified=0", &seed, &head])?;
        let changed: Vec<&str> = diff
            .lines()
            .filter(|l| {
                (l.starts_with('-') || l.starts_with('+'))
                    && !l.starts_with("---")
                    && !l.starts_with("+++")
            })
            .collect();
        let marker = "# {\"$imagepolicy\": \"sock-shop:sock-shop-front-end:tag\"}";
        let ok = files == OVERLAY
            && changed.len() == 2
            && changed[0].starts_with('-')
            && changed[0].contains(marker)
            && changed[1] == format!("+    newTag: {tag10} {marker}");
        if !ok {
            return Err(StoryError::Check {
                step: Step::AutomationCommit,
                detail: format!(
                    "the automation commit should change only the marked newTag line of {OVERLAY}; files: {files}; diff: {diff}"
                ),
            });
        }
        self.note(
            Step::AutomationCommit,
            format!("{}\n{}", changed[0], changed[1]),
        );
        self.pass(
            Step::AutomationCommit,
            format!("{} by {author}: {OVERLAY}, one line", short(&head)),
        );
        Ok(head)
    }

    async fn rolled_out(&mut self, commit: &str, tag10: &str) -> Result<String, StoryError> {
        self.start(Step::RolledOut);
        let revision = format!("main@sha1:{commit}");
        let want = format!("{}:{tag10}", self.image_name());
        wait_until!(
            self,
            Step::RolledOut,
            format!("Kustomization sock-shop/{TENANT} Ready at {revision}"),
            self.applied(FluxKind::Kustomization, NS, TENANT, &revision)
                .await?
        );
        wait_until!(
            self,
            Step::RolledOut,
            format!("front-end running {want}"),
            {
                let image = self.front_end_image().await?;
                if image == want {
                    self.deployments_available().await?.map(|_| ())
                } else {
                    Err(format!("front-end image {image}"))
                }
            }
        );
        self.pass(
            Step::RolledOut,
            format!(
                "front-end runs {want} ({TENANT} at {})",
                short_rev(&revision)
            ),
        );
        Ok(want)
    }

    async fn drift_reverted(&mut self) -> Result<(), StoryError> {
        self.start(Step::DriftReverted);
        let deployments: Api<Deployment> = Api::namespaced(self.client.clone(), NS);
        let patched = deployments
            .patch(
                "catalogue",
                &PatchParams {
                    field_manager: Some(HAND_EDIT_MANAGER.into()),
                    ..PatchParams::default()
                },
                &Patch::Merge(json!({"spec": {"replicas": 3}})),
            )
            .await
            .map_err(kube_err("patching Deployment sock-shop/catalogue"))?;
        let edited = patched.spec.replicas.unwrap_or(1);
        self.note(
            Step::DriftReverted,
            format!("kubectl -n sock-shop patch deployment catalogue -p '{{\"spec\":{{\"replicas\":3}}}}' → replicas {edited}"),
        );
        let edited_at = Instant::now();
        wait_until!(
            self,
            Step::DriftReverted,
            "Deployment sock-shop/catalogue back to 1 replica",
            {
                let d = deployments
                    .get("catalogue")
                    .await
                    .map_err(kube_err("reading Deployment sock-shop/catalogue"))?;
                match d.spec.replicas {
                    Some(1) => Ok(()),
                    r => Err(format!("replicas {r:?}")),
                }
            }
        );
        self.pass(
            Step::DriftReverted,
            format!(
                "replicas {edited} → 1 after {:.1}s, by {TENANT}'s next apply",
                edited_at.elapsed().as_secs_f64()
            ),
        );
        Ok(())
    }

    async fn broken_commit(&mut self, image: &str) -> Result<(), StoryError> {
        self.start(Step::BrokenCommit);
        let good = self.status_of(FluxKind::Kustomization, NS, TENANT).await?;
        let good_rev = good["status"]["lastAppliedRevision"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        self.micro.pull()?;
        let overlay = self.micro.read(OVERLAY)?;
        self.micro.write(
            OVERLAY,
            &overlay.replace(
                "  - ../../base\n",
                "  - ../../base\n  - front-end-canary.yaml\n",
            ),
        )?;
        let broken = self
            .micro
            .commit_and_push("development: add the front-end canary (file forgotten)")?;
        let broken_rev = format!("main@sha1:{broken}");
        self.note(
            Step::BrokenCommit,
            format!(
                "microservices {}: overlay lists front-end-canary.yaml, which is not committed",
                short(&broken)
            ),
        );
        let message = wait_until!(
            self,
            Step::BrokenCommit,
            format!("Kustomization sock-shop/{TENANT} failing at {broken_rev}"),
            self.failing(FluxKind::Kustomization, NS, TENANT, Some(&broken_rev))
                .await?
        );
        self.check_untouched(Step::BrokenCommit, image).await?;
        let now = self.status_of(FluxKind::Kustomization, NS, TENANT).await?;
        if now["status"]["lastAppliedRevision"].as_str() != Some(good_rev.as_str()) {
            return Err(StoryError::Check {
                step: Step::BrokenCommit,
                detail: format!(
                    "lastAppliedRevision moved from {good_rev}: {}",
                    now["status"]["lastAppliedRevision"]
                ),
            });
        }
        let table = self.table(FluxKind::Kustomization, NS).await?;
        self.note(Step::BrokenCommit, table);
        let fixed = self.micro.revert_last()?;
        let fixed_rev = format!("main@sha1:{fixed}");
        wait_until!(
            self,
            Step::BrokenCommit,
            format!("Kustomization sock-shop/{TENANT} Ready at the revert {fixed_rev}"),
            self.applied(FluxKind::Kustomization, NS, TENANT, &fixed_rev)
                .await?
        );
        self.pass(
            Step::BrokenCommit,
            format!("reported \"{message}\"; {DEPLOYMENTS} Deployments still available, front-end still {image}, last applied stayed {}; Ready again at the revert {}", short_rev(&good_rev), short(&fixed)),
        );
        Ok(())
    }

    async fn wrong_credentials(&mut self, image: &str) -> Result<(), StoryError> {
        self.start(Step::WrongCredentials);
        let file = "apps/base/sock-shop/basic-access-auth.yaml";
        self.fleet.pull()?;
        let secret = self.fleet.read(file)?;
        self.fleet.write(
            file,
            &secret.replace(
                &base64(GIT_PASSWORD.as_bytes()),
                &base64(b"pasted-the-wrong-password"),
            ),
        )?;
        let sha = self
            .fleet
            .commit_and_push("sock-shop: new CodeCommit credentials")?;
        self.note(
            Step::WrongCredentials,
            format!("fleet {}: {file} now holds a wrong password", short(&sha)),
        );
        let message = wait_until!(
            self,
            Step::WrongCredentials,
            format!("GitRepository sock-shop/{TENANT} failing"),
            self.failing(FluxKind::GitRepository, NS, TENANT, None)
                .await?
        );
        self.check_untouched(Step::WrongCredentials, image).await?;
        let table = self.table(FluxKind::GitRepository, NS).await?;
        self.note(Step::WrongCredentials, table);
        let fixed = self.fleet.revert_last()?;
        wait_until!(
            self,
            Step::WrongCredentials,
            format!("GitRepository sock-shop/{TENANT} Ready again"),
            self.ready(FluxKind::GitRepository, NS, TENANT).await?
        );
        self.pass(
            Step::WrongCredentials,
            format!("reported \"{message}\"; Sock Shop untouched; Ready again after the fleet revert {}", short(&fixed)),
        );
        Ok(())
    }

    async fn registry_down(&mut self, image: &str) -> Result<(), StoryError> {
        self.start(Step::RegistryDown);
        self.registry.stop();
        self.note(
            Step::RegistryDown,
            format!("registry {} stopped", self.registry.host()),
        );
        let message = wait_until!(
            self,
            Step::RegistryDown,
            format!("ImageRepository sock-shop/{POLICY} failing"),
            self.failing(FluxKind::ImageRepository, NS, POLICY, None)
                .await?
        );
        self.check_untouched(Step::RegistryDown, image).await?;
        let table = self.table(FluxKind::ImageRepository, NS).await?;
        self.note(Step::RegistryDown, table);
        self.registry.restart()?;
        wait_until!(
            self,
            Step::RegistryDown,
            format!("ImageRepository sock-shop/{POLICY} Ready again"),
            self.ready(FluxKind::ImageRepository, NS, POLICY).await?
        );
        self.pass(
            Step::RegistryDown,
            format!("reported \"{message}\"; Sock Shop untouched; Ready again once the registry was back"),
        );
        Ok(())
    }

    async fn policy_matches_nothing(&mut self, image: &str, tag10: &str) -> Result<(), StoryError> {
        self.start(Step::PolicyMatchesNothing);
        let file = "apps/overlays/development/sock-shop/policy.yaml";
        let bare = self.served.join("microservices.git");
        let micro_head = git(&bare, &["rev-parse", "main"])?;
        self.fleet.pull()?;
        let policy = self.fleet.read(file)?;
        self.fleet
            .write(file, &policy.replace("'^main-", "'^release-"))?;
        let sha = self
            .fleet
            .commit_and_push("sock-shop: follow release builds")?;
        self.note(
            Step::PolicyMatchesNothing,
            format!("fleet {}: the policy pattern is now '^release-[a-f0-9]+-(?P<build>[0-9]+)'; the registry has only main-* tags", short(&sha)),
        );
        let message = wait_until!(
            self,
            Step::PolicyMatchesNothing,
            format!("ImagePolicy sock-shop/{POLICY} failing"),
            self.failing(FluxKind::ImagePolicy, NS, POLICY, None)
                .await?
        );
        self.check_untouched(Step::PolicyMatchesNothing, image)
            .await?;
        if self.latest_tag().await?.as_deref() != Some(tag10) {
            return Err(StoryError::Check {
                step: Step::PolicyMatchesNothing,
                detail: format!("the policy's latestRef changed from {tag10}"),
            });
        }
        if git(&bare, &["rev-parse", "main"])? != micro_head {
            return Err(StoryError::Check {
                step: Step::PolicyMatchesNothing,
                detail: "the automation committed while the policy matched nothing".into(),
            });
        }
        let table = self.table(FluxKind::ImagePolicy, NS).await?;
        self.note(Step::PolicyMatchesNothing, table);
        let fixed = self.fleet.revert_last()?;
        wait_until!(
            self,
            Step::PolicyMatchesNothing,
            format!("ImagePolicy sock-shop/{POLICY} Ready again"),
            self.ready(FluxKind::ImagePolicy, NS, POLICY).await?
        );
        self.pass(
            Step::PolicyMatchesNothing,
            format!("reported \"{message}\"; latestRef kept {tag10}, no commit, Sock Shop untouched; Ready again after the fleet revert {}", short(&fixed)),
        );
        Ok(())
    }

    // ---- observations ------------------------------------------------------------------

    async fn push_build(&self, tag: &str) -> Result<String, StoryError> {
        let name = ImageName::parse(&self.image_name()).map_err(|e| StoryError::Check {
            step: Step::CiPush,
            detail: e.to_string(),
        })?;
        let image = PushImage {
            config: json!({"architecture": "amd64", "os": "linux",
                "config": {"Labels": {"org.opencontainers.image.version": tag}}})
            .to_string()
            .into_bytes(),
            layers: vec![format!("front-end {tag}\n").into_bytes()],
        };
        let opts = RegistryOptions {
            credentials: Credentials::Anonymous,
            insecure: true,
            ..RegistryOptions::default()
        };
        Ok(push_image(&name, tag, &image, &opts).await?)
    }

    async fn status_of(&self, kind: FluxKind, ns: &str, name: &str) -> Result<Value, StoryError> {
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), ns, &kind.api_resource());
        let obj = api
            .get_opt(name)
            .await
            .map_err(kube_err(&format!("reading {} {ns}/{name}", kind.kind())))?;
        Ok(obj
            .and_then(|o| serde_json::to_value(o).ok())
            .unwrap_or(Value::Null))
    }

    /// Ready=True for the current generation.
    async fn ready(&self, kind: FluxKind, ns: &str, name: &str) -> Result<Seen<()>, StoryError> {
        let obj = self.status_of(kind, ns, name).await?;
        if obj.is_null() {
            return Ok(Err("not created yet".into()));
        }
        let (status, message) = ready_and_message(&obj);
        let current = obj["status"]["observedGeneration"] == obj["metadata"]["generation"];
        Ok(if status == "True" && current {
            Ok(())
        } else {
            Err(format!("Ready={status}: {message}"))
        })
    }

    /// Ready=True with `revision` applied (Kustomization) or fetched (GitRepository).
    async fn applied(
        &self,
        kind: FluxKind,
        ns: &str,
        name: &str,
        revision: &str,
    ) -> Result<Seen<()>, StoryError> {
        if let Err(last) = self.ready(kind, ns, name).await? {
            return Ok(Err(last));
        }
        let obj = self.status_of(kind, ns, name).await?;
        let got = match kind {
            FluxKind::GitRepository => obj["status"]["artifact"]["revision"].as_str(),
            _ => obj["status"]["lastAppliedRevision"].as_str(),
        };
        Ok(if got == Some(revision) {
            Ok(())
        } else {
            Err(format!("Ready at {}", got.unwrap_or("nothing")))
        })
    }

    /// Ready=False (at `revision`, when given); returns the condition's message.
    async fn failing(
        &self,
        kind: FluxKind,
        ns: &str,
        name: &str,
        revision: Option<&str>,
    ) -> Result<Seen<String>, StoryError> {
        let obj = self.status_of(kind, ns, name).await?;
        let (status, message) = ready_and_message(&obj);
        let at = obj["status"]["lastAttemptedRevision"].as_str();
        Ok(
            if status == "False" && revision.is_none_or(|r| at == Some(r)) {
                Ok(message)
            } else {
                Err(format!("Ready={status}: {message}"))
            },
        )
    }

    async fn latest_tag(&self) -> Result<Option<String>, StoryError> {
        let obj = self.status_of(FluxKind::ImagePolicy, NS, POLICY).await?;
        Ok(obj["status"]["latestRef"]["tag"]
            .as_str()
            .map(str::to_string))
    }

    /// All 14 Deployments with every replica available.
    async fn deployments_available(&self) -> Result<Seen<usize>, StoryError> {
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), NS);
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(kube_err("listing Deployments in sock-shop"))?;
        let total = list.items.len();
        let available = list
            .items
            .iter()
            .filter(|d| {
                let want = d.spec.replicas.unwrap_or(1);
                let status = d.status.as_ref();
                status.and_then(|s| s.available_replicas).unwrap_or(0) >= want
                    && status.and_then(|s| s.updated_replicas).unwrap_or(0) >= want
                    && status.and_then(|s| s.observed_generation) == d.metadata.generation
            })
            .count();
        Ok(if total == DEPLOYMENTS && available == DEPLOYMENTS {
            Ok(available)
        } else {
            Err(format!("{available} of {total} Deployments available"))
        })
    }

    async fn front_end_image(&self) -> Result<String, StoryError> {
        let api: Api<Deployment> = Api::namespaced(self.client.clone(), NS);
        let d = api
            .get("front-end")
            .await
            .map_err(kube_err("reading Deployment sock-shop/front-end"))?;
        Ok(d.spec
            .template
            .spec
            .and_then(|s| s.containers.first().and_then(|c| c.image.clone()))
            .unwrap_or_default())
    }

    /// The running Sock Shop is as the last good revision left it.
    async fn check_untouched(&self, step: Step, image: &str) -> Result<(), StoryError> {
        if let Err(seen) = self.deployments_available().await? {
            return Err(StoryError::Check {
                step,
                detail: format!("the running Sock Shop was harmed: {seen}"),
            });
        }
        let now = self.front_end_image().await?;
        if now != image {
            return Err(StoryError::Check {
                step,
                detail: format!("the front-end image changed from {image} to {now}"),
            });
        }
        Ok(())
    }

    /// `flotilla get <kind> -n <ns>` as the CLI prints it.
    async fn table(&self, kind: FluxKind, ns: &str) -> Result<String, StoryError> {
        let api: Api<DynamicObject> =
            Api::namespaced_with(self.client.clone(), ns, &kind.api_resource());
        let list = api
            .list(&ListParams::default())
            .await
            .map_err(kube_err(&format!("listing {} in {ns}", kind.plural())))?;
        let rows: Vec<Vec<String>> = list
            .items
            .iter()
            .filter_map(|o| serde_json::to_value(o).ok())
            .map(|o| row(kind, &o, false, false))
            .collect();
        Ok(format!(
            "$ flotilla get {} -n {ns}\n{}",
            flotilla_ops::reconcile::cli_words(kind),
            flotilla_ops::table::render(&headers(kind, false), &rows).trim_end()
        ))
    }
}

fn kube_err(what: &str) -> impl FnOnce(kube::Error) -> StoryError + '_ {
    move |source| StoryError::Kube {
        what: what.to_string(),
        source,
    }
}

/// The GitRepository and Kustomization `flux-system` that bootstrap writes into gotk-sync.yaml.
fn sync_objects(url: &str, interval: &str) -> [Value; 2] {
    [
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": FLUX_NS, "namespace": FLUX_NS},
            "spec": {"interval": interval, "ref": {"branch": "main"},
                     "secretRef": {"name": FLUX_NS}, "url": url},
        }),
        json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": FLUX_NS, "namespace": FLUX_NS},
            "spec": {"interval": interval, "path": "./clusters/dev-cluster", "prune": true,
                     "sourceRef": {"kind": "GitRepository", "name": FLUX_NS}},
        }),
    ]
}

fn to_yaml(v: &Value) -> String {
    flotilla_yaml::to_string_multi(std::slice::from_ref(v))
}

/// `main-<sha7>-<build>`, the walkthrough's CodeBuild tag.
fn ci_tag(sha: &str, build: u32) -> String {
    format!("main-{}-{build}", short(sha))
}

fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

fn short_rev(rev: &str) -> String {
    match rev.split_once("@sha1:") {
        Some((b, sha)) => format!("{b}@sha1:{}", short(sha)),
        None => rev.to_string(),
    }
}

/// Go duration text for `d` (whole seconds, else milliseconds).
fn go_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// Every `interval:` and `retryInterval:` value replaced by `interval`, the rest untouched.
fn shorten_intervals(text: &str, interval: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let indent = &line[..line.len() - trimmed.len()];
        match ["interval: ", "retryInterval: "]
            .iter()
            .find(|k| trimmed.starts_with(*k))
        {
            Some(key) => {
                out.push_str(indent);
                out.push_str(key);
                out.push_str(interval);
                if line.ends_with('\n') {
                    out.push('\n');
                }
            }
            None => out.push_str(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    #[test]
    fn intervals_are_shortened_and_nothing_else_changes() {
        let text = "spec:\n  interval: 10m0s\n  retryInterval: 5m0s\n  timeout: 5m\n  path: ./x\n";
        assert_eq!(
            shorten_intervals(text, "2s"),
            "spec:\n  interval: 2s\n  retryInterval: 2s\n  timeout: 5m\n  path: ./x\n"
        );
    }

    #[test]
    fn ci_tags_match_the_policy_pattern() {
        let tag = ci_tag("d480788aaaaaaaaa", 10);
        assert_eq!(tag, "main-d480788-10");
        assert_eq!(go_duration(Duration::from_millis(1500)), "1500ms");
        assert_eq!(go_duration(Duration::from_secs(2)), "2s");
    }

    #[test]
    fn every_example_file_is_compiled_in() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/eks-gitops");
        let mut on_disk = Vec::new();
        for top in ["fleet", "microservices", "app"] {
            collect(&root, &root.join(top), &mut on_disk);
        }
        on_disk.sort();
        let mut listed: Vec<String> = FILES.iter().map(|(p, _)| p.to_string()).collect();
        listed.sort();
        assert_eq!(listed, on_disk, "regenerate crates/example/src/files.rs");
    }

    fn collect(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).expect("example directory") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                collect(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).expect("below root");
                out.push(rel.to_string_lossy().into_owned());
            }
        }
    }
}
