//! Sprig's defaults family (defaults.go): default, empty, coalesce, all, any, ternary —
//! emptiness as Sprig defines it (nil, zero numbers, false, empty strings and collections).

use super::{Functions, Param, empty};
use Param::*;
use helmfire_value::Value;

pub fn register(f: &mut Functions) {
    f.pure("default", &[Any], Some(Any), |a| {
        // `empty(given)` is false for a non-empty slice, so only given[0] matters.
        match a.get(1) {
            Some(v) if !empty(v) => Ok(v.clone()),
            _ => Ok(a[0].clone()),
        }
    });
    f.pure("empty", &[Any], None, |a| Ok(Value::Bool(empty(&a[0]))));
    f.pure("coalesce", &[], Some(Any), |a| {
        Ok(a.into_iter().find(|v| !empty(v)).unwrap_or_default())
    });
    f.pure("all", &[], Some(Any), |a| Ok(Value::Bool(a.iter().all(|v| !empty(v)))));
    f.pure("any", &[], Some(Any), |a| Ok(Value::Bool(a.iter().any(|v| !empty(v)))));
    f.pure("ternary", &[Any, Any, Bool], None, |a| {
        Ok(if matches!(a[2], Value::Bool(true)) {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
}
