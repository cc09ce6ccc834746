//! The per-release `coordination.k8s.io/v1` Lease that keeps two helmfire processes from
//! working on the same release at once, and tells a later run whether a `pending-*` record was
//! left by a process that died (its Lease expired) or belongs to a live one.
//!
//! The Lease is named `helmfire.release.<release>` in the release namespace. Its holder renews
//! it every third of its duration while it works and clears the holder when it is done; a holder
//! that was killed stops renewing, so after `leaseDurationSeconds` the Lease has expired and any
//! other process may take it over.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::PostParams;

use super::{Interrupt, Progress, Step};
use crate::cluster::{Cluster, ClusterError, ObjectRef};

/// How helmfire identifies itself in Leases and how long a Lease lasts without renewal.
#[derive(Clone, Debug)]
pub struct LeaseSettings {
    /// `holderIdentity`: host, process id and a random suffix, unique per process.
    pub holder: String,
    pub duration: Duration,
}

impl Default for LeaseSettings {
    fn default() -> Self {
        let host = std::env::var("HOSTNAME")
            .ok()
            .filter(|h| !h.is_empty())
            .or_else(|| {
                std::fs::read_to_string("/etc/hostname")
                    .ok()
                    .map(|h| h.trim().to_string())
            })
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".to_string());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        LeaseSettings {
            holder: format!("helmfire@{host}/{}-{nanos:08x}", std::process::id()),
            duration: Duration::from_secs(30),
        }
    }
}

/// The Lease's name for a release.
pub fn lease_name(release: &str) -> String {
    format!("helmfire.release.{release}")
}

/// Why the Lease could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error(
        "release `{namespace}/{release}` is locked by another helmfire (`{holder}`, Lease `{lease}` renewed {age_seconds}s ago); waited {waited_seconds}s"
    )]
    Held {
        namespace: String,
        release: String,
        holder: String,
        lease: String,
        age_seconds: u64,
        waited_seconds: u64,
    },
    /// A second interrupt ended the wait for another holder.
    #[error("interrupted while waiting for the lock on release `{namespace}/{release}` held by `{holder}`")]
    Interrupted {
        namespace: String,
        release: String,
        holder: String,
    },
    /// A request on the Lease failed; the error names the Lease (`Lease ns/helmfire.release.x`).
    #[error(transparent)]
    Api(Box<ClusterError>),
}

/// What was found when the Lease was taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Previous {
    /// No Lease existed, or its last holder released it.
    Free,
    /// Another holder's Lease had expired: that process died while holding it.
    Expired { holder: String },
}

enum Attempt {
    Taken(Previous),
    Held { holder: String, age: u64 },
}

/// A held Lease. It is renewed in the background until [`LeaseGuard::release`] (or drop, which
/// stops renewing without clearing the holder, so the Lease simply expires).
pub struct LeaseGuard {
    api: Api<Lease>,
    cluster: Cluster,
    name: String,
    namespace: String,
    holder: String,
    /// What the Lease looked like when taken.
    pub previous: Previous,
    renewer: tokio::task::JoinHandle<()>,
}

impl Drop for LeaseGuard {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

fn now() -> Timestamp {
    Timestamp::now()
}

fn is_transient(error: &kube::Error) -> bool {
    crate::cluster::is_transient(error)
}

fn is_conflict(error: &kube::Error) -> bool {
    matches!(error, kube::Error::Api(s) if s.code == 409)
}

/// Whether `spec` is held by someone other than `holder` and not yet expired; with the age of
/// its last renewal.
fn held_by_other(spec: &LeaseSpec, holder: &str) -> Option<(String, u64)> {
    let other = spec
        .holder_identity
        .as_deref()
        .filter(|h| !h.is_empty() && *h != holder)?;
    let renewed = spec.renew_time.as_ref().map(|t| t.0).unwrap_or(Timestamp::UNIX_EPOCH);
    let duration = i64::from(spec.lease_duration_seconds.unwrap_or(0));
    let age = now().as_second() - renewed.as_second();
    if age < duration {
        Some((other.to_string(), age.max(0) as u64))
    } else {
        None
    }
}

fn spec_for(holder: &str, duration: Duration, previous: Option<&LeaseSpec>) -> LeaseSpec {
    let transitions = previous.and_then(|p| p.lease_transitions).unwrap_or(0);
    LeaseSpec {
        holder_identity: Some(holder.to_string()),
        lease_duration_seconds: Some(duration.as_secs().max(1) as i32),
        acquire_time: Some(MicroTime(now())),
        renew_time: Some(MicroTime(now())),
        lease_transitions: Some(transitions + 1),
        ..LeaseSpec::default()
    }
}

/// Takes the release's Lease, waiting up to `timeout` (or until `interrupt` aborts) for
/// another live holder to let go.
pub async fn acquire(
    cluster: &Cluster,
    namespace: &str,
    release: &str,
    settings: &LeaseSettings,
    timeout: Duration,
    progress: &dyn Progress,
    interrupt: &Interrupt,
) -> Result<LeaseGuard, LeaseError> {
    let api: Api<Lease> = Api::namespaced(cluster.client().clone(), namespace);
    let name = lease_name(release);
    let subject = subject(namespace, &name);
    let api_error = |source| LeaseError::Api(Box::new(ClusterError::request("take", &subject, source)));
    let started = tokio::time::Instant::now();
    let mut attempt = 0u32;
    let mut reported_wait = false;
    loop {
        let outcome: Result<Attempt, kube::Error> = async {
            match cluster.once("get", &subject, || api.get_opt(&name)).await? {
                None => {
                    let lease = Lease {
                        metadata: ObjectMeta {
                            name: Some(name.clone()),
                            namespace: Some(namespace.to_string()),
                            labels: Some([("app.kubernetes.io/managed-by".to_string(), "helmfire".to_string())].into()),
                            ..ObjectMeta::default()
                        },
                        spec: Some(spec_for(&settings.holder, settings.duration, None)),
                    };
                    let params = PostParams::default();
                    cluster.once("create", &subject, || api.create(&params, &lease)).await?;
                    Ok(Attempt::Taken(Previous::Free))
                }
                Some(mut lease) => {
                    let spec = lease.spec.clone().unwrap_or_default();
                    if let Some((holder, age)) = held_by_other(&spec, &settings.holder) {
                        return Ok(Attempt::Held { holder, age });
                    }
                    let previous = match spec.holder_identity.as_deref() {
                        Some(h) if !h.is_empty() && h != settings.holder => Previous::Expired { holder: h.to_string() },
                        _ => Previous::Free,
                    };
                    lease.spec = Some(spec_for(&settings.holder, settings.duration, Some(&spec)));
                    // replace carries the resourceVersion: a racing taker gets 409 and retries.
                    let params = PostParams::default();
                    cluster
                        .once("replace", &subject, || api.replace(&name, &params, &lease))
                        .await?;
                    Ok(Attempt::Taken(previous))
                }
            }
        }
        .await;
        match outcome {
            Ok(Attempt::Taken(previous)) => {
                let renewer = tokio::spawn(renew(
                    cluster.clone(),
                    api.clone(),
                    name.clone(),
                    settings.holder.clone(),
                    settings.duration,
                ));
                return Ok(LeaseGuard {
                    api,
                    cluster: cluster.clone(),
                    name,
                    namespace: namespace.to_string(),
                    holder: settings.holder.clone(),
                    previous,
                    renewer,
                });
            }
            Ok(Attempt::Held { holder, age }) => {
                if !reported_wait {
                    progress.step(release, &Step::WaitingForLease { holder: holder.clone() });
                    reported_wait = true;
                }
                if started.elapsed() >= timeout {
                    return Err(LeaseError::Held {
                        namespace: namespace.to_string(),
                        release: release.to_string(),
                        holder,
                        lease: name,
                        age_seconds: age,
                        waited_seconds: started.elapsed().as_secs(),
                    });
                }
                if interrupt.sleep(Duration::from_millis(250)).await {
                    return Err(LeaseError::Interrupted {
                        namespace: namespace.to_string(),
                        release: release.to_string(),
                        holder,
                    });
                }
                continue;
            }
            Err(e) if is_conflict(&e) || is_transient(&e) => {
                attempt += 1;
                if attempt > 20 {
                    return Err(api_error(e));
                }
                tokio::time::sleep(backoff(attempt)).await;
            }
            Err(e) => return Err(api_error(e)),
        }
    }
}

fn backoff(attempt: u32) -> Duration {
    Duration::from_millis((25u64 << attempt.min(5)).min(800))
}

/// What Lease requests are about, for errors and retries: `Lease apps/helmfire.release.web`.
fn subject(namespace: &str, name: &str) -> ObjectRef {
    ObjectRef::new("coordination.k8s.io/v1", "Lease", Some(namespace), name)
}

async fn renew(cluster: Cluster, api: Api<Lease>, name: String, holder: String, duration: Duration) {
    let every = (duration / 3).max(Duration::from_millis(100));
    let subject = subject(api.namespace().unwrap_or_default(), &name);
    let params = PostParams::default();
    loop {
        tokio::time::sleep(every).await;
        // A failed renewal is retried at the next tick; three misses in a row let it expire.
        let Ok(Some(mut lease)) = cluster.once("get", &subject, || api.get_opt(&name)).await else {
            continue;
        };
        let Some(spec) = lease.spec.as_mut() else {
            continue;
        };
        if spec.holder_identity.as_deref() != Some(holder.as_str()) {
            return;
        }
        spec.renew_time = Some(MicroTime(now()));
        let _ = cluster
            .once("replace", &subject, || api.replace(&name, &params, &lease))
            .await;
    }
}

impl LeaseGuard {
    /// Stops renewing and clears the holder so the next process need not wait for expiry.
    pub async fn release(self) -> Result<(), LeaseError> {
        self.release_inner().await
    }

    async fn release_inner(&self) -> Result<(), LeaseError> {
        self.renewer.abort();
        let subject = subject(&self.namespace, &self.name);
        let params = PostParams::default();
        let mut attempt = 0;
        loop {
            let result: Result<(), kube::Error> = async {
                let Some(mut lease) = self
                    .cluster
                    .once("get", &subject, || self.api.get_opt(&self.name))
                    .await?
                else {
                    return Ok(());
                };
                let Some(spec) = lease.spec.as_mut() else {
                    return Ok(());
                };
                if spec.holder_identity.as_deref() != Some(self.holder.as_str()) {
                    return Ok(());
                }
                spec.holder_identity = None;
                spec.renew_time = Some(MicroTime(now()));
                self.cluster
                    .once("replace", &subject, || self.api.replace(&self.name, &params, &lease))
                    .await?;
                Ok(())
            }
            .await;
            match result {
                Ok(()) => return Ok(()),
                Err(e) if (is_conflict(&e) || is_transient(&e)) && attempt < 20 => {
                    attempt += 1;
                    tokio::time::sleep(backoff(attempt)).await;
                }
                Err(source) => {
                    return Err(LeaseError::Api(Box::new(ClusterError::request(
                        "release", &subject, source,
                    ))));
                }
            }
        }
    }

    /// Stops renewing and deletes the Lease (the release is gone): only while this process
    /// still holds it, and only that very object (a `resourceVersion` precondition), so a Lease
    /// another process took meanwhile stays. Falls back to releasing it.
    pub async fn delete(self) -> Result<(), LeaseError> {
        self.renewer.abort();
        let subject = subject(&self.namespace, &self.name);
        let deleted: Result<bool, kube::Error> = async {
            let Some(lease) = self
                .cluster
                .once("get", &subject, || self.api.get_opt(&self.name))
                .await?
            else {
                return Ok(true);
            };
            let ours = lease.spec.as_ref().and_then(|s| s.holder_identity.as_deref()) == Some(self.holder.as_str());
            if !ours {
                return Ok(true);
            }
            let params = kube::api::DeleteParams {
                preconditions: Some(kube::api::Preconditions {
                    resource_version: lease.metadata.resource_version.clone(),
                    uid: lease.metadata.uid.clone(),
                }),
                ..kube::api::DeleteParams::default()
            };
            match self
                .cluster
                .once("delete", &subject, || self.api.delete(&self.name, &params))
                .await
            {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(status)) if status.code == 404 => Ok(true),
                Err(kube::Error::Api(status)) if status.code == 409 => Ok(false),
                Err(error) => Err(error),
            }
        }
        .await;
        match deleted {
            Ok(true) => Ok(()),
            // Changed meanwhile (a renewal raced the delete), or the delete failed: let go of it
            // the usual way.
            _ => self.release_inner().await,
        }
    }

    /// Whether the last holder died holding the Lease.
    pub fn expired_holder(&self) -> Option<&str> {
        match &self.previous {
            Previous::Expired { holder } => Some(holder),
            Previous::Free => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_follows_renew_time_and_duration() {
        let mut spec = LeaseSpec {
            holder_identity: Some("other".into()),
            lease_duration_seconds: Some(30),
            renew_time: Some(MicroTime(now())),
            ..LeaseSpec::default()
        };
        assert_eq!(held_by_other(&spec, "me").map(|h| h.0), Some("other".to_string()));
        assert_eq!(held_by_other(&spec, "other"), None);
        spec.renew_time = Some(MicroTime(Timestamp::from_second(now().as_second() - 31).unwrap()));
        assert_eq!(held_by_other(&spec, "me"), None);
        spec.holder_identity = None;
        spec.renew_time = Some(MicroTime(now()));
        assert_eq!(held_by_other(&spec, "me"), None);
    }

    #[test]
    fn lease_names_and_default_holders() {
        assert_eq!(lease_name("web"), "helmfire.release.web");
        let settings = LeaseSettings::default();
        assert!(settings.holder.starts_with("helmfire@"));
        assert!(settings.holder.contains(&std::process::id().to_string()));
    }
}
