//! OpenAPI v3 documents: the index at `/openapi/v3` and one document per group-version with the
//! PATCH operations (tagged `x-kubernetes-group-version-kind`, with a `fieldValidation` query
//! parameter) that kubectl checks before delegating validation to the server.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::resources::ResourceType;

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

// FNV-1a: a stable cache key that changes whenever the served set changes.
fn hash(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016X}")
}

fn group_versions(resources: &[Arc<ResourceType>]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for r in resources {
        let gv = (r.group.clone(), r.version.clone());
        if !out.contains(&gv) {
            out.push(gv);
        }
    }
    out
}

fn fingerprint(resources: &[Arc<ResourceType>], group: &str, version: &str) -> String {
    let kinds: Vec<String> = resources
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .map(|r| format!("{}:{}:{}", r.plural, r.kind, r.namespaced))
        .collect();
    hash(&format!("{group}/{version}/{}", kinds.join(",")))
}

/// `/openapi/v3`.
pub fn index(resources: &[Arc<ResourceType>]) -> Value {
    let mut paths = Map::new();
    for (group, version) in group_versions(resources) {
        let path = gv_path(&group, &version);
        let url = format!("/openapi/v3/{path}?hash={}", fingerprint(resources, &group, &version));
        paths.insert(path, json!({"serverRelativeURL": url}));
    }
    json!({"paths": paths})
}

fn query_parameter(name: &str) -> Value {
    json!({"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": true}})
}

/// The document for `api/v1` or `apis/<g>/<v>`; None when not served.
pub fn document(resources: &[Arc<ResourceType>], path: &str) -> Option<Value> {
    let (group, version) = match path.split('/').collect::<Vec<_>>().as_slice() {
        ["api", v] => (String::new(), v.to_string()),
        ["apis", g, v] => (g.to_string(), v.to_string()),
        _ => return None,
    };
    let served: Vec<&Arc<ResourceType>> = resources
        .iter()
        .filter(|r| r.group == group && r.version == version)
        .collect();
    if served.is_empty() {
        return None;
    }
    let prefix = format!("/{}", gv_path(&group, &version));
    let mut paths = Map::new();
    for r in served {
        let gvk = json!({"group": r.group, "version": r.version, "kind": r.kind});
        let item = if r.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}/{{name}}", r.plural)
        } else {
            format!("{prefix}/{}/{{name}}", r.plural)
        };
        let operation = |verb: &str| {
            json!({"operationId": format!("{verb}{}", r.kind), "x-kubernetes-action": verb,
                "x-kubernetes-group-version-kind": gvk,
                "parameters": [query_parameter("dryRun"), query_parameter("fieldManager"),
                    query_parameter("fieldValidation"), query_parameter("force")],
                "responses": {"200": {"description": "OK"}}})
        };
        paths.insert(
            item,
            json!({"get": operation("get"), "put": operation("put"), "patch": operation("patch"),
                "delete": operation("delete")}),
        );
        let collection = if r.namespaced {
            format!("{prefix}/namespaces/{{namespace}}/{}", r.plural)
        } else {
            format!("{prefix}/{}", r.plural)
        };
        paths.insert(collection, json!({"get": operation("list"), "post": operation("post")}));
    }
    Some(json!({"openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": format!("v1.{}.0", super::discovery::KUBERNETES_MINOR)},
        "paths": paths, "components": {"schemas": {}}}))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::builtins;

    #[test]
    fn patch_operations_carry_gvk_and_field_validation() {
        let doc = document(&builtins(), "apis/apps/v1").expect("served");
        let patch = &doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"];
        assert_eq!(patch["x-kubernetes-group-version-kind"]["kind"], "Deployment");
        assert!(
            patch["parameters"]
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p["name"] == "fieldValidation"))
        );
    }

    #[test]
    fn index_links_every_group_version() {
        let index = index(&builtins());
        let url = index["paths"]["api/v1"]["serverRelativeURL"]
            .as_str()
            .expect("core listed");
        assert!(url.starts_with("/openapi/v3/api/v1?hash="));
    }
}
