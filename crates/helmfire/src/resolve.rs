//! ③ Chart sources for the releases of a state file: every remote chart (`repository/chart`,
//! `oci://…`) fetched into the cache, pinned by the state file's lock, and every chart's
//! unvendored Chart.yaml dependencies fetched as `helm dependency build` would — for local
//! charts too, so an umbrella chart with a `file://` or repository dependency renders the same
//! in `template`, `diff` and `apply`.
//!
//! It downloads and writes the lock file, and nothing else: it never loads values, renders or
//! touches a cluster.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use helmfire_chart::source::lock::{LockEntry, LockError, LockFile};
use helmfire_chart::source::{self, ChartRequest, Pin, ResolvedChart, SourceError, SourceOptions, Sources};

use crate::state::{ChartRef, DesiredState};

/// How chart sources are reached.
#[derive(Clone, Debug, Default)]
pub struct SourceSettings {
    /// Only the cache: anything missing is an error naming it.
    pub offline: bool,
    /// Re-resolve releases whose lock entry no longer matches the state file and rewrite it,
    /// instead of refusing the stale lock.
    pub update_lock: bool,
    /// The chart cache (`None`: `$HELMFIRE_CACHE_DIR`, else the XDG cache).
    pub cache_dir: Option<PathBuf>,
}

impl SourceSettings {
    fn options(&self) -> SourceOptions {
        let mut options = SourceOptions {
            offline: self.offline,
            ..SourceOptions::default()
        };
        if let Some(dir) = &self.cache_dir {
            options.cache_dir = dir.clone();
        }
        options
    }
}

/// Whether to pin to the lock file or resolve afresh.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockMode {
    /// Use the lock when present; a stale entry is an error unless `update_lock`.
    Use,
    /// Ignore pins and rewrite the lock (`helmfire deps`).
    Refresh,
}

/// A release's chart, ready for the loader.
#[derive(Clone, Debug)]
pub struct ChartResolution {
    /// The chart directory or archive.
    pub path: PathBuf,
    /// Unvendored Chart.yaml dependencies, fetched: archives or directories to attach.
    pub dependencies: Vec<PathBuf>,
    /// For remote charts: what was resolved.
    pub resolved: Option<ResolvedChart>,
}

/// Why the lock file as a whole could not be used (per-release failures are in the results).
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error("`{}` does not match the state file:\n  {}", path.display(), stale.join("\n  "))]
    StaleLock { path: PathBuf, stale: Vec<String> },
}

/// Why one release's chart could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ChartResolveError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("the chart's dependencies could not be fetched")]
    Dependencies {
        #[source]
        source: SourceError,
    },
}

/// Per release (index into `state.releases`): its chart, or why it could not be resolved.
pub type Resolutions = HashMap<usize, Result<ChartResolution, ChartResolveError>>;

/// Resolves the charts of `releases` (indices into `state.releases`): remote charts fetched
/// concurrently (pinned by the lock file), unvendored dependencies fetched for every chart.
/// With [`LockMode::Refresh`] or `update_lock`, the lock file is rewritten.
pub async fn resolve_charts(
    state: &DesiredState,
    releases: &[usize],
    settings: &SourceSettings,
    mode: LockMode,
) -> Result<Resolutions, ResolveError> {
    let sources = Sources::for_declared(&state.repositories, settings.options());
    let lock_path = LockFile::path_for(&state.path);
    let mut lock = LockFile::read(&lock_path)?;
    let update = mode == LockMode::Refresh || settings.update_lock;
    let mut requests = Vec::new();
    let mut stale = Vec::new();
    for &index in releases {
        let release = &state.releases[index];
        if matches!(release.chart, ChartRef::Local(_)) {
            continue;
        }
        let constraint = release.version.as_ref().map(|v| v.as_str().to_string());
        let mut pin: Option<Pin> = None;
        if mode == LockMode::Use
            && let (Some(lock), Some(source)) = (&lock, sources.source_of(&release.chart))
        {
            match lock.check(
                &release.id.to_string(),
                &release.chart_text,
                constraint.as_deref(),
                &source,
            ) {
                Ok(found) => pin = Some(found),
                Err(staleness) if !settings.update_lock => stale.push(staleness.to_string()),
                Err(_) => {}
            }
        }
        requests.push((
            index,
            ChartRequest {
                release: format!("release `{}`", release.id),
                chart: release.chart.clone(),
                constraint,
                pin,
            },
        ));
    }
    if !stale.is_empty() {
        return Err(ResolveError::StaleLock { path: lock_path, stale });
    }
    let indices: Vec<usize> = requests.iter().map(|(index, _)| *index).collect();
    let fetched = sources
        .fetch_all(requests.into_iter().map(|(_, request)| request).collect())
        .await;
    let mut fetched: HashMap<usize, Result<ResolvedChart, SourceError>> = indices.into_iter().zip(fetched).collect();
    // Unvendored dependencies of every chart that resolved, concurrently.
    let mut tasks = tokio::task::JoinSet::new();
    for &index in releases {
        let path = match (&state.releases[index].chart, fetched.get(&index)) {
            (ChartRef::Local(path), _) => path.clone(),
            (_, Some(Ok(resolved))) => resolved.path.clone(),
            _ => continue,
        };
        let sources = sources.clone();
        let id = format!("release `{}`", state.releases[index].id);
        tasks.spawn(async move { (index, missing_dependencies(&sources, &id, &path).await) });
    }
    let mut dependencies: HashMap<usize, Result<Vec<PathBuf>, SourceError>> = HashMap::new();
    while let Some(joined) = tasks.join_next().await {
        // A panicking fetch surfaces as a missing entry, reported below as unresolved.
        if let Ok((index, result)) = joined {
            dependencies.insert(index, result);
        }
    }
    let mut out = Resolutions::new();
    for &index in releases {
        let release = &state.releases[index];
        let chart = match &release.chart {
            ChartRef::Local(path) => Ok((path.clone(), None)),
            _ => match fetched.remove(&index) {
                Some(Ok(resolved)) => Ok((resolved.path.clone(), Some(resolved))),
                Some(Err(error)) => Err(ChartResolveError::Source(error)),
                None => continue,
            },
        };
        let result = chart.and_then(|(path, resolved)| {
            let dependencies = match dependencies.remove(&index) {
                Some(Ok(paths)) => paths,
                Some(Err(source)) => return Err(ChartResolveError::Dependencies { source }),
                None => Vec::new(),
            };
            Ok(ChartResolution {
                path,
                dependencies,
                resolved,
            })
        });
        out.insert(index, result);
    }
    if update {
        write_lock(state, releases, &out, lock.take().unwrap_or_default(), &lock_path)?;
    }
    Ok(out)
}

/// Rewrites the lock: entries of the resolved releases updated, entries of releases the state
/// file no longer has (or whose chart is now local) dropped, whatever the selection.
fn write_lock(
    state: &DesiredState,
    releases: &[usize],
    resolutions: &Resolutions,
    mut next: LockFile,
    path: &Path,
) -> Result<(), LockError> {
    next.version = 1;
    let remote: HashSet<String> = state
        .releases
        .iter()
        .filter(|release| !matches!(release.chart, ChartRef::Local(_)))
        .map(|release| release.id.to_string())
        .collect();
    let before = next.releases.len();
    next.releases.retain(|id, _| remote.contains(id));
    let mut changed = next.releases.len() != before;
    for &index in releases {
        let release = &state.releases[index];
        if let Some(Ok(ChartResolution {
            resolved: Some(resolved),
            ..
        })) = resolutions.get(&index)
        {
            let entry = LockEntry {
                chart: release.chart_text.clone(),
                constraint: release.version.as_ref().map(|v| v.as_str().to_string()),
                source: resolved.source.clone(),
                version: resolved.version.clone(),
                digest: format!("sha256:{}", resolved.digest),
            };
            if next.releases.get(&release.id.to_string()) != Some(&entry) {
                next.releases.insert(release.id.to_string(), entry);
                changed = true;
            }
        }
    }
    if changed || !path.exists() {
        next.write(path)?;
    }
    Ok(())
}

/// The dependencies that `chart`'s Chart.yaml declares and its `charts/` lacks, fetched as
/// `helm dependency build` would (honouring Chart.lock) into the chart cache.
pub async fn missing_dependencies(sources: &Sources, release: &str, chart: &Path) -> Result<Vec<PathBuf>, SourceError> {
    let Some(loaded) = needs_dependencies(chart) else {
        return Ok(Vec::new());
    };
    let directory = chart.is_dir().then_some(chart);
    source::dependencies::fetch_missing(sources, release, &loaded, directory).await
}

/// The loaded chart when it declares dependencies that `charts/` lacks (cheap check first:
/// a directory chart's Chart.yaml/requirements.yaml must mention `dependencies`).
fn needs_dependencies(path: &Path) -> Option<helmfire_chart::Chart> {
    if path.is_dir() {
        let mentions = ["Chart.yaml", "requirements.yaml"].iter().any(|file| {
            std::fs::read(path.join(file))
                .map(|data| data.windows(13).any(|window| window == b"dependencies:"))
                .unwrap_or(false)
        });
        if !mentions {
            return None;
        }
    }
    // Load errors are reported by the render that follows, with helm's text.
    let chart = helmfire_chart::load(path).ok()?;
    (!source::dependencies::missing(&chart).is_empty()).then_some(chart)
}
