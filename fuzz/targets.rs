//! The fuzz targets' bodies, shared by cargo-fuzz (`fuzz/fuzz_targets/*.rs`) and the bounded
//! property tests every `cargo test` runs (`crates/helmfire-cli/tests/it/fuzz_inputs.rs`, which
//! mutates the seed corpora in `fuzz/seeds/`). Each must return for any input — an error is
//! fine, a panic, a hang or unbounded memory is a finding.

#![allow(dead_code, reason = "each cargo-fuzz target uses one of these")]

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

/// The state file, as YAML.
pub fn state_yaml(data: &[u8]) {
    state(data, "helmfire.yaml");
}

/// The state file, as TOML.
pub fn state_toml(data: &[u8]) {
    state(data, "helmfire.toml");
}

fn state(data: &[u8], name: &str) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let options = helmfire::state::LoadOptions {
        environment: "default".into(),
        ..Default::default()
    };
    // A directory that does not exist: file references fail instead of reading the machine.
    let path = Path::new("/nonexistent-fuzz-dir").join(name);
    let _ = helmfire::state::load_str(&path, text.to_string(), &options);
}

/// Values files (YAML with go-yaml's rules, JSON, TOML) and `--set`, `--set-string`,
/// `--set-json` lines. The first byte picks the reader.
pub fn values(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    use helmfire_chart::values::strvals;
    match selector % 7 {
        0 => drop(helmfire_value::yaml::decode_documents(text)),
        1 => drop(helmfire_value::json::decode(text)),
        2 => drop(helmfire_value::toml::decode(text)),
        3 => drop(strvals::parse(text)),
        4 => drop(strvals::parse_json(
            text,
            &helmfire_value::MapRef::new(Default::default()),
        )),
        5 => drop(strvals::parse_into_string(
            text,
            &helmfire_value::MapRef::new(Default::default()),
        )),
        _ => {
            // What a decoded document becomes when written back.
            if let Ok(value) = helmfire_value::yaml::decode(text) {
                let _ = helmfire_value::yaml::encode(&value);
                let _ = helmfire_value::json::encode(&value, helmfire_value::json::JsonStyle::Compact);
            }
        }
    }
}

/// A chart archive (`.tgz`), as downloaded from a repository or registry.
pub fn chart_archive(data: &[u8]) {
    let _ = helmfire_chart::load_archive(data, "fuzz.tgz");
}

/// A template: parsed, then executed within the engine's output and recursion limits.
pub fn template(data: &[u8]) {
    use helmfire_template::{Context, TemplateSet};
    use helmfire_value::{Map, Value};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut set = TemplateSet::default();
    set.options.max_output = 1 << 20;
    set.options.max_template_depth = 200;
    set.options.max_include_depth = 50;
    if set.parse("fuzz", text).is_err() {
        return;
    }
    let mut values = Map::new();
    values.insert("a".into(), Value::list(vec![Value::Float(1.0), Value::from("x")]));
    values.insert("m".into(), Value::map(Map::new()));
    let mut top = Map::new();
    top.insert("Values".into(), Value::map(values));
    let mut context = Context::with_seed(7);
    let _ = set.execute("fuzz", &Value::map(top), &mut context);
}

/// One sandbox started for all inputs (its runtime with it).
fn sandbox() -> &'static (tokio::runtime::Runtime, helmfire_sandbox::RunningSandbox) {
    static SANDBOX: OnceLock<(tokio::runtime::Runtime, helmfire_sandbox::RunningSandbox)> = OnceLock::new();
    SANDBOX.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let sandbox = runtime
            .block_on(helmfire_sandbox::Sandbox::start(helmfire_sandbox::SandboxConfig {
                controller_delay: Duration::from_millis(10),
                ..Default::default()
            }))
            .expect("sandbox");
        (runtime, sandbox)
    })
}

const METHODS: [&str; 5] = ["GET", "POST", "PUT", "PATCH", "DELETE"];
const CONTENT_TYPES: [&str; 7] = [
    "application/json",
    "application/yaml",
    "application/vnd.kubernetes.protobuf",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
    "application/json-patch+json",
];
const PATHS: [&str; 8] = [
    "/api/v1/namespaces/default/configmaps",
    "/api/v1/namespaces/default/configmaps/fuzz",
    "/api/v1/namespaces/default/secrets/fuzz?fieldManager=fuzz",
    "/apis/apps/v1/namespaces/default/deployments/fuzz?fieldManager=fuzz&force=true",
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    "/api/v1/namespaces",
    "/apis/coordination.k8s.io/v1/namespaces/default/leases/fuzz",
    "/api/v1/namespaces/default/pods?labelSelector=a%3Db,c!%3Dd&fieldSelector=metadata.name%3Dx",
];

/// One request to the sandbox: the first three bytes pick the method, the body's content type
/// and the path; the rest is the body (JSON, YAML, protobuf or a patch of any kind).
pub fn sandbox_request(data: &[u8]) {
    use tower_service::Service as _;
    let [method, content_type, path, body @ ..] = data else {
        return;
    };
    let (runtime, sandbox) = sandbox();
    let request = http::Request::builder()
        .method(METHODS[usize::from(*method) % METHODS.len()])
        .uri(PATHS[usize::from(*path) % PATHS.len()])
        .header(
            "content-type",
            CONTENT_TYPES[usize::from(*content_type) % CONTENT_TYPES.len()],
        )
        .body(http_body_util::Full::new(bytes::Bytes::copy_from_slice(body)))
        .expect("request");
    let mut service = sandbox.service();
    runtime.block_on(async {
        let answered = tokio::time::timeout(Duration::from_secs(10), async {
            let response = service.call(request).await.expect("infallible");
            // Watches are not opened here (no `watch` in the paths), so the body ends.
            let _ = response.into_body().into_bytes().await;
        })
        .await;
        assert!(answered.is_ok(), "the sandbox did not answer within 10s");
    });
}
