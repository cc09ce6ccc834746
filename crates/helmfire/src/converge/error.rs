//! Errors of the release actions. Each names the release (`namespace/name`); causes are chained
//! through `#[source]` only.

use std::fmt::Write as _;

use super::lease::LeaseError;
use crate::cluster::ClusterError;
use crate::manifest::ObjectError;
use crate::storage::StorageError;

/// Why an action failed.
#[derive(Debug, thiserror::Error)]
pub enum ConvergeError {
    #[error("cannot lock release `{release}`")]
    Lease {
        release: String,
        #[source]
        source: Box<LeaseError>,
    },
    #[error("cannot read or write the records of release `{release}`")]
    Storage {
        release: String,
        #[source]
        source: Box<StorageError>,
    },
    #[error("cluster request for release `{release}` failed")]
    Cluster {
        release: String,
        #[source]
        source: Box<ClusterError>,
    },
    #[error("the manifest of release `{release}` is invalid")]
    Manifest {
        release: String,
        #[source]
        source: Box<ObjectError>,
    },
    /// helm's `cannot reuse a name that is still in use`.
    #[error(
        "cannot install release `{release}`: cannot reuse a name that is still in use (revision {revision} is {status})"
    )]
    NameInUse {
        release: String,
        revision: i32,
        status: String,
    },
    /// helm's `errPending`, for a pending record no helmfire Lease vouches for.
    #[error(
        "release `{release}`: another operation (install/upgrade/rollback) is in progress (revision {revision} is {status}, and no expired helmfire Lease shows that its process died; if no helm or helmfire is working on it, run `helmfire rollback {name}`)"
    )]
    Pending {
        release: String,
        name: String,
        revision: i32,
        status: String,
    },
    /// A bug: the action panicked. Its pending revision was marked failed and its Lease released.
    #[error("release `{release}`: helmfire failed unexpectedly ({message}); the release was marked failed")]
    Panicked { release: String, message: String },
    #[error("cannot read the live objects of release `{release}`")]
    Observe {
        release: String,
        #[source]
        source: Box<crate::observe::live::ObserveError>,
    },
    #[error("release `{release}` has no deployed releases")]
    NoDeployedReleases { release: String },
    #[error("release `{release}` not found")]
    NotFound { release: String },
    #[error("release `{release}` has no revision {revision}")]
    RevisionNotFound { release: String, revision: i32 },
    #[error("release `{release}` has no previous revision to roll back to")]
    NoPreviousRevision { release: String },
    #[error("`{object}` exists and cannot be imported into release `{release}`: invalid ownership metadata; {reason}")]
    Ownership {
        release: String,
        object: String,
        reason: String,
    },
    #[error("{event} hook `{path}` of release `{release}` failed: {reason}")]
    Hook {
        release: String,
        event: String,
        path: String,
        reason: String,
    },
    #[error("{event} hook `{path}` of release `{release}` could not be run")]
    HookRequest {
        release: String,
        event: String,
        path: String,
        #[source]
        source: Box<ConvergeError>,
    },
    #[error("timed out after {seconds}s waiting for release `{release}`: {}", list(unready))]
    WaitTimeout {
        release: String,
        seconds: u64,
        /// `(resource, why it is not ready)`.
        unready: Vec<(String, String)>,
    },
    /// A second interrupt cut a wait short (the action records it as its failure).
    #[error("interrupted while {waiting} for release `{release}`")]
    Interrupted { release: String, waiting: &'static str },
    #[error("resources of release `{release}` failed: {}", list(failed))]
    ResourcesFailed {
        release: String,
        failed: Vec<(String, String)>,
    },
    /// An action failed and the release was recorded as failed.
    #[error("{action} of release `{release}` failed")]
    Failed {
        release: String,
        action: &'static str,
        #[source]
        source: Box<ConvergeError>,
    },
    /// `atomic`: the failed action was undone.
    #[error("{action} of release `{release}` failed, and the release was {undone} (atomic)")]
    Undone {
        release: String,
        action: &'static str,
        undone: &'static str,
        #[source]
        source: Box<ConvergeError>,
    },
    /// `atomic`: undoing the failed action failed too.
    #[error("{action} of release `{release}` failed, and undoing it failed too: {}", crate::error::Chain(undo_error.as_ref()))]
    UndoFailed {
        release: String,
        action: &'static str,
        undo_error: Box<ConvergeError>,
        #[source]
        source: Box<ConvergeError>,
    },
}

fn list(items: &[(String, String)]) -> String {
    let mut out = String::new();
    for (i, (resource, why)) in items.iter().enumerate() {
        if i > 0 {
            out.push_str("; ");
        }
        let _ = write!(out, "{resource} ({why})");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_timeouts_name_every_unready_resource() {
        let err = ConvergeError::WaitTimeout {
            release: "apps/web".into(),
            seconds: 3,
            unready: vec![
                ("Deployment/apps/web".into(), "ready replicas: 0 of 2".into()),
                (
                    "PersistentVolumeClaim/apps/data".into(),
                    "claim phase is Pending".into(),
                ),
            ],
        };
        assert_eq!(
            err.to_string(),
            "timed out after 3s waiting for release `apps/web`: Deployment/apps/web (ready replicas: 0 of 2); PersistentVolumeClaim/apps/data (claim phase is Pending)"
        );
    }

    #[test]
    fn chains_join_causes() {
        let inner = ConvergeError::NotFound { release: "a/b".into() };
        let outer = ConvergeError::Failed {
            release: "a/b".into(),
            action: "upgrade",
            source: Box::new(inner),
        };
        assert_eq!(
            crate::error::Chain(&outer).to_string(),
            "upgrade of release `a/b` failed: release `a/b` not found"
        );
    }
}
