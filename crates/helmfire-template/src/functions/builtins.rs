//! Go's text/template builtins (`funcs.go`): and, or, not, len, index, print*, html, js,
//! urlquery, call. `and`/`or`/`call` are evaluated specially by the executor.

use super::{Functions, Param, go_int};
use crate::error::FuncError;
use crate::exec::truth;
use crate::fmt::{sprint, sprintf, sprintln, type_name};
use Param::*;
use helmfire_value::{IntType, MapType, Value};

pub fn register(f: &mut Functions) {
    for name in ["and", "or"] {
        f.pure(name, &[Reflect], Some(Reflect), |a| {
            Ok(a.into_iter().next().unwrap_or_default())
        });
        if let Some(func) = f.map.get_mut(name) {
            func.builtin = true;
        }
    }
    f.pure("call", &[Reflect], Some(Reflect), |_| Ok(Value::Nil));
    f.pure("len", &[Reflect], None, |a| length(&a[0]));
    for name in ["call", "len"] {
        if let Some(func) = f.map.get_mut(name) {
            func.builtin = true;
        }
    }
    f.pure("not", &[Reflect], None, |a| Ok(Value::Bool(!truth(&a[0]))));
    f.pure("index", &[Reflect], Some(Reflect), |a| index(&a[0], &a[1..]));
    f.pure("print", &[], Some(Any), |a| Ok(Value::from(sprint(&a))));
    f.pure("println", &[], Some(Any), |a| Ok(Value::from(sprintln(&a))));
    f.pure("printf", &[Str], Some(Any), |a| {
        Ok(Value::from(sprintf(a[0].as_str().unwrap_or(""), &a[1..])))
    });
    f.pure("html", &[], Some(Any), |a| Ok(Value::from(html_escape(&eval_args(&a)))));
    f.pure("js", &[], Some(Any), |a| Ok(Value::from(js_escape(&eval_args(&a)))));
    f.pure("urlquery", &[], Some(Any), |a| {
        Ok(Value::from(query_escape(&eval_args(&a))))
    });
}

/// Go's `evalArgs`: a lone string as is, else `fmt.Sprint` with nil shown as `<no value>`.
fn eval_args(args: &[Value]) -> String {
    if let [Value::String(s)] = args {
        return s.to_string();
    }
    let shown: Vec<Value> = args
        .iter()
        .map(|a| {
            if a.is_nil() {
                Value::from("<no value>")
            } else {
                a.clone()
            }
        })
        .collect();
    sprint(&shown)
}

/// Go's `len` and `index` see a map- or slice-kinded object (helm's `engine.files`) through
/// reflection, as its plain value.
fn reflected(v: &Value) -> std::borrow::Cow<'_, Value> {
    match v {
        Value::Object(o) if matches!(o.kind(), "map" | "slice") => std::borrow::Cow::Owned(o.to_plain()),
        other => std::borrow::Cow::Borrowed(other),
    }
}

fn length(v: &Value) -> Result<Value, FuncError> {
    let n = match &*reflected(v) {
        Value::Nil => return Err(FuncError::msg("len of nil pointer")),
        Value::String(s) => s.len(),
        Value::Bytes(b) => b.len(),
        Value::List(l, _) => l.len(),
        Value::Map(m, _) => m.read().len(),
        other => {
            return Err(FuncError::Plain(format!("len of type {}", type_name(other))));
        }
    };
    Ok(go_int(n as i64))
}

fn index_arg(index: &Value, cap: usize) -> Result<usize, FuncError> {
    let x = match index {
        Value::Int(i, _) => *i,
        Value::Nil => return Err(FuncError::msg("cannot index slice/array with nil")),
        other => {
            return Err(FuncError::Plain(format!(
                "cannot index slice/array with type {}",
                type_name(other)
            )));
        }
    };
    if x < 0 || x as u64 > cap as u64 {
        return Err(FuncError::Plain(format!("index out of range: {x}")));
    }
    Ok(x as usize)
}

fn index(item: &Value, indexes: &[Value]) -> Result<Value, FuncError> {
    if item.is_nil() && indexes.is_empty() {
        return Err(FuncError::msg("index of untyped nil"));
    }
    if item.is_nil() {
        return Err(FuncError::msg("index of untyped nil"));
    }
    let mut item = reflected(item).into_owned();
    for idx in indexes {
        item = match &item {
            Value::Nil => return Err(FuncError::msg("index of nil pointer")),
            Value::List(l, _) => {
                let x = index_arg(idx, l.len())?;
                match l.get(x) {
                    Some(v) => v.clone(),
                    None => return Err(FuncError::msg("reflect: slice index out of range")),
                }
            }
            Value::String(s) => {
                let x = index_arg(idx, s.len())?;
                match s.as_bytes().get(x) {
                    Some(b) => Value::Int(*b as i64, IntType::Uint8),
                    None => return Err(FuncError::msg("reflect: string index out of range")),
                }
            }
            Value::Bytes(b) => {
                let x = index_arg(idx, b.len())?;
                match b.get(x) {
                    Some(v) => Value::Int(*v as i64, IntType::Uint8),
                    None => return Err(FuncError::msg("reflect: slice index out of range")),
                }
            }
            Value::Map(m, t) => {
                let key = match idx {
                    Value::String(s) => s.to_string(),
                    Value::Nil => {
                        return Err(FuncError::msg("value is nil; should be of type string"));
                    }
                    other => {
                        return Err(FuncError::Plain(format!(
                            "value has type {}; should be string",
                            type_name(other)
                        )));
                    }
                };
                match m.read().get(&key) {
                    Some(v) => v.clone(),
                    None => match t {
                        MapType::Interface | MapType::Values => Value::Nil,
                        MapType::String => Value::from(""),
                    },
                }
            }
            other => {
                return Err(FuncError::Plain(format!(
                    "can't index item of type {}",
                    type_name(other)
                )));
            }
        };
    }
    Ok(item)
}

/// Go's `template.HTMLEscapeString`.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\0' => out.push('\u{FFFD}'),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Go's `template.JSEscapeString`.
pub fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c if !c.is_ascii() && (c.is_control() || c == '\u{2028}' || c == '\u{2029}') => {
                out.push_str(&format!("\\u{:04X}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
