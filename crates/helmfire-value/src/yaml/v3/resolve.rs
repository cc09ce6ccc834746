//! go-yaml v3's implicit tag resolution (`resolve.go`): what a plain scalar means under v3's
//! rules (YAML 1.2 booleans and nulls, `0o`/`0b` integers, 1.1 octals, timestamps).

pub use crate::yaml::resolve::Resolved;
use crate::yaml::resolve::{is_yaml_style_float, parse_go_float, parse_go_int, parse_go_uint, parse_timestamp};

/// `resolve("", value)`: the value a plain scalar stands for.
pub fn resolve(value: &str) -> Resolved {
    let hint = match value.as_bytes().first() {
        None => b'N',
        Some(b'+' | b'-') => b'S',
        Some(b'0'..=b'9') => b'D',
        Some(b'y' | b'Y' | b'n' | b'N' | b't' | b'T' | b'f' | b'F' | b'o' | b'O' | b'~') => b'M',
        Some(b'.') => b'.',
        Some(_) => 0,
    };
    if hint == 0 {
        return Resolved::Str;
    }
    // A decimal without a leading zero (which would make it octal) and short enough for an
    // int64: what most numbers in a manifest are, read without the general parse.
    if hint == b'D' && value.len() <= 18 && value.as_bytes()[0] != b'0' && value.bytes().all(|b| b.is_ascii_digit()) {
        return Resolved::Int(value.bytes().fold(0, |n, b| n * 10 + i64::from(b - b'0')));
    }
    match value {
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        "" | "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => return Resolved::Float(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        _ => {}
    }
    match hint {
        b'.' => {
            if let Some(f) = parse_go_float(value) {
                return Resolved::Float(f);
            }
        }
        b'D' | b'S' => {
            if parse_timestamp(value) {
                return Resolved::Timestamp;
            }
            let plain = match value.contains('_') {
                true => std::borrow::Cow::Owned(value.replace('_', "")),
                false => std::borrow::Cow::Borrowed(value),
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
            // `-0b…`/`-0o…` are covered by ParseInt's base prefixes above.
        }
        _ => {}
    }
    Resolved::Str
}

/// The short tag `resolve` gives a plain scalar (`!!str`, `!!int`, …).
pub fn resolve_tag(value: &str) -> &'static str {
    match resolve(value) {
        Resolved::Null => super::NULL_TAG,
        Resolved::Bool(_) => super::BOOL_TAG,
        Resolved::Int(_) | Resolved::Uint(_) => super::INT_TAG,
        Resolved::Float(_) => super::FLOAT_TAG,
        Resolved::Timestamp => super::TIMESTAMP_TAG,
        Resolved::Str => super::STR_TAG,
    }
}

#[cfg(test)]
mod tests {
    use super::resolve_tag;

    #[test]
    fn v3_resolves_yaml_1_2_words_and_go_numbers() {
        assert_eq!(resolve_tag("yes"), "!!str");
        assert_eq!(resolve_tag("on"), "!!str");
        assert_eq!(resolve_tag("True"), "!!bool");
        assert_eq!(resolve_tag("~"), "!!null");
        assert_eq!(resolve_tag(""), "!!null");
        assert_eq!(resolve_tag("0777"), "!!int");
        assert_eq!(resolve_tag("0o17"), "!!int");
        assert_eq!(resolve_tag("-0b101"), "!!int");
        assert_eq!(resolve_tag("1_000"), "!!int");
        assert_eq!(resolve_tag("1.5"), "!!float");
        assert_eq!(resolve_tag(".5"), "!!float");
        assert_eq!(resolve_tag("1e3"), "!!float");
        assert_eq!(resolve_tag("2001-12-14"), "!!timestamp");
        assert_eq!(resolve_tag("1.2.3"), "!!str");
        assert_eq!(resolve_tag("<<"), "!!str");
        assert_eq!(resolve_tag("99999999999999999999"), "!!float");
    }

    /// Plain decimals take a shortcut; they read as Go's ParseInt reads them.
    #[test]
    fn decimals_read_as_go_reads_them() {
        use crate::yaml::resolve::parse_go_int;
        for text in [
            "1",
            "7",
            "80",
            "8080",
            "123456789012345678",
            "999999999999999999",
            "9223372036854775807",
            "9223372036854775808",
        ] {
            let expected = match parse_go_int(text) {
                Some(n) => super::Resolved::Int(n),
                None => super::resolve(text),
            };
            assert_eq!(super::resolve(text), expected, "{text}");
            assert!(matches!(
                super::resolve(text),
                super::Resolved::Int(_) | super::Resolved::Uint(_)
            ));
        }
    }
}
