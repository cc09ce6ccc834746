//! go-yaml v3's scanner (`scannerc.go`): characters to tokens, with v3's comment collection.
//!
//! Ported function by function so that every decision (simple keys, indentation, where a
//! comment belongs) is the one `go.yaml.in/yaml/v3` v3.0.4 makes; the names are Go's without
//! the `yaml_parser_` prefix. The whole input is in memory, NUL-terminated and padded, so the
//! reader's `cache` calls are no-ops.

use super::{Comment, Mark, Parser, ScalarStyle, Token, TokenType};

pub(super) fn is_alpha(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

fn as_hex(b: u8) -> u32 {
    match b {
        b'A'..=b'F' => u32::from(b - b'A' + 10),
        b'a'..=b'f' => u32::from(b - b'a' + 10),
        _ => u32::from(b.wrapping_sub(b'0')),
    }
}

/// The byte at `i`, or NUL past the end (the reader pads the buffer with NULs).
pub(super) fn at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

pub(super) fn is_blank(b: &[u8], i: usize) -> bool {
    matches!(at(b, i), b' ' | b'\t')
}

pub(super) fn is_space(b: &[u8], i: usize) -> bool {
    at(b, i) == b' '
}

fn is_tab(b: &[u8], i: usize) -> bool {
    at(b, i) == b'\t'
}

fn is_z(b: &[u8], i: usize) -> bool {
    at(b, i) == 0
}

pub(super) fn is_break(b: &[u8], i: usize) -> bool {
    let c = at(b, i);
    c == b'\r'
        || c == b'\n'
        || (c == 0xC2 && at(b, i + 1) == 0x85)
        || (c == 0xE2 && at(b, i + 1) == 0x80 && (at(b, i + 2) == 0xA8 || at(b, i + 2) == 0xA9))
}

fn is_crlf(b: &[u8], i: usize) -> bool {
    at(b, i) == b'\r' && at(b, i + 1) == b'\n'
}

pub(super) fn is_breakz(b: &[u8], i: usize) -> bool {
    is_break(b, i) || is_z(b, i)
}

pub(super) fn is_blankz(b: &[u8], i: usize) -> bool {
    is_blank(b, i) || is_breakz(b, i)
}

pub(super) fn width(b: u8) -> usize {
    if b & 0x80 == 0 {
        1
    } else if b & 0xE0 == 0xC0 {
        2
    } else if b & 0xF0 == 0xE0 {
        3
    } else if b & 0xF8 == 0xF0 {
        4
    } else {
        0
    }
}

/// Depth limits of go-yaml v3 (`max_flow_level`, `max_indents`).
const MAX_FLOW_LEVEL: usize = 10_000;
const MAX_INDENTS: usize = 10_000;

impl Parser {
    fn cur(&self) -> u8 {
        at(&self.buffer, self.buffer_pos)
    }

    fn peek_at(&self, offset: usize) -> u8 {
        at(&self.buffer, self.buffer_pos + offset)
    }

    pub(super) fn skip(&mut self) {
        if !is_blank(&self.buffer, self.buffer_pos) {
            self.newlines = 0;
        }
        self.mark.index += 1;
        self.mark.column += 1;
        self.buffer_pos += width(self.cur()).max(1);
    }

    fn skip_line(&mut self) {
        if is_crlf(&self.buffer, self.buffer_pos) {
            self.mark.index += 2;
            self.mark.column = 0;
            self.mark.line += 1;
            self.buffer_pos += 2;
            self.newlines += 1;
        } else if is_break(&self.buffer, self.buffer_pos) {
            self.mark.index += 1;
            self.mark.column = 0;
            self.mark.line += 1;
            self.buffer_pos += width(self.cur()).max(1);
            self.newlines += 1;
        }
    }

    fn read(&mut self, s: &mut Vec<u8>) {
        if !is_blank(&self.buffer, self.buffer_pos) {
            self.newlines = 0;
        }
        if s.capacity() == 0 {
            // Go allocates 32 bytes for a new string: scalars rarely grow past that.
            s.reserve(32);
        }
        let w = width(self.cur()).max(1);
        let end = (self.buffer_pos + w).min(self.buffer.len());
        s.extend_from_slice(&self.buffer[self.buffer_pos..end]);
        self.buffer_pos += w;
        self.mark.index += 1;
        self.mark.column += 1;
    }

    fn read_line(&mut self, s: &mut Vec<u8>) {
        let pos = self.buffer_pos;
        let b0 = self.cur();
        let b1 = self.peek_at(1);
        let b2 = self.peek_at(2);
        if b0 == b'\r' && b1 == b'\n' {
            s.push(b'\n');
            self.buffer_pos += 2;
            self.mark.index += 1;
        } else if b0 == b'\r' || b0 == b'\n' {
            s.push(b'\n');
            self.buffer_pos += 1;
        } else if b0 == 0xC2 && b1 == 0x85 {
            s.push(b'\n');
            self.buffer_pos += 2;
        } else if b0 == 0xE2 && b1 == 0x80 && (b2 == 0xA8 || b2 == 0xA9) {
            s.extend_from_slice(&self.buffer[pos..pos + 3]);
            self.buffer_pos += 3;
        } else {
            return;
        }
        self.mark.index += 1;
        self.mark.column = 0;
        self.mark.line += 1;
        self.newlines += 1;
    }

    fn set_scanner_error(&mut self, context: &'static str, context_mark: Mark, problem: &str) -> bool {
        self.error = super::ErrorKind::Scanner;
        self.context = context;
        self.context_mark = context_mark;
        self.problem = problem.to_string();
        self.problem_mark = self.mark;
        false
    }

    fn set_scanner_tag_error(&mut self, directive: bool, context_mark: Mark, problem: &str) -> bool {
        let context = if directive {
            "while parsing a %TAG directive"
        } else {
            "while parsing a tag"
        };
        self.set_scanner_error(context, context_mark, problem)
    }

    /// Forgets consumed tokens, always keeping the last one (the comment logic looks at "the
    /// last token" even when all were consumed). Only called between events, when no token
    /// index is held.
    pub(super) fn compact_tokens(&mut self) {
        if self.tokens_head > 64 {
            let keep_from = self.tokens_head.min(self.tokens.len().saturating_sub(1));
            self.tokens.drain(..keep_from);
            self.tokens_head -= keep_from;
        }
    }

    pub(super) fn insert_token(&mut self, pos: Option<usize>, token: Token) {
        match pos {
            None => self.tokens.push(token),
            Some(pos) => self.tokens.insert(self.tokens_head + pos, token),
        }
    }

    pub(super) fn fetch_more_tokens(&mut self) -> bool {
        loop {
            // [Go] The comment parsing logic requires a lookahead of two tokens.
            if self.tokens_head + 2 < self.tokens.len() {
                let Some(&head_tok_idx) = self.simple_keys_by_tok.get(&self.tokens_parsed) else {
                    break;
                };
                match self.simple_key_is_valid(head_tok_idx) {
                    None => return false,
                    Some(false) => break,
                    Some(true) => {}
                }
            }
            if !self.fetch_next_token() {
                return false;
            }
        }
        self.token_available = true;
        true
    }

    fn fetch_next_token(&mut self) -> bool {
        if !self.stream_start_produced {
            return self.fetch_stream_start();
        }
        let scan_mark = self.mark;
        if !self.scan_to_next_token() {
            return false;
        }
        if !self.unroll_indent(self.mark.column, scan_mark) {
            return false;
        }
        if is_z(&self.buffer, self.buffer_pos) {
            return self.fetch_stream_end();
        }
        if self.mark.column == 0 && self.cur() == b'%' {
            return self.fetch_directive();
        }
        let b0 = self.cur();
        let b1 = self.peek_at(1);
        let b2 = self.peek_at(2);
        if self.mark.column == 0
            && b0 == b'-'
            && b1 == b'-'
            && b2 == b'-'
            && is_blankz(&self.buffer, self.buffer_pos + 3)
        {
            return self.fetch_document_indicator(TokenType::DocumentStart);
        }
        if self.mark.column == 0
            && b0 == b'.'
            && b1 == b'.'
            && b2 == b'.'
            && is_blankz(&self.buffer, self.buffer_pos + 3)
        {
            return self.fetch_document_indicator(TokenType::DocumentEnd);
        }

        let mut comment_mark = self.mark;
        if let Some(last) = self.tokens.last()
            && ((self.flow_level == 0 && b0 == b':') || (self.flow_level > 0 && b0 == b','))
        {
            // Associate any following comments with the prior token.
            comment_mark = last.start_mark;
        }
        let ok = self.fetch_token_at_cursor();
        if !ok {
            return false;
        }
        if let Some(last) = self.tokens.last()
            && last.typ == TokenType::BlockEntry
        {
            // Sequence indicators alone have no line comments. It becomes a head comment for
            // whatever follows.
            return true;
        }
        self.scan_line_comment(comment_mark)
    }

    /// The token dispatch of `yaml_parser_fetch_next_token` after the indicators.
    fn fetch_token_at_cursor(&mut self) -> bool {
        let c = self.cur();
        let next_blankz = is_blankz(&self.buffer, self.buffer_pos + 1);
        match c {
            b'[' => return self.fetch_flow_collection_start(TokenType::FlowSequenceStart),
            b'{' => return self.fetch_flow_collection_start(TokenType::FlowMappingStart),
            b']' => return self.fetch_flow_collection_end(TokenType::FlowSequenceEnd),
            b'}' => return self.fetch_flow_collection_end(TokenType::FlowMappingEnd),
            b',' => return self.fetch_flow_entry(),
            _ => {}
        }
        if c == b'-' && next_blankz {
            return self.fetch_block_entry();
        }
        if c == b'?' && (self.flow_level > 0 || next_blankz) {
            return self.fetch_key();
        }
        if c == b':' && (self.flow_level > 0 || next_blankz) {
            return self.fetch_value();
        }
        match c {
            b'*' => return self.fetch_anchor(TokenType::Alias),
            b'&' => return self.fetch_anchor(TokenType::Anchor),
            b'!' => return self.fetch_tag(),
            b'|' if self.flow_level == 0 => return self.fetch_block_scalar(true),
            b'>' if self.flow_level == 0 => return self.fetch_block_scalar(false),
            b'\'' => return self.fetch_flow_scalar(true),
            b'"' => return self.fetch_flow_scalar(false),
            _ => {}
        }
        let indicator = is_blankz(&self.buffer, self.buffer_pos)
            || matches!(
                c,
                b'-' | b'?'
                    | b':'
                    | b','
                    | b'['
                    | b']'
                    | b'{'
                    | b'}'
                    | b'#'
                    | b'&'
                    | b'*'
                    | b'!'
                    | b'|'
                    | b'>'
                    | b'\''
                    | b'"'
                    | b'%'
                    | b'@'
                    | b'`'
            );
        if !indicator
            || (c == b'-' && !is_blank(&self.buffer, self.buffer_pos + 1))
            || (self.flow_level == 0 && (c == b'?' || c == b':') && !next_blankz)
        {
            return self.fetch_plain_scalar();
        }
        self.set_scanner_error(
            "while scanning for the next token",
            self.mark,
            "found character that cannot start any token",
        )
    }

    /// `yaml_simple_key_is_valid`: `None` on error.
    fn simple_key_is_valid(&mut self, index: usize) -> Option<bool> {
        let key = self.simple_keys[index];
        if !key.possible {
            return Some(false);
        }
        if key.mark.line < self.mark.line || key.mark.index + 1024 < self.mark.index {
            if key.required {
                self.set_scanner_error("while scanning a simple key", key.mark, "could not find expected ':'");
                return None;
            }
            self.simple_keys[index].possible = false;
            return Some(false);
        }
        Some(true)
    }

    fn save_simple_key(&mut self) -> bool {
        let required = self.flow_level == 0 && self.indent == self.mark.column;
        if self.simple_key_allowed {
            let key = super::SimpleKey {
                possible: true,
                required,
                token_number: self.tokens_parsed + (self.tokens.len() - self.tokens_head),
                mark: self.mark,
            };
            if !self.remove_simple_key() {
                return false;
            }
            let last = self.simple_keys.len() - 1;
            self.simple_keys[last] = key;
            self.simple_keys_by_tok.insert(key.token_number, last);
        }
        true
    }

    fn remove_simple_key(&mut self) -> bool {
        let i = self.simple_keys.len() - 1;
        if self.simple_keys[i].possible {
            if self.simple_keys[i].required {
                let mark = self.simple_keys[i].mark;
                return self.set_scanner_error("while scanning a simple key", mark, "could not find expected ':'");
            }
            self.simple_keys[i].possible = false;
            let number = self.simple_keys[i].token_number;
            self.simple_keys_by_tok.remove(&number);
        }
        true
    }

    fn increase_flow_level(&mut self) -> bool {
        self.simple_keys.push(super::SimpleKey {
            possible: false,
            required: false,
            token_number: self.tokens_parsed + (self.tokens.len() - self.tokens_head),
            mark: self.mark,
        });
        self.flow_level += 1;
        if self.flow_level > MAX_FLOW_LEVEL {
            let mark = self.simple_keys[self.simple_keys.len() - 1].mark;
            return self.set_scanner_error(
                "while increasing flow level",
                mark,
                &format!("exceeded max depth of {MAX_FLOW_LEVEL}"),
            );
        }
        true
    }

    fn decrease_flow_level(&mut self) -> bool {
        if self.flow_level > 0 {
            self.flow_level -= 1;
            if let Some(last) = self.simple_keys.pop() {
                self.simple_keys_by_tok.remove(&last.token_number);
            }
        }
        true
    }

    /// `number`: the absolute token number to insert before, or `None` to append.
    fn roll_indent(&mut self, column: i64, number: Option<usize>, typ: TokenType, mark: Mark) -> bool {
        if self.flow_level > 0 {
            return true;
        }
        if self.indent < column {
            self.indents.push(self.indent);
            self.indent = column;
            if self.indents.len() > MAX_INDENTS {
                let mark = self.simple_keys[self.simple_keys.len() - 1].mark;
                return self.set_scanner_error(
                    "while increasing indent level",
                    mark,
                    &format!("exceeded max depth of {MAX_INDENTS}"),
                );
            }
            let token = Token {
                typ,
                start_mark: mark,
                end_mark: mark,
                ..Token::default()
            };
            self.insert_token(number.map(|n| n - self.tokens_parsed), token);
        }
        true
    }

    fn unroll_indent(&mut self, column: i64, scan_mark: Mark) -> bool {
        if self.flow_level > 0 {
            return true;
        }
        let mut block_mark = scan_mark;
        block_mark.index -= 1;
        while self.indent > column {
            // [Go] Reposition the end token before potential following foot comments of
            // parent blocks.
            let mut stop_index = block_mark.index;
            for comment in self.comments.iter().rev() {
                if comment.end_mark.index < stop_index {
                    break;
                }
                if comment.start_mark.column == self.indent + 1 {
                    block_mark = comment.start_mark;
                }
                stop_index = comment.scan_mark.index;
            }
            let token = Token {
                typ: TokenType::BlockEnd,
                start_mark: block_mark,
                end_mark: block_mark,
                ..Token::default()
            };
            self.insert_token(None, token);
            self.indent = self.indents.pop().unwrap_or(-1);
        }
        true
    }

    fn fetch_stream_start(&mut self) -> bool {
        self.indent = -1;
        self.simple_keys.push(super::SimpleKey::default());
        self.simple_key_allowed = true;
        self.stream_start_produced = true;
        let token = Token {
            typ: TokenType::StreamStart,
            start_mark: self.mark,
            end_mark: self.mark,
            ..Token::default()
        };
        self.insert_token(None, token);
        true
    }

    fn fetch_stream_end(&mut self) -> bool {
        if self.mark.column != 0 {
            self.mark.column = 0;
            self.mark.line += 1;
        }
        if !self.unroll_indent(-1, self.mark) {
            return false;
        }
        if !self.remove_simple_key() {
            return false;
        }
        self.simple_key_allowed = false;
        let token = Token {
            typ: TokenType::StreamEnd,
            start_mark: self.mark,
            end_mark: self.mark,
            ..Token::default()
        };
        self.insert_token(None, token);
        true
    }

    fn fetch_directive(&mut self) -> bool {
        if !self.unroll_indent(-1, self.mark) {
            return false;
        }
        if !self.remove_simple_key() {
            return false;
        }
        self.simple_key_allowed = false;
        let mut token = Token::default();
        if !self.scan_directive(&mut token) {
            return false;
        }
        self.insert_token(None, token);
        true
    }

    fn fetch_document_indicator(&mut self, typ: TokenType) -> bool {
        if !self.unroll_indent(-1, self.mark) {
            return false;
        }
        if !self.remove_simple_key() {
            return false;
        }
        self.simple_key_allowed = false;
        let start_mark = self.mark;
        self.skip();
        self.skip();
        self.skip();
        let token = Token {
            typ,
            start_mark,
            end_mark: self.mark,
            ..Token::default()
        };
        self.insert_token(None, token);
        true
    }

    fn fetch_flow_collection_start(&mut self, typ: TokenType) -> bool {
        if !self.save_simple_key() {
            return false;
        }
        if !self.increase_flow_level() {
            return false;
        }
        self.simple_key_allowed = true;
        let start_mark = self.mark;
        self.skip();
        let token = Token {
            typ,
            start_mark,
            end_mark: self.mark,
            ..Token::default()
        };
        self.insert_token(None, token);
        true
    }

    fn fetch_flow_collection_end(&mut self, typ: TokenType) -> bool {
        if !self.remove_simple_key() {
            return false;
        }
        if !self.decrease_flow_level() {
            return false;
        }
        self.simple_key_allowed = false;
        let start_mark = self.mark;
        self.skip();
        let token = Token {
            typ,
            start_mark,
            end_mark: self.mark,
            ..Token::default()
        };
        self.insert_token(None, token);
        true
    }

    fn fetch_flow_entry(&mut self) -> bool {
        if !self.remove_simple_key() {
            return false;
        }
        self.simple_key_allowed = true;
        let start_mark = self.mark;
        self.skip();
        let token = Token {
            typ: TokenType::FlowEntry,
            start_mark,
            end_mark: self.mark,
            ..Token::default()
        };
        self.insert_token(None, token);
        true
    }

    fn fetch_block_entry(&mut self) -> bool {
        if self.flow_level == 0 {
            if !self.simple_key_allowed {
                return self.set_scanner_error("", self.mark, "block sequence entries are not allowed in this context");
            }
            if !self.roll_indent(self.mark.column, None, TokenType::BlockSequenceStart, self.mark) {
                return false;
            }
        }
        if !self.remove_simple_key() {
            return false;
        }
        self.simple_key_allowed = true;
        let start_mark = self.mark;
        self.skip();
        let token = Token {
            typ: TokenType::BlockEntry,
            start_mark,
            end_mark: self.mark,
            ..Token::default()
        };
        self.insert_token(None, token);
        true
    }

    fn fetch_key(&mut self) -> bool {
        if self.flow_level == 0 {
            if !self.simple_key_allowed {
                return self.set_scanner_error("", self.mark, "mapping keys are not allowed in this context");
            }
            if !self.roll_indent(self.mark.column, None, TokenType::BlockMappingStart, self.mark) {
                return false;
            }
        }
        if !self.remove_simple_key() {
            return false;
        }
        self.simple_key_allowed = self.flow_level == 0;
        let start_mark = self.mark;
        self.skip();
        let token = Token {
            typ: TokenType::Key,
            start_mark,
            end_mark: self.mark,
            ..Token::default()
        };
        self.insert_token(None, token);
        true
    }

    fn fetch_value(&mut self) -> bool {
        let index = self.simple_keys.len() - 1;
        match self.simple_key_is_valid(index) {
            None => return false,
            Some(true) => {
                let key = self.simple_keys[index];
                let token = Token {
                    typ: TokenType::Key,
                    start_mark: key.mark,
                    end_mark: key.mark,
                    ..Token::default()
                };
                self.insert_token(Some(key.token_number - self.tokens_parsed), token);
                if !self.roll_indent(
                    key.mark.column,
                    Some(key.token_number),
                    TokenType::BlockMappingStart,
                    key.mark,
                ) {
                    return false;
                }
                self.simple_keys[index].possible = false;
                self.simple_keys_by_tok.remove(&key.token_number);
                self.simple_key_allowed = false;
            }
            Some(false) => {
                if self.flow_level == 0 {
                    if !self.simple_key_allowed {
                        return self.set_scanner_error("", self.mark, "mapping values are not allowed in this context");
                    }
                    if !self.roll_indent(self.mark.column, None, TokenType::BlockMappingStart, self.mark) {
                        return false;
                    }
                }
                self.simple_key_allowed = self.flow_level == 0;
            }
        }
        let start_mark = self.mark;
        self.skip();
        let token = Token {
            typ: TokenType::Value,
            start_mark,
            end_mark: self.mark,
            ..Token::default()
        };
        self.insert_token(None, token);
        true
    }

    fn fetch_anchor(&mut self, typ: TokenType) -> bool {
        if !self.save_simple_key() {
            return false;
        }
        self.simple_key_allowed = false;
        let mut token = Token::default();
        if !self.scan_anchor(&mut token, typ) {
            return false;
        }
        self.insert_token(None, token);
        true
    }

    fn fetch_tag(&mut self) -> bool {
        if !self.save_simple_key() {
            return false;
        }
        self.simple_key_allowed = false;
        let mut token = Token::default();
        if !self.scan_tag(&mut token) {
            return false;
        }
        self.insert_token(None, token);
        true
    }

    fn fetch_block_scalar(&mut self, literal: bool) -> bool {
        if !self.remove_simple_key() {
            return false;
        }
        self.simple_key_allowed = true;
        let mut token = Token::default();
        if !self.scan_block_scalar(&mut token, literal) {
            return false;
        }
        self.insert_token(None, token);
        true
    }

    fn fetch_flow_scalar(&mut self, single: bool) -> bool {
        if !self.save_simple_key() {
            return false;
        }
        self.simple_key_allowed = false;
        let mut token = Token::default();
        if !self.scan_flow_scalar(&mut token, single) {
            return false;
        }
        self.insert_token(None, token);
        true
    }

    fn fetch_plain_scalar(&mut self) -> bool {
        if !self.save_simple_key() {
            return false;
        }
        self.simple_key_allowed = false;
        let mut token = Token::default();
        if !self.scan_plain_scalar(&mut token) {
            return false;
        }
        self.insert_token(None, token);
        true
    }

    fn scan_to_next_token(&mut self) -> bool {
        let scan_mark = self.mark;
        loop {
            if self.mark.column == 0 && self.cur() == 0xEF && self.peek_at(1) == 0xBB && self.peek_at(2) == 0xBF {
                self.skip();
            }
            while self.cur() == b' ' || ((self.flow_level > 0 || !self.simple_key_allowed) && self.cur() == b'\t') {
                self.skip();
            }
            // A line comment under a sequence entry that looks more like a header of the
            // following content becomes a head comment.
            if !self.comments.is_empty() && self.tokens.len() > 1 {
                let token_a = self.tokens[self.tokens.len() - 2].typ;
                let token_b = self.tokens[self.tokens.len() - 1].typ;
                let at_break = is_break(&self.buffer, self.buffer_pos);
                let mark = self.mark;
                let comment = self.comments.last_mut().expect("checked non-empty");
                if token_a == TokenType::BlockSequenceStart
                    && token_b == TokenType::BlockEntry
                    && !comment.line.is_empty()
                    && !at_break
                {
                    comment.head = std::mem::take(&mut comment.line);
                    if comment.start_mark.line == mark.line - 1 {
                        comment.token_mark = mark;
                    }
                }
            }
            if self.cur() == b'#' && !self.scan_comments(scan_mark) {
                return false;
            }
            if is_break(&self.buffer, self.buffer_pos) {
                self.skip_line();
                if self.flow_level == 0 {
                    self.simple_key_allowed = true;
                }
            } else {
                break;
            }
        }
        true
    }

    fn scan_directive(&mut self, token: &mut Token) -> bool {
        let start_mark = self.mark;
        self.skip();
        let mut name = Vec::new();
        if !self.scan_directive_name(start_mark, &mut name) {
            return false;
        }
        if name == b"YAML" {
            let (mut major, mut minor) = (0i8, 0i8);
            if !self.scan_version_directive_value(start_mark, &mut major, &mut minor) {
                return false;
            }
            *token = Token {
                typ: TokenType::VersionDirective,
                start_mark,
                end_mark: self.mark,
                major,
                minor,
                ..Token::default()
            };
        } else if name == b"TAG" {
            let (mut handle, mut prefix) = (Vec::new(), Vec::new());
            if !self.scan_tag_directive_value(start_mark, &mut handle, &mut prefix) {
                return false;
            }
            *token = Token {
                typ: TokenType::TagDirective,
                start_mark,
                end_mark: self.mark,
                value: handle,
                prefix,
                ..Token::default()
            };
        } else {
            self.set_scanner_error("while scanning a directive", start_mark, "found unknown directive name");
            return false;
        }
        while is_blank(&self.buffer, self.buffer_pos) {
            self.skip();
        }
        if self.cur() == b'#' {
            while !is_breakz(&self.buffer, self.buffer_pos) {
                self.skip();
            }
        }
        if !is_breakz(&self.buffer, self.buffer_pos) {
            self.set_scanner_error(
                "while scanning a directive",
                start_mark,
                "did not find expected comment or line break",
            );
            return false;
        }
        if is_break(&self.buffer, self.buffer_pos) {
            self.skip_line();
        }
        true
    }

    fn scan_directive_name(&mut self, start_mark: Mark, name: &mut Vec<u8>) -> bool {
        let mut s = Vec::new();
        while is_alpha(self.cur()) {
            self.read(&mut s);
        }
        if s.is_empty() {
            self.set_scanner_error(
                "while scanning a directive",
                start_mark,
                "could not find expected directive name",
            );
            return false;
        }
        if !is_blankz(&self.buffer, self.buffer_pos) {
            self.set_scanner_error(
                "while scanning a directive",
                start_mark,
                "found unexpected non-alphabetical character",
            );
            return false;
        }
        *name = s;
        true
    }

    fn scan_version_directive_value(&mut self, start_mark: Mark, major: &mut i8, minor: &mut i8) -> bool {
        while is_blank(&self.buffer, self.buffer_pos) {
            self.skip();
        }
        if !self.scan_version_directive_number(start_mark, major) {
            return false;
        }
        if self.cur() != b'.' {
            return self.set_scanner_error(
                "while scanning a %YAML directive",
                start_mark,
                "did not find expected digit or '.' character",
            );
        }
        self.skip();
        self.scan_version_directive_number(start_mark, minor)
    }

    fn scan_version_directive_number(&mut self, start_mark: Mark, number: &mut i8) -> bool {
        let mut value: i8 = 0;
        let mut length = 0;
        while self.cur().is_ascii_digit() {
            length += 1;
            if length > 2 {
                return self.set_scanner_error(
                    "while scanning a %YAML directive",
                    start_mark,
                    "found extremely long version number",
                );
            }
            value = value.wrapping_mul(10).wrapping_add((self.cur() - b'0') as i8);
            self.skip();
        }
        if length == 0 {
            return self.set_scanner_error(
                "while scanning a %YAML directive",
                start_mark,
                "did not find expected version number",
            );
        }
        *number = value;
        true
    }

    fn scan_tag_directive_value(&mut self, start_mark: Mark, handle: &mut Vec<u8>, prefix: &mut Vec<u8>) -> bool {
        while is_blank(&self.buffer, self.buffer_pos) {
            self.skip();
        }
        let mut handle_value = Vec::new();
        if !self.scan_tag_handle(true, start_mark, &mut handle_value) {
            return false;
        }
        if !is_blank(&self.buffer, self.buffer_pos) {
            self.set_scanner_error(
                "while scanning a %TAG directive",
                start_mark,
                "did not find expected whitespace",
            );
            return false;
        }
        while is_blank(&self.buffer, self.buffer_pos) {
            self.skip();
        }
        let mut prefix_value = Vec::new();
        if !self.scan_tag_uri(true, &[], start_mark, &mut prefix_value) {
            return false;
        }
        if !is_blankz(&self.buffer, self.buffer_pos) {
            self.set_scanner_error(
                "while scanning a %TAG directive",
                start_mark,
                "did not find expected whitespace or line break",
            );
            return false;
        }
        *handle = handle_value;
        *prefix = prefix_value;
        true
    }

    fn scan_anchor(&mut self, token: &mut Token, typ: TokenType) -> bool {
        let mut s = Vec::new();
        let start_mark = self.mark;
        self.skip();
        while is_alpha(self.cur()) {
            self.read(&mut s);
        }
        let end_mark = self.mark;
        let c = self.cur();
        if s.is_empty()
            || !(is_blankz(&self.buffer, self.buffer_pos)
                || matches!(c, b'?' | b':' | b',' | b']' | b'}' | b'%' | b'@' | b'`'))
        {
            let context = if typ == TokenType::Anchor {
                "while scanning an anchor"
            } else {
                "while scanning an alias"
            };
            self.set_scanner_error(
                context,
                start_mark,
                "did not find expected alphabetic or numeric character",
            );
            return false;
        }
        *token = Token {
            typ,
            start_mark,
            end_mark,
            value: s,
            ..Token::default()
        };
        true
    }

    fn scan_tag(&mut self, token: &mut Token) -> bool {
        let start_mark = self.mark;
        let mut handle = Vec::new();
        let mut suffix = Vec::new();
        if self.peek_at(1) == b'<' {
            self.skip();
            self.skip();
            if !self.scan_tag_uri(false, &[], start_mark, &mut suffix) {
                return false;
            }
            if self.cur() != b'>' {
                self.set_scanner_error("while scanning a tag", start_mark, "did not find the expected '>'");
                return false;
            }
            self.skip();
        } else {
            if !self.scan_tag_handle(false, start_mark, &mut handle) {
                return false;
            }
            if handle[0] == b'!' && handle.len() > 1 && handle[handle.len() - 1] == b'!' {
                if !self.scan_tag_uri(false, &[], start_mark, &mut suffix) {
                    return false;
                }
            } else {
                let head = std::mem::take(&mut handle);
                if !self.scan_tag_uri(false, &head, start_mark, &mut suffix) {
                    return false;
                }
                handle = vec![b'!'];
                if suffix.is_empty() {
                    std::mem::swap(&mut handle, &mut suffix);
                }
            }
        }
        if !is_blankz(&self.buffer, self.buffer_pos) {
            self.set_scanner_error(
                "while scanning a tag",
                start_mark,
                "did not find expected whitespace or line break",
            );
            return false;
        }
        *token = Token {
            typ: TokenType::Tag,
            start_mark,
            end_mark: self.mark,
            value: handle,
            suffix,
            ..Token::default()
        };
        true
    }

    fn scan_tag_handle(&mut self, directive: bool, start_mark: Mark, handle: &mut Vec<u8>) -> bool {
        if self.cur() != b'!' {
            self.set_scanner_tag_error(directive, start_mark, "did not find expected '!'");
            return false;
        }
        let mut s = Vec::new();
        self.read(&mut s);
        while is_alpha(self.cur()) {
            self.read(&mut s);
        }
        if self.cur() == b'!' {
            self.read(&mut s);
        } else if directive && s != b"!" {
            self.set_scanner_tag_error(directive, start_mark, "did not find expected '!'");
            return false;
        }
        *handle = s;
        true
    }

    fn scan_tag_uri(&mut self, directive: bool, head: &[u8], start_mark: Mark, uri: &mut Vec<u8>) -> bool {
        let mut s = Vec::new();
        let mut has_tag = !head.is_empty();
        if head.len() > 1 {
            s.extend_from_slice(&head[1..]);
        }
        loop {
            let c = self.cur();
            let allowed = is_alpha(c)
                || matches!(
                    c,
                    b';' | b'/'
                        | b'?'
                        | b':'
                        | b'@'
                        | b'&'
                        | b'='
                        | b'+'
                        | b'$'
                        | b','
                        | b'.'
                        | b'!'
                        | b'~'
                        | b'*'
                        | b'\''
                        | b'('
                        | b')'
                        | b'['
                        | b']'
                        | b'%'
                );
            if !allowed {
                break;
            }
            if c == b'%' {
                if !self.scan_uri_escapes(directive, start_mark, &mut s) {
                    return false;
                }
            } else {
                self.read(&mut s);
            }
            has_tag = true;
        }
        if !has_tag {
            self.set_scanner_tag_error(directive, start_mark, "did not find expected tag URI");
            return false;
        }
        *uri = s;
        true
    }

    fn scan_uri_escapes(&mut self, directive: bool, start_mark: Mark, s: &mut Vec<u8>) -> bool {
        let mut w = 1024usize;
        while w > 0 {
            if !(self.cur() == b'%' && is_hex(self.peek_at(1)) && is_hex(self.peek_at(2))) {
                return self.set_scanner_tag_error(directive, start_mark, "did not find URI escaped octet");
            }
            let octet = ((as_hex(self.peek_at(1)) << 4) + as_hex(self.peek_at(2))) as u8;
            if w == 1024 {
                w = width(octet);
                if w == 0 {
                    return self.set_scanner_tag_error(directive, start_mark, "found an incorrect leading UTF-8 octet");
                }
            } else if octet & 0xC0 != 0x80 {
                return self.set_scanner_tag_error(directive, start_mark, "found an incorrect trailing UTF-8 octet");
            }
            s.push(octet);
            self.skip();
            self.skip();
            self.skip();
            w -= 1;
        }
        true
    }

    fn scan_block_scalar(&mut self, token: &mut Token, literal: bool) -> bool {
        let start_mark = self.mark;
        self.skip();
        let mut chomping = 0i32;
        let mut increment = 0i64;
        if self.cur() == b'+' || self.cur() == b'-' {
            chomping = if self.cur() == b'+' { 1 } else { -1 };
            self.skip();
            if self.cur().is_ascii_digit() {
                if self.cur() == b'0' {
                    self.set_scanner_error(
                        "while scanning a block scalar",
                        start_mark,
                        "found an indentation indicator equal to 0",
                    );
                    return false;
                }
                increment = i64::from(self.cur() - b'0');
                self.skip();
            }
        } else if self.cur().is_ascii_digit() {
            if self.cur() == b'0' {
                self.set_scanner_error(
                    "while scanning a block scalar",
                    start_mark,
                    "found an indentation indicator equal to 0",
                );
                return false;
            }
            increment = i64::from(self.cur() - b'0');
            self.skip();
            if self.cur() == b'+' || self.cur() == b'-' {
                chomping = if self.cur() == b'+' { 1 } else { -1 };
                self.skip();
            }
        }
        while is_blank(&self.buffer, self.buffer_pos) {
            self.skip();
        }
        if self.cur() == b'#' {
            if !self.scan_line_comment(start_mark) {
                return false;
            }
            while !is_breakz(&self.buffer, self.buffer_pos) {
                self.skip();
            }
        }
        if !is_breakz(&self.buffer, self.buffer_pos) {
            self.set_scanner_error(
                "while scanning a block scalar",
                start_mark,
                "did not find expected comment or line break",
            );
            return false;
        }
        if is_break(&self.buffer, self.buffer_pos) {
            self.skip_line();
        }
        let mut end_mark = self.mark;
        let mut indent = 0i64;
        if increment > 0 {
            indent = if self.indent >= 0 {
                self.indent + increment
            } else {
                increment
            };
        }
        let mut s = Vec::new();
        let mut leading_break = Vec::new();
        let mut trailing_breaks = Vec::new();
        if !self.scan_block_scalar_breaks(&mut indent, &mut trailing_breaks, start_mark, &mut end_mark) {
            return false;
        }
        let mut leading_blank = false;
        while self.mark.column == indent && !is_z(&self.buffer, self.buffer_pos) {
            let trailing_blank = is_blank(&self.buffer, self.buffer_pos);
            if !literal && !leading_blank && !trailing_blank && leading_break.first() == Some(&b'\n') {
                if trailing_breaks.is_empty() {
                    s.push(b' ');
                }
            } else {
                s.extend_from_slice(&leading_break);
            }
            leading_break.clear();
            s.extend_from_slice(&trailing_breaks);
            trailing_breaks.clear();
            leading_blank = is_blank(&self.buffer, self.buffer_pos);
            while !is_breakz(&self.buffer, self.buffer_pos) {
                self.read(&mut s);
            }
            self.read_line(&mut leading_break);
            if !self.scan_block_scalar_breaks(&mut indent, &mut trailing_breaks, start_mark, &mut end_mark) {
                return false;
            }
        }
        if chomping != -1 {
            s.extend_from_slice(&leading_break);
        }
        if chomping == 1 {
            s.extend_from_slice(&trailing_breaks);
        }
        *token = Token {
            typ: TokenType::Scalar,
            start_mark,
            end_mark,
            value: s,
            style: if literal {
                ScalarStyle::Literal
            } else {
                ScalarStyle::Folded
            },
            ..Token::default()
        };
        true
    }

    fn scan_block_scalar_breaks(
        &mut self,
        indent: &mut i64,
        breaks: &mut Vec<u8>,
        start_mark: Mark,
        end_mark: &mut Mark,
    ) -> bool {
        *end_mark = self.mark;
        let mut max_indent = 0i64;
        loop {
            while (*indent == 0 || self.mark.column < *indent) && is_space(&self.buffer, self.buffer_pos) {
                self.skip();
            }
            if self.mark.column > max_indent {
                max_indent = self.mark.column;
            }
            if (*indent == 0 || self.mark.column < *indent) && is_tab(&self.buffer, self.buffer_pos) {
                return self.set_scanner_error(
                    "while scanning a block scalar",
                    start_mark,
                    "found a tab character where an indentation space is expected",
                );
            }
            if !is_break(&self.buffer, self.buffer_pos) {
                break;
            }
            self.read_line(breaks);
            *end_mark = self.mark;
        }
        if *indent == 0 {
            *indent = max_indent;
            if *indent < self.indent + 1 {
                *indent = self.indent + 1;
            }
            if *indent < 1 {
                *indent = 1;
            }
        }
        true
    }

    fn scan_flow_scalar(&mut self, token: &mut Token, single: bool) -> bool {
        let start_mark = self.mark;
        self.skip();
        let mut s = Vec::new();
        let mut leading_break = Vec::new();
        let mut trailing_breaks = Vec::new();
        let mut whitespaces = Vec::new();
        loop {
            let (b0, b1, b2) = (self.cur(), self.peek_at(1), self.peek_at(2));
            if self.mark.column == 0
                && ((b0 == b'-' && b1 == b'-' && b2 == b'-') || (b0 == b'.' && b1 == b'.' && b2 == b'.'))
                && is_blankz(&self.buffer, self.buffer_pos + 3)
            {
                self.set_scanner_error(
                    "while scanning a quoted scalar",
                    start_mark,
                    "found unexpected document indicator",
                );
                return false;
            }
            if is_z(&self.buffer, self.buffer_pos) {
                self.set_scanner_error(
                    "while scanning a quoted scalar",
                    start_mark,
                    "found unexpected end of stream",
                );
                return false;
            }
            let mut leading_blanks = false;
            while !is_blankz(&self.buffer, self.buffer_pos) {
                let c = self.cur();
                if single && c == b'\'' && self.peek_at(1) == b'\'' {
                    s.push(b'\'');
                    self.skip();
                    self.skip();
                } else if (single && c == b'\'') || (!single && c == b'"') {
                    // The closing quote.
                    break;
                } else if !single && c == b'\\' && is_break(&self.buffer, self.buffer_pos + 1) {
                    self.skip();
                    self.skip_line();
                    leading_blanks = true;
                    break;
                } else if !single && c == b'\\' {
                    let mut code_length = 0usize;
                    match self.peek_at(1) {
                        b'0' => s.push(0),
                        b'a' => s.push(0x07),
                        b'b' => s.push(0x08),
                        b't' | b'\t' => s.push(0x09),
                        b'n' => s.push(0x0A),
                        b'v' => s.push(0x0B),
                        b'f' => s.push(0x0C),
                        b'r' => s.push(0x0D),
                        b'e' => s.push(0x1B),
                        b' ' => s.push(0x20),
                        b'"' => s.push(b'"'),
                        b'\'' => s.push(b'\''),
                        b'\\' => s.push(b'\\'),
                        b'N' => s.extend_from_slice(&[0xC2, 0x85]),
                        b'_' => s.extend_from_slice(&[0xC2, 0xA0]),
                        b'L' => s.extend_from_slice(&[0xE2, 0x80, 0xA8]),
                        b'P' => s.extend_from_slice(&[0xE2, 0x80, 0xA9]),
                        b'x' => code_length = 2,
                        b'u' => code_length = 4,
                        b'U' => code_length = 8,
                        _ => {
                            self.set_scanner_error(
                                "while parsing a quoted scalar",
                                start_mark,
                                "found unknown escape character",
                            );
                            return false;
                        }
                    }
                    self.skip();
                    self.skip();
                    if code_length > 0 {
                        let mut value: u32 = 0;
                        for k in 0..code_length {
                            let digit = self.peek_at(k);
                            if !is_hex(digit) {
                                self.set_scanner_error(
                                    "while parsing a quoted scalar",
                                    start_mark,
                                    "did not find expected hexdecimal number",
                                );
                                return false;
                            }
                            value = (value << 4) + as_hex(digit);
                        }
                        let Some(ch) = char::from_u32(value) else {
                            self.set_scanner_error(
                                "while parsing a quoted scalar",
                                start_mark,
                                "found invalid Unicode character escape code",
                            );
                            return false;
                        };
                        let mut utf8 = [0u8; 4];
                        s.extend_from_slice(ch.encode_utf8(&mut utf8).as_bytes());
                        for _ in 0..code_length {
                            self.skip();
                        }
                    }
                } else {
                    self.read(&mut s);
                }
            }
            let c = self.cur();
            if (single && c == b'\'') || (!single && c == b'"') {
                break;
            }
            while is_blank(&self.buffer, self.buffer_pos) || is_break(&self.buffer, self.buffer_pos) {
                if is_blank(&self.buffer, self.buffer_pos) {
                    if !leading_blanks {
                        self.read(&mut whitespaces);
                    } else {
                        self.skip();
                    }
                } else if !leading_blanks {
                    whitespaces.clear();
                    self.read_line(&mut leading_break);
                    leading_blanks = true;
                } else {
                    self.read_line(&mut trailing_breaks);
                }
            }
            if leading_blanks {
                if leading_break.first() == Some(&b'\n') {
                    if trailing_breaks.is_empty() {
                        s.push(b' ');
                    } else {
                        s.extend_from_slice(&trailing_breaks);
                    }
                } else {
                    s.extend_from_slice(&leading_break);
                    s.extend_from_slice(&trailing_breaks);
                }
                trailing_breaks.clear();
                leading_break.clear();
            } else {
                s.extend_from_slice(&whitespaces);
                whitespaces.clear();
            }
        }
        self.skip();
        *token = Token {
            typ: TokenType::Scalar,
            start_mark,
            end_mark: self.mark,
            value: s,
            style: if single {
                ScalarStyle::SingleQuoted
            } else {
                ScalarStyle::DoubleQuoted
            },
            ..Token::default()
        };
        true
    }

    fn scan_plain_scalar(&mut self, token: &mut Token) -> bool {
        let mut s = Vec::new();
        let mut leading_break = Vec::new();
        let mut trailing_breaks = Vec::new();
        let mut whitespaces = Vec::new();
        let mut leading_blanks = false;
        let indent = self.indent + 1;
        let start_mark = self.mark;
        let mut end_mark = self.mark;
        loop {
            let (b0, b1, b2) = (self.cur(), self.peek_at(1), self.peek_at(2));
            if self.mark.column == 0
                && ((b0 == b'-' && b1 == b'-' && b2 == b'-') || (b0 == b'.' && b1 == b'.' && b2 == b'.'))
                && is_blankz(&self.buffer, self.buffer_pos + 3)
            {
                break;
            }
            if self.cur() == b'#' {
                break;
            }
            while !is_blankz(&self.buffer, self.buffer_pos) {
                let c = self.cur();
                if (c == b':' && is_blankz(&self.buffer, self.buffer_pos + 1))
                    || (self.flow_level > 0 && matches!(c, b',' | b'?' | b'[' | b']' | b'{' | b'}'))
                {
                    break;
                }
                if leading_blanks || !whitespaces.is_empty() {
                    if leading_blanks {
                        if leading_break.first() == Some(&b'\n') {
                            if trailing_breaks.is_empty() {
                                s.push(b' ');
                            } else {
                                s.extend_from_slice(&trailing_breaks);
                            }
                        } else {
                            s.extend_from_slice(&leading_break);
                            s.extend_from_slice(&trailing_breaks);
                        }
                        trailing_breaks.clear();
                        leading_break.clear();
                        leading_blanks = false;
                    } else {
                        s.extend_from_slice(&whitespaces);
                        whitespaces.clear();
                    }
                }
                self.read(&mut s);
                end_mark = self.mark;
            }
            if !(is_blank(&self.buffer, self.buffer_pos) || is_break(&self.buffer, self.buffer_pos)) {
                break;
            }
            while is_blank(&self.buffer, self.buffer_pos) || is_break(&self.buffer, self.buffer_pos) {
                if is_blank(&self.buffer, self.buffer_pos) {
                    if leading_blanks && self.mark.column < indent && is_tab(&self.buffer, self.buffer_pos) {
                        self.set_scanner_error(
                            "while scanning a plain scalar",
                            start_mark,
                            "found a tab character that violates indentation",
                        );
                        return false;
                    }
                    if !leading_blanks {
                        self.read(&mut whitespaces);
                    } else {
                        self.skip();
                    }
                } else if !leading_blanks {
                    whitespaces.clear();
                    self.read_line(&mut leading_break);
                    leading_blanks = true;
                } else {
                    self.read_line(&mut trailing_breaks);
                }
            }
            if self.flow_level == 0 && self.mark.column < indent {
                break;
            }
        }
        *token = Token {
            typ: TokenType::Scalar,
            start_mark,
            end_mark,
            value: s,
            style: ScalarStyle::Plain,
            ..Token::default()
        };
        if leading_blanks {
            self.simple_key_allowed = true;
        }
        true
    }

    fn scan_line_comment(&mut self, token_mark: Mark) -> bool {
        if self.newlines > 0 {
            return true;
        }
        let mut start_mark = Mark::default();
        let mut text = Vec::new();
        let mut peek = 0usize;
        while peek < 512 {
            if is_blank(&self.buffer, self.buffer_pos + peek) {
                peek += 1;
                continue;
            }
            if at(&self.buffer, self.buffer_pos + peek) == b'#' {
                let seen = self.mark.index + peek as i64;
                loop {
                    if is_breakz(&self.buffer, self.buffer_pos) {
                        if self.mark.index >= seen {
                            break;
                        }
                        self.skip_line();
                    } else if self.mark.index >= seen {
                        if text.is_empty() {
                            start_mark = self.mark;
                        }
                        self.read(&mut text);
                    } else {
                        self.skip();
                    }
                }
            }
            break;
        }
        if !text.is_empty() {
            self.comments.push(Comment {
                token_mark,
                start_mark,
                line: text,
                ..Comment::default()
            });
        }
        true
    }

    fn scan_comments(&mut self, scan_mark_in: Mark) -> bool {
        let mut scan_mark = scan_mark_in;
        let mut last = &self.tokens[self.tokens.len() - 1];
        if last.typ == TokenType::FlowEntry && self.tokens.len() > 1 {
            last = &self.tokens[self.tokens.len() - 2];
        }
        let (token_typ, token_start) = (last.typ, last.start_mark);
        let mut token_mark = token_start;
        let mut start_mark = Mark::default();
        let mut next_indent = self.indent.max(0);
        let mut recent_empty = false;
        let mut first_empty = self.newlines <= 1;
        let mut line = self.mark.line;
        let mut column = self.mark.column;
        let mut text: Vec<u8> = Vec::new();

        // The foot line is the place where a comment must start to still be considered as a
        // foot of the prior content.
        let mut foot_line = -1;
        if scan_mark.line > 0 {
            foot_line = self.mark.line - self.newlines + 1;
            if self.newlines == 0 && self.mark.column > 1 {
                foot_line += 1;
            }
        }

        let mut peek = 0usize;
        while peek < 512 {
            column += 1;
            if is_blank(&self.buffer, self.buffer_pos + peek) {
                peek += 1;
                continue;
            }
            let c = at(&self.buffer, self.buffer_pos + peek);
            let close_flow = self.flow_level > 0 && (c == b']' || c == b'}');
            if close_flow || is_breakz(&self.buffer, self.buffer_pos + peek) {
                // Got line break or terminator.
                if close_flow || !recent_empty {
                    if close_flow
                        || (first_empty
                            && ((start_mark.line == foot_line && token_typ != TokenType::Value)
                                || start_mark.column - 1 < next_indent))
                    {
                        // This is the first empty line and there were no empty lines before,
                        // so this initial part of the comment is a foot of the prior token
                        // instead of being a head for the following one.
                        if !text.is_empty() {
                            if start_mark.column - 1 < next_indent {
                                // If dedented it's unrelated to the prior token.
                                token_mark = start_mark;
                            }
                            let end = Mark {
                                index: self.mark.index + peek as i64,
                                line,
                                column,
                            };
                            self.comments.push(Comment {
                                scan_mark,
                                token_mark,
                                start_mark,
                                end_mark: end,
                                foot: std::mem::take(&mut text),
                                ..Comment::default()
                            });
                            scan_mark = end;
                            token_mark = scan_mark;
                        }
                    } else if !text.is_empty() && at(&self.buffer, self.buffer_pos + peek) != 0 {
                        text.push(b'\n');
                    }
                }
                if !is_break(&self.buffer, self.buffer_pos + peek) {
                    break;
                }
                first_empty = false;
                recent_empty = true;
                column = 0;
                line += 1;
                peek += 1;
                continue;
            }

            if !text.is_empty() && (close_flow || (column - 1 < next_indent && column != start_mark.column)) {
                // The comment at the different indentation is a foot of the preceding data
                // rather than a head of the upcoming one.
                let end = Mark {
                    index: self.mark.index + peek as i64,
                    line,
                    column,
                };
                self.comments.push(Comment {
                    scan_mark,
                    token_mark,
                    start_mark,
                    end_mark: end,
                    foot: std::mem::take(&mut text),
                    ..Comment::default()
                });
                scan_mark = end;
                token_mark = scan_mark;
            }

            if at(&self.buffer, self.buffer_pos + peek) != b'#' {
                break;
            }

            if text.is_empty() {
                start_mark = Mark {
                    index: self.mark.index + peek as i64,
                    line,
                    column,
                };
            } else {
                text.push(b'\n');
            }

            recent_empty = false;

            // Consume until after the consumed comment line.
            let seen = self.mark.index + peek as i64;
            loop {
                if is_breakz(&self.buffer, self.buffer_pos) {
                    if self.mark.index >= seen {
                        break;
                    }
                    self.skip_line();
                } else if self.mark.index >= seen {
                    self.read(&mut text);
                } else {
                    self.skip();
                }
            }

            // Go resets `peek` to 0 and its `for` statement then increments it: the line
            // break ending the comment (at peek 0) is never examined, and `line` keeps the
            // comment's line while the next line is scanned. Kept as Go does it.
            column = 0;
            line = self.mark.line;
            next_indent = self.indent.max(0);
            peek = 1;
        }

        if !text.is_empty() {
            self.comments.push(Comment {
                scan_mark,
                token_mark: start_mark,
                start_mark,
                end_mark: Mark {
                    index: self.mark.index + peek as i64 - 1,
                    line,
                    column,
                },
                head: text,
                ..Comment::default()
            });
        }
        true
    }
}
