//! `helmfire status [RELEASE]` and `helmfire history RELEASE`: release records read through
//! `storage` (one label query per release, in its namespace), resources checked through
//! `cluster`.

use std::collections::BTreeMap;

use serde_json::{Value as Json, json};

use crate::cluster::{Cluster, ClusterConfig, ObjectRef};
use crate::storage::{Driver, ReleaseRecord, Store};
use crate::value::Value;

use super::args::ListFormat;
use super::commands::{format_table, write_stdout};
use super::settings::Settings;
use super::{CommandResult, exit};

/// A release to look up: its name, its namespace (`None`: the context's namespace) and the
/// kubeconfig context it lives in (`None`: the current context).
#[derive(Clone, Debug)]
pub struct Target {
    pub name: String,
    pub namespace: Option<String>,
    pub context: Option<String>,
}

/// A release that was looked up but has no record.
#[derive(Debug, thiserror::Error)]
#[error("release `{name}` not found in namespace `{namespace}`")]
pub struct ReleaseNotFound {
    pub name: String,
    pub namespace: String,
}

fn driver(settings: &Settings) -> Result<Driver, crate::storage::UnknownDriver> {
    settings.helm_driver.as_deref().unwrap_or("").parse()
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

/// Connects with the kubeconfig, or with `--sandbox` to the embedded sandbox (started once per
/// command and kept in `sandbox`, so every release reads the same one; contexts do not apply).
async fn connect(
    settings: &Settings,
    context: Option<&str>,
    sandbox: &mut Option<super::deploy::Target>,
) -> Result<Cluster, Box<dyn std::error::Error + Send + Sync>> {
    if settings.sandbox.is_some() {
        if sandbox.is_none() {
            *sandbox = Some(super::deploy::Target::open(settings, None).await?);
        }
        return Ok(sandbox
            .as_ref()
            .map(|target| target.cluster.clone())
            .expect("opened above"));
    }
    Ok(Cluster::connect(&ClusterConfig {
        kubeconfig: settings.kubeconfig.clone(),
        context: context
            .map(str::to_string)
            .or_else(|| settings.load.kube_context.clone()),
    })
    .await?)
}

/// Stops the `--sandbox` cluster, if one was started, after a read-only command.
fn close(runtime: &tokio::runtime::Runtime, sandbox: Option<super::deploy::Target>) -> CommandResult {
    if let Some(target) = sandbox {
        runtime.block_on(target.close())?;
    }
    Ok(exit::OK)
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

/// `helmfire status` with a state file: the latest record of every selected release.
pub fn status_all(settings: &Settings, targets: Vec<Target>, output: ListFormat) -> CommandResult {
    let driver = driver(settings)?;
    let runtime = runtime()?;
    let mut sandbox = None;
    let result = runtime.block_on(async {
        // One connection (and discovery cache) per kubeconfig context.
        let mut stores: BTreeMap<Option<String>, (Store, String)> = BTreeMap::new();
        let mut lookups = tokio::task::JoinSet::new();
        for (index, target) in targets.iter().enumerate() {
            if !stores.contains_key(&target.context) {
                let cluster = connect(settings, target.context.as_deref(), &mut sandbox).await?;
                let namespace = cluster.default_namespace().to_string();
                stores.insert(target.context.clone(), (Store::new(Some(cluster), driver), namespace));
            }
            let (store, default_namespace) = stores[&target.context].clone();
            let namespace = target.namespace.clone().unwrap_or(default_namespace);
            let name = target.name.clone();
            lookups.spawn(async move {
                let found = store.last(&namespace, &name).await;
                (index, namespace, found)
            });
        }
        let mut rows = Vec::new();
        while let Some(joined) = lookups.join_next().await {
            let (index, namespace, found) = joined?;
            rows.push((index, namespace, found?));
        }
        rows.sort_by_key(|(index, ..)| *index);
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(rows)
    });
    close(&runtime, sandbox)?;
    let rows = result?;
    match output {
        ListFormat::Json => {
            let items: Vec<Json> = rows
                .iter()
                .map(|(index, namespace, record)| match record {
                    Some(record) => json!({
                        "name": record.name,
                        "namespace": namespace,
                        "revision": record.version,
                        "updated": updated_json(record),
                        "status": record.info.status.as_str(),
                        "chart": record.chart.name_version(),
                        "app_version": record.chart.app_version(),
                        "description": record.info.description,
                    }),
                    None => json!({
                        "name": targets[*index].name,
                        "namespace": namespace,
                        "revision": null,
                        "status": "not installed",
                    }),
                })
                .collect();
            write_stdout(&format!("{}\n", serde_json::to_string_pretty(&items)?))
        }
        ListFormat::Table => {
            let mut rows_out = vec![
                [
                    "NAME",
                    "NAMESPACE",
                    "REVISION",
                    "UPDATED",
                    "STATUS",
                    "CHART",
                    "APP VERSION",
                ]
                .map(String::from)
                .to_vec(),
            ];
            for (index, namespace, record) in &rows {
                rows_out.push(match record {
                    Some(record) => vec![
                        record.name.clone(),
                        namespace.clone(),
                        record.version.to_string(),
                        updated(record),
                        record.info.status.to_string(),
                        record.chart.name_version(),
                        record.chart.app_version().to_string(),
                    ],
                    None => vec![
                        targets[*index].name.clone(),
                        namespace.clone(),
                        "-".into(),
                        "-".into(),
                        "not installed".into(),
                        "-".into(),
                        "-".into(),
                    ],
                });
            }
            write_stdout(&format_table(&rows_out))
        }
    }
}

/// One resource of the stored manifest and what the cluster says about it.
struct ResourceState {
    reference: ObjectRef,
    state: String,
    ready: Option<bool>,
}

/// The objects of a stored manifest (`apiVersion`, `kind`, name, namespace).
fn manifest_objects(manifest: &str, release_namespace: &str) -> Vec<ObjectRef> {
    let documents = crate::value::yaml::decode_documents(manifest).unwrap_or_default();
    let text = |value: &Value, key: &str| -> Option<String> {
        let map = value.as_map()?;
        let found = map.read().get(key)?.as_str()?.to_string();
        Some(found)
    };
    documents
        .iter()
        .filter_map(|document| {
            let metadata = document.as_map()?.read().get("metadata")?.clone();
            Some(ObjectRef {
                api_version: text(document, "apiVersion")?,
                kind: text(document, "kind")?,
                namespace: Some(text(&metadata, "namespace").unwrap_or_else(|| release_namespace.to_string())),
                name: text(&metadata, "name")?,
            })
        })
        .collect()
}

/// Existence plus simple readiness for workloads (replicas ready, Job complete, Pod phase).
fn describe(object: &Json) -> (String, Option<bool>) {
    let kind = object["kind"].as_str().unwrap_or_default();
    let status = &object["status"];
    let count = |value: &Json| value.as_i64().unwrap_or(0);
    match kind {
        "Deployment" | "StatefulSet" | "ReplicaSet" => {
            let wanted = object["spec"]["replicas"].as_i64().unwrap_or(1);
            let ready = count(&status["readyReplicas"]);
            let ok = ready >= wanted;
            (
                format!("{} {ready}/{wanted}", if ok { "ready" } else { "not ready" }),
                Some(ok),
            )
        }
        "DaemonSet" => {
            let wanted = count(&status["desiredNumberScheduled"]);
            let ready = count(&status["numberReady"]);
            let ok = ready >= wanted;
            (
                format!("{} {ready}/{wanted}", if ok { "ready" } else { "not ready" }),
                Some(ok),
            )
        }
        "Job" => {
            if count(&status["succeeded"]) > 0 {
                ("complete".into(), Some(true))
            } else if count(&status["failed"]) > 0 {
                ("failed".into(), Some(false))
            } else {
                ("running".into(), Some(false))
            }
        }
        "Pod" | "PersistentVolumeClaim" => {
            let phase = status["phase"].as_str().unwrap_or("Pending");
            let ok = matches!(phase, "Running" | "Succeeded" | "Bound");
            (phase.to_lowercase(), Some(ok))
        }
        _ => ("present".into(), None),
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
                Err(crate::cluster::ClusterError::UnknownKind { .. }) => ("kind not served".into(), Some(false)),
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
    let driver = driver(settings)?;
    let runtime = runtime()?;
    let mut sandbox = None;
    let result = runtime.block_on(async {
        let cluster = connect(settings, target.context.as_deref(), &mut sandbox).await?;
        let namespace = target
            .namespace
            .clone()
            .unwrap_or_else(|| cluster.default_namespace().to_string());
        let store = Store::new(Some(cluster.clone()), driver);
        let record = store
            .last(&namespace, &target.name)
            .await?
            .ok_or_else(|| ReleaseNotFound {
                name: target.name.clone(),
                namespace: namespace.clone(),
            })?;
        let resources = resource_states(&cluster, &record).await;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>((record, resources))
    });
    close(&runtime, sandbox)?;
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
    let driver = driver(settings)?;
    let runtime = runtime()?;
    let mut sandbox = None;
    let result = runtime.block_on(async {
        let cluster = connect(settings, target.context.as_deref(), &mut sandbox).await?;
        let namespace = target
            .namespace
            .clone()
            .unwrap_or_else(|| cluster.default_namespace().to_string());
        let store = Store::new(Some(cluster), driver);
        let records = store.history(&namespace, &target.name).await?;
        if records.is_empty() {
            return Err(Box::new(ReleaseNotFound {
                name: target.name.clone(),
                namespace,
            }) as Box<dyn std::error::Error + Send + Sync>);
        }
        Ok(records)
    });
    close(&runtime, sandbox)?;
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
    fn readiness_of_workloads() {
        let deployment = json!({"kind": "Deployment", "spec": {"replicas": 3}, "status": {"readyReplicas": 2}});
        assert_eq!(describe(&deployment), ("not ready 2/3".to_string(), Some(false)));
        let deployment = json!({"kind": "Deployment", "spec": {}, "status": {"readyReplicas": 1}});
        assert_eq!(describe(&deployment), ("ready 1/1".to_string(), Some(true)));
        let job = json!({"kind": "Job", "status": {"failed": 1}});
        assert_eq!(describe(&job), ("failed".to_string(), Some(false)));
        let pod = json!({"kind": "Pod", "status": {"phase": "Running"}});
        assert_eq!(describe(&pod), ("running".to_string(), Some(true)));
        let claim = json!({"kind": "PersistentVolumeClaim", "status": {"phase": "Bound"}});
        assert_eq!(describe(&claim), ("bound".to_string(), Some(true)));
        let config_map = json!({"kind": "ConfigMap"});
        assert_eq!(describe(&config_map), ("present".to_string(), None));
    }
}
