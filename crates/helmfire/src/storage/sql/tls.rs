//! TLS for the PostgreSQL connection over rustls (aws-lc-rs, the one crypto provider in the
//! binary): lib/pq's `sslmode` semantics as a rustls `ClientConfig`, plugged into
//! tokio-postgres's `MakeTlsConnect`. No channel binding, like lib/pq.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use helmfire_chart::source::http::{NoVerification, rustls_native_certs_roots};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

use super::connection::{Pem, SslMode, Tls};

/// Why the TLS settings cannot be used (files named, contents never shown).
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read `{}`", .path.display())]
    Read {
        path: std::path::PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{what} is not valid PEM: {message}")]
    Pem { what: String, message: String },
    #[error(
        "private key `{}` can be read by others: permissions should be u=rw (0600) or less (u=rw,g=r (0640) when owned by root)",
        .0.display()
    )]
    KeyPermissions(std::path::PathBuf),
    #[error("invalid TLS settings: {0}")]
    Config(String),
}

fn describe(pem: &Pem, what: &str) -> String {
    match pem {
        Pem::File(path) => format!("{what} `{}`", path.display()),
        Pem::Inline(_) => format!("inline {what}"),
    }
}

fn read(pem: &Pem) -> Result<Vec<u8>, TlsError> {
    match pem {
        Pem::File(path) => std::fs::read(path).map_err(|source| TlsError::Read {
            path: path.clone(),
            source,
        }),
        Pem::Inline(text) => Ok(text.clone().into_bytes()),
    }
}

fn certificates(pem: &Pem, what: &str) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(pem)?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Pem {
            what: describe(pem, what),
            message: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            what: describe(pem, what),
            message: "no certificate found".into(),
        });
    }
    Ok(certs)
}

/// lib/pq's `sslKeyPermissions`.
#[cfg(unix)]
fn check_key_permissions(path: &std::path::Path) -> Result<(), TlsError> {
    use std::os::unix::fs::MetadataExt;
    let metadata = std::fs::metadata(path).map_err(|source| TlsError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mode = metadata.mode() & 0o777;
    if mode & 0o177 == 0 || (metadata.uid() == 0 && mode & 0o137 == 0) {
        Ok(())
    } else {
        Err(TlsError::KeyPermissions(path.to_path_buf()))
    }
}

#[cfg(not(unix))]
fn check_key_permissions(_: &std::path::Path) -> Result<(), TlsError> {
    Ok(())
}

/// `verify-ca`: the chain must verify; the name only when lib/pq would check it.
#[derive(Debug)]
struct ChainOnly {
    inner: Arc<WebPkiServerVerifier>,
}

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// The rustls configuration for `tls` when connecting to `host`; `None` for `sslmode=disable`.
pub fn client_config(tls: &Tls, host: &str) -> Result<Option<Arc<rustls::ClientConfig>>, TlsError> {
    if tls.mode == SslMode::Disable {
        return Ok(None);
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let verifier: Arc<dyn ServerCertVerifier> = match tls.mode {
        SslMode::Disable | SslMode::Require => Arc::new(NoVerification(provider.clone())),
        SslMode::VerifyCa | SslMode::VerifyFull => {
            let mut roots = rustls::RootCertStore::empty();
            match &tls.root_cert {
                Some(pem) => {
                    for cert in certificates(pem, "sslrootcert")? {
                        roots.add(cert).map_err(|e| TlsError::Pem {
                            what: describe(pem, "sslrootcert"),
                            message: e.to_string(),
                        })?;
                    }
                }
                None => {
                    roots.add_parsable_certificates(rustls_native_certs_roots());
                }
            }
            let webpki = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .map_err(|e| TlsError::Config(e.to_string()))?;
            // lib/pq checks the name in verify-ca too when the host is a DNS name sent as SNI.
            let name_checked = tls.sni && host.parse::<std::net::IpAddr>().is_err();
            if tls.mode == SslMode::VerifyFull || name_checked {
                webpki
            } else {
                Arc::new(ChainOnly { inner: webpki })
            }
        }
    };
    let builder = builder.dangerous().with_custom_certificate_verifier(verifier);
    let mut config = match &tls.client_cert {
        Some((cert, key)) => {
            if let Pem::File(path) = key {
                check_key_permissions(path)?;
            }
            let chain = certificates(cert, "sslcert")?;
            let key_der = PrivateKeyDer::from_pem_slice(&read(key)?).map_err(|e| TlsError::Pem {
                what: describe(key, "sslkey"),
                message: e.to_string(),
            })?;
            builder
                .with_client_auth_cert(chain, key_der)
                .map_err(|e| TlsError::Config(e.to_string()))?
        }
        None => builder.with_no_client_auth(),
    };
    config.enable_sni = tls.sni;
    Ok(Some(Arc::new(config)))
}

/// tokio-postgres's TLS hook: hands out one handshake per connection.
#[derive(Clone)]
pub struct MakeRustls {
    config: Option<Arc<rustls::ClientConfig>>,
}

impl MakeRustls {
    pub fn new(config: Option<Arc<rustls::ClientConfig>>) -> MakeRustls {
        MakeRustls { config }
    }
}

/// One pending handshake.
pub struct RustlsConnect {
    config: Option<Arc<rustls::ClientConfig>>,
    domain: String,
}

/// A TLS session to the server.
pub struct RustlsStream(tokio_rustls::client::TlsStream<tokio_postgres::Socket>);

impl MakeTlsConnect<tokio_postgres::Socket> for MakeRustls {
    type Stream = RustlsStream;
    type TlsConnect = RustlsConnect;
    type Error = io::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<RustlsConnect, io::Error> {
        Ok(RustlsConnect {
            config: self.config.clone(),
            domain: domain.to_string(),
        })
    }
}

impl TlsConnect<tokio_postgres::Socket> for RustlsConnect {
    type Stream = RustlsStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = Result<RustlsStream, io::Error>> + Send>>;

    fn connect(self, stream: tokio_postgres::Socket) -> Self::Future {
        Box::pin(async move {
            let config = self
                .config
                .ok_or_else(|| io::Error::other("TLS requested with sslmode=disable"))?;
            let name = ServerName::try_from(self.domain)
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
            let stream = tokio_rustls::TlsConnector::from(config).connect(name, stream).await?;
            Ok(RustlsStream(stream))
        })
    }
}

impl TlsStream for RustlsStream {
    fn channel_binding(&self) -> ChannelBinding {
        ChannelBinding::none()
    }
}

impl AsyncRead for RustlsStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl AsyncWrite for RustlsStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}
