use super::*;

/// Parse every document and encode them again with kyaml's encoder settings.
fn round_trip(text: &str) -> String {
    let mut encoder = Encoder::new(2, true);
    for document in parse_documents(text).expect("parses") {
        encoder.encode(&document).expect("encodes");
    }
    encoder.finish().expect("finishes")
}

#[test]
fn sequences_become_compact_and_comments_normalise() {
    let input = "a:\n  - x   # c\n  - y\n\nb: 1\n";
    assert_eq!(round_trip(input), "a:\n- x # c\n- y\nb: 1\n");
}

#[test]
fn styles_tags_and_anchors_survive() {
    let input =
        "s: 'single'\nd: \"double\"\nl: |\n  line\nt: !!str 123\nc: !custom x\na: &a 1\nb: *a\nf: {a: 1,   b: [1,2]}\n";
    assert_eq!(
        round_trip(input),
        "s: 'single'\nd: \"double\"\nl: |\n  line\nt: !!str 123\nc: !custom x\na: &a 1\nb: *a\nf: {a: 1, b: [1, 2]}\n"
    );
}

#[test]
fn head_and_document_comments_are_kept() {
    let input = "# leading comment\napiVersion: v1\n# head of kind\nkind: ConfigMap\n";
    assert_eq!(round_trip(input), input);
}

#[test]
fn folded_scalars_keep_v3_quirk() {
    assert_eq!(round_trip("folded: >\n  abc\n  def\n"), "folded: >\n  abc def\n\n");
}

#[test]
fn multiple_documents_are_separated() {
    assert_eq!(round_trip("a: 1\n---\nb: 2\n"), "a: 1\n---\nb: 2\n");
}

#[test]
fn errors_carry_go_messages() {
    let err = parse_documents("a: [1, 2\n").unwrap_err();
    // go-yaml reports parser errors on the 0-based line of the problem.
    assert_eq!(err.message, "yaml: line 1: did not find expected ',' or ']'");
}

#[test]
fn escapes_are_rewritten() {
    assert_eq!(round_trip("a: \"\\u00e9\"\n"), "a: \"é\"\n");
}

/// Where the block-subset reader answers, it builds exactly the document node the full parser
/// builds (positions, styles, tags and all).
fn quick_agrees(text: &str) -> bool {
    let Some(quick) = quick_document(text) else {
        return false;
    };
    let full = Decoder::new(text)
        .next_document()
        .unwrap_or_else(|e| panic!("the quick reader accepted {text:?}, the full parser did not: {e:?}"))
        .unwrap_or_else(|| panic!("the quick reader read a document in {text:?}, the full parser none"));
    assert_eq!(quick, full, "nodes differ for {text:?}");
    true
}

#[test]
fn quick_reader_builds_what_the_composer_builds() {
    let answered = [
        "a: 1\n",
        "a: 1",
        "\n\na: b\nc: d\n",
        "a:\n  b: c\n  d:\n    e: f\ng: h\n",
        "a:\n- 1\n- 2\nb: 3\n",
        "a:\n  - 1\n  -\n  - x: y\n    z: w\n  - - n\n    - m\n",
        "- a\n- b: c\n  d: e\n-\n- |\n  lit\n",
        "c: 'single ''quoted'''\nd: \"dq \\\"x\\\" \\n\"\n'k': 1\n\"q\": 2\n",
        "a: []\nb: {}\nc:   []\n",
        "a: [1, 2]\nb: [\"x\", 'y', z z]\nc: {k: v, \"q\": [1, {n: m}]}\n",
        "a: plain\n  continued\n\n  after blank\nb: x\n",
        "a: |\n  one\n  two\n\n  three\nb: x\n",
        "a: |-\n  one\n\n\nb: x\n",
        "a: |+\n  one\n\n\nb: x\n",
        "a: |\n  no final break",
        "url: http://x:80/y\nimage: nginx:1.2\nneg: -1\nflag: --x\nq: ?x\nhash: a#b\n",
        "a: yes\nb: 0x1F\nc: ~\nd: null\ne: 1e3\nf: .inf\ng: 2001-12-14\nh: \"1\"\n<<: {m: 1}\n",
        "a:\n  b:\n  c: 1\nd:\n",
        "key   : spaced\nempty:   \nlast:",
        "spec:\n  containers:\n    - name: app\n      env:\n        - name: A\n          value: \"1\"\n      resources:\n        limits: {cpu: 500m}\n",
    ];
    for text in answered {
        assert!(quick_agrees(text), "not answered: {text:?}");
    }
    // Comments, tags, anchors, folded scalars, markers and text beyond ASCII go to the full
    // parser.
    for text in [
        "# c\na: 1\n",
        "a: 1 # c\n",
        "a:\n  # c\n  b: 1\n",
        "a: !!str 1\n",
        "a: &x 1\nb: *x\n",
        "a: >\n  folded\n",
        "---\na: 1\n",
        "a: é\n",
        "a: 1\n  b: 2\n",
        "",
    ] {
        assert!(quick_document(text).is_none(), "answered: {text:?}");
    }
}

/// Random texts over YAML's significant characters: wherever the quick reader answers, the
/// full parser builds the same node.
#[test]
fn quick_reader_agrees_on_random_texts() {
    const PIECES: &[&str] = &[
        "a", "b: ", "- ", "-", ":", " ", "  ", "\n", "\n  ", "\n    ", "'", "''", "\"", "\\", "|", "|-", "|+", "[",
        "]", "{", "}", ", ", "k: v", "~", "1", "x y", "<<", "?", "#", " #", "\"1\"",
    ];
    let mut answered = 0;
    for text in super::super::block::tests::random_texts(PIECES, 0x51_7cc1_b727_220a, 24, 30_000) {
        answered += usize::from(quick_agrees(&text));
    }
    assert!(answered > 300, "only {answered} random texts answered");
}

/// Every document of the YAML under testdata/: the quick reader agrees wherever it answers,
/// and answers for most documents the full parser reads.
#[test]
fn quick_reader_agrees_on_testdata() {
    let (mut seen, mut answered) = (0, 0);
    for doc in super::super::block::tests::corpus_documents() {
        // Alias bombs are for the full parser's limits; the quick reader never reads aliases.
        if doc.contains('*') && doc.contains('&') {
            continue;
        }
        if !matches!(Decoder::new(&doc).next_document(), Ok(Some(_))) {
            continue;
        }
        seen += 1;
        answered += usize::from(quick_agrees(&doc));
    }
    eprintln!("quick reader answered {answered} of {seen} documents");
    assert!(
        seen > 500 && answered * 2 >= seen,
        "quick reader answered {answered} of {seen} documents"
    );
}
