//! YAML text → Go values, as `sigs.k8s.io/yaml.Unmarshal` into `interface{}` produces them.
//!
//! Two steps, like Go: go-yaml v2 decodes into `map[interface{}]interface{}` with YAML 1.1
//! resolution ([`super::resolve`]), anchors, aliases and `<<` merges; then the JSON round trip
//! turns keys into strings and every number into `float64`. saphyr-parser supplies the events;
//! everything that decides a value follows go-yaml v2 `decode.go` and sigs.k8s.io/yaml `yaml.go`.

use std::collections::HashMap;
use std::sync::Arc;

use base64::Engine as _;
use saphyr_parser::{Event, Parser, ScalarStyle, Span};

use super::resolve::{Resolved, resolve_plain};
use super::{Shape, YamlError};
use crate::{ListType, Map, MapRef, MapType, Value};

/// Nesting limit. go-yaml v2 allows 10 000 levels (`max_flow_level`, `max_indents`); helmfire
/// stops at 2 000 so that the decoded value can still be dropped on a default 2 MiB thread
/// stack. (saphyr itself stops flow collections at 256 levels.)
const MAX_DEPTH: usize = 2_000;

const TAG_PREFIX: &str = "tag:yaml.org,2002:";

#[derive(Debug, PartialEq)]
pub(super) enum Node {
    Scalar {
        value: String,
        plain: bool,
        tag: Option<String>,
    },
    /// Children; `flow` for `[...]` sequences.
    Sequence(Vec<usize>, bool),
    /// Children alternate key, value; `flow` for `{...}` mappings.
    Mapping(Vec<usize>, bool),
    Alias {
        name: String,
        target: usize,
    },
}

/// One parsed document: the node arena and the root.
#[derive(Debug, PartialEq)]
pub(super) struct Document {
    pub(super) nodes: Vec<Node>,
    pub(super) root: usize,
}

/// A value as go-yaml v2 hands it to sigs.k8s.io/yaml (before the JSON round trip).
#[derive(Clone, Debug)]
enum Raw {
    Nil,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    /// Shared with the decoded [`Value`], so the text is copied once.
    Str(Arc<str>),
    /// A `!!binary` scalar: Go keeps the decoded bytes in a `string`, which may not be UTF-8.
    Binary(Vec<u8>),
    Seq(Vec<Raw>),
    Map(Vec<(Raw, Raw)>),
}

/// Identity of a Go map key (`==` on interface values), for hashing.
#[derive(Hash, PartialEq, Eq)]
enum KeyId {
    Nil,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(u64),
    Str(Vec<u8>),
}

fn key_id(key: &Raw) -> Option<KeyId> {
    Some(match key {
        Raw::Nil => KeyId::Nil,
        Raw::Bool(b) => KeyId::Bool(*b),
        Raw::Int(i) => KeyId::Int(*i),
        Raw::Uint(u) => KeyId::Uint(*u),
        // NaN never equals itself, so every NaN key is a new entry, as in Go.
        Raw::Float(f) if f.is_nan() => return None,
        Raw::Float(f) => KeyId::Float(if *f == 0.0 { 0 } else { f.to_bits() }),
        Raw::Str(s) => KeyId::Str(s.as_bytes().to_vec()),
        Raw::Binary(b) => KeyId::Str(b.clone()),
        Raw::Seq(_) | Raw::Map(_) => return None,
    })
}

/// Go `==` on two map keys.
fn same_key(a: &Raw, b: &Raw) -> bool {
    match (a, b) {
        (Raw::Nil, Raw::Nil) => true,
        (Raw::Bool(x), Raw::Bool(y)) => x == y,
        (Raw::Int(x), Raw::Int(y)) => x == y,
        (Raw::Uint(x), Raw::Uint(y)) => x == y,
        (Raw::Float(x), Raw::Float(y)) => x == y,
        (Raw::Str(x), Raw::Str(y)) => x == y,
        (Raw::Binary(x), Raw::Binary(y)) => x == y,
        (Raw::Str(x), Raw::Binary(y)) | (Raw::Binary(y), Raw::Str(x)) => x.as_bytes() == y,
        _ => false,
    }
}

/// Maps up to this size find duplicate keys by scanning; bigger ones build a hash index.
const SCAN_LIMIT: usize = 16;

/// A Go map being filled: entries in insertion order plus, for big maps, a key index.
#[derive(Default)]
struct RawMap {
    entries: Vec<(Raw, Raw)>,
    index: HashMap<KeyId, usize>,
}

impl RawMap {
    fn set(&mut self, key: Raw, value: Raw) {
        if self.entries.len() < SCAN_LIMIT {
            match self.entries.iter_mut().find(|(k, _)| same_key(k, &key)) {
                Some(slot) => slot.1 = value,
                None => {
                    self.entries.push((key, value));
                    if self.entries.len() == SCAN_LIMIT {
                        self.build_index();
                    }
                }
            }
            return;
        }
        self.set_indexed(key, value);
    }

    fn build_index(&mut self) {
        for (slot, (key, _)) in self.entries.iter().enumerate() {
            if let Some(id) = key_id(key) {
                self.index.entry(id).or_insert(slot);
            }
        }
    }

    fn set_indexed(&mut self, key: Raw, value: Raw) {
        match key_id(&key) {
            Some(id) => match self.index.get(&id) {
                Some(&slot) => self.entries[slot].1 = value,
                None => {
                    self.index.insert(id, self.entries.len());
                    self.entries.push((key, value));
                }
            },
            None => self.entries.push((key, value)),
        }
    }
}

fn error(message: impl Into<String>, span: Option<&Span>) -> YamlError {
    YamlError {
        message: message.into(),
        line: span.map(|s| s.start.line()),
        column: span.map(|s| s.start.col() + 1),
    }
}

/// How libyaml reports a problem's line (go-yaml v2 `parser.fail`): scanner errors print the
/// 0-based line of the problem plus one, parser errors the 0-based line itself, and either is
/// left out when the 0-based line is 0.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Scanner,
    Parser,
    /// A scanner error found at the end of the input.
    ScannerAtEnd,
}

/// saphyr's wording → libyaml's problem text and kind.
const PROBLEMS: &[(&str, &str, Kind)] = &[
    (
        "mapping values are not allowed",
        "mapping values are not allowed in this context",
        Kind::Scanner,
    ),
    (
        "mapping keys are not allowed",
        "mapping keys are not allowed in this context",
        Kind::Scanner,
    ),
    (
        "block sequence entries are not allowed",
        "block sequence entries are not allowed in this context",
        Kind::Scanner,
    ),
    (
        "unexpected character",
        "found character that cannot start any token",
        Kind::Scanner,
    ),
    (
        "found unknown escape character",
        "found unknown escape character",
        Kind::Scanner,
    ),
    (
        "did not find expected hexadecimal number",
        "did not find expected hexdecimal number",
        Kind::Scanner,
    ),
    (
        "invalid Unicode character escape code",
        "found invalid Unicode character escape code",
        Kind::Scanner,
    ),
    (
        "found unexpected end of stream",
        "found unexpected end of stream",
        Kind::ScannerAtEnd,
    ),
    ("unexpected eof", "found unexpected end of stream", Kind::ScannerAtEnd),
    (
        "found unexpected document indicator",
        "found unexpected document indicator",
        Kind::Scanner,
    ),
    ("simple key expect ':'", "could not find expected ':'", Kind::Scanner),
    (
        "did not find expected comment or line break",
        "did not find expected comment or line break",
        Kind::Scanner,
    ),
    (
        "found an indentation indicator equal to 0",
        "found an indentation indicator equal to 0",
        Kind::Scanner,
    ),
    (
        "did not find expected alphabetic or numeric character",
        "did not find expected alphabetic or numeric character",
        Kind::Scanner,
    ),
    ("tab", "found character that cannot start any token", Kind::Scanner),
    (
        "did not find expected '-' indicator",
        "did not find expected '-' indicator",
        Kind::Parser,
    ),
    ("did not find expected key", "did not find expected key", Kind::Parser),
    (
        "did not find expected ',' or '}'",
        "did not find expected ',' or '}'",
        Kind::Parser,
    ),
    ("expected ',' or ']'", "did not find expected ',' or ']'", Kind::Parser),
    (
        "did not find expected node content",
        "did not find expected node content",
        Kind::Parser,
    ),
    ("misplaced bracket", "did not find expected node content", Kind::Parser),
    ("document start", "did not find expected <document start>", Kind::Parser),
    ("document-start", "did not find expected <document start>", Kind::Parser),
    (
        "invalid indentation in quoted scalar",
        "found unexpected end of stream",
        Kind::ScannerAtEnd,
    ),
    ("invalid indentation", "did not find expected key", Kind::Parser),
    (
        "invalid trailing content after double-quoted scalar",
        "did not find expected key",
        Kind::Parser,
    ),
    (
        "illegal placement of ':' indicator",
        "did not find expected ',' or ']'",
        Kind::Parser,
    ),
    ("recursion limit exceeded", "exceeded max depth of 256", Kind::Scanner),
];

fn located(problem: &str, go_line: Option<usize>, line: usize, column: usize) -> YamlError {
    let prefix = go_line.map_or(String::new(), |l| format!("line {l}: "));
    YamlError {
        message: format!("yaml: {prefix}{problem}"),
        line: Some(line),
        column: Some(column),
    }
}

/// libyaml's error for a block scalar line indented less than the scalar's leading empty lines
/// (saphyr: "wrongly indented line in block scalar" at byte `at`). libyaml takes the deepest empty
/// line as the indentation, so the scalar ends before that line and the parser then meets a node
/// where the scalar's parent wants its next key or `-`, or, after a root scalar, a `---` (which a
/// single-document read does not need: it stops after the scalar).
fn block_scalar_end_problem(text: &str, at: usize) -> Option<&'static str> {
    let indent_of = |line: &str| line.len() - line.trim_start_matches(' ').len();
    let is_blank = |line: &str| {
        let t = line.trim_start_matches(' ');
        t.is_empty() || t.starts_with('#')
    };
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    // The header is the nearest line above that is not empty.
    let mut above = text[..line_start.saturating_sub(1)].rsplit('\n');
    let header = above.by_ref().find(|line| !line.trim_start_matches(' ').is_empty())?;
    let indicator = header.rfind(['|', '>'])?;
    // What precedes the indicator, without a tag or anchor on the scalar.
    let mut before = header[..indicator].trim_end();
    while let Some(last) = before.rsplit(' ').next().filter(|w| w.starts_with(['!', '&'])) {
        before = before[..before.len() - last.len()].trim_end();
    }
    if before.ends_with(':') {
        return Some("did not find expected key");
    }
    if matches!(before.trim(), "" | "---") {
        // The root scalar ends the first document, and a second one would need a `---`.
        return Some("did not find expected <document start>");
    }
    let dash = before.trim_start_matches(' ');
    if dash != "-" && !dash.ends_with(" -") {
        return None;
    }
    // A `-` at its parent key's column is an indentless sequence: it ends quietly and the mapping
    // around it reports the missing key.
    let column = before.len() - 1;
    for line in above.filter(|line| !is_blank(line)) {
        let indent = indent_of(line);
        if indent < column {
            break;
        }
        let content = line.trim_start_matches(' ');
        if indent == column && !(content == "-" || content.starts_with("- ")) {
            return Some("did not find expected key");
        }
    }
    Some("did not find expected '-' indicator")
}

/// Converts saphyr's errors to go-yaml's `yaml: line N: <problem>` form.
fn scan_error(text: &str, err: &saphyr_parser::ScanError) -> YamlError {
    let mark = err.marker();
    let info = err.info();
    if info.contains("unknown anchor") {
        let name = anchor_name_at(&CharIndex::new(text), mark.index(), '*');
        return YamlError {
            message: format!("yaml: unknown anchor '{name}' referenced"),
            line: Some(mark.line()),
            column: Some(mark.col() + 1),
        };
    }
    let wrongly_indented = info
        .contains("wrongly indented line in block scalar")
        .then(|| block_scalar_end_problem(text, CharIndex::new(text).byte_offset(mark.index())))
        .flatten();
    let (problem, kind) = PROBLEMS
        .iter()
        .find(|(needle, _, _)| info.contains(needle))
        .map(|(_, go, kind)| (*go, *kind))
        .or(wrongly_indented.map(|problem| (problem, Kind::Parser)))
        // libyaml words its problems without saphyr's "while parsing …, " context.
        .unwrap_or_else(|| (info.rsplit(", ").next().unwrap_or(info), Kind::Scanner));
    // Inside a flow collection libyaml names the bracket that is actually open.
    let problem = match problem {
        "did not find expected ',' or '}'" | "did not find expected ',' or ']'" => {
            match innermost_open_bracket(&text[..CharIndex::new(text).byte_offset(mark.index())]) {
                Some('[') => "did not find expected ',' or ']'",
                Some('{') => "did not find expected ',' or '}'",
                _ => problem,
            }
        }
        other => other,
    };
    // saphyr lines are 1-based: the 0-based line is one less. libyaml also counts NEL, LS
    // and PS as line breaks.
    let before = &text[..CharIndex::new(text).byte_offset(mark.index())];
    let zero_based = match kind {
        Kind::ScannerAtEnd => text.matches('\n').count() + text.matches(YAML_1_1_BREAKS).count(),
        _ => mark.line().saturating_sub(1) + before.matches(YAML_1_1_BREAKS).count(),
    };
    let go_line = (zero_based != 0).then_some(match kind {
        Kind::Parser => zero_based,
        Kind::Scanner | Kind::ScannerAtEnd => zero_based + 1,
    });
    located(problem, go_line, mark.line(), mark.col() + 1)
}

/// Line breaks of YAML 1.1 that YAML 1.2 (and saphyr) read as content: NEL, LS, PS.
const YAML_1_1_BREAKS: [char; 3] = ['\u{85}', '\u{2028}', '\u{2029}'];

/// libyaml's one-character escapes in a double-quoted scalar (the character after `\\`).
pub(super) fn simple_escape(escape: char) -> Option<char> {
    Some(match escape {
        '0' => '\0',
        'a' => '\u{7}',
        'b' => '\u{8}',
        't' | '\t' => '\t',
        'n' => '\n',
        'v' => '\u{b}',
        'f' => '\u{c}',
        'r' => '\r',
        'e' => '\u{1b}',
        ' ' => ' ',
        '"' => '"',
        '/' => '/',
        '\\' => '\\',
        'N' => '\u{85}',
        '_' => '\u{a0}',
        'L' => '\u{2028}',
        'P' => '\u{2029}',
        _ => return None,
    })
}

/// The hex digits after a `\\x`, `\\u` or `\\U` escape.
pub(super) fn hex_escape_len(escape: char) -> Option<usize> {
    match escape {
        'x' => Some(2),
        'u' => Some(4),
        'U' => Some(8),
        _ => None,
    }
}

/// A quoted scalar as libyaml's `yaml_parser_scan_flow_scalar` reads it from `raw` (quotes
/// included), for the scalars whose raw text holds a YAML 1.1 line break, where saphyr's
/// reading differs. `None` when `raw` is not a complete quoted scalar.
fn libyaml_quoted(raw: &str, quote: char) -> Option<String> {
    let chars: Vec<char> = raw.chars().collect();
    let single = quote == '\'';
    if chars.first() != Some(&quote) {
        return None;
    }
    let is_blank = |c: char| c == ' ' || c == '\t';
    let is_break = |c: char| matches!(c, '\r' | '\n') || YAML_1_1_BREAKS.contains(&c);
    let mut i = 1;
    let mut out = String::new();
    // `read_line`: CR LF, CR, LF and NEL read as "\n"; LS and PS as themselves.
    let read_line = |i: &mut usize, into: &mut String| {
        let c = chars[*i];
        if c == '\r' && chars.get(*i + 1) == Some(&'\n') {
            *i += 2;
            into.push('\n');
        } else {
            *i += 1;
            into.push(if matches!(c, '\r' | '\n' | '\u{85}') { '\n' } else { c });
        }
    };
    loop {
        let mut leading_blanks = false;
        while let Some(&c) = chars.get(i) {
            if is_blank(c) || is_break(c) {
                break;
            }
            if single && c == '\'' && chars.get(i + 1) == Some(&'\'') {
                out.push('\'');
                i += 2;
            } else if c == quote {
                break;
            } else if !single && c == '\\' && chars.get(i + 1).is_some_and(|&n| is_break(n)) {
                i += 1;
                let mut ignored = String::new();
                read_line(&mut i, &mut ignored);
                leading_blanks = true;
                break;
            } else if !single && c == '\\' {
                let escape = *chars.get(i + 1)?;
                i += 2;
                let simple = simple_escape(escape);
                match simple {
                    Some(c) => out.push(c),
                    None => {
                        let length = hex_escape_len(escape)?;
                        let digits: String = chars.get(i..i + length)?.iter().collect();
                        let code = u32::from_str_radix(&digits, 16).ok()?;
                        out.push(char::from_u32(code)?);
                        i += length;
                    }
                }
            } else {
                out.push(c);
                i += 1;
            }
        }
        let c = *chars.get(i)?;
        if c == quote {
            return Some(out);
        }
        let mut whitespace = String::new();
        let mut leading_break = String::new();
        let mut trailing_breaks = String::new();
        while let Some(&c) = chars.get(i) {
            if is_blank(c) {
                if !leading_blanks {
                    whitespace.push(c);
                }
                i += 1;
            } else if is_break(c) {
                if !leading_blanks {
                    whitespace.clear();
                    read_line(&mut i, &mut leading_break);
                    leading_blanks = true;
                } else {
                    read_line(&mut i, &mut trailing_breaks);
                }
            } else {
                break;
            }
        }
        if leading_blanks {
            if leading_break.starts_with('\n') {
                if trailing_breaks.is_empty() {
                    out.push(' ');
                } else {
                    out.push_str(&trailing_breaks);
                }
            } else {
                out.push_str(&leading_break);
                out.push_str(&trailing_breaks);
            }
        } else {
            out.push_str(&whitespace);
        }
    }
}

/// The flow bracket still open at the end of `text` (quotes and comments skipped roughly).
fn innermost_open_bracket(text: &str) -> Option<char> {
    let mut open = Vec::new();
    let mut quote: Option<char> = None;
    let mut comment = false;
    let mut previous = ' ';
    for c in text.chars() {
        match (quote, c) {
            (_, '\n') if comment => comment = false,
            _ if comment => {}
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '#') if previous.is_whitespace() => comment = true,
            (None, '[' | '{') => open.push(c),
            (None, ']' | '}') => {
                open.pop();
            }
            _ => {}
        }
        previous = c;
    }
    open.pop()
}

/// libyaml's reader rejects characters outside YAML's printable set before parsing.
fn first_unprintable(text: &str) -> Option<(usize, YamlError)> {
    let (offset, _) = text.char_indices().find(|&(_, c)| !is_yaml_printable(c))?;
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Some((
        offset,
        YamlError {
            message: "yaml: control characters are not allowed".to_string(),
            line: Some(before.matches('\n').count() + 1),
            column: Some(before[line_start..].chars().count() + 1),
        },
    ))
}

/// The characters libyaml's reader accepts.
pub(crate) fn is_yaml_printable(c: char) -> bool {
    matches!(c as u32,
        0x09 | 0x0A | 0x0D | 0x20..=0x7E | 0x85 | 0xA0..=0xD7FF | 0xE000..=0xFFFD | 0x10000..=0x10FFFF)
}

/// A directive other than `%YAML`/`%TAG` is a libyaml scanner error; saphyr accepts it.
fn check_directives(text: &str) -> Result<(), YamlError> {
    for (index, line) in text.lines().enumerate() {
        let Some(rest) = line.strip_prefix('%') else {
            if line.starts_with("---") || !(line.trim().is_empty() || line.starts_with('#')) {
                return Ok(());
            }
            continue;
        };
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        if name != "YAML" && name != "TAG" {
            let problem = if name.is_empty() {
                "could not find expected directive name"
            } else {
                "found unknown directive name"
            };
            let go_line = (index != 0).then_some(index + 1);
            return Err(located(problem, go_line, index + 1, 1));
        }
    }
    Ok(())
}

/// Maps saphyr's character indexes to byte offsets in constant time.
struct CharIndex<'t> {
    text: &'t str,
    /// Byte offset of every character; empty when the text is ASCII (offset == index).
    offsets: Vec<u32>,
}

impl<'t> CharIndex<'t> {
    fn new(text: &'t str) -> CharIndex<'t> {
        let offsets = if text.is_ascii() {
            Vec::new()
        } else {
            text.char_indices().map(|(i, _)| i as u32).collect()
        };
        CharIndex { text, offsets }
    }

    fn byte_offset(&self, index: usize) -> usize {
        if self.offsets.is_empty() {
            index.min(self.text.len())
        } else {
            self.offsets.get(index).map_or(self.text.len(), |&o| o as usize)
        }
    }

    fn char_at(&self, index: usize) -> Option<char> {
        self.text[self.byte_offset(index)..].chars().next()
    }
}

/// saphyr complaints about what follows the first document, which go-yaml never reads.
const BEYOND_FIRST_DOCUMENT: &[&str] = &[
    "did not find expected <document start>",
    "missing explicit document end marker before directive",
    "invalid content after document end marker",
];

/// The first document as go-yaml v2's `Unmarshal` sees it: it stops after one document, so
/// problems further on (content after an implicit end, a directive) are no errors there.
fn parse_first_document(text: &str) -> Result<Vec<Document>, YamlError> {
    match super::block::parse(text) {
        Some(documents) => Ok(documents),
        None => parse_first_document_fully(text),
    }
}

/// [`parse_first_document`] without the block-subset fast path.
pub(super) fn parse_first_document_fully(text: &str) -> Result<Vec<Document>, YamlError> {
    match parse_tolerant(text) {
        Err(e) if BEYOND_FIRST_DOCUMENT.iter().any(|m| e.message.ends_with(m)) => {
            let Some(line) = e.line.filter(|&l| l > 1) else {
                return Err(e);
            };
            let cut = text
                .match_indices('\n')
                .nth(line - 2)
                .map_or(text.len(), |(i, _)| i + 1);
            let documents = parse_tolerant(&text[..cut])?;
            if documents.is_empty() { Err(e) } else { Ok(documents) }
        }
        other => other,
    }
}

/// The anchor or alias name written after `sigil` at or before character `index`.
fn anchor_name_at(chars: &CharIndex<'_>, index: usize, sigil: char) -> String {
    let text = chars.text;
    let start = chars.byte_offset(index);
    let from = match text[start..].starts_with(sigil) {
        true => start,
        false => text[..start].rfind(sigil).unwrap_or(start),
    };
    text[from..]
        .chars()
        .skip(1)
        .take_while(|c| !c.is_whitespace() && !matches!(c, ',' | '[' | ']' | '{' | '}'))
        .collect()
}

/// A rewrite of the text that makes saphyr read what libyaml reads, where YAML 1.2 is
/// stricter than the libyaml tokenizer: a tab after `:` separates like a space, `#` right
/// after a flow indicator or a quoted scalar starts a comment, and a quoted scalar's
/// continuation lines need no indentation (their leading spaces are folded away, so adding
/// some changes nothing).
struct Fix(String);

/// Indentation added to the continuation lines of a quoted scalar.
const QUOTED_INDENT: &str = "                                                                ";

fn libyaml_fix(text: &str, info: &str, offset: usize) -> Option<Fix> {
    let window = offset.saturating_sub(2)..(offset + 2).min(text.len());
    let near = text.get(window.clone())?;
    let edit = |at: usize, remove: usize, insert: &str| {
        let mut fixed = text.to_string();
        fixed.replace_range(at..at + remove, insert);
        Fix(fixed)
    };
    if info.contains("must be followed by a valid YAML whitespace") {
        let tab = near.find(":\t")? + window.start + 1;
        return Some(edit(tab, 1, " "));
    }
    if info.contains("invalid indentation in quoted scalar") {
        return indent_quoted_scalar(text, offset);
    }
    if info.contains("invalid indentation in flow construct") || info == "invalid indentation" {
        return indent_flow_collection(text, offset);
    }
    if info.contains("comments must be separated from other tokens by whitespace") {
        let hash = near.find('#')? + window.start;
        return Some(edit(hash, 0, " "));
    }
    None
}

/// libyaml does not check indentation inside flow collections; saphyr wants their lines
/// indented deeper than the block that holds them (`key: [` … `]` with the entries at the key's
/// column). Finds the outermost flow collection around `offset` and indents each of its
/// continuation lines to one column past the line that opened it — whitespace between flow
/// tokens means nothing, so the document's content is unchanged.
fn indent_flow_collection(text: &str, offset: usize) -> Option<Fix> {
    let (open, close) = outermost_flow_around(text, offset)?;
    let open_line = text[..open].rfind('\n').map_or(0, |i| i + 1);
    let base = text[open_line..].bytes().take_while(|b| *b == b' ').count();
    let mut fixed = String::with_capacity(text.len() + 256);
    let mut changed = false;
    let mut line_start = open_line;
    fixed.push_str(&text[..open_line]);
    for line in text[open_line..].split_inclusive('\n') {
        let indent = line.bytes().take_while(|b| *b == b' ').count();
        let content = line.trim_start_matches(' ');
        if line_start > open && line_start <= close && indent <= base && !content.trim().is_empty() {
            fixed.extend(std::iter::repeat_n(' ', base + 1 - indent));
            changed = true;
        }
        fixed.push_str(line);
        line_start += line.len();
    }
    changed.then_some(Fix(fixed))
}

/// Byte offsets of the opening and closing bracket of the outermost flow collection that
/// contains `offset` (the close is the end of the text when it is never closed). Brackets
/// count only where a node can start; quoted scalars, comments and block scalars are skipped.
fn outermost_flow_around(text: &str, offset: usize) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    let mut open_at = 0usize;
    let mut quote: Option<char> = None;
    let mut comment = false;
    // The last significant character before the current one ('\n' at a line start).
    let mut previous = '\n';
    let mut line_indent = 0usize;
    let mut at_line_start = true;
    // Inside a block scalar: the indentation of the line that introduced it.
    let mut block_scalar: Option<usize> = None;
    let mut plain = false;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if at_line_start {
            let indent = text[i..].bytes().take_while(|b| *b == b' ').count();
            let blank = text[i + indent..].starts_with('\n') || i + indent == text.len();
            if let Some(parent) = block_scalar {
                if blank || indent > parent {
                    let end = text[i..].find('\n').map_or(text.len(), |n| i + n);
                    while chars.peek().is_some_and(|(j, _)| *j < end) {
                        chars.next();
                    }
                    continue;
                }
                block_scalar = None;
            }
            line_indent = indent;
            at_line_start = false;
        }
        if plain && quote.is_none() && !comment {
            // A block plain scalar runs to the end of the line, a ": " or a " #".
            match c {
                '\n' => plain = false,
                ':' if text[i + 1..].starts_with([' ', '\n']) || i + 1 == text.len() => {
                    plain = false;
                    previous = ':';
                    continue;
                }
                '#' if previous == ' ' => {
                    plain = false;
                    comment = true;
                    continue;
                }
                ' ' | '\t' => {
                    previous = ' ';
                    continue;
                }
                _ => {
                    previous = c;
                    continue;
                }
            }
        }
        match c {
            '\n' => {
                comment = false;
                at_line_start = true;
                if quote.is_none() && depth == 0 {
                    previous = '\n';
                }
                continue;
            }
            _ if comment => continue,
            '\\' if quote == Some('"') => {
                chars.next();
                continue;
            }
            '\'' if quote == Some('\'') => {
                if chars.peek().is_some_and(|(_, n)| *n == '\'') {
                    chars.next();
                } else {
                    quote = None;
                }
            }
            '"' if quote == Some('"') => quote = None,
            _ if quote.is_some() => continue,
            ' ' | '\t' => {
                if previous != '\n' {
                    previous = ' ';
                }
                continue;
            }
            '#' if previous == ' ' || previous == '\n' => comment = true,
            '"' | '\'' if node_start(previous, depth) => quote = Some(c),
            '[' | '{' if depth > 0 || node_start(previous, depth) => {
                if depth == 0 {
                    open_at = i;
                }
                depth += 1;
            }
            ']' | '}' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    if open_at <= offset && offset <= i {
                        return Some((open_at, i));
                    }
                    if open_at > offset {
                        return None;
                    }
                }
            }
            '|' | '>' if depth == 0 && node_start(previous, depth) => block_scalar = Some(line_indent),
            '&' | '*' | '!' | '-' | '?' | ':' | ',' | ']' | '}' => {}
            _ if depth == 0 && node_start(previous, depth) => plain = true,
            _ => {}
        }
        previous = c;
    }
    (depth > 0 && open_at <= offset).then_some((open_at, text.len()))
}

/// Whether a node can start after `previous` (the last significant character, '\n' at a line
/// start, ' ' after whitespace that followed one).
fn node_start(previous: char, depth: usize) -> bool {
    matches!(previous, '\n' | ' ' | ':' | '-' | '?') || (depth > 0 && matches!(previous, '[' | '{' | ','))
}

/// Indents every continuation line of the quoted scalar that starts at `offset`, up to its
/// closing quote (or the end of the text, as libyaml would scan). Line numbers of later
/// problems can move down by one where content follows the closing quote.
fn indent_quoted_scalar(text: &str, offset: usize) -> Option<Fix> {
    let quote = text.get(offset..)?.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let mut fixed = String::with_capacity(text.len() + 256);
    fixed.push_str(&text[..=offset]);
    let mut rest = text[offset + 1..].char_indices();
    let mut end = text.len();
    while let Some((i, c)) = rest.next() {
        let at = offset + 1 + i;
        match c {
            '\\' if quote == '"' => {
                fixed.push(c);
                if let Some((_, next)) = rest.next() {
                    fixed.push(next);
                }
            }
            '\'' if quote == '\'' && text[at + 1..].starts_with('\'') => {
                fixed.push_str("''");
                rest.next();
            }
            c if c == quote => {
                end = at;
                break;
            }
            '\n' => {
                fixed.push('\n');
                fixed.push_str(QUOTED_INDENT);
            }
            c => fixed.push(c),
        }
    }
    if end < text.len() {
        // Keep what follows the closing quote at its own column, on a line of its own, so
        // that the indentation added above does not move it into the scalar's block.
        fixed.push(quote);
        let after = end + quote.len_utf8();
        let line_start = text[..end].rfind('\n').map_or(0, |i| i + 1);
        let column = text[line_start..after].chars().count();
        if !text[after..].starts_with(['\n', '\r']) && !text[after..].is_empty() {
            fixed.push('\n');
            fixed.extend(std::iter::repeat_n(' ', column));
        }
        fixed.push_str(&text[after..]);
    }
    (fixed != text).then_some(Fix(fixed))
}

/// [`parse_documents`], retrying after each [`Fix`] (bounded; each fix is at a later error).
fn parse_tolerant(text: &str) -> Result<Vec<Document>, YamlError> {
    let mut owned: Option<String> = None;
    for _ in 0..64 {
        let current = owned.as_deref().unwrap_or(text);
        match parse_documents(current, true) {
            Ok(documents) => return Ok(documents),
            Err((error, None)) => return Err(error),
            Err((_, Some(Fix(fixed)))) => owned = Some(fixed),
        }
    }
    parse_documents(owned.as_deref().unwrap_or(text), true).map_err(|(error, _)| error)
}

type ParseResult = Result<Vec<Document>, (YamlError, Option<Fix>)>;

/// Parses every document in `text` (saphyr events → node arenas).
/// Whether saphyr ended the block scalar `value`, which starts at byte `start` and runs to the end
/// of `text`, with a line break that libyaml does not add. At the end of the input, saphyr counts
/// a last line without a line break as ending in one when it is indented at least as deep as the
/// content (`scan_block_scalar`'s "consider there is a newline"), and gives a keep-chomped scalar
/// with no content and no empty lines one line break. libyaml adds neither.
fn saphyr_added_final_break(text: &str, start: usize, value: &str) -> bool {
    let last_line = text.rsplit(['\n', '\r']).next().unwrap_or("");
    if last_line.is_empty() || !value.ends_with('\n') {
        return false;
    }
    let line_start = text[..start].rfind(['\n', '\r']).map_or(0, |i| i + 1);
    if value.bytes().all(|b| b == b'\n') {
        // No content: `start` is the header; only its own line break may follow it.
        return text[start..].matches(['\n', '\r']).count() == 1;
    }
    // With content, saphyr's span starts at the first content character, whose column is the
    // content indentation.
    last_line.len() >= (start - line_start).max(1)
}

fn parse_documents(text: &str, first_only: bool) -> ParseResult {
    let mut fix = None;
    let result = parse_documents_noting_fix(text, first_only, &mut fix);
    let Some((bad_offset, control_error)) = first_unprintable(text) else {
        return result.map_err(|error| (error, fix));
    };
    // libyaml decodes its input in 512-byte chunks and checks each chunk as it decodes it:
    // a syntax error before the chunk holding the bad character is reported first.
    let chunk_start = bad_offset / 512 * 512;
    match result {
        Err(error)
            if error
                .line
                .zip(error.column)
                .is_some_and(|(line, column)| offset_of(text, line, column) + 4 < chunk_start) =>
        {
            Err((error, fix))
        }
        _ => Err((control_error, None)),
    }
}

/// Byte offset of a 1-based line and column.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let line_start = if line <= 1 {
        0
    } else {
        text.match_indices('\n')
            .nth(line - 2)
            .map_or(text.len(), |(i, _)| i + 1)
    };
    text[line_start..]
        .char_indices()
        .nth(column.saturating_sub(1))
        .map_or(text.len(), |(i, _)| line_start + i)
}

fn parse_documents_noting_fix(text: &str, first_only: bool, fix: &mut Option<Fix>) -> Result<Vec<Document>, YamlError> {
    check_directives(text)?;
    let chars = CharIndex::new(text);
    let mut parser = Parser::new_from_str(text);
    let mut documents = Vec::new();
    let mut nodes: Vec<Node> = Vec::new();
    let mut anchors: HashMap<usize, usize> = HashMap::new();
    let mut anchor_names: HashMap<usize, String> = HashMap::new();
    // Indexes of the collections still open, innermost last.
    let mut stack: Vec<usize> = Vec::new();
    let mut root: Option<usize> = None;
    // The first document's root node is complete as libyaml would see it: a collection whose
    // end has been read, or a scalar that cannot continue on the next line (quoted, block, or
    // plain and ended by a comment).
    let mut root_settled = false;

    for item in parser.by_ref() {
        let (event, span) = match item {
            Ok(item) => item,
            // go-yaml's Unmarshal stops once the first document's root node is complete;
            // whatever comes after it is never read, so it cannot fail.
            Err(_) if first_only && root_settled && stack.is_empty() => {
                let root = root.take().unwrap_or_default();
                documents.push(Document {
                    nodes: std::mem::take(&mut nodes),
                    root,
                });
                return Ok(documents);
            }
            Err(e) => {
                *fix = libyaml_fix(text, e.info(), chars.byte_offset(e.marker().index()));
                // saphyr rejects a more-indented line after a commented plain scalar; libyaml
                // reads it as a new node where the open block collection expects an entry.
                if e.info().contains("comment intercepting the multiline text") {
                    let expected = match stack.last().map(|&open| &nodes[open]) {
                        Some(Node::Sequence(_, false)) => Some("did not find expected '-' indicator"),
                        Some(Node::Mapping(_, false)) => Some("did not find expected key"),
                        _ => None,
                    };
                    if let Some(problem) = expected {
                        // saphyr marks the comment; libyaml the next line's token.
                        let mark = e.marker();
                        let zero_based = mark.line();
                        return Err(located(
                            problem,
                            (zero_based != 0).then_some(zero_based),
                            mark.line(),
                            mark.col() + 1,
                        ));
                    }
                }
                return Err(scan_error(text, &e));
            }
        };
        let new_node = match event {
            Event::StreamStart | Event::Nothing => None,
            Event::StreamEnd => break,
            Event::DocumentStart(_) => {
                nodes.clear();
                anchors.clear();
                root = None;
                None
            }
            Event::DocumentEnd => {
                let doc_nodes = std::mem::take(&mut nodes);
                match root.take() {
                    Some(root) => documents.push(Document { nodes: doc_nodes, root }),
                    None => documents.push(Document {
                        nodes: vec![Node::Scalar {
                            value: String::new(),
                            plain: true,
                            tag: None,
                        }],
                        root: 0,
                    }),
                }
                if first_only {
                    return Ok(documents);
                }
                None
            }
            Event::Alias(id) => {
                let Some(&target) = anchors.get(&id) else {
                    return Err(error("yaml: unknown anchor referenced", Some(&span)));
                };
                let name = anchor_names.get(&id).cloned().unwrap_or_default();
                Some((Node::Alias { name, target }, None, false))
            }
            Event::Scalar(value, style, anchor, tag) => {
                let tag = tag.map(|t| format!("{}{}", t.handle, t.suffix));
                let quoted = match style {
                    ScalarStyle::SingleQuoted => Some('\''),
                    ScalarStyle::DoubleQuoted => Some('"'),
                    _ => None,
                };
                let raw = &text[chars.byte_offset(span.start.index())..chars.byte_offset(span.end.index())];
                let raw_breaks = raw.matches(YAML_1_1_BREAKS).count();
                let mut value = match quoted {
                    Some(quote) if raw_breaks > 0 => libyaml_quoted(raw, quote).unwrap_or_else(|| value.into_owned()),
                    _ => value.into_owned(),
                };
                // A block scalar that runs to the end of the input: saphyr and libyaml differ on
                // whether its last line has a line break to keep.
                let trimmed = text.trim_end_matches(' ');
                if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
                    && chars.byte_offset(span.end.index()) >= trimmed.len()
                    && saphyr_added_final_break(text, chars.byte_offset(span.start.index()), &value)
                {
                    value.pop();
                }
                if stack.is_empty() {
                    let end = chars.byte_offset(span.end.index());
                    let rest_of_line = text[end..].split(['\n', '\r']).next().unwrap_or("");
                    root_settled = style != ScalarStyle::Plain || rest_of_line.trim_start().starts_with('#');
                }
                let node = Node::Scalar {
                    value,
                    plain: style == ScalarStyle::Plain,
                    tag,
                };
                // A key that spans lines under YAML 1.1 line breaks is no simple key to libyaml.
                if raw_breaks > 0
                    && let Some(&parent) = stack.last()
                    && let Node::Mapping(children, flow) = &nodes[parent]
                    && children.len() % 2 == 0
                {
                    // libyaml counts the YAML 1.1 breaks before and inside the key as lines.
                    let before = &text[..chars.byte_offset(span.start.index())];
                    let zero_based =
                        span.start.line().saturating_sub(1) + before.matches(YAML_1_1_BREAKS).count() + raw_breaks;
                    let (problem, go_line) = if *flow {
                        ("did not find expected ',' or '}'", zero_based)
                    } else {
                        ("could not find expected ':'", zero_based + 1)
                    };
                    return Err(located(
                        problem,
                        (zero_based != 0).then_some(go_line),
                        span.start.line(),
                        span.start.col() + 1,
                    ));
                }
                Some((node, (anchor != 0).then_some(anchor), false))
            }
            Event::SequenceStart(anchor, _tag) => Some((
                Node::Sequence(Vec::new(), chars.char_at(span.start.index()) == Some('[')),
                (anchor != 0).then_some(anchor),
                true,
            )),
            Event::MappingStart(anchor, _tag) => Some((
                Node::Mapping(Vec::new(), chars.char_at(span.start.index()) == Some('{')),
                (anchor != 0).then_some(anchor),
                true,
            )),
            Event::SequenceEnd | Event::MappingEnd => {
                stack.pop();
                root_settled = stack.is_empty() && root.is_some();
                None
            }
        };
        if let Some((node, anchor, opens)) = new_node {
            let index = nodes.len();
            nodes.push(node);
            if let Some(anchor) = anchor {
                anchors.insert(anchor, index);
                anchor_names.insert(anchor, anchor_name_at(&chars, span.start.index(), '&'));
            }
            let empty_plain_key =
                matches!(&nodes[index], Node::Scalar { value, plain: true, tag: None, .. } if value.is_empty());
            // A block scalar indicator cannot start a token inside a flow collection in
            // libyaml; saphyr reads it as a plain scalar.
            let block_indicator =
                matches!(&nodes[index], Node::Scalar { value, plain: true, .. } if value.starts_with(['|', '>']));
            if block_indicator
                && let Some(&parent) = stack.last()
                && matches!(nodes[parent], Node::Sequence(_, true) | Node::Mapping(_, true))
            {
                let zero_based = span.start.line().saturating_sub(1);
                return Err(located(
                    "found character that cannot start any token",
                    (zero_based != 0).then_some(zero_based + 1),
                    span.start.line(),
                    span.start.col() + 1,
                ));
            }
            match stack.last() {
                Some(&parent) => match &mut nodes[parent] {
                    Node::Sequence(children, _) => children.push(index),
                    Node::Mapping(children, flow) => {
                        // libyaml has no empty implicit keys in block mappings (`: v`).
                        if !*flow
                            && children.len() % 2 == 0
                            && chars.char_at(span.start.index()) == Some(':')
                            && empty_plain_key
                        {
                            let zero_based = span.start.line().saturating_sub(1);
                            return Err(located(
                                "did not find expected key",
                                (zero_based != 0).then_some(zero_based),
                                span.start.line(),
                                span.start.col() + 1,
                            ));
                        }
                        children.push(index);
                    }
                    _ => {}
                },
                None => root = Some(index),
            }
            if opens {
                stack.push(index);
                if stack.len() > MAX_DEPTH {
                    return Err(error(
                        format!("yaml: line {}: exceeded max depth of {MAX_DEPTH}", span.start.line()),
                        Some(&span),
                    ));
                }
            }
        }
    }
    Ok(documents)
}

struct Decoder<'d> {
    nodes: &'d [Node],
    active_aliases: Vec<usize>,
    budget: super::AliasBudget,
    alias_depth: usize,
    depth: usize,
}

impl Decoder<'_> {
    /// Decodes one node, moving to a fresh stack at segment boundaries (see `value::deep`).
    fn unmarshal(&mut self, index: usize) -> Result<Raw, YamlError> {
        let depth = self.depth;
        crate::deep::segmented(depth, || self.unmarshal_here(index))
            .unwrap_or_else(|| Err(error(format!("yaml: exceeded max depth of {MAX_DEPTH}"), None)))
    }

    fn unmarshal_here(&mut self, index: usize) -> Result<Raw, YamlError> {
        if !self.budget.count(1, self.alias_depth > 0) {
            return Err(error("yaml: document contains excessive aliasing", None));
        }
        if self.depth > MAX_DEPTH {
            return Err(error(format!("yaml: exceeded max depth of {MAX_DEPTH}"), None));
        }
        let nodes = self.nodes;
        match &nodes[index] {
            Node::Alias { name, target } => {
                if self.active_aliases.contains(&index) {
                    return Err(error(format!("yaml: anchor '{name}' value contains itself"), None));
                }
                self.active_aliases.push(index);
                self.alias_depth += 1;
                self.depth += 1;
                let result = self.unmarshal(*target);
                self.depth -= 1;
                self.alias_depth -= 1;
                self.active_aliases.pop();
                result
            }
            Node::Scalar { value, plain, tag, .. } => scalar(value, *plain, tag.as_deref()),
            Node::Sequence(children, _) => {
                self.depth += 1;
                let mut items = Vec::with_capacity(children.len());
                for &child in children {
                    items.push(self.unmarshal(child)?);
                }
                self.depth -= 1;
                Ok(Raw::Seq(items))
            }
            Node::Mapping(children, _) => {
                self.depth += 1;
                let mut map = RawMap::default();
                self.mapping_into(children, &mut map)?;
                self.depth -= 1;
                Ok(Raw::Map(map.entries))
            }
        }
    }

    fn mapping_into(&mut self, children: &[usize], entries: &mut RawMap) -> Result<(), YamlError> {
        for pair in children.chunks(2) {
            let [key, value] = pair else { break };
            if self.is_merge(*key) {
                self.merge(*value, entries)?;
                continue;
            }
            let k = self.unmarshal(*key)?;
            if matches!(k, Raw::Seq(_) | Raw::Map(_)) {
                return Err(error(format!("yaml: invalid map key: {}", go_sharp_v(&k)), None));
            }
            let v = self.unmarshal(*value)?;
            entries.set(k, v);
        }
        Ok(())
    }

    fn is_merge(&self, index: usize) -> bool {
        matches!(&self.nodes[index], Node::Scalar { value, plain, tag, .. }
            if value == "<<" && (*plain || tag.as_deref() == Some("tag:yaml.org,2002:merge")))
    }

    fn kind_is_mapping(&self, index: usize) -> bool {
        matches!(self.nodes[index], Node::Mapping(..))
    }

    /// go-yaml v2 `merge`: later explicit keys win; in a sequence of maps, earlier maps win.
    fn merge(&mut self, index: usize, entries: &mut RawMap) -> Result<(), YamlError> {
        let want_map = || error("yaml: map merge requires map or sequence of maps as the value", None);
        let nodes = self.nodes;
        match &nodes[index] {
            Node::Mapping(..) => self.merge_one(index, entries),
            Node::Alias { target, .. } => {
                if !self.kind_is_mapping(*target) {
                    return Err(want_map());
                }
                self.merge_one(index, entries)
            }
            Node::Sequence(children, _) => {
                for &child in children.iter().rev() {
                    match &nodes[child] {
                        Node::Alias { target, .. } if !self.kind_is_mapping(*target) => {
                            return Err(want_map());
                        }
                        Node::Alias { .. } | Node::Mapping(..) => {}
                        _ => return Err(want_map()),
                    }
                    self.merge_one(child, entries)?;
                }
                Ok(())
            }
            Node::Scalar { .. } => Err(want_map()),
        }
    }

    /// Decodes a mapping (or an alias of one) straight into `entries`, as go-yaml does when
    /// it unmarshals a merged map into the map being built.
    fn merge_one(&mut self, index: usize, entries: &mut RawMap) -> Result<(), YamlError> {
        match self.unmarshal(index)? {
            Raw::Map(merged) => {
                for (k, v) in merged {
                    entries.set(k, v);
                }
                Ok(())
            }
            _ => Err(error(
                "yaml: map merge requires map or sequence of maps as the value",
                None,
            )),
        }
    }
}

fn short_tag(tag: &str) -> String {
    match tag.strip_prefix(TAG_PREFIX) {
        Some(rest) => format!("!!{rest}"),
        None => tag.to_string(),
    }
}

/// go-yaml v2 `decoder.scalar` into `interface{}`.
fn scalar(value: &str, plain: bool, tag: Option<&str>) -> Result<Raw, YamlError> {
    let tag = tag.map(|t| if t == "!" { "" } else { t }).unwrap_or("");
    if tag.is_empty() && !plain {
        return Ok(Raw::Str(Arc::from(value)));
    }
    if tag.is_empty() {
        return Ok(from_resolved(resolve_plain(value), value));
    }
    let short = short_tag(tag);
    match short.as_str() {
        "" => Ok(from_resolved(resolve_plain(value), value)),
        "!!str" => Ok(Raw::Str(Arc::from(value))),
        "!!binary" => {
            // Go's base64.StdEncoding.DecodeString skips CR and LF.
            let cleaned: String = value.chars().filter(|c| *c != '\n' && *c != '\r').collect();
            base64::engine::general_purpose::STANDARD
                .decode(cleaned.as_bytes())
                .map(Raw::Binary)
                .map_err(|_| error("yaml: !!binary value contains invalid base64 data", None))
        }
        "!!bool" | "!!int" | "!!float" | "!!null" | "!!timestamp" => {
            let resolved = if short == "!!timestamp" && super::resolve::parse_timestamp(value) {
                Resolved::Timestamp
            } else {
                resolve_plain(value)
            };
            let rtag = match &resolved {
                Resolved::Null => "!!null",
                Resolved::Bool(_) => "!!bool",
                Resolved::Int(_) | Resolved::Uint(_) => "!!int",
                Resolved::Float(_) => "!!float",
                Resolved::Timestamp => "!!timestamp",
                Resolved::Str => "!!str",
            };
            if rtag == short {
                return Ok(from_resolved(resolved, value));
            }
            if short == "!!float" {
                match resolved {
                    Resolved::Int(i) => return Ok(Raw::Float(i as f64)),
                    Resolved::Uint(_) => {}
                    _ => {}
                }
            }
            Err(error(
                format!("yaml: cannot decode {rtag} `{value}` as a {short}"),
                None,
            ))
        }
        // Other tags (`!!map` on a scalar, local `!foo` tags) keep the text, as go-yaml does.
        _ => Ok(Raw::Str(Arc::from(value))),
    }
}

fn from_resolved(resolved: Resolved, text: &str) -> Raw {
    match resolved {
        Resolved::Null => Raw::Nil,
        Resolved::Bool(b) => Raw::Bool(b),
        Resolved::Int(i) => Raw::Int(i),
        Resolved::Uint(u) => Raw::Uint(u),
        Resolved::Float(f) => Raw::Float(f),
        Resolved::Timestamp | Resolved::Str => Raw::Str(Arc::from(text)),
    }
}

/// Go's `%#v` for the values an error message can mention.
fn go_sharp_v(raw: &Raw) -> String {
    match raw {
        Raw::Nil => "<nil>".to_string(),
        Raw::Bool(b) => b.to_string(),
        Raw::Int(i) => i.to_string(),
        Raw::Uint(u) => format!("0x{u:x}"),
        Raw::Float(f) => crate::number::format_float(*f, 'g', -1),
        Raw::Str(s) => format!("{s:?}"),
        Raw::Binary(b) => format!("{:?}", String::from_utf8_lossy(b)),
        Raw::Seq(items) => format!(
            "[]interface {{}}{{{}}}",
            items.iter().map(go_sharp_v_element).collect::<Vec<_>>().join(", ")
        ),
        Raw::Map(entries) => {
            // fmt prints map entries sorted by key.
            let mut entries: Vec<(String, String)> = entries
                .iter()
                .map(|(k, v)| (go_sharp_v_element(k), go_sharp_v_element(v)))
                .collect();
            entries.sort();
            format!(
                "map[interface {{}}]interface {{}}{{{}}}",
                entries
                    .iter()
                    .map(|(k, v)| format!("{k}:{v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    }
}

/// `%#v` of a value held in an `interface{}` element: a nil one shows its static type.
fn go_sharp_v_element(raw: &Raw) -> String {
    match raw {
        Raw::Nil => "interface {}(nil)".to_string(),
        other => go_sharp_v(other),
    }
}

fn go_type_name(raw: &Raw) -> &'static str {
    match raw {
        Raw::Nil => "%!s(<nil>)",
        Raw::Bool(_) => "bool",
        Raw::Int(_) => "int",
        Raw::Uint(_) => "uint64",
        Raw::Float(_) => "float64",
        Raw::Str(_) | Raw::Binary(_) => "string",
        Raw::Seq(_) => "[]interface {}",
        Raw::Map(_) => "map[interface {}]interface {}",
    }
}

/// Go's `string(bytes)` seen through `encoding/json`: each invalid byte becomes U+FFFD.
pub(crate) fn go_lossy_utf8(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(valid) => {
                out.push_str(valid);
                break;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                // Go's utf8.DecodeRune consumes exactly one byte of an invalid sequence.
                out.push('\u{FFFD}');
                rest = &after[1..];
            }
        }
    }
    out
}

/// sigs.k8s.io/yaml's `float64` key spelling: `strconv.FormatFloat(f, 'g', -1, 32)` with
/// YAML's names for the special values.
pub(crate) fn format_g32(f: f64) -> String {
    match g32(f).as_str() {
        "+Inf" => ".inf".to_string(),
        "-Inf" => "-.inf".to_string(),
        "NaN" => ".nan".to_string(),
        other => other.to_string(),
    }
}

/// `strconv.FormatFloat(f, 'g', -1, 32)`.
fn g32(f: f64) -> String {
    let f = f as f32;
    if f.is_nan() {
        return "NaN".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.to_string();
    }
    let sci = format!("{:e}", f.abs());
    let (mantissa, exponent) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let exp: i32 = exponent.parse().unwrap_or(0);
    let sign = if f < 0.0 { "-" } else { "" };
    // Shortest 'g' switches to %e from exponent 6 (`eprec = 6` in strconv).
    if !(-4..6).contains(&exp) {
        let (first, rest) = digits.split_at(1);
        let dot = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let (esign, eabs) = if exp < 0 { ('-', -exp) } else { ('+', exp) };
        return format!("{sign}{first}{dot}e{esign}{eabs:02}");
    }
    let point = exp + 1;
    let n = digits.len() as i32;
    let body = if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point >= n {
        format!("{digits}{}", "0".repeat((point - n) as usize))
    } else {
        format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
    };
    format!("{sign}{body}")
}

/// The JSON round trip of sigs.k8s.io/yaml: `Raw` → `encoding/json` → `interface{}`.
fn to_value(raw: Raw, shape: &Shape, depth: usize) -> Result<Value, YamlError> {
    to_value_kept(raw, shape, depth, true)
}

/// [`to_value`]; with `keep` false the value is only checked (every error of the JSON
/// encoding still happens) and `Value::Nil` stands in for it.
fn to_value_kept(raw: Raw, shape: &Shape, depth: usize, keep: bool) -> Result<Value, YamlError> {
    crate::deep::segmented(depth, || to_value_here(raw, shape, depth, keep))
        .unwrap_or_else(|| Err(error(format!("yaml: exceeded max depth of {MAX_DEPTH}"), None)))
}

/// sigs.k8s.io/yaml's `convertToJSONableObject` towards a `string`-typed target: scalars
/// become their text (floats in 32-bit `%g`, so `1.10` becomes `"1.1"`).
fn as_string_target(raw: Raw) -> Raw {
    match raw {
        Raw::Int(i) => Raw::Str(Arc::from(i.to_string())),
        Raw::Uint(u) => Raw::Str(Arc::from(u.to_string())),
        Raw::Float(f) => Raw::Str(Arc::from(g32(f))),
        Raw::Bool(b) => Raw::Str(Arc::from(if b { "true" } else { "false" })),
        other => other,
    }
}

/// The target of a struct field: exact JSON name first, then a case-insensitive match.
pub(super) fn field_shape<'s>(fields: &'s [(&'static str, Shape)], key: &str) -> Option<&'s Shape> {
    fields
        .iter()
        .find(|(name, _)| *name == key)
        .or_else(|| fields.iter().find(|(name, _)| name.eq_ignore_ascii_case(key)))
        .map(|(_, shape)| shape)
}

fn to_value_here(raw: Raw, shape: &Shape, depth: usize, keep: bool) -> Result<Value, YamlError> {
    let raw = if matches!(shape, Shape::String) {
        as_string_target(raw)
    } else {
        raw
    };
    let element = match shape {
        Shape::List(element) => *element,
        _ => &Shape::Any,
    };
    Ok(match raw {
        Raw::Nil => Value::Nil,
        Raw::Bool(b) => Value::Bool(b),
        Raw::Int(i) => Value::Float(i as f64),
        Raw::Uint(u) => Value::Float(u as f64),
        Raw::Float(f) => {
            if !f.is_finite() {
                let text = crate::number::format_float(f, 'g', -1);
                return Err(error(
                    format!("error converting YAML to JSON: json: unsupported value: {text}"),
                    None,
                ));
            }
            Value::Float(f)
        }
        _ if !keep && !matches!(raw, Raw::Seq(_) | Raw::Map(_)) => Value::Nil,
        Raw::Str(s) => Value::String(s),
        Raw::Binary(b) => Value::String(Arc::from(go_lossy_utf8(&b))),
        Raw::Seq(items) if !keep => {
            for item in items {
                to_value_kept(item, element, depth + 1, false)?;
            }
            Value::Nil
        }
        Raw::Seq(items) => Value::List(
            Arc::new(
                items
                    .into_iter()
                    .map(|item| to_value(item, element, depth + 1))
                    .collect::<Result<_, _>>()?,
            ),
            ListType::Interface,
        ),
        Raw::Map(entries) => {
            let mut map = Map::new();
            for (k, v) in entries {
                let key = match &k {
                    Raw::Str(_) | Raw::Binary(_) if !keep => String::new(),
                    Raw::Str(s) => s.to_string(),
                    Raw::Binary(b) => go_lossy_utf8(b),
                    Raw::Int(i) => i.to_string(),
                    Raw::Float(f) => format_g32(*f),
                    Raw::Bool(b) => b.to_string(),
                    _ => {
                        return Err(error(
                            format!(
                                "error converting YAML to JSON: unsupported map key of type: {}, key: {}, value: {}",
                                go_type_name(&k),
                                go_sharp_v(&k),
                                go_sharp_v(&v)
                            ),
                            None,
                        ));
                    }
                };
                if !keep {
                    to_value_kept(v, &Shape::Any, depth + 1, false)?;
                    continue;
                }
                // A field nobody reads (outside `Shape::Fields`) is checked, not kept.
                let (child, kept) = match shape {
                    Shape::Struct(fields) => (field_shape(fields, &key).unwrap_or(&Shape::Any), true),
                    Shape::Fields(fields) => field_shape(fields, &key).map_or((&Shape::Any, false), |s| (s, true)),
                    Shape::Map(values) => (*values, true),
                    _ => (&Shape::Any, true),
                };
                let value = to_value_kept(v, child, depth + 1, kept)?;
                if kept {
                    map.insert(key, value);
                }
            }
            if !keep {
                return Ok(Value::Nil);
            }
            Value::Map(MapRef::new(map), MapType::Interface)
        }
    })
}

fn decode_document(doc: &Document) -> Result<Raw, YamlError> {
    let mut decoder = Decoder {
        nodes: &doc.nodes,
        active_aliases: Vec::new(),
        budget: super::AliasBudget::default(),
        alias_depth: 0,
        depth: 0,
    };
    decoder.unmarshal(doc.root)
}

fn wrap_yaml_error(mut e: YamlError) -> YamlError {
    if !e.message.starts_with("error converting YAML to JSON") {
        e.message = format!("error converting YAML to JSON: {}", e.message);
    }
    e
}

/// go-yaml v2's `yaml.Unmarshal(text, &v)` with `v interface{}` and every map's keys cast to
/// strings (helmfile's `maputil.CastKeysToStrings`): only the first document counts.
pub(crate) fn decode_first_go(text: &str) -> Result<Value, YamlError> {
    let documents = parse_first_document(text)?;
    let Some(doc) = documents.first() else {
        return Ok(Value::Nil);
    };
    // The target map's own keys are Go strings: go-yaml stores a scalar key's text there.
    let mut spelled: Vec<(Raw, String)> = Vec::new();
    if let Some(Node::Mapping(children, _)) = doc.nodes.get(doc.root) {
        for key in children.iter().step_by(2) {
            if let Some(Node::Scalar {
                value,
                plain: true,
                tag: None,
            }) = doc.nodes.get(*key)
            {
                let resolved = from_resolved(resolve_plain(value), value);
                if !matches!(resolved, Raw::Str(_)) {
                    spelled.push((resolved, value.clone()));
                }
            }
        }
    }
    match decode_document(doc)? {
        Raw::Map(entries) => {
            let entries = entries
                .into_iter()
                .map(|(k, v)| {
                    let key = match spelled.iter().find(|(resolved, _)| same_key(resolved, &k)) {
                        Some((_, text)) => Raw::Str(Arc::from(text.as_str())),
                        None => k,
                    };
                    (key, v)
                })
                .collect();
            go_value(Raw::Map(entries), 0)
        }
        other => go_value(other, 0),
    }
}

/// A go-yaml v2 value as Go holds it, without the JSON round trip: `int`s stay integers.
fn go_value(raw: Raw, depth: usize) -> Result<Value, YamlError> {
    crate::deep::segmented(depth, || go_value_here(raw, depth))
        .unwrap_or_else(|| Err(error(format!("yaml: exceeded max depth of {MAX_DEPTH}"), None)))
}

fn go_value_here(raw: Raw, depth: usize) -> Result<Value, YamlError> {
    Ok(match raw {
        Raw::Nil => Value::Nil,
        Raw::Bool(b) => Value::Bool(b),
        Raw::Int(i) => Value::Int(i, crate::IntType::Int),
        Raw::Uint(u) => match i64::try_from(u) {
            Ok(i) => Value::Int(i, crate::IntType::Int),
            Err(_) => Value::Int(u as i64, crate::IntType::Uint64),
        },
        Raw::Float(f) => Value::Float(f),
        Raw::Str(s) => Value::String(s),
        Raw::Binary(b) => Value::String(Arc::from(go_lossy_utf8(&b))),
        Raw::Seq(items) => Value::List(
            Arc::new(
                items
                    .into_iter()
                    .map(|item| go_value(item, depth + 1))
                    .collect::<Result<_, _>>()?,
            ),
            ListType::Interface,
        ),
        Raw::Map(entries) => {
            let mut map = Map::new();
            for (k, v) in entries {
                let key = match k {
                    Raw::Str(s) => s.to_string(),
                    Raw::Binary(b) => go_lossy_utf8(&b),
                    other => {
                        return Err(error(
                            format!(
                                "unexpected type of key in map: expected string, got {}: value={}",
                                go_type_name(&other),
                                go_sharp_v(&other)
                            ),
                            None,
                        ));
                    }
                };
                map.insert(key, go_value(v, depth + 1)?);
            }
            Value::Map(MapRef::new(map), MapType::Interface)
        }
    })
}

/// [`decode_first`] with every entry kept in the arena: what the pruned read must agree with.
#[cfg(test)]
pub(super) fn decode_first_unpruned(text: &str, shape: &Shape) -> Result<Value, YamlError> {
    first_into(parse_first_document(text).map_err(wrap_yaml_error)?, shape)
}

/// `sigs.k8s.io/yaml.Unmarshal(text, &v)` into `shape`: only the first document counts. The
/// block reader leaves out of the arena what a `Shape::Fields` struct drops.
pub(crate) fn decode_first(text: &str, shape: &Shape) -> Result<Value, YamlError> {
    let documents = match super::block::parse_shaped(text, shape) {
        Some(documents) => documents,
        None => parse_first_document_fully(text).map_err(wrap_yaml_error)?,
    };
    first_into(documents, shape)
}

/// The first of `documents` decoded into `shape` (nothing when there is none).
fn first_into(documents: Vec<Document>, shape: &Shape) -> Result<Value, YamlError> {
    match documents.first() {
        Some(doc) => to_value(decode_document(doc).map_err(wrap_yaml_error)?, shape, 0),
        None => Ok(Value::Nil),
    }
}
