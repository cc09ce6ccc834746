//! SIGTERM stops `apply` the way Ctrl-C does (nothing new, running releases finished, Leases
//! released, exit 130), and a second signal cuts readiness waits short: the running release is
//! recorded failed and its Lease let go at once.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::deploy::Deploy;

/// Reads stderr until a line containing `needle`; returns everything read so far.
fn read_until(stderr: &mut BufReader<std::process::ChildStderr>, needle: &str) -> String {
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        if stderr.read_line(&mut line).expect("read stderr") == 0 {
            panic!("helmfire ended before printing `{needle}`:\n{seen}");
        }
        seen.push_str(&line);
        if line.contains(needle) {
            return seen;
        }
    }
}

fn signal(child: &Child, name: &str) {
    let status = std::process::Command::new("kill")
        .args([&format!("-{name}"), &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
}

/// The Lease of `namespace/name` as kubectl sees it.
fn lease_holder(deploy: &Deploy, namespace: &str, name: &str) -> serde_json::Value {
    let lease = deploy
        .cluster
        .get_json(&["lease", &format!("helmfire.release.{name}"), "-n", namespace]);
    lease["spec"]["holderIdentity"].clone()
}

#[test]
fn sigterm_stops_like_ctrl_c_and_releases_the_leases() {
    let deploy = Deploy::start_with_delay(Duration::from_millis(2000));
    let state = deploy.state(
        "helmfire.yaml",
        "
defaults: {createNamespace: true, timeout: 30s, wait: true}
releases:
  - {name: first, namespace: ns-first, chart: CHART}
  - {name: second, namespace: ns-second, chart: CHART, needs: [ns-first/first]}
",
    );
    let mut child = deploy
        .command(&state, &["apply"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn helmfire");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = read_until(&mut stderr, "ns-first/first: install started");
    signal(&child, "TERM");
    stderr.read_to_string(&mut seen).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130), "a clean stop, not death by signal:\n{seen}");
    assert!(seen.contains("SIGTERM received: starting nothing new"), "{seen}");
    assert!(seen.contains("ns-first/first: installed (revision 1)"), "{seen}");
    assert!(seen.contains("ns-second/second: cancelled"), "{seen}");
    let releases = deploy.helm_releases();
    assert_eq!(releases.len(), 1, "{releases:?}");
    assert_eq!(releases[0].2, "deployed", "nothing pending: {releases:?}");
    assert!(
        lease_holder(&deploy, "ns-first", "first").is_null(),
        "the Lease was released"
    );
}

#[test]
fn a_second_signal_cuts_the_readiness_wait_short() {
    // Workloads take a minute to become ready; the release waits up to five.
    let deploy = Deploy::start_with_delay(Duration::from_secs(60));
    let state = deploy.state(
        "helmfire.yaml",
        "
defaults: {createNamespace: true, timeout: 5m, wait: true}
releases:
  - {name: slow, namespace: ns-slow, chart: CHART}
",
    );
    let mut child = deploy
        .command(&state, &["apply"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn helmfire");
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut seen = read_until(&mut stderr, "ns-slow/slow: waiting for");
    signal(&child, "INT");
    seen.push_str(&read_until(&mut stderr, "SIGINT received: starting nothing new"));
    let second = Instant::now();
    signal(&child, "TERM");
    stderr.read_to_string(&mut seen).unwrap();
    let status = child.wait().unwrap();
    assert!(
        second.elapsed() < Duration::from_secs(15),
        "the wait was cut short, not waited out ({:?}):\n{seen}",
        second.elapsed()
    );
    assert_eq!(status.code(), Some(130), "{seen}");
    assert!(seen.contains("SIGTERM received again: cutting waits short"), "{seen}");
    assert!(
        seen.contains("ns-slow/slow: failed") && seen.contains("interrupted while waiting"),
        "{seen}"
    );
    let releases = deploy.helm_releases();
    assert_eq!(releases.len(), 1, "{releases:?}");
    assert_eq!(
        releases[0].2, "failed",
        "recorded failed, not left pending: {releases:?}"
    );
    assert!(
        lease_holder(&deploy, "ns-slow", "slow").is_null(),
        "the Lease was released"
    );
}
