//! helmfile's template language on helmfire's Go template engine: Sprig and helmfile's own
//! functions (`pkg/tmpl/context_funcs.go`), `_*.tpl` helpers, and the two modes helmfile renders
//! in (the first pass with `missingkey=zero` and stubbed I/O, and the real one).
//!
//! The library is built per base directory (`readFile`, `exec` and `isFile` resolve against it)
//! and cached. Nothing here knows state files; it renders text with data it is given.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use helmfire_template::{Context, Func, FuncError, Functions, Param, TemplateError, TemplateSet};
use helmfire_value::{ListType, Map, MapRef, MapType, Object, Value};

/// Which of helmfile's renderers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Pass {
    /// `NewFirstPassRenderer`: `missingkey=zero`; `exec`, `envExec`, `readFile`, `readDir` and
    /// `readDirEntries` return nothing.
    First,
    /// `NewFileRenderer`: `missingkey=error`, everything live.
    Final,
}

/// A rendering that failed, with what was written before the failure (helmfile's first pass
/// keeps it).
pub(super) struct Failure {
    pub partial: Option<String>,
    pub error: RenderError,
}

#[derive(Debug)]
pub(super) enum RenderError {
    /// The text itself failed to parse or execute.
    Template(TemplateError),
    /// A `_*.tpl` helper in the base directory failed to read or parse.
    Helper { path: PathBuf, message: String },
}

/// The name the rendered text goes by, as in helmfile (`template: stringTemplate:3:9: …`).
pub(super) const TEMPLATE_NAME: &str = "stringTemplate";

/// Renders helmfile templates; the function libraries and helpers are cached per directory.
#[derive(Default)]
pub(super) struct Renderer {
    libraries: Mutex<HashMap<(PathBuf, Pass), Arc<Functions>>>,
    helpers: Mutex<HashMap<PathBuf, Helpers>>,
}

/// The `_*.tpl` files of a directory: path and content.
type Helpers = Arc<Vec<(PathBuf, String)>>;

impl Renderer {
    /// Renders `text` with `data`; `base_dir` is where relative paths and `_*.tpl` helpers are.
    pub fn render(&self, text: &str, base_dir: &Path, data: &Value, pass: Pass) -> Result<String, Failure> {
        let mut set = TemplateSet::new(self.library(base_dir, pass));
        set.name = TEMPLATE_NAME.to_string();
        set.options.strict = pass == Pass::Final;
        let helpers = self
            .helpers(base_dir)
            .map_err(|error| Failure { partial: None, error })?;
        for (path, content) in helpers.iter() {
            set.parse(&path.to_string_lossy(), content).map_err(|error| Failure {
                partial: None,
                error: RenderError::Helper {
                    path: path.clone(),
                    message: error.to_string(),
                },
            })?;
        }
        set.parse(TEMPLATE_NAME, text).map_err(|error| Failure {
            partial: None,
            error: RenderError::Template(error.into()),
        })?;
        let mut out = String::with_capacity(text.len());
        let mut ctx = Context::default();
        match set.execute_into(TEMPLATE_NAME, data, &mut ctx, &mut out) {
            Ok(()) => Ok(out),
            Err(error) => Err(Failure {
                partial: Some(out),
                error: RenderError::Template(error),
            }),
        }
    }

    /// Renders `text` only when it holds an action (the common case of plain text is returned
    /// as is, which is what Go's template would print).
    pub fn render_if_templated(&self, text: &str, base_dir: &Path, data: &Value) -> Result<String, Failure> {
        if text.contains("{{") {
            self.render(text, base_dir, data, Pass::Final)
        } else {
            Ok(text.to_string())
        }
    }

    fn library(&self, base_dir: &Path, pass: Pass) -> Arc<Functions> {
        let mut libraries = self.libraries.lock().unwrap_or_else(|p| p.into_inner());
        libraries
            .entry((base_dir.to_path_buf(), pass))
            .or_insert_with(|| Arc::new(functions(base_dir, pass)))
            .clone()
    }

    fn helpers(&self, base_dir: &Path) -> Result<Helpers, RenderError> {
        let mut cache = self.helpers.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(found) = cache.get(base_dir) {
            return Ok(found.clone());
        }
        let mut helpers = Vec::new();
        for path in super::files::glob(&base_dir.join("_*.tpl")) {
            let content = std::fs::read_to_string(&path).map_err(|e| RenderError::Helper {
                path: path.clone(),
                message: e.to_string(),
            })?;
            helpers.push((path, content));
        }
        let helpers = Arc::new(helpers);
        cache.insert(base_dir.to_path_buf(), helpers.clone());
        Ok(helpers)
    }
}

/// helmfile's function map: Sprig (with `env` and `expandenv`, which Helm removes), then
/// helmfile's functions over it, Sprig's `get` kept as `sprigGet`, and `include`/`tpl`/`required`.
/// Helm-only functions (`lookup`, `toToml`, `fromYamlArray`, …) are not there, as in helmfile.
pub(super) fn functions(base_dir: &Path, pass: Pass) -> Functions {
    let mut f = Functions::helm();
    for helm_only in [
        "lookup",
        "toToml",
        "fromToml",
        "fromYamlArray",
        "fromJsonArray",
        "mustToYaml",
        "toYamlPretty",
    ] {
        f.remove(helm_only);
    }
    if let Some(sprig_get) = f.get("get").cloned() {
        f.insert("sprigGet", sprig_get);
    }
    let base = Arc::new(base_dir.to_path_buf());

    insert(&mut f, "env", &[Param::Str], None, |a| {
        Ok(Value::from(std::env::var(arg(&a, 0)).unwrap_or_default()))
    });
    insert(&mut f, "expandenv", &[Param::Str], None, |a| {
        Ok(Value::from(expand_env(arg(&a, 0))))
    });
    insert(&mut f, "requiredEnv", &[Param::Str], None, |a| {
        let name = arg(&a, 0);
        match std::env::var(name) {
            Ok(value) if !value.is_empty() => Ok(Value::from(value)),
            _ => Err(FuncError::msg(format!("required env var `{name}` is not set"))),
        }
    });
    insert(&mut f, "toYaml", &[Param::Any], None, |a| {
        helmfire_value::yaml::encode(&a[0])
            .map(Value::from)
            .map_err(|e| FuncError::msg(e.message))
    });
    insert(&mut f, "fromYaml", &[Param::Str], None, |a| {
        let text = arg(&a, 0);
        helmfire_value::yaml::decode_go_map(text)
            .map(|m| Value::Map(MapRef::new(m), MapType::Interface))
            .map_err(|e| FuncError::msg(format!("{}, offending yaml: {text}", e.message)))
    });
    insert(
        &mut f,
        "setValueAtPath",
        &[Param::Str, Param::Any, Param::Map],
        None,
        |a| set_value_at_path(arg(&a, 0), a[1].clone(), &a[2]),
    );
    insert(&mut f, "get", &[Param::Str], Some(Param::Any), |a| {
        let path = arg(&a, 0).to_string();
        match &a[1..] {
            [object] => get(&path, None, object).map_err(FuncError::msg),
            [default, object] => get(&path, Some(default), object).map_err(FuncError::msg),
            other => Err(FuncError::msg(format!(
                "unexpected number of args passed to the template function get(path, [def, ]obj): expected 1 or 2, got {}",
                other.len()
            ))),
        }
    });
    insert(&mut f, "getOrNil", &[Param::Str, Param::Any], None, |a| {
        match get(arg(&a, 0), None, &a[1]) {
            Ok(value) => Ok(value),
            Err(_) => Ok(Value::Nil),
        }
    });
    for name in ["fetchSecretValue", "expandSecretRefs"] {
        insert(&mut f, name, &[Param::Any], None, move |_| {
            Err(FuncError::msg(format!(
                "`{name}` resolves `ref+` secret references through vals, which helmfire does not support: put the resolved values in a values file, or render them before running helmfire"
            )))
        });
    }
    let dir = base.clone();
    insert(&mut f, "isFile", &[Param::Str], None, move |a| {
        Ok(Value::Bool(resolve(&dir, arg(&a, 0)).is_file()))
    });
    let dir = base.clone();
    insert(&mut f, "isDir", &[Param::Str], None, move |a| {
        Ok(Value::Bool(resolve(&dir, arg(&a, 0)).is_dir()))
    });

    if pass == Pass::First {
        insert(&mut f, "exec", &[Param::Str, Param::List], Some(Param::Str), |_| {
            Ok(Value::from(""))
        });
        insert(
            &mut f,
            "envExec",
            &[Param::Map, Param::Str, Param::List],
            Some(Param::Str),
            |_| Ok(Value::from("")),
        );
        insert(&mut f, "readFile", &[Param::Str], None, |_| Ok(Value::from("")));
        insert(&mut f, "readDir", &[Param::Str], None, |_| {
            Ok(Value::List(Arc::new(Vec::new()), ListType::String))
        });
        insert(&mut f, "readDirEntries", &[Param::Str], None, |_| {
            Ok(Value::List(Arc::new(Vec::new()), ListType::Interface))
        });
        return f;
    }
    let dir = base.clone();
    insert(&mut f, "exec", &[Param::Str, Param::List], Some(Param::Str), move |a| {
        run_command(&dir, None, arg(&a, 0), &a[1], a.get(2))
    });
    let dir = base.clone();
    insert(
        &mut f,
        "envExec",
        &[Param::Map, Param::Str, Param::List],
        Some(Param::Str),
        move |a| run_command(&dir, Some(&a[0]), arg(&a, 1), &a[2], a.get(3)),
    );
    let dir = base.clone();
    insert(&mut f, "readFile", &[Param::Str], None, move |a| {
        let path = resolve(&dir, arg(&a, 0));
        std::fs::read(&path)
            .map(|bytes| Value::from(String::from_utf8_lossy(&bytes).into_owned()))
            .map_err(|e| FuncError::msg(format!("open {}: {}", path.display(), go_io(&e))))
    });
    let dir = base.clone();
    insert(&mut f, "readDir", &[Param::Str], None, move |a| {
        let given = arg(&a, 0);
        let entries = read_dir(&dir, given)?;
        let files = entries
            .into_iter()
            .filter(|(_, is_dir)| !is_dir)
            .map(|(name, _)| Value::from(Path::new(given).join(name).to_string_lossy().into_owned()))
            .collect();
        Ok(Value::List(Arc::new(files), ListType::String))
    });
    let dir = base;
    insert(&mut f, "readDirEntries", &[Param::Str], None, move |a| {
        let entries = read_dir(&dir, arg(&a, 0))?;
        let entries = entries
            .into_iter()
            .map(|(name, is_dir)| Value::Object(Arc::new(DirEntry { name, is_dir })))
            .collect();
        Ok(Value::List(Arc::new(entries), ListType::Interface))
    });
    f
}

fn insert(
    f: &mut Functions,
    name: &str,
    params: &[Param],
    variadic: Option<Param>,
    call: impl Fn(Vec<Value>) -> Result<Value, FuncError> + Send + Sync + 'static,
) {
    f.insert(
        name,
        Func {
            params: params.to_vec(),
            variadic,
            builtin: false,
            call: Arc::new(move |_, args| call(args)),
        },
    );
}

fn arg(args: &[Value], index: usize) -> &str {
    args.get(index).and_then(Value::as_str).unwrap_or("")
}

fn resolve(base: &Path, path: &str) -> PathBuf {
    let path = Path::new(path);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

fn go_io(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => error.to_string(),
    }
}

/// Entries of a directory sorted by name: (name, is a directory).
fn read_dir(base: &Path, given: &str) -> Result<Vec<(String, bool)>, FuncError> {
    let path = resolve(base, given);
    let reader = std::fs::read_dir(&path).map_err(|e| {
        FuncError::msg(format!(
            "ReadDir {:?}: open {}: {}",
            path.display().to_string(),
            path.display(),
            go_io(&e)
        ))
    })?;
    let mut entries: Vec<(String, bool)> = reader
        .filter_map(Result::ok)
        .map(|entry| {
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            (entry.file_name().to_string_lossy().into_owned(), is_dir)
        })
        .collect();
    entries.sort();
    Ok(entries)
}

/// `fs.DirEntry` as `readDirEntries` returns it: `.Name` and `.IsDir`.
#[derive(Debug)]
struct DirEntry {
    name: String,
    is_dir: bool,
}

impl Object for DirEntry {
    fn type_name(&self) -> &str {
        "*os.unixDirent"
    }
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    fn to_plain(&self) -> Value {
        Value::Map(MapRef::new(Map::new()), MapType::Interface)
    }
    fn has_method(&self, name: &str) -> bool {
        matches!(name, "Name" | "IsDir")
    }
    fn call_method(&self, name: &str, _args: &[Value]) -> Result<Value, String> {
        match name {
            "Name" => Ok(Value::from(self.name.as_str())),
            "IsDir" => Ok(Value::Bool(self.is_dir)),
            other => Err(format!("can't call method {other}")),
        }
    }
}

/// `exec`/`envExec`: runs a command in the base directory; its stdout, or an error with its
/// output when it fails.
fn run_command(
    dir: &Path,
    envs: Option<&Value>,
    command: &str,
    args: &Value,
    input: Option<&Value>,
) -> Result<Value, FuncError> {
    use std::io::Write;
    let mut strings = Vec::new();
    for (index, item) in args.as_list().unwrap_or_default().iter().enumerate() {
        match item {
            Value::String(s) => strings.push(s.to_string()),
            other => {
                return Err(FuncError::msg(format!(
                    "unexpected type of arg \"{}\" in args at index {index}",
                    helmfire_template::fmt::type_name(other)
                )));
            }
        }
    }
    let mut cmd = std::process::Command::new(command);
    cmd.args(&strings).current_dir(dir);
    if let Some(Value::Map(envs, _)) = envs {
        for (key, value) in envs.read().iter() {
            match value {
                Value::String(s) => {
                    cmd.env(key, s.as_ref());
                }
                other => {
                    return Err(FuncError::msg(format!(
                        "unexpected type of env \"{}\" at index {key}",
                        helmfire_template::fmt::type_name(other)
                    )));
                }
            }
        }
    }
    let input = input.and_then(Value::as_str).unwrap_or("").to_string();
    cmd.stdin(if input.is_empty() {
        std::process::Stdio::null()
    } else {
        std::process::Stdio::piped()
    })
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| FuncError::msg(format!("exec: \"{command}\": {e}")))?;
    if !input.is_empty()
        && let Some(mut stdin) = child.stdin.take()
    {
        std::thread::spawn(move || {
            let _ = stdin.write_all(input.as_bytes());
        });
    }
    let output = child
        .wait_with_output()
        .map_err(|e| FuncError::msg(format!("exec: \"{command}\": {e}")))?;
    if !output.status.success() {
        let code = output
            .status
            .code()
            .map_or_else(|| "signal".to_string(), |c| c.to_string());
        return Err(FuncError::msg(format!(
            "command \"{command}\" exited with status {code}:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    Ok(Value::from(String::from_utf8_lossy(&output.stdout).into_owned()))
}

/// Go's `os.ExpandEnv`: `$NAME` and `${NAME}`, unset variables empty.
fn expand_env(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'$' || i + 1 >= bytes.len() {
            let ch = text[i..].chars().next().unwrap_or('$');
            out.push(ch);
            i += ch.len_utf8();
            continue;
        }
        if bytes[i + 1] == b'{' {
            if let Some(end) = text[i + 2..].find('}') {
                let name = &text[i + 2..i + 2 + end];
                out.push_str(&std::env::var(name).unwrap_or_default());
                i += end + 3;
                continue;
            }
            out.push('$');
            i += 1;
            continue;
        }
        let len = text[i + 1..]
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        if len == 0 {
            out.push('$');
            i += 1;
            continue;
        }
        out.push_str(&std::env::var(&text[i + 1..i + 1 + len]).unwrap_or_default());
        i += 1 + len;
    }
    out
}

/// helmfile's `get`: a dotted path through maps (and struct-like maps), the default when a key
/// is missing, an error otherwise.
fn get(path: &str, default: Option<&Value>, object: &Value) -> Result<Value, String> {
    if path.is_empty() {
        return Ok(object.clone());
    }
    let (key, rest) = path.split_once('.').unwrap_or((path, ""));
    let found = match object {
        Value::Map(map, _) => map.read().get(key).cloned(),
        Value::Object(object) => object.field(key),
        other => {
            return Err(format!(
                "unexpected type({}) of value for key \"{key}\": it must be either map[string]any or any struct",
                helmfire_template::fmt::type_name(other)
            ));
        }
    };
    match found {
        Some(value) => get(rest, default, &value),
        None => match default {
            Some(default) => Ok(default.clone()),
            None => Err(format!(
                "no value exist for key \"{key}\" in {}",
                helmfire_template::fmt::sprint_value(object)
            )),
        },
    }
}

fn set_value_at_path(path: &str, value: Value, values: &Value) -> Result<Value, FuncError> {
    let components: Vec<&str> = path.split('.').collect();
    let (key, parents) = components.split_last().unwrap_or((&"", &[]));
    let mut current = values.clone();
    for component in parents {
        let next = match &current {
            Value::Map(map, _) => map.read().get(*component).cloned(),
            _ => None,
        };
        match next {
            None if matches!(current, Value::Map(..)) => {
                return Err(FuncError::msg(format!(
                    "failed to set value at path \"{path}\": value for key \"{component}\" does not exist"
                )));
            }
            Some(next @ Value::Map(..)) => current = next,
            _ => {
                return Err(FuncError::msg(format!(
                    "failed to set value at path \"{path}\": value for key \"{component}\" was not a map"
                )));
            }
        }
    }
    match &current {
        Value::Map(map, _) => {
            map.write().insert((*key).to_string(), value);
            Ok(values.clone())
        }
        _ => Err(FuncError::msg(format!(
            "failed to set value at path \"{path}\": value for key \"{key}\" was not a map"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::helmfile::env::map_value;
    use helmfire_value::yaml::decode_go_map;

    fn render(text: &str, values: &str) -> Result<String, String> {
        let mut data = Map::new();
        data.insert("Values".into(), map_value(decode_go_map(values).unwrap()));
        Renderer::default()
            .render(text, Path::new("/nonexistent"), &map_value(data), Pass::Final)
            .map_err(|f| match f.error {
                RenderError::Template(e) => e.to_string(),
                RenderError::Helper { message, .. } => message,
            })
    }

    #[test]
    fn get_walks_paths_with_defaults() {
        assert_eq!(render("{{ get \"a.b\" .Values }}", "a: {b: 1}").unwrap(), "1");
        assert_eq!(render("{{ get \"a.x\" \"d\" .Values }}", "a: {b: 1}").unwrap(), "d");
        assert_eq!(
            render("{{ getOrNil \"a.x\" .Values | toJson }}", "a: {b: 1}").unwrap(),
            "null"
        );
        assert_eq!(
            render("{{ sprigGet .Values \"a\" | toJson }}", "a: {b: 1}").unwrap(),
            "{\"b\":1}"
        );
        let error = render("{{ get \"a.x\" .Values }}", "a: {b: 1}").unwrap_err();
        assert!(error.contains("no value exist for key \"x\""), "{error}");
    }

    #[test]
    fn to_yaml_keeps_its_newline_and_from_yaml_fails_loudly() {
        assert_eq!(render("{{ .Values | toYaml }}", "a: 1").unwrap(), "a: 1\n");
        assert!(render("{{ fromYaml \"a: [\" }}", "").is_err());
        assert_eq!(render("{{ (fromYaml \"n: 1000000\").n }}", "").unwrap(), "1000000");
    }

    #[test]
    fn set_value_at_path_needs_existing_maps() {
        assert_eq!(
            render("{{ setValueAtPath \"a.b\" 2 .Values | toJson }}", "a: {b: 1}").unwrap(),
            "{\"a\":{\"b\":2}}"
        );
        let error = render("{{ setValueAtPath \"x.b\" 2 .Values }}", "a: {b: 1}").unwrap_err();
        assert!(error.contains("value for key \"x\" does not exist"), "{error}");
    }

    #[test]
    fn required_env_and_env() {
        let name = "HELMFIRE_TEST_HELMFILE_ENV_FN";
        assert_eq!(render(&format!("[{{{{ env \"{name}\" }}}}]"), "").unwrap(), "[]");
        let error = render(&format!("{{{{ requiredEnv \"{name}\" }}}}"), "").unwrap_err();
        assert!(
            error.contains(&format!("required env var `{name}` is not set")),
            "{error}"
        );
    }

    #[test]
    fn missing_keys_fail_in_the_final_pass_only() {
        assert!(render("{{ .Values.nope }}", "a: 1").is_err());
        let mut data = Map::new();
        data.insert("Values".into(), map_value(Map::new()));
        let out = Renderer::default()
            .render("x{{ .Values.nope }}y", Path::new("/"), &map_value(data), Pass::First)
            .ok()
            .unwrap();
        assert_eq!(out, "x<no value>y");
    }

    #[test]
    fn expandenv_reads_both_forms() {
        assert_eq!(
            expand_env("a-$HELMFIRE_SURELY_UNSET-${HELMFIRE_SURELY_UNSET}-$"),
            "a---$"
        );
    }
}
