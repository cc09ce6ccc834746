//! Whole-state orchestration: runs one task per release over the dependency graph with
//! per-node scheduling ([`crate::graph::Scheduler`]: a release starts the moment everything it waits
//! for has finished, never in layers), at most `concurrency` at once. A failed release marks
//! everything that waits on it skipped (with the reason) while independent branches go on.
//! Cancellation starts nothing new and lets running releases finish, so no release is left
//! pending. Namespaces shared by many releases are created once per run.
//!
//! It does not render, plan or print: tasks come ready-made from the caller, and everything
//! that happens is told to a [`Reporter`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;
use tokio::task::JoinSet;

use super::{ActionOptions, Converged, DesiredRelease, Engine, Interrupt, Level, Progress, Step, UninstallOptions};
use crate::cluster::{ClusterError, ObjectRef};
use crate::error::{Chain, ReleaseError};
use crate::graph::{Order, ReleaseGraph, Scheduler};
use crate::plan::drift::IgnoreRule;

/// What to do with one release.
#[derive(Clone, Debug)]
pub enum Task {
    /// Install or upgrade to the desired release.
    Converge {
        desired: Box<DesiredRelease>,
        options: ActionOptions,
        /// Whether a deployed record exists (reported as "upgraded" rather than "installed").
        upgrade: bool,
        /// Write a revision even when, once the Lease is held, the latest already is the
        /// desired release (`apply --force`); otherwise such a release ends unchanged.
        force: bool,
        /// Correct the new revision's drift afterwards, under these ignore rules (a client-side
        /// upgrade patches only what changed between revisions).
        correct_drift: Option<Vec<IgnoreRule>>,
    },
    /// Correct the drift of the deployed revision; nothing else differs.
    CorrectDrift {
        namespace: String,
        name: String,
        rules: Vec<IgnoreRule>,
        timeout: Duration,
    },
    /// Uninstall.
    Uninstall {
        namespace: String,
        name: String,
        options: UninstallOptions,
    },
    /// Nothing to change; finishes at once (dependents need not wait).
    Unchanged,
    /// Cannot be converged (it failed to render): fails at once, skipping its dependents.
    Broken { error: Arc<ReleaseError> },
}

/// How a release ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutcomeKind {
    Installed,
    Upgraded,
    Uninstalled,
    /// The deployed revision's drift was corrected (no new revision).
    Corrected,
    Unchanged,
    Failed,
    /// Not run because a release it waits for failed.
    Skipped,
    /// Not started because the run was interrupted.
    Cancelled,
}

impl OutcomeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Installed => "installed",
            OutcomeKind::Upgraded => "upgraded",
            OutcomeKind::Uninstalled => "uninstalled",
            OutcomeKind::Corrected => "drift corrected",
            OutcomeKind::Unchanged => "unchanged",
            OutcomeKind::Failed => "failed",
            OutcomeKind::Skipped => "skipped",
            OutcomeKind::Cancelled => "cancelled",
        }
    }

    /// Whether the cluster was changed.
    pub fn changed(self) -> bool {
        matches!(
            self,
            OutcomeKind::Installed | OutcomeKind::Upgraded | OutcomeKind::Uninstalled | OutcomeKind::Corrected
        )
    }
}

/// One line of the end summary.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// Index of the release in the state file.
    pub release: usize,
    /// `namespace/name`.
    pub id: String,
    pub kind: OutcomeKind,
    /// The revision written (none for uninstall, unchanged, skipped, failed before writing).
    pub revision: Option<i32>,
    pub duration: Duration,
    /// Why it failed, was skipped or was cancelled.
    pub reason: Option<Reason>,
}

/// Why a release did not end well.
#[derive(Clone, Debug)]
pub enum Reason {
    /// Its task failed, with the typed cause.
    Failed(Arc<ReleaseError>),
    /// A release it waits for (`namespace/name`) failed.
    Skipped { because: String },
    /// The run was interrupted before it started.
    Interrupted,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Failed(error) => write!(f, "{}", Chain(error.as_ref())),
            Reason::Skipped { because } => write!(f, "`{because}` failed"),
            Reason::Interrupted => f.write_str("interrupted before it started"),
        }
    }
}

impl Reason {
    /// The typed error of a failed release.
    pub fn error(&self) -> Option<&ReleaseError> {
        match self {
            Reason::Failed(error) => Some(error),
            _ => None,
        }
    }
}

/// Receives what the run does; the CLI draws progress bars or log lines from it.
pub trait Reporter: Progress {
    /// A release's task started (`action` is `install`, `upgrade` or `uninstall`).
    fn started(&self, id: &str, action: &str);
    /// A release finished, was skipped or was cancelled.
    fn finished(&self, outcome: &Outcome);
}

/// How to run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Releases worked on at once (at least 1).
    pub concurrency: usize,
    /// Forward: needs first (apply). Reverse: dependents first (uninstall, destroy).
    pub order: Order,
}

/// One namespace's creation: done once it succeeded, shared by every release that waits for it.
type Creation = Arc<OnceCell<()>>;

/// Namespaces created in this run, each at most once even when many releases share it.
#[derive(Default)]
pub struct Namespaces {
    cells: Mutex<HashMap<String, Creation>>,
}

impl Namespaces {
    /// Ensures `namespace` exists; concurrent callers for one namespace wait for the first.
    async fn ensure(
        &self,
        engine: &Engine,
        namespace: &str,
        id: &str,
        progress: &dyn Progress,
    ) -> Result<(), ReleaseError> {
        self.once(namespace, async || {
            let cluster = engine.cluster();
            let reference = ObjectRef::new("v1", "Namespace", None, namespace);
            match cluster.get(&reference).await {
                Ok(Some(_)) => return Ok(()),
                Ok(None) => {}
                Err(error) => return Err(Arc::new(error)),
            }
            progress.step(id, &Step::CreatingNamespace);
            let object = serde_json::json!({
                "apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": namespace, "labels": {"name": namespace}},
            });
            match cluster.create(&object).await {
                Ok(_) | Err(ClusterError::AlreadyExists { .. }) => Ok(()),
                Err(error) => Err(Arc::new(error)),
            }
        })
        .await
        .map_err(|source| ReleaseError::Namespace {
            release: id.to_string(),
            namespace: namespace.to_string(),
            source,
        })
    }

    /// Runs `create` for `namespace` until it succeeds once. Only a success is kept: a failed
    /// check (a dropped connection, a timeout) is tried again by the next release of the
    /// namespace instead of failing all of them.
    async fn once(
        &self,
        namespace: &str,
        create: impl AsyncFnOnce() -> Result<(), Arc<ClusterError>>,
    ) -> Result<(), Arc<ClusterError>> {
        let cell = {
            let mut cells = self.cells.lock().unwrap_or_else(|e| e.into_inner());
            cells.entry(namespace.to_string()).or_default().clone()
        };
        cell.get_or_try_init(|| create()).await.map(|_| ())
    }
}

/// Adapts a shared reporter to the engine's `&dyn Progress`, naming the release by its
/// `namespace/name` id whatever the engine calls it.
struct Forward {
    reporter: Arc<dyn Reporter>,
    id: String,
}

impl Progress for Forward {
    fn step(&self, _release: &str, step: &Step) {
        self.reporter.step(&self.id, step);
    }
}

/// Carries out one task; [`EngineExecutor`] does it against a cluster, tests use a fake.
pub trait Executor: Clone + Send + Sync + 'static {
    /// Runs `task` (never [`Task::Unchanged`] or [`Task::Broken`]) for release `release`
    /// (index into the state file), whose id is `id`.
    fn execute(
        &self,
        release: usize,
        id: &str,
        task: Task,
        reporter: Arc<dyn Reporter>,
    ) -> impl std::future::Future<Output = Result<(OutcomeKind, Option<i32>), ReleaseError>> + Send;
}

/// One cluster's engine, the namespaces created in it this run, and how many of its releases
/// may work at once.
#[derive(Clone)]
struct ClusterEngine {
    engine: Engine,
    namespaces: Arc<Namespaces>,
    permits: Arc<tokio::sync::Semaphore>,
}

/// Runs tasks with the release engine of each release's cluster; namespaces are created once
/// per run and cluster, and each cluster works on at most `per_cluster` releases at once.
#[derive(Clone)]
pub struct EngineExecutor {
    /// Per release (index into the state file): its cluster's engine.
    engines: Arc<HashMap<usize, ClusterEngine>>,
    /// For releases without an entry (one-cluster runs and tests).
    fallback: Option<ClusterEngine>,
}

impl EngineExecutor {
    /// Every release on one engine.
    pub fn new(engine: Engine) -> EngineExecutor {
        EngineExecutor {
            engines: Arc::new(HashMap::new()),
            fallback: Some(ClusterEngine {
                engine,
                namespaces: Arc::new(Namespaces::default()),
                permits: Arc::new(tokio::sync::Semaphore::new(tokio::sync::Semaphore::MAX_PERMITS)),
            }),
        }
    }

    /// Releases on several clusters: `(release, engine of its cluster, cluster key)`; releases
    /// sharing a key share the engine's namespace cache and its `per_cluster` limit.
    pub fn for_clusters<K: std::hash::Hash + Eq>(
        releases: impl IntoIterator<Item = (usize, Engine, K)>,
        per_cluster: usize,
    ) -> EngineExecutor {
        let mut clusters: HashMap<K, ClusterEngine> = HashMap::new();
        let mut engines = HashMap::new();
        for (release, engine, key) in releases {
            let cluster = clusters
                .entry(key)
                .or_insert_with(|| ClusterEngine {
                    engine,
                    namespaces: Arc::new(Namespaces::default()),
                    permits: Arc::new(tokio::sync::Semaphore::new(per_cluster.max(1))),
                })
                .clone();
            engines.insert(release, cluster);
        }
        EngineExecutor {
            engines: Arc::new(engines),
            fallback: None,
        }
    }
}

impl Executor for EngineExecutor {
    async fn execute(
        &self,
        release: usize,
        id: &str,
        task: Task,
        reporter: Arc<dyn Reporter>,
    ) -> Result<(OutcomeKind, Option<i32>), ReleaseError> {
        let Some(cluster) = self.engines.get(&release).or(self.fallback.as_ref()) else {
            return Err(ReleaseError::Internal {
                release: id.to_string(),
                message: "no cluster was opened for it".to_string(),
            });
        };
        let _permit = cluster.permits.acquire().await;
        execute(&cluster.engine, id, task, reporter, &cluster.namespaces).await
    }
}

fn skipped(release: usize, id: String, because: &str) -> Outcome {
    Outcome {
        release,
        id,
        kind: OutcomeKind::Skipped,
        revision: None,
        duration: Duration::ZERO,
        reason: Some(Reason::Skipped {
            because: because.to_string(),
        }),
    }
}

/// Runs `tasks` (keyed by release index; a release of `graph` without one is unchanged) and
/// returns one outcome per release of the graph, in state-file order. Stops starting releases
/// once `interrupt` is draining; the ones running finish (an abort cuts their waits short,
/// which the executor's engine sees).
pub async fn run<E: Executor>(
    executor: &E,
    graph: &ReleaseGraph,
    mut tasks: HashMap<usize, Task>,
    options: &RunOptions,
    reporter: Arc<dyn Reporter>,
    interrupt: Interrupt,
) -> Vec<Outcome> {
    let mut scheduler = Scheduler::new(graph, options.order);
    let mut outcomes: HashMap<usize, Outcome> = HashMap::new();
    let mut running: JoinSet<Outcome> = JoinSet::new();
    // Which release each task works on, to report a task that panicked.
    let mut task_releases: HashMap<tokio::task::Id, (usize, Instant)> = HashMap::new();
    let concurrency = options.concurrency.max(1);
    loop {
        // Hand out every ready release: unchanged and broken ones finish at once (and may make
        // more ready or skip some).
        while !interrupt.draining() && running.len() < concurrency {
            let Some(release) = scheduler.next_ready() else { break };
            let id = graph.id(release).to_string();
            match tasks.remove(&release).unwrap_or(Task::Unchanged) {
                Task::Unchanged => {
                    scheduler.complete(release);
                    let outcome = Outcome {
                        release,
                        id,
                        kind: OutcomeKind::Unchanged,
                        revision: None,
                        duration: Duration::ZERO,
                        reason: None,
                    };
                    reporter.finished(&outcome);
                    outcomes.insert(release, outcome);
                }
                Task::Broken { error } => {
                    let outcome = Outcome {
                        release,
                        id: id.clone(),
                        kind: OutcomeKind::Failed,
                        revision: None,
                        duration: Duration::ZERO,
                        reason: Some(Reason::Failed(error)),
                    };
                    reporter.finished(&outcome);
                    outcomes.insert(release, outcome);
                    for dependent in scheduler.fail(release) {
                        let outcome = skipped(dependent, graph.id(dependent).to_string(), &id);
                        reporter.finished(&outcome);
                        outcomes.insert(dependent, outcome);
                    }
                }
                task => {
                    let executor = executor.clone();
                    let reporter = reporter.clone();
                    let handle = running.spawn(async move {
                        let started = Instant::now();
                        let result = executor.execute(release, &id, task, reporter).await;
                        let duration = started.elapsed();
                        match result {
                            Ok((kind, revision)) => Outcome {
                                release,
                                id,
                                kind,
                                revision,
                                duration,
                                reason: None,
                            },
                            Err(error) => Outcome {
                                release,
                                id,
                                kind: OutcomeKind::Failed,
                                revision: None,
                                duration,
                                reason: Some(Reason::Failed(Arc::new(error))),
                            },
                        }
                    });
                    task_releases.insert(handle.id(), (release, Instant::now()));
                }
            }
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            joined = running.join_next_with_id() => {
                let Some(joined) = joined else { continue };
                let outcome = match joined {
                    Ok((task, outcome)) => {
                        task_releases.remove(&task);
                        outcome
                    }
                    Err(error) => {
                        let Some((release, started)) = task_releases.remove(&error.id()) else { continue };
                        Outcome {
                            release,
                            id: graph.id(release).to_string(),
                            kind: OutcomeKind::Failed,
                            revision: None,
                            duration: started.elapsed(),
                            reason: Some(Reason::Failed(Arc::new(ReleaseError::Internal {
                                release: graph.id(release).to_string(),
                                message: "the task working on it panicked".to_string(),
                            }))),
                        }
                    }
                };
                if outcome.kind == OutcomeKind::Failed {
                    for dependent in scheduler.fail(outcome.release) {
                        let skipped = skipped(dependent, graph.id(dependent).to_string(), &outcome.id);
                        reporter.finished(&skipped);
                        outcomes.insert(dependent, skipped);
                    }
                } else {
                    scheduler.complete(outcome.release);
                }
                reporter.finished(&outcome);
                outcomes.insert(outcome.release, outcome);
            }
            _ = interrupt.reached(Level::Draining), if !interrupt.draining() => {}
        }
    }
    // Whatever never started: interrupted.
    for release in graph.releases() {
        outcomes.entry(release).or_insert_with(|| {
            let outcome = Outcome {
                release,
                id: graph.id(release).to_string(),
                kind: OutcomeKind::Cancelled,
                revision: None,
                duration: Duration::ZERO,
                reason: Some(Reason::Interrupted),
            };
            reporter.finished(&outcome);
            outcome
        });
    }
    let mut all: Vec<Outcome> = outcomes.into_values().collect();
    all.sort_by_key(|o| o.release);
    all
}

async fn execute(
    engine: &Engine,
    id: &str,
    task: Task,
    reporter: Arc<dyn Reporter>,
    namespaces: &Namespaces,
) -> Result<(OutcomeKind, Option<i32>), ReleaseError> {
    let progress = Forward {
        reporter: reporter.clone(),
        id: id.to_string(),
    };
    match task {
        Task::Converge {
            desired,
            mut options,
            upgrade,
            force,
            correct_drift,
        } => {
            reporter.started(id, if upgrade { "upgrade" } else { "install" });
            if options.create_namespace {
                // Created here once per run; the engine then need not check again.
                options.create_namespace = false;
                namespaces.ensure(engine, &desired.namespace, id, &progress).await?;
            }
            let (namespace, name) = (desired.namespace.clone(), desired.name.clone());
            let written = if force {
                Some(engine.install_or_upgrade(*desired, &options, &progress).await)
            } else {
                match engine.converge_planned(*desired, &options, &progress).await {
                    Ok(Converged::Wrote(record)) => Some(Ok(record)),
                    // Another helmfire converged it while this one waited for the Lease.
                    Ok(Converged::Current(_)) => None,
                    Err(error) => Some(Err(error)),
                }
            };
            let record = written.transpose().map_err(ReleaseError::Converge)?;
            let corrected = match correct_drift {
                Some(rules) => Some(
                    engine
                        .correct_drift(&namespace, &name, &rules, options.timeout, &progress)
                        .await
                        .map_err(ReleaseError::Converge)?,
                ),
                None => None,
            };
            let Some(record) = record else {
                return Ok(match corrected {
                    Some((revision, _)) => (OutcomeKind::Corrected, Some(revision)),
                    None => (OutcomeKind::Unchanged, None),
                });
            };
            let kind = if upgrade {
                OutcomeKind::Upgraded
            } else {
                OutcomeKind::Installed
            };
            Ok((kind, Some(record.version)))
        }
        Task::Uninstall {
            namespace,
            name,
            options,
        } => {
            reporter.started(id, "uninstall");
            engine
                .uninstall(&namespace, &name, &options, &progress)
                .await
                .map_err(ReleaseError::Converge)?;
            Ok((OutcomeKind::Uninstalled, None))
        }
        Task::CorrectDrift {
            namespace,
            name,
            rules,
            timeout,
        } => {
            reporter.started(id, "drift correction");
            let (revision, _) = engine
                .correct_drift(&namespace, &name, &rules, timeout, &progress)
                .await
                .map_err(ReleaseError::Converge)?;
            Ok((OutcomeKind::Corrected, Some(revision)))
        }
        Task::Unchanged => Ok((OutcomeKind::Unchanged, None)),
        // Broken tasks fail in `run` before they reach an executor; this keeps their error.
        Task::Broken { error } => Err(ReleaseError::Internal {
            release: id.to_string(),
            message: Chain(error.as_ref()).to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::atomic::{AtomicUsize, Ordering as AtomicOrdering};

    use super::*;
    use crate::state::{LoadOptions, ReleaseSpec, load_str};

    /// db and cache feed api, web needs api; slow and after-slow are independent of them.
    const STATE: &str = "repositories: [{name: r, url: 'https://charts.example.com'}]\nreleases:\n\
        - {name: db, chart: r/x}\n- {name: cache, chart: r/x}\n- {name: api, chart: r/x, needs: [db, cache]}\n\
        - {name: web, chart: r/x, needs: [api]}\n- {name: slow, chart: r/x}\n- {name: after-slow, chart: r/x, needs: [slow]}\n";

    fn releases() -> Vec<ReleaseSpec> {
        let options = LoadOptions {
            environment: "default".into(),
            ..Default::default()
        };
        load_str(Path::new("/nonexistent/helmfire.yaml"), STATE.to_string(), &options)
            .unwrap()
            .releases
    }

    /// Sleeps per release, fails the named ones, records start/finish events and the highest
    /// number of tasks running at once.
    #[derive(Clone, Default)]
    struct Fake {
        events: Arc<Mutex<Vec<String>>>,
        running: Arc<AtomicUsize>,
        peak: Arc<AtomicUsize>,
        fail: Vec<&'static str>,
        slow: Vec<&'static str>,
        cancel_on_start: Option<(&'static str, Arc<crate::converge::Interrupter>, Interrupt)>,
    }

    impl Executor for Fake {
        async fn execute(
            &self,
            _release: usize,
            id: &str,
            _task: Task,
            _reporter: Arc<dyn Reporter>,
        ) -> Result<(OutcomeKind, Option<i32>), ReleaseError> {
            let name = id.rsplit('/').next().unwrap_or(id).to_string();
            self.events.lock().unwrap().push(format!("start {name}"));
            let now = self.running.fetch_add(1, AtomicOrdering::SeqCst) + 1;
            self.peak.fetch_max(now, AtomicOrdering::SeqCst);
            if let Some((trigger, interrupter, _)) = &self.cancel_on_start
                && *trigger == name
            {
                interrupter.escalate();
            }
            let millis = if self.slow.contains(&name.as_str()) { 300 } else { 20 };
            tokio::time::sleep(Duration::from_millis(millis)).await;
            self.running.fetch_sub(1, AtomicOrdering::SeqCst);
            self.events.lock().unwrap().push(format!("end {name}"));
            if self.fail.contains(&name.as_str()) {
                Err(ReleaseError::Internal {
                    release: id.to_string(),
                    message: format!("{name} broke"),
                })
            } else {
                Ok((OutcomeKind::Installed, Some(1)))
            }
        }
    }

    struct Silent;
    impl Progress for Silent {
        fn step(&self, _release: &str, _step: &Step) {}
    }
    impl Reporter for Silent {
        fn started(&self, _id: &str, _action: &str) {}
        fn finished(&self, _outcome: &Outcome) {}
    }

    fn work(releases: &[ReleaseSpec]) -> HashMap<usize, Task> {
        (0..releases.len())
            .map(|i| {
                let task = Task::Uninstall {
                    namespace: releases[i].id.namespace.to_string(),
                    name: releases[i].id.name.to_string(),
                    options: UninstallOptions::default(),
                };
                (i, task)
            })
            .collect()
    }

    fn position(events: &[String], event: &str) -> usize {
        events
            .iter()
            .position(|e| e == event)
            .unwrap_or_else(|| panic!("no `{event}` in {events:?}"))
    }

    async fn run_fake(fake: &Fake, tasks: HashMap<usize, Task>, order: Order, concurrency: usize) -> Vec<Outcome> {
        let releases = releases();
        let graph = ReleaseGraph::build(&releases, &(0..releases.len()).collect::<Vec<_>>()).unwrap();
        let cancel = match &fake.cancel_on_start {
            Some((_, _, interrupt)) => interrupt.clone(),
            None => Interrupt::never(),
        };
        let options = RunOptions { concurrency, order };
        run(fake, &graph, tasks, &options, Arc::new(Silent), cancel).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn releases_start_when_their_own_needs_finish() {
        let fake = Fake {
            slow: vec!["slow"],
            ..Fake::default()
        };
        let outcomes = run_fake(&fake, work(&releases()), Order::Forward, 8).await;
        let events = fake.events.lock().unwrap().clone();
        assert!(position(&events, "end db") < position(&events, "start api"));
        assert!(position(&events, "end cache") < position(&events, "start api"));
        assert!(position(&events, "end api") < position(&events, "start web"));
        // Per node: web runs to completion while slow (no needs) is still running.
        assert!(
            position(&events, "end web") < position(&events, "end slow"),
            "{events:?}"
        );
        assert!(position(&events, "end slow") < position(&events, "start after-slow"));
        assert!(outcomes.iter().all(|o| o.kind == OutcomeKind::Installed));
        assert_eq!(outcomes.len(), 6);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failure_skips_only_its_dependents_with_the_reason() {
        let fake = Fake {
            fail: vec!["cache"],
            ..Fake::default()
        };
        let outcomes = run_fake(&fake, work(&releases()), Order::Forward, 8).await;
        let kind = |name: &str| {
            outcomes
                .iter()
                .find(|o| o.id.ends_with(&format!("/{name}")))
                .map(|o| (o.kind, o.reason.as_ref().map(ToString::to_string)))
                .unwrap()
        };
        assert_eq!(
            kind("cache"),
            (OutcomeKind::Failed, Some("release `default/cache`: cache broke".into()))
        );
        assert_eq!(
            kind("api"),
            (OutcomeKind::Skipped, Some("`default/cache` failed".into()))
        );
        assert_eq!(kind("web").0, OutcomeKind::Skipped);
        assert_eq!(kind("db").0, OutcomeKind::Installed);
        assert_eq!(kind("after-slow").0, OutcomeKind::Installed);
        let events = fake.events.lock().unwrap().clone();
        assert!(!events.iter().any(|e| e.ends_with(" api") || e.ends_with(" web")));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrency_is_bounded() {
        let fake = Fake::default();
        run_fake(&fake, work(&releases()), Order::Forward, 2).await;
        assert_eq!(fake.peak.load(AtomicOrdering::SeqCst), 2);
        let fake = Fake::default();
        run_fake(&fake, work(&releases()), Order::Forward, 1).await;
        assert_eq!(fake.peak.load(AtomicOrdering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reverse_order_removes_dependents_first() {
        let fake = Fake::default();
        run_fake(&fake, work(&releases()), Order::Reverse, 8).await;
        let events = fake.events.lock().unwrap().clone();
        assert!(position(&events, "end web") < position(&events, "start api"));
        assert!(position(&events, "end api") < position(&events, "start db"));
        assert!(position(&events, "end after-slow") < position(&events, "start slow"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unchanged_and_broken_releases_finish_at_once() {
        let releases = releases();
        let mut tasks = work(&releases);
        tasks.insert(0, Task::Unchanged);
        tasks.insert(
            1,
            Task::Broken {
                error: Arc::new(ReleaseError::Internal {
                    release: "default/cache".into(),
                    message: "failed to render".into(),
                }),
            },
        );
        let fake = Fake::default();
        let outcomes = run_fake(&fake, tasks, Order::Forward, 8).await;
        assert_eq!(outcomes[0].kind, OutcomeKind::Unchanged);
        assert_eq!(outcomes[1].kind, OutcomeKind::Failed);
        assert_eq!(
            outcomes[1].reason.as_ref().map(ToString::to_string).as_deref(),
            Some("release `default/cache`: failed to render")
        );
        assert_eq!(outcomes[2].kind, OutcomeKind::Skipped, "api needs the broken cache");
        let events = fake.events.lock().unwrap().clone();
        assert!(!events.iter().any(|e| e.ends_with(" db") || e.ends_with(" cache")));
    }

    #[tokio::test]
    async fn a_failed_namespace_check_is_tried_again_by_the_next_release() {
        let namespaces = Namespaces::default();
        let calls = AtomicUsize::new(0);
        let failing = async || {
            calls.fetch_add(1, AtomicOrdering::SeqCst);
            Err(Arc::new(ClusterError::UnknownKind {
                api_version: "v1".into(),
                kind: "Namespace".into(),
            }))
        };
        assert!(namespaces.once("apps", failing).await.is_err());
        let working = async || {
            calls.fetch_add(1, AtomicOrdering::SeqCst);
            Ok(())
        };
        assert!(namespaces.once("apps", working).await.is_ok(), "not the cached failure");
        let working = async || {
            calls.fetch_add(1, AtomicOrdering::SeqCst);
            Ok(())
        };
        assert!(namespaces.once("apps", working).await.is_ok());
        assert_eq!(calls.load(AtomicOrdering::SeqCst), 2, "a success is checked once");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cancellation_starts_nothing_new_and_lets_running_ones_finish() {
        let (interrupter, interrupt) = Interrupt::channel();
        let fake = Fake {
            slow: vec!["db"],
            cancel_on_start: Some(("db", Arc::new(interrupter), interrupt)),
            ..Fake::default()
        };
        // One at a time: db starts, the run is cancelled while it runs.
        let outcomes = run_fake(&fake, work(&releases()), Order::Forward, 1).await;
        assert_eq!(outcomes[0].kind, OutcomeKind::Installed, "the running release finished");
        assert!(
            outcomes[1..].iter().all(|o| o.kind == OutcomeKind::Cancelled),
            "{outcomes:?}"
        );
        let events = fake.events.lock().unwrap().clone();
        assert_eq!(events, ["start db", "end db"]);
    }
}
