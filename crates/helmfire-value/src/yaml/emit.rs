//! go-yaml v2's emitter (`emitterc.go`), reduced to what `yaml.Marshal` of JSON-shaped data
//! produces: block mappings and sequences, `{}`/`[]` for empty ones, and the five scalar styles
//! with libyaml's analysis, 80-column folding and indentation rules, ported decision by decision.
//!
//! The writers work on bytes like libyaml so that "column" means what it means there: one per
//! character written, whatever its width.

/// Scalar text: shared with the value it came from where possible, so emitting allocates
/// little.
pub(crate) enum Text {
    Static(&'static str),
    Owned(String),
    Shared(std::sync::Arc<str>),
}

impl std::ops::Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            Text::Static(s) => s,
            Text::Owned(s) => s,
            Text::Shared(s) => s,
        }
    }
}

/// A node to emit. Keys of mappings are already in go-yaml's sorted order.
pub(crate) enum Node {
    /// A scalar with the style go-yaml's encoder requests (`Plain`, `DoubleQuoted` or `Literal`);
    /// the emitter may still change it, as libyaml does.
    Scalar(Text, Style),
    Sequence(Vec<Node>),
    Mapping(Vec<(Node, Node)>),
}

#[derive(Clone, Copy, PartialEq, Debug)]
pub(crate) enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
}

#[derive(Debug, Default, PartialEq)]
pub(crate) struct Analysis {
    pub(crate) multiline: bool,
    pub(crate) flow_plain_allowed: bool,
    pub(crate) block_plain_allowed: bool,
    pub(crate) single_quoted_allowed: bool,
    pub(crate) block_allowed: bool,
}

pub(crate) struct Emitter {
    out: Vec<u8>,
    best_indent: i32,
    best_width: i32,
    indent: i32,
    indents: Vec<i32>,
    flow_level: i32,
    column: i32,
    whitespace: bool,
    indention: bool,
    root_context: bool,
    mapping_context: bool,
    simple_key_context: bool,
    /// go-yaml v3 (`toYamlPretty`): sequences are indented under mapping keys.
    v3: bool,
    /// Collection nesting, to move to a fresh stack at segment boundaries.
    depth: usize,
}

fn at(b: &[u8], i: usize) -> u8 {
    b.get(i).copied().unwrap_or(0)
}

fn width(c: u8) -> usize {
    if c & 0x80 == 0 {
        1
    } else if c & 0xE0 == 0xC0 {
        2
    } else if c & 0xF0 == 0xE0 {
        3
    } else if c & 0xF8 == 0xF0 {
        4
    } else {
        // Not reachable for valid UTF-8; advance anyway so no loop can stall.
        1
    }
}

fn is_space(b: &[u8], i: usize) -> bool {
    at(b, i) == b' '
}

fn is_blank(b: &[u8], i: usize) -> bool {
    matches!(at(b, i), b' ' | b'\t')
}

fn is_break(b: &[u8], i: usize) -> bool {
    let c = at(b, i);
    c == b'\r'
        || c == b'\n'
        || (c == 0xC2 && at(b, i + 1) == 0x85)
        || (c == 0xE2 && at(b, i + 1) == 0x80 && matches!(at(b, i + 2), 0xA8 | 0xA9))
}

fn is_blankz(b: &[u8], i: usize) -> bool {
    is_blank(b, i) || is_break(b, i) || at(b, i) == 0
}

fn is_printable(b: &[u8], i: usize) -> bool {
    let c = at(b, i);
    let c1 = at(b, i + 1);
    let c2 = at(b, i + 2);
    c == 0x0A
        || (0x20..=0x7E).contains(&c)
        || (c == 0xC2 && c1 >= 0xA0)
        || (c > 0xC2 && c < 0xED)
        || (c == 0xED && c1 < 0xA0)
        || c == 0xEE
        || (c == 0xEF && !(c1 == 0xBB && c2 == 0xBF) && !(c1 == 0xBF && (c2 == 0xBE || c2 == 0xBF)))
}

/// libyaml checks the first three bytes of the value, whatever `i` is (a quirk kept on purpose).
fn is_bom(b: &[u8]) -> bool {
    at(b, 0) == 0xEF && at(b, 1) == 0xBB && at(b, 2) == 0xBF
}

/// `yaml_emitter_analyze_scalar`; `v3` adds go-yaml v3's separate handling of tabs, which
/// rule out plain and single-quoted styles but still allow a literal block.
pub(crate) fn analyze(value: &[u8], v3: bool) -> Analysis {
    // Letters, digits and `._/` anywhere, `-` after the first byte: nothing below would find
    // an indicator, a space, a break or anything unprintable, so every style is allowed. Most
    // scalars of a manifest are such words.
    if value.first().is_some_and(u8::is_ascii_alphanumeric)
        && value
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-'))
    {
        return Analysis {
            multiline: false,
            flow_plain_allowed: true,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: true,
        };
    }
    analyze_fully(value, v3)
}

/// [`analyze`] byte by byte.
fn analyze_fully(value: &[u8], v3: bool) -> Analysis {
    if value.is_empty() {
        return Analysis {
            multiline: false,
            flow_plain_allowed: false,
            block_plain_allowed: true,
            single_quoted_allowed: true,
            block_allowed: false,
        };
    }
    let mut block_indicators = false;
    let mut flow_indicators = false;
    let mut line_breaks = false;
    let mut special_characters = false;
    let mut tab_characters = false;
    let mut leading_space = false;
    let mut leading_break = false;
    let mut trailing_space = false;
    let mut trailing_break = false;
    let mut break_space = false;
    let mut space_break = false;
    let mut previous_space = false;
    let mut previous_break = false;

    if value.len() >= 3 && (value.starts_with(b"---") || value.starts_with(b"...")) {
        block_indicators = true;
        flow_indicators = true;
    }
    let mut preceded_by_whitespace = true;
    let mut i = 0;
    while i < value.len() {
        let w = width(value[i]);
        let followed_by_whitespace = i + w >= value.len() || is_blank(value, i + w);
        if i == 0 {
            match value[i] {
                b'#' | b',' | b'[' | b']' | b'{' | b'}' | b'&' | b'*' | b'!' | b'|' | b'>' | b'\'' | b'"' | b'%'
                | b'@' | b'`' => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                b'?' | b':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                b'-' if followed_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        } else {
            match value[i] {
                b',' | b'?' | b'[' | b']' | b'{' | b'}' => flow_indicators = true,
                b':' => {
                    flow_indicators = true;
                    if followed_by_whitespace {
                        block_indicators = true;
                    }
                }
                b'#' if preceded_by_whitespace => {
                    flow_indicators = true;
                    block_indicators = true;
                }
                _ => {}
            }
        }
        // The encoder runs with unicode output enabled, so only unprintables are special.
        if v3 && value[i] == b'\t' {
            tab_characters = true;
        } else if !is_printable(value, i) {
            special_characters = true;
        }
        if is_space(value, i) {
            if i == 0 {
                leading_space = true;
            }
            if i + w == value.len() {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break(value, i) {
            line_breaks = true;
            if i == 0 {
                leading_break = true;
            }
            if i + w == value.len() {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = is_blankz(value, i);
        i += w;
    }
    let mut a = Analysis {
        multiline: line_breaks,
        flow_plain_allowed: true,
        block_plain_allowed: true,
        single_quoted_allowed: true,
        block_allowed: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if trailing_space {
        a.block_allowed = false;
    }
    if break_space {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || tab_characters || special_characters {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
        a.single_quoted_allowed = false;
    }
    if space_break || special_characters {
        a.block_allowed = false;
    }
    if line_breaks {
        a.flow_plain_allowed = false;
        a.block_plain_allowed = false;
    }
    if flow_indicators {
        a.flow_plain_allowed = false;
    }
    if block_indicators {
        a.block_plain_allowed = false;
    }
    a
}

impl Emitter {
    pub(crate) fn new() -> Emitter {
        Emitter {
            out: Vec::new(),
            best_indent: 2,
            best_width: 80,
            indent: -1,
            indents: Vec::new(),
            flow_level: 0,
            column: 0,
            whitespace: true,
            indention: true,
            root_context: false,
            mapping_context: false,
            simple_key_context: false,
            v3: false,
            depth: 0,
        }
    }

    /// go-yaml v3's encoder with `SetIndent(2)`, as Helm's `toYamlPretty` uses it.
    pub(crate) fn new_v3() -> Emitter {
        // go-yaml v3's encoder never folds long lines (an unlimited best width).
        Emitter {
            v3: true,
            best_width: i32::MAX,
            ..Emitter::new()
        }
    }

    /// `yaml.Marshal`: one implicit document.
    pub(crate) fn document(mut self, root: &Node) -> String {
        self.node(root, true, false, false);
        self.write_indent();
        // Every byte written came from valid UTF-8 input, copied whole characters at a time.
        String::from_utf8(self.out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    fn put(&mut self, c: u8) {
        self.out.push(c);
        self.column += 1;
    }

    fn put_break(&mut self) {
        self.out.push(b'\n');
        self.column = 0;
    }

    fn write(&mut self, s: &[u8], i: &mut usize) {
        let w = width(s[*i]).min(s.len() - *i);
        self.out.extend_from_slice(&s[*i..*i + w]);
        self.column += 1;
        *i += w;
    }

    fn write_all(&mut self, s: &[u8]) {
        let mut i = 0;
        while i < s.len() {
            self.write(s, &mut i);
        }
    }

    fn write_break(&mut self, s: &[u8], i: &mut usize) {
        if s[*i] == b'\n' {
            self.put_break();
            *i += 1;
        } else {
            self.write(s, i);
            self.column = 0;
        }
    }

    fn increase_indent(&mut self, flow: bool, indentless: bool) {
        self.indents.push(self.indent);
        if self.indent < 0 {
            self.indent = if flow { self.best_indent } else { 0 };
        } else if !indentless {
            self.indent += self.best_indent;
        }
    }

    fn pop_indent(&mut self) {
        self.indent = self.indents.pop().unwrap_or(-1);
    }

    fn write_indent(&mut self) {
        let indent = self.indent.max(0);
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.put_break();
        }
        while self.column < indent {
            self.put(b' ');
        }
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indicator(&mut self, indicator: &[u8], need_whitespace: bool, is_whitespace: bool, is_indention: bool) {
        if need_whitespace && !self.whitespace {
            self.put(b' ');
        }
        self.write_all(indicator);
        self.whitespace = is_whitespace;
        self.indention = self.indention && is_indention;
    }

    fn node(&mut self, node: &Node, root: bool, sequence: bool, mapping: bool) {
        self.node_with_key(node, root, sequence, mapping, false);
    }

    fn node_with_key(&mut self, node: &Node, root: bool, sequence: bool, mapping: bool, simple_key: bool) {
        let depth = self.depth;
        // Node trees are at most as deep as the values the encoders accept, so a refused thread
        // cannot happen at a depth the encoders let through; emit inline if it ever does.
        if crate::deep::segmented(depth, || self.node_here(node, root, sequence, mapping, simple_key)).is_none() {
            self.node_here(node, root, sequence, mapping, simple_key);
        }
    }

    fn node_here(&mut self, node: &Node, root: bool, _sequence: bool, mapping: bool, simple_key: bool) {
        self.root_context = root;
        self.mapping_context = mapping;
        self.simple_key_context = simple_key;
        match node {
            Node::Scalar(value, style) => self.scalar(value.as_bytes(), *style),
            Node::Sequence(items) if items.is_empty() || self.flow_level > 0 => self.flow_empty(b"[", b"]"),
            Node::Mapping(entries) if entries.is_empty() || self.flow_level > 0 => self.flow_empty(b"{", b"}"),
            Node::Sequence(items) => self.block_sequence(items),
            Node::Mapping(entries) => self.block_mapping(entries),
        }
    }

    /// Only empty collections are written in flow style by this encoder.
    fn flow_empty(&mut self, open: &[u8], close: &[u8]) {
        self.write_indicator(open, true, true, false);
        self.increase_indent(true, false);
        self.flow_level += 1;
        self.flow_level -= 1;
        self.pop_indent();
        self.write_indicator(close, false, false, false);
    }

    fn block_sequence(&mut self, items: &[Node]) {
        let indentless = !self.v3 && self.mapping_context && !self.indention;
        self.increase_indent(false, indentless);
        self.depth += 1;
        for item in items {
            self.write_indent();
            self.write_indicator(b"-", true, false, true);
            self.node(item, false, true, false);
        }
        self.depth -= 1;
        self.pop_indent();
    }

    fn block_mapping(&mut self, entries: &[(Node, Node)]) {
        self.increase_indent(false, false);
        self.depth += 1;
        for (key, value) in entries {
            self.write_indent();
            if self.simple_key(key) {
                self.node_with_key(key, false, false, true, true);
                self.write_indicator(b":", false, false, false);
            } else {
                self.write_indicator(b"?", true, false, true);
                self.node(key, false, false, true);
                self.write_indent();
                self.write_indicator(b":", true, false, true);
            }
            self.node(value, false, false, true);
        }
        self.depth -= 1;
        self.pop_indent();
    }

    /// `yaml_emitter_check_simple_key`.
    fn simple_key(&self, key: &Node) -> bool {
        match key {
            // `multiline` of the scalar analysis is exactly "contains a line break".
            Node::Scalar(value, _) => {
                let bytes = value.as_bytes();
                bytes.len() <= 128 && !(0..bytes.len()).any(|i| is_break(bytes, i))
            }
            Node::Sequence(items) => items.is_empty(),
            Node::Mapping(entries) => entries.is_empty(),
        }
    }

    fn scalar(&mut self, value: &[u8], requested: Style) {
        let analysis = analyze(value, self.v3);
        let mut style = requested;
        if self.simple_key_context && analysis.multiline {
            style = Style::DoubleQuoted;
        }
        if style == Style::Plain {
            if (self.flow_level > 0 && !analysis.flow_plain_allowed)
                || (self.flow_level == 0 && !analysis.block_plain_allowed)
            {
                style = Style::SingleQuoted;
            }
            if value.is_empty() && (self.flow_level > 0 || self.simple_key_context) {
                style = Style::SingleQuoted;
            }
        }
        if style == Style::SingleQuoted && !analysis.single_quoted_allowed {
            style = Style::DoubleQuoted;
        }
        if style == Style::Literal && (!analysis.block_allowed || self.flow_level > 0 || self.simple_key_context) {
            style = Style::DoubleQuoted;
        }
        self.increase_indent(true, false);
        let allow_breaks = !self.simple_key_context;
        match style {
            Style::Plain => self.write_plain(value, allow_breaks),
            Style::SingleQuoted => self.write_single_quoted(value, allow_breaks),
            Style::DoubleQuoted => self.write_double_quoted(value, allow_breaks),
            Style::Literal => self.write_literal(value),
        }
        self.pop_indent();
    }

    fn write_plain(&mut self, value: &[u8], allow_breaks: bool) {
        if !self.whitespace && (!self.v3 || !value.is_empty()) {
            self.put(b' ');
        }
        // Without spaces or breaks nothing can fold: copy the text in one go.
        if !value
            .iter()
            .any(|&c| c == b' ' || c == b'\r' || c == b'\n' || c >= 0xC2)
        {
            self.out.extend_from_slice(value);
            self.column += value.len() as i32;
            self.whitespace = false;
            self.indention = false;
            return;
        }
        let mut spaces = false;
        let mut breaks = false;
        let mut i = 0;
        while i < value.len() {
            if is_space(value, i) {
                if allow_breaks && !spaces && self.column > self.best_width && !is_space(value, i + 1) {
                    self.write_indent();
                    i += width(value[i]);
                } else {
                    self.write(value, &mut i);
                }
                spaces = true;
            } else if is_break(value, i) {
                if !breaks && value[i] == b'\n' {
                    self.put_break();
                }
                self.write_break(value, &mut i);
                self.indention = true;
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
        self.whitespace = false;
        self.indention = false;
    }

    fn write_single_quoted(&mut self, value: &[u8], allow_breaks: bool) {
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
                    i += width(value[i]);
                } else {
                    self.write(value, &mut i);
                }
                spaces = true;
            } else if is_break(value, i) {
                if !breaks && value[i] == b'\n' {
                    self.put_break();
                }
                self.write_break(value, &mut i);
                self.indention = true;
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

    fn write_double_quoted(&mut self, value: &[u8], allow_breaks: bool) {
        let mut spaces = false;
        self.write_indicator(b"\"", true, false, false);
        let mut i = 0;
        while i < value.len() {
            if !is_printable(value, i) || is_bom(value) || is_break(value, i) || value[i] == b'"' || value[i] == b'\\' {
                let w = width(value[i]).min(value.len() - i);
                let mut v: u32 = match w {
                    1 => u32::from(value[i] & 0x7F),
                    2 => u32::from(value[i] & 0x1F),
                    3 => u32::from(value[i] & 0x0F),
                    _ => u32::from(value[i] & 0x07),
                };
                for k in 1..w {
                    v = (v << 6) + (u32::from(value[i + k]) & 0x3F);
                }
                i += w;
                self.put(b'\\');
                let short = match v {
                    0x00 => Some(b'0'),
                    0x07 => Some(b'a'),
                    0x08 => Some(b'b'),
                    0x09 => Some(b't'),
                    0x0A => Some(b'n'),
                    0x0B => Some(b'v'),
                    0x0C => Some(b'f'),
                    0x0D => Some(b'r'),
                    0x1B => Some(b'e'),
                    0x22 => Some(b'"'),
                    0x5C => Some(b'\\'),
                    0x85 => Some(b'N'),
                    0xA0 => Some(b'_'),
                    0x2028 => Some(b'L'),
                    0x2029 => Some(b'P'),
                    _ => None,
                };
                match short {
                    Some(c) => self.put(c),
                    None => {
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
                    }
                }
                spaces = false;
            } else if is_space(value, i) {
                if allow_breaks && !spaces && self.column > self.best_width && i > 0 && i < value.len() - 1 {
                    self.write_indent();
                    if is_space(value, i + 1) {
                        self.put(b'\\');
                    }
                    i += width(value[i]);
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

    fn write_block_hints(&mut self, value: &[u8]) {
        if is_space(value, 0) || is_break(value, 0) {
            let hint = [b'0' + self.best_indent as u8];
            self.write_indicator(&hint, false, false, false);
        }
        let chomp = if value.is_empty() {
            Some(b'-')
        } else {
            let mut i = value.len() - 1;
            while i > 0 && value[i] & 0xC0 == 0x80 {
                i -= 1;
            }
            if !is_break(value, i) {
                Some(b'-')
            } else if i == 0 {
                Some(b'+')
            } else {
                i -= 1;
                while i > 0 && value[i] & 0xC0 == 0x80 {
                    i -= 1;
                }
                is_break(value, i).then_some(b'+')
            }
        };
        if let Some(c) = chomp {
            self.write_indicator(&[c], false, false, false);
        }
    }

    fn write_literal(&mut self, value: &[u8]) {
        self.write_indicator(b"|", true, false, false);
        self.write_block_hints(value);
        self.put_break();
        self.indention = true;
        self.whitespace = true;
        let mut breaks = true;
        let mut i = 0;
        while i < value.len() {
            if is_break(value, i) {
                self.write_break(value, &mut i);
                self.indention = true;
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
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shortcut for words answers what the byte-by-byte analysis answers, for words and for
    /// texts that only look like them.
    #[test]
    fn words_are_analysed_as_byte_by_byte() {
        let mut texts: Vec<String> = [
            "a",
            "app",
            "nginx",
            "1",
            "0x1F",
            "1.5",
            "v1",
            "apps/v1",
            "a-b",
            "a_b",
            "a.b",
            "a/b/",
            "true",
            "null",
            "a-",
            "Deployment",
            "500m",
            "x--y",
            "-a",
            "-",
            "_a",
            ".a",
            "/a",
            "a b",
            "a:b",
            "a#b",
            "a,b",
            "a\tb",
            "a\n",
            "---",
            "...",
            "é",
            "a\u{7f}",
        ]
        .iter()
        .map(|t| t.to_string())
        .collect();
        for a in ["a", "Z", "0", "-", ".", "_", "/", ":", "#", " ", ",", "\n"] {
            for b in ["a", "9", "-", ".", "_", "/", ":", "#", " ", "["] {
                texts.push(format!("{a}{b}"));
                texts.push(format!("{a}x{b}"));
            }
        }
        for text in texts {
            for v3 in [false, true] {
                assert_eq!(
                    analyze(text.as_bytes(), v3),
                    analyze_fully(text.as_bytes(), v3),
                    "{text:?}"
                );
            }
        }
    }
}
