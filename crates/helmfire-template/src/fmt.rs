//! Go's `fmt` as templates observe it: `print`/`printf`/`println`, `%v` value formatting
//! (`map[a:1 b:2]`, `[a b]`, `<nil>`), verbs with flags, width and precision, and the
//! `%!d(float64=1.5)` text for mismatched verbs. Also `strconv.Quote` and Go type names.

use helmfire_value::number::format_float;
use helmfire_value::{IntType, ListType, MapType, Value};

/// Go's `strconv.Quote`.
pub fn quote_go(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped(&mut out, c, '"', false);
    }
    out.push('"');
    out
}

/// Go's `strconv.QuoteToASCII` (`%+q`).
pub fn quote_ascii(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        push_escaped(&mut out, c, '"', true);
    }
    out.push('"');
    out
}

fn push_escaped(out: &mut String, c: char, quote: char, ascii: bool) {
    match c {
        _ if c == quote || c == '\\' => {
            out.push('\\');
            out.push(c);
        }
        '\x07' => out.push_str("\\a"),
        '\x08' => out.push_str("\\b"),
        '\x0c' => out.push_str("\\f"),
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\x0b' => out.push_str("\\v"),
        '\u{FFFD}' if !ascii => out.push(c),
        _ if ascii && !c.is_ascii() => {
            let v = c as u32;
            if v < 0x10000 {
                out.push_str(&format!("\\u{v:04x}"));
            } else {
                out.push_str(&format!("\\U{v:08x}"));
            }
        }
        _ if is_print(c) => out.push(c),
        _ => {
            let v = c as u32;
            if v < 0x80 {
                out.push_str(&format!("\\x{v:02x}"));
            } else if v < 0x10000 {
                out.push_str(&format!("\\u{v:04x}"));
            } else {
                out.push_str(&format!("\\U{v:08x}"));
            }
        }
    }
}

/// Go's `strconv.IsPrint` approximated: letters, marks, numbers, punctuation, symbols and
/// the ASCII space are printable; controls, format characters and other spaces are not.
fn is_print(c: char) -> bool {
    if c.is_ascii() {
        return (' '..='~').contains(&c);
    }
    !(c.is_control()
        || c.is_whitespace()
        || matches!(c as u32, 0xAD | 0x600..=0x605 | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064 | 0xFEFF | 0xFFF9..=0xFFFB | 0xE000..=0xF8FF | 0xF0000..)
        || (0xD800..=0xDFFF).contains(&(c as u32)))
}

/// `%#U`: `U+0041 'A'`.
pub fn unicode_sharp(c: char) -> String {
    if is_print(c) {
        format!("U+{:04X} '{}'", c as u32, c)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

/// The Go type as `%T` prints it.
pub fn type_name(v: &Value) -> String {
    match v {
        Value::Nil => "<nil>".into(),
        Value::Bool(_) => "bool".into(),
        Value::Int(_, t) => int_type_name(*t).into(),
        Value::Float(_) => "float64".into(),
        Value::String(_) => "string".into(),
        Value::Bytes(_) => "[]uint8".into(),
        Value::List(_, t) => match t {
            ListType::Interface => "[]interface {}".into(),
            ListType::String => "[]string".into(),
            ListType::Int => "[]int".into(),
            ListType::InterfaceLists => "[][]interface {}".into(),
            ListType::VersionSet => "common.VersionSet".into(),
        },
        Value::Map(_, t) => match t {
            MapType::Interface => "map[string]interface {}".into(),
            MapType::String => "map[string]string".into(),
            MapType::Values => "common.Values".into(),
        },
        Value::Object(o) => o.type_name().to_string(),
    }
}

pub fn int_type_name(t: IntType) -> &'static str {
    match t {
        IntType::Int => "int",
        IntType::Int8 => "int8",
        IntType::Int16 => "int16",
        IntType::Int32 => "int32",
        IntType::Int64 => "int64",
        IntType::Uint => "uint",
        IntType::Uint8 => "uint8",
        IntType::Uint16 => "uint16",
        IntType::Uint32 => "uint32",
        IntType::Uint64 => "uint64",
    }
}

fn is_unsigned(t: IntType) -> bool {
    matches!(
        t,
        IntType::Uint | IntType::Uint8 | IntType::Uint16 | IntType::Uint32 | IntType::Uint64
    )
}

/// `fmt.Sprint(v)` for one value: `%v`.
pub fn sprint_value(v: &Value) -> String {
    let mut out = String::new();
    write_value(&mut out, v, 'v', &Flags::default(), 0);
    out
}

/// `fmt.Sprint(args...)`: spaces between operands when neither side is a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !matches!(a, Value::String(_)) && !matches!(args[i - 1], Value::String(_)) {
            out.push(' ');
        }
        write_value(&mut out, a, 'v', &Flags::default(), 0);
    }
    out
}

/// `fmt.Sprintln(args...)`.
pub fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        write_value(&mut out, a, 'v', &Flags::default(), 0);
    }
    out.push('\n');
    out
}

#[derive(Default, Clone)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// `fmt.Sprintf(format, args...)`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut arg_i = 0;
    let bytes = format.as_bytes();
    let mut i = 0;
    let mut reordered = false;
    while i < bytes.len() {
        let start = i;
        while i < bytes.len() && bytes[i] != b'%' {
            i += 1;
        }
        out.push_str(&format[start..i]);
        if i >= bytes.len() {
            break;
        }
        i += 1;
        let mut f = Flags::default();
        while i < bytes.len() {
            match bytes[i] {
                b'+' => f.plus = true,
                b'-' => {
                    f.minus = true;
                    f.zero = false;
                }
                b'#' => f.sharp = true,
                b' ' => f.space = true,
                b'0' => f.zero = !f.minus,
                _ => break,
            }
            i += 1;
        }
        // Width.
        if i < bytes.len() && bytes[i] == b'*' {
            i += 1;
            match args.get(arg_i) {
                Some(Value::Int(n, _)) => {
                    let n = *n;
                    if n < 0 {
                        f.minus = true;
                        f.zero = false;
                    }
                    f.width = Some(n.unsigned_abs() as usize);
                }
                _ => out.push_str("%!(BADWIDTH)"),
            }
            arg_i += 1;
        } else {
            let s = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if i > s {
                f.width = format[s..i].parse().ok().filter(|&w: &usize| w < 1_000_000);
            }
        }
        if i < bytes.len() && bytes[i] == b'.' {
            i += 1;
            if i < bytes.len() && bytes[i] == b'*' {
                i += 1;
                match args.get(arg_i) {
                    Some(Value::Int(n, _)) if *n >= 0 => f.prec = Some(*n as usize),
                    _ => out.push_str("%!(BADPREC)"),
                }
                arg_i += 1;
            } else {
                let s = i;
                while i < bytes.len() && bytes[i].is_ascii_digit() {
                    i += 1;
                }
                f.prec = Some(format[s..i].parse().unwrap_or(0).min(1_000_000));
            }
        }
        if i < bytes.len() && bytes[i] == b'[' {
            // Explicit argument indexes: rare in charts; Go supports them.
            if let Some(end) = format[i..].find(']') {
                if let Ok(n) = format[i + 1..i + end].parse::<usize>()
                    && n >= 1
                {
                    arg_i = n - 1;
                    reordered = true;
                }
                i += end + 1;
            }
        }
        let Some(verb) = format[i..].chars().next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        i += verb.len_utf8();
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(arg_i) else {
            out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        arg_i += 1;
        format_arg(&mut out, arg, verb, &f);
    }
    if !reordered && arg_i < args.len() {
        out.push_str("%!(EXTRA ");
        for (k, a) in args[arg_i..].iter().enumerate() {
            if k > 0 {
                out.push_str(", ");
            }
            if a.is_nil() {
                out.push_str("<nil>");
            } else {
                out.push_str(&type_name(a));
                out.push('=');
                write_value(&mut out, a, 'v', &Flags::default(), 0);
            }
        }
        out.push(')');
    }
    out
}

fn format_arg(out: &mut String, arg: &Value, verb: char, f: &Flags) {
    // `%+v` sets Go's plusV (field names for structs), not a sign flag.
    let plain;
    let f = if verb == 'v' && f.plus {
        plain = Flags {
            plus: false,
            ..f.clone()
        };
        &plain
    } else {
        f
    };
    if verb == 'T' {
        pad(out, &type_name(arg), f, false);
        return;
    }
    if arg.is_nil() {
        if verb == 'v' {
            pad(out, "<nil>", f, false);
        } else {
            out.push_str(&format!("%!{verb}(<nil>)"));
        }
        return;
    }
    write_value(out, arg, verb, f, 0);
}

fn bad_verb(out: &mut String, v: &Value, verb: char, f: &Flags) {
    out.push_str(&format!("%!{verb}("));
    out.push_str(&type_name(v));
    out.push('=');
    write_value(out, v, 'v', f, 0);
    out.push(')');
}

fn pad(out: &mut String, s: &str, f: &Flags, numeric: bool) {
    let len = s.chars().count();
    let Some(w) = f.width.filter(|&w| w > len) else {
        out.push_str(s);
        return;
    };
    let fill = w - len;
    if f.minus {
        out.push_str(s);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if f.zero && numeric {
        // Zero padding goes after the sign.
        let (sign, rest) = match s.chars().next() {
            Some(c @ ('+' | '-' | ' ')) => (Some(c), &s[1..]),
            _ => (None, s),
        };
        if let Some(c) = sign {
            out.push(c);
        }
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(rest);
    } else if f.zero && !numeric {
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(s);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(s);
    }
}

fn write_value(out: &mut String, v: &Value, verb: char, f: &Flags, depth: usize) {
    if verb == 'v' && f.sharp && !matches!(v, Value::Object(_)) {
        write_sharp_v(out, v, depth);
        return;
    }
    match v {
        Value::Nil => {
            if depth > 0 || verb == 'v' {
                pad(out, "<nil>", f, false);
            } else {
                out.push_str(&format!("%!{verb}(<nil>)"));
            }
        }
        Value::Bool(b) => match verb {
            'v' | 't' => pad(out, if *b { "true" } else { "false" }, f, false),
            _ => bad_verb(out, v, verb, f),
        },
        Value::Int(i, t) => write_int(out, v, *i, *t, verb, f),
        Value::Float(x) => write_float(out, v, *x, verb, f),
        Value::String(s) => write_string(out, v, s, verb, f),
        Value::Bytes(b) => match verb {
            's' => write_string(out, v, &String::from_utf8_lossy(b), verb, f),
            'x' | 'X' | 'q' => write_string(out, v, &String::from_utf8_lossy(b), verb, f),
            _ => {
                out.push('[');
                for (k, byte) in b.iter().enumerate() {
                    if k > 0 {
                        out.push(' ');
                    }
                    write_int(out, v, *byte as i64, IntType::Uint8, verb, f);
                }
                out.push(']');
            }
        },
        Value::List(items, _) => {
            out.push('[');
            for (k, item) in items.iter().enumerate() {
                if k > 0 {
                    out.push(' ');
                }
                write_value(out, item, verb, f, depth + 1);
            }
            out.push(']');
        }
        Value::Map(m, _) => {
            out.push_str("map[");
            for (k, (key, val)) in m.read().iter().enumerate() {
                if k > 0 {
                    out.push(' ');
                }
                write_string(out, &Value::Nil, key, verb, f);
                out.push(':');
                write_value(out, val, verb, f, depth + 1);
            }
            out.push(']');
        }
        Value::Object(o) if matches!(verb, 'v' | 's') && f.width.is_none() && f.prec.is_none() => {
            if !o.write_string(out) {
                write_value(out, &o.to_plain(), verb, f, depth)
            }
        }
        Value::Object(o) => match o.string() {
            Some(s) => write_string(out, v, &s, verb, f),
            None => write_value(out, &o.to_plain(), verb, f, depth),
        },
    }
}

/// Go's `%#v`: the value as Go syntax (`[]interface {}{"a", 1}`, `map[string]string{"k":"v"}`).
/// Helm's values hold no structs, so nothing else needs field syntax.
fn write_sharp_v(out: &mut String, v: &Value, depth: usize) {
    match v {
        Value::Nil if depth == 0 => out.push_str("<nil>"),
        Value::Nil => out.push_str("interface {}(nil)"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i, t) if is_unsigned(*t) => out.push_str(&format!("{:#x}", *i as u64)),
        Value::Int(i, _) => out.push_str(&i.to_string()),
        Value::Float(x) => write_float(out, v, *x, 'v', &Flags::default()),
        Value::String(s) => out.push_str(&quote_go(s)),
        Value::Bytes(b) => {
            out.push_str(if depth == 0 { "[]byte{" } else { "[]uint8{" });
            for (k, byte) in b.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                out.push_str(&format!("{byte:#x}"));
            }
            out.push('}');
        }
        Value::List(items, _) => {
            out.push_str(&type_name(v));
            out.push('{');
            for (k, item) in items.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                write_sharp_v(out, item, depth + 1);
            }
            out.push('}');
        }
        Value::Map(m, _) => {
            out.push_str(&type_name(v));
            out.push('{');
            for (k, (key, val)) in m.read().iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                out.push_str(&quote_go(key));
                out.push(':');
                write_sharp_v(out, val, depth + 1);
            }
            out.push('}');
        }
        Value::Object(o) => match o.string() {
            Some(s) => out.push_str(&quote_go(&s)),
            None => write_sharp_v(out, &o.to_plain(), depth),
        },
    }
}

fn write_string(out: &mut String, v: &Value, s: &str, verb: char, f: &Flags) {
    let s: &str = match f.prec {
        Some(p) if matches!(verb, 'v' | 's' | 'q' | 'x' | 'X') => match s.char_indices().nth(p) {
            Some((idx, _)) => &s[..idx],
            None => s,
        },
        _ => s,
    };
    match verb {
        'v' | 's' => pad(out, s, f, false),
        'q' => {
            let q = if f.sharp && !s.contains('`') {
                format!("`{s}`")
            } else if f.plus {
                quote_ascii(s)
            } else {
                quote_go(s)
            };
            pad(out, &q, f, false)
        }
        'x' | 'X' => {
            let mut h = String::new();
            for (k, b) in s.bytes().enumerate() {
                if f.space && k > 0 {
                    h.push(' ');
                }
                if f.sharp && (f.space || k == 0) {
                    h.push_str(if verb == 'x' { "0x" } else { "0X" });
                }
                if verb == 'x' {
                    h.push_str(&format!("{b:02x}"));
                } else {
                    h.push_str(&format!("{b:02X}"));
                }
            }
            pad(out, &h, f, false)
        }
        _ => bad_verb(out, v, verb, f),
    }
}

fn write_int(out: &mut String, v: &Value, i: i64, t: IntType, verb: char, f: &Flags) {
    let unsigned = is_unsigned(t);
    let neg = i < 0 && !unsigned;
    let mag: u64 = if unsigned { i as u64 } else { i.unsigned_abs() };
    let digits = match verb {
        'v' | 'd' => mag.to_string(),
        'b' => format!("{mag:b}"),
        'o' | 'O' => format!("{mag:o}"),
        'x' => format!("{mag:x}"),
        'X' => format!("{mag:X}"),
        'c' => {
            let c = char::from_u32(mag as u32).unwrap_or('\u{FFFD}');
            return pad(out, &c.to_string(), f, false);
        }
        'q' => {
            let c = char::from_u32(mag as u32).unwrap_or('\u{FFFD}');
            let mut s = String::from("'");
            push_escaped(&mut s, c, '\'', f.plus);
            s.push('\'');
            return pad(out, &s, f, false);
        }
        'U' => {
            let s = format!("U+{mag:04X}");
            return pad(out, &s, f, false);
        }
        'e' | 'E' | 'f' | 'F' | 'g' | 'G' | 's' | 't' => return bad_verb(out, v, verb, f),
        _ => return bad_verb(out, v, verb, f),
    };
    let mut digits = digits;
    if let Some(p) = f.prec {
        if p == 0 && mag == 0 {
            digits.clear();
        }
        while digits.len() < p {
            digits.insert(0, '0');
        }
    }
    let prefix = match verb {
        'b' if f.sharp => "0b",
        'o' if f.sharp => "0",
        'O' => "0o",
        'x' if f.sharp => "0x",
        'X' if f.sharp => "0X",
        _ => "",
    };
    let sign = if neg {
        "-"
    } else if f.plus {
        "+"
    } else if f.space {
        " "
    } else {
        ""
    };
    let s = format!("{sign}{prefix}{digits}");
    let mut ff = f.clone();
    if f.prec.is_some() {
        ff.zero = false;
    }
    pad(out, &s, &ff, true)
}

fn write_float(out: &mut String, v: &Value, x: f64, verb: char, f: &Flags) {
    let prec = f.prec.map(|p| p as i32).unwrap_or(-1);
    let mut s = match verb {
        'v' | 'g' => format_float(x, 'g', prec),
        'G' => format_float(x, 'G', prec),
        'e' => format_float(x, 'e', if prec < 0 { 6 } else { prec }),
        'E' => format_float(x, 'E', if prec < 0 { 6 } else { prec }),
        'f' | 'F' => format_float(x, 'f', if prec < 0 { 6 } else { prec }),
        'x' | 'X' => hex_float(x, prec, verb == 'X'),
        _ => return bad_verb(out, v, verb, f),
    };
    if x.is_infinite() || x.is_nan() {
        s = if x.is_nan() {
            "NaN".into()
        } else if x > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
        if x > 0.0 && !f.plus && !x.is_nan() {
            s = if f.space { " Inf".into() } else { "Inf".into() };
        }
        let mut ff = f.clone();
        ff.zero = false;
        return pad(out, &s, &ff, true);
    }
    if f.plus && !s.starts_with('-') {
        s.insert(0, '+');
    } else if f.space && !s.starts_with('-') {
        s.insert(0, ' ');
    }
    pad(out, &s, f, true)
}

/// `strconv.FormatFloat(x, 'x', prec, 64)`: `0x1.8p+00`.
fn hex_float(x: f64, prec: i32, upper: bool) -> String {
    if x.is_nan() || x.is_infinite() {
        return format_float(x, 'g', -1);
    }
    let neg = x.is_sign_negative();
    let bits = x.abs().to_bits();
    let mut exp = ((bits >> 52) & 0x7ff) as i32;
    let mut mant = bits & ((1u64 << 52) - 1);
    if exp == 0 && mant == 0 {
        exp = 0;
    } else if exp == 0 {
        // Subnormal: normalise so the leading 1 is implicit.
        exp = -1022;
        while mant & (1u64 << 52) == 0 {
            mant <<= 1;
            exp -= 1;
        }
        mant &= (1u64 << 52) - 1;
    } else {
        exp -= 1023;
    }
    let lead = if x == 0.0 { 0 } else { 1 };
    // 52 fraction bits = 13 hex digits.
    let mut frac = format!("{mant:013x}");
    if prec < 0 {
        frac = frac.trim_end_matches('0').to_string();
    } else {
        let p = prec as usize;
        if p < 13 {
            // Round half to even on the dropped bits.
            let shift = (13 - p) * 4;
            let full = (1u64 << 52) | mant;
            let mut kept = full >> shift;
            let rem = full & ((1u64 << shift) - 1);
            let half = 1u64 << (shift - 1);
            if rem > half || (rem == half && kept & 1 == 1) {
                kept += 1;
            }
            let lead_digit = kept >> (p * 4);
            if lead_digit > 1 {
                kept >>= 1;
                exp += 1;
            }
            let mask = if p == 0 { 0 } else { (1u64 << (p * 4)) - 1 };
            frac = if p == 0 {
                String::new()
            } else {
                format!("{:0w$x}", kept & mask, w = p)
            };
        } else {
            frac.push_str(&"0".repeat(p - 13));
        }
    }
    let mut s = String::new();
    if neg {
        s.push('-');
    }
    s.push_str(&format!("0x{lead}"));
    if !frac.is_empty() {
        s.push('.');
        s.push_str(&frac);
    }
    let sign = if exp < 0 { '-' } else { '+' };
    s.push_str(&format!("p{sign}{:02}", exp.unsigned_abs()));
    if upper { s.to_uppercase() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;
    use helmfire_value::Map;

    #[test]
    fn formats_like_go() {
        let mut m = Map::new();
        m.insert("b".into(), Value::Float(2.0));
        m.insert("a".into(), Value::Float(1000000.0));
        assert_eq!(sprint_value(&Value::map(m)), "map[a:1e+06 b:2]");
        assert_eq!(sprintf("%d", &[Value::Float(1.5)]), "%!d(float64=1.5)");
        assert_eq!(sprintf("%s", &[Value::Nil]), "%!s(<nil>)");
        assert_eq!(
            sprintf(
                "%05.1f|%-4d|%x",
                &[Value::Float(3.25159), Value::int64(7), Value::from("hi")]
            ),
            "003.3|7   |6869"
        );
        assert_eq!(sprintf("%d %d", &[Value::int64(1)]), "1 %!d(MISSING)");
        assert_eq!(sprint(&[Value::int64(1), Value::int64(2), Value::from("a")]), "1 2a");
        assert_eq!(quote_go("a\"\n\u{1}é"), "\"a\\\"\\n\\x01é\"");
    }
}
