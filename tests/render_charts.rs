//! `helmfire chart template` against recorded `helm template` output (testdata/charts/<fixture>/
//! expected.txt, see scripts/record-render-fixtures.sh), re-verified against the real helm, and
//! the quickstart charts compared byte for byte with helm (random lines excepted).

use std::path::{Path, PathBuf};
use std::process::Command;

const FIXTURES: &[&str] = &[
    "hooks-weights",
    "crds-include",
    "notes",
    "show-only",
    "files-asconfig",
    "capabilities",
    "subchart-template-precedence",
    "no-value-stripping",
    "tpl-include",
    "kind-order",
    "template-error",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn helm() -> PathBuf {
    if let Some(p) = std::env::var_os("HELMFIRE_HELM") {
        return PathBuf::from(p);
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let c = dir.join("helm");
            if c.is_file() {
                return c;
            }
        }
    }
    let cached = PathBuf::from("/root/.cache/helmfire/oracles/kubectl-v34-2.2.2/bin/helm");
    assert!(
        cached.is_file(),
        "the real helm is required for this test: run scripts/install-oracles.sh"
    );
    cached
}

fn args_of(dir: &Path) -> Vec<String> {
    std::fs::read_to_string(dir.join("args"))
        .map(|s| s.lines().map(str::to_string).collect())
        .unwrap_or_default()
}

/// `exit <status>\n<stderr>===\n<stdout>`, helm's `level=` log lines removed.
fn run(program: &Path, prefix: &[&str], release: &str, dir: &Path, args: &[String]) -> String {
    let out = Command::new(program)
        .args(prefix)
        .arg(release)
        .arg(dir)
        .args(args)
        .output()
        .expect("program runs");
    let stderr: String = String::from_utf8_lossy(&out.stderr)
        .lines()
        .filter(|l| !l.starts_with("level="))
        .map(|l| format!("{l}\n"))
        .collect();
    format!(
        "exit {}\n{stderr}===\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout)
    )
}

fn helmfire() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_helmfire"))
}

#[test]
fn fixtures_render_as_recorded_from_helm() {
    let mut failures = Vec::new();
    for name in FIXTURES {
        let dir = root().join("testdata/charts").join(name);
        let expected = std::fs::read_to_string(dir.join("expected.txt")).expect("expected.txt recorded");
        let ours = run(&helmfire(), &["chart", "template"], "fixture", &dir, &args_of(&dir));
        if ours != expected {
            failures.push(format!("{name}:\n--- expected\n{expected}\n--- helmfire\n{ours}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn recorded_fixtures_still_match_the_real_helm() {
    let helm = helm();
    for name in FIXTURES {
        let dir = root().join("testdata/charts").join(name);
        let expected = std::fs::read_to_string(dir.join("expected.txt")).expect("expected.txt recorded");
        let theirs = run(&helm, &["template"], "fixture", &dir, &args_of(&dir));
        assert_eq!(theirs, expected, "helm's output for {name} changed: re-record it");
    }
}

/// Lines that differ between two helm runs (random passwords) are the only allowed difference.
#[test]
fn quickstart_charts_render_like_helm() {
    let helm = helm();
    for chart in ["app", "database"] {
        let dir = root().join("examples/quickstart/charts").join(chart);
        let a = run(&helm, &["template"], "demo", &dir, &[]);
        let b = run(&helm, &["template"], "demo", &dir, &[]);
        let ours = run(&helmfire(), &["chart", "template"], "demo", &dir, &[]);
        let (a, b, ours): (Vec<&str>, Vec<&str>, Vec<&str>) =
            (a.lines().collect(), b.lines().collect(), ours.lines().collect());
        assert_eq!(a.len(), ours.len(), "{chart}: line count differs");
        for (i, line) in ours.iter().enumerate() {
            if a[i] != b[i] {
                continue;
            }
            assert_eq!(*line, a[i], "{chart}: line {} differs", i + 1);
        }
    }
}
