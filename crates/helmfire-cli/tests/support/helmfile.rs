//! Running the real helmfile v0.166.0 (with its helm v3.15.3) and helmfire side by side on the
//! same helmfile, and reading what they print into comparable rows.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value as Json, json};

use super::oracle;

/// The helmfile oracle with a scratch HOME (helm's and helmfile's caches live there).
pub struct Helmfile {
    pub helmfile: PathBuf,
    pub helm: PathBuf,
    pub home: tempfile::TempDir,
}

impl Helmfile {
    pub fn new() -> Helmfile {
        Helmfile {
            helmfile: oracle::helmfile(),
            helm: oracle::helmfile_helm(),
            home: tempfile::tempdir().expect("scratch home"),
        }
    }

    /// `helmfile --helm-binary <helm v3> ARGS` in `dir`, with `env` set.
    pub fn command(&self, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
        let home = self.home.path();
        let mut command = Command::new(&self.helmfile);
        let helm = self.helm.to_string_lossy().into_owned();
        command
            .arg("--helm-binary")
            .arg(&helm)
            .args(args)
            .current_dir(dir)
            .env("HOME", home)
            .env("HELM_CACHE_HOME", home.join("helm-cache"))
            .env("HELM_CONFIG_HOME", home.join("helm-config"))
            .env("HELM_DATA_HOME", home.join("helm-data"))
            .env("HELMFILE_CACHE_HOME", home.join("helmfile-cache"))
            .env("HELMFILE_UPGRADE_NOTICE_DISABLED", "1")
            .env("HELMFILE_DISABLE_RUNNER_UNIQUE_ID", "1")
            .env_remove("HELMFILE_ENVIRONMENT")
            .env_remove("HELMFILE_FILE_PATH")
            .env_remove("HELM_DRIVER");
        if let Some(dir) = self.helm.parent() {
            let path = std::env::var_os("PATH").unwrap_or_default();
            let mut paths = vec![dir.to_path_buf()];
            paths.extend(std::env::split_paths(&path));
            command.env("PATH", std::env::join_paths(paths).expect("PATH"));
        }
        for (key, value) in env {
            command.env(key, value);
        }
        command
    }

    pub fn run(&self, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(dir, args, env)
            .output()
            .unwrap_or_else(|e| panic!("failed to run helmfile: {e}"))
    }
}

/// `helmfire ARGS` in `dir`, with `env` set (and the helmfile variables cleared).
pub fn helmfire(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(oracle::helmfire());
    command
        .args(args)
        .current_dir(dir)
        .env_remove("HELMFILE_ENVIRONMENT")
        .env_remove("HELM_DRIVER")
        .env("NO_COLOR", "1");
    for (key, value) in env {
        command.env(key, value);
    }
    command
        .output()
        .unwrap_or_else(|e| panic!("failed to run helmfire: {e}"))
}

/// One listed release, in the form both tools' listings reduce to.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Row {
    pub name: String,
    pub namespace: String,
    pub chart: String,
    pub version: String,
    pub installed: bool,
    pub labels: BTreeMap<String, String>,
}

/// `helmfile list --output json` as rows: releases disabled by their `condition` are left out
/// (helmfire leaves them out too), and a release without a namespace is in `default`.
pub fn helmfile_rows(stdout: &str) -> Vec<Row> {
    let stdout = stdout.trim();
    if stdout.is_empty() {
        return Vec::new();
    }
    let list: Json = serde_json::from_str(stdout).unwrap_or_else(|e| panic!("helmfile list JSON: {e}\n{stdout}"));
    list.as_array()
        .expect("an array")
        .iter()
        .filter(|r| r["enabled"] == json!(true))
        .map(|r| {
            let labels = r["labels"]
                .as_str()
                .unwrap_or("")
                .split(',')
                .filter(|l| !l.is_empty())
                .map(|l| {
                    let (k, v) = l.split_once(':').unwrap_or((l, ""));
                    (k.to_string(), v.to_string())
                })
                .collect();
            let namespace = r["namespace"].as_str().unwrap_or("");
            Row {
                name: r["name"].as_str().unwrap_or("").to_string(),
                namespace: if namespace.is_empty() {
                    "default".into()
                } else {
                    namespace.into()
                },
                chart: r["chart"].as_str().unwrap_or("").to_string(),
                version: r["version"].as_str().unwrap_or("").to_string(),
                installed: r["installed"] == json!(true),
                labels,
            }
        })
        .collect()
}

/// `helmfire list -o json` as rows.
pub fn helmfire_rows(stdout: &str) -> Vec<Row> {
    let list: Json = serde_json::from_str(stdout).unwrap_or_else(|e| panic!("helmfire list JSON: {e}\n{stdout}"));
    list.as_array()
        .expect("an array")
        .iter()
        .map(|r| Row {
            name: r["name"].as_str().unwrap_or("").to_string(),
            namespace: r["namespace"].as_str().unwrap_or("").to_string(),
            chart: r["chart"].as_str().unwrap_or("").to_string(),
            version: r["version"].as_str().unwrap_or("").to_string(),
            installed: r["installed"] == json!(true),
            labels: r["labels"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                        .collect()
                })
                .unwrap_or_default(),
        })
        .collect()
}

/// YAML (one or more documents) as JSON, as Helm reads it.
pub fn yaml_documents(text: &str) -> Vec<Json> {
    helmfire_value::yaml::decode_documents(text)
        .unwrap_or_else(|e| panic!("YAML: {e}\n{text}"))
        .iter()
        .map(|v| helmfire_value::interop::to_json(v).expect("JSON"))
        .collect()
}

/// JSON with every number as a float, so `3` and `3.0` compare equal (helm reads all numbers
/// of a values file as float64).
pub fn normalize_numbers(value: &Json) -> Json {
    match value {
        Json::Number(n) => json!(n.as_f64().unwrap_or_default()),
        Json::Array(items) => Json::Array(items.iter().map(normalize_numbers).collect()),
        Json::Object(map) => Json::Object(map.iter().map(|(k, v)| (k.clone(), normalize_numbers(v))).collect()),
        other => other.clone(),
    }
}
