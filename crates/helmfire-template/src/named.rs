//! The methods of helm's named Go types that templates reach as plain maps and slices:
//! `common.Values` (`.Values`, `.Template`, `(.Values.Table "x")`) and `common.VersionSet`
//! (`.Capabilities.APIVersions`). Go's executor looks a method up before a map key, so
//! `.Values.AsMap` is always the method; a values key of that name is reachable only through
//! `index`. Everything else about these types (assignability to Sprig's `map[string]interface {}`
//! and slice parameters, `%T`) lives with the other Go types in `fmt` and `functions`.

use helmfire_value::{ListType, Map, MapRef, MapType, Value};

use crate::functions::Param;

/// The parameters of `common.Values`' method `name`, or `None` when it has no such method.
pub fn values_method(name: &str) -> Option<&'static [Param]> {
    Some(match name {
        "AsMap" | "YAML" => &[],
        "Table" | "PathValue" => &[Param::Str],
        "Encode" => &[Param::Named("io.Writer")],
        _ => return None,
    })
}

/// Calls a `common.Values` method (`pkg/chart/common/values.go`); the error is Go's text.
pub fn call_values_method(values: &MapRef, name: &str, args: &[Value]) -> Result<Value, String> {
    let text = || args.first().and_then(Value::as_str).unwrap_or("");
    match name {
        // A fresh map when empty, else the same map under its plain type.
        "AsMap" if values.read().is_empty() => Ok(Value::map(Map::new())),
        "AsMap" => Ok(Value::Map(values.clone(), MapType::Interface)),
        // sigs.k8s.io/yaml.Marshal, trailing newline kept (helm's toYaml trims it).
        "YAML" => helmfire_value::yaml::encode(&Value::Map(values.clone(), MapType::Interface))
            .map(Value::from)
            .map_err(|e| e.to_string()),
        "Table" => table(values, text()).map(|t| Value::Map(t, MapType::Values)),
        "PathValue" => path_value(values, text()),
        // Only a nil io.Writer can reach it; Go marshals, then writes through the nil interface.
        "Encode" => Err("runtime error: invalid memory address or nil pointer dereference".into()),
        _ => Err(format!("can't call method {name}")),
    }
}

fn no_table(key: &str) -> String {
    format!("{} is not a table", crate::fmt::quote_go(key))
}

/// `Values.Table`: each dotted segment must name a map.
fn table(values: &MapRef, name: &str) -> Result<MapRef, String> {
    let mut table = values.clone();
    for key in name.split('.') {
        let next = match table.read().get(key) {
            Some(Value::Map(m, t)) if t.holds_interfaces() => m.clone(),
            _ => return Err(no_table(key)),
        };
        table = next;
    }
    Ok(table)
}

/// `Values.PathValue`: the leaf at a dotted path, which must exist and not be a table.
fn path_value(values: &MapRef, path: &str) -> Result<Value, String> {
    if path.is_empty() {
        return Err("YAML path cannot be empty".into());
    }
    let segments: Vec<&str> = path.split('.').collect();
    let (key, parents) = segments.split_last().unwrap_or((&"", &[]));
    let no_value = || format!("{} is not a value", crate::fmt::quote_go(key));
    let table = if parents.is_empty() {
        values.clone()
    } else {
        table(values, &parents.join(".")).map_err(|_| no_value())?
    };
    let leaf = table.read().get(*key).cloned();
    match leaf {
        Some(Value::Map(_, MapType::Interface)) | None => Err(no_value()),
        Some(v) => Ok(v),
    }
}

/// `common.VersionSet.Has`.
pub fn version_set_method(name: &str) -> Option<&'static [Param]> {
    (name == "Has").then_some(&[Param::Str])
}

/// Calls `VersionSet.Has`.
pub fn call_version_set_method(set: &[Value], name: &str, args: &[Value]) -> Result<Value, String> {
    match name {
        "Has" => {
            let wanted = args.first().and_then(Value::as_str).unwrap_or("");
            Ok(Value::Bool(set.iter().any(|v| v.as_str() == Some(wanted))))
        }
        _ => Err(format!("can't call method {name}")),
    }
}

/// A `common.VersionSet` of `versions`.
pub fn version_set(versions: impl IntoIterator<Item = String>) -> Value {
    Value::List(
        std::sync::Arc::new(versions.into_iter().map(Value::from).collect()),
        ListType::VersionSet,
    )
}
