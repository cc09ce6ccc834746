//! Any input must parse or fail cleanly, and any parsed template must execute or fail cleanly,
//! within the engine's output and recursion limits.

#![no_main]

use helmfire_template::{Context, TemplateSet};
use helmfire_value::{Map, Value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut set = TemplateSet::default();
    set.options.max_output = 1 << 20;
    set.options.max_template_depth = 200;
    set.options.max_include_depth = 50;
    if set.parse("fuzz", text).is_err() {
        return;
    }
    let mut values = Map::new();
    values.insert("a".into(), Value::list(vec![Value::Float(1.0), Value::from("x")]));
    values.insert("m".into(), Value::map(Map::new()));
    let mut top = Map::new();
    top.insert("Values".into(), Value::map(values));
    let mut ctx = Context::with_seed(7);
    let _ = set.execute("fuzz", &Value::map(top), &mut ctx);
});
