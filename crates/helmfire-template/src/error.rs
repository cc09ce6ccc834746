//! Template errors as data, with `Display` giving Go's exact text.
//!
//! Go wraps errors in layers (`ExecError` → `error calling include: %w` → the inner template's
//! `ExecError` …) and Helm re-formats them by walking that chain; [`TemplateError::go_chain`]
//! reproduces the chain so [`TemplateError::helm_message`] can reproduce Helm's rewrite.

use std::fmt;

/// A parse error: `template: <name>:<line>: <message>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub name: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "template: {}:{}: {}", self.name, self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Where an execution error happened: the template being executed and the node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The file the node was parsed from (Go's `ParseName`).
    pub file: String,
    pub line: usize,
    /// 0-based byte column, as Go prints it.
    pub column: usize,
    /// The node's source form, Go's `Node.String()` (`.Values.a.b`, `include "x" .`).
    pub context: String,
}

/// What went wrong, below the location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cause {
    /// A message made by the executor (`nil pointer evaluating interface {}.b`).
    Message(String),
    /// `error calling <func>: <error>` where the error came from the function.
    Call { function: String, error: FuncError },
}

/// An error returned by a template function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FuncError {
    /// A plain Go error (`errors.New`), possibly a recovered panic message.
    Plain(String),
    /// A template error from `include`/`tpl`, optionally behind a wrapping prefix
    /// (`error during tpl function execution for "…": `).
    Template { prefix: String, inner: Box<TemplateError> },
}

impl FuncError {
    pub fn msg(s: impl Into<String>) -> FuncError {
        FuncError::Plain(s.into())
    }
}

impl fmt::Display for FuncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FuncError::Plain(s) => f.write_str(s),
            FuncError::Template { prefix, inner } => write!(f, "{prefix}{inner}"),
        }
    }
}

/// An execution error: Go's `ExecError`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecError {
    /// The name of the template being executed (`executing "<name>"`).
    pub template: String,
    /// `None` when Go had no node (e.g. `no template "x" associated with template "y"`).
    pub location: Option<Location>,
    pub cause: Cause,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateError {
    Parse(ParseError),
    Exec(Box<ExecError>),
    /// `ExecuteTemplate` with an unknown name: `template: no template "x" associated with template "y"`.
    NoTemplate {
        name: String,
        set: String,
    },
    /// Output exceeded the configured limit (not a Go error; Go would keep writing).
    OutputLimit {
        limit: usize,
    },
}

impl fmt::Display for ExecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(loc) => write!(
                f,
                "template: {}:{}:{}: executing {} at <{}>: ",
                loc.file,
                loc.line,
                loc.column,
                super::fmt::quote_go(&self.template),
                loc.context
            )?,
            None => write!(f, "template: {}: ", self.template)?,
        }
        match &self.cause {
            Cause::Message(m) => f.write_str(m),
            Cause::Call { function, error } => write!(f, "error calling {function}: {error}"),
        }
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TemplateError::Parse(e) => e.fmt(f),
            TemplateError::Exec(e) => e.fmt(f),
            TemplateError::NoTemplate { name, set } => write!(
                f,
                "template: no template {} associated with template {}",
                super::fmt::quote_go(name),
                super::fmt::quote_go(set)
            ),
            TemplateError::OutputLimit { limit } => {
                write!(f, "template output exceeds the limit of {limit} bytes")
            }
        }
    }
}

impl std::error::Error for TemplateError {}

impl From<ParseError> for TemplateError {
    fn from(e: ParseError) -> Self {
        TemplateError::Parse(e)
    }
}

/// One link of Go's error chain: its text and whether it is a `template.ExecError`.
struct Link {
    text: String,
    is_exec: bool,
}

impl TemplateError {
    /// The chain `errors.Unwrap` would walk in Go, outermost first.
    fn go_chain(&self) -> Vec<Link> {
        let mut out = Vec::new();
        self.push_chain(&mut out);
        out
    }

    fn push_chain(&self, out: &mut Vec<Link>) {
        let text = self.to_string();
        match self {
            TemplateError::Exec(e) => {
                out.push(Link {
                    text: text.clone(),
                    is_exec: true,
                });
                if let Cause::Call { error, .. } = &e.cause {
                    // `fmt.Errorf("...error calling %s: %w")`: a wrapper with the same text.
                    out.push(Link { text, is_exec: false });
                    match error {
                        FuncError::Plain(s) => out.push(Link {
                            text: s.clone(),
                            is_exec: false,
                        }),
                        FuncError::Template { prefix, inner } => {
                            if !prefix.is_empty() {
                                out.push(Link {
                                    text: error.to_string(),
                                    is_exec: false,
                                });
                            }
                            inner.push_chain(out);
                        }
                    }
                }
            }
            _ => out.push(Link { text, is_exec: false }),
        }
    }

    /// The innermost template location, for diagnostics (file, line, column).
    pub fn innermost_location(&self) -> Option<&Location> {
        match self {
            TemplateError::Exec(e) => {
                if let Cause::Call {
                    error: FuncError::Template { inner, .. },
                    ..
                } = &e.cause
                    && let Some(l) = inner.innermost_location()
                {
                    return Some(l);
                }
                e.location.as_ref()
            }
            _ => None,
        }
    }

    /// The include/tpl stack: each template name and location, outermost first.
    pub fn include_stack(&self) -> Vec<(String, Option<Location>)> {
        let mut out = Vec::new();
        let mut cur = self;
        while let TemplateError::Exec(e) = cur {
            out.push((e.template.clone(), e.location.clone()));
            match &e.cause {
                Cause::Call {
                    error: FuncError::Template { inner, .. },
                    ..
                } => cur = inner,
                _ => break,
            }
        }
        out
    }

    /// The message `helm template` prints for an execution error of file `filename`
    /// (Helm's `reformatExecErrorMsg`), or for a parse error (`cleanupParseError`).
    pub fn helm_message(&self, filename: &str) -> String {
        match self {
            TemplateError::Parse(_) => {
                let s = self.to_string();
                let tokens: Vec<&str> = s.split(": ").collect();
                if tokens.len() == 1 {
                    return format!("parse error in ({filename}): {s}");
                }
                format!("parse error at ({}): {}", tokens[1], tokens[tokens.len() - 1])
            }
            TemplateError::Exec(_) => self.helm_exec_message(filename),
            _ => self.to_string(),
        }
    }

    fn helm_exec_message(&self, filename: &str) -> String {
        let full = self.to_string();
        let tokens: Vec<&str> = full.splitn(3, ": ").collect();
        if tokens.len() != 3 {
            return format!("execution error in ({filename}): {full}");
        }
        if let Some(msg) = warn_message(tokens[2]) {
            return format!("execution error at ({}): {}", tokens[1], msg);
        }
        let mut locations: Vec<Traceable> = Vec::new();
        for link in self.go_chain() {
            let _ = link.is_exec;
            match parse_traceable(&link.text) {
                Some(tr) => {
                    if locations.last() != Some(&tr) {
                        locations.push(tr);
                    }
                }
                None => return full,
            }
        }
        let mut out = String::new();
        for l in &locations {
            if !l.location.is_empty() {
                out.push_str(&format!("{}\n  ", l.location));
            }
            if !l.executed.is_empty() {
                out.push_str(&format!("{}\n    ", l.executed));
            }
            if !l.message.is_empty() {
                out.push_str(&format!("{}\n", l.message));
            }
        }
        out.trim().to_string()
    }
}

const WARN_START: &str = "HELM_ERR_START";
const WARN_END: &str = "HELM_ERR_END";

/// Wraps a `required`/`fail` message the way Helm does so `helm_message` can find it.
pub fn warn_wrap(msg: &str) -> String {
    format!("{WARN_START}{msg}{WARN_END}")
}

/// Helm's `HELM_ERR_START((?s).*)HELM_ERR_END`: greedy, so the last end marker wins.
fn warn_message(s: &str) -> Option<&str> {
    let start = s.find(WARN_START)? + WARN_START.len();
    let end = s.rfind(WARN_END)?;
    (end >= start).then(|| &s[start..end])
}

#[derive(PartialEq)]
struct Traceable {
    location: String,
    message: String,
    executed: String,
}

fn parse_traceable(s: &str) -> Option<Traceable> {
    let remainder = s.strip_prefix("template: ")?;
    if remainder.starts_with("no template ") {
        return Some(Traceable {
            location: String::new(),
            message: s.to_string(),
            executed: String::new(),
        });
    }
    if let Some((name, after)) = remainder.split_once(": executing ")
        && let Some(after) = after.strip_prefix('"')
        && let Some(end_quote) = after.find('"')
    {
        let function = &after[..end_quote];
        let after_func = &after[end_quote + 1..];
        if let Some(after_at) = after_func.strip_prefix(" at <")
            && let Some((loc, msg)) = after_at.split_once(">: ")
        {
            let msg = match msg.find(" template:") {
                Some(cut) => &msg[..cut],
                None => msg,
            };
            return Some(Traceable {
                location: name.to_string(),
                message: msg.to_string(),
                executed: format!("executing \"{function}\" at <{loc}>:"),
            });
        }
    }
    if let Some(sep) = remainder.rfind(": ") {
        let mut msg = &remainder[sep + 2..];
        if let Some(cut) = msg.find(" template:") {
            msg = &msg[..cut];
        }
        return Some(Traceable {
            location: remainder[..sep].to_string(),
            message: msg.to_string(),
            executed: String::new(),
        });
    }
    None
}
