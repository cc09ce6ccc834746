//! JSON exactly as Go's `encoding/json` writes and reads it, for Helm's and Sprig's `toJson`,
//! `toRawJson`, `toPrettyJson`, `fromJson` and for the JSON step inside `toYaml`.
//!
//! Encoding sorts map keys by bytes, escapes `<>&` (unless raw) and U+2028/U+2029, prints
//! floats in Go's shortest form (`e` notation only below 1e-6 and from 1e21), and writes bytes
//! as base64. Decoding follows Go's scanner, so malformed input fails with Go's message.

use std::fmt;
use std::sync::Arc;

use base64::Engine as _;

use crate::number::format_float;
use crate::{ListType, Map, MapRef, MapType, Value};

/// A JSON failure with Go's message text; `line`/`column` (1-based) locate syntax errors.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    pub message: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    /// Go's `SyntaxError.Offset`: bytes read before the error.
    pub offset: Option<usize>,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for JsonError {}

impl JsonError {
    fn plain(message: impl Into<String>) -> JsonError {
        JsonError {
            message: message.into(),
            line: None,
            column: None,
            offset: None,
        }
    }
}

/// Which of Helm's JSON functions is encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JsonStyle {
    /// `toJson`: `json.Marshal`, HTML-escaped.
    Compact,
    /// `toRawJson`: an Encoder with `SetEscapeHTML(false)`, trailing newline trimmed.
    Raw,
    /// `toPrettyJson`: `json.MarshalIndent(v, "", "  ")`.
    Pretty,
}

/// Nesting limit for decoding. Go allows 10 000 levels; helmfire stops at 2 000 so that the
/// decoded value can still be dropped (recursively) on a default 2 MiB thread stack.
const MAX_DECODE_DEPTH: usize = 2_000;

/// Only a map that contains itself nests deeper; Go reports that as a cycle.
const MAX_ENCODE_DEPTH: usize = 10_000;

/// Encodes `value` as the Helm function for `style` does (no trailing newline).
pub fn encode(value: &Value, style: JsonStyle) -> Result<String, JsonError> {
    let mut out = String::new();
    let mut encoder = Encoder {
        out: &mut out,
        escape_html: style != JsonStyle::Raw,
        indent: style == JsonStyle::Pretty,
    };
    encoder.value(value, 0)?;
    Ok(out)
}

/// `strconv.AppendFloat` as `encoding/json`'s `floatEncoder` calls it, with its exponent cleanup.
pub fn format_json_float(f: f64) -> Result<String, JsonError> {
    if !f.is_finite() {
        return Err(JsonError::plain(format!(
            "json: unsupported value: {}",
            format_float(f, 'g', -1)
        )));
    }
    let abs = f.abs();
    let exponent = abs != 0.0 && !(1e-6..1e21).contains(&abs);
    let mut text = format_float(f, if exponent { 'e' } else { 'f' }, -1);
    if exponent {
        // e-09 → e-9
        let n = text.len();
        let b = text.as_bytes();
        if n >= 4 && b[n - 4] == b'e' && b[n - 3] == b'-' && b[n - 2] == b'0' {
            text.remove(n - 2);
        }
    }
    Ok(text)
}

/// What Go reports for a map that contains itself (the only way to nest this deep).
fn cycle_error() -> JsonError {
    JsonError::plain("json: unsupported value: encountered a cycle via map[string]interface {}")
}

struct Encoder<'o> {
    out: &'o mut String,
    escape_html: bool,
    indent: bool,
}

impl Encoder<'_> {
    fn newline(&mut self, depth: usize) {
        if self.indent {
            self.out.push('\n');
            for _ in 0..depth {
                self.out.push_str("  ");
            }
        }
    }

    fn value(&mut self, value: &Value, depth: usize) -> Result<(), JsonError> {
        if depth > MAX_ENCODE_DEPTH {
            return Err(cycle_error());
        }
        match value {
            Value::Nil => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i, _) => self.out.push_str(&i.to_string()),
            Value::Float(f) => self.out.push_str(&format_json_float(*f)?),
            Value::String(s) => self.string(s),
            Value::Bytes(b) => {
                let encoded = base64::engine::general_purpose::STANDARD.encode(b);
                self.string(&encoded);
            }
            Value::List(items, _) => {
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.newline(depth + 1);
                    self.child(item, depth + 1)?;
                }
                if !items.is_empty() {
                    self.newline(depth);
                }
                self.out.push(']');
            }
            Value::Map(map, _) if map.is_nil() => self.out.push_str("null"),
            Value::Map(map, _) => {
                let map = map.read();
                self.out.push('{');
                for (i, (key, item)) in map.iter().enumerate() {
                    if i > 0 {
                        self.out.push(',');
                    }
                    self.newline(depth + 1);
                    self.string(key);
                    self.out.push(':');
                    if self.indent {
                        self.out.push(' ');
                    }
                    self.child(item, depth + 1)?;
                }
                if !map.is_empty() {
                    self.newline(depth);
                }
                self.out.push('}');
            }
            Value::Object(object) => match object.json_fields() {
                Some(fields) => {
                    self.out.push('{');
                    for (i, (key, item)) in fields.iter().enumerate() {
                        if i > 0 {
                            self.out.push(',');
                        }
                        self.newline(depth + 1);
                        self.string(key);
                        self.out.push(':');
                        if self.indent {
                            self.out.push(' ');
                        }
                        self.child(item, depth + 1)?;
                    }
                    if !fields.is_empty() {
                        self.newline(depth);
                    }
                    self.out.push('}');
                }
                None => self.child(&object.to_plain(), depth + 1)?,
            },
        }
        Ok(())
    }

    fn child(&mut self, value: &Value, depth: usize) -> Result<(), JsonError> {
        crate::deep::segmented(depth, || self.value(value, depth)).unwrap_or_else(|| Err(cycle_error()))
    }

    /// Go's `appendString`.
    fn string(&mut self, s: &str) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let out = &mut *self.out;
        out.push('"');
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\u{8}' => out.push_str("\\b"),
                '\u{c}' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '<' | '>' | '&' if self.escape_html => {
                    let b = c as u8;
                    out.push_str("\\u00");
                    out.push(HEX[usize::from(b >> 4)] as char);
                    out.push(HEX[usize::from(b & 0xF)] as char);
                }
                c if (c as u32) < 0x20 => {
                    let b = c as u8;
                    out.push_str("\\u00");
                    out.push(HEX[usize::from(b >> 4)] as char);
                    out.push(HEX[usize::from(b & 0xF)] as char);
                }
                '\u{2028}' => out.push_str("\\u2028"),
                '\u{2029}' => out.push_str("\\u2029"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
}

/// Parses the whole text (Go checks syntax before decoding anything) and returns the value
/// with Go's first decoding error, a number out of `float64` range, kept aside: Go reports a
/// type mismatch of the top-level value before it.
fn parse(text: &str) -> Result<(Value, Option<JsonError>), JsonError> {
    let mut parser = Parser {
        text: text.as_bytes(),
        pos: 0,
        depth: 0,
        number_error: None,
    };
    parser.skip_space();
    let value = parser.value()?;
    parser.skip_space();
    if parser.pos < parser.text.len() {
        return Err(parser.syntax("after top-level value"));
    }
    Ok((value, parser.number_error))
}

/// `json.Unmarshal(text, &v)` with `v interface{}`: objects are maps, numbers `float64`.
pub fn decode(text: &str) -> Result<Value, JsonError> {
    match parse(text)? {
        (_, Some(error)) => Err(error),
        (value, None) => Ok(value),
    }
}

/// `json.Unmarshal` into `map[string]interface{}` (`fromJson`). `None` is JSON `null`, which
/// makes Go's map nil (`toJson` prints `null`). Go keeps the entries it could decode next to a
/// number error; this returns only the error.
pub fn decode_map(text: &str) -> Result<Option<Map>, JsonError> {
    let (value, number_error) = parse(text)?;
    let map = match value {
        Value::Nil => None,
        Value::Map(m, _) => Some(m.read().clone()),
        other => return Err(type_error(&other, "map[string]interface {}")),
    };
    match number_error {
        Some(error) => Err(error),
        None => Ok(map),
    }
}

/// `json.Unmarshal` into `[]interface{}` (`fromJsonArray`); `None` is JSON `null` (a nil slice).
pub fn decode_list(text: &str) -> Result<Option<Vec<Value>>, JsonError> {
    let (value, number_error) = parse(text)?;
    let list = match value {
        Value::Nil => None,
        Value::List(l, _) => Some(l.as_ref().clone()),
        other => return Err(type_error(&other, "[]interface {}")),
    };
    match number_error {
        Some(error) => Err(error),
        None => Ok(list),
    }
}

/// Helm's `fromJson`: the object as a map, JSON `null` as Go's nil map (`Value::Nil`, which
/// `toJson` prints as `null`), and on failure the map Go had filled so far plus the error text
/// under `Error`. A number out of `float64` range leaves its key `nil`, as Go does.
pub fn from_json(text: &str) -> Value {
    let error_map = |message: String, mut map: Map| {
        map.insert("Error".to_string(), Value::from(message));
        Value::map(map)
    };
    match parse(text) {
        Err(e) => error_map(e.message, Map::new()),
        Ok((Value::Nil, _)) => Value::Nil,
        Ok((Value::Map(map, _), number_error)) => {
            let map = map.read().clone();
            match number_error {
                None => Value::map(map),
                Some(e) => {
                    let partial = map.into_iter().map(|(k, v)| (k, unplaceholder(v))).collect();
                    error_map(e.message, partial)
                }
            }
        }
        Ok((other, _)) => error_map(type_error(&other, "map[string]interface {}").message, Map::new()),
    }
}

/// Helm's `fromJsonArray`: the array, JSON `null` as a nil slice (`Value::Nil`), or a
/// one-element list with the error text.
pub fn from_json_array(text: &str) -> Value {
    match decode_list(text) {
        Ok(Some(items)) => Value::list(items),
        Ok(None) => Value::Nil,
        Err(e) => Value::list(vec![Value::from(e.message)]),
    }
}

/// Replaces the stand-ins for out-of-range numbers with the `nil` Go leaves in their place.
fn unplaceholder(value: Value) -> Value {
    match value {
        Value::Float(f) if f.is_infinite() => Value::Nil,
        Value::List(items, t) => Value::List(Arc::new(items.iter().cloned().map(unplaceholder).collect()), t),
        Value::Map(map, t) => {
            let entries = map
                .read()
                .clone()
                .into_iter()
                .map(|(k, v)| (k, unplaceholder(v)))
                .collect();
            Value::Map(MapRef::new(entries), t)
        }
        other => other,
    }
}

fn type_error(value: &Value, target: &str) -> JsonError {
    let kind = match value {
        Value::Map(..) => "object",
        Value::List(..) => "array",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        _ => "number",
    };
    JsonError::plain(format!("json: cannot unmarshal {kind} into Go value of type {target}"))
}

struct Parser<'t> {
    text: &'t [u8],
    pos: usize,
    depth: usize,
    /// The first number that does not fit a `float64`.
    number_error: Option<JsonError>,
}

/// Go's `quoteChar`: the offending byte as a rune literal.
fn quote_char(c: u8) -> String {
    match c {
        b'\'' => "'\\''".to_string(),
        b'"' => "'\"'".to_string(),
        c => {
            let ch = char::from(c);
            let quoted = match ch {
                '\u{7}' => "\\a".to_string(),
                '\u{8}' => "\\b".to_string(),
                '\u{c}' => "\\f".to_string(),
                '\n' => "\\n".to_string(),
                '\r' => "\\r".to_string(),
                '\t' => "\\t".to_string(),
                '\u{b}' => "\\v".to_string(),
                '\\' => "\\\\".to_string(),
                c if (c as u32) < 0x20 || c as u32 == 0x7F => format!("\\x{:02x}", c as u32),
                c if (0x80..0xA0).contains(&(c as u32)) => format!("\\u{:04x}", c as u32),
                c => c.to_string(),
            };
            format!("'{quoted}'")
        }
    }
}

impl Parser<'_> {
    fn location(&self, offset: usize) -> (usize, usize) {
        let before = &self.text[..offset.min(self.text.len())];
        let line = before.iter().filter(|&&c| c == b'\n').count() + 1;
        let line_start = before.iter().rposition(|&c| c == b'\n').map_or(0, |p| p + 1);
        let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
        (line, column)
    }

    fn syntax(&self, context: &str) -> JsonError {
        match self.text.get(self.pos) {
            None => self.eof(),
            Some(&c) => {
                let (line, column) = self.location(self.pos);
                JsonError {
                    message: format!("invalid character {} {context}", quote_char(c)),
                    line: Some(line),
                    column: Some(column),
                    offset: Some(self.pos + 1),
                }
            }
        }
    }

    /// Go's scanner feeds a space at the end of input: inside a literal, a number or an escape
    /// that is reported as an invalid ' ', elsewhere as the end of input.
    fn eof_in(&self, context: &str) -> JsonError {
        let (line, column) = self.location(self.text.len());
        JsonError {
            message: format!("invalid character ' ' {context}"),
            line: Some(line),
            column: Some(column),
            offset: Some(self.text.len()),
        }
    }

    fn eof(&self) -> JsonError {
        let (line, column) = self.location(self.text.len());
        JsonError {
            message: "unexpected end of JSON input".to_string(),
            line: Some(line),
            column: Some(column),
            offset: Some(self.text.len()),
        }
    }

    fn peek(&self) -> Option<u8> {
        self.text.get(self.pos).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\r' | b'\n')) {
            self.pos += 1;
        }
    }

    fn value(&mut self) -> Result<Value, JsonError> {
        match self.peek() {
            None => Err(self.eof()),
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => Ok(Value::String(Arc::from(self.string()?))),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(b't') => self.literal(b"true", Value::Bool(true)),
            Some(b'f') => self.literal(b"false", Value::Bool(false)),
            Some(b'n') => self.literal(b"null", Value::Nil),
            Some(_) => Err(self.syntax("looking for beginning of value")),
        }
    }

    fn child_value(&mut self) -> Result<Value, JsonError> {
        let depth = self.depth;
        crate::deep::segmented(depth, || self.value()).unwrap_or_else(|| Err(self.syntax("exceeded max depth")))
    }

    fn enter(&mut self) -> Result<(), JsonError> {
        self.depth += 1;
        if self.depth > MAX_DECODE_DEPTH {
            return Err(self.syntax("exceeded max depth"));
        }
        Ok(())
    }

    fn object(&mut self) -> Result<Value, JsonError> {
        self.enter()?;
        self.pos += 1;
        let mut map = Map::new();
        self.skip_space();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Map(MapRef::new(map), MapType::Interface));
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.syntax("looking for beginning of object key string"));
            }
            let key = self.string()?;
            self.skip_space();
            if self.peek() != Some(b':') {
                return Err(self.syntax("after object key"));
            }
            self.pos += 1;
            self.skip_space();
            let value = self.child_value()?;
            map.insert(key, value);
            self.skip_space();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_space();
                }
                Some(b'}') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(Value::Map(MapRef::new(map), MapType::Interface));
                }
                _ => return Err(self.syntax("after object key:value pair")),
            }
        }
    }

    fn array(&mut self) -> Result<Value, JsonError> {
        self.enter()?;
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_space();
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::List(Arc::new(items), ListType::Interface));
        }
        loop {
            items.push(self.child_value()?);
            self.skip_space();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_space();
                }
                Some(b']') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(Value::List(Arc::new(items), ListType::Interface));
                }
                _ => return Err(self.syntax("after array element")),
            }
        }
    }

    fn literal(&mut self, word: &[u8], value: Value) -> Result<Value, JsonError> {
        let name = std::str::from_utf8(word).unwrap_or_default();
        for &expected in word {
            match self.peek() {
                None => {
                    return Err(self.eof_in(&format!("in literal {name} (expecting {})", quote_char(expected))));
                }
                Some(c) if c == expected => self.pos += 1,
                Some(_) => {
                    return Err(self.syntax(&format!("in literal {name} (expecting {})", quote_char(expected))));
                }
            }
        }
        Ok(value)
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
            match self.peek() {
                None => return Err(self.eof_in("in numeric literal")),
                Some(b'0'..=b'9') => {}
                Some(_) => return Err(self.syntax("in numeric literal")),
            }
        }
        if self.peek() == Some(b'0') {
            self.pos += 1;
        } else {
            self.digits();
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            match self.peek() {
                None => return Err(self.eof_in("after decimal point in numeric literal")),
                Some(b'0'..=b'9') => {
                    self.digits();
                }
                Some(_) => return Err(self.syntax("after decimal point in numeric literal")),
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            match self.peek() {
                None => return Err(self.eof_in("in exponent of numeric literal")),
                Some(b'0'..=b'9') => {
                    self.digits();
                }
                Some(_) => return Err(self.syntax("in exponent of numeric literal")),
            }
        }
        let text = std::str::from_utf8(&self.text[start..self.pos]).unwrap_or("0");
        match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::Float(f)),
            _ => {
                if self.number_error.is_none() {
                    self.number_error = Some(JsonError::plain(format!(
                        "json: cannot unmarshal number {text} into Go value of type float64"
                    )));
                }
                // Stands in for the number so the top-level kind is still known; the
                // saved error is what decoding returns.
                Ok(Value::Float(f64::INFINITY))
            }
        }
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let digits = self.text.get(at..at + 4)?;
        let s = std::str::from_utf8(digits).ok()?;
        u32::from_str_radix(s, 16).ok()
    }

    fn string(&mut self) -> Result<String, JsonError> {
        self.pos += 1;
        let mut out = String::new();
        let mut run_start = self.pos;
        loop {
            let Some(c) = self.peek() else {
                return Err(self.eof());
            };
            match c {
                b'"' => {
                    out.push_str(&String::from_utf8_lossy(&self.text[run_start..self.pos]));
                    self.pos += 1;
                    return Ok(out);
                }
                b'\\' => {
                    out.push_str(&String::from_utf8_lossy(&self.text[run_start..self.pos]));
                    self.pos += 1;
                    let Some(e) = self.peek() else {
                        return Err(self.eof_in("in string escape code"));
                    };
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            for _ in 0..4 {
                                self.pos += 1;
                                match self.peek() {
                                    None => {
                                        return Err(self.eof_in("in \\u hexadecimal character escape"));
                                    }
                                    Some(h) if h.is_ascii_hexdigit() => {}
                                    Some(_) => {
                                        return Err(self.syntax("in \\u hexadecimal character escape"));
                                    }
                                }
                            }
                            let code = self.hex4(self.pos - 3).unwrap_or(0xFFFD);
                            if (0xD800..0xE000).contains(&code) {
                                // A surrogate: combine with a following low surrogate escape.
                                let next = self.pos + 1;
                                let low = (self.text.get(next..next + 2) == Some(b"\\u"))
                                    .then(|| self.hex4(next + 2))
                                    .flatten();
                                match low {
                                    Some(low)
                                        if (0xD800..0xDC00).contains(&code) && (0xDC00..0xE000).contains(&low) =>
                                    {
                                        let combined = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                                        out.push(char::from_u32(combined).unwrap_or('\u{FFFD}'));
                                        self.pos += 6;
                                    }
                                    _ => out.push('\u{FFFD}'),
                                }
                            } else {
                                out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                            }
                        }
                        _ => return Err(self.syntax("in string escape code")),
                    }
                    self.pos += 1;
                    run_start = self.pos;
                }
                c if c < 0x20 => return Err(self.syntax("in string literal")),
                _ => self.pos += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(entries: &[(&str, Value)]) -> Value {
        Value::map(entries.iter().map(|(k, v)| (k.to_string(), v.clone())).collect())
    }

    #[test]
    fn floats_like_go() {
        for (f, text) in [
            (1e6, "1000000"),
            (1e21, "1e+21"),
            (1e20, "100000000000000000000"),
            (0.000001, "0.000001"),
            (0.0000001, "1e-7"),
            (-0.0, "-0"),
            (1.5, "1.5"),
        ] {
            assert_eq!(format_json_float(f).unwrap(), text);
        }
        assert_eq!(
            format_json_float(f64::NAN).unwrap_err().message,
            "json: unsupported value: NaN"
        );
    }

    #[test]
    fn styles() {
        let v = map(&[("b", Value::from("<x>&")), ("a", Value::list(vec![Value::int64(1)]))]);
        assert_eq!(
            encode(&v, JsonStyle::Compact).unwrap(),
            r#"{"a":[1],"b":"\u003cx\u003e\u0026"}"#
        );
        assert_eq!(encode(&v, JsonStyle::Raw).unwrap(), r#"{"a":[1],"b":"<x>&"}"#);
        assert_eq!(
            encode(&v, JsonStyle::Pretty).unwrap(),
            "{\n  \"a\": [\n    1\n  ],\n  \"b\": \"\\u003cx\\u003e\\u0026\"\n}"
        );
    }

    #[test]
    fn go_syntax_errors() {
        for (text, message) in [
            ("", "unexpected end of JSON input"),
            ("{", "unexpected end of JSON input"),
            ("x", "invalid character 'x' looking for beginning of value"),
            (
                "{a}",
                "invalid character 'a' looking for beginning of object key string",
            ),
            ("[1,]", "invalid character ']' looking for beginning of value"),
            ("[1 2]", "invalid character '2' after array element"),
            ("{\"a\" 1}", "invalid character '1' after object key"),
            ("01", "invalid character '1' after top-level value"),
            ("tru", "invalid character ' ' in literal true (expecting 'e')"),
            ("[1.", "invalid character ' ' after decimal point in numeric literal"),
            ("\"abc", "unexpected end of JSON input"),
            ("trux", "invalid character 'x' in literal true (expecting 'e')"),
            ("\"\\x\"", "invalid character 'x' in string escape code"),
            ("-a", "invalid character 'a' in numeric literal"),
        ] {
            assert_eq!(decode(text).unwrap_err().message, message, "{text:?}");
        }
    }

    #[test]
    fn decodes_numbers_as_floats_and_surrogates() {
        let v = decode(r#"{"n": 1, "s": "\ud83d\ude00\ud800"}"#).unwrap();
        let m = v.as_map().unwrap().read().clone();
        assert!(matches!(m["n"], Value::Float(f) if f == 1.0));
        assert_eq!(m["s"].as_str(), Some("😀\u{FFFD}"));
    }
}
