//! `HELM_DRIVER_SQL_CONNECTION_STRING` read the way helm v4.1.4 reads it: through lib/pq v1.10.9
//! (`connector.go` `NewConnector`, `conn.go` `parseOpts`/`parseEnviron`/`handlePgpass`,
//! `url.go` `ParseURL`, `ssl.go`), then turned into a `tokio_postgres::Config` through its
//! setters (its own parser has other defaults and rejects keys lib/pq accepts).
//!
//! Precedence, lowest first: lib/pq's defaults (`host=localhost port=5432`), the `PG*`
//! environment variables lib/pq reads, then the string (a `postgres://` URL or libpq
//! `key=value` pairs; the last occurrence of a key wins). A missing password is looked up in
//! `.pgpass`. `sslmode` defaults to `require`, as in lib/pq (not `prefer`, as in libpq).
//!
//! The string is a secret: nothing here ever puts it, or a piece of it, in an error or a
//! display. [`Endpoint`] describes the server without the password.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Where the environment comes from: `std::env::var` in the binary, a map in tests.
pub type Environment<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Why a connection string (with the `PG*` environment) cannot be used. Messages never quote
/// the string: a misplaced space can turn part of a password into a "key".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectionError {
    /// lib/pq panics on these (helm crashes); helmfire refuses them.
    #[error("environment variable `{0}` is set, which helm's PostgreSQL driver (lib/pq) does not support; unset it")]
    UnsupportedEnvironment(&'static str),
    #[error("invalid connection string: missing `=` after the key ending at character {0}")]
    MissingEquals(usize),
    #[error("invalid connection string: unterminated quoted value starting at character {0}")]
    UnterminatedQuote(usize),
    #[error("invalid connection string: missing character after a backslash at character {0}")]
    DanglingBackslash(usize),
    #[error("invalid connection URL: {0}")]
    InvalidUrl(&'static str),
    #[error(
        "unsupported sslmode `{0}`; only `require` (default), `verify-full`, `verify-ca` and `disable` are supported"
    )]
    UnsupportedSslMode(String),
    #[error("invalid port `{0}`")]
    InvalidPort(String),
    #[error("invalid connect_timeout `{0}`: expected whole seconds")]
    InvalidConnectTimeout(String),
    #[error("client_encoding must be absent or `UTF8`")]
    ClientEncoding,
    #[error("datestyle must be absent or `ISO, MDY`")]
    DateStyle,
}

/// How TLS is negotiated (`sslmode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    /// TLS required, the certificate not checked (lib/pq's default).
    Require,
    /// The chain is checked against `sslrootcert` or the system roots. As in lib/pq, the host
    /// name is checked too when it is a DNS name sent as SNI (lib/pq passes the SNI name to
    /// `x509.Verify`); for an IP address or with `sslsni=0` only the chain is checked.
    VerifyCa,
    /// Chain and host name.
    VerifyFull,
}

impl fmt::Display for SslMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SslMode::Disable => "disable",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        })
    }
}

/// A PEM source: a file, or the text itself (`sslinline=true`).
#[derive(Clone, PartialEq, Eq)]
pub enum Pem {
    File(PathBuf),
    Inline(String),
}

impl fmt::Debug for Pem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pem::File(path) => write!(f, "File({})", path.display()),
            Pem::Inline(_) => f.write_str("Inline(***)"),
        }
    }
}

/// The TLS side of a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tls {
    pub mode: SslMode,
    /// `sslrootcert`.
    pub root_cert: Option<Pem>,
    /// `sslcert` and `sslkey` (or `~/.postgresql/postgresql.{crt,key}` when present).
    pub client_cert: Option<(Pem, Pem)>,
    /// `sslsni`: on unless it starts with something other than `1`.
    pub sni: bool,
}

/// The server a connection string names, without its password: what errors and `--verbose`
/// show (`postgres://helm@127.0.0.1:5432/helm`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    /// `None`: the server's default (the user name).
    pub dbname: Option<String>,
}

impl Endpoint {
    /// The database name the server will use.
    pub fn database(&self) -> &str {
        self.dbname.as_deref().or(self.user.as_deref()).unwrap_or("")
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("postgres://")?;
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        if self.host.contains(':') && !self.host.starts_with('/') {
            write!(f, "[{}]:{}", self.host, self.port)?;
        } else {
            write!(f, "{}:{}", self.host, self.port)?;
        }
        write!(f, "/{}", self.database())
    }
}

/// A resolved connection: the client configuration, its TLS settings and what to call it.
#[derive(Clone)]
pub struct Connection {
    pub config: tokio_postgres::Config,
    pub tls: Tls,
    pub endpoint: Endpoint,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("endpoint", &self.endpoint.to_string())
            .field("tls", &self.tls)
            .finish_non_exhaustive()
    }
}

/// lib/pq's `parseEnviron`: the variables it reads, and those it panics on.
fn environ(env: Environment<'_>, options: &mut BTreeMap<String, String>) -> Result<(), ConnectionError> {
    const UNSUPPORTED: [&str; 11] = [
        "PGHOSTADDR",
        "PGSERVICE",
        "PGSERVICEFILE",
        "PGREALM",
        "PGREQUIRESSL",
        "PGSSLCRL",
        "PGREQUIREPEER",
        "PGKRBSRVNAME",
        "PGGSSLIB",
        "PGSYSCONFDIR",
        "PGLOCALEDIR",
    ];
    const READ: [(&str, &str); 17] = [
        ("PGHOST", "host"),
        ("PGPORT", "port"),
        ("PGDATABASE", "dbname"),
        ("PGUSER", "user"),
        ("PGPASSWORD", "password"),
        ("PGOPTIONS", "options"),
        ("PGAPPNAME", "application_name"),
        ("PGSSLMODE", "sslmode"),
        ("PGSSLCERT", "sslcert"),
        ("PGSSLKEY", "sslkey"),
        ("PGSSLROOTCERT", "sslrootcert"),
        ("PGSSLSNI", "sslsni"),
        ("PGCONNECT_TIMEOUT", "connect_timeout"),
        ("PGCLIENTENCODING", "client_encoding"),
        ("PGDATESTYLE", "datestyle"),
        ("PGTZ", "timezone"),
        ("PGGEQO", "geqo"),
    ];
    if let Some(variable) = UNSUPPORTED.into_iter().find(|name| env(name).is_some()) {
        return Err(ConnectionError::UnsupportedEnvironment(variable));
    }
    for (variable, key) in READ {
        if let Some(value) = env(variable) {
            options.insert(key.to_string(), value);
        }
    }
    Ok(())
}

/// lib/pq's `parseOpts`: libpq's `key = value` grammar, `'quoted values'`, `\` escapes.
/// Positions in errors are 1-based character counts.
pub(crate) fn parse_key_values(text: &str, options: &mut BTreeMap<String, String>) -> Result<(), ConnectionError> {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let skip_spaces = |i: &mut usize| {
        while *i < chars.len() && chars[*i].is_whitespace() {
            *i += 1;
        }
    };
    loop {
        skip_spaces(&mut i);
        if i >= chars.len() {
            return Ok(());
        }
        let mut key = String::new();
        while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '=' {
            key.push(chars[i]);
            i += 1;
        }
        let key_end = i;
        skip_spaces(&mut i);
        if i >= chars.len() || chars[i] != '=' {
            return Err(ConnectionError::MissingEquals(key_end));
        }
        i += 1;
        skip_spaces(&mut i);
        if i >= chars.len() {
            // A trailing `key=` is an empty value, as in libpq.
            options.insert(key, String::new());
            return Ok(());
        }
        let mut value = String::new();
        if chars[i] == '\'' {
            let start = i + 1;
            i += 1;
            loop {
                let Some(&c) = chars.get(i) else {
                    return Err(ConnectionError::UnterminatedQuote(start));
                };
                i += 1;
                match c {
                    '\'' => break,
                    // lib/pq takes whatever follows (nothing at the end of the string).
                    '\\' => {
                        if let Some(&next) = chars.get(i) {
                            value.push(next);
                            i += 1;
                        }
                    }
                    c => value.push(c),
                }
            }
        } else {
            while i < chars.len() && !chars[i].is_whitespace() {
                if chars[i] == '\\' {
                    i += 1;
                    if i >= chars.len() {
                        return Err(ConnectionError::DanglingBackslash(i));
                    }
                }
                value.push(chars[i]);
                i += 1;
            }
        }
        options.insert(key, value);
    }
}

fn percent_decode(text: &str, plus_is_space: bool) -> Result<String, ConnectionError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or(ConnectionError::InvalidUrl("invalid percent escape"))?;
                out.push(hex);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| ConnectionError::InvalidUrl("percent escapes are not UTF-8"))
}

/// lib/pq's `ParseURL` (over Go's `net/url`): user, password, host, port, database path and
/// query parameters; empty values are dropped; for a repeated query key the first wins.
pub(crate) fn parse_url(url: &str, options: &mut BTreeMap<String, String>) -> Result<(), ConnectionError> {
    let rest = url
        .strip_prefix("postgresql://")
        .or_else(|| url.strip_prefix("postgres://"))
        .ok_or(ConnectionError::InvalidUrl("expected `postgres://` or `postgresql://`"))?;
    let rest = rest.split_once('#').map_or(rest, |(before, _)| before);
    let (rest, query) = match rest.split_once('?') {
        Some((rest, query)) => (rest, Some(query)),
        None => (rest, None),
    };
    let (authority, path) = match rest.find('/') {
        Some(slash) => (&rest[..slash], &rest[slash..]),
        None => (rest, ""),
    };
    let mut found: Vec<(&'static str, String)> = Vec::new();
    let host_port = match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            let (user, password) = match userinfo.split_once(':') {
                Some((user, password)) => (user, Some(password)),
                None => (userinfo, None),
            };
            found.push(("user", percent_decode(user, false)?));
            if let Some(password) = password {
                found.push(("password", percent_decode(password, false)?));
            }
            &authority[at + 1..]
        }
        None => authority,
    };
    // `net.SplitHostPort`: `[v6]:port`, `host:port`; anything else is all host.
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        match bracketed.split_once("]:") {
            Some((host, port)) => (host.to_string(), Some(port)),
            None => (host_port.to_string(), None),
        }
    } else {
        match host_port.split_once(':') {
            Some((host, port)) if !port.contains(':') => (host.to_string(), Some(port)),
            _ => (host_port.to_string(), None),
        }
    };
    found.push(("host", percent_decode(&host, false)?));
    if let Some(port) = port {
        found.push(("port", port.to_string()));
    }
    if let Some(database) = path.strip_prefix('/') {
        found.push(("dbname", percent_decode(database, false)?));
    }
    for (key, value) in found {
        if !value.is_empty() {
            options.insert(key.to_string(), value);
        }
    }
    let mut seen = std::collections::HashSet::new();
    for pair in query.unwrap_or("").split('&').filter(|pair| !pair.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        // Go's `url.Query` skips pairs it cannot decode.
        let (Ok(key), Ok(value)) = (percent_decode(key, true), percent_decode(value, true)) else {
            continue;
        };
        if seen.insert(key.clone()) && !value.is_empty() {
            options.insert(key, value);
        }
    }
    Ok(())
}

/// lib/pq's `isDriverSetting`, plus the keys it maps onto its own startup parameters: every
/// other key is a server run-time parameter.
fn is_client_setting(key: &str) -> bool {
    matches!(
        key,
        "host"
            | "port"
            | "password"
            | "sslmode"
            | "sslcert"
            | "sslkey"
            | "sslrootcert"
            | "sslinline"
            | "sslsni"
            | "fallback_application_name"
            | "connect_timeout"
            | "disable_prepared_binary_result"
            | "binary_parameters"
            | "krbsrvname"
            | "krbspn"
            | "user"
            | "dbname"
            | "options"
            | "application_name"
            | "client_encoding"
            | "datestyle"
            | "extra_float_digits"
    )
}

/// Escapes a value for the `options` startup parameter (`-c key=value`), as libpq's `PGOPTIONS`
/// expects: spaces and backslashes get a backslash.
fn escape_option(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c == ' ' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// lib/pq's `isUTF8`.
fn is_utf8(name: &str) -> bool {
    let folded: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    folded == "utf8" || folded == "unicode"
}

/// The home directory lib/pq would use.
fn home(env: Environment<'_>) -> Option<PathBuf> {
    env("HOME").filter(|home| !home.is_empty()).map(PathBuf::from)
}

/// lib/pq's `handlePgpass`: `$PGPASSFILE` or `~/.pgpass`, ignored when group or others can
/// read it; the first matching `host:port:db:user:password` line wins.
fn pgpass(env: Environment<'_>, options: &BTreeMap<String, String>) -> Option<String> {
    let file = match env("PGPASSFILE").filter(|f| !f.is_empty()) {
        Some(file) => PathBuf::from(file),
        None => home(env)?.join(".pgpass"),
    };
    let metadata = std::fs::metadata(&file).ok()?;
    if permissions(&metadata) & 0o077 != 0 {
        return None;
    }
    let text = std::fs::read_to_string(&file).ok()?;
    let get = |key: &str| options.get(key).map(String::as_str).unwrap_or("");
    let host = get("host");
    let unix = host.starts_with('/');
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut escaped = false;
        for c in line.chars() {
            match c {
                _ if escaped => {
                    field.push(c);
                    escaped = false;
                }
                '\\' => escaped = true,
                ':' => fields.push(std::mem::take(&mut field)),
                c => field.push(c),
            }
        }
        fields.push(field);
        let [f_host, f_port, f_db, f_user, f_password] = fields.as_slice() else {
            continue;
        };
        let host_ok = f_host == "*" || f_host == host || (f_host == "localhost" && (host.is_empty() || unix));
        let matches = |field: &str, key: &str| field == "*" || field == get(key);
        if host_ok && matches(f_port, "port") && matches(f_db, "dbname") && matches(f_user, "user") {
            return Some(f_password.clone());
        }
    }
    None
}

#[cfg(unix)]
fn permissions(metadata: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode()
}

#[cfg(not(unix))]
fn permissions(_: &std::fs::Metadata) -> u32 {
    0
}

/// Checks a connection string's syntax (URL or key/value pairs, port, sslmode) without the
/// environment: what a state file's `storage.connection` must pass at load.
pub fn check(text: &str) -> Result<(), ConnectionError> {
    resolve(text, &|_| None).map(drop)
}

/// How long connecting may take when the connection string sets no `connect_timeout`.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

/// Resolves a connection string as helm does, with `env` as the process environment.
pub fn resolve(text: &str, env: Environment<'_>) -> Result<Connection, ConnectionError> {
    let mut options = BTreeMap::from([
        ("host".to_string(), "localhost".to_string()),
        ("port".to_string(), "5432".to_string()),
    ]);
    environ(env, &mut options)?;
    if text.starts_with("postgres://") || text.starts_with("postgresql://") {
        parse_url(text, &mut options)?;
    } else {
        parse_key_values(text, &mut options)?;
    }
    if let Some(fallback) = options.get("fallback_application_name").cloned() {
        options.entry("application_name".to_string()).or_insert(fallback);
    }
    if options
        .get("client_encoding")
        .is_some_and(|encoding| !is_utf8(encoding))
    {
        return Err(ConnectionError::ClientEncoding);
    }
    if options.get("datestyle").is_some_and(|style| style != "ISO, MDY") {
        return Err(ConnectionError::DateStyle);
    }
    if !options.contains_key("user")
        && let Some(user) = env("USER").filter(|user| !user.is_empty())
    {
        options.insert("user".to_string(), user);
    }
    let host = options["host"].clone();
    let unix_socket = host.starts_with('/');
    if unix_socket {
        options.insert("sslmode".to_string(), "disable".to_string());
    }
    let port_text = &options["port"];
    let port: u16 = port_text
        .parse()
        .map_err(|_| ConnectionError::InvalidPort(port_text.clone()))?;

    let mut config = tokio_postgres::Config::new();
    if unix_socket {
        config.host_path(&host);
    } else {
        config.host(&host);
    }
    config.port(port);
    if let Some(user) = options.get("user") {
        config.user(user);
    }
    if let Some(dbname) = options.get("dbname") {
        config.dbname(dbname);
    }
    if let Some(application_name) = options.get("application_name") {
        config.application_name(application_name);
    }
    let password = match options.get("password") {
        Some(password) => Some(password.clone()),
        None => pgpass(env, &options),
    };
    if let Some(password) = password {
        config.password(password);
    }
    // lib/pq: `connect_timeout` in seconds, 0 or negative waits for ever. Without one lib/pq
    // waits for ever too; helmfire gives up after DEFAULT_CONNECT_TIMEOUT, as it does with a
    // cluster that does not answer.
    match options.get("connect_timeout") {
        Some(timeout) => {
            let seconds: i64 = timeout
                .parse()
                .map_err(|_| ConnectionError::InvalidConnectTimeout(timeout.clone()))?;
            if seconds > 0 {
                config.connect_timeout(Duration::from_secs(seconds.unsigned_abs()));
            }
        }
        None => {
            config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
        }
    }
    // Every key lib/pq does not handle itself is a run-time parameter it sends at startup; the
    // server sees the same through `options=-c key=value`.
    let mut server_options: Vec<String> = options.get("options").cloned().into_iter().collect();
    for (key, value) in &options {
        if !is_client_setting(key) {
            server_options.push(format!("-c {}={}", escape_option(key), escape_option(value)));
        }
    }
    if !server_options.is_empty() {
        config.options(server_options.join(" "));
    }

    let mode = match options.get("sslmode").map(String::as_str).unwrap_or("") {
        "" | "require" => SslMode::Require,
        "verify-ca" => SslMode::VerifyCa,
        "verify-full" => SslMode::VerifyFull,
        "disable" => SslMode::Disable,
        other => return Err(ConnectionError::UnsupportedSslMode(other.to_string())),
    };
    let inline = options.get("sslinline").is_some_and(|v| v == "true");
    let pem = |value: &str| {
        if inline {
            Pem::Inline(value.to_string())
        } else {
            Pem::File(PathBuf::from(value))
        }
    };
    let mut root_cert = options
        .get("sslrootcert")
        .filter(|value| !value.is_empty())
        .map(|value| pem(value));
    let mode = match (mode, &root_cert) {
        // libpq's compatibility rule: `require` with an existing root certificate file is
        // `verify-ca`; a missing file is forgotten.
        (SslMode::Require, Some(Pem::File(path))) if path.exists() => SslMode::VerifyCa,
        (SslMode::Require, Some(Pem::File(_))) => {
            root_cert = None;
            SslMode::Require
        }
        (mode, _) => mode,
    };
    let client_cert = client_certificate(env, &options, inline);
    let sni = options.get("sslsni").is_none_or(|v| v.is_empty() || v.starts_with('1'));
    config.ssl_mode(match mode {
        SslMode::Disable => tokio_postgres::config::SslMode::Disable,
        _ => tokio_postgres::config::SslMode::Require,
    });
    // lib/pq has no channel binding: never ask for SCRAM-SHA-256-PLUS.
    config.channel_binding(tokio_postgres::config::ChannelBinding::Disable);

    let endpoint = Endpoint {
        host,
        port,
        user: options.get("user").cloned(),
        dbname: options.get("dbname").cloned().filter(|d| !d.is_empty()),
    };
    Ok(Connection {
        config,
        tls: Tls {
            mode,
            root_cert,
            client_cert,
            sni,
        },
        endpoint,
    })
}

/// `sslcert`/`sslkey`, else `~/.postgresql/postgresql.{crt,key}`; only when the certificate
/// exists (or is inline).
fn client_certificate(env: Environment<'_>, options: &BTreeMap<String, String>, inline: bool) -> Option<(Pem, Pem)> {
    if inline {
        let cert = options.get("sslcert")?;
        let key = options.get("sslkey").cloned().unwrap_or_default();
        return Some((Pem::Inline(cert.clone()), Pem::Inline(key)));
    }
    let default = |file: &str| home(env).map(|home| home.join(".postgresql").join(file));
    let cert = match options.get("sslcert").filter(|c| !c.is_empty()) {
        Some(cert) => PathBuf::from(cert),
        None => default("postgresql.crt")?,
    };
    if !Path::new(&cert).exists() {
        return None;
    }
    let key = match options.get("sslkey").filter(|k| !k.is_empty()) {
        Some(key) => PathBuf::from(key),
        None => default("postgresql.key")?,
    };
    Some((Pem::File(cert), Pem::File(key)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let vars: BTreeMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |name| vars.get(name).cloned()
    }

    fn options(text: &str) -> BTreeMap<String, String> {
        let mut options = BTreeMap::new();
        parse_key_values(text, &mut options).unwrap();
        options
    }

    #[test]
    fn connecting_gives_up_after_a_default_unless_told_to_wait() {
        let timeout = |text: &str| resolve(text, &|_| None).unwrap().config.get_connect_timeout().copied();
        assert_eq!(timeout("host=db"), Some(DEFAULT_CONNECT_TIMEOUT));
        assert_eq!(timeout("host=db connect_timeout=5"), Some(Duration::from_secs(5)));
        assert_eq!(timeout("host=db connect_timeout=0"), None, "lib/pq: 0 waits for ever");
        assert_eq!(
            resolve("host=db connect_timeout=5s", &|_| None).unwrap_err(),
            ConnectionError::InvalidConnectTimeout("5s".into())
        );
    }

    #[test]
    fn key_values_follow_libpq_quoting() {
        let parsed = options(r"host=db port = 5433  user=a\ b dbname= 'x y' empty=");
        assert_eq!(parsed["host"], "db");
        assert_eq!(parsed["port"], "5433");
        assert_eq!(parsed["user"], "a b");
        assert_eq!(parsed["dbname"], "x y");
        assert_eq!(parsed["empty"], "");
        let parsed = options(r"password='a\'b c' host=x host=y");
        assert_eq!(parsed["password"], "a'b c");
        assert_eq!(parsed["host"], "y", "the last occurrence wins");
    }

    #[test]
    fn key_value_errors_say_where_never_what() {
        let mut out = BTreeMap::new();
        let error = parse_key_values("password=se cret host=x", &mut out).unwrap_err();
        assert_eq!(error, ConnectionError::MissingEquals(16));
        assert!(!error.to_string().contains("cret"), "{error}");
        assert_eq!(
            parse_key_values("password='open", &mut out).unwrap_err(),
            ConnectionError::UnterminatedQuote(10)
        );
        assert_eq!(
            parse_key_values("password=x\\", &mut out).unwrap_err(),
            ConnectionError::DanglingBackslash(11)
        );
    }

    #[test]
    fn urls_decode_like_net_url() {
        let mut out = BTreeMap::new();
        parse_url(
            "postgresql://hel%40m:p%3Ass@db.example:6543/rel%20eases?sslmode=disable&search_path=a+b&sslmode=require&x=",
            &mut out,
        )
        .unwrap();
        assert_eq!(out["user"], "hel@m");
        assert_eq!(out["password"], "p:ss");
        assert_eq!(out["host"], "db.example");
        assert_eq!(out["port"], "6543");
        assert_eq!(out["dbname"], "rel eases");
        assert_eq!(out["sslmode"], "disable", "the first value of a repeated key");
        assert_eq!(out["search_path"], "a b");
        assert!(!out.contains_key("x"), "empty values are dropped");
        let mut out = BTreeMap::new();
        parse_url("postgres://[::1]:5432", &mut out).unwrap();
        assert_eq!(out["host"], "::1");
        assert!(!out.contains_key("dbname"));
        assert_eq!(
            parse_url("postgres://u:%zz@h/d", &mut BTreeMap::new()).unwrap_err(),
            ConnectionError::InvalidUrl("invalid percent escape")
        );
    }

    #[test]
    fn defaults_environment_and_string_in_lib_pq_order() {
        let environment = env(&[("PGHOST", "from-env"), ("PGUSER", "envuser"), ("PGPORT", "7000")]);
        let connection = resolve("port=6000 dbname=helm", &environment).unwrap();
        assert_eq!(
            connection.endpoint,
            Endpoint {
                host: "from-env".into(),
                port: 6000,
                user: Some("envuser".into()),
                dbname: Some("helm".into()),
            }
        );
        assert_eq!(connection.tls.mode, SslMode::Require, "lib/pq requires TLS by default");
        let connection = resolve("", &env(&[("USER", "me")])).unwrap();
        assert_eq!(connection.endpoint.to_string(), "postgres://me@localhost:5432/me");
    }

    #[test]
    fn unsupported_settings_are_refused() {
        assert_eq!(
            resolve("", &env(&[("PGSERVICE", "x")])).unwrap_err(),
            ConnectionError::UnsupportedEnvironment("PGSERVICE")
        );
        assert_eq!(
            resolve("sslmode=prefer", &env(&[])).unwrap_err(),
            ConnectionError::UnsupportedSslMode("prefer".into())
        );
        assert_eq!(
            resolve("port=x", &env(&[])).unwrap_err(),
            ConnectionError::InvalidPort("x".into())
        );
        assert_eq!(
            resolve("client_encoding=latin1", &env(&[])).unwrap_err(),
            ConnectionError::ClientEncoding
        );
        assert!(resolve("client_encoding=utf-8", &env(&[])).is_ok());
    }

    #[test]
    fn unknown_keys_become_server_parameters() {
        let connection = resolve(
            "host=h search_path='a b' options=-cwork_mem=64kB application_name=hf",
            &env(&[]),
        )
        .unwrap();
        assert_eq!(
            connection.config.get_options(),
            Some(r"-cwork_mem=64kB -c search_path=a\ b")
        );
        assert_eq!(connection.config.get_application_name(), Some("hf"));
    }

    #[test]
    fn unix_sockets_disable_tls_and_a_present_root_certificate_means_verify_ca() {
        let connection = resolve("host=/run/postgresql sslmode=verify-full", &env(&[])).unwrap();
        assert_eq!(connection.tls.mode, SslMode::Disable);
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, "").unwrap();
        let connection = resolve(&format!("sslrootcert={}", ca.display()), &env(&[])).unwrap();
        assert_eq!(connection.tls.mode, SslMode::VerifyCa);
        let connection = resolve("sslrootcert=/nonexistent/ca.pem", &env(&[])).unwrap();
        assert_eq!(
            (connection.tls.mode, connection.tls.root_cert),
            (SslMode::Require, None)
        );
    }

    #[test]
    fn pgpass_supplies_a_missing_password_unless_others_can_read_it() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("pgpass");
        std::fs::write(&file, "# comment\nother:*:*:*:no\nlocalhost:5432:helm:hf:s\\:cret\n").unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        let environment = env(&[("PGPASSFILE", file.to_str().unwrap())]);
        let connection = resolve("user=hf dbname=helm", &environment).unwrap();
        assert_eq!(connection.config.get_password(), Some(&b"s:cret"[..]));
        let connection = resolve("user=hf dbname=helm password=given", &environment).unwrap();
        assert_eq!(connection.config.get_password(), Some(&b"given"[..]));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
        let connection = resolve("user=hf dbname=helm", &environment).unwrap();
        assert_eq!(connection.config.get_password(), None);
    }

    #[test]
    fn the_description_never_carries_the_password() {
        let connection = resolve("postgres://helm:hunter2@10.0.0.1:5433/releases", &env(&[])).unwrap();
        assert_eq!(
            connection.endpoint.to_string(),
            "postgres://helm@10.0.0.1:5433/releases"
        );
        let debug = format!("{connection:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
    }
}
