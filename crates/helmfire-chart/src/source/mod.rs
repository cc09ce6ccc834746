//! Chart sources: turns a chart reference (`repository/chart`, `oci://…`, a chart
//! dependency's `repository:`) plus a version constraint into a verified archive in the local
//! cache. Each repository index is fetched at most once per [`Sources`] (one run), downloads run
//! concurrently, archives are verified (sha256, then the chart loader's archive checks) before
//! they enter the cache, and [`lock`] pins what was resolved.
//!
//! Repositories whose URL scheme is not `http(s)` or `oci` (`s3://…`, `gs://…`) are read
//! through helm's `getter/v1` plugins ([`getter`]), for index files and archives alike, and
//! cached like any other.
//!
//! This module downloads and verifies; it never renders, never coalesces values, and never
//! prints (callers read [`Stats`] or the results).

pub mod cache;
pub mod credentials;
pub mod dependencies;
pub mod getter;
pub mod http;
pub mod index;
pub mod lock;
pub mod oci;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use ::http::{HeaderValue, StatusCode, header};
use bytes::Bytes;

use self::cache::{Cache, CacheError, IndexMeta, sha256_hex};
use self::credentials::HelmRepository;
use self::http::{Client, Credentials, HttpError, RequestSpec, TlsSettings};
use self::index::{Index, IndexError, LookupError};
use self::oci::{Reference, Registry, RegistryError};
use crate::ChartError;
use crate::reference::{ChartRef, Repository, RepositoryKind, Secret};

/// How a run uses the network and the cache.
#[derive(Clone, Debug)]
pub struct SourceOptions {
    pub cache_dir: PathBuf,
    /// Only the cache: any download is an error.
    pub offline: bool,
    /// Downloads in flight at once.
    pub max_downloads: usize,
}

impl Default for SourceOptions {
    fn default() -> Self {
        SourceOptions {
            cache_dir: Cache::default_root(),
            offline: false,
            max_downloads: 16,
        }
    }
}

/// A repository or registry with everything needed to talk to it.
#[derive(Clone, Debug, Default)]
pub struct RepositoryConfig {
    pub name: String,
    /// `https://…` (index repository) or `oci://host/path` (registry).
    pub url: String,
    pub oci: bool,
    pub credentials: Option<Credentials>,
    pub tls: TlsSettings,
    pub pass_credentials: bool,
    /// An OCI registry spoken to over plain HTTP (Helm's `--plain-http`).
    pub plain_http: bool,
}

impl RepositoryConfig {
    pub fn from_declared(repository: &Repository) -> RepositoryConfig {
        RepositoryConfig {
            name: repository.name.clone(),
            url: repository.url.trim_end_matches('/').to_string(),
            oci: repository.kind == RepositoryKind::Oci,
            credentials: repository.username.as_ref().map(|u| Credentials {
                username: u.clone(),
                password: repository.password.clone().unwrap_or(Secret(String::new())),
            }),
            tls: TlsSettings {
                ca_file: repository.ca_file.clone(),
                cert_file: repository.cert_file.clone(),
                key_file: repository.key_file.clone(),
                insecure_skip_verify: repository.insecure_skip_tls_verify,
            },
            pass_credentials: repository.pass_credentials,
            plain_http: repository.plain_http,
        }
    }

    fn from_helm(repository: &HelmRepository) -> RepositoryConfig {
        RepositoryConfig {
            name: repository.name.clone(),
            url: repository.url.trim_end_matches('/').to_string(),
            oci: repository.url.starts_with("oci://"),
            credentials: repository.credentials.clone(),
            tls: repository.tls.clone(),
            pass_credentials: repository.pass_credentials,
            plain_http: false,
        }
    }

    fn index_url(&self) -> String {
        format!("{}/index.yaml", self.url)
    }
}

/// A version already decided (from `helmfire.lock` or Chart.lock).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pin {
    pub version: String,
    /// Lowercase hex sha256 of the archive; empty when only the version is pinned.
    pub digest: String,
}

/// One chart to get.
#[derive(Clone, Debug)]
pub struct ChartRequest {
    /// What the request is for, in errors: a release id, or `release → dependency`.
    pub release: String,
    pub chart: ChartRef,
    /// Masterminds constraint text; `None` means the newest stable version.
    pub constraint: Option<String>,
    pub pin: Option<Pin>,
}

/// A chart archive in the cache and what it was resolved to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedChart {
    /// The repository URL, or `oci://host/path/chart`.
    pub source: String,
    /// The chart's name in its repository.
    pub chart: String,
    pub version: String,
    /// Lowercase hex sha256 of the archive.
    pub digest: String,
    /// The archive in the cache.
    pub path: PathBuf,
}

/// Counters of network work done by one [`Sources`] (for tests and benchmarks).
#[derive(Debug, Default)]
pub struct Stats {
    pub index_requests: AtomicUsize,
    pub downloads: AtomicUsize,
    pub registry_lookups: AtomicUsize,
}

/// Why a chart could not be got: which release, chart and repository, and the cause.
#[derive(Debug, thiserror::Error)]
#[error("{release}: cannot get chart `{chart}`{}", .repository.as_ref().map(|r| format!(" from `{r}`")).unwrap_or_default())]
pub struct SourceError {
    pub release: String,
    pub chart: String,
    pub repository: Option<String>,
    /// Boxed: results carrying this error stay small.
    #[source]
    pub kind: Box<SourceErrorKind>,
}

/// The cause of a [`SourceError`].
#[derive(Debug, thiserror::Error)]
pub enum SourceErrorKind {
    #[error("repository `{name}` is not defined in the state file or helm's repositories.yaml{}", known_list(.known))]
    UnknownRepository { name: String, known: Vec<String> },
    #[error("`{url}` refused access ({status}); check the repository's username and password")]
    Denied { url: String, status: StatusCode },
    #[error("`{url}` was not found (404)")]
    NotFound { url: String },
    #[error("`{url}` answered {status}")]
    Status { url: String, status: StatusCode },
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("the index `{url}` is corrupt")]
    Index {
        url: String,
        #[source]
        source: IndexError,
    },
    #[error("chart `{chart}` is not in the index of `{url}`{}", similar_list(.similar))]
    NotInIndex {
        chart: String,
        url: String,
        similar: Vec<String>,
    },
    #[error("no version of `{chart}` matches `{constraint}`{}", nearest_list(.nearest))]
    NoVersion {
        chart: String,
        constraint: String,
        nearest: Vec<String>,
    },
    #[error("`{constraint}` is not a valid version constraint")]
    InvalidConstraint {
        constraint: String,
        #[source]
        source: crate::semver::Error,
    },
    #[error("digest mismatch for `{url}`: expected sha256:{expected}, got sha256:{actual}")]
    DigestMismatch {
        url: String,
        expected: String,
        actual: String,
    },
    #[error("the archive from `{url}` is not a valid chart")]
    Archive {
        url: String,
        #[source]
        source: Box<ChartError>,
    },
    #[error("`{what}` is not in the cache, and --offline forbids downloading it")]
    Offline { what: String },
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error("invalid OCI reference: {message}")]
    Reference { message: String },
    #[error(transparent)]
    Shared(Arc<SourceErrorKind>),
    #[error(
        "the lock file (Chart.lock) of chart `{chart}` is out of sync with the dependencies file (Chart.yaml); run `helm dependency update`"
    )]
    LockOutOfSync { chart: String },
    #[error("background task failed")]
    Task,
    /// A URL whose scheme no `getter/v1` plugin declares.
    #[error("no getter plugin serves `{scheme}://` URLs (for `{url}`)")]
    NoGetter { scheme: String, url: String },
    /// A getter plugin failed (helm: `plugin "x" failed to invoke`).
    #[error("`{url}` could not be fetched through a getter plugin")]
    Getter {
        url: String,
        #[source]
        source: crate::plugin::PluginError,
    },
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() {
        " (it defines none)".into()
    } else {
        format!(" (defined: {})", known.join(", "))
    }
}

fn similar_list(similar: &[String]) -> String {
    if similar.is_empty() {
        String::new()
    } else {
        format!(" (similar: {})", similar.join(", "))
    }
}

fn nearest_list(nearest: &[String]) -> String {
    if nearest.is_empty() {
        "; the repository lists no versions".into()
    } else {
        format!("; nearest available: {}", nearest.join(", "))
    }
}

type IndexCell = Arc<tokio::sync::OnceCell<Result<Arc<Index>, Arc<SourceErrorKind>>>>;

struct Inner {
    cache: Cache,
    offline: bool,
    repositories: Vec<RepositoryConfig>,
    helm_repositories: OnceLock<Vec<RepositoryConfig>>,
    clients: Mutex<HashMap<TlsSettings, Client>>,
    indexes: Mutex<HashMap<String, IndexCell>>,
    registries: Mutex<HashMap<String, Arc<Registry>>>,
    downloads: tokio::sync::Semaphore,
    stats: Stats,
}

/// The chart sources of one run. Cheap to clone; clones share the index memo and counters.
#[derive(Clone)]
pub struct Sources {
    inner: Arc<Inner>,
}

/// Where a request goes.
enum Target {
    Repository(RepositoryConfig, String),
    Oci(Reference, Option<RepositoryConfig>),
}

impl Sources {
    pub fn new(repositories: Vec<RepositoryConfig>, options: SourceOptions) -> Sources {
        Sources {
            inner: Arc::new(Inner {
                cache: Cache::new(options.cache_dir),
                offline: options.offline,
                repositories,
                helm_repositories: OnceLock::new(),
                clients: Mutex::new(HashMap::new()),
                indexes: Mutex::new(HashMap::new()),
                registries: Mutex::new(HashMap::new()),
                downloads: tokio::sync::Semaphore::new(options.max_downloads.max(1)),
                stats: Stats::default(),
            }),
        }
    }

    /// Sources for `repositories` followed by helm's own (repositories.yaml), by name, as
    /// `helm template REPO/CHART` sees them.
    pub fn with_helm_repositories(mut repositories: Vec<RepositoryConfig>, options: SourceOptions) -> Sources {
        repositories.extend(credentials::helm_repositories().iter().map(RepositoryConfig::from_helm));
        Sources::new(repositories, options)
    }

    /// Sources for the repositories a state file declares.
    pub fn for_declared(repositories: &[Repository], options: SourceOptions) -> Sources {
        Sources::new(
            repositories.iter().map(RepositoryConfig::from_declared).collect(),
            options,
        )
    }

    pub fn stats(&self) -> &Stats {
        &self.inner.stats
    }

    pub fn cache(&self) -> &Cache {
        &self.inner.cache
    }

    fn helm_repositories(&self) -> &[RepositoryConfig] {
        self.inner.helm_repositories.get_or_init(|| {
            credentials::helm_repositories()
                .iter()
                .map(RepositoryConfig::from_helm)
                .collect()
        })
    }

    fn client(&self, tls: &TlsSettings) -> Client {
        let mut clients = self.inner.clients.lock().unwrap_or_else(|e| e.into_inner());
        clients
            .entry(tls.clone())
            .or_insert_with(|| Client::new(tls.clone()))
            .clone()
    }

    /// The source a chart reference resolves to (the repository URL or the OCI base), for the
    /// lock file; `None` for local charts or unknown repositories.
    pub fn source_of(&self, chart: &ChartRef) -> Option<String> {
        match self.target(chart).ok()? {
            Target::Repository(repo, _) => Some(repo.url),
            Target::Oci(reference, _) => Some(reference.base()),
        }
    }

    fn target(&self, chart: &ChartRef) -> Result<Target, SourceErrorKind> {
        match chart {
            ChartRef::Local(path) => Err(SourceErrorKind::Reference {
                message: format!("`{}` is a local chart", path.display()),
            }),
            ChartRef::Repository { repository, chart } => {
                let repo = self
                    .inner
                    .repositories
                    .iter()
                    .find(|r| &r.name == repository)
                    .cloned()
                    .ok_or_else(|| SourceErrorKind::UnknownRepository {
                        name: repository.clone(),
                        known: self.inner.repositories.iter().map(|r| r.name.clone()).collect(),
                    })?;
                if repo.oci {
                    let text = format!("{}/{chart}", repo.url);
                    let reference =
                        Reference::parse(&text).map_err(|message| SourceErrorKind::Reference { message })?;
                    Ok(Target::Oci(reference, Some(repo)))
                } else {
                    Ok(Target::Repository(repo, chart.clone()))
                }
            }
            ChartRef::Oci(text) => {
                let reference = Reference::parse(text).map_err(|message| SourceErrorKind::Reference { message })?;
                let base = reference.base();
                let repo = self
                    .inner
                    .repositories
                    .iter()
                    .chain(self.helm_repositories())
                    .filter(|r| r.oci && (base == r.url || base.starts_with(&format!("{}/", r.url))))
                    .max_by_key(|r| r.url.len())
                    .cloned();
                Ok(Target::Oci(reference, repo))
            }
        }
    }

    /// Gets one chart: resolves the version, then serves the archive from the cache or
    /// downloads and verifies it.
    pub async fn fetch(&self, request: &ChartRequest) -> Result<ResolvedChart, SourceError> {
        let chart_text = request.chart.to_string();
        let wrap = |repository: Option<String>, kind| SourceError {
            release: request.release.clone(),
            chart: chart_text.clone(),
            repository,
            kind: Box::new(kind),
        };
        let target = self.target(&request.chart).map_err(|k| {
            let repository = match &request.chart {
                ChartRef::Repository { repository, .. } => Some(repository.clone()),
                _ => None,
            };
            wrap(repository, k)
        })?;
        match target {
            Target::Repository(repo, chart) => {
                let name = if repo.name.is_empty() {
                    repo.url.clone()
                } else {
                    repo.name.clone()
                };
                self.fetch_from_repository(&repo, &chart, request.constraint.as_deref(), request.pin.as_ref())
                    .await
                    .map_err(|k| wrap(Some(name), k))
            }
            Target::Oci(reference, repo) => self
                .fetch_from_registry(
                    &reference,
                    repo.as_ref(),
                    request.constraint.as_deref(),
                    request.pin.as_ref(),
                )
                .await
                .map_err(|k| wrap(Some(format!("oci://{}", reference.registry)), k)),
        }
    }

    /// Gets a chart from a repository given by URL (a chart dependency's `repository:`),
    /// using the state file's or helm's settings for that URL when there are any.
    pub async fn fetch_by_url(
        &self,
        release: &str,
        url: &str,
        chart: &str,
        constraint: Option<&str>,
        pin: Option<&Pin>,
    ) -> Result<ResolvedChart, SourceError> {
        let repo = self
            .inner
            .repositories
            .iter()
            .chain(self.helm_repositories())
            .find(|r| credentials::same_url(&r.url, url))
            .cloned()
            .unwrap_or_else(|| RepositoryConfig {
                url: url.trim_end_matches('/').to_string(),
                ..Default::default()
            });
        self.fetch_from_repository(&repo, chart, constraint, pin)
            .await
            .map_err(|kind| SourceError {
                release: release.to_string(),
                chart: chart.to_string(),
                repository: Some(url.to_string()),
                kind: Box::new(kind),
            })
    }

    /// Resolves a dependency's `@name` / `alias:name` repository against the state file's and
    /// helm's repositories.
    pub fn repository_by_name(&self, name: &str) -> Option<RepositoryConfig> {
        self.inner
            .repositories
            .iter()
            .chain(self.helm_repositories())
            .find(|r| r.name == name)
            .cloned()
    }

    /// Names of every repository known by name (state file, then helm's repositories.yaml).
    pub fn repository_names(&self) -> Vec<String> {
        self.inner
            .repositories
            .iter()
            .chain(self.helm_repositories())
            .map(|r| r.name.clone())
            .filter(|n| !n.is_empty())
            .collect()
    }

    /// Every request concurrently; results in request order.
    pub async fn fetch_all(&self, requests: Vec<ChartRequest>) -> Vec<Result<ResolvedChart, SourceError>> {
        let handles: Vec<_> = requests
            .into_iter()
            .map(|request| {
                let sources = self.clone();
                let release = request.release.clone();
                let chart = request.chart.to_string();
                (
                    release,
                    chart,
                    tokio::spawn(async move { sources.fetch(&request).await }),
                )
            })
            .collect();
        let mut out = Vec::with_capacity(handles.len());
        for (release, chart, handle) in handles {
            out.push(handle.await.unwrap_or_else(|_| {
                Err(SourceError {
                    release,
                    chart,
                    repository: None,
                    kind: Box::new(SourceErrorKind::Task),
                })
            }));
        }
        out
    }

    /// The index of a repository, fetched (or revalidated) at most once per run.
    async fn index(&self, repo: &RepositoryConfig) -> Result<Arc<Index>, SourceErrorKind> {
        let url = repo.index_url();
        let cell = {
            let mut indexes = self.inner.indexes.lock().unwrap_or_else(|e| e.into_inner());
            indexes.entry(url.clone()).or_default().clone()
        };
        cell.get_or_init(|| async { self.load_index(repo, &url).await.map_err(Arc::new) })
            .await
            .clone()
            .map_err(SourceErrorKind::Shared)
    }

    async fn load_index(&self, repo: &RepositoryConfig, url: &str) -> Result<Arc<Index>, SourceErrorKind> {
        let cache = &self.inner.cache;
        if self.inner.offline {
            let (body, _) = cache
                .index(url)
                .ok_or_else(|| SourceErrorKind::Offline { what: url.to_string() })?;
            return self.decode_index(url, &body).map(Arc::new);
        }
        if getter::plugin_scheme(url).is_some() {
            // helm passes the repository's credentials when it fetches an index.
            self.inner.stats.index_requests.fetch_add(1, Ordering::Relaxed);
            let body = getter::fetch(repo, url, true).await?;
            let index = self.decode_index(url, &body)?;
            cache.put_index(
                &body,
                &IndexMeta {
                    url: url.to_string(),
                    etag: None,
                    last_modified: None,
                },
            )?;
            return Ok(Arc::new(index));
        }
        // One process refreshes an index at a time; the others then revalidate cheaply.
        let lock_cache = cache.clone();
        let lock_url = url.to_string();
        let _lock = tokio::task::spawn_blocking(move || lock_cache.lock_index(&lock_url))
            .await
            .map_err(|_| SourceErrorKind::Task)??;
        let cached = cache.index(url);
        let mut spec = RequestSpec::get(url);
        spec.credentials = repo.credentials.clone();
        spec.auth_host = http::url_authority(&repo.url);
        spec.pass_credentials = repo.pass_credentials;
        spec.headers
            .insert(header::ACCEPT_ENCODING, HeaderValue::from_static("gzip"));
        if let Some((_, meta)) = &cached {
            if let Some(etag) = meta.etag.as_deref().and_then(|e| HeaderValue::from_str(e).ok()) {
                spec.headers.insert(header::IF_NONE_MATCH, etag);
            }
            if let Some(lm) = meta
                .last_modified
                .as_deref()
                .and_then(|e| HeaderValue::from_str(e).ok())
            {
                spec.headers.insert(header::IF_MODIFIED_SINCE, lm);
            }
        }
        self.inner.stats.index_requests.fetch_add(1, Ordering::Relaxed);
        let response = self.client(&repo.tls).send(&spec).await?;
        let response = if response.status == StatusCode::NOT_MODIFIED
            && let Some((body, _)) = cached
        {
            match self.decode_index(url, &body) {
                Ok(index) => return Ok(Arc::new(index)),
                // A damaged cached copy: fetch it again, unconditionally.
                Err(_) => {
                    spec.headers.remove(header::IF_NONE_MATCH);
                    spec.headers.remove(header::IF_MODIFIED_SINCE);
                    self.inner.stats.index_requests.fetch_add(1, Ordering::Relaxed);
                    self.client(&repo.tls).send(&spec).await?
                }
            }
        } else {
            response
        };
        check_status(response.status, url)?;
        let body = match response.headers.get(header::CONTENT_ENCODING) {
            Some(v) if v.as_bytes().eq_ignore_ascii_case(b"gzip") => Bytes::from(
                index::maybe_gunzip(&response.body)
                    .map_err(|source| SourceErrorKind::Index {
                        url: url.to_string(),
                        source,
                    })?
                    .into_owned(),
            ),
            _ => response.body.clone(),
        };
        // Decode before caching: a corrupt index never replaces a good one.
        let index = self.decode_index(url, &body)?;
        let header_text = |name| {
            response
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(String::from)
        };
        cache.put_index(
            &body,
            &IndexMeta {
                url: url.to_string(),
                etag: header_text(header::ETAG),
                last_modified: header_text(header::LAST_MODIFIED),
            },
        )?;
        Ok(Arc::new(index))
    }

    /// Decodes an index body, through the cached decoded form when there is one.
    fn decode_index(&self, url: &str, body: &[u8]) -> Result<Index, SourceErrorKind> {
        let cache = &self.inner.cache;
        let digest = sha256_hex(body);
        if let Some(decoded) = cache.decoded_index(url, &digest)
            && let Ok(index) = serde_json::from_slice::<Index>(&decoded)
        {
            return Ok(index);
        }
        let index = Index::parse(body).map_err(|source| SourceErrorKind::Index {
            url: url.to_string(),
            source,
        })?;
        if let Ok(json) = serde_json::to_vec(&index) {
            // Best effort: a cache that cannot be written only makes the next run slower.
            let _ = cache.put_decoded_index(url, &digest, &json);
        }
        Ok(index)
    }

    async fn fetch_from_repository(
        &self,
        repo: &RepositoryConfig,
        chart: &str,
        constraint: Option<&str>,
        pin: Option<&Pin>,
    ) -> Result<ResolvedChart, SourceErrorKind> {
        let cache = &self.inner.cache;
        if let Some(pin) = pin
            && let Some(path) = cache.chart(&pin.digest)
        {
            return Ok(ResolvedChart {
                source: repo.url.clone(),
                chart: chart.to_string(),
                version: pin.version.clone(),
                digest: pin.digest.clone(),
                path,
            });
        }
        let index = self.index(repo).await?;
        let wanted = pin.map(|p| p.version.as_str()).or(constraint);
        let entry = index.get(chart, wanted).map_err(|e| match e {
            LookupError::NoChart { similar } => SourceErrorKind::NotInIndex {
                chart: chart.to_string(),
                url: repo.index_url(),
                similar,
            },
            LookupError::NoVersion { nearest } => SourceErrorKind::NoVersion {
                chart: chart.to_string(),
                constraint: wanted.unwrap_or("*").to_string(),
                nearest,
            },
            LookupError::InvalidConstraint(source) => SourceErrorKind::InvalidConstraint {
                constraint: wanted.unwrap_or_default().to_string(),
                source,
            },
        })?;
        let url = http::join_url(&repo.index_url(), &entry.urls[0]);
        let mut expected = entry.digest.clone();
        if let Some(pin) = pin.filter(|p| !p.digest.is_empty()) {
            if !expected.is_empty() && expected != pin.digest {
                return Err(SourceErrorKind::DigestMismatch {
                    url,
                    expected: pin.digest.clone(),
                    actual: expected,
                });
            }
            expected = pin.digest.clone();
        }
        let resolved = |digest: String, path| ResolvedChart {
            source: repo.url.clone(),
            chart: chart.to_string(),
            version: entry.version.clone(),
            digest,
            path,
        };
        if let Some(path) = cache.chart(&expected) {
            return Ok(resolved(expected, path));
        }
        if self.inner.offline {
            return Err(SourceErrorKind::Offline { what: url });
        }
        let _permit = self
            .inner
            .downloads
            .acquire()
            .await
            .map_err(|_| SourceErrorKind::Task)?;
        self.inner.stats.downloads.fetch_add(1, Ordering::Relaxed);
        if getter::plugin_scheme(&url).is_some() {
            // helm's chart downloader passes credentials only when both are set.
            let with_credentials = repo
                .credentials
                .as_ref()
                .is_some_and(|c| !c.username.is_empty() && !c.password.0.is_empty());
            let body = getter::fetch(repo, &url, with_credentials).await?;
            let (digest, path) = self.store_archive(&url, &body, &expected)?;
            return Ok(resolved(digest, path));
        }
        let mut spec = RequestSpec::get(url.clone());
        spec.credentials = repo.credentials.clone();
        spec.auth_host = http::url_authority(&repo.url);
        spec.pass_credentials = repo.pass_credentials;
        let response = self.client(&repo.tls).send(&spec).await?;
        check_status(response.status, &url)?;
        let (digest, path) = self.store_archive(&url, &response.body, &expected)?;
        Ok(resolved(digest, path))
    }

    /// Verifies an archive (digest, then the loader's archive checks) and stores it.
    fn store_archive(&self, url: &str, data: &[u8], expected: &str) -> Result<(String, PathBuf), SourceErrorKind> {
        let actual = sha256_hex(data);
        if !expected.is_empty() && actual != expected {
            return Err(SourceErrorKind::DigestMismatch {
                url: url.to_string(),
                expected: expected.to_string(),
                actual,
            });
        }
        crate::archive::ensure_archive(url, data).map_err(|source| SourceErrorKind::Archive {
            url: url.to_string(),
            source: Box::new(source),
        })?;
        crate::load_archive(data, url).map_err(|source| SourceErrorKind::Archive {
            url: url.to_string(),
            source: Box::new(source),
        })?;
        let path = self.inner.cache.put_chart(&actual, data)?;
        Ok((actual, path))
    }

    fn registry(&self, reference: &Reference, repo: Option<&RepositoryConfig>) -> Arc<Registry> {
        let tls = repo.map(|r| r.tls.clone()).unwrap_or_default();
        let plain_http = repo.is_some_and(|r| r.plain_http);
        let key = format!("{}|{:?}|{plain_http}", reference.registry, tls);
        let mut registries = self.inner.registries.lock().unwrap_or_else(|e| e.into_inner());
        registries
            .entry(key)
            .or_insert_with(|| {
                let credentials = repo
                    .and_then(|r| r.credentials.clone())
                    .or_else(|| credentials::registry_credentials(&reference.registry));
                Arc::new(Registry::new(
                    self.client(&tls),
                    plain_http,
                    &reference.registry,
                    credentials,
                ))
            })
            .clone()
    }

    async fn fetch_from_registry(
        &self,
        reference: &Reference,
        repo: Option<&RepositoryConfig>,
        constraint: Option<&str>,
        pin: Option<&Pin>,
    ) -> Result<ResolvedChart, SourceErrorKind> {
        let cache = &self.inner.cache;
        let resolved = |version: String, digest: String, path| ResolvedChart {
            source: reference.base(),
            chart: reference.chart_name().to_string(),
            version,
            digest,
            path,
        };
        if let Some(pin) = pin
            && let Some(path) = cache.chart(&pin.digest)
        {
            return Ok(resolved(pin.version.clone(), pin.digest.clone(), path));
        }
        // What was asked for, as the key of the reference cache (for --offline).
        let asked = match (&reference.digest, &reference.tag, pin, constraint) {
            (Some(d), _, _, _) => d.clone(),
            (None, Some(t), _, _) => oci::tag_to_version(t),
            (None, None, Some(p), _) => p.version.clone(),
            (None, None, None, c) => c.unwrap_or("").to_string(),
        };
        let ref_key = format!("{}@{asked}", reference.base());
        if self.inner.offline {
            if let Some((version, digest)) = cache.reference(&ref_key)
                && let Some(path) = cache.chart(&digest)
            {
                return Ok(resolved(version, digest, path));
            }
            return Err(SourceErrorKind::Offline {
                what: format!("{}:{asked}", reference.base()),
            });
        }
        let registry = self.registry(reference, repo);
        self.inner.stats.registry_lookups.fetch_add(1, Ordering::Relaxed);
        let (version, target) = if let Some(digest) = &reference.digest {
            (reference.tag.as_deref().map(oci::tag_to_version), digest.clone())
        } else if let Some(tag) = &reference.tag {
            (Some(oci::tag_to_version(tag)), tag.clone())
        } else if let Some(pin) = pin {
            (Some(pin.version.clone()), oci::version_to_tag(&pin.version))
        } else if let Some(exact) = constraint.filter(|c| crate::semver::Version::parse(c).is_ok()) {
            // Helm's `ValidateReference`: a version `NewVersion` accepts (`1.2`, `v1.2.3`) is the
            // tag itself, with no tag listing.
            (Some(exact.to_string()), oci::version_to_tag(exact))
        } else {
            let text = constraint.unwrap_or("").trim();
            if !text.is_empty()
                && let Err(source) = crate::semver::Constraints::parse(text)
            {
                return Err(SourceErrorKind::InvalidConstraint {
                    constraint: text.to_string(),
                    source,
                });
            }
            let versions = registry.versions(reference).await?;
            let version = index::select(versions.iter().map(|v| (v.as_str(), v)), text)
                .cloned()
                .ok_or_else(|| SourceErrorKind::NoVersion {
                    chart: reference.base(),
                    constraint: if text.is_empty() { "*".into() } else { text.to_string() },
                    nearest: index::nearest(versions.iter().map(String::as_str), text),
                })?;
            let tag = oci::version_to_tag(&version);
            (Some(version), tag)
        };
        let layer = registry.chart_layer(reference, &target).await?;
        let digest = layer
            .digest
            .strip_prefix("sha256:")
            .unwrap_or(&layer.digest)
            .to_string();
        if let Some(pin) = pin.filter(|p| !p.digest.is_empty())
            && pin.digest != digest
        {
            return Err(SourceErrorKind::DigestMismatch {
                url: format!("{}:{target}", reference.base()),
                expected: pin.digest.clone(),
                actual: digest,
            });
        }
        let path = match cache.chart(&digest) {
            Some(path) => path,
            None => {
                let _permit = self
                    .inner
                    .downloads
                    .acquire()
                    .await
                    .map_err(|_| SourceErrorKind::Task)?;
                self.inner.stats.downloads.fetch_add(1, Ordering::Relaxed);
                let data = registry.blob(reference, &layer.digest).await?;
                let url = format!("{}:{target}", reference.base());
                self.store_archive(&url, &data, &digest)?.1
            }
        };
        let version = match version {
            Some(v) => v,
            // A bare digest reference: the version is the chart's own.
            None => crate::load(&path)
                .map(|c| c.metadata.version)
                .map_err(|source| SourceErrorKind::Archive {
                    url: reference.base(),
                    source: Box::new(source),
                })?,
        };
        let _ = cache.put_reference(&ref_key, &version, &digest);
        Ok(resolved(version, digest, path))
    }

    /// Pushes a chart archive to `oci://host/path` as Helm does (`<path>/<name>:<version>`).
    /// Returns the full reference and the manifest digest.
    pub async fn push(
        &self,
        archive: Vec<u8>,
        destination: &str,
        repo: Option<RepositoryConfig>,
        plain_http: bool,
        created: &str,
    ) -> Result<(String, String), SourceErrorKind> {
        let chart = crate::load_archive(&archive, destination).map_err(|source| SourceErrorKind::Archive {
            url: destination.to_string(),
            source: Box::new(source),
        })?;
        let meta = &chart.metadata;
        let reference = Reference::parse(&format!("{}/{}", destination.trim_end_matches('/'), meta.name))
            .map_err(|message| SourceErrorKind::Reference { message })?;
        let repo = repo.or_else(|| match self.target(&ChartRef::Oci(reference.base())) {
            Ok(Target::Oci(_, r)) => r,
            _ => None,
        });
        let tls = repo.as_ref().map(|r| r.tls.clone()).unwrap_or_default();
        let credentials = repo
            .as_ref()
            .and_then(|r| r.credentials.clone())
            .or_else(|| credentials::registry_credentials(&reference.registry));
        let registry = Registry::new(self.client(&tls), plain_http, &reference.registry, credentials);
        let tag = oci::version_to_tag(&meta.version);
        let digest = registry
            .push_chart(
                &reference,
                &tag,
                Bytes::from(archive),
                oci::config_json(meta),
                oci::manifest_annotations(meta, created),
            )
            .await?;
        Ok((format!("{}:{tag}", reference.base()), digest))
    }
}

fn check_status(status: StatusCode, url: &str) -> Result<(), SourceErrorKind> {
    if status.is_success() {
        return Ok(());
    }
    Err(match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => SourceErrorKind::Denied {
            url: url.to_string(),
            status,
        },
        StatusCode::NOT_FOUND => SourceErrorKind::NotFound { url: url.to_string() },
        _ => SourceErrorKind::Status {
            url: url.to_string(),
            status,
        },
    })
}

/// A runtime for the blocking entry points (the CLI is synchronous).
pub fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}
