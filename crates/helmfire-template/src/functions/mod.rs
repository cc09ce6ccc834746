//! The function library: Go's builtins, Sprig v3.3.0 (minus `env`/`expandenv`, as in Helm)
//! and Helm's additions, each with its Go signature so argument errors match Go's.
//!
//! Functions see evaluated [`Value`]s and may reach the executor (`include`, `tpl`) and the
//! per-render [`Context`] (clock, seeded randomness, `lookup`) through [`State`].

mod builtins;
mod certs;
mod compare;
mod crypto;
mod dates;
mod defaults;
mod dicts;
mod encoding;
mod helm;
mod lists;
mod math;
pub mod paths;
mod reflect;
mod regex;
mod semver;
mod strings;
mod url;

use std::collections::HashMap;
use std::sync::Arc;

use super::error::FuncError;
pub use super::exec::State;
use helmfire_value::{IntType, ListType, MapType, Value};

pub use dates::{FixedClock, SystemClock, Time};
pub use semver::{VERSION_POINTER_TYPE, VersionObject};

/// A Go parameter type, as far as argument checking can tell them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Param {
    /// `interface{}`.
    Any,
    /// `reflect.Value` (Go builtins): anything, including an invalid value.
    Reflect,
    Str,
    /// Go `int`.
    Int,
    Int64,
    Uint32,
    Float,
    Bool,
    /// `[]interface{}`.
    List,
    /// `map[string]interface{}`.
    Map,
    /// `[]string`.
    StrList,
    /// `time.Time`.
    Time,
    /// Sprig's `certificate` struct (genSignedCert's CA).
    Certificate,
    /// Any other Go type, by the name `%T` prints (`*semver.Version`, `io.Writer`): only an
    /// object of that type is assignable.
    Named(&'static str),
}

impl Param {
    pub fn go_name(self) -> &'static str {
        match self {
            Param::Any => "interface {}",
            Param::Reflect => "reflect.Value",
            Param::Str => "string",
            Param::Int => "int",
            Param::Int64 => "int64",
            Param::Uint32 => "uint32",
            Param::Float => "float64",
            Param::Bool => "bool",
            Param::List => "[]interface {}",
            Param::Map => "map[string]interface {}",
            Param::StrList => "[]string",
            Param::Time => "time.Time",
            Param::Certificate => certs::CERTIFICATE_TYPE,
            Param::Named(name) => name,
        }
    }

    /// The parameter of a method whose Go type is `name` (see `Object::method_params`).
    pub fn from_go_name(name: &'static str) -> Param {
        match name {
            "string" => Param::Str,
            "int" => Param::Int,
            "bool" => Param::Bool,
            "interface {}" => Param::Any,
            other => Param::Named(other),
        }
    }

    pub fn accepts(self, v: &Value) -> bool {
        match self {
            Param::Any | Param::Reflect => true,
            Param::Str => matches!(v, Value::String(_)),
            Param::Int => matches!(v, Value::Int(_, IntType::Int)),
            Param::Int64 => matches!(v, Value::Int(_, IntType::Int64)),
            Param::Uint32 => matches!(v, Value::Int(_, IntType::Uint32)),
            Param::Float => matches!(v, Value::Float(_)),
            Param::Bool => matches!(v, Value::Bool(_)),
            Param::List => matches!(v, Value::List(_, ListType::Interface)),
            // A named type is assignable to its unnamed underlying type.
            Param::Map => matches!(v, Value::Map(_, MapType::Interface | MapType::Values)),
            Param::StrList => matches!(v, Value::List(_, ListType::String | ListType::VersionSet)),
            Param::Time => matches!(v, Value::Object(o) if o.type_name() == "time.Time"),
            Param::Certificate => matches!(v, Value::Object(o) if o.type_name() == certs::CERTIFICATE_TYPE),
            Param::Named(name) => matches!(v, Value::Object(o) if o.type_name() == name),
        }
    }
}

/// The implementation of a template function.
pub type FuncImpl = Arc<dyn Fn(&mut State<'_, '_>, Vec<Value>) -> Result<Value, FuncError> + Send + Sync>;

/// A template function with its Go signature.
#[derive(Clone)]
pub struct Func {
    pub params: Vec<Param>,
    /// The element type of a trailing `...` parameter.
    pub variadic: Option<Param>,
    /// Go builtins (`and`, `or`, `call`) get special evaluation.
    pub builtin: bool,
    pub call: FuncImpl,
}

/// FNV-1a: function names are short and trusted, and lookups happen on every call.
#[derive(Default, Clone, Copy)]
pub struct NameHasher(u64);

impl std::hash::Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

pub(crate) type NameMap<V> = HashMap<String, V, std::hash::BuildHasherDefault<NameHasher>>;

/// A function library: name → function.
#[derive(Clone, Default)]
pub struct Functions {
    map: NameMap<Func>,
}

impl Functions {
    pub fn get(&self, name: &str) -> Option<&Func> {
        self.map.get(name)
    }

    /// Adds or replaces a function (Helm's `CustomTemplateFuncs` win over everything).
    pub fn insert(&mut self, name: &str, func: Func) {
        self.map.insert(name.to_string(), func);
    }

    pub fn remove(&mut self, name: &str) {
        self.map.remove(name);
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }

    pub(crate) fn add(
        &mut self,
        name: &str,
        params: &[Param],
        variadic: Option<Param>,
        f: impl Fn(&mut State<'_, '_>, Vec<Value>) -> Result<Value, FuncError> + Send + Sync + 'static,
    ) {
        self.map.insert(
            name.to_string(),
            Func {
                params: params.to_vec(),
                variadic,
                builtin: false,
                call: Arc::new(f),
            },
        );
    }

    /// A function that needs no executor access.
    pub(crate) fn pure(
        &mut self,
        name: &str,
        params: &[Param],
        variadic: Option<Param>,
        f: impl Fn(Vec<Value>) -> Result<Value, FuncError> + Send + Sync + 'static,
    ) {
        self.add(name, params, variadic, move |_, a| f(a));
    }

    /// Go's builtins only.
    pub fn go_builtins() -> Functions {
        Functions::default().with_go_builtins()
    }

    fn with_go_builtins(mut self) -> Functions {
        builtins::register(&mut self);
        compare::register(&mut self);
        self
    }

    /// Everything a Helm v4.1.4 template can call (offline: `lookup` returns an empty map
    /// unless a [`Lookup`] is set on the context; `getHostByName` returns "").
    pub fn helm() -> Functions {
        // Sized for all of helm's functions up front: growing the table rehashed it at every
        // doubling, a visible share of a small chart's start-up.
        let mut f = Functions {
            map: NameMap::with_capacity_and_hasher(384, Default::default()),
        }
        .with_go_builtins();
        strings::register(&mut f);
        defaults::register(&mut f);
        url::register(&mut f);
        lists::register(&mut f);
        dicts::register(&mut f);
        math::register(&mut f);
        encoding::register(&mut f);
        reflect::register(&mut f);
        regex::register(&mut f);
        paths::register(&mut f);
        semver::register(&mut f);
        dates::register(&mut f);
        crypto::register(&mut f);
        crypto::register_ciphers(&mut f);
        certs::register(&mut f);
        helm::register(&mut f);
        helm::register_codecs(&mut f);
        debug_assert!(f.map.len() <= 384, "{} functions outgrew the table", f.map.len());
        f
    }
}

/// The cluster seam for Helm's `lookup`.
pub trait Lookup: Send + Sync {
    /// `lookup apiVersion kind namespace name`: the object (or list) as a map; an empty map
    /// when not found. The error text is what Helm would report.
    fn lookup(&self, api_version: &str, kind: &str, namespace: &str, name: &str) -> Result<Value, String>;
}

/// The clock seam for `now`, `ago`, `date`….
pub trait Clock: Send + Sync {
    /// Nanoseconds since the Unix epoch, and the local zone offset in seconds with its name.
    fn now(&self) -> Time;
}

/// Per-render mutable state shared by the template and everything it includes.
pub struct Context {
    pub(crate) included: NameMap<usize>,
    pub(crate) output_base: usize,
    pub clock: Arc<dyn Clock>,
    pub lookup: Option<Arc<dyn Lookup>>,
    /// Whether `getHostByName` may resolve (Helm's `--enable-dns`).
    pub enable_dns: bool,
    /// Helm's lint mode: `required`/`fail` return "" instead of failing.
    pub lint_mode: bool,
    rng: Rng,
}

pub(crate) type TplParse = Result<Arc<Vec<Arc<super::ast::Tree>>>, super::error::ParseError>;

impl Default for Context {
    fn default() -> Self {
        Context {
            included: NameMap::default(),
            output_base: 0,
            clock: Arc::new(SystemClock),
            lookup: None,
            enable_dns: false,
            lint_mode: false,
            rng: Rng::from_entropy(),
        }
    }
}

impl Context {
    /// A context whose randomness is reproducible (tests, golden files).
    pub fn with_seed(seed: u64) -> Context {
        Context {
            rng: Rng::new(seed),
            ..Context::default()
        }
    }

    pub(crate) fn rng(&mut self) -> &mut Rng {
        &mut self.rng
    }
}

/// xoshiro256** seeded from the OS or a fixed seed. Used for `rand*`, `shuffle`, `uuidv4`
/// and key generation salts.
pub(crate) struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        let mut z = seed;
        let mut s = [0u64; 4];
        for slot in &mut s {
            z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut x = z;
            x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            *slot = x ^ (x >> 31);
        }
        Rng { s }
    }

    fn from_entropy() -> Rng {
        let mut seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
            use std::io::Read;
            let mut b = [0u8; 8];
            if f.read_exact(&mut b).is_ok() {
                seed ^= u64::from_le_bytes(b);
            }
        }
        seed ^= std::process::id() as u64;
        Rng::new(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let v = self.next_u64();
            if v < zone {
                return v % n;
            }
        }
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let v = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&v[..chunk.len()]);
        }
    }
}

// ---- Conversions shared by the families (Go's reflect/Sprig/spf13 cast semantics) ----

/// Sprig's `strval`: strings as is, `[]byte` as text, Stringers via `String()`, else `%v`.
pub fn strval(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        other => super::fmt::sprint_value(other),
    }
}

/// Sprig's `empty`.
pub fn empty(v: &Value) -> bool {
    !super::exec::truth(v)
}

/// spf13/cast `ToInt64`: numbers converted (floats truncated), strings parsed (base prefixes,
/// `"1.0"` trimmed), bools 1/0, everything else 0.
pub fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(i, _) => *i,
        Value::Float(f) => {
            if f.is_nan() {
                i64::MIN
            } else {
                *f as i64
            }
        }
        Value::Bool(b) => i64::from(*b),
        Value::String(s) => parse_cast_int(s).unwrap_or(0),
        _ => 0,
    }
}

fn trim_zero_decimal(s: &str) -> &str {
    // cast's trimZeroDecimal: "1.000" → "1"; anything else unchanged.
    if let Some(dot) = s.find('.') {
        let frac = &s[dot + 1..];
        if !frac.is_empty() && frac.bytes().all(|b| b == b'0') {
            return &s[..dot];
        }
    }
    s
}

fn parse_cast_int(s: &str) -> Option<i64> {
    let s = trim_zero_decimal(s);
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if body.is_empty() {
        return None;
    }
    let (digits, radix) = if let Some(r) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        (r, 16)
    } else if let Some(r) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
        (r, 2)
    } else if let Some(r) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
        (r, 8)
    } else if body.len() > 1 && body.starts_with('0') {
        (&body[1..], 8)
    } else {
        (body, 10)
    };
    let clean: String = if radix != 10 || body.starts_with('0') {
        digits.chars().filter(|&c| c != '_').collect()
    } else {
        digits.to_string()
    };
    if clean.is_empty() || clean.starts_with(['+', '-']) {
        return None;
    }
    let mag = u64::from_str_radix(&clean, radix).ok()?;
    if neg {
        if mag <= i64::MAX as u64 + 1 {
            Some((mag as i128).wrapping_neg() as i64)
        } else {
            None
        }
    } else {
        i64::try_from(mag).ok()
    }
}

/// spf13/cast `ToFloat64`.
pub fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(i, t) => {
            if matches!(t, IntType::Uint | IntType::Uint64) {
                (*i as u64) as f64
            } else {
                *i as f64
            }
        }
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::String(s) => parse_go_float(s).unwrap_or(0.0),
        _ => 0.0,
    }
}

/// Go's `strconv.ParseFloat(s, 64)` for the forms charts use (decimal, exponent, inf/nan).
pub fn parse_go_float(s: &str) -> Option<f64> {
    let lower = s.to_ascii_lowercase();
    let body = lower.trim_start_matches(['+', '-']);
    match body {
        "inf" | "infinity" => {
            return Some(if lower.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            });
        }
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    if body.is_empty()
        || !body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | '+' | '-' | '_'))
    {
        return None;
    }
    if s.contains('_') {
        return None;
    }
    s.parse::<f64>().ok()
}

/// The elements of any Go slice or array value, or `None` for non-lists.
pub fn list_items(v: &Value) -> Option<Vec<Value>> {
    match v {
        Value::List(l, _) => Some(l.as_ref().clone()),
        Value::Bytes(b) => Some(b.iter().map(|&x| Value::Int(x as i64, IntType::Uint8)).collect()),
        _ => None,
    }
}

pub fn go_int(i: i64) -> Value {
    Value::Int(i, IntType::Int)
}

pub fn str_list(items: Vec<String>) -> Value {
    Value::List(Arc::new(items.into_iter().map(Value::from).collect()), ListType::String)
}

pub fn arg_str(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

pub fn arg_int(v: &Value) -> i64 {
    match v {
        Value::Int(i, _) => *i,
        _ => 0,
    }
}

/// The message of a Go runtime panic, as `safeCall` turns it into an error.
pub fn runtime_error(msg: impl std::fmt::Display) -> FuncError {
    FuncError::Plain(format!("runtime error: {msg}"))
}
