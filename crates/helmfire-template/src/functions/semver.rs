//! `semver` and `semverCompare` with Masterminds/semver v3.3.0 parsing and constraint rules
//! (the regular expressions below are the library's own).

use std::any::Any;
use std::cmp::Ordering;
use std::sync::{Arc, LazyLock};

use super::{Functions, Param, arg_str};
use crate::error::FuncError;
use Param::*;
use helmfire_value::{IntType, Object, Value};

const SEMVER: &str =
    r"v?([0-9]+)(\.[0-9]+)?(\.[0-9]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const CV: &str = r"v?([0-9|x|X|\*]+)(\.[0-9|x|X|\*]+)?(\.[0-9|x|X|\*]+)?(-([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?(\+([0-9A-Za-z\-]+(\.[0-9A-Za-z\-]+)*))?";
const OPS: &str = r"=||!=|>|<|>=|=>|<=|=<|~|~>|\^";

fn re(p: String) -> Option<regex::Regex> {
    regex::Regex::new(&p).ok()
}

static VERSION_RE: LazyLock<Option<regex::Regex>> = LazyLock::new(|| re(format!("^{SEMVER}$")));
static CONSTRAINT_RE: LazyLock<Option<regex::Regex>> = LazyLock::new(|| re(format!(r"^\s*({OPS})\s*({CV})\s*$")));
static RANGE_RE: LazyLock<Option<regex::Regex>> = LazyLock::new(|| re(format!(r"\s*({CV})\s+-\s+({CV})\s*")));
static FIND_RE: LazyLock<Option<regex::Regex>> = LazyLock::new(|| re(format!(r"({OPS})\s*({CV})")));
static VALID_RE: LazyLock<Option<regex::Regex>> =
    LazyLock::new(|| re(format!(r"^(\s*({OPS})\s*({CV})\s*)((?:\s+|,\s*)({OPS})\s*({CV})\s*)*$")));

/// A Masterminds `*semver.Version`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
    pub pre: String,
    pub metadata: String,
    pub original: String,
}

impl Version {
    /// `semver.NewVersion`.
    pub fn parse(v: &str) -> Result<Version, String> {
        let m = VERSION_RE
            .as_ref()
            .and_then(|r| r.captures(v))
            .ok_or("invalid semantic version")?;
        let get = |i: usize| m.get(i).map_or("", |x| x.as_str());
        let seg = |s: &str| -> Result<u64, String> {
            if s.is_empty() {
                return Ok(0);
            }
            s.trim_start_matches('.').parse::<u64>().map_err(|_| {
                format!(
                    "error parsing version segment: strconv.ParseUint: parsing {}: value out of range",
                    crate::fmt::quote_go(s.trim_start_matches('.'))
                )
            })
        };
        let pre = get(5).to_string();
        let metadata = get(8).to_string();
        let version = Version {
            major: seg(get(1))?,
            minor: seg(get(2))?,
            patch: seg(get(3))?,
            pre,
            metadata,
            original: v.to_string(),
        };
        for p in version.pre.split('.').filter(|_| !version.pre.is_empty()) {
            if p.bytes().all(|b| b.is_ascii_digit()) {
                if p.len() > 1 && p.starts_with('0') {
                    return Err("version segment starts with 0".into());
                }
            } else if !p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
                return Err("invalid prerelease string".into());
            }
        }
        Ok(version)
    }

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
}

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
        let s = sp.get(i).copied().unwrap_or("");
        let o = op.get(i).copied().unwrap_or("");
        let d = compare_pre_part(s, o);
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
    match (s.parse::<u64>(), o.parse::<u64>()) {
        (Err(_), Err(_)) => {
            if s > o {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (_, Err(_)) => Ordering::Less,
        (Err(_), _) => Ordering::Greater,
        (Ok(x), Ok(y)) => {
            if x > y {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
    }
}

impl Object for Version {
    fn type_name(&self) -> &str {
        "*semver.Version"
    }
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    fn to_plain(&self) -> Value {
        Value::from(self.to_string())
    }
    fn string(&self) -> Option<String> {
        Some(self.to_string())
    }
    fn has_method(&self, name: &str) -> bool {
        matches!(
            name,
            "Major" | "Minor" | "Patch" | "Prerelease" | "Metadata" | "Original" | "String"
        )
    }
    fn call_method(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        if !args.is_empty() {
            return Err(format!("wrong number of args for {name}: want 0 got {}", args.len()));
        }
        let u = |x: u64| Value::Int(x as i64, IntType::Uint64);
        Ok(match name {
            "Major" => u(self.major),
            "Minor" => u(self.minor),
            "Patch" => u(self.patch),
            "Prerelease" => Value::from(self.pre.clone()),
            "Metadata" => Value::from(self.metadata.clone()),
            "Original" => Value::from(self.original.clone()),
            _ => Value::from(self.to_string()),
        })
    }
    fn kind(&self) -> &str {
        "ptr"
    }
    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

struct Constraint {
    con: Version,
    op: String,
    minor_dirty: bool,
    patch_dirty: bool,
    dirty: bool,
}

fn is_x(s: &str) -> bool {
    matches!(s, "x" | "*" | "X")
}

fn parse_constraint(c: &str) -> Result<Constraint, String> {
    if c.is_empty() {
        return Ok(Constraint {
            con: Version::parse("0.0.0")?,
            op: String::new(),
            minor_dirty: false,
            patch_dirty: false,
            dirty: true,
        });
    }
    let m = CONSTRAINT_RE
        .as_ref()
        .and_then(|r| r.captures(c))
        .ok_or_else(|| format!("improper constraint: {c}"))?;
    let g = |i: usize| m.get(i).map_or("", |x| x.as_str());
    let (mut minor_dirty, mut patch_dirty, mut dirty) = (false, false, false);
    let ver = if is_x(g(3)) || g(3).is_empty() {
        dirty = true;
        format!("0.0.0{}", g(6))
    } else if is_x(g(4).trim_start_matches('.')) || g(4).is_empty() {
        minor_dirty = true;
        dirty = true;
        format!("{}.0.0{}", g(3), g(6))
    } else if is_x(g(5).trim_start_matches('.')) || g(5).is_empty() {
        dirty = true;
        patch_dirty = true;
        format!("{}{}.0{}", g(3), g(4), g(6))
    } else {
        g(2).to_string()
    };
    let con = Version::parse(&ver).map_err(|_| "constraint parser error".to_string())?;
    Ok(Constraint {
        con,
        op: g(1).to_string(),
        minor_dirty,
        patch_dirty,
        dirty,
    })
}

fn check(v: &Version, c: &Constraint, include_pre: bool) -> bool {
    let pre_excluded = !v.pre.is_empty() && !include_pre;
    let tilde = |v: &Version, c: &Constraint| {
        if pre_excluded || v.compare(&c.con) == Ordering::Less {
            return false;
        }
        if c.con.major == 0 && c.con.minor == 0 && c.con.patch == 0 && !c.minor_dirty && !c.patch_dirty {
            return true;
        }
        if v.major != c.con.major {
            return false;
        }
        v.minor == c.con.minor || c.minor_dirty
    };
    match c.op.as_str() {
        "" | "=" => {
            if pre_excluded {
                return false;
            }
            if c.dirty {
                return tilde(v, c);
            }
            v.compare(&c.con) == Ordering::Equal
        }
        "!=" => {
            if pre_excluded {
                return false;
            }
            if c.dirty {
                if c.con.major != v.major {
                    return true;
                }
                if c.con.minor != v.minor && !c.minor_dirty {
                    return true;
                } else if c.minor_dirty {
                    return false;
                } else if c.con.patch != v.patch && !c.patch_dirty {
                    return true;
                } else if c.patch_dirty {
                    if !v.pre.is_empty() || !c.con.pre.is_empty() {
                        return compare_prerelease(&v.pre, &c.con.pre) != Ordering::Equal;
                    }
                    return false;
                }
            }
            v.compare(&c.con) != Ordering::Equal
        }
        ">" => {
            if pre_excluded {
                return false;
            }
            if !c.dirty {
                return v.compare(&c.con) == Ordering::Greater;
            }
            if v.major > c.con.major {
                return true;
            } else if v.major < c.con.major || c.minor_dirty {
                return false;
            } else if c.patch_dirty {
                return v.minor > c.con.minor;
            }
            v.compare(&c.con) == Ordering::Greater
        }
        "<" => !pre_excluded && v.compare(&c.con) == Ordering::Less,
        ">=" | "=>" => !pre_excluded && v.compare(&c.con) != Ordering::Less,
        "<=" | "=<" => {
            if pre_excluded {
                return false;
            }
            if !c.dirty {
                return v.compare(&c.con) != Ordering::Greater;
            }
            if v.major > c.con.major {
                return false;
            }
            !(v.major == c.con.major && v.minor > c.con.minor && !c.minor_dirty)
        }
        "~" | "~>" => tilde(v, c),
        "^" => {
            if pre_excluded || v.compare(&c.con) == Ordering::Less {
                return false;
            }
            if c.con.major > 0 || c.minor_dirty {
                return v.major == c.con.major;
            }
            if c.con.major == 0 && v.major > 0 {
                return false;
            }
            if c.con.minor > 0 || c.patch_dirty {
                return v.minor == c.con.minor;
            }
            if c.con.minor == 0 && v.minor > 0 {
                return false;
            }
            c.con.patch == v.patch
        }
        _ => false,
    }
}

/// `semver.NewConstraint(c).Check(v)`.
pub fn constraint_check(constraint: &str, v: &Version) -> Result<bool, String> {
    let mut c = constraint.to_string();
    if let Some(rr) = RANGE_RE.as_ref() {
        let found: Vec<(String, String, String)> = rr
            .captures_iter(&c)
            .map(|m| {
                (
                    m.get(0).map_or("", |x| x.as_str()).to_string(),
                    m.get(1).map_or("", |x| x.as_str()).to_string(),
                    m.get(11).map_or("", |x| x.as_str()).to_string(),
                )
            })
            .collect();
        for (all, a, b) in found {
            c = c.replacen(&all, &format!(">= {a}, <= {b} "), 1);
        }
    }
    let mut ors = Vec::new();
    for part in c.split("||") {
        if !VALID_RE.as_ref().is_some_and(|r| r.is_match(part)) {
            return Err(format!("improper constraint: {part}"));
        }
        let mut cs: Vec<String> = FIND_RE
            .as_ref()
            .map(|r| r.find_iter(part).map(|m| m.as_str().to_string()).collect())
            .unwrap_or_default();
        if cs.is_empty() {
            cs.push(part.to_string());
        }
        let mut group = Vec::new();
        for s in cs {
            group.push(parse_constraint(&s)?);
        }
        ors.push(group);
    }
    Ok(ors.iter().any(|group| {
        let include_pre = group.iter().any(|c| !c.con.pre.is_empty());
        group.iter().all(|c| check(v, c, include_pre))
    }))
}

pub fn register(f: &mut Functions) {
    f.pure("semver", &[Str], None, |a| {
        Version::parse(arg_str(&a[0]))
            .map(|v| Value::Object(Arc::new(v)))
            .map_err(FuncError::Plain)
    });
    f.pure("semverCompare", &[Str, Str], None, |a| {
        let v = Version::parse(arg_str(&a[1])).map_err(FuncError::Plain);
        let c = constraint_check(arg_str(&a[0]), &Version::parse("0.0.0").map_err(FuncError::Plain)?);
        // Go parses the constraint first, then the version; report errors in that order.
        if let Err(e) = c {
            return Err(FuncError::Plain(e));
        }
        let v = v?;
        constraint_check(arg_str(&a[0]), &v)
            .map(Value::Bool)
            .map_err(FuncError::Plain)
    });
}
