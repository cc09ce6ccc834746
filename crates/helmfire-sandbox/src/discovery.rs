//! Discovery documents: `/version`, legacy `/api`, `/apis`, `/apis/<g>`, `/<g>/<v>` resource
//! lists, and aggregated discovery (`apidiscovery.k8s.io` v2 and v2beta1). Renders from the
//! served resource set; no state of its own.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Value, json};

use super::resources::ResourceType;

/// The Kubernetes version the sandbox claims (helm compares chart `kubeVersion` to it).
pub const KUBERNETES_MINOR: &str = "34";

/// `/version`.
pub fn version() -> Value {
    json!({"major": "1", "minor": KUBERNETES_MINOR, "emulationMajor": "1", "emulationMinor": KUBERNETES_MINOR,
        "minCompatibilityMajor": "1", "minCompatibilityMinor": "33",
        "gitVersion": format!("v1.{KUBERNETES_MINOR}.0-helmfire-sandbox"), "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z", "goVersion": "go1.24.0", "compiler": "gc",
        "platform": "linux/amd64"})
}

/// Which aggregated-discovery form the `Accept` header asks for, if any.
pub fn aggregated_version(accept: &str) -> Option<&'static str> {
    for part in accept.split(',') {
        if part.contains("as=APIGroupDiscoveryList") && part.contains("g=apidiscovery.k8s.io") {
            if part.contains("v=v2beta1") {
                return Some("v2beta1");
            }
            if part.contains("v=v2") {
                return Some("v2");
            }
        }
    }
    None
}

/// Content type of an aggregated discovery answer.
pub fn aggregated_content_type(version: &str) -> String {
    format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList")
}

/// Groups in a stable order: (group, versions in preference order).
fn groups(resources: &[Arc<ResourceType>]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for r in resources.iter().filter(|r| !r.group.is_empty()) {
        match out.iter_mut().find(|(g, _)| *g == r.group) {
            Some((_, versions)) => {
                if !versions.contains(&r.version) {
                    versions.push(r.version.clone());
                }
            }
            None => out.push((r.group.clone(), vec![r.version.clone()])),
        }
    }
    for (_, versions) in out.iter_mut() {
        versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
    }
    out
}

// Kubernetes version ordering: GA > beta > alpha, higher numbers first.
fn version_priority(version: &str) -> (u8, u32, u32) {
    let rest = version.trim_start_matches('v');
    let (major, tail) = rest
        .find(|c: char| !c.is_ascii_digit())
        .map(|i| rest.split_at(i))
        .unwrap_or((rest, ""));
    let major = major.parse().unwrap_or(0);
    if let Some(n) = tail.strip_prefix("beta") {
        (1, major, n.parse().unwrap_or(0))
    } else if let Some(n) = tail.strip_prefix("alpha") {
        (0, major, n.parse().unwrap_or(0))
    } else if tail.is_empty() {
        (2, major, 0)
    } else {
        (0, 0, 0)
    }
}

/// Legacy `/api`.
pub fn api_versions(address: &str) -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}]})
}

fn group_value(group: &str, versions: &[String]) -> Value {
    let versions: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    json!({"name": group, "versions": versions, "preferredVersion": versions.first().cloned().unwrap_or(Value::Null)})
}

/// Legacy `/apis`.
pub fn api_group_list(resources: &[Arc<ResourceType>]) -> Value {
    let groups: Vec<Value> = groups(resources).iter().map(|(g, v)| group_value(g, v)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/<group>`, or None when the group is not served.
pub fn api_group(resources: &[Arc<ResourceType>], group: &str) -> Option<Value> {
    groups(resources).into_iter().find(|(g, _)| g == group).map(|(g, v)| {
        let mut value = group_value(&g, &v);
        value["kind"] = json!("APIGroup");
        value["apiVersion"] = json!("v1");
        value
    })
}

/// `/api/v1` or `/apis/<group>/<version>`, or None when not served.
pub fn api_resource_list(resources: &[Arc<ResourceType>], group: &str, version: &str) -> Option<Value> {
    let served: Vec<&Arc<ResourceType>> = resources
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .collect();
    if served.is_empty() {
        return None;
    }
    let mut list = Vec::new();
    for r in served {
        let mut entry = json!({"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
            "kind": r.kind, "verbs": r.verbs()});
        if !r.short_names.is_empty() {
            entry["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            entry["categories"] = json!(r.categories);
        }
        list.push(entry);
        if r.status_subresource {
            list.push(
                json!({"name": format!("{}/status", r.plural), "singularName": "", "namespaced": r.namespaced,
                "kind": r.kind, "verbs": ["get", "patch", "update"]}),
            );
        }
        if r.has_scale() {
            list.push(
                json!({"name": format!("{}/scale", r.plural), "singularName": "", "namespaced": r.namespaced,
                "group": "autoscaling", "version": "v1", "kind": "Scale", "verbs": ["get", "patch", "update"]}),
            );
        }
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": list}))
}

/// Aggregated discovery for the core group (`core == true`, `/api`) or all named groups.
pub fn aggregated(resources: &[Arc<ResourceType>], core: bool, version: &str) -> Value {
    let mut by_group: BTreeMap<(usize, String), Vec<&Arc<ResourceType>>> = BTreeMap::new();
    let order = groups(resources);
    for r in resources.iter().filter(|r| r.group.is_empty() == core) {
        let index = order.iter().position(|(g, _)| *g == r.group).unwrap_or(0);
        by_group.entry((index, r.group.clone())).or_default().push(r);
    }
    let items: Vec<Value> = by_group
        .into_iter()
        .map(|((_, group), members)| {
            let mut versions: Vec<String> = Vec::new();
            for r in &members {
                if !versions.contains(&r.version) {
                    versions.push(r.version.clone());
                }
            }
            versions.sort_by_key(|v| std::cmp::Reverse(version_priority(v)));
            let versions: Vec<Value> = versions
                .iter()
                .map(|v| {
                    let resources: Vec<Value> = members
                        .iter()
                        .filter(|r| &r.version == v)
                        .map(|r| {
                            let kind = json!({"group": r.group, "version": r.version, "kind": r.kind});
                            let mut entry = json!({"resource": r.plural, "responseKind": kind,
                                "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
                                "singularResource": r.singular, "verbs": r.verbs()});
                            if !r.short_names.is_empty() {
                                entry["shortNames"] = json!(r.short_names);
                            }
                            if !r.categories.is_empty() {
                                entry["categories"] = json!(r.categories);
                            }
                            let mut subresources = Vec::new();
                            if r.status_subresource {
                                subresources.push(json!({"subresource": "status", "responseKind": kind,
                                    "verbs": ["get", "patch", "update"]}));
                            }
                            if r.has_scale() {
                                subresources.push(json!({"subresource": "scale",
                                    "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
                                    "verbs": ["get", "patch", "update"]}));
                            }
                            if !subresources.is_empty() {
                                entry["subresources"] = json!(subresources);
                            }
                            entry
                        })
                        .collect();
                    json!({"version": v, "resources": resources, "freshness": "Current"})
                })
                .collect();
            let metadata = if core {
                json!({"creationTimestamp": null})
            } else {
                json!({"name": group, "creationTimestamp": null})
            };
            json!({"metadata": metadata, "versions": versions})
        })
        .collect();
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": format!("apidiscovery.k8s.io/{version}"),
        "metadata": {}, "items": items})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::builtins;

    #[test]
    fn negotiates_aggregated_discovery() {
        let accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(aggregated_version(accept), Some("v2"));
        assert_eq!(aggregated_version("application/json, */*"), None);
    }

    #[test]
    fn aggregated_lists_deployments_with_status() {
        let doc = aggregated(&builtins(), false, "v2");
        let apps = doc["items"]
            .as_array()
            .and_then(|items| items.iter().find(|i| i["metadata"]["name"] == "apps"))
            .expect("apps group");
        let deployments = apps["versions"][0]["resources"]
            .as_array()
            .and_then(|r| r.iter().find(|r| r["resource"] == "deployments"))
            .expect("deployments");
        assert_eq!(deployments["scope"], "Namespaced");
        assert_eq!(deployments["subresources"][0]["subresource"], "status");
    }

    #[test]
    fn legacy_resource_list_includes_status_subresources() {
        let list = api_resource_list(&builtins(), "apps", "v1").expect("served");
        let names: Vec<&str> = list["resources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["name"].as_str())
            .collect();
        assert!(names.contains(&"deployments/status"));
        assert!(api_resource_list(&builtins(), "nope", "v1").is_none());
    }
}
