//! Store behaviour on the memory driver: keys, labels, history order, pruning.

use super::*;

fn record(name: &str, version: i32, status: Status) -> ReleaseRecord {
    let mut record = ReleaseRecord {
        name: name.into(),
        namespace: "team".into(),
        version,
        ..ReleaseRecord::default()
    };
    record.info.status = status;
    record
}

async fn store_with(statuses: &[Status]) -> Store {
    let store = Store::new(None, Driver::Memory);
    for (i, status) in statuses.iter().enumerate() {
        store.create(&record("web", i as i32 + 1, *status)).await.unwrap();
    }
    store
}

async fn versions(store: &Store) -> Vec<i32> {
    store
        .history("team", "web")
        .await
        .unwrap()
        .iter()
        .map(|r| r.version)
        .collect()
}

#[test]
fn driver_names_are_helms() {
    for (text, driver) in [
        ("", Driver::Secret),
        ("secret", Driver::Secret),
        ("secrets", Driver::Secret),
        ("configmap", Driver::ConfigMap),
        ("configmaps", Driver::ConfigMap),
        ("memory", Driver::Memory),
        ("sql", Driver::Sql),
    ] {
        assert_eq!(text.parse::<Driver>().unwrap(), driver);
    }
    // Case-sensitive, as helm's `HELM_DRIVER` is.
    assert_eq!(
        "SQL".parse::<Driver>().unwrap_err().to_string(),
        "unknown storage driver `SQL` (expected secret, configmap, memory or sql)"
    );
    assert_eq!(record_key("web", 12), "sh.helm.release.v1.web.v12");
}

#[tokio::test]
async fn create_sets_helms_labels_and_queries_stay_in_the_namespace() {
    let store = Store::new(None, Driver::Memory);
    let mut first = record("web", 1, Status::Deployed);
    first.labels.insert("team".into(), "a".into());
    store.create(&first).await.unwrap();
    let mut other = record("web", 1, Status::Deployed);
    other.namespace = "elsewhere".into();
    store.create(&other).await.unwrap();
    store.create(&record("api", 1, Status::Deployed)).await.unwrap();

    let history = store.history("team", "web").await.unwrap();
    assert_eq!(history.len(), 1);
    let labels = &history[0].labels;
    assert_eq!(labels["name"], "web");
    assert_eq!(labels["owner"], "helm");
    assert_eq!(labels["status"], "deployed");
    assert_eq!(labels["version"], "1");
    assert_eq!(labels["team"], "a");
    assert!(labels["createdAt"].parse::<i64>().unwrap() > 1_600_000_000);
    assert!(!labels.contains_key("modifiedAt"));

    // Get strips the system labels, as Helm's driver Get does.
    let got = store.get("team", "web", 1).await.unwrap().unwrap();
    assert_eq!(got.labels.len(), 1);
    assert!(store.get("team", "web", 2).await.unwrap().is_none());

    let error = store.create(&first).await.unwrap_err();
    assert!(matches!(error, StorageError::RecordExists { .. }), "{error}");
    assert_eq!(
        error.to_string(),
        "release record `sh.helm.release.v1.web.v1` already exists in namespace `team`"
    );
}

#[tokio::test]
async fn update_relabels_and_last_and_deployed_pick_the_highest() {
    let store = store_with(&[Status::Superseded, Status::Deployed, Status::Failed]).await;
    assert_eq!(store.last("team", "web").await.unwrap().unwrap().version, 3);
    assert_eq!(store.deployed("team", "web").await.unwrap().unwrap().version, 2);
    let mut second = store.get("team", "web", 2).await.unwrap().unwrap();
    second.info.status = Status::Superseded;
    store.update(&second).await.unwrap();
    assert!(store.deployed("team", "web").await.unwrap().is_none());
    let history = store.history("team", "web").await.unwrap();
    assert_eq!(history[1].labels["status"], "superseded");
    assert!(history[1].labels.contains_key("modifiedAt"));
    assert!(store.last("team", "nothing").await.unwrap().is_none());

    let error = store.update(&record("web", 9, Status::Failed)).await.unwrap_err();
    assert!(matches!(error, StorageError::RecordNotFound { .. }), "{error}");
    let error = store.delete("team", "web", 9).await.unwrap_err();
    assert!(matches!(error, StorageError::RecordNotFound { .. }), "{error}");
}

#[tokio::test]
async fn invalid_records_are_refused() {
    let store = Store::new(None, Driver::Memory);
    let error = store.create(&record("web", 0, Status::Deployed)).await.unwrap_err();
    assert!(matches!(error, StorageError::Invalid { .. }), "{error}");
    let mut no_namespace = record("web", 1, Status::Deployed);
    no_namespace.namespace.clear();
    assert!(store.create(&no_namespace).await.is_err());
}

#[tokio::test]
async fn cluster_drivers_without_a_cluster_fail_clearly() {
    let store = Store::new(None, Driver::Secret);
    let error = store.history("team", "web").await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "the secret storage driver needs a cluster connection"
    );
    // The sql driver is opened with `Store::open`, which connects to its database.
    let store = Store::new(None, Driver::Sql);
    assert!(matches!(
        store.history("team", "web").await,
        Err(StorageError::NoConnection)
    ));
    let settings = StorageSettings::driver(Driver::Sql);
    assert!(matches!(
        Store::open(None, &settings).await,
        Err(StorageError::NoConnection)
    ));
}

#[tokio::test]
async fn prune_removes_oldest_first() {
    let store = store_with(&[
        Status::Superseded,
        Status::Superseded,
        Status::Superseded,
        Status::Deployed,
    ])
    .await;
    store.prune("team", "web", 2).await.unwrap();
    assert_eq!(versions(&store).await, vec![3, 4]);
    // Under the limit: nothing happens.
    store.prune("team", "web", 5).await.unwrap();
    assert_eq!(versions(&store).await, vec![3, 4]);
}

#[tokio::test]
async fn prune_never_removes_the_last_deployed() {
    // Helm's removeLeastRecent walks oldest to newest and skips the last deployed revision.
    let store = store_with(&[
        Status::Superseded,
        Status::Deployed,
        Status::Failed,
        Status::Failed,
        Status::Failed,
    ])
    .await;
    store.prune("team", "web", 2).await.unwrap();
    assert_eq!(versions(&store).await, vec![2, 5]);

    // max 0 (history-max 1 making room for a new revision) keeps only the deployed one.
    let store = store_with(&[Status::Superseded, Status::Superseded, Status::Deployed]).await;
    store.prune("team", "web", 0).await.unwrap();
    assert_eq!(versions(&store).await, vec![3]);

    // With no deployed revision everything old goes.
    let store = store_with(&[Status::Failed, Status::Failed, Status::Failed]).await;
    store.prune("team", "web", 1).await.unwrap();
    assert_eq!(versions(&store).await, vec![3]);
}

#[tokio::test]
async fn corrupt_records_name_the_object() {
    use super::driver::{Backend, MemoryBackend, StoredObject};
    let backend = std::sync::Arc::new(MemoryBackend::default());
    let labels = [
        ("name", "web"),
        ("owner", "helm"),
        ("status", "deployed"),
        ("version", "1"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    backend
        .create(
            "team",
            StoredObject {
                key: record_key("web", 1),
                labels,
                body: "H4sI!!".into(),
            },
        )
        .await
        .unwrap();
    let store = Store::with_backend(backend, Driver::Memory);
    let error = store.history("team", "web").await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "release record `sh.helm.release.v1.web.v1` in namespace `team` is corrupt"
    );
    assert!(std::error::Error::source(&error).is_some());
}

#[test]
fn records_from_a_loaded_chart() {
    use helmfire_value::Value;
    let mut chart = helmfire_chart::Chart::default();
    chart.metadata.name = "demo".into();
    chart.metadata.version = "1.2.3".into();
    chart.metadata.app_version = "4.5".into();
    chart.metadata.api_version = "v2".into();
    chart.templates.push(helmfire_chart::ChartFile {
        name: "templates/cm.yaml".into(),
        data: b"kind: ConfigMap".to_vec().into(),
    });
    chart.values.insert("replicas".into(), Value::int64(2));
    let mut config = helmfire_value::Map::new();
    config.insert("image".into(), Value::string("nginx<1>"));
    let record = ReleaseRecord::new("web", "team", 1, &chart, &config);
    assert_eq!(record.chart.name_version(), "demo-1.2.3");
    assert_eq!(record.chart.app_version(), "4.5");
    assert!(record.info.first_deployed.is_some());
    let json = String::from_utf8(codec::to_go_json(&record).unwrap()).unwrap();
    assert!(json.contains(r#""config":{"image":"nginx\u003c1\u003e"}"#), "{json}");
    assert!(
        json.contains(r#""templates":[{"name":"templates/cm.yaml","data":"a2luZDogQ29uZmlnTWFw"}]"#),
        "{json}"
    );
    assert!(
        json.contains(r#""values":{"replicas":2},"schema":null,"schemamodtime":"0001-01-01T00:00:00Z","files":null}"#),
        "{json}"
    );
    assert!(
        json.contains(r#""metadata":{"name":"demo","version":"1.2.3","apiVersion":"v2","appVersion":"4.5"}"#),
        "{json}"
    );
}

#[tokio::test]
async fn last_decodes_only_the_newest_revision() {
    use super::driver::{Backend, MemoryBackend, StoredObject};
    let backend = std::sync::Arc::new(MemoryBackend::default());
    let store = Store::with_backend(backend.clone(), Driver::Memory);
    store.create(&record("web", 2, Status::Deployed)).await.unwrap();
    let labels = |version: &str| {
        [
            ("name", "web"),
            ("owner", "helm"),
            ("status", "superseded"),
            ("version", version),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    };
    // A broken old revision does not stop reading the newest one…
    backend
        .create(
            "team",
            StoredObject {
                key: record_key("web", 1),
                labels: labels("1"),
                body: "broken".into(),
            },
        )
        .await
        .unwrap();
    assert_eq!(store.last("team", "web").await.unwrap().unwrap().version, 2);
    assert_eq!(store.deployed("team", "web").await.unwrap().unwrap().version, 2);
    // …but the full history reports it.
    assert!(matches!(
        store.history("team", "web").await,
        Err(StorageError::Corrupt { .. })
    ));

    // Without version labels every record is decoded and the highest body version wins.
    let unlabelled = std::sync::Arc::new(MemoryBackend::default());
    for version in [3, 1, 2] {
        let mut labels: std::collections::BTreeMap<String, String> = labels("x");
        labels.remove("version");
        let body = codec::encode(&record("web", version, Status::Superseded)).unwrap();
        unlabelled
            .create(
                "team",
                StoredObject {
                    key: record_key("web", version),
                    labels,
                    body,
                },
            )
            .await
            .unwrap();
    }
    let store = Store::with_backend(unlabelled, Driver::Memory);
    assert_eq!(store.last("team", "web").await.unwrap().unwrap().version, 3);
}

#[tokio::test]
async fn create_with_history_max_makes_room_like_helm() {
    let store = store_with(&[Status::Superseded, Status::Superseded, Status::Deployed]).await;
    store
        .create_with_history_max(&record("web", 4, Status::PendingUpgrade), 2)
        .await
        .unwrap();
    // Room for one more under history-max 2: the last deployed (3) stays, the new one is added.
    assert_eq!(versions(&store).await, vec![3, 4]);
    // 0 means unlimited.
    store
        .create_with_history_max(&record("web", 5, Status::PendingUpgrade), 0)
        .await
        .unwrap();
    assert_eq!(versions(&store).await, vec![3, 4, 5]);
}

#[tokio::test]
async fn head_reads_the_latest_and_the_latest_deployed_revision() {
    let store = store_with(&[
        Status::Superseded,
        Status::Deployed,
        Status::Failed,
        Status::PendingUpgrade,
    ])
    .await;
    let head = store.head("team", "web").await.unwrap();
    assert_eq!(
        head.last.as_ref().map(|r| (r.version, r.info.status)),
        Some((4, Status::PendingUpgrade))
    );
    assert_eq!(head.deployed.as_ref().map(|r| r.version), Some(2));
    let store = store_with(&[Status::Superseded, Status::Deployed]).await;
    let head = store.head("team", "web").await.unwrap();
    assert_eq!(head.last.as_ref().map(|r| r.version), Some(2));
    assert_eq!(head.deployed.as_ref().map(|r| r.version), Some(2));
    let empty = store.head("team", "nothing").await.unwrap();
    assert!(empty.last.is_none() && empty.deployed.is_none());
}

#[tokio::test]
async fn deployed_everywhere_keeps_the_newest_per_release_across_namespaces() {
    let store = Store::new(None, Driver::Memory);
    for (namespace, name, version, status) in [
        ("a", "web", 1, Status::Superseded),
        ("a", "web", 2, Status::Deployed),
        ("b", "web", 1, Status::Deployed),
        ("b", "db", 1, Status::Uninstalled),
    ] {
        let mut r = record(name, version, status);
        r.namespace = namespace.to_string();
        store.create(&r).await.unwrap();
    }
    let found: Vec<(String, String, i32)> = store
        .deployed_everywhere()
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.namespace, r.name, r.version))
        .collect();
    assert_eq!(found, [("a".into(), "web".into(), 2), ("b".into(), "web".into(), 1)]);
}
