//! Masterminds/semver v3.4.0 exactly as helm v4.1.4 links it (`CoerceNewVersion` on, detailed
//! errors on, `IncludePrerelease` never set): the one semver of helmfire. Sprig's `semver` and
//! `semverCompare`, Chart.yaml versions, dependency ranges and `kubeVersion`, repository index and
//! OCI tag selection, and the state file's `version:` all go through this module, so they accept
//! and reject the same strings, with Go's error texts.
//!
//! The library matches versions and constraints with regular expressions; compiling them costs
//! a millisecond in every process that loads a chart (Chart.yaml's version is checked), so this
//! module scans by hand instead (see `scan`). Their grammar leaves the scanner no choice to
//! make: each optional part starts with its own character (`.`, `-`, `+`), an operator is the
//! whole run of operator characters, and what follows a version is whitespace, a separator or
//! the end. A test checks the scanner against the library's expressions (with Go's `\s`, exactly
//! `[\t\n\f\r ]`) on a generated corpus.

use std::cmp::Ordering;

/// Why a version or constraint did not parse. `Display` is the library's error text.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("invalid semantic version")]
    InvalidSemVer,
    #[error("version string empty")]
    EmptyString,
    #[error("invalid characters in version")]
    InvalidCharacters,
    #[error("version segment starts with 0")]
    SegmentStartsZero,
    #[error("invalid metadata string")]
    InvalidMetadata,
    #[error("invalid prerelease string")]
    InvalidPrerelease,
    /// `NewVersion`: a numeric part does not fit in 64 bits.
    #[error("error parsing version segment: strconv.ParseUint: parsing {}: value out of range", quote(.0))]
    SegmentRange(String),
    /// `StrictNewVersion`: a numeric part does not fit in 64 bits, or is empty.
    #[error("strconv.ParseUint: parsing {}: {}", quote(.0), if .0.is_empty() { "invalid syntax" } else { "value out of range" })]
    StrictSegment(String),
    /// The `||` part, after the range rewrite, untrimmed (`improper constraint: ` for `""`).
    #[error("improper constraint: {0}")]
    ImproperConstraint(String),
    #[error("constraint parser error")]
    ConstraintParser,
}

fn quote(s: &str) -> String {
    crate::fmt::quote_go(s)
}

/// A Masterminds `Version`. Equality is structural; precedence is [`Version::compare`] (which
/// ignores build metadata), so there is deliberately no `Ord`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Version {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    metadata: String,
    original: String,
}

const NUM: &[u8] = b"0123456789";

fn contains_only(s: &str, allowed: impl Fn(u8) -> bool) -> bool {
    s.bytes().all(allowed)
}

fn is_num(b: u8) -> bool {
    NUM.contains(&b)
}

fn is_allowed(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-'
}

fn validate_prerelease(p: &str) -> Result<(), Error> {
    for part in p.split('.') {
        if part.is_empty() {
            return Err(Error::InvalidPrerelease);
        } else if contains_only(part, is_num) {
            if part.len() > 1 && part.starts_with('0') {
                return Err(Error::SegmentStartsZero);
            }
        } else if !contains_only(part, is_allowed) {
            return Err(Error::InvalidPrerelease);
        }
    }
    Ok(())
}

fn validate_metadata(m: &str) -> Result<(), Error> {
    for part in m.split('.') {
        if part.is_empty() || !contains_only(part, is_allowed) {
            return Err(Error::InvalidMetadata);
        }
    }
    Ok(())
}

impl Version {
    /// `NewVersion` with coercion: an optional `v`, one to three numeric parts (leading zeros
    /// allowed, missing parts 0), then `-pre` and `+meta`. No trimming.
    pub fn parse(v: &str) -> Result<Version, Error> {
        let m = scan::version(v, scan::is_digit)
            .filter(|m| m.end == v.len())
            .ok_or(Error::InvalidSemVer)?;
        let seg = |s: &str| -> Result<u64, Error> {
            let s = s.trim_start_matches('.');
            if s.is_empty() {
                return Ok(0);
            }
            // The scanner guarantees digits, so overflow is the only failure.
            s.parse::<u64>().map_err(|_| Error::SegmentRange(s.to_string()))
        };
        let version = Version {
            major: seg(m.major)?,
            minor: seg(m.minor)?,
            patch: seg(m.patch)?,
            pre: m.pre.strip_prefix('-').unwrap_or("").to_string(),
            metadata: m.metadata.strip_prefix('+').unwrap_or("").to_string(),
            original: v.to_string(),
        };
        if !version.pre.is_empty() {
            validate_prerelease(&version.pre)?;
        }
        if !version.metadata.is_empty() {
            validate_metadata(&version.metadata)?;
        }
        Ok(version)
    }

    /// `StrictNewVersion`: exactly `M.m.p[-pre][+meta]`, no `v`, no leading zeros (helm's OCI
    /// tags).
    pub fn parse_strict(v: &str) -> Result<Version, Error> {
        if v.is_empty() {
            return Err(Error::EmptyString);
        }
        let mut parts: Vec<&str> = v.splitn(3, '.').collect();
        if parts.len() != 3 {
            return Err(Error::InvalidSemVer);
        }
        let mut metadata = "";
        let mut pre = "";
        if let Some((rest, meta)) = parts[2].split_once('+') {
            metadata = meta;
            parts[2] = rest;
            validate_metadata(metadata)?;
        }
        if let Some((rest, p)) = parts[2].split_once('-') {
            pre = p;
            parts[2] = rest;
            validate_prerelease(pre)?;
        }
        for p in &parts {
            if !contains_only(p, is_num) {
                return Err(Error::InvalidCharacters);
            }
            if p.len() > 1 && p.starts_with('0') {
                return Err(Error::SegmentStartsZero);
            }
        }
        let num = |s: &str| s.parse::<u64>().map_err(|_| Error::StrictSegment(s.to_string()));
        Ok(Version {
            major: num(parts[0])?,
            minor: num(parts[1])?,
            patch: num(parts[2])?,
            pre: pre.to_string(),
            metadata: metadata.to_string(),
            original: v.to_string(),
        })
    }

    /// `semver.New`: the original text is the version's string form.
    pub fn new(major: u64, minor: u64, patch: u64, pre: &str, metadata: &str) -> Version {
        let mut v = Version {
            major,
            minor,
            patch,
            pre: pre.to_string(),
            metadata: metadata.to_string(),
            original: String::new(),
        };
        v.original = v.to_string();
        v
    }

    pub fn major(&self) -> u64 {
        self.major
    }

    pub fn minor(&self) -> u64 {
        self.minor
    }

    pub fn patch(&self) -> u64 {
        self.patch
    }

    pub fn prerelease(&self) -> &str {
        &self.pre
    }

    pub fn metadata(&self) -> &str {
        &self.metadata
    }

    /// The text as it was parsed (`v1.2`, `01.2.3`).
    pub fn original(&self) -> &str {
        &self.original
    }

    /// `Compare`: precedence, build metadata ignored.
    pub fn compare(&self, o: &Version) -> Ordering {
        self.major
            .cmp(&o.major)
            .then(self.minor.cmp(&o.minor))
            .then(self.patch.cmp(&o.patch))
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => Ordering::Equal,
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                _ => compare_prerelease(&self.pre, &o.pre),
            })
    }

    /// `Equal`: same precedence (`1.2.3` equals `1.2.3+meta`).
    pub fn precedence_eq(&self, o: &Version) -> bool {
        self.compare(o) == Ordering::Equal
    }

    fn v_prefix(&self) -> &'static str {
        if self.original.starts_with('v') { "v" } else { "" }
    }

    fn with_original(mut self, prefix: &str) -> Version {
        self.original = format!("{prefix}{self}");
        self
    }

    /// `IncMajor`.
    pub fn inc_major(&self) -> Version {
        Version {
            major: self.major.wrapping_add(1),
            minor: 0,
            patch: 0,
            pre: String::new(),
            metadata: String::new(),
            original: String::new(),
        }
        .with_original(self.v_prefix())
    }

    /// `IncMinor`.
    pub fn inc_minor(&self) -> Version {
        Version {
            major: self.major,
            minor: self.minor.wrapping_add(1),
            patch: 0,
            pre: String::new(),
            metadata: String::new(),
            original: String::new(),
        }
        .with_original(self.v_prefix())
    }

    /// `IncPatch`: a pre-release is dropped and the patch kept, else the patch goes up.
    pub fn inc_patch(&self) -> Version {
        let patch = if self.pre.is_empty() {
            self.patch.wrapping_add(1)
        } else {
            self.patch
        };
        Version {
            major: self.major,
            minor: self.minor,
            patch,
            pre: String::new(),
            metadata: String::new(),
            original: String::new(),
        }
        .with_original(self.v_prefix())
    }

    /// `SetPrerelease` (without the `-`).
    pub fn set_prerelease(&self, pre: &str) -> Result<Version, Error> {
        if !pre.is_empty() {
            validate_prerelease(pre)?;
        }
        Ok(Version {
            pre: pre.to_string(),
            ..self.clone()
        }
        .with_original(self.v_prefix()))
    }

    /// `SetMetadata` (without the `+`).
    pub fn set_metadata(&self, metadata: &str) -> Result<Version, Error> {
        if !metadata.is_empty() {
            validate_metadata(metadata)?;
        }
        Ok(Version {
            metadata: metadata.to_string(),
            ..self.clone()
        }
        .with_original(self.v_prefix()))
    }
}

/// `String()`: `M.m.p[-pre][+meta]`, no `v`, leading zeros normalized.
impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.pre.is_empty() {
            write!(f, "-{}", self.pre)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

fn compare_prerelease(a: &str, b: &str) -> Ordering {
    let sp: Vec<&str> = a.split('.').collect();
    let op: Vec<&str> = b.split('.').collect();
    for i in 0..sp.len().max(op.len()) {
        let d = compare_pre_part(sp.get(i).copied().unwrap_or(""), op.get(i).copied().unwrap_or(""));
        if d != Ordering::Equal {
            return d;
        }
    }
    Ordering::Equal
}

fn compare_pre_part(s: &str, o: &str) -> Ordering {
    if s == o {
        return Ordering::Equal;
    }
    if s.is_empty() {
        return Ordering::Less;
    }
    if o.is_empty() {
        return Ordering::Greater;
    }
    // Go's ParseUint: digits only (an overflowing number counts as a string).
    let number = |x: &str| {
        if contains_only(x, is_num) {
            x.parse::<u64>().ok()
        } else {
            None
        }
    };
    match (number(s), number(o)) {
        (None, None) => s.cmp(o),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        // Go answers -1 for equal numbers written differently; validation makes that unreachable.
        (Some(x), Some(y)) if x > y => Ordering::Greater,
        (Some(_), Some(_)) => Ordering::Less,
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
    con: Version,
    op: Op,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "*" | "X")
}

impl Constraint {
    /// `parseConstraint`.
    fn parse(c: &str) -> Result<Constraint, Error> {
        if c.is_empty() {
            return Ok(Constraint {
                con: Version::new(0, 0, 0, "", ""),
                op: Op::TildeOrEqual,
                minor_dirty: false,
                patch_dirty: false,
                dirty: true,
            });
        }
        let (op, cv) = scan::item(c).ok_or_else(|| Error::ImproperConstraint(c.to_string()))?;
        let (mut minor_dirty, mut patch_dirty, mut dirty) = (false, false, false);
        let text = if is_x(cv.major) || cv.major.is_empty() {
            dirty = true;
            format!("0.0.0{}", cv.pre)
        } else if is_x(cv.minor.trim_start_matches('.')) || cv.minor.is_empty() {
            minor_dirty = true;
            dirty = true;
            format!("{}.0.0{}", cv.major, cv.pre)
        } else if is_x(cv.patch.trim_start_matches('.')) || cv.patch.is_empty() {
            dirty = true;
            patch_dirty = true;
            format!("{}{}.0{}", cv.major, cv.minor, cv.pre)
        } else {
            cv.whole.to_string()
        };
        let con = Version::parse(&text).map_err(|_| Error::ConstraintParser)?;
        let op = match op {
            "" | "=" => Op::TildeOrEqual,
            "!=" => Op::NotEqual,
            ">" => Op::Greater,
            "<" => Op::Less,
            ">=" | "=>" => Op::GreaterEqual,
            "<=" | "=<" => Op::LessEqual,
            "~" | "~>" => Op::Tilde,
            _ => Op::Caret,
        };
        Ok(Constraint {
            con,
            op,
            minor_dirty,
            patch_dirty,
            dirty,
        })
    }

    fn check(&self, v: &Version, include_pre: bool) -> bool {
        if !v.pre.is_empty() && !include_pre {
            return false;
        }
        let c = &self.con;
        match self.op {
            Op::TildeOrEqual => {
                if self.dirty {
                    return self.tilde(v);
                }
                v.precedence_eq(c)
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
                        if !v.pre.is_empty() || !c.pre.is_empty() {
                            return compare_prerelease(&v.pre, &c.pre) != Ordering::Equal;
                        }
                        return false;
                    }
                }
                !v.precedence_eq(c)
            }
            Op::Greater => {
                if !self.dirty {
                    return v.compare(c) == Ordering::Greater;
                }
                if v.major > c.major {
                    return true;
                } else if v.major < c.major || self.minor_dirty {
                    return false;
                } else if self.patch_dirty {
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
        let c = &self.con;
        if v.compare(c) == Ordering::Less {
            return false;
        }
        if c.major == 0 && c.minor == 0 && c.patch == 0 && !self.minor_dirty && !self.patch_dirty {
            return true;
        }
        if v.major != c.major {
            return false;
        }
        v.minor == c.minor || self.minor_dirty
    }
}

/// A parsed constraint (`NewConstraint`): `||` groups of items that must all hold. A group in
/// which some item names a pre-release lets pre-release versions through (v3.4's rule).
#[derive(Clone, Debug)]
pub struct Constraints {
    text: String,
    groups: Vec<(Vec<Constraint>, bool)>,
}

/// Equal when written the same.
impl PartialEq for Constraints {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for Constraints {}

impl Constraints {
    /// `NewConstraint`: `A - B` ranges are rewritten to `>= A, <= B `, then each `||` part must
    /// be whitespace- or comma-separated `<op><version>` items.
    pub fn parse(text: &str) -> Result<Constraints, Error> {
        // `rewriteRange`: each `A - B` match, in order, replaces the first occurrence of its
        // text (in the string as rewritten so far) with `>= A, <= B `.
        let mut rewritten = text.to_string();
        for (all, from, to) in scan::ranges(text) {
            rewritten = rewritten.replacen(all, &format!(">= {from}, <= {to} "), 1);
        }
        let mut groups = Vec::new();
        for part in rewritten.split("||") {
            let items = scan::items(part).ok_or_else(|| Error::ImproperConstraint(part.to_string()))?;
            let group = items
                .into_iter()
                .map(Constraint::parse)
                .collect::<Result<Vec<_>, _>>()?;
            let has_pre = group.iter().any(|c| !c.con.pre.is_empty());
            groups.push((group, has_pre));
        }
        Ok(Constraints {
            text: text.to_string(),
            groups,
        })
    }

    /// `Check`.
    pub fn check(&self, v: &Version) -> bool {
        self.groups
            .iter()
            .any(|(group, has_pre)| group.iter().all(|c| c.check(v, *has_pre)))
    }

    /// The text as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Display for Constraints {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// Helm's `IsCompatibleRange`: false when either side does not parse.
pub fn is_compatible_range(constraint: &str, version: &str) -> bool {
    match (Version::parse(version), Constraints::parse(constraint)) {
        (Ok(v), Ok(c)) => c.check(&v),
        _ => false,
    }
}

/// Sprig's `semverCompare`: the constraint's error first, then the version's.
pub fn semver_compare(constraint: &str, version: &str) -> Result<bool, Error> {
    let c = Constraints::parse(constraint)?;
    let v = Version::parse(version)?;
    Ok(c.check(&v))
}

/// The library's regular expressions as hand-written scanners over bytes (everything they
/// accept is ASCII). `\s` is Go's: `[\t\n\f\r ]`, not `\v` nor Unicode spaces.
mod scan {
    /// One match of `v?(N+)(\.N+)?(\.N+)?(-ID(\.ID)*)?(\+ID(\.ID)*)?` (N a class, ID
    /// `[0-9A-Za-z-]+`): the parts keep their leading `.`, `-` or `+`.
    #[derive(Debug, PartialEq, Eq)]
    pub struct Cv<'a> {
        pub whole: &'a str,
        pub major: &'a str,
        pub minor: &'a str,
        pub patch: &'a str,
        pub pre: &'a str,
        pub metadata: &'a str,
        pub end: usize,
    }

    pub fn is_digit(b: u8) -> bool {
        b.is_ascii_digit()
    }

    /// The constraint version class `[0-9|x|X|\*]` (the `|` is literal).
    pub fn is_wild(b: u8) -> bool {
        b.is_ascii_digit() || matches!(b, b'|' | b'x' | b'X' | b'*')
    }

    fn is_ident(b: u8) -> bool {
        b.is_ascii_alphanumeric() || b == b'-'
    }

    pub fn is_space(b: u8) -> bool {
        matches!(b, b'\t' | b'\n' | 0x0c | b'\r' | b' ')
    }

    fn is_op(b: u8) -> bool {
        matches!(b, b'=' | b'!' | b'>' | b'<' | b'~' | b'^')
    }

    fn skip(s: &[u8], mut i: usize, class: fn(u8) -> bool) -> usize {
        while i < s.len() && class(s[i]) {
            i += 1;
        }
        i
    }

    /// `PREFIX ID (\. ID)*` at `i` (PREFIX is `-` or `+`), longest; `i` when absent.
    fn dotted(s: &[u8], i: usize, prefix: u8) -> usize {
        if s.get(i) != Some(&prefix) || !s.get(i + 1).copied().is_some_and(is_ident) {
            return i;
        }
        let mut j = skip(s, i + 1, is_ident);
        while s.get(j) == Some(&b'.') && s.get(j + 1).copied().is_some_and(is_ident) {
            j = skip(s, j + 1, is_ident);
        }
        j
    }

    /// The longest version match starting exactly at byte `i` of `text`. Every optional part
    /// starts with its own character and nothing that may follow can extend it, so the longest
    /// match is the one the library's backtracking finds.
    pub fn version_at(text: &str, i: usize, class: fn(u8) -> bool) -> Option<Cv<'_>> {
        let s = text.as_bytes();
        let mut j = i;
        if s.get(j) == Some(&b'v') {
            j += 1;
        }
        let major_start = j;
        j = skip(s, j, class);
        if j == major_start {
            return None;
        }
        let major_end = j;
        let part = |j: &mut usize| {
            let start = *j;
            if s.get(start) == Some(&b'.') && s.get(start + 1).copied().is_some_and(class) {
                *j = skip(s, start + 1, class);
            }
            &text[start..*j]
        };
        let minor = part(&mut j);
        let patch = part(&mut j);
        let pre_start = j;
        j = dotted(s, j, b'-');
        let pre = &text[pre_start..j];
        let meta_start = j;
        j = dotted(s, j, b'+');
        Some(Cv {
            whole: &text[i..j],
            major: &text[major_start..major_end],
            minor,
            patch,
            pre,
            metadata: &text[meta_start..j],
            end: j,
        })
    }

    /// A version at the start of `text`.
    pub fn version(text: &str, class: fn(u8) -> bool) -> Option<Cv<'_>> {
        version_at(text, 0, class)
    }

    /// An operator at `i`: the whole run of operator characters, which must be one of
    /// `= != > < >= => <= =< ~ ~> ^` or empty (a version cannot start with one, so the
    /// pattern's alternation has no other way to match). Returns it and the index after it.
    fn op_at(text: &str, i: usize) -> Option<(&str, usize)> {
        let end = skip(text.as_bytes(), i, is_op);
        let op = &text[i..end];
        matches!(
            op,
            "" | "=" | "!=" | ">" | "<" | ">=" | "=>" | "<=" | "=<" | "~" | "~>" | "^"
        )
        .then_some((op, end))
    }

    /// `\s*(OPS)\s*(CV)` at `i`: the operator and the version.
    fn op_version_at(text: &str, i: usize) -> Option<(&str, Cv<'_>)> {
        let s = text.as_bytes();
        let (op, j) = op_at(text, skip(s, i, is_space))?;
        let cv = version_at(text, skip(s, j, is_space), is_wild)?;
        Some((op, cv))
    }

    /// `^\s*(OPS)\s*(CV)\s*$`: one constraint.
    pub fn item(text: &str) -> Option<(&str, Cv<'_>)> {
        let (op, cv) = op_version_at(text, 0)?;
        (skip(text.as_bytes(), cv.end, is_space) == text.len()).then_some((op, cv))
    }

    /// The items of one `||` part when `^(\s*(OPS)\s*(CV)\s*)((?:\s+|,\s*)(OPS)\s*(CV)\s*)*$`
    /// matches it. Each item is cut from its operator (or version) to the end of its version,
    /// which `item` parses as `findConstraintRegex`'s matches would be.
    pub fn items(part: &str) -> Option<Vec<&str>> {
        let s = part.as_bytes();
        let mut items = Vec::new();
        let mut i = 0;
        loop {
            let (_, cv) = op_version_at(part, i)?;
            items.push(&part[i..cv.end]);
            let after = skip(s, cv.end, is_space);
            if after == s.len() {
                return Some(items);
            }
            // A separator: whitespace, or a comma with optional whitespace around it.
            i = if s[after] == b',' {
                skip(s, after + 1, is_space)
            } else if after > cv.end {
                after
            } else {
                return None;
            };
        }
    }

    /// Every non-overlapping `\s*(CV)\s+-\s+(CV)\s*` match, leftmost first: the matched text
    /// and the two versions.
    pub fn ranges(text: &str) -> Vec<(&str, &str, &str)> {
        let s = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < s.len() {
            match range_at(text, i) {
                Some((end, found)) => {
                    out.push(found);
                    i = end;
                }
                None => i += 1,
            }
        }
        out
    }

    fn range_at(text: &str, i: usize) -> Option<(usize, (&str, &str, &str))> {
        let s = text.as_bytes();
        let from = version_at(text, skip(s, i, is_space), is_wild)?;
        let dash = skip(s, from.end, is_space);
        if dash == from.end || s.get(dash) != Some(&b'-') {
            return None;
        }
        let start = skip(s, dash + 1, is_space);
        if start == dash + 1 {
            return None;
        }
        let to = version_at(text, start, is_wild)?;
        let end = skip(s, to.end, is_space);
        Some((end, (&text[i..end], from.whole, to.whole)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `testdata/semver/helm-v4.1.4.tsv`: every case with the answer helm v4.1.4 gave (the
    /// differential suite re-asks the live helm).
    #[test]
    fn every_recorded_case_answers_as_helm() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/semver/helm-v4.1.4.tsv");
        let text = std::fs::read_to_string(path).expect("read the semver table");
        let mut failures = Vec::new();
        let mut count = 0;
        for line in text.lines().skip(1).filter(|l| !l.is_empty()) {
            let (kind, a, b, expected) = parse_row(line);
            let got = answer(&kind, &a, &b);
            count += 1;
            if got != expected {
                failures.push(format!("{kind} {a:?} {b:?}: helm {expected:?}, ours {got:?}"));
            }
        }
        assert!(count >= 200, "only {count} cases");
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    fn unescape(s: &str) -> String {
        serde_json::from_str(&format!("\"{s}\"")).expect("a JSON-escaped cell")
    }

    fn parse_row(line: &str) -> (String, String, String, String) {
        let cells: Vec<String> = line.split('\t').map(unescape).collect();
        assert_eq!(cells.len(), 4, "{line}");
        (cells[0].clone(), cells[1].clone(), cells[2].clone(), cells[3].clone())
    }

    /// What the table's helm template prints for a case (see the differential suite).
    fn answer(kind: &str, a: &str, b: &str) -> String {
        let err = |e: Error| format!("ERROR: {e}");
        match kind {
            "semver" => match Version::parse(a) {
                Ok(v) => format!(
                    "{v}|{}|{}|{}|{}.{}.{}",
                    v.original(),
                    v.prerelease(),
                    v.metadata(),
                    v.major(),
                    v.minor(),
                    v.patch()
                ),
                Err(e) => err(e),
            },
            "compare" => match (Version::parse(a), Version::parse(b)) {
                (Ok(x), Ok(y)) => (x.compare(&y) as i8).to_string(),
                (Err(e), _) | (_, Err(e)) => err(e),
            },
            "semverCompare" => match semver_compare(a, b) {
                Ok(b) => b.to_string(),
                Err(e) => err(e),
            },
            other => panic!("unknown kind {other}"),
        }
    }

    /// The library's regular expressions (Go's `\s` spelled out), as the reference the scanner
    /// must agree with.
    mod reference {
        use std::sync::LazyLock;

        const LOOSE: &str = r"v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
        const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
        const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

        fn compile(pattern: String) -> regex::Regex {
            regex::Regex::new(&pattern.replace(r"\s", r"[\t\n\f\r ]")).unwrap()
        }

        static LOOSE_RE: LazyLock<regex::Regex> = LazyLock::new(|| compile(format!("^{LOOSE}$")));
        static ITEM_RE: LazyLock<regex::Regex> = LazyLock::new(|| compile(format!(r"^\s*({OPS})\s*({CV})\s*$")));
        static RANGE_RE: LazyLock<regex::Regex> = LazyLock::new(|| compile(format!(r"\s*({CV})\s+-\s+({CV})\s*")));
        static FIND_RE: LazyLock<regex::Regex> = LazyLock::new(|| compile(format!(r"({OPS})\s*({CV})")));
        static VALID_RE: LazyLock<regex::Regex> =
            LazyLock::new(|| compile(format!(r"^(\s*({OPS})\s*({CV})\s*)((?:\s+|,\s*)({OPS})\s*({CV})\s*)*$")));

        fn groups(m: &regex::Captures<'_>, which: &[usize]) -> Vec<String> {
            which
                .iter()
                .map(|&i| m.get(i).map_or("", |x| x.as_str()).to_string())
                .collect()
        }

        /// (major, .minor, .patch, -pre, +meta) of `NewVersion`'s pattern.
        pub fn version(text: &str) -> Option<Vec<String>> {
            LOOSE_RE.captures(text).map(|m| groups(&m, &[1, 2, 3, 4, 7]))
        }

        /// (op, whole, major, .minor, .patch, -pre) of one constraint.
        pub fn item(text: &str) -> Option<Vec<String>> {
            ITEM_RE.captures(text).map(|m| groups(&m, &[1, 2, 3, 4, 5, 6]))
        }

        /// Each item of a valid part, as `item` reads it.
        pub fn items(part: &str) -> Option<Vec<Option<Vec<String>>>> {
            if !VALID_RE.is_match(part) {
                return None;
            }
            let mut found: Vec<&str> = FIND_RE.find_iter(part).map(|m| m.as_str()).collect();
            if found.is_empty() {
                found.push(part);
            }
            Some(found.into_iter().map(item).collect())
        }

        pub fn ranges(text: &str) -> Vec<(String, String, String)> {
            RANGE_RE
                .captures_iter(text)
                .map(|m| {
                    let g = groups(&m, &[0, 1, 11]);
                    (g[0].clone(), g[1].clone(), g[2].clone())
                })
                .collect()
        }
    }

    fn scanned_version(text: &str) -> Option<Vec<String>> {
        scan::version(text, scan::is_digit)
            .filter(|m| m.end == text.len())
            .map(|m| {
                [m.major, m.minor, m.patch, m.pre, m.metadata]
                    .map(str::to_string)
                    .to_vec()
            })
    }

    fn scanned_item(text: &str) -> Option<Vec<String>> {
        scan::item(text).map(|(op, cv)| {
            [op, cv.whole, cv.major, cv.minor, cv.patch, cv.pre]
                .map(str::to_string)
                .to_vec()
        })
    }

    /// The scanner against the library's expressions on ~300,000 generated strings made of the
    /// characters and pieces the grammar cares about (and some it must refuse: `\v`, NBSP).
    #[test]
    fn the_scanner_matches_the_librarys_expressions() {
        const PIECES: &[&str] = &[
            "0", "1", "2", "9", "01", "10", ".", "-", "+", "v", "x", "X", "*", "|", "||", ",", " ", "  ", "\t", "\n",
            "\u{b}", "\u{a0}", ">", "<", "=", "!", "~", "^", ">=", "<=", "!=", "~>", "=>", "a", "beta", "1.2", "1.2.3",
            " - ", "-rc.1", "+b.2", "1.x", "..", "é",
        ];
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        let mut failures = Vec::new();
        for _ in 0..300_000 {
            let len = next(9);
            let text: String = (0..len).map(|_| PIECES[next(PIECES.len())]).collect();
            if scanned_version(&text) != reference::version(&text) {
                failures.push(format!("version {text:?}"));
            }
            if scanned_item(&text) != reference::item(&text) {
                failures.push(format!("item {text:?}"));
            }
            let ours = scan::items(&text).map(|items| items.into_iter().map(scanned_item).collect::<Vec<_>>());
            if ours != reference::items(&text) {
                failures.push(format!("items {text:?}: {ours:?} vs {:?}", reference::items(&text)));
            }
            let ours: Vec<(String, String, String)> = scan::ranges(&text)
                .into_iter()
                .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
                .collect();
            if ours != reference::ranges(&text) {
                failures.push(format!("ranges {text:?}: {ours:?} vs {:?}", reference::ranges(&text)));
            }
            if failures.len() > 20 {
                break;
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn strict_versions_follow_strict_new_version() {
        assert_eq!(
            Version::parse_strict("1.2.3-rc.1+b").unwrap().to_string(),
            "1.2.3-rc.1+b"
        );
        assert_eq!(Version::parse_strict(""), Err(Error::EmptyString));
        assert_eq!(Version::parse_strict("1.2"), Err(Error::InvalidSemVer));
        assert_eq!(Version::parse_strict("v1.2.3"), Err(Error::InvalidCharacters));
        assert_eq!(Version::parse_strict("01.2.3"), Err(Error::SegmentStartsZero));
        assert_eq!(Version::parse_strict("1.2.3+a..b"), Err(Error::InvalidMetadata));
        assert_eq!(
            Version::parse_strict("1..3").unwrap_err().to_string(),
            "strconv.ParseUint: parsing \"\": invalid syntax"
        );
    }

    #[test]
    fn increments_and_setters_keep_the_v_prefix() {
        let v = Version::parse("v1.2.3-rc.1+b").unwrap();
        assert_eq!(v.inc_patch().original(), "v1.2.3");
        assert_eq!(v.inc_minor().to_string(), "1.3.0");
        assert_eq!(v.inc_major().to_string(), "2.0.0");
        assert_eq!(v.set_prerelease("01"), Err(Error::SegmentStartsZero));
        assert_eq!(v.set_metadata("x.y").unwrap().original(), "v1.2.3-rc.1+x.y");
    }
}
