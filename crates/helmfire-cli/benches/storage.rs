//! Reading one release's state must not depend on how many other releases the cluster holds:
//! helmfire queries `name=NAME,owner=helm` in the release's namespace only. Measured against a
//! loopback sandbox holding 10 other release records, then 1,000 more in 10 other namespaces, then
//! 1,000 more in the release's own namespace, in-process (`Store::last`) and as whole processes
//! (`helmfire status`, `helmfire history`), next to `helm status` and `helm history` on the same
//! cluster. Run: `cargo bench --bench storage` (numbers go to BENCHMARKS.md).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use helmfire::cluster::{Cluster, ClusterConfig};
use helmfire::storage::{Driver, ReleaseRecord, Status, Store};
use helmfire_sandbox::{Sandbox, SandboxConfig};

const IN_PROCESS_RUNS: usize = 200;
const PROCESS_RUNS: usize = 11;

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
    let cached = Path::new("/root/.cache/helmfire/oracles/kubectl-v34-2.2.2/bin").join(name);
    assert!(cached.is_file(), "`{name}` not found (run scripts/install-oracles.sh)");
    cached
}

/// A realistic record: a 40-object manifest (~14 KB) and a few values.
fn record(name: &str, namespace: &str, version: i32, status: Status) -> ReleaseRecord {
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
    let mut record = ReleaseRecord::new(name, namespace, version, &chart, &config);
    record.manifest = manifest;
    record.info.status = status;
    record.info.description = "Upgrade complete".into();
    record
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time_process(binary: &Path, args: &[&str], kubeconfig: &Path, home: &Path) -> Duration {
    let mut samples = Vec::new();
    for _ in 0..PROCESS_RUNS {
        let started = Instant::now();
        let output = Command::new(binary)
            .args(args)
            .env("KUBECONFIG", kubeconfig)
            .env("HOME", home)
            .env("HELM_CACHE_HOME", home.join("helm-cache"))
            .env("HELM_CONFIG_HOME", home.join("helm-config"))
            .env("HELM_DATA_HOME", home.join("helm-data"))
            .env_remove("HELM_DRIVER")
            .output()
            .expect("runs");
        samples.push(started.elapsed());
        assert!(
            output.status.success(),
            "{} {args:?} failed: {}",
            binary.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    median(samples)
}

struct Row {
    others: &'static str,
    store_last: Duration,
    helmfire_status: Duration,
    helmfire_history: Duration,
    helm_status: Duration,
    helm_history: Duration,
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let sandbox = runtime
        .block_on(Sandbox::start(SandboxConfig {
            controller_delay: Duration::from_millis(50),
            ..SandboxConfig::default()
        }))
        .expect("sandbox");
    let home = tempfile::tempdir().unwrap();
    let kubeconfig = home.path().join("kubeconfig");
    sandbox
        .write_kubeconfig(&kubeconfig, helmfire_sandbox::DEFAULT_CONTEXT)
        .unwrap();
    let helm = oracle("helm");
    let helmfire = PathBuf::from(env!("CARGO_BIN_EXE_helmfire"));

    let cluster = runtime
        .block_on(Cluster::connect(&ClusterConfig {
            kubeconfig: Some(kubeconfig.clone()),
            context: None,
            ..Default::default()
        }))
        .expect("connect");
    let store = Store::new(Some(cluster), Driver::Secret);
    let namespaces: Vec<String> = std::iter::once("team".to_string())
        .chain((0..10).map(|i| format!("other-{i}")))
        .collect();
    runtime.block_on(async {
        let client = kube::Client::try_from(
            kube::Config::from_custom_kubeconfig(
                kube::config::Kubeconfig::read_from(&kubeconfig).unwrap(),
                &Default::default(),
            )
            .await
            .unwrap(),
        )
        .unwrap();
        let api: kube::Api<k8s_openapi::api::core::v1::Namespace> = kube::Api::all(client);
        for namespace in &namespaces {
            let object = serde_json::from_value(serde_json::json!({"metadata": {"name": namespace}})).unwrap();
            api.create(&Default::default(), &object).await.unwrap();
        }
        // The release under test: three revisions.
        for version in 1..=3 {
            let status = if version == 3 {
                Status::Deployed
            } else {
                Status::Superseded
            };
            store.create(&record("web", "team", version, status)).await.unwrap();
        }
    });

    // Scenarios: (label, records in the release's namespace, records in other namespaces).
    let scenarios = [
        ("10", 5usize, 5usize),
        ("1,010: +1,000 in other namespaces", 5, 1_005),
        ("2,010: +1,000 in the same namespace", 1_005, 1_005),
    ];
    let mut rows = Vec::new();
    let (mut same, mut other) = (0usize, 0usize);
    for (label, same_target, other_target) in scenarios {
        runtime.block_on(async {
            while same < same_target {
                store
                    .create(&record(&format!("same{same}"), "team", 1, Status::Deployed))
                    .await
                    .unwrap();
                same += 1;
            }
            while other < other_target {
                let namespace = &namespaces[1 + other % 10];
                store
                    .create(&record(&format!("other{other}"), namespace, 1, Status::Deployed))
                    .await
                    .unwrap();
                other += 1;
            }
        });
        let store_last = runtime.block_on(async {
            let mut samples = Vec::new();
            for _ in 0..IN_PROCESS_RUNS {
                let started = Instant::now();
                let last = store.last("team", "web").await.unwrap().unwrap();
                samples.push(started.elapsed());
                assert_eq!(last.version, 3);
            }
            median(samples)
        });
        let args = |command: &'static str| [command, "web", "-n", "team"];
        rows.push(Row {
            others: label,
            store_last,
            helmfire_status: time_process(&helmfire, &args("status"), &kubeconfig, home.path()),
            helmfire_history: time_process(&helmfire, &args("history"), &kubeconfig, home.path()),
            helm_status: time_process(&helm, &args("status"), &kubeconfig, home.path()),
            helm_history: time_process(&helm, &args("history"), &kubeconfig, home.path()),
        });
    }

    println!(
        "| other releases | Store::last (in-process) | helmfire status | helmfire history | helm status | helm history |"
    );
    println!("| --- | --- | --- | --- | --- | --- |");
    for row in rows {
        println!(
            "| {} | {:.2} ms | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms |",
            row.others,
            row.store_last.as_secs_f64() * 1e3,
            row.helmfire_status.as_secs_f64() * 1e3,
            row.helmfire_history.as_secs_f64() * 1e3,
            row.helm_status.as_secs_f64() * 1e3,
            row.helm_history.as_secs_f64() * 1e3,
        );
    }
    runtime.block_on(sandbox.shutdown()).unwrap();
}
