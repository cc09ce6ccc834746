//! values.schema.json validation with the error text of santhosh-tekuri/jsonschema v6 as Helm
//! prints it. A focused validator: the keywords charts use (type, enum, const, numeric and
//! string bounds, pattern, items/prefixItems/contains, required, properties,
//! patternProperties, additionalProperties, property counts, allOf/anyOf/oneOf/not,
//! if/then/else, local `$ref`, draft-04 boolean exclusive bounds; patterns keep Go's ASCII
//! `\d \w \s \b`). `format` is not asserted for 2019-09/2020-12 (as in v6); for drafts 4–7
//! only `email`'s missing `@` is. Remote `$ref`s are not fetched (permissive, like Helm's
//! unresolved URNs) and the schema itself is not checked against its metaschema. Go prints
//! errors in map order, which varies between runs; we print them in a fixed order.

use std::collections::BTreeSet;

use serde_json::Value as Json;

use crate::Chart;
use helmfire_value::{Map, MapType, Value};

/// One validation failure, with nested causes, as jsonschema v6 models it.
#[derive(Clone, Debug, PartialEq)]
pub struct SchemaError {
    pub location: String,
    pub message: String,
    pub causes: Vec<SchemaError>,
}

impl SchemaError {
    fn leaf(location: &str, message: String) -> SchemaError {
        SchemaError {
            location: location.to_string(),
            message,
            causes: Vec::new(),
        }
    }

    fn display(&self, out: &mut Vec<String>, indent: usize) {
        out.push(format!(
            "{}- at '{}': {}",
            "  ".repeat(indent),
            self.location,
            self.message
        ));
        for c in &self.causes {
            c.display(out, indent + 1);
        }
    }
}

/// Validates the coalesced values against the chart's schema and its subcharts' schemas,
/// returning Helm's report (empty when valid): `<chart>:\n<errors>\n` per failing chart.
pub fn validate_chart(chart: &Chart, values: &Map) -> String {
    let mut report = String::new();
    if let Some(schema) = &chart.schema {
        match validate_bytes(schema, values) {
            Ok(errors) if errors.is_empty() => {}
            Ok(errors) => {
                report.push_str(&format!("{}:\n", chart.name()));
                report.push_str(&format_errors(&errors));
                report.push('\n');
            }
            Err(message) => {
                report.push_str(&format!("{}:\n{message}", chart.name()));
            }
        }
    }
    for sub in &chart.dependencies {
        match values.get(sub.name()) {
            None | Some(Value::Nil) => {}
            Some(Value::Map(m, MapType::Interface)) => {
                let sub_values = m.read().clone();
                report.push_str(&validate_chart(sub, &sub_values));
            }
            Some(other) => {
                report.push_str(&format!(
                    "{}:\ninvalid type for values: expected object (map), got {}\n",
                    sub.name(),
                    go_type(other)
                ));
            }
        }
    }
    report
}

fn go_type(v: &Value) -> &'static str {
    match v {
        Value::Bool(_) => "bool",
        Value::Int(..) => "int64",
        Value::Float(_) => "float64",
        Value::String(_) => "string",
        Value::List(..) => "[]interface {}",
        Value::Map(..) => "map[string]interface {}",
        _ => "<nil>",
    }
}

/// The error lines (without Helm's chart header), joined by newlines.
pub fn format_errors(errors: &[SchemaError]) -> String {
    let mut lines = Vec::new();
    for e in errors {
        e.display(&mut lines, 0);
    }
    lines.join("\n")
}

/// Validates `values` against a raw schema document; `Err` when the schema itself is broken.
pub fn validate_bytes(schema: &[u8], values: &Map) -> Result<Vec<SchemaError>, String> {
    // Syntax errors with encoding/json's texts (jsonschema reads through a json.Decoder, which
    // reports truncation as `unexpected EOF`).
    let text = String::from_utf8_lossy(schema);
    if let Err(e) = helmfire_value::json::decode(&text) {
        return Err(match e.message.as_str() {
            "unexpected end of JSON input" => "unexpected EOF".to_string(),
            other => other.to_string(),
        });
    }
    let root: Json = serde_json::from_slice(schema).map_err(|e| e.to_string())?;
    check_refs(&root, &root)?;
    let draft = match root.get("$schema").and_then(Json::as_str) {
        Some(s) if s.contains("draft-04") => Draft::Old(4),
        Some(s) if s.contains("draft-06") => Draft::Old(6),
        Some(s) if s.contains("draft-07") => Draft::Old(7),
        _ => Draft::Modern,
    };
    let instance = Value::map(values.clone());
    let v = Validator { root: &root, draft };
    Ok(v.validate(&root, &instance, "", 0))
}

/// Local `$ref`s must resolve when the schema is compiled (v6's error text otherwise).
fn check_refs(node: &Json, root: &Json) -> Result<(), String> {
    match node {
        Json::Object(o) => {
            if let Some(Json::String(r)) = o.get("$ref")
                && let Some(pointer) = r.strip_prefix('#')
                && !pointer.is_empty()
                && root.pointer(pointer).is_none()
            {
                return Err(format!("json-pointer in \"file:///values.schema.json{r}\" not found"));
            }
            o.values().try_for_each(|v| check_refs(v, root))
        }
        Json::Array(a) => a.iter().try_for_each(|v| check_refs(v, root)),
        _ => Ok(()),
    }
}

/// Which JSON Schema draft the document declares. Drafts 4–7 assert `format`; draft-04 has
/// boolean `exclusiveMinimum`/`exclusiveMaximum`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Draft {
    Old(u8),
    Modern,
}

struct Validator<'a> {
    root: &'a Json,
    draft: Draft,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "null",
        Value::Bool(_) => "boolean",
        Value::Int(..) | Value::Float(_) => "number",
        Value::String(_) | Value::Bytes(_) => "string",
        Value::List(..) => "array",
        Value::Map(..) | Value::Object(_) => "object",
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i, _) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// Numbers in v6 messages go through golang.org/x/text's English printer, which groups
/// thousands: `got 70,000, want 65,535`.
fn fmt_num(f: f64) -> String {
    let plain = if f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{}", f as i128)
    } else {
        helmfire_value::number::format_float(f, 'f', -1)
    };
    let (sign, rest) = match plain.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", plain.as_str()),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, format!(".{f}")),
        None => (rest, String::new()),
    };
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}{frac}")
}

/// Compiles a `pattern` with Go's RE2 meaning: the Perl classes `\d \w \s \b` are ASCII-only
/// in Go but Unicode-aware in the regex crate, so they are spelled out before compiling.
fn go_regex(pattern: &str) -> Option<regex::Regex> {
    let mut out = String::with_capacity(pattern.len());
    let mut in_class = false;
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(next) = chars.next() else {
                    out.push('\\');
                    break;
                };
                let (inside, outside) = match next {
                    'd' => ("0-9", "[0-9]"),
                    'D' if !in_class => ("", "[^0-9]"),
                    'w' => ("0-9A-Za-z_", "[0-9A-Za-z_]"),
                    'W' if !in_class => ("", "[^0-9A-Za-z_]"),
                    's' => ("\\t\\n\\f\\r ", "[\\t\\n\\f\\r ]"),
                    'S' if !in_class => ("", "[^\\t\\n\\f\\r ]"),
                    'b' if !in_class => ("", "(?-u:\\b)"),
                    'B' if !in_class => ("", "(?-u:\\B)"),
                    other => {
                        out.push('\\');
                        out.push(other);
                        continue;
                    }
                };
                out.push_str(if in_class { inside } else { outside });
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                // A `]` or `^]` right after the opening bracket is literal.
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                if chars.peek() == Some(&']') {
                    out.push_str("\\]");
                    chars.next();
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            c => out.push(c),
        }
    }
    regex::Regex::new(&out).ok()
}

/// Enum and const values print without grouping.
fn fmt_plain_num(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e21 {
        format!("{}", f as i128)
    } else {
        helmfire_value::number::format_float(f, 'g', -1)
    }
}

fn fmt_json(j: &Json) -> String {
    match j {
        Json::String(s) => format!("'{s}'"),
        Json::Number(n) => n.as_f64().map(fmt_plain_num).unwrap_or_else(|| n.to_string()),
        other => other.to_string(),
    }
}

fn to_json(v: &Value) -> Json {
    match v {
        Value::Nil => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i, _) => Json::from(*i as f64),
        Value::Float(f) => serde_json::Number::from_f64(*f).map(Json::Number).unwrap_or(Json::Null),
        Value::String(s) => Json::String(s.to_string()),
        Value::Bytes(b) => Json::String(String::from_utf8_lossy(b).into_owned()),
        Value::List(l, _) => Json::Array(l.iter().map(to_json).collect()),
        Value::Map(m, _) => Json::Object(m.read().iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
        Value::Object(o) => to_json(&o.to_plain()),
    }
}

/// JSON equality with numbers compared by value (1 equals 1.0).
fn json_equal(a: &Json, b: &Json) -> bool {
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64() == y.as_f64(),
        (Json::Array(x), Json::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q)),
        (Json::Object(x), Json::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

fn child(location: &str, key: &str) -> String {
    let escaped = key.replace('~', "~0").replace('/', "~1");
    format!("{location}/{escaped}")
}

const MAX_DEPTH: usize = 200;

impl Validator<'_> {
    fn resolve(&self, reference: &str) -> Option<&Json> {
        let pointer = reference.strip_prefix('#')?;
        if pointer.is_empty() {
            return Some(self.root);
        }
        self.root.pointer(pointer)
    }

    /// One subschema applied to one instance, grouped the way v6 reports it.
    fn sub(&self, schema: &Json, inst: &Value, loc: &str, depth: usize) -> Option<SchemaError> {
        let mut errors = self.validate(schema, inst, loc, depth);
        match errors.len() {
            0 => None,
            1 => errors.pop(),
            _ => Some(SchemaError {
                location: loc.to_string(),
                message: "validation failed".into(),
                causes: errors,
            }),
        }
    }

    fn validate(&self, schema: &Json, inst: &Value, loc: &str, depth: usize) -> Vec<SchemaError> {
        let mut errors = Vec::new();
        if depth > MAX_DEPTH {
            return errors;
        }
        let obj = match schema {
            Json::Bool(true) => return errors,
            Json::Bool(false) => {
                errors.push(SchemaError::leaf(loc, "false schema".into()));
                return errors;
            }
            Json::Object(o) => o,
            _ => return errors,
        };
        if let Some(Json::String(r)) = obj.get("$ref")
            && let Some(target) = self.resolve(r)
        {
            errors.extend(self.validate(target, inst, loc, depth + 1));
        }
        if let Some(t) = obj.get("type") {
            let wanted: Vec<&str> = match t {
                Json::String(s) => vec![s.as_str()],
                Json::Array(a) => a.iter().filter_map(Json::as_str).collect(),
                _ => Vec::new(),
            };
            let ok = wanted.iter().any(|w| match *w {
                "integer" => as_f64(inst).is_some_and(|f| f.fract() == 0.0),
                "number" => as_f64(inst).is_some(),
                other => type_name(inst) == other,
            });
            if !wanted.is_empty() && !ok {
                let mut sorted = wanted.clone();
                sorted.sort();
                errors.push(SchemaError::leaf(
                    loc,
                    format!("got {}, want {}", type_name(inst), sorted.join(" or ")),
                ));
                return errors;
            }
        }
        if let Some(c) = obj.get("const")
            && !json_equal(c, &to_json(inst))
        {
            errors.push(SchemaError::leaf(loc, format!("value must be {}", fmt_json(c))));
        }
        if let Some(Json::Array(items)) = obj.get("enum") {
            let j = to_json(inst);
            if !items.iter().any(|e| json_equal(e, &j)) {
                let list: Vec<String> = items.iter().map(fmt_json).collect();
                errors.push(SchemaError::leaf(
                    loc,
                    format!("value must be one of {}", list.join(", ")),
                ));
            }
        }
        if let Some(n) = as_f64(inst) {
            let bound = |k: &str| obj.get(k).and_then(Json::as_f64);
            if let Some(m) = bound("minimum")
                && n < m
            {
                errors.push(SchemaError::leaf(
                    loc,
                    format!("minimum: got {}, want {}", fmt_num(n), fmt_num(m)),
                ));
            }
            if let Some(m) = bound("maximum")
                && n > m
            {
                errors.push(SchemaError::leaf(
                    loc,
                    format!("maximum: got {}, want {}", fmt_num(n), fmt_num(m)),
                ));
            }
            if self.draft == Draft::Old(4) {
                if obj.get("exclusiveMinimum") == Some(&Json::Bool(true))
                    && let Some(m) = bound("minimum")
                    && n <= m
                {
                    errors.push(SchemaError::leaf(
                        loc,
                        format!("exclusiveMinimum: got {}, want {}", fmt_num(n), fmt_num(m)),
                    ));
                }
                if obj.get("exclusiveMaximum") == Some(&Json::Bool(true))
                    && let Some(m) = bound("maximum")
                    && n >= m
                {
                    errors.push(SchemaError::leaf(
                        loc,
                        format!("exclusiveMaximum: got {}, want {}", fmt_num(n), fmt_num(m)),
                    ));
                }
            }
            if let Some(m) = bound("exclusiveMinimum")
                && n <= m
            {
                errors.push(SchemaError::leaf(
                    loc,
                    format!("exclusiveMinimum: got {}, want {}", fmt_num(n), fmt_num(m)),
                ));
            }
            if let Some(m) = bound("exclusiveMaximum")
                && n >= m
            {
                errors.push(SchemaError::leaf(
                    loc,
                    format!("exclusiveMaximum: got {}, want {}", fmt_num(n), fmt_num(m)),
                ));
            }
            if let Some(m) = bound("multipleOf")
                && m > 0.0
                && ((n / m).fract() != 0.0)
            {
                errors.push(SchemaError::leaf(
                    loc,
                    format!("multipleOf: got {}, want {}", fmt_num(n), fmt_num(m)),
                ));
            }
        }
        if let Value::String(s) = inst {
            let len = s.chars().count() as f64;
            if let Some(m) = obj.get("minLength").and_then(Json::as_f64)
                && len < m
            {
                errors.push(SchemaError::leaf(
                    loc,
                    format!("minLength: got {}, want {}", fmt_num(len), fmt_num(m)),
                ));
            }
            if let Some(m) = obj.get("maxLength").and_then(Json::as_f64)
                && len > m
            {
                errors.push(SchemaError::leaf(
                    loc,
                    format!("maxLength: got {}, want {}", fmt_num(len), fmt_num(m)),
                ));
            }
            if matches!(self.draft, Draft::Old(_))
                && obj.get("format").and_then(Json::as_str) == Some("email")
                && !s.contains('@')
            {
                errors.push(SchemaError::leaf(loc, format!("'{s}' is not valid email: missing @")));
            }
            if let Some(Json::String(p)) = obj.get("pattern")
                && let Some(re) = go_regex(p)
                && !re.is_match(s)
            {
                errors.push(SchemaError::leaf(loc, format!("'{s}' does not match pattern '{p}'")));
            }
        }
        if let Value::List(items, _) = inst {
            self.validate_array(obj, items, loc, depth, &mut errors);
        }
        if let Value::Map(m, _) = inst {
            let map = m.read().clone();
            self.validate_object(obj, &map, loc, depth, &mut errors);
        }
        if let Some(Json::Array(subs)) = obj.get("allOf") {
            let causes: Vec<SchemaError> = subs.iter().filter_map(|s| self.sub(s, inst, loc, depth + 1)).collect();
            if !causes.is_empty() {
                errors.push(SchemaError {
                    location: loc.to_string(),
                    message: "'allOf' failed".into(),
                    causes,
                });
            }
        }
        if let Some(Json::Array(subs)) = obj.get("anyOf") {
            let results: Vec<Option<SchemaError>> = subs.iter().map(|s| self.sub(s, inst, loc, depth + 1)).collect();
            if results.iter().all(Option::is_some) && !results.is_empty() {
                errors.push(SchemaError {
                    location: loc.to_string(),
                    message: "'anyOf' failed".into(),
                    causes: results.into_iter().flatten().collect(),
                });
            }
        }
        if let Some(Json::Array(subs)) = obj.get("oneOf") {
            let results: Vec<Option<SchemaError>> = subs.iter().map(|s| self.sub(s, inst, loc, depth + 1)).collect();
            let matched: Vec<String> = results
                .iter()
                .enumerate()
                .filter(|(_, r)| r.is_none())
                .map(|(i, _)| i.to_string())
                .collect();
            if matched.is_empty() && !results.is_empty() {
                errors.push(SchemaError {
                    location: loc.to_string(),
                    message: "'oneOf' failed, none matched".into(),
                    causes: results.into_iter().flatten().collect(),
                });
            } else if matched.len() > 1 {
                errors.push(SchemaError::leaf(
                    loc,
                    format!("'oneOf' failed, subschemas {} matched", matched.join(", ")),
                ));
            }
        }
        if let Some(not) = obj.get("not")
            && self.sub(not, inst, loc, depth + 1).is_none()
        {
            errors.push(SchemaError::leaf(loc, "'not' failed".into()));
        }
        if let Some(cond) = obj.get("if") {
            let branch = if self.sub(cond, inst, loc, depth + 1).is_none() {
                obj.get("then")
            } else {
                obj.get("else")
            };
            if let Some(branch) = branch {
                errors.extend(self.validate(branch, inst, loc, depth + 1));
            }
        }
        errors
    }

    fn validate_array(
        &self,
        obj: &serde_json::Map<String, Json>,
        items: &[Value],
        loc: &str,
        depth: usize,
        errors: &mut Vec<SchemaError>,
    ) {
        let count = items.len() as f64;
        if let Some(m) = obj.get("minItems").and_then(Json::as_f64)
            && count < m
        {
            errors.push(SchemaError::leaf(
                loc,
                format!("minItems: got {}, want {}", fmt_num(count), fmt_num(m)),
            ));
        }
        if let Some(m) = obj.get("maxItems").and_then(Json::as_f64)
            && count > m
        {
            errors.push(SchemaError::leaf(
                loc,
                format!("maxItems: got {}, want {}", fmt_num(count), fmt_num(m)),
            ));
        }
        if obj.get("uniqueItems") == Some(&Json::Bool(true)) {
            let json: Vec<Json> = items.iter().map(to_json).collect();
            'outer: for i in 0..json.len() {
                for j in i + 1..json.len() {
                    if json_equal(&json[i], &json[j]) {
                        errors.push(SchemaError::leaf(loc, format!("items at {i} and {j} are equal")));
                        break 'outer;
                    }
                }
            }
        }
        let mut prefix = 0;
        if let Some(Json::Array(schemas)) = obj.get("prefixItems") {
            for (i, (s, item)) in schemas.iter().zip(items).enumerate() {
                if let Some(e) = self.sub(s, item, &child(loc, &i.to_string()), depth + 1) {
                    errors.push(e);
                }
            }
            prefix = schemas.len();
        }
        match obj.get("items") {
            Some(Json::Array(schemas)) => {
                // Draft-07 tuple form.
                for (i, (s, item)) in schemas.iter().zip(items).enumerate() {
                    if let Some(e) = self.sub(s, item, &child(loc, &i.to_string()), depth + 1) {
                        errors.push(e);
                    }
                }
                if let Some(extra) = obj.get("additionalItems") {
                    for (i, item) in items.iter().enumerate().skip(schemas.len()) {
                        if let Some(e) = self.sub(extra, item, &child(loc, &i.to_string()), depth + 1) {
                            errors.push(e);
                        }
                    }
                }
            }
            Some(s) => {
                for (i, item) in items.iter().enumerate().skip(prefix) {
                    // jsonschema v6 reports items after prefixItems at their offset from the
                    // end of the prefix, not at their index; we print what Helm prints.
                    if let Some(e) = self.sub(s, item, &child(loc, &(i - prefix).to_string()), depth + 1) {
                        errors.push(e);
                    }
                }
            }
            None => {}
        }
        if let Some(contains) = obj.get("contains") {
            let results: Vec<Option<SchemaError>> = items
                .iter()
                .enumerate()
                .map(|(i, item)| self.sub(contains, item, &child(loc, &i.to_string()), depth + 1))
                .collect();
            if results.iter().all(Option::is_some) {
                errors.push(SchemaError {
                    location: loc.to_string(),
                    message: "no items match contains schema".into(),
                    causes: results.into_iter().flatten().collect(),
                });
            }
        }
    }

    fn validate_object(
        &self,
        obj: &serde_json::Map<String, Json>,
        map: &Map,
        loc: &str,
        depth: usize,
        errors: &mut Vec<SchemaError>,
    ) {
        let count = map.len() as f64;
        if let Some(m) = obj.get("minProperties").and_then(Json::as_f64)
            && count < m
        {
            errors.push(SchemaError::leaf(
                loc,
                format!("minProperties: got {}, want {}", fmt_num(count), fmt_num(m)),
            ));
        }
        if let Some(m) = obj.get("maxProperties").and_then(Json::as_f64)
            && count > m
        {
            errors.push(SchemaError::leaf(
                loc,
                format!("maxProperties: got {}, want {}", fmt_num(count), fmt_num(m)),
            ));
        }
        if let Some(Json::Array(required)) = obj.get("required") {
            let missing: Vec<String> = required
                .iter()
                .filter_map(Json::as_str)
                .filter(|k| !map.contains_key(*k))
                .map(|k| format!("'{k}'"))
                .collect();
            match missing.len() {
                0 => {}
                1 => errors.push(SchemaError::leaf(loc, format!("missing property {}", missing[0]))),
                _ => errors.push(SchemaError::leaf(
                    loc,
                    format!("missing properties {}", missing.join(", ")),
                )),
            }
        }
        let mut evaluated: BTreeSet<&str> = BTreeSet::new();
        if let Some(Json::Object(props)) = obj.get("properties") {
            for (k, s) in props {
                if let Some(v) = map.get(k) {
                    evaluated.insert(k);
                    if let Some(e) = self.sub(s, v, &child(loc, k), depth + 1) {
                        errors.push(e);
                    }
                }
            }
        }
        if let Some(Json::Object(patterns)) = obj.get("patternProperties") {
            for (p, s) in patterns {
                let Some(re) = go_regex(p) else { continue };
                for (k, v) in map {
                    if re.is_match(k) {
                        evaluated.insert(k);
                        if let Some(e) = self.sub(s, v, &child(loc, k), depth + 1) {
                            errors.push(e);
                        }
                    }
                }
            }
        }
        match obj.get("additionalProperties") {
            Some(Json::Bool(false)) => {
                let extra: Vec<String> = map
                    .keys()
                    .filter(|k| !evaluated.contains(k.as_str()))
                    .map(|k| format!("'{k}'"))
                    .collect();
                if !extra.is_empty() {
                    errors.push(SchemaError::leaf(
                        loc,
                        format!("additional properties {} not allowed", extra.join(", ")),
                    ));
                }
            }
            Some(s) => {
                for (k, v) in map {
                    if !evaluated.contains(k.as_str())
                        && let Some(e) = self.sub(s, v, &child(loc, k), depth + 1)
                    {
                        errors.push(e);
                    }
                }
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(schema: &str, values: &str) -> String {
        let values = helmfire_value::yaml::decode_map(values).expect("yaml");
        format_errors(&validate_bytes(schema.as_bytes(), &values).expect("schema"))
    }

    #[test]
    fn patterns_have_go_meaning() {
        let re = go_regex(r"^\d+[\w.-]*\s?$").expect("compiles");
        assert!(re.is_match("12a_b.c "));
        assert!(!re.is_match("١٢"), "Arabic-Indic digits are not \\d in Go");
        assert!(go_regex(r"[^\d]").expect("class").is_match("x"));
        assert!(go_regex(r"[]a]").expect("literal bracket").is_match("]"));
        assert!(go_regex(r"\bword\b").expect("boundary").is_match("a word here"));
    }

    #[test]
    fn schema_documents() {
        let values = Map::new();
        assert_eq!(
            validate_bytes(b"{\"type\": \"object\",", &values).unwrap_err(),
            "unexpected EOF"
        );
        assert_eq!(
            validate_bytes(br##"{"properties":{"a":{"$ref":"#/$defs/missing"}}}"##, &values).unwrap_err(),
            "json-pointer in \"file:///values.schema.json#/$defs/missing\" not found"
        );
        let draft4 = r#"{"$schema":"http://json-schema.org/draft-04/schema#","properties":{"b":{"minimum":3,"exclusiveMinimum":true}}}"#;
        assert_eq!(check(draft4, "b: 3"), "- at '/b': exclusiveMinimum: got 3, want 3");
        let draft7 = r#"{"$schema":"http://json-schema.org/draft-07/schema#","properties":{"a":{"format":"email"}}}"#;
        assert_eq!(check(draft7, "a: x"), "- at '/a': 'x' is not valid email: missing @");
        assert_eq!(check(r#"{"properties":{"a":{"format":"email"}}}"#, "a: x"), "");
        assert_eq!(
            check(r#"{"properties":{"p":{"maximum":65535}}}"#, "p: 70000"),
            "- at '/p': maximum: got 70,000, want 65,535"
        );
    }

    #[test]
    fn messages_match_jsonschema_v6() {
        // Texts recorded from helm v4.1.4.
        assert_eq!(
            check(r#"{"required":["a","b"]}"#, "a: 1"),
            "- at '': missing property 'b'"
        );
        assert_eq!(
            check(r#"{"properties":{"num":{"type":"integer"}}}"#, "num: x"),
            "- at '/num': got string, want integer"
        );
        assert_eq!(
            check(r#"{"properties":{"t":{"type":["string","null"]}}}"#, "t: 1"),
            "- at '/t': got number, want null or string"
        );
        assert_eq!(
            check(r#"{"properties":{"name":{"minLength":3,"pattern":"^a"}}}"#, "name: b"),
            "- at '/name': validation failed\n  - at '/name': minLength: got 1, want 3\n  - at '/name': 'b' does not match pattern '^a'"
        );
        assert_eq!(
            check(r#"{"properties":{"e":{"enum":["a","b",1]}}}"#, "e: z"),
            "- at '/e': value must be one of 'a', 'b', 1"
        );
        assert_eq!(
            check(
                r#"{"properties":{"o":{"anyOf":[{"type":"string"},{"type":"integer"}]}}}"#,
                "o: true"
            ),
            "- at '/o': 'anyOf' failed\n  - at '/o': got boolean, want string\n  - at '/o': got boolean, want integer"
        );
        assert_eq!(
            check(r#"{"additionalProperties":false,"properties":{"a":{}}}"#, "a: 1\nb: 2"),
            "- at '': additional properties 'b' not allowed"
        );
        assert_eq!(
            check(
                r##"{"$defs":{"p":{"minimum":1}},"properties":{"r":{"$ref":"#/$defs/p"}}}"##,
                "r: 0"
            ),
            "- at '/r': minimum: got 0, want 1"
        );
    }
}
