//! The estate pipeline: the operations every entry point calls — the CLI's commands, the tests,
//! the benchmarks, a scheduled job. One release travels through it like this:
//!
//! ```text
//! Estate::load ──▶ resolve ──▶ render ──▶ observe ──▶ plan ──▶ converge
//!  state file       chart        chart     release      desired   install / upgrade /
//!  + selector       sources      + values  records      vs        uninstall over the
//!  → graph          (lock,       → mani-   (and live    deployed  graph, recorded in
//!                   cache)       fests     objects)               helm's storage
//! ```
//!
//! 1. [`Estate::load`] reads the state file ([`crate::state`]), applies the selector and builds
//!    the dependency graph ([`crate::graph`]).
//! 2. [`resolve_charts`] fetches remote charts and unvendored dependencies into the cache,
//!    pinned by the lock file ([`crate::resolve`]).
//! 3. [`render_releases`] renders every selected release with [`render::render_release`], the
//!    one render path, on one worker per core.
//! 4. [`crate::observe`] reads what the cluster holds (release records).
//! 5. [`plan`] compares desired and deployed ([`crate::plan`]) release by release.
//! 6. [`converge`] runs installs, upgrades and uninstalls over the graph ([`crate::converge`]),
//!    each recorded by [`crate::storage`] in helm's format; [`destroy`] uninstalls.
//!
//! Nothing here prints or knows the command line: progress goes to a [`Reporter`], results come
//! back as values, failures as typed [`ReleaseError`]s per release.

use std::collections::HashMap;
use std::sync::Arc;

use helmfire_template::Lookup;
use helmfire_value::Value;
use tokio::sync::watch;

use crate::cluster::{Cluster, ObjectRef};
use crate::converge::run::{self, Outcome, Reporter, RunOptions, Task};
use crate::converge::{ActionOptions, DesiredRelease, Engine, UninstallOptions};
use crate::error::ReleaseError;
use crate::graph::{NeedsMode, Order, ReleaseGraph};
use crate::observe::live;
use crate::observe::{self, History};
use crate::plan::drift::{self, IgnoreRule, ReleaseDrift};
use crate::plan::{self, Action, Deployed, Desired, PendingRevision, Plan, PlanOptions, ReleasePlan};
use crate::render::{self, Capabilities, ReleaseInfo, ReleaseRender, RenderedRelease, UserValues};
use crate::resolve::{self, ChartResolution, LockMode, Resolutions, ResolveError, SourceSettings};
use crate::state::{self, DesiredState, LoadOptions, ReleaseSpec, Selector, StateError, ValuesSource};
use crate::storage::{Driver, ReleaseRecord, Store};

pub use crate::resolve::resolve_charts;

/// A loaded state file and the releases selected from it, with their dependency graph.
#[derive(Debug)]
pub struct Estate {
    pub state: DesiredState,
    pub graph: ReleaseGraph,
}

impl Estate {
    /// Loads and validates the state file, selects releases and builds their graph.
    pub fn load(options: &LoadOptions, selector: &Selector, needs: NeedsMode) -> Result<Estate, StateError> {
        let state = state::load(options)?;
        Estate::select(state, selector, needs)
    }

    /// Selects releases of an already loaded state.
    pub fn select(state: DesiredState, selector: &Selector, needs: NeedsMode) -> Result<Estate, StateError> {
        let selection = crate::graph::select(&state.releases, selector, needs)?;
        let graph = ReleaseGraph::build(&state.releases, &selection)?;
        Ok(Estate { state, graph })
    }

    /// The selected releases (indices into `state.releases`), in state-file order.
    pub fn selected(&self) -> Vec<usize> {
        self.graph.releases()
    }

    /// The selected releases that are wanted installed.
    pub fn installed(&self) -> Vec<usize> {
        self.selected()
            .into_iter()
            .filter(|&index| self.state.releases[index].installed)
            .collect()
    }

    /// The release at `index` of the state file.
    pub fn release(&self, index: usize) -> &ReleaseSpec {
        &self.state.releases[index]
    }
}

/// The cluster a run works against: its client, the release store on it, and its version.
#[derive(Clone, Debug)]
pub struct Target {
    pub cluster: Cluster,
    pub store: Store,
    /// The API server's version, for `.Capabilities.KubeVersion`.
    pub kube_version: Option<String>,
}

impl Target {
    /// Wraps a connected cluster; reads its version once (a server without `/version` still
    /// works: charts then see helm's default version).
    pub async fn new(cluster: Cluster, driver: Driver) -> Target {
        let kube_version = cluster
            .client()
            .apiserver_version()
            .await
            .ok()
            .map(|info| info.git_version);
        let store = Store::new(Some(cluster.clone()), driver);
        Target {
            cluster,
            store,
            kube_version,
        }
    }
}

/// How releases are rendered.
#[derive(Clone, Debug, Default)]
pub struct RenderSettings {
    /// `.Capabilities.KubeVersion` when no cluster says otherwise (`--kube-version`).
    pub kube_version: Option<String>,
    /// Extra `.Capabilities.APIVersions` (`--api-versions`).
    pub api_versions: Vec<String>,
    /// Rendering threads (0: one per core).
    pub workers: usize,
}

impl RenderSettings {
    fn workers(&self) -> usize {
        match self.workers {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        }
    }
}

/// How one release is rendered in this run: `.Release.Revision`, install or upgrade, `lookup`.
#[derive(Clone)]
struct Occasion {
    revision: i64,
    is_upgrade: bool,
    lookup: Option<Arc<dyn Lookup>>,
    /// Rendering for a cluster (diff, apply): post-rendered documents must be installable.
    install: bool,
}

impl Occasion {
    /// `helm template`: revision 1, an install, lookups find nothing.
    fn template() -> Occasion {
        Occasion {
            revision: 1,
            is_upgrade: false,
            lookup: None,
            install: false,
        }
    }
}

/// The user values of a state-file release: its values files and inline maps in order (inline
/// maps served under synthetic names through the same reader), `set` as helm's `--set-json`
/// (their types are known) and `setString` as `--set-string`.
pub fn user_values(release: &ReleaseSpec) -> UserValues {
    let mut inline = Vec::new();
    let mut files = Vec::new();
    for (position, source) in release.values.iter().enumerate() {
        match source {
            ValuesSource::File(path) => files.push(path.to_string_lossy().into_owned()),
            ValuesSource::Inline(map) => {
                // JSON is YAML: inline values go through the same reader as `-f` files.
                let name = format!("<inline values #{}>", position + 1);
                files.push(name.clone());
                inline.push((name, serde_json::Value::Object(map.clone()).to_string().into_bytes()));
            }
        }
    }
    UserValues {
        options: helmfire_chart::values::ValueOptions {
            files,
            set_json: release
                .set
                .iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect(),
            set_string: release
                .set_string
                .iter()
                .map(|(key, value)| format!("{key}={}", value.replace('\\', "\\\\").replace(',', "\\,")))
                .collect(),
            ..Default::default()
        },
        inline,
    }
}

/// The render request of one state-file release.
fn render_request(
    release: &ReleaseSpec,
    chart: &ChartResolution,
    capabilities: &Capabilities,
    occasion: &Occasion,
) -> ReleaseRender {
    ReleaseRender {
        release: ReleaseInfo {
            name: release.id.name.to_string(),
            namespace: release.id.namespace.to_string(),
            revision: occasion.revision,
            is_upgrade: occasion.is_upgrade,
        },
        chart: chart.path.clone(),
        dependency_charts: chart.dependencies.clone(),
        values: user_values(release),
        capabilities: capabilities.clone(),
        skip_schema_validation: false,
        lookup: occasion.lookup.clone(),
        post_renderers: release.post_renderers.clone(),
        check_objects: occasion.install,
    }
}

/// Why a whole run could not start (per-release failures are in its results).
#[derive(Debug, thiserror::Error)]
pub enum EstateError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    /// `--kube-version` or `--api-versions` is not what helm accepts.
    #[error("{0}")]
    Capabilities(String),
}

/// One release to render: its index, its id (for errors) and the request.
type RenderJob = (usize, String, ReleaseRender);

/// Renders `jobs` on `workers` threads, off the async runtime; results in input order.
async fn render_jobs(jobs: Vec<RenderJob>, workers: usize) -> Vec<(usize, Result<RenderedRelease, ReleaseError>)> {
    let rendered = tokio::task::spawn_blocking(move || {
        let results = render::parallel_map(&jobs, workers, |(_, _, request)| render::render_release(request));
        jobs.into_iter()
            .zip(results)
            .map(|((index, release, _), result)| {
                let result = match result {
                    Some(result) => result.map_err(|source| ReleaseError::Render { release, source }),
                    None => Err(ReleaseError::Internal {
                        release,
                        message: "the rendering thread failed".to_string(),
                    }),
                };
                (index, result)
            })
            .collect::<Vec<_>>()
    })
    .await;
    // Rendering threads catch their own panics (parallel_map), so the blocking task finishes.
    rendered.unwrap_or_default()
}

/// A release's render request (its id and the request), or why it has none.
type RenderRequest = (usize, Result<(String, ReleaseRender), ReleaseError>);

/// Splits render requests into jobs and the releases that could not get one.
fn split_jobs(requests: Vec<RenderRequest>) -> (Vec<RenderJob>, Vec<(usize, ReleaseError)>) {
    let mut jobs = Vec::new();
    let mut failed = Vec::new();
    for (index, request) in requests {
        match request {
            Ok((id, request)) => jobs.push((index, id, request)),
            Err(error) => failed.push((index, error)),
        }
    }
    (jobs, failed)
}

/// `helmfire template`: every selected release that is wanted installed, rendered as `helm
/// template` would (revision 1, no cluster), in state-file order.
pub async fn render_releases(
    estate: &Estate,
    sources: &SourceSettings,
    settings: &RenderSettings,
) -> Result<Vec<(usize, Result<RenderedRelease, ReleaseError>)>, EstateError> {
    let capabilities = Capabilities::offline(settings.kube_version.as_deref(), &settings.api_versions)
        .map_err(EstateError::Capabilities)?;
    let installed = estate.installed();
    let mut charts = resolve::resolve_charts(&estate.state, &installed, sources, LockMode::Use).await?;
    let occasion = Occasion::template();
    let requests = installed
        .iter()
        .map(|&index| {
            let release = estate.release(index);
            let request = chart_of(&mut charts, index, release).map(|chart| {
                (
                    release.id.to_string(),
                    render_request(release, &chart, &capabilities, &occasion),
                )
            });
            (index, request)
        })
        .collect();
    let (jobs, failed) = split_jobs(requests);
    let mut results: HashMap<usize, Result<RenderedRelease, ReleaseError>> =
        render_jobs(jobs, settings.workers()).await.into_iter().collect();
    results.extend(failed.into_iter().map(|(index, error)| (index, Err(error))));
    Ok(installed
        .into_iter()
        .filter_map(|index| Some((index, results.remove(&index)?)))
        .collect())
}

/// A release's resolved chart, or its resolution error.
fn chart_of(charts: &mut Resolutions, index: usize, release: &ReleaseSpec) -> Result<ChartResolution, ReleaseError> {
    match charts.remove(&index) {
        Some(Ok(chart)) => Ok(chart),
        Some(Err(source)) => Err(ReleaseError::Chart {
            release: release.id.to_string(),
            source,
        }),
        None => Err(ReleaseError::Internal {
            release: release.id.to_string(),
            message: "its chart was not resolved".to_string(),
        }),
    }
}

/// helm's `lookup` served by the cluster, as `helm install`/`upgrade` do: called from rendering
/// threads, it blocks on the runtime that owns the cluster client.
struct ClusterLookup {
    cluster: Cluster,
    runtime: tokio::runtime::Handle,
}

impl Lookup for ClusterLookup {
    fn lookup(&self, api_version: &str, kind: &str, namespace: &str, name: &str) -> Result<Value, String> {
        let cluster = &self.cluster;
        let namespace = (!namespace.is_empty()).then_some(namespace);
        let json = self.runtime.block_on(async {
            if name.is_empty() {
                let resource = cluster.resolve(api_version, kind).await.map_err(|e| e.to_string())?;
                let items = cluster
                    .list(&resource, namespace, "")
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<_, String>(serde_json::json!({
                    "apiVersion": api_version, "kind": format!("{kind}List"), "items": items,
                }))
            } else {
                let reference = ObjectRef::new(api_version, kind, namespace, name);
                match cluster.get(&reference).await {
                    Ok(Some(object)) => serde_json::to_value(object).map_err(|e| e.to_string()),
                    Ok(None) => Ok(serde_json::json!({})),
                    // helm's lookup answers an empty map for kinds the cluster does not serve.
                    Err(error) if error.is_not_found() => Ok(serde_json::json!({})),
                    Err(error) => Err(error.to_string()),
                }
            }
        })?;
        Ok(helmfire_value::interop::from_json(&json))
    }
}

/// How to plan.
#[derive(Clone, Debug)]
pub struct PlanSettings {
    pub plan: PlanOptions,
    /// Release records read at once.
    pub concurrency: usize,
    pub render: RenderSettings,
    /// Read live objects and report drift (`diff --no-live` turns it off).
    pub live: bool,
    /// Correct the drift of every release (`--correct-drift`), not only of those whose
    /// `driftCorrection` is on.
    pub correct_drift: bool,
}

impl Default for PlanSettings {
    fn default() -> Self {
        PlanSettings {
            plan: PlanOptions::default(),
            concurrency: 16,
            render: RenderSettings::default(),
            live: true,
            correct_drift: false,
        }
    }
}

/// Requests in flight at once while reading live objects (GET and dry-run apply).
pub const LIVE_CONCURRENCY: usize = 32;

/// Observes the live objects of each `(index, deployed record, ignore rules)` and computes
/// their drift, [`LIVE_CONCURRENCY`] requests at once, on the current runtime.
fn spawn_drifts(
    cluster: &Cluster,
    releases: Vec<(usize, ReleaseRecord, Vec<IgnoreRule>)>,
) -> tokio::task::JoinSet<(usize, Result<ReleaseDrift, ReleaseError>)> {
    let cluster = cluster.clone();
    let mut set = tokio::task::JoinSet::new();
    // Kinds with many objects are listed once; the releases wait for that snapshot.
    let kinds = live::Snapshot::kinds_to_list(releases.iter().map(|(_, record, _)| record));
    let snapshot = Arc::new(tokio::sync::OnceCell::new());
    let permits = Arc::new(tokio::sync::Semaphore::new(LIVE_CONCURRENCY));
    let kinds = Arc::new(kinds);
    for (index, record, rules) in releases {
        let (cluster, permits, snapshot, kinds) = (cluster.clone(), permits.clone(), snapshot.clone(), kinds.clone());
        set.spawn(async move {
            let snapshot = snapshot
                .get_or_init(|| async { Arc::new(live::Snapshot::read(&cluster, kinds.to_vec()).await) })
                .await
                .clone();
            (
                index,
                drift_of_record(&cluster, &record, &rules, permits, snapshot).await,
            )
        });
    }
    set
}

/// The drift of one deployed record.
async fn drift_of_record(
    cluster: &Cluster,
    record: &ReleaseRecord,
    rules: &[IgnoreRule],
    permits: Arc<tokio::sync::Semaphore>,
    snapshot: Arc<live::Snapshot>,
) -> Result<ReleaseDrift, ReleaseError> {
    let observed = live::observe_release(cluster, record, permits, snapshot)
        .await
        .map_err(|source| ReleaseError::Observe {
            release: format!("{}/{}", record.namespace, record.name),
            revision: record.version,
            source: Box::new(source),
        })?;
    Ok(drift::release_drift(
        &record.name,
        &record.namespace,
        record.version,
        &observed,
        rules,
    ))
}

/// Collects spawned drift reads; a read that panicked is reported, never guessed.
async fn join_drifts(
    mut set: tokio::task::JoinSet<(usize, Result<ReleaseDrift, ReleaseError>)>,
) -> HashMap<usize, Result<ReleaseDrift, ReleaseError>> {
    let mut out = HashMap::new();
    while let Some(joined) = set.join_next().await {
        if let Ok((index, result)) = joined {
            out.insert(index, result);
        }
    }
    out
}

/// What is known about one selected release after planning.
#[derive(Debug)]
pub struct PlannedRelease {
    /// Index into `state.releases`.
    pub index: usize,
    pub plan: Result<ReleasePlan, Arc<ReleaseError>>,
    /// The render (installed releases that rendered).
    pub rendered: Option<RenderedRelease>,
    /// Its drift is to be corrected (`driftCorrection` or `--correct-drift`, and it drifted).
    pub correct_drift: bool,
    /// Its live objects could not be read: no drift verdict.
    pub drift_error: Option<Arc<ReleaseError>>,
    /// The release has records and the latest is not `uninstalled`.
    pub present: bool,
}

/// The plan of a run: one entry per selected release, in state-file order.
#[derive(Debug, Default)]
pub struct EstatePlan {
    pub releases: Vec<PlannedRelease>,
}

impl EstatePlan {
    /// The release plans that could be made, for display.
    pub fn plan(&self) -> Plan {
        Plan {
            releases: self
                .releases
                .iter()
                .filter_map(|entry| entry.plan.as_ref().ok().cloned())
                .collect(),
        }
    }

    /// Whether `apply` would change anything: an install, upgrade or uninstall (a pending
    /// revision to recover included), or drift it is to correct.
    pub fn has_work(&self) -> bool {
        self.plan().summary().has_changes() || self.releases.iter().any(|entry| entry.correct_drift)
    }

    /// The releases that could not be planned, and those whose live objects could not be read.
    pub fn errors(&self) -> Vec<Arc<ReleaseError>> {
        self.releases
            .iter()
            .flat_map(|entry| {
                entry
                    .plan
                    .as_ref()
                    .err()
                    .cloned()
                    .into_iter()
                    .chain(entry.drift_error.clone())
            })
            .collect()
    }
}

/// `helmfire diff` and the first half of `apply`: renders every selected release that is wanted
/// installed (as `helm upgrade --install` would: the next revision, `lookup` against the cluster)
/// and compares it with its latest deployed record.
pub async fn plan(
    target: &Target,
    estate: &Estate,
    sources: &SourceSettings,
    settings: &PlanSettings,
) -> Result<EstatePlan, EstateError> {
    let selected = estate.selected();
    let kube_version = target
        .kube_version
        .as_deref()
        .or(settings.render.kube_version.as_deref());
    let capabilities =
        Capabilities::offline(kube_version, &settings.render.api_versions).map_err(EstateError::Capabilities)?;
    let installed = estate.installed();
    let (charts, mut histories) = tokio::join!(
        resolve::resolve_charts(&estate.state, &installed, sources, LockMode::Use),
        observe::histories(&target.store, &estate.state, &selected, settings.concurrency),
    );
    let mut charts = charts?;
    let lookup: Arc<dyn Lookup> = Arc::new(ClusterLookup {
        cluster: target.cluster.clone(),
        runtime: tokio::runtime::Handle::current(),
    });
    let mut requests = Vec::new();
    let mut observed: Vec<(usize, Result<History, ReleaseError>)> = Vec::new();
    for &index in &selected {
        let release = estate.release(index);
        let history = histories.remove(&index).unwrap_or_else(|| {
            Err(ReleaseError::Internal {
                release: release.id.to_string(),
                message: "its records were not read".to_string(),
            })
        });
        if release.installed
            && let Ok(history) = &history
        {
            let occasion = Occasion {
                revision: i64::from(history.last().map_or(0, |record| record.version)) + 1,
                is_upgrade: history.deployed().is_some(),
                lookup: Some(lookup.clone()),
                install: true,
            };
            let request = chart_of(&mut charts, index, release).map(|chart| {
                (
                    release.id.to_string(),
                    render_request(release, &chart, &capabilities, &occasion),
                )
            });
            requests.push((index, request));
        }
        observed.push((index, history));
    }
    // Live objects are read while the charts render: drift of the deployed revision of every
    // release that is to stay installed.
    let live_reads = settings.live.then(|| {
        let records = observed
            .iter()
            .filter(|(index, _)| estate.release(*index).installed)
            .filter_map(|(index, history)| {
                let record = history.as_ref().ok()?.deployed()?.clone();
                Some((*index, record, estate.release(*index).ignore_differences.clone()))
            })
            .collect();
        spawn_drifts(&target.cluster, records)
    });
    let (jobs, failed) = split_jobs(requests);
    let mut rendered: HashMap<usize, Result<RenderedRelease, ReleaseError>> =
        render_jobs(jobs, settings.render.workers()).await.into_iter().collect();
    rendered.extend(failed.into_iter().map(|(index, error)| (index, Err(error))));
    let mut drifts = match live_reads {
        Some(set) => join_drifts(set).await,
        None => HashMap::new(),
    };
    let mut out = EstatePlan::default();
    for (index, history) in observed {
        let release = estate.release(index);
        let history = match history {
            Ok(history) => history,
            Err(error) => {
                out.releases.push(PlannedRelease {
                    index,
                    plan: Err(Arc::new(error)),
                    rendered: None,
                    present: false,
                    correct_drift: false,
                    drift_error: None,
                });
                continue;
            }
        };
        let present = history.present();
        let rendered_release = match rendered.remove(&index) {
            Some(Ok(rendered)) => Some(rendered),
            Some(Err(error)) => {
                out.releases.push(PlannedRelease {
                    index,
                    plan: Err(Arc::new(error)),
                    rendered: None,
                    present,
                    correct_drift: false,
                    drift_error: None,
                });
                continue;
            }
            None => None,
        };
        // Not wanted any more but left failed or pending: still to be uninstalled.
        let deployed = history
            .deployed()
            .or_else(|| (!release.installed && present).then(|| history.last()).flatten());
        let name = release.id.name.to_string();
        let namespace = release.id.namespace.to_string();
        let desired = Desired {
            name: &name,
            namespace: &namespace,
            installed: release.installed,
            chart: rendered_release.as_ref().map(RenderedRelease::chart_label),
            manifest: rendered_release.as_ref().map_or("", |r| r.manifest.as_str()),
        };
        let deployed = deployed.map(|record| Deployed {
            revision: record.version,
            chart: record.chart.name_version(),
            manifest: &record.manifest,
        });
        let plan = plan::plan_release(&desired, deployed.as_ref(), &settings.plan).map_err(|source| {
            Arc::new(ReleaseError::Plan {
                release: release.id.to_string(),
                source,
            })
        });
        // Live objects that could not be read give no drift verdict: the release keeps its plan
        // and the error is reported beside it.
        let mut drift_error = None;
        let plan = match (plan, drifts.remove(&index)) {
            (Ok(mut plan), drift) => {
                match drift {
                    Some(Ok(drift)) => plan.drift = Some(drift),
                    Some(Err(error)) => drift_error = Some(Arc::new(error)),
                    None => {}
                }
                // An interrupted operation's pending revision is work: it is recovered, then
                // the release converges, even when the manifests are equal.
                if let Some(last) = history.last().filter(|record| record.info.status.is_pending()) {
                    plan.pending = Some(PendingRevision {
                        revision: last.version,
                        status: last.info.status.to_string(),
                    });
                    if plan.action == Action::Unchanged && release.installed {
                        plan.action = Action::Upgrade;
                    }
                }
                Ok(plan)
            }
            (Err(error), _) => Err(error),
        };
        let correct_drift =
            (release.drift_correction || settings.correct_drift) && plan.as_ref().is_ok_and(ReleasePlan::drifted);
        out.releases.push(PlannedRelease {
            index,
            plan,
            rendered: rendered_release,
            present,
            correct_drift,
            drift_error,
        });
    }
    Ok(out)
}

/// The install/upgrade flags of a state-file release.
pub fn action_options(release: &ReleaseSpec) -> ActionOptions {
    ActionOptions {
        wait: release.wait,
        wait_for_jobs: release.wait_for_jobs,
        timeout: release.timeout,
        atomic: release.atomic,
        create_namespace: release.create_namespace,
        history_max: release.history_max,
        disable_hooks: release.disable_hooks,
        skip_crds: release.skip_crds,
        cleanup_on_fail: release.cleanup_on_fail,
        take_ownership: release.take_ownership,
        server_side: release.server_side,
        force_conflicts: release.force_conflicts,
        ..ActionOptions::default()
    }
}

/// The uninstall flags of a state-file release.
pub fn uninstall_options(release: &ReleaseSpec) -> UninstallOptions {
    UninstallOptions {
        wait: release.wait,
        timeout: release.timeout,
        ..UninstallOptions::default()
    }
}

/// How to converge.
#[derive(Clone, Debug)]
pub struct ConvergeSettings {
    /// Releases worked on at once.
    pub concurrency: usize,
    /// Upgrade releases whose plan is unchanged too.
    pub force: bool,
}

/// The second half of `apply`: uninstalls (`installed: false`, a false `condition`) dependents
/// first, then installs and upgrades needs first, each release the moment what it waits for is
/// done. Returns one outcome per selected release, in state-file order.
pub async fn converge(
    target: &Target,
    estate: &Estate,
    plan: EstatePlan,
    settings: &ConvergeSettings,
    reporter: Arc<dyn Reporter>,
    cancel: watch::Receiver<bool>,
) -> Result<Vec<Outcome>, StateError> {
    let mut uninstalls = HashMap::new();
    let mut converges = HashMap::new();
    for entry in plan.releases {
        let release = estate.release(entry.index);
        let tasks = if release.installed {
            &mut converges
        } else {
            &mut uninstalls
        };
        match entry.plan {
            Err(error) => {
                tasks.insert(entry.index, Task::Broken { error });
            }
            Ok(plan) if plan.action == Action::Uninstall => {
                tasks.insert(
                    entry.index,
                    Task::Uninstall {
                        namespace: release.id.namespace.to_string(),
                        name: release.id.name.to_string(),
                        options: uninstall_options(release),
                    },
                );
            }
            Ok(plan) => {
                let wanted =
                    matches!(plan.action, Action::Install | Action::Upgrade) || (settings.force && release.installed);
                let correct = entry.correct_drift.then(|| release.ignore_differences.clone());
                match (wanted, entry.rendered) {
                    (true, Some(rendered)) => {
                        let mut options = action_options(release);
                        // Drifted fields other managers took are taken back by the upgrade.
                        options.force_conflicts |= correct.is_some();
                        tasks.insert(
                            entry.index,
                            Task::Converge {
                                desired: Box::new(DesiredRelease::new(
                                    release.id.name.as_str(),
                                    release.id.namespace.as_str(),
                                    rendered,
                                )),
                                options,
                                upgrade: entry.present,
                                correct_drift: correct,
                            },
                        );
                    }
                    (false, _) if correct.is_some() => {
                        tasks.insert(
                            entry.index,
                            Task::CorrectDrift {
                                namespace: release.id.namespace.to_string(),
                                name: release.id.name.to_string(),
                                rules: release.ignore_differences.clone(),
                                timeout: release.timeout,
                            },
                        );
                    }
                    _ => {}
                }
            }
        }
    }
    let (uninstall_indices, install_indices): (Vec<usize>, Vec<usize>) = estate
        .selected()
        .into_iter()
        .partition(|&index| !estate.release(index).installed);
    let uninstall_graph = ReleaseGraph::build(&estate.state.releases, &uninstall_indices)?;
    let install_graph = ReleaseGraph::build(&estate.state.releases, &install_indices)?;
    let executor = run::EngineExecutor::new(Engine::new(target.cluster.clone(), target.store.clone()));
    let mut outcomes = run::run(
        &executor,
        &uninstall_graph,
        uninstalls,
        &RunOptions {
            concurrency: settings.concurrency,
            order: Order::Reverse,
        },
        reporter.clone(),
        cancel.clone(),
    )
    .await;
    outcomes.extend(
        run::run(
            &executor,
            &install_graph,
            converges,
            &RunOptions {
                concurrency: settings.concurrency,
                order: Order::Forward,
            },
            reporter,
            cancel,
        )
        .await,
    );
    outcomes.sort_by_key(|outcome| outcome.release);
    Ok(outcomes)
}

/// What `destroy` would do: an uninstall for each selected release that is installed.
#[derive(Debug, Default)]
pub struct DestroyPlan {
    tasks: HashMap<usize, Task>,
    /// The releases that will be uninstalled, in state-file order.
    pub doomed: Vec<usize>,
}

impl DestroyPlan {
    /// Whether there is anything to do (uninstalls, or releases whose records failed to read).
    pub fn is_empty(&self) -> bool {
        self.tasks.values().all(|task| matches!(task, Task::Unchanged))
    }
}

/// Reads the records of every selected release and plans an uninstall for those installed.
pub async fn destroy_plan(target: &Target, estate: &Estate, concurrency: usize) -> DestroyPlan {
    let selected = estate.selected();
    let mut histories = observe::histories(&target.store, &estate.state, &selected, concurrency).await;
    let mut plan = DestroyPlan::default();
    for index in selected {
        let release = estate.release(index);
        let task = match histories.remove(&index) {
            Some(Ok(history)) if history.present() => {
                plan.doomed.push(index);
                Task::Uninstall {
                    namespace: release.id.namespace.to_string(),
                    name: release.id.name.to_string(),
                    options: uninstall_options(release),
                }
            }
            Some(Ok(_)) => Task::Unchanged,
            Some(Err(error)) => Task::Broken { error: Arc::new(error) },
            None => Task::Broken {
                error: Arc::new(ReleaseError::Internal {
                    release: release.id.to_string(),
                    message: "its records were not read".to_string(),
                }),
            },
        };
        plan.tasks.insert(index, task);
    }
    plan
}

/// `helmfire destroy`: uninstalls the planned releases, dependents first.
pub async fn destroy(
    target: &Target,
    estate: &Estate,
    plan: DestroyPlan,
    concurrency: usize,
    reporter: Arc<dyn Reporter>,
    cancel: watch::Receiver<bool>,
) -> Vec<Outcome> {
    let executor = run::EngineExecutor::new(Engine::new(target.cluster.clone(), target.store.clone()));
    run::run(
        &executor,
        &estate.graph,
        plan.tasks,
        &RunOptions {
            concurrency,
            order: Order::Reverse,
        },
        reporter,
        cancel,
    )
    .await
}

/// `helmfire status`: the latest record of every selected release (`None`: not installed), in
/// state-file order.
pub async fn latest_records(
    target: &Target,
    estate: &Estate,
    concurrency: usize,
) -> Vec<(usize, Result<Option<crate::storage::ReleaseRecord>, ReleaseError>)> {
    let selected = estate.selected();
    let mut found = observe::latest(&target.store, &estate.state, &selected, concurrency).await;
    selected
        .into_iter()
        .filter_map(|index| Some((index, found.remove(&index)?)))
        .collect()
}

/// The drift verdict of one release.
#[derive(Debug)]
pub struct DriftVerdict {
    /// Index into `state.releases`; `None` for releases found in the cluster (`--all`).
    pub index: Option<usize>,
    /// `namespace/name`.
    pub id: String,
    /// The drift against the deployed revision; `Ok(None)` when nothing is deployed.
    pub result: Result<Option<ReleaseDrift>, Arc<ReleaseError>>,
}

/// `helmfire drift`: every selected release that is to stay installed, its deployed revision
/// compared with the live cluster. No chart is rendered and no chart source is needed.
pub async fn drift(target: &Target, estate: &Estate, concurrency: usize) -> Vec<DriftVerdict> {
    let installed = estate.installed();
    let mut records = observe::each_release(
        &target.store,
        &estate.state,
        &installed,
        concurrency,
        |store, namespace, name| async move { store.deployed(&namespace, &name).await },
    )
    .await;
    let mut reads = Vec::new();
    let mut verdicts: HashMap<usize, Result<Option<ReleaseDrift>, Arc<ReleaseError>>> = HashMap::new();
    for &index in &installed {
        match records.remove(&index) {
            Some(Ok(Some(record))) => {
                reads.push((index, record, estate.release(index).ignore_differences.clone()));
            }
            Some(Ok(None)) => {
                verdicts.insert(index, Ok(None));
            }
            Some(Err(error)) => {
                verdicts.insert(index, Err(Arc::new(error)));
            }
            None => {}
        }
    }
    for (index, result) in join_drifts(spawn_drifts(&target.cluster, reads)).await {
        verdicts.insert(index, result.map(Some).map_err(Arc::new));
    }
    installed
        .into_iter()
        .map(|index| DriftVerdict {
            index: Some(index),
            id: estate.release(index).id.to_string(),
            result: verdicts.remove(&index).unwrap_or_else(|| {
                Err(Arc::new(ReleaseError::Internal {
                    release: estate.release(index).id.to_string(),
                    message: "its drift could not be determined".to_string(),
                }))
            }),
        })
        .collect()
}

/// `helmfire drift --all`: every helm release the store can see in any namespace (plain helm's
/// too), its deployed revision compared with the live cluster, sorted by namespace and name.
pub async fn drift_everywhere(target: &Target) -> Result<Vec<DriftVerdict>, ReleaseError> {
    let records = target
        .store
        .deployed_everywhere()
        .await
        .map_err(|source| ReleaseError::Records {
            release: "(every release)".to_string(),
            source,
        })?;
    let ids: Vec<String> = records
        .iter()
        .map(|record| format!("{}/{}", record.namespace, record.name))
        .collect();
    let reads = records
        .into_iter()
        .enumerate()
        .map(|(position, record)| (position, record, Vec::new()))
        .collect();
    let mut results = join_drifts(spawn_drifts(&target.cluster, reads)).await;
    Ok(ids
        .into_iter()
        .enumerate()
        .map(|(position, id)| DriftVerdict {
            index: None,
            result: results
                .remove(&position)
                .map(|result| result.map(Some).map_err(Arc::new))
                .unwrap_or_else(|| {
                    Err(Arc::new(ReleaseError::Internal {
                        release: id.clone(),
                        message: "its drift could not be determined".to_string(),
                    }))
                }),
            id,
        })
        .collect())
}

/// Records a Kubernetes Event (type `Warning`, reason `DriftDetected`) for each drifted
/// release, on its deployed release record (the Secret or ConfigMap `sh.helm.release.v1.NAME.vN`
/// in its namespace), so the cluster's alerting sees it: `kubectl events --for
/// secret/sh.helm.release.v1.NAME.vN`. Secret values never appear in the message.
pub async fn record_drift_events(target: &Target, drifts: &[&ReleaseDrift]) -> Vec<Result<(), ReleaseError>> {
    let kind = match target.store.driver() {
        Driver::ConfigMap => "ConfigMap",
        _ => "Secret",
    };
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "helmfire".to_string());
    let mut out = Vec::new();
    for drift in drifts {
        let record = crate::storage::record_key(&drift.name, drift.revision);
        let now = helmfire_value::time::rfc3339_utc(helmfire_value::time::unix_now());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos());
        let event = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": format!("{record}.{nanos:x}"), "namespace": drift.namespace},
            "involvedObject": {"apiVersion": "v1", "kind": kind, "namespace": drift.namespace, "name": record},
            "reason": "DriftDetected",
            "type": "Warning",
            "message": drift_event_message(drift),
            "source": {"component": "helmfire", "host": host},
            "reportingComponent": "helmfire",
            "reportingInstance": host,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        });
        out.push(
            target
                .cluster
                .create(&event)
                .await
                .map(drop)
                .map_err(|source| ReleaseError::Events {
                    release: drift.id(),
                    source: Box::new(source),
                }),
        );
    }
    out
}

/// `Release team/web (revision 3) drifted: Deployment/web spec.replicas; Service/web deleted`,
/// at most 1,024 bytes (what `events.k8s.io` allows), values left out.
fn drift_event_message(drift: &ReleaseDrift) -> String {
    let mut parts = Vec::new();
    for object in &drift.objects {
        match object.state {
            drift::ObjectState::Missing => parts.push(format!("{}/{} deleted", object.kind, object.name)),
            drift::ObjectState::Modified => {
                let fields: Vec<&str> = object.fields.iter().map(|field| field.path.as_str()).collect();
                parts.push(format!("{}/{} {}", object.kind, object.name, fields.join(", ")));
            }
        }
    }
    let mut message = format!("Release {} (revision {}) drifted: ", drift.id(), drift.revision);
    for (position, part) in parts.iter().enumerate() {
        let separator = if position == 0 { "" } else { "; " };
        let more = format!("; +{} more", parts.len() - position);
        if message.len() + separator.len() + part.len() + more.len() > 1024 {
            message.push_str(&more);
            break;
        }
        message.push_str(separator);
        message.push_str(part);
    }
    message
}
