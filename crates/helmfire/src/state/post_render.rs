//! `postRenderers` of the state file to render steps: each item checked (one kind of renderer,
//! patches that parse, targets whose patterns compile, JSON pointers that are pointers) and
//! every problem reported at its file, line and column. Plugins are looked up, and executables
//! run, only when a release renders: a missing one fails that release, not the whole file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use helmfire_value::yaml::v3::{self, Kind};

use super::de::Spanned;
use super::error::Diagnostic;
use super::model::valid_json_pointer;
use super::raw::{RawJsonOperations, RawPatchBody, RawPostRenderer, RawTarget};
use super::source::{Location, Span};
use crate::render::postrender::builtin::{
    self, CommonMetadata, ImageRewrite, JsonPatch, Operation, OperationKind, Pattern, Selector, StrategicPatch, Target,
};
use crate::render::postrender::{Builtin, PostRenderStep, PostRenderer};

/// What building steps needs from the loader.
pub(super) trait Context {
    fn error(&mut self, message: String, span: Span) -> &mut Diagnostic;
    fn location(&self, span: Span) -> Location;
    fn base_dir(&self) -> &Path;
}

const POINTER_HINT: &str = "a JSON pointer (RFC 6901) starts with `/` and writes `~` as `~0` and `/` inside a key as `~1`, e.g. `/metadata/annotations/app.kubernetes.io~1name`";

/// The steps of `items`, in order; problems are reported through `cx` and the item skipped.
pub(super) fn steps(items: &[&Spanned<RawPostRenderer>], cx: &mut dyn Context) -> Vec<PostRenderStep> {
    items.iter().filter_map(|item| step(item, cx)).collect()
}

fn step(item: &Spanned<RawPostRenderer>, cx: &mut dyn Context) -> Option<PostRenderStep> {
    let raw = &item.value;
    let origin = cx.location(item.span).to_string();
    let kinds: Vec<&str> = [
        ("plugin", raw.plugin.is_some()),
        ("exec", raw.exec.is_some()),
        ("patches", raw.patches.is_some()),
        ("jsonPatches", raw.json_patches.is_some()),
        ("images", raw.images.is_some()),
        (
            "commonLabels/commonAnnotations",
            raw.common_labels.is_some() || raw.common_annotations.is_some(),
        ),
    ]
    .into_iter()
    .filter(|(_, present)| *present)
    .map(|(name, _)| name)
    .collect();
    if kinds.len() != 1 {
        let message = if kinds.is_empty() {
            "a post-renderer needs one of `plugin`, `exec`, `patches`, `jsonPatches`, `images`, `commonLabels` or `commonAnnotations`".to_string()
        } else {
            format!("a post-renderer has one kind, this one has {}", kinds.join(" and "))
        };
        cx.error(message, item.span).hint = Some("write each renderer as its own list item; they run in order".into());
        return None;
    }
    if raw.args.is_some() && raw.plugin.is_none() {
        cx.error("`args` belongs to a `plugin` post-renderer".to_string(), item.span)
            .hint = Some("an `exec` renderer takes `exec: {command: …, args: […]}`".into());
        return None;
    }
    let renderer = if let Some(plugin) = &raw.plugin {
        if plugin.value.is_empty() {
            cx.error("the plugin name is empty".to_string(), plugin.span);
            return None;
        }
        PostRenderer::Plugin {
            name: plugin.value.clone(),
            args: raw.args.clone().unwrap_or_default(),
        }
    } else if let Some(exec) = &raw.exec {
        let Some(command) = exec.value.command.as_ref().filter(|c| !c.value.is_empty()) else {
            cx.error("an `exec` post-renderer needs a `command`".to_string(), exec.span);
            return None;
        };
        PostRenderer::Exec {
            command: exec_path(&command.value, cx.base_dir()),
            args: exec.value.args.clone(),
        }
    } else if let Some(patches) = &raw.patches {
        let mut built = Vec::new();
        for (i, patch) in patches.iter().enumerate() {
            built.push(strategic_patch(patch, i, cx)?);
        }
        PostRenderer::Builtin(Builtin::Patches(built))
    } else if let Some(patches) = &raw.json_patches {
        let mut built = Vec::new();
        for (i, patch) in patches.iter().enumerate() {
            built.push(json_patch(patch, i, cx)?);
        }
        PostRenderer::Builtin(Builtin::JsonPatches(built))
    } else if let Some(images) = &raw.images {
        let mut built = Vec::new();
        for image in images {
            let Some(name) = image.value.name.as_ref().filter(|n| !n.value.is_empty()) else {
                cx.error(
                    "an image rewrite needs the `name` of the image to match".to_string(),
                    image.span,
                );
                return None;
            };
            let text = |field: &Option<Spanned<String>>| field.as_ref().map(|f| f.value.clone());
            let rewrite = ImageRewrite {
                name: name.value.clone(),
                new_name: text(&image.value.new_name),
                new_tag: text(&image.value.new_tag),
                digest: text(&image.value.digest),
            };
            if rewrite.new_name.is_none() && rewrite.new_tag.is_none() && rewrite.digest.is_none() {
                cx.error(
                    format!("the image rewrite for `{}` changes nothing", name.value),
                    image.span,
                )
                .hint = Some("give `newName`, `newTag` or `digest`".into());
                return None;
            }
            built.push(rewrite);
        }
        PostRenderer::Builtin(Builtin::Images(built))
    } else {
        let pairs = |map: &Option<BTreeMap<String, Spanned<String>>>| -> Vec<(String, String)> {
            map.iter()
                .flatten()
                .map(|(k, v)| (k.clone(), v.value.clone()))
                .collect()
        };
        PostRenderer::Builtin(Builtin::Metadata(CommonMetadata {
            labels: pairs(&raw.common_labels),
            annotations: pairs(&raw.common_annotations),
        }))
    };
    Some(PostRenderStep { renderer, origin })
}

/// A command with a `/` is a path relative to the state file; a bare name is looked up on
/// `PATH` when it runs.
fn exec_path(command: &str, base_dir: &Path) -> PathBuf {
    let path = Path::new(command);
    if path.is_absolute() || !command.contains('/') {
        path.to_path_buf()
    } else {
        base_dir.join(path)
    }
}

fn target(raw: &Spanned<RawTarget>, cx: &mut dyn Context) -> Option<Target> {
    let mut ok = true;
    let mut pattern = |field: &Option<Spanned<String>>, cx: &mut dyn Context| -> Option<Pattern> {
        let field = field.as_ref()?;
        match Pattern::new(&field.value) {
            Ok(pattern) => Some(pattern),
            Err(e) => {
                cx.error(
                    format!("`{}` is not a regular expression: {e}", field.value),
                    field.span,
                );
                ok = false;
                None
            }
        }
    };
    let t = &raw.value;
    let group = pattern(&t.group, cx);
    let version = pattern(&t.version, cx);
    let kind = pattern(&t.kind, cx);
    let name = pattern(&t.name, cx);
    let namespace = pattern(&t.namespace, cx);
    let mut selector = |field: &Option<Spanned<String>>, cx: &mut dyn Context| -> Option<Selector> {
        let field = field.as_ref()?;
        match Selector::new(&field.value) {
            Ok(selector) => Some(selector),
            Err(e) => {
                cx.error(e, field.span);
                ok = false;
                None
            }
        }
    };
    let label_selector = selector(&t.label_selector, cx);
    let annotation_selector = selector(&t.annotation_selector, cx);
    ok.then_some(Target {
        group,
        version,
        kind,
        name,
        namespace,
        label_selector,
        annotation_selector,
    })
}

fn strategic_patch(raw: &Spanned<super::raw::RawPatch>, index: usize, cx: &mut dyn Context) -> Option<StrategicPatch> {
    let location = format!("{} (patches[{index}])", cx.location(raw.span));
    let target = match &raw.value.target {
        Some(t) => Some(target(t, cx)?),
        None => None,
    };
    let Some(body) = &raw.value.patch else {
        cx.error("a patch needs its `patch`".to_string(), raw.span);
        return None;
    };
    let patches = match &body.value {
        RawPatchBody::Map(map) => vec![builtin::node_from_json(&serde_json::Value::Object(map.clone()))],
        RawPatchBody::Text(text) => match v3::parse_documents(text) {
            Ok(documents) => documents.into_iter().filter(|d| d.body().tag != "!!null").collect(),
            Err(e) => {
                cx.error(format!("the patch is not YAML: {}", e.message), body.span);
                return None;
            }
        },
    };
    if patches.is_empty() {
        cx.error("the patch is empty".to_string(), body.span);
        return None;
    }
    if patches.iter().any(|p| p.body().kind != Kind::Mapping) {
        cx.error(
            "a strategic merge patch is a map (of the fields to change)".to_string(),
            body.span,
        )
        .hint = Some("JSON patch operations go under `jsonPatches`".into());
        return None;
    }
    if target.is_some() && patches.len() > 1 {
        cx.error(
            "a patch with a `target` is one document; several documents name their objects themselves".to_string(),
            body.span,
        );
        return None;
    }
    if target.is_none() {
        for patch in &patches {
            let body = patch.body();
            let name = body
                .get("metadata")
                .and_then(|m| m.get("name"))
                .map(|n| n.value.clone());
            if body.get("kind").is_none() || name.is_none_or(|n| n.is_empty()) {
                cx.error(
                    "a patch without `target` names its object with `kind` and `metadata.name`".to_string(),
                    raw.span,
                )
                .hint =
                    Some("add `target: {kind: …, name: …}` or write `kind` and `metadata.name` in the patch".into());
                return None;
            }
        }
    }
    Some(StrategicPatch {
        target,
        patches,
        location,
    })
}

fn json_patch(raw: &Spanned<super::raw::RawJsonPatch>, index: usize, cx: &mut dyn Context) -> Option<JsonPatch> {
    let location = format!("{} (jsonPatches[{index}])", cx.location(raw.span));
    let Some(raw_target) = &raw.value.target else {
        cx.error("a JSON patch needs a `target`".to_string(), raw.span);
        return None;
    };
    let target = target(raw_target, cx)?;
    let Some(body) = &raw.value.patch else {
        cx.error("a JSON patch needs its `patch` operations".to_string(), raw.span);
        return None;
    };
    let operations = match &body.value {
        RawJsonOperations::List(list) => {
            let mut operations = Vec::new();
            for item in list {
                let op = &item.value;
                operations.push(operation(
                    op.op.as_ref().map(|s| (s.value.as_str(), s.span)),
                    op.path.as_ref().map(|s| (s.value.as_str(), s.span)),
                    op.from.as_ref().map(|s| (s.value.as_str(), s.span)),
                    op.value.clone(),
                    item.span,
                    cx,
                )?);
            }
            operations
        }
        RawJsonOperations::Text(text) => {
            let value = match helmfire_value::interop::yaml_to_json(text) {
                Ok(value) => value,
                Err(e) => {
                    cx.error(format!("the JSON patch is not YAML or JSON: {}", e.message), body.span);
                    return None;
                }
            };
            let Some(list) = value.as_array() else {
                cx.error("a JSON patch is a list of operations".to_string(), body.span);
                return None;
            };
            let mut operations = Vec::new();
            for item in list {
                let field = |name: &str| item.get(name).and_then(|v| v.as_str()).map(|s| (s, body.span));
                operations.push(operation(
                    field("op"),
                    field("path"),
                    field("from"),
                    item.get("value").cloned(),
                    body.span,
                    cx,
                )?);
            }
            operations
        }
    };
    if operations.is_empty() {
        cx.error("the JSON patch has no operations".to_string(), body.span);
        return None;
    }
    Some(JsonPatch {
        target,
        operations,
        location,
    })
}

fn operation(
    op: Option<(&str, Span)>,
    path: Option<(&str, Span)>,
    from: Option<(&str, Span)>,
    value: Option<serde_json::Value>,
    span: Span,
    cx: &mut dyn Context,
) -> Option<Operation> {
    let Some((op_text, op_span)) = op else {
        cx.error("a JSON patch operation needs `op`".to_string(), span);
        return None;
    };
    let Some(kind) = OperationKind::parse(op_text) else {
        cx.error(format!("unknown JSON patch operation `{op_text}`"), op_span)
            .hint = Some("expected `add`, `remove`, `replace`, `move`, `copy` or `test`".into());
        return None;
    };
    let pointer = |field: Option<(&str, Span)>, name: &str, cx: &mut dyn Context| -> Option<String> {
        let Some((text, field_span)) = field else {
            cx.error(format!("the `{op_text}` operation needs `{name}`"), span);
            return None;
        };
        if text.is_empty() || !valid_json_pointer(text) {
            cx.error(format!("`{text}` is not a JSON pointer"), field_span).hint = Some(POINTER_HINT.into());
            return None;
        }
        Some(text.to_string())
    };
    let path = pointer(path, "path", cx)?;
    let from = match kind {
        OperationKind::Move | OperationKind::Copy => Some(pointer(from, "from", cx)?),
        _ => None,
    };
    if matches!(kind, OperationKind::Add | OperationKind::Replace | OperationKind::Test) && value.is_none() {
        cx.error(format!("the `{op_text}` operation needs `value`"), span);
        return None;
    }
    Some(Operation {
        op: kind,
        path,
        from,
        value,
    })
}
