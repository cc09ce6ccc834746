//! `images`: kustomize's `ImageTagTransformer` (`filters/imagetag`): for every entry, every
//! container and init container image (`containers`/`initContainers` lists at any depth, except
//! in CustomResourceDefinitions) and every image volume reference whose name matches gets a new
//! name, tag or digest.

use helmfire_value::yaml::v3::{Kind, Node};
use regex::Regex;

/// One `images` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageRewrite {
    /// The image name to match (a regular expression fragment, as kustomize uses it).
    pub name: String,
    pub new_name: Option<String>,
    pub new_tag: Option<String>,
    pub digest: Option<String>,
}

impl ImageRewrite {
    /// `IsImageMatched`: `^<name>(:tag)?(@sha256:digest)?$`; a name that is not a valid
    /// pattern matches nothing.
    fn matcher(&self) -> Option<Regex> {
        Regex::new(&format!(
            "^{}(:[a-zA-Z0-9_.{{}}-]*)?(@sha256:[a-zA-Z0-9_.{{}}-]*)?$",
            self.name
        ))
        .ok()
    }

    /// `imageTagUpdater.SetImageValue` on one image string.
    fn rewrite(&self, matcher: &Regex, image: &str) -> Option<String> {
        if !matcher.is_match(image) {
            return None;
        }
        let (mut name, mut tag, mut digest) = split(image);
        if let Some(new_name) = self.new_name.as_deref().filter(|n| !n.is_empty()) {
            name = new_name.to_string();
        }
        let new_tag = self.new_tag.as_deref().filter(|t| !t.is_empty());
        let new_digest = self.digest.as_deref().filter(|d| !d.is_empty());
        match (new_tag, new_digest) {
            (Some(t), Some(d)) => {
                tag = t.to_string();
                digest = d.to_string();
            }
            (Some(t), None) => {
                tag = t.to_string();
                digest.clear();
            }
            (None, Some(d)) => {
                tag.clear();
                digest = d.to_string();
            }
            (None, None) => {}
        }
        if !tag.is_empty() {
            name.push(':');
            name.push_str(&tag);
        }
        if !digest.is_empty() {
            name.push('@');
            name.push_str(&digest);
        }
        Some(name)
    }
}

/// kustomize's `image.Split`: name, tag and digest; `:` is looked for only after the first `/`
/// so a registry port stays in the name.
fn split(image: &str) -> (String, String, String) {
    let slash = match image.find('/') {
        Some(i) if i > 0 => i,
        _ => 0,
    };
    let search = &image[slash..];
    let at = search.find('@');
    let colon = search.find(':');
    match (colon, at) {
        (None, None) => (image.to_string(), String::new(), String::new()),
        (Some(colon), Some(at)) if colon < at => {
            let (colon, at) = (colon + slash, at + slash);
            (
                image[..colon].to_string(),
                image[colon + 1..at].to_string(),
                image[at + 1..].to_string(),
            )
        }
        (_, Some(at)) => {
            let at = at + slash;
            (image[..at].to_string(), String::new(), image[at + 1..].to_string())
        }
        (Some(colon), None) => {
            let colon = colon + slash;
            (
                image[..colon].to_string(),
                image[colon + 1..].to_string(),
                String::new(),
            )
        }
    }
}

/// The entries with their name patterns, compiled once per renderer run.
pub(super) struct Matchers<'i> {
    entries: Vec<(&'i ImageRewrite, Regex)>,
}

impl<'i> Matchers<'i> {
    pub(super) fn new(images: &'i [ImageRewrite]) -> Matchers<'i> {
        Matchers {
            entries: images.iter().filter_map(|i| Some((i, i.matcher()?))).collect(),
        }
    }
}

/// Applies every entry, in order, to one document of `kind`; whether an image changed.
pub(super) fn apply(matchers: &Matchers<'_>, kind: &str, document: &mut Node) -> bool {
    let mut changed = false;
    for (image, matcher) in &matchers.entries {
        if kind != "CustomResourceDefinition" {
            changed |= containers_anywhere(document.body_mut(), image, matcher);
        }
        // The field specs' image volumes (`spec/volumes[]/image/reference`, also under
        // `spec/template`); their container paths were covered above.
        let body = document.body_mut();
        for path in [&["spec", "volumes"][..], &["spec", "template", "spec", "volumes"][..]] {
            if let Some(volumes) = lookup(body, path).filter(|v| v.kind == Kind::Sequence) {
                for volume in &mut volumes.content {
                    if let Some(reference) = volume
                        .get_mut("image")
                        .and_then(|i| i.get_mut("reference"))
                        .filter(|r| r.kind == Kind::Scalar)
                        && let Some(new) = image.rewrite(matcher, &reference.value)
                    {
                        changed |= reference.value != new;
                        reference.value = new;
                    }
                }
            }
        }
    }
    changed
}

fn lookup<'n>(node: &'n mut Node, path: &[&str]) -> Option<&'n mut Node> {
    let mut current = node;
    for key in path {
        current = current.get_mut(key)?;
    }
    Some(current)
}

/// kustomize's legacy filter: every `containers`/`initContainers` sequence, at any depth;
/// whether an image changed.
fn containers_anywhere(node: &mut Node, image: &ImageRewrite, matcher: &Regex) -> bool {
    let mut changed = false;
    match node.kind {
        Kind::Mapping => {
            let mut i = 0;
            while i + 1 < node.content.len() {
                let is_containers = matches!(node.content[i].value.as_str(), "containers" | "initContainers");
                let value = &mut node.content[i + 1];
                changed |= containers_anywhere(value, image, matcher);
                if is_containers && value.kind == Kind::Sequence {
                    for container in &mut value.content {
                        if let Some(field) = container.get_mut("image").filter(|f| f.kind == Kind::Scalar)
                            && let Some(new) = image.rewrite(matcher, &field.value)
                        {
                            changed |= field.value != new;
                            field.value = new;
                        }
                    }
                }
                i += 2;
            }
        }
        Kind::Sequence => {
            for element in &mut node.content {
                changed |= containers_anywhere(element, image, matcher);
            }
        }
        _ => {}
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rewrite(entry: ImageRewrite, image: &str) -> Option<String> {
        let matcher = entry.matcher().expect("valid");
        entry.rewrite(&matcher, image)
    }

    #[test]
    fn splits_keep_registry_ports() {
        assert_eq!(
            split("registry.local:5000/nginx:1.0"),
            ("registry.local:5000/nginx".into(), "1.0".into(), String::new())
        );
        assert_eq!(
            split("nginx@sha256:abc"),
            ("nginx".into(), String::new(), "sha256:abc".into())
        );
        assert_eq!(
            split("nginx:1.25@sha256:abc"),
            ("nginx".into(), "1.25".into(), "sha256:abc".into())
        );
    }

    #[test]
    fn rewrites_like_kustomize() {
        let entry = ImageRewrite {
            name: "nginx".into(),
            new_name: Some("my.reg/nginx".into()),
            new_tag: Some("2.0".into()),
            digest: None,
        };
        assert_eq!(
            rewrite(entry.clone(), "nginx:1.25@sha256:abc").as_deref(),
            Some("my.reg/nginx:2.0")
        );
        assert_eq!(rewrite(entry.clone(), "docker.io/library/nginx:1.0"), None);
        let digest = ImageRewrite {
            name: "nginx".into(),
            digest: Some("sha256:def".into()),
            ..ImageRewrite::default()
        };
        assert_eq!(rewrite(digest, "nginx:1.0").as_deref(), Some("nginx@sha256:def"));
    }
}
