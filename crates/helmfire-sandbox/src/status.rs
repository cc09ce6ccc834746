//! Kubernetes `Status` error objects with the exact shapes and codes of
//! k8s.io/apimachinery/pkg/api/errors, so clients branching on `reason`/`code` behave as against a
//! real server. Builds values only; never writes responses.

use serde_json::{Value, json};

use super::resources::ResourceType;

/// An API failure, rendered as a `Status` body with `code` as the HTTP status.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// HTTP status code, repeated in the body's `code`.
    pub code: u16,
    /// Machine-readable `reason` (`NotFound`, `Conflict`, ...).
    pub reason: &'static str,
    /// Human-readable message.
    pub message: String,
    /// The `details` object (`{}` when there are none).
    pub details: Value,
    /// Seconds for a `Retry-After` header (429/503 faults).
    pub retry_after: Option<u64>,
}

fn resource_details(resource: &ResourceType, name: &str) -> Value {
    let mut details = json!({"name": name, "kind": resource.plural});
    if !resource.group.is_empty() {
        details["group"] = json!(resource.group);
    }
    details
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>, details: Value) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details,
            retry_after: None,
        }
    }

    /// `configmaps "x" not found` / `deployments.apps "x" not found`.
    pub fn not_found(resource: &ResourceType, name: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("{} \"{name}\" not found", resource.group_resource()),
            resource_details(resource, name),
        )
    }

    /// A path that names no served resource.
    pub fn not_found_path() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
            json!({}),
        )
    }

    /// Creating an object whose name is taken.
    pub fn already_exists(resource: &ResourceType, name: &str) -> Self {
        Self::new(
            409,
            "AlreadyExists",
            format!("{} \"{name}\" already exists", resource.group_resource()),
            resource_details(resource, name),
        )
    }

    /// Optimistic-concurrency failure (stale resourceVersion or uid precondition).
    pub fn conflict(resource: &ResourceType, name: &str) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                resource.group_resource()
            ),
            resource_details(resource, name),
        )
    }

    /// Conflict with a custom message (precondition failures).
    pub fn conflict_message(resource: &ResourceType, name: &str, message: String) -> Self {
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {} \"{name}\": {message}",
                resource.group_resource()
            ),
            resource_details(resource, name),
        )
    }

    /// Server-side apply conflicts: `(field path, manager description)` pairs.
    pub fn apply_conflicts(conflicts: &[(String, String)]) -> Self {
        let causes: Vec<Value> = conflicts
            .iter()
            .map(|(field, manager)| {
                json!({"reason": "FieldManagerConflict", "message": format!("conflict with {manager}"), "field": field})
            })
            .collect();
        let message = if let [(field, manager)] = conflicts {
            format!("Apply failed with 1 conflict: conflict with {manager}: {field}")
        } else {
            // Upstream's getConflictMessage: managers sorted, each with its paths, joined by
            // line breaks.
            let mut by_manager: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
            for (field, manager) in conflicts {
                by_manager.entry(manager.as_str()).or_default().push(field.as_str());
            }
            let mut lines = Vec::new();
            for (manager, fields) in by_manager {
                lines.push(format!("conflicts with {manager}:"));
                lines.extend(fields.into_iter().map(|field| format!("- {field}")));
            }
            format!("Apply failed with {} conflicts: {}", conflicts.len(), lines.join("\n"))
        };
        Self::new(409, "Conflict", message, json!({"causes": causes}))
    }

    /// 400 BadRequest.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message, json!({}))
    }

    /// 422 Invalid: uses the Kind and `Kind.group` as upstream does.
    pub fn invalid(resource: &ResourceType, name: &str, causes: &[(&str, String, String)]) -> Self {
        let group_kind = if resource.group.is_empty() {
            resource.kind.clone()
        } else {
            format!("{}.{}", resource.kind, resource.group)
        };
        let text: Vec<String> = causes
            .iter()
            .map(|(_, field, message)| format!("{field}: {message}"))
            .collect();
        let mut details = json!({"name": name, "kind": resource.kind, "causes": causes.iter().map(|(reason, field, message)| json!({"reason": reason, "message": message, "field": field})).collect::<Vec<_>>()});
        if !resource.group.is_empty() {
            details["group"] = json!(resource.group);
        }
        let message = match text.as_slice() {
            [one] => format!("{group_kind} \"{name}\" is invalid: {one}"),
            many => format!("{group_kind} \"{name}\" is invalid: [{}]", many.join(", ")),
        };
        Self::new(422, "Invalid", message, details)
    }

    /// 422 for invalid request options (e.g. apply without fieldManager).
    pub fn invalid_options(kind: &str, field: &str, message: &str) -> Self {
        Self::new(
            422,
            "Invalid",
            format!("{kind}.meta.k8s.io \"\" is invalid: {field}: {message}"),
            json!({"group": "meta.k8s.io", "kind": kind, "causes": [{"reason": "FieldValueRequired", "message": message, "field": field}]}),
        )
    }

    /// Writes into a namespace that is being deleted.
    pub fn forbidden_terminating(resource: &ResourceType, name: &str, namespace: &str) -> Self {
        Self::new(
            403,
            "Forbidden",
            format!(
                "{} \"{name}\" is forbidden: unable to create new content in namespace {namespace} because it is being terminated",
                resource.group_resource()
            ),
            resource_details(resource, name),
        )
    }

    /// 405: the verb is not supported on this path.
    pub fn method_not_allowed(what: &str) -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            format!("the server does not allow this method on the requested resource: {what}"),
            json!({}),
        )
    }

    /// 415 for bodies in a format the sandbox does not decode.
    pub fn unsupported_media_type(content_type: &str, accepted: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format `{content_type}` - accepted media types include: {accepted}"
            ),
            json!({}),
        )
    }

    /// 501: a feature the sandbox knowingly does not implement.
    pub fn not_implemented(what: &str) -> Self {
        Self::new(
            501,
            "NotImplemented",
            format!("the sandbox does not implement {what}"),
            json!({}),
        )
    }

    /// 410 Expired, for watches resuming from a compacted resourceVersion.
    pub fn expired(requested: u64, oldest: u64) -> Self {
        Self::new(
            410,
            "Expired",
            format!("too old resource version: {requested} ({oldest})"),
            json!({}),
        )
    }

    /// 500 InternalError.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            500,
            "InternalError",
            format!("Internal error occurred: {}", message.into()),
            json!({"causes": [{"message": "injected fault"}]}),
        )
    }

    /// 503 ServiceUnavailable with Retry-After.
    pub fn service_unavailable(retry_after: u64) -> Self {
        let mut error = Self::new(
            503,
            "ServiceUnavailable",
            "the server is currently unable to handle the request",
            json!({"retryAfterSeconds": retry_after}),
        );
        error.retry_after = Some(retry_after);
        error
    }

    /// 429 TooManyRequests with Retry-After.
    pub fn too_many_requests(retry_after: u64) -> Self {
        let mut error = Self::new(
            429,
            "TooManyRequests",
            "the server has received too many requests and has asked us to try again later",
            json!({"retryAfterSeconds": retry_after}),
        );
        error.retry_after = Some(retry_after);
        error
    }

    /// The `Status` body.
    pub fn to_status(&self) -> Value {
        json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "details": self.details,
            "code": self.code,
        })
    }
}

/// The `Status` a DELETE answers with when the object is gone at once.
pub fn delete_success(resource: &ResourceType, name: &str, uid: &str) -> Value {
    let mut details = resource_details(resource, name);
    details["uid"] = json!(uid);
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::builtin;

    #[test]
    fn not_found_names_resource_and_group() {
        let deployments = builtin("apps", "deployments").expect("served");
        let status = ApiError::not_found(&deployments, "x").to_status();
        assert_eq!(status["message"], "deployments.apps \"x\" not found");
        assert_eq!(
            status["details"],
            json!({"name": "x", "group": "apps", "kind": "deployments"})
        );
        assert_eq!(status["code"], 404);
    }

    #[test]
    fn one_apply_conflict_reads_like_upstream() {
        let error = ApiError::apply_conflicts(&[(".data.a".into(), "\"kubectl-client-side-apply\" using v1".into())]);
        assert_eq!(
            error.message,
            "Apply failed with 1 conflict: conflict with \"kubectl-client-side-apply\" using v1: .data.a"
        );
        assert_eq!(error.code, 409);
    }
}
