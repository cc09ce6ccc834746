//! Sprig's string functions (strings.go plus the goutils/xstrings helpers it calls).

use super::{Functions, Param, arg_int, arg_str, list_items, runtime_error, str_list, strval};
use crate::error::FuncError;
use crate::fmt::{quote_go, sprint_value};
use Param::*;
use helmfire_value::{ListType, Map, MapRef, MapType, Value};

fn s(v: impl Into<String>) -> Result<Value, FuncError> {
    Ok(Value::from(v.into()))
}

/// Go slices strings by bytes; a cut inside a UTF-8 sequence yields U+FFFD here.
pub fn byte_slice(st: &str, start: usize, end: usize) -> String {
    let b = st.as_bytes();
    let end = end.min(b.len());
    let start = start.min(end);
    String::from_utf8_lossy(&b[start..end]).into_owned()
}

pub fn register(f: &mut Functions) {
    f.pure("hello", &[], None, |_| s("Hello!"));
    f.pure("abbrev", &[Int, Str], None, |a| {
        s(abbrev(arg_int(&a[0]), arg_str(&a[1])))
    });
    f.pure("abbrevboth", &[Int, Int, Str], None, |a| {
        let (l, r, st) = (arg_int(&a[0]), arg_int(&a[1]), arg_str(&a[2]));
        if r < 4 || l > 0 && r < 7 {
            return s(st);
        }
        s(abbreviate_full(st, l, r).unwrap_or_default())
    });
    f.pure("trunc", &[Int, Str], None, |a| {
        let (c, st) = (arg_int(&a[0]), arg_str(&a[1]));
        let len = st.len() as i64;
        if c < 0 && len + c > 0 {
            return s(byte_slice(st, (len + c) as usize, st.len()));
        }
        if c >= 0 && len > c {
            return s(byte_slice(st, 0, c as usize));
        }
        s(st)
    });
    f.pure("trim", &[Str], None, |a| s(arg_str(&a[0]).trim()));
    f.pure("upper", &[Str], None, |a| s(go_upper(arg_str(&a[0]))));
    f.pure("lower", &[Str], None, |a| s(go_lower(arg_str(&a[0]))));
    f.pure("title", &[Str], None, |a| s(title(arg_str(&a[0]))));
    f.pure("untitle", &[Str], None, |a| {
        // goutils.Uncapitalize lowers the first letter of every whitespace-separated word.
        let mut out = String::new();
        let mut gap = true;
        for c in arg_str(&a[0]).chars() {
            if c.is_whitespace() {
                gap = true;
                out.push(c);
            } else if gap {
                out.push_str(&go_lower(&c.to_string()));
                gap = false;
            } else {
                out.push(c);
            }
        }
        s(out)
    });
    f.pure("substr", &[Int, Int, Str], None, |a| {
        let (start, end, st) = (arg_int(&a[0]), arg_int(&a[1]), arg_str(&a[2]));
        let len = st.len() as i64;
        let slice_err = |lo: i64, hi: i64| runtime_error(format!("slice bounds out of range [{lo}:{hi}]"));
        if start < 0 {
            if end < 0 {
                return Err(runtime_error(format!("slice bounds out of range [:{end}]")));
            }
            if end > len {
                return Err(runtime_error(format!(
                    "slice bounds out of range [:{end}] with length {len}"
                )));
            }
            return s(byte_slice(st, 0, end as usize));
        }
        if end < 0 || end > len {
            if start > len {
                return Err(runtime_error(format!("slice bounds out of range [{start}:{len}]")));
            }
            return s(byte_slice(st, start as usize, st.len()));
        }
        if start > end {
            return Err(slice_err(start, end));
        }
        s(byte_slice(st, start as usize, end as usize))
    });
    f.pure("repeat", &[Int, Str], None, |a| {
        let n = arg_int(&a[0]);
        if n < 0 {
            return Err(FuncError::msg("strings: negative Repeat count"));
        }
        let st = arg_str(&a[1]);
        if (st.len() as u128) * (n as u128) > (64u128 << 20) {
            return Err(FuncError::msg("strings: Repeat output length overflow"));
        }
        s(st.repeat(n as usize))
    });
    for name in ["trimall", "trimAll"] {
        f.pure(name, &[Str, Str], None, |a| {
            let cut = arg_str(&a[0]);
            s(arg_str(&a[1]).trim_matches(|c| cut.contains(c)))
        });
    }
    f.pure("trimSuffix", &[Str, Str], None, |a| {
        let st = arg_str(&a[1]);
        s(st.strip_suffix(arg_str(&a[0])).unwrap_or(st))
    });
    f.pure("trimPrefix", &[Str, Str], None, |a| {
        let st = arg_str(&a[1]);
        s(st.strip_prefix(arg_str(&a[0])).unwrap_or(st))
    });
    f.pure("nospace", &[Str], None, |a| {
        s(arg_str(&a[0])
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>())
    });
    f.pure("initials", &[Str], None, |a| {
        let mut out = String::new();
        let mut gap = true;
        for b in arg_str(&a[0]).bytes() {
            let ch = b as char;
            if ch.is_whitespace() || b == 0x85 || b == 0xA0 {
                gap = true;
            } else if gap {
                out.push(ch);
                gap = false;
            }
        }
        s(out)
    });
    const ALPHA: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    const NUM: &str = "0123456789";
    for (name, set) in [
        (
            "randAlphaNum",
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
        ),
        ("randAlpha", ALPHA),
        ("randNumeric", NUM),
        ("randAscii", ""),
    ] {
        f.add(name, &[Int], None, move |st, a| {
            let n = arg_int(&a[0]);
            if n < 0 {
                return Err(FuncError::Plain(format!(
                    "Requested random string length {n} is less than 0."
                )));
            }
            let n = (n as usize).min(16 << 20);
            let rng = st.ctx.rng();
            let out: String = if set.is_empty() {
                (0..n).map(|_| (32 + rng.below(95) as u8) as char).collect()
            } else {
                let chars = set.as_bytes();
                (0..n)
                    .map(|_| chars[rng.below(chars.len() as u64) as usize] as char)
                    .collect()
            };
            s(out)
        });
    }
    f.pure("swapcase", &[Str], None, |a| {
        s(arg_str(&a[0])
            .chars()
            .flat_map(|c| {
                if c.is_uppercase() {
                    c.to_lowercase().collect::<Vec<_>>()
                } else if c.is_lowercase() {
                    c.to_uppercase().collect::<Vec<_>>()
                } else {
                    vec![c]
                }
            })
            .collect::<String>())
    });
    f.add("shuffle", &[Str], None, |st, a| {
        let mut chars: Vec<char> = arg_str(&a[0]).chars().collect();
        let rng = st.ctx.rng();
        for i in (1..chars.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            chars.swap(i, j);
        }
        s(chars.into_iter().collect::<String>())
    });
    f.pure("snakecase", &[Str], None, |a| s(to_lower_words(arg_str(&a[0]), '_')));
    f.pure("kebabcase", &[Str], None, |a| s(to_lower_words(arg_str(&a[0]), '-')));
    f.pure("camelcase", &[Str], None, |a| s(pascal_case(arg_str(&a[0]))));
    f.pure("wrap", &[Int, Str], None, |a| {
        s(wrap_custom(arg_str(&a[1]), arg_int(&a[0]), "", false))
    });
    f.pure("wrapWith", &[Int, Str, Str], None, |a| {
        s(wrap_custom(arg_str(&a[2]), arg_int(&a[0]), arg_str(&a[1]), true))
    });
    f.pure("contains", &[Str, Str], None, |a| {
        Ok(Value::Bool(arg_str(&a[1]).contains(arg_str(&a[0]))))
    });
    f.pure("hasPrefix", &[Str, Str], None, |a| {
        Ok(Value::Bool(arg_str(&a[1]).starts_with(arg_str(&a[0]))))
    });
    f.pure("hasSuffix", &[Str, Str], None, |a| {
        Ok(Value::Bool(arg_str(&a[1]).ends_with(arg_str(&a[0]))))
    });
    f.pure("quote", &[], Some(Any), |a| {
        let parts: Vec<String> = a.iter().filter(|v| !v.is_nil()).map(|v| quote_go(&strval(v))).collect();
        s(parts.join(" "))
    });
    f.pure("squote", &[], Some(Any), |a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| format!("'{}'", sprint_value(v)))
            .collect();
        s(parts.join(" "))
    });
    f.pure("cat", &[], Some(Any), |a| {
        let parts: Vec<String> = a.iter().filter(|v| !v.is_nil()).map(sprint_value).collect();
        s(parts.join(" "))
    });
    f.pure("indent", &[Int, Str], None, |a| {
        if arg_int(&a[0]) < 0 {
            return Err(FuncError::msg("strings: negative Repeat count"));
        }
        s(indent(arg_int(&a[0]), arg_str(&a[1])))
    });
    f.pure("nindent", &[Int, Str], None, |a| {
        if arg_int(&a[0]) < 0 {
            return Err(FuncError::msg("strings: negative Repeat count"));
        }
        s(format!("\n{}", indent(arg_int(&a[0]), arg_str(&a[1]))))
    });
    f.pure("replace", &[Str, Str, Str], None, |a| {
        let (old, new, src) = (arg_str(&a[0]), arg_str(&a[1]), arg_str(&a[2]));
        if old.is_empty() {
            // Go inserts `new` before every rune and at the end.
            let mut out = String::new();
            for c in src.chars() {
                out.push_str(new);
                out.push(c);
            }
            out.push_str(new);
            return s(out);
        }
        s(src.replace(old, new))
    });
    f.pure("plural", &[Str, Str, Int], None, |a| {
        s(if arg_int(&a[2]) == 1 {
            arg_str(&a[0])
        } else {
            arg_str(&a[1])
        })
    });
    f.pure("toString", &[Any], None, |a| s(strval(&a[0])));
    f.pure("split", &[Str, Str], None, |a| {
        Ok(split_map(go_split(arg_str(&a[1]), arg_str(&a[0]), -1)))
    });
    f.pure("splitn", &[Str, Int, Str], None, |a| {
        Ok(split_map(go_split(arg_str(&a[2]), arg_str(&a[0]), arg_int(&a[1]))))
    });
    f.pure("splitList", &[Str, Str], None, |a| {
        Ok(str_list(go_split(arg_str(&a[1]), arg_str(&a[0]), -1)))
    });
    f.pure("toStrings", &[Any], None, |a| Ok(str_list(strslice(&a[0]))));
    f.pure("join", &[Str, Any], None, |a| s(strslice(&a[1]).join(arg_str(&a[0]))));
    f.pure("sortAlpha", &[Any], None, |a| {
        let mut items = match list_items(&a[0]) {
            Some(_) => strslice(&a[0]),
            None => vec![strval(&a[0])],
        };
        items.sort();
        Ok(str_list(items))
    });
}

fn split_map(parts: Vec<String>) -> Value {
    let mut m = Map::new();
    for (i, p) in parts.into_iter().enumerate() {
        m.insert(format!("_{i}"), Value::from(p));
    }
    Value::Map(MapRef::new(m), MapType::String)
}

/// Go's `strings.SplitN` (n < 0: all).
pub fn go_split(s: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let chars: Vec<String> = s.chars().map(String::from).collect();
        if n > 0 && chars.len() as i64 > n {
            let mut out: Vec<String> = chars[..(n - 1) as usize].to_vec();
            let used: usize = out.iter().map(String::len).sum();
            out.push(s[used..].to_string());
            return out;
        }
        return chars;
    }
    if n < 0 {
        return s.split(sep).map(String::from).collect();
    }
    s.splitn(n as usize, sep).map(String::from).collect()
}

/// Sprig's `strslice`: a list's non-nil elements as strings, a scalar as a one-element list.
pub fn strslice(v: &Value) -> Vec<String> {
    match v {
        Value::List(l, ListType::String) => l.iter().map(strval).collect(),
        Value::List(l, _) => l.iter().filter(|x| !x.is_nil()).map(strval).collect(),
        Value::Bytes(b) => b.iter().map(|x| x.to_string()).collect(),
        Value::Nil => Vec::new(),
        other => vec![strval(other)],
    }
}

pub fn indent(spaces: i64, v: &str) -> String {
    let pad = " ".repeat(spaces.clamp(0, 1 << 20) as usize);
    let mut out = String::with_capacity(v.len() + pad.len() * 4);
    out.push_str(&pad);
    for (i, line) in v.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(&pad);
        }
        out.push_str(line);
    }
    out
}

fn title(st: &str) -> String {
    let is_sep = |r: char| {
        if r.is_ascii() {
            return !(r.is_ascii_alphanumeric() || r == '_');
        }
        if r.is_alphabetic() || r.is_numeric() {
            return false;
        }
        r.is_whitespace()
    };
    let mut prev = ' ';
    let mut out = String::with_capacity(st.len());
    for c in st.chars() {
        if is_sep(prev) {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev = c;
    }
    out
}

fn abbrev(width: i64, st: &str) -> String {
    if width < 4 {
        return st.to_string();
    }
    abbreviate_full(st, 0, width).unwrap_or_default()
}

fn abbreviate_full(st: &str, offset: i64, max: i64) -> Option<String> {
    if st.is_empty() {
        return Some(String::new());
    }
    if max < 4 {
        return None;
    }
    let len = st.len() as i64;
    if len <= max {
        return Some(st.to_string());
    }
    let mut offset = offset.min(len);
    if len - offset < max - 3 {
        offset = len - (max - 3);
    }
    if offset <= 4 {
        return Some(format!("{}...", byte_slice(st, 0, (max - 3) as usize)));
    }
    if max < 7 {
        return None;
    }
    if offset + max - 3 < len {
        let rest = byte_slice(st, offset as usize, st.len());
        return abbreviate_full(&rest, 0, max - 3).map(|a| format!("...{a}"));
    }
    Some(format!("...{}", byte_slice(st, (len - (max - 3)) as usize, st.len())))
}

/// goutils `WrapCustom`.
fn wrap_custom(st: &str, len: i64, newline: &str, wrap_long: bool) -> String {
    if st.is_empty() {
        return String::new();
    }
    let newline = if newline.is_empty() { "\n" } else { newline };
    let wrap = len.max(1) as usize;
    let b = st.as_bytes();
    let n = b.len();
    let mut offset = 0;
    let mut out: Vec<u8> = Vec::with_capacity(n + n / wrap.max(1) + 1);
    while n - offset > wrap {
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = (wrap + offset + 1).min(n);
        let space = b[offset..end].iter().rposition(|&c| c == b' ');
        if let Some(sp) = space {
            let at = sp + offset;
            out.extend_from_slice(&b[offset..at]);
            out.extend_from_slice(newline.as_bytes());
            offset = at + 1;
        } else if wrap_long {
            let end = wrap + offset;
            out.extend_from_slice(&b[offset..end]);
            out.extend_from_slice(newline.as_bytes());
            offset += wrap;
        } else {
            let end = wrap + offset;
            match b[end..].iter().position(|&c| c == b' ') {
                None => {
                    out.extend_from_slice(&b[offset..]);
                    offset = n;
                }
                Some(i) => {
                    let at = i + end;
                    out.extend_from_slice(&b[offset..at]);
                    out.extend_from_slice(newline.as_bytes());
                    offset = at + 1;
                }
            }
        }
    }
    out.extend_from_slice(&b[offset.min(n)..]);
    String::from_utf8_lossy(&out).into_owned()
}

fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || c.is_whitespace()
}

/// Go's `unicode.IsPunct` (category P); ASCII symbols such as `$+<=>^|~` are not punctuation.
fn is_punct(c: char) -> bool {
    if c.is_ascii() {
        return "!\"#%&'()*,-./:;?@[\\]_{}".contains(c);
    }
    matches!(c, '¡' | '§' | '«' | '¶' | '·' | '»' | '¿' | '‐'..='‧' | '‰'..='‸' | '、'..='〃' | '「'..='』')
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Word {
    Invalid,
    Number,
    Upper,
    Alpha,
    Connector,
    Punct,
    Other,
}

/// xstrings' `nextWord`: the next run of one word type.
fn next_word(s: &str) -> (Word, &str, &str) {
    let mut chars = s.char_indices().peekable();
    let Some((_, r)) = chars.next() else {
        return (Word::Invalid, "", "");
    };
    let mut end = r.len_utf8();
    let take_while = |end: &mut usize, f: &dyn Fn(char) -> bool| {
        for c in s[*end..].chars() {
            if !f(c) {
                break;
            }
            *end += c.len_utf8();
        }
    };
    let wt = if is_connector(r) {
        take_while(&mut end, &is_connector);
        Word::Connector
    } else if is_punct(r) {
        take_while(&mut end, &is_punct);
        Word::Punct
    } else if r.is_uppercase() {
        if let Some(n) = s[end..].chars().next() {
            if n.is_uppercase() {
                let mut prev = n.len_utf8();
                end += prev;
                let mut stopped_alpha = false;
                for c in s[end..].chars() {
                    if !c.is_uppercase() {
                        stopped_alpha = c.is_alphabetic();
                        break;
                    }
                    prev = c.len_utf8();
                    end += prev;
                }
                if stopped_alpha {
                    end -= prev;
                }
            } else if n.is_alphabetic() {
                end += n.len_utf8();
                take_while(&mut end, &|c: char| c.is_alphabetic() && !c.is_uppercase());
            }
        }
        Word::Upper
    } else if r.is_alphabetic() {
        take_while(&mut end, &|c: char| c.is_alphabetic() && !c.is_uppercase());
        Word::Alpha
    } else if r.is_numeric() {
        take_while(&mut end, &|c: char| c.is_numeric());
        Word::Number
    } else {
        take_while(&mut end, &|c: char| {
            !(is_connector(c) || c.is_alphabetic() || c.is_numeric() || is_punct(c))
        });
        Word::Other
    };
    (wt, &s[..end], &s[end..])
}

fn push_lower(buf: &mut String, wt: Word, word: &str, connector: char) {
    if wt != Word::Upper && wt != Word::Connector {
        buf.push_str(word);
        return;
    }
    for c in word.chars() {
        if is_connector(c) {
            buf.push(connector);
        } else if c.is_uppercase() {
            buf.push_str(&go_lower(&c.to_string()));
        } else {
            buf.push(c);
        }
    }
}

/// xstrings' `camelCaseToLowerCase` (snakecase, kebabcase).
fn to_lower_words(s: &str, connector: char) -> String {
    if s.is_empty() {
        return String::new();
    }
    let mut buf = String::with_capacity(s.len() + 4);
    let (mut wt, mut word, mut remaining) = next_word(s);
    while !remaining.is_empty() {
        if wt != Word::Connector {
            push_lower(&mut buf, wt, word, connector);
        }
        let prev = wt;
        let last = word;
        (wt, word, remaining) = next_word(remaining);
        match prev {
            Word::Number => {
                while wt == Word::Alpha || wt == Word::Number {
                    push_lower(&mut buf, wt, word, connector);
                    (wt, word, remaining) = next_word(remaining);
                }
                if wt != Word::Invalid && wt != Word::Punct && wt != Word::Connector {
                    buf.push(connector);
                }
            }
            Word::Connector => push_lower(&mut buf, prev, last, connector),
            Word::Punct => {}
            _ => {
                if wt != Word::Number {
                    if wt != Word::Connector && wt != Word::Punct {
                        buf.push(connector);
                    }
                    continue;
                }
                if remaining.is_empty() {
                    continue;
                }
                let last = word;
                (wt, word, remaining) = next_word(remaining);
                if wt != Word::Alpha {
                    push_lower(&mut buf, Word::Number, last, connector);
                    if wt != Word::Connector && wt != Word::Punct {
                        buf.push(connector);
                    }
                    continue;
                }
                buf.push(connector);
                push_lower(&mut buf, Word::Number, last, connector);
                while wt == Word::Alpha || wt == Word::Number {
                    push_lower(&mut buf, wt, word, connector);
                    (wt, word, remaining) = next_word(remaining);
                }
                if wt != Word::Invalid && wt != Word::Connector && wt != Word::Punct {
                    buf.push(connector);
                }
            }
        }
    }
    push_lower(&mut buf, wt, word, connector);
    buf
}

/// xstrings' `ToPascalCase` (Sprig's `camelcase`): connectors dropped, the rune after one
/// upper-cased, repeated connectors kept.
fn pascal_case(s: &str) -> String {
    let mut chars = s.chars();
    let mut buf = String::with_capacity(s.len());
    let mut r0 = None;
    for c in chars.by_ref() {
        if !is_connector(c) {
            r0 = Some(go_upper(&c.to_string()));
            break;
        }
        buf.push(c);
    }
    let Some(first) = r0 else {
        return buf;
    };
    let mut r0: String = first;
    let mut r0_conn = false;
    for c in chars {
        let (r1, r1_conn) = (std::mem::take(&mut r0), r0_conn);
        let c_conn = is_connector(c);
        if c_conn && r1_conn {
            buf.push_str(&r1);
            r0 = c.to_string();
            r0_conn = true;
            continue;
        }
        if r1_conn {
            r0 = go_upper(&c.to_string());
        } else {
            buf.push_str(&r1);
            r0 = c.to_string();
        }
        r0_conn = c_conn;
    }
    buf.push_str(&r0);
    buf
}

/// Go's `strings.ToUpper`: per-rune simple case mapping (`ß` stays `ß`).
pub fn go_upper(st: &str) -> String {
    st.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

/// Go's `strings.ToLower`: per-rune simple case mapping.
pub fn go_lower(st: &str) -> String {
    st.chars()
        .map(|c| {
            let mut low = c.to_lowercase();
            match (low.next(), low.next()) {
                (Some(l), None) => l,
                (Some(l), Some(_)) if c == '\u{130}' => l,
                _ => c,
            }
        })
        .collect()
}
