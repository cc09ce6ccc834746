//! Live state through the real binary, with the real kubectl changing the cluster behind helm's
//! back: every kind of drift (scale, set image, a chart label overwritten, an annotation removed,
//! an object deleted, a Secret key deleted, a custom resource edited) reported with the manager
//! that did it, ignore rules, secrets masked in every output, `drift --all` over a release plain
//! helm installed, Events, correction restoring everything without a new revision, exit codes,
//! and the JSON document.

use crate::support::deploy as deploy_support;

use std::path::PathBuf;

use deploy_support::Deploy;
use serde_json::Value;

fn chart() -> PathBuf {
    crate::support::oracle::root().join("testdata/charts/drift-kinds")
}

/// One release of the drift-kinds chart in namespace `kinds`, plus `extra` state-file lines.
fn state(deploy: &Deploy, extra: &str) -> PathBuf {
    deploy.state(
        "helmfire.yaml",
        &format!(
            "releases:\n  - name: kinds\n    namespace: kinds\n    chart: {}\n{extra}",
            chart().display()
        ),
    )
}

/// What a colleague does with kubectl after the apply.
fn drift_everything(deploy: &Deploy) {
    let kubectl = |args: &[&str]| deploy.cluster.kubectl(args);
    kubectl(&["-n", "kinds", "scale", "deploy", "kinds-web", "--replicas=5"]);
    kubectl(&["-n", "kinds", "set", "image", "deploy/kinds-web", "web=evil:latest"]);
    kubectl(&[
        "-n",
        "kinds",
        "label",
        "cm",
        "kinds-settings",
        "team=other",
        "--overwrite",
    ]);
    kubectl(&["-n", "kinds", "annotate", "cm", "kinds-settings", "owner-"]);
    // Not drift: a label the chart does not set belongs to whoever added it.
    kubectl(&["-n", "kinds", "label", "cm", "kinds-settings", "added-by=someone"]);
    kubectl(&["-n", "kinds", "delete", "svc", "kinds-web"]);
    kubectl(&[
        "-n",
        "kinds",
        "patch",
        "secret",
        "kinds-credentials",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/data/password","value":"c3RvbGVuLXNlY3JldA=="},{"op":"remove","path":"/data/user"}]"#,
    ]);
    kubectl(&[
        "-n",
        "kinds",
        "patch",
        "gadget",
        "kinds-gadget",
        "--type=merge",
        "-p",
        r#"{"spec":{"size":9}}"#,
    ]);
}

/// `(object, path, change, managers)` of every drifted field in `drift -o json`'s first release.
fn fields(report: &Value) -> Vec<(String, String, String, Vec<String>)> {
    let mut out = Vec::new();
    for object in report["releases"][0]["drift"].as_array().expect("drift list") {
        let id = format!(
            "{}/{}",
            object["kind"].as_str().unwrap(),
            object["name"].as_str().unwrap()
        );
        if object["state"] == "missing" {
            out.push((id, String::new(), "missing".into(), Vec::new()));
            continue;
        }
        for field in object["fields"].as_array().unwrap() {
            let managers = field["changedBy"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| {
                    let mut name = c["manager"].as_str().unwrap().to_string();
                    if let Some(sub) = c["subresource"].as_str() {
                        name.push_str(&format!("/{sub}"));
                    }
                    name
                })
                .collect();
            out.push((
                id.clone(),
                field["path"].as_str().unwrap().to_string(),
                field["change"].as_str().unwrap().to_string(),
                managers,
            ));
        }
    }
    out
}

#[test]
fn every_kind_of_drift_is_reported_with_who_made_it_and_corrected() {
    let deploy = Deploy::start();
    let state = state(&deploy, "");
    deploy.expect(&state, &["apply"], 0);
    let (text, _) = deploy.expect(&state, &["drift"], 0);
    assert!(text.contains("kinds/kinds: in sync (revision 1)"), "{text}");

    drift_everything(&deploy);
    let (json, _) = deploy.expect(&state, &["drift", "-o", "json"], 3);
    let report: Value = serde_json::from_str(&json).expect("json");
    let owned = |manager: &str| vec![manager.to_string()];
    assert_eq!(
        fields(&report),
        vec![
            (
                "Secret/kinds-credentials".into(),
                "data.password".into(),
                "changed".into(),
                owned("kubectl-patch")
            ),
            (
                "Secret/kinds-credentials".into(),
                "data.user".into(),
                "removed".into(),
                vec![]
            ),
            (
                "ConfigMap/kinds-settings".into(),
                "metadata.labels.team".into(),
                "changed".into(),
                owned("kubectl-label")
            ),
            (
                "ConfigMap/kinds-settings".into(),
                "metadata.annotations.owner".into(),
                "removed".into(),
                vec![]
            ),
            ("Service/kinds-web".into(), String::new(), "missing".into(), vec![]),
            (
                "Deployment/kinds-web".into(),
                "spec.replicas".into(),
                "changed".into(),
                owned("kubectl/scale")
            ),
            (
                "Deployment/kinds-web".into(),
                "spec.template.spec.containers[name=\"web\"].image".into(),
                "changed".into(),
                owned("kubectl-set")
            ),
            (
                "Gadget/kinds-gadget".into(),
                "spec.size".into(),
                "changed".into(),
                owned("kubectl-patch")
            ),
        ]
    );
    // The scale subresource records no time; the other managers do.
    let deployment = &report["releases"][0]["drift"][3];
    assert!(
        deployment["fields"][0]["changedBy"][0].get("time").is_none(),
        "{deployment}"
    );
    assert!(
        deployment["fields"][1]["changedBy"][0]["time"].is_string(),
        "{deployment}"
    );
    assert_eq!(deployment["fields"][0]["recorded"], 2);
    assert_eq!(deployment["fields"][0]["live"], 5);

    // Pending change and drift stay apart in diff; without correction apply leaves drift alone.
    let (diff, _) = deploy.expect(&state, &["diff", "--detailed-exitcode"], 0);
    assert!(
        diff.contains("kinds/kinds: unchanged\n  drift: the cluster differs from revision 1"),
        "{diff}"
    );
    assert!(diff.contains("; 1 drifted."), "{diff}");
    let (no_live, _) = deploy.expect(&state, &["diff", "--no-live"], 0);
    assert!(!no_live.contains("drift"), "{no_live}");
    deploy.expect(&state, &["diff", "--detailed-exitcode", "--correct-drift"], 2);
    let (_, stderr) = deploy.expect(&state, &["apply"], 0);
    assert!(stderr.contains("the cluster drifted"), "{stderr}");
    deploy.expect(&state, &["drift"], 3);

    // Correction restores every case, writes no revision, and drift is gone.
    let (_, stderr) = deploy.expect(&state, &["apply", "--correct-drift"], 0);
    assert!(stderr.contains("drift corrected (revision 1)"), "{stderr}");
    let (text, _) = deploy.expect(&state, &["drift"], 0);
    assert!(text.contains("in sync (revision 1)"), "{text}");
    let kubectl = |args: &[&str]| deploy.cluster.kubectl(args);
    assert_eq!(
        kubectl(&[
            "-n",
            "kinds",
            "get",
            "deploy",
            "kinds-web",
            "-o",
            "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image}"
        ]),
        "2 shop:1"
    );
    kubectl(&["-n", "kinds", "get", "svc", "kinds-web"]);
    assert_eq!(
        kubectl(&[
            "-n",
            "kinds",
            "get",
            "cm",
            "kinds-settings",
            "-o",
            "jsonpath={.metadata.labels.team} {.metadata.annotations.owner} {.metadata.labels.added-by}"
        ]),
        "shop platform someone"
    );
    assert_eq!(
        kubectl(&[
            "-n",
            "kinds",
            "get",
            "gadget",
            "kinds-gadget",
            "-o",
            "jsonpath={.spec.size}"
        ]),
        "3"
    );
    let history = deploy.cluster.helm(&["history", "kinds", "-n", "kinds", "-o", "json"]);
    let history: Value = serde_json::from_str(&history).unwrap();
    assert_eq!(history.as_array().unwrap().len(), 1, "{history}");
    // helm itself still upgrades the release without conflicts.
    deploy.cluster.helm(&[
        "upgrade",
        "kinds",
        chart().to_str().unwrap(),
        "-n",
        "kinds",
        "--set",
        "replicas=3",
    ]);
}

#[test]
fn secret_values_never_appear_in_any_output() {
    let deploy = Deploy::start();
    let state = state(&deploy, "");
    deploy.expect(&state, &["apply"], 0);
    drift_everything(&deploy);
    for args in [
        &["drift"][..],
        &["drift", "-o", "json"],
        &["drift", "-o", "markdown"],
        &["drift", "--all"],
    ] {
        let (stdout, stderr) = deploy.expect(&state, args, 3);
        for secret in [
            "hunter2-recorded",
            "stolen-secret",
            "aHVudGVyMi1yZWNvcmRlZA",
            "c3RvbGVuLXNlY3JldA",
        ] {
            assert!(
                !stdout.contains(secret) && !stderr.contains(secret),
                "{args:?} leaked {secret}:\n{stdout}{stderr}"
            );
        }
    }
    for args in [&["diff"][..], &["diff", "-o", "json"], &["diff", "-o", "markdown"]] {
        let (stdout, stderr) = deploy.expect(&state, args, 0);
        for secret in [
            "hunter2-recorded",
            "stolen-secret",
            "aHVudGVyMi1yZWNvcmRlZA",
            "c3RvbGVuLXNlY3JldA",
        ] {
            assert!(
                !stdout.contains(secret) && !stderr.contains(secret),
                "{args:?} leaked {secret}:\n{stdout}{stderr}"
            );
        }
    }
    let (text, _) = deploy.expect(&state, &["drift"], 3);
    assert!(text.contains("data.password: changed (value hidden)"), "{text}");
}

#[test]
fn ignore_rules_leave_fields_alone_in_detection_and_correction() {
    let deploy = Deploy::start();
    let state = state(
        &deploy,
        "    driftCorrection: true\n    ignoreDifferences:\n      - {group: apps, kind: Deployment, jsonPointers: [/spec/replicas]}\n      - {kind: ConfigMap, managedFieldsManagers: [config-bot]}\n",
    );
    deploy.expect(&state, &["apply"], 0);
    let kubectl = |args: &[&str]| deploy.cluster.kubectl(args);
    // An autoscaler's replicas and a bot's config edits are expected; an image change is not.
    kubectl(&["-n", "kinds", "scale", "deploy", "kinds-web", "--replicas=4"]);
    kubectl(&[
        "-n",
        "kinds",
        "patch",
        "cm",
        "kinds-settings",
        "--type=merge",
        "--field-manager=config-bot",
        "-p",
        r#"{"data":{"LOG_LEVEL":"debug"}}"#,
    ]);
    let (text, _) = deploy.expect(&state, &["drift"], 0);
    assert!(text.contains("in sync"), "{text}");
    kubectl(&["-n", "kinds", "set", "image", "deploy/kinds-web", "web=evil:latest"]);
    let (text, _) = deploy.expect(&state, &["drift"], 3);
    assert!(
        text.contains("containers[name=\"web\"].image") && !text.contains("replicas"),
        "{text}"
    );
    // driftCorrection: true corrects on a plain apply, keeping the ignored live values.
    let (_, stderr) = deploy.expect(&state, &["apply"], 0);
    assert!(stderr.contains("drift corrected"), "{stderr}");
    assert_eq!(
        kubectl(&[
            "-n",
            "kinds",
            "get",
            "deploy",
            "kinds-web",
            "-o",
            "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image}"
        ]),
        "4 shop:1"
    );
    assert_eq!(
        kubectl(&[
            "-n",
            "kinds",
            "get",
            "cm",
            "kinds-settings",
            "-o",
            "jsonpath={.data.LOG_LEVEL}"
        ]),
        "debug"
    );
    deploy.expect(&state, &["drift"], 0);
}

#[test]
fn a_bad_json_pointer_is_refused_where_it_is_written() {
    let deploy = Deploy::start();
    let state = state(
        &deploy,
        "    ignoreDifferences:\n      - {kind: Deployment, jsonPointers: [spec/replicas]}\n",
    );
    let (_, stderr) = deploy.expect(&state, &["lint"], 1);
    assert!(stderr.contains("`spec/replicas` is not a JSON pointer"), "{stderr}");
    assert!(stderr.contains("helmfire.yaml:6:"), "{stderr}");
}

#[test]
fn drift_all_sees_plain_helm_releases_and_records_events() {
    let deploy = Deploy::start();
    let hello = crate::support::oracle::root().join("testdata/charts-min/hello");
    deploy.cluster.helm(&[
        "install",
        "plain",
        hello.to_str().unwrap(),
        "-n",
        "plainns",
        "--create-namespace",
    ]);
    let none = deploy.state("unused.yaml", "releases: []\n");
    let run_all = |code: i32| deploy.expect(&none, &["drift", "--all", "--events"], code);
    let (text, _) = run_all(0);
    assert!(text.contains("plainns/plain: in sync (revision 1)"), "{text}");
    deploy.cluster.kubectl(&[
        "-n",
        "plainns",
        "patch",
        "cm",
        "plain",
        "--type=merge",
        "-p",
        r#"{"data":{"greeting":"bye"}}"#,
    ]);
    let (text, _) = run_all(3);
    assert!(
        text.contains("data.greeting: \"hello\" → \"bye\" (kubectl-patch, "),
        "{text}"
    );
    let events = deploy
        .cluster
        .kubectl(&["events", "-n", "plainns", "--for", "secret/sh.helm.release.v1.plain.v1"]);
    assert!(events.contains("DriftDetected"), "{events}");
    assert!(events.contains("ConfigMap/plain data.greeting"), "{events}");
}

#[test]
fn an_object_whose_kind_is_gone_fails_only_its_release() {
    let deploy = Deploy::start();
    let hello = crate::support::oracle::root().join("testdata/charts-min/hello");
    let state = deploy.state(
        "helmfire.yaml",
        &format!(
            "releases:\n  - {{name: kinds, namespace: kinds, chart: {}}}\n  - {{name: hello, namespace: hello, chart: {}}}\n",
            chart().display(),
            hello.display()
        ),
    );
    deploy.expect(&state, &["apply"], 0);
    deploy.cluster.kubectl(&["delete", "crd", "gadgets.drift.example.com"]);
    let (text, stderr) = deploy.expect(&state, &["drift"], 1);
    assert!(text.contains("hello/hello: in sync"), "{text}");
    assert!(stderr.contains("release `kinds/kinds`"), "{stderr}");
    assert!(stderr.contains("Gadget"), "{stderr}");
    deploy.cluster.kubectl(&["-n", "hello", "delete", "cm", "hello"]);
    let (text, _) = deploy.expect(&state, &["drift"], 3);
    assert!(text.contains("ConfigMap hello/hello: deleted"), "{text}");
}

#[test]
fn drift_json_document() {
    let deploy = Deploy::start();
    let state = state(&deploy, "");
    deploy.expect(&state, &["apply"], 0);
    drift_everything(&deploy);
    let (json, _) = deploy.expect(&state, &["drift", "-o", "json"], 3);
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r#""time": "[^"]+""#, r#""time": "[TIME]""#);
    settings.bind(|| insta::assert_snapshot!("drift-json", json));
    let (text, _) = deploy.expect(&state, &["drift"], 3);
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC", "[TIME]");
    settings.bind(|| insta::assert_snapshot!("drift-text", text));
}

/// Every `helmfire` command in docs/ci.md runs as written (in the directory of a deployed state
/// file named helmfire.yaml) and exits with a code the jobs there expect.
#[test]
fn ci_doc_commands_run() {
    let doc = std::fs::read_to_string(crate::support::oracle::root().join("docs/ci.md")).expect("docs/ci.md");
    let commands: Vec<&str> = doc
        .lines()
        .filter_map(|line| {
            let start = line.find("helmfire ")?;
            let command = &line[start..];
            // Up to a redirection or the end of the shell command.
            let end = command.find(['>', ';', '|', '`']).unwrap_or(command.len());
            let command = command[..end].trim();
            command
                .split_whitespace()
                .nth(1)
                .is_some_and(|verb| ["diff", "drift", "apply"].contains(&verb))
                .then_some(command)
        })
        .collect();
    assert!(commands.len() >= 4, "{commands:?}");
    let deploy = Deploy::start();
    let state = state(&deploy, "");
    deploy.expect(&state, &["apply"], 0);
    drift_everything(&deploy);
    for command in commands {
        let args: Vec<&str> = command.split_whitespace().skip(1).collect();
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_helmfire"))
            .args(&args)
            .arg("--kubeconfig")
            .arg(&deploy.cluster.kubeconfig)
            .current_dir(deploy.dir.path())
            .env("NO_COLOR", "1")
            .env_remove("HELM_DRIVER")
            .output()
            .expect("helmfire runs");
        let expected: &[i32] = match args[0] {
            "diff" => &[0, 2],
            _ => &[3],
        };
        assert!(
            output.status.code().is_some_and(|code| expected.contains(&code)),
            "`{command}` exited {:?}:\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        assert!(!output.stdout.is_empty(), "`{command}` printed nothing");
    }
}

/// An estate with many objects of a kind reads them with one LIST per kind, not a GET each,
/// and still sees every drift — also on an object whose helm label was removed (it is no
/// longer in the LIST, so it is read on its own).
#[test]
fn many_releases_are_read_in_bulk_and_every_drift_still_shows() {
    let deploy = Deploy::start();
    let chart = crate::support::oracle::root().join("testdata/bench/five-objects");
    let mut yaml = String::from("defaults: {namespace: bulk}\nreleases:\n");
    for i in 0..20 {
        yaml.push_str(&format!("  - {{name: svc-{i}, chart: {}}}\n", chart.display()));
    }
    let state = deploy.state("helmfire.yaml", &yaml);
    deploy.expect(&state, &["apply"], 0);
    let kubectl = |args: &[&str]| deploy.cluster.kubectl(args);
    kubectl(&["-n", "bulk", "scale", "deploy", "svc-3", "--replicas=7"]);
    kubectl(&[
        "-n",
        "bulk",
        "label",
        "deploy",
        "svc-4",
        "app.kubernetes.io/managed-by-",
    ]);
    kubectl(&["-n", "bulk", "delete", "cm", "svc-5-settings"]);
    let since = deploy.requests().len();
    let (text, _) = deploy.expect(&state, &["drift"], 3);
    assert!(
        text.contains("bulk/svc-3: drifted") && text.contains("spec.replicas: 2 → 7"),
        "{text}"
    );
    assert!(
        text.contains("bulk/svc-4: drifted")
            && text.contains("metadata.labels.app.kubernetes.io/managed-by: \"Helm\" → (removed)"),
        "{text}"
    );
    assert!(text.contains("ConfigMap bulk/svc-5-settings: deleted"), "{text}");
    assert!(text.contains("Drift: 3 of 20 release(s) drifted."), "{text}");
    let requests = deploy.requests();
    let deployment_gets = requests[since..]
        .iter()
        .filter(|r| r.method == "GET" && r.path.starts_with("/apis/apps/v1/namespaces/bulk/deployments/"))
        .count();
    let deployment_lists = requests[since..]
        .iter()
        .filter(|r| r.method == "GET" && r.path == "/apis/apps/v1/deployments")
        .count();
    assert_eq!(deployment_lists, 1, "one LIST of Deployments");
    // The unlabelled Deployment is read on its own; a listed copy a controller changed before
    // the dry-run is read again. Not one GET per Deployment.
    assert!(
        (1..=3).contains(&deployment_gets),
        "{deployment_gets} GETs of Deployments for 20 releases"
    );
}

/// Against a cluster that answers 503 and 429 and drops connections, reads and dry-runs are
/// retried: the verdict is the same as on a healthy cluster, never one built from a partial read.
#[test]
fn faults_are_retried_and_never_change_the_verdict() {
    let deploy = Deploy {
        cluster: deploy_support::Cluster::start_with(helmfire_sandbox::SandboxConfig {
            faults: "error=503:0.1@get|list|patch/*;error=429:0.05@get|patch/*;drop=0.05@get|list/*"
                .parse()
                .expect("fault spec"),
            seed: 7,
            ..helmfire_sandbox::SandboxConfig::default()
        }),
        dir: tempfile::tempdir().expect("temp dir"),
    };
    let state = state(&deploy, "");
    deploy.expect(&state, &["apply"], 0);
    drift_everything(&deploy);
    for _ in 0..2 {
        let (json, stderr) = deploy.expect(&state, &["drift", "-o", "json"], 3);
        let report: Value = serde_json::from_str(&json).expect("json");
        assert_eq!(fields(&report).len(), 8, "{json}\n{stderr}");
    }
}

/// A read the cluster forbids (RBAC's 403) fails the releases whose objects it covers, with the
/// cause; the other releases still get their verdict, and the exit code says something could
/// not be determined.
#[test]
fn a_forbidden_read_fails_only_the_releases_it_covers() {
    let deploy = Deploy::start();
    let root = crate::support::oracle::root();
    let state = deploy.state(
        "helmfire.yaml",
        &format!(
            "releases:\n  - {{name: settings, namespace: apps, chart: {}}}\n  - {{name: web, namespace: apps, chart: {}}}\n",
            root.join("testdata/charts-min/hello").display(),
            root.join("testdata/bench/five-objects").display()
        ),
    );
    deploy.expect(&state, &["apply"], 0);
    let sandbox = deploy.cluster.sandbox.as_ref().expect("sandbox");
    sandbox.set_faults("error=403:1@get|list|patch/deployments".parse().expect("fault spec"));
    let (text, stderr) = deploy.expect(&state, &["drift"], 1);
    assert!(text.contains("apps/settings: in sync"), "{text}\n{stderr}");
    assert!(!text.contains("apps/web: in sync"), "{text}");
    assert!(
        stderr.contains("release `apps/web`") && stderr.contains("forbidden"),
        "{stderr}"
    );
    // Nothing was retried into a verdict: allowed again, the release is in sync.
    sandbox.set_faults(helmfire_sandbox::FaultSpec::default());
    let (text, _) = deploy.expect(&state, &["drift"], 0);
    assert!(text.contains("apps/web: in sync"), "{text}");
}

/// A release whose record does not decode gets an error naming it; the others get their verdict.
#[test]
fn a_corrupt_record_fails_only_its_release() {
    let deploy = Deploy::start();
    let hello = crate::support::oracle::root().join("testdata/charts-min/hello");
    let state = deploy.state(
        "helmfire.yaml",
        &format!(
            "releases:\n  - {{name: good, namespace: apps, chart: {0}}}\n  - {{name: bad, namespace: apps, chart: {0}}}\n",
            hello.display()
        ),
    );
    deploy.expect(&state, &["apply"], 0);
    deploy.cluster.kubectl(&[
        "-n",
        "apps",
        "patch",
        "secret",
        "sh.helm.release.v1.bad.v1",
        "--type=merge",
        "-p",
        r#"{"data":{"release":"bm90IGEgcmVsZWFzZQ=="}}"#,
    ]);
    let (text, stderr) = deploy.expect(&state, &["drift"], 1);
    assert!(text.contains("apps/good: in sync"), "{text}");
    assert!(
        stderr.contains("release `apps/bad`")
            && stderr.contains("sh.helm.release.v1.bad.v1")
            && stderr.contains("corrupt"),
        "{stderr}"
    );
}
