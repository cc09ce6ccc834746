//! TOML state files → [`Node`] trees, so TOML users get the same validation and locations.

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::node::{Node, NodeKind};
use super::source::Span;

/// A TOML problem at a byte offset of the file.
#[derive(Debug)]
pub struct TomlSyntaxError {
    pub message: String,
    pub offset: usize,
}

pub fn parse(text: &str) -> Result<Node, TomlSyntaxError> {
    let table = DeTable::parse(text).map_err(|error| TomlSyntaxError {
        message: error.message().trim_end().to_string(),
        offset: error.span().map_or(0, |span| span.start),
    })?;
    let span = table.span();
    Ok(Node::new(
        table_kind(table.get_ref())?,
        Span {
            start: span.start,
            end: span.end,
        },
    ))
}

fn table_kind(table: &DeTable<'_>) -> Result<NodeKind, TomlSyntaxError> {
    let mut entries = Vec::with_capacity(table.len());
    for (key, value) in table.iter() {
        let key_span = key.span();
        let key = Node::new(
            NodeKind::String(key.get_ref().to_string()),
            Span {
                start: key_span.start,
                end: key_span.end,
            },
        );
        entries.push((key, value_node(value)?));
    }
    // Keep file order: the TOML map is keyed, so order by position.
    entries.sort_by_key(|(key, _)| key.span.start);
    Ok(NodeKind::Map(entries))
}

fn value_node(value: &Spanned<DeValue<'_>>) -> Result<Node, TomlSyntaxError> {
    let span = value.span();
    let span = Span {
        start: span.start,
        end: span.end,
    };
    let invalid = |what: &str| TomlSyntaxError {
        message: format!("invalid {what}"),
        offset: span.start,
    };
    let kind = match value.get_ref() {
        DeValue::String(s) => NodeKind::String(s.to_string()),
        DeValue::Integer(i) => {
            let digits = i.as_str().replace('_', "");
            let (negative, digits) = match digits.strip_prefix('-') {
                Some(rest) => (true, rest.to_string()),
                None => (false, digits.trim_start_matches('+').to_string()),
            };
            let digits = digits
                .trim_start_matches("0x")
                .trim_start_matches("0o")
                .trim_start_matches("0b");
            let magnitude = i64::from_str_radix(digits, i.radix()).map_err(|_| invalid("integer"))?;
            NodeKind::Int(if negative { -magnitude } else { magnitude })
        }
        DeValue::Float(f) => {
            let text = f.as_str().replace('_', "");
            let parsed = match text.trim_start_matches('+') {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                "nan" | "-nan" => f64::NAN,
                other => other.parse().map_err(|_| invalid("float"))?,
            };
            NodeKind::Float(parsed)
        }
        DeValue::Boolean(b) => NodeKind::Bool(*b),
        DeValue::Datetime(d) => NodeKind::String(d.to_string()),
        DeValue::Array(items) => NodeKind::Seq(items.iter().map(value_node).collect::<Result<_, _>>()?),
        DeValue::Table(table) => table_kind(table)?,
    };
    Ok(Node::new(kind, span))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_arrays_and_scalars_keep_spans() {
        let text = "[defaults]\nnamespace = \"apps\"\n\n[[releases]]\nname = \"web\"\nreplicas = 0x10\n";
        let node = parse(text).unwrap();
        assert_eq!(
            node.get("defaults").unwrap().get("namespace").unwrap().as_str(),
            Some("apps")
        );
        let NodeKind::Seq(releases) = &node.get("releases").unwrap().kind else {
            panic!()
        };
        let name = releases[0].get("name").unwrap();
        assert_eq!(&text[name.span.start..name.span.end], "\"web\"");
        assert_eq!(releases[0].get("replicas").unwrap().kind, NodeKind::Int(16));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        for (open, close) in [("[", "]"), ("{a = ", "}")] {
            let text = format!("a = {}1{}\n", open.repeat(100_000), close.repeat(100_000));
            let error = parse(&text).unwrap_err();
            assert!(error.message.contains("max recursion depth"), "{}", error.message);
        }
    }

    #[test]
    fn syntax_errors_carry_an_offset() {
        let error = parse("a = \n").unwrap_err();
        assert!(!error.message.is_empty());
        assert_eq!(error.offset, 4);
    }
}
