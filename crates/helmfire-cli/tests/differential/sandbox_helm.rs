//! The real helm v4.1.4 against the sandbox: install (with and without --wait, watcher and
//! legacy), upgrade, rollback, uninstall, list, status, history, a chart with CRDs and hooks,
//! --create-namespace, and release Secrets written as protobuf.

use crate::support::sandbox as sandbox_support;

use sandbox_support::{Cluster, fixture};

fn release_secrets(cluster: &Cluster, namespace: &str) -> Vec<String> {
    let list = cluster.get_json(&["secrets", "-n", namespace, "-l", "owner=helm"]);
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["metadata"]["name"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn install_upgrade_rollback_uninstall() {
    let cluster = Cluster::start();
    let chart = fixture("charts/web");
    let out = cluster.helm(&["install", "r1", &chart]);
    assert!(out.contains("STATUS: deployed"), "{out}");
    assert_eq!(release_secrets(&cluster, "default"), vec!["sh.helm.release.v1.r1.v1"]);
    let secret = cluster.get_json(&["secret", "sh.helm.release.v1.r1.v1"]);
    assert_eq!(secret["type"], "helm.sh/release.v1");
    assert_eq!(secret["metadata"]["labels"]["status"], "deployed");
    let cm = cluster.get_json(&["cm", "r1-cm"]);
    assert_eq!(cm["data"]["message"], "hello");
    assert_eq!(cm["metadata"]["managedFields"][0]["manager"], "helm");
    assert_eq!(cm["metadata"]["managedFields"][0]["operation"], "Apply");

    let tested = cluster.helm(&["test", "r1", "--timeout", "30s"]);
    assert!(
        tested.contains("Phase:          Succeeded") || tested.contains("Succeeded"),
        "{tested}"
    );
    let list = cluster.helm(&["list"]);
    assert!(list.contains("r1") && list.contains("deployed"), "{list}");
    let status = cluster.helm(&["status", "r1"]);
    assert!(status.contains("STATUS: deployed"), "{status}");

    cluster.helm(&["upgrade", "r1", &chart, "--set", "message=bye,replicas=2"]);
    assert_eq!(cluster.get_json(&["cm", "r1-cm"])["data"]["message"], "bye");
    assert_eq!(cluster.get_json(&["deploy", "r1-web"])["spec"]["replicas"], 2);
    let history = cluster.helm(&["history", "r1"]);
    assert!(
        history.contains("superseded") && history.contains("Upgrade complete"),
        "{history}"
    );

    cluster.helm(&["rollback", "r1", "1"]);
    assert_eq!(cluster.get_json(&["cm", "r1-cm"])["data"]["message"], "hello");
    assert_eq!(release_secrets(&cluster, "default").len(), 3);

    cluster.helm(&["uninstall", "r1"]);
    assert!(release_secrets(&cluster, "default").is_empty());
    cluster.kubectl_fails(&["get", "cm", "r1-cm"]);
    cluster.kubectl_fails(&["get", "deploy", "r1-web"]);
}

#[test]
fn install_wait_watcher_and_legacy() {
    let cluster = Cluster::start();
    let chart = fixture("charts/web");
    let out = cluster.helm(&["install", "r1", &chart, "--wait", "--timeout", "60s"]);
    assert!(out.contains("STATUS: deployed"), "{out}");
    let deploy = cluster.get_json(&["deploy", "r1-web"]);
    assert_eq!(deploy["status"]["readyReplicas"], 1);
    cluster.helm(&["install", "r2", &chart, "--wait=legacy", "--timeout", "60s"]);
    cluster.helm(&[
        "upgrade",
        "r2",
        &chart,
        "--set",
        "replicas=3,image=nginx:1.28",
        "--wait=legacy",
        "--timeout",
        "60s",
    ]);
    cluster.helm(&["uninstall", "r2", "--wait", "--timeout", "60s"]);
}

#[test]
fn wait_fails_when_a_deployment_never_becomes_ready() {
    let cluster = Cluster::start();
    let chart = fixture("charts/web");
    let output = cluster.run(
        "helm",
        &[
            "install",
            "r1",
            &chart,
            "--wait",
            "--timeout",
            "3s",
            "--set-string",
            "annotations.sandbox\\.helmfire\\.dev/never-ready=true",
        ],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("r1-web"), "{stderr}");
    let status = cluster.helm(&["status", "r1"]);
    assert!(status.contains("STATUS: failed"), "{status}");
}

#[test]
fn chart_with_crds_hooks_and_new_namespace() {
    let cluster = Cluster::start();
    let chart = fixture("charts/widgets");
    let out = cluster.helm(&[
        "install",
        "r2",
        &chart,
        "-n",
        "team",
        "--create-namespace",
        "--wait",
        "--timeout",
        "60s",
    ]);
    assert!(out.contains("STATUS: deployed"), "{out}");
    let widget = cluster.get_json(&["widget", "r2-w", "-n", "team"]);
    assert_eq!(widget["spec"]["size"], 3);
    let svc = cluster.get_json(&["svc", "r2-svc", "-n", "team"]);
    assert!(
        svc["spec"]["clusterIP"]
            .as_str()
            .is_some_and(|ip| ip.starts_with("10.96."))
    );
    // The hook ran and was deleted on success.
    cluster.kubectl_fails(&["get", "job", "r2-post", "-n", "team"]);
    cluster.helm(&[
        "upgrade",
        "r2",
        &chart,
        "-n",
        "team",
        "--set",
        "size=5",
        "--wait",
        "--timeout",
        "60s",
    ]);
    assert_eq!(cluster.get_json(&["widget", "r2-w", "-n", "team"])["spec"]["size"], 5);
    cluster.helm(&["uninstall", "r2", "-n", "team", "--wait", "--timeout", "60s"]);
    cluster.kubectl_fails(&["get", "widget", "r2-w", "-n", "team"]);
    // CRDs from crds/ stay, as with a real cluster.
    cluster.kubectl(&["get", "crd", "widgets.example.com"]);
}

#[test]
fn client_side_apply_mode() {
    let cluster = Cluster::start();
    let chart = fixture("charts/web");
    cluster.helm(&["install", "r3", &chart, "--server-side=false"]);
    cluster.helm(&["upgrade", "r3", &chart, "--set", "message=changed,image=nginx:1.28"]);
    assert_eq!(cluster.get_json(&["cm", "r3-cm"])["data"]["message"], "changed");
    let deploy = cluster.get_json(&["deploy", "r3-web"]);
    assert_eq!(
        deploy["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.28"
    );
    assert_eq!(deploy["metadata"]["generation"], 2);
    cluster.helm(&["upgrade", "r3", &chart, "--server-side=true", "--set", "message=ssa"]);
    assert_eq!(cluster.get_json(&["cm", "r3-cm"])["data"]["message"], "ssa");
}

#[test]
fn a_failing_hook_fails_the_install() {
    let cluster = Cluster::start();
    let chart = fixture("charts/widgets");
    let output = cluster.run(
        "helm",
        &[
            "install",
            "r4",
            &chart,
            "--set",
            "hookFails=true",
            "--wait",
            "--timeout",
            "30s",
        ],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("r4-post"), "{stderr}");
    // The failed hook Job stays for inspection (hook-succeeded policy only).
    let job = cluster.get_json(&["job", "r4-post"]);
    assert_eq!(job["status"]["conditions"][1]["type"], "Failed");
}

#[test]
fn helm_rides_out_throttling_and_unavailability() {
    use helmfire_sandbox::SandboxConfig;
    use std::time::Duration;
    let cluster = Cluster::start_with(SandboxConfig {
        controller_delay: Duration::from_millis(100),
        faults: "error=429:0.3@get|list/*;error=503:0.3@create/secrets;latency=5ms"
            .parse()
            .expect("valid fault spec"),
        seed: 7,
        ..SandboxConfig::default()
    });
    let out = cluster.helm(&["install", "r1", &fixture("charts/web"), "--wait", "--timeout", "60s"]);
    assert!(out.contains("STATUS: deployed"), "{out}");
}

#[test]
fn every_simulated_controller_satisfies_helm_waits() {
    let cluster = Cluster::start();
    let chart = fixture("charts/workloads");
    let out = cluster.helm(&["install", "w1", &chart, "--wait", "--wait-for-jobs", "--timeout", "60s"]);
    assert!(out.contains("STATUS: deployed"), "{out}");
    assert_eq!(cluster.get_json(&["pvc", "w1-data"])["status"]["phase"], "Bound");
    assert_eq!(cluster.get_json(&["sts", "w1-db"])["status"]["readyReplicas"], 2);
    assert_eq!(cluster.get_json(&["ds", "w1-agent"])["status"]["numberReady"], 1);
    assert_eq!(cluster.get_json(&["job", "w1-migrate"])["status"]["succeeded"], 1);
    let lb = cluster.get_json(&["svc", "w1-lb"]);
    assert_eq!(lb["status"]["loadBalancer"]["ingress"][0]["ip"], "127.0.0.1");
    let out = cluster.helm(&[
        "install",
        "w2",
        &chart,
        "--wait=legacy",
        "--wait-for-jobs",
        "--timeout",
        "60s",
    ]);
    assert!(out.contains("STATUS: deployed"), "{out}");
    cluster.helm(&[
        "upgrade",
        "w2",
        &chart,
        "--set",
        "replicas=3",
        "--wait=legacy",
        "--timeout",
        "60s",
    ]);
    assert_eq!(cluster.get_json(&["sts", "w2-db"])["status"]["readyReplicas"], 3);
}
