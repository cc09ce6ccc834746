//! Where records live: Secrets (Helm's default), ConfigMaps, memory, or PostgreSQL
//! ([`super::sql`]). A driver moves opaque storage objects (key, labels, encoded body) in one
//! namespace; encoding, labels and history rules live in [`super::Store`].

use std::collections::{BTreeMap, HashMap};
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{Api, DeleteParams, ListParams, PostParams};

use super::StorageError;
use crate::cluster::{Cluster, ClusterError, ObjectRef};

/// A boxed future, so that drivers can sit behind `dyn Backend`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A storage object as drivers see it.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredObject {
    /// `sh.helm.release.v1.NAME.vN`, the object's name.
    pub key: String,
    pub labels: BTreeMap<String, String>,
    /// base64(gzip(JSON)), the value of `data.release`.
    pub body: String,
}

/// The operations Helm's `driver.Driver` needs, per namespace.
pub trait Backend: Send + Sync {
    /// Objects whose labels include all of `labels`.
    fn query<'a>(
        &'a self,
        namespace: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> BoxFuture<'a, Result<Vec<StoredObject>, StorageError>>;
    /// One object by key.
    fn get<'a>(&'a self, namespace: &'a str, key: &'a str)
    -> BoxFuture<'a, Result<Option<StoredObject>, StorageError>>;
    /// Creates an object; [`StorageError::RecordExists`] when the key is taken.
    fn create<'a>(&'a self, namespace: &'a str, object: StoredObject) -> BoxFuture<'a, Result<(), StorageError>>;
    /// Replaces an object; [`StorageError::RecordNotFound`] when there is none.
    fn update<'a>(&'a self, namespace: &'a str, object: StoredObject) -> BoxFuture<'a, Result<(), StorageError>>;
    /// Deletes an object; `false` when there was none.
    fn delete<'a>(&'a self, namespace: &'a str, key: &'a str) -> BoxFuture<'a, Result<bool, StorageError>>;
    /// Objects of every namespace whose labels include all of `labels`, each with its namespace
    /// (helm's `list --all-namespaces`), in one query.
    fn query_all<'a>(
        &'a self,
        labels: &'a [(&'a str, &'a str)],
    ) -> BoxFuture<'a, Result<Vec<(String, StoredObject)>, StorageError>>;

    /// The objects of many releases (`(namespace, name)` pairs, `owner=helm`) in one round trip,
    /// each with its namespace. `None`: the driver has no cheaper way than one query per
    /// release, which the caller then runs itself (concurrently).
    fn histories<'a>(
        &'a self,
        _releases: &'a [(String, String)],
    ) -> Option<BoxFuture<'a, Result<Batch, StorageError>>> {
        None
    }

    /// Tries to take the driver's own lock on a release's records (`namespace/name`), for
    /// drivers whose records may be shared beyond the cluster whose Lease guards the release.
    /// Never waits.
    fn try_lock<'a>(&'a self, _release: &'a str) -> BoxFuture<'a, Result<LockState, StorageError>> {
        Box::pin(async { Ok(LockState::NotNeeded) })
    }

    /// Lets go of a lock [`Backend::try_lock`] took.
    fn unlock<'a>(&'a self, _release: &'a str) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async { Ok(()) })
    }
}

/// The objects of a batched read, each with its namespace.
pub type Batch = Vec<(String, StoredObject)>;

/// The answer of [`Backend::try_lock`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LockState {
    Taken,
    /// Someone else holds it.
    Held {
        holder: String,
    },
    /// The driver keeps records where the cluster's Lease already guards them.
    NotNeeded,
}

/// In-process storage (`HELM_DRIVER=memory`); clones of a [`super::Store`] share it.
#[derive(Default)]
pub struct MemoryBackend {
    objects: Mutex<HashMap<(String, String), StoredObject>>,
}

impl MemoryBackend {
    /// The map, even after a panic elsewhere poisoned the lock (its data is still whole:
    /// every change is a single insert or remove).
    fn objects(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), StoredObject>> {
        self.objects.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `(namespace, object)` of every object whose labels include all of `labels`.
    fn matching(&self, labels: &[(&str, &str)]) -> Vec<(String, StoredObject)> {
        self.objects()
            .iter()
            .filter(|(_, object)| {
                labels
                    .iter()
                    .all(|(k, v)| object.labels.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|((namespace, _), object)| (namespace.clone(), object.clone()))
            .collect()
    }
}

impl Backend for MemoryBackend {
    fn query<'a>(
        &'a self,
        namespace: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> BoxFuture<'a, Result<Vec<StoredObject>, StorageError>> {
        Box::pin(async move {
            Ok(self
                .matching(labels)
                .into_iter()
                .filter(|(ns, _)| ns == namespace)
                .map(|(_, object)| object)
                .collect())
        })
    }

    fn query_all<'a>(
        &'a self,
        labels: &'a [(&'a str, &'a str)],
    ) -> BoxFuture<'a, Result<Vec<(String, StoredObject)>, StorageError>> {
        Box::pin(async move { Ok(self.matching(labels)) })
    }

    fn get<'a>(
        &'a self,
        namespace: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredObject>, StorageError>> {
        Box::pin(async move {
            let objects = self.objects();
            Ok(objects.get(&(namespace.to_string(), key.to_string())).cloned())
        })
    }

    fn create<'a>(&'a self, namespace: &'a str, object: StoredObject) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            let mut objects = self.objects();
            let id = (namespace.to_string(), object.key.clone());
            if objects.contains_key(&id) {
                return Err(StorageError::RecordExists {
                    namespace: namespace.to_string(),
                    key: object.key,
                });
            }
            objects.insert(id, object);
            Ok(())
        })
    }

    fn update<'a>(&'a self, namespace: &'a str, object: StoredObject) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move {
            let mut objects = self.objects();
            let id = (namespace.to_string(), object.key.clone());
            match objects.get_mut(&id) {
                Some(slot) => {
                    *slot = object;
                    Ok(())
                }
                None => Err(StorageError::RecordNotFound {
                    namespace: namespace.to_string(),
                    key: object.key,
                }),
            }
        })
    }

    fn delete<'a>(&'a self, namespace: &'a str, key: &'a str) -> BoxFuture<'a, Result<bool, StorageError>> {
        Box::pin(async move {
            let mut objects = self.objects();
            Ok(objects.remove(&(namespace.to_string(), key.to_string())).is_some())
        })
    }
}

/// Which Kubernetes kind holds the records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectKind {
    Secret,
    ConfigMap,
}

/// Records in Secrets or ConfigMaps of the release's namespace.
pub struct KubeBackend {
    pub cluster: Cluster,
    pub kind: ObjectKind,
}

fn selector(labels: &[(&str, &str)]) -> String {
    labels
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

fn kind_name(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Secret => "Secret",
        ObjectKind::ConfigMap => "ConfigMap",
    }
}

/// What a request is about, for retries shown with `-v`: `Secret apps/sh.helm.release.v1.web.v1`.
fn subject(kind: ObjectKind, namespace: &str, name: &str) -> String {
    format!("{} {namespace}/{name}", kind_name(kind))
}

fn cluster_error(
    verb: &'static str,
    kind: ObjectKind,
    namespace: &str,
    name: &str,
    source: kube::Error,
) -> StorageError {
    let kind = kind_name(kind);
    StorageError::Cluster {
        namespace: namespace.to_string(),
        source: Box::new(ClusterError::request(
            verb,
            &ObjectRef::new("v1", kind, Some(namespace), name),
            source,
        )),
    }
}

fn from_secret(secret: Secret) -> StoredObject {
    let body = secret
        .data
        .and_then(|mut data| data.remove("release"))
        .map(|bytes| String::from_utf8_lossy(&bytes.0).into_owned())
        .unwrap_or_default();
    StoredObject {
        key: secret.metadata.name.unwrap_or_default(),
        labels: secret.metadata.labels.unwrap_or_default(),
        body,
    }
}

fn from_config_map(config_map: ConfigMap) -> StoredObject {
    let body = config_map
        .data
        .and_then(|mut data| data.remove("release"))
        .unwrap_or_default();
    StoredObject {
        key: config_map.metadata.name.unwrap_or_default(),
        labels: config_map.metadata.labels.unwrap_or_default(),
        body,
    }
}

/// Helm's `newSecretsObject`: name, labels, `type: helm.sh/release.v1`, `data.release`.
fn to_secret(object: &StoredObject) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(object.key.clone()),
            labels: Some(object.labels.clone()),
            ..ObjectMeta::default()
        },
        type_: Some("helm.sh/release.v1".to_string()),
        data: Some(BTreeMap::from([(
            "release".to_string(),
            ByteString(object.body.clone().into_bytes()),
        )])),
        ..Secret::default()
    }
}

/// Helm's `newConfigMapsObject`: no type, `data.release` as a string.
fn to_config_map(object: &StoredObject) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(object.key.clone()),
            labels: Some(object.labels.clone()),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([("release".to_string(), object.body.clone())])),
        ..ConfigMap::default()
    }
}

impl KubeBackend {
    fn secrets(&self, namespace: &str) -> Api<Secret> {
        Api::namespaced(self.cluster.client().clone(), namespace)
    }

    fn config_maps(&self, namespace: &str) -> Api<ConfigMap> {
        Api::namespaced(self.cluster.client().clone(), namespace)
    }

    async fn list(&self, namespace: &str, labels: &[(&str, &str)]) -> Result<Vec<StoredObject>, StorageError> {
        let selector = selector(labels);
        let params = ListParams::default().labels(&selector);
        let described = format!("-l {selector}");
        match self.kind {
            ObjectKind::Secret => {
                let api = self.secrets(namespace);
                let list = self
                    .cluster
                    .with_retries("list", subject(self.kind, namespace, &described), || api.list(&params))
                    .await
                    .map_err(|e| cluster_error("list", self.kind, namespace, &described, e))?;
                Ok(list.items.into_iter().map(from_secret).collect())
            }
            ObjectKind::ConfigMap => {
                let api = self.config_maps(namespace);
                let list = self
                    .cluster
                    .with_retries("list", subject(self.kind, namespace, &described), || api.list(&params))
                    .await
                    .map_err(|e| cluster_error("list", self.kind, namespace, &described, e))?;
                Ok(list.items.into_iter().map(from_config_map).collect())
            }
        }
    }

    /// One LIST across every namespace, in pages of 500 (helm's `list -A`).
    async fn list_everywhere(&self, labels: &[(&str, &str)]) -> Result<Vec<(String, StoredObject)>, StorageError> {
        let selector = selector(labels);
        let described = format!("-l {selector}");
        let mut out = Vec::new();
        let mut params = ListParams::default().labels(&selector).limit(500);
        loop {
            let next = match self.kind {
                ObjectKind::Secret => self.list_page(&params, &described, from_secret, &mut out).await?,
                ObjectKind::ConfigMap => self.list_page(&params, &described, from_config_map, &mut out).await?,
            };
            match next.filter(|token| !token.is_empty()) {
                Some(token) => params = params.continue_token(&token),
                None => return Ok(out),
            }
        }
    }

    /// One page of a list across namespaces, its objects appended to `out` with their
    /// namespaces; the continue token, if any.
    async fn list_page<K>(
        &self,
        params: &ListParams,
        described: &str,
        convert: fn(K) -> StoredObject,
        out: &mut Vec<(String, StoredObject)>,
    ) -> Result<Option<String>, StorageError>
    where
        K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    {
        let api: Api<K> = Api::all(self.cluster.client().clone());
        let page = self
            .cluster
            .with_retries("list", subject(self.kind, "", described), || api.list(params))
            .await
            .map_err(|e| cluster_error("list", self.kind, "", described, e))?;
        out.extend(page.items.into_iter().map(|object| {
            let namespace = object.meta().namespace.clone().unwrap_or_default();
            (namespace, convert(object))
        }));
        Ok(page.metadata.continue_)
    }

    async fn get_one(&self, namespace: &str, key: &str) -> Result<Option<StoredObject>, StorageError> {
        match self.kind {
            ObjectKind::Secret => {
                let api = self.secrets(namespace);
                let found = self
                    .cluster
                    .with_retries("get", subject(self.kind, namespace, key), || api.get_opt(key))
                    .await;
                Ok(found
                    .map_err(|e| cluster_error("get", self.kind, namespace, key, e))?
                    .map(from_secret))
            }
            ObjectKind::ConfigMap => {
                let api = self.config_maps(namespace);
                let found = self
                    .cluster
                    .with_retries("get", subject(self.kind, namespace, key), || api.get_opt(key))
                    .await;
                Ok(found
                    .map_err(|e| cluster_error("get", self.kind, namespace, key, e))?
                    .map(from_config_map))
            }
        }
    }

    async fn create_one(&self, namespace: &str, object: StoredObject) -> Result<(), StorageError> {
        let params = PostParams::default();
        let result = match self.kind {
            ObjectKind::Secret => {
                let api = self.secrets(namespace);
                let body = to_secret(&object);
                self.cluster
                    .with_retries("create", subject(self.kind, namespace, &object.key), || {
                        api.create(&params, &body)
                    })
                    .await
                    .map(drop)
            }
            ObjectKind::ConfigMap => {
                let api = self.config_maps(namespace);
                let body = to_config_map(&object);
                self.cluster
                    .with_retries("create", subject(self.kind, namespace, &object.key), || {
                        api.create(&params, &body)
                    })
                    .await
                    .map(drop)
            }
        };
        match result {
            Ok(()) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 409 => {
                // A retried create whose first attempt landed but lost its answer finds its own
                // object; the timestamps in the body make that comparison unambiguous.
                match self.get_one(namespace, &object.key).await? {
                    Some(existing) if existing.body == object.body => Ok(()),
                    _ => Err(StorageError::RecordExists {
                        namespace: namespace.to_string(),
                        key: object.key,
                    }),
                }
            }
            Err(e) => Err(cluster_error("create", self.kind, namespace, &object.key, e)),
        }
    }

    async fn update_one(&self, namespace: &str, object: StoredObject) -> Result<(), StorageError> {
        let params = PostParams::default();
        // Like Helm, an unconditional replace (no resourceVersion): safe to retry.
        let result = match self.kind {
            ObjectKind::Secret => {
                let api = self.secrets(namespace);
                let body = to_secret(&object);
                self.cluster
                    .with_retries("replace", subject(self.kind, namespace, &object.key), || {
                        api.replace(&object.key, &params, &body)
                    })
                    .await
                    .map(drop)
            }
            ObjectKind::ConfigMap => {
                let api = self.config_maps(namespace);
                let body = to_config_map(&object);
                self.cluster
                    .with_retries("replace", subject(self.kind, namespace, &object.key), || {
                        api.replace(&object.key, &params, &body)
                    })
                    .await
                    .map(drop)
            }
        };
        match result {
            Ok(()) => Ok(()),
            Err(kube::Error::Api(status)) if status.code == 404 => Err(StorageError::RecordNotFound {
                namespace: namespace.to_string(),
                key: object.key,
            }),
            Err(e) => Err(cluster_error("update", self.kind, namespace, &object.key, e)),
        }
    }

    async fn delete_one(&self, namespace: &str, key: &str) -> Result<bool, StorageError> {
        let params = DeleteParams::default();
        let result = match self.kind {
            ObjectKind::Secret => {
                let api = self.secrets(namespace);
                self.cluster
                    .with_retries("delete", subject(self.kind, namespace, key), || {
                        api.delete(key, &params)
                    })
                    .await
                    .map(drop)
            }
            ObjectKind::ConfigMap => {
                let api = self.config_maps(namespace);
                self.cluster
                    .with_retries("delete", subject(self.kind, namespace, key), || {
                        api.delete(key, &params)
                    })
                    .await
                    .map(drop)
            }
        };
        match result {
            Ok(()) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
            Err(e) => Err(cluster_error("delete", self.kind, namespace, key, e)),
        }
    }
}

impl Backend for KubeBackend {
    fn query<'a>(
        &'a self,
        namespace: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> BoxFuture<'a, Result<Vec<StoredObject>, StorageError>> {
        Box::pin(self.list(namespace, labels))
    }

    fn get<'a>(
        &'a self,
        namespace: &'a str,
        key: &'a str,
    ) -> BoxFuture<'a, Result<Option<StoredObject>, StorageError>> {
        Box::pin(self.get_one(namespace, key))
    }

    fn create<'a>(&'a self, namespace: &'a str, object: StoredObject) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(self.create_one(namespace, object))
    }

    fn update<'a>(&'a self, namespace: &'a str, object: StoredObject) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(self.update_one(namespace, object))
    }

    fn delete<'a>(&'a self, namespace: &'a str, key: &'a str) -> BoxFuture<'a, Result<bool, StorageError>> {
        Box::pin(self.delete_one(namespace, key))
    }

    fn query_all<'a>(
        &'a self,
        labels: &'a [(&'a str, &'a str)],
    ) -> BoxFuture<'a, Result<Vec<(String, StoredObject)>, StorageError>> {
        Box::pin(self.list_everywhere(labels))
    }
}

/// Stands in for a driver that was not given what it needs (a cluster; for `sql`, a database
/// connection): every call fails clearly.
pub struct Disconnected {
    pub driver: &'static str,
}

impl Disconnected {
    fn error(&self) -> StorageError {
        match self.driver {
            // The sql driver needs its database, not a cluster: `Store::open` connects it.
            "sql" => StorageError::NoConnection,
            driver => StorageError::NoCluster { driver },
        }
    }
}

impl Backend for Disconnected {
    fn query<'a>(
        &'a self,
        _: &'a str,
        _: &'a [(&'a str, &'a str)],
    ) -> BoxFuture<'a, Result<Vec<StoredObject>, StorageError>> {
        Box::pin(async move { Err(self.error()) })
    }
    fn get<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<Option<StoredObject>, StorageError>> {
        Box::pin(async move { Err(self.error()) })
    }
    fn create<'a>(&'a self, _: &'a str, _: StoredObject) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move { Err(self.error()) })
    }
    fn update<'a>(&'a self, _: &'a str, _: StoredObject) -> BoxFuture<'a, Result<(), StorageError>> {
        Box::pin(async move { Err(self.error()) })
    }
    fn delete<'a>(&'a self, _: &'a str, _: &'a str) -> BoxFuture<'a, Result<bool, StorageError>> {
        Box::pin(async move { Err(self.error()) })
    }
    fn query_all<'a>(
        &'a self,
        _: &'a [(&'a str, &'a str)],
    ) -> BoxFuture<'a, Result<Vec<(String, StoredObject)>, StorageError>> {
        Box::pin(async move { Err(self.error()) })
    }
}

/// Shared handle to a backend.
pub type SharedBackend = Arc<dyn Backend>;
