//! The clusters a command works against: for each kube context its releases use, the
//! kubeconfig's cluster (`--kubeconfig`, `$KUBECONFIG` — several files merged as kubectl merges
//! them — exec credential plugins, tokens, or the Pod's service account inside a cluster), or with
//! `--sandbox[=DIR]` an embedded sandbox per context (the current context's state in DIR, another
//! context's in `DIR/context-NAME`). Every cluster-facing command opens them here, the same way.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use helmfire::cluster::{Cluster, ClusterConfig};
use helmfire::estate::{Target, TargetError, Targets};
use helmfire::storage::StorageSettings;
use helmfire_sandbox::{RunningSandbox, Sandbox, SandboxConfig, SandboxError};

use super::settings::Settings;

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// How fast the embedded sandbox's simulated controllers make workloads ready.
const SANDBOX_CONTROLLER_DELAY: Duration = Duration::from_millis(200);

/// The opened clusters, and the sandboxes behind them with `--sandbox`.
pub struct Connections {
    pub targets: Targets,
    sandboxes: Vec<RunningSandbox>,
}

impl Connections {
    /// Opens one cluster per context, concurrently. A context that cannot be used (missing from
    /// the kubeconfig, unreachable, refusing the credentials) is kept as its error: only its
    /// releases fail. A sandbox that cannot start is an error of the whole command.
    pub async fn open(
        settings: &Settings,
        contexts: BTreeSet<Option<String>>,
        storage: &StorageSettings,
    ) -> Result<Connections, BoxError> {
        let mut targets = Targets::default();
        let mut sandboxes = Vec::new();
        let mut opening = tokio::task::JoinSet::new();
        for context in contexts {
            let cluster = match &settings.sandbox {
                Some(dir) => {
                    let sandbox = start_sandbox(&sandbox_dir(dir, context.as_deref()), settings.quiet).await?;
                    let cluster = Cluster::from_client(kube::Client::new(sandbox.service(), "default"));
                    sandboxes.push(sandbox);
                    Ok(cluster)
                }
                None => {
                    let config = ClusterConfig {
                        kubeconfig: settings.kubeconfig.clone(),
                        context: context.clone(),
                        request_timeout: settings.request_timeout,
                    };
                    Cluster::connect(&config).await
                }
            };
            let cluster = cluster.map(|cluster| match &settings.retries {
                Some(observer) => cluster.with_retry_observer(observer.clone()),
                None => cluster,
            });
            let storage = storage.clone();
            opening.spawn(async move {
                let target = match cluster {
                    Ok(cluster) => Target::new(cluster, &storage).await.map_err(|error| error.into_inner()),
                    Err(error) => Err(error.into()),
                };
                let target = target.map_err(|source| TargetError {
                    context: context.clone(),
                    source,
                });
                (context, target)
            });
        }
        while let Some(opened) = opening.join_next().await {
            let (context, target) = opened?;
            targets.insert(context, target);
        }
        Ok(Connections { targets, sandboxes })
    }

    /// Stops the sandboxes, writing their state to their directories.
    pub async fn close(self) -> Result<(), BoxError> {
        for sandbox in self.sandboxes {
            sandbox.shutdown().await?;
        }
        Ok(())
    }
}

/// Where a context's sandbox keeps its state: DIR for the current context, `DIR/context-NAME`
/// for another (the name made safe for a path).
fn sandbox_dir(dir: &Path, context: Option<&str>) -> PathBuf {
    match context {
        None => dir.to_path_buf(),
        Some(context) => {
            let safe: String = context
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            dir.join(format!("context-{safe}"))
        }
    }
}

/// How long `--sandbox=DIR` waits for another helmfire using the same DIR.
const SANDBOX_LOCK_WAIT: Duration = Duration::from_secs(600);

/// Starts the embedded sandbox on `dir`. Another process using `dir` (a second `apply
/// --sandbox=DIR`, or `helmfire sandbox --data-dir DIR`) is waited for, saying so, rather than
/// both writing the folder and one losing the other's releases.
async fn start_sandbox(dir: &Path, quiet: bool) -> Result<RunningSandbox, BoxError> {
    std::fs::create_dir_all(dir).map_err(|e| -> BoxError {
        format!("failed to create the sandbox directory `{}`: {e}", dir.display()).into()
    })?;
    let config = SandboxConfig {
        data_dir: Some(dir.to_path_buf()),
        controller_delay: SANDBOX_CONTROLLER_DELAY,
        ..SandboxConfig::default()
    };
    match Sandbox::start(config.clone()).await {
        Err(SandboxError::Locked { pid, .. }) => {
            if !quiet {
                let holder = pid.map(|p| format!(" (pid {p})")).unwrap_or_default();
                eprintln!(
                    "note: waiting for the sandbox folder `{}`, in use by another process{holder}",
                    dir.display()
                );
            }
            let config = SandboxConfig {
                lock_wait: Some(SANDBOX_LOCK_WAIT),
                ..config
            };
            Ok(Sandbox::start(config).await?)
        }
        started => Ok(started?),
    }
}

/// The runtime cluster-facing commands run on.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()
}

/// Where `estate`'s records live: its environment's `storage:`, else `HELM_DRIVER`; checked
/// against its contexts ([`helmfire::estate::Estate::check_storage`]).
pub fn estate_storage(settings: &Settings, estate: &helmfire::estate::Estate) -> Result<StorageSettings, BoxError> {
    let storage = settings.storage(estate.state.environment.storage.as_ref())?;
    estate.check_storage(&storage)?;
    Ok(storage)
}

/// Runs `work` against the clusters of `contexts`, their records kept on `storage`, and closes
/// them afterwards, whatever `work` returned.
pub fn with_targets<T>(
    settings: &Settings,
    contexts: BTreeSet<Option<String>>,
    storage: &StorageSettings,
    work: impl AsyncFnOnce(&Targets) -> Result<T, BoxError>,
) -> Result<T, BoxError> {
    runtime()?.block_on(async {
        let connections = Connections::open(settings, contexts, storage).await?;
        let result = work(&connections.targets).await;
        connections.close().await?;
        result
    })
}

/// Runs `work` against one cluster: `context`, else `--kube-context`, else the current one.
/// A cluster that cannot be used is the command's error.
pub fn with_target<T>(
    settings: &Settings,
    context: Option<&str>,
    storage: &StorageSettings,
    work: impl AsyncFnOnce(&Target) -> Result<T, BoxError>,
) -> Result<T, BoxError> {
    let context = context
        .map(str::to_string)
        .or_else(|| settings.load.kube_context.clone());
    with_targets(settings, BTreeSet::from([context.clone()]), storage, async |targets| {
        let target = targets
            .get(context.as_deref())
            .map_err(|error| -> BoxError { Box::new(SharedError(error)) })?;
        work(target).await
    })
}

/// A shared error as a box that keeps its cause chain.
#[derive(Debug)]
struct SharedError(std::sync::Arc<TargetError>);

impl std::fmt::Display for SharedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for SharedError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.0.source.as_ref())
    }
}
