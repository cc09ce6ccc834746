//! Release selectors (`-l`/`--selector`): `k=v,k2!=v2` within one flag are ANDed, separate flags
//! are ORed. Built-in keys `name`, `namespace` and `chart` match the release itself; other keys
//! match labels.

use super::model::ReleaseSpec;

#[derive(Clone, Debug, PartialEq, Eq)]
struct Requirement {
    key: String,
    value: String,
    equal: bool,
}

/// A parsed selector; the empty selector selects everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selector {
    alternatives: Vec<Vec<Requirement>>,
}

impl Selector {
    /// Parses the values of every `--selector` flag.
    pub fn parse<S: AsRef<str>>(flags: &[S]) -> Result<Selector, String> {
        let mut alternatives = Vec::new();
        for flag in flags {
            let flag = flag.as_ref();
            let mut requirements = Vec::new();
            for part in flag.split(',') {
                let bad = || {
                    format!("invalid selector `{flag}`: expected `key=value` or `key!=value` pairs separated by commas")
                };
                let (key, value, equal) = if let Some((key, value)) = part.split_once("!=") {
                    (key, value, false)
                } else if let Some((key, value)) = part.split_once('=') {
                    (
                        key.strip_suffix('=').unwrap_or(key),
                        value.strip_prefix('=').unwrap_or(value),
                        true,
                    )
                } else {
                    return Err(bad());
                };
                let (key, value) = (key.trim(), value.trim());
                let valid =
                    |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
                if !valid(key) || !valid(value) {
                    return Err(bad());
                }
                requirements.push(Requirement {
                    key: key.to_string(),
                    value: value.to_string(),
                    equal,
                });
            }
            alternatives.push(requirements);
        }
        Ok(Selector { alternatives })
    }

    pub fn is_empty(&self) -> bool {
        self.alternatives.is_empty()
    }

    pub fn matches(&self, release: &ReleaseSpec) -> bool {
        self.alternatives.is_empty()
            || self.alternatives.iter().any(|requirements| {
                requirements.iter().all(|requirement| {
                    let actual = match requirement.key.as_str() {
                        "name" => Some(release.id.name.as_str()),
                        "namespace" => Some(release.id.namespace.as_str()),
                        "chart" => Some(release.chart_text.as_str()),
                        label => release.labels.get(label).map(String::as_str),
                    };
                    (actual == Some(requirement.value.as_str())) == requirement.equal
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax() {
        assert!(Selector::parse(&["tier=db,name!=x"]).is_ok());
        assert!(Selector::parse(&["tier==db"]).is_ok());
        for bad in ["tier", "=db", "tier=", "tier=db,", "a b=c"] {
            let error = Selector::parse(&[bad]).unwrap_err();
            assert!(error.starts_with(&format!("invalid selector `{bad}`")), "{error}");
        }
    }
}
