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
        let major = parse_number(parts.next()?)?;
        let minor = match parts.next() {
            Some(p) => parse_number(p)?,
            None => 0,
        };
        let patch = match parts.next() {
            Some(p) => parse_number(p)?,
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

    fn compare(&self, other: &Version) -> Ordering {
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
    Equal,
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

/// A parsed constraint: `||` groups of constraints that must all hold.
#[derive(Clone, Debug)]
pub struct Constraints {
    groups: Vec<Vec<Constraint>>,
}

fn is_wild(s: &str) -> bool {
    matches!(s, "x" | "X" | "*")
}

fn parse_constraint(text: &str) -> Option<Constraint> {
    if text.is_empty() {
        return Some(Constraint {
            op: Op::Equal,
            version: Version::parse("0.0.0")?,
            minor_dirty: false,
            patch_dirty: false,
            dirty: true,
        });
    }
    let ops: &[(&str, Op)] = &[
        (">=", Op::GreaterEqual),
        ("=>", Op::GreaterEqual),
        ("<=", Op::LessEqual),
        ("=<", Op::LessEqual),
        ("!=", Op::NotEqual),
        ("~>", Op::Tilde),
        (">", Op::Greater),
        ("<", Op::Less),
        ("=", Op::Equal),
        ("~", Op::Tilde),
        ("^", Op::Caret),
    ];
    let mut op = Op::Equal;
    let mut rest = text;
    for (token, o) in ops {
        if let Some(r) = text.strip_prefix(token) {
            op = *o;
            rest = r.trim_start();
            break;
        }
    }
    let rest = rest.strip_prefix('v').unwrap_or(rest);
    // Split off pre-release/metadata before looking for wildcards in the numeric parts.
    let core_end = rest.find(['-', '+']).unwrap_or(rest.len());
    let (core, tail) = rest.split_at(core_end);
    let parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty() || parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return None;
    }
    let mut minor_dirty = false;
    let mut patch_dirty = false;
    let mut dirty = false;
    let mut numbers = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        if is_wild(part) {
            match i {
                0 => {
                    minor_dirty = true;
                    patch_dirty = true;
                    dirty = true;
                }
                1 => {
                    minor_dirty = true;
                    patch_dirty = true;
                    dirty = true;
                }
                _ => {
                    patch_dirty = true;
                    dirty = true;
                }
            }
            numbers.push("0");
        } else {
            parse_number(part)?;
            numbers.push(part);
        }
    }
    if parts.len() < 3 {
        dirty = true;
        if parts.len() < 2 {
            minor_dirty = true;
        }
        patch_dirty = true;
    }
    while numbers.len() < 3 {
        numbers.push("0");
    }
    let version = Version::parse(&format!("{}.{}.{}{}", numbers[0], numbers[1], numbers[2], tail))?;
    Some(Constraint {
        op,
        version,
        minor_dirty,
        patch_dirty,
        dirty,
    })
}

/// Rewrites hyphen ranges `1.2 - 1.4.5` into `>= 1.2, <= 1.4.5`, as Masterminds does first.
fn rewrite_range(text: &str) -> String {
    let tokens: Vec<&str> = text.split_whitespace().collect();
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
    /// Masterminds `NewConstraint`; `None` when the text is not a valid constraint.
    pub fn parse(text: &str) -> Option<Constraints> {
        let text = rewrite_range(text);
        let mut groups = Vec::new();
        for group in text.split("||") {
            let mut constraints = Vec::new();
            let mut pending_op = String::new();
            let mut saw_any = false;
            for piece in group.split(',') {
                for token in piece.split_whitespace() {
                    if token.bytes().all(|b| b"<>=!~^".contains(&b)) {
                        pending_op.push_str(token);
                        continue;
                    }
                    let full = format!("{pending_op}{token}");
                    pending_op.clear();
                    constraints.push(parse_constraint(&full)?);
                    saw_any = true;
                }
                if !pending_op.is_empty() {
                    return None;
                }
            }
            if !saw_any {
                constraints.push(parse_constraint("")?);
            }
            groups.push(constraints);
        }
        Some(Constraints { groups })
    }

    /// Whether `v` satisfies any `||` group.
    pub fn check(&self, v: &Version) -> bool {
        self.groups.iter().any(|group| group.iter().all(|c| c.check(v)))
    }
}

impl Constraint {
    fn check(&self, v: &Version) -> bool {
        let c = &self.version;
        if self.op != Op::NotEqual && !v.prerelease.is_empty() && c.prerelease.is_empty() {
            return false;
        }
        match self.op {
            Op::Equal => {
                if self.dirty {
                    return self.tilde(v);
                }
                v.compare(c) == Ordering::Equal
            }
            Op::NotEqual => {
                if self.dirty {
                    if !v.prerelease.is_empty() && c.prerelease.is_empty() {
                        return false;
                    }
                    if c.major != v.major {
                        return true;
                    }
                    if c.minor != v.minor && !self.minor_dirty {
                        return true;
                    } else if self.minor_dirty {
                        return false;
                    } else if c.patch != v.patch && !self.patch_dirty {
                        return true;
                    }
                    return false;
                }
                v.compare(c) != Ordering::Equal
            }
            Op::Greater => {
                if !self.dirty {
                    return v.compare(c) == Ordering::Greater;
                }
                if v.major != c.major {
                    return v.major > c.major;
                }
                if self.minor_dirty {
                    return false;
                }
                if self.patch_dirty {
                    return v.minor > c.minor;
                }
                v.compare(c) == Ordering::Greater
            }
            Op::Less => {
                if !self.dirty {
                    return v.compare(c) == Ordering::Less;
                }
                v.compare(c) == Ordering::Less
            }
            Op::GreaterEqual => v.compare(c) != Ordering::Less,
            Op::LessEqual => {
                if !self.dirty {
                    return v.compare(c) != Ordering::Greater;
                }
                if v.major > c.major {
                    return false;
                }
                if v.major == c.major && v.minor > c.minor && !self.minor_dirty {
                    return false;
                }
                true
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
        // ~0.0.0 (and `*`, `x`) is a special case that allows every version.
        if c.major == 0 && c.minor == 0 && c.patch == 0 && self.minor_dirty && self.patch_dirty {
            return true;
        }
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
        for bad in ["", "1.2.3.4", "a.b.c", "1.2.3-", "1.2.3-01", "1..2", "1.2.3+", "latest"] {
            assert!(Version::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn ranges() {
        let cases = [
            ("", "1.2.3", true),
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
