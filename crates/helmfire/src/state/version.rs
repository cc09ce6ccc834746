//! Chart versions and version constraints with Masterminds/semver v3 semantics, which is what Helm
//! uses to pick a chart version (`^1.2`, `~1.2.3`, `>= 1.0, < 2.0 || 3.x`, `1.2 - 1.4`).
//!
//! Parsed once when the state file is loaded; resolution against a repository index (a later
//! stage) only calls [`VersionConstraint::matches`].

use std::cmp::Ordering;
use std::fmt;

/// A semantic version, parsed loosely like Masterminds' `NewVersion` (`v1.2` is `1.2.0`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub prerelease: String,
    pub metadata: String,
}

impl Version {
    pub fn parse(text: &str) -> Result<Version, String> {
        let invalid = || format!("invalid version `{text}`");
        let body = text.strip_prefix('v').unwrap_or(text);
        let (body, metadata) = match body.split_once('+') {
            Some((b, m)) if is_identifier_list(m) => (b, m.to_string()),
            Some(_) => return Err(invalid()),
            None => (body, String::new()),
        };
        let (core, prerelease) = match body.split_once('-') {
            Some((c, p)) if is_identifier_list(p) => (c, p.to_string()),
            Some(_) => return Err(invalid()),
            None => (body, String::new()),
        };
        let mut parts = core.split('.');
        let mut number = |required: bool| -> Result<u64, String> {
            match parts.next() {
                Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse().map_err(|_| invalid()),
                None if !required => Ok(0),
                _ => Err(invalid()),
            }
        };
        let major = number(true)?;
        let minor = number(false)?;
        let patch = number(false)?;
        if parts.next().is_some() {
            return Err(invalid());
        }
        Ok(Version {
            major,
            minor,
            patch,
            prerelease,
            metadata,
        })
    }
}

fn is_identifier_list(text: &str) -> bool {
    !text.is_empty()
        && text
            .split('.')
            .all(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
}

impl Ord for Version {
    /// Semver 2.0 precedence; build metadata is ignored.
    fn cmp(&self, other: &Self) -> Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(other.major, other.minor, other.patch))
            .then_with(|| compare_prerelease(&self.prerelease, &other.prerelease))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
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
                let order = match (x.parse::<u64>(), y.parse::<u64>()) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    (Ok(_), Err(_)) => Ordering::Less,
                    (Err(_), Ok(_)) => Ordering::Greater,
                    (Err(_), Err(_)) => x.cmp(y),
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)?;
        if !self.prerelease.is_empty() {
            write!(f, "-{}", self.prerelease)?;
        }
        if !self.metadata.is_empty() {
            write!(f, "+{}", self.metadata)?;
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Operator {
    Equal,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Tilde,
    Caret,
}

/// Which trailing parts of a constraint's version were wildcards or missing (`1.x`, `1.2`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wildcard {
    None,
    Patch,
    Minor,
    Major,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Constraint {
    operator: Operator,
    version: Version,
    wildcard: Wildcard,
}

/// A Masterminds/semver v3 constraint: OR-groups (`||`) of AND-ed comparisons.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionConstraint {
    text: String,
    groups: Vec<Vec<Constraint>>,
}

impl VersionConstraint {
    pub fn parse(text: &str) -> Result<VersionConstraint, String> {
        let mut groups = Vec::new();
        for group in text.split("||") {
            let rewritten = rewrite_hyphen_ranges(group);
            let mut constraints = Vec::new();
            for item in split_items(&rewritten) {
                constraints
                    .push(parse_item(&item).map_err(|why| format!("invalid version constraint `{text}`: {why}"))?);
            }
            if constraints.is_empty() {
                return Err(format!("invalid version constraint `{text}`: an empty alternative"));
            }
            groups.push(constraints);
        }
        Ok(VersionConstraint {
            text: text.to_string(),
            groups,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether `version` satisfies the constraint. A prerelease only matches a comparison whose
    /// own version has a prerelease, as in Masterminds v3.
    pub fn matches(&self, version: &Version) -> bool {
        self.groups.iter().any(|group| group.iter().all(|c| c.matches(version)))
    }
}

impl fmt::Display for VersionConstraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `1.2 - 1.4.5` → `>= 1.2 <= 1.4.5`
fn rewrite_hyphen_ranges(group: &str) -> String {
    let tokens: Vec<&str> = group.split_whitespace().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        if i + 2 < tokens.len() && tokens[i + 1] == "-" {
            out.push(format!(">={}", tokens[i]));
            out.push(format!("<={}", tokens[i + 2]));
            i += 3;
        } else {
            out.push(tokens[i].to_string());
            i += 1;
        }
    }
    out.join(" ")
}

/// Items are separated by commas or spaces; an operator may be followed by spaces (`>= 1.2`).
fn split_items(group: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut pending_operator = String::new();
    for token in group.split([',', ' ']).map(str::trim).filter(|t| !t.is_empty()) {
        if token.chars().all(|c| "=!<>~^".contains(c)) {
            pending_operator.push_str(token);
        } else {
            items.push(format!("{pending_operator}{token}"));
            pending_operator.clear();
        }
    }
    if !pending_operator.is_empty() {
        items.push(pending_operator);
    }
    items
}

fn parse_item(item: &str) -> Result<Constraint, String> {
    let operators = [
        ("!=", Operator::NotEqual),
        (">=", Operator::GreaterEqual),
        ("=>", Operator::GreaterEqual),
        ("<=", Operator::LessEqual),
        ("=<", Operator::LessEqual),
        ("~>", Operator::Tilde),
        (">", Operator::Greater),
        ("<", Operator::Less),
        ("=", Operator::Equal),
        ("~", Operator::Tilde),
        ("^", Operator::Caret),
    ];
    let (operator, rest) = operators
        .iter()
        .find_map(|(symbol, op)| item.strip_prefix(symbol).map(|rest| (*op, rest)))
        .unwrap_or((Operator::Equal, item));
    let rest = rest.trim();
    if rest.is_empty() {
        return Err(format!("`{item}` has no version"));
    }
    let body = rest.strip_prefix('v').unwrap_or(rest);
    let (core, suffix) = match body.find(['-', '+']) {
        Some(i) => (&body[..i], &body[i..]),
        None => (body, ""),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() > 3 {
        return Err(format!("`{item}` is not a version"));
    }
    let is_wild = |p: &str| matches!(p, "x" | "X" | "*");
    let mut numbers = [0u64; 3];
    let mut wildcard = Wildcard::None;
    for (index, slot) in numbers.iter_mut().enumerate() {
        match parts.get(index) {
            None => {
                if wildcard == Wildcard::None {
                    wildcard = [Wildcard::Major, Wildcard::Minor, Wildcard::Patch][index];
                }
            }
            Some(p) if is_wild(p) => {
                if wildcard == Wildcard::None {
                    wildcard = [Wildcard::Major, Wildcard::Minor, Wildcard::Patch][index];
                }
            }
            Some(p) if wildcard == Wildcard::None => {
                *slot = p.parse().map_err(|_| format!("`{item}` is not a version"))?;
            }
            Some(_) => return Err(format!("`{item}` is not a version")),
        }
    }
    let version = Version::parse(&format!("{}.{}.{}{suffix}", numbers[0], numbers[1], numbers[2]))
        .map_err(|_| format!("`{item}` is not a version"))?;
    Ok(Constraint {
        operator,
        version,
        wildcard,
    })
}

impl Constraint {
    fn matches(&self, v: &Version) -> bool {
        if !v.prerelease.is_empty() && self.version.prerelease.is_empty() {
            return false;
        }
        let c = &self.version;
        match self.operator {
            Operator::Equal => self.in_wildcard_range(v),
            Operator::NotEqual => !self.in_wildcard_range(v),
            Operator::Greater => match self.wildcard {
                Wildcard::None => v > c,
                Wildcard::Major => false,
                Wildcard::Minor => v.major > c.major,
                Wildcard::Patch => v.major > c.major || (v.major == c.major && v.minor > c.minor),
            },
            Operator::GreaterEqual => v >= c,
            Operator::Less => v < c,
            Operator::LessEqual => match self.wildcard {
                Wildcard::None => v <= c,
                Wildcard::Major => true,
                Wildcard::Minor => v.major <= c.major,
                Wildcard::Patch => v.major < c.major || (v.major == c.major && v.minor <= c.minor),
            },
            Operator::Tilde => {
                let upper = match self.wildcard {
                    Wildcard::Major => return true,
                    Wildcard::Minor => (c.major + 1, 0),
                    _ => (c.major, c.minor + 1),
                };
                v >= c && (v.major, v.minor) < upper
            }
            Operator::Caret => {
                if v < c {
                    return false;
                }
                match self.wildcard {
                    Wildcard::Major => true,
                    _ if c.major > 0 => v.major == c.major,
                    Wildcard::Minor => v.major == 0,
                    _ if c.minor > 0 => v.major == 0 && v.minor == c.minor,
                    Wildcard::Patch => v.major == 0 && v.minor == 0,
                    _ => v.major == 0 && v.minor == 0 && v.patch == c.patch,
                }
            }
        }
    }

    /// `=` with wildcards is a range (`1.2` and `1.2.x` are `>=1.2.0 <1.3.0`).
    fn in_wildcard_range(&self, v: &Version) -> bool {
        let c = &self.version;
        match self.wildcard {
            Wildcard::None => v == c || (v.cmp(c) == Ordering::Equal),
            Wildcard::Major => true,
            Wildcard::Minor => v.major == c.major,
            Wildcard::Patch => v.major == c.major && v.minor == c.minor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(constraint: &str, version: &str) -> bool {
        VersionConstraint::parse(constraint)
            .unwrap()
            .matches(&Version::parse(version).unwrap())
    }

    #[test]
    fn versions_parse_loosely_and_order_like_semver() {
        assert_eq!(Version::parse("v1.2").unwrap().to_string(), "1.2.0");
        assert!(Version::parse("1.2.3.4").is_err());
        assert!(Version::parse("1.a").is_err());
        assert!(Version::parse("1.0.0-alpha").unwrap() < Version::parse("1.0.0-alpha.1").unwrap());
        assert!(Version::parse("1.0.0-alpha.beta").unwrap() < Version::parse("1.0.0-beta").unwrap());
        assert!(Version::parse("1.0.0-rc.1").unwrap() < Version::parse("1.0.0").unwrap());
    }

    #[test]
    fn operators_follow_masterminds() {
        assert!(check("^1.2.3", "1.9.0"));
        assert!(!check("^1.2.3", "2.0.0"));
        assert!(check("^0.2.3", "0.2.9"));
        assert!(!check("^0.2.3", "0.3.0"));
        assert!(check("~1.2.3", "1.2.9"));
        assert!(!check("~1.2.3", "1.3.0"));
        assert!(check("~1", "1.9.9"));
        assert!(check(">= 1.0, < 2.0", "1.5.0"));
        assert!(!check(">= 1.0, < 2.0", "2.0.0"));
        assert!(check("1.2.x", "1.2.7"));
        assert!(!check("1.2.x", "1.3.0"));
        assert!(check("1.2", "1.2.7"));
        assert!(check("<1.0 || >=3", "3.1.0"));
        assert!(check("1.1 - 2", "2.0.0"));
        // `<= 2` is a wildcard comparison in Masterminds v3: every 2.x.y matches.
        assert!(check("1.1 - 2", "2.9.1"));
        assert!(!check("1.1 - 2", "3.0.0"));
        assert!(!check("1.1 - 2", "1.0.9"));
        assert!(check(">1.2", "1.3.0"));
        assert!(!check(">1.2", "1.2.5"));
        assert!(check("*", "4.5.6"));
        assert!(!check("*", "4.5.6-rc.1"));
        assert!(check(">=1.0.0-0", "1.2.0-rc.1"));
        assert!(check("!=1.2.3", "1.2.4"));
        assert!(check("v1.2.3", "1.2.3"));
    }

    #[test]
    fn bad_constraints_say_why() {
        assert!(
            VersionConstraint::parse("^1.2.3.4")
                .unwrap_err()
                .contains("not a version")
        );
        assert!(VersionConstraint::parse(">=").unwrap_err().contains("has no version"));
        assert!(
            VersionConstraint::parse("1.0 ||")
                .unwrap_err()
                .contains("empty alternative")
        );
        assert!(VersionConstraint::parse("latest").is_err());
    }
}
