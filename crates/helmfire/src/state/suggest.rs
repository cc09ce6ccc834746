//! "Did you mean" suggestions for misspelt names (fields, environments, repositories, releases).

/// The candidate closest to `word` by edit distance, when it is close enough to be a likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .into_iter()
        .map(|candidate| (edit_distance(word, candidate), candidate))
        .filter(|(distance, _)| *distance <= limit)
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// A hint for a misspelt `word`: "did you mean `x`?" when a candidate is close, else `listing`
/// followed by every candidate (e.g. "expected one of `a`, `b`").
pub fn hint_for(word: &str, candidates: &[&str], listing: &str) -> String {
    match did_you_mean(word, candidates.iter().copied()) {
        Some(suggestion) => format!("did you mean `{suggestion}`?"),
        None => {
            let all: Vec<String> = candidates.iter().map(|c| format!("`{c}`")).collect();
            format!("{listing} {}", all.join(", "))
        }
    }
}

/// Levenshtein distance over characters, case-insensitive (a wrong case is a typo too).
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn suggests_close_names_only() {
        let fields = ["name", "namespace", "chart", "needs"];
        assert_eq!(did_you_mean("nmae", fields), Some("name"));
        assert_eq!(did_you_mean("namespce", fields), Some("namespace"));
        assert_eq!(did_you_mean("Chart", fields), Some("chart"));
        assert_eq!(did_you_mean("replicas", fields), None);
    }
}
