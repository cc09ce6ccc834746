//! Credentials and TLS settings found outside the state file, where Helm keeps them: helm's
//! `repositories.yaml` (for a repository the state file names by URL only, e.g. a chart
//! dependency's `repository:`), helm's registry config and docker's `config.json` (for OCI
//! registries). Read-only; a missing or unreadable file means "no credentials".

use std::collections::BTreeMap;
use std::path::PathBuf;

use base64::Engine;
use serde::Deserialize;

use super::http::{Credentials, TlsSettings};
use crate::reference::Secret;

/// A repository from helm's `repositories.yaml`.
#[derive(Clone, Debug, Default)]
pub struct HelmRepository {
    pub name: String,
    pub url: String,
    pub credentials: Option<Credentials>,
    pub tls: TlsSettings,
    pub pass_credentials: bool,
}

#[derive(Deserialize)]
struct RawRepositoryFile {
    #[serde(default)]
    repositories: Option<Vec<RawHelmRepository>>,
}

#[derive(Deserialize)]
struct RawHelmRepository {
    #[serde(default)]
    name: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default, rename = "caFile")]
    ca_file: String,
    #[serde(default, rename = "certFile")]
    cert_file: String,
    #[serde(default, rename = "keyFile")]
    key_file: String,
    #[serde(default)]
    insecure_skip_tls_verify: bool,
    #[serde(default)]
    pass_credentials_all: bool,
}

/// helm's `helmpath.ConfigPath(elem)`: `$HELM_CONFIG_HOME/elem`, else
/// `${XDG_CONFIG_HOME:-~/.config}/helm/elem`.
fn config_path(elem: &str) -> Option<PathBuf> {
    if let Some(base) = std::env::var_os("HELM_CONFIG_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(base).join(elem));
    }
    std::env::var_os("XDG_CONFIG_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .map(|c| c.join("helm").join(elem))
}

/// `$HELM_REPOSITORY_CONFIG`, else helm's config path `repositories.yaml`.
pub fn helm_repository_config() -> Option<PathBuf> {
    std::env::var_os("HELM_REPOSITORY_CONFIG")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| config_path("repositories.yaml"))
}

/// The repositories helm knows, or none when the file is absent or unreadable.
pub fn helm_repositories() -> Vec<HelmRepository> {
    let Some(path) = helm_repository_config() else {
        return Vec::new();
    };
    let Ok(data) = std::fs::read(&path) else {
        return Vec::new();
    };
    parse_helm_repositories(&data)
}

fn parse_helm_repositories(data: &[u8]) -> Vec<HelmRepository> {
    let Ok(file) = helmfire_value::interop::from_yaml::<RawRepositoryFile>(&String::from_utf8_lossy(data)) else {
        return Vec::new();
    };
    let path = |s: String| (!s.is_empty()).then(|| PathBuf::from(s));
    file.repositories
        .unwrap_or_default()
        .into_iter()
        .map(|r| HelmRepository {
            name: r.name,
            url: r.url,
            credentials: (!r.username.is_empty() || !r.password.is_empty()).then_some(Credentials {
                username: r.username,
                password: Secret(r.password),
            }),
            tls: TlsSettings {
                ca_file: path(r.ca_file),
                cert_file: path(r.cert_file),
                key_file: path(r.key_file),
                insecure_skip_verify: r.insecure_skip_tls_verify,
            },
            pass_credentials: r.pass_credentials_all,
        })
        .collect()
}

/// Normalises a repository URL for comparison (Helm compares with the trailing slash trimmed).
pub fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

#[derive(Deserialize)]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, DockerAuth>,
}

#[derive(Deserialize)]
struct DockerAuth {
    #[serde(default)]
    auth: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

/// Registry config files in the order they are consulted: helm's own
/// (`$HELM_REGISTRY_CONFIG`, else helm's config path `registry/config.json`), then docker's
/// (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`).
pub fn registry_configs() -> Vec<PathBuf> {
    let mut out = Vec::new();
    match std::env::var_os("HELM_REGISTRY_CONFIG").filter(|d| !d.is_empty()) {
        Some(p) => out.push(PathBuf::from(p)),
        None => out.extend(config_path("registry/config.json")),
    }
    match std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        Some(p) => out.push(PathBuf::from(p).join("config.json")),
        None => out.extend(std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker").join("config.json"))),
    }
    out
}

/// Credentials for a registry host (`host[:port]`) from the registry config files.
pub fn registry_credentials(host: &str) -> Option<Credentials> {
    registry_configs()
        .into_iter()
        .find_map(|path| parse_docker_config(&std::fs::read(path).ok()?, host))
}

fn parse_docker_config(data: &[u8], host: &str) -> Option<Credentials> {
    let config: DockerConfig = serde_json::from_slice(data).ok()?;
    let wanted = |key: &str| {
        let key = key
            .trim_start_matches("https://")
            .trim_start_matches("http://")
            .trim_end_matches('/');
        // Docker Hub's legacy key is `https://index.docker.io/v1/`.
        key == host || key.split('/').next() == Some(host)
    };
    let auth = config.auths.iter().find(|(k, _)| wanted(k)).map(|(_, v)| v)?;
    if !auth.auth.is_empty() {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth.auth.trim())
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, pass) = text.split_once(':')?;
        return Some(Credentials {
            username: user.to_string(),
            password: Secret(pass.to_string()),
        });
    }
    (!auth.username.is_empty()).then(|| Credentials {
        username: auth.username.clone(),
        password: Secret(auth.password.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helm_repositories_yaml_is_read() {
        let repos = parse_helm_repositories(
            b"apiVersion: \"\"\nrepositories:\n- name: r\n  url: https://x/charts\n  username: u\n  password: p\n  caFile: /ca.pem\n  insecure_skip_tls_verify: true\n  pass_credentials_all: true\n",
        );
        assert_eq!(repos.len(), 1);
        assert_eq!(repos[0].credentials.as_ref().unwrap().username, "u");
        assert_eq!(repos[0].tls.ca_file.as_deref(), Some(std::path::Path::new("/ca.pem")));
        assert!(repos[0].tls.insecure_skip_verify && repos[0].pass_credentials);
        assert!(parse_helm_repositories(b"not: [valid").is_empty());
        assert!(same_url("https://x/charts/", "https://x/charts"));
    }

    #[test]
    fn docker_config_auths_are_decoded() {
        let config = br#"{"auths":{"127.0.0.1:5000":{"auth":"dTpwOng="},"https://index.docker.io/v1/":{"username":"d","password":"q"}}}"#;
        let c = parse_docker_config(config, "127.0.0.1:5000").unwrap();
        assert_eq!((c.username.as_str(), c.password.0.as_str()), ("u", "p:x"));
        assert_eq!(parse_docker_config(config, "index.docker.io").unwrap().username, "d");
        assert!(parse_docker_config(config, "other:1").is_none());
        assert!(parse_docker_config(b"{", "x").is_none());
    }
}
