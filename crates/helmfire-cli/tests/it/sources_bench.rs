//! Benchmark of chart sources (run by `scripts/bench-sources.sh`, ignored in the normal suite):
//! a state file of 50 releases over 10 HTTP repositories and 2 OCI registries, served on
//! loopback by real tools (`helm package`/`helm repo index`, `docker-registry` filled by `helm
//! push`). Prints cold and warm timings for helmfire and for helm pulling the same charts; the
//! only assertions are about work done (each index fetched exactly once per run), never time.

use crate::support::sources as sources_support;

use std::time::Instant;

use sources_support::*;

const REPOSITORIES: usize = 10;
const CHARTS_PER_REPOSITORY: usize = 4;
const REGISTRIES: usize = 2;
const CHARTS_PER_REGISTRY: usize = 5;
/// Extra synthetic versions per index, so that each index.yaml is realistically large (~1 MiB).
const FILLER_VERSIONS: usize = 2500;

#[test]
#[ignore = "benchmark: run scripts/bench-sources.sh"]
fn fifty_releases_over_ten_repositories_and_two_registries() {
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("helm-home");
    let tls = Tls::generate(&dir.path().join("tls"));
    let mut servers = Vec::new();
    let mut repositories = String::new();
    let mut releases = String::new();
    let mut helm_pulls: Vec<Vec<String>> = Vec::new();
    let setup = Instant::now();
    let mut index_bytes = 0;
    for r in 0..REPOSITORIES {
        let repo = dir.path().join(format!("repo{r}"));
        for c in 0..CHARTS_PER_REPOSITORY {
            let name = format!("chart{r}x{c}");
            let chart = write_chart(&dir.path().join("src").join(&name), &name, "1.0.0", "");
            package(&home, &chart, &repo);
            releases.push_str(&format!(
                "- {{name: rel-{r}-{c}, namespace: bench, chart: repo{r}/{name}, version: ^1}}\n"
            ));
        }
        index(&home, &repo);
        // Filler entries after the real ones.
        let mut text = std::fs::read_to_string(repo.join("index.yaml")).unwrap();
        let generated = text.find("generated:").unwrap();
        let mut filler = String::from("  filler:\n");
        for v in 0..FILLER_VERSIONS {
            filler.push_str(&format!(
                "  - apiVersion: v2\n    appVersion: 1.{v}.0\n    created: \"2024-01-01T00:00:00Z\"\n    description: A filler chart so the index has a realistic size\n    digest: {:064x}\n    name: filler\n    urls:\n    - https://example.invalid/filler-1.{v}.0.tgz\n    version: 1.{v}.0\n",
                v
            ));
        }
        text.insert_str(generated, &filler);
        index_bytes += text.len();
        std::fs::write(repo.join("index.yaml"), text).unwrap();
        let server = Server::start(&repo, None, None);
        repositories.push_str(&format!("- {{name: repo{r}, url: '{}'}}\n", server.base));
        for c in 0..CHARTS_PER_REPOSITORY {
            helm_pulls.push(
                [
                    "pull",
                    &format!("chart{r}x{c}"),
                    "--repo",
                    &server.base,
                    "--version",
                    "^1",
                ]
                .map(String::from)
                .to_vec(),
            );
        }
        servers.push(server);
    }
    let mut registries = Vec::new();
    for g in 0..REGISTRIES {
        let registry = Registry::start(&tls, None);
        let remote = format!("oci://{}/charts", registry.host);
        for c in 0..CHARTS_PER_REGISTRY {
            let name = format!("oci{g}x{c}");
            let chart = write_chart(&dir.path().join("src").join(&name), &name, "1.0.0", "");
            let archive = package(&home, &chart, &dir.path().join("oci-archives"));
            helm_ok(
                &home,
                &[
                    "push",
                    archive.to_str().unwrap(),
                    &remote,
                    "--ca-file",
                    tls.ca_pem.to_str().unwrap(),
                ],
            );
            releases.push_str(&format!(
                "- {{name: oci-{g}-{c}, namespace: bench, chart: reg{g}/{name}, version: ^1}}\n"
            ));
            helm_pulls.push(
                [
                    "pull",
                    &format!("{remote}/{name}"),
                    "--version",
                    "^1",
                    "--ca-file",
                    tls.ca_pem.to_str().unwrap(),
                ]
                .map(String::from)
                .to_vec(),
            );
        }
        repositories.push_str(&format!(
            "- {{name: reg{g}, url: '{remote}', caFile: '{}'}}\n",
            tls.ca_pem.display()
        ));
        registries.push(registry);
    }
    eprintln!(
        "setup: {} releases, {REPOSITORIES} repositories ({:.1} MiB of index.yaml in total), {REGISTRIES} registries, in {:.1?}",
        REPOSITORIES * CHARTS_PER_REPOSITORY + REGISTRIES * CHARTS_PER_REGISTRY,
        index_bytes as f64 / 1048576.0,
        setup.elapsed()
    );
    let state_dir = dir.path().join("state");
    std::fs::create_dir_all(&state_dir).unwrap();
    let state = state_dir.join("helmfire.yaml");
    std::fs::write(&state, format!("repositories:\n{repositories}releases:\n{releases}")).unwrap();
    let cache = dir.path().join("cache");
    let helmfire_run = |args: &[&str]| {
        let start = Instant::now();
        let (ok, stdout, stderr) = run(helmfire()
            .arg("-f")
            .arg(&state)
            .args(args)
            .env("HELMFIRE_CACHE_DIR", &cache)
            .env("HELM_REPOSITORY_CONFIG", home.join("none.yaml")));
        let elapsed = start.elapsed();
        assert!(ok, "helmfire {args:?} failed:\n{stderr}");
        (elapsed, stdout)
    };
    let reset_counts = || servers.iter().for_each(Server::clear_log);
    let index_fetches = || servers.iter().map(|s| s.count("/index.yaml")).collect::<Vec<_>>();

    // Cold: empty cache, no lock.
    let (cold_fetch, _) = helmfire_run(&["fetch"]);
    assert_eq!(
        index_fetches(),
        vec![1; REPOSITORIES],
        "each index exactly once per run"
    );
    let downloads: usize = servers
        .iter()
        .map(|s| s.log().iter().filter(|l| l.path.ends_with(".tgz")).count())
        .sum();
    assert_eq!(downloads, REPOSITORIES * CHARTS_PER_REPOSITORY);
    // Warm cache, no lock: indexes revalidated (304), nothing downloaded.
    reset_counts();
    let (warm_revalidate, _) = helmfire_run(&["fetch"]);
    assert_eq!(index_fetches(), vec![1; REPOSITORIES]);
    // Warm cache with a lock: no network at all.
    helmfire_run(&["deps"]);
    reset_counts();
    let (warm_locked, _) = helmfire_run(&["fetch"]);
    assert_eq!(index_fetches(), vec![0; REPOSITORIES]);
    let (warm_template, rendered) = helmfire_run(&["template"]);
    assert_eq!(rendered.matches("kind: ConfigMap").count(), 50);
    // Cold template (fresh cache, lock present): download + render.
    std::fs::remove_dir_all(&cache).unwrap();
    let (cold_template, _) = helmfire_run(&["template"]);

    // In-process: resolution (lock pins, warm cache) and loading of every chart.
    let in_process = {
        use helmfire_chart::source::lock::LockFile;
        use helmfire_chart::source::{ChartRequest, SourceOptions, Sources};
        let loaded = helmfire::state::load(&helmfire::state::LoadOptions {
            file: Some(state.clone()),
            environment: "default".into(),
            kube_context: None,
        })
        .unwrap();
        let lock = LockFile::read(&LockFile::path_for(&state)).unwrap().unwrap();
        let start = Instant::now();
        let sources = Sources::for_declared(
            &loaded.repositories,
            SourceOptions {
                cache_dir: cache.clone(),
                ..SourceOptions::default()
            },
        );
        let requests: Vec<ChartRequest> = loaded
            .releases
            .iter()
            .map(|r| ChartRequest {
                release: r.id.to_string(),
                chart: r.chart.clone(),
                constraint: r.version.as_ref().map(|v| v.as_str().to_string()),
                pin: lock.releases.get(&r.id.to_string()).map(|e| e.pin()),
            })
            .collect();
        let runtime = helmfire_chart::source::runtime().unwrap();
        let resolved = runtime.block_on(sources.fetch_all(requests));
        let charts: Vec<_> = resolved
            .into_iter()
            .map(|r| helmfire_chart::load(&r.unwrap().path).unwrap())
            .collect();
        assert_eq!(charts.len(), 50);
        start.elapsed()
    };

    // Index decoding speed (the first run decodes YAML; later runs read the decoded form).
    let index_text = std::fs::read(dir.path().join("repo0/index.yaml")).unwrap();
    let start = Instant::now();
    let parsed = helmfire_chart::source::index::Index::parse(&index_text).unwrap();
    let parse_time = start.elapsed();
    assert_eq!(parsed.entries["filler"].len(), FILLER_VERSIONS);

    // helm: one `helm pull` per chart, as tools that drive helm do (each fetches its index).
    let pulls = dir.path().join("helm-pulls");
    std::fs::create_dir_all(&pulls).unwrap();
    let start = Instant::now();
    for args in &helm_pulls {
        let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
        args.extend(["-d", pulls.to_str().unwrap()]);
        helm_ok(&home, &args);
    }
    let helm_pull = start.elapsed();

    eprintln!("helmfire fetch, cold cache, no lock:           {cold_fetch:>9.1?}");
    eprintln!("helmfire fetch, warm cache, no lock (304s):    {warm_revalidate:>9.1?}");
    eprintln!("helmfire fetch, warm cache, lock:              {warm_locked:>9.1?}");
    eprintln!("helmfire template, warm cache, lock:           {warm_template:>9.1?}");
    eprintln!("helmfire template, cold cache, lock:           {cold_template:>9.1?}");
    eprintln!("in-process resolve + load 50 charts (warm):    {in_process:>9.1?}");
    eprintln!(
        "index.yaml decode ({:.2} MiB, {} versions):    {parse_time:>9.1?}",
        index_text.len() as f64 / 1048576.0,
        FILLER_VERSIONS + CHARTS_PER_REPOSITORY
    );
    eprintln!("helm pull x50 (sequential processes):          {helm_pull:>9.1?}");
}
