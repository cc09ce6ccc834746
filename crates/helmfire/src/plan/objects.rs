//! The objects a plan compares: a release manifest parsed by the one manifest parser
//! ([`crate::manifest`]), keyed by the one object identity, and decoded into Go-shaped values
//! whose canonical YAML is diffed. A later duplicate of a key replaces the earlier one, as the
//! API server's last write would.

use helmfire_value::{Value, interop};

use crate::manifest::{self, ObjectError, ObjectKey};

/// One object of a manifest, as the plan compares it.
#[derive(Clone, Debug)]
pub struct Object {
    pub key: ObjectKey,
    /// Its `apiVersion` as written (identity ignores the version).
    pub api_version: String,
    /// The decoded document.
    pub value: Value,
    /// A core `Secret`: its values are masked.
    pub secret: bool,
}

/// The objects of a release manifest in a release of `release_namespace`, in manifest order.
pub fn parse_manifest(text: &str, release_namespace: &str) -> Result<Vec<Object>, ObjectError> {
    let mut objects: Vec<Object> = Vec::new();
    for resource in manifest::parse_manifest(text, "manifest")? {
        let object = Object {
            key: resource.key(release_namespace),
            api_version: resource.api_version.clone(),
            value: interop::from_json(&resource.object),
            secret: resource.is_secret(),
        };
        match objects.iter_mut().find(|existing| existing.key == object.key) {
            Some(existing) => *existing = object,
            None => objects.push(object),
        }
    }
    Ok(objects)
}

#[cfg(test)]
mod tests {
    use super::*;
    use helmfire_value::yaml;

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
    fn an_api_version_change_is_the_same_object() {
        let old = parse_manifest(
            "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: a}\n",
            "ns",
        )
        .unwrap();
        let new = parse_manifest(
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: a}\n",
            "ns",
        )
        .unwrap();
        assert_eq!(old[0].key, new[0].key);
        assert_ne!(old[0].api_version, new[0].api_version);
    }

    #[test]
    fn documents_without_identity_are_errors_naming_the_document() {
        let error = parse_manifest("apiVersion: v1\nkind: Service\nmetadata: {}\n", "ns").unwrap_err();
        assert_eq!(
            error.to_string(),
            "`manifest` is not a Kubernetes object: `metadata.name` is missing"
        );
        let error = parse_manifest("---\n# Source: c/a.yaml\nkind: A\nmetadata: {name: a}\n", "ns").unwrap_err();
        assert_eq!(
            error.to_string(),
            "`c/a.yaml` is not a Kubernetes object: `apiVersion` is missing"
        );
        let error = parse_manifest("- a\n- b\n", "ns").unwrap_err();
        assert!(error.to_string().contains("not a mapping"), "{error}");
        let error = parse_manifest("a: [\n", "ns").unwrap_err();
        assert!(
            error.to_string().starts_with("YAML parse error on `manifest`"),
            "{error}"
        );
    }

    #[test]
    fn a_later_duplicate_replaces_the_earlier() {
        let manifest = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: '1'}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: '2'}\n";
        let objects = parse_manifest(manifest, "ns").unwrap();
        assert_eq!(objects.len(), 1);
        assert!(yaml::encode(&objects[0].value).unwrap().contains("x: \"2\""));
    }
}
