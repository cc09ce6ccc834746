//! The codec corpus without helm: every input in testdata/codec/{yaml,json,toml} must give
//! exactly the outputs recorded from helm v4.1.4 in testdata/codec/expected (re-verified
//! against the real binary by tests/codec_helm.rs).

use crate::support::codec as codec_support;

use codec_support::*;

#[test]
fn corpus_matches_recorded_helm_outputs() {
    let cases = cases();
    assert!(cases.len() >= 300, "corpus too small: {}", cases.len());
    let known = known_differences();
    let mut failures = Vec::new();
    let mut compared = 0;
    for (name, text) in &cases {
        let Some(expected) = expected(name) else {
            failures.push(format!(
                "{name}: no recorded expectation (run HELMFIRE_RECORD=1 cargo test -p helmfire-cli --test differential codec_helm)"
            ));
            continue;
        };
        for section in sections(name) {
            if known.iter().any(|(c, s)| c == name && s == section) {
                continue;
            }
            let Some(want) = expected.get(*section) else {
                failures.push(format!("{name}: no recorded {section}"));
                continue;
            };
            compared += 1;
            let got = ours(section, text);
            if &got != want {
                failures.push(format!("{name} [{section}]\n  helm: {want:?}\n  ours: {got:?}"));
            }
        }
    }
    eprintln!("compared {compared} recorded outputs of {} cases", cases.len());
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.iter().take(40).cloned().collect::<Vec<_>>().join("\n")
    );
}
