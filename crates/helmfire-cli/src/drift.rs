//! `helmfire drift`: the live cluster compared with each release's deployed revision, for
//! scheduled detection — over the state file's releases, or with `--all` over every helm
//! release the kubeconfig can see. Exit 0 in sync, 3 drift found, 1 when something could not
//! be determined and nothing drifted.

use std::sync::Arc;

use helmfire::error::ReleaseError;
use helmfire::estate::{self, DriftVerdict, Estate, Target};
use helmfire::plan::display;
use helmfire::plan::drift::ReleaseDrift;

use super::args::PlanOutput;
use super::commands::write_stdout;
use super::connect::{BoxError, estate_storage, with_target, with_targets};
use super::report::{Painter, ReleaseFailures};
use super::settings::Settings;
use super::{CommandResult, exit};

/// What `drift` was asked.
pub struct DriftRequest {
    pub output: PlanOutput,
    pub events: bool,
}

/// `helmfire drift` over `estate`'s releases, or with `None` (`--all`) over every release.
pub fn drift(settings: &Settings, estate: Option<&Estate>, request: &DriftRequest) -> CommandResult {
    let (verdicts, event_errors) = match estate {
        Some(estate) => with_targets(
            settings,
            estate.contexts(),
            &estate_storage(settings, estate)?,
            async |targets| {
                let verdicts = estate::drift(targets, estate, settings.concurrency.max(16)).await;
                let events = if request.events {
                    let drifted: Vec<(&Target, &ReleaseDrift)> = verdicts
                        .iter()
                        .filter_map(|verdict| {
                            let drift = verdict.result.as_ref().ok()?.as_ref()?;
                            let target = targets.of(estate.release(verdict.index?)).ok()?;
                            drift.drifted().then_some((target, drift))
                        })
                        .collect();
                    record_events(&drifted).await
                } else {
                    Vec::new()
                };
                Ok::<_, BoxError>((verdicts, events))
            },
        )?,
        None => with_target(settings, None, &settings.storage(None)?, async |target| {
            let verdicts = estate::drift_everywhere(target).await?;
            let events = if request.events {
                let drifted: Vec<(&Target, &ReleaseDrift)> = verdicts
                    .iter()
                    .filter_map(|verdict| verdict.result.as_ref().ok()?.as_ref())
                    .filter(|drift| drift.drifted())
                    .map(|drift| (target, drift))
                    .collect();
                record_events(&drifted).await
            } else {
                Vec::new()
            };
            Ok::<_, BoxError>((verdicts, events))
        })?,
    };
    report(settings, request, verdicts, event_errors)
}

/// Records a Kubernetes Event per drifted release; the failures to record one.
async fn record_events(drifted: &[(&Target, &ReleaseDrift)]) -> Vec<Arc<ReleaseError>> {
    estate::record_drift_events(drifted)
        .await
        .into_iter()
        .filter_map(|result| result.err().map(Arc::new))
        .collect()
}

fn report(
    settings: &Settings,
    request: &DriftRequest,
    verdicts: Vec<DriftVerdict>,
    event_errors: Vec<Arc<ReleaseError>>,
) -> CommandResult {
    let mut drifts = Vec::new();
    let mut errors = Vec::new();
    for verdict in verdicts {
        match verdict.result {
            Ok(Some(drift)) => drifts.push(drift),
            // Nothing deployed: nothing to compare (diff shows it as an install).
            Ok(None) => {}
            Err(error) => errors.push(error),
        }
    }
    errors.extend(event_errors);
    let text = match request.output {
        PlanOutput::Text => display::drift_text(&drifts, settings.stdout_color),
        PlanOutput::Json => format!("{}\n", serde_json::to_string_pretty(&display::drift_json(&drifts))?),
        PlanOutput::Markdown => display::drift_markdown(&drifts),
    };
    write_stdout(&text)?;
    let drifted = drifts.iter().any(ReleaseDrift::drifted);
    if !errors.is_empty() {
        let painter = Painter { color: settings.color };
        eprint!("{}", painter.error(&ReleaseFailures(errors)));
        // A proven drift is the news a scheduled job must raise; errors are printed beside it.
        return Ok(if drifted { exit::DRIFT } else { exit::ERROR });
    }
    Ok(if drifted { exit::DRIFT } else { exit::OK })
}
