//! Strategic merge patches as kustomize applies them: kyaml's `merge2.Merge` with
//! `ListIncreaseDirection: Prepend` (`yaml/merge2`, `yaml/walk`, `smpdirective.go`), then the
//! resource keeps its kind, name and namespace (`Resource.ApplySmPatch`).
//!
//! Ported walk by walk, including kyaml's peculiarities: fields are visited in sorted order and
//! new ones appended in that order; associative lists put the patch's elements first, then the
//! object's (multi-key lists re-append the object's elements after the new ones); null and `{}`
//! elements of a merged list disappear; `$patch: delete|replace|merge` is honoured on maps and
//! as a list's `{$patch: …}` element, and nothing else (`$setElementOrder`, `$retainKeys` are
//! plain keys here, as there). A list is associative when the object's schema gives it the
//! `merge` patch strategy ([`helmfire_schema`]); its keys are the list-map keys, else the merge
//! key, else it is a list of scalars merged by value.

use std::borrow::Cow;

use helmfire_schema::{self as schema, ListType, Node as Shape};
use helmfire_value::yaml::v3::{Kind, Node, Style};

use super::{Doc, StrategicPatch, effective_namespace, kio, no_match, select};

/// Applies one `patches` entry to the documents it selects.
pub(super) fn apply(patch: &StrategicPatch, documents: &mut [Doc], release_namespace: &str) -> Result<(), String> {
    match &patch.target {
        Some(target) => {
            let selected = select(documents, target, release_namespace);
            if selected.is_empty() {
                return Err(no_match(target, &patch.location));
            }
            let Some(document) = patch.patches.first() else {
                return Ok(());
            };
            // kustomize gives the patch the object's apiVersion and restores the kind, name and
            // namespace after merging: what the patch says of them never lands.
            let mut document = document.clone();
            for field in ["apiVersion", "kind"] {
                let body = document.body_mut();
                if let Some(index) = body.field_index(field) {
                    body.content.drain(index..index + 2);
                }
            }
            for index in selected {
                merge_into(&mut documents[index], &document).map_err(|e| at(&patch.location, e))?;
            }
        }
        None => {
            for document in &patch.patches {
                let (wanted, _) = kio::get_meta(document);
                let wanted_namespace = effective_namespace(&wanted, release_namespace).to_string();
                let matching: Vec<usize> = documents
                    .iter()
                    .enumerate()
                    .filter(|(_, doc)| {
                        doc.live()
                            && doc.meta.kind == wanted.kind
                            && doc.meta.name == wanted.name
                            && effective_namespace(&doc.meta, release_namespace) == wanted_namespace
                            && (wanted.api_version.is_empty() || doc.meta.api_version == wanted.api_version)
                    })
                    .map(|(i, _)| i)
                    .collect();
                if matching.is_empty() {
                    return Err(format!(
                        "the strategic merge patch for `{}/{}` at {} matched no object",
                        wanted.kind, wanted.name, patch.location
                    ));
                }
                for index in matching {
                    merge_into(&mut documents[index], document).map_err(|e| at(&patch.location, e))?;
                }
            }
        }
    }
    Ok(())
}

/// Merges `patch` into one document, recording the change or the deletion.
fn merge_into(doc: &mut Doc, patch: &Node) -> Result<(), String> {
    let kept = merge_resource(doc.node_mut()?, patch)?;
    if kept {
        doc.touched();
    } else {
        doc.deleted = true;
        doc.changed = true;
    }
    Ok(())
}

fn at(location: &str, message: String) -> String {
    format!("strategic merge patch at {location}: {message}")
}

/// Merges `patch` into one object; `false` when the patch deleted it.
fn merge_resource(document: &mut Node, patch: &Node) -> Result<bool, String> {
    let meta = kio::get_identity(document);
    let (group, version) = match meta.api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", meta.api_version.as_str()),
    };
    let shape = schema::builtin_kind(group, version, &meta.kind);
    let body = std::mem::take(document.body_mut());
    let merged = walk(Some(body), Some(Cow::Borrowed(patch.body())), &shape, &Path::ROOT)?;
    let merged = match merged {
        Walked::Node(node, _) | Walked::KeepNull(node) => node,
        Walked::Clear => return Ok(false),
    };
    if is_null(&merged) || (merged.kind == Kind::Mapping && merged.content.is_empty()) {
        return Ok(false);
    }
    *document.body_mut() = merged;
    restore_identity(document, &meta);
    Ok(true)
}

/// `ApplySmPatch` puts back the kind, name and namespace the object had.
fn restore_identity(document: &mut Node, meta: &kio::Meta) {
    let body = document.body_mut();
    set_if_changed(body, "kind", &meta.kind);
    if let Some(metadata) = body.get_mut("metadata").filter(|m| m.kind == Kind::Mapping) {
        set_if_changed(metadata, "name", &meta.name);
        if meta.namespace.is_empty() {
            if let Some(index) = metadata.field_index("namespace") {
                metadata.content.drain(index..index + 2);
            }
        } else {
            set_if_changed(metadata, "namespace", &meta.namespace);
        }
    }
}

fn set_if_changed(map: &mut Node, key: &str, value: &str) {
    if value.is_empty() || map.get(key).is_some_and(|v| v.value == value) {
        return;
    }
    super::set_scalar_field(map, key, Node::scalar(value));
}

/// Where a walk is, for messages: a chain of frames on the stack, written out only when an
/// error names it (`spec.template.spec.containers.[app].env`).
struct Path<'p> {
    parent: Option<&'p Path<'p>>,
    segment: Segment<'p>,
    depth: usize,
}

enum Segment<'p> {
    Root,
    Field(&'p str),
    /// An associative list's element by its key values.
    Element(&'p [String]),
}

impl<'p> Path<'p> {
    const ROOT: Path<'static> = Path {
        parent: None,
        segment: Segment::Root,
        depth: 0,
    };

    fn field(&'p self, name: &'p str) -> Path<'p> {
        self.child(Segment::Field(name))
    }

    fn element(&'p self, values: &'p [String]) -> Path<'p> {
        self.child(Segment::Element(values))
    }

    fn child(&'p self, segment: Segment<'p>) -> Path<'p> {
        Path {
            parent: Some(self),
            segment,
            depth: self.depth + 1,
        }
    }

    /// The segments from the root, joined by `.`.
    fn render(&self) -> String {
        let mut segments = Vec::new();
        let mut at = Some(self);
        while let Some(path) = at {
            match path.segment {
                Segment::Root => {}
                Segment::Field(name) => segments.push(name.to_string()),
                Segment::Element(values) => segments.push(format!("[{}]", values.join(","))),
            }
            at = path.parent;
        }
        segments.reverse();
        segments.join(".")
    }
}

/// The patch's side of a walk: read where it is, copied only into the result (or when a
/// `$patch` directive is taken out of it).
type Patch<'o> = Option<Cow<'o, Node>>;

/// How deep a walk goes before it gives up.
const MAX_DEPTH: usize = 200;

/// What a walk returns: a node (and whether it is the destination node itself, merged in
/// place — kyaml's pointer identity), a null kyaml keeps (`MakePersistentNullNode`), or
/// "clear this field".
enum Walked {
    Node(Node, bool),
    KeepNull(Node),
    Clear,
}

fn is_null(node: &Node) -> bool {
    node.tag == "!!null"
}

fn missing_or_null(node: &Option<Node>) -> bool {
    node.as_ref().is_none_or(is_null)
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Document => "DocumentNode",
        Kind::Sequence => "SequenceNode",
        Kind::Mapping => "MappingNode",
        Kind::Scalar => "ScalarNode",
        Kind::Alias => "AliasNode",
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Directive {
    Merge,
    Replace,
    Delete,
}

/// `determineSmpDirective`, eliding the directive from `patch` as kyaml does.
fn directive(patch: &mut Patch<'_>) -> Result<Directive, String> {
    let Some(node) = patch.as_deref() else {
        return Ok(Directive::Merge);
    };
    let parse = |value: &str| match value {
        "delete" => Ok(Directive::Delete),
        "replace" => Ok(Directive::Replace),
        "merge" => Ok(Directive::Merge),
        other => Err(format!("unknown patch strategy '{other}'")),
    };
    match node.kind {
        Kind::Mapping => {
            let Some(index) = node.field_index("$patch") else {
                return Ok(Directive::Merge);
            };
            let directive = parse(&node.content[index + 1].value)?;
            if let Some(node) = patch.as_mut() {
                node.to_mut().content.drain(index..index + 2);
            }
            Ok(directive)
        }
        Kind::Sequence => {
            let Some(position) = node
                .content
                .iter()
                .position(|e| e.kind == Kind::Mapping && e.field_index("$patch").is_some())
            else {
                return Ok(Directive::Merge);
            };
            if node.content[position].content.len() > 2 {
                return Ok(Directive::Merge);
            }
            let value = node.content[position]
                .get("$patch")
                .map(|v| v.value.clone())
                .unwrap_or_default();
            let directive = parse(&value)?;
            if let Some(node) = patch.as_mut() {
                node.to_mut().content.retain(|e| {
                    !(e.kind == Kind::Mapping
                        && e.content.len() == 2
                        && e.get("$patch").is_some_and(|v| v.value == value))
                });
            }
            Ok(directive)
        }
        _ => Err(format!(
            "no implemented strategic merge patch strategy for '{}' ('{}')",
            node.short_tag(),
            kio::node_string(node).unwrap_or_default().trim_end()
        )),
    }
}

/// kyaml's `SetComments` and `SetStyle` on a visit.
fn adopt_comments_and_style(dest: &mut Option<Node>, origin: &Patch<'_>) {
    let (Some(dest), Some(origin)) = (dest.as_mut(), origin.as_deref()) else {
        return;
    };
    if !origin.foot_comment().is_empty() {
        dest.set_foot_comment(origin.foot_comment().to_string());
    }
    if !origin.head_comment().is_empty() {
        dest.set_head_comment(origin.head_comment().to_string());
    }
    if !origin.line_comment().is_empty() {
        dest.set_line_comment(origin.line_comment().to_string());
    }
    if dest.kind != Kind::Scalar && dest.content.is_empty() {
        dest.style = origin.style;
    }
}

/// `Walker.Walk` over `[dest, origin]`.
fn walk(mut dest: Option<Node>, origin: Patch<'_>, shape: &Shape, path: &Path<'_>) -> Result<Walked, String> {
    if path.depth > MAX_DEPTH {
        return Err("patch nested too deeply".to_string());
    }
    if origin.is_none()
        && !general_walk_only()
        && let Some(node) = dest.take_if(|d| !is_null(d))
    {
        return walk_unpatched(node, shape, path);
    }
    let kind = [dest.as_ref(), origin.as_deref()]
        .into_iter()
        .flatten()
        .find(|n| !is_null(n))
        .map(|n| n.kind);
    let check = |expected: Kind, dest: &Option<Node>, origin: &Patch<'_>| -> Result<(), String> {
        for node in [dest.as_ref(), origin.as_deref()].into_iter().flatten() {
            if !is_null(node) && node.kind != expected {
                return Err(format!(
                    "wrong node kind at `{}`: expected {} but got {}",
                    path.render(),
                    kind_name(expected),
                    kind_name(node.kind)
                ));
            }
        }
        Ok(())
    };
    match kind {
        Some(Kind::Mapping) => {
            check(Kind::Mapping, &dest, &origin)?;
            walk_map(dest, origin, shape, path)
        }
        Some(Kind::Sequence) => {
            check(Kind::Sequence, &dest, &origin)?;
            match associative(shape) {
                Some(keys) => walk_associative(dest, origin, shape, keys, path),
                None => {
                    adopt_comments_and_style(&mut dest, &origin);
                    Ok(match (origin, dest) {
                        (Some(origin), _) => Walked::Node(origin.into_owned(), false),
                        (None, Some(dest)) => Walked::Node(dest, true),
                        (None, None) => Walked::Clear,
                    })
                }
            }
        }
        Some(Kind::Scalar) | Some(Kind::Alias) | Some(Kind::Document) => {
            if kind == Some(Kind::Scalar) {
                check(Kind::Scalar, &dest, &origin)?;
            }
            adopt_comments_and_style(&mut dest, &origin);
            Ok(match (origin, dest) {
                (Some(origin), _) => Walked::Node(origin.into_owned(), false),
                (None, Some(dest)) => Walked::Node(dest, true),
                (None, None) => Walked::Clear,
            })
        }
        None => walk_map(dest, origin, shape, path),
    }
}

/// `walk` of a part of the object the patch does not reach, in place. kyaml walks it all the
/// same, and that changes little: fields holding an empty null go, and so do null and `{}`
/// elements of associative lists. Lists whose elements are all distinct by one key (or distinct
/// scalars) keep their order and are walked element by element here; the general walk, which
/// copies every element twice to merge patch and object, remains for the rest (elements sharing
/// a key, several keys, elements without their key).
fn walk_unpatched(mut dest: Node, shape: &Shape, path: &Path<'_>) -> Result<Walked, String> {
    match dest.kind {
        Kind::Mapping => {
            let shape = schema::resolved(shape);
            let mut i = 0;
            while i + 1 < dest.content.len() {
                if unchanged_by_walk(&dest.content[i + 1], path.depth + 1) {
                    i += 2;
                    continue;
                }
                // The key's text stands aside while its value is walked (the path borrows it).
                let name = std::mem::take(&mut dest.content[i].value);
                let child_shape = schema::field(&shape, &name);
                let value = std::mem::take(&mut dest.content[i + 1]);
                let style = value.style;
                let walked = walk(Some(value), None, &child_shape, &path.field(&name))?;
                dest.content[i].value = name;
                let before = dest.content.len();
                put_back(&mut dest, i, style, walked);
                if dest.content.len() == before {
                    i += 2;
                }
            }
            Ok(Walked::Node(dest, true))
        }
        Kind::Sequence => match associative(shape) {
            None => Ok(Walked::Node(dest, true)),
            Some(keys) if distinct_by(&dest, keys) => {
                let items_shape = list_items(shape);
                let mut kept = Vec::with_capacity(dest.content.len());
                for element in std::mem::take(&mut dest.content) {
                    let value = [element_value(&element, keys).to_string()];
                    let walked = walk(Some(element), None, items_shape, &path.element(&value))?;
                    if let Walked::Node(node, _) | Walked::KeepNull(node) = walked
                        && !(is_null(&node) || (node.kind == Kind::Mapping && node.content.is_empty()))
                    {
                        kept.push(node);
                    }
                }
                dest.content = kept;
                Ok(Walked::Node(dest, true))
            }
            Some(keys) => walk_associative(Some(dest), None, shape, keys, path),
        },
        _ => Ok(Walked::Node(dest, true)),
    }
}

/// Whether walking `node` (at `depth`) with no patch would leave it exactly as it is, so that
/// the walk can pass it by: nothing null in it (a null field goes), no list (an associative
/// list may lose or reorder elements) and no alias, and not nested past the walk's limit.
fn unchanged_by_walk(node: &Node, depth: usize) -> bool {
    !general_walk_only()
        && depth <= MAX_DEPTH
        && !is_null(node)
        && match node.kind {
            Kind::Scalar => true,
            Kind::Mapping => node
                .content
                .iter()
                .skip(1)
                .step_by(2)
                .all(|value| unchanged_by_walk(value, depth + 1)),
            _ => false,
        }
}

#[cfg(not(test))]
fn general_walk_only() -> bool {
    false
}

#[cfg(test)]
thread_local! {
    /// Tests compare [`walk_unpatched`] with the general walk it stands in for.
    static GENERAL_WALK_ONLY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

#[cfg(test)]
fn general_walk_only() -> bool {
    GENERAL_WALK_ONLY.with(std::cell::Cell::get)
}

/// The value an element of an associative list is known by: its one key's, or its own.
fn element_value<'n>(element: &'n Node, keys: &[String]) -> &'n str {
    match keys.first() {
        None => &element.value,
        Some(key) => element.get(key).map_or("", |v| v.value.as_str()),
    }
}

/// Whether every element of an associative list has a value of its own under at most one key
/// (non-empty, not null, not shared with another element), so that kyaml's merge of the list
/// with nothing keeps every element where it is.
fn distinct_by(list: &Node, keys: &[String]) -> bool {
    if keys.len() > 1 {
        return false;
    }
    let mut seen = std::collections::HashSet::with_capacity(list.content.len());
    list.content.iter().all(|element| {
        let value = match keys.first() {
            None => (element.kind == Kind::Scalar && !is_null(element)).then_some(element.value.as_str()),
            Some(key) => (element.kind == Kind::Mapping && !element.content.is_empty())
                .then(|| element.get(key))
                .flatten()
                .filter(|v| v.kind == Kind::Scalar && !is_null(v))
                .map(|v| v.value.as_str()),
        };
        value.is_some_and(|v| !v.is_empty() && seen.insert(v))
    })
}

/// The merge keys of an associative list (`Some(vec![])` for a list of scalars), `None` when
/// the list is replaced.
fn associative(shape: &Shape) -> Option<&[String]> {
    let Shape::List(list) = shape else { return None };
    let strategy = list.patch_strategy.as_deref()?;
    if !strategy.split(',').any(|s| s == "merge") {
        return None;
    }
    Some(match (&list.list_type, &list.merge_key) {
        (ListType::Map(keys), _) if !keys.is_empty() => keys,
        (_, Some(key)) => std::slice::from_ref(key),
        _ => &[],
    })
}

fn list_items(shape: &Shape) -> &Shape {
    static ANY: Shape = Shape::Any;
    match shape {
        Shape::List(list) => &list.items,
        _ => &ANY,
    }
}

/// The patch's node as the walk's result (kyaml sets the patch's node in the object), or
/// "clear" when there is none.
fn patch_as_result(origin: &Patch<'_>) -> Walked {
    origin
        .as_deref()
        .map_or(Walked::Clear, |o| Walked::Node(o.clone(), false))
}

/// `Merger.VisitMap`; also returns the patch as the visit left it (directive elided).
fn visit_map<'o>(mut dest: Option<Node>, mut origin: Patch<'o>) -> Result<(Walked, Patch<'o>), String> {
    adopt_comments_and_style(&mut dest, &origin);
    if missing_or_null(&dest) {
        let directive = directive(&mut origin).unwrap_or(Directive::Merge);
        if directive == Directive::Delete {
            return Ok((Walked::Clear, origin));
        }
        if origin.is_none()
            && let Some(dest) = dest
            && !dest.value.is_empty()
        {
            return Ok((Walked::KeepNull(dest), origin));
        }
        return Ok((patch_as_result(&origin), origin));
    }
    if origin.as_deref().is_some_and(is_null) {
        return Ok((Walked::Clear, origin));
    }
    let walked = match directive(&mut origin)? {
        Directive::Delete => Walked::Clear,
        Directive::Replace => patch_as_result(&origin),
        Directive::Merge => dest.map_or(Walked::Clear, |d| Walked::Node(d, true)),
    };
    Ok((walked, origin))
}

/// `walkMap`: visit, then every field of either side in sorted order, set on the result.
fn walk_map(dest: Option<Node>, origin: Patch<'_>, shape: &Shape, path: &Path<'_>) -> Result<Walked, String> {
    let (visited, origin) = visit_map(dest, origin)?;
    let (mut result, from_dest) = match visited {
        Walked::Node(node, from_dest) => (node, from_dest),
        other => return Ok(other),
    };
    // Sources after kyaml's setDestNode: the result, and the patch (when the patch replaced,
    // the result is a copy of it, so the patch stands for itself).
    // Every field name of either side, sorted, once: copied into one buffer (the result
    // changes as fields are set), each known by its span.
    let sides = [Some(&result), origin.as_deref()];
    let mut buffer = String::new();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for node in sides.into_iter().flatten().filter(|n| n.kind == Kind::Mapping) {
        for pair in node.content.chunks(2) {
            let start = buffer.len();
            buffer.push_str(&pair[0].value);
            spans.push((start, buffer.len()));
        }
    }
    spans.sort_by(|a, b| buffer[a.0..a.1].cmp(&buffer[b.0..b.1]));
    spans.dedup_by(|a, b| buffer[a.0..a.1] == buffer[b.0..b.1]);
    let shape = schema::resolved(shape);
    for (start, end) in spans {
        let name = &buffer[start..end];
        let dest_index = result.field_index(name);
        let origin_index = origin.as_deref().and_then(|o| o.field_index(name).map(|i| (o, i)));
        if origin_index.is_none()
            && dest_index.is_some_and(|i| unchanged_by_walk(&result.content[i + 1], path.depth + 1))
        {
            continue;
        }
        let child_shape = schema::field(&shape, name);
        // The object's value moves out and back (kyaml merges it in place); the patch's is read.
        let dest_value = dest_index.map(|i| std::mem::take(&mut result.content[i + 1]));
        let dest_style = dest_value.as_ref().map(|v| v.style);
        let (origin_value, origin_key_style) = match origin_index {
            Some((o, i)) => (Some(Cow::Borrowed(&o.content[i + 1])), o.content[i].style),
            None => (None, Style::empty()),
        };
        let value = walk(dest_value, origin_value, &child_shape, &path.field(name))?;
        match (dest_index, dest_style) {
            (Some(index), Some(style)) => put_back(&mut result, index, style, value),
            _ => set_field(&mut result, name, value, origin_key_style),
        }
    }
    Ok(Walked::Node(result, from_dest))
}

/// `FieldSetter` for a field the object had, whose value was moved out to be walked: cleared,
/// or set back in place with the style the object's value had.
fn put_back(map: &mut Node, index: usize, style: Style, value: Walked) {
    match value {
        Walked::Node(node, _) if !is_null(&node) => {
            map.content[index + 1] = node;
            map.content[index + 1].style = style;
        }
        Walked::KeepNull(node) => {
            map.content[index + 1] = node;
            map.content[index + 1].style = style;
        }
        Walked::Node(..) | Walked::Clear => {
            map.content.drain(index..index + 2);
        }
    }
}

/// kyaml's `FieldSetter` for a walked value.
fn set_field(map: &mut Node, name: &str, value: Walked, key_style: Style) {
    let value = match value {
        Walked::Clear => None,
        Walked::Node(node, _) if is_null(&node) => None,
        Walked::Node(node, _) | Walked::KeepNull(node) => Some(node),
    };
    let Some(mut value) = value else {
        if let Some(index) = map.field_index(name) {
            map.content.drain(index..index + 2);
        }
        return;
    };
    if value.kind == Kind::Scalar
        && super::is_string_node(&value)
        && value.style.is_empty()
        && super::is_yaml11_non_string(&value.value)
    {
        value.style = Style::DOUBLE_QUOTED;
    }
    match map.field_index(name) {
        Some(index) => {
            let existing = &mut map.content[index + 1];
            value.style = existing.style;
            *existing = value;
        }
        None => {
            let mut key = Node::scalar(name);
            key.style = key_style;
            map.content.push(key);
            map.content.push(value);
        }
    }
}

/// `Merger.VisitList` for an associative list; also returns the patch as the visit left it.
fn visit_associative_list<'o>(mut dest: Option<Node>, mut origin: Patch<'o>) -> Result<(Walked, Patch<'o>), String> {
    adopt_comments_and_style(&mut dest, &origin);
    if missing_or_null(&dest) {
        return Ok((patch_as_result(&origin), origin));
    }
    if origin.as_deref().is_some_and(is_null) {
        return Ok((Walked::Clear, origin));
    }
    let walked = match directive(&mut origin)? {
        Directive::Delete => Walked::Clear,
        Directive::Replace => patch_as_result(&origin),
        Directive::Merge => dest.map_or(Walked::Clear, |d| Walked::Node(d, true)),
    };
    Ok((walked, origin))
}

/// `walkAssociativeSequence` with `setAssociativeSequenceElements` and `appendListNode`.
fn walk_associative(
    dest: Option<Node>,
    origin: Patch<'_>,
    shape: &Shape,
    keys: &[String],
    path: &Path<'_>,
) -> Result<Walked, String> {
    let (visited, origin) = visit_associative_list(dest, origin)?;
    // Sources after kyaml's setDestNode: the result, and the patch (when the patch replaced,
    // the result is a copy of it, so the patch stands for itself).
    let (mut dest, origin, from_dest) = match visited {
        Walked::Node(node, true) => (node, origin, true),
        Walked::Node(node, false) => (node, origin, false),
        other => return Ok(other),
    };
    let items_shape = list_items(shape);

    let primitive = keys.is_empty();
    static SCALAR_KEY: [String; 1] = [String::new()];
    let keys: &[String] = if primitive { &SCALAR_KEY } else { keys };
    // Element key values, patch first (Prepend), then the object's.
    let mut values_list: Vec<Vec<String>> = Vec::new();
    for source in [origin.as_deref(), Some(&dest)].into_iter().flatten() {
        for element in &source.content {
            let values: Vec<String> = if primitive {
                vec![element.value.clone()]
            } else {
                keys.iter()
                    .map(|k| {
                        element
                            .get(k)
                            .filter(|v| !is_nil_or_empty(v))
                            .map(|v| v.value.clone())
                            .unwrap_or_default()
                    })
                    .collect()
            };
            if (!primitive && values.is_empty()) || values_list.contains(&values) {
                continue;
            }
            values_list.push(values);
        }
    }
    if keys.len() > 1 {
        merge_values(&mut values_list);
    }

    let mut items = Node::sequence();
    let mut valid_keys: Cow<'_, [String]> = Cow::Borrowed(keys);
    for values in &values_list {
        if values.is_empty() {
            continue;
        }
        let (vk, vv) = validate_keys(&values_list, values, keys);
        valid_keys = vk.clone();
        let (element_keys, element_values) = validate_keys(&[&*vv], &vv, &vk);
        let dest_position = element_position(&dest, &element_keys, &element_values);
        let origin_element = origin
            .as_deref()
            .and_then(|o| element_position(o, &element_keys, &element_values).map(|i| Cow::Borrowed(&o.content[i])));
        // An object's element that the walk is sure to merge in place moves out and back;
        // any other is copied, as the walk may leave the object's element as it was.
        let moved = dest_position.is_some_and(|i| merges_in_place(&dest.content[i], origin_element.as_deref()));
        let dest_element = dest_position.map(|i| match moved {
            true => std::mem::take(&mut dest.content[i]),
            false => dest.content[i].clone(),
        });
        let walked = walk(dest_element, origin_element, items_shape, &path.element(&vv))?;
        debug_assert!(
            !moved || matches!(walked, Walked::Node(_, true)),
            "a moved element comes back"
        );
        let value = match walked {
            Walked::Node(node, from_dest) => {
                if from_dest && let Some(i) = dest_position {
                    // kyaml merged the object's element in place.
                    dest.content[i] = node.clone();
                }
                Some(node)
            }
            Walked::KeepNull(node) => Some(node),
            Walked::Clear => None,
        };
        let Some(mut value) = value.filter(|v| !(is_null(v) || (v.kind == Kind::Mapping && v.content.is_empty())))
        else {
            element_setter(&mut dest, None, &vk, &vv)?;
            continue;
        };
        for (i, key) in vk.iter().enumerate() {
            if !primitive && value.kind == Kind::Mapping && value.get(key).is_none() && !vv[i].is_empty() {
                super::set_scalar_field(&mut value, key, Node::scalar(vv[i].clone()));
            }
        }
        element_setter(&mut items, Some(value), &vk, &vv)?;
    }
    if !values_list.is_empty() {
        // appendListNode(itemsToBeAdded, dest, keys): the object's elements go back in.
        // `dest` becomes `items` below: its elements move.
        let dest_elements = std::mem::take(&mut dest.content);
        for element in dest_elements {
            if valid_keys.first().is_some_and(String::is_empty) {
                let value = element.value.clone();
                element_setter(&mut items, Some(element), &[String::new()], &[value])?;
                continue;
            }
            let mut values = Vec::new();
            for key in valid_keys.iter() {
                match element.get(key) {
                    Some(v) => values.push(v.value.clone()),
                    None => items.content.push(element.clone()),
                }
            }
            if valid_keys.len() > 1 {
                element_setter(&mut items, None, &valid_keys, &values)?;
            }
            element_setter(&mut items, Some(element), &valid_keys, &values)?;
        }
        dest = items;
    }
    Ok(Walked::Node(dest, from_dest))
}

/// Whether walking `dest` (an element of the object's list) with `origin` returns the object's
/// element merged in place: a mapping merged with nothing, or with a mapping that carries no
/// `$patch` directive. An error of the walk abandons the object, so it needs no copy either.
fn merges_in_place(dest: &Node, origin: Option<&Node>) -> bool {
    dest.kind == Kind::Mapping
        && !is_null(dest)
        && origin.is_none_or(|o| o.kind == Kind::Mapping && !is_null(o) && o.field_index("$patch").is_none())
}

fn is_nil_or_empty(node: &Node) -> bool {
    is_null(node) || (matches!(node.kind, Kind::Mapping | Kind::Sequence) && node.content.is_empty())
}

/// kyaml's `validateKeys`. Keys and values come back as they went in (borrowed) when no key
/// or every key has a value somewhere, as with the usual single merge key.
fn validate_keys<'k, 'v, V: AsRef<[String]>>(
    values_list: &[V],
    values: &'v [String],
    keys: &'k [String],
) -> (Cow<'k, [String]>, Cow<'v, [String]>) {
    let has_value = keys_with_values(values_list, keys);
    // No key valid, or every key valid and every value with a key: all stay.
    if !has_value.contains(&true) || (!has_value.contains(&false) && values.len() <= keys.len()) {
        return (Cow::Borrowed(keys), Cow::Borrowed(values));
    }
    let (keys, values) = validate_keys_fully(&has_value, values, keys);
    (Cow::Owned(keys), Cow::Owned(values))
}

/// For each key (by position), whether some element has a value for it.
fn keys_with_values<V: AsRef<[String]>>(values_list: &[V], keys: &[String]) -> Vec<bool> {
    (0..keys.len())
        .map(|i| {
            values_list
                .iter()
                .any(|values| values.as_ref().get(i).is_some_and(|v| !v.is_empty()))
        })
        .collect()
}

/// kyaml's loop: the keys with a value somewhere, and the values that are set or whose key is
/// one of those.
fn validate_keys_fully(has_value: &[bool], values: &[String], keys: &[String]) -> (Vec<String>, Vec<String>) {
    if !has_value.contains(&true) {
        return (keys.to_vec(), values.to_vec());
    }
    let valid = |key: &String| keys.iter().zip(has_value).any(|(k, &has)| has && k == key);
    let valid_keys = keys.iter().filter(|k| valid(k)).cloned().collect();
    let valid_values = values
        .iter()
        .enumerate()
        .filter(|(i, v)| !v.is_empty() || keys.get(*i).is_some_and(valid))
        .map(|(_, v)| v.clone())
        .collect();
    (valid_keys, valid_values)
}

/// kyaml's `mergeValues`: key tuples that agree where both are set become one.
fn merge_values(values_list: &mut [Vec<String>]) {
    for i in 0..values_list.len() {
        for j in 0..values_list.len() {
            let (a, b) = (&values_list[i], &values_list[j]);
            if a.len() != b.len() {
                continue;
            }
            let mut common = false;
            let mut merged = Vec::with_capacity(a.len());
            let mut conflict = false;
            for (x, y) in a.iter().zip(b) {
                if x == y {
                    common = true;
                    merged.push(x.clone());
                } else if !x.is_empty() && !y.is_empty() {
                    conflict = true;
                    break;
                } else if !x.is_empty() {
                    merged.push(x.clone());
                } else {
                    merged.push(y.clone());
                }
            }
            if !conflict && common {
                values_list[i] = merged.clone();
                values_list[j] = merged;
            }
        }
    }
}

/// kyaml's `ElementMatcher` with `MatchField`: the first mapping element whose `keys` have
/// exactly `values` (a key `""` matches scalar elements by value).
fn element_position(list: &Node, keys: &[String], values: &[String]) -> Option<usize> {
    if keys.is_empty() || keys[0].is_empty() {
        let wanted = values.first().map(String::as_str).unwrap_or("");
        return list.content.iter().position(|e| e.value == wanted);
    }
    list.content.iter().position(|element| {
        element.kind == Kind::Mapping
            && keys.len() == values.len()
            && keys
                .iter()
                .zip(values)
                .all(|(k, v)| element.get(k).is_some_and(|field| field.value == *v))
    })
}

/// kyaml's `ElementSetter`: drops null and `{}` elements, then replaces the element matching
/// `keys`/`values` with `element` (removes it when `None`), appending when nothing matched.
fn element_setter(list: &mut Node, element: Option<Node>, keys: &[String], values: &[String]) -> Result<(), String> {
    let scalar_key = [String::new()];
    let keys: &[String] = if keys.is_empty() { &scalar_key } else { keys };
    let mapping_setter = !keys[0].is_empty() && values.first().is_some_and(|v| !v.is_empty());
    // Which elements stay, and which of them `element` replaces, decided in order; the list is
    // then thinned in place (`places` are positions after thinning).
    let mut keep = Vec::with_capacity(list.content.len());
    let mut found_any = false;
    let mut places = Vec::new();
    let kept = |keep: &[bool]| keep.iter().filter(|&&k| k).count();
    for existing in &list.content {
        if is_null(existing) || (existing.kind == Kind::Mapping && existing.content.is_empty()) {
            keep.push(false);
            continue;
        }
        if existing.kind != Kind::Mapping && mapping_setter {
            keep.push(true);
            continue;
        }
        // Go's loop leaves the match of the last compared key in place when there are fewer
        // values than keys, and finds nothing when there are none.
        let mut found = !values.is_empty();
        for (j, key) in keys.iter().enumerate() {
            let Some(value) = values.get(j) else { continue };
            let matched = if key.is_empty() {
                if existing.kind != Kind::Scalar {
                    return Err(format!(
                        "wrong node kind: expected ScalarNode but got {}",
                        kind_name(existing.kind)
                    ));
                }
                existing.value == *value
            } else {
                existing.kind == Kind::Mapping
                    && existing
                        .get(key)
                        .is_some_and(|field| value.is_empty() || field.value == *value)
            };
            if !matched {
                found = false;
                break;
            }
        }
        if !found {
            keep.push(!values.is_empty());
            continue;
        }
        found_any = true;
        if element.is_some() {
            places.push(kept(&keep));
        }
        keep.push(element.is_some());
    }
    if keep.contains(&false) {
        let mut flags = keep.iter();
        list.content.retain(|_| *flags.next().unwrap_or(&true));
    }
    if let Some(element) = element {
        if let Some((&last, others)) = places.split_last() {
            for &place in others {
                list.content[place] = element.clone();
            }
            list.content[last] = element;
        } else if !is_null(&element) && !found_any {
            list.content.push(element);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn merge(object: &str, patch: &str) -> String {
        let mut docs = crate::render::postrender::read_for_builtins(object);
        let patch = crate::render::postrender::read_for_builtins(patch).remove(0);
        assert!(merge_resource(&mut docs[0], &patch).expect("merges"));
        kio::string_all(docs).expect("writes")
    }

    /// The parts of an object a patch does not reach come out of the in-place walk as they come
    /// out of kyaml's general walk: empty nulls dropped, `~` kept, null and `{}` elements of
    /// associative lists dropped, elements sharing a key folded, lists with several keys and
    /// elements without their key left to the general walk.
    #[test]
    fn unpatched_parts_walk_as_the_general_walk_does() {
        let objects = [
            DEPLOYMENT,
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {a: b, c: ~, d: }\n  finalizers: [x, y, x, ~, '']\nspec:\n  empty:\n  tilde: ~\n  template:\n    spec:\n      containers:\n      - name: a\n        env:\n        - {name: A, value: '1'}\n        - {name: A, value: '2'}\n        - null\n        - {}\n        - {value: nameless}\n        ports:\n        - {containerPort: 80, protocol: TCP}\n        - {containerPort: 80, protocol: UDP}\n        - {containerPort: 81}\n      - {}\n      - ~\n      - name: b\n        args: [a, a, ~]\n        resources: {limits: {cpu: ~}, requests: {}}\n      volumes:\n      - name: v\n        configMap: {name: c, items: [{key: k, path: p}]}\n      - name: v\n        secret: {secretName: s}\n",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n  ports:\n  - {port: 80, protocol: TCP}\n  - {port: 80, protocol: UDP}\n  - {port: 80}\n  selector: {app: ~}\n",
            "apiVersion: example.com/v1\nkind: Widget\nmetadata:\n  name: w\nspec:\n  list: [{name: a}, {name: a}, ~]\n  nested: {a: {b: ~, c: }}\n",
        ];
        let patches = [
            "metadata:\n  annotations: {patched: 'yes'}\n",
            "spec:\n  template:\n    metadata:\n      labels: {x: y}\n",
            "spec:\n  template:\n    spec:\n      containers:\n      - name: b\n        image: b:2\n",
            "spec:\n  replicas: 2\n",
        ];
        for object in objects {
            for patch in patches {
                let general = {
                    GENERAL_WALK_ONLY.with(|g| g.set(true));
                    let out = merge(object, patch);
                    GENERAL_WALK_ONLY.with(|g| g.set(false));
                    out
                };
                assert_eq!(merge(object, patch), general, "{object}\npatched with\n{patch}");
            }
        }
    }

    const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: a\n        image: a:1\n      - name: b\n        image: b:1\n      - name: c\n        image: c:1\n";

    #[test]
    fn containers_merge_by_name_patch_first() {
        let out = merge(
            DEPLOYMENT,
            "spec:\n  template:\n    spec:\n      containers:\n      - name: new1\n        image: n:1\n      - name: b\n        image: b:2\n      - name: c\n        $patch: delete\n",
        );
        assert!(
            out.ends_with("containers:\n      - name: new1\n        image: n:1\n      - name: b\n        image: b:2\n      - name: a\n        image: a:1\n"),
            "{out}"
        );
    }

    #[test]
    fn null_deletes_and_replace_replaces() {
        let out = merge(DEPLOYMENT, "spec:\n  template: null\n");
        assert_eq!(
            out,
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec: {}\n"
        );
        let out = merge(DEPLOYMENT, "spec:\n  $patch: replace\n  replicas: 2\n");
        assert_eq!(
            out,
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 2\n"
        );
    }

    #[test]
    fn identity_is_restored_and_new_fields_sorted() {
        let out = merge(
            DEPLOYMENT,
            "metadata:\n  name: other\n  labels: {z: \"1\"}\n  annotations: {a: b}\n",
        );
        // New fields come in sorted order, in the style the patch wrote them.
        assert!(out.starts_with("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  annotations: {a: b}\n  labels: {z: \"1\"}\n"), "{out}");
    }

    #[test]
    fn custom_resource_lists_are_replaced() {
        let out = merge(
            "apiVersion: x.io/v1\nkind: Thing\nmetadata:\n  name: t\nspec:\n  items:\n  - name: a\n  - name: b\n",
            "spec:\n  items:\n  - name: c\n",
        );
        assert!(out.ends_with("spec:\n  items:\n  - name: c\n"), "{out}");
    }

    /// The borrowed answers of `validate_keys` are the ones kyaml's loop builds.
    #[test]
    fn validated_keys_are_kyamls() {
        let strings = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let cases = [
            (
                vec![strings(&["a"]), strings(&["b"])],
                strings(&["a"]),
                strings(&["name"]),
            ),
            (vec![strings(&[""])], strings(&[""]), strings(&["name"])),
            (
                vec![strings(&["", "80"]), strings(&["", "81"])],
                strings(&["", "80"]),
                strings(&["name", "port"]),
            ),
            (
                vec![strings(&["x", ""]), strings(&["", "81"])],
                strings(&["x", ""]),
                strings(&["name", "port"]),
            ),
            (
                vec![strings(&["x", "1"])],
                strings(&["x", "1", "extra", ""]),
                strings(&["name", "port"]),
            ),
            (vec![strings(&["x"])], strings(&["x"]), strings(&[""])),
        ];
        for (list, values, keys) in cases {
            let (k, v) = validate_keys(&list, &values, &keys);
            let kyaml = validate_keys_fully(&keys_with_values(&list, &keys), &values, &keys);
            assert_eq!((k.to_vec(), v.to_vec()), kyaml, "{list:?} {values:?} {keys:?}");
        }
    }
}
