//! ④ What the cluster holds for the selected releases: their Helm release records, read
//! concurrently with one label query per release in its namespace, or with one query for all of
//! them where the driver can (`sql`). Live objects join here with drift detection.
//!
//! It only reads: it never renders, plans or writes.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::ReleaseError;
use crate::state::DesiredState;
use crate::storage::{ReleaseRecord, Status, StorageError, Store};

/// The stored revisions of one release, oldest first.
#[derive(Clone, Debug, Default)]
pub struct History {
    pub records: Vec<ReleaseRecord>,
}

impl History {
    /// The highest revision, whatever its status.
    pub fn last(&self) -> Option<&ReleaseRecord> {
        self.records.iter().max_by_key(|record| record.version)
    }

    /// The highest `deployed` revision.
    pub fn deployed(&self) -> Option<&ReleaseRecord> {
        self.records
            .iter()
            .filter(|record| record.info.status == Status::Deployed)
            .max_by_key(|record| record.version)
    }

    /// Whether the release exists: it has records and the latest is not `uninstalled`.
    pub fn present(&self) -> bool {
        self.last()
            .is_some_and(|record| record.info.status != Status::Uninstalled)
    }
}

/// Reads the histories of `releases` (indices into `state.releases`): with one query when the
/// driver answers many releases at once, otherwise one query per release, at most
/// `concurrency` at once. A failed batch falls back to per-release reads, so each release gets
/// its own answer (and its own error).
pub async fn histories(
    store: &Store,
    state: &DesiredState,
    releases: &[usize],
    concurrency: usize,
) -> HashMap<usize, Result<History, ReleaseError>> {
    let ids: Vec<(String, String)> = releases
        .iter()
        .map(|&index| {
            let id = &state.releases[index].id;
            (id.namespace.to_string(), id.name.to_string())
        })
        .collect();
    if let Some(Ok(mut batch)) = store.histories(&ids).await {
        return releases
            .iter()
            .zip(ids)
            .map(|(&index, id)| {
                let release = state.releases[index].id.to_string();
                let history = batch
                    .remove(&id)
                    .unwrap_or_else(|| Ok(Vec::new()))
                    .map(|records| History { records })
                    .map_err(|source| ReleaseError::Records { release, source });
                (index, history)
            })
            .collect();
    }
    each_release(
        store,
        state,
        releases,
        concurrency,
        |store, namespace, name| async move {
            store
                .history(&namespace, &name)
                .await
                .map(|records| History { records })
        },
    )
    .await
}

/// Reads the latest record of each of `releases` (helm's `Last`: one decode per release).
pub async fn latest(
    store: &Store,
    state: &DesiredState,
    releases: &[usize],
    concurrency: usize,
) -> HashMap<usize, Result<Option<ReleaseRecord>, ReleaseError>> {
    each_release(
        store,
        state,
        releases,
        concurrency,
        |store, namespace, name| async move { store.last(&namespace, &name).await },
    )
    .await
}

/// Runs one storage read per release, `concurrency` at once; every release gets an answer.
async fn each_release<T, F, Fut>(
    store: &Store,
    state: &DesiredState,
    releases: &[usize],
    concurrency: usize,
    read: F,
) -> HashMap<usize, Result<T, ReleaseError>>
where
    T: Send + 'static,
    F: Fn(Store, String, String) -> Fut,
    Fut: Future<Output = Result<T, StorageError>> + Send + 'static,
{
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for &index in releases {
        let id = &state.releases[index].id;
        let release = id.to_string();
        let reading = read(store.clone(), id.namespace.to_string(), id.name.to_string());
        let semaphore = semaphore.clone();
        set.spawn(async move {
            let _permit = semaphore.acquire().await;
            let result = reading
                .await
                .map_err(|source| ReleaseError::Records { release, source });
            (index, result)
        });
    }
    let mut out = HashMap::new();
    while let Some(joined) = set.join_next().await {
        if let Ok((index, result)) = joined {
            out.insert(index, result);
        }
    }
    // A read task that panicked left its release unanswered: say so rather than guess.
    for &index in releases {
        out.entry(index).or_insert_with(|| {
            Err(ReleaseError::Internal {
                release: state.releases[index].id.to_string(),
                message: "reading its records failed unexpectedly".to_string(),
            })
        });
    }
    out
}
