//! Test infrastructure for chart sources: a small HTTP/1.1 file server on loopback (plain or
//! TLS, optional basic auth, ETag revalidation, per-path overrides, a request log, bodies
//! delimited by closing the connection), TLS material from a throwaway CA or from
//! `openssl req -x509`, charts packaged and indexed by the real helm, and a real
//! `docker-registry` process.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use base64::Engine;

pub use crate::support::oracle::helm;

/// The helmfire binary under test.
pub fn helmfire() -> Command {
    Command::new(env!("CARGO_BIN_EXE_helmfire"))
}

/// Runs a command and returns (status ok, stdout, stderr).
pub fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().expect("command starts");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs helm isolated from the user's configuration; panics on failure.
pub fn helm_ok(home: &Path, args: &[&str]) -> String {
    let (ok, stdout, stderr) = run(helm_command(home).args(args));
    assert!(ok, "helm {args:?} failed:\n{stderr}");
    stdout
}

pub fn helm_command(home: &Path) -> Command {
    let mut cmd = Command::new(helm());
    cmd.env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_DATA_HOME", home.join("data"))
        .env("HELM_REGISTRY_CONFIG", home.join("config/registry.json"))
        .env("HELM_REPOSITORY_CONFIG", home.join("config/repositories.yaml"))
        .env("HELM_REPOSITORY_CACHE", home.join("cache/repository"));
    cmd
}

/// Writes a chart directory `dir/name` at `version` with one ConfigMap template and values.
pub fn write_chart(dir: &Path, name: &str, version: &str, extra_chart_yaml: &str) -> PathBuf {
    let root = dir.join(name);
    std::fs::create_dir_all(root.join("templates")).unwrap();
    std::fs::write(
        root.join("Chart.yaml"),
        format!("apiVersion: v2\nname: {name}\nversion: {version}\nappVersion: \"{version}\"\n{extra_chart_yaml}"),
    )
    .unwrap();
    std::fs::write(root.join("values.yaml"), "greeting: hello\nreplicas: 1\n").unwrap();
    std::fs::write(
        root.join("templates/configmap.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-{{ .Chart.Name }}\n  namespace: {{ .Release.Namespace }}\ndata:\n  greeting: {{ .Values.greeting | quote }}\n  version: {{ .Chart.Version | quote }}\n  replicas: {{ .Values.replicas | quote }}\n",
    )
    .unwrap();
    root
}

/// `helm package` of a chart directory into `out`; returns the archive path.
pub fn package(home: &Path, chart_dir: &Path, out: &Path) -> PathBuf {
    std::fs::create_dir_all(out).unwrap();
    let stdout = helm_ok(
        home,
        &["package", chart_dir.to_str().unwrap(), "-d", out.to_str().unwrap()],
    );
    let path = stdout.trim().rsplit(": ").next().unwrap().trim().to_string();
    PathBuf::from(path)
}

/// `helm repo index` of a directory.
pub fn index(home: &Path, dir: &Path) {
    helm_ok(home, &["repo", "index", dir.to_str().unwrap()]);
}

/// A throwaway CA and a server certificate for 127.0.0.1/localhost, as PEM files.
pub struct Tls {
    pub ca_pem: PathBuf,
    pub cert_pem: PathBuf,
    pub key_pem: PathBuf,
    pub server_config: Arc<rustls::ServerConfig>,
    /// The same server, but requiring a client certificate signed by the CA.
    pub mutual_server_config: Arc<rustls::ServerConfig>,
    /// A client certificate and key signed by the CA.
    pub client_cert_pem: PathBuf,
    pub client_key_pem: PathBuf,
}

impl Tls {
    pub fn generate(dir: &Path) -> Tls {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        std::fs::create_dir_all(dir).unwrap();
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "helmfire test CA");
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca_params, ca_key);
        let server_key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, "127.0.0.1");
        let cert = params.signed_by(&server_key, &issuer).unwrap();
        let ca_pem = dir.join("ca.pem");
        let cert_pem = dir.join("server.pem");
        let key_pem = dir.join("server-key.pem");
        std::fs::write(&ca_pem, ca_cert.pem()).unwrap();
        std::fs::write(&cert_pem, cert.pem()).unwrap();
        std::fs::write(&key_pem, server_key.serialize_pem()).unwrap();
        let client_key = KeyPair::generate().unwrap();
        let mut client_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        client_params
            .distinguished_name
            .push(DnType::CommonName, "helmfire test client");
        let client_cert = client_params.signed_by(&client_key, &issuer).unwrap();
        let client_cert_pem = dir.join("client.pem");
        let client_key_pem = dir.join("client-key.pem");
        std::fs::write(&client_cert_pem, client_cert.pem()).unwrap();
        std::fs::write(&client_key_pem, client_key.serialize_pem()).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let key = || rustls::pki_types::PrivateKeyDer::Pkcs8(server_key.serialize_der().into());
        let server_config = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.der().clone()], key())
            .unwrap();
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca_cert.der().clone()).unwrap();
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
            .build()
            .unwrap();
        let mutual_server_config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(vec![cert.der().clone()], key())
            .unwrap();
        Tls {
            ca_pem,
            cert_pem,
            key_pem,
            server_config: Arc::new(server_config),
            mutual_server_config: Arc::new(mutual_server_config),
            client_cert_pem,
            client_key_pem,
        }
    }
}

/// A self-signed certificate as most people make one, `openssl req -x509 -newkey rsa:2048
/// -nodes` (OpenSSL marks it `CA:TRUE`), used as the server's own certificate.
pub struct SelfSigned {
    pub cert_pem: PathBuf,
    pub key_pem: PathBuf,
    pub server_config: Arc<rustls::ServerConfig>,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs (apt-get install -y openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl SelfSigned {
    /// `openssl req -x509 -days 30` for `CN=127.0.0.1` with the given subject alternative
    /// names (`IP:127.0.0.1,DNS:localhost`).
    pub fn openssl(dir: &Path, name: &str, san: &str) -> SelfSigned {
        std::fs::create_dir_all(dir).unwrap();
        let (cert, key) = (format!("{name}.pem"), format!("{name}-key.pem"));
        let san = format!("subjectAltName={san}");
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=127.0.0.1",
                "-days",
                "30",
                "-addext",
                &san,
                "-keyout",
                &key,
                "-out",
                &cert,
            ],
        );
        SelfSigned::load(dir.join(cert), dir.join(key))
    }

    /// The same certificate (self-signed, `CA:TRUE`, `IP:127.0.0.1`) valid only in January
    /// 2020: `openssl req -x509` cannot backdate, so `openssl ca -selfsign` signs it.
    pub fn openssl_expired(dir: &Path, name: &str) -> SelfSigned {
        let dir = dir.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("index.txt"), "").unwrap();
        std::fs::write(dir.join("serial"), "01\n").unwrap();
        std::fs::write(
            dir.join("ca.cnf"),
            "[ca]\ndefault_ca = d\n[d]\ndir = .\ndatabase = ./index.txt\nnew_certs_dir = .\nserial = ./serial\n\
             default_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n\
             [ext]\nbasicConstraints = critical,CA:TRUE\nsubjectAltName = IP:127.0.0.1\n",
        )
        .unwrap();
        openssl(
            &dir,
            &[
                "req",
                "-new",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                "/CN=127.0.0.1",
                "-keyout",
                "key.pem",
                "-out",
                "req.csr",
            ],
        );
        openssl(
            &dir,
            &[
                "ca",
                "-batch",
                "-config",
                "ca.cnf",
                "-selfsign",
                "-keyfile",
                "key.pem",
                "-in",
                "req.csr",
                "-out",
                "cert.pem",
                "-startdate",
                "20200101000000Z",
                "-enddate",
                "20200102000000Z",
                "-extensions",
                "ext",
                "-notext",
            ],
        );
        SelfSigned::load(dir.join("cert.pem"), dir.join("key.pem"))
    }

    fn load(cert_pem: PathBuf, key_pem: PathBuf) -> SelfSigned {
        use rustls::pki_types::pem::PemObject;
        let cert = rustls::pki_types::CertificateDer::from_pem_file(&cert_pem).unwrap();
        let key = rustls::pki_types::PrivateKeyDer::from_pem_file(&key_pem).unwrap();
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let server_config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert], key)
            .unwrap();
        SelfSigned {
            cert_pem,
            key_pem,
            server_config: Arc::new(server_config),
        }
    }
}

/// One logged request.
#[derive(Clone, Debug)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub authorized: bool,
    /// Whether any Authorization header was sent.
    pub sent_auth: bool,
    pub status: u16,
}

/// A canned response for a path.
#[derive(Clone, Debug)]
pub struct Override {
    pub status: u16,
    pub body: Vec<u8>,
}

/// The loopback file server.
pub struct Server {
    pub port: u16,
    pub base: String,
    log: Arc<Mutex<Vec<Logged>>>,
    overrides: Arc<Mutex<HashMap<String, Override>>>,
    stop: Arc<AtomicBool>,
    close_delimited: Arc<AtomicBool>,
}

impl Server {
    /// Serves files under `root`; `tls` for HTTPS; `auth` = (user, password) for basic auth.
    pub fn start(root: &Path, tls: Option<Arc<rustls::ServerConfig>>, auth: Option<(&str, &str)>) -> Server {
        Server::start_with(root, tls, auth, None)
    }

    /// Like a token-authenticating registry: every path needs `Authorization: Bearer <token>`
    /// and answers 401 with a Bearer challenge; `/token` hands out the token for basic auth
    /// with (user, password).
    pub fn start_bearer(
        root: &Path,
        tls: Arc<rustls::ServerConfig>,
        user: &str,
        password: &str,
        token: &str,
    ) -> Server {
        Server::start_with(root, Some(tls), Some((user, password)), Some(token))
    }

    fn start_with(
        root: &Path,
        tls: Option<Arc<rustls::ServerConfig>>,
        auth: Option<(&str, &str)>,
        bearer: Option<&str>,
    ) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let bearer = bearer.map(|t| (t.to_string(), format!("{scheme}://127.0.0.1:{port}/token")));
        let log = Arc::new(Mutex::new(Vec::new()));
        let overrides: Arc<Mutex<HashMap<String, Override>>> = Arc::new(Mutex::new(HashMap::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let close_delimited = Arc::new(AtomicBool::new(false));
        let expected_auth = auth.map(|(u, p)| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
        });
        let root = root.to_path_buf();
        {
            let log = log.clone();
            let overrides = overrides.clone();
            let stop = stop.clone();
            let close_delimited = close_delimited.clone();
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let root = root.clone();
                    let log = log.clone();
                    let overrides = overrides.clone();
                    let tls = tls.clone();
                    let expected_auth = expected_auth.clone();
                    let bearer = bearer.clone();
                    let close_delimited = close_delimited.load(Ordering::Relaxed);
                    std::thread::spawn(move || {
                        let ctx = Ctx {
                            root,
                            log,
                            overrides,
                            expected_auth,
                            bearer,
                            close_delimited,
                        };
                        match tls {
                            Some(config) => {
                                let Ok(conn) = rustls::ServerConnection::new(config) else {
                                    return;
                                };
                                let mut tls_stream = rustls::StreamOwned::new(conn, stream);
                                let _ = serve(&mut tls_stream, &ctx);
                            }
                            None => {
                                let mut stream = stream;
                                let _ = serve(&mut stream, &ctx);
                            }
                        }
                    });
                }
            });
        }
        Server {
            port,
            base: format!("{scheme}://127.0.0.1:{port}"),
            log,
            overrides,
            stop,
            close_delimited,
        }
    }

    /// From now on, answer without `Content-Length`: the body ends when the connection
    /// closes, which over TLS happens without a `close_notify` alert (as many servers do).
    pub fn set_close_delimited(&self, on: bool) {
        self.close_delimited.store(on, Ordering::Relaxed);
    }

    pub fn log(&self) -> Vec<Logged> {
        self.log.lock().unwrap().clone()
    }

    pub fn clear_log(&self) {
        self.log.lock().unwrap().clear();
    }

    /// How many requests for `path` were logged.
    pub fn count(&self, path: &str) -> usize {
        self.log().iter().filter(|l| l.path == path).count()
    }

    pub fn set_override(&self, path: &str, status: u16, body: &[u8]) {
        self.overrides.lock().unwrap().insert(
            path.to_string(),
            Override {
                status,
                body: body.to_vec(),
            },
        );
    }

    pub fn clear_overrides(&self) {
        self.overrides.lock().unwrap().clear();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

struct Ctx {
    root: PathBuf,
    log: Arc<Mutex<Vec<Logged>>>,
    overrides: Arc<Mutex<HashMap<String, Override>>>,
    expected_auth: Option<String>,
    /// (token, realm URL) in bearer mode.
    bearer: Option<(String, String)>,
    /// No `Content-Length`: the body is delimited by closing the connection.
    close_delimited: bool,
}

fn serve<S: Read + Write>(stream: &mut S, ctx: &Ctx) -> std::io::Result<()> {
    let mut reader = BufReader::new(&mut *stream);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut headers: HashMap<String, String> = HashMap::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("/").to_string();
    let path = target.split('?').next().unwrap_or("/").to_string();
    let sent = headers.get("authorization");
    let (authorized, challenge) = match (&ctx.bearer, &ctx.expected_auth) {
        (Some(_), Some(basic)) if path == "/token" => (
            sent == Some(basic),
            "WWW-Authenticate: Basic realm=\"token\"\r\n".to_string(),
        ),
        (Some((token, realm)), _) => (
            sent == Some(&format!("Bearer {token}")),
            format!(
                "WWW-Authenticate: Bearer realm=\"{realm}\",service=\"test-registry\",scope=\"repository:x:pull\"\r\n"
            ),
        ),
        (None, None) => (true, String::new()),
        (None, Some(expected)) => (
            sent == Some(expected),
            "WWW-Authenticate: Basic realm=\"charts\"\r\n".to_string(),
        ),
    };
    let token_body = match &ctx.bearer {
        Some((token, _)) if path == "/token" && authorized => Some(format!("{{\"token\":\"{token}\"}}")),
        _ => None,
    };
    let (status, body, extra) = if let Some(body) = token_body {
        (200, body.into_bytes(), String::new())
    } else if !authorized {
        (401, b"unauthorized\n".to_vec(), challenge)
    } else if let Some(o) = ctx.overrides.lock().unwrap().get(&path).cloned() {
        (o.status, o.body, String::new())
    } else {
        let file = ctx.root.join(path.trim_start_matches('/'));
        match std::fs::read(&file) {
            Ok(data) => {
                let etag = format!("\"{:x}\"", md5ish(&data));
                if headers.get("if-none-match") == Some(&etag) {
                    (304, Vec::new(), format!("ETag: {etag}\r\n"))
                } else {
                    (200, data, format!("ETag: {etag}\r\n"))
                }
            }
            Err(_) => (404, b"not found\n".to_vec(), String::new()),
        }
    };
    ctx.log.lock().unwrap().push(Logged {
        method: method.clone(),
        path,
        authorized,
        sent_auth: headers.contains_key("authorization"),
        status,
    });
    let reason = match status {
        200 => "OK",
        304 => "Not Modified",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        _ => "Status",
    };
    let body = if method == "HEAD" || status == 304 {
        Vec::new()
    } else {
        body
    };
    let length = if ctx.close_delimited {
        String::new()
    } else {
        format!("Content-Length: {}\r\n", body.len())
    };
    write!(
        stream,
        "HTTP/1.1 {status} {reason}\r\n{length}Connection: close\r\n{extra}\r\n"
    )?;
    stream.write_all(&body)?;
    // Dropping the stream closes TCP without a TLS close_notify.
    stream.flush()
}

/// A cheap content hash for ETags (FNV-1a).
fn md5ish(data: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in data {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// A real `docker-registry` (CNCF distribution) on a loopback port, with TLS, optionally with
/// htpasswd auth. Killed on drop.
pub struct Registry {
    pub host: String,
    child: Child,
    _dir: tempfile::TempDir,
}

pub fn docker_registry_binary() -> PathBuf {
    let path = std::env::var_os("HELMFIRE_DOCKER_REGISTRY")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/docker-registry"));
    assert!(
        path.is_file(),
        "docker-registry not found at {} (apt-get install -y docker-registry, or run scripts/test.sh)",
        path.display()
    );
    path
}

impl Registry {
    /// A registry on `https://127.0.0.1:PORT` with the server certificate of `tls`.
    pub fn start(tls: &Tls, htpasswd: Option<(&str, &str)>) -> Registry {
        Registry::start_with(Some(tls), htpasswd)
    }

    /// A registry on plain `http://127.0.0.1:PORT`.
    pub fn start_plain(htpasswd: Option<(&str, &str)>) -> Registry {
        Registry::start_with(None, htpasswd)
    }

    fn start_with(tls: Option<&Tls>, htpasswd: Option<(&str, &str)>) -> Registry {
        let binary = docker_registry_binary();
        let dir = tempfile::tempdir().unwrap();
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let auth = match htpasswd {
            Some((user, password)) => {
                let hash = bcrypt::hash(password, 4).unwrap();
                let file = dir.path().join("htpasswd");
                std::fs::write(&file, format!("{user}:{hash}\n")).unwrap();
                format!(
                    "auth:\n  htpasswd:\n    realm: helmfire-test\n    path: {}\n",
                    file.display()
                )
            }
            None => String::new(),
        };
        let tls = tls.map_or(String::new(), |tls| {
            format!(
                "  tls:\n    certificate: {}\n    key: {}\n",
                tls.cert_pem.display(),
                tls.key_pem.display()
            )
        });
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n{tls}{auth}",
            dir.path().join("data").display(),
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).unwrap();
        let mut child = Command::new(binary)
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry starts");
        let host = format!("127.0.0.1:{port}");
        for _ in 0..200 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Registry { host, child, _dir: dir };
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("docker-registry did not listen on {host}");
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
