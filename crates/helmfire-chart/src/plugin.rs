//! Helm 4 plugins (helm v4.1.4 `internal/plugin`): where they live, what their `plugin.yaml`
//! says, and how the subprocess runtime starts them.
//!
//! Two plugin types matter to helmfire: `getter/v1` (chart sources fetch `s3://…`-style URLs
//! through them, see [`crate::source`]) and `postrenderer/v1` (the render stage pipes
//! manifests through them). Both are found as helm finds them: `$HELM_PLUGINS`, else
//! `$HELM_DATA_HOME/plugins`, else `${XDG_DATA_HOME:-~/.local/share}/helm/plugins`; every
//! `*/plugin.yaml` one level down is loaded, broken ones are skipped, two plugins claiming one
//! name in a directory fail the lookup. `plugin.yaml` is read in both formats helm accepts:
//! `apiVersion: v1` (strict top level, `type`, `runtime`, `config`, `runtimeConfig`) and the
//! legacy helm 3 format (which can be a getter through `downloaders:`, never a post-renderer).
//!
//! Only the `subprocess` runtime runs here; an `extism/v1` (Wasm) plugin is found but refused
//! with [`PluginError::Wasm`]. This module lives in the chart crate because getters belong to
//! chart sources and the render stage (in the estate library) sits above it; it never prints.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use helmfire_value::{Value, yaml};

/// The plugin file helm looks for in each plugin directory.
pub const PLUGIN_FILE: &str = "plugin.yaml";

/// One `platformCommand` entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlatformCommand {
    pub os: String,
    pub arch: String,
    pub command: String,
    pub args: Vec<String>,
}

/// One `protocolCommands` entry of a getter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProtocolCommand {
    pub protocols: Vec<String>,
    pub platform_command: Vec<PlatformCommand>,
}

/// How a plugin runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Runtime {
    Subprocess,
    /// `extism/v1`: a Wasm module, which helmfire does not run.
    Extism,
}

/// A loaded plugin.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plugin {
    /// `metadata.name` (not the directory name).
    pub name: String,
    pub version: String,
    /// `cli/v1`, `getter/v1`, `postrenderer/v1`.
    pub plugin_type: String,
    pub runtime: Runtime,
    /// The plugin's directory (`HELM_PLUGIN_DIR`).
    pub dir: PathBuf,
    /// `runtimeConfig.platformCommand` (legacy: `platformCommand` or `command`).
    pub platform_command: Vec<PlatformCommand>,
    /// `config.protocols` of a getter.
    pub protocols: Vec<String>,
    /// `runtimeConfig.protocolCommands` (legacy: `downloaders`).
    pub protocol_commands: Vec<ProtocolCommand>,
}

/// Why plugins could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// No plugin of this name and type (helm: `plugin: {Name:x Type:postrenderer/v1} not found`).
    #[error(
        "plugin `{name}` of type {plugin_type} not found in {}{}",
        display_dirs(dirs),
        skipped_note(skipped)
    )]
    NotFound {
        name: String,
        plugin_type: String,
        dirs: Vec<PathBuf>,
        /// Plugin files that failed to load, with why (helm only logs these).
        skipped: Vec<Skipped>,
    },
    /// helm's `detectDuplicates`.
    #[error("two plugins claim the name `{name}` at {} and {}", first.display(), second.display())]
    Duplicate {
        name: String,
        first: PathBuf,
        second: PathBuf,
    },
    /// The plugin uses the `extism/v1` (Wasm) runtime.
    #[error("plugin `{name}` at {} uses the Wasm runtime (extism/v1), which helmfire does not support; use a subprocess plugin", dir.display())]
    Wasm { name: String, dir: PathBuf },
    /// `no plugin command is applicable` (nothing matches this OS and architecture).
    #[error("plugin `{name}`: no plugin command is applicable")]
    NoCommand { name: String },
    /// A getter without a `protocolCommands` entry for the scheme.
    #[error("plugin `{name}`: no downloader found for protocol {protocol:?}")]
    NoDownloader { name: String, protocol: String },
    /// The command could not be started.
    #[error("plugin `{name}`: cannot run `{}`", program.display())]
    Start {
        name: String,
        program: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// helm: `plugin "NAME" exited with error`; what it wrote to stderr is kept.
    #[error("plugin `{name}` exited with {status}{}", stderr_note(stderr))]
    Exit {
        name: String,
        status: String,
        stderr: String,
    },
}

fn display_dirs(dirs: &[PathBuf]) -> String {
    if dirs.is_empty() {
        return "no plugin directory (HELM_PLUGINS is empty)".to_string();
    }
    dirs.iter()
        .map(|d| d.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn skipped_note(skipped: &[Skipped]) -> String {
    skipped
        .iter()
        .map(|(path, why)| format!("; skipped {}: {why}", path.display()))
        .collect()
}

fn stderr_note(stderr: &str) -> String {
    let trimmed = stderr.trim();
    if trimmed.is_empty() {
        String::new()
    } else {
        format!(":\n{trimmed}")
    }
}

/// helm's `lazypath` data directory for `elem` (`$HELM_DATA_HOME/elem`, else
/// `${XDG_DATA_HOME:-$HOME/.local/share}/helm/elem`).
fn data_path(elem: &str) -> PathBuf {
    lazy_path("HELM_DATA_HOME", "XDG_DATA_HOME", ".local/share", elem)
}

fn lazy_path(helm_var: &str, xdg_var: &str, home_default: &str, elem: &str) -> PathBuf {
    if let Some(base) = std::env::var_os(helm_var).filter(|v| !v.is_empty()) {
        return PathBuf::from(base).join(elem);
    }
    let base = std::env::var_os(xdg_var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| home_dir().join(home_default));
    base.join("helm").join(elem)
}

fn home_dir() -> PathBuf {
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default()
}

/// `settings.PluginsDirectory`: `$HELM_PLUGINS` when set (even empty), else the data path.
pub fn plugins_directory() -> String {
    match std::env::var("HELM_PLUGINS") {
        Ok(value) => value,
        Err(_) => data_path("plugins").to_string_lossy().into_owned(),
    }
}

/// The directories a post-renderer is looked up in: `HELM_PLUGINS` split like a `PATH`.
pub fn post_renderer_dirs() -> Vec<PathBuf> {
    let dir = plugins_directory();
    if dir.is_empty() {
        return Vec::new();
    }
    std::env::split_paths(&dir).collect()
}

/// The directory getters are looked up in: helm passes `HELM_PLUGINS` as one directory.
pub fn getter_dirs() -> Vec<PathBuf> {
    vec![PathBuf::from(plugins_directory())]
}

/// A plugin file that could not be loaded, and why (helm only logs these).
pub type Skipped = (PathBuf, String);

/// Every loadable plugin under `dir` (sorted by path, as Go's `Glob`), and the plugin files that
/// failed to load with why. Two plugins with one name is an error, as helm's `LoadAllDir`.
pub fn load_all(dir: &Path) -> Result<(Vec<Plugin>, Vec<Skipped>), PluginError> {
    let mut files: Vec<PathBuf> = match std::fs::read_dir(dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|entry| entry.path().join(PLUGIN_FILE))
            .filter(|file| file.is_file())
            .collect(),
        Err(_) => Vec::new(),
    };
    files.sort();
    let mut plugins: Vec<Plugin> = Vec::new();
    let mut skipped = Vec::new();
    for file in files {
        let plugin_dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
        match load_dir(&plugin_dir) {
            Ok(plugin) => plugins.push(plugin),
            Err(why) => skipped.push((file, why)),
        }
    }
    for (i, plugin) in plugins.iter().enumerate() {
        if let Some(first) = plugins[..i].iter().find(|p| p.name == plugin.name) {
            return Err(PluginError::Duplicate {
                name: plugin.name.clone(),
                first: first.dir.clone(),
                second: plugin.dir.clone(),
            });
        }
    }
    Ok((plugins, skipped))
}

/// helm's `FindPlugin`: the first plugin (directories in order) whose name and type match.
/// A Wasm plugin that matches is refused, not run.
pub fn find(dirs: &[PathBuf], name: &str, plugin_type: &str) -> Result<Plugin, PluginError> {
    let mut skipped = Vec::new();
    for dir in dirs {
        let (plugins, mut dir_skipped) = load_all(dir)?;
        skipped.append(&mut dir_skipped);
        if let Some(plugin) = plugins
            .into_iter()
            .find(|p| p.name == name && p.plugin_type == plugin_type)
        {
            if plugin.runtime == Runtime::Extism {
                return Err(PluginError::Wasm {
                    name: plugin.name,
                    dir: plugin.dir,
                });
            }
            return Ok(plugin);
        }
    }
    // Only the files that could have been this plugin are worth mentioning.
    skipped.retain(|(path, _)| {
        path.parent()
            .and_then(Path::file_name)
            .is_some_and(|dir| dir.to_string_lossy() == name)
    });
    Err(PluginError::NotFound {
        name: name.to_string(),
        plugin_type: plugin_type.to_string(),
        dirs: dirs.to_vec(),
        skipped,
    })
}

/// Every `getter/v1` plugin under the getter directory (helm's `collectGetterPlugins`).
pub fn getters() -> Result<Vec<Plugin>, PluginError> {
    let mut found = Vec::new();
    for dir in getter_dirs() {
        let (plugins, _) = load_all(&dir)?;
        found.extend(plugins.into_iter().filter(|p| p.plugin_type == "getter/v1"));
    }
    Ok(found)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::List(items, _)) => items.iter().map(scalar_text).collect(),
        _ => Vec::new(),
    }
}

/// A scalar as text (plugin files are read with YAML's implicit types: `version: 1.0`).
fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.to_string(),
        Value::Int(i, _) => i.to_string(),
        Value::Float(f) => helmfire_value::number::format_float(*f, 'g', -1),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

fn string(map: &helmfire_value::Map, key: &str) -> String {
    map.get(key).map(scalar_text).unwrap_or_default()
}

fn map_of(value: Option<&Value>) -> helmfire_value::Map {
    match value {
        Some(Value::Map(m, _)) => m.read().clone(),
        _ => helmfire_value::Map::new(),
    }
}

fn platform_commands(value: Option<&Value>) -> Vec<PlatformCommand> {
    match value {
        Some(Value::List(items, _)) => items
            .iter()
            .map(|item| {
                let m = map_of(Some(item));
                PlatformCommand {
                    os: string(&m, "os"),
                    arch: string(&m, "arch"),
                    command: string(&m, "command"),
                    args: strings(m.get("args")),
                }
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// helm's `LoadDir` + `loadMetadata`: the plugin in `dir`, or why it cannot be loaded.
pub fn load_dir(dir: &Path) -> Result<Plugin, String> {
    let file = dir.join(PLUGIN_FILE);
    let text = std::fs::read_to_string(&file).map_err(|e| format!("failed to read plugin at {file:?}: {e}"))?;
    let value = yaml::decode(&text).map_err(|e| format!("failed to load plugin {dir:?}: {e}"))?;
    let top = map_of(Some(&value));
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    match string(&top, "apiVersion").as_str() {
        "" => load_legacy(&top, dir),
        "v1" => load_v1(&top, dir),
        other => Err(format!("invalid plugin apiVersion: {other:?}")),
    }
}

fn load_v1(top: &helmfire_value::Map, dir: PathBuf) -> Result<Plugin, String> {
    const KNOWN: [&str; 8] = [
        "apiVersion",
        "name",
        "type",
        "runtime",
        "version",
        "sourceURL",
        "config",
        "runtimeConfig",
    ];
    if let Some(unknown) = top.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(format!("field {unknown} not found in type plugin.MetadataV1"));
    }
    let name = string(top, "name");
    if !valid_name(&name) {
        return Err("invalid plugin `name`".to_string());
    }
    let version = string(top, "version");
    if version.is_empty() {
        return Err("plugin `version` is required".to_string());
    }
    if crate::semver::Version::parse_strict(&version).is_err() {
        return Err(format!("invalid plugin `version` {version:?}: must be valid semver"));
    }
    let plugin_type = string(top, "type");
    if plugin_type.is_empty() {
        return Err("`type` missing".to_string());
    }
    let runtime = match string(top, "runtime").as_str() {
        "" => return Err("`runtime` missing".to_string()),
        "subprocess" => Runtime::Subprocess,
        "extism/v1" => Runtime::Extism,
        other => return Err(format!("unsupported plugin runtime type: {other:?}")),
    };
    let config = map_of(top.get("config"));
    let mut protocols = Vec::new();
    match plugin_type.as_str() {
        "getter/v1" => {
            protocols = strings(config.get("protocols"));
            if protocols.is_empty() {
                return Err("getter has no protocols".to_string());
            }
            if let Some(i) = protocols.iter().position(String::is_empty) {
                return Err(format!("getter has empty protocol at index {i}"));
            }
        }
        "postrenderer/v1" => {
            if let Some(unknown) = config.keys().next() {
                return Err(format!("field {unknown} not found in type schema.ConfigPostRendererV1"));
            }
        }
        "cli/v1" | "test/v1" => {}
        other => return Err(format!("unsupported plugin type: {other:?}")),
    }
    let runtime_config = map_of(top.get("runtimeConfig"));
    let protocol_commands = match runtime_config.get("protocolCommands") {
        Some(Value::List(items, _)) => items
            .iter()
            .map(|item| {
                let m = map_of(Some(item));
                ProtocolCommand {
                    protocols: strings(m.get("protocols")),
                    platform_command: platform_commands(m.get("platformCommand")),
                }
            })
            .collect(),
        _ => Vec::new(),
    };
    Ok(Plugin {
        name,
        version,
        plugin_type,
        runtime,
        dir,
        platform_command: platform_commands(runtime_config.get("platformCommand")),
        protocols,
        protocol_commands,
    })
}

fn load_legacy(top: &helmfire_value::Map, dir: PathBuf) -> Result<Plugin, String> {
    let name = string(top, "name");
    if !valid_name(&name) {
        return Err(format!(
            "invalid plugin name {name:?}: must contain only a-z, A-Z, 0-9, _ and -"
        ));
    }
    let version = string(top, "version");
    if !version.is_empty() && crate::semver::Version::parse_strict(&version).is_err() {
        return Err(format!("invalid plugin version {version:?}: must be valid semver"));
    }
    let mut platform_command = platform_commands(top.get("platformCommand"));
    let command = string(top, "command");
    if !platform_command.is_empty() && !command.is_empty() {
        return Err("both platformCommand and command are set".to_string());
    }
    if platform_command.is_empty() && !command.is_empty() {
        platform_command.push(PlatformCommand {
            command,
            ..PlatformCommand::default()
        });
    }
    let mut protocols = Vec::new();
    let mut protocol_commands = Vec::new();
    if let Some(Value::List(downloaders, _)) = top.get("downloaders") {
        for (i, downloader) in downloaders.iter().enumerate() {
            let m = map_of(Some(downloader));
            let command = string(&m, "command");
            let these = strings(m.get("protocols"));
            if command.is_empty() {
                return Err(format!("downloader {i} has empty command"));
            }
            if these.is_empty() {
                return Err(format!("downloader {i} has no protocols"));
            }
            if let Some(j) = these.iter().position(String::is_empty) {
                return Err(format!("downloader {i} has empty protocol at index {j}"));
            }
            protocols.extend(these.iter().cloned());
            protocol_commands.push(ProtocolCommand {
                protocols: these,
                platform_command: vec![PlatformCommand {
                    command,
                    ..PlatformCommand::default()
                }],
            });
        }
    }
    let plugin_type = if protocol_commands.is_empty() {
        "cli/v1"
    } else {
        "getter/v1"
    };
    Ok(Plugin {
        name,
        version,
        plugin_type: plugin_type.to_string(),
        runtime: Runtime::Subprocess,
        dir,
        platform_command,
        protocols,
        protocol_commands,
    })
}

/// Go's `runtime.GOOS`/`GOARCH` for this build.
fn go_os() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    }
}

fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    }
}

/// helm's `getPlatformCommand`: exact OS and architecture, else the first entry for this OS
/// without an architecture, else the first entry with neither. The command is split on single
/// spaces.
fn platform_command(cmds: &[PlatformCommand]) -> (Vec<String>, Vec<String>) {
    let (os, arch) = (go_os(), go_arch());
    let mut chosen: Option<&PlatformCommand> = None;
    let mut found_os = false;
    for c in cmds {
        if c.os.eq_ignore_ascii_case(os) && c.arch.eq_ignore_ascii_case(arch) {
            chosen = Some(c);
            break;
        }
        if (!c.os.is_empty() && !c.os.eq_ignore_ascii_case(os)) || !c.arch.is_empty() {
            continue;
        }
        if !found_os && !c.os.is_empty() && c.os.eq_ignore_ascii_case(os) {
            chosen = Some(c);
            found_os = true;
        } else if chosen.is_none() {
            chosen = Some(c);
        }
    }
    match chosen {
        Some(c) => (c.command.split(' ').map(str::to_string).collect(), c.args.clone()),
        None => (Vec::new(), Vec::new()),
    }
}

/// Go's `os.Expand(s, mapping)`: `$NAME` and `${NAME}`; unknown names are empty; `$` before a
/// special character names that one character; a malformed `${` eats what follows.
pub fn go_expand(s: &str, env: &BTreeMap<String, String>) -> String {
    let b = s.as_bytes();
    let mut out = String::new();
    let mut i = 0;
    let mut start = 0;
    while i < b.len() {
        if b[i] == b'$' && i + 1 < b.len() {
            out.push_str(&s[start..i]);
            let (name, width) = shell_name(&s[i + 1..]);
            if name.is_none() && width > 0 {
                // Bad syntax: Go drops the characters.
            } else if let Some(name) = name {
                out.push_str(env.get(name).map(String::as_str).unwrap_or(""));
            } else {
                // `$` followed by nothing usable: Go keeps the `$`.
                out.push('$');
            }
            i += 1 + width;
            start = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&s[start..]);
    out
}

/// Go's `getShellName`: the name after `$` and how many bytes it spans.
fn shell_name(s: &str) -> (Option<&str>, usize) {
    let b = s.as_bytes();
    if b[0] == b'{' {
        if b.len() > 2 && is_shell_special(b[1]) && b[2] == b'}' {
            return (Some(&s[1..2]), 3);
        }
        for i in 1..b.len() {
            if b[i] == b'}' {
                if i == 1 {
                    return (None, 2);
                }
                return (Some(&s[1..i]), i + 1);
            }
        }
        return (None, 1);
    }
    if is_shell_special(b[0]) {
        return (Some(&s[0..1]), 1);
    }
    let mut i = 0;
    while i < b.len() && (b[i] == b'_' || b[i].is_ascii_alphanumeric()) {
        i += 1;
    }
    if i == 0 { (None, 0) } else { (Some(&s[..i]), i) }
}

fn is_shell_special(c: u8) -> bool {
    matches!(c, b'*' | b'#' | b'$' | b'@' | b'!' | b'?' | b'-') || c.is_ascii_digit()
}

/// helm's `PrepareCommands`: the program (always expanded) and its arguments (expanded when
/// `expand_args`), then `extra_args` verbatim.
pub fn prepare_command(
    plugin: &Plugin,
    cmds: &[PlatformCommand],
    expand_args: bool,
    extra_args: &[String],
    env: &BTreeMap<String, String>,
) -> Result<(String, Vec<String>), PluginError> {
    let (parts, args) = platform_command(cmds);
    if parts.is_empty() || parts[0].is_empty() {
        return Err(PluginError::NoCommand {
            name: plugin.name.clone(),
        });
    }
    let main = go_expand(&parts[0], env);
    let expand = |s: &String| if expand_args { go_expand(s, env) } else { s.clone() };
    let mut argv: Vec<String> = parts[1..].iter().map(expand).collect();
    argv.extend(args.iter().map(expand));
    argv.extend(extra_args.iter().cloned());
    Ok((main, argv))
}

/// The process environment plus the plugin's `HELM_PLUGIN_NAME` and `HELM_PLUGIN_DIR`.
pub fn plugin_env(plugin: &Plugin, extra: &[(String, String)]) -> BTreeMap<String, String> {
    let mut env: BTreeMap<String, String> = std::env::vars_os()
        .map(|(k, v)| (k.to_string_lossy().into_owned(), v.to_string_lossy().into_owned()))
        .collect();
    for (k, v) in extra {
        env.insert(k.clone(), v.clone());
    }
    env.insert("HELM_PLUGIN_NAME".to_string(), plugin.name.clone());
    env.insert("HELM_PLUGIN_DIR".to_string(), plugin.dir.to_string_lossy().into_owned());
    env
}

/// What a finished subprocess wrote.
#[derive(Debug)]
pub struct Finished {
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Runs `program` with `args` in an environment of exactly `env`, feeding `stdin` (closed after
/// writing) and collecting stdout and stderr. A non-zero exit is [`PluginError::Exit`] with the
/// stderr text. `name` names the plugin (or renderer) in errors.
pub fn execute(
    name: &str,
    program: &Path,
    args: &[String],
    env: Option<&BTreeMap<String, String>>,
    stdin: Option<&[u8]>,
) -> Result<Finished, PluginError> {
    let mut command = Command::new(program);
    command.args(args);
    if let Some(env) = env {
        command.env_clear().envs(env);
    }
    command
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let start_error = |source| PluginError::Start {
        name: name.to_string(),
        program: program.to_path_buf(),
        source,
    };
    let mut child = command.spawn().map_err(start_error)?;
    let output = std::thread::scope(|scope| {
        if let (Some(data), Some(mut pipe)) = (stdin, child.stdin.take()) {
            // A renderer may exit without reading all of its input; the write error is then
            // expected and its exit status tells what happened.
            scope.spawn(move || {
                let _ = pipe.write_all(data);
            });
        }
        child.wait_with_output()
    })
    .map_err(start_error)?;
    if !output.status.success() {
        let status = match output.status.code() {
            Some(code) => format!("exit code {code}"),
            None => format!("{}", output.status),
        };
        return Err(PluginError::Exit {
            name: name.to_string(),
            status,
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        });
    }
    Ok(Finished {
        stdout: output.stdout,
        stderr: output.stderr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn expands_like_go_os_expand() {
        let e = env(&[("HELM_PLUGIN_DIR", "/p"), ("X", "x")]);
        assert_eq!(go_expand("${HELM_PLUGIN_DIR}/run.sh", &e), "/p/run.sh");
        assert_eq!(go_expand("$X-$Y.$", &e), "x-.$");
        assert_eq!(go_expand("a${}b", &e), "ab");
        assert_eq!(go_expand("$1x", &e), "x");
    }

    #[test]
    fn platform_commands_prefer_exact_then_os_then_any() {
        let any = PlatformCommand {
            command: "any".into(),
            ..PlatformCommand::default()
        };
        let this_os = PlatformCommand {
            os: go_os().into(),
            command: "os".into(),
            ..PlatformCommand::default()
        };
        let other = PlatformCommand {
            os: "plan9".into(),
            command: "other".into(),
            ..PlatformCommand::default()
        };
        assert_eq!(platform_command(&[any.clone(), this_os.clone()]).0, vec!["os"]);
        assert_eq!(platform_command(&[other.clone(), any.clone()]).0, vec!["any"]);
        assert!(platform_command(&[other]).0.is_empty());
    }

    #[test]
    fn plugin_files_load_in_both_formats() {
        let dir = tempfile::tempdir().expect("tempdir");
        let v1 = dir.path().join("pr");
        std::fs::create_dir_all(&v1).expect("mkdir");
        std::fs::write(
            v1.join(PLUGIN_FILE),
            "apiVersion: v1\nname: pr\nversion: 0.1.0\ntype: postrenderer/v1\nruntime: subprocess\nruntimeConfig:\n  platformCommand:\n  - command: \"${HELM_PLUGIN_DIR}/pr.sh\"\n    args: [a]\n",
        )
        .expect("write");
        let legacy = dir.path().join("s3");
        std::fs::create_dir_all(&legacy).expect("mkdir");
        std::fs::write(
            legacy.join(PLUGIN_FILE),
            "name: s3\nversion: 1.0.0\ndownloaders:\n- command: bin/get.sh\n  protocols: [s3, s3a]\n",
        )
        .expect("write");
        let broken = dir.path().join("broken");
        std::fs::create_dir_all(&broken).expect("mkdir");
        std::fs::write(broken.join(PLUGIN_FILE), "apiVersion: v1\nname: broken\nbogus: 1\n").expect("write");

        let dirs = vec![dir.path().to_path_buf()];
        let pr = find(&dirs, "pr", "postrenderer/v1").expect("found");
        assert_eq!(pr.platform_command[0].args, vec!["a"]);
        let s3 = find(&dirs, "s3", "getter/v1").expect("found");
        assert_eq!(s3.protocols, vec!["s3", "s3a"]);
        let err = find(&dirs, "broken", "postrenderer/v1").unwrap_err().to_string();
        assert!(
            err.contains("not found") && err.contains("field bogus not found"),
            "{err}"
        );
        assert!(matches!(
            find(&dirs, "s3", "postrenderer/v1"),
            Err(PluginError::NotFound { .. })
        ));
    }

    #[test]
    fn wasm_plugins_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let wasm = dir.path().join("w");
        std::fs::create_dir_all(&wasm).expect("mkdir");
        std::fs::write(
            wasm.join(PLUGIN_FILE),
            "apiVersion: v1\nname: w\nversion: 0.1.0\ntype: postrenderer/v1\nruntime: extism/v1\n",
        )
        .expect("write");
        let err = find(&[dir.path().to_path_buf()], "w", "postrenderer/v1").unwrap_err();
        assert!(err.to_string().contains("Wasm runtime (extism/v1)"), "{err}");
    }

    #[test]
    fn duplicate_names_fail_the_lookup() {
        let dir = tempfile::tempdir().expect("tempdir");
        for d in ["a", "b"] {
            let p = dir.path().join(d);
            std::fs::create_dir_all(&p).expect("mkdir");
            std::fs::write(
                p.join(PLUGIN_FILE),
                "apiVersion: v1\nname: same\nversion: 0.1.0\ntype: postrenderer/v1\nruntime: subprocess\n",
            )
            .expect("write");
        }
        let err = find(&[dir.path().to_path_buf()], "other", "postrenderer/v1").unwrap_err();
        assert!(matches!(err, PluginError::Duplicate { .. }), "{err}");
    }
}
