//! The sandbox's data folder: a write it confirmed survives a SIGKILL (it is journaled and
//! fsynced before the answer), one folder is used by one process at a time (a second
//! `apply --sandbox=DIR` waits, a second `helmfire sandbox --data-dir DIR` is refused), and
//! Secret `data` that is not base64 is refused as the API server refuses it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::support::sandbox as sandbox_support;

/// `helmfire sandbox --data-dir DIR/data` in the background; its URL.
fn start(dir: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_helmfire"))
        .current_dir(dir)
        .args([
            "sandbox",
            "--data-dir",
            "data",
            "--kubeconfig-out",
            "kube/config",
            "--controller-delay",
            "50ms",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start helmfire sandbox");
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .expect("read the URL");
    assert!(line.starts_with("http://127.0.0.1:"), "{line:?}");
    (child, line.trim().to_string())
}

/// One HTTP/1.1 request on a fresh connection: (status, body).
fn request(url: &str, method: &str, path: &str, body: &str) -> (u16, String) {
    let address = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("connect");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let code = response.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

#[test]
fn confirmed_writes_survive_a_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let (mut sandbox, url) = start(dir.path());
    let mut confirmed = Vec::new();
    for i in 0..150 {
        let name = format!("cm-{i}");
        let body =
            format!(r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"{name}"}},"data":{{"i":"{i}"}}}}"#);
        let (code, _) = request(&url, "POST", "/api/v1/namespaces/default/configmaps", &body);
        assert_eq!(code, 201);
        confirmed.push(name);
    }
    // A delete confirmed just before the kill stays deleted too.
    let (code, _) = request(&url, "DELETE", "/api/v1/namespaces/default/configmaps/cm-0", "");
    assert_eq!(code, 200);
    confirmed.remove(0);
    sandbox.kill().expect("SIGKILL");
    sandbox.wait().unwrap();

    let (mut sandbox, url) = start(dir.path());
    let (code, list) = request(&url, "GET", "/api/v1/namespaces/default/configmaps", "");
    assert_eq!(code, 200);
    let list: serde_json::Value = serde_json::from_str(&list).expect("a list");
    let mut names: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["metadata"]["name"].as_str().unwrap().to_string())
        .filter(|name| name.starts_with("cm-"))
        .collect();
    names.sort();
    confirmed.sort();
    assert_eq!(names, confirmed, "every confirmed write is back after SIGKILL");
    // The resourceVersion counter continues past what clients saw.
    let (code, created) = request(
        &url,
        "POST",
        "/api/v1/namespaces/default/configmaps",
        r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"after"}}"#,
    );
    assert_eq!(code, 201);
    let created: serde_json::Value = serde_json::from_str(&created).unwrap();
    let newest = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse::<u64>()
        .unwrap();
    let rv = created["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse::<u64>()
        .unwrap();
    assert!(rv > newest, "{rv} after {newest}");
    let _ = Command::new("kill").args(["-TERM", &sandbox.id().to_string()]).status();
    sandbox.wait().unwrap();
}

#[test]
fn a_second_sandbox_on_the_same_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut first, _) = start(dir.path());
    let output = Command::new(env!("CARGO_BIN_EXE_helmfire"))
        .current_dir(dir.path())
        .args(["sandbox", "--data-dir", "data", "--kubeconfig-out", "kube/second"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        format!(
            "error: the sandbox folder `data` is in use by another process (pid {})",
            first.id()
        )
    );
    let _ = Command::new("kill").args(["-TERM", &first.id().to_string()]).status();
    first.wait().unwrap();
}

#[test]
fn two_applies_on_one_sandbox_folder_keep_both_releases() {
    let dir = tempfile::tempdir().unwrap();
    let chart = format!("{}/testdata/charts-min/hello", crate::support::oracle::ROOT);
    let mut children = Vec::new();
    for team in ["red", "blue"] {
        let releases: String = (0..6)
            .map(|i| format!("  - {{name: {team}-{i}, namespace: {team}, chart: {chart}}}\n"))
            .collect();
        let state = dir.path().join(format!("{team}.yaml"));
        std::fs::write(
            &state,
            format!("defaults: {{createNamespace: true}}\nreleases:\n{releases}"),
        )
        .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_helmfire"))
            .current_dir(dir.path())
            .arg("-f")
            .arg(&state)
            .args(["apply", "--sandbox=shared"])
            .env("NO_COLOR", "1")
            .env("HOME", dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        children.push(child);
    }
    let mut waited = false;
    for child in children {
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        waited |= stderr.contains("note: waiting for the sandbox folder `shared`");
    }
    assert!(waited, "one apply waited for the other");
    for team in ["red", "blue"] {
        let output = Command::new(env!("CARGO_BIN_EXE_helmfire"))
            .current_dir(dir.path())
            .arg("-f")
            .arg(dir.path().join(format!("{team}.yaml")))
            .args(["status", "--sandbox=shared"])
            .env("NO_COLOR", "1")
            .env("HOME", dir.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            stdout.matches("deployed").count(),
            6,
            "{team}: no release lost:\n{stdout}"
        );
    }
}

#[test]
fn secret_data_that_is_not_base64_is_refused_like_the_api_server() {
    let cluster = sandbox_support::Cluster::start();
    let secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {password: not base64!}\n";
    let output = cluster.run_stdin("kubectl", &["apply", "-f", "-"], secret);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data at input byte 3"),
        "{stderr}"
    );
    let fine = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {password: aHVudGVyMg==}\n";
    let output = cluster.run_stdin("kubectl", &["apply", "-f", "-"], fine);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}
