//! The chart loader on directories and archives, including hostile ones. Error texts are
//! Helm's; `loader_errors_match_helm` checks them against the real helm v4.1.4.

use std::path::{Path, PathBuf};
use std::process::Command;

use helmfire_chart::{self as chart, ChartError};

fn charts() -> PathBuf {
    Path::new(crate::support::oracle::ROOT).join("testdata/charts")
}

use crate::support::oracle::helm;

/// A tar entry: raw name bytes (unchecked, so hostile names are possible), type and data.
struct Entry<'a> {
    name: &'a str,
    kind: tar::EntryType,
    data: &'a [u8],
}

fn file<'a>(name: &'a str, data: &'a [u8]) -> Entry<'a> {
    Entry {
        name,
        kind: tar::EntryType::Regular,
        data,
    }
}

fn tgz(entries: &[Entry]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for e in entries {
        let mut header = tar::Header::new_old();
        let raw = &mut header.as_old_mut().name;
        raw[..e.name.len()].copy_from_slice(e.name.as_bytes());
        header.set_entry_type(e.kind);
        header.set_size(e.data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append(&header, e.data).expect("append");
    }
    let tar = builder.into_inner().expect("tar");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, &tar).expect("gzip");
    gz.finish().expect("gzip")
}

const CHART_YAML: &[u8] = b"apiVersion: v2\nname: evil\nversion: 0.1.0\n";
const TEMPLATE: &[u8] = b"values: {{ toJson .Values }}\n";

/// A scratch directory removed again when the guard drops (also when a test fails).
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl std::ops::Deref for TempDir {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

fn temp_dir(name: &str) -> TempDir {
    let dir = std::env::temp_dir().join(format!("helmfire-chart-load-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    TempDir(dir)
}

/// Hostile archives and the exact error each gets, from both helm and us.
fn hostile_archives() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "traversal",
            tgz(&[file("evil/Chart.yaml", CHART_YAML), file("evil/../../etc/passwd", b"x")]),
        ),
        (
            "absolute",
            tgz(&[file("evil/Chart.yaml", CHART_YAML), file("evil//etc/passwd", b"x")]),
        ),
        ("root-entry", tgz(&[file("Chart.yaml", CHART_YAML)])),
        (
            "drive",
            tgz(&[file("evil/Chart.yaml", CHART_YAML), file("evil/c:/x", b"x")]),
        ),
        (
            "backslash-traversal",
            tgz(&[file("evil\\Chart.yaml", CHART_YAML), file("evil\\..\\..\\x", b"x")]),
        ),
        ("no-chart-yaml", tgz(&[file("evil/values.yaml", b"a: 1\n")])),
        (
            "file-too-large",
            tgz(&[
                file("evil/Chart.yaml", CHART_YAML),
                file("evil/big.bin", &vec![b'a'; 5 * 1024 * 1024 + 1]),
            ]),
        ),
        (
            "subchart-traversal",
            tgz(&[
                file("evil/Chart.yaml", CHART_YAML),
                file("evil/templates/a.yaml", TEMPLATE),
                Entry {
                    name: "evil/charts/sub.tgz",
                    kind: tar::EntryType::Regular,
                    data: &[],
                },
            ]),
        ),
    ]
}

fn our_error(path: &Path) -> String {
    match chart::load(path) {
        Ok(c) => format!("loaded {}", c.name()),
        Err(e) => format!("Error: {e}"),
    }
}

#[test]
fn hostile_archives_are_refused() {
    let dir = temp_dir("hostile");
    for (name, data) in hostile_archives() {
        let path = dir.join(format!("{name}.tgz"));
        std::fs::write(&path, data).expect("write");
        let err = chart::load(&path).expect_err(name);
        if let ChartError::ArchiveRejected { source } = &err
            && matches!(**source, ChartError::Unsafe { .. } | ChartError::TooLarge { .. })
        {
            let (chart, entry) = err.entry().expect("entry");
            assert!(chart.ends_with(&format!("{name}.tgz")), "{name}: {chart}");
            assert!(!entry.is_empty(), "{name}");
        }
    }
    // Links and devices are refused even though helm would read them as empty files.
    let link = tgz(&[
        file("evil/Chart.yaml", CHART_YAML),
        Entry {
            name: "evil/templates/x.yaml",
            kind: tar::EntryType::Symlink,
            data: b"",
        },
    ]);
    let path = dir.join("link.tgz");
    std::fs::write(&path, link).expect("write");
    let err = chart::load(&path).expect_err("symlink entry");
    assert_eq!(err.entry().map(|(_, e)| e), Some("evil/templates/x.yaml"));
}

#[test]
fn loader_errors_match_helm() {
    let dir = temp_dir("helm");
    let mut failures = Vec::new();
    for (name, data) in hostile_archives() {
        let path = dir.join(format!("{name}.tgz"));
        std::fs::write(&path, data).expect("write");
        let out = Command::new(helm())
            .arg("template")
            .arg("r")
            .arg(&path)
            .output()
            .expect("run helm");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let helm_err: Vec<&str> = stderr.lines().filter(|l| l.starts_with("Error: ")).collect();
        let ours = our_error(&path);
        if helm_err.first().copied() != Some(ours.as_str()) {
            failures.push(format!("{name}: helm {helm_err:?}, ours {ours:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn directory_classification_and_nested_archives() {
    let dir = temp_dir("classify");
    let root = dir.join("parent");
    std::fs::create_dir_all(root.join("templates/sub")).expect("mkdir");
    std::fs::create_dir_all(root.join("crds")).expect("mkdir");
    std::fs::create_dir_all(root.join("charts/_skipped")).expect("mkdir");
    std::fs::write(
        root.join("Chart.yaml"),
        b"\xEF\xBB\xBFapiVersion: v2\nname: parent\nversion: 1.0.0\n",
    )
    .expect("w");
    std::fs::write(root.join("values.yaml"), b"a: 1\n---\nb: 2\n---\na: 3\n").expect("w");
    std::fs::write(root.join("values.schema.json"), b"{}").expect("w");
    std::fs::write(root.join("templates/a.yaml"), TEMPLATE).expect("w");
    std::fs::write(root.join("templates/sub/b.yaml"), TEMPLATE).expect("w");
    std::fs::write(root.join("templates/.hidden"), b"x").expect("w");
    std::fs::write(root.join("crds/crd.yaml"), b"kind: CustomResourceDefinition\n").expect("w");
    std::fs::write(root.join("README.md"), b"\xEF\xBB\xBFreadme").expect("w");
    std::fs::write(root.join("charts/_skipped/Chart.yaml"), b"not: a chart").expect("w");
    std::fs::write(root.join("charts/sub-1.0.0.tgz.prov"), b"sig").expect("w");
    let sub = tgz(&[
        file("sub/Chart.yaml", b"apiVersion: v1\nname: sub\nversion: 1.0.0\n"),
        file("sub/requirements.yaml", b"dependencies:\n- name: x\n  version: 1.0.0\n"),
        file("sub/values.yaml", b"s: 1\n"),
    ]);
    std::fs::write(root.join("charts/sub-1.0.0.tgz"), sub).expect("w");
    let c = chart::load(&root).expect("load");
    assert_eq!(c.name(), "parent");
    let names = |files: &[chart::ChartFile]| files.iter().map(|f| f.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&c.templates), ["templates/a.yaml", "templates/sub/b.yaml"]);
    assert_eq!(
        names(&c.files),
        ["README.md", "charts/sub-1.0.0.tgz.prov", "crds/crd.yaml"]
    );
    assert_eq!(&**c.files[0].data.get().expect("read"), b"readme");
    assert_eq!(
        helmfire_value::json::encode(
            &helmfire_value::Value::map(c.values.clone()),
            helmfire_value::json::JsonStyle::Compact
        )
        .expect("json"),
        r#"{"a":3,"b":2}"#
    );
    assert!(c.schema.is_some());
    assert_eq!(c.dependencies.len(), 1);
    let sub = &c.dependencies[0];
    assert_eq!(sub.name(), "sub");
    assert_eq!(sub.metadata.dependencies.as_ref().map(Vec::len), Some(1));
    assert_eq!(
        names(&sub.files),
        ["requirements.yaml"],
        "v1 charts keep requirements.yaml in .Files"
    );
    assert_eq!(
        c.crd_objects("parent")
            .iter()
            .map(|(p, _)| p.clone())
            .collect::<Vec<_>>(),
        ["parent/crds/crd.yaml"]
    );
}

#[test]
fn helmignore_negation_quirk() {
    // `!*.yaml` ignores every path that does not match it, directories included.
    let c = chart::load(&charts().join("helmignore-negation")).expect("load");
    let names: Vec<&str> = c.raw.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["Chart.yaml", "values.yaml"]);
    assert!(c.templates.is_empty());
}

#[cfg(unix)]
#[test]
fn symlinks_must_stay_inside_the_chart() {
    let dir = temp_dir("symlink");
    let root = dir.join("linked");
    std::fs::create_dir_all(root.join("templates")).expect("mkdir");
    std::fs::write(root.join("Chart.yaml"), CHART_YAML).expect("w");
    std::fs::write(dir.join("outside.txt"), b"secret").expect("w");
    std::fs::write(root.join("inside.txt"), b"fine").expect("w");
    std::os::unix::fs::symlink(root.join("inside.txt"), root.join("templates/in.yaml")).expect("link");
    let c = chart::load(&root).expect("inside links load");
    assert_eq!(&**c.templates[0].data.get().expect("read"), b"fine");
    std::os::unix::fs::symlink(dir.join("outside.txt"), root.join("escape.txt")).expect("link");
    let err = chart::load(&root).expect_err("outside link");
    assert_eq!(err.entry(), Some(("linked", "escape.txt")));
    assert!(err.to_string().contains("points outside the chart"), "{err}");
}

#[test]
fn chart_yaml_errors_match_helm() {
    let dir = temp_dir("chartyaml");
    let cases: &[(&str, &str)] = &[
        ("noversion", "apiVersion: v2\nname: noversion\n"),
        ("badversion", "apiVersion: v2\nname: badversion\nversion: latest\n"),
        (
            "badtype",
            "apiVersion: v2\nname: badtype\nversion: 1.0.0\ntype: plugin\n",
        ),
        (
            "dup",
            "apiVersion: v2\nname: dup\nversion: 1.0.0\ndependencies:\n- name: a\n- name: b\n  alias: a\n",
        ),
        (
            "badalias",
            "apiVersion: v2\nname: badalias\nversion: 1.0.0\ndependencies:\n- name: a\n  alias: a.b\n",
        ),
        ("listversion", "apiVersion: v2\nname: listversion\nversion: [1]\n"),
        ("noname", "apiVersion: v2\nversion: 1.0.0\n"),
        ("dotname", "apiVersion: v2\nname: ..\nversion: 1.0.0\n"),
        (
            "library",
            "apiVersion: v2\nname: library\nversion: 1.0.0\ntype: library\n",
        ),
    ];
    let mut failures = Vec::new();
    for (name, yaml) in cases {
        let root = dir.join(name);
        std::fs::create_dir_all(root.join("templates")).expect("mkdir");
        std::fs::write(root.join("Chart.yaml"), yaml).expect("w");
        std::fs::write(root.join("templates/a.yaml"), "a: 1\n").expect("w");
        let out = Command::new(helm())
            .arg("template")
            .arg("r")
            .arg(&root)
            .output()
            .expect("run helm");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let helm_err = stderr
            .lines()
            .find(|l| l.starts_with("Error: "))
            .unwrap_or("")
            .to_string();
        let ours = match chart::load(&root) {
            Err(e) => format!("Error: {e}"),
            Ok(mut c) => match helmfire_chart::values::prepare(&mut c, &Default::default(), Default::default()) {
                Err(e) => format!("Error: {e}"),
                Ok(_) => String::new(),
            },
        };
        if helm_err != ours {
            failures.push(format!("{name}: helm {helm_err:?}, ours {ours:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn chart_object_matches_helm() {
    let dir = temp_dir("chart-object");
    let root = dir.join("c");
    std::fs::create_dir_all(root.join("templates")).expect("mkdir");
    std::fs::create_dir_all(root.join("charts/d/templates")).expect("mkdir");
    std::fs::write(
        root.join("Chart.yaml"),
        "apiVersion: v2\nname: c\nversion: 1.0.0\nappVersion: 1.10\nkeywords: [a, b]\nmaintainers:\n- name: me\n  email: m@x\nannotations:\n  k: v\ndependencies:\n- name: d\n  version: 0.1.0\n  repository: file://x\n  alias: dd\n  tags: [t]\n  import-values:\n  - data\n  - child: a\n    parent: b\n",
    )
    .expect("w");
    std::fs::write(root.join("templates/a.yaml"), "chart: {{ toJson .Chart }}\n").expect("w");
    std::fs::write(
        root.join("charts/d/Chart.yaml"),
        "apiVersion: v2\nname: d\nversion: 0.1.0\n",
    )
    .expect("w");
    std::fs::write(root.join("charts/d/templates/a.yaml"), "chart: {{ toJson .Chart }}\n").expect("w");
    let out = Command::new(helm())
        .arg("template")
        .arg("r")
        .arg(&root)
        .output()
        .expect("run helm");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let helm_lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with("chart: ")).collect();

    let mut c = chart::load(&root).expect("load");
    helmfire_chart::values::prepare(&mut c, &Default::default(), Default::default()).expect("prepare");
    let render = |md: &helmfire_chart::Metadata, is_root: bool| {
        let v = md.to_template_value();
        v.as_map()
            .expect("map")
            .write()
            .insert("IsRoot".into(), helmfire_value::Value::Bool(is_root));
        format!(
            "chart: {}",
            helmfire_value::json::encode(&v, helmfire_value::json::JsonStyle::Compact).expect("json")
        )
    };
    let ours = [render(&c.dependencies[0].metadata, false), render(&c.metadata, true)];
    assert_eq!(helm_lines, ours.iter().map(String::as_str).collect::<Vec<_>>());
}

/// `.helmignore` rule sets against helm: the chart's `.Files` keys and rendered templates.
#[test]
fn helmignore_matches_helm() {
    let rule_sets = [
        "",
        "*.md\n",
        "docs/\n",
        "/docs\n",
        "docs/*.txt\n",
        "!*.yaml\n",
        "# comment\n  *.txt  \n!keep.txt\n",
        "*.txt\n!keep.txt\n",
        "[a-c]*.txt\ndocs/**/x\n",
        "templates/b.yaml\n",
        "*/nested/\n",
        "?.md\n",
        "\\#literal\n",
        "[\n",
        "templates/\n",
        "docs/nested/deep.txt\n",
    ];
    let dir = temp_dir("helmignore");
    let mut failures = Vec::new();
    for (i, rules) in rule_sets.iter().enumerate() {
        let root = dir.join(format!("ig{i}"));
        for sub in ["templates", "docs/nested", "other/nested"] {
            std::fs::create_dir_all(root.join(sub)).expect("mkdir");
        }
        std::fs::write(
            root.join("Chart.yaml"),
            format!("apiVersion: v2\nname: ig{i}\nversion: 1.0.0\n"),
        )
        .expect("w");
        std::fs::write(
            root.join("templates/a.yaml"),
            "files: {{ range $k, $v := .Files }}{{ $k }} {{ end }}\n",
        )
        .expect("w");
        std::fs::write(root.join("templates/b.yaml"), "b: 1\n").expect("w");
        std::fs::write(root.join("templates/.dot.yaml"), "dot: 1\n").expect("w");
        for f in [
            "README.md",
            "a.md",
            "b.txt",
            "keep.txt",
            "x.yaml",
            "#literal",
            "docs/guide.txt",
            "docs/nested/deep.txt",
            "other/nested/o.txt",
        ] {
            std::fs::write(root.join(f), "x").expect("w");
        }
        std::fs::write(root.join(".helmignore"), rules).expect("w");
        let out = Command::new(helm())
            .arg("template")
            .arg("r")
            .arg(&root)
            .output()
            .expect("run helm");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let helm_view = if out.status.success() {
            let mut sources: Vec<String> = stdout
                .lines()
                .filter_map(|l| l.strip_prefix("# Source: "))
                .map(str::to_string)
                .collect();
            sources.sort();
            let files = stdout
                .lines()
                .find_map(|l| l.strip_prefix("files: "))
                .unwrap_or("-")
                .trim()
                .to_string();
            format!("{sources:?} {files}")
        } else {
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .find(|l| l.starts_with("Error: "))
                .unwrap_or("")
                .to_string()
        };
        let ours = match chart::load(&root) {
            Err(e) => format!("Error: {e}"),
            Ok(c) => {
                let mut sources: Vec<String> = c
                    .templates
                    .iter()
                    .filter(|t| t.name != "templates/NOTES.txt")
                    .map(|t| format!("ig{i}/{}", t.name))
                    .collect();
                sources.sort();
                let mut files: Vec<&str> = c.files.iter().map(|f| f.name.as_str()).collect();
                files.sort();
                let files = if sources.iter().any(|s| s.ends_with("/a.yaml")) {
                    files.join(" ")
                } else {
                    "-".into()
                };
                format!("{sources:?} {files}")
            }
        };
        if helm_view != ours {
            failures.push(format!("rules {rules:?}: helm {helm_view}, ours {ours}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn archive_traversal_fixtures() {
    let dir = charts().join("archive-traversal");
    let cases = [
        (
            "parent-directory.tgz",
            "chart illegally references parent directory",
            "evil/../../escaped.txt",
        ),
        (
            "absolute-path.tgz",
            "chart illegally contains absolute paths",
            "evil//etc/passwd",
        ),
        (
            "chart-yaml-at-root.tgz",
            "chart illegally contains content outside the base directory: \"Chart.yaml\"",
            "Chart.yaml",
        ),
    ];
    for (file, cause, entry) in cases {
        let err = chart::load(&dir.join(file)).expect_err(file);
        assert_eq!(err.to_string(), "unable to load chart archive", "{file}");
        let ChartError::ArchiveRejected { source } = &err else {
            panic!("{file}: {err:?}")
        };
        assert_eq!(source.to_string(), cause, "{file}");
        assert_eq!(err.entry().map(|(_, e)| e), Some(entry), "{file}");
    }
}

/// Large files that only `.Files` and CRDs reach are read when asked for (see
/// `helmfire_chart::FileData`): every way a template reads them, a subchart's, BOMs and CRDs
/// with `--include-crds`, against the real helm.
#[test]
fn files_read_on_demand_render_like_helm() {
    let dir = temp_dir("on-demand");
    let root = dir.join("c");
    let line = "0123456789abcdefghijklmnopqrstuvwxyz\n";
    let big = line.repeat(400);
    let write = |path: &str, data: &[u8]| {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, data).expect("write");
    };
    write("Chart.yaml", b"apiVersion: v2\nname: c\nversion: 1.0.0\n");
    write(
        "templates/files.yaml",
        concat!(
            "get: {{ .Files.Get \"files/big.txt\" | sha256sum }}\n",
            "bytes: {{ .Files.GetBytes \"files/bom.txt\" | len }}\n",
            "bom: {{ .Files.Get \"files/bom.txt\" | trunc 10 | quote }}\n",
            "lines: {{ .Files.Lines \"files/big.txt\" | len }}\n",
            "glob: {{ range $path, $_ := .Files.Glob \"files/*\" }}{{ $path }} {{ end }}\n",
            "config: {{ .Files.Glob \"files/big.txt\" | toYaml | sha256sum }}\n",
            "{{ (.Files.Glob \"files/big.txt\").AsConfig | sha256sum | printf \"asconfig: %s\" }}\n",
            "{{ (.Files.Glob \"files/big.txt\").AsSecrets | sha256sum | printf \"assecrets: %s\" }}\n",
            "field: {{ index .Files \"files/big.txt\" | len }}\n",
            "missing: {{ .Files.Get \"files/none.txt\" | quote }}\n",
        )
        .as_bytes(),
    );
    write("files/big.txt", big.as_bytes());
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(big.as_bytes());
    write("files/bom.txt", &bom);
    write("README.md", big.as_bytes());
    let description = format!("description: {:?}\n", big);
    let crd = format!(
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  {description}"
    );
    write("crds/widgets.yaml", crd.as_bytes());
    write("charts/d/Chart.yaml", b"apiVersion: v2\nname: d\nversion: 0.1.0\n");
    write(
        "charts/d/templates/a.yaml",
        b"sub: {{ .Files.Get \"files/big.txt\" | sha256sum }}\n",
    );
    write("charts/d/files/big.txt", big.replace('0', "_").as_bytes());
    write(
        "charts/d/crds/gadgets.yaml",
        crd.replace("widgets", "gadgets").as_bytes(),
    );
    for args in [&[][..], &["--include-crds"][..]] {
        let helm_out = Command::new(helm())
            .args(["template", "r"])
            .arg(&root)
            .args(args)
            .output()
            .expect("run helm");
        let ours = Command::new(crate::support::oracle::helmfire())
            .args(["chart", "template", "r"])
            .arg(&root)
            .args(args)
            .output()
            .expect("run helmfire");
        assert!(
            helm_out.status.success(),
            "{}",
            String::from_utf8_lossy(&helm_out.stderr)
        );
        let helm_text = String::from_utf8_lossy(&helm_out.stdout);
        for expected in [
            "lines: 400\n",
            "bytes: 14800\n",
            "field: 14800\n",
            "bom: \"0123456789\"\n",
        ] {
            assert!(
                helm_text.contains(expected),
                "helm printed no {expected:?}:\n{helm_text}"
            );
        }
        assert_eq!(
            helm_text.matches("kind: CustomResourceDefinition").count(),
            2 * args.len()
        );
        assert_eq!(
            String::from_utf8_lossy(&ours.stdout),
            String::from_utf8_lossy(&helm_out.stdout),
            "{args:?}: {}",
            String::from_utf8_lossy(&ours.stderr)
        );
    }
}
