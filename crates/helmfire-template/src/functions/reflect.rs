//! Sprig's reflection helpers: typeOf, typeIs, typeIsLike, kindOf, kindIs, deepEqual.

use super::{Functions, Param, arg_str};
use crate::fmt::type_name;
use Param::*;
use helmfire_value::Value;

pub fn register(f: &mut Functions) {
    f.pure("typeOf", &[Any], None, |a| Ok(Value::from(type_name(&a[0]))));
    f.pure("typeIs", &[Str, Any], None, |a| {
        Ok(Value::Bool(arg_str(&a[0]) == type_name(&a[1])))
    });
    f.pure("typeIsLike", &[Str, Any], None, |a| {
        let t = type_name(&a[1]);
        let target = arg_str(&a[0]);
        Ok(Value::Bool(target == t || format!("*{target}") == t))
    });
    f.pure("kindOf", &[Any], None, |a| {
        Ok(Value::from(super::lists::kind_name(&a[0])))
    });
    f.pure("kindIs", &[Str, Any], None, |a| {
        Ok(Value::Bool(arg_str(&a[0]) == super::lists::kind_name(&a[1])))
    });
    f.pure("deepEqual", &[Any, Any], None, |a| {
        Ok(Value::Bool(super::lists::deep_equal(&a[0], &a[1])))
    });
}
