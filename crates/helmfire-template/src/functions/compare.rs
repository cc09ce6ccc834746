//! Go's comparison builtins (`eq ne lt le gt ge`) with Go's type rules: basic kinds only,
//! ints and uints compare by value, int against float64 is an error.

use std::sync::Arc;

use super::{Functions, Param};
use crate::error::FuncError;
use crate::fmt::{sprint_value, sprintf, type_name};
use helmfire_value::{IntType, Value};

#[derive(PartialEq, Eq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Uint,
    Float,
    String,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Bool(_) => Kind::Bool,
        Value::Int(_, t) => match t {
            IntType::Uint | IntType::Uint8 | IntType::Uint16 | IntType::Uint32 | IntType::Uint64 => Kind::Uint,
            _ => Kind::Int,
        },
        Value::Float(_) => Kind::Float,
        Value::String(_) => Kind::String,
        _ => Kind::Invalid,
    }
}

const BAD_TYPE: &str = "invalid type for comparison";

fn int(v: &Value) -> i64 {
    if let Value::Int(i, _) = v { *i } else { 0 }
}

fn incompatible(a: &Value, b: &Value) -> FuncError {
    FuncError::Plain(format!(
        "incompatible types for comparison: {} and {}",
        type_name(a),
        type_name(b)
    ))
}

fn is_nil(v: &Value) -> bool {
    v.is_nil()
}

pub fn eq(a: &Value, others: &[Value]) -> Result<bool, FuncError> {
    if others.is_empty() {
        return Err(FuncError::msg("missing argument for comparison"));
    }
    let k1 = kind(a);
    for b in others {
        let k2 = kind(b);
        let truth = if k1 != k2 {
            match (k1, k2) {
                (Kind::Int, Kind::Uint) => int(a) >= 0 && int(a) as u64 == int(b) as u64,
                (Kind::Uint, Kind::Int) => int(b) >= 0 && int(a) as u64 == int(b) as u64,
                _ => {
                    if !a.is_nil() && !b.is_nil() {
                        return Err(incompatible(a, b));
                    }
                    false
                }
            }
        } else {
            match (a, b) {
                (Value::Bool(x), Value::Bool(y)) => x == y,
                (Value::Float(x), Value::Float(y)) => x == y,
                (Value::Int(x, _), Value::Int(y, _)) => x == y,
                (Value::String(x), Value::String(y)) => x == y,
                _ => {
                    let same_kind = std::mem::discriminant(a) == std::mem::discriminant(b);
                    if !same_kind && !a.is_nil() && !b.is_nil() {
                        return Err(FuncError::Plain(format!(
                            "non-comparable types {}: {}, {}: {}",
                            sprintf("%s", std::slice::from_ref(a)),
                            type_name(a),
                            type_name(b),
                            sprint_value(b)
                        )));
                    }
                    if is_nil(a) || is_nil(b) {
                        is_nil(a) == is_nil(b)
                    } else {
                        match (a, b) {
                            (Value::Object(x), Value::Object(y)) => Arc::ptr_eq(x, y),
                            _ => {
                                return Err(FuncError::Plain(format!(
                                    "non-comparable type {}: {}",
                                    sprintf("%s", std::slice::from_ref(b)),
                                    type_name(b)
                                )));
                            }
                        }
                    }
                }
            }
        };
        if truth {
            return Ok(true);
        }
    }
    Ok(false)
}

pub fn lt(a: &Value, b: &Value) -> Result<bool, FuncError> {
    let k1 = kind(a);
    if k1 == Kind::Invalid {
        return Err(FuncError::msg(BAD_TYPE));
    }
    let k2 = kind(b);
    if k2 == Kind::Invalid {
        return Err(FuncError::msg(BAD_TYPE));
    }
    if k1 != k2 {
        return match (k1, k2) {
            (Kind::Int, Kind::Uint) => Ok(int(a) < 0 || (int(a) as u64) < int(b) as u64),
            (Kind::Uint, Kind::Int) => Ok(int(b) >= 0 && (int(a) as u64) < int(b) as u64),
            _ => Err(incompatible(a, b)),
        };
    }
    Ok(match (a, b) {
        (Value::Bool(_), _) => return Err(FuncError::msg(BAD_TYPE)),
        (Value::Float(x), Value::Float(y)) => x < y,
        (Value::Int(x, _), Value::Int(y, _)) => {
            if k1 == Kind::Uint {
                (*x as u64) < (*y as u64)
            } else {
                x < y
            }
        }
        (Value::String(x), Value::String(y)) => x < y,
        _ => return Err(FuncError::msg(BAD_TYPE)),
    })
}

fn le(a: &Value, b: &Value) -> Result<bool, FuncError> {
    if lt(a, b)? {
        return Ok(true);
    }
    eq(a, std::slice::from_ref(b))
}

pub fn register(f: &mut Functions) {
    use Param::Reflect;
    f.pure("eq", &[Reflect], Some(Reflect), |a| {
        Ok(Value::Bool(eq(&a[0], &a[1..])?))
    });
    f.pure("ne", &[Reflect, Reflect], None, |a| {
        Ok(Value::Bool(!eq(&a[0], &a[1..])?))
    });
    f.pure("lt", &[Reflect, Reflect], None, |a| Ok(Value::Bool(lt(&a[0], &a[1])?)));
    f.pure("le", &[Reflect, Reflect], None, |a| Ok(Value::Bool(le(&a[0], &a[1])?)));
    f.pure("gt", &[Reflect, Reflect], None, |a| Ok(Value::Bool(!le(&a[0], &a[1])?)));
    f.pure("ge", &[Reflect, Reflect], None, |a| Ok(Value::Bool(!lt(&a[0], &a[1])?)));
}
