//! Resolved settings: flags, environment variables and defaults combined, no clap types.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use helmfire::cluster::{DEFAULT_REQUEST_TIMEOUT, Retry, RetryObserver};
use helmfire::converge::LeaseSettings;

use helmfire::graph::NeedsMode;
use helmfire::resolve::SourceSettings;
use helmfire::state::{self, LoadOptions, Selector, StorageDriver};
use helmfire::storage::sql::{self, ConnectionError};
use helmfire::storage::{Driver, StorageSettings, UnknownDriver};

use super::args::{ColorChoice, GlobalArgs};

pub const DEFAULT_CONCURRENCY: usize = 8;

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
    /// `HELM_DRIVER_SQL_CONNECTION_STRING` (a secret: never printed).
    sql_connection: Option<state::Secret>,
    /// How chart sources are reached (`--offline`, `--update-lock`).
    pub sources: SourceSettings,
    /// `--request-timeout`, else `HELMFIRE_REQUEST_TIMEOUT`, else 30 s.
    pub request_timeout: Duration,
    /// With `-v`: prints every retried cluster request.
    pub retries: Option<Arc<dyn RetryObserver>>,
    /// `HELMFIRE_LEASE_DURATION`: how long a release Lease lasts unrenewed (default 30 s), so
    /// how long the locks of a killed run block the next one.
    pub lease_duration: Option<Duration>,
}

/// Prints each retried cluster request on stderr (`-v`): retries are otherwise invisible.
struct PrintRetries;

impl RetryObserver for PrintRetries {
    fn retrying(&self, retry: &Retry<'_>) {
        eprintln!("note: {retry}");
    }
}

/// `HELMFIRE_LEASE_DURATION`: at least a second (the Lease counts whole seconds).
fn lease_duration() -> Result<Option<Duration>, String> {
    let Ok(text) = std::env::var("HELMFIRE_LEASE_DURATION") else {
        return Ok(None);
    };
    match helmfire_value::time::parse_std_duration(&text) {
        Some(duration) if duration >= Duration::from_secs(1) => Ok(Some(duration)),
        _ => Err(format!(
            "invalid HELMFIRE_LEASE_DURATION `{text}`: expected a duration of at least `1s`, such as `30s`"
        )),
    }
}

/// A `--request-timeout` (or `HELMFIRE_REQUEST_TIMEOUT`) value: a positive Go duration.
fn request_timeout(flag: Option<&str>) -> Result<Duration, String> {
    let (text, origin) = match flag {
        Some(text) => (text.to_string(), "--request-timeout"),
        None => match std::env::var("HELMFIRE_REQUEST_TIMEOUT") {
            Ok(text) if !text.is_empty() => (text, "HELMFIRE_REQUEST_TIMEOUT"),
            _ => return Ok(DEFAULT_REQUEST_TIMEOUT),
        },
    };
    match helmfire_value::time::parse_std_duration(&text) {
        Some(duration) if !duration.is_zero() => Ok(duration),
        _ => Err(format!(
            "invalid {origin} `{text}`: expected a positive duration such as `10s` or `2m`"
        )),
    }
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
            sql_connection: std::env::var("HELM_DRIVER_SQL_CONNECTION_STRING")
                .ok()
                .map(state::Secret),
            sources: SourceSettings {
                offline: args.offline,
                update_lock: args.update_lock,
                cache_dir: None,
            },
            request_timeout: request_timeout(args.request_timeout.as_deref())?,
            retries: args.verbose.then(|| Arc::new(PrintRetries) as Arc<dyn RetryObserver>),
            lease_duration: lease_duration()?,
        })
    }

    /// This process's Lease settings.
    pub fn lease(&self) -> LeaseSettings {
        let mut lease = LeaseSettings::default();
        if let Some(duration) = self.lease_duration {
            lease.duration = duration;
        }
        lease
    }

    /// The storage driver `HELM_DRIVER` names, as helm reads it (unset or empty: secrets).
    pub fn driver(&self) -> Result<Driver, UnknownDriver> {
        self.helm_driver.as_deref().unwrap_or("").parse()
    }

    /// Where release records live: the environment's `storage:` when the state file sets one
    /// (`HELM_DRIVER` must then be unset, empty or agree), else `HELM_DRIVER`. For `sql`, the
    /// connection string is the environment's `storage.connection`, else
    /// `HELM_DRIVER_SQL_CONNECTION_STRING` (unset: lib/pq's defaults), read with the `PG*`
    /// variables as helm's driver reads it.
    pub fn storage(&self, from_state: Option<&state::Storage>) -> Result<StorageSettings, StorageSettingsError> {
        let from_env = self.driver()?;
        let env_set = self.helm_driver.as_deref().is_some_and(|d| !d.is_empty());
        let (driver, connection, origin) = match from_state {
            Some(storage) => {
                let driver = match storage.driver {
                    StorageDriver::Secret => Driver::Secret,
                    StorageDriver::ConfigMap => Driver::ConfigMap,
                    StorageDriver::Memory => Driver::Memory,
                    StorageDriver::Sql => Driver::Sql,
                };
                if env_set && from_env != driver {
                    return Err(StorageSettingsError::Conflict {
                        helm_driver: from_env,
                        driver,
                        location: storage.location.to_string(),
                    });
                }
                match &storage.connection {
                    Some(connection) => (driver, Some(connection), ConnectionOrigin::StateFile),
                    None => (driver, self.sql_connection.as_ref(), ConnectionOrigin::Environment),
                }
            }
            None => (from_env, self.sql_connection.as_ref(), ConnectionOrigin::Environment),
        };
        if driver != Driver::Sql {
            return Ok(StorageSettings::driver(driver));
        }
        let text = connection.map_or("", |secret| secret.0.as_str());
        let resolved = sql::connection::resolve(text, &|name| std::env::var(name).ok())
            .map_err(|source| StorageSettingsError::Connection { origin, source })?;
        Ok(StorageSettings {
            driver,
            connection: Some(resolved),
        })
    }
}

/// Where a connection string came from, for its errors.
#[derive(Debug, Clone, Copy)]
pub enum ConnectionOrigin {
    Environment,
    StateFile,
}

impl std::fmt::Display for ConnectionOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ConnectionOrigin::Environment => "`HELM_DRIVER_SQL_CONNECTION_STRING`",
            ConnectionOrigin::StateFile => "the environment's `storage.connection`",
        })
    }
}

/// Why the release storage settings cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum StorageSettingsError {
    #[error(transparent)]
    UnknownDriver(#[from] UnknownDriver),
    #[error("`HELM_DRIVER={helm_driver}` conflicts with `storage.driver: {driver}` at {location}")]
    Conflict {
        helm_driver: Driver,
        driver: Driver,
        location: String,
    },
    #[error("cannot use the sql storage driver's connection string from {origin}")]
    Connection {
        origin: ConnectionOrigin,
        #[source]
        source: ConnectionError,
    },
}
