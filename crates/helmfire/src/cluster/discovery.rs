//! Discovery with a process-wide cache: one `GET /api/v1` or `/apis/GROUP/VERSION` per
//! group-version actually used (not the whole API surface), refreshed once when a kind is
//! missing so that CRDs created mid-run resolve.

use std::collections::HashMap;
use std::sync::RwLock;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList;
use kube::core::{ApiResource, GroupVersionKind};

use super::{Cluster, ClusterError, ObjectRef};

/// A resolved resource type: the API resource (group, version, kind, plural) and whether its
/// objects live in namespaces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceType {
    pub api_resource: ApiResource,
    pub namespaced: bool,
}

/// Kinds served by each group-version seen so far, keyed by `apiVersion`.
#[derive(Default)]
pub(super) struct Discovery {
    versions: RwLock<HashMap<String, HashMap<String, ResourceType>>>,
}

impl Discovery {
    pub(super) async fn resolve(
        &self,
        cluster: &Cluster,
        api_version: &str,
        kind: &str,
    ) -> Result<ResourceType, ClusterError> {
        if let Some(found) = self
            .versions
            .read()
            .expect("discovery cache")
            .get(api_version)
            .and_then(|kinds| kinds.get(kind))
        {
            return Ok(found.clone());
        }
        let kinds = fetch(cluster, api_version).await?;
        let found = kinds.get(kind).cloned();
        self.versions
            .write()
            .expect("discovery cache")
            .insert(api_version.to_string(), kinds);
        found.ok_or_else(|| ClusterError::UnknownKind {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
        })
    }
}

async fn fetch(cluster: &Cluster, api_version: &str) -> Result<HashMap<String, ResourceType>, ClusterError> {
    let (group, version) = match api_version.split_once('/') {
        Some((group, version)) => (group, version),
        None => ("", api_version),
    };
    let client = cluster.client();
    let answer: Result<APIResourceList, kube::Error> = cluster
        .with_retries("discover", api_version, || async {
            if group.is_empty() {
                client.list_core_api_resources(version).await
            } else {
                client.list_api_group_resources(api_version).await
            }
        })
        .await;
    let list = match answer {
        Ok(list) => list,
        // An unknown group-version serves no kinds at all.
        Err(kube::Error::Api(status)) if status.code == 404 => return Ok(HashMap::new()),
        Err(source) => {
            let subject = ObjectRef::new(api_version, "APIResourceList", None, api_version);
            return Err(ClusterError::Discovery {
                api_version: api_version.to_string(),
                source: Box::new(ClusterError::request("discover", &subject, source)),
            });
        }
    };
    let mut kinds = HashMap::new();
    for resource in list.resources {
        // Subresources (`deployments/status`) share their parent's kind.
        if resource.name.contains('/') {
            continue;
        }
        let gvk = GroupVersionKind::gvk(group, version, &resource.kind);
        kinds.insert(
            resource.kind.clone(),
            ResourceType {
                api_resource: ApiResource::from_gvk_with_plural(&gvk, &resource.name),
                namespaced: resource.namespaced,
            },
        );
    }
    Ok(kinds)
}
