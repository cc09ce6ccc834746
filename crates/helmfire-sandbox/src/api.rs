//! REST semantics of the Kubernetes API over the store: routing of paths to resources, GET/LIST,
//! POST, PUT, PATCH (all four types), DELETE with finalizers and garbage collection, the status
//! subresource, dryRun and fieldValidation. Returns replies; knows nothing of HTTP framing.

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use serde_json::{Value, json};

use super::clock;
use super::defaults;
use super::discovery;
use super::managed;
use super::openapi;
use super::patch;
use super::request::{Request, decode_json};
use super::resources::{self, ResourceType};
use super::schema;
use super::selector::{FieldSelector, LabelSelector};
use super::status::{self, ApiError};
use super::store::{CollectionKey, State, Store};
use super::table;
use super::watch::WatchRequest;

/// What to send back.
#[derive(Debug)]
pub enum Reply {
    /// A complete body.
    Full {
        /// HTTP status.
        code: u16,
        /// Content type.
        content_type: String,
        /// Body bytes.
        body: Bytes,
    },
    /// A watch stream to open.
    Watch(WatchRequest),
}

impl Reply {
    fn json(code: u16, value: &Value) -> Self {
        Self::bytes(code, Bytes::from(serde_json::to_vec(value).unwrap_or_default()))
    }

    fn bytes(code: u16, body: Bytes) -> Self {
        Self::Full {
            code,
            content_type: "application/json".into(),
            body,
        }
    }

    /// A `Status` error reply.
    pub fn error(error: &ApiError) -> Self {
        Self::json(error.code, &error.to_status())
    }
}

/// The resource a request addresses.
#[derive(Debug, Clone)]
pub struct Target {
    /// The resource type.
    pub resource: Arc<ResourceType>,
    /// Namespace from the path (None: cluster-scoped or all namespaces).
    pub namespace: Option<String>,
    /// Object name, if an object is addressed.
    pub name: Option<String>,
    /// Subresource (`status`, `finalize`).
    pub subresource: Option<String>,
}

impl Target {
    fn key(&self) -> CollectionKey {
        collection_key(&self.resource)
    }

    fn ns(&self) -> &str {
        self.namespace.as_deref().unwrap_or_default()
    }
}

/// Storage key of a resource.
pub fn collection_key(resource: &ResourceType) -> CollectionKey {
    (resource.group.clone(), resource.plural.clone())
}

/// The API server logic over one store.
#[derive(Debug, Clone)]
pub struct Api {
    /// The store.
    pub store: Arc<Store>,
    /// `host:port` advertised in `/api`.
    pub address: String,
}

/// Names of the namespaces every cluster starts with.
pub const DEFAULT_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

impl Api {
    /// An API over `store`, creating the default namespaces when missing.
    pub fn new(store: Arc<Store>, address: String) -> Self {
        let api = Self { store, address };
        let namespaces = resources::builtin("", "namespaces");
        if let Some(namespaces) = namespaces {
            let mut state = api.store.lock();
            for name in DEFAULT_NAMESPACES {
                if state.get(&collection_key(&namespaces), "", name).is_none() {
                    let mut object = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
                    stamp_new(&namespaces, &mut object, &mut state);
                    state.put(&collection_key(&namespaces), "", name, object);
                }
            }
        }
        api
    }

    /// Serves one request.
    pub fn handle(&self, request: &Request) -> Reply {
        match self.route(request) {
            Ok(reply) => reply,
            Err(error) => Reply::error(&error),
        }
    }

    fn route(&self, request: &Request) -> Result<Reply, ApiError> {
        let segments: Vec<&str> = request.path.split('/').filter(|s| !s.is_empty()).collect();
        let get = request.method == "GET";
        match segments.as_slice() {
            ["version"] if get => Ok(Reply::json(200, &discovery::version())),
            ["healthz" | "livez" | "readyz"] if get => Ok(Reply::Full {
                code: 200,
                content_type: "text/plain".into(),
                body: Bytes::from_static(b"ok"),
            }),
            ["api"] if get => {
                let state = self.store.lock();
                Ok(match discovery::aggregated_version(&request.accept) {
                    Some(v) => aggregated_reply(discovery::aggregated(state.resources(), true, v), v),
                    None => Reply::json(200, &discovery::api_versions(&self.address)),
                })
            }
            ["apis"] if get => {
                let state = self.store.lock();
                Ok(match discovery::aggregated_version(&request.accept) {
                    Some(v) => aggregated_reply(discovery::aggregated(state.resources(), false, v), v),
                    None => Reply::json(200, &discovery::api_group_list(state.resources())),
                })
            }
            ["api", "v1"] if get => {
                let state = self.store.lock();
                discovery::api_resource_list(state.resources(), "", "v1")
                    .map(|v| Reply::json(200, &v))
                    .ok_or_else(ApiError::not_found_path)
            }
            ["apis", group] if get => {
                let state = self.store.lock();
                discovery::api_group(state.resources(), group)
                    .map(|v| Reply::json(200, &v))
                    .ok_or_else(ApiError::not_found_path)
            }
            ["apis", group, version] if get => {
                let state = self.store.lock();
                discovery::api_resource_list(state.resources(), group, version)
                    .map(|v| Reply::json(200, &v))
                    .ok_or_else(ApiError::not_found_path)
            }
            ["openapi", "v3"] if get => {
                let state = self.store.lock();
                Ok(Reply::json(200, &openapi::index(state.resources())))
            }
            ["openapi", "v3", rest @ ..] if get => {
                let state = self.store.lock();
                openapi::document(state.resources(), &rest.join("/"))
                    .map(|v| Reply::json(200, &v))
                    .ok_or_else(ApiError::not_found_path)
            }
            ["api", "v1", rest @ ..] if !rest.is_empty() => {
                let target = self.target("", "v1", rest)?;
                self.dispatch(request, &target)
            }
            ["apis", group, version, rest @ ..] if !rest.is_empty() => {
                let target = self.target(group, version, rest)?;
                self.dispatch(request, &target)
            }
            _ if ["version", "api", "apis", "openapi"].contains(segments.first().unwrap_or(&"")) && !get => Err(
                ApiError::method_not_allowed(&format!("{} {}", request.method, request.path)),
            ),
            _ => Err(ApiError::not_found_path()),
        }
    }

    fn target(&self, group: &str, version: &str, rest: &[&str]) -> Result<Target, ApiError> {
        let state = self.store.lock();
        let find = |plural: &str| {
            state
                .resource(group, version, plural)
                .ok_or_else(ApiError::not_found_path)
        };
        let namespaced_rest = match rest {
            ["namespaces", ns, tail @ ..]
                if group.is_empty()
                    && !tail.is_empty()
                    && !(tail.len() == 1 && matches!(tail[0], "status" | "finalize")) =>
            {
                Some((ns.to_string(), tail))
            }
            ["namespaces", ns, tail @ ..] if !group.is_empty() && !tail.is_empty() => Some((ns.to_string(), tail)),
            _ => None,
        };
        let (namespace, tail) = match namespaced_rest {
            Some((ns, tail)) => (Some(ns), tail),
            None => (None, rest),
        };
        let (plural, name, sub) = match tail {
            [plural] => (*plural, None, None),
            [plural, name] => (*plural, Some(name.to_string()), None),
            [plural, name, sub] => (*plural, Some(name.to_string()), Some(sub.to_string())),
            _ => return Err(ApiError::not_found_path()),
        };
        let resource = find(plural)?;
        if namespace.is_some() && !resource.namespaced {
            return Err(ApiError::not_found_path());
        }
        if resource.namespaced && namespace.is_none() && name.is_some() {
            return Err(ApiError::not_found_path());
        }
        if let Some(sub) = &sub {
            let known = (sub == "status" && resource.status_subresource)
                || (sub == "scale" && resource.has_scale())
                || (sub == "finalize" && resource.plural == "namespaces" && resource.group.is_empty());
            if !known {
                if matches!(
                    sub.as_str(),
                    "scale" | "log" | "exec" | "attach" | "portforward" | "proxy" | "eviction" | "binding" | "token"
                ) {
                    return Err(ApiError::not_implemented(&format!("the `{sub}` subresource")));
                }
                return Err(ApiError::not_found_path());
            }
        }
        Ok(Target {
            resource,
            namespace,
            name,
            subresource: sub,
        })
    }

    fn dispatch(&self, request: &Request, target: &Target) -> Result<Reply, ApiError> {
        if target.subresource.as_deref() == Some("scale") {
            return self.scale(request, target);
        }
        match (request.method.as_str(), target.name.is_some()) {
            ("GET", false) if request.flag("watch") => self.watch(request, target),
            ("GET", false) => self.list(request, target),
            ("GET", true) => match table::requested_version(&request.accept) {
                Some(version) => {
                    let Reply::Full { body, .. } = self.get(target)? else {
                        return Err(ApiError::internal("get returned a stream"));
                    };
                    let object: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                    let rv = object["metadata"]["resourceVersion"].clone();
                    let table = table::render(
                        &target.resource,
                        version,
                        &[object],
                        json!({"resourceVersion": rv}),
                        request.param("includeObject"),
                    );
                    Ok(Reply::json(200, &table))
                }
                None => self.get(target),
            },
            ("POST", false) => self.create(request, target),
            ("PUT", true) => self.update(request, target),
            ("PATCH", true) => self.patch(request, target),
            ("DELETE", true) => self.delete(request, target),
            ("DELETE", false) => self.delete_collection(request, target),
            (method, _) => Err(ApiError::method_not_allowed(&format!(
                "{method} on {}",
                target.resource.group_resource()
            ))),
        }
    }

    fn get(&self, target: &Target) -> Result<Reply, ApiError> {
        let name = target.name.as_deref().unwrap_or_default();
        let state = self.store.lock();
        let entry = state
            .get(&target.key(), target.ns(), name)
            .ok_or_else(|| ApiError::not_found(&target.resource, name))?;
        if stored_version_matches(&entry.json, &target.resource) {
            Ok(Reply::bytes(200, entry.json.clone()))
        } else {
            let mut object = entry.value();
            object["apiVersion"] = json!(target.resource.api_version());
            Ok(Reply::json(200, &object))
        }
    }

    fn list(&self, request: &Request, target: &Target) -> Result<Reply, ApiError> {
        let labels =
            LabelSelector::parse(request.param("labelSelector").unwrap_or_default()).map_err(ApiError::bad_request)?;
        let fields = FieldSelector::parse(request.param("fieldSelector").unwrap_or_default())?;
        let limit: usize = match request.param("limit") {
            None | Some("") => 0,
            Some(text) => text
                .parse()
                .map_err(|_| ApiError::bad_request(format!("invalid limit `{text}`")))?,
        };
        let after = match request.param("continue") {
            None | Some("") => None,
            Some(token) => Some(decode_continue(token)?),
        };
        let state = self.store.lock();
        let rv = state.resource_version();
        let mut body = Vec::with_capacity(256);
        let mut count = 0usize;
        let mut next: Option<(String, String)> = None;
        let mut remaining = 0usize;
        let version_ok = |json: &Bytes| stored_version_matches(json, &target.resource);
        body.extend_from_slice(b"{\"items\":[");
        for ((ns, name), entry) in state.list(&target.key(), target.namespace.as_deref()) {
            if let Some((after_ns, after_name)) = &after
                && (ns, name) <= (after_ns, after_name)
            {
                continue;
            }
            if !labels.matches(&entry.labels) {
                continue;
            }
            if !fields.is_empty() {
                let matched = if fields.is_metadata_only() {
                    fields.matches_meta(ns, name)
                } else {
                    fields.matches(&entry.value())
                };
                if !matched {
                    continue;
                }
            }
            if limit > 0 && count >= limit {
                remaining += 1;
                continue;
            }
            if count > 0 {
                body.push(b',');
            }
            if version_ok(&entry.json) {
                body.extend_from_slice(&entry.json);
            } else {
                let mut object = entry.value();
                object["apiVersion"] = json!(target.resource.api_version());
                body.extend(serde_json::to_vec(&object).unwrap_or_default());
            }
            count += 1;
            if limit > 0 && count == limit {
                next = Some((ns.clone(), name.clone()));
            }
        }
        let mut metadata = json!({"resourceVersion": rv.to_string()});
        if remaining > 0
            && let Some((ns, name)) = next
        {
            metadata["continue"] = json!(encode_continue(rv, &ns, &name));
            metadata["remainingItemCount"] = json!(remaining);
        }
        let tail = json!({"kind": format!("{}List", target.resource.kind),
            "apiVersion": target.resource.api_version(), "metadata": metadata});
        body.extend_from_slice(b"],");
        let tail = serde_json::to_vec(&tail).unwrap_or_default();
        body.extend_from_slice(tail.get(1..).unwrap_or_default());
        if let Some(version) = table::requested_version(&request.accept) {
            let list: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let items = list["items"].as_array().cloned().unwrap_or_default();
            let table = table::render(
                &target.resource,
                version,
                &items,
                list["metadata"].clone(),
                request.param("includeObject"),
            );
            return Ok(Reply::json(200, &table));
        }
        Ok(Reply::bytes(200, Bytes::from(body)))
    }

    fn watch(&self, request: &Request, target: &Target) -> Result<Reply, ApiError> {
        let labels =
            LabelSelector::parse(request.param("labelSelector").unwrap_or_default()).map_err(ApiError::bad_request)?;
        let fields = FieldSelector::parse(request.param("fieldSelector").unwrap_or_default())?;
        let send_initial = request.flag("sendInitialEvents");
        if send_initial && request.param("resourceVersionMatch") != Some("NotOlderThan") {
            return Err(ApiError::invalid_options(
                "ListOptions",
                "resourceVersionMatch",
                "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
            ));
        }
        let resource_version = match request.param("resourceVersion") {
            None | Some("") | Some("0") => None,
            Some(text) => Some(
                text.parse::<u64>()
                    .map_err(|_| ApiError::bad_request(format!("invalid resourceVersion `{text}`")))?,
            ),
        };
        let timeout = request
            .param("timeoutSeconds")
            .and_then(|t| t.parse::<u64>().ok())
            .unwrap_or(1800);
        Ok(Reply::Watch(WatchRequest {
            resource: target.resource.clone(),
            namespace: target.namespace.clone(),
            labels,
            fields,
            resource_version,
            send_initial_events: send_initial || resource_version.is_none(),
            initial_events_end: send_initial,
            bookmarks: request.flag("allowWatchBookmarks"),
            timeout: std::time::Duration::from_secs(timeout),
        }))
    }

    fn create(&self, request: &Request, target: &Target) -> Result<Reply, ApiError> {
        let dry_run = request.dry_run()?;
        let mut object = request.object_body()?;
        let resource = &target.resource;
        check_type(&mut object, resource)?;
        let mut state = self.store.lock();
        let namespace = self.prepare_namespace(&state, &mut object, target)?;
        let name = match object["metadata"]["name"].as_str().filter(|n| !n.is_empty()) {
            Some(name) => name.to_string(),
            None => match object["metadata"]["generateName"].as_str().filter(|n| !n.is_empty()) {
                Some(prefix) => {
                    let name = format!("{prefix}{}", clock::name_suffix());
                    object["metadata"]["name"] = json!(name);
                    name
                }
                None => {
                    return Err(ApiError::invalid(
                        resource,
                        "",
                        &[(
                            "FieldValueRequired",
                            "metadata.name".into(),
                            "Required value: name or generateName is required".into(),
                        )],
                    ));
                }
            },
        };
        validate_fields(request, resource, &mut object)?;
        if state.get(&target.key(), &namespace, &name).is_some() {
            return Err(ApiError::already_exists(resource, &name));
        }
        validate_object(resource, &name, &object)?;
        stamp_new(resource, &mut object, &mut state);
        let manager = field_manager(request);
        managed::track_update(None, &mut object, resource, &manager, None);
        if dry_run {
            return Ok(Reply::json(201, &object));
        }
        let stored = state.put(&target.key(), &namespace, &name, object);
        after_write(&mut state, resource, &stored);
        Ok(Reply::json(201, &stored))
    }

    /// Defaults the body's namespace from the URL and checks the namespace exists and is live.
    fn prepare_namespace(&self, state: &State, object: &mut Value, target: &Target) -> Result<String, ApiError> {
        let resource = &target.resource;
        if !resource.namespaced {
            if let Some(meta) = object["metadata"].as_object_mut() {
                meta.remove("namespace");
            }
            return Ok(String::new());
        }
        let namespace = target.ns().to_string();
        match object["metadata"]["namespace"].as_str() {
            Some(ns) if !ns.is_empty() && ns != namespace => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            _ => object["metadata"]["namespace"] = json!(namespace),
        }
        let name = object["metadata"]["name"].as_str().unwrap_or_default().to_string();
        let namespaces = resources::builtin("", "namespaces").ok_or_else(ApiError::not_found_path)?;
        match state.get(&collection_key(&namespaces), "", &namespace) {
            None => Err(ApiError::not_found(&namespaces, &namespace)),
            Some(entry) => {
                let ns = entry.value();
                if ns["metadata"]["deletionTimestamp"].is_string() {
                    Err(ApiError::forbidden_terminating(resource, &name, &namespace))
                } else {
                    Ok(namespace)
                }
            }
        }
    }

    fn update(&self, request: &Request, target: &Target) -> Result<Reply, ApiError> {
        let dry_run = request.dry_run()?;
        let mut object = request.object_body()?;
        check_type(&mut object, &target.resource)?;
        validate_fields(request, &target.resource, &mut object)?;
        let mut state = self.store.lock();
        let name = target.name.clone().unwrap_or_default();
        let live = state
            .get(&target.key(), target.ns(), &name)
            .ok_or_else(|| ApiError::not_found(&target.resource, &name))?
            .value();
        if target.subresource.as_deref() == Some("finalize") {
            let mut new = live.clone();
            new["spec"]["finalizers"] = object["spec"]["finalizers"].clone();
            return self.commit_update(&mut state, request, target, &live, new, dry_run, false);
        }
        self.commit_update(&mut state, request, target, &live, object, dry_run, false)
    }

    fn patch(&self, request: &Request, target: &Target) -> Result<Reply, ApiError> {
        let dry_run = request.dry_run()?;
        let resource = &target.resource;
        let media = request.media_type();
        let is_apply = media == "application/apply-patch+yaml";
        if request.param("force").is_some() && !is_apply {
            return Err(ApiError::invalid_options(
                "PatchOptions",
                "force",
                "Forbidden: may not be specified for non-apply patch",
            ));
        }
        let name = target.name.clone().unwrap_or_default();
        let mut state = self.store.lock();
        let live = state.get(&target.key(), target.ns(), &name).map(|e| e.value());
        if is_apply {
            return self.apply(&mut state, request, target, live, dry_run);
        }
        let live = live.ok_or_else(|| ApiError::not_found(resource, &name))?;
        let mut patched = match media {
            "application/json-patch+json" => patch::json_patch(&live, &decode_json(&request.body)?)?,
            "application/merge-patch+json" => {
                let body = decode_json(&request.body)?;
                if !body.is_object() {
                    return Err(ApiError::bad_request("merge patch must be a JSON object"));
                }
                patch::merge_patch(&live, &body)
            }
            "application/strategic-merge-patch+json" => {
                if !resource.builtin {
                    return Err(ApiError::unsupported_media_type(
                        media,
                        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
                    ));
                }
                patch::strategic_merge_patch(&live, &decode_json(&request.body)?, &resource.schema)?
            }
            other => {
                return Err(ApiError::unsupported_media_type(
                    other,
                    "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml",
                ));
            }
        };
        validate_fields(request, resource, &mut patched)?;
        self.commit_update(&mut state, request, target, &live, patched, dry_run, false)
    }

    fn apply(
        &self,
        state: &mut State,
        request: &Request,
        target: &Target,
        live: Option<Value>,
        dry_run: bool,
    ) -> Result<Reply, ApiError> {
        let resource = &target.resource;
        let manager = match request.param("fieldManager") {
            Some(m) if !m.is_empty() => m.to_string(),
            _ => {
                return Err(ApiError::invalid_options(
                    "PatchOptions",
                    "fieldManager",
                    "Required value: is required for apply patch",
                ));
            }
        };
        let force = request.flag("force");
        let mut applied = request.object_body()?;
        if applied["metadata"].get("managedFields").is_some() {
            return Err(ApiError::bad_request("metadata.managedFields must be nil"));
        }
        if !applied["apiVersion"].is_string() || !applied["kind"].is_string() {
            return Err(ApiError::bad_request(
                "apiVersion and kind are required in an apply patch",
            ));
        }
        check_type(&mut applied, resource)?;
        let name = target.name.clone().unwrap_or_default();
        match applied["metadata"]["name"].as_str() {
            Some(n) if n != name => {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({n}) does not match the name on the URL ({name})"
                )));
            }
            _ => applied["metadata"]["name"] = json!(name),
        }
        validate_fields(request, resource, &mut applied)?;
        let subresource = target.subresource.as_deref();
        match live {
            None => {
                if subresource.is_some() {
                    return Err(ApiError::not_found(resource, &name));
                }
                let namespace = self.prepare_namespace(state, &mut applied, target)?;
                let mut object = managed::apply(None, &applied, resource, &manager, force, None)?;
                validate_object(resource, &name, &object)?;
                stamp_new(resource, &mut object, state);
                if dry_run {
                    return Ok(Reply::json(201, &object));
                }
                let stored = state.put(&target.key(), &namespace, &name, object);
                after_write(state, resource, &stored);
                Ok(Reply::json(201, &stored))
            }
            Some(live) => {
                if let Some(rv) = applied["metadata"]["resourceVersion"].as_str()
                    && !rv.is_empty()
                    && Some(rv) != live["metadata"]["resourceVersion"].as_str()
                {
                    return Err(ApiError::conflict(resource, &name));
                }
                let mut merged = managed::apply(Some(&live), &applied, resource, &manager, force, subresource)?;
                merged["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"].clone();
                self.commit_update(state, request, target, &live, merged, dry_run, true)
            }
        }
    }

    /// The shared tail of PUT, PATCH and apply on an existing object: preconditions, immutable
    /// metadata, status handling, generation, ownership, finalizer completion, storage.
    #[expect(
        clippy::too_many_arguments,
        reason = "the parts of one request, each needed by the write path"
    )]
    fn commit_update(
        &self,
        state: &mut State,
        request: &Request,
        target: &Target,
        live: &Value,
        mut new: Value,
        dry_run: bool,
        already_managed: bool,
    ) -> Result<Reply, ApiError> {
        let resource = &target.resource;
        let name = target.name.clone().unwrap_or_default();
        check_type(&mut new, resource)?;
        match new["metadata"]["name"].as_str() {
            Some(n) if n != name => {
                return Err(ApiError::bad_request(format!(
                    "the name of the object ({n}) does not match the name on the URL ({name})"
                )));
            }
            _ => new["metadata"]["name"] = json!(name),
        }
        if resource.namespaced {
            match new["metadata"]["namespace"].as_str() {
                Some(ns) if !ns.is_empty() && ns != target.ns() => {
                    return Err(ApiError::bad_request(
                        "the namespace of the provided object does not match the namespace sent on the request",
                    ));
                }
                _ => new["metadata"]["namespace"] = json!(target.ns()),
            }
        }
        if let Some(rv) = new["metadata"]["resourceVersion"].as_str()
            && !rv.is_empty()
            && Some(rv) != live["metadata"]["resourceVersion"].as_str()
        {
            return Err(ApiError::conflict(resource, &name));
        }
        for key in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ] {
            match live["metadata"].get(key) {
                Some(v) => new["metadata"][key] = v.clone(),
                None => {
                    if let Some(meta) = new["metadata"].as_object_mut() {
                        meta.remove(key);
                    }
                }
            }
        }
        if live["metadata"]["deletionTimestamp"].is_string() {
            let old: Vec<&Value> = live["metadata"]["finalizers"]
                .as_array()
                .map(|a| a.iter().collect())
                .unwrap_or_default();
            let added = new["metadata"]["finalizers"]
                .as_array()
                .is_some_and(|a| a.iter().any(|f| !old.contains(&f)));
            if added {
                return Err(ApiError::invalid(
                    resource,
                    &name,
                    &[(
                        "FieldValueForbidden",
                        "metadata.finalizers".into(),
                        "Forbidden: no new finalizers can be added if the object is being deleted".into(),
                    )],
                ));
            }
        }
        let subresource = target.subresource.as_deref();
        match subresource {
            Some("status") => {
                // Only status changes through /status.
                let status = new.get("status").cloned();
                let metadata = new["metadata"].clone();
                new = live.clone();
                match status {
                    Some(s) => new["status"] = s,
                    None => {
                        if let Some(m) = new.as_object_mut() {
                            m.remove("status");
                        }
                    }
                }
                if already_managed {
                    new["metadata"]["managedFields"] = metadata["managedFields"].clone();
                }
            }
            _ if resource.status_subresource => match live.get("status") {
                Some(s) => new["status"] = s.clone(),
                None => {
                    if let Some(m) = new.as_object_mut() {
                        m.remove("status");
                    }
                }
            },
            _ => {}
        }
        defaults::apply(resource, &mut new, "");
        validate_object(resource, &name, &new)?;
        if subresource.is_none() && generation_changes(resource, live, &new) {
            let generation = live["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
            new["metadata"]["generation"] = json!(generation);
        }
        if !already_managed {
            let manager = field_manager(request);
            managed::track_update(
                Some(live),
                &mut new,
                resource,
                &manager,
                subresource.filter(|s| *s == "status"),
            );
        }
        new["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"].clone();
        if same_ignoring_times(live, &new) {
            return Ok(Reply::json(200, live));
        }
        if dry_run {
            return Ok(Reply::json(200, &new));
        }
        let deleting = new["metadata"]["deletionTimestamp"].is_string();
        let finalizers_left = new["metadata"]["finalizers"].as_array().is_some_and(|a| !a.is_empty())
            || (resource.plural == "namespaces"
                && resource.group.is_empty()
                && new["spec"]["finalizers"].as_array().is_some_and(|a| !a.is_empty()));
        if deleting && !finalizers_left {
            let removed = remove_and_collect(state, &target.key(), target.ns(), &name);
            return Ok(Reply::json(200, &removed.unwrap_or(new)));
        }
        let stored = state.put(&target.key(), target.ns(), &name, new);
        after_write(state, resource, &stored);
        Ok(Reply::json(200, &stored))
    }

    /// `/scale`: an autoscaling/v1 Scale view of `spec.replicas`.
    fn scale(&self, request: &Request, target: &Target) -> Result<Reply, ApiError> {
        let resource = &target.resource;
        let name = target.name.clone().unwrap_or_default();
        let dry_run = request.dry_run()?;
        let mut state = self.store.lock();
        let live = state
            .get(&target.key(), target.ns(), &name)
            .ok_or_else(|| ApiError::not_found(resource, &name))?
            .value();
        let current = scale_of(&live);
        let desired = match request.method.as_str() {
            "GET" => return Ok(Reply::json(200, &current)),
            "PUT" => request.object_body()?,
            "PATCH" => match request.media_type() {
                "application/merge-patch+json" | "application/strategic-merge-patch+json" => {
                    patch::merge_patch(&current, &decode_json(&request.body)?)
                }
                "application/json-patch+json" => patch::json_patch(&current, &decode_json(&request.body)?)?,
                other => {
                    return Err(ApiError::unsupported_media_type(
                        other,
                        "application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json",
                    ));
                }
            },
            method => {
                return Err(ApiError::method_not_allowed(&format!(
                    "{method} on the `scale` subresource"
                )));
            }
        };
        let Some(replicas) = desired["spec"]["replicas"].as_i64().filter(|r| *r >= 0) else {
            return Err(ApiError::invalid(
                resource,
                &name,
                &[(
                    "FieldValueInvalid",
                    "spec.replicas".into(),
                    "Invalid value: must be a non-negative integer".into(),
                )],
            ));
        };
        if let Some(rv) = desired["metadata"]["resourceVersion"].as_str()
            && !rv.is_empty()
            && Some(rv) != live["metadata"]["resourceVersion"].as_str()
        {
            return Err(ApiError::conflict(resource, &name));
        }
        let mut new = live.clone();
        new["spec"]["replicas"] = json!(replicas);
        managed::track_scale(&live, &mut new, resource, &field_manager(request));
        let main = Target {
            subresource: None,
            ..target.clone()
        };
        let Reply::Full { code, body, .. } =
            self.commit_update(&mut state, request, &main, &live, new, dry_run, true)?
        else {
            return Err(ApiError::internal("update returned a stream"));
        };
        let stored: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        Ok(Reply::json(code, &scale_of(&stored)))
    }

    fn delete(&self, request: &Request, target: &Target) -> Result<Reply, ApiError> {
        let resource = &target.resource;
        let name = target.name.clone().unwrap_or_default();
        if target.subresource.is_some() {
            return Err(ApiError::method_not_allowed("DELETE on a subresource"));
        }
        let options = if request.body.iter().all(u8::is_ascii_whitespace) {
            json!({})
        } else {
            request.object_body()?
        };
        let dry_run = request.dry_run()?
            || options["dryRun"]
                .as_array()
                .is_some_and(|a| a.iter().any(|v| v == "All"));
        let policy = request
            .param("propagationPolicy")
            .map(str::to_string)
            .or_else(|| options["propagationPolicy"].as_str().map(str::to_string))
            .unwrap_or_else(|| {
                if options["orphanDependents"].as_bool() == Some(true) {
                    "Orphan".into()
                } else {
                    "Background".into()
                }
            });
        if !matches!(policy.as_str(), "Background" | "Foreground" | "Orphan") {
            return Err(ApiError::bad_request(format!(
                "unsupported propagationPolicy `{policy}`"
            )));
        }
        let mut state = self.store.lock();
        let live = state
            .get(&target.key(), target.ns(), &name)
            .ok_or_else(|| ApiError::not_found(resource, &name))?
            .value();
        let uid = live["metadata"]["uid"].as_str().unwrap_or_default().to_string();
        if let Some(pre) = options["preconditions"].as_object() {
            if let Some(want) = pre.get("uid").and_then(Value::as_str)
                && want != uid
            {
                return Err(ApiError::conflict_message(
                    resource,
                    &name,
                    format!("Precondition failed: UID in precondition: {want}, UID in object meta: {uid}"),
                ));
            }
            if let Some(want) = pre.get("resourceVersion").and_then(Value::as_str)
                && Some(want) != live["metadata"]["resourceVersion"].as_str()
            {
                return Err(ApiError::conflict_message(
                    resource,
                    &name,
                    format!(
                        "Precondition failed: ResourceVersion in precondition: {want}, ResourceVersion in object meta: {}",
                        live["metadata"]["resourceVersion"].as_str().unwrap_or_default()
                    ),
                ));
            }
        }
        let is_namespace = resource.group.is_empty() && resource.plural == "namespaces";
        let has_finalizers = live["metadata"]["finalizers"].as_array().is_some_and(|a| !a.is_empty());
        if dry_run {
            return Ok(if has_finalizers || is_namespace {
                Reply::json(200, &live)
            } else {
                Reply::json(200, &status::delete_success(resource, &name, &uid))
            });
        }
        if is_namespace || has_finalizers {
            if live["metadata"]["deletionTimestamp"].is_string() {
                return Ok(Reply::json(200, &live));
            }
            let mut marked = live.clone();
            marked["metadata"]["deletionTimestamp"] = json!(clock::now_rfc3339());
            marked["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            if let Some(generation) = live["metadata"]["generation"].as_i64() {
                marked["metadata"]["generation"] = json!(generation + 1);
            }
            if is_namespace {
                marked["status"]["phase"] = json!("Terminating");
            }
            if policy == "Orphan" {
                orphan_dependents(&mut state, &uid);
            }
            let stored = state.put(&target.key(), target.ns(), &name, marked);
            return Ok(Reply::json(200, &stored));
        }
        if policy == "Orphan" {
            orphan_dependents(&mut state, &uid);
        }
        remove_and_collect(&mut state, &target.key(), target.ns(), &name);
        Ok(if resource.builtin {
            Reply::json(200, &status::delete_success(resource, &name, &uid))
        } else {
            Reply::json(200, &live)
        })
    }

    fn delete_collection(&self, request: &Request, target: &Target) -> Result<Reply, ApiError> {
        let labels =
            LabelSelector::parse(request.param("labelSelector").unwrap_or_default()).map_err(ApiError::bad_request)?;
        let fields = FieldSelector::parse(request.param("fieldSelector").unwrap_or_default())?;
        let dry_run = request.dry_run()?;
        let mut state = self.store.lock();
        let doomed: Vec<(String, String, Value)> = state
            .list(&target.key(), target.namespace.as_deref())
            .filter(|(_, e)| labels.matches(&e.labels))
            .map(|((ns, name), e)| (ns.clone(), name.clone(), e.value()))
            .filter(|(_, _, v)| fields.matches(v))
            .collect();
        let mut items = Vec::new();
        for (ns, name, object) in doomed {
            if !dry_run {
                delete_or_mark(&mut state, &target.key(), &ns, &name);
            }
            items.push(object);
        }
        let rv = state.resource_version();
        Ok(Reply::json(
            200,
            &json!({"kind": format!("{}List", target.resource.kind), "apiVersion": target.resource.api_version(),
                "metadata": {"resourceVersion": rv.to_string()}, "items": items}),
        ))
    }
}

fn scale_of(object: &Value) -> Value {
    let meta = &object["metadata"];
    let selector: Vec<String> = object["spec"]["selector"]["matchLabels"]
        .as_object()
        .or_else(|| object["spec"]["selector"].as_object())
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| format!("{k}={v}")))
                .collect()
        })
        .unwrap_or_default();
    json!({"kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"]},
        "spec": {"replicas": object["spec"]["replicas"].as_i64().unwrap_or(1)},
        "status": {"replicas": object["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector.join(",")}})
}

fn aggregated_reply(value: Value, version: &str) -> Reply {
    Reply::Full {
        code: 200,
        content_type: discovery::aggregated_content_type(version),
        body: Bytes::from(serde_json::to_vec(&value).unwrap_or_default()),
    }
}

fn stored_version_matches(json: &Bytes, resource: &ResourceType) -> bool {
    if resource.builtin {
        return true;
    }
    let needle = format!("\"apiVersion\":\"{}\"", resource.api_version());
    json.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn encode_continue(rv: u64, namespace: &str, name: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(json!({"rv": rv, "ns": namespace, "name": name}).to_string())
}

fn decode_continue(token: &str) -> Result<(String, String), ApiError> {
    let bad = || ApiError::bad_request(format!("invalid continue token `{token}`"));
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    let value: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    Ok((
        value["ns"].as_str().ok_or_else(bad)?.to_string(),
        value["name"].as_str().ok_or_else(bad)?.to_string(),
    ))
}

/// The manager a non-apply write is recorded under.
fn field_manager(request: &Request) -> String {
    match request.param("fieldManager") {
        Some(m) if !m.is_empty() => m.to_string(),
        _ => request
            .user_agent
            .split('/')
            .next()
            .filter(|s| !s.is_empty())
            .unwrap_or("unknown")
            .to_string(),
    }
}

/// Checks and fills `apiVersion`/`kind` against the addressed resource.
fn check_type(object: &mut Value, resource: &ResourceType) -> Result<(), ApiError> {
    if !object.is_object() {
        return Err(ApiError::bad_request(format!(
            "the {} body must be a JSON object",
            resource.kind
        )));
    }
    let api_version = resource.api_version();
    match object["apiVersion"].as_str() {
        Some(v) if v != api_version => {
            let other_version_same_group =
                !resource.builtin && v.rsplit_once('/').map(|(g, _)| g) == Some(resource.group.as_str());
            if !other_version_same_group {
                return Err(ApiError::bad_request(format!(
                    "the API version in the data ({v}) does not match the expected API version ({api_version})"
                )));
            }
        }
        _ => {}
    }
    match object["kind"].as_str() {
        Some(k) if !k.is_empty() && k != resource.kind => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                resource.kind
            )));
        }
        _ => {}
    }
    object["apiVersion"] = json!(api_version);
    object["kind"] = json!(resource.kind);
    if !object["metadata"].is_object() {
        object["metadata"] = json!({});
    }
    Ok(())
}

/// Type checks, then `fieldValidation`: under Strict unknown fields of built-in kinds are a 400,
/// otherwise they are dropped.
fn validate_fields(request: &Request, resource: &ResourceType, object: &mut Value) -> Result<(), ApiError> {
    if let Some(message) = defaults::decoding_error(resource, object) {
        return Err(ApiError::bad_request(message));
    }
    if let Some((path, expected)) = schema::type_errors(object, &resource.schema).into_iter().next() {
        return Err(ApiError::bad_request(format!(
            "unable to decode the {} body: `{}` must be {} {expected}",
            resource.kind,
            path.trim_start_matches('.'),
            if expected == "object" || expected == "array" {
                "an"
            } else {
                "a"
            }
        )));
    }
    let mode = request.param("fieldValidation").unwrap_or("Warn");
    if !matches!(mode, "Strict" | "Warn" | "Ignore") {
        return Err(ApiError::bad_request(format!(
            "fieldValidation must be one of Strict, Warn or Ignore, not `{mode}`"
        )));
    }
    if mode != "Strict" {
        if resource.builtin {
            schema::prune_unknown(object, &resource.schema);
        }
        return Ok(());
    }
    let unknown = schema::unknown_fields(object, &resource.schema);
    if unknown.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = unknown
        .iter()
        .map(|p| format!("unknown field \"{}\"", p.trim_start_matches('.')))
        .collect();
    Err(ApiError::bad_request(format!(
        "strict decoding error: {}",
        list.join(", ")
    )))
}

/// The few semantic checks clients rely on (422 Invalid).
fn validate_object(resource: &ResourceType, name: &str, object: &Value) -> Result<(), ApiError> {
    let valid_name = !name.is_empty()
        && name.len() <= 253
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.' | ':' | '_' | '@'))
        || !resource.builtin;
    if !valid_name {
        return Err(ApiError::invalid(
            resource,
            name,
            &[(
                "FieldValueInvalid",
                "metadata.name".into(),
                format!(
                    "Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'"
                ),
            )],
        ));
    }
    if resource.group == "apps"
        && matches!(
            resource.kind.as_str(),
            "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet"
        )
        && !object["spec"]["selector"].is_object()
    {
        return Err(ApiError::invalid(
            resource,
            name,
            &[("FieldValueRequired", "spec.selector".into(), "Required value".into())],
        ));
    }
    Ok(())
}

/// Server-owned metadata and defaults for a new object (uid, timestamps, generation, defaults).
pub fn stamp_new(resource: &ResourceType, object: &mut Value, state: &mut State) {
    let cluster_ip = {
        let n = state.resource_version();
        format!("10.96.{}.{}", (n / 250) % 250, n % 250 + 2)
    };
    if let Some(meta) = object["metadata"].as_object_mut() {
        for key in [
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ] {
            meta.remove(key);
        }
        meta.insert("uid".into(), json!(clock::new_uid()));
        meta.insert("creationTimestamp".into(), json!(clock::now_rfc3339()));
        if resource.has_spec || !resource.builtin {
            meta.insert("generation".into(), json!(1));
        } else {
            meta.remove("generation");
        }
    }
    if resource.status_subresource
        && let Some(map) = object.as_object_mut()
    {
        map.remove("status");
    }
    defaults::apply(resource, object, &cluster_ip);
}

fn strip_for_generation(object: &Value, keep_status: bool) -> Value {
    let mut copy = object.clone();
    if let Some(map) = copy.as_object_mut() {
        map.remove("metadata");
        if !keep_status {
            map.remove("status");
        }
    }
    copy
}

fn generation_changes(resource: &ResourceType, live: &Value, new: &Value) -> bool {
    if live["metadata"]["generation"].is_null() {
        return false;
    }
    let keep_status = !resource.status_subresource && !resource.builtin;
    strip_for_generation(live, keep_status) != strip_for_generation(new, keep_status)
}

/// Whether an update changes nothing but managedFields timestamps (a no-op write).
fn same_ignoring_times(live: &Value, new: &Value) -> bool {
    let strip = |v: &Value| {
        let mut copy = v.clone();
        if let Some(entries) = copy["metadata"]["managedFields"].as_array_mut() {
            for e in entries.iter_mut() {
                if let Some(map) = e.as_object_mut() {
                    map.remove("time");
                }
            }
        }
        copy
    };
    strip(live) == strip(new)
}

/// Hooks that follow every stored write (CRD registration).
fn after_write(state: &mut State, resource: &ResourceType, stored: &Value) {
    if resource.group == "apiextensions.k8s.io" && resource.plural == "customresourcedefinitions" {
        register_crd(state, stored);
    }
}

/// Serves (or re-serves) the resources a CRD defines.
pub fn register_crd(state: &mut State, crd: &Value) {
    let group = crd["spec"]["group"].as_str().unwrap_or_default().to_string();
    let plural = crd["spec"]["names"]["plural"].as_str().unwrap_or_default().to_string();
    if group.is_empty() || plural.is_empty() {
        return;
    }
    let types = resources::from_crd(crd);
    state.set_crd_resources(&group, &plural, types);
}

fn orphan_dependents(state: &mut State, uid: &str) {
    for (key, ns, name) in state.dependents(uid) {
        let Some(entry) = state.get(&key, &ns, &name) else {
            continue;
        };
        let mut object = entry.value();
        if let Some(refs) = object["metadata"]["ownerReferences"].as_array_mut() {
            refs.retain(|r| r["uid"].as_str() != Some(uid));
        }
        if object["metadata"]["ownerReferences"]
            .as_array()
            .is_some_and(Vec::is_empty)
            && let Some(meta) = object["metadata"].as_object_mut()
        {
            meta.remove("ownerReferences");
        }
        state.put(&key, &ns, &name, object);
    }
}

/// Deletes an object now if nothing blocks it, else marks it for deletion (finalizers).
pub fn delete_or_mark(state: &mut State, key: &CollectionKey, namespace: &str, name: &str) {
    let Some(entry) = state.get(key, namespace, name) else {
        return;
    };
    let object = entry.value();
    let has_finalizers = object["metadata"]["finalizers"]
        .as_array()
        .is_some_and(|a| !a.is_empty());
    if has_finalizers {
        if object["metadata"]["deletionTimestamp"].is_null() {
            let mut marked = object;
            marked["metadata"]["deletionTimestamp"] = json!(clock::now_rfc3339());
            marked["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            state.put(key, namespace, name, marked);
        }
        return;
    }
    remove_and_collect(state, key, namespace, name);
}

/// Removes an object and, like the garbage collector with background propagation, its
/// dependents (recursively); CRDs take their custom resources with them.
pub fn remove_and_collect(state: &mut State, key: &CollectionKey, namespace: &str, name: &str) -> Option<Value> {
    let removed = state.remove(key, namespace, name)?;
    if let Some(uid) = removed["metadata"]["uid"].as_str() {
        for (dkey, dns, dname) in state.dependents(uid) {
            delete_or_mark(state, &dkey, &dns, &dname);
        }
    }
    if key.0 == "apiextensions.k8s.io" && key.1 == "customresourcedefinitions" {
        let group = removed["spec"]["group"].as_str().unwrap_or_default().to_string();
        let plural = removed["spec"]["names"]["plural"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let cr_key = (group.clone(), plural.clone());
        let all: Vec<(String, String)> = state.list(&cr_key, None).map(|(k, _)| k.clone()).collect();
        for (ns, n) in all {
            remove_and_collect(state, &cr_key, &ns, &n);
        }
        state.set_crd_resources(&group, &plural, Vec::new());
    }
    Some(removed)
}
