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

/// The name of the cluster, user and context in a sandbox's kubeconfig by default.
pub const DEFAULT_CONTEXT: &str = "helmfire-sandbox";

/// A YAML double-quoted scalar (kubeconfig names may hold `:` or spaces).
fn quote_yaml(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("{text:?}"))
}

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
    /// When another process has `data_dir`: how long to wait for it (`None`: refuse at once).
    pub lock_wait: Option<Duration>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: None,
            controller_delay: Duration::from_millis(500),
            faults: FaultSpec::default(),
            seed: 0,
            lock_wait: None,
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
    /// Another process has the data directory.
    #[error("the sandbox folder `{}` is in use by another process{}", dir.display(), pid.map(|p| format!(" (pid {p})")).unwrap_or_default())]
    Locked {
        /// The folder.
        dir: PathBuf,
        /// The holder's process id, when it could be read.
        pid: Option<u32>,
    },
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
    /// Locks and loads the data directory (if any), binds the listener and starts serving,
    /// the controllers and the journal's background flush.
    pub async fn start(config: SandboxConfig) -> Result<RunningSandbox, SandboxError> {
        let store = Arc::new(store::Store::new());
        let (lock, journal) = match &config.data_dir {
            Some(dir) => {
                let (locked, wait) = (dir.clone(), config.lock_wait);
                let lock = tokio::task::spawn_blocking(move || persist::lock(&locked, wait))
                    .await
                    .unwrap_or_else(|_| {
                        Err(PersistError::Locked {
                            dir: dir.clone(),
                            pid: None,
                        })
                    })
                    .map_err(|error| match error {
                        PersistError::Locked { dir, pid } => SandboxError::Locked { dir, pid },
                        other => SandboxError::Persist(other),
                    })?;
                persist::load(dir, &store)?;
                let journal = persist::Journal::open(dir, &store)?;
                (Some(lock), Some(Arc::new(journal)))
            }
            None => (None, None),
        };
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
            journal: journal.clone(),
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
        if let Some(journal) = journal.clone() {
            // Requests commit their own writes before answering; this flushes the controllers'
            // writes (status updates) when no request comes by.
            let store = store.clone();
            let mut stopped = stopped.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(250)) => {}
                        _ = stopped.changed() => return,
                    }
                    let journal = journal.clone();
                    let store = store.clone();
                    // A failed flush is retried; shutdown reports the final one.
                    let _ = tokio::task::spawn_blocking(move || journal.commit(&store)).await;
                }
            }));
        }
        Ok(RunningSandbox {
            address,
            shared,
            store,
            stop,
            tasks,
            journal,
            _lock: lock,
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
    journal: Option<Arc<persist::Journal>>,
    /// Held until the sandbox is dropped.
    _lock: Option<persist::DirLock>,
}

impl RunningSandbox {
    /// Injects `faults` from the next request on, in place of the configured ones (a test
    /// installs with a healthy server, then sees how readers fare).
    pub fn set_faults(&self, faults: FaultSpec) {
        self.shared.faults.replace(faults);
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// A kubeconfig for this sandbox whose cluster, user and current context are all named
    /// `name` (namespace `default`); [`DEFAULT_CONTEXT`] unless several sandboxes are merged
    /// into one kubeconfig.
    pub fn kubeconfig_yaml(&self, name: &str) -> String {
        let name = quote_yaml(name);
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster:\n    server: {}\ncontexts:\n- name: {name}\n  context:\n    cluster: {name}\n    namespace: default\n    user: {name}\ncurrent-context: {name}\npreferences: {{}}\nusers:\n- name: {name}\n  user:\n    token: helmfire-sandbox\n",
            self.url()
        )
    }

    /// Writes [`Self::kubeconfig_yaml`] atomically.
    pub fn write_kubeconfig(&self, path: &Path, name: &str) -> Result<(), SandboxError> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let file = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "kubeconfig".into());
        persist::write_atomically(dir, &file, self.kubeconfig_yaml(name).as_bytes()).map_err(|source| {
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

    /// Stops serving (open watches end), stops the controllers, writes a snapshot of the store
    /// and empties the journal; then lets go of the folder.
    pub async fn shutdown(self) -> Result<(), SandboxError> {
        let _ = self.stop.send(true);
        for task in self.tasks {
            // A panicked task has nothing left to clean up.
            let _ = task.await;
        }
        if let Some(journal) = self.journal {
            let store = self.store.clone();
            tokio::task::spawn_blocking(move || journal.compact(&store))
                .await
                .unwrap_or(Ok(()))?;
        }
        Ok(())
    }
}
