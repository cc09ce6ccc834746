//! Secret masking: which keys of a Secret's `data`/`stringData` were added, removed or changed,
//! and copies of both sides with every value replaced by a marker, so no diff, log or report
//! ever carries a secret value.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;
use serde::Serialize;

use helmfire_value::{Map, Value};

/// What a value is shown as when unchanged (or when only one side has the Secret).
pub const HIDDEN: &str = "(hidden)";
/// The deployed side of a changed value.
pub const HIDDEN_BEFORE: &str = "(hidden: old value)";
/// The desired side of a changed value.
pub const HIDDEN_AFTER: &str = "(hidden: new value)";

/// Keys of a Secret that differ between the deployed and the desired object.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SecretKeys {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

impl SecretKeys {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// The bytes a Secret ends up holding: `data` decoded from base64, then `stringData` over it
/// (as the API server merges them).
fn effective(secret: &Value) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let Some(map) = secret.as_map() else { return out };
    let map = map.read();
    if let Some(data) = map.get("data").and_then(Value::as_map) {
        for (key, value) in data.read().iter() {
            let bytes = match value {
                Value::String(s) => base64::engine::general_purpose::STANDARD
                    .decode(s.as_bytes())
                    .unwrap_or_else(|_| s.as_bytes().to_vec()),
                other => helmfire_value::yaml::encode(other).unwrap_or_default().into_bytes(),
            };
            out.insert(key.clone(), bytes);
        }
    }
    if let Some(data) = map.get("stringData").and_then(Value::as_map) {
        for (key, value) in data.read().iter() {
            let bytes = match value {
                Value::String(s) => s.as_bytes().to_vec(),
                other => helmfire_value::yaml::encode(other).unwrap_or_default().into_bytes(),
            };
            out.insert(key.clone(), bytes);
        }
    }
    out
}

/// Compares the keys of two Secrets (either may be absent).
pub fn compare(before: Option<&Value>, after: Option<&Value>) -> SecretKeys {
    let old = before.map(effective).unwrap_or_default();
    let new = after.map(effective).unwrap_or_default();
    let keys: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    let mut result = SecretKeys::default();
    for key in keys {
        match (old.get(key), new.get(key)) {
            (None, Some(_)) => result.added.push(key.clone()),
            (Some(_), None) => result.removed.push(key.clone()),
            (Some(a), Some(b)) if a != b => result.changed.push(key.clone()),
            _ => {}
        }
    }
    result
}

/// A copy of `secret` whose `data`/`stringData` values are markers: [`HIDDEN`], or `changed`
/// (one of [`HIDDEN_BEFORE`]/[`HIDDEN_AFTER`]) for the keys in `changed_keys`.
pub fn mask(secret: &Value, changed_keys: &[String], changed: &str) -> Value {
    let Some(map) = secret.as_map() else {
        return secret.clone();
    };
    let mut copy: Map = map.read().clone();
    for field in ["data", "stringData"] {
        let Some(data) = copy.get(field).and_then(Value::as_map) else {
            continue;
        };
        let masked: Map = data
            .read()
            .keys()
            .map(|key| {
                let marker = if changed_keys.contains(key) { changed } else { HIDDEN };
                (key.clone(), Value::string(marker))
            })
            .collect();
        copy.insert(field.to_string(), Value::map(masked));
    }
    Value::map(copy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use helmfire_value::yaml;

    fn secret(text: &str) -> Value {
        yaml::decode(text).unwrap()
    }

    #[test]
    fn keys_are_compared_by_content_across_data_and_string_data() {
        // `c3VwZXI=` is base64 of `super`: moving a value from data to stringData is no change.
        let before = secret("kind: Secret\ndata:\n  same: c3VwZXI=\n  gone: eA==\n  edit: eA==\n");
        let after = secret("kind: Secret\nstringData:\n  same: super\n  edit: y\n  new: z\n");
        let keys = compare(Some(&before), Some(&after));
        assert_eq!(keys.added, ["new"]);
        assert_eq!(keys.removed, ["gone"]);
        assert_eq!(keys.changed, ["edit"]);
        assert!(compare(Some(&before), Some(&before)).is_empty());
    }

    #[test]
    fn masking_replaces_every_value() {
        let value = secret("kind: Secret\ndata:\n  a: c2VjcmV0\nstringData:\n  b: plain-secret\n");
        let masked = yaml::encode(&mask(&value, &["b".to_string()], HIDDEN_AFTER)).unwrap();
        assert!(
            !masked.contains("c2VjcmV0") && !masked.contains("plain-secret"),
            "{masked}"
        );
        assert!(masked.contains("a: (hidden)"), "{masked}");
        assert!(masked.contains("b: '(hidden: new value)'"), "{masked}");
    }
}
