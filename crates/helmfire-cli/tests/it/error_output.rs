//! Error output reads as sentences: across the ways an apply fails (an object the cluster
//! refuses, a wait that times out, a Lease another helmfire holds, the API server refusing the
//! release record, a failing hook, a cluster that is gone), no cause line is printed twice and
//! no Rust debug structure (`Status { … }`, `Some(…)`) leaks into what the user reads.

use std::time::Duration;

use helmfire_sandbox::{FaultSpec, SandboxConfig};

use crate::support::deploy::{Cluster, Deploy};

/// Problems in `stderr`: a line repeated within one error, or text that looks like `{:?}`.
fn problems(stderr: &str) -> Vec<String> {
    let mut found = Vec::new();
    for block in stderr.split("\nerror: ") {
        let mut seen = std::collections::HashSet::new();
        for line in block.lines().filter(|l| l.trim_start().starts_with("caused by: ")) {
            if !seen.insert(line.trim()) {
                found.push(format!("repeated: {line}"));
            }
        }
    }
    for pattern in [
        "Status {",
        "ErrorResponse",
        "Some(",
        "None)",
        "Error {",
        "ApiError:",
        "ServiceError:",
        "HyperError:",
        "kind: ",
        "Os {",
    ] {
        if let Some(line) = stderr.lines().find(|l| l.contains(pattern)) {
            found.push(format!("debug text `{pattern}`: {line}"));
        }
    }
    found
}

fn check(what: &str, stderr: &str) {
    let problems = problems(stderr);
    assert!(problems.is_empty(), "{what}: {problems:#?}\n--- stderr\n{stderr}");
}

#[test]
fn failed_applies_print_each_cause_once_and_no_debug_text() {
    let deploy = Deploy::start_with_delay(Duration::from_millis(100));
    let failing_hook = format!("{}/testdata/charts-engine/failing-hook", crate::support::oracle::ROOT);
    let state = deploy.state(
        "helmfire.yaml",
        &format!(
            "
defaults: {{createNamespace: true, timeout: 3s}}
releases:
  - {{name: broken, namespace: a, chart: CHART, set: {{brokenObject: true}}}}
  - {{name: unready, namespace: b, chart: CHART, wait: true, set: {{neverReady: true}}}}
  - {{name: hook, namespace: c, chart: {failing_hook}}}
  - {{name: locked, namespace: d, chart: CHART}}
"
        ),
    );
    // Another helmfire holds `locked`'s Lease, renewed just now, for an hour.
    deploy.cluster.kubectl(&["create", "namespace", "d"]);
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    let lease = format!(
        "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {{name: helmfire.release.locked, namespace: d}}\nspec: {{holderIdentity: someone-else, leaseDurationSeconds: 3600, renewTime: \"{now}\"}}\n"
    );
    let out = deploy.cluster.run_stdin("kubectl", &["apply", "-f", "-"], &lease);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let (_, stderr) = deploy.expect(&state, &["apply"], 1);
    assert!(stderr.contains("4 release(s) failed"), "{stderr}");
    check("apply", &stderr);

    // The cluster is gone.
    let dead = deploy.dir.path().join("dead-kubeconfig");
    std::fs::write(
        &dead,
        std::fs::read_to_string(&deploy.cluster.kubeconfig)
            .unwrap()
            .replace(&deploy.cluster.url(), "http://127.0.0.1:9"),
    )
    .unwrap();
    let output = deploy
        .command(&state, &["--kubeconfig", dead.to_str().unwrap(), "diff"])
        .output()
        .unwrap();
    check("dead cluster", &String::from_utf8_lossy(&output.stderr));
}

#[test]
fn a_refused_release_record_reads_cleanly() {
    // The API server fails every Secret create: release records cannot be written.
    let faults: FaultSpec = "error=500:1@create/secrets".parse().expect("fault spec");
    let deploy = Deploy {
        cluster: Cluster::start_with(SandboxConfig {
            controller_delay: Duration::from_millis(100),
            faults,
            ..SandboxConfig::default()
        }),
        dir: tempfile::tempdir().unwrap(),
    };
    let state = deploy.state(
        "helmfire.yaml",
        "releases:\n  - {name: web, namespace: default, chart: CHART}\n",
    );
    let (_, stderr) = deploy.expect(&state, &["apply"], 1);
    assert!(stderr.contains("500"), "{stderr}");
    check("refused record", &stderr);
}
