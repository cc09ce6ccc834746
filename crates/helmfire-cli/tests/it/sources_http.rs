//! Chart repositories over HTTP(S) against a real repository built by `helm package` + `helm repo
//! index`, served on loopback: resolution, rendering identical to `helm template`, the lock file,
//! the cache, `--offline`, TLS with a private CA, basic auth, chart dependencies, and every
//! failure mode with its message.

use crate::support::sources as sources_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use sources_support::*;

struct Fixture {
    dir: tempfile::TempDir,
    repo: PathBuf,
    home: PathBuf,
}

impl Fixture {
    /// A repository with `app` 1.0.0, 1.1.0, 2.0.0-rc.1 and `other` 0.1.0.
    fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().join("helm-home");
        let src = dir.path().join("src");
        let repo = dir.path().join("repo");
        for version in ["1.0.0", "1.1.0", "2.0.0-rc.1"] {
            let chart = write_chart(&src.join(version), "app", version, "");
            package(&home, &chart, &repo);
        }
        let other = write_chart(&src.join("other"), "other", "0.1.0", "");
        package(&home, &other, &repo);
        index(&home, &repo);
        Fixture { repo, home, dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn cache(&self) -> PathBuf {
        self.path("cache")
    }

    /// A state file in its own directory; returns the state file.
    fn state(&self, name: &str, text: &str) -> PathBuf {
        self.state_named(name, "helmfire.yaml", text)
    }

    /// A state file `file` in directory `dir`.
    fn state_named(&self, dir: &str, file: &str, text: &str) -> PathBuf {
        let dir = self.path(dir);
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join(file);
        std::fs::write(&file, text).unwrap();
        file
    }

    fn helmfire(&self, state: &Path, args: &[&str]) -> (bool, String, String) {
        run(self.command(state).args(args))
    }

    fn command(&self, state: &Path) -> Command {
        let mut cmd = helmfire();
        cmd.arg("-f")
            .arg(state)
            .env("HELMFIRE_CACHE_DIR", self.cache())
            .env("HELM_REPOSITORY_CONFIG", self.home.join("none.yaml"))
            .env("HELM_REGISTRY_CONFIG", self.home.join("none.json"))
            .env("DOCKER_CONFIG", self.home.join("no-docker"));
        cmd
    }

    /// `helm template` of the packaged archive `name-version.tgz`.
    fn helm_template(&self, release: &str, namespace: &str, name: &str, version: &str) -> String {
        let archive = self.repo.join(format!("{name}-{version}.tgz"));
        helm_ok(
            &self.home,
            &["template", release, archive.to_str().unwrap(), "-n", namespace],
        )
    }
}

fn state_text(url: &str, repo_extra: &str, releases: &str) -> String {
    format!("repositories:\n- name: charts\n  url: {url}\n{repo_extra}releases:\n{releases}")
}

#[test]
fn http_repository_renders_like_helm_with_one_index_fetch_and_a_lock() {
    let f = Fixture::new();
    let server = Server::start(&f.repo, None, None);
    let state = f.state(
        "plain",
        &state_text(
            &server.base,
            "",
            "- {name: web, namespace: apps, chart: charts/app, version: ^1}\n\
             - {name: api, namespace: apps, chart: charts/app, version: 1.0.0}\n\
             - {name: pre, namespace: apps, chart: charts/app, version: '>= 2.0.0-0'}\n\
             - {name: tools, chart: charts/other}\n",
        ),
    );
    let (ok, stdout, stderr) = f.helmfire(&state, &["template"]);
    assert!(ok, "{stderr}");
    let expected = [
        f.helm_template("web", "apps", "app", "1.1.0"),
        f.helm_template("api", "apps", "app", "1.0.0"),
        f.helm_template("pre", "apps", "app", "2.0.0-rc.1"),
        f.helm_template("tools", "default", "other", "0.1.0"),
    ]
    .concat();
    assert_eq!(stdout, expected);
    // One index request for four releases; each archive downloaded once.
    assert_eq!(server.count("/index.yaml"), 1, "{:?}", server.log());
    assert_eq!(server.count("/app-1.1.0.tgz"), 1);
    assert!(
        !f.path("plain/helmfire.lock").exists(),
        "template does not write a lock by itself"
    );

    // deps writes the lock; the digests are the archives' sha256.
    let (ok, stdout, stderr) = f.helmfire(&state, &["deps"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("apps/web\tcharts/app\t1.1.0\tsha256:"), "{stdout}");
    let lock = std::fs::read_to_string(f.path("plain/helmfire.lock")).unwrap();
    let digest = sha256_file(&f.repo.join("app-1.1.0.tgz"));
    assert!(lock.contains(&format!("\"sha256:{digest}\"")), "{lock}");
    assert!(lock.contains("\"apps/web\""), "{lock}");

    // With the lock and a warm cache, nothing is requested at all.
    server.clear_log();
    let (ok, stdout2, stderr) = f.helmfire(&state, &["template"]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout2, expected);
    assert!(server.log().is_empty(), "{:?}", server.log());

    // A newer 1.x appears: the lock keeps the release on 1.1.0.
    let src = f.path("src/1.2.0");
    let chart = write_chart(&src, "app", "1.2.0", "");
    package(&f.home, &chart, &f.repo);
    index(&f.home, &f.repo);
    let (ok, stdout3, _) = f.helmfire(&state, &["template", "-l", "name=web"]);
    assert!(ok);
    assert!(stdout3.contains("version: \"1.1.0\""), "{stdout3}");

    // Changing the constraint makes the lock stale: refused, then accepted with --update-lock.
    std::fs::write(
        &state,
        std::fs::read_to_string(&state)
            .unwrap()
            .replace("version: ^1}", "version: ~1.2}"),
    )
    .unwrap();
    let (ok, _, stderr) = f.helmfire(&state, &["template"]);
    assert!(!ok);
    assert!(stderr.contains("helmfire.lock"), "{stderr}");
    assert!(stderr.contains("release `apps/web`"), "{stderr}");
    assert!(stderr.contains("--update-lock"), "{stderr}");
    let (ok, stdout4, stderr) = f.helmfire(&state, &["--update-lock", "template", "-l", "name=web"]);
    assert!(ok, "{stderr}");
    assert!(stdout4.contains("version: \"1.2.0\""), "{stdout4}");
    let lock = std::fs::read_to_string(f.path("plain/helmfire.lock")).unwrap();
    assert!(lock.contains("\"~1.2\""), "{lock}");
    assert!(lock.contains("\"1.2.0\""), "{lock}");

    // Releases that leave the state file leave the lock at the next update.
    let full = std::fs::read_to_string(&state).unwrap();
    std::fs::write(
        &state,
        full.replace(
            "- {name: api, namespace: apps, chart: charts/app, version: 1.0.0}\n",
            "",
        ),
    )
    .unwrap();
    let (ok, _, stderr) = f.helmfire(&state, &["deps"]);
    assert!(ok, "{stderr}");
    let lock = std::fs::read_to_string(f.path("plain/helmfire.lock")).unwrap();
    assert!(!lock.contains("\"apps/api\""), "{lock}");
    assert!(lock.contains("\"apps/web\""), "{lock}");
    std::fs::write(&state, full).unwrap();

    // Revalidation: a run without a lock sends If-None-Match and reuses the cached index on 304.
    std::fs::remove_file(f.path("plain/helmfire.lock")).unwrap();
    server.clear_log();
    let (ok, _, stderr) = f.helmfire(&state, &["template"]);
    assert!(ok, "{stderr}");
    let statuses: Vec<u16> = server
        .log()
        .iter()
        .filter(|l| l.path == "/index.yaml")
        .map(|l| l.status)
        .collect();
    assert_eq!(statuses, [304]);

    // A damaged cached index (e.g. after a crash) is fetched again instead of trusted.
    for entry in std::fs::read_dir(f.cache().join("indexes")).unwrap() {
        let dir = entry.unwrap().path();
        std::fs::write(dir.join("index"), "apiVersion: v1\nentries: [").unwrap();
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            if file.file_name().unwrap().to_string_lossy().starts_with("decoded-") {
                std::fs::remove_file(file).unwrap();
            }
        }
    }
    server.clear_log();
    let (ok, _, stderr) = f.helmfire(&state, &["template"]);
    assert!(ok, "{stderr}");
    let statuses: Vec<u16> = server
        .log()
        .iter()
        .filter(|l| l.path == "/index.yaml")
        .map(|l| l.status)
        .collect();
    assert_eq!(statuses, [304, 200]);
}

#[test]
fn parallel_processes_share_one_cache_safely() {
    let f = Fixture::new();
    let server = Server::start(&f.repo, None, None);
    let state = f.state(
        "parallel",
        &state_text(
            &server.base,
            "",
            "- {name: web, chart: charts/app, version: ^1}\n- {name: tools, chart: charts/other}\n",
        ),
    );
    let children: Vec<_> = (0..6)
        .map(|_| {
            f.command(&state)
                .arg("template")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let expected = [
        f.helm_template("web", "default", "app", "1.1.0"),
        f.helm_template("tools", "default", "other", "0.1.0"),
    ]
    .concat();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
    }
    // The index lock serialises refreshes: one full download, the rest revalidated.
    let full: usize = server
        .log()
        .iter()
        .filter(|l| l.path == "/index.yaml" && l.status == 200)
        .count();
    assert_eq!(full, 1, "{:?}", server.log());
    let leftovers: Vec<_> = walk(&f.cache())
        .into_iter()
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn offline_uses_only_the_cache_and_fetch_copies_archives() {
    let f = Fixture::new();
    let server = Server::start(&f.repo, None, None);
    let state = f.state(
        "offline",
        &state_text(&server.base, "", "- {name: web, chart: charts/app, version: ^1}\n"),
    );
    // Nothing cached yet: --offline fails and names what is missing.
    let (ok, _, stderr) = f.helmfire(&state, &["--offline", "template"]);
    assert!(!ok);
    assert!(stderr.contains("--offline"), "{stderr}");
    assert!(stderr.contains("release `default/web`"), "{stderr}");
    assert!(stderr.contains("index.yaml"), "{stderr}");
    assert!(server.log().is_empty());

    let out = f.path("airgap");
    let (ok, stdout, stderr) = f.helmfire(&state, &["fetch", "--output-dir", out.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("1.1.0"), "{stdout}");
    assert_eq!(
        std::fs::read(out.join("app-1.1.0.tgz")).unwrap(),
        std::fs::read(f.repo.join("app-1.1.0.tgz")).unwrap()
    );
    drop(server);
    let (ok, stdout, stderr) = f.helmfire(&state, &["--offline", "template"]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout, f.helm_template("web", "default", "app", "1.1.0"));
}

#[test]
fn tls_with_a_private_ca_and_basic_auth() {
    let f = Fixture::new();
    let tls = Tls::generate(&f.path("tls"));
    let server = Server::start(&f.repo, Some(tls.server_config.clone()), Some(("alice", "s3cret")));
    let release = "- {name: web, chart: charts/app, version: 1.0.0}\n";
    let ca = tls.ca_pem.display().to_string();

    let good = f.state(
        "tls-good",
        &state_text(
            &server.base,
            &format!("  caFile: {ca}\n  username: alice\n  password: s3cret\n"),
            release,
        ),
    );
    let (ok, stdout, stderr) = f.helmfire(&good, &["template"]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout, f.helm_template("web", "default", "app", "1.0.0"));
    assert!(server.log().iter().all(|l| l.authorized));

    // Without credentials: 401, named with release, repository and chart; password never shown.
    let anonymous = f.state(
        "tls-anon",
        &state_text(&server.base, &format!("  caFile: {ca}\n"), release),
    );
    let (ok, _, stderr) = f.helmfire(&anonymous, &["template"]);
    assert!(!ok);
    assert!(stderr.contains("release `default/web`"), "{stderr}");
    assert!(stderr.contains("charts/app"), "{stderr}");
    assert!(stderr.contains("`charts`"), "{stderr}");
    assert!(stderr.contains("401"), "{stderr}");

    let wrong = f.state(
        "tls-wrong",
        &state_text(
            &server.base,
            &format!("  caFile: {ca}\n  username: alice\n  password: wrong\n"),
            release,
        ),
    );
    let (ok, _, stderr) = f.helmfire(&wrong, &["template"]);
    assert!(!ok);
    assert!(stderr.contains("refused access"), "{stderr}");
    assert!(!stderr.contains("wrong"), "the password leaked: {stderr}");

    // The system roots do not trust the private CA.
    let untrusted = f.state(
        "tls-untrusted",
        &state_text(&server.base, "  username: alice\n  password: s3cret\n", release),
    );
    let (ok, _, stderr) = f.helmfire(&untrusted, &["template"]);
    assert!(!ok);
    assert!(stderr.contains("index.yaml"), "{stderr}");

    // insecureSkipTLSVerify accepts it.
    let insecure = f.state(
        "tls-insecure",
        &state_text(
            &server.base,
            "  insecureSkipTlsVerify: true\n  username: alice\n  password: s3cret\n",
            release,
        ),
    );
    let (ok, _, stderr) = f.helmfire(&insecure, &["template"]);
    assert!(ok, "{stderr}");
}

#[test]
fn credentials_are_not_sent_to_other_hosts_unless_pass_credentials() {
    let f = Fixture::new();
    // The index lives on one server, the archives on another (absolute URLs in the index).
    let archives = Server::start(&f.repo, None, None);
    let index_dir = f.path("index-only");
    std::fs::create_dir_all(&index_dir).unwrap();
    let index = std::fs::read_to_string(f.repo.join("index.yaml")).unwrap().replace(
        "- app-",
        &format!("- {}/app-", archives.base.replace("127.0.0.1", "localhost")),
    );
    std::fs::write(index_dir.join("index.yaml"), index).unwrap();
    let server = Server::start(&index_dir, None, Some(("u", "p")));
    let release = "- {name: web, chart: charts/app, version: 1.0.0}\n";
    let state = f.state(
        "creds",
        &state_text(&server.base, "  username: u\n  password: p\n", release),
    );
    let (ok, _, stderr) = f.helmfire(&state, &["template"]);
    assert!(ok, "{stderr}");
    let downloads: Vec<_> = archives
        .log()
        .into_iter()
        .filter(|l| l.path.ends_with(".tgz"))
        .collect();
    assert_eq!(downloads.len(), 1);
    assert!(!downloads[0].sent_auth, "credentials leaked to another host");
    assert!(server.log().iter().all(|l| l.sent_auth));
    let state = f.state(
        "creds-pass",
        &state_text(
            &server.base,
            "  username: u\n  password: p\n  passCredentials: true\n",
            release,
        ),
    );
    std::fs::remove_dir_all(f.cache()).unwrap();
    archives.clear_log();
    let (ok, _, stderr) = f.helmfire(&state, &["template"]);
    assert!(ok, "{stderr}");
    let downloads: Vec<_> = archives
        .log()
        .into_iter()
        .filter(|l| l.path.ends_with(".tgz"))
        .collect();
    assert_eq!(downloads.len(), 1);
    assert!(downloads[0].sent_auth, "passCredentials sends them everywhere");
}

fn sha256_file(path: &Path) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(std::fs::read(path).unwrap());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn broken_repositories_fail_clearly_and_leave_the_cache_clean() {
    let f = Fixture::new();
    let server = Server::start(&f.repo, None, None);
    let state = f.state(
        "broken",
        &state_text(&server.base, "", "- {name: web, chart: charts/app, version: 1.0.0}\n"),
    );
    let fail = |needle: &str| {
        let (ok, _, stderr) = f.helmfire(&state, &["template"]);
        assert!(!ok, "expected failure with {needle:?}");
        assert!(stderr.contains("release `default/web`"), "{stderr}");
        assert!(stderr.contains("charts/app"), "{stderr}");
        assert!(stderr.contains(needle), "expected {needle:?} in:\n{stderr}");
        stderr
    };
    let no_archive_cached = || {
        let dir = f.cache().join("charts/sha256");
        let count = std::fs::read_dir(&dir).map(|d| d.count()).unwrap_or(0);
        assert_eq!(count, 0, "nothing may be cached after a failure");
    };

    // Corrupt and truncated indexes.
    server.set_override("/index.yaml", 200, b"apiVersion: v1\nentries:\n  app: [\n");
    fail("corrupt");
    let good_index = std::fs::read(f.repo.join("index.yaml")).unwrap();
    server.set_override("/index.yaml", 200, &good_index[..good_index.len() / 3]);
    fail("index");
    server.set_override("/index.yaml", 200, b"<html>not an index</html>");
    fail("not valid YAML or JSON");
    server.set_override("/index.yaml", 200, b"entries: {}\n");
    fail("no `apiVersion`");
    // Status codes.
    for (status, needle) in [(403, "refused access"), (404, "404"), (500, "500"), (503, "503")] {
        server.set_override("/index.yaml", status, b"");
        fail(needle);
    }
    server.clear_overrides();
    no_archive_cached();

    // Digest mismatch: the archive changed after indexing.
    let mut tampered = std::fs::read(f.repo.join("app-1.0.0.tgz")).unwrap();
    let n = tampered.len();
    tampered[n - 5] ^= 0xff;
    server.set_override("/app-1.0.0.tgz", 200, &tampered);
    fail("digest mismatch");
    no_archive_cached();
    // Truncated archive: also a digest mismatch, never cached.
    let archive = std::fs::read(f.repo.join("app-1.0.0.tgz")).unwrap();
    server.set_override("/app-1.0.0.tgz", 200, &archive[..archive.len() / 2]);
    fail("digest mismatch");
    server.set_override("/app-1.0.0.tgz", 404, b"");
    fail("404");
    server.clear_overrides();
    no_archive_cached();

    // No matching version: the nearest ones are listed.
    std::fs::write(
        &state,
        state_text(&server.base, "", "- {name: web, chart: charts/app, version: ^3.1}\n"),
    )
    .unwrap();
    let stderr = fail("no version of `app` matches `^3.1`");
    assert!(
        stderr.contains("nearest available: 2.0.0-rc.1, 1.1.0, 1.0.0"),
        "{stderr}"
    );
    // A chart the index does not list.
    std::fs::write(
        &state,
        state_text(&server.base, "", "- {name: web, chart: charts/apps}\n"),
    )
    .unwrap();
    let (ok, _, stderr) = f.helmfire(&state, &["template"]);
    assert!(!ok);
    assert!(stderr.contains("chart `apps` is not in the index"), "{stderr}");
    assert!(stderr.contains("similar: app"), "{stderr}");
}

#[test]
fn malicious_archives_are_rejected_before_the_cache() {
    let f = Fixture::new();
    let evil_dir = f.path("evil-repo");
    std::fs::create_dir_all(&evil_dir).unwrap();
    // A tar entry escaping the chart directory, with a correct digest in the index.
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast()));
    let chart_yaml = b"apiVersion: v2\nname: evil\nversion: 1.0.0\n";
    let mut header = tar::Header::new_gnu();
    header.set_size(chart_yaml.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "evil/Chart.yaml", &chart_yaml[..])
        .unwrap();
    let payload = b"owned";
    let mut header = tar::Header::new_gnu();
    header.set_size(payload.len() as u64);
    header.set_mode(0o644);
    {
        let name = b"evil/../../escape.txt";
        let gnu = header.as_gnu_mut().unwrap();
        gnu.name[..name.len()].copy_from_slice(name);
    }
    header.set_cksum();
    tar.append(&header, &payload[..]).unwrap();
    let data = tar.into_inner().unwrap().finish().unwrap();
    std::fs::write(evil_dir.join("evil-1.0.0.tgz"), &data).unwrap();
    // helm repo index refuses to index it, so the index is written by hand (a hostile server).
    std::fs::write(
        evil_dir.join("index.yaml"),
        format!(
            "apiVersion: v1\nentries:\n  evil:\n  - name: evil\n    version: 1.0.0\n    urls: [evil-1.0.0.tgz]\n    digest: {}\n",
            sha256_file(&evil_dir.join("evil-1.0.0.tgz"))
        ),
    )
    .unwrap();
    let server = Server::start(&evil_dir, None, None);
    let state = f.state(
        "evil",
        &state_text(&server.base, "", "- {name: web, chart: charts/evil}\n"),
    );
    let (ok, _, stderr) = f.helmfire(&state, &["template"]);
    assert!(!ok);
    assert!(stderr.contains("is not a valid chart"), "{stderr}");
    assert!(stderr.contains("release `default/web`"), "{stderr}");
    let cached = std::fs::read_dir(f.cache().join("charts/sha256"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(cached, 0);
}

#[test]
fn unvendored_chart_dependencies_resolve_like_helm_dependency_build() {
    let f = Fixture::new();
    let server = Server::start(&f.repo, None, None);
    // A local chart depending on `app` (range, locked by Chart.lock) and `other` (by URL),
    // plus a file:// dependency; charts/ is empty.
    let parent_src = f.path("parent-src");
    let sibling = write_chart(&parent_src, "sibling", "0.3.0", "");
    let parent = write_chart(
        &parent_src,
        "parent",
        "1.0.0",
        &format!(
            "dependencies:\n- name: app\n  version: ^1\n  repository: {0}\n- name: other\n  version: '*'\n  repository: {0}\n  alias: tools\n- name: sibling\n  version: 0.3.0\n  repository: file://../sibling\n",
            server.base
        ),
    );
    let _ = sibling;
    // helm dependency build: writes Chart.lock (pinning app 1.1.0) and vendors the archives.
    let helm_copy = f.path("helm-copy");
    copy_dir(&parent_src, &helm_copy);
    helm_ok(
        &f.home,
        &["dependency", "update", helm_copy.join("parent").to_str().unwrap()],
    );
    let expected = helm_ok(
        &f.home,
        &["template", "rel", helm_copy.join("parent").to_str().unwrap()],
    );
    // Our copy gets helm's Chart.lock but no charts/: the lock must be honoured.
    std::fs::copy(helm_copy.join("parent/Chart.lock"), parent.join("Chart.lock")).unwrap();
    // Publish app 1.2.0 afterwards: the lock keeps 1.1.0.
    let newer = write_chart(&f.path("src/1.2.0"), "app", "1.2.0", "");
    package(&f.home, &newer, &f.repo);
    index(&f.home, &f.repo);
    let state = f.state("deps", "releases:\n- {name: rel, chart: ../parent-src/parent}\n");
    let (ok, stdout, stderr) = f.helmfire(&state, &["template"]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout, expected);
    assert!(
        !parent.join("charts").exists(),
        "the user's chart directory is not modified"
    );

    // A Chart.lock that no longer matches Chart.yaml is refused, as helm refuses it.
    let chart_yaml = std::fs::read_to_string(parent.join("Chart.yaml")).unwrap();
    std::fs::write(
        parent.join("Chart.yaml"),
        chart_yaml.replace("version: ^1", "version: ^2"),
    )
    .unwrap();
    let (ok, _, stderr) = f.helmfire(&state, &["template"]);
    assert!(!ok);
    assert!(stderr.contains("out of sync"), "{stderr}");
    assert!(stderr.contains("dependency `app` of chart `parent`"), "{stderr}");
    std::fs::write(parent.join("Chart.yaml"), chart_yaml).unwrap();

    // An unknown `@name` repository is named in the error.
    let bad = write_chart(
        &f.path("bad-src"),
        "bad",
        "1.0.0",
        "dependencies:\n- name: app\n  version: ^1\n  repository: '@nope'\n",
    );
    let _ = bad;
    let state = f.state("deps-bad", "releases:\n- {name: rel, chart: ../bad-src/bad}\n");
    let (ok, _, stderr) = f.helmfire(&state, &["template"]);
    assert!(!ok);
    assert!(stderr.contains("repository `nope` is not defined"), "{stderr}");
    assert!(stderr.contains("dependency `app` of chart `bad`"), "{stderr}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn client_certificates_for_mutual_tls() {
    let f = Fixture::new();
    let tls = Tls::generate(&f.path("tls"));
    let server = Server::start(&f.repo, Some(tls.mutual_server_config.clone()), None);
    let release = "- {name: web, chart: charts/app, version: 1.0.0}\n";
    let ca = tls.ca_pem.display();
    let without = f.state(
        "mtls-without",
        &state_text(&server.base, &format!("  caFile: {ca}\n"), release),
    );
    let (ok, _, stderr) = f.helmfire(&without, &["template"]);
    assert!(!ok);
    assert!(stderr.contains("index.yaml"), "{stderr}");
    let with = f.state(
        "mtls-with",
        &state_text(
            &server.base,
            &format!(
                "  caFile: {ca}\n  certFile: {}\n  keyFile: {}\n",
                tls.client_cert_pem.display(),
                tls.client_key_pem.display()
            ),
            release,
        ),
    );
    let (ok, stdout, stderr) = f.helmfire(&with, &["template"]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout, f.helm_template("web", "default", "app", "1.0.0"));
    // A missing key file is named.
    let broken = f.state(
        "mtls-broken",
        &state_text(
            &server.base,
            &format!(
                "  caFile: {ca}\n  certFile: {}\n  keyFile: {}\n",
                tls.client_cert_pem.display(),
                f.path("missing-key.pem").display()
            ),
            release,
        ),
    );
    let (ok, _, stderr) = f.helmfire(&broken, &["template"]);
    assert!(!ok);
    assert!(stderr.contains("missing-key.pem"), "{stderr}");
}

#[test]
fn url_only_dependency_repositories_use_helms_repositories_yaml() {
    let f = Fixture::new();
    let tls = Tls::generate(&f.path("tls"));
    let server = Server::start(&f.repo, Some(tls.server_config.clone()), Some(("dave", "pw")));
    let parent = write_chart(
        &f.path("parent-src"),
        "parent",
        "1.0.0",
        &format!(
            "dependencies:\n- name: app\n  version: 1.0.0\n  repository: {}\n",
            server.base
        ),
    );
    let _ = parent;
    let state = f.state("url-only", "releases:\n- {name: rel, chart: ../parent-src/parent}\n");
    // Without helm's configuration the repository refuses us.
    let (ok, _, stderr) = f.helmfire(&state, &["template"]);
    assert!(!ok);
    assert!(stderr.contains("dependency `app` of chart `parent`"), "{stderr}");
    // helm's repositories.yaml has the credentials and CA for that URL.
    let config = f.path("repositories.yaml");
    std::fs::write(
        &config,
        format!(
            "apiVersion: \"\"\nrepositories:\n- name: private\n  url: {}/\n  username: dave\n  password: pw\n  caFile: {}\n",
            server.base,
            tls.ca_pem.display()
        ),
    )
    .unwrap();
    let (ok, stdout, stderr) = run(f.command(&state).env("HELM_REPOSITORY_CONFIG", &config).arg("template"));
    assert!(ok, "{stderr}");
    assert!(stdout.contains("name: rel-app"), "{stdout}");
    // `@private` names the same repository.
    let aliased = write_chart(
        &f.path("aliased-src"),
        "aliased",
        "1.0.0",
        "dependencies:\n- name: app\n  version: 1.0.0\n  repository: '@private'\n",
    );
    let _ = aliased;
    let state = f.state("alias", "releases:\n- {name: rel, chart: ../aliased-src/aliased}\n");
    let (ok, stdout, stderr) = run(f.command(&state).env("HELM_REPOSITORY_CONFIG", &config).arg("template"));
    assert!(ok, "{stderr}");
    assert!(stdout.contains("name: rel-app"), "{stdout}");
}

#[test]
fn chart_template_fetches_repository_charts_like_helm_template() {
    let f = Fixture::new();
    let tls = Tls::generate(&f.path("tls"));
    let server = Server::start(&f.repo, Some(tls.server_config.clone()), Some(("dave", "pw")));
    let ca = tls.ca_pem.to_str().unwrap();
    let chart_template = |args: &[&str]| {
        let mut cmd = helmfire();
        cmd.args(["chart", "template"])
            .args(args)
            .env("HELMFIRE_CACHE_DIR", f.cache())
            .env("HELM_REPOSITORY_CONFIG", f.home.join("config/repositories.yaml"))
            .env("HELM_REGISTRY_CONFIG", f.home.join("none.json"))
            .env("DOCKER_CONFIG", f.home.join("no-docker"));
        run(&mut cmd)
    };
    let same_as_helm = |args: &[&str]| {
        let expected = helm_ok(&f.home, &[&["template"], args].concat());
        let (ok, stdout, stderr) = chart_template(args);
        assert!(ok, "{args:?}: {stderr}");
        assert_eq!(stdout, expected, "{args:?}");
    };
    // `--repo URL CHART` with the repository's credentials and CA, a range and --devel.
    let auth = ["--username", "dave", "--password", "pw", "--ca-file", ca];
    same_as_helm(
        &[
            &["web", "app", "--repo", &server.base, "--version", "~1.0", "-n", "apps"],
            &auth[..],
        ]
        .concat(),
    );
    same_as_helm(&[&["pre", "app", "--repo", &server.base, "--devel"], &auth[..]].concat());
    // `REPO/CHART` by the name helm's repositories.yaml gives it (credentials and CA from there).
    helm_ok(
        &f.home,
        &[
            "repo",
            "add",
            "private",
            &server.base,
            "--username",
            "dave",
            "--password",
            "pw",
            "--ca-file",
            ca,
        ],
    );
    same_as_helm(&["api", "private/app", "--version", "1.0.0", "--set", "greeting=hi"]);
    same_as_helm(&["newest", "private/app"]);

    // --dependency-update fetches what charts/ lacks; helm writes it into the chart directory,
    // helmfire into its cache, so each gets its own copy of the parent chart.
    let dependency = format!(
        "dependencies:\n- name: app\n  version: ~1.0.0\n  repository: {}\n",
        server.base
    );
    let ours = write_chart(&f.path("dep-ours"), "parent", "1.0.0", &dependency);
    let theirs = write_chart(&f.path("dep-helm"), "parent", "1.0.0", &dependency);
    let (ok, _, stderr) = chart_template(&["rel", ours.to_str().unwrap()]);
    assert!(!ok);
    assert!(stderr.contains("missing in charts/ directory: app"), "{stderr}");
    let expected = helm_ok(
        &f.home,
        &["template", "rel", theirs.to_str().unwrap(), "--dependency-update"],
    );
    let (ok, stdout, stderr) = chart_template(&["rel", ours.to_str().unwrap(), "--dependency-update"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("name: rel-app"), "{stdout}");
    // helm prints its repository update and download progress on stdout, ahead of the manifests;
    // helmfire keeps stdout to the manifests.
    let manifests = &expected[expected.find("---\n").unwrap()..];
    assert!(expected.starts_with("Hang tight"), "{expected}");
    assert_eq!(stdout, manifests);
    assert!(!ours.join("charts").exists(), "the chart directory is left as it is");

    // Failures name the chart, the repository and what there is.
    let (ok, _, stderr) = chart_template(&["x", "private/app", "--version", "9.9.9"]);
    assert!(!ok);
    assert!(stderr.starts_with("Error: "), "{stderr}");
    assert!(stderr.contains("no version of `app` matches `9.9.9`"), "{stderr}");
    assert!(stderr.contains("1.1.0"), "{stderr}");
    let (ok, _, stderr) = chart_template(&["x", "nowhere/app"]);
    assert!(!ok);
    assert!(stderr.contains("repository `nowhere` is not defined"), "{stderr}");
    assert!(stderr.contains("private"), "{stderr}");
    let (ok, _, stderr) = chart_template(&["x", "app", "--repo", &server.base, "--ca-file", ca]);
    assert!(!ok, "no credentials: refused");
    assert!(stderr.contains("refused access (401"), "{stderr}");
    // Paths that do not exist, and a bad --kube-version, fail as helm's do, before any download.
    for args in [
        &["x", "./missing-chart"][..],
        &["x", "missing-chart"],
        &["x", "nowhere/app", "--kube-version", "nope"],
    ] {
        let (_, _, helm_stderr) = run(helm_command(&f.home).arg("template").args(args));
        let (ok, _, stderr) = chart_template(args);
        assert!(!ok);
        assert_eq!(stderr.lines().next(), helm_stderr.lines().next(), "{args:?}");
    }
}

/// Two state files in one directory: each lock is named after its state file (helmfile's
/// rule), so neither overwrites the other; `helmfire.yaml` keeps `helmfire.lock`.
#[test]
fn each_state_file_has_its_own_lock() {
    let f = Fixture::new();
    let server = Server::start(&f.repo, None, None);
    let pinned = f.state_named(
        "two",
        "pinned.yaml",
        &state_text(&server.base, "", "- {name: web, chart: charts/app, version: 1.0.0}\n"),
    );
    let newest = f.state_named(
        "two",
        "newest.yml",
        &state_text(&server.base, "", "- {name: web, chart: charts/app, version: ^1}\n"),
    );
    let default = f.state_named(
        "two",
        "helmfire.yaml",
        &state_text(&server.base, "", "- {name: tools, chart: charts/other}\n"),
    );
    for state in [&pinned, &newest, &default] {
        let (ok, _, stderr) = f.helmfire(state, &["deps"]);
        assert!(ok, "{stderr}");
    }
    let read = |name: &str| std::fs::read_to_string(f.path("two").join(name)).unwrap();
    assert!(read("pinned.lock").contains("\"1.0.0\""), "{}", read("pinned.lock"));
    assert!(read("newest.lock").contains("\"1.1.0\""), "{}", read("newest.lock"));
    assert!(read("helmfire.lock").contains("\"0.1.0\""), "{}", read("helmfire.lock"));
    assert!(!read("helmfire.lock").contains("charts/app"));

    // Each run pins to its own lock: a newer 1.x does not move the `^1` release.
    let chart = write_chart(&f.path("src/1.2.0"), "app", "1.2.0", "");
    package(&f.home, &chart, &f.repo);
    index(&f.home, &f.repo);
    let (ok, stdout, stderr) = f.helmfire(&newest, &["template"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("version: \"1.1.0\""), "{stdout}");
    let (ok, stdout, stderr) = f.helmfire(&pinned, &["template"]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("version: \"1.0.0\""), "{stdout}");

    // A stale lock names its own file.
    std::fs::write(&newest, std::fs::read_to_string(&newest).unwrap().replace("^1", "~1.2")).unwrap();
    let (ok, _, stderr) = f.helmfire(&newest, &["template"]);
    assert!(!ok);
    assert!(stderr.contains("newest.lock"), "{stderr}");
}

/// `helm template <chart> --repo URL` with TLS files and basic auth: whether helm accepts the
/// server, and its error.
fn helm_accepts(f: &Fixture, base: &str, ca: &Path) -> (bool, String) {
    let (ok, _, stderr) = run(helm_command(&f.home).args([
        "template",
        "web",
        "app",
        "--repo",
        base,
        "--version",
        "1.0.0",
        "--ca-file",
        ca.to_str().unwrap(),
        "--username",
        "alice",
        "--password",
        "s3cret",
    ]));
    (ok, stderr)
}

/// The certificate most people make, `openssl req -x509` (self-signed and `CA:TRUE`), serving
/// a repository whose `caFile` names it: helm accepts it, so helmfire does; a wrong host name
/// or an expired certificate is still refused, by both.
#[test]
fn an_openssl_self_signed_certificate_named_in_ca_file_is_trusted() {
    let f = Fixture::new();
    let release = "- {name: web, chart: charts/app, version: 1.0.0}\n";
    let auth = |cert: &Path| format!("  caFile: {}\n  username: alice\n  password: s3cret\n", cert.display());
    let dir = f.path("openssl");

    let good = SelfSigned::openssl(&dir, "good", "IP:127.0.0.1,DNS:localhost");
    let server = Server::start(&f.repo, Some(good.server_config.clone()), Some(("alice", "s3cret")));
    let state = f.state(
        "openssl-good",
        &state_text(&server.base, &auth(&good.cert_pem), release),
    );
    let (ok, stdout, stderr) = f.helmfire(&state, &["template"]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout, f.helm_template("web", "default", "app", "1.0.0"));
    let (helm_ok, helm_err) = helm_accepts(&f, &server.base, &good.cert_pem);
    assert!(helm_ok, "helm refused the certificate: {helm_err}");

    // The certificate names another host: refused.
    let other = SelfSigned::openssl(&dir, "other", "DNS:other.example");
    let server = Server::start(&f.repo, Some(other.server_config.clone()), Some(("alice", "s3cret")));
    let state = f.state(
        "openssl-other",
        &state_text(&server.base, &auth(&other.cert_pem), release),
    );
    let (ok, _, stderr) = f.helmfire(&state, &["template"]);
    assert!(!ok, "a certificate for another host was accepted");
    assert!(stderr.contains("not valid for name"), "{stderr}");
    assert!(
        !helm_accepts(&f, &server.base, &other.cert_pem).0,
        "helm accepted another host"
    );

    // The certificate expired in 2020: refused.
    let expired = SelfSigned::openssl_expired(&dir, "expired");
    let server = Server::start(&f.repo, Some(expired.server_config.clone()), Some(("alice", "s3cret")));
    let state = f.state(
        "openssl-expired",
        &state_text(&server.base, &auth(&expired.cert_pem), release),
    );
    let (ok, _, stderr) = f.helmfire(&state, &["template"]);
    assert!(!ok, "an expired certificate was accepted");
    assert!(stderr.contains("expired"), "{stderr}");
    assert!(
        !helm_accepts(&f, &server.base, &expired.cert_pem).0,
        "helm accepted an expired certificate"
    );
}

/// A server whose bodies end by closing the connection without a TLS close_notify (no
/// Content-Length): a 401 is reported as the 401 of that repository, and a 200 body read to
/// that close is complete, as Go's client treats it.
#[test]
fn bodies_ended_by_an_unclean_tls_close_keep_their_status() {
    let f = Fixture::new();
    let tls = Tls::generate(&f.path("tls"));
    let server = Server::start(&f.repo, Some(tls.server_config.clone()), Some(("alice", "s3cret")));
    server.set_close_delimited(true);
    let release = "- {name: web, chart: charts/app, version: 1.0.0}\n";
    let ca = tls.ca_pem.display();

    let anonymous = f.state(
        "unclean-anon",
        &state_text(&server.base, &format!("  caFile: {ca}\n"), release),
    );
    let (ok, _, stderr) = f.helmfire(&anonymous, &["template"]);
    assert!(!ok);
    assert!(stderr.contains("401"), "{stderr}");
    assert!(stderr.contains("`charts`"), "{stderr}");
    assert!(!stderr.contains("close_notify"), "{stderr}");

    let good = f.state(
        "unclean-good",
        &state_text(
            &server.base,
            &format!("  caFile: {ca}\n  username: alice\n  password: s3cret\n"),
            release,
        ),
    );
    let (ok, stdout, stderr) = f.helmfire(&good, &["template"]);
    assert!(ok, "{stderr}");
    assert_eq!(stdout, f.helm_template("web", "default", "app", "1.0.0"));
}
