//! `meta.k8s.io` Table responses (what `kubectl get` asks for), with the usual columns for the
//! common kinds and Name/Age otherwise, honouring `includeObject`. Presentation only.

use serde_json::{Value, json};

use super::clock;
use super::resources::ResourceType;

/// The Table apiVersion the `Accept` header asks for, if it asks for a Table at all.
pub fn requested_version(accept: &str) -> Option<&'static str> {
    let mut found = None;
    for part in accept.split(',') {
        if part.contains("as=Table") && part.contains("g=meta.k8s.io") {
            if part.contains("v=v1beta1") {
                found = found.or(Some("meta.k8s.io/v1beta1"));
            } else if part.contains("v=v1") {
                return Some("meta.k8s.io/v1");
            }
        }
    }
    found
}

/// kubectl's short human durations: `45s`, `12m`, `5h`, `3d`.
fn age(object: &Value) -> String {
    let Some(created) = object["metadata"]["creationTimestamp"]
        .as_str()
        .and_then(clock::parse_rfc3339)
    else {
        return "<unknown>".into();
    };
    let seconds = (clock::unix_now() - created).max(0);
    match seconds {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

fn count(value: &Value) -> i64 {
    value.as_object().map(|m| m.len() as i64).unwrap_or(0)
}

fn number(value: &Value) -> i64 {
    value.as_i64().unwrap_or(0)
}

fn column(name: &str, kind: &str) -> Value {
    let format = if name == "Name" { "name" } else { "" };
    json!({"name": name, "type": kind, "format": format, "description": name, "priority": 0})
}

fn columns(resource: &ResourceType) -> Vec<Value> {
    let mut out = vec![column("Name", "string")];
    let extra: &[(&str, &str)] = match (resource.group.as_str(), resource.kind.as_str()) {
        ("", "Namespace") => &[("Status", "string")],
        ("", "ConfigMap") => &[("Data", "integer")],
        ("", "Secret") => &[("Type", "string"), ("Data", "integer")],
        ("", "Pod") => &[("Ready", "string"), ("Status", "string"), ("Restarts", "string")],
        ("", "Service") => &[
            ("Type", "string"),
            ("Cluster-IP", "string"),
            ("External-IP", "string"),
            ("Port(s)", "string"),
        ],
        ("", "PersistentVolumeClaim") => &[("Status", "string"), ("Volume", "string"), ("Capacity", "string")],
        ("apps", "Deployment") => &[("Ready", "string"), ("Up-to-date", "integer"), ("Available", "integer")],
        ("apps", "ReplicaSet") => &[("Desired", "integer"), ("Current", "integer"), ("Ready", "integer")],
        ("apps", "StatefulSet") => &[("Ready", "string")],
        ("batch", "Job") => &[("Status", "string"), ("Completions", "string")],
        _ => &[],
    };
    out.extend(extra.iter().map(|(n, t)| column(n, t)));
    out.push(column("Age", "string"));
    out
}

fn cells(resource: &ResourceType, o: &Value) -> Vec<Value> {
    let name = json!(o["metadata"]["name"].as_str().unwrap_or_default());
    let mut out = vec![name];
    let spec = &o["spec"];
    let status = &o["status"];
    match (resource.group.as_str(), resource.kind.as_str()) {
        ("", "Namespace") => out.push(json!(status["phase"].as_str().unwrap_or("Active"))),
        ("", "ConfigMap") => out.push(json!(count(&o["data"]) + count(&o["binaryData"]))),
        ("", "Secret") => {
            out.push(json!(o["type"].as_str().unwrap_or("Opaque")));
            out.push(json!(count(&o["data"])));
        }
        ("", "Pod") => {
            let total = spec["containers"].as_array().map(Vec::len).unwrap_or(0);
            let ready = status["conditions"]
                .as_array()
                .is_some_and(|c| c.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"));
            out.push(json!(format!("{}/{total}", if ready { total } else { 0 })));
            out.push(json!(status["phase"].as_str().unwrap_or("Pending")));
            out.push(json!("0"));
        }
        ("", "Service") => {
            out.push(json!(spec["type"].as_str().unwrap_or("ClusterIP")));
            out.push(json!(spec["clusterIP"].as_str().unwrap_or("<none>")));
            let external = status["loadBalancer"]["ingress"][0]["ip"].as_str().unwrap_or("<none>");
            out.push(json!(external));
            let ports: Vec<String> = spec["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| format!("{}/{}", number(&p["port"]), p["protocol"].as_str().unwrap_or("TCP")))
                .collect();
            out.push(json!(if ports.is_empty() {
                "<none>".to_string()
            } else {
                ports.join(",")
            }));
        }
        ("", "PersistentVolumeClaim") => {
            out.push(json!(status["phase"].as_str().unwrap_or("Pending")));
            out.push(json!(spec["volumeName"].as_str().unwrap_or("")));
            out.push(json!(status["capacity"]["storage"].as_str().unwrap_or("")));
        }
        ("apps", "Deployment") => {
            let desired = spec["replicas"].as_i64().unwrap_or(1);
            out.push(json!(format!("{}/{desired}", number(&status["readyReplicas"]))));
            out.push(json!(number(&status["updatedReplicas"])));
            out.push(json!(number(&status["availableReplicas"])));
        }
        ("apps", "ReplicaSet") => {
            out.push(json!(spec["replicas"].as_i64().unwrap_or(1)));
            out.push(json!(number(&status["replicas"])));
            out.push(json!(number(&status["readyReplicas"])));
        }
        ("apps", "StatefulSet") => {
            let desired = spec["replicas"].as_i64().unwrap_or(1);
            out.push(json!(format!("{}/{desired}", number(&status["readyReplicas"]))));
        }
        ("batch", "Job") => {
            let conditions = status["conditions"].as_array().cloned().unwrap_or_default();
            let state = ["Complete", "Failed"]
                .into_iter()
                .find(|t| conditions.iter().any(|c| c["type"] == *t && c["status"] == "True"))
                .unwrap_or("Running");
            out.push(json!(state));
            out.push(json!(format!(
                "{}/{}",
                number(&status["succeeded"]),
                spec["completions"].as_i64().unwrap_or(1)
            )));
        }
        _ => {}
    }
    out.push(json!(age(o)));
    out
}

/// Renders objects as a Table. `include` is the `includeObject` parameter.
pub fn render(
    resource: &ResourceType,
    version: &str,
    objects: &[Value],
    list_metadata: Value,
    include: Option<&str>,
) -> Value {
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let object = match include {
                Some("None") => Value::Null,
                Some("Object") => o.clone(),
                _ => {
                    let mut metadata = o["metadata"].clone();
                    if let Some(m) = metadata.as_object_mut() {
                        m.remove("managedFields");
                    }
                    json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": metadata})
                }
            };
            json!({"cells": cells(resource, o), "object": object})
        })
        .collect();
    json!({"kind": "Table", "apiVersion": version, "metadata": list_metadata,
        "columnDefinitions": columns(resource), "rows": rows})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::builtin;

    #[test]
    fn negotiates_kubectl_table_accept() {
        let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        assert_eq!(requested_version(accept), Some("meta.k8s.io/v1"));
        assert_eq!(requested_version("application/json"), None);
    }

    #[test]
    fn deployment_rows_show_readiness() {
        let r = builtin("apps", "deployments").expect("served");
        let d = json!({"metadata": {"name": "web", "creationTimestamp": clock::now_rfc3339()},
            "spec": {"replicas": 2}, "status": {"readyReplicas": 1, "updatedReplicas": 2, "availableReplicas": 1}});
        let table = render(&r, "meta.k8s.io/v1", &[d], json!({}), None);
        assert_eq!(table["rows"][0]["cells"], json!(["web", "1/2", 2, 1, "0s"]));
        assert_eq!(table["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    }
}
