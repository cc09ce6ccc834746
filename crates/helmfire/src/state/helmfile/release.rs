//! From loaded helmfile states to helmfire releases: helmfile's second stage
//! (`state_exec_tmpl.go`: `inherit`, defaults, `{{ .Release.* }}` in release fields, iterated to a
//! fixed point), its overrides and `needs` ids, then each release checked and mapped onto a
//! [`ReleaseSpec`] — or refused, at the key, when helmfire cannot do what it asks.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use helmfire_value::{Map, MapRef, MapType, Value};

use super::env::map_value;
use super::files;
use super::loader::{Loader, parent, template_diagnostic};
use super::raw::{INHERIT, Merge, RawHelmfile, RawRelease, RawSetValue, Scalar};
use super::template::{Pass, RenderError};
use crate::state::de::Spanned;
use crate::state::error::{Diagnostic, StateError};
use crate::state::model::{
    ChartRef, Notice, NoticeLevel, ReleaseSpec, Repository, RepositoryKind, Secret, ValuesSource,
};
use crate::state::name::{Namespace, ReleaseId, ReleaseName};
use crate::state::source::{SourceFile, Span};
use helmfire_template::semver::Constraints;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
const DEFAULT_HISTORY_MAX: u32 = 10;

/// Where a release's values came from, for `helmfire import`'s comments.
#[derive(Clone, Debug, PartialEq)]
pub enum ValuesOrigin {
    /// A values file passed to helm as it is.
    File(PathBuf),
    /// A `.gotmpl` values file, rendered.
    Rendered(PathBuf),
    /// An inline map (or a rendered `valuesTemplate` entry).
    Inline,
}

/// What helmfire knows about a release beyond its [`ReleaseSpec`].
#[derive(Clone, Debug)]
pub struct ReleaseOrigin {
    /// The state file that declared it.
    pub state_file: PathBuf,
    /// One per entry of `spec.values`.
    pub values: Vec<ValuesOrigin>,
    /// Things a reader of an imported file should know (hooks not run, namespace defaulted, …).
    pub notes: Vec<String>,
    /// The helmfile `condition` that enabled it, if any.
    pub condition: Option<String>,
}

/// The converted estate: releases in helmfile's visiting order, with their origins.
pub(super) struct Converted {
    pub releases: Vec<ReleaseSpec>,
    pub origins: Vec<ReleaseOrigin>,
    pub repositories: Vec<Repository>,
    /// Releases left out because their `condition` is false (helmfile skips them).
    pub disabled: Vec<String>,
}

/// A release after helmfile's second stage, with the state it belongs to.
struct Templated {
    state: usize,
    release: Spanned<RawRelease>,
}

pub(super) fn convert(loader: &mut Loader, kube_context: Option<&str>) -> Result<Converted, StateError> {
    let mut diagnostics = Vec::new();
    let repositories = repositories(loader, &mut diagnostics);
    let mut templated = Vec::new();
    for index in 0..loader.states.len() {
        match execute_templates(loader, index) {
            Ok(releases) => templated.extend(releases.into_iter().map(|release| Templated { state: index, release })),
            Err(diagnostic) => diagnostics.push(*diagnostic),
        }
    }
    if !diagnostics.is_empty() {
        return Err(StateError::Invalid(diagnostics));
    }
    let mut converter = Converter {
        loader,
        repositories: &repositories,
        kube_context,
        diagnostics: Vec::new(),
        notes: Vec::new(),
    };
    let mut releases = Vec::new();
    let mut origins = Vec::new();
    let mut pending = Vec::new();
    let mut disabled = Vec::new();
    for item in &templated {
        let state = &converter.loader.states[item.state];
        let mut release = item.release.clone();
        if let Some(selectors) = &state.selectors
            && !selectors.is_empty()
        {
            if !selectors
                .iter()
                .any(|s| selector_matches(s, &release.value, &state.spec))
            {
                continue;
            }
            // helmfile's selection writes the implicit labels into the release's own labels,
            // and `helmfile list` shows them; so does helmfire.
            for (key, value) in implicit_labels(&release.value) {
                release.value.labels.insert(key, Spanned::new(value, release.span));
            }
        }
        let release = &release;
        match condition_enabled(&release.value, &state.rendered_values) {
            Ok(true) => {}
            Ok(false) => {
                disabled.push(release.value.name.text().to_string());
                continue;
            }
            Err(message) => {
                let span = release.value.condition.spanned().map_or(release.span, |c| c.span);
                converter.diagnostics.push(converter.loader_located(span, message));
                continue;
            }
        }
        if let Some((spec, origin, needs)) = converter.release(item.state, release) {
            releases.push(spec);
            origins.push(origin);
            pending.push(needs);
        }
    }
    // Several clusters: ids carry the context, as in helmfire's own files (helmfile's release
    // ids are `[context/][namespace/]name` too).
    let contexts: HashSet<Option<&String>> = releases.iter().map(|release| release.kube_context.as_ref()).collect();
    if contexts.len() > 1 {
        for release in &mut releases {
            release.id.context = release.kube_context.clone();
        }
    }
    converter.check_duplicates(&releases);
    converter.resolve_needs(&mut releases, pending, &disabled);
    let notes = std::mem::take(&mut converter.notes);
    if !converter.diagnostics.is_empty() {
        return Err(StateError::Invalid(converter.diagnostics));
    }
    loader.notices.extend(notes);
    Ok(Converted {
        releases,
        origins,
        repositories,
        disabled,
    })
}

/// Every state's repositories, once each (helm's repository list is shared by all states).
fn repositories(loader: &Loader, diagnostics: &mut Vec<Diagnostic>) -> Vec<Repository> {
    let mut out: Vec<Repository> = Vec::new();
    let mut seen: HashMap<String, Span> = HashMap::new();
    for state in &loader.states {
        for entry in &state.spec.repositories {
            let repo = &entry.value;
            let located = |message: String| Diagnostic::new(message, Some(loader.sources.location(entry.span)));
            let Some(name) = repo.name.get().cloned() else {
                diagnostics.push(located("repository has no `name`".into()));
                continue;
            };
            let Some(url) = repo.url.get().cloned() else {
                diagnostics.push(located(format!("repository `{name}` has no `url`")));
                continue;
            };
            if repo.verify.is_true() || !repo.keyring.is_empty() {
                diagnostics.push(
                    located(format!("repository `{name}`: chart signature verification (`verify`, `keyring`) is not supported by helmfire"))
                        .with_hint("remove `verify`/`keyring`; pin chart versions (helmfire.lock records their digests) instead"),
                );
                continue;
            }
            let (kind, url) = if repo.oci.is_true() {
                let bare = url.trim_start_matches("oci://");
                (RepositoryKind::Oci, format!("oci://{}", bare.trim_end_matches('/')))
            } else if url.starts_with("oci://") {
                (RepositoryKind::Oci, url.trim_end_matches('/').to_string())
            } else if url.starts_with("https://") || url.starts_with("http://") {
                (RepositoryKind::Http, url.trim_end_matches('/').to_string())
            } else {
                diagnostics.push(
                    located(format!("invalid repository url `{url}`"))
                        .with_hint("expected `https://…`, or a registry host with `oci: true`"),
                );
                continue;
            };
            if let Some(first) = seen.get(&name) {
                if let Some(existing) = out.iter().find(|r| r.name == name)
                    && existing.url != url
                {
                    diagnostics.push(
                        located(format!("repository `{name}` is declared twice with different URLs"))
                            .with_note(loader.sources.location(*first), "first declared here"),
                    );
                }
                continue;
            }
            seen.insert(name.clone(), entry.span);
            let (username, password) = credentials(&name, repo.username.text(), repo.password.text());
            let file = |f: &Scalar<String>| f.get().map(|f| files::join(&state.base_dir, f));
            out.push(Repository {
                name,
                url,
                kind,
                username,
                password: password.map(Secret),
                ca_file: file(&repo.ca_file),
                cert_file: file(&repo.cert_file),
                key_file: file(&repo.key_file),
                insecure_skip_tls_verify: repo.skip_tls_verify.is_true(),
                pass_credentials: repo.pass_credentials.is_true(),
                plain_http: false,
            });
        }
    }
    out
}

/// helmfile's `gatherUsernamePassword`: empty credentials come from `<NAME>_USERNAME` and
/// `<NAME>_PASSWORD` (name upper-cased, `-` and `.` as `_`).
fn credentials(name: &str, username: &str, password: &str) -> (Option<String>, Option<String>) {
    let prefix: String = name
        .chars()
        .map(|c| {
            if c == '-' || c == '.' {
                '_'
            } else {
                c.to_ascii_uppercase()
            }
        })
        .collect();
    let pick = |given: &str, suffix: &str| {
        if given.is_empty() {
            std::env::var(format!("{prefix}_{suffix}"))
                .ok()
                .filter(|v| !v.is_empty())
        } else {
            Some(given.to_string())
        }
    };
    (pick(username, "USERNAME"), pick(password, "PASSWORD"))
}

/// `ExecuteTemplates` + `GetReleasesWithOverrides` for one state.
fn execute_templates(loader: &mut Loader, index: usize) -> Result<Vec<Spanned<RawRelease>>, Box<Diagnostic>> {
    let state = &loader.states[index];
    let spec = &state.spec;
    let environment = state.env.template_value();
    let values = map_value(state.rendered_values.clone());
    let installed_names: HashMap<String, bool> = spec
        .releases
        .iter()
        .map(|r| (r.value.name.text().to_string(), r.value.installed.get().unwrap_or(true)))
        .collect();
    let mut out = Vec::new();
    for entry in &spec.releases {
        let mut release = inherit(loader, index, &entry.value, entry.span, &mut Vec::new())?;
        if release.kube_context.is_empty() {
            release.kube_context = spec.helm_defaults.kube_context.clone();
        }
        for (key, value) in &spec.common_labels {
            release.labels.insert(key.clone(), value.clone());
        }
        if release.api_versions.is_empty() {
            release.api_versions = spec.api_versions.clone();
        }
        if release.kube_version.is_empty() {
            release.kube_version = spec.kube_version.clone();
        }
        let state = &loader.states[index];
        let mut previous = release.clone();
        let mut done = None;
        for _ in 0..6 {
            let data = release_data(&environment, &values, &previous, &state.spec);
            let current = render_release(loader, index, &release, &data, entry.span)?;
            if fingerprint(&current) == fingerprint(&previous) {
                done = Some(current);
                break;
            }
            previous = current;
        }
        let Some(mut release) = done else {
            return Err(located(
                loader,
                entry.span,
                format!(
                    "failed executing templates in release `{}`: recursive references can't be resolved",
                    entry.value.name.text()
                ),
            )
            .into());
        };
        bool_templates(loader, &mut release)?;
        let state = &loader.states[index];
        if let Some(context) = state.spec.kube_context.spanned() {
            release.kube_context = Scalar(Some(context.clone()));
        }
        if let Some(namespace) = state.spec.namespace.spanned() {
            release.namespace = Scalar(Some(namespace.clone()));
        }
        if let Some(chart) = state.spec.chart.spanned() {
            release.chart = Scalar(Some(chart.clone()));
        }
        for need in &mut release.needs {
            let name = need.value.rsplit('/').next().unwrap_or("").to_string();
            if installed_names.get(&name) == Some(&false) {
                loader.notices.push(Notice {
                    level: NoticeLevel::Warning,
                    message: format!(
                        "release `{}` needs `{name}`, but `{name}` is not installed due to `installed: false`",
                        release.name.text()
                    ),
                });
            }
            need.value = canonical_need(&need.value, release.namespace.text(), release.kube_context.text());
        }
        if release.chart.is_empty() {
            return Err(located(
                loader,
                entry.span,
                format!(
                    "encountered empty chart while reading release `{}`",
                    release.name.text()
                ),
            )
            .into());
        }
        out.push(Spanned::new(release, entry.span));
    }
    Ok(out)
}

fn located(loader: &Loader, span: Span, message: String) -> Diagnostic {
    Diagnostic::new(message, Some(loader.sources.location(span)))
}

/// `releaseWithInheritedTemplate`: templates first (each resolved recursively, `except`
/// applied), the release over them.
fn inherit(
    loader: &Loader,
    index: usize,
    release: &RawRelease,
    span: Span,
    path: &mut Vec<String>,
) -> Result<RawRelease, Box<Diagnostic>> {
    let templates = &loader.states[index].spec.templates;
    let mut merged = RawRelease::default();
    for item in &release.inherit.0 {
        let Some(name) = item.value.template.get() else {
            return Ok(release.clone());
        };
        let here = if item.span == Span::default() { span } else { item.span };
        if path.contains(name) {
            path.push(name.clone());
            return Err(located(
                loader,
                here,
                format!("cyclic inheritance detected: {}", path.join("->")),
            )
            .into());
        }
        let Some(template) = templates.get(name) else {
            let defined: Vec<&str> = templates.keys().map(String::as_str).collect();
            return Err(located(
                loader,
                here,
                format!(
                    "release `{}` tried to inherit inexistent release template `{name}`",
                    release.name.text()
                ),
            )
            .with_hint(crate::state::suggest::hint_for(name, &defined, "defined templates:"))
            .into());
        };
        path.push(name.clone());
        let mut source = inherit(loader, index, &template.value, template.span, path)?;
        path.pop();
        for except in &item.value.except {
            match except.value.as_str() {
                "labels" => source.labels.clear(),
                "values" => source.values.clear(),
                "valuesTemplate" => source.values_template.clear(),
                "setTemplate" => source.set_template.clear(),
                "set" => source.set.clear(),
                "secrets" => source.secrets.clear(),
                other => {
                    return Err(located(
                        loader,
                        except.span,
                        format!(
                            "`{other}` is not allowed under `inherit`: allowed are set, setTemplate, values, valuesTemplate, secrets and labels"
                        ),
                    ).into());
                }
            }
        }
        merged.mergo(source, INHERIT);
    }
    merged.mergo(release.clone(), INHERIT);
    merged.inherit = Default::default();
    Ok(merged)
}

/// `releaseTemplateData`.
fn release_data(environment: &Value, values: &Value, release: &RawRelease, spec: &RawHelmfile) -> Value {
    let labels: Map = release
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.value.as_str())))
        .collect();
    let mut info = Map::new();
    info.insert("Name".into(), Value::from(release.name.text()));
    info.insert("Namespace".into(), Value::from(release.namespace.text()));
    info.insert("Labels".into(), Value::Map(MapRef::new(labels), MapType::String));
    info.insert("Chart".into(), Value::from(release.chart.text()));
    info.insert("KubeContext".into(), Value::from(release.kube_context.text()));
    let mut data = Map::new();
    data.insert("Environment".into(), environment.clone());
    data.insert("Release".into(), map_value(info));
    data.insert("Values".into(), values.clone());
    data.insert("StateValues".into(), values.clone());
    data.insert("KubeContext".into(), Value::from(spec.kube_context.text()));
    data.insert("Namespace".into(), Value::from(spec.namespace.text()));
    data.insert("Chart".into(), Value::from(spec.chart.text()));
    map_value(data)
}

/// `ExecuteTemplateExpressions`: the templated fields of `release` rendered with `data`.
fn render_release(
    loader: &Loader,
    index: usize,
    release: &RawRelease,
    data: &Value,
    span: Span,
) -> Result<RawRelease, Box<Diagnostic>> {
    let base_dir = loader.states[index].base_dir.clone();
    let name = release.name.text().to_string();
    let render = |text: &str, field: &str, at: Span| -> Result<String, Box<Diagnostic>> {
        loader
            .renderer
            .render_if_templated(text, &base_dir, data)
            .map_err(|failure| Box::new(field_error(loader, &name, field, at, &failure.error)))
    };
    let render_scalar = |scalar: &mut Scalar<String>, field: &str| -> Result<(), Box<Diagnostic>> {
        if let Some(value) = &mut scalar.0 {
            value.value = render(&value.value, field, value.span)?;
        }
        Ok(())
    };
    let mut result = release.clone();
    render_scalar(&mut result.name, "name")?;
    render_scalar(&mut result.chart, "chart")?;
    render_scalar(&mut result.namespace, "namespace")?;
    render_scalar(&mut result.version, "version")?;
    for (field, template) in [
        ("waitTemplate", &mut result.wait_template),
        ("installedTemplate", &mut result.installed_template),
        ("verifyTemplate", &mut result.verify_template),
    ] {
        if let Some(value) = &mut template.0 {
            value.value = render(&value.value, field, value.span)?;
        }
    }
    for (key, value) in &mut result.labels {
        value.value = render(&value.value, &format!("labels[{key}]"), value.span)?;
    }
    if !result.values_template.is_empty() {
        for (i, entry) in result.values_template.iter_mut().enumerate() {
            if let Value::Map(..) = entry.value.0 {
                let serialized =
                    helmfire_value::yaml::encode(&entry.value.0).map_err(|e| located(loader, entry.span, e.message))?;
                let rendered = render(&serialized, &format!("valuesTemplate[{i}]"), entry.span)?;
                let map = helmfire_value::yaml::decode_go_map(&rendered).map_err(|e| {
                    located(
                        loader,
                        entry.span,
                        format!("valuesTemplate[{i}] rendered to invalid YAML: {}", e.message),
                    )
                })?;
                entry.value.0 = map_value(map);
            }
        }
        let mut values = result.values_template.clone();
        values.append(&mut result.values);
        result.values = values;
    }
    for (i, entry) in result.values.iter_mut().chain(result.secrets.iter_mut()).enumerate() {
        if let Value::String(text) = &entry.value.0 {
            let rendered = render(text, &format!("values[{i}]"), entry.span)?;
            entry.value.0 = Value::from(rendered);
        }
    }
    if !result.set_template.is_empty() {
        for (i, set) in result.set_template.iter_mut().enumerate() {
            let field = format!("setTemplate[{i}]");
            let at = set.span;
            let value = &mut set.value;
            value.name = render(&value.name, &field, at)?;
            value.value = render(&value.value, &field, at)?;
            value.file = render(&value.file, &field, at)?;
            for item in &mut value.values {
                *item = render(item, &field, at)?;
            }
        }
        let mut set = result.set_template.clone();
        set.append(&mut result.set);
        result.set = set;
    }
    for (i, need) in result.needs.iter_mut().enumerate() {
        need.value = render(&need.value, &format!("needs[{i}]"), need.span)?;
    }
    let _ = span;
    Ok(result)
}

fn field_error(loader: &Loader, release: &str, field: &str, span: Span, error: &RenderError) -> Diagnostic {
    let location = loader.sources.location(span);
    let source = SourceFile::new(&location.path, String::new());
    let mut diagnostic = template_diagnostic(error, &source, 1);
    diagnostic.message = format!("release `{release}`, `{field}`: {}", diagnostic.message);
    diagnostic.location = Some(location);
    diagnostic
}

/// What changes between iterations of the template loop.
fn fingerprint(release: &RawRelease) -> Vec<String> {
    let mut out = vec![
        release.name.text().to_string(),
        release.chart.text().to_string(),
        release.namespace.text().to_string(),
        release.version.text().to_string(),
    ];
    for template in [
        &release.wait_template,
        &release.installed_template,
        &release.verify_template,
    ] {
        out.push(format!("{:?}", template.get()));
    }
    out.extend(release.labels.iter().map(|(k, v)| format!("{k}={}", v.value)));
    for entry in release.values.iter().chain(&release.secrets) {
        out.push(
            helmfire_value::interop::to_json(&entry.value.0)
                .map(|j| j.to_string())
                .unwrap_or_default(),
        );
    }
    out.extend(release.set.iter().map(|s| format!("{:?}", s.value)));
    out.extend(release.needs.iter().map(|n| n.value.clone()));
    out
}

/// `updateBoolTemplatedValues`: `installedTemplate`, `waitTemplate` and `verifyTemplate` read
/// as YAML booleans into `installed`, `wait` and `verify`.
fn bool_templates(loader: &Loader, release: &mut RawRelease) -> Result<(), Box<Diagnostic>> {
    for (field, template, target) in [
        (
            "installedTemplate",
            release.installed_template.0.take(),
            &mut release.installed,
        ),
        ("waitTemplate", release.wait_template.0.take(), &mut release.wait),
        ("verifyTemplate", release.verify_template.0.take(), &mut release.verify),
    ] {
        let Some(template) = template else { continue };
        let value = match helmfire_value::yaml::resolve_plain(template.value.trim()) {
            helmfire_value::yaml::Resolved::Bool(b) => b,
            _ => {
                return Err(located(
                    loader,
                    template.span,
                    format!("{field}: `{}` is not a boolean", template.value.trim()),
                )
                .into());
            }
        };
        target.0 = Some(Spanned::new(value, template.span));
    }
    Ok(())
}

/// `reformat`: a need as helmfile's release id (`[context/][namespace/]name`).
fn canonical_need(need: &str, namespace: &str, kube_context: &str) -> String {
    let components: Vec<&str> = need.split('/').collect();
    let name = components[components.len() - 1];
    let namespace = if components.len() > 1 {
        components[components.len() - 2]
    } else {
        namespace
    };
    let context = if components.len() > 2 {
        components[..components.len() - 2].join("/")
    } else {
        kube_context.to_string()
    };
    let mut out = Vec::new();
    if !context.is_empty() {
        out.push(context.as_str());
    }
    if !context.is_empty() || !namespace.is_empty() {
        out.push(namespace);
    }
    out.push(name);
    out.join("/")
}

/// `ConditionEnabled`: `foo.enabled` looked up in the state's values.
fn condition_enabled(release: &RawRelease, values: &Map) -> Result<bool, String> {
    let condition = release.condition.text();
    if condition.is_empty() {
        return Ok(true);
    }
    let keys: Vec<&str> = condition.split('.').collect();
    if keys.last() != Some(&"enabled") {
        return Err("`condition` must be in the form `foo.enabled` where `foo` can be modified as necessary".into());
    }
    let mut current = values.clone();
    let mut path = String::new();
    for key in &keys[..keys.len() - 1] {
        path.push('.');
        path.push_str(key);
        let Some(value) = current.get(*key) else {
            return Err(format!(
                "environment values field `{path}` not found (for `condition: {condition}`)"
            ));
        };
        current = match value {
            Value::Map(map, _) => map.read().clone(),
            _ => {
                return Err(format!(
                    "environment values field `{path}` is not a map (for `condition: {condition}`)"
                ));
            }
        };
    }
    Ok(matches!(current.get("enabled"), Some(Value::Bool(true))))
}

/// helmfile's label selector (`key=value,key!=value`, ANDed) on a release, with the implicit
/// `name`, `namespace` and `chart` labels and the state's `commonLabels`.
fn selector_matches(selector: &str, release: &RawRelease, spec: &RawHelmfile) -> bool {
    let mut labels: BTreeMap<String, String> = release
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), v.value.clone()))
        .collect();
    labels.extend(implicit_labels(release));
    for (k, v) in &spec.common_labels {
        labels.insert(k.clone(), v.value.clone());
    }
    selector.split(',').all(|term| {
        if let Some((key, value)) = term.split_once("!=") {
            labels.get(key.trim()).map(String::as_str) != Some(value.trim())
        } else if let Some((key, value)) = term.split_once('=') {
            labels.get(key.trim()).map(String::as_str) == Some(value.trim())
        } else {
            false
        }
    })
}

/// The labels helmfile's selectors add: `name`, `namespace` and the chart's last path segment.
fn implicit_labels(release: &RawRelease) -> [(String, String); 3] {
    [
        ("name".into(), release.name.text().to_string()),
        ("namespace".into(), release.namespace.text().to_string()),
        (
            "chart".into(),
            release.chart.text().rsplit('/').next().unwrap_or("").to_string(),
        ),
    ]
}

/// Turns templated releases into [`ReleaseSpec`]s, collecting every problem.
struct Converter<'a> {
    loader: &'a mut Loader,
    repositories: &'a [Repository],
    kube_context: Option<&'a str>,
    diagnostics: Vec<Diagnostic>,
    notes: Vec<Notice>,
}

type PendingNeeds = Vec<Spanned<String>>;

impl Converter<'_> {
    fn loader_located(&self, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(message, Some(self.loader.sources.location(span)))
    }

    /// Records an error once: a file-wide refusal (such as `helmDefaults.args`) is checked for
    /// every release but reported at its key only once.
    fn error(&mut self, span: Span, message: impl Into<String>, hint: impl Into<String>) {
        let diagnostic = self.loader_located(span, message).with_hint(hint);
        if !self.diagnostics.contains(&diagnostic) {
            self.diagnostics.push(diagnostic);
        }
    }

    fn notice(&mut self, level: NoticeLevel, message: String) {
        if !self.notes.iter().any(|n| n.message == message) {
            self.notes.push(Notice { level, message });
        }
    }

    /// Refuses what helmfire cannot do for this release; `false` when something was refused.
    fn refuse_unsupported(&mut self, spec: &RawHelmfile, release: &RawRelease, name: &str) -> bool {
        let before = self.diagnostics.len();
        let refuse_list = |this: &mut Self, items: Option<Span>, key: &str, why: &str, hint: &str| {
            if let Some(span) = items {
                this.error(span, format!("release `{name}`: `{key}` {why}"), hint);
            }
        };
        let first = |list: &[Spanned<super::raw::Any>]| list.first().map(|i| i.span);
        refuse_list(
            self,
            first(&release.secrets),
            "secrets",
            "are decrypted by helm-secrets (sops), which helmfire does not support",
            "decrypt them into a values file outside the repository and list it under `values:`",
        );
        for (key, items) in [
            ("strategicMergePatches", &release.strategic_merge_patches),
            ("jsonPatches", &release.json_patches),
            ("transformers", &release.transformers),
        ] {
            refuse_list(
                self,
                first(items),
                key,
                "patch the rendered manifests through kustomize (chartify), which helmfire does not support yet",
                "move the change into the chart's values or templates, or keep this release on helmfile for now",
            );
        }
        refuse_list(
            self,
            first(&release.dependencies),
            "dependencies",
            "turn the chart into an umbrella chart through chartify, which helmfire does not support",
            "add the dependencies to the chart's Chart.yaml instead",
        );
        if let Some(span) = release.adopt.first().map(|a| a.span) {
            self.error(
                span,
                format!("release `{name}`: `adopt` (chartify) is not supported by helmfire"),
                "remove it; helmfire's `takeOwnership: true` in a native state file adopts existing objects",
            );
        }
        let scalars: [(&str, Option<Span>, &str, &str); 5] = [
            (
                "directory",
                release.directory.spanned().map(|s| s.span),
                "fetches manifests or a kustomization through go-getter/chartify, which helmfire does not support",
                "point `chart:` at a local chart directory (with Chart.yaml), `repo/chart` or `oci://…`",
            ),
            (
                "forceNamespace",
                release.force_namespace.spanned().map(|s| s.span),
                "rewrites the rendered manifests through chartify, which helmfire does not support",
                "set `namespace:` and make the chart use `.Release.Namespace`",
            ),
            (
                "forceGoGetter",
                release.force_go_getter.spanned().map(|s| s.span),
                "fetches the chart through go-getter, which helmfire does not support",
                "use a local chart directory, `repo/chart` or `oci://…`",
            ),
            (
                "chartPath",
                release.chart_path.spanned().map(|s| s.span),
                "is written by helmfile itself (`helmfile build` output) and cannot be read back",
                "remove it and keep `chart:`",
            ),
            (
                "keyring",
                release.keyring.spanned().map(|s| s.span),
                "verifies chart signatures, which helmfire does not support",
                "remove it; pin chart versions (helmfire.lock records their digests) instead",
            ),
        ];
        for (key, span, why, hint) in scalars {
            if let Some(span) = span {
                self.error(span, format!("release `{name}`: `{key}` {why}"), hint);
            }
        }
        let flags: [(&str, &super::raw::Pointer<bool>, &super::raw::Scalar<bool>, &str); 4] = [
            (
                "verify",
                &release.verify,
                &spec.helm_defaults.verify,
                "pin chart versions (helmfire.lock records their digests) instead",
            ),
            (
                "devel",
                &release.devel,
                &spec.helm_defaults.devel,
                "write a version constraint that admits pre-releases, such as `>=1.0.0-0`",
            ),
            (
                "enableDNS",
                &release.enable_dns,
                &spec.helm_defaults.enable_dns,
                "remove it: helmfire renders `getHostByName` as \"\"",
            ),
            (
                "force",
                &release.force,
                &spec.helm_defaults.force,
                "remove it: helmfire has no replacement-strategy upgrades",
            ),
        ];
        for (key, own, default, hint) in flags {
            let on = own.get().unwrap_or_else(|| default.is_true());
            if on {
                let span = own
                    .0
                    .as_ref()
                    .map(|s| s.span)
                    .or(default.0.as_ref().map(|s| s.span))
                    .unwrap_or_default();
                self.error(
                    span,
                    format!("release `{name}`: `{key}: true` is not supported by helmfire"),
                    hint,
                );
            }
        }
        let post_renderer = release
            .post_renderer
            .0
            .as_ref()
            .filter(|p| !p.value.is_empty())
            .or(spec
                .helm_defaults
                .post_renderer
                .0
                .as_ref()
                .filter(|p| !p.value.is_empty()))
            .map(|p| p.span)
            .or(release.post_renderer_args.first().map(|a| a.span));
        if let Some(span) = post_renderer {
            self.error(
                span,
                format!("release `{name}`: `postRenderer` is not supported yet"),
                "helmfire's post-renderers are being added; until then keep this release on helmfile",
            );
        }
        if release.insecure_skip_tls_verify.is_true() {
            let span = release
                .insecure_skip_tls_verify
                .spanned()
                .map_or(Span::default(), |s| s.span);
            self.error(
                span,
                format!("release `{name}`: `insecureSkipTLSVerify` on a release is not supported by helmfire"),
                "set `skipTLSVerify: true` on the repository the chart comes from",
            );
        }
        if let Some(cascade) = release.cascade.0.as_ref().or(spec.helm_defaults.cascade.0.as_ref())
            && !cascade.value.is_empty()
            && cascade.value != "background"
        {
            self.error(
                cascade.span,
                format!(
                    "release `{name}`: `cascade: {}` is not supported by helmfire",
                    cascade.value
                ),
                "helmfire uninstalls with background deletion, as helm does by default",
            );
        }
        for (key, list) in [
            ("args", &spec.helm_defaults.args),
            ("syncArgs", &spec.helm_defaults.sync_args),
        ] {
            if let Some(first) = list.first() {
                self.error(
                    first.span,
                    format!("`helmDefaults.{key}` passes extra flags to helm, which helmfire cannot interpret"),
                    "express them as release settings (wait, timeout, atomic, …) or remove them",
                );
            }
        }
        if spec.helm_defaults.reuse_values.is_true() {
            let span = spec
                .helm_defaults
                .reuse_values
                .spanned()
                .map_or(Span::default(), |s| s.span);
            self.error(
                span,
                "`helmDefaults.reuseValues` is not supported by helmfire",
                "helmfire always applies exactly the values in the state file; remove it",
            );
        }
        self.diagnostics.len() == before
    }

    /// One release: checked and mapped; `None` when it had errors (recorded).
    fn release(
        &mut self,
        state_index: usize,
        entry: &Spanned<RawRelease>,
    ) -> Option<(ReleaseSpec, ReleaseOrigin, PendingNeeds)> {
        let state = &self.loader.states[state_index];
        let spec = state.spec.clone();
        let base_dir = state.base_dir.clone();
        let state_file = state.path.clone();
        let env_context = state.env.kube_context.clone();
        let rendered_values = state.rendered_values.clone();
        let environment = state.env.template_value();
        let release = &entry.value;
        let name_text = release.name.text().to_string();
        let name_span = release.name.spanned().map_or(entry.span, |s| s.span);
        let before = self.diagnostics.len();
        if !self.refuse_unsupported(&spec, release, &name_text) {
            return None;
        }
        let mut notes = Vec::new();
        let name = match ReleaseName::parse(&name_text) {
            Ok(name) => name,
            Err(message) => {
                self.error(
                    name_span,
                    message,
                    "helm release names are lowercase DNS-1123 labels of at most 53 characters",
                );
                return None;
            }
        };
        let namespace_text = if release.namespace.is_empty() {
            notes.push(
                "helmfile sets no namespace here (helm uses the kubeconfig's); helmfire uses `default`".to_string(),
            );
            "default".to_string()
        } else {
            release.namespace.text().to_string()
        };
        let namespace = match Namespace::parse(&namespace_text) {
            Ok(namespace) => namespace,
            Err(message) => {
                let span = release.namespace.spanned().map_or(name_span, |s| s.span);
                self.error(span, message, "a namespace is a lowercase DNS-1123 label");
                return None;
            }
        };
        let id = ReleaseId {
            namespace,
            name,
            context: None,
        };
        let chart_field = release
            .chart
            .spanned()
            .cloned()
            .unwrap_or(Spanned::new(String::new(), entry.span));
        let chart = self.chart(&chart_field, &base_dir);
        let is_local = matches!(chart, Some(ChartRef::Local(_)));
        let version = match release.version.spanned() {
            Some(version) => match Constraints::parse(&version.value) {
                Ok(constraint) => Some(constraint),
                // helm ignores the version of a local chart, whatever it says.
                Err(_) if is_local => {
                    notes.push(format!(
                        "`version: {}` is ignored for a local chart, as helm ignores it",
                        version.value
                    ));
                    None
                }
                Err(error) => {
                    self.error(
                        version.span,
                        format!("invalid version constraint `{}`: {error}", version.value),
                        "use a version (`1.2.3`) or a constraint such as `^1.2` or `~1.2.3`",
                    );
                    None
                }
            },
            None => None,
        };

        let data = release_data(&environment, &map_value(rendered_values.clone()), release, &spec);
        let (values, value_origins) = self.values(release, &base_dir, &data, &id);
        let set = self.set_values(release, &base_dir, &id);

        if !release.hooks.is_empty() || !spec.hooks.is_empty() {
            let span = release.hooks.first().map_or(entry.span, |h| h.span);
            let location = self.loader.sources.location(span);
            self.notice(
                NoticeLevel::Warning,
                format!(
                    "{location}: helmfile hooks of release `{id}` are not run by helmfire; run their commands yourself around `helmfire apply`"
                ),
            );
            notes.push("this release had helmfile `hooks`, which helmfire does not run".to_string());
        }
        if !release.api_versions.is_empty() || !release.kube_version.is_empty() {
            notes.push("`apiVersions`/`kubeVersion` apply to `helmfile template` only; pass `--api-versions`/`--kube-version` to `helmfire template`".to_string());
        }

        let timeout = release
            .timeout
            .get()
            .or_else(|| spec.helm_defaults.timeout.get().copied())
            .filter(|t| *t > 0)
            .map_or(DEFAULT_TIMEOUT, |t| Duration::from_secs(t as u64));
        let history_max = release
            .history_max
            .get()
            .or(spec.helm_defaults.history_max.get())
            .map_or(DEFAULT_HISTORY_MAX, |h| u32::try_from(h.max(0)).unwrap_or(u32::MAX));
        let wait = match release.wait.get() {
            Some(wait) => wait,
            None => spec.helm_defaults.wait.is_true(),
        };
        let wait_for_jobs = match release.wait_for_jobs.get() {
            Some(wait) => wait,
            None => spec.helm_defaults.wait_for_jobs.is_true(),
        };
        let kube_context = match self.kube_context {
            Some(context) => Some(context.to_string()),
            None => release
                .kube_context
                .get()
                .cloned()
                .or_else(|| (!env_context.is_empty()).then_some(env_context)),
        };
        let labels: BTreeMap<String, String> = release
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect();
        if self.diagnostics.len() > before {
            return None;
        }
        let spec_out = ReleaseSpec {
            chart_text: chart_field.value.clone(),
            chart: chart?,
            version,
            values,
            set,
            set_string: Vec::new(),
            needs: Vec::new(),
            labels,
            installed: release.installed.get().unwrap_or(true),
            create_namespace: release
                .create_namespace
                .get()
                .or(spec.helm_defaults.create_namespace.get())
                .unwrap_or(true),
            wait,
            wait_for_jobs,
            timeout,
            atomic: release
                .atomic
                .get()
                .unwrap_or_else(|| spec.helm_defaults.atomic.is_true()),
            history_max,
            disable_hooks: false,
            skip_crds: false,
            cleanup_on_fail: release
                .cleanup_on_fail
                .get()
                .unwrap_or_else(|| spec.helm_defaults.cleanup_on_fail.is_true()),
            take_ownership: false,
            server_side: None,
            force_conflicts: false,
            drift_correction: false,
            ignore_differences: Vec::new(),
            post_renderers: Vec::new(),
            kube_context,
            location: self.loader.sources.location(name_span),
            id,
        };
        let origin = ReleaseOrigin {
            state_file,
            values: value_origins,
            notes,
            condition: release.condition.get().cloned(),
        };
        Some((spec_out, origin, release.needs.clone()))
    }

    /// A chart reference as helm resolves it from the state file's directory.
    fn chart(&mut self, chart: &Spanned<String>, base_dir: &Path) -> Option<ChartRef> {
        let text = chart.value.as_str();
        if let Some(rest) = text.strip_prefix("oci://") {
            if rest.is_empty() || rest.ends_with('/') {
                self.error(
                    chart.span,
                    format!("invalid OCI chart reference `{text}`"),
                    "expected `oci://host/path/chart`",
                );
                return None;
            }
            return Some(ChartRef::Oci(text.to_string()));
        }
        if files::is_remote(text) || text.contains("://") {
            self.error(
                chart.span,
                format!("chart `{text}` is fetched by go-getter, which helmfire does not support"),
                "vendor the chart into the repository (`./charts/x`), or publish it to a chart repository or OCI registry",
            );
            return None;
        }
        let local = files::join(base_dir, text);
        let explicit_local =
            text.starts_with("./") || text.starts_with("../") || text.starts_with('/') || !text.contains('/');
        if local.is_dir() || (local.is_file() && text.ends_with(".tgz")) {
            if local.is_dir() && !local.join("Chart.yaml").is_file() {
                self.error(
                    chart.span,
                    format!("local chart `{text}` has no Chart.yaml: helmfile turns plain manifests and kustomizations into charts through chartify, which helmfire does not support"),
                    "make it a helm chart (add a Chart.yaml and move the manifests under templates/)",
                );
                return None;
            }
            return Some(ChartRef::Local(local));
        }
        if explicit_local {
            self.error(
                chart.span,
                format!("local chart `{text}` does not exist"),
                format!(
                    "resolved to `{}`; local chart paths are relative to the helmfile",
                    local.display()
                ),
            );
            return None;
        }
        let (repository, name) = text.split_once('/').unwrap_or((text, ""));
        match self.repositories.iter().find(|r| r.name == repository) {
            Some(_) if !name.is_empty() => Some(ChartRef::Repository {
                repository: repository.to_string(),
                chart: name.to_string(),
            }),
            _ => {
                let known: Vec<&str> = self.repositories.iter().map(|r| r.name.as_str()).collect();
                let hint = match crate::state::suggest::did_you_mean(repository, known.iter().copied()) {
                    Some(suggestion) => format!("did you mean `{suggestion}/{name}`?"),
                    None => "add the repository under `repositories:`, or write a local path as `./path`".to_string(),
                };
                self.error(
                    chart.span,
                    format!("chart `{text}` names unknown repository `{repository}`"),
                    hint,
                );
                None
            }
        }
    }

    /// `values:` entries: files (a `.gotmpl` one rendered with the release's data), inline maps.
    fn values(
        &mut self,
        release: &RawRelease,
        base_dir: &Path,
        data: &Value,
        id: &ReleaseId,
    ) -> (Vec<ValuesSource>, Vec<ValuesOrigin>) {
        let mut values = Vec::new();
        let mut origins = Vec::new();
        let handler = release
            .missing_file_handler
            .get()
            .unwrap_or_else(|| "Error".to_string());
        for entry in &release.values {
            match &entry.value.0 {
                Value::String(path) => {
                    let written = format!("{}{path}", release.values_path_prefix.text());
                    if files::is_remote(&written) {
                        self.error(
                            entry.span,
                            format!("release `{id}`: remote values file `{written}` is fetched by go-getter, which helmfire does not support"),
                            "download it into the repository and refer to it by a relative path",
                        );
                        continue;
                    }
                    let matches = files::glob(&files::join(base_dir, &written));
                    let file = match matches.as_slice() {
                        [] => {
                            match handler.as_str() {
                                "Error" => self.error(
                                    entry.span,
                                    format!("release `{id}`: values file matching `{written}` does not exist in `{}`", base_dir.display()),
                                    "paths are relative to the helmfile; set `missingFileHandler: Warn` on the release to skip missing files",
                                ),
                                "Warn" => self.notice(NoticeLevel::Warning, format!("release `{id}`: skipping missing values file matching `{written}`")),
                                "Info" => self.notice(NoticeLevel::Info, format!("release `{id}`: skipping missing values file matching `{written}`")),
                                "Debug" => {}
                                other => self.error(entry.span, format!("invalid missing file handler `{other}`"), "it must be one of Error, Warn, Info, Debug"),
                            }
                            continue;
                        }
                        [file] => file.clone(),
                        _ => {
                            self.error(
                                entry.span,
                                format!("release `{id}`: values path `{written}` matches several files"),
                                "glob patterns in release values are not supported (by helmfile either); list the files",
                            );
                            continue;
                        }
                    };
                    let is_template = file.to_string_lossy().rsplit('.').next() == Some("gotmpl");
                    let text = match std::fs::read_to_string(&file) {
                        Ok(text) => text,
                        Err(e) => {
                            self.error(
                                entry.span,
                                format!("failed to read `{}`: {e}", file.display()),
                                "check the file's permissions",
                            );
                            continue;
                        }
                    };
                    if is_template {
                        let rendered = match self.loader.renderer.render(&text, &parent(&file), data, Pass::Final) {
                            Ok(rendered) => rendered,
                            Err(failure) => {
                                let source = SourceFile::new(&file, text.clone());
                                let mut diagnostic = template_diagnostic(&failure.error, &source, 1);
                                diagnostic.message = format!("release `{id}`: values file: {}", diagnostic.message);
                                self.diagnostics.push(diagnostic);
                                continue;
                            }
                        };
                        match helmfire_chart::load_values(rendered.as_bytes()) {
                            Ok(map) => {
                                let value = map_value(map);
                                if let Some(reference) = secret_reference(&value) {
                                    self.refuse_reference(entry.span, id, &reference);
                                    continue;
                                }
                                match helmfire_value::interop::to_json(&value) {
                                    Ok(serde_json::Value::Object(map)) => {
                                        values.push(ValuesSource::Inline(map));
                                        origins.push(ValuesOrigin::Rendered(file));
                                    }
                                    _ => self.error(
                                        entry.span,
                                        format!(
                                            "release `{id}`: values file `{}` did not render to a map",
                                            file.display()
                                        ),
                                        "a values file holds a YAML map",
                                    ),
                                }
                            }
                            Err(message) => self.error(
                                entry.span,
                                format!(
                                    "release `{id}`: values file `{}` rendered to invalid YAML: {message}",
                                    file.display()
                                ),
                                "the file is rendered as a template first; check what it renders to",
                            ),
                        }
                    } else {
                        if text.contains("ref+")
                            && let Ok(map) = helmfire_chart::load_values(text.as_bytes())
                            && let Some(reference) = secret_reference(&map_value(map))
                        {
                            self.refuse_reference(entry.span, id, &reference);
                            continue;
                        }
                        values.push(ValuesSource::File(file.clone()));
                        origins.push(ValuesOrigin::File(file));
                    }
                }
                Value::Map(..) => {
                    if let Some(reference) = secret_reference(&entry.value.0) {
                        self.refuse_reference(entry.span, id, &reference);
                        continue;
                    }
                    match helmfire_value::interop::to_json(&entry.value.0) {
                        Ok(serde_json::Value::Object(map)) => {
                            values.push(ValuesSource::Inline(map));
                            origins.push(ValuesOrigin::Inline);
                        }
                        Ok(_) | Err(_) => self.error(
                            entry.span,
                            format!("release `{id}`: inline values cannot be encoded"),
                            "inline values must be plain YAML",
                        ),
                    }
                }
                _ => self.error(
                    entry.span,
                    format!("release `{id}`: unexpected type of value: expected a file path or a map"),
                    "a `values:` entry is a path (relative to the helmfile) or an inline map",
                ),
            }
        }
        (values, origins)
    }

    fn refuse_reference(&mut self, span: Span, id: &ReleaseId, reference: &str) {
        self.error(
            span,
            format!(
                "release `{id}`: `{reference}` is a vals secret reference (`ref+…`), which helmfire does not resolve"
            ),
            "resolve the secret into a values file outside the repository, or pass it through an environment variable",
        );
    }

    /// `set:` (after `setTemplate:`) and the legacy `env:` as helm's `--set`, types inferred.
    fn set_values(
        &mut self,
        release: &RawRelease,
        base_dir: &Path,
        id: &ReleaseId,
    ) -> Vec<(String, serde_json::Value)> {
        use helmfire_chart::values::strvals::typed_value;
        let typed =
            |text: &str| helmfire_value::interop::to_json(&typed_value(text, false)).unwrap_or(serde_json::Value::Null);
        let mut out = Vec::new();
        for set in &release.set {
            let RawSetValue {
                name,
                value,
                file,
                values,
            } = &set.value;
            if value.starts_with("ref+") || values.iter().any(|v| v.starts_with("ref+")) {
                self.refuse_reference(set.span, id, value);
                continue;
            }
            if !value.is_empty() {
                out.push((name.clone(), typed(value)));
            } else if !file.is_empty() {
                let path = files::join(base_dir, file);
                match std::fs::read_to_string(&path) {
                    Ok(content) => out.push((name.clone(), serde_json::Value::String(content))),
                    Err(e) => self.error(
                        set.span,
                        format!("release `{id}`: cannot read `set` file `{}`: {e}", path.display()),
                        "paths are relative to the helmfile",
                    ),
                }
            } else if !values.is_empty() {
                out.push((
                    name.clone(),
                    serde_json::Value::Array(values.iter().map(|v| typed(v)).collect()),
                ));
            }
        }
        for env in &release.env {
            match std::env::var(&env.value.value) {
                Ok(value) => out.push((env.value.name.clone(), typed(&value))),
                Err(_) => self.error(
                    env.span,
                    format!(
                        "release `{id}`: environment variable `{}` (from `env:`) is not set",
                        env.value.value
                    ),
                    "set it, or use `set:` with a value",
                ),
            }
        }
        out
    }

    fn check_duplicates(&mut self, releases: &[ReleaseSpec]) {
        let mut seen: HashMap<&ReleaseId, &ReleaseSpec> = HashMap::new();
        for release in releases {
            if let Some(first) = seen.get(&release.id) {
                self.diagnostics.push(
                    Diagnostic::new(format!("duplicate release `{}`", release.id), Some(release.location.clone()))
                        .with_note(first.location.clone(), "first defined here")
                        .with_hint("helmfire identifies a release by namespace and name across all helmfiles (kube contexts included)"),
                );
            } else {
                seen.insert(&release.id, release);
            }
        }
    }

    /// helmfile's canonical `needs` ids matched against the releases (namespace `default` for
    /// releases without one; the kube context only when the releases span several).
    fn resolve_needs(&mut self, releases: &mut [ReleaseSpec], pending: Vec<PendingNeeds>, disabled: &[String]) {
        let ids: HashSet<ReleaseId> = releases.iter().map(|r| r.id.clone()).collect();
        let several_contexts = releases.iter().any(|r| r.id.context.is_some());
        let mut resolved_all = Vec::new();
        for (release, needs) in releases.iter().zip(pending) {
            let mut resolved = Vec::new();
            for need in needs {
                let components: Vec<&str> = need.value.split('/').collect();
                let name = components[components.len() - 1];
                let namespace = match components.len() {
                    1 => "default",
                    _ => match components[components.len() - 2] {
                        "" => "default",
                        namespace => namespace,
                    },
                };
                let context = match components.len() {
                    _ if !several_contexts => None,
                    0..=2 => None,
                    n => Some(components[..n - 2].join("/")).filter(|c| !c.is_empty()),
                };
                let target =
                    ReleaseName::parse(name)
                        .ok()
                        .zip(Namespace::parse(namespace).ok())
                        .map(|(name, namespace)| ReleaseId {
                            namespace,
                            name,
                            context,
                        });
                match target {
                    Some(target) if ids.contains(&target) => {
                        if target == release.id {
                            self.error(
                                need.span,
                                format!("release `{}` needs itself", release.id),
                                "remove it from `needs`",
                            );
                        } else if !resolved.contains(&target) {
                            resolved.push(target);
                        }
                    }
                    _ if disabled.iter().any(|d| d == name) => {
                        self.notice(
                            NoticeLevel::Info,
                            format!(
                                "release `{}` needs `{}`, which its condition disables; the need is ignored",
                                release.id, need.value
                            ),
                        );
                    }
                    _ => {
                        let known: Vec<String> = ids.iter().map(ToString::to_string).collect();
                        let hint = match crate::state::suggest::did_you_mean(&need.value, known.iter().map(String::as_str)) {
                            Some(suggestion) => format!("did you mean `{suggestion}`?"),
                            None => "helmfile writes needs as `[kubecontext/][namespace/]name`; no release of the helmfiles read has that namespace and name".to_string(),
                        };
                        self.error(
                            need.span,
                            format!("release `{}` needs unknown release `{}`", release.id, need.value),
                            hint,
                        );
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

/// The first `ref+…` string in a value (vals would resolve it).
fn secret_reference(value: &Value) -> Option<String> {
    match value {
        Value::String(s) if s.starts_with("ref+") || s.starts_with("secretref+") => Some(s.to_string()),
        Value::Map(map, _) => map.read().values().find_map(secret_reference),
        Value::List(items, _) => items.iter().find_map(secret_reference),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_become_helmfile_ids() {
        assert_eq!(canonical_need("db", "web", ""), "web/db");
        assert_eq!(canonical_need("db", "", ""), "db");
        assert_eq!(canonical_need("db", "", "ctx"), "ctx//db");
        assert_eq!(canonical_need("other/db", "web", "ctx"), "ctx/other/db");
        assert_eq!(canonical_need("c/other/db", "web", "ctx"), "c/other/db");
    }

    #[test]
    fn conditions_walk_values() {
        let values = helmfire_value::yaml::decode_go_map("a: {enabled: true}\nb: {enabled: 1}\nc: 3\n").unwrap();
        let with = |condition: &str| {
            let release = RawRelease {
                condition: Scalar(Some(Spanned::new(condition.to_string(), Span::default()))),
                ..RawRelease::default()
            };
            condition_enabled(&release, &values)
        };
        assert_eq!(with("a.enabled"), Ok(true));
        assert_eq!(with("b.enabled"), Ok(false));
        assert!(with("x.enabled").unwrap_err().contains("`.x` not found"));
        assert!(with("c.enabled").unwrap_err().contains("is not a map"));
        assert!(with("a").unwrap_err().contains("foo.enabled"));
    }

    #[test]
    fn selectors_see_implicit_labels() {
        let mut release = RawRelease {
            name: Scalar(Some(Spanned::new("web".into(), Span::default()))),
            chart: Scalar(Some(Spanned::new("bitnami/nginx".into(), Span::default()))),
            ..RawRelease::default()
        };
        release
            .labels
            .insert("tier".into(), Spanned::new("front".into(), Span::default()));
        let spec = RawHelmfile::default();
        assert!(selector_matches("name=web", &release, &spec));
        assert!(selector_matches("chart=nginx,tier=front", &release, &spec));
        assert!(!selector_matches("tier!=front", &release, &spec));
    }
}
