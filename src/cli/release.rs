//! Rendering state-file releases for `diff` and `apply`: the same steps as `helmfire template`
//! ([`super::template::release_request`] builds the request), keeping what converging needs —
//! the loaded chart, the user values (`config`), the coalesced values, hooks, notes and CRDs.

use std::sync::Arc;

use crate::chart::{self, Chart};
use crate::cluster::{Cluster, ObjectRef};
use crate::render::{self, Capabilities, ReleaseInfo};
use crate::template::{Context, Lookup};
use crate::value::{Map, Value};
use crate::values::{self, PrepareOptions};

use super::template::{ReleaseJob, TemplateRequest};

/// One release rendered for converging.
pub struct RenderedRelease {
    pub chart: Arc<Chart>,
    /// The user-supplied values (stored as the record's `config`).
    pub config: Map,
    /// The coalesced values.
    pub values: Map,
    /// The release manifest as Helm stores it (no CRDs).
    pub manifest: String,
    pub hooks: Vec<render::manifest::Hook>,
    pub notes: Option<String>,
    pub crds: Vec<(String, String)>,
}

impl RenderedRelease {
    /// `name-version`, as Helm's `chart` column shows it.
    pub fn chart_label(&self) -> String {
        format!("{}-{}", self.chart.metadata.name, self.chart.metadata.version)
    }
}

/// How a release is rendered: its revision (`.Release.Revision`), whether it is an upgrade,
/// and the cluster's Kubernetes version for `.Capabilities`.
#[derive(Clone)]
pub struct RenderContext {
    pub revision: i64,
    pub is_upgrade: bool,
    pub kube_version: Option<String>,
    /// Helm's `lookup` against the cluster (None: lookups find nothing, as `helm template`).
    pub lookup: Option<Arc<dyn Lookup>>,
}

/// `lookup` served by the cluster, as `helm install`/`upgrade` do: called from rendering
/// threads, it blocks on the runtime that owns the cluster client.
pub struct ClusterLookup {
    pub cluster: Cluster,
    pub runtime: tokio::runtime::Handle,
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
                    // Helm's lookup answers an empty map for kinds the cluster does not serve.
                    Err(error) if error.is_not_found() => Ok(serde_json::json!({})),
                    Err(error) => Err(error.to_string()),
                }
            }
        })?;
        crate::value::json::decode(&json.to_string()).map_err(|e| e.message)
    }
}

/// Renders one release as `helm upgrade --install` would before applying it.
pub fn render_release(job: &ReleaseJob, context: &RenderContext) -> Result<RenderedRelease, String> {
    let (req, inline): (&TemplateRequest, &[(String, Vec<u8>)]) = (&job.0, &job.1);
    let mut read = |path: &str| match inline.iter().find(|(n, _)| n == path) {
        Some((_, data)) => Ok(data.clone()),
        None => values::read_file(path),
    };
    let config = values::merge_user_values_with(&req.values, &mut read).map_err(|e| e.to_string())?;
    let kube_version = context.kube_version.as_deref().or(req.kube_version.as_deref());
    let caps = Capabilities::offline(kube_version, &req.api_versions)?;
    if !req.chart.exists() {
        return Err(format!("chart path {:?} not found", req.chart.display().to_string()));
    }
    let mut chart = chart::load(&req.chart).map_err(|e| e.to_string())?;
    let prepared = values::prepare(&mut chart, &config, PrepareOptions::default()).map_err(|e| e.to_string())?;
    let release = ReleaseInfo {
        name: req.release.clone(),
        namespace: req.namespace.clone(),
        revision: context.revision,
        is_upgrade: context.is_upgrade,
    };
    let mut ctx = Context::default();
    ctx.lookup = context.lookup.clone();
    let mut rendered =
        render::render_chart(&chart, &prepared.values, &release, &caps, &mut ctx).map_err(|e| e.to_string())?;
    let notes = render::split_notes(&mut rendered, chart.name());
    let sorted = render::sort_manifests(&rendered).map_err(|e| e.to_string())?;
    let manifest = render::manifest::release_manifest(&sorted, &[]);
    let crds = chart
        .crd_objects(chart.name())
        .into_iter()
        .map(|(path, file)| (path, String::from_utf8_lossy(&file.data).into_owned()))
        .collect();
    Ok(RenderedRelease {
        chart: Arc::new(chart),
        config,
        values: prepared.values,
        manifest,
        hooks: sorted.hooks,
        notes,
        crds,
    })
}

/// Renders jobs on `workers` threads; results in input order.
pub fn render_all(jobs: Vec<(ReleaseJob, RenderContext)>, workers: usize) -> Vec<Result<RenderedRelease, String>> {
    super::template::parallel_map(&jobs, workers, |(job, context)| render_release(job, context))
}
