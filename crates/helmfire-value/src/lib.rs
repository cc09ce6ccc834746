//! Go-shaped dynamic values: the data model that chart values and templates observe.
//!
//! Helm hands templates `interface{}` values decoded by `sigs.k8s.io/yaml` (numbers become
//! `float64`), `--set` values (`int64`), and whatever Sprig functions return (`int`, `[]string`,
//! `map[string]string`, …). Charts can observe those Go types (`typeOf`, `kindIs`, `printf "%T"`,
//! `eq` type errors), so a value keeps its Go type, not just its shape. Maps have Go's reference
//! semantics: `set $d "k" "v"` is seen by every holder of `$d`. This module knows nothing of charts.

#![forbid(unsafe_code)]

mod deep;
pub mod interop;
pub mod json;
pub mod number;
pub mod time;
pub mod toml;
pub mod yaml;

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, LazyLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Keys iterate in byte order, as Go's templates and encoders sort map keys.
pub type Map = BTreeMap<String, Value>;

/// A Go map: cloning shares the same underlying map, as in Go.
#[derive(Clone, Default)]
pub struct MapRef(Arc<RwLock<Map>>);

/// The one nil map (see [`MapRef::nil`]); nothing may write to it.
static NIL_MAP: LazyLock<MapRef> = LazyLock::new(|| MapRef::new(Map::new()));

impl MapRef {
    pub fn new(map: Map) -> Self {
        MapRef(Arc::new(RwLock::new(map)))
    }

    /// Go's nil map of a map type (a `map[string]interface{}` parameter given no value): empty
    /// when read, printed `map[]`, encoded as `null`, and an error to assign to. Writers check
    /// [`MapRef::is_nil`] first.
    pub fn nil() -> MapRef {
        NIL_MAP.clone()
    }

    /// Whether this is the nil map.
    pub fn is_nil(&self) -> bool {
        self.same(&NIL_MAP)
    }

    pub fn read(&self) -> RwLockReadGuard<'_, Map> {
        self.0.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, Map> {
        self.0.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// True when both refer to the same Go map.
    pub fn same(&self, other: &MapRef) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// A new map with the same entries (nested maps still shared), like Go's shallow copy.
    pub fn shallow_copy(&self) -> MapRef {
        MapRef::new(self.read().clone())
    }
}

impl fmt::Debug for MapRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.read().iter()).finish()
    }
}

/// The Go integer type a value carries (`int` from `len`, `int64` from `--set` and Sprig math).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IntType {
    Int,
    Int8,
    Int16,
    Int32,
    Int64,
    Uint,
    Uint8,
    Uint16,
    Uint32,
    Uint64,
}

/// The Go type of a slice: `[]interface {}` from YAML, `[]string` from `splitList`, …
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListType {
    Interface,
    String,
    Int,
    /// `[][]interface {}` (Sprig's `chunk`).
    InterfaceLists,
    /// Helm's `common.VersionSet` (`.Capabilities.APIVersions`): a named `[]string` with a
    /// `Has` method, accepted wherever a `[]string` or any slice is.
    VersionSet,
}

/// The Go type of a map: `map[string]interface {}` almost always, `map[string]string` from
/// `split`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MapType {
    Interface,
    String,
    /// Helm's `common.Values` (`.Values`, `.Template`): a named `map[string]interface {}` with
    /// methods (`AsMap`, `YAML`, `Table`, `PathValue`, `Encode`), assignable to
    /// `map[string]interface {}` parameters.
    Values,
}

impl MapType {
    /// Whether the elements are `interface {}` (a missing key is a nil interface).
    pub fn holds_interfaces(self) -> bool {
        matches!(self, MapType::Interface | MapType::Values)
    }
}

/// A value a template can see. Cloning is cheap: strings, lists and maps are shared.
#[derive(Clone, Debug, Default)]
pub enum Value {
    /// Go's untyped `nil` (a missing key, YAML `null`).
    #[default]
    Nil,
    Bool(bool),
    /// Integers other than `uint64` values above `i64::MAX`, which charts never produce.
    Int(i64, IntType),
    Float(f64),
    String(Arc<str>),
    /// `[]byte`, e.g. from `.Files.GetBytes`.
    Bytes(Arc<[u8]>),
    List(Arc<Vec<Value>>, ListType),
    Map(MapRef, MapType),
    /// A Go struct or pointer with fields and methods (`.Capabilities`, `.Files`, `time.Time`, …).
    Object(Arc<dyn Object>),
}

/// A Go value with fields and methods. The template engine extends this trait (method calls);
/// encoders only need [`Object::to_plain`].
pub trait Object: Send + Sync + fmt::Debug {
    /// The Go type as `printf "%T"` shows it, e.g. `*semver.Version` or `time.Time`.
    fn type_name(&self) -> &str;

    /// An exported field, or `None` when the type has no such field.
    fn field(&self, name: &str) -> Option<Value>;

    /// The value `encoding/json` would marshal this object as (maps for structs, a string for
    /// `time.Time`), used by toYaml/toJson.
    fn to_plain(&self) -> Value;

    /// A struct's fields as `encoding/json` writes them: JSON names in declaration order
    /// (`toJson` keeps that order; YAML sorts keys). `None` encodes [`Object::to_plain`].
    fn json_fields(&self) -> Option<Vec<(&'static str, Value)>> {
        None
    }

    /// Go's `fmt.Stringer`/`error`: what `%v` and template output print, when the type has one.
    fn string(&self) -> Option<String> {
        None
    }

    /// Appends [`Object::string`] to `out`; false when the type has no string form. Types whose
    /// string is large override it to write in place instead of building a second copy.
    fn write_string(&self, out: &mut String) -> bool {
        match self.string() {
            Some(s) => {
                out.push_str(&s);
                true
            }
            None => false,
        }
    }

    /// What an action prints for the object when it is addressable and only its pointer type
    /// is a `fmt.Stringer` (Go's `printableValue` takes the address); `None` when printing does
    /// not depend on that. A copy, such as a function argument, prints [`Object::string`].
    fn addressable_string(&self) -> Option<String> {
        None
    }

    /// Whether the type has a method `name` (methods win over fields in templates).
    fn has_method(&self, _name: &str) -> bool {
        false
    }

    /// The Go types of method `name`'s parameters (`string`, `*semver.Version`, `io.Writer`),
    /// so the executor checks the count and converts the arguments as Go does; `None` leaves
    /// that to [`Object::call_method`].
    fn method_params(&self, _name: &str) -> Option<&'static [&'static str]> {
        None
    }

    /// Calls method `name` with already evaluated arguments; the error is Go's error text.
    fn call_method(&self, name: &str, _args: &[Value]) -> Result<Value, String> {
        Err(format!("can't call method {name}"))
    }

    /// Go's `reflect.Kind` name as Sprig's `kindOf` prints it (`struct`, `ptr`).
    fn kind(&self) -> &str {
        "struct"
    }

    /// For a struct: whether `name` is one of its unexported fields (templates refuse them
    /// with their own error).
    fn unexported_field(&self, _name: &str) -> bool {
        false
    }

    /// For a map-kinded object: the zero value of its element type, which a template reads
    /// for a missing key ([`Object::field`] gives the present ones).
    fn missing_key(&self) -> Value {
        Value::Nil
    }

    /// Downcasting for functions that need the concrete type (dates, semver).
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        None
    }
}

impl Value {
    pub fn string(s: impl Into<Arc<str>>) -> Value {
        Value::String(s.into())
    }

    /// A Go `int64`, as `--set` and Sprig's integer math produce.
    pub fn int64(i: i64) -> Value {
        Value::Int(i, IntType::Int64)
    }

    /// A `[]interface {}`.
    pub fn list(items: Vec<Value>) -> Value {
        Value::List(Arc::new(items), ListType::Interface)
    }

    /// A fresh `map[string]interface {}`.
    pub fn map(map: Map) -> Value {
        Value::Map(MapRef::new(map), MapType::Interface)
    }

    /// A nil `map[string]interface {}` ([`MapRef::nil`]).
    pub fn nil_map() -> Value {
        Value::Map(MapRef::nil(), MapType::Interface)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&MapRef> {
        match self {
            Value::Map(m, _) => Some(m),
            _ => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(l, _) => Some(l),
            _ => None,
        }
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// A copy that shares nothing mutable with `self` (Sprig's `deepCopy`, Helm's value isolation).
    pub fn deep_copy(&self) -> Value {
        match self {
            // copystructure keeps a nil map nil.
            Value::Map(m, _) if m.is_nil() => self.clone(),
            Value::Map(m, t) => {
                let copied = m.read().iter().map(|(k, v)| (k.clone(), v.deep_copy())).collect();
                Value::Map(MapRef::new(copied), *t)
            }
            Value::List(l, t) => Value::List(Arc::new(l.iter().map(Value::deep_copy).collect()), *t),
            other => other.clone(),
        }
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Value {
        Value::String(s.into())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Value {
        Value::String(s.into())
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::Bool(b)
    }
}

impl From<f64> for Value {
    fn from(f: f64) -> Value {
        Value::Float(f)
    }
}
