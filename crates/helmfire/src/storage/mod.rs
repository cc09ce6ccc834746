//! Stage ⑧: Helm-compatible release records. Revisions are stored exactly as Helm v4.1.4 stores
//! them (`pkg/storage`, `pkg/storage/driver`: object `sh.helm.release.v1.NAME.vN` in the
//! release's namespace, labels, base64(gzip(JSON)) body), so `helm` and helmfire read and write
//! each other's releases. A release is always found by label selector in its own namespace,
//! never by listing every record in the cluster. With `HELM_DRIVER=sql` the same records live in
//! PostgreSQL, in helm's tables ([`sql`]). This module does not touch release resources.

mod build;
pub mod codec;
pub mod driver;
pub mod record;
pub mod sql;
pub mod time;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

pub use build::{chart_record, hook_record, json_map};
pub use codec::CodecError;
pub use record::{
    ApplyMethod, ChartRecord, DependencyRecord, FileRecord, HookExecution, HookRecord, Info, MaintainerRecord,
    MetadataRecord, ReleaseRecord, Status,
};
pub use time::Timestamp;

use crate::cluster::{Cluster, ClusterError};
use driver::{Backend, Disconnected, KubeBackend, LockState, MemoryBackend, ObjectKind, StoredObject};

/// `HelmStorageType`: the prefix of every storage object name.
pub const STORAGE_TYPE: &str = "sh.helm.release.v1";

/// Labels Helm reserves (`driver.systemLabels`).
pub const SYSTEM_LABELS: [&str; 6] = ["name", "owner", "status", "version", "createdAt", "modifiedAt"];

/// A storage driver, as `HELM_DRIVER` names it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Driver {
    /// `secret`/`secrets`/empty: Secrets of type `helm.sh/release.v1` (Helm's default).
    #[default]
    Secret,
    /// `configmap`/`configmaps`.
    ConfigMap,
    /// `memory`: in-process, gone when the process ends.
    Memory,
    /// `sql`: PostgreSQL, at `HELM_DRIVER_SQL_CONNECTION_STRING` ([`sql`]).
    Sql,
}

/// A `HELM_DRIVER` value helmfire does not support.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown storage driver `{0}` (expected secret, configmap, memory or sql)")]
pub struct UnknownDriver(pub String);

impl FromStr for Driver {
    type Err = UnknownDriver;

    fn from_str(text: &str) -> Result<Driver, UnknownDriver> {
        match text {
            "" | "secret" | "secrets" => Ok(Driver::Secret),
            "configmap" | "configmaps" => Ok(Driver::ConfigMap),
            "memory" => Ok(Driver::Memory),
            // Case-sensitive, as in helm (`SQL` is an unknown driver there too).
            "sql" => Ok(Driver::Sql),
            other => Err(UnknownDriver(other.to_string())),
        }
    }
}

impl fmt::Display for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Driver::Secret => "secret",
            Driver::ConfigMap => "configmap",
            Driver::Memory => "memory",
            Driver::Sql => "sql",
        })
    }
}

/// Why reading or writing release records failed.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A cluster-backed driver was used without a cluster.
    #[error("the {driver} storage driver needs a cluster connection")]
    NoCluster { driver: &'static str },
    /// The cluster refused or did not answer.
    #[error("cannot access release records in namespace `{namespace}`")]
    Cluster {
        namespace: String,
        #[source]
        source: Box<ClusterError>,
    },
    /// A record exists already under this key.
    #[error("release record `{key}` already exists in namespace `{namespace}`")]
    RecordExists { namespace: String, key: String },
    /// No record under this key.
    #[error("release record `{key}` not found in namespace `{namespace}`")]
    RecordNotFound { namespace: String, key: String },
    /// A stored body that does not decode.
    #[error("release record `{key}` in namespace `{namespace}` is corrupt")]
    Corrupt {
        namespace: String,
        key: String,
        #[source]
        source: CodecError,
    },
    /// A record that cannot be encoded (a NaN in the values…).
    #[error("cannot encode release `{name}` revision {version}")]
    Encode {
        name: String,
        version: i32,
        #[source]
        source: CodecError,
    },
    /// A record without name, namespace or revision.
    #[error("invalid release record: {reason}")]
    Invalid { reason: String },
    /// The sql driver was chosen without a connection string to use.
    #[error("the sql storage driver needs a connection string (`HELM_DRIVER_SQL_CONNECTION_STRING`)")]
    NoConnection,
    /// PostgreSQL could not be reached or refused a statement. `server` never shows the
    /// password; `action` reads "cannot {action} `{server}`".
    #[error("sql storage driver: cannot {action} `{server}`")]
    Sql {
        action: String,
        server: String,
        #[source]
        source: Box<sql::SqlError>,
    },
    /// Another process holds the driver's lock on a release's records.
    #[error("the records of release `{release}` are locked by {holder}; waited {waited_seconds}s")]
    Locked {
        release: String,
        holder: String,
        waited_seconds: u64,
    },
}

/// Where release records live: the driver, and for `sql` the resolved connection.
#[derive(Clone, Debug, Default)]
pub struct StorageSettings {
    pub driver: Driver,
    /// `sql` only: the server and credentials (never displayed with its password).
    pub connection: Option<sql::Connection>,
}

impl StorageSettings {
    /// A driver that needs no connection settings.
    pub fn driver(driver: Driver) -> StorageSettings {
        StorageSettings {
            driver,
            connection: None,
        }
    }
}

/// The storage object name of a revision (`makeKey`).
pub fn record_key(name: &str, version: i32) -> String {
    format!("{STORAGE_TYPE}.{name}.v{version}")
}

/// A release's latest revision and its latest `deployed` one (the same record when the latest
/// is deployed).
#[derive(Clone, Debug, Default)]
pub struct Head {
    pub last: Option<ReleaseRecord>,
    pub deployed: Option<ReleaseRecord>,
}

/// Release heads by `(namespace, name)`, each read or failed on its own.
pub type Heads = std::collections::HashMap<(String, String), Result<Head, StorageError>>;

/// A held [`Store::lock_release`]; [`RecordLock::release`] lets go (dropping it lets go in
/// the background).
pub struct RecordLock {
    backend: Option<Arc<dyn Backend>>,
    release: String,
}

impl RecordLock {
    /// Lets go of the lock.
    pub async fn release(mut self) -> Result<(), StorageError> {
        match self.backend.take() {
            Some(backend) => backend.unlock(&self.release).await,
            None => Ok(()),
        }
    }
}

impl Drop for RecordLock {
    fn drop(&mut self) {
        if let Some(backend) = self.backend.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            let release = std::mem::take(&mut self.release);
            runtime.spawn(async move {
                // A lock that cannot be released ends with the session.
                let _ = backend.unlock(&release).await;
            });
        }
    }
}

/// Reads and writes release records through one driver. Clones share the driver (and, for
/// the memory driver, the records).
#[derive(Clone)]
pub struct Store {
    backend: Arc<dyn Backend>,
    driver: Driver,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("driver", &self.driver)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// A store on `driver`. Secret and ConfigMap drivers need `cluster`; without one each call
    /// fails with [`StorageError::NoCluster`]. The memory driver ignores it.
    pub fn new(cluster: Option<Cluster>, driver: Driver) -> Store {
        let backend: Arc<dyn Backend> = match (driver, cluster) {
            (Driver::Memory, _) => Arc::new(MemoryBackend::default()),
            (Driver::Secret, Some(cluster)) => Arc::new(KubeBackend {
                cluster,
                kind: ObjectKind::Secret,
            }),
            (Driver::ConfigMap, Some(cluster)) => Arc::new(KubeBackend {
                cluster,
                kind: ObjectKind::ConfigMap,
            }),
            (Driver::Secret, None) => Arc::new(Disconnected { driver: "secret" }),
            (Driver::ConfigMap, None) => Arc::new(Disconnected { driver: "configmap" }),
            // The sql driver connects asynchronously: see `Store::open`.
            (Driver::Sql, _) => Arc::new(Disconnected { driver: "sql" }),
        };
        Store { backend, driver }
    }

    /// A store on `settings`: [`Store::new`] for the cluster drivers; for `sql`, connects and
    /// checks (or sets up) helm's tables first, so a bad connection string, an unreachable
    /// server or a newer schema fails here, before anything is read or written.
    pub async fn open(cluster: Option<Cluster>, settings: &StorageSettings) -> Result<Store, StorageError> {
        if settings.driver != Driver::Sql {
            return Ok(Store::new(cluster, settings.driver));
        }
        let connection = settings.connection.as_ref().ok_or(StorageError::NoConnection)?;
        let backend = sql::SqlBackend::connect(connection).await?;
        Ok(Store {
            backend: Arc::new(backend),
            driver: Driver::Sql,
        })
    }

    /// A store over a custom backend (tests, other storage).
    pub fn with_backend(backend: Arc<dyn Backend>, driver: Driver) -> Store {
        Store { backend, driver }
    }

    /// The driver in use.
    pub fn driver(&self) -> Driver {
        self.driver
    }

    /// Whether `other` reads and writes the same records (a clone of this store).
    pub fn same_as(&self, other: &Store) -> bool {
        Arc::ptr_eq(&self.backend, &other.backend)
    }

    fn decode(namespace: &str, object: StoredObject) -> Result<ReleaseRecord, StorageError> {
        let mut record = codec::decode(&object.body).map_err(|source| StorageError::Corrupt {
            namespace: namespace.to_string(),
            key: object.key.clone(),
            source,
        })?;
        // Like Helm's Query: every label, system labels included.
        record.labels = object.labels;
        Ok(record)
    }

    async fn query(&self, namespace: &str, labels: &[(&str, &str)]) -> Result<Vec<ReleaseRecord>, StorageError> {
        let objects = self.backend.query(namespace, labels).await?;
        let mut records = objects
            .into_iter()
            .map(|object| Store::decode(namespace, object))
            .collect::<Result<Vec<_>, _>>()?;
        records.sort_by_key(|record| record.version);
        Ok(records)
    }

    /// Every revision of a release, oldest first (`name=NAME,owner=helm` in its namespace);
    /// empty when there is none.
    pub async fn history(&self, namespace: &str, name: &str) -> Result<Vec<ReleaseRecord>, StorageError> {
        self.query(namespace, &[("name", name), ("owner", "helm")]).await
    }

    /// The heads of many releases (`(namespace, name)`) from one query, when the driver can
    /// answer that at once (`sql`); `None` otherwise, and the caller reads release by release.
    pub async fn heads(&self, releases: &[(String, String)]) -> Option<Result<Heads, StorageError>> {
        let objects = match self.backend.histories(releases)?.await {
            Ok(objects) => objects,
            Err(error) => return Some(Err(error)),
        };
        let mut grouped: HashMap<(String, String), Vec<StoredObject>> =
            releases.iter().map(|release| (release.clone(), Vec::new())).collect();
        for (namespace, object) in objects {
            let Some(name) = object.labels.get("name").cloned() else {
                continue;
            };
            if let Some(group) = grouped.get_mut(&(namespace, name)) {
                group.push(object);
            }
        }
        Some(Ok(grouped
            .into_iter()
            .map(|((namespace, name), objects)| {
                let head = Store::head_of(&namespace, objects);
                ((namespace, name), head)
            })
            .collect()))
    }

    /// Takes the driver's own lock on a release's records for the length of an action, waiting
    /// up to `timeout` (`on_wait` hears who holds it, once). Only the sql driver has one: its
    /// records may be shared by clusters whose Leases know nothing of each other.
    pub async fn lock_release(
        &self,
        namespace: &str,
        name: &str,
        timeout: std::time::Duration,
        on_wait: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<RecordLock, StorageError> {
        let release = format!("{namespace}/{name}");
        let started = tokio::time::Instant::now();
        let mut reported = false;
        loop {
            match self.backend.try_lock(&release).await? {
                LockState::NotNeeded => {
                    return Ok(RecordLock { backend: None, release });
                }
                LockState::Taken => {
                    return Ok(RecordLock {
                        backend: Some(self.backend.clone()),
                        release,
                    });
                }
                LockState::Held { holder } => {
                    if started.elapsed() >= timeout {
                        return Err(StorageError::Locked {
                            release,
                            holder,
                            waited_seconds: started.elapsed().as_secs(),
                        });
                    }
                    if !reported {
                        on_wait(&holder);
                        reported = true;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                }
            }
        }
    }

    /// The highest revision (Helm's `Last`), whatever its status.
    pub async fn last(&self, namespace: &str, name: &str) -> Result<Option<ReleaseRecord>, StorageError> {
        self.highest(namespace, &[("name", name), ("owner", "helm")]).await
    }

    /// The highest revision with status `deployed` (Helm's `Deployed`).
    pub async fn deployed(&self, namespace: &str, name: &str) -> Result<Option<ReleaseRecord>, StorageError> {
        self.highest(namespace, &[("name", name), ("owner", "helm"), ("status", "deployed")])
            .await
    }

    /// The highest revision among the query's objects. Only that one is decoded when every
    /// object carries a `version` label (a long history costs one decode, not hundreds);
    /// otherwise all are decoded, as Helm does.
    async fn highest(&self, namespace: &str, labels: &[(&str, &str)]) -> Result<Option<ReleaseRecord>, StorageError> {
        let objects = self.backend.query(namespace, labels).await?;
        let versions: Option<Vec<i32>> = objects
            .iter()
            .map(|object| object.labels.get("version").and_then(|v| v.parse().ok()))
            .collect();
        match versions {
            Some(versions) => {
                let newest = versions
                    .iter()
                    .enumerate()
                    .max_by_key(|(_, version)| **version)
                    .map(|(index, _)| index);
                match newest.and_then(|index| objects.into_iter().nth(index)) {
                    Some(object) => Ok(Some(Store::decode(namespace, object)?)),
                    None => Ok(None),
                }
            }
            None => {
                let mut records = objects
                    .into_iter()
                    .map(|object| Store::decode(namespace, object))
                    .collect::<Result<Vec<_>, _>>()?;
                records.sort_by_key(|record| record.version);
                Ok(records.pop())
            }
        }
    }

    /// The latest revision and the latest `deployed` one, from one query, decoding at most
    /// those two (what planning needs, however long the history is).
    pub async fn head(&self, namespace: &str, name: &str) -> Result<Head, StorageError> {
        let objects = self
            .backend
            .query(namespace, &[("name", name), ("owner", "helm")])
            .await?;
        Store::head_of(namespace, objects)
    }

    /// The head of one release's stored objects.
    fn head_of(namespace: &str, objects: Vec<StoredObject>) -> Result<Head, StorageError> {
        let version = |object: &StoredObject| object.labels.get("version").and_then(|v| v.parse::<i32>().ok());
        if objects.iter().any(|object| version(object).is_none()) {
            // Without version labels every body must be read, as helm does.
            let mut records = objects
                .into_iter()
                .map(|object| Store::decode(namespace, object))
                .collect::<Result<Vec<_>, _>>()?;
            records.sort_by_key(|record| record.version);
            let deployed = records
                .iter()
                .rfind(|record| record.info.status == Status::Deployed)
                .cloned();
            return Ok(Head {
                last: records.pop(),
                deployed,
            });
        }
        let last = objects.iter().max_by_key(|object| version(object)).cloned();
        let deployed = objects
            .iter()
            .filter(|object| object.labels.get("status").map(String::as_str) == Some("deployed"))
            .max_by_key(|object| version(object))
            .cloned();
        let same = last.as_ref().map(|o| &o.key) == deployed.as_ref().map(|o| &o.key);
        let last = last.map(|object| Store::decode(namespace, object)).transpose()?;
        let deployed = match (same, deployed) {
            (true, Some(_)) => last.clone(),
            (_, deployed) => deployed.map(|object| Store::decode(namespace, object)).transpose()?,
        };
        Ok(Head { last, deployed })
    }

    /// The highest `deployed` revision of every release in every namespace the store can see
    /// (`owner=helm,status=deployed` in one query; only the winners are decoded), sorted by
    /// namespace and name.
    pub async fn deployed_everywhere(&self) -> Result<Vec<ReleaseRecord>, StorageError> {
        let objects = self
            .backend
            .query_all(&[("owner", "helm"), ("status", "deployed")])
            .await?;
        let mut newest: BTreeMap<(String, String), (i32, String, StoredObject)> = BTreeMap::new();
        for (namespace, object) in objects {
            let name = object.labels.get("name").cloned().unwrap_or_default();
            let version = object
                .labels
                .get("version")
                .and_then(|v| v.parse::<i32>().ok())
                .unwrap_or(0);
            let slot = newest
                .entry((namespace.clone(), name))
                .or_insert((version, namespace.clone(), object.clone()));
            if version > slot.0 {
                *slot = (version, namespace, object);
            }
        }
        newest
            .into_values()
            .map(|(_, namespace, object)| Store::decode(&namespace, object))
            .collect()
    }

    /// One revision (Helm's `Get`): its labels without the system labels.
    pub async fn get(&self, namespace: &str, name: &str, version: i32) -> Result<Option<ReleaseRecord>, StorageError> {
        let Some(object) = self.backend.get(namespace, &record_key(name, version)).await? else {
            return Ok(None);
        };
        let mut record = Store::decode(namespace, object)?;
        record.labels.retain(|key, _| !SYSTEM_LABELS.contains(&key.as_str()));
        Ok(Some(record))
    }

    fn object(record: &ReleaseRecord, stamp_label: &str) -> Result<(String, StoredObject), StorageError> {
        if record.name.is_empty() || record.namespace.is_empty() || record.version < 1 {
            return Err(StorageError::Invalid {
                reason: format!(
                    "name `{}`, namespace `{}` and revision {} must all be set (revision from 1)",
                    record.name, record.namespace, record.version
                ),
            });
        }
        let body = codec::encode(record).map_err(|source| StorageError::Encode {
            name: record.name.clone(),
            version: record.version,
            source,
        })?;
        // Helm's order: the release's labels, the timestamp, then the forced system labels.
        let mut labels: BTreeMap<String, String> = record.labels.clone();
        labels.insert(stamp_label.to_string(), Timestamp::now().unix_seconds().to_string());
        labels.insert("name".into(), record.name.clone());
        labels.insert("owner".into(), "helm".into());
        labels.insert("status".into(), record.info.status.to_string());
        labels.insert("version".into(), record.version.to_string());
        Ok((
            record.namespace.clone(),
            StoredObject {
                key: record_key(&record.name, record.version),
                labels,
                body,
            },
        ))
    }

    /// Stores a new revision (`createdAt` label). Fails with [`StorageError::RecordExists`]
    /// when the revision is taken. To bound history as Helm's `Create` does with
    /// `--history-max N`, call [`Store::prune`] with `N - 1` first.
    pub async fn create(&self, record: &ReleaseRecord) -> Result<(), StorageError> {
        let (namespace, object) = Store::object(record, "createdAt")?;
        self.backend.create(&namespace, object).await
    }

    /// Helm's `Storage.Create` with `MaxHistory`: when `history_max` is above 0, first prunes
    /// the history to `history_max - 1` revisions (never the last deployed one) to make room,
    /// then creates the revision. Upgrade and rollback store their new revision this way;
    /// install does not prune.
    pub async fn create_with_history_max(&self, record: &ReleaseRecord, history_max: u32) -> Result<(), StorageError> {
        if history_max > 0 {
            self.prune(&record.namespace, &record.name, history_max - 1).await?;
        }
        self.create(record).await
    }

    /// Rewrites an existing revision (`modifiedAt` label), e.g. a status change.
    pub async fn update(&self, record: &ReleaseRecord) -> Result<(), StorageError> {
        let (namespace, object) = Store::object(record, "modifiedAt")?;
        self.backend.update(&namespace, object).await
    }

    /// Deletes one revision; [`StorageError::RecordNotFound`] when it does not exist.
    pub async fn delete(&self, namespace: &str, name: &str, version: i32) -> Result<(), StorageError> {
        let key = record_key(name, version);
        if self.backend.delete(namespace, &key).await? {
            Ok(())
        } else {
            Err(StorageError::RecordNotFound {
                namespace: namespace.to_string(),
                key,
            })
        }
    }

    /// Helm's `removeLeastRecent`: deletes the oldest revisions until at most `max` remain,
    /// never the newest `deployed` one (which may leave more than `max`).
    pub async fn prune(&self, namespace: &str, name: &str, max: u32) -> Result<(), StorageError> {
        let history = self.history(namespace, name).await?;
        let max = max as usize;
        if history.len() <= max {
            return Ok(());
        }
        let last_deployed = self.deployed(namespace, name).await?.map(|record| record.version);
        let mut doomed = Vec::new();
        for record in &history {
            if history.len() - doomed.len() == max {
                break;
            }
            if Some(record.version) != last_deployed {
                doomed.push(record.version);
            }
        }
        // Delete as many as possible, report the first failure (Helm does the same).
        let mut first_error = None;
        for version in doomed {
            match self.delete(namespace, name, version).await {
                Ok(()) | Err(StorageError::RecordNotFound { .. }) => {}
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

#[cfg(test)]
mod tests;
