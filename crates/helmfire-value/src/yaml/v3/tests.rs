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
