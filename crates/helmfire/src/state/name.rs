//! Names parsed once at the boundary: release names, namespaces and release ids.

use std::fmt;

/// A Helm release name: DNS-1123 subdomain characters, at most 53 characters (Helm's limit,
/// which leaves room for the `sh.helm.release.v1.NAME.vN` storage key).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReleaseName(String);

/// A Kubernetes namespace: a DNS-1123 label, at most 63 characters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Namespace(String);

/// A release's identity in a state file: `namespace/name`, or `context/namespace/name` when
/// the selected state spans several kube contexts (then the same `namespace/name` may live in
/// two clusters).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReleaseId {
    /// The kube context, set only when the state file's releases use several.
    pub context: Option<String>,
    pub namespace: Namespace,
    pub name: ReleaseName,
}

impl ReleaseName {
    pub const MAX_LEN: usize = 53;

    /// Helm's rule (`pkg/chart/common/util` `ValidateReleaseName`).
    pub fn parse(text: &str) -> Result<ReleaseName, String> {
        if text.is_empty() {
            return Err("a release name cannot be empty".into());
        }
        if text.len() > Self::MAX_LEN {
            return Err(format!(
                "release name `{text}` is {} characters long; Helm allows at most {}",
                text.len(),
                Self::MAX_LEN
            ));
        }
        if !text.split('.').all(is_dns_label) {
            return Err(format!(
                "invalid release name `{text}`: use lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit"
            ));
        }
        Ok(ReleaseName(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Namespace {
    pub const MAX_LEN: usize = 63;

    pub fn parse(text: &str) -> Result<Namespace, String> {
        if text.len() > Self::MAX_LEN {
            return Err(format!(
                "namespace `{text}` is {} characters long; at most {} are allowed",
                text.len(),
                Self::MAX_LEN
            ));
        }
        if !is_dns_label(text) {
            return Err(format!(
                "invalid namespace `{text}`: use lowercase letters, digits and `-`, starting and ending with a letter or digit"
            ));
        }
        Ok(Namespace(text.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn is_dns_label(text: &str) -> bool {
    let bytes = text.as_bytes();
    !bytes.is_empty()
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes[0] != b'-'
        && bytes[bytes.len() - 1] != b'-'
}

impl fmt::Display for ReleaseName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for ReleaseId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(context) = &self.context {
            write!(f, "{context}/")?;
        }
        write!(f, "{}/{}", self.namespace, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names_follow_helm() {
        assert!(ReleaseName::parse("web-1").is_ok());
        assert!(ReleaseName::parse("a.b").is_ok());
        assert!(ReleaseName::parse("Web").is_err());
        assert!(ReleaseName::parse("-web").is_err());
        assert!(ReleaseName::parse("web_1").is_err());
        assert!(ReleaseName::parse(&"a".repeat(53)).is_ok());
        assert!(ReleaseName::parse(&"a".repeat(54)).unwrap_err().contains("at most 53"));
    }

    #[test]
    fn namespaces_are_dns_labels() {
        assert!(Namespace::parse("kube-system").is_ok());
        assert!(Namespace::parse("a.b").is_err());
        assert!(Namespace::parse("").is_err());
        assert!(Namespace::parse(&"a".repeat(64)).is_err());
    }
}
