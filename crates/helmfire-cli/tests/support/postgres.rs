//! A throwaway PostgreSQL server for the `HELM_DRIVER=sql` tests: `initdb` into a temporary
//! directory, `pg_ctl start` on a free loopback port (as the unprivileged `postgres` user when
//! the tests run as root, since `initdb` refuses root), SCRAM passwords, no fsync. Tests running
//! at the same time share one server and each get their own database; the last one to finish
//! stops it (`Drop`). Missing server binaries fail loudly: `scripts/test.sh` installs Debian's
//! `postgresql` package.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex, Weak};

/// The role helm and helmfire both use (helm's tables enable row-level security without
/// policies, so only the owner sees rows: one role for both tools).
pub const USER: &str = "helm";
pub const PASSWORD: &str = "hunter2-s3cret";
const SUPERUSER_PASSWORD: &str = "postgres-s3cret";

/// `initdb`, `pg_ctl`: Debian's `/usr/lib/postgresql/<major>/bin` (newest), else `PATH`.
fn server_binary(name: &str) -> PathBuf {
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path().join("bin").join(name))
                .filter(|path| path.is_file())
                .collect()
        })
        .unwrap_or_default();
    candidates.sort_by_key(|path| {
        path.components()
            .nth(4)
            .and_then(|c| c.as_os_str().to_str()?.parse::<u32>().ok())
            .unwrap_or(0)
    });
    if let Some(newest) = candidates.pop() {
        return newest;
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            if dir.join(name).is_file() {
                return dir.join(name);
            }
        }
    }
    panic!(
        "PostgreSQL's `{name}` not found: install Debian's `postgresql` package (scripts/test.sh does) to run the sql storage tests"
    );
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

/// The unprivileged user the server runs as when the tests run as root.
fn server_user() -> Option<String> {
    if !is_root() {
        return None;
    }
    for user in ["postgres", "nobody"] {
        if Command::new("id")
            .arg("-u")
            .arg(user)
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return Some(user.to_string());
        }
    }
    panic!("running as root and neither the `postgres` nor the `nobody` user exists to run PostgreSQL");
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port")
}

/// A running server.
pub struct Server {
    dir: tempfile::TempDir,
    pub port: u16,
    user: Option<String>,
    pg_ctl: PathBuf,
    runtime: tokio::runtime::Runtime,
    /// Each test's database gets a distinct name.
    databases: Mutex<u32>,
}

impl Server {
    fn command(&self, program: &Path) -> Command {
        server_command(&self.user, program)
    }

    /// A CA file: `ca.pem` signed the server's certificate, `other-ca.pem` did not (TLS servers).
    pub fn ca(&self, file: &str) -> PathBuf {
        self.dir.path().join(file)
    }

    /// The server's log, for failure messages and statement counts (`log_statement=all`).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn start(tls: bool) -> Server {
        let user = server_user();
        let initdb = server_binary("initdb");
        let pg_ctl = server_binary("pg_ctl");
        let dir = tempfile::tempdir().expect("temp dir");
        if let Some(user) = &user {
            let status = Command::new("chown")
                .arg(format!("{user}:"))
                .arg(dir.path())
                .status()
                .expect("chown");
            assert!(status.success(), "chown {user} {}", dir.path().display());
        }
        let password_file = dir.path().join("superuser-password");
        std::fs::write(&password_file, SUPERUSER_PASSWORD).expect("password file");
        if let Some(user) = &user {
            Command::new("chown")
                .arg(format!("{user}:"))
                .arg(&password_file)
                .status()
                .expect("chown");
        }
        let mut tls_options = String::new();
        if tls {
            let (cert, key) = (dir.path().join("server.crt"), dir.path().join("server.key"));
            write_certificates(dir.path(), &cert, &key);
            for file in [&cert, &key] {
                if let Some(user) = &user {
                    Command::new("chown")
                        .arg(format!("{user}:"))
                        .arg(file)
                        .status()
                        .expect("chown");
                }
            }
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
            tls_options = format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                cert.display(),
                key.display()
            );
        }
        let data = dir.path().join("data");
        let out = server_command(&user, &initdb)
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                "postgres",
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "-N",
            ])
            .arg(format!("--pwfile={}", password_file.display()))
            .output()
            .expect("run initdb");
        assert_ok("initdb", &out);
        // Shared by every test thread: its own worker drives the admin connections.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let options = format!(
                "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off -c synchronous_commit=off \
                 -c full_page_writes=off -c log_statement=all -c log_line_prefix=db=%d, -c max_connections=200{tls_options}",
                dir.path().display()
            );
            let out = server_command(&user, &pg_ctl)
                .arg("-D")
                .arg(&data)
                .arg("-l")
                .arg(dir.path().join("server.log"))
                .args(["-w", "-t", "30", "-o", &options, "start"])
                .output()
                .expect("run pg_ctl");
            if out.status.success() {
                let server = Server {
                    dir,
                    port,
                    user,
                    pg_ctl,
                    runtime,
                    databases: Mutex::new(0),
                };
                server.admin(&[&format!("CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'")]);
                return server;
            }
            last = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        panic!("PostgreSQL did not start: {last}");
    }

    /// Runs statements as the superuser in database `postgres`.
    pub fn admin(&self, statements: &[&str]) {
        self.admin_in("postgres", statements);
    }

    /// Runs statements as the superuser in `database`.
    pub fn admin_in(&self, database: &str, statements: &[&str]) {
        let url = format!(
            "host=127.0.0.1 port={} user=postgres password={SUPERUSER_PASSWORD} dbname={database}",
            self.port
        );
        self.runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .expect("superuser connects");
            let driver = tokio::spawn(connection);
            for statement in statements {
                client
                    .batch_execute(statement)
                    .await
                    .unwrap_or_else(|e| panic!("`{statement}` failed: {e:?}"));
            }
            drop(client);
            let _ = driver.await;
        });
    }
}

fn server_command(user: &Option<String>, program: &Path) -> Command {
    match user {
        Some(user) => {
            let mut command = Command::new("runuser");
            command.args(["-u", user, "--"]).arg(program);
            command
        }
        None => Command::new(program),
    }
}

fn assert_ok(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self
            .command(&self.pg_ctl)
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

/// The server shared by the tests running now; started by the first, stopped with the last.
pub fn server() -> Arc<Server> {
    static SHARED: Mutex<Weak<Server>> = Mutex::new(Weak::new());
    shared(&SHARED, false)
}

/// A server with TLS on (`ssl=on`), its certificate issued by [`Server::ca`] for `localhost`
/// only (not for `127.0.0.1`); shared like [`server`].
pub fn tls_server() -> Arc<Server> {
    static SHARED: Mutex<Weak<Server>> = Mutex::new(Weak::new());
    shared(&SHARED, true)
}

fn shared(slot: &Mutex<Weak<Server>>, tls: bool) -> Arc<Server> {
    let mut shared = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(server) = shared.upgrade() {
        return server;
    }
    let server = Arc::new(Server::start(tls));
    *shared = Arc::downgrade(&server);
    server
}

/// A CA (`ca.pem`), another CA that signed nothing here (`other-ca.pem`), and the server's
/// certificate for `localhost` signed by the first.
fn write_certificates(dir: &Path, cert: &Path, key: &Path) {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let authority = |name: &str| {
        let key = KeyPair::generate().expect("key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let cert = params.self_signed(&key).expect("CA");
        (cert, Issuer::new(params, key))
    };
    let (ca, issuer) = authority("helmfire postgres test CA");
    let (other, _) = authority("some other CA");
    let server_key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    params.distinguished_name.push(DnType::CommonName, "localhost");
    let server_cert = params.signed_by(&server_key, &issuer).expect("server certificate");
    std::fs::write(dir.join("ca.pem"), ca.pem()).expect("write");
    std::fs::write(dir.join("other-ca.pem"), other.pem()).expect("write");
    std::fs::write(cert, server_cert.pem()).expect("write");
    std::fs::write(key, server_key.serialize_pem()).expect("write");
}

/// A fresh database owned by [`USER`], on the shared server (which it keeps running).
pub struct Database {
    pub server: Arc<Server>,
    pub name: String,
}

impl Database {
    pub fn create(label: &str) -> Database {
        Database::create_on(server(), label)
    }

    pub fn create_on(server: Arc<Server>, label: &str) -> Database {
        let name = {
            let mut count = server.databases.lock().unwrap();
            *count += 1;
            format!("{}_{}", label.replace('-', "_"), *count)
        };
        server.admin(&[&format!("CREATE DATABASE {name} OWNER {USER}")]);
        Database { server, name }
    }

    /// The lib/pq key/value string helm and helmfire are given.
    pub fn connection(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user={USER} password={PASSWORD} dbname={} sslmode=disable",
            self.server.port, self.name
        )
    }

    /// The same as a URL.
    pub fn url(&self) -> String {
        format!(
            "postgres://{USER}:{PASSWORD}@127.0.0.1:{}/{}?sslmode=disable",
            self.server.port, self.name
        )
    }

    /// How errors name this database (no password).
    pub fn shown(&self) -> String {
        format!("postgres://{USER}@127.0.0.1:{}/{}", self.server.port, self.name)
    }

    /// Runs a query as [`USER`] and returns every row as strings (NULL as `NULL`).
    pub fn rows(&self, query: &str) -> Vec<Vec<String>> {
        self.server.runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&self.connection(), tokio_postgres::NoTls)
                .await
                .expect("connects");
            let driver = tokio::spawn(connection);
            let messages = client
                .simple_query(query)
                .await
                .unwrap_or_else(|e| panic!("`{query}` failed: {e:?}"));
            drop(client);
            let _ = driver.await;
            messages
                .into_iter()
                .filter_map(|message| match message {
                    tokio_postgres::SimpleQueryMessage::Row(row) => Some(
                        (0..row.len())
                            .map(|i| row.get(i).unwrap_or("NULL").to_string())
                            .collect(),
                    ),
                    _ => None,
                })
                .collect()
        })
    }

    /// Runs statements as [`USER`].
    pub fn execute(&self, statements: &str) {
        self.rows(statements);
    }

    /// The statements this database's sessions ran so far (the server logs every one).
    pub fn statements(&self) -> Vec<String> {
        let prefix = format!("db={},LOG:  statement: ", self.name);
        self.server
            .log()
            .lines()
            .filter_map(|line| line.strip_prefix(&prefix).map(str::to_string))
            .collect()
    }

    /// The statements sent through the extended protocol (what helmfire and helm use).
    pub fn executed(&self) -> Vec<String> {
        let prefix = format!("db={},LOG:  execute ", self.name);
        self.server
            .log()
            .lines()
            .filter_map(|line| line.strip_prefix(&prefix).map(str::to_string))
            .collect()
    }

    /// A blocking session of [`USER`] that stays open (e.g. to hold an advisory lock).
    pub fn session(&self) -> Session {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let client = runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&self.connection(), tokio_postgres::NoTls)
                .await
                .expect("connects");
            tokio::spawn(connection);
            client
        });
        Session { runtime, client }
    }
}

/// An open connection; statements run in order on one session.
pub struct Session {
    runtime: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl Session {
    pub fn execute(&self, statement: &str) {
        self.runtime
            .block_on(self.client.batch_execute(statement))
            .unwrap_or_else(|e| panic!("`{statement}` failed: {e:?}"));
    }
}

/// Variables helm's lib/pq (and helmfire) read for the sql driver: a test sets the ones it
/// means, never inherits them.
const DRIVER_ENVIRONMENT: [&str; 30] = [
    "HELM_DRIVER_SQL_CONNECTION_STRING",
    "PGHOST",
    "PGHOSTADDR",
    "PGPORT",
    "PGDATABASE",
    "PGUSER",
    "PGPASSWORD",
    "PGPASSFILE",
    "PGSERVICE",
    "PGSERVICEFILE",
    "PGREALM",
    "PGOPTIONS",
    "PGAPPNAME",
    "PGSSLMODE",
    "PGREQUIRESSL",
    "PGSSLCERT",
    "PGSSLKEY",
    "PGSSLROOTCERT",
    "PGSSLSNI",
    "PGSSLCRL",
    "PGREQUIREPEER",
    "PGKRBSRVNAME",
    "PGGSSLIB",
    "PGCONNECT_TIMEOUT",
    "PGCLIENTENCODING",
    "PGDATESTYLE",
    "PGTZ",
    "PGGEQO",
    "PGSYSCONFDIR",
    "PGLOCALEDIR",
];

/// Removes [`DRIVER_ENVIRONMENT`] from a command's environment.
pub fn clear_environment(command: &mut Command) {
    for name in DRIVER_ENVIRONMENT {
        command.env_remove(name);
    }
}
