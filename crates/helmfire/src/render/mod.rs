//! Stage ⑤b: charts to manifests, as Helm v4.1.4's `pkg/engine` and `pkg/release/v1/util` do it.
//!
//! [`render_chart`] puts every template of a (prepared) chart and its enabled subcharts into one
//! template set, executes the non-partials with per-chart built-in objects and strips
//! `<no value>`; [`manifest::sort_manifests`] splits the files into documents, separates hooks
//! and orders both by kind; [`manifest::template_output`] frames them exactly as `helm template`
//! prints them. In between, [`postrender`] runs the release's post-renderers over the files. This module never prints and never touches a cluster.

pub mod manifest;
pub mod objects;
pub mod postrender;
mod release;
mod retire;

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use helmfire_chart::Chart;
use helmfire_template::{Context, Functions, TemplateError, TemplateSet};
use helmfire_value::{Map, MapRef, MapType, Value};

pub use manifest::{Hook, Manifest, OutputOptions, Sorted, sort_manifests, template_output};
pub use objects::{Capabilities, Files};
pub use release::{ReleaseRender, RenderedRelease, UserValues, render_release, render_with_values};
pub use retire::{exiting_after_this_render, retire};

/// Why rendering failed. `Display` is Helm's text (what follows `Error: `).
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The chart directory or archive does not exist.
    #[error("path {:?} not found", path.to_string_lossy())]
    ChartNotFound { path: std::path::PathBuf },
    /// The chart could not be loaded (or a fetched dependency attached).
    #[error(transparent)]
    Load(helmfire_chart::ChartError),
    /// The user values could not be read, or do not fit the chart (schema, dependencies).
    #[error(transparent)]
    Values(helmfire_chart::values::ValuesError),
    /// helm's `ValidateReleaseName`.
    #[error(
        "release name check failed: release name {0:?}: invalid release name, must match regex ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$ and the length must not be longer than 53"
    )]
    ReleaseName(String),
    /// A template failed to parse or execute: Helm's reformatted message.
    #[error("{message}")]
    Template {
        file: String,
        message: String,
        source: Box<TemplateError>,
    },
    /// The chart's `kubeVersion` constraint excludes the target Kubernetes version.
    #[error("chart requires kubeVersion: {constraint} which is incompatible with Kubernetes {version}")]
    KubeVersion { constraint: String, version: String },
    /// A rendered document's head is not YAML Helm can read.
    #[error("YAML parse error on {file}: {message}")]
    Yaml { file: String, message: String },
    /// A post-renderer failed or produced what helm cannot use (boxed: render results stay
    /// small).
    #[error(transparent)]
    PostRender(Box<postrender::PostRenderError>),
}

impl RenderError {
    /// A chart file the loader left unread that could not be read when asked for (the
    /// loader's `error reading NAME: open PATH: …`).
    pub(crate) fn unreadable(message: String) -> RenderError {
        RenderError::Load(helmfire_chart::ChartError::Helm(message))
    }
}

impl From<postrender::PostRenderError> for RenderError {
    fn from(error: postrender::PostRenderError) -> RenderError {
        RenderError::PostRender(Box::new(error))
    }
}

/// `.Release`.
#[derive(Clone, Debug)]
pub struct ReleaseInfo {
    pub name: String,
    pub namespace: String,
    pub revision: i64,
    pub is_upgrade: bool,
}

impl ReleaseInfo {
    fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("Name".into(), Value::from(self.name.clone()));
        m.insert("Namespace".into(), Value::from(self.namespace.clone()));
        m.insert("IsUpgrade".into(), Value::Bool(self.is_upgrade));
        m.insert("IsInstall".into(), Value::Bool(!self.is_upgrade));
        m.insert(
            "Revision".into(),
            Value::Int(self.revision, helmfire_value::IntType::Int),
        );
        m.insert("Service".into(), Value::from("Helm"));
        Value::map(m)
    }
}

/// One template to execute: its source and the context map of its chart.
struct Renderable {
    text: Arc<str>,
    vals: MapRef,
    base_path: String,
}

/// The rendered files, keyed by template path (`chart/templates/x.yaml`), partials excluded;
/// NOTES.txt files included (the caller separates them, see [`split_notes`]).
pub type Rendered = BTreeMap<String, String>;

/// Renders a chart whose dependencies were processed and whose values were coalesced
/// (`values::prepare`): Helm's `Engine.Render`.
pub fn render_chart(
    chart: &Chart,
    values: &Map,
    release: &ReleaseInfo,
    caps: &Capabilities,
    ctx: &mut Context,
) -> Result<Rendered, RenderError> {
    // helm checks the normalized `vM.m.p` but names the version as given.
    if !chart.metadata.kube_version.is_empty()
        && !helmfire_template::semver::is_compatible_range(&chart.metadata.kube_version, &caps.kube_version.normalized)
    {
        return Err(RenderError::KubeVersion {
            constraint: chart.metadata.kube_version.clone(),
            version: caps.kube_version.version.clone(),
        });
    }
    let mut top = Map::new();
    // `.Values` is a `common.Values`, with its methods (`.Values.AsMap`, `.Values.Table "x"`).
    top.insert("Values".into(), values_object(MapRef::new(values.clone())));
    top.insert("Release".into(), release.to_value());
    top.insert("Capabilities".into(), Value::Object(Arc::new(caps.clone())));
    let mut templates = BTreeMap::new();
    collect(chart, None, &top, &mut templates, true);

    let mut keys: Vec<&String> = templates.keys().collect();
    // Helm's sortTemplates: deeper paths first, then reverse lexical, so the shallowest
    // (parent) definition of a duplicated `define` is parsed last and wins.
    keys.sort_by(|a, b| {
        let (ca, cb) = (a.matches('/').count(), b.matches('/').count());
        cb.cmp(&ca).then_with(|| b.cmp(a))
    });

    let mut set = TemplateSet::new(FUNCTIONS.clone());
    let files: Vec<(&str, &str)> = keys.iter().map(|k| (k.as_str(), &*templates[*k].text)).collect();
    let threads = || std::thread::available_parallelism().map_or(1, usize::from);
    if let Err((i, e)) = set.parse_all(&files, threads) {
        let key = files[i].0;
        let e = TemplateError::Parse(e);
        return Err(RenderError::Template {
            file: key.to_string(),
            message: e.helm_message(key),
            source: Box::new(e),
        });
    }
    let mut rendered = Rendered::new();
    for key in &keys {
        if base_name(key).starts_with('_') {
            continue;
        }
        let r = &templates[*key];
        let mut t = Map::new();
        t.insert("Name".into(), Value::from(key.to_string()));
        t.insert("BasePath".into(), Value::from(r.base_path.clone()));
        r.vals.write().insert("Template".into(), values_object(MapRef::new(t)));
        let data = Value::Map(r.vals.clone(), MapType::Interface);
        match set.execute_helm(key, &data, ctx) {
            Ok(out) => {
                rendered.insert(key.to_string(), out);
            }
            Err(e) => {
                // The template may have failed on what an unreadable file read as.
                read_failure(chart)?;
                return Err(RenderError::Template {
                    file: key.to_string(),
                    message: e.helm_message(key),
                    source: Box::new(e),
                });
            }
        }
    }
    retire((set, templates));
    read_failure(chart)?;
    Ok(rendered)
}

/// The first chart file (of `chart` or a subchart) that a template asked for and that could
/// not be read (`.Files` read it as empty), as the render's error.
fn read_failure(chart: &Chart) -> Result<(), RenderError> {
    fn first(chart: &Chart) -> Option<String> {
        chart
            .templates
            .iter()
            .chain(&chart.files)
            .find_map(|f| f.data.failure().map(str::to_string))
            .or_else(|| chart.dependencies.iter().find_map(first))
    }
    match first(chart) {
        Some(message) => Err(RenderError::unreadable(message)),
        None => Ok(()),
    }
}

/// Helm's `recAllTpls`: builds this chart's context map, recurses into subcharts (each visible
/// under `.Subcharts.<name>`), and registers the templates under their full paths.
fn collect(
    chart: &Chart,
    parent_full_path: Option<&str>,
    parent: &Map,
    templates: &mut BTreeMap<String, Renderable>,
    is_root: bool,
) -> MapRef {
    let full_path = match parent_full_path {
        None => chart.name().to_string(),
        Some(p) => format!("{p}/charts/{}", chart.name()),
    };
    let meta = chart.metadata.to_template_value();
    if let Some(m) = meta.as_map() {
        m.write().insert("IsRoot".into(), Value::Bool(is_root));
    }
    let files = Files {
        entries: chart.files.iter().map(|f| (f.name.clone(), f.data.clone())).collect(),
    };
    // helm's `values.Table("Values.<name>")`: the subchart's table as `common.Values` (the
    // same map), or an empty one.
    let values = if is_root {
        parent
            .get("Values")
            .cloned()
            .unwrap_or_else(|| values_object(MapRef::new(Map::new())))
    } else {
        let table = match parent.get("Values") {
            Some(Value::Map(m, _)) => match m.read().get(chart.name()) {
                Some(Value::Map(table, t)) if t.holds_interfaces() => Some(table.clone()),
                _ => None,
            },
            _ => None,
        };
        values_object(table.unwrap_or_else(|| MapRef::new(Map::new())))
    };
    let mut next = Map::new();
    next.insert("Chart".into(), meta);
    next.insert("Files".into(), Value::Object(Arc::new(files)));
    next.insert("Release".into(), parent.get("Release").cloned().unwrap_or_default());
    next.insert(
        "Capabilities".into(),
        parent.get("Capabilities").cloned().unwrap_or_default(),
    );
    next.insert("Values".into(), values);
    let subcharts = MapRef::new(Map::new());
    next.insert("Subcharts".into(), Value::Map(subcharts.clone(), MapType::Interface));
    let snapshot = next.clone();
    let next = MapRef::new(next);
    for dep in &chart.dependencies {
        let child = collect(dep, Some(&full_path), &snapshot, templates, false);
        subcharts
            .write()
            .insert(dep.name().to_string(), Value::Map(child, MapType::Interface));
    }
    let library = chart.is_library();
    for t in &chart.templates {
        // Library charts contribute only their partials.
        if library && !base_name(&t.name).starts_with('_') {
            continue;
        }
        templates.insert(
            format!("{full_path}/{}", t.name),
            Renderable {
                text: Arc::from(utf8_text(t.data.get().map_or(&[][..], |b| &**b)).as_ref()),
                vals: next.clone(),
                base_path: format!("{full_path}/templates"),
            },
        );
    }
    next
}

/// A `common.Values` over `map`.
fn values_object(map: MapRef) -> Value {
    Value::Map(map, MapType::Values)
}

/// Helm's function library, built once per process.
static FUNCTIONS: LazyLock<Arc<Functions>> = LazyLock::new(|| Arc::new(Functions::helm()));

fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Removes every `*NOTES.txt` file from `rendered` (Helm never emits them as manifests) and
/// returns the root chart's notes.
pub fn split_notes(rendered: &mut Rendered, root_chart: &str) -> Option<String> {
    let keys: Vec<String> = rendered.keys().filter(|k| k.ends_with("NOTES.txt")).cloned().collect();
    let mut notes = None;
    let root_notes = format!("{root_chart}/templates/NOTES.txt");
    for k in keys {
        let v = rendered.remove(&k);
        if k == root_notes {
            notes = v;
        }
    }
    notes
}

/// Runs `work` over `items` on up to `workers` scoped threads, each taking the next item as it
/// finishes one (a slow release never holds back a batch); results in input order. An item
/// whose work panicked gets `None` instead of taking the others down.
pub fn parallel_map<T: Sync, R: Send>(items: &[T], workers: usize, work: impl Fn(&T) -> R + Sync) -> Vec<Option<R>> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<R>>> = items.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers.clamp(1, items.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(item)));
                    if let Ok(result) = result {
                        *results[i].lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(result);
                    }
                }
            });
        }
    });
    results
        .into_iter()
        .map(|slot| slot.into_inner().unwrap_or_else(|poisoned| poisoned.into_inner()))
        .collect()
}

/// `data` as text, invalid UTF-8 replaced as Go's `string([]byte)` then printing would show it
/// (U+FFFD). Valid text, nearly always, is checked a word at a time; the lossy decoder's own
/// check goes a byte at a time.
pub(crate) fn utf8_text(data: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(data) {
        Ok(text) => std::borrow::Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(data),
    }
}
