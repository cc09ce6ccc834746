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
//! 3. [`render_releases`] renders every selected release with [`crate::render::render_release`], the
//!    one render path, on one worker per core.
//! 4. [`crate::observe`] reads what the cluster holds (release records).
//! 5. [`plan`] compares desired and deployed ([`crate::plan`]) release by release.
//! 6. [`converge`] runs installs, upgrades and uninstalls over the graph ([`crate::converge`]),
//!    each recorded by [`crate::storage`] in helm's format; [`destroy`] uninstalls.
//!
//! Nothing here prints or knows the command line: progress goes to a [`Reporter`](crate::converge::run::Reporter), results come
//! back as values, failures as typed [`ReleaseError`]s per release.

mod converge;
mod drift;
mod plan;
mod render;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::cluster::{Cluster, ClusterError};
use crate::error::ReleaseError;
use crate::graph::{NeedsMode, ReleaseGraph};
use crate::resolve::ResolveError;
use crate::state::{self, DesiredState, LoadOptions, ReleaseSpec, Selector, StateError};
use crate::storage::{Driver, StorageError, StorageSettings, Store};

pub use crate::resolve::resolve_charts;
pub use converge::{
    ConvergeSettings, DestroyPlan, action_options, converge, destroy, destroy_plan, latest_records, uninstall_options,
};
pub use drift::{DriftVerdict, drift, drift_everywhere, record_drift_events};
pub use plan::{EstatePlan, LIVE_CONCURRENCY, PlanSettings, PlannedRelease, plan};
pub use render::{RenderSettings, render_releases, user_values};

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

    /// The kube contexts the selected releases use (`None`: the kubeconfig's current one).
    pub fn contexts(&self) -> BTreeSet<Option<String>> {
        self.selected()
            .into_iter()
            .map(|index| self.release(index).kube_context.clone())
            .collect()
    }

    /// Whether every context can keep its records on `storage`. The sql driver keeps all of
    /// them in one database whose rows helm keys by namespace and name alone, so two releases
    /// of the same namespace and name in different contexts would share one history there:
    /// refused, naming both.
    pub fn check_storage(&self, storage: &StorageSettings) -> Result<(), StateError> {
        if storage.driver != Driver::Sql {
            return Ok(());
        }
        let mut seen: BTreeMap<(&str, &str), &ReleaseSpec> = BTreeMap::new();
        let mut diagnostics = Vec::new();
        for release in &self.state.releases {
            let key = (release.id.namespace.as_str(), release.id.name.as_str());
            match seen.get(&key) {
                Some(first) if first.kube_context != release.kube_context => diagnostics.push(
                    state::Diagnostic::new(
                        format!(
                            "release `{}` would share its sql storage records with `{}`",
                            release.id, first.id
                        ),
                        Some(release.location.clone()),
                    )
                    .with_note(first.location.clone(), "the other release is defined here")
                    .with_hint(
                        "helm's sql driver keys records by namespace and name only: give one a \
                         different name or namespace, or keep each cluster's records in its own database",
                    ),
                ),
                Some(_) => {}
                None => {
                    seen.insert(key, release);
                }
            }
        }
        if diagnostics.is_empty() {
            Ok(())
        } else {
            Err(StateError::Invalid(diagnostics))
        }
    }
}

/// One cluster a run works against: its client, the release store on it, and its version.
#[derive(Clone, Debug)]
pub struct Target {
    pub cluster: Cluster,
    pub store: Store,
    /// The API server's version, for `.Capabilities.KubeVersion`.
    pub kube_version: Option<String>,
}

impl Target {
    /// Wraps a connected cluster, reads its version once — which also proves it answers: a
    /// server that does not answer or refuses the credentials is an error here, once per
    /// context, not one per release later — and opens its release store (for `sql`, connects
    /// to the database and checks its tables). A server without `/version` still works (charts
    /// then see helm's default version).
    pub async fn new(cluster: Cluster, storage: &StorageSettings) -> Result<Target, OpenError> {
        let (kube_version, store) = tokio::join!(cluster.server_version(), Store::open(Some(cluster.clone()), storage));
        Ok(Target {
            kube_version: kube_version?,
            store: store?,
            cluster,
        })
    }
}

/// Why a target could not be opened: its cluster or its release storage.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl OpenError {
    /// The error itself, without this wrapper (so its own causes and hints show).
    pub fn into_inner(self) -> Box<dyn std::error::Error + Send + Sync> {
        match self {
            OpenError::Cluster(error) => Box::new(error),
            OpenError::Storage(error) => Box::new(error),
        }
    }
}

/// Why a kube context could not be used: it is missing from the kubeconfig, its server does not
/// answer, or it refuses the credentials.
#[derive(Debug, thiserror::Error)]
#[error("cannot use {}", describe_context(context.as_deref()))]
pub struct TargetError {
    pub context: Option<String>,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

fn describe_context(context: Option<&str>) -> String {
    match context {
        Some(context) => format!("kube context `{context}`"),
        None => "the kubeconfig's current context".to_string(),
    }
}

/// The clusters of a run: one [`Target`] per kube context its selected releases use, each
/// opened once, or why it could not be. A release whose context failed fails alone (with its
/// dependents); the other contexts' releases go on.
#[derive(Clone, Debug, Default)]
pub struct Targets {
    by_context: BTreeMap<Option<String>, Result<Target, Arc<TargetError>>>,
}

impl Targets {
    /// Adds the target (or the failure) of a context.
    pub fn insert(&mut self, context: Option<String>, target: Result<Target, TargetError>) {
        self.by_context.insert(context, target.map_err(Arc::new));
    }

    /// The context whose target serves `release`.
    pub fn context_of<'a>(&self, release: &'a ReleaseSpec) -> Option<&'a str> {
        release.kube_context.as_deref()
    }

    /// Whether the target of `context` serves `release`.
    pub fn serves(&self, context: Option<&str>, release: &ReleaseSpec) -> bool {
        self.context_of(release) == context
    }

    /// The target of a context.
    pub fn get(&self, context: Option<&str>) -> Result<&Target, Arc<TargetError>> {
        let key = context.map(str::to_string);
        match self.by_context.get(&key) {
            Some(Ok(target)) => Ok(target),
            Some(Err(error)) => Err(error.clone()),
            None => Err(Arc::new(TargetError {
                context: key,
                source: "the run did not open it".into(),
            })),
        }
    }

    /// The target of a release's context, or the release's error.
    pub fn of(&self, release: &ReleaseSpec) -> Result<&Target, ReleaseError> {
        self.get(release.kube_context.as_deref())
            .map_err(|source| ReleaseError::Target {
                release: release.id.to_string(),
                source,
            })
    }

    /// The store of each release's cluster, and the errors of releases whose context failed.
    pub(crate) fn stores(
        &self,
        estate: &Estate,
        releases: &[usize],
    ) -> (Vec<(usize, Store)>, std::collections::HashMap<usize, ReleaseError>) {
        let mut stores = Vec::new();
        let mut unreachable = std::collections::HashMap::new();
        for &index in releases {
            match self.of(estate.release(index)) {
                Ok(target) => stores.push((index, target.store.clone())),
                Err(error) => {
                    unreachable.insert(index, error);
                }
            }
        }
        (stores, unreachable)
    }

    /// The opened targets with their context.
    pub fn opened(&self) -> impl Iterator<Item = (Option<&str>, &Target)> {
        self.by_context
            .iter()
            .filter_map(|(context, target)| Some((context.as_deref(), target.as_ref().ok()?)))
    }

    /// How many clusters the run opened.
    pub fn len(&self) -> usize {
        self.by_context.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_context.is_empty()
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
