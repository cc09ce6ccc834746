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
    /// Counted from the documents' top-level `apiVersion:`/`kind:` lines without decoding them
    /// (a miscount only changes how objects are read, never a verdict).
    pub fn kinds_to_list<'a>(records: impl IntoIterator<Item = &'a ReleaseRecord>) -> Vec<(String, String)> {
        let mut counts: HashMap<(String, String), usize> = HashMap::new();
        for record in records {
            for document in record.manifest.split("\n---") {
                let top = |key: &str| {
                    document
                        .lines()
                        .find_map(|line| line.strip_prefix(key))
                        .map(|value| value.trim().trim_matches(['"', '\'']).to_string())
                };
                if let (Some(api_version), Some(kind)) = (top("apiVersion:"), top("kind:")) {
                    *counts.entry((api_version, kind)).or_default() += 1;
                }
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
    /// The object exists and provably matches the record without asking the server (see
    /// [`provably_in_sync`]): no dry-run was needed.
    InSync,
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
        if provably_in_sync(&resource.object, &live) {
            return Ok(Some(LiveState::InSync));
        }
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

/// Whether a forced apply of `recorded` as `helm` would provably change nothing in `live` but
/// managedFields, so the dry-run can be skipped. Sound, not complete: anything it cannot prove
/// goes to the server.
/// 1. every value the record sets is in live, equal (numbers by value; a `Secret`'s
///    `stringData` as the base64 `data` the server stores; list items in place, each a subset);
/// 2. every field helm's Apply entry owns is still set by the record (nothing would be pruned);
/// 3. the object is not being deleted.
pub fn provably_in_sync(recorded: &Json, live: &Json) -> bool {
    if live["metadata"]["deletionTimestamp"].is_string() {
        return false;
    }
    if !contains(live, &stored_form(recorded)) {
        return false;
    }
    // Ownership follows what was applied (a Secret's `stringData` stays `stringData` there).
    live["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|entry| entry["manager"] == FIELD_MANAGER && entry["operation"] == "Apply")
        .all(|entry| owned_fields_present(&entry["fieldsV1"], recorded))
}

/// The record as the server stores it where that is certain: a core Secret's `stringData`
/// folded into base64 `data`.
fn stored_form(recorded: &Json) -> std::borrow::Cow<'_, Json> {
    use base64::Engine as _;
    let is_secret = recorded["kind"] == "Secret" && recorded["apiVersion"] == "v1";
    match recorded.get("stringData").and_then(Json::as_object) {
        Some(strings) if is_secret => {
            let mut folded = recorded.clone();
            let data = folded
                .as_object_mut()
                .map(|object| {
                    object.remove("stringData");
                    object.entry("data").or_insert_with(|| Json::Object(Default::default()))
                })
                .and_then(Json::as_object_mut);
            if let Some(data) = data {
                for (key, value) in strings {
                    let Some(text) = value.as_str() else { continue };
                    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
                    data.insert(key.clone(), Json::String(encoded));
                }
            }
            std::borrow::Cow::Owned(folded)
        }
        _ => std::borrow::Cow::Borrowed(recorded),
    }
}

/// Whether `live` holds everything `recorded` sets (nulls and empty values are left to the
/// server: they fail the check).
fn contains(live: &Json, recorded: &Json) -> bool {
    match (live, recorded) {
        (Json::Object(l), Json::Object(r)) => r.iter().all(|(key, value)| match l.get(key) {
            Some(held) => contains(held, value),
            None => false,
        }),
        (Json::Array(l), Json::Array(r)) => l.len() == r.len() && l.iter().zip(r).all(|(a, b)| contains(a, b)),
        (Json::Number(a), Json::Number(b)) => a.as_f64() == b.as_f64(),
        (Json::Null, _) | (_, Json::Null) => false,
        (a, b) => a == b,
    }
}

/// Whether every field of a `fieldsV1` set is present in `recorded`.
fn owned_fields_present(fields: &Json, recorded: &Json) -> bool {
    let Some(children) = fields.as_object() else {
        return true;
    };
    children.iter().all(|(key, child)| {
        if key == "." {
            return true;
        }
        if let Some(field) = key.strip_prefix("f:") {
            return match recorded.get(field) {
                Some(value) => owned_fields_present(child, value),
                None => false,
            };
        }
        let Some(items) = recorded.as_array() else {
            return false;
        };
        if let Some(index) = key.strip_prefix("i:").and_then(|i| i.parse::<usize>().ok()) {
            return items.get(index).is_some_and(|item| owned_fields_present(child, item));
        }
        if let Some(value) = key.strip_prefix("v:") {
            let Ok(value) = serde_json::from_str::<Json>(value) else {
                return false;
            };
            return items.contains(&value);
        }
        if let Some(item_key) = key.strip_prefix("k:") {
            let Ok(Json::Object(item_key)) = serde_json::from_str::<Json>(item_key) else {
                return false;
            };
            return items.iter().any(|item| {
                item_key.iter().all(|(field, value)| match item.get(field) {
                    Some(held) => held == value || held.as_f64().is_some_and(|h| Some(h) == value.as_f64()),
                    None => field == "protocol" && value == "TCP",
                }) && owned_fields_present(child, item)
            });
        }
        false
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn deployment(replicas: Json, managed: Json) -> Json {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"app": "web"}, "managedFields": managed},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [
                {"name": "web", "image": "shop:1", "ports": [{"containerPort": 80}]}]}}}})
    }

    fn helm_owns(fields: Json) -> Json {
        json!([{"manager": "helm", "operation": "Apply", "fieldsV1": fields}])
    }

    #[test]
    fn a_live_object_holding_every_recorded_value_is_in_sync() {
        let owned = helm_owns(json!({"f:metadata": {"f:labels": {"f:app": {}}},
            "f:spec": {"f:replicas": {}, "f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {}}}}}}}}));
        let mut live = deployment(json!(2), owned);
        // Server defaults and other managers' fields do not matter.
        live["spec"]["template"]["spec"]["containers"][0]["ports"][0]["protocol"] = json!("TCP");
        live["spec"]["strategy"] = json!({"type": "RollingUpdate"});
        live["metadata"]["labels"]["added"] = json!("x");
        let recorded = deployment(json!(2.0), Json::Null);
        let mut recorded = recorded;
        recorded["metadata"].as_object_mut().unwrap().remove("managedFields");
        assert!(provably_in_sync(&recorded, &live));
        // A changed value, or a field helm owns that the record dropped, needs the server.
        let mut scaled = live.clone();
        scaled["spec"]["replicas"] = json!(5);
        assert!(!provably_in_sync(&recorded, &scaled));
        let mut fewer = recorded.clone();
        fewer["metadata"].as_object_mut().unwrap().remove("labels");
        assert!(!provably_in_sync(&fewer, &live));
    }

    #[test]
    fn secret_string_data_is_compared_as_stored_data() {
        let recorded = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"password": "hunter2"}});
        let live = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s",
            "managedFields": helm_owns(json!({"f:stringData": {"f:password": {}}}))}, "data": {"password": "aHVudGVyMg=="}});
        // helm owns `stringData.password`, as the server records what was applied.
        assert!(provably_in_sync(&recorded, &live));
        let mut changed = live.clone();
        changed["data"]["password"] = json!("c3RvbGVu");
        assert!(!provably_in_sync(&recorded, &changed));
        let mut dropped = live.clone();
        dropped["metadata"]["managedFields"] = helm_owns(json!({"f:stringData": {"f:password": {}, "f:user": {}}}));
        assert!(!provably_in_sync(&recorded, &dropped));
    }

    #[test]
    fn nulls_and_deletions_go_to_the_server() {
        let live = json!({"metadata": {"name": "a"}, "data": {"x": "1"}});
        assert!(!provably_in_sync(
            &json!({"metadata": {"name": "a"}, "data": {"x": null}}),
            &live
        ));
        let mut deleting = live.clone();
        deleting["metadata"]["deletionTimestamp"] = json!("2026-01-01T00:00:00Z");
        assert!(!provably_in_sync(&json!({"metadata": {"name": "a"}}), &deleting));
    }
}
