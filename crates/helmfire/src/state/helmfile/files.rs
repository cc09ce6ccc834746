//! Which files a helmfile run reads: the default names, `helmfile.d/`, Go's `filepath.Glob`
//! (which `helmfiles:`, `bases:` and values paths use), and what counts as a remote path.

use std::path::{Component, Path, PathBuf};

use helmfire_chart::ignore::go_match;

/// helmfile's default state file names, in the order it looks for them (v0 also took the
/// deprecated `charts.yaml`).
pub const DEFAULT_FILES: [&str; 2] = ["helmfile.yaml", "helmfile.yaml.gotmpl"];
/// helmfile's default state directory.
pub const DEFAULT_DIRECTORY: &str = "helmfile.d";

/// What helmfile's default lookup finds in `dir` (`app.go:findDesiredStateFiles`).
pub fn default_file(dir: &Path) -> Result<Option<PathBuf>, String> {
    let yaml = dir.join(DEFAULT_FILES[0]);
    let gotmpl = dir.join(DEFAULT_FILES[1]);
    if yaml.is_file() && gotmpl.is_file() {
        return Err(format!(
            "both `{}` and `{}` exist: remove one of them",
            DEFAULT_FILES[0], DEFAULT_FILES[1]
        ));
    }
    let file = [yaml, gotmpl].into_iter().find(|p| p.is_file());
    let directory = dir.join(DEFAULT_DIRECTORY);
    match (file, directory.is_dir()) {
        (Some(file), true) => Err(format!(
            "you can have either `{}` or `{DEFAULT_DIRECTORY}`, but not both",
            file.file_name().unwrap_or_default().to_string_lossy()
        )),
        (Some(file), false) => Ok(Some(file)),
        (None, true) => Ok(Some(directory)),
        (None, false) => Ok(None),
    }
}

/// The state files of a directory: `*.y*ml` and `*.y*ml.gotmpl`, sorted byte-wise on the whole
/// path (not recursive).
pub fn directory_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = glob(&dir.join("*.y*ml"));
    files.extend(glob(&dir.join("*.y*ml.gotmpl")));
    files.sort_by(|a, b| a.as_os_str().as_encoded_bytes().cmp(b.as_os_str().as_encoded_bytes()));
    files.dedup();
    files
}

/// Go's `filepath.Glob`: `*`, `?` and `[...]` within one path component (no `**`), matches
/// sorted; a pattern without meta characters yields the path when it exists. A malformed
/// pattern matches nothing.
pub fn glob(pattern: &Path) -> Vec<PathBuf> {
    let text = pattern.to_string_lossy();
    if !has_meta(&text) {
        return if pattern.symlink_metadata().is_ok() {
            vec![pattern.to_path_buf()]
        } else {
            Vec::new()
        };
    }
    let mut current: Vec<PathBuf> = vec![PathBuf::new()];
    for component in pattern.components() {
        let mut next = Vec::new();
        match component {
            Component::Normal(part) => {
                let part = part.to_string_lossy();
                if !has_meta(&part) {
                    for base in &current {
                        next.push(base.join(part.as_ref()));
                    }
                } else {
                    for base in &current {
                        let dir = if base.as_os_str().is_empty() {
                            Path::new(".")
                        } else {
                            base
                        };
                        let Ok(entries) = std::fs::read_dir(dir) else { continue };
                        let mut names: Vec<String> = entries
                            .filter_map(Result::ok)
                            .map(|e| e.file_name().to_string_lossy().into_owned())
                            .filter(|name| go_match(&part, name) == Ok(true))
                            .collect();
                        names.sort();
                        next.extend(names.into_iter().map(|name| base.join(name)));
                    }
                }
            }
            other => {
                for base in &current {
                    next.push(base.join(other.as_os_str()));
                }
            }
        }
        current = next;
    }
    let mut found: Vec<PathBuf> = current.into_iter().filter(|p| p.symlink_metadata().is_ok()).collect();
    // Go sorts the matched paths as strings (`a-b/x` before `a/x`), not component-wise.
    found.sort_by(|a, b| a.as_os_str().as_encoded_bytes().cmp(b.as_os_str().as_encoded_bytes()));
    found
}

fn has_meta(text: &str) -> bool {
    text.contains(['*', '?', '['])
}

/// helmfile's `remote.IsRemote`: go-getter syntax (`git::…`, `…?ref=`), or an `s3`, `http` or
/// `https` URL.
pub fn is_remote(path: &str) -> bool {
    path.contains("::")
        || path.starts_with("s3://")
        || path.starts_with("http://")
        || path.starts_with("https://")
        || path.starts_with("git@")
}

/// `base/path` unless `path` is absolute, with `.` and `..` resolved lexically.
pub fn join(base: &Path, path: &str) -> PathBuf {
    let path = Path::new(path);
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    };
    normalize(&joined)
}

pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    if out.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_list_yaml_and_gotmpl_sorted_bytewise() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["c.yaml", "a.yaml.gotmpl", "B.yaml", "b.yml", "x.txt", "d.yaml"] {
            std::fs::write(dir.path().join(name), "").unwrap();
        }
        let names: Vec<String> = directory_files(dir.path())
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["B.yaml", "a.yaml.gotmpl", "b.yml", "c.yaml", "d.yaml"]);
    }

    #[test]
    fn globs_match_within_components() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("apps/one")).unwrap();
        std::fs::create_dir_all(dir.path().join("apps/two")).unwrap();
        std::fs::write(dir.path().join("apps/one/helmfile.yaml"), "").unwrap();
        std::fs::write(dir.path().join("apps/two/helmfile.yaml"), "").unwrap();
        let found = glob(&dir.path().join("apps/*/helmfile.yaml"));
        assert_eq!(found.len(), 2);
        assert!(found[0].ends_with("apps/one/helmfile.yaml"));
        assert!(glob(&dir.path().join("apps/*/none.yaml")).is_empty());
        std::fs::create_dir_all(dir.path().join("apps/one-more")).unwrap();
        std::fs::write(dir.path().join("apps/one-more/helmfile.yaml"), "").unwrap();
        let found = glob(&dir.path().join("apps/*/helmfile.yaml"));
        assert!(
            found[0].ends_with("apps/one-more/helmfile.yaml"),
            "byte order, as Go sorts: {found:?}"
        );
        assert_eq!(glob(&dir.path().join("apps/one")).len(), 1);
    }

    #[test]
    fn default_lookup_refuses_ambiguity() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(default_file(dir.path()).unwrap(), None);
        std::fs::create_dir(dir.path().join("helmfile.d")).unwrap();
        assert_eq!(default_file(dir.path()).unwrap(), Some(dir.path().join("helmfile.d")));
        std::fs::write(dir.path().join("helmfile.yaml"), "").unwrap();
        assert!(default_file(dir.path()).unwrap_err().contains("not both"));
        std::fs::remove_dir(dir.path().join("helmfile.d")).unwrap();
        std::fs::write(dir.path().join("helmfile.yaml.gotmpl"), "").unwrap();
        assert!(default_file(dir.path()).unwrap_err().contains("remove one"));
    }
}
