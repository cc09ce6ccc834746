//! Masterminds/semver v3 as Helm uses it: lenient version parsing (`v1`, `1.2`) for Chart.yaml
//! validation and range checks (`IsCompatibleRange`) when matching `charts/` to dependencies.

use std::cmp::Ordering;

/// A parsed version. Missing minor/patch parts are zero, as Masterminds' `NewVersion` does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub prerelease: String,
    pub metadata: String,
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn parse_number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `0|[1-9]\d*`: version numbers must not have leading zeros.
fn parse_core_number(s: &str) -> Option<u64> {
    if s.len() > 1 && s.starts_with('0') {
        return None;
    }
    parse_number(s)
}

impl Version {
    /// Masterminds `NewVersion`: optional `v`, one to three numeric parts, then `-pre` and `+meta`.
    pub fn parse(text: &str) -> Option<Version> {
        let s = text.strip_prefix('v').unwrap_or(text);
        let (s, metadata) = match s.split_once('+') {
            Some((a, b)) => (a, b),
            None => (s, ""),
        };
        if text.contains('+') && (metadata.is_empty() || !metadata.split('.').all(is_ident)) {
            return None;
        }
        let (core, prerelease) = match s.split_once('-') {
            Some((a, b)) => (a, b),
            None => (s, ""),
        };
        if s.contains('-') {
            if prerelease.is_empty() || !prerelease.split('.').all(is_ident) {
                return None;
            }
            // Numeric identifiers must not have leading zeros.
            for part in prerelease.split('.') {
                if part.len() > 1 && part.starts_with('0') && part.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
            }
        }
        let mut parts = core.split('.');
        let major = parse_core_number(parts.next()?)?;
        let minor = match parts.next() {
            Some(p) => parse_core_number(p)?,
            None => 0,
        };
        let patch = match parts.next() {
            Some(p) => parse_core_number(p)?,
            None => 0,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Version {
            major,
            minor,
            patch,
            prerelease: prerelease.to_string(),
            metadata: metadata.to_string(),
        })
    }

    /// Masterminds `Compare`: precedence, build metadata ignored.
    pub fn compare(&self, other: &Version) -> Ordering {
        self.major
            .cmp(&other.major)
            .then(self.minor.cmp(&other.minor))
            .then(self.patch.cmp(&other.patch))
            .then_with(|| compare_prerelease(&self.prerelease, &other.prerelease))
    }
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Greater,
        (false, true) => return Ordering::Less,
        _ => {}
    }
    let mut left = a.split('.');
    let mut right = b.split('.');
    loop {
        match (left.next(), right.next()) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => {
                let ord = match (parse_number(x), parse_number(y)) {
                    (Some(i), Some(j)) => i.cmp(&j),
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => x.cmp(y),
                };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    TildeOrEqual,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Tilde,
    Caret,
}

#[derive(Clone, Debug)]
struct Constraint {
    op: Op,
    version: Version,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

/// A parsed constraint: `||` groups of constraints that must all hold. A group in which any
/// constraint names a pre-release lets pre-release versions through (Masterminds v3.4).
#[derive(Clone, Debug)]
pub struct Constraints {
    groups: Vec<(Vec<Constraint>, bool)>,
}

fn is_wild(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

/// One `cvRegex` match: `v?` then up to three `[0-9|xX*]+` segments, `-pre`, `+meta`.
struct RawConstraint<'a> {
    op: &'a str,
    whole: &'a str,
    major: &'a str,
    minor: Option<&'a str>,
    patch: Option<&'a str>,
    pre: &'a str,
}

fn is_segment_byte(b: u8) -> bool {
    b.is_ascii_digit() || matches!(b, b'|' | b'x' | b'X' | b'*')
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

/// Reads `(op)\s*(cv)` at `i`, returning the match and the index after it.
fn read_constraint(text: &str, mut i: usize) -> Option<(RawConstraint<'_>, usize)> {
    let b = text.as_bytes();
    let op_start = i;
    while i < b.len() && b"=!<>~^".contains(&b[i]) {
        i += 1;
    }
    let op = &text[op_start..i];
    if !matches!(
        op,
        "" | "=" | "!=" | ">" | "<" | ">=" | "=>" | "<=" | "=<" | "~" | "~>" | "^"
    ) {
        return None;
    }
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    let start = i;
    if i < b.len() && b[i] == b'v' {
        i += 1;
    }
    let seg = |i: &mut usize| -> Option<(usize, usize)> {
        let s = *i;
        while *i < b.len() && is_segment_byte(b[*i]) {
            *i += 1;
        }
        (*i > s).then_some((s, *i))
    };
    let (ms, me) = seg(&mut i)?;
    let mut minor = None;
    let mut patch = None;
    if i < b.len() && b[i] == b'.' {
        let mut j = i + 1;
        if let Some((s, e)) = seg(&mut j) {
            minor = Some(&text[s..e]);
            i = j;
            if i < b.len() && b[i] == b'.' {
                let mut j = i + 1;
                if let Some((s, e)) = seg(&mut j) {
                    patch = Some(&text[s..e]);
                    i = j;
                }
            }
        }
    }
    // `(-ident(.ident)*)?` then `(+ident(.ident)*)?`
    let dotted = |i: &mut usize| -> bool {
        let s = *i;
        loop {
            let p = *i;
            while *i < b.len() && is_ident_byte(b[*i]) {
                *i += 1;
            }
            if *i == p {
                *i = s;
                return false;
            }
            if *i + 1 < b.len() && b[*i] == b'.' && is_ident_byte(b[*i + 1]) {
                *i += 1;
                continue;
            }
            return true;
        }
    };
    let mut pre = "";
    if i < b.len() && b[i] == b'-' {
        let mut j = i + 1;
        if dotted(&mut j) {
            pre = &text[i..j];
            i = j;
        }
    }
    if i < b.len() && b[i] == b'+' {
        let mut j = i + 1;
        if dotted(&mut j) {
            i = j;
        }
    }
    Some((
        RawConstraint {
            op,
            whole: &text[start..i],
            major: &text[ms..me],
            minor,
            patch,
            pre,
        },
        i,
    ))
}

fn build(raw: RawConstraint<'_>) -> Option<Constraint> {
    let op = match raw.op {
        "" | "=" => Op::TildeOrEqual,
        "!=" => Op::NotEqual,
        ">" => Op::Greater,
        "<" => Op::Less,
        ">=" | "=>" => Op::GreaterEqual,
        "<=" | "=<" => Op::LessEqual,
        "~" | "~>" => Op::Tilde,
        _ => Op::Caret,
    };
    let minor = raw.minor.unwrap_or("");
    let patch = raw.patch.unwrap_or("");
    let (text, minor_dirty, patch_dirty, dirty) = if is_wild(raw.major) {
        (format!("0.0.0{}", raw.pre), false, false, true)
    } else if raw.minor.is_none() || is_wild(minor) {
        (format!("{}.0.0{}", raw.major, raw.pre), true, false, true)
    } else if raw.patch.is_none() || is_wild(patch) {
        (format!("{}.{minor}.0{}", raw.major, raw.pre), false, true, true)
    } else {
        (raw.whole.to_string(), false, false, false)
    };
    let version = Version::parse(&text)?;
    Some(Constraint {
        op,
        version,
        minor_dirty,
        patch_dirty,
        dirty,
    })
}

/// Masterminds' `rewriteRange`: `A - B` becomes `>= A, <= B`.
fn rewrite_range(text: &str) -> String {
    let tokens: Vec<&str> = text.split_whitespace().collect();
    if !tokens.contains(&"-") {
        return text.to_string();
    }
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if i + 2 < tokens.len() && tokens[i + 1] == "-" {
            out.push(format!(">= {}, <= {}", tokens[i], tokens[i + 2]));
            i += 3;
        } else {
            out.push(tokens[i].to_string());
            i += 1;
        }
    }
    out.join(" ")
}

impl Constraints {
    /// Masterminds `NewConstraint`; `None` when the text is not a valid constraint (an empty
    /// string included).
    pub fn parse(text: &str) -> Option<Constraints> {
        let text = rewrite_range(text);
        let mut groups = Vec::new();
        for group in text.split("||") {
            let b = group.as_bytes();
            let mut i = 0;
            let mut constraints = Vec::new();
            loop {
                while i < b.len() && b[i].is_ascii_whitespace() {
                    i += 1;
                }
                if !constraints.is_empty() && i < b.len() && b[i] == b',' {
                    i += 1;
                    while i < b.len() && b[i].is_ascii_whitespace() {
                        i += 1;
                    }
                }
                if i >= b.len() {
                    break;
                }
                let (raw, next) = read_constraint(group, i)?;
                if next < b.len() && !(b[next].is_ascii_whitespace() || b[next] == b',') {
                    return None;
                }
                constraints.push(build(raw)?);
                i = next;
            }
            if constraints.is_empty() {
                return None;
            }
            let has_pre = constraints.iter().any(|c| !c.version.prerelease.is_empty());
            groups.push((constraints, has_pre));
        }
        Some(Constraints { groups })
    }

    /// Whether `v` satisfies any `||` group.
    pub fn check(&self, v: &Version) -> bool {
        self.groups
            .iter()
            .any(|(group, has_pre)| group.iter().all(|c| c.check(v, *has_pre)))
    }
}

impl Constraint {
    fn check(&self, v: &Version, include_pre: bool) -> bool {
        let c = &self.version;
        if !v.prerelease.is_empty() && !include_pre {
            return false;
        }
        match self.op {
            Op::TildeOrEqual => {
                if self.dirty {
                    return self.tilde(v);
                }
                v.compare(c) == Ordering::Equal
            }
            Op::NotEqual => {
                if self.dirty {
                    if c.major != v.major {
                        return true;
                    }
                    if c.minor != v.minor && !self.minor_dirty {
                        return true;
                    } else if self.minor_dirty {
                        return false;
                    } else if c.patch != v.patch && !self.patch_dirty {
                        return true;
                    } else if self.patch_dirty {
                        if !v.prerelease.is_empty() || !c.prerelease.is_empty() {
                            return compare_prerelease(&v.prerelease, &c.prerelease) != Ordering::Equal;
                        }
                        return false;
                    }
                }
                v.compare(c) != Ordering::Equal
            }
            Op::Greater => {
                if !self.dirty {
                    return v.compare(c) == Ordering::Greater;
                }
                if v.major > c.major {
                    return true;
                }
                if v.major < c.major || self.minor_dirty {
                    return false;
                }
                if self.patch_dirty {
                    return v.minor > c.minor;
                }
                v.compare(c) == Ordering::Greater
            }
            Op::Less => v.compare(c) == Ordering::Less,
            Op::GreaterEqual => v.compare(c) != Ordering::Less,
            Op::LessEqual => {
                if !self.dirty {
                    return v.compare(c) != Ordering::Greater;
                }
                if v.major > c.major {
                    return false;
                }
                !(v.major == c.major && v.minor > c.minor && !self.minor_dirty)
            }
            Op::Tilde => self.tilde(v),
            Op::Caret => {
                if v.compare(c) == Ordering::Less {
                    return false;
                }
                if c.major > 0 || self.minor_dirty {
                    return v.major == c.major;
                }
                if v.major > 0 {
                    return false;
                }
                if c.minor > 0 || self.patch_dirty {
                    return v.minor == c.minor;
                }
                if v.minor > 0 {
                    return false;
                }
                c.patch == v.patch
            }
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let c = &self.version;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        // ~0.0.0 (and `*`) accept everything, like >= 0.0.0.
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        if v.minor != c.minor && !self.minor_dirty {
            return false;
        }
        true
    }
}

/// Helm's `IsCompatibleRange`: false when either side does not parse.
pub fn is_compatible_range(constraint: &str, version: &str) -> bool {
    match (Version::parse(version), Constraints::parse(constraint)) {
        (Some(v), Some(c)) => c.check(&v),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        for ok in [
            "1.2.3",
            "v1.2.3",
            "1.2",
            "1",
            "1.2.3-beta.1+build.5",
            "0.0.0",
            "1.0.0-rc1",
        ] {
            assert!(Version::parse(ok).is_some(), "{ok}");
        }
        for bad in [
            "", "1.2.3.4", "a.b.c", "1.2.3-", "1.2.3-01", "1..2", "1.2.3+", "latest", "01.2.3", "1.02",
        ] {
            assert!(Version::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn ranges() {
        let cases = [
            ("", "1.2.3", false),
            ("01.2.3", "1.2.3", false),
            ("2.x.x", "2.31.4", true),
            ("2.x.x", "3.0.0", false),
            ("~1", "1.9.0", true),
            (">=1.0.0-0", "1.2.0-beta", true),
            (">=1.0.0 <2.0.0 || >=3.0.0-0", "1.5.0-rc", false),
            ("*", "1.2.3", true),
            ("1.2.3", "1.2.3", true),
            ("1.2.x", "1.2.9", true),
            ("1.2.x", "1.3.0", false),
            (">=1.2.0", "1.2.0", true),
            (">=1.2.0 <2.0.0", "2.0.0", false),
            (">=1.2.0, <2.0.0", "1.9.9", true),
            ("~1.2.3", "1.2.9", true),
            ("~1.2.3", "1.3.0", false),
            ("^1.2.3", "1.9.0", true),
            ("^1.2.3", "2.0.0", false),
            ("^0.2.3", "0.2.9", true),
            ("^0.2.3", "0.3.0", false),
            ("^0.0.3", "0.0.4", false),
            ("1.2 - 1.4.5", "1.4.5", true),
            ("1.2 - 1.4.5", "1.4.6", false),
            ("<1.0.0 || >=2.0.0", "2.1.0", true),
            ("<1.0.0 || >=2.0.0", "1.5.0", false),
            (">1.0.0", "1.1.0-beta", false),
            ("~1.2.3-beta", "1.2.3-beta.2", true),
            ("!=1.2.3", "1.2.4", true),
            ("1.x", "1.8.0", true),
            ("> 1.x", "2.0.0", true),
            ("garbage", "1.0.0", false),
        ];
        for (c, v, want) in cases {
            assert_eq!(is_compatible_range(c, v), want, "{c:?} vs {v}");
        }
    }
}
