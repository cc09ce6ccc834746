//! Kubernetes object shapes: which fields exist, which lists are maps keyed by which fields,
//! sets or atomic, which structs are atomic, and each list's strategic-merge-patch strategy and
//! merge key. Built-in kinds come from `schema.json` (generated from the Kubernetes OpenAPI by
//! `scripts/gen-sandbox-schema.py`); CRs from their CRD's openAPIV3Schema. Only describes;
//! merging lives with whoever merges. Also label selectors ([`selector`]), which the same two
//! layers match objects with.
//!
//! A crate of its own because two layers read the same table and neither may depend on the
//! other: the sandbox (server-side apply, strategic merge patch, field validation) and the
//! estate library's built-in post-renderer `patches` (kustomize-style strategic merge). One
//! generated table, one reader: a second copy of the merge keys would drift.

#![forbid(unsafe_code)]

pub mod selector;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;
use serde_json::value::RawValue;

/// The shape of one value.
#[derive(Debug, Clone)]
pub enum Node {
    /// A named built-in struct type, resolved through the generated table.
    Ref(Arc<str>),
    /// A struct described inline (CRD schemas).
    Struct(Arc<Struct>),
    /// A string-keyed map whose values have one shape.
    Map(Box<Node>),
    /// A list.
    List(Arc<List>),
    /// A scalar (string, number, bool, quantity, time, int-or-string).
    Scalar,
    /// Anything (unknown shape, preserved as is).
    Any,
}

/// A struct type: named fields.
#[derive(Debug, Clone, Default)]
pub struct Struct {
    /// Field shapes by name.
    pub fields: BTreeMap<String, Node>,
    /// Replaced as a unit by apply (`x-kubernetes-map-type: atomic`).
    pub atomic: bool,
    /// Unknown fields are kept (`x-kubernetes-preserve-unknown-fields` or no properties).
    pub open: bool,
}

/// How a list merges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListType {
    /// Replaced as a whole.
    Atomic,
    /// A set of scalars.
    Set,
    /// A map keyed by the named fields.
    Map(Vec<String>),
}

/// A list's shape and merge semantics.
#[derive(Debug, Clone)]
pub struct List {
    /// Element shape.
    pub items: Node,
    /// Server-side apply semantics.
    pub list_type: ListType,
    /// Strategic-merge-patch merge key, when the patch strategy is `merge`.
    pub merge_key: Option<String>,
    /// Strategic-merge-patch strategy (`merge`, `retainKeys`, `merge,retainKeys`).
    pub patch_strategy: Option<String>,
}

struct Table {
    /// `group/version/Kind` → the name of its type (a JSON string).
    kinds: HashMap<&'static str, &'static RawValue>,
    /// Every type's JSON as generated, unparsed: a type is read and turned into a [`Struct`]
    /// the first time it is looked up. A patch of one Deployment needs a dozen of the table's
    /// types, and reading all of the 75 KB table into JSON values cost every process that
    /// patches about a millisecond; finding where each type's text lies costs a tenth of that.
    raw_types: HashMap<&'static str, &'static RawValue>,
    types: Mutex<HashMap<String, Arc<Struct>>>,
}

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        // The table is generated and checked in; a parse failure is a build defect that the
        // unit tests below catch, so an empty table is a safe fallback at run time.
        type Sections = HashMap<&'static str, HashMap<&'static str, &'static RawValue>>;
        let mut raw: Sections = serde_json::from_str(include_str!("schema.json")).unwrap_or_default();
        Table {
            kinds: raw.remove("kinds").unwrap_or_default(),
            raw_types: raw.remove("types").unwrap_or_default(),
            types: Mutex::new(HashMap::new()),
        }
    })
}

impl Table {
    /// A named built-in struct type.
    fn get(&self, name: &str) -> Option<Arc<Struct>> {
        let cached = |types: &HashMap<String, Arc<Struct>>| types.get(name).cloned();
        if let Some(found) = cached(&self.types.lock().unwrap_or_else(|p| p.into_inner())) {
            return Some(found);
        }
        let raw: Value = serde_json::from_str(self.raw_types.get(name)?.get()).ok()?;
        let fields = raw["f"]
            .as_object()
            .map(|f| {
                f.iter()
                    .map(|(field, node)| (field.clone(), from_table_node(node)))
                    .collect()
            })
            .unwrap_or_default();
        let converted = Arc::new(Struct {
            fields,
            atomic: raw["atomic"].as_bool().unwrap_or(false),
            open: raw["any"].as_bool().unwrap_or(false),
        });
        let mut types = self.types.lock().unwrap_or_else(|p| p.into_inner());
        Some(types.entry(name.to_string()).or_insert(converted).clone())
    }
}

fn from_table_node(node: &Value) -> Node {
    if let Some(name) = node["t"].as_str() {
        Node::Ref(Arc::from(name))
    } else if node.get("m").is_some() {
        Node::Map(Box::new(from_table_node(&node["m"])))
    } else if node.get("l").is_some() {
        let keys: Vec<String> = node["k"]
            .as_array()
            .map(|a| a.iter().filter_map(|k| k.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        let list_type = match node["lt"].as_str() {
            Some("set") => ListType::Set,
            Some("map") => ListType::Map(keys),
            _ => ListType::Atomic,
        };
        Node::List(Arc::new(List {
            items: from_table_node(&node["l"]),
            list_type,
            merge_key: node["mk"].as_str().map(str::to_string),
            patch_strategy: node["ps"].as_str().map(str::to_string),
        }))
    } else if node.get("s").is_some() {
        Node::Scalar
    } else {
        Node::Any
    }
}

/// The schema of a built-in kind, or `Any` when the table does not know it.
pub fn builtin_kind(group: &str, version: &str, kind: &str) -> Node {
    let name = table()
        .kinds
        .get(format!("{group}/{version}/{kind}").as_str())
        .and_then(|raw| serde_json::from_str::<&str>(raw.get()).ok());
    match name {
        Some(name) => Node::Ref(Arc::from(name)),
        None => Node::Any,
    }
}

/// The object metadata type (for CRs, whose schemas omit it).
fn object_meta() -> Node {
    Node::Ref(Arc::from("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"))
}

/// Converts a CRD's structural schema; `metadata` always gets the real ObjectMeta shape.
pub fn from_openapi_v3(schema: &Value) -> Node {
    match convert(schema) {
        Node::Struct(s) => {
            let mut s = (*s).clone();
            s.fields.insert("metadata".into(), object_meta());
            s.fields.insert("apiVersion".into(), Node::Scalar);
            s.fields.insert("kind".into(), Node::Scalar);
            Node::Struct(Arc::new(s))
        }
        _ => {
            let mut s = Struct {
                open: true,
                ..Struct::default()
            };
            s.fields.insert("metadata".into(), object_meta());
            Node::Struct(Arc::new(s))
        }
    }
}

fn convert(schema: &Value) -> Node {
    if schema["x-kubernetes-int-or-string"].as_bool() == Some(true) {
        return Node::Scalar;
    }
    match schema["type"].as_str() {
        Some("object") => {
            if let Some(props) = schema["properties"].as_object() {
                Node::Struct(Arc::new(Struct {
                    fields: props.iter().map(|(k, v)| (k.clone(), convert(v))).collect(),
                    atomic: schema["x-kubernetes-map-type"].as_str() == Some("atomic"),
                    open: schema["x-kubernetes-preserve-unknown-fields"].as_bool() == Some(true),
                }))
            } else if schema["additionalProperties"].is_object() {
                Node::Map(Box::new(convert(&schema["additionalProperties"])))
            } else {
                Node::Any
            }
        }
        Some("array") => {
            let keys: Vec<String> = schema["x-kubernetes-list-map-keys"]
                .as_array()
                .map(|a| a.iter().filter_map(|k| k.as_str().map(str::to_string)).collect())
                .unwrap_or_default();
            let list_type = match schema["x-kubernetes-list-type"].as_str() {
                Some("set") => ListType::Set,
                Some("map") if !keys.is_empty() => ListType::Map(keys),
                _ => ListType::Atomic,
            };
            Node::List(Arc::new(List {
                items: convert(&schema["items"]),
                list_type,
                merge_key: None,
                patch_strategy: None,
            }))
        }
        Some(_) => Node::Scalar,
        None => Node::Any,
    }
}

/// A struct view of a node, resolving references.
pub fn as_struct(node: &Node) -> Option<Arc<Struct>> {
    match node {
        Node::Ref(name) => table().get(name),
        Node::Struct(s) => Some(s.clone()),
        _ => None,
    }
}

/// `node` with a reference to a built-in type resolved, so that looking up many of its fields
/// resolves the reference once (an unknown reference is `Any`, as its fields would be).
pub fn resolved(node: &Node) -> Node {
    match node {
        Node::Ref(_) => as_struct(node).map_or(Node::Any, Node::Struct),
        other => other.clone(),
    }
}

/// The shape of a named field of a struct node (`Any` when unknown or open), borrowed from
/// `node` unless it is a reference to resolve ([`resolved`] first when looking up many).
pub fn field<'n>(node: &'n Node, name: &str) -> Cow<'n, Node> {
    match node {
        Node::Map(inner) => Cow::Borrowed(inner),
        Node::Any | Node::Scalar | Node::List(_) => Cow::Owned(Node::Any),
        Node::Struct(s) => s.fields.get(name).map_or(Cow::Owned(Node::Any), Cow::Borrowed),
        Node::Ref(_) => Cow::Owned(
            as_struct(node)
                .and_then(|s| s.fields.get(name).cloned())
                .unwrap_or(Node::Any),
        ),
    }
}

/// Paths of fields not declared in the schema (strict field validation), like
/// `.spec.foo`. Open structs, maps and `Any` accept anything.
pub fn unknown_fields(value: &Value, node: &Node) -> Vec<String> {
    let mut out = Vec::new();
    walk_unknown(value, node, String::new(), &mut out);
    out
}

fn walk_unknown(value: &Value, node: &Node, path: String, out: &mut Vec<String>) {
    match (value, node) {
        (Value::Object(map), Node::Map(inner)) => {
            for (k, v) in map {
                walk_unknown(v, inner, format!("{path}.{k}"), out);
            }
        }
        (Value::Object(map), Node::Ref(_) | Node::Struct(_)) => {
            let Some(s) = as_struct(node) else { return };
            for (k, v) in map {
                match s.fields.get(k) {
                    Some(child) => walk_unknown(v, child, format!("{path}.{k}"), out),
                    None if s.open || s.fields.is_empty() => {}
                    None => out.push(format!("{path}.{k}")),
                }
            }
        }
        (Value::Array(items), Node::List(list)) => {
            for (i, v) in items.iter().enumerate() {
                walk_unknown(v, &list.items, format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// Drops fields the schema does not declare (what a real server does for built-in kinds under
/// `fieldValidation=Warn|Ignore`).
pub fn prune_unknown(value: &mut Value, node: &Node) {
    match (value, node) {
        (Value::Object(map), Node::Map(inner)) => {
            for v in map.values_mut() {
                prune_unknown(v, inner);
            }
        }
        (Value::Object(map), Node::Ref(_) | Node::Struct(_)) => {
            let Some(s) = as_struct(node) else { return };
            if s.open || s.fields.is_empty() {
                return;
            }
            map.retain(|k, _| s.fields.contains_key(k));
            for (k, v) in map.iter_mut() {
                if let Some(child) = s.fields.get(k) {
                    prune_unknown(v, child);
                }
            }
        }
        (Value::Array(items), Node::List(list)) => {
            for v in items.iter_mut() {
                prune_unknown(v, &list.items);
            }
        }
        _ => {}
    }
}

/// Values whose JSON type contradicts the schema (an object where a string belongs, a string
/// where a list belongs), as `(path, expected)`. Such bodies are rejected before any code walks
/// into them.
pub fn type_errors(value: &Value, node: &Node) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    walk_types(value, node, String::new(), &mut out);
    out
}

fn walk_types(value: &Value, node: &Node, path: String, out: &mut Vec<(String, &'static str)>) {
    if value.is_null() {
        return;
    }
    match node {
        Node::Ref(_) | Node::Struct(_) => {
            let Some(map) = value.as_object() else {
                out.push((path, "object"));
                return;
            };
            let Some(s) = as_struct(node) else { return };
            for (k, v) in map {
                if let Some(child) = s.fields.get(k) {
                    walk_types(v, child, format!("{path}.{k}"), out);
                }
            }
        }
        Node::Map(inner) => {
            let Some(map) = value.as_object() else {
                out.push((path, "object"));
                return;
            };
            for (k, v) in map {
                walk_types(v, inner, format!("{path}.{k}"), out);
            }
        }
        Node::List(list) => {
            let Some(items) = value.as_array() else {
                out.push((path, "array"));
                return;
            };
            for (i, v) in items.iter().enumerate() {
                walk_types(v, &list.items, format!("{path}[{i}]"), out);
            }
        }
        Node::Scalar => {
            if value.is_object() || value.is_array() {
                out.push((path, "scalar"));
            }
        }
        Node::Any => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_kind_and_every_referenced_type_resolves() {
        let table = table();
        assert!(
            table.kinds.len() > 30 && table.raw_types.len() > 100,
            "the generated table parses"
        );
        fn refs(node: &Node, out: &mut Vec<String>) {
            match node {
                Node::Ref(name) => out.push(name.to_string()),
                Node::Map(inner) => refs(inner, out),
                Node::List(list) => refs(&list.items, out),
                _ => {}
            }
        }
        for (kind, name) in &table.kinds {
            let name: &str = serde_json::from_str(name.get()).expect("a type name");
            assert!(table.get(name).is_some(), "{kind} -> {name}");
        }
        for name in table.raw_types.keys() {
            let found = table.get(name).expect("converts");
            let mut named = Vec::new();
            found.fields.values().for_each(|node| refs(node, &mut named));
            for inner in named {
                assert!(table.get(&inner).is_some(), "{name} refers to missing {inner}");
            }
        }
    }

    #[test]
    fn containers_are_a_map_keyed_by_name() {
        let deployment = builtin_kind("apps", "v1", "Deployment");
        let template = field(&deployment, "spec").into_owned();
        let spec = field(&field(&template, "template"), "spec").into_owned();
        let Node::List(containers) = field(&spec, "containers").into_owned() else {
            panic!("containers must be a list")
        };
        assert_eq!(containers.list_type, ListType::Map(vec!["name".into()]));
        assert_eq!(containers.merge_key.as_deref(), Some("name"));
    }

    #[test]
    fn label_selector_is_atomic() {
        let deployment = builtin_kind("apps", "v1", "Deployment");
        let spec = field(&deployment, "spec").into_owned();
        let selector = field(&spec, "selector");
        assert!(as_struct(&selector).is_some_and(|s| s.atomic));
    }

    #[test]
    fn pruning_drops_only_undeclared_fields() {
        let cm = builtin_kind("", "v1", "ConfigMap");
        let mut object = json!({"metadata": {"name": "x", "bogus": 1, "labels": {"any": "label"}}, "data": {"a": "1"}, "extra": true});
        prune_unknown(&mut object, &cm);
        assert_eq!(
            object,
            json!({"metadata": {"name": "x", "labels": {"any": "label"}}, "data": {"a": "1"}})
        );
    }

    #[test]
    fn type_errors_name_the_path() {
        let deployment = builtin_kind("apps", "v1", "Deployment");
        let object =
            json!({"metadata": {"labels": "x"}, "spec": {"replicas": {}, "template": {"spec": {"containers": {}}}}});
        assert_eq!(
            type_errors(&object, &deployment),
            vec![
                (".metadata.labels".to_string(), "object"),
                (".spec.replicas".to_string(), "scalar"),
                (".spec.template.spec.containers".to_string(), "array"),
            ]
        );
    }

    #[test]
    fn unknown_fields_are_reported_with_paths() {
        let cm = builtin_kind("", "v1", "ConfigMap");
        let object = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "bogus": 1}, "data": {"a": "1"}, "extra": true});
        assert_eq!(
            unknown_fields(&object, &cm),
            vec![".extra".to_string(), ".metadata.bogus".to_string()]
        );
    }
}
