//! go-yaml v3 (`go.yaml.in/yaml/v3` v3.0.4) as a node tree: parse text into [`Node`]s that
//! keep styles, tags, anchors and comments, and encode nodes back to text exactly as its
//! `Encoder` does.
//!
//! This is the YAML stack of kyaml (`sigs.k8s.io/kustomize/kyaml`), which helm 4 uses to merge
//! rendered manifests for a post-renderer and to split the result back: every document a
//! post-renderer touches is re-emitted by this encoder, so helm's stored manifests can only be
//! reproduced byte for byte by the same scanner, parser, comment placement and emitter. The
//! scanner, parser and emitter are ported from `scannerc.go`, `parserc.go` and `emitterc.go`
//! decision by decision, the composer and the node encoder from `decode.go` and `encode.go`.
//!
//! The value codecs of the parent module ([`super::decode`], [`super::encode`]) stay what they
//! are: helm reads values with go-yaml v2 rules through sigs.k8s.io/yaml, which this is not.
//! This module never decodes into Go values; [`resolve::resolve`] says what a plain scalar
//! means when a caller needs it.

mod direct;
mod emitter;
mod parser;
pub mod resolve;
mod scanner;

use std::borrow::Cow;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::YamlError;

pub const NULL_TAG: &str = "!!null";
pub const BOOL_TAG: &str = "!!bool";
pub const STR_TAG: &str = "!!str";
pub const INT_TAG: &str = "!!int";
pub const FLOAT_TAG: &str = "!!float";
pub const TIMESTAMP_TAG: &str = "!!timestamp";
pub const SEQ_TAG: &str = "!!seq";
pub const MAP_TAG: &str = "!!map";
pub const BINARY_TAG: &str = "!!binary";
pub const MERGE_TAG: &str = "!!merge";

const LONG_TAG_PREFIX: &str = "tag:yaml.org,2002:";

/// `shortTag`: `tag:yaml.org,2002:str` → `!!str`.
pub fn short_tag(tag: &str) -> Cow<'_, str> {
    match tag.strip_prefix(LONG_TAG_PREFIX) {
        Some(rest) => Cow::Owned(format!("!!{rest}")),
        None => Cow::Borrowed(tag),
    }
}

/// `longTag`: `!!str` → `tag:yaml.org,2002:str`.
pub fn long_tag(tag: &str) -> String {
    match tag.strip_prefix("!!") {
        Some(rest) => format!("{LONG_TAG_PREFIX}{rest}"),
        None => tag.to_string(),
    }
}

/// The kind of a [`Node`] (go-yaml's `Kind`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Kind {
    Document,
    Sequence,
    Mapping,
    #[default]
    Scalar,
    Alias,
}

/// go-yaml's `Style` bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Style(u8);

impl Style {
    pub const TAGGED: Style = Style(1);
    pub const DOUBLE_QUOTED: Style = Style(2);
    pub const SINGLE_QUOTED: Style = Style(4);
    pub const LITERAL: Style = Style(8);
    pub const FOLDED: Style = Style(16);
    pub const FLOW: Style = Style(32);

    pub const fn empty() -> Style {
        Style(0)
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// True when any bit of `other` is set.
    pub fn contains(self, other: Style) -> bool {
        self.0 & other.0 != 0
    }

    pub fn remove(&mut self, other: Style) {
        self.0 &= !other.0;
    }
}

impl std::ops::BitOr for Style {
    type Output = Style;
    fn bitor(self, other: Style) -> Style {
        Style(self.0 | other.0)
    }
}

impl std::ops::BitOrAssign for Style {
    fn bitor_assign(&mut self, other: Style) {
        self.0 |= other.0;
    }
}

/// go-yaml v3's `Node`. Mappings keep keys and values alternating in `content`. What few nodes
/// carry (an anchor, an alias's target, comments) lives apart in [`Extra`], so that the nodes a
/// walk moves and copies by the thousand stay small.
#[derive(Clone, Debug, Default)]
pub struct Node {
    pub kind: Kind,
    pub style: Style,
    /// The short tag (`!!str`, `!custom`); empty when made in code and left to resolution.
    pub tag: Cow<'static, str>,
    pub value: String,
    pub content: Vec<Node>,
    /// 1-based position in the parsed text (0 for nodes made in code).
    pub line: i64,
    pub column: i64,
    /// Read through [`Node::extra`] and the accessors; `None` and empty extras are alike.
    pub extra: Option<Box<Extra>>,
}

/// The rarely set parts of a [`Node`]. An alias keeps a copy of the node its anchor named when
/// it was parsed.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Extra {
    pub anchor: String,
    pub alias: Option<Box<Node>>,
    pub head_comment: String,
    pub line_comment: String,
    pub foot_comment: String,
}

static NO_EXTRA: Extra = Extra {
    anchor: String::new(),
    alias: None,
    head_comment: String::new(),
    line_comment: String::new(),
    foot_comment: String::new(),
};

/// Nodes are equal field by field; no extras and empty extras are the same.
impl PartialEq for Node {
    fn eq(&self, other: &Node) -> bool {
        self.kind == other.kind
            && self.style == other.style
            && self.tag == other.tag
            && self.value == other.value
            && self.line == other.line
            && self.column == other.column
            && self.content == other.content
            && self.extra() == other.extra()
    }
}

impl Node {
    /// The anchor, alias target and comments (all empty for most nodes).
    pub fn extra(&self) -> &Extra {
        self.extra.as_deref().unwrap_or(&NO_EXTRA)
    }

    /// [`Node::extra`] to change, made on first use.
    pub fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_default()
    }

    pub fn anchor(&self) -> &str {
        &self.extra().anchor
    }

    pub fn alias(&self) -> Option<&Node> {
        self.extra().alias.as_deref()
    }

    pub fn head_comment(&self) -> &str {
        &self.extra().head_comment
    }

    pub fn line_comment(&self) -> &str {
        &self.extra().line_comment
    }

    pub fn foot_comment(&self) -> &str {
        &self.extra().foot_comment
    }

    /// Sets the head comment; an empty one on a node without extras makes none.
    pub fn set_head_comment(&mut self, comment: String) {
        if !comment.is_empty() || self.extra.is_some() {
            self.extra_mut().head_comment = comment;
        }
    }

    /// Sets the line comment, as [`Node::set_head_comment`].
    pub fn set_line_comment(&mut self, comment: String) {
        if !comment.is_empty() || self.extra.is_some() {
            self.extra_mut().line_comment = comment;
        }
    }

    /// Sets the foot comment, as [`Node::set_head_comment`].
    pub fn set_foot_comment(&mut self, comment: String) {
        if !comment.is_empty() || self.extra.is_some() {
            self.extra_mut().foot_comment = comment;
        }
    }

    /// The foot comment, leaving it empty.
    pub fn take_foot_comment(&mut self) -> String {
        self.extra
            .as_mut()
            .map(|e| std::mem::take(&mut e.foot_comment))
            .unwrap_or_default()
    }

    /// A plain scalar made in code (`Kind: ScalarNode, Value: v`): its tag is resolved when
    /// encoded.
    pub fn scalar(value: impl Into<String>) -> Node {
        Node {
            kind: Kind::Scalar,
            value: value.into(),
            ..Node::default()
        }
    }

    /// `Node.SetString`: a `!!str` scalar, literal style when it spans lines.
    pub fn string(value: impl Into<String>) -> Node {
        let value = value.into();
        let style = if value.contains('\n') {
            Style::LITERAL
        } else {
            Style::empty()
        };
        Node {
            kind: Kind::Scalar,
            tag: Cow::Borrowed(STR_TAG),
            value,
            style,
            ..Node::default()
        }
    }

    /// An empty block mapping made in code.
    pub fn mapping() -> Node {
        Node {
            kind: Kind::Mapping,
            ..Node::default()
        }
    }

    /// An empty block sequence made in code.
    pub fn sequence() -> Node {
        Node {
            kind: Kind::Sequence,
            ..Node::default()
        }
    }

    /// `ShortTag`: the tag, or the one its kind or value implies.
    pub fn short_tag(&self) -> String {
        if self.indicated_string() {
            return STR_TAG.to_string();
        }
        if self.tag.is_empty() || self.tag == "!" {
            return match self.kind {
                Kind::Mapping => MAP_TAG.to_string(),
                Kind::Sequence => SEQ_TAG.to_string(),
                Kind::Alias => self.alias().map(|a| a.short_tag()).unwrap_or_default(),
                Kind::Scalar => resolve::resolve_tag(&self.value).to_string(),
                Kind::Document => String::new(),
            };
        }
        short_tag(&self.tag).into_owned()
    }

    fn indicated_string(&self) -> bool {
        self.kind == Kind::Scalar
            && (short_tag(&self.tag) == STR_TAG
                || ((self.tag.is_empty() || self.tag == "!")
                    && self
                        .style
                        .contains(Style::SINGLE_QUOTED | Style::DOUBLE_QUOTED | Style::LITERAL | Style::FOLDED)))
    }

    /// For a mapping: the value of the first key equal to `key`.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.field_index(key).map(|i| &self.content[i + 1])
    }

    /// For a mapping: the value of the first key equal to `key`, mutably.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Node> {
        self.field_index(key).map(move |i| &mut self.content[i + 1])
    }

    /// For a mapping: the index in `content` of the first key equal to `key`.
    pub fn field_index(&self, key: &str) -> Option<usize> {
        if self.kind != Kind::Mapping {
            return None;
        }
        (0..self.content.len() / 2)
            .map(|i| i * 2)
            .find(|&i| self.content[i].value == key)
    }

    /// The node a document node wraps (kyaml's `YNode`); any other node is itself.
    pub fn body(&self) -> &Node {
        match self.kind {
            Kind::Document if !self.content.is_empty() => &self.content[0],
            _ => self,
        }
    }

    /// [`Node::body`], mutably.
    pub fn body_mut(&mut self) -> &mut Node {
        match self.kind {
            Kind::Document if !self.content.is_empty() => &mut self.content[0],
            _ => self,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Mark {
    index: i64,
    line: i64,
    column: i64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum TokenType {
    #[default]
    None,
    StreamStart,
    StreamEnd,
    VersionDirective,
    TagDirective,
    DocumentStart,
    DocumentEnd,
    BlockSequenceStart,
    BlockMappingStart,
    BlockEnd,
    FlowSequenceStart,
    FlowSequenceEnd,
    FlowMappingStart,
    FlowMappingEnd,
    BlockEntry,
    FlowEntry,
    Key,
    Value,
    Alias,
    Anchor,
    Tag,
    Scalar,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum ScalarStyle {
    #[default]
    Any,
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

#[derive(Clone, Debug, Default)]
struct Token {
    typ: TokenType,
    start_mark: Mark,
    end_mark: Mark,
    value: Vec<u8>,
    suffix: Vec<u8>,
    prefix: Vec<u8>,
    style: ScalarStyle,
    major: i8,
    minor: i8,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum EventType {
    #[default]
    None,
    StreamStart,
    StreamEnd,
    DocumentStart,
    DocumentEnd,
    Alias,
    Scalar,
    SequenceStart,
    SequenceEnd,
    MappingStart,
    MappingEnd,
    TailComment,
}

impl EventType {
    fn name(self) -> &'static str {
        match self {
            EventType::None => "none",
            EventType::StreamStart => "stream start",
            EventType::StreamEnd => "stream end",
            EventType::DocumentStart => "document start",
            EventType::DocumentEnd => "document end",
            EventType::Alias => "alias",
            EventType::Scalar => "scalar",
            EventType::SequenceStart => "sequence start",
            EventType::SequenceEnd => "sequence end",
            EventType::MappingStart => "mapping start",
            EventType::MappingEnd => "mapping end",
            EventType::TailComment => "tail comment",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct TagDirective {
    handle: Vec<u8>,
    prefix: Vec<u8>,
}

#[derive(Clone, Debug, Default)]
struct Event {
    typ: EventType,
    start_mark: Mark,
    #[expect(dead_code, reason = "go-yaml's events carry it; the composer reads start marks only")]
    end_mark: Mark,
    version_directive: Option<(i8, i8)>,
    tag_directives: Vec<TagDirective>,
    head_comment: Vec<u8>,
    line_comment: Vec<u8>,
    foot_comment: Vec<u8>,
    tail_comment: Vec<u8>,
    anchor: Vec<u8>,
    tag: Vec<u8>,
    value: Vec<u8>,
    implicit: bool,
    quoted_implicit: bool,
    scalar_style: ScalarStyle,
    /// Flow style, for collection events.
    flow: bool,
}

#[derive(Clone, Debug, Default)]
struct Comment {
    scan_mark: Mark,
    token_mark: Mark,
    start_mark: Mark,
    end_mark: Mark,
    head: Vec<u8>,
    line: Vec<u8>,
    foot: Vec<u8>,
}

#[derive(Clone, Copy, Debug, Default)]
struct SimpleKey {
    possible: bool,
    required: bool,
    token_number: usize,
    mark: Mark,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum ErrorKind {
    #[default]
    None,
    Reader,
    Scanner,
    Parser,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum State {
    #[default]
    StreamStart,
    ImplicitDocumentStart,
    DocumentStart,
    DocumentContent,
    DocumentEnd,
    BlockNode,
    BlockSequenceFirstEntry,
    BlockSequenceEntry,
    IndentlessSequenceEntry,
    BlockMappingFirstKey,
    BlockMappingKey,
    BlockMappingValue,
    FlowSequenceFirstEntry,
    FlowSequenceEntry,
    FlowSequenceEntryMappingKey,
    FlowSequenceEntryMappingValue,
    FlowSequenceEntryMappingEnd,
    FlowMappingFirstKey,
    FlowMappingKey,
    FlowMappingValue,
    FlowMappingEmptyValue,
    End,
}

/// Token numbers are small distinct integers: they hash as themselves.
#[derive(Default)]
struct TokenNumberHasher(u64);

impl Hasher for TokenNumberHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 << 8) | u64::from(b);
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.0 = n as u64;
    }
}

/// `yaml_parser_t`: scanner and parser state.
#[derive(Default)]
struct Parser {
    error: ErrorKind,
    problem: String,
    context: &'static str,
    context_mark: Mark,
    problem_mark: Mark,
    buffer: Vec<u8>,
    buffer_pos: usize,
    newlines: i64,
    mark: Mark,
    head_comment: Vec<u8>,
    line_comment: Vec<u8>,
    foot_comment: Vec<u8>,
    tail_comment: Vec<u8>,
    stem_comment: Option<Vec<u8>>,
    comments: Vec<Comment>,
    comments_head: usize,
    stream_start_produced: bool,
    stream_end_produced: bool,
    flow_level: usize,
    tokens: Vec<Token>,
    tokens_head: usize,
    tokens_parsed: usize,
    token_available: bool,
    indent: i64,
    indents: Vec<i64>,
    simple_key_allowed: bool,
    simple_keys: Vec<SimpleKey>,
    simple_keys_by_tok: HashMap<usize, usize, BuildHasherDefault<TokenNumberHasher>>,
    state: State,
    states: Vec<State>,
    marks: Vec<Mark>,
    tag_directives: Vec<TagDirective>,
}

/// The characters go-yaml's reader accepts (`yaml_parser_update_buffer`).
fn readable(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7E}' | '\u{85}' | '\u{A0}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..='\u{10FFFF}')
}

impl Parser {
    fn new(text: &str) -> Parser {
        let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
        let mut buffer = Vec::with_capacity(text.len() + 8);
        buffer.extend_from_slice(text.as_bytes());
        buffer.extend_from_slice(&[0; 8]);
        let mut parser = Parser {
            buffer,
            ..Parser::default()
        };
        if text.chars().any(|c| !readable(c)) {
            parser.error = ErrorKind::Reader;
            parser.problem = "control characters are not allowed".to_string();
        }
        parser
    }
}

/// go-yaml v3's `Decoder` over a string: one document node per [`Decoder::next_document`].
pub struct Decoder {
    composer: parser::Composer,
}

impl Decoder {
    pub fn new(text: &str) -> Decoder {
        Decoder {
            composer: parser::Composer::new(Parser::new(text)),
        }
    }

    /// `Decoder.Decode(&node)`: the next document, `None` at the end of the stream (Go's
    /// `io.EOF`). The error text is go-yaml's (`yaml: line 3: could not find expected ':'`).
    pub fn next_document(&mut self) -> Result<Option<Node>, YamlError> {
        if self.composer.parser.error == ErrorKind::Reader {
            return Err(YamlError {
                message: format!("yaml: {}", self.composer.parser.problem),
                line: None,
                column: None,
            });
        }
        self.composer.parse().map_err(|message| {
            let p = &self.composer.parser;
            let mark = if p.problem_mark.line != 0 || p.problem_mark.column != 0 {
                p.problem_mark
            } else {
                p.context_mark
            };
            YamlError {
                message,
                line: Some(mark.line as usize + 1),
                column: Some(mark.column as usize + 1),
            }
        })
    }
}

/// The first document of `text`, as `Decoder::new(text).next_document()` returns it. A document
/// in the block subset without comments (what templates render, most of the time) is read by
/// the value decoder's block-subset reader (`yaml::block`), building the same nodes; anything
/// else by the full parser.
pub fn first_document(text: &str) -> Result<Option<Node>, YamlError> {
    match quick_document(text) {
        Some(document) => Ok(Some(document)),
        None => Decoder::new(text).next_document(),
    }
}

/// The document node of `text` from the block-subset reader, when it answers. Comments (whose
/// placement go-yaml v3 decides in its scanner) and text beyond ASCII (whose columns count
/// characters) go to the full parser.
fn quick_document(text: &str) -> Option<Node> {
    let bytes = text.as_bytes();
    if !bytes.is_ascii()
        || bytes
            .iter()
            .enumerate()
            .any(|(i, &b)| b == b'#' && (i == 0 || matches!(bytes[i - 1], b' ' | b'\n')))
    {
        return None;
    }
    let (root, _) = super::block::read(text, &super::Shape::Any, Nodes)?;
    Some(Node {
        kind: Kind::Document,
        line: root.line,
        column: root.column,
        content: vec![root],
        ..Node::default()
    })
}

/// What the block-subset reader builds for [`quick_document`]: nodes as the composer makes them.
struct Nodes;

impl<'t> super::block::Build<'t> for Nodes {
    type Node = Node;
    type Open = Node;

    fn scalar(&mut self, value: Cow<'t, str>, written: super::block::Written, at: super::block::At) -> Node {
        use super::block::Written;
        let style = match written {
            Written::Plain => Style::empty(),
            Written::SingleQuoted => Style::SINGLE_QUOTED,
            Written::DoubleQuoted => Style::DOUBLE_QUOTED,
            Written::Literal => Style::LITERAL,
        };
        Node {
            kind: Kind::Scalar,
            style,
            tag: Cow::Borrowed(implicit_scalar_tag(&value, written != Written::Plain)),
            value: value.into_owned(),
            line: at.line as i64 + 1,
            column: at.column as i64 + 1,
            ..Node::default()
        }
    }

    fn open(&mut self, mapping: bool, flow: bool, at: super::block::At) -> Node {
        Node {
            kind: if mapping { Kind::Mapping } else { Kind::Sequence },
            style: if flow { Style::FLOW } else { Style::empty() },
            tag: Cow::Borrowed(if mapping { MAP_TAG } else { SEQ_TAG }),
            line: at.line as i64 + 1,
            column: at.column as i64 + 1,
            ..Node::default()
        }
    }

    fn close(&mut self, mut open: Node, children: Vec<Node>) -> Node {
        open.content = children;
        open
    }

    /// Never used: v3 reads are not shaped, so nothing is left out.
    fn skipped() -> Node {
        Node::default()
    }

    fn is_skipped(_: &Node) -> bool {
        false
    }
}

/// The tag the composer gives a scalar written without one: `!!str` when quoted or a block
/// scalar, `!!merge` for a plain `<<`, else what the value resolves to.
fn implicit_scalar_tag(value: &str, quoted: bool) -> &'static str {
    match quoted {
        true => STR_TAG,
        false if value == "<<" => MERGE_TAG,
        false => resolve::resolve_tag(value),
    }
}

/// Every document of `text`, as repeated `Decoder.Decode` calls return them.
pub fn parse_documents(text: &str) -> Result<Vec<Node>, YamlError> {
    let mut decoder = Decoder::new(text);
    let mut documents = Vec::new();
    while let Some(document) = decoder.next_document()? {
        documents.push(document);
    }
    Ok(documents)
}

/// go-yaml v3's `Encoder` writing nodes.
pub struct Encoder {
    emitter: emitter::Emitter,
    started: bool,
    /// Whether plain block documents skip the emitter (`direct`); off only in tests that hold
    /// the two to the same output.
    direct: bool,
}

impl Encoder {
    /// `NewEncoder` with `SetIndent(indent)`; `compact_sequences` is `CompactSeqIndent()`.
    pub fn new(indent: usize, compact_sequences: bool) -> Encoder {
        let mut emitter = emitter::Emitter::new(if indent == 0 { 4 } else { indent as i64 });
        emitter.compact_sequence_indent = compact_sequences;
        Encoder {
            emitter,
            started: false,
            direct: true,
        }
    }

    fn emit(&mut self, event: Event) -> Result<(), YamlError> {
        if self.emitter.emit(event) {
            Ok(())
        } else {
            Err(YamlError {
                message: format!(
                    "yaml: {}",
                    self.emitter
                        .problem
                        .clone()
                        .unwrap_or_else(|| "unknown problem generating YAML content".to_string())
                ),
                line: None,
                column: None,
            })
        }
    }

    /// `Encoder.Encode(node)`: one document (a document node, or any node wrapped in an
    /// implicit one).
    pub fn encode(&mut self, node: &Node) -> Result<(), YamlError> {
        if !self.started {
            self.emit(Event {
                typ: EventType::StreamStart,
                ..Event::default()
            })?;
            self.started = true;
        }
        if self.direct
            && let Some(first) = self.emitter.direct_document_start()
        {
            let mark = self.emitter.out.len();
            let (indent, compact) = (self.emitter.best_indent(), self.emitter.compact_sequence_indent);
            if direct::write_document(&mut self.emitter.out, node, first, indent, compact) {
                self.emitter.direct_document_written();
                return Ok(());
            }
            self.emitter.out.truncate(mark);
        }
        if node.kind == Kind::Document {
            self.node(node, "")
        } else {
            self.emit(Event {
                typ: EventType::DocumentStart,
                implicit: true,
                ..Event::default()
            })?;
            self.node(node, "")?;
            self.emit(Event {
                typ: EventType::DocumentEnd,
                implicit: true,
                ..Event::default()
            })
        }
    }

    /// `Encoder.Close()`: ends the stream and returns the text.
    pub fn finish(mut self) -> Result<String, YamlError> {
        if self.started {
            self.emitter.open_ended = false;
            self.emit(Event {
                typ: EventType::StreamEnd,
                ..Event::default()
            })?;
        }
        Ok(String::from_utf8(self.emitter.out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
    }

    /// `encoder.node`.
    fn node(&mut self, node: &Node, tail: &str) -> Result<(), YamlError> {
        // If the tag was not explicitly requested, and dropping it won't change the implicit
        // tag of the value, don't include it in the presentation.
        let mut tag: Cow<'_, str> = Cow::Borrowed(&node.tag);
        let stag = short_tag(&tag);
        let mut force_quoting = false;
        if !tag.is_empty() && !node.style.contains(Style::TAGGED) {
            if node.kind == Kind::Scalar {
                if stag == STR_TAG
                    && node
                        .style
                        .contains(Style::SINGLE_QUOTED | Style::DOUBLE_QUOTED | Style::LITERAL | Style::FOLDED)
                {
                    tag = Cow::Borrowed("");
                } else {
                    let rtag = resolve::resolve_tag(&node.value);
                    if rtag == stag {
                        tag = Cow::Borrowed("");
                    } else if stag == STR_TAG {
                        tag = Cow::Borrowed("");
                        force_quoting = true;
                    }
                }
            } else {
                let rtag = match node.kind {
                    Kind::Mapping => MAP_TAG,
                    Kind::Sequence => SEQ_TAG,
                    _ => "",
                };
                if rtag == stag {
                    tag = Cow::Borrowed("");
                }
            }
        }
        let long = long_tag(&tag).into_bytes();
        let comments = |event: &mut Event| {
            event.head_comment = node.head_comment().as_bytes().to_vec();
            event.line_comment = node.line_comment().as_bytes().to_vec();
            event.foot_comment = node.foot_comment().as_bytes().to_vec();
        };
        match node.kind {
            Kind::Document => {
                self.emit(Event {
                    typ: EventType::DocumentStart,
                    implicit: true,
                    head_comment: node.head_comment().as_bytes().to_vec(),
                    ..Event::default()
                })?;
                for child in &node.content {
                    self.node(child, "")?;
                }
                self.emit(Event {
                    typ: EventType::DocumentEnd,
                    implicit: true,
                    foot_comment: node.foot_comment().as_bytes().to_vec(),
                    ..Event::default()
                })?;
            }
            Kind::Sequence => {
                self.emit(Event {
                    typ: EventType::SequenceStart,
                    anchor: node.anchor().as_bytes().to_vec(),
                    tag: long,
                    implicit: tag.is_empty(),
                    flow: node.style.contains(Style::FLOW),
                    head_comment: node.head_comment().as_bytes().to_vec(),
                    ..Event::default()
                })?;
                for child in &node.content {
                    self.node(child, "")?;
                }
                self.emit(Event {
                    typ: EventType::SequenceEnd,
                    line_comment: node.line_comment().as_bytes().to_vec(),
                    foot_comment: node.foot_comment().as_bytes().to_vec(),
                    ..Event::default()
                })?;
            }
            Kind::Mapping => {
                self.emit(Event {
                    typ: EventType::MappingStart,
                    anchor: node.anchor().as_bytes().to_vec(),
                    tag: long,
                    implicit: tag.is_empty(),
                    flow: node.style.contains(Style::FLOW),
                    tail_comment: tail.as_bytes().to_vec(),
                    head_comment: node.head_comment().as_bytes().to_vec(),
                    ..Event::default()
                })?;
                // The foot comment of a key moves to the following key, so that it is written
                // after the whole value; the last one goes with the mapping end.
                let mut tail = String::new();
                let mut i = 0;
                while i + 1 < node.content.len() {
                    let key = &node.content[i];
                    let foot = key.foot_comment().to_string();
                    if foot.is_empty() {
                        self.node(key, &tail)?;
                    } else {
                        let mut copy = key.clone();
                        copy.take_foot_comment();
                        self.node(&copy, &tail)?;
                    }
                    tail = foot;
                    self.node(&node.content[i + 1], "")?;
                    i += 2;
                }
                self.emit(Event {
                    typ: EventType::MappingEnd,
                    tail_comment: tail.into_bytes(),
                    line_comment: node.line_comment().as_bytes().to_vec(),
                    foot_comment: node.foot_comment().as_bytes().to_vec(),
                    ..Event::default()
                })?;
            }
            Kind::Alias => {
                let mut event = Event {
                    typ: EventType::Alias,
                    anchor: node.value.as_bytes().to_vec(),
                    ..Event::default()
                };
                comments(&mut event);
                self.emit(event)?;
            }
            Kind::Scalar => {
                let value = &node.value;
                let style = if node.style.contains(Style::DOUBLE_QUOTED) {
                    ScalarStyle::DoubleQuoted
                } else if node.style.contains(Style::SINGLE_QUOTED) {
                    ScalarStyle::SingleQuoted
                } else if node.style.contains(Style::LITERAL) {
                    ScalarStyle::Literal
                } else if node.style.contains(Style::FOLDED) {
                    ScalarStyle::Folded
                } else if value.contains('\n') {
                    ScalarStyle::Literal
                } else if force_quoting {
                    ScalarStyle::DoubleQuoted
                } else {
                    ScalarStyle::Plain
                };
                let implicit = tag.is_empty();
                let mut event = Event {
                    typ: EventType::Scalar,
                    anchor: node.anchor().as_bytes().to_vec(),
                    tag: long,
                    value: value.as_bytes().to_vec(),
                    implicit,
                    quoted_implicit: implicit,
                    scalar_style: style,
                    tail_comment: tail.as_bytes().to_vec(),
                    ..Event::default()
                };
                comments(&mut event);
                self.emit(event)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
