//! A pure Go `text/template` engine with Sprig v3.3.0 and Helm's template functions.
//!
//! Parse once ([`TemplateSet::parse`]), execute many ([`TemplateSet::execute`]): parsed sets
//! are `Send + Sync` and can be shared across threads; per-render state (include counters, the
//! `tpl` parse cache, clock, randomness, `lookup`) lives in a [`Context`]. This module knows
//! nothing of charts: the caller builds the data (`.Values`, `.Release`, …), names templates,
//! strips `<no value>` (Helm does `strings.ReplaceAll(out, "<no value>", "")` after each file;
//! [`TemplateSet::execute_helm`] does it for you) and formats errors with
//! [`TemplateError::helm_message`].
//!
//! Helm runs templates with `missingkey=zero`, or `missingkey=error` under `--strict`
//! ([`Options::strict`]).

mod ast;
mod error;
mod exec;
pub mod fmt;
pub mod functions;
mod lexer;
pub mod named;
mod parser;
pub mod semver;

use std::sync::Arc;

pub use error::{Cause, ExecError, FuncError, Location, ParseError, TemplateError, warn_wrap};
pub use exec::truth;
pub use functions::{Clock, Context, Func, Functions, Lookup, Param};

use ast::Tree;
use exec::{Rv, Scope, State};

use helmfire_value::Value;

/// Execution limits and Helm's strict mode.
#[derive(Clone, Debug)]
pub struct Options {
    /// `missingkey=error` (Helm's `--strict` lint): a missing map key is an error.
    pub strict: bool,
    /// Maximum bytes of output of one execution (including nested includes).
    pub max_output: usize,
    /// Helm's include recursion guard: the same name nested more than this many times fails.
    pub max_include_depth: usize,
    /// Nesting of `{{template}}` calls within one execution (Go stops at 100000).
    pub max_template_depth: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            strict: false,
            max_output: 256 << 20,
            max_include_depth: 1000,
            max_template_depth: 100_000,
        }
    }
}

/// A set of named templates sharing one function library, like Go's `*template.Template`.
#[derive(Clone)]
pub struct TemplateSet {
    /// The root name (`gotpl` in Helm): `tpl` strings are parsed under it, and it appears in
    /// `no template "x" associated with template "gotpl"`.
    pub name: String,
    trees: functions::NameMap<Arc<Tree>>,
    funcs: Arc<Functions>,
    tpl_cache: Arc<std::sync::Mutex<functions::NameMap<functions::TplParse>>>,
    /// Every text parsed into this set and its trees, so an identical file under another name
    /// (the same library chart vendored into several subcharts) is not parsed again. Keyed by
    /// [`fingerprint`]: hashing every byte of every template cost more than the lookups save.
    parsed: std::collections::HashMap<u64, Vec<Vec<Arc<Tree>>>, std::hash::BuildHasherDefault<functions::NameHasher>>,
    pub options: Options,
}

impl std::fmt::Debug for TemplateSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TemplateSet")
            .field("name", &self.name)
            .field("templates", &self.trees.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Default for TemplateSet {
    fn default() -> Self {
        TemplateSet::new(Arc::new(Functions::helm()))
    }
}

impl TemplateSet {
    /// An empty set named `gotpl` using `funcs`.
    pub fn new(funcs: Arc<Functions>) -> TemplateSet {
        TemplateSet {
            name: "gotpl".into(),
            trees: functions::NameMap::default(),
            funcs,
            tpl_cache: Arc::default(),
            parsed: Default::default(),
            options: Options::default(),
        }
    }

    pub fn functions(&self) -> &Functions {
        &self.funcs
    }

    /// Parses `text` as template `name` and adds it and its `define`s to the set. A later
    /// non-empty definition replaces an earlier one (Go's `AddParseTree`); an empty one does not.
    pub fn parse(&mut self, name: &str, text: &str) -> Result<(), ParseError> {
        let trees = match self.reparse(name, text) {
            Some(trees) => trees,
            None => {
                let trees = self.parse_fresh(name, text)?;
                self.remember(text, &trees);
                trees
            }
        };
        self.add(trees);
        Ok(())
    }

    /// [`parse`](Self::parse) of every `(name, text)` in order, with the same result (the first
    /// error in order is returned, with its index), but the distinct texts are parsed on up to
    /// `threads()` threads first: parsing is most of a small chart's work, and helm's own parse
    /// is single-threaded. `threads` is asked only when there is enough text to share (finding
    /// out the machine's parallelism reads cgroup files).
    pub fn parse_all(
        &mut self,
        files: &[(&str, &str)],
        threads: impl FnOnce() -> usize,
    ) -> Result<(), (usize, ParseError)> {
        // The first file of each distinct text not parsed before is parsed ahead. Keyed by
        // [`fingerprint`]: hashing whole texts cost more than the parse cache saves.
        let mut first_of: std::collections::HashMap<
            u64,
            Vec<usize>,
            std::hash::BuildHasherDefault<functions::NameHasher>,
        > = Default::default();
        let mut ahead: Vec<usize> = Vec::new();
        for (i, (_, text)) in files.iter().enumerate() {
            if self.reparse("", text).is_some() {
                continue;
            }
            let same = first_of.entry(fingerprint(text)).or_default();
            if !same.iter().any(|&j| files[j].1 == *text) {
                same.push(i);
                ahead.push(i);
            }
        }
        let total: usize = ahead.iter().map(|&i| files[i].1.len()).sum();
        // Starting a thread costs about as much as parsing a few kilobytes.
        let threads = if total < 32 * 1024 {
            1
        } else {
            threads().clamp(1, ahead.len().max(1))
        };
        let parsed = self.parse_each(files, &ahead, threads);
        let mut parsed: std::collections::HashMap<usize, Parsed> = ahead.into_iter().zip(parsed).collect();
        for (i, (name, text)) in files.iter().enumerate() {
            let trees = match parsed.remove(&i) {
                Some(Ok(trees)) => {
                    self.remember(text, &trees);
                    trees
                }
                Some(Err(e)) => return Err((i, e)),
                None => match self.reparse(name, text) {
                    Some(trees) => trees,
                    // Renaming the earlier parse would not give a fresh parse's names.
                    None => {
                        let trees = self.parse_fresh(name, text).map_err(|e| (i, e))?;
                        self.remember(text, &trees);
                        trees
                    }
                },
            };
            self.add(trees);
        }
        Ok(())
    }

    /// Parses `files[i]` for every `i` of `which`, on `threads` threads, results in order.
    fn parse_each(&self, files: &[(&str, &str)], which: &[usize], threads: usize) -> Vec<Parsed> {
        if threads <= 1 {
            return which
                .iter()
                .map(|&i| self.parse_fresh(files[i].0, files[i].1))
                .collect();
        }
        let next = std::sync::atomic::AtomicUsize::new(0);
        let slots: Vec<std::sync::Mutex<Option<Parsed>>> = which.iter().map(|_| std::sync::Mutex::new(None)).collect();
        let work = || {
            loop {
                let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(&i) = which.get(k) else { break };
                let result = self.parse_fresh(files[i].0, files[i].1);
                *slots[k].lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(result);
            }
        };
        // The calling thread is one of the workers: one thread fewer to start, and its trees
        // come from the main heap, which grows in large steps, rather than from a new thread's
        // arena, which glibc grows a page at a time (an `mprotect` each).
        std::thread::scope(|scope| {
            for _ in 1..threads {
                scope.spawn(work);
            }
            work();
        });
        slots
            .into_iter()
            .map(|slot| {
                slot.into_inner()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .unwrap_or_else(|| {
                        Err(ParseError {
                            name: String::new(),
                            line: 0,
                            message: "template: a parse thread stopped".into(),
                        })
                    })
            })
            .collect()
    }

    fn parse_fresh(&self, name: &str, text: &str) -> Parsed {
        let funcs = &self.funcs;
        Ok(parser::parse(name, text, &|n| funcs.get(n).is_some())?
            .into_iter()
            .map(Arc::new)
            .collect())
    }

    fn remember(&mut self, text: &str, trees: &[Arc<Tree>]) {
        if !trees.is_empty() {
            self.parsed.entry(fingerprint(text)).or_default().push(trees.to_vec());
        }
    }

    fn add(&mut self, trees: Vec<Arc<Tree>>) {
        for tree in trees {
            if tree.is_empty() && self.trees.contains_key(&tree.name) {
                continue;
            }
            self.trees.insert(tree.name.clone(), tree);
        }
    }

    /// The trees of a text this set already parsed under another name, renamed: the same nodes
    /// under a new file name and source, so errors and `.Template.Name` name the new file. `None`
    /// when the text is new, or when the names would not come out as a fresh parse would (the
    /// file's own tree was replaced by a `define` of its name, or a `define` carries the new name).
    fn reparse(&self, name: &str, text: &str) -> Option<Vec<Arc<Tree>>> {
        let cached = self
            .parsed
            .get(&fingerprint(text))?
            .iter()
            .find(|trees| trees.first().is_some_and(|t| &*t.source.text == text))?;
        let first = cached.first()?;
        if first.is_definition || cached[1..].iter().any(|t| t.name == name) {
            return None;
        }
        let source = Arc::new(ast::Source {
            name: name.to_string(),
            text: first.source.text.clone(),
        });
        let renamed = cached.iter().enumerate().map(|(i, t)| {
            Arc::new(Tree {
                name: if i == 0 { name.to_string() } else { t.name.clone() },
                source: source.clone(),
                root: t.root.clone(),
                is_definition: t.is_definition,
            })
        });
        Some(renamed.collect())
    }

    /// Whether a template of that name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.trees.contains_key(name)
    }

    /// Go's `ExecuteTemplate`: the raw output, `<no value>` included.
    pub fn execute(&self, name: &str, data: &Value, ctx: &mut Context) -> Result<String, TemplateError> {
        let scope = Scope {
            set: self,
            overlays: Vec::new(),
        };
        let Some(tree) = scope.lookup(name) else {
            return Err(TemplateError::NoTemplate {
                name: name.into(),
                set: self.name.clone(),
            });
        };
        let mut out = String::new();
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || {
            State::run(&scope, &tree, Rv::val(data.clone()), ctx, &mut out)
        })?;
        Ok(out)
    }

    /// [`execute`](Self::execute) into `out`, which keeps what was written before a failure, as
    /// Go's `Execute` leaves it in its writer (helmfile's first rendering pass reads that
    /// partial output).
    pub fn execute_into(
        &self,
        name: &str,
        data: &Value,
        ctx: &mut Context,
        out: &mut String,
    ) -> Result<(), TemplateError> {
        let scope = Scope {
            set: self,
            overlays: Vec::new(),
        };
        let Some(tree) = scope.lookup(name) else {
            return Err(TemplateError::NoTemplate {
                name: name.into(),
                set: self.name.clone(),
            });
        };
        stacker::maybe_grow(64 * 1024, 1024 * 1024, || {
            State::run(&scope, &tree, Rv::val(data.clone()), ctx, out)
        })
    }

    /// What Helm keeps of a file's output: [`execute`](Self::execute) minus every `<no value>`.
    pub fn execute_helm(&self, name: &str, data: &Value, ctx: &mut Context) -> Result<String, TemplateError> {
        self.execute(name, data, ctx).map(|s| s.replace("<no value>", ""))
    }
}

/// One text's trees, or why it did not parse.
type Parsed = Result<Vec<Arc<Tree>>, ParseError>;

/// A text's length and its first and last 64 bytes, hashed: texts with equal fingerprints are
/// compared in full.
fn fingerprint(text: &str) -> u64 {
    use std::hash::Hasher;
    let bytes = text.as_bytes();
    let mut hasher = functions::NameHasher::default();
    hasher.write_usize(bytes.len());
    hasher.write(&bytes[..bytes.len().min(64)]);
    hasher.write(&bytes[bytes.len().saturating_sub(64)..]);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(src: &str, data: Value) -> Result<String, String> {
        let mut set = TemplateSet::default();
        set.parse("t", src).map_err(|e| e.to_string())?;
        let mut ctx = Context::default();
        set.execute("t", &data, &mut ctx).map_err(|e| e.to_string())
    }

    #[test]
    fn execute_into_keeps_the_output_written_before_a_failure() {
        let mut set = TemplateSet::default();
        set.parse("t", "a: 1\n{{ fail \"stop\" }}\nb: 2\n").unwrap();
        let mut out = String::new();
        let result = set.execute_into("t", &Value::Nil, &mut Context::default(), &mut out);
        assert!(result.is_err());
        assert_eq!(out, "a: 1\n");
    }

    #[test]
    fn sets_are_send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<TemplateSet>();
    }

    #[test]
    fn executes_basic_constructs() {
        assert_eq!(render("{{ 1 }} {{ \"a\" }}", Value::Nil).as_deref(), Ok("1 a"));
        assert_eq!(
            render("{{ range $i, $v := list 1 2 }}{{ $i }}={{ $v }};{{ end }}", Value::Nil).as_deref(),
            Ok("0=1;1=2;")
        );
        assert_eq!(
            render("{{ .x.y }}", Value::map(Default::default())),
            Err("template: t:1:5: executing \"t\" at <.x.y>: nil pointer evaluating interface {}.y".to_string())
        );
    }

    /// A library chart vendored into several subcharts: the same text under several names.
    #[test]
    fn an_identical_text_under_another_name_runs_and_fails_under_its_own_name() {
        let text = "{{ define \"lib.x\" }}{{ .a.b }}{{ end }}\nfile {{ .a.b }}";
        let mut set = TemplateSet::default();
        set.parse("c/charts/lib/templates/_x.tpl", text).unwrap();
        set.parse("c/charts/sub/charts/lib/templates/_x.tpl", text).unwrap();
        let first = set.trees["c/charts/lib/templates/_x.tpl"].clone();
        let second = set.trees["c/charts/sub/charts/lib/templates/_x.tpl"].clone();
        assert!(
            Arc::ptr_eq(&first.root, &second.root),
            "the second copy was parsed again"
        );
        let data = Value::map(Default::default());
        let err = set
            .execute(
                "c/charts/sub/charts/lib/templates/_x.tpl",
                &data,
                &mut Context::default(),
            )
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "template: c/charts/sub/charts/lib/templates/_x.tpl:2:10: executing \
             \"c/charts/sub/charts/lib/templates/_x.tpl\" at <.a.b>: nil pointer evaluating interface {}.b"
        );
        // The definition is the one parsed last, so its errors name the last file, as in Go.
        let err = set
            .execute("lib.x", &data, &mut Context::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("template: c/charts/sub/charts/lib/templates/_x.tpl:1:"),
            "{err}"
        );
    }

    /// `parse_all` on several threads ends where `parse` file by file ends: the same templates,
    /// the same definitions winning, the first error in order.
    #[test]
    fn parsing_in_parallel_gives_the_sequential_result() {
        let big = format!(
            "{{{{ define \"lib.x\" }}}}{}{{{{ end }}}}",
            "{{ .a }} text ".repeat(4000)
        );
        let mut files: Vec<(String, String)> = (0..12)
            .map(|i| {
                (
                    format!("c/templates/f{i}.yaml"),
                    format!("{{{{ define \"d{}\" }}}}{i}{{{{ end }}}}{big}", i % 3),
                )
            })
            .collect();
        files.push(("c/charts/a/templates/_lib.tpl".into(), big.clone()));
        files.push(("c/charts/b/templates/_lib.tpl".into(), big.clone()));
        files.push(("a".into(), "{{ define \"a\" }}A{{ end }}".into()));
        files.push(("b".into(), "{{ define \"a\" }}A{{ end }}".into()));
        let refs: Vec<(&str, &str)> = files.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
        let mut one = TemplateSet::default();
        for (name, text) in &refs {
            one.parse(name, text).unwrap();
        }
        let mut all = TemplateSet::default();
        all.parse_all(&refs, || 4).unwrap();
        let mut names: Vec<&String> = one.trees.keys().collect();
        names.sort();
        let mut parallel: Vec<&String> = all.trees.keys().collect();
        parallel.sort();
        assert_eq!(names, parallel);
        let mut ctx = Context::default();
        for name in names {
            assert_eq!(one.trees[name].source.name, all.trees[name].source.name, "{name}");
            assert_eq!(
                one.execute(name, &Value::Nil, &mut ctx).ok(),
                all.execute(name, &Value::Nil, &mut ctx).ok(),
                "{name}"
            );
        }
        let mut broken = refs.clone();
        broken[3].1 = "{{ if }}";
        broken[9].1 = "{{ end }}";
        let mut set = TemplateSet::default();
        let (i, e) = set.parse_all(&broken, || 4).unwrap_err();
        assert_eq!(i, 3);
        assert_eq!(e.to_string(), "template: c/templates/f3.yaml:1: missing value for if");
    }

    #[test]
    fn a_text_defining_its_own_name_is_parsed_afresh() {
        // The file's own tree is replaced by the `define` of its name; under another name the
        // file tree is empty and `a` stays the definition, which only a fresh parse gives.
        let text = "{{ define \"a\" }}A{{ end }}";
        let mut set = TemplateSet::default();
        set.parse("a", text).unwrap();
        set.parse("b", text).unwrap();
        let mut ctx = Context::default();
        assert_eq!(set.execute("a", &Value::Nil, &mut ctx).unwrap(), "A");
        assert_eq!(set.execute("b", &Value::Nil, &mut ctx).unwrap(), "");
    }
}

#[cfg(test)]
mod object_tests {
    //! Go structs with methods (`.Files.Get`, `.Capabilities.APIVersions.Has`) as charts use them.
    use super::*;
    use helmfire_value::{Map, Object};

    #[derive(Debug)]
    struct Files;

    impl Object for Files {
        fn type_name(&self) -> &str {
            "files.Files"
        }
        fn field(&self, _name: &str) -> Option<Value> {
            None
        }
        fn to_plain(&self) -> Value {
            Value::map(Map::new())
        }
        fn has_method(&self, name: &str) -> bool {
            name == "Get"
        }
        fn call_method(&self, name: &str, args: &[Value]) -> Result<Value, String> {
            match (name, args) {
                ("Get", [Value::String(s)]) => Ok(Value::from(format!("content of {s}"))),
                ("Get", _) => Err(format!("wrong number of args for Get: want 1 got {}", args.len())),
                _ => Err(format!("no method {name}")),
            }
        }
    }

    fn render(src: &str) -> Result<String, String> {
        let mut set = TemplateSet::default();
        set.parse("t", src).map_err(|e| e.to_string())?;
        let mut top = Map::new();
        top.insert("Files".into(), Value::Object(std::sync::Arc::new(Files)));
        set.execute("t", &Value::map(top), &mut Context::default())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn methods_take_arguments_and_pipes() {
        assert_eq!(render("{{ .Files.Get \"a.txt\" }}").as_deref(), Ok("content of a.txt"));
        assert_eq!(render("{{ \"b\" | .Files.Get }}").as_deref(), Ok("content of b"));
    }

    #[test]
    fn unknown_fields_of_structs_are_errors() {
        assert_eq!(
            render("{{ .Files.Nope }}"),
            Err(
                "template: t:1:9: executing \"t\" at <.Files.Nope>: can't evaluate field Nope in type interface {}"
                    .into()
            )
        );
    }
}
