//! `helmfire import`: a helmfile estate written out as one native helmfire state file (YAML or
//! TOML) that yields the same releases and values, with a comment wherever a judgement was made.
//!
//! Each requested environment is read with [`super::read`]; what every environment agrees on is
//! written once, what differs is written as `${{ }}` expressions over `environment.name` where
//! the native format can express it, and refused (with the release and the field) where it
//! cannot. The text is returned; nothing is printed or written here.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use helmfire_value::{ListType, Map, MapRef, MapType, Value};

use super::release::{ReleaseOrigin, ValuesOrigin};
use super::{Options, Reading};
use crate::state::error::{Diagnostic, StateError};
use crate::state::model::{ChartRef, ReleaseSpec, RepositoryKind, ValuesSource};

/// The native file's syntax.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Toml,
}

/// What to import.
#[derive(Clone, Debug)]
pub struct ImportOptions<'a> {
    pub path: &'a Path,
    /// Environments to import; the first one's reading decides the order of releases.
    pub environments: Vec<String>,
    pub format: Format,
    /// Relative paths in the output are relative to this directory (where the file will live).
    pub relative_to: PathBuf,
}

/// A value in the native file, with comments for the reader.
#[derive(Clone, Debug)]
enum Out {
    Value(Value),
    /// An expression string (`${{ … }}`), written as a string.
    Map(Vec<Field>),
    List(Vec<Item>),
}

#[derive(Clone, Debug)]
struct Field {
    key: String,
    value: Out,
    comments: Vec<String>,
}

#[derive(Clone, Debug)]
struct Item {
    value: Out,
    comments: Vec<String>,
}

fn field(key: &str, value: Out) -> Field {
    Field {
        key: key.to_string(),
        value,
        comments: Vec::new(),
    }
}

fn text(s: impl Into<String>) -> Out {
    Out::Value(Value::from(s.into()))
}

/// Imports a helmfile: the native state file's text.
pub fn import(options: &ImportOptions<'_>) -> Result<String, StateError> {
    let environments = if options.environments.is_empty() {
        vec!["default".to_string()]
    } else {
        options.environments.clone()
    };
    let mut readings = Vec::new();
    for environment in &environments {
        let reading = super::read(&Options {
            path: options.path,
            environment,
            kube_context: None,
        })?;
        readings.push((environment.clone(), reading));
    }
    let writer = Writer {
        relative_to: std::path::absolute(&options.relative_to).unwrap_or_else(|_| options.relative_to.clone()),
    };
    let document = writer.document(options.path, &readings)?;
    match options.format {
        Format::Yaml => Ok(yaml(&document)),
        Format::Toml => toml(&document),
    }
}

struct Writer {
    relative_to: PathBuf,
}

impl Writer {
    fn document(&self, path: &Path, readings: &[(String, Reading)]) -> Result<Vec<Field>, StateError> {
        let names: Vec<&str> = readings.iter().map(|(name, _)| name.as_str()).collect();
        let mut top = Vec::new();
        let mut header = vec![
            format!(
                "Imported from `{}` by `helmfire import` for environment(s): {}.",
                path.display(),
                names.join(", ")
            ),
            format!("Paths are relative to `{}`.", self.relative_to.display()),
        ];
        if readings.len() > 1 {
            header.push(
                "Releases that differ between environments use `${{ }}` expressions over `environment.name`.".into(),
            );
        }

        let multi = readings.len() > 1;
        let show_environments =
            multi || names != ["default"] || readings.iter().any(|(_, r)| r.state.environment.kube_context.is_some());
        if show_environments {
            let mut environments = Vec::new();
            for (name, reading) in readings {
                let mut spec = Vec::new();
                let values = json_to_value(&reading.state.environment.values);
                if values.as_map().is_some_and(|m| !m.read().is_empty()) {
                    let mut values_field = field(
                        "values",
                        Out::List(vec![Item {
                            value: Out::Value(values),
                            comments: Vec::new(),
                        }]),
                    );
                    values_field.comments.push(
                        "the helmfile's `.Values` for this environment (expressions read them as `environment.values`)"
                            .into(),
                    );
                    spec.push(values_field);
                }
                if let Some(context) = &reading.state.environment.kube_context {
                    spec.push(field("kubeContext", text(context.clone())));
                }
                environments.push(field(name, Out::Map(spec)));
            }
            let mut environments_field = field("environments", Out::Map(environments));
            environments_field.comments = header.clone();
            header.clear();
            top.push(environments_field);
        }

        let mut repositories: Vec<Item> = Vec::new();
        let mut seen = Vec::new();
        for (_, reading) in readings {
            for repository in &reading.state.repositories {
                if seen.contains(&repository.name) {
                    continue;
                }
                seen.push(repository.name.clone());
                let mut spec = vec![
                    field("name", text(repository.name.clone())),
                    field("url", text(repository.url.clone())),
                ];
                if let Some(username) = &repository.username {
                    spec.push(field("username", text(username.clone())));
                }
                let mut comments = Vec::new();
                if repository.password.is_some() {
                    comments.push(format!(
                        "the helmfile gives `{}` a password, which is not copied here: add `password:` yourself (keep it out of version control)",
                        repository.name
                    ));
                }
                for (key, file) in [
                    ("caFile", &repository.ca_file),
                    ("certFile", &repository.cert_file),
                    ("keyFile", &repository.key_file),
                ] {
                    if let Some(file) = file {
                        spec.push(field(key, text(self.path(file))));
                    }
                }
                if repository.insecure_skip_tls_verify {
                    spec.push(field("insecureSkipTlsVerify", Out::Value(Value::Bool(true))));
                }
                if repository.pass_credentials {
                    spec.push(field("passCredentials", Out::Value(Value::Bool(true))));
                }
                if repository.kind == RepositoryKind::Oci {
                    comments.push("`oci: true` in the helmfile: the registry is written as an `oci://` URL".into());
                }
                repositories.push(Item {
                    value: Out::Map(spec),
                    comments,
                });
            }
        }
        if !repositories.is_empty() {
            let mut repositories_field = field("repositories", Out::List(repositories));
            repositories_field.comments = std::mem::take(&mut header);
            top.push(repositories_field);
        }

        let mut releases_field = field("releases", Out::List(self.releases(readings)?));
        releases_field.comments = header;
        top.push(releases_field);
        Ok(top)
    }

    fn releases(&self, readings: &[(String, Reading)]) -> Result<Vec<Item>, StateError> {
        let names: Vec<&str> = readings.iter().map(|(name, _)| name.as_str()).collect();
        // Every release id in order of first appearance.
        let mut order: Vec<crate::state::ReleaseId> = Vec::new();
        for (_, reading) in readings {
            for release in &reading.state.releases {
                if !order.contains(&release.id) {
                    order.push(release.id.clone());
                }
            }
        }
        let mut items = Vec::new();
        for id in order {
            let variants: Vec<Option<(&ReleaseSpec, &ReleaseOrigin)>> = readings
                .iter()
                .map(|(_, reading)| {
                    reading
                        .state
                        .releases
                        .iter()
                        .position(|r| r.id == id)
                        .map(|i| (&reading.state.releases[i], &reading.origins[i]))
                })
                .collect();
            let present: Vec<(&str, &ReleaseSpec, &ReleaseOrigin)> = names
                .iter()
                .zip(&variants)
                .filter_map(|(name, v)| v.map(|(spec, origin)| (*name, spec, origin)))
                .collect();
            // Whether it is installed is expressed as a condition when environments disagree.
            let rendered: Vec<(&str, Vec<Field>, Vec<String>)> = present
                .iter()
                .map(|(name, spec, origin)| {
                    let (mut fields, comments) = self.release(spec, origin);
                    fields.retain(|f| f.key != "installed");
                    (*name, fields, comments)
                })
                .collect();
            let installed_in: Vec<&str> = present
                .iter()
                .filter(|(_, spec, _)| spec.installed)
                .map(|(name, _, _)| *name)
                .collect();
            let (_, first_spec, _) = present[0];
            let mut fields = merge_variants(&rendered, first_spec)?;
            let mut comments: Vec<String> = Vec::new();
            for (_, _, notes) in &rendered {
                for note in notes {
                    if !comments.contains(note) {
                        comments.push(note.clone());
                    }
                }
            }
            if installed_in.is_empty() {
                fields.push(field("installed", Out::Value(Value::Bool(false))));
            } else if installed_in.len() < readings.len() {
                let listed: Vec<String> = installed_in
                    .iter()
                    .map(|name| format!("environment.name == {}", quote_expression(name)))
                    .collect();
                let mut condition = field("condition", text(listed.join(" || ")));
                condition.comments.push(format!(
                    "installed in environment(s) {} only; where helmfile does not list it, it leaves it alone, but helmfire uninstalls it",
                    installed_in.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
                ));
                fields.push(condition);
            }
            items.push(Item {
                value: Out::Map(fields),
                comments,
            });
        }
        for (name, reading) in readings {
            for disabled in &reading.disabled {
                if let Some(last) = items.last_mut() {
                    last.comments.push(format!(
                        "(release `{disabled}` is left out in environment `{name}`: its helmfile `condition` is false there, and helmfile leaves it alone)"
                    ));
                }
            }
        }
        Ok(items)
    }

    /// One environment's release as native fields, and its notes.
    fn release(&self, spec: &ReleaseSpec, origin: &ReleaseOrigin) -> (Vec<Field>, Vec<String>) {
        let mut fields = vec![
            field("name", text(spec.id.name.as_str())),
            field("namespace", text(spec.id.namespace.as_str())),
        ];
        let chart = match &spec.chart {
            ChartRef::Local(path) => {
                let relative = self.path(path);
                if relative.starts_with('.') || relative.starts_with('/') {
                    relative
                } else {
                    format!("./{relative}")
                }
            }
            ChartRef::Repository { repository, chart } => format!("{repository}/{chart}"),
            ChartRef::Oci(reference) => reference.clone(),
        };
        fields.push(field("chart", text(chart)));
        if let Some(version) = &spec.version {
            fields.push(field("version", text(version.as_str())));
        }
        if !spec.values.is_empty() {
            let mut items = Vec::new();
            for (source, origin) in spec.values.iter().zip(&origin.values) {
                let (value, comments) = match (source, origin) {
                    (ValuesSource::File(path), _) => (text(self.path(path)), Vec::new()),
                    (ValuesSource::Inline(map), ValuesOrigin::Rendered(file)) => (
                        Out::Value(json_to_value(&serde_json::Value::Object(map.clone()))),
                        vec![format!(
                            "rendered from `{}` (a helmfile template) for this environment",
                            self.path(file)
                        )],
                    ),
                    (ValuesSource::Inline(map), _) => (
                        Out::Value(json_to_value(&serde_json::Value::Object(map.clone()))),
                        Vec::new(),
                    ),
                };
                items.push(Item { value, comments });
            }
            fields.push(field("values", Out::List(items)));
        }
        if !spec.set.is_empty() {
            let entries = spec
                .set
                .iter()
                .map(|(key, value)| field(key, Out::Value(json_to_value(value))))
                .collect();
            fields.push(field("set", Out::Map(entries)));
        }
        if !spec.needs.is_empty() {
            let needs = spec
                .needs
                .iter()
                .map(|id| Item {
                    value: text(id.to_string()),
                    comments: Vec::new(),
                })
                .collect();
            fields.push(field("needs", Out::List(needs)));
        }
        if !spec.labels.is_empty() {
            let labels = spec.labels.iter().map(|(k, v)| field(k, text(v.clone()))).collect();
            fields.push(field("labels", Out::Map(labels)));
        }
        if !spec.installed {
            fields.push(field("installed", Out::Value(Value::Bool(false))));
        }
        if !spec.create_namespace {
            fields.push(field("createNamespace", Out::Value(Value::Bool(false))));
        }
        for (key, on) in [
            ("wait", spec.wait),
            ("waitForJobs", spec.wait_for_jobs),
            ("atomic", spec.atomic),
            ("cleanupOnFail", spec.cleanup_on_fail),
        ] {
            if on {
                fields.push(field(key, Out::Value(Value::Bool(true))));
            }
        }
        if spec.timeout != std::time::Duration::from_secs(300) {
            fields.push(field(
                "timeout",
                Out::Value(Value::Int(spec.timeout.as_secs() as i64, helmfire_value::IntType::Int)),
            ));
        }
        if spec.history_max != 10 {
            fields.push(field(
                "historyMax",
                Out::Value(Value::Int(i64::from(spec.history_max), helmfire_value::IntType::Int)),
            ));
        }
        if let Some(context) = &spec.kube_context {
            fields.push(field("kubeContext", text(context.clone())));
        }
        let mut notes = origin.notes.clone();
        if let Some(condition) = &origin.condition {
            notes.push(format!("helmfile `condition: {condition}` is true here"));
        }
        (fields, notes)
    }

    /// A path relative to the output's directory (absolute when outside it).
    fn path(&self, path: &Path) -> String {
        let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        relative(&absolute, &self.relative_to).to_string_lossy().into_owned()
    }
}

/// `path` relative to `base` (both absolute), with `..` where needed.
fn relative(path: &Path, base: &Path) -> PathBuf {
    let (path, base) = (super::files::normalize(path), super::files::normalize(base));
    let path: Vec<Component> = path.components().collect();
    let base: Vec<Component> = base.components().collect();
    let common = path.iter().zip(&base).take_while(|(a, b)| a == b).count();
    if common == 0 {
        return path.iter().collect();
    }
    let mut out = PathBuf::new();
    for _ in common..base.len() {
        out.push("..");
    }
    for component in &path[common..] {
        out.push(component.as_os_str());
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

/// One release's fields across environments: equal fields once, differing ones as expressions.
fn merge_variants(variants: &[(&str, Vec<Field>, Vec<String>)], spec: &ReleaseSpec) -> Result<Vec<Field>, StateError> {
    if variants.len() == 1
        || variants
            .iter()
            .all(|(_, fields, _)| same_fields(fields, &variants[0].1))
    {
        return Ok(variants[0].1.clone());
    }
    let mut keys: Vec<String> = Vec::new();
    for (_, fields, _) in variants {
        for f in fields {
            if !keys.contains(&f.key) {
                keys.push(f.key.clone());
            }
        }
    }
    let mut merged = Vec::new();
    for key in keys {
        let values: Vec<(&str, Option<&Out>)> = variants
            .iter()
            .map(|(name, fields, _)| (*name, fields.iter().find(|f| f.key == key).map(|f| &f.value)))
            .collect();
        let first = values[0].1;
        if values.iter().all(|(_, v)| same_out(*v, first)) {
            if let Some(value) = first {
                merged.push(field(&key, value.clone()));
            }
            continue;
        }
        let mut expressed = field(
            &key,
            per_environment(&values).ok_or_else(|| cannot_express(spec, &key, &values))?,
        );
        expressed.comments.push(format!("`{key}` differs between environments"));
        merged.push(expressed);
    }
    Ok(merged)
}

fn cannot_express(spec: &ReleaseSpec, key: &str, values: &[(&str, Option<&Out>)]) -> StateError {
    let names: Vec<String> = values.iter().map(|(n, _)| format!("`{n}`")).collect();
    Diagnostic::new(
        format!(
            "release `{}` differs between environments {} in `{key}` in a way a native state file cannot express per environment",
            spec.id,
            names.join(", ")
        ),
        Some(spec.location.clone()),
    )
    .with_hint("expressions give strings only; import the environments one at a time (`helmfire import -e NAME`) into separate files")
    .into()
}

/// The per-environment choice of a differing value, where an expression can make it: strings
/// (and lists or maps of the same shape whose differing leaves are strings).
fn per_environment(values: &[(&str, Option<&Out>)]) -> Option<Out> {
    let present: Vec<(&str, &Out)> = values.iter().map(|(n, v)| v.map(|v| (*n, v))).collect::<Option<_>>()?;
    match present[0].1 {
        Out::Value(Value::String(_)) => {
            let mut choices = Vec::new();
            for (name, value) in &present {
                let Out::Value(Value::String(s)) = value else {
                    return None;
                };
                if s.contains("${{") {
                    return None;
                }
                choices.push(format!("{}: {}", quote_expression(name), quote_expression(s)));
            }
            Some(text(format!(
                "${{{{ #{{{}}}[environment.name] }}}}",
                choices.join(", ")
            )))
        }
        Out::Value(value @ (Value::Map(..) | Value::List(..))) => {
            let leaves: Vec<(&str, &Value)> = present
                .iter()
                .map(|(n, v)| match v {
                    Out::Value(value) => Some((*n, value)),
                    _ => None,
                })
                .collect::<Option<_>>()?;
            let _ = value;
            per_environment_value(&leaves).map(Out::Value)
        }
        Out::List(items) => {
            let lists: Vec<(&str, &Vec<Item>)> = present
                .iter()
                .map(|(n, v)| match v {
                    Out::List(items) => Some((*n, items)),
                    _ => None,
                })
                .collect::<Option<_>>()?;
            if lists.iter().any(|(_, l)| l.len() != items.len()) {
                return None;
            }
            let mut out = Vec::new();
            for index in 0..items.len() {
                let column: Vec<(&str, Option<&Out>)> =
                    lists.iter().map(|(n, l)| (*n, Some(&l[index].value))).collect();
                let first = column[0].1;
                let value = if column.iter().all(|(_, v)| same_out(*v, first)) {
                    first?.clone()
                } else {
                    per_environment(&column)?
                };
                let mut comments = items[index].comments.clone();
                for (_, list) in &lists[1..] {
                    for comment in &list[index].comments {
                        if !comments.contains(comment) {
                            comments.push(comment.clone());
                        }
                    }
                }
                out.push(Item { value, comments });
            }
            Some(Out::List(out))
        }
        Out::Map(fields) => {
            let maps: Vec<(&str, &Vec<Field>)> = present
                .iter()
                .map(|(n, v)| match v {
                    Out::Map(fields) => Some((*n, fields)),
                    _ => None,
                })
                .collect::<Option<_>>()?;
            let keys: Vec<&String> = fields.iter().map(|f| &f.key).collect();
            if maps
                .iter()
                .any(|(_, m)| m.len() != keys.len() || m.iter().any(|f| !keys.contains(&&f.key)))
            {
                return None;
            }
            let mut out = Vec::new();
            for key in keys {
                let column: Vec<(&str, Option<&Out>)> = maps
                    .iter()
                    .map(|(n, m)| (*n, m.iter().find(|f| &f.key == key).map(|f| &f.value)))
                    .collect();
                let first = column[0].1;
                let value = if column.iter().all(|(_, v)| same_out(*v, first)) {
                    first?.clone()
                } else {
                    per_environment(&column)?
                };
                out.push(field(key, value));
            }
            Some(Out::Map(out))
        }
        _ => None,
    }
}

/// Values (maps, lists) of the same shape whose differing leaves are strings.
fn per_environment_value(values: &[(&str, &Value)]) -> Option<Value> {
    let first = values[0].1;
    if values.iter().all(|(_, v)| same_value(v, first)) {
        return Some(first.clone());
    }
    match first {
        Value::String(_) => {
            let mut choices = Vec::new();
            for (name, value) in values {
                let Value::String(s) = value else { return None };
                if s.contains("${{") {
                    return None;
                }
                choices.push(format!("{}: {}", quote_expression(name), quote_expression(s)));
            }
            Some(Value::from(format!(
                "${{{{ #{{{}}}[environment.name] }}}}",
                choices.join(", ")
            )))
        }
        Value::Map(map, _) => {
            let keys: Vec<String> = map.read().keys().cloned().collect();
            let mut out = Map::new();
            for (_, value) in values {
                let Value::Map(other, _) = value else { return None };
                let other_keys: Vec<String> = other.read().keys().cloned().collect();
                if other_keys != keys {
                    return None;
                }
            }
            for key in keys {
                let column: Vec<(&str, Value)> = values
                    .iter()
                    .map(|(n, v)| {
                        (
                            *n,
                            v.as_map().and_then(|m| m.read().get(&key).cloned()).unwrap_or_default(),
                        )
                    })
                    .collect();
                let refs: Vec<(&str, &Value)> = column.iter().map(|(n, v)| (*n, v)).collect();
                out.insert(key, per_environment_value(&refs)?);
            }
            Some(Value::Map(MapRef::new(out), MapType::Interface))
        }
        Value::List(items, _) => {
            let mut out = Vec::new();
            for (_, value) in values {
                if value.as_list().map(<[Value]>::len) != Some(items.len()) {
                    return None;
                }
            }
            for index in 0..items.len() {
                let column: Vec<(&str, &Value)> = values
                    .iter()
                    .map(|(n, v)| (*n, &v.as_list().unwrap_or_default()[index]))
                    .collect();
                out.push(per_environment_value(&column)?);
            }
            Some(Value::List(std::sync::Arc::new(out), ListType::Interface))
        }
        _ => None,
    }
}

/// A string literal for a rhai expression.
fn quote_expression(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

fn same_fields(a: &[Field], b: &[Field]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.key == y.key && same_out(Some(&x.value), Some(&y.value)))
}

fn same_out(a: Option<&Out>, b: Option<&Out>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(Out::Value(x)), Some(Out::Value(y))) => same_value(x, y),
        (Some(Out::Map(x)), Some(Out::Map(y))) => same_fields(x, y),
        (Some(Out::List(x)), Some(Out::List(y))) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_out(Some(&p.value), Some(&q.value)))
        }
        _ => false,
    }
}

fn same_value(a: &Value, b: &Value) -> bool {
    helmfire_value::interop::to_json(a).ok() == helmfire_value::interop::to_json(b).ok()
}

fn json_to_value(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Int(i, helmfire_value::IntType::Int),
            None => Value::Float(n.as_f64().unwrap_or_default()),
        },
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(items) => Value::List(
            std::sync::Arc::new(items.iter().map(json_to_value).collect()),
            ListType::Interface,
        ),
        serde_json::Value::Object(map) => {
            let out: Map = map.iter().map(|(k, v)| (k.clone(), json_to_value(v))).collect();
            Value::Map(MapRef::new(out), MapType::Interface)
        }
    }
}

// ---- YAML ------------------------------------------------------------------------------------

fn yaml(document: &[Field]) -> String {
    let mut out = String::new();
    for f in document {
        write_comments(&mut out, &f.comments, 0);
        write_field(&mut out, &f.key, &f.value, 0);
    }
    out
}

fn write_comments(out: &mut String, comments: &[String], indent: usize) {
    for comment in comments {
        for line in comment.lines() {
            out.push_str(&" ".repeat(indent));
            out.push_str("# ");
            out.push_str(line);
            out.push('\n');
        }
    }
}

fn write_field(out: &mut String, key: &str, value: &Out, indent: usize) {
    out.push_str(&" ".repeat(indent));
    out.push_str(&scalar_text(key));
    out.push(':');
    write_value_after_key(out, value, indent);
}

/// A value after `key:` — inline when it is a scalar or empty, else on the following lines.
fn write_value_after_key(out: &mut String, value: &Out, indent: usize) {
    match value {
        Out::Value(v) if !is_block(v) => {
            out.push(' ');
            out.push_str(&inline_value(v));
            out.push('\n');
        }
        Out::Value(v) => {
            out.push('\n');
            write_block_value(out, v, indent + 2);
        }
        Out::Map(fields) if fields.is_empty() => out.push_str(" {}\n"),
        Out::List(items) if items.is_empty() => out.push_str(" []\n"),
        Out::Map(fields) => {
            out.push('\n');
            for f in fields {
                write_comments(out, &f.comments, indent + 2);
                write_field(out, &f.key, &f.value, indent + 2);
            }
        }
        Out::List(items) => {
            out.push('\n');
            for item in items {
                write_comments(out, &item.comments, indent + 2);
                write_item(out, &item.value, indent + 2);
            }
        }
    }
}

/// A list item at `indent`: `- ` then the value, its continuation lines indented past the dash.
fn write_item(out: &mut String, value: &Out, indent: usize) {
    let mut body = String::new();
    match value {
        Out::Value(v) if is_block(v) => write_block_value(&mut body, v, 0),
        Out::Value(v) => {
            body.push_str(&inline_value(v));
            body.push('\n');
        }
        Out::Map(fields) if fields.is_empty() => body.push_str("{}\n"),
        Out::List(items) if items.is_empty() => body.push_str("[]\n"),
        Out::Map(fields) => {
            for f in fields {
                write_comments(&mut body, &f.comments, 0);
                write_field(&mut body, &f.key, &f.value, 0);
            }
        }
        Out::List(items) => {
            for item in items {
                write_comments(&mut body, &item.comments, 0);
                write_item(&mut body, &item.value, 0);
            }
        }
    }
    for (i, line) in body.lines().enumerate() {
        if i == 0 {
            out.push_str(&" ".repeat(indent));
            out.push_str("- ");
        } else {
            out.push_str(&" ".repeat(indent + 2));
        }
        out.push_str(line);
        out.push('\n');
    }
}

fn is_block(value: &Value) -> bool {
    match value {
        Value::Map(map, _) => !map.read().is_empty(),
        Value::List(items, _) => !items.is_empty(),
        _ => false,
    }
}

fn write_block_value(out: &mut String, value: &Value, indent: usize) {
    match value {
        Value::Map(map, _) => {
            for (key, item) in map.read().iter() {
                write_field(out, key, &Out::Value(item.clone()), indent);
            }
        }
        Value::List(items, _) => {
            for item in items.iter() {
                write_item(out, &Out::Value(item.clone()), indent);
            }
        }
        other => {
            out.push_str(&" ".repeat(indent));
            out.push_str(&inline_value(other));
            out.push('\n');
        }
    }
}

fn inline_value(value: &Value) -> String {
    match value {
        Value::Nil => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i, _) => i.to_string(),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or_else(|| ".nan".to_string(), |n| n.to_string()),
        Value::String(s) => scalar_text(s),
        Value::Map(..) => "{}".into(),
        Value::List(..) => "[]".into(),
        other => scalar_text(&helmfire_template::fmt::sprint_value(other)),
    }
}

/// A string as a plain scalar when both YAML 1.1 and 1.2 read it back as that string, else
/// double-quoted (JSON escaping is valid YAML).
fn scalar_text(s: &str) -> String {
    let plain = !s.is_empty()
        && s.trim() == s
        && !s.starts_with([
            '-', '?', ':', ',', '[', ']', '{', '}', '#', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`', '$',
        ])
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.ends_with(':')
        && !s.chars().any(|c| c.is_control())
        && helmfire_value::yaml::resolve_plain(s) == helmfire_value::yaml::Resolved::Str
        && crate::state::yaml::core_is_string(s);
    if plain {
        s.to_string()
    } else {
        serde_json::Value::String(s.to_string()).to_string()
    }
}

// ---- TOML ------------------------------------------------------------------------------------

fn toml(document: &[Field]) -> Result<String, StateError> {
    let mut out = String::new();
    for f in document {
        for comment in &f.comments {
            out.push_str(&format!("# {comment}\n"));
        }
    }
    let mut head = Map::new();
    let mut releases = Vec::new();
    for f in document {
        if f.key == "releases" {
            if let Out::List(items) = &f.value {
                releases = items.clone();
            }
        } else {
            head.insert(f.key.clone(), to_value(&f.value)?);
        }
    }
    if !head.is_empty() {
        out.push('\n');
        out.push_str(&encode_toml(&Value::Map(MapRef::new(head), MapType::Interface))?);
    }
    for item in releases {
        out.push('\n');
        for comment in &item.comments {
            out.push_str(&format!("# {comment}\n"));
        }
        if let Out::Map(fields) = &item.value {
            for f in fields {
                for comment in &f.comments {
                    out.push_str(&format!("# {}: {comment}\n", f.key));
                }
            }
        }
        let mut wrapper = Map::new();
        wrapper.insert(
            "releases".into(),
            Value::List(std::sync::Arc::new(vec![to_value(&item.value)?]), ListType::Interface),
        );
        out.push_str(&encode_toml(&Value::Map(MapRef::new(wrapper), MapType::Interface))?);
    }
    Ok(out)
}

fn encode_toml(value: &Value) -> Result<String, StateError> {
    helmfire_value::toml::encode(value)
        .map_err(|e| Diagnostic::new(format!("cannot write TOML: {}", e.message), None).into())
}

fn to_value(out: &Out) -> Result<Value, StateError> {
    Ok(match out {
        Out::Value(value) => {
            if has_null(value) {
                return Err(
                    Diagnostic::new("the values hold `null`, which TOML cannot express", None)
                        .with_hint("import as YAML (without `--toml`)")
                        .into(),
                );
            }
            value.clone()
        }
        Out::Map(fields) => {
            let mut map = BTreeMap::new();
            for f in fields {
                map.insert(f.key.clone(), to_value(&f.value)?);
            }
            Value::Map(MapRef::new(map), MapType::Interface)
        }
        Out::List(items) => Value::List(
            std::sync::Arc::new(items.iter().map(|i| to_value(&i.value)).collect::<Result<_, _>>()?),
            ListType::Interface,
        ),
    })
}

fn has_null(value: &Value) -> bool {
    match value {
        Value::Nil => true,
        Value::Map(map, _) => map.read().values().any(has_null),
        Value::List(items, _) => items.iter().any(has_null),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_quoted_when_either_yaml_reads_them_otherwise() {
        assert_eq!(scalar_text("web"), "web");
        assert_eq!(scalar_text("yes"), "\"yes\"");
        assert_eq!(scalar_text("0o17"), "\"0o17\"");
        assert_eq!(scalar_text("1.10"), "\"1.10\"");
        assert_eq!(scalar_text("${{ x }}"), "\"${{ x }}\"");
        assert_eq!(scalar_text("a: b"), "\"a: b\"");
        assert_eq!(scalar_text(""), "\"\"");
    }

    #[test]
    fn paths_are_made_relative() {
        assert_eq!(
            relative(Path::new("/a/b/c.yaml"), Path::new("/a")),
            PathBuf::from("b/c.yaml")
        );
        assert_eq!(
            relative(Path::new("/a/x.yaml"), Path::new("/a/b")),
            PathBuf::from("../x.yaml")
        );
    }

    #[test]
    fn differing_strings_become_expressions() {
        let a = Value::from("values/dev.yaml");
        let b = Value::from("values/prod.yaml");
        let merged = per_environment_value(&[("dev", &a), ("prod", &b)]).unwrap();
        assert_eq!(
            merged.as_str().unwrap(),
            "${{ #{\"dev\": \"values/dev.yaml\", \"prod\": \"values/prod.yaml\"}[environment.name] }}"
        );
        let n1 = Value::Int(1, helmfire_value::IntType::Int);
        let n2 = Value::Int(2, helmfire_value::IntType::Int);
        assert!(per_environment_value(&[("dev", &n1), ("prod", &n2)]).is_none());
    }
}
