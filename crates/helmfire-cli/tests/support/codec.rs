//! Shared by the codec corpus tests: the corpus, helmfire's answers for a case, the helm oracle.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use helmfire_value::json::{self, JsonStyle};
use helmfire_value::{Map, Value, toml, yaml};

/// The corpora: directory under testdata/codec and the sections recorded for each input.
pub const CORPORA: &[(&str, &[&str])] = &[
    (
        "yaml",
        &["yaml", "pretty", "json", "rawjson", "prettyjson", "toml", "array"],
    ),
    ("json", &["fromjson", "fromjsonarray", "fromjsonyaml"]),
    ("toml", &["fromtoml", "fromtomltoml", "fromtomlpretty"]),
];

pub fn root() -> PathBuf {
    PathBuf::from(crate::support::oracle::ROOT).join("testdata/codec")
}

/// Every corpus input: (`<corpus>/<case>`, text), sorted.
pub fn cases() -> Vec<(String, String)> {
    let mut cases = Vec::new();
    for (corpus, _) in CORPORA {
        let dir = root().join(corpus);
        for entry in std::fs::read_dir(&dir).expect("corpus directory exists").flatten() {
            let path = entry.path();
            let Some(stem) = path.file_stem().map(|s| s.to_string_lossy().into_owned()) else {
                continue;
            };
            let text = std::fs::read_to_string(&path).expect("corpus files are UTF-8");
            cases.push((format!("{corpus}/{stem}"), text));
        }
    }
    cases.sort();
    cases
}

pub fn sections(case: &str) -> &'static [&'static str] {
    let corpus = case.split('/').next().unwrap_or("");
    CORPORA
        .iter()
        .find(|(name, _)| *name == corpus)
        .map_or(&[], |(_, sections)| sections)
}

pub use helmfire_value::json::{from_json, from_json_array};
pub use helmfire_value::toml::from_toml;
pub use helmfire_value::yaml::{from_yaml, from_yaml_array};

/// What helmfire prints for one section of a case, exactly as the chart template would.
pub fn ours(section: &str, text: &str) -> String {
    // .Files strips a leading BOM before the template sees the text.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let value = if SECTIONS_FROM_YAML.contains(&section) {
        from_yaml(text)
    } else {
        Value::Nil
    };
    let trim = |s: String| s.strip_suffix('\n').map(str::to_string).unwrap_or(s);
    match section {
        "yaml" => yaml::encode(&value).map(trim).unwrap_or_default(),
        "pretty" => yaml::encode_pretty(&value).map(trim).unwrap_or_default(),
        "json" => json::encode(&value, JsonStyle::Compact).unwrap_or_default(),
        "rawjson" => json::encode(&value, JsonStyle::Raw).unwrap_or_default(),
        "prettyjson" => json::encode(&value, JsonStyle::Pretty).unwrap_or_default(),
        "toml" => toml::encode(&value).unwrap_or_else(|e| e.message),
        "array" => json::encode(&from_yaml_array(text), JsonStyle::Compact).unwrap_or_default(),
        "fromjson" => json::encode(&from_json(text), JsonStyle::Compact).unwrap_or_default(),
        "fromjsonarray" => json::encode(&from_json_array(text), JsonStyle::Compact).unwrap_or_default(),
        "fromjsonyaml" => yaml::encode(&from_json(text)).map(trim).unwrap_or_default(),
        "fromtoml" => json::encode(&from_toml(text), JsonStyle::Compact).unwrap_or_default(),
        "fromtomltoml" => toml::encode(&from_toml(text)).unwrap_or_else(|e| e.message),
        "fromtomlpretty" => yaml::encode_pretty(&from_toml(text)).map(trim).unwrap_or_default(),
        other => panic!("unknown section {other}"),
    }
}

const SECTIONS_FROM_YAML: &[&str] = &["yaml", "pretty", "json", "rawjson", "prettyjson", "toml"];

/// `(case, section)` pairs listed in testdata/codec/known-differences.txt.
pub fn known_differences() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join("known-differences.txt")).unwrap_or_default();
    text.lines()
        .map(|line| line.split('#').next().unwrap_or("").trim())
        .filter(|line| !line.is_empty())
        .filter_map(|line| {
            let (case, section) = line.split_once(char::is_whitespace)?;
            Some((case.to_string(), section.trim().to_string()))
        })
        .collect()
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
    if let Some(parent) = expected_path(name).parent() {
        std::fs::create_dir_all(parent).expect("create expected dir");
    }
    std::fs::write(expected_path(name), text).expect("write expected");
}

pub use crate::support::oracle::helm;

const TEMPLATE: &str = r#"{{- range $path, $_ := .Files.Glob "cases/yaml/*" }}
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
{{- range $path, $_ := .Files.Glob "cases/json/*" }}
{{- $text := $.Files.Get $path }}
# case {{ $path }} fromjson {{ fromJson $text | toJson | b64enc }}
# case {{ $path }} fromjsonarray {{ fromJsonArray $text | toJson | b64enc }}
# case {{ $path }} fromjsonyaml {{ fromJson $text | toYaml | b64enc }}
{{- end }}
{{- range $path, $_ := .Files.Glob "cases/toml/*" }}
{{- $text := $.Files.Get $path }}
# case {{ $path }} fromtoml {{ fromToml $text | toJson | b64enc }}
# case {{ $path }} fromtomltoml {{ fromToml $text | toToml | b64enc }}
# case {{ $path }} fromtomlpretty {{ fromToml $text | toYamlPretty | b64enc }}
{{- end }}
"#;

/// Renders every case with the real helm in one `helm template` run: case → section → output.
pub fn run_helm(cases: &[(String, String)], work: &Path) -> BTreeMap<String, BTreeMap<String, String>> {
    use base64::Engine as _;
    let chart = work.join("codec");
    let _ = std::fs::remove_dir_all(&chart);
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    for (corpus, _) in CORPORA {
        std::fs::create_dir_all(chart.join("cases").join(corpus)).unwrap();
    }
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: codec\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(chart.join("templates/out.yaml"), TEMPLATE).unwrap();
    for (name, text) in cases {
        std::fs::write(chart.join("cases").join(name), text).unwrap();
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
        let Some(rest) = line.strip_prefix("# case cases/") else {
            continue;
        };
        let mut parts = rest.splitn(3, ' ');
        let (Some(file), Some(section)) = (parts.next(), parts.next()) else {
            continue;
        };
        let encoded = parts.next().unwrap_or("");
        let name = file.to_string();
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

/// A small deterministic generator (xorshift) for randomized tests.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Pieces of strings that stress quoting, escaping, folding and YAML 1.1 resolution.
const PIECES: &[&str] = &[
    "a",
    "word",
    "yes",
    "No",
    "on",
    "null",
    "~",
    "true",
    "0",
    "123",
    "-1.5",
    "0x1F",
    "0o17",
    "0777",
    "1e3",
    "1_000",
    ".inf",
    "2001-12-14",
    "12:30",
    "<<",
    " ",
    "  ",
    "\t",
    "\n",
    "\n\n",
    "\r",
    ":",
    ": ",
    " #",
    "#",
    "-",
    "- ",
    "?",
    ",",
    "[",
    "]",
    "{",
    "}",
    "&",
    "*",
    "!",
    "|",
    ">",
    "'",
    "\"",
    "%",
    "@",
    "`",
    "\\",
    "é",
    "日本語",
    "😀",
    "\u{a0}",
    "\u{85}",
    "\u{2028}",
    "\u{7f}",
    "\u{9b}",
    "\u{feff}",
    "\u{fffe}",
    "\u{1}",
    "\u{1b}",
    "---",
    "...",
    "<b>&</b>",
    "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor",
];

pub fn random_string(rng: &mut Rng) -> String {
    let mut s = String::new();
    let pieces = match rng.below(10) {
        0 => 0,
        1..=6 => 1 + rng.below(3),
        _ => 3 + rng.below(12),
    };
    for _ in 0..pieces {
        s.push_str(PIECES[rng.below(PIECES.len())]);
    }
    s
}

pub fn random_value(rng: &mut Rng, depth: usize) -> Value {
    let kinds = if depth >= 4 { 5 } else { 8 };
    match rng.below(kinds) {
        0 => Value::Nil,
        1 => Value::Bool(rng.below(2) == 0),
        2 => {
            const FLOATS: &[f64] = &[
                0.0,
                1.0,
                -1.0,
                0.5,
                1e6,
                1e21,
                1e20,
                1e-7,
                1e-6,
                123456789.0,
                1.25e300,
                9007199254740993.0,
                100.0,
                -0.0,
                2.5e-5,
                6.02e23,
            ];
            Value::Float(FLOATS[rng.below(FLOATS.len())])
        }
        3 | 4 => Value::from(random_string(rng)),
        5 => Value::list((0..rng.below(4)).map(|_| random_value(rng, depth + 1)).collect()),
        _ => Value::map(
            (0..rng.below(5))
                .map(|_| (random_string(rng), random_value(rng, depth + 1)))
                .collect(),
        ),
    }
}
