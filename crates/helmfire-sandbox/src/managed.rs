//! Field ownership (`metadata.managedFields`) and server-side apply: who owns which fields,
//! conflicts (409) and `force`, schema-driven merging, and removal of fields a manager stopped
//! applying. Pure functions over JSON values; the caller stores the result.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::clock;
use super::fieldpath::{self, Flat, Path, Scope, Style};
use super::resources::ResourceType;
use super::schema::{self, ListType, Node};
use super::status::ApiError;

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Manager {
    /// Manager name (`helm`, `kubectl`, ...).
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// apiVersion the manager wrote with.
    pub api_version: String,
    /// When this manager last changed something (absent on `/scale` entries, as upstream's
    /// scale handler writes them, and after a no-op apply).
    pub time: Option<String>,
    /// `status` for subresource writes.
    pub subresource: Option<String>,
    /// Owned fields.
    pub fields: BTreeSet<Path>,
}

impl Manager {
    fn same_writer(&self, name: &str, operation: &str, subresource: Option<&str>) -> bool {
        self.manager == name && self.operation == operation && self.subresource.as_deref() == subresource
    }

    /// How conflict messages name this manager (upstream's `printManager`):
    /// `"kubectl" with subresource "scale" using apps/v1`; `using` only for Update entries.
    fn describe(&self) -> String {
        let mut text = format!("\"{}\"", self.manager);
        if let Some(sub) = &self.subresource {
            text.push_str(&format!(" with subresource \"{sub}\""));
        }
        if self.operation == "Update" {
            text.push_str(&format!(" using {}", self.api_version));
        }
        text
    }
}

/// Reads `metadata.managedFields`.
pub fn managers(object: &Value) -> Vec<Manager> {
    object["metadata"]["managedFields"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .map(|e| Manager {
                    manager: e["manager"].as_str().unwrap_or_default().to_string(),
                    operation: e["operation"].as_str().unwrap_or("Update").to_string(),
                    api_version: e["apiVersion"].as_str().unwrap_or_default().to_string(),
                    time: e["time"].as_str().filter(|t| !t.is_empty()).map(str::to_string),
                    subresource: e["subresource"].as_str().map(str::to_string),
                    fields: fieldpath::from_fields_v1(&e["fieldsV1"]),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Writes `metadata.managedFields`, dropping managers that own nothing.
pub fn set_managers(object: &mut Value, managers: &[Manager]) {
    let entries: Vec<Value> = managers
        .iter()
        .filter(|m| !m.fields.is_empty())
        .map(|m| {
            let mut e = json!({"manager": m.manager, "operation": m.operation, "apiVersion": m.api_version,
                "fieldsType": "FieldsV1", "fieldsV1": fieldpath::to_fields_v1(&m.fields)});
            if let Some(time) = &m.time {
                e["time"] = json!(time);
            }
            if let Some(sub) = &m.subresource {
                e["subresource"] = json!(sub);
            }
            e
        })
        .collect();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        if entries.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(entries));
        }
    }
}

fn scope_for(resource: &ResourceType, subresource: Option<&str>) -> Scope {
    match subresource {
        Some("status") => Scope::StatusOnly,
        _ if resource.status_subresource => Scope::WithoutStatus,
        _ => Scope::Everything,
    }
}

/// Records a non-apply write (create/update/patch) by `manager`: it takes the fields it changed
/// away from everyone else. When the write itself replaced managedFields (clients migrating
/// ownership), those entries are the starting point.
pub fn track_update(
    old: Option<&Value>,
    new: &mut Value,
    resource: &ResourceType,
    manager: &str,
    subresource: Option<&str>,
) {
    let old_managers = old.map(managers).unwrap_or_default();
    let incoming = managers(new);
    let explicit = new["metadata"].get("managedFields").is_some() && incoming != old_managers;
    let mut list = if explicit { incoming } else { old_managers };
    let scope = scope_for(resource, subresource);
    let flat_new = fieldpath::flatten(new, &resource.schema, scope, Style::Update);
    let flat_old = old
        .map(|o| fieldpath::flatten(o, &resource.schema, scope, Style::Update))
        .unwrap_or_default();
    let changed: BTreeSet<Path> = flat_new
        .iter()
        .filter(|(p, v)| flat_old.get(*p) != Some(*v))
        .map(|(p, _)| p.clone())
        .collect();
    let removed: BTreeSet<Path> = flat_old
        .keys()
        .filter(|p| !flat_new.contains_key(*p))
        .cloned()
        .collect();
    for m in list.iter_mut() {
        m.fields.retain(|p| !changed.contains(p) && !removed.contains(p));
    }
    // A pure removal leaves no trace: the writer gains nothing, so it gets no entry and no time.
    if !changed.is_empty() {
        let api_version = resource.api_version();
        match list.iter_mut().find(|m| m.same_writer(manager, "Update", subresource)) {
            Some(m) => {
                m.fields.extend(changed);
                m.time = Some(clock::now_rfc3339());
                m.api_version = api_version;
            }
            None => list.push(Manager {
                manager: manager.to_string(),
                operation: "Update".into(),
                api_version,
                time: Some(clock::now_rfc3339()),
                subresource: subresource.map(str::to_string),
                fields: changed,
            }),
        }
    }
    set_managers(new, &list);
}

/// Records a write of `spec.replicas` through the `/scale` subresource, as upstream's
/// `ScaleHandler.ToParent` does: when the value changes, every other entry loses
/// `spec.replicas` and `manager` owns it in an Update entry with subresource `scale`, at the
/// parent's apiVersion and **without a time**.
pub fn track_scale(live: &Value, new: &mut Value, resource: &ResourceType, manager: &str) {
    let mut list = managers(live);
    if live["spec"]["replicas"] != new["spec"]["replicas"] {
        let replicas: Path = vec!["f:spec".into(), "f:replicas".into()];
        for m in list.iter_mut() {
            m.fields.remove(&replicas);
        }
        match list
            .iter_mut()
            .find(|m| m.same_writer(manager, "Update", Some("scale")))
        {
            Some(m) => {
                m.fields.insert(replicas);
            }
            None => list.push(Manager {
                manager: manager.to_string(),
                operation: "Update".into(),
                api_version: resource.api_version(),
                time: None,
                subresource: Some("scale".into()),
                fields: BTreeSet::from([replicas]),
            }),
        }
    }
    set_managers(new, &list);
}

/// Merges an applied configuration into a live object per the schema (maps and structs by key,
/// list-maps by their keys, sets by union, everything else replaced).
pub fn merge(live: &Value, applied: &Value, node: &Node) -> Value {
    match (live, applied) {
        (Value::Object(l), Value::Object(a)) => {
            if schema::as_struct(node).is_some_and(|s| s.atomic) {
                return applied.clone();
            }
            let mut out = l.clone();
            for (k, v) in a {
                let child = schema::field(node, k);
                let merged = match l.get(k) {
                    Some(existing) => merge(existing, v, &child),
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(l), Value::Array(a)) => {
            let Node::List(list) = node else {
                return applied.clone();
            };
            match &list.list_type {
                ListType::Set => {
                    let mut out = l.clone();
                    for item in a {
                        if !out.contains(item) {
                            out.push(item.clone());
                        }
                    }
                    Value::Array(out)
                }
                ListType::Map(keys) => {
                    let mut out = l.clone();
                    for item in a {
                        let key = fieldpath::item_key(item, keys);
                        match out
                            .iter_mut()
                            .find(|existing| fieldpath::item_key(existing, keys) == key)
                        {
                            Some(existing) => *existing = merge(existing, item, &list.items),
                            None => out.push(item.clone()),
                        }
                    }
                    Value::Array(out)
                }
                ListType::Atomic => applied.clone(),
            }
        }
        _ => applied.clone(),
    }
}

/// Server-side apply of `applied` by `manager` onto `live` (None: create). Returns the new
/// object (managedFields updated) or a 409 listing the conflicts.
pub fn apply(
    live: Option<&Value>,
    applied: &Value,
    resource: &ResourceType,
    manager: &str,
    force: bool,
    subresource: Option<&str>,
) -> Result<Value, ApiError> {
    let scope = scope_for(resource, subresource);
    let mut applied = applied.clone();
    if let Some(map) = applied.as_object_mut() {
        match scope {
            Scope::WithoutStatus => {
                map.remove("status");
            }
            Scope::StatusOnly => {
                map.retain(|k, _| k == "status" || k == "metadata" || k == "apiVersion" || k == "kind")
            }
            Scope::Everything => {}
        }
    }
    let flat_applied: Flat = fieldpath::flatten(&applied, &resource.schema, scope, Style::Apply);
    let empty = json!({});
    let live_value = live.unwrap_or(&empty);
    let flat_live = fieldpath::flatten(live_value, &resource.schema, scope, Style::Update);
    let mut list = managers(live_value);

    let mut conflicts: Vec<(String, String)> = Vec::new();
    let mut conflicting: Vec<(usize, Path)> = Vec::new();
    for (i, m) in list.iter().enumerate() {
        // Upstream's identities include the operation: the applier's own Update entry (a
        // client-side write by the same name) conflicts like anyone else's.
        if m.same_writer(manager, "Apply", subresource) {
            continue;
        }
        for (path, value) in &flat_applied {
            let Some(value) = value else { continue };
            if m.fields.contains(path) && flat_live.get(path) != Some(&Some(value.clone())) {
                conflicts.push((fieldpath::display(path), m.describe()));
                conflicting.push((i, path.clone()));
            }
        }
    }
    // Upstream's last-applied manager: objects created by client-side apply may be taken over
    // by server-side apply without --force-conflicts when the conflicting fields are exactly
    // what the last-applied-configuration annotation recorded (the kubectl migration path).
    let from_last_applied = !conflicts.is_empty()
        && live_value["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .and_then(|text| serde_json::from_str::<Value>(text).ok())
            .is_some_and(|last| {
                let last = fieldpath::flatten(&last, &resource.schema, scope, Style::Update);
                conflicting.iter().all(|(_, p)| last.contains_key(p))
            });
    if !conflicts.is_empty() {
        if !force && !from_last_applied {
            return Err(ApiError::apply_conflicts(&conflicts));
        }
        for (i, path) in conflicting {
            list[i].fields.remove(&path);
        }
    }

    let mut result = merge(live_value, &applied, &resource.schema);
    let new_set: BTreeSet<Path> = flat_applied.keys().cloned().collect();
    let previous: BTreeSet<Path> = list
        .iter()
        .find(|m| m.same_writer(manager, "Apply", subresource))
        .map(|m| m.fields.clone())
        .unwrap_or_default();
    let others: Vec<&Manager> = list
        .iter()
        .filter(|m| !m.same_writer(manager, "Apply", subresource))
        .collect();
    let mut dropped: Vec<&Path> = previous.difference(&new_set).collect();
    // Deepest paths first so list indices and parents stay valid while removing.
    dropped.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for path in dropped {
        let owned_elsewhere = others.iter().any(|m| m.fields.iter().any(|p| p.starts_with(path)))
            || new_set.iter().any(|p| p.starts_with(path));
        if !owned_elsewhere {
            fieldpath::remove(&mut result, path);
        }
    }

    let api_version = resource.api_version();
    match list.iter_mut().find(|m| m.same_writer(manager, "Apply", subresource)) {
        Some(m) => {
            m.fields = new_set;
            m.time = Some(clock::now_rfc3339());
            m.api_version = api_version;
        }
        None => list.push(Manager {
            manager: manager.to_string(),
            operation: "Apply".into(),
            api_version,
            time: Some(clock::now_rfc3339()),
            subresource: subresource.map(str::to_string),
            fields: new_set,
        }),
    }
    set_managers(&mut result, &list);
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::builtin;

    fn cm(data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "default"}, "data": data})
    }

    #[test]
    fn apply_creates_and_records_ownership() {
        let r = builtin("", "configmaps").expect("served");
        let out = apply(None, &cm(json!({"a": "1"})), &r, "helm", false, None).expect("applies");
        let m = managers(&out);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].operation, "Apply");
        assert_eq!(
            out["metadata"]["managedFields"][0]["fieldsV1"],
            json!({"f:data": {"f:a": {}}})
        );
    }

    #[test]
    fn conflicting_apply_is_409_unless_forced() {
        let r = builtin("", "configmaps").expect("served");
        let live = apply(None, &cm(json!({"a": "1"})), &r, "one", false, None).expect("applies");
        let error = apply(Some(&live), &cm(json!({"a": "2"})), &r, "two", false, None).expect_err("conflicts");
        assert_eq!(error.code, 409);
        assert_eq!(
            error.message,
            "Apply failed with 1 conflict: conflict with \"one\": .data.a"
        );
        // Same value: shared ownership, no conflict.
        apply(Some(&live), &cm(json!({"a": "1"})), &r, "two", false, None).expect("shares");
        let forced = apply(Some(&live), &cm(json!({"a": "2"})), &r, "two", true, None).expect("forced");
        assert_eq!(forced["data"]["a"], "2");
        let a: Path = vec!["f:data".into(), "f:a".into()];
        let owners: Vec<String> = managers(&forced)
            .into_iter()
            .filter(|m| m.fields.contains(&a))
            .map(|m| m.manager)
            .collect();
        assert_eq!(owners, vec!["two"]);
    }

    #[test]
    fn fields_dropped_from_an_apply_are_removed_unless_owned_elsewhere() {
        let r = builtin("", "configmaps").expect("served");
        let live = apply(None, &cm(json!({"a": "1", "b": "2"})), &r, "helm", false, None).expect("applies");
        let mut edited = live.clone();
        edited["data"]["c"] = json!("3");
        track_update(Some(&live), &mut edited, &r, "kubectl-edit", None);
        let out = apply(Some(&edited), &cm(json!({"a": "1"})), &r, "helm", false, None).expect("applies");
        assert_eq!(out["data"], json!({"a": "1", "c": "3"}));
    }

    #[test]
    fn list_maps_merge_by_key() {
        let r = builtin("apps", "deployments").expect("served");
        let live = json!({"spec": {"template": {"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]}}}});
        let applied = json!({"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "3"}]}}}});
        let merged = merge(&live, &applied, &r.schema);
        assert_eq!(
            merged["spec"]["template"]["spec"]["containers"],
            json!([{"name": "a", "image": "1"}, {"name": "b", "image": "3"}])
        );
    }

    #[test]
    fn updates_take_fields_from_other_managers() {
        let r = builtin("", "configmaps").expect("served");
        let live = apply(None, &cm(json!({"a": "1"})), &r, "helm", false, None).expect("applies");
        let mut new = live.clone();
        new["data"]["a"] = json!("9");
        track_update(Some(&live), &mut new, &r, "kubectl-edit", None);
        let m = managers(&new);
        let a: Path = vec!["f:data".into(), "f:a".into()];
        let owners: Vec<&str> = m
            .iter()
            .filter(|m| m.fields.contains(&a))
            .map(|m| m.manager.as_str())
            .collect();
        assert_eq!(owners, vec!["kubectl-edit"]);
    }

    #[test]
    fn a_scale_moves_replicas_to_a_timeless_scale_entry() {
        let r = builtin("apps", "deployments").expect("served");
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default"}, "spec": {"replicas": 2, "paused": false}});
        let live = apply(None, &deployment, &r, "helm", false, None).expect("applies");
        let mut scaled = live.clone();
        scaled["spec"]["replicas"] = json!(5);
        track_scale(&live, &mut scaled, &r, "kubectl");
        let entries = managers(&scaled);
        let replicas: Path = vec!["f:spec".into(), "f:replicas".into()];
        let scale = entries.iter().find(|m| m.fields.contains(&replicas)).expect("owned");
        assert_eq!(
            (
                scale.manager.as_str(),
                scale.operation.as_str(),
                scale.subresource.as_deref()
            ),
            ("kubectl", "Update", Some("scale"))
        );
        assert_eq!(scale.time, None);
        assert_eq!(scale.api_version, "apps/v1");
        assert!(scaled["metadata"]["managedFields"][1].get("time").is_none());
        // helm's apply of the old value now conflicts, naming the scale subresource.
        let error = apply(Some(&scaled), &deployment, &r, "helm", false, None).expect_err("conflicts");
        assert_eq!(
            error.message,
            "Apply failed with 1 conflict: conflict with \"kubectl\" with subresource \"scale\" using apps/v1: .spec.replicas"
        );
        // Scaling to the same value changes no ownership.
        let mut again = scaled.clone();
        track_scale(&scaled, &mut again, &r, "other");
        assert_eq!(managers(&again), entries);
    }

    #[test]
    fn a_removal_gives_the_writer_no_entry_and_no_time() {
        let r = builtin("", "configmaps").expect("served");
        let live = apply(None, &cm(json!({"a": "1", "b": "2"})), &r, "helm", false, None).expect("applies");
        let mut removed = live.clone();
        removed["data"].as_object_mut().unwrap().remove("b");
        track_update(Some(&live), &mut removed, &r, "kubectl-patch", None);
        let entries = managers(&removed);
        assert_eq!(entries.len(), 1, "{entries:?}");
        assert_eq!(entries[0].manager, "helm");
    }

    #[test]
    fn the_appliers_own_update_entry_conflicts_like_anyone_elses() {
        let r = builtin("", "configmaps").expect("served");
        let mut live = cm(json!({"a": "1"}));
        track_update(None, &mut live, &r, "helm", None);
        let error = apply(Some(&live), &cm(json!({"a": "2"})), &r, "helm", false, None).expect_err("conflicts");
        assert!(
            error.message.contains("conflict with \"helm\" using v1: .data.a"),
            "{}",
            error.message
        );
        let forced = apply(Some(&live), &cm(json!({"a": "2"})), &r, "helm", true, None).expect("forced");
        let a: Path = vec!["f:data".into(), "f:a".into()];
        let owners: Vec<(String, String)> = managers(&forced)
            .into_iter()
            .filter(|m| m.fields.contains(&a))
            .map(|m| (m.manager, m.operation))
            .collect();
        assert_eq!(owners, vec![("helm".to_string(), "Apply".to_string())]);
    }
}
