//! The one semver (`helmfire_template::semver`) against helm v4.1.4's Masterminds/semver v3.4.0:
//! every row of `testdata/semver/helm-v4.1.4.tsv` is asked of the live helm and of helmfire
//! through the same chart, and both must give the recorded answer. The template crate's unit test
//! checks the module itself against the same table, and chart resolution and the state file's
//! `version:` call that module, so all three accept and reject the same constraints.
//!
//! Each row becomes one line of a ConfigMap: `semverCompare C V`, `(semver A).Compare (semver
//! B)`, or the parts of `semver A`. A failing call aborts the render, so the harness records the
//! error of the line the message names, drops that line and renders again.
//! Re-record the table with `HELMFIRE_RECORD=1 cargo test -p helmfire-cli --test differential
//! semver_helm::` and review the diff.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::oracle::{helm, helmfire, root};

struct Row {
    kind: String,
    a: String,
    b: String,
    expected: String,
}

fn table_path() -> PathBuf {
    root().join("testdata/semver/helm-v4.1.4.tsv")
}

fn unescape(s: &str) -> String {
    serde_json::from_str(&format!("\"{s}\"")).expect("a JSON-escaped cell")
}

fn escape(s: &str) -> String {
    let quoted = serde_json::to_string(s).expect("json");
    quoted[1..quoted.len() - 1].to_string()
}

fn rows() -> Vec<Row> {
    let text = std::fs::read_to_string(table_path()).expect("read the semver table");
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let cells: Vec<String> = line.split('\t').map(unescape).collect();
            assert_eq!(cells.len(), 4, "bad row {line:?}");
            Row {
                kind: cells[0].clone(),
                a: cells[1].clone(),
                b: cells[2].clone(),
                expected: cells[3].clone(),
            }
        })
        .collect()
}

/// The template expression of a row; JSON string literals are valid Go string literals.
fn expression(row: &Row) -> String {
    let q = |s: &str| serde_json::to_string(s).expect("json");
    match row.kind.as_str() {
        "semver" => format!(
            "{{{{ $v := semver {} }}}}{{{{ printf \"%s|%s|%s|%s|%d.%d.%d\" $v.String $v.Original $v.Prerelease $v.Metadata $v.Major $v.Minor $v.Patch | quote }}}}",
            q(&row.a)
        ),
        "compare" => format!(
            "{{{{ (semver {}).Compare (semver {}) | quote }}}}",
            q(&row.a),
            q(&row.b)
        ),
        "semverCompare" => format!("{{{{ semverCompare {} {} | quote }}}}", q(&row.a), q(&row.b)),
        other => panic!("unknown kind {other}"),
    }
}

/// Every row's answer from `program template …`: the printed value, or `ERROR: <message>`.
fn answers(program: &Path, prefix: &[&str], rows: &[Row], scratch: &Path) -> Vec<String> {
    let chart = scratch.join("c");
    std::fs::create_dir_all(chart.join("templates")).expect("chart dir");
    std::fs::write(chart.join("Chart.yaml"), "apiVersion: v2\nname: c\nversion: 0.1.0\n").expect("write");
    let mut result: BTreeMap<usize, String> = BTreeMap::new();
    let mut pending: Vec<usize> = (0..rows.len()).collect();
    for _ in 0..=rows.len() {
        if pending.is_empty() {
            break;
        }
        let mut lines = vec![
            "apiVersion: v1".to_string(),
            "kind: ConfigMap".into(),
            "metadata:".into(),
            "  name: semver".into(),
            "data:".into(),
        ];
        let mut at_line = BTreeMap::new();
        for &i in &pending {
            at_line.insert(lines.len() + 1, i);
            lines.push(format!("  c{i}: {}", expression(&rows[i])));
        }
        std::fs::write(chart.join("templates/t.yaml"), lines.join("\n") + "\n").expect("write");
        let out = Command::new(program)
            .args(prefix)
            .arg("c")
            .arg(&chart)
            .env("TZ", "UTC")
            .output()
            .expect("run the renderer");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.success() {
            for line in stdout.lines() {
                if let Some((i, value)) = case_line(line) {
                    result.insert(i, value);
                }
            }
            pending.clear();
            break;
        }
        let (line, message) = case_error(&stderr)
            .unwrap_or_else(|| panic!("{} failed without a case error:\n{stderr}", program.display()));
        let i = *at_line
            .get(&line)
            .unwrap_or_else(|| panic!("the error names line {line}, which holds no case:\n{stderr}"));
        result.insert(i, format!("ERROR: {message}"));
        pending.retain(|&p| p != i);
    }
    (0..rows.len())
        .map(|i| result.remove(&i).unwrap_or_else(|| "MISSING".into()))
        .collect()
}

/// `  c<i>: "<json string>"`.
fn case_line(line: &str) -> Option<(usize, String)> {
    let rest = line.strip_prefix("  c")?;
    let (index, value) = rest.split_once(": ")?;
    let value = value.strip_prefix('"')?.strip_suffix('"')?;
    Some((index.parse().ok()?, unescape(value)))
}

/// `…templates/t.yaml:<line>:<col>: executing … error calling <fn>: <message>` (to the end of
/// its line, trailing spaces kept).
fn case_error(stderr: &str) -> Option<(usize, String)> {
    let at = stderr.find("templates/t.yaml:")? + "templates/t.yaml:".len();
    let rest = &stderr[at..];
    let line = rest.split(':').next()?.parse().ok()?;
    let call = rest.find("error calling ")? + "error calling ".len();
    let rest = &rest[call..];
    let message = rest[rest.find(": ")? + 2..].lines().next().unwrap_or("");
    Some((line, message.to_string()))
}

fn scratch(tag: &str) -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix(&format!("helmfire-semver-{tag}-"))
        .tempdir()
        .expect("temp dir")
}

/// helmfire renders every row as recorded from helm.
#[test]
fn helmfire_answers_every_recorded_case_as_helm() {
    let rows = rows();
    assert!(rows.len() >= 200, "the table has only {} rows", rows.len());
    let dir = scratch("helmfire");
    let ours = answers(&helmfire(), &["chart", "template"], &rows, dir.path());
    let failures: Vec<String> = rows
        .iter()
        .zip(&ours)
        .filter(|(r, got)| **got != r.expected)
        .map(|(r, got)| {
            format!(
                "{} {:?} {:?}: helm {:?}, helmfire {got:?}",
                r.kind, r.a, r.b, r.expected
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} rows differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The live helm still gives the recorded answers (`HELMFIRE_RECORD=1` rewrites them).
#[test]
fn the_recorded_table_matches_live_helm() {
    let rows = rows();
    let dir = scratch("helm");
    let theirs = answers(&helm(), &["template"], &rows, dir.path());
    if std::env::var("HELMFIRE_RECORD").is_ok_and(|v| v == "1") {
        let mut out = String::from("kind\tconstraint_or_a\tversion_or_b\thelm_v4.1.4\n");
        for (r, answer) in rows.iter().zip(&theirs) {
            out.push_str(&[escape(&r.kind), escape(&r.a), escape(&r.b), escape(answer)].join("\t"));
            out.push('\n');
        }
        std::fs::write(table_path(), out).expect("rewrite the table");
        return;
    }
    let failures: Vec<String> = rows
        .iter()
        .zip(&theirs)
        .filter(|(r, got)| **got != r.expected)
        .map(|(r, got)| {
            format!(
                "{} {:?} {:?}: recorded {:?}, helm now {got:?}",
                r.kind, r.a, r.b, r.expected
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "{} rows differ from live helm:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
