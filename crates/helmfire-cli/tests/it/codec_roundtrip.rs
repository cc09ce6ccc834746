//! Properties of the codecs on random values and random text: what one encoder writes, the
//! matching decoder reads back as Go would (numbers as float64 after YAML/JSON), and no input
//! makes a decoder panic. A fixed-seed xorshift generator keeps failures reproducible.

use std::sync::Arc;

use helmfire_value::json::{self, JsonStyle};
use helmfire_value::{IntType, Map, Value, toml, yaml};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Fragments that exercise quoting, block styles and folding.
const WORDS: &[&str] = &[
    "",
    " ",
    "yes",
    "no",
    "on",
    "null",
    "~",
    "true",
    "123",
    "1.5",
    "0x1F",
    "0777",
    "1e3",
    "2001-12-14",
    "<<",
    "- a",
    "a: b",
    "#x",
    "x #y",
    "1:20",
    "@",
    "`",
    "'",
    "\"",
    "\\",
    "---",
    "...",
    "é",
    "日本",
    "😀",
    "\u{a0}",
    "\t",
    "\n",
    "\n\n",
    " \n",
    "\n ",
    "lorem",
    "ipsum dolor",
    "sit amet,",
    "{a}",
    "[b]",
    "&a",
    "*a",
    "!t",
    "|",
    ">",
    "%",
    ",",
    "?",
    ":",
    "-",
];

fn random_string(rng: &mut Rng, allow_newlines: bool) -> String {
    let mut s = String::new();
    for _ in 0..rng.below(6) {
        let word = rng.pick(WORDS);
        if !allow_newlines && word.contains('\n') {
            continue;
        }
        s.push_str(word);
        if rng.below(3) == 0 {
            s.push(' ');
        }
    }
    if rng.below(8) == 0 {
        // Long lines to cross the 80-column fold.
        for _ in 0..rng.below(30) {
            const FILL: &[&str] = &["word ", "longer-word ", "x ", "  "];
            s.push_str(FILL[rng.below(FILL.len())]);
        }
    }
    s
}

/// A map key; never exactly `<<`, which go-yaml writes plain and then reads back as a merge
/// key (Go does not round-trip it either).
fn random_key(rng: &mut Rng) -> String {
    let key = random_string(rng, true);
    if key == "<<" { "<<x".to_string() } else { key }
}

fn random_float(rng: &mut Rng) -> f64 {
    *rng.pick(&[
        0.0,
        1.0,
        -1.0,
        1.5,
        1e6,
        1e21,
        1e20,
        1e-7,
        0.000001,
        123456789.0,
        3.25,
        -2.5e-300,
        9007199254740993.0,
        1.7976931348623157e308,
        5e-324,
    ])
}

fn random_value(rng: &mut Rng, depth: usize, with_nil: bool) -> Value {
    let kinds = if depth >= 4 { 5 } else { 7 };
    match rng.below(kinds) {
        0 if with_nil => Value::Nil,
        0 | 1 => Value::Bool(rng.below(2) == 0),
        2 => Value::Int(
            *rng.pick(&[0i64, 1, -1, 42, 1 << 53, i64::MAX, i64::MIN, 1_000_000]),
            IntType::Int64,
        ),
        3 => Value::Float(random_float(rng)),
        4 => Value::from(random_string(rng, true)),
        5 => Value::list(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth + 1, with_nil))
                .collect(),
        ),
        _ => Value::map(
            (0..rng.below(5))
                .map(|_| (random_key(rng), random_value(rng, depth + 1, with_nil)))
                .collect(),
        ),
    }
}

/// What a value looks like after Go's JSON round trip: numbers are float64, bytes base64.
fn as_json(value: &Value) -> Value {
    match value {
        Value::Int(i, _) => Value::Float(*i as f64),
        Value::List(items, _) => Value::list(items.iter().map(as_json).collect()),
        Value::Map(map, _) => Value::map(map.read().iter().map(|(k, v)| (k.clone(), as_json(v))).collect()),
        other => other.clone(),
    }
}

fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x, _), Value::Int(y, _)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::String(x), Value::String(y)) => x == y,
        (Value::List(x, _), Value::List(y, _)) => x.len() == y.len() && x.iter().zip(y.iter()).all(|(a, b)| same(a, b)),
        (Value::Map(x, _), Value::Map(y, _)) => {
            let (x, y) = (x.read(), y.read());
            x.len() == y.len()
                && x.iter()
                    .zip(y.iter())
                    .all(|((ka, va), (kb, vb))| ka == kb && same(va, vb))
        }
        _ => false,
    }
}

/// Rounds per property; `HELMFIRE_CODEC_ROUNDS` raises it for longer local runs.
fn rounds() -> usize {
    std::env::var("HELMFIRE_CODEC_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3000)
}

#[test]
fn yaml_encode_then_decode_is_the_json_view() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..rounds() {
        let value = random_value(&mut rng, 0, true);
        for (name, text) in [
            ("toYaml", yaml::encode(&value).expect("encodes")),
            ("toYamlPretty", yaml::encode_pretty(&value).expect("encodes")),
        ] {
            let back =
                yaml::decode(&text).unwrap_or_else(|e| panic!("round {round} {name}: {e}\n{text}\nfrom {value:?}"));
            assert!(
                same(&back, &as_json(&value)),
                "round {round} {name}:\n{text}\nfrom {value:?}\nback {back:?}"
            );
        }
    }
}

#[test]
fn json_encode_then_decode_is_the_json_view() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    for round in 0..rounds() {
        let value = random_value(&mut rng, 0, true);
        for style in [JsonStyle::Compact, JsonStyle::Raw, JsonStyle::Pretty] {
            let text = json::encode(&value, style).expect("encodes");
            let back = json::decode(&text).unwrap_or_else(|e| panic!("round {round}: {e}\n{text}"));
            assert!(same(&back, &as_json(&value)), "round {round} {style:?}:\n{text}");
        }
    }
}

#[test]
fn toml_encode_then_decode_keeps_tables() {
    let mut rng = Rng(0xA076_1D64_78BD_642F);
    for round in 0..rounds() {
        let entries: Map = (0..rng.below(6))
            .map(|_| (random_string(&mut rng, true), random_value(&mut rng, 1, false)))
            .collect();
        let value = Value::map(entries);
        let text = toml::encode(&value).expect("encodes");
        let back = toml::decode(&text).unwrap_or_else(|e| panic!("round {round}: {e}\n{text}"));
        assert!(
            same(&back, &value),
            "round {round}:\n{text}\nfrom {value:?}\nback {back:?}"
        );
    }
}

/// Random text built from syntax fragments: decoders return errors, never panic or hang.
#[test]
fn decoders_never_panic_on_random_text() {
    let yaml_bits: &[&str] = &[
        ":",
        ": ",
        "-",
        "- ",
        " ",
        "  ",
        "\n",
        "\t",
        "[",
        "]",
        "{",
        "}",
        ",",
        "&a ",
        "*a",
        "<<: ",
        "!!str ",
        "!!binary ",
        "!x ",
        "'",
        "\"",
        "#",
        "|",
        ">-",
        "?",
        "%YAML 1.1",
        "---",
        "...",
        "a",
        "1",
        "é",
        "\\",
        "\\u12",
        "~",
        "yes",
        "0x",
        "\r\n",
        "\u{85}",
        "\u{feff}",
    ];
    let json_bits: &[&str] = &[
        "{", "}", "[", "]", ",", ":", "\"", "\\", "\\u", "d83d", "1", "-", ".", "e", "+", "true", "nul", " ", "\n",
        "a", "é", "0",
    ];
    let toml_bits: &[&str] = &[
        "a",
        " = ",
        "=",
        "\n",
        "[",
        "]",
        "[[",
        "]]",
        "\"",
        "'",
        "\"\"\"",
        "1",
        "1.5",
        "true",
        "1979-05-27",
        "T07:32:00",
        "Z",
        "{",
        "}",
        ",",
        ".",
        "#",
        "é",
        " ",
    ];
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    for _ in 0..20_000 {
        for (bits, which) in [(yaml_bits, 0), (json_bits, 1), (toml_bits, 2)] {
            let text: String = (0..rng.below(24)).map(|_| *rng.pick(bits)).collect();
            match which {
                0 => {
                    let _ = yaml::decode(&text);
                    let _ = yaml::decode_documents(&text);
                }
                1 => {
                    let _ = json::decode(&text);
                }
                _ => {
                    let _ = toml::decode(&text);
                }
            }
        }
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    let deep = "[".repeat(20_000);
    let deep_block: String = (0..3000).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
    assert!(yaml::decode(&deep_block).is_err());
    let deep_json = format!("{}{}", "[".repeat(3000), "]".repeat(3000));
    assert!(json::decode(&deep_json).is_err());
    assert!(yaml::decode(&deep).is_err());
    assert!(json::decode(&deep).is_err());
    let mut value = Value::Nil;
    for _ in 0..20_000 {
        value = Value::List(Arc::new(vec![value]), helmfire_value::ListType::Interface);
    }
    assert!(json::encode(&value, JsonStyle::Compact).is_err());
    assert!(yaml::encode(&value).is_err());
    // Dropping a 20 000-deep value recurses in Drop; keep it off this test's stack budget.
    std::mem::forget(value);
}

/// A "billion laughs" document stops with go-yaml's error instead of expanding aliases.
#[test]
fn alias_bombs_are_rejected_quickly() {
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..10 {
        let p = i - 1;
        text.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let start = std::time::Instant::now();
    let error = yaml::decode(&text).expect_err("rejected");
    assert_eq!(
        error.message,
        "error converting YAML to JSON: yaml: document contains excessive aliasing"
    );
    assert!(start.elapsed() < std::time::Duration::from_secs(5));
}
