//! OCI registries against a real `docker-registry` (CNCF distribution) on loopback with TLS from
//! a private CA: helmfire pulls what the real `helm push` pushed (anonymous and htpasswd auth,
//! tags, ranges, `+` ↔ `_`, digest pinning, docker config.json credentials), helm pulls what
//! `helmfire chart push` pushed, and rendering matches `helm template` of the same chart.

use crate::support::sources as sources_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use sources_support::*;

struct Fixture {
    dir: tempfile::TempDir,
    home: PathBuf,
    tls: Tls,
    archives: PathBuf,
}

impl Fixture {
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("helm-home");
        let tls = Tls::generate(&dir.path().join("tls"));
        let archives = dir.path().join("archives");
        for version in ["1.0.0", "1.1.0", "1.2.0+build.5"] {
            let chart = write_chart(&dir.path().join("src").join(version), "app", version, "");
            package(&home, &chart, &archives);
        }
        Fixture {
            dir,
            home,
            tls,
            archives,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn archive(&self, version: &str) -> PathBuf {
        self.archives.join(format!("app-{version}.tgz"))
    }

    fn ca(&self) -> &str {
        self.tls.ca_pem.to_str().unwrap()
    }

    /// `helm push` with our CA (and credentials); returns the manifest digest helm printed.
    fn helm_push(&self, archive: &Path, remote: &str, auth: Option<(&str, &str)>) -> String {
        let mut args = vec!["push", archive.to_str().unwrap(), remote, "--ca-file", self.ca()];
        if let Some((u, p)) = auth {
            args.extend(["--username", u, "--password", p]);
        }
        let (ok, stdout, stderr) = run(helm_command(&self.home).args(&args));
        assert!(ok, "helm push failed:\n{stderr}");
        let all = format!("{stdout}{stderr}");
        all.lines()
            .find_map(|l| l.strip_prefix("Digest: "))
            .unwrap_or_else(|| panic!("no digest in helm push output:\n{all}"))
            .trim()
            .to_string()
    }

    fn state(&self, name: &str, text: &str) -> PathBuf {
        let dir = self.path(name);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("helmfire.yaml");
        std::fs::write(&file, text).unwrap();
        file
    }

    fn command(&self, state: &Path) -> Command {
        let mut cmd = helmfire();
        cmd.arg("-f")
            .arg(state)
            .env("HELMFIRE_CACHE_DIR", self.path("cache"))
            .env("HELM_REPOSITORY_CONFIG", self.home.join("none.yaml"))
            .env("HELM_REGISTRY_CONFIG", self.home.join("none.json"))
            .env("DOCKER_CONFIG", self.path("no-docker"));
        cmd
    }

    /// `helmfire chart template ARGS` with this fixture's cache and no user configuration.
    fn chart_template(&self, args: &[&str]) -> (bool, String, String) {
        let mut cmd = helmfire();
        cmd.args(["chart", "template"])
            .args(args)
            .env("HELMFIRE_CACHE_DIR", self.path("cache"))
            .env("HELM_REPOSITORY_CONFIG", self.home.join("none.yaml"))
            .env("HELM_REGISTRY_CONFIG", self.home.join("none.json"))
            .env("DOCKER_CONFIG", self.path("no-docker"));
        run(&mut cmd)
    }

    fn helm_template(&self, release: &str, version: &str) -> String {
        helm_ok(
            &self.home,
            &["template", release, self.archive(version).to_str().unwrap()],
        )
    }
}

#[test]
fn helmfire_pulls_what_helm_pushed_anonymously() {
    let f = Fixture::new();
    let registry = Registry::start(&f.tls, None);
    let remote = format!("oci://{}/charts", registry.host);
    for version in ["1.0.0", "1.1.0", "1.2.0+build.5"] {
        f.helm_push(&f.archive(version), &remote, None);
    }
    let pinned_digest = f.helm_push(&f.archive("1.0.0"), &remote, None);
    let state = f.state(
        "anon",
        &format!(
            "repositories:\n- name: reg\n  url: {remote}\n  caFile: {ca}\n\
             releases:\n\
             - {{name: exact, chart: reg/app, version: 1.0.0}}\n\
             - {{name: range, chart: 'oci://{host}/charts/app', version: '~1.1'}}\n\
             - {{name: build, chart: reg/app, version: 1.2.0+build.5}}\n\
             - {{name: newest, chart: reg/app}}\n\
             - {{name: pinned, chart: 'oci://{host}/charts/app@{pinned_digest}'}}\n",
            ca = f.ca(),
            host = registry.host
        ),
    );
    let (ok, stdout, stderr) = run(f.command(&state).arg("template"));
    assert!(ok, "{stderr}");
    let expected = [
        f.helm_template("exact", "1.0.0"),
        f.helm_template("range", "1.1.0"),
        f.helm_template("build", "1.2.0+build.5"),
        f.helm_template("newest", "1.2.0+build.5"),
        f.helm_template("pinned", "1.0.0"),
    ]
    .concat();
    assert_eq!(stdout, expected);

    // The lock records the archive digests; with it, a warm run needs no registry.
    let (ok, stdout, stderr) = run(f.command(&state).arg("deps"));
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("default/build\treg/app\t1.2.0+build.5\tsha256:"),
        "{stdout}"
    );
    drop(registry);
    let (ok, stdout, stderr) = run(f.command(&state).arg("template"));
    assert!(ok, "{stderr}");
    assert_eq!(stdout, expected);
    let (ok, _, stderr) = run(f.command(&state).args(["--offline", "template"]));
    assert!(ok, "{stderr}");
}

#[test]
fn helm_pulls_what_helmfire_pushed() {
    let f = Fixture::new();
    let registry = Registry::start(&f.tls, None);
    let remote = format!("oci://{}/published", registry.host);
    let (ok, _, stderr) = run(helmfire().args([
        "chart",
        "push",
        f.archive("1.2.0+build.5").to_str().unwrap(),
        &remote,
        "--ca-file",
        f.ca(),
    ]));
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains(&format!("Pushed: {}/published/app:1.2.0_build.5", registry.host)),
        "{stderr}"
    );
    assert!(stderr.contains("Digest: sha256:"), "{stderr}");
    let out = f.path("pulled");
    std::fs::create_dir_all(&out).unwrap();
    helm_ok(
        &f.home,
        &[
            "pull",
            &format!("{remote}/app"),
            "--version",
            "1.2.0+build.5",
            "--ca-file",
            f.ca(),
            "-d",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(
        std::fs::read(out.join("app-1.2.0+build.5.tgz")).unwrap(),
        std::fs::read(f.archive("1.2.0+build.5")).unwrap()
    );
    // helm show chart reads the config blob we wrote.
    let shown = helm_ok(
        &f.home,
        &[
            "show",
            "chart",
            &format!("{remote}/app"),
            "--version",
            "1.2.0+build.5",
            "--ca-file",
            f.ca(),
        ],
    );
    assert!(shown.contains("name: app"), "{shown}");
    assert!(shown.contains("version: 1.2.0+build.5"), "{shown}");
    // A chart that is not a gzip archive is refused before any request.
    let bogus = f.path("bogus.tgz");
    std::fs::write(&bogus, "not a chart").unwrap();
    let (ok, _, stderr) =
        run(helmfire().args(["chart", "push", bogus.to_str().unwrap(), &remote, "--ca-file", f.ca()]));
    assert!(!ok);
    assert!(stderr.contains("not a valid chart"), "{stderr}");
    let (ok, _, stderr) = run(helmfire().args(["chart", "push", bogus.to_str().unwrap(), "https://x/y"]));
    assert!(!ok);
    assert!(stderr.contains("oci://"), "{stderr}");
}

#[test]
fn htpasswd_registry_with_state_or_docker_config_credentials() {
    let f = Fixture::new();
    let registry = Registry::start(&f.tls, Some(("bob", "hunter2")));
    let remote = format!("oci://{}/private", registry.host);
    f.helm_push(&f.archive("1.0.0"), &remote, Some(("bob", "hunter2")));
    let releases = "releases:\n- {name: web, chart: reg/app, version: ^1}\n";
    let with_credentials = f.state(
        "auth",
        &format!(
            "repositories:\n- name: reg\n  url: {remote}\n  caFile: {}\n  username: bob\n  password: hunter2\n{releases}",
            f.ca()
        ),
    );
    let (ok, stdout, stderr) = run(f.command(&with_credentials).arg("template"));
    assert!(ok, "{stderr}");
    assert_eq!(stdout, f.helm_template("web", "1.0.0"));

    // Anonymous: refused, with release, registry and chart named.
    let anonymous = f.state(
        "anon",
        &format!(
            "repositories:\n- name: reg\n  url: {remote}\n  caFile: {}\n{releases}",
            f.ca()
        ),
    );
    std::fs::remove_dir_all(f.path("cache")).unwrap();
    let (ok, _, stderr) = run(f.command(&anonymous).arg("template"));
    assert!(!ok);
    assert!(stderr.contains("release `default/web`"), "{stderr}");
    assert!(stderr.contains("reg/app"), "{stderr}");
    assert!(stderr.contains(&registry.host), "{stderr}");
    assert!(stderr.contains("refused access"), "{stderr}");

    // docker's config.json supplies the credentials for a repository without any.
    let docker = f.path("docker");
    std::fs::create_dir_all(&docker).unwrap();
    std::fs::write(
        docker.join("config.json"),
        format!(
            "{{\"auths\":{{\"{}\":{{\"auth\":\"Ym9iOmh1bnRlcjI=\"}}}}}}",
            registry.host
        ),
    )
    .unwrap();
    let (ok, stdout, stderr) = run(f.command(&anonymous).env("DOCKER_CONFIG", &docker).arg("template"));
    assert!(ok, "{stderr}");
    assert_eq!(stdout, f.helm_template("web", "1.0.0"));

    // helmfire chart push with credentials; helm pulls it back with the same.
    let (ok, _, stderr) = run(helmfire().args([
        "chart",
        "push",
        f.archive("1.1.0").to_str().unwrap(),
        &remote,
        "--ca-file",
        f.ca(),
        "--username",
        "bob",
        "--password",
        "hunter2",
    ]));
    assert!(ok, "{stderr}");
    let out = f.path("pulled");
    std::fs::create_dir_all(&out).unwrap();
    helm_ok(
        &f.home,
        &[
            "pull",
            &format!("{remote}/app"),
            "--version",
            "1.1.0",
            "--ca-file",
            f.ca(),
            "--username",
            "bob",
            "--password",
            "hunter2",
            "-d",
            out.to_str().unwrap(),
        ],
    );
    assert_eq!(
        std::fs::read(out.join("app-1.1.0.tgz")).unwrap(),
        std::fs::read(f.archive("1.1.0")).unwrap()
    );
}

#[test]
fn registry_errors_name_the_release_and_list_versions() {
    let f = Fixture::new();
    let registry = Registry::start(&f.tls, None);
    let remote = format!("oci://{}/charts", registry.host);
    f.helm_push(&f.archive("1.0.0"), &remote, None);
    f.helm_push(&f.archive("1.1.0"), &remote, None);
    let state = |name: &str, release: &str| {
        f.state(
            name,
            &format!(
                "repositories:\n- name: reg\n  url: {remote}\n  caFile: {}\nreleases:\n- {release}\n",
                f.ca()
            ),
        )
    };
    let (ok, _, stderr) = run(f
        .command(&state("missing-tag", "{name: web, chart: reg/app, version: 9.9.9}"))
        .arg("template"));
    assert!(!ok);
    assert!(stderr.contains("release `default/web`"), "{stderr}");
    assert!(stderr.contains("404"), "{stderr}");
    let (ok, _, stderr) = run(f
        .command(&state("no-match", "{name: web, chart: reg/app, version: ^2}"))
        .arg("template"));
    assert!(!ok);
    assert!(stderr.contains("matches `^2`"), "{stderr}");
    assert!(stderr.contains("nearest available: 1.1.0, 1.0.0"), "{stderr}");
    let (ok, _, stderr) = run(f
        .command(&state("no-repo", "{name: web, chart: reg/nothing}"))
        .arg("template"));
    assert!(!ok);
    assert!(stderr.contains("reg/nothing"), "{stderr}");
    // --offline with nothing cached.
    let (ok, _, stderr) = run(f
        .command(&state("offline", "{name: web, chart: reg/app, version: 1.0.0}"))
        .args(["--offline", "template"]));
    assert!(!ok);
    assert!(stderr.contains("--offline"), "{stderr}");
}

#[test]
fn bearer_token_registries_exchange_basic_credentials_for_a_token() {
    use sha2::Digest;
    let f = Fixture::new();
    // A registry laid out as files: manifest, blobs and tag list of `charts/app` 1.0.0.
    let root = f.path("bearer-root");
    let repo = root.join("v2/charts/app");
    let archive = std::fs::read(f.archive("1.0.0")).unwrap();
    let hex = |d: &[u8]| {
        sha2::Sha256::digest(d)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let config = br#"{"name":"app","version":"1.0.0","apiVersion":"v2"}"#;
    std::fs::create_dir_all(repo.join("blobs")).unwrap();
    std::fs::create_dir_all(repo.join("manifests")).unwrap();
    std::fs::create_dir_all(repo.join("tags")).unwrap();
    std::fs::write(repo.join(format!("blobs/sha256:{}", hex(&archive))), &archive).unwrap();
    std::fs::write(repo.join(format!("blobs/sha256:{}", hex(config))), config).unwrap();
    let manifest = format!(
        r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.cncf.helm.config.v1+json","digest":"sha256:{}","size":{}}},"layers":[{{"mediaType":"application/vnd.cncf.helm.chart.content.v1.tar+gzip","digest":"sha256:{}","size":{}}}]}}"#,
        hex(config),
        config.len(),
        hex(&archive),
        archive.len()
    );
    std::fs::write(repo.join("manifests/1.0.0"), &manifest).unwrap();
    std::fs::write(
        repo.join("tags/list"),
        r#"{"name":"charts/app","tags":["1.0.0","latest"]}"#,
    )
    .unwrap();
    let server = Server::start_bearer(&root, f.tls.server_config.clone(), "carol", "pw", "tok-123");
    let host = server.base.trim_start_matches("https://").to_string();
    let state = |name: &str, password: &str| {
        f.state(
            name,
            &format!(
                "repositories:\n- name: reg\n  url: oci://{host}/charts\n  caFile: {}\n  username: carol\n  password: {password}\nreleases:\n- {{name: web, chart: reg/app, version: ^1}}\n",
                f.ca()
            ),
        )
    };
    let (ok, stdout, stderr) = run(f.command(&state("bearer", "pw")).arg("template"));
    assert!(ok, "{stderr}");
    assert_eq!(stdout, f.helm_template("web", "1.0.0"));
    let log = server.log();
    assert!(log.iter().any(|l| l.path == "/token" && l.status == 200), "{log:?}");
    assert!(
        log.iter()
            .any(|l| l.path == "/v2/charts/app/tags/list" && l.status == 200),
        "{log:?}"
    );
    // One token exchange serves every later request of the scope.
    assert_eq!(log.iter().filter(|l| l.path == "/token").count(), 1, "{log:?}");

    std::fs::remove_dir_all(f.path("cache")).unwrap();
    let (ok, _, stderr) = run(f.command(&state("bearer-wrong", "nope")).arg("template"));
    assert!(!ok);
    assert!(stderr.contains("release `default/web`"), "{stderr}");
    assert!(stderr.contains("/token"), "{stderr}");
    assert!(!stderr.contains("nope"), "the password leaked: {stderr}");
}

#[test]
fn chart_template_pulls_registry_charts_like_helm_template() {
    let f = Fixture::new();
    let registry = Registry::start(&f.tls, Some(("bob", "hunter2")));
    let remote = format!("oci://{}/charts", registry.host);
    let auth = ["--username", "bob", "--password", "hunter2"];
    for version in ["1.0.0", "1.1.0", "1.2.0+build.5"] {
        f.helm_push(&f.archive(version), &remote, Some(("bob", "hunter2")));
    }
    let chart = format!("{remote}/app");
    let chart_template = |args: &[&str]| f.chart_template(args);
    // helm pulls the same references itself; the output must be the same bytes.
    for args in [
        vec!["rel", chart.as_str(), "--version", "1.1.0", "-n", "apps"],
        vec!["rel", chart.as_str(), "--version", "~1.0.0"],
        vec!["rel", chart.as_str()],
    ] {
        let args = [&args[..], &auth[..], &["--ca-file", f.ca()][..]].concat();
        let expected = helm_ok(&f.home, &[&["template"], &args[..]].concat());
        let (ok, stdout, stderr) = chart_template(&args);
        assert!(ok, "{args:?}: {stderr}");
        assert_eq!(stdout, expected, "{args:?}");
    }
    // Without credentials the registry refuses, and the error names it.
    let (ok, _, stderr) = chart_template(&["rel", &chart, "--version", "1.0.0", "--ca-file", f.ca()]);
    assert!(!ok);
    assert!(stderr.contains(&registry.host), "{stderr}");
    // A range the registry cannot satisfy lists the versions it has; a missing tag is a 404.
    let with_auth = |version: &'static str| {
        [
            &["rel", chart.as_str(), "--version", version, "--ca-file", f.ca()][..],
            &auth[..],
        ]
        .concat()
    };
    let (ok, _, stderr) = chart_template(&with_auth("^3"));
    assert!(!ok);
    assert!(stderr.contains("app` matches `^3`"), "{stderr}");
    assert!(stderr.contains("nearest available: 1.2.0+build.5"), "{stderr}");
    let (ok, _, stderr) = chart_template(&with_auth("3.0.0"));
    assert!(!ok);
    assert!(stderr.contains("manifests/3.0.0` was not found (404)"), "{stderr}");
}

#[test]
fn plain_http_registries_with_plain_http_flag_or_state_setting() {
    let f = Fixture::new();
    let registry = Registry::start_plain(None);
    let remote = format!("oci://{}/local", registry.host);
    let (ok, _, stderr) =
        run(helm_command(&f.home).args(["push", f.archive("1.0.0").to_str().unwrap(), &remote, "--plain-http"]));
    assert!(ok, "helm push --plain-http failed:\n{stderr}");
    let chart = format!("{remote}/app");
    let chart_template = |args: &[&str]| f.chart_template(args);
    // Without --plain-http the TLS handshake fails, and the error says where.
    let (ok, _, stderr) = chart_template(&["rel", &chart, "--version", "1.0.0"]);
    assert!(!ok);
    assert!(stderr.contains(&registry.host), "{stderr}");
    let args = ["rel", chart.as_str(), "--version", "1.0.0", "--plain-http"];
    let expected = helm_ok(&f.home, &[&["template"][..], &args[..]].concat());
    let (ok, stdout, stderr) = chart_template(&args);
    assert!(ok, "{stderr}");
    assert_eq!(stdout, expected);
    // The state file says it per registry.
    let state = f.state(
        "plain",
        &format!(
            "repositories:\n- {{name: local, url: '{remote}', plainHttp: true}}\n\
             releases:\n- {{name: rel, chart: local/app, version: 1.0.0}}\n"
        ),
    );
    let (ok, stdout, stderr) = run(f.command(&state).arg("template"));
    assert!(ok, "{stderr}");
    assert_eq!(stdout, f.helm_template("rel", "1.0.0"));
    // ... and only for registries.
    let state = f.state(
        "plain-https",
        "repositories:\n- {name: web, url: 'https://charts.example.com', plainHttp: true}\nreleases: []\n",
    );
    let (ok, _, stderr) = run(f.command(&state).arg("lint"));
    assert!(!ok);
    assert!(
        stderr.contains("`plainHttp` applies only to `oci://` registries"),
        "{stderr}"
    );
    assert!(stderr.contains("helmfire.yaml:2:"), "{stderr}");
}
