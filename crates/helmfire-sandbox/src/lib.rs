//! The Kubernetes API emulator behind `helmfire sandbox` and the cluster-facing tests: a local
//! server speaking the real REST protocol (discovery, OpenAPI v3, CRUD, all patch types,
//! server-side apply with field ownership, watch/WatchList, protobuf request bodies, simulated
//! controllers, faults, persistence) so the real kubectl and helm work against it unmodified.
//! It must not print; the CLI reports its address.
//!
//! ```text
//! request ─▶ http (hyper / tower) ─▶ faults ─▶ api (routing, verbs) ─▶ patch / managed ─▶ store
//!                                      watch ◀─ event log ◀──────────────────────────────┘
//!            controllers ◀─ events;  persist ◀─ store snapshots
//! ```

#![forbid(unsafe_code)]

mod api;
mod clock;
mod controllers;
mod defaults;
mod discovery;
mod faults;
mod fieldpath;
mod http;
mod managed;
mod openapi;
mod patch;
mod persist;
mod protobuf;
mod request;
mod resources;
/// Object shapes live in their own crate, shared with the estate library's post-renderers.
use helmfire_schema as schema;
mod selector;
mod status;
mod store;
mod table;
mod watch;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use controllers::{FAIL as FAIL_ANNOTATION, NEVER_READY as NEVER_READY_ANNOTATION};
pub use faults::{FaultAction, FaultRule, FaultSpec, FaultSpecError, parse_duration};
pub use http::{DroppedConnection, LoggedRequest, SandboxBody, SandboxService};
pub use persist::PersistError;

/// How to run a sandbox.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Where to persist the store (None: memory only).
    pub data_dir: Option<PathBuf>,
    /// How long simulated controllers take to make objects ready.
    pub controller_delay: Duration,
    /// Faults to inject.
    pub faults: FaultSpec,
    /// Seed for fault decisions.
    pub seed: u64,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: None,
            controller_delay: Duration::from_millis(500),
            faults: FaultSpec::default(),
            seed: 0,
        }
    }
}

/// Sandbox failures.
#[derive(Debug, Error)]
pub enum SandboxError {
    /// The listen address could not be bound.
    #[error("failed to listen on `{address}`")]
    Listen {
        /// The address.
        address: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Loading or saving the data directory failed.
    #[error("failed to persist the sandbox store")]
    Persist(#[from] PersistError),
    /// Writing the kubeconfig failed.
    #[error("failed to write the kubeconfig `{path}`")]
    Kubeconfig {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: PersistError,
    },
}

/// Entry point.
pub struct Sandbox;

impl Sandbox {
    /// Loads the data directory (if any), binds the listener and starts serving, the
    /// controllers and the persister.
    pub async fn start(config: SandboxConfig) -> Result<RunningSandbox, SandboxError> {
        let store = Arc::new(store::Store::new());
        if let Some(dir) = &config.data_dir {
            persist::load(dir, &store)?;
        }
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| SandboxError::Listen {
                address: config.listen,
                source,
            })?;
        let address = listener.local_addr().map_err(|source| SandboxError::Listen {
            address: config.listen,
            source,
        })?;
        let shared = Arc::new(http::Shared {
            api: api::Api::new(store.clone(), address.to_string()),
            faults: faults::Injector::new(config.faults.clone(), config.seed),
            requests: http::RequestLog::default(),
        });
        let (stop, stopped) = tokio::sync::watch::channel(false);
        // Subscribed before the listener serves anything, so controllers see every write.
        let controller_events = store.lock().subscribe();
        let mut tasks = vec![
            tokio::spawn(http::accept_loop(listener, shared.clone(), stopped.clone())),
            tokio::spawn(controllers::run(
                store.clone(),
                config.controller_delay,
                stopped.clone(),
                controller_events,
            )),
        ];
        if let Some(dir) = config.data_dir.clone() {
            let store = store.clone();
            let mut stopped = stopped.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                        _ = stopped.changed() => return,
                    }
                    let dir = dir.clone();
                    let store = store.clone();
                    // A failed periodic flush is retried; shutdown reports the final one.
                    let _ = tokio::task::spawn_blocking(move || persist::save(&dir, &store)).await;
                }
            }));
        }
        Ok(RunningSandbox {
            address,
            shared,
            store,
            stop,
            tasks,
            data_dir: config.data_dir,
        })
    }
}

/// A started sandbox.
pub struct RunningSandbox {
    address: SocketAddr,
    shared: Arc<http::Shared>,
    store: Arc<store::Store>,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    data_dir: Option<PathBuf>,
}

impl RunningSandbox {
    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// A kubeconfig pointing kubectl, helm and kube-rs at this sandbox (context
    /// `helmfire-sandbox`, namespace `default`).
    pub fn kubeconfig_yaml(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: helmfire-sandbox\n  cluster:\n    server: {}\ncontexts:\n- name: helmfire-sandbox\n  context:\n    cluster: helmfire-sandbox\n    namespace: default\n    user: helmfire-sandbox\ncurrent-context: helmfire-sandbox\npreferences: {{}}\nusers:\n- name: helmfire-sandbox\n  user:\n    token: helmfire-sandbox\n",
            self.url()
        )
    }

    /// Writes the kubeconfig atomically.
    pub fn write_kubeconfig(&self, path: &Path) -> Result<(), SandboxError> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "kubeconfig".into());
        persist::write_atomically(dir, &name, self.kubeconfig_yaml().as_bytes()).map_err(|source| {
            SandboxError::Kubeconfig {
                path: path.to_path_buf(),
                source,
            }
        })
    }

    /// Every request served so far (method, path, query, status, timing; never bodies).
    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.shared.requests.entries()
    }

    /// An in-process tower service over the same store (no sockets).
    pub fn service(&self) -> SandboxService {
        SandboxService::new(self.shared.clone())
    }

    /// Stops serving (open watches end), stops the controllers and flushes the store.
    pub async fn shutdown(self) -> Result<(), SandboxError> {
        let _ = self.stop.send(true);
        for task in self.tasks {
            // A panicked task has nothing left to clean up.
            let _ = task.await;
        }
        if let Some(dir) = &self.data_dir {
            persist::save(dir, &self.store)?;
        }
        Ok(())
    }
}
