//! Helm's own functions (pkg/engine): include, tpl, required, fail, lookup, getHostByName,
//! and the URL helpers Sprig adds (urlParse, urlJoin).

use super::{Functions, Param, arg_str};
use crate::template::error::{FuncError, warn_wrap};
use crate::value::{Map, Value};
use Param::*;

pub fn register(f: &mut Functions) {
    f.add("include", &[Str, Any], None, |st, a| {
        let mut a = a.into_iter();
        let name = a.next().unwrap_or_default();
        let data = a.next().unwrap_or_default();
        st.include(name.as_str().unwrap_or(""), data).map(Value::from)
    });
    f.add("tpl", &[Str, Any], None, |st, a| {
        let mut a = a.into_iter();
        let text = a.next().unwrap_or_default();
        let data = a.next().unwrap_or_default();
        st.tpl(text.as_str().unwrap_or(""), data).map(Value::from)
    });
    f.add("required", &[Str, Any], None, |st, a| {
        let missing = match &a[1] {
            Value::Nil => true,
            Value::String(s) => s.is_empty(),
            _ => false,
        };
        if missing {
            if st.ctx.lint_mode {
                return Ok(Value::from(""));
            }
            return Err(FuncError::Plain(warn_wrap(arg_str(&a[0]))));
        }
        Ok(a[1].clone())
    });
    f.add("fail", &[Str], None, |st, a| {
        if st.ctx.lint_mode {
            return Ok(Value::from(""));
        }
        Err(FuncError::Plain(warn_wrap(arg_str(&a[0]))))
    });
    f.add("lookup", &[Str, Str, Str, Str], None, |st, a| match &st.ctx.lookup {
        None => Ok(Value::map(Map::new())),
        Some(l) => l
            .lookup(arg_str(&a[0]), arg_str(&a[1]), arg_str(&a[2]), arg_str(&a[3]))
            .map_err(FuncError::Plain),
    });
    f.add("getHostByName", &[Str], None, |st, a| {
        if !st.ctx.enable_dns {
            return Ok(Value::from(""));
        }
        use std::net::ToSocketAddrs;
        let addr = (arg_str(&a[0]), 0)
            .to_socket_addrs()
            .ok()
            .and_then(|mut it| it.next())
            .map(|sa| sa.ip().to_string())
            .unwrap_or_default();
        Ok(Value::from(addr))
    });
}
