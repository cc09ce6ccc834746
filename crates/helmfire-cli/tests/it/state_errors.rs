//! Every bad state file gets a clear error naming file, line and column, shows the offending
//! line, and exits 1 — never a panic. The exact messages are snapshots.

use std::process::Command;

struct Case {
    name: &'static str,
    file: &'static str,
    args: &'static [&'static str],
}

const CASES: &[Case] = &[
    Case {
        name: "yaml-syntax",
        file: "invalid/yaml-syntax.yaml",
        args: &[],
    },
    Case {
        name: "toml-syntax",
        file: "invalid/toml-syntax.toml",
        args: &[],
    },
    Case {
        name: "unknown-field",
        file: "invalid/unknown-field.yaml",
        args: &[],
    },
    Case {
        name: "unknown-field-toml",
        file: "invalid/unknown-field.toml",
        args: &[],
    },
    Case {
        name: "wrong-type",
        file: "invalid/wrong-type.yaml",
        args: &[],
    },
    Case {
        name: "duplicate-release",
        file: "invalid/duplicate-release.yaml",
        args: &[],
    },
    Case {
        name: "unknown-need",
        file: "invalid/unknown-need.yaml",
        args: &[],
    },
    Case {
        name: "cycle",
        file: "invalid/cycle.yaml",
        args: &[],
    },
    Case {
        name: "invalid-release-name",
        file: "invalid/invalid-release-name.yaml",
        args: &[],
    },
    Case {
        name: "release-name-too-long",
        file: "invalid/release-name-too-long.yaml",
        args: &[],
    },
    Case {
        name: "invalid-namespace",
        file: "invalid/invalid-namespace.yaml",
        args: &[],
    },
    Case {
        name: "bad-version-constraint",
        file: "invalid/bad-version-constraint.yaml",
        args: &[],
    },
    Case {
        name: "unknown-environment",
        file: "invalid/unknown-environment.yaml",
        args: &["-e", "prod"],
    },
    Case {
        name: "missing-values-file",
        file: "invalid/missing-values-file.yaml",
        args: &[],
    },
    Case {
        name: "condition-error",
        file: "invalid/condition-error.yaml",
        args: &[],
    },
    Case {
        name: "condition-not-boolean",
        file: "invalid/condition-not-boolean.yaml",
        args: &[],
    },
    Case {
        name: "unset-env-variable",
        file: "invalid/unset-env-variable.yaml",
        args: &[],
    },
    Case {
        name: "unknown-repository",
        file: "invalid/unknown-repository.yaml",
        args: &[],
    },
    Case {
        name: "unknown-template",
        file: "invalid/unknown-template.yaml",
        args: &[],
    },
    Case {
        name: "missing-chart",
        file: "invalid/missing-chart.yaml",
        args: &[],
    },
    Case {
        name: "local-chart-missing",
        file: "invalid/local-chart-missing.yaml",
        args: &[],
    },
    Case {
        name: "bad-repository-url",
        file: "invalid/bad-repository-url.yaml",
        args: &[],
    },
    Case {
        name: "post-renderer-bad-json-pointer",
        file: "invalid/post-renderer-bad-json-pointer.yaml",
        args: &[],
    },
    Case {
        name: "post-renderer-two-kinds",
        file: "invalid/post-renderer-two-kinds.yaml",
        args: &[],
    },
    Case {
        name: "post-renderer-bad-patches",
        file: "invalid/post-renderer-bad-patches.yaml",
        args: &[],
    },
    Case {
        name: "bad-timeout",
        file: "invalid/bad-timeout.yaml",
        args: &[],
    },
    Case {
        name: "several-problems",
        file: "invalid/several-problems.yaml",
        args: &[],
    },
    Case {
        name: "alias-bomb",
        file: "invalid/alias-bomb.yaml",
        args: &[],
    },
    Case {
        name: "deep-nesting",
        file: "invalid/deep-nesting.yaml",
        args: &[],
    },
    Case {
        name: "bad-set-keys",
        file: "invalid/bad-set-keys.yaml",
        args: &[],
    },
    Case {
        name: "bad-selector",
        file: "valid/needs.yaml",
        args: &["-l", "tier"],
    },
    Case {
        name: "needs-not-selected",
        file: "valid/needs.yaml",
        args: &["-l", "name=web"],
    },
    Case {
        name: "no-state-file",
        file: "",
        args: &[],
    },
];

fn run(case: &Case) -> (i32, String, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_helmfire"));
    command.current_dir(crate::support::oracle::ROOT);
    command.env_remove("HELMFIRE_TEST_SURELY_UNSET").env("NO_COLOR", "1");
    if case.file.is_empty() {
        command.current_dir(std::env::temp_dir());
    } else {
        command.args(["-f", &format!("testdata/states/{}", case.file)]);
    }
    command.args(case.args).arg("lint");
    let output = command.output().expect("run helmfire");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn invalid_states_get_located_errors() {
    for case in CASES {
        let (code, stdout, stderr) = run(case);
        assert_eq!(code, 1, "{}: exit code; stderr:\n{stderr}", case.name);
        assert!(
            stdout.is_empty(),
            "{}: errors go to stderr, stdout was:\n{stdout}",
            case.name
        );
        assert!(!stderr.contains("panicked"), "{}: panicked:\n{stderr}", case.name);
        // Errors about flags (environment, selector) have no place in the file to point at.
        let about_flags = ["unknown-environment", "bad-selector", "no-state-file"].contains(&case.name);
        if !about_flags {
            assert!(
                stderr.contains(&format!("testdata/states/{}:", case.file)),
                "{}: no file:line:col in\n{stderr}",
                case.name
            );
        }
        insta::assert_snapshot!(case.name, stderr);
    }
}

/// `-f /dev/zero` (or any endless or huge file) is refused after 32 MiB, not read into memory
/// until the process dies.
#[test]
fn an_endless_state_file_is_refused_without_reading_it_all() {
    let output = Command::new(env!("CARGO_BIN_EXE_helmfire"))
        .args(["-f", "/dev/zero", "lint"])
        .env("NO_COLOR", "1")
        .output()
        .expect("run helmfire");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "error: `/dev/zero` is larger than the 32 MiB a state file may hold"
    );
}
