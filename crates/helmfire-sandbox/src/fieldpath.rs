//! Field paths and field sets in server-side apply's `FieldsV1` form (`f:`, `k:`, `v:`, `i:`,
//! `.`), computed from objects through their schema. Pure data; ownership rules are in `managed`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::schema::{self, ListType, Node};

/// A path of `FieldsV1` elements, e.g. `["f:spec", "f:containers", "k:{\"name\":\"web\"}"]`.
pub type Path = Vec<String>;

/// Every path of an object: leaves carry their value, members (maps, list items) carry `None`.
pub type Flat = BTreeMap<Path, Option<Value>>;

/// Which part of an object a write covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The main resource, status included (no status subresource).
    Everything,
    /// The main resource of a kind with a status subresource: `status` is not the writer's.
    WithoutStatus,
    /// The `/status` subresource: only `status`.
    StatusOnly,
}

const SERVER_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// How sets mark maps and lists themselves. Upstream's Apply sets hold leaves and list items
/// only (`"f:data":{"f:a":{}}`); Update sets, computed by diffing against an empty object, also
/// own the maps and lists they introduced (`"f:data":{".":{},"f:a":{}}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// The applied configuration's own fields.
    Apply,
    /// Fields an update introduced.
    Update,
}

/// Flattens an object's user-owned fields.
pub fn flatten(object: &Value, node: &Node, scope: Scope, style: Style) -> Flat {
    let mut out = Flat::new();
    let Some(map) = object.as_object() else {
        return out;
    };
    for (key, value) in map {
        let include = match (key.as_str(), scope) {
            ("apiVersion" | "kind", _) => false,
            ("status", Scope::WithoutStatus) => false,
            ("status", Scope::StatusOnly) => true,
            (_, Scope::StatusOnly) => false,
            _ => true,
        };
        if !include {
            continue;
        }
        let child = schema::field(node, key);
        let path = vec![format!("f:{key}")];
        if key == "metadata" {
            if let Some(meta) = value.as_object() {
                for (mk, mv) in meta {
                    if SERVER_METADATA.contains(&mk.as_str()) {
                        continue;
                    }
                    let mut p = path.clone();
                    p.push(format!("f:{mk}"));
                    walk(mv, &schema::field(&child, mk), p, style, &mut out);
                }
            }
            continue;
        }
        walk(value, &child, path, style, &mut out);
    }
    out
}

/// The `k:` element of a list-map item: its key fields, with `protocol` defaulted to TCP as the
/// server defaults it before merging.
pub fn item_key(item: &Value, keys: &[String]) -> String {
    let mut key = Map::new();
    for k in keys {
        match item.get(k) {
            Some(v) if !v.is_null() => {
                key.insert(k.clone(), v.clone());
            }
            _ if k == "protocol" => {
                key.insert(k.clone(), Value::String("TCP".into()));
            }
            _ => {}
        }
    }
    format!("k:{}", Value::Object(key))
}

fn container(path: &Path, empty: bool, style: Style, out: &mut Flat) {
    if style == Style::Update || empty {
        out.insert(path.clone(), None);
    }
}

fn walk(value: &Value, node: &Node, path: Path, style: Style, out: &mut Flat) {
    match (value, node) {
        (Value::Object(map), Node::Map(inner)) => {
            container(&path, map.is_empty(), style, out);
            for (k, v) in map {
                let mut p = path.clone();
                p.push(format!("f:{k}"));
                walk(v, inner, p, style, out);
            }
        }
        (Value::Object(map), Node::Ref(_) | Node::Struct(_) | Node::Any) if !map.is_empty() => {
            let structure = schema::as_struct(node);
            if structure.as_ref().is_some_and(|s| s.atomic) {
                out.insert(path, Some(value.clone()));
                return;
            }
            for (k, v) in map {
                let mut p = path.clone();
                p.push(format!("f:{k}"));
                walk(v, &schema::field(node, k), p, style, out);
            }
        }
        (Value::Array(items), Node::List(list)) => match &list.list_type {
            ListType::Set => {
                container(&path, items.is_empty(), style, out);
                for item in items {
                    let mut p = path.clone();
                    p.push(format!("v:{item}"));
                    out.insert(p, Some(item.clone()));
                }
            }
            ListType::Map(keys) => {
                container(&path, items.is_empty(), style, out);
                for item in items {
                    let mut p = path.clone();
                    p.push(item_key(item, keys));
                    out.insert(p.clone(), None);
                    if let Some(map) = item.as_object() {
                        for (k, v) in map {
                            let mut child = p.clone();
                            child.push(format!("f:{k}"));
                            walk(v, &schema::field(&list.items, k), child, style, out);
                        }
                    }
                }
            }
            ListType::Atomic => {
                out.insert(path, Some(value.clone()));
            }
        },
        _ => {
            out.insert(path, Some(value.clone()));
        }
    }
}

#[derive(Default)]
struct Trie {
    member: bool,
    children: BTreeMap<String, Trie>,
}

impl Trie {
    fn to_json(&self) -> Value {
        let mut map = Map::new();
        if self.member && !self.children.is_empty() {
            map.insert(".".into(), Value::Object(Map::new()));
        }
        for (k, v) in &self.children {
            map.insert(k.clone(), v.to_json());
        }
        Value::Object(map)
    }
}

/// Renders a set as a `fieldsV1` object.
pub fn to_fields_v1(set: &BTreeSet<Path>) -> Value {
    let mut root = Trie::default();
    for path in set {
        let mut node = &mut root;
        for element in path {
            node = node.children.entry(element.clone()).or_default();
        }
        node.member = true;
    }
    root.to_json()
}

/// Parses a `fieldsV1` object into a set (malformed parts are ignored).
pub fn from_fields_v1(value: &Value) -> BTreeSet<Path> {
    let mut out = BTreeSet::new();
    fn go(value: &Value, path: &mut Path, out: &mut BTreeSet<Path>) {
        let Some(map) = value.as_object() else { return };
        if map.is_empty() && !path.is_empty() {
            out.insert(path.clone());
        }
        for (k, v) in map {
            if k == "." {
                out.insert(path.clone());
                continue;
            }
            path.push(k.clone());
            go(v, path, out);
            path.pop();
        }
    }
    go(value, &mut Vec::new(), &mut out);
    out
}

/// `.spec.containers[name="web"].image`, the form conflict messages use.
pub fn display(path: &Path) -> String {
    let mut out = String::new();
    for element in path {
        if let Some(field) = element.strip_prefix("f:") {
            out.push('.');
            out.push_str(field);
        } else if let Some(key) = element.strip_prefix("k:") {
            let parsed: Value = serde_json::from_str(key).unwrap_or(Value::Null);
            let parts: Vec<String> = parsed
                .as_object()
                .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect())
                .unwrap_or_default();
            out.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(value) = element.strip_prefix("v:") {
            out.push_str(&format!("[={value}]"));
        } else if let Some(index) = element.strip_prefix("i:") {
            out.push_str(&format!("[{index}]"));
        }
    }
    out
}

/// Removes the value at `path` from `object`; returns whether something was removed.
pub fn remove(object: &mut Value, path: &[String]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut current = object;
    for element in parents {
        match step_mut(current, element) {
            Some(next) => current = next,
            None => return false,
        }
    }
    if let Some(field) = last.strip_prefix("f:") {
        return current.as_object_mut().is_some_and(|m| m.remove(field).is_some());
    }
    let Some(items) = current.as_array_mut() else {
        return false;
    };
    match items.iter().position(|item| element_matches(item, last, 0)) {
        Some(i) => {
            items.remove(i);
            true
        }
        None => false,
    }
}

fn element_matches(item: &Value, element: &str, _index: usize) -> bool {
    if let Some(key) = element.strip_prefix("k:") {
        let Ok(Value::Object(key)) = serde_json::from_str::<Value>(key) else {
            return false;
        };
        key.iter().all(|(k, v)| match item.get(k) {
            Some(actual) => actual == v,
            None => k == "protocol" && v == "TCP",
        })
    } else if let Some(value) = element.strip_prefix("v:") {
        serde_json::from_str::<Value>(value).is_ok_and(|v| &v == item)
    } else {
        false
    }
}

fn step_mut<'a>(value: &'a mut Value, element: &str) -> Option<&'a mut Value> {
    if let Some(field) = element.strip_prefix("f:") {
        return value.as_object_mut()?.get_mut(field);
    }
    if let Some(index) = element.strip_prefix("i:") {
        return value.as_array_mut()?.get_mut(index.parse::<usize>().ok()?);
    }
    value
        .as_array_mut()?
        .iter_mut()
        .find(|item| element_matches(item, element, 0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Node {
        schema::builtin_kind("apps", "v1", "Deployment")
    }

    #[test]
    fn deployment_fields_match_upstream_shape() {
        let object = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "x", "labels": {"app": "x"}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "x"}},
              "template": {"metadata": {"labels": {"app": "x"}},
                "spec": {"containers": [{"name": "web", "image": "nginx", "ports": [{"containerPort": 80}]}]}}},
            "status": {"replicas": 1}});
        let set: BTreeSet<Path> = flatten(&object, &deployment(), Scope::WithoutStatus, Style::Apply)
            .into_keys()
            .collect();
        let fields = to_fields_v1(&set);
        assert_eq!(
            fields,
            json!({"f:metadata": {"f:labels": {"f:app": {}}},
              "f:spec": {"f:replicas": {}, "f:selector": {},
                "f:template": {"f:metadata": {"f:labels": {"f:app": {}}},
                  "f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {".": {}, "f:image": {}, "f:name": {},
                    "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}}}}}}})
        );
        assert_eq!(from_fields_v1(&fields), set);
        let update: BTreeSet<Path> = flatten(&object, &deployment(), Scope::WithoutStatus, Style::Update)
            .into_keys()
            .collect();
        assert_eq!(
            to_fields_v1(&update)["f:metadata"],
            json!({"f:labels": {".": {}, "f:app": {}}})
        );
    }

    #[test]
    fn removes_list_map_items_by_key() {
        let mut object = json!({"spec": {"containers": [{"name": "a"}, {"name": "b"}]}});
        let path: Path = vec!["f:spec".into(), "f:containers".into(), "k:{\"name\":\"b\"}".into()];
        assert!(remove(&mut object, &path));
        assert_eq!(object, json!({"spec": {"containers": [{"name": "a"}]}}));
        assert_eq!(display(&path), ".spec.containers[name=\"b\"]");
    }
}
