//! kyaml's document reader and writer (`kio.ParseAll`, `kio.StringAll`) and the metadata
//! filters helm's post-render pipeline calls (`SetAnnotation`, `ClearAnnotation`,
//! `ClearEmptyAnnotations`, `GetMeta`), over go-yaml v3 nodes.
//!
//! Ported from kustomize `kyaml` v0.21.1 (what helm v4.1.4 links) including the reader's
//! index annotations that are set and cleared again, because their side effects are visible:
//! an empty `metadata: {}` disappears, a missing `metadata` is created and dropped, a
//! `kind: List` file is unwrapped. Error texts are kyaml's. One known gap: kyaml writes a lone
//! document annotated with a `*.json` `config.kubernetes.io/path` as JSON; this writes YAML.

use std::sync::LazyLock;

use helmfire_value::yaml::v3::{Encoder, Kind, Node, STR_TAG, Style, first_document};
use regex::Regex;

const INDEX_ANNOTATION: &str = "internal.config.kubernetes.io/index";
const LEGACY_INDEX_ANNOTATION: &str = "config.kubernetes.io/index";
const PATH_ANNOTATION: &str = "internal.config.kubernetes.io/path";
const LEGACY_PATH_ANNOTATION: &str = "config.kubernetes.io/path";
const ID_ANNOTATION: &str = "internal.config.kubernetes.io/id";
const LEGACY_ID_ANNOTATION: &str = "config.k8s.io/id";
const SEQ_INDENT_ANNOTATION: &str = "internal.config.kubernetes.io/seqindent";
const BARE_SEQ_NODE_WRAPPING_KEY: &str = "bareSeqNodeWrappingKey";

/// `yaml.ResourceMeta` as `GetMeta` fills it: the fields of the head helm reads for sorting
/// (one type, so a document's head read for sorting serves the built-ins' targets too).
pub type Meta = crate::render::manifest::Head;

/// kyaml's `IsMissingOrNull` for a present node: tagged `!!null`.
fn is_null(node: &Node) -> bool {
    node.tag == "!!null"
}

/// `IsNilOrEmpty`: null, an empty map or sequence.
fn is_nil_or_empty(node: &Node) -> bool {
    is_null(node) || (matches!(node.kind, Kind::Mapping | Kind::Sequence) && node.content.is_empty())
}

/// `GetValue`: the scalar text, `""` for null.
fn value_of(node: &Node) -> String {
    if is_null(node) {
        String::new()
    } else {
        node.value.clone()
    }
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

/// `InvalidNodeKindError` for a node that should be a mapping.
fn expect_mapping(node: &Node) -> Result<(), String> {
    if is_null(node) || node.kind == Kind::Mapping {
        return Ok(());
    }
    let mut message = format!("wrong node kind: expected MappingNode but got {}", kind_name(node.kind));
    if let Ok(text) = node_string(node) {
        message.push_str(&format!(": node contents:\n{text}"));
    }
    Err(message)
}

/// kyaml's `String(node)`: the node encoded alone.
pub fn node_string(node: &Node) -> Result<String, String> {
    let mut encoder = Encoder::new(2, true);
    encoder.encode(node).map_err(|e| e.message)?;
    encoder.finish().map_err(|e| e.message)
}

/// A field kyaml's `GetMeta` reads: present and not null or empty.
fn meta_field<'n>(node: &'n Node, name: &str) -> Option<&'n Node> {
    node.get(name).filter(|v| !is_nil_or_empty(v))
}

/// `GetMeta`: `Err` carries `missing Resource metadata` (kyaml's `ErrMissingMetadata`).
pub fn get_meta(document: &Node) -> (Meta, bool) {
    read_meta(document, true)
}

/// [`get_meta`] without the labels and annotations: what identifies the object.
pub fn get_identity(document: &Node) -> Meta {
    read_meta(document, false).0
}

fn read_meta(document: &Node, maps: bool) -> (Meta, bool) {
    let node = document.body();
    let mut meta = Meta::default();
    if is_null(node) {
        return (meta, false);
    }
    let mut missing = true;
    if let Some(v) = meta_field(node, "apiVersion") {
        meta.api_version = value_of(v);
        missing = false;
    }
    if let Some(v) = meta_field(node, "kind") {
        meta.kind = value_of(v);
        missing = false;
    }
    let Some(metadata) = meta_field(node, "metadata") else {
        return (meta, missing);
    };
    if let Some(v) = meta_field(metadata, "name") {
        meta.name = v.value.clone();
        missing = false;
    }
    if let Some(v) = meta_field(metadata, "namespace") {
        meta.namespace = value_of(v);
        missing = false;
    }
    for (target, name) in [(&mut meta.labels, "labels"), (&mut meta.annotations, "annotations")] {
        if let Some(map) = meta_field(metadata, name) {
            if !maps {
                continue;
            }
            for pair in map.content.chunks(2) {
                if let [key, value] = pair {
                    target.insert(value_of(key), value_of(value));
                }
            }
            missing = false;
        }
    }
    (meta, missing)
}

/// `FieldMatcher{Name}` without create: the value of `name` in `node`, `None` when `node` is
/// null or the field is absent; an error when `node` is not a mapping.
fn lookup_mut<'n>(node: &'n mut Node, name: &str) -> Result<Option<&'n mut Node>, String> {
    if is_null(node) {
        return Ok(None);
    }
    expect_mapping(node)?;
    Ok(node.get_mut(name))
}

/// `FieldClearer{Name, IfEmpty}` on `node`.
fn clear_field(node: &mut Node, name: &str, if_empty: bool) -> Result<(), String> {
    expect_mapping(node)?;
    if let Some(index) = node.field_index(name) {
        if if_empty && !node.content[index + 1].content.is_empty() {
            return Ok(());
        }
        node.content.drain(index..index + 2);
    }
    Ok(())
}

/// `ClearEmptyAnnotations`: drops `metadata.annotations` when it has no entries, then
/// `metadata` when it has none.
pub fn clear_empty_annotations(document: &mut Node) -> Result<(), String> {
    let node = document.body_mut();
    if let Some(metadata) = lookup_mut(node, "metadata")?
        && !is_null(metadata)
    {
        clear_field(metadata, "annotations", true)?;
    }
    clear_field(node, "metadata", true)
}

/// `ClearAnnotation(key)`.
pub fn clear_annotation(document: &mut Node, key: &str) -> Result<(), String> {
    let node = document.body_mut();
    let Some(metadata) = lookup_mut(node, "metadata")? else {
        return Ok(());
    };
    let Some(annotations) = lookup_mut(metadata, "annotations")? else {
        return Ok(());
    };
    if is_null(annotations) {
        return Ok(());
    }
    clear_field(annotations, key, false)
}

/// `FieldMatcher{Name, Create: mapping}`: the value of `name`, appended as an empty block
/// mapping when absent. `None` when `node` or the existing value is null.
fn lookup_create<'n>(node: &'n mut Node, name: &str) -> Result<Option<&'n mut Node>, String> {
    if is_null(node) {
        return Ok(None);
    }
    expect_mapping(node)?;
    let index = match node.field_index(name) {
        Some(index) => index,
        None => {
            node.content.push(Node::scalar(name));
            node.content.push(Node::mapping());
            node.content.len() - 2
        }
    };
    let value = &mut node.content[index + 1];
    if is_null(value) {
        return Ok(None);
    }
    Ok(Some(value))
}

/// `FieldSetter{Name, Value}` on a mapping, for a non-null value: replaces an existing value
/// (taking over its style), else appends the pair.
fn set_field(node: &mut Node, name: &str, mut value: Node) -> Result<(), String> {
    expect_mapping(node)?;
    match node.field_index(name) {
        Some(index) => {
            let existing = &mut node.content[index + 1];
            value.style = existing.style;
            *existing = value;
        }
        None => {
            node.content.push(Node::scalar(name));
            node.content.push(value);
        }
    }
    Ok(())
}

/// `SetAnnotation(key, value)`: a single-quoted string at `metadata.annotations[key]`,
/// creating both maps as needed (after `ClearEmptyAnnotations`).
pub fn set_annotation(document: &mut Node, key: &str, value: &str) -> Result<(), String> {
    set_metadata_entry(document, "annotations", key, value, true)
}

/// `SetLabel(key, value)`: like [`set_annotation`] for `metadata.labels` (no clearing first).
pub fn set_label(document: &mut Node, key: &str, value: &str) -> Result<(), String> {
    set_metadata_entry(document, "labels", key, value, false)
}

fn set_metadata_entry(
    document: &mut Node,
    field: &str,
    key: &str,
    value: &str,
    clear_first: bool,
) -> Result<(), String> {
    let mut string = Node::string(value);
    string.style = Style::SINGLE_QUOTED;
    if clear_first {
        clear_empty_annotations(document)?;
    }
    let node = document.body_mut();
    let Some(metadata) = lookup_create(node, "metadata")? else {
        return Ok(());
    };
    let Some(map) = lookup_create(metadata, field)? else {
        return Ok(());
    };
    set_field(map, key, string)
}

/// kioutil's `CopyLegacyAnnotations`.
fn copy_legacy_annotations(document: &mut Node) -> Result<(), String> {
    let (meta, missing) = get_meta(document);
    if missing {
        return Ok(());
    }
    for (legacy, new) in [
        (LEGACY_PATH_ANNOTATION, PATH_ANNOTATION),
        (LEGACY_INDEX_ANNOTATION, INDEX_ANNOTATION),
        (LEGACY_ID_ANNOTATION, ID_ANNOTATION),
    ] {
        let new_value = meta.annotations.get(new).cloned().unwrap_or_default();
        let legacy_value = meta.annotations.get(legacy).cloned().unwrap_or_default();
        if !new_value.is_empty() {
            if legacy_value.is_empty() {
                set_annotation(document, legacy, &new_value)?;
            }
        } else if !legacy_value.is_empty() {
            set_annotation(document, new, &legacy_value)?;
        }
    }
    Ok(())
}

static SEPARATOR: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\n---.*\n").expect("constant regex"));

/// `splitDocuments`: pieces between `\n---…\n` lines; anything but a comment after the marker
/// is an error.
fn split_documents(text: &str) -> Result<Vec<String>, String> {
    let mut documents = Vec::new();
    if text.is_empty() {
        return Ok(documents);
    }
    let mut previous = 0;
    for found in SEPARATOR.find_iter(text) {
        let separator = found.as_str();
        let after = separator[4..].trim();
        if !after.is_empty() && !after.starts_with('#') {
            return Err(format!("invalid document separator: {}", separator.trim()));
        }
        documents.push(text[previous..found.start()].to_string());
        previous = found.end();
    }
    documents.push(text[previous..].to_string());
    Ok(documents)
}

/// `kio.ParseAll(text)`: the resource nodes of a stream, as kyaml's `ByteReader` reads them
/// (document nodes, or the bare items of a lone `kind: List`), each carrying the reader's
/// index annotations until [`string_all`] clears them.
pub fn parse_all(text: &str) -> Result<Vec<Node>, String> {
    let text = text.replace("\r\n", "\n");
    let mut values = split_documents(&text)?;
    let count = values.len();
    let mut output = Vec::new();
    let mut index = 0usize;
    for (i, value) in values.iter_mut().enumerate() {
        if i != count - 1 {
            value.push('\n');
        }
        let mut node = match first_document(value) {
            Ok(None) => continue,
            Ok(Some(node)) => node,
            Err(e) => return Err(format!("MalformedYAMLError: {}", e.message)),
        };
        // `IsYNodeEmptyDoc` and `IsMissingOrNull`.
        if is_null(node.body()) {
            continue;
        }
        copy_legacy_annotations(&mut node)?;
        let index_text = index.to_string();
        // Sorted keys: the legacy key sorts first.
        set_annotation(&mut node, LEGACY_INDEX_ANNOTATION, &index_text)?;
        set_annotation(&mut node, INDEX_ANNOTATION, &index_text)?;

        let (meta, _) = get_meta(&node);
        let body = node.body();
        if count == 1
            && (meta.kind == "ResourceList" || meta.kind == "List")
            && (body.get("items").is_some() || body.get("functionConfig").is_some())
        {
            if let Some(items) = body.get("items") {
                output.extend(items.content.iter().cloned());
            }
            continue;
        }
        output.push(node);
        index += 1;
    }
    Ok(output)
}

/// `kio.StringAll(nodes)`: reader annotations cleared, empty metadata dropped, each document
/// encoded by one go-yaml v3 encoder (indent 2, compact sequences), `---` between documents.
pub fn string_all(nodes: Vec<Node>) -> Result<String, String> {
    let mut encoder = Encoder::new(2, true);
    for mut node in nodes {
        for key in [INDEX_ANNOTATION, LEGACY_INDEX_ANNOTATION, SEQ_INDENT_ANNOTATION] {
            clear_annotation(&mut node, key)?;
        }
        clear_empty_annotations(&mut node)?;
        let wrapped = node
            .body()
            .get(BARE_SEQ_NODE_WRAPPING_KEY)
            .filter(|v| !is_nil_or_empty(v))
            .cloned();
        encoder
            .encode(wrapped.as_ref().unwrap_or(&node))
            .map_err(|e| e.message)?;
    }
    encoder.finish().map_err(|e| e.message)
}

/// A scalar that a kyaml `NewStringRNode` would make, for callers building values.
pub fn string_node(value: &str) -> Node {
    let node = Node::string(value);
    debug_assert_eq!(node.tag, STR_TAG);
    node
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> String {
        string_all(parse_all(text).expect("parses")).expect("writes")
    }

    #[test]
    fn reader_annotations_leave_no_trace() {
        assert_eq!(
            round_trip("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"
        );
        assert_eq!(round_trip("a: 1\n"), "a: 1\n");
    }

    #[test]
    fn empty_metadata_and_annotations_are_dropped() {
        assert_eq!(
            round_trip("kind: A\nmetadata:\n  name: a\n  annotations: {}\n"),
            "kind: A\nmetadata:\n  name: a\n"
        );
        assert_eq!(round_trip("kind: A\nmetadata: {}\nspec: 1\n"), "kind: A\nspec: 1\n");
    }

    #[test]
    fn identity_is_the_meta_without_its_maps() {
        let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: ~\n  labels: {a: b}\n  annotations: {c: d}\n";
        let document = parse_all(text).expect("parses").remove(0);
        let (mut meta, missing) = get_meta(&document);
        assert!(!missing);
        assert_eq!(meta.labels.len(), 1);
        assert!(meta.annotations.contains_key("c"), "{:?}", meta.annotations);
        (meta.labels, meta.annotations) = Default::default();
        assert_eq!(get_identity(&document), meta);
    }

    #[test]
    fn lone_lists_are_unwrapped() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- kind: A\n  metadata:\n    name: a\n- kind: B\n";
        assert_eq!(round_trip(text), "kind: A\nmetadata:\n  name: a\n---\nkind: B\n");
    }

    #[test]
    fn separators_must_be_bare_or_commented() {
        assert_eq!(
            parse_all("a: 1\n--- x\nb: 2\n").unwrap_err(),
            "invalid document separator: --- x"
        );
        assert_eq!(round_trip("a: 1\n--- # c\nb: 2\n"), "a: 1\n---\nb: 2\n");
    }

    #[test]
    fn annotations_are_single_quoted_and_appended() {
        let mut nodes = parse_all("kind: A\nmetadata:\n  name: a\n").expect("parses");
        set_annotation(&mut nodes[0], "x/y", "f.yaml").expect("sets");
        assert_eq!(
            string_all(nodes.clone()).expect("writes"),
            "kind: A\nmetadata:\n  name: a\n  annotations:\n    x/y: 'f.yaml'\n"
        );
        let (meta, missing) = get_meta(&nodes[0]);
        assert!(!missing);
        assert_eq!(meta.annotations.get("x/y").map(String::as_str), Some("f.yaml"));
    }

    #[test]
    fn scalar_documents_are_refused_like_kyaml() {
        let err = parse_all("just text\n").unwrap_err();
        assert!(
            err.starts_with("wrong node kind: expected MappingNode but got ScalarNode"),
            "{err}"
        );
    }
}
