//! Planning: every selected release rendered as an upgrade would render it, its records read,
//! its live objects observed, and each compared ([`plan`]).

use std::collections::HashMap;
use std::sync::Arc;

use helmfire_template::Lookup;

use crate::cluster::Cluster;
use crate::error::ReleaseError;
use crate::observe::live;
use crate::observe::{self, History};
use crate::plan::drift::{self, IgnoreRule, ReleaseDrift};
use crate::plan::{self, Action, Deployed, Desired, PendingRevision, Plan, PlanOptions, ReleasePlan};
use crate::render::{Capabilities, RenderedRelease};
use crate::resolve::{self, LockMode, SourceSettings};
use crate::storage::ReleaseRecord;

use super::render::{ClusterLookup, Occasion, RenderSettings, chart_of, render_jobs, render_request, split_jobs};
use super::{Estate, EstateError, Targets};

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
pub(super) fn spawn_drifts(
    set: &mut tokio::task::JoinSet<(usize, Result<ReleaseDrift, ReleaseError>)>,
    cluster: &Cluster,
    releases: Vec<(usize, ReleaseRecord, Vec<IgnoreRule>)>,
) {
    let cluster = cluster.clone();
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
}

/// The drift of one deployed record.
pub(super) async fn drift_of_record(
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
pub(super) async fn join_drifts(
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
    targets: &Targets,
    estate: &Estate,
    sources: &SourceSettings,
    settings: &PlanSettings,
) -> Result<EstatePlan, EstateError> {
    let selected = estate.selected();
    // Per cluster: `.Capabilities` from its version, and `lookup` against it.
    let mut clusters: HashMap<Option<&str>, (Capabilities, Arc<dyn Lookup>)> = HashMap::new();
    for (context, target) in targets.opened() {
        let kube_version = target
            .kube_version
            .as_deref()
            .or(settings.render.kube_version.as_deref());
        let capabilities =
            Capabilities::offline(kube_version, &settings.render.api_versions).map_err(EstateError::Capabilities)?;
        let lookup: Arc<dyn Lookup> = Arc::new(ClusterLookup {
            cluster: target.cluster.clone(),
            runtime: tokio::runtime::Handle::current(),
        });
        clusters.insert(context, (capabilities, lookup));
    }
    let installed = estate.installed();
    let (stores, mut unreachable) = targets.stores(estate, &selected);
    let (charts, mut histories) = tokio::join!(
        resolve::resolve_charts(&estate.state, &installed, sources, LockMode::Use),
        observe::histories(stores, &estate.state, settings.concurrency),
    );
    let mut charts = charts?;
    let mut requests = Vec::new();
    let mut observed: Vec<(usize, Result<History, ReleaseError>)> = Vec::new();
    for &index in &selected {
        let release = estate.release(index);
        let history = match unreachable.remove(&index) {
            Some(error) => Err(error),
            None => histories.remove(&index).unwrap_or_else(|| {
                Err(ReleaseError::Internal {
                    release: release.id.to_string(),
                    message: "its records were not read".to_string(),
                })
            }),
        };
        if release.installed
            && let Ok(history) = &history
            && let Some((capabilities, lookup)) = clusters.get(&targets.context_of(release))
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
                    render_request(release, &chart, capabilities, &occasion),
                )
            });
            requests.push((index, request));
        }
        observed.push((index, history));
    }
    // Live objects are read while the charts render: drift of the deployed revision of every
    // release that is to stay installed, per cluster.
    let live_reads = settings.live.then(|| {
        let mut set = tokio::task::JoinSet::new();
        for (context, target) in targets.opened() {
            let records = observed
                .iter()
                .filter(|(index, _)| estate.release(*index).installed)
                .filter(|(index, _)| targets.serves(context, estate.release(*index)))
                .filter_map(|(index, history)| {
                    let record = history.as_ref().ok()?.deployed()?.clone();
                    Some((*index, record, estate.release(*index).ignore_differences.clone()))
                })
                .collect();
            spawn_drifts(&mut set, &target.cluster, records);
        }
        set
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
                plan.id = release.id.to_string();
                plan.context = release.kube_context.clone();
                match drift {
                    Some(Ok(drift)) => {
                        plan.drift = Some(drift.labelled(plan.id.clone(), plan.context.clone()));
                    }
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
