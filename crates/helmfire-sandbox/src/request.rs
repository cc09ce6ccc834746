//! What a request asks for, independent of the transport: method, path segments, decoded query
//! parameters, content types and body. Parses query strings and bodies; serves nothing.

use std::collections::HashMap;

use bytes::Bytes;
use serde_json::Value;

use super::protobuf;
use super::status::ApiError;

/// A transport-neutral request.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// HTTP method, upper case.
    pub method: String,
    /// Path without the query.
    pub path: String,
    /// Decoded query parameters (last value wins).
    pub query: HashMap<String, String>,
    /// `Content-Type` header.
    pub content_type: String,
    /// `Accept` header.
    pub accept: String,
    /// `User-Agent` header.
    pub user_agent: String,
    /// Request body.
    pub body: Bytes,
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (
                bytes.get(i + 1).and_then(|&b| hex(b)),
                bytes.get(i + 2).and_then(|&b| hex(b)),
            ) {
                (Some(high), Some(low)) => {
                    out.push(high * 16 + low);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses `a=1&b=x%3Dy`.
pub fn parse_query(query: &str) -> HashMap<String, String> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) => (percent_decode(k), percent_decode(v)),
            None => (percent_decode(pair), String::new()),
        })
        .collect()
}

impl Request {
    /// A query parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.query.get(name).map(String::as_str)
    }

    /// A boolean query parameter (`true`/`1`).
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.param(name), Some("true" | "1"))
    }

    /// The media type of the body, without parameters.
    pub fn media_type(&self) -> &str {
        self.content_type.split(';').next().unwrap_or_default().trim()
    }

    /// `dryRun=All`.
    pub fn dry_run(&self) -> Result<bool, ApiError> {
        match self.param("dryRun") {
            None | Some("") => Ok(false),
            Some("All") => Ok(true),
            Some(other) => Err(ApiError::bad_request(format!(
                "unsupported dry run value `{other}`: only `All` is supported"
            ))),
        }
    }

    /// Decodes an object body (JSON, YAML or protobuf).
    pub fn object_body(&self) -> Result<Value, ApiError> {
        let value = match self.media_type() {
            "" | "application/json" | "*/*" => decode_json(&self.body)?,
            "application/yaml" | "application/apply-patch+yaml" => decode_yaml(&self.body)?,
            protobuf::MEDIA_TYPE => protobuf::decode(&self.body)?,
            other => {
                return Err(ApiError::unsupported_media_type(
                    other,
                    "application/json, application/yaml, application/vnd.kubernetes.protobuf",
                ));
            }
        };
        if !value.is_object() {
            return Err(ApiError::bad_request("the request body must be a JSON object"));
        }
        Ok(value)
    }
}

/// Parses a JSON body; malformed input is a 400 that quotes the parser.
pub fn decode_json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the body of the request is not valid JSON: {e}")))
}

/// Parses a YAML (or JSON) body.
pub fn decode_yaml(body: &[u8]) -> Result<Value, ApiError> {
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        return Ok(value);
    }
    // The API server reads YAML with sigs.k8s.io/yaml (go-yaml's YAML 1.1 rules, then JSON).
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::bad_request("the body of the request is not valid UTF-8".to_string()))?;
    helmfire_value::interop::yaml_to_json(text)
        .map_err(|e| ApiError::bad_request(format!("the body of the request is not valid YAML: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_selectors_in_queries() {
        let q = parse_query("labelSelector=name%3Dr1%2Cowner%3Dhelm&watch=true&x");
        assert_eq!(q["labelSelector"], "name=r1,owner=helm");
        assert_eq!(q["watch"], "true");
        assert_eq!(q["x"], "");
        assert_eq!(parse_query("a=%zz%4")["a"], "%zz%4");
    }

    #[test]
    fn malformed_bodies_are_bad_requests() {
        let request = Request {
            content_type: "application/json".into(),
            body: Bytes::from_static(b"{not json"),
            ..Request::default()
        };
        assert_eq!(request.object_body().map_err(|e| e.code), Err(400));
        let yaml = Request {
            content_type: "application/yaml".into(),
            body: Bytes::from_static(b"a: [1, 2"),
            ..Request::default()
        };
        assert_eq!(yaml.object_body().map_err(|e| e.code), Err(400));
        let text = Request {
            content_type: "text/plain".into(),
            body: Bytes::from_static(b"x"),
            ..Request::default()
        };
        assert_eq!(text.object_body().map_err(|e| e.code), Err(415));
    }
}
