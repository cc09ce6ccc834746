//! `.helmignore` exactly as Helm's `pkg/ignore`: Go `filepath.Match` globs, first match decides,
//! the negation quirk, and the default `templates/.?*` rule. Only directory loads use it.

/// The file name Helm looks for at the chart root.
pub const HELM_IGNORE: &str = ".helmignore";

/// Go's `filepath.ErrBadPattern` text, which Helm prints as is.
pub const BAD_PATTERN: &str = "syntax error in pattern";

/// An ordered rule set.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    patterns: Vec<Pattern>,
}

#[derive(Clone, Debug)]
struct Pattern {
    rule: String,
    negate: bool,
    must_dir: bool,
    kind: MatchKind,
}

#[derive(Clone, Copy, Debug)]
enum MatchKind {
    /// Leading `/`: matched against the whole path from the chart root.
    Anchored,
    /// Contains `/`: matched against the whole path.
    Structural,
    /// No `/`: matched against the basename only.
    Basename,
}

/// Why a `.helmignore` could not be parsed; the text is Helm's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IgnoreError {
    #[error("double-star (**) syntax is not supported")]
    DoubleStar,
    #[error("syntax error in pattern")]
    BadPattern,
}

impl Rules {
    /// Parses a `.helmignore` body (a UTF-8 BOM on the first line is dropped).
    pub fn parse(text: &str) -> Result<Rules, IgnoreError> {
        let mut rules = Rules::default();
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        // bufio.Scanner splits on \n and drops one trailing \r.
        for line in text.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            rules.parse_rule(line)?;
        }
        Ok(rules)
    }

    /// Appends Helm's default rule: dotfiles inside `templates/` are never loaded.
    pub fn add_defaults(&mut self) {
        // The default rule is valid, so this cannot fail.
        let _ = self.parse_rule("templates/.?*");
    }

    fn parse_rule(&mut self, rule: &str) -> Result<(), IgnoreError> {
        let rule = rule.trim_matches(go_space);
        if rule.is_empty() || rule.starts_with('#') {
            return Ok(());
        }
        if rule.contains("**") {
            return Err(IgnoreError::DoubleStar);
        }
        go_match(rule, "abc").map_err(|_| IgnoreError::BadPattern)?;
        let mut rest = rule;
        let negate = rest.starts_with('!');
        if negate {
            rest = &rest[1..];
        }
        let must_dir = rest.ends_with('/');
        if must_dir {
            rest = &rest[..rest.len() - 1];
        }
        let (kind, rest) = if let Some(after) = rest.strip_prefix('/') {
            (MatchKind::Anchored, after)
        } else if rest.contains('/') {
            (MatchKind::Structural, rest)
        } else {
            (MatchKind::Basename, rest)
        };
        self.patterns.push(Pattern {
            rule: rest.to_string(),
            negate,
            must_dir,
            kind,
        });
        Ok(())
    }

    /// Whether `path` (slash-separated, relative to the chart root) is ignored.
    pub fn ignore(&self, path: &str, is_dir: bool) -> bool {
        if path.is_empty() || path == "." || path == "./" {
            return false;
        }
        for p in &self.patterns {
            if p.negate {
                // Helm's quirk: a path that does not match a negated rule is ignored outright.
                if p.must_dir && !is_dir {
                    return true;
                }
                if !p.matches(path) {
                    return true;
                }
                continue;
            }
            if p.must_dir && !is_dir {
                continue;
            }
            if p.matches(path) {
                return true;
            }
        }
        false
    }
}

impl Pattern {
    fn matches(&self, path: &str) -> bool {
        let subject = match self.kind {
            MatchKind::Anchored | MatchKind::Structural => path,
            MatchKind::Basename => go_base(path),
        };
        go_match(&self.rule, subject).unwrap_or(false)
    }
}

fn go_space(c: char) -> bool {
    c.is_whitespace()
}

/// Go's `filepath.Base` for slash paths.
fn go_base(path: &str) -> &str {
    let trimmed = path.trim_end_matches('/');
    if trimmed.is_empty() {
        return if path.is_empty() { "." } else { "/" };
    }
    match trimmed.rfind('/') {
        Some(i) => &trimmed[i + 1..],
        None => trimmed,
    }
}

/// Go's `path/filepath.Match` on Unix: `*`, `?`, `[...]` classes and backslash escapes; `*` and
/// `?` never match `/`. A malformed pattern is an error (Go's `ErrBadPattern`, the unit error
/// here) even when the name already failed.
#[expect(
    clippy::result_unit_err,
    reason = "Go's ErrBadPattern carries nothing; callers only need to know the pattern is malformed"
)]
pub fn go_match(pattern: &str, name: &str) -> Result<bool, ()> {
    let mut pattern = pattern.as_bytes();
    let mut name = name.as_bytes();
    'outer: while !pattern.is_empty() {
        let (star, chunk, rest) = scan_chunk(pattern);
        pattern = rest;
        if star && chunk.is_empty() {
            return Ok(!name.contains(&b'/'));
        }
        let (t, ok) = match_chunk(chunk, name)?;
        if ok && (t.is_empty() || !pattern.is_empty()) {
            name = t;
            continue;
        }
        if star {
            let mut i = 0;
            while i < name.len() && name[i] != b'/' {
                let (t, ok) = match_chunk(chunk, &name[i + 1..])?;
                if ok {
                    if pattern.is_empty() && !t.is_empty() {
                        i += 1;
                        continue;
                    }
                    name = t;
                    continue 'outer;
                }
                i += 1;
            }
        }
        while !pattern.is_empty() {
            let (_, chunk, rest) = scan_chunk(pattern);
            pattern = rest;
            match_chunk(chunk, b"")?;
        }
        return Ok(false);
    }
    Ok(name.is_empty())
}

fn scan_chunk(mut pattern: &[u8]) -> (bool, &[u8], &[u8]) {
    let mut star = false;
    while let Some(b'*') = pattern.first() {
        pattern = &pattern[1..];
        star = true;
    }
    let mut in_range = false;
    let mut i = 0;
    while i < pattern.len() {
        match pattern[i] {
            b'\\' if i + 1 < pattern.len() => i += 1,
            b'[' => in_range = true,
            b']' => in_range = false,
            b'*' if !in_range => break,
            _ => {}
        }
        i += 1;
    }
    (star, &pattern[..i], &pattern[i..])
}

fn decode_rune(s: &[u8]) -> (u32, usize) {
    let text = match std::str::from_utf8(&s[..s.len().min(4)]) {
        Ok(t) => t,
        Err(e) if e.valid_up_to() > 0 => {
            // The prefix up to the error is valid; a whole rune starts here.
            std::str::from_utf8(&s[..e.valid_up_to()]).unwrap_or("")
        }
        Err(_) => "",
    };
    match text.chars().next() {
        Some(c) => (c as u32, c.len_utf8()),
        None => (0xFFFD, 1),
    }
}

fn match_chunk<'a>(mut chunk: &[u8], mut s: &'a [u8]) -> Result<(&'a [u8], bool), ()> {
    let mut failed = false;
    while !chunk.is_empty() {
        if !failed && s.is_empty() {
            failed = true;
        }
        match chunk[0] {
            b'[' => {
                let mut r = 0u32;
                if !failed {
                    let (rune, n) = decode_rune(s);
                    r = rune;
                    s = &s[n..];
                }
                chunk = &chunk[1..];
                let mut negated = false;
                if chunk.first() == Some(&b'^') {
                    negated = true;
                    chunk = &chunk[1..];
                }
                let mut matched = false;
                let mut nrange = 0;
                loop {
                    if chunk.first() == Some(&b']') && nrange > 0 {
                        chunk = &chunk[1..];
                        break;
                    }
                    let (lo, rest) = get_esc(chunk)?;
                    chunk = rest;
                    let mut hi = lo;
                    if chunk.first() == Some(&b'-') {
                        let (h, rest) = get_esc(&chunk[1..])?;
                        hi = h;
                        chunk = rest;
                    }
                    if lo <= r && r <= hi {
                        matched = true;
                    }
                    nrange += 1;
                }
                if matched == negated {
                    failed = true;
                }
            }
            b'?' => {
                if !failed {
                    if s[0] == b'/' {
                        failed = true;
                    }
                    let (_, n) = decode_rune(s);
                    s = &s[n..];
                }
                chunk = &chunk[1..];
            }
            c => {
                let mut c = c;
                if c == b'\\' {
                    chunk = &chunk[1..];
                    match chunk.first() {
                        Some(&next) => c = next,
                        None => return Err(()),
                    }
                }
                if !failed {
                    if c != s[0] {
                        failed = true;
                    }
                    s = &s[1..];
                }
                chunk = &chunk[1..];
            }
        }
    }
    if failed { Ok((&[], false)) } else { Ok((s, true)) }
}

fn get_esc(mut chunk: &[u8]) -> Result<(u32, &[u8]), ()> {
    if chunk.is_empty() || chunk[0] == b'-' || chunk[0] == b']' {
        return Err(());
    }
    if chunk[0] == b'\\' {
        chunk = &chunk[1..];
        if chunk.is_empty() {
            return Err(());
        }
    }
    let (r, n) = decode_rune(chunk);
    if r == 0xFFFD && n == 1 && !chunk.starts_with("\u{FFFD}".as_bytes()) {
        return Err(());
    }
    let rest = &chunk[n..];
    if rest.is_empty() {
        return Err(());
    }
    Ok((r, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_match_cases() {
        // Cases from Go's path/filepath match_test.go.
        let cases: &[(&str, &str, Result<bool, ()>)] = &[
            ("abc", "abc", Ok(true)),
            ("*", "abc", Ok(true)),
            ("*c", "abc", Ok(true)),
            ("a*", "a", Ok(true)),
            ("a*", "abc", Ok(true)),
            ("a*", "ab/c", Ok(false)),
            ("a*/b", "abc/b", Ok(true)),
            ("a*/b", "a/c/b", Ok(false)),
            ("a*b*c*d*e*/f", "axbxcxdxe/f", Ok(true)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/f", Ok(true)),
            ("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", Ok(false)),
            ("a*b*c*d*e*/f", "axbxcxdxexxx/fff", Ok(false)),
            ("a*b?c*x", "abxbbxdbxebxczzx", Ok(true)),
            ("a*b?c*x", "abxbbxdbxebxczzy", Ok(false)),
            ("ab[c]", "abc", Ok(true)),
            ("ab[b-d]", "abc", Ok(true)),
            ("ab[e-g]", "abc", Ok(false)),
            ("ab[^c]", "abc", Ok(false)),
            ("ab[^b-d]", "abc", Ok(false)),
            ("ab[^e-g]", "abc", Ok(true)),
            ("a\\*b", "a*b", Ok(true)),
            ("a\\*b", "ab", Ok(false)),
            ("a?b", "a☺b", Ok(true)),
            ("a[^a]b", "a☺b", Ok(true)),
            ("a???b", "a☺b", Ok(false)),
            ("a[^a][^a][^a]b", "a☺b", Ok(false)),
            ("[a-ζ]*", "α", Ok(true)),
            ("*[a-ζ]", "A", Ok(false)),
            ("a?b", "a/b", Ok(false)),
            ("a*b", "a/b", Ok(false)),
            ("[\\]a]", "]", Ok(true)),
            ("[\\-]", "-", Ok(true)),
            ("[x\\-]", "x", Ok(true)),
            ("[x\\-]", "-", Ok(true)),
            ("[x\\-]", "z", Ok(false)),
            ("[\\-x]", "x", Ok(true)),
            ("[\\-x]", "-", Ok(true)),
            ("[\\-x]", "a", Ok(false)),
            ("[]a]", "]", Err(())),
            ("[-]", "-", Err(())),
            ("[x-]", "x", Err(())),
            ("[x-]", "-", Err(())),
            ("[x-]", "z", Err(())),
            ("[-x]", "x", Err(())),
            ("[-x]", "-", Err(())),
            ("[-x]", "a", Err(())),
            ("\\", "a", Err(())),
            ("[a-b-c]", "a", Err(())),
            ("[", "a", Err(())),
            ("[^", "a", Err(())),
            ("[^bc", "a", Err(())),
            ("a[", "a", Err(())),
            ("a[", "ab", Err(())),
            ("a[", "x", Err(())),
            ("a/b[", "x", Err(())),
            ("*x", "xxx", Ok(true)),
        ];
        for (pattern, name, want) in cases {
            assert_eq!(go_match(pattern, name), *want, "Match({pattern:?}, {name:?})");
        }
    }

    fn rules(text: &str) -> Rules {
        let mut r = Rules::parse(text).expect("valid rules");
        r.add_defaults();
        r
    }

    #[test]
    fn helm_ignore_cases() {
        // From helm's pkg/ignore/rules_test.go (file/dir flags as in its testdata).
        let cases: &[(&str, &str, bool, bool)] = &[
            ("ipsum.txt", "ipsum.txt", false, true),
            ("cargo/*.txt", "cargo/a.txt", false, true),
            ("cargo/", "cargo", true, true),
            ("cargo/", "cargo/a.txt", false, false),
            ("/cargo/", "cargo", true, true),
            ("/cargo/", "mast/cargo", true, false),
            ("*.txt", "mast/a.txt", false, true),
            ("mast/", "mast", true, true),
            ("/mast/", "mast", true, true),
            ("*.md", "README.md", false, true),
            ("!*.md", "README.md", false, false),
            ("!*.md", "cargo/a.txt", false, true),
            ("*", "anything", false, true),
            ("#comment", "#comment", false, false),
            ("templates/", "templates", true, true),
            ("helm.txt\n!cargo/", "cargo", true, false),
        ];
        for (text, path, is_dir, want) in cases {
            assert_eq!(rules(text).ignore(path, *is_dir), *want, "{text:?} on {path:?}");
        }
        assert!(rules("").ignore("templates/.dotfile", false));
        assert!(!rules("").ignore("templates/a.yaml", false));
        assert!(!rules("").ignore(".", true));
    }

    #[test]
    fn bad_rules() {
        assert_eq!(Rules::parse("a/**/b").unwrap_err(), IgnoreError::DoubleStar);
        assert_eq!(Rules::parse("[").unwrap_err(), IgnoreError::BadPattern);
        assert_eq!(IgnoreError::BadPattern.to_string(), BAD_PATTERN);
    }
}
