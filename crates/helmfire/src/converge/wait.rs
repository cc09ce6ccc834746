//! Readiness of objects by kstatus rules (helm 4's `statuswait.go` with fluxcd/cli-utils'
//! `status.Compute`), as pure functions on the live JSON object. The polling loop that uses them
//! lives in the actions; this module never talks to the cluster.

use serde_json::Value as Json;

/// What a readiness check concluded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Readiness {
    /// Ready (kstatus `Current`).
    Current,
    /// Not ready yet, with the reason shown when a wait times out.
    InProgress(String),
    /// Will not become ready without a change (kstatus `Failed`), with the reason.
    Failed(String),
}

/// Which rules apply to Jobs and Pods.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rules {
    /// `Wait`: a started Job counts as ready.
    Resources,
    /// `WaitWithJobs`: a Job must complete.
    ResourcesAndJobs,
    /// `WatchUntilReady` for hooks: Jobs must complete, Pods must succeed, everything else is
    /// ready at once.
    Hook,
}

fn condition<'a>(object: &'a Json, kind: &str) -> Option<&'a Json> {
    object["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"].as_str() == Some(kind))
}

fn condition_is(object: &Json, kind: &str, status: &str) -> bool {
    condition(object, kind).is_some_and(|c| c["status"].as_str() == Some(status))
}

fn condition_message(object: &Json, kind: &str) -> String {
    condition(object, kind)
        .map(|c| {
            let reason = c["reason"].as_str().unwrap_or("");
            let message = c["message"].as_str().unwrap_or("");
            match (reason.is_empty(), message.is_empty()) {
                (false, false) => format!("{reason}: {message}"),
                (false, true) => reason.to_string(),
                _ => message.to_string(),
            }
        })
        .unwrap_or_default()
}

fn int(value: &Json) -> i64 {
    value.as_i64().unwrap_or(0)
}

/// Helm's job reader (hooks and `--wait-for-jobs`): only `Complete=True` is ready.
fn job_complete(object: &Json) -> Readiness {
    if condition_is(object, "Complete", "True") {
        Readiness::Current
    } else if condition_is(object, "Failed", "True") {
        Readiness::Failed(format!("job failed: {}", condition_message(object, "Failed")))
    } else {
        let status = &object["status"];
        Readiness::InProgress(format!(
            "job not complete: {} active, {} succeeded, {} failed",
            int(&status["active"]),
            int(&status["succeeded"]),
            int(&status["failed"])
        ))
    }
}

/// Helm's pod reader for hooks: Succeeded is ready, Failed failed.
fn pod_succeeded(object: &Json) -> Readiness {
    match object["status"]["phase"].as_str() {
        Some("Succeeded") => Readiness::Current,
        Some("Failed") => Readiness::Failed(format!(
            "pod failed{}",
            object["status"]["message"]
                .as_str()
                .map(|m| format!(": {m}"))
                .unwrap_or_default()
        )),
        phase => Readiness::InProgress(format!("pod phase is {}", phase.unwrap_or("unknown"))),
    }
}

/// The readiness of `object` (a live object with `kind` and `status`) under `rules`.
pub fn readiness(object: &Json, rules: Rules) -> Readiness {
    let kind = object["kind"].as_str().unwrap_or("");
    if rules == Rules::Hook {
        return match kind {
            "Job" => job_complete(object),
            "Pod" => pod_succeeded(object),
            _ => Readiness::Current,
        };
    }
    if object["metadata"]["deletionTimestamp"].is_string() {
        return Readiness::InProgress("being deleted".into());
    }
    if kind == "Job" && rules == Rules::ResourcesAndJobs {
        return job_complete(object);
    }
    // Generic rules first (status.Compute): observedGeneration, Reconciling, Stalled.
    if let (Some(generation), Some(observed)) = (
        object["metadata"]["generation"].as_i64(),
        object["status"]["observedGeneration"].as_i64(),
    ) && generation != observed
    {
        return Readiness::InProgress(format!("observed generation {observed} is not the latest {generation}"));
    }
    if condition_is(object, "Reconciling", "True") {
        return Readiness::InProgress(format!("reconciling: {}", condition_message(object, "Reconciling")));
    }
    if condition_is(object, "Stalled", "True") {
        return Readiness::Failed(format!("stalled: {}", condition_message(object, "Stalled")));
    }
    let spec = &object["spec"];
    let status = &object["status"];
    match kind {
        "Deployment" => deployment(object),
        "StatefulSet" => {
            if spec["updateStrategy"]["type"].as_str() == Some("OnDelete") {
                return Readiness::Current;
            }
            let replicas = spec["replicas"].as_i64().unwrap_or(1);
            if status.get("observedGeneration").is_none() {
                return Readiness::InProgress("statefulset status not observed yet".into());
            }
            for (field, what) in [
                ("replicas", "replicas"),
                ("readyReplicas", "ready replicas"),
                ("currentReplicas", "current replicas"),
            ] {
                if int(&status[field]) < replicas {
                    return Readiness::InProgress(format!("{what}: {} of {replicas}", int(&status[field])));
                }
            }
            if let Some(partition) = spec["updateStrategy"]["rollingUpdate"]["partition"].as_i64()
                && partition > 0
            {
                if int(&status["updatedReplicas"]) < replicas - partition {
                    return Readiness::InProgress("partitioned rollout in progress".into());
                }
                return Readiness::Current;
            }
            if status["currentRevision"] != status["updateRevision"] {
                return Readiness::InProgress("rolling update in progress".into());
            }
            Readiness::Current
        }
        "DaemonSet" => {
            if status.get("observedGeneration").is_none() {
                return Readiness::InProgress("daemonset status not observed yet".into());
            }
            let Some(desired) = status["desiredNumberScheduled"].as_i64() else {
                return Readiness::InProgress("desiredNumberScheduled not set".into());
            };
            for (field, what) in [
                ("currentNumberScheduled", "scheduled"),
                ("updatedNumberScheduled", "updated"),
                ("numberAvailable", "available"),
                ("numberReady", "ready"),
            ] {
                if int(&status[field]) < desired {
                    return Readiness::InProgress(format!("{what}: {} of {desired}", int(&status[field])));
                }
            }
            Readiness::Current
        }
        "ReplicaSet" => {
            if condition_is(object, "ReplicaFailure", "True") {
                return Readiness::InProgress(format!(
                    "replica failure: {}",
                    condition_message(object, "ReplicaFailure")
                ));
            }
            let replicas = spec["replicas"].as_i64().unwrap_or(1);
            for field in ["fullyLabeledReplicas", "availableReplicas", "readyReplicas"] {
                if int(&status[field]) < replicas {
                    return Readiness::InProgress(format!("{field}: {} of {replicas}", int(&status[field])));
                }
            }
            Readiness::Current
        }
        "Job" => {
            if condition_is(object, "Complete", "True") {
                Readiness::Current
            } else if condition_is(object, "Failed", "True") {
                Readiness::Failed(format!("job failed: {}", condition_message(object, "Failed")))
            } else if status["startTime"].is_string() {
                Readiness::Current
            } else {
                Readiness::InProgress("job not started".into())
            }
        }
        "Pod" => match status["phase"].as_str() {
            Some("Succeeded" | "Failed") => Readiness::Current,
            Some("Running") => {
                let crash = status["containerStatuses"].as_array().is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c["state"]["waiting"]["reason"].as_str() == Some("CrashLoopBackOff"))
                });
                if crash {
                    Readiness::Failed("container in CrashLoopBackOff".into())
                } else if condition_is(object, "Ready", "True") {
                    Readiness::Current
                } else {
                    Readiness::InProgress("pod running but not ready".into())
                }
            }
            phase => Readiness::InProgress(format!("pod phase is {}", phase.unwrap_or("Pending"))),
        },
        "PersistentVolumeClaim" => match status["phase"].as_str() {
            Some("Bound") => Readiness::Current,
            phase => Readiness::InProgress(format!("claim phase is {}", phase.unwrap_or("Pending"))),
        },
        "Service" => {
            if spec["type"].as_str() == Some("LoadBalancer") && !spec["clusterIP"].is_string() {
                Readiness::InProgress("load balancer has no cluster IP yet".into())
            } else {
                Readiness::Current
            }
        }
        "CustomResourceDefinition" => {
            if condition_is(object, "NamesAccepted", "False") {
                Readiness::Failed(format!(
                    "names not accepted: {}",
                    condition_message(object, "NamesAccepted")
                ))
            } else if condition_is(object, "Established", "True") {
                Readiness::Current
            } else if condition_is(object, "Established", "False")
                && condition(object, "Established").and_then(|c| c["reason"].as_str()) != Some("Installing")
            {
                Readiness::Failed(format!("not established: {}", condition_message(object, "Established")))
            } else {
                Readiness::InProgress("not established yet".into())
            }
        }
        "Secret" | "ConfigMap" | "CronJob" | "PodDisruptionBudget" => Readiness::Current,
        _ => {
            if condition(object, "Ready").is_some() && !condition_is(object, "Ready", "True") {
                Readiness::InProgress(format!(
                    "Ready condition is not True: {}",
                    condition_message(object, "Ready")
                ))
            } else {
                Readiness::Current
            }
        }
    }
}

fn deployment(object: &Json) -> Readiness {
    let spec = &object["spec"];
    let status = &object["status"];
    if spec["paused"].as_bool() == Some(true) {
        return Readiness::Current;
    }
    if condition(object, "Progressing").and_then(|c| c["reason"].as_str()) == Some("ProgressDeadlineExceeded") {
        return Readiness::Failed(format!(
            "progress deadline exceeded: {}",
            condition(object, "Progressing")
                .and_then(|c| c["message"].as_str())
                .unwrap_or("")
        ));
    }
    if status.get("observedGeneration").is_none() && status.get("replicas").is_none() {
        return Readiness::InProgress("deployment status not observed yet".into());
    }
    let replicas = spec["replicas"].as_i64().unwrap_or(1);
    let updated = int(&status["updatedReplicas"]);
    let total = int(&status["replicas"]);
    let available = int(&status["availableReplicas"]);
    let ready = int(&status["readyReplicas"]);
    if total < replicas || updated < replicas {
        return Readiness::InProgress(format!("updated replicas: {updated} of {replicas}"));
    }
    if total > updated {
        return Readiness::InProgress(format!("pending termination: {} old replicas", total - updated));
    }
    if available < updated {
        return Readiness::InProgress(format!("available replicas: {available} of {updated}"));
    }
    if ready < replicas {
        return Readiness::InProgress(format!("ready replicas: {ready} of {replicas}"));
    }
    if spec.get("progressDeadlineSeconds").is_some_and(|d| !d.is_null())
        && condition(object, "Progressing").and_then(|c| c["reason"].as_str()) != Some("NewReplicaSetAvailable")
    {
        return Readiness::InProgress("new replica set not available yet".into());
    }
    if !condition_is(object, "Available", "True") {
        return Readiness::InProgress("Available condition is not True".into());
    }
    Readiness::Current
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cond(kind: &str, status: &str, reason: &str) -> Json {
        json!({"type": kind, "status": status, "reason": reason, "message": "m"})
    }

    #[test]
    fn deployment_rules() {
        let mut d = json!({"kind": "Deployment", "metadata": {"generation": 2},
            "spec": {"replicas": 2, "progressDeadlineSeconds": 600}, "status": {}});
        assert!(matches!(readiness(&d, Rules::Resources), Readiness::InProgress(_)));
        d["status"] = json!({"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2,
            "availableReplicas": 2, "readyReplicas": 2});
        assert_eq!(
            readiness(&d, Rules::Resources),
            Readiness::InProgress("observed generation 1 is not the latest 2".into())
        );
        d["status"]["observedGeneration"] = json!(2);
        d["status"]["conditions"] = json!([
            cond("Available", "True", "x"),
            cond("Progressing", "True", "NewReplicaSetAvailable")
        ]);
        assert_eq!(readiness(&d, Rules::Resources), Readiness::Current);
        d["status"]["readyReplicas"] = json!(1);
        assert_eq!(
            readiness(&d, Rules::Resources),
            Readiness::InProgress("ready replicas: 1 of 2".into())
        );
        d["status"]["conditions"] = json!([cond("Progressing", "False", "ProgressDeadlineExceeded")]);
        assert!(matches!(readiness(&d, Rules::Resources), Readiness::Failed(_)));
        // Hooks only wait for Jobs and Pods.
        assert_eq!(readiness(&d, Rules::Hook), Readiness::Current);
    }

    #[test]
    fn job_rules_depend_on_wait_for_jobs() {
        let mut j = json!({"kind": "Job", "metadata": {}, "status": {"startTime": "t", "active": 1}});
        assert_eq!(readiness(&j, Rules::Resources), Readiness::Current);
        assert!(matches!(
            readiness(&j, Rules::ResourcesAndJobs),
            Readiness::InProgress(_)
        ));
        assert!(matches!(readiness(&j, Rules::Hook), Readiness::InProgress(_)));
        j["status"]["conditions"] = json!([cond("Failed", "True", "BackoffLimitExceeded")]);
        assert_eq!(
            readiness(&j, Rules::Hook),
            Readiness::Failed("job failed: BackoffLimitExceeded: m".into())
        );
        j["status"]["conditions"] = json!([cond("Complete", "True", "x")]);
        assert_eq!(readiness(&j, Rules::ResourcesAndJobs), Readiness::Current);
        let unstarted = json!({"kind": "Job", "metadata": {}, "status": {}});
        assert!(matches!(
            readiness(&unstarted, Rules::Resources),
            Readiness::InProgress(_)
        ));
    }

    #[test]
    fn pods_claims_services_crds_statefulsets_daemonsets() {
        let pod = json!({"kind": "Pod", "metadata": {}, "status": {"phase": "Pending"}});
        assert_eq!(
            readiness(&pod, Rules::Resources),
            Readiness::InProgress("pod phase is Pending".into())
        );
        let pod = json!({"kind": "Pod", "metadata": {}, "status": {"phase": "Running",
            "conditions": [cond("Ready", "True", "")]}});
        assert_eq!(readiness(&pod, Rules::Resources), Readiness::Current);
        assert!(matches!(readiness(&pod, Rules::Hook), Readiness::InProgress(_)));
        let pvc = json!({"kind": "PersistentVolumeClaim", "metadata": {}, "status": {"phase": "Bound"}});
        assert_eq!(readiness(&pvc, Rules::Resources), Readiness::Current);
        let svc = json!({"kind": "Service", "metadata": {}, "spec": {"type": "LoadBalancer"}});
        assert!(matches!(readiness(&svc, Rules::Resources), Readiness::InProgress(_)));
        let crd = json!({"kind": "CustomResourceDefinition", "metadata": {}, "status": {}});
        assert!(matches!(readiness(&crd, Rules::Resources), Readiness::InProgress(_)));
        let crd = json!({"kind": "CustomResourceDefinition", "metadata": {},
            "status": {"conditions": [cond("Established", "True", "")]}});
        assert_eq!(readiness(&crd, Rules::Resources), Readiness::Current);
        let sts = json!({"kind": "StatefulSet", "metadata": {"generation": 1}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 1, "replicas": 2, "readyReplicas": 1, "currentReplicas": 2}});
        assert_eq!(
            readiness(&sts, Rules::Resources),
            Readiness::InProgress("ready replicas: 1 of 2".into())
        );
        let ds = json!({"kind": "DaemonSet", "metadata": {"generation": 1}, "status": {"observedGeneration": 1,
            "desiredNumberScheduled": 1, "currentNumberScheduled": 1, "updatedNumberScheduled": 1,
            "numberAvailable": 1, "numberReady": 1}});
        assert_eq!(readiness(&ds, Rules::Resources), Readiness::Current);
        let cm = json!({"kind": "ConfigMap", "metadata": {}});
        assert_eq!(readiness(&cm, Rules::Resources), Readiness::Current);
        let custom =
            json!({"kind": "Widget", "metadata": {}, "status": {"conditions": [cond("Ready", "False", "Busy")]}});
        assert!(matches!(readiness(&custom, Rules::Resources), Readiness::InProgress(_)));
    }
}
