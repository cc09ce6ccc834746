//! Helm v4.1.4's `pkg/chart/common/util/coalesce.go`, ported statement for statement on Go-shaped
//! maps ([`MapRef`] shares like a Go map), because charts observe its aliasing quirks: nested
//! subchart `global` defaults leak into the parent's globals, user nulls delete or stay
//! depending on the 4.1.3 rule, lists replace, maps merge.

use crate::Chart;
use helmfire_value::{Map, MapRef, MapType, Value};

/// Why coalescing failed (Helm's text).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("type mismatch on {name}: {rendered}")]
pub struct CoalesceError {
    pub name: String,
    /// The offending value as Go's `%t` verb prints it.
    pub rendered: String,
}

fn concat_prefix(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        format!("{a}.{b}")
    }
}

fn table(v: &Value) -> Option<&MapRef> {
    match v {
        Value::Map(m, MapType::Interface) => Some(m),
        _ => None,
    }
}

/// A fresh `map[string]interface{}` value.
fn new_table(m: MapRef) -> Value {
    Value::Map(m, MapType::Interface)
}

/// Collects Helm's `log.Printf` warnings instead of printing them.
#[derive(Debug, Default)]
pub struct Warnings(pub Vec<String>);

/// `CoalesceValues`: user values (deep-copied first) over the chart's defaults, recursively for
/// subcharts, with user nulls deleting keys.
pub fn coalesce_values(chart: &Chart, vals: &Map, warnings: &mut Warnings) -> Result<MapRef, CoalesceError> {
    let dest = deep_copy_map(vals);
    coalesce(chart, &dest, "", false, warnings)?;
    Ok(dest)
}

/// `MergeValues`: as [`coalesce_values`] but nulls are kept.
pub fn merge_values(chart: &Chart, vals: &Map, warnings: &mut Warnings) -> Result<MapRef, CoalesceError> {
    let dest = deep_copy_map(vals);
    coalesce(chart, &dest, "", true, warnings)?;
    Ok(dest)
}

/// Go's `copystructure.Copy` of a values map.
pub fn deep_copy_map(vals: &Map) -> MapRef {
    MapRef::new(vals.iter().map(|(k, v)| (k.clone(), v.deep_copy())).collect())
}

fn coalesce(chart: &Chart, dest: &MapRef, prefix: &str, merge: bool, w: &mut Warnings) -> Result<(), CoalesceError> {
    coalesce_chart_values(chart, dest, prefix, merge, w);
    coalesce_deps(chart, dest, prefix, merge, w)
}

fn coalesce_deps(
    chart: &Chart,
    dest: &MapRef,
    prefix: &str,
    merge: bool,
    w: &mut Warnings,
) -> Result<(), CoalesceError> {
    for sub in &chart.dependencies {
        let name = sub.name().to_string();
        let existing = dest.read().get(&name).cloned();
        let dvmap = match existing {
            None => {
                let m = MapRef::new(Map::new());
                dest.write().insert(name.clone(), new_table(m.clone()));
                m
            }
            Some(Value::Map(m, MapType::Interface)) => m,
            Some(other) => {
                return Err(CoalesceError {
                    name,
                    rendered: go_percent_t(&other),
                });
            }
        };
        let sub_prefix = concat_prefix(prefix, chart.name());
        coalesce_globals(&dvmap, dest, &sub_prefix, w);
        coalesce(sub, &dvmap, &sub_prefix, merge, w)?;
        dest.write().insert(name, new_table(dvmap));
    }
    Ok(())
}

fn coalesce_globals(dest: &MapRef, src: &MapRef, prefix: &str, w: &mut Warnings) {
    let dest_global = dest.read().get("global").cloned();
    let dg = match dest_global {
        None => MapRef::new(Map::new()),
        Some(Value::Map(m, MapType::Interface)) => m,
        Some(_) => {
            w.0.push("warning: skipping globals because destination global is not a table.".into());
            return;
        }
    };
    let src_global = src.read().get("global").cloned();
    let sg = match src_global {
        None => MapRef::new(Map::new()),
        Some(Value::Map(m, MapType::Interface)) => m,
        Some(_) => {
            w.0.push("warning: skipping globals because source global is not a table.".into());
            return;
        }
    };
    let entries: Vec<(String, Value)> = sg.read().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for (key, val) in entries {
        if let Some(vm) = table(&val) {
            let vv = vm.shallow_copy();
            let existing = dg.read().get(&key).cloned();
            match existing {
                None => {
                    dg.write().insert(key, new_table(vv));
                }
                Some(destv) => match table(&destv) {
                    None => w.0.push(format!(
                        "Conflict: cannot merge map onto non-map for {}. Skipping.",
                        go_q(&key)
                    )),
                    Some(destvmap) => {
                        let sub_prefix = concat_prefix(prefix, &key);
                        coalesce_tables_full_key(&vv, destvmap, &sub_prefix, true, w);
                        dg.write().insert(key, new_table(vv));
                    }
                },
            }
        } else {
            let dv_is_table = dg.read().get(&key).is_some_and(|dv| table(dv).is_some());
            if dv_is_table {
                w.0.push(format!("key {key} is table. Skipping"));
            } else {
                dg.write().insert(key, val);
            }
        }
    }
    dest.write().insert("global".into(), new_table(dg));
}

fn go_q(s: &str) -> String {
    crate::metadata::go_quote(s)
}

fn is_child_chart(chart: &Chart, key: &str) -> bool {
    chart.dependencies.iter().any(|d| d.name() == key)
}

fn coalesce_chart_values(chart: &Chart, v: &MapRef, prefix: &str, merge: bool, w: &mut Warnings) {
    let sub_prefix = concat_prefix(prefix, chart.name());
    let vc = deep_copy_map(&chart.values);
    let entries: Vec<(String, Value)> = vc.read().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for (key, val) in entries {
        let existing = v.read().get(&key).cloned();
        match existing {
            Some(value) => {
                if value.is_nil() && !merge {
                    v.write().remove(&key);
                } else if let Some(dest) = table(&value) {
                    match table(&val) {
                        None => {
                            if !val.is_nil() {
                                w.0.push(format!("warning: skipped value for {sub_prefix}.{key}: Not a table."));
                            }
                        }
                        Some(src) => {
                            let merge = merge || is_child_chart(chart, &key);
                            coalesce_tables_full_key(dest, src, &concat_prefix(&sub_prefix, &key), merge, w);
                        }
                    }
                }
            }
            None => {
                v.write().insert(key, val);
            }
        }
    }
}

/// `CoalesceTables`: `src` under `dst` (dst wins), removing keys the user nulled.
pub fn coalesce_tables(dst: &MapRef, src: &MapRef, w: &mut Warnings) {
    coalesce_tables_full_key(dst, src, "", false, w);
}

/// `MergeTables`: as [`coalesce_tables`] but nulls are kept.
pub fn merge_tables(dst: &MapRef, src: &MapRef, w: &mut Warnings) {
    coalesce_tables_full_key(dst, src, "", true, w);
}

fn coalesce_tables_full_key(dst: &MapRef, src: &MapRef, prefix: &str, merge: bool, w: &mut Warnings) {
    if dst.same(src) {
        // Go would merge a map into itself without effect; avoid taking the lock twice.
        return;
    }
    let src_original_non_nil: std::collections::BTreeSet<String> = src
        .read()
        .iter()
        .filter(|(_, v)| !v.is_nil())
        .map(|(k, _)| k.clone())
        .collect();
    let nil_keys: Vec<String> = dst
        .read()
        .iter()
        .filter(|(_, v)| v.is_nil())
        .map(|(k, _)| k.clone())
        .collect();
    for key in nil_keys {
        src.write().insert(key, Value::Nil);
    }
    let entries: Vec<(String, Value)> = src.read().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for (key, val) in entries {
        let fullkey = concat_prefix(prefix, &key);
        let dv = dst.read().get(&key).cloned();
        match dv {
            Some(Value::Nil) if !merge && src_original_non_nil.contains(&key) => {
                dst.write().remove(&key);
            }
            None => {
                dst.write().insert(key, val);
            }
            Some(dv) => {
                if let Some(vm) = table(&val) {
                    match table(&dv) {
                        Some(dm) => coalesce_tables_full_key(dm, vm, &fullkey, merge, w),
                        None => w.0.push(format!(
                            "warning: cannot overwrite table with non table for {fullkey} ({})",
                            go_percent_v(&val)
                        )),
                    }
                } else if table(&dv).is_some() && !val.is_nil() {
                    w.0.push(format!(
                        "warning: destination for {fullkey} is a table. Ignoring non-table value ({})",
                        go_percent_v(&val)
                    ));
                }
            }
        }
    }
}

/// Go's `%v` for values, enough for warnings and error messages.
pub fn go_percent_v(v: &Value) -> String {
    match v {
        Value::Nil => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i, _) => i.to_string(),
        Value::Float(f) => helmfire_value::number::format_float(*f, 'g', -1),
        Value::String(s) => s.to_string(),
        Value::Bytes(b) => format!("{:?}", b.as_ref()),
        Value::List(l, _) => format!("[{}]", l.iter().map(go_percent_v).collect::<Vec<_>>().join(" ")),
        Value::Map(m, _) => format!(
            "map[{}]",
            m.read()
                .iter()
                .map(|(k, v)| format!("{k}:{}", go_percent_v(v)))
                .collect::<Vec<_>>()
                .join(" ")
        ),
        Value::Object(o) => format!("{o:?}"),
    }
}

/// Go's `%t`: booleans print, anything else is `%!t(type=value)`.
pub fn go_percent_t(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Nil => "%!t(<nil>)".into(),
        other => {
            let ty = match other {
                Value::Int(..) => "int64",
                Value::Float(_) => "float64",
                Value::String(_) => "string",
                Value::List(..) => "[]interface {}",
                Value::Map(..) => "map[string]interface {}",
                _ => "interface {}",
            };
            format!("%!t({ty}={})", go_percent_v(other))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use helmfire_value::json::{JsonStyle, encode};

    fn chart(name: &str, values: &str, deps: Vec<Chart>) -> Chart {
        let mut c = Chart::default();
        c.metadata.name = name.into();
        c.values = helmfire_value::yaml::decode_map(values).expect("yaml");
        c.dependencies = deps;
        c
    }

    fn run(c: &Chart, user: &str) -> String {
        let user = helmfire_value::yaml::decode_map(user).expect("yaml");
        let out = coalesce_values(c, &user, &mut Warnings::default()).expect("coalesce");
        encode(&Value::Map(out, MapType::Interface), JsonStyle::Compact).expect("json")
    }

    #[test]
    fn nulls_and_lists() {
        let c = chart("top", "a: 1\nb: {p: 1, q: 2}\nl: [1, 2]\nk: null\n", vec![]);
        assert_eq!(
            run(&c, "a: null\nb: {p: null, z: null}\nl: [3]\nu: null\n"),
            r#"{"b":{"q":2,"z":null},"k":null,"l":[3],"u":null}"#
        );
    }

    #[test]
    fn globals_flow_down() {
        let sub = chart("sub", "global: {g: sub, only: sub}\nv: 1\n", vec![]);
        let c = chart("top", "global: {g: top}\n", vec![sub]);
        assert_eq!(
            run(&c, ""),
            r#"{"global":{"g":"top"},"sub":{"global":{"g":"top","only":"sub"},"v":1}}"#
        );
    }

    #[test]
    fn type_mismatch() {
        let sub = chart("sub", "", vec![]);
        let c = chart("top", "", vec![sub]);
        let user = helmfire_value::yaml::decode_map("sub: str").expect("yaml");
        let err = coalesce_values(&c, &user, &mut Warnings::default()).unwrap_err();
        assert_eq!(err.to_string(), "type mismatch on sub: %!t(string=str)");
    }
}
