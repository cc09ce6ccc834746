//! Label and field selectors as the `labelSelector`/`fieldSelector` query parameters spell them.
//! Parses and matches; knows nothing of the store.

use serde_json::Value;

use super::status::ApiError;

pub use helmfire_schema::selector::LabelSelector;

/// A parsed field selector over `metadata.name`, `metadata.namespace` and a few kind fields.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector(Vec<(String, bool, String)>);

const SUPPORTED_FIELDS: &[&str] = &[
    "metadata.name",
    "metadata.namespace",
    "status.phase",
    "spec.nodeName",
    "type",
    // Events (what `kubectl events --for` and `--field-selector reason=…` send).
    "involvedObject.name",
    "involvedObject.namespace",
    "involvedObject.kind",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
];

impl FieldSelector {
    /// Parses `metadata.name=x,metadata.namespace!=y`.
    pub fn parse(text: &str) -> Result<Self, ApiError> {
        let mut out = Vec::new();
        if text.trim().is_empty() {
            return Ok(Self(out));
        }
        for term in text.split(',') {
            let (field, negate, value) = if let Some((f, v)) = term.split_once("!=") {
                (f, true, v)
            } else if let Some((f, v)) = term.split_once("==") {
                (f, false, v)
            } else if let Some((f, v)) = term.split_once('=') {
                (f, false, v)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{text}'; can't understand '{term}'"
                )));
            };
            let field = field.trim();
            if !SUPPORTED_FIELDS.contains(&field) {
                return Err(ApiError::bad_request(format!("field label not supported: {field}")));
            }
            out.push((field.to_string(), negate, value.trim().to_string()));
        }
        Ok(Self(out))
    }

    /// The name this selector pins (`metadata.name=x`), letting lists skip a scan.
    pub fn pinned_name(&self) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, negate, _)| f == "metadata.name" && !negate)
            .map(|(_, _, v)| v.as_str())
    }

    /// Whether this selector only looks at name and namespace.
    pub fn is_metadata_only(&self) -> bool {
        self.0
            .iter()
            .all(|(f, _, _)| f == "metadata.name" || f == "metadata.namespace")
    }

    /// Matches by name and namespace only (callers check `is_metadata_only` first).
    pub fn matches_meta(&self, namespace: &str, name: &str) -> bool {
        self.0.iter().all(|(field, negate, value)| {
            let actual = if field == "metadata.name" { name } else { namespace };
            (actual == value) != *negate
        })
    }

    /// Matches against the whole object.
    pub fn matches(&self, object: &Value) -> bool {
        self.0.iter().all(|(field, negate, value)| {
            let mut current = object;
            // An event's `source` field selector means its reporting component.
            let path = if field == "source" {
                "source.component"
            } else {
                field.as_str()
            };
            for part in path.split('.') {
                current = &current[part];
            }
            let actual = current.as_str().unwrap_or("");
            (actual == value) != *negate
        })
    }

    /// Whether the selector is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn event_fields_select_as_the_api_server_does() {
        let event = serde_json::json!({"reason": "DriftDetected", "source": {"component": "helmfire"},
            "involvedObject": {"apiVersion": "v1", "kind": "Secret", "name": "sh.helm.release.v1.web.v3"}});
        let selector = FieldSelector::parse(
            "involvedObject.kind=Secret,involvedObject.apiVersion=v1,reason=DriftDetected,source=helmfire",
        )
        .expect("supported");
        assert!(selector.matches(&event));
        assert!(!FieldSelector::parse("reason!=DriftDetected").unwrap().matches(&event));
    }

    #[test]
    fn helm_release_query_matches_its_secrets() {
        let selector = LabelSelector::parse("name=r1,owner=helm").expect("valid");
        assert!(selector.matches(&labels(&[("name", "r1"), ("owner", "helm"), ("version", "1")])));
        assert!(!selector.matches(&labels(&[("name", "r2"), ("owner", "helm")])));
    }

    #[test]
    fn set_based_requirements() {
        let selector = LabelSelector::parse("env in (a, b),tier notin (x),app,!legacy").expect("valid");
        assert!(selector.matches(&labels(&[("env", "a"), ("app", "1")])));
        assert!(!selector.matches(&labels(&[("env", "c"), ("app", "1")])));
        assert!(!selector.matches(&labels(&[("env", "a"), ("app", "1"), ("legacy", "")])));
        assert!(!selector.matches(&labels(&[("env", "a"), ("tier", "x"), ("app", "1")])));
    }

    #[test]
    fn malformed_selectors_are_bad_requests() {
        assert_eq!(
            LabelSelector::parse("a=b,,c").map_err(|e| ApiError::bad_request(e).code),
            Err(400)
        );
        assert_eq!(
            LabelSelector::parse("a in b").map_err(|e| ApiError::bad_request(e).code),
            Err(400)
        );
        assert_eq!(FieldSelector::parse("spec.foo=x").map_err(|e| e.code), Err(400));
    }

    #[test]
    fn field_selector_by_name() {
        let selector = FieldSelector::parse("metadata.name=x-dep").expect("valid");
        assert_eq!(selector.pinned_name(), Some("x-dep"));
        assert!(selector.matches_meta("default", "x-dep"));
        assert!(!selector.matches_meta("default", "other"));
    }
}
