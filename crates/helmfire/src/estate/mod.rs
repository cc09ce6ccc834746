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

mod converge;
mod drift;
mod plan;
mod render;

use crate::cluster::Cluster;
use crate::graph::{NeedsMode, ReleaseGraph};
use crate::resolve::ResolveError;
use crate::state::{self, DesiredState, LoadOptions, ReleaseSpec, Selector, StateError};
use crate::storage::{Driver, Store};

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
