//! Rendered files to release manifests and hooks (Helm's `pkg/release/v1/util`: `SplitManifests`,
//! `SortManifests`, `kind_sorter.go`) and the exact stdout of `helm template` (`pkg/cmd/template.go`).

use std::collections::BTreeMap;

use super::{RenderError, Rendered};
use helmfire_value::Value;
use helmfire_value::yaml::Shape;

/// A rendered document that is not a hook.
#[derive(Clone, Debug, PartialEq)]
pub struct Manifest {
    /// The template path (`chart/templates/x.yaml`).
    pub name: String,
    /// The trimmed document.
    pub content: String,
    pub kind: String,
}

/// A document annotated `helm.sh/hook`.
#[derive(Clone, Debug, PartialEq)]
pub struct Hook {
    pub name: String,
    pub kind: String,
    pub path: String,
    pub manifest: String,
    pub events: Vec<String>,
    pub weight: i64,
    pub delete_policies: Vec<String>,
    pub output_log_policies: Vec<String>,
}

impl Hook {
    pub fn is_test(&self) -> bool {
        self.events.iter().any(|e| e == "test")
    }
}

/// Hooks and manifests, each in install order.
#[derive(Clone, Debug, Default)]
pub struct Sorted {
    pub hooks: Vec<Hook>,
    pub manifests: Vec<Manifest>,
}

/// Helm's `InstallOrder`.
pub const INSTALL_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
];

const HOOK_EVENTS: &[&str] = &[
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
];

/// Go's `\s`: ASCII `[\t\n\f\r ]`.
fn is_go_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0c | b'\r' | b' ')
}

/// The matches of helm's separator `(?:^|\s*\n)---\s*`, leftmost first, as byte ranges. A match
/// away from the start is a run of white space ending in a newline, then `---`, then white
/// space; scanning from the left, it starts where that run starts. Hand-written: compiling the
/// expression cost every process a few hundred microseconds.
fn separators(text: &str) -> Vec<(usize, usize)> {
    let s = text.as_bytes();
    let trailing = |mut i: usize| {
        while i < s.len() && is_go_space(s[i]) {
            i += 1;
        }
        i
    };
    let mut out = Vec::new();
    if s.starts_with(b"---") {
        out.push((0, trailing(3)));
    }
    let mut i = out.last().map_or(0, |m| m.1);
    while i < s.len() {
        if !is_go_space(s[i]) {
            i += 1;
            continue;
        }
        let start = i;
        let mut end = start;
        while end < s.len() && is_go_space(s[end]) {
            end += 1;
        }
        if s[end - 1] == b'\n' && s[end..].starts_with(b"---") {
            let stop = trailing(end + 3);
            out.push((start, stop));
            i = stop;
        } else {
            i = end;
        }
    }
    out
}

/// Helm's `SplitManifests`: the non-empty documents of `text`, trimmed, in order.
pub fn split_manifests(text: &str) -> Vec<String> {
    let text = text.trim();
    let mut documents = Vec::new();
    let mut from = 0;
    for (start, end) in separators(text).into_iter().chain([(text.len(), text.len())]) {
        let document = text[from..start].trim();
        if !document.is_empty() {
            documents.push(document.to_string());
        }
        from = end;
    }
    documents
}

/// Go's `strings.TrimSpace` (Unicode white space).
fn go_trim(s: &str) -> &str {
    s.trim()
}

const NAME: (&str, Shape) = ("name", Shape::String);
const NAMESPACE: (&str, Shape) = ("namespace", Shape::String);
const LABELS: (&str, Shape) = ("labels", Shape::Map(&Shape::String));
const ANNOTATIONS: (&str, Shape) = ("annotations", Shape::Map(&Shape::String));

/// What helm's sorting reads: apiVersion, kind, name and annotations.
static HEAD_SHAPE: Shape = Shape::Fields(&[
    ("apiVersion", Shape::String),
    ("kind", Shape::String),
    ("metadata", Shape::Fields(&[NAME, ANNOTATIONS])),
]);

/// The head with what post-renderer targets select by: the namespace too.
static TARGET_HEAD_SHAPE: Shape = Shape::Fields(&[
    ("apiVersion", Shape::String),
    ("kind", Shape::String),
    ("metadata", Shape::Fields(&[NAME, NAMESPACE, ANNOTATIONS])),
]);

/// The head with what label selectors read too.
static LABELLED_HEAD_SHAPE: Shape = Shape::Fields(&[
    ("apiVersion", Shape::String),
    ("kind", Shape::String),
    ("metadata", Shape::Fields(&[NAME, NAMESPACE, LABELS, ANNOTATIONS])),
]);

/// What helm reads of a document before sorting it (its `SimpleHead`), plus the namespace and
/// labels when asked for ([`HeadFields`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Head {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// One document of a rendered file and its head.
#[derive(Clone, Debug)]
pub struct Document {
    /// The file it belongs to (`chart/templates/x.yaml`).
    pub file: String,
    /// The trimmed document.
    pub text: String,
    pub head: Head,
}

fn str_field(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.to_string(),
        _ => String::new(),
    }
}

fn string_map(v: Option<&Value>) -> BTreeMap<String, String> {
    match v {
        Some(Value::Map(m, _)) => m.read().iter().map(|(k, v)| (k.clone(), str_field(Some(v)))).collect(),
        _ => BTreeMap::new(),
    }
}

/// How much of each document's head [`split_files`] reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadFields {
    /// What helm sorts by: apiVersion, kind, name and annotations.
    Sort,
    /// The namespace too, for post-renderer targets.
    Target,
    /// The namespace and labels, for targets with a label selector.
    Labelled,
}

fn parse_head(doc: &str, fields: HeadFields) -> Result<Head, String> {
    let shape = match fields {
        HeadFields::Sort => &HEAD_SHAPE,
        HeadFields::Target => &TARGET_HEAD_SHAPE,
        HeadFields::Labelled => &LABELLED_HEAD_SHAPE,
    };
    let v = helmfire_value::yaml::decode_shaped(doc, shape).map_err(|e| e.message)?;
    let type_err = |kind: &str| {
        format!(
            "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {kind} into Go value of type util.SimpleHead"
        )
    };
    let map = match &v {
        Value::Nil => return Ok(Head::default()),
        Value::Map(m, _) => m.read(),
        Value::List(..) => return Err(type_err("array")),
        Value::String(_) => return Err(type_err("string")),
        Value::Bool(_) => return Err(type_err("bool")),
        _ => return Err(type_err("number")),
    };
    let mut head = Head {
        api_version: str_field(map.get("apiVersion")),
        kind: str_field(map.get("kind")),
        ..Head::default()
    };
    if let Some(Value::Map(meta, _)) = map.get("metadata") {
        let meta = meta.read();
        head.name = str_field(meta.get("name"));
        head.namespace = str_field(meta.get("namespace"));
        head.labels = string_map(meta.get("labels"));
        head.annotations = string_map(meta.get("annotations"));
    }
    Ok(head)
}

fn comma_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(|x| x.trim().to_lowercase())
        .filter(|x| !x.is_empty())
        .collect()
}

/// Go's `strconv.Atoi`; anything invalid is 0 as Helm treats it.
fn atoi(s: &str) -> i64 {
    let t = s.strip_prefix('+').unwrap_or(s);
    if t.starts_with('+') || t.starts_with("-+") {
        return 0;
    }
    s.parse::<i64>().unwrap_or(0)
}

fn kind_rank(kind: &str) -> Option<usize> {
    INSTALL_ORDER.iter().position(|k| *k == kind)
}

/// Helm's `lessByKind`: known kinds by install order, then unknown kinds alphabetically.
fn kind_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    match (kind_rank(a), kind_rank(b)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => a.cmp(b),
    }
}

/// Helm's `SortManifests` with `InstallOrder`: files in path order, documents in file order,
/// hooks separated, both stable-sorted by kind.
pub fn sort_manifests(files: &Rendered) -> Result<Sorted, RenderError> {
    Ok(sort_documents(split_files(files, HeadFields::Sort)?))
}

/// The documents of every file (partials and blank files skipped) in path order, each with its
/// head as far as `fields` asks.
pub fn split_files(files: &Rendered, fields: HeadFields) -> Result<Vec<Document>, RenderError> {
    let mut documents = Vec::new();
    for (path, content) in files {
        if path.rsplit('/').next().unwrap_or(path).starts_with('_') || go_trim(content).is_empty() {
            continue;
        }
        for doc in split_manifests(content) {
            let head = parse_head(&doc, fields).map_err(|message| RenderError::Yaml {
                file: path.clone(),
                message,
            })?;
            documents.push(Document {
                file: path.clone(),
                text: doc,
                head,
            });
        }
    }
    Ok(documents)
}

/// The second half of `SortManifests`: hooks recognised by their annotation, both lists
/// stable-sorted by kind.
pub fn sort_documents(documents: impl IntoIterator<Item = Document>) -> Sorted {
    let mut sorted = Sorted::default();
    for Document { file, text, head } in documents {
        let Some(hook_types) = head.annotations.get("helm.sh/hook") else {
            sorted.manifests.push(Manifest {
                name: file,
                content: text,
                kind: head.kind,
            });
            continue;
        };
        let events = comma_list(hook_types);
        let events: Option<Vec<String>> = events
            .into_iter()
            .map(|e| {
                let e = if e == "test-success" { "test".to_string() } else { e };
                HOOK_EVENTS.contains(&e.as_str()).then_some(e)
            })
            .collect();
        // Helm drops a document with any unknown hook type (it only logs).
        let Some(events) = events else { continue };
        sorted.hooks.push(Hook {
            name: head.name,
            kind: head.kind,
            path: file,
            manifest: text,
            events,
            weight: head.annotations.get("helm.sh/hook-weight").map_or(0, |w| atoi(w)),
            delete_policies: head
                .annotations
                .get("helm.sh/hook-delete-policy")
                .map(|p| comma_list(p))
                .unwrap_or_default(),
            output_log_policies: head
                .annotations
                .get("helm.sh/hook-output-log-policy")
                .map(|p| comma_list(p))
                .unwrap_or_default(),
        });
    }
    sorted.manifests.sort_by(|a, b| kind_cmp(&a.kind, &b.kind));
    sorted.hooks.sort_by(|a, b| kind_cmp(&a.kind, &b.kind));
    sorted
}

/// The `helm template` flags that shape its output.
#[derive(Clone, Debug, Default)]
pub struct OutputOptions {
    /// `--include-crds`: `(path, raw content)` of every crds/ file, in Helm's order.
    pub crds: Vec<(String, String)>,
    pub skip_tests: bool,
    pub no_hooks: bool,
    pub show_only: Vec<String>,
}

/// Why the output could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("could not find template {0} in chart")]
    ShowOnlyMissing(String),
}

/// The release manifest Helm stores (`renderResources`): CRDs first when asked, then every
/// manifest framed with its `# Source:` header.
pub fn release_manifest(sorted: &Sorted, crds: &[(String, String)]) -> String {
    let mut b = String::new();
    for (path, data) in crds {
        b.push_str(&format!("---\n# Source: {path}\n{data}\n"));
    }
    for m in &sorted.manifests {
        b.push_str(&format!("---\n# Source: {}\n{}\n", m.name, m.content));
    }
    b
}

/// Exactly what `helm template` writes to stdout (without `--output-dir`).
pub fn template_output(sorted: &Sorted, opts: &OutputOptions) -> Result<String, OutputError> {
    let mut out = String::new();
    out.push_str(release_manifest(sorted, &opts.crds).trim());
    out.push('\n');
    if !opts.no_hooks {
        for h in &sorted.hooks {
            if opts.skip_tests && h.is_test() {
                continue;
            }
            out.push_str(&format!("---\n# Source: {}\n{}\n", h.path, h.manifest));
        }
    }
    if opts.show_only.is_empty() {
        return Ok(out);
    }
    let docs = split_manifests(&out);
    let mut result = String::new();
    for pattern in &opts.show_only {
        let pattern = pattern.replace('\\', "/");
        let mut missing = true;
        for doc in &docs {
            let Some(name) = source_name(doc) else { continue };
            if !go_path_match(&pattern, name) {
                continue;
            }
            result.push_str(&format!("---\n{doc}\n"));
            missing = false;
        }
        if missing {
            return Err(OutputError::ShowOnlyMissing(pattern));
        }
    }
    Ok(result)
}

/// The part after the chart name in the first `# Source: chart/…` line of a document
/// (Helm's regex `# Source: [^/]+/(.+)`).
fn source_name(doc: &str) -> Option<&str> {
    let start = doc.find("# Source: ")? + "# Source: ".len();
    let rest = &doc[start..];
    let slash = rest.find('/')?;
    let after = &rest[slash + 1..];
    let end = after.find('\n').unwrap_or(after.len());
    let name = &after[..end];
    (!name.is_empty()).then_some(name)
}

/// Go's `filepath.Match` on slash paths: `*` and `?` never match `/`, classes with `^`/`!`.
pub fn go_path_match(pattern: &str, name: &str) -> bool {
    fn m(p: &[char], n: &[char]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some('*') => {
                let rest = &p[1..];
                for i in 0..=n.len() {
                    if m(rest, &n[i..]) {
                        return true;
                    }
                    if i < n.len() && n[i] == '/' {
                        break;
                    }
                }
                false
            }
            Some('?') => !n.is_empty() && n[0] != '/' && m(&p[1..], &n[1..]),
            Some('[') => {
                let Some(c) = n.first() else { return false };
                if *c == '/' {
                    return false;
                }
                let mut i = 1;
                let negate = matches!(p.get(1), Some('^') | Some('!'));
                if negate {
                    i += 1;
                }
                let mut matched = false;
                let mut first = true;
                while i < p.len() && (p[i] != ']' || first) {
                    first = false;
                    let lo = if p[i] == '\\' && i + 1 < p.len() {
                        i += 1;
                        p[i]
                    } else {
                        p[i]
                    };
                    if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
                        let hi = p[i + 2];
                        if lo <= *c && *c <= hi {
                            matched = true;
                        }
                        i += 3;
                    } else {
                        if lo == *c {
                            matched = true;
                        }
                        i += 1;
                    }
                }
                if i >= p.len() {
                    return false;
                }
                matched != negate && m(&p[i + 1..], &n[1..])
            }
            Some('\\') if p.len() > 1 => !n.is_empty() && n[0] == p[1] && m(&p[2..], &n[1..]),
            Some(c) => !n.is_empty() && n[0] == *c && m(&p[1..], &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    m(&p, &n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hand-written separator against helm's expression on generated streams.
    #[test]
    fn separators_match_helms_expression() {
        let sep = regex::Regex::new(r"(?:^|[\t\n\f\r ]*\n)---[\t\n\f\r ]*").unwrap();
        const PIECES: &[&str] = &[
            "---", "--", "-", "\n", " ", "\t", "\r", "a", "b: 1", "\u{b}", "# x", "\n---\n",
        ];
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n as u64) as usize
        };
        for _ in 0..100_000 {
            let text: String = (0..next(10)).map(|_| PIECES[next(PIECES.len())]).collect();
            let expected: Vec<(usize, usize)> = sep.find_iter(&text).map(|m| (m.start(), m.end())).collect();
            assert_eq!(separators(&text), expected, "{text:?}");
        }
    }

    #[test]
    fn splits_like_helm() {
        assert_eq!(
            split_manifests("a: 1\n---\nb: 2\n---apiVersion: v1\n"),
            vec!["a: 1", "b: 2", "apiVersion: v1"]
        );
        assert_eq!(split_manifests("a: 1\n--- # c\nx: 1"), vec!["a: 1", "# c\nx: 1"]);
        // The separator's trailing whitespace swallows the newline a second marker would need.
        assert_eq!(split_manifests("---\n--- # c\nx: 1"), vec!["--- # c\nx: 1"]);
        assert!(split_manifests("\n---\n\n").is_empty());
    }

    #[test]
    fn unknown_kinds_sort_after_known_ones_alphabetically() {
        let mut kinds = vec!["Zeta", "Deployment", "", "Alpha", "Namespace"];
        kinds.sort_by(|a, b| kind_cmp(a, b));
        assert_eq!(kinds, vec!["Namespace", "Deployment", "", "Alpha", "Zeta"]);
    }

    #[test]
    fn show_only_matching_uses_filepath_match() {
        assert!(go_path_match("templates/*.yaml", "templates/a.yaml"));
        assert!(!go_path_match("templates/*", "templates/x/a.yaml"));
        assert!(go_path_match("templates/[ab].yaml", "templates/b.yaml"));
    }

    #[test]
    fn hook_weights_parse_with_atoi() {
        assert_eq!(atoi("-5"), -5);
        assert_eq!(atoi("+3"), 3);
        assert_eq!(atoi("x"), 0);
    }
}
