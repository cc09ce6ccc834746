//! RFC 6902 JSON patches on a document's node tree, with the behaviour of
//! `gopkg.in/evanphx/json-patch.v4` that kustomize uses: `add` to `-` or to index `-1`
//! appends, `replace` of a missing object key adds it, negative indices count from the end,
//! and the error texts are that library's.

use helmfire_value::yaml::v3::{Kind, Node};

use super::{node_from_json, node_to_json};

/// An operation's name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperationKind {
    Add,
    Remove,
    Replace,
    Move,
    Copy,
    Test,
}

impl OperationKind {
    /// The `op` spelling, `None` for anything else.
    pub fn parse(text: &str) -> Option<OperationKind> {
        Some(match text {
            "add" => OperationKind::Add,
            "remove" => OperationKind::Remove,
            "replace" => OperationKind::Replace,
            "move" => OperationKind::Move,
            "copy" => OperationKind::Copy,
            "test" => OperationKind::Test,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            OperationKind::Add => "add",
            OperationKind::Remove => "remove",
            OperationKind::Replace => "replace",
            OperationKind::Move => "move",
            OperationKind::Copy => "copy",
            OperationKind::Test => "test",
        }
    }
}

/// One operation, validated when the state file was loaded.
#[derive(Clone, Debug, PartialEq)]
pub struct Operation {
    pub op: OperationKind,
    /// The JSON pointer as written (`/metadata/labels/team`).
    pub path: String,
    /// `from` of `move` and `copy`.
    pub from: Option<String>,
    /// `value` of `add`, `replace` and `test`.
    pub value: Option<serde_json::Value>,
}

/// evanphx's `findObject`: the container of the last token, and that token. `None` when the
/// path has fewer than two `/`-parts or a step is missing.
fn find_object<'n>(doc: &'n mut Node, path: &str) -> Option<(&'n mut Node, String)> {
    let parts: Vec<&str> = path.split('/').collect();
    if parts.len() < 2 {
        return None;
    }
    let key = decode(parts[parts.len() - 1]);
    let mut current = doc;
    for part in &parts[1..parts.len() - 1] {
        let token = decode(part);
        current = match current.kind {
            Kind::Mapping => current.get_mut(&token)?,
            Kind::Sequence => {
                let index = array_index(&token, current.content.len(), false).ok()?;
                current.content.get_mut(index)?
            }
            _ => return None,
        };
        if !matches!(current.kind, Kind::Mapping | Kind::Sequence) {
            return None;
        }
    }
    Some((current, key))
}

fn decode(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn invalid_index(token: &str) -> String {
    format!("Unable to access invalid index: {token}: invalid index referenced")
}

/// An index into an array of `len` elements; `insert` allows `len` (and `-1` as `len`).
fn array_index(token: &str, len: usize, insert: bool) -> Result<usize, String> {
    let index: i64 = token.parse().map_err(|_| invalid_index(token))?;
    let size = if insert { len as i64 + 1 } else { len as i64 };
    if index >= size || index < -size {
        return Err(invalid_index(token));
    }
    Ok(if index < 0 {
        (index + size) as usize
    } else {
        index as usize
    })
}

/// `get`: the value at `key` of a container (an object's missing key is `None`).
fn get(container: &Node, key: &str) -> Result<Option<Node>, String> {
    match container.kind {
        Kind::Mapping => Ok(container.get(key).cloned()),
        _ => {
            let index = array_index(key, container.content.len(), false)?;
            Ok(container.content.get(index).cloned())
        }
    }
}

/// `add`: set an object key (replacing), or insert into an array.
fn add(container: &mut Node, key: &str, value: Node) -> Result<(), String> {
    match container.kind {
        Kind::Mapping => {
            match container.field_index(key) {
                Some(index) => container.content[index + 1] = value,
                None => {
                    container.content.push(Node::scalar(key));
                    container.content.push(value);
                }
            }
            Ok(())
        }
        _ => {
            if key == "-" {
                container.content.push(value);
                return Ok(());
            }
            let index = array_index(key, container.content.len(), true)?;
            container.content.insert(index, value);
            Ok(())
        }
    }
}

fn remove(container: &mut Node, key: &str) -> Result<(), String> {
    match container.kind {
        Kind::Mapping => match container.field_index(key) {
            Some(index) => {
                container.content.drain(index..index + 2);
                Ok(())
            }
            None => Err(format!("Unable to remove nonexistent key: {key}: missing value")),
        },
        _ => {
            let index = array_index(key, container.content.len(), false)?;
            container.content.remove(index);
            Ok(())
        }
    }
}

fn missing(op: OperationKind, what: &str, path: &str) -> String {
    format!(
        "{} operation does not apply: doc is missing {what}: {path:?}: missing value",
        op.name()
    )
}

/// Applies `operations` in order to `doc` (an object's root mapping).
pub(super) fn apply(operations: &[Operation], doc: &mut Node) -> Result<(), String> {
    for operation in operations {
        apply_one(operation, doc)?;
    }
    Ok(())
}

fn apply_one(operation: &Operation, doc: &mut Node) -> Result<(), String> {
    let path = operation.path.as_str();
    let value = || {
        operation
            .value
            .as_ref()
            .map(node_from_json)
            .unwrap_or_else(|| node_from_json(&serde_json::Value::Null))
    };
    match operation.op {
        OperationKind::Add => {
            let (container, key) = find_object(doc, path).ok_or_else(|| missing(operation.op, "path", path))?;
            add(container, &key, value()).map_err(|e| format!("error in add for path: '{path}': {e}"))
        }
        OperationKind::Remove => {
            let (container, key) = find_object(doc, path).ok_or_else(|| missing(operation.op, "path", path))?;
            remove(container, &key).map_err(|e| format!("error in remove for path: '{path}': {e}"))
        }
        OperationKind::Replace => {
            let (container, key) = find_object(doc, path).ok_or_else(|| missing(operation.op, "path", path))?;
            if container.kind == Kind::Sequence {
                let index = array_index(&key, container.content.len(), false).map_err(|_| {
                    format!("replace operation does not apply: doc is missing key: {path}: missing value")
                })?;
                container.content[index] = value();
                Ok(())
            } else {
                add(container, &key, value()).map_err(|e| format!("error in replace for path: '{path}': {e}"))
            }
        }
        OperationKind::Move | OperationKind::Copy => {
            let from = operation.from.as_deref().unwrap_or("");
            let (container, key) = find_object(doc, from).ok_or_else(|| missing(operation.op, "from path", from))?;
            let moved = get(container, &key)
                .map_err(|e| format!("error in {} for path: '{from}': {e}", operation.op.name()))?
                .unwrap_or_else(|| node_from_json(&serde_json::Value::Null));
            if operation.op == OperationKind::Move {
                remove(container, &key).map_err(|e| format!("error in move for path: '{from}': {e}"))?;
            }
            let (container, key) =
                find_object(doc, path).ok_or_else(|| missing(operation.op, "destination path", path))?;
            add(container, &key, moved).map_err(|e| format!("error in {} for path: '{path}': {e}", operation.op.name()))
        }
        OperationKind::Test => {
            let (container, key) = find_object(doc, path)
                .ok_or_else(|| format!("test operation does not apply: is missing path: {path}: missing value"))?;
            let actual = get(container, &key).map_err(|e| format!("error in test for path: '{path}': {e}"))?;
            let expected = operation.value.clone().unwrap_or(serde_json::Value::Null);
            let matches = match actual {
                None => expected.is_null(),
                Some(actual) => node_to_json(&actual) == expected,
            };
            if matches {
                Ok(())
            } else {
                Err(format!("testing value {path} failed: test failed"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::postrender::kio;

    fn patched(ops: serde_json::Value) -> Result<String, String> {
        let mut docs = crate::render::postrender::read_for_builtins(
            "kind: Deployment\nmetadata:\n  name: web # keep\nspec:\n  containers:\n  - name: a\n  - name: b\n  - name: c\n",
        );
        let operations: Vec<Operation> = ops
            .as_array()
            .expect("array")
            .iter()
            .map(|o| Operation {
                op: OperationKind::parse(o["op"].as_str().expect("op")).expect("known op"),
                path: o["path"].as_str().expect("path").to_string(),
                from: o.get("from").and_then(|f| f.as_str()).map(str::to_string),
                value: o.get("value").cloned(),
            })
            .collect();
        apply(&operations, docs[0].body_mut())?;
        Ok(kio::string_all(docs).expect("writes"))
    }

    #[test]
    fn operations_follow_evanphx_v4() {
        let out = patched(serde_json::json!([
            {"op": "add", "path": "/spec/containers/-1", "value": {"name": "d"}},
            {"op": "replace", "path": "/metadata/labels", "value": {"a/b": "x"}},
            {"op": "remove", "path": "/spec/containers/0"},
            {"op": "move", "from": "/spec/containers/0", "path": "/spec/containers/-"},
            {"op": "test", "path": "/metadata/name", "value": "web"}
        ]))
        .expect("applies");
        assert_eq!(
            out,
            "kind: Deployment\nmetadata:\n  name: web # keep\n  labels:\n    a/b: x\nspec:\n  containers:\n  - name: c\n  - name: d\n  - name: b\n"
        );
    }

    #[test]
    fn failures_use_library_texts() {
        let err = patched(serde_json::json!([{"op": "add", "path": "/spec/containers/7", "value": 1}])).unwrap_err();
        assert_eq!(
            err,
            "error in add for path: '/spec/containers/7': Unable to access invalid index: 7: invalid index referenced"
        );
        let err = patched(serde_json::json!([{"op": "add", "path": "/spec/nosuch/deeper", "value": 1}])).unwrap_err();
        assert_eq!(
            err,
            "add operation does not apply: doc is missing path: \"/spec/nosuch/deeper\": missing value"
        );
        let err = patched(serde_json::json!([{"op": "remove", "path": "/spec/nosuch"}])).unwrap_err();
        assert_eq!(
            err,
            "error in remove for path: '/spec/nosuch': Unable to remove nonexistent key: nosuch: missing value"
        );
        let err = patched(serde_json::json!([{"op": "test", "path": "/metadata/name", "value": "x"}])).unwrap_err();
        assert_eq!(err, "testing value /metadata/name failed: test failed");
    }
}
