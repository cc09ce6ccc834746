//! `helmfire rollback RELEASE [REVISION]`: roll a release back to an earlier revision (default:
//! the one before the latest), as a new revision — helm's `rollback`, with helmfire's Lease.

use helmfire::converge::{ActionOptions, Engine, Progress, Step};
use helmfire_value::time::parse_std_duration;

use super::args::RollbackArgs;
use super::commands::ReleaseTarget;
use super::connect::{BoxError, with_target};
use super::settings::Settings;
use super::{CommandResult, exit, signals};

/// The rollback request, resolved from flags, the state file and the kubeconfig.
#[derive(Debug)]
pub struct RollbackSettings {
    pub target: ReleaseTarget,
    pub revision: Option<i32>,
    pub options: ActionOptions,
}

impl RollbackSettings {
    pub fn resolve(args: &RollbackArgs, target: ReleaseTarget) -> Result<RollbackSettings, BoxError> {
        let timeout = parse_std_duration(&args.timeout).ok_or_else(|| {
            format!(
                "invalid --timeout `{}`: expected a duration such as `90s`, `5m` or `1h30m`",
                args.timeout
            )
        })?;
        if let Some(revision) = args.revision
            && revision < 1
        {
            return Err(format!("invalid revision `{revision}`: revisions start at 1").into());
        }
        Ok(RollbackSettings {
            target,
            revision: args.revision,
            options: ActionOptions {
                wait: args.wait,
                wait_for_jobs: args.wait_for_jobs,
                timeout,
                history_max: args.history_max,
                disable_hooks: args.no_hooks,
                ..ActionOptions::default()
            },
        })
    }
}

/// Prints each step on stderr with `--verbose`.
struct StderrProgress {
    verbose: bool,
}

impl Progress for StderrProgress {
    fn step(&self, release: &str, step: &Step) {
        // Waiting and recovery always matter; the rest only with --verbose.
        if self.verbose || matches!(step, Step::WaitingForLease { .. } | Step::Recovered { .. }) {
            eprintln!("{release}: {step}");
        }
    }
}

pub fn run(args: &RollbackArgs, target: ReleaseTarget, settings: &Settings) -> CommandResult {
    let request = RollbackSettings::resolve(args, target)?;
    let record = with_target(
        settings,
        request.target.context.as_deref(),
        &request.target.storage,
        async |target| {
            let namespace = request
                .target
                .namespace
                .clone()
                .unwrap_or_else(|| target.cluster.default_namespace().to_string());
            let interrupt = signals::listen(settings.quiet);
            let engine = Engine::new(target.cluster.clone(), target.store.clone())
                .with_lease(settings.lease())
                .with_interrupt(interrupt.clone());
            let progress = StderrProgress {
                verbose: settings.verbose,
            };
            let record = engine
                .rollback(
                    &namespace,
                    &request.target.name,
                    request.revision,
                    &request.options,
                    &progress,
                )
                .await?;
            Ok((record, interrupt.draining()))
        },
    )?;
    let (record, interrupted) = record;
    if !settings.quiet {
        eprintln!(
            "Rolled back `{}/{}`: revision {} is deployed ({}).",
            record.namespace, record.name, record.version, record.info.description
        );
    }
    Ok(if interrupted { exit::INTERRUPTED } else { exit::OK })
}
