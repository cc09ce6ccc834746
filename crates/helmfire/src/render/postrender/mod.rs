//! Stage ⑤c: post-rendering, as helm v4.1.4 does it (`pkg/action/action.go`
//! `renderResources`, `annotateAndMerge`, `splitAndDeannotate`), with helmfire's built-in
//! renderers in the same pipeline. Runs inside [`super::render_release`], so `template`,
//! `diff`, `apply` and `chart template` all see the post-rendered manifests.
//!
//! # What helm does (and so what this does)
//!
//! 1. After the templates are executed and `NOTES.txt` files removed, **every** rendered file
//!    goes to the post-renderer — hooks included (helm 3 left hooks out; helm 4 does not).
//!    `crds/` files never do: they are stored and installed raw.
//! 2. `annotateAndMerge`: files in byte order of their path, partials (`_*`) and blank files
//!    skipped; a `---` glued to the next line (`---apiVersion:`) gets its newline back; each
//!    file read by kyaml's `kio.ParseAll` (empty, comment-only and `null` documents vanish, a
//!    lone `kind: List` is unwrapped into its items); every document gets the annotation
//!    `postrenderer.helm.sh/postrender-filename: '<path>'` (creating `metadata` and
//!    `annotations` at the end when missing) and all are written by `kio.StringAll` — go-yaml
//!    v3's encoder, indent 2, compact sequences, `---` between documents, no `# Source:` lines.
//! 3. The renderer gets that stream on stdin and writes the result on stdout. Output that is
//!    empty or white space is an error (`post-renderer "x" produced empty output`).
//! 4. `splitAndDeannotate`: the output is read by `kio.ParseAll` again; each document goes back
//!    to the file its annotation names (the annotation is removed), or to
//!    `generated-by-postrender-<i>.yaml` (`i`: 0-based index in the output) when it has none;
//!    each file's documents are written by `kio.StringAll`.
//! 5. Helm's normal sorting follows: hooks are recognised on the post-rendered documents (a
//!    renderer can add or remove hook annotations), files in path order, kinds in install
//!    order; the release manifest is framed with `# Source: <file>` lines from these names.
//!
//! Because every document is re-emitted by go-yaml v3 twice, even a `cat` renderer changes the
//! stored manifest (sequences compact, blank lines gone, comments re-spaced, `annotations: {}`
//! dropped). [`kio`] reproduces that with the v3 node round trip of
//! [`helmfire_value::yaml::v3`]. Nothing in the release record says a post-renderer ran:
//! `chart.templates` stay the raw templates, `manifest` and `hooks[].manifest` are the
//! post-rendered documents, `hooks[].path` the file they were split back to.
//!
//! # Renderers
//!
//! A release lists [`PostRenderStep`]s, run in order on one merged stream: merge once, run
//! every step, split once. A single `postrenderer/v1` plugin therefore gives exactly what
//! `helm install --post-renderer` stores.
//! - [`PostRenderer::Plugin`]: a helm 4 `postrenderer/v1` plugin, found and started as helm
//!   does (see [`helmfire_chart::plugin`]): environment = ours plus `HELM_PLUGIN_NAME` and
//!   `HELM_PLUGIN_DIR`, arguments = the plugin's command, its `args` (with `$VAR` expanded),
//!   then the extra arguments verbatim. Unlike helm, its stderr is shown when it fails.
//! - [`PostRenderer::Exec`]: helm 3's executable contract (all manifests on stdin, the result
//!   on stdout), run in this same helm 4 pipeline — it receives the annotated stream and its
//!   output is split by annotation (helm 3 stored an exec renderer's output verbatim and never
//!   showed it hooks; that is not reproduced).
//! - [`PostRenderer::Builtin`]: strategic merge `patches`, RFC 6902 `jsonPatches`, `images`,
//!   `commonLabels`/`commonAnnotations` ([`builtin`]), applied to the documents as kyaml read
//!   them, without a process or a text round trip.
//!
//! When every step of a release is a built-in there is no helm behaviour to match (helm has
//! no built-ins), and [`render_documents`] skips the merge and split: each document's head
//! (read anyway for sorting) decides which steps touch it; only those documents are parsed
//! (go-yaml v3) and written anew as `kio.StringAll` writes one (so an emptied `annotations`
//! goes, as in kustomize's output); every other document keeps its rendered text, and every
//! document stays in its file. The filename annotation does not exist there. In a chain that
//! also has a plugin or an exec renderer, the built-ins run inside helm's pipeline and see the
//! annotation as a plugin does (a patch that replaces `metadata.annotations` then sends the
//! document to `generated-by-postrender-<i>.yaml`).
//!
//! Each plugin or exec renderer is started once per release, with every document of the
//! release on its stdin. When rendering for a cluster (`diff`, `apply`), every document a
//! renderer changed (all of them, after a plugin or exec renderer) must still be an object helm
//! can install (`apiVersion`, `kind`, `metadata.name`) whose identity no other document shares:
//! helm finds out only when the API server refuses them, helmfire says which renderer did it. `template` prints whatever the renderers made, as
//! `helm template` does.
//!
//! This module never prints; errors name the step (its state-file location or flag).

pub mod builtin;
pub mod kio;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use helmfire_chart::plugin::{self, PluginError};
use helmfire_value::yaml::v3::Node;

use super::manifest::{self, Sorted};
use super::{RenderError, Rendered};

pub use builtin::Builtin;
use builtin::Doc;

/// The annotation helm uses to send documents back to their files.
pub const FILENAME_ANNOTATION: &str = "postrenderer.helm.sh/postrender-filename";

/// One renderer.
#[derive(Clone, Debug)]
pub enum PostRenderer {
    /// A helm 4 `postrenderer/v1` plugin by name, with extra arguments (`--post-renderer-args`).
    Plugin { name: String, args: Vec<String> },
    /// An executable (an absolute path, or a name looked up on `PATH`) and its arguments.
    Exec { command: PathBuf, args: Vec<String> },
    /// A built-in transformation.
    Builtin(Builtin),
}

/// A renderer and where it was asked for, for errors.
#[derive(Clone, Debug)]
pub struct PostRenderStep {
    pub renderer: PostRenderer,
    /// `helmfire.yaml:12:7` (a state file position) or `--post-renderer`.
    pub origin: String,
}

impl PostRenderStep {
    /// How errors name this step: ``plugin `x` (helmfire.yaml:3:5)``.
    pub fn describe(&self) -> String {
        let what = match &self.renderer {
            PostRenderer::Plugin { name, .. } => format!("post-renderer plugin `{name}`"),
            PostRenderer::Exec { command, .. } => format!("post-renderer `{}`", command.display()),
            PostRenderer::Builtin(builtin) => format!("built-in post-renderer `{}`", builtin.kind_name()),
        };
        format!("{what} ({})", self.origin)
    }

    /// The renderer as helm quotes it (`"name"`).
    fn quoted(&self) -> String {
        match &self.renderer {
            PostRenderer::Plugin { name, .. } => format!("{name:?}"),
            PostRenderer::Exec { command, .. } => format!("{:?}", command.display().to_string()),
            PostRenderer::Builtin(builtin) => format!("{:?}", builtin.kind_name()),
        }
    }

    /// Where the step comes from, after helm's text; nothing for helm's own flag, so that
    /// `chart template --post-renderer` fails with helm's words.
    fn origin_note(&self) -> String {
        if self.origin == "--post-renderer" {
            String::new()
        } else {
            format!(" (post-renderer at {})", self.origin)
        }
    }
}

/// Why post-rendering failed.
#[derive(Debug, thiserror::Error)]
pub enum PostRenderError {
    /// The rendered files could not be merged (helm: `error merging manifests: …`).
    #[error("error merging manifests: {0}")]
    Merge(String),
    /// The plugin could not be found or loaded.
    #[error("{step}")]
    Plugin {
        step: String,
        #[source]
        source: Box<PluginError>,
    },
    /// A renderer process failed (exit status, start failure), with its stderr.
    #[error("error while running post render on files: failed to invoke post-renderer {what}{from_where}")]
    Run {
        what: String,
        from_where: String,
        #[source]
        source: Box<PluginError>,
    },
    /// A renderer printed nothing.
    #[error("error while running post render on files: post-renderer {quoted} produced empty output{from_where}")]
    Empty { quoted: String, from_where: String },
    /// What a renderer printed is not YAML kyaml reads.
    #[error("error while parsing post rendered output: error parsing YAML: {message}{from_where}")]
    Parse { message: String, from_where: String },
    /// A built-in renderer failed (a target that matched nothing, a JSON patch that does not
    /// apply); the message names the patch and its state-file location.
    #[error("{step}: {message}")]
    Builtin { step: String, message: String },
    /// The documents could not be split back into files.
    #[error("error while parsing post rendered output: {0}")]
    Split(String),
    /// The result holds something helm cannot install.
    #[error("{step} produced {problem}")]
    Refused { step: String, problem: String },
}

/// helm's `fixDocSeparators`: a `---` at a line start followed by a non-blank character gets a
/// newline after it.
fn fix_doc_separators(content: &str) -> String {
    let mut out = String::with_capacity(content.len() + 8);
    let mut remaining = content;
    while let Some(index) = remaining.find("---") {
        let at_line_start = index == 0 || remaining.as_bytes()[index - 1] == b'\n';
        out.push_str(&remaining[..index + 3]);
        remaining = &remaining[index + 3..];
        if at_line_start
            && let Some(&next) = remaining.as_bytes().first()
            && !matches!(next, b'\n' | b'\r' | b' ' | b'\t')
        {
            out.push('\n');
        }
    }
    out.push_str(remaining);
    out
}

/// helm's `annotateAndMerge` up to the nodes: every document of every file, annotated with its
/// file name.
fn annotate(files: &Rendered) -> Result<Vec<Node>, String> {
    let mut combined = Vec::new();
    for (name, content) in files {
        let base = name.rsplit('/').next().unwrap_or(name);
        if base.starts_with('_') || content.trim().is_empty() {
            continue;
        }
        let content = fix_doc_separators(content);
        let manifests = kio::parse_all(&content).map_err(|e| format!("parsing {name}: {e}"))?;
        for mut manifest in manifests {
            kio::set_annotation(&mut manifest, FILENAME_ANNOTATION, name)
                .map_err(|e| format!("annotating {name}: {e}"))?;
            combined.push(manifest);
        }
    }
    Ok(combined)
}

/// helm's `splitAndDeannotate` from the nodes `kio.ParseAll` read.
fn split(manifests: Vec<Node>) -> Result<Rendered, String> {
    let mut by_file: BTreeMap<String, Vec<Node>> = BTreeMap::new();
    for (i, mut manifest) in manifests.into_iter().enumerate() {
        let (meta, missing) = kio::get_meta(&manifest);
        if missing {
            return Err("getting metadata: missing Resource metadata".to_string());
        }
        let name = match meta.annotations.get(FILENAME_ANNOTATION) {
            Some(name) if !name.is_empty() => name.clone(),
            _ => format!("generated-by-postrender-{i}.yaml"),
        };
        kio::clear_annotation(&mut manifest, FILENAME_ANNOTATION)
            .map_err(|e| format!("clearing filename annotation: {e}"))?;
        by_file.entry(name).or_default().push(manifest);
    }
    let mut files = Rendered::new();
    for (name, documents) in by_file {
        let text = kio::string_all(documents).map_err(|e| format!("re-writing {name}: {e}"))?;
        files.insert(name, text);
    }
    Ok(files)
}

/// The stream between steps: the text a process wrote, or documents a built-in holds.
enum Stream {
    Text(String),
    Nodes(Vec<Node>),
}

/// Runs `steps` over the rendered files (NOTES already removed) and returns the files helm's
/// sorter continues with. No steps: the files unchanged. `check_objects`: refuse what helm
/// could not install (see the module docs).
pub fn post_render(
    files: Rendered,
    steps: &[PostRenderStep],
    release_namespace: &str,
    check_objects: bool,
) -> Result<Rendered, PostRenderError> {
    if steps.is_empty() {
        return Ok(files);
    }
    let mut stream = Stream::Nodes(annotate(&files).map_err(PostRenderError::Merge)?);
    let mut last_step = &steps[0];
    for step in steps {
        last_step = step;
        stream = match &step.renderer {
            PostRenderer::Builtin(builtin) => {
                let mut nodes = match stream {
                    Stream::Nodes(nodes) => nodes,
                    Stream::Text(text) => read_output(&text, step)?,
                };
                clear_reader_annotations(&mut nodes).map_err(|message| PostRenderError::Builtin {
                    step: step.describe(),
                    message,
                })?;
                let mut docs: Vec<Doc> = nodes.into_iter().map(Doc::from_node).collect();
                builtin
                    .apply(&mut docs, release_namespace)
                    .map_err(|message| PostRenderError::Builtin {
                        step: step.describe(),
                        message,
                    })?;
                Stream::Nodes(
                    docs.into_iter()
                        .filter(|d| !d.deleted)
                        .filter_map(Doc::into_node)
                        .collect(),
                )
            }
            PostRenderer::Plugin { name, args } => {
                let input = stream_text(stream)?;
                Stream::Text(run_plugin(step, name, args, input.as_bytes())?)
            }
            PostRenderer::Exec { command, args } => {
                let input = stream_text(stream)?;
                let name = command.display().to_string();
                let finished =
                    plugin::execute(&name, command, args, None, Some(input.as_bytes())).map_err(|source| {
                        PostRenderError::Run {
                            what: format!("command {}", step.quoted()),
                            from_where: step.origin_note(),
                            source: Box::new(source),
                        }
                    })?;
                Stream::Text(non_empty(step, finished)?)
            }
        };
    }
    let nodes = match stream {
        Stream::Nodes(nodes) => nodes,
        Stream::Text(text) => read_output(&text, last_step)?,
    };
    if check_objects {
        let metas: Vec<(kio::Meta, String)> = nodes
            .iter()
            .enumerate()
            .map(|(i, node)| {
                let (meta, _) = kio::get_meta(node);
                let file = meta
                    .annotations
                    .get(FILENAME_ANNOTATION)
                    .cloned()
                    .unwrap_or_else(|| format!("generated-by-postrender-{i}.yaml"));
                (meta, file)
            })
            .collect();
        installable(metas.iter().map(|(m, f)| (m, f.as_str(), true)), last_step)?;
    }
    split(nodes).map_err(PostRenderError::Split)
}

/// What [`super::render_release`] calls between removing NOTES and framing the manifest: the
/// post-renderers, then helm's sorting into hooks and manifests.
///
/// When every step is a built-in, they work on the documents in place: each document's head
/// (already read for sorting) decides whether a step touches it, only those are parsed, and
/// only those the steps changed are written anew (by go-yaml v3, as kyaml writes them); the
/// others keep their rendered text, and no merge and split takes place. A chain with a plugin
/// or an exec renderer, or a release rendering a `kind: List`, goes through helm's pipeline
/// ([`post_render`]).
pub fn render_documents(
    files: Rendered,
    steps: &[PostRenderStep],
    release_namespace: &str,
    check_objects: bool,
) -> Result<Sorted, RenderError> {
    if steps.is_empty() {
        let sorted = manifest::sort_manifests(&files)?;
        super::retire(files);
        return Ok(sorted);
    }
    let pipeline = |files: Rendered| -> Result<Sorted, RenderError> {
        let files = post_render(files, steps, release_namespace, check_objects)?;
        let sorted = manifest::sort_manifests(&files)?;
        super::retire(files);
        Ok(sorted)
    };
    if !steps.iter().all(|s| matches!(s.renderer, PostRenderer::Builtin(_))) {
        return pipeline(files);
    }
    // Labels are read only for a step that selects by them.
    let fields = match steps
        .iter()
        .any(|s| matches!(&s.renderer, PostRenderer::Builtin(b) if b.selects_by_labels()))
    {
        true => manifest::HeadFields::Labelled,
        false => manifest::HeadFields::Target,
    };
    let documents = manifest::split_files(&files, fields)?;
    // A `kind: List` reaches renderers as its items, which only kyaml's reader makes.
    if documents
        .iter()
        .any(|d| matches!(d.head.kind.as_str(), "List" | "ResourceList"))
    {
        drop(documents);
        return pipeline(files);
    }
    super::retire(files);
    let mut files = Vec::with_capacity(documents.len());
    let mut docs = Vec::with_capacity(documents.len());
    for document in documents {
        docs.push(Doc::from_text(document.text, document.head));
        files.push(document.file);
    }
    for step in steps {
        let PostRenderer::Builtin(builtin) = &step.renderer else {
            continue;
        };
        builtin
            .apply(&mut docs, release_namespace)
            .map_err(|message| PostRenderError::Builtin {
                step: step.describe(),
                message,
            })?;
    }
    let last_step = &steps[steps.len() - 1];
    if check_objects && docs.iter().any(|d| d.changed) {
        installable(
            docs.iter()
                .zip(&files)
                .filter(|(d, _)| !d.deleted)
                .map(|(d, file)| (&d.meta, file.as_str(), d.changed)),
            last_step,
        )?;
    }
    // Written as kyaml writes a document (`kio.StringAll`): an emptied `annotations` or
    // `metadata` map goes, as it does in helm's split and in kustomize's output.
    for doc in docs.iter_mut().filter(|d| d.changed && !d.deleted) {
        doc.write_text(|node| kio::string_all(vec![node]))
            .map_err(|message| PostRenderError::Builtin {
                step: last_step.describe(),
                message,
            })?;
    }
    Ok(manifest::sort_documents(
        docs.into_iter()
            .zip(files)
            .filter(|(d, _)| !d.deleted)
            .map(|(doc, file)| {
                let (head, _, text) = doc.into_parts();
                manifest::Document { file, text, head }
            }),
    ))
}

/// What `kio.ParseAll` reads from a renderer's output.
fn read_output(text: &str, step: &PostRenderStep) -> Result<Vec<Node>, PostRenderError> {
    kio::parse_all(text).map_err(|message| PostRenderError::Parse {
        message,
        from_where: step.origin_note(),
    })
}

/// The documents of `text` as a built-in renderer receives them (tests of the built-ins).
#[cfg(test)]
pub(crate) fn read_for_builtins(text: &str) -> Vec<Node> {
    let mut nodes = kio::parse_all(text).expect("test documents parse");
    clear_reader_annotations(&mut nodes).expect("test documents are objects");
    nodes
}

/// The reader's index annotations, as `kio.StringAll` clears them, so built-ins see the
/// documents a process would have received.
fn clear_reader_annotations(nodes: &mut [Node]) -> Result<(), String> {
    for node in nodes {
        for key in [
            "internal.config.kubernetes.io/index",
            "config.kubernetes.io/index",
            "internal.config.kubernetes.io/seqindent",
        ] {
            kio::clear_annotation(node, key)?;
        }
        kio::clear_empty_annotations(node)?;
    }
    Ok(())
}

/// The text a process renderer receives.
fn stream_text(stream: Stream) -> Result<String, PostRenderError> {
    match stream {
        Stream::Text(text) => Ok(text),
        Stream::Nodes(nodes) => kio::string_all(nodes).map_err(PostRenderError::Merge),
    }
}

/// Finds and runs a `postrenderer/v1` plugin over `input`, once.
fn run_plugin(step: &PostRenderStep, name: &str, args: &[String], input: &[u8]) -> Result<String, PostRenderError> {
    let plugin_error = |source| PostRenderError::Plugin {
        step: step.describe(),
        source: Box::new(source),
    };
    let found = plugin::find(&plugin::post_renderer_dirs(), name, "postrenderer/v1").map_err(plugin_error)?;
    let env = plugin::plugin_env(&found, &[]);
    let (program, argv) =
        plugin::prepare_command(&found, &found.platform_command, true, args, &env).map_err(plugin_error)?;
    let finished = plugin::execute(
        &found.name,
        std::path::Path::new(&program),
        &argv,
        Some(&env),
        Some(input),
    )
    .map_err(|source| PostRenderError::Run {
        what: format!("plugin {}", step.quoted()),
        from_where: step.origin_note(),
        source: Box::new(source),
    })?;
    non_empty(step, finished)
}

/// A renderer's stdout, which must not be blank.
fn non_empty(step: &PostRenderStep, finished: plugin::Finished) -> Result<String, PostRenderError> {
    let output = String::from_utf8_lossy(&finished.stdout).into_owned();
    if output.trim().is_empty() {
        return Err(PostRenderError::Empty {
            quoted: step.quoted(),
            from_where: step.origin_note(),
        });
    }
    Ok(output)
}

/// Every document a renderer changed is an object helm can install, and shares its identity
/// with no other document (what the chart rendered untouched is helm's business, as without a
/// post-renderer). Items: the head, the file, and whether a renderer changed it.
fn installable<'a>(
    items: impl Iterator<Item = (&'a kio::Meta, &'a str, bool)> + Clone,
    step: &PostRenderStep,
) -> Result<(), PostRenderError> {
    type Identity<'m> = (&'m str, &'m str, &'m str, &'m str);
    let refuse = |problem: String| PostRenderError::Refused {
        step: step.describe(),
        problem,
    };
    // What identifies an object (documents without kind or name are left to helm).
    let identity = |meta: &'a kio::Meta| -> Option<Identity<'a>> {
        (!meta.kind.is_empty() && !meta.name.is_empty()).then(|| {
            let group = meta.api_version.split_once('/').map_or("", |(g, _)| g);
            (group, meta.kind.as_str(), meta.namespace.as_str(), meta.name.as_str())
        })
    };
    // The changed documents, in order: a built-in usually changes a few of many.
    let mut changed_at: Vec<(Identity<'a>, usize)> = Vec::new();
    for (i, (meta, file, changed)) in items.clone().enumerate() {
        if !changed {
            continue;
        }
        for (field, value) in [
            ("apiVersion", &meta.api_version),
            ("kind", &meta.kind),
            ("metadata.name", &meta.name),
        ] {
            if value.is_empty() {
                return Err(refuse(format!(
                    "document {} (for `{file}`) without `{field}`, which helm cannot install",
                    i + 1
                )));
            }
        }
        if let Some(identity) = identity(meta) {
            changed_at.push((identity, i));
        }
    }
    if changed_at.is_empty() {
        return Ok(());
    }
    // A few changed documents are compared with each document directly; hashing every
    // document's identity to look it up would cost more.
    let hashed: Option<HashMap<Identity<'a>, Vec<usize>>> = (changed_at.len() > 8).then(|| {
        let mut hashed: HashMap<Identity<'a>, Vec<usize>> = HashMap::new();
        for &(identity, j) in &changed_at {
            hashed.entry(identity).or_default().push(j);
        }
        hashed
    });
    for (i, (meta, _, _)) in items.enumerate() {
        let other = match &hashed {
            // The name first: it tells most documents apart without reading the rest.
            None => changed_at
                .iter()
                .find(|(other, j)| *j != i && other.3 == meta.name && identity(meta) == Some(*other))
                .map(|(_, j)| j),
            Some(hashed) => identity(meta).and_then(|id| hashed.get(&id).and_then(|at| at.iter().find(|&&j| j != i))),
        };
        // The first pair in document order: `i` is the earlier document when the other comes later.
        if let Some(&other) = other {
            return Err(refuse(format!(
                "two objects `{}/{}` (documents {} and {}), which helm cannot install",
                meta.kind,
                meta.name,
                i.min(other) + 1,
                i.max(other) + 1
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_alone_rewrite_only_what_they_change_and_keep_files() {
        let mut files = Rendered::new();
        files.insert(
            "c/templates/a.yaml".into(),
            "# a comment the chart wrote\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep\ndata:\n  list:\n    - x\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: change\n  annotations:\n    gone: x\ndata:\n  list:\n    - x\n".into(),
        );
        files.insert(
            "c/templates/hook.yaml".into(),
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: hook\n  annotations:\n    helm.sh/hook: pre-install\n"
                .into(),
        );
        let patch = |target: builtin::Target, patch: &str| PostRenderStep {
            renderer: PostRenderer::Builtin(Builtin::Patches(vec![builtin::StrategicPatch {
                target: Some(target),
                patches: read_for_builtins(patch),
                location: "test".into(),
            }])),
            origin: "test".into(),
        };
        let named = |name: &str| builtin::Target {
            name: Some(builtin::Pattern::new(name).expect("regex")),
            ..builtin::Target::default()
        };
        // An emptied `annotations` goes; `y` is quoted as kustomize quotes YAML 1.1 lookalikes.
        let steps = [
            patch(
                named("change"),
                "metadata:\n  annotations:\n    gone: null\ndata:\n  added: y\n",
            ),
            // Removing the hook annotation makes the hook an ordinary manifest.
            patch(named("hook"), "metadata:\n  annotations:\n    helm.sh/hook: null\n"),
        ];
        let sorted = render_documents(files, &steps, "default", true).expect("renders");
        assert!(sorted.hooks.is_empty());
        let manifests: Vec<(&str, &str)> = sorted
            .manifests
            .iter()
            .map(|m| (m.name.as_str(), m.content.as_str()))
            .collect();
        assert_eq!(
            manifests,
            [
                (
                    "c/templates/a.yaml",
                    "# a comment the chart wrote\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: keep\ndata:\n  list:\n    - x"
                ),
                (
                    "c/templates/a.yaml",
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: change\ndata:\n  list:\n  - x\n  added: \"y\""
                ),
                (
                    "c/templates/hook.yaml",
                    "apiVersion: v1\nkind: Pod\nmetadata:\n  name: hook"
                ),
            ]
        );
    }

    #[test]
    fn built_ins_alone_leave_blank_documents_alone() {
        let mut files = Rendered::new();
        files.insert("c/templates/blank.yaml".into(), "# nothing here\n".into());
        files.insert(
            "c/templates/cm.yaml".into(),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n".into(),
        );
        let everything_in_default = PostRenderStep {
            renderer: PostRenderer::Builtin(Builtin::Patches(vec![builtin::StrategicPatch {
                target: Some(builtin::Target {
                    namespace: Some(builtin::Pattern::new("default").expect("regex")),
                    ..builtin::Target::default()
                }),
                patches: read_for_builtins("data:\n  x: z\n"),
                location: "test".into(),
            }])),
            origin: "test".into(),
        };
        let sorted = render_documents(files, &[everything_in_default], "default", true).expect("renders");
        let contents: Vec<&str> = sorted.manifests.iter().map(|m| m.content.as_str()).collect();
        assert_eq!(
            contents,
            [
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n  x: z",
                "# nothing here"
            ]
        );
    }

    #[test]
    fn built_ins_see_the_items_of_a_list() {
        let mut files = Rendered::new();
        files.insert(
            "c/templates/list.yaml".into(),
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: a\n"
                .into(),
        );
        let step = PostRenderStep {
            renderer: PostRenderer::Builtin(Builtin::Metadata(builtin::CommonMetadata {
                labels: vec![("team".into(), "a".into())],
                annotations: Vec::new(),
            })),
            origin: "test".into(),
        };
        let sorted = render_documents(files, &[step], "default", true).expect("renders");
        let contents: Vec<&str> = sorted.manifests.iter().map(|m| m.content.as_str()).collect();
        assert_eq!(
            contents,
            ["apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  labels:\n    team: a"]
        );
    }

    #[test]
    fn glued_separators_are_split() {
        assert_eq!(
            fix_doc_separators("a: 1\n---apiVersion: v1\n"),
            "a: 1\n---\napiVersion: v1\n"
        );
        assert_eq!(fix_doc_separators("x: a---b\n---\n"), "x: a---b\n---\n");
    }

    #[test]
    fn merge_and_split_round_trip_through_annotations() {
        let mut files = Rendered::new();
        files.insert(
            "c/templates/b.yaml".into(),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata:\n  list:\n    - x\n".into(),
        );
        files.insert(
            "c/templates/a.yaml".into(),
            "# only a comment\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: a\n".into(),
        );
        files.insert("c/templates/_helpers.tpl".into(), "{{ define }}".into());
        let merged = kio::string_all(annotate(&files).expect("merges")).expect("writes");
        assert_eq!(
            merged,
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: a\n  annotations:\n    postrenderer.helm.sh/postrender-filename: 'c/templates/a.yaml'\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  annotations:\n    postrenderer.helm.sh/postrender-filename: 'c/templates/b.yaml'\ndata:\n  list:\n  - x\n"
        );
        let output = format!("{merged}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n");
        let split = split(kio::parse_all(&output).expect("parses")).expect("splits");
        assert_eq!(
            split.keys().collect::<Vec<_>>(),
            vec![
                "c/templates/a.yaml",
                "c/templates/b.yaml",
                "generated-by-postrender-2.yaml"
            ]
        );
        assert_eq!(
            split["c/templates/b.yaml"],
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\ndata:\n  list:\n  - x\n"
        );
    }

    #[test]
    fn refuses_objects_without_identity_or_twice() {
        let step = PostRenderStep {
            renderer: PostRenderer::Exec {
                command: "x".into(),
                args: Vec::new(),
            },
            origin: "test".into(),
        };
        let metas = |text: &str| -> Vec<kio::Meta> {
            kio::parse_all(text)
                .expect("parses")
                .iter()
                .map(|n| kio::get_meta(n).0)
                .collect()
        };
        let twice = metas(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
        );
        let err = installable(twice.iter().map(|m| (m, "f", true)), &step)
            .unwrap_err()
            .to_string();
        assert!(err.contains("two objects `ConfigMap/a`"), "{err}");
        let nameless = metas("apiVersion: v1\nkind: ConfigMap\n");
        let err = installable(nameless.iter().map(|m| (m, "f", true)), &step)
            .unwrap_err()
            .to_string();
        assert!(err.contains("without `metadata.name`"), "{err}");
        // What the chart rendered and no renderer touched is not the renderer's fault.
        assert!(installable(twice.iter().map(|m| (m, "f", false)), &step).is_ok());
        assert!(installable(nameless.iter().map(|m| (m, "f", false)), &step).is_ok());
        // A changed document that collides with an untouched one is, whichever comes first.
        let three = metas(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n",
        );
        for changed in [1, 2] {
            let err = installable(three.iter().enumerate().map(|(i, m)| (m, "f", i == changed)), &step)
                .unwrap_err()
                .to_string();
            assert!(err.contains("two objects `ConfigMap/a` (documents 2 and 3)"), "{err}");
        }
        // Many changed documents (looked up by hash rather than compared one by one).
        let many: String = (0..10)
            .chain([3])
            .map(|i| format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c{i}\n---\n"))
            .collect();
        let many = metas(&many);
        for changed in [|_: usize| true, |i: usize| i == 3 || i == 10] {
            let err = installable(many.iter().enumerate().map(|(i, m)| (m, "f", changed(i))), &step)
                .unwrap_err()
                .to_string();
            assert!(err.contains("two objects `ConfigMap/c3` (documents 4 and 11)"), "{err}");
        }
    }
}
