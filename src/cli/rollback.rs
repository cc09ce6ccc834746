//! `helmfire rollback RELEASE [REVISION]`: roll a release back to an earlier revision (default:
//! the one before the latest), as a new revision — helm's `rollback`, with helmfire's Lease.

use std::path::Path;

use crate::cluster::{Cluster, ClusterConfig};
use crate::converge::{ActionOptions, Engine, Progress, Step};
use crate::state::{self, DEFAULT_FILES};
use crate::storage::{Driver, Store};

use super::args::RollbackArgs;
use super::settings::Settings;
use super::{CommandResult, exit};

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The rollback request, resolved from flags, the state file and the kubeconfig.
#[derive(Debug)]
pub struct RollbackSettings {
    pub name: String,
    pub revision: Option<i32>,
    /// `--namespace`, else the state file's release of that name, else the kubeconfig's.
    pub namespace: Option<String>,
    pub kube_context: Option<String>,
    pub options: ActionOptions,
}

impl RollbackSettings {
    pub fn resolve(args: &RollbackArgs, settings: &Settings) -> Result<RollbackSettings, BoxError> {
        let timeout = crate::sandbox::parse_duration(&args.timeout).ok_or_else(|| {
            format!(
                "invalid --timeout `{}`: expected a duration such as `90s` or `5m`",
                args.timeout
            )
        })?;
        if let Some(revision) = args.revision
            && revision < 1
        {
            return Err(format!("invalid revision `{revision}`: revisions start at 1").into());
        }
        let mut namespace = args.namespace.clone();
        let mut kube_context = settings.load.kube_context.clone();
        if namespace.is_none() && state_file_present(settings) {
            let state = state::load(&settings.load)?;
            let matching: Vec<_> = state
                .releases
                .iter()
                .filter(|r| r.id.name.as_str() == args.release)
                .collect();
            match matching.as_slice() {
                [] => {}
                [release] => {
                    namespace = Some(release.id.namespace.as_str().to_string());
                    if kube_context.is_none() {
                        kube_context = release.kube_context.clone();
                    }
                }
                several => {
                    let namespaces: Vec<&str> = several.iter().map(|r| r.id.namespace.as_str()).collect();
                    return Err(format!(
                        "release `{}` is in several namespaces of the state file ({}); pass --namespace",
                        args.release,
                        namespaces.join(", ")
                    )
                    .into());
                }
            }
        }
        Ok(RollbackSettings {
            name: args.release.clone(),
            revision: args.revision,
            namespace,
            kube_context,
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

fn state_file_present(settings: &Settings) -> bool {
    settings.load.file.is_some() || DEFAULT_FILES.iter().any(|f| Path::new(f).is_file())
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

pub fn run(args: &RollbackArgs, settings: &Settings) -> CommandResult {
    let request = RollbackSettings::resolve(args, settings)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let record = runtime.block_on(async {
        let cluster = Cluster::connect(&ClusterConfig {
            kubeconfig: settings.kubeconfig.clone(),
            context: request.kube_context.clone(),
        })
        .await?;
        let namespace = request
            .namespace
            .clone()
            .unwrap_or_else(|| cluster.default_namespace().to_string());
        let driver: Driver = std::env::var("HELM_DRIVER").unwrap_or_default().parse()?;
        let store = Store::new(Some(cluster.clone()), driver);
        let engine = Engine::new(cluster, store);
        let progress = StderrProgress {
            verbose: settings.verbose,
        };
        let record = engine
            .rollback(&namespace, &request.name, request.revision, &request.options, &progress)
            .await?;
        Ok::<_, BoxError>(record)
    })?;
    if !settings.quiet {
        eprintln!(
            "Rolled back `{}/{}`: revision {} is deployed ({}).",
            record.namespace, record.name, record.version, record.info.description
        );
    }
    Ok(exit::OK)
}
