//! The HTTP(S) client of chart sources: hyper + rustls (aws-lc-rs), the stack kube-rs uses, with a
//! repository's TLS settings (custom CA, client certificate, `insecureSkipTLSVerify`), basic
//! auth sent only where Helm sends it, redirects followed, bodies size-capped. It knows nothing
//! of indexes, charts or registries.
//!
//! Two places follow Go's client rather than rustls' defaults, because helm accepts what they
//! would refuse: a server certificate that *is* one of the `caFile` certificates is trusted even
//! when it is marked `CA:TRUE` (what `openssl req -x509` makes), and a connection closed without
//! a TLS `close_notify` ends a body instead of failing it.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, StatusCode, Uri, header};
use http_body_util::{BodyExt, Full};
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
            let body = read_body(response.into_body(), status, &url, self.timeout).await?;
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

/// Reads a response body (at most [`MAX_BODY`] bytes, within `timeout`). A body cut short is
/// an error, except where Go's client does not see one: a TLS connection closed without
/// `close_notify` at the end of a close-delimited body (crypto/tls reports a clean EOF), and
/// anything after the status of a failed request (helm reports the status and never reads
/// the body), so a 401 stays a 401.
async fn read_body(
    mut body: hyper::body::Incoming,
    status: StatusCode,
    url: &str,
    timeout: Duration,
) -> Result<Bytes, HttpError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut data = bytes::BytesMut::new();
    loop {
        let frame = tokio::time::timeout_at(deadline, body.frame())
            .await
            .map_err(|_| HttpError::Timeout { url: url.to_string() })?;
        match frame {
            None => break,
            Some(Ok(frame)) => {
                if let Ok(chunk) = frame.into_data() {
                    if data.len() + chunk.len() > MAX_BODY {
                        return Err(HttpError::TooLarge {
                            url: url.to_string(),
                            limit: MAX_BODY,
                        });
                    }
                    data.extend_from_slice(&chunk);
                }
            }
            Some(Err(_)) if !status.is_success() => break,
            Some(Err(e)) if unclean_tls_close(&e) => break,
            Some(Err(e)) => {
                return Err(HttpError::Body {
                    url: url.to_string(),
                    source: Box::new(e),
                });
            }
        }
    }
    Ok(data.freeze())
}

/// Whether `error` is rustls' end of stream without `close_notify` (not a short
/// Content-Length body, which hyper reports with its own message).
fn unclean_tls_close(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::UnexpectedEof
            && io.to_string().contains("close_notify")
        {
            return true;
        }
        current = e.source();
    }
    false
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
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;

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
                let mut anchors = Vec::new();
                for cert in CertificateDer::pem_slice_iter(&pem) {
                    let cert = cert.map_err(|e| HttpError::Tls {
                        message: format!("`{}` is not a PEM certificate bundle ({e})", path.display()),
                    })?;
                    roots.add(cert.clone()).map_err(|e| HttpError::Tls {
                        message: format!("`{}`: {e}", path.display()),
                    })?;
                    anchors.push(cert);
                }
                if anchors.is_empty() {
                    return Err(HttpError::Tls {
                        message: format!("`{}` contains no PEM certificate", path.display()),
                    });
                }
                let inner =
                    rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                        .build()
                        .map_err(|e| HttpError::Tls { message: e.to_string() })?;
                return finish_tls_config(
                    builder
                        .dangerous()
                        .with_custom_certificate_verifier(Arc::new(CaFileVerifier { inner, anchors })),
                    tls,
                );
            }
            None => {
                let native = rustls_native_certs_roots();
                roots.add_parsable_certificates(native);
            }
        }
        builder.with_root_certificates(roots)
    };
    finish_tls_config(builder, tls)
}

/// The client identity part of the TLS configuration.
fn finish_tls_config(
    builder: rustls::ConfigBuilder<rustls::ClientConfig, rustls::client::WantsClientCert>,
    tls: &TlsSettings,
) -> Result<rustls::ClientConfig, HttpError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};

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

/// A `caFile` verifier: rustls' own checks, plus Go's acceptance of a server certificate that
/// is itself one of the trusted certificates although marked `CA:TRUE` (webpki refuses a CA
/// as an end entity). For that certificate the host name and validity period are still
/// checked, and the handshake signature proves the server holds its key.
#[derive(Debug)]
struct CaFileVerifier {
    inner: Arc<rustls::client::WebPkiServerVerifier>,
    /// The exact certificates of `caFile`.
    anchors: Vec<rustls::pki_types::CertificateDer<'static>>,
}

impl rustls::client::danger::ServerCertVerifier for CaFileVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        intermediates: &[rustls::pki_types::CertificateDer<'_>],
        server_name: &rustls::pki_types::ServerName<'_>,
        ocsp: &[u8],
        now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other)))
                if other.0.downcast_ref::<webpki::Error>() == Some(&webpki::Error::CaUsedAsEndEntity)
                    && self.anchors.iter().any(|a| a.as_ref() == end_entity.as_ref()) =>
            {
                let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
                rustls::client::verify_server_name(&parsed, server_name)?;
                check_validity(end_entity.as_ref(), now)?;
                Ok(rustls::client::danger::ServerCertVerified::assertion())
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Refuses a certificate outside its `notBefore`..`notAfter` window (webpki keeps the parsed
/// validity to itself).
fn check_validity(der: &[u8], now: rustls::pki_types::UnixTime) -> Result<(), rustls::Error> {
    let (not_before, not_after) =
        validity(der).ok_or(rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding))?;
    let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
    if now < not_before {
        return Err(rustls::CertificateError::NotValidYet.into());
    }
    if now > not_after {
        return Err(rustls::CertificateError::Expired.into());
    }
    Ok(())
}

/// `notBefore` and `notAfter` (Unix seconds) of a DER certificate: `Certificate ::= SEQUENCE {
/// tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber, signature, issuer, validity
/// SEQUENCE { Time, Time }, … }, … }`.
fn validity(der: &[u8]) -> Option<(i64, i64)> {
    /// One TLV at the start of `input`: (tag, contents, rest).
    fn tlv(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (usize::from(first), rest)
        } else {
            let n = usize::from(first & 0x7f);
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            let len = rest[..n].iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, &rest[n..])
        };
        (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
    }
    /// UTCTime (`YYMMDDHHMMSSZ`, years 1950–2049) or GeneralizedTime (`YYYYMMDDHHMMSSZ`).
    fn time(tag: u8, text: &[u8]) -> Option<i64> {
        let text = std::str::from_utf8(text).ok()?.strip_suffix('Z')?;
        let (year, rest) = match tag {
            0x17 if text.len() == 12 => {
                let yy: i64 = text[..2].parse().ok()?;
                (if yy < 50 { 2000 + yy } else { 1900 + yy }, &text[2..])
            }
            0x18 if text.len() == 14 => (text[..4].parse().ok()?, &text[4..]),
            _ => return None,
        };
        let field = |i: usize| rest.get(i..i + 2)?.parse::<u32>().ok();
        let days = helmfire_value::time::days_from_civil(year, field(0)?, field(2)?);
        Some(days * 86_400 + i64::from(field(4)?) * 3_600 + i64::from(field(6)?) * 60 + i64::from(field(8)?))
    }
    let (_, certificate, _) = tlv(der)?;
    let (_, mut tbs, _) = tlv(certificate)?;
    if tbs.first() == Some(&0xa0) {
        tbs = tlv(tbs)?.2;
    }
    // serialNumber, signature, issuer, then validity.
    for _ in 0..3 {
        tbs = tlv(tbs)?.2;
    }
    let (_, validity, _) = tlv(tbs)?;
    let (tag, not_before, rest) = tlv(validity)?;
    let not_before = time(tag, not_before)?;
    let (tag, not_after, _) = tlv(rest)?;
    Some((not_before, time(tag, not_after)?))
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

    /// `openssl ca -selfsign -startdate 20200101000000Z -enddate 20510101000000Z`: a UTCTime
    /// and a GeneralizedTime.
    #[test]
    fn certificate_validity_is_read_from_der() {
        use rustls::pki_types::pem::PemObject;
        let pem = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/tls/self-signed-ca-2020-2051.pem"
        );
        let cert = rustls::pki_types::CertificateDer::from_pem_file(pem).unwrap();
        assert_eq!(validity(cert.as_ref()), Some((1_577_836_800, 2_556_144_000)));
        let at = |s: u64| rustls::pki_types::UnixTime::since_unix_epoch(Duration::from_secs(s));
        assert!(check_validity(cert.as_ref(), at(1_700_000_000)).is_ok());
        assert_eq!(
            check_validity(cert.as_ref(), at(1_500_000_000)),
            Err(rustls::CertificateError::NotValidYet.into())
        );
        assert_eq!(
            check_validity(cert.as_ref(), at(2_600_000_000)),
            Err(rustls::CertificateError::Expired.into())
        );
        assert_eq!(validity(&cert.as_ref()[..40]), None);
        assert_eq!(validity(b""), None);
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
