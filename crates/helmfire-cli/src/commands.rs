//! Command functions: take resolved settings, call the library, print results.

use std::io::Write;

use clap::CommandFactory;

use helmfire::estate::{self, Estate, RenderSettings};
use helmfire::graph::{self, GraphFormat};
use helmfire::render::OutputOptions;
use helmfire::state::{self, NoticeLevel, StateError};
use helmfire::storage::StorageSettings;

use super::args::{Cli, Command, GraphOutput, ListFormat};
use super::report::Painter;
use super::report::ReleaseFailures;
use super::settings::Settings;
use super::status;
use super::template;
use super::{CommandResult, exit};

pub fn run(command: Command, settings: &Settings, painter: &Painter) -> CommandResult {
    if settings.sandbox.is_some()
        && !matches!(
            command,
            Command::Apply { .. }
                | Command::Diff { .. }
                | Command::Destroy { .. }
                | Command::Template { .. }
                | Command::Status(_)
                | Command::History(_)
                | Command::Rollback(_)
                | Command::Drift { .. }
        )
    {
        return Err(
            "`--sandbox` works with `apply`, `diff`, `drift`, `destroy`, `status`, `history`, `rollback` and `template` only"
                .into(),
        );
    }
    if settings.environments.len() > 1 && !matches!(command, Command::Import { .. }) {
        return Err("`-e/--environment` is given several times; only `import` takes several environments".into());
    }
    match command {
        Command::Import { helmfile, toml } => import(settings, helmfile, toml),
        Command::Lint => lint(settings, painter),
        Command::List { output } => list(settings, painter, output),
        Command::Graph { output } => graph_command(settings, painter, output),
        Command::Template {
            output_dir,
            kube_version,
            api_versions,
            include_crds,
            skip_tests,
        } => {
            let render = RenderSettings {
                kube_version,
                api_versions,
                workers: 0,
            };
            let output = OutputOptions {
                skip_tests,
                ..Default::default()
            };
            template_command(settings, painter, render, output, include_crds, output_dir)
        }
        Command::Deps => super::sources::deps(settings, &load_selected(settings, painter)?),
        Command::Fetch { output_dir } => {
            super::sources::fetch(settings, &load_selected(settings, painter)?, output_dir.as_deref())
        }
        // `chart template` is dispatched before clap (it takes helm's flags); anything else is a mistake.
        Command::Chart { args } => Err(match args.first() {
            Some(other) if other != "--help" && other != "-h" => {
                format!("unknown command `chart {other}`; available: `chart template RELEASE CHART [flags]`, `chart push CHART.tgz oci://…`").into()
            }
            _ => "usage: helmfire chart template RELEASE CHART [flags] (see `helmfire chart template --help`)".into(),
        }),
        Command::Status(args) => match args.release {
            Some(release) => {
                let target = release_target(settings, painter, release, args.namespace)?;
                status::status_one(settings, target, args.output)
            }
            None => {
                status::status_all(settings, &load_selected(settings, painter)?, args.output)
            }
        },
        Command::History(args) => {
            let target = release_target(settings, painter, args.release, args.namespace)?;
            status::history(settings, target, args.output, args.max)
        }
        Command::Schema => {
            let schema = serde_json::to_string_pretty(&state::json_schema())?;
            write_stdout(&format!("{schema}\n"))
        }
        Command::Sandbox(args) => super::sandbox::run(&args, settings),
        Command::Diff { plan } => super::deploy::diff(settings, &load_selected(settings, painter)?, &plan),
        Command::Apply { plan, dry_run, force } => {
            super::deploy::apply(settings, &load_selected(settings, painter)?, &plan, dry_run, force)
        }
        Command::Destroy { yes } => super::deploy::destroy(settings, &load_selected(settings, painter)?, yes),
        Command::Drift { output, all, events } => {
            let request = super::drift::DriftRequest { output, events };
            if all {
                super::drift::drift(settings, None, &request)
            } else {
                super::drift::drift(settings, Some(&load_selected(settings, painter)?), &request)
            }
        }
        Command::Completion { shell } => {
            let mut buffer = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "helmfire", &mut buffer);
            std::io::stdout().lock().write_all(&buffer)?;
            Ok(exit::OK)
        }
        Command::Version => write_stdout(&format!("helmfire {}\n", env!("CARGO_PKG_VERSION"))),
        Command::Rollback(args) => {
            let target = release_target(settings, painter, args.release.clone(), args.namespace.clone())?;
            super::rollback::run(&args, target, settings)
        }
    }
}

/// Writes command output (data) to stdout.
pub(super) fn write_stdout(text: &str) -> CommandResult {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes())?;
    stdout.flush()?;
    Ok(exit::OK)
}

/// The state file loaded, the selection made and the graph built (what most commands start
/// from); its notices printed unless `-q`.
fn load_selected(settings: &Settings, painter: &Painter) -> Result<Estate, StateError> {
    let estate = Estate::load(&settings.load, &settings.selector, settings.needs)?;
    if !settings.quiet {
        for notice in &estate.state.notices {
            let label = match notice.level {
                NoticeLevel::Warning => painter.warning_label(),
                NoticeLevel::Info => painter.note_label(),
            };
            eprintln!("{label}: {}", notice.message);
        }
    }
    Ok(estate)
}

/// `helmfire import`: the helmfile written as a native state file on stdout.
fn import(settings: &Settings, helmfile: Option<std::path::PathBuf>, toml: bool) -> CommandResult {
    use helmfire::state::helmfile::import::{Format, ImportOptions};
    let cwd = std::env::current_dir()?;
    let path = match helmfile.or_else(|| settings.load.file.clone()) {
        Some(path) => path,
        None => state::helmfile::default_path(&cwd)?.ok_or(
            "no helmfile found: give its path (`helmfire import helmfile.yaml`), or run in a directory with helmfile.yaml, helmfile.yaml.gotmpl or helmfile.d/",
        )?,
    };
    let text = state::helmfile::import::import(&ImportOptions {
        path: &path,
        environments: settings.environments.clone(),
        format: if toml { Format::Toml } else { Format::Yaml },
        relative_to: cwd,
    })?;
    write_stdout(&text)
}

fn lint(settings: &Settings, painter: &Painter) -> CommandResult {
    let selected = load_selected(settings, painter)?;
    if settings.verbose {
        for index in selected.graph.topological_order() {
            let release = &selected.state.releases[index];
            let context = release.kube_context.as_deref().unwrap_or("(current context)");
            eprintln!(
                "  {} chart={} values={} installed={} context={context}",
                release.id,
                release.chart,
                release.values.len(),
                release.installed
            );
        }
    }
    if !settings.quiet {
        let total = selected.state.releases.len();
        let count = selected.graph.len();
        let what = if count == total {
            format!("{total} releases")
        } else {
            format!("{count} of {total} releases")
        };
        eprintln!(
            "ok: `{}` is valid ({what}, environment `{}`)",
            selected.state.path.display(),
            selected.state.environment.name
        );
    }
    Ok(exit::OK)
}

fn list(settings: &Settings, painter: &Painter, format: ListFormat) -> CommandResult {
    let Estate { state, graph } = load_selected(settings, painter)?;
    let rows: Vec<&state::ReleaseSpec> = graph.releases().into_iter().map(|i| &state.releases[i]).collect();
    match format {
        ListFormat::Json => {
            let items: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id.to_string(),
                        "context": r.kube_context,
                        "name": r.id.name.as_str(),
                        "namespace": r.id.namespace.as_str(),
                        "chart": r.chart_text,
                        "version": r.version.as_ref().map(|v| v.as_str()),
                        "installed": r.installed,
                        "needs": r.needs.iter().map(ToString::to_string).collect::<Vec<_>>(),
                        "labels": r.labels,
                    })
                })
                .collect();
            write_stdout(&format!("{}\n", serde_json::to_string_pretty(&items)?))
        }
        ListFormat::Table => {
            let header = ["ID", "CHART", "VERSION", "INSTALLED", "NEEDS", "LABELS"]
                .map(String::from)
                .to_vec();
            let mut table = vec![header];
            for r in rows {
                table.push(vec![
                    r.id.to_string(),
                    r.chart_text.clone(),
                    r.version.as_ref().map_or_else(String::new, |v| v.to_string()),
                    r.installed.to_string(),
                    r.needs.iter().map(ToString::to_string).collect::<Vec<_>>().join(","),
                    r.labels
                        .iter()
                        .map(|(k, v)| format!("{k}={v}"))
                        .collect::<Vec<_>>()
                        .join(","),
                ]);
            }
            write_stdout(&format_table(&table))
        }
    }
}

fn graph_command(settings: &Settings, painter: &Painter, output: GraphOutput) -> CommandResult {
    let Estate { state, graph } = load_selected(settings, painter)?;
    let format = match output {
        GraphOutput::Text => GraphFormat::Text,
        GraphOutput::Dot => GraphFormat::Dot,
        GraphOutput::Mermaid => GraphFormat::Mermaid,
        GraphOutput::Json => GraphFormat::Json,
    };
    write_stdout(&graph::render(&state.releases, &graph, format))
}

/// Left-aligned columns separated by three spaces, like `helm list`.
pub(super) fn format_table(rows: &[Vec<String>]) -> String {
    let columns = rows.first().map_or(0, Vec::len);
    let widths: Vec<usize> = (0..columns)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for row in rows {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(line.join("   ").trim_end());
        out.push('\n');
    }
    out
}

/// `helmfire template`: every selected release rendered (concurrently, one worker per core),
/// printed in state-file order. With `--sandbox`, `.Capabilities.KubeVersion` is the sandbox's,
/// as for apply.
fn template_command(
    settings: &Settings,
    painter: &Painter,
    mut render: RenderSettings,
    output: OutputOptions,
    include_crds: bool,
    output_dir: Option<std::path::PathBuf>,
) -> CommandResult {
    let estate = load_selected(settings, painter)?;
    if render.kube_version.is_none() && settings.sandbox.is_some() {
        // Only the sandbox's version is wanted: no release storage is opened (memory).
        let storage = helmfire::storage::StorageSettings::driver(helmfire::storage::Driver::Memory);
        render.kube_version =
            super::connect::with_target(settings, None, &storage, async |target| Ok(target.kube_version.clone()))?;
    }
    let rendered = super::connect::runtime()?.block_on(estate::render_releases(&estate, &settings.sources, &render))?;
    let mut stdout = String::new();
    let mut errors = Vec::new();
    for (index, result) in rendered {
        let release = estate.release(index);
        match result {
            Ok(rendered) => {
                let mut output = output.clone();
                if include_crds {
                    match rendered.crds() {
                        Ok(crds) => output.crds = crds,
                        Err(source) => {
                            errors.push(std::sync::Arc::new(helmfire::error::ReleaseError::Render {
                                release: release.id.to_string(),
                                source,
                            }));
                            continue;
                        }
                    }
                }
                let text = match &output_dir {
                    Some(dir) => {
                        let dir = dir
                            .join(release.id.namespace.to_string())
                            .join(release.id.name.to_string());
                        template::write_output_dir(&dir, &rendered.sorted, &output)
                    }
                    None => helmfire::render::template_output(&rendered.sorted, &output).map_err(|e| e.to_string()),
                };
                match text {
                    Ok(text) => stdout.push_str(&text),
                    Err(message) => errors.push(std::sync::Arc::new(helmfire::error::ReleaseError::Internal {
                        release: release.id.to_string(),
                        message,
                    })),
                }
            }
            Err(error) => errors.push(std::sync::Arc::new(error)),
        }
    }
    write_stdout(&stdout)?;
    if errors.is_empty() {
        return Ok(exit::OK);
    }
    Err(Box::new(ReleaseFailures(errors)))
}

/// A release to look up: its name, its namespace (`None`: the context's namespace), the
/// kubeconfig context it lives in (`None`: the current context) and where its records are.
#[derive(Clone, Debug)]
pub struct ReleaseTarget {
    pub name: String,
    pub namespace: Option<String>,
    pub context: Option<String>,
    pub storage: StorageSettings,
}

/// Where RELEASE lives: `--namespace`, else the state file's release of that name (when there
/// is a state file), else the kubeconfig context's namespace. Its records are where the state
/// file's environment keeps them (`storage:`), else where `HELM_DRIVER` says.
pub(super) fn release_target(
    settings: &Settings,
    painter: &Painter,
    name: String,
    namespace: Option<String>,
) -> Result<ReleaseTarget, Box<dyn std::error::Error + Send + Sync>> {
    let has_state_file = settings.load.file.is_some()
        || state::DEFAULT_FILES
            .iter()
            .any(|file| std::path::Path::new(file).is_file());
    if !has_state_file {
        return Ok(ReleaseTarget {
            name,
            namespace,
            context: None,
            storage: settings.storage(None)?,
        });
    }
    let Estate { state, .. } = load_selected(settings, painter)?;
    let storage = settings.storage(state.environment.storage.as_ref())?;
    if namespace.is_some() {
        return Ok(ReleaseTarget {
            name,
            namespace,
            context: None,
            storage,
        });
    }
    let matches: Vec<&state::ReleaseSpec> = state.releases.iter().filter(|r| r.id.name.as_str() == name).collect();
    match matches.as_slice() {
        [release] => Ok(ReleaseTarget {
            name,
            namespace: Some(release.id.namespace.as_str().to_string()),
            context: release.kube_context.clone(),
            storage,
        }),
        [] => Ok(ReleaseTarget {
            name,
            namespace: None,
            context: None,
            storage,
        }),
        several => {
            let namespaces: Vec<&str> = several.iter().map(|r| r.id.namespace.as_str()).collect();
            Err(format!(
                "release `{name}` is in several namespaces of the state file ({}); pass --namespace",
                namespaces.join(", ")
            )
            .into())
        }
    }
}
