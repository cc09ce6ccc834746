//! Chart sources on the command line: resolving the selected releases' remote charts (and
//! their unvendored dependencies) before rendering, honouring `helmfire.lock`, `--offline` and
//! `--update-lock`; the commands `deps`, `fetch` and `chart push`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use clap::Parser;

use crate::chart::source::lock::{LockEntry, LockFile};
use crate::chart::source::{self, ChartRequest, Pin, ResolvedChart, SourceError, SourceOptions, Sources};
use crate::state::{ChartRef, DesiredState};

use super::commands::write_stdout;
use super::settings::Settings;
use super::{CommandResult, exit};

/// A release's chart, ready for the loader.
#[derive(Clone, Debug)]
pub struct ChartResolution {
    /// The chart directory or archive.
    pub path: PathBuf,
    /// Unvendored Chart.yaml dependencies, fetched: archives or directories to attach.
    pub dependencies: Vec<PathBuf>,
    /// For remote charts: what was resolved.
    pub resolved: Option<ResolvedChart>,
}

/// Whether to pin to the lock file or resolve afresh.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockMode {
    /// Use the lock when present; a stale entry is an error unless `--update-lock`.
    Use,
    /// Ignore pins and rewrite the lock (`helmfire deps`).
    Refresh,
}

/// An error chain on one line per cause, for lists of per-release failures.
pub fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        out.push_str(&format!("\n  caused by: {cause}"));
        source = cause.source();
    }
    out
}

fn options(settings: &Settings) -> SourceOptions {
    SourceOptions {
        offline: settings.offline,
        ..SourceOptions::default()
    }
}

/// Resolves the charts of `releases` (indices into `state.releases`): remote charts fetched
/// concurrently (pinned by the lock file), unvendored dependencies fetched for every chart.
/// Returns per-release results; the outer error is a problem with the lock file itself.
pub fn resolve(
    settings: &Settings,
    state: &DesiredState,
    releases: &[usize],
    mode: LockMode,
) -> Result<HashMap<usize, Result<ChartResolution, String>>, Box<dyn std::error::Error + Send + Sync>> {
    let sources = Sources::for_state(&state.repositories, options(settings));
    let lock_path = LockFile::path_in(&state.base_dir);
    let mut lock = LockFile::read(&lock_path)?;
    let update = mode == LockMode::Refresh || settings.update_lock;
    let mut requests = Vec::new();
    let mut stale = Vec::new();
    for &i in releases {
        let release = &state.releases[i];
        if matches!(release.chart, ChartRef::Local(_)) {
            continue;
        }
        let constraint = release.version.as_ref().map(|v| v.as_str().to_string());
        let mut pin: Option<Pin> = None;
        if mode == LockMode::Use
            && let (Some(lock), Some(source)) = (&lock, sources.source_of(&release.chart))
        {
            match lock.check(
                &release.id.to_string(),
                &release.chart_text,
                constraint.as_deref(),
                &source,
            ) {
                Ok(p) => pin = Some(p),
                Err(staleness) if !settings.update_lock => stale.push(staleness.to_string()),
                Err(_) => {}
            }
        }
        requests.push((
            i,
            ChartRequest {
                release: format!("release `{}`", release.id),
                chart: release.chart.clone(),
                constraint,
                pin,
            },
        ));
    }
    if !stale.is_empty() {
        return Err(format!(
            "`{}` does not match the state file:\n  {}\nhint: run `helmfire deps` to re-resolve, or pass --update-lock",
            lock_path.display(),
            stale.join("\n  ")
        )
        .into());
    }
    let runtime = source::runtime()?;
    let (fetched, mut dependency_results) = runtime.block_on(async {
        let indices: Vec<usize> = requests.iter().map(|(i, _)| *i).collect();
        let fetched = sources.fetch_all(requests.into_iter().map(|(_, r)| r).collect()).await;
        let fetched: HashMap<usize, Result<ResolvedChart, SourceError>> = indices.into_iter().zip(fetched).collect();
        // Unvendored dependencies of every chart that loaded, concurrently.
        let mut tasks = Vec::new();
        for &i in releases {
            let path = match (&state.releases[i].chart, fetched.get(&i)) {
                (ChartRef::Local(path), _) => path.clone(),
                (_, Some(Ok(r))) => r.path.clone(),
                _ => continue,
            };
            let sources = sources.clone();
            let id = format!("release `{}`", state.releases[i].id);
            tasks.push((
                i,
                tokio::spawn(async move {
                    let Some(chart) = needs_dependencies(&path) else {
                        return Ok(Vec::new());
                    };
                    let dir = path.is_dir().then_some(path.as_path());
                    source::dependencies::fetch_missing(&sources, &id, &chart, dir)
                        .await
                        .map_err(|e| chain(&e))
                }),
            ));
        }
        let mut dependency_results = HashMap::new();
        for (i, task) in tasks {
            let result = task
                .await
                .unwrap_or_else(|_| Err("dependency resolution failed".into()));
            dependency_results.insert(i, result);
        }
        (fetched, dependency_results)
    });
    let mut out = HashMap::new();
    for &i in releases {
        let release = &state.releases[i];
        let resolved = match &release.chart {
            ChartRef::Local(path) => Ok((path.clone(), None)),
            _ => match fetched.get(&i) {
                Some(Ok(r)) => Ok((r.path.clone(), Some(r.clone()))),
                Some(Err(e)) => Err(chain(e)),
                None => Err(format!("release `{}`: chart not resolved", release.id)),
            },
        };
        let result = resolved.and_then(|(path, resolved)| {
            let dependencies = dependency_results.remove(&i).unwrap_or(Ok(Vec::new()))?;
            Ok(ChartResolution {
                path,
                dependencies,
                resolved,
            })
        });
        out.insert(i, result);
    }
    if update {
        let mut next = lock.take().unwrap_or_default();
        next.version = 1;
        // Entries of releases the state file no longer has, or whose chart is now local, would
        // never be read again: drop them, whatever the selection.
        let remote: std::collections::HashSet<String> = state
            .releases
            .iter()
            .filter(|r| !matches!(r.chart, ChartRef::Local(_)))
            .map(|r| r.id.to_string())
            .collect();
        let before = next.releases.len();
        next.releases.retain(|id, _| remote.contains(id));
        let mut changed = next.releases.len() != before;
        for &i in releases {
            let release = &state.releases[i];
            if let Some(Ok(ChartResolution { resolved: Some(r), .. })) = out.get(&i) {
                let entry = LockEntry {
                    chart: release.chart_text.clone(),
                    constraint: release.version.as_ref().map(|v| v.as_str().to_string()),
                    source: r.source.clone(),
                    version: r.version.clone(),
                    digest: format!("sha256:{}", r.digest),
                };
                if next.releases.get(&release.id.to_string()) != Some(&entry) {
                    next.releases.insert(release.id.to_string(), entry);
                    changed = true;
                }
            }
        }
        if changed || !lock_path.exists() {
            next.write(&lock_path)?;
        }
    }
    Ok(out)
}

/// The loaded chart when it declares dependencies that `charts/` lacks (cheap check first:
/// a directory chart's Chart.yaml/requirements.yaml must mention `dependencies`).
pub(crate) fn needs_dependencies(path: &Path) -> Option<crate::chart::Chart> {
    if path.is_dir() {
        let mentions = ["Chart.yaml", "requirements.yaml"].iter().any(|f| {
            std::fs::read(path.join(f))
                .map(|d| d.windows(13).any(|w| w == b"dependencies:"))
                .unwrap_or(false)
        });
        if !mentions {
            return None;
        }
    }
    // Load errors are reported by the render that follows, with Helm's text.
    let chart = crate::chart::load(path).ok()?;
    (!source::dependencies::missing(&chart).is_empty()).then_some(chart)
}

/// `helmfire deps`: resolve every selected release's remote chart afresh and write the lock.
pub fn deps(settings: &Settings, state: &DesiredState, releases: &[usize]) -> CommandResult {
    let results = resolve(settings, state, releases, LockMode::Refresh)?;
    report(state, releases, &results, None)
}

/// `helmfire fetch`: download everything the selected releases need (pinned by the lock), and
/// copy the archives to `output_dir` as `<chart>-<version>.tgz` when given.
pub fn fetch(
    settings: &Settings,
    state: &DesiredState,
    releases: &[usize],
    output_dir: Option<&Path>,
) -> CommandResult {
    let results = resolve(settings, state, releases, LockMode::Use)?;
    report(state, releases, &results, output_dir)
}

fn report(
    state: &DesiredState,
    releases: &[usize],
    results: &HashMap<usize, Result<ChartResolution, String>>,
    output_dir: Option<&Path>,
) -> CommandResult {
    let mut rows = String::new();
    let mut errors = Vec::new();
    for &i in releases {
        let release = &state.releases[i];
        match results.get(&i) {
            Some(Ok(resolution)) => {
                if let Some(r) = &resolution.resolved {
                    rows.push_str(&format!(
                        "{}\t{}\t{}\tsha256:{}\n",
                        release.id, release.chart_text, r.version, r.digest
                    ));
                    if let Some(dir) = output_dir {
                        let target = dir.join(format!("{}-{}.tgz", r.chart, r.version));
                        let data =
                            std::fs::read(&r.path).map_err(|e| format!("cannot read `{}`: {e}", r.path.display()))?;
                        source::cache::write_atomic(&target, &data)?;
                    }
                }
                if let Some(dir) = output_dir {
                    for dep in resolution.dependencies.iter().filter(|p| p.is_file()) {
                        let name = crate::chart::load(dep)
                            .map(|c| format!("{}-{}.tgz", c.metadata.name, c.metadata.version))
                            .map_err(|e| format!("cannot load `{}`: {e}", dep.display()))?;
                        let data = std::fs::read(dep).map_err(|e| format!("cannot read `{}`: {e}", dep.display()))?;
                        source::cache::write_atomic(&dir.join(name), &data)?;
                    }
                }
            }
            Some(Err(e)) => errors.push(e.clone()),
            None => {}
        }
    }
    write_stdout(&rows)?;
    if errors.is_empty() {
        Ok(exit::OK)
    } else {
        Err(errors.join("\n").into())
    }
}

/// Upload a chart archive to an OCI registry (as `helm push`).
#[derive(Debug, Parser)]
#[command(name = "helmfire chart push")]
pub struct ChartPushArgs {
    /// The chart archive (`helm package` output)
    pub chart: PathBuf,
    /// `oci://host[:port]/path`; the chart is pushed to `<path>/<name>:<version>`
    pub remote: String,
    #[command(flatten)]
    pub connection: ConnectionFlags,
}

/// How to reach a chart repository or registry: helm's flags of the same names, shared by
/// `chart push` and `chart template`.
#[derive(Debug, Default, clap::Args)]
pub struct ConnectionFlags {
    /// Verify the repository's or registry's certificate with this CA bundle
    #[arg(long = "ca-file")]
    pub ca_file: Option<PathBuf>,
    /// Identify the client with this certificate file (mutual TLS)
    #[arg(long = "cert-file")]
    pub cert_file: Option<PathBuf>,
    /// Identify the client with this key file (mutual TLS)
    #[arg(long = "key-file")]
    pub key_file: Option<PathBuf>,
    /// Skip verification of the server's certificate
    #[arg(long = "insecure-skip-tls-verify")]
    pub insecure_skip_tls_verify: bool,
    /// Talk to an oci:// registry over plain HTTP instead of HTTPS
    #[arg(long = "plain-http")]
    pub plain_http: bool,
    /// Username (default: helm's registry config, then docker's config.json, for registries)
    #[arg(long)]
    pub username: Option<String>,
    /// Password
    #[arg(long)]
    pub password: Option<String>,
}

impl ConnectionFlags {
    /// A repository (or, with `oci`, a registry) at `url` reached with these flags.
    pub fn repository(&self, url: &str, oci: bool) -> crate::chart::source::RepositoryConfig {
        use crate::chart::source::http::{Credentials, TlsSettings};
        crate::chart::source::RepositoryConfig {
            name: url.to_string(),
            url: url.trim_end_matches('/').to_string(),
            oci,
            credentials: self.username.as_ref().map(|username| Credentials {
                username: username.clone(),
                password: crate::state::Secret(self.password.clone().unwrap_or_default()),
            }),
            tls: TlsSettings {
                ca_file: self.ca_file.clone(),
                cert_file: self.cert_file.clone(),
                key_file: self.key_file.clone(),
                insecure_skip_verify: self.insecure_skip_tls_verify,
            },
            pass_credentials: false,
            plain_http: oci && self.plain_http,
        }
    }
}

/// `helmfire chart push CHART.tgz oci://…`: argv after `chart push`. Returns the exit code.
pub fn chart_push_main(argv: Vec<String>) -> i32 {
    let args = match ChartPushArgs::try_parse_from(std::iter::once("helmfire chart push".to_string()).chain(argv)) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { exit::ERROR } else { exit::OK };
        }
    };
    match chart_push(&args) {
        Ok(text) => {
            eprint!("{text}");
            exit::OK
        }
        Err(message) => {
            eprintln!("Error: {message}");
            exit::ERROR
        }
    }
}

fn chart_push(args: &ChartPushArgs) -> Result<String, String> {
    if !args.remote.starts_with("oci://") {
        return Err(format!(
            "scheme prefix missing from remote (e.g. \"oci://\"): `{}`",
            args.remote
        ));
    }
    let data = std::fs::read(&args.chart).map_err(|e| format!("cannot read `{}`: {e}", args.chart.display()))?;
    let repo = args.connection.repository(&args.remote, true);
    let sources = Sources::new(Vec::new(), SourceOptions::default());
    let runtime = source::runtime().map_err(|e| e.to_string())?;
    let created = rfc3339_now();
    let (reference, digest) = runtime
        .block_on(sources.push(data, &args.remote, Some(repo), args.connection.plain_http, &created))
        .map_err(|e| chain(&e))?;
    Ok(format!(
        "Pushed: {}\nDigest: {digest}\n",
        reference.trim_start_matches("oci://")
    ))
}

/// Now as RFC 3339 UTC (the `org.opencontainers.image.created` annotation).
fn rfc3339_now() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_is_well_formed() {
        let now = rfc3339_now();
        assert_eq!(now.len(), 20);
        assert!(now.starts_with("20") && now.ends_with('Z'));
    }
}
