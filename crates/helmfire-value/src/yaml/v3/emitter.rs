//! go-yaml v3's emitter (`emitterc.go`): events to text, with comments, anchors, tags, flow
//! collections and `CompactSeqIndent`, decision by decision. Unicode is always allowed and
//! lines never fold (the encoder's unlimited best width), as kyaml's encoder is configured.

use super::scanner::{is_alpha, is_blank, is_blankz, is_break, is_space, width};
use super::{Event, EventType, ScalarStyle, TagDirective};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EmitState {
    StreamStart,
    FirstDocumentStart,
    DocumentStart,
    DocumentContent,
    DocumentEnd,
    FlowSequenceFirstItem,
    FlowSequenceTrailItem,
    FlowSequenceItem,
    FlowMappingFirstKey,
    FlowMappingTrailKey,
    FlowMappingKey,
    FlowMappingSimpleValue,
    FlowMappingValue,
    BlockSequenceFirstItem,
    BlockSequenceItem,
    BlockMappingFirstKey,
    BlockMappingKey,
    BlockMappingSimpleValue,
    BlockMappingValue,
    End,
}

#[derive(Default)]
struct ScalarData {
    value: Vec<u8>,
    multiline: bool,
    flow_plain_allowed: bool,
    block_plain_allowed: bool,
    single_quoted_allowed: bool,
    block_allowed: bool,
    style: ScalarStyle,
}

pub(super) struct Emitter {
    pub(super) out: Vec<u8>,
    best_indent: i64,
    best_width: i64,
    state: EmitState,
    states: Vec<EmitState>,
    /// Queued events (from `events_head` on) and, alongside, their types: the lookahead reads
    /// only types, so an event that needs none is processed without being queued.
    events: Vec<Event>,
    types: Vec<EventType>,
    events_head: usize,
    indents: Vec<i64>,
    tag_directives: Vec<TagDirective>,
    indent: i64,
    pub(super) compact_sequence_indent: bool,
    flow_level: i64,
    root_context: bool,
    mapping_context: bool,
    simple_key_context: bool,
    line: i64,
    column: i64,
    whitespace: bool,
    indention: bool,
    pub(super) open_ended: bool,
    space_above: bool,
    foot_indent: i64,
    anchor: Option<(Vec<u8>, bool)>,
    tag_handle: Vec<u8>,
    tag_suffix: Vec<u8>,
    scalar: ScalarData,
    head_comment: Vec<u8>,
    line_comment: Vec<u8>,
    foot_comment: Vec<u8>,
    tail_comment: Vec<u8>,
    key_line_comment: Vec<u8>,
    pub(super) problem: Option<String>,
}

const DEFAULT_TAG_DIRECTIVES: [(&[u8], &[u8]); 2] = [(b"!", b"!"), (b"!!", b"tag:yaml.org,2002:")];

fn is_printable(b: &[u8], i: usize) -> bool {
    let at = |k: usize| b.get(i + k).copied().unwrap_or(0);
    let c = at(0);
    c == 0x0A
        || (0x20..=0x7E).contains(&c)
        || (c == 0xC2 && at(1) >= 0xA0)
        || (c > 0xC2 && c < 0xED)
        || (c == 0xED && at(1) < 0xA0)
        || c == 0xEE
        || (c == 0xEF && !(at(1) == 0xBB && at(2) == 0xBF) && !(at(1) == 0xBF && (at(2) == 0xBE || at(2) == 0xBF)))
}

fn is_bom(b: &[u8]) -> bool {
    b.len() >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF
}

impl Emitter {
    pub(super) fn new(best_indent: i64) -> Emitter {
        Emitter {
            out: Vec::new(),
            best_indent,
            best_width: -1,
            state: EmitState::StreamStart,
            states: Vec::new(),
            events: Vec::new(),
            types: Vec::new(),
            events_head: 0,
            indents: Vec::new(),
            tag_directives: Vec::new(),
            indent: 0,
            compact_sequence_indent: false,
            flow_level: 0,
            root_context: false,
            mapping_context: false,
            simple_key_context: false,
            line: 0,
            column: 0,
            whitespace: false,
            indention: false,
            open_ended: false,
            space_above: false,
            foot_indent: 0,
            anchor: None,
            tag_handle: Vec::new(),
            tag_suffix: Vec::new(),
            scalar: ScalarData::default(),
            head_comment: Vec::new(),
            line_comment: Vec::new(),
            foot_comment: Vec::new(),
            tail_comment: Vec::new(),
            key_line_comment: Vec::new(),
            problem: None,
        }
    }

    /// Where a document written straight from its nodes (`super::direct`) may go: at a
    /// document boundary with no event queued and no comment left over from the last document
    /// (a line comment of a root mapping waits there). `Some(true)` before the stream's first
    /// document.
    pub(super) fn direct_document_start(&self) -> Option<bool> {
        if self.events_head != self.types.len()
            || !self.head_comment.is_empty()
            || self.comments_pending()
            || !self.key_line_comment.is_empty()
        {
            return None;
        }
        match self.state {
            EmitState::FirstDocumentStart => Some(true),
            EmitState::DocumentStart => Some(false),
            _ => None,
        }
    }

    /// The indent STREAM-START settled on.
    pub(super) fn best_indent(&self) -> i64 {
        self.best_indent
    }

    /// After a document written straight into `out`: the state its DOCUMENT-END would leave.
    pub(super) fn direct_document_written(&mut self) {
        self.state = EmitState::DocumentStart;
        self.tag_directives.clear();
        self.indent = -1;
        self.column = 0;
        self.whitespace = true;
        self.indention = true;
        self.open_ended = false;
        self.space_above = false;
        self.foot_indent = -1;
    }

    fn error(&mut self, problem: &str) -> bool {
        self.problem = Some(problem.to_string());
        false
    }

    fn put(&mut self, value: u8) -> bool {
        self.out.push(value);
        self.column += 1;
        true
    }

    fn put_break(&mut self) -> bool {
        self.out.push(b'\n');
        if self.column == 0 {
            self.space_above = true;
        }
        self.column = 0;
        self.line += 1;
        self.indention = true;
        true
    }

    fn write(&mut self, s: &[u8], i: &mut usize) -> bool {
        let w = width(s[*i]).max(1).min(s.len() - *i);
        self.out.extend_from_slice(&s[*i..*i + w]);
        self.column += 1;
        *i += w;
        true
    }

    fn write_all(&mut self, s: &[u8]) -> bool {
        let mut i = 0;
        while i < s.len() {
            self.write(s, &mut i);
        }
        true
    }

    fn write_break(&mut self, s: &[u8], i: &mut usize) -> bool {
        if s[*i] == b'\n' {
            self.put_break();
            *i += 1;
        } else {
            self.write(s, i);
            if self.column == 0 {
                self.space_above = true;
            }
            self.column = 0;
            self.line += 1;
            self.indention = true;
        }
        true
    }

    /// `yaml_emitter_emit`: queues the event and processes what the lookahead allows.
    pub(super) fn emit(&mut self, mut event: Event) -> bool {
        let lookahead = matches!(
            event.typ,
            EventType::DocumentStart | EventType::SequenceStart | EventType::MappingStart
        );
        if self.events_head == self.types.len() && !lookahead {
            // Nothing waits and this event needs nothing after it: processed where it is, its
            // type alone queued for the checks that read the head of the queue.
            self.events.clear();
            self.types.clear();
            self.events_head = 0;
            self.types.push(event.typ);
            let done = self.analyze_event(&mut event) && self.state_machine(&event);
            self.types.clear();
            return done;
        }
        self.types.push(event.typ);
        self.events.push(event);
        while !self.need_more_events() {
            let mut event = std::mem::take(&mut self.events[self.events_head]);
            if !self.analyze_event(&mut event) {
                return false;
            }
            if !self.state_machine(&event) {
                return false;
            }
            self.events_head += 1;
        }
        if self.events_head == self.types.len() {
            self.events.clear();
            self.types.clear();
            self.events_head = 0;
        }
        true
    }

    fn need_more_events(&self) -> bool {
        if self.events_head == self.types.len() {
            return true;
        }
        let accumulate = match self.types[self.events_head] {
            EventType::DocumentStart => 1,
            EventType::SequenceStart => 2,
            EventType::MappingStart => 3,
            _ => return false,
        };
        if self.types.len() - self.events_head > accumulate {
            return false;
        }
        let mut level = 0i64;
        for typ in &self.types[self.events_head..] {
            match typ {
                EventType::StreamStart
                | EventType::DocumentStart
                | EventType::SequenceStart
                | EventType::MappingStart => level += 1,
                EventType::StreamEnd | EventType::DocumentEnd | EventType::SequenceEnd | EventType::MappingEnd => {
                    level -= 1
                }
                _ => {}
            }
            if level == 0 {
                return false;
            }
        }
        true
    }

    fn append_tag_directive(&mut self, value: &TagDirective, allow_duplicates: bool) -> bool {
        if self.tag_directives.iter().any(|d| d.handle == value.handle) {
            if allow_duplicates {
                return true;
            }
            return self.error("duplicate %TAG directive");
        }
        self.tag_directives.push(value.clone());
        true
    }

    fn increase_indent_compact(&mut self, flow: bool, indentless: bool, compact_seq: bool) -> bool {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { self.best_indent } else { 0 };
        } else if !indentless {
            if self.states.last() == Some(&EmitState::BlockSequenceItem) {
                // The first indent inside a sequence will just skip the "- " indicator.
                self.indent += 2;
            } else {
                // Everything else aligns to the chosen indentation.
                self.indent = self.best_indent * ((self.indent + self.best_indent) / self.best_indent);
                if compact_seq {
                    self.indent -= 2;
                }
            }
        }
        true
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) -> bool {
        self.increase_indent_compact(flow, indentless, false)
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn pop_state(&mut self) {
        self.state = self.states.pop().unwrap_or(EmitState::End);
    }

    fn state_machine(&mut self, event: &Event) -> bool {
        match self.state {
            EmitState::StreamStart => self.emit_stream_start(event),
            EmitState::FirstDocumentStart => self.emit_document_start(event, true),
            EmitState::DocumentStart => self.emit_document_start(event, false),
            EmitState::DocumentContent => self.emit_document_content(event),
            EmitState::DocumentEnd => self.emit_document_end(event),
            EmitState::FlowSequenceFirstItem => self.emit_flow_sequence_item(event, true, false),
            EmitState::FlowSequenceTrailItem => self.emit_flow_sequence_item(event, false, true),
            EmitState::FlowSequenceItem => self.emit_flow_sequence_item(event, false, false),
            EmitState::FlowMappingFirstKey => self.emit_flow_mapping_key(event, true, false),
            EmitState::FlowMappingTrailKey => self.emit_flow_mapping_key(event, false, true),
            EmitState::FlowMappingKey => self.emit_flow_mapping_key(event, false, false),
            EmitState::FlowMappingSimpleValue => self.emit_flow_mapping_value(event, true),
            EmitState::FlowMappingValue => self.emit_flow_mapping_value(event, false),
            EmitState::BlockSequenceFirstItem => self.emit_block_sequence_item(event, true),
            EmitState::BlockSequenceItem => self.emit_block_sequence_item(event, false),
            EmitState::BlockMappingFirstKey => self.emit_block_mapping_key(event, true),
            EmitState::BlockMappingKey => self.emit_block_mapping_key(event, false),
            EmitState::BlockMappingSimpleValue => self.emit_block_mapping_value(event, true),
            EmitState::BlockMappingValue => self.emit_block_mapping_value(event, false),
            EmitState::End => self.error("expected nothing after STREAM-END"),
        }
    }

    fn emit_stream_start(&mut self, event: &Event) -> bool {
        if event.typ != EventType::StreamStart {
            return self.error("expected STREAM-START");
        }
        if self.best_indent < 2 || self.best_indent > 9 {
            self.best_indent = 2;
        }
        if self.best_width >= 0 && self.best_width <= self.best_indent * 2 {
            self.best_width = 80;
        }
        if self.best_width < 0 {
            self.best_width = (1 << 31) - 1;
        }
        self.indent = -1;
        self.line = 0;
        self.column = 0;
        self.whitespace = true;
        self.indention = true;
        self.space_above = true;
        self.foot_indent = -1;
        self.state = EmitState::FirstDocumentStart;
        true
    }

    fn emit_document_start(&mut self, event: &Event, first: bool) -> bool {
        if event.typ == EventType::DocumentStart {
            if let Some((major, minor)) = event.version_directive
                && (major != 1 || minor != 1)
            {
                return self.error("incompatible %YAML directive");
            }
            for directive in &event.tag_directives {
                if !self.analyze_tag_directive(directive) || !self.append_tag_directive(directive, false) {
                    return false;
                }
            }
            for (handle, prefix) in DEFAULT_TAG_DIRECTIVES {
                let directive = TagDirective {
                    handle: handle.to_vec(),
                    prefix: prefix.to_vec(),
                };
                if !self.append_tag_directive(&directive, true) {
                    return false;
                }
            }
            let mut implicit = event.implicit;
            if !first {
                implicit = false;
            }
            if self.open_ended && (event.version_directive.is_some() || !event.tag_directives.is_empty()) {
                self.write_indicator(b"...", true, false, false);
                self.write_indent();
            }
            if event.version_directive.is_some() {
                implicit = false;
                self.write_indicator(b"%YAML", true, false, false);
                self.write_indicator(b"1.1", true, false, false);
                self.write_indent();
            }
            if !event.tag_directives.is_empty() {
                implicit = false;
                for directive in &event.tag_directives {
                    self.write_indicator(b"%TAG", true, false, false);
                    self.write_tag_handle(&directive.handle);
                    self.write_tag_content(&directive.prefix, true);
                    self.write_indent();
                }
            }
            if !implicit {
                self.write_indent();
                self.write_indicator(b"---", true, false, false);
                self.write_indent();
            }
            if !self.head_comment.is_empty() {
                self.process_head_comment();
                self.put_break();
            }
            self.state = EmitState::DocumentContent;
            return true;
        }
        if event.typ == EventType::StreamEnd {
            if self.open_ended {
                self.write_indicator(b"...", true, false, false);
                self.write_indent();
            }
            self.state = EmitState::End;
            return true;
        }
        self.error("expected DOCUMENT-START or STREAM-END")
    }

    fn emit_document_content(&mut self, event: &Event) -> bool {
        self.states.push(EmitState::DocumentEnd);
        self.process_head_comment();
        if !self.emit_node(event, true, false, false, false) {
            return false;
        }
        self.process_line_comment(false);
        self.process_foot_comment();
        true
    }

    fn emit_document_end(&mut self, event: &Event) -> bool {
        if event.typ != EventType::DocumentEnd {
            return self.error("expected DOCUMENT-END");
        }
        // [Go] Force document foot separation.
        self.foot_indent = 0;
        self.process_foot_comment();
        self.foot_indent = -1;
        self.write_indent();
        if !event.implicit {
            self.write_indicator(b"...", true, false, false);
            self.write_indent();
        }
        self.state = EmitState::DocumentStart;
        self.tag_directives.clear();
        true
    }

    fn comments_pending(&self) -> bool {
        !self.line_comment.is_empty() || !self.foot_comment.is_empty() || !self.tail_comment.is_empty()
    }

    fn emit_flow_sequence_item(&mut self, event: &Event, first: bool, trail: bool) -> bool {
        if first {
            self.write_indicator(b"[", true, true, false);
            self.increase_indent(true, false);
            self.flow_level += 1;
        }
        if event.typ == EventType::SequenceEnd {
            self.flow_level -= 1;
            self.pop_indent();
            if self.column == 0 {
                self.write_indent();
            }
            self.write_indicator(b"]", false, false, false);
            self.process_line_comment(false);
            self.process_foot_comment();
            self.pop_state();
            return true;
        }
        if !first && !trail {
            self.write_indicator(b",", false, false, false);
        }
        self.process_head_comment();
        if self.column == 0 {
            self.write_indent();
        }
        if self.column > self.best_width {
            self.write_indent();
        }
        if self.comments_pending() {
            self.states.push(EmitState::FlowSequenceTrailItem);
        } else {
            self.states.push(EmitState::FlowSequenceItem);
        }
        if !self.emit_node(event, false, true, false, false) {
            return false;
        }
        if self.comments_pending() {
            self.write_indicator(b",", false, false, false);
        }
        self.process_line_comment(false);
        self.process_foot_comment();
        true
    }

    fn emit_flow_mapping_key(&mut self, event: &Event, first: bool, trail: bool) -> bool {
        if first {
            self.write_indicator(b"{", true, true, false);
            self.increase_indent(true, false);
            self.flow_level += 1;
        }
        if event.typ == EventType::MappingEnd {
            if (!self.head_comment.is_empty() || !self.foot_comment.is_empty() || !self.tail_comment.is_empty())
                && !first
                && !trail
            {
                self.write_indicator(b",", false, false, false);
            }
            self.process_head_comment();
            self.flow_level -= 1;
            self.pop_indent();
            self.write_indicator(b"}", false, false, false);
            self.process_line_comment(false);
            self.process_foot_comment();
            self.pop_state();
            return true;
        }
        if !first && !trail {
            self.write_indicator(b",", false, false, false);
        }
        self.process_head_comment();
        if self.column == 0 {
            self.write_indent();
        }
        if self.column > self.best_width {
            self.write_indent();
        }
        if self.check_simple_key() {
            self.states.push(EmitState::FlowMappingSimpleValue);
            return self.emit_node(event, false, false, true, true);
        }
        self.write_indicator(b"?", true, false, false);
        self.states.push(EmitState::FlowMappingValue);
        self.emit_node(event, false, false, true, false)
    }

    fn emit_flow_mapping_value(&mut self, event: &Event, simple: bool) -> bool {
        if simple {
            self.write_indicator(b":", false, false, false);
        } else {
            if self.column > self.best_width {
                self.write_indent();
            }
            self.write_indicator(b":", true, false, false);
        }
        if self.comments_pending() {
            self.states.push(EmitState::FlowMappingTrailKey);
        } else {
            self.states.push(EmitState::FlowMappingKey);
        }
        if !self.emit_node(event, false, false, true, false) {
            return false;
        }
        if self.comments_pending() {
            self.write_indicator(b",", false, false, false);
        }
        self.process_line_comment(false);
        self.process_foot_comment();
        true
    }

    fn emit_block_sequence_item(&mut self, event: &Event, first: bool) -> bool {
        if first {
            let seq = self.mapping_context && (self.column == 0 || !self.indention) && self.compact_sequence_indent;
            self.increase_indent_compact(false, false, seq);
        }
        if event.typ == EventType::SequenceEnd {
            self.pop_indent();
            self.pop_state();
            return true;
        }
        self.process_head_comment();
        self.write_indent();
        self.write_indicator(b"-", true, false, true);
        self.states.push(EmitState::BlockSequenceItem);
        if !self.emit_node(event, false, true, false, false) {
            return false;
        }
        self.process_line_comment(false);
        self.process_foot_comment();
        true
    }

    fn emit_block_mapping_key(&mut self, event: &Event, first: bool) -> bool {
        if first {
            self.increase_indent(false, false);
        }
        self.process_head_comment();
        if event.typ == EventType::MappingEnd {
            self.pop_indent();
            self.pop_state();
            return true;
        }
        self.write_indent();
        if !self.line_comment.is_empty() {
            // [Go] A line comment was provided for the key. Save it and render it later.
            self.key_line_comment = std::mem::take(&mut self.line_comment);
        }
        if self.check_simple_key() {
            self.states.push(EmitState::BlockMappingSimpleValue);
            return self.emit_node(event, false, false, true, true);
        }
        self.write_indicator(b"?", true, false, true);
        self.states.push(EmitState::BlockMappingValue);
        self.emit_node(event, false, false, true, false)
    }

    fn emit_block_mapping_value(&mut self, event: &Event, simple: bool) -> bool {
        if simple {
            self.write_indicator(b":", false, false, false);
        } else {
            self.write_indent();
            self.write_indicator(b":", true, false, true);
        }
        if !self.key_line_comment.is_empty() {
            if event.typ == EventType::Scalar {
                if self.line_comment.is_empty() {
                    // A scalar is coming and it has no line comments by itself yet.
                    self.line_comment = std::mem::take(&mut self.key_line_comment);
                }
            } else if !event.flow && (event.typ == EventType::MappingStart || event.typ == EventType::SequenceStart) {
                // An indented block follows, so write the comment right now.
                std::mem::swap(&mut self.line_comment, &mut self.key_line_comment);
                self.process_line_comment(false);
                std::mem::swap(&mut self.line_comment, &mut self.key_line_comment);
            }
        }
        self.states.push(EmitState::BlockMappingKey);
        if !self.emit_node(event, false, false, true, false) {
            return false;
        }
        self.process_line_comment(false);
        self.process_foot_comment();
        true
    }

    fn emit_node(&mut self, event: &Event, root: bool, _sequence: bool, mapping: bool, simple_key: bool) -> bool {
        self.root_context = root;
        self.mapping_context = mapping;
        self.simple_key_context = simple_key;
        match event.typ {
            EventType::Alias => self.emit_alias(),
            EventType::Scalar => self.emit_scalar(event),
            EventType::SequenceStart => self.emit_sequence_start(event),
            EventType::MappingStart => self.emit_mapping_start(event),
            other => self.error(&format!(
                "expected SCALAR, SEQUENCE-START, MAPPING-START, or ALIAS, but got {}",
                other.name()
            )),
        }
    }

    fn emit_alias(&mut self) -> bool {
        self.process_anchor();
        self.pop_state();
        true
    }

    fn emit_scalar(&mut self, event: &Event) -> bool {
        if !self.select_scalar_style(event) {
            return false;
        }
        self.process_anchor();
        self.process_tag();
        self.increase_indent(true, false);
        self.process_scalar();
        self.pop_indent();
        self.pop_state();
        true
    }

    fn emit_sequence_start(&mut self, event: &Event) -> bool {
        self.process_anchor();
        self.process_tag();
        self.state = if self.flow_level > 0 || event.flow || self.check_empty_sequence() {
            EmitState::FlowSequenceFirstItem
        } else {
            EmitState::BlockSequenceFirstItem
        };
        true
    }

    fn emit_mapping_start(&mut self, event: &Event) -> bool {
        self.process_anchor();
        self.process_tag();
        self.state = if self.flow_level > 0 || event.flow || self.check_empty_mapping() {
            EmitState::FlowMappingFirstKey
        } else {
            EmitState::BlockMappingFirstKey
        };
        true
    }

    fn check_empty_sequence(&self) -> bool {
        self.types.len() - self.events_head >= 2
            && self.types[self.events_head] == EventType::SequenceStart
            && self.types[self.events_head + 1] == EventType::SequenceEnd
    }

    fn check_empty_mapping(&self) -> bool {
        self.types.len() - self.events_head >= 2
            && self.types[self.events_head] == EventType::MappingStart
            && self.types[self.events_head + 1] == EventType::MappingEnd
    }

    fn check_simple_key(&self) -> bool {
        let anchor_len = self.anchor.as_ref().map_or(0, |(a, _)| a.len());
        let length = match self.types[self.events_head] {
            EventType::Alias => anchor_len,
            EventType::Scalar => {
                if self.scalar.multiline {
                    return false;
                }
                anchor_len + self.tag_handle.len() + self.tag_suffix.len() + self.scalar.value.len()
            }
            EventType::SequenceStart => {
                if !self.check_empty_sequence() {
                    return false;
                }
                anchor_len + self.tag_handle.len() + self.tag_suffix.len()
            }
            EventType::MappingStart => {
                if !self.check_empty_mapping() {
                    return false;
                }
                anchor_len + self.tag_handle.len() + self.tag_suffix.len()
            }
            _ => return false,
        };
        length <= 128
    }

    fn select_scalar_style(&mut self, event: &Event) -> bool {
        let no_tag = self.tag_handle.is_empty() && self.tag_suffix.is_empty();
        if no_tag && !event.implicit && !event.quoted_implicit {
            return self.error("neither tag nor implicit flags are specified");
        }
        let mut style = event.scalar_style;
        if style == ScalarStyle::Any {
            style = ScalarStyle::Plain;
        }
        if self.simple_key_context && self.scalar.multiline {
            style = ScalarStyle::DoubleQuoted;
        }
        if style == ScalarStyle::Plain {
            if (self.flow_level > 0 && !self.scalar.flow_plain_allowed)
                || (self.flow_level == 0 && !self.scalar.block_plain_allowed)
            {
                style = ScalarStyle::SingleQuoted;
            }
            if self.scalar.value.is_empty() && (self.flow_level > 0 || self.simple_key_context) {
                style = ScalarStyle::SingleQuoted;
            }
            if no_tag && !event.implicit {
                style = ScalarStyle::SingleQuoted;
            }
        }
        if style == ScalarStyle::SingleQuoted && !self.scalar.single_quoted_allowed {
            style = ScalarStyle::DoubleQuoted;
        }
        if (style == ScalarStyle::Literal || style == ScalarStyle::Folded)
            && (!self.scalar.block_allowed || self.flow_level > 0 || self.simple_key_context)
        {
            style = ScalarStyle::DoubleQuoted;
        }
        if no_tag && !event.quoted_implicit && style != ScalarStyle::Plain {
            self.tag_handle = b"!".to_vec();
        }
        self.scalar.style = style;
        true
    }

    fn process_anchor(&mut self) {
        let Some((anchor, alias)) = self.anchor.clone() else {
            return;
        };
        self.write_indicator(if alias { b"*" } else { b"&" }, true, false, false);
        self.write_all(&anchor);
        self.whitespace = false;
        self.indention = false;
    }

    fn process_tag(&mut self) {
        if self.tag_handle.is_empty() && self.tag_suffix.is_empty() {
            return;
        }
        if !self.tag_handle.is_empty() {
            let handle = self.tag_handle.clone();
            self.write_tag_handle(&handle);
            if !self.tag_suffix.is_empty() {
                let suffix = self.tag_suffix.clone();
                self.write_tag_content(&suffix, false);
            }
        } else {
            self.write_indicator(b"!<", true, false, false);
            let suffix = self.tag_suffix.clone();
            self.write_tag_content(&suffix, false);
            self.write_indicator(b">", false, false, false);
        }
    }

    fn process_scalar(&mut self) {
        let value = std::mem::take(&mut self.scalar.value);
        let allow_breaks = !self.simple_key_context;
        match self.scalar.style {
            ScalarStyle::Plain | ScalarStyle::Any => self.write_plain_scalar(&value, allow_breaks),
            ScalarStyle::SingleQuoted => self.write_single_quoted_scalar(&value, allow_breaks),
            ScalarStyle::DoubleQuoted => self.write_double_quoted_scalar(&value, allow_breaks),
            ScalarStyle::Literal => self.write_literal_scalar(&value),
            ScalarStyle::Folded => self.write_folded_scalar(&value),
        }
        self.scalar.value = value;
    }

    fn process_head_comment(&mut self) {
        if !self.tail_comment.is_empty() {
            self.write_indent();
            let tail = std::mem::take(&mut self.tail_comment);
            self.write_comment(&tail);
            self.foot_indent = self.indent.max(0);
        }
        if self.head_comment.is_empty() {
            return;
        }
        self.write_indent();
        let head = std::mem::take(&mut self.head_comment);
        self.write_comment(&head);
    }

    fn process_line_comment(&mut self, linebreak: bool) {
        if self.line_comment.is_empty() {
            if linebreak {
                self.put_break();
            }
            return;
        }
        if !self.whitespace {
            self.put(b' ');
        }
        let line = std::mem::take(&mut self.line_comment);
        self.write_comment(&line);
    }

    fn process_foot_comment(&mut self) {
        if self.foot_comment.is_empty() {
            return;
        }
        self.write_indent();
        let foot = std::mem::take(&mut self.foot_comment);
        self.write_comment(&foot);
        self.foot_indent = self.indent.max(0);
    }

    fn analyze_tag_directive(&mut self, directive: &TagDirective) -> bool {
        let handle = &directive.handle;
        if handle.is_empty() {
            return self.error("tag handle must not be empty");
        }
        if handle[0] != b'!' {
            return self.error("tag handle must start with '!'");
        }
        if handle[handle.len() - 1] != b'!' {
            return self.error("tag handle must end with '!'");
        }
        let mut i = 1;
        while i + 1 < handle.len() {
            if !is_alpha(handle[i]) {
                return self.error("tag handle must contain alphanumerical characters only");
            }
            i += width(handle[i]).max(1);
        }
        if directive.prefix.is_empty() {
            return self.error("tag prefix must not be empty");
        }
        true
    }

    fn analyze_anchor(&mut self, anchor: &[u8], alias: bool) -> bool {
        if anchor.is_empty() {
            return self.error(if alias {
                "alias value must not be empty"
            } else {
                "anchor value must not be empty"
            });
        }
        let mut i = 0;
        while i < anchor.len() {
            if !is_alpha(anchor[i]) {
                return self.error(if alias {
                    "alias value must contain alphanumerical characters only"
                } else {
                    "anchor value must contain alphanumerical characters only"
                });
            }
            i += width(anchor[i]).max(1);
        }
        self.anchor = Some((anchor.to_vec(), alias));
        true
    }

    fn analyze_tag(&mut self, tag: &[u8]) -> bool {
        if tag.is_empty() {
            return self.error("tag value must not be empty");
        }
        for directive in &self.tag_directives {
            if tag.starts_with(&directive.prefix) {
                self.tag_handle = directive.handle.clone();
                self.tag_suffix = tag[directive.prefix.len()..].to_vec();
                return true;
            }
        }
        self.tag_suffix = tag.to_vec();
        true
    }

    /// libyaml's scalar analysis, the one go-yaml v2's emitter runs too (with v3's tab rule).
    fn analyze_scalar(&mut self, value: Vec<u8>) {
        let analysis = crate::yaml::emit::analyze(&value, true);
        let s = &mut self.scalar;
        s.value = value;
        s.multiline = analysis.multiline;
        s.flow_plain_allowed = analysis.flow_plain_allowed;
        s.block_plain_allowed = analysis.block_plain_allowed;
        s.single_quoted_allowed = analysis.single_quoted_allowed;
        s.block_allowed = analysis.block_allowed;
    }

    /// Takes the event's comments and scalar value (nothing reads them from the event later).
    fn analyze_event(&mut self, event: &mut Event) -> bool {
        self.anchor = None;
        self.tag_handle.clear();
        self.tag_suffix.clear();
        self.scalar.value.clear();
        if !event.head_comment.is_empty() {
            self.head_comment = std::mem::take(&mut event.head_comment);
        }
        if !event.line_comment.is_empty() {
            self.line_comment = std::mem::take(&mut event.line_comment);
        }
        if !event.foot_comment.is_empty() {
            self.foot_comment = std::mem::take(&mut event.foot_comment);
        }
        if !event.tail_comment.is_empty() {
            self.tail_comment = std::mem::take(&mut event.tail_comment);
        }
        match event.typ {
            EventType::Alias if !self.analyze_anchor(&event.anchor, true) => return false,
            EventType::Scalar => {
                if !event.anchor.is_empty() && !self.analyze_anchor(&event.anchor, false) {
                    return false;
                }
                if !event.tag.is_empty() && !event.implicit && !event.quoted_implicit && !self.analyze_tag(&event.tag) {
                    return false;
                }
                self.analyze_scalar(std::mem::take(&mut event.value));
            }
            EventType::SequenceStart | EventType::MappingStart => {
                if !event.anchor.is_empty() && !self.analyze_anchor(&event.anchor, false) {
                    return false;
                }
                if !event.tag.is_empty() && !event.implicit && !self.analyze_tag(&event.tag) {
                    return false;
                }
            }
            _ => {}
        }
        true
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        if self.foot_indent == indent {
            self.put_break();
        }
        while self.column < indent {
            self.put(b' ');
        }
        self.whitespace = true;
        self.space_above = false;
        self.foot_indent = -1;
    }

    fn write_indicator(&mut self, indicator: &[u8], need_whitespace: bool, is_whitespace: bool, is_indention: bool) {
        if need_whitespace && !self.whitespace {
            self.put(b' ');
        }
        self.write_all(indicator);
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
        self.open_ended = false;
    }

    fn write_tag_handle(&mut self, value: &[u8]) {
        if !self.whitespace {
            self.put(b' ');
        }
        self.write_all(value);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_tag_content(&mut self, value: &[u8], need_whitespace: bool) {
        if need_whitespace && !self.whitespace {
            self.put(b' ');
        }
        let mut i = 0;
        while i < value.len() {
            let must_write = matches!(
                value[i],
                b';' | b'/'
                    | b'?'
                    | b':'
                    | b'@'
                    | b'&'
                    | b'='
                    | b'+'
                    | b'$'
                    | b','
                    | b'_'
                    | b'.'
                    | b'~'
                    | b'*'
                    | b'\''
                    | b'('
                    | b')'
                    | b'['
                    | b']'
            ) || is_alpha(value[i]);
            if must_write {
                self.write(value, &mut i);
            } else {
                let w = width(value[i]).max(1);
                for _ in 0..w {
                    let Some(&octet) = value.get(i) else { break };
                    i += 1;
                    self.put(b'%');
                    let hex = |c: u8| if c < 10 { c + b'0' } else { c + b'A' - 10 };
                    self.put(hex(octet >> 4));
                    self.put(hex(octet & 0x0F));
                }
            }
        }
        self.whitespace = false;
        self.indention = false;
    }

    fn write_plain_scalar(&mut self, value: &[u8], allow_breaks: bool) {
        if !value.is_empty() && !self.whitespace {
            self.put(b' ');
        }
        // Lines never fold (the width is unlimited), so text without line breaks is written
        // as it is: one column per character.
        if self.best_width >= (1 << 31) - 1 && !(0..value.len()).any(|i| is_break(value, i)) {
            self.out.extend_from_slice(value);
            self.column += value.iter().filter(|&&b| b & 0xC0 != 0x80).count() as i64;
            if !value.is_empty() {
                self.whitespace = false;
            }
            self.indention = false;
            if self.root_context {
                self.open_ended = true;
            }
            return;
        }
        let mut spaces = false;
        let mut breaks = false;
        let mut i = 0;
        while i < value.len() {
            if is_space(value, i) {
                if allow_breaks && !spaces && self.column > self.best_width && !is_space(value, i + 1) {
                    self.write_indent();
                    i += 1;
                } else {
                    self.write(value, &mut i);
                }
                spaces = true;
            } else if is_break(value, i) {
                if !breaks && value[i] == b'\n' {
                    self.put_break();
                }
                self.write_break(value, &mut i);
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.write(value, &mut i);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        if !value.is_empty() {
            self.whitespace = false;
        }
        self.indention = false;
        if self.root_context {
            self.open_ended = true;
        }
    }

    fn write_single_quoted_scalar(&mut self, value: &[u8], allow_breaks: bool) {
        self.write_indicator(b"'", true, false, false);
        let mut spaces = false;
        let mut breaks = false;
        let mut i = 0;
        while i < value.len() {
            if is_space(value, i) {
                if allow_breaks
                    && !spaces
                    && self.column > self.best_width
                    && i > 0
                    && i < value.len() - 1
                    && !is_space(value, i + 1)
                {
                    self.write_indent();
                    i += 1;
                } else {
                    self.write(value, &mut i);
                }
                spaces = true;
            } else if is_break(value, i) {
                if !breaks && value[i] == b'\n' {
                    self.put_break();
                }
                self.write_break(value, &mut i);
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                if value[i] == b'\'' {
                    self.put(b'\'');
                }
                self.write(value, &mut i);
                self.indention = false;
                spaces = false;
                breaks = false;
            }
        }
        self.write_indicator(b"'", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_double_quoted_scalar(&mut self, value: &[u8], allow_breaks: bool) {
        let mut spaces = false;
        self.write_indicator(b"\"", true, false, false);
        let mut i = 0;
        while i < value.len() {
            let bom_here = value.len() - i >= 3 && is_bom(&value[i..]) && i == 0;
            if !is_printable(value, i) || bom_here || is_break(value, i) || value[i] == b'"' || value[i] == b'\\' {
                let octet = value[i];
                let (w, mut v): (usize, u32) = if octet & 0x80 == 0 {
                    (1, u32::from(octet & 0x7F))
                } else if octet & 0xE0 == 0xC0 {
                    (2, u32::from(octet & 0x1F))
                } else if octet & 0xF0 == 0xE0 {
                    (3, u32::from(octet & 0x0F))
                } else {
                    (4, u32::from(octet & 0x07))
                };
                for k in 1..w {
                    v = (v << 6) + (u32::from(value.get(i + k).copied().unwrap_or(0x80)) & 0x3F);
                }
                i += w;
                self.put(b'\\');
                match v {
                    0x00 => self.put(b'0'),
                    0x07 => self.put(b'a'),
                    0x08 => self.put(b'b'),
                    0x09 => self.put(b't'),
                    0x0A => self.put(b'n'),
                    0x0B => self.put(b'v'),
                    0x0C => self.put(b'f'),
                    0x0D => self.put(b'r'),
                    0x1B => self.put(b'e'),
                    0x22 => self.put(b'"'),
                    0x5C => self.put(b'\\'),
                    0x85 => self.put(b'N'),
                    0xA0 => self.put(b'_'),
                    0x2028 => self.put(b'L'),
                    0x2029 => self.put(b'P'),
                    _ => {
                        let (marker, digits) = if v <= 0xFF {
                            (b'x', 2)
                        } else if v <= 0xFFFF {
                            (b'u', 4)
                        } else {
                            (b'U', 8)
                        };
                        self.put(marker);
                        for k in (0..digits).rev() {
                            let digit = ((v >> (k * 4)) & 0x0F) as u8;
                            self.put(if digit < 10 { digit + b'0' } else { digit + b'A' - 10 });
                        }
                        true
                    }
                };
                spaces = false;
            } else if is_space(value, i) {
                if allow_breaks && !spaces && self.column > self.best_width && i > 0 && i < value.len() - 1 {
                    self.write_indent();
                    if is_space(value, i + 1) {
                        self.put(b'\\');
                    }
                    i += 1;
                } else {
                    self.write(value, &mut i);
                }
                spaces = true;
            } else {
                self.write(value, &mut i);
                spaces = false;
            }
        }
        self.write_indicator(b"\"", false, false, false);
        self.whitespace = false;
        self.indention = false;
    }

    fn write_block_scalar_hints(&mut self, value: &[u8]) {
        if is_space(value, 0) || is_break(value, 0) {
            let hint = [b'0' + self.best_indent as u8];
            self.write_indicator(&hint, false, false, false);
        }
        self.open_ended = false;
        let mut chomp = 0u8;
        if value.is_empty() {
            chomp = b'-';
        } else {
            let mut i = value.len() - 1;
            while i > 0 && value[i] & 0xC0 == 0x80 {
                i -= 1;
            }
            if !is_break(value, i) {
                chomp = b'-';
            } else if i == 0 {
                chomp = b'+';
                self.open_ended = true;
            } else {
                i -= 1;
                while i > 0 && value[i] & 0xC0 == 0x80 {
                    i -= 1;
                }
                if is_break(value, i) {
                    chomp = b'+';
                    self.open_ended = true;
                }
            }
        }
        if chomp != 0 {
            self.write_indicator(&[chomp], false, false, false);
        }
    }

    fn write_literal_scalar(&mut self, value: &[u8]) {
        self.write_indicator(b"|", true, false, false);
        self.write_block_scalar_hints(value);
        self.process_line_comment(true);
        self.whitespace = true;
        let mut breaks = true;
        let mut i = 0;
        while i < value.len() {
            if is_break(value, i) {
                self.write_break(value, &mut i);
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                }
                self.write(value, &mut i);
                self.indention = false;
                breaks = false;
            }
        }
    }

    fn write_folded_scalar(&mut self, value: &[u8]) {
        self.write_indicator(b">", true, false, false);
        self.write_block_scalar_hints(value);
        self.process_line_comment(true);
        self.whitespace = true;
        let mut breaks = true;
        let mut leading_spaces = true;
        let mut i = 0;
        while i < value.len() {
            if is_break(value, i) {
                if !breaks && !leading_spaces && value[i] == b'\n' {
                    // Go scans from the start of the value here (k starts at 0), not from i.
                    let mut k = 0;
                    while is_break(value, k) {
                        k += width(value[k]).max(1);
                    }
                    if !is_blankz(value, k) {
                        self.put_break();
                    }
                }
                self.write_break(value, &mut i);
                breaks = true;
            } else {
                if breaks {
                    self.write_indent();
                    leading_spaces = is_blank(value, i);
                }
                if !breaks && is_space(value, i) && !is_space(value, i + 1) && self.column > self.best_width {
                    self.write_indent();
                    i += 1;
                } else {
                    self.write(value, &mut i);
                }
                self.indention = false;
                breaks = false;
            }
        }
    }

    fn write_comment(&mut self, comment: &[u8]) {
        let mut breaks = false;
        let mut pound = false;
        let mut i = 0;
        while i < comment.len() {
            if is_break(comment, i) {
                self.write_break(comment, &mut i);
                breaks = true;
                pound = false;
            } else {
                if breaks {
                    self.write_indent();
                }
                if !pound {
                    if comment[i] != b'#' {
                        self.put(b'#');
                        self.put(b' ');
                    }
                    pound = true;
                }
                self.write(comment, &mut i);
                self.indention = false;
                breaks = false;
            }
        }
        if !breaks {
            self.put_break();
        }
        self.whitespace = true;
    }
}
