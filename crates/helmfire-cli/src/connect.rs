//! The cluster a command works against: the kubeconfig's (`--kubeconfig`, `$KUBECONFIG`,
//! `--kube-context`), or an embedded sandbox with `--sandbox[=DIR]` whose state is kept in DIR.
//! Every cluster-facing command opens it here, the same way.

use std::path::Path;
use std::time::Duration;

use helmfire::cluster::{Cluster, ClusterConfig};
use helmfire::estate::Target;
use helmfire::storage::StorageSettings;
use helmfire_sandbox::{RunningSandbox, Sandbox, SandboxConfig};

use super::settings::Settings;

pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// How fast the embedded sandbox's simulated controllers make workloads ready.
const SANDBOX_CONTROLLER_DELAY: Duration = Duration::from_millis(200);

/// An open target, and the sandbox behind it when `--sandbox` was given.
pub struct Connection {
    pub target: Target,
    sandbox: Option<RunningSandbox>,
}

impl Connection {
    /// Starts the embedded sandbox or connects with the kubeconfig; `context` is the kube
    /// context the selected releases use (the sandbox has only one); `storage` is where their
    /// records live ([`Settings::storage`]).
    pub async fn open(
        settings: &Settings,
        context: Option<&str>,
        storage: &StorageSettings,
    ) -> Result<Connection, BoxError> {
        let (cluster, sandbox) = match &settings.sandbox {
            Some(dir) => {
                let sandbox = start_sandbox(dir).await?;
                let client = kube::Client::new(sandbox.service(), "default");
                (Cluster::from_client(client), Some(sandbox))
            }
            None => {
                let config = ClusterConfig {
                    kubeconfig: settings.kubeconfig.clone(),
                    context: context
                        .map(str::to_string)
                        .or_else(|| settings.load.kube_context.clone()),
                };
                (Cluster::connect(&config).await?, None)
            }
        };
        let target = match Target::new(cluster, storage).await {
            Ok(target) => target,
            Err(error) => {
                if let Some(sandbox) = sandbox {
                    let _ = sandbox.shutdown().await;
                }
                return Err(error.into());
            }
        };
        Ok(Connection { target, sandbox })
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

/// The runtime cluster-facing commands run on.
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()
}

/// Runs `work` against the opened target and closes it afterwards, whatever `work` returned.
pub fn with_target<T>(
    settings: &Settings,
    context: Option<&str>,
    storage: &StorageSettings,
    work: impl AsyncFnOnce(&Target) -> Result<T, BoxError>,
) -> Result<T, BoxError> {
    runtime()?.block_on(async {
        let connection = Connection::open(settings, context, storage).await?;
        let result = work(&connection.target).await;
        connection.close().await?;
        result
    })
}
