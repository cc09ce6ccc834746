//! YAML state files → [`Node`] trees, with YAML 1.2 core-schema scalars (helmfire's own files)
//! or go-yaml v2's YAML 1.1 scalars (helmfile's files), anchors, aliases and `<<` merge keys
//! (which helmfile users rely on for DRY state files).
//!
//! Aliases are expanded here, so the same limits as values files apply: go-yaml's alias budget
//! ([`AliasBudget`]: a 400-byte "billion laughs" must not expand into gigabytes) and a nesting
//! limit (every later stage walks the tree recursively). Both errors point at the place.

use std::collections::HashMap;

use helmfire_value::yaml::AliasBudget;
use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Span as YamlSpan};

use super::node::{Node, NodeKind};
use super::source::{SourceFile, Span};

/// A YAML problem at a byte offset of the file.
#[derive(Debug)]
pub struct YamlSyntaxError {
    pub message: String,
    pub offset: usize,
}

/// How deeply maps and lists may nest in a state file (a real one needs a dozen levels).
pub const MAX_DEPTH: usize = 256;

/// How plain scalars are typed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Schema {
    /// YAML 1.2's core schema: `yes` is a string.
    Core,
    /// YAML 1.1 as go-yaml v2 resolves it (helmfile): `yes`/`on` are booleans, `0777` is octal.
    GoYamlV2,
    /// [`Schema::GoYamlV2`] in go-yaml's strict mode (helmfile's state files): a key that a `<<`
    /// merge sets cannot be set again, by the map or by another merged map.
    GoYamlV2Strict,
}

pub fn parse(source: &SourceFile) -> Result<Node, YamlSyntaxError> {
    let mut builder = Builder {
        source,
        parser: Parser::new_from_str(&source.text),
        anchors: HashMap::new(),
        budget: AliasBudget::default(),
        depth: 0,
        schema: Schema::Core,
    };
    builder.document()
}

/// Every document of a stream, in order (an empty stream has none; an empty document is null).
pub fn parse_documents(source: &SourceFile, schema: Schema) -> Result<Vec<Node>, YamlSyntaxError> {
    let mut builder = Builder {
        source,
        parser: Parser::new_from_str(&source.text),
        anchors: HashMap::new(),
        budget: AliasBudget::default(),
        depth: 0,
        schema,
    };
    builder.documents()
}

struct Builder<'a> {
    source: &'a SourceFile,
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    /// Each anchored node with the number of nodes it expands to.
    anchors: HashMap<usize, (Node, usize)>,
    budget: AliasBudget,
    depth: usize,
    schema: Schema,
}

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<(Event<'a>, Span), YamlSyntaxError> {
        match self.parser.next() {
            Some(Ok((event, span))) => Ok((event, self.span(span))),
            Some(Err(error)) => Err(self.scan_error(&error)),
            None => Ok((
                Event::StreamEnd,
                Span {
                    start: self.source.text.len(),
                    end: self.source.text.len(),
                },
            )),
        }
    }

    fn span(&self, span: YamlSpan) -> Span {
        let start = self.source.offset_of(span.start.line(), span.start.col());
        let end = self.source.offset_of(span.end.line(), span.end.col()).max(start);
        Span { start, end }
    }

    fn scan_error(&self, error: &ScanError) -> YamlSyntaxError {
        let marker = error.marker();
        YamlSyntaxError {
            message: error.info().to_string(),
            offset: self.source.offset_of(marker.line(), marker.col()),
        }
    }

    /// The first document of the stream; an empty file is an empty map.
    fn document(&mut self) -> Result<Node, YamlSyntaxError> {
        loop {
            let (event, span) = self.next()?;
            match event {
                Event::StreamStart | Event::Nothing => continue,
                Event::DocumentStart(_) => break,
                Event::StreamEnd => return Ok(Node::new(NodeKind::Map(Vec::new()), span)),
                _ => {
                    return Err(YamlSyntaxError {
                        message: "expected a YAML document".into(),
                        offset: span.start,
                    });
                }
            }
        }
        let (event, span) = self.next()?;
        let root = match event {
            Event::DocumentEnd => Node::new(NodeKind::Null, span),
            event => self.node(event, span)?,
        };
        // A second document in a state file is almost certainly a mistake: say so.
        loop {
            let (event, span) = self.next()?;
            match event {
                Event::DocumentEnd | Event::Nothing => continue,
                Event::StreamEnd => break,
                Event::DocumentStart(_) => {
                    return Err(YamlSyntaxError {
                        message: "a state file holds one YAML document, found a second one".into(),
                        offset: span.start,
                    });
                }
                _ => continue,
            }
        }
        Ok(match root.kind {
            NodeKind::Null => Node::new(NodeKind::Map(Vec::new()), root.span),
            _ => root,
        })
    }

    /// Counts nodes against the alias budget; the error points at `span`.
    fn count(&mut self, nodes: usize, via_alias: bool, span: Span) -> Result<(), YamlSyntaxError> {
        if self.budget.count(nodes, via_alias) {
            return Ok(());
        }
        Err(YamlSyntaxError {
            message: format!(
                "the document contains excessive aliasing: {} of its first {} values would be copies made by aliases (an alias bomb?)",
                self.budget.aliased(),
                self.budget.decoded()
            ),
            offset: span.start,
        })
    }

    /// Enters a map or a list, refusing to nest deeper than [`MAX_DEPTH`].
    fn enter(&mut self, span: Span) -> Result<(), YamlSyntaxError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(YamlSyntaxError {
                message: format!("maps and lists nest deeper than {MAX_DEPTH} levels"),
                offset: span.start,
            });
        }
        Ok(())
    }

    fn documents(&mut self) -> Result<Vec<Node>, YamlSyntaxError> {
        let mut documents = Vec::new();
        loop {
            let (event, span) = self.next()?;
            match event {
                Event::StreamStart | Event::Nothing | Event::DocumentEnd => continue,
                Event::StreamEnd => return Ok(documents),
                Event::DocumentStart(_) => {
                    let (event, span) = self.next()?;
                    let root = match event {
                        Event::DocumentEnd => Node::new(NodeKind::Null, span),
                        event => self.node(event, span)?,
                    };
                    documents.push(root);
                    self.anchors.clear();
                    self.budget = AliasBudget::default();
                }
                _ => {
                    return Err(YamlSyntaxError {
                        message: "expected a YAML document".into(),
                        offset: span.start,
                    });
                }
            }
        }
    }

    fn node(&mut self, event: Event<'a>, span: Span) -> Result<Node, YamlSyntaxError> {
        let before = self.budget.decoded();
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                self.count(1, false, span)?;
                let forced_string = tag.as_ref().is_some_and(|t| t.suffix == "str");
                let kind = if style == ScalarStyle::Plain && !forced_string {
                    match self.schema {
                        Schema::Core => resolve_plain(&text),
                        Schema::GoYamlV2 | Schema::GoYamlV2Strict => resolve_yaml11(&text),
                    }
                } else {
                    let mut text = text.into_owned();
                    // A block scalar that ends the input without a final line break has none to
                    // keep (`a: |\n  x` is "x"); saphyr-parser adds one, libyaml and go-yaml do not.
                    if matches!(style, ScalarStyle::Literal | ScalarStyle::Folded)
                        && span.end == self.source.text.len()
                        && !self.source.text.ends_with('\n')
                        && text.ends_with('\n')
                    {
                        text.pop();
                    }
                    NodeKind::String(text)
                };
                let node = Node::new(kind, span);
                self.remember(anchor, &node, before);
                Ok(node)
            }
            Event::SequenceStart(anchor, _) => {
                self.count(1, false, span)?;
                self.enter(span)?;
                let mut items = Vec::new();
                let end = loop {
                    let (event, item_span) = self.next()?;
                    match event {
                        Event::SequenceEnd => break item_span.end,
                        event => items.push(self.node(event, item_span)?),
                    }
                };
                self.depth -= 1;
                let node = Node::new(
                    NodeKind::Seq(items),
                    Span {
                        start: span.start,
                        end: end.max(span.start),
                    },
                );
                self.remember(anchor, &node, before);
                Ok(node)
            }
            Event::MappingStart(anchor, _) => {
                self.count(1, false, span)?;
                self.enter(span)?;
                let mut entries: Vec<(Node, Node)> = Vec::new();
                let mut merged: Vec<(Node, Node)> = Vec::new();
                let end = loop {
                    let (event, key_span) = self.next()?;
                    let key = match event {
                        Event::MappingEnd => break key_span.end,
                        event => self.node(event, key_span)?,
                    };
                    let (event, value_span) = self.next()?;
                    let value = self.node(event, value_span)?;
                    if key.as_str() == Some("<<") && matches!(key.kind, NodeKind::String(_)) {
                        self.merge(&value, &mut merged)?;
                        continue;
                    }
                    if let Some(key_text) = scalar_key(&key)
                        && let Some((first, _)) = entries
                            .iter()
                            .find(|(k, _)| scalar_key(k).as_deref() == Some(&key_text))
                    {
                        let (line, _) = self.source.line_column(first.span.start);
                        return Err(YamlSyntaxError {
                            message: format!("duplicate key `{key_text}` (first defined on line {line})"),
                            offset: key.span.start,
                        });
                    }
                    entries.push((key, value));
                };
                // Explicit keys win over merged ones, as in YAML's merge-key spec.
                for (key, value) in merged {
                    let key_text = scalar_key(&key);
                    match entries.iter().find(|(k, _)| scalar_key(k) == key_text) {
                        Some((explicit, _)) if self.schema == Schema::GoYamlV2Strict => {
                            return Err(YamlSyntaxError {
                                message: format!(
                                    "key `{}` already set in map: a `<<` merge sets it too, which go-yaml's strict mode (helmfile's) refuses",
                                    key_text.unwrap_or_default()
                                ),
                                offset: explicit.span.start,
                            });
                        }
                        Some(_) => {}
                        None => entries.push((key, value)),
                    }
                }
                self.depth -= 1;
                let node = Node::new(
                    NodeKind::Map(entries),
                    Span {
                        start: span.start,
                        end: end.max(span.start),
                    },
                );
                self.remember(anchor, &node, before);
                Ok(node)
            }
            Event::Alias(id) => {
                let Some(size) = self.anchors.get(&id).map(|(_, size)| *size) else {
                    return Err(YamlSyntaxError {
                        message: "unknown alias".into(),
                        offset: span.start,
                    });
                };
                // Counted before the copy is made: a bomb stops before it takes the memory.
                self.count(size, true, span)?;
                Ok(self.anchors[&id].0.clone())
            }
            _ => Err(YamlSyntaxError {
                message: "unexpected YAML event".into(),
                offset: span.start,
            }),
        }
    }

    fn merge(&self, value: &Node, into: &mut Vec<(Node, Node)>) -> Result<(), YamlSyntaxError> {
        match &value.kind {
            NodeKind::Map(entries) => {
                for (key, item) in entries {
                    let key_text = scalar_key(key);
                    if !into.iter().any(|(k, _)| scalar_key(k) == key_text) {
                        into.push((key.clone(), item.clone()));
                    } else if self.schema == Schema::GoYamlV2Strict {
                        return Err(YamlSyntaxError {
                            message: format!(
                                "key `{}` already set in map: two maps of a `<<` merge set it, which go-yaml's strict mode (helmfile's) refuses",
                                key_text.unwrap_or_default()
                            ),
                            offset: value.span.start,
                        });
                    }
                }
                Ok(())
            }
            NodeKind::Seq(items) => items.iter().try_for_each(|item| self.merge(item, into)),
            _ => Err(YamlSyntaxError {
                message: format!(
                    "a `<<` merge key takes a map or a list of maps, found {}",
                    value.type_name()
                ),
                offset: value.span.start,
            }),
        }
    }

    /// Keeps an anchored node and how many nodes it expands to (counted since `before`).
    fn remember(&mut self, anchor: usize, node: &Node, before: usize) {
        if anchor > 0 {
            let size = self.budget.decoded() - before;
            self.anchors.insert(anchor, (node.clone(), size));
        }
    }
}

fn scalar_key(node: &Node) -> Option<String> {
    match &node.kind {
        NodeKind::String(s) => Some(s.clone()),
        NodeKind::Int(i) => Some(i.to_string()),
        NodeKind::Bool(b) => Some(b.to_string()),
        NodeKind::Float(f) => Some(f.to_string()),
        NodeKind::Null => Some("null".into()),
        _ => None,
    }
}

/// go-yaml v2's YAML 1.1 resolution for plain scalars (timestamps stay strings, as they do in
/// an `interface{}`).
fn resolve_yaml11(text: &str) -> NodeKind {
    use helmfire_value::yaml::Resolved;
    match helmfire_value::yaml::resolve_plain(text) {
        Resolved::Null => NodeKind::Null,
        Resolved::Bool(b) => NodeKind::Bool(b),
        Resolved::Int(i) => NodeKind::Int(i),
        Resolved::Uint(u) => i64::try_from(u).map_or(NodeKind::Float(u as f64), NodeKind::Int),
        Resolved::Float(f) => NodeKind::Float(f),
        Resolved::Timestamp | Resolved::Str => NodeKind::String(text.to_string()),
    }
}

/// Whether a plain scalar reads as a string under the YAML 1.2 core schema (what helmfire's own
/// state files use), for writers that must quote everything else.
pub(crate) fn core_is_string(text: &str) -> bool {
    matches!(resolve_plain(text), NodeKind::String(_))
}

/// YAML 1.2 core schema for plain scalars.
fn resolve_plain(text: &str) -> NodeKind {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return NodeKind::Null,
        "true" | "True" | "TRUE" => return NodeKind::Bool(true),
        "false" | "False" | "FALSE" => return NodeKind::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return NodeKind::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return NodeKind::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return NodeKind::Float(f64::NAN),
        _ => {}
    }
    if let Some(hex) = text.strip_prefix("0x") {
        if let Ok(i) = i64::from_str_radix(hex, 16) {
            return NodeKind::Int(i);
        }
    } else if let Some(octal) = text.strip_prefix("0o") {
        if let Ok(i) = i64::from_str_radix(octal, 8) {
            return NodeKind::Int(i);
        }
    } else if is_decimal_int(text) {
        if let Ok(i) = text.parse::<i64>() {
            return NodeKind::Int(i);
        }
    } else if is_float(text)
        && let Ok(f) = text.parse::<f64>()
    {
        return NodeKind::Float(f);
    }
    NodeKind::String(text.to_string())
}

fn is_decimal_int(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
}

fn is_float(text: &str) -> bool {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let mantissa_ok = match mantissa.split_once('.') {
        Some((int, frac)) => {
            (!int.is_empty() || !frac.is_empty())
                && int.bytes().all(|b| b.is_ascii_digit())
                && frac.bytes().all(|b| b.is_ascii_digit())
        }
        None => !mantissa.is_empty() && mantissa.bytes().all(|b| b.is_ascii_digit()),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let digits = e.strip_prefix(['-', '+']).unwrap_or(e);
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok && (mantissa.contains('.') || exponent.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<Node, YamlSyntaxError> {
        parse(&SourceFile::new("t.yaml", text))
    }

    #[test]
    fn a_block_scalar_at_the_end_of_input_keeps_no_line_break_it_does_not_have() {
        let string = |text: &str| parse_text(text).unwrap().get("a").unwrap().kind.clone();
        assert_eq!(string("a: |\n  x\n  y"), NodeKind::String("x\ny".into()));
        assert_eq!(string("a: |+\n  x\n  y"), NodeKind::String("x\ny".into()));
        assert_eq!(string("a: >\n  x\n  y"), NodeKind::String("x y".into()));
        assert_eq!(string("a: |-\n  x\n  y"), NodeKind::String("x\ny".into()));
        assert_eq!(string("a: |\n  x\n  y\n"), NodeKind::String("x\ny\n".into()));
        assert_eq!(string("a: |\n  x\nb: 1"), NodeKind::String("x\n".into()));
    }

    #[test]
    fn scalars_resolve_with_the_core_schema() {
        let node = parse_text("a: 1\nb: 1.5\nc: true\nd: ~\ne: '1'\nf: yes\ng: 0x1f\n").unwrap();
        assert_eq!(node.get("a").unwrap().kind, NodeKind::Int(1));
        assert_eq!(node.get("b").unwrap().kind, NodeKind::Float(1.5));
        assert_eq!(node.get("c").unwrap().kind, NodeKind::Bool(true));
        assert_eq!(node.get("d").unwrap().kind, NodeKind::Null);
        assert_eq!(node.get("e").unwrap().kind, NodeKind::String("1".into()));
        assert_eq!(node.get("f").unwrap().kind, NodeKind::String("yes".into()));
        assert_eq!(node.get("g").unwrap().kind, NodeKind::Int(31));
    }

    #[test]
    fn spans_point_at_values() {
        let source = SourceFile::new("t.yaml", "releases:\n  - name: web\n");
        let node = parse(&source).unwrap();
        let NodeKind::Seq(items) = &node.get("releases").unwrap().kind else {
            panic!()
        };
        let name = items[0].get("name").unwrap();
        assert_eq!(source.line_column(name.span.start), (2, 11));
    }

    #[test]
    fn anchors_and_merge_keys() {
        let node = parse_text("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n").unwrap();
        let c = node.get("c").unwrap();
        assert_eq!(c.get("x").unwrap().kind, NodeKind::Int(1));
        assert_eq!(c.get("y").unwrap().kind, NodeKind::Int(3));
    }

    #[test]
    fn duplicate_keys_are_rejected_at_the_second() {
        let error = parse_text("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(error.message, "duplicate key `a` (first defined on line 1)");
        assert_eq!(error.offset, 10);
    }

    #[test]
    fn syntax_errors_carry_an_offset() {
        let error = parse_text("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(error.offset > 0, "{error:?}");
    }

    #[test]
    fn an_alias_bomb_is_refused_where_it_explodes() {
        // "Billion laughs": nine levels of nine aliases would be 387 million strings.
        let mut text =
            String::from("a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        for pair in names.windows(2) {
            let (previous, name) = (pair[0], pair[1]);
            let aliases = vec![format!("*{previous}"); 9].join(",");
            text.push_str(&format!("{name}: &{name} [{aliases}]\n"));
        }
        assert!(text.len() < 400, "{}", text.len());
        let started = std::time::Instant::now();
        let error = parse_text(&text).unwrap_err();
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert!(error.message.contains("excessive aliasing"), "{}", error.message);
        let source = SourceFile::new("t.yaml", text.as_str());
        let (line, _) = source.line_column(error.offset);
        assert!(
            (4..=6).contains(&line),
            "points at the alias that tipped it: line {line}"
        );
    }

    #[test]
    fn yaml11_scalars_and_several_documents() {
        let source = SourceFile::new("t.yaml", "a: yes\nb: 0777\n---\nc: on\n---\n");
        let docs = parse_documents(&source, Schema::GoYamlV2).unwrap();
        assert_eq!(docs.len(), 3);
        assert_eq!(docs[0].get("a").unwrap().kind, NodeKind::Bool(true));
        assert_eq!(docs[0].get("b").unwrap().kind, NodeKind::Int(511));
        assert_eq!(docs[1].get("c").unwrap().kind, NodeKind::Bool(true));
        assert_eq!(docs[2].kind, NodeKind::Null);
        assert!(
            parse_documents(&SourceFile::new("t.yaml", ""), Schema::GoYamlV2)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn honest_anchors_are_not_a_bomb() {
        // A hundred releases sharing one defaults map through a merge key.
        let mut text =
            String::from("defaults: &d {namespace: apps, wait: true, timeout: 5m, atomic: true}\nreleases:\n");
        for i in 0..100 {
            text.push_str(&format!("  - {{<<: *d, name: r{i}, chart: ./c}}\n"));
        }
        let node = parse_text(&text).unwrap();
        let NodeKind::Seq(releases) = &node.get("releases").unwrap().kind else {
            panic!()
        };
        assert_eq!(releases.len(), 100);
        assert_eq!(releases[99].get("namespace").unwrap().as_str(), Some("apps"));
    }

    #[test]
    fn deep_nesting_is_refused_with_a_location() {
        let text = format!("a: {}1{}\n", "[".repeat(200), "]".repeat(200));
        assert!(parse_text(&text).is_ok(), "200 levels are fine");
        // Block sequences nest without flow brackets (and without a parser limit).
        let text = format!("{}x\n", "- ".repeat(100_000));
        let error = parse_text(&text).unwrap_err();
        assert_eq!(error.message, "maps and lists nest deeper than 256 levels");
        let source = SourceFile::new("t.yaml", text.as_str());
        assert_eq!(source.line_column(error.offset).0, 1);
    }

    #[test]
    fn empty_file_is_an_empty_map() {
        assert_eq!(parse_text("").unwrap().kind, NodeKind::Map(Vec::new()));
        assert_eq!(
            parse_text("# only a comment\n").unwrap().kind,
            NodeKind::Map(Vec::new())
        );
    }
}
