//! Sprig's `semver` and `semverCompare` over [`crate::semver`], and the `*semver.Version` object
//! whose methods charts call (`(semver .Chart.Version).Major`, `.Compare`, `.IncMinor` …).

use std::any::Any;
use std::sync::Arc;

use super::{Functions, Param, arg_str};
use crate::error::FuncError;
use crate::semver::{Version, semver_compare};
use Param::*;
use helmfire_value::{IntType, Object, Value};

/// The Go type `semver` returns and the version methods take.
pub const VERSION_POINTER_TYPE: &str = "*semver.Version";

/// A Masterminds version as a template sees it: `*semver.Version` from `semver`, or the
/// `semver.Version` value that `IncMajor`/`SetPrerelease`/… return. A value is not addressable
/// in a template, so it lacks the pointer-receiver methods (`Original`, `Compare`, `Equal` …).
#[derive(Clone, Debug)]
pub struct VersionObject {
    pub version: Version,
    pointer: bool,
}

impl VersionObject {
    pub fn pointer(version: Version) -> Value {
        Value::Object(Arc::new(VersionObject { version, pointer: true }))
    }

    fn value(version: Version) -> Value {
        Value::Object(Arc::new(VersionObject {
            version,
            pointer: false,
        }))
    }
}

const VALUE_METHODS: &[&str] = &[
    "String",
    "Major",
    "Minor",
    "Patch",
    "Prerelease",
    "Metadata",
    "IncPatch",
    "IncMinor",
    "IncMajor",
    "SetPrerelease",
    "SetMetadata",
    "MarshalJSON",
    "MarshalText",
    "Value",
];

const POINTER_METHODS: &[&str] = &[
    "Original",
    "Compare",
    "LessThan",
    "LessThanEqual",
    "GreaterThan",
    "GreaterThanEqual",
    "Equal",
];

impl Object for VersionObject {
    fn type_name(&self) -> &str {
        if self.pointer {
            VERSION_POINTER_TYPE
        } else {
            "semver.Version"
        }
    }

    fn field(&self, _name: &str) -> Option<Value> {
        None
    }

    /// `MarshalJSON`: the version's string.
    fn to_plain(&self) -> Value {
        Value::from(self.version.to_string())
    }

    fn string(&self) -> Option<String> {
        Some(self.version.to_string())
    }

    fn has_method(&self, name: &str) -> bool {
        VALUE_METHODS.contains(&name) || (self.pointer && POINTER_METHODS.contains(&name))
    }

    fn method_params(&self, name: &str) -> Option<&'static [&'static str]> {
        Some(match name {
            "SetPrerelease" | "SetMetadata" => &["string"],
            n if POINTER_METHODS.contains(&n) && n != "Original" => &[VERSION_POINTER_TYPE],
            _ => &[],
        })
    }

    fn call_method(&self, name: &str, args: &[Value]) -> Result<Value, String> {
        let v = &self.version;
        let other = || {
            args.first()
                .and_then(|a| match a {
                    Value::Object(o) => o.as_any()?.downcast_ref::<VersionObject>(),
                    _ => None,
                })
                .map(|o| &o.version)
                .ok_or_else(|| "runtime error: invalid memory address or nil pointer dereference".to_string())
        };
        let text = || args.first().and_then(Value::as_str).unwrap_or("");
        let u = |x: u64| Value::Int(x as i64, IntType::Uint64);
        Ok(match name {
            "String" => Value::from(v.to_string()),
            "Major" => u(v.major()),
            "Minor" => u(v.minor()),
            "Patch" => u(v.patch()),
            "Prerelease" => Value::from(v.prerelease()),
            "Metadata" => Value::from(v.metadata()),
            "Original" => Value::from(v.original()),
            "IncPatch" => VersionObject::value(v.inc_patch()),
            "IncMinor" => VersionObject::value(v.inc_minor()),
            "IncMajor" => VersionObject::value(v.inc_major()),
            "SetPrerelease" => VersionObject::value(v.set_prerelease(text()).map_err(|e| e.to_string())?),
            "SetMetadata" => VersionObject::value(v.set_metadata(text()).map_err(|e| e.to_string())?),
            "MarshalJSON" => Value::Bytes(Arc::from(format!("\"{v}\"").into_bytes())),
            "MarshalText" => Value::Bytes(Arc::from(v.to_string().into_bytes())),
            "Value" => Value::from(v.to_string()),
            "Compare" => Value::Int(v.compare(other()?) as i64, IntType::Int),
            "LessThan" => Value::Bool(v.compare(other()?).is_lt()),
            "LessThanEqual" => Value::Bool(v.compare(other()?).is_le()),
            "GreaterThan" => Value::Bool(v.compare(other()?).is_gt()),
            "GreaterThanEqual" => Value::Bool(v.compare(other()?).is_ge()),
            // `Equal(nil)` is false; the other comparisons dereference their argument.
            "Equal" if args.first().is_none_or(Value::is_nil) => Value::Bool(false),
            "Equal" => Value::Bool(v.precedence_eq(other()?)),
            _ => return Err(format!("can't call method {name}")),
        })
    }

    fn kind(&self) -> &str {
        if self.pointer { "ptr" } else { "struct" }
    }

    fn as_any(&self) -> Option<&dyn Any> {
        Some(self)
    }
}

pub fn register(f: &mut Functions) {
    f.pure("semver", &[Str], None, |a| {
        Version::parse(arg_str(&a[0]))
            .map(VersionObject::pointer)
            .map_err(|e| FuncError::Plain(e.to_string()))
    });
    f.pure("semverCompare", &[Str, Str], None, |a| {
        semver_compare(arg_str(&a[0]), arg_str(&a[1]))
            .map(Value::Bool)
            .map_err(|e| FuncError::Plain(e.to_string()))
    });
}
