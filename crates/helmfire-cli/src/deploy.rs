//! `helmfire diff`, `apply` and `destroy`: settings in, one estate operation called, its plan
//! and outcomes printed.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use helmfire::converge::run::{Outcome, OutcomeKind, Reporter};
use helmfire::error::ReleaseError;
use helmfire::estate::{self, ConvergeSettings, Estate, EstatePlan, PlanSettings, RenderSettings, Target};
use helmfire::plan::{self, Plan, PlanOptions};

use super::args::{PlanArgs, PlanOutput};
use super::commands::write_stdout;
use super::connect::{BoxError, with_target};
use super::progress::{self, BarReporter, LineReporter, QuietReporter};
use super::report::{Painter, ReleaseFailures};
use super::settings::Settings;
use super::{CommandResult, exit};

/// The one kube context every selected release uses (the flag, the environment's or a
/// release's); several different ones are not supported in one run yet.
fn single_context(estate: &Estate) -> Result<Option<String>, BoxError> {
    let mut contexts: Vec<Option<&String>> = estate
        .selected()
        .into_iter()
        .map(|index| estate.release(index).kube_context.as_ref())
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

fn plan_settings(settings: &Settings, args: &PlanArgs) -> PlanSettings {
    PlanSettings {
        plan: PlanOptions {
            context: args.context,
            show_secrets: args.show_secrets,
        },
        concurrency: settings.concurrency.max(16),
        render: RenderSettings::default(),
    }
}

fn format_plan(plan: &Plan, output: PlanOutput, color: bool) -> Result<String, BoxError> {
    Ok(match output {
        PlanOutput::Text => plan::display::text(plan, color),
        PlanOutput::Json => format!("{}\n", serde_json::to_string_pretty(&plan::display::json(plan))?),
        PlanOutput::Markdown => plan::display::markdown(plan),
    })
}

/// The failures of releases that could not be planned, as one error.
fn plan_failures(plan: &EstatePlan) -> Result<(), BoxError> {
    let errors: Vec<Arc<ReleaseError>> = plan.errors();
    if errors.is_empty() {
        return Ok(());
    }
    Err(Box::new(ReleaseFailures(errors)))
}

/// `helmfire diff`.
pub fn diff(settings: &Settings, estate: &Estate, args: &PlanArgs) -> CommandResult {
    let context = single_context(estate)?;
    let storage = settings.storage(estate.state.environment.storage.as_ref())?;
    let plan = with_target(settings, context.as_deref(), &storage, async |target| {
        Ok(estate::plan(target, estate, &settings.sources, &plan_settings(settings, args)).await?)
    })?;
    write_stdout(&format_plan(&plan.plan(), args.output, settings.stdout_color)?)?;
    plan_failures(&plan)?;
    Ok(if args.detailed_exitcode && plan.plan().summary().has_changes() {
        exit::CHANGES
    } else {
        exit::OK
    })
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
    if interrupted {
        eprintln!("{}: interrupted", painter.error_label());
        return Ok(exit::INTERRUPTED);
    }
    let failed: Vec<Arc<ReleaseError>> = outcomes
        .iter()
        .filter(|outcome| outcome.kind == OutcomeKind::Failed)
        .filter_map(|outcome| match &outcome.reason {
            Some(helmfire::converge::run::Reason::Failed(error)) => Some(error.clone()),
            _ => None,
        })
        .collect();
    if !failed.is_empty() {
        return Err(Box::new(ReleaseFailures(failed)));
    }
    Ok(if detailed && outcomes.iter().any(|o| o.kind.changed()) {
        exit::CHANGES
    } else {
        exit::OK
    })
}

/// `helmfire apply`.
pub fn apply(settings: &Settings, estate: &Estate, args: &PlanArgs, dry_run: bool, force: bool) -> CommandResult {
    let context = single_context(estate)?;
    let storage = settings.storage(estate.state.environment.storage.as_ref())?;
    with_target(settings, context.as_deref(), &storage, async |target| {
        apply_on(target, settings, estate, args, dry_run, force).await
    })
}

async fn apply_on(
    target: &Target,
    settings: &Settings,
    estate: &Estate,
    args: &PlanArgs,
    dry_run: bool,
    force: bool,
) -> CommandResult {
    let plan = estate::plan(target, estate, &settings.sources, &plan_settings(settings, args)).await?;
    let shown = plan.plan();
    if !settings.quiet || dry_run {
        write_stdout(&format_plan(&shown, args.output, settings.stdout_color)?)?;
    }
    let has_errors = !plan.errors().is_empty();
    if dry_run {
        plan_failures(&plan)?;
        return Ok(if args.detailed_exitcode && shown.summary().has_changes() {
            exit::CHANGES
        } else {
            exit::OK
        });
    }
    if !has_errors && !force && !shown.summary().has_changes() {
        if !settings.quiet {
            eprintln!("No changes: the cluster matches the state file.");
        }
        return Ok(exit::OK);
    }
    let display = Display::new(settings, estate.graph.len());
    let cancel = cancel_on_interrupt(settings.quiet);
    let converge = ConvergeSettings {
        concurrency: settings.concurrency,
        force,
    };
    let outcomes = estate::converge(target, estate, plan, &converge, display.reporter(), cancel.clone()).await?;
    display.finish();
    let interrupted = *cancel.borrow();
    finish(settings, &outcomes, interrupted, args.detailed_exitcode)
}

/// `helmfire destroy`.
pub fn destroy(settings: &Settings, estate: &Estate, yes: bool) -> CommandResult {
    let context = single_context(estate)?;
    let storage = settings.storage(estate.state.environment.storage.as_ref())?;
    with_target(settings, context.as_deref(), &storage, async |target| {
        destroy_on(target, settings, estate, yes).await
    })
}

async fn destroy_on(target: &Target, settings: &Settings, estate: &Estate, yes: bool) -> CommandResult {
    let plan = estate::destroy_plan(target, estate, settings.concurrency.max(16)).await;
    if plan.is_empty() {
        if !settings.quiet {
            eprintln!("Nothing to destroy: none of the selected releases is installed.");
        }
        return Ok(exit::OK);
    }
    if !yes && !plan.doomed.is_empty() && !confirm(estate, &plan.doomed)? {
        eprintln!("Aborted: nothing was uninstalled.");
        return Ok(exit::ERROR);
    }
    let display = Display::new(settings, estate.graph.len());
    let cancel = cancel_on_interrupt(settings.quiet);
    let outcomes = estate::destroy(
        target,
        estate,
        plan,
        settings.concurrency,
        display.reporter(),
        cancel.clone(),
    )
    .await;
    display.finish();
    let interrupted = *cancel.borrow();
    finish(settings, &outcomes, interrupted, false)
}

/// Asks on a terminal before uninstalling; refuses without one.
fn confirm(estate: &Estate, doomed: &[usize]) -> Result<bool, BoxError> {
    if !std::io::stdin().is_terminal() {
        return Err(format!(
            "refusing to uninstall {} release(s) without confirmation: pass --yes (standard input is not a terminal)",
            doomed.len()
        )
        .into());
    }
    eprintln!("These releases will be uninstalled, dependents first:");
    for &index in doomed {
        eprintln!("  {}", estate.release(index).id);
    }
    eprint!("Uninstall {} release(s)? [y/N] ", doomed.len());
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}
