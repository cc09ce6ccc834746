//! `helmfire diff`, `apply` and `destroy`: settings in, one estate operation called, its plan
//! and outcomes printed.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use helmfire::converge::Level;
use helmfire::converge::run::{Outcome, OutcomeKind, Reporter};
use helmfire::error::ReleaseError;
use helmfire::estate::{self, ConvergeSettings, Estate, EstatePlan, PlanSettings, RenderSettings, Targets};
use helmfire::plan::{self, Plan, PlanOptions};

use super::args::{PlanArgs, PlanOutput};
use super::commands::write_stdout;
use super::connect::{BoxError, estate_storage, with_targets};
use super::progress::{self, BarReporter, LineReporter, QuietReporter};
use super::report::{Painter, ReleaseFailures};
use super::settings::Settings;
use super::{CommandResult, exit, signals};

fn plan_settings(settings: &Settings, args: &PlanArgs) -> PlanSettings {
    PlanSettings {
        plan: PlanOptions {
            context: args.context,
            show_secrets: args.show_secrets,
        },
        concurrency: settings.concurrency.max(16),
        render: RenderSettings::default(),
        live: !args.no_live,
        correct_drift: args.correct_drift,
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
    let plan = with_targets(
        settings,
        estate.contexts(),
        &estate_storage(settings, estate)?,
        async |targets| Ok(estate::plan(targets, estate, &settings.sources, &plan_settings(settings, args)).await?),
    )?;
    write_stdout(&format_plan(&plan.plan(), args.output, settings.stdout_color)?)?;
    plan_failures(&plan)?;
    Ok(if args.detailed_exitcode && plan.has_work() {
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
    with_targets(
        settings,
        estate.contexts(),
        &estate_storage(settings, estate)?,
        async |targets| apply_on(targets, settings, estate, args, dry_run, force).await,
    )
}

async fn apply_on(
    targets: &Targets,
    settings: &Settings,
    estate: &Estate,
    args: &PlanArgs,
    dry_run: bool,
    force: bool,
) -> CommandResult {
    // Listening from the start: a signal while planning stops before anything is written.
    let interrupt = signals::listen(settings.quiet);
    let planning = plan_settings(settings, args);
    let plan = tokio::select! {
        plan = estate::plan(targets, estate, &settings.sources, &planning) => plan?,
        () = interrupt.reached(Level::Draining) => return Ok(exit::INTERRUPTED),
    };
    let shown = plan.plan();
    if !settings.quiet || dry_run {
        write_stdout(&format_plan(&shown, args.output, settings.stdout_color)?)?;
    }
    let has_errors = !plan.errors().is_empty();
    if dry_run {
        plan_failures(&plan)?;
        return Ok(if args.detailed_exitcode && plan.has_work() {
            exit::CHANGES
        } else {
            exit::OK
        });
    }
    if !has_errors && !force && !plan.has_work() {
        if !settings.quiet {
            if shown.summary().drifted > 0 {
                eprintln!(
                    "No changes to the state file's releases; the cluster drifted (see above): `apply --correct-drift` or `driftCorrection: true` corrects it."
                );
            } else {
                eprintln!("No changes: the cluster matches the state file.");
            }
        }
        return Ok(exit::OK);
    }
    let display = Display::new(settings, estate.graph.len());
    let converge = ConvergeSettings {
        concurrency: settings.concurrency,
        force,
        lease: settings.lease(),
    };
    let outcomes = estate::converge(targets, estate, plan, &converge, display.reporter(), interrupt.clone()).await?;
    display.finish();
    let interrupted = interrupt.draining();
    finish(settings, &outcomes, interrupted, args.detailed_exitcode)
}

/// `helmfire destroy`.
pub fn destroy(settings: &Settings, estate: &Estate, yes: bool) -> CommandResult {
    with_targets(
        settings,
        estate.contexts(),
        &estate_storage(settings, estate)?,
        async |targets| destroy_on(targets, settings, estate, yes).await,
    )
}

async fn destroy_on(targets: &Targets, settings: &Settings, estate: &Estate, yes: bool) -> CommandResult {
    let interrupt = signals::listen(settings.quiet);
    let plan = tokio::select! {
        plan = estate::destroy_plan(targets, estate, settings.concurrency.max(16)) => plan,
        () = interrupt.reached(Level::Draining) => return Ok(exit::INTERRUPTED),
    };
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
    let converge = ConvergeSettings {
        concurrency: settings.concurrency,
        force: false,
        lease: settings.lease(),
    };
    let outcomes = estate::destroy(targets, estate, plan, &converge, display.reporter(), interrupt.clone()).await;
    display.finish();
    let interrupted = interrupt.draining();
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
