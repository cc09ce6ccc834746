//! Converging and destroying over the release graph, and reading the latest records for
//! `status`.

use std::collections::HashMap;
use std::sync::Arc;

use crate::converge::run::{self, Outcome, Reporter, RunOptions, Task};
use crate::converge::{ActionOptions, DesiredRelease, Engine, Interrupt, UninstallOptions};
use crate::error::ReleaseError;
use crate::graph::{Order, ReleaseGraph};
use crate::observe;
use crate::plan::Action;
use crate::state::{ReleaseSpec, StateError};

use super::plan::EstatePlan;
use super::{Estate, Targets};

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
    /// This process's Lease identity and duration (how long a killed run's locks block the next).
    pub lease: crate::converge::LeaseSettings,
}

/// The second half of `apply`: uninstalls (`installed: false`, a false `condition`) dependents
/// first, then installs and upgrades needs first, each release the moment what it waits for is
/// done. Returns one outcome per selected release, in state-file order. `interrupt` drains the
/// run (nothing new starts) and then cuts running actions' waits short.
pub async fn converge(
    targets: &Targets,
    estate: &Estate,
    plan: EstatePlan,
    settings: &ConvergeSettings,
    reporter: Arc<dyn Reporter>,
    interrupt: Interrupt,
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
                        let desired = match DesiredRelease::new(
                            release.id.name.as_str(),
                            release.id.namespace.as_str(),
                            rendered,
                        ) {
                            Ok(desired) => desired,
                            Err(source) => {
                                let error = ReleaseError::Render {
                                    release: release.id.to_string(),
                                    source,
                                };
                                tasks.insert(entry.index, Task::Broken { error: Arc::new(error) });
                                continue;
                            }
                        };
                        let mut options = action_options(release);
                        // Drifted fields other managers took are taken back by the upgrade.
                        options.force_conflicts |= correct.is_some();
                        tasks.insert(
                            entry.index,
                            Task::Converge {
                                desired: Box::new(desired),
                                options,
                                upgrade: entry.present,
                                force: settings.force,
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
    let executor = executor(targets, estate, settings, &interrupt);
    // `concurrency` releases at once per cluster, and as many per cluster overall.
    let concurrency = settings.concurrency * targets.len().max(1);
    let mut outcomes = run::run(
        &executor,
        &uninstall_graph,
        uninstalls,
        &RunOptions {
            concurrency,
            order: Order::Reverse,
        },
        reporter.clone(),
        interrupt.clone(),
    )
    .await;
    outcomes.extend(
        run::run(
            &executor,
            &install_graph,
            converges,
            &RunOptions {
                concurrency,
                order: Order::Forward,
            },
            reporter,
            interrupt,
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

/// The engine of each selected release's cluster (releases whose context failed have none:
/// their tasks are broken before they reach it).
fn executor(
    targets: &Targets,
    estate: &Estate,
    settings: &ConvergeSettings,
    interrupt: &Interrupt,
) -> run::EngineExecutor {
    let releases = estate.selected().into_iter().filter_map(|index| {
        let release = estate.release(index);
        let target = targets.of(release).ok()?;
        let engine = Engine::new(target.cluster.clone(), target.store.clone())
            .with_lease(settings.lease.clone())
            .with_interrupt(interrupt.clone());
        Some((index, engine, targets.context_of(release).map(str::to_string)))
    });
    run::EngineExecutor::for_clusters(releases, settings.concurrency)
}

/// Reads the records of every selected release and plans an uninstall for those installed.
pub async fn destroy_plan(targets: &Targets, estate: &Estate, concurrency: usize) -> DestroyPlan {
    let selected = estate.selected();
    let (stores, mut unreachable) = targets.stores(estate, &selected);
    let mut histories = observe::histories(stores, &estate.state, concurrency).await;
    let mut plan = DestroyPlan::default();
    for index in selected {
        let release = estate.release(index);
        if let Some(error) = unreachable.remove(&index) {
            plan.tasks.insert(index, Task::Broken { error: Arc::new(error) });
            continue;
        }
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
    targets: &Targets,
    estate: &Estate,
    plan: DestroyPlan,
    settings: &ConvergeSettings,
    reporter: Arc<dyn Reporter>,
    interrupt: Interrupt,
) -> Vec<Outcome> {
    let executor = executor(targets, estate, settings, &interrupt);
    run::run(
        &executor,
        &estate.graph,
        plan.tasks,
        &RunOptions {
            concurrency: settings.concurrency * targets.len().max(1),
            order: Order::Reverse,
        },
        reporter,
        interrupt,
    )
    .await
}

/// `helmfire status`: the latest record of every selected release (`None`: not installed), in
/// state-file order.
pub async fn latest_records(
    targets: &Targets,
    estate: &Estate,
    concurrency: usize,
) -> Vec<(usize, Result<Option<crate::storage::ReleaseRecord>, ReleaseError>)> {
    let selected = estate.selected();
    let (stores, mut unreachable) = targets.stores(estate, &selected);
    let mut found = observe::latest(stores, &estate.state, concurrency).await;
    selected
        .into_iter()
        .filter_map(|index| {
            let result = match unreachable.remove(&index) {
                Some(error) => Err(error),
                None => found.remove(&index)?,
            };
            Some((index, result))
        })
        .collect()
}
