//! `helmfire status` and `helmfire history` as a user runs them, against the sandbox with
//! releases the real helm installed; `history -o json` must equal `helm history -o json`.

use crate::support::sandbox as sandbox_support;

use std::path::Path;
use std::process::Output;

use sandbox_support::Cluster;
use serde_json::Value;

const CHART: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/charts/release-record");

fn helmfire(cluster: &Cluster, dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_helmfire"))
        .args(args)
        .current_dir(dir)
        .env("KUBECONFIG", &cluster.kubeconfig)
        .env("HOME", cluster.home.path())
        .env("NO_COLOR", "1")
        .env_remove("HELM_DRIVER")
        .envs(env.iter().copied())
        .output()
        .expect("helmfire runs")
}

fn succeeds(output: Output) -> String {
    assert!(
        output.status.success(),
        "helmfire failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn fails(output: Output) -> String {
    assert_eq!(
        output.status.code(),
        Some(1),
        "helmfire should fail:\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stderr).unwrap()
}

#[test]
fn history_matches_helm_and_status_shows_resources() {
    let cluster = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    cluster.helm(&["install", "rec", CHART, "-n", "team", "--create-namespace"]);
    cluster.helm(&["upgrade", "rec", CHART, "-n", "team", "--set", "replicas=5"]);

    let ours: Value = serde_json::from_str(&succeeds(helmfire(
        &cluster,
        dir.path(),
        &[],
        &["history", "rec", "-n", "team", "-o", "json"],
    )))
    .unwrap();
    let helms: Value = serde_json::from_str(&cluster.helm(&["history", "rec", "-n", "team", "-o", "json"])).unwrap();
    assert_eq!(ours, helms);

    let table = succeeds(helmfire(&cluster, dir.path(), &[], &["history", "rec", "-n", "team"]));
    let lines: Vec<&str> = table.lines().collect();
    assert!(lines[0].starts_with("REVISION   UPDATED"), "{table}");
    assert!(
        lines[0].ends_with("STATUS       CHART                  APP VERSION   DESCRIPTION"),
        "{table}"
    );
    assert!(
        lines[1].starts_with("1  ") && lines[1].contains("superseded") && lines[1].ends_with("Install complete"),
        "{table}"
    );
    assert!(
        lines[2].starts_with("2  ") && lines[2].contains("deployed") && lines[2].contains("release-record-1.2.3   2.0"),
        "{table}"
    );
    let newest = succeeds(helmfire(
        &cluster,
        dir.path(),
        &[],
        &["history", "rec", "-n", "team", "--max", "1"],
    ));
    assert_eq!(newest.lines().count(), 2, "{newest}");

    let status = succeeds(helmfire(&cluster, dir.path(), &[], &["status", "rec", "-n", "team"]));
    for expected in [
        "NAME: rec\n",
        "NAMESPACE: team\n",
        "STATUS: deployed\n",
        "REVISION: 2\n",
        "CHART: release-record-1.2.3\n",
        "APP VERSION: 2.0\n",
        "DESCRIPTION: Upgrade complete\n",
        "RESOURCES:\nKIND        NAMESPACE/NAME      STATE\nConfigMap   team/rec-settings   ready\n",
        "NOTES:\nRelease rec says a <b> & c.\n",
    ] {
        assert!(status.contains(expected), "missing {expected:?} in:\n{status}");
    }

    cluster.kubectl(&["delete", "configmap", "rec-settings", "-n", "team"]);
    let json: Value = serde_json::from_str(&succeeds(helmfire(
        &cluster,
        dir.path(),
        &[],
        &["status", "rec", "-n", "team", "-o", "json"],
    )))
    .unwrap();
    assert_eq!(json["revision"], 2);
    assert_eq!(json["resources"][0]["kind"], "ConfigMap");
    assert_eq!(json["resources"][0]["state"], "missing");
    assert_eq!(json["resources"][0]["ready"], false);
}

#[test]
fn status_of_every_release_in_the_state_file() {
    let cluster = Cluster::start();
    cluster.helm(&["install", "rec", CHART, "-n", "team", "--create-namespace"]);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("helmfire.yaml"),
        format!(
            "defaults:\n  namespace: team\nreleases:\n  - name: rec\n    chart: {CHART}\n  - name: ghost\n    chart: {CHART}\n"
        ),
    )
    .unwrap();
    let table = succeeds(helmfire(&cluster, dir.path(), &[], &["status"]));
    let lines: Vec<&str> = table.lines().collect();
    assert!(
        lines[0].starts_with("NAME    NAMESPACE   REVISION   UPDATED"),
        "{table}"
    );
    assert!(
        lines[1].starts_with("rec     team        1")
            && lines[1].contains(" deployed ")
            && lines[1].ends_with("release-record-1.2.3   2.0"),
        "{table}"
    );
    assert!(
        lines[2].starts_with("ghost   team        -") && lines[2].contains("not installed"),
        "{table}"
    );

    let json: Value = serde_json::from_str(&succeeds(helmfire(
        &cluster,
        dir.path(),
        &[],
        &["status", "-o", "json"],
    )))
    .unwrap();
    assert_eq!(json[0]["status"], "deployed");
    assert_eq!(json[0]["revision"], 1);
    assert_eq!(json[1]["status"], "not installed");

    // RELEASE without --namespace: the state file says where it lives.
    let status = succeeds(helmfire(&cluster, dir.path(), &[], &["status", "rec"]));
    assert!(status.contains("NAMESPACE: team\n"), "{status}");
    let history = succeeds(helmfire(&cluster, dir.path(), &[], &["history", "rec"]));
    assert!(history.contains("Install complete"), "{history}");
}

#[test]
fn configmap_driver_from_helm_driver() {
    let cluster = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    cluster.helm_env(
        &[("HELM_DRIVER", "configmap")],
        &["install", "cms", CHART, "-n", "cfg", "--create-namespace"],
    );
    let env = [("HELM_DRIVER", "configmap")];
    let history = succeeds(helmfire(&cluster, dir.path(), &env, &["history", "cms", "-n", "cfg"]));
    assert!(history.contains("Install complete"), "{history}");
    // With the default Secret driver there is no such release.
    let error = fails(helmfire(&cluster, dir.path(), &[], &["history", "cms", "-n", "cfg"]));
    assert_eq!(error, "error: release `cms` not found in namespace `cfg`\n");
    let error = fails(helmfire(
        &cluster,
        dir.path(),
        &[("HELM_DRIVER", "SQL")],
        &["history", "cms", "-n", "cfg"],
    ));
    assert_eq!(
        error,
        "error: unknown storage driver `SQL` (expected secret, configmap, memory or sql)\n"
    );
}

#[test]
fn errors_name_the_release_and_the_cause() {
    let cluster = Cluster::start();
    let dir = tempfile::tempdir().unwrap();
    let error = fails(helmfire(&cluster, dir.path(), &[], &["status", "nope"]));
    assert_eq!(error, "error: release `nope` not found in namespace `default`\n");

    cluster.kubectl(&[
        "create",
        "secret",
        "generic",
        "sh.helm.release.v1.bad.v1",
        "--type",
        "helm.sh/release.v1",
        "--from-literal",
        "release=H4sIAAAA",
    ]);
    cluster.kubectl(&[
        "label",
        "secret",
        "sh.helm.release.v1.bad.v1",
        "name=bad",
        "owner=helm",
        "status=deployed",
        "version=1",
    ]);
    let error = fails(helmfire(&cluster, dir.path(), &[], &["history", "bad"]));
    assert_eq!(
        error,
        "error: release record `sh.helm.release.v1.bad.v1` in namespace `default` is corrupt\n  caused by: the body is not valid gzip\n  caused by: unexpected end of file\n"
    );

    // A cluster that does not answer.
    let dead = dir.path().join("dead-kubeconfig");
    std::fs::write(
        &dead,
        std::fs::read_to_string(&cluster.kubeconfig)
            .unwrap()
            .replace(&cluster.url(), "http://127.0.0.1:9"),
    )
    .unwrap();
    let error = fails(helmfire(
        &cluster,
        dir.path(),
        &[],
        &["history", "web", "--kubeconfig", dead.to_str().unwrap()],
    ));
    assert!(
        error.starts_with(
            "error: cannot use the kubeconfig's current context\n  caused by: cannot get `/version`: the cluster did not answer\n  caused by: cannot reach `http://127.0.0.1:9/` (context `helmfire-sandbox`)\n"
        ),
        "{error}"
    );
    let error = fails(helmfire(
        &cluster,
        dir.path(),
        &[],
        &["history", "web", "--kubeconfig", "/nonexistent/kubeconfig"],
    ));
    assert!(
        error.starts_with(
            "error: cannot use the kubeconfig's current context\n  caused by: cannot load kubeconfig `/nonexistent/kubeconfig`\n"
        ),
        "{error}"
    );
}
