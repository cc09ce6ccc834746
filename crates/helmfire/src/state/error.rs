//! Errors of the state stage: what was wrong, where, and how to fix it.

use std::fmt;
use std::path::PathBuf;

use super::source::Location;

/// One problem in the user's input, with its location as data (never parsed out of a message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub message: String,
    pub location: Option<Location>,
    pub hint: Option<String>,
    /// Other places that explain the problem ("first defined here").
    pub notes: Vec<(Location, String)>,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>, location: Option<Location>) -> Diagnostic {
        Diagnostic {
            message: message.into(),
            location,
            hint: None,
            notes: Vec::new(),
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_note(mut self, location: Location, note: impl Into<String>) -> Diagnostic {
        self.notes.push((location, note.into()));
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(location) => write!(f, "{location}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("no state file found: looked for {}", .searched.iter().map(|p| format!("`{}`", p.display())).collect::<Vec<_>>().join(", "))]
    NotFound { searched: Vec<PathBuf> },
    #[error("failed to read `{}`", .path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A state or environment values file over [`super::MAX_FILE_SIZE`] (or an endless stream
    /// such as `/dev/zero`): refused before it is read into memory.
    #[error("`{}` is larger than the {} MiB a state file may hold", .path.display(), .limit / (1024 * 1024))]
    TooLarge { path: PathBuf, limit: u64 },
    /// The input is wrong; every problem found is listed.
    #[error("{}", .0.first().map(|d| d.message.as_str()).unwrap_or("invalid state file"))]
    Invalid(Vec<Diagnostic>),
}

impl From<Diagnostic> for StateError {
    fn from(diagnostic: Diagnostic) -> StateError {
        StateError::Invalid(vec![diagnostic])
    }
}
