//! Go's text/template parser (Go 1.25 `parse/parse.go`): items → trees, with Go's exact errors.
//!
//! One `parse` call yields the file's own tree plus one tree per `define`/`block`, as Go's
//! `parse.Parse` does. Function names are checked at parse time (`function "x" not defined`),
//! so the caller supplies the set of known names. Execution semantics live in `exec`.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use super::ast::*;
use super::error::ParseError;
use super::fmt::quote_go;
use super::lexer::{Item, ItemType, Items};

enum Term {
    End,
    Else,
}

struct Parser<'a> {
    name: &'a str,
    lexer: Items<'a>,
    /// The items lexed and still within reach of a backup: `window[0]` is item `base`.
    window: VecDeque<Item<'a>>,
    base: usize,
    /// The last item lexed (`Eof` or `Error` once the lexer is done).
    last: Option<(usize, usize)>,
    cursor: usize,
    /// Index of the furthest item read, and its line: Go reports errors at the line of
    /// `token[0]`.
    furthest: usize,
    furthest_line: usize,
    vars: Vec<String>,
    range_depth: usize,
    action_line: usize,
    source: Arc<Source>,
    has_function: &'a dyn Fn(&str) -> bool,
    trees: Vec<Tree>,
    /// Field and variable names seen so far: `.Values` appears hundreds of times in a file.
    names: std::collections::HashSet<Ident, std::hash::BuildHasherDefault<super::functions::NameHasher>>,
}

type PResult<T> = Result<T, ParseError>;

/// How many items behind the cursor stay readable: the parser backs up at most three (a
/// `{{ define` it looks ahead for, a declaration it turns out not to be).
const BEHIND: usize = 6;

/// Parses `text` as template `name`; returns the file's tree first, then its definitions.
pub fn parse<'a>(
    name: &'a str,
    text: &'a str,
    has_function: &'a dyn Fn(&str) -> bool,
) -> Result<Vec<Tree>, ParseError> {
    let source = Arc::new(Source {
        name: name.to_string(),
        text: Arc::from(text),
    });
    let mut p = Parser {
        name,
        lexer: Items::new(text),
        window: VecDeque::with_capacity(BEHIND + 4),
        base: 0,
        last: None,
        cursor: 0,
        furthest: 0,
        furthest_line: 1,
        vars: vec!["$".into()],
        range_depth: 0,
        action_line: 0,
        source: source.clone(),
        has_function,
        trees: Vec::new(),
        names: Default::default(),
    };
    let root = p.parse_top()?;
    let main = Tree {
        name: name.to_string(),
        source,
        root: Arc::new(root),
        is_definition: false,
    };
    let mut out = vec![main];
    if p.trees.is_empty() {
        return Ok(out);
    }
    let mut seen: HashMap<String, usize> = HashMap::new();
    seen.insert(name.to_string(), 0);
    for tree in p.trees {
        match seen.get(&tree.name) {
            Some(&i) => {
                // Go's `Tree.add`: an empty redefinition is ignored, two non-empty ones clash.
                if out[i].is_empty() {
                    out[i] = tree;
                } else if !tree.is_empty() {
                    return Err(ParseError {
                        name: name.to_string(),
                        line: text.as_bytes().iter().filter(|&&b| b == b'\n').count() + 1,
                        message: format!("template: multiple definition of template {}", quote_go(&tree.name)),
                    });
                }
            }
            None => {
                seen.insert(tree.name.clone(), out.len());
                out.push(tree);
            }
        }
    }
    Ok(out)
}

impl<'a> Parser<'a> {
    fn intern(&mut self, name: &str) -> Ident {
        if let Some(known) = self.names.get(name) {
            return known.clone();
        }
        let ident: Ident = Arc::from(name);
        self.names.insert(ident.clone());
        ident
    }

    /// Item `i`, lexing up to it; past the end, an `Eof` at the last item.
    fn item(&mut self, i: usize) -> Item<'a> {
        while self.base + self.window.len() <= i {
            match self.lexer.next() {
                Some(item) => {
                    self.last = Some((item.pos, item.line));
                    self.window.push_back(item);
                }
                None => break,
            }
        }
        match self.window.get(i - self.base) {
            Some(it) => it.clone(),
            None => {
                let (pos, line) = self.last.unwrap_or((0, 1));
                Item {
                    typ: ItemType::Eof,
                    pos,
                    val: std::borrow::Cow::Borrowed(""),
                    line,
                }
            }
        }
    }

    fn next(&mut self) -> Item<'a> {
        let it = self.item(self.cursor);
        if self.cursor > self.furthest || self.furthest == 0 {
            // Past the end this is the last item (its line is the synthesised Eof's).
            self.furthest = self.cursor;
            self.furthest_line = it.line;
        }
        self.cursor += 1;
        // Items further back than any backup reaches are done with.
        while self.base + BEHIND < self.cursor && !self.window.is_empty() {
            self.window.pop_front();
            self.base += 1;
        }
        it
    }

    fn backup(&mut self) {
        self.cursor -= 1;
    }

    fn peek(&mut self) -> Item<'a> {
        let it = self.next();
        self.backup();
        it
    }

    fn next_non_space(&mut self) -> Item<'a> {
        loop {
            let it = self.next();
            if it.typ != ItemType::Space {
                return it;
            }
        }
    }

    fn peek_non_space(&mut self) -> Item<'a> {
        let it = self.next_non_space();
        self.backup();
        it
    }

    fn errorf(&self, msg: String) -> ParseError {
        ParseError {
            name: self.name.to_string(),
            line: self.furthest_line,
            message: msg,
        }
    }

    fn unexpected(&self, token: &Item, context: &str) -> ParseError {
        if token.typ == ItemType::Error {
            let mut extra = String::new();
            if self.action_line != 0 && self.action_line != token.line {
                extra = format!(" in action started at {}:{}", self.name, self.action_line);
                if token.val.ends_with(" action") {
                    extra = extra[" in action".len()..].to_string();
                }
            }
            return self.errorf(format!("{token}{extra}"));
        }
        self.errorf(format!("unexpected {token} in {context}"))
    }

    fn expect(&mut self, typ: ItemType, context: &str) -> PResult<Item<'a>> {
        let token = self.next_non_space();
        if token.typ != typ {
            return Err(self.unexpected(&token, context));
        }
        Ok(token)
    }

    fn parse_top(&mut self) -> PResult<List> {
        let mut list = List::default();
        while self.peek().typ != ItemType::Eof {
            if self.peek().typ == ItemType::LeftDelim {
                let save = self.cursor;
                self.next();
                if self.next_non_space().typ == ItemType::Define {
                    self.parse_definition()?;
                    continue;
                }
                self.cursor = save;
            }
            match self.text_or_action()? {
                Ok(node) => list.nodes.push(node),
                Err(Term::End) => return Err(self.errorf("unexpected {{end}}".into())),
                Err(Term::Else) => return Err(self.errorf("unexpected {{else}}".into())),
            }
        }
        list.nodes.shrink_to_fit();
        Ok(list)
    }

    /// A new tree (define/block) gets fresh variables and loop depth, like Go's `startParse`.
    fn with_new_tree<T>(&mut self, f: impl FnOnce(&mut Self) -> PResult<T>) -> PResult<T> {
        let vars = std::mem::replace(&mut self.vars, vec!["$".into()]);
        let depth = std::mem::replace(&mut self.range_depth, 0);
        let r = f(self);
        self.vars = vars;
        self.range_depth = depth;
        r
    }

    fn parse_definition(&mut self) -> PResult<()> {
        let context = "define clause";
        let token = self.next_non_space();
        if token.typ != ItemType::String && token.typ != ItemType::RawString {
            return Err(self.unexpected(&token, context));
        }
        let name = self.unquote(&token.val)?;
        self.expect(ItemType::RightDelim, context)?;
        let root = self.with_new_tree(|p| {
            let (list, end) = p.item_list()?;
            if let Term::Else = end {
                return Err(p.errorf(format!("unexpected {{{{else}}}} in {context}")));
            }
            Ok(list)
        })?;
        self.trees.push(Tree {
            name,
            source: self.source.clone(),
            root: Arc::new(root),
            is_definition: true,
        });
        Ok(())
    }

    fn unquote(&self, quoted: &str) -> PResult<String> {
        unquote_go(quoted).ok_or_else(|| self.errorf("invalid syntax".into()))
    }

    fn item_list(&mut self) -> PResult<(List, Term)> {
        let mut list = List::default();
        while self.peek_non_space().typ != ItemType::Eof {
            match self.text_or_action()? {
                Ok(n) => list.nodes.push(n),
                Err(term) => {
                    list.nodes.shrink_to_fit();
                    return Ok((list, term));
                }
            }
        }
        Err(self.errorf("unexpected EOF".into()))
    }

    fn text_or_action(&mut self) -> PResult<Result<Node, Term>> {
        let token = self.next_non_space();
        match token.typ {
            ItemType::Text => Ok(Ok(Node::Text(Text {
                text: token.val.into_owned(),
            }))),
            ItemType::LeftDelim => {
                self.action_line = token.line;
                let r = self.action();
                self.action_line = 0;
                r
            }
            _ => Err(self.unexpected(&token, "input")),
        }
    }

    fn action(&mut self) -> PResult<Result<Node, Term>> {
        let token = self.next_non_space();
        match token.typ {
            ItemType::Block => return self.block_control().map(Ok),
            ItemType::Break => return self.break_control(token.pos, "break").map(Ok),
            ItemType::Continue => return self.break_control(token.pos, "continue").map(Ok),
            ItemType::Else => return self.else_control().map(Err),
            ItemType::End => {
                self.expect(ItemType::RightDelim, "end")?;
                return Ok(Err(Term::End));
            }
            ItemType::If => return self.branch_control("if").map(|b| Ok(Node::If(b))),
            ItemType::Range => return self.branch_control("range").map(|b| Ok(Node::Range(b))),
            ItemType::With => return self.branch_control("with").map(|b| Ok(Node::With(b))),
            ItemType::Template => return self.template_control().map(Ok),
            _ => {}
        }
        self.backup();
        let pos = self.peek().pos;
        let pipe = self.pipeline("command", ItemType::RightDelim)?;
        Ok(Ok(Node::Action(Action { pos, pipe })))
    }

    fn break_control(&mut self, pos: usize, word: &str) -> PResult<Node> {
        let token = self.next_non_space();
        if token.typ != ItemType::RightDelim {
            return Err(self.unexpected(&token, &format!("{{{{{word}}}}}")));
        }
        if self.range_depth == 0 {
            return Err(self.errorf(format!("{{{{{word}}}}} outside {{{{range}}}}")));
        }
        Ok(if word == "break" {
            Node::Break(pos)
        } else {
            Node::Continue(pos)
        })
    }

    fn else_control(&mut self) -> PResult<Term> {
        let peek = self.peek_non_space();
        if peek.typ == ItemType::If || peek.typ == ItemType::With {
            return Ok(Term::Else);
        }
        self.expect(ItemType::RightDelim, "else")?;
        Ok(Term::Else)
    }

    fn branch_control(&mut self, context: &str) -> PResult<Branch> {
        let nvars = self.vars.len();
        let r = self.branch_inner(context);
        self.vars.truncate(nvars);
        r
    }

    fn branch_inner(&mut self, context: &str) -> PResult<Branch> {
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let r = self.item_list();
        if context == "range" {
            self.range_depth -= 1;
        }
        let (list, term) = r?;
        let mut else_list = None;
        if let Term::Else = term {
            let peek = self.peek();
            if context == "if" && peek.typ == ItemType::If {
                self.next();
                let b = self.branch_control("if")?;
                else_list = Some(List {
                    nodes: vec![Node::If(b)],
                });
            } else if context == "with" && peek.typ == ItemType::With {
                self.next();
                let b = self.branch_control("with")?;
                else_list = Some(List {
                    nodes: vec![Node::With(b)],
                });
            } else {
                let (l, t) = self.item_list()?;
                if let Term::Else = t {
                    return Err(self.errorf("expected end; found {{else}}".into()));
                }
                else_list = Some(l);
            }
        }
        Ok(Branch {
            pos: pipe.pos,
            pipe,
            list,
            else_list,
        })
    }

    fn template_name(&self, token: &Item, context: &str) -> PResult<String> {
        match token.typ {
            ItemType::String | ItemType::RawString => self.unquote(&token.val),
            _ => Err(self.unexpected(token, context)),
        }
    }

    fn block_control(&mut self) -> PResult<Node> {
        let context = "block clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, context)?;
        let pipe = self.pipeline(context, ItemType::RightDelim)?;
        let root = self.with_new_tree(|p| {
            let (list, end) = p.item_list()?;
            if let Term::Else = end {
                return Err(p.errorf(format!("unexpected {{{{else}}}} in {context}")));
            }
            Ok(list)
        })?;
        self.trees.push(Tree {
            name: name.clone(),
            source: self.source.clone(),
            root: Arc::new(root),
            is_definition: true,
        });
        Ok(Node::Template(TemplateCall {
            pos: token.pos,
            name,
            pipe: Some(pipe),
        }))
    }

    fn template_control(&mut self) -> PResult<Node> {
        let context = "template clause";
        let token = self.next_non_space();
        let name = self.template_name(&token, context)?;
        let mut pipe = None;
        if self.next_non_space().typ != ItemType::RightDelim {
            self.backup();
            pipe = Some(self.pipeline(context, ItemType::RightDelim)?);
        }
        Ok(Node::Template(TemplateCall {
            pos: token.pos,
            name,
            pipe,
        }))
    }

    fn pipeline(&mut self, context: &str, end: ItemType) -> PResult<Pipe> {
        let token = self.peek_non_space();
        let mut pipe = Pipe {
            pos: token.pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        'decls: loop {
            let v = self.peek_non_space();
            if v.typ != ItemType::Variable {
                break;
            }
            let save = self.cursor;
            self.next_non_space();
            let after = self.peek();
            let next = self.peek_non_space();
            match next.typ {
                ItemType::Assign | ItemType::Declare => {
                    pipe.is_assign = next.typ == ItemType::Assign;
                    self.next_non_space();
                    pipe.decl.push(v.val.to_string());
                    self.vars.push(v.val.into_owned());
                }
                ItemType::Char if next.val == "," => {
                    self.next_non_space();
                    pipe.decl.push(v.val.to_string());
                    self.vars.push(v.val.into_owned());
                    if context == "range" && pipe.decl.len() < 2 {
                        match self.peek_non_space().typ {
                            ItemType::Variable | ItemType::RightDelim | ItemType::RightParen => {
                                continue 'decls;
                            }
                            _ => {
                                return Err(self.errorf("range can only initialize variables".into()));
                            }
                        }
                    }
                    return Err(self.errorf(format!("too many declarations in {context}")));
                }
                _ if after.typ == ItemType::Space => self.cursor = save,
                _ => self.cursor = save,
            }
            break;
        }
        loop {
            let token = self.next_non_space();
            if token.typ == end {
                self.check_pipeline(&pipe, context)?;
                // Parsed sets live for the whole render: no spare capacity in the tree.
                pipe.cmds.shrink_to_fit();
                pipe.decl.shrink_to_fit();
                return Ok(pipe);
            }
            match token.typ {
                ItemType::Bool
                | ItemType::CharConstant
                | ItemType::Complex
                | ItemType::Dot
                | ItemType::Field
                | ItemType::Identifier
                | ItemType::Number
                | ItemType::Nil
                | ItemType::RawString
                | ItemType::String
                | ItemType::Variable
                | ItemType::LeftParen => {
                    self.backup();
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return Err(self.unexpected(&token, context)),
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> PResult<()> {
        if pipe.cmds.is_empty() {
            return Err(self.errorf(format!("missing value for {context}")));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if let Some(Arg::Bool(..) | Arg::Dot(_) | Arg::Nil(_) | Arg::Number(..) | Arg::String(..)) = c.args.first()
            {
                return Err(self.errorf(format!("non executable command in pipeline stage {}", i + 1)));
            }
        }
        Ok(())
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Command { pos, args: Vec::new() };
        loop {
            self.peek_non_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let token = self.next();
            match token.typ {
                ItemType::Space => continue,
                ItemType::RightDelim | ItemType::RightParen => self.backup(),
                ItemType::Pipe => {}
                _ => return Err(self.unexpected(&token, "operand")),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err(self.errorf("empty command".into()));
        }
        cmd.args.shrink_to_fit();
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Arg>> {
        let Some(node) = self.term()? else {
            return Ok(None);
        };
        if self.peek().typ == ItemType::Field {
            let pos = self.peek().pos;
            let mut fields = Vec::new();
            while self.peek().typ == ItemType::Field {
                let f = self.next().val;
                fields.push(self.intern(&f[1..]));
            }
            return Ok(Some(match node {
                Arg::Field(p, mut idents) => {
                    idents.extend(fields);
                    idents.shrink_to_fit();
                    let _ = p;
                    Arg::Field(pos, idents)
                }
                Arg::Variable(_, mut idents) => {
                    idents.extend(fields);
                    idents.shrink_to_fit();
                    Arg::Variable(pos, idents)
                }
                Arg::Bool(..) | Arg::String(..) | Arg::Number(..) | Arg::Nil(_) | Arg::Dot(_) => {
                    return Err(self.errorf(format!("unexpected . after term {}", quote_go(&node.to_string()))));
                }
                other => Arg::Chain(pos, Box::new(other), fields),
            }));
        }
        Ok(Some(node))
    }

    fn term(&mut self) -> PResult<Option<Arg>> {
        let token = self.next_non_space();
        Ok(Some(match token.typ {
            ItemType::Identifier => {
                if !(self.has_function)(&token.val) {
                    return Err(self.errorf(format!("function {} not defined", quote_go(&token.val))));
                }
                Arg::Identifier(token.pos, token.val.into_owned())
            }
            ItemType::Dot => Arg::Dot(token.pos),
            ItemType::Nil => Arg::Nil(token.pos),
            ItemType::Variable => {
                if !self.vars.iter().any(|v| *v == token.val) {
                    return Err(self.errorf(format!("undefined variable {}", quote_go(&token.val))));
                }
                Arg::Variable(token.pos, vec![self.intern(&token.val)])
            }
            ItemType::Field => {
                let mut idents: Vec<Ident> = token.val[1..].split('.').map(|f| self.intern(f)).collect();
                idents.shrink_to_fit();
                Arg::Field(token.pos, idents)
            }
            ItemType::Bool => Arg::Bool(token.pos, token.val == "true"),
            ItemType::CharConstant | ItemType::Complex | ItemType::Number => {
                let n = parse_number(&token.val, token.typ).map_err(|m| self.errorf(m))?;
                Arg::Number(token.pos, Box::new(n))
            }
            ItemType::LeftParen => Arg::Pipe(Box::new(self.pipeline("parenthesized pipeline", ItemType::RightParen)?)),
            ItemType::String | ItemType::RawString => {
                let s = self.unquote(&token.val)?;
                Arg::String(token.pos, token.val.into_owned(), s.into())
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        }))
    }
}

/// Go's `strconv.Unquote` for "…", `…` and '…' literals.
pub fn unquote_go(s: &str) -> Option<String> {
    let b = s.as_bytes();
    if b.len() < 2 {
        return None;
    }
    let (q, last) = (b[0], b[b.len() - 1]);
    if q != last {
        return None;
    }
    let inner = &s[1..s.len() - 1];
    match q {
        b'`' => {
            if inner.contains('`') {
                return None;
            }
            Some(inner.replace('\r', ""))
        }
        // Nothing to decode: Go's `strconv.Unquote` returns such a string as it is.
        b'"' if !inner.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) => Some(inner.to_string()),
        b'"' | b'\'' => {
            let mut out = String::new();
            let mut rest = inner;
            while !rest.is_empty() {
                let (c, tail) = unquote_char(rest, q as char)?;
                match c {
                    Unq::Char(c) => out.push(c),
                    Unq::Byte(byte) => {
                        // Go strings may hold invalid UTF-8; ours can't. Map bytes >= 0x80 to
                        // U+FFFD so output stays valid (charts don't rely on raw byte escapes).
                        if byte < 0x80 {
                            out.push(byte as char);
                        } else {
                            out.push('\u{FFFD}');
                        }
                    }
                }
                rest = tail;
                if q == b'\'' && !rest.is_empty() {
                    return None;
                }
            }
            if q == b'\'' && out.chars().count() != 1 {
                return None;
            }
            Some(out)
        }
        _ => None,
    }
}

enum Unq {
    Char(char),
    Byte(u8),
}

fn unquote_char(s: &str, quote: char) -> Option<(Unq, &str)> {
    let c = s.chars().next()?;
    if c == quote && (quote == '\'' || quote == '"') {
        return None;
    }
    if c != '\\' {
        if c == '\n' {
            return None;
        }
        return Some((Unq::Char(c), &s[c.len_utf8()..]));
    }
    let rest = &s[1..];
    let e = rest.chars().next()?;
    let after = &rest[1..];
    let simple = match e {
        'a' => Some('\x07'),
        'b' => Some('\x08'),
        'f' => Some('\x0c'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\x0b'),
        '\\' => Some('\\'),
        '\'' | '"' => {
            if e != quote {
                return None;
            }
            Some(e)
        }
        _ => None,
    };
    if let Some(c) = simple {
        return Some((Unq::Char(c), after));
    }
    match e {
        'x' | 'u' | 'U' => {
            let n = match e {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            let hex = after.get(..n)?;
            let v = u32::from_str_radix(hex, 16).ok()?;
            if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return None;
            }
            if e == 'x' {
                return Some((Unq::Byte(v as u8), &after[n..]));
            }
            Some((Unq::Char(char::from_u32(v)?), &after[n..]))
        }
        '0'..='7' => {
            let oct = rest.get(..3)?;
            if !oct.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
                return None;
            }
            let v = u32::from_str_radix(oct, 8).ok()?;
            if v > 255 {
                return None;
            }
            Some((Unq::Byte(v as u8), &rest[3..]))
        }
        _ => None,
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)`-style parse of the magnitude, with underscores allowed
/// only when a base prefix is present (Go's rule for base 0).
fn parse_go_uint(text: &str) -> Option<u64> {
    let (digits, radix, prefixed) = if let Some(r) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        (r, 16, true)
    } else if let Some(r) = text.strip_prefix("0o").or_else(|| text.strip_prefix("0O")) {
        (r, 8, true)
    } else if let Some(r) = text.strip_prefix("0b").or_else(|| text.strip_prefix("0B")) {
        (r, 2, true)
    } else if text.len() > 1 && text.starts_with('0') {
        (&text[1..], 8, true)
    } else {
        (text, 10, false)
    };
    if digits.contains('_')
        && (digits.ends_with('_') || digits.contains("__") || (!prefixed && digits.starts_with('_')))
    {
        return None;
    }
    let clean: String = digits.chars().filter(|&c| c != '_').collect();
    if clean.is_empty() {
        return None;
    }
    u64::from_str_radix(&clean, radix).ok()
}

fn parse_go_int(text: &str) -> Option<i64> {
    let (neg, mag) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let u = parse_go_uint(mag)?;
    if neg {
        if u <= i64::MAX as u64 + 1 {
            Some((u as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else if u <= i64::MAX as u64 {
        Some(u as i64)
    } else {
        None
    }
}

fn parse_number(text: &str, typ: ItemType) -> Result<Number, String> {
    let mut n = Number {
        text: text.to_string(),
        int: None,
        uint: None,
        float: None,
        is_complex: false,
    };
    if typ == ItemType::CharConstant {
        let c = unquote_go(text)
            .and_then(|s| s.chars().next())
            .ok_or_else(|| "invalid syntax".to_string())?;
        let v = c as i64;
        n.int = Some(v);
        n.uint = Some(v as u64);
        n.float = Some(v as f64);
        return Ok(n);
    }
    if typ == ItemType::Complex || text.ends_with('i') {
        // Complex constants: Go accepts them, no chart uses them. Keep the value if it is a
        // plain zero imaginary (Go simplifies 0i to an int), else report as Go would for
        // an arithmetic it cannot print.
        n.is_complex = true;
        return Ok(n);
    }
    let unsigned = text.strip_prefix('+').unwrap_or(text);
    if !unsigned.starts_with('-') {
        n.uint = parse_go_uint(unsigned);
    }
    n.int = parse_go_int(text);
    if n.int == Some(0) && n.uint.is_none() {
        n.uint = Some(0);
    }
    if let Some(i) = n.int {
        n.float = Some(i as f64);
    } else if let Some(u) = n.uint {
        n.float = Some(u as f64);
    } else if let Some(f) = parse_go_float(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {}", quote_go(text)));
        }
        n.float = Some(f);
        if f.fract() == 0.0 && f >= i64::MIN as f64 && f < i64::MAX as f64 {
            n.int = Some(f as i64);
        }
        if f.fract() == 0.0 && f >= 0.0 && f < u64::MAX as f64 {
            n.uint = Some(f as u64);
        }
    }
    if n.int.is_none() && n.uint.is_none() && n.float.is_none() {
        return Err(format!("illegal number syntax: {}", quote_go(text)));
    }
    Ok(n)
}

fn parse_go_float(text: &str) -> Option<f64> {
    let clean: String = text.chars().filter(|&c| c != '_').collect();
    let body = clean.trim_start_matches(['+', '-']);
    if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        let f = parse_hex_float(hex)?;
        return Some(if clean.starts_with('-') { -f } else { f });
    }
    if !body
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'))
    {
        return None;
    }
    clean.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// The digits after `0x` of a Go hexadecimal float (`1p60`, `1.8p-3`): a hex mantissa with an
/// optional point and a mandatory binary exponent, as strconv.ParseFloat reads it.
fn parse_hex_float(hex: &str) -> Option<f64> {
    let (mantissa, exp) = hex.split_once(['p', 'P'])?;
    let exp: i32 = exp.parse().ok()?;
    let (int_part, frac_part) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    let mut value = 0f64;
    for c in int_part.chars().chain(frac_part.chars()) {
        value = value * 16.0 + f64::from(c.to_digit(16)?);
    }
    let scale = exp.checked_sub(4 * i32::try_from(frac_part.len()).ok()?)?;
    Some(value * 2f64.powi(scale)).filter(|f| f.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_floats_as_go_reads_them() {
        assert_eq!(parse_go_float("0x1p60"), Some(1_152_921_504_606_846_976.0));
        assert_eq!(parse_go_float("0x1.8p1"), Some(3.0));
        assert_eq!(parse_go_float("-0X_1p-2"), Some(-0.25));
        assert_eq!(parse_go_float("0x1"), None);
        assert_eq!(parse_go_float("0xp1"), None);
    }

    fn p(s: &str) -> Result<Vec<Tree>, ParseError> {
        parse("t", s, &|n| n == "f")
    }

    #[test]
    fn round_trips_node_strings() {
        let trees = p("{{ $x := f 1 \"a\" (f .b.c) | f }}").unwrap_or_default();
        assert_eq!(
            trees.first().map(|t| t.root.to_string()),
            Some("{{$x := f 1 \"a\" (f .b.c) | f}}".to_string())
        );
    }

    #[test]
    fn reports_go_messages() {
        let err = |s: &str| p(s).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(err("{{ g }}"), "template: t:1: function \"g\" not defined");
        assert_eq!(err("{{ if 1 }}"), "template: t:1: unexpected EOF");
        assert_eq!(err("{{ end }}"), "template: t:1: unexpected {{end}}");
        assert_eq!(err("{{ $y }}"), "template: t:1: undefined variable \"$y\"");
        assert_eq!(err("{{ break }}"), "template: t:1: {{break}} outside {{range}}");
    }
}
