//! Source files and locations: every user-input error points at a file, line and column.
//!
//! Locations are computed from byte offsets kept by the parsers, never recovered from an error
//! message. A [`Location`] carries the offending line's text so the CLI can draw a snippet.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A loaded text file (state file, environment values file).
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    /// Byte offset at which each line starts.
    line_starts: Vec<usize>,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: impl Into<String>) -> Arc<SourceFile> {
        let text = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Arc::new(SourceFile {
            path: path.into(),
            text,
            line_starts,
        })
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let start = self.line_starts[line];
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line + 1, column + 1)
    }

    /// Byte offset of a 1-based line and 0-based character column.
    pub fn offset_of(&self, line: usize, column: usize) -> usize {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        let rest = &self.text[start..];
        start + rest.char_indices().nth(column).map_or(rest.len(), |(i, _)| i)
    }

    /// The text of a 1-based line, without its newline.
    pub fn line_text(&self, line: usize) -> &str {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1)) else {
            return "";
        };
        let end = self.line_starts.get(line).map_or(self.text.len(), |&next| next);
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    pub fn location(&self, offset: usize) -> Location {
        self.span_location(Span {
            start: offset,
            end: offset,
        })
    }

    /// The location of a span's start, underlining the span up to the end of its first line.
    pub fn span_location(&self, span: Span) -> Location {
        let (line, column) = self.line_column(span.start);
        let line_text = self.line_text(line).to_string();
        let available = line_text.chars().count().saturating_sub(column - 1);
        let spanned = self
            .text
            .get(span.start..span.end.max(span.start))
            .map_or(0, |s| s.chars().count());
        Location {
            path: self.path.clone(),
            line,
            column,
            length: spanned.min(available).max(1),
            line_text,
        }
    }
}

/// A byte range inside one [`SourceFile`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

/// Where in which file something is: what error messages point at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    /// 1-based.
    pub line: usize,
    /// 1-based, in characters.
    pub column: usize,
    /// How many characters to underline (at least 1).
    pub length: usize,
    /// The whole line, for a snippet with a caret.
    pub line_text: String,
}

impl Location {
    /// The same location with the underlined characters of its line replaced by `*`, for
    /// values that are secrets (a connection string): the snippet points without showing.
    pub fn masked(mut self) -> Location {
        let start = self.column.saturating_sub(1);
        self.line_text = self
            .line_text
            .chars()
            .enumerate()
            .map(|(i, c)| if i >= start && i < start + self.length { '*' } else { c })
            .collect();
        self
    }

    /// A location naming a whole file (when no position is known, e.g. a missing file).
    pub fn file(path: &Path) -> Location {
        Location {
            path: path.to_path_buf(),
            line: 0,
            column: 0,
            length: 0,
            line_text: String::new(),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.path.display())
        } else {
            write!(f, "{}:{}:{}", self.path.display(), self.line, self.column)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based_and_count_characters() {
        let file = SourceFile::new("x.yaml", "a: 1\nnäme: b\n");
        assert_eq!(file.line_column(0), (1, 1));
        assert_eq!(file.line_column(5), (2, 1));
        let offset = file.text.find("b\n").unwrap();
        assert_eq!(file.line_column(offset), (2, 7));
        assert_eq!(file.line_text(2), "näme: b");
        assert_eq!(file.offset_of(2, 6), offset);
        assert_eq!(file.location(offset).to_string(), "x.yaml:2:7");
    }
}
