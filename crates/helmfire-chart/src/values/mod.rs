//! Stage ④: Helm's values pipeline. User values from `-f` files and the `--set` family merged
//! in Helm's fixed order, dependency processing (conditions, tags, aliases, import-values),
//! coalescing over chart defaults exactly as helm v4.1.4, and values.schema.json validation.
//! It knows charts (stage ③) but nothing of templates or rendering.

pub mod coalesce;
pub mod dependencies;
pub mod schema;
pub mod strvals;

use std::path::Path;

use crate::{Chart, go_io_message, load_values, merge_maps};
use helmfire_value::{Map, MapRef, MapType, Value};

pub use coalesce::Warnings;

/// The values flags of `helm template/install/upgrade`, as typed, each in command-line order.
#[derive(Clone, Debug, Default)]
pub struct ValueOptions {
    /// `-f/--values`: paths (`-` for stdin is resolved by the caller through `read_file`).
    pub files: Vec<String>,
    pub set: Vec<String>,
    pub set_string: Vec<String>,
    pub set_file: Vec<String>,
    pub set_json: Vec<String>,
    pub set_literal: Vec<String>,
}

/// A values failure. `Display` is the text `helm` prints after `Error: `.
#[derive(Debug, thiserror::Error)]
pub enum ValuesError {
    /// A `-f` file could not be read (Go's `*PathError` text, `open <path>: <reason>`).
    #[error("{message}")]
    ReadFile { path: String, message: String },
    /// A `-f` file is not valid YAML.
    #[error("failed to parse {path}: {message}")]
    ParseFile { path: String, message: String },
    /// A bad `--set-json` argument; Helm drops the cause.
    #[error("failed parsing --set-json data JSON: {0}")]
    SetJsonObject(String),
    #[error("failed parsing --set-json data {0}")]
    SetJson(String),
    /// A bad `--set`, `--set-string`, `--set-file` or `--set-literal` argument.
    #[error("failed parsing --{flag} data: {message}")]
    Set { flag: &'static str, message: String },
    /// Subchart values of the wrong type (`type mismatch on <name>: …`) while coalescing.
    #[error(transparent)]
    Coalesce(#[from] coalesce::CoalesceError),
    /// The same failure during dependency processing, which Helm wraps.
    #[error("chart dependencies processing failed: {0}")]
    Dependencies(coalesce::CoalesceError),
    /// Chart.yaml dependencies absent from charts/.
    #[error(
        "an error occurred while checking for chart dependencies. You may need to run `helm dependency build` to fetch missing dependencies: {0}"
    )]
    MissingDependencies(String),
    /// `type: library` (or another non-application type) as the root chart.
    #[error("{0} charts are not installable")]
    NotInstallable(String),
    /// values.schema.json violations, already formatted as Helm prints them.
    #[error("values don't meet the specifications of the schema(s) in the following chart(s):\n{0}")]
    Schema(String),
}

/// Reads a `-f`/`--set-file` argument: `-` is stdin, anything else a local path. (URL getters
/// belong to the chart-sources stage and are not handled here.)
pub fn read_file(path: &str) -> Result<Vec<u8>, String> {
    if path.trim() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map_err(|e| go_io_message(&e))?;
        return Ok(buf);
    }
    read_file_at(Path::new(path), path)
}

/// Reads `path`, naming it `shown` in Go's error text (`open <shown>: …`, `read <shown>: …`).
pub fn read_file_at(path: &Path, shown: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| {
        // Go opens a directory fine and fails on the read.
        let op = if e.kind() == std::io::ErrorKind::IsADirectory {
            "read"
        } else {
            "open"
        };
        format!("{op} {shown}: {}", go_io_message(&e))
    })
}

/// Helm's `values.Options.MergeValues`: the user-supplied values (the release `config`),
/// nulls included. Order is fixed: files, `--set-json`, `--set`, `--set-string`,
/// `--set-file`, `--set-literal`.
pub fn merge_user_values(opts: &ValueOptions) -> Result<Map, ValuesError> {
    merge_user_values_with(opts, &mut |p| read_file(p))
}

/// [`merge_user_values`] with a custom file reader (tests, stdin, remote getters).
pub fn merge_user_values_with(
    opts: &ValueOptions,
    read: &mut dyn FnMut(&str) -> Result<Vec<u8>, String>,
) -> Result<Map, ValuesError> {
    let mut base = Map::new();
    for path in &opts.files {
        let raw = read(path).map_err(|message| ValuesError::ReadFile {
            path: path.clone(),
            message,
        })?;
        let current = load_values(&raw).map_err(|message| ValuesError::ParseFile {
            path: path.clone(),
            message,
        })?;
        base = merge_maps(base, current);
    }
    for value in &opts.set_json {
        let trimmed = value.trim();
        if trimmed.starts_with('{') {
            let parsed =
                helmfire_value::json::decode_map(trimmed).map_err(|_| ValuesError::SetJsonObject(value.clone()))?;
            base = merge_maps(base, parsed.unwrap_or_default());
        } else {
            let dest = MapRef::new(base);
            strvals::parse_json(value, &dest).map_err(|_| ValuesError::SetJson(value.clone()))?;
            base = dest.read().clone();
        }
    }
    let dest = MapRef::new(base);
    for value in &opts.set {
        strvals::parse_into(value, &dest).map_err(|e| ValuesError::Set {
            flag: "set",
            message: e.message,
        })?;
    }
    for value in &opts.set_string {
        strvals::parse_into_string(value, &dest).map_err(|e| ValuesError::Set {
            flag: "set-string",
            message: e.message,
        })?;
    }
    for value in &opts.set_file {
        let mut reader = |p: &str| -> Result<Value, String> {
            let bytes = read(p)?;
            Ok(Value::string(String::from_utf8_lossy(&bytes).into_owned()))
        };
        strvals::parse_into_file(value, &dest, &mut reader).map_err(|e| ValuesError::Set {
            flag: "set-file",
            message: e.message,
        })?;
    }
    for value in &opts.set_literal {
        strvals::parse_literal_into(value, &dest).map_err(|e| ValuesError::Set {
            flag: "set-literal",
            message: e.message,
        })?;
    }
    let out = dest.read().clone();
    Ok(out)
}

/// What rendering needs from this stage.
#[derive(Debug)]
pub struct Prepared {
    /// The fully coalesced values of the root chart; a subchart's `.Values` is the table at its
    /// (alias) name, recursively (see [`subchart_values`]).
    pub values: Map,
    /// Warnings Helm would log (non-bool conditions, skipped tables, …).
    pub warnings: Vec<String>,
}

/// Options for [`prepare`].
#[derive(Clone, Copy, Debug, Default)]
pub struct PrepareOptions {
    /// `--skip-schema-validation`.
    pub skip_schema_validation: bool,
}

/// Everything `helm install/template` does to values before rendering, in its order:
/// installable check, `CheckDependencies`, `ProcessDependencies` (mutates `chart`: disabled
/// subcharts removed, aliases applied, imported values merged into `chart.values`),
/// `CoalesceValues`, then schema validation.
pub fn prepare(chart: &mut Chart, user: &Map, options: PrepareOptions) -> Result<Prepared, ValuesError> {
    match chart.metadata.chart_type.as_str() {
        "" | "application" => {}
        other => return Err(ValuesError::NotInstallable(other.to_string())),
    }
    if chart.metadata.dependencies.as_ref().is_some_and(|d| !d.is_empty()) {
        dependencies::check_dependencies(chart).map_err(ValuesError::MissingDependencies)?;
    }
    let mut warnings = Warnings::default();
    dependencies::process_dependencies(chart, user, &mut warnings).map_err(ValuesError::Dependencies)?;
    let values = coalesce::coalesce_values(chart, user, &mut warnings)?;
    let values = values.read().clone();
    if !options.skip_schema_validation {
        let report = schema::validate_chart(chart, &values);
        if !report.is_empty() {
            return Err(ValuesError::Schema(report));
        }
    }
    Ok(Prepared {
        values,
        warnings: warnings.0,
    })
}

/// The `.Values` a subchart sees: the table at its name inside its parent's values (a copy of
/// its entries; see [`subchart_value`] to share the map as Helm does).
pub fn subchart_values(parent_values: &Map, subchart_name: &str) -> Map {
    match parent_values.get(subchart_name) {
        Some(Value::Map(m, MapType::Interface)) => m.read().clone(),
        _ => Map::new(),
    }
}

/// The subchart's `.Values` as the very map held by the parent (Helm passes the same Go map,
/// so a template's `set` on it is visible from the parent). Missing or non-map tables give a
/// fresh empty map, as Helm's `Values.Table` lookup does.
pub fn subchart_value(parent_values: &Map, subchart_name: &str) -> Value {
    match parent_values.get(subchart_name) {
        Some(v @ Value::Map(_, MapType::Interface)) => v.clone(),
        _ => Value::map(Map::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_of_value_sources() {
        let opts = ValueOptions {
            files: vec!["one".into(), "two".into()],
            set: vec!["a=set,b=set".into()],
            set_string: vec!["b=string,c=string".into()],
            set_file: vec!["c=three,d=three".into()],
            set_json: vec![r#"{"a":"json","e":"json"}"#.into()],
            set_literal: vec!["d=literal".into()],
        };
        let mut read = |p: &str| -> Result<Vec<u8>, String> {
            Ok(match p {
                "one" => b"a: one\nf: one\ng: {x: 1}\n".to_vec(),
                "two" => b"f: two\ng: {z: null}\n".to_vec(),
                _ => b"file".to_vec(),
            })
        };
        let user = merge_user_values_with(&opts, &mut read).expect("merge");
        let json =
            helmfire_value::json::encode(&Value::map(user), helmfire_value::json::JsonStyle::Compact).expect("json");
        assert_eq!(
            json,
            r#"{"a":"set","b":"string","c":"file","d":"literal","e":"json","f":"two","g":{"x":1,"z":null}}"#
        );
    }

    #[test]
    fn subchart_value_is_shared() {
        let mut parent = Map::new();
        parent.insert("sub".into(), Value::map(Map::new()));
        let sub = subchart_value(&parent, "sub");
        sub.as_map().expect("map").write().insert("k".into(), Value::Bool(true));
        assert_eq!(subchart_values(&parent, "sub").len(), 1);
        assert!(
            subchart_value(&parent, "absent")
                .as_map()
                .is_some_and(|m| m.read().is_empty())
        );
    }
}
