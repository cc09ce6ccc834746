//! A chart repository's `index.yaml` (Helm's `pkg/repo/v1/index.go`): decoded into only what
//! resolution needs (name, version, URLs, digest), sorted newest first, and searched with Helm's
//! `IndexFile.Get` rule — an exact version string first, then the newest version satisfying the
//! constraint (Masterminds semver, [`crate::semver`]).
//!
//! The index is machine-written YAML (or JSON), often many megabytes: it goes through a serde
//! YAML decoder (libyaml-based, an order of magnitude faster than the Go-exact `value::yaml`),
//! or serde_json when it is JSON. Entries Helm would skip (no version, one `NewVersion` rejects,
//! no URL) are skipped here too, so an exact-string query can never select them.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize};

use crate::semver::{Constraints, Version};

/// One version of a chart in an index.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    pub name: String,
    pub version: String,
    /// As written: absolute, or relative to the index URL.
    pub urls: Vec<String>,
    /// Lowercase hex sha256 of the archive, empty when the index has none.
    #[serde(default)]
    pub digest: String,
}

/// A decoded index: chart name → versions, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    pub entries: BTreeMap<String, Vec<IndexEntry>>,
}

/// Why an index could not be used.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("the index is empty")]
    Empty,
    #[error("the index is not valid YAML or JSON")]
    Syntax {
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("the index has no `apiVersion` (not a chart repository index)")]
    NoApiVersion,
    #[error("the index is not gzip-compressed correctly")]
    Gzip {
        #[source]
        source: std::io::Error,
    },
}

/// A scalar read as a string whatever YAML type it resolved to; anything else is `None` (an
/// invalid entry field, which makes the entry skipped rather than the index rejected).
#[derive(Debug, Default)]
struct Lenient(Option<String>);

impl<'de> Deserialize<'de> for Lenient {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Lenient;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a scalar")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Lenient, E> {
                Ok(Lenient(Some(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Lenient, E> {
                Ok(Lenient(Some(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Lenient, E> {
                Ok(Lenient(Some(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Lenient, E> {
                Ok(Lenient(Some(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Lenient, E> {
                Ok(Lenient(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Lenient, E> {
                Ok(Lenient(Some(v.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Lenient, E> {
                Ok(Lenient(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<Lenient, E> {
                Ok(Lenient(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Lenient, D::Error> {
                Lenient::deserialize(d)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Lenient, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Lenient, A::Error> {
                while map.next_entry::<de::IgnoredAny, de::IgnoredAny>()?.is_some() {}
                Ok(Lenient(None))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// A list of scalars, or anything else read as empty.
#[derive(Debug, Default)]
struct LenientList(Vec<String>);

impl<'de> Deserialize<'de> for LenientList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LenientList;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<LenientList, A::Error> {
                let mut out = Vec::new();
                while let Some(Lenient(item)) = seq.next_element::<Lenient>()? {
                    out.extend(item);
                }
                Ok(LenientList(out))
            }
            fn visit_unit<E: de::Error>(self) -> Result<LenientList, E> {
                Ok(LenientList(Vec::new()))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<LenientList, E> {
                Ok(LenientList(Vec::new()))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<LenientList, A::Error> {
                while map.next_entry::<de::IgnoredAny, de::IgnoredAny>()?.is_some() {}
                Ok(LenientList(Vec::new()))
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[derive(Deserialize)]
struct RawEntry {
    #[serde(default)]
    name: Lenient,
    #[serde(default)]
    version: Lenient,
    #[serde(default)]
    urls: LenientList,
    #[serde(default)]
    digest: Lenient,
}

/// An entries list where an entry that is not a map is skipped.
struct RawEntries(Vec<RawEntry>);

impl<'de> Deserialize<'de> for RawEntries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawEntries;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of chart versions")
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<RawEntries, A::Error> {
                let mut out = Vec::new();
                while let Some(item) = seq.next_element::<MaybeEntry>()? {
                    out.extend(item.0);
                }
                Ok(RawEntries(out))
            }
            fn visit_unit<E: de::Error>(self) -> Result<RawEntries, E> {
                Ok(RawEntries(Vec::new()))
            }
        }
        deserializer.deserialize_any(V)
    }
}

struct MaybeEntry(Option<RawEntry>);

impl<'de> Deserialize<'de> for MaybeEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MaybeEntry;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a chart version")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<MaybeEntry, A::Error> {
                RawEntry::deserialize(de::value::MapAccessDeserializer::new(map)).map(|e| MaybeEntry(Some(e)))
            }
            fn visit_unit<E: de::Error>(self) -> Result<MaybeEntry, E> {
                Ok(MaybeEntry(None))
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<MaybeEntry, E> {
                Ok(MaybeEntry(None))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<MaybeEntry, A::Error> {
                while seq.next_element::<de::IgnoredAny>()?.is_some() {}
                Ok(MaybeEntry(None))
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[derive(Deserialize)]
struct RawIndex {
    #[serde(rename = "apiVersion", default)]
    api_version: Lenient,
    #[serde(default)]
    entries: Option<BTreeMap<String, RawEntries>>,
}

/// Decompresses a gzip body (an `index.yaml.gz`, or a server that ignored `Accept-Encoding`).
pub fn maybe_gunzip(body: &[u8]) -> Result<std::borrow::Cow<'_, [u8]>, IndexError> {
    if body.starts_with(&[0x1f, 0x8b]) {
        use std::io::Read;
        let mut out = Vec::with_capacity(body.len() * 8);
        flate2::read::MultiGzDecoder::new(body)
            .take(super::http::MAX_BODY as u64)
            .read_to_end(&mut out)
            .map_err(|source| IndexError::Gzip { source })?;
        Ok(std::borrow::Cow::Owned(out))
    } else {
        Ok(std::borrow::Cow::Borrowed(body))
    }
}

impl Index {
    /// Decodes an index body (YAML or JSON, optionally gzip-compressed).
    pub fn parse(body: &[u8]) -> Result<Index, IndexError> {
        let body = maybe_gunzip(body)?;
        let text = body.trim_ascii_start();
        if text.is_empty() {
            return Err(IndexError::Empty);
        }
        let raw: RawIndex = if text.starts_with(b"{") {
            serde_json::from_slice(text).map_err(|e| IndexError::Syntax { source: Box::new(e) })?
        } else {
            let text = std::str::from_utf8(text).map_err(|e| IndexError::Syntax { source: Box::new(e) })?;
            helmfire_value::interop::from_yaml(text).map_err(|e| IndexError::Syntax { source: Box::new(e) })?
        };
        if raw.api_version.0.as_deref().is_none_or(str::is_empty) {
            return Err(IndexError::NoApiVersion);
        }
        let mut entries = BTreeMap::new();
        for (name, list) in raw.entries.unwrap_or_default() {
            // Helm's `loadIndex` drops an entry whose version `NewVersion` rejects (with a
            // warning) before sorting newest first.
            let mut versions: Vec<(Version, IndexEntry)> = list
                .0
                .into_iter()
                .filter_map(|e| {
                    let version = e.version.0?;
                    if e.urls.0.is_empty() {
                        return None;
                    }
                    let parsed = Version::parse(&version).ok()?;
                    Some((
                        parsed,
                        IndexEntry {
                            name: e.name.0.unwrap_or_else(|| name.clone()),
                            version,
                            urls: e.urls.0,
                            digest: e.digest.0.unwrap_or_default().to_ascii_lowercase(),
                        },
                    ))
                })
                .collect();
            versions.sort_by(|(a, _), (b, _)| b.compare(a));
            entries.insert(name, versions.into_iter().map(|(_, e)| e).collect());
        }
        Ok(Index { entries })
    }

    /// Helm's `IndexFile.Get(name, version)`.
    pub fn get(&self, chart: &str, constraint: Option<&str>) -> Result<&IndexEntry, LookupError> {
        let versions = self
            .entries
            .get(chart)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| LookupError::NoChart {
                similar: self.similar_names(chart),
            })?;
        let text = constraint.unwrap_or("").trim();
        if !text.is_empty() {
            Constraints::parse(text).map_err(LookupError::InvalidConstraint)?;
        }
        select(versions.iter().map(|e| (e.version.as_str(), e)), text).ok_or_else(|| LookupError::NoVersion {
            nearest: nearest(versions.iter().map(|e| e.version.as_str()), text),
        })
    }

    fn similar_names(&self, chart: &str) -> Vec<String> {
        self.entries
            .keys()
            .filter(|k| k.contains(chart) || chart.contains(k.as_str()))
            .take(5)
            .cloned()
            .collect()
    }
}

/// Why a lookup found nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LookupError {
    NoChart { similar: Vec<String> },
    NoVersion { nearest: Vec<String> },
    InvalidConstraint(crate::semver::Error),
}

/// Helm's selection among `candidates` (newest first): an exact version string wins, then the
/// first (newest) version satisfying the constraint; no constraint means `*` (no pre-releases).
pub fn select<'a, T>(candidates: impl Iterator<Item = (&'a str, T)> + Clone, constraint: &str) -> Option<T> {
    let parsed = Constraints::parse(if constraint.is_empty() { "*" } else { constraint }).ok()?;
    if !constraint.is_empty()
        && let Some((_, t)) = candidates.clone().find(|(v, _)| *v == constraint)
    {
        return Some(t);
    }
    candidates
        .filter(|(v, _)| Version::parse(v).is_ok_and(|v| parsed.check(&v)))
        .map(|(_, t)| t)
        .next()
}

/// Up to five available versions closest to what the constraint names, newest first: what an
/// error lists when nothing matches.
pub fn nearest<'a>(versions: impl Iterator<Item = &'a str>, constraint: &str) -> Vec<String> {
    let target = constraint
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '+'))
        .find_map(|t| Version::parse(t.trim_start_matches('v')).ok())
        .or_else(|| {
            // `1.x`, `2`: the digits before the first wildcard.
            let digits: String = constraint
                .chars()
                .skip_while(|c| !c.is_ascii_digit())
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            Version::parse(digits.trim_end_matches('.')).ok()
        });
    let mut parsed: Vec<(Version, &str)> = versions
        .filter_map(|v| Version::parse(v).ok().map(|p| (p, v)))
        .collect();
    if let Some(target) = target {
        let distance = |v: &Version| {
            (
                v.major().abs_diff(target.major()),
                v.minor().abs_diff(target.minor()),
                v.patch().abs_diff(target.patch()),
            )
        };
        parsed.sort_by(|(a, _), (b, _)| distance(a).cmp(&distance(b)).then(b.compare(a)));
    } else {
        parsed.sort_by(|(a, _), (b, _)| b.compare(a));
    }
    parsed.truncate(5);
    parsed.sort_by(|(a, _), (b, _)| b.compare(a));
    parsed.into_iter().map(|(_, v)| v.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = r#"apiVersion: v1
entries:
  app:
  - name: app
    version: 1.2.0
    urls: [app-1.2.0.tgz]
    digest: ABCDEF
  - name: app
    version: 2.0.0-rc.1
    urls: [app-2.0.0-rc.1.tgz]
  - name: app
    version: 1.10.0
    urls: [https://other/app-1.10.0.tgz]
  - name: app
    version: not-semver
    urls: [x.tgz]
  - name: app
    version: 1.x
    urls: [x.tgz]
  - name: app
    version: 01.4.0
    urls: [z.tgz]
  - name: app
    version: 0.9.0
  - just a string
  - name: app
    version: [1]
    urls: [y.tgz]
  other:
  - name: other
    version: 1.0.0+build.1
    urls: [o.tgz]
generated: "2024-01-01T00:00:00Z"
"#;

    #[test]
    fn parses_and_sorts_newest_first_skipping_invalid_entries() {
        let index = Index::parse(INDEX.as_bytes()).unwrap();
        let versions: Vec<&str> = index.entries["app"].iter().map(|e| e.version.as_str()).collect();
        assert_eq!(versions, ["2.0.0-rc.1", "1.10.0", "01.4.0", "1.2.0"]);
        assert_eq!(index.entries["app"][3].digest, "abcdef");
    }

    #[test]
    fn json_and_gzip_indexes_are_accepted() {
        let json = r#"{"apiVersion":"v1","entries":{"a":[{"name":"a","version":"1.0.0","urls":["a.tgz"]}]}}"#;
        assert_eq!(Index::parse(json.as_bytes()).unwrap().entries["a"].len(), 1);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, INDEX.as_bytes()).unwrap();
        let gz = gz.finish().unwrap();
        assert_eq!(Index::parse(&gz).unwrap(), Index::parse(INDEX.as_bytes()).unwrap());
    }

    #[test]
    fn corrupt_and_truncated_indexes_are_errors() {
        assert!(matches!(Index::parse(b""), Err(IndexError::Empty)));
        assert!(matches!(Index::parse(b"entries: {}\n"), Err(IndexError::NoApiVersion)));
        assert!(matches!(
            Index::parse(b"apiVersion: v1\nentries: [\n"),
            Err(IndexError::Syntax { .. })
        ));
        assert!(matches!(
            Index::parse(b"<html>"),
            Err(IndexError::NoApiVersion | IndexError::Syntax { .. })
        ));
        let truncated = &INDEX.as_bytes()[..INDEX.len() / 2];
        // Cut mid-entry: either a syntax error or fewer entries, never a panic.
        let _ = Index::parse(truncated);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, INDEX.as_bytes()).unwrap();
        let gz = gz.finish().unwrap();
        assert!(matches!(
            Index::parse(&gz[..gz.len() / 2]),
            Err(IndexError::Gzip { .. })
        ));
    }

    #[test]
    fn lookup_follows_helm() {
        let index = Index::parse(INDEX.as_bytes()).unwrap();
        let get = |c: Option<&str>| index.get("app", c).map(|e| e.version.clone());
        assert_eq!(get(None).unwrap(), "1.10.0");
        assert_eq!(get(Some("^1.2")).unwrap(), "1.10.0");
        assert_eq!(get(Some("~1.2.0")).unwrap(), "1.2.0");
        assert_eq!(get(Some("1.2.x")).unwrap(), "1.2.0");
        assert_eq!(get(Some("< 1.5 || >= 3")).unwrap(), "01.4.0");
        assert_eq!(get(Some(">= 2.0.0-0")).unwrap(), "2.0.0-rc.1");
        assert_eq!(get(Some("2.0.0-rc.1")).unwrap(), "2.0.0-rc.1");
        // Helm parses the constraint before looking for an exact string, and dropped the
        // entries it cannot parse, so `1.x` is a range here, not the entry named `1.x`.
        assert_eq!(
            index.get("app", Some("not-semver")),
            Err(LookupError::InvalidConstraint(
                crate::semver::Error::ImproperConstraint("not-semver".into())
            ))
        );
        assert_eq!(get(Some("1.x")).unwrap(), "1.10.0");
        assert_eq!(get(Some("1.4.0")).unwrap(), "01.4.0");
        match index.get("app", Some("^5")) {
            Err(LookupError::NoVersion { nearest }) => assert_eq!(nearest[0], "2.0.0-rc.1"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(index.get("ap", None), Err(LookupError::NoChart { similar }) if similar == ["app"]));
        assert_eq!(
            index.get("other", Some("1.0.0")).map(|e| e.version.as_str()),
            Ok("1.0.0+build.1")
        );
    }

    #[test]
    fn nearest_versions_surround_the_constraint() {
        let versions = ["5.0.0", "3.1.0", "3.0.2", "3.0.1", "2.9.0", "1.0.0", "0.1.0"];
        assert_eq!(
            nearest(versions.iter().copied(), "^3.0.5-0 <3.0.6"),
            ["5.0.0", "3.1.0", "3.0.2", "3.0.1", "2.9.0"]
        );
        assert_eq!(nearest(versions.iter().copied(), "9.x")[0], "5.0.0");
    }
}
