//! Building record parts from helmfire's own types: a loaded chart, rendered hooks, values.

use serde_json::{Map as JsonMap, Value as Json};

use super::record::{ChartRecord, DependencyRecord, FileRecord, HookRecord, MaintainerRecord, MetadataRecord};
use super::time::Timestamp;
use crate::render::manifest::Hook;
use helmfire_chart::{Chart, ChartFile, Dependency, Metadata};
use helmfire_value::json::{JsonStyle, encode};
use helmfire_value::{Map, Value};

/// Values as the JSON Helm stores (`config`, chart `values`): Go's `encoding/json` view of the
/// value (bytes as base64, objects as their plain form). Values that JSON cannot hold (NaN)
/// become `null`, as nothing else would let the record be written at all.
pub fn json_map(values: &Map) -> JsonMap<String, Json> {
    values
        .iter()
        .map(|(key, value)| (key.clone(), json_value(value)))
        .collect()
}

fn json_value(value: &Value) -> Json {
    encode(value, JsonStyle::Raw)
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or(Json::Null)
}

/// A file's record; its bytes were read before (see `DesiredRelease::new`), so an unreadable
/// file is never stored.
fn file_record(file: &ChartFile) -> FileRecord {
    FileRecord {
        name: file.name.clone(),
        data: file.data.get().ok().map(|bytes| bytes.to_vec()),
        modtime: None,
    }
}

fn files(files: &[ChartFile]) -> Option<Vec<FileRecord>> {
    // Go appends to a nil slice: no files → null.
    if files.is_empty() {
        None
    } else {
        Some(files.iter().map(file_record).collect())
    }
}

fn dependency_record(dependency: &Dependency) -> DependencyRecord {
    DependencyRecord {
        name: dependency.name.clone(),
        version: dependency.version.clone(),
        repository: dependency.repository.clone(),
        condition: dependency.condition.clone(),
        tags: dependency.tags.clone(),
        enabled: dependency.enabled,
        import_values: dependency.import_values.iter().map(json_value).collect(),
        alias: dependency.alias.clone(),
    }
}

fn metadata_record(metadata: &Metadata) -> MetadataRecord {
    MetadataRecord {
        name: metadata.name.clone(),
        home: metadata.home.clone(),
        sources: metadata.sources.clone(),
        version: metadata.version.clone(),
        description: metadata.description.clone(),
        keywords: metadata.keywords.clone(),
        maintainers: metadata
            .maintainers
            .iter()
            .map(|m| {
                m.as_ref().map(|m| MaintainerRecord {
                    name: m.name.clone(),
                    email: m.email.clone(),
                    url: m.url.clone(),
                })
            })
            .collect(),
        icon: metadata.icon.clone(),
        api_version: metadata.api_version.clone(),
        condition: metadata.condition.clone(),
        tags: metadata.tags.clone(),
        app_version: metadata.app_version.clone(),
        deprecated: metadata.deprecated,
        annotations: metadata.annotations.clone(),
        kube_version: metadata.kube_version.clone(),
        dependencies: metadata
            .dependencies
            .iter()
            .flatten()
            .map(|d| d.as_ref().map(dependency_record))
            .collect(),
        chart_type: metadata.chart_type.clone(),
    }
}

/// Chart.lock as Helm's `Lock` struct serialises: `generated`, `digest`, `dependencies`.
fn lock_record(lock: &Value) -> Json {
    let plain = json_value(lock);
    let field = |key: &str| plain.get(key).cloned();
    let mut out = JsonMap::new();
    out.insert(
        "generated".into(),
        field("generated").unwrap_or_else(|| Json::String(Timestamp::zero().to_string())),
    );
    out.insert(
        "digest".into(),
        field("digest").unwrap_or_else(|| Json::String(String::new())),
    );
    out.insert("dependencies".into(), field("dependencies").unwrap_or(Json::Null));
    Json::Object(out)
}

/// The stored form of a loaded chart: its metadata, lock, templates, values, schema and files
/// (subcharts are not stored, as in Helm).
pub fn chart_record(chart: &Chart) -> ChartRecord {
    ChartRecord {
        metadata: Some(metadata_record(&chart.metadata)),
        lock: chart.lock.as_ref().map(lock_record),
        templates: files(&chart.templates),
        values: Some(json_map(&chart.values)),
        schema: chart.schema.as_ref().map(|schema| schema.to_vec()),
        schemamodtime: Timestamp::zero(),
        files: files(&chart.files),
        modtime: None,
    }
}

/// The stored form of a rendered hook (never run yet).
pub fn hook_record(hook: &Hook) -> HookRecord {
    HookRecord {
        name: hook.name.clone(),
        kind: hook.kind.clone(),
        path: hook.path.clone(),
        manifest: hook.manifest.clone(),
        events: hook.events.clone(),
        last_run: Default::default(),
        weight: hook.weight,
        delete_policies: hook.delete_policies.clone(),
        output_log_policies: hook.output_log_policies.clone(),
    }
}

impl super::ReleaseRecord {
    /// A new revision of `name` in `namespace` for `chart` with user-supplied `config`, as
    /// Helm's install/upgrade build it before rendering: status `unknown`, first and last
    /// deployed now (an upgrade then copies `first_deployed` from the current revision), no
    /// manifest or hooks yet.
    pub fn new(name: &str, namespace: &str, version: i32, chart: &Chart, config: &Map) -> super::ReleaseRecord {
        let now = Timestamp::now();
        super::ReleaseRecord {
            name: name.to_string(),
            namespace: namespace.to_string(),
            version,
            chart: chart_record(chart),
            config: json_map(config),
            info: super::Info {
                first_deployed: Some(now.clone()),
                last_deployed: Some(now),
                ..super::Info::default()
            },
            ..super::ReleaseRecord::default()
        }
    }
}
