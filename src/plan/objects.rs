//! A release manifest split into Kubernetes objects keyed by (apiVersion, kind, namespace, name).
//!
//! Namespaced objects without `metadata.namespace` belong to the release namespace, as Helm
//! applies them. Without a cluster at hand, whether a kind is namespaced comes from the list of
//! cluster-scoped built-in kinds below (a custom cluster-scoped kind keeps whatever namespace
//! the manifest gives it, on both sides alike, so comparisons stay consistent).

use std::fmt;

use thiserror::Error;

use crate::value::{Value, yaml};

/// Built-in kinds that are not namespaced (plus the common cluster-scoped CRDs of cert-manager).
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

/// Whether objects of `kind` live in a namespace.
pub fn is_namespaced(kind: &str) -> bool {
    !CLUSTER_SCOPED.contains(&kind)
}

/// Identifies one object of a release.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub api_version: String,
    pub kind: String,
    /// `None` for cluster-scoped kinds.
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

/// One object of a manifest.
#[derive(Clone, Debug)]
pub struct Object {
    pub key: ObjectKey,
    /// The decoded document.
    pub value: Value,
}

impl Object {
    pub fn is_secret(&self) -> bool {
        self.key.kind == "Secret" && (self.key.api_version == "v1" || self.key.api_version.is_empty())
    }
}

/// A manifest document that is not a Kubernetes object.
#[derive(Debug, Error)]
pub enum ObjectError {
    #[error("document {document} is not valid YAML")]
    Yaml {
        /// 1-based, counting non-empty documents.
        document: usize,
        #[source]
        source: Box<yaml::YamlError>,
    },
    #[error("document {document} has no `{field}`")]
    MissingField { document: usize, field: &'static str },
    #[error("document {document} is not a mapping")]
    NotAMapping { document: usize },
}

/// Splits a release manifest (`---`-separated documents, `# Source:` comments) into objects, in
/// manifest order. Empty documents are skipped; a later duplicate of a key replaces the earlier.
pub fn parse_manifest(manifest: &str, release_namespace: &str) -> Result<Vec<Object>, ObjectError> {
    let documents = yaml::split_documents(manifest).map_err(|source| ObjectError::Yaml {
        document: 1,
        source: Box::new(source),
    })?;
    let mut objects: Vec<Object> = Vec::with_capacity(documents.len());
    let mut number = 0;
    for text in documents {
        if text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'))
        {
            continue;
        }
        number += 1;
        let value = yaml::decode(text).map_err(|source| ObjectError::Yaml {
            document: number,
            source: Box::new(source),
        })?;
        if value.is_nil() {
            continue;
        }
        let key = {
            let Some(map) = value.as_map() else {
                return Err(ObjectError::NotAMapping { document: number });
            };
            let map = map.read();
            let text_field = |name: &'static str| map.get(name).and_then(Value::as_str).map(str::to_string);
            let api_version = text_field("apiVersion").ok_or(ObjectError::MissingField {
                document: number,
                field: "apiVersion",
            })?;
            let kind = text_field("kind").ok_or(ObjectError::MissingField {
                document: number,
                field: "kind",
            })?;
            let metadata = map.get("metadata").and_then(Value::as_map).map(|m| m.read().clone());
            let metadata_text = |name: &str| {
                metadata
                    .as_ref()
                    .and_then(|m| m.get(name).and_then(Value::as_str).map(str::to_string))
            };
            let name = metadata_text("name")
                .filter(|n| !n.is_empty())
                .ok_or(ObjectError::MissingField {
                    document: number,
                    field: "metadata.name",
                })?;
            let namespace = if is_namespaced(&kind) {
                Some(
                    metadata_text("namespace")
                        .filter(|n| !n.is_empty())
                        .unwrap_or_else(|| release_namespace.to_string()),
                )
            } else {
                None
            };
            ObjectKey {
                api_version,
                kind,
                namespace,
                name,
            }
        };
        match objects.iter_mut().find(|o| o.key == key) {
            Some(existing) => existing.value = value,
            None => objects.push(Object { key, value }),
        }
    }
    Ok(objects)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_default_to_the_release_namespace_for_namespaced_kinds_only() {
        let manifest = "---\n# Source: app/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n\
            ---\n# Source: app/templates/b.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  namespace: other\n\
            ---\n# Source: app/templates/c.yaml\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: c\n  namespace: ignored\n";
        let objects = parse_manifest(manifest, "prod").unwrap();
        let keys: Vec<String> = objects.iter().map(|o| o.key.to_string()).collect();
        assert_eq!(keys, ["ConfigMap prod/a", "ConfigMap other/b", "ClusterRole c"]);
    }

    #[test]
    fn empty_and_comment_only_documents_are_skipped() {
        let manifest =
            "---\n# Source: x/templates/empty.yaml\n---\n\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n";
        let objects = parse_manifest(manifest, "ns").unwrap();
        assert_eq!(objects.len(), 1);
        assert_eq!(objects[0].key.to_string(), "Service ns/s");
    }

    #[test]
    fn documents_without_identity_are_errors_naming_the_document() {
        let error = parse_manifest("apiVersion: v1\nkind: Service\nmetadata: {}\n", "ns").unwrap_err();
        assert_eq!(error.to_string(), "document 1 has no `metadata.name`");
        let error = parse_manifest("---\nkind: A\nmetadata: {name: a}\n", "ns").unwrap_err();
        assert_eq!(error.to_string(), "document 1 has no `apiVersion`");
        let error = parse_manifest("- a\n- b\n", "ns").unwrap_err();
        assert_eq!(error.to_string(), "document 1 is not a mapping");
        let error = parse_manifest("a: [\n", "ns").unwrap_err();
        assert!(error.to_string().starts_with("document 1 is not valid YAML"), "{error}");
    }

    #[test]
    fn a_later_duplicate_replaces_the_earlier() {
        let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: '1'}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: '2'}\n";
        let objects = parse_manifest(manifest, "ns").unwrap();
        assert_eq!(objects.len(), 1);
        assert!(yaml::encode(&objects[0].value).unwrap().contains("x: \"2\""));
    }
}
