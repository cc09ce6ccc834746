//! One release rendered, as `helm install`/`upgrade`/`template` render it before anything
//! reaches a cluster: the user values merged, the chart loaded (with the dependencies chart
//! sources fetched attached as subcharts, as `helm dependency build` would vendor them), values
//! prepared (dependencies, coalescing, schema), every template executed, NOTES split off,
//! the post-renderers run ([`super::postrender`]), documents sorted into manifests and hooks, and the release manifest framed as helm stores it.
//!
//! This is the only render path: `helmfire template`, `diff`, `apply`, `status`, `chart
//! template`, the tests and the benchmarks all call [`render_release`], and differ only in the
//! [`ReleaseRender`] they pass (revision, upgrade flag, capabilities, `lookup`).

use std::path::PathBuf;
use std::sync::Arc;

use helmfire_chart::values::{self, PrepareOptions, ValueOptions};
use helmfire_chart::{self as chart, Chart};
use helmfire_template::{Context, Lookup};
use helmfire_value::Map;

use super::manifest::{self, Hook, Sorted};
use super::postrender::{self, PostRenderStep};
use super::{Capabilities, ReleaseInfo, RenderError, render_chart, split_notes};

/// The values a user gives a release: helm's `-f` files and `--set*` flags. Inline maps of a
/// state file are served as files under synthetic names (`inline`), so they go through exactly
/// the reader `-f` files go through.
#[derive(Clone, Debug, Default)]
pub struct UserValues {
    pub options: ValueOptions,
    /// `(synthetic name in options.files, YAML or JSON text)`.
    pub inline: Vec<(String, Vec<u8>)>,
}

impl UserValues {
    /// Merges files and flags in helm's order (`values.Options.MergeValues`).
    pub fn merge(&self) -> Result<Map, values::ValuesError> {
        let mut read = |path: &str| match self.inline.iter().find(|(name, _)| name == path) {
            Some((_, data)) => Ok(data.clone()),
            None => values::read_file(path),
        };
        values::merge_user_values_with(&self.options, &mut read)
    }
}

/// Everything one render needs.
#[derive(Clone)]
pub struct ReleaseRender {
    /// `.Release`: name, namespace, revision, install or upgrade.
    pub release: ReleaseInfo,
    /// A chart directory or `.tgz` archive.
    pub chart: PathBuf,
    /// Chart.yaml dependencies missing from `charts/`, fetched by chart sources: attached as
    /// subcharts after loading.
    pub dependency_charts: Vec<PathBuf>,
    pub values: UserValues,
    /// `.Capabilities`.
    pub capabilities: Capabilities,
    /// `--skip-schema-validation`.
    pub skip_schema_validation: bool,
    /// helm's `lookup` against a cluster; `None` finds nothing, as `helm template` does.
    pub lookup: Option<Arc<dyn Lookup>>,
    /// Post-renderers run over the rendered files, in order (none: helm without
    /// `--post-renderer`).
    pub post_renderers: Vec<PostRenderStep>,
    /// Refuse post-rendered documents helm could not install (no `kind`, no name, one object
    /// twice): set when rendering for a cluster; `template` prints what the renderers made, as
    /// `helm template` does.
    pub check_objects: bool,
}

impl ReleaseRender {
    /// A first install of `chart` as `namespace/name` with no values, helm's offline
    /// capabilities, no post-renderers, and objects checked as for a cluster; callers change
    /// what they need with struct update syntax.
    pub fn install(name: &str, namespace: &str, chart: PathBuf) -> ReleaseRender {
        ReleaseRender {
            release: ReleaseInfo {
                name: name.to_string(),
                namespace: namespace.to_string(),
                revision: 1,
                is_upgrade: false,
            },
            chart,
            dependency_charts: Vec::new(),
            values: UserValues::default(),
            capabilities: Capabilities::helm_defaults(),
            skip_schema_validation: false,
            lookup: None,
            post_renderers: Vec::new(),
            check_objects: true,
        }
    }
}

/// A rendered release: what `template` prints and what `apply` installs.
#[derive(Clone, Debug)]
pub struct RenderedRelease {
    pub chart: Arc<Chart>,
    /// The user-supplied values (stored as the record's `config`, what `helm get values` shows).
    pub config: Map,
    /// The coalesced values the chart was rendered with.
    pub values: Map,
    /// Manifests and hooks, each in install order.
    pub sorted: Sorted,
    /// The release manifest as helm stores it (no CRDs).
    pub manifest: String,
    /// The rendered NOTES.txt of the root chart.
    pub notes: Option<String>,
}

impl RenderedRelease {
    /// `name-version`, as helm's `chart` column shows it.
    pub fn chart_label(&self) -> String {
        format!("{}-{}", self.chart.metadata.name, self.chart.metadata.version)
    }

    /// `(path, raw content)` of every `crds/` file, in helm's order: read now, as only
    /// `--include-crds` and installs ask for them.
    pub fn crds(&self) -> Result<Vec<(String, String)>, RenderError> {
        self.chart
            .crd_objects(self.chart.name())
            .into_iter()
            .map(|(path, file)| {
                let data = file.data.get().map_err(RenderError::unreadable)?;
                Ok((path, super::utf8_text(data).into_owned()))
            })
            .collect()
    }

    /// The hooks, in kind order.
    pub fn hooks(&self) -> &[Hook] {
        &self.sorted.hooks
    }
}

/// Renders one release. The error's text is helm's (what `helm template` prints after
/// `Error: `), with the failing stage kept in its variant.
pub fn render_release(request: &ReleaseRender) -> Result<RenderedRelease, RenderError> {
    if !request.chart.exists() {
        return Err(RenderError::ChartNotFound {
            path: request.chart.clone(),
        });
    }
    let config = request.values.merge().map_err(RenderError::Values)?;
    render_with_values(request, config)
}

/// [`render_release`] with the user values already merged (`chart template` merges them
/// before it locates the chart, as helm does).
pub fn render_with_values(request: &ReleaseRender, config: Map) -> Result<RenderedRelease, RenderError> {
    let mut chart = chart::load(&request.chart).map_err(RenderError::Load)?;
    if !request.dependency_charts.is_empty() {
        chart::source::dependencies::attach(&mut chart, &request.dependency_charts).map_err(RenderError::Load)?;
    }
    let prepared = values::prepare(
        &mut chart,
        &config,
        PrepareOptions {
            skip_schema_validation: request.skip_schema_validation,
        },
    )
    .map_err(RenderError::Values)?;
    if !valid_release_name(&request.release.name) {
        return Err(RenderError::ReleaseName(request.release.name.clone()));
    }
    let mut context = Context::default();
    context.lookup = request.lookup.clone();
    let mut rendered = render_chart(
        &chart,
        &prepared.values,
        &request.release,
        &request.capabilities,
        &mut context,
    )?;
    let notes = split_notes(&mut rendered, chart.name());
    let sorted = postrender::render_documents(
        rendered,
        &request.post_renderers,
        &request.release.namespace,
        request.check_objects,
    )?;
    let release_manifest = manifest::release_manifest(&sorted, &[]);
    Ok(RenderedRelease {
        chart: Arc::new(chart),
        config,
        values: prepared.values,
        sorted,
        manifest: release_manifest,
        notes,
    })
}

/// helm's `ValidateReleaseName`: DNS-1123 labels joined by dots, at most 53 characters.
pub fn valid_release_name(name: &str) -> bool {
    if name.is_empty() || name.len() > 53 {
        return false;
    }
    name.split('.').all(|label| {
        let b = label.as_bytes();
        !b.is_empty()
            && b.iter()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
            && b[0] != b'-'
            && b[b.len() - 1] != b'-'
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names_follow_helm() {
        assert!(valid_release_name("my-app.v2"));
        assert!(!valid_release_name("Bad_Name"));
        assert!(!valid_release_name("-a"));
        assert!(!valid_release_name(&"a".repeat(54)));
    }

    /// A file the loader left unread and that is gone when a template asks for it fails the
    /// render with the loader's error, instead of rendering as empty — also where a template
    /// then fails on the empty text.
    #[test]
    fn a_chart_file_unreadable_when_asked_for_fails_the_render() {
        let dir = std::env::temp_dir().join(format!("helmfire-render-unread-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("templates")).expect("mkdir");
        std::fs::create_dir_all(dir.join("files")).expect("mkdir");
        std::fs::write(dir.join("Chart.yaml"), "apiVersion: v2\nname: c\nversion: 1.0.0\n").expect("write");
        std::fs::write(
            dir.join("templates/a.yaml"),
            "size: {{ .Files.Get \"files/big.txt\" | len }}\n",
        )
        .expect("write");
        std::fs::write(dir.join("files/big.txt"), "b".repeat(64 * 1024)).expect("write");
        let chart = chart::load(&dir).expect("loads");
        let required = "b: {{ required \"files/big.txt is empty\" (.Files.Get \"files/big.txt\") | len }}\n";
        let release = ReleaseInfo {
            name: "r".into(),
            namespace: "default".into(),
            revision: 1,
            is_upgrade: false,
        };
        let caps = Capabilities::helm_defaults();
        let render = |chart: &Chart| render_chart(chart, &Map::new(), &release, &caps, &mut Context::default());
        let rendered = render(&chart.clone()).expect("renders");
        assert_eq!(rendered["c/templates/a.yaml"], "size: 65536\n");

        let expected = format!(
            "error reading files/big.txt: open {}: no such file or directory",
            dir.join("files/big.txt").display()
        );
        for with_required in [false, true] {
            if with_required {
                std::fs::write(dir.join("files/big.txt"), "b".repeat(64 * 1024)).expect("write");
                std::fs::write(dir.join("templates/b.yaml"), required).expect("write");
            }
            let chart = chart::load(&dir).expect("loads");
            std::fs::remove_file(dir.join("files/big.txt")).expect("rm");
            let error = render(&chart).expect_err("the file is gone");
            assert_eq!(error.to_string(), expected, "with required: {with_required}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
