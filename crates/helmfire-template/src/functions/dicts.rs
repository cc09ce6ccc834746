//! Sprig's dict functions (dict.go): dict, get, set, unset, hasKey, pluck, keys, values, pick,
//! omit, merge/mergeOverwrite (mergo semantics, mutating the destination), deepCopy, dig.
//!
//! A `map[string]interface {}` parameter given no value (`(index .Values "missing")`, `nil`)
//! receives Go's nil map ([`MapRef::nil`]): readable and empty, never written. The functions
//! that return their map argument return it as `map[string]interface {}`, even a `.Values`.

use super::{Functions, Param, arg_str, str_list, strval};
use crate::error::FuncError;
use crate::fmt::type_name;
use Param::*;
use helmfire_value::{Map, MapRef, MapType, Value};

fn map_of(v: &Value) -> Option<&MapRef> {
    v.as_map()
}

/// The map argument as the function's `map[string]interface {}` result.
fn as_plain_map(m: &MapRef) -> Value {
    Value::Map(m.clone(), MapType::Interface)
}

fn new_map(m: Map) -> Value {
    Value::map(m)
}

/// mergo's `isEmptyValue` with dereferencing: zero values and empty containers.
fn mergo_empty(v: &Value) -> bool {
    super::empty(v)
}

/// `mergo.Merge` / `MergeWithOverwrite` of `src` into `dst` (both `map[string]interface{}`).
pub fn merge_into(dst: &helmfire_value::MapRef, src: &helmfire_value::MapRef, overwrite: bool, depth: usize) {
    if dst.same(src) || depth > 64 {
        return;
    }
    let entries: Vec<(String, Value)> = src.read().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for (k, sv) in entries {
        let dv = dst.read().get(&k).cloned();
        if sv.is_nil() {
            if overwrite {
                dst.write().insert(k, Value::Nil);
            }
            continue;
        }
        match (&sv, &dv) {
            (Value::Map(sm, _), Some(Value::Map(dm, _))) if !dm.is_nil() => {
                merge_into(dm, sm, overwrite, depth + 1);
                if !mergo_empty(&Value::Map(dm.clone(), MapType::Interface)) {
                    continue;
                }
            }
            (Value::Map(..), Some(d)) | (Value::List(..), Some(d)) if !mergo_empty(d) && !overwrite => {
                continue;
            }
            _ => {}
        }
        let set = overwrite || dv.as_ref().is_none_or(mergo_empty);
        if set {
            dst.write().insert(k, sv);
        }
    }
}

fn dig(a: &[Value]) -> Result<Value, FuncError> {
    if a.len() < 3 {
        return Err(FuncError::msg("dig needs at least three arguments"));
    }
    let conv = |v: &Value, want: &str| -> FuncError {
        let got = if v.is_nil() { "nil".to_string() } else { type_name(v) };
        FuncError::Plain(format!("interface conversion: interface {{}} is {got}, not {want}"))
    };
    let last = &a[a.len() - 1];
    let mut dict = match last {
        Value::Map(m, MapType::Interface) => m.clone(),
        other => return Err(conv(other, "map[string]interface {}")),
    };
    let default = a[a.len() - 2].clone();
    let mut keys = Vec::new();
    for k in &a[..a.len() - 2] {
        match k {
            Value::String(s) => keys.push(s.to_string()),
            other => return Err(conv(other, "string")),
        }
    }
    for (i, k) in keys.iter().enumerate() {
        let step = dict.read().get(k).cloned();
        let Some(step) = step else {
            return Ok(default);
        };
        if i == keys.len() - 1 {
            return Ok(step);
        }
        dict = match &step {
            Value::Map(m, MapType::Interface) => m.clone(),
            other => return Err(conv(other, "map[string]interface {}")),
        };
    }
    Ok(default)
}

pub fn register(f: &mut Functions) {
    f.pure("dict", &[], Some(Any), |a| {
        let mut m = Map::new();
        let mut i = 0;
        while i < a.len() {
            let key = strval(&a[i]);
            let v = a.get(i + 1).cloned().unwrap_or_else(|| Value::from(""));
            m.insert(key, v);
            i += 2;
        }
        Ok(new_map(m))
    });
    f.pure("get", &[Map, Str], None, |a| {
        Ok(map_of(&a[0])
            .and_then(|m| m.read().get(arg_str(&a[1])).cloned())
            .unwrap_or_else(|| Value::from("")))
    });
    f.pure("set", &[Map, Str, Any], None, |a| match map_of(&a[0]) {
        Some(m) if !m.is_nil() => {
            m.write().insert(arg_str(&a[1]).to_string(), a[2].clone());
            Ok(as_plain_map(m))
        }
        _ => Err(FuncError::msg("assignment to entry in nil map")),
    });
    f.pure("unset", &[Map, Str], None, |a| match map_of(&a[0]) {
        Some(m) => {
            if !m.is_nil() {
                m.write().remove(arg_str(&a[1]));
            }
            Ok(as_plain_map(m))
        }
        None => Ok(Value::nil_map()),
    });
    f.pure("hasKey", &[Map, Str], None, |a| {
        Ok(Value::Bool(
            map_of(&a[0]).is_some_and(|m| m.read().contains_key(arg_str(&a[1]))),
        ))
    });
    f.pure("pluck", &[Str], Some(Map), |a| {
        let key = arg_str(&a[0]);
        let out: Vec<Value> = a[1..]
            .iter()
            .filter_map(|d| map_of(d).and_then(|m| m.read().get(key).cloned()))
            .collect();
        Ok(Value::list(out))
    });
    f.pure("keys", &[], Some(Map), |a| {
        let mut out = Vec::new();
        for d in &a {
            if let Some(m) = map_of(d) {
                out.extend(m.read().keys().cloned());
            }
        }
        Ok(str_list(out))
    });
    f.pure("values", &[Map], None, |a| {
        let out: Vec<Value> = map_of(&a[0])
            .map(|m| m.read().values().cloned().collect())
            .unwrap_or_default();
        Ok(Value::list(out))
    });
    f.pure("pick", &[Map], Some(Str), |a| {
        let mut out = Map::new();
        if let Some(m) = map_of(&a[0]) {
            let m = m.read();
            for k in &a[1..] {
                if let Some(v) = m.get(arg_str(k)) {
                    out.insert(arg_str(k).to_string(), v.clone());
                }
            }
        }
        Ok(new_map(out))
    });
    f.pure("omit", &[Map], Some(Str), |a| {
        let mut out = Map::new();
        if let Some(m) = map_of(&a[0]) {
            for (k, v) in m.read().iter() {
                if !a[1..].iter().any(|o| arg_str(o) == k) {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        Ok(new_map(out))
    });
    for (name, overwrite) in [
        ("merge", false),
        ("mustMerge", false),
        ("mergeOverwrite", true),
        ("mustMergeOverwrite", true),
    ] {
        f.pure(name, &[Map], Some(Map), move |a| {
            let mut dst = map_of(&a[0]).cloned().unwrap_or_else(MapRef::nil);
            for src in a[1..].iter().filter_map(map_of) {
                // mergo gives a nil destination a fresh map before the first non-nil source,
                // so `merge (index .Values "missing") $defaults` is a copy of the defaults.
                if src.is_nil() {
                    continue;
                }
                if dst.is_nil() {
                    dst = MapRef::new(Map::new());
                }
                merge_into(&dst, src, overwrite, 0);
            }
            Ok(as_plain_map(&dst))
        });
    }
    for name in ["deepCopy", "mustDeepCopy"] {
        f.pure(name, &[Any], None, |a| {
            // copystructure.Copy(nil) asks the type of the zero reflect.Value.
            if a[0].is_nil() {
                return Err(FuncError::msg("reflect: call of reflect.Value.Type on zero Value"));
            }
            Ok(a[0].deep_copy())
        });
    }
    f.pure("dig", &[], Some(Any), |a| dig(&a));
}
