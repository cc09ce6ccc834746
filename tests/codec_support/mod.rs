//! Shared by the codec corpus tests: the corpus, helmfire's answers for a case, the helm oracle.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use helmfire::value::json::{self, JsonStyle};
use helmfire::value::{Map, Value, toml, yaml};

/// The outputs recorded per case, in the order the chart template prints them.
pub const SECTIONS: &[&str] = &[
    "yaml",
    "pretty",
    "json",
    "rawjson",
    "prettyjson",
    "toml",
    "array",
];

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/codec")
}

/// Every corpus input: (case name, text).
pub fn cases() -> Vec<(String, String)> {
    let dir = root().join("yaml");
    let mut cases: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("testdata/codec/yaml exists")
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .map(|path| {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let text = std::fs::read_to_string(&path).expect("corpus files are UTF-8");
            (name, text)
        })
        .collect();
    cases.sort();
    cases
}

/// Helm's `fromYaml`: the map, or a map holding the error text under `Error`.
pub fn from_yaml(text: &str) -> Value {
    match yaml::decode_map(text) {
        Ok(map) => Value::map(map),
        Err(e) => {
            let mut map = Map::new();
            map.insert("Error".to_string(), Value::from(e.message));
            Value::map(map)
        }
    }
}

/// Helm's `fromYamlArray`: the list, or a one-element list holding the error text.
pub fn from_yaml_array(text: &str) -> Value {
    match yaml::decode_list(text) {
        Ok(items) => Value::list(items),
        Err(e) => Value::list(vec![Value::from(e.message)]),
    }
}

/// What helmfire prints for one section of a case, exactly as the chart template would.
pub fn ours(section: &str, text: &str) -> String {
    // .Files strips a leading BOM before the template sees the text.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value = from_yaml(text);
    let trim = |s: String| s.strip_suffix('\n').map(str::to_string).unwrap_or(s);
    match section {
        "yaml" => yaml::encode(&value).map(trim).unwrap_or_default(),
        "pretty" => yaml::encode_pretty(&value).map(trim).unwrap_or_default(),
        "json" => json::encode(&value, JsonStyle::Compact).unwrap_or_default(),
        "rawjson" => json::encode(&value, JsonStyle::Raw).unwrap_or_default(),
        "prettyjson" => json::encode(&value, JsonStyle::Pretty).unwrap_or_default(),
        "toml" => toml::encode(&value).unwrap_or_else(|e| e.message),
        "array" => json::encode(&from_yaml_array(text), JsonStyle::Compact).unwrap_or_default(),
        other => panic!("unknown section {other}"),
    }
}

pub fn expected_path(name: &str) -> PathBuf {
    root().join("expected").join(format!("{name}.json"))
}

/// The recorded helm outputs of a case (section → text).
pub fn expected(name: &str) -> Option<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(expected_path(name)).ok()?;
    let value = json::decode(&text).ok()?;
    let map = value.as_map()?.read().clone();
    Some(
        map.into_iter()
            .filter_map(|(k, v)| Some((k, v.as_str()?.to_string())))
            .collect(),
    )
}

pub fn write_expected(name: &str, outputs: &BTreeMap<String, String>) {
    let map: Map = outputs
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
        .collect();
    let text = json::encode(&Value::map(map), JsonStyle::Raw).expect("strings encode") + "\n";
    std::fs::create_dir_all(root().join("expected")).expect("create expected dir");
    std::fs::write(expected_path(name), text).expect("write expected");
}

/// The real helm binary: `HELMFIRE_HELM`, else `helm` on PATH, else the oracle cache.
pub fn helm() -> PathBuf {
    if let Some(path) = std::env::var_os("HELMFIRE_HELM") {
        return PathBuf::from(path);
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let candidate = dir.join("helm");
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    let cached = home.join(".cache/helmfire/oracles/kubectl-v34-2.2.2/bin/helm");
    if cached.is_file() {
        return cached;
    }
    panic!(
        "helm v4.1.4 not found (HELMFIRE_HELM, PATH, ~/.cache/helmfire/oracles): run scripts/install-oracles.sh"
    );
}

const TEMPLATE: &str = r#"{{- range $path, $_ := .Files.Glob "cases/*.yaml" }}
{{- $text := $.Files.Get $path }}
{{- $m := fromYaml $text }}
# case {{ $path }} yaml {{ toYaml $m | b64enc }}
# case {{ $path }} pretty {{ toYamlPretty $m | b64enc }}
# case {{ $path }} json {{ toJson $m | b64enc }}
# case {{ $path }} rawjson {{ toRawJson $m | b64enc }}
# case {{ $path }} prettyjson {{ toPrettyJson $m | b64enc }}
# case {{ $path }} toml {{ toToml $m | b64enc }}
# case {{ $path }} array {{ fromYamlArray $text | toJson | b64enc }}
{{- end }}
"#;

/// Renders every case with the real helm in one `helm template` run: case → section → output.
pub fn run_helm(cases: &[(String, String)], work: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    use base64::Engine as _;
    let chart = work.join("codec");
    let _ = std::fs::remove_dir_all(&chart);
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::create_dir_all(chart.join("cases")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: codec\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(chart.join("templates/out.yaml"), TEMPLATE).unwrap();
    for (name, text) in cases {
        std::fs::write(chart.join("cases").join(format!("{name}.yaml")), text).unwrap();
    }
    let output = Command::new(helm())
        .arg("template")
        .arg("codec")
        .arg(&chart)
        .output()
        .expect("helm runs");
    assert!(
        output.status.success(),
        "helm template failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut results: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for line in stdout.lines() {
        let Some(rest) = line.strip_prefix("# case cases/") else { continue };
        let mut parts = rest.splitn(3, ' ');
        let (Some(file), Some(section)) = (parts.next(), parts.next()) else { continue };
        let encoded = parts.next().unwrap_or("");
        let name = file.strip_suffix(".yaml").unwrap_or(file).to_string();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .expect("helm printed base64");
        results
            .entry(name)
            .or_default()
            .insert(section.to_string(), String::from_utf8_lossy(&bytes).into_owned());
    }
    results
}
