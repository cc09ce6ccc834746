//! A helmfile state as helmfile v0.166.0 declares it (`pkg/state/state.go`): every key it
//! accepts, strictly (an unknown key is an error at the key), with spans, and the merges helmfile
//! does with `imdario/mergo` between documents, parts, bases and inherited templates.
//!
//! Go distinguishes a value field (`string`, `bool`, `int`: empty means zero) from a pointer field
//! (`*bool`: empty means nil); [`Scalar`] and [`Pointer`] keep that distinction because mergo
//! merges them differently. Nothing here decides what a key means; `release` and `loader` do.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use helmfire_value::{IntType, ListType, Map, MapRef, MapType, Value};

use crate::state::de::Spanned;

/// How mergo merges: `overwrite` lets a non-empty source replace a non-empty destination,
/// `append` concatenates slices instead of replacing them.
#[derive(Clone, Copy, Debug)]
pub(super) struct Mode {
    pub overwrite: bool,
    pub append: bool,
}

/// Parts of one file: later parts override (`mergo.WithOverride`).
pub(super) const OVERRIDE: Mode = Mode {
    overwrite: true,
    append: false,
};
/// Documents of one part and bases: the first non-empty value wins, lists are appended
/// (`mergo.WithAppendSlice`).
pub(super) const APPEND: Mode = Mode {
    overwrite: false,
    append: true,
};
/// Release templates under `inherit`: the release's non-empty values win, lists are appended
/// (`WithAppendSlice, WithSliceDeepCopy`, which also sets overwrite).
pub(super) const INHERIT: Mode = Mode {
    overwrite: true,
    append: true,
};

/// mergo's merge of one field.
pub(super) trait Merge {
    fn mergo(&mut self, src: Self, mode: Mode);
}

/// Go's zero value test (`isEmptyValue`) for scalar payloads.
pub(super) trait Zero {
    fn is_zero(&self) -> bool;
}

impl Zero for String {
    fn is_zero(&self) -> bool {
        self.is_empty()
    }
}

impl Zero for bool {
    fn is_zero(&self) -> bool {
        !*self
    }
}

impl Zero for i64 {
    fn is_zero(&self) -> bool {
        *self == 0
    }
}

/// A Go value field (`string`, `bool`, `int`): absent and zero are the same.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Scalar<T>(pub Option<Spanned<T>>);

impl<T> Default for Scalar<T> {
    fn default() -> Self {
        Scalar(None)
    }
}

impl<T: Zero> Scalar<T> {
    pub fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|s| s.value.is_zero())
    }

    /// The value, `None` when zero.
    pub fn get(&self) -> Option<&T> {
        self.0.as_ref().filter(|s| !s.value.is_zero()).map(|s| &s.value)
    }

    pub fn spanned(&self) -> Option<&Spanned<T>> {
        self.0.as_ref().filter(|s| !s.value.is_zero())
    }
}

impl Scalar<String> {
    pub fn text(&self) -> &str {
        self.0.as_ref().map_or("", |s| s.value.as_str())
    }
}

impl Scalar<bool> {
    pub fn is_true(&self) -> bool {
        self.get().copied().unwrap_or(false)
    }
}

impl<T: Zero> Merge for Scalar<T> {
    fn mergo(&mut self, src: Self, mode: Mode) {
        if !src.is_empty() && (mode.overwrite || self.is_empty()) {
            *self = src;
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Scalar<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<Spanned<T>>::deserialize(deserializer).map(Scalar)
    }
}

/// A Go pointer field (`*bool`, `*int`, `*string`): absent is nil, and `false` is a value.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Pointer<T>(pub Option<Spanned<T>>);

impl<T> Default for Pointer<T> {
    fn default() -> Self {
        Pointer(None)
    }
}

impl<T: Clone> Pointer<T> {
    pub fn get(&self) -> Option<T> {
        self.0.as_ref().map(|s| s.value.clone())
    }
}

impl<T: Zero> Merge for Pointer<T> {
    fn mergo(&mut self, src: Self, mode: Mode) {
        let Some(src) = src.0 else { return };
        match &mut self.0 {
            None => self.0 = Some(src),
            Some(dst) => {
                // mergo dereferences both pointers and merges the values.
                if !src.value.is_zero() && (mode.overwrite || dst.value.is_zero()) {
                    *dst = src;
                }
            }
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Pointer<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Option::<Spanned<T>>::deserialize(deserializer).map(Pointer)
    }
}

impl<T> Merge for Vec<T> {
    fn mergo(&mut self, src: Self, mode: Mode) {
        if mode.append {
            self.extend(src);
        } else if !src.is_empty() && (mode.overwrite || self.is_empty()) {
            *self = src;
        }
    }
}

/// Map entries: mergo replaces a whole entry (mergo cannot merge into a map's element).
impl<V: Emptiness> Merge for BTreeMap<String, V> {
    fn mergo(&mut self, src: Self, mode: Mode) {
        for (key, value) in src {
            let replace = match self.get(&key) {
                None => true,
                Some(existing) => mode.overwrite || existing.is_empty_value(),
            };
            if replace {
                self.insert(key, value);
            }
        }
    }
}

/// Whether a map element is Go's zero value.
pub(super) trait Emptiness {
    fn is_empty_value(&self) -> bool;
}

impl Emptiness for Spanned<String> {
    fn is_empty_value(&self) -> bool {
        self.value.is_empty()
    }
}

impl<T> Emptiness for Spanned<Option<T>> {
    fn is_empty_value(&self) -> bool {
        self.value.is_none()
    }
}

impl Emptiness for Spanned<RawRelease> {
    fn is_empty_value(&self) -> bool {
        false
    }
}

/// Field-by-field [`Merge`] of a struct.
macro_rules! merge_struct {
    ($ty:ident { $($field:ident),* $(,)? }) => {
        impl Merge for $ty {
            fn mergo(&mut self, src: Self, mode: Mode) {
                $( self.$field.mergo(src.$field, mode); )*
            }
        }
    };
}

/// go-yaml v2 decodes `null` into a slice, map or struct as its zero value (`helmfiles: ` with
/// nothing rendered after it is an empty list).
fn nullable<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(deserializer: D) -> Result<T, D::Error> {
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

/// Any YAML value as go-yaml v2 decodes it into `interface{}` (ints stay ints), with map keys
/// that must be strings, as helmfile's `maputil.CastKeysToStrings` requires.
#[derive(Clone, Debug, Default)]
pub(super) struct Any(pub Value);

impl<'de> Deserialize<'de> for Any {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(AnyVisitor).map(Any)
    }
}

struct AnyVisitor;

impl<'de> Visitor<'de> for AnyVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v, IntType::Int))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Int(v as i64, IntType::Uint64), |i| Value::Int(i, IntType::Int)))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(AnyVisitor)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(Any(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::List(std::sync::Arc::new(items), ListType::Interface))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(StringKey(key)) = map.next_key()? {
            let Any(value) = map.next_value()?;
            out.insert(key, value);
        }
        Ok(Value::Map(MapRef::new(out), MapType::Interface))
    }
}

/// A map key that must be a string.
struct StringKey(String);

impl<'de> Deserialize<'de> for StringKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = StringKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string key")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<StringKey, E> {
                Ok(StringKey(v.to_string()))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<StringKey, E> {
                Err(E::custom(format!(
                    "unexpected type of key in map: expected string, got bool: value={v} (quote the key: YAML 1.1 reads `yes`, `no`, `on` and `off` as booleans)"
                )))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<StringKey, E> {
                Err(E::custom(format!(
                    "unexpected type of key in map: expected string, got int: value={v}"
                )))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<StringKey, E> {
                self.visit_i64(v as i64)
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<StringKey, E> {
                Err(E::custom(format!(
                    "unexpected type of key in map: expected string, got float64: value={v}"
                )))
            }
            fn visit_unit<E: de::Error>(self) -> Result<StringKey, E> {
                Err(E::custom("unexpected type of key in map: expected string, got <nil>"))
            }
        }
        deserializer.deserialize_any(KeyVisitor)
    }
}

/// `ReleaseSetSpec`, the top level of a helmfile state (the part of `HelmState` the file sets).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawHelmfile {
    #[serde(default)]
    pub helm_binary: Scalar<String>,
    #[serde(default)]
    pub kustomize_binary: Scalar<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub values: Vec<Spanned<Any>>,
    #[serde(default, deserialize_with = "nullable")]
    pub environments: BTreeMap<String, Spanned<Option<RawEnvironment>>>,
    #[serde(default, deserialize_with = "nullable")]
    pub bases: Vec<Spanned<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub helm_defaults: RawHelmDefaults,
    #[serde(default, deserialize_with = "nullable")]
    pub helmfiles: Vec<Spanned<RawSubHelmfile>>,
    /// v0's spelling of `helmDefaults.kubeContext`.
    #[serde(default)]
    pub context: Scalar<String>,
    /// v0's spelling of `releases`.
    #[serde(default, deserialize_with = "nullable")]
    pub charts: Vec<Spanned<RawRelease>>,
    /// Overrides every release's kube context.
    #[serde(default)]
    pub kube_context: Scalar<String>,
    /// Overrides every release's namespace.
    #[serde(default)]
    pub namespace: Scalar<String>,
    /// Overrides every release's chart.
    #[serde(default)]
    pub chart: Scalar<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub repositories: Vec<Spanned<RawRepository>>,
    #[serde(default, deserialize_with = "nullable")]
    pub common_labels: BTreeMap<String, Spanned<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub releases: Vec<Spanned<RawRelease>>,
    #[serde(default, deserialize_with = "nullable")]
    pub api_versions: Vec<Spanned<String>>,
    #[serde(default)]
    pub kube_version: Scalar<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub hooks: Vec<Spanned<Any>>,
    #[serde(default, deserialize_with = "nullable")]
    pub templates: BTreeMap<String, Spanned<RawRelease>>,
    /// Only for `helmfiles:` globs that match nothing: `Error` fails, anything else warns.
    #[serde(default)]
    pub missing_file_handler: Scalar<String>,
    #[serde(default)]
    pub missing_file_handler_config: Option<Spanned<Any>>,
    #[serde(default)]
    pub lock_file_path: Scalar<String>,
    /// Printed by `helmfile build` (an exported Go field), so accepted on input.
    #[serde(default, rename = "filepath")]
    pub file_path: Option<Spanned<Any>>,
    /// Printed by `helmfile build` (an exported Go field), so accepted on input.
    #[serde(default, rename = "renderedvalues")]
    pub rendered_values: Option<Spanned<Any>>,
}

merge_struct!(RawHelmfile {
    helm_binary,
    kustomize_binary,
    values,
    environments,
    bases,
    helm_defaults,
    helmfiles,
    context,
    charts,
    kube_context,
    namespace,
    chart,
    repositories,
    common_labels,
    releases,
    api_versions,
    kube_version,
    hooks,
    templates,
    missing_file_handler,
    missing_file_handler_config,
    lock_file_path,
    file_path,
    rendered_values,
});

impl<T> Merge for Option<Spanned<T>> {
    fn mergo(&mut self, src: Self, mode: Mode) {
        if src.is_some() && (mode.overwrite || self.is_none()) {
            *self = src;
        }
    }
}

/// `environments.<name>`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawEnvironment {
    #[serde(default, deserialize_with = "nullable")]
    pub values: Vec<Spanned<Any>>,
    #[serde(default, deserialize_with = "nullable")]
    pub secrets: Vec<Spanned<String>>,
    #[serde(default)]
    pub kube_context: Scalar<String>,
    #[serde(default)]
    pub missing_file_handler: Pointer<String>,
    /// Only matters for remote (go-getter) files, which helmfire refuses.
    #[serde(default)]
    #[expect(dead_code, reason = "accepted for compatibility; it only affects remote files")]
    pub missing_file_handler_config: Option<Spanned<Any>>,
}

/// `helmDefaults` (`HelmSpec`): value fields only, except where Go has pointers.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawHelmDefaults {
    #[serde(default)]
    pub kube_context: Scalar<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub args: Vec<Spanned<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub diff_args: Vec<Spanned<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub sync_args: Vec<Spanned<String>>,
    #[serde(default)]
    pub verify: Scalar<bool>,
    #[serde(default)]
    pub keyring: Scalar<String>,
    #[serde(default, rename = "enableDNS")]
    pub enable_dns: Scalar<bool>,
    #[serde(default)]
    pub devel: Scalar<bool>,
    #[serde(default)]
    pub wait: Scalar<bool>,
    #[serde(default)]
    pub wait_for_jobs: Scalar<bool>,
    #[serde(default)]
    pub timeout: Scalar<i64>,
    #[serde(default)]
    pub recreate_pods: Scalar<bool>,
    #[serde(default)]
    pub force: Scalar<bool>,
    #[serde(default)]
    pub atomic: Scalar<bool>,
    #[serde(default)]
    pub cleanup_on_fail: Scalar<bool>,
    #[serde(default)]
    pub history_max: Pointer<i64>,
    #[serde(default)]
    pub create_namespace: Pointer<bool>,
    #[serde(default)]
    pub skip_deps: Scalar<bool>,
    #[serde(default)]
    pub reuse_values: Scalar<bool>,
    #[serde(default)]
    pub post_renderer: Pointer<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub post_renderer_args: Vec<Spanned<String>>,
    #[serde(default)]
    pub cascade: Pointer<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub suppress_output_line_regex: Vec<Spanned<String>>,
    #[serde(default)]
    pub disable_validation: Pointer<bool>,
    #[serde(default, rename = "disableOpenAPIValidation")]
    pub disable_openapi_validation: Pointer<bool>,
    #[serde(default, rename = "insecureSkipTLSVerify")]
    pub insecure_skip_tls_verify: Scalar<bool>,
    #[serde(default)]
    pub delete_wait: Scalar<bool>,
    #[serde(default)]
    pub delete_timeout: Scalar<i64>,
}

merge_struct!(RawHelmDefaults {
    kube_context,
    args,
    diff_args,
    sync_args,
    verify,
    keyring,
    enable_dns,
    devel,
    wait,
    wait_for_jobs,
    timeout,
    recreate_pods,
    force,
    atomic,
    cleanup_on_fail,
    history_max,
    create_namespace,
    skip_deps,
    reuse_values,
    post_renderer,
    post_renderer_args,
    cascade,
    suppress_output_line_regex,
    disable_validation,
    disable_openapi_validation,
    insecure_skip_tls_verify,
    delete_wait,
    delete_timeout,
});

/// `helmfiles[]`: a path (glob), or a path with selectors and values.
#[derive(Clone, Debug, Default)]
pub(super) struct RawSubHelmfile {
    pub path: String,
    /// `None`: not written (inherit the parent's selectors in v0).
    pub selectors: Option<Vec<String>>,
    pub selectors_inherited: bool,
    pub values: Vec<Spanned<Any>>,
}

impl<'de> Deserialize<'de> for RawSubHelmfile {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields, rename_all = "camelCase")]
        struct Full {
            #[serde(default)]
            path: Option<String>,
            #[serde(default)]
            selectors: Option<Vec<String>>,
            #[serde(default)]
            selectors_inherited: Option<bool>,
            #[serde(default, deserialize_with = "nullable")]
            values: Vec<Spanned<Any>>,
        }
        struct SubVisitor;
        impl<'de> Visitor<'de> for SubVisitor {
            type Value = RawSubHelmfile;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a path or a map with `path`, `selectors`, `selectorsInherited` and `values`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawSubHelmfile, E> {
                Ok(RawSubHelmfile {
                    path: v.to_string(),
                    ..Default::default()
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawSubHelmfile, A::Error> {
                let full = Full::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let spec = RawSubHelmfile {
                    path: full.path.unwrap_or_default(),
                    selectors: full.selectors,
                    selectors_inherited: full.selectors_inherited.unwrap_or(false),
                    values: full.values,
                };
                if spec.selectors.is_some() && spec.path.is_empty() {
                    return Err(de::Error::custom(
                        "found `selectors` without `path` in a `helmfiles` entry",
                    ));
                }
                if spec.selectors_inherited && spec.selectors.as_ref().is_some_and(|s| !s.is_empty()) {
                    return Err(de::Error::custom(format!(
                        "you cannot use `selectorsInherited: true` along with explicit `selectors` for path `{}`",
                        spec.path
                    )));
                }
                Ok(spec)
            }
        }
        deserializer.deserialize_any(SubVisitor)
    }
}

/// `repositories[]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawRepository {
    #[serde(default)]
    pub name: Scalar<String>,
    #[serde(default, rename = "url")]
    pub url: Scalar<String>,
    #[serde(default)]
    pub ca_file: Scalar<String>,
    #[serde(default)]
    pub cert_file: Scalar<String>,
    #[serde(default)]
    pub key_file: Scalar<String>,
    #[serde(default)]
    pub username: Scalar<String>,
    #[serde(default)]
    pub password: Scalar<String>,
    /// helm's `--no-update`-era flag; helmfire manages repositories itself, so it is accepted.
    #[serde(default)]
    #[expect(
        dead_code,
        reason = "accepted for compatibility; helmfire has no unmanaged repositories"
    )]
    pub managed: Scalar<String>,
    #[serde(default, rename = "oci")]
    pub oci: Scalar<bool>,
    #[serde(default)]
    pub verify: Scalar<bool>,
    #[serde(default)]
    pub keyring: Scalar<String>,
    #[serde(default)]
    pub pass_credentials: Scalar<bool>,
    #[serde(default, rename = "skipTLSVerify")]
    pub skip_tls_verify: Scalar<bool>,
}

/// `set[]`, `setTemplate[]` and the legacy `env[]` (`SetValue`).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawSetValue {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub value: String,
    #[serde(default)]
    pub file: String,
    #[serde(default, deserialize_with = "nullable")]
    pub values: Vec<String>,
}

/// `inherit[]`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawInherit {
    #[serde(default)]
    pub template: Scalar<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub except: Vec<Spanned<String>>,
}

/// `inherit:` is a list; a single map is the deprecated form helmfile still takes.
#[derive(Clone, Debug, Default)]
pub(super) struct Inherits(pub Vec<Spanned<RawInherit>>);

impl<'de> Deserialize<'de> for Inherits {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct InheritsVisitor;
        impl<'de> Visitor<'de> for InheritsVisitor {
            type Value = Inherits;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of `{template, except}`")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Inherits, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Inherits(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Inherits, A::Error> {
                let single = RawInherit::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Inherits(vec![Spanned::new(single, Default::default())]))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Inherits, E> {
                Ok(Inherits::default())
            }
        }
        deserializer.deserialize_any(InheritsVisitor)
    }
}

impl Merge for Inherits {
    fn mergo(&mut self, src: Self, mode: Mode) {
        self.0.mergo(src.0, mode);
    }
}

/// A release or a release template (`ReleaseSpec`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct RawRelease {
    #[serde(default)]
    pub chart: Scalar<String>,
    #[serde(default)]
    pub chart_path: Scalar<String>,
    #[serde(default)]
    pub directory: Scalar<String>,
    #[serde(default)]
    pub version: Scalar<String>,
    #[serde(default)]
    pub verify: Pointer<bool>,
    #[serde(default)]
    pub keyring: Scalar<String>,
    #[serde(default, rename = "enableDNS")]
    pub enable_dns: Pointer<bool>,
    #[serde(default)]
    pub devel: Pointer<bool>,
    #[serde(default)]
    pub wait: Pointer<bool>,
    #[serde(default)]
    pub wait_for_jobs: Pointer<bool>,
    #[serde(default)]
    pub timeout: Pointer<i64>,
    #[serde(default)]
    pub recreate_pods: Pointer<bool>,
    #[serde(default)]
    pub force: Pointer<bool>,
    #[serde(default)]
    pub installed: Pointer<bool>,
    #[serde(default)]
    pub atomic: Pointer<bool>,
    #[serde(default)]
    pub cleanup_on_fail: Pointer<bool>,
    #[serde(default)]
    pub history_max: Pointer<i64>,
    #[serde(default)]
    pub condition: Scalar<String>,
    #[serde(default)]
    pub create_namespace: Pointer<bool>,
    #[serde(default, rename = "disableOpenAPIValidation")]
    pub disable_openapi_validation: Pointer<bool>,
    #[serde(default)]
    pub disable_validation: Pointer<bool>,
    #[serde(default)]
    pub disable_validation_on_install: Pointer<bool>,
    #[serde(default)]
    pub missing_file_handler: Pointer<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub needs: Vec<Spanned<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub hooks: Vec<Spanned<Any>>,
    #[serde(default)]
    pub name: Scalar<String>,
    #[serde(default)]
    pub namespace: Scalar<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub labels: BTreeMap<String, Spanned<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub values: Vec<Spanned<Any>>,
    #[serde(default, deserialize_with = "nullable")]
    pub secrets: Vec<Spanned<Any>>,
    #[serde(default, deserialize_with = "nullable")]
    pub set: Vec<Spanned<RawSetValue>>,
    #[serde(default, deserialize_with = "nullable")]
    pub values_template: Vec<Spanned<Any>>,
    #[serde(default, deserialize_with = "nullable")]
    pub set_template: Vec<Spanned<RawSetValue>>,
    #[serde(default, deserialize_with = "nullable")]
    pub api_versions: Vec<Spanned<String>>,
    #[serde(default)]
    pub kube_version: Scalar<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub env: Vec<Spanned<RawSetValue>>,
    #[serde(default)]
    pub values_path_prefix: Scalar<String>,
    #[serde(default)]
    pub kube_context: Scalar<String>,
    #[serde(default, rename = "insecureSkipTLSVerify")]
    pub insecure_skip_tls_verify: Scalar<bool>,
    #[serde(default)]
    pub verify_template: Pointer<String>,
    #[serde(default)]
    pub wait_template: Pointer<String>,
    #[serde(default)]
    pub installed_template: Pointer<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub dependencies: Vec<Spanned<Any>>,
    #[serde(default, rename = "jsonPatches", deserialize_with = "nullable")]
    pub json_patches: Vec<Spanned<Any>>,
    #[serde(default, deserialize_with = "nullable")]
    pub strategic_merge_patches: Vec<Spanned<Any>>,
    #[serde(default, deserialize_with = "nullable")]
    pub transformers: Vec<Spanned<Any>>,
    #[serde(default, deserialize_with = "nullable")]
    pub adopt: Vec<Spanned<String>>,
    #[serde(default)]
    pub force_go_getter: Scalar<bool>,
    #[serde(default)]
    pub force_namespace: Scalar<String>,
    #[serde(default)]
    pub skip_deps: Pointer<bool>,
    #[serde(default)]
    pub post_renderer: Pointer<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub post_renderer_args: Vec<Spanned<String>>,
    #[serde(default)]
    pub cascade: Pointer<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub suppress_output_line_regex: Vec<Spanned<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub inherit: Inherits,
    #[serde(default)]
    pub suppress_diff: Pointer<bool>,
    #[serde(default)]
    pub delete_wait: Pointer<bool>,
    #[serde(default)]
    pub delete_timeout: Pointer<i64>,
}

merge_struct!(RawRelease {
    chart,
    chart_path,
    directory,
    version,
    verify,
    keyring,
    enable_dns,
    devel,
    wait,
    wait_for_jobs,
    timeout,
    recreate_pods,
    force,
    installed,
    atomic,
    cleanup_on_fail,
    history_max,
    condition,
    create_namespace,
    disable_openapi_validation,
    disable_validation,
    disable_validation_on_install,
    missing_file_handler,
    needs,
    hooks,
    name,
    namespace,
    labels,
    values,
    secrets,
    set,
    values_template,
    set_template,
    api_versions,
    kube_version,
    env,
    values_path_prefix,
    kube_context,
    insecure_skip_tls_verify,
    verify_template,
    wait_template,
    installed_template,
    dependencies,
    json_patches,
    strategic_merge_patches,
    transformers,
    adopt,
    force_go_getter,
    force_namespace,
    skip_deps,
    post_renderer,
    post_renderer_args,
    cascade,
    suppress_output_line_regex,
    inherit,
    suppress_diff,
    delete_wait,
    delete_timeout,
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::de::from_node;
    use crate::state::source::SourceFile;
    use crate::state::yaml::{Schema, parse_documents};

    fn parse(text: &str) -> RawHelmfile {
        let source = SourceFile::new("h.yaml", text);
        let docs = parse_documents(&source, Schema::GoYamlV2).unwrap();
        from_node(&docs[0], &source.text).unwrap()
    }

    #[test]
    fn pointer_fields_keep_false_and_value_fields_do_not_override_with_zero() {
        let mut first =
            parse("releases: [{name: a, wait: true, timeout: 10}]\nhelmDefaults: {wait: true, timeout: 100}\n");
        let second = parse("helmDefaults: {wait: false, timeout: 200}\n");
        first.mergo(second, OVERRIDE);
        assert!(first.helm_defaults.wait.is_true(), "false never overrides true");
        assert_eq!(first.helm_defaults.timeout.get(), Some(&200));
        assert_eq!(first.releases.len(), 1, "an empty list does not replace");

        let mut base = parse("releases: [{name: a}]\nhelmDefaults: {timeout: 100}\ncommonLabels: {a: base}\n");
        let main = parse("releases: [{name: b}]\nhelmDefaults: {timeout: 200}\ncommonLabels: {a: main, b: main}\n");
        base.mergo(main, APPEND);
        assert_eq!(base.releases.len(), 2, "bases append lists");
        assert_eq!(base.helm_defaults.timeout.get(), Some(&100), "the base's scalar wins");
        assert_eq!(base.common_labels["a"].value, "base");
        assert_eq!(base.common_labels["b"].value, "main");
    }

    #[test]
    fn inherit_lets_the_release_win_and_appends_lists() {
        let state = parse(
            "templates:\n  t: {chart: ./a, wait: true, values: [{a: 1}], labels: {x: '1', y: '1'}}\nreleases:\n- {name: r, chart: ./b, wait: false, values: [{b: 2}], labels: {y: '2'}}\n",
        );
        let mut merged = state.templates["t"].value.clone();
        merged.mergo(state.releases[0].value.clone(), INHERIT);
        assert_eq!(merged.chart.text(), "./b");
        assert_eq!(
            merged.wait.get(),
            Some(true),
            "mergo never writes a zero through a pointer"
        );
        assert_eq!(merged.values.len(), 2);
        assert_eq!(merged.labels["y"].value, "2");
        assert_eq!(merged.labels["x"].value, "1");
    }

    #[test]
    fn non_string_keys_are_refused_and_strings_keep_their_text() {
        let source = SourceFile::new(
            "h.yaml",
            "releases:\n- name: 0777\n  version: 1.10\n  values: [{on: 1}]\n",
        );
        let docs = parse_documents(&source, Schema::GoYamlV2).unwrap();
        let error = from_node::<RawHelmfile>(&docs[0], &source.text).unwrap_err();
        assert!(error.message.contains("expected string, got bool"), "{}", error.message);
        let state = parse("releases:\n- name: 0777\n  version: 1.10\n");
        assert_eq!(state.releases[0].value.name.text(), "0777");
        assert_eq!(state.releases[0].value.version.text(), "1.10");
    }

    #[test]
    fn null_lists_maps_and_structs_are_empty_as_in_go() {
        let state = parse("helmfiles:\nreleases:\n- name: a\n  values:\n  labels:\nhelmDefaults:\n");
        assert!(state.helmfiles.is_empty());
        assert!(state.releases[0].value.values.is_empty());
    }

    #[test]
    fn unknown_keys_are_errors() {
        let source = SourceFile::new("h.yaml", "releases:\n- name: a\n  setString: []\n");
        let docs = parse_documents(&source, Schema::GoYamlV2).unwrap();
        let error = from_node::<RawHelmfile>(&docs[0], &source.text).unwrap_err();
        assert_eq!(error.message, "unknown field `setString`");
    }
}
