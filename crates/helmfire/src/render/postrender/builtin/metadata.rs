//! `commonLabels` and `commonAnnotations`: kustomize's `LabelTransformer` and
//! `AnnotationsTransformer` with the field specs of its `commonLabels` and `commonAnnotations`
//! (`internal/konfig/builtinpluginconsts`): metadata everywhere, pod templates, and for labels
//! also the selectors of the workloads, services and policies that select those pods.

use helmfire_value::yaml::v3::{Kind, Node};

use super::{kio, set_scalar_field};

/// One field spec: a `/`-separated path (`x[]` walks a list), for a kind (and group or version),
/// creating missing maps or not.
struct FieldSpec {
    path: &'static str,
    create: bool,
    group: Option<&'static str>,
    version: Option<&'static str>,
    kind: Option<&'static str>,
}

const fn spec(
    path: &'static str,
    create: bool,
    group: Option<&'static str>,
    version: Option<&'static str>,
    kind: Option<&'static str>,
) -> FieldSpec {
    FieldSpec {
        path,
        create,
        group,
        version,
        kind,
    }
}

const AFFINITY_PATHS: [&str; 5] = [
    "spec/template/spec/affinity/podAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAntiAffinity/preferredDuringSchedulingIgnoredDuringExecution/podAffinityTerm/labelSelector/matchLabels",
    "spec/template/spec/affinity/podAntiAffinity/requiredDuringSchedulingIgnoredDuringExecution/labelSelector/matchLabels",
    "spec/template/spec/topologySpreadConstraints/labelSelector/matchLabels",
];

/// kustomize's `commonLabels` field specs, in its order.
fn label_specs() -> Vec<FieldSpec> {
    let mut specs = vec![
        spec("spec/selector", true, None, Some("v1"), Some("Service")),
        spec("spec/selector", true, None, Some("v1"), Some("ReplicationController")),
        spec("spec/selector/matchLabels", true, None, None, Some("Deployment")),
    ];
    specs.extend(
        AFFINITY_PATHS
            .iter()
            .map(|p| spec(p, false, Some("apps"), None, Some("Deployment"))),
    );
    specs.push(spec("spec/selector/matchLabels", true, None, None, Some("ReplicaSet")));
    specs.push(spec("spec/selector/matchLabels", true, None, None, Some("DaemonSet")));
    specs.push(spec(
        "spec/selector/matchLabels",
        true,
        Some("apps"),
        None,
        Some("StatefulSet"),
    ));
    specs.extend(
        AFFINITY_PATHS
            .iter()
            .map(|p| spec(p, false, Some("apps"), None, Some("StatefulSet"))),
    );
    specs.extend([
        spec("spec/selector/matchLabels", false, Some("batch"), None, Some("Job")),
        spec(
            "spec/jobTemplate/spec/selector/matchLabels",
            false,
            Some("batch"),
            None,
            Some("CronJob"),
        ),
        spec(
            "spec/selector/matchLabels",
            false,
            Some("policy"),
            None,
            Some("PodDisruptionBudget"),
        ),
        spec(
            "spec/podSelector/matchLabels",
            false,
            Some("networking.k8s.io"),
            None,
            Some("NetworkPolicy"),
        ),
        spec(
            "spec/ingress/from/podSelector/matchLabels",
            false,
            Some("networking.k8s.io"),
            None,
            Some("NetworkPolicy"),
        ),
        spec(
            "spec/egress/to/podSelector/matchLabels",
            false,
            Some("networking.k8s.io"),
            None,
            Some("NetworkPolicy"),
        ),
        // metadataLabelsFieldSpecs
        spec("metadata/labels", true, None, None, None),
        spec(
            "spec/template/metadata/labels",
            true,
            None,
            Some("v1"),
            Some("ReplicationController"),
        ),
        spec("spec/template/metadata/labels", true, None, None, Some("Deployment")),
        spec("spec/template/metadata/labels", true, None, None, Some("ReplicaSet")),
        spec("spec/template/metadata/labels", true, None, None, Some("DaemonSet")),
        spec(
            "spec/template/metadata/labels",
            true,
            Some("apps"),
            None,
            Some("StatefulSet"),
        ),
        spec(
            "spec/volumeClaimTemplates[]/metadata/labels",
            true,
            Some("apps"),
            None,
            Some("StatefulSet"),
        ),
        spec("spec/template/metadata/labels", true, Some("batch"), None, Some("Job")),
        spec(
            "spec/jobTemplate/metadata/labels",
            true,
            Some("batch"),
            None,
            Some("CronJob"),
        ),
        spec(
            "spec/jobTemplate/spec/template/metadata/labels",
            true,
            Some("batch"),
            None,
            Some("CronJob"),
        ),
    ]);
    specs
}

/// kustomize's `commonAnnotations` field specs.
fn annotation_specs() -> Vec<FieldSpec> {
    vec![
        spec("metadata/annotations", true, None, None, None),
        spec(
            "spec/template/metadata/annotations",
            true,
            None,
            Some("v1"),
            Some("ReplicationController"),
        ),
        spec(
            "spec/template/metadata/annotations",
            true,
            None,
            None,
            Some("Deployment"),
        ),
        spec(
            "spec/template/metadata/annotations",
            true,
            None,
            None,
            Some("ReplicaSet"),
        ),
        spec(
            "spec/template/metadata/annotations",
            true,
            None,
            None,
            Some("DaemonSet"),
        ),
        spec(
            "spec/template/metadata/annotations",
            true,
            None,
            None,
            Some("StatefulSet"),
        ),
        spec(
            "spec/template/metadata/annotations",
            true,
            Some("batch"),
            None,
            Some("Job"),
        ),
        spec(
            "spec/jobTemplate/metadata/annotations",
            true,
            Some("batch"),
            None,
            Some("CronJob"),
        ),
        spec(
            "spec/jobTemplate/spec/template/metadata/annotations",
            true,
            Some("batch"),
            None,
            Some("CronJob"),
        ),
    ]
}

/// `commonLabels` and `commonAnnotations` of one post-renderer entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CommonMetadata {
    /// Sorted by key, as kustomize applies them.
    pub labels: Vec<(String, String)>,
    pub annotations: Vec<(String, String)>,
}

impl CommonMetadata {
    /// Labels first (kustomize's transformer order), then annotations, on a document whose
    /// head is `meta`.
    pub(super) fn apply(&self, document: &mut Node, meta: &kio::Meta) -> Result<(), String> {
        if !self.labels.is_empty() {
            set_entries(document, meta, &self.labels, &label_specs())?;
        }
        if !self.annotations.is_empty() {
            set_entries(document, meta, &self.annotations, &annotation_specs())?;
        }
        Ok(())
    }
}

fn set_entries(
    document: &mut Node,
    meta: &kio::Meta,
    entries: &[(String, String)],
    specs: &[FieldSpec],
) -> Result<(), String> {
    let (group, version) = super::group_version(&meta.api_version);
    for (key, value) in entries {
        for spec in specs {
            if spec.kind.is_some_and(|k| k != meta.kind)
                || spec.group.is_some_and(|g| g != group)
                || spec.version.is_some_and(|v| v != version)
            {
                continue;
            }
            let path: Vec<&str> = spec.path.split('/').collect();
            set_at(document.body_mut(), &path, spec.create, key, value).map_err(|e| {
                format!(
                    "considering field '{}' of object {}/{}: {e}",
                    spec.path, meta.kind, meta.name
                )
            })?;
        }
    }
    Ok(())
}

fn is_null(node: &Node) -> bool {
    node.tag == "!!null"
}

/// kustomize's `fieldspec.Filter`: follow `path`, creating maps when `create`, walking lists,
/// and set `key: value` in the map at the end.
fn set_at(node: &mut Node, path: &[&str], create: bool, key: &str, value: &str) -> Result<(), String> {
    let Some((first, rest)) = path.split_first() else {
        if node.kind != Kind::Mapping {
            return Err("expected a mapping".to_string());
        }
        set_scalar_field(node, key, Node::string(value));
        return Ok(());
    };
    if is_null(node) {
        return Ok(());
    }
    match node.kind {
        Kind::Sequence => {
            for element in &mut node.content {
                set_at(element, path, create, key, value)?;
            }
            Ok(())
        }
        Kind::Mapping => {
            let (name, is_list) = match first.strip_suffix("[]") {
                Some(name) => (name, true),
                None => (*first, false),
            };
            let index = match node.field_index(name) {
                Some(index) => index,
                None if create && !is_list => {
                    node.content.push(Node::scalar(name));
                    node.content.push(Node::mapping());
                    node.content.len() - 2
                }
                None => return Ok(()),
            };
            let child = &mut node.content[index + 1];
            if is_null(child) {
                return Ok(());
            }
            set_at(child, rest, create, key, value)
        }
        Kind::Alias => Ok(()),
        _ => Err("expected sequence or mapping node".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labelled(text: &str) -> String {
        let mut docs = crate::render::postrender::read_for_builtins(text);
        let common = CommonMetadata {
            labels: vec![("team".into(), "a".into())],
            annotations: vec![("owner".into(), "on".into())],
        };
        for doc in &mut docs {
            let (meta, _) = kio::get_meta(doc);
            common.apply(doc, &meta).expect("applies");
        }
        kio::string_all(docs).expect("writes")
    }

    #[test]
    fn labels_reach_selectors_and_templates() {
        let out = labelled("apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: s\n");
        assert_eq!(
            out,
            "apiVersion: apps/v1\nkind: StatefulSet\nmetadata:\n  name: s\n  labels:\n    team: a\n  annotations:\n    owner: \"on\"\nspec:\n  selector:\n    matchLabels:\n      team: a\n  template:\n    metadata:\n      labels:\n        team: a\n      annotations:\n        owner: \"on\"\n"
        );
    }

    #[test]
    fn optional_selectors_are_not_created() {
        let out = labelled(
            "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata:\n  name: p\nspec:\n  minAvailable: 1\n",
        );
        assert!(!out.contains("matchLabels"), "{out}");
        let out = labelled("apiVersion: v1\nkind: Service\nmetadata:\n  name: s\n");
        assert!(out.contains("spec:\n  selector:\n    team: a\n"), "{out}");
    }
}
