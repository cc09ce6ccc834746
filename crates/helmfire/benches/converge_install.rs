//! Installing a 50-object release (wait off) into the in-process sandbox: helmfire's engine
//! (render + install, and install alone) against `helm install` of the same chart in the same
//! run. Target: under 200 ms per install.
//! Run: `cargo bench --bench converge_install` (numbers go to BENCHMARKS.md).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use helmfire::cluster::{Cluster, ClusterConfig};
use helmfire::converge::{ActionOptions, DesiredRelease, Engine, NoProgress};
use helmfire::render::{self, ReleaseRender};
use helmfire::storage::{Driver, Store};
use helmfire_sandbox::{Sandbox, SandboxConfig};

const ROUNDS: usize = 15;

fn helm() -> PathBuf {
    if let Some(path) = std::env::var_os("HELMFIRE_HELM") {
        return PathBuf::from(path);
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()) {
        if dir.join("helm").is_file() {
            return dir.join("helm");
        }
    }
    let cached = Path::new("/root/.cache/helmfire/oracles/kubectl-v34-2.2.2/bin/helm");
    assert!(
        cached.is_file(),
        "helm not found: set HELMFIRE_HELM or run scripts/install-oracles.sh"
    );
    cached.to_path_buf()
}

/// Renders the chart through the one render path, as `apply` does.
fn desired(chart_dir: &Path, name: &str, namespace: &str) -> DesiredRelease {
    let request = ReleaseRender {
        check_objects: false,
        ..ReleaseRender::install(name, namespace, chart_dir.to_path_buf())
    };
    DesiredRelease::new(name, namespace, render::render_release(&request).expect("render")).expect("chart files read")
}

fn summary(label: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{label:<38} median {:>7.1} ms   min {:>7.1} ms   max {:>7.1} ms   (n={})",
        ms(samples[samples.len() / 2]),
        ms(samples[0]),
        ms(samples[samples.len() - 1]),
        samples.len()
    );
}

fn main() {
    let chart_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/charts-engine/fifty");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let sandbox = runtime
        .block_on(Sandbox::start(SandboxConfig::default()))
        .expect("sandbox");
    let home = tempfile::tempdir().expect("temp dir");
    let kubeconfig = home.path().join("kubeconfig");
    sandbox
        .write_kubeconfig(&kubeconfig, helmfire_sandbox::DEFAULT_CONTEXT)
        .expect("kubeconfig");

    let engine = runtime.block_on(async {
        let cluster = Cluster::connect(&ClusterConfig {
            kubeconfig: Some(kubeconfig.clone()),
            context: None,
            ..Default::default()
        })
        .await
        .expect("connect");
        Engine::new(cluster.clone(), Store::new(Some(cluster), Driver::Secret))
    });
    let options = ActionOptions::default();
    let objects = desired(&chart_dir, "probe", "default")
        .manifest
        .matches("\nkind: ")
        .count();
    println!("chart: {} objects", objects);

    // Warm-up: discovery cache, connection pool.
    runtime
        .block_on(engine.install(desired(&chart_dir, "warm", "default"), &options, &NoProgress))
        .expect("warm-up install");

    let mut install_only = Vec::new();
    let mut render_and_install = Vec::new();
    let mut helm_install = Vec::new();
    for round in 0..ROUNDS {
        let d = desired(&chart_dir, &format!("hf-{round}"), "default");
        let started = Instant::now();
        runtime
            .block_on(engine.install(d, &options, &NoProgress))
            .expect("install");
        install_only.push(started.elapsed());

        let started = Instant::now();
        let d = desired(&chart_dir, &format!("hr-{round}"), "default");
        runtime
            .block_on(engine.install(d, &options, &NoProgress))
            .expect("install");
        render_and_install.push(started.elapsed());

        let started = Instant::now();
        let out = Command::new(helm())
            .args([
                "install",
                &format!("helm-{round}"),
                chart_dir.to_str().expect("utf-8 path"),
            ])
            .env("KUBECONFIG", &kubeconfig)
            .env("HOME", home.path())
            .env("HELM_CACHE_HOME", home.path().join("cache"))
            .env("HELM_CONFIG_HOME", home.path().join("config"))
            .env("HELM_DATA_HOME", home.path().join("data"))
            .env_remove("HELM_DRIVER")
            .output()
            .expect("helm runs");
        helm_install.push(started.elapsed());
        assert!(
            out.status.success(),
            "helm install: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    summary("helmfire engine install (rendered)", install_only);
    summary("helmfire render + install", render_and_install);
    summary("helm install (process)", helm_install);
    runtime.block_on(sandbox.shutdown()).expect("shutdown");
}
