//! `helmfire sandbox` as a user runs it: a foreground process that prints its URL, writes a
//! kubeconfig that the real kubectl and helm use, stops cleanly on SIGTERM/Ctrl-C, and keeps its
//! state in `--data-dir` across runs.

use crate::support::sandbox as sandbox_support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use sandbox_support::oracle;

struct Running {
    child: Child,
    url: String,
}

fn start(dir: &Path, extra: &[&str]) -> Running {
    let mut child = Command::new(env!("CARGO_BIN_EXE_helmfire"))
        .current_dir(dir)
        .args([
            "sandbox",
            "--data-dir",
            "data",
            "--kubeconfig-out",
            "kube/config",
            "--controller-delay",
            "100ms",
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start helmfire sandbox");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .expect("read the URL");
    assert!(
        line.starts_with("http://127.0.0.1:"),
        "first stdout line should be the URL, got {line:?}"
    );
    Running {
        child,
        url: line.trim().to_string(),
    }
}

fn stop(running: Running) -> String {
    let status = Command::new("kill")
        .args(["-TERM", &running.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let output = running.child.wait_with_output().unwrap();
    assert!(output.status.success(), "sandbox exit: {:?}", output.status);
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn tool(dir: &Path, binary: &str, args: &[&str]) -> String {
    let output = Command::new(oracle(binary))
        .args(args)
        .env("KUBECONFIG", dir.join("kube/config"))
        .env("HOME", dir)
        .env("HELM_CACHE_HOME", dir.join("helm/cache"))
        .env("HELM_CONFIG_HOME", dir.join("helm/config"))
        .env("HELM_DATA_HOME", dir.join("helm/data"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{binary} {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn sandbox_serves_kubectl_and_helm_and_keeps_state_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let chart = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/charts-min/hello");

    let first = start(dir.path(), &[]);
    let kubeconfig = std::fs::read_to_string(dir.path().join("kube/config")).unwrap();
    assert!(
        kubeconfig.contains(&first.url),
        "kubeconfig should point at {}:\n{kubeconfig}",
        first.url
    );
    tool(dir.path(), "kubectl", &["create", "namespace", "demo"]);
    tool(
        dir.path(),
        "helm",
        &[
            "install",
            "hello",
            chart,
            "-n",
            "demo",
            "--set",
            "greeting=hi",
            "--wait",
        ],
    );
    let stderr = stop(first);
    assert!(stderr.contains("stopping"), "{stderr}");

    // A second run on the same data directory sees everything the first one stored.
    let second = start(dir.path(), &[]);
    let greeting = tool(
        dir.path(),
        "kubectl",
        &[
            "get",
            "configmap",
            "hello",
            "-n",
            "demo",
            "-o",
            "jsonpath={.data.greeting}",
        ],
    );
    assert_eq!(greeting, "hi");
    let releases = tool(dir.path(), "helm", &["list", "-n", "demo", "-q"]);
    assert_eq!(releases.trim(), "hello");
    stop(second);
}

#[test]
fn bad_sandbox_flags_are_clear_errors() {
    let output = Command::new(env!("CARGO_BIN_EXE_helmfire"))
        .args(["sandbox", "--faults", "error=700:2@nothing"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: invalid --faults `error=700:2@nothing`"),
        "{stderr}"
    );

    let output = Command::new(env!("CARGO_BIN_EXE_helmfire"))
        .args(["sandbox", "--controller-delay", "soon"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("invalid --controller-delay `soon`"));
}
