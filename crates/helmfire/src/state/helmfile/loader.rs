//! helmfile's load pipeline (`pkg/app/desired_state_file_loader.go`, `pkg/state/create.go`):
//! files and `helmfile.d/`, parts split on `\n---\n`, two-pass rendering, strict YAML, `bases:`,
//! environment values and `helmfiles:`, visited in helmfile's order (sub-helmfiles first).
//!
//! The result is one [`LoadedState`] per state file, before release templates are executed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use helmfire_template::{Cause, TemplateError};
use helmfire_value::{Map, Value};

use super::env::{Env, map_value, merge_optional, merge_values};
use super::files;
use super::raw::{APPEND, Any, Merge, OVERRIDE, RawEnvironment, RawHelmfile, RawSubHelmfile};
use super::source::Sources;
use super::template::{Pass, RenderError, Renderer, TEMPLATE_NAME};
use crate::state::de::{self, Spanned};
use crate::state::error::{Diagnostic, StateError};
use crate::state::model::{Notice, NoticeLevel};
use crate::state::node::{Node, NodeKind};
use crate::state::source::{Location, SourceFile, Span};
use crate::state::yaml::{self, Schema};

/// One state file, loaded: its merged spec, environment and `.Values`.
pub(super) struct LoadedState {
    pub path: PathBuf,
    pub base_dir: PathBuf,
    pub spec: RawHelmfile,
    pub env: Env,
    pub rendered_values: Map,
    /// The selectors of the `helmfiles:` entry that brought it in (`None`: the command line's).
    pub selectors: Option<Vec<String>>,
}

/// Why loading a file stopped.
pub(super) enum Stop {
    /// The environment is not defined in the file: helmfile skips it.
    UndefinedEnvironment,
    Error(StateError),
}

impl From<StateError> for Stop {
    fn from(error: StateError) -> Stop {
        Stop::Error(error)
    }
}

impl From<Diagnostic> for Stop {
    fn from(diagnostic: Diagnostic) -> Stop {
        Stop::Error(diagnostic.into())
    }
}

impl From<Box<Diagnostic>> for Stop {
    fn from(diagnostic: Box<Diagnostic>) -> Stop {
        Stop::Error(StateError::from(*diagnostic))
    }
}

type Loaded<T> = Result<T, Stop>;

/// A sub-helmfile to visit: its path, the values its entry passes, and its selectors.
type SubHelmfile = (PathBuf, Option<Env>, Option<Vec<String>>);

/// The loader's state across every file of a run.
pub(super) struct Loader {
    pub environment: String,
    pub sources: Sources,
    pub renderer: Renderer,
    pub notices: Vec<Notice>,
    pub states: Vec<LoadedState>,
    /// Sub-helmfiles being visited, to refuse cycles.
    visiting: Vec<PathBuf>,
    /// No notices while rendering helmfile's first pass (it reads everything twice).
    quiet: bool,
    /// State files skipped because they do not define the environment.
    pub skipped: Vec<PathBuf>,
}

/// The keys helmfile's first pass reads: it parses leniently and only wants the environment.
#[derive(Default)]
struct FirstPass {
    values: Vec<Spanned<Any>>,
    environments: std::collections::BTreeMap<String, Spanned<Option<RawEnvironment>>>,
    bases: Vec<Spanned<Any>>,
}

impl Loader {
    pub fn new(environment: &str) -> Loader {
        Loader {
            environment: environment.to_string(),
            sources: Sources::default(),
            renderer: Renderer::default(),
            notices: Vec::new(),
            states: Vec::new(),
            visiting: Vec::new(),
            quiet: false,
            skipped: Vec::new(),
        }
    }

    fn notice(&mut self, level: NoticeLevel, message: String) {
        if !self.quiet {
            self.notices.push(Notice { level, message });
        }
    }

    fn located(&self, span: Span, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(message, Some(self.sources.location(span)))
    }

    /// Visits a state file or a directory of them (`helmfile.d/`), sub-helmfiles first.
    pub fn visit(
        &mut self,
        path: &Path,
        overrode: Option<&Env>,
        selectors: Option<Vec<String>>,
    ) -> Result<(), StateError> {
        if path.is_dir() {
            let found = files::directory_files(path);
            if found.is_empty() {
                self.notice(
                    NoticeLevel::Warning,
                    format!(
                        "`{}` holds no `*.yaml`, `*.yml` or `*.gotmpl` state files",
                        path.display()
                    ),
                );
            }
            for file in found {
                self.visit_file(&file, overrode, selectors.clone())?;
            }
            return Ok(());
        }
        if !path.is_file() {
            return Err(Diagnostic::new(format!("state file `{}` does not exist", path.display()), None).into());
        }
        self.visit_file(path, overrode, selectors)
    }

    fn visit_file(
        &mut self,
        file: &Path,
        overrode: Option<&Env>,
        selectors: Option<Vec<String>>,
    ) -> Result<(), StateError> {
        let absolute = std::path::absolute(file)
            .map(|p| files::normalize(&p))
            .unwrap_or_else(|_| file.to_path_buf());
        if self.visiting.contains(&absolute) {
            return Err(Diagnostic::new(
                format!("`{}` includes itself through `helmfiles:`", file.display()),
                Some(Location::file(file)),
            )
            .into());
        }
        let base_dir = parent(file);
        let mut state = match self.load_file(None, overrode, &base_dir, file, true) {
            Ok(state) => state,
            Err(Stop::UndefinedEnvironment) => {
                self.skipped.push(file.to_path_buf());
                self.notice(
                    NoticeLevel::Info,
                    format!(
                        "`{}` skipped: it does not define environment `{}` (as helmfile skips it)",
                        file.display(),
                        self.environment
                    ),
                );
                return Ok(());
            }
            Err(Stop::Error(error)) => return Err(error),
        };
        state.selectors = selectors.clone();
        self.visiting.push(absolute);
        let subs = std::mem::take(&mut state.spec.helmfiles);
        for sub in &subs {
            let (target, overrides, sub_selectors) = self.sub_helmfile(&state, sub, &selectors)?;
            self.visit(&target, overrides.as_ref(), sub_selectors)?;
        }
        state.spec.helmfiles = subs;
        self.visiting.pop();
        self.states.push(state);
        Ok(())
    }

    /// Where a `helmfiles:` entry (already expanded) points, the values it passes and its selectors.
    fn sub_helmfile(
        &mut self,
        parent: &LoadedState,
        sub: &Spanned<RawSubHelmfile>,
        selectors: &Option<Vec<String>>,
    ) -> Result<SubHelmfile, StateError> {
        // Already expanded against the parent's directory (`expand_helmfiles`).
        let target = PathBuf::from(&sub.value.path);
        let own = files::normalize(&std::path::absolute(&parent.path).unwrap_or_else(|_| parent.path.clone()));
        let target_abs = files::normalize(&std::path::absolute(&target).unwrap_or_else(|_| target.clone()));
        if target_abs == own || sub.value.path == "." {
            return Err(self
                .located(
                    sub.span,
                    format!("`{}` includes itself through `helmfiles:`", parent.path.display()),
                )
                .into());
        }
        let overrides = if sub.value.values.is_empty() {
            None
        } else {
            let caller_env = Env::new(&self.environment);
            let values = self
                .values_entries(
                    Some("Error"),
                    &sub.value.values,
                    &caller_env,
                    &parent.base_dir,
                    "environment values",
                )
                .map_err(|diagnostic| StateError::from(*diagnostic))?;
            Some(Env {
                name: self.environment.clone(),
                values,
                ..Env::default()
            })
        };
        let sub_selectors = match &sub.value.selectors {
            Some(explicit) if !sub.value.selectors_inherited => Some(explicit.clone()),
            _ => selectors.clone(),
        };
        Ok((target, overrides, sub_selectors))
    }

    /// `loadFileWithOverrides` + `load`: one file, part by part.
    fn load_file(
        &mut self,
        inherited: Option<&Env>,
        overrode: Option<&Env>,
        base_dir: &Path,
        file: &Path,
        evaluate_bases: bool,
    ) -> Loaded<LoadedState> {
        let text = crate::state::load::read_limited(file)?;
        let text = text.replace("\r\n", "\n");
        let original = SourceFile::new(file, text);
        if !original.text.lines().any(is_top_level_key) {
            return Err(Diagnostic::new(
                format!("no top-level config keys are found in `{}`", file.display()),
                Some(Location::file(file)),
            )
            .with_hint("a helmfile state file is a YAML map: `releases:`, `environments:`, `repositories:`, …")
            .into());
        }
        let has_env = inherited.is_some() || overrode.is_some();
        let mut env: Option<Env> = inherited.cloned();
        let mut merged: Option<LoadedState> = None;
        let mut offset = 0;
        let mut line = 1;
        let parts: Vec<&str> = original.text.split("\n---\n").collect();
        for part in parts {
            let first_line = line;
            line += part.matches('\n').count() + 2;
            offset += part.len() + 5;
            let inherited_env = env.clone().unwrap_or_else(|| Env::new(&self.environment));
            let rendered = self.render_part(&original, first_line, part, &inherited_env, overrode, base_dir)?;
            let current = self.raw_load(
                &original,
                first_line,
                part,
                &rendered,
                base_dir,
                file,
                evaluate_bases,
                env.as_ref(),
                overrode,
            )?;
            match &mut merged {
                None => merged = Some(current),
                Some(state) => {
                    state.spec.mergo(current.spec, OVERRIDE);
                    state.env.merge_from(&current.env);
                    state.rendered_values = current.rendered_values;
                }
            }
            let state = merged.as_ref().expect("set above");
            env = Some(state.env.clone());
            if !state.spec.environments.is_empty()
                && evaluate_bases
                && self.environment != "default"
                && !state.spec.environments.contains_key(&self.environment)
            {
                return Err(Stop::UndefinedEnvironment);
            }
        }
        let _ = offset;
        let state = merged.expect("a file has at least one part");
        if state.spec.environments.is_empty() && evaluate_bases && !has_env && self.environment != "default" {
            return Err(Stop::UndefinedEnvironment);
        }
        Ok(state)
    }

    /// Two-pass rendering (`twoPassRenderTemplateToYaml`, v0).
    fn render_part(
        &mut self,
        original: &Arc<SourceFile>,
        first_line: usize,
        part: &str,
        inherited: &Env,
        overrode: Option<&Env>,
        base_dir: &Path,
    ) -> Loaded<String> {
        let rendered_env = self.prestate(original, first_line, part, inherited, overrode, base_dir);
        let merged = inherited
            .merged(Some(&rendered_env.unwrap_or_else(|| inherited.clone())))
            .merged(overrode);
        let values = merged.merged_values();
        let data = state_data(&merged, values);
        self.renderer
            .render(part, base_dir, &data, Pass::Final)
            .map_err(|failure| Stop::from(template_diagnostic(&failure.error, original, first_line)))
    }

    /// The first pass (`renderPrestate`): renders leniently to find this part's environment,
    /// so that `.Values` in the same part can see it. Every failure just means "no environment".
    fn prestate(
        &mut self,
        original: &Arc<SourceFile>,
        first_line: usize,
        part: &str,
        first_pass_env: &Env,
        overrode: Option<&Env>,
        base_dir: &Path,
    ) -> Option<Env> {
        if !part.contains("{{") {
            // Without actions both passes render the same text; the environment comes from
            // the real load of this part.
            return None;
        }
        let init = first_pass_env.merged(overrode);
        let data = state_data(&init, Map::new());
        let output = match self.renderer.render(part, base_dir, &data, Pass::First) {
            Ok(output) => output,
            Err(failure) => failure.partial?,
        };
        let sanitized = output.replace("<no value>", "");
        let was_quiet = std::mem::replace(&mut self.quiet, true);
        let env = self.prestate_env(
            original,
            first_line,
            part,
            &sanitized,
            first_pass_env,
            overrode,
            base_dir,
        );
        self.quiet = was_quiet;
        env
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "helmfile's loader threads these through every call"
    )]
    fn prestate_env(
        &mut self,
        original: &Arc<SourceFile>,
        first_line: usize,
        part: &str,
        sanitized: &str,
        first_pass_env: &Env,
        overrode: Option<&Env>,
        base_dir: &Path,
    ) -> Option<Env> {
        let (base, documents) = self
            .parse_rendered(original, first_line, part, sanitized, Schema::GoYamlV2)
            .ok()?;
        let _ = base;
        let mut spec = FirstPass::default();
        for document in &documents {
            // Lenient, as helmfile's first pass: only these keys are read, the rest ignored.
            let NodeKind::Map(entries) = &document.kind else {
                continue;
            };
            for (key, value) in entries {
                match key.as_str() {
                    Some("values") => spec
                        .values
                        .extend(de::from_node::<Vec<Spanned<Any>>>(value, &self.sources.text).ok()?),
                    Some("environments") => {
                        let environments: std::collections::BTreeMap<String, Spanned<Option<RawEnvironment>>> =
                            de::from_node(value, &self.sources.text).ok()?;
                        for (name, env) in environments {
                            spec.environments.entry(name).or_insert(env);
                        }
                    }
                    Some("bases") => spec
                        .bases
                        .extend(de::from_node::<Vec<Spanned<Any>>>(value, &self.sources.text).ok()?),
                    _ => {}
                }
            }
        }
        if !spec.bases.is_empty() {
            // helmfile's first pass refuses `bases:` ("nested base helmfile is unsupported").
            return None;
        }
        let environment = spec
            .environments
            .get(&self.environment)
            .map(|e| e.value.clone().unwrap_or_default());
        self.environment_values(
            environment.as_ref(),
            &spec.values,
            Some(first_pass_env),
            overrode,
            base_dir,
        )
        .ok()
    }

    /// Adds rendered text to the sources and parses its YAML documents (arena spans).
    fn parse_rendered(
        &mut self,
        original: &Arc<SourceFile>,
        first_line: usize,
        template: &str,
        rendered: &str,
        schema: Schema,
    ) -> Result<(usize, Vec<Node>), Box<Diagnostic>> {
        let base = self.sources.add(original, first_line, template, rendered);
        let local = SourceFile::new(&original.path, rendered.to_string());
        let mut documents = yaml::parse_documents(&local, schema).map_err(|error| {
            let span = Span {
                start: base + error.offset,
                end: base + error.offset,
            };
            let mut diagnostic = self.located(span, format!("invalid YAML: {}", error.message));
            diagnostic.hint = self
                .sources
                .rendered_line(span)
                .map(|line| format!("the template rendered this line as `{}`", line.trim()));
            diagnostic
        })?;
        for document in &mut documents {
            shift(document, base);
        }
        Ok((base, documents))
    }

    /// `rawLoad` (v0): parse, bases, environment values, `.Values`, and the expanded `helmfiles:`.
    #[expect(
        clippy::too_many_arguments,
        reason = "helmfile's loader threads these through every call"
    )]
    fn raw_load(
        &mut self,
        original: &Arc<SourceFile>,
        first_line: usize,
        template: &str,
        rendered: &str,
        base_dir: &Path,
        file: &Path,
        evaluate_bases: bool,
        env: Option<&Env>,
        overrode: Option<&Env>,
    ) -> Loaded<LoadedState> {
        let env_values = merge_optional(env, overrode);
        let mut state = self.parse_and_load(
            original,
            first_line,
            template,
            rendered,
            base_dir,
            file,
            evaluate_bases,
            env_values.as_ref(),
        )?;
        state.spec.helmfiles = self.expand_helmfiles(&state)?;
        Ok(state)
    }

    /// `ParseAndLoad`.
    #[expect(
        clippy::too_many_arguments,
        reason = "helmfile's loader threads these through every call"
    )]
    fn parse_and_load(
        &mut self,
        original: &Arc<SourceFile>,
        first_line: usize,
        template: &str,
        rendered: &str,
        base_dir: &Path,
        file: &Path,
        evaluate_bases: bool,
        env_values: Option<&Env>,
    ) -> Loaded<LoadedState> {
        let mut spec = self.parse(original, first_line, template, rendered)?;
        if !evaluate_bases {
            if let Some(base) = spec.bases.first() {
                return Err(self
                    .located(
                        base.span,
                        "a base helmfile cannot have `bases:` of its own (helmfile does not support nested bases)",
                    )
                    .into());
            }
        } else if !spec.bases.is_empty() {
            spec = self.load_bases(env_values, spec, base_dir)?;
        }
        let environment = match spec.environments.get(&self.environment) {
            Some(found) => {
                if let Some(secret) = found.value.as_ref().and_then(|e| e.secrets.first()) {
                    return Err(self
                        .located(secret.span, "environment `secrets:` are decrypted by helm-secrets (sops), which helmfire does not support")
                        .with_hint("decrypt them into a values file outside the repository and list it under `values:`, or pass the values through environment variables")
                        .into());
                }
                Some(found.value.clone().unwrap_or_default())
            }
            None => None,
        };
        let env = self.environment_values(environment.as_ref(), &spec.values, env_values, None, base_dir)?;
        let rendered_values = env.merged_values();
        Ok(LoadedState {
            path: file.to_path_buf(),
            base_dir: base_dir.to_path_buf(),
            spec,
            env,
            rendered_values,
            selectors: None,
        })
    }

    /// `Parse`: the documents of a rendered part, strictly, merged with append.
    fn parse(
        &mut self,
        original: &Arc<SourceFile>,
        first_line: usize,
        template: &str,
        rendered: &str,
    ) -> Result<RawHelmfile, Box<Diagnostic>> {
        let (_, documents) = self.parse_rendered(original, first_line, template, rendered, Schema::GoYamlV2Strict)?;
        let mut spec = RawHelmfile::default();
        for document in &documents {
            if matches!(document.kind, NodeKind::Null) {
                continue;
            }
            let current: RawHelmfile = de::from_node(document, &self.sources.text).map_err(|error| {
                let location = error.span.map(|span| self.sources.location(span));
                let hint = match error.message.as_str() {
                    "unknown field `setString`" => Some(
                        "helmfile v0.166 has no release `setString` (v0.171 added it); write `set:` entries, whose values helm types like `--set`".to_string(),
                    ),
                    "unknown field `isDir`" => None,
                    _ => error.hint,
                };
                let mut diagnostic = Diagnostic::new(error.message, location);
                diagnostic.hint = hint;
                diagnostic
            })?;
            spec.mergo(current, APPEND);
        }
        if !spec.charts.is_empty() {
            if !spec.releases.is_empty() {
                return Err(self
                    .located(
                        spec.charts[0].span,
                        "you can't specify both `charts` and `releases` sections",
                    )
                    .into());
            }
            spec.releases = std::mem::take(&mut spec.charts);
        }
        if spec.helm_defaults.kube_context.is_empty() && !spec.context.is_empty() {
            spec.helm_defaults.kube_context = spec.context.clone();
        }
        Ok(spec)
    }

    /// `loadBases`: each base loaded like a file (with this file's directory as its base), then
    /// `[base1, base2, …, self]` merged with the first non-empty value winning.
    fn load_bases(&mut self, env_values: Option<&Env>, spec: RawHelmfile, base_dir: &Path) -> Loaded<RawHelmfile> {
        let mut layers = Vec::new();
        for base in &spec.bases {
            if files::is_remote(&base.value) {
                return Err(self
                    .located(
                        base.span,
                        format!(
                            "remote base `{}` is fetched by go-getter, which helmfire does not support",
                            base.value
                        ),
                    )
                    .with_hint("download the base into the repository and refer to it by a relative path")
                    .into());
            }
            let path = files::join(base_dir, &base.value);
            if !path.is_file() {
                return Err(self
                    .located(base.span, format!("base `{}` does not exist", path.display()))
                    .into());
            }
            let loaded = match self.load_file(env_values, None, base_dir, &path, false) {
                Ok(loaded) => loaded,
                Err(Stop::UndefinedEnvironment) => continue,
                Err(error) => return Err(error),
            };
            layers.push(loaded.spec);
        }
        let mut layers = layers.into_iter();
        let Some(mut merged) = layers.next() else {
            return Ok(spec);
        };
        for layer in layers {
            merged.mergo(layer, APPEND);
        }
        merged.mergo(spec, APPEND);
        Ok(merged)
    }

    /// `LoadEnvValues`: this part's environment values over the inherited environment, the
    /// overrides over them, and the state's `values:` as defaults.
    fn environment_values(
        &mut self,
        environment: Option<&RawEnvironment>,
        defaults: &[Spanned<Any>],
        context: Option<&Env>,
        overrode: Option<&Env>,
        base_dir: &Path,
    ) -> Result<Env, Box<Diagnostic>> {
        let render_env = context.cloned().unwrap_or_else(|| Env::new(&self.environment));
        let mut values = Map::new();
        let mut kube_context = String::new();
        if let Some(environment) = environment {
            let handler = environment.missing_file_handler.get();
            values = self.values_entries(
                handler.as_deref(),
                &environment.values,
                &render_env,
                base_dir,
                "environment values",
            )?;
            kube_context = environment.kube_context.text().to_string();
        }
        let own = Env {
            name: self.environment.clone(),
            kube_context,
            values,
            defaults: Map::new(),
        };
        let mut env = match context {
            Some(context) => context.merged(Some(&own)),
            None => own,
        };
        if let Some(overrode) = overrode {
            env.merge_from(overrode);
        }
        let defaults = self.values_entries(None, defaults, &render_env, base_dir, "values")?;
        merge_values(&mut env.defaults, &defaults);
        Ok(env)
    }

    /// `LoadEnvironmentValues`: files (globs, `.gotmpl` rendered) and inline maps merged in order.
    fn values_entries(
        &mut self,
        handler: Option<&str>,
        entries: &[Spanned<Any>],
        render_env: &Env,
        base_dir: &Path,
        what: &str,
    ) -> Result<Map, Box<Diagnostic>> {
        let mut result = Map::new();
        for entry in entries {
            match &entry.value.0 {
                Value::String(path) => {
                    let path = path.as_ref();
                    if files::is_remote(path) {
                        return Err(self
                            .located(entry.span, format!("remote {what} file `{path}` is fetched by go-getter, which helmfire does not support"))
                            .with_hint("download the file into the repository and refer to it by a relative path").into());
                    }
                    let matches = files::glob(&files::join(base_dir, path));
                    if matches.is_empty() {
                        match handler.unwrap_or("Error") {
                            "Error" => {
                                return Err(self
                                    .located(entry.span, format!("{what} file matching `{path}` does not exist in `{}`", base_dir.display()))
                                    .with_hint("paths are relative to the helmfile; set `missingFileHandler: Warn` on the environment to skip missing files").into());
                            }
                            "Warn" => self.notice(
                                NoticeLevel::Warning,
                                format!("skipping missing {what} file matching `{path}`"),
                            ),
                            "Info" => self.notice(
                                NoticeLevel::Info,
                                format!("skipping missing {what} file matching `{path}`"),
                            ),
                            "Debug" => {}
                            other => {
                                return Err(self.located(
                                    entry.span,
                                    format!("invalid missing file handler `{other}`: it must be one of Error, Warn, Info, Debug"),
                                ).into());
                            }
                        }
                        continue;
                    }
                    for file in matches {
                        if file.extension().is_some_and(|e| e == "hcl") {
                            return Err(self
                                .located(
                                    entry.span,
                                    format!("HCL {what} file `{}` is not supported by helmfire", file.display()),
                                )
                                .with_hint("convert it to YAML")
                                .into());
                        }
                        let map = self.values_file(&file, render_env, entry.span)?;
                        merge_values(&mut result, &map);
                    }
                }
                Value::Map(map, _) => {
                    let map = map.read().clone();
                    merge_values(&mut result, &map);
                }
                Value::Nil => {}
                other => {
                    return Err(self
                        .located(
                            entry.span,
                            format!(
                                "unexpected type of value: expected a file path or a map, found {}",
                                helmfire_template::fmt::type_name(other)
                            ),
                        )
                        .into());
                }
            }
        }
        Ok(result)
    }

    /// An environment values file: rendered when it ends in `.gotmpl` (with `.Values` empty, as
    /// helmfile does), then read as go-yaml v2 reads it.
    fn values_file(&mut self, file: &Path, render_env: &Env, span: Span) -> Result<Map, Box<Diagnostic>> {
        let text = std::fs::read_to_string(file)
            .map_err(|e| self.located(span, format!("failed to read `{}`: {e}", file.display())))?;
        let is_template = file.to_string_lossy().rsplit('.').next() == Some("gotmpl");
        let source = SourceFile::new(file, text);
        let rendered = if is_template {
            let data = state_data(render_env, Map::new());
            let mut data_map = data.as_map().map(|m| m.read().clone()).unwrap_or_default();
            data_map.insert("Namespace".into(), Value::from(""));
            self.renderer
                .render(&source.text, &parent(file), &map_value(data_map), Pass::Final)
                .map_err(|failure| template_diagnostic(&failure.error, &source, 1))?
        } else {
            source.text.clone()
        };
        helmfire_value::yaml::decode_go_map(&rendered).map_err(|error| {
            let location = match error.line {
                Some(line) => {
                    let line = if is_template {
                        super::source::align_lines(&source.text, &rendered)
                            .get(line - 1)
                            .map_or(line, |l| l + 1)
                    } else {
                        line
                    };
                    let offset = source.offset_of(line, error.column.unwrap_or(1).saturating_sub(1));
                    source.location(offset)
                }
                None => Location::file(file),
            };
            Box::new(Diagnostic::new(
                format!("invalid values file: {}", error.message),
                Some(location),
            ))
        })
    }

    /// `ExpandedHelmfiles`: globs relative to the file, sorted; no match warns (or fails with
    /// `missingFileHandler: Error`).
    fn expand_helmfiles(&mut self, state: &LoadedState) -> Result<Vec<Spanned<RawSubHelmfile>>, Box<Diagnostic>> {
        let mut expanded = Vec::new();
        for entry in &state.spec.helmfiles {
            if files::is_remote(&entry.value.path) {
                return Err(self
                    .located(
                        entry.span,
                        format!(
                            "remote sub-helmfile `{}` is fetched by go-getter, which helmfire does not support",
                            entry.value.path
                        ),
                    )
                    .with_hint("check the helmfile into the repository and refer to it by a relative path")
                    .into());
            }
            let matches = files::glob(&files::join(&state.base_dir, &entry.value.path));
            if matches.is_empty() {
                if state.spec.missing_file_handler.text() == "Error" {
                    return Err(self
                        .located(entry.span, format!("no matches for path: {}", entry.value.path))
                        .into());
                }
                self.notice(
                    NoticeLevel::Warning,
                    format!("no matches for path: {}", entry.value.path),
                );
                continue;
            }
            for found in matches {
                let mut sub = entry.clone();
                sub.value.path = found.to_string_lossy().into_owned();
                expanded.push(sub);
            }
        }
        Ok(expanded)
    }
}

/// `EnvironmentTemplateData`: `.Environment`, `.Namespace`, `.Values` and `.StateValues`.
pub(super) fn state_data(env: &Env, values: Map) -> Value {
    let values = map_value(values);
    let mut data = Map::new();
    data.insert("Environment".into(), env.template_value());
    data.insert("Namespace".into(), Value::from(""));
    data.insert("Values".into(), values.clone());
    data.insert("StateValues".into(), values);
    map_value(data)
}

pub(super) fn parent(file: &Path) -> PathBuf {
    file.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// helmfile's policy check: a line starting with a top-level key (`^[a-zA-Z]+:`).
fn is_top_level_key(line: &str) -> bool {
    let letters = line.bytes().take_while(u8::is_ascii_alphabetic).count();
    letters > 0 && line.as_bytes().get(letters) == Some(&b':')
}

fn shift(node: &mut Node, base: usize) {
    node.span.start += base;
    node.span.end += base;
    match &mut node.kind {
        NodeKind::Seq(items) => items.iter_mut().for_each(|n| shift(n, base)),
        NodeKind::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            shift(k, base);
            shift(v, base);
        }),
        _ => {}
    }
}

/// A template failure as a diagnostic at the helmfile line it happened on.
pub(super) fn template_diagnostic(error: &RenderError, original: &SourceFile, first_line: usize) -> Diagnostic {
    match error {
        RenderError::Helper { path, message } => {
            Diagnostic::new(format!("helper template failed: {message}"), Some(Location::file(path)))
        }
        RenderError::Template(TemplateError::Parse(parse)) if parse.name == TEMPLATE_NAME => {
            let line = first_line + parse.line.saturating_sub(1);
            Diagnostic::new(
                format!("template syntax error: {}", parse.message),
                Some(original.location(original.offset_of(line, 0))),
            )
        }
        RenderError::Template(TemplateError::Exec(exec)) => {
            let cause = match &exec.cause {
                Cause::Message(message) => message.clone(),
                Cause::Call { function, error } => format!("error calling {function}: {error}"),
            };
            match &exec.location {
                Some(location) if location.file == TEMPLATE_NAME => {
                    let line = first_line + location.line.saturating_sub(1);
                    let line_text = original.line_text(line);
                    let column = line_text.get(..location.column).map_or(0, |s| s.chars().count());
                    let mut at = original.location(original.offset_of(line, column));
                    at.length = location.context.chars().count().max(1);
                    Diagnostic::new(format!("template failed at `{}`: {cause}", location.context), Some(at))
                }
                _ => Diagnostic::new(
                    format!("template failed: {error}", error = TemplateError::Exec(exec.clone())),
                    Some(Location::file(&original.path)),
                ),
            }
        }
        RenderError::Template(other) => Diagnostic::new(
            format!("template failed: {other}"),
            Some(Location::file(&original.path)),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_level_keys_are_letters_then_a_colon() {
        assert!(is_top_level_key("releases:"));
        assert!(is_top_level_key("helmDefaults: {}"));
        assert!(!is_top_level_key("  releases:"));
        assert!(!is_top_level_key("{{ if }}"));
        assert!(!is_top_level_key("api-versions:"));
    }
}
