//! Sprig's regex functions with Go RE2 semantics on the `regex` crate. Go's `\d \w \s \b`
//! are ASCII-only while the crate's are Unicode, so patterns are translated first.

use std::sync::{Arc, Mutex};

use super::{Functions, Param, arg_int, arg_str, str_list};
use crate::error::FuncError;
use Param::*;
use helmfire_value::Value;

/// Rewrites Go-only or differently-meant syntax for the `regex` crate.
fn translate(pat: &str) -> String {
    let mut out = String::with_capacity(pat.len() + 8);
    let mut chars = pat.chars().peekable();
    let mut in_class = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(n) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let (cls, neg) = match n {
                    'd' => (Some("0-9"), false),
                    'D' => (Some("0-9"), true),
                    'w' => (Some("0-9A-Za-z_"), false),
                    'W' => (Some("0-9A-Za-z_"), true),
                    's' => (Some("\\t\\n\\f\\r "), false),
                    'S' => (Some("\\t\\n\\f\\r "), true),
                    _ => (None, false),
                };
                match cls {
                    Some(body) if in_class && !neg => out.push_str(body),
                    Some(body) if !in_class => {
                        out.push('[');
                        if neg {
                            out.push('^');
                        }
                        out.push_str(body);
                        out.push(']');
                    }
                    _ => {
                        if !in_class && (n == 'b' || n == 'B') {
                            out.push_str(if n == 'b' { "(?-u:\\b)" } else { "(?-u:\\B)" });
                        } else {
                            out.push('\\');
                            out.push(n);
                        }
                    }
                }
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push_str("\\]");
                    chars.next();
                }
            }
            '[' if in_class && chars.peek() == Some(&':') => {
                // POSIX class like [:alpha:] inside a bracket.
                out.push('[');
                for d in chars.by_ref() {
                    out.push(d);
                    if d == ']' {
                        break;
                    }
                }
            }
            '[' => out.push_str("\\["),
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            c => out.push(c),
        }
    }
    out
}

type Cache = Arc<Mutex<std::collections::HashMap<String, Result<regex::Regex, String>>>>;

fn compile(cache: &Cache, pat: &str) -> Result<regex::Regex, String> {
    if let Ok(c) = cache.lock()
        && let Some(r) = c.get(pat)
    {
        return r.clone();
    }
    let r = regex::RegexBuilder::new(&translate(pat))
        .size_limit(1 << 24)
        .build()
        .map_err(|e| {
            let detail = match e {
                regex::Error::Syntax(s) => s
                    .lines()
                    .last()
                    .unwrap_or("")
                    .trim()
                    .trim_start_matches("error: ")
                    .to_string(),
                other => other.to_string(),
            };
            let detail = match detail.as_str() {
                "unclosed group" => "missing closing )".to_string(),
                "unclosed character class" => "missing closing ]".to_string(),
                "unopened group" => "unexpected )".to_string(),
                other => other.to_string(),
            };
            let shown = if detail == "missing closing ]" {
                pat.rfind('[').map_or(pat, |i| &pat[i..])
            } else {
                pat
            };
            format!("error parsing regexp: {detail}: `{shown}`")
        });
    if let Ok(mut c) = cache.lock()
        && c.len() < 1000
    {
        c.insert(pat.to_string(), r.clone());
    }
    r
}

/// `MustCompile` panics with this text.
fn must(cache: &Cache, pat: &str) -> Result<regex::Regex, FuncError> {
    compile(cache, pat).map_err(|e| FuncError::Plain(format!("regexp: Compile({}): {e}", go_backquote(pat))))
}

fn go_backquote(s: &str) -> String {
    if s.contains('`') {
        crate::fmt::quote_go(s)
    } else {
        format!("`{s}`")
    }
}

fn find_all(re: &regex::Regex, s: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    let it = re.find_iter(s).map(|m| m.as_str().to_string());
    if n < 0 {
        it.collect()
    } else {
        it.take(n as usize).collect()
    }
}

/// Go's `Regexp.Split`.
fn split(re: &regex::Regex, s: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if !re.as_str().is_empty() && s.is_empty() {
        return vec![String::new()];
    }
    let matches: Vec<(usize, usize)> = re.find_iter(s).map(|m| (m.start(), m.end())).collect();
    let mut out = Vec::new();
    let (mut beg, mut end) = (0, 0);
    for (ms, me) in matches {
        if n > 0 && out.len() as i64 == n - 1 {
            break;
        }
        end = ms;
        if me != 0 {
            out.push(s[beg..end].to_string());
        }
        beg = me;
    }
    if end != s.len() {
        out.push(s[beg..].to_string());
    }
    out
}

/// Go's `regexp.QuoteMeta`.
fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub fn register(f: &mut Functions) {
    let cache: Cache = Arc::default();
    let c = cache.clone();
    f.pure("regexMatch", &[Str, Str], None, move |a| {
        Ok(Value::Bool(
            compile(&c, arg_str(&a[0])).is_ok_and(|r| r.is_match(arg_str(&a[1]))),
        ))
    });
    let c = cache.clone();
    f.pure("mustRegexMatch", &[Str, Str], None, move |a| {
        let r = compile(&c, arg_str(&a[0])).map_err(FuncError::Plain)?;
        Ok(Value::Bool(r.is_match(arg_str(&a[1]))))
    });
    for name in ["regexFindAll", "mustRegexFindAll"] {
        let c = cache.clone();
        let is_must = name.starts_with("must");
        f.pure(name, &[Str, Str, Int], None, move |a| {
            let r = if is_must {
                compile(&c, arg_str(&a[0])).map_err(FuncError::Plain)?
            } else {
                must(&c, arg_str(&a[0]))?
            };
            Ok(str_list(find_all(&r, arg_str(&a[1]), arg_int(&a[2]))))
        });
    }
    for name in ["regexFind", "mustRegexFind"] {
        let c = cache.clone();
        let is_must = name.starts_with("must");
        f.pure(name, &[Str, Str], None, move |a| {
            let r = if is_must {
                compile(&c, arg_str(&a[0])).map_err(FuncError::Plain)?
            } else {
                must(&c, arg_str(&a[0]))?
            };
            Ok(Value::from(r.find(arg_str(&a[1])).map(|m| m.as_str()).unwrap_or("")))
        });
    }
    for name in [
        "regexReplaceAll",
        "mustRegexReplaceAll",
        "regexReplaceAllLiteral",
        "mustRegexReplaceAllLiteral",
    ] {
        let c = cache.clone();
        let is_must = name.starts_with("must");
        let literal = name.ends_with("Literal");
        f.pure(name, &[Str, Str, Str], None, move |a| {
            let r = if is_must {
                compile(&c, arg_str(&a[0])).map_err(FuncError::Plain)?
            } else {
                must(&c, arg_str(&a[0]))?
            };
            let (s, repl) = (arg_str(&a[1]), arg_str(&a[2]));
            let out = if literal {
                r.replace_all(s, regex::NoExpand(repl)).into_owned()
            } else {
                r.replace_all(s, repl).into_owned()
            };
            Ok(Value::from(out))
        });
    }
    for name in ["regexSplit", "mustRegexSplit"] {
        let c = cache.clone();
        let is_must = name.starts_with("must");
        f.pure(name, &[Str, Str, Int], None, move |a| {
            let r = if is_must {
                compile(&c, arg_str(&a[0])).map_err(FuncError::Plain)?
            } else {
                must(&c, arg_str(&a[0]))?
            };
            Ok(str_list(split(&r, arg_str(&a[1]), arg_int(&a[2]))))
        });
    }
    f.pure("regexQuoteMeta", &[Str], None, |a| {
        Ok(Value::from(quote_meta(arg_str(&a[0]))))
    });
}
