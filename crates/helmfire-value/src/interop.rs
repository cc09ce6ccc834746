//! Between Go-shaped [`Value`]s and `serde_json` values: typed `serde` decoding of YAML files
//! read with go-yaml's rules (a repository's index.yaml, helm's repositories.yaml, the lock
//! file, a request body the sandbox receives), and objects exchanged with the cluster.
//!
//! [`to_json`] is what Go's `encoding/json` would marshal: a float that is a whole number is
//! written as an integer (`2`, not `2.0`), `[]byte` as base64, objects as their plain form.
//! [`from_json`] is `json.Unmarshal` into `interface{}`: every number a `float64`.

use base64::Engine as _;
use serde_json::Value as Json;

use crate::json::{JsonError, format_json_float};
use crate::yaml::{self, YamlError};
use crate::{Map, Value};

/// The JSON value `encoding/json` would marshal `value` as. NaN and infinities are an error,
/// as in Go.
pub fn to_json(value: &Value) -> Result<Json, JsonError> {
    Ok(match value {
        Value::Nil => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i, _) => Json::from(*i),
        Value::Float(f) => float(*f)?,
        Value::String(s) => Json::String(s.to_string()),
        Value::Bytes(b) => Json::String(base64::engine::general_purpose::STANDARD.encode(b)),
        Value::List(items, _) => Json::Array(items.iter().map(to_json).collect::<Result<_, _>>()?),
        Value::Map(map, _) if map.is_nil() => Json::Null,
        Value::Map(map, _) => Json::Object(
            map.read()
                .iter()
                .map(|(k, v)| Ok((k.clone(), to_json(v)?)))
                .collect::<Result<_, JsonError>>()?,
        ),
        Value::Object(object) => to_json(&object.to_plain())?,
    })
}

fn float(f: f64) -> Result<Json, JsonError> {
    // Go's error for NaN and infinities.
    format_json_float(f)?;
    // Go formats whole floats without a fraction; keep them integers so typed fields read them.
    const EXACT: f64 = 9_007_199_254_740_992.0; // 2^53
    if f.fract() == 0.0 && f.abs() <= EXACT {
        return Ok(Json::from(f as i64));
    }
    Ok(serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number))
}

/// `json.Unmarshal` into `interface{}`: numbers become `float64`.
pub fn from_json(json: &Json) -> Value {
    match json {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => Value::Float(n.as_f64().unwrap_or(0.0)),
        Json::String(s) => Value::from(s.as_str()),
        Json::Array(items) => Value::list(items.iter().map(from_json).collect()),
        Json::Object(map) => Value::map(map.iter().map(|(k, v)| (k.clone(), from_json(v))).collect::<Map>()),
    }
}

/// `sigs.k8s.io/yaml.YAMLToJSON` on the first document: go-yaml v2's YAML 1.1 resolution, then
/// JSON. An empty document is `null`.
pub fn yaml_to_json(text: &str) -> Result<Json, YamlError> {
    let value = yaml::decode(text)?;
    Ok(to_json(&value)?)
}

/// A `serde` type read from YAML as `sigs.k8s.io/yaml.Unmarshal` reads it (YAML to JSON, then
/// JSON into the type). The error says where in the YAML, or which field did not fit.
pub fn from_yaml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, YamlError> {
    let json = yaml_to_json(text)?;
    serde_json::from_value(json).map_err(|e| YamlError {
        message: format!("error unmarshaling JSON: {e}"),
        line: None,
        column: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_floats_are_integers_as_in_go() {
        let json = yaml_to_json("replicas: 2\nratio: 0.5\nbig: 1e300\nname: web\nlist: [1, true, null]\n").unwrap();
        assert_eq!(
            json.to_string(),
            r#"{"big":1e+300,"list":[1,true,null],"name":"web","ratio":0.5,"replicas":2}"#
        );
    }

    #[test]
    fn yaml_one_one_rules_apply() {
        // go-yaml v2: `yes` is a bool, `010` octal, `1_000` an integer.
        let json = yaml_to_json("a: yes\nb: 010\nc: 1_000\nd: '2'\n").unwrap();
        assert_eq!(json.to_string(), r#"{"a":true,"b":8,"c":1000,"d":"2"}"#);
    }

    #[test]
    fn typed_decoding_names_the_field() {
        #[derive(serde::Deserialize, Debug)]
        struct Entry {
            #[expect(dead_code, reason = "only decoding is tested")]
            name: String,
        }
        let error = from_yaml::<Entry>("name: [1]\n").unwrap_err();
        assert!(error.message.contains("invalid type"), "{}", error.message);
    }

    #[test]
    fn nan_is_refused() {
        assert!(to_json(&Value::Float(f64::NAN)).is_err());
        let decoded = from_json(&serde_json::json!({"n": 3}));
        assert!(matches!(decoded.as_map().unwrap().read()["n"], Value::Float(f) if f == 3.0));
    }
}
