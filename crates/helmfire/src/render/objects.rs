//! The Go objects templates see besides plain maps: `.Files` (Helm's `engine.files`) and
//! `.Capabilities` (`*common.Capabilities` with its `KubeVersion` and `BuildInfo`; its
//! `APIVersions` is a `common.VersionSet` list, see `helmfire_template::named`).

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;

use helmfire_chart::FileData;
use helmfire_value::{ListType, Map, Object, Value};

/// Helm's `engine.files`: a `map[string][]byte` with methods.
#[derive(Debug, Clone, Default)]
pub struct Files {
    pub entries: BTreeMap<String, FileData>,
}

/// A file's bytes, read now if the loader left them unread. One that cannot be read reads as
/// empty here, and the render then fails with the reason (`render_chart` asks the chart).
fn bytes(data: &FileData) -> Arc<[u8]> {
    data.get().cloned().unwrap_or_else(|_| Arc::from(Vec::new()))
}

impl Files {
    fn get(&self, path: &str) -> Option<Arc<[u8]>> {
        self.entries.get(path).map(bytes)
    }

    fn glob(&self, pattern: &str) -> Files {
        // gobwas/glob: an invalid pattern falls back to `**`, which matches everything.
        let re = glob_regex(pattern);
        let entries = self
            .entries
            .iter()
            .filter(|(k, _)| re.as_ref().is_none_or(|r| r.is_match(k)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Files { entries }
    }

    /// `toYaml` of a `map[string]string` (basename → content), as `AsConfig`/`AsSecrets` do.
    /// Helm's AsConfig/AsSecrets: `toYAML` of base name → content. Helm's `files` is never nil
    /// (an empty Glob is an empty map), so no files give `{}`.
    fn yaml_of(&self, encode: impl Fn(&[u8]) -> String) -> String {
        let mut m = Map::new();
        for (k, v) in &self.entries {
            let base = k.rsplit('/').next().unwrap_or(k);
            m.insert(base.to_string(), Value::from(encode(&bytes(v))));
        }
        match helmfire_value::yaml::encode(&Value::map(m)) {
            Ok(s) => s.trim_end_matches('\n').to_string(),
            Err(_) => String::new(),
        }
    }
}

/// gobwas/glob with `/` as the separator: `*` and `?` stay within a segment, `**` crosses
/// segments, `[...]`/`[!...]` classes and `{a,b}` alternatives.
pub fn glob_regex(pattern: &str) -> Option<regex::Regex> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::from("(?s)^");
    let mut i = 0;
    let mut depth = 0usize;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '*' => {
                if chars.get(i + 1) == Some(&'*') {
                    out.push_str(".*");
                    i += 1;
                } else {
                    out.push_str("[^/]*");
                }
            }
            '?' => out.push_str("[^/]"),
            '[' => {
                let mut j = i + 1;
                let mut class = String::from("[");
                if matches!(chars.get(j), Some('!') | Some('^')) {
                    class.push('^');
                    j += 1;
                }
                let mut closed = false;
                while j < chars.len() {
                    let d = chars[j];
                    if d == ']' {
                        closed = true;
                        break;
                    }
                    if d == '\\' || d == '[' || d == '&' || d == '~' {
                        class.push('\\');
                    }
                    class.push(d);
                    j += 1;
                }
                if !closed {
                    return None;
                }
                class.push(']');
                out.push_str(&class);
                i = j;
            }
            '{' => {
                depth += 1;
                out.push_str("(?:");
            }
            '}' if depth > 0 => {
                depth -= 1;
                out.push(')');
            }
            ',' if depth > 0 => out.push('|'),
            '\\' => {
                i += 1;
                let d = *chars.get(i)?;
                out.push_str(&regex::escape(&d.to_string()));
            }
            _ => out.push_str(&regex::escape(&c.to_string())),
        }
        i += 1;
    }
    if depth != 0 {
        return None;
    }
    out.push('$');
    regex::Regex::new(&out).ok()
}

impl Object for Files {
    fn type_name(&self) -> &str {
        "engine.files"
    }

    /// `.Files.name` indexes the map (only a name without dots can be written so).
    fn field(&self, name: &str) -> Option<Value> {
        self.get(name).map(Value::Bytes)
    }

    /// A missing name reads as a nil `[]byte` (printed `[]`).
    fn missing_key(&self) -> Value {
        Value::Bytes(Arc::from(Vec::new()))
    }

    fn to_plain(&self) -> Value {
        let m: Map = self
            .entries
            .iter()
            .map(|(k, v)| (k.clone(), Value::Bytes(bytes(v))))
            .collect();
        Value::map(m)
    }

    /// Go's `%v` of `map[string][]byte`. Charts hit this through `dict` with an odd number of
    /// arguments (the context becomes a key), so it is written without a string per byte.
    fn string(&self) -> Option<String> {
        let mut out = String::new();
        self.write_string(&mut out);
        Some(out)
    }

    fn write_string(&self, out: &mut String) -> bool {
        let entries: Vec<(&String, Arc<[u8]>)> = self.entries.iter().map(|(k, v)| (k, bytes(v))).collect();
        let size: usize = entries.iter().map(|(k, v)| k.len() + 4 * v.len() + 4).sum();
        out.reserve(size + 5);
        out.push_str("map[");
        for (i, (k, v)) in entries.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(k);
            out.push_str(":[");
            for (j, &b) in v.iter().enumerate() {
                if j > 0 {
                    out.push(' ');
                }
                if b >= 100 {
                    out.push(char::from(b'0' + b / 100));
                }
                if b >= 10 {
                    out.push(char::from(b'0' + b / 10 % 10));
                }
                out.push(char::from(b'0' + b % 10));
            }
            out.push(']');
        }
        out.push(']');
        true
    }

    fn has_method(&self, name: &str) -> bool {
        matches!(name, "Get" | "GetBytes" | "Glob" | "Lines" | "AsConfig" | "AsSecrets")
    }

    fn method_params(&self, name: &str) -> Option<&'static [&'static str]> {
        Some(match name {
            "AsConfig" | "AsSecrets" => &[],
            _ => &["string"],
        })
    }

    fn call_method(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        let want = match name {
            "AsConfig" | "AsSecrets" => 0,
            _ => 1,
        };
        if args.len() != want {
            return Err(format!(
                "wrong number of args for {name}: want {want} got {}",
                args.len()
            ));
        }
        let arg = || match args.first() {
            Some(Value::String(s)) => Ok(s.to_string()),
            Some(other) => Err(format!(
                "wrong type for value; expected string; got {}",
                helmfire_template::fmt::type_name(other)
            )),
            None => Err(String::from("missing argument")),
        };
        match name {
            "Get" => Ok(Value::from(
                self.get(&arg()?)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default(),
            )),
            "GetBytes" => Ok(Value::Bytes(self.get(&arg()?).unwrap_or_else(|| Arc::from(Vec::new())))),
            "Glob" => Ok(Value::Object(Arc::new(self.glob(&arg()?)))),
            "Lines" => {
                let Some(data) = self.get(&arg()?) else {
                    return Ok(Value::List(Arc::new(Vec::new()), ListType::String));
                };
                let mut s = String::from_utf8_lossy(&data).into_owned();
                match s.as_bytes().last() {
                    // Helm indexes `s[len(s)-1]` without a length check.
                    None => return Err("runtime error: index out of range [-1]".into()),
                    Some(b'\n') => {
                        s.pop();
                    }
                    Some(_) => {}
                }
                Ok(Value::List(
                    Arc::new(s.split('\n').map(Value::from).collect()),
                    ListType::String,
                ))
            }
            "AsConfig" => Ok(Value::from(self.yaml_of(|b| String::from_utf8_lossy(b).into_owned()))),
            "AsSecrets" => Ok(Value::from(
                self.yaml_of(|b| base64::engine::general_purpose::STANDARD.encode(b)),
            )),
            _ => Err(format!("can't call method {name}")),
        }
    }

    fn kind(&self) -> &str {
        "map"
    }
}

/// `.Capabilities.KubeVersion` (`common.KubeVersion`).
#[derive(Debug, Clone)]
pub struct KubeVersion {
    pub version: String,
    pub major: String,
    pub minor: String,
    /// `"v" + ` the numeric components: what `String()` prints.
    pub normalized: String,
}

impl KubeVersion {
    /// Helm's `ParseKubeVersion` (k8s `ParseGeneric`): the error text is what Helm appends
    /// after `invalid kube version '<v>': `.
    pub fn parse(input: &str) -> Result<KubeVersion, String> {
        let trimmed = input.trim_start();
        let body = trimmed.strip_prefix('v').unwrap_or(trimmed);
        let numeric_end = body
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_digit() || *c == '.'))
            .map_or(body.len(), |(i, _)| i);
        let mut numbers = &body[..numeric_end];
        // The regex `[0-9]+(?:\.[0-9]+)*` cannot end with a dot nor contain empty components.
        while numbers.ends_with('.') {
            numbers = &numbers[..numbers.len() - 1];
        }
        if numbers.is_empty() || numbers.split('.').any(str::is_empty) {
            return Err(format!(
                "could not parse {} as version",
                helmfire_template::fmt::quote_go(input)
            ));
        }
        let components: Vec<&str> = numbers.split('.').collect();
        if components.len() < 2 {
            return Err(format!(
                "illegal version string {}",
                helmfire_template::fmt::quote_go(input)
            ));
        }
        let mut nums = Vec::new();
        for (i, comp) in components.iter().enumerate() {
            if i == 0 && comp.starts_with('0') && *comp != "0" {
                return Err(format!(
                    "illegal zero-prefixed version component {} in {}",
                    helmfire_template::fmt::quote_go(comp),
                    helmfire_template::fmt::quote_go(input)
                ));
            }
            let n: u64 = comp.parse().map_err(|_| {
                format!(
                    "illegal non-numeric version component {} in {}: strconv.ParseUint: parsing {}: value out of range",
                    helmfire_template::fmt::quote_go(comp),
                    helmfire_template::fmt::quote_go(input),
                    helmfire_template::fmt::quote_go(comp)
                )
            })?;
            nums.push(n.to_string());
        }
        let version = if input.starts_with('v') {
            input.to_string()
        } else {
            format!("v{input}")
        };
        Ok(KubeVersion {
            version,
            major: nums[0].clone(),
            minor: nums[1].clone(),
            normalized: format!("v{}", nums.join(".")),
        })
    }
}

impl Object for KubeVersion {
    fn type_name(&self) -> &str {
        "common.KubeVersion"
    }

    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "Version" => Some(Value::from(self.version.clone())),
            "Major" => Some(Value::from(self.major.clone())),
            "Minor" => Some(Value::from(self.minor.clone())),
            _ => None,
        }
    }

    fn to_plain(&self) -> Value {
        let mut m = Map::new();
        m.insert("Version".into(), Value::from(self.version.clone()));
        m.insert("Major".into(), Value::from(self.major.clone()));
        m.insert("Minor".into(), Value::from(self.minor.clone()));
        Value::map(m)
    }

    fn json_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        Some(vec![
            ("Version", Value::from(self.version.clone())),
            ("Major", Value::from(self.major.clone())),
            ("Minor", Value::from(self.minor.clone())),
        ])
    }

    /// A copy is not a Stringer (`String` has a pointer receiver): fmt prints the fields,
    /// the unexported normalized version included.
    fn string(&self) -> Option<String> {
        Some(format!(
            "{{{} {} {} {}}}",
            self.version, self.normalized, self.major, self.minor
        ))
    }

    /// `{{ .Capabilities.KubeVersion }}` prints `String()`: the normalized version.
    fn addressable_string(&self) -> Option<String> {
        Some(self.normalized.clone())
    }

    fn unexported_field(&self, name: &str) -> bool {
        name == "normalizedVersion"
    }

    fn has_method(&self, name: &str) -> bool {
        matches!(name, "GitVersion" | "String")
    }

    fn method_params(&self, _name: &str) -> Option<&'static [&'static str]> {
        Some(&[])
    }

    fn call_method(&self, name: &str, _args: &[Value]) -> Result<Value, String> {
        match name {
            "GitVersion" => Ok(Value::from(self.version.clone())),
            "String" => Ok(Value::from(self.normalized.clone())),
            _ => Err(format!("can't call method {name}")),
        }
    }
}

/// `.Capabilities.HelmVersion` (`version.BuildInfo`) of helm v4.1.4.
#[derive(Debug, Clone)]
pub struct HelmVersion;

const HELM_BUILD: [(&str, &str, &str); 5] = [
    ("Version", "version", "v4.1.4"),
    ("GitCommit", "git_commit", "05fa37973dc9e42b76e1d2883494c87174b6074f"),
    ("GitTreeState", "git_tree_state", "clean"),
    ("GoVersion", "go_version", "go1.25.9"),
    ("KubeClientVersion", "kube_client_version", "v1.35"),
];

impl Object for HelmVersion {
    fn type_name(&self) -> &str {
        "version.BuildInfo"
    }

    fn field(&self, name: &str) -> Option<Value> {
        HELM_BUILD
            .iter()
            .find(|(f, _, _)| *f == name)
            .map(|(_, _, v)| Value::from(*v))
    }

    fn to_plain(&self) -> Value {
        let m: Map = HELM_BUILD
            .iter()
            .map(|(_, json, v)| (json.to_string(), Value::from(*v)))
            .collect();
        Value::map(m)
    }

    fn json_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        Some(HELM_BUILD.iter().map(|(_, json, v)| (*json, Value::from(*v))).collect())
    }

    fn string(&self) -> Option<String> {
        let vals: Vec<&str> = HELM_BUILD.iter().map(|(_, _, v)| *v).collect();
        Some(format!("{{{}}}", vals.join(" ")))
    }
}

/// `*common.Capabilities`.
#[derive(Debug, Clone)]
pub struct Capabilities {
    pub kube_version: KubeVersion,
    /// `.APIVersions`: a `common.VersionSet` (built once; templates share it).
    api_versions: Value,
}

/// Helm v4.1.4's `DefaultVersionSet`, in its order (client-go v0.35's
/// `PrioritizedVersionsAllGroups` plus apiextensions): `first`, `last` and `range` see it.
pub const DEFAULT_API_VERSIONS: &[&str] = &[
    "v1",
    "admissionregistration.k8s.io/v1",
    "admissionregistration.k8s.io/v1alpha1",
    "admissionregistration.k8s.io/v1beta1",
    "internal.apiserver.k8s.io/v1alpha1",
    "apps/v1",
    "apps/v1beta1",
    "apps/v1beta2",
    "authentication.k8s.io/v1",
    "authentication.k8s.io/v1alpha1",
    "authentication.k8s.io/v1beta1",
    "authorization.k8s.io/v1",
    "authorization.k8s.io/v1beta1",
    "autoscaling/v1",
    "autoscaling/v2",
    "autoscaling/v2beta1",
    "autoscaling/v2beta2",
    "batch/v1",
    "batch/v1beta1",
    "certificates.k8s.io/v1",
    "certificates.k8s.io/v1beta1",
    "certificates.k8s.io/v1alpha1",
    "coordination.k8s.io/v1alpha2",
    "coordination.k8s.io/v1beta1",
    "coordination.k8s.io/v1",
    "discovery.k8s.io/v1",
    "discovery.k8s.io/v1beta1",
    "events.k8s.io/v1",
    "events.k8s.io/v1beta1",
    "extensions/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1",
    "flowcontrol.apiserver.k8s.io/v1beta1",
    "flowcontrol.apiserver.k8s.io/v1beta2",
    "flowcontrol.apiserver.k8s.io/v1beta3",
    "networking.k8s.io/v1",
    "networking.k8s.io/v1beta1",
    "node.k8s.io/v1",
    "node.k8s.io/v1alpha1",
    "node.k8s.io/v1beta1",
    "policy/v1",
    "policy/v1beta1",
    "rbac.authorization.k8s.io/v1",
    "rbac.authorization.k8s.io/v1beta1",
    "rbac.authorization.k8s.io/v1alpha1",
    "resource.k8s.io/v1",
    "resource.k8s.io/v1beta2",
    "resource.k8s.io/v1beta1",
    "resource.k8s.io/v1alpha3",
    "scheduling.k8s.io/v1alpha1",
    "scheduling.k8s.io/v1beta1",
    "scheduling.k8s.io/v1",
    "storage.k8s.io/v1beta1",
    "storage.k8s.io/v1",
    "storage.k8s.io/v1alpha1",
    "storagemigration.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1beta1",
    "apiextensions.k8s.io/v1",
];

impl Capabilities {
    /// Helm's offline defaults (`helm template`): Kubernetes v1.35.0 and the default API list,
    /// with `--kube-version` and `--api-versions` applied.
    pub fn offline(kube_version: Option<&str>, extra_api_versions: &[String]) -> Result<Capabilities, String> {
        let kube_version = match kube_version {
            Some(v) => KubeVersion::parse(v).map_err(|e| format!("invalid kube version '{v}': {e}"))?,
            None => default_kube_version(),
        };
        Ok(Capabilities {
            kube_version,
            api_versions: api_versions(extra_api_versions),
        })
    }

    /// Helm's offline defaults with no flags: what `helm template` sees without
    /// `--kube-version` or `--api-versions`.
    pub fn helm_defaults() -> Capabilities {
        Capabilities {
            kube_version: default_kube_version(),
            api_versions: api_versions(&[]),
        }
    }
}

fn default_kube_version() -> KubeVersion {
    KubeVersion {
        version: "v1.35.0".into(),
        major: "1".into(),
        minor: "35".into(),
        normalized: "v1.35.0".into(),
    }
}

/// Helm's default API versions and `extra`, as `.Capabilities.APIVersions`.
fn api_versions(extra: &[String]) -> Value {
    let api = DEFAULT_API_VERSIONS
        .iter()
        .map(|s| s.to_string())
        .chain(extra.iter().cloned());
    helmfire_template::named::version_set(api)
}

impl Object for Capabilities {
    fn type_name(&self) -> &str {
        "*common.Capabilities"
    }

    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "KubeVersion" => Some(Value::Object(Arc::new(self.kube_version.clone()))),
            "APIVersions" => Some(self.api_versions.clone()),
            "HelmVersion" => Some(Value::Object(Arc::new(HelmVersion))),
            _ => None,
        }
    }

    fn to_plain(&self) -> Value {
        let mut m = Map::new();
        m.insert("KubeVersion".into(), self.kube_version.to_plain());
        m.insert("APIVersions".into(), self.api_versions.clone());
        m.insert("HelmVersion".into(), HelmVersion.to_plain());
        Value::map(m)
    }

    fn json_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        Some(vec![
            ("KubeVersion", Value::Object(Arc::new(self.kube_version.clone()))),
            ("APIVersions", self.api_versions.clone()),
            ("HelmVersion", Value::Object(Arc::new(HelmVersion))),
        ])
    }

    fn has_method(&self, name: &str) -> bool {
        name == "Copy"
    }

    fn method_params(&self, _name: &str) -> Option<&'static [&'static str]> {
        Some(&[])
    }

    /// `Copy`: a new `*common.Capabilities` with the same fields.
    fn call_method(&self, name: &str, _args: &[Value]) -> Result<Value, String> {
        match name {
            "Copy" => Ok(Value::Object(Arc::new(self.clone()))),
            _ => Err(format!("can't call method {name}")),
        }
    }

    fn kind(&self) -> &str {
        "ptr"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_versions_parse_like_helm() {
        let k = KubeVersion::parse("1.30").expect("parses");
        assert_eq!((k.version.as_str(), k.normalized.as_str()), ("v1.30", "v1.30"));
        let k = KubeVersion::parse("1.30.0-gke.1").expect("parses");
        assert_eq!(
            (k.version.as_str(), k.normalized.as_str(), k.minor.as_str()),
            ("v1.30.0-gke.1", "v1.30.0", "30")
        );
        assert_eq!(KubeVersion::parse("1").unwrap_err(), "illegal version string \"1\"");
        assert_eq!(KubeVersion::parse("x").unwrap_err(), "could not parse \"x\" as version");
    }

    #[test]
    fn files_print_as_gos_map_of_byte_slices() {
        let mut entries = BTreeMap::new();
        entries.insert("b".to_string(), FileData::from(&[0u8, 9, 10, 99, 100, 255][..]));
        entries.insert("a".to_string(), FileData::from(&[][..]));
        let files = Files { entries };
        assert_eq!(files.string().as_deref(), Some("map[a:[] b:[0 9 10 99 100 255]]"));
        assert_eq!(
            Files {
                entries: BTreeMap::new()
            }
            .string()
            .as_deref(),
            Some("map[]")
        );
    }

    #[test]
    fn globs_follow_gobwas() {
        let g = |p: &str, s: &str| glob_regex(p).expect("valid").is_match(s);
        assert!(g("files/*.txt", "files/a.txt"));
        assert!(!g("files/*.txt", "files/x/a.txt"));
        assert!(g("files/**.txt", "files/x/a.txt"));
        assert!(g("{a,b}/*", "b/c"));
        assert!(g("[!x]y", "ay"));
        assert!(glob_regex("[ab").is_none());
    }
}
