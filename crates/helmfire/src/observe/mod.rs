//! ⑤ What the cluster holds for the selected releases: their Helm release records, read
//! concurrently with one label query per release in its namespace, or with one query for all of
//! a store's releases where the driver can (`sql`), and the live objects of their recorded
//! manifests ([`live`]).
//!
//! It only reads (a server-side dry-run writes nothing): it never renders, plans or changes the
//! cluster.

pub mod live;

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::ReleaseError;
use crate::state::DesiredState;
use crate::storage::{Head, ReleaseRecord, Status, StorageError, Store};

/// What planning needs of a release's records: its latest revision and its latest deployed one.
#[derive(Clone, Debug, Default)]
pub struct History {
    head: Head,
}

impl History {
    /// The highest revision, whatever its status.
    pub fn last(&self) -> Option<&ReleaseRecord> {
        self.head.last.as_ref()
    }

    /// The highest `deployed` revision.
    pub fn deployed(&self) -> Option<&ReleaseRecord> {
        self.head.deployed.as_ref()
    }

    /// Whether the release exists: it has records and the latest is not `uninstalled`.
    pub fn present(&self) -> bool {
        self.last()
            .is_some_and(|record| record.info.status != Status::Uninstalled)
    }
}

/// Reads the latest and the latest deployed revision of each release (index into
/// `state.releases`, with the store its cluster keeps records in): with one query per store
/// when its driver answers many releases at once, otherwise one query per release, at most
/// `concurrency` at once. A failed batch falls back to per-release reads, so each release gets
/// its own answer (and its own error).
pub async fn histories(
    releases: Vec<(usize, Store)>,
    state: &DesiredState,
    concurrency: usize,
) -> HashMap<usize, Result<History, ReleaseError>> {
    let mut out = HashMap::new();
    let mut singles = Vec::new();
    for (store, group) in by_store(releases) {
        let ids: Vec<(String, String)> = group
            .iter()
            .map(|&index| {
                let id = &state.releases[index].id;
                (id.namespace.to_string(), id.name.to_string())
            })
            .collect();
        match store.heads(&ids).await {
            Some(Ok(mut heads)) => {
                for (&index, id) in group.iter().zip(ids) {
                    let release = state.releases[index].id.to_string();
                    let history = heads
                        .remove(&id)
                        .unwrap_or_else(|| Ok(Head::default()))
                        .map(|head| History { head })
                        .map_err(|source| ReleaseError::Records { release, source });
                    out.insert(index, history);
                }
            }
            _ => singles.extend(group.into_iter().map(|index| (index, store.clone()))),
        }
    }
    out.extend(
        each_release(singles, state, concurrency, |store, namespace, name| async move {
            store.head(&namespace, &name).await.map(|head| History { head })
        })
        .await,
    );
    out
}

/// The releases grouped by the store they are read from (one per cluster, or a shared one).
fn by_store(releases: Vec<(usize, Store)>) -> Vec<(Store, Vec<usize>)> {
    let mut groups: Vec<(Store, Vec<usize>)> = Vec::new();
    for (index, store) in releases {
        match groups.iter_mut().find(|(known, _)| known.same_as(&store)) {
            Some((_, group)) => group.push(index),
            None => groups.push((store, vec![index])),
        }
    }
    groups
}

/// Reads the latest record of each release (helm's `Last`), the way [`histories`] reads: one
/// query per store where its driver batches (sql), else one per release.
pub async fn latest(
    releases: Vec<(usize, Store)>,
    state: &DesiredState,
    concurrency: usize,
) -> HashMap<usize, Result<Option<ReleaseRecord>, ReleaseError>> {
    histories(releases, state, concurrency)
        .await
        .into_iter()
        .map(|(index, history)| (index, history.map(|history| history.head.last)))
        .collect()
}

/// Runs one storage read per release, `concurrency` at once; every release gets an answer.
pub(crate) async fn each_release<T, F, Fut>(
    releases: Vec<(usize, Store)>,
    state: &DesiredState,
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
    let indices: Vec<usize> = releases.iter().map(|(index, _)| *index).collect();
    for (index, store) in releases {
        let id = &state.releases[index].id;
        let release = id.to_string();
        let reading = read(store, id.namespace.to_string(), id.name.to_string());
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
    for index in indices {
        out.entry(index).or_insert_with(|| {
            Err(ReleaseError::Internal {
                release: state.releases[index].id.to_string(),
                message: "reading its records failed unexpectedly".to_string(),
            })
        });
    }
    out
}
