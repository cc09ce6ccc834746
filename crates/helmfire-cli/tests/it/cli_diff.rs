//! `helmfire diff` through the real binary against an in-process sandbox: snapshots of the
//! three output formats, exit codes, and no secret value in any output or log.

use crate::support::deploy as deploy_support;

use deploy_support::Deploy;

const V1: &str = "
defaults: {createNamespace: true}
releases:
  - name: web
    namespace: shop
    chart: CHART
    set: {password: planted-old-password-1}
  - name: worker
    namespace: shop
    chart: CHART
    needs: [web]
  - name: legacy
    namespace: shop
    chart: CHART
  - name: unchanged
    namespace: shop
    chart: CHART
";

/// web: new image tag, replica count and password; worker: new log level;
/// legacy: not installed any more; cache: new.
const V2: &str = "
defaults: {createNamespace: true}
releases:
  - name: web
    namespace: shop
    chart: CHART
    set: {password: planted-new-password-2, replicas: 2, image: {tag: '1.1.0'}}
  - name: worker
    namespace: shop
    chart: CHART
    needs: [web]
    set: {logLevel: debug}
  - name: legacy
    namespace: shop
    chart: CHART
    installed: false
  - name: unchanged
    namespace: shop
    chart: CHART
  - name: cache
    namespace: shop
    chart: CHART
";

const PLANTED: &[&str] = &["planted-old-password-1", "planted-new-password-2"];

/// The planted values as they are and base64-encoded (how a Secret's `data` carries them).
fn planted_forms() -> Vec<String> {
    use base64::Engine as _;
    PLANTED
        .iter()
        .flat_map(|p| [p.to_string(), base64::engine::general_purpose::STANDARD.encode(p)])
        .collect()
}

fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(r"/[^\s]*/testdata/charts/ten-objects", "[CHART]");
    settings
}

#[test]
fn diff_output_in_every_format() {
    let deploy = Deploy::start();
    let v1 = deploy.state("v1.yaml", V1);
    deploy.expect(&v1, &["apply", "-q"], 0);
    let v2 = deploy.state("v2.yaml", V2);
    let settings = snapshot_settings();
    for (format, name) in [
        ("text", "diff_text"),
        ("json", "diff_json"),
        ("markdown", "diff_markdown"),
    ] {
        let (stdout, _) = deploy.expect(&v2, &["diff", "-o", format, "--detailed-exitcode"], 2);
        for secret in planted_forms() {
            assert!(!stdout.contains(&secret), "{format} output shows a secret:\n{stdout}");
        }
        settings.bind(|| insta::assert_snapshot!(name, stdout));
    }
    // Smaller context, and JSON that parses with the documented fields.
    let (stdout, _) = deploy.expect(&v2, &["diff", "-o", "json", "--context", "0"], 0);
    let plan: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(plan["schemaVersion"], 1);
    assert_eq!(plan["summary"]["install"], 1);
    assert_eq!(plan["summary"]["upgrade"], 2);
    assert_eq!(plan["summary"]["uninstall"], 1);
    assert_eq!(plan["summary"]["unchanged"], 1);
    let web = &plan["releases"][0];
    let secret = web["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["kind"] == "Secret")
        .expect("the web Secret changed");
    assert_eq!(secret["secretKeys"]["changed"], serde_json::json!(["dsn", "password"]));
}

#[test]
fn no_changes_exits_zero_and_errors_exit_one() {
    let deploy = Deploy::start();
    let v1 = deploy.state("v1.yaml", V1);
    let (stdout, _) = deploy.expect(&v1, &["diff", "--detailed-exitcode"], 2);
    assert!(stdout.contains("4 to install"), "{stdout}");
    deploy.expect(&v1, &["apply", "-q"], 0);
    let (stdout, _) = deploy.expect(&v1, &["diff", "--detailed-exitcode"], 0);
    assert!(
        stdout.ends_with("Plan: 0 to install, 0 to upgrade, 0 to uninstall, 4 unchanged.\n"),
        "{stdout}"
    );
    // A release whose chart does not render: the others are still planned, the exit is 1.
    let broken = deploy.state(
        "broken.yaml",
        &V1.replace("needs: [web]", "needs: [web]\n    set: {password: {nested: map}}"),
    );
    let (stdout, stderr) = deploy.expect(&broken, &["diff"], 1);
    assert!(
        stderr.contains("failed to render release `shop/worker`") && stderr.contains("b64enc"),
        "{stderr}"
    );
    assert!(stdout.contains("shop/web: unchanged"), "{stdout}");
}

#[test]
fn secret_values_never_appear_unless_asked() {
    let deploy = Deploy::start();
    let v1 = deploy.state("v1.yaml", V1);
    let v2 = deploy.state("v2.yaml", V2);
    let mut everything = String::new();
    let mut run = |state: &std::path::Path, args: &[&str]| {
        let output = deploy.helmfire(state, args);
        everything.push_str(&String::from_utf8_lossy(&output.stdout));
        everything.push_str(&String::from_utf8_lossy(&output.stderr));
    };
    run(&v1, &["diff"]);
    run(&v1, &["apply", "-v"]);
    for format in ["text", "json", "markdown"] {
        run(&v2, &["diff", "-o", format]);
        run(&v2, &["apply", "--dry-run", "-o", format]);
    }
    run(&v2, &["apply", "-v"]);
    run(&v2, &["destroy", "--yes"]);
    for secret in planted_forms() {
        assert!(!everything.contains(&secret), "`{secret}` leaked:\n{everything}");
    }
    let log: String = deploy
        .requests()
        .iter()
        .map(|r| format!("{} {}?{}\n", r.method, r.path, r.query))
        .collect();
    for secret in planted_forms() {
        assert!(!log.contains(&secret), "`{secret}` in the request log");
    }
    // The check can fail: --show-secrets does show them.
    deploy.expect(&v1, &["apply", "-q"], 0);
    let (stdout, _) = deploy.expect(&v2, &["diff", "--show-secrets"], 0);
    assert!(stdout.contains("planted-new-password-2"), "{stdout}");
}
