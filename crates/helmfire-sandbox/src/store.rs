//! The object store: every object by resource, namespace and name as serialized JSON, one global
//! resourceVersion counter, and the event log that watches read. It enforces no API semantics
//! (those live in `api`); it only keeps objects and events consistent under one lock.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use serde_json::Value;
use tokio::sync::broadcast;

use super::resources::{self, ResourceType};

/// How many past events a watch can resume from before it gets 410 Expired.
const HISTORY: usize = 20_000;

/// Identifies a stored collection: (group, plural). Versions share storage (conversion is a
/// rewrite of `apiVersion`).
pub type CollectionKey = (String, String);

/// One stored object.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The object as served (JSON, with metadata.resourceVersion set).
    pub json: Bytes,
    /// Labels, kept parsed so selectors never re-read the JSON.
    pub labels: Labels,
    /// resourceVersion of the last write.
    pub resource_version: u64,
    /// uids of the owners named in ownerReferences (garbage collection).
    pub owners: Vec<String>,
}

impl Entry {
    /// The object as a JSON value.
    pub fn value(&self) -> Value {
        // Stored bytes were produced by serde_json from a Value, so they always parse.
        serde_json::from_slice(&self.json).unwrap_or(Value::Null)
    }
}

/// Watch event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Object created.
    Added,
    /// Object changed.
    Modified,
    /// Object removed.
    Deleted,
}

impl EventType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One change, as watches see it.
#[derive(Debug, Clone)]
pub struct Event {
    /// What happened.
    pub event_type: EventType,
    /// resourceVersion of the change.
    pub resource_version: u64,
    /// Which collection.
    pub collection: CollectionKey,
    /// Namespace (`""` for cluster-scoped).
    pub namespace: String,
    /// Name.
    pub name: String,
    /// The object after the change (the last state for deletions).
    pub object: Bytes,
    /// Labels after the change.
    pub labels: Labels,
    /// Labels before the change (for selector transitions).
    pub previous_labels: Option<Labels>,
}

/// Everything behind the store lock.
#[derive(Debug)]
pub struct State {
    resource_version: u64,
    collections: HashMap<CollectionKey, BTreeMap<(String, String), Entry>>,
    resources: Vec<Arc<ResourceType>>,
    history: VecDeque<Arc<Event>>,
    events: broadcast::Sender<Arc<Event>>,
    /// With a data directory: every write as a journal record, until the journal takes them
    /// (`persist::Journal::commit`) and makes them durable before the write is acknowledged.
    journal: Option<Vec<Bytes>>,
    /// Bumped when the served resource set changes (discovery/openapi hashes).
    pub discovery_generation: u64,
}

/// The shared store.
#[derive(Debug)]
pub struct Store {
    state: Mutex<State>,
}

fn owners_of(object: &Value) -> Vec<String> {
    object["metadata"]["ownerReferences"]
        .as_array()
        .map(|refs| {
            refs.iter()
                .filter_map(|r| r["uid"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// Labels as a shared slice: a B-tree per object costs over half a kilobyte, and objects carry
/// few labels, so a linear scan is both smaller and fast.
pub type Labels = Arc<[(String, String)]>;

fn labels_of(object: &Value) -> Labels {
    object["metadata"]["labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into()
}

impl Store {
    /// An empty store serving the built-in resources.
    pub fn new() -> Self {
        let (events, _) = broadcast::channel(16_384);
        Self {
            state: Mutex::new(State {
                resource_version: 100,
                collections: HashMap::new(),
                resources: resources::builtins(),
                history: VecDeque::new(),
                events,
                journal: None,
                discovery_generation: 1,
            }),
        }
    }

    /// Locks the store. A poisoned lock means a handler panicked mid-write; the state is still
    /// structurally valid (every write is a single map insert), so keep serving.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl State {
    /// The current global resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.resource_version
    }

    /// Every served resource type.
    pub fn resources(&self) -> &[Arc<ResourceType>] {
        &self.resources
    }

    /// Finds a served resource by group, version and plural.
    pub fn resource(&self, group: &str, version: &str, plural: &str) -> Option<Arc<ResourceType>> {
        self.resources
            .iter()
            .find(|r| r.group == group && r.version == version && r.plural == plural)
            .cloned()
    }

    /// Replaces the resource types served for a CRD's group/plural.
    pub fn set_crd_resources(&mut self, group: &str, plural: &str, types: Vec<Arc<ResourceType>>) {
        self.resources
            .retain(|r| r.builtin || !(r.group == group && r.plural == plural));
        self.resources.extend(types);
        self.discovery_generation += 1;
    }

    /// One object.
    pub fn get(&self, key: &CollectionKey, namespace: &str, name: &str) -> Option<&Entry> {
        self.collections
            .get(key)?
            .get(&(namespace.to_string(), name.to_string()))
    }

    /// Objects of a collection, optionally in one namespace, in (namespace, name) order.
    pub fn list<'a>(
        &'a self,
        key: &CollectionKey,
        namespace: Option<&'a str>,
    ) -> Box<dyn Iterator<Item = (&'a (String, String), &'a Entry)> + 'a> {
        let Some(collection) = self.collections.get(key) else {
            return Box::new(std::iter::empty());
        };
        match namespace {
            Some(ns) => Box::new(
                collection
                    .range((ns.to_string(), String::new())..)
                    .take_while(move |((n, _), _)| n == ns),
            ),
            None => Box::new(collection.iter()),
        }
    }

    /// Every (collection, namespace, name) in a namespace, across collections.
    pub fn keys_in_namespace(&self, namespace: &str) -> Vec<(CollectionKey, String)> {
        let mut out = Vec::new();
        for (key, collection) in &self.collections {
            for ((ns, name), _) in collection
                .range((namespace.to_string(), String::new())..)
                .take_while(|((n, _), _)| n == namespace)
            {
                let _ = ns;
                out.push((key.clone(), name.clone()));
            }
        }
        out
    }

    /// Objects whose ownerReferences name `uid`: (collection, namespace, name).
    pub fn dependents(&self, uid: &str) -> Vec<(CollectionKey, String, String)> {
        let mut out = Vec::new();
        for (key, collection) in &self.collections {
            for ((ns, name), entry) in collection {
                if entry.owners.iter().any(|o| o == uid) {
                    out.push((key.clone(), ns.clone(), name.clone()));
                }
            }
        }
        out
    }

    /// All collections (for persistence and garbage collection).
    pub fn collections(&self) -> impl Iterator<Item = (&CollectionKey, &BTreeMap<(String, String), Entry>)> {
        self.collections.iter()
    }

    /// Writes an object: bumps the resourceVersion, stamps it, stores it and emits the event.
    /// Returns the stored object.
    pub fn put(&mut self, key: &CollectionKey, namespace: &str, name: &str, mut object: Value) -> Value {
        self.resource_version += 1;
        let rv = self.resource_version;
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
        }
        let json = Bytes::from(serde_json::to_vec(&object).unwrap_or_default());
        let labels = labels_of(&object);
        let collection = self.collections.entry(key.clone()).or_default();
        let previous = collection.insert(
            (namespace.to_string(), name.to_string()),
            Entry {
                json: json.clone(),
                labels: labels.clone(),
                resource_version: rv,
                owners: owners_of(&object),
            },
        );
        let event_type = if previous.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.emit(Event {
            event_type,
            resource_version: rv,
            collection: key.clone(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            object: json,
            labels,
            previous_labels: previous.map(|p| p.labels),
        });
        object
    }

    /// Removes an object, emitting DELETED with its last state at a new resourceVersion.
    pub fn remove(&mut self, key: &CollectionKey, namespace: &str, name: &str) -> Option<Value> {
        let entry = self
            .collections
            .get_mut(key)?
            .remove(&(namespace.to_string(), name.to_string()))?;
        self.resource_version += 1;
        let rv = self.resource_version;
        let mut object = entry.value();
        if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
            meta.insert("resourceVersion".into(), Value::String(rv.to_string()));
        }
        let json = Bytes::from(serde_json::to_vec(&object).unwrap_or_default());
        self.emit(Event {
            event_type: EventType::Deleted,
            resource_version: rv,
            collection: key.clone(),
            namespace: namespace.to_string(),
            name: name.to_string(),
            object: json,
            labels: entry.labels.clone(),
            previous_labels: Some(entry.labels),
        });
        Some(object)
    }

    /// Restores an object from disk without events (startup only).
    pub fn restore(&mut self, key: CollectionKey, namespace: String, name: String, object: Value) {
        let rv = object["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let labels = labels_of(&object);
        let owners = owners_of(&object);
        let json = Bytes::from(serde_json::to_vec(&object).unwrap_or_default());
        self.collections.entry(key).or_default().insert(
            (namespace, name),
            Entry {
                json,
                labels,
                resource_version: rv,
                owners,
            },
        );
    }

    /// Removes an object from disk without events (startup only: a journaled delete).
    pub fn forget(&mut self, key: &CollectionKey, namespace: &str, name: &str) {
        if let Some(collection) = self.collections.get_mut(key) {
            collection.remove(&(namespace.to_string(), name.to_string()));
        }
    }

    /// From now on, keeps a journal record of every write (see [`State::take_journal`]).
    pub fn enable_journal(&mut self) {
        self.journal.get_or_insert_with(Vec::new);
    }

    /// The journal records written since the last call, oldest first.
    pub fn take_journal(&mut self) -> Vec<Bytes> {
        self.journal.as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// Puts back records a failed journal append took, ahead of newer ones: the next commit
    /// tries them again, so no later write is acknowledged while they are not on disk.
    pub fn restore_journal(&mut self, mut records: Vec<Bytes>) {
        if let Some(journal) = self.journal.as_mut() {
            records.append(journal);
            *journal = records;
        }
    }

    /// Whether writes are waiting to be journaled.
    pub fn journal_pending(&self) -> bool {
        self.journal.as_ref().is_some_and(|records| !records.is_empty())
    }

    /// Sets the counter (startup only; never moves backwards).
    pub fn restore_resource_version(&mut self, rv: u64) {
        self.resource_version = self.resource_version.max(rv);
    }

    fn emit(&mut self, event: Event) {
        if let Some(journal) = self.journal.as_mut() {
            journal.push(journal_record(&event));
        }
        let event = Arc::new(event);
        if self.history.len() >= HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(event.clone());
        // No receivers is normal (no watch open).
        let _ = self.events.send(event);
    }

    /// Subscribes to live events; call under the lock together with a snapshot so nothing is
    /// missed or duplicated.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.events.subscribe()
    }

    /// Events after `rv`, or `Err(oldest)` when history no longer reaches back that far.
    pub fn events_since(&self, rv: u64) -> Result<Vec<Arc<Event>>, u64> {
        let oldest = self
            .history
            .front()
            .map(|e| e.resource_version)
            .unwrap_or(self.resource_version + 1);
        if rv + 1 < oldest && rv < self.resource_version {
            return Err(oldest);
        }
        Ok(self
            .history
            .iter()
            .filter(|e| e.resource_version > rv)
            .cloned()
            .collect())
    }
}

/// One journal line: `{"rv":N,"op":"put"|"delete","group":…,"resource":…,"namespace":…,
/// "name":…,"object":{…}}` (the object only for puts), without the newline.
fn journal_record(event: &Event) -> Bytes {
    let op = match event.event_type {
        EventType::Added | EventType::Modified => "put",
        EventType::Deleted => "delete",
    };
    let head = serde_json::json!({
        "rv": event.resource_version,
        "op": op,
        "group": event.collection.0,
        "resource": event.collection.1,
        "namespace": event.namespace,
        "name": event.name,
    })
    .to_string();
    if op == "delete" {
        return Bytes::from(head);
    }
    let mut record = Vec::with_capacity(head.len() + event.object.len() + 16);
    record.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
    record.extend_from_slice(b",\"object\":");
    record.extend_from_slice(&event.object);
    record.push(b'}');
    Bytes::from(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cm_key() -> CollectionKey {
        (String::new(), "configmaps".into())
    }

    #[test]
    fn writes_bump_one_global_counter_and_log_events() {
        let store = Store::new();
        let mut state = store.lock();
        let start = state.resource_version();
        let stored = state.put(&cm_key(), "default", "a", json!({"metadata": {"name": "a"}}));
        assert_eq!(stored["metadata"]["resourceVersion"], (start + 1).to_string());
        state.put(
            &cm_key(),
            "default",
            "a",
            json!({"metadata": {"name": "a", "labels": {"x": "1"}}}),
        );
        state.remove(&cm_key(), "default", "a");
        let events = state.events_since(start).expect("history");
        let types: Vec<_> = events.iter().map(|e| e.event_type).collect();
        assert_eq!(types, vec![EventType::Added, EventType::Modified, EventType::Deleted]);
        assert_eq!(state.resource_version(), start + 3);
    }

    #[test]
    fn resuming_from_compacted_history_is_expired() {
        let store = Store::new();
        let mut state = store.lock();
        let start = state.resource_version();
        for i in 0..HISTORY + 5 {
            state.put(
                &cm_key(),
                "default",
                "a",
                json!({"metadata": {"name": "a", "labels": {"i": i.to_string()}}}),
            );
        }
        assert!(state.events_since(start).is_err());
        let recent = state.resource_version() - 3;
        assert_eq!(state.events_since(recent).map(|e| e.len()), Ok(3));
    }

    #[test]
    fn list_is_scoped_to_a_namespace() {
        let store = Store::new();
        let mut state = store.lock();
        for (ns, name) in [("a", "x"), ("b", "y"), ("ab", "z")] {
            state.put(&cm_key(), ns, name, json!({"metadata": {"name": name}}));
        }
        let names: Vec<_> = state.list(&cm_key(), Some("a")).map(|((_, n), _)| n.clone()).collect();
        assert_eq!(names, vec!["x"]);
        assert_eq!(state.list(&cm_key(), None).count(), 3);
    }
}
