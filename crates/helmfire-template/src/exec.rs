//! The executor: walks parsed trees over [`Value`]s with Go's `text/template/exec.go` semantics.
//!
//! Go distinguishes an *invalid* value (untyped nil, e.g. a pipeline that produced nothing)
//! from a *nil interface* (a missing key of a `map[string]interface{}`), and reports errors
//! differently for each; [`Rv`] keeps that distinction. Execution never panics: every failure
//! is a [`TemplateError`] carrying Go's message and location.

use std::sync::Arc;

use super::ast::*;
use super::error::{Cause, ExecError, FuncError, Location, TemplateError};
use super::fmt::{sprint_value, type_name};
use super::functions::{Context, Func, Param};
use super::{Options, TemplateSet};
use helmfire_value::{ListType, MapType, Value};

/// A value as Go's `reflect.Value` sees it in the executor.
#[derive(Clone, Debug)]
pub struct Rv {
    pub v: Value,
    /// The static type is `interface {}` (a map element or `[]interface{}` element).
    pub iface: bool,
}

impl Rv {
    pub fn invalid() -> Rv {
        Rv {
            v: Value::Nil,
            iface: false,
        }
    }
    pub fn val(v: Value) -> Rv {
        Rv { v, iface: false }
    }
    fn is_invalid(&self) -> bool {
        self.v.is_nil() && !self.iface
    }
    /// Go's static type name for error messages.
    fn type_str(&self) -> String {
        if self.iface {
            "interface {}".into()
        } else {
            type_name(&self.v)
        }
    }
}

/// Go's `isTrue`.
pub fn truth(v: &Value) -> bool {
    match v {
        Value::Nil => false,
        Value::Bool(b) => *b,
        Value::Int(i, _) => *i != 0,
        Value::Float(f) => *f != 0.0,
        Value::String(s) => !s.is_empty(),
        Value::Bytes(b) => !b.is_empty(),
        Value::List(l, _) => !l.is_empty(),
        Value::Map(m, _) => !m.read().is_empty(),
        // Map- and slice-kinded Go objects (Helm's `.Files`) are false when empty, as in Go.
        Value::Object(o) if matches!(o.kind(), "map" | "slice") => truth(&o.to_plain()),
        Value::Object(_) => true,
    }
}

enum Flow {
    Normal,
    Break,
    Continue,
}

type EResult<T> = Result<T, TemplateError>;

#[derive(Clone, Copy)]
enum At<'a> {
    None,
    Arg(&'a Arg),
    Cmd(&'a Command),
    Pipe(&'a Pipe),
    Node(&'a Node),
}

/// Template lookup through `tpl` overlays (innermost last) and then the base set.
#[derive(Clone)]
pub struct Scope<'s> {
    pub set: &'s TemplateSet,
    pub overlays: Vec<Arc<Vec<Arc<Tree>>>>,
}

impl Scope<'_> {
    pub fn lookup(&self, name: &str) -> Option<Arc<Tree>> {
        self.lookup_from(self.overlays.len(), name)
    }

    fn lookup_from(&self, depth: usize, name: &str) -> Option<Arc<Tree>> {
        for (i, overlay) in self.overlays[..depth].iter().enumerate().rev() {
            if let Some(t) = overlay.iter().find(|t| t.name == name) {
                // Go's clone-then-parse keeps an existing template when the new one is empty.
                if t.is_empty()
                    && name != self.set.name
                    && let Some(older) = self.lookup_from(i, name)
                {
                    return Some(older);
                }
                return Some(t.clone());
            }
        }
        self.set.trees.get(name).cloned()
    }
}

pub struct State<'a, 's> {
    scope: &'a Scope<'s>,
    tree: &'a Tree,
    /// Variable names borrow from the tree being executed (`$` is static).
    vars: Vec<(&'a str, Rv)>,
    depth: usize,
    at: At<'a>,
    pub ctx: &'a mut Context,
}

const MAX_EXEC_DEPTH: usize = 100_000;

/// Distinct `tpl` strings kept parsed per set before the cache is reset.
const TPL_CACHE_LIMIT: usize = 20_000;

impl<'a, 's> State<'a, 's> {
    /// Executes `tree` with `dot`, appending to `out`.
    pub fn run(scope: &'a Scope<'s>, tree: &'a Tree, dot: Rv, ctx: &'a mut Context, out: &mut String) -> EResult<()> {
        let mut st = State {
            scope,
            tree,
            vars: vec![("$", dot.clone())],
            depth: 0,
            at: At::None,
            ctx,
        };
        st.walk_list(&dot, &tree.root, out).map(|_| ())
    }

    fn options(&self) -> &Options {
        &self.scope.set.options
    }

    fn errorf(&self, msg: impl Into<String>) -> TemplateError {
        self.error(Cause::Message(msg.into()))
    }

    fn error(&self, cause: Cause) -> TemplateError {
        let (pos, context) = match self.at {
            At::None => {
                return TemplateError::Exec(Box::new(ExecError {
                    template: self.tree.name.clone(),
                    location: None,
                    cause,
                }));
            }
            At::Arg(a) => (a.pos(), a.to_string()),
            At::Cmd(c) => (c.pos, c.to_string()),
            At::Pipe(p) => (p.pos, p.to_string()),
            At::Node(n) => (node_pos(n), n.to_string()),
        };
        let (line, column) = self.tree.source.line_col(pos);
        TemplateError::Exec(Box::new(ExecError {
            template: self.tree.name.clone(),
            location: Some(Location {
                file: self.tree.source.name.clone(),
                line,
                column,
                context,
            }),
            cause,
        }))
    }

    fn write(&self, out: &mut String, s: &str) -> EResult<()> {
        out.push_str(s);
        let limit = self.options().max_output;
        if out.len() + self.ctx.output_base > limit {
            return Err(TemplateError::OutputLimit { limit });
        }
        Ok(())
    }

    fn walk_list(&mut self, dot: &Rv, list: &'a List, out: &mut String) -> EResult<Flow> {
        for n in &list.nodes {
            match self.walk(dot, n, out)? {
                Flow::Normal => {}
                f => return Ok(f),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &Rv, node: &'a Node, out: &mut String) -> EResult<Flow> {
        self.at = At::Node(node);
        match node {
            Node::Text(t) => self.write(out, &t.text)?,
            Node::Action(a) => {
                let val = self.eval_pipeline(dot, &a.pipe)?;
                if a.pipe.decl.is_empty() {
                    self.at = At::Node(node);
                    let s = printable(&val);
                    self.write(out, &s)?;
                }
            }
            Node::If(b) => return self.walk_if_with(false, dot, b, out),
            Node::With(b) => return self.walk_if_with(true, dot, b, out),
            Node::Range(b) => return self.walk_range(dot, node, b, out),
            Node::Template(t) => self.walk_template(dot, node, t, out)?,
            Node::Break(_) => return Ok(Flow::Break),
            Node::Continue(_) => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    fn walk_if_with(&mut self, with: bool, dot: &Rv, b: &'a Branch, out: &mut String) -> EResult<Flow> {
        let mark = self.vars.len();
        let r = (|| {
            let val = self.eval_pipeline(dot, &b.pipe)?;
            if truth(&val.v) {
                if with {
                    self.walk_list(&val, &b.list, out)
                } else {
                    self.walk_list(dot, &b.list, out)
                }
            } else if let Some(e) = &b.else_list {
                self.walk_list(dot, e, out)
            } else {
                Ok(Flow::Normal)
            }
        })();
        self.vars.truncate(mark);
        r
    }

    fn walk_range(&mut self, dot: &Rv, node: &'a Node, r: &'a Branch, out: &mut String) -> EResult<Flow> {
        self.at = At::Node(node);
        let mark0 = self.vars.len();
        let res = self.walk_range_inner(dot, node, r, out);
        self.vars.truncate(mark0);
        res
    }

    fn one_iteration(&mut self, r: &'a Branch, index: Rv, elem: Rv, out: &mut String) -> EResult<Flow> {
        let decl = &r.pipe.decl;
        if !decl.is_empty() {
            if r.pipe.is_assign {
                if decl.len() > 1 {
                    self.set_var(&decl[0], index.clone())?;
                } else {
                    self.set_var(&decl[0], elem.clone())?;
                }
            } else {
                let n = self.vars.len();
                self.vars[n - 1].1 = elem.clone();
            }
        }
        if decl.len() > 1 {
            if r.pipe.is_assign {
                self.set_var(&decl[1], elem.clone())?;
            } else {
                let n = self.vars.len();
                self.vars[n - 2].1 = index;
            }
        }
        let mark = self.vars.len();
        let res = self.walk_list(&elem, &r.list, out);
        self.vars.truncate(mark);
        res
    }

    fn walk_range_inner(&mut self, dot: &Rv, node: &'a Node, r: &'a Branch, out: &mut String) -> EResult<Flow> {
        let val = self.eval_pipeline(dot, &r.pipe)?;
        // Map-kinded Go objects (Helm's `.Files`, a `map[string][]byte`) range as their map.
        let val = match &val.v {
            Value::Object(o) if o.kind() == "map" => Rv::val(o.to_plain()),
            _ => val,
        };
        let mut ran = false;
        match &val.v {
            Value::List(items, t) => {
                let iface = *t == ListType::Interface;
                for (i, item) in items.iter().enumerate() {
                    ran = true;
                    let idx = Rv::val(Value::Int(i as i64, helmfire_value::IntType::Int));
                    let elem = Rv { v: item.clone(), iface };
                    if let Flow::Break = self.one_iteration(r, idx, elem, out)? {
                        break;
                    }
                }
            }
            Value::Bytes(bytes) => {
                for (i, b) in bytes.iter().enumerate() {
                    ran = true;
                    let idx = Rv::val(Value::Int(i as i64, helmfire_value::IntType::Int));
                    let elem = Rv::val(Value::Int(*b as i64, helmfire_value::IntType::Uint8));
                    if let Flow::Break = self.one_iteration(r, idx, elem, out)? {
                        break;
                    }
                }
            }
            Value::Map(m, t) => {
                let entries: Vec<(String, Value)> = m.read().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                let iface = t.holds_interfaces();
                for (k, v) in entries {
                    ran = true;
                    let elem = Rv { v, iface };
                    if let Flow::Break = self.one_iteration(r, Rv::val(Value::from(k)), elem, out)? {
                        break;
                    }
                }
            }
            Value::Int(n, t) => {
                if r.pipe.decl.len() > 1 {
                    return Err(self.errorf(format!(
                        "can't use {} to iterate over more than one variable",
                        sprint_value(&val.v)
                    )));
                }
                let (n, t) = (*n, *t);
                for i in 0..n.max(0) {
                    ran = true;
                    if let Flow::Break = self.one_iteration(r, Rv::invalid(), Rv::val(Value::Int(i, t)), out)? {
                        break;
                    }
                }
            }
            Value::Nil => {}
            other => {
                let _ = node;
                return Err(self.errorf(format!("range can't iterate over {}", sprint_value(other))));
            }
        }
        if !ran && let Some(e) = &r.else_list {
            return match self.walk_list(dot, e, out)? {
                Flow::Normal => Ok(Flow::Normal),
                f => Ok(f),
            };
        }
        Ok(Flow::Normal)
    }

    fn walk_template(&mut self, dot: &Rv, node: &'a Node, t: &'a TemplateCall, out: &mut String) -> EResult<()> {
        self.at = At::Node(node);
        let Some(tree) = self.scope.lookup(&t.name) else {
            return Err(self.errorf(format!("template {} not defined", super::fmt::quote_go(&t.name))));
        };
        if self.depth >= MAX_EXEC_DEPTH.min(self.options().max_template_depth) {
            return Err(self.errorf(format!("exceeded maximum template depth ({MAX_EXEC_DEPTH})")));
        }
        let new_dot = match &t.pipe {
            Some(p) => self.eval_pipeline(dot, p)?,
            None => Rv::invalid(),
        };
        let depth = self.depth + 1;
        let scope = self.scope;
        let mut st = State {
            scope,
            tree: &tree,
            vars: vec![("$", new_dot.clone())],
            depth,
            at: At::None,
            ctx: self.ctx,
        };
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || {
            st.walk_list(&new_dot, &tree.root, out).map(|_| ())
        })
    }

    fn set_var(&mut self, name: &str, v: Rv) -> EResult<()> {
        for (n, val) in self.vars.iter_mut().rev() {
            if *n == name {
                *val = v;
                return Ok(());
            }
        }
        Err(self.errorf(format!("undefined variable: {name}")))
    }

    fn var_value(&self, name: &str) -> EResult<Rv> {
        for (n, val) in self.vars.iter().rev() {
            if *n == name {
                return Ok(val.clone());
            }
        }
        Err(self.errorf(format!("undefined variable: {name}")))
    }

    pub(crate) fn eval_pipeline(&mut self, dot: &Rv, pipe: &'a Pipe) -> EResult<Rv> {
        self.at = At::Pipe(pipe);
        let mut value: Option<Rv> = None;
        for cmd in &pipe.cmds {
            let v = self.eval_command(dot, cmd, value.take())?;
            // Go unwraps interface{} results: a nil interface becomes an invalid value.
            value = Some(Rv::val(v.v));
        }
        let value = value.unwrap_or_else(Rv::invalid);
        for var in &pipe.decl {
            if pipe.is_assign {
                self.set_var(var, value.clone())?;
            } else {
                self.vars.push((var.as_str(), value.clone()));
            }
        }
        Ok(value)
    }

    fn not_a_function(&self, args: &[Arg], final_: &Option<Rv>) -> EResult<()> {
        if args.len() > 1 || final_.is_some() {
            return Err(self.errorf(format!("can't give argument to non-function {}", args[0])));
        }
        Ok(())
    }

    fn eval_command(&mut self, dot: &Rv, cmd: &'a Command, final_: Option<Rv>) -> EResult<Rv> {
        let first = &cmd.args[0];
        match first {
            Arg::Field(_, idents) => {
                self.at = At::Arg(first);
                return self.eval_field_chain(dot, dot.clone(), first, idents, &cmd.args, final_);
            }
            Arg::Chain(_, node, fields) => {
                return self.eval_chain(dot, first, node, fields, &cmd.args, final_);
            }
            Arg::Identifier(_, name) => {
                return self.eval_function(dot, first, name, cmd, &cmd.args, final_);
            }
            Arg::Pipe(p) => {
                self.not_a_function(&cmd.args, &final_)?;
                return self.eval_pipeline(dot, p);
            }
            Arg::Variable(_, idents) => {
                return self.eval_variable(dot, first, idents, &cmd.args, final_);
            }
            _ => {}
        }
        self.at = At::Arg(first);
        self.not_a_function(&cmd.args, &final_)?;
        match first {
            Arg::Bool(_, b) => Ok(Rv::val(Value::Bool(*b))),
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Nil(_) => Err(self.errorf("nil is not a command")),
            Arg::Number(_, n) => self.ideal_constant(n).map(Rv::val),
            Arg::String(_, _, s) => Ok(Rv::val(Value::String(s.clone()))),
            _ => Err(self.errorf(format!(
                "can't evaluate command {}",
                super::fmt::quote_go(&first.to_string())
            ))),
        }
    }

    fn ideal_constant(&self, n: &Number) -> EResult<Value> {
        if n.is_complex {
            return Err(self.errorf(format!("complex constants are not supported: {}", n.text)));
        }
        // Go's isHexInt: a hexadecimal float (`0x1p60`) is a float constant.
        let is_hex = (n.text.starts_with("0x")
            || n.text.starts_with("0X")
            || n.text.starts_with("-0x")
            || n.text.starts_with("+0x"))
            && !n.text.contains(['p', 'P']);
        let is_rune = n.text.starts_with('\'');
        if n.float.is_some() && !is_hex && !is_rune && n.text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Ok(Value::Float(n.float.unwrap_or(0.0)));
        }
        if let Some(i) = n.int {
            return Ok(Value::Int(i, helmfire_value::IntType::Int));
        }
        if n.uint.is_some() {
            return Err(self.errorf(format!("{} overflows int", n.text)));
        }
        Ok(Value::Nil)
    }

    fn eval_variable(
        &mut self,
        dot: &Rv,
        node: &'a Arg,
        idents: &'a [super::ast::Ident],
        args: &'a [Arg],
        final_: Option<Rv>,
    ) -> EResult<Rv> {
        self.at = At::Arg(node);
        let value = self.var_value(&idents[0])?;
        if idents.len() == 1 {
            self.not_a_function(args, &final_)?;
            return Ok(value);
        }
        self.eval_field_chain(dot, value, node, &idents[1..], args, final_)
    }

    fn eval_chain(
        &mut self,
        dot: &Rv,
        chain: &'a Arg,
        node: &'a Arg,
        fields: &'a [super::ast::Ident],
        args: &'a [Arg],
        final_: Option<Rv>,
    ) -> EResult<Rv> {
        self.at = At::Arg(chain);
        if let Arg::Nil(_) = node {
            return Err(self.errorf(format!("indirection through explicit nil in {chain}")));
        }
        let pipe = self.eval_arg(dot, Param::Reflect, node)?;
        self.eval_field_chain(dot, pipe, chain, fields, args, final_)
    }

    fn eval_field_chain(
        &mut self,
        dot: &Rv,
        mut receiver: Rv,
        node: &'a Arg,
        idents: &'a [super::ast::Ident],
        args: &'a [Arg],
        final_: Option<Rv>,
    ) -> EResult<Rv> {
        let n = idents.len();
        for ident in &idents[..n - 1] {
            receiver = self.eval_field(dot, ident, node, &[], None, receiver)?;
        }
        self.eval_field(dot, &idents[n - 1], node, args, final_, receiver)
    }

    fn eval_field(
        &mut self,
        dot: &Rv,
        name: &str,
        node: &'a Arg,
        args: &'a [Arg],
        final_: Option<Rv>,
        receiver: Rv,
    ) -> EResult<Rv> {
        if receiver.is_invalid() {
            if self.options().strict {
                return Err(self.errorf(format!("nil data; no entry for key {}", super::fmt::quote_go(name))));
            }
            return Ok(Rv::invalid());
        }
        let typ = receiver.type_str();
        let has_args = args.len() > 1 || final_.is_some();
        match &receiver.v {
            Value::Nil => Err(self.errorf(format!("nil pointer evaluating {typ}.{name}"))),
            Value::Object(o) => {
                if o.has_method(name) {
                    let argv = match o.method_params(name) {
                        Some(params) => {
                            let params: Vec<Param> = params.iter().map(|t| Param::from_go_name(t)).collect();
                            self.method_args(dot, name, &params, args, final_)?
                        }
                        None => {
                            let mut argv = Vec::new();
                            for a in args.iter().skip(1) {
                                argv.push(self.eval_arg(dot, Param::Any, a)?.v);
                            }
                            if let Some(f) = final_ {
                                argv.push(f.v);
                            }
                            argv
                        }
                    };
                    // Go's evalCall points at the node only when the call fails; other errors
                    // keep the last evaluated argument's position.
                    return o
                        .call_method(name, &argv)
                        .map(Rv::val)
                        .map_err(|e| self.method_error(node, name, e));
                }
                // A map-kinded object (`engine.files`) answers fields as Go's maps do.
                if o.kind() == "map" {
                    if has_args {
                        return Err(self.errorf(format!("{name} is not a method but has arguments")));
                    }
                    return match o.field(name) {
                        Some(v) => Ok(Rv::val(v)),
                        None if self.options().strict => {
                            Err(self.errorf(format!("map has no entry for key {}", super::fmt::quote_go(name))))
                        }
                        None => Ok(Rv::val(o.missing_key())),
                    };
                }
                if o.unexported_field(name) {
                    return Err(self.errorf(format!("{name} is an unexported field of struct type {typ}")));
                }
                match o.field(name) {
                    Some(v) => {
                        if has_args {
                            return Err(self.errorf(format!("{name} has arguments but cannot be invoked as function")));
                        }
                        Ok(Rv::val(v))
                    }
                    None => Err(self.errorf(format!("can't evaluate field {name} in type {typ}"))),
                }
            }
            Value::Map(m, MapType::Values) if let Some(params) = super::named::values_method(name) => {
                let argv = self.method_args(dot, name, params, args, final_)?;
                super::named::call_values_method(m, name, &argv)
                    .map(Rv::val)
                    .map_err(|e| self.method_error(node, name, e))
            }
            Value::List(l, ListType::VersionSet) if let Some(params) = super::named::version_set_method(name) => {
                let argv = self.method_args(dot, name, params, args, final_)?;
                super::named::call_version_set_method(l, name, &argv)
                    .map(Rv::val)
                    .map_err(|e| self.method_error(node, name, e))
            }
            Value::Map(m, t) => {
                if has_args {
                    return Err(self.errorf(format!("{name} is not a method but has arguments")));
                }
                let got = m.read().get(name).cloned();
                match got {
                    Some(v) => Ok(Rv {
                        v,
                        iface: t.holds_interfaces(),
                    }),
                    None => {
                        if self.options().strict {
                            return Err(self.errorf(format!("map has no entry for key {}", super::fmt::quote_go(name))));
                        }
                        match t {
                            MapType::Interface | MapType::Values => Ok(Rv {
                                v: Value::Nil,
                                iface: true,
                            }),
                            MapType::String => Ok(Rv::val(Value::from(""))),
                        }
                    }
                }
            }
            _ => Err(self.errorf(format!("can't evaluate field {name} in type {typ}"))),
        }
    }

    /// A method call that failed: Go points at the node (`error calling <name>: …`).
    fn method_error(&mut self, node: &'a Arg, name: &str, error: String) -> TemplateError {
        self.at = At::Arg(node);
        self.error(Cause::Call {
            function: name.to_string(),
            error: FuncError::Plain(error),
        })
    }

    /// Go's `evalCall` argument handling for a method with fixed parameters: the count, then
    /// each argument converted to its parameter type (literal and assignability errors).
    fn method_args(
        &mut self,
        dot: &Rv,
        name: &str,
        params: &[Param],
        args: &'a [Arg],
        final_: Option<Rv>,
    ) -> EResult<Vec<Value>> {
        let args = args.get(1..).unwrap_or(&[]);
        let num_in = args.len() + usize::from(final_.is_some());
        if num_in != params.len() {
            return Err(self.errorf(format!(
                "wrong number of args for {name}: want {} got {num_in}",
                params.len()
            )));
        }
        let mut argv = Vec::with_capacity(num_in);
        for (a, p) in args.iter().zip(params) {
            argv.push(self.eval_arg(dot, *p, a)?.v);
        }
        if let Some(f) = final_ {
            argv.push(self.validate_type(f, params[num_in - 1])?.v);
        }
        Ok(argv)
    }

    fn eval_function(
        &mut self,
        dot: &Rv,
        ident: &'a Arg,
        name: &str,
        cmd: &'a Command,
        args: &'a [Arg],
        final_: Option<Rv>,
    ) -> EResult<Rv> {
        self.at = At::Arg(ident);
        let Some(func) = self.scope.set.funcs.get(name) else {
            return Err(self.errorf(format!("{} is not a defined function", super::fmt::quote_go(name))));
        };
        self.eval_call(dot, func, cmd, name, args, final_)
    }

    fn eval_call(
        &mut self,
        dot: &Rv,
        func: &Func,
        cmd: &'a Command,
        name: &str,
        args: &'a [Arg],
        final_: Option<Rv>,
    ) -> EResult<Rv> {
        let args = &args[1..];
        let num_in = args.len() + usize::from(final_.is_some());
        let nparams = func.params.len();
        if func.variadic.is_some() {
            if num_in < nparams {
                return Err(self.errorf(format!(
                    "wrong number of args for {name}: want at least {nparams} got {}",
                    args.len()
                )));
            }
        } else if num_in != nparams {
            return Err(self.errorf(format!("wrong number of args for {name}: want {nparams} got {num_in}")));
        }
        if func.builtin && (name == "and" || name == "or") {
            let mut v = Rv::invalid();
            for a in args {
                v = self.eval_arg(dot, Param::Reflect, a)?;
                if truth(&v.v) == (name == "or") {
                    return Ok(v);
                }
            }
            if let Some(f) = final_ {
                v = f;
            }
            return Ok(v);
        }
        let mut argv: Vec<Value> = Vec::with_capacity(num_in);
        let mut i = 0;
        let mut first_invalid = false;
        while i < nparams && i < args.len() {
            let rv = self.eval_arg(dot, func.params[i], &args[i])?;
            first_invalid |= i == 0 && rv.is_invalid();
            argv.push(rv.v);
            i += 1;
        }
        if let Some(vt) = func.variadic {
            while i < args.len() {
                argv.push(self.eval_arg(dot, vt, &args[i])?.v);
                i += 1;
            }
        }
        if let Some(f) = final_ {
            let t = if func.variadic.is_some() && num_in > nparams {
                func.variadic.unwrap_or(Param::Any)
            } else {
                func.params[num_in - 1]
            };
            let rv = self.validate_type(f, t)?;
            first_invalid |= argv.is_empty() && rv.is_invalid();
            argv.push(rv.v);
        }
        if func.builtin && name == "len" && first_invalid {
            // Go's `len` calls Type() on the zero reflect.Value and panics.
            self.at = At::Cmd(cmd);
            return Err(self.error(Cause::Call {
                function: name.into(),
                error: FuncError::msg("reflect: call of reflect.Value.Type on zero Value"),
            }));
        }
        if func.builtin && name == "call" {
            let first = args.first().map(|a| a.to_string()).unwrap_or_default();
            self.at = At::Cmd(cmd);
            let msg = match argv.first() {
                None | Some(Value::Nil) => "call of nil".to_string(),
                Some(v) => format!("non-function {first} of type {}", type_name(v)),
            };
            return Err(self.error(Cause::Call {
                function: name.into(),
                error: FuncError::Plain(msg),
            }));
        }
        let result = (func.call)(self, argv);
        match result {
            // A string no output could hold stops here: functions fed their own results
            // (`$x | quote $x | quote $x …`) would otherwise double it into gigabytes before
            // anything is written.
            Ok(Value::String(text)) if text.len() > self.options().max_output => Err(TemplateError::OutputLimit {
                limit: self.options().max_output,
            }),
            Ok(v) => Ok(Rv::val(v)),
            Err(e) => {
                self.at = At::Cmd(cmd);
                Err(self.error(Cause::Call {
                    function: name.to_string(),
                    error: e,
                }))
            }
        }
    }

    fn validate_type(&self, value: Rv, typ: Param) -> EResult<Rv> {
        if value.is_invalid() {
            return match typ {
                Param::Any | Param::Reflect => Ok(value),
                // Go's zero value of the parameter type: a nil map for maps.
                Param::Map => Ok(Rv::val(Value::nil_map())),
                Param::List | Param::StrList | Param::Named(_) => Ok(Rv::val(Value::Nil)),
                _ => Err(self.errorf(format!("invalid value; expected {}", typ.go_name()))),
            };
        }
        if typ.accepts(&value.v) {
            return Ok(value);
        }
        let got = if value.v.is_nil() {
            "interface {}".to_string()
        } else {
            type_name(&value.v)
        };
        if value.v.is_nil() && matches!(typ, Param::List | Param::Map | Param::StrList) {
            // A nil interface is not assignable to a slice/map type.
            return Err(self.errorf(format!("wrong type for value; expected {}; got {got}", typ.go_name())));
        }
        Err(self.errorf(format!("wrong type for value; expected {}; got {got}", typ.go_name())))
    }

    fn eval_arg(&mut self, dot: &Rv, typ: Param, n: &'a Arg) -> EResult<Rv> {
        self.at = At::Arg(n);
        match n {
            Arg::Dot(_) => return self.validate_type(dot.clone(), typ),
            Arg::Nil(_) => {
                return match typ {
                    Param::Map => Ok(Rv::val(Value::nil_map())),
                    Param::Any | Param::Reflect | Param::List | Param::StrList | Param::Named(_) => Ok(Rv::invalid()),
                    _ => Err(self.errorf(format!("cannot assign nil to {}", typ.go_name()))),
                };
            }
            Arg::Field(_, idents) => {
                let v = self.eval_field_chain(dot, dot.clone(), n, idents, &[], None)?;
                return self.validate_type(v, typ);
            }
            Arg::Variable(_, idents) => {
                let v = self.eval_variable(dot, n, idents, &[], None)?;
                return self.validate_type(v, typ);
            }
            Arg::Pipe(p) => {
                let v = self.eval_pipeline(dot, p)?;
                return self.validate_type(v, typ);
            }
            Arg::Identifier(_, name) => {
                let func = self.scope.set.funcs.get(name);
                let Some(func) = func else {
                    return Err(self.errorf(format!("{} is not a defined function", super::fmt::quote_go(name))));
                };
                // A bare function name as an argument is a call with no arguments.
                let cmd_args = std::slice::from_ref(n);
                let v = self.eval_call_bare(dot, func, n, name, cmd_args)?;
                return self.validate_type(v, typ);
            }
            Arg::Chain(_, node, fields) => {
                let v = self.eval_chain(dot, n, node, fields, &[], None)?;
                return self.validate_type(v, typ);
            }
            _ => {}
        }
        match typ {
            Param::Bool => match n {
                Arg::Bool(_, b) => Ok(Rv::val(Value::Bool(*b))),
                _ => Err(self.errorf(format!("expected bool; found {n}"))),
            },
            Param::Float => match n {
                Arg::Number(_, num) if num.float.is_some() => Ok(Rv::val(Value::Float(num.float.unwrap_or(0.0)))),
                _ => Err(self.errorf(format!("expected float; found {n}"))),
            },
            Param::Int | Param::Int64 => match n {
                Arg::Number(_, num) if num.int.is_some() => {
                    let t = if typ == Param::Int {
                        helmfire_value::IntType::Int
                    } else {
                        helmfire_value::IntType::Int64
                    };
                    Ok(Rv::val(Value::Int(num.int.unwrap_or(0), t)))
                }
                _ => Err(self.errorf(format!("expected integer; found {n}"))),
            },
            Param::Uint32 => match n {
                Arg::Number(_, num) if num.uint.is_some_and(|u| u <= u32::MAX as u64) => Ok(Rv::val(Value::Int(
                    num.uint.unwrap_or(0) as i64,
                    helmfire_value::IntType::Uint32,
                ))),
                Arg::Number(_, num) if num.uint.is_some() => Err(self.errorf(format!("{} overflows uint32", num.text))),
                _ => Err(self.errorf(format!("expected unsigned integer; found {n}"))),
            },
            Param::Str => match n {
                Arg::String(_, _, s) => Ok(Rv::val(Value::String(s.clone()))),
                _ => Err(self.errorf(format!("expected string; found {n}"))),
            },
            Param::Any | Param::Reflect => match n {
                Arg::Bool(_, b) => Ok(Rv::val(Value::Bool(*b))),
                Arg::String(_, _, s) => Ok(Rv::val(Value::String(s.clone()))),
                Arg::Number(_, num) => self.ideal_constant(num).map(Rv::val),
                _ => Err(self.errorf(format!("can't handle {n} for arg of type {}", typ.go_name()))),
            },
            _ => Err(self.errorf(format!("can't handle {n} for arg of type {}", typ.go_name()))),
        }
    }

    fn eval_call_bare(&mut self, dot: &Rv, func: &Func, n: &'a Arg, name: &str, args: &'a [Arg]) -> EResult<Rv> {
        let nparams = func.params.len();
        if (func.variadic.is_none() && nparams != 0) || (func.variadic.is_some() && nparams > 0) {
            if func.variadic.is_some() {
                return Err(self.errorf(format!(
                    "wrong number of args for {name}: want at least {nparams} got 0"
                )));
            }
            return Err(self.errorf(format!("wrong number of args for {name}: want {nparams} got 0")));
        }
        let _ = (dot, args);
        match (func.call)(self, Vec::new()) {
            Ok(v) => Ok(Rv::val(v)),
            Err(e) => {
                self.at = At::Arg(n);
                Err(self.error(Cause::Call {
                    function: name.to_string(),
                    error: e,
                }))
            }
        }
    }

    /// Runs a named template for `include`: a fresh execution (no inherited variables).
    pub(crate) fn include(&mut self, name: &str, data: Value) -> Result<String, FuncError> {
        let Some(tree) = self.scope.lookup(name) else {
            return Err(FuncError::Template {
                prefix: String::new(),
                inner: Box::new(TemplateError::NoTemplate {
                    name: name.into(),
                    set: self.scope.set.name.clone(),
                }),
            });
        };
        let max = self.options().max_include_depth;
        if !self.ctx.included.contains_key(name) {
            self.ctx.included.insert(name.to_string(), 0);
        }
        let Some(count) = self.ctx.included.get_mut(name) else {
            return Err(FuncError::msg("include bookkeeping lost"));
        };
        if *count > max {
            return Err(FuncError::Plain(format!(
                "rendering template has a nested reference name: {name}: unable to execute template"
            )));
        }
        *count += 1;
        let mut buf = String::new();
        let scope = self.scope;
        let r = stacker::maybe_grow(64 * 1024, 1024 * 1024, || {
            State::run(scope, &tree, Rv::val(data), self.ctx, &mut buf)
        });
        if let Some(c) = self.ctx.included.get_mut(name) {
            *c -= 1;
        }
        match r {
            Ok(()) => Ok(buf),
            Err(TemplateError::OutputLimit { limit }) => Err(FuncError::Plain(format!(
                "template output exceeds the limit of {limit} bytes"
            ))),
            Err(e) => Err(FuncError::Template {
                prefix: String::new(),
                inner: Box::new(e),
            }),
        }
    }

    /// Helm's `tpl`: parse `text` as the set's root template in a clone of the set and run it.
    pub(crate) fn tpl(&mut self, text: &str, data: Value) -> Result<String, FuncError> {
        // Text without an action renders as itself (charts pass most values through tpl just
        // in case); only the output limit and helm's `<no value>` stripping still apply.
        if !text.contains("{{") && text.len() + self.ctx.output_base <= self.options().max_output {
            return Ok(text.replace("<no value>", ""));
        }
        let set = self.scope.set;
        // Parsed tpl strings are cached on the set (shared by renders and threads): a chart
        // calling tpl thousands of times parses each distinct string once (helm issue 7656).
        let cached = set.tpl_cache.lock().ok().and_then(|c| c.get(text).cloned());
        let parsed = match cached {
            Some(p) => p,
            None => {
                let funcs = &set.funcs;
                let parsed = super::parser::parse(&set.name, text, &|n| funcs.get(n).is_some())
                    .map(|trees| Arc::new(trees.into_iter().map(Arc::new).collect::<Vec<_>>()));
                if let Ok(mut c) = set.tpl_cache.lock() {
                    if c.len() >= TPL_CACHE_LIMIT {
                        c.clear();
                    }
                    c.insert(text.to_string(), parsed.clone());
                }
                parsed
            }
        };
        let trees = match parsed {
            Ok(t) => t,
            Err(e) => {
                return Err(FuncError::Template {
                    prefix: format!("cannot parse template {}: ", super::fmt::quote_go(text)),
                    inner: Box::new(TemplateError::Parse(e)),
                });
            }
        };
        let mut scope = self.scope.clone();
        let root = trees[0].clone();
        scope.overlays.push(trees);
        let mut buf = String::new();
        let r = stacker::maybe_grow(64 * 1024, 1024 * 1024, || {
            State::run(&scope, &root, Rv::val(data), self.ctx, &mut buf)
        });
        match r {
            Ok(()) if buf.contains("<no value>") => Ok(buf.replace("<no value>", "")),
            Ok(()) => Ok(buf),
            Err(TemplateError::OutputLimit { limit }) => Err(FuncError::Plain(format!(
                "template output exceeds the limit of {limit} bytes"
            ))),
            Err(e) => Err(FuncError::Template {
                prefix: format!(
                    "error during tpl function execution for {}: ",
                    super::fmt::quote_go(text)
                ),
                inner: Box::new(e),
            }),
        }
    }
}

fn node_pos(n: &Node) -> usize {
    match n {
        Node::Text(_) => 0,
        Node::Action(a) => a.pos,
        Node::If(b) | Node::Range(b) | Node::With(b) => b.pos,
        Node::Template(t) => t.pos,
        Node::Break(p) | Node::Continue(p) => *p,
    }
}

/// What an action prints: `<no value>` for an invalid value, else `fmt.Sprint`.
fn printable(v: &Rv) -> std::borrow::Cow<'_, str> {
    match &v.v {
        Value::String(s) => std::borrow::Cow::Borrowed(s),
        Value::Object(o) if let Some(s) = o.addressable_string() => std::borrow::Cow::Owned(s),
        _ if v.is_invalid() => std::borrow::Cow::Borrowed("<no value>"),
        other => std::borrow::Cow::Owned(sprint_value(other)),
    }
}
