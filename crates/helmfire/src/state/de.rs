//! A serde deserializer over [`Node`] trees that keeps locations.
//!
//! Every error it produces carries the span of the node it was reading, unknown fields are
//! reported at the key with a "did you mean" suggestion, and [`Spanned`] fields capture their own
//! span so that later validation can point at them too.

use std::fmt;

use schemars::JsonSchema;
use serde::Deserialize;
use serde::de::{self, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor};

use super::node::{Node, NodeKind};
use super::source::Span;
use super::suggest::hint_for;

/// A deserialization problem, located where it happened.
#[derive(Debug)]
pub struct DeError {
    pub message: String,
    pub span: Option<Span>,
    pub hint: Option<String>,
}

impl fmt::Display for DeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DeError {}

impl de::Error for DeError {
    fn custom<T: fmt::Display>(message: T) -> Self {
        DeError {
            message: message.to_string(),
            span: None,
            hint: None,
        }
    }
}

impl DeError {
    fn at(mut self, span: Span) -> Self {
        self.span.get_or_insert(span);
        self
    }
}

/// Deserializes `T` from a node of the file whose text is `text`.
pub fn from_node<'a, T: Deserialize<'a>>(node: &'a Node, text: &'a str) -> Result<T, DeError> {
    T::deserialize(NodeDeserializer { node, text })
}

/// A value together with where it was written.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Spanned<T> {
    pub value: T,
    pub span: Span,
}

impl<T> Spanned<T> {
    pub fn new(value: T, span: Span) -> Self {
        Spanned { value, span }
    }
}

const SPANNED: &str = "$__helmfire_spanned";
const SPANNED_FIELDS: &[&str] = &["$__start", "$__end", "$__value"];

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Spanned<T> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SpannedVisitor<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for SpannedVisitor<T> {
            type Value = Spanned<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Spanned<T>, A::Error> {
                let mut start = 0;
                let mut end = 0;
                let mut value = None;
                while let Some(key) = map.next_key::<&str>()? {
                    match key {
                        "$__start" => start = map.next_value()?,
                        "$__end" => end = map.next_value()?,
                        _ => value = Some(map.next_value()?),
                    }
                }
                let value = value.ok_or_else(|| de::Error::custom("spanned value missing"))?;
                Ok(Spanned {
                    value,
                    span: Span { start, end },
                })
            }
        }
        deserializer.deserialize_struct(SPANNED, SPANNED_FIELDS, SpannedVisitor(std::marker::PhantomData))
    }
}

impl<T: JsonSchema> JsonSchema for Spanned<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> std::borrow::Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> std::borrow::Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        T::json_schema(generator)
    }
}

#[derive(Clone, Copy)]
struct NodeDeserializer<'a> {
    node: &'a Node,
    text: &'a str,
}

impl<'a> NodeDeserializer<'a> {
    /// The scalar as written, so `version: 1.20` stays `1.20` when a string is wanted.
    fn raw_text(&self) -> Option<&'a str> {
        let raw = self.text.get(self.node.span.start..self.node.span.end)?.trim();
        Some(raw.trim_matches('"'))
    }

    fn type_error(&self, expected: &str) -> DeError {
        DeError {
            message: format!("expected {expected}, found {}", self.node.type_name()),
            span: Some(self.node.span),
            hint: None,
        }
    }
}

impl<'de> de::Deserializer<'de> for NodeDeserializer<'de> {
    type Error = DeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let span = self.node.span;
        let result = match &self.node.kind {
            NodeKind::Null => visitor.visit_unit(),
            NodeKind::Bool(b) => visitor.visit_bool(*b),
            NodeKind::Int(i) => visitor.visit_i64(*i),
            NodeKind::Float(f) => visitor.visit_f64(*f),
            NodeKind::String(s) => visitor.visit_borrowed_str(s),
            NodeKind::Seq(items) => visitor.visit_seq(NodeSeq {
                items: items.iter(),
                text: self.text,
            }),
            NodeKind::Map(entries) => visitor.visit_map(NodeMap {
                entries: entries.iter(),
                value: None,
                text: self.text,
            }),
        };
        result.map_err(|e| e.at(span))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match self.node.kind {
            NodeKind::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        let span = self.node.span;
        let result = match &self.node.kind {
            NodeKind::String(s) => visitor.visit_borrowed_str(s),
            NodeKind::Int(_) | NodeKind::Float(_) | NodeKind::Bool(_) => match self.raw_text() {
                Some(raw) => visitor.visit_borrowed_str(raw),
                None => Err(self.type_error("a string")),
            },
            _ => Err(self.type_error("a string")),
        };
        result.map_err(|e| e.at(span))
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            NodeKind::Seq(items) => visitor
                .visit_seq(NodeSeq {
                    items: items.iter(),
                    text: self.text,
                })
                .map_err(|e| e.at(self.node.span)),
            _ => Err(self.type_error("a list")),
        }
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DeError> {
        match &self.node.kind {
            NodeKind::Map(entries) => visitor
                .visit_map(NodeMap {
                    entries: entries.iter(),
                    value: None,
                    text: self.text,
                })
                .map_err(|e| e.at(self.node.span)),
            _ => Err(self.type_error("a map")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        if name == SPANNED {
            return visitor.visit_map(SpannedAccess { de: self, step: 0 });
        }
        let NodeKind::Map(entries) = &self.node.kind else {
            return Err(self.type_error("a map"));
        };
        for (key, _) in entries {
            let Some(key_text) = key.as_str() else {
                return Err(DeError {
                    message: format!("expected a field name, found {}", key.type_name()),
                    span: Some(key.span),
                    hint: None,
                });
            };
            if !fields.contains(&key_text) {
                let hint = hint_for(key_text, fields, "expected one of");
                return Err(DeError {
                    message: format!("unknown field `{key_text}`"),
                    span: Some(key.span),
                    hint: Some(hint),
                });
            }
        }
        visitor
            .visit_map(NodeMap {
                entries: entries.iter(),
                value: None,
                text: self.text,
            })
            .map_err(|e| e.at(self.node.span))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DeError> {
        match &self.node.kind {
            NodeKind::String(s) => {
                if !variants.contains(&s.as_str()) {
                    let hint = hint_for(s, variants, "expected one of");
                    return Err(DeError {
                        message: format!("unknown value `{s}`"),
                        span: Some(self.node.span),
                        hint: Some(hint),
                    });
                }
                visitor
                    .visit_enum(s.as_str().into_deserializer())
                    .map_err(|e: DeError| e.at(self.node.span))
            }
            _ => Err(self.type_error("a string")),
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char bytes byte_buf unit unit_struct
        newtype_struct tuple tuple_struct identifier ignored_any
    }
}

struct NodeSeq<'a> {
    items: std::slice::Iter<'a, Node>,
    text: &'a str,
}

impl<'de> SeqAccess<'de> for NodeSeq<'de> {
    type Error = DeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, DeError> {
        match self.items.next() {
            Some(node) => seed
                .deserialize(NodeDeserializer { node, text: self.text })
                .map(Some)
                .map_err(|e| e.at(node.span)),
            None => Ok(None),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct NodeMap<'a> {
    entries: std::slice::Iter<'a, (Node, Node)>,
    value: Option<&'a Node>,
    text: &'a str,
}

impl<'de> MapAccess<'de> for NodeMap<'de> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        match self.entries.next() {
            Some((key, value)) => {
                self.value = Some(value);
                seed.deserialize(NodeDeserializer {
                    node: key,
                    text: self.text,
                })
                .map(Some)
                .map_err(|e| e.at(key.span))
            }
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let node = self
            .value
            .take()
            .ok_or_else(|| de::Error::custom("value requested before key"))?;
        seed.deserialize(NodeDeserializer { node, text: self.text })
            .map_err(|e| e.at(node.span))
    }
}

/// Feeds [`Spanned`]'s visitor its start, end and value.
struct SpannedAccess<'a> {
    de: NodeDeserializer<'a>,
    step: usize,
}

impl<'de> MapAccess<'de> for SpannedAccess<'de> {
    type Error = DeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, DeError> {
        match SPANNED_FIELDS.get(self.step) {
            Some(field) => seed
                .deserialize(de::value::BorrowedStrDeserializer::new(field))
                .map(Some),
            None => Ok(None),
        }
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, DeError> {
        let step = self.step;
        self.step += 1;
        match step {
            0 => seed.deserialize((self.de.node.span.start as u64).into_deserializer()),
            1 => seed.deserialize((self.de.node.span.end as u64).into_deserializer()),
            _ => seed.deserialize(self.de),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::source::SourceFile;
    use crate::state::yaml;

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields, rename_all = "camelCase")]
    struct Release {
        name: Spanned<String>,
        version: Option<String>,
        #[serde(default)]
        history_max: Option<u32>,
    }

    #[test]
    fn spanned_fields_and_scalar_text() {
        let source = SourceFile::new("t.yaml", "name: web\nversion: 1.20\n");
        let node = yaml::parse(&source).unwrap();
        let release: Release = from_node(&node, &source.text).unwrap();
        assert_eq!(release.name.value, "web");
        assert_eq!(source.line_column(release.name.span.start), (1, 7));
        assert_eq!(release.version.as_deref(), Some("1.20"));
        assert_eq!(release.history_max, None);
    }

    #[test]
    fn unknown_fields_point_at_the_key_with_a_suggestion() {
        let source = SourceFile::new("t.yaml", "name: web\nhistoryMx: 3\n");
        let node = yaml::parse(&source).unwrap();
        let error = from_node::<Release>(&node, &source.text).unwrap_err();
        assert_eq!(error.message, "unknown field `historyMx`");
        assert_eq!(error.hint.as_deref(), Some("did you mean `historyMax`?"));
        assert_eq!(source.line_column(error.span.unwrap().start), (2, 1));
    }

    #[test]
    fn type_errors_point_at_the_value() {
        let source = SourceFile::new("t.yaml", "name: web\nhistoryMax: lots\n");
        let node = yaml::parse(&source).unwrap();
        let error = from_node::<Release>(&node, &source.text).unwrap_err();
        assert_eq!(error.message, "invalid type: string \"lots\", expected u32");
        assert_eq!(source.line_column(error.span.unwrap().start), (2, 13));
    }
}
