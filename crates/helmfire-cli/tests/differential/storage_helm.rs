//! Release records against the real helm v4.1.4 on the sandbox, both ways: records helm wrote
//! decode and re-encode to helm's exact JSON, and records helmfire wrote are listed, shown,
//! upgraded, rolled back and uninstalled by helm as if helm had made them.

use crate::support::sandbox as sandbox_support;

use std::io::Read as _;
use std::time::Duration;

use base64::Engine as _;
use helmfire::cluster::{ApplyOptions, Cluster as Kube, ObjectRef, Patch, PatchParams, PropagationPolicy, RetryPolicy};
use helmfire::storage::{ApplyMethod, Driver, ReleaseRecord, Status, StorageError, Store, codec};
use helmfire_sandbox::SandboxConfig;
use sandbox_support::Cluster;
use serde_json::{Value, json};

const CHART: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/charts/release-record");

fn kube(cluster: &Cluster) -> Kube {
    let service = cluster.sandbox.as_ref().expect("running").service();
    cluster
        .runtime
        .block_on(async { Kube::from_client(kube::Client::new(service, "default")) })
}

fn store(cluster: &Cluster, driver: Driver) -> Store {
    Store::new(Some(kube(cluster)), driver)
}

/// The JSON helm stored in a release Secret: base64 (API) → base64 (helm) → gzip → JSON.
fn stored_json(cluster: &Cluster, namespace: &str, key: &str) -> Vec<u8> {
    let secret = cluster.get_json(&["secret", key, "-n", namespace]);
    let outer = secret["data"]["release"].as_str().expect("data.release");
    let inner = base64::engine::general_purpose::STANDARD
        .decode(outer)
        .expect("api base64");
    let gzipped = base64::engine::general_purpose::STANDARD
        .decode(inner)
        .expect("helm base64");
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(&gzipped[..])
        .read_to_end(&mut json)
        .expect("gzip");
    json
}

#[test]
fn records_helm_wrote_read_back_and_reencode_byte_for_byte() {
    let cluster = Cluster::start();
    cluster.helm(&[
        "install",
        "rec",
        CHART,
        "-n",
        "store",
        "--create-namespace",
        "--set",
        "extra=<x>&y",
        "--set",
        "count=7",
    ]);
    cluster.helm(&[
        "upgrade",
        "rec",
        CHART,
        "-n",
        "store",
        "--reuse-values",
        "--set",
        "ratio=0.25",
        "--description",
        "second <try>",
    ]);
    let store = store(&cluster, Driver::Secret);
    let history = cluster
        .runtime
        .block_on(store.history("store", "rec"))
        .expect("history");
    assert_eq!(history.iter().map(|r| r.version).collect::<Vec<_>>(), vec![1, 2]);
    let (first, second) = (&history[0], &history[1]);
    assert_eq!(first.info.status, Status::Superseded);
    assert_eq!(second.info.status, Status::Deployed);
    assert_eq!(second.info.description, "second <try>");
    assert_eq!(first.info.description, "Install complete");
    assert_eq!(second.namespace, "store");
    assert_eq!(second.chart.name_version(), "release-record-1.2.3");
    assert_eq!(second.chart.app_version(), "2.0");
    assert_eq!(second.config["extra"], json!("<x>&y"));
    // helm's --set keeps floats as strings (only integers are parsed).
    assert_eq!(second.config["ratio"], json!("0.25"));
    assert_eq!(second.config["count"], json!(7));
    assert!(second.manifest.contains("name: rec-settings"), "{}", second.manifest);
    assert!(second.info.notes.contains("says a <b> & c"), "{}", second.info.notes);
    assert_eq!(second.hooks.len(), 1);
    let hook = &second.hooks[0];
    assert_eq!(hook.events, vec!["pre-install", "pre-upgrade"]);
    assert_eq!(hook.weight, -5);
    assert_eq!(hook.delete_policies, vec!["before-hook-creation"]);
    assert_eq!(hook.last_run.phase, "Succeeded");
    assert!(second.apply_method.is_some());
    // Query semantics: every label, the system ones included; helm's Update stamped rev 1.
    assert_eq!(first.labels["status"], "superseded");
    assert!(first.labels.contains_key("modifiedAt"), "{:?}", first.labels);

    let last = cluster.runtime.block_on(store.last("store", "rec")).unwrap().unwrap();
    assert_eq!(last.version, 2);
    let deployed = cluster
        .runtime
        .block_on(store.deployed("store", "rec"))
        .unwrap()
        .unwrap();
    assert_eq!(deployed.version, 2);
    assert!(
        cluster
            .runtime
            .block_on(store.last("default", "rec"))
            .unwrap()
            .is_none()
    );

    // Golden: our encoder writes exactly the JSON helm wrote.
    for record in &history {
        let key = format!("sh.helm.release.v1.rec.v{}", record.version);
        let helm = String::from_utf8(stored_json(&cluster, "store", &key)).unwrap();
        let ours = String::from_utf8(codec::to_go_json(record).unwrap()).unwrap();
        if helm != ours {
            let at = helm.bytes().zip(ours.bytes()).take_while(|(a, b)| a == b).count();
            panic!(
                "re-encoded record differs at byte {at}:\nhelm: …{}\nours: …{}",
                &helm[at.saturating_sub(80)..(at + 80).min(helm.len())],
                &ours[at.saturating_sub(80)..(at + 80).min(ours.len())]
            );
        }
    }
}

/// A record as helmfire's engine writes it after installing `name` (the ConfigMap it manages
/// is applied with Helm's ownership metadata, which the stored manifest never carries).
fn install_by_hand(cluster: &Cluster, store: &Store, namespace: &str, name: &str) -> ReleaseRecord {
    let chart = helmfire_chart::load(std::path::Path::new(CHART)).expect("chart loads");
    let mut config = helmfire_value::Map::new();
    config.insert("message".into(), helmfire_value::Value::string("from helmfire"));
    let manifest = format!(
        "---\n# Source: release-record/templates/configmap.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-settings\ndata:\n  message: \"from helmfire\"\n"
    );
    let object = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": format!("{name}-settings"), "namespace": namespace,
            "labels": {"app.kubernetes.io/managed-by": "Helm"},
            "annotations": {"meta.helm.sh/release-name": name, "meta.helm.sh/release-namespace": namespace}},
        "data": {"message": "from helmfire"}});
    let kube = kube(cluster);
    let options = ApplyOptions {
        field_manager: "helm".into(),
        force: true,
        dry_run: false,
    };
    cluster.runtime.block_on(kube.apply(&object, &options)).expect("apply");

    let mut record = ReleaseRecord::new(name, namespace, 1, &chart, &config);
    record.manifest = manifest;
    record.info.status = Status::Deployed;
    record.info.description = "Install complete".into();
    record.info.notes = "written by helmfire".into();
    record.apply_method = Some(ApplyMethod::ServerSide);
    cluster.runtime.block_on(store.create(&record)).expect("create");
    record
}

#[test]
fn helm_reads_upgrades_and_uninstalls_records_helmfire_wrote() {
    let cluster = Cluster::start();
    cluster.kubectl(&["create", "namespace", "own"]);
    let store = store(&cluster, Driver::Secret);
    let record = install_by_hand(&cluster, &store, "own", "mine");

    let secret = cluster.get_json(&["secret", "sh.helm.release.v1.mine.v1", "-n", "own"]);
    assert_eq!(secret["type"], "helm.sh/release.v1");
    let labels = &secret["metadata"]["labels"];
    assert_eq!(labels["name"], "mine");
    assert_eq!(labels["owner"], "helm");
    assert_eq!(labels["status"], "deployed");
    assert_eq!(labels["version"], "1");
    assert!(labels["createdAt"].as_str().unwrap().parse::<i64>().is_ok());

    let list: Value = serde_json::from_str(&cluster.helm(&["list", "-n", "own", "-o", "json"])).unwrap();
    let entry = &list[0];
    assert_eq!(entry["name"], "mine");
    assert_eq!(entry["namespace"], "own");
    assert_eq!(entry["revision"], "1");
    assert_eq!(entry["status"], "deployed");
    assert_eq!(entry["chart"], "release-record-1.2.3");
    assert_eq!(entry["app_version"], "2.0");

    let status = cluster.helm(&["status", "mine", "-n", "own"]);
    assert!(status.contains("STATUS: deployed"), "{status}");
    assert!(status.contains("REVISION: 1"), "{status}");
    assert!(status.contains("written by helmfire"), "{status}");

    let history: Value = serde_json::from_str(&cluster.helm(&["history", "mine", "-n", "own", "-o", "json"])).unwrap();
    assert_eq!(history[0]["revision"], 1);
    assert_eq!(history[0]["status"], "deployed");
    assert_eq!(history[0]["chart"], "release-record-1.2.3");
    assert_eq!(history[0]["description"], "Install complete");

    let manifest = cluster.helm(&["get", "manifest", "mine", "-n", "own"]);
    assert_eq!(manifest.trim_end(), record.manifest.trim_end());
    let values: Value =
        serde_json::from_str(&cluster.helm(&["get", "values", "mine", "-n", "own", "-o", "json"])).unwrap();
    assert_eq!(values, json!({"message": "from helmfire"}));
    let all: Value =
        serde_json::from_str(&cluster.helm(&["get", "values", "mine", "-n", "own", "--all", "-o", "json"])).unwrap();
    assert_eq!(all["message"], "from helmfire");
    assert_eq!(all["ratio"], 0.5);
    assert_eq!(all["tags"], json!(["one", "two"]));

    // helm takes over: upgrade continues the revisions, rollback reads our record back.
    cluster.helm(&["upgrade", "mine", CHART, "-n", "own", "--reuse-values"]);
    let history = cluster.runtime.block_on(store.history("own", "mine")).unwrap();
    assert_eq!(
        history.iter().map(|r| (r.version, r.info.status)).collect::<Vec<_>>(),
        vec![(1, Status::Superseded), (2, Status::Deployed)]
    );
    assert_eq!(history[1].config["message"], json!("from helmfire"));
    cluster.helm(&["rollback", "mine", "1", "-n", "own"]);
    let last = cluster.runtime.block_on(store.last("own", "mine")).unwrap().unwrap();
    assert_eq!((last.version, last.info.status), (3, Status::Deployed));
    assert_eq!(last.manifest, record.manifest);

    cluster.helm(&["uninstall", "mine", "-n", "own"]);
    assert!(
        cluster
            .runtime
            .block_on(store.history("own", "mine"))
            .unwrap()
            .is_empty()
    );
    cluster.kubectl_fails(&["get", "configmap", "mine-settings", "-n", "own"]);
}

#[test]
fn configmap_driver_both_ways() {
    let cluster = Cluster::start();
    let env = [("HELM_DRIVER", "configmap")];
    cluster.helm_env(&env, &["install", "cms", CHART, "-n", "cfg", "--create-namespace"]);
    let store = store(&cluster, Driver::ConfigMap);
    let last = cluster
        .runtime
        .block_on(store.last("cfg", "cms"))
        .unwrap()
        .expect("helm's record");
    assert_eq!((last.version, last.info.status), (1, Status::Deployed));
    // The Secret driver sees nothing there.
    let secrets = self::store(&cluster, Driver::Secret);
    assert!(cluster.runtime.block_on(secrets.last("cfg", "cms")).unwrap().is_none());

    let record = install_by_hand(&cluster, &store, "cfg", "ours");
    let history: Value =
        serde_json::from_str(&cluster.helm_env(&env, &["history", "ours", "-n", "cfg", "-o", "json"])).unwrap();
    assert_eq!(history[0]["status"], "deployed");
    let manifest = cluster.helm_env(&env, &["get", "manifest", "ours", "-n", "cfg"]);
    assert_eq!(manifest.trim_end(), record.manifest.trim_end());
    let config_map = cluster.get_json(&["configmap", "sh.helm.release.v1.ours.v1", "-n", "cfg"]);
    assert_eq!(config_map["metadata"]["labels"]["owner"], "helm");
}

#[test]
fn reads_stay_in_the_release_namespace_and_corrupt_records_are_named() {
    let cluster = Cluster::start();
    cluster.kubectl(&["create", "namespace", "a"]);
    cluster.kubectl(&["create", "namespace", "b"]);
    let store = store(&cluster, Driver::Secret);
    install_by_hand(&cluster, &store, "a", "web");
    // A corrupt record of the same name in another namespace, and one of another release in
    // the same namespace: neither is read.
    for (namespace, name) in [("b", "web"), ("a", "other")] {
        cluster.kubectl(&[
            "create",
            "secret",
            "generic",
            &format!("sh.helm.release.v1.{name}.v1"),
            "-n",
            namespace,
            "--type",
            "helm.sh/release.v1",
            "--from-literal",
            "release=not a record",
        ]);
        cluster.kubectl(&[
            "label",
            "secret",
            &format!("sh.helm.release.v1.{name}.v1"),
            "-n",
            namespace,
            &format!("name={name}"),
            "owner=helm",
            "status=deployed",
            "version=1",
        ]);
    }
    let last = cluster.runtime.block_on(store.last("a", "web")).unwrap().unwrap();
    assert_eq!(last.version, 1);

    let error = cluster.runtime.block_on(store.history("b", "web")).unwrap_err();
    assert!(matches!(error, StorageError::Corrupt { .. }), "{error}");
    assert_eq!(
        error.to_string(),
        "release record `sh.helm.release.v1.web.v1` in namespace `b` is corrupt"
    );
    let cause = std::error::Error::source(&error).unwrap().to_string();
    assert_eq!(cause, "the body is not valid base64");
}

#[test]
fn transient_api_errors_are_retried() {
    let faults =
        "error=503:0.3@list|create|update|get/secrets;error=429:0.2@list|create/secrets;drop=0.2@list|get/secrets"
            .parse()
            .expect("fault spec");
    let cluster = Cluster::start_with(SandboxConfig {
        faults,
        seed: 7,
        controller_delay: Duration::from_millis(50),
        ..SandboxConfig::default()
    });
    let fast = RetryPolicy {
        attempts: 12,
        initial_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(50),
        ..RetryPolicy::default()
    };
    let service = cluster.sandbox.as_ref().unwrap().service();
    let kube = cluster
        .runtime
        .block_on(async { Kube::from_client(kube::Client::new(service, "default")) })
        .with_retry_policy(fast);
    let store = Store::new(Some(kube), Driver::Secret);
    for version in 1..=10 {
        let mut record = ReleaseRecord {
            name: "flaky".into(),
            namespace: "default".into(),
            version,
            ..ReleaseRecord::default()
        };
        record.info.status = Status::Deployed;
        cluster
            .runtime
            .block_on(store.create(&record))
            .expect("create despite faults");
        if version > 1 {
            let mut previous = cluster
                .runtime
                .block_on(store.get("default", "flaky", version - 1))
                .unwrap()
                .unwrap();
            previous.info.status = Status::Superseded;
            cluster
                .runtime
                .block_on(store.update(&previous))
                .expect("update despite faults");
        }
    }
    let history = cluster
        .runtime
        .block_on(store.history("default", "flaky"))
        .expect("history despite faults");
    assert_eq!(history.len(), 10);
    assert_eq!(history.iter().filter(|r| r.info.status == Status::Deployed).count(), 1);
    cluster
        .runtime
        .block_on(store.prune("default", "flaky", 3))
        .expect("prune despite faults");
    let history = cluster.runtime.block_on(store.history("default", "flaky")).unwrap();
    assert_eq!(history.iter().map(|r| r.version).collect::<Vec<_>>(), vec![8, 9, 10]);
}

#[test]
fn cluster_seam_discovers_applies_and_names_objects() {
    let cluster = Cluster::start();
    let kube = kube(&cluster);
    let rt = &cluster.runtime;
    let deployment = rt.block_on(kube.resolve("apps/v1", "Deployment")).unwrap();
    assert!(deployment.namespaced);
    assert_eq!(deployment.api_resource.plural, "deployments");
    let namespace = rt.block_on(kube.resolve("v1", "Namespace")).unwrap();
    assert!(!namespace.namespaced);
    let error = rt.block_on(kube.resolve("example.com/v1", "Widget")).unwrap_err();
    assert_eq!(
        error.to_string(),
        "no resource type for kind `Widget` in `example.com/v1` (is its CustomResourceDefinition installed?)"
    );

    // A CRD created mid-run resolves: the miss refreshes discovery.
    cluster.kubectl(&["apply", "-f", &sandbox_support::fixture("charts/widgets/crds")]);
    let widget = rt
        .block_on(kube.resolve("example.com/v1", "Widget"))
        .expect("resolves after the CRD exists");
    assert!(widget.namespaced);

    let options = ApplyOptions {
        field_manager: "helmfire".into(),
        force: false,
        dry_run: false,
    };
    let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "seam", "namespace": "default", "labels": {"app": "seam"}}, "data": {"a": "1"}});
    rt.block_on(kube.apply(&object, &options)).unwrap();
    let reference = ObjectRef::of(&object).unwrap();
    assert_eq!(reference.to_string(), "ConfigMap default/seam");
    let got = rt.block_on(kube.get(&reference)).unwrap().unwrap();
    assert_eq!(got.data["data"]["a"], "1");
    let configmaps = rt.block_on(kube.resolve("v1", "ConfigMap")).unwrap();
    assert_eq!(
        rt.block_on(kube.list(&configmaps, Some("default"), "app=seam"))
            .unwrap()
            .len(),
        1
    );
    let error = rt.block_on(kube.create(&object)).unwrap_err();
    assert!(error.is_conflict());
    assert_eq!(
        error.to_string(),
        "cannot create `ConfigMap default/seam`: it already exists"
    );
    let patch = Patch::Merge(json!({"data": {"b": "2"}}));
    let patched = rt
        .block_on(kube.patch(&reference, &patch, &PatchParams::default()))
        .unwrap();
    assert_eq!(patched.data["data"], json!({"a": "1", "b": "2"}));
    let missing = ObjectRef::new("v1", "ConfigMap", Some("default"), "absent");
    let error = rt
        .block_on(kube.patch(&missing, &patch, &PatchParams::default()))
        .unwrap_err();
    assert!(error.is_not_found());
    assert!(
        error.to_string().starts_with("cannot patch `ConfigMap default/absent`"),
        "{error}"
    );
    assert!(
        rt.block_on(kube.delete(&reference, Some(PropagationPolicy::Background)))
            .unwrap()
    );
    assert!(!rt.block_on(kube.delete(&reference, None)).unwrap());
    assert!(rt.block_on(kube.get(&reference)).unwrap().is_none());

    let invalid = rt
        .block_on(kube.apply(&json!({"apiVersion": "v1", "kind": "ConfigMap"}), &options))
        .unwrap_err();
    assert_eq!(
        invalid.to_string(),
        "invalid object `ConfigMap <unnamed>`: `metadata.name` is missing"
    );
}

#[test]
fn connect_reads_kubeconfig_and_context_and_reports_unreachable_clusters() {
    let cluster = Cluster::start();
    let rt = &cluster.runtime;
    let config = helmfire::cluster::ClusterConfig {
        kubeconfig: Some(cluster.kubeconfig.clone()),
        context: None,
        ..Default::default()
    };
    let kube = rt.block_on(Kube::connect(&config)).expect("connects");
    rt.block_on(kube.resolve("v1", "ConfigMap"))
        .expect("talks to the sandbox over HTTP");

    let wrong_context = helmfire::cluster::ClusterConfig {
        kubeconfig: Some(cluster.kubeconfig.clone()),
        context: Some("nope".into()),
        ..Default::default()
    };
    let error = rt.block_on(Kube::connect(&wrong_context)).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("has no context `nope` (it has: helmfire-sandbox)"),
        "{error}"
    );

    let missing = helmfire::cluster::ClusterConfig {
        kubeconfig: Some(cluster.home.path().join("absent")),
        context: None,
        ..Default::default()
    };
    assert!(rt.block_on(Kube::connect(&missing)).is_err());

    // A server that is gone: a clear transport error after bounded retries.
    let dead = cluster.home.path().join("dead-kubeconfig");
    std::fs::write(
        &dead,
        std::fs::read_to_string(&cluster.kubeconfig)
            .unwrap()
            .replace(&cluster.url(), "http://127.0.0.1:9"),
    )
    .unwrap();
    let config = helmfire::cluster::ClusterConfig {
        kubeconfig: Some(dead),
        context: None,
        ..Default::default()
    };
    let kube = rt
        .block_on(Kube::connect(&config))
        .unwrap()
        .with_retry_policy(RetryPolicy {
            attempts: 2,
            initial_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(1),
            ..RetryPolicy::default()
        });
    let error = rt.block_on(kube.resolve("v1", "ConfigMap")).unwrap_err();
    assert_eq!(error.to_string(), "cannot discover the resource types of `v1`");
    let cause = std::error::Error::source(&error).unwrap().to_string();
    assert_eq!(
        cause,
        "cannot discover `APIResourceList v1`: the cluster did not answer"
    );
}
