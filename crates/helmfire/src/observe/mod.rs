//! ⑤ What the cluster holds for the selected releases: their Helm release records, read
//! concurrently with one label query per release in its namespace, and the live objects of
//! their recorded manifests ([`live`]).
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
/// `state.releases`, with the store its cluster keeps records in), at most `concurrency`
/// releases at once.
pub async fn histories(
    releases: Vec<(usize, Store)>,
    state: &DesiredState,
    concurrency: usize,
) -> HashMap<usize, Result<History, ReleaseError>> {
    each_release(releases, state, concurrency, |store, namespace, name| async move {
        store.head(&namespace, &name).await.map(|head| History { head })
    })
    .await
}

/// Reads the latest record of each release (helm's `Last`: one decode per release).
pub async fn latest(
    releases: Vec<(usize, Store)>,
    state: &DesiredState,
    concurrency: usize,
) -> HashMap<usize, Result<Option<ReleaseRecord>, ReleaseError>> {
    each_release(releases, state, concurrency, |store, namespace, name| async move {
        store.last(&namespace, &name).await
    })
    .await
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
