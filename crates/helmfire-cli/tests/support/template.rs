//! Shared harness for the template tests: builds the same two-file chart for helm and for
//! helmfire, runs both, and compares. A case's template lives in `_case.tpl` and is rendered
//! through `a.yaml` = `{{ include "c/templates/_case.tpl" . | b64enc }}`, so helm's manifest
//! post-processing cannot alter the bytes and errors exercise the include chain. A case's
//! `files/` directory is copied into the chart root, so `.Files` sees it.

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use helmfire_template::{Context, TemplateSet};
use helmfire_value::{Map, MapRef, MapType, Value};

pub const WRAPPER: &str = "out: {{ include \"c/templates/_case.tpl\" . | b64enc }}";
pub const CASE_NAME: &str = "c/templates/_case.tpl";
pub const WRAPPER_NAME: &str = "c/templates/a.yaml";

/// The observable result of rendering a case: its exact output, or helm's error text.
#[derive(Debug, PartialEq, Eq, Clone)]
pub enum Outcome {
    Output(String),
    Error(String),
}

pub use crate::support::oracle::helm as helm_binary;

pub fn json_to_value(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        // sigs.k8s.io/yaml decodes every number in values files as float64.
        serde_json::Value::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(a) => Value::list(a.iter().map(json_to_value).collect()),
        serde_json::Value::Object(o) => {
            let mut m = Map::new();
            for (k, v) in o {
                m.insert(k.clone(), json_to_value(v));
            }
            Value::map(m)
        }
    }
}

fn str_map(pairs: &[(&str, Value)]) -> Value {
    let mut m = Map::new();
    for (k, v) in pairs {
        m.insert(k.to_string(), v.clone());
    }
    Value::map(m)
}

const CHART_YAML: &str = "apiVersion: v2\nname: c\nversion: 0.1.0\n";

/// The files of a case's `files/` directory, by their path in the chart.
pub fn extra_files(case_dir: Option<&Path>) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let path = e.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else if let (Ok(rel), Ok(data)) = (path.strip_prefix(root), std::fs::read(&path)) {
                out.push((rel.to_string_lossy().replace('\\', "/"), data));
            }
        }
    }
    let mut out = Vec::new();
    if let Some(dir) = case_dir {
        let root = dir.join("files");
        walk(&root, &root, &mut out);
    }
    out.sort();
    out
}

/// The top-level data `helm template c` gives a root chart file: `.Values` and `.Template`
/// as `common.Values`, `.Release`, `.Capabilities` (helm's offline defaults), `.Chart`, `.Files`
/// and `.Subcharts`.
pub fn render_data(values_json: &str) -> Value {
    render_data_with_files(values_json, &[])
}

pub fn render_data_with_files(values_json: &str, files: &[(String, Vec<u8>)]) -> Value {
    let values: serde_json::Value =
        serde_json::from_str(values_json).unwrap_or_else(|e| panic!("bad values.json: {e}"));
    let mut chart_files = vec![helmfire_chart::LoadedFile {
        name: "Chart.yaml".into(),
        data: CHART_YAML.as_bytes().into(),
    }];
    chart_files.extend(files.iter().map(|(name, data)| helmfire_chart::LoadedFile {
        name: name.clone(),
        data: data.clone().into(),
    }));
    let chart = helmfire_chart::load_files(chart_files).expect("the case chart loads");
    let meta = chart.metadata.to_template_value();
    if let Some(m) = meta.as_map() {
        m.write().insert("IsRoot".into(), Value::Bool(true));
    }
    let chart_files = helmfire::render::Files {
        entries: chart.files.iter().map(|f| (f.name.clone(), f.data.clone())).collect(),
    };
    let capabilities = helmfire::render::Capabilities::helm_defaults();
    let values = match json_to_value(&values) {
        Value::Map(m, _) => Value::Map(m, MapType::Values),
        _ => Value::Map(MapRef::new(Map::new()), MapType::Values),
    };
    let release = str_map(&[
        ("Name", Value::from("c")),
        ("Namespace", Value::from("default")),
        ("Service", Value::from("Helm")),
        ("IsInstall", Value::Bool(true)),
        ("IsUpgrade", Value::Bool(false)),
        ("Revision", Value::Int(1, helmfire_value::IntType::Int)),
    ]);
    let template = match str_map(&[
        ("Name", Value::from(WRAPPER_NAME)),
        ("BasePath", Value::from("c/templates")),
    ]) {
        Value::Map(m, _) => Value::Map(m, MapType::Values),
        other => other,
    };
    str_map(&[
        ("Values", values),
        ("Release", release),
        ("Template", template),
        ("Chart", meta),
        ("Files", Value::Object(std::sync::Arc::new(chart_files))),
        ("Capabilities", Value::Object(std::sync::Arc::new(capabilities))),
        ("Subcharts", Value::map(Map::new())),
    ])
}

/// Renders a case with helmfire exactly as helm would.
pub fn render_helmfire(template: &str, values_json: &str) -> Outcome {
    render_helmfire_with_files(template, values_json, &[])
}

pub fn render_helmfire_with_files(template: &str, values_json: &str, files: &[(String, Vec<u8>)]) -> Outcome {
    let mut set = TemplateSet::default();
    // Helm parses same-depth files in reverse lexical order: a.yaml, then _case.tpl.
    for (name, text) in [(WRAPPER_NAME, WRAPPER), (CASE_NAME, template)] {
        if let Err(e) = set.parse(name, text) {
            return Outcome::Error(
                helmfire_template::TemplateError::Parse(e)
                    .helm_message(name)
                    .trim_end()
                    .to_string(),
            );
        }
    }
    let mut ctx = Context::with_seed(1);
    match set.execute_helm(WRAPPER_NAME, &render_data_with_files(values_json, files), &mut ctx) {
        Ok(out) => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(out.trim().trim_start_matches("out:").trim())
                .unwrap_or_else(|e| panic!("wrapper output is not base64 ({e}): {out:?}"));
            Outcome::Output(String::from_utf8_lossy(&bytes).into_owned())
        }
        Err(e) => Outcome::Error(e.helm_message(WRAPPER_NAME).trim_end().to_string()),
    }
}

/// Renders a case with the real helm binary.
pub fn render_helm(template: &str, values_json: &str) -> Outcome {
    render_helm_with_files(template, values_json, &[])
}

pub fn render_helm_with_files(template: &str, values_json: &str, files: &[(String, Vec<u8>)]) -> Outcome {
    let dir = std::env::temp_dir().join(format!(
        "helmfire-case-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    let chart = dir.join("c");
    std::fs::create_dir_all(chart.join("templates")).expect("temp dir");
    std::fs::write(chart.join("Chart.yaml"), CHART_YAML).expect("write");
    for (name, data) in files {
        let path = chart.join(name);
        std::fs::create_dir_all(path.parent().expect("a file in the chart")).expect("dir");
        std::fs::write(path, data).expect("write");
    }
    std::fs::write(chart.join("values.yaml"), values_json).expect("write");
    std::fs::write(chart.join("templates/a.yaml"), WRAPPER).expect("write");
    std::fs::write(chart.join("templates/_case.tpl"), template).expect("write");
    let out = Command::new(helm_binary())
        .arg("template")
        .arg("c")
        .arg(&chart)
        .env("TZ", "UTC")
        .output()
        .expect("run helm");
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        let err = err.strip_prefix("Error: ").unwrap_or(&err);
        let err = err
            .trim_end()
            .strip_suffix("Use --debug flag to render out invalid YAML")
            .unwrap_or(err);
        return Outcome::Error(err.trim_end().to_string());
    }
    let marker = "# Source: c/templates/a.yaml\n";
    let Some(i) = stdout.find(marker) else {
        return Outcome::Output(String::new());
    };
    let b64 = stdout[i + marker.len()..]
        .lines()
        .next()
        .unwrap_or("")
        .trim()
        .trim_start_matches("out:")
        .trim();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("helm output base64");
    Outcome::Output(String::from_utf8_lossy(&bytes).into_owned())
}

pub struct Case {
    pub name: String,
    pub dir: PathBuf,
    pub template: String,
    pub values: String,
}

impl Case {
    /// The case's `files/`, placed in the chart root.
    pub fn files(&self) -> Vec<(String, Vec<u8>)> {
        extra_files(Some(&self.dir))
    }

    pub fn render_helmfire(&self) -> Outcome {
        render_helmfire_with_files(&self.template, &self.values, &self.files())
    }

    pub fn render_helm(&self) -> Outcome {
        render_helm_with_files(&self.template, &self.values, &self.files())
    }

    pub fn expected(&self) -> Option<Outcome> {
        if let Ok(s) = std::fs::read_to_string(self.dir.join("expected.txt")) {
            return Some(Outcome::Output(s));
        }
        std::fs::read_to_string(self.dir.join("error.txt"))
            .ok()
            .map(Outcome::Error)
    }

    pub fn record(&self, outcome: &Outcome) {
        let _ = std::fs::remove_file(self.dir.join("expected.txt"));
        let _ = std::fs::remove_file(self.dir.join("error.txt"));
        match outcome {
            Outcome::Output(s) => std::fs::write(self.dir.join("expected.txt"), s),
            Outcome::Error(s) => std::fs::write(self.dir.join("error.txt"), s),
        }
        .expect("write expectation");
    }
}

pub fn cases() -> Vec<Case> {
    let root = Path::new(crate::support::oracle::ROOT).join("testdata/template");
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(&root) else {
        return out;
    };
    for e in entries.flatten() {
        let dir = e.path();
        let Ok(template) = std::fs::read_to_string(dir.join("template.tpl")) else {
            continue;
        };
        let values = std::fs::read_to_string(dir.join("values.json")).unwrap_or_else(|_| "{}".into());
        out.push(Case {
            name: e.file_name().to_string_lossy().into_owned(),
            dir,
            template,
            values,
        });
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}
