//! The Kubernetes objects of a release manifest, for every stage that reads one — plan, observe,
//! converge, status: helm's `# Source:`-framed manifest parsed into JSON objects (a `List` kind
//! expanded into its items), their one identity ([`ObjectKey`]: group, kind, namespace, name —
//! helm's `objectKey`, so an apiVersion change of the same object is an update everywhere),
//! helm's ownership metadata, and the uninstall order. Pure: no cluster access.

use std::fmt;

use serde_json::Value as Json;

use crate::render::manifest::{INSTALL_ORDER, split_manifests};
use helmfire_value::json::{JsonStyle, encode};
use helmfire_value::yaml;

/// Label helm puts on every resource of a release.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Annotation naming the owning release.
pub const RELEASE_NAME_ANNOTATION: &str = "meta.helm.sh/release-name";
/// Annotation naming the owning release's namespace.
pub const RELEASE_NAMESPACE_ANNOTATION: &str = "meta.helm.sh/release-namespace";
/// `helm.sh/resource-policy: keep` keeps a resource on uninstall and upgrade.
pub const RESOURCE_POLICY_ANNOTATION: &str = "helm.sh/resource-policy";

/// One object of a manifest.
#[derive(Clone, Debug, PartialEq)]
pub struct Resource {
    /// The template it came from (`chart/templates/x.yaml`), or the hook path.
    pub source: String,
    pub api_version: String,
    pub kind: String,
    pub name: String,
    /// `metadata.namespace` as written; the engine fills in the release namespace for
    /// namespaced kinds.
    pub namespace: Option<String>,
    /// The whole object as JSON.
    pub object: Json,
}

/// Built-in kinds that are not namespaced (plus the common cluster-scoped CRDs of cert-manager):
/// what decides an object's namespace when no cluster is asked.
const CLUSTER_SCOPED: &[&str] = &[
    "APIService",
    "CertificateSigningRequest",
    "ClusterIssuer",
    "ClusterRole",
    "ClusterRoleBinding",
    "ComponentStatus",
    "CSIDriver",
    "CSINode",
    "CustomResourceDefinition",
    "FlowSchema",
    "IngressClass",
    "MutatingAdmissionPolicy",
    "MutatingAdmissionPolicyBinding",
    "MutatingWebhookConfiguration",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PodSecurityPolicy",
    "PriorityClass",
    "PriorityLevelConfiguration",
    "RuntimeClass",
    "StorageClass",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "VolumeAttachment",
];

/// Whether objects of `kind` live in a namespace, without asking a cluster. A custom
/// cluster-scoped kind counts as namespaced; both sides of every comparison are keyed the same
/// way, so comparisons stay consistent.
pub fn is_namespaced(kind: &str) -> bool {
    !CLUSTER_SCOPED.contains(&kind)
}

/// Identity of an object across revisions: group, kind, namespace and name (helm's
/// `objectKey` ignores the version).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey {
    /// The API group (empty for the core group).
    pub group: String,
    pub kind: String,
    /// `None` for cluster-scoped objects.
    pub namespace: Option<String>,
    pub name: String,
}

impl fmt::Display for ObjectKey {
    /// `Deployment quickstart/api`, or `ClusterRole reader` when cluster-scoped.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(namespace) => write!(f, "{} {namespace}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

impl Resource {
    /// The API group (empty for the core group).
    pub fn group(&self) -> &str {
        match self.api_version.split_once('/') {
            Some((group, _)) => group,
            None => "",
        }
    }

    /// The identity of the object in a release of `release_namespace`: a namespaced kind
    /// without `metadata.namespace` lives there, a cluster-scoped kind in no namespace.
    pub fn key(&self, release_namespace: &str) -> ObjectKey {
        let namespace = if is_namespaced(&self.kind) {
            Some(self.namespace.clone().unwrap_or_else(|| release_namespace.to_string()))
        } else {
            None
        };
        ObjectKey {
            group: self.group().to_string(),
            kind: self.kind.clone(),
            namespace,
            name: self.name.clone(),
        }
    }

    /// Whether this is a core `Secret` (its values are masked wherever they are shown).
    pub fn is_secret(&self) -> bool {
        self.kind == "Secret" && self.group().is_empty()
    }

    /// An annotation of the manifest object.
    pub fn annotation(&self, name: &str) -> Option<&str> {
        self.object["metadata"]["annotations"][name].as_str()
    }

    /// Whether the manifest says `helm.sh/resource-policy: keep` (trimmed, any case).
    pub fn keep_policy(&self) -> bool {
        self.annotation(RESOURCE_POLICY_ANNOTATION)
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("keep"))
    }

    /// Sets the namespace in the object too.
    pub fn set_namespace(&mut self, namespace: Option<&str>) {
        self.namespace = namespace.map(str::to_string);
        if let Some(metadata) = self.object.get_mut("metadata").and_then(Json::as_object_mut) {
            match namespace {
                Some(ns) => {
                    metadata.insert("namespace".into(), Json::String(ns.to_string()));
                }
                None => {
                    metadata.remove("namespace");
                }
            }
        }
    }

    /// Adds helm's ownership label and annotations (`setMetadataVisitor`); only on what is sent,
    /// never on the stored manifest.
    pub fn set_ownership(&mut self, release: &str, namespace: &str) {
        let Some(metadata) = self.object.get_mut("metadata").and_then(Json::as_object_mut) else {
            return;
        };
        let labels = metadata
            .entry("labels")
            .or_insert_with(|| Json::Object(Default::default()));
        if !labels.is_object() {
            *labels = Json::Object(Default::default());
        }
        if let Some(labels) = labels.as_object_mut() {
            labels.insert(MANAGED_BY_LABEL.into(), Json::String("Helm".into()));
        }
        let annotations = metadata
            .entry("annotations")
            .or_insert_with(|| Json::Object(Default::default()));
        if !annotations.is_object() {
            *annotations = Json::Object(Default::default());
        }
        if let Some(annotations) = annotations.as_object_mut() {
            annotations.insert(RELEASE_NAME_ANNOTATION.into(), Json::String(release.into()));
            annotations.insert(RELEASE_NAMESPACE_ANNOTATION.into(), Json::String(namespace.into()));
        }
    }
}

impl fmt::Display for Resource {
    /// `Kind/namespace/name`, or `Kind/name` for cluster-scoped objects (helm's style).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) if !ns.is_empty() => write!(f, "{}/{}/{}", self.kind, ns, self.name),
            _ => write!(f, "{}/{}", self.kind, self.name),
        }
    }
}

/// Why a manifest document is not a Kubernetes object.
#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    #[error("YAML parse error on `{source_path}`")]
    Yaml {
        source_path: String,
        #[source]
        source: yaml::YamlError,
    },
    #[error("`{source_path}` is not a Kubernetes object: {reason}")]
    NotAnObject { source_path: String, reason: String },
}

/// Parses a release manifest (documents framed by `# Source: <path>` headers) or a hook
/// manifest into objects, in order. Documents of only comments are skipped; a `List` kind
/// is expanded into its items.
pub fn parse_manifest(manifest: &str, default_source: &str) -> Result<Vec<Resource>, ObjectError> {
    let mut out = Vec::new();
    for document in split_manifests(manifest) {
        let source = document
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("# Source: "))
            .unwrap_or(default_source)
            .to_string();
        let value = yaml::decode(&document).map_err(|source_err| ObjectError::Yaml {
            source_path: source.clone(),
            source: source_err,
        })?;
        if value.is_nil() {
            continue;
        }
        let json = encode(&value, JsonStyle::Raw)
            .ok()
            .and_then(|text| serde_json::from_str::<Json>(&text).ok())
            .ok_or_else(|| ObjectError::NotAnObject {
                source_path: source.clone(),
                reason: "it cannot be represented as JSON".into(),
            })?;
        push_object(&mut out, &source, json)?;
    }
    Ok(out)
}

fn push_object(out: &mut Vec<Resource>, source: &str, json: Json) -> Result<(), ObjectError> {
    let not = |reason: &str| ObjectError::NotAnObject {
        source_path: source.to_string(),
        reason: reason.to_string(),
    };
    if !json.is_object() {
        return Err(not("the document is not a mapping"));
    }
    let api_version = json["apiVersion"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| not("`apiVersion` is missing"))?
        .to_string();
    let kind = json["kind"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| not("`kind` is missing"))?
        .to_string();
    if kind.ends_with("List") && json["items"].is_array() {
        if let Json::Array(items) = json["items"].clone() {
            for item in items {
                push_object(out, source, item)?;
            }
        }
        return Ok(());
    }
    let name = json["metadata"]["name"]
        .as_str()
        .filter(|s| !s.is_empty())
        .ok_or_else(|| not("`metadata.name` is missing"))?
        .to_string();
    let namespace = json["metadata"]["namespace"]
        .as_str()
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    out.push(Resource {
        source: source.to_string(),
        api_version,
        kind,
        name,
        namespace,
        object: json,
    });
    Ok(())
}

/// Helm's `UninstallOrder`: install order reversed, with `Service` moved up after `IngressClass`.
pub fn uninstall_rank(kind: &str) -> usize {
    const UNINSTALL_ORDER: &[&str] = &[
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
        "APIService",
        "Ingress",
        "IngressClass",
        "Service",
        "CronJob",
        "Job",
        "StatefulSet",
        "HorizontalPodAutoscaler",
        "Deployment",
        "ReplicaSet",
        "ReplicationController",
        "Pod",
        "DaemonSet",
        "RoleBindingList",
        "RoleBinding",
        "RoleList",
        "Role",
        "ClusterRoleBindingList",
        "ClusterRoleBinding",
        "ClusterRoleList",
        "ClusterRole",
        "CustomResourceDefinition",
        "PersistentVolumeClaim",
        "PersistentVolume",
        "StorageClass",
        "ConfigMap",
        "SecretList",
        "Secret",
        "ServiceAccount",
        "PodDisruptionBudget",
        "PodSecurityPolicy",
        "LimitRange",
        "ResourceQuota",
        "NetworkPolicy",
        "Namespace",
        "PriorityClass",
    ];
    debug_assert_eq!(UNINSTALL_ORDER.len(), INSTALL_ORDER.len());
    UNINSTALL_ORDER
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(UNINSTALL_ORDER.len())
}

/// Sorts objects into uninstall order (stable; unknown kinds last, by kind name).
pub fn sort_for_uninstall(resources: &mut [Resource]) {
    resources.sort_by(|a, b| {
        let (ra, rb) = (uninstall_rank(&a.kind), uninstall_rank(&b.kind));
        ra.cmp(&rb).then_with(|| {
            if ra == INSTALL_ORDER.len() {
                a.kind.cmp(&b.kind)
            } else {
                std::cmp::Ordering::Equal
            }
        })
    });
}

/// Groups consecutive objects of the same kind (helm applies each group in parallel and waits
/// for it before the next kind).
pub fn kind_batches(resources: &[Resource]) -> Vec<&[Resource]> {
    let mut batches = Vec::new();
    let mut start = 0;
    for i in 1..=resources.len() {
        if i == resources.len() || resources[i].kind != resources[start].kind {
            if i > start {
                batches.push(&resources[start..i]);
            }
            start = i;
        }
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = "---\n# Source: c/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  n: \"1\"\n---\n# Source: c/templates/empty.yaml\n# only a comment\n---\n# Source: c/templates/deploy.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: other\nspec:\n  replicas: 2\n";

    #[test]
    fn parses_documents_with_their_source() {
        let objects = parse_manifest(MANIFEST, "x").unwrap();
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[0].source, "c/templates/cm.yaml");
        assert_eq!(objects[0].kind, "ConfigMap");
        assert_eq!(objects[0].namespace, None);
        assert_eq!(objects[1].group(), "apps");
        assert_eq!(objects[1].namespace.as_deref(), Some("other"));
        assert_eq!(objects[1].object["spec"]["replicas"], 2);
        assert_eq!(objects[1].to_string(), "Deployment/other/web");
    }

    #[test]
    fn rejects_documents_that_are_not_objects() {
        let err = parse_manifest("---\n# Source: c/templates/x.yaml\nkind: ConfigMap\n", "x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "`c/templates/x.yaml` is not a Kubernetes object: `apiVersion` is missing"
        );
        let err = parse_manifest("---\n# Source: c/t.yaml\n- a\n", "x").unwrap_err();
        assert!(err.to_string().contains("not a mapping"), "{err}");
        let err = parse_manifest("---\n# Source: c/t.yaml\na: [\n", "x").unwrap_err();
        assert!(err.to_string().contains("YAML parse error on `c/t.yaml`"), "{err}");
        let err = parse_manifest("apiVersion: v1\nkind: Pod\nmetadata: {}\n", "hook.yaml").unwrap_err();
        assert!(err.to_string().contains("`hook.yaml`"), "{err}");
    }

    #[test]
    fn ownership_metadata_is_added_to_what_is_sent() {
        let mut objects = parse_manifest(MANIFEST, "x").unwrap();
        objects[0].set_ownership("rel", "ns");
        let metadata = &objects[0].object["metadata"];
        assert_eq!(metadata["labels"][MANAGED_BY_LABEL], "Helm");
        assert_eq!(metadata["annotations"][RELEASE_NAME_ANNOTATION], "rel");
        assert_eq!(metadata["annotations"][RELEASE_NAMESPACE_ANNOTATION], "ns");
    }

    #[test]
    fn uninstall_order_moves_services_up() {
        let mut objects: Vec<Resource> = ["ConfigMap", "Service", "Deployment", "Zed", "Ingress", "Abc"]
            .iter()
            .map(|kind| Resource {
                source: String::new(),
                api_version: "v1".into(),
                kind: kind.to_string(),
                name: "n".into(),
                namespace: None,
                object: Json::Null,
            })
            .collect();
        sort_for_uninstall(&mut objects);
        let kinds: Vec<&str> = objects.iter().map(|o| o.kind.as_str()).collect();
        assert_eq!(kinds, ["Ingress", "Service", "Deployment", "ConfigMap", "Abc", "Zed"]);
    }

    #[test]
    fn keep_policy_is_trimmed_and_case_insensitive() {
        let objects = parse_manifest(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  annotations:\n    helm.sh/resource-policy: \" Keep \"\n",
            "x",
        )
        .unwrap();
        assert!(objects[0].keep_policy());
    }
}
