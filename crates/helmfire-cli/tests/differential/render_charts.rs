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
    "kube-version-incompatible",
    "kube-version-leading-zero",
];

fn root() -> PathBuf {
    PathBuf::from(crate::support::oracle::ROOT)
}

use crate::support::oracle::helm;

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

use crate::support::oracle::helmfire;

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

/// `helmfire template` over the quickstart state file equals the four `helm template` runs it
/// stands for, concatenated in state-file order (random password lines excepted).
#[test]
fn state_file_template_matches_helm_per_release() {
    let helm = helm();
    let quick = root().join("examples/quickstart");
    let tmp = std::env::temp_dir().join(format!("helmfire-render-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).expect("temp dir");
    let write = |name: &str, text: &str| {
        let p = tmp.join(name);
        std::fs::write(&p, text).expect("write values");
        p.to_string_lossy().into_owned()
    };
    let runs: Vec<(&str, &str, Vec<String>)> = vec![
        (
            "database",
            "database",
            vec!["-f".into(), write("db.yaml", "storage: 2Gi\n")],
        ),
        (
            "api",
            "app",
            vec![
                "-f".into(),
                quick.join("values/api.yaml").to_string_lossy().into_owned(),
                "--set-json".into(),
                "env.RELEASE=\"api\"".into(),
            ],
        ),
        (
            "worker",
            "app",
            vec![
                "-f".into(),
                write(
                    "w.yaml",
                    "image:\n  repository: ghcr.io/example/worker\nenv:\n  QUEUE: jobs\n",
                ),
            ],
        ),
        (
            "web",
            "app",
            vec![
                "-f".into(),
                write(
                    "web.yaml",
                    "service:\n  port: 8080\ningress:\n  enabled: true\n  host: quickstart.localhost\n",
                ),
            ],
        ),
    ];
    let helm_all = |_: ()| -> String {
        runs.iter()
            .map(|(name, chart, args)| {
                let out = Command::new(&helm)
                    .args(["template", name])
                    .arg(quick.join("charts").join(chart))
                    .args(["-n", "quickstart"])
                    .args(args)
                    .output()
                    .expect("helm runs");
                assert!(out.status.success(), "helm failed for {name}");
                String::from_utf8_lossy(&out.stdout).into_owned()
            })
            .collect()
    };
    let (a, b) = (helm_all(()), helm_all(()));
    let ours = Command::new(helmfire())
        .arg("template")
        .env_remove("QUICKSTART_HOST")
        .current_dir(&quick)
        .output()
        .expect("helmfire runs");
    assert!(ours.status.success(), "{}", String::from_utf8_lossy(&ours.stderr));
    let ours = String::from_utf8_lossy(&ours.stdout).into_owned();
    let (a, b, ours): (Vec<&str>, Vec<&str>, Vec<&str>) =
        (a.lines().collect(), b.lines().collect(), ours.lines().collect());
    assert_eq!(a.len(), ours.len(), "line count differs");
    for (i, line) in ours.iter().enumerate() {
        if a[i] == b[i] {
            assert_eq!(*line, a[i], "line {} differs", i + 1);
        }
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn output_dir_writes_files_like_helm() {
    let helm = helm();
    let dir = root().join("testdata/charts/hooks-weights");
    let base = std::env::temp_dir().join(format!("helmfire-outdir-{}", std::process::id()));
    let (hd, fd) = (base.join("helm"), base.join("ours"));
    let h = Command::new(&helm)
        .args(["template", "fixture"])
        .arg(&dir)
        .arg("--output-dir")
        .arg(&hd)
        .output()
        .expect("helm runs");
    let f = Command::new(helmfire())
        .args(["chart", "template", "fixture"])
        .arg(&dir)
        .arg("--output-dir")
        .arg(&fd)
        .output()
        .expect("helmfire runs");
    let norm = |o: &[u8], d: &Path| String::from_utf8_lossy(o).replace(&d.to_string_lossy().to_string(), "DIR");
    assert_eq!(norm(&f.stdout, &fd), norm(&h.stdout, &hd));
    let file = "hooks/templates/hooks.yaml";
    assert_eq!(
        std::fs::read_to_string(fd.join(file)).expect("ours written"),
        std::fs::read_to_string(hd.join(file)).expect("helm's written")
    );
    let _ = std::fs::remove_dir_all(&base);
}

#[test]
fn release_naming_flags_match_helm() {
    let helm = helm();
    let chart = root().join("testdata/charts/hooks-weights");
    let chart = chart.to_str().unwrap();
    // Status, stderr (helm's log lines dropped) and stdout of both tools.
    let both = |args: &[&str]| {
        let out = |program: &Path, prefix: &[&str]| {
            let o = Command::new(program).args(prefix).args(args).output().expect("runs");
            let stderr: String = String::from_utf8_lossy(&o.stderr)
                .lines()
                .filter(|l| !l.starts_with("level="))
                .map(|l| format!("{l}\n"))
                .collect();
            (o.status.code(), stderr, String::from_utf8_lossy(&o.stdout).into_owned())
        };
        (out(&helm, &["template"]), out(&helmfire(), &["chart", "template"]))
    };
    for args in [
        vec!["-g", chart],
        vec!["--name-template", "{{ \"Web\" | lower }}-{{ add 1 2 }}", chart],
        vec!["--name-template", "{{ nope }}", chart],
        vec!["--name-template", "UPPER", chart],
        vec!["-g", "named", chart],
        vec!["--name-template", "x", "named", chart],
        vec!["named", chart, "extra", "more"],
    ] {
        let (theirs, ours) = both(&args);
        assert_eq!(ours, theirs, "{args:?}");
    }
    let named = root().join("testdata/charts/release-record");
    let (theirs, ours) = both(&[
        "--name-template",
        "{{ \"Web\" | lower }}-{{ add 1 2 }}",
        named.to_str().unwrap(),
    ]);
    assert_eq!(ours, theirs);
    assert!(theirs.2.contains("web-3"), "the name template was used: {}", theirs.2);

    // --release-name puts the files under <output-dir>/<release>.
    let base = std::env::temp_dir().join(format!("helmfire-release-name-{}", std::process::id()));
    let (hd, fd) = (base.join("helm"), base.join("ours"));
    let (theirs, _) = both(&["named", chart, "--release-name", "--output-dir", hd.to_str().unwrap()]);
    let (_, ours) = both(&["named", chart, "--release-name", "--output-dir", fd.to_str().unwrap()]);
    let norm = |s: &str, d: &Path| s.replace(&d.to_string_lossy().to_string(), "DIR");
    assert_eq!(norm(&ours.2, &fd), norm(&theirs.2, &hd));
    assert!(theirs.2.contains("/named/hooks/templates/"), "{}", theirs.2);
    let file = "named/hooks/templates/hooks.yaml";
    assert_eq!(
        std::fs::read_to_string(fd.join(file)).expect("ours written"),
        std::fs::read_to_string(hd.join(file)).expect("helm's written")
    );
    let _ = std::fs::remove_dir_all(&base);
}
