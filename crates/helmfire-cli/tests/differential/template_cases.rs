//! Every `testdata/template/<behaviour>/` case: helmfire must reproduce the output (or error)
//! recorded from helm v4.1.4, and — in the second test — the live helm binary.
//!
//! Record or refresh expectations with `scripts/record-template-cases.sh`.

use crate::support::template as template_support;

use template_support::*;

#[test]
fn cases_match_recorded_helm_output() {
    let cases = cases();
    assert!(
        cases.len() >= 100,
        "expected the template case corpus, found {}",
        cases.len()
    );
    let mut failures = Vec::new();
    for case in &cases {
        let Some(expected) = case.expected() else {
            failures.push(format!(
                "{}: no expected.txt or error.txt (run scripts/record-template-cases.sh)",
                case.name
            ));
            continue;
        };
        let got = case.render_helmfire();
        if got != expected {
            failures.push(format!("{}:\n  expected {expected:?}\n       got {got:?}", case.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Re-renders every case with the real helm binary (fails loudly when helm is missing).
/// With `HELMFIRE_RECORD=1` it rewrites the expectations instead of comparing.
#[test]
fn cases_match_live_helm() {
    let record = std::env::var("HELMFIRE_RECORD").is_ok_and(|v| v == "1");
    let cases = cases();
    let mut failures = Vec::new();
    let chunks: Vec<&[Case]> = cases.chunks(cases.len().div_ceil(4).max(1)).collect();
    let results: Vec<(String, Outcome, Outcome)> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|c| {
                            let helm = c.render_helm();
                            if record {
                                c.record(&helm);
                            }
                            (c.name.clone(), helm, c.render_helmfire())
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("case thread"))
            .collect()
    });
    for (name, helm, ours) in results {
        if helm != ours {
            failures.push(format!("{name}:\n  helm      {helm:?}\n  helmfire  {ours:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} cases differ from live helm:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
