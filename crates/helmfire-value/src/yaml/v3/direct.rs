//! Plain documents written straight from their nodes, without events. The emitter turns each
//! node into an event, queues it for lookahead and walks a state machine for it. A manifest
//! that post-rendering writes back is nearly always a mapping of block and flow collections and
//! ASCII scalars (text with line breaks in literal blocks), without tags, anchors or comments;
//! for those the emitter's decisions reduce to a few rules. This module makes exactly those decisions (the same indents, the same
//! scalar analysis and style choice) and declines everything else, which the emitter then
//! writes. The tests hold its output to the emitter's: hand-written and random trees, and every
//! document under `testdata/`.

use super::{Kind, MAP_TAG, Node, SEQ_TAG, STR_TAG, Style, resolve, short_tag};
use crate::yaml::emit::analyze;

/// What the emitter's state stack holds when a collection starts: it decides the collection's
/// indent.
#[derive(Clone, Copy, PartialEq)]
enum Parent {
    Document,
    MappingValue,
    SequenceItem,
}

struct Writer<'o> {
    out: &'o mut Vec<u8>,
    best_indent: i64,
    compact_sequences: bool,
    indent: i64,
    /// Where the current line starts in `out`. Columns count bytes: they are compared with
    /// the indent only while a line holds indentation and indicators, all ASCII.
    line_start: usize,
    whitespace: bool,
    indention: bool,
    /// Collections open around the node being written.
    depth: usize,
    /// Inside a flow collection.
    flow: bool,
}

/// Deeper documents go to the emitter: the writer's stack stays small.
pub(super) const MAX_DEPTH: usize = 100;

/// Appends `node` as one document of a stream, as the emitter would after STREAM-START
/// (`first`) or after a DOCUMENT-END, leaving it at the start of a line. Returns false, with
/// `out` possibly half-written (the caller truncates it), for anything the emitter must decide.
pub(super) fn write_document(
    out: &mut Vec<u8>,
    node: &Node,
    first: bool,
    best_indent: i64,
    compact_sequences: bool,
) -> bool {
    let root = if node.kind == Kind::Document {
        if !plain_extra(node) || node.content.len() != 1 {
            return false;
        }
        &node.content[0]
    } else {
        node
    };
    if !matches!(root.kind, Kind::Mapping | Kind::Sequence) {
        return false;
    }
    let out_len = out.len();
    let mut writer = Writer {
        out,
        best_indent,
        compact_sequences,
        indent: -1,
        line_start: out_len,
        whitespace: true,
        indention: true,
        depth: 0,
        flow: false,
    };
    if !first {
        writer.indicator(b"---", true, false, false);
        writer.write_indent();
    }
    if !writer.value(root, Parent::Document, false) {
        return false;
    }
    writer.write_indent();
    true
}

/// No anchor and no comments.
fn plain_extra(node: &Node) -> bool {
    node.extra.as_deref().is_none_or(|e| {
        e.anchor.is_empty() && e.head_comment.is_empty() && e.line_comment.is_empty() && e.foot_comment.is_empty()
    })
}

/// The encoder drops a collection's tag when it is the one its kind resolves to.
fn implicit_collection(node: &Node) -> bool {
    if node.tag.is_empty() {
        return true;
    }
    if node.style.contains(Style::TAGGED) {
        return false;
    }
    let tag = short_tag(&node.tag);
    tag == if node.kind == Kind::Mapping { MAP_TAG } else { SEQ_TAG }
}

/// The scalar styles this writer writes.
#[derive(Clone, Copy, PartialEq)]
enum Quoting {
    Plain,
    Single,
    Double,
    Literal,
}

impl Writer<'_> {
    fn column(&self) -> i64 {
        (self.out.len() - self.line_start) as i64
    }

    fn put_break(&mut self) {
        self.out.push(b'\n');
        self.line_start = self.out.len();
        self.indention = true;
    }

    /// `yaml_emitter_write_indent` with no foot comment pending.
    fn write_indent(&mut self) {
        let indent = self.indent.max(0);
        let column = self.column();
        if !self.indention || column > indent || (column == indent && !self.whitespace) {
            self.put_break();
        }
        for _ in self.column()..indent {
            self.out.push(b' ');
        }
        self.whitespace = true;
    }

    fn indicator(&mut self, indicator: &[u8], need_whitespace: bool, is_whitespace: bool, is_indention: bool) {
        if need_whitespace && !self.whitespace {
            self.out.push(b' ');
        }
        self.out.extend_from_slice(indicator);
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    /// `increase_indent_compact` for a block collection or a literal block's text (never
    /// indentless).
    fn increase_indent(&mut self, parent: Parent, compact_sequence: bool) {
        if self.indent < 0 {
            self.indent = 0;
        } else if parent == Parent::SequenceItem {
            self.indent += 2;
        } else {
            self.indent = self.best_indent * ((self.indent + self.best_indent) / self.best_indent);
            if compact_sequence {
                self.indent -= 2;
            }
        }
    }

    /// `emit_node` outside a key: a collection or a scalar.
    fn value(&mut self, node: &Node, parent: Parent, mapping_context: bool) -> bool {
        if !plain_extra(node) {
            return false;
        }
        match node.kind {
            Kind::Scalar => self.scalar(node, false, parent),
            Kind::Mapping | Kind::Sequence => {
                if !implicit_collection(node) || self.depth == MAX_DEPTH {
                    return false;
                }
                self.depth += 1;
                // Inside a flow collection everything is flow; an empty one is flow anywhere.
                let written = if self.flow || node.style.contains(Style::FLOW) || node.content.is_empty() {
                    self.flow_collection(node)
                } else if node.kind == Kind::Mapping {
                    self.block_mapping(node, parent)
                } else {
                    self.block_sequence(node, parent, mapping_context)
                };
                self.depth -= 1;
                written
            }
            Kind::Document | Kind::Alias => false,
        }
    }

    /// A flow collection. Lines never fold, so no indent is ever written inside one.
    fn flow_collection(&mut self, node: &Node) -> bool {
        let mapping = node.kind == Kind::Mapping;
        self.indicator(if mapping { b"{" } else { b"[" }, true, true, false);
        let outer = std::mem::replace(&mut self.flow, true);
        let written = if mapping {
            node.content.chunks(2).enumerate().all(|(i, pair)| {
                let [key, value] = pair else {
                    return false;
                };
                if i > 0 {
                    self.indicator(b",", false, false, false);
                }
                if !self.simple_key(key) {
                    return false;
                }
                self.indicator(b":", false, false, false);
                self.value(value, Parent::MappingValue, true)
            })
        } else {
            node.content.iter().enumerate().all(|(i, item)| {
                if i > 0 {
                    self.indicator(b",", false, false, false);
                }
                self.value(item, Parent::SequenceItem, false)
            })
        };
        self.flow = outer;
        self.indicator(if mapping { b"}" } else { b"]" }, false, false, false);
        written
    }

    /// A simple key: a one-line scalar of at most 128 bytes (anything else takes `? `).
    fn simple_key(&mut self, key: &Node) -> bool {
        key.kind == Kind::Scalar
            && key.value.len() <= 128
            && plain_extra(key)
            && self.scalar(key, true, Parent::MappingValue)
    }

    fn block_mapping(&mut self, node: &Node, parent: Parent) -> bool {
        let outer = self.indent;
        self.increase_indent(parent, false);
        for pair in node.content.chunks(2) {
            let [key, value] = pair else {
                return false;
            };
            self.write_indent();
            if !self.simple_key(key) {
                return false;
            }
            self.indicator(b":", false, false, false);
            if !self.value(value, Parent::MappingValue, true) {
                return false;
            }
        }
        self.indent = outer;
        true
    }

    fn block_sequence(&mut self, node: &Node, parent: Parent, mapping_context: bool) -> bool {
        let outer = self.indent;
        let compact = mapping_context && (self.column() == 0 || !self.indention) && self.compact_sequences;
        self.increase_indent(parent, compact);
        for item in &node.content {
            self.write_indent();
            self.indicator(b"-", true, false, true);
            if !self.value(item, Parent::SequenceItem, false) {
                return false;
            }
        }
        self.indent = outer;
        true
    }

    /// The encoder's tag and style choice and the emitter's `select_scalar_style`, for a
    /// one-line scalar whose tag the encoder leaves out.
    fn scalar(&mut self, node: &Node, simple_key: bool, parent: Parent) -> bool {
        let value = node.value.as_bytes();
        let mut force_quoting = false;
        if !node.tag.is_empty() {
            if node.style.contains(Style::TAGGED) {
                return false;
            }
            let tag = short_tag(&node.tag);
            let quoted = node
                .style
                .contains(Style::SINGLE_QUOTED | Style::DOUBLE_QUOTED | Style::LITERAL | Style::FOLDED);
            if !(tag == STR_TAG && quoted) && resolve::resolve_tag(&node.value) != tag {
                if tag != STR_TAG {
                    return false;
                }
                force_quoting = true;
            }
        }
        let mut quoting = if node.style.contains(Style::DOUBLE_QUOTED) {
            Quoting::Double
        } else if node.style.contains(Style::SINGLE_QUOTED) {
            Quoting::Single
        } else if node.style.contains(Style::FOLDED) {
            return false;
        } else if node.style.contains(Style::LITERAL) || value.contains(&b'\n') {
            Quoting::Literal
        } else if force_quoting {
            Quoting::Double
        } else {
            Quoting::Plain
        };
        let analysis = analyze(value, true);
        if quoting == Quoting::Literal && (!analysis.block_allowed || self.flow || simple_key) {
            quoting = Quoting::Double;
        }
        // Line breaks only in a literal block.
        if analysis.multiline && quoting != Quoting::Literal {
            return false;
        }
        let plain_allowed = if self.flow {
            analysis.flow_plain_allowed
        } else {
            analysis.block_plain_allowed
        };
        if quoting == Quoting::Plain && (!plain_allowed || (value.is_empty() && (self.flow || simple_key))) {
            quoting = Quoting::Single;
        }
        if quoting == Quoting::Single && !analysis.single_quoted_allowed {
            quoting = Quoting::Double;
        }
        match quoting {
            Quoting::Plain => {
                if !value.is_empty() {
                    if !self.whitespace {
                        self.out.push(b' ');
                    }
                    self.out.extend_from_slice(value);
                    self.whitespace = false;
                }
            }
            Quoting::Single => {
                self.indicator(b"'", true, false, false);
                for &b in value {
                    if b == b'\'' {
                        self.out.push(b'\'');
                    }
                    self.out.push(b);
                }
                self.indicator(b"'", false, false, false);
            }
            Quoting::Double => {
                // Only text that needs no escape: printable ASCII but `"` and `\`.
                if !value
                    .iter()
                    .all(|&b| (0x20..=0x7E).contains(&b) && b != b'"' && b != b'\\')
                {
                    return false;
                }
                self.indicator(b"\"", true, false, false);
                self.out.extend_from_slice(value);
                self.indicator(b"\"", false, false, false);
            }
            Quoting::Literal => return self.literal(value, parent),
        }
        self.indention = false;
        true
    }

    /// `yaml_emitter_write_literal_scalar` for text of printable ASCII, tabs and line breaks,
    /// indented as the emitter indents a scalar (`increase_indent(true, false)`).
    fn literal(&mut self, value: &[u8], parent: Parent) -> bool {
        if !value
            .iter()
            .all(|&b| (0x20..=0x7E).contains(&b) || b == b'\n' || b == b'\t')
        {
            return false;
        }
        self.indicator(b"|", true, false, false);
        // The block scalar's hints: an explicit indentation when the text starts with a space
        // or a break, and the chomping its trailing breaks need.
        if matches!(value.first(), Some(b' ' | b'\n')) {
            self.indicator(&[b'0' + self.best_indent as u8], false, false, false);
        }
        let trailing = value.iter().rev().take_while(|&&b| b == b'\n').count();
        if trailing == 0 {
            self.indicator(b"-", false, false, false);
        } else if trailing >= 2 || trailing == value.len() {
            self.indicator(b"+", false, false, false);
        }
        self.put_break();
        self.whitespace = true;
        let outer = self.indent;
        self.increase_indent(parent, false);
        let mut breaks = true;
        for &b in value {
            if b == b'\n' {
                self.put_break();
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.out.push(b);
                self.indention = false;
                breaks = false;
            }
        }
        self.indent = outer;
        true
    }
}
