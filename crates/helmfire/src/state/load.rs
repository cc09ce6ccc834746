//! From a path to a validated [`DesiredState`]: read, parse (YAML or TOML), deserialize, apply
//! templates and defaults, evaluate expressions, and check every name, reference and file.
//!
//! Problems in releases are collected, not stopped at, so `helmfire lint` lists them all.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::de::{self, DeError, Spanned};
use super::error::{Diagnostic, StateError};
use super::expr::{Expressions, InterpolationError, Variables};
use super::model::*;
use super::name::{Namespace, ReleaseId, ReleaseName};
use super::raw::{MissingFileHandler, RawDefaults, RawIgnoreRule, RawRelease, RawState, RawStorage, RawValues};
use super::source::{SourceFile, Span};
use super::suggest::{did_you_mean, hint_for};
use super::{toml, yaml};
use helmfire_template::semver::Constraints;

/// Names of the state file looked for when `--file` is not given, in order.
pub const DEFAULT_FILES: [&str; 3] = ["helmfire.yaml", "helmfire.yml", "helmfire.toml"];

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
const DEFAULT_HISTORY_MAX: u32 = 10;

/// What to load and how.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// The state file; when `None`, [`DEFAULT_FILES`] in the current directory.
    pub file: Option<PathBuf>,
    pub environment: String,
    /// `--kube-context`, which overrides every release's.
    pub kube_context: Option<String>,
}

/// Finds the state file: the given one, else the first default name present in `dir`, else
/// helmfile's defaults (`helmfile.yaml`, `helmfile.yaml.gotmpl`, `helmfile.d/`).
pub fn locate(file: Option<&Path>, dir: &Path) -> Result<PathBuf, StateError> {
    if let Some(file) = file {
        return Ok(file.to_path_buf());
    }
    let candidates: Vec<PathBuf> = DEFAULT_FILES.iter().map(|name| dir.join(name)).collect();
    if let Some(found) = candidates.iter().find(|path| path.is_file()) {
        return Ok(found.clone());
    }
    if let Some(found) = super::helmfile::default_path(dir)? {
        return Ok(found);
    }
    let mut searched: Vec<PathBuf> = DEFAULT_FILES.iter().map(PathBuf::from).collect();
    searched.extend(super::helmfile::DEFAULT_FILES.iter().map(PathBuf::from));
    searched.push(PathBuf::from(format!("{}/", super::helmfile::DEFAULT_DIRECTORY)));
    Err(StateError::NotFound { searched })
}

/// Loads the state file (a helmfire file or a helmfile) into a [`DesiredState`].
pub fn load(options: &LoadOptions) -> Result<DesiredState, StateError> {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let path = locate(options.file.as_deref(), &cwd)?;
    if super::helmfile::is_helmfile(&path) {
        return super::helmfile::load(&super::helmfile::Options {
            path: &path,
            environment: &options.environment,
            kube_context: options.kube_context.as_deref(),
        });
    }
    let text = read_limited(&path)?;
    load_str(&path, text, options)
}

/// How large a state file or an environment values file may be.
pub const MAX_FILE_SIZE: u64 = 32 * 1024 * 1024;

/// Reads a state or values file, refusing more than [`MAX_FILE_SIZE`] bytes without reading
/// them all (the path may be a pipe or a device).
pub(crate) fn read_limited(path: &Path) -> Result<String, StateError> {
    use std::io::Read as _;
    let read_error = |source| StateError::Read {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(StateError::TooLarge {
            path: path.to_path_buf(),
            limit: MAX_FILE_SIZE,
        });
    }
    String::from_utf8(bytes).map_err(|e| read_error(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}

/// Loads a state file whose text is already in memory (tests, benchmarks, stdin).
pub fn load_str(path: &Path, text: String, options: &LoadOptions) -> Result<DesiredState, StateError> {
    let source = SourceFile::new(path, text);
    let root = parse_document(&source)?;
    let raw: RawState = de::from_node(&root, &source.text).map_err(|error| de_diagnostic(&source, error))?;
    let base_dir = path
        .parent()
        .map(Path::to_path_buf)
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("."));
    Loader {
        source: source.clone(),
        base_dir,
        options,
        expressions: Expressions::new(),
        diagnostics: Vec::new(),
        notices: Vec::new(),
        invalid_releases: HashSet::new(),
    }
    .run(raw)
}

fn parse_document(source: &Arc<SourceFile>) -> Result<super::node::Node, StateError> {
    let is_toml = source.path.extension().is_some_and(|ext| ext == "toml");
    if is_toml {
        toml::parse(&source.text).map_err(|error| {
            Diagnostic::new(
                format!("invalid TOML: {}", error.message),
                Some(source.location(error.offset)),
            )
            .into()
        })
    } else {
        yaml::parse(source).map_err(|error| {
            Diagnostic::new(
                format!("invalid YAML: {}", error.message),
                Some(source.location(error.offset)),
            )
            .into()
        })
    }
}

fn de_diagnostic(source: &SourceFile, error: DeError) -> StateError {
    let location = error.span.map(|span| source.span_location(span));
    let mut diagnostic = Diagnostic::new(error.message, location);
    diagnostic.hint = error.hint;
    diagnostic.into()
}

struct Loader<'a> {
    source: Arc<SourceFile>,
    base_dir: PathBuf,
    options: &'a LoadOptions,
    expressions: Expressions,
    diagnostics: Vec<Diagnostic>,
    notices: Vec<Notice>,
    /// Names of releases that failed validation: `needs` on them are not reported again.
    invalid_releases: HashSet<String>,
}

/// The release-independent settings every release starts from.
struct Inherited<'r> {
    defaults: Option<&'r RawDefaults>,
    environment_handler: MissingFileHandler,
    environment_context: Option<String>,
    variables: Variables,
}

impl Loader<'_> {
    fn run(mut self, raw: RawState) -> Result<DesiredState, StateError> {
        let environment = self.environment(&raw)?;
        let repositories = self.repositories(&raw);
        let environment_handler = raw
            .environments
            .get(&environment.name)
            .and_then(|e| e.value.missing_file_handler)
            .unwrap_or_default();
        let inherited = Inherited {
            defaults: raw.defaults.as_ref().map(|d| &d.value),
            environment_handler,
            environment_context: environment.kube_context.clone(),
            variables: Variables {
                environment: Expressions::to_dynamic(&serde_json::json!({
                    "name": environment.name,
                    "values": environment.values,
                })),
                release: None,
            },
        };

        let mut releases = Vec::new();
        let mut pending_needs = Vec::new();
        for raw_release in &raw.releases {
            if let Some((release, needs)) = self.release(raw_release, &raw, &repositories, &inherited) {
                releases.push(release);
                pending_needs.push(needs);
            } else if let Some(name) = raw_release.value.name.as_ref() {
                self.invalid_releases.insert(name.value.clone());
            }
        }
        // Several clusters in one file: ids carry the context, so the same namespace/name may
        // live in each.
        let contexts: std::collections::BTreeSet<Option<&String>> =
            releases.iter().map(|release| release.kube_context.as_ref()).collect();
        if contexts.len() > 1 {
            for release in &mut releases {
                release.id.context = release.kube_context.clone();
            }
        }
        self.check_duplicates(&releases);
        self.resolve_needs(&mut releases, pending_needs);

        if !self.diagnostics.is_empty() {
            return Err(StateError::Invalid(self.diagnostics));
        }
        Ok(DesiredState {
            path: self.source.path.clone(),
            base_dir: self.base_dir,
            environment,
            repositories,
            releases,
            notices: self.notices,
        })
    }

    fn location(&self, span: Span) -> super::source::Location {
        self.source.span_location(span)
    }

    fn error(&mut self, message: impl Into<String>, span: Span) -> &mut Diagnostic {
        let location = self.location(span);
        self.diagnostics.push(Diagnostic::new(message, Some(location)));
        self.diagnostics.last_mut().expect("just pushed")
    }

    fn resolve_path(&self, path: &str) -> PathBuf {
        let path = Path::new(path);
        let joined = if path.is_absolute() {
            path.to_path_buf()
        } else {
            self.base_dir.join(path)
        };
        normalize(&joined)
    }

    // ---- environment -------------------------------------------------------------------------

    fn environment(&mut self, raw: &RawState) -> Result<Environment, StateError> {
        let name = self.options.environment.clone();
        let Some(spec) = raw.environments.get(&name) else {
            if name == "default" {
                return Ok(Environment {
                    name,
                    values: serde_json::json!({}),
                    kube_context: None,
                    storage: None,
                });
            }
            let mut diagnostic = Diagnostic::new(
                format!("unknown environment `{name}` in `{}`", self.source.path.display()),
                None,
            );
            let defined: Vec<&str> = raw.environments.keys().map(String::as_str).collect();
            diagnostic.hint = Some(if defined.is_empty() {
                "the state file defines no `environments`".to_string()
            } else {
                hint_for(&name, &defined, "defined environments:")
            });
            return Err(diagnostic.into());
        };
        let handler = spec.value.missing_file_handler.unwrap_or_default();
        let mut values = serde_json::Value::Object(serde_json::Map::new());
        for entry in &spec.value.values {
            let layer = match &entry.value {
                RawValues::Inline(map) => serde_json::Value::Object(map.clone()),
                RawValues::File(file) => {
                    let path = self.resolve_path(file);
                    if !path.is_file() {
                        self.missing_file(&path, handler, entry.span, "environment values file");
                        continue;
                    }
                    self.read_values_file(&path)?
                }
            };
            merge_json(&mut values, layer);
        }
        let kube_context = spec.value.kube_context.as_ref().map(|c| c.value.clone());
        let storage = spec
            .value
            .storage
            .as_ref()
            .and_then(|storage| self.storage(storage, &name, &values));
        if !self.diagnostics.is_empty() {
            return Err(StateError::Invalid(std::mem::take(&mut self.diagnostics)));
        }
        Ok(Environment {
            name,
            values,
            kube_context,
            storage,
        })
    }

    /// An environment's `storage:`: a `connection` only for `sql`, its expressions evaluated
    /// (they see `env` and `environment`) and its syntax checked as helm's driver parses it.
    /// Messages never quote the connection string.
    fn storage(
        &mut self,
        storage: &Spanned<RawStorage>,
        environment: &str,
        values: &serde_json::Value,
    ) -> Option<Storage> {
        let driver = storage.value.driver.value;
        let connection = match &storage.value.connection {
            None => None,
            Some(field) if driver != StorageDriver::Sql => {
                let location = self.location(field.span).masked();
                self.diagnostics.push(
                    Diagnostic::new(
                        format!("environment `{environment}`: `storage.connection` applies only to `driver: sql`"),
                        Some(location),
                    )
                    .with_hint("remove `connection`, or set `driver: sql`"),
                );
                return None;
            }
            Some(field) => {
                let variables = Variables {
                    environment: Expressions::to_dynamic(&serde_json::json!({
                        "name": environment,
                        "values": values,
                    })),
                    release: None,
                };
                let text = self.interpolate(field, &variables)?;
                // The one lib/pq parser (storage's); only the syntax is checked here, the
                // `PG*` environment and the server come when the store is opened.
                if let Err(error) = crate::storage::sql::connection::check(&text) {
                    // The snippet points at the value without showing it.
                    let location = self.location(field.span).masked();
                    self.diagnostics.push(
                        Diagnostic::new(
                            format!("environment `{environment}`: invalid `storage.connection`: {error}"),
                            Some(location),
                        )
                        .with_hint(
                            "a `postgres://user@host:port/db?sslmode=…` URL or libpq `key=value` pairs, as for HELM_DRIVER_SQL_CONNECTION_STRING",
                        ),
                    );
                    return None;
                }
                Some(Secret(text))
            }
        };
        Some(Storage {
            driver,
            connection,
            location: self.location(storage.span),
        })
    }

    /// Reads an environment values file (YAML, JSON or TOML) with located syntax errors.
    fn read_values_file(&self, path: &Path) -> Result<serde_json::Value, StateError> {
        let text = read_limited(path)?;
        let source = SourceFile::new(path, text);
        let node = parse_document(&source)?;
        let value: serde_json::Value =
            de::from_node(&node, &source.text).map_err(|error| de_diagnostic(&source, error))?;
        if !value.is_object() {
            return Err(Diagnostic::new(
                format!("a values file must hold a map, found {}", node.type_name()),
                Some(source.span_location(node.span)),
            )
            .into());
        }
        Ok(value)
    }

    fn missing_file(&mut self, path: &Path, handler: MissingFileHandler, span: Span, what: &str) {
        let message = format!("{what} `{}` does not exist", path.display());
        match handler {
            MissingFileHandler::Error => {
                self.error(message, span).hint = Some(
                    "paths are relative to the state file; set `missingFileHandler: Warn` to skip missing files".into(),
                );
            }
            MissingFileHandler::Warn => self.notices.push(Notice {
                level: NoticeLevel::Warning,
                message: format!("{message}; skipped"),
            }),
            MissingFileHandler::Info => self.notices.push(Notice {
                level: NoticeLevel::Info,
                message: format!("{message}; skipped"),
            }),
        }
    }

    // ---- repositories ------------------------------------------------------------------------

    fn repositories(&mut self, raw: &RawState) -> Vec<Repository> {
        let mut repositories: Vec<Repository> = Vec::new();
        let mut seen: HashMap<String, Span> = HashMap::new();
        for entry in &raw.repositories {
            let repo = &entry.value;
            let Some(name) = &repo.name else {
                self.error("repository has no `name`", entry.span);
                continue;
            };
            let Some(url) = &repo.url else {
                self.error(format!("repository `{}` has no `url`", name.value), entry.span);
                continue;
            };
            if let Some(first) = seen.get(&name.value) {
                let note = self.location(*first);
                self.error(format!("duplicate repository `{}`", name.value), name.span)
                    .notes
                    .push((note, "first defined here".into()));
                continue;
            }
            seen.insert(name.value.clone(), name.span);
            let kind = if url.value.starts_with("oci://") {
                RepositoryKind::Oci
            } else if url.value.starts_with("https://") || url.value.starts_with("http://") {
                RepositoryKind::Http
            } else if let Some(scheme) = helmfire_chart::source::getter::plugin_scheme(&url.value) {
                // An index repository served by a helm getter plugin (`s3://…`).
                match helmfire_chart::source::getter::getter_for(scheme) {
                    Ok(Some(_)) => RepositoryKind::Http,
                    Ok(None) => {
                        self.error(format!("no getter plugin serves `{scheme}://` URLs"), url.span).hint = Some(
                            "expected `https://…` for a chart repository, `oci://…` for a registry, or a scheme a helm getter plugin serves (installed where helm finds plugins, `$HELM_PLUGINS`)"
                                .into(),
                        );
                        continue;
                    }
                    Err(e) => {
                        self.error(format!("the getter plugins cannot be loaded: {e}"), url.span);
                        continue;
                    }
                }
            } else {
                self.error(format!("invalid repository url `{}`", url.value), url.span)
                    .hint = Some("expected `https://…` for a chart repository or `oci://…` for a registry".into());
                continue;
            };
            if repo.plain_http && kind != RepositoryKind::Oci {
                self.error(
                    format!(
                        "repository `{}`: `plainHttp` applies only to `oci://` registries",
                        name.value
                    ),
                    url.span,
                )
                .hint = Some("write the URL as `http://…` for a plain-HTTP chart repository".into());
                continue;
            }
            let file = |f: &Option<Spanned<String>>| f.as_ref().map(|f| self.resolve_path(&f.value));
            repositories.push(Repository {
                name: name.value.clone(),
                url: url.value.trim_end_matches('/').to_string(),
                kind,
                username: repo.username.as_ref().map(|u| u.value.clone()),
                password: repo.password.as_ref().map(|p| Secret(p.value.clone())),
                ca_file: file(&repo.ca_file),
                cert_file: file(&repo.cert_file),
                key_file: file(&repo.key_file),
                insecure_skip_tls_verify: repo.insecure_skip_tls_verify,
                pass_credentials: repo.pass_credentials,
                plain_http: repo.plain_http,
            });
        }
        repositories
    }

    // ---- releases ----------------------------------------------------------------------------

    /// Validates one release; `None` when it had errors (already recorded).
    fn release(
        &mut self,
        entry: &Spanned<RawRelease>,
        raw: &RawState,
        repositories: &[Repository],
        inherited: &Inherited<'_>,
    ) -> Option<(ReleaseSpec, Vec<Spanned<String>>)> {
        let errors_before = self.diagnostics.len();
        let release = self.apply_templates(entry, raw)?;
        let defaults = inherited.defaults;

        let Some(name_field) = &release.name else {
            self.error("release has no `name`", entry.span);
            return None;
        };
        let name_text = self.interpolate(name_field, &inherited.variables)?;
        let name = match ReleaseName::parse(&name_text) {
            Ok(name) => name,
            Err(message) => {
                self.error(message, name_field.span);
                return None;
            }
        };
        let namespace_field = release
            .namespace
            .as_ref()
            .or(defaults.and_then(|d| d.namespace.as_ref()));
        let namespace_text = match namespace_field {
            Some(field) => self.interpolate(field, &inherited.variables)?,
            None => "default".to_string(),
        };
        let namespace = match Namespace::parse(&namespace_text) {
            Ok(namespace) => namespace,
            Err(message) => {
                self.error(message, namespace_field.map_or(name_field.span, |f| f.span));
                return None;
            }
        };

        let mut labels = BTreeMap::new();
        let label_sources = defaults.map(|d| &d.labels).into_iter().chain(release.labels.as_ref());
        for source in label_sources {
            for (key, value) in source {
                let value = self.interpolate(value, &inherited.variables)?;
                labels.insert(key.clone(), value);
            }
        }
        let release_scope = serde_json::json!({
            "name": name.as_str(),
            "namespace": namespace.as_str(),
            "labels": labels,
        });
        let variables = Variables {
            release: Some(Expressions::to_dynamic(&release_scope)),
            ..inherited.variables.clone()
        };
        let id = ReleaseId {
            context: None,
            namespace,
            name,
        };

        let Some(chart_field) = &release.chart else {
            self.error(format!("release `{id}` has no `chart`"), entry.span).hint =
                Some("set `chart:` to `./path`, `repository/chart` or `oci://host/path/chart`".into());
            return None;
        };
        let chart_text = self.interpolate(chart_field, &variables)?;
        let chart = self.chart(&chart_text, chart_field.span, repositories);

        let version = match &release.version {
            Some(field) => {
                let text = self.interpolate(field, &variables)?;
                // helm trims `--version`, and an empty one means the newest release.
                match Constraints::parse(&text) {
                    _ if text.trim().is_empty() => None,
                    Ok(constraint) => Some(constraint),
                    Err(e) => {
                        self.error(format!("invalid version constraint `{text}`: {e}"), field.span)
                            .hint = Some(
                            "use a version (`1.2.3`) or a constraint such as `^1.2`, `~1.2.3` or `>=1, <2`".into(),
                        );
                        None
                    }
                }
            }
            None => None,
        };

        let handler = release
            .missing_file_handler
            .or(defaults.and_then(|d| d.missing_file_handler))
            .unwrap_or(inherited.environment_handler);
        let mut values = Vec::new();
        for entry in release.values.iter().flatten() {
            match &entry.value {
                RawValues::File(file) => {
                    let file = self.interpolate(&Spanned::new(file.clone(), entry.span), &variables)?;
                    let path = self.resolve_path(&file);
                    if path.is_file() {
                        values.push(ValuesSource::File(path));
                    } else {
                        self.missing_file(&path, handler, entry.span, "values file");
                    }
                }
                RawValues::Inline(map) => {
                    let mut map = serde_json::Value::Object(map.clone());
                    self.interpolate_json(&mut map, entry.span, &variables)?;
                    if let serde_json::Value::Object(map) = map {
                        values.push(ValuesSource::Inline(map));
                    }
                }
            }
        }
        let mut set = Vec::new();
        for (path, value) in release.set.iter().flatten() {
            let mut resolved = value.value.clone();
            self.interpolate_json(&mut resolved, value.span, &variables)?;
            self.check_set(
                &id,
                "set",
                &super::model::set_json_line(path, &resolved),
                path,
                value.span,
                true,
            );
            set.push((path.clone(), resolved));
        }
        let mut set_string = Vec::new();
        for (path, value) in release.set_string.iter().flatten() {
            let resolved = self.interpolate(value, &variables)?;
            let line = super::model::set_string_line(path, &resolved);
            self.check_set(&id, "setString", &line, path, value.span, false);
            set_string.push((path.clone(), resolved));
        }

        let mut installed = release.installed.unwrap_or(true);
        if let Some(condition) = &release.condition {
            match self.expressions.condition(&condition.value, &variables) {
                Ok(enabled) => installed &= enabled,
                Err(error) => {
                    let location = self.location(condition.span);
                    self.diagnostics.push(Diagnostic::new(
                        format!("condition of release `{id}` failed: {}", error.message),
                        Some(location),
                    ));
                    return None;
                }
            }
        }

        let kube_context = match self.options.kube_context.clone() {
            Some(context) => Some(context),
            None => match release
                .kube_context
                .as_ref()
                .or(defaults.and_then(|d| d.kube_context.as_ref()))
            {
                Some(field) => Some(self.interpolate(field, &variables)?),
                None => inherited.environment_context.clone(),
            },
        };
        let timeout = release
            .timeout
            .as_ref()
            .or(defaults.and_then(|d| d.timeout.as_ref()))
            .map_or(DEFAULT_TIMEOUT, |t| t.value.0);
        let flag = |own: Option<bool>, default: Option<bool>, fallback: bool| own.or(default).unwrap_or(fallback);
        let ignore_differences = defaults
            .and_then(|d| d.ignore_differences.as_ref())
            .into_iter()
            .chain(release.ignore_differences.as_ref())
            .flatten()
            .map(|rule| self.ignore_rule(rule))
            .collect();
        let post_renderer_items: Vec<_> = defaults
            .and_then(|d| d.post_renderers.as_ref())
            .into_iter()
            .chain(release.post_renderers.as_ref())
            .flatten()
            .collect();
        let post_renderers = super::post_render::steps(&post_renderer_items, self);

        if self.diagnostics.len() > errors_before {
            return None;
        }
        let spec = ReleaseSpec {
            chart_text,
            chart: chart?,
            version,
            values,
            set,
            set_string,
            needs: Vec::new(),
            labels,
            installed,
            create_namespace: flag(
                release.create_namespace,
                defaults.and_then(|d| d.create_namespace),
                true,
            ),
            wait: flag(release.wait, defaults.and_then(|d| d.wait), false),
            wait_for_jobs: flag(release.wait_for_jobs, defaults.and_then(|d| d.wait_for_jobs), false),
            timeout,
            atomic: flag(release.atomic, defaults.and_then(|d| d.atomic), false),
            history_max: release
                .history_max
                .or(defaults.and_then(|d| d.history_max))
                .unwrap_or(DEFAULT_HISTORY_MAX),
            disable_hooks: flag(release.disable_hooks, defaults.and_then(|d| d.disable_hooks), false),
            skip_crds: flag(release.skip_crds, defaults.and_then(|d| d.skip_crds), false),
            cleanup_on_fail: flag(release.cleanup_on_fail, defaults.and_then(|d| d.cleanup_on_fail), false),
            take_ownership: flag(release.take_ownership, defaults.and_then(|d| d.take_ownership), false),
            server_side: release.server_side.or(defaults.and_then(|d| d.server_side)),
            force_conflicts: flag(release.force_conflicts, defaults.and_then(|d| d.force_conflicts), false),
            drift_correction: flag(
                release.drift_correction,
                defaults.and_then(|d| d.drift_correction),
                false,
            ),
            ignore_differences,
            post_renderers,
            kube_context,
            location: self.location(name_field.span),
            id,
        };
        let needs = release.needs.clone().unwrap_or_default();
        Some((spec, needs))
    }

    /// The release with its `inherit` templates applied in order; its own fields win.
    fn apply_templates(&mut self, entry: &Spanned<RawRelease>, raw: &RawState) -> Option<RawRelease> {
        let Some(names) = &entry.value.inherit else {
            return Some(entry.value.clone());
        };
        let mut merged = RawRelease::default();
        for name in names {
            let Some(template) = raw.templates.get(&name.value) else {
                let defined: Vec<&str> = raw.templates.keys().map(String::as_str).collect();
                let hint = if defined.is_empty() {
                    "the state file defines no `templates`".to_string()
                } else {
                    hint_for(&name.value, &defined, "defined templates:")
                };
                self.error(format!("unknown template `{}`", name.value), name.span).hint = Some(hint);
                return None;
            };
            if let Some(nested) = &template.value.inherit {
                let span = nested.first().map_or(template.span, |n| n.span);
                self.error(
                    format!("template `{}` uses `inherit`, which only releases may use", name.value),
                    span,
                );
                return None;
            }
            merged = overlay(merged, &template.value);
        }
        Some(overlay(merged, &entry.value))
    }

    fn chart(&mut self, text: &str, span: Span, repositories: &[Repository]) -> Option<ChartRef> {
        if text.starts_with("oci://") {
            if text.len() <= "oci://".len() || text.ends_with('/') {
                self.error(format!("invalid OCI chart reference `{text}`"), span).hint =
                    Some("expected `oci://host/path/chart`".into());
                return None;
            }
            return Some(ChartRef::Oci(text.to_string()));
        }
        let looks_local = text.starts_with("./")
            || text.starts_with("../")
            || text.starts_with('/')
            || text == "."
            || text.ends_with(".tgz");
        if looks_local || (!text.contains('/') && self.resolve_path(text).is_dir()) {
            let path = self.resolve_path(text);
            let is_chart = path.join("Chart.yaml").is_file() || (path.is_file() && text.ends_with(".tgz"));
            if !is_chart {
                let why = if path.exists() {
                    "has no Chart.yaml"
                } else {
                    "does not exist"
                };
                self.error(format!("local chart `{text}` {why}"), span).hint = Some(format!(
                    "resolved to `{}`; local chart paths are relative to the state file",
                    path.display()
                ));
                return None;
            }
            return Some(ChartRef::Local(path));
        }
        match text.split_once('/') {
            Some((repository, chart)) if !chart.is_empty() && !chart.contains('/') => {
                if repositories.iter().any(|r| r.name == repository) {
                    return Some(ChartRef::Repository {
                        repository: repository.to_string(),
                        chart: chart.to_string(),
                    });
                }
                let hint = match did_you_mean(repository, repositories.iter().map(|r| r.name.as_str())) {
                    Some(suggestion) => format!("did you mean `{suggestion}/{chart}`?"),
                    None => "add it under `repositories:`, or write a local path as `./path`".to_string(),
                };
                self.error(format!("chart `{text}` names unknown repository `{repository}`"), span)
                    .hint = Some(hint);
                None
            }
            _ => {
                self.error(format!("invalid chart `{text}`"), span).hint =
                    Some("expected `./local/path`, `repository/chart` or `oci://host/path/chart`".into());
                None
            }
        }
    }

    /// An ignore rule, its JSON pointers checked (a malformed one is an error at its location).
    fn ignore_rule(&mut self, rule: &Spanned<RawIgnoreRule>) -> IgnoreRule {
        let rule = &rule.value;
        let mut json_pointers = Vec::new();
        for pointer in rule.json_pointers.iter().flatten() {
            if valid_json_pointer(&pointer.value) {
                json_pointers.push(pointer.value.clone());
            } else {
                self.error(
                    format!("`{}` is not a JSON pointer", pointer.value),
                    pointer.span,
                )
                .hint = Some(
                    "a JSON pointer (RFC 6901) starts with `/` and writes `~` as `~0` and `/` inside a key as `~1`, e.g. `/metadata/labels/app.kubernetes.io~1name`"
                        .into(),
                );
            }
        }
        IgnoreRule {
            group: rule.group.clone(),
            kind: rule.kind.clone(),
            name: rule.name.clone(),
            namespace: rule.namespace.clone(),
            json_pointers,
            managed_fields_managers: rule.managed_fields_managers.clone().unwrap_or_default(),
        }
    }

    /// Evaluates `${{ }}` in a field; on error, records it at the failing expression.
    /// Reports a `set`/`setString` entry helm's parser refuses, at its value (keys carry no
    /// span of their own); the release is still built so that other problems are found too.
    fn check_set(&mut self, id: &ReleaseId, field: &str, line: &str, key: &str, span: Span, json: bool) {
        if let Err(reason) = super::model::check_set_line(line, json) {
            self.error(
                format!("invalid `{field}` key `{key}` in release `{id}`: {reason}"),
                span,
            )
            .hint = Some(format!(
                "`{field}` keys are dotted paths as for helm's --set: `a.b`, `list[0].name`, `a\\.b` for a literal dot"
            ));
        }
    }

    fn interpolate(&mut self, field: &Spanned<String>, variables: &Variables) -> Option<String> {
        match self.expressions.interpolate(&field.value, variables) {
            Ok(text) => Some(text),
            Err(error) => {
                self.expression_error(field.span, error);
                None
            }
        }
    }

    fn interpolate_json(&mut self, value: &mut serde_json::Value, span: Span, variables: &Variables) -> Option<()> {
        match value {
            serde_json::Value::String(text) => {
                *text = self.interpolate(&Spanned::new(std::mem::take(text), span), variables)?;
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    self.interpolate_json(item, span, variables)?;
                }
            }
            serde_json::Value::Object(map) => {
                for item in map.values_mut() {
                    self.interpolate_json(item, span, variables)?;
                }
            }
            _ => {}
        }
        Some(())
    }

    /// Points at the `${{` that failed: the n-th one inside the field's source text.
    fn expression_error(&mut self, span: Span, error: InterpolationError) {
        let raw = self.source.text.get(span.start..span.end).unwrap_or("");
        let offset = raw
            .match_indices("${{")
            .nth(error.occurrence)
            .map_or(span.start, |(i, _)| span.start + i);
        let mut location = self.source.location(offset);
        if let Some((1, column)) = error.error.position {
            location.column += 3 + column - 1;
        }
        location.length = 1;
        self.diagnostics.push(Diagnostic::new(
            format!("expression failed: {}", error.error.message),
            Some(location),
        ));
    }

    // ---- whole-file checks -------------------------------------------------------------------

    fn check_duplicates(&mut self, releases: &[ReleaseSpec]) {
        let mut seen: HashMap<&ReleaseId, &ReleaseSpec> = HashMap::new();
        for release in releases {
            if let Some(first) = seen.get(&release.id) {
                self.diagnostics.push(
                    Diagnostic::new(
                        format!("duplicate release `{}`", release.id),
                        Some(release.location.clone()),
                    )
                    .with_note(first.location.clone(), "first defined here")
                    .with_hint(
                        "a release is identified by namespace and name; rename one or move it to another namespace",
                    ),
                );
            } else {
                seen.insert(&release.id, release);
            }
        }
    }

    /// Turns `needs` entries (`name`, `namespace/name` or `context/namespace/name`) into release
    /// ids; a name or `namespace/name` found in several places resolves to the one in the
    /// release's own context (and namespace), else it is ambiguous.
    fn resolve_needs(&mut self, releases: &mut [ReleaseSpec], pending: Vec<Vec<Spanned<String>>>) {
        let mut by_name: HashMap<&str, Vec<&ReleaseId>> = HashMap::new();
        for release in releases.iter() {
            by_name.entry(release.id.name.as_str()).or_default().push(&release.id);
        }
        let all_ids: Vec<String> = releases.iter().map(|r| r.id.to_string()).collect();
        let several_contexts = releases.iter().any(|release| release.id.context.is_some());
        let mut resolved_all = Vec::with_capacity(releases.len());
        for (release, needs) in releases.iter().zip(pending) {
            let mut resolved: Vec<ReleaseId> = Vec::new();
            for need in needs {
                let text = need.value.trim();
                let parts: Vec<&str> = text.split('/').collect();
                let named = by_name.get(parts[parts.len() - 1]).cloned().unwrap_or_default();
                let candidates: Vec<&ReleaseId> = match parts.as_slice() {
                    [_] => narrowest(&release.id, named),
                    [namespace, _] => narrowest(
                        &release.id,
                        named
                            .into_iter()
                            .filter(|id| id.namespace.as_str() == *namespace)
                            .collect(),
                    ),
                    [context, namespace, _] => named
                        .into_iter()
                        .filter(|id| id.context.as_deref() == Some(*context) && id.namespace.as_str() == *namespace)
                        .collect(),
                    _ => Vec::new(),
                };
                match candidates.as_slice() {
                    [id] if **id == release.id => {
                        self.error(format!("release `{}` needs itself", release.id), need.span);
                    }
                    [id] => {
                        if !resolved.contains(id) {
                            resolved.push((*id).clone());
                        }
                    }
                    [] if self.invalid_releases.contains(text.rsplit('/').next().unwrap_or(text)) => {
                        // Already reported: the release it names is invalid.
                    }
                    [] => {
                        let hint =
                            match did_you_mean(text, all_ids.iter().map(String::as_str).chain(by_name.keys().copied()))
                            {
                                Some(suggestion) => format!("did you mean `{suggestion}`?"),
                                None if several_contexts => "`needs` takes `name`, `namespace/name` or `context/namespace/name` of a release in this file".to_string(),
                                None => "`needs` takes `name` or `namespace/name` of a release in this file".to_string(),
                            };
                        self.error(
                            format!("release `{}` needs unknown release `{text}`", release.id),
                            need.span,
                        )
                        .hint = Some(hint);
                    }
                    several => {
                        let options = several
                            .iter()
                            .map(|id| format!("`{id}`"))
                            .collect::<Vec<_>>()
                            .join(", ");
                        self.error(
                            format!("`needs: {text}` of release `{}` is ambiguous", release.id),
                            need.span,
                        )
                        .hint = Some(if several_contexts {
                            format!(
                                "write `namespace/name`, or `context/namespace/name` across clusters: one of {options}"
                            )
                        } else {
                            format!("write `namespace/name`: one of {options}")
                        });
                    }
                }
            }
            resolved_all.push(resolved);
        }
        for (release, needs) in releases.iter_mut().zip(resolved_all) {
            release.needs = needs;
        }
    }
}

/// Of the releases a `needs` entry names, the narrowest match for the release that needs them:
/// the one in its context and namespace, else the one in its context, else all of them.
fn narrowest<'a>(needing: &ReleaseId, ids: Vec<&'a ReleaseId>) -> Vec<&'a ReleaseId> {
    let in_context: Vec<&ReleaseId> = ids.iter().copied().filter(|id| id.context == needing.context).collect();
    let in_namespace: Vec<&ReleaseId> = in_context
        .iter()
        .copied()
        .filter(|id| id.namespace == needing.namespace)
        .collect();
    if in_namespace.len() == 1 {
        in_namespace
    } else if in_context.len() == 1 {
        in_context
    } else {
        ids
    }
}

/// `over`'s fields on top of `base`: scalars replace, maps merge, lists append.
fn overlay(base: RawRelease, over: &RawRelease) -> RawRelease {
    fn append<T: Clone>(base: Option<Vec<T>>, over: &Option<Vec<T>>) -> Option<Vec<T>> {
        match (base, over) {
            (Some(mut base), Some(over)) => {
                base.extend(over.iter().cloned());
                Some(base)
            }
            (base, over) => over.clone().or(base),
        }
    }
    fn merge<V: Clone>(
        base: Option<BTreeMap<String, V>>,
        over: &Option<BTreeMap<String, V>>,
    ) -> Option<BTreeMap<String, V>> {
        match (base, over) {
            (Some(mut base), Some(over)) => {
                base.extend(over.iter().map(|(k, v)| (k.clone(), v.clone())));
                Some(base)
            }
            (base, over) => over.clone().or(base),
        }
    }
    RawRelease {
        name: over.name.clone().or(base.name),
        namespace: over.namespace.clone().or(base.namespace),
        chart: over.chart.clone().or(base.chart),
        version: over.version.clone().or(base.version),
        values: append(base.values, &over.values),
        set: merge(base.set, &over.set),
        set_string: merge(base.set_string, &over.set_string),
        needs: append(base.needs, &over.needs),
        labels: merge(base.labels, &over.labels),
        installed: over.installed.or(base.installed),
        condition: over.condition.clone().or(base.condition),
        create_namespace: over.create_namespace.or(base.create_namespace),
        wait: over.wait.or(base.wait),
        wait_for_jobs: over.wait_for_jobs.or(base.wait_for_jobs),
        timeout: over.timeout.clone().or(base.timeout),
        atomic: over.atomic.or(base.atomic),
        history_max: over.history_max.or(base.history_max),
        disable_hooks: over.disable_hooks.or(base.disable_hooks),
        skip_crds: over.skip_crds.or(base.skip_crds),
        cleanup_on_fail: over.cleanup_on_fail.or(base.cleanup_on_fail),
        take_ownership: over.take_ownership.or(base.take_ownership),
        server_side: over.server_side.or(base.server_side),
        force_conflicts: over.force_conflicts.or(base.force_conflicts),
        kube_context: over.kube_context.clone().or(base.kube_context),
        missing_file_handler: over.missing_file_handler.or(base.missing_file_handler),
        inherit: None,
        drift_correction: over.drift_correction.or(base.drift_correction),
        ignore_differences: append(base.ignore_differences, &over.ignore_differences),
        post_renderers: append(base.post_renderers, &over.post_renderers),
    }
}

/// Deep merge of environment values: maps merge, everything else is replaced.
fn merge_json(base: &mut serde_json::Value, layer: serde_json::Value) {
    match (base, layer) {
        (serde_json::Value::Object(base), serde_json::Value::Object(layer)) => {
            for (key, value) in layer {
                match base.get_mut(&key) {
                    Some(existing) => merge_json(existing, value),
                    None => {
                        base.insert(key, value);
                    }
                }
            }
        }
        (base, layer) => *base = layer,
    }
}

/// Removes `.` and resolves `..` lexically, so messages show `dir/charts/web`, not `dir/./charts/web`.
fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

impl super::post_render::Context for Loader<'_> {
    fn error(&mut self, message: String, span: Span) -> &mut Diagnostic {
        Loader::error(self, message, span)
    }

    fn location(&self, span: Span) -> super::source::Location {
        Loader::location(self, span)
    }

    fn base_dir(&self) -> &Path {
        &self.base_dir
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_yaml(text: &str) -> Result<DesiredState, StateError> {
        let options = LoadOptions {
            environment: "default".into(),
            ..Default::default()
        };
        load_str(Path::new("/nonexistent/dir/helmfire.yaml"), text.to_string(), &options)
    }

    const REPO: &str = "repositories: [{name: r, url: 'https://charts.example.com'}]\n";

    /// `version:` goes through the semver that selects chart versions, so the state file
    /// accepts exactly what resolution (and helm) accepts.
    #[test]
    fn versions_are_checked_by_the_resolution_semver() {
        let version = |v: &str| {
            load_yaml(&format!("{REPO}releases:\n- {{name: a, chart: r/a, version: '{v}'}}\n"))
                .map(|s| s.releases[0].version.as_ref().map(|c| c.as_str().to_string()))
                .map_err(|e| e.to_string())
        };
        assert_eq!(version("1.x.3"), Ok(Some("1.x.3".into())));
        assert_eq!(version(">=01.2"), Ok(Some(">=01.2".into())));
        // helm trims `--version`; an empty one means the newest release.
        assert_eq!(version(""), Ok(None));
        assert_eq!(version("  "), Ok(None));
        assert_eq!(
            version(">=1.2,"),
            Err("invalid version constraint `>=1.2,`: improper constraint: >=1.2,".into())
        );
        assert_eq!(
            version("1.2.3-01"),
            Err("invalid version constraint `1.2.3-01`: constraint parser error".into())
        );
    }

    #[test]
    fn templates_merge_maps_append_lists_and_release_fields_win() {
        let text = format!(
            "{REPO}templates:\n  base:\n    chart: r/base\n    labels: {{a: '1', b: '1'}}\n    values: [{{x: 1}}]\n    wait: true\n\
             \x20 extra:\n    labels: {{c: '1'}}\n    needs: [db]\n\
             releases:\n- {{name: db, chart: r/db}}\n\
             - name: api\n  inherit: [base, extra]\n  labels: {{b: '2'}}\n  values: [{{y: 2}}]\n  wait: false\n"
        );
        let state = load_yaml(&text).unwrap();
        let api = &state.releases[1];
        assert_eq!(
            api.chart,
            ChartRef::Repository {
                repository: "r".into(),
                chart: "base".into()
            }
        );
        let labels: Vec<(&str, &str)> = api.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(labels, [("a", "1"), ("b", "2"), ("c", "1")]);
        assert_eq!(api.values.len(), 2, "template values first, then the release's");
        assert!(!api.wait);
        assert_eq!(api.needs[0].to_string(), "default/db");
    }

    #[test]
    fn defaults_apply_and_releases_override_them() {
        let text = format!(
            "{REPO}defaults: {{namespace: apps, timeout: 90, historyMax: 3, atomic: true, labels: {{team: x}}}}\n\
             releases:\n- {{name: a, chart: r/a}}\n- {{name: b, chart: r/b, namespace: other, timeout: 1m30s, atomic: false}}\n"
        );
        let state = load_yaml(&text).unwrap();
        let (a, b) = (&state.releases[0], &state.releases[1]);
        assert_eq!(a.id.to_string(), "apps/a");
        assert_eq!(a.timeout, Duration::from_secs(90));
        assert_eq!((a.history_max, a.atomic, a.create_namespace), (3, true, true));
        assert_eq!(b.id.to_string(), "other/b");
        assert_eq!(b.timeout, Duration::from_secs(90));
        assert!(!b.atomic);
        assert_eq!(b.labels["team"], "x");
    }

    #[test]
    fn helm_action_flags_come_from_defaults_templates_and_releases() {
        let text = format!(
            "{REPO}defaults: {{takeOwnership: true, serverSide: false, skipCrds: true}}\n\
             templates:\n  quiet: {{disableHooks: true, forceConflicts: true}}\n\
             releases:\n\
             - {{name: a, chart: r/a}}\n\
             - {{name: b, chart: r/b, inherit: [quiet], takeOwnership: false, serverSide: true, cleanupOnFail: true}}\n"
        );
        let state = load_yaml(&text).unwrap();
        let (a, b) = (&state.releases[0], &state.releases[1]);
        assert!(a.take_ownership && a.skip_crds && !a.disable_hooks && !a.force_conflicts && !a.cleanup_on_fail);
        assert_eq!(a.server_side, Some(false));
        assert!(!b.take_ownership && b.skip_crds && b.disable_hooks && b.force_conflicts && b.cleanup_on_fail);
        assert_eq!(b.server_side, Some(true));
        let plain = load_yaml(&format!("{REPO}releases:\n- {{name: c, chart: r/c}}\n")).unwrap();
        let c = &plain.releases[0];
        assert!(!c.take_ownership && !c.skip_crds && !c.disable_hooks && !c.force_conflicts);
        assert_eq!(c.server_side, None);
    }

    #[test]
    fn helmfiles_spelling_of_insecure_skip_tls_verify_is_accepted() {
        for key in ["insecureSkipTlsVerify", "insecureSkipTLSVerify"] {
            let text =
                format!("repositories:\n- {{name: r, url: 'https://charts.example.com', {key}: true}}\nreleases: []\n");
            let state = load_yaml(&text).unwrap();
            assert!(state.repositories[0].insecure_skip_tls_verify, "{key}");
        }
    }

    #[test]
    fn expressions_see_release_and_environment() {
        let text = format!(
            "{REPO}releases:\n- name: web\n  namespace: front\n  chart: r/${{{{ release.name }}}}\n  labels: {{tier: edge}}\n\
             \x20 set: {{host: '${{{{ release.namespace }}}}-${{{{ release.labels.tier }}}}.${{{{ environment.name }}}}'}}\n"
        );
        let state = load_yaml(&text).unwrap();
        let web = &state.releases[0];
        assert_eq!(web.chart_text, "r/web");
        assert_eq!(web.set, [("host".to_string(), serde_json::json!("front-edge.default"))]);
    }

    #[test]
    fn an_environment_names_its_storage_and_its_connection_stays_secret() {
        let text = format!(
            "environments:\n  default:\n    values: [{{db: releases}}]\n    storage:\n      driver: sql\n      connection: 'host=h dbname=${{{{ environment.values.db }}}} password=${{{{ env_or(\"NO_SUCH_VAR_X\", \"pw\") }}}}'\n{REPO}releases: []\n"
        );
        let state = load_yaml(&text).unwrap();
        let storage = state.environment.storage.expect("storage");
        assert_eq!(storage.driver, StorageDriver::Sql);
        let connection = storage.connection.expect("connection");
        assert_eq!(connection.0, "host=h dbname=releases password=pw");
        assert_eq!(format!("{connection:?}"), "***");
        assert_eq!(storage.location.line, 5, "the mapping under `storage:`");
        let text = format!("environments:\n  default:\n    storage: {{driver: configmaps}}\n{REPO}releases: []\n");
        let storage = load_yaml(&text).unwrap().environment.storage.expect("storage");
        assert_eq!(
            (storage.driver, storage.connection.is_none()),
            (StorageDriver::ConfigMap, true)
        );
    }

    #[test]
    fn a_false_condition_means_not_installed() {
        let text =
            format!("{REPO}releases:\n- {{name: a, chart: r/a, condition: 'environment.name != \"default\"'}}\n");
        assert!(!load_yaml(&text).unwrap().releases[0].installed);
    }

    #[test]
    fn bare_needs_prefer_the_same_namespace_and_report_ambiguity() {
        let text = format!(
            "{REPO}releases:\n- {{name: db, namespace: a, chart: r/x}}\n- {{name: db, namespace: b, chart: r/x}}\n\
             - {{name: api, namespace: a, chart: r/x, needs: [db]}}\n- {{name: web, namespace: c, chart: r/x, needs: [db]}}\n"
        );
        let Err(StateError::Invalid(errors)) = load_yaml(&text) else {
            panic!("expected an ambiguity error")
        };
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].message, "`needs: db` of release `c/web` is ambiguous");
        assert_eq!(
            errors[0].hint.as_deref(),
            Some("write `namespace/name`: one of `a/db`, `b/db`")
        );
    }

    #[test]
    fn releases_of_several_contexts_carry_them_in_their_ids_and_needs() {
        let text = format!(
            "{REPO}releases:\n\
             - {{name: cert-manager, namespace: infra, chart: r/x, kubeContext: mgmt}}\n\
             - {{name: cert-manager, namespace: infra, chart: r/x, kubeContext: work}}\n\
             - {{name: agent, namespace: infra, chart: r/x, kubeContext: work, needs: [cert-manager, mgmt/infra/cert-manager]}}\n"
        );
        let state = load_yaml(&text).expect("loads");
        let ids: Vec<String> = state.releases.iter().map(|r| r.id.to_string()).collect();
        assert_eq!(
            ids,
            ["mgmt/infra/cert-manager", "work/infra/cert-manager", "work/infra/agent"]
        );
        let needs: Vec<String> = state.releases[2].needs.iter().map(ToString::to_string).collect();
        assert_eq!(needs, ["work/infra/cert-manager", "mgmt/infra/cert-manager"]);
        // One context: ids stay `namespace/name`.
        let single = load_yaml(&format!(
            "{REPO}releases:\n- {{name: a, chart: r/x, kubeContext: one}}\n"
        ))
        .expect("loads");
        assert_eq!(single.releases[0].id.to_string(), "default/a");
    }

    #[test]
    fn a_need_found_in_several_other_contexts_is_ambiguous() {
        let text = format!(
            "{REPO}releases:\n\
             - {{name: db, namespace: data, chart: r/x, kubeContext: east}}\n\
             - {{name: db, namespace: data, chart: r/x, kubeContext: west}}\n\
             - {{name: api, namespace: data, chart: r/x, needs: [data/db]}}\n"
        );
        let Err(StateError::Invalid(errors)) = load_yaml(&text) else {
            panic!("expected an ambiguity error")
        };
        assert_eq!(errors[0].message, "`needs: data/db` of release `data/api` is ambiguous");
        assert_eq!(
            errors[0].hint.as_deref(),
            Some(
                "write `namespace/name`, or `context/namespace/name` across clusters: one of `east/data/db`, `west/data/db`"
            )
        );
        let duplicate = format!(
            "{REPO}releases:\n- {{name: db, chart: r/x, kubeContext: east}}\n- {{name: db, chart: r/x, kubeContext: east}}\n- {{name: x, chart: r/x}}\n"
        );
        let Err(StateError::Invalid(errors)) = load_yaml(&duplicate) else {
            panic!("expected a duplicate")
        };
        assert_eq!(errors[0].message, "duplicate release `east/default/db`");
    }
}
