//! Safety properties of the engine: no input panics or hangs, recursion and output are bounded,
//! `tpl` stays linear (helm issue 7656), and parsed sets are shared across threads.

use crate::support::template as template_support;

use std::time::{Duration, Instant};

use helmfire_template::{Context, TemplateError, TemplateSet};
use helmfire_value::{Map, Value};
use template_support::*;

fn run(src: &str, configure: impl FnOnce(&mut TemplateSet)) -> Result<String, TemplateError> {
    let mut set = TemplateSet::default();
    configure(&mut set);
    set.parse("t", src)?;
    set.execute(
        "t",
        &render_data("{\"a\":[1,2],\"s\":\"x\"}"),
        &mut Context::with_seed(3),
    )
}

#[test]
fn mutated_templates_never_panic() {
    let corpus: Vec<String> = cases().into_iter().map(|c| c.template).collect();
    assert!(!corpus.is_empty());
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet: &[u8] = b"{}()|$.-\" `'\n 0123abc:=,/*%";
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut runs = 0;
    while runs < 4000 && Instant::now() < deadline {
        let base = &corpus[(next() % corpus.len() as u64) as usize];
        let mut bytes = base.as_bytes().to_vec();
        for _ in 0..1 + next() % 4 {
            let pos = (next() % (bytes.len() as u64 + 1)) as usize;
            match next() % 3 {
                0 if pos < bytes.len() => {
                    bytes.remove(pos);
                }
                1 => bytes.insert(pos, alphabet[(next() % alphabet.len() as u64) as usize]),
                _ if pos < bytes.len() => bytes[pos] = alphabet[(next() % alphabet.len() as u64) as usize],
                _ => {}
            }
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let result = std::panic::catch_unwind(|| {
            run(&text, |s| {
                s.options.max_output = 1 << 20;
                s.options.max_template_depth = 300;
            })
        });
        assert!(result.is_ok(), "panic on template {text:?}");
        runs += 1;
    }
    assert!(runs > 100, "only {runs} mutations ran");
}

#[test]
fn include_recursion_stops_like_helm() {
    let err = run(
        "{{ define \"r\" }}{{ include \"r\" . }}{{ end }}{{ include \"r\" . }}",
        |_| {},
    )
    .expect_err("infinite include must fail");
    let text = err.to_string();
    assert!(
        text.ends_with("rendering template has a nested reference name: r: unable to execute template"),
        "{text}"
    );
    assert_eq!(
        err.include_stack().len(),
        1002,
        "outer template plus 1001 nested includes"
    );
}

#[test]
fn template_recursion_is_bounded() {
    let err = run(
        "{{ define \"r\" }}{{ template \"r\" . }}{{ end }}{{ template \"r\" . }}",
        |s| {
            s.options.max_template_depth = 2000;
        },
    )
    .expect_err("infinite template recursion must fail");
    assert!(
        err.to_string().contains("exceeded maximum template depth (100000)"),
        "{err}"
    );
}

#[test]
fn output_is_bounded() {
    let err = run("{{ range 100000 }}0123456789abcdef{{ end }}", |s| {
        s.options.max_output = 1 << 20
    })
    .expect_err("output limit must apply");
    assert!(
        matches!(err, TemplateError::OutputLimit { limit } if limit == 1 << 20),
        "{err:?}"
    );
}

/// Found by fuzzing: each `quote $x` stage doubles the string it is fed, so thirty stages made
/// a gigabyte before anything was written (three minutes, several GB). A function result larger
/// than the output limit now stops the execution at once.
#[test]
fn values_that_double_stop_at_the_output_limit() {
    let stages = " | quote $x".repeat(40);
    let started = Instant::now();
    let err = run(&format!("{{{{ $x := \"ab\" }}}}{{{{ $x{stages} }}}}"), |s| {
        s.options.max_output = 1 << 20
    })
    .expect_err("the limit must apply to values, not only to output");
    assert!(
        matches!(err, TemplateError::OutputLimit { limit } if limit == 1 << 20),
        "{err:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}

#[test]
fn tpl_calls_stay_linear() {
    // Helm issue 7656: thousands of tpl calls re-parsing a large template set went quadratic.
    let mut defines = String::new();
    for i in 0..300 {
        defines.push_str(&format!("{{{{ define \"d{i}\" }}}}{{{{ .x }}}}-{i}{{{{ end }}}}\n"));
    }
    let time = |calls: usize| {
        let src = format!(
            "{defines}{{{{ range until {calls} }}}}{{{{ tpl \"{{{{ include \\\"d7\\\" (dict \\\"x\\\" 1) }}}}\" $ }}}}{{{{ end }}}}"
        );
        let t = Instant::now();
        let out = run(&src, |_| {}).expect("tpl render");
        assert!(out.contains("1-7"));
        t.elapsed()
    };
    // The fastest of three runs each: a busy machine slows single runs, not the best one.
    let best = |calls: usize| (0..3).map(|_| time(calls)).min().unwrap_or_default();
    let small = best(1000);
    let large = best(8000);
    assert!(
        large < small * 16 + Duration::from_millis(50),
        "8x the tpl calls took {large:?} vs {small:?}: not linear"
    );
}

#[test]
fn parsed_sets_render_concurrently() {
    let mut set = TemplateSet::default();
    set.parse(
        "t",
        "{{ range .Values.a }}{{ . }}{{ end }}{{ include \"x\" . }}{{ define \"x\" }}!{{ end }}",
    )
    .expect("parse");
    let data = render_data("{\"a\":[1,2,3]}");
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..200 {
                    let out = set.execute("t", &data, &mut Context::default()).expect("render");
                    assert_eq!(out, "123!");
                }
            });
        }
    });
}

#[test]
fn strict_mode_reports_missing_keys() {
    let err = run("{{ .Values.nope }}", |s| s.options.strict = true).expect_err("strict");
    assert!(err.to_string().ends_with("map has no entry for key \"nope\""), "{err}");
    let mut m = Map::new();
    m.insert("k".into(), Value::from("v"));
    assert!(run("{{ .Values.s }}", |s| s.options.strict = true).is_ok());
}
