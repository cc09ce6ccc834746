//! go-yaml v2's implicit tag resolution (`resolve.go`): what a plain scalar means under YAML 1.1.
//!
//! Both directions need it: the decoder turns `yes`, `0777` or `.inf` into Go values, and the
//! encoder quotes every string that would read back as something other than a string. Go's
//! `strconv.ParseInt(s, 0, 64)`, `ParseUint` and `time.Parse` rules are reproduced here because
//! they, not the YAML spec, decide which spellings count.

/// What a scalar resolves to, as go-yaml v2's `resolve` returns it for an untagged plain scalar.
#[derive(Clone, Debug, PartialEq)]
pub enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    /// A timestamp; decoding into `interface{}` keeps the original text.
    Timestamp,
    Str,
}

/// `resolve("", in)` of go-yaml v2.
pub fn resolve_plain(input: &str) -> Resolved {
    let Some(&first) = input.as_bytes().first() else {
        return Resolved::Null;
    };
    match first {
        b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~' => {
            resolve_word(input).unwrap_or(Resolved::Str)
        }
        b'.' => {
            if let Some(word) = resolve_word(input) {
                return word;
            }
            match parse_go_float(input) {
                Some(f) => Resolved::Float(f),
                None => Resolved::Str,
            }
        }
        b'+' | b'-' | b'0'..=b'9' => {
            if let Some(word) = resolve_word(input) {
                return word;
            }
            resolve_number(input)
        }
        _ => Resolved::Str,
    }
}

/// The fixed spellings of `resolveMap`.
fn resolve_word(input: &str) -> Option<Resolved> {
    Some(match input {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Resolved::Bool(true),
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Resolved::Bool(false),
        "~" | "null" | "Null" | "NULL" => Resolved::Null,
        ".nan" | ".NaN" | ".NAN" => Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Resolved::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Resolved::Float(f64::NEG_INFINITY),
        _ => return None,
    })
}

fn resolve_number(input: &str) -> Resolved {
    if parse_timestamp(input) {
        return Resolved::Timestamp;
    }
    let plain: std::borrow::Cow<str> = match input.contains('_') {
        true => input.chars().filter(|&c| c != '_').collect::<String>().into(),
        false => input.into(),
    };
    if let Some(i) = parse_go_int(&plain) {
        return Resolved::Int(i);
    }
    if let Some(u) = parse_go_uint(&plain) {
        return Resolved::Uint(u);
    }
    if is_yaml_style_float(&plain)
        && let Some(f) = parse_go_float(&plain)
    {
        return Resolved::Float(f);
    }
    if let Some(rest) = plain.strip_prefix("0b") {
        if let Some(i) = parse_digits(rest, 2).and_then(|u| i64::try_from(u).ok()) {
            return Resolved::Int(i);
        }
        if let Some(u) = parse_digits(rest, 2) {
            return Resolved::Uint(u);
        }
    } else if let Some(rest) = plain.strip_prefix("-0b")
        && let Some(i) = parse_digits(rest, 2).and_then(|u| negate(u, false))
    {
        return Resolved::Int(i);
    }
    Resolved::Str
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
pub(crate) fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Digits in `base` without sign or prefix; `None` when empty, invalid or above `u64::MAX`.
fn parse_digits(s: &str, base: u32) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let mut value: u64 = 0;
    for c in s.chars() {
        let d = c.to_digit(base)?;
        value = value.checked_mul(u64::from(base))?.checked_add(u64::from(d))?;
    }
    Some(value)
}

/// `strconv.ParseUint(s, 0, 64)` (underscores already removed by the caller).
pub(crate) fn parse_go_uint(s: &str) -> Option<u64> {
    let (base, digits) = if let Some(r) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (16, r)
    } else if let Some(r) = s.strip_prefix("0o").or_else(|| s.strip_prefix("0O")) {
        (8, r)
    } else if let Some(r) = s.strip_prefix("0b").or_else(|| s.strip_prefix("0B")) {
        (2, r)
    } else if s.len() > 1 && s.starts_with('0') {
        (8, &s[1..])
    } else {
        (10, s)
    };
    parse_digits(digits, base)
}

fn negate(magnitude: u64, positive: bool) -> Option<i64> {
    if positive {
        i64::try_from(magnitude).ok()
    } else if magnitude == 1u64 << 63 {
        Some(i64::MIN)
    } else {
        i64::try_from(magnitude).ok().map(|m| -m)
    }
}

/// `strconv.ParseInt(s, 0, 64)`.
pub(crate) fn parse_go_int(s: &str) -> Option<i64> {
    let (positive, rest) = match s.as_bytes().first() {
        Some(b'+') => (true, &s[1..]),
        Some(b'-') => (false, &s[1..]),
        _ => (true, s),
    };
    negate(parse_go_uint(rest)?, positive)
}

/// `strconv.ParseFloat(s, 64)` for the decimal forms YAML can reach; out of range is an error
/// (Go returns `±Inf` with `ErrRange`, which go-yaml treats as "not a float").
pub(crate) fn parse_go_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = 0;
    if matches!(b.first(), Some(b'-' | b'+')) {
        i += 1;
    }
    let mut mantissa_digits = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
        mantissa_digits += 1;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
            mantissa_digits += 1;
        }
    }
    if mantissa_digits == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'-' | b'+')) {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    f.is_finite().then_some(f)
}

/// `^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$`: YAML 1.1 sexagesimal numbers, which
/// go-yaml v2 quotes when encoding although it does not decode them.
pub(crate) fn is_base60_float(s: &str) -> bool {
    let b = s.as_bytes();
    let Some(&c) = b.first() else { return false };
    if !(c == b'+' || c == b'-' || c.is_ascii_digit()) || !s.contains(':') {
        return false;
    }
    let mut i = usize::from(c == b'+' || c == b'-');
    if !b.get(i).is_some_and(u8::is_ascii_digit) {
        return false;
    }
    i += 1;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        i += 1;
    }
    let mut groups = 0;
    while b.get(i) == Some(&b':') {
        i += 1;
        // [0-5]?[0-9]
        let d1 = b.get(i).copied();
        let d2 = b.get(i + 1).copied();
        match (d1, d2) {
            (Some(x), Some(y)) if (b'0'..=b'5').contains(&x) && y.is_ascii_digit() => i += 2,
            (Some(x), _) if x.is_ascii_digit() => i += 1,
            _ => return false,
        }
        groups += 1;
    }
    if groups == 0 {
        return false;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
            i += 1;
        }
    }
    i == b.len()
}

/// go-yaml v2's `parseTimestamp`: four digits and `-`, then one of the accepted `time.Parse`
/// layouts.
pub(crate) fn parse_timestamp(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    if digits != 4 || b.get(4) != Some(&b'-') {
        return false;
    }
    [Layout::T, Layout::LowerT, Layout::Space, Layout::DateOnly]
        .into_iter()
        .any(|layout| parse_layout(b, layout))
}

#[derive(Clone, Copy, PartialEq)]
enum Layout {
    /// `2006-1-2T15:4:5.999999999Z07:00`
    T,
    /// `2006-1-2t15:4:5.999999999Z07:00`
    LowerT,
    /// `2006-1-2 15:4:5.999999999`
    Space,
    /// `2006-1-2`
    DateOnly,
}

/// Go's `getnum(s, false)`: one or two digits.
fn getnum(b: &[u8], pos: &mut usize) -> Option<u32> {
    let d1 = *b.get(*pos).filter(|c| c.is_ascii_digit())?;
    *pos += 1;
    match b.get(*pos).filter(|c| c.is_ascii_digit()) {
        Some(&d2) => {
            *pos += 1;
            Some(u32::from(d1 - b'0') * 10 + u32::from(d2 - b'0'))
        }
        None => Some(u32::from(d1 - b'0')),
    }
}

fn days_in(month: u32, year: u32) -> u32 {
    match month {
        2 if (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn parse_layout(b: &[u8], layout: Layout) -> bool {
    let year: u32 = b[..4].iter().fold(0, |a, d| a * 10 + u32::from(d - b'0'));
    let mut pos = 5;
    let Some(month) = getnum(b, &mut pos) else { return false };
    if b.get(pos) != Some(&b'-') {
        return false;
    }
    pos += 1;
    let Some(day) = getnum(b, &mut pos) else { return false };
    if !(1..=12).contains(&month) || day < 1 || day > days_in(month, year) {
        return false;
    }
    if layout == Layout::DateOnly {
        return pos == b.len();
    }
    match layout {
        Layout::T if b.get(pos) == Some(&b'T') => pos += 1,
        Layout::LowerT if b.get(pos) == Some(&b't') => pos += 1,
        Layout::Space => {
            // time.Parse's `skip`: a layout space matches one or more spaces.
            if b.get(pos) != Some(&b' ') {
                return false;
            }
            while b.get(pos) == Some(&b' ') {
                pos += 1;
            }
        }
        _ => return false,
    }
    let Some(hour) = getnum(b, &mut pos) else { return false };
    if hour >= 24 || b.get(pos) != Some(&b':') {
        return false;
    }
    pos += 1;
    let Some(minute) = getnum(b, &mut pos) else {
        return false;
    };
    if minute >= 60 || b.get(pos) != Some(&b':') {
        return false;
    }
    pos += 1;
    let Some(second) = getnum(b, &mut pos) else {
        return false;
    };
    if second >= 60 {
        return false;
    }
    // Optional fraction: `.` or `,` then any number of digits.
    if matches!(b.get(pos), Some(b'.' | b',')) && b.get(pos + 1).is_some_and(u8::is_ascii_digit) {
        pos += 1;
        while b.get(pos).is_some_and(u8::is_ascii_digit) {
            pos += 1;
        }
    }
    if layout == Layout::Space {
        return pos == b.len();
    }
    // Z07:00
    match b.get(pos) {
        Some(b'Z') => pos + 1 == b.len(),
        Some(&sign) => {
            let rest = &b[pos..];
            if rest.len() != 6 || rest[3] != b':' || !(sign == b'+' || sign == b'-') {
                return false;
            }
            let two = |x: &[u8]| -> Option<u32> {
                (x[0].is_ascii_digit() && x[1].is_ascii_digit())
                    .then(|| u32::from(x[0] - b'0') * 10 + u32::from(x[1] - b'0'))
            };
            matches!((two(&rest[1..3]), two(&rest[4..6])), (Some(h), Some(m)) if h <= 24 && m <= 60)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_1_1_words() {
        assert_eq!(resolve_plain("yes"), Resolved::Bool(true));
        assert_eq!(resolve_plain("Off"), Resolved::Bool(false));
        assert_eq!(resolve_plain("yEs"), Resolved::Str);
        assert_eq!(resolve_plain(""), Resolved::Null);
        assert_eq!(resolve_plain("~"), Resolved::Null);
        // `<` has no entry in go-yaml's hint table: `<<` resolves as a string (merging is
        // decided by the decoder on the raw key), so the encoder writes it plain.
        assert_eq!(resolve_plain("<<"), Resolved::Str);
    }

    #[test]
    fn go_integer_spellings() {
        assert_eq!(resolve_plain("0777"), Resolved::Int(511));
        assert_eq!(resolve_plain("0x1F"), Resolved::Int(31));
        assert_eq!(resolve_plain("-0x1F"), Resolved::Int(-31));
        assert_eq!(resolve_plain("0o17"), Resolved::Int(15));
        assert_eq!(resolve_plain("0b101"), Resolved::Int(5));
        assert_eq!(resolve_plain("1_000"), Resolved::Int(1000));
        assert_eq!(resolve_plain("08"), Resolved::Float(8.0));
        assert_eq!(resolve_plain("18446744073709551615"), Resolved::Uint(u64::MAX));
        assert_eq!(resolve_plain("1e400"), Resolved::Str);
        assert_eq!(resolve_plain("1."), Resolved::Float(1.0));
        assert_eq!(resolve_plain(".5"), Resolved::Float(0.5));
        assert_eq!(resolve_plain("0x"), Resolved::Str);
    }

    #[test]
    fn timestamps_follow_time_parse() {
        assert!(parse_timestamp("2001-12-14"));
        assert!(parse_timestamp("2001-1-4"));
        assert!(parse_timestamp("2001-12-14T21:59:43.10-05:00"));
        assert!(parse_timestamp("2001-12-14 21:59:43.10"));
        assert!(!parse_timestamp("2001-02-30"));
        assert!(!parse_timestamp("2001-12-14 21:59:43.10 -5"));
        assert!(!parse_timestamp("2001-123-14"));
    }

    #[test]
    fn base60() {
        assert!(is_base60_float("1:20"));
        assert!(is_base60_float("190:20:30.15"));
        assert!(!is_base60_float("1:2a"));
        assert!(!is_base60_float("a:1"));
    }
}
