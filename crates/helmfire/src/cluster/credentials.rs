//! Kubeconfig exec credential plugins (`users[].user.exec`: `aws eks get-token`, `gke-gcloud-auth-plugin`,
//! `kubelogin`…) run with a deadline. kube-rs runs them with a blocking `Command::output()` and
//! no limit, so a plugin that hangs hung every command for good; here each run is killed after
//! the request deadline and the error names the plugin and the context.
//!
//! A plugin answering with a token is called again shortly before the token expires (as kubectl
//! does) through [`ExecAuth`], a service in front of the client that sets `Authorization`. One
//! answering with a client certificate is run once, when connecting.

use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use http::{HeaderValue, Request};
use k8s_openapi::jiff::Timestamp;
use kube::client::Body;
use kube::config::{ExecConfig, ExecInteractiveMode};
use tokio::sync::Mutex;

/// Why a credential plugin gave no credential.
#[derive(Debug, thiserror::Error)]
pub enum CredentialError {
    #[error(
        "the credential plugin `{command}` of context `{context}` did not finish within {seconds}s (it was stopped)"
    )]
    Timeout {
        command: String,
        context: String,
        seconds: u64,
    },
    #[error("cannot run the credential plugin `{command}` of context `{context}`")]
    Start {
        command: String,
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the credential plugin `{command}` of context `{context}` failed ({status}): {stderr}")]
    Failed {
        command: String,
        context: String,
        status: String,
        stderr: String,
    },
    #[error("the credential plugin `{command}` of context `{context}` printed no usable ExecCredential: {reason}")]
    Invalid {
        command: String,
        context: String,
        reason: String,
    },
    #[error("the credential plugin of context `{context}` names no command")]
    NoCommand { context: String },
}

/// What a plugin answered.
#[derive(Clone, Debug)]
pub enum Credential {
    /// A bearer token, valid until `expires` when the plugin says so.
    Token { token: String, expires: Option<Timestamp> },
    /// A client certificate and key (PEM).
    Certificate { certificate: String, key: String },
}

/// Runs one exec plugin on demand, with a deadline, caching its token until shortly before it
/// expires.
pub struct ExecPlugin {
    config: ExecConfig,
    context: String,
    deadline: Duration,
    cached: Mutex<Option<(String, Option<Timestamp>)>>,
}

impl std::fmt::Debug for ExecPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecPlugin")
            .field("command", &self.config.command)
            .field("context", &self.context)
            .finish_non_exhaustive()
    }
}

/// A token this close to its expiry is renewed first (kube-rs and client-go use a minute too).
const RENEW_BEFORE: Duration = Duration::from_secs(60);

impl ExecPlugin {
    pub fn new(config: ExecConfig, context: &str, deadline: Duration) -> ExecPlugin {
        ExecPlugin {
            config,
            context: context.to_string(),
            deadline,
            cached: Mutex::new(None),
        }
    }

    fn command(&self) -> String {
        self.config.command.clone().unwrap_or_default()
    }

    /// Runs the plugin once, killing it when it outlives the deadline.
    pub async fn run(&self) -> Result<Credential, CredentialError> {
        let Some(program) = self.config.command.as_deref().filter(|c| !c.is_empty()) else {
            return Err(CredentialError::NoCommand {
                context: self.context.clone(),
            });
        };
        let mut command = tokio::process::Command::new(program);
        command.args(self.config.args.iter().flatten());
        for entry in self.config.env.iter().flatten() {
            if let (Some(name), Some(value)) = (entry.get("name"), entry.get("value")) {
                command.env(name, value);
            }
        }
        for name in self.config.drop_env.iter().flatten() {
            command.env_remove(name);
        }
        let interactive = self.config.interactive_mode != Some(ExecInteractiveMode::Never);
        let mut spec = serde_json::json!({"interactive": interactive});
        if self.config.provide_cluster_info
            && let Some(cluster) = &self.config.cluster
        {
            spec["cluster"] = serde_json::to_value(cluster).unwrap_or_default();
        }
        let info = serde_json::json!({
            "apiVersion": self.config.api_version.clone().unwrap_or_default(),
            "kind": "ExecCredential",
            "spec": spec,
        });
        command
            .env("KUBERNETES_EXEC_INFO", info.to_string())
            .stdin(if interactive { Stdio::inherit() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(if interactive { Stdio::inherit() } else { Stdio::piped() })
            .kill_on_drop(true);
        let child = command.spawn().map_err(|source| CredentialError::Start {
            command: self.command(),
            context: self.context.clone(),
            source,
        })?;
        let output = match tokio::time::timeout(self.deadline, child.wait_with_output()).await {
            Ok(output) => output.map_err(|source| CredentialError::Start {
                command: self.command(),
                context: self.context.clone(),
                source,
            })?,
            // Dropping the future kills the plugin (`kill_on_drop`).
            Err(_) => {
                return Err(CredentialError::Timeout {
                    command: self.command(),
                    context: self.context.clone(),
                    seconds: self.deadline.as_secs(),
                });
            }
        };
        if !output.status.success() {
            return Err(CredentialError::Failed {
                command: self.command(),
                context: self.context.clone(),
                status: output.status.to_string(),
                stderr: String::from_utf8_lossy(&output.stderr).trim().to_string(),
            });
        }
        self.parse(&output.stdout)
    }

    fn parse(&self, stdout: &[u8]) -> Result<Credential, CredentialError> {
        let invalid = |reason: &str| CredentialError::Invalid {
            command: self.command(),
            context: self.context.clone(),
            reason: reason.to_string(),
        };
        let credential: serde_json::Value = serde_json::from_slice(stdout).map_err(|e| invalid(&e.to_string()))?;
        let status = &credential["status"];
        let text = |field: &str| status[field].as_str().filter(|s| !s.is_empty()).map(str::to_string);
        if let (Some(certificate), Some(key)) = (text("clientCertificateData"), text("clientKeyData")) {
            return Ok(Credential::Certificate { certificate, key });
        }
        let token = text("token").ok_or_else(|| invalid("`status.token` is missing"))?;
        let expires = match text("expirationTimestamp") {
            Some(stamp) => Some(
                stamp
                    .parse::<Timestamp>()
                    .map_err(|e| invalid(&format!("`status.expirationTimestamp`: {e}")))?,
            ),
            None => None,
        };
        Ok(Credential::Token { token, expires })
    }

    /// The `Authorization` header: the cached token, or a fresh one when it is about to expire.
    pub async fn header(&self) -> Result<HeaderValue, CredentialError> {
        let mut cached = self.cached.lock().await;
        let fresh = cached.as_ref().is_some_and(|(_, expires)| {
            expires.is_none_or(|expires| {
                let renew = k8s_openapi::jiff::SignedDuration::try_from(RENEW_BEFORE).unwrap_or_default();
                Timestamp::now().checked_add(renew).is_ok_and(|soon| soon < expires)
            })
        });
        if !fresh {
            match self.run().await? {
                Credential::Token { token, expires } => *cached = Some((token, expires)),
                Credential::Certificate { .. } => {
                    return Err(CredentialError::Invalid {
                        command: self.command(),
                        context: self.context.clone(),
                        reason: "it answered a client certificate where it had answered a token before".into(),
                    });
                }
            }
        }
        let token = cached.as_ref().map(|(token, _)| token.as_str()).unwrap_or_default();
        let mut value = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| CredentialError::Invalid {
            command: self.command(),
            context: self.context.clone(),
            reason: "the token is not a valid header value".into(),
        })?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// Seeds the cache with a credential already obtained (the first run, when connecting).
    pub async fn remember(&self, token: String, expires: Option<Timestamp>) {
        *self.cached.lock().await = Some((token, expires));
    }
}

/// A service in front of a client that authenticates every request with the plugin's token.
#[derive(Clone)]
pub struct ExecAuth {
    pub inner: kube::Client,
    pub plugin: Arc<ExecPlugin>,
}

impl tower_service::Service<Request<Body>> for ExecAuth {
    type Response = http::Response<Body>;
    type Error = Box<dyn std::error::Error + Send + Sync>;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: Request<Body>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let header = this.plugin.header().await?;
            request.headers_mut().insert(http::header::AUTHORIZATION, header);
            Ok(this.inner.send(request).await?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin(script: &str, deadline: Duration) -> ExecPlugin {
        let config = ExecConfig {
            api_version: Some("client.authentication.k8s.io/v1".into()),
            command: Some("sh".into()),
            args: Some(vec!["-c".into(), script.into()]),
            env: None,
            drop_env: None,
            install_hint: None,
            interactive_mode: Some(ExecInteractiveMode::Never),
            provide_cluster_info: false,
            cluster: None,
            other: Default::default(),
        };
        ExecPlugin::new(config, "prod", deadline)
    }

    #[tokio::test]
    async fn a_hanging_plugin_is_stopped_at_the_deadline() {
        let started = std::time::Instant::now();
        let error = plugin("sleep 600", Duration::from_secs(1)).run().await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(
            error.to_string(),
            "the credential plugin `sh` of context `prod` did not finish within 1s (it was stopped)"
        );
    }

    #[tokio::test]
    async fn tokens_certificates_and_failures() {
        let token = plugin(
            r#"echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t0k","expirationTimestamp":"2999-01-01T00:00:00Z"}}'"#,
            Duration::from_secs(30),
        );
        let Credential::Token { token: text, expires } = token.run().await.unwrap() else {
            panic!("a token")
        };
        assert_eq!(text, "t0k");
        assert!(expires.is_some());
        let header = token.header().await.unwrap();
        assert_eq!(header.to_str().unwrap(), "Bearer t0k");
        assert!(header.is_sensitive());

        let failing = plugin("echo denied >&2; exit 3", Duration::from_secs(30));
        let error = failing.run().await.unwrap_err().to_string();
        assert!(error.contains("failed (exit status: 3): denied"), "{error}");

        let garbage = plugin("echo '{\"status\":{}}'", Duration::from_secs(30));
        let error = garbage.run().await.unwrap_err().to_string();
        assert!(error.contains("`status.token` is missing"), "{error}");
    }
}
