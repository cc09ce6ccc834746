//! Post-renderers of a state file through the real binary: `exec` renderers relative to the
//! state file and started once per release; every failure (a renderer that exits non-zero,
//! prints nothing or prints what is not YAML, a plugin that is not there, a patch target that
//! matches nothing, a JSON patch that does not apply, output helm could not install) fails its
//! release with a clear error while the other releases go on.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::deploy::{Deploy, chart};

fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// An exec renderer: counts its runs in `runs.log` next to itself, then acts on its argument.
const SCRIPT: &str = r#"#!/bin/sh
here=$(dirname "$0")
echo run >> "$here/runs.log"
case "$1" in
  label) sed 's|^\(    postrenderer.helm.sh/postrender-filename: .*\)$|\1\n    post-rendered: "yes"|' ;;
  fail) cat > /dev/null; echo "boom: the renderer gave up" >&2; exit 4 ;;
  empty) cat > /dev/null ;;
  invalid) cat > /dev/null; echo 'a: [1, 2' ;;
  nokind) sed '/^kind: ConfigMap$/d' ;;
  twice) tee "$here/in.yaml"; echo ---; sed -n '1,/^---$/p' "$here/in.yaml" | sed '$d' ;;
  *) cat ;;
esac
"#;

struct Dir {
    dir: tempfile::TempDir,
}

impl Dir {
    fn new() -> Dir {
        let dir = tempfile::tempdir().expect("tempdir");
        write_executable(&dir.path().join("scripts/render.sh"), SCRIPT);
        Dir { dir }
    }

    fn state(&self, yaml: &str) -> std::path::PathBuf {
        let path = self.dir.path().join("helmfire.yaml");
        std::fs::write(&path, yaml.replace("CHART", &chart())).expect("write state");
        path
    }

    fn runs(&self) -> usize {
        std::fs::read_to_string(self.dir.path().join("scripts/runs.log"))
            .map(|log| log.lines().count())
            .unwrap_or(0)
    }

    fn template(&self, state: &Path) -> Output {
        Command::new(env!("CARGO_BIN_EXE_helmfire"))
            .arg("-f")
            .arg(state)
            .arg("template")
            .env("NO_COLOR", "1")
            .env("HELM_PLUGINS", self.dir.path().join("no-plugins"))
            .current_dir(std::env::temp_dir())
            .output()
            .expect("run helmfire")
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn exec_renderers_are_relative_to_the_state_file_and_run_once_per_release() {
    let dir = Dir::new();
    let state = dir.state(
        "defaults:\n  postRenderers:\n    - exec: {command: ./scripts/render.sh, args: [label]}\nreleases:\n  - name: one\n    chart: CHART\n  - name: two\n    chart: CHART\n    postRenderers:\n      - commonAnnotations: {owner: platform}\n",
    );
    let output = dir.template(&state);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    // Ten objects per release, every one annotated by the script; release two's also (and its
    // Deployment's pod template) by the built-in.
    assert_eq!(stdout.matches("post-rendered: \"yes\"").count(), 20, "{stdout}");
    assert_eq!(stdout.matches("owner: platform").count(), 10 + 1, "{stdout}");
    assert_eq!(dir.runs(), 2, "one run per release, not per object");
}

#[test]
fn failures_fail_their_release_only_and_say_why() {
    let dir = Dir::new();
    let state = dir.state(
        r#"releases:
  - name: good
    chart: CHART
  - name: fails
    chart: CHART
    postRenderers:
      - exec: {command: ./scripts/render.sh, args: [fail]}
  - name: empty
    chart: CHART
    postRenderers:
      - exec: {command: ./scripts/render.sh, args: [empty]}
  - name: invalid
    chart: CHART
    postRenderers:
      - exec: {command: ./scripts/render.sh, args: [invalid]}
  - name: no-plugin
    chart: CHART
    postRenderers:
      - plugin: not-installed
  - name: no-target
    chart: CHART
    postRenderers:
      - patches:
          - target: {kind: Deployment, name: nope}
            patch: {spec: {replicas: 3}}
  - name: no-object
    chart: CHART
    postRenderers:
      - patches:
          - patch: {kind: ConfigMap, metadata: {name: nope}, data: {a: b}}
  - name: bad-json-patch
    chart: CHART
    postRenderers:
      - jsonPatches:
          - target: {kind: Service}
            patch: [{op: remove, path: /spec/nosuch}]
  - name: missing-program
    chart: CHART
    postRenderers:
      - exec: {command: ./scripts/absent.sh}
"#,
    );
    let output = dir.template(&state);
    assert_eq!(output.status.code(), Some(1));
    let stdout = text(&output.stdout);
    let stderr = text(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        stdout.matches("\nkind: Deployment\n").count(),
        1,
        "only `good` renders:\n{stdout}"
    );
    let state = state.display().to_string();
    for expected in [
        "failed to render release `default/fails`".to_string(),
        "boom: the renderer gave up".to_string(),
        "exit code 4".to_string(),
        "failed to render release `default/empty`".to_string(),
        "produced empty output".to_string(),
        "error parsing YAML: MalformedYAMLError: yaml: line 1: did not find expected ',' or ']'".to_string(),
        "plugin `not-installed` of type postrenderer/v1 not found".to_string(),
        format!("target {{kind: Deployment, name: nope}} of the patch at {state}:24:13 (patches[0]) matched no object"),
        format!("the strategic merge patch for `ConfigMap/nope` at {state}:30:13 (patches[0]) matched no object"),
        format!("JSON patch at {state}:35:13 (jsonPatches[0]): error in remove for path: '/spec/nosuch'"),
        "failed to render release `default/missing-program`".to_string(),
        "8 release(s) failed".to_string(),
    ] {
        assert!(stderr.contains(&expected), "missing `{expected}` in:\n{stderr}");
    }
}

#[test]
fn apply_refuses_what_helm_could_not_install_and_installs_the_rest() {
    let deploy = Deploy::start();
    let scripts = deploy.dir.path().join("scripts");
    write_executable(&scripts.join("render.sh"), SCRIPT);
    let state = deploy.state(
        "s.yaml",
        r#"releases:
  - name: fine
    namespace: fine
    chart: CHART
    postRenderers:
      - exec: {command: ./scripts/render.sh, args: [label]}
  - name: no-kind
    namespace: no-kind
    chart: CHART
    postRenderers:
      - exec: {command: ./scripts/render.sh, args: [nokind]}
  - name: twice
    namespace: twice
    chart: CHART
    postRenderers:
      - exec: {command: ./scripts/render.sh, args: [twice]}
"#,
    );
    let (_, stderr) = deploy.expect(&state, &["apply"], 1);
    assert!(
        stderr.contains("produced document") && stderr.contains("without `kind`, which helm cannot install"),
        "{stderr}"
    );
    assert!(
        stderr.contains("two objects `") && stderr.contains("which helm cannot install"),
        "{stderr}"
    );
    let releases = deploy.helm_releases();
    let names: Vec<&str> = releases.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(names, vec!["fine"], "{releases:?}");
    let annotations = deploy.cluster.kubectl(&[
        "get",
        "configmap",
        "-n",
        "fine",
        "-o",
        "jsonpath={.items[*].metadata.annotations.post-rendered}",
    ]);
    assert!(annotations.contains("yes"), "{annotations}");
    // `template` shows whatever the renderers made, as `helm template` does.
    let (stdout, _) = deploy.expect(&state, &["template", "-l", "name=no-kind"], 0);
    assert!(stdout.contains("# Source:"), "{stdout}");
}
