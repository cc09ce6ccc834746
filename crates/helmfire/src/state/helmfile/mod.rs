//! helmfile's state files, read as helmfile v0.166.0 reads them, into the same
//! [`DesiredState`] a helmfire state file gives — so every command works on them unchanged.
//!
//! The pipeline mirrors helmfile's: `files` finds the state files (`helmfile.yaml`,
//! `helmfile.yaml.gotmpl`, `helmfile.d/`), `loader` splits each into parts, renders them in
//! two passes with helmfile's template functions (`template`) and environment (`env`), decodes
//! them strictly (`raw`) and merges parts, bases and sub-helmfiles; `release` runs helmfile's
//! release templating and maps every release onto a [`ReleaseSpec`](crate::state::ReleaseSpec).
//! What helmfire cannot do (sops secrets, `ref+` values, go-getter, chartify) is refused with
//! the file and line — never dropped. Every error points at the helmfile line the rendered text
//! came from (`source`). Nothing here prints.

mod env;
mod files;
pub mod import;
mod loader;
mod raw;
mod release;
mod source;
mod template;

use std::path::{Path, PathBuf};

pub use files::{DEFAULT_DIRECTORY, DEFAULT_FILES};
pub use release::{ReleaseOrigin, ValuesOrigin};

use super::error::{Diagnostic, StateError};
use super::model::{DesiredState, Environment, Notice, NoticeLevel};

/// What to read.
#[derive(Clone, Debug)]
pub struct Options<'a> {
    /// A helmfile, or a directory of them (`helmfile.d/`).
    pub path: &'a Path,
    /// The environment (`-e`); `default` when none was chosen.
    pub environment: &'a str,
    /// `--kube-context`, which overrides every release's.
    pub kube_context: Option<&'a str>,
}

/// A helmfile estate as helmfire reads it.
#[derive(Debug)]
pub struct Reading {
    pub state: DesiredState,
    /// One per release of `state.releases`.
    pub origins: Vec<ReleaseOrigin>,
    /// The state files read, in helmfile's visiting order.
    pub files: Vec<PathBuf>,
    /// Releases left out because their `condition` is false (helmfile skips them too).
    pub disabled: Vec<String>,
}

/// Whether `path` is read as a helmfile: a directory, a `.gotmpl` file, a file named
/// `helmfile*`, a file in a `helmfile.d` directory, or one that uses what only helmfile has. A
/// helmfire file (`helmfire.*`, any `.toml`) never is.
pub fn is_helmfile(path: &Path) -> bool {
    if path.is_dir() {
        return true;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.starts_with("helmfire") || name.ends_with(".toml") {
        return false;
    }
    name.ends_with(".gotmpl")
        || name.starts_with("helmfile")
        || path
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|dir| dir == DEFAULT_DIRECTORY)
        || looks_like_helmfile(path)
}

/// A state file of another name is a helmfile when it uses syntax or keys only helmfile has
/// (more of them than keys only helmfire has): template actions, `---` parts, `helmDefaults`,
/// `bases`, release `secrets`, `set:` as a list, ….
fn looks_like_helmfile(path: &Path) -> bool {
    // A file too large for a state file (or endless, `/dev/zero`) is left to the native loader,
    // which refuses it with the limit; never read more than that.
    let Ok(text) = crate::state::load::read_limited(path) else {
        return false;
    };
    const HELMFILE_ONLY: [&str; 30] = [
        "helmDefaults:",
        "bases:",
        "helmfiles:",
        "commonLabels:",
        "hooks:",
        "missingFileHandlerConfig:",
        "apiVersions:",
        "kubeVersion:",
        "lockFilePath:",
        "helmBinary:",
        "kustomizeBinary:",
        "charts:",
        "secrets:",
        "strategicMergePatches:",
        "jsonPatches:",
        "transformers:",
        "dependencies:",
        "setTemplate:",
        "valuesTemplate:",
        "postRenderer:",
        "installedTemplate:",
        "waitTemplate:",
        "chartPath:",
        "directory:",
        "forceNamespace:",
        "recreatePods:",
        "valuesPathPrefix:",
        "suppressDiff:",
        "skipDeps:",
        "keyring:",
    ];
    const HELMFIRE_ONLY: [&str; 10] = [
        "defaults:",
        "postRenderers:",
        "driftCorrection:",
        "ignoreDifferences:",
        "takeOwnership:",
        "serverSide:",
        "forceConflicts:",
        "disableHooks:",
        "skipCrds:",
        "plainHttp:",
    ];
    let mut helmfile = 0;
    let mut helmfire = 0;
    let mut previous = "";
    // Inside helmfire's `postRenderers:` (the indentation of its key), whose built-ins share
    // names with helmfile keys (`jsonPatches`, `commonLabels`).
    let mut post_renderers: Option<usize> = None;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let trimmed = line.trim_start().trim_start_matches("- ");
        if post_renderers.is_some_and(|key| indent <= key && !trimmed.is_empty() && !trimmed.starts_with('#')) {
            post_renderers = None;
        }
        if trimmed.starts_with("postRenderers:") {
            post_renderers = Some(indent);
        } else if post_renderers.is_some() {
            previous = line;
            continue;
        }
        // helmfire's own expressions are `${{ … }}`; a bare `{{` is a Go template action.
        let go_action = line.match_indices("{{").any(|(i, _)| !line[..i].ends_with('$'));
        if go_action || line.trim_end() == "---" {
            helmfile += 1;
        }
        if HELMFILE_ONLY.iter().any(|key| trimmed.starts_with(key)) {
            helmfile += 1;
        }
        if HELMFIRE_ONLY.iter().any(|key| trimmed.starts_with(key)) {
            helmfire += 1;
        }
        // helmfile's `set:` is a list of `{name, value}`; helmfire's is a map.
        if previous.trim() == "set:" && line.trim_start().starts_with("- name:") {
            helmfile += 1;
        }
        previous = line;
    }
    helmfile > helmfire
}

/// helmfile's default lookup in `dir`: `helmfile.yaml`, `helmfile.yaml.gotmpl` or `helmfile.d/`.
pub fn default_path(dir: &Path) -> Result<Option<PathBuf>, StateError> {
    files::default_file(dir).map_err(|message| Diagnostic::new(message, None).into())
}

/// Reads a helmfile (or `helmfile.d/`) with its releases and where they came from.
pub fn read(options: &Options<'_>) -> Result<Reading, StateError> {
    let environment = match std::env::var("HELMFILE_ENVIRONMENT") {
        Ok(chosen) if options.environment == "default" && !chosen.is_empty() => chosen,
        _ => options.environment.to_string(),
    };
    let mut loader = loader::Loader::new(&environment);
    loader.visit(options.path, None, None)?;
    if loader.states.is_empty() && !loader.skipped.is_empty() {
        let files: Vec<String> = loader.skipped.iter().map(|p| format!("`{}`", p.display())).collect();
        return Err(Diagnostic::new(
            format!("environment `{environment}` is not defined in {}", files.join(", ")),
            None,
        )
        .with_hint(
            "list it under `environments:` (helmfile skips every state file that does not define the environment)",
        )
        .into());
    }
    let converted = release::convert(&mut loader, options.kube_context)?;
    if converted.releases.is_empty() && converted.disabled.is_empty() {
        loader.notices.push(Notice {
            level: NoticeLevel::Warning,
            message: format!("no releases found for environment `{environment}` in any helmfile"),
        });
    }
    let files = loader.states.iter().map(|s| s.path.clone()).collect();
    let first = loader.states.last();
    let environment_values = first
        .map(|s| helmfire_value::interop::to_json(&env::map_value(s.rendered_values.clone())).unwrap_or_default())
        .unwrap_or_else(|| serde_json::json!({}));
    let base_dir = if options.path.is_dir() {
        options.path.to_path_buf()
    } else {
        loader::parent(options.path)
    };
    let state = DesiredState {
        path: options.path.to_path_buf(),
        base_dir,
        environment: Environment {
            name: environment,
            values: environment_values,
            kube_context: first.map(|s| s.env.kube_context.clone()).filter(|c| !c.is_empty()),
            storage: None,
        },
        repositories: converted.repositories,
        releases: converted.releases,
        notices: loader.notices,
    };
    Ok(Reading {
        state,
        origins: converted.origins,
        files,
        disabled: converted.disabled,
    })
}

/// Reads a helmfile into a [`DesiredState`].
pub fn load(options: &Options<'_>) -> Result<DesiredState, StateError> {
    read(options).map(|reading| reading.state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sniff(text: &str) -> bool {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.yaml");
        std::fs::write(&path, text).unwrap();
        is_helmfile(&path)
    }

    #[test]
    fn helmfires_post_renderers_do_not_read_as_helmfile_keys() {
        let native = "releases:\n  - name: web\n    chart: ./c\n    postRenderers:\n      - jsonPatches:\n          - target: {kind: Service}\n      - commonLabels: {team: a}\n  - name: api\n    chart: ./c\n";
        assert!(!sniff(native));
        let helmfile = "helmDefaults:\n  wait: true\nreleases:\n  - name: web\n    chart: ./c\n    jsonPatches:\n      - target: {kind: Service}\n";
        assert!(sniff(helmfile));
    }

    #[cfg(unix)]
    #[test]
    fn an_endless_file_is_left_to_the_native_loader() {
        assert!(!is_helmfile(Path::new("/dev/zero")));
    }
}
