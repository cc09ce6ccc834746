//! Fetching a URL through a helm `getter/v1` plugin (`s3://`, `gs://`, `git+https://`, …),
//! exactly as helm v4.1.4 calls one (`internal/plugin/runtime_subprocess_getter.go`,
//! `pkg/getter/plugingetter.go`):
//!
//! - the plugin is the first `getter/v1` plugin whose `config.protocols` (legacy:
//!   `downloaders[].protocols`) holds the scheme; helm's own `http`, `https` and `oci` are never
//!   given to a plugin;
//! - the program is `<plugin dir>/<first word of the command>` (the first word `$VAR`-expanded,
//!   the other words and `args` not), its arguments the other words and `args`, then
//!   `certFile keyFile caFile URL` (empty strings when unset);
//! - its environment is ours, helm's settings (`HELM_BIN`, `HELM_CACHE_HOME`, `HELM_NAMESPACE`,
//!   …), `HELM_PLUGIN_NAME`, `HELM_PLUGIN_DIR`, `HELM_PLUGIN_USERNAME`, `HELM_PLUGIN_PASSWORD`
//!   and `HELM_PLUGIN_PASS_CREDENTIALS_ALL`;
//! - what it writes on stdout is the file. Helm lets its stderr through; here it is part of the
//!   error when the plugin fails.

use std::collections::BTreeMap;
use std::path::PathBuf;

use bytes::Bytes;

use super::{RepositoryConfig, SourceErrorKind};
use crate::plugin::{self, Plugin, PluginError};

/// The scheme of `url` when a plugin has to serve it (`None` for `http`, `https`, `oci` and
/// text that is not a URL).
pub fn plugin_scheme(url: &str) -> Option<&str> {
    let (scheme, _) = url.split_once("://")?;
    if scheme.is_empty() || matches!(scheme, "http" | "https" | "oci") {
        return None;
    }
    Some(scheme)
}

/// The `getter/v1` plugin serving `scheme`, if any.
pub fn getter_for(scheme: &str) -> Result<Option<Plugin>, PluginError> {
    Ok(plugin::getters()?
        .into_iter()
        .find(|p| p.protocols.iter().any(|s| s == scheme)))
}

/// helm's `settings.EnvVars()`: what helm tells a getter about its configuration.
fn helm_settings() -> Vec<(String, String)> {
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    let or = |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_string());
    let home = PathBuf::from(var("HOME"));
    let lazy = |helm: &str, xdg: &str, default: &str| -> PathBuf {
        match std::env::var_os(helm).filter(|v| !v.is_empty()) {
            Some(base) => PathBuf::from(base),
            None => std::env::var_os(xdg)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| home.join(default))
                .join("helm"),
        }
    };
    let cache = lazy("HELM_CACHE_HOME", "XDG_CACHE_HOME", ".cache");
    let config = lazy("HELM_CONFIG_HOME", "XDG_CONFIG_HOME", ".config");
    let data = lazy("HELM_DATA_HOME", "XDG_DATA_HOME", ".local/share");
    let path = |p: PathBuf| p.to_string_lossy().into_owned();
    let mut vars = vec![
        ("HELM_BIN".to_string(), or("HELM_BIN", "helm")),
        ("HELM_CACHE_HOME".to_string(), path(cache.clone())),
        ("HELM_CONFIG_HOME".to_string(), path(config.clone())),
        ("HELM_DATA_HOME".to_string(), path(data)),
        ("HELM_DEBUG".to_string(), or("HELM_DEBUG", "false")),
        ("HELM_PLUGINS".to_string(), plugin::plugins_directory()),
        (
            "HELM_REGISTRY_CONFIG".to_string(),
            or("HELM_REGISTRY_CONFIG", &path(config.join("registry/config.json"))),
        ),
        (
            "HELM_REPOSITORY_CACHE".to_string(),
            or("HELM_REPOSITORY_CACHE", &path(cache.join("repository"))),
        ),
        (
            "HELM_CONTENT_CACHE".to_string(),
            or("HELM_CONTENT_CACHE", &path(cache.join("content"))),
        ),
        (
            "HELM_REPOSITORY_CONFIG".to_string(),
            or("HELM_REPOSITORY_CONFIG", &path(config.join("repositories.yaml"))),
        ),
        ("HELM_NAMESPACE".to_string(), or("HELM_NAMESPACE", "default")),
        ("HELM_MAX_HISTORY".to_string(), or("HELM_MAX_HISTORY", "10")),
        ("HELM_BURST_LIMIT".to_string(), or("HELM_BURST_LIMIT", "100")),
        ("HELM_QPS".to_string(), or("HELM_QPS", "0.00")),
        ("HELM_KUBECONTEXT".to_string(), var("HELM_KUBECONTEXT")),
        ("HELM_KUBETOKEN".to_string(), var("HELM_KUBETOKEN")),
        ("HELM_KUBEASUSER".to_string(), var("HELM_KUBEASUSER")),
        ("HELM_KUBEASGROUPS".to_string(), var("HELM_KUBEASGROUPS")),
        ("HELM_KUBEAPISERVER".to_string(), var("HELM_KUBEAPISERVER")),
        ("HELM_KUBECAFILE".to_string(), var("HELM_KUBECAFILE")),
        (
            "HELM_KUBEINSECURE_SKIP_TLS_VERIFY".to_string(),
            or("HELM_KUBEINSECURE_SKIP_TLS_VERIFY", "false"),
        ),
        ("HELM_KUBETLS_SERVER_NAME".to_string(), var("HELM_KUBETLS_SERVER_NAME")),
    ];
    if let Ok(kubeconfig) = std::env::var("KUBECONFIG") {
        vars.push(("KUBECONFIG".to_string(), kubeconfig));
    }
    vars
}

/// Runs the plugin serving `url`'s scheme and returns what it printed. `with_credentials`:
/// pass the repository's username and password (helm does for indexes, and for archives only
/// when both are set).
pub(super) async fn fetch(
    repo: &RepositoryConfig,
    url: &str,
    with_credentials: bool,
) -> Result<Bytes, SourceErrorKind> {
    let scheme = plugin_scheme(url).unwrap_or_default().to_string();
    let url = url.to_string();
    let repo = repo.clone();
    tokio::task::spawn_blocking(move || fetch_blocking(&repo, &url, &scheme, with_credentials))
        .await
        .map_err(|_| SourceErrorKind::Task)?
}

fn fetch_blocking(
    repo: &RepositoryConfig,
    url: &str,
    scheme: &str,
    with_credentials: bool,
) -> Result<Bytes, SourceErrorKind> {
    let getter_error = |source| SourceErrorKind::Getter {
        url: url.to_string(),
        source,
    };
    let found = getter_for(scheme)
        .map_err(getter_error)?
        .ok_or_else(|| SourceErrorKind::NoGetter {
            scheme: scheme.to_string(),
            url: url.to_string(),
        })?;
    let command = found
        .protocol_commands
        .iter()
        .find(|c| c.protocols.iter().any(|p| p == scheme))
        .ok_or_else(|| {
            getter_error(PluginError::NoDownloader {
                name: found.name.clone(),
                protocol: scheme.to_string(),
            })
        })?;
    let (username, password) = match (&repo.credentials, with_credentials) {
        (Some(c), true) => (c.username.clone(), c.password.0.clone()),
        _ => (String::new(), String::new()),
    };
    let mut extra = helm_settings();
    extra.extend([
        ("HELM_PLUGIN_USERNAME".to_string(), username),
        ("HELM_PLUGIN_PASSWORD".to_string(), password),
        (
            "HELM_PLUGIN_PASS_CREDENTIALS_ALL".to_string(),
            repo.pass_credentials.to_string(),
        ),
    ]);
    let env: BTreeMap<String, String> = plugin::plugin_env(&found, &extra);
    let (program, mut args) =
        plugin::prepare_command(&found, &command.platform_command, false, &[], &env).map_err(getter_error)?;
    let file = |f: &Option<PathBuf>| f.as_ref().map(|p| p.to_string_lossy().into_owned()).unwrap_or_default();
    args.extend([
        file(&repo.tls.cert_file),
        file(&repo.tls.key_file),
        file(&repo.tls.ca_file),
        url.to_string(),
    ]);
    // helm joins the command with the plugin directory, whatever it is.
    let program = found.dir.join(program.trim_start_matches('/'));
    let finished = plugin::execute(&found.name, &program, &args, Some(&env), None).map_err(getter_error)?;
    Ok(Bytes::from(finished.stdout))
}

#[cfg(test)]
mod tests {
    use super::plugin_scheme;

    #[test]
    fn only_foreign_schemes_need_a_plugin() {
        assert_eq!(plugin_scheme("s3://bucket/charts"), Some("s3"));
        assert_eq!(plugin_scheme("git+https://example.com/repo"), Some("git+https"));
        assert_eq!(plugin_scheme("https://charts.example.com"), None);
        assert_eq!(plugin_scheme("oci://registry/charts"), None);
        assert_eq!(plugin_scheme("./local"), None);
    }
}
