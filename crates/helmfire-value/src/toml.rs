//! TOML as Helm's `toToml` and `fromToml` see it (BurntSushi/toml v1.6).
//!
//! The encoder reproduces BurntSushi's `Encoder` byte for byte: keys sorted, plain values before
//! sub-tables, nested tables indented by two spaces per level, floats in `strconv`'s shortest
//! `'g'` with `.0` added to integral values (so YAML numbers print as `8080.0`), `nil` skipped.
//! The decoder uses the `toml` crate and maps its values to what BurntSushi puts in a
//! `map[string]interface{}`; datetimes become strings (see [`decode`]).

use std::fmt;
use std::sync::Arc;

use crate::number::format_float;
use crate::{ListType, Map, MapRef, MapType, Object, Value};

/// A TOML failure with the Go library's message text; `line`/`column` are 1-based.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TomlError {
    pub message: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl fmt::Display for TomlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for TomlError {}

fn encode_error(message: &str) -> TomlError {
    TomlError {
        message: message.to_string(),
        line: None,
        column: None,
    }
}

/// Only a map that contains itself nests this deep; Go would recurse until it crashed.
const MAX_DEPTH: usize = 10_000;

fn too_deep() -> TomlError {
    encode_error("toml: value nested too deeply")
}

/// `toml.NewEncoder(w).Encode(v)`: what Helm's `toToml` prints (Helm prints the error text
/// instead when this fails).
pub fn encode(value: &Value) -> Result<String, TomlError> {
    let mut encoder = Encoder {
        out: String::new(),
        written: false,
    };
    encoder.encode(&[], value)?;
    Ok(encoder.out)
}

/// The TOML kind BurntSushi's `tomlTypeOfGo` assigns (`None` for nil).
#[derive(PartialEq)]
enum Kind {
    Plain,
    Hash,
    ArrayOfHashes,
}

/// The value with Go's indirections (`Object` → its plain form) resolved; a `time.Time`
/// stays an object so that it is written as a bare TOML datetime.
fn plain(value: &Value) -> std::borrow::Cow<'_, Value> {
    match value {
        Value::Object(object) if object.type_name() != "time.Time" => std::borrow::Cow::Owned(object.to_plain()),
        other => std::borrow::Cow::Borrowed(other),
    }
}

fn kind_of(value: &Value) -> Result<Option<Kind>, TomlError> {
    kind_at(value, 0)
}

fn kind_at(value: &Value, depth: usize) -> Result<Option<Kind>, TomlError> {
    if depth > MAX_DEPTH {
        return Err(too_deep());
    }
    crate::deep::segmented(depth, || kind_here(value, depth)).unwrap_or_else(|| Err(too_deep()))
}

fn kind_here(value: &Value, depth: usize) -> Result<Option<Kind>, TomlError> {
    Ok(match &*plain(value) {
        Value::Nil => None,
        Value::Map(..) => Some(Kind::Hash),
        Value::List(items, _) => {
            if items.is_empty() {
                Some(Kind::Plain)
            } else {
                let mut all_hashes = true;
                for item in items.iter() {
                    match kind_at(item, depth + 1)? {
                        None => {
                            return Err(encode_error("toml: cannot encode array with nil element"));
                        }
                        Some(Kind::Hash) => {}
                        Some(_) => all_hashes = false,
                    }
                }
                Some(if all_hashes { Kind::ArrayOfHashes } else { Kind::Plain })
            }
        }
        _ => Some(Kind::Plain),
    })
}

fn is_bare(key: &str) -> bool {
    key.chars().all(|r| r.is_ascii_alphanumeric() || r == '_' || r == '-')
}

/// BurntSushi's `dblQuotedReplacer`.
fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7F => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn key_piece(key: &str) -> String {
    if key.is_empty() {
        "\"\"".to_string()
    } else if is_bare(key) {
        key.to_string()
    } else {
        quote(key)
    }
}

fn key_path(key: &[&str]) -> String {
    key.iter().map(|k| key_piece(k)).collect::<Vec<_>>().join(".")
}

struct Encoder {
    out: String,
    written: bool,
}

impl Encoder {
    fn write(&mut self, s: &str) {
        self.out.push_str(s);
        self.written = true;
    }

    fn newline(&mut self) {
        if self.written {
            self.write("\n");
        }
    }

    fn indent(key: &[&str]) -> String {
        "  ".repeat(key.len().saturating_sub(1))
    }

    fn encode(&mut self, key: &[&str], value: &Value) -> Result<(), TomlError> {
        if key.len() > MAX_DEPTH {
            return Err(too_deep());
        }
        let value = plain(value);
        match &*value {
            Value::Nil => Ok(()),
            Value::Map(map, _) => self.table(key, map),
            Value::List(..) if kind_of(&value)? == Some(Kind::ArrayOfHashes) => self.array_of_tables(key, &value),
            other => self.key_value(key, other, false),
        }
    }

    fn key_value(&mut self, key: &[&str], value: &Value, inline: bool) -> Result<(), TomlError> {
        let Some(last) = key.last() else {
            return self.element(value, 0);
        };
        let prefix = format!("{}{} = ", Self::indent(key), key_piece(last));
        self.write(&prefix);
        self.element(value, key.len())?;
        if !inline {
            self.newline();
        }
        Ok(())
    }

    fn element(&mut self, value: &Value, depth: usize) -> Result<(), TomlError> {
        if depth > MAX_DEPTH {
            return Err(too_deep());
        }
        crate::deep::segmented(depth, || self.element_here(value, depth)).unwrap_or_else(|| Err(too_deep()))
    }

    fn element_here(&mut self, value: &Value, depth: usize) -> Result<(), TomlError> {
        match &*plain(value) {
            Value::Nil => Err(encode_error("toml: cannot encode array with nil element")),
            Value::Bool(b) => {
                self.write(if *b { "true" } else { "false" });
                Ok(())
            }
            Value::Int(i, _) => {
                self.write(&i.to_string());
                Ok(())
            }
            Value::Float(f) => {
                let text = if f.is_nan() {
                    if f.is_sign_negative() { "-nan" } else { "nan" }.to_string()
                } else if f.is_infinite() {
                    if *f < 0.0 { "-inf" } else { "inf" }.to_string()
                } else {
                    let mut text = format_float(*f, 'g', -1);
                    if !text.contains(['e', '.']) {
                        text.push_str(".0");
                    }
                    text
                };
                self.write(&text);
                Ok(())
            }
            Value::String(s) => {
                self.write(&quote(s));
                Ok(())
            }
            Value::Bytes(bytes) => {
                let items: Vec<String> = bytes.iter().map(u8::to_string).collect();
                self.write(&format!("[{}]", items.join(", ")));
                Ok(())
            }
            Value::List(items, _) => {
                self.write("[");
                for (i, item) in items.iter().enumerate() {
                    self.element(item, depth + 1)?;
                    if i + 1 != items.len() {
                        self.write(", ");
                    }
                }
                self.write("]");
                Ok(())
            }
            Value::Map(map, _) => self.map(&[], map, true, depth + 1),
            // BurntSushi writes a time.Time unquoted: RFC 3339, or the local date/time form
            // a TOML local datetime was read from.
            Value::Object(object) => {
                let text = object.field(TOML_TEXT_FIELD).unwrap_or_else(|| object.to_plain());
                self.write(text.as_str().unwrap_or_default());
                Ok(())
            }
        }
    }

    fn array_of_tables(&mut self, key: &[&str], value: &Value) -> Result<(), TomlError> {
        if key.is_empty() {
            return Err(encode_error("toml: top-level values must be Go maps or structs"));
        }
        let Some(items) = value.as_list() else {
            return Ok(());
        };
        for item in items {
            let item = plain(item);
            let Value::Map(map, _) = &*item else { continue };
            self.newline();
            let header = format!("{}[[{}]]", Self::indent(key), key_path(key));
            self.write(&header);
            self.newline();
            self.map(key, map, false, key.len())?;
        }
        Ok(())
    }

    fn table(&mut self, key: &[&str], map: &MapRef) -> Result<(), TomlError> {
        if key.len() == 1 {
            self.newline();
        }
        if !key.is_empty() {
            let header = format!("{}[{}]", Self::indent(key), key_path(key));
            self.write(&header);
            self.newline();
        }
        self.map(key, map, false, key.len())
    }

    fn map(&mut self, key: &[&str], map: &MapRef, inline: bool, depth: usize) -> Result<(), TomlError> {
        let map = map.read();
        let mut direct = Vec::new();
        let mut sub = Vec::new();
        for (k, v) in map.iter() {
            match kind_of(v)? {
                Some(Kind::Hash | Kind::ArrayOfHashes) => sub.push((k.as_str(), v)),
                _ => direct.push((k.as_str(), v)),
            }
        }
        if inline {
            self.write("{");
        }
        let has_sub = !sub.is_empty();
        for (group, trailing_comma) in [(direct, has_sub), (sub, false)] {
            let count = group.len();
            for (i, (k, v)) in group.into_iter().enumerate() {
                if v.is_nil() {
                    continue;
                }
                if inline {
                    self.key_value(&[k], v, true)?;
                    if trailing_comma || i + 1 != count {
                        self.write(", ");
                    }
                } else {
                    let mut path = key.to_vec();
                    path.push(k);
                    if depth > MAX_DEPTH {
                        return Err(too_deep());
                    }
                    crate::deep::segmented(path.len(), || self.encode(&path, v)).unwrap_or_else(|| Err(too_deep()))?;
                }
            }
        }
        if inline {
            self.write("}");
        }
        Ok(())
    }
}

/// A `time.Time` decoded from a TOML datetime. Encoders see it through [`Object::to_plain`]
/// (its RFC 3339 text, as `encoding/json` writes a `time.Time`); `toToml` also asks for the
/// TOML form, which differs for local dates, times and datetimes.
#[derive(Debug)]
pub struct Time {
    rfc3339: String,
    toml: String,
}

/// A field name no template can spell: how the TOML encoder asks a [`Time`] for its TOML
/// text (BurntSushi keeps the local kinds in the `time.Location`, which the value model lacks).
const TOML_TEXT_FIELD: &str = "\0toml";

impl Object for Time {
    fn type_name(&self) -> &str {
        "time.Time"
    }

    fn field(&self, name: &str) -> Option<Value> {
        // time.Time has no exported fields.
        (name == TOML_TEXT_FIELD).then(|| Value::String(Arc::from(self.toml.as_str())))
    }

    fn to_plain(&self) -> Value {
        Value::String(Arc::from(self.rfc3339.as_str()))
    }
}

/// What BurntSushi's encoder writes for the `time.Time` it decoded from `d`: RFC 3339 with
/// nanoseconds, or for local kinds `2006-01-02T15:04:05.999999999`, `2006-01-02` and
/// `15:04:05.999999999`.
fn burntsushi_text(d: &toml::value::Datetime) -> String {
    let time = |t: &toml::value::Time| {
        let mut out = format!("{:02}:{:02}:{:02}", t.hour, t.minute, t.second);
        if t.nanosecond != 0 {
            out.push('.');
            out.push_str(format!("{:09}", t.nanosecond).trim_end_matches('0'));
        }
        out
    };
    match (&d.date, &d.time, &d.offset) {
        (Some(_), Some(_), Some(_)) => rfc3339_nano(d),
        (Some(date), Some(t), None) => {
            format!("{:04}-{:02}-{:02}T{}", date.year, date.month, date.day, time(t))
        }
        (Some(date), None, _) => format!("{:04}-{:02}-{:02}", date.year, date.month, date.day),
        (None, Some(t), _) => time(t),
        (None, None, _) => rfc3339_nano(d),
    }
}

/// How Go's `time.Time.Format(time.RFC3339Nano)` prints the `time.Time` BurntSushi builds:
/// local datetimes, dates and times carry a zero offset, so they print with `Z`.
fn rfc3339_nano(d: &toml::value::Datetime) -> String {
    let mut out = match &d.date {
        Some(date) => format!("{:04}-{:02}-{:02}", date.year, date.month, date.day),
        None => "0000-01-01".to_string(),
    };
    match &d.time {
        Some(time) => {
            out.push_str(&format!("T{:02}:{:02}:{:02}", time.hour, time.minute, time.second));
            if time.nanosecond != 0 {
                let fraction = format!("{:09}", time.nanosecond);
                out.push('.');
                out.push_str(fraction.trim_end_matches('0'));
            }
        }
        None => out.push_str("T00:00:00"),
    }
    match d.offset {
        Some(toml::value::Offset::Custom { minutes }) if minutes != 0 => {
            let sign = if minutes < 0 { '-' } else { '+' };
            let minutes = minutes.unsigned_abs();
            out.push_str(&format!("{sign}{:02}:{:02}", minutes / 60, minutes % 60));
        }
        _ => out.push('Z'),
    }
    out
}

/// `toml.Unmarshal(text, &m)` with `m map[string]interface{}` (`fromToml`): integers are
/// `int64`, floats `float64`, datetimes a `time.Time` ([`Time`], an [`Object`] whose plain
/// form is the RFC 3339 text `toJson`/`toYaml` print). Printing one directly in a template
/// is the template engine's business (Go prints `time.Time.String()`).
pub fn decode(text: &str) -> Result<Value, TomlError> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| parse_error(text, &e))?;
    Ok(table_value(table))
}

/// BurntSushi's `ParseError` text, `toml: line N (last key "k"): message`, for the problems
/// charts actually hit; other problems keep the `toml` crate's wording.
fn parse_error(text: &str, e: &toml::de::Error) -> TomlError {
    let start = e.span().map_or(text.len(), |span| span.start.min(text.len()));
    let before = &text[..start];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    let line_text = text.lines().nth(line - 1).unwrap_or("");
    let found = &text[start..];
    let detail = e.message().lines().next().unwrap_or("invalid TOML");
    let key_on_line = line_text
        .split_once('=')
        .map(|(key, _)| key.trim().trim_matches('"').to_string())
        .filter(|key| !key.is_empty() && !key.starts_with('['));
    let message = if detail.contains("duplicate key") {
        let key = found
            .split(|c: char| c == '=' || c.is_whitespace())
            .next()
            .unwrap_or("")
            .trim_matches('"');
        format!("Key '{key}' has already been defined.")
    } else if detail.contains("invalid basic string") && !found.contains('"') {
        "strings cannot contain newlines".to_string()
    } else if detail.contains("string values must be quoted") || detail.contains("expected value") {
        let word: String = found.chars().take_while(|c| !c.is_whitespace()).collect();
        if word.is_empty() {
            let next = found.chars().next().unwrap_or('\n');
            format!("expected value but found {} instead", go_quote_rune(next))
        } else {
            format!("expected value but found {word:?} instead")
        }
    } else {
        detail.to_string()
    };
    let last_key = key_on_line.map(|key| {
        let table = text
            .lines()
            .take(line - 1)
            .filter_map(|l| {
                let l = l.trim();
                l.starts_with('[')
                    .then(|| l.trim_matches(|c| c == '[' || c == ']').trim().to_string())
            })
            .last();
        match table {
            Some(table) if !table.is_empty() => format!("{table}.{key}"),
            _ => key,
        }
    });
    TomlError {
        message: match last_key {
            Some(key) => format!("toml: line {line} (last key {key:?}): {message}"),
            None => format!("toml: line {line}: {message}"),
        },
        line: Some(line),
        column: Some(column),
    }
}

/// Go's `%q` of a rune.
fn go_quote_rune(c: char) -> String {
    match c {
        '\n' => "'\\n'".to_string(),
        '\r' => "'\\r'".to_string(),
        '\t' => "'\\t'".to_string(),
        '\'' => "'\\''".to_string(),
        c => format!("'{c}'"),
    }
}

/// Helm's `fromToml`: the document as a map, or a map holding the error text under `Error`.
pub fn from_toml(text: &str) -> Value {
    match decode(text) {
        Ok(value) => value,
        Err(e) => {
            let mut map = Map::new();
            map.insert("Error".to_string(), Value::from(e.message));
            Value::map(map)
        }
    }
}

fn table_value(table: toml::Table) -> Value {
    let map: Map = table.into_iter().map(|(k, v)| (k, to_value(v))).collect();
    Value::Map(MapRef::new(map), MapType::Interface)
}

fn to_value(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(Arc::from(s)),
        toml::Value::Integer(i) => Value::int64(i),
        toml::Value::Float(f) => Value::Float(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::Object(Arc::new(Time {
            rfc3339: rfc3339_nano(&d),
            toml: burntsushi_text(&d),
        })),
        toml::Value::Array(items) => {
            Value::List(Arc::new(items.into_iter().map(to_value).collect()), ListType::Interface)
        }
        toml::Value::Table(table) => table_value(table),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[(&str, Value)]) -> Value {
        Value::map(entries.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }

    #[test]
    fn burntsushi_layout() {
        let v = map(&[
            ("port", Value::Float(8080.0)),
            ("big", Value::Float(1e6)),
            ("name", Value::from("a\"b")),
            (
                "sub",
                map(&[("k", Value::from("v")), ("deeper", map(&[("x", Value::Bool(true))]))]),
            ),
            ("skip", Value::Nil),
            (
                "list",
                Value::list(vec![map(&[("a", Value::int64(1))]), map(&[("a", Value::int64(2))])]),
            ),
            (
                "mixed",
                Value::list(vec![Value::int64(1), map(&[("a", Value::int64(2))])]),
            ),
        ]);
        assert_eq!(
            encode(&v).unwrap(),
            "big = 1e+06\nmixed = [1, {a = 2}]\nname = \"a\\\"b\"\nport = 8080.0\n\n[[list]]\n  a = 1\n\n[[list]]\n  a = 2\n\n[sub]\n  k = \"v\"\n  [sub.deeper]\n    x = true\n"
        );
    }

    #[test]
    fn nil_in_array_is_an_error() {
        let v = map(&[("a", Value::list(vec![Value::Nil]))]);
        assert_eq!(
            encode(&v).unwrap_err().message,
            "toml: cannot encode array with nil element"
        );
    }

    #[test]
    fn decodes_ints_as_int64() {
        let v = decode("a = 1\nb = 1.5\n[t]\nc = [true]\n").unwrap();
        let m = v.as_map().unwrap().read().clone();
        assert!(matches!(m["a"], Value::Int(1, crate::IntType::Int64)));
        assert!(matches!(m["b"], Value::Float(f) if f == 1.5));
        assert!(decode("a = ").unwrap_err().message.starts_with("toml: line 1"));
    }
}
