//! Shared harness for `helmfire apply/diff/destroy` tests: an in-process sandbox (its request
//! log is how ordering is checked), state files written into a scratch directory, and the real
//! binary run against the sandbox through a kubeconfig.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use helmfire_sandbox::{LoggedRequest, SandboxConfig};

use crate::support::sandbox as sandbox_support;

pub use sandbox_support::Cluster;

/// The realistic ten-object chart every test state uses.
pub fn chart() -> String {
    format!("{}/testdata/charts/ten-objects", crate::support::oracle::ROOT)
}

pub struct Deploy {
    pub cluster: Cluster,
    pub dir: tempfile::TempDir,
}

impl Deploy {
    pub fn start() -> Deploy {
        Self::start_with_delay(Duration::from_millis(300))
    }

    /// A sandbox whose controllers take `delay` to make workloads ready.
    pub fn start_with_delay(delay: Duration) -> Deploy {
        Deploy {
            cluster: Cluster::start_with(SandboxConfig {
                controller_delay: delay,
                ..SandboxConfig::default()
            }),
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// Writes a state file; `CHART` in `yaml` becomes the ten-object chart's path.
    pub fn state(&self, name: &str, yaml: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, yaml.replace("CHART", &chart())).expect("write state");
        path
    }

    pub fn command(&self, state: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_helmfire"));
        let home = self.cluster.home.path();
        crate::support::postgres::clear_environment(&mut command);
        command
            .arg("-f")
            .arg(state)
            .arg("--kubeconfig")
            .arg(&self.cluster.kubeconfig)
            .args(args)
            .env("HOME", home)
            .env("NO_COLOR", "1")
            .env_remove("HELM_DRIVER")
            .env_remove("KUBECONFIG")
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        command
    }

    pub fn helmfire(&self, state: &Path, args: &[&str]) -> Output {
        self.command(state, args).output().expect("run helmfire")
    }

    /// Runs helmfire and requires exit `code`; returns (stdout, stderr).
    pub fn expect(&self, state: &Path, args: &[&str], code: i32) -> (String, String) {
        let output = self.helmfire(state, args);
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(
            output.status.code(),
            Some(code),
            "helmfire {args:?} exited {:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
            output.status
        );
        (stdout, stderr)
    }

    pub fn requests(&self) -> Vec<LoggedRequest> {
        self.cluster.sandbox.as_ref().expect("running").requests()
    }

    /// Per namespace: when its first write (POST/PUT/PATCH/DELETE) started and its last ended.
    /// Each test release lives in its own namespace, so this is the release's active span.
    pub fn write_spans(&self, since: usize) -> HashMap<String, (Duration, Duration)> {
        let mut spans: HashMap<String, (Duration, Duration)> = HashMap::new();
        for request in &self.requests()[since..] {
            if request.method == "GET" {
                continue;
            }
            let Some(namespace) = namespace_of(&request.path) else {
                continue;
            };
            let span = spans.entry(namespace).or_insert((request.started, request.finished));
            span.0 = span.0.min(request.started);
            span.1 = span.1.max(request.finished);
        }
        spans
    }

    /// `helm list --all -A` as (name, namespace, status, revision).
    pub fn helm_releases(&self) -> Vec<(String, String, String, String)> {
        let json = self.cluster.helm(&[
            "list",
            "-A",
            "--deployed",
            "--failed",
            "--pending",
            "--uninstalling",
            "-o",
            "json",
        ]);
        let list: serde_json::Value = serde_json::from_str(&json).expect("helm list JSON");
        let mut out: Vec<_> = list
            .as_array()
            .expect("array")
            .iter()
            .map(|r| {
                (
                    r["name"].as_str().unwrap_or_default().to_string(),
                    r["namespace"].as_str().unwrap_or_default().to_string(),
                    r["status"].as_str().unwrap_or_default().to_string(),
                    r["revision"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        out.sort();
        out
    }
}

/// `/api/v1/namespaces/NS/...` or `/apis/G/V/namespaces/NS/...` → NS (a Namespace object's own
/// path `/api/v1/namespaces/NS` counts for NS too).
pub fn namespace_of(path: &str) -> Option<String> {
    let mut parts = path.split('/');
    while let Some(part) = parts.next() {
        if part == "namespaces" {
            return parts.next().map(str::to_string);
        }
    }
    None
}
