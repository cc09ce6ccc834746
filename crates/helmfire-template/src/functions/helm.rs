//! Helm's own functions (pkg/engine): include, tpl, required, fail, lookup, getHostByName,
//! and the URL helpers Sprig adds (urlParse, urlJoin).

use super::{Functions, Param, arg_str};
use crate::error::{FuncError, warn_wrap};
use Param::*;
use helmfire_value::{Map, Value};

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

/// The serialisation functions on top of the Go-exact codecs in `helmfire_value`.
pub fn register_codecs(f: &mut Functions) {
    use helmfire_value::{json, toml, yaml};
    let trim_nl = |s: String| s.strip_suffix('\n').map(str::to_string).unwrap_or(s);
    f.pure("toYaml", &[Any], None, move |a| {
        Ok(Value::from(yaml::encode(&a[0]).map(trim_nl).unwrap_or_default()))
    });
    f.pure("mustToYaml", &[Any], None, move |a| {
        yaml::encode(&a[0])
            .map(|s| Value::from(trim_nl(s)))
            .map_err(|e| FuncError::Plain(e.message))
    });
    f.pure("toYamlPretty", &[Any], None, move |a| {
        Ok(Value::from(yaml::encode_pretty(&a[0]).map(trim_nl).unwrap_or_default()))
    });
    f.pure("fromYaml", &[Str], None, |a| {
        Ok(match yaml::decode_map(arg_str(&a[0])) {
            Ok(m) => Value::map(m),
            Err(e) => error_map(e.message),
        })
    });
    f.pure("fromYamlArray", &[Str], None, |a| {
        Ok(match yaml::decode_list(arg_str(&a[0])) {
            Ok(l) => Value::list(l),
            Err(e) => Value::list(vec![Value::from(e.message)]),
        })
    });
    let json_fn = |style: json::JsonStyle, must: bool| {
        move |a: Vec<Value>| match json::encode(&a[0], style) {
            Ok(s) => Ok(Value::from(s)),
            Err(e) if must => Err(FuncError::Plain(e.message)),
            Err(_) => Ok(Value::from("")),
        }
    };
    f.pure("toJson", &[Any], None, json_fn(json::JsonStyle::Compact, false));
    f.pure("mustToJson", &[Any], None, json_fn(json::JsonStyle::Compact, true));
    f.pure("toPrettyJson", &[Any], None, json_fn(json::JsonStyle::Pretty, false));
    f.pure("mustToPrettyJson", &[Any], None, json_fn(json::JsonStyle::Pretty, true));
    // Sprig's toRawJson panics on error, so it fails like its must variant.
    f.pure("toRawJson", &[Any], None, json_fn(json::JsonStyle::Raw, true));
    f.pure("mustToRawJson", &[Any], None, json_fn(json::JsonStyle::Raw, true));
    f.pure("fromJson", &[Str], None, |a| {
        Ok(match json::decode_map(arg_str(&a[0])) {
            // `json.Unmarshal` of `null` leaves Go's map nil.
            Ok(m) => m.map_or_else(Value::nil_map, Value::map),
            Err(e) => error_map(e.message),
        })
    });
    f.pure("fromJsonArray", &[Str], None, |a| {
        Ok(match json::decode_list(arg_str(&a[0])) {
            Ok(l) => Value::list(l.unwrap_or_default()),
            Err(e) => Value::list(vec![Value::from(e.message)]),
        })
    });
    f.pure("mustFromJson", &[Str], None, |a| {
        json::decode(arg_str(&a[0])).map_err(|e| FuncError::Plain(e.message))
    });
    f.pure("toToml", &[Any], None, |a| {
        Ok(Value::from(match toml::encode(&a[0]) {
            Ok(s) => s,
            Err(e) => e.message,
        }))
    });
    f.pure("fromToml", &[Str], None, |a| {
        Ok(match toml::decode(arg_str(&a[0])) {
            Ok(Value::Map(m, t)) => Value::Map(m, t),
            Ok(_) => Value::map(Map::new()),
            Err(e) => error_map(e.message),
        })
    });
}

fn error_map(message: String) -> Value {
    let mut m = Map::new();
    m.insert("Error".into(), Value::from(message));
    Value::map(m)
}
