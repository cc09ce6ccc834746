//! Simulated controllers, so readiness waits finish: Deployment (with its ReplicaSet),
//! ReplicaSet, StatefulSet, DaemonSet, Job, Pod, PVC, LoadBalancer Service, CRD establishment and
//! namespace termination. Each writes the status kstatus (and helm's legacy waiter) checks, after
//! the configured delay. Annotations on an object script it for tests:
//! `sandbox.helmfire.dev/never-ready: "true"` leaves it unready forever,
//! `sandbox.helmfire.dev/fail: "true"` makes it fail (Deployment deadline exceeded, Job failed,
//! Pod failed).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::api::{self, collection_key};
use super::clock;
use super::resources;
use super::store::{CollectionKey, EventType, State, Store};

/// Annotation that keeps an object from ever becoming ready.
pub const NEVER_READY: &str = "sandbox.helmfire.dev/never-ready";
/// Annotation that makes an object fail.
pub const FAIL: &str = "sandbox.helmfire.dev/fail";

fn key(group: &str, plural: &str) -> CollectionKey {
    (group.to_string(), plural.to_string())
}

fn annotated(object: &Value, name: &str) -> bool {
    object["metadata"]["annotations"][name].as_str() == Some("true")
}

/// Runs the controllers until the store's event stream closes or `stop` fires. `events` must be
/// subscribed before the server accepts requests so no early write goes unnoticed; objects
/// already in the store (a loaded data directory) are reconciled first.
pub async fn run(
    store: Arc<Store>,
    delay: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
    mut events: broadcast::Receiver<Arc<super::store::Event>>,
) {
    for (k, ns, name) in everything(&store) {
        schedule(&store, delay, k, ns, name);
    }
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            _ = stop.changed() => return,
        };
        let event = match event {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(_)) => {
                // Missed events: reconcile everything we care about.
                let all = everything(&store);
                for (k, ns, name) in all {
                    schedule(&store, delay, k, ns, name);
                }
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        if event.event_type == EventType::Deleted {
            if !event.namespace.is_empty() {
                // Content leaving a terminating namespace may let it finish.
                schedule(
                    &store,
                    Duration::ZERO,
                    key("", "namespaces"),
                    String::new(),
                    event.namespace.clone(),
                );
            }
            continue;
        }
        if handled(&event.collection) {
            schedule(
                &store,
                delay,
                event.collection.clone(),
                event.namespace.clone(),
                event.name.clone(),
            );
        }
    }
}

fn handled(k: &CollectionKey) -> bool {
    matches!(
        (k.0.as_str(), k.1.as_str()),
        ("apps", "deployments" | "replicasets" | "statefulsets" | "daemonsets")
            | ("batch", "jobs")
            | ("", "persistentvolumeclaims" | "services" | "namespaces" | "pods")
            | ("apiextensions.k8s.io", "customresourcedefinitions")
    )
}

fn everything(store: &Store) -> Vec<(CollectionKey, String, String)> {
    let state = store.lock();
    let mut out = Vec::new();
    for (k, collection) in state.collections() {
        if handled(k) {
            for (ns, name) in collection.keys() {
                out.push((k.clone(), ns.clone(), name.clone()));
            }
        }
    }
    out
}

fn schedule(store: &Arc<Store>, delay: Duration, k: CollectionKey, namespace: String, name: String) {
    let store = store.clone();
    // Namespace termination is not a readiness simulation: it proceeds at once.
    let delay = if k.1 == "namespaces" { Duration::ZERO } else { delay };
    tokio::spawn(async move {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let mut state = store.lock();
        reconcile(&mut state, &k, &namespace, &name);
    });
}

/// Brings one object's status to where its controller would put it.
pub fn reconcile(state: &mut State, k: &CollectionKey, namespace: &str, name: &str) {
    let Some(entry) = state.get(k, namespace, name) else {
        return;
    };
    let object = entry.value();
    if k.1 == "namespaces" {
        if object["metadata"]["deletionTimestamp"].is_string() {
            terminate_namespace(state, name);
        } else {
            populate_namespace(state, name);
        }
        return;
    }
    if object["metadata"]["deletionTimestamp"].is_string() || annotated(&object, NEVER_READY) {
        return;
    }
    let fail = annotated(&object, FAIL);
    let generation = object["metadata"]["generation"].clone();
    let replicas = object["spec"]["replicas"].as_i64().unwrap_or(1);
    let now = clock::now_rfc3339();
    let condition = |kind: &str, status: &str, reason: &str, message: &str| {
        json!({"type": kind, "status": status, "reason": reason, "message": message,
            "lastUpdateTime": now, "lastTransitionTime": now})
    };
    let status = match (k.0.as_str(), k.1.as_str()) {
        ("apps", "deployments") => {
            if fail {
                json!({"observedGeneration": generation, "replicas": replicas, "updatedReplicas": 0,
                    "unavailableReplicas": replicas,
                    "conditions": [condition("Available", "False", "MinimumReplicasUnavailable", "Deployment does not have minimum availability."),
                        condition("Progressing", "False", "ProgressDeadlineExceeded", &format!("ReplicaSet \"{name}\" has timed out progressing."))]})
            } else {
                let rs_name = ensure_replica_set(state, &object, namespace, name, replicas);
                json!({"observedGeneration": generation, "replicas": replicas, "updatedReplicas": replicas,
                    "readyReplicas": replicas, "availableReplicas": replicas,
                    "conditions": [condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
                        condition("Progressing", "True", "NewReplicaSetAvailable", &format!("ReplicaSet \"{rs_name}\" has successfully progressed."))]})
            }
        }
        ("apps", "replicasets") => json!({"observedGeneration": generation, "replicas": replicas,
            "fullyLabeledReplicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas}),
        ("apps", "statefulsets") => {
            let revision = format!("{name}-{}", short_hash(&object["spec"]["template"]));
            json!({"observedGeneration": generation, "replicas": replicas, "readyReplicas": replicas,
                "currentReplicas": replicas, "updatedReplicas": replicas, "availableReplicas": replicas,
                "currentRevision": revision, "updateRevision": revision, "collisionCount": 0})
        }
        ("apps", "daemonsets") => {
            json!({"observedGeneration": generation, "desiredNumberScheduled": 1,
            "currentNumberScheduled": 1, "updatedNumberScheduled": 1, "numberReady": 1, "numberAvailable": 1,
            "numberMisscheduled": 0})
        }
        ("batch", "jobs") => {
            let completions = object["spec"]["completions"].as_i64().unwrap_or(1);
            if fail {
                json!({"startTime": now, "failed": 1, "active": 0, "ready": 0, "terminating": 0,
                    "conditions": [condition("FailureTarget", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
                        condition("Failed", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit")]})
            } else {
                let started = object["status"]["startTime"].as_str().unwrap_or(&now).to_string();
                json!({"startTime": started, "completionTime": now, "succeeded": completions, "active": 0,
                    "ready": 0, "terminating": 0, "uncountedTerminatedPods": {},
                    "conditions": [condition("SuccessCriteriaMet", "True", "CompletionsReached", "Reached expected number of succeeded pods"),
                        condition("Complete", "True", "CompletionsReached", "Reached expected number of succeeded pods")]})
            }
        }
        ("", "pods") => {
            let once = matches!(object["spec"]["restartPolicy"].as_str(), Some("Never" | "OnFailure"));
            match (fail, once) {
                (true, _) => json!({"phase": "Failed", "startTime": now}),
                (false, true) => json!({"phase": "Succeeded", "startTime": now}),
                (false, false) => {
                    json!({"phase": "Running", "startTime": now, "podIP": "10.244.0.10",
                    "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now},
                        {"type": "ContainersReady", "status": "True", "lastTransitionTime": now}]})
                }
            }
        }
        ("", "persistentvolumeclaims") => {
            let storage = object["spec"]["resources"]["requests"]["storage"].clone();
            json!({"phase": "Bound", "accessModes": object["spec"]["accessModes"], "capacity": {"storage": storage}})
        }
        ("", "services") => {
            if object["spec"]["type"].as_str() != Some("LoadBalancer") {
                return;
            }
            json!({"loadBalancer": {"ingress": [{"ip": "127.0.0.1", "ipMode": "VIP"}]}})
        }
        ("apiextensions.k8s.io", "customresourcedefinitions") => {
            let storage = object["spec"]["versions"]
                .as_array()
                .and_then(|v| v.iter().find(|v| v["storage"].as_bool() == Some(true)))
                .and_then(|v| v["name"].as_str())
                .map(|v| json!([v]))
                .unwrap_or(json!([]));
            json!({"acceptedNames": object["spec"]["names"], "storedVersions": storage,
                "conditions": [{"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                    "message": "no conflicts found", "lastTransitionTime": now},
                    {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                    "message": "the initial names have been accepted", "lastTransitionTime": now}]})
        }
        _ => return,
    };
    write_status(state, k, namespace, name, status);
}

/// Writes a status unless it would change nothing but timestamps.
fn write_status(state: &mut State, k: &CollectionKey, namespace: &str, name: &str, status: Value) {
    let Some(entry) = state.get(k, namespace, name) else {
        return;
    };
    let mut object = entry.value();
    if without_times(&object["status"]) == without_times(&status) {
        return;
    }
    object["status"] = status;
    state.put(k, namespace, name, object);
}

fn without_times(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| {
                    !matches!(
                        k.as_str(),
                        "lastUpdateTime" | "lastTransitionTime" | "startTime" | "completionTime"
                    )
                })
                .map(|(k, v)| (k.clone(), without_times(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_times).collect()),
        other => other.clone(),
    }
}

fn short_hash(value: &Value) -> String {
    let text = value.to_string();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{:010x}", h & 0xff_ffff_ffff)
}

/// Makes the Deployment's current ReplicaSet (template + pod-template-hash, controller
/// ownerReference, revision annotation) and scales older ones to zero. Returns its name.
fn ensure_replica_set(state: &mut State, deployment: &Value, namespace: &str, name: &str, replicas: i64) -> String {
    let template = deployment["spec"]["template"].clone();
    let hash = short_hash(&template);
    let rs_name = format!("{name}-{hash}");
    let uid = deployment["metadata"]["uid"].as_str().unwrap_or_default().to_string();
    let rs_key = key("apps", "replicasets");
    let Some(rs_type) = resources::builtin("apps", "replicasets") else {
        return rs_name;
    };
    let owned: Vec<(String, Value)> = state
        .list(&rs_key, Some(namespace))
        .map(|((_, n), e)| (n.clone(), e.value()))
        .filter(|(_, v)| {
            v["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|refs| refs.iter().any(|r| r["uid"].as_str() == Some(uid.as_str())))
        })
        .collect();
    let revision = owned
        .iter()
        .filter_map(|(_, v)| {
            v["metadata"]["annotations"]["deployment.kubernetes.io/revision"]
                .as_str()?
                .parse::<i64>()
                .ok()
        })
        .max()
        .unwrap_or(0);
    for (n, mut rs) in owned.clone() {
        if n != rs_name && rs["spec"]["replicas"].as_i64() != Some(0) {
            rs["spec"]["replicas"] = json!(0);
            rs["status"] = json!({"replicas": 0, "observedGeneration": rs["metadata"]["generation"]});
            state.put(&rs_key, namespace, &n, rs);
        }
    }
    let mut pod_template = template.clone();
    pod_template["metadata"]["labels"]["pod-template-hash"] = json!(hash);
    let mut selector = deployment["spec"]["selector"].clone();
    selector["matchLabels"]["pod-template-hash"] = json!(hash);
    match owned.iter().find(|(n, _)| *n == rs_name) {
        Some((_, existing)) => {
            if existing["spec"]["replicas"].as_i64() != Some(replicas) {
                let mut rs = existing.clone();
                rs["spec"]["replicas"] = json!(replicas);
                state.put(&rs_key, namespace, &rs_name, rs);
            }
        }
        None => {
            let mut labels = template["metadata"]["labels"].clone();
            labels["pod-template-hash"] = json!(hash);
            let mut rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                "metadata": {"name": rs_name, "namespace": namespace, "labels": labels,
                    "annotations": {"deployment.kubernetes.io/revision": (revision + 1).to_string(),
                        "deployment.kubernetes.io/desired-replicas": replicas.to_string()},
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name, "uid": uid,
                        "controller": true, "blockOwnerDeletion": true}]},
                "spec": {"replicas": replicas, "selector": selector, "template": pod_template}});
            api::stamp_new(&rs_type, &mut rs, state);
            rs["status"] = json!({"observedGeneration": 1, "replicas": replicas, "fullyLabeledReplicas": replicas,
                "readyReplicas": replicas, "availableReplicas": replicas});
            state.put(&rs_key, namespace, &rs_name, rs);
        }
    }
    rs_name
}

/// What the service-account controller and the root CA publisher put in every namespace: the
/// `default` ServiceAccount and the `kube-root-ca.crt` ConfigMap (charts reference both).
fn populate_namespace(state: &mut State, namespace: &str) {
    let seeds = [
        (
            "",
            "serviceaccounts",
            "default",
            json!({"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": {"name": "default", "namespace": namespace}}),
        ),
        (
            "",
            "configmaps",
            "kube-root-ca.crt",
            json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "kube-root-ca.crt", "namespace": namespace,
                "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
            "data": {"ca.crt": "-----BEGIN CERTIFICATE-----\nhelmfire-sandbox-does-not-serve-tls\n-----END CERTIFICATE-----\n"}}),
        ),
    ];
    for (group, plural, name, mut object) in seeds {
        let k = key(group, plural);
        if state.get(&k, namespace, name).is_some() {
            continue;
        }
        let Some(resource) = resources::builtin(group, plural) else {
            continue;
        };
        api::stamp_new(&resource, &mut object, state);
        state.put(&k, namespace, name, object);
    }
}

/// Deletes everything in a terminating namespace; removes it once empty.
fn terminate_namespace(state: &mut State, name: &str) {
    let contents = state.keys_in_namespace(name);
    for (k, object_name) in &contents {
        api::delete_or_mark(state, k, name, object_name);
    }
    if state.keys_in_namespace(name).is_empty()
        && let Some(namespaces) = resources::builtin("", "namespaces")
    {
        api::remove_and_collect(state, &collection_key(&namespaces), "", name);
    }
}
