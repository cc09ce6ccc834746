//! Sprig's list functions (list.go): list, push/append, prepend, first, rest, last, initial,
//! reverse, uniq, without, has, slice, concat, chunk, compact, and their `must` variants.

use std::sync::Arc;

use super::{Functions, Param, list_items, runtime_error, to_int64};
use crate::error::FuncError;
use Param::*;
use helmfire_value::{ListType, Value};

const NIL_DEREF: &str = "invalid memory address or nil pointer dereference";

/// Go's `reflect.Kind` name of a value, as Sprig's error messages print it.
pub fn kind_name(v: &Value) -> String {
    match v {
        Value::Nil => "invalid".into(),
        Value::Bool(_) => "bool".into(),
        Value::Int(_, t) => crate::fmt::int_type_name(*t).into(),
        Value::Float(_) => "float64".into(),
        Value::String(_) => "string".into(),
        Value::Bytes(_) | Value::List(..) => "slice".into(),
        Value::Map(..) => "map".into(),
        Value::Object(o) => o.kind().into(),
    }
}

/// The elements of a list argument, or Sprig's error for other kinds (nil panics in Go).
fn items(v: &Value, what: &str) -> Result<Vec<Value>, FuncError> {
    if v.is_nil() {
        return Err(runtime_error(NIL_DEREF));
    }
    list_items(v).ok_or_else(|| FuncError::Plain(format!("Cannot {what} type {}", kind_name(v))))
}

fn list(v: Vec<Value>) -> Value {
    Value::List(Arc::new(v), ListType::Interface)
}

/// Go's `reflect.DeepEqual` over template values (types must match).
pub fn deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x, t), Value::Int(y, u)) => x == y && t == u,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::Bytes(x), Value::Bytes(y)) => x == y,
        (Value::List(x, t), Value::List(y, u)) => {
            t == u && x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| deep_equal(p, q))
        }
        (Value::Map(x, t), Value::Map(y, u)) => {
            if t != u {
                return false;
            }
            if x.same(y) {
                return true;
            }
            let (x, y) = (x.read(), y.read());
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        (Value::Object(x), Value::Object(y)) => {
            Arc::ptr_eq(x, y) || (x.type_name() == y.type_name() && deep_equal(&x.to_plain(), &y.to_plain()))
        }
        _ => false,
    }
}

fn register_pair(
    f: &mut Functions,
    names: &[&str],
    params: &[Param],
    variadic: Option<Param>,
    imp: fn(&[Value]) -> Result<Value, FuncError>,
) {
    for name in names {
        f.pure(name, params, variadic, move |a| imp(&a));
    }
}

pub fn register(f: &mut Functions) {
    register_pair(f, &["list", "tuple"], &[], Some(Any), |a| Ok(list(a.to_vec())));
    register_pair(
        f,
        &["push", "append", "mustPush", "mustAppend"],
        &[Any, Any],
        None,
        |a| {
            let mut l = items(&a[0], "push on")?;
            l.push(a[1].clone());
            Ok(list(l))
        },
    );
    register_pair(f, &["prepend", "mustPrepend"], &[Any, Any], None, |a| {
        let mut l = items(&a[0], "prepend on")?;
        l.insert(0, a[1].clone());
        Ok(list(l))
    });
    register_pair(f, &["chunk", "mustChunk"], &[Int, Any], None, |a| {
        let size = match &a[0] {
            Value::Int(i, _) => *i,
            _ => 0,
        };
        let l = items(&a[1], "chunk")?;
        if size <= 0 {
            return Err(runtime_error("integer divide by zero"));
        }
        let size = size as usize;
        let chunks: Vec<Value> = l.chunks(size).map(|c| list(c.to_vec())).collect();
        Ok(Value::List(Arc::new(chunks), ListType::InterfaceLists))
    });
    register_pair(f, &["last", "mustLast"], &[Any], None, |a| {
        let l = items(&a[0], "find last on")?;
        Ok(l.last().cloned().unwrap_or_default())
    });
    register_pair(f, &["first", "mustFirst"], &[Any], None, |a| {
        let l = items(&a[0], "find first on")?;
        Ok(l.first().cloned().unwrap_or_default())
    });
    register_pair(f, &["rest", "mustRest"], &[Any], None, |a| {
        let l = items(&a[0], "find rest on")?;
        if l.is_empty() {
            return Ok(list(l));
        }
        Ok(list(l[1..].to_vec()))
    });
    register_pair(f, &["initial", "mustInitial"], &[Any], None, |a| {
        let l = items(&a[0], "find initial on")?;
        if l.is_empty() {
            return Ok(list(l));
        }
        Ok(list(l[..l.len() - 1].to_vec()))
    });
    register_pair(f, &["reverse", "mustReverse"], &[Any], None, |a| {
        let mut l = items(&a[0], "find reverse on")?;
        l.reverse();
        Ok(list(l))
    });
    register_pair(f, &["compact", "mustCompact"], &[Any], None, |a| {
        let l = items(&a[0], "compact on")?;
        Ok(list(l.into_iter().filter(|v| !super::empty(v)).collect()))
    });
    register_pair(f, &["uniq", "mustUniq"], &[Any], None, |a| {
        let l = items(&a[0], "find uniq on")?;
        let mut out: Vec<Value> = Vec::new();
        for v in l {
            if !out.iter().any(|o| deep_equal(&v, o)) {
                out.push(v);
            }
        }
        Ok(list(out))
    });
    register_pair(f, &["without", "mustWithout"], &[Any], Some(Any), |a| {
        let l = items(&a[0], "find without on")?;
        let omit = &a[1..];
        Ok(list(
            l.into_iter()
                .filter(|v| !omit.iter().any(|o| deep_equal(v, o)))
                .collect(),
        ))
    });
    register_pair(f, &["has", "mustHas"], &[Any, Any], None, |a| {
        if a[1].is_nil() {
            return Ok(Value::Bool(false));
        }
        let l = items(&a[1], "find has on")?;
        Ok(Value::Bool(l.iter().any(|v| deep_equal(&a[0], v))))
    });
    register_pair(f, &["slice", "mustSlice"], &[Any], Some(Any), |a| {
        if a[0].is_nil() {
            return Err(runtime_error(NIL_DEREF));
        }
        let (l, t) = match &a[0] {
            Value::List(l, t) => (l.as_ref().clone(), *t),
            Value::Bytes(_) => (list_items(&a[0]).unwrap_or_default(), ListType::Int),
            other => {
                return Err(FuncError::Plain(format!(
                    "list should be type of slice or array but {}",
                    kind_name(other)
                )));
            }
        };
        if l.is_empty() {
            return Ok(Value::Nil);
        }
        let start = a.get(1).map(to_int64).unwrap_or(0);
        let end = if a.len() < 3 { l.len() as i64 } else { to_int64(&a[2]) };
        if start < 0 || end < start || end as usize > l.len() {
            return Err(FuncError::msg("reflect.Value.Slice: slice index out of bounds"));
        }
        let part = l[start as usize..end as usize].to_vec();
        if let Value::Bytes(b) = &a[0] {
            return Ok(Value::Bytes(b[start as usize..end as usize].into()));
        }
        Ok(Value::List(Arc::new(part), t))
    });
    f.pure("concat", &[], Some(Any), |a| {
        let mut out = Vec::new();
        for l in &a {
            if l.is_nil() {
                return Err(runtime_error(NIL_DEREF));
            }
            match list_items(l) {
                Some(items) => out.extend(items),
                None => {
                    return Err(FuncError::Plain(format!("Cannot concat type {} as list", kind_name(l))));
                }
            }
        }
        Ok(list(out))
    });
    f.pure("until", &[Int], None, |a| {
        let n = super::arg_int(&a[0]);
        Ok(int_list(until_step(0, n, if n < 0 { -1 } else { 1 })))
    });
    f.pure("untilStep", &[Int, Int, Int], None, |a| {
        Ok(int_list(until_step(
            super::arg_int(&a[0]),
            super::arg_int(&a[1]),
            super::arg_int(&a[2]),
        )))
    });
    f.pure("seq", &[], Some(Int), |a| {
        let p: Vec<i64> = a.iter().map(super::arg_int).collect();
        let v = match p.len() {
            1 => {
                let (start, end) = (1, p[0]);
                let inc = if end < start { -1 } else { 1 };
                until_step(start, end + inc, inc)
            }
            2 => {
                let (start, end) = (p[0], p[1]);
                let step = if end < start { -1 } else { 1 };
                until_step(start, end + step, step)
            }
            3 => {
                let (start, step, end) = (p[0], p[1], p[2]);
                let mut inc = 1;
                if end < start {
                    inc = -1;
                    if step > 0 {
                        return Ok(Value::from(""));
                    }
                }
                until_step(start, end + inc, step)
            }
            _ => return Ok(Value::from("")),
        };
        let parts: Vec<String> = v.iter().map(|i| i.to_string()).collect();
        Ok(Value::from(parts.join(" ")))
    });
}

fn int_list(v: Vec<i64>) -> Value {
    Value::List(Arc::new(v.into_iter().map(super::go_int).collect()), ListType::Int)
}

const MAX_RANGE: usize = 10_000_000;

fn until_step(start: i64, stop: i64, step: i64) -> Vec<i64> {
    let mut v = Vec::new();
    if stop < start {
        if step >= 0 {
            return v;
        }
        let mut i = start;
        while i > stop && v.len() < MAX_RANGE {
            v.push(i);
            i += step;
        }
        return v;
    }
    if step <= 0 {
        return v;
    }
    let mut i = start;
    while i < stop && v.len() < MAX_RANGE {
        v.push(i);
        i = match i.checked_add(step) {
            Some(n) => n,
            None => break,
        };
    }
    v
}
