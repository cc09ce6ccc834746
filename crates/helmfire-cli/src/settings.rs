//! Resolved settings: flags, environment variables and defaults combined, no clap types.

use std::io::IsTerminal;
use std::path::PathBuf;

use helmfire::graph::NeedsMode;
use helmfire::resolve::SourceSettings;
use helmfire::state::{LoadOptions, Selector};
use helmfire::storage::{Driver, UnknownDriver};

use super::args::{ColorChoice, GlobalArgs};

pub const DEFAULT_CONCURRENCY: usize = 8;

#[derive(Debug)]
pub struct Settings {
    pub load: LoadOptions,
    /// Every `-e` given, in order (only `import` takes more than one).
    pub environments: Vec<String>,
    pub selector: Selector,
    pub needs: NeedsMode,
    /// `--kubeconfig`, else `$KUBECONFIG` (kube's own lookup when neither is set).
    pub kubeconfig: Option<PathBuf>,
    /// Releases worked on at once.
    pub concurrency: usize,
    /// Colours on stderr.
    pub color: bool,
    pub quiet: bool,
    pub verbose: bool,
    /// `--sandbox[=DIR]`: the embedded sandbox's state directory.
    pub sandbox: Option<PathBuf>,
    /// Whether stderr is a terminal (progress bars, confirmation prompts).
    pub terminal: bool,
    /// Colours in data written to stdout (diffs): `--color always`, or auto on a terminal.
    pub stdout_color: bool,
    /// `HELM_DRIVER`, the one place it is read: where release records live.
    helm_driver: Option<String>,
    /// How chart sources are reached (`--offline`, `--update-lock`).
    pub sources: SourceSettings,
}

impl Settings {
    pub fn resolve(args: &GlobalArgs) -> Result<Settings, String> {
        let selector = Selector::parse(&args.selector)?;
        let needs = if args.skip_needs {
            NeedsMode::Skip
        } else if args.include_transitive_needs {
            NeedsMode::IncludeTransitive
        } else if args.include_needs {
            NeedsMode::IncludeDirect
        } else {
            NeedsMode::Strict
        };
        let color = match args.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        };
        Ok(Settings {
            load: LoadOptions {
                file: args.file.clone(),
                environment: args.environment.last().cloned().unwrap_or_else(|| "default".into()),
                kube_context: args.kube_context.clone(),
            },
            environments: args.environment.clone(),
            selector,
            needs,
            kubeconfig: args
                .kubeconfig
                .clone()
                .or_else(|| std::env::var_os("KUBECONFIG").map(PathBuf::from)),
            concurrency: args.concurrency.map_or(DEFAULT_CONCURRENCY, usize::from),
            color,
            quiet: args.quiet,
            verbose: args.verbose,
            sandbox: args.sandbox.clone(),
            terminal: std::io::stderr().is_terminal(),
            stdout_color: match args.color {
                ColorChoice::Always => true,
                ColorChoice::Never => false,
                ColorChoice::Auto => std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            },
            helm_driver: std::env::var("HELM_DRIVER").ok(),
            sources: SourceSettings {
                offline: args.offline,
                update_lock: args.update_lock,
                cache_dir: None,
            },
        })
    }

    /// The storage driver `HELM_DRIVER` names, as helm reads it (unset or empty: secrets).
    pub fn driver(&self) -> Result<Driver, UnknownDriver> {
        self.helm_driver.as_deref().unwrap_or("").parse()
    }
}
