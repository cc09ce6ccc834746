//! YAML exactly as Helm reads and writes it: `sigs.k8s.io/yaml` over go-yaml v2.
//!
//! Decoding is `yaml.Unmarshal` into `interface{}` (YAML 1.1 resolution, then a JSON round trip
//! that makes every number a `float64`); encoding is `yaml.Marshal` (JSON first, then go-yaml v2's
//! emitter with its quoting, key order and 80-column folding). Helm's `toYaml` is [`encode`] minus
//! the final newline. This module knows nothing of charts and never prints.

mod block;
mod decode;
pub(crate) mod emit;
mod pretty;
mod resolve;
pub mod v3;

use std::fmt;

use crate::json::{self, JsonError};
use crate::{Map, Value};
use emit::Text;
use resolve::is_base60_float;
pub use resolve::{Resolved, resolve_plain};

/// A YAML failure with Go's exact message text (what `helm` prints after its own prefix) and,
/// when the parser knows it, where in the input it happened (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlError {
    pub message: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for YamlError {}

impl From<JsonError> for YamlError {
    fn from(e: JsonError) -> YamlError {
        YamlError {
            message: format!("error marshaling into JSON: {}", e.message),
            line: None,
            column: None,
        }
    }
}

/// go-yaml's defence against alias bombs ("billion laughs"): a document may reach nodes through
/// aliases only up to a ratio of all the nodes it decodes, a ratio that shrinks from 99% for
/// small documents to 10% for documents of millions of nodes. Values files use it through
/// [`decode`]; other YAML readers that expand aliases themselves (the state file) count with it
/// too, so every YAML input refuses the same bombs.
#[derive(Clone, Debug, Default)]
pub struct AliasBudget {
    decoded: usize,
    aliased: usize,
}

impl AliasBudget {
    /// Counts `nodes` more decoded nodes, reached through an alias when `via_alias`; `false`
    /// once the document aliases excessively.
    pub fn count(&mut self, nodes: usize, via_alias: bool) -> bool {
        self.decoded = self.decoded.saturating_add(nodes);
        if via_alias {
            self.aliased = self.aliased.saturating_add(nodes);
        }
        !(self.aliased > 100
            && self.decoded > 1000
            && self.aliased as f64 / self.decoded as f64 > allowed_alias_ratio(self.decoded))
    }

    /// Nodes counted so far, aliased ones included.
    pub fn decoded(&self) -> usize {
        self.decoded
    }

    /// Nodes counted so far that were reached through an alias.
    pub fn aliased(&self) -> usize {
        self.aliased
    }
}

fn allowed_alias_ratio(decoded: usize) -> f64 {
    const LOW: f64 = 400_000.0;
    const HIGH: f64 = 4_000_000.0;
    let count = decoded as f64;
    if count <= LOW {
        0.99
    } else if count >= HIGH {
        0.10
    } else {
        0.99 - 0.89 * ((count - LOW) / (HIGH - LOW))
    }
}

/// `sigs.k8s.io/yaml.Unmarshal(text, &v)` with `v interface{}`: the first document only, maps
/// with string keys, every number a `float64`, timestamps kept as strings. An empty document
/// is `Value::Nil`.
pub fn decode(text: &str) -> Result<Value, YamlError> {
    decode::decode_first(text, &Shape::Any)
}

/// The Go type a document is unmarshaled into, as far as sigs.k8s.io/yaml's YAML-to-JSON
/// conversion looks at it: scalars headed for a `string` become strings before JSON decoding
/// (`version: 1.10` in Chart.yaml reads as `"1.1"`, `true` as `"true"`).
#[derive(Debug)]
pub enum Shape {
    /// `interface{}` or any non-string type: no conversion.
    Any,
    /// A `string`: numbers (floats in 32-bit `%g`) and booleans become their text.
    String,
    /// A struct, by JSON field name; keys match exactly first, then case-insensitively.
    Struct(&'static [(&'static str, Shape)]),
    /// A [`Shape::Struct`] whose caller reads nothing but these fields: the others are checked
    /// as the JSON encoding checks them, then dropped instead of kept.
    Fields(&'static [(&'static str, Shape)]),
    /// A `map[string]T`.
    Map(&'static Shape),
    /// A `[]T`.
    List(&'static Shape),
}

/// `sigs.k8s.io/yaml.Unmarshal` into a typed Go value described by `shape` (Chart.yaml into
/// `chart.Metadata`, for instance). The result is still a [`Value`]; decoding it into the
/// caller's own type (and reporting JSON type mismatches) is the caller's part.
pub fn decode_shaped(text: &str, shape: &Shape) -> Result<Value, YamlError> {
    decode::decode_first(text, shape)
}

/// go-yaml v2's own `yaml.Unmarshal(text, &m)` with `m map[string]interface{}`, followed by
/// helmfile's `maputil.CastKeysToStrings`: no JSON round trip, so integers stay Go `int`s
/// (`1000000` prints as `1000000`, not `1e+06`) and nested maps are `map[string]interface{}`.
/// A nested key that is not a string (`on:` is a boolean in YAML 1.1, `1:` an integer) is an
/// error, as in helmfile; keys of the document's own map keep their spelling (`yes: 1` has the
/// key `"yes"`), as go-yaml decodes them into a Go `string`. `null` or an empty document gives
/// an empty map.
pub fn decode_go_map(text: &str) -> Result<Map, YamlError> {
    match decode::decode_first_go(text)? {
        Value::Nil => Ok(Map::new()),
        Value::Map(m, _) => Ok(m.read().clone()),
        other => Err(YamlError {
            message: format!(
                "cannot unmarshal {} into Go value of type map[string]interface {{}}",
                match other {
                    Value::List(..) => "!!seq",
                    _ => "!!str",
                }
            ),
            line: None,
            column: None,
        }),
    }
}

/// `sigs.k8s.io/yaml.Unmarshal(text, &m)` with `m map[string]interface{}`: how Helm reads each
/// values document and `fromYaml` reads its argument. `null` or empty gives an empty map;
/// another kind of document gives encoding/json's type error.
pub fn decode_map(text: &str) -> Result<Map, YamlError> {
    match decode(text)? {
        Value::Nil => Ok(Map::new()),
        Value::Map(m, _) => Ok(m.read().clone()),
        other => Err(unmarshal_type_error(&other, "map[string]interface {}")),
    }
}

/// Helm's `fromYaml`: the document as a map, or an empty map holding the error text under
/// `Error` (Helm never fails the template).
pub fn from_yaml(text: &str) -> Value {
    match decode_map(text) {
        Ok(map) => Value::map(map),
        Err(e) => {
            let mut map = Map::new();
            map.insert("Error".to_string(), Value::from(e.message));
            Value::map(map)
        }
    }
}

/// Helm's `fromYamlArray`: the list, or a one-element list holding the error text.
pub fn from_yaml_array(text: &str) -> Value {
    match decode_list(text) {
        Ok(items) => Value::list(items),
        Err(e) => Value::list(vec![Value::from(e.message)]),
    }
}

/// `sigs.k8s.io/yaml.Unmarshal(text, &a)` with `a []interface{}` (`fromYamlArray`).
pub fn decode_list(text: &str) -> Result<Vec<Value>, YamlError> {
    match decode(text)? {
        Value::Nil => Ok(Vec::new()),
        Value::List(l, _) => Ok(l.as_ref().clone()),
        other => Err(unmarshal_type_error(&other, "[]interface {}")),
    }
}

fn unmarshal_type_error(value: &Value, target: &str) -> YamlError {
    let kind = match value {
        Value::Map(..) => "object",
        Value::List(..) => "array",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        _ => "number",
    };
    YamlError {
        message: format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {kind} into Go value of type {target}"
        ),
        line: None,
        column: None,
    }
}

/// Splits a stream like Kubernetes' `YAMLReader` (what Helm's `LoadValues` uses): a line
/// starting with `---` ends a document, and only a comment may follow the marker. Empty
/// documents are skipped, as the reader never returns them.
pub fn split_documents(text: &str) -> Result<Vec<&str>, YamlError> {
    let mut documents = Vec::new();
    let mut start = 0;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        if let Some(rest) = line.strip_prefix("---") {
            let trimmed = rest.trim();
            if !trimmed.is_empty() && !trimmed.starts_with('#') {
                return Err(YamlError {
                    message: format!("error reading yaml document: invalid Yaml document separator: {trimmed}"),
                    line: Some(text[..offset].matches('\n').count() + 1),
                    column: Some(1),
                });
            }
            if offset > start {
                documents.push(&text[start..offset]);
            }
            start = offset + line.len();
        }
        offset += line.len();
    }
    if text.len() > start {
        documents.push(&text[start..]);
    }
    Ok(documents)
}

/// Every document of a multi-document stream, split as Helm's `LoadValues` splits values files
/// and each decoded as [`decode`] does.
pub fn decode_documents(text: &str) -> Result<Vec<Value>, YamlError> {
    split_documents(text)?
        .into_iter()
        .map(|doc| {
            decode(doc).map_err(|mut e| {
                // Line numbers are relative to the document; make them relative to the stream.
                if let Some(line) = e.line.as_mut() {
                    let doc_start = doc.as_ptr() as usize - text.as_ptr() as usize;
                    *line += text[..doc_start].matches('\n').count();
                }
                e
            })
        })
        .collect()
}

/// `sigs.k8s.io/yaml.Marshal`: JSON first, then go-yaml v2's emitter. Ends with a newline,
/// which Helm's `toYaml` trims.
pub fn encode(value: &Value) -> Result<String, YamlError> {
    let node = to_node(value, 0)?;
    Ok(emit::Emitter::new().document(&node))
}

/// Helm's `toYamlPretty`: go-yaml v3's encoder with indent 2 on the Go values directly (no JSON
/// step): sequences are indented under their key and floats keep Go's `%g` form (`1e+06`).
/// Ends with a newline, which Helm trims.
pub fn encode_pretty(value: &Value) -> Result<String, YamlError> {
    pretty::encode(value)
}

/// Deeper than this only a map that contains itself gets; Go's JSON step reports a cycle.
const MAX_ENCODE_DEPTH: usize = 10_000;

/// The value as go-yaml v2 sees it after `json.Marshal` and `yaml.Unmarshal` of that JSON.
fn to_node(value: &Value, depth: usize) -> Result<emit::Node, YamlError> {
    crate::deep::segmented(depth, || to_node_here(value, depth)).unwrap_or_else(|| Err(cycle_error()))
}

fn cycle_error() -> YamlError {
    YamlError {
        message: "error marshaling into JSON: json: unsupported value: encountered a cycle via map[string]interface {}"
            .to_string(),
        line: None,
        column: None,
    }
}

fn to_node_here(value: &Value, depth: usize) -> Result<emit::Node, YamlError> {
    use emit::{Node, Style};
    if depth > MAX_ENCODE_DEPTH {
        return Err(cycle_error());
    }
    Ok(match value {
        Value::Nil => Node::Scalar(Text::Static("null"), Style::Plain),
        Value::Bool(b) => Node::Scalar(Text::Static(if *b { "true" } else { "false" }), Style::Plain),
        Value::Int(i, _) => Node::Scalar(Text::Owned(i.to_string()), Style::Plain),
        Value::Float(f) => {
            let text = json::format_json_float(*f)?;
            Node::Scalar(Text::Owned(number_text(&text)), Style::Plain)
        }
        Value::String(s) => match reread_json_string(s)? {
            std::borrow::Cow::Borrowed(_) => string_node(Text::Shared(s.clone())),
            std::borrow::Cow::Owned(reread) => string_node(Text::Owned(reread)),
        },
        Value::Bytes(b) => {
            use base64::Engine as _;
            string_node(Text::Owned(base64::engine::general_purpose::STANDARD.encode(b)))
        }
        Value::List(items, _) => Node::Sequence(
            items
                .iter()
                .map(|item| to_node(item, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(map, _) if map.is_nil() => Node::Scalar(Text::Static("null"), Style::Plain),
        Value::Map(map, _) => {
            let map = map.read();
            let entries = sorted_entries(&map, false);
            Node::Mapping(
                entries
                    .into_iter()
                    .map(|(k, v)| Ok((key_node(k)?, to_node(v, depth + 1)?)))
                    .collect::<Result<_, YamlError>>()?,
            )
        }
        Value::Object(object) => to_node(&object.to_plain(), depth + 1)?,
    })
}

/// A key of the JSON object: a raw NEL would make libyaml's simple key span two lines, which
/// it rejects, so `yaml.Marshal` fails.
fn key_node(key: &str) -> Result<emit::Node, YamlError> {
    if key.contains('\u{85}') {
        return Err(YamlError {
            message: "yaml: line 1: could not find expected ':'".to_string(),
            line: None,
            column: None,
        });
    }
    Ok(string_node(Text::Owned(reread_json_string(key)?.into_owned())))
}

/// A string as go-yaml v2 reads it back from the JSON that `json.Marshal` wrote. JSON leaves
/// DEL, C1 controls and U+FFFE/U+FFFF unescaped, which libyaml's reader rejects; and it leaves
/// NEL (U+0085) unescaped, which YAML 1.1 treats as a line break and folds inside the
/// double-quoted scalar (one break becomes a space, further breaks become newlines).
fn reread_json_string(s: &str) -> Result<std::borrow::Cow<'_, str>, YamlError> {
    const NEL: char = '\u{85}';
    if s.chars().any(|c| c >= ' ' && !decode::is_yaml_printable(c)) {
        return Err(YamlError {
            message: "yaml: control characters are not allowed".to_string(),
            line: None,
            column: None,
        });
    }
    if !s.contains(NEL) {
        return Ok(std::borrow::Cow::Borrowed(s));
    }
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    loop {
        while i < chars.len() && chars[i] != ' ' && chars[i] != NEL {
            out.push(chars[i]);
            i += 1;
        }
        if i == chars.len() {
            break;
        }
        let mut whitespace = String::new();
        let mut leading_blanks = false;
        let mut trailing_breaks = 0;
        while i < chars.len() && (chars[i] == ' ' || chars[i] == NEL) {
            if chars[i] == ' ' {
                if !leading_blanks {
                    whitespace.push(' ');
                }
            } else if !leading_blanks {
                whitespace.clear();
                leading_blanks = true;
            } else {
                trailing_breaks += 1;
            }
            i += 1;
        }
        if !leading_blanks {
            out.push_str(&whitespace);
        } else if trailing_breaks == 0 {
            out.push(' ');
        } else {
            out.extend(std::iter::repeat_n('\n', trailing_breaks));
        }
    }
    Ok(std::borrow::Cow::Owned(out))
}

/// A JSON number as go-yaml v2 re-reads it and prints it again.
fn number_text(json: &str) -> String {
    match resolve_plain(json) {
        Resolved::Int(i) => i.to_string(),
        Resolved::Uint(u) => u.to_string(),
        Resolved::Float(f) => crate::number::format_float(f, 'g', -1),
        _ => json.to_string(),
    }
}

/// go-yaml v2 `encoder.stringv`: plain unless the text would read back as another type.
fn string_node(s: Text) -> emit::Node {
    use emit::{Node, Style};
    let can_use_plain = resolve_plain(&s) == Resolved::Str && !is_base60_float(&s);
    let style = if s.contains('\n') {
        Style::Literal
    } else if can_use_plain {
        Style::Plain
    } else {
        Style::DoubleQuoted
    };
    Node::Scalar(s, style)
}

fn is_go_letter(c: char) -> bool {
    c.is_alphabetic()
}

fn is_go_digit(c: char) -> bool {
    c.is_ascii_digit() || (!c.is_ascii() && c.is_numeric())
}

/// go-yaml's `keyList.Less` for string keys: runs of digits compare as numbers, a non-letter
/// sorts before a letter, letters compare by code point. go-yaml v3 (`v3`) puts a letter
/// first instead when it follows a digit both keys share.
fn natural_less_chars<C: Copy + Into<char>>(a: &[C], b: &[C], v3: bool) -> bool {
    let ar = |i: usize| -> char { a[i].into() };
    let br = |i: usize| -> char { b[i].into() };
    let mut digits = false;
    for i in 0..a.len().min(b.len()) {
        if ar(i) == br(i) {
            digits = is_go_digit(ar(i));
            continue;
        }
        let al = is_go_letter(ar(i));
        let bl = is_go_letter(br(i));
        if al && bl {
            return ar(i) < br(i);
        }
        if al || bl {
            return if v3 && digits { al } else { bl };
        }
        let (mut an, mut bn): (i64, i64) = (0, 0);
        if ar(i) == '0' || br(i) == '0' {
            let mut j = i;
            while j > 0 && is_go_digit(ar(j - 1)) {
                if ar(j - 1) != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
                j -= 1;
            }
        }
        let digit = |c: char| i64::from(c as u32) - i64::from('0' as u32);
        let mut ai = i;
        while ai < a.len() && is_go_digit(ar(ai)) {
            an = an.wrapping_mul(10).wrapping_add(digit(ar(ai)));
            ai += 1;
        }
        let mut bi = i;
        while bi < b.len() && is_go_digit(br(bi)) {
            bn = bn.wrapping_mul(10).wrapping_add(digit(br(bi)));
            bi += 1;
        }
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar(i) < br(i);
    }
    a.len() < b.len()
}

/// Map entries in go-yaml's key order (keys split into characters once, not per comparison).
pub(crate) fn sorted_entries(map: &Map, v3: bool) -> Vec<(&String, &Value)> {
    // ASCII keys (nearly all) compare byte by byte without splitting them into characters.
    if map.keys().all(|k| k.is_ascii()) {
        let mut entries: Vec<(&String, &Value)> = map.iter().collect();
        entries.sort_by(|a, b| natural_order_chars(a.0.as_bytes(), b.0.as_bytes(), v3));
        return entries;
    }
    let mut keyed: Vec<(Vec<char>, &String, &Value)> = map.iter().map(|(k, v)| (k.chars().collect(), k, v)).collect();
    keyed.sort_by(|a, b| natural_order_chars(&a.0, &b.0, v3));
    keyed.into_iter().map(|(_, k, v)| (k, v)).collect()
}

#[cfg(test)]
fn natural_order(a: &str, b: &str) -> std::cmp::Ordering {
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    natural_order_chars(&ar, &br, false)
}

fn natural_order_chars<C: Copy + Into<char>>(a: &[C], b: &[C], v3: bool) -> std::cmp::Ordering {
    if natural_less_chars(a, b, v3) {
        std::cmp::Ordering::Less
    } else if natural_less_chars(b, a, v3) {
        std::cmp::Ordering::Greater
    } else {
        std::cmp::Ordering::Equal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_decoding_keeps_integers_and_refuses_non_string_keys() {
        let map = decode_go_map("big: 1000000\nf: 1.5\nyes: [on, 0777]\nn: {a: ~}\n").unwrap();
        assert!(matches!(map["big"], Value::Int(1_000_000, crate::IntType::Int)));
        assert!(matches!(map["f"], Value::Float(f) if f == 1.5));
        let list = map["yes"].as_list().unwrap();
        assert!(matches!(list[0], Value::Bool(true)));
        assert!(matches!(list[1], Value::Int(511, _)));
        let error = decode_go_map("a:\n  on: 1\n").unwrap_err();
        assert_eq!(
            error.message,
            "unexpected type of key in map: expected string, got bool: value=true"
        );
        assert!(decode_go_map("").unwrap().is_empty());
    }

    fn yaml(text: &str) -> String {
        encode(&decode(text).expect("decodes")).expect("encodes")
    }

    #[test]
    fn flow_collections_may_close_at_the_parents_indentation() {
        // libyaml ignores indentation inside flow collections (bitnami/chainloop's values.yaml
        // closes a flow sequence at its key's column); the content is unchanged.
        assert_eq!(
            yaml("o:\n  x: [\n  a,\n  'b'\n  ]\n  k: 1\n"),
            "o:\n  k: 1\n  x:\n  - a\n  - b\n"
        );
        assert_eq!(
            yaml("o:\n  x: {\n  a: 1,\n b: [\n1]\n  }\n  z: 2\n"),
            "o:\n  x:\n    a: 1\n    b:\n    - 1\n  z: 2\n"
        );
        // Brackets inside block scalars, quotes and plain scalars are not flow collections.
        assert_eq!(
            yaml("a: |\n  [x\nb: c [d\ne: \"[\"\nf: [\ng]\n"),
            "a: |\n  [x\nb: c [d\ne: '['\nf:\n- g\n"
        );
        // An unclosed collection is still the error libyaml reports.
        assert!(decode("o:\n  x: [\n  a\n").is_err());
    }

    #[test]
    fn natural_key_order() {
        let mut keys = vec!["b", "a10", "a2", "B", "_x", "a", "1"];
        keys.sort_by(|a, b| natural_order(a, b));
        assert_eq!(keys, vec!["_x", "1", "B", "a", "a2", "a10", "b"]);
    }

    #[test]
    fn numbers_become_floats_and_print_as_json_then_yaml() {
        assert_eq!(
            yaml("a: 1000000\nb: 1.5\nc: 0777\nd: 1e21\n"),
            "a: 1000000\nb: 1.5\nc: 511\nd: 1e+21\n"
        );
    }

    #[test]
    fn sequences_under_keys_are_not_indented() {
        assert_eq!(yaml("k:\n  - a\n  - b: 1\n    c: 2\n"), "k:\n- a\n- b: 1\n  c: 2\n");
    }

    #[test]
    fn quoting() {
        assert_eq!(
            yaml("a: 'yes'\nb: ''\nc: 'a: b'\nd: '123'\n"),
            "a: \"yes\"\nb: \"\"\nc: 'a: b'\nd: \"123\"\n"
        );
    }

    #[test]
    fn empty_collections_and_null() {
        assert_eq!(yaml("a: {}\nb: []\nc: ~\n"), "a: {}\nb: []\nc: null\n");
        assert_eq!(encode(&Value::Nil).unwrap(), "null\n");
    }

    #[test]
    fn multi_line_strings_use_literal_blocks() {
        assert_eq!(yaml("a: \"x\\ny\"\nb: \"x\\n\"\n"), "a: |-\n  x\n  y\nb: |\n  x\n");
    }

    #[test]
    fn string_targets_take_the_text_of_scalars() {
        const SHAPE: Shape = Shape::Struct(&[("version", Shape::String), ("tags", Shape::List(&Shape::String))]);
        let value = decode_shaped("Version: 1.10\ntags: [1.0, yes, 7]\nother: 1.10\n", &SHAPE).unwrap();
        let map = value.as_map().unwrap().read().clone();
        assert_eq!(map["Version"].as_str(), Some("1.1"));
        let tags: Vec<_> = map["tags"]
            .as_list()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect();
        assert_eq!(tags, ["1", "true", "7"]);
        assert!(matches!(map["other"], Value::Float(f) if f == 1.1));
    }

    #[test]
    fn fields_shapes_keep_their_fields_and_still_check_the_rest() {
        const SHAPE: Shape = Shape::Fields(&[
            ("kind", Shape::String),
            ("meta", Shape::Fields(&[("name", Shape::String)])),
        ]);
        let value = decode_shaped("Kind: 7\nmeta: {name: web, other: [1]}\nspec: {a: [x]}\n", &SHAPE).unwrap();
        let map = value.as_map().unwrap().read().clone();
        assert_eq!(map["Kind"].as_str(), Some("7"));
        assert!(!map.contains_key("spec"));
        let meta = map["meta"].as_map().unwrap().read().clone();
        assert_eq!(meta["name"].as_str(), Some("web"));
        assert!(!meta.contains_key("other"));
        // A value the JSON encoding refuses fails the document even where nobody reads it.
        let e = decode_shaped("kind: x\nspec:\n  deep: [.nan]\n", &SHAPE).unwrap_err();
        assert_eq!(e.message, "error converting YAML to JSON: json: unsupported value: NaN");
        let e = decode_shaped("kind: x\nspec:\n  ~: b\n", &SHAPE).unwrap_err();
        assert!(e.message.contains("unsupported map key of type"), "{}", e.message);
    }

    #[test]
    fn split_like_yaml_reader() {
        assert_eq!(split_documents("a: 1\n---\nb: 2\n").unwrap(), vec!["a: 1\n", "b: 2\n"]);
        assert!(split_documents("a: 1\n--- x\n").is_err());
    }
}
