//! Helm's `pkg/strvals`: the `--set`, `--set-string`, `--set-file`, `--set-json` and
//! `--set-literal` line parsers, ported rule for rule (escapes, `a[0]`, `{a,b}`, `int64`
//! inference, depth and index limits, the EOF quirks and the exact error texts, including the
//! Go runtime panics Helm turns into `unable to parse key: …`).

use crate::metadata::go_quote;
use helmfire_value::{IntType, ListType, Map, MapRef, MapType, Value};

/// Helm's `MaxIndex`.
pub const MAX_INDEX: i64 = 65536;
/// Helm's `MaxNestedNameLevel`.
pub const MAX_NESTED_NAME_LEVEL: usize = 30;

/// A parse failure. `eof` marks Go errors that wrap `io.EOF`, which the parser treats as a
/// successful end of input (Helm's `errors.Is(err, io.EOF)`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    pub message: String,
    eof: bool,
}

impl ParseError {
    fn msg(message: impl Into<String>) -> ParseError {
        ParseError {
            message: message.into(),
            eof: false,
        }
    }

    fn eof() -> ParseError {
        ParseError {
            message: "EOF".into(),
            eof: true,
        }
    }

    fn wrap(self, prefix: &str) -> ParseError {
        ParseError {
            message: format!("{prefix}{}", self.message),
            eof: self.eof,
        }
    }
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ParseError {}

/// Reads a `--set-file` value (the path, as typed) into the value to store.
pub type FileReader<'a> = dyn FnMut(&str) -> Result<Value, String> + 'a;

enum Reader<'a> {
    Typed,
    String,
    File(&'a mut FileReader<'a>),
    Json,
}

struct Scanner {
    chars: Vec<char>,
    pos: usize,
}

impl Scanner {
    fn new(s: &str) -> Scanner {
        Scanner {
            chars: s.chars().collect(),
            pos: 0,
        }
    }

    fn read(&mut self) -> Option<char> {
        let c = self.chars.get(self.pos).copied();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    fn unread(&mut self) {
        self.pos = self.pos.saturating_sub(1);
    }

    fn rest(&self) -> String {
        self.chars[self.pos..].iter().collect()
    }

    /// `runesUntil`: reads up to a stop rune, honouring backslash escapes. `None` as the stop
    /// rune means EOF was reached.
    fn until(&mut self, stop: &[char]) -> (String, Option<char>) {
        let mut v = String::new();
        loop {
            match self.read() {
                None => return (v, None),
                Some(c) if stop.contains(&c) => return (v, Some(c)),
                Some('\\') => match self.read() {
                    None => return (v, None),
                    Some(next) => v.push(next),
                },
                Some(c) => v.push(c),
            }
        }
    }

    /// `runesUntilLiteral`: the same without escapes.
    fn until_literal(&mut self, stop: &[char]) -> (String, Option<char>) {
        let mut v = String::new();
        loop {
            match self.read() {
                None => return (v, None),
                Some(c) if stop.contains(&c) => return (v, Some(c)),
                Some(c) => v.push(c),
            }
        }
    }
}

/// Go's `%q` of a `[]rune`: each rune quoted on its own, `['n' 'a' 'm' 'e']`.
fn go_quote_runes(s: &str) -> String {
    let runes: Vec<String> = s
        .chars()
        .map(|c| match c {
            '\'' => "'\\''".to_string(),
            '\\' => "'\\\\'".to_string(),
            '\n' => "'\\n'".to_string(),
            '\t' => "'\\t'".to_string(),
            c if c.is_control() => format!("'\\x{:02x}'", c as u32),
            c => format!("'{c}'"),
        })
        .collect();
    format!("[{}]", runes.join(" "))
}

/// Go's `%T` of a value, for the runtime panic texts Helm surfaces.
fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Bool(_) => "bool",
        Value::Int(_, IntType::Int64) => "int64",
        Value::Int(..) => "int",
        Value::Float(_) => "float64",
        Value::String(_) => "string",
        Value::Bytes(_) => "[]uint8",
        Value::List(_, ListType::String) => "[]string",
        Value::List(..) => "[]interface {}",
        Value::Map(_, MapType::String) => "map[string]string",
        Value::Map(..) => "map[string]interface {}",
        Value::Object(_) => "struct",
    }
}

fn conversion_panic(v: &Value, want: &str) -> ParseError {
    ParseError::msg(format!(
        "unable to parse key: interface conversion: interface {{}} is {}, not {want}",
        go_type(v)
    ))
}

fn as_list(v: &Value) -> Result<Vec<Value>, ParseError> {
    match v {
        Value::List(l, ListType::Interface) => Ok(l.as_ref().clone()),
        other => Err(conversion_panic(other, "[]interface {}")),
    }
}

fn set(data: &MapRef, key: &str, val: Value) {
    if !key.is_empty() {
        data.write().insert(key.to_string(), val);
    }
}

fn set_index(mut list: Vec<Value>, index: i64, val: Value) -> Result<Vec<Value>, ParseError> {
    if index < 0 {
        return Err(ParseError::msg(format!("negative {index} index not allowed")));
    }
    if index > MAX_INDEX {
        return Err(ParseError::msg(format!(
            "index of {index} is greater than maximum supported index of {MAX_INDEX}"
        )));
    }
    let index = index as usize;
    if list.len() <= index {
        list.resize(index + 1, Value::Nil);
    }
    list[index] = val;
    Ok(list)
}

/// Go's `strconv.Atoi` with its error text.
fn atoi(s: &str) -> Result<i64, ParseError> {
    let syntax = || ParseError::msg(format!("strconv.Atoi: parsing {}: invalid syntax", go_quote(s)));
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(syntax());
    }
    s.parse::<i64>()
        .map_err(|_| ParseError::msg(format!("strconv.Atoi: parsing {}: value out of range", go_quote(s))))
}

/// Helm's `typedVal`.
pub fn typed_value(val: &str, force_string: bool) -> Value {
    if force_string {
        return Value::string(val);
    }
    if val.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if val.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if val.eq_ignore_ascii_case("null") {
        return Value::Nil;
    }
    if val == "0" {
        return Value::int64(0);
    }
    if !val.is_empty() && !val.starts_with('0') {
        let digits = val.strip_prefix(['+', '-']).unwrap_or(val);
        if !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && let Ok(i) = val.parse::<i64>()
        {
            return Value::int64(i);
        }
    }
    Value::string(val)
}

struct Parser<'a> {
    sc: Scanner,
    reader: Reader<'a>,
}

impl Parser<'_> {
    fn read_value(&mut self, rs: &str) -> Result<Value, ParseError> {
        match &mut self.reader {
            Reader::Typed => Ok(typed_value(rs, false)),
            Reader::String => Ok(typed_value(rs, true)),
            Reader::File(f) => f(rs).map_err(ParseError::msg),
            // The JSON parser never reaches the plain-value path.
            Reader::Json => Ok(typed_value(rs, false)),
        }
    }

    fn parse(&mut self, data: &MapRef) -> Result<(), ParseError> {
        loop {
            match self.key(data, 0) {
                Ok(()) => continue,
                Err(e) if e.eof => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }

    fn key(&mut self, data: &MapRef, mut level: usize) -> Result<(), ParseError> {
        let (k, last) = self.sc.until(&['=', '[', ',', '.']);
        match last {
            None => {
                if k.is_empty() {
                    return Err(ParseError::eof());
                }
                Err(ParseError::msg(format!("key {} has no value", go_quote(&k))))
            }
            Some('[') => {
                let i = self.key_index().map_err(|e| e.wrap("error parsing index: "))?;
                let existing = data.read().get(&k).cloned();
                let list = match existing {
                    Some(v) => as_list(&v)?,
                    None => Vec::new(),
                };
                match self.list_item(list, i, level) {
                    Ok(list) => {
                        set(data, &k, Value::list(list));
                        Ok(())
                    }
                    Err((list, e)) => {
                        set(data, &k, Value::list(list));
                        Err(e)
                    }
                }
            }
            Some('=') => {
                if matches!(self.reader, Reader::Json) {
                    if self.empty_val() {
                        set(data, &k, Value::Nil);
                        return Ok(());
                    }
                    let v = self.json_value()?;
                    set(data, &k, v);
                    self.empty_val();
                    return Ok(());
                }
                match self.val_list() {
                    Ok(list) => {
                        set(data, &k, Value::list(list));
                        Ok(())
                    }
                    Err(ListError::Eof) => {
                        set(data, &k, Value::string(""));
                        Err(ParseError::eof())
                    }
                    Err(ListError::NotList) => {
                        let (rs, _) = self.sc.until(&[',']);
                        let v = self.read_value(&rs)?;
                        set(data, &k, v);
                        Ok(())
                    }
                    Err(ListError::Other(e)) => Err(e),
                }
            }
            Some(',') => {
                set(data, &k, Value::string(""));
                Err(ParseError::msg(format!(
                    "key {} has no value (cannot end with ,)",
                    go_quote(&k)
                )))
            }
            _ => {
                level += 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return Err(ParseError::msg(format!(
                        "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                    )));
                }
                let existing = data.read().get(&k).cloned();
                let inner = match existing {
                    Some(Value::Map(m, MapType::Interface)) => m,
                    Some(other) => return Err(conversion_panic(&other, "map[string]interface {}")),
                    None => MapRef::new(Map::new()),
                };
                let e = self.key(&inner, level);
                let empty = inner.read().is_empty();
                if e.is_ok() && empty {
                    return Err(ParseError::msg(format!("key map {} has no value", go_quote(&k))));
                }
                if !empty {
                    set(data, &k, Value::Map(inner, MapType::Interface));
                }
                e
            }
        }
    }

    fn key_index(&mut self) -> Result<i64, ParseError> {
        let (v, last) = self.sc.until(&[']']);
        if last.is_none() {
            return Err(ParseError::eof());
        }
        atoi(&v)
    }

    /// Returns the list to store, also on error (Helm stores it before returning the error).
    fn list_item(&mut self, list: Vec<Value>, i: i64, level: usize) -> Result<Vec<Value>, (Vec<Value>, ParseError)> {
        if i < 0 {
            return Err((list, ParseError::msg(format!("negative {i} index not allowed"))));
        }
        let (k, last) = self.sc.until(&['[', '.', '=']);
        if !k.is_empty() {
            return Err((
                list,
                ParseError::msg(format!("unexpected data at end of array index: {}", go_quote_runes(&k))),
            ));
        }
        match last {
            None => Err((list, ParseError::eof())),
            Some('=') => {
                if matches!(self.reader, Reader::Json) {
                    if self.empty_val() {
                        return set_index(list.clone(), i, Value::Nil).map_err(|e| (list, e));
                    }
                    let v = match self.json_value() {
                        Ok(v) => v,
                        Err(e) => return Err((list, e)),
                    };
                    let out = set_index(list.clone(), i, v).map_err(|e| (list, e))?;
                    self.empty_val();
                    return Ok(out);
                }
                match self.val_list() {
                    Ok(vl) => set_index(list.clone(), i, Value::list(vl)).map_err(|e| (list, e)),
                    Err(ListError::Eof) => set_index(list.clone(), i, Value::string("")).map_err(|e| (list, e)),
                    Err(ListError::NotList) => {
                        let (rs, _) = self.sc.until(&[',']);
                        let v = match self.read_value(&rs) {
                            Ok(v) => v,
                            Err(e) => return Err((list, e)),
                        };
                        set_index(list.clone(), i, v).map_err(|e| (list, e))
                    }
                    Err(ListError::Other(e)) => Err((list, e)),
                }
            }
            Some('[') => {
                let next = match self.key_index() {
                    Ok(n) => n,
                    Err(e) => return Err((list, e.wrap("error parsing index: "))),
                };
                let mut current = Vec::new();
                if (list.len() as i64) > i {
                    let existed = &list[i as usize];
                    if !existed.is_nil() {
                        current = match as_list(existed) {
                            Ok(l) => l,
                            Err(e) => return Err((list, e)),
                        };
                    }
                }
                match self.list_item(current, next, level) {
                    Ok(inner) => set_index(list.clone(), i, Value::list(inner)).map_err(|e| (list, e)),
                    Err((_, e)) => Err((list, e)),
                }
            }
            _ => {
                let mut list = list;
                let mut inner = MapRef::new(Map::new());
                if (list.len() as i64) > i {
                    match &list[i as usize] {
                        Value::Map(m, MapType::Interface) => inner = m.clone(),
                        _ => {
                            list[i as usize] = Value::Map(inner.clone(), MapType::Interface);
                        }
                    }
                }
                if let Err(e) = self.key(&inner, level) {
                    return Err((list, e));
                }
                set_index(list.clone(), i, Value::Map(inner, MapType::Interface)).map_err(|e| (list, e))
            }
        }
    }

    /// Consumes blanks up to a comma or EOF (true: empty value) or stops before anything else.
    fn empty_val(&mut self) -> bool {
        loop {
            match self.sc.read() {
                None | Some(',') => return true,
                Some(c) if c.is_whitespace() => {}
                Some(_) => {
                    self.sc.unread();
                    return false;
                }
            }
        }
    }

    fn val_list(&mut self) -> Result<Vec<Value>, ListError> {
        match self.sc.read() {
            None => return Err(ListError::Eof),
            Some('{') => {}
            Some(_) => {
                self.sc.unread();
                return Err(ListError::NotList);
            }
        }
        let mut list = Vec::new();
        loop {
            let (rs, last) = self.sc.until(&[',', '}']);
            match last {
                None => return Err(ListError::Other(ParseError::msg("list must terminate with '}'"))),
                Some('}') => {
                    match self.sc.read() {
                        Some(',') | None => {}
                        Some(_) => self.sc.unread(),
                    }
                    let v = self.read_value(&rs).map_err(ListError::Other)?;
                    list.push(v);
                    return Ok(list);
                }
                _ => {
                    let v = self.read_value(&rs).map_err(ListError::Other)?;
                    list.push(v);
                }
            }
        }
    }

    /// One JSON value from the rest of the line, as `json.Decoder.Decode` reads it.
    fn json_value(&mut self) -> Result<Value, ParseError> {
        let rest = self.sc.rest();
        let end = json_extent(&rest).ok_or_else(|| ParseError::msg("invalid JSON value"))?;
        let v = helmfire_value::json::decode(&rest[..end]).map_err(|e| ParseError::msg(e.message))?;
        self.sc.pos += rest[..end].chars().count();
        Ok(v)
    }
}

enum ListError {
    Eof,
    NotList,
    Other(ParseError),
}

/// The byte length of the first JSON value in `s` (with leading blanks), ending where Go's
/// decoder stops reading; `None` for an incomplete or malformed start.
fn json_extent(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    let start = *b.get(i)?;
    match start {
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut in_string = false;
            while i < b.len() {
                let c = b[i];
                if in_string {
                    if c == b'\\' {
                        i += 1;
                    } else if c == b'"' {
                        in_string = false;
                    }
                } else {
                    match c {
                        b'"' => in_string = true,
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth = depth.checked_sub(1)?;
                            if depth == 0 {
                                return Some(i + 1);
                            }
                        }
                        _ => {}
                    }
                }
                i += 1;
            }
            None
        }
        b'"' => {
            i += 1;
            while i < b.len() {
                match b[i] {
                    b'\\' => i += 1,
                    b'"' => return Some(i + 1),
                    _ => {}
                }
                i += 1;
            }
            None
        }
        b't' | b'f' | b'n' => {
            let word: &[u8] = match start {
                b't' => b"true",
                b'f' => b"false",
                _ => b"null",
            };
            if b[i..].starts_with(word) {
                Some(i + word.len())
            } else {
                None
            }
        }
        b'-' | b'0'..=b'9' => {
            if b[i] == b'-' {
                i += 1;
            }
            match b.get(i)? {
                b'0' => i += 1,
                b'1'..=b'9' => {
                    while i < b.len() && b[i].is_ascii_digit() {
                        i += 1;
                    }
                }
                _ => return None,
            }
            if b.get(i) == Some(&b'.') {
                i += 1;
                if !b.get(i)?.is_ascii_digit() {
                    return None;
                }
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            if matches!(b.get(i), Some(b'e' | b'E')) {
                i += 1;
                if matches!(b.get(i), Some(b'+' | b'-')) {
                    i += 1;
                }
                if !b.get(i)?.is_ascii_digit() {
                    return None;
                }
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            Some(i)
        }
        _ => None,
    }
}

fn run(line: &str, dest: &MapRef, reader: Reader<'_>) -> Result<(), ParseError> {
    let mut parser = Parser {
        sc: Scanner::new(line),
        reader,
    };
    parser.parse(dest)
}

/// `strvals.ParseInto` (`--set`).
pub fn parse_into(line: &str, dest: &MapRef) -> Result<(), ParseError> {
    run(line, dest, Reader::Typed)
}

/// `strvals.ParseIntoString` (`--set-string`).
pub fn parse_into_string(line: &str, dest: &MapRef) -> Result<(), ParseError> {
    run(line, dest, Reader::String)
}

/// `strvals.ParseIntoFile` (`--set-file`): each value is a path handed to `reader`.
pub fn parse_into_file<'a>(line: &str, dest: &MapRef, reader: &'a mut FileReader<'a>) -> Result<(), ParseError> {
    run(line, dest, Reader::File(reader))
}

/// `strvals.ParseJSON` (`--set-json key=<json>,…`).
pub fn parse_json(line: &str, dest: &MapRef) -> Result<(), ParseError> {
    run(line, dest, Reader::Json)
}

/// `strvals.Parse`: a fresh map from one `--set` line.
pub fn parse(line: &str) -> Result<Map, ParseError> {
    let dest = MapRef::new(Map::new());
    parse_into(line, &dest)?;
    let out = dest.read().clone();
    Ok(out)
}

/// `strvals.ParseLiteralInto` (`--set-literal`): no escapes, the value is everything after `=`.
pub fn parse_literal_into(line: &str, dest: &MapRef) -> Result<(), ParseError> {
    let mut sc = Scanner::new(line);
    loop {
        match literal_key(&mut sc, dest, 0) {
            Ok(()) => continue,
            Err(e) if e.eof => return Ok(()),
            Err(e) => return Err(e),
        }
    }
}

fn literal_key(sc: &mut Scanner, data: &MapRef, mut level: usize) -> Result<(), ParseError> {
    let (k, last) = sc.until_literal(&['=', '[', '.']);
    match last {
        None => {
            if k.is_empty() {
                return Err(ParseError::eof());
            }
            Err(ParseError::msg(format!("key {} has no value", go_quote(&k))))
        }
        Some('=') => {
            let (v, _) = sc.until_literal(&[]);
            set(data, &k, Value::string(v));
            Ok(())
        }
        Some('.') => {
            level += 1;
            if level > MAX_NESTED_NAME_LEVEL {
                return Err(ParseError::msg(format!(
                    "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
                )));
            }
            let existing = data.read().get(&k).cloned();
            let inner = match existing {
                Some(Value::Map(m, MapType::Interface)) => m,
                Some(other) => return Err(conversion_panic(&other, "map[string]interface {}")),
                None => MapRef::new(Map::new()),
            };
            let e = literal_key(sc, &inner, level);
            let empty = inner.read().is_empty();
            if e.is_ok() && empty {
                return Err(ParseError::msg(format!("key map {} has no value", go_quote(&k))));
            }
            if !empty {
                set(data, &k, Value::Map(inner, MapType::Interface));
            }
            e
        }
        _ => {
            let i = literal_key_index(sc).map_err(|e| e.wrap("error parsing index: "))?;
            let existing = data.read().get(&k).cloned();
            let list = match existing {
                Some(v) => as_list(&v)?,
                None => Vec::new(),
            };
            match literal_list_item(sc, list, i, level) {
                Ok(list) => {
                    set(data, &k, Value::list(list));
                    Ok(())
                }
                Err((list, e)) => {
                    set(data, &k, Value::list(list));
                    Err(e)
                }
            }
        }
    }
}

fn literal_key_index(sc: &mut Scanner) -> Result<i64, ParseError> {
    let (v, last) = sc.until_literal(&[']']);
    if last.is_none() {
        return Err(ParseError::eof());
    }
    atoi(&v)
}

fn literal_list_item(
    sc: &mut Scanner,
    list: Vec<Value>,
    i: i64,
    level: usize,
) -> Result<Vec<Value>, (Vec<Value>, ParseError)> {
    if i < 0 {
        return Err((list, ParseError::msg(format!("negative {i} index not allowed"))));
    }
    let (k, last) = sc.until_literal(&['[', '.', '=']);
    if !k.is_empty() {
        return Err((
            list,
            ParseError::msg(format!("unexpected data at end of array index: {}", go_quote_runes(&k))),
        ));
    }
    match last {
        None => Err((list, ParseError::eof())),
        Some('=') => {
            let (v, _) = sc.until_literal(&[]);
            set_index(list.clone(), i, Value::string(v)).map_err(|e| (list, e))
        }
        Some('.') => {
            let mut list = list;
            let mut inner = MapRef::new(Map::new());
            if (list.len() as i64) > i {
                match &list[i as usize] {
                    Value::Map(m, MapType::Interface) => inner = m.clone(),
                    _ => list[i as usize] = Value::Map(inner.clone(), MapType::Interface),
                }
            }
            if let Err(e) = literal_key(sc, &inner, level) {
                return Err((list, e));
            }
            set_index(list.clone(), i, Value::Map(inner, MapType::Interface)).map_err(|e| (list, e))
        }
        _ => {
            let next = match literal_key_index(sc) {
                Ok(n) => n,
                Err(e) => return Err((list, e.wrap("error parsing index: "))),
            };
            let mut current = Vec::new();
            if (list.len() as i64) > i {
                let existed = &list[i as usize];
                if !existed.is_nil() {
                    current = match as_list(existed) {
                        Ok(l) => l,
                        Err(e) => return Err((list, e)),
                    };
                }
            }
            match literal_list_item(sc, current, next, level) {
                Ok(inner) => set_index(list.clone(), i, Value::list(inner)).map_err(|e| (list, e)),
                Err((_, e)) => Err((list, e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use helmfire_value::json::{JsonStyle, encode};

    fn json(line: &str) -> String {
        match parse(line) {
            Ok(m) => encode(&Value::map(m), JsonStyle::Compact).expect("encode"),
            Err(e) => format!("ERR {e}"),
        }
    }

    #[test]
    fn helm_parse_cases() {
        // From helm's pkg/strvals/parser_test.go TestParseSet.
        let cases = [
            ("name1=null,f=false,t=true", r#"{"f":false,"name1":null,"t":true}"#),
            ("name1=value1", r#"{"name1":"value1"}"#),
            ("long_int_string=1234567890", r#"{"long_int_string":1234567890}"#),
            ("boolean=true", r#"{"boolean":true}"#),
            ("is_null=null", r#"{"is_null":null}"#),
            ("zero=0", r#"{"zero":0}"#),
            ("leading_zeros=00009", r#"{"leading_zeros":"00009"}"#),
            ("name1=value1,name2=value2", r#"{"name1":"value1","name2":"value2"}"#),
            ("name1=value1,name2=value2,", r#"{"name1":"value1","name2":"value2"}"#),
            ("name1=,name2=value2", r#"{"name1":"","name2":"value2"}"#),
            (
                "name1=one\\,two,name2=three\\,four",
                r#"{"name1":"one,two","name2":"three,four"}"#,
            ),
            (
                "name1=one\\=two,name2=three\\=four",
                r#"{"name1":"one=two","name2":"three=four"}"#,
            ),
            (
                "name1=one two three,name2=three two one",
                r#"{"name1":"one two three","name2":"three two one"}"#,
            ),
            ("outer.inner=value", r#"{"outer":{"inner":"value"}}"#),
            ("outer.middle.inner=value", r#"{"outer":{"middle":{"inner":"value"}}}"#),
            (
                "outer.inner1=value,outer.inner2=value2",
                r#"{"outer":{"inner1":"value","inner2":"value2"}}"#,
            ),
            ("name1.name2=foo,name1.name2=bar", r#"{"name1":{"name2":"bar"}}"#),
            ("name1={value1,value2}", r#"{"name1":["value1","value2"]}"#),
            (
                "name1={value1,value2},name2={value1,value2}",
                r#"{"name1":["value1","value2"],"name2":["value1","value2"]}"#,
            ),
            ("name1={1021,902}", r#"{"name1":[1021,902]}"#),
            (
                "name1.name2={value1,value2}",
                r#"{"name1":{"name2":["value1","value2"]}}"#,
            ),
            ("name1={1021,902}", r#"{"name1":[1021,902]}"#),
            ("list[0]=foo", r#"{"list":["foo"]}"#),
            ("list[0].foo=bar", r#"{"list":[{"foo":"bar"}]}"#),
            (
                "list[0].foo=bar,list[0].hello=world",
                r#"{"list":[{"foo":"bar","hello":"world"}]}"#,
            ),
            ("list[0]=foo,list[1]=bar", r#"{"list":["foo","bar"]}"#),
            ("list[0]=foo,list[1]=bar,", r#"{"list":["foo","bar"]}"#),
            ("list[0]=foo,list[3]=bar", r#"{"list":["foo",null,null,"bar"]}"#),
            (
                "illegal[0]name.foo=bar",
                "ERR unexpected data at end of array index: ['n' 'a' 'm' 'e']",
            ),
            ("noval[0]", r#"{"noval":[]}"#),
            ("noval[0]=", r#"{"noval":[""]}"#),
            ("nested[0][0]=1", r#"{"nested":[[1]]}"#),
            ("nested[1][1]=1", r#"{"nested":[null,[null,1]]}"#),
            (
                "name1.name2[0].foo=bar,name1.name2[1].foo=bar",
                r#"{"name1":{"name2":[{"foo":"bar"},{"foo":"bar"}]}}"#,
            ),
            (
                "name1.name2[1].foo=bar,name1.name2[0].foo=bar",
                r#"{"name1":{"name2":[{"foo":"bar"},{"foo":"bar"}]}}"#,
            ),
            ("name1.name2[1].foo=bar", r#"{"name1":{"name2":[null,{"foo":"bar"}]}}"#),
            ("name", r#"ERR key "name" has no value"#),
            ("name,name2=", r#"ERR key "name" has no value (cannot end with ,)"#),
            ("a.b", r#"ERR key "b" has no value"#),
            ("a=b,", r#"{"a":"b"}"#),
            ("a={b", "ERR list must terminate with '}'"),
            ("list[-30].hello=world", "ERR negative -30 index not allowed"),
            (
                "list[x]=1",
                r#"ERR error parsing index: strconv.Atoi: parsing "x": invalid syntax"#,
            ),
            (
                "list[65537]=1",
                "ERR index of 65537 is greater than maximum supported index of 65536",
            ),
            (
                "a=1,a.b=2",
                "ERR unable to parse key: interface conversion: interface {} is int64, not map[string]interface {}",
            ),
            (
                "a=1,a[0]=2",
                "ERR unable to parse key: interface conversion: interface {} is int64, not []interface {}",
            ),
            ("a=+5,b=-5,c=1.5,d=TRUE", r#"{"a":5,"b":-5,"c":"1.5","d":true}"#),
            ("k={}", r#"{"k":[""]}"#),
            ("a[1", "{}"),
        ];
        for (line, want) in cases {
            assert_eq!(json(line), want, "--set {line:?}");
        }
        let deep = format!("{}=1", vec!["a"; 32].join("."));
        assert_eq!(
            json(&deep),
            "ERR value name nested level is greater than maximum supported nested level of 30"
        );
    }

    #[test]
    fn json_and_literal() {
        let dest = MapRef::new(Map::new());
        parse_json(r#"a={"x":[1,"y"]},b=null,c=,d="s" , e=true"#, &dest).expect("json");
        assert_eq!(
            encode(&Value::Map(dest, MapType::Interface), JsonStyle::Compact).expect("encode"),
            r#"{" e":true,"a":{"x":[1,"y"]},"b":null,"c":null,"d":"s"}"#
        );
        assert!(parse_json("a=tru", &MapRef::new(Map::new())).is_err());
        let dest = MapRef::new(Map::new());
        parse_literal_into(r"a.b[1]=x,y\z={}", &dest).expect("literal");
        assert_eq!(
            encode(&Value::Map(dest, MapType::Interface), JsonStyle::Compact).expect("encode"),
            r#"{"a":{"b":[null,"x,y\\z={}"]}}"#
        );
    }
}
