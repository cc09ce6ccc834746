//! Progress of `apply` and `destroy` on stderr: an indicatif multi-progress on a terminal (one
//! line per running release with its current step, and an overall bar), plain timestamped lines
//! otherwise (CI logs), nothing with `-q`. Also the end summary table.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use helmfire::converge::run::{Outcome, OutcomeKind, Reporter};
use helmfire::converge::{Progress, Step};

use super::report::Painter;

/// What a step looks like on a line.
fn describe(step: &Step) -> String {
    match step {
        Step::WaitingForLease { holder } => format!("waiting for the lock held by {holder}"),
        Step::Recovered { revision, status, .. } => {
            format!("recovered revision {revision} left {status} by a process that died")
        }
        Step::CreatingNamespace => "creating namespace".to_string(),
        Step::ApplyingCrds => "applying CRDs".to_string(),
        Step::RunningHook { name, phase } => format!("running {phase} hook {name}"),
        Step::Applying { done, total } => format!("applying {done}/{total} objects"),
        Step::Waiting { resource } => format!("waiting for {resource}"),
        Step::Deleting { done, total } => format!("deleting {done}/{total} objects"),
        Step::RollingBack { revision } => format!("rolling back to revision {revision}"),
        Step::CorrectingDrift { done, total } => format!("correcting drift {done}/{total} objects"),
        Step::Recording => "recording the release".to_string(),
    }
}

fn outcome_line(outcome: &Outcome) -> String {
    let mut line = format!("{}: {}", outcome.id, outcome.kind.as_str());
    if let Some(revision) = outcome.revision {
        let _ = write!(line, " (revision {revision})");
    }
    if outcome.kind.changed() || outcome.kind == OutcomeKind::Failed {
        let _ = write!(line, " in {}", format_duration(outcome.duration));
    }
    if let Some(reason) = &outcome.reason {
        let _ = write!(line, ": {reason}");
    }
    line
}

pub fn format_duration(duration: Duration) -> String {
    let seconds = duration.as_secs_f64();
    if seconds < 60.0 {
        format!("{seconds:.1}s")
    } else {
        format!("{}m{:02}s", duration.as_secs() / 60, duration.as_secs() % 60)
    }
}

/// `HH:MM:SS.mmm` (UTC) for log lines.
fn timestamp() -> String {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    let day = now.as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        day / 3600,
        day % 3600 / 60,
        day % 60,
        now.subsec_millis()
    )
}

/// Plain lines: `12:00:01.234 prod/api: upgrade started`.
pub struct LineReporter;

impl Progress for LineReporter {
    fn step(&self, release: &str, step: &Step) {
        eprintln!("{} {release}: {}", timestamp(), describe(step));
    }
}

impl Reporter for LineReporter {
    fn started(&self, id: &str, action: &str) {
        eprintln!("{} {id}: {action} started", timestamp());
    }

    fn finished(&self, outcome: &Outcome) {
        eprintln!("{} {}", timestamp(), outcome_line(outcome));
    }
}

/// Reports nothing (`-q`).
pub struct QuietReporter;

impl Progress for QuietReporter {
    fn step(&self, _release: &str, _step: &Step) {}
}

impl Reporter for QuietReporter {
    fn started(&self, _id: &str, _action: &str) {}
    fn finished(&self, _outcome: &Outcome) {}
}

/// A terminal: one spinner per running release and an overall bar.
pub struct BarReporter {
    multi: MultiProgress,
    overall: ProgressBar,
    bars: Mutex<HashMap<String, ProgressBar>>,
    painter: Painter,
}

impl BarReporter {
    pub fn new(total: usize, painter: Painter) -> BarReporter {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let overall = multi.add(ProgressBar::new(total as u64));
        overall.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} releases  {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        overall.enable_steady_tick(Duration::from_millis(200));
        BarReporter {
            multi,
            overall,
            bars: Mutex::new(HashMap::new()),
            painter,
        }
    }

    /// Removes the bars (before the summary is printed).
    pub fn finish(&self) {
        self.overall.finish_and_clear();
        let _ = self.multi.clear();
    }
}

impl Progress for BarReporter {
    fn step(&self, release: &str, step: &Step) {
        if let Some(bar) = self.bars.lock().unwrap_or_else(|e| e.into_inner()).get(release) {
            bar.set_message(format!("{release}: {}", describe(step)));
        }
    }
}

impl Reporter for BarReporter {
    fn started(&self, id: &str, action: &str) {
        let bar = self.multi.insert_before(&self.overall, ProgressBar::new_spinner());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(format!("{id}: {action}"));
        bar.enable_steady_tick(Duration::from_millis(100));
        self.bars
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id.to_string(), bar);
    }

    fn finished(&self, outcome: &Outcome) {
        if let Some(bar) = self.bars.lock().unwrap_or_else(|e| e.into_inner()).remove(&outcome.id) {
            bar.finish_and_clear();
            self.multi.remove(&bar);
        }
        self.overall.inc(1);
        if outcome.kind != OutcomeKind::Unchanged {
            let line = outcome_line(outcome);
            let line = match outcome.kind {
                OutcomeKind::Failed => self.painter.red(&line),
                OutcomeKind::Skipped | OutcomeKind::Cancelled => self.painter.yellow(&line),
                _ => self.painter.green(&line),
            };
            let _ = self.multi.println(line);
        }
    }
}

/// The end summary: every release, its outcome, revision, duration and reason.
pub fn summary_table(outcomes: &[Outcome]) -> String {
    let mut rows = vec![
        ["RELEASE", "OUTCOME", "REVISION", "DURATION", "REASON"]
            .map(String::from)
            .to_vec(),
    ];
    for outcome in outcomes {
        rows.push(vec![
            outcome.id.clone(),
            outcome.kind.as_str().to_string(),
            outcome.revision.map_or_else(String::new, |r| r.to_string()),
            if outcome.duration.is_zero() {
                String::new()
            } else {
                format_duration(outcome.duration)
            },
            outcome.reason.as_ref().map(ToString::to_string).unwrap_or_default(),
        ]);
    }
    let widths: Vec<usize> = (0..5)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("   ").trim_end());
        out.push('\n');
    }
    out
}

/// `3 installed, 1 upgraded, 1 failed, 2 skipped` (zero counts left out).
pub fn outcome_counts(outcomes: &[Outcome]) -> String {
    let kinds = [
        OutcomeKind::Installed,
        OutcomeKind::Upgraded,
        OutcomeKind::Uninstalled,
        OutcomeKind::Corrected,
        OutcomeKind::Unchanged,
        OutcomeKind::Failed,
        OutcomeKind::Skipped,
        OutcomeKind::Cancelled,
    ];
    let parts: Vec<String> = kinds
        .iter()
        .filter_map(|kind| {
            let count = outcomes.iter().filter(|o| o.kind == *kind).count();
            (count > 0).then(|| format!("{count} {}", kind.as_str()))
        })
        .collect();
    if parts.is_empty() {
        "nothing to do".to_string()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use helmfire::converge::ConvergeError;
    use helmfire::converge::run::Reason;
    use helmfire::error::ReleaseError;

    use super::*;

    fn outcome(id: &str, kind: OutcomeKind, revision: Option<i32>, reason: Option<Reason>) -> Outcome {
        Outcome {
            release: 0,
            id: id.to_string(),
            kind,
            revision,
            duration: Duration::from_millis(1250),
            reason,
        }
    }

    #[test]
    fn the_summary_lists_every_release_with_its_reason() {
        let outcomes = [
            outcome(
                "prod/db",
                OutcomeKind::Failed,
                None,
                Some(Reason::Failed(Arc::new(ReleaseError::Converge(
                    ConvergeError::WaitTimeout {
                        release: "prod/db".into(),
                        seconds: 300,
                        unready: vec![("StatefulSet/prod/db".into(), "ready replicas: 0 of 1".into())],
                    },
                )))),
            ),
            outcome(
                "prod/api",
                OutcomeKind::Skipped,
                None,
                Some(Reason::Skipped {
                    because: "prod/db".into(),
                }),
            ),
            outcome("prod/web", OutcomeKind::Installed, Some(1), None),
        ];
        let table = summary_table(&outcomes);
        assert_eq!(
            table,
            "RELEASE    OUTCOME     REVISION   DURATION   REASON\n\
             prod/db    failed                 1.2s       timed out after 300s waiting for release `prod/db`: StatefulSet/prod/db (ready replicas: 0 of 1)\n\
             prod/api   skipped                1.2s       `prod/db` failed\n\
             prod/web   installed   1          1.2s\n"
        );
        assert_eq!(outcome_counts(&outcomes), "1 installed, 1 failed, 1 skipped");
        assert_eq!(outcome_line(&outcomes[2]), "prod/web: installed (revision 1) in 1.2s");
    }

    #[test]
    fn durations_are_short() {
        assert_eq!(format_duration(Duration::from_secs(75)), "1m15s");
        assert_eq!(format_duration(Duration::from_millis(40)), "0.0s");
    }
}
