//! The state-file commands (lint, list, graph, schema, completion, version) driven through the
//! real binary, on the examples and on small fixtures.

use std::process::{Command, Output};

fn helmfire(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_helmfire"))
        .current_dir(crate::support::oracle::ROOT)
        .env("NO_COLOR", "1")
        .env_remove("QUICKSTART_HOST")
        .args(args)
        .output()
        .expect("run helmfire")
}

fn stdout_ok(args: &[&str]) -> String {
    let output = helmfire(args);
    assert!(
        output.status.success(),
        "helmfire {args:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 stdout")
}

#[test]
fn yaml_and_toml_forms_of_every_example_agree() {
    let cases: &[(&str, &[&str])] = &[("quickstart", &["default"]), ("platform", &["staging", "production"])];
    for (example, environments) in cases {
        for environment in *environments {
            for command in [["list", "--output", "json"], ["graph", "--output", "json"]] {
                let yaml_file = format!("examples/{example}/helmfire.yaml");
                let toml_file = format!("examples/{example}/helmfire.toml");
                let mut yaml_args = vec!["-f", &yaml_file, "-e", environment];
                yaml_args.extend(command);
                let mut toml_args = vec!["-f", &toml_file, "-e", environment];
                toml_args.extend(command);
                let from_yaml = stdout_ok(&yaml_args);
                assert_eq!(
                    from_yaml,
                    stdout_ok(&toml_args),
                    "{example} ({environment}): {command:?} differs"
                );
                assert!(from_yaml.len() > 100, "suspiciously small output: {from_yaml}");
            }
        }
    }
}

#[test]
fn platform_example_is_large_and_environment_specific() {
    let staging = stdout_ok(&[
        "-f",
        "examples/platform/helmfire.yaml",
        "-e",
        "staging",
        "list",
        "-o",
        "json",
    ]);
    let releases: serde_json::Value = serde_json::from_str(&staging).unwrap();
    assert!(releases.as_array().unwrap().len() >= 20);
    let installed = |json: &serde_json::Value, id: &str| {
        json.as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .map(|r| r["installed"].as_bool().unwrap())
    };
    // `condition`s evaluate against the environment.
    assert_eq!(installed(&releases, "argocd/argo-cd"), Some(false));
    assert_eq!(installed(&releases, "apps/admin-console"), Some(true));
    let production = stdout_ok(&[
        "-f",
        "examples/platform/helmfire.yaml",
        "-e",
        "production",
        "list",
        "-o",
        "json",
    ]);
    let production: serde_json::Value = serde_json::from_str(&production).unwrap();
    assert_eq!(installed(&production, "argocd/argo-cd"), Some(true));
    assert_eq!(installed(&production, "apps/admin-console"), Some(false));
}

#[test]
fn list_shows_ids_charts_needs_and_labels() {
    insta::assert_snapshot!(
        "quickstart-list",
        stdout_ok(&["-f", "examples/quickstart/helmfire.yaml", "list"])
    );
}

#[test]
fn graph_renders_in_every_format() {
    for format in ["text", "dot", "mermaid", "json"] {
        let output = stdout_ok(&["-f", "examples/quickstart/helmfire.yaml", "graph", "--output", format]);
        insta::assert_snapshot!(format!("quickstart-graph-{format}"), output);
    }
}

#[test]
fn selectors_and_needs_flags() {
    let ids = |args: &[&str]| -> Vec<String> {
        let mut full = vec!["-f", "testdata/states/valid/needs.yaml"];
        full.extend(args);
        full.extend(["list", "-o", "json"]);
        let json: serde_json::Value = serde_json::from_str(&stdout_ok(&full)).unwrap();
        json.as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(ids(&[]), ["apps/database", "apps/api", "apps/web", "apps/docs"]);
    assert_eq!(ids(&["-l", "name=docs"]), ["apps/docs"]);
    // Separate flags OR; pairs inside one flag AND.
    assert_eq!(
        ids(&["-l", "tier=data", "-l", "name=docs"]),
        ["apps/database", "apps/docs"]
    );
    assert_eq!(ids(&["-l", "tier=frontend,name!=web"]), ["apps/docs"]);
    assert_eq!(
        ids(&["-l", "namespace=apps,team=platform,tier=data"]),
        ["apps/database"]
    );
    assert_eq!(ids(&["-l", "chart=../../charts-min/hello,name=docs"]), ["apps/docs"]);
    assert_eq!(ids(&["-l", "tier=frontend", "--skip-needs"]), ["apps/web", "apps/docs"]);
    assert_eq!(
        ids(&["-l", "tier=frontend", "--include-needs"]),
        ["apps/api", "apps/web", "apps/docs"]
    );
    assert_eq!(
        ids(&["-l", "tier=frontend", "--include-transitive-needs"]),
        ["apps/database", "apps/api", "apps/web", "apps/docs"]
    );
    let strict = helmfire(&["-f", "testdata/states/valid/needs.yaml", "-l", "tier=frontend", "list"]);
    assert_eq!(strict.status.code(), Some(1));
}

#[test]
fn missing_values_file_can_be_only_a_warning() {
    let output = helmfire(&["-f", "testdata/states/valid/missing-values-warn.yaml", "lint"]);
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("warning: values file `testdata/states/valid/values/not-here.yaml` does not exist; skipped"),
        "{stderr}"
    );
    let quiet = helmfire(&["-f", "testdata/states/valid/missing-values-warn.yaml", "-q", "lint"]);
    assert!(quiet.status.success() && quiet.stderr.is_empty());
}

#[test]
fn lint_reports_success_on_stderr_and_nothing_on_stdout() {
    let output = helmfire(&["-f", "examples/quickstart/helmfire.yaml", "lint"]);
    assert!(output.status.success());
    assert!(output.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "ok: `examples/quickstart/helmfire.yaml` is valid (4 releases, environment `default`)\n"
    );
}

#[test]
fn default_state_file_is_found_in_the_working_directory() {
    let output = Command::new(env!("CARGO_BIN_EXE_helmfire"))
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/quickstart"))
        .args(["list", "-o", "json"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

#[test]
fn committed_schema_is_up_to_date() {
    let generated = stdout_ok(&["schema"]);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../schemas/helmfire.schema.json");
    if std::env::var_os("HELMFIRE_UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "schemas/helmfire.schema.json is stale: run `HELMFIRE_UPDATE_SCHEMA=1 cargo test -p helmfire-cli --test it cli_state::committed_schema`"
    );
    let schema: serde_json::Value = serde_json::from_str(&generated).unwrap();
    assert_eq!(schema["title"], "helmfire state file");
    assert!(
        schema["definitions"]["Release"]["properties"]["needs"].is_object(),
        "{generated}"
    );
}

#[test]
fn completion_version_and_help() {
    assert!(stdout_ok(&["completion", "bash"]).contains("_helmfire()"));
    assert!(stdout_ok(&["completion", "zsh"]).contains("#compdef helmfire"));
    assert_eq!(
        stdout_ok(&["version"]),
        format!("helmfire {}\n", env!("CARGO_PKG_VERSION"))
    );
    let help = stdout_ok(&["--help"]);
    for line in ["0    success", "2    changes present", "3    drift detected"] {
        assert!(help.contains(line), "exit code table missing from --help:\n{help}");
    }
    let bad = helmfire(&["no-such-command"]);
    assert_eq!(bad.status.code(), Some(1));
}

#[test]
fn chart_commands_are_listed_and_unknown_ones_rejected() {
    assert!(stdout_ok(&["--help"]).contains("chart template RELEASE CHART"));
    let unknown = helmfire(&["chart", "lint"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown command `chart lint`"));
    assert!(stdout_ok(&["chart", "template", "--help"]).contains("Usage: helmfire chart template"));
}
