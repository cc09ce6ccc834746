//! Where charts come from, as the user declares them: a chart reference (a local path,
//! `repository/chart` or `oci://…`) and the repositories it names. The state file produces
//! these; chart sources consume them.

use std::fmt;
use std::path::PathBuf;

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
