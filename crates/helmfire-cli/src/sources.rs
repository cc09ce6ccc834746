//! Chart sources on the command line: resolving the selected releases' remote charts (and
//! their unvendored dependencies) before rendering, honouring the state file's lock, `--offline` and
//! `--update-lock`; the commands `deps`, `fetch` and `chart push`.

use std::path::{Path, PathBuf};

use clap::Parser;

use helmfire::error::ReleaseError;
use helmfire::estate::Estate;
use helmfire::resolve::{self, ChartResolution, LockMode, Resolutions};
use helmfire_chart::source::{self, SourceOptions, Sources};

use super::commands::write_stdout;
use super::connect::runtime;
use super::report::ReleaseFailures;
use super::settings::Settings;
use super::{CommandResult, exit};

/// `helmfire deps`: resolve every selected release's remote chart afresh and write the lock.
pub fn deps(settings: &Settings, estate: &Estate) -> CommandResult {
    let releases = estate.selected();
    let results = runtime()?.block_on(resolve::resolve_charts(
        &estate.state,
        &releases,
        &settings.sources,
        LockMode::Refresh,
    ))?;
    report(estate, &releases, results, None)
}

/// `helmfire fetch`: download everything the selected releases need (pinned by the lock), and
/// copy the archives to `output_dir` as `<chart>-<version>.tgz` when given.
pub fn fetch(settings: &Settings, estate: &Estate, output_dir: Option<&Path>) -> CommandResult {
    let releases = estate.selected();
    let results = runtime()?.block_on(resolve::resolve_charts(
        &estate.state,
        &releases,
        &settings.sources,
        LockMode::Use,
    ))?;
    report(estate, &releases, results, output_dir)
}

fn report(estate: &Estate, releases: &[usize], mut results: Resolutions, output_dir: Option<&Path>) -> CommandResult {
    let mut rows = String::new();
    let mut errors = Vec::new();
    for &i in releases {
        let release = estate.release(i);
        match results.remove(&i).map(|result| (result, release.id.to_string())) {
            Some((Ok(resolution), _)) => {
                let ChartResolution {
                    resolved, dependencies, ..
                } = &resolution;
                if let Some(r) = resolved {
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
                    for dep in dependencies.iter().filter(|p| p.is_file()) {
                        let name = helmfire_chart::load(dep)
                            .map(|c| format!("{}-{}.tgz", c.metadata.name, c.metadata.version))
                            .map_err(|e| format!("cannot load `{}`: {e}", dep.display()))?;
                        let data = std::fs::read(dep).map_err(|e| format!("cannot read `{}`: {e}", dep.display()))?;
                        source::cache::write_atomic(&dir.join(name), &data)?;
                    }
                }
            }
            Some((Err(source), release)) => errors.push(std::sync::Arc::new(ReleaseError::Chart { release, source })),
            None => {}
        }
    }
    write_stdout(&rows)?;
    if errors.is_empty() {
        Ok(exit::OK)
    } else {
        Err(Box::new(ReleaseFailures(errors)))
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
    pub fn repository(&self, url: &str, oci: bool) -> helmfire_chart::source::RepositoryConfig {
        use helmfire_chart::source::http::{Credentials, TlsSettings};
        helmfire_chart::source::RepositoryConfig {
            name: url.to_string(),
            url: url.trim_end_matches('/').to_string(),
            oci,
            credentials: self.username.as_ref().map(|username| Credentials {
                username: username.clone(),
                password: helmfire::state::Secret(self.password.clone().unwrap_or_default()),
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
    let created = helmfire_value::time::rfc3339_utc(helmfire_value::time::unix_now());
    let (reference, digest) = runtime
        .block_on(sources.push(data, &args.remote, Some(repo), args.connection.plain_http, &created))
        .map_err(|e| format!("{:#}", helmfire::error::Chain(&e)))?;
    Ok(format!(
        "Pushed: {}\nDigest: {digest}\n",
        reference.trim_start_matches("oci://")
    ))
}
