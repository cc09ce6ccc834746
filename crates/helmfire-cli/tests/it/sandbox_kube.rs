//! kube-rs (what helmfire's cluster layer uses) against the sandbox's in-process tower service:
//! typed CRUD, all patch types including server-side apply conflicts, and the runtime watcher in
//! both list+watch and streaming-list (WatchList) modes.

use std::time::Duration;

use futures::{StreamExt as _, TryStreamExt as _};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use serde_json::json;

use helmfire_sandbox::{RunningSandbox, Sandbox, SandboxConfig};

async fn client() -> (RunningSandbox, kube::Client) {
    let sandbox = Sandbox::start(SandboxConfig {
        controller_delay: Duration::from_millis(50),
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox starts");
    let client = kube::Client::new(sandbox.service(), "default");
    (sandbox, client)
}

fn config_map(name: &str, value: &str) -> ConfigMap {
    serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"app": "kube"}}, "data": {"a": value}}))
    .expect("valid ConfigMap")
}

fn api_code(error: &kube::Error) -> Option<u16> {
    match error {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

#[tokio::test]
async fn typed_crud_and_list() {
    let (_sandbox, client) = client().await;
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    let created = api
        .create(&PostParams::default(), &config_map("a", "1"))
        .await
        .expect("create");
    assert!(created.metadata.uid.is_some());
    api.create(&PostParams::default(), &config_map("b", "2"))
        .await
        .expect("create");
    let error = api
        .create(&PostParams::default(), &config_map("a", "1"))
        .await
        .expect_err("exists");
    assert_eq!(api_code(&error), Some(409));
    let list = api
        .list(&ListParams::default().labels("app=kube").limit(1))
        .await
        .expect("list");
    assert_eq!(list.items.len(), 1);
    let token = list.metadata.continue_.clone().expect("continue token");
    let rest = api
        .list(&ListParams::default().labels("app=kube").continue_token(&token))
        .await
        .expect("page 2");
    assert_eq!(rest.items.len(), 1);
    assert_eq!(api.get("b").await.expect("get").data.expect("data")["a"], "2");
    api.delete("a", &DeleteParams::default()).await.expect("delete");
    assert_eq!(api_code(&api.get("a").await.expect_err("gone")), Some(404));
}

#[tokio::test]
async fn every_patch_type() {
    let (_sandbox, client) = client().await;
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    let apply = PatchParams::apply("helmfire");
    let applied = api
        .patch("p", &apply, &Patch::Apply(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "p"}, "data": {"a": "1", "b": "2"}})))
        .await
        .expect("apply creates");
    assert_eq!(applied.metadata.managed_fields.as_ref().map(Vec::len), Some(1));
    api.patch("p", &PatchParams::default(), &Patch::Merge(json!({"data": {"c": "3"}})))
        .await
        .expect("merge");
    api.patch(
        "p",
        &PatchParams::default(),
        &Patch::Strategic(json!({"data": {"d": "4"}})),
    )
    .await
    .expect("strategic");
    let error = api
        .patch(
            "p",
            &apply,
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "p"}, "data": {"a": "1"}}),
            ),
        )
        .await;
    assert!(error.is_ok(), "same value, no conflict: {error:?}");
    api.patch("p", &PatchParams::default(), &Patch::Merge(json!({"data": {"a": "9"}})))
        .await
        .expect("merge");
    let conflict = api
        .patch(
            "p",
            &apply,
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "p"}, "data": {"a": "1"}}),
            ),
        )
        .await
        .expect_err("another manager changed .data.a");
    assert_eq!(api_code(&conflict), Some(409));
    let forced = api
        .patch(
            "p",
            &apply.clone().force(),
            &Patch::Apply(
                json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "p"}, "data": {"a": "1"}}),
            ),
        )
        .await
        .expect("forced");
    let data = forced.data.expect("data");
    assert_eq!(data["a"], "1");
    // Dropping `b` from helmfire's apply removes it; `c` and `d` belong to other managers.
    assert!(!data.contains_key("b"), "{data:?}");
    assert!(data.contains_key("c") && data.contains_key("d"), "{data:?}");
}

#[tokio::test]
async fn watcher_list_watch_and_streaming_list() {
    let (_sandbox, client) = client().await;
    let api: Api<ConfigMap> = Api::default_namespaced(client.clone());
    api.create(&PostParams::default(), &config_map("before", "1"))
        .await
        .expect("create");
    for config in [watcher::Config::default(), watcher::Config::default().streaming_lists()] {
        let mut stream = watcher(api.clone(), config.labels("app=kube")).boxed();
        let mut initial = Vec::new();
        loop {
            let event = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
                .await
                .expect("event in time")
                .expect("no watch error")
                .expect("stream open");
            match event {
                watcher::Event::Init => {}
                watcher::Event::InitApply(cm) => initial.push(cm.metadata.name.unwrap_or_default()),
                watcher::Event::InitDone => break,
                other => panic!("unexpected event before InitDone: {other:?}"),
            }
        }
        assert!(initial.contains(&"before".to_string()), "{initial:?}");
        let name = format!("live-{}", initial.len());
        api.create(&PostParams::default(), &config_map(&name, "2"))
            .await
            .expect("create");
        let event = tokio::time::timeout(Duration::from_secs(5), stream.try_next())
            .await
            .expect("live event in time")
            .expect("no watch error")
            .expect("stream open");
        match event {
            watcher::Event::Apply(cm) => {
                assert_eq!(cm.metadata.name.as_deref(), Some(name.as_str()))
            }
            other => panic!("expected Apply, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn deployments_become_available() {
    let (_sandbox, client) = client().await;
    let api: Api<Deployment> = Api::default_namespaced(client);
    let deployment: Deployment = serde_json::from_value(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"app": "d"}},
        "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}))
    .expect("valid Deployment");
    api.create(&PostParams::default(), &deployment).await.expect("create");
    let ready = kube::runtime::wait::await_condition(api.clone(), "d", |d: Option<&Deployment>| {
        d.and_then(|d| d.status.as_ref()).and_then(|s| s.available_replicas) == Some(1)
    });
    tokio::time::timeout(Duration::from_secs(10), ready)
        .await
        .expect("available in time")
        .expect("no watch error");
}

#[tokio::test]
async fn discovery_finds_builtins_and_established_crds() {
    let (_sandbox, client) = client().await;
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(client.clone());
    let crd: serde_json::Value =
        helmfire_value::interop::yaml_to_json(include_str!("../../../../testdata/sandbox/manifests/widget-crd.yaml"))
            .expect("yaml");
    crds.create(&PostParams::default(), &serde_json::from_value(crd).expect("CRD"))
        .await
        .expect("create CRD");
    let discovery = kube::Discovery::new(client.clone()).run().await.expect("discovery");
    let (deployments, caps) = discovery
        .resolve_gvk(&kube::api::GroupVersionKind::gvk("apps", "v1", "Deployment"))
        .expect("deployments discovered");
    assert_eq!(deployments.plural, "deployments");
    assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
    let (widgets, _) = discovery
        .resolve_gvk(&kube::api::GroupVersionKind::gvk("example.com", "v1", "Widget"))
        .expect("CRD served");
    let api: Api<kube::api::DynamicObject> = Api::default_namespaced_with(client, &widgets);
    let widget: kube::api::DynamicObject =
        serde_json::from_value(json!({"apiVersion": "example.com/v1", "kind": "Widget",
        "metadata": {"name": "w"}, "spec": {"size": 2}}))
        .expect("widget");
    api.create(&PostParams::default(), &widget).await.expect("create CR");
    assert_eq!(api.get("w").await.expect("get CR").data["spec"]["size"], 2);
}

#[tokio::test]
async fn kube_rs_over_loopback_with_the_written_kubeconfig() {
    let (sandbox, _) = client().await;
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("kubeconfig");
    sandbox
        .write_kubeconfig(&path, helmfire_sandbox::DEFAULT_CONTEXT)
        .expect("kubeconfig written");
    let kubeconfig = kube::config::Kubeconfig::read_from(&path).expect("kubeconfig parses");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &kube::config::KubeConfigOptions::default())
        .await
        .expect("config");
    assert_eq!(config.default_namespace, "default");
    let client = kube::Client::try_from(config).expect("client");
    let version = client.apiserver_version().await.expect("version over TCP");
    assert_eq!(version.major, "1");
    let api: Api<ConfigMap> = Api::default_namespaced(client);
    api.create(&PostParams::default(), &config_map("tcp", "1"))
        .await
        .expect("create over TCP");
    sandbox.shutdown().await.expect("shutdown");
}
