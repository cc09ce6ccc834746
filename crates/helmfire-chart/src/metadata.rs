//! Chart.yaml (and a v1 chart's requirements.yaml) decoded as Helm does it: `sigs.k8s.io/yaml`
//! into Go structs (case-insensitive keys, numbers printed as 32-bit `%g` into string fields),
//! then `Metadata.Validate` with its sanitising and error texts.

use std::collections::BTreeMap;

use crate::semver::Version;
use helmfire_value::number::format_float;
use helmfire_value::{Map, Value};

/// A Chart.yaml maintainer.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Maintainer {
    pub name: String,
    pub email: String,
    pub url: String,
}

/// One entry of `dependencies` (Chart.yaml v2, requirements.yaml v1).
#[derive(Clone, Debug, Default)]
pub struct Dependency {
    pub name: String,
    /// A semver range.
    pub version: String,
    pub repository: String,
    /// Comma-separated value paths; the first that resolves to a bool decides.
    pub condition: String,
    pub tags: Vec<String>,
    pub enabled: bool,
    /// Each item is a string (`exports.<name>`) or a `{child, parent}` map, as written.
    pub import_values: Vec<Value>,
    pub alias: String,
}

/// Chart.yaml. `dependencies` is `None` when the key is absent or null, `Some(vec![])` for `[]`:
/// Helm distinguishes the two when it decides whether to process imports.
#[derive(Clone, Debug, Default)]
pub struct Metadata {
    pub name: String,
    pub home: String,
    pub sources: Vec<String>,
    pub version: String,
    pub description: String,
    pub keywords: Vec<String>,
    pub maintainers: Vec<Option<Maintainer>>,
    pub icon: String,
    pub api_version: String,
    pub condition: String,
    pub tags: String,
    pub app_version: String,
    pub deprecated: bool,
    pub annotations: BTreeMap<String, String>,
    pub kube_version: String,
    pub dependencies: Option<Vec<Option<Dependency>>>,
    /// `application`, `library` or empty (application).
    pub chart_type: String,
}

/// encoding/json's type error for a struct field, as sigs.k8s.io/yaml reports it.
fn type_error(value: &Value, strukt: &str, field: &str, target: &str) -> String {
    let kind = match value {
        Value::Map(..) => "object",
        Value::List(..) => "array",
        Value::String(_) => "string",
        Value::Bool(_) => "bool",
        _ => "number",
    };
    format!(
        "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {kind} into Go struct field {strukt}.{field} of type {target}"
    )
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 32)`: what sigs.k8s.io/yaml writes when a YAML number
/// lands in a string field.
pub fn format_float32(f: f64) -> String {
    let f32v = f as f32;
    if f32v.is_infinite() || f32v.is_nan() {
        return format_float(f, 'g', -1);
    }
    // Rust's `{:e}` gives the shortest digits that round-trip through f32.
    let e = format!("{f32v:e}");
    let (mantissa, exponent) = e.split_once('e').unwrap_or((&e, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(|c| c.is_ascii_digit()).collect();
    let digits = digits.trim_end_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let sign = if negative { "-" } else { "" };
    if f32v == 0.0 {
        return format!("{sign}0");
    }
    if !(-4..6).contains(&exponent) {
        let (head, tail) = digits.split_at(1);
        let frac = if tail.is_empty() {
            String::new()
        } else {
            format!(".{tail}")
        };
        let esign = if exponent < 0 { '-' } else { '+' };
        return format!("{sign}{head}{frac}e{esign}{:02}", exponent.abs());
    }
    let point = exponent + 1;
    if point <= 0 {
        format!("{sign}0.{}{digits}", "0".repeat((-point) as usize))
    } else if (point as usize) >= digits.len() {
        format!("{sign}{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        let (a, b) = digits.split_at(point as usize);
        format!("{sign}{a}.{b}")
    }
}

/// Looks a JSON field up as encoding/json does: exact name first, then case-insensitively.
fn field<'a>(map: &'a Map, name: &str) -> Option<&'a Value> {
    map.get(name)
        .or_else(|| map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

fn string_field(map: &Map, name: &str, strukt: &str) -> Result<Option<String>, String> {
    match field(map, name) {
        None | Some(Value::Nil) => Ok(None),
        Some(v) => string_value(v, strukt, name).map(Some),
    }
}

fn string_value(v: &Value, strukt: &str, name: &str) -> Result<String, String> {
    match v {
        Value::String(s) => Ok(s.to_string()),
        // The decoder has already made every number a float64; an integral one was almost
        // certainly a YAML int, which Go formats with FormatInt.
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 9007199254740992.0 => Ok(format!("{}", *f as i64)),
        Value::Float(f) => Ok(format_float32(*f)),
        Value::Int(i, _) => Ok(i.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(type_error(other, strukt, name, "string")),
    }
}

fn string_list(map: &Map, name: &str, strukt: &str) -> Result<Vec<String>, String> {
    match field(map, name) {
        None | Some(Value::Nil) => Ok(Vec::new()),
        Some(Value::List(items, _)) => items
            .iter()
            .map(|v| match v {
                Value::Nil => Ok(String::new()),
                v => string_value(v, strukt, name),
            })
            .collect(),
        Some(other) => Err(type_error(other, strukt, name, "[]string")),
    }
}

fn bool_field(map: &Map, name: &str, strukt: &str) -> Result<bool, String> {
    match field(map, name) {
        None | Some(Value::Nil) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(other) => Err(type_error(other, strukt, name, "bool")),
    }
}

fn decode_maintainer(v: &Value) -> Result<Option<Maintainer>, String> {
    match v {
        Value::Nil => Ok(None),
        Value::Map(m, _) => {
            let m = m.read();
            Ok(Some(Maintainer {
                name: string_field(&m, "name", "Maintainer")?.unwrap_or_default(),
                email: string_field(&m, "email", "Maintainer")?.unwrap_or_default(),
                url: string_field(&m, "url", "Maintainer")?.unwrap_or_default(),
            }))
        }
        other => Err(type_error(other, "Metadata", "maintainers", "chart.Maintainer")),
    }
}

fn decode_dependency(v: &Value) -> Result<Option<Dependency>, String> {
    match v {
        Value::Nil => Ok(None),
        Value::Map(m, _) => {
            let m = m.read();
            let s = "Dependency";
            let import_values = match field(&m, "import-values") {
                None | Some(Value::Nil) => Vec::new(),
                Some(Value::List(items, _)) => items.as_ref().clone(),
                Some(other) => return Err(type_error(other, s, "import-values", "[]interface {}")),
            };
            Ok(Some(Dependency {
                name: string_field(&m, "name", s)?.unwrap_or_default(),
                version: string_field(&m, "version", s)?.unwrap_or_default(),
                repository: string_field(&m, "repository", s)?.unwrap_or_default(),
                condition: string_field(&m, "condition", s)?.unwrap_or_default(),
                tags: string_list(&m, "tags", s)?,
                enabled: bool_field(&m, "enabled", s)?,
                import_values,
                alias: string_field(&m, "alias", s)?.unwrap_or_default(),
            }))
        }
        other => Err(type_error(other, "Metadata", "dependencies", "chart.Dependency")),
    }
}

impl Metadata {
    /// Applies a decoded Chart.yaml (or requirements.yaml) document over `self`, as a second
    /// `yaml.Unmarshal` into the same struct does: only keys present overwrite fields.
    pub fn apply(&mut self, doc: &Value) -> Result<(), String> {
        let map = match doc {
            Value::Nil => return Ok(()),
            Value::Map(m, _) => m.read().clone(),
            other => {
                let kind = match other {
                    Value::List(..) => "array",
                    Value::String(_) => "string",
                    Value::Bool(_) => "bool",
                    _ => "number",
                };
                return Err(format!(
                    "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {kind} into Go value of type chart.Metadata"
                ));
            }
        };
        let s = "Metadata";
        macro_rules! string {
            ($field:ident, $key:literal) => {
                if let Some(v) = string_field(&map, $key, s)? {
                    self.$field = v;
                } else if matches!(field(&map, $key), Some(Value::Nil)) {
                    // JSON null leaves a Go string field untouched.
                }
            };
        }
        string!(name, "name");
        string!(home, "home");
        string!(version, "version");
        string!(description, "description");
        string!(icon, "icon");
        string!(api_version, "apiVersion");
        string!(condition, "condition");
        string!(tags, "tags");
        string!(app_version, "appVersion");
        string!(kube_version, "kubeVersion");
        string!(chart_type, "type");
        if field(&map, "sources").is_some() {
            self.sources = string_list(&map, "sources", s)?;
        }
        if field(&map, "keywords").is_some() {
            self.keywords = string_list(&map, "keywords", s)?;
        }
        if field(&map, "deprecated").is_some() {
            self.deprecated = bool_field(&map, "deprecated", s)?;
        }
        match field(&map, "maintainers") {
            None => {}
            Some(Value::Nil) => self.maintainers = Vec::new(),
            Some(Value::List(items, _)) => {
                self.maintainers = items.iter().map(decode_maintainer).collect::<Result<_, _>>()?;
            }
            Some(other) => return Err(type_error(other, s, "maintainers", "[]*chart.Maintainer")),
        }
        match field(&map, "annotations") {
            None => {}
            Some(Value::Nil) => self.annotations = BTreeMap::new(),
            Some(Value::Map(m, _)) => {
                let mut out = BTreeMap::new();
                for (k, v) in m.read().iter() {
                    let v = match v {
                        Value::Nil => String::new(),
                        v => string_value(v, s, "annotations")?,
                    };
                    out.insert(k.clone(), v);
                }
                self.annotations = out;
            }
            Some(other) => return Err(type_error(other, s, "annotations", "map[string]string")),
        }
        match field(&map, "dependencies") {
            None => {}
            Some(Value::Nil) => self.dependencies = None,
            Some(Value::List(items, _)) => {
                self.dependencies = Some(items.iter().map(decode_dependency).collect::<Result<_, _>>()?);
            }
            Some(other) => return Err(type_error(other, s, "dependencies", "[]*chart.Dependency")),
        }
        Ok(())
    }

    /// Helm's `Metadata.Validate`: sanitises strings in place and returns its error text.
    pub fn validate(&mut self) -> Result<(), String> {
        self.name = sanitize(&self.name);
        self.description = sanitize(&self.description);
        self.home = sanitize(&self.home);
        self.icon = sanitize(&self.icon);
        self.condition = sanitize(&self.condition);
        self.tags = sanitize(&self.tags);
        self.app_version = sanitize(&self.app_version);
        self.kube_version = sanitize(&self.kube_version);
        for s in &mut self.sources {
            *s = sanitize(s);
        }
        for k in &mut self.keywords {
            *k = sanitize(k);
        }
        if self.api_version.is_empty() {
            return Err("validation: chart.metadata.apiVersion is required".into());
        }
        if self.name.is_empty() {
            return Err("validation: chart.metadata.name is required".into());
        }
        if self.name == "." || self.name == ".." {
            return Err(format!(
                "validation: chart.metadata.name {} is not allowed",
                go_quote(&self.name)
            ));
        }
        if self.name.contains('/') || self.name.ends_with('/') {
            return Err(format!(
                "validation: chart.metadata.name {} is invalid",
                go_quote(&self.name)
            ));
        }
        if self.version.is_empty() {
            return Err("validation: chart.metadata.version is required".into());
        }
        if Version::parse(&self.version).is_err() {
            return Err(format!(
                "validation: chart.metadata.version {} is invalid",
                go_quote(&self.version)
            ));
        }
        if !matches!(self.chart_type.as_str(), "" | "application" | "library") {
            return Err("validation: chart.metadata.type must be application or library".into());
        }
        for m in &mut self.maintainers {
            match m {
                None => return Err("validation: maintainers must not contain empty or null nodes".into()),
                Some(m) => {
                    m.name = sanitize(&m.name);
                    m.email = sanitize(&m.email);
                    m.url = sanitize(&m.url);
                }
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for dep in self.dependencies.iter_mut().flatten() {
            let Some(dep) = dep else {
                return Err("validation: dependencies must not contain empty or null nodes".into());
            };
            dep.name = sanitize(&dep.name);
            dep.version = sanitize(&dep.version);
            dep.repository = sanitize(&dep.repository);
            dep.condition = sanitize(&dep.condition);
            for t in &mut dep.tags {
                *t = sanitize(t);
            }
            if !dep.alias.is_empty() && !is_valid_alias(&dep.alias) {
                return Err(format!(
                    "validation: dependency {} has disallowed characters in the alias",
                    go_quote(&dep.name)
                ));
            }
            let key = if dep.alias.is_empty() {
                dep.name.clone()
            } else {
                dep.alias.clone()
            };
            if !seen.insert(key.clone()) {
                return Err(format!(
                    "validation: more than one dependency with name or alias {}",
                    go_quote(&key)
                ));
            }
        }
        Ok(())
    }

    /// What templates see as `.Chart` (Helm's `MetadataAsMap`/`structToMap`): Go field names as
    /// keys, every slice as `[]interface {}`. Rendering adds `IsRoot`. Absent annotations are a
    /// nil `map[string]string` in Go; we give `nil`.
    pub fn to_template_value(&self) -> Value {
        use helmfire_value::{MapRef, MapType};
        let s = |v: &str| Value::string(v);
        let strings = |v: &[String]| Value::list(v.iter().map(|x| s(x)).collect());
        let mut m = Map::new();
        m.insert("Name".into(), s(&self.name));
        m.insert("Home".into(), s(&self.home));
        m.insert("Sources".into(), strings(&self.sources));
        m.insert("Version".into(), s(&self.version));
        m.insert("Description".into(), s(&self.description));
        m.insert("Keywords".into(), strings(&self.keywords));
        let maintainers = self
            .maintainers
            .iter()
            .map(|mt| match mt {
                None => Value::Nil,
                Some(mt) => {
                    let mut x = Map::new();
                    x.insert("Name".into(), s(&mt.name));
                    x.insert("Email".into(), s(&mt.email));
                    x.insert("URL".into(), s(&mt.url));
                    Value::map(x)
                }
            })
            .collect();
        m.insert("Maintainers".into(), Value::list(maintainers));
        m.insert("Icon".into(), s(&self.icon));
        m.insert("APIVersion".into(), s(&self.api_version));
        m.insert("Condition".into(), s(&self.condition));
        m.insert("Tags".into(), s(&self.tags));
        m.insert("AppVersion".into(), s(&self.app_version));
        m.insert("Deprecated".into(), Value::Bool(self.deprecated));
        // Absent annotations are a nil `map[string]string`: `map[]`, `index` gives "".
        let annotations = if self.annotations.is_empty() {
            Value::Map(MapRef::nil(), MapType::String)
        } else {
            let a: Map = self.annotations.iter().map(|(k, v)| (k.clone(), s(v))).collect();
            Value::Map(MapRef::new(a), MapType::String)
        };
        m.insert("Annotations".into(), annotations);
        m.insert("KubeVersion".into(), s(&self.kube_version));
        let deps = self
            .dependencies
            .iter()
            .flatten()
            .map(|d| match d {
                None => Value::Nil,
                Some(d) => {
                    let mut x = Map::new();
                    x.insert("Name".into(), s(&d.name));
                    x.insert("Version".into(), s(&d.version));
                    x.insert("Repository".into(), s(&d.repository));
                    x.insert("Condition".into(), s(&d.condition));
                    x.insert("Tags".into(), strings(&d.tags));
                    x.insert("Enabled".into(), Value::Bool(d.enabled));
                    x.insert("ImportValues".into(), Value::list(d.import_values.clone()));
                    x.insert("Alias".into(), s(&d.alias));
                    Value::map(x)
                }
            })
            .collect();
        m.insert("Dependencies".into(), Value::list(deps));
        m.insert("Type".into(), s(&self.chart_type));
        Value::map(m)
    }

    /// True for `type: library`.
    pub fn is_library(&self) -> bool {
        self.chart_type == "library"
    }
}

/// Alias regex `^[a-zA-Z0-9_-]+$`.
pub fn is_valid_alias(alias: &str) -> bool {
    !alias.is_empty()
        && alias
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Helm's `sanitizeString`: whitespace becomes a space, non-printable runes are dropped.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .filter_map(|c| {
            if c.is_whitespace() {
                Some(' ')
            } else if is_go_printable(c) {
                Some(c)
            } else {
                None
            }
        })
        .collect()
}

/// Approximates Go's `unicode.IsPrint` (graphic characters plus U+0020): control and format
/// characters, surrogates and unassigned private-use ranges are not printable.
fn is_go_printable(c: char) -> bool {
    if c.is_control() {
        return false;
    }
    let u = c as u32;
    // Format characters (Cf) commonly met: soft hyphen, zero-width and bidi controls, BOM.
    !matches!(u, 0xAD | 0x600..=0x605 | 0x61C | 0x6DD | 0x70F | 0x200B..=0x200F | 0x202A..=0x202E
        | 0x2060..=0x2064 | 0x2066..=0x206F | 0xFEFF | 0xFFF9..=0xFFFB | 0xE000..=0xF8FF
        | 0xF0000..=0x10FFFF)
}

/// Go's `%q` for the strings Helm quotes in its messages.
pub fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float32_strings() {
        assert_eq!(format_float32(1.1), "1.1");
        assert_eq!(format_float32(1.0), "1");
        assert_eq!(format_float32(1.10), "1.1");
        assert_eq!(format_float32(0.1), "0.1");
        assert_eq!(format_float32(1e7), "1e+07");
        assert_eq!(format_float32(123456.0), "123456");
        assert_eq!(format_float32(0.00001), "1e-05");
        assert_eq!(format_float32(-2.5), "-2.5");
    }

    #[test]
    fn decode_and_validate() {
        let doc = helmfire_value::yaml::decode(
            "apiVersion: v2\nName: demo\nversion: 1.10\nappVersion: 1.0\ndependencies:\n- name: a\n  alias: b\n",
        )
        .expect("yaml");
        let mut md = Metadata::default();
        md.apply(&doc).expect("decode");
        assert_eq!(md.name, "demo");
        assert_eq!(md.version, "1.1");
        assert_eq!(md.app_version, "1");
        md.validate().expect("valid");
        let mut bad = md.clone();
        bad.dependencies = Some(vec![
            Some(Dependency {
                name: "x".into(),
                ..Default::default()
            }),
            Some(Dependency {
                name: "x".into(),
                ..Default::default()
            }),
        ]);
        assert_eq!(
            bad.validate().unwrap_err(),
            "validation: more than one dependency with name or alias \"x\""
        );
        let mut bad = md.clone();
        bad.version = "latest".into();
        assert_eq!(
            bad.validate().unwrap_err(),
            "validation: chart.metadata.version \"latest\" is invalid"
        );
        let doc = helmfire_value::yaml::decode("version: [1]").expect("yaml");
        assert!(
            Metadata::default()
                .apply(&doc)
                .unwrap_err()
                .contains("Metadata.version of type string")
        );
    }
}
