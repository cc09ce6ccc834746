//! `helmfire diff`, `apply` and `destroy`, and the cluster they work against: the kubeconfig's,
//! or an embedded sandbox with `--sandbox[=DIR]`.

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::cluster::{Cluster, ClusterConfig};
use crate::converge::run::{self, Outcome, OutcomeKind, Reporter, RunOptions, Task};
use crate::converge::{ActionOptions, DesiredRelease, Engine, UninstallOptions};
use crate::graph::{Order, ReleaseGraph};
use crate::plan::{self, Action, Deployed, Desired, Plan, PlanOptions, ReleasePlan};
use crate::sandbox::{RunningSandbox, Sandbox, SandboxConfig};
use crate::state::{DesiredState, ReleaseSpec};
use crate::storage::{Driver, ReleaseRecord, Status, Store};

use super::args::{PlanArgs, PlanOutput};
use super::commands::write_stdout;
use super::progress::{self, BarReporter, LineReporter, QuietReporter};
use super::release::{self, RenderContext, RenderedRelease};
use super::report::Painter;
use super::settings::Settings;
use super::template::{self, TemplateRequest};
use super::{CommandResult, exit};

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The cluster a command works against, and the sandbox behind it when `--sandbox` was given.
pub struct Target {
    pub cluster: Cluster,
    pub store: Store,
    /// The API server's version, for `.Capabilities.KubeVersion`.
    pub kube_version: Option<String>,
    sandbox: Option<RunningSandbox>,
}

/// How fast the embedded sandbox's simulated controllers make workloads ready.
const SANDBOX_CONTROLLER_DELAY: Duration = Duration::from_millis(200);

impl Target {
    /// Starts the embedded sandbox (state in `--sandbox` DIR) or connects with the kubeconfig.
    /// `context` is the kube context every selected release uses.
    pub async fn open(settings: &Settings, context: Option<&str>) -> Result<Target, BoxError> {
        let driver = driver_from_env()?;
        let (cluster, sandbox) = match &settings.sandbox {
            Some(dir) => {
                let sandbox = start_sandbox(dir).await?;
                let client = kube::Client::new(sandbox.service(), "default");
                (Cluster::from_client(client), Some(sandbox))
            }
            None => {
                let config = ClusterConfig {
                    kubeconfig: settings.kubeconfig.clone(),
                    context: context.map(str::to_string),
                };
                let cluster = Cluster::connect(&config)
                    .await
                    .map_err(|e| -> BoxError { Box::new(e) })?;
                (cluster, None)
            }
        };
        // An API server without /version still works; charts then see helm's default version.
        let kube_version = cluster
            .client()
            .apiserver_version()
            .await
            .ok()
            .map(|info| info.git_version);
        let store = Store::new(Some(cluster.clone()), driver);
        Ok(Target {
            cluster,
            store,
            kube_version,
            sandbox,
        })
    }

    /// Stops the sandbox, writing its state to its directory.
    pub async fn close(mut self) -> Result<(), BoxError> {
        if let Some(sandbox) = self.sandbox.take() {
            sandbox.shutdown().await?;
        }
        Ok(())
    }
}

async fn start_sandbox(dir: &Path) -> Result<RunningSandbox, BoxError> {
    std::fs::create_dir_all(dir).map_err(|e| -> BoxError {
        format!("failed to create the sandbox directory `{}`: {e}", dir.display()).into()
    })?;
    let config = SandboxConfig {
        data_dir: Some(dir.to_path_buf()),
        controller_delay: SANDBOX_CONTROLLER_DELAY,
        ..SandboxConfig::default()
    };
    Ok(Sandbox::start(config).await?)
}

/// The Kubernetes version of the `--sandbox` cluster (for `template`).
pub fn sandbox_kube_version(settings: &Settings) -> Result<Option<String>, BoxError> {
    runtime()?.block_on(async {
        let target = Target::open(settings, None).await?;
        let version = target.kube_version.clone();
        target.close().await?;
        Ok(version)
    })
}

/// `HELM_DRIVER`, as helm reads it.
fn driver_from_env() -> Result<Driver, BoxError> {
    let name = std::env::var("HELM_DRIVER").unwrap_or_default();
    name.parse::<Driver>()
        .map_err(|_| format!("unknown HELM_DRIVER `{name}`: expected secret, configmap or memory").into())
}

/// The one kube context every selected release uses (the flag, the environment's or a
/// release's); several different ones are not supported in one run yet.
fn single_context(state: &DesiredState, graph: &ReleaseGraph) -> Result<Option<String>, BoxError> {
    let mut contexts: Vec<Option<&String>> = graph
        .releases()
        .into_iter()
        .map(|i| state.releases[i].kube_context.as_ref())
        .collect();
    contexts.sort();
    contexts.dedup();
    match contexts.as_slice() {
        [] => Ok(None),
        [one] => Ok(one.cloned()),
        several => Err(format!(
            "the selected releases use {} different kube contexts; select the releases of one context with `-l` (one run works against one cluster)",
            several.len()
        )
        .into()),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, BoxError> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

/// `name-version` of a stored release's chart.
fn record_chart(record: &ReleaseRecord) -> String {
    record.chart.name_version()
}

/// What is known about one selected release after planning.
struct Entry {
    index: usize,
    plan: Result<ReleasePlan, String>,
    rendered: Option<RenderedRelease>,
    /// The release has records and the latest is not `uninstalled`.
    present: bool,
}

/// Every selected release's records, read concurrently.
async fn read_histories(
    store: &Store,
    state: &DesiredState,
    indices: &[usize],
    concurrency: usize,
) -> HashMap<usize, Result<Vec<ReleaseRecord>, String>> {
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for &index in indices {
        let store = store.clone();
        let semaphore = semaphore.clone();
        let namespace = state.releases[index].id.namespace.to_string();
        let name = state.releases[index].id.name.to_string();
        set.spawn(async move {
            let _permit = semaphore.acquire().await;
            let result = store.history(&namespace, &name).await.map_err(|e| {
                format!(
                    "failed to read the records of release `{namespace}/{name}`: {}",
                    run::error_chain(&e)
                )
            });
            (index, result)
        });
    }
    let mut out = HashMap::new();
    while let Some(joined) = set.join_next().await {
        if let Ok((index, result)) = joined {
            out.insert(index, result);
        }
    }
    out
}

/// Renders every selected release that is to be installed and compares it with its deployed
/// record.
async fn plan_releases(
    target: &Target,
    state: &DesiredState,
    graph: &ReleaseGraph,
    settings: &Settings,
    options: PlanOptions,
) -> Result<Vec<Entry>, BoxError> {
    let indices = graph.releases();
    // Remote charts (repositories, OCI) resolve through the cache and helmfire.lock first; the
    // resolver runs its own downloads, so it is kept off this runtime's worker threads.
    let installed: Vec<usize> = indices
        .iter()
        .copied()
        .filter(|&i| state.releases[i].installed)
        .collect();
    let mut charts = tokio::task::block_in_place(|| {
        super::sources::resolve(settings, state, &installed, super::sources::LockMode::Use)
    })?;
    let mut histories = read_histories(&target.store, state, &indices, settings.concurrency.max(16)).await;
    let mut jobs = Vec::new();
    let mut job_of: HashMap<usize, usize> = HashMap::new();
    // (release, its records, why it cannot be rendered)
    type Pending = (usize, Result<Vec<ReleaseRecord>, String>, Option<String>);
    let mut entries: Vec<Pending> = Vec::new();
    for &index in &indices {
        let release = &state.releases[index];
        let history = histories
            .remove(&index)
            .unwrap_or_else(|| Err(format!("failed to read the records of release `{}`", release.id)));
        let mut request_error = None;
        if release.installed
            && let Ok(records) = &history
        {
            let last = records.iter().map(|r| r.version).max();
            let deployed = records.iter().any(|r| r.info.status == Status::Deployed);
            let context = RenderContext {
                revision: i64::from(last.unwrap_or(0)) + 1,
                is_upgrade: deployed,
                kube_version: target.kube_version.clone(),
                lookup: Some(Arc::new(release::ClusterLookup {
                    cluster: target.cluster.clone(),
                    runtime: tokio::runtime::Handle::current(),
                })),
            };
            let request = match charts.remove(&index) {
                Some(Ok(resolution)) => {
                    let base = TemplateRequest {
                        dependency_charts: resolution.dependencies,
                        ..TemplateRequest::default()
                    };
                    template::release_request_for_chart(release, &base, resolution.path)
                }
                Some(Err(e)) => Err(e),
                None => Err("chart not resolved".to_string()),
            };
            match request {
                Ok(job) => {
                    job_of.insert(index, jobs.len());
                    jobs.push((job, context));
                }
                Err(e) => request_error = Some(e),
            }
        }
        entries.push((index, history, request_error));
    }
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let mut rendered: Vec<Option<Result<RenderedRelease, String>>> =
        tokio::task::spawn_blocking(move || release::render_all(jobs, workers))
            .await?
            .into_iter()
            .map(Some)
            .collect();
    let mut out = Vec::with_capacity(entries.len());
    for (index, history, request_error) in entries {
        let release = &state.releases[index];
        let records = match history {
            Ok(records) => records,
            Err(e) => {
                out.push(Entry {
                    index,
                    plan: Err(e),
                    rendered: None,
                    present: false,
                });
                continue;
            }
        };
        let last = records.iter().max_by_key(|r| r.version);
        let present = last.is_some_and(|r| r.info.status != Status::Uninstalled);
        let deployed = records
            .iter()
            .filter(|r| r.info.status == Status::Deployed)
            .max_by_key(|r| r.version)
            // Not wanted any more but left failed or pending: still to be uninstalled.
            .or_else(|| {
                if release.installed {
                    None
                } else {
                    last.filter(|_| present)
                }
            });
        let rendered_release = match (request_error, job_of.get(&index)) {
            (Some(e), _) => Err(format!("release `{}`: {e}", release.id)),
            (None, Some(&job)) => match rendered[job].take() {
                Some(Ok(r)) => Ok(Some(r)),
                Some(Err(e)) => Err(format!("failed to render release `{}`: {e}", release.id)),
                None => Err(format!("failed to render release `{}`", release.id)),
            },
            (None, None) => Ok(None),
        };
        let rendered_release = match rendered_release {
            Ok(r) => r,
            Err(e) => {
                out.push(Entry {
                    index,
                    plan: Err(e),
                    rendered: None,
                    present,
                });
                continue;
            }
        };
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
            chart: record_chart(record),
            manifest: &record.manifest,
        });
        let plan = plan::plan_release(&desired, deployed.as_ref(), &options).map_err(|e| run::error_chain(&e));
        out.push(Entry {
            index,
            plan,
            rendered: rendered_release,
            present,
        });
    }
    Ok(out)
}

fn plan_options(args: &PlanArgs) -> PlanOptions {
    PlanOptions {
        context: args.context,
        show_secrets: args.show_secrets,
    }
}

fn format_plan(plan: &Plan, output: PlanOutput, color: bool) -> Result<String, BoxError> {
    Ok(match output {
        PlanOutput::Text => plan::display::text(plan, color),
        PlanOutput::Json => format!("{}\n", serde_json::to_string_pretty(&plan::display::json(plan))?),
        PlanOutput::Markdown => plan::display::markdown(plan),
    })
}

fn stdout_color(settings: &Settings) -> bool {
    settings.stdout_color
}

/// The plan of the entries that planned, and the errors of the others.
fn collect(entries: &[Entry]) -> (Plan, Vec<String>) {
    let mut plan = Plan::default();
    let mut errors = Vec::new();
    for entry in entries {
        match &entry.plan {
            Ok(p) => plan.releases.push(p.clone()),
            Err(e) => errors.push(e.clone()),
        }
    }
    (plan, errors)
}

/// `helmfire diff`.
pub fn diff(settings: &Settings, state: &DesiredState, graph: &ReleaseGraph, args: &PlanArgs) -> CommandResult {
    let runtime = runtime()?;
    let (plan, errors) = runtime.block_on(async {
        let context = single_context(state, graph)?;
        let target = Target::open(settings, context.as_deref()).await?;
        let entries = plan_releases(&target, state, graph, settings, plan_options(args)).await;
        target.close().await?;
        Ok::<_, BoxError>(collect(&entries?))
    })?;
    write_stdout(&format_plan(&plan, args.output, stdout_color(settings))?)?;
    if !errors.is_empty() {
        return Err(errors.join("\n").into());
    }
    Ok(if args.detailed_exitcode && plan.summary().has_changes() {
        exit::CHANGES
    } else {
        exit::OK
    })
}

fn action_options(release: &ReleaseSpec) -> ActionOptions {
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

fn uninstall_options(release: &ReleaseSpec) -> UninstallOptions {
    UninstallOptions {
        wait: release.wait,
        timeout: release.timeout,
        ..UninstallOptions::default()
    }
}

fn desired_release(release: &ReleaseSpec, rendered: RenderedRelease) -> DesiredRelease {
    DesiredRelease {
        name: release.id.name.to_string(),
        namespace: release.id.namespace.to_string(),
        chart: rendered.chart,
        config: rendered.config,
        values: rendered.values,
        manifest: rendered.manifest,
        hooks: rendered.hooks,
        notes: rendered.notes,
        crds: rendered.crds,
    }
}

/// Picks the reporter: bars on a terminal, lines otherwise, nothing with `-q`.
enum Display {
    Bars(Arc<BarReporter>),
    Lines,
    Quiet,
}

impl Display {
    fn new(settings: &Settings, total: usize) -> Display {
        if settings.quiet {
            Display::Quiet
        } else if settings.terminal {
            Display::Bars(Arc::new(BarReporter::new(total, Painter { color: settings.color })))
        } else {
            Display::Lines
        }
    }

    fn reporter(&self) -> Arc<dyn Reporter> {
        match self {
            Display::Bars(bars) => bars.clone(),
            Display::Lines => Arc::new(LineReporter),
            Display::Quiet => Arc::new(QuietReporter),
        }
    }

    fn finish(&self) {
        if let Display::Bars(bars) = self {
            bars.finish();
        }
    }
}

/// Ctrl-C: tell the run to start nothing new.
fn cancel_on_interrupt(quiet: bool) -> tokio::sync::watch::Receiver<bool> {
    let (sender, receiver) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            if !quiet {
                eprintln!("interrupted: starting nothing new, letting running releases finish");
            }
            let _ = sender.send(true);
            // Keep the sender alive so the run sees a settled state.
            std::future::pending::<()>().await;
        }
    });
    receiver
}

/// Prints the summary and picks the exit code.
fn finish(settings: &Settings, outcomes: &[Outcome], interrupted: bool, detailed: bool) -> CommandResult {
    let painter = Painter { color: settings.color };
    let mut text = progress::summary_table(outcomes);
    text.push_str(&format!("\n{}\n", progress::outcome_counts(outcomes)));
    eprint!("\n{text}");
    let failed = outcomes.iter().filter(|o| o.kind == OutcomeKind::Failed).count();
    if interrupted {
        eprintln!("{}: interrupted", painter.error_label());
        return Ok(exit::INTERRUPTED);
    }
    if failed > 0 {
        return Err(format!("{failed} release(s) failed").into());
    }
    Ok(if detailed && outcomes.iter().any(|o| o.kind.changed()) {
        exit::CHANGES
    } else {
        exit::OK
    })
}

/// `helmfire apply`.
pub fn apply(
    settings: &Settings,
    state: &DesiredState,
    graph: &ReleaseGraph,
    args: &PlanArgs,
    dry_run: bool,
    force: bool,
) -> CommandResult {
    let runtime = runtime()?;
    runtime.block_on(async {
        let context = single_context(state, graph)?;
        let target = Target::open(settings, context.as_deref()).await?;
        let result = apply_on(&target, settings, state, graph, args, dry_run, force).await;
        target.close().await?;
        result
    })
}

async fn apply_on(
    target: &Target,
    settings: &Settings,
    state: &DesiredState,
    graph: &ReleaseGraph,
    args: &PlanArgs,
    dry_run: bool,
    force: bool,
) -> CommandResult {
    let entries = plan_releases(target, state, graph, settings, plan_options(args)).await?;
    let (plan, errors) = collect(&entries);
    if !settings.quiet || dry_run {
        write_stdout(&format_plan(&plan, args.output, stdout_color(settings))?)?;
    }
    if dry_run {
        if !errors.is_empty() {
            return Err(errors.join("\n").into());
        }
        return Ok(if args.detailed_exitcode && plan.summary().has_changes() {
            exit::CHANGES
        } else {
            exit::OK
        });
    }
    if errors.is_empty() && !force && !plan.summary().has_changes() {
        if !settings.quiet {
            eprintln!("No changes: the cluster matches the state file.");
        }
        return Ok(exit::OK);
    }
    // Uninstalls first, dependents before their needs; then installs and upgrades, needs first.
    let mut uninstalls = HashMap::new();
    let mut converges = HashMap::new();
    for entry in entries {
        let release = &state.releases[entry.index];
        match entry.plan {
            Err(reason) => {
                if release.installed {
                    converges.insert(entry.index, Task::Broken { reason });
                } else {
                    uninstalls.insert(entry.index, Task::Broken { reason });
                }
            }
            Ok(plan) if plan.action == Action::Uninstall => {
                uninstalls.insert(
                    entry.index,
                    Task::Uninstall {
                        namespace: release.id.namespace.to_string(),
                        name: release.id.name.to_string(),
                        options: uninstall_options(release),
                    },
                );
            }
            Ok(plan) => {
                let wanted = matches!(plan.action, Action::Install | Action::Upgrade) || (force && release.installed);
                if let (true, Some(rendered)) = (wanted, entry.rendered) {
                    converges.insert(
                        entry.index,
                        Task::Converge {
                            desired: Box::new(desired_release(release, rendered)),
                            options: action_options(release),
                            upgrade: entry.present,
                        },
                    );
                }
            }
        }
    }
    let uninstall_indices: Vec<usize> = graph
        .releases()
        .into_iter()
        .filter(|i| !state.releases[*i].installed)
        .collect();
    let install_indices: Vec<usize> = graph
        .releases()
        .into_iter()
        .filter(|i| state.releases[*i].installed)
        .collect();
    let uninstall_graph = ReleaseGraph::build(&state.releases, &uninstall_indices)?;
    let install_graph = ReleaseGraph::build(&state.releases, &install_indices)?;
    let executor = run::EngineExecutor::new(Engine::new(target.cluster.clone(), target.store.clone()));
    let display = Display::new(settings, graph.len());
    let cancel = cancel_on_interrupt(settings.quiet);
    let concurrency = settings.concurrency;
    let mut outcomes = run::run(
        &executor,
        &uninstall_graph,
        uninstalls,
        &RunOptions {
            concurrency,
            order: Order::Reverse,
        },
        display.reporter(),
        cancel.clone(),
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
            display.reporter(),
            cancel.clone(),
        )
        .await,
    );
    display.finish();
    outcomes.sort_by_key(|o| o.release);
    let interrupted = *cancel.borrow();
    finish(settings, &outcomes, interrupted, args.detailed_exitcode)
}

/// `helmfire destroy`.
pub fn destroy(settings: &Settings, state: &DesiredState, graph: &ReleaseGraph, yes: bool) -> CommandResult {
    let runtime = runtime()?;
    runtime.block_on(async {
        let context = single_context(state, graph)?;
        let target = Target::open(settings, context.as_deref()).await?;
        let result = destroy_on(&target, settings, state, graph, yes).await;
        target.close().await?;
        result
    })
}

async fn destroy_on(
    target: &Target,
    settings: &Settings,
    state: &DesiredState,
    graph: &ReleaseGraph,
    yes: bool,
) -> CommandResult {
    let indices = graph.releases();
    let histories = read_histories(&target.store, state, &indices, settings.concurrency.max(16)).await;
    let mut tasks = HashMap::new();
    let mut doomed = Vec::new();
    for &index in &indices {
        let release = &state.releases[index];
        let task = match histories.get(&index) {
            Some(Ok(records)) => {
                let present = records
                    .iter()
                    .max_by_key(|r| r.version)
                    .is_some_and(|r| r.info.status != Status::Uninstalled);
                if present {
                    doomed.push(release.id.to_string());
                    Task::Uninstall {
                        namespace: release.id.namespace.to_string(),
                        name: release.id.name.to_string(),
                        options: uninstall_options(release),
                    }
                } else {
                    Task::Unchanged
                }
            }
            Some(Err(reason)) => Task::Broken { reason: reason.clone() },
            None => Task::Broken {
                reason: format!("failed to read the records of release `{}`", release.id),
            },
        };
        tasks.insert(index, task);
    }
    if doomed.is_empty() && tasks.values().all(|t| matches!(t, Task::Unchanged)) {
        if !settings.quiet {
            eprintln!("Nothing to destroy: none of the selected releases is installed.");
        }
        return Ok(exit::OK);
    }
    if !yes && !doomed.is_empty() {
        if !std::io::stdin().is_terminal() {
            return Err(format!(
                "refusing to uninstall {} release(s) without confirmation: pass --yes (standard input is not a terminal)",
                doomed.len()
            )
            .into());
        }
        eprintln!("These releases will be uninstalled, dependents first:");
        for id in &doomed {
            eprintln!("  {id}");
        }
        eprint!("Uninstall {} release(s)? [y/N] ", doomed.len());
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            eprintln!("Aborted: nothing was uninstalled.");
            return Ok(exit::ERROR);
        }
    }
    let executor = run::EngineExecutor::new(Engine::new(target.cluster.clone(), target.store.clone()));
    let display = Display::new(settings, graph.len());
    let cancel = cancel_on_interrupt(settings.quiet);
    let outcomes = run::run(
        &executor,
        graph,
        tasks,
        &RunOptions {
            concurrency: settings.concurrency,
            order: Order::Reverse,
        },
        display.reporter(),
        cancel.clone(),
    )
    .await;
    display.finish();
    let interrupted = *cancel.borrow();
    finish(settings, &outcomes, interrupted, false)
}
