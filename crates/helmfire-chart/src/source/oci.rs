//! OCI registries as Helm uses them (helm-compat.md §7.6): references
//! `oci://host[:port]/path/chart[:tag][@sha256:…]`, the distribution API (tags list, manifests,
//! blobs, monolithic blob upload), anonymous access, basic auth and the basic → bearer token
//! exchange, Helm's media types and its `+` ↔ `_` tag rule. Pull and push of chart archives;
//! nothing here knows about repositories, the cache or releases.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use bytes::Bytes;
use http::{HeaderValue, Method, StatusCode, header};
use serde::Deserialize;
use serde_json::json;

use super::cache::sha256_hex;
use super::http::{Client, Credentials, HttpError, RequestSpec, Response};

pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.helm.config.v1+json";
pub const CHART_LAYER_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
pub const LEGACY_CHART_LAYER_MEDIA_TYPE: &str = "application/tar+gzip";
pub const PROVENANCE_LAYER_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.provenance.v1.prov";
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";

/// A parsed `oci://` reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// `host[:port]`.
    pub registry: String,
    /// The repository path inside the registry, ending with the chart name.
    pub repository: String,
    pub tag: Option<String>,
    /// `sha256:<hex>` of the manifest.
    pub digest: Option<String>,
}

impl Reference {
    /// Parses `oci://host/path/chart[:tag][@sha256:hex]`.
    pub fn parse(text: &str) -> Result<Reference, String> {
        let rest = text
            .strip_prefix("oci://")
            .ok_or_else(|| format!("`{text}` does not start with `oci://`"))?;
        let (rest, digest) = match rest.split_once('@') {
            Some((r, d)) => {
                let hex = d
                    .strip_prefix("sha256:")
                    .ok_or_else(|| format!("`{text}`: only sha256 digests are supported"))?;
                if !super::cache::is_sha256_hex(hex) {
                    return Err(format!(
                        "`{text}`: the digest must be `sha256:` and 64 lowercase hex digits"
                    ));
                }
                (r, Some(d.to_string()))
            }
            None => (rest, None),
        };
        let (registry, path) = rest
            .split_once('/')
            .ok_or_else(|| format!("`{text}`: expected `oci://host/path/chart`"))?;
        let (repository, tag) = match path.rsplit_once('/') {
            Some((dir, last)) => match last.split_once(':') {
                Some((name, tag)) => (format!("{dir}/{name}"), Some(tag.to_string())),
                None => (path.to_string(), None),
            },
            None => match path.split_once(':') {
                Some((name, tag)) => (name.to_string(), Some(tag.to_string())),
                None => (path.to_string(), None),
            },
        };
        let valid_component = |c: &str| {
            !c.is_empty()
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        };
        if registry.is_empty() || !repository.split('/').all(valid_component) {
            return Err(format!(
                "`{text}`: invalid repository path (lowercase letters, digits, `.`, `_`, `-`)"
            ));
        }
        if let Some(tag) = &tag
            && (tag.is_empty()
                || tag.len() > 128
                || !tag.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b)))
        {
            return Err(format!("`{text}`: invalid tag `{tag}`"));
        }
        Ok(Reference {
            registry: registry.to_string(),
            repository,
            tag,
            digest,
        })
    }

    /// The chart name: the last path component.
    pub fn chart_name(&self) -> &str {
        self.repository.rsplit('/').next().unwrap_or(&self.repository)
    }

    /// `oci://host/path/chart` without tag or digest.
    pub fn base(&self) -> String {
        format!("oci://{}/{}", self.registry, self.repository)
    }
}

/// A chart version as a tag: OCI tags cannot contain `+`.
pub fn version_to_tag(version: &str) -> String {
    version.replace('+', "_")
}

/// A tag as a chart version.
pub fn tag_to_version(tag: &str) -> String {
    tag.replace('_', "+")
}

/// What went wrong talking to a registry.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("`{url}` refused access ({status}); check the registry credentials")]
    Denied { url: String, status: StatusCode },
    #[error("`{url}` was not found (404)")]
    NotFound { url: String },
    #[error("`{url}` answered {status}")]
    Status { url: String, status: StatusCode },
    #[error("the token service `{url}` gave no token")]
    Token { url: String },
    #[error("the manifest of `{reference}` is not a Helm chart: {message}")]
    Manifest { reference: String, message: String },
    #[error("digest mismatch for `{what}`: expected {expected}, got {actual}")]
    Digest {
        what: String,
        expected: String,
        actual: String,
    },
}

#[derive(Clone, Debug)]
enum Auth {
    None,
    Basic,
    Bearer(String),
}

/// A client for one registry host.
#[derive(Debug)]
pub struct Registry {
    client: Client,
    /// `https` or `http`.
    scheme: &'static str,
    host: String,
    credentials: Option<Credentials>,
    /// Auth that worked per scope (`repository:x:pull`), reused for later requests.
    auth: Mutex<HashMap<String, Auth>>,
}

#[derive(Deserialize)]
struct TagList {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
struct Descriptor {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    digest: String,
    #[serde(default)]
    size: u64,
}

#[derive(Debug, Deserialize)]
struct Manifest {
    #[serde(rename = "mediaType", default)]
    media_type: String,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Vec<Descriptor>,
    #[serde(default)]
    manifests: Vec<Descriptor>,
}

/// A chart layer found in a manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChartLayer {
    /// `sha256:<hex>` of the manifest.
    pub manifest_digest: String,
    /// `sha256:<hex>` of the archive.
    pub digest: String,
    pub size: u64,
}

impl Registry {
    pub fn new(client: Client, plain_http: bool, host: &str, credentials: Option<Credentials>) -> Registry {
        Registry {
            client,
            scheme: if plain_http { "http" } else { "https" },
            host: host.to_string(),
            credentials,
            auth: Mutex::new(HashMap::new()),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.host)
    }

    /// Sends a request in `scope`, answering a 401 challenge once (basic, or a bearer token
    /// fetched with the credentials, or anonymously without them).
    async fn send(&self, mut spec: RequestSpec, scope: &str) -> Result<Response, RegistryError> {
        let known = self
            .auth
            .lock()
            .ok()
            .and_then(|m| m.get(scope).cloned())
            .unwrap_or(Auth::None);
        self.apply(&mut spec, &known);
        let response = self.client.send(&spec).await?;
        if response.status != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let challenge = response
            .headers
            .get(header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let auth = if challenge.to_ascii_lowercase().starts_with("bearer") {
            Auth::Bearer(self.token(&challenge, scope).await?)
        } else if self.credentials.is_some() && !matches!(known, Auth::Basic) {
            Auth::Basic
        } else {
            return Ok(response);
        };
        if let Ok(mut map) = self.auth.lock() {
            map.insert(scope.to_string(), auth.clone());
        }
        spec.headers.remove(header::AUTHORIZATION);
        self.apply(&mut spec, &auth);
        Ok(self.client.send(&spec).await?)
    }

    fn apply(&self, spec: &mut RequestSpec, auth: &Auth) {
        match auth {
            Auth::None => {}
            Auth::Basic => {
                if let Some(c) = &self.credentials {
                    spec.headers.insert(header::AUTHORIZATION, c.basic_header());
                }
            }
            Auth::Bearer(token) => {
                if let Ok(mut v) = HeaderValue::from_str(&format!("Bearer {token}")) {
                    v.set_sensitive(true);
                    spec.headers.insert(header::AUTHORIZATION, v);
                }
            }
        }
    }

    /// The token exchange of the distribution spec: GET realm?service=…&scope=…, with basic
    /// credentials when we have them.
    async fn token(&self, challenge: &str, scope: &str) -> Result<String, RegistryError> {
        let params = parse_challenge(challenge);
        let realm = params.get("realm").cloned().unwrap_or_default();
        let mut url = realm.clone();
        let mut query = Vec::new();
        if let Some(service) = params.get("service") {
            query.push(format!("service={}", encode(service)));
        }
        query.push(format!("scope={}", encode(scope)));
        url.push(if url.contains('?') { '&' } else { '?' });
        url.push_str(&query.join("&"));
        let mut spec = RequestSpec::get(url.clone());
        if let Some(c) = &self.credentials {
            spec.headers.insert(header::AUTHORIZATION, c.basic_header());
        }
        let response = self.client.send(&spec).await?;
        check(&response, &realm)?;
        #[derive(Deserialize)]
        struct Token {
            token: Option<String>,
            access_token: Option<String>,
        }
        let token: Token =
            serde_json::from_slice(&response.body).map_err(|_| RegistryError::Token { url: realm.clone() })?;
        token
            .token
            .or(token.access_token)
            .filter(|t| !t.is_empty())
            .ok_or(RegistryError::Token { url: realm })
    }

    /// Tags of a repository as chart versions (`_` → `+`), keeping only strict semver, newest
    /// first (Helm's `Client.Tags`).
    pub async fn versions(&self, reference: &Reference) -> Result<Vec<String>, RegistryError> {
        let scope = format!("repository:{}:pull", reference.repository);
        let mut url = self.url(&format!("/v2/{}/tags/list", reference.repository));
        let mut all = Vec::new();
        // Follow `Link: <…>; rel="next"` pagination.
        for _ in 0..100 {
            let response = self.send(RequestSpec::get(url.clone()), &scope).await?;
            check(&response, &url)?;
            let list: TagList = serde_json::from_slice(&response.body).map_err(|e| RegistryError::Manifest {
                reference: reference.base(),
                message: format!("invalid tag list ({e})"),
            })?;
            all.extend(list.tags.unwrap_or_default());
            match response
                .headers
                .get(header::LINK)
                .and_then(|v| v.to_str().ok())
                .and_then(next_link)
            {
                Some(next) => url = super::http::join_url(&url, &next),
                None => break,
            }
        }
        let mut versions: Vec<(crate::semver::Version, String)> = all
            .iter()
            .map(|t| tag_to_version(t))
            .filter_map(|v| crate::semver::Version::parse_strict(&v).ok().map(|p| (p, v)))
            .collect();
        versions.sort_by(|(a, _), (b, _)| b.compare(a));
        Ok(versions.into_iter().map(|(_, v)| v).collect())
    }

    /// The chart layer of `reference` at `tag_or_digest`.
    pub async fn chart_layer(&self, reference: &Reference, tag_or_digest: &str) -> Result<ChartLayer, RegistryError> {
        let scope = format!("repository:{}:pull", reference.repository);
        let display = format!("{}:{tag_or_digest}", reference.base());
        let mut target = tag_or_digest.to_string();
        for _ in 0..2 {
            let url = self.url(&format!("/v2/{}/manifests/{target}", reference.repository));
            let mut spec = RequestSpec::get(url.clone());
            spec.headers.insert(
                header::ACCEPT,
                HeaderValue::from_static(
                    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json",
                ),
            );
            let response = self.send(spec, &scope).await?;
            check(&response, &url)?;
            let manifest_digest = format!("sha256:{}", sha256_hex(&response.body));
            if target.starts_with("sha256:") && target != manifest_digest {
                return Err(RegistryError::Digest {
                    what: display,
                    expected: target,
                    actual: manifest_digest,
                });
            }
            let manifest: Manifest = serde_json::from_slice(&response.body).map_err(|e| RegistryError::Manifest {
                reference: display.clone(),
                message: format!("invalid JSON ({e})"),
            })?;
            if manifest.media_type == INDEX_MEDIA_TYPE || (!manifest.manifests.is_empty() && manifest.layers.is_empty())
            {
                // An image index: Helm takes its (first) manifest.
                let Some(first) = manifest.manifests.first() else {
                    return Err(RegistryError::Manifest {
                        reference: display,
                        message: "an empty image index".into(),
                    });
                };
                target = first.digest.clone();
                continue;
            }
            if let Some(config) = &manifest.config
                && config.media_type != CONFIG_MEDIA_TYPE
            {
                return Err(RegistryError::Manifest {
                    reference: display,
                    message: format!(
                        "config media type `{}` (expected `{CONFIG_MEDIA_TYPE}`)",
                        config.media_type
                    ),
                });
            }
            let layer = manifest
                .layers
                .iter()
                .find(|l| l.media_type == CHART_LAYER_MEDIA_TYPE || l.media_type == LEGACY_CHART_LAYER_MEDIA_TYPE)
                .ok_or_else(|| RegistryError::Manifest {
                    reference: display.clone(),
                    message: format!("no `{CHART_LAYER_MEDIA_TYPE}` layer"),
                })?;
            return Ok(ChartLayer {
                manifest_digest,
                digest: layer.digest.clone(),
                size: layer.size,
            });
        }
        Err(RegistryError::Manifest {
            reference: display,
            message: "nested image indexes".into(),
        })
    }

    /// Downloads a blob and checks its digest.
    pub async fn blob(&self, reference: &Reference, digest: &str) -> Result<Bytes, RegistryError> {
        let scope = format!("repository:{}:pull", reference.repository);
        let url = self.url(&format!("/v2/{}/blobs/{digest}", reference.repository));
        let response = self.send(RequestSpec::get(url.clone()), &scope).await?;
        check(&response, &url)?;
        let actual = format!("sha256:{}", sha256_hex(&response.body));
        if actual != digest {
            return Err(RegistryError::Digest {
                what: url,
                expected: digest.to_string(),
                actual,
            });
        }
        Ok(response.body)
    }

    async fn upload_blob(&self, reference: &Reference, data: Bytes, scope: &str) -> Result<String, RegistryError> {
        let digest = format!("sha256:{}", sha256_hex(&data));
        let head_url = self.url(&format!("/v2/{}/blobs/{digest}", reference.repository));
        let mut head = RequestSpec::get(head_url.clone());
        head.method = Method::HEAD;
        let response = self.send(head, scope).await?;
        if response.status == StatusCode::OK {
            return Ok(digest);
        }
        let start_url = self.url(&format!("/v2/{}/blobs/uploads/", reference.repository));
        let mut start = RequestSpec::get(start_url.clone());
        start.method = Method::POST;
        start.follow_redirects = false;
        start
            .headers
            .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        let response = self.send(start, scope).await?;
        if response.status != StatusCode::ACCEPTED {
            check(&response, &start_url)?;
            return Err(RegistryError::Status {
                url: start_url,
                status: response.status,
            });
        }
        let location = response
            .headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| RegistryError::Status {
                url: start_url.clone(),
                status: response.status,
            })?;
        let mut put_url = super::http::join_url(&start_url, location);
        put_url.push(if put_url.contains('?') { '&' } else { '?' });
        put_url.push_str(&format!("digest={}", encode(&digest)));
        let mut put = RequestSpec::get(put_url.clone());
        put.method = Method::PUT;
        put.follow_redirects = false;
        put.headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/octet-stream"),
        );
        put.body = data;
        let response = self.send(put, scope).await?;
        if response.status != StatusCode::CREATED {
            check(&response, &put_url)?;
            return Err(RegistryError::Status {
                url: put_url,
                status: response.status,
            });
        }
        Ok(digest)
    }

    /// Pushes a chart archive as Helm does: config blob (Chart.yaml metadata as JSON), chart
    /// layer, then the manifest under the version tag. Returns the manifest digest.
    pub async fn push_chart(
        &self,
        reference: &Reference,
        tag: &str,
        archive: Bytes,
        config: Vec<u8>,
        annotations: BTreeMap<String, String>,
    ) -> Result<String, RegistryError> {
        let scope = format!("repository:{}:pull,push", reference.repository);
        let config_size = config.len();
        let layer_size = archive.len();
        let config_digest = self.upload_blob(reference, Bytes::from(config), &scope).await?;
        let layer_digest = self.upload_blob(reference, archive, &scope).await?;
        let mut manifest = json!({
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": config_digest, "size": config_size},
            "layers": [{"mediaType": CHART_LAYER_MEDIA_TYPE, "digest": layer_digest, "size": layer_size}],
        });
        if !annotations.is_empty() {
            manifest["annotations"] = json!(annotations);
        }
        let body = serde_json::to_vec(&manifest).unwrap_or_default();
        let digest = format!("sha256:{}", sha256_hex(&body));
        let url = self.url(&format!("/v2/{}/manifests/{tag}", reference.repository));
        let mut put = RequestSpec::get(url.clone());
        put.method = Method::PUT;
        put.follow_redirects = false;
        put.headers
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(MANIFEST_MEDIA_TYPE));
        put.body = Bytes::from(body);
        let response = self.send(put, &scope).await?;
        if response.status != StatusCode::CREATED {
            check(&response, &url)?;
            return Err(RegistryError::Status {
                url,
                status: response.status,
            });
        }
        Ok(digest)
    }
}

fn check(response: &Response, url: &str) -> Result<(), RegistryError> {
    let status = response.status;
    if status.is_success() {
        return Ok(());
    }
    Err(match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => RegistryError::Denied {
            url: url.to_string(),
            status,
        },
        StatusCode::NOT_FOUND => RegistryError::NotFound { url: url.to_string() },
        _ => RegistryError::Status {
            url: url.to_string(),
            status,
        },
    })
}

/// `Bearer realm="…",service="…",scope="…"` → its parameters.
fn parse_challenge(challenge: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let rest = challenge.split_once(' ').map_or("", |(_, r)| r);
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = chars.by_ref().take_while(|c| *c != ',').collect();
        }
        out.insert(key.trim().to_ascii_lowercase(), value);
    }
    out
}

/// `<…>; rel="next"` from a Link header.
fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params
            .contains("rel=\"next\"")
            .then(|| target.trim().trim_start_matches('<').trim_end_matches('>').to_string())
    })
}

/// Percent-encoding for query values.
fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The config blob Helm pushes: `json.Marshal(chart.Metadata)` with Go's field order and
/// `omitempty` rules.
pub fn config_json(metadata: &crate::Metadata) -> Vec<u8> {
    let mut map = serde_json::Map::new();
    let put_str = |map: &mut serde_json::Map<String, serde_json::Value>, key: &str, value: &str| {
        if !value.is_empty() {
            map.insert(key.to_string(), json!(value));
        }
    };
    put_str(&mut map, "name", &metadata.name);
    put_str(&mut map, "home", &metadata.home);
    if !metadata.sources.is_empty() {
        map.insert("sources".into(), json!(metadata.sources));
    }
    put_str(&mut map, "version", &metadata.version);
    put_str(&mut map, "description", &metadata.description);
    if !metadata.keywords.is_empty() {
        map.insert("keywords".into(), json!(metadata.keywords));
    }
    if !metadata.maintainers.is_empty() {
        let list: Vec<serde_json::Value> = metadata
            .maintainers
            .iter()
            .map(|m| match m {
                None => serde_json::Value::Null,
                Some(m) => {
                    let mut o = serde_json::Map::new();
                    put_str(&mut o, "name", &m.name);
                    put_str(&mut o, "email", &m.email);
                    put_str(&mut o, "url", &m.url);
                    serde_json::Value::Object(o)
                }
            })
            .collect();
        map.insert("maintainers".into(), json!(list));
    }
    put_str(&mut map, "icon", &metadata.icon);
    put_str(&mut map, "apiVersion", &metadata.api_version);
    put_str(&mut map, "condition", &metadata.condition);
    put_str(&mut map, "tags", &metadata.tags);
    put_str(&mut map, "appVersion", &metadata.app_version);
    if metadata.deprecated {
        map.insert("deprecated".into(), json!(true));
    }
    if !metadata.annotations.is_empty() {
        map.insert("annotations".into(), json!(metadata.annotations));
    }
    put_str(&mut map, "kubeVersion", &metadata.kube_version);
    if let Some(deps) = metadata.dependencies.as_ref().filter(|d| !d.is_empty()) {
        let list: Vec<serde_json::Value> = deps
            .iter()
            .map(|d| match d {
                None => serde_json::Value::Null,
                Some(d) => {
                    let mut o = serde_json::Map::new();
                    o.insert("name".into(), json!(d.name));
                    put_str(&mut o, "version", &d.version);
                    o.insert("repository".into(), json!(d.repository));
                    put_str(&mut o, "condition", &d.condition);
                    if !d.tags.is_empty() {
                        o.insert("tags".into(), json!(d.tags));
                    }
                    if d.enabled {
                        o.insert("enabled".into(), json!(true));
                    }
                    put_str(&mut o, "alias", &d.alias);
                    serde_json::Value::Object(o)
                }
            })
            .collect();
        map.insert("dependencies".into(), json!(list));
    }
    put_str(&mut map, "type", &metadata.chart_type);
    serde_json::to_vec(&serde_json::Value::Object(map)).unwrap_or_default()
}

/// The manifest annotations Helm writes (helm-compat.md §7.6).
pub fn manifest_annotations(metadata: &crate::Metadata, created: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for (k, v) in &metadata.annotations {
        out.insert(k.clone(), v.clone());
    }
    let mut set = |k: &str, v: String| {
        if !v.is_empty() {
            out.insert(format!("org.opencontainers.image.{k}"), v);
        }
    };
    set("description", metadata.description.clone());
    set("url", metadata.home.clone());
    set("source", metadata.sources.first().cloned().unwrap_or_default());
    set("created", created.to_string());
    let authors: Vec<String> = metadata
        .maintainers
        .iter()
        .flatten()
        .map(|m| {
            if m.email.is_empty() {
                m.name.clone()
            } else {
                format!("{} ({})", m.name, m.email)
            }
        })
        .collect();
    set("authors", authors.join(", "));
    set("title", metadata.name.clone());
    set("version", metadata.version.clone());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_parse() {
        let r = Reference::parse("oci://127.0.0.1:5000/charts/app:1.2.3_build.1").unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "charts/app");
        assert_eq!(r.tag.as_deref(), Some("1.2.3_build.1"));
        assert_eq!(r.chart_name(), "app");
        assert_eq!(r.base(), "oci://127.0.0.1:5000/charts/app");
        let d = format!("oci://h/app@sha256:{}", "a".repeat(64));
        let r = Reference::parse(&d).unwrap();
        assert_eq!((r.repository.as_str(), r.tag.as_deref()), ("app", None));
        assert!(r.digest.is_some());
        for bad in [
            "https://h/app",
            "oci://h",
            "oci://h/App",
            "oci://h/app@sha256:12",
            "oci://h/app:",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags_and_versions_convert() {
        assert_eq!(version_to_tag("1.0.0+build.1"), "1.0.0_build.1");
        assert_eq!(tag_to_version("1.0.0_build.1"), "1.0.0+build.1");
    }

    #[test]
    fn challenges_and_links_parse() {
        let p = parse_challenge(r#"Bearer realm="https://auth/token",service="registry",scope="repository:a:pull""#);
        assert_eq!(p["realm"], "https://auth/token");
        assert_eq!(p["service"], "registry");
        assert_eq!(p["scope"], "repository:a:pull");
        assert_eq!(
            next_link(r#"</v2/a/tags/list?n=2&last=b>; rel="next""#).as_deref(),
            Some("/v2/a/tags/list?n=2&last=b")
        );
        assert_eq!(encode("repository:a/b:pull,push"), "repository%3Aa%2Fb%3Apull%2Cpush");
    }

    #[test]
    fn config_is_go_json_of_metadata() {
        let mut m = crate::Metadata {
            name: "app".into(),
            version: "1.0.0".into(),
            api_version: "v2".into(),
            app_version: "2".into(),
            ..Default::default()
        };
        m.annotations.insert("x".into(), "y".into());
        let got: serde_json::Value = serde_json::from_slice(&config_json(&m)).unwrap();
        assert_eq!(
            got,
            json!({"name":"app","version":"1.0.0","apiVersion":"v2","appVersion":"2","annotations":{"x":"y"}})
        );
        let a = manifest_annotations(&m, "2024-01-01T00:00:00Z");
        assert_eq!(a["org.opencontainers.image.title"], "app");
        assert_eq!(a["x"], "y");
    }
}
