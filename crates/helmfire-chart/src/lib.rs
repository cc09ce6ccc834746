//! Charts, from where they are declared to the values a render sees: chart references and
//! repositories ([`mod@reference`]), fetching them from HTTP repositories and OCI registries with a
//! lock file and a shared cache ([`source`]), loading chart directories and `.tgz` archives as
//! Helm v4.1.4's `pkg/chart/v2/loader` does (Chart.yaml, values.yaml, templates/, charts/,
//! crds/, `.helmignore`, every other file kept for `.Files`), and Helm's values pipeline
//! ([`values`]: user values, dependencies, coalescing, schema). Directories and archives are
//! untrusted input. This crate never renders and never touches a cluster.

#![forbid(unsafe_code)]

pub mod archive;
pub mod ignore;
pub mod metadata;
pub mod plugin;
pub mod reference;
/// The one Masterminds semver (helm v4.1.4's v3.4.0), shared with the template functions.
pub use helmfire_template::semver;
pub mod source;
pub mod values;

use std::path::Path;
use std::sync::Arc;

pub use metadata::{Dependency, Maintainer, Metadata};

use helmfire_value::{Map, Value};

/// A file of a chart: its slash-separated path relative to the chart root and its bytes
/// (a leading UTF-8 BOM already removed).
#[derive(Clone, Debug, PartialEq)]
pub struct ChartFile {
    pub name: String,
    pub data: FileData,
}

/// The bytes of a chart file. A large file of a chart directory that only `.Files`, CRDs or a
/// release record can ask for (READMEs, dashboards, `crds/`, test suites: most of the bytes of
/// many charts) is read when first asked for: `helm template` of such a chart never looks at
/// them, and reading them was a quarter of some charts' render. The loader has opened it and
/// checked its size, as Helm's does, so what Helm refuses at load is still refused at load.
#[derive(Clone)]
pub struct FileData(Arc<Contents>);

struct Contents {
    /// Where to read a file left unread: its path and the name errors give it.
    deferred: Option<(std::path::PathBuf, String)>,
    bytes: std::sync::OnceLock<Result<Arc<[u8]>, String>>,
}

impl FileData {
    fn deferred(path: std::path::PathBuf, name: String) -> FileData {
        FileData(Arc::new(Contents {
            deferred: Some((path, name)),
            bytes: std::sync::OnceLock::new(),
        }))
    }

    /// The bytes, read now if they were left unread. The error is the loader's text
    /// (`error reading crds/a.yaml: open /charts/x/crds/a.yaml: permission denied`).
    pub fn get(&self) -> Result<&Arc<[u8]>, String> {
        self.0
            .bytes
            .get_or_init(|| match &self.0.deferred {
                Some((path, name)) => read_chart_file(path, name).map(Arc::from),
                None => Ok(Arc::from(Vec::new())),
            })
            .as_ref()
            .map_err(String::clone)
    }

    /// Why reading the bytes failed, if they were asked for and could not be read.
    pub fn failure(&self) -> Option<&str> {
        match self.0.bytes.get() {
            Some(Err(message)) => Some(message),
            _ => None,
        }
    }

    /// Whether the bytes are in memory (tests of what the loader defers).
    pub fn is_read(&self) -> bool {
        self.0.bytes.get().is_some()
    }
}

impl From<Arc<[u8]>> for FileData {
    fn from(bytes: Arc<[u8]>) -> FileData {
        FileData(Arc::new(Contents {
            deferred: None,
            bytes: std::sync::OnceLock::from(Ok(bytes)),
        }))
    }
}

impl From<Vec<u8>> for FileData {
    fn from(bytes: Vec<u8>) -> FileData {
        FileData::from(Arc::<[u8]>::from(bytes))
    }
}

impl From<&[u8]> for FileData {
    fn from(bytes: &[u8]) -> FileData {
        FileData::from(Arc::<[u8]>::from(bytes))
    }
}

impl PartialEq for FileData {
    fn eq(&self, other: &FileData) -> bool {
        Arc::ptr_eq(&self.0, &other.0) || self.get() == other.get()
    }
}

impl std::fmt::Debug for FileData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.0.bytes.get(), &self.0.deferred) {
            (Some(Ok(bytes)), _) => write!(f, "{} bytes", bytes.len()),
            (Some(Err(message)), _) => write!(f, "unreadable: {message}"),
            (None, Some((path, _))) => write!(f, "unread: {}", path.display()),
            (None, None) => f.write_str("empty"),
        }
    }
}

/// A file's bytes as the loader keeps them: at most Helm's size limit, a leading UTF-8 BOM
/// removed. Errors are Helm's `error reading NAME: open PATH: …`.
fn read_chart_file(path: &Path, name: &str) -> Result<Vec<u8>, String> {
    let reading = |e: std::io::Error| format!("error reading {name}: open {}: {}", path.display(), go_io_message(&e));
    let file = std::fs::File::open(path).map_err(reading)?;
    let mut data = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(file, archive::MAX_DECOMPRESSED_FILE_SIZE + 1),
        &mut data,
    )
    .map_err(reading)?;
    if data.len() as u64 > archive::MAX_DECOMPRESSED_FILE_SIZE {
        return Err(format!(
            "chart file {} is larger than the maximum file size {}",
            metadata::go_quote(name.rsplit('/').next().unwrap_or(name)),
            archive::MAX_DECOMPRESSED_FILE_SIZE
        ));
    }
    if data.starts_with(b"\xEF\xBB\xBF") {
        data.drain(..3);
    }
    Ok(data)
}

/// A loaded chart and, recursively, its subcharts.
#[derive(Clone, Debug, Default)]
pub struct Chart {
    pub metadata: Metadata,
    /// Chart.lock (or requirements.lock for v1), decoded but otherwise uninterpreted.
    pub lock: Option<Value>,
    /// Everything under `templates/`, in load order.
    pub templates: Vec<ChartFile>,
    /// values.yaml, all documents merged. Dependency processing may later replace it with the
    /// tree including imported values, as Helm does.
    pub values: Map,
    /// values.schema.json, raw.
    pub schema: Option<Arc<[u8]>>,
    /// What `.Files` sees: every file that is not Chart.yaml, values.yaml, values.schema.json,
    /// a lock, a template or part of a subchart (crds/ and `charts/*.prov` included).
    pub files: Vec<ChartFile>,
    /// Every file exactly as loaded (Helm's `Chart.Raw`, used by `show values`).
    pub raw: Vec<ChartFile>,
    /// Subcharts found in `charts/`, sorted by their directory or archive name.
    pub dependencies: Vec<Chart>,
}

impl Chart {
    /// The chart's name (after alias substitution once dependencies are processed).
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// True for `type: library`.
    pub fn is_library(&self) -> bool {
        self.metadata.is_library()
    }

    /// The CRD files under `crds/` of this chart and its subcharts (Helm's `CRDObjects`):
    /// `(full path as helm prints it, file)`. `full_path` is this chart's `ChartFullPath`.
    pub fn crd_objects(&self, full_path: &str) -> Vec<(String, ChartFile)> {
        let mut out = Vec::new();
        for f in &self.files {
            if f.name.starts_with("crds/") && has_manifest_extension(&f.name) {
                out.push((format!("{full_path}/{}", f.name), f.clone()));
            }
        }
        for dep in &self.dependencies {
            out.extend(dep.crd_objects(&format!("{full_path}/charts/{}", dep.name())));
        }
        out
    }
}

fn has_manifest_extension(name: &str) -> bool {
    let base = name.rsplit('/').next().unwrap_or(name);
    match base.rfind('.') {
        Some(i) => {
            let ext = &base[i..];
            ext.eq_ignore_ascii_case(".yaml") || ext.eq_ignore_ascii_case(".yml") || ext.eq_ignore_ascii_case(".json")
        }
        None => false,
    }
}

/// Why a chart could not be loaded. `Display` is Helm's own text wherever Helm has one, so
/// that command output matches `helm`; fields carry the chart and entry for callers that
/// want to say more.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    /// A message exactly as Helm prints it, with no further structure.
    #[error("{0}")]
    Helm(String),
    /// A path, symlink or archive entry that would escape the chart.
    #[error("{message}")]
    Unsafe {
        chart: String,
        entry: String,
        message: String,
    },
    /// A file or archive over Helm's decompressed size limits.
    #[error("{message}")]
    TooLarge {
        chart: String,
        entry: String,
        message: String,
    },
    /// A device, socket, pipe or link where a regular file was expected.
    #[error("cannot load irregular file {path} as it has file mode type bits set")]
    Irregular { chart: String, path: String },
    /// A broken gzip or tar stream.
    #[error("{message}")]
    Archive { chart: String, message: String },
    /// File system access failed (Go's `*PathError` text).
    #[error("{op} {path}: {message}")]
    Io {
        op: &'static str,
        path: String,
        message: String,
    },
    /// A `.helmignore` that does not parse.
    #[error(transparent)]
    Ignore(#[from] ignore::IgnoreError),
    /// A chart archive was refused; Helm prints only this summary, the cause says why.
    #[error("unable to load chart archive")]
    ArchiveRejected {
        #[source]
        source: Box<ChartError>,
    },
    /// A subchart failed to load; Helm's wrapping text.
    #[error("error unpacking subchart {name} in {parent}: {source}")]
    Subchart {
        name: String,
        parent: String,
        #[source]
        source: Box<ChartError>,
    },
}

impl ChartError {
    /// The chart and entry the error is about, when known (for diagnostics beyond Helm's text).
    pub fn entry(&self) -> Option<(&str, &str)> {
        match self {
            ChartError::Unsafe { chart, entry, .. } | ChartError::TooLarge { chart, entry, .. } => Some((chart, entry)),
            ChartError::Irregular { chart, path } => Some((chart, path)),
            ChartError::Subchart { source, .. } | ChartError::ArchiveRejected { source } => source.entry(),
            _ => None,
        }
    }
}

/// Go's `*PathError` message for an I/O error (`open x: no such file or directory`).
pub fn go_io_message(e: &std::io::Error) -> String {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::NotFound => "no such file or directory".into(),
        ErrorKind::PermissionDenied => "permission denied".into(),
        ErrorKind::IsADirectory => "is a directory".into(),
        ErrorKind::NotADirectory => "not a directory".into(),
        _ => {
            // Drop Rust's " (os error N)" suffix; the rest is strerror like Go's.
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => {
                    let mut m = s[..i].to_string();
                    if let Some(first) = m.get(..1) {
                        let lower = first.to_lowercase();
                        m.replace_range(..1, &lower);
                    }
                    m
                }
                None => s,
            }
        }
    }
}

fn io_error(op: &'static str, path: &Path, e: &std::io::Error) -> ChartError {
    ChartError::Io {
        op,
        path: path.display().to_string(),
        message: go_io_message(e),
    }
}

/// A file as read from a directory or archive, before classification.
#[derive(Clone, Debug)]
pub struct LoadedFile {
    pub name: String,
    pub data: FileData,
}

/// Loads a chart directory or `.tgz` archive as `helm template/install` does (Helm's generic
/// `pkg/chart/loader.Load`, which first detects the chart's apiVersion, then hands over to the
/// v2 loader).
pub fn load(path: &Path) -> Result<Chart, ChartError> {
    let meta = std::fs::metadata(path).map_err(|e| io_error("stat", path, &e))?;
    if meta.is_dir() {
        let top = std::path::absolute(path).map_err(|e| io_error("stat", path, &e))?;
        let chart_yaml = top.join("Chart.yaml");
        let data = std::fs::read(&chart_yaml).map_err(|e| {
            ChartError::Helm(format!(
                "unable to detect chart at {}: open {}: {}",
                chart_yaml.display(),
                chart_yaml.display(),
                go_io_message(&e)
            ))
        })?;
        if check_api_version(&data)? == ApiVersion::V3 {
            // Helm loads v3 charts (validating them) and only then refuses to install them.
            load_dir(path)?;
            return Err(ChartError::Helm("invalid chart apiVersion".into()));
        }
        load_dir(path)
    } else {
        load_file(path)
    }
}

/// The apiVersion switch of Helm's generic loader: v1, v2 and empty go to the v2 loader.
/// v3 charts load in Helm but `install`/`template` then refuse them; we refuse them here with
/// the same text.
#[derive(Debug, PartialEq, Eq)]
enum ApiVersion {
    V2,
    V3,
}

fn check_api_version(chart_yaml: &[u8]) -> Result<ApiVersion, ChartError> {
    let doc = decode_yaml(chart_yaml).map_err(|e| ChartError::Helm(format!("cannot load Chart.yaml: {e}")))?;
    // Helm decodes into a struct with only `apiVersion`, so other fields cannot fail here.
    let only_api_version = match &doc {
        Value::Map(m, _) => {
            let m = m.read();
            let api = m.get("apiVersion").or_else(|| {
                m.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("apiVersion"))
                    .map(|(_, v)| v)
            });
            Value::map(api.map(|v| ("apiVersion".to_string(), v.clone())).into_iter().collect())
        }
        other => other.clone(),
    };
    let mut base = Metadata::default();
    base.apply(&only_api_version).map_err(|e| {
        ChartError::Helm(format!(
            "cannot load Chart.yaml: {}",
            e.replace("Metadata", "chartBase")
        ))
    })?;
    match base.api_version.as_str() {
        "v1" | "v2" | "" => Ok(ApiVersion::V2),
        "v3" => Ok(ApiVersion::V3),
        _ => Err(ChartError::Helm("unsupported chart version".into())),
    }
}

/// Loads a chart archive file as Helm's generic `LoadFile` does: the archive's own errors are
/// summarised as `unable to load chart archive` (the cause stays available as the source).
pub fn load_file(path: &Path) -> Result<Chart, ChartError> {
    let data = std::fs::read(path).map_err(|e| io_error("open", path, &e))?;
    let name = path.display().to_string();
    archive::ensure_archive(&name, &data)?;
    let files = archive::load_archive_files(&data, &name).map_err(|e| match e {
        ChartError::Archive { ref message, .. } if message == "gzip: invalid header" => ChartError::Helm(format!(
            "file '{name}' does not appear to be a valid chart file (details: gzip: invalid header)"
        )),
        other => ChartError::ArchiveRejected {
            source: Box::new(other),
        },
    })?;
    let Some(chart_yaml) = files.iter().find(|f| f.name == "Chart.yaml") else {
        return Err(ChartError::Helm(
            "unable to detect chart version, no Chart.yaml found".into(),
        ));
    };
    let version = check_api_version(bytes(&chart_yaml.data)?)?;
    let chart = load_files(files)?;
    if version == ApiVersion::V3 {
        return Err(ChartError::Helm("invalid chart apiVersion".into()));
    }
    Ok(chart)
}

/// Loads a chart from the bytes of a `.tgz`; `name` identifies it in errors.
pub fn load_archive(data: &[u8], name: &str) -> Result<Chart, ChartError> {
    let files = archive::load_archive_files(data, name)?;
    load_files(files)
}

/// Loads a chart directory (Helm's `LoadDir`), honouring `.helmignore`. Symlinks are followed
/// as Helm follows them, but only while they stay inside the chart directory.
pub fn load_dir(dir: &Path) -> Result<Chart, ChartError> {
    let top = std::path::absolute(dir).map_err(|e| io_error("stat", dir, &e))?;
    let chart_name = top
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let canonical_top = std::fs::canonicalize(&top).map_err(|e| io_error("stat", &top, &e))?;
    let mut rules = ignore::Rules::default();
    let ignore_file = top.join(ignore::HELM_IGNORE);
    if ignore_file.exists() {
        let text = std::fs::read(&ignore_file).map_err(|e| io_error("open", &ignore_file, &e))?;
        rules = ignore::Rules::parse(&String::from_utf8_lossy(&text))?;
    }
    rules.add_defaults();
    let mut walker = DirWalker {
        canonical_top: &canonical_top,
        chart: &chart_name,
        rules: &rules,
        files: Vec::new(),
    };
    walker.walk_dir(&top, "")?;
    load_files(walker.files)
}

struct DirWalker<'a> {
    canonical_top: &'a Path,
    chart: &'a str,
    rules: &'a ignore::Rules,
    files: Vec<LoadedFile>,
}

impl DirWalker<'_> {
    /// Visits the entries of `dir` (whose chart-relative name is `rel`) in lexical order, as
    /// Helm's `sympath.Walk` does.
    fn walk_dir(&mut self, dir: &Path, rel: &str) -> Result<(), ChartError> {
        let read = std::fs::read_dir(dir).map_err(|e| io_error("open", dir, &e))?;
        // The directory says each entry's type (without a system call per entry, where the
        // file system records it); the size is read from the open file.
        let mut entries: Vec<(std::ffi::OsString, Option<std::fs::FileType>)> = Vec::new();
        for entry in read {
            let entry = entry.map_err(|e| io_error("readdirent", dir, &e))?;
            entries.push((entry.file_name(), entry.file_type().ok()));
        }
        entries.sort_by(|a, b| a.0.as_encoded_bytes().cmp(b.0.as_encoded_bytes()));
        for (name, file_type) in entries {
            let path = dir.join(&name);
            let name = name.to_string_lossy();
            let rel = if rel.is_empty() {
                name.to_string()
            } else {
                format!("{rel}/{name}")
            };
            self.visit(&path, &rel, file_type)?;
        }
        Ok(())
    }

    fn visit(&mut self, path: &Path, rel: &str, file_type: Option<std::fs::FileType>) -> Result<(), ChartError> {
        let file_type = match file_type {
            Some(known) => known,
            None => std::fs::symlink_metadata(path)
                .map_err(|e| io_error("lstat", path, &e))?
                .file_type(),
        };
        // What a symlink resolves to: a directory, or a regular file and its size.
        let mut linked: Option<std::fs::Metadata> = None;
        if file_type.is_symlink() {
            let resolved = std::fs::canonicalize(path).map_err(|e| {
                ChartError::Helm(format!(
                    "error evaluating symlink {}: {}",
                    path.display(),
                    go_io_message(&e)
                ))
            })?;
            let target = std::fs::metadata(&resolved).map_err(|e| io_error("lstat", &resolved, &e))?;
            if !target.is_file() && !target.is_dir() {
                // Helm reports devices and sockets behind links as irregular files.
                return Err(ChartError::Irregular {
                    chart: self.chart.to_string(),
                    path: path.display().to_string(),
                });
            }
            if !resolved.starts_with(self.canonical_top) {
                return Err(ChartError::Unsafe {
                    chart: self.chart.to_string(),
                    entry: rel.to_string(),
                    message: format!(
                        "symlink `{rel}` in chart `{}` points outside the chart (to `{}`)",
                        self.chart,
                        resolved.display()
                    ),
                });
            }
            linked = Some(std::fs::metadata(&resolved).map_err(|e| io_error("lstat", &resolved, &e))?);
        }
        let (is_dir, is_file) = match &linked {
            Some(meta) => (meta.is_dir(), meta.is_file()),
            None => (file_type.is_dir(), file_type.is_file()),
        };
        if is_dir {
            if self.rules.ignore(rel, true) {
                return Ok(());
            }
            return self.walk_dir(path, rel);
        }
        if self.rules.ignore(rel, false) {
            return Ok(());
        }
        if !is_file {
            return Err(ChartError::Irregular {
                chart: self.chart.to_string(),
                path: path.display().to_string(),
            });
        }
        let reading = |e: std::io::Error| {
            ChartError::Helm(format!(
                "error reading {rel}: open {}: {}",
                path.display(),
                go_io_message(&e)
            ))
        };
        let mut file = std::fs::File::open(path).map_err(reading)?;
        let len = match &linked {
            Some(meta) => meta.len(),
            None => file.metadata().map_err(|e| io_error("lstat", path, &e))?.len(),
        };
        if len > archive::MAX_DECOMPRESSED_FILE_SIZE {
            let base = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            return Err(ChartError::TooLarge {
                chart: self.chart.to_string(),
                entry: rel.to_string(),
                message: format!(
                    "chart file {} is larger than the maximum file size {}",
                    metadata::go_quote(&base),
                    archive::MAX_DECOMPRESSED_FILE_SIZE
                ),
            });
        }
        // A link is read now: its target was checked to lie inside the chart, and reading it
        // later would follow the link again.
        if len >= DEFER_FROM && linked.is_none() && !needed_at_load(rel) {
            self.files.push(LoadedFile {
                name: rel.to_string(),
                data: FileData::deferred(path.to_path_buf(), rel.to_string()),
            });
            return Ok(());
        }
        let mut data = Vec::with_capacity(usize::try_from(len).unwrap_or(0).saturating_add(1));
        // Through `take`: `File`'s own `read_to_end` asks the file system for the size again.
        std::io::Read::read_to_end(&mut std::io::Read::take(&mut file, u64::MAX), &mut data).map_err(reading)?;
        if data.starts_with(b"\xEF\xBB\xBF") {
            data.drain(..3);
        }
        self.files.push(LoadedFile {
            name: rel.to_string(),
            data: data.into(),
        });
        Ok(())
    }
}

/// The size from which a chart directory's file that loading does not need is left unread
/// until asked for: below it, reading it while it is open costs less than opening it again.
const DEFER_FROM: u64 = 8 * 1024;

/// Whether loading reads the file at `rel` (a path from the top chart): the metadata, values,
/// schema and lock files and the templates of the chart or of a subchart directory, and
/// subchart archives. Every other file goes to `.Files`.
fn needed_at_load(rel: &str) -> bool {
    if rel.ends_with(".tgz") {
        return true;
    }
    let mut inner = rel;
    while let Some((_, rest)) = inner.strip_prefix("charts/").and_then(|r| r.split_once('/')) {
        inner = rest;
    }
    inner.starts_with("templates/")
        || matches!(
            inner,
            "Chart.yaml"
                | "Chart.lock"
                | "values.yaml"
                | "values.schema.json"
                | "requirements.yaml"
                | "requirements.lock"
        )
}

/// A file's bytes where loading needs them: read at load, so never an error but for a file
/// read later.
fn bytes(data: &FileData) -> Result<&[u8], ChartError> {
    data.get().map(|b| &**b).map_err(ChartError::Helm)
}

fn decode_yaml(data: &[u8]) -> Result<Value, String> {
    let text = String::from_utf8_lossy(data);
    helmfire_value::yaml::decode(&text).map_err(|e| e.message)
}

/// Helm's `LoadValues`: every YAML document of a values file, merged with [`merge_maps`].
pub fn load_values(data: &[u8]) -> Result<Map, String> {
    let text = String::from_utf8_lossy(data);
    let docs = helmfire_value::yaml::split_documents(&text).map_err(|e| e.message)?;
    let mut values = Map::new();
    for doc in docs {
        let current = helmfire_value::yaml::decode_map(doc)
            .map_err(|e| format!("cannot unmarshal yaml document: {}", e.message))?;
        values = merge_maps(values, current);
    }
    Ok(values)
}

/// Helm's `loader.MergeMaps`: `b` wins; maps merge recursively; nulls are kept as values.
pub fn merge_maps(a: Map, b: Map) -> Map {
    let mut out = a;
    for (k, v) in b {
        if let Value::Map(vm, _) = &v
            && let Some(Value::Map(existing, _)) = out.get(&k)
        {
            let merged = merge_maps(existing.read().clone(), vm.read().clone());
            out.insert(k, Value::map(merged));
            continue;
        }
        out.insert(k, v);
    }
    out
}

/// Helm's `LoadFiles`: classifies files and loads subcharts recursively.
pub fn load_files(files: Vec<LoadedFile>) -> Result<Chart, ChartError> {
    load_shared(
        files
            .into_iter()
            .map(|f| ChartFile {
                name: f.name,
                data: f.data,
            })
            .collect(),
    )
}

/// [`load_files`] over files already shared: `raw`, `files`, `templates` and the subcharts all
/// point at one copy of each file's bytes.
fn load_shared(files: Vec<ChartFile>) -> Result<Chart, ChartError> {
    let mut chart = Chart::default();
    let mut have_metadata = false;
    for f in &files {
        chart.raw.push(f.clone());
        if f.name == "Chart.yaml" {
            have_metadata = true;
            let doc =
                decode_yaml(bytes(&f.data)?).map_err(|e| ChartError::Helm(format!("cannot load Chart.yaml: {e}")))?;
            chart
                .metadata
                .apply(&doc)
                .map_err(|e| ChartError::Helm(format!("cannot load Chart.yaml: {e}")))?;
            if chart.metadata.api_version.is_empty() {
                chart.metadata.api_version = "v1".into();
            }
        }
    }
    let mut subcharts: std::collections::BTreeMap<String, Vec<ChartFile>> = Default::default();
    for f in files {
        let name = f.name.as_str();
        match name {
            "Chart.yaml" => {}
            "Chart.lock" | "requirements.lock" => {
                let doc =
                    decode_yaml(bytes(&f.data)?).map_err(|e| ChartError::Helm(format!("cannot load {name}: {e}")))?;
                chart.lock = Some(doc);
                if name == "requirements.lock" {
                    have_metadata = true;
                    if chart.metadata.api_version == "v1" {
                        chart.files.push(f.clone());
                    }
                }
            }
            "values.yaml" => {
                chart.values = load_values(bytes(&f.data)?)
                    .map_err(|e| ChartError::Helm(format!("cannot load values.yaml: {e}")))?;
            }
            "values.schema.json" => chart.schema = Some(f.data.get().map_err(ChartError::Helm)?.clone()),
            "requirements.yaml" => {
                have_metadata = true;
                let doc = decode_yaml(bytes(&f.data)?)
                    .map_err(|e| ChartError::Helm(format!("cannot load requirements.yaml: {e}")))?;
                chart
                    .metadata
                    .apply(&doc)
                    .map_err(|e| ChartError::Helm(format!("cannot load requirements.yaml: {e}")))?;
                if chart.metadata.api_version == "v1" {
                    chart.files.push(f.clone());
                }
            }
            _ if name.starts_with("templates/") => chart.templates.push(f.clone()),
            _ if name.starts_with("charts/") => {
                if name.ends_with(".prov") {
                    chart.files.push(f.clone());
                    continue;
                }
                let rest = &name["charts/".len()..];
                let cname = rest.split('/').next().unwrap_or("").to_string();
                subcharts.entry(cname).or_default().push(ChartFile {
                    name: rest.to_string(),
                    data: f.data.clone(),
                });
            }
            _ => chart.files.push(f.clone()),
        }
    }
    if !have_metadata {
        return Err(ChartError::Helm("Chart.yaml file is missing".into()));
    }
    chart.metadata.validate().map_err(ChartError::Helm)?;
    for (n, files) in subcharts {
        if n.starts_with('_') || n.starts_with('.') {
            continue;
        }
        let loaded = if n.ends_with(".tgz") {
            let Some(file) = files.into_iter().next() else { continue };
            if file.name != n {
                return Err(ChartError::Helm(format!(
                    "error unpacking subchart tar in {}: expected {n}, got {}",
                    chart.name(),
                    file.name
                )));
            }
            load_archive(bytes(&file.data)?, &format!("{}/charts/{n}", chart.name()))
        } else {
            let files: Vec<ChartFile> = files
                .into_iter()
                .filter_map(|f| {
                    f.name.split_once('/').map(|(_, rest)| ChartFile {
                        name: rest.to_string(),
                        data: f.data,
                    })
                })
                .collect();
            load_shared(files)
        };
        match loaded {
            Ok(sub) => chart.dependencies.push(sub),
            Err(e) => {
                return Err(ChartError::Subchart {
                    name: n,
                    parent: chart.name().to_string(),
                    source: Box::new(e),
                });
            }
        }
    }
    Ok(chart)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A chart directory under the system temp dir, removed on drop.
    struct TempChart(std::path::PathBuf);

    impl TempChart {
        fn new(name: &str, files: &[(&str, &[u8])]) -> TempChart {
            let dir = std::env::temp_dir().join(format!("helmfire-chart-lib-{}-{name}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            for (path, data) in files {
                let path = dir.join(path);
                std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
                std::fs::write(path, data).expect("write");
            }
            TempChart(dir)
        }
    }

    impl Drop for TempChart {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn file<'c>(files: &'c [ChartFile], name: &str) -> &'c ChartFile {
        files.iter().find(|f| f.name == name).expect(name)
    }

    #[test]
    fn large_files_only_files_see_are_read_when_asked_for() {
        let big = "x".repeat(DEFER_FROM as usize);
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(big.as_bytes());
        let values = format!("big: {big}\n");
        let template = format!("# {big}\n");
        let dir = TempChart::new(
            "defer",
            &[
                ("Chart.yaml", b"apiVersion: v2\nname: c\nversion: 1.0.0\n"),
                ("values.yaml", values.as_bytes()),
                ("templates/a.yaml", template.as_bytes()),
                ("README.md", big.as_bytes()),
                ("crds/bom.yaml", &bom),
                ("small.txt", b"small"),
                ("charts/d/Chart.yaml", b"apiVersion: v2\nname: d\nversion: 0.1.0\n"),
                ("charts/d/templates/b.yaml", template.as_bytes()),
                ("charts/d/files/big.txt", big.as_bytes()),
            ],
        );
        std::os::unix::fs::symlink(dir.0.join("README.md"), dir.0.join("linked.md")).expect("symlink");
        let chart = load(&dir.0).expect("loads");
        // A link is read at load, where its target was checked to lie inside the chart.
        assert!(file(&chart.files, "linked.md").data.is_read());
        // Loading needs the values and templates, of the chart and of its subchart.
        assert_eq!(chart.values.get("big").and_then(Value::as_str), Some(big.as_str()));
        assert!(file(&chart.templates, "templates/a.yaml").data.is_read());
        assert!(
            file(&chart.dependencies[0].templates, "templates/b.yaml")
                .data
                .is_read()
        );
        assert!(file(&chart.files, "small.txt").data.is_read());
        // The rest waits, and reads as the loader would have read it (a BOM removed).
        for (files, name) in [
            (&chart.files, "README.md"),
            (&chart.files, "crds/bom.yaml"),
            (&chart.dependencies[0].files, "files/big.txt"),
        ] {
            let data = &file(files, name).data;
            assert!(!data.is_read(), "{name} was read at load");
            assert_eq!(&**data.get().expect("reads"), big.as_bytes(), "{name}");
            assert!(data.is_read());
        }
        // `raw` shares the bytes, read once.
        assert!(file(&chart.raw, "README.md").data.is_read());
        assert!(needed_at_load("charts/a/charts/b/values.yaml"));
        assert!(needed_at_load("charts/b-1.0.0.tgz"));
        assert!(!needed_at_load("charts/a/files/values.yaml"));
        assert!(!needed_at_load("docs/templates.md"));
    }

    #[test]
    fn a_file_gone_before_it_is_read_is_an_error_naming_it() {
        let big = vec![b'y'; DEFER_FROM as usize];
        let dir = TempChart::new(
            "gone",
            &[
                ("Chart.yaml", b"apiVersion: v2\nname: c\nversion: 1.0.0\n"),
                ("files/big.txt", &big),
            ],
        );
        let chart = load(&dir.0).expect("loads");
        let path = dir.0.join("files/big.txt");
        std::fs::remove_file(&path).expect("rm");
        let data = &file(&chart.files, "files/big.txt").data;
        let expected = format!(
            "error reading files/big.txt: open {}: no such file or directory",
            path.display()
        );
        assert_eq!(data.get(), Err(expected.clone()));
        assert_eq!(data.failure(), Some(expected.as_str()));
        assert_ne!(
            chart.files[0],
            ChartFile {
                name: "files/big.txt".into(),
                data: FileData::from(big),
            }
        );
    }

    #[test]
    fn a_file_grown_past_the_limit_before_it_is_read_is_refused() {
        let dir = TempChart::new(
            "grown",
            &[
                ("Chart.yaml", b"apiVersion: v2\nname: c\nversion: 1.0.0\n"),
                ("files/big.txt", &[b'z'; 9000]),
            ],
        );
        let chart = load(&dir.0).expect("loads");
        let grown = std::fs::File::create(dir.0.join("files/big.txt")).expect("open");
        grown.set_len(archive::MAX_DECOMPRESSED_FILE_SIZE + 1).expect("grow");
        assert_eq!(
            file(&chart.files, "files/big.txt").data.get(),
            Err(format!(
                "chart file \"big.txt\" is larger than the maximum file size {}",
                archive::MAX_DECOMPRESSED_FILE_SIZE
            ))
        );
    }
}
