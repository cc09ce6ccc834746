//! One state file over two clusters: two `helmfire sandbox` processes, one kubeconfig per
//! process merged through `KUBECONFIG` as kubectl merges them. Ordering across the clusters is
//! read from each sandbox's request log (`/debug/requests`, wall-clock times); what each
//! cluster holds from the real helm's `helm list`.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use crate::support::deploy::chart;
use crate::support::oracle::locate as oracle;

/// A `helmfire sandbox` process whose kubeconfig names its cluster, user and context `name`.
struct SandboxProcess {
    child: Option<Child>,
    url: String,
}

impl SandboxProcess {
    fn start(dir: &Path, name: &str) -> SandboxProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_helmfire"))
            .current_dir(dir)
            .args(["sandbox", "--controller-delay", "300ms", "--context-name", name])
            .arg("--kubeconfig-out")
            .arg(format!("{name}.yaml"))
            .arg("--data-dir")
            .arg(format!("data-{name}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start helmfire sandbox");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().expect("stdout"))
            .read_line(&mut line)
            .expect("read the URL");
        assert!(line.starts_with("http://127.0.0.1:"), "sandbox printed {line:?}");
        SandboxProcess {
            child: Some(child),
            url: line.trim().to_string(),
        }
    }

    /// SIGTERM, then waits: the cluster is gone (its port refuses connections).
    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
            let _ = child.wait();
        }
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A request from a sandbox's log, with wall-clock times.
#[derive(Debug)]
struct Request {
    started: f64,
    finished: f64,
    method: String,
    path: String,
}

/// Clusters `east` and `west`, a scratch directory, and a merged `KUBECONFIG`.
struct TwoClusters {
    dir: tempfile::TempDir,
    east: SandboxProcess,
    west: SandboxProcess,
}

impl TwoClusters {
    fn start() -> TwoClusters {
        let dir = tempfile::tempdir().expect("temp dir");
        let east = SandboxProcess::start(dir.path(), "east");
        let west = SandboxProcess::start(dir.path(), "west");
        TwoClusters { dir, east, west }
    }

    /// `east.yaml:west.yaml`: the first file's current context (`east`) is the current one.
    fn kubeconfig(&self) -> String {
        let east = self.dir.path().join("east.yaml");
        let west = self.dir.path().join("west.yaml");
        std::env::join_paths([east, west])
            .expect("paths")
            .to_string_lossy()
            .into_owned()
    }

    fn state(&self, yaml: &str) -> PathBuf {
        let path = self.dir.path().join("helmfire.yaml");
        std::fs::write(&path, yaml.replace("CHART", &chart())).expect("write state");
        path
    }

    fn helmfire(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_helmfire"))
            .args(args)
            .env("KUBECONFIG", self.kubeconfig())
            .env("HOME", self.dir.path())
            .env("NO_COLOR", "1")
            .env_remove("HELM_DRIVER")
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("run helmfire")
    }

    /// Runs helmfire and requires exit `code`; returns (stdout, stderr).
    fn expect(&self, args: &[&str], code: i32) -> (String, String) {
        let output = self.helmfire(args);
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

    fn tool(&self, binary: &str, args: &[&str]) -> String {
        let home = self.dir.path();
        let output = Command::new(oracle(binary))
            .args(args)
            .env("KUBECONFIG", self.kubeconfig())
            .env("HOME", home)
            .env("HELM_CACHE_HOME", home.join("helm/cache"))
            .env("HELM_CONFIG_HOME", home.join("helm/config"))
            .env("HELM_DATA_HOME", home.join("helm/data"))
            .env_remove("HELM_DRIVER")
            .output()
            .unwrap_or_else(|e| panic!("failed to run {binary}: {e}"));
        assert!(
            output.status.success(),
            "{binary} {args:?} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// `helm list -A` on one cluster: `namespace/name` of every release, any status.
    fn helm_list(&self, context: &str) -> BTreeSet<String> {
        let json = self.tool(
            "helm",
            &[
                "--kube-context",
                context,
                "list",
                "-A",
                "--deployed",
                "--failed",
                "--pending",
                "--uninstalling",
                "-o",
                "json",
            ],
        );
        let list: serde_json::Value = serde_json::from_str(&json).expect("helm list JSON");
        list.as_array()
            .expect("array")
            .iter()
            .map(|release| {
                format!(
                    "{}/{}",
                    release["namespace"].as_str().unwrap(),
                    release["name"].as_str().unwrap()
                )
            })
            .collect()
    }

    /// The request log of one cluster, read with kubectl.
    fn requests(&self, context: &str) -> Vec<Request> {
        let json = self.tool("kubectl", &["--context", context, "get", "--raw", "/debug/requests"]);
        let entries: serde_json::Value = serde_json::from_str(&json).expect("request log JSON");
        entries
            .as_array()
            .expect("array")
            .iter()
            .map(|entry| Request {
                started: entry["started"].as_f64().unwrap(),
                finished: entry["finished"].as_f64().unwrap(),
                method: entry["method"].as_str().unwrap().to_string(),
                path: entry["path"].as_str().unwrap().to_string(),
            })
            .collect()
    }

    /// When the writes (not GET) into `namespace` of a cluster started first and ended last.
    fn write_span(&self, context: &str, namespace: &str) -> (f64, f64) {
        let marker = format!("/namespaces/{namespace}/");
        self.requests(context)
            .iter()
            .filter(|request| request.method != "GET" && request.path.contains(&marker))
            .fold(None, |span: Option<(f64, f64)>, request| {
                Some(match span {
                    None => (request.started, request.finished),
                    Some((first, last)) => (first.min(request.started), last.max(request.finished)),
                })
            })
            .unwrap_or_else(|| panic!("no writes in {context}/{namespace}"))
    }
}

/// `db` on east; `api` on west needs it; `cache` on west and `jobs` on east need nothing
/// across. Every release has its own namespace.
const ESTATE: &str = "
defaults:
  createNamespace: true
  timeout: 30s
releases:
  - {name: db, namespace: data, chart: CHART, kubeContext: east, wait: true}
  - {name: api, namespace: app, chart: CHART, kubeContext: west, needs: [east/data/db]}
  - {name: cache, namespace: cache, chart: CHART, kubeContext: west}
  - {name: jobs, namespace: jobs, chart: CHART, kubeContext: east}
";

#[test]
fn one_run_converges_two_clusters_in_needs_order() {
    let clusters = TwoClusters::start();
    let state = clusters.state(ESTATE);
    let state = state.to_str().unwrap();

    let (stdout, stderr) = clusters.expect(&["-f", state, "apply", "--detailed-exitcode"], 2);
    assert!(stdout.contains("Plan: 4 to install"), "{stdout}");
    // Releases are named with their context when a state file spans several.
    assert!(stdout.contains("west/app/api: install"), "{stdout}");
    for release in ["east/data/db", "west/app/api", "west/cache/cache", "east/jobs/jobs"] {
        assert!(
            stderr.contains(&format!("{release}: installed (revision 1)")),
            "{stderr}"
        );
    }

    // The need on east finished (its record marked deployed) before the first write on west.
    let db = clusters.write_span("east", "data");
    let api = clusters.write_span("west", "app");
    assert!(
        db.1 <= api.0,
        "api started on west before db finished on east: db {db:?}, api {api:?}"
    );

    // Each cluster holds exactly its own releases, as helm sees them.
    let east: BTreeSet<String> = ["data/db", "jobs/jobs"].map(String::from).into();
    let west: BTreeSet<String> = ["app/api", "cache/cache"].map(String::from).into();
    assert_eq!(clusters.helm_list("east"), east);
    assert_eq!(clusters.helm_list("west"), west);

    // Converged: a second apply and a diff find nothing, live objects included.
    let (_, stderr) = clusters.expect(&["-f", state, "apply"], 0);
    assert!(stderr.contains("No changes"), "{stderr}");
    let (stdout, _) = clusters.expect(&["-f", state, "diff", "--detailed-exitcode", "-o", "json"], 0);
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(plan["summary"]["unchanged"], 4, "{stdout}");
    assert_eq!(plan["summary"]["drifted"], 0, "{stdout}");
    let contexts: Vec<&str> = plan["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|release| release["context"].as_str().unwrap())
        .collect();
    assert_eq!(contexts, ["east", "west", "west", "east"]);

    // Status reads each release on its own cluster.
    let (stdout, _) = clusters.expect(&["-f", state, "status"], 0);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines[0].starts_with("CONTEXT"), "{stdout}");
    assert!(
        lines
            .iter()
            .any(|line| line.starts_with("west") && line.contains("api") && line.contains("deployed")),
        "{stdout}"
    );
    let (stdout, _) = clusters.expect(&["-f", state, "drift", "-o", "json"], 0);
    let drift: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(drift["summary"]["releases"], 4, "{stdout}");

    // A hand edit on west is found on west only.
    clusters.tool(
        "kubectl",
        &[
            "--context",
            "west",
            "-n",
            "cache",
            "scale",
            "deployment",
            "cache",
            "--replicas=5",
        ],
    );
    let (stdout, _) = clusters.expect(&["-f", state, "drift"], 3);
    assert!(stdout.contains("west/cache/cache: drifted from revision 1"), "{stdout}");
    assert!(stdout.contains("east/data/db: in sync"), "{stdout}");

    // Destroy tears the dependent down on west before its need on east.
    let requests_before = clusters.requests("east").len();
    let (_, stderr) = clusters.expect(&["-f", state, "destroy", "--yes"], 0);
    let api_gone = clusters
        .requests("west")
        .iter()
        .filter(|request| request.method == "DELETE" && request.path.contains("/namespaces/app/"))
        .map(|request| request.finished)
        .fold(f64::MIN, f64::max);
    let db_first_delete = clusters.requests("east")[requests_before..]
        .iter()
        .filter(|request| request.method == "DELETE" && request.path.contains("/namespaces/data/"))
        .map(|request| request.started)
        .fold(f64::MAX, f64::min);
    assert!(
        api_gone <= db_first_delete,
        "db was deleted before api was gone:\n{stderr}"
    );
    assert!(clusters.helm_list("east").is_empty());
    assert!(clusters.helm_list("west").is_empty());
}

#[test]
fn a_cluster_that_is_down_fails_only_its_releases_and_their_dependents() {
    let mut clusters = TwoClusters::start();
    // `web` on east needs `api` on west.
    let state = clusters.state(
        "
defaults:
  createNamespace: true
  timeout: 30s
releases:
  - {name: db, namespace: data, chart: CHART, kubeContext: east}
  - {name: api, namespace: app, chart: CHART, kubeContext: west}
  - {name: web, namespace: web, chart: CHART, kubeContext: east, needs: [west/app/api]}
",
    );
    let state = state.to_str().unwrap();
    let west_url = clusters.west.url.clone();
    clusters.west.stop();

    let (_, stderr) = clusters.expect(&["-f", state, "apply"], 1);
    assert!(stderr.contains("east/data/db: installed (revision 1)"), "{stderr}");
    // The error names the context, the server and the cause.
    assert!(stderr.contains("release `west/app/api` cannot be reached"), "{stderr}");
    assert!(stderr.contains("kube context `west`"), "{stderr}");
    assert!(stderr.contains(&west_url), "{stderr}");
    assert!(
        !stderr.contains(&clusters.east.url),
        "only west is unreachable:\n{stderr}"
    );
    assert!(stderr.contains("hint: check that the cluster is reachable"), "{stderr}");
    assert!(!stderr.contains("east/web/web: installed"), "{stderr}");
    assert!(stderr.contains("east/web/web"), "{stderr}");
    assert_eq!(clusters.helm_list("east"), BTreeSet::from(["data/db".to_string()]));

    // diff reports the same failure and still plans the reachable cluster.
    let output = clusters.helmfire(&["-f", state, "diff"]);
    assert_eq!(output.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("east/data/db: unchanged"), "{stdout}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("kube context `west`"));
}

#[test]
fn a_context_missing_from_the_kubeconfig_is_named() {
    let clusters = TwoClusters::start();
    let state = clusters.state(
        "
releases:
  - {name: db, namespace: default, chart: CHART, kubeContext: east}
  - {name: lost, namespace: default, chart: CHART, kubeContext: north}
",
    );
    let (_, stderr) = clusters.expect(&["-f", state.to_str().unwrap(), "apply"], 1);
    assert!(stderr.contains("east/default/db: installed (revision 1)"), "{stderr}");
    assert!(stderr.contains("cannot use kube context `north`"), "{stderr}");
    assert!(
        stderr.contains("has no context `north` (it has: east, west)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: correct `kubeContext` in the state file"),
        "{stderr}"
    );
}

#[test]
fn the_kube_context_flag_sends_every_release_to_one_cluster() {
    let clusters = TwoClusters::start();
    let state = clusters.state(ESTATE.replace(", needs: [east/data/db]", "").as_str());
    let state = state.to_str().unwrap();
    clusters.expect(&["-f", state, "--kube-context", "west", "apply"], 0);
    assert!(clusters.helm_list("east").is_empty());
    assert_eq!(clusters.helm_list("west").len(), 4);
}

#[test]
fn sandbox_mode_gives_each_context_its_own_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("helmfire.yaml");
    std::fs::write(&state, ESTATE.replace("CHART", &chart())).unwrap();
    let run = |args: &[&str], code: i32| {
        let output = Command::new(env!("CARGO_BIN_EXE_helmfire"))
            .arg("-f")
            .arg(&state)
            .args(args)
            .env("HOME", dir.path())
            .env("NO_COLOR", "1")
            .env_remove("KUBECONFIG")
            .env_remove("HELM_DRIVER")
            .current_dir(dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
        (String::from_utf8_lossy(&output.stdout).into_owned(), stderr)
    };
    let (_, stderr) = run(&["apply", "--sandbox=clusters"], 0);
    assert!(stderr.contains("west/app/api: installed (revision 1)"), "{stderr}");
    assert!(dir.path().join("clusters/context-east").is_dir());
    assert!(dir.path().join("clusters/context-west").is_dir());
    let (_, stderr) = run(&["apply", "--sandbox=clusters"], 0);
    assert!(stderr.contains("No changes"), "{stderr}");
    let (stdout, _) = run(&["status", "--sandbox=clusters", "-o", "json"], 0);
    let status: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(status[1]["kubeContext"], "west", "{stdout}");
    assert_eq!(status[1]["status"], "deployed", "{stdout}");
    run(&["destroy", "--sandbox=clusters", "--yes"], 0);
}

#[test]
fn the_two_cluster_example_applies_on_sandboxes() {
    let dir = tempfile::tempdir().unwrap();
    let example = format!("{}/examples/two-clusters/helmfire.yaml", crate::support::oracle::ROOT);
    let sandbox = format!("--sandbox={}", dir.path().join("sandbox").display());
    let run = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_helmfire"))
            .args(["-f", &example, &sandbox])
            .args(args)
            .env("HOME", dir.path())
            .env("NO_COLOR", "1")
            .env_remove("KUBECONFIG")
            .env_remove("HELM_DRIVER")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{args:?}: {stderr}");
        stderr
    };
    let stderr = run(&["apply"]);
    assert!(
        stderr.contains("data/shop/database: installed (revision 1)"),
        "{stderr}"
    );
    assert!(stderr.contains("apps/shop/web: installed (revision 1)"), "{stderr}");
    assert!(run(&["apply"]).contains("No changes"));
}
