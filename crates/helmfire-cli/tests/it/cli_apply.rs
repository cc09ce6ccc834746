//! `helmfire apply` and `helmfire destroy` through the real binary against an in-process
//! sandbox: ordering from the sandbox's request log (needs first, per-node not layered),
//! failure isolation, idempotency, destroy order, selectors, interrupts, `--sandbox`.

use crate::support::deploy as deploy_support;

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use deploy_support::Deploy;

/// a → b → c (each needs the previous), and `slow`, which needs nothing and waits for its
/// Deployment to become ready. Each release has its own namespace.
const CHAIN: &str = "
defaults:
  createNamespace: true
  timeout: 30s
releases:
  - {name: a, namespace: ns-a, chart: CHART}
  - {name: b, namespace: ns-b, chart: CHART, needs: [ns-a/a]}
  - {name: c, namespace: ns-c, chart: CHART, needs: [ns-b/b]}
  - {name: slow, namespace: ns-slow, chart: CHART, wait: true}
";

#[test]
fn needs_finish_first_and_a_release_starts_without_waiting_for_its_layer() {
    let deploy = Deploy::start_with_delay(Duration::from_millis(1500));
    let state = deploy.state("helmfire.yaml", CHAIN);
    let since = deploy.requests().len();
    let (stdout, stderr) = deploy.expect(&state, &["apply", "--detailed-exitcode"], 2);
    assert!(
        stdout.contains("Plan: 4 to install, 0 to upgrade, 0 to uninstall, 0 unchanged."),
        "{stdout}"
    );
    let spans = deploy.write_spans(since);
    let span = |ns: &str| {
        *spans
            .get(ns)
            .unwrap_or_else(|| panic!("no writes in {ns}: {spans:?}\n{stderr}"))
    };
    // Needs first: every write of a need ends before the first write of its dependent.
    assert!(
        span("ns-a").1 <= span("ns-b").0,
        "b started before a finished: {spans:?}"
    );
    assert!(
        span("ns-b").1 <= span("ns-c").0,
        "c started before b finished: {spans:?}"
    );
    // Per node: `slow` (no needs, same "layer" as a) is still waiting for its Deployment when b
    // and c run; layered scheduling would hold b until slow finished.
    assert!(span("ns-c").0 < span("ns-slow").1, "c waited for slow: {spans:?}");
    for name in ["a", "b", "c", "slow"] {
        assert!(stderr.contains(&format!("{name}: installed (revision 1)")), "{stderr}");
    }
    let releases = deploy.helm_releases();
    assert_eq!(releases.len(), 4, "{releases:?}");
    assert!(releases.iter().all(|r| r.2 == "deployed" && r.3 == "1"), "{releases:?}");
}

#[test]
fn a_second_apply_changes_nothing_and_upgrades_only_what_changed() {
    let deploy = Deploy::start();
    let state = deploy.state("helmfire.yaml", CHAIN.replace(", wait: true", "").as_str());
    deploy.expect(&state, &["apply"], 0);
    let (stdout, stderr) = deploy.expect(&state, &["apply", "--detailed-exitcode"], 0);
    assert!(
        stdout.contains("0 to install, 0 to upgrade, 0 to uninstall, 4 unchanged"),
        "{stdout}"
    );
    assert!(stderr.contains("No changes"), "{stderr}");

    let changed = deploy.state(
        "changed.yaml",
        &CHAIN.replace(", wait: true", "").replace(
            "{name: b, namespace: ns-b, chart: CHART,",
            "{name: b, namespace: ns-b, chart: CHART, set: {replicas: 3},",
        ),
    );
    let (stdout, stderr) = deploy.expect(&changed, &["apply", "--detailed-exitcode"], 2);
    assert!(
        stdout.contains("0 to install, 1 to upgrade, 0 to uninstall, 3 unchanged"),
        "{stdout}"
    );
    assert!(
        stdout.contains("-  replicas: 1") && stdout.contains("+  replicas: 3"),
        "{stdout}"
    );
    assert!(stderr.contains("ns-b/b: upgraded (revision 2)"), "{stderr}");
    let releases = deploy.helm_releases();
    let b = releases.iter().find(|r| r.0 == "b").unwrap();
    assert_eq!((b.2.as_str(), b.3.as_str()), ("deployed", "2"));
    assert!(
        releases.iter().filter(|r| r.0 != "b").all(|r| r.3 == "1"),
        "{releases:?}"
    );
    // --force upgrades every release even without changes.
    let (_, stderr) = deploy.expect(&changed, &["apply", "--force", "-q"], 0);
    assert!(stderr.contains("4 upgraded"), "{stderr}");
}

#[test]
fn a_failed_release_skips_its_dependents_only_and_leaves_nothing_pending() {
    let deploy = Deploy::start();
    let state = deploy.state(
        "helmfire.yaml",
        "
defaults: {createNamespace: true, timeout: 20s}
releases:
  - {name: broken, namespace: ns-broken, chart: CHART, set: {brokenObject: true}}
  - {name: after, namespace: ns-after, chart: CHART, needs: [ns-broken/broken]}
  - {name: after-after, namespace: ns-after-after, chart: CHART, needs: [ns-after/after]}
  - {name: independent, namespace: ns-independent, chart: CHART}
",
    );
    let output = deploy.helmfire(&state, &["apply"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let line = |prefix: &str| {
        stderr
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no summary line for {prefix}:\n{stderr}"))
            .to_string()
    };
    assert!(line("ns-broken/broken ").contains("failed"), "{stderr}");
    assert!(
        line("ns-after/after ").contains("skipped") && line("ns-after/after ").contains("`ns-broken/broken` failed")
    );
    assert!(line("ns-after-after/after-after ").contains("skipped"), "{stderr}");
    assert!(line("ns-independent/independent ").contains("installed"), "{stderr}");
    assert!(stderr.contains("Nonexistent"), "the failure names its cause:\n{stderr}");
    let releases = deploy.helm_releases();
    assert!(releases.iter().all(|r| !r.2.starts_with("pending")), "{releases:?}");
    assert!(
        releases.iter().any(|r| r.0 == "independent" && r.2 == "deployed"),
        "{releases:?}"
    );
    assert!(!releases.iter().any(|r| r.0 == "after"), "{releases:?}");
}

#[test]
fn destroy_uninstalls_dependents_first_and_needs_confirmation_without_a_terminal() {
    let deploy = Deploy::start();
    let state = deploy.state("helmfire.yaml", CHAIN.replace(", wait: true", "").as_str());
    deploy.expect(&state, &["apply", "-q"], 0);
    let (_, stderr) = deploy.expect(&state, &["destroy"], 1);
    assert!(stderr.contains("pass --yes"), "{stderr}");
    assert_eq!(
        deploy.helm_releases().len(),
        4,
        "nothing uninstalled without confirmation"
    );

    let since = deploy.requests().len();
    let (_, stderr) = deploy.expect(&state, &["destroy", "--yes"], 0);
    assert!(stderr.contains("4 uninstalled"), "{stderr}");
    let spans = deploy.write_spans(since);
    let span = |ns: &str| spans[ns];
    assert!(span("ns-c").1 <= span("ns-b").0, "b deleted before c: {spans:?}");
    assert!(span("ns-b").1 <= span("ns-a").0, "a deleted before b: {spans:?}");
    assert!(deploy.helm_releases().is_empty());
    // The releases' Leases went with them.
    let leases = deploy.cluster.kubectl(&["get", "leases", "-A", "-o", "name"]);
    assert!(!leases.contains("helmfire.release."), "Leases left behind:\n{leases}");
    let (_, stderr) = deploy.expect(&state, &["destroy", "--yes"], 0);
    assert!(stderr.contains("Nothing to destroy"), "{stderr}");
}

#[test]
fn installed_false_uninstalls_in_reverse_order() {
    let deploy = Deploy::start();
    let state = deploy.state("helmfire.yaml", CHAIN.replace(", wait: true", "").as_str());
    deploy.expect(&state, &["apply", "-q"], 0);
    let gone = deploy.state(
        "gone.yaml",
        &CHAIN
            .replace(", wait: true", "")
            .replace(
                "chart: CHART, needs: [ns-a/a]}",
                "chart: CHART, needs: [ns-a/a], installed: false}",
            )
            .replace(
                "chart: CHART, needs: [ns-b/b]}",
                "chart: CHART, needs: [ns-b/b], installed: false}",
            ),
    );
    let (stdout, _) = deploy.expect(&gone, &["diff", "--detailed-exitcode"], 2);
    assert!(
        stdout.contains("0 to install, 0 to upgrade, 2 to uninstall, 2 unchanged"),
        "{stdout}"
    );
    let since = deploy.requests().len();
    deploy.expect(&gone, &["apply", "-q"], 0);
    let spans = deploy.write_spans(since);
    assert!(spans["ns-c"].1 <= spans["ns-b"].0, "b uninstalled before c: {spans:?}");
    let names: Vec<String> = deploy.helm_releases().into_iter().map(|r| r.0).collect();
    assert_eq!(names, ["a", "slow"]);
}

#[test]
fn selectors_with_include_needs_converge_the_selection_only() {
    let deploy = Deploy::start();
    let state = deploy.state("helmfire.yaml", CHAIN.replace(", wait: true", "").as_str());
    let (_, stderr) = deploy.expect(&state, &["apply", "-l", "name=b", "--include-needs"], 0);
    assert!(
        stderr.contains("ns-a/a: installed") && stderr.contains("ns-b/b: installed"),
        "{stderr}"
    );
    let names: Vec<String> = deploy.helm_releases().into_iter().map(|r| r.0).collect();
    assert_eq!(names, ["a", "b"]);
    // Without --include-needs the unselected need is an error that names it.
    let (_, stderr) = deploy.expect(&state, &["apply", "-l", "name=c"], 1);
    assert!(stderr.contains("ns-b/b"), "{stderr}");
}

#[test]
fn dry_run_plans_without_writing() {
    let deploy = Deploy::start();
    let state = deploy.state("helmfire.yaml", CHAIN);
    let since = deploy.requests().len();
    let (stdout, _) = deploy.expect(&state, &["apply", "--dry-run", "--detailed-exitcode"], 2);
    assert!(stdout.contains("4 to install"), "{stdout}");
    let writes: Vec<_> = deploy.requests()[since..]
        .iter()
        .filter(|r| r.method != "GET")
        .cloned()
        .collect();
    assert!(writes.is_empty(), "dry run wrote: {writes:?}");
    assert!(deploy.helm_releases().is_empty());
}

#[test]
fn sigint_starts_nothing_new_lets_running_releases_finish_and_exits_130() {
    let deploy = Deploy::start_with_delay(Duration::from_millis(2000));
    let state = deploy.state(
        "helmfire.yaml",
        "
defaults: {createNamespace: true, timeout: 30s, wait: true}
releases:
  - {name: first, namespace: ns-first, chart: CHART}
  - {name: second, namespace: ns-second, chart: CHART, needs: [ns-first/first]}
  - {name: third, namespace: ns-third, chart: CHART, needs: [ns-second/second]}
",
    );
    let mut child = deploy
        .command(&state, &["apply"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn helmfire");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).expect("read stderr") == 0 {
            panic!("helmfire ended before installing `first`:\n{seen}");
        }
        seen.push_str(&line);
        if line.contains("ns-first/first: install started") {
            break;
        }
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).unwrap();
    seen.push_str(&rest);
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "{seen}");
    assert!(
        seen.contains("ns-first/first: installed (revision 1)"),
        "the running release finished:\n{seen}"
    );
    assert!(seen.contains("ns-second/second: cancelled"), "{seen}");
    let releases = deploy.helm_releases();
    assert_eq!(releases.len(), 1, "{releases:?}");
    assert_eq!(releases[0].2, "deployed", "nothing pending: {releases:?}");
}

#[test]
fn the_embedded_sandbox_keeps_state_between_runs() {
    let dir = tempfile::tempdir().unwrap();
    let quickstart = format!("{}/examples/quickstart/helmfire.yaml", crate::support::oracle::ROOT);
    let run = |args: &[&str]| {
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_helmfire"))
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .env_remove("KUBECONFIG")
            .env("HOME", dir.path())
            .args(["-f", &quickstart])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        (
            output.status.code(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run(&["apply", "--sandbox", "--detailed-exitcode"]);
    assert_eq!(code, Some(2), "{stdout}\n{stderr}");
    assert!(stdout.contains("4 to install"), "{stdout}");
    assert!(dir.path().join(".helmfire/sandbox").is_dir());
    let (code, stdout, stderr) = run(&["apply", "--sandbox", "--detailed-exitcode"]);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("4 unchanged") && stderr.contains("No changes"),
        "{stdout}\n{stderr}"
    );
    // status and history read the same embedded cluster.
    let (code, stdout, stderr) = run(&["status", "--sandbox"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(stdout.matches("deployed").count(), 4, "{stdout}");
    let (code, stdout, stderr) = run(&["history", "database", "--sandbox"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("Install complete"), "{stdout}");
    let (code, _, stderr) = run(&["destroy", "--sandbox=.helmfire/sandbox", "--yes"]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stdout, _) = run(&["diff", "--sandbox", "--detailed-exitcode"]);
    assert_eq!(code, Some(2));
    assert!(stdout.contains("4 to install"), "{stdout}");
    let (code, stdout, stderr) = run(&["template", "--sandbox"]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("kind: StatefulSet"), "{stdout}");
    // Commands that cannot use it yet say so instead of silently using another cluster.
    let (code, _, stderr) = run(&["lint", "--sandbox"]);
    assert_eq!(code, Some(1));
    assert!(stderr.contains("`--sandbox` works with"), "{stderr}");
}

/// An umbrella chart whose dependency is a sibling directory (`file://`) and not vendored in
/// `charts/`: `template`, `diff` and `apply` all render it with its dependency (one render
/// path), and a second `diff` finds nothing to do.
#[test]
fn an_umbrella_chart_with_a_file_dependency_templates_diffs_and_applies_alike() {
    let deploy = Deploy::start();
    let chart = crate::support::oracle::root().join("testdata/charts/umbrella-file-dependency");
    let state = deploy.state(
        "helmfire.yaml",
        &format!(
            "releases:\n  - {{name: shop, namespace: default, chart: {}}}\n",
            chart.display()
        ),
    );
    let (template, _) = deploy.expect(&state, &["template"], 0);
    assert!(template.contains("name: shop-umbrella"), "{template}");
    assert!(
        template.contains("name: shop-child") && template.contains("greeting: \"hello from the child\""),
        "{template}"
    );
    let (diff, _) = deploy.expect(&state, &["diff", "--detailed-exitcode"], 2);
    assert!(diff.contains("ConfigMap default/shop-child"), "{diff}");
    deploy.expect(&state, &["apply"], 0);
    let child = deploy
        .cluster
        .kubectl(&["get", "configmap", "shop-child", "-o", "jsonpath={.data.greeting}"]);
    assert_eq!(child, "hello from the child");
    let (diff, _) = deploy.expect(&state, &["diff", "--detailed-exitcode"], 0);
    assert!(
        diff.contains("0 to install, 0 to upgrade, 0 to uninstall, 1 unchanged"),
        "{diff}"
    );
}

/// What a user reads: the plan, the progress lines and the summary of `apply`, the table and
/// one release of `status`, and `destroy`'s summary, as snapshots (times, ages and the chart
/// path filtered). One release at a time, so the progress lines come in a fixed order.
#[test]
fn apply_status_and_destroy_output() {
    let deploy = Deploy::start();
    let hello = crate::support::oracle::root().join("testdata/charts-min/hello");
    let state = deploy.state(
        "helmfire.yaml",
        &format!(
            "defaults: {{namespace: shop, createNamespace: true}}\nreleases:\n  - {{name: db, chart: {0}}}\n  - {{name: web, chart: {0}, needs: [db]}}\n",
            hello.display()
        ),
    );
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"\b\d{2}:\d{2}:\d{2}(\.\d+)?\b", "[TIME]");
    settings.add_filter(r"\b\d+(\.\d+)?(ms|s|m\d+s)\b", "[DURATION]");
    settings.add_filter(r"\w{3} \w{3} [ \d]\d \[TIME\] \d{4}", "[DATE]");
    let run = |args: &[&str]| {
        let (stdout, stderr) = deploy.expect(&state, args, 0);
        format!(
            "$ helmfire {}\n--- stdout\n{stdout}--- stderr\n{stderr}",
            args.join(" ")
        )
    };
    settings.bind(|| {
        insta::assert_snapshot!("apply-output", run(&["apply", "--concurrency", "1"]));
        insta::assert_snapshot!("status-output", run(&["status"]));
        insta::assert_snapshot!("status-one-output", run(&["status", "web"]));
        insta::assert_snapshot!("destroy-output", run(&["destroy", "--yes", "--concurrency", "1"]));
    });
}

/// A run killed mid-upgrade leaves its revision `pending-upgrade` and its Lease to expire. Even
/// when the manifests are equal (an `apply --force`, or a reverted state file), the next `diff`
/// shows that revision as work and the next `apply` recovers it and converges, instead of
/// saying "no changes" and leaving helm refusing with "another operation is in progress".
#[test]
fn a_revision_left_pending_by_a_killed_run_is_planned_and_recovered() {
    use helmfire::cluster::{Cluster, ClusterConfig};
    use helmfire::storage::{Driver, Status, Store};

    let deploy = Deploy::start();
    let hello = crate::support::oracle::root().join("testdata/charts-min/hello");
    let state = deploy.state(
        "helmfire.yaml",
        &format!(
            "releases:\n  - {{name: web, namespace: shop, chart: {}}}\n",
            hello.display()
        ),
    );
    deploy.expect(&state, &["apply"], 0);
    // What the killed run left: revision 2 pending-upgrade (the same manifest), and its Lease,
    // expired long ago.
    deploy.cluster.runtime.block_on(async {
        let cluster = Cluster::connect(&ClusterConfig {
            kubeconfig: Some(deploy.cluster.kubeconfig.clone()),
            ..ClusterConfig::default()
        })
        .await
        .expect("connects");
        let store = Store::new(Some(cluster), Driver::Secret);
        let mut record = store.last("shop", "web").await.expect("reads").expect("revision 1");
        record.version = 2;
        record.info.status = Status::PendingUpgrade;
        record.info.description = "Preparing upgrade".into();
        store.create(&record).await.expect("writes revision 2");
    });
    deploy.cluster.run_stdin(
        "kubectl",
        &["apply", "-f", "-"],
        "apiVersion: coordination.k8s.io/v1\nkind: Lease\nmetadata: {name: helmfire.release.web, namespace: shop}\n\
         spec: {holderIdentity: helmfire@killed/1, leaseDurationSeconds: 15, renewTime: '2020-01-01T00:00:00.000000Z'}\n",
    );
    let (plan, _) = deploy.expect(&state, &["diff", "--detailed-exitcode"], 2);
    assert!(
        plan.contains("shop/web: revision 2 is pending-upgrade (an interrupted operation): it will be recovered"),
        "{plan}"
    );
    assert!(plan.contains("0 to install, 1 to upgrade"), "{plan}");
    let (_, stderr) = deploy.expect(&state, &["apply"], 0);
    assert!(stderr.contains("recovered revision 2"), "{stderr}");
    let history = deploy.cluster.helm(&["history", "web", "-n", "shop", "-o", "json"]);
    let statuses: Vec<String> = serde_json::from_str::<serde_json::Value>(&history)
        .expect("json")
        .as_array()
        .expect("list")
        .iter()
        .map(|revision| format!("{}:{}", revision["revision"], revision["status"].as_str().unwrap()))
        .collect();
    assert_eq!(statuses, ["1:superseded", "2:failed", "3:deployed"]);
    deploy.expect(&state, &["diff", "--detailed-exitcode"], 0);
}

/// A chart whose large files the loader leaves unread until asked for (a CRD, a file a
/// template reads, a README only the record stores) templates with `--include-crds`, applies
/// its CRD and stores the release like any other.
#[test]
fn large_chart_files_are_read_where_template_and_apply_need_them() {
    let deploy = Deploy::start();
    let chart = deploy.dir.path().join("big-files");
    let big = "# padding line of a large chart file\n".repeat(400);
    for (path, text) in [
        ("Chart.yaml", "apiVersion: v2\nname: big-files\nversion: 1.0.0\n".to_string()),
        (
            "templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-files\ndata:\n  size: {{ .Files.Get \"files/big.txt\" | len | quote }}\n".to_string(),
        ),
        ("files/big.txt", big.clone()),
        ("README.md", big.clone()),
        (
            "crds/widgets.yaml",
            format!(
                "{big}apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  names: {{kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}}\n  scope: Namespaced\n  versions:\n    - name: v1\n      served: true\n      storage: true\n      schema:\n        openAPIV3Schema: {{type: object, x-kubernetes-preserve-unknown-fields: true}}\n"
            ),
        ),
    ] {
        let path = chart.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }
    let state = deploy.state(
        "helmfire.yaml",
        &format!(
            "releases:\n  - {{name: big, namespace: default, chart: {}}}\n",
            chart.display()
        ),
    );
    let (template, _) = deploy.expect(&state, &["template", "--include-crds"], 0);
    assert!(template.contains("name: widgets.example.com"), "{template}");
    assert!(template.contains(&format!("size: \"{}\"", big.len())), "{template}");
    deploy.expect(&state, &["apply"], 0);
    let crd = deploy
        .cluster
        .kubectl(&["get", "crd", "widgets.example.com", "-o", "jsonpath={.spec.group}"]);
    assert_eq!(crd, "example.com");
    let size = deploy
        .cluster
        .kubectl(&["get", "configmap", "big-files", "-o", "jsonpath={.data.size}"]);
    assert_eq!(size, big.len().to_string());
    // The record stores every chart file, the ones no template read too (as helm does).
    use base64::Engine as _;
    let secret = deploy.cluster.kubectl(&[
        "get",
        "secret",
        "sh.helm.release.v1.big.v1",
        "-o",
        "jsonpath={.data.release}",
    ]);
    let body = base64::engine::general_purpose::STANDARD
        .decode(secret.trim())
        .expect("base64");
    let record = helmfire::storage::codec::decode(&String::from_utf8(body).expect("utf-8")).expect("a record");
    let stored: Vec<(String, usize)> = record
        .chart
        .files
        .iter()
        .flatten()
        .map(|f| (f.name.clone(), f.data.as_ref().map_or(0, Vec::len)))
        .collect();
    assert!(stored.contains(&("README.md".to_string(), big.len())), "{stored:?}");
    assert!(stored.contains(&("files/big.txt".to_string(), big.len())), "{stored:?}");
}
