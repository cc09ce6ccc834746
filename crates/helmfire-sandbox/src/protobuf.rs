//! Decodes Kubernetes protobuf request bodies (the `k8s\0` envelope around `runtime.Unknown`)
//! into JSON for the kinds typed clients send that way: Secret, ConfigMap, Namespace and
//! DeleteOptions. Hand-written wire decoding of just those messages; responses are always JSON.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use super::status::ApiError;

/// The media type typed clients use.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

const MAGIC: &[u8] = b"k8s\0";

#[derive(Debug)]
enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

struct Reader<'a> {
    data: &'a [u8],
}

fn malformed(what: &str) -> ApiError {
    ApiError::bad_request(format!("malformed protobuf body: {what}"))
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, ApiError> {
        let mut out = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.data.split_first().ok_or_else(|| malformed("truncated varint"))?;
            self.data = rest;
            out |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(out);
            }
        }
        Err(malformed("varint too long"))
    }

    fn next(&mut self) -> Result<Option<(u64, Field<'a>)>, ApiError> {
        if self.data.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = key >> 3;
        let value = match key & 7 {
            0 => Field::Varint(self.varint()?),
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| malformed("length"))?;
                if len > self.data.len() {
                    return Err(malformed("length past end of body"));
                }
                let (bytes, rest) = self.data.split_at(len);
                self.data = rest;
                Field::Bytes(bytes)
            }
            1 => {
                self.skip(8)?;
                Field::Fixed
            }
            5 => {
                self.skip(4)?;
                Field::Fixed
            }
            other => return Err(malformed(&format!("unsupported wire type {other}"))),
        };
        Ok(Some((field, value)))
    }

    fn skip(&mut self, n: usize) -> Result<(), ApiError> {
        if n > self.data.len() {
            return Err(malformed("truncated fixed-width field"));
        }
        self.data = &self.data[n..];
        Ok(())
    }
}

fn fields(data: &[u8]) -> Result<Vec<(u64, Field<'_>)>, ApiError> {
    let mut reader = Reader { data };
    let mut out = Vec::new();
    while let Some(field) = reader.next()? {
        out.push(field);
    }
    Ok(out)
}

fn text(bytes: &[u8]) -> Result<String, ApiError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| malformed("string is not UTF-8"))
}

fn set_str(map: &mut Map<String, Value>, key: &str, bytes: &[u8]) -> Result<(), ApiError> {
    let s = text(bytes)?;
    if !s.is_empty() {
        map.insert(key.into(), Value::String(s));
    }
    Ok(())
}

/// A `map<string, X>` entry: (key, raw value bytes).
fn map_entry(bytes: &[u8]) -> Result<(String, Vec<u8>), ApiError> {
    let mut key = String::new();
    let mut value = Vec::new();
    for (n, f) in fields(bytes)? {
        match (n, f) {
            (1, Field::Bytes(b)) => key = text(b)?,
            (2, Field::Bytes(b)) => value = b.to_vec(),
            _ => {}
        }
    }
    Ok((key, value))
}

fn time(bytes: &[u8]) -> Result<Option<String>, ApiError> {
    let mut seconds = 0i64;
    for (n, f) in fields(bytes)? {
        if let (1, Field::Varint(v)) = (n, f) {
            seconds = v as i64;
        }
    }
    Ok((seconds != 0).then(|| super::clock::format_rfc3339(seconds)))
}

fn object_meta(bytes: &[u8]) -> Result<Value, ApiError> {
    let mut meta = Map::new();
    let mut labels = Map::new();
    let mut annotations = Map::new();
    let mut finalizers = Vec::new();
    let mut owners = Vec::new();
    for (n, f) in fields(bytes)? {
        match (n, f) {
            (1, Field::Bytes(b)) => set_str(&mut meta, "name", b)?,
            (2, Field::Bytes(b)) => set_str(&mut meta, "generateName", b)?,
            (3, Field::Bytes(b)) => set_str(&mut meta, "namespace", b)?,
            (5, Field::Bytes(b)) => set_str(&mut meta, "uid", b)?,
            (6, Field::Bytes(b)) => set_str(&mut meta, "resourceVersion", b)?,
            (7, Field::Varint(v)) if v != 0 => {
                meta.insert("generation".into(), json!(v as i64));
            }
            (8, Field::Bytes(b)) => {
                if let Some(t) = time(b)? {
                    meta.insert("creationTimestamp".into(), json!(t));
                }
            }
            (11, Field::Bytes(b)) => {
                let (k, v) = map_entry(b)?;
                labels.insert(k, Value::String(text(&v)?));
            }
            (12, Field::Bytes(b)) => {
                let (k, v) = map_entry(b)?;
                annotations.insert(k, Value::String(text(&v)?));
            }
            (13, Field::Bytes(b)) => owners.push(owner_reference(b)?),
            (14, Field::Bytes(b)) => finalizers.push(Value::String(text(b)?)),
            _ => {}
        }
    }
    if !labels.is_empty() {
        meta.insert("labels".into(), Value::Object(labels));
    }
    if !annotations.is_empty() {
        meta.insert("annotations".into(), Value::Object(annotations));
    }
    if !owners.is_empty() {
        meta.insert("ownerReferences".into(), Value::Array(owners));
    }
    if !finalizers.is_empty() {
        meta.insert("finalizers".into(), Value::Array(finalizers));
    }
    Ok(Value::Object(meta))
}

fn owner_reference(bytes: &[u8]) -> Result<Value, ApiError> {
    let mut owner = Map::new();
    for (n, f) in fields(bytes)? {
        match (n, f) {
            (1, Field::Bytes(b)) => set_str(&mut owner, "kind", b)?,
            (3, Field::Bytes(b)) => set_str(&mut owner, "name", b)?,
            (4, Field::Bytes(b)) => set_str(&mut owner, "uid", b)?,
            (5, Field::Bytes(b)) => set_str(&mut owner, "apiVersion", b)?,
            (6, Field::Varint(v)) => {
                owner.insert("controller".into(), json!(v != 0));
            }
            (7, Field::Varint(v)) => {
                owner.insert("blockOwnerDeletion".into(), json!(v != 0));
            }
            _ => {}
        }
    }
    Ok(Value::Object(owner))
}

fn secret(bytes: &[u8], out: &mut Map<String, Value>) -> Result<(), ApiError> {
    let mut data = Map::new();
    let mut string_data = Map::new();
    for (n, f) in fields(bytes)? {
        match (n, f) {
            (1, Field::Bytes(b)) => {
                out.insert("metadata".into(), object_meta(b)?);
            }
            (2, Field::Bytes(b)) => {
                let (k, v) = map_entry(b)?;
                let encoded = base64::engine::general_purpose::STANDARD.encode(v);
                data.insert(k, Value::String(encoded));
            }
            (3, Field::Bytes(b)) => set_str(out, "type", b)?,
            (4, Field::Bytes(b)) => {
                let (k, v) = map_entry(b)?;
                string_data.insert(k, Value::String(text(&v)?));
            }
            (5, Field::Varint(v)) => {
                out.insert("immutable".into(), json!(v != 0));
            }
            _ => {}
        }
    }
    if !data.is_empty() {
        out.insert("data".into(), Value::Object(data));
    }
    if !string_data.is_empty() {
        out.insert("stringData".into(), Value::Object(string_data));
    }
    Ok(())
}

fn config_map(bytes: &[u8], out: &mut Map<String, Value>) -> Result<(), ApiError> {
    let mut data = Map::new();
    let mut binary = Map::new();
    for (n, f) in fields(bytes)? {
        match (n, f) {
            (1, Field::Bytes(b)) => {
                out.insert("metadata".into(), object_meta(b)?);
            }
            (2, Field::Bytes(b)) => {
                let (k, v) = map_entry(b)?;
                data.insert(k, Value::String(text(&v)?));
            }
            (3, Field::Bytes(b)) => {
                let (k, v) = map_entry(b)?;
                let encoded = base64::engine::general_purpose::STANDARD.encode(v);
                binary.insert(k, Value::String(encoded));
            }
            (4, Field::Varint(v)) => {
                out.insert("immutable".into(), json!(v != 0));
            }
            _ => {}
        }
    }
    if !data.is_empty() {
        out.insert("data".into(), Value::Object(data));
    }
    if !binary.is_empty() {
        out.insert("binaryData".into(), Value::Object(binary));
    }
    Ok(())
}

fn namespace(bytes: &[u8], out: &mut Map<String, Value>) -> Result<(), ApiError> {
    for (n, f) in fields(bytes)? {
        match (n, f) {
            (1, Field::Bytes(b)) => {
                out.insert("metadata".into(), object_meta(b)?);
            }
            (2, Field::Bytes(b)) => {
                let mut finalizers = Vec::new();
                for (n, f) in fields(b)? {
                    if let (1, Field::Bytes(s)) = (n, f) {
                        finalizers.push(Value::String(text(s)?));
                    }
                }
                let mut spec = Map::new();
                if !finalizers.is_empty() {
                    spec.insert("finalizers".into(), Value::Array(finalizers));
                }
                out.insert("spec".into(), Value::Object(spec));
            }
            _ => {}
        }
    }
    Ok(())
}

fn delete_options(bytes: &[u8], out: &mut Map<String, Value>) -> Result<(), ApiError> {
    let mut dry_run = Vec::new();
    for (n, f) in fields(bytes)? {
        match (n, f) {
            (1, Field::Varint(v)) => {
                out.insert("gracePeriodSeconds".into(), json!(v as i64));
            }
            (2, Field::Bytes(b)) => {
                let mut pre = Map::new();
                for (n, f) in fields(b)? {
                    match (n, f) {
                        (1, Field::Bytes(s)) => set_str(&mut pre, "uid", s)?,
                        (2, Field::Bytes(s)) => set_str(&mut pre, "resourceVersion", s)?,
                        _ => {}
                    }
                }
                out.insert("preconditions".into(), Value::Object(pre));
            }
            (3, Field::Varint(v)) => {
                out.insert("orphanDependents".into(), json!(v != 0));
            }
            (4, Field::Bytes(b)) => set_str(out, "propagationPolicy", b)?,
            (5, Field::Bytes(b)) => dry_run.push(Value::String(text(b)?)),
            _ => {}
        }
    }
    if !dry_run.is_empty() {
        out.insert("dryRun".into(), Value::Array(dry_run));
    }
    Ok(())
}

/// Decodes a protobuf body into the equivalent JSON object.
pub fn decode(body: &[u8]) -> Result<Value, ApiError> {
    let payload = body
        .strip_prefix(MAGIC)
        .ok_or_else(|| malformed("missing the k8s\\0 prefix"))?;
    let mut api_version = String::new();
    let mut kind = String::new();
    let mut raw: &[u8] = &[];
    for (n, f) in fields(payload)? {
        match (n, f) {
            (1, Field::Bytes(b)) => {
                for (n, f) in fields(b)? {
                    match (n, f) {
                        (1, Field::Bytes(s)) => api_version = text(s)?,
                        (2, Field::Bytes(s)) => kind = text(s)?,
                        _ => {}
                    }
                }
            }
            (2, Field::Bytes(b)) => raw = b,
            (3 | 4, Field::Bytes(b)) if !b.is_empty() && n == 3 => {
                return Err(ApiError::unsupported_media_type(
                    &format!("{MEDIA_TYPE} (contentEncoding {})", text(b)?),
                    "application/json",
                ));
            }
            _ => {}
        }
    }
    let mut out = Map::new();
    out.insert("apiVersion".into(), Value::String(api_version.clone()));
    out.insert("kind".into(), Value::String(kind.clone()));
    match (api_version.as_str(), kind.as_str()) {
        ("v1", "Secret") => secret(raw, &mut out)?,
        ("v1", "ConfigMap") => config_map(raw, &mut out)?,
        ("v1", "Namespace") => namespace(raw, &mut out)?,
        ("v1" | "meta.k8s.io/v1", "DeleteOptions") => delete_options(raw, &mut out)?,
        _ => {
            return Err(ApiError::unsupported_media_type(
                &format!("{MEDIA_TYPE} for {kind} {api_version}"),
                "application/json, application/yaml (protobuf only for Secret, ConfigMap, Namespace, DeleteOptions)",
            ));
        }
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes_field(n: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![(n << 3) | 2];
        let mut len = payload.len();
        loop {
            let byte = (len & 0x7f) as u8;
            len >>= 7;
            if len == 0 {
                out.push(byte);
                break;
            }
            out.push(byte | 0x80);
        }
        out.extend_from_slice(payload);
        out
    }

    fn envelope(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
        let mut type_meta = bytes_field(1, api_version.as_bytes());
        type_meta.extend(bytes_field(2, kind.as_bytes()));
        let mut out = b"k8s\0".to_vec();
        out.extend(bytes_field(1, &type_meta));
        out.extend(bytes_field(2, &raw));
        out
    }

    #[test]
    fn decodes_a_helm_release_secret() {
        let mut label = bytes_field(1, b"owner");
        label.extend(bytes_field(2, b"helm"));
        let mut meta = bytes_field(1, b"sh.helm.release.v1.r1.v1");
        meta.extend(bytes_field(2, b"")); // gogo writes empty generateName
        meta.extend(bytes_field(11, &label));
        let mut entry = bytes_field(1, b"release");
        entry.extend(bytes_field(2, b"\x1f\x8b"));
        let mut raw = bytes_field(1, &meta);
        raw.extend(bytes_field(2, &entry));
        raw.extend(bytes_field(3, b"helm.sh/release.v1"));
        let object = decode(&envelope("v1", "Secret", raw)).expect("decodes");
        assert_eq!(
            object,
            json!({"apiVersion": "v1", "kind": "Secret",
                "metadata": {"name": "sh.helm.release.v1.r1.v1", "labels": {"owner": "helm"}},
                "data": {"release": "H4s="}, "type": "helm.sh/release.v1"})
        );
    }

    #[test]
    fn decodes_delete_options() {
        let raw = bytes_field(4, b"Background");
        let object = decode(&envelope("v1", "DeleteOptions", raw)).expect("decodes");
        assert_eq!(object["propagationPolicy"], "Background");
    }

    #[test]
    fn garbage_is_a_bad_request_and_unknown_kinds_unsupported() {
        assert_eq!(decode(b"nope").map_err(|e| e.code), Err(400));
        assert_eq!(decode(b"k8s\0\x0a\xff").map_err(|e| e.code), Err(400));
        let pod = envelope("v1", "Pod", Vec::new());
        assert_eq!(decode(&pod).map_err(|e| e.code), Err(415));
    }
}
