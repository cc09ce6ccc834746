//! The stored release: Helm v4.1.4's `release/v1.Release` and the chart, info and hook types it
//! embeds, with the exact JSON keys, order and omission rules of Go's `encoding/json` (see
//! helm-compat.md §1.7). Unknown keys are ignored on read, as Go does.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map as JsonMap, Value as Json};

use super::time::Timestamp;

/// A release's state (`pkg/release/common/status.go`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Status {
    #[default]
    Unknown,
    Deployed,
    Uninstalled,
    Superseded,
    Failed,
    Uninstalling,
    PendingInstall,
    PendingUpgrade,
    PendingRollback,
}

impl Status {
    /// Helm's string.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unknown => "unknown",
            Status::Deployed => "deployed",
            Status::Uninstalled => "uninstalled",
            Status::Superseded => "superseded",
            Status::Failed => "failed",
            Status::Uninstalling => "uninstalling",
            Status::PendingInstall => "pending-install",
            Status::PendingUpgrade => "pending-upgrade",
            Status::PendingRollback => "pending-rollback",
        }
    }

    /// Parses Helm's string.
    pub fn parse(text: &str) -> Option<Status> {
        Some(match text {
            "unknown" => Status::Unknown,
            "deployed" => Status::Deployed,
            "uninstalled" => Status::Uninstalled,
            "superseded" => Status::Superseded,
            "failed" => Status::Failed,
            "uninstalling" => Status::Uninstalling,
            "pending-install" => Status::PendingInstall,
            "pending-upgrade" => Status::PendingUpgrade,
            "pending-rollback" => Status::PendingRollback,
            _ => return None,
        })
    }

    /// Helm's `IsPending`: the three `pending-*` states (not `uninstalling`).
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            Status::PendingInstall | Status::PendingUpgrade | Status::PendingRollback
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        if text.is_empty() {
            return Ok(Status::Unknown);
        }
        Status::parse(&text).ok_or_else(|| serde::de::Error::custom(format!("unknown release status `{text}`")))
    }
}

/// How the release's resources were applied (`apply_method`, new in Helm 4). Absent means
/// client-side apply (every Helm 3 record).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApplyMethod {
    /// `csa`: client-side apply (three-way merge patches).
    ClientSide,
    /// `ssa`: server-side apply.
    ServerSide,
}

impl ApplyMethod {
    /// Helm's string.
    pub fn as_str(self) -> &'static str {
        match self {
            ApplyMethod::ClientSide => "csa",
            ApplyMethod::ServerSide => "ssa",
        }
    }
}

fn serialize_apply_method<S: Serializer>(value: &Option<ApplyMethod>, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(value.map(ApplyMethod::as_str).unwrap_or_default())
}

fn deserialize_apply_method<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<ApplyMethod>, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?.unwrap_or_default();
    match text.as_str() {
        "" => Ok(None),
        "csa" => Ok(Some(ApplyMethod::ClientSide)),
        "ssa" => Ok(Some(ApplyMethod::ServerSide)),
        other => Err(serde::de::Error::custom(format!("unknown apply_method `{other}`"))),
    }
}

/// Go's `omitempty`/`omitzero` helpers.
fn is_zero_i32(n: &i32) -> bool {
    *n == 0
}
fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}
fn is_false(b: &bool) -> bool {
    !*b
}

/// A stored release revision: `release/v1.Release`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReleaseRecord {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default)]
    pub info: Info,
    #[serde(default)]
    pub chart: ChartRecord,
    /// The user-supplied values (not coalesced with the chart's).
    #[serde(
        default,
        skip_serializing_if = "JsonMap::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub config: JsonMap<String, Json>,
    /// The rendered, non-hook manifests.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manifest: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_as_default")]
    pub hooks: Vec<HookRecord>,
    /// The revision, from 1.
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub version: i32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Kept in the storage object's labels, never in the body. Read from a query it holds every
    /// label (system ones included), as Helm's `Query` does.
    #[serde(skip)]
    pub labels: BTreeMap<String, String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_apply_method",
        deserialize_with = "deserialize_apply_method"
    )]
    pub apply_method: Option<ApplyMethod>,
}

/// `release/v1.Info`. Zero times are omitted; `""` and `null` read as zero (Helm 3 records).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Info {
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "optional_time")]
    pub first_deployed: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "optional_time")]
    pub last_deployed: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "optional_time")]
    pub deleted: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default)]
    pub status: Status,
    /// The rendered NOTES.txt.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    /// Only filled by `helm status`; kept as read.
    #[serde(
        default,
        skip_serializing_if = "JsonMap::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub resources: JsonMap<String, Json>,
}

/// `chart/v2.Chart` as stored: the top-level chart only (subcharts are not serialised by Helm).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChartRecord {
    #[serde(default)]
    pub metadata: Option<MetadataRecord>,
    /// Chart.lock as Helm's `Lock` struct, or null.
    #[serde(default)]
    pub lock: Option<Json>,
    #[serde(default)]
    pub templates: Option<Vec<FileRecord>>,
    #[serde(default)]
    pub values: Option<JsonMap<String, Json>>,
    /// values.schema.json, base64 as Go writes `[]byte`, or null.
    #[serde(default, with = "go_bytes")]
    pub schema: Option<Vec<u8>>,
    /// Always emitted (a struct time under `omitempty`), zero as `0001-01-01T00:00:00Z`.
    #[serde(default = "Timestamp::zero", deserialize_with = "time_or_zero")]
    pub schemamodtime: Timestamp,
    #[serde(default)]
    pub files: Option<Vec<FileRecord>>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "optional_time")]
    pub modtime: Option<Timestamp>,
}

impl Default for ChartRecord {
    fn default() -> Self {
        ChartRecord {
            metadata: None,
            lock: None,
            templates: None,
            values: None,
            schema: None,
            schemamodtime: Timestamp::zero(),
            files: None,
            modtime: None,
        }
    }
}

impl ChartRecord {
    /// `name-version` as `helm list`/`helm history` print it in the CHART column.
    pub fn name_version(&self) -> String {
        match &self.metadata {
            Some(metadata) => format!("{}-{}", metadata.name, metadata.version),
            None => String::new(),
        }
    }

    /// The chart's appVersion (empty when unset).
    pub fn app_version(&self) -> &str {
        self.metadata
            .as_ref()
            .map(|m| m.app_version.as_str())
            .unwrap_or_default()
    }
}

/// `chart/common.File`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileRecord {
    pub name: String,
    #[serde(with = "go_bytes")]
    pub data: Option<Vec<u8>>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "optional_time")]
    pub modtime: Option<Timestamp>,
}

/// `chart/v2.Maintainer`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MaintainerRecord {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub email: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
}

/// `chart/v2.Metadata`: every key `omitempty`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MetadataRecord {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub home: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_as_default")]
    pub sources: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_as_default")]
    pub keywords: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_as_default")]
    pub maintainers: Vec<Option<MaintainerRecord>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub icon: String,
    #[serde(default, rename = "apiVersion", skip_serializing_if = "String::is_empty")]
    pub api_version: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub condition: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tags: String,
    #[serde(default, rename = "appVersion", skip_serializing_if = "String::is_empty")]
    pub app_version: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub deprecated: bool,
    #[serde(
        default,
        skip_serializing_if = "BTreeMap::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, rename = "kubeVersion", skip_serializing_if = "String::is_empty")]
    pub kube_version: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_as_default")]
    pub dependencies: Vec<Option<DependencyRecord>>,
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub chart_type: String,
}

/// `chart/v2.Dependency`: `name` and `repository` always present.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DependencyRecord {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub version: String,
    #[serde(default)]
    pub repository: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub condition: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_as_default")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub enabled: bool,
    #[serde(
        default,
        rename = "import-values",
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    pub import_values: Vec<Json>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub alias: String,
}

/// `release/v1.Hook`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HookRecord {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Chart-relative template path, e.g. `mychart/templates/job.yaml`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manifest: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_as_default")]
    pub events: Vec<String>,
    /// Always emitted, `{"phase":""}` for a hook that never ran.
    #[serde(default)]
    pub last_run: HookExecution,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub weight: i64,
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_as_default")]
    pub delete_policies: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty", deserialize_with = "null_as_default")]
    pub output_log_policies: Vec<String>,
}

/// `release/v1.HookExecution`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct HookExecution {
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "optional_time")]
    pub started_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "optional_time")]
    pub completed_at: Option<Timestamp>,
    /// `Unknown`, `Running`, `Succeeded`, `Failed`, or empty when it never ran.
    #[serde(default)]
    pub phase: String,
}

/// Go decodes `null` into a slice or map as its zero value.
fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A time that may be absent, `null` or `""` (all zero), or a zero time written out.
fn optional_time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Timestamp>, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?.unwrap_or_default();
    if text.is_empty() {
        return Ok(None);
    }
    let time = Timestamp::parse(&text).map_err(serde::de::Error::custom)?;
    Ok(if time.is_zero() { None } else { Some(time) })
}

fn time_or_zero<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?.unwrap_or_default();
    if text.is_empty() {
        return Ok(Timestamp::zero());
    }
    Timestamp::parse(&text).map_err(serde::de::Error::custom)
}

/// Go's `[]byte`: standard base64, `null` for nil.
mod go_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<Vec<u8>>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            Some(bytes) => serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<u8>>, D::Error> {
        match Option::<String>::deserialize(deserializer)? {
            None => Ok(None),
            Some(text) => base64::engine::general_purpose::STANDARD
                .decode(text.as_bytes())
                .map(Some)
                .map_err(|e| serde::de::Error::custom(format!("invalid base64 bytes: {e}"))),
        }
    }
}
