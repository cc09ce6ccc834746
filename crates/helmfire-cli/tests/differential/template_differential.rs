//! Randomized differential test: templates generated from a grammar of real constructs and
//! functions are rendered by helm v4.1.4 and by helmfire; outputs (or errors) must be identical.
//!
//! `HELMFIRE_DIFF_COUNT` sets how many templates (default 48), `HELMFIRE_DIFF_SEED` the seed.

use crate::support::template as template_support;

use template_support::*;

struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const VALUES: &str = r#"{"name":"demo","n":1000000,"f":1.5,"i":3,"zero":0,"t":true,"s":"Hello World","empty":"",
"nul":null,"list":["b","a","c"],"nums":[3,1,2],"map":{"b":2,"a":"x","c":{"d":[1,2]}},"ver":"1.20.3"}"#;

const STRINGS: &[&str] = &[
    "\"a\"",
    "\"hello world\"",
    "\"\"",
    "\"A-b_c d\"",
    "\"1.2.3\"",
    "\"x,y,z\"",
    "\"true\"",
    "\"42\"",
    "\"multi\\nline\"",
    "\"ünï\"",
    ".Values.name",
    ".Values.s",
    ".Values.empty",
];
const NUMBERS: &[&str] = &[
    "0",
    "1",
    "2",
    "-3",
    "7",
    "1.5",
    "0.1",
    "1e6",
    "2.0",
    ".Values.n",
    ".Values.f",
    ".Values.i",
    ".Values.zero",
];
const LISTS: &[&str] = &[
    ".Values.list",
    ".Values.nums",
    "(list 1 \"a\" nil)",
    "(list)",
    "(splitList \",\" \"p,q\")",
    "(until 3)",
];
const ANY: &[&str] = &[
    ".Values.missing",
    ".Values.nul",
    ".Values.map",
    ".Values.map.c",
    ".Values.t",
    "nil",
    "true",
    "(dict \"k\" 1)",
];

fn arg(g: &mut Gen, kind: char, depth: usize) -> String {
    if depth < 2 && g.below(5) == 0 {
        return format!("({})", call(g, depth + 1));
    }
    match kind {
        'S' => g.pick(STRINGS).to_string(),
        'N' => g.pick(NUMBERS).to_string(),
        'L' => g.pick(LISTS).to_string(),
        'B' => g.pick(&["true", "false", ".Values.t"]).to_string(),
        _ => match g.below(4) {
            0 => g.pick(STRINGS).to_string(),
            1 => g.pick(NUMBERS).to_string(),
            2 => g.pick(LISTS).to_string(),
            _ => g.pick(ANY).to_string(),
        },
    }
}

const FUNCS: &[(&str, &str)] = &[
    ("upper", "S"),
    ("lower", "S"),
    ("title", "S"),
    ("trim", "S"),
    ("quote", "AA"),
    ("squote", "A"),
    ("toString", "A"),
    ("default", "AA"),
    ("empty", "A"),
    ("coalesce", "AAA"),
    ("ternary", "AAB"),
    ("add", "NN"),
    ("sub", "NN"),
    ("mul", "NN"),
    ("div", "NN"),
    ("max", "NNN"),
    ("min", "NN"),
    ("addf", "NN"),
    ("mulf", "NN"),
    ("divf", "NN"),
    ("floor", "N"),
    ("ceil", "N"),
    ("round", "NN"),
    ("int", "A"),
    ("int64", "A"),
    ("float64", "A"),
    ("len", "A"),
    ("index", "LN"),
    ("first", "L"),
    ("last", "L"),
    ("rest", "L"),
    ("reverse", "L"),
    ("uniq", "L"),
    ("has", "AL"),
    ("join", "SL"),
    ("sortAlpha", "L"),
    ("list", "AAA"),
    ("dict", "SASA"),
    ("printf", "SAA"),
    ("print", "AAA"),
    ("eq", "AA"),
    ("ne", "AA"),
    ("lt", "NN"),
    ("ge", "AA"),
    ("and", "AA"),
    ("or", "AA"),
    ("not", "A"),
    ("trunc", "NS"),
    ("indent", "NS"),
    ("nindent", "NS"),
    ("replace", "SSS"),
    ("contains", "SS"),
    ("hasPrefix", "SS"),
    ("splitList", "SS"),
    ("b64enc", "S"),
    ("sha256sum", "S"),
    ("kindOf", "A"),
    ("typeOf", "A"),
    ("cat", "AAA"),
    ("semverCompare", "SS"),
    ("regexReplaceAll", "SSS"),
    ("regexFindAll", "SSN"),
    ("repeat", "NS"),
    ("substr", "NNS"),
    ("abbrev", "NS"),
    ("toStrings", "A"),
    ("compact", "L"),
    ("without", "LA"),
    ("append", "LA"),
    ("concat", "LL"),
    ("slice", "LNN"),
    ("seq", "N"),
    ("until", "N"),
    ("snakecase", "S"),
    ("camelcase", "S"),
    ("kebabcase", "S"),
    ("wrap", "NS"),
    ("initials", "S"),
    ("plural", "SSN"),
    ("atoi", "S"),
    ("toDecimal", "A"),
    ("deepEqual", "AA"),
    ("all", "AA"),
    ("any", "AA"),
];

fn call(g: &mut Gen, depth: usize) -> String {
    let (name, sig) = FUNCS[g.below(FUNCS.len())];
    let mut out = name.to_string();
    let kinds: Vec<char> = sig.chars().collect();
    let piped = kinds.len() > 1 && g.below(4) == 0;
    let n = if piped { kinds.len() - 1 } else { kinds.len() };
    for k in &kinds[..n] {
        out.push(' ');
        if name == "printf" && out == "printf " {
            out.push_str(g.pick(&["\"%v|%v\"", "\"%s-%d\"", "\"%q %T\"", "\"%.2f %x\""]));
            continue;
        }
        out.push_str(&arg(g, *k, depth));
    }
    if piped {
        out = format!("{} | {out}", arg(g, kinds[n], depth));
    }
    out
}

fn statement(g: &mut Gen, depth: usize) -> String {
    match g.below(if depth > 1 { 3 } else { 12 }) {
        0 => g.pick(&["text ", "\n", "k: v\n", "  "]).to_string(),
        1 | 2 => format!("{{{{ {} }}}}", call(g, 0)),
        3 => format!(
            "{{{{ if {} }}}}T{}{{{{ else }}}}F{{{{ end }}}}",
            call(g, 1),
            statement(g, depth + 1)
        ),
        4 => format!(
            "{{{{ range $i, $v := {} }}}}[{{{{ $i }}}}={{{{ $v }}}}]{{{{ end }}}}",
            arg(g, 'L', 1)
        ),
        5 => format!(
            "{{{{ with {} }}}}<{{{{ . }}}}>{{{{ else }}}}none{{{{ end }}}}",
            call(g, 1)
        ),
        6 => format!("{{{{- {} -}}}}", call(g, 0)),
        7 => format!(
            "{{{{ define \"h{depth}\" }}}}[{{{{ . }}}}]{{{{ end }}}}{{{{ include \"h{depth}\" {} | upper }}}}",
            arg(g, 'A', 1)
        ),
        8 => format!("{{{{ tpl `{{{{ {} }}}}` . }}}}", call(g, 1)),
        9 => format!(
            "{{{{ $x := {} }}}}{{{{ $x }}}}|{{{{ $x = {} }}}}{{{{ $x }}}}",
            call(g, 1),
            arg(g, 'A', 1)
        ),
        10 => format!(
            "{{{{ with {} }}}}a{{{{ else with {} }}}}b{{{{ . }}}}{{{{ else }}}}c{{{{ end }}}}",
            arg(g, 'A', 1),
            arg(g, 'A', 1)
        ),
        _ => format!(
            "{{{{ range $k, $v := {} }}}}{{{{ $k }}}}:{{{{ $v }}}},{{{{ end }}}}",
            arg(g, 'A', 1)
        ),
    }
}

fn template(g: &mut Gen) -> String {
    let n = 1 + g.below(4);
    (0..n).map(|_| statement(g, 0)).collect()
}

#[test]
fn random_templates_match_helm() {
    let count: usize = std::env::var("HELMFIRE_DIFF_COUNT")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48);
    let seed: u64 = std::env::var("HELMFIRE_DIFF_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed_1234);
    let mut g = Gen(seed | 1);
    let templates: Vec<String> = (0..count).map(|_| template(&mut g)).collect();
    let threads = 4;
    let chunk = templates.len().div_ceil(threads).max(1);
    let failures: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = templates
            .chunks(chunk)
            .map(|part| {
                s.spawn(move || {
                    part.iter()
                        .filter_map(|t| {
                            let helm = render_helm(t, VALUES);
                            let ours = render_helmfire(t, VALUES);
                            (helm != ours).then(|| format!("template {t:?}\n  helm     {helm:?}\n  helmfire {ours:?}"))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().expect("thread")).collect()
    });
    assert!(
        failures.is_empty(),
        "seed {seed}: {} of {count} differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
