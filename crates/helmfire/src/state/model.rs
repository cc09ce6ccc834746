//! The validated desired state: what later stages consume. Everything here has been checked;
//! names are newtypes, paths are resolved against the state file's directory.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use super::name::ReleaseId;
use super::source::Location;
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
    pub kube_context: Option<String>,
    /// Where the release is defined.
    pub location: Location,
}
