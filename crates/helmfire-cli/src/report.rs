//! The one error renderer: `error:` + location snippet + `caused by:` chain + `hint:` lines.

use std::fmt::Write as _;
use std::sync::Arc;

use helmfire::cluster::ClusterError;
use helmfire::error::{Chain, ReleaseError};
use helmfire::estate::EstateError;
use helmfire::resolve::ResolveError;
use helmfire::state::{Diagnostic, Location, StateError};
use helmfire::storage::sql::SqlError;

/// Several releases failed; each is printed with its causes and hints.
#[derive(Debug)]
pub struct ReleaseFailures(pub Vec<Arc<ReleaseError>>);

impl std::fmt::Display for ReleaseFailures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} release(s) failed", self.0.len())
    }
}

impl std::error::Error for ReleaseFailures {}

/// What the user can do about an error, by the kind of its first cause that has advice.
pub fn hint(error: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    let mut current = Some(error);
    while let Some(error) = current {
        // Transparent wrappers hand `source()` to their inner error's cause: look inside.
        if let Some(EstateError::Resolve(inner)) = error.downcast_ref::<EstateError>() {
            return hint(inner);
        }
        if let Some(EstateError::State(inner)) = error.downcast_ref::<EstateError>() {
            return hint(inner);
        }
        if let Some(ReleaseError::Converge(inner)) = error.downcast_ref::<ReleaseError>() {
            return hint(inner);
        }
        if let Some(StateError::NotFound { .. }) = error.downcast_ref::<StateError>() {
            return Some("pass the state file with -f FILE");
        }
        if let Some(ResolveError::StaleLock { .. }) = error.downcast_ref::<ResolveError>() {
            return Some("run `helmfire deps` to re-resolve, or pass --update-lock");
        }
        // `StorageError::Sql` boxes its cause: the source is a `Box<SqlError>`.
        let sql = error
            .downcast_ref::<SqlError>()
            .or_else(|| error.downcast_ref::<Box<SqlError>>().map(|boxed| &**boxed));
        match sql {
            Some(SqlError::ServerWithoutTls) => {
                return Some(
                    "for a server without TLS, add `sslmode=disable` to the connection string (helm's driver requires TLS otherwise too)",
                );
            }
            Some(SqlError::Server { code, .. }) if code == "28P01" => {
                return Some(
                    "check the user and password of the connection string (HELM_DRIVER_SQL_CONNECTION_STRING or the environment's `storage.connection`)",
                );
            }
            Some(SqlError::Server { code, .. }) if code == "28000" => {
                return Some("the server's pg_hba.conf refused this user, database, address or encryption (`sslmode`)");
            }
            Some(SqlError::Server { code, .. }) if code == "3D000" => {
                return Some(
                    "create the database first: helm and helmfire create their tables in it, not the database",
                );
            }
            Some(SqlError::NewerSchema(_)) => {
                return Some(
                    "use a helmfire release that knows this schema, or a database the newer helm did not migrate",
                );
            }
            Some(SqlError::Client(_)) => {
                return Some("check that PostgreSQL is reachable at the address shown");
            }
            _ => {}
        }
        match error.downcast_ref::<ClusterError>() {
            Some(ClusterError::Kubeconfig { .. }) => {
                return Some("pass --kubeconfig or set KUBECONFIG, or try it on a local cluster with --sandbox");
            }
            Some(ClusterError::ContextMissing { .. }) => {
                return Some(
                    "correct `kubeContext` in the state file, or add the context to the kubeconfig (`kubectl config get-contexts` lists them)",
                );
            }
            Some(ClusterError::Transport { .. }) => {
                return Some(
                    "check that the cluster is reachable from here (`kubectl cluster-info`); --request-timeout sets the deadline",
                );
            }
            Some(ClusterError::Tls { .. } | ClusterError::CertificateAuthority { .. }) => {
                return Some("check the context's `certificate-authority` (or `-data`) and `server` in the kubeconfig");
            }
            _ => {}
        }
        current = error.source();
    }
    None
}

pub struct Painter {
    pub color: bool,
}

impl Painter {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    pub fn error_label(&self) -> String {
        self.paint("1;31", "error")
    }

    pub fn warning_label(&self) -> String {
        self.paint("1;33", "warning")
    }

    pub fn note_label(&self) -> String {
        self.paint("1;36", "note")
    }

    fn hint_label(&self) -> String {
        self.paint("1;32", "hint")
    }

    pub fn red(&self, text: &str) -> String {
        self.paint("31", text)
    }

    pub fn green(&self, text: &str) -> String {
        self.paint("32", text)
    }

    pub fn yellow(&self, text: &str) -> String {
        self.paint("33", text)
    }

    fn blue(&self, text: &str) -> String {
        self.paint("1;34", text)
    }

    /// A snippet pointing at `location`:
    /// ```text
    ///  --> file:3:5
    ///   |
    /// 3 |   - nmae: web
    ///   |     ^^^^
    /// ```
    pub fn snippet(&self, location: &Location, out: &mut String) {
        let _ = writeln!(out, " {} {location}", self.blue("-->"));
        if location.line == 0 {
            return;
        }
        let number = location.line.to_string();
        let gutter = " ".repeat(number.len());
        let _ = writeln!(out, "{gutter} {}", self.blue("|"));
        let _ = writeln!(out, "{} {} {}", self.blue(&number), self.blue("|"), location.line_text);
        let prefix: String = location
            .line_text
            .chars()
            .take(location.column.saturating_sub(1))
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let carets = self.paint("1;31", &"^".repeat(location.length.max(1)));
        let _ = writeln!(out, "{gutter} {} {prefix}{carets}", self.blue("|"));
    }

    pub fn diagnostic(&self, diagnostic: &Diagnostic) -> String {
        let mut out = format!("{}: {}\n", self.error_label(), diagnostic.message);
        if let Some(location) = &diagnostic.location {
            self.snippet(location, &mut out);
        }
        for (location, note) in &diagnostic.notes {
            let _ = writeln!(out, "{}: {note}", self.note_label());
            self.snippet(location, &mut out);
        }
        if let Some(hint) = &diagnostic.hint {
            let _ = writeln!(out, "{}: {hint}", self.hint_label());
        }
        out
    }

    /// Any error: diagnostics get snippets; other errors print their `source()` chain.
    pub fn error(&self, error: &(dyn std::error::Error + 'static)) -> String {
        if let Some(EstateError::State(inner)) = error.downcast_ref::<EstateError>() {
            return self.error(inner);
        }
        if let Some(StateError::Invalid(diagnostics)) = error.downcast_ref::<StateError>() {
            let mut out = diagnostics
                .iter()
                .map(|d| self.diagnostic(d))
                .collect::<Vec<_>>()
                .join("\n");
            if diagnostics.len() > 1 {
                let _ = writeln!(out, "\n{}: {} problems found", self.error_label(), diagnostics.len());
            }
            return out;
        }
        if let Some(ReleaseFailures(errors)) = error.downcast_ref::<ReleaseFailures>() {
            let mut out: String = errors.iter().map(|e| self.error(e.as_ref())).collect();
            if errors.len() > 1 {
                let _ = writeln!(out, "{}: {error}", self.error_label());
            }
            return out;
        }
        let mut out = format!("{}: {:#}\n", self.error_label(), Chain(error));
        if let Some(hint) = hint(error) {
            let _ = writeln!(out, "{}: {hint}", self.hint_label());
        }
        out
    }
}
