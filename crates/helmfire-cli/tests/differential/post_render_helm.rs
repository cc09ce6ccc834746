//! Post-renderers and getter plugins against the real helm v4.1.4, with plugins written here:
//! `helm template --post-renderer` and `helmfire chart template --post-renderer` print the same
//! bytes and feed the plugin the same stdin and arguments; a release installed by helm and one
//! installed by helmfire with the same plugin store the same manifest and hooks; a chart from a
//! repository served only through a getter plugin renders like `helm template` with the same
//! plugin, which receives the same arguments and credentials.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::deploy::Deploy;
use crate::support::oracle::{helm, helmfire, root};

/// The post-renderer plugin: records its stdin, arguments and plugin environment under
/// `$PR_LOG`, then answers according to its first argument.
const RENDERER: &str = r#"#!/bin/sh
cat > "$PR_LOG.in"
{ printf 'args:'; for a in "$@"; do printf ' [%s]' "$a"; done; printf '\n'
  printf 'name=%s dir=%s\n' "$HELM_PLUGIN_NAME" "$HELM_PLUGIN_DIR"; } > "$PR_LOG.meta"
case "$1" in
  cat) cat "$PR_LOG.in" ;;
  sed) sed -e 's/replicas: [0-9]*/replicas: 7/' -e 's/app: web/app: patched/' "$PR_LOG.in" ;;
  append) cat "$PR_LOG.in"; printf -- '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: added\ndata:\n  k: v\n' ;;
  drop) awk 'BEGIN { RS = "---\n"; ORS = "" } !/kind: Secret/ { if (n++) printf "---\n"; printf "%s", $0 }' "$PR_LOG.in" ;;
  reverse) awk 'BEGIN { RS = "---\n" } { doc[NR] = $0 } END { for (i = NR; i > 0; i--) { printf "%s", doc[i]; if (i > 1) printf "---\n" } }' "$PR_LOG.in" ;;
  fail) echo "renderer broke on purpose" >&2; exit 3 ;;
  empty) : ;;
  invalid) echo 'a: [1, 2' ;;
esac
"#;

/// A getter for `s3://bucket/…`: records its arguments and credentials under `$GETTER_LOG`
/// and prints `$GETTER_ROOT/…`.
const GETTER: &str = r#"#!/bin/sh
{ printf 'argv:'; for a in "$@"; do printf ' [%s]' "$a"; done; printf '\n'
  printf 'user=%s pass=%s all=%s name=%s\n' "$HELM_PLUGIN_USERNAME" "$HELM_PLUGIN_PASSWORD" "$HELM_PLUGIN_PASS_CREDENTIALS_ALL" "$HELM_PLUGIN_NAME"; } >> "$GETTER_LOG"
for last; do :; done
cat "$GETTER_ROOT/${last#s3://bucket/}"
"#;

fn write_executable(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// A helm data home with the `pr` post-renderer, the `s3get` getter and a Wasm post-renderer.
struct Plugins {
    dir: tempfile::TempDir,
}

impl Plugins {
    fn new() -> Plugins {
        let dir = tempfile::tempdir().expect("tempdir");
        let plugins = dir.path().join("data/plugins");
        let pr = plugins.join("pr");
        std::fs::create_dir_all(&pr).expect("mkdir");
        std::fs::write(
            pr.join("plugin.yaml"),
            "apiVersion: v1\nname: pr\nversion: 0.1.0\ntype: postrenderer/v1\nruntime: subprocess\nruntimeConfig:\n  platformCommand:\n  - command: \"${HELM_PLUGIN_DIR}/pr.sh\"\n",
        )
        .expect("plugin.yaml");
        write_executable(&pr.join("pr.sh"), RENDERER);
        let s3 = plugins.join("s3get");
        std::fs::create_dir_all(&s3).expect("mkdir");
        std::fs::write(
            s3.join("plugin.yaml"),
            "apiVersion: v1\nname: s3get\nversion: 0.1.0\ntype: getter/v1\nruntime: subprocess\nconfig:\n  protocols: [s3]\nruntimeConfig:\n  protocolCommands:\n  - protocols: [s3]\n    platformCommand:\n    - command: bin/get.sh download\n      args: [\"$HELM_PLUGIN_NAME\"]\n",
        )
        .expect("plugin.yaml");
        write_executable(&s3.join("bin/get.sh"), GETTER);
        Plugins { dir }
    }

    /// Adds a Wasm post-renderer (helm warns about it on every command, so only when needed).
    fn add_wasm(&self) {
        let wasm = self.path("data/plugins/wasm");
        std::fs::create_dir_all(&wasm).expect("mkdir");
        std::fs::write(
            wasm.join("plugin.yaml"),
            "apiVersion: v1\nname: wasm\nversion: 0.1.0\ntype: postrenderer/v1\nruntime: extism/v1\n",
        )
        .expect("plugin.yaml");
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `binary` with helm's homes in this directory and `$PR_LOG` set to `log`.
    fn command(&self, binary: &Path, log: &str) -> Command {
        let mut command = Command::new(binary);
        command
            .env("HELM_DATA_HOME", self.path("data"))
            .env("HELM_CONFIG_HOME", self.path("config"))
            .env("HELM_CACHE_HOME", self.path("cache"))
            .env("HELMFIRE_CACHE_DIR", self.path("helmfire-cache"))
            .env("HOME", self.dir.path())
            .env_remove("HELM_PLUGINS")
            .env("PR_LOG", self.path(log))
            .current_dir(root());
        command
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }
}

fn chart(name: &str) -> String {
    root().join("testdata/charts").join(name).to_string_lossy().into_owned()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `helm template rel CHART …` and `helmfire chart template rel CHART …` with the same
/// flags; returns both outputs.
fn both(plugins: &Plugins, chart_name: &str, flags: &[&str]) -> (Output, Output) {
    let chart = chart(chart_name);
    let mut args = vec!["template", "rel", chart.as_str()];
    args.extend_from_slice(flags);
    let helm_out = plugins.command(&helm(), "helm").args(&args).output().expect("run helm");
    let mut ours = vec!["chart"];
    ours.extend_from_slice(&args);
    let hf_out = plugins
        .command(&helmfire(), "hf")
        .args(&ours)
        .output()
        .expect("run helmfire");
    (helm_out, hf_out)
}

#[test]
fn template_output_and_plugin_input_match_helm() {
    let plugins = Plugins::new();
    let cases: &[(&str, &[&str])] = &[
        (
            "post-render-yaml",
            &["--post-renderer", "pr", "--post-renderer-args", "cat"],
        ),
        (
            "post-render-yaml",
            &["--post-renderer", "pr", "--post-renderer-args", "cat", "--include-crds"],
        ),
        (
            "post-render-yaml",
            &["--post-renderer-args", "reverse", "--post-renderer", "pr"],
        ),
        (
            "post-render-yaml",
            &[
                "--post-renderer",
                "pr",
                "--post-renderer-args",
                "drop",
                "--post-renderer-args",
                "two words",
            ],
        ),
        ("ten-objects", &["--post-renderer", "pr", "--post-renderer-args", "sed"]),
        (
            "ten-objects",
            &["--post-renderer", "pr", "--post-renderer-args", "append"],
        ),
        (
            "ten-objects",
            &["--post-renderer", "pr", "--post-renderer-args", "drop", "--no-hooks"],
        ),
        (
            "hooks-weights",
            &["--post-renderer", "pr", "--post-renderer-args", "reverse"],
        ),
        (
            "subchart-globals",
            &["--post-renderer", "pr", "--post-renderer-args", "cat"],
        ),
        (
            "kind-order",
            &["--post-renderer", "pr", "--post-renderer-args", "reverse"],
        ),
        (
            "show-only",
            &[
                "--post-renderer",
                "pr",
                "--post-renderer-args",
                "cat",
                "-s",
                "templates/b.yaml",
            ],
        ),
        (
            "crds-include",
            &["--post-renderer", "pr", "--post-renderer-args", "cat", "--include-crds"],
        ),
        ("notes", &["--post-renderer", "pr", "--post-renderer-args", "cat"]),
        (
            "ten-objects",
            &["--post-renderer", "", "--post-renderer-args", "ignored"],
        ),
    ];
    for (chart_name, flags) in cases {
        let (helm_out, hf_out) = both(&plugins, chart_name, flags);
        let what = format!("{chart_name} {flags:?}");
        assert!(
            helm_out.status.success(),
            "{what}: helm failed:\n{}",
            text(&helm_out.stderr)
        );
        assert!(
            hf_out.status.success(),
            "{what}: helmfire failed:\n{}",
            text(&hf_out.stderr)
        );
        assert_eq!(
            text(&hf_out.stdout),
            text(&helm_out.stdout),
            "{what}: output differs from helm's"
        );
        if flags[1] == "pr" || flags[3] == "pr" {
            assert_eq!(
                plugins.read("hf.in"),
                plugins.read("helm.in"),
                "{what}: the plugin's stdin differs"
            );
            assert_eq!(
                plugins.read("hf.meta"),
                plugins.read("helm.meta"),
                "{what}: arguments or environment differ"
            );
        }
    }
}

#[test]
fn renderer_failures_are_reported_like_helm_with_the_renderers_words() {
    let plugins = Plugins::new();
    // Empty and unparsable output: helm's exact words.
    for mode in ["empty", "invalid"] {
        let (helm_out, hf_out) = both(
            &plugins,
            "ten-objects",
            &["--post-renderer", "pr", "--post-renderer-args", mode],
        );
        assert_eq!(helm_out.status.code(), Some(1), "{mode}");
        assert_eq!(hf_out.status.code(), Some(1), "{mode}");
        assert_eq!(text(&hf_out.stderr), text(&helm_out.stderr), "{mode}");
    }
    // A failing renderer: helm's words, and what the renderer said (helm hides that).
    let (helm_out, hf_out) = both(
        &plugins,
        "ten-objects",
        &["--post-renderer", "pr", "--post-renderer-args", "fail"],
    );
    assert_eq!(helm_out.status.code(), Some(1));
    assert_eq!(hf_out.status.code(), Some(1));
    let helm_err = text(&helm_out.stderr);
    let ours = text(&hf_out.stderr);
    assert!(
        helm_err.starts_with(
            "Error: error while running post render on files: failed to invoke post-renderer plugin \"pr\""
        ),
        "{helm_err}"
    );
    assert!(
        ours.starts_with(
            "Error: error while running post render on files: failed to invoke post-renderer plugin \"pr\""
        ),
        "{ours}"
    );
    assert!(
        ours.contains("exit code 3") && ours.contains("renderer broke on purpose"),
        "{ours}"
    );
    // A plugin that does not exist, and one of the wrong runtime.
    let (helm_out, hf_out) = both(&plugins, "ten-objects", &["--post-renderer", "nope"]);
    assert_eq!(helm_out.status.code(), Some(1));
    assert_eq!(hf_out.status.code(), Some(1));
    assert!(text(&helm_out.stderr).contains("not found"));
    let ours = text(&hf_out.stderr);
    assert!(
        ours.starts_with("Error: invalid argument \"nope\" for \"--post-renderer\" flag: plugin `nope` of type postrenderer/v1 not found"),
        "{ours}"
    );
    // Twice the flag.
    let (helm_out, hf_out) = both(
        &plugins,
        "ten-objects",
        &["--post-renderer", "pr", "--post-renderer", "pr"],
    );
    assert_eq!(hf_out.status.code(), helm_out.status.code());
    assert_eq!(text(&hf_out.stderr), text(&helm_out.stderr));
    // A Wasm plugin: found, and refused.
    plugins.add_wasm();
    let (_, hf_out) = both(&plugins, "ten-objects", &["--post-renderer", "wasm"]);
    assert_eq!(hf_out.status.code(), Some(1));
    let ours = text(&hf_out.stderr);
    assert!(
        ours.contains("Wasm runtime (extism/v1), which helmfire does not support"),
        "{ours}"
    );
}

/// `helm get manifest` / `helm get hooks` of a release, with its namespace made neutral.
fn stored(deploy: &Deploy, plugins_dir: &Path, what: &str, release: &str, namespace: &str) -> String {
    let out = deploy.cluster.helm_env(
        &[("HELM_PLUGINS", &plugins_dir.to_string_lossy())],
        &["get", what, release, "-n", namespace],
    );
    out.replace(&format!("namespace: {namespace}"), "namespace: NS")
}

#[test]
fn a_release_installed_with_a_plugin_stores_what_helm_stores() {
    let plugins = Plugins::new();
    let deploy = Deploy::start();
    let plugins_dir = plugins.path("data/plugins");
    let plugins_env = plugins_dir.to_string_lossy().into_owned();
    let log = plugins.path("log").to_string_lossy().into_owned();
    for (chart_name, mode) in [("post-render-yaml", "sed"), ("ten-objects", "append")] {
        let chart = chart(chart_name);
        let helm_ns = format!("h-{mode}");
        deploy.cluster.helm_env(
            &[("HELM_PLUGINS", &plugins_env), ("PR_LOG", &log)],
            &[
                "install",
                "web",
                &chart,
                "-n",
                &helm_ns,
                "--create-namespace",
                "--post-renderer",
                "pr",
                "--post-renderer-args",
                mode,
            ],
        );
        let ours_ns = format!("f-{mode}");
        let state = deploy.state(
            &format!("{chart_name}.yaml"),
            &format!(
                "releases:\n- name: web\n  namespace: {ours_ns}\n  chart: {chart}\n  postRenderers:\n  - plugin: pr\n    args: [{mode}]\n"
            ),
        );
        let output = deploy
            .command(&state, &["apply"])
            .env("HELM_PLUGINS", &plugins_env)
            .env("PR_LOG", &log)
            .output()
            .expect("run helmfire");
        assert!(
            output.status.success(),
            "helmfire apply failed:\n{}\n{}",
            text(&output.stdout),
            text(&output.stderr)
        );
        for what in ["manifest", "hooks"] {
            assert_eq!(
                stored(&deploy, &plugins_dir, what, "web", &ours_ns),
                stored(&deploy, &plugins_dir, what, "web", &helm_ns),
                "{chart_name} {mode}: `helm get {what}` differs"
            );
        }
    }
}

#[test]
fn a_chart_served_by_a_getter_plugin_renders_like_helm() {
    let plugins = Plugins::new();
    let bucket = plugins.path("bucket");
    std::fs::create_dir_all(&bucket).expect("mkdir");
    let run = |command: &mut Command| {
        let output = command
            .env("GETTER_ROOT", &bucket)
            .env("GETTER_LOG", plugins.path("getter.log"))
            .output()
            .expect("run");
        assert!(output.status.success(), "{command:?} failed:\n{}", text(&output.stderr));
        output
    };
    run(plugins
        .command(&helm(), "x")
        .args(["package", &chart("ten-objects"), "-d"])
        .arg(&bucket));
    run(plugins
        .command(&helm(), "x")
        .args(["repo", "index"])
        .arg(&bucket)
        .args(["--url", "s3://bucket"]));
    // helm reads the index when the repository is added and the archive when it renders;
    // helmfire reads both when it renders (it keeps no repository cache of helm's).
    std::fs::write(plugins.path("getter.log"), "").expect("reset log");
    run(plugins.command(&helm(), "x").args([
        "repo",
        "add",
        "s3repo",
        "s3://bucket",
        "--username",
        "u",
        "--password",
        "p",
    ]));
    let helm_out = run(plugins
        .command(&helm(), "x")
        .args(["template", "rel", "s3repo/ten-objects"]));
    let helm_log = std::fs::read_to_string(plugins.path("getter.log")).expect("log");
    std::fs::write(plugins.path("getter.log"), "").expect("reset log");
    let ours = run(plugins
        .command(&helmfire(), "x")
        .args(["chart", "template", "rel", "s3repo/ten-objects"]));
    let our_log = std::fs::read_to_string(plugins.path("getter.log")).expect("log");
    assert_eq!(text(&ours.stdout), text(&helm_out.stdout));
    assert_eq!(our_log, helm_log);
    assert!(
        helm_log.contains("[s3://bucket/index.yaml]") && helm_log.contains("user=u pass=p"),
        "{helm_log}"
    );

    // The same repository in a state file, and a scheme nothing serves.
    let dir = tempfile::tempdir().expect("tempdir");
    let state = dir.path().join("helmfire.yaml");
    std::fs::write(
        &state,
        "repositories:\n- name: s3repo\n  url: s3://bucket\n  username: u\n  password: p\nreleases:\n- name: rel\n  chart: s3repo/ten-objects\n",
    )
    .expect("state");
    let ours = run(plugins
        .command(&helmfire(), "x")
        .arg("-f")
        .arg(&state)
        .args(["template"]));
    assert!(text(&ours.stdout).contains("kind: Deployment"));
    std::fs::write(
        &state,
        "repositories:\n- name: gs\n  url: gs://bucket\nreleases:\n- name: rel\n  chart: gs/ten-objects\n",
    )
    .expect("state");
    let output = plugins
        .command(&helmfire(), "x")
        .arg("-f")
        .arg(&state)
        .args(["template"])
        .output()
        .expect("run");
    assert_eq!(output.status.code(), Some(1));
    let err = text(&output.stderr);
    assert!(
        err.contains("helmfire.yaml:3:8") && err.contains("no getter plugin serves `gs://` URLs"),
        "{err}"
    );
}
