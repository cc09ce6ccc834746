//! The validated desired state: what later stages consume. Everything here has been checked;
//! names are newtypes, paths are resolved against the state file's directory.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use super::name::ReleaseId;
use super::source::Location;
use super::version::VersionConstraint;

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

/// A credential: shown as `***` wherever it is displayed or debugged.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RepositoryKind {
    /// An index.yaml repository over HTTP(S).
    Http,
    /// An OCI registry.
    Oci,
}

#[derive(Debug)]
pub struct Repository {
    pub name: String,
    pub url: String,
    pub kind: RepositoryKind,
    pub username: Option<String>,
    pub password: Option<Secret>,
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub insecure_skip_tls_verify: bool,
    pub pass_credentials: bool,
    /// An OCI registry spoken to over plain HTTP.
    pub plain_http: bool,
}

/// Where a release's chart comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChartRef {
    /// A chart directory or archive on disk (absolute, resolved against the state file).
    Local(PathBuf),
    /// `repository/chart` from a repository listed in the state file.
    Repository { repository: String, chart: String },
    /// `oci://host/path/chart`.
    Oci(String),
}

impl fmt::Display for ChartRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChartRef::Local(path) => write!(f, "{}", path.display()),
            ChartRef::Repository { repository, chart } => write!(f, "{repository}/{chart}"),
            ChartRef::Oci(reference) => f.write_str(reference),
        }
    }
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
    pub version: Option<VersionConstraint>,
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
