//! `helmfire chart template`: helm-compatible (same flags, stdout, `Error: …` and exit status
//! as `helm template`), rendered by the same `render::render_release` as every state-file
//! release.
//!
//! `chart template` has its own parser: its `-f` means values files, as in helm, while the
//! global `-f` of every other command names the state file.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Parser;

use helmfire::render::postrender::{PostRenderStep, PostRenderer};
use helmfire::render::{self, Capabilities, OutputOptions, ReleaseInfo, ReleaseRender, RenderError, UserValues};
use helmfire_chart::ChartError;
use helmfire_chart::values::ValueOptions;

/// Render chart templates locally and display the output (as `helm template`).
#[derive(Debug, Parser)]
#[command(name = "helmfire chart template")]
pub struct ChartTemplateArgs {
    /// [RELEASE] CHART: a chart directory or archive, REPO/CHART from helm's repositories, a
    /// chart name with --repo, or oci://HOST/PATH/CHART
    #[arg(num_args = 1.., value_name = "ARGS", required = true)]
    pub args: Vec<String>,
    /// Namespace scope for this request
    #[arg(short = 'n', long, default_value = "default")]
    pub namespace: String,
    /// Values files (comma-separated or repeated)
    #[arg(short = 'f', long = "values", value_delimiter = ',')]
    pub values: Vec<String>,
    /// Set values (key1=val1,key2=val2; repeated)
    #[arg(long)]
    pub set: Vec<String>,
    /// Set STRING values (key1=val1,key2=val2; repeated)
    #[arg(long = "set-string")]
    pub set_string: Vec<String>,
    /// Set values from files (key1=path1,key2=path2; repeated)
    #[arg(long = "set-file")]
    pub set_file: Vec<String>,
    /// Set JSON values (key1=jsonval1,key2=jsonval2; repeated)
    #[arg(long = "set-json")]
    pub set_json: Vec<String>,
    /// Set a literal STRING value, taken as is (repeated)
    #[arg(long = "set-literal")]
    pub set_literal: Vec<String>,
    /// Kubernetes version used for Capabilities.KubeVersion
    #[arg(long = "kube-version")]
    pub kube_version: Option<String>,
    /// Kubernetes api versions used for Capabilities.APIVersions (comma-separated or repeated)
    #[arg(short = 'a', long = "api-versions", value_delimiter = ',')]
    pub api_versions: Vec<String>,
    /// Include CRDs in the templated output
    #[arg(long = "include-crds")]
    pub include_crds: bool,
    /// Skip tests from templated output
    #[arg(long = "skip-tests")]
    pub skip_tests: bool,
    /// Leave hooks out of the output
    #[arg(long = "no-hooks")]
    pub no_hooks: bool,
    /// Only show manifests rendered from the given templates (repeated)
    #[arg(short = 's', long = "show-only")]
    pub show_only: Vec<String>,
    /// Set .Release.IsUpgrade instead of .Release.IsInstall
    #[arg(long = "is-upgrade")]
    pub is_upgrade: bool,
    /// Write the templates to files in this directory instead of stdout
    #[arg(long = "output-dir")]
    pub output_dir: Option<PathBuf>,
    /// Use the release name in the --output-dir path
    #[arg(long = "release-name")]
    pub release_name: bool,
    /// Generate the name (and omit the NAME parameter); `helm template` still calls the release
    /// `release-name`
    #[arg(short = 'g', long = "generate-name")]
    pub generate_name: bool,
    /// Specify a template for the release name (Sprig functions; omit the NAME parameter)
    #[arg(long = "name-template")]
    pub name_template: Option<String>,
    /// Do not validate the values against values.schema.json
    #[arg(long = "skip-schema-validation")]
    pub skip_schema_validation: bool,
    /// Version constraint for a repository or registry chart (default: the newest stable)
    #[arg(long)]
    pub version: Option<String>,
    /// Use development versions too (equivalent to version '>0.0.0-0')
    #[arg(long)]
    pub devel: bool,
    /// Chart repository URL where to locate the requested chart
    #[arg(long)]
    pub repo: Option<String>,
    #[command(flatten)]
    pub connection: super::sources::ConnectionFlags,
    /// Pass credentials to all domains
    #[arg(long = "pass-credentials")]
    pub pass_credentials: bool,
    /// Fetch dependencies missing from the chart's charts/ directory (into helmfire's chart
    /// cache; unlike helm, the chart directory is left as it is)
    #[arg(long = "dependency-update")]
    pub dependency_update: bool,
    /// The name of a postrenderer/v1 plugin to pipe the rendered manifests through (found in
    /// $HELM_PLUGINS, as helm finds it)
    #[arg(long = "post-renderer", value_name = "NAME")]
    pub post_renderer: Vec<String>,
    /// An argument to the post-renderer (can specify multiple)
    #[arg(long = "post-renderer-args", value_name = "ARG", allow_hyphen_values = true)]
    pub post_renderer_args: Vec<String>,
}

/// The request for one `chart template` render, independent of clap.
#[derive(Clone, Debug, Default)]
pub struct TemplateRequest {
    pub release: String,
    pub chart: PathBuf,
    pub namespace: String,
    pub values: ValueOptions,
    pub kube_version: Option<String>,
    pub api_versions: Vec<String>,
    pub output: OutputOptions,
    pub include_crds: bool,
    pub is_upgrade: bool,
    pub output_dir: Option<PathBuf>,
    pub skip_schema_validation: bool,
    /// Chart.yaml dependencies missing from `charts/`, fetched by `--dependency-update`.
    pub dependency_charts: Vec<PathBuf>,
    /// `--post-renderer` with its `--post-renderer-args`.
    pub post_renderers: Vec<PostRenderStep>,
}

/// Renders a located chart (a path) as `helm template`; the error string is what helm prints
/// after `Error: `.
pub fn run_template(req: &TemplateRequest) -> Result<String, String> {
    // helm's order: a bad --kube-version, then a missing chart, then the values.
    let capabilities = Capabilities::offline(req.kube_version.as_deref(), &req.api_versions)?;
    let render = ReleaseRender {
        release: ReleaseInfo {
            name: req.release.clone(),
            namespace: req.namespace.clone(),
            revision: 1,
            is_upgrade: req.is_upgrade,
        },
        chart: req.chart.clone(),
        dependency_charts: req.dependency_charts.clone(),
        values: UserValues {
            options: req.values.clone(),
            inline: Vec::new(),
        },
        capabilities,
        skip_schema_validation: req.skip_schema_validation,
        lookup: None,
        post_renderers: req.post_renderers.clone(),
        check_objects: false,
    };
    let rendered = render::render_release(&render).map_err(|error| match error {
        RenderError::Template { .. } | RenderError::Yaml { .. } | RenderError::KubeVersion { .. } => {
            format!("{error}\n\nUse --debug flag to render out invalid YAML")
        }
        // helm prints only its summary; the reason (a path escaping the chart, a file over the
        // size limit, a link) is known, so it follows on its own line.
        RenderError::Load(ChartError::ArchiveRejected { ref source }) => {
            let entry = source
                .entry()
                .map(|(_, entry)| format!(" (entry `{entry}`)"))
                .unwrap_or_default();
            format!("{error}\n  caused by: {source}{entry}")
        }
        // A renderer's own words (its stderr) are in the causes; helm hides them, we show them.
        RenderError::PostRender(e) => format!(
            "{:#}\n\nUse --debug flag to render out invalid YAML",
            helmfire::error::Chain(e.as_ref())
        ),
        other => other.to_string(),
    })?;
    let mut output = req.output.clone();
    if req.include_crds {
        output.crds = rendered.crds().map_err(|e| e.to_string())?;
    }
    let stdout = match &req.output_dir {
        None => render::template_output(&rendered.sorted, &output).map_err(|e| e.to_string()),
        Some(dir) => write_output_dir(dir, &rendered.sorted, &output),
    };
    render::retire(rendered);
    stdout
}

/// `--output-dir`: every manifest (and hook) appended to `<dir>/<source path>`, each write
/// announced as `wrote <file>` as helm does.
pub(super) fn write_output_dir(dir: &Path, sorted: &render::Sorted, output: &OutputOptions) -> Result<String, String> {
    let mut written: std::collections::HashSet<String> = Default::default();
    let mut stdout = String::new();
    let mut write = |name: &str, data: &str, stdout: &mut String| -> Result<(), String> {
        let file = format!("{}/{name}", dir.display());
        let append = written.contains(name);
        if let Some(parent) = Path::new(&file).parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("mkdir {}: {e}", parent.display()))?;
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(&file)
            .map_err(|e| format!("open {file}: {e}"))?;
        f.write_all(format!("---\n# Source: {name}\n{data}\n").as_bytes())
            .map_err(|e| format!("write {file}: {e}"))?;
        written.insert(name.to_string());
        stdout.push_str(&format!("wrote {file}\n"));
        Ok(())
    };
    for (path, data) in &output.crds {
        write(path, data, &mut stdout)?;
    }
    for m in &sorted.manifests {
        write(&m.name, &m.content, &mut stdout)?;
    }
    if !output.no_hooks {
        for h in &sorted.hooks {
            if output.skip_tests && h.is_test() {
                continue;
            }
            write(&h.path, &h.manifest, &mut stdout)?;
        }
    }
    // The (empty) release manifest, printed with Println.
    stdout.push('\n');
    Ok(stdout)
}

impl ChartTemplateArgs {
    pub fn request(&self) -> TemplateRequest {
        let (release, chart) = match self.args.as_slice() {
            [chart] => ("release-name".to_string(), chart.clone()),
            [release, chart, ..] => (release.clone(), chart.clone()),
            [] => (String::new(), String::new()),
        };
        TemplateRequest {
            release,
            chart: PathBuf::from(chart),
            namespace: self.namespace.clone(),
            values: ValueOptions {
                files: self.values.clone(),
                set: self.set.clone(),
                set_string: self.set_string.clone(),
                set_file: self.set_file.clone(),
                set_json: self.set_json.clone(),
                set_literal: self.set_literal.clone(),
            },
            kube_version: self.kube_version.clone(),
            api_versions: self.api_versions.clone(),
            output: OutputOptions {
                crds: Vec::new(),
                skip_tests: self.skip_tests,
                no_hooks: self.no_hooks,
                show_only: self.show_only.clone(),
            },
            include_crds: self.include_crds,
            is_upgrade: self.is_upgrade,
            output_dir: self.output_dir.clone(),
            skip_schema_validation: self.skip_schema_validation,
            dependency_charts: Vec::new(),
            post_renderers: Vec::new(),
        }
    }

    /// helm's `--post-renderer` handling: at most one (an empty name is no renderer), the
    /// plugin looked up when the flag is read (a missing one fails before anything renders),
    /// `--post-renderer-args` passed verbatim and ignored without a renderer.
    fn post_renderers(&self) -> Result<Vec<PostRenderStep>, String> {
        let names: Vec<&String> = self.post_renderer.iter().filter(|n| !n.is_empty()).collect();
        let Some(name) = names.first() else {
            return Ok(Vec::new());
        };
        if names.len() > 1 {
            return Err(format!(
                "invalid argument {:?} for \"--post-renderer\" flag: cannot specify --post-renderer flag more than once",
                names[1]
            ));
        }
        helmfire_chart::plugin::find(&helmfire_chart::plugin::post_renderer_dirs(), name, "postrenderer/v1")
            .map_err(|e| format!("invalid argument {name:?} for \"--post-renderer\" flag: {e}"))?;
        Ok(vec![PostRenderStep {
            renderer: PostRenderer::Plugin {
                name: name.to_string(),
                args: self.post_renderer_args.clone(),
            },
            origin: "--post-renderer".to_string(),
        }])
    }
}

/// `helmfire chart template …`: argv after `chart template`. Returns the exit code.
pub fn chart_template_main(argv: Vec<String>) -> i32 {
    let args =
        match ChartTemplateArgs::try_parse_from(std::iter::once("helmfire chart template".to_string()).chain(argv)) {
            Ok(a) => a,
            Err(e) => {
                let _ = e.print();
                return if e.use_stderr() { 1 } else { 0 };
            }
        };
    let mut request = args.request();
    // One render, then exit: what the render built is left to the exit, not freed.
    render::exiting_after_this_render();
    // Helm reads (and looks up) --post-renderer with the flags, before anything else.
    let checked = args.post_renderers().map(|steps| request.post_renderers = steps);
    // Helm rejects a bad --kube-version before it looks for the chart, let alone downloads it.
    let checked = checked
        .and_then(|()| Capabilities::offline(request.kube_version.as_deref(), &request.api_versions).map(|_| ()))
        .and_then(|()| {
            request.release = release_name(&args)?;
            if let (true, Some(dir)) = (args.release_name, &request.output_dir) {
                request.output_dir = Some(dir.join(&request.release));
            }
            Ok(())
        });
    match checked
        .and_then(|()| locate_chart(&args, &request.chart.to_string_lossy()))
        .and_then(|chart| {
            if args.dependency_update {
                request.dependency_charts = missing_dependencies(&chart)?;
            }
            request.chart = chart;
            run_template(&request)
        }) {
        Ok(stdout) => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(stdout.as_bytes());
            let _ = out.flush();
            0
        }
        Err(message) => {
            eprintln!("Error: {message}");
            1
        }
    }
}

/// The release name, as helm's `NameAndChart` decides it for `helm template` (which presets the
/// name `release-name`): an explicit NAME, refused next to --generate-name or --name-template; else
/// --name-template executed with the template functions; else `release-name`.
fn release_name(args: &ChartTemplateArgs) -> Result<String, String> {
    if let [_, _, extra @ ..] = args.args.as_slice()
        && !extra.is_empty()
    {
        return Err(format!(
            "expected at most two arguments, unexpected arguments: {}",
            extra.join(", ")
        ));
    }
    if let [name, _] = args.args.as_slice() {
        if args.generate_name {
            return Err("cannot set --generate-name and also specify a name".into());
        }
        if args.name_template.is_some() {
            return Err("cannot set --name-template and also specify a name".into());
        }
        return Ok(name.clone());
    }
    match args.name_template.as_deref().filter(|t| !t.is_empty()) {
        Some(text) => {
            let mut set = helmfire_template::TemplateSet::default();
            set.parse("name-template", text).map_err(|e| e.to_string())?;
            set.execute("name-template", &helmfire_value::Value::Nil, &mut Default::default())
                .map_err(|e| e.to_string())
        }
        None => Ok("release-name".to_string()),
    }
}

/// `--dependency-update`: the dependencies that `chart`'s Chart.yaml declares and its charts/
/// lacks, fetched (as `helm dependency build` would, honouring Chart.lock) into the chart cache.
fn missing_dependencies(chart: &Path) -> Result<Vec<PathBuf>, String> {
    use helmfire_chart::source::{self, SourceOptions, Sources};
    let sources = Sources::with_helm_repositories(Vec::new(), SourceOptions::default());
    let runtime = source::runtime().map_err(|e| e.to_string())?;
    runtime
        .block_on(helmfire::resolve::missing_dependencies(
            &sources,
            "chart template",
            chart,
        ))
        .map_err(|e| format!("{:#}", helmfire::error::Chain(&e)))
}

/// Where `chart template` finds CHART, in the order of helm's `LocateChart`: an existing path;
/// an absolute or `.` path that does not exist is an error; then the chart `CHART` of `--repo`,
/// an `oci://` reference, or `REPO/CHART` of helm's repositories.yaml, fetched into helmfire's
/// chart cache (`$HELMFIRE_CACHE_DIR`).
fn locate_chart(args: &ChartTemplateArgs, chart: &str) -> Result<PathBuf, String> {
    use helmfire::state::ChartRef;
    use helmfire_chart::source::{self, ChartRequest, RepositoryConfig, SourceOptions, Sources};
    let chart = chart.trim();
    let path = Path::new(chart);
    if path.exists() {
        return Ok(path.to_path_buf());
    }
    if path.is_absolute() || chart.starts_with('.') {
        return Err(format!("path {chart:?} not found"));
    }
    let configured = |url: &str, oci: bool| RepositoryConfig {
        pass_credentials: args.pass_credentials,
        ..args.connection.repository(url, oci)
    };
    let (chart_ref, repositories) = if let Some(url) = &args.repo {
        let repository = configured(url, false);
        let reference = ChartRef::Repository {
            repository: repository.name.clone(),
            chart: chart.to_string(),
        };
        (reference, vec![repository])
    } else if let Some(rest) = chart.strip_prefix("oci://") {
        // The flags apply to the registry path the chart lives under.
        let base = rest.rsplit_once('/').map_or(rest, |(base, _)| base);
        (
            ChartRef::Oci(chart.to_string()),
            vec![configured(&format!("oci://{base}"), true)],
        )
    } else if let Some((repository, name)) = chart.split_once('/') {
        let reference = ChartRef::Repository {
            repository: repository.to_string(),
            chart: name.to_string(),
        };
        (reference, Vec::new())
    } else {
        return Err(format!(
            "non-absolute URLs should be in form of repo_name/path_to_chart, got: {chart}"
        ));
    };
    let constraint = match (&args.version, args.devel) {
        (Some(version), _) if !version.trim().is_empty() => Some(version.trim().to_string()),
        (_, true) => Some(">0.0.0-0".to_string()),
        _ => None,
    };
    let sources = Sources::with_helm_repositories(repositories, SourceOptions::default());
    let request = ChartRequest {
        release: "chart template".to_string(),
        chart: chart_ref,
        constraint,
        pin: None,
    };
    let runtime = source::runtime().map_err(|e| e.to_string())?;
    runtime
        .block_on(sources.fetch(&request))
        .map(|resolved| resolved.path)
        .map_err(|e| format!("{:#}", helmfire::error::Chain(&e)))
}
