//! helmfile's environment (`pkg/environment`): its name, kube context, values and the state's
//! default values, and the one map merge every helmfile value goes through (mergo
//! `WithOverride` on `map[string]interface{}`).

use helmfire_value::{Map, MapRef, MapType, Value};

/// `environment.Environment`. Cloning copies the maps deeply, as helmfile's `DeepCopy` does, so
/// merging into one never changes another.
#[derive(Debug, Default)]
pub(super) struct Env {
    pub name: String,
    pub kube_context: String,
    /// Environment values (and overrides).
    pub values: Map,
    /// The state's own `values:`, below the environment values.
    pub defaults: Map,
}

impl Clone for Env {
    fn clone(&self) -> Env {
        Env {
            name: self.name.clone(),
            kube_context: self.kube_context.clone(),
            values: deep_copy(&self.values),
            defaults: deep_copy(&self.defaults),
        }
    }
}

impl Env {
    pub fn new(name: &str) -> Env {
        Env {
            name: name.to_string(),
            ..Env::default()
        }
    }

    /// `Environment.Merge`: a copy with `other` merged over it (mergo `WithOverride` on the
    /// struct: non-empty strings replace, maps merge).
    pub fn merged(&self, other: Option<&Env>) -> Env {
        let mut copy = self.clone();
        if let Some(other) = other {
            copy.merge_from(other);
        }
        copy
    }

    /// mergo `WithOverride` of `other` into `self`.
    pub fn merge_from(&mut self, other: &Env) {
        if !other.name.is_empty() {
            self.name = other.name.clone();
        }
        if !other.kube_context.is_empty() {
            self.kube_context = other.kube_context.clone();
        }
        merge_values(&mut self.values, &other.values);
        merge_values(&mut self.defaults, &other.defaults);
    }

    /// `GetMergedValues`: the defaults with the environment values over them (`.Values`).
    pub fn merged_values(&self) -> Map {
        let mut values = Map::new();
        merge_values(&mut values, &self.defaults);
        merge_values(&mut values, &self.values);
        values
    }

    /// `.Environment` in templates.
    pub fn template_value(&self) -> Value {
        let mut map = Map::new();
        map.insert("Name".into(), Value::from(self.name.as_str()));
        map.insert("KubeContext".into(), Value::from(self.kube_context.as_str()));
        map.insert("Values".into(), map_value(deep_copy(&self.values)));
        map.insert("Defaults".into(), map_value(deep_copy(&self.defaults)));
        map_value(map)
    }
}

/// `Option<Env>::Merge` as helmfile calls it on possibly nil environments.
pub(super) fn merge_optional(base: Option<&Env>, other: Option<&Env>) -> Option<Env> {
    match (base, other) {
        (Some(base), other) => Some(base.merged(other)),
        (None, Some(other)) => Some(other.clone()),
        (None, None) => None,
    }
}

pub(super) fn map_value(map: Map) -> Value {
    Value::Map(MapRef::new(map), MapType::Interface)
}

pub(super) fn deep_copy(map: &Map) -> Map {
    map.iter().map(|(k, v)| (k.clone(), v.deep_copy())).collect()
}

/// mergo `WithOverride` of `src` into `dst` (`map[string]interface{}`): nested maps merge, every
/// other source value replaces the destination's (lists, `false`, `0`, `""` and `null` too),
/// except that a map never replaces a non-empty scalar (a mergo quirk helmfile inherits).
pub(super) fn merge_values(dst: &mut Map, src: &Map) {
    for (key, value) in src {
        match (dst.get_mut(key), value) {
            (Some(Value::Map(existing, _)), Value::Map(incoming, _)) => {
                let incoming = incoming.read().clone();
                merge_values(&mut existing.write(), &incoming);
            }
            (Some(existing), Value::Map(..)) if !is_empty(existing) => {}
            _ => {
                dst.insert(key.clone(), value.deep_copy());
            }
        }
    }
}

/// Go's `isEmptyValue` on an `interface{}` holding `value`.
fn is_empty(value: &Value) -> bool {
    match value {
        Value::Nil => true,
        Value::Bool(b) => !b,
        Value::Int(i, _) => *i == 0,
        Value::Float(f) => *f == 0.0,
        Value::String(s) => s.is_empty(),
        Value::List(l, _) => l.is_empty(),
        Value::Map(m, _) => m.read().is_empty(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use helmfire_value::yaml::decode_go_map;

    fn map(text: &str) -> Map {
        decode_go_map(text).unwrap()
    }

    #[test]
    fn maps_merge_and_everything_else_replaces() {
        let mut dst = map("a: {b: 1, c: [1, 2]}\nd: true\ne: x\n");
        merge_values(&mut dst, &map("a: {c: [3], f: 2}\nd: false\ne: null\n"));
        let json = helmfire_value::interop::to_json(&map_value(dst)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"a": {"b": 1, "c": [3], "f": 2}, "d": false, "e": null})
        );
    }

    #[test]
    fn merged_values_put_environment_values_over_defaults_without_aliasing() {
        let mut env = Env::new("prod");
        env.defaults = map("a: {b: 1}\n");
        env.values = map("a: {c: 2}\n");
        let copy = env.clone();
        let values = env.merged_values();
        let json = helmfire_value::interop::to_json(&map_value(values)).unwrap();
        assert_eq!(json, serde_json::json!({"a": {"b": 1, "c": 2}}));
        assert_eq!(copy.defaults.len(), 1);
        let Value::Map(a, _) = &env.defaults["a"] else { panic!() };
        assert_eq!(a.read().len(), 1, "merging never writes into the defaults");
    }
}
