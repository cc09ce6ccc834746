//! A fast reader for the plain block-style YAML that rendered manifests and values files are
//! almost always written in: block mappings and sequences (indentless ones too), single-line
//! plain and quoted scalars, literal block scalars, `[]`, `{}` and comments.
//!
//! It builds the same node arena as the full parser ([`mod@super::decode`]) and gives up (`None`) on
//! anything else — flow collections, anchors, aliases, tags, folded or multi-line scalars,
//! document markers, tabs, unusual line breaks, odd indentation, and every error. The caller then
//! runs the full parser, which owns all of libyaml's error reporting. A unit test checks that
//! both readers build identical arenas wherever this one answers.
//!
//! The reader is generic over what it builds ([`Build`]): the value decoder's arena here, and
//! go-yaml v3 nodes for the post-renderers ([`super::v3`]), which give up on comments as well.
//!
//! Given a [`Shape::Fields`] (the few fields a caller reads, such as a manifest's head), it also
//! leaves out of the arena the entries such a struct drops: their text is still read and
//! checked, but nothing is stored for them. It does so only where dropping them cannot change
//! the decoded value or its errors (see [`check_key`] and [`check_value`]), and gives up
//! otherwise.

use std::borrow::Cow;

use super::Shape;
use super::decode::{Document, Node, field_shape, hex_escape_len, simple_escape};
use super::resolve::{Resolved, resolve_plain};

/// Deeper nesting than this goes to the full parser (which enforces the real limit).
const MAX_DEPTH: usize = 256;

/// libyaml's longest simple key.
const MAX_KEY: usize = 1024;

/// One line of the input, without its line break.
#[derive(Clone, Copy)]
struct Line {
    start: usize,
    end: usize,
    /// Followed by `\n` (the last line of a text may not be).
    broken: bool,
    /// Leading spaces.
    indent: usize,
    /// Nothing but spaces, or a comment.
    blank: bool,
}

/// See [`Reader::next_entry`].
enum Step {
    Entry(usize),
    End(usize),
}

/// How a scalar was written: the four styles the emitter writes, which are the ones this
/// reader reads.
pub(super) use super::emit::Style as Written;

/// Where a node starts: its 0-based line and byte column.
#[derive(Clone, Copy, Debug)]
pub(super) struct At {
    pub(super) line: usize,
    pub(super) column: usize,
}

/// What a [`Reader`] builds from what it reads, node by node in document order.
pub(super) trait Build<'t> {
    /// A built node, or what stands for one a shaped read left out ([`Build::skipped`]).
    type Node;
    /// A collection whose entries are being read.
    type Open;
    fn scalar(&mut self, value: Cow<'t, str>, written: Written, at: At) -> Self::Node;
    fn open(&mut self, mapping: bool, flow: bool, at: At) -> Self::Open;
    fn close(&mut self, open: Self::Open, children: Vec<Self::Node>) -> Self::Node;
    /// The stand-in for a node that was read but not built.
    fn skipped() -> Self::Node;
    fn is_skipped(node: &Self::Node) -> bool;
}

/// The value decoder's node arena.
struct Arena(Vec<Node>);

impl<'t> Build<'t> for Arena {
    type Node = usize;
    type Open = usize;

    fn scalar(&mut self, value: Cow<'t, str>, written: Written, _: At) -> usize {
        self.0.push(Node::Scalar {
            value: value.into_owned(),
            plain: written == Written::Plain,
            tag: None,
        });
        self.0.len() - 1
    }

    /// A placeholder, so that the collection precedes its entries in the arena.
    fn open(&mut self, mapping: bool, flow: bool, _: At) -> usize {
        self.0.push(match mapping {
            true => Node::Mapping(Vec::new(), flow),
            false => Node::Sequence(Vec::new(), flow),
        });
        self.0.len() - 1
    }

    fn close(&mut self, open: usize, children: Vec<usize>) -> usize {
        match &mut self.0[open] {
            Node::Mapping(c, _) | Node::Sequence(c, _) => *c = children,
            _ => unreachable!("open pushed a collection"),
        }
        open
    }

    fn skipped() -> usize {
        SKIPPED
    }

    fn is_skipped(node: &usize) -> bool {
        *node == SKIPPED
    }
}

pub(super) struct Reader<'t, 's, B: Build<'t>> {
    text: &'t str,
    lines: Vec<Line>,
    build: B,
    depth: usize,
    /// The shape the collection being read decodes into.
    shape: &'s Shape,
    /// Reading a value the shape drops: checked, not stored (its nodes are [`SKIPPED`]).
    skipping: bool,
    /// The entries read so far of the collections open, innermost last: each collection takes
    /// its own off the end when it closes, so that it is allocated once, at its size.
    pending: Vec<B::Node>,
}

/// The index standing for a node that was read but not stored.
const SKIPPED: usize = usize::MAX;

/// A mapping key as written: its text (borrowed when plain) and how it was written.
struct Key<'t> {
    value: Cow<'t, str>,
    written: Written,
}

impl Key<'_> {
    fn plain(&self) -> bool {
        self.written == Written::Plain
    }
}

/// The document in `text` if it lies in the block subset; `None` sends it to the full parser.
pub(super) fn parse(text: &str) -> Option<Vec<Document>> {
    parse_shaped(text, &Shape::Any)
}

/// [`parse`] for a document decoded into `shape`: the entries of a [`Shape::Fields`] struct
/// that it drops are left out of the arena.
pub(super) fn parse_shaped(text: &str, shape: &Shape) -> Option<Vec<Document>> {
    let (root, arena) = read(text, shape, Arena(Vec::new()))?;
    Some(vec![Document { nodes: arena.0, root }])
}

/// The one document of `text`, built by `build`, if it lies in the block subset: its root
/// node (a block collection at column 0) and the builder.
pub(super) fn read<'t, B: Build<'t>>(text: &'t str, shape: &Shape, build: B) -> Option<(B::Node, B)> {
    if !admissible(text) {
        return None;
    }
    let mut reader = Reader {
        text,
        lines: split_lines(text)?,
        build,
        depth: 0,
        shape,
        skipping: false,
        pending: Vec::new(),
    };
    let first = reader.next_content(0)?;
    if reader.lines[first].indent != 0 {
        return None;
    }
    let (root, next) = reader.block(first, 0)?;
    if reader.next_content(next).is_some() {
        return None;
    }
    Some((root, reader.build))
}

/// No tab, carriage return, control character, byte order mark or YAML 1.1 line break: those
/// have rules of their own that the full parser implements.
fn admissible(text: &str) -> bool {
    let bytes = text.as_bytes();
    // A last line of spaces without a line break: saphyr and libyaml end a block scalar there
    // differently, and only the full parser knows the difference.
    let last_line = text.rsplit('\n').next().unwrap_or("");
    if !last_line.is_empty() && last_line.bytes().all(|b| b == b' ') {
        return false;
    }
    // Control characters but the line break: every byte looked at, without an early exit, so
    // that the loop runs many bytes at a time.
    if bytes
        .iter()
        .fold(false, |control, &b| control | ((b < 0x20 && b != b'\n') | (b == 0x7f)))
    {
        return false;
    }
    if bytes.is_ascii() {
        return true;
    }
    text.chars().all(|c| {
        c.is_ascii() || (super::decode::is_yaml_printable(c) && !matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}'))
    }) && !text.contains('\u{feff}')
}

fn split_lines(text: &str) -> Option<Vec<Line>> {
    let bytes = text.as_bytes();
    let mut lines = Vec::with_capacity(bytes.len() / 24 + 1);
    let mut start = 0;
    while start < bytes.len() {
        let (end, broken) = match memchr(b'\n', &bytes[start..]) {
            Some(i) => (start + i, true),
            None => (bytes.len(), false),
        };
        let line = &bytes[start..end];
        let indent = line.iter().take_while(|&&b| b == b' ').count();
        // Directives and document markers.
        if line.first() == Some(&b'%')
            || ((line.starts_with(b"---") || line.starts_with(b"...")) && line.get(3).is_none_or(|&b| b == b' '))
        {
            return None;
        }
        lines.push(Line {
            start,
            end,
            broken,
            indent,
            blank: indent == line.len() || line[indent] == b'#',
        });
        start = end + 1;
    }
    Some(lines)
}

fn memchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|&b| b == needle)
}

/// How a plain scalar may not begin in block context (besides the cases handled explicitly).
fn plain_start(rest: &[u8]) -> bool {
    match rest.first() {
        None => false,
        Some(b'-' | b'?' | b':') => rest.get(1).is_some_and(|&b| b != b' '),
        Some(
            b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\'' | b'"' | b'%' | b'@'
            | b'`',
        ) => false,
        Some(_) => true,
    }
}

/// The end of a plain scalar's text in `rest`: before ` #` or the end of the line, trailing
/// spaces trimmed.
fn plain_end(rest: &[u8]) -> usize {
    let mut end = rest.len();
    for i in 1..rest.len() {
        if rest[i] == b'#' && rest[i - 1] == b' ' {
            end = i;
            break;
        }
    }
    while end > 0 && rest[end - 1] == b' ' {
        end -= 1;
    }
    end
}

/// Only spaces and perhaps a comment from `at` to the end of `rest`.
fn ends_line(rest: &[u8], at: usize) -> bool {
    let tail = &rest[at..];
    let spaces = tail.iter().take_while(|&&b| b == b' ').count();
    spaces == tail.len() || (tail[spaces] == b'#' && (spaces > 0 || at == 0 || rest[at - 1] == b' '))
}

fn is_dash(rest: &[u8]) -> bool {
    rest.first() == Some(&b'-') && rest.get(1).is_none_or(|&b| b == b' ')
}

impl<'t, 's, B: Build<'t>> Reader<'t, 's, B> {
    fn bytes(&self, line: usize) -> &'t [u8] {
        let l = self.lines[line];
        &self.text.as_bytes()[l.start..l.end]
    }

    fn str_at(&self, line: usize, from: usize, to: usize) -> &'t str {
        let l = self.lines[line];
        &self.text[l.start + from..l.start + to]
    }

    /// The first line at or after `from` with content.
    fn next_content(&self, from: usize) -> Option<usize> {
        (from..self.lines.len()).find(|&i| !self.lines[i].blank)
    }

    /// A collection opened, unless skipping (`None`).
    fn open(&mut self, mapping: bool, flow: bool, at: At) -> Option<B::Open> {
        (!self.skipping).then(|| self.build.open(mapping, flow, at))
    }

    /// The collection [`Reader::open`] opened, with its entries: those pending from `first` on.
    fn close(&mut self, open: Option<B::Open>, first: usize) -> B::Node {
        let children: Vec<B::Node> = self.pending.drain(first..).collect();
        match open {
            Some(open) => self.build.close(open, children),
            None => B::skipped(),
        }
    }

    /// A scalar node, built unless skipping. Plain text that a skipped read must check goes
    /// through [`Reader::plain_value`] or [`Reader::key_node`] instead.
    fn scalar(&mut self, value: Cow<'t, str>, written: Written, at: At) -> B::Node {
        match self.skipping {
            true => B::skipped(),
            false => self.build.scalar(value, written, at),
        }
    }

    /// A plain scalar in value position; `None` when leaving it out could change the outcome.
    fn plain_value(&mut self, text: Cow<'t, str>, at: At) -> Option<B::Node> {
        if self.skipping {
            check_value(&text)?;
            return Some(B::skipped());
        }
        Some(self.build.scalar(text, Written::Plain, at))
    }

    /// A mapping key; `None` when leaving it out could change the outcome.
    fn key_node(&mut self, key: Key<'t>, at: At) -> Option<B::Node> {
        if self.skipping {
            check_key(&key)?;
            return Some(B::skipped());
        }
        Some(self.build.scalar(key.value, key.written, at))
    }

    /// The shape of the value of `key` in a mapping read into the current shape, and whether
    /// the value is dropped: when the mapping is a [`Shape::Fields`] struct and the key decodes
    /// to a string that names none of its fields. A merge key (`<<`) there gives up (`None`),
    /// as its entries could stand in for dropped ones.
    fn value_shape(&self, key: &Key<'_>) -> Option<(bool, &'s Shape)> {
        let shape: &'s Shape = self.shape;
        Some(match shape {
            _ if self.skipping => (true, shape),
            Shape::Fields(fields) => {
                if key.plain() && key.value == "<<" {
                    return None;
                }
                let string = !key.plain() || matches!(resolve_plain(&key.value), Resolved::Str | Resolved::Timestamp);
                match field_shape(fields, &key.value) {
                    Some(field) => (false, field),
                    None => (string, &Shape::Any),
                }
            }
            Shape::Struct(fields) => (false, field_shape(fields, &key.value).unwrap_or(&Shape::Any)),
            Shape::Map(values) => (false, *values),
            _ => (false, &Shape::Any),
        })
    }

    /// Runs `read` in `shape`, skipping when `skip`.
    fn within<T>(&mut self, shape: &'s Shape, skip: bool, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        let saved = (self.shape, self.skipping);
        (self.shape, self.skipping) = (shape, skip);
        let result = read(self);
        (self.shape, self.skipping) = saved;
        result
    }

    /// Reads the elements of a sequence with `read`, in their shape.
    fn elements<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        let shape = match self.shape {
            Shape::List(element) => element,
            _ => &Shape::Any,
        };
        self.within(shape, self.skipping, read)
    }

    /// A block collection whose first entry starts at column `col` of `line`. Returns the
    /// node and the line after it.
    fn block(&mut self, line: usize, col: usize) -> Option<(B::Node, usize)> {
        let rest = &self.bytes(line)[col..];
        if is_dash(rest) {
            return self.nested(|reader| reader.sequence(line, col, false));
        }
        let key = self.key(line, col)?;
        self.nested(|reader| reader.mapping(line, col, key))
    }

    /// Runs `read` one level deeper; `None` beyond [`MAX_DEPTH`].
    fn nested<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<T> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let result = read(self);
        self.depth -= 1;
        result
    }

    /// A block sequence with its dashes in column `col`; `indentless` when it is the value of a
    /// mapping key in the same column.
    fn sequence(&mut self, line: usize, col: usize, indentless: bool) -> Option<(B::Node, usize)> {
        let open = self.open(false, false, At { line, column: col });
        let first = self.pending.len();
        let line = self.elements(|reader| reader.sequence_entries(line, col, indentless))?;
        Some((self.close(open, first), line))
    }

    /// The entries of [`Reader::sequence`], left pending; returns the line after them.
    fn sequence_entries(&mut self, mut line: usize, col: usize, indentless: bool) -> Option<usize> {
        loop {
            let bytes = self.bytes(line);
            let at = col + 1 + bytes[col + 1..].iter().take_while(|&&b| b == b' ').count();
            let (child, after) = if ends_line(bytes, at) {
                self.nested_or_empty(line, col, At { line, column: col + 1 })?
            } else {
                let rest = &bytes[at..];
                if is_dash(rest) {
                    self.block(line, at)?
                } else if let Some(key) = self.key(line, at) {
                    self.nested(|reader| reader.mapping(line, at, key))?
                } else {
                    self.inline(line, at, col)?
                }
            };
            if !B::is_skipped(&child) {
                self.pending.push(child);
            }
            match self.next_entry(after, col)? {
                Step::End(end) => {
                    line = end;
                    break;
                }
                // In a mapping's column, a line without a dash is the mapping's next key.
                Step::Entry(next) if !is_dash(&self.bytes(next)[col..]) => {
                    if !indentless {
                        return None;
                    }
                    line = next;
                    break;
                }
                Step::Entry(next) => line = next,
            }
        }
        Some(line)
    }

    /// A block mapping whose keys start in column `col`, the first one on `line`.
    fn mapping(&mut self, mut line: usize, col: usize, first: (Key<'t>, usize)) -> Option<(B::Node, usize)> {
        let open = self.open(true, false, At { line, column: col });
        let first_entry = self.pending.len();
        let mut first = Some(first);
        loop {
            let (key, colon) = match first.take() {
                Some(first) => first,
                None => self.key(line, col)?,
            };
            let (skip, shape) = self.value_shape(&key)?;
            // A dropped value takes its key (a string) with it.
            let key = match skip && !self.skipping {
                true => B::skipped(),
                false => self.key_node(key, At { line, column: col })?,
            };
            let bytes = self.bytes(line);
            let at = colon + bytes[colon..].iter().take_while(|&&b| b == b' ').count();
            let (value, after) = self.within(shape, skip, |reader| {
                if !ends_line(bytes, at) {
                    return reader.inline(line, at, col);
                }
                match reader.next_content(line + 1) {
                    Some(next) if reader.lines[next].indent == col && is_dash(&reader.bytes(next)[col..]) => {
                        reader.nested(|reader| reader.sequence(next, col, true))
                    }
                    _ => reader.nested_or_empty(line, col, At { line, column: colon }),
                }
            })?;
            if !B::is_skipped(&key) {
                self.pending.push(key);
                self.pending.push(value);
            }
            match self.next_entry(after, col)? {
                Step::End(end) => {
                    line = end;
                    break;
                }
                Step::Entry(next) if is_dash(&self.bytes(next)[col..]) => return None,
                Step::Entry(next) => line = next,
            }
        }
        Some((self.close(open, first_entry), line))
    }

    /// Where a collection in column `col` goes on after an entry that ended before line `after`:
    /// another entry in the same column, or its end; `None` for a line indented deeper, which
    /// only the full parser can judge (a continuation or an error).
    fn next_entry(&self, after: usize, col: usize) -> Option<Step> {
        let Some(next) = self.next_content(after) else {
            return Some(Step::End(after));
        };
        match self.lines[next].indent {
            indent if indent < col => Some(Step::End(next)),
            indent if indent > col => None,
            _ => Some(Step::Entry(next)),
        }
    }

    /// The value of an entry whose line ends after its indicator: a collection on the following
    /// lines, indented deeper than `col`, or an empty scalar (`empty` is where the indicator
    /// ends).
    fn nested_or_empty(&mut self, line: usize, col: usize, empty: At) -> Option<(B::Node, usize)> {
        match self.next_content(line + 1) {
            Some(next) if self.lines[next].indent > col => {
                let indent = self.lines[next].indent;
                self.block(next, indent)
            }
            _ => Some((self.scalar(Cow::Borrowed(""), Written::Plain, empty), line + 1)),
        }
    }

    /// A mapping key at column `col` of `line`: the key and the column after its `:`.
    fn key(&self, line: usize, col: usize) -> Option<(Key<'t>, usize)> {
        let bytes = self.bytes(line);
        let rest = &bytes[col..];
        let (key, after) = match rest.first()? {
            b'"' | b'\'' => {
                let (value, len) = quoted(self.str_at(line, col, bytes.len()))?;
                let key = Key {
                    value: Cow::Owned(value),
                    written: quote_style(rest[0]),
                };
                (key, col + len)
            }
            _ if plain_start(rest) => {
                let end = plain_end(rest);
                let colon = (0..end).find(|&i| rest[i] == b':' && rest.get(i + 1).is_none_or(|&b| b == b' '))?;
                let mut key_end = colon;
                while key_end > 0 && rest[key_end - 1] == b' ' {
                    key_end -= 1;
                }
                if key_end == 0 {
                    return None;
                }
                let key = Key {
                    value: Cow::Borrowed(self.str_at(line, col, col + key_end)),
                    written: Written::Plain,
                };
                (key, col + key_end)
            }
            _ => return None,
        };
        if after - col > MAX_KEY {
            return None;
        }
        let spaces = bytes[after..].iter().take_while(|&&b| b == b' ').count();
        let colon = after + spaces;
        (bytes.get(colon) == Some(&b':') && bytes.get(colon + 1).is_none_or(|&b| b == b' ')).then_some((key, colon + 1))
    }

    /// A scalar (or `[]`/`{}`) starting at column `at` of `line`, inside a collection at column
    /// `parent`; it must end the line.
    fn inline(&mut self, line: usize, at: usize, parent: usize) -> Option<(B::Node, usize)> {
        let bytes = self.bytes(line);
        let rest = &bytes[at..];
        match rest[0] {
            b'"' | b'\'' => {
                let (value, len) = quoted(self.str_at(line, at, bytes.len()))?;
                ends_line(bytes, at + len).then_some(())?;
                Some((
                    self.scalar(Cow::Owned(value), quote_style(rest[0]), At { line, column: at }),
                    line + 1,
                ))
            }
            b'|' => self.literal(line, at, parent),
            b'[' | b'{' => {
                let (node, end) = self.flow(line, at)?;
                ends_line(bytes, end).then_some((node, line + 1))
            }
            _ if plain_start(rest) => {
                let end = plain_end(rest);
                let text = &rest[..end];
                // `a: b: c` and a trailing `:` are errors (or keys) for the full parser.
                if text.ends_with(b":") || text.windows(2).any(|w| w == b": ") {
                    return None;
                }
                let mut value = Cow::Borrowed(self.str_at(line, at, at + end));
                let mut after = line + 1;
                if ends_line(bytes, at + end) && !bytes[at + end..].contains(&b'#') {
                    after = self.plain_continuation(line + 1, parent, &mut value)?;
                }
                Some((self.plain_value(value, At { line, column: at })?, after))
            }
            _ => None,
        }
    }

    /// Continues a multi-line plain scalar onto the lines from `line` that are indented deeper
    /// than `parent`: a single line break folds into a space, each blank line into a `\n`.
    /// Returns the first line after the scalar.
    fn plain_continuation(&self, mut line: usize, parent: usize, value: &mut Cow<'t, str>) -> Option<usize> {
        let mut blank = 0;
        while let Some(&l) = self.lines.get(line) {
            let len = l.end - l.start;
            if l.indent == len {
                blank += 1;
                line += 1;
                continue;
            }
            let content = &self.bytes(line)[l.indent..];
            if l.indent <= parent || content[0] == b'#' {
                break;
            }
            let end = plain_end(content);
            let text = &content[..end];
            if text.ends_with(b":") || text.windows(2).any(|w| w == b": ") {
                return None;
            }
            let value = value.to_mut();
            if blank == 0 {
                value.push(' ');
            }
            value.extend(std::iter::repeat_n('\n', blank));
            blank = 0;
            value.push_str(self.str_at(line, l.indent, l.indent + end));
            line += 1;
            if end < content.len() && content[end..].contains(&b'#') {
                break;
            }
        }
        Some(line)
    }

    /// A flow collection that opens at column `at` of `line` and closes on the same line:
    /// the node and the column after its closing bracket. Entries are quoted or plain scalars
    /// and nested flow collections; mappings hold `key: value` pairs.
    fn flow(&mut self, line: usize, at: usize) -> Option<(B::Node, usize)> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return None;
        }
        let bytes = self.bytes(line);
        let mapping = bytes[at] == b'{';
        let close = if mapping { b'}' } else { b']' };
        let open = self.open(mapping, true, At { line, column: at });
        let first = self.pending.len();
        let skip = |i: usize| i + bytes[i..].iter().take_while(|&&b| b == b' ').count();
        let mut i = skip(at + 1);
        if bytes.get(i) == Some(&close) {
            i += 1;
        } else {
            loop {
                let (entry, end) = self.flow_scalar_or_collection(line, i, mapping)?;
                self.pending.push(entry);
                i = skip(end);
                if mapping {
                    // `key: value`; the value may follow `:` directly after a quoted key.
                    if bytes.get(i) != Some(&b':') || bytes.get(i + 1).is_some_and(|&b| b != b' ') {
                        return None;
                    }
                    i = skip(i + 1);
                    let (value, end) = self.flow_scalar_or_collection(line, i, false)?;
                    self.pending.push(value);
                    i = skip(end);
                }
                match bytes.get(i) {
                    Some(b',') => {
                        i = skip(i + 1);
                        // A trailing comma or an empty entry.
                        if matches!(bytes.get(i), Some(b',' | b']' | b'}') | None) {
                            return None;
                        }
                    }
                    Some(&b) if b == close => {
                        i += 1;
                        break;
                    }
                    _ => return None,
                }
            }
        }
        self.depth -= 1;
        Some((self.close(open, first), i))
    }

    /// One entry of a flow collection at column `at` of `line` (a mapping's key when `key`):
    /// the node and the column after it.
    fn flow_scalar_or_collection(&mut self, line: usize, at: usize, key: bool) -> Option<(B::Node, usize)> {
        let bytes = self.bytes(line);
        let rest = &bytes[at..];
        match *rest.first()? {
            // A collection as a key is an error go-yaml reports.
            b'[' | b'{' if key && self.skipping => None,
            b'[' | b'{' => self.flow(line, at),
            b'"' | b'\'' => {
                let (value, len) = quoted(self.str_at(line, at, bytes.len()))?;
                Some((
                    self.scalar(Cow::Owned(value), quote_style(rest[0]), At { line, column: at }),
                    at + len,
                ))
            }
            _ if plain_start(rest) && !matches!(rest[0], b'-' | b'?' | b':') => {
                // Plain scalars in flow context stop at `,[]{}`, `: ` and ` #`; `:` before a
                // flow indicator is left to the full parser.
                let mut end = 0;
                while end < rest.len() {
                    match rest[end] {
                        b',' | b'[' | b']' | b'{' | b'}' => break,
                        b':' if rest.get(end + 1).is_none_or(|&b| b == b' ') => break,
                        b':' if matches!(rest.get(end + 1), Some(b',' | b'[' | b']' | b'{' | b'}')) => return None,
                        b'#' if rest[end - 1] == b' ' => return None,
                        _ => end += 1,
                    }
                }
                let stop = end;
                while end > 0 && rest[end - 1] == b' ' {
                    end -= 1;
                }
                if end == 0 || !matches!(rest.get(stop), Some(b',' | b']' | b'}' | b':')) {
                    return None;
                }
                let value = Cow::Borrowed(self.str_at(line, at, at + end));
                let start = At { line, column: at };
                let node = match key {
                    true => self.key_node(
                        Key {
                            value,
                            written: Written::Plain,
                        },
                        start,
                    )?,
                    false => self.plain_value(value, start)?,
                };
                Some((node, at + end))
            }
            _ => None,
        }
    }

    /// A literal block scalar (`|`, `|-`, `|+`) whose indicator is at column `at` of `line`,
    /// inside a collection at column `parent`. Returns the node and the line after it.
    fn literal(&mut self, line: usize, at: usize, parent: usize) -> Option<(B::Node, usize)> {
        let bytes = self.bytes(line);
        let keep = match bytes.get(at + 1) {
            Some(b'-') => Some(false),
            Some(b'+') => Some(true),
            _ => None,
        };
        if !ends_line(bytes, at + 1 + usize::from(keep.is_some())) {
            return None;
        }
        // The first line with text decides the indentation (libyaml's auto-detection); blank
        // lines before it may not be indented further.
        let mut first = line + 1;
        let mut leading_max = 0;
        loop {
            let l = *self.lines.get(first)?;
            if l.indent < l.end - l.start {
                break;
            }
            leading_max = leading_max.max(l.indent);
            first += 1;
        }
        let indent = self.lines[first].indent;
        if indent <= parent || leading_max > indent {
            return None;
        }
        // libyaml's scan_block_scalar for `|`: each text line is joined to the previous one by
        // its line break plus one per blank line between them.
        let mut value = String::new();
        let mut leading_break = false;
        let mut trailing = 0usize;
        let mut end = line + 1;
        while let Some(&l) = self.lines.get(end) {
            let len = l.end - l.start;
            if l.indent == len && len <= indent {
                if !l.broken {
                    break;
                }
                trailing += 1;
                end += 1;
                continue;
            }
            if l.indent < indent {
                break;
            }
            end += 1;
            let joined = std::mem::replace(&mut leading_break, l.broken);
            // A dropped scalar is only read to its end.
            if self.skipping {
                continue;
            }
            if joined {
                value.push('\n');
            }
            value.extend(std::iter::repeat_n('\n', trailing));
            trailing = 0;
            value.push_str(&self.text[l.start + indent..l.end]);
        }
        if keep.is_none_or(|keep| keep) && leading_break {
            value.push('\n');
        }
        if keep == Some(true) {
            value.extend(std::iter::repeat_n('\n', trailing));
        }
        Some((
            self.scalar(Cow::Owned(value), Written::Literal, At { line, column: at }),
            end,
        ))
    }
}

/// A plain value left out of the arena must be one the JSON encoding accepts: not one of YAML's
/// infinities or NaN (`json: unsupported value`). `None` gives up.
fn check_value(text: &str) -> Option<()> {
    match resolve_plain(text) {
        Resolved::Float(f) if !f.is_finite() => None,
        _ => Some(()),
    }
}

/// A key left out of the arena must be one sigs.k8s.io/yaml turns into a JSON key (a string,
/// number or boolean; not null or a uint64), and not a merge key (`<<`), whose value go-yaml
/// checks and whose entries could displace others. `None` gives up.
fn check_key(key: &Key<'_>) -> Option<()> {
    if !key.plain() {
        return Some(());
    }
    match resolve_plain(&key.value) {
        Resolved::Null | Resolved::Uint(_) => None,
        _ if key.value == "<<" => None,
        _ => Some(()),
    }
}

fn quote_style(quote: u8) -> Written {
    match quote {
        b'\'' => Written::SingleQuoted,
        _ => Written::DoubleQuoted,
    }
}

/// A single-line quoted scalar at the start of `text`: its value and its length in bytes.
fn quoted(text: &str) -> Option<(String, usize)> {
    let bytes = text.as_bytes();
    let quote = bytes[0];
    let mut value = String::new();
    let mut i = 1;
    let mut run = 1;
    loop {
        let b = *bytes.get(i)?;
        if quote == b'\'' {
            if b == b'\'' {
                value.push_str(&text[run..i]);
                if bytes.get(i + 1) == Some(&b'\'') {
                    value.push('\'');
                    i += 2;
                    run = i;
                    continue;
                }
                return Some((value, i + 1));
            }
            i += 1;
            continue;
        }
        match b {
            b'"' => {
                value.push_str(&text[run..i]);
                return Some((value, i + 1));
            }
            b'\\' => {
                value.push_str(&text[run..i]);
                let (c, len) = escape(&bytes[i + 1..])?;
                value.push(c);
                i += 1 + len;
                run = i;
            }
            _ => i += 1,
        }
    }
}

/// A double-quoted escape after its backslash: the character and the bytes it took.
fn escape(rest: &[u8]) -> Option<(char, usize)> {
    let escape = char::from(*rest.first()?);
    if let Some(c) = simple_escape(escape) {
        return Some((c, 1));
    }
    let digits = hex_escape_len(escape)?;
    let hex = std::str::from_utf8(rest.get(1..1 + digits)?).ok()?;
    let code = u32::from_str_radix(hex, 16).ok()?;
    Some((char::from_u32(code)?, 1 + digits))
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::decode::parse_first_document_fully;
    use super::*;

    /// Where the fast reader answers, it must build exactly what the full parser builds.
    fn agree(text: &str) -> bool {
        let Some(fast) = parse(text) else {
            return false;
        };
        let full = parse_first_document_fully(text).unwrap_or_else(|e| panic!("full parser failed on {text:?}: {e}"));
        assert_eq!(fast, full, "arenas differ for {text:?}");
        true
    }

    #[test]
    fn block_subset_matches_the_full_parser() {
        let accepted = [
            "a: 1\n",
            "a: 1",
            "a: b\nc: d\n",
            "a:\n  b: c\n  d:\n    e: f\ng: h\n",
            "a:\n- 1\n- 2\nb: 3\n",
            "a:\n  - 1\n  -\n  - x: y\n    z: w\n  - - n\n    - m\n",
            "- a\n- b: c\n  d: e\n-\n- |\n  lit\n",
            "# comment\na: b # trailing\n# between\nc: 'single ''quoted'''\nd: \"dq \\\"x\\\" \\u00e9 \\n\"\n",
            "a: []\nb: {}\nc:   []   # empty\n",
            "a: [1, 2]\nb: [\"x\", 'y', z z]\nc: {k: v, \"q\": [1, {n: m}]}\n",
            "args: [\"--a=b\", \"-c\"]\nsel: {app: web, tier: \"front\"}\n",
            "- [a, b]\n- {a: b}\n",
            "a: plain\n  continued\n\n  after blank\n     deeper - x\nb: one\n two # c\nc: x\n",
            "- seq\n  cont\n- a: m\n   n\n  b: 1\n",
            "description: KeyDB is a high performance fork of Redis with a focus on multithreading,\n  memory efficiency, and high throughput.\nhome: x\n",
            "a: x\n\n\n",
            "a: |\n  one\n  two\n\n  three\nb: x\n",
            "a: |-\n  one\n\n\nb: x\n",
            "a: |+\n  one\n\n\nb: x\n",
            "a: |\n\n  after blank\n",
            "a: |\n  x\n    more\n  # not a comment\n# a comment\nb: 1\n",
            "a: |\n  no final break",
            "a: |+\n  kept\n\n",
            "url: http://x:80/y\nimage: nginx:1.2\nneg: -1\nflag: --x\nq: ?x\nhash: a#b\n",
            "\"quoted key\": 1\n'other': 2\nkey   : spaced\n",
            "a: yes\nb: 0x1F\nc: ~\nd: null\ne: 1e3\nf: .inf\ng: 2001-12-14\n",
            "a:\n  b:\n  c: 1\n",
            "a: é ü ✓ 🎉\n",
            "list:\n- name: x\n  value: \"1\"\n- name: y\n  valueFrom:\n    secretKeyRef:\n      key: k\n",
            "a: b\n\n\n\nc: d\n",
            "- # c\n  a: 1\n",
            "a: |  # comment\n  x\n",
        ];
        for text in accepted {
            assert!(agree(text), "not answered: {text:?}");
        }
        for text in [
            "a: 1\n  b: 2\n",
            "a: b: c\n",
            "a: 1\n- b\n",
            "- a\nb: 1\n",
            "a: &x 1\nb: *x\n",
            "a: !!str 1\n",
            "a: >\n  folded\n",
            "a: \"multi\n  line\"\n",
            "---\na: 1\n",
            "a: 1\n---\nb: 2\n",
            "a:\tb\n",
            "a: 1\r\n",
            "  a: 1\n",
            "scalar\n",
            "",
            "# only a comment\n",
            "? complex\n: key\n",
            "a: |2\n   x\n",
            "a: |\n    \n  x\n",
            "a: '\\x'\nb: \"\\q\"\n",
            "a: `x`\n",
            "a:\n  b\n",
            "a: |\n    deeper\n  shallower\n",
            "a:\n  |\n",
            "a: [1,]\n",
            "a: [1,,2]\n",
            "a: [x: y]\n",
            "a: {x}\n",
            "a: [1, # c\n  2]\n",
            "a: [a:, b]\n",
            "a: [-1, ?x, :y]\n",
            "a: {\"k\":v}\n",
            "a: x\n  b: c\n",
            "a: x\n  # c\n  y\n",
            "a: x\n  y:\n",
        ] {
            if parse(text).is_some() {
                assert!(agree(text), "{text:?}");
                // Accepted input outside the expected subset is fine only if both agree.
            }
        }
    }

    #[test]
    fn errors_are_left_to_the_full_parser() {
        for text in [
            "a: 1\n  b: 2\n",
            "a: b: c\n",
            "a: 1\n- b\n",
            "a: \"x\n",
            "a: [1\n",
            "a: |\nb: 1\n",
        ] {
            assert!(parse(text).is_none(), "{text:?}");
        }
    }

    /// A xorshift generator from `seed` (not zero), for random test inputs that replay.
    pub(in crate::yaml) fn xorshift(seed: u64) -> impl FnMut() -> u64 {
        let mut state = seed;
        move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        }
    }

    /// `count` texts of up to `max_pieces` random `pieces` each (xorshift from `seed`).
    pub(in crate::yaml) fn random_texts(
        pieces: &'static [&'static str],
        seed: u64,
        max_pieces: u64,
        count: usize,
    ) -> impl Iterator<Item = String> {
        let mut next = xorshift(seed);
        (0..count).map(move |_| {
            let len = next() % max_pieces;
            (0..len)
                .map(|_| pieces[(next() % pieces.len() as u64) as usize])
                .collect()
        })
    }

    /// Random texts over YAML's significant characters: the reader never panics, and wherever it
    /// answers, the full parser accepts the text and builds the same arena.
    #[test]
    fn random_texts_never_panic_and_agree() {
        const PIECES: &[&str] = &[
            "a", "b: ", "- ", "-", ":", " ", "  ", "\n", "\n  ", "\n    ", "# c", " #", "'", "''", "\"", "\\", "|",
            "|-", "|+", ">", "[", "]", "{", "}", ", ", "k: v", "~", ".nan", "1", "x y", "é", "&a", "*a", "!t", "?",
            "---", "\t",
        ];
        let mut answered = 0;
        for text in random_texts(PIECES, 0x9e37_79b9_7f4a_7c15, 24, 30_000) {
            if let Some(fast) = parse(&text) {
                let full = parse_first_document_fully(&text)
                    .unwrap_or_else(|e| panic!("the reader accepted {text:?}, the full parser did not: {e}"));
                assert_eq!(fast, full, "arenas differ for {text:?}");
                answered += 1;
            }
        }
        assert!(answered > 300, "only {answered} random texts answered");
    }

    /// A manifest's head with labels and annotations, as helmfire reads it before sorting.
    static HEAD: Shape = Shape::Fields(&[
        ("apiVersion", Shape::String),
        ("kind", Shape::String),
        (
            "metadata",
            Shape::Fields(&[
                ("name", Shape::String),
                ("namespace", Shape::String),
                ("labels", Shape::Map(&Shape::String)),
                ("annotations", Shape::Map(&Shape::String)),
            ]),
        ),
    ]);

    /// A struct with a list of structs that read one field each.
    static NESTED: Shape = Shape::Struct(&[("items", Shape::List(&Shape::Fields(&[("name", Shape::String)])))]);

    /// Decoding into `shape` with the dropped entries left out of the arena gives the same value,
    /// or the same error, as decoding the whole arena.
    fn same_when_pruned(text: &str, shape: &Shape) {
        let pruned = super::super::decode::decode_first(text, shape);
        let whole = super::super::decode::decode_first_unpruned(text, shape);
        match (&pruned, &whole) {
            (Ok(p), Ok(w)) => assert_eq!(format!("{p:?}"), format!("{w:?}"), "values differ for {text:?}"),
            (Err(p), Err(w)) => assert_eq!(p.message, w.message, "errors differ for {text:?}"),
            _ => panic!("{text:?}: pruned {pruned:?}, whole {whole:?}"),
        }
    }

    #[test]
    fn pruned_reads_agree_with_whole_reads() {
        let cases = [
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: {a: b}\ndata:\n  k: v\n",
            // Values the JSON encoding refuses, in dropped entries and in kept ones.
            "kind: A\nspec:\n  replicas: .inf\n",
            "kind: A\nspec: [1, -.Inf]\n",
            "kind: A\nspec: {x: .NaN}\n",
            "kind: A\nmetadata:\n  name: .nan\n",
            "kind: A\nmetadata:\n  other: .nan\n",
            "kind: A\nspec:\n  big: 1e999\n  n: 0x1F\n  m: -12\n",
            // Keys that do not become JSON keys.
            "kind: A\nspec:\n  ~: 1\n",
            "kind: A\nspec:\n  null: 1\n",
            "kind: A\nspec: {null: 1}\n",
            "kind: A\nspec: {[a]: 1}\n",
            "kind: A\nspec:\n  18446744073709551615: x\n",
            "kind: A\nspec:\n  1: x\n  true: y\n  1.5: z\n",
            "~: 1\nkind: A\n",
            "1: x\nkind: A\n",
            "yes: 1\nkind: A\n",
            // Merge keys.
            "kind: A\nspec:\n  <<: {a: 1}\n",
            "kind: A\nspec:\n  <<: 1\n",
            "<<: {kind: B}\nkind: A\n",
            "kind: A\nmetadata:\n  <<: {name: m}\n  spec: x\n",
            // Keys matched case-insensitively, quoted keys, duplicates.
            "Kind: A\nMETADATA:\n  Name: x\n",
            "\"kind\": A\n'spec': {a: .inf}\n",
            "kind: A\nkind: B\nspec: 1\nspec: .inf\n",
            "metadata:\n  name: a\nmetadata:\n  name: b\n",
            // Block scalars and multi-line plain scalars in dropped entries.
            "kind: A\ndata:\n  f: |\n    one\n\n    two\n  g: |-\n    x\n  h: plain\n    continued\n",
            "kind: A\nspec:\n  - a: 1\n    b: [x, {c: d}]\n  -\n  - - 1\n",
            // Not a mapping.
            "- a\n- b\n",
            "kind: [A]\nmetadata: x\n",
            "metadata:\n  labels:\n    a: 1\n    b: true\n    c: 1.50\n    d: ~\n",
        ];
        for text in cases {
            same_when_pruned(text, &HEAD);
            same_when_pruned(text, &NESTED);
            same_when_pruned(text, &Shape::Any);
        }
        same_when_pruned("items:\n- name: a\n  x: .inf\n- name: b\n  y: 1\n", &NESTED);
        same_when_pruned("items:\n- name: a\n  ~: 1\n", &NESTED);
    }

    /// Random texts: pruned and whole reads agree.
    #[test]
    fn random_texts_agree_when_pruned() {
        const PIECES: &[&str] = &[
            "kind", "metadata", "name", "spec", ": ", "- ", "\n", "\n  ", "\n    ", " ", "~", ".nan", "-.inf", "1",
            "0x1", "<<", "[", "]", "{", "}", ", ", "'", "\"", "|", "|-", "x", "null", "yes", "# c", "labels",
        ];
        for text in random_texts(PIECES, 0x2545_f491_4f6c_dd1d, 28, 30_000) {
            same_when_pruned(&text, &HEAD);
        }
    }

    /// The documents of every YAML file under testdata/ (and under `HELMFIRE_YAML_CORPUS`, e.g.
    /// a fetched chart repository, when set), split as helm splits rendered output.
    pub(in crate::yaml) fn corpus_documents() -> Vec<String> {
        let mut documents = Vec::new();
        let mut stack = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata"
        ))];
        stack.extend(std::env::var_os("HELMFIRE_YAML_CORPUS").map(std::path::PathBuf::from));
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml")
                    && let Ok(text) = std::fs::read_to_string(&path)
                {
                    for doc in text.split("\n---") {
                        documents.push(doc.strip_prefix('\n').unwrap_or(doc).to_string());
                    }
                }
            }
        }
        documents
    }

    /// Every document of the corpus: the reader must agree with the full parser wherever it
    /// answers, and it must answer for most documents (it is the fast path for real files).
    #[test]
    fn testdata_yaml_files_agree() {
        let mut seen = 0;
        let mut answered = 0;
        for doc in corpus_documents() {
            same_when_pruned(&doc, &HEAD);
            if parse_first_document_fully(&doc).is_ok() {
                seen += 1;
                answered += usize::from(agree(&doc));
            }
        }
        eprintln!("fast path answered {answered} of {seen} documents");
        assert!(seen > 500, "{seen} documents");
        assert!(
            answered * 10 >= seen * 6,
            "fast path answered {answered} of {seen} documents"
        );
    }
}
