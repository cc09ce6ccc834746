//! Errors of the cluster seam, each naming the object (`Kind namespace/name`) it is about.

use std::path::PathBuf;

use super::ObjectRef;

/// What went wrong talking to the cluster.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The kubeconfig could not be read or does not describe a usable context.
    #[error("cannot load kubeconfig{}", path.as_ref().map(|p| format!(" `{}`", p.display())).unwrap_or_default())]
    Kubeconfig {
        path: Option<PathBuf>,
        #[source]
        source: kube::config::KubeconfigError,
    },
    /// The kubeconfig has no context of that name.
    #[error(
        "the kubeconfig{} has no context `{context}`{}",
        path.as_ref().map(|p| format!(" `{}`", p.display())).unwrap_or_default(),
        if available.is_empty() { " (it has none)".to_string() } else { format!(" (it has: {})", available.join(", ")) }
    )]
    ContextMissing {
        path: Option<PathBuf>,
        context: String,
        available: Vec<String>,
    },
    /// The client could not be built (TLS settings, proxy…).
    #[error("cannot create a Kubernetes client")]
    Client {
        #[source]
        source: kube::Error,
    },
    /// The API server did not answer `/version`, or refused the credentials.
    #[error("cannot talk to the API server{}", server.as_ref().map(|s| format!(" at {s}")).unwrap_or_default())]
    Server {
        server: Option<String>,
        #[source]
        source: kube::Error,
    },
    /// The API server does not serve this kind.
    #[error("no resource type for kind `{kind}` in `{api_version}` (is its CustomResourceDefinition installed?)")]
    UnknownKind { api_version: String, kind: String },
    /// Discovery of a group-version failed.
    #[error("cannot discover the resource types of `{api_version}`")]
    Discovery {
        api_version: String,
        #[source]
        source: Box<ClusterError>,
    },
    /// An object that cannot be sent (missing kind, name…).
    #[error("invalid object `{object}`: {reason}")]
    InvalidObject { object: String, reason: String },
    /// The object exists already (a create answered 409 AlreadyExists).
    #[error("cannot create `{object}`: it already exists")]
    AlreadyExists { object: String },
    /// The API server answered with an error status.
    #[error("cannot {verb} `{object}`")]
    Api {
        verb: &'static str,
        object: String,
        #[source]
        source: ApiStatus,
    },
    /// The request did not get an answer (connection refused or dropped, TLS, timeout…).
    #[error("cannot {verb} `{object}`: the cluster did not answer")]
    Transport {
        verb: &'static str,
        object: String,
        #[source]
        source: kube::Error,
    },
}

/// An error status returned by the API server.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message} ({code} {reason})")]
pub struct ApiStatus {
    /// HTTP status code.
    pub code: u16,
    /// The `reason` (`NotFound`, `Conflict`, `Forbidden`…).
    pub reason: String,
    /// The server's message.
    pub message: String,
}

impl ClusterError {
    /// Classifies a failed request on `object`.
    pub fn request(verb: &'static str, object: &ObjectRef, source: kube::Error) -> ClusterError {
        let object = object.to_string();
        match source {
            kube::Error::Api(status) if status.code == 409 && status.reason == "AlreadyExists" && verb == "create" => {
                ClusterError::AlreadyExists { object }
            }
            kube::Error::Api(status) => ClusterError::Api {
                verb,
                object,
                source: ApiStatus {
                    code: status.code,
                    reason: status.reason.clone(),
                    message: status.message.clone(),
                },
            },
            source => ClusterError::Transport { verb, object, source },
        }
    }

    /// The HTTP status code of an API error.
    pub fn code(&self) -> Option<u16> {
        match self {
            ClusterError::Api { source, .. } => Some(source.code),
            ClusterError::AlreadyExists { .. } => Some(409),
            ClusterError::Discovery { source, .. } => source.code(),
            ClusterError::Server {
                source: kube::Error::Api(status),
                ..
            } => Some(status.code),
            _ => None,
        }
    }

    /// True for 404 answers.
    pub fn is_not_found(&self) -> bool {
        self.code() == Some(404)
    }

    /// True for 409 answers (conflicts and already-exists).
    pub fn is_conflict(&self) -> bool {
        self.code() == Some(409)
    }
}
