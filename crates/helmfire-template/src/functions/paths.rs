//! Sprig's path functions (`base`, `dir`, `clean`, `ext`, `isAbs` and their `os*` forms, which
//! are the same on Linux): Go's `path` package. The chart loader cleans archive entry names with
//! the same [`clean`].

use std::sync::Arc;

use crate::{Func, Functions, Param};
use helmfire_value::Value;

/// Go's `path.Clean` for slash paths.
pub fn clean(p: &str) -> String {
    if p.is_empty() {
        return ".".to_string();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// Go's `path.Base`.
pub fn base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return "/".into();
    }
    t.rsplit('/').next().unwrap_or(t).to_string()
}

/// Go's `path.Dir`.
pub fn dir(p: &str) -> String {
    let cut = p.rfind('/').map_or(0, |i| i + 1);
    clean(&p[..cut])
}

/// Go's `path.Ext`.
pub fn ext(p: &str) -> String {
    for (i, c) in p.char_indices().rev() {
        match c {
            '/' => break,
            '.' => return p[i..].to_string(),
            _ => {}
        }
    }
    String::new()
}

type StrFn = Arc<dyn Fn(&str) -> Value + Send + Sync>;

/// A one-string-argument function.
fn string_func(body: StrFn) -> Func {
    Func {
        params: vec![Param::Str],
        variadic: None,
        builtin: false,
        call: Arc::new(move |_st, a: Vec<Value>| Ok(body(a.first().and_then(Value::as_str).unwrap_or("")))),
    }
}

pub fn register(f: &mut Functions) {
    type PathFn = fn(&str) -> String;
    let string_fns: [(&str, PathFn); 4] = [("base", base), ("dir", dir), ("clean", clean), ("ext", ext)];
    for (name, func) in string_fns {
        for n in [
            name.to_string(),
            format!("os{}{}", name[..1].to_uppercase(), &name[1..]),
        ] {
            if f.get(&n).is_none() {
                f.insert(&n, string_func(Arc::new(move |a: &str| Value::from(func(a)))));
            }
        }
    }
    for n in ["isAbs", "osIsAbs"] {
        if f.get(n).is_none() {
            f.insert(n, string_func(Arc::new(|a: &str| Value::Bool(a.starts_with('/')))));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_path_semantics() {
        assert_eq!(clean("a//b/../c/."), "a/c");
        assert_eq!(clean("/../a"), "/a");
        assert_eq!(clean("../../a"), "../../a");
        assert_eq!(clean(""), ".");
        assert_eq!(clean("a/../.."), "..");
        assert_eq!(clean("a/./b//c/"), "a/b/c");
        assert_eq!(base("a/b/"), "b");
        assert_eq!(base(""), ".");
        assert_eq!(dir("a/b/c"), "a/b");
        assert_eq!(dir("c"), ".");
        assert_eq!(ext("a/b.tar.gz"), ".gz");
        assert_eq!(ext("a.b/c"), "");
    }
}
