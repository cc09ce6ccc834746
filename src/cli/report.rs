//! The one error renderer: `error:` + location snippet + `caused by:` chain + `hint:` lines.

use std::fmt::Write as _;

use crate::state::{Diagnostic, Location, StateError};

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
        let mut out = format!("{}: {error}\n", self.error_label());
        let mut source = error.source();
        while let Some(cause) = source {
            let _ = writeln!(out, "  caused by: {cause}");
            source = cause.source();
        }
        if let Some(StateError::NotFound { .. }) = error.downcast_ref::<StateError>() {
            let _ = writeln!(out, "{}: pass the state file with -f FILE", self.hint_label());
        }
        out
    }
}
