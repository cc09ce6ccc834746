//! The HTTP(S) client of chart sources: hyper + rustls (aws-lc-rs), the stack kube-rs uses, with a
//! repository's TLS settings (custom CA, client certificate, `insecureSkipTLSVerify`), basic
//! auth sent only where Helm sends it, redirects followed, bodies size-capped. It knows nothing
//! of indexes, charts or registries.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::reference::Secret;

/// The largest response body accepted: Helm refuses charts over 100 MiB decompressed, and the
/// biggest public index.yaml files are a few tens of MiB.
pub const MAX_BODY: usize = 256 * 1024 * 1024;

/// How a repository's server is reached: TLS trust, client identity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TlsSettings {
    /// PEM bundle of the only certificate authorities to trust (Helm replaces the system pool).
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub insecure_skip_verify: bool,
}

/// Basic-auth credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: Secret,
}

impl Credentials {
    /// The `Authorization: Basic …` header value.
    pub fn basic_header(&self) -> HeaderValue {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", self.username, self.password.0));
        let mut value = HeaderValue::from_str(&format!("Basic {token}")).unwrap_or(HeaderValue::from_static(""));
        value.set_sensitive(true);
        value
    }
}

/// Why a request failed before a status code was seen.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("invalid URL `{url}`")]
    InvalidUrl { url: String },
    #[error("cannot read TLS file `{}`", path.display())]
    TlsFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid TLS settings: {message}")]
    Tls { message: String },
    #[error("request to `{url}` failed")]
    Transport {
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("reading the response from `{url}` failed")]
    Body {
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the response from `{url}` is larger than {limit} bytes")]
    TooLarge { url: String, limit: usize },
    #[error("`{url}` redirected more than 10 times")]
    TooManyRedirects { url: String },
    #[error("request to `{url}` timed out")]
    Timeout { url: String },
}

/// A complete response.
#[derive(Debug)]
pub struct Response {
    /// The URL that answered (after redirects).
    pub url: String,
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// One request: method, URL, headers, body, and the credentials with the host they belong to.
#[derive(Clone, Debug)]
pub struct RequestSpec {
    pub method: Method,
    pub url: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Sent as basic auth to `auth_host` (or everywhere with `pass_credentials`).
    pub credentials: Option<Credentials>,
    /// `host[:port]` the credentials belong to (the repository's own host).
    pub auth_host: Option<String>,
    pub pass_credentials: bool,
    pub follow_redirects: bool,
}

impl RequestSpec {
    pub fn get(url: impl Into<String>) -> RequestSpec {
        RequestSpec {
            method: Method::GET,
            url: url.into(),
            headers: HeaderMap::new(),
            body: Bytes::new(),
            credentials: None,
            auth_host: None,
            pass_credentials: false,
            follow_redirects: true,
        }
    }
}

type Connector = HttpsConnector<HttpConnector>;
type Hyper = HyperClient<Connector, Full<Bytes>>;

/// An HTTP client for one set of TLS settings. Cheap to clone; the TLS configuration (and the
/// system trust store, which takes milliseconds to read) is built on first use only, so a run
/// served entirely from the cache never pays for it.
#[derive(Clone)]
pub struct Client {
    tls: TlsSettings,
    inner: Arc<OnceLock<Result<Hyper, String>>>,
    timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("tls", &self.tls).finish()
    }
}

impl Client {
    pub fn new(tls: TlsSettings) -> Client {
        Client {
            tls,
            inner: Arc::new(OnceLock::new()),
            timeout: Duration::from_secs(120),
        }
    }

    fn hyper(&self) -> Result<&HyperClient<Connector, Full<Bytes>>, HttpError> {
        self.inner
            .get_or_init(|| build_client(&self.tls).map_err(|e| e.to_string()))
            .as_ref()
            .map_err(|message| HttpError::Tls {
                message: message.clone(),
            })
    }

    /// Validates the TLS files now (so a bad `caFile` is reported before any request).
    pub fn check(&self) -> Result<(), HttpError> {
        if self.tls == TlsSettings::default() {
            return Ok(());
        }
        build_tls_config(&self.tls).map(|_| ())
    }

    /// Sends `spec`, following redirects (credentials are dropped when a redirect leaves the
    /// repository's host, as Go's client does, unless `pass_credentials`).
    pub async fn send(&self, spec: &RequestSpec) -> Result<Response, HttpError> {
        let client = match self.hyper() {
            Ok(client) => client,
            // Rebuild the TLS settings once more to report the failure with its cause (an
            // unreadable CA or key file keeps its io::Error); success is cached, so the files are
            // read once per run, not per request.
            Err(error) => {
                self.check()?;
                return Err(error);
            }
        };
        let mut url = spec.url.clone();
        for _ in 0..10 {
            let uri: Uri = url.parse().map_err(|_| HttpError::InvalidUrl { url: url.clone() })?;
            if uri.host().is_none() {
                return Err(HttpError::InvalidUrl { url });
            }
            let mut request = Request::builder()
                .method(spec.method.clone())
                .uri(uri.clone())
                .body(Full::new(spec.body.clone()))
                .map_err(|_| HttpError::InvalidUrl { url: url.clone() })?;
            let headers = request.headers_mut();
            headers.insert(
                header::USER_AGENT,
                HeaderValue::from_static(concat!("helmfire/", env!("CARGO_PKG_VERSION"))),
            );
            for (name, value) in &spec.headers {
                headers.insert(name.clone(), value.clone());
            }
            if let Some(credentials) = &spec.credentials
                && !spec.headers.contains_key(header::AUTHORIZATION)
            {
                let host = authority(&uri);
                if spec.pass_credentials || spec.auth_host.as_deref().is_none_or(|h| h == host) {
                    headers.insert(header::AUTHORIZATION, credentials.basic_header());
                }
            }
            let response = tokio::time::timeout(self.timeout, client.request(request))
                .await
                .map_err(|_| HttpError::Timeout { url: url.clone() })?
                .map_err(|e| HttpError::Transport {
                    url: url.clone(),
                    source: Box::new(e),
                })?;
            let status = response.status();
            if spec.follow_redirects
                && status.is_redirection()
                && status != StatusCode::NOT_MODIFIED
                && let Some(location) = response.headers().get(header::LOCATION).and_then(|v| v.to_str().ok())
            {
                url = join_url(&url, location);
                continue;
            }
            let headers = response.headers().clone();
            let body = Limited::new(response.into_body(), MAX_BODY);
            let body = tokio::time::timeout(self.timeout, body.collect())
                .await
                .map_err(|_| HttpError::Timeout { url: url.clone() })?
                .map_err(|e| {
                    if e.downcast_ref::<LengthLimitError>().is_some() {
                        HttpError::TooLarge {
                            url: url.clone(),
                            limit: MAX_BODY,
                        }
                    } else {
                        HttpError::Body {
                            url: url.clone(),
                            source: e,
                        }
                    }
                })?
                .to_bytes();
            return Ok(Response {
                url,
                status,
                headers,
                body,
            });
        }
        Err(HttpError::TooManyRedirects { url: spec.url.clone() })
    }
}

/// `host[:port]` of a URI, as credentials are scoped.
pub fn authority(uri: &Uri) -> &str {
    uri.authority().map_or("", |a| a.as_str())
}

/// `host[:port]` of a URL string.
pub fn url_authority(url: &str) -> Option<String> {
    url.parse::<Uri>()
        .ok()
        .and_then(|u| u.authority().map(|a| a.as_str().to_string()))
}

/// Resolves `reference` against `base` (RFC 3986 for the cases that occur: absolute URLs,
/// absolute paths, and relative paths).
pub fn join_url(base: &str, reference: &str) -> String {
    if reference.contains("://") {
        return reference.to_string();
    }
    let Some(scheme_end) = base.find("://") else {
        return reference.to_string();
    };
    let after = &base[scheme_end + 3..];
    let host_end = after.find('/').map_or(base.len(), |i| scheme_end + 3 + i);
    let origin = &base[..host_end];
    if reference.starts_with("//") {
        return format!("{}:{reference}", &base[..scheme_end]);
    }
    if reference.starts_with('/') {
        return format!("{origin}{reference}");
    }
    // Relative: drop the query and everything after the last slash of the base path.
    let path = &base[host_end..];
    let path = path.split(['?', '#']).next().unwrap_or("");
    let dir = match path.rfind('/') {
        Some(i) => &path[..=i],
        None => "/",
    };
    let joined = format!("{dir}{reference}");
    let mut segments: Vec<&str> = Vec::new();
    for segment in joined.split('/').skip(1) {
        match segment {
            "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    format!("{origin}/{}", segments.join("/"))
}

fn build_client(tls: &TlsSettings) -> Result<HyperClient<Connector, Full<Bytes>>, HttpError> {
    let config = build_tls_config(tls)?;
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .build();
    Ok(HyperClient::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(30))
        .build(connector))
}

fn read(path: &Path) -> Result<Vec<u8>, HttpError> {
    std::fs::read(path).map_err(|source| HttpError::TlsFile {
        path: path.to_path_buf(),
        source,
    })
}

fn build_tls_config(tls: &TlsSettings) -> Result<rustls::ClientConfig, HttpError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| HttpError::Tls { message: e.to_string() })?;
    let builder = if tls.insecure_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerification(provider)))
    } else {
        let mut roots = rustls::RootCertStore::empty();
        match &tls.ca_file {
            Some(path) => {
                let pem = read(path)?;
                let mut count = 0;
                for cert in CertificateDer::pem_slice_iter(&pem) {
                    let cert = cert.map_err(|e| HttpError::Tls {
                        message: format!("`{}` is not a PEM certificate bundle ({e})", path.display()),
                    })?;
                    roots.add(cert).map_err(|e| HttpError::Tls {
                        message: format!("`{}`: {e}", path.display()),
                    })?;
                    count += 1;
                }
                if count == 0 {
                    return Err(HttpError::Tls {
                        message: format!("`{}` contains no PEM certificate", path.display()),
                    });
                }
            }
            None => {
                let native = rustls_native_certs_roots();
                roots.add_parsable_certificates(native);
            }
        }
        builder.with_root_certificates(roots)
    };
    let config = match (&tls.cert_file, &tls.key_file) {
        (Some(cert), Some(key)) => {
            let cert_pem = read(cert)?;
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
                .collect::<Result<_, _>>()
                .map_err(|e| HttpError::Tls {
                    message: format!("`{}` is not a PEM certificate ({e})", cert.display()),
                })?;
            let key_pem = read(key)?;
            let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| HttpError::Tls {
                message: format!("`{}` is not a PEM private key ({e})", key.display()),
            })?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| HttpError::Tls { message: e.to_string() })?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err(HttpError::Tls {
                message: "`certFile` and `keyFile` must be given together".into(),
            });
        }
    };
    // ALPN is set by the connector (HTTP/1.1 only).
    Ok(config)
}

/// The system trust store (what Go's `x509.SystemCertPool` reads), loaded once per process.
/// Also the PostgreSQL storage driver's roots for `sslmode=verify-*` without `sslrootcert`.
pub fn rustls_native_certs_roots() -> Vec<rustls::pki_types::CertificateDer<'static>> {
    // hyper-rustls's `native-tokio` feature brings rustls-native-certs; reading it through the
    // connector builder would hide unreadable-store errors, which Go also ignores.
    static ROOTS: OnceLock<Vec<rustls::pki_types::CertificateDer<'static>>> = OnceLock::new();
    ROOTS
        .get_or_init(|| rustls_native_certs::load_native_certs().certs)
        .clone()
}

/// `insecureSkipTLSVerify`: any server certificate is accepted (signatures are still checked
/// so the handshake is well-formed). Also lib/pq's `sslmode=require` for the PostgreSQL
/// storage driver.
#[derive(Debug)]
pub struct NoVerification(pub Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerification {
    fn verify_server_cert(
        &self,
        _end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_join_like_go() {
        assert_eq!(
            join_url("https://h/charts/index.yaml", "app-1.0.0.tgz"),
            "https://h/charts/app-1.0.0.tgz"
        );
        assert_eq!(
            join_url("https://h/charts/", "app-1.0.0.tgz"),
            "https://h/charts/app-1.0.0.tgz"
        );
        assert_eq!(join_url("https://h/charts/x", "/v2/a"), "https://h/v2/a");
        assert_eq!(join_url("https://h/a/b/", "../c.tgz"), "https://h/a/c.tgz");
        assert_eq!(join_url("https://h/a", "https://o/c.tgz"), "https://o/c.tgz");
        assert_eq!(join_url("http://h:5000/a?x=1", "b"), "http://h:5000/b");
    }

    #[test]
    fn basic_header_is_masked_and_correct() {
        let c = Credentials {
            username: "u".into(),
            password: Secret("p".into()),
        };
        let h = c.basic_header();
        assert!(h.is_sensitive());
        assert_eq!(h.to_str().unwrap(), "Basic dTpw");
    }

    #[test]
    fn unreadable_or_bad_tls_files_are_reported() {
        let dir = tempfile::tempdir().unwrap();
        let missing = TlsSettings {
            ca_file: Some(dir.path().join("nope.pem")),
            ..Default::default()
        };
        assert!(matches!(Client::new(missing).check(), Err(HttpError::TlsFile { .. })));
        let bad = dir.path().join("bad.pem");
        std::fs::write(&bad, "not pem").unwrap();
        let bad = TlsSettings {
            ca_file: Some(bad),
            ..Default::default()
        };
        assert!(matches!(Client::new(bad).check(), Err(HttpError::Tls { .. })));
        let half = TlsSettings {
            cert_file: Some(dir.path().join("c.pem")),
            ..Default::default()
        };
        // The missing key is reported before the certificate is read.
        assert!(Client::new(half).check().is_err());
    }
}
