//! Times the codecs on a generated 1 MiB values file (decode, toYaml, toYamlPretty, toJson,
//! fromJson, and decoding toYaml's own output back to the same values). Results: BENCHMARKS.md.

use std::time::{Duration, Instant};

use helmfire_value::json::{self, JsonStyle};
use helmfire_value::yaml;

/// A values file shaped like real ones: many services with nested maps, lists, long and
/// multi-line strings, anchors and numbers.
fn values_file(target_bytes: usize) -> String {
    let mut text = String::from("defaults: &defaults\n  replicas: 2\n  pullPolicy: IfNotPresent\n");
    text.push_str("services:\n");
    let mut i = 0;
    while text.len() < target_bytes {
        text.push_str(&format!(
            "  service-{i}:\n    <<: *defaults\n    enabled: {}\n    image:\n      repository: registry.example.com/team/service-{i}\n      tag: \"1.{i}.0\"\n    port: {}\n    ratio: 0.{i}\n    env:\n      - name: MODE\n        value: \"production\"\n      - name: NOTE\n        value: This is a fairly long sentence about service {i} that goes past eighty columns easily.\n    script: |\n      #!/bin/sh\n      echo starting {i}\n      exec /app --port {}\n    labels: {{app: s{i}, tier: backend, \"yes\": \"on\"}}\n",
            i % 2 == 0,
            8000 + i,
            8000 + i
        ));
        i += 1;
    }
    text
}

fn time<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let result = f();
    (result, start.elapsed())
}

fn main() {
    let text = values_file(1 << 20);
    let (value, decode) = time(|| yaml::decode(&text).expect("decodes"));
    let (encoded, encode) = time(|| yaml::encode(&value).expect("encodes"));
    let (_, pretty) = time(|| yaml::encode_pretty(&value).expect("encodes"));
    let (json_text, to_json) = time(|| json::encode(&value, JsonStyle::Compact).expect("encodes"));
    let (_, from_json) = time(|| json::decode(&json_text).expect("decodes"));
    let (again, decode_again) = time(|| yaml::decode(&encoded).expect("decodes its own output"));
    assert_eq!(
        json::encode(&again, JsonStyle::Compact).unwrap(),
        json_text,
        "toYaml output reads back to the same values"
    );
    eprintln!(
        "1 MiB values ({} bytes): decode {decode:?}, toYaml {encode:?} ({} bytes), toYamlPretty {pretty:?}, toJson {to_json:?}, fromJson {from_json:?}, decode toYaml output {decode_again:?}",
        text.len(),
        encoded.len()
    );
}
