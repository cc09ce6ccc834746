//! Differential test of the values pipeline against helm v4.1.4: every case in
//! testdata/values-cases.tsv (chart and flags, tab-separated, paths relative to testdata/charts,
//! values files in testdata/values-files) renders a fixture chart whose templates print `toJson .Values`
//! (root and every subchart), so helm's output is exactly its coalesced values. Helm's output
//! is recorded in testdata/values-cases.expected (refresh with HELMFIRE_RECORD=1) and compared
//! with ours; `values_match_live_helm` re-runs the real helm.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use helmfire_chart::values::{self, PrepareOptions, ValueOptions};
use helmfire_chart::{self as chart, Chart};
use helmfire_value::json::{JsonStyle, encode};
use helmfire_value::{Map, Value};

fn root() -> PathBuf {
    Path::new(crate::support::oracle::ROOT).join("testdata")
}

fn cases() -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(root().join("values-cases.tsv")).expect("cases file");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

use crate::support::oracle::helm;

/// Normalises helm's output to `source path → content`, or `ERROR` lines. Schema reports are
/// sorted because Go prints them in map order, which changes from run to run.
fn normalise_helm(stdout: &str, stderr: &str, ok: bool) -> String {
    if !ok {
        // Log lines (`level=WARN …`) are diagnostics, not the error; only the error is compared.
        let mut lines: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.starts_with("level="))
            .collect();
        if lines
            .first()
            .is_some_and(|l| l.contains("values don't meet the specifications"))
        {
            lines[1..].sort();
        }
        return format!("ERROR {}", lines.join("\n"));
    }
    let mut docs = BTreeMap::new();
    for doc in stdout.split("---\n") {
        if let Some(rest) = doc.strip_prefix("# Source: ") {
            let (source, content) = rest.split_once('\n').unwrap_or((rest, ""));
            docs.insert(source.to_string(), content.trim_end().to_string());
        }
    }
    docs.into_iter()
        .map(|(k, v)| format!("{k}: {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn run_helm(case: &[String]) -> String {
    let out = Command::new(helm())
        .current_dir(root().join("charts"))
        .arg("template")
        .arg("release")
        .arg(&case[0])
        .args(&case[1..])
        .output()
        .expect("run helm");
    normalise_helm(
        &String::from_utf8_lossy(&out.stdout),
        &String::from_utf8_lossy(&out.stderr),
        out.status.success(),
    )
}

fn options(case: &[String]) -> ValueOptions {
    let mut opts = ValueOptions::default();
    let mut args = case[1..].iter();
    while let Some(flag) = args.next() {
        let value = args.next().expect("flag value").clone();
        match flag.as_str() {
            "-f" | "--values" => opts.files.push(value),
            "--set" => opts.set.push(value),
            "--set-string" => opts.set_string.push(value),
            "--set-file" => opts.set_file.push(value),
            "--set-json" => opts.set_json.push(value),
            "--set-literal" => opts.set_literal.push(value),
            other => panic!("unknown flag {other}"),
        }
    }
    opts
}

fn collect(chart: &Chart, values: &Map, path: &str, out: &mut BTreeMap<String, String>) {
    if !chart.is_library() {
        for t in &chart.templates {
            let json = encode(&Value::map(values.clone()), JsonStyle::Compact).expect("json");
            out.insert(format!("{path}/{}", t.name), format!("values: {json}"));
        }
    }
    for dep in &chart.dependencies {
        let sub = values::subchart_values(values, dep.name());
        collect(dep, &sub, &format!("{path}/charts/{}", dep.name()), out);
    }
}

fn ours(case: &[String]) -> String {
    let dir = root().join("charts");
    let result = (|| -> Result<String, String> {
        let opts = options(case);
        let user = values::merge_user_values_with(&opts, &mut |p| values::read_file_at(&dir.join(p), p))
            .map_err(|e| e.to_string())?;
        let mut loaded = chart::load(&dir.join(&case[0])).map_err(|e| e.to_string())?;
        let prepared = values::prepare(&mut loaded, &user, PrepareOptions::default()).map_err(|e| e.to_string())?;
        let mut out = BTreeMap::new();
        collect(&loaded, &prepared.values, loaded.name(), &mut out);
        Ok(out
            .into_iter()
            .map(|(k, v)| format!("{k}: {v}"))
            .collect::<Vec<_>>()
            .join("\n"))
    })();
    match result {
        Ok(s) => s,
        Err(e) => normalise_helm("", &format!("Error: {e}\n"), false),
    }
}

fn expected_path() -> PathBuf {
    root().join("values-cases.expected")
}

fn read_expected() -> Vec<String> {
    let text = std::fs::read_to_string(expected_path()).expect("recorded expectations (HELMFIRE_RECORD=1)");
    text.split("\n=====\n").map(str::to_string).collect()
}

#[test]
fn values_match_recorded_helm() {
    let cases = cases();
    if std::env::var("HELMFIRE_RECORD").is_ok() {
        let outputs: Vec<String> = cases.iter().map(|c| run_helm(c)).collect();
        std::fs::write(expected_path(), outputs.join("\n=====\n")).expect("write expectations");
    }
    let expected = read_expected();
    assert_eq!(
        expected.len(),
        cases.len(),
        "expectations are stale: re-record with HELMFIRE_RECORD=1"
    );
    let mut failures = Vec::new();
    let started = std::time::Instant::now();
    for (case, want) in cases.iter().zip(&expected) {
        let got = ours(case);
        if &got != want {
            failures.push(format!("case {:?}\n  helm: {want}\n  ours: {got}", case));
        }
    }
    eprintln!(
        "ours: {} cases in {:?} (load + user values + prepare)",
        cases.len(),
        started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn values_match_live_helm() {
    let cases = cases();
    let expected = read_expected();
    let started = std::time::Instant::now();
    for (case, want) in cases.iter().zip(&expected) {
        assert_eq!(&run_helm(case), want, "recorded expectation is stale for {case:?}");
    }
    eprintln!("helm: {} cases in {:?}", cases.len(), started.elapsed());
}

/// Hostile nesting must not overflow the stack anywhere in the pipeline (8 MiB, a main thread).
#[test]
fn deep_nesting_does_not_crash() {
    // The deepest documents the decoders accept (go-yaml stops at 256 levels).
    let yaml = format!("a: {}1{}\n", "{a: ".repeat(250), "}".repeat(250));
    let json = format!("b={}1{}", "{\"b\":".repeat(1000), "}".repeat(1000));
    let set = format!("{}=1", vec!["c"; 31].join("."));
    let cases = [
        ValueOptions {
            files: vec!["deep.yaml".into()],
            ..Default::default()
        },
        ValueOptions {
            set_json: vec![json],
            ..Default::default()
        },
        ValueOptions {
            set: vec![set],
            ..Default::default()
        },
    ];
    let handle = std::thread::Builder::new()
        .stack_size(8 * 1024 * 1024)
        .spawn(move || {
            let mut outcomes = Vec::new();
            for opts in cases {
                let result = values::merge_user_values_with(&opts, &mut |_| Ok(yaml.clone().into_bytes()));
                let outcome = match result {
                    Ok(user) => {
                        let mut c = chart::load(&root().join("charts/subchart-globals")).expect("load");
                        match values::prepare(&mut c, &user, PrepareOptions::default()) {
                            Ok(p) => format!("ok {}", p.values.len()),
                            Err(e) => format!("prepare error {e}"),
                        }
                    }
                    Err(e) => format!("user error {e}"),
                };
                outcomes.push(outcome);
            }
            outcomes
        })
        .expect("spawn");
    let outcomes = handle.join().expect("no panic or overflow");
    assert_eq!(outcomes.len(), 3);
    assert!(outcomes.iter().take(2).all(|o| o.starts_with("ok")), "{outcomes:?}");
}
