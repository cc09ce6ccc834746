//! Differential test against the real helm v4.1.4: every corpus input goes through helm's
//! fromYaml/toYaml/toYamlPretty/toJson/toRawJson/toPrettyJson/toToml/fromYamlArray and through
//! helmfire's codecs; both must agree, and the recorded expectations must still be helm's.
//! `HELMFIRE_RECORD=1` rewrites testdata/codec/expected from helm.

mod codec_support;

use codec_support::*;

#[test]
fn corpus_matches_real_helm() {
    let cases = cases();
    assert!(cases.len() >= 300, "corpus too small: {}", cases.len());
    let work = std::env::temp_dir().join(format!("helmfire-codec-{}", std::process::id()));
    let helm_outputs = run_helm(&cases, &work);
    let _ = std::fs::remove_dir_all(&work);
    let record = std::env::var_os("HELMFIRE_RECORD").is_some();
    let mut failures = Vec::new();
    let mut compared = 0;
    let known = known_differences();
    for (name, text) in &cases {
        let Some(theirs) = helm_outputs.get(name) else {
            failures.push(format!("{name}: helm printed nothing"));
            continue;
        };
        if record {
            write_expected(name, theirs);
        } else if expected(name).as_ref() != Some(theirs) {
            failures.push(format!(
                "{name}: recorded expectation is stale (run with HELMFIRE_RECORD=1)"
            ));
        }
        for section in sections(name) {
            let Some(want) = theirs.get(*section) else { continue };
            compared += 1;
            let got = ours(section, text);
            let is_known = known.iter().any(|(c, s)| c == name && s == section);
            if is_known {
                if &got == want {
                    failures.push(format!(
                        "{name} [{section}] now matches helm: remove it from known-differences.txt"
                    ));
                }
                continue;
            }
            if &got != want {
                failures.push(format!(
                    "{name} [{section}]\n  input: {text:?}\n  helm:  {want:?}\n  ours:  {got:?}"
                ));
            }
        }
    }
    eprintln!("compared {compared} outputs of {} cases with helm", cases.len());
    // The full list, for when the assertion message below is truncated.
    let report = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("codec-helm-failures.txt");
    let _ = std::fs::write(&report, failures.join("\n"));
    assert!(
        failures.is_empty(),
        "{} mismatches with helm:\n{}",
        failures.len(),
        failures.iter().take(60).cloned().collect::<Vec<_>>().join("\n")
    );
}
