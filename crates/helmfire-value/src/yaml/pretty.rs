//! Helm's `toYamlPretty`: go-yaml v3's encoder (indent 2) applied to the Go values themselves.
//!
//! Unlike `toYaml` there is no JSON step: a `float64` is printed with `strconv`'s shortest `'g'`
//! (`1e+06`), an `int64` as an integer. v3 resolves plain scalars under YAML 1.2 but still quotes
//! the YAML 1.1 booleans (`isOldBool`), so the quoting decisions match go-yaml v2's.

use super::emit::{Emitter, Node, Style, Text};
use super::{YamlError, sorted_entries, string_node};
use crate::Value;
use crate::number::format_float;

const MAX_DEPTH: usize = 10_000;

pub(super) fn encode(value: &Value) -> Result<String, YamlError> {
    let node = to_node(value, 0)?;
    Ok(Emitter::new_v3().document(&node))
}

fn to_node(value: &Value, depth: usize) -> Result<Node, YamlError> {
    crate::deep::segmented(depth, || to_node_here(value, depth)).unwrap_or_else(|| Err(too_deep()))
}

fn too_deep() -> YamlError {
    YamlError {
        message: "yaml: value nested too deeply".to_string(),
        line: None,
        column: None,
    }
}

fn to_node_here(value: &Value, depth: usize) -> Result<Node, YamlError> {
    if depth > MAX_DEPTH {
        return Err(YamlError {
            message: "yaml: value nested too deeply".to_string(),
            line: None,
            column: None,
        });
    }
    Ok(match value {
        Value::Nil => Node::Scalar(Text::Static("null"), Style::Plain),
        Value::Bool(b) => Node::Scalar(Text::Static(if *b { "true" } else { "false" }), Style::Plain),
        Value::Int(i, _) => Node::Scalar(Text::Owned(i.to_string()), Style::Plain),
        Value::Float(f) => {
            let text = match format_float(*f, 'g', -1).as_str() {
                "+Inf" => ".inf".to_string(),
                "-Inf" => "-.inf".to_string(),
                "NaN" => ".nan".to_string(),
                other => other.to_string(),
            };
            Node::Scalar(Text::Owned(text), Style::Plain)
        }
        Value::String(s) => string_node(Text::Shared(s.clone())),
        // A Go []byte is a slice of uint8 to the v3 encoder: a sequence of integers.
        Value::Bytes(b) => Node::Sequence(
            b.iter()
                .map(|byte| Node::Scalar(Text::Owned(byte.to_string()), Style::Plain))
                .collect(),
        ),
        Value::List(items, _) => Node::Sequence(
            items
                .iter()
                .map(|item| to_node(item, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        Value::Map(map, _) if map.is_nil() => Node::Scalar(Text::Static("null"), Style::Plain),
        Value::Map(map, _) => {
            let map = map.read();
            let entries = sorted_entries(&map, true);
            Node::Mapping(
                entries
                    .into_iter()
                    .map(|(k, v)| Ok((string_node(Text::Owned(k.clone())), to_node(v, depth + 1)?)))
                    .collect::<Result<_, YamlError>>()?,
            )
        }
        // go-yaml v3 writes a time.Time as a plain RFC 3339 scalar, never quoted.
        Value::Object(object) if object.type_name() == "time.Time" => match object.to_plain() {
            Value::String(text) => Node::Scalar(Text::Shared(text), Style::Plain),
            other => to_node(&other, depth + 1)?,
        },
        Value::Object(object) => to_node(&object.to_plain(), depth + 1)?,
    })
}
