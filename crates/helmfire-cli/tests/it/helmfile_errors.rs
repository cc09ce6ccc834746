//! A helmfile helmfire cannot read, or that helmfile itself would refuse, fails with the helmfile
//! line (the template line the rendered text came from), a sentence saying what to do, and exit
//! 1 — never a panic, never a silently dropped key. The exact messages are snapshots.

use std::process::Command;

struct Case {
    name: &'static str,
    args: &'static [&'static str],
    /// Whether the error points at a line of the file (not only at a flag or a whole file).
    located: bool,
}

const CASES: &[Case] = &[
    Case {
        name: "secrets",
        args: &[],
        located: true,
    },
    Case {
        name: "environment-secrets",
        args: &[],
        located: true,
    },
    Case {
        name: "ref-values",
        args: &[],
        located: true,
    },
    Case {
        name: "go-getter-chart",
        args: &[],
        located: true,
    },
    Case {
        name: "kustomize-chart",
        args: &[],
        located: true,
    },
    Case {
        name: "strategic-merge-patches",
        args: &[],
        located: true,
    },
    Case {
        name: "post-renderer",
        args: &[],
        located: true,
    },
    Case {
        name: "hcl-values",
        args: &[],
        located: true,
    },
    Case {
        name: "remote-base",
        args: &[],
        located: true,
    },
    Case {
        name: "unknown-key",
        args: &[],
        located: true,
    },
    Case {
        name: "bool-key",
        args: &[],
        located: true,
    },
    Case {
        name: "merge-key-override",
        args: &[],
        located: true,
    },
    Case {
        name: "template-error",
        args: &[],
        located: true,
    },
    Case {
        name: "template-in-comment",
        args: &[],
        located: true,
    },
    Case {
        name: "rendered-yaml-error",
        args: &[],
        located: true,
    },
    Case {
        name: "missing-values-file",
        args: &[],
        located: true,
    },
    Case {
        name: "missing-environment-values",
        args: &[],
        located: true,
    },
    Case {
        name: "duplicate-release",
        args: &[],
        located: true,
    },
    Case {
        name: "unknown-need",
        args: &[],
        located: true,
    },
    Case {
        name: "unknown-repository",
        args: &[],
        located: true,
    },
    Case {
        name: "cyclic-inherit",
        args: &[],
        located: true,
    },
    Case {
        name: "chartify-and-helm-flags",
        args: &[],
        located: true,
    },
    Case {
        name: "verified-repository",
        args: &[],
        located: true,
    },
    Case {
        name: "remote-sub-helmfile",
        args: &[],
        located: true,
    },
    Case {
        name: "fetch-secret-value",
        args: &[],
        located: true,
    },
    Case {
        name: "remote-environment-values",
        args: &[],
        located: true,
    },
    Case {
        name: "missing-base",
        args: &[],
        located: true,
    },
    Case {
        name: "invalid-missing-file-handler",
        args: &[],
        located: true,
    },
    Case {
        name: "selectors-inherited-conflict",
        args: &[],
        located: true,
    },
    Case {
        name: "self-reference",
        args: &[],
        located: true,
    },
    Case {
        name: "nested-base",
        args: &[],
        located: false,
    },
    Case {
        name: "no-top-level-keys",
        args: &[],
        located: false,
    },
    Case {
        name: "undefined-environment",
        args: &["-e", "prod"],
        located: false,
    },
];

fn helmfire(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_helmfire"))
        .current_dir(dir)
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("HELMFILE_ENVIRONMENT")
        .env_remove("HELMFIRE_TEST_SURELY_UNSET")
        .output()
        .expect("run helmfire");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn helmfiles_that_cannot_be_read_get_located_errors() {
    let dir = crate::support::oracle::root().join("testdata/helmfile/invalid");
    for case in CASES {
        let file = format!("helmfile-{}.yaml", case.name);
        let mut args = vec!["-f", file.as_str()];
        args.extend_from_slice(case.args);
        args.push("lint");
        let (code, stdout, stderr) = helmfire(&dir, &args);
        assert_eq!(code, 1, "{}: exit code; stderr:\n{stderr}", case.name);
        assert!(
            stdout.is_empty(),
            "{}: errors go to stderr, stdout was:\n{stdout}",
            case.name
        );
        assert!(!stderr.contains("panicked"), "{}: panicked:\n{stderr}", case.name);
        if case.located {
            assert!(
                stderr.contains(&format!(" --> {file}:")),
                "{}: no file:line:col in\n{stderr}",
                case.name
            );
        }
        insta::assert_snapshot!(format!("helmfile-{}", case.name), stderr);
    }
}

#[test]
fn import_refuses_what_the_native_format_cannot_say_per_environment() {
    let dir = crate::support::oracle::root().join("testdata/helmfile/invalid");
    let (code, stdout, stderr) = helmfire(
        &dir,
        &[
            "import",
            "-e",
            "default",
            "-e",
            "prod",
            "helmfile-inexpressible-import.yaml",
        ],
    );
    assert_eq!(code, 1, "stderr:\n{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains("release `apps/api` differs between environments `default`, `prod` in `values`"),
        "{stderr}"
    );
    assert!(stderr.contains("helmfire import -e NAME"), "{stderr}");
    // One environment at a time works.
    let (code, stdout, stderr) = helmfire(&dir, &["import", "-e", "prod", "helmfile-inexpressible-import.yaml"]);
    assert_eq!(code, 0, "stderr:\n{stderr}");
    assert!(stdout.contains("replicas: 3"), "{stdout}");
}

#[test]
fn several_environments_are_for_import_only() {
    let dir = crate::support::oracle::root().join("testdata/helmfile/environments-gotmpl-values");
    let (code, _, stderr) = helmfire(&dir, &["-e", "default", "-e", "prod", "list"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("only `import` takes several environments"), "{stderr}");
}

#[test]
fn the_default_lookup_refuses_helmfile_yaml_next_to_helmfile_d() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("helmfile.d")).unwrap();
    std::fs::write(dir.path().join("helmfile.yaml"), "releases: []\n").unwrap();
    let (code, _, stderr) = helmfire(dir.path(), &["list"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("you can have either `helmfile.yaml` or `helmfile.d`, but not both"),
        "{stderr}"
    );
    std::fs::remove_dir(dir.path().join("helmfile.d")).unwrap();
    std::fs::write(dir.path().join("helmfile.yaml.gotmpl"), "releases: []\n").unwrap();
    let (code, _, stderr) = helmfire(dir.path(), &["list"]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains("both `helmfile.yaml` and `helmfile.yaml.gotmpl` exist"),
        "{stderr}"
    );
}

#[test]
fn helmfile_environment_variable_picks_the_environment() {
    let dir = crate::support::oracle::root().join("testdata/helmfile/environments-gotmpl-values");
    let output = Command::new(env!("CARGO_BIN_EXE_helmfire"))
        .current_dir(&dir)
        .args(["-f", "helmfile.yaml", "list", "-o", "json"])
        .env("HELMFILE_ENVIRONMENT", "prod")
        .output()
        .expect("run helmfire");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("\"tier\": \"prod\""), "{stdout}");
    assert!(stdout.contains("ops/monitoring"), "prod enables monitoring: {stdout}");
}

#[test]
fn a_file_wide_refusal_is_reported_once_and_every_release_still_gets_its_own() {
    let dir = crate::support::oracle::root().join("testdata/helmfile/invalid");
    let (code, _, stderr) = helmfire(&dir, &["-f", "helmfile-chartify-and-helm-flags.yaml", "lint"]);
    assert_eq!(code, 1, "stderr:\n{stderr}");
    assert_eq!(stderr.matches("`helmDefaults.args`").count(), 1, "{stderr}");
    // Releases after the first still have their own refusals reported.
    for key in [
        "remote values file",
        "vals secret reference",
        "invalid OCI chart reference",
    ] {
        assert!(stderr.contains(key), "no `{key}` in\n{stderr}");
    }
}
