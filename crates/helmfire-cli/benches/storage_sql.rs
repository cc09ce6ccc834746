//! `HELM_DRIVER=sql`: reading the records of 1,000 releases for `helmfire diff` must take one
//! query and well under a second. A throwaway PostgreSQL (the tests' harness: initdb + pg_ctl on
//! loopback) gets 1,000 release records (a realistic 40-object manifest each, in 10
//! namespaces); then, in-process, `observe::histories` (what `diff` and `apply` call: one
//! batched query plus decoding), the same reads one query per release (16 at a time, the
//! cluster drivers' way), and, as whole processes on the same database, `helm list -A` (helm's
//! driver: one query, then one labels query per release) next to `helmfire status` of one
//! release. Run: `cargo bench --bench storage_sql` (numbers go to BENCHMARKS.md).

#[allow(dead_code, reason = "the bench uses part of the tests' PostgreSQL harness")]
#[path = "../tests/support/postgres.rs"]
mod postgres;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use helmfire::state::{LoadOptions, load_str};
use helmfire::storage::sql::connection;
use helmfire::storage::{Driver, ReleaseRecord, Status, StorageSettings, Store};
use helmfire_sandbox::{Sandbox, SandboxConfig};

const RELEASES: usize = 1_000;
const IN_PROCESS_RUNS: usize = 15;
const PROCESS_RUNS: usize = 5;

fn oracle(name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(format!("HELMFIRE_{}", name.to_ascii_uppercase())) {
        return PathBuf::from(path);
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            if dir.join(name).is_file() {
                return dir.join(name);
            }
        }
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    let cached = home.join(".cache/helmfire/oracles/kubectl-v34-2.2.2/bin").join(name);
    assert!(cached.is_file(), "`{name}` not found (run scripts/install-oracles.sh)");
    cached
}

/// A realistic record: a 40-object manifest (~14 KB) and a few values.
fn record(name: &str, namespace: &str) -> ReleaseRecord {
    let mut manifest = String::new();
    for i in 0..40 {
        manifest.push_str(&format!(
            "---\n# Source: app/templates/cm{i}.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}-cm{i}\n  labels:\n    app.kubernetes.io/name: {name}\n    app.kubernetes.io/instance: {name}\ndata:\n  key: \"value {i} of {name} with some padding to look like a real object\"\n  other: \"{}\"\n",
            "x".repeat(120)
        ));
    }
    let mut chart = helmfire_chart::Chart::default();
    chart.metadata.name = "app".into();
    chart.metadata.version = "1.0.0".into();
    chart.metadata.app_version = "2.0".into();
    chart.metadata.api_version = "v2".into();
    let mut config = helmfire_value::Map::new();
    config.insert("replicas".into(), helmfire_value::Value::int64(3));
    let mut record = ReleaseRecord::new(name, namespace, 1, &chart, &config);
    record.manifest = manifest;
    record.info.status = Status::Deployed;
    record.info.description = "Install complete".into();
    record
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn ms(duration: Duration) -> String {
    format!("{:.1} ms", duration.as_secs_f64() * 1000.0)
}

fn time_process(mut command: impl FnMut() -> Command) -> Duration {
    let mut samples = Vec::new();
    for _ in 0..PROCESS_RUNS {
        let mut command = command();
        let started = Instant::now();
        let output = command.output().expect("runs");
        samples.push(started.elapsed());
        assert!(
            output.status.success(),
            "{command:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    median(samples)
}

fn main() {
    let db = postgres::Database::create("bench");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let settings = StorageSettings {
        driver: Driver::Sql,
        connection: Some(connection::resolve(&db.connection(), &|_| None).expect("connection string")),
    };
    let store = runtime.block_on(Store::open(None, &settings)).expect("store");

    let names: Vec<(String, String)> = (0..RELEASES)
        .map(|i| (format!("ns{}", i % 10), format!("release-{i}")))
        .collect();
    let started = Instant::now();
    runtime.block_on(async {
        let mut writes = tokio::task::JoinSet::new();
        for (namespace, name) in names.clone() {
            let store = store.clone();
            writes.spawn(async move { store.create(&record(&name, &namespace)).await });
        }
        while let Some(done) = writes.join_next().await {
            done.unwrap().expect("create");
        }
    });
    let body_bytes = db.rows("SELECT sum(length(body)) FROM releases_v1");
    println!(
        "{RELEASES} release records written in {} ({} bytes of bodies)",
        ms(started.elapsed()),
        body_bytes[0][0]
    );

    // The state `diff` would load: the same 1,000 releases.
    let chart = format!("{}/../../testdata/charts/ten-objects", env!("CARGO_MANIFEST_DIR"));
    let mut text = String::from("releases:\n");
    for (namespace, name) in &names {
        text.push_str(&format!(
            "  - {{name: {name}, namespace: {namespace}, chart: '{chart}'}}\n"
        ));
    }
    let state = load_str(
        Path::new("helmfire.yaml"),
        text,
        &LoadOptions {
            environment: "default".into(),
            ..LoadOptions::default()
        },
    )
    .expect("state loads");
    let selected: Vec<usize> = (0..state.releases.len()).collect();

    let (batched, per_release) = runtime.block_on(async {
        let mut batched = Vec::new();
        for _ in 0..IN_PROCESS_RUNS {
            let started = Instant::now();
            let histories = helmfire::observe::histories(
                selected.iter().map(|&index| (index, store.clone())).collect(),
                &state,
                16,
            )
            .await;
            batched.push(started.elapsed());
            assert_eq!(histories.len(), RELEASES);
            assert!(
                histories
                    .values()
                    .all(|h| { h.as_ref().is_ok_and(|h| h.last().is_some_and(|r| r.version == 1)) })
            );
        }
        let mut per_release = Vec::new();
        for _ in 0..PROCESS_RUNS {
            let started = Instant::now();
            let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
            let mut reads = tokio::task::JoinSet::new();
            for (namespace, name) in names.clone() {
                let (store, semaphore) = (store.clone(), semaphore.clone());
                reads.spawn(async move {
                    let _permit = semaphore.acquire().await;
                    store.history(&namespace, &name).await
                });
            }
            while let Some(done) = reads.join_next().await {
                assert_eq!(done.unwrap().expect("history").len(), 1);
            }
            per_release.push(started.elapsed());
        }
        (median(batched), median(per_release))
    });

    // helm needs a Kubernetes API even to list: a sandbox.
    let sandbox = runtime
        .block_on(Sandbox::start(SandboxConfig::default()))
        .expect("sandbox");
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("kubeconfig");
    sandbox
        .write_kubeconfig(&kubeconfig, helmfire_sandbox::DEFAULT_CONTEXT)
        .unwrap();
    let helm = oracle("helm");
    let helmfire = PathBuf::from(env!("CARGO_BIN_EXE_helmfire"));
    let env = |command: &mut Command| {
        postgres::clear_environment(command);
        command
            .env("KUBECONFIG", &kubeconfig)
            .env("HOME", home.path())
            .env("HELM_CACHE_HOME", home.path().join("helm-cache"))
            .env("HELM_CONFIG_HOME", home.path().join("helm-config"))
            .env("HELM_DATA_HOME", home.path().join("helm-data"))
            .env("HELM_DRIVER", "sql")
            .env("HELM_DRIVER_SQL_CONNECTION_STRING", db.connection());
    };
    let helm_list = time_process(|| {
        let mut command = Command::new(&helm);
        command.args(["list", "-A", "--max", "0", "-o", "json"]);
        env(&mut command);
        command
    });
    let listed = {
        let mut command = Command::new(&helm);
        command.args(["list", "-A", "--max", "0", "-o", "json"]);
        env(&mut command);
        let output = command.output().expect("helm list");
        let list: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
        list.as_array().map_or(0, Vec::len)
    };
    assert_eq!(listed, RELEASES, "helm lists every release helmfire wrote");
    let helmfire_status = time_process(|| {
        let mut command = Command::new(&helmfire);
        command.args(["status", "release-7", "-n", "ns7"]);
        env(&mut command);
        command
    });
    runtime.block_on(sandbox.shutdown()).ok();

    println!();
    println!("| what (1,000 releases, PostgreSQL on loopback) | median |");
    println!("| --- | --- |");
    println!(
        "| helmfire `observe::histories` (diff's read: 1 query + decode) | {} |",
        ms(batched)
    );
    println!(
        "| the same, one query per release (16 at a time) | {} |",
        ms(per_release)
    );
    println!("| `helm list -A` (process; 1 + 1,000 queries) | {} |", ms(helm_list));
    println!(
        "| `helmfire status RELEASE` (process; connect + 1 query) | {} |",
        ms(helmfire_status)
    );
    println!();
    println!(
        "ratio helm list -A / helmfire batched read: {:.1}x; batched vs per-release: {:.1}x",
        helm_list.as_secs_f64() / batched.as_secs_f64(),
        per_release.as_secs_f64() / batched.as_secs_f64()
    );
    assert!(batched < Duration::from_secs(1), "the batched read took {batched:?}");
}
