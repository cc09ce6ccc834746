//! The parse tree of a template, mirroring Go's `text/template/parse` nodes.
//!
//! Every node keeps its byte position so execution errors can name `file:line:col` and the
//! action context (`<.Values.a.b>`) exactly as Go does; `Display` reproduces Go's `Node.String()`.

use std::fmt;
use std::sync::Arc;

/// The text a set of trees was parsed from, shared by all trees of one `parse` call.
#[derive(Debug)]
pub struct Source {
    /// The name given to `parse` (Go's `ParseName`), used in error locations.
    pub name: String,
    pub text: Arc<str>,
}

impl Source {
    /// Go's `ErrorContext` location: `name:line:col`, col a 0-based byte offset in the line.
    pub fn line_col(&self, pos: usize) -> (usize, usize) {
        let pos = pos.min(self.text.len());
        let before = &self.text.as_bytes()[..pos];
        let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
        let col = match before.iter().rposition(|&b| b == b'\n') {
            Some(i) => pos - (i + 1),
            None => pos,
        };
        (line, col)
    }
}

/// A named template: the body of a file, a `define` or a `block`.
#[derive(Debug)]
pub struct Tree {
    pub name: String,
    pub source: Arc<Source>,
    /// Shared by the trees of identical sources parsed under different names (a library chart
    /// vendored into several subcharts is parsed once).
    pub root: Arc<List>,
    /// True for the body of a `define` or `block`, false for a file's own tree.
    pub is_definition: bool,
}

impl Tree {
    /// Go's `parse.IsEmptyTree`: only whitespace text and nothing else.
    pub fn is_empty(&self) -> bool {
        self.root.nodes.iter().all(|n| match n {
            Node::Text(t) => t.text.trim_matches(|c: char| c.is_whitespace()).is_empty(),
            _ => false,
        })
    }
}

#[derive(Debug, Default)]
pub struct List {
    pub nodes: Vec<Node>,
}

#[derive(Debug)]
pub enum Node {
    Text(Text),
    Action(Action),
    If(Branch),
    Range(Branch),
    With(Branch),
    Template(TemplateCall),
    Break(usize),
    Continue(usize),
}

#[derive(Debug)]
pub struct Text {
    pub text: String,
}

#[derive(Debug)]
pub struct Action {
    pub pos: usize,
    pub pipe: Pipe,
}

/// `if`, `range` and `with`: a pipeline, a body and an optional else body.
#[derive(Debug)]
pub struct Branch {
    pub pos: usize,
    pub pipe: Pipe,
    pub list: List,
    pub else_list: Option<List>,
}

#[derive(Debug)]
pub struct TemplateCall {
    pub pos: usize,
    pub name: String,
    pub pipe: Option<Pipe>,
}

#[derive(Debug)]
pub struct Pipe {
    pub pos: usize,
    pub is_assign: bool,
    pub decl: Vec<String>,
    pub cmds: Vec<Command>,
}

#[derive(Debug)]
pub struct Command {
    pub pos: usize,
    pub args: Vec<Arg>,
}

/// A number literal with all the interpretations Go's parser found valid.
#[derive(Debug, Clone)]
pub struct Number {
    pub text: String,
    pub int: Option<i64>,
    pub uint: Option<u64>,
    pub float: Option<f64>,
    pub is_complex: bool,
}

/// A field or variable name, shared by every use of the same name in one parsed text.
pub type Ident = Arc<str>;

#[derive(Debug)]
pub enum Arg {
    Dot(usize),
    Nil(usize),
    Bool(usize, bool),
    /// Boxed: number literals are rare, and `Number` is larger than every other variant.
    Number(usize, Box<Number>),
    /// Position, quoted source text, value.
    String(usize, String, Arc<str>),
    Field(usize, Vec<Ident>),
    /// `$x.a.b`: idents[0] is the variable name including `$`.
    Variable(usize, Vec<Ident>),
    Identifier(usize, String),
    Pipe(Box<Pipe>),
    /// `(pipe).a.b` or `fn.a` etc.
    Chain(usize, Box<Arg>, Vec<Ident>),
}

impl Arg {
    pub fn pos(&self) -> usize {
        match self {
            Arg::Dot(p)
            | Arg::Nil(p)
            | Arg::Bool(p, _)
            | Arg::Number(p, _)
            | Arg::String(p, _, _)
            | Arg::Field(p, _)
            | Arg::Variable(p, _)
            | Arg::Identifier(p, _)
            | Arg::Chain(p, _, _) => *p,
            Arg::Pipe(p) => p.pos,
        }
    }
}

impl fmt::Display for Arg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arg::Dot(_) => f.write_str("."),
            Arg::Nil(_) => f.write_str("nil"),
            Arg::Bool(_, b) => write!(f, "{b}"),
            Arg::Number(_, n) => f.write_str(&n.text),
            Arg::String(_, quoted, _) => f.write_str(quoted),
            Arg::Field(_, idents) => {
                for i in idents {
                    write!(f, ".{i}")?;
                }
                Ok(())
            }
            Arg::Variable(_, idents) => f.write_str(&idents.join(".")),
            Arg::Identifier(_, name) => f.write_str(name),
            Arg::Pipe(p) => write!(f, "{p}"),
            Arg::Chain(_, node, fields) => {
                if let Arg::Pipe(p) = node.as_ref() {
                    write!(f, "({p})")?;
                } else {
                    write!(f, "{node}")?;
                }
                for field in fields {
                    write!(f, ".{field}")?;
                }
                Ok(())
            }
        }
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, arg) in self.args.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            if let Arg::Pipe(p) = arg {
                write!(f, "({p})")?;
            } else {
                write!(f, "{arg}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Pipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.decl.is_empty() {
            f.write_str(&self.decl.join(", "))?;
            f.write_str(if self.is_assign { " = " } else { " := " })?;
        }
        for (i, c) in self.cmds.iter().enumerate() {
            if i > 0 {
                f.write_str(" | ")?;
            }
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl fmt::Display for List {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for n in &self.nodes {
            write!(f, "{n}")?;
        }
        Ok(())
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Node::Text(t) => f.write_str(&crate::fmt::quote_go(&t.text)),
            Node::Action(a) => write!(f, "{{{{{}}}}}", a.pipe),
            Node::If(b) => branch(f, "if", b),
            Node::Range(b) => branch(f, "range", b),
            Node::With(b) => branch(f, "with", b),
            Node::Template(t) => {
                let name = crate::fmt::quote_go(&t.name);
                match &t.pipe {
                    Some(p) => write!(f, "{{{{template {name} {p}}}}}"),
                    None => write!(f, "{{{{template {name}}}}}"),
                }
            }
            Node::Break(_) => f.write_str("{{break}}"),
            Node::Continue(_) => f.write_str("{{continue}}"),
        }
    }
}

fn branch(f: &mut fmt::Formatter<'_>, name: &str, b: &Branch) -> fmt::Result {
    write!(f, "{{{{{name} {}}}}}{}", b.pipe, b.list)?;
    if let Some(e) = &b.else_list {
        write!(f, "{{{{else}}}}{e}")?;
    }
    f.write_str("{{end}}")
}
