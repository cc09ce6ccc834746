//! The built-in post-renderers: kustomize's `patches` (strategic merge), `patches` with JSON
//! 6902 operations (here `jsonPatches`), `images`, `commonLabels` and `commonAnnotations`,
//! applied in process to the documents of one release.
//!
//! Semantics follow kustomize `api/v0.20.1` + `kyaml/v0.20.1` (what `kubectl kustomize` v1.34
//! embeds), with these deliberate differences, each because a state file is not a
//! kustomization:
//! - **A target that matches nothing is an error** naming the patch's place in the state file
//!   (kustomize silently skips a `target` that matches nothing). A strategic merge patch without
//!   `target` is matched by its own `kind`, `metadata.name` (and `apiVersion`, `namespace` when
//!   given), as kustomize matches it; no match is an error there too.
//! - **Namespaces**: an object without `metadata.namespace` is in the release's namespace (helm
//!   installs it there); kustomize would call it `default`. A cluster-scoped object has no
//!   namespace, so only a target namespace pattern that matches the empty string selects it.
//! - **Merge keys** come from the Kubernetes 1.34 OpenAPI table the sandbox uses
//!   ([`helmfire_schema`]), by apiVersion and kind; kustomize uses its embedded 1.21 schema.
//!   Lists of kinds neither knows (custom resources) are replaced, in both.
//! - **JSON patches** edit the YAML documents in place, so untouched fields keep their order,
//!   styles and comments (kustomize converts the object to JSON and back, sorting keys); the
//!   operations behave as kustomize's (evanphx/json-patch v4): `replace` of a missing object
//!   key adds it, index `-1` of `add` appends.
//! - `commonLabels` are also written into selectors and templates as kustomize's
//!   (deprecated) `commonLabels` does. Changing the selector of a deployed Deployment or
//!   StatefulSet is refused by the API server (the field is immutable): add such labels before
//!   the first install, or use `commonAnnotations`.
//!
//! Nothing here reads files or prints; a failure is a message the caller wraps with the step.

mod images;
mod json_patch;
mod metadata;
mod strategic;

use std::collections::BTreeMap;

use helmfire_schema::selector::LabelSelector;
use helmfire_value::yaml::v3::{Kind, Node, Style};
use regex::Regex;

pub use images::ImageRewrite;
pub use json_patch::{Operation, OperationKind};
pub use metadata::CommonMetadata;

use super::kio;

/// Which objects a patch applies to: kustomize's `Selector`. `group`, `version`, `kind`,
/// `name` and `namespace` are regular expressions matched against the whole value.
#[derive(Clone, Debug, Default)]
pub struct Target {
    pub group: Option<Pattern>,
    pub version: Option<Pattern>,
    pub kind: Option<Pattern>,
    pub name: Option<Pattern>,
    pub namespace: Option<Pattern>,
    pub label_selector: Option<Selector>,
    pub annotation_selector: Option<Selector>,
}

/// An anchored regular expression (`^(?:…)$`) and its text.
#[derive(Clone, Debug)]
pub struct Pattern {
    pub text: String,
    regex: Regex,
    /// No character of the text means anything to a regex: it matches itself alone, and a
    /// comparison says so without running the regex (most targets name a kind or an object).
    literal: bool,
}

impl Pattern {
    /// Compiles `text` as kustomize anchors it; the error is the regex crate's.
    pub fn new(text: &str) -> Result<Pattern, regex::Error> {
        Ok(Pattern {
            text: text.to_string(),
            regex: Regex::new(&format!("^(?:{text})$"))?,
            literal: text
                .chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '/' | ':' | '@' | ' ')),
        })
    }

    fn matches(&self, value: &str) -> bool {
        if self.literal {
            value == self.text
        } else {
            self.regex.is_match(value)
        }
    }
}

/// A label selector and its text.
#[derive(Clone, Debug)]
pub struct Selector {
    pub text: String,
    selector: LabelSelector,
}

impl Selector {
    pub fn new(text: &str) -> Result<Selector, String> {
        Ok(Selector {
            text: text.to_string(),
            selector: LabelSelector::parse(text)?,
        })
    }
}

impl Target {
    /// `{kind: Deployment, name: web}`, as messages show a target.
    pub fn describe(&self) -> String {
        let fields = [
            ("group", self.group.as_ref().map(|p| &p.text)),
            ("version", self.version.as_ref().map(|p| &p.text)),
            ("kind", self.kind.as_ref().map(|p| &p.text)),
            ("name", self.name.as_ref().map(|p| &p.text)),
            ("namespace", self.namespace.as_ref().map(|p| &p.text)),
            ("labelSelector", self.label_selector.as_ref().map(|s| &s.text)),
            ("annotationSelector", self.annotation_selector.as_ref().map(|s| &s.text)),
        ];
        let parts: Vec<String> = fields
            .iter()
            .filter_map(|(k, v)| v.map(|v| format!("{k}: {v}")))
            .collect();
        format!("{{{}}}", parts.join(", "))
    }

    fn matches(&self, meta: &kio::Meta, release_namespace: &str) -> bool {
        let pattern = |p: &Option<Pattern>, value: &str| p.as_ref().is_none_or(|p| p.matches(value));
        let selector = |s: &Option<Selector>, map: &BTreeMap<String, String>| {
            s.as_ref().is_none_or(|s| {
                let pairs: Vec<(String, String)> = map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                s.selector.matches(&pairs)
            })
        };
        let (group, version) = group_version(&meta.api_version);
        pattern(&self.group, group)
            && pattern(&self.version, version)
            && pattern(&self.kind, &meta.kind)
            && pattern(&self.name, &meta.name)
            && pattern(&self.namespace, effective_namespace(meta, release_namespace))
            && selector(&self.label_selector, &meta.labels)
            && selector(&self.annotation_selector, &meta.annotations)
    }
}

/// `apps/v1` → (`apps`, `v1`); `v1` → (``, `v1`).
fn group_version(api_version: &str) -> (&str, &str) {
    api_version.split_once('/').unwrap_or(("", api_version))
}

/// The namespace an object lands in: its own, else the release's; none when cluster-scoped.
fn effective_namespace<'m>(meta: &'m kio::Meta, release_namespace: &'m str) -> &'m str {
    if !crate::manifest::is_namespaced(&meta.kind) {
        ""
    } else if meta.namespace.is_empty() {
        release_namespace
    } else {
        &meta.namespace
    }
}

/// One strategic merge patch: one document with a target, or documents matched by their own
/// identity.
#[derive(Clone, Debug)]
pub struct StrategicPatch {
    pub target: Option<Target>,
    pub patches: Vec<Node>,
    /// `helmfire.yaml:14:9 (postRenderers[0].patches[1])`.
    pub location: String,
}

/// One JSON 6902 patch.
#[derive(Clone, Debug)]
pub struct JsonPatch {
    pub target: Target,
    pub operations: Vec<Operation>,
    pub location: String,
}

/// A built-in renderer.
#[derive(Clone, Debug)]
pub enum Builtin {
    Patches(Vec<StrategicPatch>),
    JsonPatches(Vec<JsonPatch>),
    Images(Vec<ImageRewrite>),
    Metadata(CommonMetadata),
}

/// A document as the built-ins see it: what targets select by, and its node, parsed from its
/// text only when a renderer has to change it (so a patch of one object in a hundred reads
/// one).
#[derive(Debug)]
pub struct Doc {
    pub meta: kio::Meta,
    node: Option<Node>,
    text: String,
    /// A renderer changed it: its text must be written anew.
    pub changed: bool,
    /// A `$patch: delete` removed it.
    pub deleted: bool,
    /// Empty, comment-only or `null`: not an object, invisible to the renderers (kyaml's reader
    /// drops such documents before a renderer sees them).
    blank: bool,
}

impl Doc {
    /// A parsed document.
    pub fn from_node(node: Node) -> Doc {
        let (meta, _) = kio::get_meta(&node);
        Doc {
            meta,
            node: Some(node),
            text: String::new(),
            changed: false,
            deleted: false,
            blank: false,
        }
    }

    /// A document known by its text and head.
    pub fn from_text(text: String, meta: kio::Meta) -> Doc {
        let blank = meta == kio::Meta::default() && is_blank(&text);
        Doc {
            meta,
            node: None,
            text,
            changed: false,
            deleted: false,
            blank,
        }
    }

    /// Still a document the renderers see: not deleted, not blank.
    fn live(&self) -> bool {
        !self.deleted && !self.blank
    }

    /// The node, parsed from the text on first use (go-yaml v3, as kyaml reads documents).
    fn node_mut(&mut self) -> Result<&mut Node, String> {
        if self.node.is_none() {
            let parsed = helmfire_value::yaml::v3::first_document(&self.text)
                .map_err(|e| format!("a document of `{}` cannot be read: {}", self.meta.name, e.message))?;
            self.node = Some(parsed.unwrap_or_else(|| Node {
                tag: "!!null".into(),
                ..Node::default()
            }));
        }
        Ok(self.node.as_mut().expect("just parsed"))
    }

    /// Records a change: the head is read again from the node.
    fn touched(&mut self) {
        self.changed = true;
        if let Some(node) = &self.node {
            self.meta = kio::get_meta(node).0;
        }
    }

    /// Replaces the text with the node as `write` writes it (trimmed), and lets the node go.
    pub fn write_text(&mut self, write: impl FnOnce(Node) -> Result<String, String>) -> Result<(), String> {
        let mut text = write(self.node.take().unwrap_or_default())?;
        let end = text.trim_end().len();
        text.truncate(end);
        let start = text.len() - text.trim_start().len();
        text.drain(..start);
        self.text = text;
        Ok(())
    }

    /// The node, when parsed.
    pub fn into_node(self) -> Option<Node> {
        self.node
    }

    /// The head, the node (when parsed) and the original text.
    pub fn into_parts(self) -> (kio::Meta, Option<Node>, String) {
        (self.meta, self.node, self.text)
    }
}

impl Builtin {
    /// The state-file key this renderer was written as.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Builtin::Patches(_) => "patches",
            Builtin::JsonPatches(_) => "jsonPatches",
            Builtin::Images(_) => "images",
            Builtin::Metadata(_) => "commonLabels/commonAnnotations",
        }
    }

    /// Whether a target of this renderer selects objects by their labels.
    pub fn selects_by_labels(&self) -> bool {
        match self {
            Builtin::Patches(patches) => patches
                .iter()
                .any(|p| p.target.as_ref().is_some_and(|t| t.label_selector.is_some())),
            Builtin::JsonPatches(patches) => patches.iter().any(|p| p.target.label_selector.is_some()),
            Builtin::Images(_) | Builtin::Metadata(_) => false,
        }
    }

    /// Applies the renderer to `documents` (marking what it changes or deletes).
    pub fn apply(&self, documents: &mut [Doc], release_namespace: &str) -> Result<(), String> {
        match self {
            Builtin::Patches(patches) => {
                for patch in patches {
                    strategic::apply(patch, documents, release_namespace)?;
                }
            }
            Builtin::JsonPatches(patches) => {
                for patch in patches {
                    let selected = select(documents, &patch.target, release_namespace);
                    if selected.is_empty() {
                        return Err(no_match(&patch.target, &patch.location));
                    }
                    for index in selected {
                        let doc = &mut documents[index];
                        json_patch::apply(&patch.operations, doc.node_mut()?.body_mut())
                            .map_err(|e| format!("JSON patch at {}: {e}", patch.location))?;
                        doc.touched();
                    }
                }
            }
            Builtin::Images(images) => {
                let matchers = images::Matchers::new(images);
                for doc in documents.iter_mut().filter(|d| d.live()) {
                    // Only text that names an image can hold one to rewrite.
                    if doc.node.is_none() && !doc.text.contains("image") {
                        continue;
                    }
                    let kind = doc.meta.kind.clone();
                    if images::apply(&matchers, &kind, doc.node_mut()?) {
                        doc.touched();
                    }
                }
            }
            Builtin::Metadata(common) => {
                for doc in documents.iter_mut().filter(|d| d.live()) {
                    let meta = doc.meta.clone();
                    let node = doc.node_mut()?;
                    if node.body().kind == Kind::Mapping {
                        common.apply(node, &meta)?;
                        doc.touched();
                    }
                }
            }
        }
        Ok(())
    }
}

fn no_match(target: &Target, location: &str) -> String {
    format!(
        "target {} of the patch at {location} matched no object",
        target.describe()
    )
}

/// A document with nothing but comments, blank lines or a null.
fn is_blank(text: &str) -> bool {
    text.lines().all(|line| {
        let line = line.trim();
        line.is_empty() || line.starts_with('#') || matches!(line, "null" | "~" | "Null" | "NULL" | "---")
    })
}

/// Indices of the live documents `target` selects.
fn select(documents: &[Doc], target: &Target, release_namespace: &str) -> Vec<usize> {
    documents
        .iter()
        .enumerate()
        .filter(|(_, doc)| doc.live() && target.matches(&doc.meta, release_namespace))
        .map(|(i, _)| i)
        .collect()
}

/// A JSON value as a go-yaml v3 node, as kyaml builds nodes from Go values: strings are
/// `!!str` scalars (quoted on output when they would read as something else), numbers,
/// booleans and null plain scalars.
pub fn node_from_json(value: &serde_json::Value) -> Node {
    match value {
        serde_json::Value::Null => Node {
            tag: "!!null".into(),
            value: "null".to_string(),
            ..Node::default()
        },
        serde_json::Value::Bool(b) => Node::scalar(b.to_string()),
        serde_json::Value::Number(n) => Node::scalar(n.to_string()),
        serde_json::Value::String(s) => Node::string(s.clone()),
        serde_json::Value::Array(items) => Node {
            kind: Kind::Sequence,
            content: items.iter().map(node_from_json).collect(),
            ..Node::default()
        },
        serde_json::Value::Object(map) => Node {
            kind: Kind::Mapping,
            content: map
                .iter()
                .flat_map(|(k, v)| [Node::scalar(k.clone()), node_from_json(v)])
                .collect(),
            ..Node::default()
        },
    }
}

/// A node as JSON, with go-yaml v3's implicit types (what kyaml's `MarshalJSON` gives for
/// the fields JSON patch `test` compares). Aliases are followed.
pub fn node_to_json(node: &Node) -> serde_json::Value {
    use helmfire_value::yaml::v3::resolve::{Resolved, resolve};
    match node.kind {
        Kind::Document => node
            .content
            .first()
            .map(node_to_json)
            .unwrap_or(serde_json::Value::Null),
        Kind::Alias => node.alias().map(node_to_json).unwrap_or(serde_json::Value::Null),
        Kind::Sequence => serde_json::Value::Array(node.content.iter().map(node_to_json).collect()),
        Kind::Mapping => serde_json::Value::Object(
            node.content
                .chunks(2)
                .filter_map(|pair| match pair {
                    [k, v] => Some((k.value.clone(), node_to_json(v))),
                    _ => None,
                })
                .collect(),
        ),
        Kind::Scalar => {
            let tag = node.short_tag();
            if tag == "!!str" || tag == "!!timestamp" || tag == "!!binary" {
                return serde_json::Value::String(node.value.clone());
            }
            match resolve(&node.value) {
                Resolved::Null => serde_json::Value::Null,
                Resolved::Bool(b) => serde_json::Value::Bool(b),
                Resolved::Int(i) => serde_json::Value::from(i),
                Resolved::Uint(u) => serde_json::Value::from(u),
                Resolved::Float(f) => serde_json::Number::from_f64(f)
                    .map(serde_json::Value::Number)
                    .unwrap_or(serde_json::Value::Null),
                Resolved::Timestamp | Resolved::Str => serde_json::Value::String(node.value.clone()),
            }
        }
    }
}

/// kyaml's `IsYaml1_1NonString`: a plain string a YAML 1.1 reader would take for something
/// else (`on`, `y`, `1.0`); kyaml double-quotes such values when it sets them.
fn is_yaml11_non_string(value: &str) -> bool {
    if value.is_empty() || value.contains('\n') {
        return false;
    }
    // A word that starts with a letter no YAML 1.1 boolean or null starts with, and holds no
    // `: ` or ` #`, is a string without asking the decoder.
    let first = value.as_bytes()[0];
    if first.is_ascii_alphabetic()
        && !b"yYnNtTfFoO".contains(&first)
        && !value.contains(": ")
        && !value.ends_with(':')
        && !value.contains(" #")
    {
        return false;
    }
    !matches!(
        helmfire_value::yaml::decode(value),
        Ok(helmfire_value::Value::String(_)) | Err(_)
    )
}

/// kyaml's `IsStringValue`: a scalar tagged `!!str` or not tagged at all.
fn is_string_node(node: &Node) -> bool {
    node.kind == Kind::Scalar && (node.tag.is_empty() || node.tag == "!!str")
}

/// kyaml's `FieldSetter` for a scalar value: a new string that reads as something else under
/// YAML 1.1 is double-quoted; replacing an existing value keeps that value's style.
fn set_scalar_field(map: &mut Node, key: &str, mut value: Node) {
    if is_string_node(&value) && value.style.is_empty() && is_yaml11_non_string(&value.value) {
        value.style = Style::DOUBLE_QUOTED;
    }
    match map.field_index(key) {
        Some(index) => {
            let existing = &mut map.content[index + 1];
            value.style = existing.style;
            *existing = value;
        }
        None => {
            map.content.push(Node::scalar(key));
            map.content.push(value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_select_like_kustomize() {
        let nodes = crate::render::postrender::read_for_builtins(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  labels: {app: web}\n---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: other\n---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns\n",
        );
        let docs: Vec<Doc> = nodes.into_iter().map(Doc::from_node).collect();
        let target = |kind: Option<&str>, namespace: Option<&str>, labels: Option<&str>| Target {
            kind: kind.map(|k| Pattern::new(k).expect("regex")),
            namespace: namespace.map(|n| Pattern::new(n).expect("regex")),
            label_selector: labels.map(|l| Selector::new(l).expect("selector")),
            ..Target::default()
        };
        assert_eq!(select(&docs, &target(Some("Deploy.*"), None, None), "rel"), vec![0]);
        assert_eq!(select(&docs, &target(None, Some("rel"), None), "rel"), vec![0]);
        assert_eq!(select(&docs, &target(None, Some("other"), None), "rel"), vec![1]);
        assert_eq!(select(&docs, &target(None, None, Some("app in (web)")), "rel"), vec![0]);
        assert_eq!(
            select(&docs, &target(Some("Namespace"), Some(".+"), None), "rel"),
            Vec::<usize>::new()
        );
    }

    /// A pattern that means itself is compared, any other runs the anchored regex: both
    /// answer as the regex does.
    #[test]
    fn literal_patterns_match_as_their_regex_would() {
        let values = ["web", "Web", "web2", "xweb", "", "a.b", "axb", "my-app_1", "a b"];
        for text in [
            "web", "", "my-app_1", "a b", "a.b", "we.*", "(?i)web", "web|a.b", "[a-c]xb",
        ] {
            let pattern = Pattern::new(text).expect("regex");
            assert_eq!(pattern.literal, !text.contains(['.', '*', '(', '|', '[']), "{text}");
            for value in values {
                assert_eq!(
                    pattern.matches(value),
                    pattern.regex.is_match(value),
                    "{text} on {value}"
                );
            }
        }
    }

    #[test]
    fn json_values_become_kyaml_nodes() {
        let node = node_from_json(&serde_json::json!({"a": "true", "b": 1, "c": [null]}));
        assert_eq!(
            kio::node_string(&node).expect("encodes"),
            "a: \"true\"\nb: 1\nc:\n- null\n"
        );
        assert_eq!(
            node_to_json(&node),
            serde_json::json!({"a": "true", "b": 1, "c": [null]})
        );
    }

    #[test]
    fn yaml11_lookalikes_are_detected() {
        assert!(is_yaml11_non_string("on"));
        assert!(is_yaml11_non_string("1.0"));
        assert!(!is_yaml11_non_string("web"));
    }
}
