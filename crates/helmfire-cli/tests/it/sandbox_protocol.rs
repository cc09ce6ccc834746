//! Protocol-level behaviour through the in-process tower service: exact Status errors, bad input,
//! watch and WatchList, status subresource, preconditions, dryRun, fieldValidation, faults and
//! persistence.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use serde_json::{Value, json};
use tower_service::Service as _;

use helmfire_sandbox::{Sandbox, SandboxBody, SandboxConfig, SandboxService};

async fn start(config: SandboxConfig) -> (helmfire_sandbox::RunningSandbox, SandboxService) {
    let sandbox = Sandbox::start(config).await.expect("starts");
    let service = sandbox.service();
    (sandbox, service)
}

fn quick() -> SandboxConfig {
    SandboxConfig {
        controller_delay: Duration::from_millis(50),
        ..SandboxConfig::default()
    }
}

async fn send(
    service: &mut SandboxService,
    method: &str,
    path: &str,
    content_type: &str,
    body: impl Into<Bytes>,
) -> http::Response<SandboxBody> {
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .header("user-agent", "sandbox-test/1.0")
        .body(Full::new(body.into()))
        .expect("request");
    service.call(request).await.expect("infallible")
}

async fn call(service: &mut SandboxService, method: &str, path: &str, body: Value) -> (u16, Value) {
    let body = if body.is_null() {
        Bytes::new()
    } else {
        Bytes::from(body.to_string())
    };
    let response = send(service, method, path, "application/json", body).await;
    let code = response.status().as_u16();
    let bytes = response.into_body().into_bytes().await.expect("body");
    (code, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn next_event(body: &mut SandboxBody) -> Value {
    let frame = tokio::time::timeout(Duration::from_secs(5), body.frame())
        .await
        .expect("event in time")
        .expect("stream open")
        .expect("frame");
    let data = frame.into_data().expect("data frame");
    serde_json::from_slice(&data).expect("one JSON event per line")
}

fn cm(name: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"app": "x"}}, "data": {"a": "1"}})
}

#[tokio::test]
async fn not_found_status_is_exact() {
    let (_sandbox, mut svc) = start(quick()).await;
    let (code, body) = call(
        &mut svc,
        "GET",
        "/apis/apps/v1/namespaces/default/deployments/x",
        Value::Null,
    )
    .await;
    assert_eq!(code, 404);
    assert_eq!(
        body,
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "deployments.apps \"x\" not found", "reason": "NotFound",
            "details": {"name": "x", "group": "apps", "kind": "deployments"}, "code": 404})
    );
    let (code, body) = call(&mut svc, "GET", "/apis/nope.example.com/v1/things", Value::Null).await;
    assert_eq!(code, 404);
    assert_eq!(body["message"], "the server could not find the requested resource");
}

#[tokio::test]
async fn bad_input_is_a_status_never_a_crash() {
    let (_sandbox, mut svc) = start(quick()).await;
    let path = "/api/v1/namespaces/default/configmaps";
    for (content_type, body) in [
        ("application/json", &b"{\"metadata\": "[..]),
        ("application/json", &b"[1,2]"[..]),
        ("application/yaml", &b"metadata: [unclosed"[..]),
        ("application/vnd.kubernetes.protobuf", &b"k8s\0\x0a\xff\xff"[..]),
        ("application/vnd.kubernetes.protobuf", &b"no magic"[..]),
    ] {
        let response = send(&mut svc, "POST", path, content_type, Bytes::from_static(body)).await;
        assert_eq!(response.status().as_u16(), 400, "{content_type} {body:?}");
        let bytes = response.into_body().into_bytes().await.expect("body");
        let status: Value = serde_json::from_slice(&bytes).expect("Status JSON");
        assert_eq!(status["kind"], "Status");
        assert_eq!(status["reason"], "BadRequest");
    }
    let response = send(&mut svc, "POST", path, "text/plain", "x").await;
    assert_eq!(response.status().as_u16(), 415);
    let patch = send(
        &mut svc,
        "PATCH",
        &format!("{path}/x"),
        "application/apply-patch+yaml",
        "a: [",
    )
    .await;
    assert_eq!(
        patch.status().as_u16(),
        422,
        "apply without fieldManager is checked first"
    );
    let (code, body) = call(&mut svc, "GET", "/api/v1/namespaces/default/pods/p/log", Value::Null).await;
    assert_eq!(code, 501);
    assert!(body["message"].as_str().is_some_and(|m| m.contains("`log`")), "{body}");
    let (code, _) = call(&mut svc, "POST", "/version", Value::Null).await;
    assert_eq!(code, 405);
    let (code, _) = call(
        &mut svc,
        "GET",
        "/api/v1/configmaps?labelSelector=a%20in%20b",
        Value::Null,
    )
    .await;
    assert_eq!(code, 400);
    // The store is intact afterwards.
    let (code, _) = call(&mut svc, "POST", path, cm("ok")).await;
    assert_eq!(code, 201);
}

#[tokio::test]
async fn updates_honour_resource_version_preconditions() {
    let (_sandbox, mut svc) = start(quick()).await;
    let path = "/api/v1/namespaces/default/configmaps";
    let (code, created) = call(&mut svc, "POST", path, cm("c")).await;
    assert_eq!(code, 201);
    let mut unconditional = cm("c");
    unconditional["data"]["a"] = json!("2");
    let (code, updated) = call(&mut svc, "PUT", &format!("{path}/c"), unconditional).await;
    assert_eq!(code, 200);
    assert_eq!(updated["metadata"]["uid"], created["metadata"]["uid"]);
    let mut stale = cm("c");
    stale["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"].clone();
    let (code, body) = call(&mut svc, "PUT", &format!("{path}/c"), stale).await;
    assert_eq!(code, 409);
    assert_eq!(body["reason"], "Conflict");
    let (code, body) = call(&mut svc, "POST", path, cm("c")).await;
    assert_eq!((code, body["reason"].clone()), (409, json!("AlreadyExists")));
}

#[tokio::test]
async fn dry_run_and_strict_validation() {
    let (_sandbox, mut svc) = start(quick()).await;
    let path = "/api/v1/namespaces/default/configmaps";
    let (code, body) = call(&mut svc, "POST", &format!("{path}?dryRun=All"), cm("d")).await;
    assert_eq!(code, 201);
    assert_eq!(body["metadata"]["name"], "d");
    let (code, _) = call(&mut svc, "GET", &format!("{path}/d"), Value::Null).await;
    assert_eq!(code, 404);
    let mut extra = cm("e");
    extra["spec"] = json!({"nope": 1});
    let (code, body) = call(
        &mut svc,
        "POST",
        &format!("{path}?fieldValidation=Strict"),
        extra.clone(),
    )
    .await;
    assert_eq!(code, 400);
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("unknown field \"spec\"")),
        "{body}"
    );
    let (code, _) = call(&mut svc, "POST", &format!("{path}?fieldValidation=Ignore"), extra).await;
    assert_eq!(code, 201);
}

#[tokio::test]
async fn status_subresource_is_separate_from_spec() {
    let (_sandbox, mut svc) = start(SandboxConfig {
        controller_delay: Duration::from_secs(3600),
        ..SandboxConfig::default()
    })
    .await;
    let path = "/apis/batch/v1/namespaces/default/jobs";
    let job = json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}},
        "status": {"succeeded": 9}});
    let (code, created) = call(&mut svc, "POST", path, job).await;
    assert_eq!(code, 201);
    assert!(created["status"].is_null(), "status is reset on create");
    let mut with_status = created.clone();
    with_status["status"] = json!({"active": 1});
    with_status["spec"]["parallelism"] = json!(5);
    let (code, updated) = call(&mut svc, "PUT", &format!("{path}/j/status"), with_status).await;
    assert_eq!(code, 200);
    assert_eq!(updated["status"]["active"], 1);
    assert_eq!(updated["spec"]["parallelism"], 1, "spec ignored on /status");
    assert_eq!(updated["metadata"]["generation"], 1);
    let mut main = updated.clone();
    main["status"] = json!({"active": 7});
    main["spec"]["backoffLimit"] = json!(2);
    let (code, updated) = call(&mut svc, "PUT", &format!("{path}/j"), main).await;
    assert_eq!(code, 200);
    assert_eq!(updated["status"]["active"], 1, "status ignored on the main resource");
    assert_eq!(updated["metadata"]["generation"], 2);
}

#[tokio::test]
async fn watch_list_ends_initial_events_with_a_bookmark() {
    let (_sandbox, mut svc) = start(quick()).await;
    let path = "/api/v1/namespaces/default/configmaps";
    call(&mut svc, "POST", path, cm("a")).await;
    let response = send(
        &mut svc,
        "GET",
        &format!("{path}?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&labelSelector=app%3Dx"),
        "application/json",
        Bytes::new(),
    )
    .await;
    assert_eq!(response.status().as_u16(), 200);
    let mut body = response.into_body();
    let added = next_event(&mut body).await;
    assert_eq!(added["type"], "ADDED");
    assert_eq!(added["object"]["metadata"]["name"], "a");
    let bookmark = next_event(&mut body).await;
    assert_eq!(bookmark["type"], "BOOKMARK");
    assert_eq!(
        bookmark["object"]["metadata"]["annotations"]["k8s.io/initial-events-end"],
        "true"
    );
    call(&mut svc, "POST", path, cm("b")).await;
    let live = next_event(&mut body).await;
    assert_eq!(
        (live["type"].clone(), live["object"]["metadata"]["name"].clone()),
        (json!("ADDED"), json!("b"))
    );
    call(&mut svc, "DELETE", &format!("{path}/b"), Value::Null).await;
    let deleted = next_event(&mut body).await;
    assert_eq!(deleted["type"], "DELETED");
}

#[tokio::test]
async fn watch_resumes_from_a_resource_version_and_follows_selectors() {
    let (_sandbox, mut svc) = start(quick()).await;
    let path = "/api/v1/namespaces/default/configmaps";
    let (_, list) = call(&mut svc, "GET", path, Value::Null).await;
    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .expect("list rv")
        .to_string();
    call(&mut svc, "POST", path, cm("a")).await;
    let mut relabelled = cm("a");
    relabelled["metadata"]["labels"] = json!({"app": "y"});
    call(&mut svc, "PUT", &format!("{path}/a"), relabelled).await;
    let response = send(
        &mut svc,
        "GET",
        &format!("{path}?watch=true&resourceVersion={rv}&labelSelector=app%3Dx"),
        "application/json",
        Bytes::new(),
    )
    .await;
    let mut body = response.into_body();
    assert_eq!(next_event(&mut body).await["type"], "ADDED");
    // The object stopped matching the selector: watchers see it leave.
    assert_eq!(next_event(&mut body).await["type"], "DELETED");
}

#[tokio::test]
async fn watch_times_out_cleanly() {
    let (_sandbox, mut svc) = start(quick()).await;
    let response = send(
        &mut svc,
        "GET",
        "/api/v1/namespaces?watch=true&resourceVersion=1000000&timeoutSeconds=1",
        "application/json",
        Bytes::new(),
    )
    .await;
    let body = tokio::time::timeout(Duration::from_secs(5), response.into_body().into_bytes())
        .await
        .expect("stream ends at the timeout")
        .expect("clean end");
    assert!(body.is_empty());
}

async fn fault_run(seed: u64) -> Vec<u16> {
    let faults = "error=503:1@create/configmaps;error=429:0.5@get/*"
        .parse()
        .expect("valid spec");
    let (_sandbox, mut svc) = start(SandboxConfig {
        faults,
        seed,
        ..quick()
    })
    .await;
    let response = send(
        &mut svc,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        "application/json",
        cm("a").to_string(),
    )
    .await;
    assert_eq!(response.status().as_u16(), 503);
    assert!(response.headers().get("retry-after").is_some());
    let mut codes = Vec::new();
    for _ in 0..20 {
        let (code, _) = call(&mut svc, "GET", "/api/v1/namespaces/default", Value::Null).await;
        codes.push(code);
    }
    codes
}

#[tokio::test]
async fn injected_faults_are_deterministic() {
    let first = fault_run(42).await;
    assert_eq!(first, fault_run(42).await);
    assert!(first.contains(&429) && first.contains(&200), "{first:?}");
}

#[tokio::test]
async fn dropped_connections_end_mid_body() {
    let (_sandbox, mut svc) = start(SandboxConfig {
        faults: "drop=1@get/*".parse().expect("valid"),
        ..quick()
    })
    .await;
    let response = send(
        &mut svc,
        "GET",
        "/api/v1/namespaces/default",
        "application/json",
        Bytes::new(),
    )
    .await;
    assert!(response.into_body().into_bytes().await.is_err());
}

#[tokio::test]
async fn data_dir_survives_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let config = SandboxConfig {
        data_dir: Some(dir.path().to_path_buf()),
        ..quick()
    };
    let (sandbox, mut svc) = start(config.clone()).await;
    let (_, created) = call(&mut svc, "POST", "/api/v1/namespaces/default/configmaps", cm("kept")).await;
    sandbox.shutdown().await.expect("flushes");
    let (sandbox, mut svc) = start(config).await;
    let (code, again) = call(
        &mut svc,
        "GET",
        "/api/v1/namespaces/default/configmaps/kept",
        Value::Null,
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(again["metadata"]["uid"], created["metadata"]["uid"]);
    let (_, next) = call(&mut svc, "POST", "/api/v1/namespaces/default/configmaps", cm("new")).await;
    let old_rv: u64 = created["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("rv");
    let new_rv: u64 = next["metadata"]["resourceVersion"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("rv");
    assert!(new_rv > old_rv, "resourceVersions keep increasing across restarts");
    sandbox.shutdown().await.expect("flushes");
}

#[tokio::test]
async fn strategic_merge_patch_is_refused_for_custom_resources() {
    let (_sandbox, mut svc) = start(quick()).await;
    let crd: Value =
        helmfire_value::interop::yaml_to_json(include_str!("../../../../testdata/sandbox/manifests/widget-crd.yaml"))
            .expect("yaml");
    let (code, _) = call(
        &mut svc,
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        crd,
    )
    .await;
    assert_eq!(code, 201);
    let widget =
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"size": 1}});
    let (code, _) = call(
        &mut svc,
        "POST",
        "/apis/example.com/v1/namespaces/default/widgets",
        widget,
    )
    .await;
    assert_eq!(code, 201);
    let response = send(
        &mut svc,
        "PATCH",
        "/apis/example.com/v1/namespaces/default/widgets/w",
        "application/strategic-merge-patch+json",
        "{}",
    )
    .await;
    assert_eq!(response.status().as_u16(), 415);
    let response = send(
        &mut svc,
        "PATCH",
        "/apis/example.com/v1/namespaces/default/widgets/w",
        "application/merge-patch+json",
        r#"{"spec":{"size":2}}"#,
    )
    .await;
    assert_eq!(response.status().as_u16(), 200);
}

#[tokio::test]
async fn wrongly_typed_fields_are_rejected_before_use() {
    let (_sandbox, mut svc) = start(quick()).await;
    let path = "/apis/apps/v1/namespaces/default/deployments";
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"selector": {"matchLabels": {"app": "d"}}, "template": {"metadata": {"labels": "oops"}}}});
    let (code, body) = call(&mut svc, "POST", path, deployment).await;
    assert_eq!(code, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("spec.template.metadata.labels")),
        "{body}"
    );
    let ok = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
        "spec": {"selector": {"matchLabels": {"app": "d"}}, "template": {"metadata": {"labels": {"app": "d"}}}}});
    assert_eq!(call(&mut svc, "POST", path, ok).await.0, 201);
    // A JSON patch that replaces the whole document with a non-object.
    let response = send(
        &mut svc,
        "PATCH",
        &format!("{path}/d"),
        "application/json-patch+json",
        r#"[{"op":"replace","path":"","value":[1]}]"#,
    )
    .await;
    assert_eq!(response.status().as_u16(), 400);
    let response = send(
        &mut svc,
        "PATCH",
        &format!("{path}/d/status"),
        "application/merge-patch+json",
        r#"{"status":"broken"}"#,
    )
    .await;
    assert_eq!(response.status().as_u16(), 400);
    let (code, _) = call(&mut svc, "GET", &format!("{path}/d"), Value::Null).await;
    assert_eq!(code, 200);
}

#[tokio::test]
async fn cut_watches_end_early() {
    let (_sandbox, mut svc) = start(SandboxConfig {
        faults: "cut-watch=200ms@watch/*".parse().expect("valid"),
        ..quick()
    })
    .await;
    let response = send(
        &mut svc,
        "GET",
        "/api/v1/namespaces?watch=true&timeoutSeconds=60",
        "application/json",
        Bytes::new(),
    )
    .await;
    let started = std::time::Instant::now();
    let body = tokio::time::timeout(Duration::from_secs(5), response.into_body().into_bytes())
        .await
        .expect("cut long before the 60s timeout")
        .expect("stream ends");
    assert!(started.elapsed() < Duration::from_secs(2));
    // The initial ADDED events for the default namespaces came through before the cut.
    assert_eq!(body.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count(), 4);
}

#[tokio::test]
async fn generate_name_delete_collection_and_orphans() {
    let (_sandbox, mut svc) = start(quick()).await;
    let path = "/api/v1/namespaces/default/configmaps";
    let generated = json!({"metadata": {"generateName": "gen-", "labels": {"app": "x"}}});
    let (code, body) = call(&mut svc, "POST", path, generated).await;
    assert_eq!(code, 201);
    let name = body["metadata"]["name"].as_str().expect("name");
    assert!(name.starts_with("gen-") && name.len() == 9, "{name}");
    let (_, owner) = call(&mut svc, "POST", path, cm("owner")).await;
    let mut dependent = json!({"metadata": {"name": "dependent", "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap",
        "name": "owner", "uid": owner["metadata"]["uid"]}]}});
    dependent["metadata"]["labels"] = json!({"app": "y"});
    call(&mut svc, "POST", path, dependent).await;
    let (code, _) = call(
        &mut svc,
        "DELETE",
        &format!("{path}/owner"),
        json!({"propagationPolicy": "Orphan"}),
    )
    .await;
    assert_eq!(code, 200);
    let (code, orphan) = call(&mut svc, "GET", &format!("{path}/dependent"), Value::Null).await;
    assert_eq!(code, 200);
    assert!(orphan["metadata"]["ownerReferences"].is_null(), "{orphan}");
    let (code, deleted) = call(
        &mut svc,
        "DELETE",
        &format!("{path}?labelSelector=app%3Dx"),
        Value::Null,
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(deleted["items"].as_array().map(Vec::len), Some(1));
    let (_, left) = call(&mut svc, "GET", path, Value::Null).await;
    let names: Vec<&str> = left["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| i["metadata"]["name"].as_str())
        .filter(|n| *n != "kube-root-ca.crt")
        .collect();
    assert_eq!(names, vec!["dependent"]);
}

#[tokio::test]
async fn terminating_namespaces_refuse_new_content() {
    let (_sandbox, mut svc) = start(quick()).await;
    call(
        &mut svc,
        "POST",
        "/api/v1/namespaces",
        json!({"metadata": {"name": "t"}}),
    )
    .await;
    let mut blocked = cm("blocked");
    blocked["metadata"]["finalizers"] = json!(["example.com/hold"]);
    call(&mut svc, "POST", "/api/v1/namespaces/t/configmaps", blocked).await;
    let (code, ns) = call(&mut svc, "DELETE", "/api/v1/namespaces/t", Value::Null).await;
    assert_eq!(code, 200);
    assert_eq!(ns["status"]["phase"], "Terminating");
    let (code, body) = call(&mut svc, "POST", "/api/v1/namespaces/t/configmaps", cm("late")).await;
    assert_eq!(code, 403, "{body}");
    assert_eq!(body["reason"], "Forbidden");
    // Releasing the finalizer lets the namespace finish.
    let response = send(
        &mut svc,
        "PATCH",
        "/api/v1/namespaces/t/configmaps/blocked",
        "application/merge-patch+json",
        r#"{"metadata":{"finalizers":null}}"#,
    )
    .await;
    assert_eq!(response.status().as_u16(), 200);
    let mut gone = false;
    for _ in 0..50 {
        if call(&mut svc, "GET", "/api/v1/namespaces/t", Value::Null).await.0 == 404 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (_, ns) = call(&mut svc, "GET", "/api/v1/namespaces/t", Value::Null).await;
    let (_, cms) = call(&mut svc, "GET", "/api/v1/namespaces/t/configmaps", Value::Null).await;
    assert!(gone, "namespace removed once empty: {ns} {cms}");
}

/// Deterministic pseudo-random requests: every answer must be a proper response below 500 (a
/// 500 here means a handler bug caught by the panic net), and errors must be Status objects.
#[tokio::test]
async fn random_requests_never_break_the_server() {
    let (_sandbox, mut svc) = start(quick()).await;
    let mut seed: u64 = 0x5eed;
    let mut next = move |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    let paths = [
        "/api/v1/namespaces/default/configmaps",
        "/api/v1/namespaces/default/configmaps/x",
        "/api/v1/namespaces/default/secrets/x",
        "/apis/apps/v1/namespaces/default/deployments/d",
        "/apis/apps/v1/namespaces/default/deployments/d/status",
        "/api/v1/namespaces/x",
        "/api/v1/namespaces/x/status",
        "/api/v1/namespaces/x/finalize",
        "/api/v1/namespaces",
        "/apis/batch/v1/namespaces/default/jobs/j",
        "/api/v1/nodes/n",
        "/apis/apps/v1/deployments",
        "/api/v1/namespaces/default/services/s",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/w.example.com",
        "/apis",
        "/api",
        "/openapi/v3/apis/apps/v1",
        "/api/v1/namespaces/default/pods/p",
    ];
    let methods = ["GET", "POST", "PUT", "PATCH", "DELETE"];
    let types = [
        "application/json",
        "application/merge-patch+json",
        "application/json-patch+json",
        "application/strategic-merge-patch+json",
        "application/apply-patch+yaml",
        "application/yaml",
    ];
    let fragments = [
        json!(null),
        json!(1),
        json!("s"),
        json!([]),
        json!({}),
        json!([{"op": "add", "path": "/metadata/x", "value": 1}]),
        json!({"metadata": {"name": "x"}}),
        json!({"metadata": "x"}),
        json!({"metadata": {"name": "d", "labels": {"a": 1}}}),
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {"spec": {"containers": [{"name": "c"}]}}}}),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x", "finalizers": ["f"]}, "spec": {"finalizers": "bad"}}),
        json!({"spec": {"replicas": "many", "ports": [{"port": 80}]}, "status": {"phase": 3}}),
        json!({"metadata": {"name": "x", "managedFields": [{"manager": 1, "fieldsV1": "x"}]}}),
        json!([{"op": "replace", "path": "/metadata", "value": []}]),
        json!([{"op": "move", "from": "/a", "path": "/b"}]),
        json!({"metadata": {"name": "x", "ownerReferences": [{"uid": 5}], "finalizers": [1, {}]}}),
    ];
    for i in 0..600 {
        let path = paths[next(paths.len())];
        let method = methods[next(methods.len())];
        let content_type = types[next(types.len())];
        let body = fragments[next(fragments.len())].to_string();
        let query = [
            "",
            "?dryRun=All",
            "?fieldManager=fuzz&force=true",
            "?fieldValidation=Strict",
            "?watch=true&timeoutSeconds=0",
            "?labelSelector=a%3D1&limit=1",
        ][next(6)];
        let response = send(&mut svc, method, &format!("{path}{query}"), content_type, body.clone()).await;
        let code = response.status().as_u16();
        let watch = query.contains("watch") && code == 200;
        let bytes = tokio::time::timeout(Duration::from_secs(5), response.into_body().into_bytes())
            .await
            .expect("every response ends")
            .expect("complete body");
        assert!(
            code < 500,
            "#{i} {method} {path}{query} [{content_type}] {body} -> {code}: {}",
            String::from_utf8_lossy(&bytes)
        );
        if code >= 400 {
            let status: Value = serde_json::from_slice(&bytes).expect("error bodies are JSON");
            assert_eq!(status["kind"], "Status", "#{i}");
            assert_eq!(status["code"], code, "#{i}");
        } else if !watch && !path.starts_with("/openapi") {
            serde_json::from_slice::<Value>(&bytes).expect("success bodies are JSON");
        }
    }
}
