//! The Kubernetes seam: a [`Cluster`] wraps a `kube::Client` (built from a kubeconfig, or from
//! any tower service such as the sandbox's) with cached discovery and the few verbs the engine
//! and the storage need — get, server-side apply, create, replace, delete, list by label — each
//! retrying transient API errors. It knows nothing of charts, releases or records.
//!
//! Every request has a deadline ([`ClusterConfig::request_timeout`], 30 s by default: the
//! client's connect and per-read timeouts, and a deadline around each attempt) and retries stay
//! within [`RetryPolicy::budget`]; exec credential plugins run with the same deadline
//! (`credentials`). A request that gets no answer names the server and the context.

mod credentials;
mod discovery;
mod error;
mod retry;

use std::fmt::Display;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::Value as Json;

pub use credentials::CredentialError;
pub use discovery::ResourceType;
pub use error::{ApiStatus, ClusterError, Unanswered};
pub use kube::api::{Patch, PatchParams, PropagationPolicy};
pub use retry::{Retry, RetryObserver, RetryPolicy};

use discovery::Discovery;

/// How long one request may take when nothing else is said (`--request-timeout`).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Where to find the cluster: a kubeconfig file (otherwise `$KUBECONFIG`, then
/// `~/.kube/config`) and a context (otherwise the kubeconfig's current context).
#[derive(Clone, Debug)]
pub struct ClusterConfig {
    /// An explicit kubeconfig file (or a `$KUBECONFIG`-style list of files).
    pub kubeconfig: Option<PathBuf>,
    /// A context name overriding the kubeconfig's current context.
    pub context: Option<String>,
    /// The deadline of one request and of one run of an exec credential plugin; retries of a
    /// call stop after twice that.
    pub request_timeout: Duration,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        ClusterConfig {
            kubeconfig: None,
            context: None,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// The server and context requests go to, for errors: ``` `https://10.0.0.1:6443` (context `prod`)```.
#[derive(Clone, Debug, Default)]
struct Endpoint {
    server: Option<String>,
    context: Option<String>,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.server {
            Some(server) => write!(f, "`{server}`")?,
            None => f.write_str("the cluster")?,
        }
        if let Some(context) = &self.context {
            write!(f, " (context `{context}`)")?;
        }
        Ok(())
    }
}

/// A connected cluster. Clones share the client and the discovery cache.
#[derive(Clone)]
pub struct Cluster {
    client: kube::Client,
    discovery: Arc<Discovery>,
    retry: RetryPolicy,
    endpoint: Arc<Endpoint>,
    /// Each attempt's deadline.
    deadline: Duration,
    observer: Option<Arc<dyn RetryObserver>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("default_namespace", &self.client.default_namespace())
            .finish_non_exhaustive()
    }
}

/// Identifies one object: `apiVersion`, `kind`, namespace (absent for cluster-scoped kinds or
/// when the client's default namespace applies) and name. Displays as `Kind namespace/name`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    /// A reference from its parts.
    pub fn new(api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> ObjectRef {
        ObjectRef {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            namespace: namespace.map(str::to_string),
            name: name.to_string(),
        }
    }

    /// The reference of a manifest object (`apiVersion`, `kind`, `metadata.name`,
    /// `metadata.namespace`).
    pub fn of(object: &Json) -> Result<ObjectRef, ClusterError> {
        let text = |pointer: &str| object.pointer(pointer).and_then(Json::as_str).filter(|s| !s.is_empty());
        let missing = |field: &str| ClusterError::InvalidObject {
            object: describe_partial(object),
            reason: format!("`{field}` is missing"),
        };
        Ok(ObjectRef {
            api_version: text("/apiVersion").ok_or_else(|| missing("apiVersion"))?.to_string(),
            kind: text("/kind").ok_or_else(|| missing("kind"))?.to_string(),
            namespace: text("/metadata/namespace").map(str::to_string),
            name: text("/metadata/name")
                .ok_or_else(|| missing("metadata.name"))?
                .to_string(),
        })
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(namespace) => write!(f, "{} {namespace}/{}", self.kind, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// Whether a failed request is worth trying again (what [`Cluster::with_retries`] retries).
pub fn is_transient(error: &kube::Error) -> bool {
    retry::transient(error).is_some()
}

/// True inside a Kubernetes pod (the service host variable is set).
fn in_cluster() -> bool {
    std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
}

fn describe_partial(object: &Json) -> String {
    let kind = object.get("kind").and_then(Json::as_str).unwrap_or("object");
    let name = object
        .pointer("/metadata/name")
        .and_then(Json::as_str)
        .unwrap_or("<unnamed>");
    format!("{kind} {name}")
}

/// Options of a server-side apply.
#[derive(Clone, Debug, Default)]
pub struct ApplyOptions {
    /// The field manager owning the applied fields.
    pub field_manager: String,
    /// Take over fields owned by other managers instead of failing with a conflict.
    pub force: bool,
    /// `dryRun=All`: the server answers what it would store, and stores nothing.
    pub dry_run: bool,
}

impl Cluster {
    /// Connects using a kubeconfig. No request is sent yet (except an exec credential plugin's
    /// first run): an unreachable server shows up as an error of the first call.
    pub async fn connect(config: &ClusterConfig) -> Result<Cluster, ClusterError> {
        let kubeconfig = match &config.kubeconfig {
            // A `$KUBECONFIG`-style list of files is merged, first one winning, as kubectl does.
            Some(paths) => std::env::split_paths(paths)
                .filter(|p| !p.as_os_str().is_empty())
                .try_fold(Kubeconfig::default(), |merged, path| {
                    Kubeconfig::read_from(&path).and_then(|next| merged.merge(next))
                }),
            None => Kubeconfig::read(),
        };
        let kubeconfig = match kubeconfig {
            Ok(kubeconfig) => kubeconfig,
            // Inside a pod without any kubeconfig, use the service account like helm does.
            Err(_) if config.kubeconfig.is_none() && config.context.is_none() && in_cluster() => {
                if let Ok(client_config) = kube::Config::incluster() {
                    let endpoint = Endpoint {
                        server: Some(client_config.cluster_url.to_string()),
                        context: None,
                    };
                    return Cluster::build(client_config, endpoint, config.request_timeout, None).await;
                }
                Kubeconfig::read().map_err(|source| ClusterError::Kubeconfig { path: None, source })?
            }
            Err(source) => {
                return Err(ClusterError::Kubeconfig {
                    path: config.kubeconfig.clone(),
                    source,
                });
            }
        };
        if let Some(context) = &config.context
            && !kubeconfig.contexts.iter().any(|named| &named.name == context)
        {
            return Err(ClusterError::ContextMissing {
                path: config.kubeconfig.clone(),
                context: context.clone(),
                available: kubeconfig.contexts.iter().map(|named| named.name.clone()).collect(),
            });
        }
        let context = config
            .context
            .clone()
            .or_else(|| kubeconfig.current_context.clone())
            .unwrap_or_default();
        let options = KubeConfigOptions {
            context: config.context.clone(),
            cluster: None,
            user: None,
        };
        let mut client_config = kube::Config::from_custom_kubeconfig(kubeconfig, &options)
            .await
            .map_err(|source| ClusterError::Kubeconfig {
                path: config.kubeconfig.clone(),
                source,
            })?;
        // kubectl refuses certificate-authority data that holds no certificate; kube-rs would
        // silently trust nothing (or fall back), and every request would fail obscurely.
        if client_config.root_cert.as_ref().is_some_and(Vec::is_empty) && !client_config.accept_invalid_certs {
            return Err(ClusterError::CertificateAuthority { context });
        }
        let endpoint = Endpoint {
            server: Some(client_config.cluster_url.to_string()),
            context: Some(context.clone()),
        };
        // kube-rs would run an exec plugin with no deadline, blocking; helmfire runs it.
        let plugin = match client_config.auth_info.exec.take() {
            Some(exec) => {
                let plugin = credentials::ExecPlugin::new(exec, &context, config.request_timeout);
                match plugin
                    .run()
                    .await
                    .map_err(|source| ClusterError::Credentials { source })?
                {
                    credentials::Credential::Token { token, expires } => {
                        plugin.remember(token, expires).await;
                        Some(Arc::new(plugin))
                    }
                    credentials::Credential::Certificate { certificate, key } => {
                        use base64::Engine as _;
                        let encode = |pem: &str| base64::engine::general_purpose::STANDARD.encode(pem);
                        client_config.auth_info.client_certificate_data = Some(encode(&certificate));
                        client_config.auth_info.client_key_data = Some(encode(&key).into());
                        None
                    }
                }
            }
            None => None,
        };
        Cluster::build(client_config, endpoint, config.request_timeout, plugin).await
    }

    /// The client for a resolved configuration, with the deadlines set.
    async fn build(
        mut client_config: kube::Config,
        endpoint: Endpoint,
        deadline: Duration,
        plugin: Option<Arc<credentials::ExecPlugin>>,
    ) -> Result<Cluster, ClusterError> {
        // Retries happen in `Cluster` (bounded, idempotent calls only), not in kube's layer,
        // which would also retry non-idempotent creates and wait up to minutes.
        client_config.default_retry = false;
        client_config.connect_timeout = Some(deadline);
        client_config.write_timeout = Some(deadline);
        // A read that waits longer than the deadline fails even where no attempt deadline
        // applies (the Lease renewer); counted from each write, not from when a pooled
        // connection went idle. helmfire opens no watches or exec sessions.
        client_config.read_timeout = Some(deadline);
        client_config.reset_reader_on_write = true;
        let default_namespace = client_config.default_namespace.clone();
        let client = kube::Client::try_from(client_config).map_err(|source| ClusterError::Client { source })?;
        let client = match plugin {
            Some(plugin) => kube::Client::new(credentials::ExecAuth { inner: client, plugin }, default_namespace),
            None => client,
        };
        let mut cluster = Cluster::from_client(client);
        cluster.endpoint = Arc::new(endpoint);
        cluster.deadline = deadline;
        cluster.retry.budget = deadline * 2;
        Ok(cluster)
    }

    /// Wraps an existing client (tests, the sandbox's in-process service).
    pub fn from_client(client: kube::Client) -> Cluster {
        Cluster {
            client,
            discovery: Arc::new(Discovery::default()),
            retry: RetryPolicy::default(),
            endpoint: Arc::new(Endpoint::default()),
            deadline: DEFAULT_REQUEST_TIMEOUT,
            observer: None,
        }
    }

    /// The same cluster with another retry policy (tests use short delays).
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Cluster {
        self.retry = retry;
        self
    }

    /// The same cluster with another per-request deadline.
    pub fn with_request_timeout(mut self, deadline: Duration) -> Cluster {
        self.deadline = deadline;
        self
    }

    /// The same cluster telling `observer` about every retry.
    pub fn with_retry_observer(mut self, observer: Arc<dyn RetryObserver>) -> Cluster {
        self.observer = Some(observer);
        self
    }

    /// The underlying client.
    pub fn client(&self) -> &kube::Client {
        &self.client
    }

    /// The server's version (`GET /version`): `None` when the server has no such endpoint
    /// (it answered, with an error status); an error when it did not answer at all, so that an
    /// unreachable or hung cluster is reported once, before any work starts.
    pub async fn server_version(&self) -> Result<Option<String>, ClusterError> {
        match self
            .with_retries("get", "/version", || self.client.apiserver_version())
            .await
        {
            Ok(info) => Ok(Some(info.git_version)),
            // Refused credentials fail every later request too: say so once, here.
            Err(kube::Error::Api(status)) if status.code != 401 => Ok(None),
            // An answer that is not a version (a proxy's HTML page…): not fatal either.
            Err(kube::Error::SerdeError(_)) => Ok(None),
            Err(source) => Err(ClusterError::request_to("get", "/version".to_string(), source)),
        }
    }

    /// The namespace of the kubeconfig's context (`default` when it names none).
    pub fn default_namespace(&self) -> &str {
        self.client.default_namespace()
    }

    /// Runs an idempotent call (`verb` on `subject`, for errors and `-v`), each attempt within
    /// the request deadline, retrying transient errors (5xx, 429 honouring its
    /// `retryAfterSeconds`, dropped connections, missed deadlines — never TLS failures) with
    /// bounded exponential backoff, all within the retry budget.
    pub async fn with_retries<T, F, Fut>(&self, verb: &str, subject: impl Display, op: F) -> Result<T, kube::Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, kube::Error>>,
    {
        self.attempts(verb, subject, self.retry, op).await
    }

    /// Runs a call once, within the request deadline (non-idempotent requests, and callers
    /// with their own retry loop such as the Lease).
    pub async fn once<T, F, Fut>(&self, verb: &str, subject: impl Display, op: F) -> Result<T, kube::Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, kube::Error>>,
    {
        self.attempts(verb, subject, RetryPolicy::none(), op).await
    }

    async fn attempts<T, F, Fut>(
        &self,
        verb: &str,
        subject: impl Display,
        policy: RetryPolicy,
        mut op: F,
    ) -> Result<T, kube::Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, kube::Error>>,
    {
        let subject = subject.to_string();
        let timed_out = |after: Duration| {
            kube::Error::Service(Box::new(Unanswered::Timeout {
                endpoint: self.endpoint.to_string(),
                seconds: after.as_secs_f64().round() as u64,
            }))
        };
        let request = retry::Attempts {
            verb,
            subject: &subject,
            deadline: self.deadline,
            timed_out: &timed_out,
            observer: self.observer.as_deref(),
        };
        policy
            .run(&request, || {
                let attempt = op();
                async { attempt.await.map_err(|error| self.unanswered(error)) }
            })
            .await
    }

    /// Names the server in errors that are not the API server's answer, and marks TLS ones.
    fn unanswered(&self, error: kube::Error) -> kube::Error {
        match error {
            kube::Error::Api(_) => error,
            kube::Error::Service(inner) if inner.is::<Unanswered>() => kube::Error::Service(inner),
            other
                if matches!(
                    other,
                    kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_)
                ) =>
            {
                let endpoint = self.endpoint.to_string();
                let unanswered = if error::is_tls(&other) {
                    Unanswered::Tls {
                        endpoint,
                        source: error::unwrap_kube(other),
                    }
                } else {
                    Unanswered::Connection {
                        endpoint,
                        source: error::unwrap_kube(other),
                    }
                };
                kube::Error::Service(Box::new(unanswered))
            }
            other => other,
        }
    }

    /// Resolves `apiVersion` + `kind` to the API resource and its scope. Discovery results are
    /// cached per group-version for the life of the process (shared by clones); a kind missing
    /// from the cache triggers one fresh lookup, so CRDs installed mid-run resolve.
    pub async fn resolve(&self, api_version: &str, kind: &str) -> Result<ResourceType, ClusterError> {
        self.discovery.resolve(self, api_version, kind).await
    }

    /// A dynamic API handle for a resolved type; `namespace` is ignored for cluster-scoped
    /// types and defaults to the client's namespace for namespaced ones.
    pub fn api(&self, resource: &ResourceType, namespace: Option<&str>) -> Api<DynamicObject> {
        if resource.namespaced {
            let namespace = namespace.unwrap_or(self.client.default_namespace());
            Api::namespaced_with(self.client.clone(), namespace, &resource.api_resource)
        } else {
            Api::all_with(self.client.clone(), &resource.api_resource)
        }
    }

    /// The reference as the API sees it: namespace filled in for namespaced kinds, dropped for
    /// cluster-scoped ones.
    fn normalise(&self, object: &ObjectRef, resource: &ResourceType) -> ObjectRef {
        let mut object = object.clone();
        if resource.namespaced {
            if object.namespace.is_none() {
                object.namespace = Some(self.client.default_namespace().to_string());
            }
        } else {
            object.namespace = None;
        }
        object
    }

    /// The API endpoint of an object and its reference as the API sees it (see [`Self::normalise`]).
    async fn target(&self, object: &ObjectRef) -> Result<(ObjectRef, Api<DynamicObject>), ClusterError> {
        let resource = self.resolve(&object.api_version, &object.kind).await?;
        let object = self.normalise(object, &resource);
        let api = self.api(&resource, object.namespace.as_deref());
        Ok((object, api))
    }

    /// Reads an object; `None` when it does not exist.
    pub async fn get(&self, object: &ObjectRef) -> Result<Option<DynamicObject>, ClusterError> {
        let (object, api) = self.target(object).await?;
        self.with_retries("get", &object, || api.get_opt(&object.name))
            .await
            .map_err(|source| ClusterError::request("get", &object, source))
    }

    /// Server-side applies a manifest object (`Patch::Apply`) and returns what the server
    /// stored. Retried: apply is idempotent.
    pub async fn apply(&self, object: &Json, options: &ApplyOptions) -> Result<DynamicObject, ClusterError> {
        let (reference, api) = self.target(&ObjectRef::of(object)?).await?;
        let mut params = PatchParams::apply(&options.field_manager);
        params.force = options.force;
        params.dry_run = options.dry_run;
        let patch = Patch::Apply(object);
        self.with_retries("apply", &reference, || api.patch(&reference.name, &params, &patch))
            .await
            .map_err(|source| ClusterError::request("apply", &reference, source))
    }

    /// Creates an object. Transient errors are retried; a create that reached the server
    /// before the connection dropped then answers [`ClusterError::AlreadyExists`], which
    /// callers that care resolve by reading the object back.
    pub async fn create(&self, object: &Json) -> Result<DynamicObject, ClusterError> {
        let (reference, api) = self.target(&ObjectRef::of(object)?).await?;
        let body = typed(object, &reference)?;
        let params = PostParams::default();
        self.with_retries("create", &reference, || api.create(&params, &body))
            .await
            .map_err(|source| ClusterError::request("create", &reference, source))
    }

    /// Replaces an object (PUT). Without `metadata.resourceVersion` the replace is
    /// unconditional and therefore retried.
    pub async fn replace(&self, object: &Json) -> Result<DynamicObject, ClusterError> {
        let (reference, api) = self.target(&ObjectRef::of(object)?).await?;
        let body = typed(object, &reference)?;
        let params = PostParams::default();
        self.with_retries("replace", &reference, || api.replace(&reference.name, &params, &body))
            .await
            .map_err(|source| ClusterError::request("replace", &reference, source))
    }

    /// Patches an object (merge, strategic merge, apply or JSON patch). Merge, strategic and
    /// apply patches set absolute values and are retried; JSON patches are sent once.
    pub async fn patch(
        &self,
        object: &ObjectRef,
        patch: &Patch<Json>,
        params: &PatchParams,
    ) -> Result<DynamicObject, ClusterError> {
        let (object, api) = self.target(object).await?;
        let idempotent = matches!(patch, Patch::Apply(_) | Patch::Merge(_) | Patch::Strategic(_));
        let result = if idempotent {
            self.with_retries("patch", &object, || api.patch(&object.name, params, patch))
                .await
        } else {
            self.once("patch", &object, || api.patch(&object.name, params, patch))
                .await
        };
        result.map_err(|source| ClusterError::request("patch", &object, source))
    }

    /// Deletes an object; `false` when it was already gone.
    pub async fn delete(
        &self,
        object: &ObjectRef,
        propagation: Option<PropagationPolicy>,
    ) -> Result<bool, ClusterError> {
        let (object, api) = self.target(object).await?;
        let params = DeleteParams {
            propagation_policy: propagation,
            ..DeleteParams::default()
        };
        match self
            .with_retries("delete", &object, || api.delete(&object.name, &params))
            .await
        {
            Ok(_) => Ok(true),
            Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
            Err(source) => Err(ClusterError::request("delete", &object, source)),
        }
    }

    /// Lists the objects of a type matching a label selector, in one namespace (or across
    /// all namespaces with `None` for namespaced types).
    pub async fn list(
        &self,
        resource: &ResourceType,
        namespace: Option<&str>,
        label_selector: &str,
    ) -> Result<Vec<DynamicObject>, ClusterError> {
        let api = match (resource.namespaced, namespace) {
            (true, Some(namespace)) => Api::namespaced_with(self.client.clone(), namespace, &resource.api_resource),
            _ => Api::all_with(self.client.clone(), &resource.api_resource),
        };
        let params = ListParams::default().labels(label_selector);
        let subject = ObjectRef {
            api_version: resource.api_resource.api_version.clone(),
            kind: resource.api_resource.kind.clone(),
            namespace: namespace.map(str::to_string),
            name: format!("-l {label_selector}"),
        };
        let list = self
            .with_retries("list", &subject, || api.list(&params))
            .await
            .map_err(|source| ClusterError::request("list", &subject, source))?;
        Ok(list.items)
    }
}

/// A manifest object as the typed body create and replace send; the error names the object.
fn typed(object: &Json, reference: &ObjectRef) -> Result<DynamicObject, ClusterError> {
    serde_json::from_value(object.clone()).map_err(|source| ClusterError::InvalidObject {
        object: reference.to_string(),
        reason: source.to_string(),
    })
}
