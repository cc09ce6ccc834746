//! Drift: where the live cluster differs from a release's recorded state, over the fields the
//! release manages, and who changed each field.
//!
//! The live object is compared with the server's answer to a dry-run apply of the recorded
//! object (`observe::live`): both come from the same server, so defaulting, formatting,
//! conversion and other managers' fields are the same on both sides and never count. What is
//! compared:
//! - `metadata.labels` and `metadata.annotations`: keys the record sets that live lacks or
//!   holds another value for (labels others added are theirs, not drift);
//! - everything else but `metadata`, `status`, `apiVersion` and `kind`: values the record would
//!   set differently, fields the record sets that are gone, and fields the record would remove
//!   (helm owns them but the record no longer has them).
//!
//! Lists whose items all carry a unique `name` are compared item by item by name (containers,
//! env, volumes…), so a reorder is not drift; other lists by position. Each difference is
//! attributed from the live object's `managedFields`: the entries other than helm's own that
//! own the field (or an atomic parent of it), newest first — their manager, operation,
//! subresource and time, which the API server records per entry. Ignore rules (Argo CD's
//! `ignoreDifferences` shape) remove JSON pointers from both sides and drop changes owned by
//! listed managers. Secret values are never kept: a changed `data` key says only that it
//! changed. Pure: no cluster access, no printing.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::{Map, Value as Json};

use crate::manifest::ObjectKey;
use crate::observe::live::{LiveState, ObservedObject};
pub use crate::state::IgnoreRule;

/// Managers that are the release itself: helm and helmfire apply as `helm`; helm before 3.7
/// recorded its User-Agent prefix `Helm`.
const RELEASE_MANAGERS: [&str; 2] = ["helm", "Helm"];

/// The drift of one release: its drifted objects (an empty list means in sync).
#[derive(Clone, Debug, Serialize)]
pub struct ReleaseDrift {
    /// How the release is named in output: `namespace/name`, prefixed with its kube context
    /// when the state file's releases use several.
    pub id: String,
    /// The kube context the release lives in (`None`: the kubeconfig's current one).
    pub context: Option<String>,
    pub name: String,
    pub namespace: String,
    /// The deployed revision the cluster was compared with.
    pub revision: i32,
    pub objects: Vec<ObjectDrift>,
}

impl ReleaseDrift {
    /// The release's id, as output shows it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Names the release as the state file does: `id` and the kube context it lives in.
    pub fn labelled(mut self, id: String, context: Option<String>) -> ReleaseDrift {
        self.id = id;
        self.context = context;
        self
    }

    pub fn drifted(&self) -> bool {
        !self.objects.is_empty()
    }
}

/// How an object drifted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectState {
    /// Fields differ.
    Modified,
    /// The object is gone.
    Missing,
}

/// One drifted object.
#[derive(Clone, Debug, Serialize)]
pub struct ObjectDrift {
    #[serde(skip)]
    pub key: ObjectKey,
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub state: ObjectState,
    /// The drifted fields (empty when missing).
    pub fields: Vec<FieldDrift>,
}

/// How a field differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldChange {
    /// Live holds another value.
    Changed,
    /// The record sets it; live lacks it.
    Removed,
    /// Live has it; the record would remove it (helm owned it before).
    Added,
}

/// One drifted field.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDrift {
    /// `spec.template.spec.containers[name="web"].image`.
    pub path: String,
    /// RFC 6901 pointer into the live object (into the recorded one when live lacks the field).
    pub pointer: String,
    pub change: FieldChange,
    /// What the record makes it; absent when hidden or when the record does not set it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorded: Option<Json>,
    /// What live holds; absent when hidden or when live lacks it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub live: Option<Json>,
    /// A Secret value: only the fact that it changed is kept.
    pub hidden: bool,
    /// The managers that own the live field, newest first (none: unknown, e.g. a removal).
    pub changed_by: Vec<ChangedBy>,
}

/// A `managedFields` entry that owns a drifted field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangedBy {
    pub manager: String,
    pub operation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subresource: Option<String>,
    /// When the manager last changed the object (absent: the server recorded none, as for
    /// `/scale` writes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
}

/// Whether a rule applies to an object: group and kind by glob, name and namespace exactly.
fn applies(rule: &IgnoreRule, key: &ObjectKey) -> bool {
    rule.group.as_deref().is_none_or(|g| glob(g, &key.group))
        && rule.kind.as_deref().is_none_or(|k| glob(k, &key.kind))
        && rule.name.as_deref().is_none_or(|n| n == key.name)
        && rule
            .namespace
            .as_deref()
            .is_none_or(|n| key.namespace.as_deref() == Some(n))
}

/// `*` (any run) and `?` (one character) globs, as Argo CD's group and kind patterns.
fn glob(pattern: &str, text: &str) -> bool {
    fn matches(p: &[char], t: &[char]) -> bool {
        match (p.first(), t.first()) {
            (None, None) => true,
            (Some('*'), _) => matches(&p[1..], t) || (!t.is_empty() && matches(p, &t[1..])),
            (Some('?'), Some(_)) => matches(&p[1..], &t[1..]),
            (Some(a), Some(b)) if a == b => matches(&p[1..], &t[1..]),
            _ => false,
        }
    }
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    matches(&p, &t)
}

/// One step into an object.
#[derive(Clone, Debug, PartialEq)]
enum Step {
    Field(String),
    /// A list item matched by `name`; the item itself, for `managedFields` keys.
    Named {
        name: String,
        item: Json,
        index: usize,
    },
    Index(usize),
}

/// One difference before attribution.
struct Difference {
    steps: Vec<Step>,
    live: Option<Json>,
    recorded: Option<Json>,
}

/// The drift of a release's observed objects under `rules`.
pub fn release_drift(
    name: &str,
    namespace: &str,
    revision: i32,
    observed: &[ObservedObject],
    rules: &[IgnoreRule],
) -> ReleaseDrift {
    let objects = observed
        .iter()
        .filter_map(|object| object_drift(object, rules))
        .collect();
    ReleaseDrift {
        id: format!("{namespace}/{name}"),
        context: None,
        name: name.to_string(),
        namespace: namespace.to_string(),
        revision,
        objects,
    }
}

/// The drift of one object, `None` when in sync.
pub fn object_drift(object: &ObservedObject, rules: &[IgnoreRule]) -> Option<ObjectDrift> {
    analyse(object, rules).0
}

/// The JSON pointers (into the live object) whose live values correcting this object must keep:
/// those its ignore rules name, and changes owned by the managers they list.
pub fn kept_by_rules(object: &ObservedObject, rules: &[IgnoreRule]) -> Vec<String> {
    let mut kept: Vec<String> = rules
        .iter()
        .filter(|rule| applies(rule, &object.key))
        .flat_map(|rule| rule.json_pointers.iter().cloned())
        .collect();
    kept.extend(analyse(object, rules).1);
    kept
}

/// The drift of one object and the pointers of the changes ignored because of their owner.
fn analyse(object: &ObservedObject, rules: &[IgnoreRule]) -> (Option<ObjectDrift>, Vec<String>) {
    let recorded = &object.recorded;
    let drift = |state, fields| ObjectDrift {
        key: object.key.clone(),
        api_version: recorded.api_version.clone(),
        kind: recorded.kind.clone(),
        namespace: recorded.namespace.clone(),
        name: recorded.name.clone(),
        state,
        fields,
    };
    let (live, predicted) = match &object.state {
        LiveState::Missing => return (Some(drift(ObjectState::Missing, Vec::new())), Vec::new()),
        LiveState::InSync => return (None, Vec::new()),
        LiveState::Present { live, predicted } => (live, predicted),
    };
    let rules: Vec<&IgnoreRule> = rules.iter().filter(|rule| applies(rule, &object.key)).collect();
    let (mut live_view, mut predicted_view) = (live.clone(), predicted.clone());
    for pointer in rules.iter().flat_map(|rule| &rule.json_pointers) {
        remove_pointer(&mut live_view, pointer);
        remove_pointer(&mut predicted_view, pointer);
    }
    let mut differences = Vec::new();
    compare_object(&live_view, &predicted_view, &mut differences);
    let entries = managed_entries(live);
    let secret = recorded.is_secret();
    let ignored_managers: BTreeSet<&str> = rules
        .iter()
        .flat_map(|rule| rule.managed_fields_managers.iter().map(String::as_str))
        .collect();
    let mut ignored = Vec::new();
    let fields: Vec<FieldDrift> = differences
        .into_iter()
        .filter_map(|difference| {
            let changed_by = attribute(&entries, &difference.steps);
            let change = match (&difference.live, &difference.recorded) {
                (Some(_), Some(_)) => FieldChange::Changed,
                (None, _) => FieldChange::Removed,
                (Some(_), None) => FieldChange::Added,
            };
            // Argo: a listed manager's changes to fields both sides have are not drift.
            if change == FieldChange::Changed
                && changed_by
                    .iter()
                    .any(|owner| ignored_managers.contains(owner.manager.as_str()))
            {
                ignored.push(pointer(&difference.steps));
                return None;
            }
            let hidden = secret && is_secret_value(&difference.steps);
            Some(FieldDrift {
                path: display(&difference.steps),
                pointer: pointer(&difference.steps),
                change,
                recorded: difference.recorded.filter(|_| !hidden),
                live: difference.live.filter(|_| !hidden),
                hidden,
                changed_by,
            })
        })
        .collect();
    (
        (!fields.is_empty()).then(|| drift(ObjectState::Modified, fields)),
        ignored,
    )
}

/// Secret `data`/`stringData` values, and the last-applied annotation (it repeats them).
fn is_secret_value(steps: &[Step]) -> bool {
    match steps {
        [Step::Field(first), ..] if first == "data" || first == "stringData" => true,
        [Step::Field(m), Step::Field(a), Step::Field(key), ..] => {
            m == "metadata" && a == "annotations" && key == "kubectl.kubernetes.io/last-applied-configuration"
        }
        _ => false,
    }
}

/// Top level: labels and annotations the record sets, then everything but server-owned parts.
fn compare_object(live: &Json, predicted: &Json, out: &mut Vec<Difference>) {
    for section in ["labels", "annotations"] {
        let recorded = predicted["metadata"][section].as_object();
        let current = live["metadata"][section].as_object();
        for (key, value) in recorded.into_iter().flatten() {
            let held = current.and_then(|map| map.get(key));
            if held.is_none_or(|held| !same_scalar(held, value)) {
                out.push(Difference {
                    steps: vec![
                        Step::Field("metadata".into()),
                        Step::Field(section.into()),
                        Step::Field(key.clone()),
                    ],
                    live: held.cloned(),
                    recorded: Some(value.clone()),
                });
            }
        }
    }
    let empty = Map::new();
    let live = live.as_object().unwrap_or(&empty);
    let predicted = predicted.as_object().unwrap_or(&empty);
    let keys: BTreeSet<&String> = live.keys().chain(predicted.keys()).collect();
    for key in keys {
        if matches!(key.as_str(), "metadata" | "status" | "apiVersion" | "kind") {
            continue;
        }
        compare(
            &mut vec![Step::Field(key.clone())],
            live.get(key),
            predicted.get(key),
            out,
        );
    }
}

fn compare(steps: &mut Vec<Step>, live: Option<&Json>, recorded: Option<&Json>, out: &mut Vec<Difference>) {
    match (live, recorded) {
        (Some(Json::Object(l)), Some(Json::Object(r))) => {
            let keys: BTreeSet<&String> = l.keys().chain(r.keys()).collect();
            for key in keys {
                steps.push(Step::Field(key.clone()));
                compare(steps, l.get(key), r.get(key), out);
                steps.pop();
            }
        }
        (Some(Json::Array(l)), Some(Json::Array(r))) => match (named(l), named(r)) {
            (Some(live_names), Some(recorded_names)) => {
                let names: BTreeSet<&str> = live_names.iter().chain(&recorded_names).copied().collect();
                for name in names {
                    let live_index = live_names.iter().position(|n| *n == name);
                    let recorded_index = recorded_names.iter().position(|n| *n == name);
                    let (item, index) = match (live_index, recorded_index) {
                        (Some(i), _) => (&l[i], i),
                        (None, Some(i)) => (&r[i], i),
                        (None, None) => continue,
                    };
                    steps.push(Step::Named {
                        name: name.to_string(),
                        item: item.clone(),
                        index,
                    });
                    compare(steps, live_index.map(|i| &l[i]), recorded_index.map(|i| &r[i]), out);
                    steps.pop();
                }
            }
            _ if l.len() == r.len() => {
                for (index, (a, b)) in l.iter().zip(r).enumerate() {
                    steps.push(Step::Index(index));
                    compare(steps, Some(a), Some(b), out);
                    steps.pop();
                }
            }
            _ => out.push(Difference {
                steps: steps.clone(),
                live: live.cloned(),
                recorded: recorded.cloned(),
            }),
        },
        (Some(a), Some(b)) if same_scalar(a, b) => {}
        (None, None) => {}
        _ => out.push(Difference {
            steps: steps.clone(),
            live: live.cloned(),
            recorded: recorded.cloned(),
        }),
    }
}

/// The `name`s of a list whose items all have a distinct one.
fn named(items: &[Json]) -> Option<Vec<&str>> {
    let names: Vec<&str> = items.iter().map(|item| item["name"].as_str()).collect::<Option<_>>()?;
    let distinct: BTreeSet<&str> = names.iter().copied().collect();
    (distinct.len() == names.len() && !names.is_empty()).then_some(names)
}

/// Equal values; numbers by value (`1` and `1.0` are the same).
fn same_scalar(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

/// `spec.template.spec.containers[name="web"].image`, as upstream prints field paths.
fn display(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Field(field) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(field);
            }
            Step::Named { name, .. } => out.push_str(&format!("[name={name:?}]")),
            Step::Index(index) => out.push_str(&format!("[{index}]")),
        }
    }
    out
}

/// The RFC 6901 pointer of a difference.
fn pointer(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        out.push('/');
        match step {
            Step::Field(field) => out.push_str(&field.replace('~', "~0").replace('/', "~1")),
            Step::Named { index, .. } | Step::Index(index) => out.push_str(&index.to_string()),
        }
    }
    out
}

/// The unescaped tokens of an RFC 6901 pointer.
fn tokens(pointer: &str) -> Vec<String> {
    pointer
        .split('/')
        .skip(1)
        .map(|token| token.replace("~1", "/").replace("~0", "~"))
        .collect()
}

/// The parent of the value a pointer names, and the last token; with `create`, missing maps
/// on the way are made.
fn parent<'a>(target: &'a mut Json, tokens: &'a [String], create: bool) -> Option<(&'a mut Json, &'a str)> {
    let (last, parents) = tokens.split_last()?;
    let mut node = target;
    for token in parents {
        node = match node {
            Json::Object(map) => {
                if create {
                    map.entry(token.clone())
                        .or_insert_with(|| Json::Object(Default::default()))
                } else {
                    map.get_mut(token)?
                }
            }
            Json::Array(items) => items.get_mut(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some((node, last))
}

/// Removes the value at an RFC 6901 pointer, if present (Argo: a missing path is skipped).
pub(crate) fn remove_pointer(value: &mut Json, pointer: &str) {
    let tokens = tokens(pointer);
    match parent(value, &tokens, false) {
        Some((Json::Object(map), last)) => {
            map.remove(last);
        }
        Some((Json::Array(items), last)) => {
            if let Some(index) = last.parse::<usize>().ok().filter(|index| *index < items.len()) {
                items.remove(index);
            }
        }
        _ => {}
    }
}

/// Sets the value at an RFC 6901 pointer, creating maps on the way (a list item must exist).
pub(crate) fn set_pointer(target: &mut Json, pointer: &str, value: Json) {
    let tokens = tokens(pointer);
    match parent(target, &tokens, true) {
        Some((Json::Object(map), last)) => {
            map.insert(last.to_string(), value);
        }
        Some((Json::Array(items), last)) => {
            if let Some(slot) = last.parse::<usize>().ok().and_then(|index| items.get_mut(index)) {
                *slot = value;
            }
        }
        _ => {}
    }
}

/// A live `managedFields` entry of someone other than the release itself.
struct Entry {
    owner: ChangedBy,
    fields: Json,
}

fn managed_entries(live: &Json) -> Vec<Entry> {
    let mut entries: Vec<Entry> = live["metadata"]["managedFields"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let manager = entry["manager"].as_str()?.to_string();
            if RELEASE_MANAGERS.contains(&manager.as_str()) {
                return None;
            }
            Some(Entry {
                owner: ChangedBy {
                    manager,
                    operation: entry["operation"].as_str().unwrap_or("Update").to_string(),
                    subresource: entry["subresource"].as_str().map(str::to_string),
                    time: entry["time"].as_str().filter(|t| !t.is_empty()).map(str::to_string),
                },
                fields: entry["fieldsV1"].clone(),
            })
        })
        .collect();
    // Newest first; entries the server gave no time last (RFC 3339 in UTC sorts as text).
    entries.sort_by(|a, b| b.owner.time.cmp(&a.owner.time));
    entries
}

/// The owners of the field at `steps`.
fn attribute(entries: &[Entry], steps: &[Step]) -> Vec<ChangedBy> {
    entries
        .iter()
        .filter(|entry| owns(&entry.fields, steps))
        .map(|entry| entry.owner.clone())
        .collect()
}

/// Whether a `fieldsV1` set owns the field at `steps`, or an atomic ancestor of it (a leaf of
/// the set that the path goes through).
fn owns(fields: &Json, steps: &[Step]) -> bool {
    let mut node = fields;
    for (depth, step) in steps.iter().enumerate() {
        let Some(children) = node.as_object() else {
            return false;
        };
        let child = match step {
            Step::Field(field) => children.get(&format!("f:{field}")),
            Step::Index(index) => children.get(&format!("i:{index}")),
            Step::Named { item, .. } => children.iter().find_map(|(key, child)| {
                let key: Json = serde_json::from_str(key.strip_prefix("k:")?).ok()?;
                key_matches(&key, item).then_some(child)
            }),
        };
        match child {
            Some(child) => node = child,
            // An atomic ancestor owned as a whole is a leaf: `{}` (or only `.`).
            None => return depth > 0 && children.keys().all(|k| k == "."),
        }
    }
    true
}

/// Whether a list item matches a `k:{…}` key: every key field equals the item's, a missing
/// `protocol` counting as `TCP` as the server defaults it.
fn key_matches(key: &Json, item: &Json) -> bool {
    let Some(key) = key.as_object() else {
        return false;
    };
    key.iter().all(|(field, value)| match item.get(field) {
        Some(held) => same_scalar(held, value),
        None => field == "protocol" && value == "TCP",
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::manifest::parse_manifest;

    fn observed(manifest: &str, live: Json, predicted: Json) -> ObservedObject {
        let resource = parse_manifest(manifest, "x").unwrap().remove(0);
        ObservedObject {
            key: resource.key("shop"),
            recorded: resource,
            state: LiveState::Present { live, predicted },
        }
    }

    const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n";

    fn deployment(replicas: i64, image: &str, managed: Json) -> Json {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}, "managedFields": managed,
                "resourceVersion": "7", "generation": 3},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [
                {"name": "sidecar", "image": "proxy:1"}, {"name": "web", "image": image, "ports": [{"containerPort": 80}]}]}}},
            "status": {"readyReplicas": replicas}})
    }

    #[test]
    fn scale_and_image_changes_name_their_managers() {
        let managed = json!([
            {"manager": "helm", "operation": "Apply", "apiVersion": "apps/v1", "time": "2026-12-07T02:55:00Z",
             "fieldsV1": {"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:template": {}}}},
            {"manager": "kubectl", "operation": "Update", "apiVersion": "apps/v1", "subresource": "scale",
             "fieldsV1": {"f:spec": {"f:replicas": {}}}},
            {"manager": "kubectl-set", "operation": "Update", "apiVersion": "apps/v1", "time": "2026-12-07T03:08:00Z",
             "fieldsV1": {"f:spec": {"f:template": {"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {"f:image": {}}}}}}}}
        ]);
        let live = deployment(5, "evil:latest", managed.clone());
        let mut predicted = deployment(2, "shop:1", managed);
        predicted["status"] = json!({"readyReplicas": 99});
        let drift = object_drift(&observed(DEPLOYMENT, live, predicted), &[]).expect("drifted");
        assert_eq!(drift.state, ObjectState::Modified);
        let shown: Vec<(String, Json, Json, Vec<String>)> = drift
            .fields
            .iter()
            .map(|f| {
                (
                    f.path.clone(),
                    f.recorded.clone().unwrap(),
                    f.live.clone().unwrap(),
                    f.changed_by.iter().map(|c| c.manager.clone()).collect(),
                )
            })
            .collect();
        assert_eq!(
            shown,
            vec![
                ("spec.replicas".into(), json!(2), json!(5), vec!["kubectl".into()]),
                (
                    "spec.template.spec.containers[name=\"web\"].image".into(),
                    json!("shop:1"),
                    json!("evil:latest"),
                    vec!["kubectl-set".into()]
                ),
            ]
        );
        assert_eq!(drift.fields[0].changed_by[0].subresource.as_deref(), Some("scale"));
        assert_eq!(drift.fields[0].changed_by[0].time, None);
        assert_eq!(drift.fields[1].pointer, "/spec/template/spec/containers/1/image");
        assert_eq!(
            drift.fields[1].changed_by[0].time.as_deref(),
            Some("2026-12-07T03:08:00Z")
        );
    }

    #[test]
    fn server_noise_other_managers_and_reorders_are_not_drift() {
        let live = json!({"metadata": {"name": "web", "labels": {"app": "web", "added-by-someone": "x"},
                "resourceVersion": "9", "uid": "u", "managedFields": []},
            "spec": {"replicas": 2.0, "containers": [{"name": "b", "image": "2"}, {"name": "a", "image": "1"}]},
            "status": {"phase": "Running"}});
        let predicted = json!({"metadata": {"name": "web", "labels": {"app": "web"}, "resourceVersion": "9"},
            "spec": {"replicas": 2, "containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "2"}]},
            "status": {"phase": "Pending"}});
        assert!(object_drift(&observed(DEPLOYMENT, live, predicted), &[]).is_none());
    }

    #[test]
    fn removed_labels_and_deleted_objects_are_drift_without_an_owner() {
        let live = json!({"metadata": {"name": "web", "labels": {}}, "spec": {}});
        let predicted = json!({"metadata": {"name": "web", "labels": {"tier": "front"}}, "spec": {}});
        let drift = object_drift(&observed(DEPLOYMENT, live, predicted), &[]).expect("drifted");
        assert_eq!(drift.fields[0].path, "metadata.labels.tier");
        assert_eq!(drift.fields[0].change, FieldChange::Removed);
        assert!(drift.fields[0].changed_by.is_empty());
        let mut missing = observed(DEPLOYMENT, json!({}), json!({}));
        missing.state = LiveState::Missing;
        assert_eq!(object_drift(&missing, &[]).unwrap().state, ObjectState::Missing);
    }

    #[test]
    fn secret_values_are_hidden() {
        let secret = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: creds\n";
        let live = json!({"metadata": {"name": "creds"}, "data": {"user": "YQ=="}});
        let predicted = json!({"metadata": {"name": "creds"}, "data": {"user": "YQ==", "password": "aHVudGVyMg=="}});
        let drift = object_drift(&observed(secret, live, predicted), &[]).expect("drifted");
        assert_eq!(drift.fields[0].path, "data.password");
        assert!(drift.fields[0].hidden);
        assert_eq!(drift.fields[0].recorded, None);
        let text = serde_json::to_string(&drift).unwrap();
        assert!(!text.contains("aHVudGVyMg"), "{text}");
    }

    #[test]
    fn ignore_rules_skip_pointers_and_managers() {
        let managed = json!([{"manager": "kube-controller-manager", "operation": "Update", "subresource": "scale",
            "fieldsV1": {"f:spec": {"f:replicas": {}}}}]);
        let live =
            json!({"metadata": {"name": "web", "managedFields": managed}, "spec": {"replicas": 5, "paused": true}});
        let predicted = json!({"metadata": {"name": "web"}, "spec": {"replicas": 2, "paused": false}});
        let object = observed(DEPLOYMENT, live, predicted);
        let by_pointer = IgnoreRule {
            group: Some("apps".into()),
            kind: Some("Deploy*".into()),
            json_pointers: vec!["/spec/replicas".into()],
            ..IgnoreRule::default()
        };
        let drift = object_drift(&object, &[by_pointer]).expect("paused still drifted");
        assert_eq!(drift.fields.len(), 1);
        assert_eq!(drift.fields[0].path, "spec.paused");
        let by_manager = IgnoreRule {
            managed_fields_managers: vec!["kube-controller-manager".into()],
            ..IgnoreRule::default()
        };
        let drift = object_drift(&object, &[by_manager]).expect("paused still drifted");
        assert_eq!(drift.fields.len(), 1);
        let other_group = IgnoreRule {
            group: Some("".into()),
            json_pointers: vec!["/spec".into()],
            ..IgnoreRule::default()
        };
        assert_eq!(object_drift(&object, &[other_group]).unwrap().fields.len(), 2);
    }

    #[test]
    fn fields_the_record_would_remove_are_drift() {
        let live = json!({"metadata": {"name": "web"}, "spec": {"paused": true}});
        let predicted = json!({"metadata": {"name": "web"}, "spec": {}});
        let drift = object_drift(&observed(DEPLOYMENT, live, predicted), &[]).expect("drifted");
        assert_eq!(drift.fields[0].change, FieldChange::Added);
    }

    #[test]
    fn pointers_set_and_remove() {
        let mut body = json!({"spec": {"replicas": 2, "template": {"spec": {"containers": [{"name": "a"}]}}}});
        set_pointer(&mut body, "/spec/replicas", json!(5));
        set_pointer(&mut body, "/metadata/labels/app.kubernetes.io~1name", json!("x"));
        set_pointer(&mut body, "/spec/template/spec/containers/0/image", json!("i"));
        remove_pointer(&mut body, "/spec/template");
        remove_pointer(&mut body, "/nothing/here");
        assert_eq!(
            body,
            json!({"spec": {"replicas": 5}, "metadata": {"labels": {"app.kubernetes.io/name": "x"}}})
        );
    }

    #[test]
    fn pointers_and_globs() {
        use crate::state::valid_json_pointer as valid_pointer;
        assert!(valid_pointer("/spec/replicas") && valid_pointer("") && valid_pointer("/metadata/labels/a~1b"));
        assert!(!valid_pointer("spec") && !valid_pointer("/a~2"));
        assert!(glob("*", "apps") && glob("", "") && !glob("", "apps") && glob("Deploy*", "Deployment"));
    }
}
