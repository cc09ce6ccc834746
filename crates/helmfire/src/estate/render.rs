//! Rendering the releases of an estate: their user values, render requests and the worker
//! threads; `helmfire template` ([`render_releases`]) and the render half of planning.

use std::collections::HashMap;
use std::sync::Arc;

use helmfire_template::Lookup;
use helmfire_value::Value;

use crate::cluster::{Cluster, ObjectRef};
use crate::error::ReleaseError;
use crate::render::{self, Capabilities, ReleaseInfo, ReleaseRender, RenderedRelease, UserValues};
use crate::resolve::{self, ChartResolution, LockMode, Resolutions, SourceSettings};
use crate::state::{ReleaseSpec, ValuesSource};

use super::{Estate, EstateError};

/// How releases are rendered.
#[derive(Clone, Debug, Default)]
pub struct RenderSettings {
    /// `.Capabilities.KubeVersion` when no cluster says otherwise (`--kube-version`).
    pub kube_version: Option<String>,
    /// Extra `.Capabilities.APIVersions` (`--api-versions`).
    pub api_versions: Vec<String>,
    /// Rendering threads (0: one per core).
    pub workers: usize,
}

impl RenderSettings {
    pub(super) fn workers(&self) -> usize {
        match self.workers {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        }
    }
}

/// How one release is rendered in this run: `.Release.Revision`, install or upgrade, `lookup`.
#[derive(Clone)]
pub(super) struct Occasion {
    pub(super) revision: i64,
    pub(super) is_upgrade: bool,
    pub(super) lookup: Option<Arc<dyn Lookup>>,
    /// Rendering for a cluster (diff, apply): post-rendered documents must be installable.
    pub(super) install: bool,
}

impl Occasion {
    /// `helm template`: revision 1, an install, lookups find nothing.
    fn template() -> Occasion {
        Occasion {
            revision: 1,
            is_upgrade: false,
            lookup: None,
            install: false,
        }
    }
}

/// The user values of a state-file release: its values files and inline maps in order (inline
/// maps served under synthetic names through the same reader), `set` as helm's `--set-json`
/// (their types are known) and `setString` as `--set-string`.
pub fn user_values(release: &ReleaseSpec) -> UserValues {
    let mut inline = Vec::new();
    let mut files = Vec::new();
    for (position, source) in release.values.iter().enumerate() {
        match source {
            ValuesSource::File(path) => files.push(path.to_string_lossy().into_owned()),
            ValuesSource::Inline(map) => {
                // JSON is YAML: inline values go through the same reader as `-f` files.
                let name = format!("<inline values #{}>", position + 1);
                files.push(name.clone());
                inline.push((name, serde_json::Value::Object(map.clone()).to_string().into_bytes()));
            }
        }
    }
    UserValues {
        options: helmfire_chart::values::ValueOptions {
            files,
            set_json: release.set_json_lines(),
            set_string: release.set_string_lines(),
            ..Default::default()
        },
        inline,
    }
}

/// The render request of one state-file release.
pub(super) fn render_request(
    release: &ReleaseSpec,
    chart: &ChartResolution,
    capabilities: &Capabilities,
    occasion: &Occasion,
) -> ReleaseRender {
    ReleaseRender {
        release: ReleaseInfo {
            name: release.id.name.to_string(),
            namespace: release.id.namespace.to_string(),
            revision: occasion.revision,
            is_upgrade: occasion.is_upgrade,
        },
        chart: chart.path.clone(),
        dependency_charts: chart.dependencies.clone(),
        values: user_values(release),
        capabilities: capabilities.clone(),
        skip_schema_validation: false,
        lookup: occasion.lookup.clone(),
        post_renderers: release.post_renderers.clone(),
        check_objects: occasion.install,
    }
}

/// One release to render: its index, its id (for errors) and the request.
pub(super) type RenderJob = (usize, String, ReleaseRender);

/// Renders `jobs` on `workers` threads, off the async runtime; results in input order.
pub(super) async fn render_jobs(
    jobs: Vec<RenderJob>,
    workers: usize,
) -> Vec<(usize, Result<RenderedRelease, ReleaseError>)> {
    let rendered = tokio::task::spawn_blocking(move || {
        let results = render::parallel_map(&jobs, workers, |(_, _, request)| render::render_release(request));
        jobs.into_iter()
            .zip(results)
            .map(|((index, release, _), result)| {
                let result = match result {
                    Some(result) => result.map_err(|source| ReleaseError::Render { release, source }),
                    None => Err(ReleaseError::Internal {
                        release,
                        message: "the rendering thread failed".to_string(),
                    }),
                };
                (index, result)
            })
            .collect::<Vec<_>>()
    })
    .await;
    // Rendering threads catch their own panics (parallel_map), so the blocking task finishes.
    rendered.unwrap_or_default()
}

/// A release's render request (its id and the request), or why it has none.
pub(super) type RenderRequest = (usize, Result<(String, ReleaseRender), ReleaseError>);

/// Splits render requests into jobs and the releases that could not get one.
pub(super) fn split_jobs(requests: Vec<RenderRequest>) -> (Vec<RenderJob>, Vec<(usize, ReleaseError)>) {
    let mut jobs = Vec::new();
    let mut failed = Vec::new();
    for (index, request) in requests {
        match request {
            Ok((id, request)) => jobs.push((index, id, request)),
            Err(error) => failed.push((index, error)),
        }
    }
    (jobs, failed)
}

/// `helmfire template`: every selected release that is wanted installed, rendered as `helm
/// template` would (revision 1, no cluster), in state-file order.
pub async fn render_releases(
    estate: &Estate,
    sources: &SourceSettings,
    settings: &RenderSettings,
) -> Result<Vec<(usize, Result<RenderedRelease, ReleaseError>)>, EstateError> {
    let capabilities = Capabilities::offline(settings.kube_version.as_deref(), &settings.api_versions)
        .map_err(EstateError::Capabilities)?;
    let installed = estate.installed();
    let mut charts = resolve::resolve_charts(&estate.state, &installed, sources, LockMode::Use).await?;
    let occasion = Occasion::template();
    let requests = installed
        .iter()
        .map(|&index| {
            let release = estate.release(index);
            let request = chart_of(&mut charts, index, release).map(|chart| {
                (
                    release.id.to_string(),
                    render_request(release, &chart, &capabilities, &occasion),
                )
            });
            (index, request)
        })
        .collect();
    let (jobs, failed) = split_jobs(requests);
    let mut results: HashMap<usize, Result<RenderedRelease, ReleaseError>> =
        render_jobs(jobs, settings.workers()).await.into_iter().collect();
    results.extend(failed.into_iter().map(|(index, error)| (index, Err(error))));
    Ok(installed
        .into_iter()
        .filter_map(|index| Some((index, results.remove(&index)?)))
        .collect())
}

/// A release's resolved chart, or its resolution error.
pub(super) fn chart_of(
    charts: &mut Resolutions,
    index: usize,
    release: &ReleaseSpec,
) -> Result<ChartResolution, ReleaseError> {
    match charts.remove(&index) {
        Some(Ok(chart)) => Ok(chart),
        Some(Err(source)) => Err(ReleaseError::Chart {
            release: release.id.to_string(),
            source,
        }),
        None => Err(ReleaseError::Internal {
            release: release.id.to_string(),
            message: "its chart was not resolved".to_string(),
        }),
    }
}

/// helm's `lookup` served by the cluster, as `helm install`/`upgrade` do: called from rendering
/// threads, it blocks on the runtime that owns the cluster client.
pub(super) struct ClusterLookup {
    pub(super) cluster: Cluster,
    pub(super) runtime: tokio::runtime::Handle,
}

impl Lookup for ClusterLookup {
    fn lookup(&self, api_version: &str, kind: &str, namespace: &str, name: &str) -> Result<Value, String> {
        let cluster = &self.cluster;
        let namespace = (!namespace.is_empty()).then_some(namespace);
        let json = self.runtime.block_on(async {
            if name.is_empty() {
                let resource = cluster.resolve(api_version, kind).await.map_err(|e| e.to_string())?;
                let items = cluster
                    .list(&resource, namespace, "")
                    .await
                    .map_err(|e| e.to_string())?;
                Ok::<_, String>(serde_json::json!({
                    "apiVersion": api_version, "kind": format!("{kind}List"), "items": items,
                }))
            } else {
                let reference = ObjectRef::new(api_version, kind, namespace, name);
                match cluster.get(&reference).await {
                    Ok(Some(object)) => serde_json::to_value(object).map_err(|e| e.to_string()),
                    Ok(None) => Ok(serde_json::json!({})),
                    // helm's lookup answers an empty map for kinds the cluster does not serve.
                    Err(error) if error.is_not_found() => Ok(serde_json::json!({})),
                    Err(error) => Err(error.to_string()),
                }
            }
        })?;
        Ok(helmfire_value::interop::from_json(&json))
    }
}
