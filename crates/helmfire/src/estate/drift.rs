//! Drift detection without rendering: over the state file's releases ([`drift`]) or every
//! release the store can see ([`drift_everywhere`]), and the Events that report it.

use std::collections::HashMap;
use std::sync::Arc;

use crate::error::ReleaseError;
use crate::observe;
use crate::plan::drift::{self, IgnoreRule, ReleaseDrift};
use crate::storage::Driver;
use crate::storage::ReleaseRecord;

use super::plan::{join_drifts, spawn_drifts};
use super::{Estate, Target, Targets};

/// The drift verdict of one release.
#[derive(Debug)]
pub struct DriftVerdict {
    /// Index into `state.releases`; `None` for releases found in the cluster (`--all`).
    pub index: Option<usize>,
    /// `namespace/name`.
    pub id: String,
    /// The drift against the deployed revision; `Ok(None)` when nothing is deployed.
    pub result: Result<Option<ReleaseDrift>, Arc<ReleaseError>>,
}

/// `helmfire drift`: every selected release that is to stay installed, its deployed revision
/// compared with the live cluster. No chart is rendered and no chart source is needed.
pub async fn drift(targets: &Targets, estate: &Estate, concurrency: usize) -> Vec<DriftVerdict> {
    let installed = estate.installed();
    let (stores, unreachable) = targets.stores(estate, &installed);
    let mut records = observe::each_release(
        stores,
        &estate.state,
        concurrency,
        |store, namespace, name| async move { store.deployed(&namespace, &name).await },
    )
    .await;
    let mut reads: Vec<(usize, ReleaseRecord, Vec<IgnoreRule>)> = Vec::new();
    let mut verdicts: HashMap<usize, Result<Option<ReleaseDrift>, Arc<ReleaseError>>> = unreachable
        .into_iter()
        .map(|(index, error)| (index, Err(Arc::new(error))))
        .collect();
    for &index in &installed {
        match records.remove(&index) {
            Some(Ok(Some(record))) => {
                reads.push((index, record, estate.release(index).ignore_differences.clone()));
            }
            Some(Ok(None)) => {
                verdicts.insert(index, Ok(None));
            }
            Some(Err(error)) => {
                verdicts.insert(index, Err(Arc::new(error)));
            }
            None => {}
        }
    }
    let mut set = tokio::task::JoinSet::new();
    for (context, target) in targets.opened() {
        let (here, elsewhere): (Vec<_>, Vec<_>) = reads
            .into_iter()
            .partition(|(index, ..)| targets.serves(context, estate.release(*index)));
        reads = elsewhere;
        spawn_drifts(&mut set, &target.cluster, here);
    }
    for (index, result) in join_drifts(set).await {
        let release = estate.release(index);
        let labelled = result.map(|drift| Some(drift.labelled(release.id.to_string(), release.kube_context.clone())));
        verdicts.insert(index, labelled.map_err(Arc::new));
    }
    installed
        .into_iter()
        .map(|index| DriftVerdict {
            index: Some(index),
            id: estate.release(index).id.to_string(),
            result: verdicts.remove(&index).unwrap_or_else(|| {
                Err(Arc::new(ReleaseError::Internal {
                    release: estate.release(index).id.to_string(),
                    message: "its drift could not be determined".to_string(),
                }))
            }),
        })
        .collect()
}

/// `helmfire drift --all`: every helm release the store can see in any namespace (plain helm's
/// too), its deployed revision compared with the live cluster, sorted by namespace and name.
pub async fn drift_everywhere(target: &Target) -> Result<Vec<DriftVerdict>, ReleaseError> {
    let records = target
        .store
        .deployed_everywhere()
        .await
        .map_err(|source| ReleaseError::Records {
            release: "(every release)".to_string(),
            source,
        })?;
    let ids: Vec<String> = records
        .iter()
        .map(|record| format!("{}/{}", record.namespace, record.name))
        .collect();
    let reads = records
        .into_iter()
        .enumerate()
        .map(|(position, record)| (position, record, Vec::new()))
        .collect();
    let mut set = tokio::task::JoinSet::new();
    spawn_drifts(&mut set, &target.cluster, reads);
    let mut results = join_drifts(set).await;
    Ok(ids
        .into_iter()
        .enumerate()
        .map(|(position, id)| DriftVerdict {
            index: None,
            result: results
                .remove(&position)
                .map(|result| result.map(Some).map_err(Arc::new))
                .unwrap_or_else(|| {
                    Err(Arc::new(ReleaseError::Internal {
                        release: id.clone(),
                        message: "its drift could not be determined".to_string(),
                    }))
                }),
            id,
        })
        .collect())
}

/// Records a Kubernetes Event (type `Warning`, reason `DriftDetected`) for each drifted
/// release, on its deployed release record (the Secret or ConfigMap `sh.helm.release.v1.NAME.vN`
/// in its namespace), so the cluster's alerting sees it: `kubectl events --for
/// secret/sh.helm.release.v1.NAME.vN`. Secret values never appear in the message.
pub async fn record_drift_events(drifts: &[(&Target, &ReleaseDrift)]) -> Vec<Result<(), ReleaseError>> {
    let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "helmfire".to_string());
    let mut out = Vec::new();
    for (target, drift) in drifts {
        let kind = match target.store.driver() {
            Driver::ConfigMap => "ConfigMap",
            _ => "Secret",
        };
        let record = crate::storage::record_key(&drift.name, drift.revision);
        let now = helmfire_value::time::rfc3339_utc(helmfire_value::time::unix_now());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos());
        let event = serde_json::json!({
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": format!("{record}.{nanos:x}"), "namespace": drift.namespace},
            "involvedObject": {"apiVersion": "v1", "kind": kind, "namespace": drift.namespace, "name": record},
            "reason": "DriftDetected",
            "type": "Warning",
            "message": drift_event_message(drift),
            "source": {"component": "helmfire", "host": host},
            "reportingComponent": "helmfire",
            "reportingInstance": host,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
        });
        out.push(
            target
                .cluster
                .create(&event)
                .await
                .map(drop)
                .map_err(|source| ReleaseError::Events {
                    release: drift.id().to_string(),
                    source: Box::new(source),
                }),
        );
    }
    out
}

/// `Release team/web (revision 3) drifted: Deployment/web spec.replicas; Service/web deleted`,
/// at most 1,024 bytes (what `events.k8s.io` allows), values left out.
fn drift_event_message(drift: &ReleaseDrift) -> String {
    let mut parts = Vec::new();
    for object in &drift.objects {
        match object.state {
            drift::ObjectState::Missing => parts.push(format!("{}/{} deleted", object.kind, object.name)),
            drift::ObjectState::Modified => {
                let fields: Vec<&str> = object.fields.iter().map(|field| field.path.as_str()).collect();
                parts.push(format!("{}/{} {}", object.kind, object.name, fields.join(", ")));
            }
        }
    }
    let mut message = format!("Release {} (revision {}) drifted: ", drift.id(), drift.revision);
    for (position, part) in parts.iter().enumerate() {
        let separator = if position == 0 { "" } else { "; " };
        let more = format!("; +{} more", parts.len() - position);
        if message.len() + separator.len() + part.len() + more.len() > 1024 {
            message.push_str(&more);
            break;
        }
        message.push_str(separator);
        message.push_str(part);
    }
    message
}
