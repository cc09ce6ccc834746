//! The record body: base64(gzip(JSON)) as Helm's `encodeRelease`/`decodeRelease` write and read
//! it. JSON is written as Go's `encoding/json` would (HTML characters and U+2028/U+2029
//! escaped, floats in Go's shortest form); plain JSON bodies (pre-compression records) are read
//! too.

use std::io::{Read as _, Write as _};

use base64::Engine as _;
use serde::Serialize as _;

use super::record::ReleaseRecord;

/// Why a record body could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("the body is not valid base64")]
    Base64(#[source] base64::DecodeError),
    #[error("the body is not valid gzip")]
    Gzip(#[source] std::io::Error),
    #[error("the body is not a valid release JSON document")]
    Json(#[source] serde_json::Error),
}

/// Encodes a record as Helm does: `base64(gzip₉(json))`.
pub fn encode(record: &ReleaseRecord) -> Result<String, CodecError> {
    let json = to_go_json(record)?;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&json).map_err(CodecError::Gzip)?;
    let gzipped = encoder.finish().map_err(CodecError::Gzip)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(gzipped))
}

/// Decodes a body written by Helm 3, Helm 4 or helmfire.
pub fn decode(body: &str) -> Result<ReleaseRecord, CodecError> {
    // Go's decoder skips `\r` and `\n` anywhere in the input.
    let cleaned: Vec<u8> = body.bytes().filter(|b| *b != b'\r' && *b != b'\n').collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&cleaned)
        .map_err(CodecError::Base64)?;
    let json = if bytes.len() > 3 && bytes[..3] == [0x1f, 0x8b, 0x08] {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_end(&mut out)
            .map_err(CodecError::Gzip)?;
        out
    } else {
        bytes
    };
    serde_json::from_slice(&json).map_err(CodecError::Json)
}

/// The record's JSON exactly as Go's `json.Marshal` writes it.
pub fn to_go_json(record: &ReleaseRecord) -> Result<Vec<u8>, CodecError> {
    let mut out = Vec::new();
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, GoFormatter);
    record.serialize(&mut serializer).map_err(CodecError::Json)?;
    Ok(out)
}

/// serde_json's compact output with Go's differences: `<`, `>`, `&`, U+2028 and U+2029 escaped
/// as `\u003c`…, floats as `strconv.AppendFloat(f, 'f' or 'e', -1, 64)`.
struct GoFormatter;

impl serde_json::ser::Formatter for GoFormatter {
    fn write_f64<W: ?Sized + std::io::Write>(&mut self, writer: &mut W, value: f64) -> std::io::Result<()> {
        let text = helmfire_value::json::format_json_float(value).map_err(std::io::Error::other)?;
        writer.write_all(text.as_bytes())
    }

    fn write_f32<W: ?Sized + std::io::Write>(&mut self, writer: &mut W, value: f32) -> std::io::Result<()> {
        self.write_f64(writer, f64::from(value))
    }

    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            let escaped = match c {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..i])?;
            writer.write_all(escaped.as_bytes())?;
            start = i + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::record::{HookRecord, Status};

    #[test]
    fn go_json_escapes_html_and_formats_floats() {
        let mut record = ReleaseRecord {
            name: "r".into(),
            version: 1,
            manifest: "a: <b> & \u{2028}\n\t\u{1}".into(),
            ..ReleaseRecord::default()
        };
        record.config.insert("big".into(), serde_json::json!(1e21));
        record.config.insert("small".into(), serde_json::json!(0.000001));
        record.config.insert("tiny".into(), serde_json::json!(1e-7));
        record.config.insert("half".into(), serde_json::json!(0.5));
        let json = String::from_utf8(to_go_json(&record).unwrap()).unwrap();
        assert!(
            json.contains(r#""manifest":"a: \u003cb\u003e \u0026 \u2028\n\t\u0001""#),
            "{json}"
        );
        assert!(json.contains(r#""big":1e+21"#), "{json}");
        assert!(json.contains(r#""small":0.000001"#), "{json}");
        assert!(json.contains(r#""tiny":1e-7"#), "{json}");
        assert!(json.contains(r#""half":0.5"#), "{json}");
    }

    #[test]
    fn minimal_record_has_helms_keys_in_order() {
        let mut record = ReleaseRecord {
            name: "web".into(),
            namespace: "team".into(),
            version: 2,
            ..ReleaseRecord::default()
        };
        record.info.status = Status::Deployed;
        record.hooks.push(HookRecord {
            name: "h".into(),
            ..HookRecord::default()
        });
        let json = String::from_utf8(to_go_json(&record).unwrap()).unwrap();
        assert_eq!(
            json,
            r#"{"name":"web","info":{"status":"deployed"},"chart":{"metadata":null,"lock":null,"templates":null,"values":null,"schema":null,"schemamodtime":"0001-01-01T00:00:00Z","files":null},"hooks":[{"name":"h","last_run":{"phase":""}}],"version":2,"namespace":"team"}"#
        );
    }

    #[test]
    fn round_trips_and_reads_plain_json_bodies() {
        let record = ReleaseRecord {
            name: "web".into(),
            version: 1,
            manifest: "---\n# Source: c/templates/cm.yaml\n".into(),
            ..ReleaseRecord::default()
        };
        let body = encode(&record).unwrap();
        assert_eq!(decode(&body).unwrap(), record);
        // Helm 2-era bodies were not compressed.
        let plain = base64::engine::general_purpose::STANDARD.encode(to_go_json(&record).unwrap());
        assert_eq!(decode(&plain).unwrap(), record);
        // Line breaks are ignored, as Go's decoder does.
        let wrapped: String = body
            .chars()
            .enumerate()
            .flat_map(|(i, c)| if i % 60 == 59 { vec![c, '\n'] } else { vec![c] })
            .collect();
        assert_eq!(decode(&wrapped).unwrap(), record);
    }

    #[test]
    fn reads_helm3_style_empty_times() {
        let json = r#"{"name":"old","info":{"first_deployed":"","last_deployed":"2021-05-04T10:00:00.5+02:00","deleted":"","status":"superseded"},"chart":{"metadata":{"name":"c","version":"1.0.0"},"lock":null,"templates":[],"values":{},"schema":null,"files":[]},"hooks":[{"name":"h","last_run":{"started_at":"","completed_at":"","phase":""}}],"version":3}"#;
        let body = base64::engine::general_purpose::STANDARD.encode(json);
        let record = decode(&body).unwrap();
        assert_eq!(record.info.first_deployed, None);
        assert_eq!(record.info.status, Status::Superseded);
        assert_eq!(
            record.info.last_deployed.as_ref().unwrap().as_str(),
            "2021-05-04T10:00:00.5+02:00"
        );
        assert_eq!(record.hooks[0].last_run.started_at, None);
        assert_eq!(record.chart.name_version(), "c-1.0.0");
        assert_eq!(record.apply_method, None);
    }

    #[test]
    fn corrupt_bodies_fail_with_the_layer_that_broke() {
        assert!(matches!(decode("!!not base64!!"), Err(CodecError::Base64(_))));
        let broken_gzip = base64::engine::general_purpose::STANDARD.encode([0x1f, 0x8b, 0x08, 0, 1, 2, 3]);
        assert!(matches!(decode(&broken_gzip), Err(CodecError::Gzip(_))));
        let not_json = base64::engine::general_purpose::STANDARD.encode("{\"name\": ");
        assert!(matches!(decode(&not_json), Err(CodecError::Json(_))));
        let bad_status = base64::engine::general_purpose::STANDARD.encode(r#"{"info":{"status":"sleeping"}}"#);
        assert!(matches!(decode(&bad_status), Err(CodecError::Json(_))));
    }
}
