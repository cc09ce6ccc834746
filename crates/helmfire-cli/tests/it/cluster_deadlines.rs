//! Every cluster request and credential plugin has a deadline: a server that accepts and never
//! answers, one that stalls mid-body and an exec plugin that hangs all end `diff` with an error
//! naming the server (or plugin) and the context, within a bounded time. TLS failures are not
//! retried and say they are TLS failures; certificate-authority data that holds no certificate
//! is refused, as kubectl refuses it.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;

use crate::support::oracle;
use crate::support::sources::{Server, Tls};

/// A kubeconfig for `server` in context `victim`, with `user` as the user's YAML body.
fn kubeconfig(dir: &Path, server: &str, cluster_extra: &str, user: &str) -> PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n{cluster_extra}contexts:\n- name: victim\n  context: {{cluster: c, user: u, namespace: default}}\ncurrent-context: victim\nusers:\n- name: u\n  user:\n{user}"
        ),
    )
    .unwrap();
    path
}

const TOKEN_USER: &str = "    token: t\n";

/// A state file with one release of the ten-object chart.
fn state(dir: &Path) -> PathBuf {
    let path = dir.join("helmfire.yaml");
    std::fs::write(
        &path,
        format!(
            "releases:\n  - {{name: web, chart: {}/testdata/charts/ten-objects}}\n",
            oracle::ROOT
        ),
    )
    .unwrap();
    path
}

/// Runs `helmfire -v diff` against `kubeconfig` with a 2 s request deadline.
fn diff(dir: &Path, kubeconfig: &Path) -> (Option<i32>, String, Duration) {
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_helmfire"))
        .arg("-f")
        .arg(state(dir))
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(["--request-timeout", "2s", "-v", "diff"])
        .env("NO_COLOR", "1")
        .env("HOME", dir)
        .env_remove("KUBECONFIG")
        .output()
        .expect("run helmfire");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        started.elapsed(),
    )
}

/// A server that accepts connections and then runs `behaviour` on each (in its own thread).
fn server(behaviour: fn(std::net::TcpStream)) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || behaviour(stream));
        }
    });
    format!("http://{address}")
}

fn read_head(stream: &mut std::net::TcpStream) {
    let mut seen = Vec::new();
    let mut byte = [0u8];
    while !seen.ends_with(b"\r\n\r\n") && stream.read(&mut byte).is_ok_and(|n| n == 1) {
        seen.push(byte[0]);
    }
}

#[test]
fn a_server_that_never_answers_times_out_naming_server_and_context() {
    let dir = tempfile::tempdir().unwrap();
    let url = server(|mut stream| {
        read_head(&mut stream);
        std::thread::sleep(Duration::from_secs(600));
    });
    let (code, stderr, took) = diff(dir.path(), &kubeconfig(dir.path(), &url, "", TOKEN_USER));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(took < Duration::from_secs(20), "bounded: {took:?}\n{stderr}");
    assert!(
        stderr.contains(&format!("no answer from `{url}/` (context `victim`) within 2s")),
        "{stderr}"
    );
    assert!(
        stderr.contains("note: retrying get `/version`"),
        "retries are shown with -v:\n{stderr}"
    );
}

#[test]
fn a_server_that_stalls_mid_body_times_out() {
    let dir = tempfile::tempdir().unwrap();
    let url = server(|mut stream| {
        read_head(&mut stream);
        let _ = stream.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n{\"major\": \"1\",",
        );
        let _ = stream.flush();
        std::thread::sleep(Duration::from_secs(600));
    });
    let (code, stderr, took) = diff(dir.path(), &kubeconfig(dir.path(), &url, "", TOKEN_USER));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(took < Duration::from_secs(20), "bounded: {took:?}\n{stderr}");
    assert!(stderr.contains(&format!("`{url}/` (context `victim`)")), "{stderr}");
}

#[test]
fn a_hanging_credential_plugin_is_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let url = server(|_| {});
    let user = "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: sh\n      args: [-c, 'sleep 600']\n      interactiveMode: Never\n";
    let (code, stderr, took) = diff(dir.path(), &kubeconfig(dir.path(), &url, "", user));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(took < Duration::from_secs(20), "bounded: {took:?}\n{stderr}");
    assert!(
        stderr.contains("the credential plugin `sh` of context `victim` did not finish within 2s (it was stopped)"),
        "{stderr}"
    );
}

#[test]
fn tls_failures_are_reported_as_such_and_not_retried() {
    let dir = tempfile::tempdir().unwrap();
    let tls = Tls::generate(dir.path());
    let server = Server::start(dir.path(), Some(tls.server_config.clone()), None);
    // No certificate authority: the throwaway CA is unknown to the system roots.
    let url = format!("https://127.0.0.1:{}", server.port);
    let (code, stderr, _) = diff(dir.path(), &kubeconfig(dir.path(), &url, "", TOKEN_USER));
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("the TLS connection to the cluster failed"), "{stderr}");
    assert!(
        stderr.contains(&format!("TLS handshake with `{url}/` (context `victim`) failed")),
        "{stderr}"
    );
    assert!(!stderr.contains("did not answer"), "{stderr}");
    assert!(!stderr.contains("retrying"), "TLS errors are not retried:\n{stderr}");
}

#[test]
fn certificate_authority_data_that_is_no_certificate_is_refused_like_kubectl() {
    let dir = tempfile::tempdir().unwrap();
    let url = server(|_| {});
    let not_a_certificate = base64::engine::general_purpose::STANDARD.encode("this is not a certificate");
    let extra = format!("    certificate-authority-data: {not_a_certificate}\n");
    let config = kubeconfig(dir.path(), &url.replace("http:", "https:"), &extra, TOKEN_USER);
    let (code, stderr, _) = diff(dir.path(), &config);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("the certificate authority of context `victim` holds no PEM certificate"),
        "{stderr}"
    );
    let kubectl = Command::new(oracle::locate("kubectl"))
        .args(["--kubeconfig"])
        .arg(&config)
        .args(["get", "namespaces"])
        .output()
        .expect("kubectl runs");
    assert!(!kubectl.status.success());
    assert!(
        String::from_utf8_lossy(&kubectl.stderr).contains("unable to load root certificates"),
        "kubectl refuses it too: {}",
        String::from_utf8_lossy(&kubectl.stderr)
    );
}
