//! helmfire reading helmfiles, against the real helmfile v0.166.0 (`scripts/install-helmfile.sh`)
//! on the fixtures of `testdata/helmfile/`: for every case and environment, `helmfile list
//! --skip-charts --output json` against `helmfire list -o json`, and `helmfile build
//! --embed-values` (values, set, needs and helm flags of every release) against the native file
//! `helmfire import` writes, and `helmfile template` (its helm v3.15) against `helmfire template`
//! where every chart is local.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use crate::support::helmfile::{
    Helmfile, Row, helmfile_rows, helmfire, helmfire_rows, normalize_numbers, yaml_documents,
};
use crate::support::oracle;

/// A fixture directory, the `-f` argument (`None`: the default lookup), its environments, those
/// in which `helmfile build` can run offline (it pulls OCI charts that are installed), and those
/// in which every chart is local, so `helmfile template` runs offline.
struct Case {
    dir: &'static str,
    file: Option<&'static str>,
    environments: &'static [&'static str],
    build: &'static [&'static str],
    template: &'static [&'static str],
}

/// Variables the fixtures read through `env`/`requiredEnv`.
const ENV: &[(&str, &str)] = &[
    ("HELMFIRE_FIXTURE_REGION", "eu-west-1"),
    ("HELMFIRE_FIXTURE_TOKEN", "t0k3n"),
];

const CASES: &[Case] = &[
    Case {
        dir: "environments-gotmpl-values",
        file: Some("helmfile.yaml"),
        environments: &["default", "prod"],
        build: &["default", "prod"],
        template: &["default", "prod"],
    },
    Case {
        dir: "bases-parts-templates",
        file: Some("helmfile.yaml"),
        environments: &["default", "staging"],
        build: &["default"],
        template: &[],
    },
    Case {
        dir: "helmfile-d-directory",
        file: None,
        environments: &["default", "prod"],
        build: &["default", "prod"],
        template: &[],
    },
    Case {
        dir: "sub-helmfiles",
        file: Some("helmfile.yaml"),
        environments: &["default", "prod"],
        build: &["default", "prod"],
        template: &["default", "prod"],
    },
    Case {
        dir: "block-scalar-ends",
        file: None,
        environments: &["default"],
        build: &["default"],
        template: &["default"],
    },
    Case {
        dir: "template-functions",
        file: None,
        environments: &["default"],
        build: &["default"],
        template: &["default"],
    },
    Case {
        dir: "two-contexts",
        file: None,
        environments: &["default"],
        build: &["default"],
        template: &[],
    },
];

fn fixture(dir: &str) -> PathBuf {
    oracle::root().join("testdata/helmfile").join(dir)
}

fn args<'a>(case: &'a Case, environment: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    if let Some(file) = case.file {
        out.extend(["-f", file]);
    }
    out.extend(["-e", environment]);
    out.extend_from_slice(rest);
    out
}

fn stdout(output: &std::process::Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn helmfire_lists_what_helmfile_lists() {
    let oracle = Helmfile::new();
    for case in CASES {
        let dir = fixture(case.dir);
        for environment in case.environments {
            let what = format!("{} -e {environment}", case.dir);
            let expected = helmfile_rows(&stdout(
                &oracle.run(
                    &dir,
                    &args(case, environment, &["list", "--skip-charts", "--output", "json"]),
                    ENV,
                ),
                &format!("helmfile list ({what})"),
            ));
            let actual = helmfire_rows(&stdout(
                &helmfire(&dir, &args(case, environment, &["list", "-o", "json"]), ENV),
                &format!("helmfire list ({what})"),
            ));
            assert_eq!(actual, expected, "{what}: helmfire list differs from helmfile list");
        }
    }
}

/// What a release deploys with, as both tools say it.
#[derive(Debug, PartialEq)]
struct Deployed {
    id: String,
    values: Vec<Json>,
    set: BTreeMap<String, Json>,
    needs: Vec<String>,
    wait: bool,
    timeout: i64,
    atomic: bool,
    history_max: i64,
    create_namespace: bool,
    kube_context: String,
}

/// `helmfile build --embed-values`, reduced to what each enabled release deploys with.
fn helmfile_deployed(build: &str, enabled: &[Row], environment: &str) -> Vec<Deployed> {
    let mut out = Vec::new();
    // helmfire ids (and so its needs) carry the kube context only when releases span several.
    let documents = yaml_documents(build);
    let contexts: std::collections::BTreeSet<String> = documents
        .iter()
        .flat_map(|state| state["releases"].as_array().cloned().unwrap_or_default())
        .map(|release| release["kubeContext"].as_str().unwrap_or("").to_string())
        .collect();
    for state in documents {
        let defaults = &state["helmDefaults"];
        for release in state["releases"].as_array().cloned().unwrap_or_default() {
            let namespace = release["namespace"]
                .as_str()
                .filter(|n| !n.is_empty())
                .unwrap_or("default");
            let name = release["name"].as_str().unwrap_or("");
            if !enabled.iter().any(|r| r.name == name && r.namespace == namespace) {
                continue;
            }
            let flag = |key: &str| {
                release[key]
                    .as_bool()
                    .unwrap_or_else(|| defaults[key].as_bool().unwrap_or(false))
            };
            let mut set = BTreeMap::new();
            for entry in release["set"].as_array().cloned().unwrap_or_default() {
                let key = entry["name"].as_str().unwrap_or("").to_string();
                let typed = |text: &str| {
                    helmfire_value::interop::to_json(&helmfire_chart::values::strvals::typed_value(text, false))
                        .unwrap()
                };
                let value = match (entry["value"].as_str(), entry["values"].as_array()) {
                    (Some(value), _) if !value.is_empty() => typed(value),
                    (_, Some(values)) => Json::Array(values.iter().map(|v| typed(v.as_str().unwrap_or(""))).collect()),
                    _ => continue,
                };
                set.insert(key, value);
            }
            let environment_context = state["environments"][environment]["kubeContext"].as_str().unwrap_or("");
            out.push(Deployed {
                id: format!("{namespace}/{name}"),
                values: release["values"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(normalize_numbers)
                    .collect(),
                set,
                needs: release["needs"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(|n| {
                        let parts: Vec<&str> = n.as_str().unwrap_or("").split('/').collect();
                        let name = parts[parts.len() - 1];
                        let namespace = if parts.len() > 1 && !parts[parts.len() - 2].is_empty() {
                            parts[parts.len() - 2]
                        } else {
                            "default"
                        };
                        match parts.len() {
                            3.. if contexts.len() > 1 => {
                                format!("{}/{namespace}/{name}", parts[..parts.len() - 2].join("/"))
                            }
                            _ => format!("{namespace}/{name}"),
                        }
                    })
                    .collect(),
                wait: flag("wait"),
                timeout: release["timeout"]
                    .as_i64()
                    .or(defaults["timeout"].as_i64().filter(|t| *t > 0))
                    .unwrap_or(300),
                atomic: flag("atomic"),
                history_max: release["historyMax"]
                    .as_i64()
                    .or(defaults["historyMax"].as_i64())
                    .unwrap_or(10),
                create_namespace: release["createNamespace"]
                    .as_bool()
                    .or(defaults["createNamespace"].as_bool())
                    .unwrap_or(true),
                kube_context: release["kubeContext"]
                    .as_str()
                    .filter(|c| !c.is_empty())
                    .unwrap_or(environment_context)
                    .to_string(),
            });
        }
    }
    out
}

/// The native file `helmfire import` wrote, reduced the same way (values files read from `dir`).
fn imported_deployed(imported: &str, dir: &Path, environment: &str) -> Vec<Deployed> {
    let document = yaml_documents(imported).remove(0);
    let environment_context = document["environments"][environment]["kubeContext"]
        .as_str()
        .unwrap_or("");
    let mut out = Vec::new();
    for release in document["releases"].as_array().cloned().unwrap_or_default() {
        let values = release["values"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|v| match v.as_str() {
                Some(path) => {
                    let text = std::fs::read_to_string(dir.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"));
                    normalize_numbers(&yaml_documents(&text).remove(0))
                }
                None => normalize_numbers(v),
            })
            .collect();
        out.push(Deployed {
            id: format!(
                "{}/{}",
                release["namespace"].as_str().unwrap(),
                release["name"].as_str().unwrap()
            ),
            values,
            set: release["set"]
                .as_object()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            needs: release["needs"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|n| n.as_str().unwrap_or("").to_string())
                .collect(),
            wait: release["wait"].as_bool().unwrap_or(false),
            timeout: release["timeout"].as_i64().unwrap_or(300),
            atomic: release["atomic"].as_bool().unwrap_or(false),
            history_max: release["historyMax"].as_i64().unwrap_or(10),
            create_namespace: release["createNamespace"].as_bool().unwrap_or(true),
            kube_context: release["kubeContext"]
                .as_str()
                .unwrap_or(environment_context)
                .to_string(),
        });
    }
    out
}

#[test]
fn helmfire_import_deploys_what_helmfile_build_says() {
    let oracle = Helmfile::new();
    for case in CASES {
        let dir = fixture(case.dir);
        for environment in case.build {
            let what = format!("{} -e {environment}", case.dir);
            let enabled = helmfile_rows(&stdout(
                &oracle.run(
                    &dir,
                    &args(case, environment, &["list", "--skip-charts", "--output", "json"]),
                    ENV,
                ),
                &format!("helmfile list ({what})"),
            ));
            let build = stdout(
                &oracle.run(&dir, &args(case, environment, &["build", "--embed-values"]), ENV),
                &format!("helmfile build ({what})"),
            );
            let imported = stdout(
                &helmfire(&dir, &args(case, environment, &["import"]), ENV),
                &format!("helmfire import ({what})"),
            );
            let expected = helmfile_deployed(&build, &enabled, environment);
            let actual = imported_deployed(&imported, &dir, environment);
            assert_eq!(
                actual, expected,
                "{what}: the imported file differs from helmfile build\n{imported}"
            );
        }
    }
}

/// The YAML documents of a multi-document stream, trimmed and sorted: helmfile templates
/// releases concurrently and ends each document with a blank line, helmfire follows the graph.
fn manifest_documents(stream: &str) -> Vec<String> {
    let mut documents: Vec<String> = format!("\n{stream}\n")
        .split("\n---\n")
        .map(|d| d.trim().to_string())
        .filter(|d| !d.is_empty())
        .collect();
    documents.sort();
    documents
}

#[test]
fn helmfire_template_renders_what_helmfile_template_renders() {
    let oracle = Helmfile::new();
    let mut compared = 0;
    for case in CASES {
        let dir = fixture(case.dir);
        for environment in case.template {
            let what = format!("{} -e {environment}", case.dir);
            // `--skip-deps`: no `helm repo add` or `helm dependency build` (the charts are local).
            let expected = manifest_documents(&stdout(
                &oracle.run(&dir, &args(case, environment, &["template", "--skip-deps"]), ENV),
                &format!("helmfile template ({what})"),
            ));
            let actual = manifest_documents(&stdout(
                &helmfire(&dir, &args(case, environment, &["template"]), ENV),
                &format!("helmfire template ({what})"),
            ));
            assert!(!expected.is_empty(), "{what}: helmfile rendered nothing");
            assert_eq!(
                actual, expected,
                "{what}: helmfire template differs from helmfile template"
            );
            compared += expected.len();
        }
    }
    assert!(compared >= 10, "only {compared} documents compared");
}

/// Copies `testdata/helmfile/<dir>` and the charts it uses into a scratch directory (the
/// imported file is written next to the helmfile, where its relative paths hold).
fn scratch_copy(dir: &str) -> (tempfile::TempDir, PathBuf) {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).unwrap();
            }
        }
    }
    let scratch = tempfile::tempdir().unwrap();
    copy(&fixture("charts"), &scratch.path().join("charts"));
    copy(&fixture(dir), &scratch.path().join(dir));
    let path = scratch.path().join(dir);
    (scratch, path)
}

/// The migration promise: deploy with the real helmfile (and its helm), import, and helmfire's
/// diff of the imported native file — and of the helmfile itself — finds nothing to change.
#[test]
fn imported_file_diffs_clean_against_what_helmfile_deployed() {
    let oracle = Helmfile::new();
    for dir in ["sub-helmfiles", "template-functions"] {
        let cluster = crate::support::sandbox::Cluster::start();
        let (_scratch, path) = scratch_copy(dir);
        let kubeconfig = cluster.kubeconfig.to_string_lossy().into_owned();
        let mut env: Vec<(&str, &str)> = ENV.to_vec();
        env.push(("KUBECONFIG", &kubeconfig));
        stdout(&oracle.run(&path, &["sync"], &env), &format!("helmfile sync ({dir})"));

        let imported = stdout(&helmfire(&path, &["import"], &env), &format!("helmfire import ({dir})"));
        std::fs::write(path.join("helmfire.yaml"), &imported).unwrap();
        let helmfile = if dir == "template-functions" {
            "helmfile.yaml.gotmpl"
        } else {
            "helmfile.yaml"
        };
        for file in ["helmfire.yaml", helmfile] {
            let args = ["-f", file, "diff", "--no-live", "--detailed-exitcode"];
            let output = helmfire(&path, &args, &env);
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
            assert_eq!(
                output.status.code(),
                Some(0),
                "{dir}: helmfire {args:?} found changes:\n{text}\n{imported}"
            );
            assert!(
                text.contains("0 to install, 0 to upgrade, 0 to uninstall"),
                "{dir}: {text}"
            );
        }
    }
}
