//! Helm's `ProcessDependencies` (`pkg/chart/v2/util/dependencies.go`): match `charts/` to
//! Chart.yaml dependencies, apply aliases, evaluate tags then conditions, drop disabled
//! subcharts, and import child values (both `import-values` forms) into parents.

use std::collections::BTreeSet;

use crate::semver::is_compatible_range;
use crate::values::coalesce::{CoalesceError, Warnings, coalesce_values, go_percent_v, merge_tables, merge_values};
use crate::{Chart, Dependency};
use helmfire_value::{Map, MapRef, MapType, Value};

/// `CheckDependencies`: every Chart.yaml dependency must be present by name in `charts/`.
/// Returns the missing names, comma-joined as Helm prints them.
pub fn check_dependencies(chart: &Chart) -> Result<(), String> {
    let Some(reqs) = &chart.metadata.dependencies else {
        return Ok(());
    };
    let missing: Vec<&str> = reqs
        .iter()
        .flatten()
        .filter(|r| !chart.dependencies.iter().any(|d| d.name() == r.name))
        .map(|r| r.name.as_str())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "found in Chart.yaml, but missing in charts/ directory: {}",
            missing.join(", ")
        ))
    }
}

/// `ProcessDependencies(chart, values)`.
pub fn process_dependencies(chart: &mut Chart, values: &Map, w: &mut Warnings) -> Result<(), CoalesceError> {
    process_enabled(chart, values, "", w)?;
    process_import_values_recursive(chart, w)
}

fn alias_dependency(charts: &[Chart], dep: &Dependency) -> Option<Chart> {
    for c in charts {
        if c.name() != dep.name || !is_compatible_range(&dep.version, &c.metadata.version) {
            continue;
        }
        let mut out = c.clone();
        if !dep.alias.is_empty() {
            out.metadata.name = dep.alias.clone();
        }
        return Some(out);
    }
    None
}

/// Helm's `Values.PathValue`: a non-table value at a dotted path.
fn path_value(values: &MapRef, path: &str) -> Option<Value> {
    let parts: Vec<&str> = path.split('.').collect();
    let (last, init) = parts.split_last()?;
    let mut table = values.clone();
    for p in init {
        let next = table.read().get(*p).cloned();
        match next {
            Some(Value::Map(m, MapType::Interface)) => table = m,
            _ => return None,
        }
    }
    let v = table.read().get(*last).cloned();
    match v {
        Some(Value::Map(_, MapType::Interface)) | None => None,
        Some(v) => Some(v),
    }
}

/// Helm's `Values.Table`.
fn table_at(values: &MapRef, path: &str) -> Option<MapRef> {
    let mut table = values.clone();
    for p in path.split('.') {
        let next = table.read().get(p).cloned();
        match next {
            Some(Value::Map(m, MapType::Interface)) => table = m,
            _ => return None,
        }
    }
    Some(table)
}

fn process_tags(reqs: &mut [Dependency], cvals: &MapRef, w: &mut Warnings) {
    let Some(tags) = table_at(cvals, "tags") else { return };
    let tags = tags.read().clone();
    for r in reqs.iter_mut() {
        let (mut has_true, mut has_false) = (false, false);
        for k in &r.tags {
            if let Some(v) = tags.get(k) {
                match v {
                    Value::Bool(true) => has_true = true,
                    Value::Bool(false) => has_false = true,
                    _ => w.0.push(format!("returned non-bool value tag={k} chart={}", r.name)),
                }
            }
        }
        r.enabled = has_true || !has_false;
    }
}

fn process_conditions(reqs: &mut [Dependency], cvals: &MapRef, path: &str, w: &mut Warnings) {
    for r in reqs.iter_mut() {
        for c in r.condition.trim().split(',') {
            if c.is_empty() {
                continue;
            }
            if let Some(v) = path_value(cvals, &format!("{path}{c}")) {
                if let Value::Bool(b) = v {
                    r.enabled = b;
                    break;
                }
                w.0.push(format!("returned non-bool value path={c} chart={}", r.name));
            }
        }
    }
}

fn process_enabled(c: &mut Chart, v: &Map, path: &str, w: &mut Warnings) -> Result<(), CoalesceError> {
    let Some(reqs) = c.metadata.dependencies.clone() else {
        return Ok(());
    };
    let mut reqs: Vec<Dependency> = reqs.into_iter().flatten().collect();
    let mut chart_dependencies: Vec<Chart> = c
        .dependencies
        .iter()
        .filter(|existing| {
            !reqs
                .iter()
                .any(|r| existing.name() == r.name && is_compatible_range(&r.version, &existing.metadata.version))
        })
        .cloned()
        .collect();
    for req in reqs.iter_mut() {
        if let Some(cd) = alias_dependency(&c.dependencies, req) {
            chart_dependencies.push(cd);
        }
        if !req.alias.is_empty() {
            req.name = req.alias.clone();
        }
    }
    c.dependencies = chart_dependencies;
    for r in reqs.iter_mut() {
        r.enabled = true;
    }
    c.metadata.dependencies = Some(reqs.iter().cloned().map(Some).collect());
    let cvals = coalesce_values(c, v, w)?;
    process_tags(&mut reqs, &cvals, w);
    process_conditions(&mut reqs, &cvals, path, w);
    let removed: BTreeSet<String> = reqs.iter().filter(|r| !r.enabled).map(|r| r.name.clone()).collect();
    let mut kept: Vec<Chart> = std::mem::take(&mut c.dependencies)
        .into_iter()
        .filter(|d| !removed.contains(d.name()))
        .collect();
    let kept_meta: Vec<Dependency> = reqs.into_iter().filter(|r| !removed.contains(&r.name)).collect();
    let cvals_map = cvals.read().clone();
    for t in kept.iter_mut() {
        let subpath = format!("{path}{}.", t.name());
        process_enabled(t, &cvals_map, &subpath, w)?;
    }
    // Go's `append(nil, empty...)` leaves the slice nil: no dependencies means none at all.
    c.metadata.dependencies = if kept_meta.is_empty() {
        None
    } else {
        Some(kept_meta.into_iter().map(Some).collect())
    };
    c.dependencies = kept;
    Ok(())
}

fn path_to_map(path: &str, data: MapRef) -> MapRef {
    if path == "." {
        return data;
    }
    let mut cur = data;
    for p in path.split('.').rev() {
        let mut m = Map::new();
        m.insert(p.to_string(), Value::Map(cur, MapType::Interface));
        cur = MapRef::new(m);
    }
    cur
}

fn import_field(iv: &Map, key: &str) -> String {
    go_percent_v(iv.get(key).unwrap_or(&Value::Nil))
}

fn process_import_values(c: &mut Chart, w: &mut Warnings) -> Result<(), CoalesceError> {
    let Some(reqs) = c.metadata.dependencies.clone() else {
        return Ok(());
    };
    let cvals = merge_values(c, &Map::new(), w)?;
    let b = MapRef::new(Map::new());
    let mut new_reqs = Vec::new();
    for r in reqs {
        let Some(mut r) = r else {
            new_reqs.push(None);
            continue;
        };
        let mut outiv = Vec::new();
        for riv in &r.import_values {
            match riv {
                Value::Map(iv, _) => {
                    let iv = iv.read().clone();
                    let child = import_field(&iv, "child");
                    let parent = import_field(&iv, "parent");
                    let mut out = Map::new();
                    out.insert("child".into(), Value::string(child.clone()));
                    out.insert("parent".into(), Value::string(parent.clone()));
                    outiv.push(Value::Map(MapRef::new(out), MapType::String));
                    match table_at(&cvals, &format!("{}.{child}", r.name)) {
                        None => w.0.push(format!("ImportValues missing table from chart {}", r.name)),
                        Some(vv) => merge_tables(&b, &path_to_map(&parent, vv), w),
                    }
                }
                Value::String(iv) => {
                    let child = format!("exports.{iv}");
                    let mut out = Map::new();
                    out.insert("child".into(), Value::string(child.clone()));
                    out.insert("parent".into(), Value::string("."));
                    outiv.push(Value::Map(MapRef::new(out), MapType::String));
                    match table_at(&cvals, &format!("{}.{child}", r.name)) {
                        None => w.0.push("ImportValues missing table".to_string()),
                        Some(vm) => merge_tables(&b, &vm, w),
                    }
                }
                _ => {}
            }
        }
        r.import_values = outiv;
        new_reqs.push(Some(r));
    }
    c.metadata.dependencies = Some(new_reqs);
    let cvals = crate::values::coalesce::deep_copy_map(&cvals.read());
    merge_tables(&cvals, &b, w);
    c.values = cvals.read().clone();
    Ok(())
}

fn process_import_values_recursive(c: &mut Chart, w: &mut Warnings) -> Result<(), CoalesceError> {
    for d in c.dependencies.iter_mut() {
        process_import_values_recursive(d, w)?;
    }
    process_import_values(c, w)
}
