//! go-yaml v3's parser (`parserc.go`): tokens to events, with v3's comment placement, and the
//! node composer of `decode.go` (`parser.parse`): events to a [`Node`] tree.

use std::borrow::Cow;

use super::{
    ErrorKind, Event, EventType, Kind, Mark, Node, Parser, ScalarStyle, State, Style, TagDirective, TokenType,
};

const DEFAULT_TAG_DIRECTIVES: [(&[u8], &[u8]); 2] = [(b"!", b"!"), (b"!!", b"tag:yaml.org,2002:")];

/// Node nesting the composer accepts (deeper input is an error, not a stack overflow).
const MAX_NODE_DEPTH: usize = 1_000;

impl Parser {
    /// `peek_token`: the next token, with the comments before it unfolded. `None` on error.
    fn peek_token(&mut self) -> Option<usize> {
        if self.token_available || self.fetch_more_tokens() {
            let index = self.tokens_head;
            self.unfold_comments(index);
            Some(index)
        } else {
            None
        }
    }

    fn token(&self, index: usize) -> &super::Token {
        &self.tokens[index]
    }

    fn unfold_comments(&mut self, token_index: usize) {
        let token_typ = self.tokens[token_index].typ;
        let token_start = self.tokens[token_index].start_mark.index;
        while self.comments_head < self.comments.len()
            && token_start >= self.comments[self.comments_head].token_mark.index
        {
            let comment = &mut self.comments[self.comments_head];
            if !comment.head.is_empty() {
                if token_typ == TokenType::BlockEnd {
                    // No heads on ends, so keep comment.head for a follow up token.
                    break;
                }
                if !self.head_comment.is_empty() {
                    self.head_comment.push(b'\n');
                }
                self.head_comment.extend_from_slice(&comment.head);
            }
            if !comment.foot.is_empty() {
                if !self.foot_comment.is_empty() {
                    self.foot_comment.push(b'\n');
                }
                self.foot_comment.extend_from_slice(&comment.foot);
            }
            if !comment.line.is_empty() {
                if !self.line_comment.is_empty() {
                    self.line_comment.push(b'\n');
                }
                self.line_comment.extend_from_slice(&comment.line);
            }
            *comment = super::Comment::default();
            self.comments_head += 1;
        }
    }

    fn skip_token(&mut self) {
        self.token_available = false;
        self.tokens_parsed += 1;
        self.stream_end_produced = self.tokens[self.tokens_head].typ == TokenType::StreamEnd;
        self.tokens_head += 1;
    }

    /// `yaml_parser_parse`: the next event, `None` on error.
    /// `yaml_parser_parse` into `event` (reset first); `false` on error.
    pub(super) fn parse_event(&mut self, event: &mut Event) -> bool {
        *event = Event::default();
        if self.stream_end_produced || self.error != ErrorKind::None || self.state == State::End {
            return true;
        }
        self.compact_tokens();
        self.state_machine(event)
    }

    fn set_parser_error(&mut self, problem: &str, problem_mark: Mark) -> bool {
        self.error = ErrorKind::Parser;
        self.problem = problem.to_string();
        self.problem_mark = problem_mark;
        false
    }

    fn set_parser_error_context(
        &mut self,
        context: &'static str,
        context_mark: Mark,
        problem: &str,
        problem_mark: Mark,
    ) -> bool {
        self.error = ErrorKind::Parser;
        self.context = context;
        self.context_mark = context_mark;
        self.problem = problem.to_string();
        self.problem_mark = problem_mark;
        false
    }

    fn pop_state(&mut self) {
        self.state = self.states.pop().unwrap_or(State::End);
    }

    fn state_machine(&mut self, event: &mut Event) -> bool {
        match self.state {
            State::StreamStart => self.parse_stream_start(event),
            State::ImplicitDocumentStart => self.parse_document_start(event, true),
            State::DocumentStart => self.parse_document_start(event, false),
            State::DocumentContent => self.parse_document_content(event),
            State::DocumentEnd => self.parse_document_end(event),
            State::BlockNode => self.parse_node(event, true, false),
            State::BlockSequenceFirstEntry => self.parse_block_sequence_entry(event, true),
            State::BlockSequenceEntry => self.parse_block_sequence_entry(event, false),
            State::IndentlessSequenceEntry => self.parse_indentless_sequence_entry(event),
            State::BlockMappingFirstKey => self.parse_block_mapping_key(event, true),
            State::BlockMappingKey => self.parse_block_mapping_key(event, false),
            State::BlockMappingValue => self.parse_block_mapping_value(event),
            State::FlowSequenceFirstEntry => self.parse_flow_sequence_entry(event, true),
            State::FlowSequenceEntry => self.parse_flow_sequence_entry(event, false),
            State::FlowSequenceEntryMappingKey => self.parse_flow_sequence_entry_mapping_key(event),
            State::FlowSequenceEntryMappingValue => self.parse_flow_sequence_entry_mapping_value(event),
            State::FlowSequenceEntryMappingEnd => self.parse_flow_sequence_entry_mapping_end(event),
            State::FlowMappingFirstKey => self.parse_flow_mapping_key(event, true),
            State::FlowMappingKey => self.parse_flow_mapping_key(event, false),
            State::FlowMappingValue => self.parse_flow_mapping_value(event, false),
            State::FlowMappingEmptyValue => self.parse_flow_mapping_value(event, true),
            State::End => true,
        }
    }

    fn parse_stream_start(&mut self, event: &mut Event) -> bool {
        let Some(t) = self.peek_token() else { return false };
        let token = self.token(t);
        if token.typ != TokenType::StreamStart {
            let mark = token.start_mark;
            return self.set_parser_error("did not find expected <stream-start>", mark);
        }
        let (start_mark, end_mark) = (token.start_mark, token.end_mark);
        self.state = State::ImplicitDocumentStart;
        *event = Event {
            typ: EventType::StreamStart,
            start_mark,
            end_mark,
            ..Event::default()
        };
        self.skip_token();
        true
    }

    fn parse_document_start(&mut self, event: &mut Event, implicit: bool) -> bool {
        let Some(mut t) = self.peek_token() else { return false };
        if !implicit {
            while self.token(t).typ == TokenType::DocumentEnd {
                self.skip_token();
                let Some(next) = self.peek_token() else { return false };
                t = next;
            }
        }
        let typ = self.token(t).typ;
        if implicit
            && typ != TokenType::VersionDirective
            && typ != TokenType::TagDirective
            && typ != TokenType::DocumentStart
            && typ != TokenType::StreamEnd
        {
            if !self.process_directives(None) {
                return false;
            }
            self.states.push(State::DocumentEnd);
            self.state = State::BlockNode;
            let mut head_comment = Vec::new();
            if !self.head_comment.is_empty() {
                // [Go] Scan the header comment backwards, and if an empty line is found, break
                // the header so the part before the last empty line goes into the document
                // header, while the bottom of it goes into a follow up event.
                let hc = &self.head_comment;
                let mut i = hc.len() - 1;
                while i > 0 {
                    if hc[i] == b'\n' {
                        if i == hc.len() - 1 {
                            head_comment = hc[..i].to_vec();
                            self.head_comment = hc[i + 1..].to_vec();
                            break;
                        } else if hc[i - 1] == b'\n' {
                            head_comment = hc[..i - 1].to_vec();
                            self.head_comment = hc[i + 1..].to_vec();
                            break;
                        }
                    }
                    i -= 1;
                }
            }
            let Some(t) = self.peek_token() else { return false };
            let token = self.token(t);
            *event = Event {
                typ: EventType::DocumentStart,
                start_mark: token.start_mark,
                end_mark: token.end_mark,
                head_comment,
                ..Event::default()
            };
        } else if typ != TokenType::StreamEnd {
            let start_mark = self.token(t).start_mark;
            let mut directives = (None, Vec::new());
            if !self.process_directives(Some(&mut directives)) {
                return false;
            }
            let Some(t) = self.peek_token() else { return false };
            let token = self.token(t);
            if token.typ != TokenType::DocumentStart {
                let mark = token.start_mark;
                self.set_parser_error("did not find expected <document start>", mark);
                return false;
            }
            let end_mark = token.end_mark;
            self.states.push(State::DocumentEnd);
            self.state = State::DocumentContent;
            *event = Event {
                typ: EventType::DocumentStart,
                start_mark,
                end_mark,
                version_directive: directives.0,
                tag_directives: directives.1,
                implicit: false,
                ..Event::default()
            };
            self.skip_token();
        } else {
            self.state = State::End;
            let token = self.token(t);
            *event = Event {
                typ: EventType::StreamEnd,
                start_mark: token.start_mark,
                end_mark: token.end_mark,
                ..Event::default()
            };
            self.skip_token();
        }
        true
    }

    fn parse_document_content(&mut self, event: &mut Event) -> bool {
        let Some(t) = self.peek_token() else { return false };
        let token = self.token(t);
        if matches!(
            token.typ,
            TokenType::VersionDirective
                | TokenType::TagDirective
                | TokenType::DocumentStart
                | TokenType::DocumentEnd
                | TokenType::StreamEnd
        ) {
            let mark = token.start_mark;
            self.pop_state();
            return self.process_empty_scalar(event, mark);
        }
        self.parse_node(event, true, false)
    }

    fn parse_document_end(&mut self, event: &mut Event) -> bool {
        let Some(t) = self.peek_token() else { return false };
        let token = self.token(t);
        let start_mark = token.start_mark;
        let mut end_mark = token.start_mark;
        let mut implicit = true;
        if token.typ == TokenType::DocumentEnd {
            end_mark = token.end_mark;
            self.skip_token();
            implicit = false;
        }
        self.tag_directives.clear();
        self.state = State::DocumentStart;
        *event = Event {
            typ: EventType::DocumentEnd,
            start_mark,
            end_mark,
            implicit,
            ..Event::default()
        };
        self.set_event_comments(event);
        if !event.head_comment.is_empty() && event.foot_comment.is_empty() {
            event.foot_comment = std::mem::take(&mut event.head_comment);
        }
        true
    }

    fn set_event_comments(&mut self, event: &mut Event) {
        event.head_comment = std::mem::take(&mut self.head_comment);
        event.line_comment = std::mem::take(&mut self.line_comment);
        event.foot_comment = std::mem::take(&mut self.foot_comment);
        self.tail_comment.clear();
        self.stem_comment = None;
    }

    fn parse_node(&mut self, event: &mut Event, block: bool, indentless_sequence: bool) -> bool {
        let Some(mut t) = self.peek_token() else { return false };
        if self.token(t).typ == TokenType::Alias {
            self.pop_state();
            let token = self.token(t);
            *event = Event {
                typ: EventType::Alias,
                start_mark: token.start_mark,
                end_mark: token.end_mark,
                anchor: token.value.clone(),
                ..Event::default()
            };
            self.set_event_comments(event);
            self.skip_token();
            return true;
        }

        let mut start_mark = self.token(t).start_mark;
        let mut end_mark = self.token(t).start_mark;
        let mut tag_token = false;
        let mut tag_handle = Vec::new();
        let mut tag_suffix = Vec::new();
        let mut anchor = Vec::new();
        let mut tag_mark = Mark::default();
        if self.token(t).typ == TokenType::Anchor {
            let token = self.token(t);
            anchor = token.value.clone();
            start_mark = token.start_mark;
            end_mark = token.end_mark;
            self.skip_token();
            let Some(next) = self.peek_token() else { return false };
            t = next;
            if self.token(t).typ == TokenType::Tag {
                let token = self.token(t);
                tag_token = true;
                tag_handle = token.value.clone();
                tag_suffix = token.suffix.clone();
                tag_mark = token.start_mark;
                end_mark = token.end_mark;
                self.skip_token();
                let Some(next) = self.peek_token() else { return false };
                t = next;
            }
        } else if self.token(t).typ == TokenType::Tag {
            let token = self.token(t);
            tag_token = true;
            tag_handle = token.value.clone();
            tag_suffix = token.suffix.clone();
            start_mark = token.start_mark;
            tag_mark = token.start_mark;
            end_mark = token.end_mark;
            self.skip_token();
            let Some(next) = self.peek_token() else { return false };
            t = next;
            if self.token(t).typ == TokenType::Anchor {
                let token = self.token(t);
                anchor = token.value.clone();
                end_mark = token.end_mark;
                self.skip_token();
                let Some(next) = self.peek_token() else { return false };
                t = next;
            }
        }

        let mut tag = Vec::new();
        if tag_token {
            if tag_handle.is_empty() {
                tag = std::mem::take(&mut tag_suffix);
            } else {
                if let Some(directive) = self.tag_directives.iter().find(|d| d.handle == tag_handle) {
                    tag = directive.prefix.clone();
                    tag.extend_from_slice(&tag_suffix);
                }
                if tag.is_empty() {
                    self.set_parser_error_context(
                        "while parsing a node",
                        start_mark,
                        "found undefined tag handle",
                        tag_mark,
                    );
                    return false;
                }
            }
        }

        let implicit = tag.is_empty();
        let token = self.token(t);
        if indentless_sequence && token.typ == TokenType::BlockEntry {
            end_mark = token.end_mark;
            self.state = State::IndentlessSequenceEntry;
            *event = Event {
                typ: EventType::SequenceStart,
                start_mark,
                end_mark,
                anchor,
                tag,
                implicit,
                flow: false,
                ..Event::default()
            };
            return true;
        }
        if token.typ == TokenType::Scalar {
            let mut plain_implicit = false;
            let mut quoted_implicit = false;
            end_mark = token.end_mark;
            if (tag.is_empty() && token.style == ScalarStyle::Plain) || tag == b"!" {
                plain_implicit = true;
            } else if tag.is_empty() {
                quoted_implicit = true;
            }
            let style = token.style;
            let value = std::mem::take(&mut self.tokens[t].value);
            self.pop_state();
            *event = Event {
                typ: EventType::Scalar,
                start_mark,
                end_mark,
                anchor,
                tag,
                value,
                implicit: plain_implicit,
                quoted_implicit,
                scalar_style: style,
                ..Event::default()
            };
            self.set_event_comments(event);
            self.skip_token();
            return true;
        }
        if token.typ == TokenType::FlowSequenceStart || token.typ == TokenType::FlowMappingStart {
            let sequence = token.typ == TokenType::FlowSequenceStart;
            end_mark = token.end_mark;
            self.state = if sequence {
                State::FlowSequenceFirstEntry
            } else {
                State::FlowMappingFirstKey
            };
            *event = Event {
                typ: if sequence {
                    EventType::SequenceStart
                } else {
                    EventType::MappingStart
                },
                start_mark,
                end_mark,
                anchor,
                tag,
                implicit,
                flow: true,
                ..Event::default()
            };
            self.set_event_comments(event);
            return true;
        }
        if block && (token.typ == TokenType::BlockSequenceStart || token.typ == TokenType::BlockMappingStart) {
            let sequence = token.typ == TokenType::BlockSequenceStart;
            end_mark = token.end_mark;
            self.state = if sequence {
                State::BlockSequenceFirstEntry
            } else {
                State::BlockMappingFirstKey
            };
            *event = Event {
                typ: if sequence {
                    EventType::SequenceStart
                } else {
                    EventType::MappingStart
                },
                start_mark,
                end_mark,
                anchor,
                tag,
                implicit,
                flow: false,
                ..Event::default()
            };
            if let Some(stem) = self.stem_comment.take() {
                event.head_comment = stem;
            }
            return true;
        }
        if !anchor.is_empty() || !tag.is_empty() {
            self.pop_state();
            *event = Event {
                typ: EventType::Scalar,
                start_mark,
                end_mark,
                anchor,
                tag,
                implicit,
                quoted_implicit: false,
                scalar_style: ScalarStyle::Plain,
                ..Event::default()
            };
            return true;
        }
        let context = if block {
            "while parsing a block node"
        } else {
            "while parsing a flow node"
        };
        let mark = token.start_mark;
        self.set_parser_error_context(context, start_mark, "did not find expected node content", mark);
        false
    }

    fn parse_block_sequence_entry(&mut self, event: &mut Event, first: bool) -> bool {
        if first {
            let Some(t) = self.peek_token() else { return false };
            let mark = self.token(t).start_mark;
            self.marks.push(mark);
            self.skip_token();
        }
        let Some(t) = self.peek_token() else { return false };
        let token = self.token(t);
        if token.typ == TokenType::BlockEntry {
            let mark = token.end_mark;
            let prior_head_len = self.head_comment.len();
            self.skip_token();
            self.split_stem_comment(prior_head_len);
            let Some(t) = self.peek_token() else { return false };
            let typ = self.token(t).typ;
            if typ != TokenType::BlockEntry && typ != TokenType::BlockEnd {
                self.states.push(State::BlockSequenceEntry);
                return self.parse_node(event, true, false);
            }
            self.state = State::BlockSequenceEntry;
            return self.process_empty_scalar(event, mark);
        }
        if token.typ == TokenType::BlockEnd {
            let (start_mark, end_mark) = (token.start_mark, token.end_mark);
            self.pop_state();
            self.marks.pop();
            *event = Event {
                typ: EventType::SequenceEnd,
                start_mark,
                end_mark,
                ..Event::default()
            };
            self.skip_token();
            return true;
        }
        let mark = token.start_mark;
        let context_mark = self.marks.pop().unwrap_or_default();
        self.set_parser_error_context(
            "while parsing a block collection",
            context_mark,
            "did not find expected '-' indicator",
            mark,
        )
    }

    fn parse_indentless_sequence_entry(&mut self, event: &mut Event) -> bool {
        let Some(t) = self.peek_token() else { return false };
        let token = self.token(t);
        if token.typ == TokenType::BlockEntry {
            let mark = token.end_mark;
            let prior_head_len = self.head_comment.len();
            self.skip_token();
            self.split_stem_comment(prior_head_len);
            let Some(t) = self.peek_token() else { return false };
            let typ = self.token(t).typ;
            if typ != TokenType::BlockEntry
                && typ != TokenType::Key
                && typ != TokenType::Value
                && typ != TokenType::BlockEnd
            {
                self.states.push(State::IndentlessSequenceEntry);
                return self.parse_node(event, true, false);
            }
            self.state = State::IndentlessSequenceEntry;
            return self.process_empty_scalar(event, mark);
        }
        let start_mark = token.start_mark;
        self.pop_state();
        *event = Event {
            typ: EventType::SequenceEnd,
            start_mark,
            end_mark: start_mark,
            ..Event::default()
        };
        true
    }

    fn split_stem_comment(&mut self, stem_len: usize) {
        if stem_len == 0 {
            return;
        }
        let Some(t) = self.peek_token() else { return };
        let typ = self.token(t).typ;
        if typ != TokenType::BlockSequenceStart && typ != TokenType::BlockMappingStart {
            return;
        }
        self.stem_comment = Some(self.head_comment[..stem_len].to_vec());
        if self.head_comment.len() == stem_len {
            self.head_comment.clear();
        } else {
            self.head_comment = self.head_comment[stem_len + 1..].to_vec();
        }
    }

    fn parse_block_mapping_key(&mut self, event: &mut Event, first: bool) -> bool {
        if first {
            let Some(t) = self.peek_token() else { return false };
            let mark = self.token(t).start_mark;
            self.marks.push(mark);
            self.skip_token();
        }
        let Some(t) = self.peek_token() else { return false };
        // [Go] A tail comment was left from the prior mapping value processed. Emit an event
        // as it needs to be processed with that value and not the following key.
        if !self.tail_comment.is_empty() {
            let token = self.token(t);
            *event = Event {
                typ: EventType::TailComment,
                start_mark: token.start_mark,
                end_mark: token.end_mark,
                foot_comment: std::mem::take(&mut self.tail_comment),
                ..Event::default()
            };
            return true;
        }
        let token = self.token(t);
        if token.typ == TokenType::Key {
            let mark = token.end_mark;
            self.skip_token();
            let Some(t) = self.peek_token() else { return false };
            let typ = self.token(t).typ;
            if typ != TokenType::Key && typ != TokenType::Value && typ != TokenType::BlockEnd {
                self.states.push(State::BlockMappingValue);
                return self.parse_node(event, true, true);
            }
            self.state = State::BlockMappingValue;
            return self.process_empty_scalar(event, mark);
        } else if token.typ == TokenType::BlockEnd {
            let (start_mark, end_mark) = (token.start_mark, token.end_mark);
            self.pop_state();
            self.marks.pop();
            *event = Event {
                typ: EventType::MappingEnd,
                start_mark,
                end_mark,
                ..Event::default()
            };
            self.set_event_comments(event);
            self.skip_token();
            return true;
        }
        let mark = token.start_mark;
        let context_mark = self.marks.pop().unwrap_or_default();
        self.set_parser_error_context(
            "while parsing a block mapping",
            context_mark,
            "did not find expected key",
            mark,
        )
    }

    fn parse_block_mapping_value(&mut self, event: &mut Event) -> bool {
        let Some(t) = self.peek_token() else { return false };
        let token = self.token(t);
        if token.typ == TokenType::Value {
            let mark = token.end_mark;
            self.skip_token();
            let Some(t) = self.peek_token() else { return false };
            let typ = self.token(t).typ;
            if typ != TokenType::Key && typ != TokenType::Value && typ != TokenType::BlockEnd {
                self.states.push(State::BlockMappingKey);
                return self.parse_node(event, true, true);
            }
            self.state = State::BlockMappingKey;
            return self.process_empty_scalar(event, mark);
        }
        let mark = token.start_mark;
        self.state = State::BlockMappingKey;
        self.process_empty_scalar(event, mark)
    }

    fn parse_flow_sequence_entry(&mut self, event: &mut Event, first: bool) -> bool {
        if first {
            let Some(t) = self.peek_token() else { return false };
            let mark = self.token(t).start_mark;
            self.marks.push(mark);
            self.skip_token();
        }
        let Some(mut t) = self.peek_token() else { return false };
        if self.token(t).typ != TokenType::FlowSequenceEnd {
            if !first {
                if self.token(t).typ == TokenType::FlowEntry {
                    self.skip_token();
                    let Some(next) = self.peek_token() else { return false };
                    t = next;
                } else {
                    let mark = self.token(t).start_mark;
                    let context_mark = self.marks.pop().unwrap_or_default();
                    return self.set_parser_error_context(
                        "while parsing a flow sequence",
                        context_mark,
                        "did not find expected ',' or ']'",
                        mark,
                    );
                }
            }
            let token = self.token(t);
            if token.typ == TokenType::Key {
                let (start_mark, end_mark) = (token.start_mark, token.end_mark);
                self.state = State::FlowSequenceEntryMappingKey;
                *event = Event {
                    typ: EventType::MappingStart,
                    start_mark,
                    end_mark,
                    implicit: true,
                    flow: true,
                    ..Event::default()
                };
                self.skip_token();
                return true;
            } else if token.typ != TokenType::FlowSequenceEnd {
                self.states.push(State::FlowSequenceEntry);
                return self.parse_node(event, false, false);
            }
        }
        let token = self.token(t);
        let (start_mark, end_mark) = (token.start_mark, token.end_mark);
        self.pop_state();
        self.marks.pop();
        *event = Event {
            typ: EventType::SequenceEnd,
            start_mark,
            end_mark,
            ..Event::default()
        };
        self.set_event_comments(event);
        self.skip_token();
        true
    }

    fn parse_flow_sequence_entry_mapping_key(&mut self, event: &mut Event) -> bool {
        let Some(t) = self.peek_token() else { return false };
        let token = self.token(t);
        if token.typ != TokenType::Value && token.typ != TokenType::FlowEntry && token.typ != TokenType::FlowSequenceEnd
        {
            self.states.push(State::FlowSequenceEntryMappingValue);
            return self.parse_node(event, false, false);
        }
        let mark = token.end_mark;
        self.skip_token();
        self.state = State::FlowSequenceEntryMappingValue;
        self.process_empty_scalar(event, mark)
    }

    fn parse_flow_sequence_entry_mapping_value(&mut self, event: &mut Event) -> bool {
        let Some(t) = self.peek_token() else { return false };
        if self.token(t).typ == TokenType::Value {
            self.skip_token();
            let Some(t2) = self.peek_token() else { return false };
            let typ = self.token(t2).typ;
            if typ != TokenType::FlowEntry && typ != TokenType::FlowSequenceEnd {
                self.states.push(State::FlowSequenceEntryMappingEnd);
                return self.parse_node(event, false, false);
            }
        }
        // Go reads the mark of the token peeked first (already consumed when it was a VALUE).
        let mark = self.tokens[t].start_mark;
        self.state = State::FlowSequenceEntryMappingEnd;
        self.process_empty_scalar(event, mark)
    }

    fn parse_flow_sequence_entry_mapping_end(&mut self, event: &mut Event) -> bool {
        let Some(t) = self.peek_token() else { return false };
        let mark = self.token(t).start_mark;
        self.state = State::FlowSequenceEntry;
        *event = Event {
            typ: EventType::MappingEnd,
            start_mark: mark,
            end_mark: mark,
            ..Event::default()
        };
        true
    }

    fn parse_flow_mapping_key(&mut self, event: &mut Event, first: bool) -> bool {
        if first {
            let Some(t) = self.peek_token() else { return false };
            let mark = self.token(t).start_mark;
            self.marks.push(mark);
            self.skip_token();
        }
        let Some(mut t) = self.peek_token() else { return false };
        if self.token(t).typ != TokenType::FlowMappingEnd {
            if !first {
                if self.token(t).typ == TokenType::FlowEntry {
                    self.skip_token();
                    let Some(next) = self.peek_token() else { return false };
                    t = next;
                } else {
                    let mark = self.token(t).start_mark;
                    let context_mark = self.marks.pop().unwrap_or_default();
                    return self.set_parser_error_context(
                        "while parsing a flow mapping",
                        context_mark,
                        "did not find expected ',' or '}'",
                        mark,
                    );
                }
            }
            if self.token(t).typ == TokenType::Key {
                self.skip_token();
                let Some(t2) = self.peek_token() else { return false };
                let token = self.token(t2);
                if token.typ != TokenType::Value
                    && token.typ != TokenType::FlowEntry
                    && token.typ != TokenType::FlowMappingEnd
                {
                    self.states.push(State::FlowMappingValue);
                    return self.parse_node(event, false, false);
                }
                let mark = token.start_mark;
                self.state = State::FlowMappingValue;
                return self.process_empty_scalar(event, mark);
            } else if self.token(t).typ != TokenType::FlowMappingEnd {
                self.states.push(State::FlowMappingEmptyValue);
                return self.parse_node(event, false, false);
            }
        }
        let token = self.token(t);
        let (start_mark, end_mark) = (token.start_mark, token.end_mark);
        self.pop_state();
        self.marks.pop();
        *event = Event {
            typ: EventType::MappingEnd,
            start_mark,
            end_mark,
            ..Event::default()
        };
        self.set_event_comments(event);
        self.skip_token();
        true
    }

    fn parse_flow_mapping_value(&mut self, event: &mut Event, empty: bool) -> bool {
        let Some(mut t) = self.peek_token() else { return false };
        if empty {
            let mark = self.token(t).start_mark;
            self.state = State::FlowMappingKey;
            return self.process_empty_scalar(event, mark);
        }
        if self.token(t).typ == TokenType::Value {
            self.skip_token();
            let Some(next) = self.peek_token() else { return false };
            t = next;
            let typ = self.token(t).typ;
            if typ != TokenType::FlowEntry && typ != TokenType::FlowMappingEnd {
                self.states.push(State::FlowMappingKey);
                return self.parse_node(event, false, false);
            }
        }
        let mark = self.token(t).start_mark;
        self.state = State::FlowMappingKey;
        self.process_empty_scalar(event, mark)
    }

    fn process_empty_scalar(&mut self, event: &mut Event, mark: Mark) -> bool {
        *event = Event {
            typ: EventType::Scalar,
            start_mark: mark,
            end_mark: mark,
            implicit: true,
            scalar_style: ScalarStyle::Plain,
            ..Event::default()
        };
        true
    }

    /// `yaml_parser_process_directives`; `refs` receives the version and tag directives of an
    /// explicit document.
    #[expect(
        clippy::type_complexity,
        reason = "mirrors the two out-parameters of the Go function"
    )]
    fn process_directives(&mut self, refs: Option<&mut (Option<(i8, i8)>, Vec<TagDirective>)>) -> bool {
        let mut version_directive = None;
        let mut tag_directives = Vec::new();
        let Some(mut t) = self.peek_token() else { return false };
        loop {
            let token = self.token(t);
            if token.typ == TokenType::VersionDirective {
                let mark = token.start_mark;
                if version_directive.is_some() {
                    self.set_parser_error("found duplicate %YAML directive", mark);
                    return false;
                }
                if token.major != 1 || token.minor != 1 {
                    self.set_parser_error("found incompatible YAML document", mark);
                    return false;
                }
                version_directive = Some((token.major, token.minor));
            } else if token.typ == TokenType::TagDirective {
                let value = TagDirective {
                    handle: token.value.clone(),
                    prefix: token.prefix.clone(),
                };
                let mark = token.start_mark;
                if !self.append_tag_directive(value.clone(), false, mark) {
                    return false;
                }
                tag_directives.push(value);
            } else {
                break;
            }
            self.skip_token();
            let Some(next) = self.peek_token() else { return false };
            t = next;
        }
        let mark = self.token(t).start_mark;
        for (handle, prefix) in DEFAULT_TAG_DIRECTIVES {
            let directive = TagDirective {
                handle: handle.to_vec(),
                prefix: prefix.to_vec(),
            };
            if !self.append_tag_directive(directive, true, mark) {
                return false;
            }
        }
        if let Some(refs) = refs {
            *refs = (version_directive, tag_directives);
        }
        true
    }

    fn append_tag_directive(&mut self, value: TagDirective, allow_duplicates: bool, mark: Mark) -> bool {
        if self.tag_directives.iter().any(|d| d.handle == value.handle) {
            if allow_duplicates {
                return true;
            }
            return self.set_parser_error("found duplicate %TAG directive", mark);
        }
        self.tag_directives.push(value);
        true
    }
}

/// `decode.go`'s `parser`: events to nodes, with the lookahead event and the anchors seen.
pub(super) struct Composer {
    pub(super) parser: Parser,
    event: Option<Event>,
    anchors: std::collections::HashMap<String, Node>,
    done_init: bool,
}

impl Composer {
    pub(super) fn new(parser: Parser) -> Composer {
        Composer {
            parser,
            event: None,
            anchors: std::collections::HashMap::new(),
            done_init: false,
        }
    }

    /// `p.fail()`: the error go-yaml reports (`yaml: line N: problem`).
    fn fail(&self) -> String {
        let p = &self.parser;
        let mut line = 0;
        if p.context_mark.line != 0 {
            line = p.context_mark.line;
            if p.error == ErrorKind::Scanner {
                line += 1;
            }
        } else if p.problem_mark.line != 0 {
            line = p.problem_mark.line;
            if p.error == ErrorKind::Scanner {
                line += 1;
            }
        }
        let where_ = if line != 0 {
            format!("line {line}: ")
        } else {
            String::new()
        };
        let msg = if p.problem.is_empty() {
            "unknown problem parsing YAML content"
        } else {
            &p.problem
        };
        format!("yaml: {where_}{msg}")
    }

    /// The next event, parsed into the lookahead slot when it is empty.
    fn fill(&mut self) -> Result<&mut Event, String> {
        if self.event.is_none() {
            let slot = self.event.insert(Event::default());
            if !self.parser.parse_event(slot) || self.parser.error != ErrorKind::None {
                self.event = None;
                return Err(self.fail());
            }
        }
        Ok(self.event.as_mut().expect("just filled"))
    }

    fn peek(&mut self) -> Result<EventType, String> {
        Ok(self.fill()?.typ)
    }

    fn expect(&mut self, typ: EventType) -> Result<Event, String> {
        let found = self.fill()?.typ;
        if found == EventType::StreamEnd {
            return Err("yaml: attempted to go past the end of stream; corrupted value?".to_string());
        }
        if found != typ {
            self.parser.problem = format!("expected {} event but got {}", typ.name(), found.name());
            return Err(self.fail());
        }
        Ok(self.event.take().unwrap_or_default())
    }

    /// `parser.parse`: the next document node, `None` at the end of the stream.
    pub(super) fn parse(&mut self) -> Result<Option<Node>, String> {
        if !self.done_init {
            self.expect(EventType::StreamStart)?;
            self.done_init = true;
        }
        self.parse_at(0)
    }

    fn parse_at(&mut self, depth: usize) -> Result<Option<Node>, String> {
        if self.peek()? == EventType::StreamEnd {
            return Ok(None);
        }
        self.parse_node(depth).map(Some)
    }

    fn parse_node(&mut self, depth: usize) -> Result<Node, String> {
        if depth > MAX_NODE_DEPTH {
            return Err(format!("yaml: exceeded max depth of {MAX_NODE_DEPTH}"));
        }
        match self.peek()? {
            EventType::Scalar => self.scalar(),
            EventType::Alias => self.alias(),
            EventType::MappingStart => self.mapping(depth),
            EventType::SequenceStart => self.sequence(depth),
            EventType::DocumentStart => self.document(depth),
            other => Err(format!("yaml: internal error: unexpected {} event", other.name())),
        }
    }

    /// `parser.node`: a node from `event` (its tag, position and comments taken from it).
    fn node(event: &mut Event, kind: Kind, default_tag: &'static str, value: String) -> Node {
        let mut style = Style::empty();
        let tag: Cow<'static, str> = if !event.tag.is_empty() && event.tag != b"!" {
            style = Style::TAGGED;
            Cow::Owned(super::short_tag(&text(std::mem::take(&mut event.tag))).into_owned())
        } else if !default_tag.is_empty() {
            Cow::Borrowed(default_tag)
        } else if kind == Kind::Scalar {
            Cow::Borrowed(super::resolve::resolve_tag(&value))
        } else {
            Cow::Borrowed("")
        };
        let mut n = Node {
            kind,
            style,
            tag,
            value,
            line: event.start_mark.line + 1,
            column: event.start_mark.column + 1,
            ..Node::default()
        };
        n.set_head_comment(text(std::mem::take(&mut event.head_comment)));
        n.set_line_comment(text(std::mem::take(&mut event.line_comment)));
        n.set_foot_comment(text(std::mem::take(&mut event.foot_comment)));
        n
    }

    fn parse_child(&mut self, parent: &mut Node, depth: usize) -> Result<usize, String> {
        let child = self.parse_node(depth + 1)?;
        parent.content.push(child);
        Ok(parent.content.len() - 1)
    }

    fn document(&mut self, depth: usize) -> Result<Node, String> {
        let mut start = self.expect(EventType::DocumentStart)?;
        let mut n = Self::node(&mut start, Kind::Document, "", String::new());
        self.parse_child(&mut n, depth)?;
        let end = self.expect(EventType::DocumentEnd)?;
        n.set_foot_comment(text(end.foot_comment));
        Ok(n)
    }

    fn alias(&mut self) -> Result<Node, String> {
        let mut event = self.expect(EventType::Alias)?;
        let anchor = text(std::mem::take(&mut event.anchor));
        let mut n = Self::node(&mut event, Kind::Alias, "", anchor);
        match self.anchors.get(&n.value) {
            Some(target) => n.extra_mut().alias = Some(Box::new(target.clone())),
            None => return Err(format!("yaml: unknown anchor '{}' referenced", n.value)),
        }
        Ok(n)
    }

    fn scalar(&mut self) -> Result<Node, String> {
        let mut event = self.expect(EventType::Scalar)?;
        let node_style = match event.scalar_style {
            ScalarStyle::DoubleQuoted => Style::DOUBLE_QUOTED,
            ScalarStyle::SingleQuoted => Style::SINGLE_QUOTED,
            ScalarStyle::Literal => Style::LITERAL,
            ScalarStyle::Folded => Style::FOLDED,
            _ => Style::empty(),
        };
        let value = text(std::mem::take(&mut event.value));
        let default_tag = super::implicit_scalar_tag(&value, !node_style.is_empty());
        let anchor = std::mem::take(&mut event.anchor);
        let mut n = Self::node(&mut event, Kind::Scalar, default_tag, value);
        n.style |= node_style;
        if !anchor.is_empty() {
            let anchor = text(anchor);
            n.extra_mut().anchor = anchor.clone();
            self.anchors.insert(anchor, n.clone());
        }
        Ok(n)
    }

    fn sequence(&mut self, depth: usize) -> Result<Node, String> {
        let mut event = self.expect(EventType::SequenceStart)?;
        let flow = event.flow;
        let anchor = std::mem::take(&mut event.anchor);
        let mut n = Self::node(&mut event, Kind::Sequence, super::SEQ_TAG, String::new());
        if flow {
            n.style |= Style::FLOW;
        }
        while self.peek()? != EventType::SequenceEnd {
            self.parse_child(&mut n, depth)?;
        }
        let end = self.expect(EventType::SequenceEnd)?;
        n.set_line_comment(text(end.line_comment));
        n.set_foot_comment(text(end.foot_comment));
        if !anchor.is_empty() {
            let anchor = text(anchor);
            n.extra_mut().anchor = anchor.clone();
            self.anchors.insert(anchor, n.clone());
        }
        Ok(n)
    }

    fn mapping(&mut self, depth: usize) -> Result<Node, String> {
        let mut event = self.expect(EventType::MappingStart)?;
        let flow = event.flow;
        let anchor = std::mem::take(&mut event.anchor);
        let mut n = Self::node(&mut event, Kind::Mapping, super::MAP_TAG, String::new());
        let block = !flow;
        if flow {
            n.style |= Style::FLOW;
        }
        while self.peek()? != EventType::MappingEnd {
            let k = self.parse_child(&mut n, depth)?;
            if block && !n.content[k].foot_comment().is_empty() {
                // Must be a foot comment for the prior value when being dedented.
                if n.content.len() > 2 {
                    let foot = n.content[k].take_foot_comment();
                    let prior = n.content.len() - 3;
                    n.content[prior].set_foot_comment(foot);
                }
            }
            let v = self.parse_child(&mut n, depth)?;
            if n.content[k].foot_comment().is_empty() && !n.content[v].foot_comment().is_empty() {
                let foot = n.content[v].take_foot_comment();
                n.content[k].set_foot_comment(foot);
            }
            if self.peek()? == EventType::TailComment {
                let tail = self.expect(EventType::TailComment)?;
                if n.content[k].foot_comment().is_empty() {
                    n.content[k].set_foot_comment(text(tail.foot_comment));
                }
            }
        }
        let end = self.expect(EventType::MappingEnd)?;
        n.set_line_comment(text(end.line_comment));
        n.set_foot_comment(text(end.foot_comment));
        if !n.style.contains(Style::FLOW) && !n.foot_comment().is_empty() && n.content.len() > 1 {
            let foot = n.take_foot_comment();
            let index = n.content.len() - 2;
            n.content[index].set_foot_comment(foot);
        }
        if !anchor.is_empty() {
            let anchor = text(anchor);
            n.extra_mut().anchor = anchor.clone();
            self.anchors.insert(anchor, n.clone());
        }
        Ok(n)
    }
}

/// Bytes the scanner collected as text (they are UTF-8 unless an escape made them otherwise).
fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}
