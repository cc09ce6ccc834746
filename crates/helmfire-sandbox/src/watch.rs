//! Watch streams: newline-delimited JSON events, resume from a resourceVersion through the event
//! log (410 Expired when too old), selector transitions, bookmarks, `timeoutSeconds`, and
//! WatchList (`sendInitialEvents`) ending its initial burst with the
//! `k8s.io/initial-events-end` bookmark. Produces lines; the transport frames them.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::json;
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;

use super::api::collection_key;
use super::resources::ResourceType;
use super::selector::{FieldSelector, LabelSelector};
use super::status::ApiError;
use super::store::{Event, EventType, Store};

/// A validated watch request.
#[derive(Debug, Clone)]
pub struct WatchRequest {
    /// Watched resource.
    pub resource: Arc<ResourceType>,
    /// Namespace, or all.
    pub namespace: Option<String>,
    /// Label selector.
    pub labels: LabelSelector,
    /// Field selector.
    pub fields: FieldSelector,
    /// Resume point (None: start from the current state).
    pub resource_version: Option<u64>,
    /// Send the current objects as ADDED first.
    pub send_initial_events: bool,
    /// End the initial events with the WatchList bookmark.
    pub initial_events_end: bool,
    /// Periodic bookmarks allowed.
    pub bookmarks: bool,
    /// Close the stream cleanly after this long.
    pub timeout: Duration,
}

const BOOKMARK_EVERY: Duration = Duration::from_secs(60);

fn line(event_type: &str, object: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(object.len() + 32);
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(event_type.as_bytes());
    out.extend_from_slice(b"\",\"object\":");
    out.extend_from_slice(object);
    out.extend_from_slice(b"}\n");
    Bytes::from(out)
}

fn bookmark(resource: &ResourceType, rv: u64, end_of_initial: bool) -> Bytes {
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if end_of_initial {
        metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    let object = json!({"kind": resource.kind, "apiVersion": resource.api_version(), "metadata": metadata});
    line("BOOKMARK", &serde_json::to_vec(&object).unwrap_or_default())
}

struct Filter {
    request: WatchRequest,
}

impl Filter {
    fn selects(&self, namespace: &str, name: &str, labels: &[(String, String)], object: &[u8]) -> bool {
        if let Some(ns) = &self.request.namespace
            && ns != namespace
        {
            return false;
        }
        if !self.request.labels.matches(labels) {
            return false;
        }
        let fields = &self.request.fields;
        if fields.is_empty() {
            return true;
        }
        if fields.is_metadata_only() {
            return fields.matches_meta(namespace, name);
        }
        serde_json::from_slice(object).is_ok_and(|v| fields.matches(&v))
    }

    /// The event to send for a change, if any (selector transitions become ADDED/DELETED).
    fn translate(&self, event: &Event) -> Option<Bytes> {
        let now = self.selects(&event.namespace, &event.name, &event.labels, &event.object);
        let before = match &event.previous_labels {
            Some(labels) => self.selects(&event.namespace, &event.name, labels, &event.object),
            None => false,
        };
        let kind = match (event.event_type, before, now) {
            (EventType::Deleted, _, true) => EventType::Deleted,
            (EventType::Added, _, true) => EventType::Added,
            (EventType::Modified, true, true) => EventType::Modified,
            (EventType::Modified, false, true) => EventType::Added,
            (EventType::Modified, true, false) => EventType::Deleted,
            _ => return None,
        };
        Some(line(kind.as_str(), &event.object))
    }
}

/// Opens a watch: returns the receiving end of its line stream. `cut_after` ends the stream
/// abruptly (fault injection).
pub fn start(
    store: &Arc<Store>,
    request: WatchRequest,
    cut_after: Option<Duration>,
) -> Result<mpsc::Receiver<Bytes>, ApiError> {
    let key = collection_key(&request.resource);
    let filter = Filter { request };
    let mut initial: Vec<Bytes> = Vec::new();
    let (mut live, start_rv) = {
        let state = store.lock();
        let live = state.subscribe();
        let rv = state.resource_version();
        match filter.request.resource_version {
            Some(from) if !filter.request.send_initial_events => match state.events_since(from) {
                Ok(events) => {
                    initial.extend(
                        events
                            .iter()
                            .filter(|e| e.collection == key)
                            .filter_map(|e| filter.translate(e)),
                    );
                }
                Err(oldest) => {
                    let status = ApiError::expired(from, oldest).to_status();
                    initial.push(line("ERROR", &serde_json::to_vec(&status).unwrap_or_default()));
                    let (tx, rx) = mpsc::channel(1);
                    let _ = tx.try_send(initial.remove(0));
                    return Ok(rx);
                }
            },
            _ => {
                for ((ns, name), entry) in state.list(&key, filter.request.namespace.as_deref()) {
                    if filter.selects(ns, name, &entry.labels, &entry.json) {
                        initial.push(line("ADDED", &entry.json));
                    }
                }
            }
        }
        (live, rv)
    };
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    tokio::spawn(async move {
        let request = &filter.request;
        for l in initial {
            if tx.send(l).await.is_err() {
                return;
            }
        }
        if request.initial_events_end && tx.send(bookmark(&request.resource, start_rv, true)).await.is_err() {
            return;
        }
        let deadline = Instant::now() + request.timeout;
        let cut = cut_after.map(|d| Instant::now() + d);
        let mut last_rv = start_rv;
        let mut next_bookmark = Instant::now() + BOOKMARK_EVERY;
        loop {
            let stop_at = match cut {
                Some(c) if c < deadline => c,
                _ => deadline,
            };
            tokio::select! {
                received = live.recv() => match received {
                    Ok(event) => {
                        if event.collection != key || event.resource_version <= start_rv {
                            continue;
                        }
                        last_rv = event.resource_version;
                        if let Some(l) = filter.translate(&event)
                            && tx.send(l).await.is_err()
                        {
                            return;
                        }
                    }
                    // A lagging or closed subscription ends the stream; clients re-watch from
                    // their last resourceVersion and the event log fills the gap.
                    Err(broadcast::error::RecvError::Lagged(_)) | Err(broadcast::error::RecvError::Closed) => return,
                },
                _ = tokio::time::sleep_until(stop_at) => return,
                _ = tokio::time::sleep_until(next_bookmark), if request.bookmarks => {
                    next_bookmark = Instant::now() + BOOKMARK_EVERY;
                    if tx.send(bookmark(&request.resource, last_rv, false)).await.is_err() {
                        return;
                    }
                }
                _ = tx.closed() => return,
            }
        }
    });
    Ok(rx)
}
