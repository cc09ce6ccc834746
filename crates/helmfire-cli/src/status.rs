//! `helmfire status [RELEASE]` and `helmfire history RELEASE`: release records read through
//! `storage` (one label query per release, in its namespace), resources checked through
//! `cluster`.

use std::sync::Arc;

use serde_json::{Value as Json, json};

use helmfire::cluster::{Cluster, ObjectRef};
use helmfire::converge::wait::{Readiness, Rules, readiness};
use helmfire::estate::{self, Estate};
use helmfire::storage::ReleaseRecord;

use super::CommandResult;
use super::args::ListFormat;
use super::commands::{format_table, write_stdout};
use super::connect::{BoxError, estate_storage, with_targets};
use super::report::ReleaseFailures;
use super::settings::Settings;

pub use super::commands::ReleaseTarget as Target;

/// A release that was looked up but has no record.
#[derive(Debug, thiserror::Error)]
#[error("release `{name}` not found in namespace `{namespace}`")]
pub struct ReleaseNotFound {
    pub name: String,
    pub namespace: String,
}

fn updated(record: &ReleaseRecord) -> String {
    record
        .info
        .last_deployed
        .as_ref()
        .map(|t| t.ansic())
        .unwrap_or_default()
}

fn updated_json(record: &ReleaseRecord) -> Json {
    record
        .info
        .last_deployed
        .as_ref()
        .map_or(Json::Null, |t| Json::String(t.to_string()))
}

/// `helmfire status` with a state file: the latest record of every selected release, on the
/// cluster of its kube context (a CONTEXT column when the state file spans several).
pub fn status_all(settings: &Settings, estate: &Estate, output: ListFormat) -> CommandResult {
    let found = with_targets(
        settings,
        estate.contexts(),
        &estate_storage(settings, estate)?,
        async |targets| Ok(estate::latest_records(targets, estate, settings.concurrency.max(16)).await),
    )?;
    let several = estate.contexts().len() > 1;
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    for (index, result) in found {
        match result {
            Ok(record) => rows.push((estate.release(index), record)),
            Err(error) => errors.push(Arc::new(error)),
        }
    }
    match output {
        ListFormat::Json => {
            let items: Vec<Json> = rows
                .iter()
                .map(|(release, record)| {
                    let mut item = match record {
                        Some(record) => json!({
                            "name": record.name,
                            "namespace": record.namespace,
                            "revision": record.version,
                            "updated": updated_json(record),
                            "status": record.info.status.as_str(),
                            "chart": record.chart.name_version(),
                            "app_version": record.chart.app_version(),
                            "description": record.info.description,
                        }),
                        None => json!({
                            "name": release.id.name.as_str(),
                            "namespace": release.id.namespace.as_str(),
                            "revision": null,
                            "status": "not installed",
                        }),
                    };
                    if let Some(context) = &release.kube_context {
                        item["kubeContext"] = json!(context);
                    }
                    item
                })
                .collect();
            write_stdout(&format!("{}\n", serde_json::to_string_pretty(&items)?))?;
        }
        ListFormat::Table => {
            let mut header = vec![
                "NAME",
                "NAMESPACE",
                "REVISION",
                "UPDATED",
                "STATUS",
                "CHART",
                "APP VERSION",
            ];
            if several {
                header.insert(0, "CONTEXT");
            }
            let mut table = vec![header.into_iter().map(String::from).collect::<Vec<_>>()];
            for (release, record) in &rows {
                let mut row = match record {
                    Some(record) => vec![
                        record.name.clone(),
                        record.namespace.clone(),
                        record.version.to_string(),
                        updated(record),
                        record.info.status.to_string(),
                        record.chart.name_version(),
                        record.chart.app_version().to_string(),
                    ],
                    None => vec![
                        release.id.name.as_str().to_string(),
                        release.id.namespace.as_str().to_string(),
                        "-".into(),
                        "-".into(),
                        "not installed".into(),
                        "-".into(),
                        "-".into(),
                    ],
                };
                if several {
                    row.insert(0, release.kube_context.clone().unwrap_or_else(|| "(current)".into()));
                }
                table.push(row);
            }
            write_stdout(&format_table(&table))?;
        }
    }
    if errors.is_empty() {
        Ok(super::exit::OK)
    } else {
        Err(Box::new(ReleaseFailures(errors)))
    }
}

/// One resource of the stored manifest and what the cluster says about it.
struct ResourceState {
    reference: ObjectRef,
    state: String,
    ready: Option<bool>,
}

/// The objects of a stored manifest (`apiVersion`, `kind`, name, namespace), parsed by the one
/// manifest parser; a manifest that does not parse lists nothing.
fn manifest_objects(manifest: &str, release_namespace: &str) -> Vec<ObjectRef> {
    helmfire::manifest::parse_manifest(manifest, "manifest")
        .unwrap_or_default()
        .into_iter()
        .map(|resource| {
            let key = resource.key(release_namespace);
            ObjectRef {
                api_version: resource.api_version,
                kind: key.kind,
                namespace: key.namespace,
                name: key.name,
            }
        })
        .collect()
}

/// The live state of an object by the readiness rule `apply --wait` uses.
fn describe(object: &Json) -> (String, Option<bool>) {
    match readiness(object, Rules::ResourcesAndJobs) {
        Readiness::Current => ("ready".into(), Some(true)),
        Readiness::InProgress(why) => (format!("not ready: {why}"), Some(false)),
        Readiness::Failed(why) => (format!("failed: {why}"), Some(false)),
    }
}

async fn resource_states(cluster: &Cluster, record: &ReleaseRecord) -> Vec<ResourceState> {
    let mut checks = tokio::task::JoinSet::new();
    for (index, reference) in manifest_objects(&record.manifest, &record.namespace)
        .into_iter()
        .enumerate()
    {
        let cluster = cluster.clone();
        checks.spawn(async move {
            let (state, ready) = match cluster.get(&reference).await {
                Ok(Some(object)) => describe(&serde_json::to_value(&object).unwrap_or_default()),
                Ok(None) => ("missing".into(), Some(false)),
                Err(helmfire::cluster::ClusterError::UnknownKind { .. }) => ("kind not served".into(), Some(false)),
                Err(error) => (format!("unknown ({error})"), None),
            };
            (
                index,
                ResourceState {
                    reference,
                    state,
                    ready,
                },
            )
        });
    }
    let mut states = Vec::new();
    while let Some(joined) = checks.join_next().await {
        if let Ok(found) = joined {
            states.push(found);
        }
    }
    states.sort_by_key(|(index, _)| *index);
    states.into_iter().map(|(_, state)| state).collect()
}

/// `helmfire status RELEASE`: the latest revision and its resources.
pub fn status_one(settings: &Settings, target: Target, output: ListFormat) -> CommandResult {
    let result = super::connect::with_target(
        settings,
        target.context.as_deref(),
        &target.storage,
        async |connected| {
            let cluster = &connected.cluster;
            let namespace = target
                .namespace
                .clone()
                .unwrap_or_else(|| cluster.default_namespace().to_string());
            let store = &connected.store;
            let record = store
                .last(&namespace, &target.name)
                .await?
                .ok_or_else(|| ReleaseNotFound {
                    name: target.name.clone(),
                    namespace: namespace.clone(),
                })?;
            let resources = resource_states(cluster, &record).await;
            Ok((record, resources))
        },
    );
    let (record, resources) = result?;
    match output {
        ListFormat::Json => {
            let items: Vec<Json> = resources
                .iter()
                .map(|r| {
                    json!({
                        "apiVersion": r.reference.api_version,
                        "kind": r.reference.kind,
                        "namespace": r.reference.namespace,
                        "name": r.reference.name,
                        "state": r.state,
                        "ready": r.ready,
                    })
                })
                .collect();
            let document = json!({
                "name": record.name,
                "namespace": record.namespace,
                "revision": record.version,
                "status": record.info.status.as_str(),
                "updated": updated_json(&record),
                "chart": record.chart.name_version(),
                "app_version": record.chart.app_version(),
                "description": record.info.description,
                "notes": record.info.notes,
                "resources": items,
            });
            write_stdout(&format!("{}\n", serde_json::to_string_pretty(&document)?))
        }
        ListFormat::Table => {
            let mut out = format!(
                "NAME: {}\nNAMESPACE: {}\nSTATUS: {}\nREVISION: {}\nLAST DEPLOYED: {}\nCHART: {}\nAPP VERSION: {}\nDESCRIPTION: {}\n",
                record.name,
                record.namespace,
                record.info.status,
                record.version,
                updated(&record),
                record.chart.name_version(),
                record.chart.app_version(),
                record.info.description
            );
            if !resources.is_empty() {
                out.push_str("\nRESOURCES:\n");
                let mut rows = vec![["KIND", "NAMESPACE/NAME", "STATE"].map(String::from).to_vec()];
                for r in &resources {
                    let location = match &r.reference.namespace {
                        Some(namespace) => format!("{namespace}/{}", r.reference.name),
                        None => r.reference.name.clone(),
                    };
                    rows.push(vec![r.reference.kind.clone(), location, r.state.clone()]);
                }
                out.push_str(&format_table(&rows));
            }
            if !record.info.notes.is_empty() {
                out.push_str("\nNOTES:\n");
                out.push_str(&record.info.notes);
                if !record.info.notes.ends_with('\n') {
                    out.push('\n');
                }
            }
            write_stdout(&out)
        }
    }
}

/// `helmfire history RELEASE`: every revision, as `helm history` shows them (the last `max`).
pub fn history(settings: &Settings, target: Target, output: ListFormat, max: usize) -> CommandResult {
    let result = super::connect::with_target(
        settings,
        target.context.as_deref(),
        &target.storage,
        async |connected| {
            let namespace = target
                .namespace
                .clone()
                .unwrap_or_else(|| connected.cluster.default_namespace().to_string());
            let records = connected.store.history(&namespace, &target.name).await?;
            if records.is_empty() {
                return Err(Box::new(ReleaseNotFound {
                    name: target.name.clone(),
                    namespace,
                }) as BoxError);
            }
            Ok(records)
        },
    );
    let records = result?;
    let skip = records.len().saturating_sub(max);
    let records = &records[skip..];
    match output {
        ListFormat::Json => {
            let items: Vec<Json> = records
                .iter()
                .map(|record| {
                    json!({
                        "revision": record.version,
                        "updated": updated_json(record),
                        "status": record.info.status.as_str(),
                        "chart": record.chart.name_version(),
                        "app_version": record.chart.app_version(),
                        "description": record.info.description,
                    })
                })
                .collect();
            write_stdout(&format!("{}\n", serde_json::to_string(&items)?))
        }
        ListFormat::Table => {
            let mut rows = vec![
                ["REVISION", "UPDATED", "STATUS", "CHART", "APP VERSION", "DESCRIPTION"]
                    .map(String::from)
                    .to_vec(),
            ];
            for record in records {
                rows.push(vec![
                    record.version.to_string(),
                    updated(record),
                    record.info.status.to_string(),
                    record.chart.name_version(),
                    record.chart.app_version().to_string(),
                    record.info.description.clone(),
                ]);
            }
            write_stdout(&format_table(&rows))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_objects_default_to_the_release_namespace() {
        let manifest = "---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n# Source: c/templates/b.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: b\n  namespace: other\n";
        let objects = manifest_objects(manifest, "team");
        let shown: Vec<String> = objects.iter().map(ToString::to_string).collect();
        assert_eq!(shown, vec!["ConfigMap team/a", "Deployment other/b"]);
        assert!(manifest_objects("", "team").is_empty());
    }

    #[test]
    fn live_state_follows_the_wait_rule() {
        let deployment = json!({"kind": "Deployment", "metadata": {"generation": 1},
            "spec": {"replicas": 3}, "status": {"observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "readyReplicas": 2, "availableReplicas": 2}});
        let (state, ready) = describe(&deployment);
        assert_eq!(ready, Some(false), "{state}");
        assert!(state.starts_with("not ready: "), "{state}");
        let job = json!({"kind": "Job", "status": {"conditions": [{"type": "Failed", "status": "True", "message": "BackoffLimitExceeded"}]}});
        let (state, ready) = describe(&job);
        assert_eq!(ready, Some(false), "{state}");
        let config_map = json!({"kind": "ConfigMap"});
        assert_eq!(describe(&config_map), ("ready".to_string(), Some(true)));
    }
}
