//! The validated desired state: what later stages consume. Everything here has been checked;
//! names are newtypes, paths are resolved against the state file's directory.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::name::ReleaseId;
use super::source::Location;
pub use crate::render::postrender::PostRenderStep;
pub use helmfire_chart::reference::{ChartRef, Repository, RepositoryKind, Secret};
use helmfire_template::semver::Constraints;

#[derive(Debug)]
pub struct DesiredState {
    /// The state file.
    pub path: PathBuf,
    /// Its directory: what relative paths are resolved against.
    pub base_dir: PathBuf,
    pub environment: Environment,
    pub repositories: Vec<Repository>,
    /// In state-file order.
    pub releases: Vec<ReleaseSpec>,
    /// Things worth telling the user that are not errors (a skipped missing values file).
    pub notices: Vec<Notice>,
}

#[derive(Debug)]
pub struct Environment {
    pub name: String,
    pub values: serde_json::Value,
    pub kube_context: Option<String>,
    /// `storage:`; `None`: `HELM_DRIVER` decides.
    pub storage: Option<Storage>,
}

pub use super::raw::StorageDriver;

/// An environment's release storage, checked.
#[derive(Debug)]
pub struct Storage {
    pub driver: StorageDriver,
    /// `sql` only; its syntax is checked, and it is never shown.
    pub connection: Option<Secret>,
    /// The `storage:` key, for errors about it later on.
    pub location: Location,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticeLevel {
    Warning,
    Info,
}

#[derive(Debug)]
pub struct Notice {
    pub level: NoticeLevel,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ValuesSource {
    File(PathBuf),
    Inline(serde_json::Map<String, serde_json::Value>),
}

/// Differences that are not drift, for the objects a rule matches (Argo CD's
/// `ignoreDifferences`): JSON pointers not compared, and changes owned by the listed managers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IgnoreRule {
    /// A glob over the API group (`*` any; empty: the core group only; `None`: any).
    pub group: Option<String>,
    /// A glob over the kind (`None`: any).
    pub kind: Option<String>,
    /// Exact name (`None`: any).
    pub name: Option<String>,
    /// Exact namespace (`None`: any).
    pub namespace: Option<String>,
    /// RFC 6901 pointers, checked when the state file is loaded.
    pub json_pointers: Vec<String>,
    pub managed_fields_managers: Vec<String>,
}

/// Whether an RFC 6901 pointer is well formed: `""`, or `/`-separated tokens whose `~` is
/// always `~0` or `~1`.
pub fn valid_json_pointer(pointer: &str) -> bool {
    if pointer.is_empty() {
        return true;
    }
    if !pointer.starts_with('/') {
        return false;
    }
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return false;
        }
    }
    true
}

/// A release as the user wants it: the desired side of every comparison.
#[derive(Clone, Debug)]
pub struct ReleaseSpec {
    pub id: ReleaseId,
    /// The chart as written in the state file (after expressions), for display and selectors.
    pub chart_text: String,
    pub chart: ChartRef,
    /// The state file's `version:`, checked by the same semver that selects chart versions.
    pub version: Option<Constraints>,
    pub values: Vec<ValuesSource>,
    /// `--set` equivalents in file order.
    pub set: Vec<(String, serde_json::Value)>,
    /// `--set-string` equivalents in file order.
    pub set_string: Vec<(String, String)>,
    pub needs: Vec<ReleaseId>,
    pub labels: BTreeMap<String, String>,
    /// False for `installed: false` and for a false `condition`: the release is to be uninstalled.
    pub installed: bool,
    pub create_namespace: bool,
    pub wait: bool,
    pub wait_for_jobs: bool,
    pub timeout: Duration,
    pub atomic: bool,
    pub history_max: u32,
    pub disable_hooks: bool,
    pub skip_crds: bool,
    pub cleanup_on_fail: bool,
    pub take_ownership: bool,
    /// `None`: as the release was last written (server-side for a new one).
    pub server_side: Option<bool>,
    pub force_conflicts: bool,
    /// `apply` corrects this release's drift.
    pub drift_correction: bool,
    /// Differences that are not drift: `defaults`' rules, then templates', then the release's.
    pub ignore_differences: Vec<IgnoreRule>,
    /// Post-renderers, in order: `defaults`' first, then templates', then the release's.
    pub post_renderers: Vec<PostRenderStep>,
    pub kube_context: Option<String>,
    /// Where the release is defined.
    pub location: Location,
}

/// A `set` entry as the `--set-json` line helm's values pipeline reads (`key=<json>`).
pub fn set_json_line(key: &str, value: &serde_json::Value) -> String {
    format!("{key}={value}")
}

/// A `setString` entry as a `--set-string` line: commas and backslashes in the value escaped so
/// that the value stays one string.
pub fn set_string_line(key: &str, value: &str) -> String {
    format!("{key}={}", value.replace('\\', "\\\\").replace(',', "\\,"))
}

/// Why a `set` or `setString` key cannot be used, checked with helm's own parser at load (a bad
/// key would otherwise only fail when the release is rendered, without a location).
pub fn check_set_line(line: &str, json: bool) -> Result<(), String> {
    use helmfire_chart::values::strvals;
    let key = line.split_once('=').map_or(line, |(key, _)| key);
    if key.is_empty() {
        return Err("the key is empty".to_string());
    }
    let dest = helmfire_value::MapRef::new(helmfire_value::Map::new());
    let result = if json {
        strvals::parse_json(line, &dest)
    } else {
        strvals::parse_into_string(line, &dest)
    };
    result.map_err(|error| error.message)
}

impl ReleaseSpec {
    /// `set` as `--set-json` lines, in file order.
    pub fn set_json_lines(&self) -> Vec<String> {
        self.set.iter().map(|(key, value)| set_json_line(key, value)).collect()
    }

    /// `setString` as `--set-string` lines, in file order.
    pub fn set_string_lines(&self) -> Vec<String> {
        self.set_string
            .iter()
            .map(|(key, value)| set_string_line(key, value))
            .collect()
    }
}
