//! What the cluster holds for a release's recorded objects: each object located (its scope from
//! discovery, the release namespace filled in), read live, and server-side-apply dry-run as the
//! record (manager `helm`, `force`), which gives the object the recorded manifest would produce
//! on this server — defaulting, conversion, other managers' fields and canonical values
//! included. Comparing that prediction with the live object (`plan::drift`) is what drift is.
//!
//! A verdict is never built from a partial read: the dry-run must have been computed from the
//! live object that was read (same `resourceVersion`), or the pair is read again.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value as Json;

use crate::cluster::{ApplyOptions, Cluster, ClusterError, ObjectRef};
use crate::converge::FIELD_MANAGER;
use crate::manifest::{self, ObjectError, ObjectKey, Resource};
use crate::storage::ReleaseRecord;

/// Reads of a live/dry-run pair that raced a write before giving up.
const CONSISTENT_READ_ATTEMPTS: usize = 3;

/// A kind with at least this many objects to observe is read with one LIST instead of a GET
/// per object.
pub const LIST_THRESHOLD: usize = 16;

/// Live objects read in bulk: one LIST per kind across namespaces, of the objects helm labels
/// (`app.kubernetes.io/managed-by=Helm`), keyed by `(apiVersion, kind)` then `(namespace,
/// name)`. An object it lacks (gone, or its label removed) is read with a GET.
#[derive(Debug, Default)]
pub struct Snapshot {
    kinds: HashMap<(String, String), HashMap<(String, String), Json>>,
}

impl Snapshot {
    /// Lists every `(apiVersion, kind)` given. A kind that cannot be listed cluster-wide (403,
    /// not served) is left out: its objects are read one by one, and any error is reported there.
    pub async fn read(cluster: &Cluster, kinds: Vec<(String, String)>) -> Snapshot {
        let mut tasks = tokio::task::JoinSet::new();
        for (api_version, kind) in kinds {
            let cluster = cluster.clone();
            tasks.spawn(async move {
                let resource = cluster.resolve(&api_version, &kind).await.ok()?;
                let items = cluster
                    .list(&resource, None, "app.kubernetes.io/managed-by=Helm")
                    .await
                    .ok()?;
                let objects = items
                    .into_iter()
                    .filter_map(|item| {
                        let namespace = item.metadata.namespace.clone().unwrap_or_default();
                        let name = item.metadata.name.clone()?;
                        Some(((namespace, name), serde_json::to_value(item).ok()?))
                    })
                    .collect();
                Some(((api_version, kind), objects))
            });
        }
        let mut snapshot = Snapshot::default();
        while let Some(joined) = tasks.join_next().await {
            if let Ok(Some((kind, objects))) = joined {
                snapshot.kinds.insert(kind, objects);
            }
        }
        snapshot
    }

    /// The listed object, if its kind was listed and it was there.
    fn get(&self, resource: &Resource) -> Option<&Json> {
        self.kinds
            .get(&(resource.api_version.clone(), resource.kind.clone()))?
            .get(&(resource.namespace.clone().unwrap_or_default(), resource.name.clone()))
    }

    /// The kinds worth listing: those with at least [`LIST_THRESHOLD`] objects in `records`.
    pub fn kinds_to_list<'a>(records: impl IntoIterator<Item = &'a ReleaseRecord>) -> Vec<(String, String)> {
        let mut counts: HashMap<(String, String), usize> = HashMap::new();
        for record in records {
            for resource in manifest::parse_manifest(&record.manifest, "manifest").unwrap_or_default() {
                *counts.entry((resource.api_version, resource.kind)).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .filter(|(_, count)| *count >= LIST_THRESHOLD)
            .map(|(kind, _)| kind)
            .collect()
    }
}

/// One recorded object and what the cluster says about it.
#[derive(Clone, Debug)]
pub struct ObservedObject {
    pub key: ObjectKey,
    /// The recorded object as sent to the server: namespace located, helm's ownership metadata
    /// added (what an install or upgrade sent).
    pub recorded: Resource,
    pub state: LiveState,
}

/// The live side of one recorded object.
#[derive(Clone, Debug)]
pub enum LiveState {
    /// The object exists: as read, and as the record would make it (the dry-run's answer).
    Present { live: Json, predicted: Json },
    /// The object does not exist.
    Missing,
}

/// Why a release's live objects could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ObserveError {
    #[error("the recorded manifest of revision {revision} cannot be read")]
    Manifest {
        revision: i32,
        #[source]
        source: ObjectError,
    },
    #[error("cannot read `{object}`")]
    Object {
        object: String,
        #[source]
        source: ClusterError,
    },
    #[error("`{object}` kept changing while it was read ({attempts} attempts)")]
    Unstable { object: String, attempts: usize },
}

/// Fills in the namespace of a manifest object as the cluster scopes its kind: the release
/// namespace for a namespaced kind without one, none for a cluster-scoped kind.
pub async fn locate(cluster: &Cluster, resource: &mut Resource, namespace: &str) -> Result<(), ClusterError> {
    let resource_type = cluster.resolve(&resource.api_version, &resource.kind).await?;
    if resource_type.namespaced {
        let namespace = resource.namespace.clone().unwrap_or_else(|| namespace.to_string());
        resource.set_namespace(Some(&namespace));
    } else if resource.namespace.is_some() {
        resource.set_namespace(None);
    }
    Ok(())
}

/// Observes every object of `record`'s manifest, at most `concurrency` requests at once across
/// all callers sharing `permits`.
pub async fn observe_release(
    cluster: &Cluster,
    record: &ReleaseRecord,
    permits: Arc<tokio::sync::Semaphore>,
    snapshot: Arc<Snapshot>,
) -> Result<Vec<ObservedObject>, ObserveError> {
    let resources =
        manifest::parse_manifest(&record.manifest, "manifest").map_err(|source| ObserveError::Manifest {
            revision: record.version,
            source,
        })?;
    let mut tasks = tokio::task::JoinSet::new();
    for (index, mut resource) in resources.into_iter().enumerate() {
        let cluster = cluster.clone();
        let permits = permits.clone();
        let snapshot = snapshot.clone();
        let (release, namespace) = (record.name.clone(), record.namespace.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire().await;
            let key = resource.key(&namespace);
            let object = resource.to_string();
            let observed = async {
                locate(&cluster, &mut resource, &namespace).await?;
                resource.set_ownership(&release, &namespace);
                let listed = snapshot.get(&resource).cloned();
                observe_object(&cluster, &resource, listed).await
            }
            .await;
            let state = match observed {
                Ok(Some(state)) => state,
                Ok(None) => {
                    return (
                        index,
                        Err(ObserveError::Unstable {
                            object,
                            attempts: CONSISTENT_READ_ATTEMPTS,
                        }),
                    );
                }
                Err(source) => return (index, Err(ObserveError::Object { object, source })),
            };
            (
                index,
                Ok(ObservedObject {
                    key,
                    recorded: resource,
                    state,
                }),
            )
        });
    }
    let mut observed = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((index, Ok(object))) => observed.push((index, object)),
            Ok((_, Err(error))) => return Err(error),
            Err(join) => {
                return Err(ObserveError::Unstable {
                    object: format!("an object of release `{}/{}` ({join})", record.namespace, record.name),
                    attempts: 1,
                });
            }
        }
    }
    observed.sort_by_key(|(index, _)| *index);
    Ok(observed.into_iter().map(|(_, object)| object).collect())
}

/// Reads (the listed copy first, then GETs) and dry-runs one object until both answers come
/// from the same `resourceVersion`; `None` when it never settled.
async fn observe_object(
    cluster: &Cluster,
    resource: &Resource,
    mut listed: Option<Json>,
) -> Result<Option<LiveState>, ClusterError> {
    let reference = ObjectRef::new(
        &resource.api_version,
        &resource.kind,
        resource.namespace.as_deref(),
        &resource.name,
    );
    let options = ApplyOptions {
        field_manager: FIELD_MANAGER.to_string(),
        force: true,
        dry_run: true,
    };
    for _ in 0..CONSISTENT_READ_ATTEMPTS {
        let live = match listed.take() {
            Some(live) => live,
            None => match cluster.get(&reference).await? {
                Some(live) => serde_json::to_value(&live).unwrap_or(Json::Null),
                None => return Ok(Some(LiveState::Missing)),
            },
        };
        let predicted = cluster.apply(&resource.object, &options).await?;
        let predicted = serde_json::to_value(&predicted).unwrap_or(Json::Null);
        let version = |object: &Json| object["metadata"]["resourceVersion"].as_str().map(str::to_string);
        match version(&predicted) {
            // A dry-run create: the object was deleted between the two reads.
            None => continue,
            Some(rv) if Some(&rv) == version(&live).as_ref() => {
                return Ok(Some(LiveState::Present { live, predicted }));
            }
            Some(_) => continue,
        }
    }
    Ok(None)
}
