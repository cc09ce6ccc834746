//! The three non-apply PATCH formats: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and
//! strategic merge patch (merge keys from the schema, `$patch`, `$setElementOrder`,
//! `$deleteFromPrimitiveList`, `$retainKeys`). Pure functions; callers store results.

use serde_json::{Map, Value};

use super::schema::{self, Node};
use super::status::ApiError;

/// RFC 7386 merge patch.
pub fn merge_patch(target: &Value, patch: &Value) -> Value {
    match patch {
        Value::Object(p) => {
            let mut out = match target {
                Value::Object(t) => t.clone(),
                _ => Map::new(),
            };
            for (k, v) in p {
                if v.is_null() {
                    out.remove(k);
                } else {
                    let merged = merge_patch(out.get(k).unwrap_or(&Value::Null), v);
                    out.insert(k.clone(), merged);
                }
            }
            Value::Object(out)
        }
        _ => patch.clone(),
    }
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

fn pointer_parts(pointer: &str) -> Result<Vec<String>, ApiError> {
    if pointer.is_empty() {
        return Ok(Vec::new());
    }
    let rest = pointer
        .strip_prefix('/')
        .ok_or_else(|| ApiError::bad_request(format!("invalid JSON pointer `{pointer}`")))?;
    Ok(rest.split('/').map(unescape).collect())
}

fn parent_mut<'a>(doc: &'a mut Value, parts: &[String], pointer: &str) -> Result<&'a mut Value, ApiError> {
    let mut current = doc;
    for part in parts {
        current = match current {
            Value::Object(m) => m.get_mut(part),
            Value::Array(a) => part.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
            _ => None,
        }
        .ok_or_else(|| missing(pointer))?;
    }
    Ok(current)
}

fn missing(pointer: &str) -> ApiError {
    ApiError::new_unprocessable(format!(
        "the server rejected our request due to an error in our request: doc is missing path: \"{pointer}\""
    ))
}

fn add(doc: &mut Value, pointer: &str, value: Value) -> Result<(), ApiError> {
    let parts = pointer_parts(pointer)?;
    let Some((last, parents)) = parts.split_last() else {
        *doc = value;
        return Ok(());
    };
    match parent_mut(doc, parents, pointer)? {
        Value::Object(m) => {
            m.insert(last.clone(), value);
        }
        Value::Array(a) => {
            if last == "-" {
                a.push(value);
            } else {
                let i: usize = last.parse().map_err(|_| missing(pointer))?;
                if i > a.len() {
                    return Err(missing(pointer));
                }
                a.insert(i, value);
            }
        }
        _ => return Err(missing(pointer)),
    }
    Ok(())
}

fn remove(doc: &mut Value, pointer: &str) -> Result<Value, ApiError> {
    let parts = pointer_parts(pointer)?;
    let Some((last, parents)) = parts.split_last() else {
        return Err(missing(pointer));
    };
    match parent_mut(doc, parents, pointer)? {
        Value::Object(m) => m.remove(last).ok_or_else(|| missing(pointer)),
        Value::Array(a) => {
            let i: usize = last.parse().map_err(|_| missing(pointer))?;
            if i >= a.len() {
                return Err(missing(pointer));
            }
            Ok(a.remove(i))
        }
        _ => Err(missing(pointer)),
    }
}

fn get(doc: &Value, pointer: &str) -> Result<Value, ApiError> {
    doc.pointer(pointer).cloned().ok_or_else(|| missing(pointer))
}

/// RFC 6902 JSON patch.
pub fn json_patch(target: &Value, patch: &Value) -> Result<Value, ApiError> {
    let ops = patch
        .as_array()
        .ok_or_else(|| ApiError::bad_request("json patch must be an array of operations"))?;
    let mut doc = target.clone();
    for op in ops {
        let path = op["path"]
            .as_str()
            .ok_or_else(|| ApiError::bad_request("json patch operation without `path`"))?;
        match op["op"].as_str() {
            Some("add") => add(&mut doc, path, op["value"].clone())?,
            Some("remove") => {
                remove(&mut doc, path)?;
            }
            Some("replace") if path.is_empty() => doc = op["value"].clone(),
            Some("replace") => {
                remove(&mut doc, path)?;
                add(&mut doc, path, op["value"].clone())?;
            }
            Some("move") => {
                let from = op["from"]
                    .as_str()
                    .ok_or_else(|| ApiError::bad_request("move without `from`"))?;
                let value = remove(&mut doc, from)?;
                add(&mut doc, path, value)?;
            }
            Some("copy") => {
                let from = op["from"]
                    .as_str()
                    .ok_or_else(|| ApiError::bad_request("copy without `from`"))?;
                let value = get(&doc, from)?;
                add(&mut doc, path, value)?;
            }
            Some("test") => {
                if get(&doc, path)? != op["value"] {
                    return Err(ApiError::new_unprocessable(format!(
                        "the server rejected our request due to an error in our request: testing value {path} failed"
                    )));
                }
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown json patch operation `{}`",
                    other.unwrap_or("")
                )));
            }
        }
    }
    Ok(doc)
}

/// Strategic merge patch for built-in kinds.
pub fn strategic_merge_patch(target: &Value, patch: &Value, node: &Node) -> Result<Value, ApiError> {
    let Value::Object(p) = patch else {
        return Err(ApiError::bad_request("strategic merge patch must be an object"));
    };
    let mut out = match target {
        Value::Object(t) => t.clone(),
        _ => Map::new(),
    };
    match p.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            let mut replaced = p.clone();
            replaced.remove("$patch");
            return Ok(Value::Object(replaced));
        }
        Some("delete") => return Ok(Value::Object(Map::new())),
        _ => {}
    }
    if let Some(Value::Array(keep)) = p.get("$retainKeys") {
        let keep: Vec<&str> = keep.iter().filter_map(Value::as_str).collect();
        out.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (k, v) in p {
        if k.starts_with("$setElementOrder/") || k == "$retainKeys" || k == "$patch" {
            continue;
        }
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(existing)), Value::Array(drop)) = (out.get_mut(field), v) {
                existing.retain(|item| !drop.contains(item));
            }
            continue;
        }
        let child = schema::field(node, k);
        if v.is_null() {
            out.remove(k);
            continue;
        }
        let merged = match (out.get(k), v) {
            (Some(existing @ Value::Object(_)), Value::Object(_)) => match &*child {
                Node::Map(_) | Node::Ref(_) | Node::Struct(_) | Node::Any => {
                    strategic_merge_patch(existing, v, &child)?
                }
                _ => v.clone(),
            },
            (existing, Value::Array(items)) => merge_list(existing, items, &child)?,
            (_, Value::Object(_)) => strategic_merge_patch(&Value::Null, v, &child)?,
            _ => v.clone(),
        };
        out.insert(k.clone(), merged);
    }
    for (k, order) in p {
        if let Some(field) = k.strip_prefix("$setElementOrder/")
            && let (Some(Value::Array(items)), Value::Array(order)) = (out.get_mut(field), order)
        {
            reorder(items, order, &schema::field(node, field));
        }
    }
    Ok(Value::Object(out))
}

fn merge_list(existing: Option<&Value>, patch: &[Value], node: &Node) -> Result<Value, ApiError> {
    let Node::List(list) = node else {
        return Ok(Value::Array(patch.to_vec()));
    };
    let merging = list
        .patch_strategy
        .as_deref()
        .is_some_and(|s| s.split(',').any(|p| p == "merge"));
    if !merging {
        return Ok(Value::Array(patch.to_vec()));
    }
    let mut out: Vec<Value> = existing.and_then(Value::as_array).cloned().unwrap_or_default();
    if patch
        .iter()
        .any(|item| item.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        return Ok(Value::Array(
            patch.iter().filter(|i| i.get("$patch").is_none()).cloned().collect(),
        ));
    }
    match &list.merge_key {
        Some(key) => {
            for item in patch {
                let id = item.get(key);
                let position = out.iter().position(|e| e.get(key) == id && id.is_some());
                if item.get("$patch").and_then(Value::as_str) == Some("delete") {
                    if let Some(i) = position {
                        out.remove(i);
                    }
                    continue;
                }
                match position {
                    Some(i) => out[i] = strategic_merge_patch(&out[i], item, &list.items)?,
                    None => out.push(strategic_merge_patch(&Value::Null, item, &list.items)?),
                }
            }
        }
        None => {
            for item in patch {
                if !out.contains(item) {
                    out.push(item.clone());
                }
            }
        }
    }
    Ok(Value::Array(out))
}

fn reorder(items: &mut [Value], order: &[Value], node: &Node) {
    let key = match node {
        Node::List(list) => list.merge_key.clone(),
        _ => None,
    };
    let identity = |v: &Value| -> Value {
        match &key {
            Some(k) => v.get(k).cloned().unwrap_or(Value::Null),
            None => v.clone(),
        }
    };
    let wanted: Vec<Value> = order.iter().map(identity).collect();
    items.sort_by_key(|item| {
        let id = identity(item);
        wanted.iter().position(|w| *w == id).unwrap_or(usize::MAX)
    });
}

impl ApiError {
    /// 422 for patches that cannot be applied to the document.
    pub fn new_unprocessable(message: String) -> Self {
        ApiError {
            code: 422,
            reason: "Invalid",
            message,
            details: serde_json::json!({}),
            retry_after: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_deletes_nulls() {
        let out = merge_patch(
            &json!({"a": 1, "b": {"c": 2, "d": 3}}),
            &json!({"a": null, "b": {"c": 5}}),
        );
        assert_eq!(out, json!({"b": {"c": 5, "d": 3}}));
    }

    #[test]
    fn json_patch_ops() {
        let doc = json!({"metadata": {"finalizers": ["x"], "name": "a"}});
        let out = json_patch(
            &doc,
            &json!([{"op": "remove", "path": "/metadata/finalizers"},
            {"op": "add", "path": "/metadata/labels", "value": {"a/b": "1"}},
            {"op": "replace", "path": "/metadata/labels/a~1b", "value": "2"}]),
        )
        .expect("applies");
        assert_eq!(out, json!({"metadata": {"name": "a", "labels": {"a/b": "2"}}}));
        let error = json_patch(&doc, &json!([{"op": "remove", "path": "/nope"}])).expect_err("missing");
        assert_eq!(error.code, 422);
    }

    #[test]
    fn strategic_patch_merges_containers_by_name() {
        let node = schema::builtin_kind("apps", "v1", "Deployment");
        let live = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "web", "image": "nginx:1.27", "ports": [{"containerPort": 80}]},
            {"name": "side", "image": "busybox"}]}}}});
        let patch = json!({"spec": {"template": {"spec": {"$setElementOrder/containers": [{"name": "side"}, {"name": "web"}],
            "containers": [{"image": "nginx:1.28", "name": "web"}]}}}});
        let out = strategic_merge_patch(&live, &patch, &node).expect("applies");
        assert_eq!(
            out["spec"]["template"]["spec"]["containers"],
            json!([{"name": "side", "image": "busybox"}, {"name": "web", "image": "nginx:1.28", "ports": [{"containerPort": 80}]}])
        );
    }

    #[test]
    fn strategic_patch_directives() {
        let node = schema::builtin_kind("apps", "v1", "Deployment");
        let live = json!({"spec": {"template": {"spec": {"containers": [{"name": "a"}, {"name": "b"}]}}}});
        let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "$patch": "delete"}]}}}});
        let out = strategic_merge_patch(&live, &patch, &node).expect("applies");
        assert_eq!(out["spec"]["template"]["spec"]["containers"], json!([{"name": "b"}]));
        let live = json!({"metadata": {"finalizers": ["a", "b"]}});
        let out = strategic_merge_patch(
            &live,
            &json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
            &node,
        )
        .expect("applies");
        assert_eq!(out["metadata"]["finalizers"], json!(["b"]));
    }
}
