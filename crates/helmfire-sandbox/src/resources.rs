//! The resource types the sandbox serves: the built-in table and types derived from established
//! CustomResourceDefinitions. Describes resources; stores nothing.

use std::sync::Arc;

use serde_json::Value;

use super::schema::{self, Node};

/// One served resource (a group/version/plural with its kind and scope).
#[derive(Debug, Clone)]
pub struct ResourceType {
    /// API group, `""` for core.
    pub group: String,
    /// Served version.
    pub version: String,
    /// Plural resource name (`deployments`).
    pub plural: String,
    /// Singular name (`deployment`).
    pub singular: String,
    /// Kind (`Deployment`).
    pub kind: String,
    /// Namespaced or cluster-scoped.
    pub namespaced: bool,
    /// kubectl short names.
    pub short_names: Vec<String>,
    /// Categories (`all`).
    pub categories: Vec<String>,
    /// Whether `/status` is a subresource (main writes then keep the stored status).
    pub status_subresource: bool,
    /// Whether generation tracks spec changes (false for data-only kinds like ConfigMap).
    pub has_spec: bool,
    /// Schema of the object, for field validation, patches and apply.
    pub schema: Node,
    /// Whether protobuf / strategic merge patch apply (built-in kinds only).
    pub builtin: bool,
}

impl ResourceType {
    /// `deployments.apps` or `configmaps`: the form used in error messages.
    pub fn group_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// `apps/v1` or `v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Whether `/scale` is served (autoscaling/v1 Scale over `spec.replicas`).
    pub fn has_scale(&self) -> bool {
        matches!(
            (self.group.as_str(), self.kind.as_str()),
            ("apps", "Deployment" | "ReplicaSet" | "StatefulSet") | ("", "ReplicationController")
        )
    }

    /// The verbs advertised in discovery.
    pub fn verbs(&self) -> Vec<&'static str> {
        vec![
            "create",
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "update",
            "watch",
        ]
    }
}

// (group, version, plural, kind, namespaced, short names, status subresource, has spec, in "all")
type Row = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    bool,
    &'static [&'static str],
    bool,
    bool,
    bool,
);

const BUILTINS: &[Row] = &[
    ("", "v1", "namespaces", "Namespace", false, &["ns"], true, true, false),
    ("", "v1", "configmaps", "ConfigMap", true, &["cm"], false, false, false),
    ("", "v1", "secrets", "Secret", true, &[], false, false, false),
    ("", "v1", "services", "Service", true, &["svc"], true, true, true),
    (
        "",
        "v1",
        "serviceaccounts",
        "ServiceAccount",
        true,
        &["sa"],
        false,
        false,
        false,
    ),
    ("", "v1", "pods", "Pod", true, &["po"], true, true, true),
    ("", "v1", "events", "Event", true, &["ev"], false, false, false),
    (
        "",
        "v1",
        "persistentvolumeclaims",
        "PersistentVolumeClaim",
        true,
        &["pvc"],
        true,
        true,
        false,
    ),
    (
        "",
        "v1",
        "persistentvolumes",
        "PersistentVolume",
        false,
        &["pv"],
        true,
        true,
        false,
    ),
    ("", "v1", "endpoints", "Endpoints", true, &["ep"], false, false, false),
    ("", "v1", "nodes", "Node", false, &["no"], true, true, false),
    (
        "",
        "v1",
        "limitranges",
        "LimitRange",
        true,
        &["limits"],
        false,
        true,
        false,
    ),
    (
        "",
        "v1",
        "resourcequotas",
        "ResourceQuota",
        true,
        &["quota"],
        true,
        true,
        false,
    ),
    (
        "",
        "v1",
        "replicationcontrollers",
        "ReplicationController",
        true,
        &["rc"],
        true,
        true,
        true,
    ),
    ("", "v1", "podtemplates", "PodTemplate", true, &[], false, false, false),
    (
        "apps",
        "v1",
        "deployments",
        "Deployment",
        true,
        &["deploy"],
        true,
        true,
        true,
    ),
    (
        "apps",
        "v1",
        "replicasets",
        "ReplicaSet",
        true,
        &["rs"],
        true,
        true,
        true,
    ),
    (
        "apps",
        "v1",
        "statefulsets",
        "StatefulSet",
        true,
        &["sts"],
        true,
        true,
        true,
    ),
    ("apps", "v1", "daemonsets", "DaemonSet", true, &["ds"], true, true, true),
    (
        "apps",
        "v1",
        "controllerrevisions",
        "ControllerRevision",
        true,
        &[],
        false,
        false,
        false,
    ),
    ("batch", "v1", "jobs", "Job", true, &[], true, true, true),
    ("batch", "v1", "cronjobs", "CronJob", true, &["cj"], true, true, true),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "roles",
        "Role",
        true,
        &[],
        false,
        false,
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "rolebindings",
        "RoleBinding",
        true,
        &[],
        false,
        false,
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "clusterroles",
        "ClusterRole",
        false,
        &[],
        false,
        false,
        false,
    ),
    (
        "rbac.authorization.k8s.io",
        "v1",
        "clusterrolebindings",
        "ClusterRoleBinding",
        false,
        &[],
        false,
        false,
        false,
    ),
    (
        "networking.k8s.io",
        "v1",
        "ingresses",
        "Ingress",
        true,
        &["ing"],
        true,
        true,
        false,
    ),
    (
        "networking.k8s.io",
        "v1",
        "networkpolicies",
        "NetworkPolicy",
        true,
        &["netpol"],
        false,
        true,
        false,
    ),
    (
        "networking.k8s.io",
        "v1",
        "ingressclasses",
        "IngressClass",
        false,
        &[],
        false,
        true,
        false,
    ),
    (
        "policy",
        "v1",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        true,
        &["pdb"],
        true,
        true,
        false,
    ),
    (
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        false,
        &["crd", "crds"],
        true,
        true,
        false,
    ),
    (
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        true,
        &["hpa"],
        true,
        true,
        true,
    ),
    (
        "storage.k8s.io",
        "v1",
        "storageclasses",
        "StorageClass",
        false,
        &["sc"],
        false,
        false,
        false,
    ),
    (
        "coordination.k8s.io",
        "v1",
        "leases",
        "Lease",
        true,
        &[],
        false,
        true,
        false,
    ),
    (
        "scheduling.k8s.io",
        "v1",
        "priorityclasses",
        "PriorityClass",
        false,
        &["pc"],
        false,
        false,
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "validatingwebhookconfigurations",
        "ValidatingWebhookConfiguration",
        false,
        &[],
        false,
        false,
        false,
    ),
    (
        "admissionregistration.k8s.io",
        "v1",
        "mutatingwebhookconfigurations",
        "MutatingWebhookConfiguration",
        false,
        &[],
        false,
        false,
        false,
    ),
];

/// Every built-in resource type.
pub fn builtins() -> Vec<Arc<ResourceType>> {
    BUILTINS
        .iter()
        .map(
            |&(group, version, plural, kind, namespaced, short, status, spec, all)| {
                Arc::new(ResourceType {
                    group: group.into(),
                    version: version.into(),
                    plural: plural.into(),
                    singular: kind.to_ascii_lowercase(),
                    kind: kind.into(),
                    namespaced,
                    short_names: short.iter().map(|s| s.to_string()).collect(),
                    categories: if all { vec!["all".into()] } else { vec![] },
                    status_subresource: status,
                    has_spec: spec,
                    schema: schema::builtin_kind(group, version, kind),
                    builtin: true,
                })
            },
        )
        .collect()
}

/// One built-in resource by group and plural.
pub fn builtin(group: &str, plural: &str) -> Option<Arc<ResourceType>> {
    builtins().into_iter().find(|r| r.group == group && r.plural == plural)
}

/// The resource types an established CRD serves (one per served version).
pub fn from_crd(crd: &Value) -> Vec<Arc<ResourceType>> {
    let spec = &crd["spec"];
    let (Some(group), Some(plural), Some(kind)) = (
        spec["group"].as_str(),
        spec["names"]["plural"].as_str(),
        spec["names"]["kind"].as_str(),
    ) else {
        return Vec::new();
    };
    let singular = spec["names"]["singular"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| kind.to_ascii_lowercase());
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
            .unwrap_or_default()
    };
    let namespaced = spec["scope"].as_str() != Some("Cluster");
    spec["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|v| v["served"].as_bool().unwrap_or(true))
        .filter_map(|v| {
            let version = v["name"].as_str()?;
            Some(Arc::new(ResourceType {
                group: group.into(),
                version: version.into(),
                plural: plural.into(),
                singular: singular.clone(),
                kind: kind.into(),
                namespaced,
                short_names: strings(&spec["names"]["shortNames"]),
                categories: strings(&spec["names"]["categories"]),
                status_subresource: v["subresources"]["status"].is_object(),
                has_spec: true,
                schema: schema::from_openapi_v3(&v["schema"]["openAPIV3Schema"]),
                builtin: false,
            }))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_builtin_has_a_schema() {
        for resource in builtins() {
            assert!(!matches!(resource.schema, Node::Any), "{} has no schema", resource.kind);
        }
    }

    #[test]
    fn crd_serves_each_served_version() {
        let crd = json!({"spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "subresources": {"status": {}}},
                         {"name": "v0", "served": false}]}});
        let types = from_crd(&crd);
        assert_eq!(types.len(), 1);
        assert_eq!(types[0].singular, "widget");
        assert!(types[0].status_subresource);
    }
}
