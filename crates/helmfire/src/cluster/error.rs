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
    /// The request did not get an answer (connection refused or dropped, timeout…); the cause
    /// names the server and the context.
    #[error("cannot {verb} `{object}`: the cluster did not answer")]
    Transport {
        verb: &'static str,
        object: String,
        /// Usually an [`Unanswered`]; kube's own wrapper is taken off (its text adds only a
        /// `ServiceError:` prefix).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The TLS handshake failed (an unknown certificate authority, a wrong server name…): not
    /// retried, since every attempt would fail the same way.
    #[error("cannot {verb} `{object}`: the TLS connection to the cluster failed")]
    Tls {
        verb: &'static str,
        object: String,
        #[source]
        source: Box<Unanswered>,
    },
    /// The kubeconfig's `certificate-authority-data` decodes to no certificate (kubectl refuses it).
    #[error("the certificate authority of context `{context}` holds no PEM certificate")]
    CertificateAuthority { context: String },
    /// The exec credential plugin gave no credential.
    #[error("cannot authenticate to the cluster")]
    Credentials {
        #[source]
        source: super::credentials::CredentialError,
    },
}

/// A request that got no usable answer. Each names the server and the kubeconfig context, so
/// that an error says which cluster did not answer.
#[derive(Debug, thiserror::Error)]
pub enum Unanswered {
    /// Neither an answer nor an error came within the deadline (a server that accepted the
    /// connection and then said nothing, or stalled mid-body).
    #[error("no answer from {endpoint} within {seconds}s")]
    Timeout { endpoint: String, seconds: u64 },
    #[error("TLS handshake with {endpoint} failed")]
    Tls {
        endpoint: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("cannot reach {endpoint}")]
    Connection {
        endpoint: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The error inside kube's transport wrappers (`HyperError: …`, `ServiceError: …`), whose own
/// text adds only a Rust type name.
pub(super) fn unwrap_kube(error: kube::Error) -> Box<dyn std::error::Error + Send + Sync> {
    match error {
        kube::Error::Service(inner) => inner,
        kube::Error::HyperError(inner) => Box::new(inner),
        other => Box::new(other),
    }
}

/// Whether a failed request failed in TLS (its chain holds a rustls error, possibly inside an
/// `io::Error`, whose `source()` skips the error it wraps).
pub(super) fn is_tls(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if error.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        if let Some(io) = error.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && is_tls(inner)
        {
            return true;
        }
        current = error.source();
    }
    false
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
        ClusterError::request_to(verb, object.to_string(), source)
    }

    /// Classifies a failed request on something that is not an object (`/version`).
    pub fn request_to(verb: &'static str, object: String, source: kube::Error) -> ClusterError {
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
            kube::Error::Service(inner) if inner.is::<Unanswered>() => match inner.downcast::<Unanswered>() {
                Ok(unanswered) if matches!(*unanswered, Unanswered::Tls { .. }) => ClusterError::Tls {
                    verb,
                    object,
                    source: unanswered,
                },
                Ok(unanswered) => ClusterError::Transport {
                    verb,
                    object,
                    source: unanswered,
                },
                Err(inner) => ClusterError::Transport {
                    verb,
                    object,
                    source: inner,
                },
            },
            source => ClusterError::Transport {
                verb,
                object,
                source: unwrap_kube(source),
            },
        }
    }

    /// The HTTP status code of an API error.
    pub fn code(&self) -> Option<u16> {
        match self {
            ClusterError::Api { source, .. } => Some(source.code),
            ClusterError::AlreadyExists { .. } => Some(409),
            ClusterError::Discovery { source, .. } => source.code(),
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
