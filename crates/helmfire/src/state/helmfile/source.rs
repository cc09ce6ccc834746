//! Where rendered helmfile text came from: every rendered part is appended to one arena, and
//! an offset into it maps back to the helmfile (and the template line) it was rendered from.
//!
//! Spans of the parsed YAML are arena offsets, so one serde deserializer (`state::de`) reads
//! every part of every file while each error still names the original file and line.

use std::path::Path;
use std::sync::Arc;

use crate::state::source::{Location, SourceFile, Span};

/// The rendered text of every part read so far, and where each came from.
#[derive(Default)]
pub(super) struct Sources {
    /// Rendered parts, back to back.
    pub(super) text: String,
    segments: Vec<Segment>,
}

/// One rendered part.
struct Segment {
    base: usize,
    /// The rendered text, for line and column lookups.
    rendered: Arc<SourceFile>,
    /// The helmfile the part was read from.
    original: Arc<SourceFile>,
    /// The line of `original` on which the part starts (1-based).
    first_line: usize,
    /// For each rendered line (0-based), the template line (0-based, within the part) that
    /// produced it.
    lines: Vec<usize>,
}

impl Sources {
    /// Adds a rendered part of `original` that starts on `first_line` and was rendered from
    /// `template`; returns its base offset in the arena.
    pub(super) fn add(
        &mut self,
        original: &Arc<SourceFile>,
        first_line: usize,
        template: &str,
        rendered: &str,
    ) -> usize {
        let base = self.text.len();
        self.text.push_str(rendered);
        // A separator, so that no span of one part ends where the next begins.
        self.text.push('\n');
        self.segments.push(Segment {
            base,
            rendered: SourceFile::new(&original.path, rendered.to_string()),
            original: original.clone(),
            first_line,
            lines: align_lines(template, rendered),
        });
        base
    }

    /// The location of an arena span: the helmfile line the text was rendered from. The
    /// column is exact when the line came through the template unchanged.
    pub(super) fn location(&self, span: Span) -> Location {
        let index = self
            .segments
            .partition_point(|s| s.base <= span.start)
            .saturating_sub(1);
        let Some(segment) = self.segments.get(index) else {
            return Location::file(Path::new("helmfile"));
        };
        let local = Span {
            start: span.start - segment.base,
            end: span.end.saturating_sub(segment.base),
        };
        let rendered = segment.rendered.span_location(local);
        let template_line = segment.lines.get(rendered.line - 1).copied().unwrap_or(0);
        let line = segment.first_line + template_line;
        let line_text = segment.original.line_text(line).to_string();
        let unchanged = line_text == rendered.line_text;
        Location {
            path: segment.original.path.clone(),
            line,
            column: if unchanged { rendered.column } else { 1 },
            length: if unchanged {
                rendered.length
            } else {
                line_text.chars().count().max(1)
            },
            line_text,
        }
    }

    /// The rendered line a span is on, when it differs from the helmfile's line (for a hint).
    pub(super) fn rendered_line(&self, span: Span) -> Option<String> {
        let index = self
            .segments
            .partition_point(|s| s.base <= span.start)
            .saturating_sub(1);
        let segment = self.segments.get(index)?;
        let location = segment.rendered.location(span.start - segment.base);
        let template_line = segment.lines.get(location.line - 1).copied().unwrap_or(0);
        let original = segment.original.line_text(segment.first_line + template_line);
        (original != location.line_text).then_some(location.line_text)
    }
}

/// Maps each rendered line to the template line that produced it: lines without actions come
/// through verbatim, and a line with actions renders to text that starts like it. Matching is
/// monotone; a rendered line nothing matches (the body of a `range`, text from `include`) is
/// charged to the template line after the last match, which holds the action that made it.
pub(super) fn align_lines(template: &str, rendered: &str) -> Vec<usize> {
    const WINDOW: usize = 64;
    let template: Vec<&str> = template.split('\n').collect();
    let mut map = Vec::new();
    let mut next = 0;
    for line in rendered.split('\n') {
        if line.trim().is_empty() {
            // Blank lines are everywhere: only the one right here counts.
            if template.get(next).is_some_and(|t| t.trim().is_empty()) {
                map.push(next);
                next += 1;
            } else {
                map.push(next.min(template.len().saturating_sub(1)));
            }
            continue;
        }
        let end = (next + WINDOW).min(template.len());
        let found = (next..end).find(|&k| line_matches(template[k], line));
        match found {
            Some(k) => {
                map.push(k);
                next = k + 1;
            }
            None => map.push(next.min(template.len().saturating_sub(1))),
        }
    }
    map
}

fn line_matches(template: &str, rendered: &str) -> bool {
    match template.find("{{") {
        None => template.trim_end() == rendered.trim_end(),
        Some(action) => {
            let prefix = &template[..action];
            !prefix.trim().is_empty() && rendered.starts_with(prefix)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_lines_map_back_to_their_template_lines() {
        let template = "releases:\n{{ range .Values.apps }}\n- name: {{ . }}\n  chart: ./c\n{{ end }}\n- name: last\n";
        let rendered = "releases:\n\n- name: a\n  chart: ./c\n\n- name: b\n  chart: ./c\n\n- name: last\n";
        let map = align_lines(template, rendered);
        assert_eq!(map[0], 0);
        assert_eq!(map[2], 2, "`- name: a` comes from `- name: {{{{ . }}}}`");
        assert_eq!(map[3], 3);
        assert_eq!(map[8], 5, "`- name: last` is found again after the loop");
    }

    #[test]
    fn locations_name_the_original_file_and_line() {
        let original = SourceFile::new(
            "/x/helmfile.yaml",
            "repositories: []\n---\nreleases:\n- name: {{ .Values.n }}\n  chart: ./c\n",
        );
        let mut sources = Sources::default();
        sources.add(&original, 1, "repositories: []", "repositories: []");
        let template = "releases:\n- name: {{ .Values.n }}\n  chart: ./c\n";
        let rendered = "releases:\n- name: web\n  chart: ./c\n";
        let base = sources.add(&original, 3, template, rendered);
        let chart = base + rendered.find("./c").unwrap();
        let location = sources.location(Span {
            start: chart,
            end: chart + 3,
        });
        assert_eq!((location.line, location.column), (5, 10));
        let name = base + rendered.find("web").unwrap();
        let location = sources.location(Span {
            start: name,
            end: name + 3,
        });
        assert_eq!((location.line, location.column), (4, 1));
        assert_eq!(location.line_text, "- name: {{ .Values.n }}");
        assert_eq!(
            sources.rendered_line(Span { start: name, end: name }).as_deref(),
            Some("- name: web")
        );
    }
}
